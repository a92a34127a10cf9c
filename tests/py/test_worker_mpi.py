"""`rlhf-kernel worker DIR` without --point (magics/mag_worker.c, issue 19's MPI executor,
step 1): a 4-point %%rl sweep (2 learning rates x 2 seeds) trained in the kernel by the
threads executor, each point exported (%export) and saved (%save); the same cell under
`%executor jobs` writes its job directory, which is then run (1) under
`mpirun --oversubscribe -np 3` as a manager/worker farm (rank 0 hands the 4 points to
ranks 1 and 2, so a rank runs several points one after another), (2) under `mpirun -np 1`
(the one rank runs them all) and (3) without mpirun (one process, point after point).
Each gives the threads executor's JSONL rows (but "wall") and policy bytes; a corrupt
line fails its point and the others are written.

`%executor mpi np=N` (magics/mag_jobs.c): the kernel starts mpirun itself and stores the
points' runs and policies; a chain of cells (%%policy sweep, a %%policy sweep copying it
with its Adam state, a %%rl sweep from those) ends with the exports and policy files of
`%executor threads`; settings and errors; an interrupt stops every rank and keeps the
partial run; a killed rank fails the cell naming a point and keeps the finished points.

mpirun runs as root only with --allow-run-as-root (CI runs as root), which the test always
passes (harmless for other users).  Skipped when mpirun is absent or the binary was built
without MPI (meson option mpi; tools/install-deps installs openmpi-bin and
libopenmpi-dev)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, kernel_binary
from test_worker import POLICY, SETUP, read, rows, run_script, RL4, RL4_POINTS, RL as RL6, \
    RL_POINTS as RL6_POINTS

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

RL, POINTS = RL4, RL4_POINTS
MPIRUN = shutil.which("mpirun")
MPI_FLAGS = ["--oversubscribe", "--allow-run-as-root"]
# a container has no network beyond loopback, and ptrace-based single copy is often denied
MPI_ENV = {"OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_rmaps_base_oversubscribe": "1"}


@pytest.fixture(scope="module")
def job():
    """The kernel's exports and policies (k0..k3), and the job directory."""
    with tempfile.TemporaryDirectory() as tmp:
        text = SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") + "# %%\n" + RL
        for i, name in enumerate(POINTS):
            text += f"# %%\n%export k{i}.jsonl {name}\n# %%\n%save {name} k{i}.policy\n"
        text += "# %%\n%executor jobs dir=out/jobs\n# %%\n" + RL
        out = run_script(tmp, text)
        dirs = re.findall(r"jobs? written to (\S+) \(not trained", out)
        assert len(dirs) == 1 and dirs[0].startswith("out/jobs/tuned-"), out
        yield tmp, dirs[0]


def fresh_copy(tmp, d, name):
    """A copy of job directory d with only its manifest and jobs (no results)."""
    dst = os.path.join(tmp, name)
    os.makedirs(dst)
    for f in os.listdir(os.path.join(tmp, d)):
        if f == "manifest" or f.endswith(".job"):
            shutil.copy(os.path.join(tmp, d, f), dst)
    return dst


def check_identical(tmp, d):
    for i, name in enumerate(POINTS):
        got = rows(os.path.join(d, f"point-{i}.jsonl"))
        assert got == rows(os.path.join(tmp, f"k{i}.jsonl")), name
        assert all(r["run"] == name for r in got)
        assert read(os.path.join(d, f"point-{i}.policy")) == \
            read(os.path.join(tmp, f"k{i}.policy")), name


