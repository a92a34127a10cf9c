"""`%collect DIR` (magics/mag_collect.c, issue 19): a job directory's ended points brought
into a session — a new kernel's too, since the directory is self-contained — as the threads
executor stores them: the same run rows (but "wall"), policy bytes, names; the points whose
worker has not ended are listed (pending, running), not stored; an interrupted worker's
partial run comes in as interrupted; a task of the same name that differs is refused; a
directory without a manifest is an error naming it.  Run again as more points end."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, kernel_binary
from test_worker import POLICY, SETUP, read, rows, RL4, RL4_POINTS

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

BASE = POLICY.replace("seed = [1, 2]\n", "")
RL, POINTS = RL4, RL4_POINTS


def run(tmp, text, name="cells.rlhf"):
    with open(os.path.join(tmp, name), "w") as f:
        f.write(text)
    return subprocess.run([kernel_binary(), "run", name], env=dict(os.environ,
                          RLHF_PROGRESS_SECONDS="0"), timeout=600, cwd=tmp,
                          capture_output=True, text=True)


def worker(tmp, d, i):
    p = subprocess.run([kernel_binary(), "worker", d, "--point", str(i)], cwd=tmp,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr


def exports(names, prefix):
    return "".join(f"# %%\n%export {prefix}{i}.jsonl {n}\n# %%\n%save {n} {prefix}{i}.policy\n"
                   for i, n in names)


@pytest.fixture(scope="module")
def jobdir():
    """The threads executor's exports (k0..k3) and the same cell's job directory."""
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP + "# %%\n" + BASE + "# %%\n" + RL + exports(enumerate(POINTS), "k")
        text += "# %%\n%executor jobs dir=j\n# %%\n" + RL
        p = run(tmp, text)
        assert p.returncode == 0, p.stdout + p.stderr
        d = re.search(r"written to (j/tuned-[0-9a-f]{16})", p.stdout).group(1)
        yield tmp, d, p.stdout


def test_collect_in_a_new_kernel_is_bit_identical_and_lists_the_rest(jobdir):
    tmp, d, threads_out = jobdir
    for i in (0, 2):
        worker(tmp, d, i)
    p = run(tmp, f"%collect {d}\n" + exports([(0, POINTS[0]), (2, POINTS[2])], "c") +
            "# %%\n%runs\n", "collect1.rlhf")
    assert p.returncode == 0, p.stdout + p.stderr
    for i in (0, 2):
        assert rows(os.path.join(tmp, f"c{i}.jsonl")) == rows(os.path.join(tmp, f"k{i}.jsonl"))
        assert read(os.path.join(tmp, f"c{i}.policy")) == read(os.path.join(tmp, f"k{i}.policy"))
        assert f"policy {POINTS[i]}: grpo from base on add, reward short (c=0.01), 3 steps\n" \
            in p.stdout
    assert (f"point 0 {POINTS[0]}: finished\npoint 1 {POINTS[1]}: pending\n"
            f"point 2 {POINTS[2]}: finished\npoint 3 {POINTS[3]}: pending\n"
            f"%collect {d}: 2 finished, 0 failed, 0 interrupted, 0 running, 2 pending (of 4)\n") \
        in p.stdout, p.stdout
    runs = re.findall(r"^(tuned\[\S+\])\s+(\w+)\s", p.stdout[p.stdout.rindex("%collect"):], re.M)
    assert runs == [(POINTS[0], "finished"), (POINTS[2], "finished")], p.stdout
    # the same chart as the threads executor's, but that two points are still queued
    chart = p.stdout[p.stdout.index("%%rl tuned: grpo"):].splitlines()[1]
    assert chart.startswith("step 0/3 · runs 2 done · 2 queued"), chart


def test_collect_again_as_points_end_in_a_jupyter_kernel(jobdir, new_kernel):
    """In a live kernel: collect what has ended, run the others, collect again."""
    tmp, d, _ = jobdir
    k = new_kernel()
    absd = os.path.join(tmp, d)
    for i in range(4):  # a clean start: only point 0 ended
        for f in os.listdir(absd):
            if f.startswith(f"point-{i}.") and not f.endswith(".job"):
                os.unlink(os.path.join(absd, f))
    worker(tmp, d, 0)
    rep, msgs = k.execute(f'%collect "{absd}"')
    assert rep["content"]["status"] == "ok", rep["content"]
    from conftest import stream_text
    assert "1 finished, 0 failed, 0 interrupted, 0 running, 3 pending (of 4)" in stream_text(msgs)
    for i in (1, 2, 3):
        worker(tmp, d, i)
    rep, msgs = k.execute(f'%collect "{absd}"')
    assert rep["content"]["status"] == "ok", rep["content"]
    assert "4 finished, 0 failed, 0 interrupted, 0 running, 0 pending (of 4)" in stream_text(msgs)
    for i, name in enumerate(POINTS):
        rep, _ = k.execute(f'%export "{tmp}/g{i}.jsonl" {name}\n%save {name} "{tmp}/g{i}.policy"')
        assert rep["content"]["status"] == "ok", rep["content"]
        assert rows(os.path.join(tmp, f"g{i}.jsonl")) == rows(os.path.join(tmp, f"k{i}.jsonl"))
        assert read(os.path.join(tmp, f"g{i}.policy")) == read(os.path.join(tmp, f"k{i}.policy"))


def test_interrupted_and_running_points():
    """A worker writes its JSONL as the rows come; stopped by SIGTERM (its interrupt) it
    leaves its partial run: collected as interrupted; one killed with SIGKILL leaves a run
    file but no status: running."""
    with tempfile.TemporaryDirectory() as tmp:
        slow = RL.replace("steps = 3", "steps = 200000").replace("lr = [1e-3, 3e-3]\n", "")
        p = run(tmp, SETUP + "# %%\n" + BASE + "# %%\n%executor jobs dir=j\n# %%\n" + slow)
        assert p.returncode == 0, p.stdout + p.stderr
        d = re.search(r"written to (j/tuned-[0-9a-f]{16})", p.stdout).group(1)
        procs = [subprocess.Popen([kernel_binary(), "worker", d, "--point", str(i)], cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in (0, 1)]
        deadline = time.time() + 60
        while time.time() < deadline and not all(
                os.path.exists(os.path.join(tmp, d, f"point-{i}.run")) and
                os.path.getsize(os.path.join(tmp, d, f"point-{i}.run")) > 2000 for i in (0, 1)):
            time.sleep(0.05)
        time.sleep(0.2)  # > the 50 ms flush
        with open(os.path.join(tmp, d, "point-0.jsonl")) as f:  # as the rows come
            streamed = [json.loads(ln) for ln in f.read().split("\n")[:-1]]  # whole lines
        assert len(streamed) > 0 and procs[0].poll() is None, len(streamed)
        procs[0].send_signal(signal.SIGTERM)
        procs[1].send_signal(signal.SIGKILL)
        for q in procs:
            q.wait(timeout=60)
        assert read(os.path.join(tmp, d, "point-0.status")) == b"interrupted\n"
        assert not os.path.exists(os.path.join(tmp, d, "point-1.status"))
        n = len(rows(os.path.join(tmp, d, "point-0.jsonl")))
        p = run(tmp, f"%collect {d}\n# %%\n%export c0.jsonl tuned[seed=1]\n", "collect.rlhf")
        assert p.returncode == 0, p.stdout + p.stderr
        assert (f"point 0 tuned[seed=1]: interrupted\n"
                f"point 1 tuned[seed=2]: running (its worker has not ended)\n"
                f"%collect {d}: 0 finished, 0 failed, 1 interrupted, 1 running, 0 pending (of 2)\n"
                ) in p.stdout, p.stdout
        assert f"policy tuned[seed=1]: grpo from base on add, reward short (c=0.01), {n} steps " \
            "(interrupted)" in p.stdout, p.stdout
        assert rows(os.path.join(tmp, "c0.jsonl")) == rows(os.path.join(tmp, d, "point-0.jsonl"))


def test_errors(jobdir):
    tmp, d, _ = jobdir
    p = run(tmp, "%collect nowhere\n", "e1.rlhf")
    assert p.returncode == 1
    assert "RuntimeError: cell:1:10: %collect: cannot read nowhere/manifest: No such file or " \
        "directory (not a job directory?)" in p.stderr, p.stderr
    worker(tmp, d, 0)
    p = run(tmp, f"%task add add digits=3\n# %%\n%collect {d}\n# %%\n%runs\n", "e2.rlhf")
    assert p.returncode == 1
    assert f"RuntimeError: cell:1:10: %collect: task 'add' here is not the one the points " \
        "trained on: rename or redefine it here as in the job, or %collect in a new kernel" \
        in p.stderr, p.stderr
    assert "%%rl tuned" not in p.stdout  # refused before the jobs' cell ran
    p = run(tmp, "%collect\n", "e3.rlhf")
    assert p.returncode == 1 and "%collect needs the job directory: %collect DIR" in p.stderr, \
        p.stderr


def test_a_failed_point_is_listed_and_the_others_stored(jobdir):
    """A point whose worker failed (its point-I.status "failed" and point-I.failed, as the
    worker writes them, e.g. when its session cannot be rebuilt): %collect lists it with
    why and stores it as a failed run, and still stores the finished point: a failed point
    is not an error of %collect."""
    tmp, d, _ = jobdir
    absd = os.path.join(tmp, d)
    for f in os.listdir(absd):
        if f.startswith("point-") and not f.endswith(".job"):
            os.unlink(os.path.join(absd, f))
    worker(tmp, d, 0)
    with open(os.path.join(absd, "point-1.failed"), "w") as f:
        f.write("cannot write 'x': No space left on device\n")
    with open(os.path.join(absd, "point-1.status"), "w") as f:
        f.write("failed\n")
    p = run(tmp, f"%collect {d}\n" + exports([(0, POINTS[0])], "f") + "# %%\n%runs\n", "f.rlhf")
    assert p.returncode == 0, p.stdout + p.stderr
    assert (f"point 0 {POINTS[0]}: finished\n"
            f"point 1 {POINTS[1]}: failed: cannot write 'x': No space left on device\n"
            f"point 2 {POINTS[2]}: pending\npoint 3 {POINTS[3]}: pending\n"
            f"%collect {d}: 1 finished, 1 failed, 0 interrupted, 0 running, 2 pending (of 4)\n") \
        in p.stdout, p.stdout
    assert rows(os.path.join(tmp, "f0.jsonl")) == rows(os.path.join(tmp, "k0.jsonl"))
    runs = re.findall(r"^(tuned\[\S+\])\s+(\w+)\s", p.stdout[p.stdout.rindex("%collect"):], re.M)
    assert runs == [(POINTS[0], "finished"), (POINTS[1], "failed")], p.stdout
    assert f"policy {POINTS[1]}" not in p.stdout  # a failed point leaves no policy
