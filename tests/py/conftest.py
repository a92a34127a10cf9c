"""Shared fixtures for the Python protocol tests of the rlhf kernel.

- a session-wide kernelspec: `$RLHF_KERNEL install --prefix TMP`, JUPYTER_PATH=TMP/share/jupyter
  (never the real user or system Jupyter dirs), JUPYTER_RUNTIME_DIR in a temp dir too;
- `kernel` (one started KernelManager + BlockingKernelClient per test module) and
  `new_kernel` (a factory for kernels a test may break or shut down);
- helpers to run a cell and collect the IOPub messages of one request until its `idle`;
- `Raw` / `raw`: plain zmq sockets (signed by the kernel manager's Session) whose receives
  return the undecoded frames, for header/signature checks and malformed input;
- report recording, so test_kernel_conformance can check that nothing was skipped.
Kernels are shut down with shutdown_request at teardown and their exit status must be 0
(under ASan a leak report makes it non-zero).

The suite targets the `rlhf` kernel.  For developing the test logic against ipykernel set
RLHF_TEST_KERNEL=python3: every kernel-specific code snippet comes from the table `SNIPPETS`
(only the snippets differ; the assertions are the same).  Leaves out: nothing kernel-specific
beyond the snippets.
"""
import os
import queue
import shutil
import subprocess
import tempfile
import time

import pytest
from jupyter_client import KernelManager

KERNEL_NAME = os.environ.get("RLHF_TEST_KERNEL", "rlhf")
TIMEOUT = 10

# Code snippets per kernel: the same tests run against ipykernel while they are developed.
SNIPPETS = {
    "rlhf": {
        "hello": "%echo hello, world",
        "echo": lambda text: f"%echo {text}",
        "stderr": "%echo --stderr oops-stderr",
        "error": "%nosuchmagic",
        "error_ename": None,  # any ename; evalue checked separately
        "result": ("(7 - 2) * 3", "15"),
        "sleep10": "%sleep 10",
        "interrupted_ename": "Interrupted",
        "display": lambda text, did=None, update=False: (
            "%display" + (f" --id={did}" if did else "") + (" --update" if update else "")
            + f" {text}"),
        "input": lambda prompt: f"%input {prompt}",
        "noop": "# noop",
        "lsm_complete": ("%lsm", ["%lsmagic"]),
    },
    "python3": {
        "hello": "print('hello, world')",
        "echo": lambda text: f"print({text!r})",
        "stderr": "import sys; print('oops-stderr', file=sys.stderr)",
        "error": "raise ValueError('boom')",
        "error_ename": "ValueError",
        "result": ("(7 - 2) * 3", "15"),
        "sleep10": "import time; time.sleep(10)",
        "interrupted_ename": "KeyboardInterrupt",
        "display": lambda text, did=None, update=False: (
            "from IPython.display import display, update_display\n"
            + (f"update_display({text!r}, display_id={did!r})" if update else
               f"display({text!r}" + (f", display_id={did!r}" if did else "") + ")")),
        "input": lambda prompt: f"print(input({prompt!r}))",
        "noop": "pass",
        "lsm_complete": ("zi", ["zip"]),
    },
}
S = SNIPPETS[KERNEL_NAME]


