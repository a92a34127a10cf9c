"""Connection files: the kernel started directly (`rlhf-kernel -f FILE`) with tcp and ipc
transports, hmac-sha256 and hmac-sha512, a long (200-byte) key and an empty key (no
signing: replies carry an empty signature).  For each: kernel_info and an execute work
through jupyter_client, every received signature is the one the client computes, and
shutdown_request ends the process with status 0.
"""
import hashlib
import hmac
import json
import subprocess

import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from conftest import KERNEL_NAME, S, kernel_binary, stream_text

def dealer(kc, identity):
    """A plain blocking DEALER to the kernel's shell (the client's own sockets are asyncio)."""
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.linger = 0
    s.identity = identity
    s.connect(kc._make_url("shell"))
    return s


pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="starts rlhf-kernel directly")

CASES = {
    "tcp-sha256": dict(transport="tcp", signature_scheme="hmac-sha256", key=b"k" * 36),
    "ipc-sha256": dict(transport="ipc", signature_scheme="hmac-sha256", key=b"ipc-key"),
    "tcp-sha512": dict(transport="tcp", signature_scheme="hmac-sha512", key=b"x" * 64),
    "long-key": dict(transport="tcp", signature_scheme="hmac-sha256",
                     key=bytes(range(32, 127)) * 2 + b"0123456789"),
    "empty-key": dict(transport="tcp", signature_scheme="hmac-sha256", key=b""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_connection_variants(tmp_path, case):
    kw = dict(CASES[case])
    ip = str(tmp_path / "kipc") if kw["transport"] == "ipc" else "127.0.0.1"
    cf, info = write_connection_file(str(tmp_path / "conn.json"), ip=ip, **kw)
    with open(cf) as f:
        assert json.load(f)["key"] == kw["key"].decode()
    p = subprocess.Popen([kernel_binary(), "-f", cf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    kc = BlockingKernelClient()
    kc.load_connection_file(cf)
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=20)
        # raw check of the signature on a reply
        sock = dealer(kc, b"raw-" + case.encode())
        try:
            msg = kc.session.msg("kernel_info_request", {})
            kc.session.send(sock, msg)
            assert sock.poll(5000), "no kernel_info_reply"
            frames = sock.recv_multipart()
        finally:
            sock.close(linger=0)
        i = frames.index(b"<IDS|MSG>")
        digest = {"hmac-sha256": hashlib.sha256, "hmac-sha512": hashlib.sha512}
        want = (hmac.new(kw["key"], b"".join(frames[i + 2:i + 6]),
                         digest[kw["signature_scheme"]]).hexdigest().encode()
                if kw["key"] else b"")
        assert frames[i + 1] == want
        msg_id = kc.execute(S["echo"](f"conn-{case}"))
        rep = kc.get_shell_msg(timeout=10)
        assert rep["parent_header"]["msg_id"] == msg_id
        assert rep["content"]["status"] == "ok"
        msgs = []
        while not (msgs and msgs[-1]["msg_type"] == "status"
                   and msgs[-1]["content"]["execution_state"] == "idle"):
            m = kc.get_iopub_msg(timeout=10)
            if m["parent_header"].get("msg_id") == msg_id:
                msgs.append(m)
        assert stream_text(msgs) == f"conn-{case}\n"
        kc.shutdown()
        out, err = p.communicate(timeout=10)
        assert p.returncode == 0, err.decode(errors="replace")[-2000:]
    finally:
        kc.stop_channels()
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_bad_key_is_rejected_with_key_set(tmp_path):
    """A client with the wrong key gets no answer; the right one does."""
    cf, info = write_connection_file(str(tmp_path / "conn.json"), ip="127.0.0.1",
                                     key=b"right-key")
    p = subprocess.Popen([kernel_binary(), "-f", cf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    good = BlockingKernelClient()
    good.load_connection_file(cf)
    good.start_channels()
    try:
        good.wait_for_ready(timeout=20)
        bad = BlockingKernelClient()
        bad.load_connection_file(cf)
        bad.session.key = b"wrong-key"
        sock = dealer(bad, b"wrong-key-client")
        try:
            bad.session.send(sock, bad.session.msg("execute_request", {
                "code": S["echo"]("WRONG-KEY"), "silent": False, "store_history": True,
                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}))
            assert not sock.poll(500), "kernel answered a message signed with the wrong key"
        finally:
            sock.close(linger=0)
        msg_id = good.execute(S["echo"]("right-key"))
        assert good.get_shell_msg(timeout=10)["parent_header"]["msg_id"] == msg_id
        good.shutdown()
        p.communicate(timeout=10)
        assert p.returncode == 0
    finally:
        good.stop_channels()
        if p.poll() is None:
            p.kill()
            p.communicate()

