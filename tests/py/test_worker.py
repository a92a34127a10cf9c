"""Job directories and `rlhf-kernel worker DIR --point I` (magics/mag_jobs.h, issue 19's
groundwork): a %%policy sweep (2 seeds), a %%policy sweep that copies those and trains on
(with their Adam state, which a job carries), and a %%rl sweep (3 learning rates x 2 seeds,
paired with the policies by seed) trained in the kernel by the threads executor, each point
exported (%export, JSONL) and saved (%save); then the same cells under `%executor jobs`
write their job directories, and the worker, run once per point, writes the same JSONL
rows (but the "wall" column: seconds) and the same policy bytes.  A manifest with one
byte changed fails naming the line; a point out of range fails naming the range; a point of
a trainer the worker does not run yet (%%opd) is refused by name."""
import glob
import json
import os
import re
import subprocess
import tempfile

import pytest

from conftest import KERNEL_NAME, kernel_binary

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

SETUP = """%seed 11
# %%
%task add add digits=2
# %%
%%reward short c=0.01
correct - c * length
"""
POLICY = """%%policy base
task = add
sft_steps = 12
embed = 8
hidden = 32
batch = 16
seed = [1, 2]
"""
POLICY2 = """%%policy more
from = base
sft_steps = 5
lr = 2e-3
seed = [1, 2]
"""
RL = """%%rl tuned
from = base
reward = short
steps = 3
batch = 4
group = 4
lr = [1e-3, 3e-3, 1e-2]
seed = [1, 2]
"""
POLICY_POINTS = ["base[seed=1]", "base[seed=2]"]
POLICY2_POINTS = ["more[seed=1]", "more[seed=2]"]
RL_POINTS = [f"tuned[lr={lr},seed={s}]" for lr in ("1e-3", "3e-3", "1e-2") for s in (1, 2)]


