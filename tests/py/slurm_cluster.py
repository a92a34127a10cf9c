"""A private single-node Slurm for the tests (tests/py/test_slurm_real.py): Debian 12's
slurm-wlm 22.05 and munge 0.5, started for the test session and stopped afterwards.

Everything the cluster is configured by or writes lives in one temporary directory, none
of it in /etc, /run or /var: slurm.conf, named by SLURM_CONF (the daemons and every Slurm
command the tests or the kernel run read it; sbatch passes the environment on to the job,
so srun in submit.sh reads it too), the state and spool directories, pid files, logs, the
job completion log (jobcomp/filetxt: each array task's start, end and state), and
munged's key, socket, pid, seed and log (AuthInfo=socket=... makes Slurm use that munged,
for authentication and job credentials).  The ports (SlurmctldPort, SlurmdPort) are free
ones picked at run time, and the cluster has its own name, so a system Slurm or munged on
the same machine, or another test session's cluster, is neither used nor disturbed (both
tried: with the system's slurmctld, slurmd and munged running, and two sessions at once).
The node is this host (`hostname -s`, address 127.0.0.1) with os.cpu_count() CPUs, in
partition `debug`.

The daemons run in the foreground as children of the test process, which makes itself a
child subreaper (prctl PR_SET_CHILD_SUBREAPER) so that what they leave behind (slurmstepd,
the job's processes) becomes its child too: at the end every such process is killed by
its pid and reaped, and none is left on the machine.

Slurm's daemons need root (slurmd starts job steps as the job's user).  Not root, or
slurmctld, slurmd, munged or the commands missing, or a daemon that does not start or a
node that is not idle within STARTUP_SECONDS: the tests SKIP with the reason (and the
daemons' logs) -- but under CI (the environment variable CI set and not "false") or with
RLHF_REQUIRE_SLURM=1 they FAIL, since CI installs the packages (tools/debian-packages.txt)
and runs as root, so a skip there would hide a broken install (tools/aarch64-golden does
the same for its toolchain)."""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

STARTUP_SECONDS = 30
# scancel sends SIGTERM to the job's processes, SIGKILL KILL_WAIT seconds later (slurm.conf
# KillWait; Slurm's default is 30)
KILL_WAIT = 5
PARTITION = "debug"
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scancel", "squeue", "sinfo")


def required():
    """Must the real Slurm run here (CI, or RLHF_REQUIRE_SLURM=1)?"""
    ci = os.environ.get("CI", "")
    return os.environ.get("RLHF_REQUIRE_SLURM") == "1" or (ci != "" and ci != "false")


