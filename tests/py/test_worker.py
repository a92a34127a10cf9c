"""Job directories and `rlhf-kernel worker DIR --point I` (magics/mag_jobs.h, issue 19's
groundwork): a %%policy sweep (2 seeds), a %%policy sweep that copies those and trains on
(with their Adam state, which a job carries), and a %%rl sweep (3 learning rates x 2 seeds,
paired with the policies by seed) trained in the kernel by the threads executor, each point
exported (%export, JSONL) and saved (%save); then the same cells under `%executor jobs`
write their job directories, and the worker, run once per point, writes the same JSONL
rows (but the "wall" column: seconds) and the same policy bytes.  A manifest with one
byte changed fails naming the line; a point out of range fails naming the range; a point of
a trainer the worker does not run yet (%%rm) is refused by name; %%opd and %%dpo points
(teachers, teacher maps, preference sets simulated or read from a file) give the same
bits through the worker too, and what a job cannot carry is refused by name."""
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
# the 4-point sweep of the MPI, Slurm and %collect tests
RL4 = RL.replace("lr = [1e-3, 3e-3, 1e-2]\n", "lr = [1e-3, 3e-3]\n")
RL4_POINTS = [f"tuned[lr={lr},seed={s}]" for lr in ("1e-3", "3e-3") for s in (1, 2)]


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
            f.write("%executor condor\n")
        p = subprocess.run([kernel_binary(), "run", path], capture_output=True, text=True,
                           timeout=60, cwd=tmp)
        assert p.returncode == 1 and \
            "unknown executor 'condor' (threads, jobs, mpi or slurm)" in p.stderr, p.stderr


def test_unsupported_trainer_is_refused_by_name():
    with tempfile.TemporaryDirectory() as tmp:
        out = run_script(tmp, SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") +
                         "# %%\n%%reward true\ncorrect\n"
                         "# %%\n%%preferences p\nfrom = base\nlabeler = true\npairs = 20\n"
                         "# %%\n%executor jobs\n"
                         "# %%\n%%rm x\ndata = p\nsteps = 2\n")
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == 1 and dirs[0].startswith("jobs/x-"), out
        assert "note: rlhf-kernel worker cannot run point 0 (x): trainer 'rm' is not " \
            "supported yet" in out
        p = worker(tmp, dirs[0], 0)
        assert p.returncode == 1
        assert "point 0 (x): trainer 'rm' is not supported yet (the worker runs rl, sft, opd " \
            "and dpo; a reward model cannot be saved, so a worker could not hand it back)" \
            in p.stderr, p.stderr


# ---- the other trainers of the training-cell handler: %%opd (teachers, a teacher map on a
# mix task, from paired by seed) and %%dpo (preference sets: simulated, paired by seed, and
# read from a JSONL file that is deleted before the workers run: the job carries the set) --

SETUP2 = """%seed 7
# %%
%task add add digits=2
# %%
%task srt sort length=3
# %%
%task mx mix tasks=[add, srt]
# %%
%%reward true
correct
# %%
%%policy s0
task = add
sft_steps = 10
embed = 8
hidden = 32
batch = 16
# %%
%%policy t0
from = s0
sft_steps = 10
# %%
%%policy ms
task = mx
sft_steps = 8
embed = 8
hidden = 32
batch = 16
# %%
%%policy ta
from = ms
task = add
sft_steps = 6
# %%
%%policy tb
from = ms
task = srt
sft_steps = 6
# %%
%%policy b2
task = add
sft_steps = 8
embed = 8
hidden = 32
batch = 16
seed = [1, 2]
# %%
%%preferences p
from = s0
labeler = true
pairs = 40
# %%
%export p.jsonl p
# %%
%%preferences pf
file = p.jsonl
task = add
# %%
%%preferences pp
from = b2
labeler = true
pairs = 30
seed = [1, 2]
"""
SMALL2 = "batch = 8\neval_every = 2\neval_prompts = 16\n"
CELLS2 = [  # (cell, its points)
    ("%%opd distil\nfrom = s0\nteacher = t0\nsteps = 3\n" + SMALL2 + "lambda = [1, 1.5]\n",
     ["distil[lambda=1]", "distil[lambda=1.5]"]),
    ("%%opd mdist\nfrom = ms\nteacher = {add: ta, srt: tb}\nsteps = 2\n" + SMALL2 +
     "seed = [1, 2]\n", ["mdist[seed=1]", "mdist[seed=2]"]),
    ("%%opd ps\nfrom = b2\nteacher = t0\nsteps = 2\n" + SMALL2 + "seed = [1, 2]\n",
     ["ps[seed=1]", "ps[seed=2]"]),
    ("%%dpo pref\nfrom = s0\ndata = p\nsteps = 4\n" + SMALL2 + "beta = [0.1, 0.5]\n",
     ["pref[beta=0.1]", "pref[beta=0.5]"]),
    ("%%dpo preff\nfrom = s0\ndata = pf\nsteps = 3\n" + SMALL2 + "loss = [dpo, ipo]\n",
     ["preff[loss=dpo]", "preff[loss=ipo]"]),
    ("%%dpo pd\nfrom = b2\ndata = pp\nsteps = 3\n" + SMALL2 + "seed = [1, 2]\n",
     ["pd[seed=1]", "pd[seed=2]"]),
]