def mpirun(tmp, d, np):
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    p = subprocess.run([MPIRUN, *MPI_FLAGS, "-np", str(np), kernel_binary(), "worker", d],
                       cwd=tmp, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, **MPI_ENV))
    if "built without MPI" in p.stderr:
        pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_mpirun_farm_np3_is_bit_identical(job):
    tmp, d = job
    dst = fresh_copy(tmp, d, "np3")
    out = mpirun(tmp, dst, 3)
    assert f"worker: {dst}: 4 points on 3 ranks (rank 0 hands them out and runs them too)\n" \
        in out, out
    done = re.findall(r"^worker: point (\d) done on rank ([012]) \((\d) of 4 points done\)$", out,
                      re.M)
    assert sorted(int(p) for p, _, _ in done) == [0, 1, 2, 3], out
    assert [int(k) for _, _, k in done] == [1, 2, 3, 4], out
    for i, name in enumerate(POINTS):  # each point ran once
        assert out.count(f"point {i} ({name}): wrote") == 1, out
    check_identical(tmp, dst)


def test_mpirun_one_rank_runs_every_point(job):
    tmp, d = job
    dst = fresh_copy(tmp, d, "np1")
    out = mpirun(tmp, dst, 1)
    assert f"worker: {dst}: 4 points on 1 rank\n" in out, out
    assert "worker: 4 of 4 points done" in out, out
    check_identical(tmp, dst)


def test_without_mpirun_runs_every_point_in_one_process(job):
    tmp, d = job
    dst = fresh_copy(tmp, d, "seq")
    p = subprocess.run([kernel_binary(), "worker", dst], cwd=tmp, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"worker: {dst}: 4 points in this process\n" in p.stdout, p.stdout
    assert [f"worker: {i} of 4 points done" in p.stdout for i in range(1, 5)] == [True] * 4
    check_identical(tmp, dst)


def test_failing_point_fails_the_run_and_keeps_the_others(job):
    """A corrupt line of point 2: the farm reports it failed and the others are written."""
    tmp, d = job
    dst = fresh_copy(tmp, d, "bad")
    path = os.path.join(dst, "manifest")
    data = bytearray(read(path))
    lines = data.split(b"\n")
    at = sum(len(ln) + 1 for ln in lines[:3]) + 300  # line 4: point 2
    data[at] = ord("B") if data[at] != ord("B") else ord("C")
    with open(path, "wb") as f:
        f.write(data)
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    p = subprocess.run([MPIRUN, *MPI_FLAGS, "-np", "3", kernel_binary(), "worker", dst],
                       cwd=tmp, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, **MPI_ENV))
    if "built without MPI" in p.stderr:
        pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
    assert p.returncode != 0
    assert re.search(r"manifest: line 4: point 2: ", p.stderr), p.stderr
    assert re.search(r"^worker: point 2 failed on rank [12] ", p.stdout, re.M), p.stdout
    assert not os.path.exists(os.path.join(dst, "point-2.jsonl"))
    for i in (0, 1, 3):
        assert read(os.path.join(dst, f"point-{i}.policy")) == \
            read(os.path.join(tmp, f"k{i}.policy"))


# ---- %executor mpi np=N: the kernel starts mpirun and stores the points' results ----

POLICY2 = """%%policy more
from = base
sft_steps = 5
lr = 2e-3
seed = [1, 2]
"""
RL2 = RL.replace("from = base\n", "from = more\n")
ALL = ([f"base[seed={s}]" for s in (1, 2)] + [f"more[seed={s}]" for s in (1, 2)] +
       [n.replace("tuned[", "tuned[") for n in POINTS])


def cells(executor):
    """A %%policy sweep, a %%policy sweep copying it (with its Adam state), a %%rl sweep
    from those, under executor; every point exported and saved."""
    text = SETUP + "# %%\n" + executor + "\n# %%\n" + POLICY + "# %%\n" + POLICY2 + "# %%\n" + RL2
    for i, name in enumerate(ALL):
        text += f"# %%\n%export e{i}.jsonl {name}\n# %%\n%save {name} e{i}.policy\n"
    return text + "# %%\n%runs\n"


def run_kernel(tmp, text):
    path = os.path.join(tmp, "cells.rlhf")
    with open(path, "w") as f:
        f.write(text)
    env = dict(os.environ, RLHF_PROGRESS_SECONDS="0", **MPI_ENV)
    return subprocess.run([kernel_binary(), "run", path], env=env, timeout=600, cwd=tmp,
                          capture_output=True, text=True)