def run_script(tmp, text):
    path = os.path.join(tmp, "cells.rlhf")
    with open(path, "w") as f:
        f.write(text)
    env = dict(os.environ, RLHF_PROGRESS_SECONDS="0")
    p = subprocess.run([kernel_binary(), "run", path], env=env, timeout=600, cwd=tmp,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def worker(tmp, d, point):
    return subprocess.run([kernel_binary(), "worker", d, "--point", str(point)], timeout=600,
                          cwd=tmp, capture_output=True, text=True)


def rows(path):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            assert isinstance(r.pop("wall"), (int, float))  # seconds: not deterministic
            out.append(r)
    assert out
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def jobs():
    """The kernel's exports and policies, and the two job directories."""
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP + "# %%\n" + POLICY + "# %%\n" + POLICY2 + "# %%\n" + RL
        for i, name in enumerate(POLICY_POINTS + POLICY2_POINTS + RL_POINTS):
            text += f"# %%\n%export k{i}.jsonl {name}\n# %%\n%save {name} k{i}.policy\n"
        text += "# %%\n%executor\n# %%\n%executor jobs dir=out/jobs\n# %%\n%executor\n"
        text += "# %%\n" + POLICY + "# %%\n" + POLICY2 + "# %%\n" + RL
        out = run_script(tmp, text)
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == 3, out
        yield tmp, out, dirs


def test_executor_setting_and_commands(jobs):
    tmp, out, dirs = jobs
    assert "executor threads\nexecutor jobs dir=out/jobs\nexecutor jobs dir=out/jobs\n" in out
    assert dirs[0].startswith("out/jobs/base-") and dirs[1].startswith("out/jobs/more-")
    assert dirs[2].startswith("out/jobs/tuned-")
    for d, names in zip(dirs, (POLICY_POINTS, POLICY2_POINTS, RL_POINTS)):
        for i, name in enumerate(names):
            assert f"rlhf-kernel worker {d} --point {i}   # {name}\n" in out, out
        man = read(os.path.join(tmp, d, "manifest")).decode().splitlines()
        assert man[0] == f"rlhf-manifest 1 {len(names)}"
        assert [ln.split(" ")[0] for ln in man[1:]] == [str(i) for i in range(len(names))]
        # the readable copy of each job: its trainer and point name
        job = read(os.path.join(tmp, d, "point-0.job")).decode()
        assert job.startswith("rlhf-job 1\ntrainer ") and f'name "{names[0]}"' in job
        assert ("\nfrom adam " in job) == (names is POLICY2_POINTS), job[:2000]


def test_worker_points_are_bit_identical(jobs):
    tmp, out, dirs = jobs
    k = 0
    for d, names in zip(dirs, (POLICY_POINTS, POLICY2_POINTS, RL_POINTS)):
        for i, name in enumerate(names):
            p = worker(tmp, d, i)
            assert p.returncode == 0, p.stderr
            assert f"point {i} ({name}): wrote" in p.stdout
            got = rows(os.path.join(tmp, d, f"point-{i}.jsonl"))
            want = rows(os.path.join(tmp, f"k{k}.jsonl"))
            assert got == want, name
            assert all(r["run"] == name for r in got)
            assert read(os.path.join(tmp, d, f"point-{i}.policy")) == \
                read(os.path.join(tmp, f"k{k}.policy")), name
            k += 1


def test_corrupt_manifest_line_fails_with_its_number(jobs):
    tmp, out, dirs = jobs
    src = os.path.join(tmp, dirs[2])
    with tempfile.TemporaryDirectory() as t2:
        bad = os.path.join(t2, "bad")
        os.mkdir(bad)
        data = bytearray(read(os.path.join(src, "manifest")))
        lines = data.split(b"\n")
        at = len(lines[0]) + 1 + len(lines[1]) + 1 + len(lines[2]) + 1 + 300  # line 4
        data[at] = ord("B") if data[at] != ord("B") else ord("C")
        with open(os.path.join(bad, "manifest"), "wb") as f:
            f.write(data)
        p = worker(t2, bad, 2)
        assert p.returncode == 1
        assert re.search(r"^rlhf-kernel worker: .*bad/manifest: line 4: point 2: ", p.stderr,
                         re.M), p.stderr
        assert not os.path.exists(os.path.join(bad, "point-2.jsonl"))
        # the other lines are intact: point 0 still runs
        with open(os.path.join(bad, "manifest"), "wb") as f:
            f.write(data)
        # a changed hash is found too
        data2 = bytearray(read(os.path.join(src, "manifest")))
        h = len(lines[0]) + 1 + 2  # line 2, the hash's first digit
        data2[h] = ord("0") if data2[h] != ord("0") else ord("1")
        with open(os.path.join(bad, "manifest"), "wb") as f:
            f.write(data2)
        p = worker(t2, bad, 0)
        assert p.returncode == 1 and "manifest: line 2: point 0: the line says hash" in p.stderr, \
            p.stderr


def test_point_out_of_range_and_usage(jobs):
    tmp, out, dirs = jobs
    p = worker(tmp, dirs[0], 2)
    assert p.returncode == 1
    assert "manifest: point 2 is out of range: the manifest has 2 points (0 to 1)" in p.stderr
    p = subprocess.run([kernel_binary(), "worker"], cwd=tmp, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "missing DIR" in p.stderr
    p = subprocess.run([kernel_binary(), "worker", dirs[0], "--point", "x"], cwd=tmp,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--point needs an index >= 0" in p.stderr
    # the kernel's --help lists the worker in the worker's own words (mag_worker_usage:
    # kernel/ names no trainer), between `run` and --version
    w = subprocess.run([kernel_binary(), "worker", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert w.returncode == 0
    assert w.stdout.startswith("usage: rlhf-kernel worker DIR [--point I]\n\n")
    usage = w.stdout.split("\n\n", 1)[1]
    assert usage.startswith("  worker DIR --point I    run point I")
    p = subprocess.run([kernel_binary(), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "\n" + usage + "  --version " in p.stdout, p.stdout
    assert "  run FILE [--save-svg DIR]\n" in p.stdout.split(usage)[0]


def test_help_executor_and_unknown_executor():
    with tempfile.TemporaryDirectory() as tmp:
        out = run_script(tmp, "%help executor\n")
        assert "%executor [threads | jobs [dir=PATH] | mpi np=N" in out
        assert "rlhf-kernel worker" in out
        path = os.path.join(tmp, "bad.rlhf")
        with open(path, "w") as f:
            f.write("%executor slurm\n")
        p = subprocess.run([kernel_binary(), "run", path], capture_output=True, text=True,
                           timeout=60, cwd=tmp)
        assert p.returncode == 1 and "executor 'slurm' is not available yet" in p.stderr


def test_unsupported_trainer_is_refused_by_name():
    with tempfile.TemporaryDirectory() as tmp:
        out = run_script(tmp, SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") +
                         "# %%\n%%policy teacher\nfrom = base\nsft_steps = 5\n"
                         "# %%\n%executor jobs\n"
                         "# %%\n%%opd x\nfrom = base\nteacher = teacher\nsteps = 2\n")
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == 1 and dirs[0].startswith("jobs/x-"), out
        assert "note: rlhf-kernel worker does not run trainer 'opd' yet" in out
        p = worker(tmp, dirs[0], 0)
        assert p.returncode == 1
        assert "point 0 (x): trainer 'opd' is not supported yet (the worker runs rl and sft)" \
            in p.stderr, p.stderr