def kernel_binary():
    """The built rlhf-kernel: $RLHF_KERNEL (set by meson), else a build dir of the tree."""
    env = os.environ.get("RLHF_KERNEL")
    if env:
        return os.path.abspath(env)
    root = os.environ.get("RLHF_SOURCE_ROOT",
                          os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    cands = [os.path.join(os.environ.get("RLHF_BUILD_ROOT", ""), "rlhf-kernel")] if \
        os.environ.get("RLHF_BUILD_ROOT") else []
    cands += [os.path.join(root, d, "rlhf-kernel") for d in ("build-kt", "build")]
    for c in cands:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    pytest.exit("rlhf-kernel binary not found: set RLHF_KERNEL", returncode=2)


@pytest.fixture(scope="session", autouse=True)
def kernelspec():
    """Install the kernelspec into a temp prefix; returns the spec directory."""
    tmp = tempfile.mkdtemp(prefix="rlhf-kt-")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR",
                                             "JUPYTER_DATA_DIR")}
    runtime = os.path.join(tmp, "runtime")
    os.makedirs(runtime)
    os.environ["JUPYTER_RUNTIME_DIR"] = runtime
    os.environ["JUPYTER_DATA_DIR"] = os.path.join(tmp, "data")
    if KERNEL_NAME == "rlhf":
        prefix = os.path.join(tmp, "prefix")
        r = subprocess.run([kernel_binary(), "install", "--prefix", prefix],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"install failed: {r.stdout}{r.stderr}"
        os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")
        spec_dir = os.path.join(prefix, "share", "jupyter", "kernels", "rlhf")
    else:
        spec_dir = os.path.join("/usr/share/jupyter/kernels", KERNEL_NAME)
    yield spec_dir
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    shutil.rmtree(tmp, ignore_errors=True)


class Kernel:
    """A started kernel: km (KernelManager), kc (BlockingKernelClient, channels started)."""

    def __init__(self):
        self.km = KernelManager(kernel_name=KERNEL_NAME)
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=30)
        except Exception:
            self.close()
            raise

    @property
    def pid(self):
        return self.km.provisioner.pid if self.km.provisioner else self.km.kernel.pid

    def close(self):
        """Graceful shutdown (shutdown_request); returns the kernel's exit status (None if it
        had to be killed or was gone already).  Under ASan a leak makes it non-zero."""
        rc = None
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                proc = self.km.provisioner.process if self.km.provisioner else None
                alive = self.km.is_alive()
                self.km.shutdown_kernel(now=not alive)
                if alive and proc is not None:
                    rc = proc.wait(timeout=10)
        return rc

    # -- helpers ---------------------------------------------------------------------------
    def flush(self, t=0.05):
        """Drop whatever is queued on shell and iopub (messages of earlier requests)."""
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg, self.kc.get_stdin_msg):
            while True:
                try:
                    get(timeout=t)
                except queue.Empty:
                    break

    def sync(self, timeout=TIMEOUT):
        """Reads this client's IOPub up to a marker published now: IOPub is in order, so
        every message published before the marker has been consumed.  The kernel's PUB
        never drops silently (ZMQ_XPUB_NODROP, krn_iopub.h): while this subscriber lags, the
        kernel queues what it has not read and, past the queue's soft bound, drops status,
        execute_input and stream messages for every subscriber, so a client connecting
        then gets no status until this one has read the backlog (a plain flush stops at
        the first 50 ms gap).  The marker is display_data, which is never dropped (status
        would be); ipykernel, whose PUB drops per subscriber, syncs on kernel_info."""
        if KERNEL_NAME != "rlhf":
            msg_id = self.kc.kernel_info()
            collect_iopub(self.kc, msg_id, timeout)
            self.reply(msg_id, timeout)
            return
        msg_id = self.kc.execute("%display sync-marker", store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("sync: the marker never arrived on IOPub")
            try:
                m = self.kc.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            if (m["parent_header"].get("msg_id") == msg_id
                    and m["msg_type"] == "display_data"):
                break
        self.reply(msg_id, timeout)
        self.flush()

    def reply(self, msg_id, timeout=TIMEOUT, channel="shell"):
        """The reply to msg_id on shell or control (other replies are skipped)."""
        get = self.kc.get_shell_msg if channel == "shell" else self.kc.get_control_msg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {channel} reply to {msg_id}")
            m = get(timeout=left)
            if m["parent_header"].get("msg_id") == msg_id:
                return m

    def iopub(self, msg_id, timeout=TIMEOUT):
        return collect_iopub(self.kc, msg_id, timeout)

    def execute(self, code, timeout=TIMEOUT, **kw):
        """Run a cell; returns (execute_reply, [iopub msgs of this request incl. status])."""
        msg_id = self.kc.execute(code, **kw)
        rep = self.reply(msg_id, timeout)
        return rep, self.iopub(msg_id, timeout)

    def healthy(self, timeout=5):
        """kernel_info answered on shell and the heartbeat echoes."""
        msg_id = self.kc.kernel_info()
        rep = self.reply(msg_id, timeout)
        assert rep["msg_type"] == "kernel_info_reply"
        self.iopub(msg_id, timeout)
        return heartbeat_ok(self.km)


def collect_iopub(kc, msg_id, timeout=TIMEOUT):
    """IOPub messages whose parent is msg_id, up to and including status idle."""
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no idle for {msg_id}; got {[m['msg_type'] for m in out]}")
        try:
            m = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return out


def outputs(msgs):
    """The output messages (no status, no execute_input)."""
    return [m for m in msgs if m["msg_type"] not in ("status", "execute_input")]


def sanitized_kernel():
    """1 if the kernel under test is an AddressSanitizer build (its allocator keeps freed
    memory in a quarantine, and everything runs 2-3x slower): memory and latency bounds
    that describe the plain build are checked only there."""
    exe = os.environ.get("RLHF_KERNEL", "")
    if not exe:
        return 0
    out = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    return int("libasan" in out)


def stream_text(msgs, name="stdout"):
    return "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream" and m["content"]["name"] == name)


def ok(k, code, timeout=120):
    """Runs a cell that must succeed (training cells may take a while); its iopub msgs."""
    rep, msgs = k.execute(code, timeout=timeout)
    assert rep["content"]["status"] == "ok", (code, rep["content"])
    return msgs