def unavailable(reason):
    """Skip, or fail where Slurm is required."""
    if required():
        pytest.fail(f"a real Slurm is required here (CI={os.environ.get('CI', '')} "
                    f"RLHF_REQUIRE_SLURM={os.environ.get('RLHF_REQUIRE_SLURM', '')}) but "
                    f"{reason}", pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(name):
    """name in PATH or in /usr/sbin (daemons; PATH may lack the sbin directories)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")


class Cluster:
    """A running private cluster: env (os.environ plus SLURM_CONF) for anything that talks
    to it, node, cpus, dir (the temporary directory), logs() (the daemons' logs)."""

    def __init__(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="rlhf-slurm-"))
        # munged wants every directory above its socket searchable by all
        os.chmod(self.dir, 0o755)
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.procs = []  # (name, Popen), in start order

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def logs(self):
        """The last lines of every log of the cluster (but the state files a first start
        lacks), for a failure message."""
        out = []
        for name in sorted(os.listdir(self.path("log"))):
            with open(self.path("log", name), errors="replace") as f:
                lines = [x for x in f.read().splitlines()
                         if "state file" not in x and "Trying backup state" not in x][-20:]
            out.append(f"--- {name} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(out)

    def write_conf(self):
        for d in ("munge", "state", "spool", "log"):
            os.makedirs(self.path(d), mode=0o755, exist_ok=True)
        with open(self.path("munge", "munge.key"), "wb") as f:  # munged: 0600, its owner's
            os.fchmod(f.fileno(), 0o600)
            f.write(os.urandom(128))
        conf = f"""# a private single-node Slurm for the tests (tests/py/slurm_cluster.py)
ClusterName=rlhftest{os.getpid()}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.path("munge", "munge.sock")}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("log", "slurmctld.log")}
SlurmdLogFile={self.path("log", "slurmd.log")}
PlugStackConfig={self.path("plugstack.conf")}
MailProg=/bin/true
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.path("jobcomp.txt")}
ReturnToService=2
SlurmdParameters=config_overrides
KillWait={KILL_WAIT}
MinJobAge=60
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        open(self.path("plugstack.conf"), "w").close()  # no SPANK plugins (not /etc's)

    def start(self, name, argv):
        with open(self.path("log", f"{name}.out"), "wb") as out:
            p = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, p))
        return p

    def wait_for(self, what, ok, deadline):
        """Polls ok() until it is true; a daemon that exits, or the deadline, is an error."""
        while not ok():
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {p.returncode} while "
                                       f"waiting for {what}")
            if time.time() > deadline:
                raise RuntimeError(f"no {what} after {STARTUP_SECONDS} s")
            time.sleep(0.2)

    def node_state(self):
        p = subprocess.run(["sinfo", "-h", "-n", self.node, "-o", "%T"], env=self.env,
                           capture_output=True, text=True, timeout=30)
        return p.stdout.strip() if p.returncode == 0 else ""

    def up(self):
        """Writes the configuration and starts munged, slurmctld and slurmd; returns when
        sinfo shows the node idle (RuntimeError otherwise)."""
        self.write_conf()
        deadline = time.time() + STARTUP_SECONDS
        sock = self.path("munge", "munge.sock")
        self.start("munged", [find("munged"), "--foreground", f"--socket={sock}",
                              f"--key-file={self.path('munge', 'munge.key')}",
                              f"--pid-file={self.path('munge', 'munged.pid')}",
                              f"--seed-file={self.path('munge', 'munged.seed')}",
                              f"--log-file={self.path('log', 'munged.log')}"])
        self.wait_for("munged socket", lambda: os.path.exists(sock), deadline)
        self.start("slurmctld", [find("slurmctld"), "-D", "-i"])
        self.start("slurmd", [find("slurmd"), "-D"])
        self.wait_for(f"idle node {self.node} in sinfo", lambda: self.node_state() == "idle",
                      deadline)

    def down(self):
        """Cancels what still runs, stops the daemons (slurmd, slurmctld, munged), then kills
        and reaps whatever they left (our children by the subreaper)."""
        if any(n == "slurmctld" and p.poll() is None for n, p in self.procs):
            try:
                subprocess.run(["scancel", "--full", "--user", "root"], env=self.env,
                               capture_output=True, timeout=30)
                end = time.time() + KILL_WAIT + 5
                while time.time() < end and subprocess.run(
                        ["squeue", "-h"], env=self.env, capture_output=True, text=True,
                        timeout=30).stdout.strip():
                    time.sleep(0.2)
            except (OSError, subprocess.SubprocessError):
                pass  # the daemons are stopped below all the same
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for pid in orphans():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()

    def jobcomp(self, job):
        """The records of job's array tasks in the cluster's job completion log
        (JobCompType=jobcomp/filetxt: a line of KEY=VALUE per job that ended), each a dict."""
        path = self.path("jobcomp.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            recs = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in f]
        return [r for r in recs if r.get("ArrayJobId") == str(job)]

    def squeue(self, job):
        """The job's array tasks still in squeue (pending, running or completing)."""
        p = subprocess.run(["squeue", "-h", "-r", "-j", str(job), "-o", "%i %T"], env=self.env,
                           capture_output=True, text=True, timeout=30)
        return p.stdout.split("\n") if p.stdout.strip() else []


def become_subreaper():
    PR_SET_CHILD_SUBREAPER = 36
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def orphans():
    """Pids of this process's children: once the daemons are reaped, what was re-parented
    to us, the subreaper (slurmstepd and what it started)."""
    me, out = os.getpid(), []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == me:
            out.append(int(e))
    return out


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@pytest.fixture(scope="session")
def slurm():
    """The running cluster (Cluster) for the whole test session."""
    if os.geteuid() != 0:
        unavailable("slurmctld and slurmd need root to run job steps (run the tests as root)")
    missing = [n for n in PROGRAMS if not find(n)]
    if missing:
        unavailable(f"{', '.join(missing)} not found (Debian: slurm-wlm and munge; "
                    "tools/install-deps installs them)")
    become_subreaper()
    why = ""
    for attempt in (1, 2):  # again with other ports: one may have been taken meanwhile
        c = Cluster()
        try:
            c.up()
            break
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            why += f"\nattempt {attempt}: {e}\n{c.logs()}"
            c.down()
            shutil.rmtree(c.dir, ignore_errors=True)
            c = None
    if c is None:
        unavailable(f"the private Slurm did not start:{why}")
    try:
        yield c
    finally:
        c.down()
        shutil.rmtree(c.dir, ignore_errors=True)
