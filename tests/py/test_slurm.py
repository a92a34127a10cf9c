"""`%executor slurm` (magics/mag_jobs.c, magics/mag_slurm.h, issue 19): a training cell
writes its job directory and DIR/submit.sh (a Slurm job array, one task per point) and
submits it with `sbatch --parsable`.

The cell follows a submitted array (follow=true, the default): its points' run files feed
the live chart and the points are stored as under the threads executor; an interrupt runs
scancel.  No real Slurm runs here (test_slurm_real.py runs real arrays on a private
single-node Slurm, as root): this test, which runs anywhere, puts first in PATH a fake
`sbatch` that reads submit.sh's `#SBATCH --array=0-M[%K]` and runs the script itself once
per array task with SLURM_ARRAY_TASK_ID set (K at a time, in the background, as Slurm
would), a fake `srun` (exec "$@") and a fake `scancel` (records its arguments); the test
also runs submit.sh's array lines directly with SLURM_ARRAY_TASK_ID=0..N-1.  Either way
every point's JSONL rows (but "wall") and policy bytes are those the threads executor's
%export and %save give.  Also: submit.sh's exact text, submit=false (written, not
submitted), sbatch absent from PATH (written, with the command to run), sbatch failing
(the cell fails naming its status and message), the settings' errors at their columns and
the `%executor` line, follow=false (submitted; %collect named), an interrupt (scancel; the
partial runs stored).  A real single-node Slurm runs in test_slurm_real.py."""
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, kernel_binary
from test_worker import POLICY, SETUP, read, rows, RL, RL_POINTS

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

BASE = POLICY.replace("seed = [1, 2]\n", "")
POINTS = RL_POINTS

FAKE_SBATCH = r"""#!/bin/bash
# fake sbatch --parsable SCRIPT: runs SCRIPT once per task of its #SBATCH --array=0-M[%K]
# with SLURM_ARRAY_TASK_ID set, K at a time, in the background; prints a job id
echo "$*" >> "$FAKE_LOG/sbatch.args"
if [ -n "$FAKE_SBATCH_FAIL" ]; then
    echo "sbatch: warning: something first" >&2
    echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2
    exit 1
fi
[ "$1" = --parsable ] || { echo "fake sbatch: expected --parsable" >&2; exit 2; }
script=$2
spec=$(sed -n 's/^#SBATCH --array=//p' "$script")
range=${spec%%\%*}
limit=${spec#*%}
[ "$limit" = "$spec" ] && limit=1000
last=${range#0-}
(
    for ((i = 0; i <= last; i++)); do
        [ -e "$FAKE_LOG/cancelled" ] && break
        SLURM_ARRAY_TASK_ID=$i setsid /bin/bash "$script" > "$FAKE_LOG/task-$i.out" 2>&1 &
        echo $! >> "$FAKE_LOG/task.pids"
        if (( (i + 1) % limit == 0 )); then wait; fi
    done
    wait
    touch "$FAKE_LOG/done"
) < /dev/null > /dev/null 2>&1 &
echo $! > "$FAKE_LOG/array.pid"
echo "4242;fakecluster"
"""
FAKE_SRUN = '#!/bin/bash\nexec "$@"\n'
FAKE_SCANCEL = r"""#!/bin/bash
# fake scancel JOBID: records its arguments; SIGTERM to every task's process group (the
# tasks run under setsid), as Slurm signals a cancelled job's steps; no more tasks start
echo "$*" >> "$FAKE_LOG/scancel.args"
touch "$FAKE_LOG/cancelled"
for p in $(cat "$FAKE_LOG/task.pids" 2>/dev/null); do kill -TERM -- -$p 2>/dev/null; done
exit 0
"""


def wait_array(tmp, timeout=300):
    """Waits until the fake sbatch's background array (its subshell) has ended."""
    try:
        pid = int(read(os.path.join(tmp, "array.pid")))
    except (OSError, ValueError):
        return
    deadline = time.time() + timeout
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.02)
    os.unlink(os.path.join(tmp, "array.pid"))


def fake_bin(tmp):
    """A directory with the fake sbatch, srun and scancel."""
    d = os.path.join(tmp, "fakebin")
    os.makedirs(d, exist_ok=True)
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN), ("scancel", FAKE_SCANCEL)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, name), 0o755)
    return d