@pytest.fixture(scope="module")
def jobs2():
    """%%opd and %%dpo: the kernel's exports and policies, and their job directories."""
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP2
        for cell, _ in CELLS2:
            text += "# %%\n" + cell
        k = 0
        for _, names in CELLS2:
            for name in names:
                text += f"# %%\n%export k{k}.jsonl {name}\n# %%\n%save {name} k{k}.policy\n"
                k += 1
        text += "# %%\n%executor jobs dir=out/jobs\n"
        for cell, _ in CELLS2:
            text += "# %%\n" + cell
        out = run_script(tmp, text)
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == len(CELLS2), out
        assert "note:" not in out, out
        os.remove(os.path.join(tmp, "p.jsonl"))  # the job directory is self-contained
        yield tmp, out, dirs


def test_opd_and_dpo_jobs_carry_their_inputs(jobs2):
    tmp, out, dirs = jobs2
    for d, (cell, names) in zip(dirs, CELLS2):
        for i, name in enumerate(names):
            assert f"rlhf-kernel worker {d} --point {i}   # {name}\n" in out, out
        job = read(os.path.join(tmp, d, "point-1.job")).decode()
        heads = re.findall(r"^([a-z]+) ([a-z]+) (\d+)$", job, re.M)
        kinds = [(role, kind) for role, kind, _ in heads]
        if cell.startswith("%%opd mdist"):  # a teacher map: each teacher a policy
            assert ("teacher", "policy") in kinds and kinds.count(("teacher", "policy")) == 2
        elif cell.startswith("%%opd"):
            assert ("teacher", "policy") in kinds, kinds
        else:  # the set by value; a simulated set's labeler, the default eval_reward
            assert ("data", "preferences") in kinds, kinds
            assert (("labeler", "reward") in kinds) == ("data = pf" not in cell), kinds
    # pairing by key: point 1 carries b2[seed=2] and pp[seed=2], not point 0's
    job = read(os.path.join(tmp, dirs[5], "point-1.job")).decode()
    pref = base64_input(job, "data")
    assert pref.startswith(b"preferences = pp[seed=2]\nlabeler = true\nsimulated = 1\n"
                           b"task = add\ntask.spec = "), pref[:200]
    pol = base64_input(job, "from")
    assert b"policy = b2[seed=2]\n" in pol


def base64_input(job, role):
    """The bytes of the first input of role in a packed job (rt_job.h)."""
    import base64
    lines = job.split("\n")
    at = lines.index(f"data {role}")
    b64 = []
    for ln in lines[at + 1:]:
        if not re.fullmatch(r"[A-Za-z0-9+/=]+", ln) or ln.startswith("hash"):
            break
        b64.append(ln)
        if len(ln) < 76:
            break
    return base64.b64decode("".join(b64))


def test_opd_and_dpo_worker_points_are_bit_identical(jobs2):
    tmp, out, dirs = jobs2
    k = 0
    for d, (_, names) in zip(dirs, CELLS2):
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


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_corrupt_preferences_input_fails_naming_it(jobs2):
    """A job whose preference set is well-formed as a job (hashes recomputed) but not as
    pairs: the worker names the input and the pair's line and column."""
    import base64
    tmp, out, dirs = jobs2
    src = os.path.join(tmp, dirs[3])
    man = read(os.path.join(src, "manifest")).decode().split("\n")
    job = base64.b64decode(man[1].split(" ")[2]).decode()
    pref = base64_input(job, "data")
    at = pref.index(b'"chosen": "') + len(b'"chosen": "')
    bad = pref[:at] + b"Q" + pref[at + 1:]  # a token of no vocabulary, same size
    old64 = base64.encodebytes(pref).decode()  # 76 characters a line, as rt_job packs
    new64 = base64.encodebytes(bad).decode()
    assert old64 in job
    job2 = job.replace(old64, new64)
    body = job2[:job2.index("hash ")]
    job2 = body + "hash %016x\n" % fnv1a64(body.encode())
    line = "0 %016x %s" % (fnv1a64(body.encode()), base64.b64encode(job2.encode()).decode())
    with tempfile.TemporaryDirectory() as t2:
        os.mkdir(os.path.join(t2, "bad"))
        with open(os.path.join(t2, "bad", "manifest"), "w") as f:
            f.write("\n".join([man[0], line] + man[2:]))
        p = worker(t2, "bad", 0)
        assert p.returncode == 1, p.stderr
        lineno = pref[:at].count(b"\n") - pref[:pref.index(b"jsonl = ")].count(b"\n")
        col = at - (pref.rindex(b"\n", 0, at) + 1) + 1
        tok = bad[at:bad.index(b'"', at)].decode()  # the unknown run, to the string's end
        assert tok.startswith("Q")
        assert p.stderr == (f"rlhf-kernel worker: bad: point 0 (pref[beta=0.1]): data "
                            f"preferences: p:{lineno}:{col}: token '{tok}' is not in the vocabulary "
                            f"of task add\n"), p.stderr
        assert not os.path.exists(os.path.join(t2, "bad", "point-0.jsonl"))


