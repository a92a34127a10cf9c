"""Lifecycle: shutdown_request (control and shell) -> shutdown_reply and process exit in
under a second (measured, printed); KernelManager.restart_kernel gives a new process that
answers; stdin input_request round trip; the installed kernelspec (kernel.json fields, the
three logos with PNG sizes read from IHDR); the CLI's --version/--help and a missing
connection file.
"""
import json
import os
import struct
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import KERNEL_NAME, S, kernel_binary, stream_text

rlhf_only = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf-specific")


def wait_exit(k, timeout=5.0):
    """Seconds until the kernel process exits (None if it did not within timeout)."""
    proc = k.km.provisioner.process
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            return time.perf_counter() - t0
        time.sleep(0.002)
    return None


@pytest.mark.parametrize("channel", ["control", "shell"])
def test_shutdown_request_exits_fast(new_kernel, channel):
    k = new_kernel()
    k.execute(S["echo"]("before-shutdown"))
    msg = k.kc.session.msg("shutdown_request", {"restart": False})
    t0 = time.perf_counter()
    (k.kc.control_channel if channel == "control" else k.kc.shell_channel).send(msg)
    rep = k.reply(msg["header"]["msg_id"], channel=channel)
    t_reply = time.perf_counter() - t0
    assert rep["msg_type"] == "shutdown_reply"
    assert rep["content"]["status"] == "ok"
    assert rep["content"]["restart"] is False
    left = wait_exit(k)
    assert left is not None, "kernel still running 5 s after shutdown_reply"
    total = t_reply + left
    print(f"shutdown via {channel}: reply {t_reply * 1e3:.1f} ms, "
          f"process exit {total * 1e3:.1f} ms after the request")
    assert total < 1.0
    assert k.km.provisioner.process.returncode == 0


def test_shutdown_during_a_long_cell(new_kernel):
    """shutdown_request on control while the shell thread sleeps: reply and exit fast."""
    k = new_kernel()
    k.flush()
    k.kc.execute(S["sleep10"])
    time.sleep(0.2)
    msg = k.kc.session.msg("shutdown_request", {"restart": False})
    t0 = time.perf_counter()
    k.kc.control_channel.send(msg)
    rep = k.reply(msg["header"]["msg_id"], channel="control", timeout=5)
    assert rep["content"]["status"] == "ok"
    left = wait_exit(k)
    assert left is not None, "kernel still running 5 s after shutdown_reply"
    total = time.perf_counter() - t0
    print(f"shutdown during %sleep 10: exit {total * 1e3:.1f} ms after the request")
    assert total < 1.0


@rlhf_only
def test_logs_go_to_stderr_never_stdout(tmp_path):
    """Debug logging on, a session with requests, a bad message and a shutdown: stdout
    stays empty, stderr has the log."""
    from jupyter_client import BlockingKernelClient
    from jupyter_client.connect import write_connection_file
    cf, info = write_connection_file(str(tmp_path / "conn.json"), ip="127.0.0.1")
    p = subprocess.Popen([kernel_binary(), "--log-level", "debug", "-f", cf],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kc = BlockingKernelClient()
    kc.load_connection_file(cf)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=20)
        rep = kc.execute_interactive(S["echo"]("to-iopub-only"), timeout=10)
        assert rep["content"]["status"] == "ok"
        kc.shell_channel.socket.send_multipart([b"<IDS|MSG>", b"bad", b"{}", b"{}", b"{}", b"{}"])
        kc.shutdown()
        out, err = p.communicate(timeout=10)
    finally:
        kc.stop_channels()
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0
    assert out == b"", out[:500]
    assert err.strip(), "no log on stderr at --log-level debug"
    assert b"to-iopub-only" not in out


def test_restart_kernel(new_kernel):
    k = new_kernel()
    old_pid = k.pid
    k.execute(S["echo"]("before-restart"))
    k.km.restart_kernel(now=False)
    assert k.pid != old_pid
    k.kc.wait_for_ready(timeout=30)
    k.flush()
    rep, msgs = k.execute(S["echo"]("after-restart"))
    assert rep["content"]["status"] == "ok"
    assert rep["content"]["execution_count"] == 1, "counter not reset by the restart"
    assert "after-restart" in stream_text(msgs)
    assert k.healthy()


def test_stdin_input_round_trip(kernel):
    kernel.flush()
    msg_id = kernel.kc.execute(S["input"]("name?"), allow_stdin=True)
    req = kernel.kc.get_stdin_msg(timeout=10)
    assert req["msg_type"] == "input_request"
    assert req["parent_header"]["msg_id"] == msg_id
    assert "name?" in req["content"]["prompt"]
    assert req["content"]["password"] is False
    kernel.kc.input("Ada Lovelace é")
    rep = kernel.reply(msg_id)
    assert rep["content"]["status"] == "ok", rep["content"]
    assert "Ada Lovelace é" in stream_text(kernel.iopub(msg_id))


