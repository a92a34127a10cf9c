"""`%executor slurm` against a real Slurm: a private single-node cluster (slurm_cluster.py:
Debian's slurm-wlm and munge, everything in a temporary directory, SLURM_CONF) runs the
job arrays the kernel writes.  test_slurm.py covers the cell's messages and errors with a
fake sbatch; here the real sbatch, srun, slurmstepd and scancel run the points.

(a) A 4-point %%rl sweep (2 learning rates x 2 seeds) under `%executor slurm
partition=debug array_limit=2 time="00:10:00"`: the cell submits submit.sh with sbatch; the
test waits for the array (every point-I.status, written last by the worker, says
"finished"; squeue never shows more than 2 tasks running at once, then none; Slurm's job
completion log has the 4 array tasks of the job, completed with exit code 0, with
submit.sh's name, partition and time limit, never more than 2 at once); each task's
output file DIR/slurm-JOB_I.out (submit.sh's --output) names its point, and every point's
JSONL rows (but "wall") and policy bytes are those the threads executor's %export and
%save give.
(b) scancel of a long array (steps = 200000, array_limit=2, submitted by the test with
sbatch from submit=false's submit.sh): Slurm sends SIGTERM to the two running tasks, whose
workers stop at their next step and write point-I.status "interrupted" well within the
KillWait after which Slurm would SIGKILL them (then they could write nothing); their
partial point-I.run (ending in an interrupted record) and point-I.jsonl (the same number
of rows) and point-I.interrupted.policy are kept, no point-I.policy or .failed; the two
pending tasks never start; no worker process is left.

Skipped when Slurm cannot run here (not root, packages missing), except under CI or
RLHF_REQUIRE_SLURM=1, where that fails (slurm_cluster.py)."""
import os
import re
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, kernel_binary
from slurm_cluster import KILL_WAIT, slurm  # noqa: F401 (the fixture)
from test_worker import POLICY, SETUP, read, rows, RL4, RL4_POINTS

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

BASE = POLICY.replace("seed = [1, 2]\n", "")
RL, POINTS = RL4, RL4_POINTS
LONG_STEPS = 200000
LONG = RL.replace("tuned", "long").replace("steps = 3", f"steps = {LONG_STEPS}")
ARRAY_SECONDS = 180  # the 4 short points, 2 at a time: ~5 s here (more under ASan)
RT_RUN_INTERRUPTED = 3  # runtime/train/rt_run.h