@pytest.mark.parametrize("hosts", [False, True])
def test_six_point_sweep_on_three_ranks_is_the_threads_executors(hosts):
    """The issue's test: a 6-point %%rl sweep under `%executor mpi np=3` gives the exports,
    policy files, chart and summary of `%executor threads`, every point trained once; also
    through a hostfile (`hosts=FILE`: mpirun --hostfile, here "localhost slots=3")."""
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    def cells(executor):
        text = SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") + "# %%\n" + executor + \
            "\n# %%\n" + RL6
        return text + "".join(f"# %%\n%export e{i}.jsonl {n}\n# %%\n%save {n} e{i}.policy\n"
                              for i, n in enumerate(RL6_POINTS))
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        pt = run_kernel(a, cells("%executor threads"))
        assert pt.returncode == 0, pt.stdout + pt.stderr
        if hosts:
            with open(os.path.join(b, "hosts.txt"), "w") as f:
                f.write("localhost slots=3\n")
        pm = run_kernel(b, cells("%executor mpi np=3" + (" hosts=hosts.txt" if hosts else "")))
        if "built without MPI" in pm.stderr:
            pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
        assert pm.returncode == 0, pm.stdout + pm.stderr
        via = " --hostfile hosts.txt" if hosts else ""
        assert re.search(rf"^%%rl tuned: 6 points written to (jobs/tuned-\S+)\nmpirun{via} -np 3 "
                         r"rlhf-kernel worker \1\n", pm.stdout, re.M), pm.stdout
        for i, name in enumerate(RL6_POINTS):
            assert rows(os.path.join(b, f"e{i}.jsonl")) == rows(os.path.join(a, f"e{i}.jsonl")), \
                name
            assert read(os.path.join(b, f"e{i}.policy")) == read(os.path.join(a, f"e{i}.policy")), \
                name
            assert pm.stdout.count(f"policy {name}: ") == 1, pm.stdout

        def shown(s):
            seg = s[s.index("%%rl tuned: grpo"):]
            return seg[:seg.index("policy tuned[")].splitlines()
        assert shown(pm.stdout) == shown(pt.stdout), pm.stdout


def test_executor_mpi_cells_end_as_under_threads():
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        pt = run_kernel(a, cells("%executor threads"))
        assert pt.returncode == 0, pt.stdout + pt.stderr
        pm = run_kernel(b, cells("%executor mpi np=2"))
        if "built without MPI" in pm.stderr:
            pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
        assert pm.returncode == 0, pm.stdout + pm.stderr
        out = pm.stdout
        assert "executor mpi np=2 mpirun=mpirun dir=jobs\n" in out, out
        for cell, n in (("base", 2), ("more", 2), ("tuned", 4)):
            m = re.search(rf"^%%(?:policy|rl) {cell}: {n} points written to (jobs/{cell}-\S+)\n"
                          rf"mpirun -np 2 rlhf-kernel worker \1\n", out, re.M)
            assert m, out
            assert "worker: " not in out  # progress lines are for terminals: the chart shows it
        for i, name in enumerate(ALL):
            assert rows(os.path.join(b, f"e{i}.jsonl")) == rows(os.path.join(a, f"e{i}.jsonl")), \
                name
            assert read(os.path.join(b, f"e{i}.policy")) == read(os.path.join(a, f"e{i}.policy")), \
                name
        # the same chart (its progress line too) and summary table as the threads
        # executor's: the points' runs streamed back are the runs
        def shown(s):
            seg = s[s.index("%%rl tuned: grpo"):s.index("policy tuned[")]
            return seg.splitlines()
        assert shown(out) == shown(pt.stdout), out
        # the same runs, finished, in the same order (the final %runs table's names and
        # statuses; its numbers are the exports' above)
        def runs(s):
            table = s[s.rindex("saved policy"):]
            return re.findall(r"^(\S+\[\S+\])\s+(finished|failed|interrupted)\s", table, re.M)
        assert runs(out) == runs(pt.stdout) and len(runs(out)) == len(ALL), out