def test_input_without_stdin_is_an_error_not_a_hang(kernel):
    kernel.flush()
    rep, msgs = kernel.execute(S["input"]("name?"), allow_stdin=False, timeout=5)
    assert rep["content"]["status"] == "error"
    assert len([m for m in msgs if m["msg_type"] == "error"]) == 1


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@rlhf_only
def test_kernelspec_contents(kernelspec):
    with open(os.path.join(kernelspec, "kernel.json")) as f:
        spec = json.load(f)
    argv = spec["argv"]
    assert os.path.isabs(argv[0]) and os.access(argv[0], os.X_OK), argv
    assert os.path.samefile(argv[0], kernel_binary())
    assert argv[1:] == ["-f", "{connection_file}"]
    assert spec["display_name"] == "RLHF Lab"
    assert spec["language"] == "rlhf"
    assert spec["interrupt_mode"] == "message"
    assert png_size(os.path.join(kernelspec, "logo-32x32.png")) == (32, 32)
    assert png_size(os.path.join(kernelspec, "logo-64x64.png")) == (64, 64)
    root = ET.parse(os.path.join(kernelspec, "logo-svg.svg")).getroot()
    assert root.tag.endswith("svg")


@rlhf_only
def test_cli_version_help_and_bad_connection_file(tmp_path):
    b = kernel_binary()
    r = subprocess.run([b, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.strip(), r
    r = subprocess.run([b, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "install" in r.stdout, r
    r = subprocess.run([b, "-f", str(tmp_path / "missing.json")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0 and "missing.json" in r.stderr and not r.stdout, r
    bad = tmp_path / "bad.json"
    bad.write_text('{"transport": "tcp", "ip": "127.0.0.1", "signature_scheme": "hmac-md5", '
                   '"key": "k", "shell_port": 0, "iopub_port": 0, "stdin_port": 0, '
                   '"control_port": 0, "hb_port": 0}')
    r = subprocess.run([b, "-f", str(bad)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "hmac-md5" in r.stderr, r


@rlhf_only
def test_install_user_and_sys_prefix_in_temp_dirs(tmp_path):
    """--user honours JUPYTER_DATA_DIR, --sys-prefix honours VIRTUAL_ENV (both pointed at
    temp dirs, never the real ones); installing twice is fine."""
    b = kernel_binary()
    env = {k: v for k, v in os.environ.items() if k not in ("CONDA_PREFIX", "VIRTUAL_ENV")}
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "data"), HOME=str(tmp_path / "home"))
    for _ in range(2):
        r = subprocess.run([b, "install", "--user"], capture_output=True, text=True,
                           timeout=10, env=env)
        assert r.returncode == 0, r
    assert os.path.isfile(tmp_path / "data" / "kernels" / "rlhf" / "kernel.json")
    env["VIRTUAL_ENV"] = str(tmp_path / "venv")
    r = subprocess.run([b, "install", "--sys-prefix"], capture_output=True, text=True,
                       timeout=10, env=env)
    assert r.returncode == 0, r
    spec = tmp_path / "venv" / "share" / "jupyter" / "kernels" / "rlhf"
    with open(spec / "kernel.json") as f:
        assert os.path.samefile(json.load(f)["argv"][0], b)
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("kernel.json"))


@rlhf_only
def test_sigterm_exits_cleanly(new_kernel):
    import signal
    k = new_kernel()
    k.execute(S["echo"]("before-term"))
    t0 = time.perf_counter()
    os.kill(k.pid, signal.SIGTERM)
    left = wait_exit(k)
    assert left is not None and time.perf_counter() - t0 < 1.0
    assert k.km.provisioner.process.returncode == 0


def test_shutdown_right_after_a_reply_loses_no_output(new_kernel):
    """The IOPub messages of a cell whose execute_reply has arrived are all delivered even
    when shutdown_request follows at once (the publisher flushes before exiting)."""
    k = new_kernel()
    k.flush()
    lines = [f"last words {i}" for i in range(300)]
    msg_id = k.kc.execute("\n".join(S["echo"](t) for t in lines))
    k.reply(msg_id)
    k.kc.control_channel.send(k.kc.session.msg("shutdown_request", {"restart": False}))
    msgs = k.iopub(msg_id, timeout=5)
    assert stream_text(msgs) == "".join(t + "\n" for t in lines)
    assert wait_exit(k) is not None
