"""Protocol edges (issue 12, item 7, and the kernel's part of item 5):
- a request whose JSON holds an escaped NUL (\\u0000) in a string is refused with an error
  reply naming the problem (cJSON would cut the string there), and the kernel keeps serving;
- a client that subscribes to IOPub and never reads it cannot grow the kernel's memory
  beyond a documented bound over 10,000 cells (krn_iopub.h: live frames and status/stream
  messages are dropped past KRN_IOPUB_SOFT_BYTES of queue; errors are never dropped);
- SIGTERM during a running cell ends the process cleanly within 200 ms;
- killing the process that launched the kernel (its KernelManager) ends the kernel within
  1 s (JPY_PARENT_PID polling and PR_SET_PDEATHSIG).
Timings are printed; RSS is VmRSS from /proc.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import KERNEL_NAME, S, Raw, sanitized_kernel

rlhf_only = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf-specific")

# Documented bound (DESIGN.md, krn_iopub.h): the IOPub queue keeps at most 4 MiB of
# droppable messages, ZeroMQ at most 256 messages per subscriber; allocator slack on top.
IOPUB_RSS_BOUND_MB = 16


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def gone(pid):
    """True once pid has exited (a zombie waiting for its reaper counts as exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] in ("Z", "X")
    except FileNotFoundError:
        return True
    return False


@rlhf_only
def test_escaped_nul_is_rejected_with_an_error_reply(raw):
    msg = raw.send(raw.shell, "execute_request",
                   {"code": "%echo a\u0000b", "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    mid = msg["header"]["msg_id"]
    assert b"\\u0000" in raw.session.pack(msg["content"])  # the NUL travels escaped
    rep = raw.reply(raw.shell, mid)
    c = rep["content"]
    assert rep["msg_type"] == "execute_reply"
    assert c["status"] == "error"
    assert c["ename"] == "ValueError"
    assert c["evalue"] == ("execute_request rejected: content frame holds a NUL character "
                           "(\\u0000) in a string")
    assert "execution_count" in c and c["payload"] == [] and c["user_expressions"] == {}
    msgs = raw.collect(mid)
    types = [m["msg_type"] for m in msgs]
    assert types == ["status", "error", "status"], types  # nothing ran: no execute_input
    assert msgs[1]["content"]["evalue"] == c["evalue"]
    # other request types get their own error reply
    msg = raw.send(raw.shell, "complete_request", {"code": "%ec\u0000", "cursor_pos": 3})
    rep = raw.reply(raw.shell, msg["header"]["msg_id"])
    assert rep["msg_type"] == "complete_reply" and rep["content"]["status"] == "error"
    raw.collect(msg["header"]["msg_id"])
    # the kernel still serves, and an escaped backslash before u0000 is ordinary text
    msg = raw.send(raw.shell, "execute_request",
                   {"code": "%echo a\\u0000b", "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    rep = raw.reply(raw.shell, msg["header"]["msg_id"])
    assert rep["content"]["status"] == "ok"
    out = raw.collect(msg["header"]["msg_id"])
    assert any(m["msg_type"] == "stream" and "a\\u0000b" in m["content"]["text"] for m in out)
    assert raw.alive()


@rlhf_only
def test_iopub_not_read_memory_is_bounded(new_kernel):
    """10,000 cells while a subscribed client never reads IOPub: the kernel's RSS grows by
    less than IOPUB_RSS_BOUND_MB; an error published meanwhile is delivered once the client
    reads again."""
    k = new_kernel()
    k.kc.stop_channels()  # its iopub would be a second subscriber that never reads
    r = Raw(k.km)  # shell + subscribed iopub; from here on iopub is not read
    try:
        pid = k.pid
        text = "x" * 400
        content = {"code": S["echo"](text), "silent": False, "store_history": False,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
        packed = None

        def run(n):
            nonlocal packed
            for _ in range(n):
                msg = r.session.msg("execute_request", content)
                r.session.send(r.shell, msg)
                if not r.shell.poll(10000):
                    raise TimeoutError("no execute_reply")
                r.shell.recv_multipart()
        t0 = time.perf_counter()
        run(500)  # warm-up: allocator pools, ZeroMQ pipes, TCP buffers fill
        before = rss_kb(pid)
        run(10000)
        after = rss_kb(pid)
        dt = time.perf_counter() - t0
        grow_mb = (after - before) / 1024
        print(f"10,000 cells without reading IOPub: RSS {before / 1024:.1f} -> "
              f"{after / 1024:.1f} MB (+{grow_mb:.1f} MB, bound {IOPUB_RSS_BOUND_MB} MB), "
              f"{dt:.1f} s")
        if not sanitized_kernel():
            assert grow_mb < IOPUB_RSS_BOUND_MB
        # errors are never dropped: this one waits in the queue until the client reads
        msg = r.send(r.shell, "execute_request",
                     {"code": "%nosuchmagic", "silent": False, "store_history": True,
                      "user_expressions": {}, "allow_stdin": False, "stop_on_error": False})
        mid = msg["header"]["msg_id"]
        assert r.reply(r.shell, mid)["content"]["status"] == "error"
        deadline = time.monotonic() + 30
        seen = None
        while time.monotonic() < deadline and seen is None:
            m = r.recv(r.iopub, 5)
            assert m is not None, "iopub went silent before the error arrived"
            if m["msg_type"] == "error" and m["parent"].get("msg_id") == mid:
                seen = m
        assert seen is not None
        assert r.alive()
    finally:
        r.close()


@rlhf_only
def test_sigterm_mid_run_exits_cleanly_fast(new_kernel):
    k = new_kernel()
    k.flush()
    k.kc.execute(S["sleep10"])
    time.sleep(0.3)
    proc = k.km.provisioner.process
    t0 = time.perf_counter()
    os.kill(k.pid, signal.SIGTERM)
    while proc.poll() is None and time.perf_counter() - t0 < 5:
        time.sleep(0.001)
    dt = time.perf_counter() - t0
    print(f"SIGTERM during %sleep 10: exit after {dt * 1e3:.1f} ms, status {proc.returncode}")
    assert proc.returncode == 0
    assert dt < 0.2


LAUNCHER = textwrap.dedent("""
    import sys, time
    from jupyter_client import KernelManager
    km = KernelManager(kernel_name=sys.argv[1])
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    print(km.provisioner.pid, flush=True)
    time.sleep(600)
""")


@rlhf_only
def test_kernel_ends_when_its_launcher_is_killed():
    p = subprocess.Popen([sys.executable, "-c", LAUNCHER, KERNEL_NAME], stdout=subprocess.PIPE,
                         text=True, env=dict(os.environ))
    kpid = None
    try:
        line = p.stdout.readline()
        assert line.strip().isdigit(), f"launcher printed {line!r}"
        kpid = int(line)
        assert not gone(kpid)
        t0 = time.perf_counter()
        p.kill()
        p.wait()
        while not gone(kpid) and time.perf_counter() - t0 < 5:
            time.sleep(0.002)
        dt = time.perf_counter() - t0
        print(f"launcher killed: kernel gone after {dt * 1e3:.1f} ms")
        assert gone(kpid)
        assert dt < 1.0
    finally:
        if p.poll() is None:
            p.kill()
        if kpid and not gone(kpid):
            os.kill(kpid, signal.SIGKILL)