def test_executor_mpi_settings_and_errors():
    with tempfile.TemporaryDirectory() as tmp:
        p = run_kernel(tmp, '%executor mpi np=3 mpirun="/bin/no-such-mpirun" hosts=h.txt '
                       'dir=out\n# %%\n%executor\n')
        if "built without MPI" in p.stderr:
            pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
        assert p.returncode == 0, p.stderr
        assert p.stdout.count("executor mpi np=3 mpirun=/bin/no-such-mpirun hosts=h.txt dir=out\n") \
            == 2, p.stdout
        p = run_kernel(tmp, "%executor mpi\n")
        assert p.returncode == 1 and "%executor mpi needs np=N" in p.stderr, p.stderr
        p = run_kernel(tmp, "%executor mpi np=0\n")
        assert p.returncode == 1 and "np must be a number of ranks from 1 to 4096" in p.stderr
        p = run_kernel(tmp, SETUP + "# %%\n" + POLICY + "# %%\n"
                       '%executor mpi np=2 mpirun="/bin/no-such-mpirun"\n# %%\n' + RL)
        assert p.returncode == 1
        assert "%executor mpi: cannot start '/bin/no-such-mpirun'" in p.stderr, p.stderr


def rank_pids(marker, ranks_only=False):
    """The pids of processes whose command line holds marker (bytes); ranks_only: not
    mpirun's own."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    c = f.read()
            except OSError:
                continue
            if marker in c and not (ranks_only and c.startswith(b"mpirun")):
                out.append(int(pid))
    return out


def test_executor_mpi_interrupt_stops_every_rank_and_keeps_the_partial_run():
    """SIGINT to a headless run (the kernel's interrupt flag) mid-point: SIGTERM to
    mpirun's local ranks (its children), which stop at their next step, write the partial
    run (stored by the cell as interrupted) and end the farm; once they are gone mpirun's
    group gets SIGKILL (it has nothing left to do; else SIGTERM after 1 s, SIGKILL after
    5 s).  Every rank is gone within 1 s, mpirun too (measured: 0.17 s and 0.19 s on a
    2-core machine; the assertion on mpirun leaves 2 s for a loaded sanitizer build)."""
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    slow = RL.replace("steps = 3", "steps = 200000").replace("batch = 4", "batch = 64") \
        .replace("group = 4", "group = 8")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cells.rlhf")
        with open(path, "w") as f:
            f.write(SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") +
                    "# %%\n%executor mpi np=2 dir=irq\n# %%\n" + slow)
        env = dict(os.environ, RLHF_PROGRESS_SECONDS="0", **MPI_ENV)
        p = subprocess.Popen([kernel_binary(), "run", path], env=env, cwd=tmp, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        marker = b"worker\0irq/tuned-"
        t0 = time.monotonic()
        while len(rank_pids(marker)) < 2 and time.monotonic() - t0 < 60 and p.poll() is None:
            time.sleep(0.05)
        if p.poll() is not None:
            out, err = p.communicate()
            if "built without MPI" in err:
                pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
            pytest.fail(out + err)
        time.sleep(1.5)  # inside point 0's training
        os.kill(p.pid, signal.SIGINT)
        t1 = time.monotonic()
        ranks_gone = None
        while rank_pids(marker) and time.monotonic() - t1 < 10:
            if ranks_gone is None and not rank_pids(marker, ranks_only=True):
                ranks_gone = time.monotonic() - t1
            time.sleep(0.01)
        gone = time.monotonic() - t1
        out, err = p.communicate(timeout=60)
        assert not rank_pids(marker), "ranks left running"
        assert ranks_gone is None or ranks_gone < 1, f"ranks: {ranks_gone:.2f} s"
        assert gone < 2, f"{gone:.1f} s"
        assert p.returncode == 1 and "Interrupted: interrupted at step" in err, out + err
        d = re.search(r"written to (irq/tuned-\S+)", out).group(1)
        partial = rows(os.path.join(tmp, d, "point-0.jsonl"))
        assert 0 < len(partial) < 200000
        assert os.path.exists(os.path.join(tmp, d, "point-0.interrupted.policy"))
        assert not os.path.exists(os.path.join(tmp, d, "point-0.policy"))
        assert f"policy {POINTS[0]}: grpo from base on add, reward short (c=0.01), " \
            f"{len(partial)} steps (interrupted)" in out, out


def test_executor_mpi_dead_rank_is_reported_and_the_finished_points_kept():
    """Two quick points (steps=3) and two long ones on np=3: once the quick ones are done,
    the rank training point 2 is killed (SIGKILL; found by its open point-2.run); mpirun
    ends the job, the cell fails naming point 2, that its process died, and mpirun's
    report, and the two finished points are stored as under threads."""
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    mixed = RL.replace("steps = 3", "steps = [3, 200000]").replace("lr = [1e-3, 3e-3]",
                                                                  "lr = 1e-3") \
        .replace("batch = 4", "batch = 64").replace("group = 4", "group = 8")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cells.rlhf")
        with open(path, "w") as f:
            f.write(SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "") +
                    "# %%\n%executor mpi np=3 dir=dead\n# %%\n" + mixed)
        env = dict(os.environ, RLHF_PROGRESS_SECONDS="0", **MPI_ENV)
        p = subprocess.Popen([kernel_binary(), "run", path], env=env, cwd=tmp, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        marker = b"worker\0dead/tuned-"
        t0 = time.monotonic()
        while (len(rank_pids(marker)) < 3 or not glob_one(tmp, "dead/tuned-*/point-1.policy")) \
                and time.monotonic() - t0 < 60 and p.poll() is None:
            time.sleep(0.05)
        if p.poll() is not None:
            out, err = p.communicate()
            if "built without MPI" in err:
                pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
            pytest.fail(out + err)
        time.sleep(0.5)
        victim = [pid for pid in rank_pids(marker, ranks_only=True) if writes(pid, "point-2.run")]
        assert len(victim) == 1, victim
        os.kill(victim[0], signal.SIGKILL)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1, out + err
        assert re.search(r"run 'tuned\[steps=200000,seed=1\]' failed: point 2 failed on its MPI "
                         r"rank: its process died \(mpirun exited with status \d+: "
                         r".*(Killed|signal 9)", err), err
        for i in (0, 1):
            name = f"tuned[steps=3,seed={i + 1}]"
            assert f"policy {name}: grpo from base on add, reward short (c=0.01), 3 steps\n" in out


def writes(pid, name):
    """Has process pid a file named name open?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").endswith("/" + name):
                return True
        except OSError:
            pass
    return False


def glob_one(tmp, pattern):
    import glob
    return glob.glob(os.path.join(tmp, pattern))


def test_executor_mpi_in_a_jupyter_kernel(new_kernel, monkeypatch):
    """The same under the Jupyter kernel (its threads and signal handling): a sweep under
    `%executor mpi np=2` stores its runs; an interrupt_request during a long MPI cell stops
    every rank, answers Interrupted and leaves the kernel healthy."""
    if MPIRUN is None:
        pytest.skip("mpirun is absent (Debian: openmpi-bin, libopenmpi-dev; tools/install-deps)")
    from conftest import stream_text
    for key, v in MPI_ENV.items():
        monkeypatch.setenv(key, v)
    k = new_kernel()
    with tempfile.TemporaryDirectory() as tmp:
        setup = SETUP + "# %%\n" + POLICY.replace("seed = [1, 2]\n", "")
        for cell in setup.split("# %%\n"):
            rep, _ = k.execute(cell)
            assert rep["content"]["status"] == "ok", rep["content"]
        rep, msgs = k.execute(f'%executor mpi np=2 dir="{tmp}/j"')
        if rep["content"]["status"] != "ok" and "built without MPI" in str(rep["content"]):
            pytest.skip("rlhf-kernel was built without MPI (meson option mpi)")
        assert rep["content"]["status"] == "ok", rep["content"]
        # the setting, as typed, in the output's metadata (which the notebook keeps)
        line = f"executor mpi np=2 mpirun=mpirun dir={tmp}/j"
        shows = [m["content"] for m in msgs if m["msg_type"] == "display_data"]
        assert [c["data"]["text/plain"] for c in shows] == [line + "\n"], shows
        assert shows[0]["metadata"] == {"rlhf-kernel": {"executor": line}}, shows
        rep, msgs = k.execute(RL)
        assert rep["content"]["status"] == "ok", rep["content"]
        text = stream_text(msgs)
        assert "worker: " not in text, text
        charts = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data") and
                  "rlhf-train" in str(m["content"].get("transient", {}))]
        assert charts, [m["msg_type"] for m in msgs]
        for m in charts:  # every frame says where its points ran
            meta = m["content"]["metadata"]["rlhf-kernel"]
            assert meta["executor"] == line and meta["job_dir"].startswith(f"{tmp}/j/tuned-"), meta
        rep, msgs = k.execute("%runs")
        shown = "\n".join(m["content"].get("data", {}).get("text/plain", "")
                          for m in msgs if m["msg_type"] in ("display_data", "execute_result"))
        shown += stream_text(msgs)
        assert all(re.search(rf"^{re.escape(n)}\s+finished\s", shown, re.M) for n in POINTS), \
            shown
        slow = RL.replace("steps = 3", "steps = 200000").replace("%%rl tuned", "%%rl slow")
        msg_id = k.kc.execute(slow)
        marker = b"worker\0" + tmp.encode() + b"/j/slow-"
        t0 = time.monotonic()
        while len(rank_pids(marker)) < 2 and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        # live: the chart's frames arrive while the ranks train, their progress advancing
        steps, t0 = [], time.monotonic()
        while len(set(steps)) < 3 and time.monotonic() - t0 < 60:
            try:
                m = k.kc.get_iopub_msg(timeout=1)
            except Exception:
                continue
            if m["parent_header"].get("msg_id") != msg_id or \
                    m["msg_type"] != "update_display_data":
                continue
            plain = m["content"]["data"].get("text/plain", "")
            steps += [int(x) for x in re.findall(r"step (\d+)/200000", plain)]
        assert len(set(steps)) >= 3 and steps == sorted(steps) and 0 < steps[-1] < 200000, steps
        assert rank_pids(marker), "the frames came after the ranks ended"
        k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
        rep = k.reply(msg_id, timeout=60)
        assert rep["content"]["status"] == "error" and \
            rep["content"]["ename"] == "Interrupted", rep["content"]
        t1 = time.monotonic()
        while rank_pids(marker) and time.monotonic() - t1 < 10:
            time.sleep(0.02)
        assert not rank_pids(marker), "ranks left running"
        assert k.healthy()
        rep, msgs = k.execute("%executor threads")
        assert rep["content"]["status"] == "ok" and [m["content"]["data"]["text/plain"] for m in msgs
                                                     if m["msg_type"] == "display_data"] == \
            ["executor threads\n"], msgs


def test_bad_line_of_point_0_fails_only_that_point(job):
    """`worker DIR` counts the points from the header: a corrupt line of point 0 fails
    point 0 (naming the line) and the other points still run."""
    tmp, d = job
    dst = fresh_copy(tmp, d, "bad0")
    path = os.path.join(dst, "manifest")
    data = bytearray(read(path))
    at = len(data.split(b"\n")[0]) + 1 + 300  # line 2: point 0
    data[at] = ord("B") if data[at] != ord("B") else ord("C")
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([kernel_binary(), "worker", dst], cwd=tmp, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 1
    assert re.search(r"manifest: line 2: point 0: ", p.stderr), p.stderr
    assert "worker: 4 of 4 points done" in p.stdout, p.stdout
    assert not os.path.exists(os.path.join(dst, "point-0.jsonl"))
    for i in (1, 2, 3):
        assert read(os.path.join(dst, f"point-{i}.policy")) == \
            read(os.path.join(tmp, f"k{i}.policy"))