def run(tmp, text, path, **env):
    """`rlhf-kernel run` of text in tmp with PATH = path; the finished process."""
    with open(os.path.join(tmp, "cells.rlhf"), "w") as f:
        f.write(text)
    e = dict(os.environ, RLHF_PROGRESS_SECONDS="0", PATH=path, FAKE_LOG=tmp, **env)
    return subprocess.run([kernel_binary(), "run", "cells.rlhf"], env=e, timeout=600, cwd=tmp,
                          capture_output=True, text=True)


def submit_sh(d, array, extra=""):
    """The exact submit.sh of job directory d (absolute)."""
    exe = os.path.realpath(kernel_binary())
    n = int(array.split("-")[1].split("%")[0]) + 1
    return (
        "#!/bin/bash\n"
        f"# rlhf-kernel: the {n} points of this job directory as a Slurm job array, one array "
        "task per point.\n"
        f"# Submit with: sbatch {d}/submit.sh   (then %collect {d} in a notebook)\n"
        "# The srun line runs this binary by its absolute path: every node needs it at that "
        "path\n"
        "# (or edit the line), and this directory on a file system the nodes share.\n"
        f"#SBATCH --job-name={os.path.basename(d)}\n"
        f"#SBATCH --array={array}\n"
        f"{extra}"
        f"#SBATCH --output={d}/slurm-%A_%a.out\n"
        "# one CPU per task: a point trains on one thread\n"
        "#SBATCH --cpus-per-task=1\n"
        f'srun {exe} worker {d} --point "$SLURM_ARRAY_TASK_ID"\n')


def check_identical(tmp, d):
    for i, name in enumerate(POINTS):
        got = rows(os.path.join(d, f"point-{i}.jsonl"))
        assert got == rows(os.path.join(tmp, f"k{i}.jsonl")), name
        assert all(r["run"] == name for r in got)
        assert read(os.path.join(d, f"point-{i}.policy")) == \
            read(os.path.join(tmp, f"k{i}.policy")), name