def run(slurm, tmp, text):
    """`rlhf-kernel run` of text in tmp, talking to the private cluster (SLURM_CONF)."""
    with open(os.path.join(tmp, "cells.rlhf"), "w") as f:
        f.write(text)
    p = subprocess.run([kernel_binary(), "run", "cells.rlhf"], timeout=600, cwd=tmp,
                       env=dict(slurm.env, RLHF_PROGRESS_SECONDS="0"), capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def status(d, i):
    path = os.path.join(d, f"point-{i}.status")
    return read(path).decode() if os.path.exists(path) else None


def outputs(d):
    """The job's slurm-*.out files, for a failure message."""
    out = []
    for f in sorted(os.listdir(d)):
        if f.startswith("slurm-") and f.endswith(".out"):
            out.append(f"--- {f}\n" + read(os.path.join(d, f)).decode(errors="replace"))
    return "\n".join(out)


def runfile(path, growing=False):
    """A point-I.run (runtime/train/rt_runfile.h): (its metrics rows, the end record's
    status or None).  growing: the file may still be written (an unfinished header or last
    record is left out, as rt_runfile_poll does)."""
    data = read(path) if os.path.exists(path) else b""
    head = data.find(b"\nend\n")
    if head < 0 and growing:
        return [], None
    lines = data[:head].split(b"\n")
    assert lines[0] == b"rlhf-run 1" and lines[1].startswith(b"columns "), data[:100]
    n = int(lines[1].split()[1])
    assert len(lines) == n + 2, data[:head]
    pos, out, end = head + 5, [], None
    while pos < len(data):
        tag, size = data[pos:pos + 1], None
        if tag == b"R":
            size = 8 * n
        elif tag == b"L" and pos + 5 <= len(data):
            size = 4 + struct.unpack_from("<I", data, pos + 1)[0]
        elif tag == b"F" and pos + 14 <= len(data):
            size = 13 + struct.unpack_from("<I", data, pos + 10)[0]
        elif tag not in (b"L", b"F"):
            raise AssertionError(f"{path}: bad record tag {tag!r} at {pos}")
        if size is None or pos + 1 + size > len(data):
            assert growing, f"{path}: a cut record at {pos}"
            break
        if tag == b"R":
            out.append(struct.unpack_from(f"<{n}d", data, pos + 1))
        elif tag == b"F":
            end = data[pos + 1]
        pos += 1 + size
    return out, end


def workers_of(d):
    """Pids of processes still running `rlhf-kernel worker d`."""
    out = []
    for e in os.listdir("/proc"):
        try:
            with open(f"/proc/{e}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and d.encode() in argv:
            out.append(int(e))
    return out


@pytest.fixture(scope="module")
def reference():
    """The threads executor's exports and policies k0..k3 of the sweep."""
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP + "# %%\n" + BASE + "# %%\n" + RL
        for i, name in enumerate(POINTS):
            text += f"# %%\n%export k{i}.jsonl {name}\n# %%\n%save {name} k{i}.policy\n"
        with open(os.path.join(tmp, "cells.rlhf"), "w") as f:
            f.write(text)
        p = subprocess.run([kernel_binary(), "run", "cells.rlhf"], timeout=600, cwd=tmp,
                           env=dict(os.environ, RLHF_PROGRESS_SECONDS="0"),
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        yield os.path.realpath(tmp)


def test_real_array_is_bit_identical(slurm, reference):  # noqa: F811
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        t0 = time.time()
        out = run(slurm, tmp, SETUP + "# %%\n" + BASE + '# %%\n%executor slurm partition=debug '
                  'array_limit=2 time="00:10:00"\n# %%\n' + RL)
        m = re.search(r"^%%rl tuned: 4 points written to (jobs/tuned-[0-9a-f]{16}); submitted "
                      r"as Slurm job (\d+) \(array 0-3%2\), followed here \(an interrupt "
                      r"cancels it\)\n", out, re.M)
        assert m, out
        for name in POINTS:  # the cell followed the array and stored every point
            assert f"policy {name}: grpo from base on add, reward short (c=0.01), 3 steps\n" \
                in out, out
        d, job = os.path.join(tmp, m.group(1)), m.group(2)
        assert read(os.path.join(d, "slurm-job")).decode() == job + "\n"
        sh = read(os.path.join(d, "submit.sh")).decode()
        assert ("#SBATCH --array=0-3%2\n#SBATCH --partition=debug\n#SBATCH --time=00:10:00\n"
                f"#SBATCH --output={d}/slurm-%A_%a.out\n") in sh, sh
        # the array, followed: at most array_limit tasks running at once, then none left
        most = 0
        deadline = time.time() + ARRAY_SECONDS
        while True:
            tasks = slurm.squeue(job)
            most = max(most, sum(t.endswith(" RUNNING") for t in tasks))
            if not tasks and all(status(d, i) for i in range(4)):
                break
            assert time.time() < deadline, (f"array {job} not done after {ARRAY_SECONDS} s: "
                                             f"{tasks}\n{outputs(d)}\n{slurm.logs()}")
            time.sleep(0.1)
        print(f"real array of 4 points (2 at a time): {time.time() - t0:.1f} s from the cell's "
              f"start to the last task's end")
        assert most <= 2, most
        # Slurm's own record of the array: 4 tasks of this job, each completed with exit
        # code 0 in partition debug, never more than 2 at once (times in whole seconds:
        # [start, end) intervals truncated alike never overlap more than the real ones)
        while len(slurm.jobcomp(job)) < 4:
            assert time.time() < deadline, f"{slurm.jobcomp(job)}\n{slurm.logs()}"
            time.sleep(0.1)
        recs = slurm.jobcomp(job)
        assert sorted(int(r["ArrayTaskId"]) for r in recs) == [0, 1, 2, 3], recs
        for r in recs:  # submit.sh's --job-name, --partition and --time (in minutes)
            assert (r["JobState"], r["ExitCode"], r["Name"], r["Partition"], r["TimeLimit"]) \
                == ("COMPLETED", "0:0", os.path.basename(d), "debug", "10"), r
        spans = [(r["StartTime"], r["EndTime"]) for r in recs]
        for start, _ in spans:
            assert sum(s <= start < e for s, e in spans) <= 2, spans
        for i, name in enumerate(POINTS):
            assert status(d, i) == "finished\n", f"point {i}: {status(d, i)}\n{outputs(d)}"
            log = read(os.path.join(d, f"slurm-{job}_{i}.out")).decode()  # submit.sh's --output
            assert f"point {i} ({name}): wrote {d}/point-{i}.jsonl and {d}/point-{i}.policy\n" \
                in log, log
            got = rows(os.path.join(d, f"point-{i}.jsonl"))
            assert got == rows(os.path.join(reference, f"k{i}.jsonl")), name
            assert all(r["run"] == name for r in got)
            assert read(os.path.join(d, f"point-{i}.policy")) == \
                read(os.path.join(reference, f"k{i}.policy")), name
        assert sorted(f for f in os.listdir(d) if f.startswith("slurm-") and f.endswith(".out")) \
            == [f"slurm-{job}_{i}.out" for i in range(4)]


def test_scancel_interrupts_the_running_tasks(slurm):  # noqa: F811
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        out = run(slurm, tmp, SETUP + "# %%\n" + BASE +
                  "# %%\n%executor slurm array_limit=2 submit=false\n# %%\n" + LONG)
        m = re.search(r"^%%rl long: 4 points written to (jobs/long-[0-9a-f]{16}) \(not "
                      r"submitted: submit=false\)\n", out, re.M)
        assert m, out
        d = os.path.join(tmp, m.group(1))
        p = subprocess.run(["sbatch", "--parsable", os.path.join(d, "submit.sh")], cwd=tmp,
                           env=slurm.env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        job = p.stdout.strip().split(";")[0]
        # both running tasks are training (rows in their point-I.run), the other two pending
        deadline = time.time() + ARRAY_SECONDS
        while not all(len(runfile(os.path.join(d, f"point-{i}.run"), True)[0]) >= 20
                      for i in (0, 1)):
            assert time.time() < deadline, f"no rows yet\n{outputs(d)}\n{slurm.logs()}"
            time.sleep(0.1)
        tasks = slurm.squeue(job)
        assert f"{job}_0 RUNNING" in tasks and f"{job}_1 RUNNING" in tasks, tasks
        assert f"{job}_2 PENDING" in tasks and f"{job}_3 PENDING" in tasks, tasks
        t0 = time.time()
        p = subprocess.run(["scancel", job], env=slurm.env, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        while not (status(d, 0) and status(d, 1)):
            assert time.time() < t0 + 2 * KILL_WAIT, \
                f"no status after scancel\n{outputs(d)}\n{slurm.logs()}"
            time.sleep(0.02)
        stopped = time.time() - t0
        while slurm.squeue(job) or workers_of(d):
            assert time.time() < t0 + 2 * KILL_WAIT, \
                f"{slurm.squeue(job)} {workers_of(d)}\n{outputs(d)}"
            time.sleep(0.05)
        gone = time.time() - t0
        print(f"scancel: both workers wrote 'interrupted' after {stopped:.2f} s, the job and "
              f"its processes gone after {gone:.2f} s (KillWait {KILL_WAIT} s)")
        # SIGTERM reaches a worker at once (scancel, slurmctld, slurmd, slurmstepd), which
        # stops at its next step (milliseconds) and writes its files: well before KillWait's
        # SIGKILL, which would leave no status at all; half of KillWait leaves a loaded
        # machine (a sanitizer build) room
        assert stopped < KILL_WAIT / 2, stopped
        for i in (0, 1):
            assert status(d, i) == "interrupted\n", f"point {i}: {status(d, i)}\n{outputs(d)}"
            got = rows(os.path.join(d, f"point-{i}.jsonl"))
            assert all(r["run"] == POINTS[i].replace("tuned", "long") for r in got)
            assert 20 <= len(got) < LONG_STEPS, len(got)
            run_rows, end = runfile(os.path.join(d, f"point-{i}.run"))
            assert len(run_rows) == len(got) and end == RT_RUN_INTERRUPTED, (len(run_rows), end)
            assert os.path.getsize(os.path.join(d, f"point-{i}.interrupted.policy")) > 0
            for gone_file in ("policy", "failed"):
                assert not os.path.exists(os.path.join(d, f"point-{i}.{gone_file}"))
            assert "CANCELLED" in read(os.path.join(d, f"slurm-{job}_{i}.out")).decode()

        def ended():  # Slurm's record of the two running tasks
            return {r["ArrayTaskId"]: r["JobState"] for r in slurm.jobcomp(job)
                    if r["ArrayTaskId"] in ("0", "1")}
        while len(ended()) < 2:
            assert time.time() < t0 + 30, f"{slurm.jobcomp(job)}\n{slurm.logs()}"
            time.sleep(0.1)
        assert ended() == {"0": "CANCELLED", "1": "CANCELLED"}, slurm.jobcomp(job)
        for i in (2, 3):  # pending when cancelled: never started
            assert status(d, i) is None
            assert not os.path.exists(os.path.join(d, f"point-{i}.run"))
            assert not os.path.exists(os.path.join(d, f"slurm-{job}_{i}.out"))