def test_what_jobs_cannot_carry_is_refused_by_name():
    """A %tilt teacher (no weights), a reward reading rm(NAME) (a reward model), and the
    %%rm trainer itself: the job directory is written with a note, the worker refuses the
    point naming what."""
    with tempfile.TemporaryDirectory() as tmp:
        out = run_script(tmp, SETUP2 +
                         "# %%\n%task one add digits=1\n"
                         "# %%\n%%policy s1\ntask = one\nsft_steps = 2\nembed = 8\n"
                         "hidden = 32\n"
                         "# %%\n%tilt tt from=s1 reward=true beta=0.5\n"
                         "# %%\n%%rm r\ndata = p\nsteps = 3\neval_every = 0\n"
                         "# %%\n%%reward byrm\nrm(r)\n"
                         "# %%\n%executor jobs\n"
                         "# %%\n%%opd x\nfrom = s1\nteacher = tt\nsteps = 2\n"
                         "# %%\n%%rl y\nfrom = s0\nreward = byrm\nsteps = 2\n"
                         "# %%\n%%rm z\ndata = p\nsteps = 2\n")
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == 3, out
        why = ["its teacher cannot be carried: policy 'tt' is a %tilt (it has no weights to "
               "carry)",
               "its reward cannot be carried: reward 'byrm' reads rm(...), a reward model, "
               "which jobs do not carry yet",
               "trainer 'rm' is not supported yet (the worker runs rl, sft, opd and dpo; a "
               "reward model cannot be saved, so a worker could not hand it back)"]
        for d, name, w in zip(dirs, ("x", "y", "z"), why):
            assert f"note: rlhf-kernel worker cannot run point 0 ({name}): {w}\n" in out, out
            p = worker(tmp, d, 0)
            assert p.returncode == 1
            assert p.stderr == f"rlhf-kernel worker: point 0 ({name}): {w}\n", p.stderr


def test_opd_and_dpo_under_executor_mpi(jobs2):
    """%executor mpi runs %%opd and %%dpo sweeps through mpirun and the worker and stores the
    threads executor's bits; a cell the worker would refuse fails before mpirun starts."""
    import shutil
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    tmp0, _, _ = jobs2
    picked = [0, 1, 5]  # distil (a teacher), mdist (a teacher map), pd (paired data)
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP2 + "# %%\n%executor mpi np=2\n"
        k0 = [sum(len(n) for _, n in CELLS2[:c]) for c in range(len(CELLS2))]
        for c in picked:
            text += "# %%\n" + CELLS2[c][0]
            for i, name in enumerate(CELLS2[c][1]):
                text += f"# %%\n%export m{k0[c] + i}.jsonl {name}\n"
                text += f"# %%\n%save {name} m{k0[c] + i}.policy\n"
        path = os.path.join(tmp, "cells.rlhf")
        with open(path, "w") as f:
            f.write(text + "# %%\n%%rm z\ndata = p\nsteps = 2\n")
        env = dict(os.environ, RLHF_PROGRESS_SECONDS="0",
                   OMPI_MCA_btl_vader_single_copy_mechanism="none",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        p = subprocess.run([kernel_binary(), "run", path], env=env, timeout=600, cwd=tmp,
                           capture_output=True, text=True)
        if "built without MPI" in p.stderr:
            pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
        assert p.returncode == 1
        assert p.stderr.endswith(
            "RuntimeError: cell:1:3: %executor mpi: rlhf-kernel worker cannot run point 0 (z): "
            "trainer 'rm' is not supported yet (the worker runs rl, sft, opd and dpo; a reward "
            "model cannot be saved, so a worker could not hand it back); use %executor "
            "threads for this cell\n"), p.stderr
        assert "mpirun -np 2 rlhf-kernel worker jobs/z-" not in p.stdout
        for c in picked:
            for i, name in enumerate(CELLS2[c][1]):
                k = k0[c] + i
                assert rows(os.path.join(tmp, f"m{k}.jsonl")) == \
                    rows(os.path.join(tmp0, f"k{k}.jsonl")), name
                assert read(os.path.join(tmp, f"m{k}.policy")) == \
                    read(os.path.join(tmp0, f"k{k}.policy")), name