def who(k):
    """The %who listing (to check that a failing cell changed nothing)."""
    return stream_text(outputs(ok(k, "%who")))


def heartbeat_ok(km, timeout=2.0):
    """Send a ping on a fresh REQ socket to the heartbeat port; True if it is echoed."""
    import zmq
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.linger = 0
    try:
        s.connect(f"{km.transport}://{km.ip}:{km.hb_port}" if km.transport == "tcp"
                  else f"ipc://{km.ip}-{km.hb_port}")
        payload = b"ping-%d" % time.monotonic_ns()
        s.send(payload)
        if not s.poll(int(timeout * 1000)):
            return False
        return s.recv() == payload
    finally:
        s.close(linger=0)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    yield k
    rc = k.close()
    assert rc in (0, None), f"kernel exit status {rc} after shutdown_request"


@pytest.fixture
def new_kernel():
    made = []

    def make():
        k = Kernel()
        made.append(k)
        return k
    yield make
    rcs = [k.close() for k in made]
    assert all(rc in (0, None) for rc in rcs), f"kernel exit status {rcs} after shutdown_request"


# -- report recording (test_kernel_conformance checks that nothing was skipped) -----------
_REPORTS = []


def pytest_configure(config):
    config._rlhf_reports = _REPORTS


def pytest_runtest_logreport(report):
    """Every report, subtest reports (pytest-subtests) included."""
    _REPORTS.append({"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
                     "subtest": type(report).__name__ == "SubTestReport",
                     "context": str(getattr(report, "context", ""))})


class Raw:
    """Plain zmq sockets to a started kernel (km), messages signed by km.session; receives
    return the frames undecoded (raw JSON bytes) so tests see exactly what was sent."""

    def __init__(self, km):
        import zmq
        self.zmq = zmq
        self.km = km
        self.session = km.session
        self.shell = km.connect_shell()
        self.control = km.connect_control()
        self.iopub = km.connect_iopub()
        self.socks = [self.shell, self.control, self.iopub]
        self.sync_iopub()

    def send(self, sock, msg_type, content=None, **kw):
        msg = self.session.msg(msg_type, content if content is not None else {}, **kw)
        self.session.send(sock, msg)
        return msg

    def recv(self, sock, timeout=TIMEOUT):
        """-> dict(frames, idents, signature, header, parent, metadata, content, raw) or None"""
        import json
        if not sock.poll(int(timeout * 1000)):
            return None
        frames = sock.recv_multipart()
        i = frames.index(b"<IDS|MSG>")
        parts = frames[i + 2:i + 6]
        return {"frames": frames, "idents": frames[:i], "signature": frames[i + 1],
                "raw": parts, "header": json.loads(parts[0]), "parent": json.loads(parts[1]),
                "metadata": json.loads(parts[2]), "content": json.loads(parts[3]),
                "msg_type": json.loads(parts[0]).get("msg_type")}

    def reply(self, sock, msg_id, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(sock, deadline - time.monotonic())
            if m is None:
                break
            if m["parent"].get("msg_id") == msg_id:
                return m
        raise TimeoutError(f"no reply to {msg_id}")

    def collect(self, msg_id, timeout=TIMEOUT):
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(self.iopub, deadline - time.monotonic())
            if m is None:
                break
            if m["parent"].get("msg_id") != msg_id:
                continue
            out.append(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return out
        raise TimeoutError(f"no idle for {msg_id}: {[m['msg_type'] for m in out]}")

    def sync_iopub(self, timeout=20):
        """kernel_info until both the reply and iopub arrive (SUB subscriptions propagate
        asynchronously: earlier iopub messages are lost), then drain."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send(self.shell, "kernel_info_request")
            if self.shell.poll(1000):
                self.shell.recv_multipart()
                if self.iopub.poll(300):
                    self.drain()
                    return
        raise TimeoutError("iopub never delivered")

    def drain(self, t=0.1):
        for s in self.socks:
            while s.poll(int(t * 1000)):
                s.recv_multipart()

    def alive(self, timeout=5):
        """kernel_info answered (with busy/idle) and heartbeat echoed."""
        msg = self.send(self.shell, "kernel_info_request")
        rep = self.reply(self.shell, msg["header"]["msg_id"], timeout)
        assert rep["msg_type"] == "kernel_info_reply"
        self.collect(msg["header"]["msg_id"], timeout)
        return heartbeat_ok(self.km)

    def close(self):
        for s in self.socks:
            s.close(linger=0)


@pytest.fixture
def raw(kernel):
    kernel.sync()  # the shared client read everything earlier tests made the kernel publish
    r = Raw(kernel.km)
    yield r
    r.close()