@pytest.fixture(scope="module")
def written():
    """The threads executor's exports and policies (k0..k5), then the same %%rl cell under
    `%executor slurm submit=false` (sbatch in PATH, not called)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        fb = fake_bin(tmp)
        text = SETUP + "# %%\n" + BASE + "# %%\n" + RL
        for i, name in enumerate(POINTS):
            text += f"# %%\n%export k{i}.jsonl {name}\n# %%\n%save {name} k{i}.policy\n"
        text += "# %%\n%executor slurm submit=false\n# %%\n%executor\n# %%\n" + RL
        p = run(tmp, text, fb + ":" + os.environ["PATH"])
        assert p.returncode == 0, p.stdout + p.stderr
        yield tmp, fb, p.stdout


def test_submit_false_writes_and_prints_the_command(written):
    tmp, fb, out = written
    assert "executor slurm submit=false dir=jobs\nexecutor slurm submit=false dir=jobs\n" in out
    m = re.search(r"^%%rl tuned: 6 points written to (jobs/tuned-[0-9a-f]{16}) \(not submitted: "
                  r"submit=false\)\n", out, re.M)
    assert m, out
    d = m.group(1)
    assert out[m.end():].startswith(
        "submit them where Slurm runs with:\n"
        f"  sbatch {d}/submit.sh\n"
        f"and when the array's tasks have ended bring the results back with %collect {d}\n"), out
    assert not os.path.exists(os.path.join(tmp, "sbatch.args"))  # not submitted
    absd = os.path.join(tmp, d)
    assert read(os.path.join(absd, "submit.sh")).decode() == submit_sh(absd, "0-5")
    assert os.stat(os.path.join(absd, "submit.sh")).st_mode & 0o777 == 0o755
    assert not os.path.exists(os.path.join(absd, "point-0.jsonl"))
    assert not os.path.exists(os.path.join(absd, "slurm-job"))


def test_array_lines_with_task_ids_are_bit_identical(written):
    """What each array task runs: submit.sh with SLURM_ARRAY_TASK_ID=I (srun = exec)."""
    tmp, fb, out = written
    d = os.path.join(tmp, re.search(r"written to (\S+) \(not submitted", out).group(1))
    env = dict(os.environ, PATH=fb + ":" + os.environ["PATH"])
    for i in range(len(POINTS)):
        p = subprocess.run(["/bin/bash", os.path.join(d, "submit.sh")], cwd="/",
                           env=dict(env, SLURM_ARRAY_TASK_ID=str(i)), capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, p.stdout + p.stderr
        assert f"point {i} ({POINTS[i]}): wrote {d}/point-{i}.jsonl" in p.stdout, p.stdout
    check_identical(tmp, d)


def test_submitted_array_is_followed_and_bit_identical(written):
    """The same cell (same session: the same directory) submitted to the fake sbatch, which
    runs the array tasks two at a time in the background; the cell follows the array (its
    points' run files into the live chart) and stores every point as the threads executor
    does: the same exports, policies, chart and summary."""
    tmp, fb, out = written
    text = (SETUP + "# %%\n" + BASE + '# %%\n%executor slurm partition=debug array_limit=2 '
            'time="1-02:00:00"\n# %%\n%executor\n# %%\n' + RL)
    for i, name in enumerate(POINTS):
        text += f"# %%\n%export e{i}.jsonl {name}\n# %%\n%save {name} e{i}.policy\n"
    p = run(tmp, text, fb + ":" + os.environ["PATH"])
    assert p.returncode == 0, p.stdout + p.stderr
    show = 'executor slurm partition=debug array_limit=2 time="1-02:00:00" submit=auto dir=jobs\n'
    assert p.stdout.count(show) == 2, p.stdout
    m = re.search(r"^%%rl tuned: 6 points written to (jobs/tuned-[0-9a-f]{16}); submitted as Slurm "
                  r"job 4242 \(array 0-5%2\), followed here \(an interrupt cancels it\)\n",
                  p.stdout, re.M)
    assert m, p.stdout
    d = m.group(1)
    assert d == re.search(r"written to (\S+) \(not submitted", out).group(1)  # the same job
    absd = os.path.join(tmp, d)
    assert read(os.path.join(absd, "submit.sh")).decode() == submit_sh(
        absd, "0-5%2", "#SBATCH --partition=debug\n#SBATCH --time=1-02:00:00\n")
    assert read(os.path.join(tmp, "sbatch.args")).decode() == f"--parsable {d}/submit.sh\n"
    assert read(os.path.join(absd, "slurm-job")) == b"4242\n"
    wait_array(tmp)  # its subshell ends after the tasks (the cell returned when they did)
    assert os.path.exists(os.path.join(tmp, "done"))
    for i, name in enumerate(POINTS):
        log = read(os.path.join(tmp, f"task-{i}.out")).decode()
        assert f"point {i} ({name}): wrote" in log, log
        assert rows(os.path.join(tmp, f"e{i}.jsonl")) == rows(os.path.join(tmp, f"k{i}.jsonl"))
        assert read(os.path.join(tmp, f"e{i}.policy")) == read(os.path.join(tmp, f"k{i}.policy"))
    check_identical(tmp, absd)

    def shown(s):  # the chart's text and the summary table, as the threads executor's
        seg = s[s.index("%%rl tuned: grpo"):]
        return seg[:seg.index("policy tuned[")].splitlines()
    assert shown(p.stdout) == shown(out), p.stdout
    assert not os.path.exists(os.path.join(tmp, "scancel.args"))
    for f in ("sbatch.args", "done", "task.pids"):
        os.unlink(os.path.join(tmp, f))


def test_follow_false_returns_once_submitted(written):
    """follow=false: the cell submits and returns, naming %collect; the array's results
    are the same bits."""
    tmp, fb, out = written
    text = (SETUP + "# %%\n" + BASE + "# %%\n%executor slurm follow=false\n# %%\n%executor\n"
            "# %%\n" + RL)
    p = run(tmp, text, fb + ":" + os.environ["PATH"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("executor slurm submit=auto follow=false dir=jobs\n") == 2, p.stdout
    m = re.search(r"^%%rl tuned: 6 points written to (jobs/tuned-[0-9a-f]{16}); submitted as Slurm "
                  r"job 4242 \(array 0-5\)\n", p.stdout, re.M)
    assert m, p.stdout
    d = m.group(1)
    assert p.stdout[m.end():].startswith(
        "when its tasks have ended (squeue -j 4242) bring the results back with "
        f"%collect {d}\n"), p.stdout
    assert "policy tuned[" not in p.stdout  # nothing stored
    deadline = time.time() + 300
    while not os.path.exists(os.path.join(tmp, "done")) and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.exists(os.path.join(tmp, "done")), "the fake array did not end"
    wait_array(tmp)
    check_identical(tmp, os.path.join(tmp, d))
    for f in ("sbatch.args", "done", "task.pids"):
        os.unlink(os.path.join(tmp, f))


def test_interrupt_cancels_the_array_and_keeps_the_partial_runs():
    """A long array followed by the cell: SIGINT to the kernel runs `scancel 4242` (the
    fake sends SIGTERM to the tasks, as Slurm does); the workers stop at their next step
    and write their partial runs, which the cell stores as interrupted."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.path.realpath(tmp)
        fb = fake_bin(tmp)
        slow = RL.replace("steps = 3", "steps = 200000").replace("lr = [1e-3, 3e-3, 1e-2]\n",
                                                                "")
        with open(os.path.join(tmp, "cells.rlhf"), "w") as f:
            f.write(SETUP + "# %%\n" + BASE + "# %%\n%executor slurm array_limit=2\n# %%\n" + slow)
        env = dict(os.environ, RLHF_PROGRESS_SECONDS="0", PATH=fb + ":" + os.environ["PATH"],
                   FAKE_LOG=tmp)
        k = subprocess.Popen([kernel_binary(), "run", "cells.rlhf"], env=env, cwd=tmp, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        runs = []
        while len(runs) < 2 and time.time() < deadline and k.poll() is None:
            runs = [f for f in glob_runs(tmp) if os.path.getsize(f) > 200]
            time.sleep(0.1)
        assert len(runs) == 2, (runs, k.poll())
        t0 = time.monotonic()
        k.send_signal(signal.SIGINT)
        out, err = k.communicate(timeout=120)
        took = time.monotonic() - t0
        assert read(os.path.join(tmp, "scancel.args")).decode() == "4242\n"
        assert k.returncode == 1 and "Interrupted: interrupted at step" in err, out + err
        assert took < 5, took
        d = re.search(r"written to (jobs/tuned-\S+);", out).group(1)
        for i, name in enumerate(["tuned[seed=1]", "tuned[seed=2]"]):
            st = read(os.path.join(tmp, d, f"point-{i}.status")).decode()
            assert st == "interrupted\n", st
            n = len(rows(os.path.join(tmp, d, f"point-{i}.jsonl")))
            assert 0 < n < 200000
            assert f"policy {name}: grpo from base on add, reward short (c=0.01), {n} steps " \
                "(interrupted)" in out, out
        wait_array(tmp)


def glob_runs(tmp):
    import glob
    return glob.glob(os.path.join(tmp, "jobs", "tuned-*", "point-*.run"))


def test_without_sbatch_the_cell_writes_with_a_note():
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        text = (SETUP + "# %%\n%executor slurm array_limit=1\n# %%\n" + POLICY)
        p = run(tmp, text, empty)
        assert p.returncode == 0, p.stdout + p.stderr
        m = re.search(r"^%%policy base: 2 points written to (jobs/base-[0-9a-f]{16}) \(not "
                      r"submitted: sbatch is not in PATH here\)\nsubmit them where Slurm runs "
                      r"with:\n  sbatch \1/submit.sh\n", p.stdout, re.M)
        assert m, p.stdout
        d = os.path.join(os.path.realpath(tmp), m.group(1))
        assert read(os.path.join(d, "submit.sh")).decode() == submit_sh(d, "0-1%1")
        # submit=true without sbatch: an error naming it, the directory still written
        p = run(tmp, SETUP + "# %%\n%executor slurm submit=true\n# %%\n" + POLICY, empty)
        assert p.returncode == 1, p.stdout + p.stderr
        assert (f"RuntimeError: cell:1:3: %%policy base: 2 points written to {m.group(1)} but "
                f"not submitted: sbatch is not in PATH (no Slurm here): run `sbatch "
                f"{m.group(1)}/submit.sh` on the cluster's login node\n") in p.stderr, p.stderr


def test_failing_sbatch_is_a_cell_error_naming_it():
    with tempfile.TemporaryDirectory() as tmp:
        fb = fake_bin(tmp)
        p = run(tmp, SETUP + "# %%\n%executor slurm partition=nope\n# %%\n" + POLICY,
                fb + ":" + os.environ["PATH"], FAKE_SBATCH_FAIL="1")
        assert p.returncode == 1, p.stdout + p.stderr
        assert re.search(r"RuntimeError: cell:1:3: %%policy base: 2 points written to "
                         r"jobs/base-[0-9a-f]{16} but not submitted: sbatch exited with status 1: "
                         r"sbatch: error: Batch job submission failed: Invalid partition name "
                         r"specified\n", p.stderr), p.stderr
        assert read(os.path.join(tmp, "sbatch.args")).decode().startswith("--parsable jobs/base-")


def test_trainer_the_worker_does_not_run_is_an_error():
    with tempfile.TemporaryDirectory() as tmp:
        fb = fake_bin(tmp)
        text = (SETUP + "# %%\n" + BASE + "# %%\n%%preferences p\nfrom = base\nlabeler = short\n"
                "pairs = 20\n# %%\n%executor slurm\n# %%\n%%rm x\ndata = p\nsteps = 2\n")
        p = run(tmp, text, fb + ":" + os.environ["PATH"])
        assert p.returncode == 1
        assert ("RuntimeError: cell:1:3: %executor slurm: rlhf-kernel worker cannot run point 0 "
                "(x): trainer 'rm' is not supported yet (the worker runs rl, sft, opd and dpo; a "
                "reward model cannot be saved, so a worker could not hand it back); use "
                "%executor threads for this cell\n") in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(tmp, "sbatch.args"))


@pytest.mark.parametrize("arg,col,msg", [
    ('time="25:00:0"', 22, 'time must be sbatch\'s [D-]HH:MM:SS or MM:SS in quotes '
     '(time="2:00:00"), got "25:00:0"'),
    ('time="1-24:00:00"', 22, 'time must be sbatch\'s [D-]HH:MM:SS or MM:SS in quotes '
     '(time="2:00:00"), got "1-24:00:00"'),
    ('time="10:60"', 22, 'time must be sbatch\'s [D-]HH:MM:SS or MM:SS in quotes '
     '(time="2:00:00"), got "10:60"'),
    ("time=90", 22, 'time must be sbatch\'s [D-]HH:MM:SS or MM:SS in quotes '
     '(time="2:00:00"), got 90'),
    ("array_limit=0", 29, "array_limit must be the most array tasks running at once, a number "
     ">= 1, got 0"),
    ("array_limit=2.5", 29, "array_limit must be the most array tasks running at once, a number "
     ">= 1, got 2.5"),
    ("partition=gpu/a", 27, "partition must be a partition's name (letters, digits, '_', '.', "
     "'-'), got gpu/a"),
    ('partition="a b"', 27, "partition must be a partition's name (letters, digits, '_', '.', "
     "'-'), got \"a b\""),
    ("follow=maybe", 24, "follow must be true (the cell follows the array and stores its points) "
     "or false (it returns once submitted), got maybe"),
    ("submit=yes", 24, "submit must be true, false or auto (submit when sbatch is in PATH), "
     "got yes"),
    ("np=2", 17, "unexpected argument 'np'; usage: %executor [threads"),
])
def test_settings_errors_at_their_value(arg, col, msg):
    with tempfile.TemporaryDirectory() as tmp:
        p = run(tmp, f"%executor slurm {arg}\n", os.environ["PATH"])
        assert p.returncode == 1
        line = f"%executor slurm {arg}\n" + " " * (col - 1) + "^\n"
        assert line in p.stdout + p.stderr, p.stdout + p.stderr
        assert f"ValueError: cell:1:{col}: {msg}" in p.stderr, p.stderr


def test_settings_accepted_and_shown():
    with tempfile.TemporaryDirectory() as tmp:
        p = run(tmp, '%executor slurm time="5:00" dir=out/j\n# %%\n%executor\n# %%\n'
                '%executor slurm partition=long-1 time="12:00:00" submit=true\n'
                '# %%\n%executor slurm time="2-00:00:00" array_limit=8 submit=auto\n'
                '# %%\n%help executor\n', os.environ["PATH"])
        assert p.returncode == 0, p.stdout + p.stderr
        assert p.stdout.startswith(
            'executor slurm time="5:00" submit=auto dir=out/j\n'
            'executor slurm time="5:00" submit=auto dir=out/j\n'
            'executor slurm partition=long-1 time="12:00:00" submit=true dir=jobs\n'
            'executor slurm array_limit=8 time="2-00:00:00" submit=auto dir=jobs\n'), p.stdout
        assert "slurm [partition=P] [array_limit=K]" in p.stdout
        assert 'srun /abs/rlhf-kernel worker /abs/DIR --point "$SLURM_ARRAY_TASK_ID"' in p.stdout
