"""Bad input over real sockets: malformed, unsigned, replayed, oversized and pathological
messages sent to the shell (and control) ROUTER with raw send_multipart.  Each carries an
execute of `%echo MARK-<case>` (signed correctly wherever the case allows, so only the
defect can be the reason for dropping it): nothing may be executed (no execute_input, no
stream with the mark), the kernel logs its own reason for dropping it (the short status
names of kernel/krn_wire.c, read from the kernel's stderr), and afterwards the kernel still
answers kernel_info and heartbeat.

The kernel bounds frames at 16 MiB (KRN_WIRE_MAX_FRAME in kernel/krn_wire.h): the
oversized cases send 16 MiB + 1 and 100 MB.
"""
import json
import os

import pytest
from jupyter_client import KernelManager

from conftest import KERNEL_NAME, S, Raw

MAX_FRAME = 16 << 20
DELIM = b"<IDS|MSG>"


@pytest.fixture(scope="module")
def rawk(tmp_path_factory):
    """A kernel whose stderr (its log, default level warn) goes to a file; raw sockets."""
    logpath = tmp_path_factory.mktemp("log") / "kernel.log"
    log = open(logpath, "w")
    km = KernelManager(kernel_name=KERNEL_NAME)
    km.start_kernel(stderr=log, env=dict(os.environ, RLHF_KERNEL_LOG="warn"))
    r = Raw(km)
    r.logpath = logpath
    yield r
    r.close()
    km.shutdown_kernel(now=True)
    log.close()


def log_size(raw):
    return os.path.getsize(raw.logpath)


def log_since(raw, pos):
    with open(raw.logpath, "rb") as f:
        f.seek(pos)
        return f.read().decode(errors="replace")


def execute_parts(raw, mark, **over):
    """The four JSON frames (bytes) of a good execute_request echoing mark."""
    msg = raw.session.msg("execute_request", {
        "code": S["echo"](mark), "silent": False, "store_history": True,
        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    parts = [raw.session.pack(msg["header"]), b"{}", b"{}", raw.session.pack(msg["content"])]
    for i, v in over.items():
        parts[int(i[1:])] = v
    return msg["header"]["msg_id"], parts


def signed(raw, parts):
    return [DELIM, raw.session.sign(parts)] + parts


def settle(raw, sock=None):
    """A kernel_info round trip on the same socket after the bad message: everything the bad
    message caused is published before its idle.  Returns the iopub messages seen."""
    sock = sock if sock is not None else raw.shell
    seen = []
    ki = raw.send(sock, "kernel_info_request")
    kid = ki["header"]["msg_id"]
    rep = raw.reply(sock, kid, timeout=10)
    assert rep["msg_type"] == "kernel_info_reply"
    while True:
        m = raw.recv(raw.iopub, 10)
        assert m is not None, "no idle for kernel_info"
        seen.append(m)
        if m["parent"].get("msg_id") == kid and m["msg_type"] == "status" and \
                m["content"]["execution_state"] == "idle":
            return seen


def executed(seen, mark):
    return [m for m in seen if m["msg_type"] == "execute_input" or
            (m["msg_type"] == "stream" and mark in m["content"].get("text", ""))]


def check_dropped(raw, frames, mark, reason=None, sock=None):
    sock = sock if sock is not None else raw.shell
    pos = log_size(raw)
    sock.send_multipart(frames)
    seen = settle(raw, sock)
    assert not executed(seen, mark), [m["msg_type"] for m in seen]
    if reason and KERNEL_NAME == "rlhf":
        logged = log_since(raw, pos)
        assert reason in logged, f"expected {reason!r} in the kernel log, got:\n{logged}"
    # nothing came back on the socket either (no reply to a dropped message)
    assert raw.recv(sock, 0.05) is None
    assert raw.alive()


def test_good_message_executes(rawk):
    """Positive control: the same construction, unmodified, does execute."""
    _, parts = execute_parts(rawk, "MARK-good")
    rawk.shell.send_multipart(signed(rawk, parts))
    seen = settle(rawk)
    assert executed(seen, "MARK-good")
    rawk.drain()


def test_missing_delimiter(rawk):
    _, parts = execute_parts(rawk, "MARK-nodelim")
    check_dropped(rawk, signed(rawk, parts)[1:], "MARK-nodelim", "(no-delimiter)")


def test_fewer_than_five_frames(rawk):
    _, parts = execute_parts(rawk, "MARK-short")
    check_dropped(rawk, signed(rawk, parts)[:5], "MARK-short", "(too-few-frames)")


def test_empty_signature(rawk):
    _, parts = execute_parts(rawk, "MARK-nosig")
    check_dropped(rawk, [DELIM, b""] + parts, "MARK-nosig", "(empty-signature)")


def test_wrong_signature(rawk):
    _, parts = execute_parts(rawk, "MARK-badsig")
    f = signed(rawk, parts)
    sig = bytearray(f[1])
    sig[0] = ord("0") if sig[0] != ord("0") else ord("1")
    f[1] = bytes(sig)
    check_dropped(rawk, f, "MARK-badsig", "(bad-signature)")


def test_wrong_signature_on_control(rawk):
    _, parts = execute_parts(rawk, "MARK-ctl")
    f = signed(rawk, parts)
    f[1] = b"0" * len(f[1])
    check_dropped(rawk, f, "MARK-ctl", "control: dropped message (bad-signature)", sock=rawk.control)


def test_replayed_message(rawk):
    _, parts = execute_parts(rawk, "MARK-replay")
    frames = signed(rawk, parts)
    rawk.shell.send_multipart(frames)
    seen = settle(rawk)
    assert len([m for m in seen if m["msg_type"] == "stream"
                and "MARK-replay" in m["content"]["text"]]) == 1
    rawk.drain()
    check_dropped(rawk, frames, "MARK-replay", "(replayed-signature)")


def test_invalid_json(rawk):
    _, parts = execute_parts(rawk, "MARK-json")
    parts[3] = parts[3][:-5]
    check_dropped(rawk, signed(rawk, parts), "MARK-json", "(invalid-json)")


def test_content_is_a_list(rawk):
    _, parts = execute_parts(rawk, "MARK-list")
    parts[3] = json.dumps([S["echo"]("MARK-list")]).encode()
    check_dropped(rawk, signed(rawk, parts), "MARK-list", "(wrong-json-shape)")


def test_header_without_msg_type(rawk):
    _, parts = execute_parts(rawk, "MARK-nomt")
    h = json.loads(parts[0])
    del h["msg_type"]
    parts[0] = json.dumps(h).encode()
    check_dropped(rawk, signed(rawk, parts), "MARK-nomt", "(wrong-json-shape)")


def test_invalid_utf8(rawk):
    _, parts = execute_parts(rawk, "MARK-utf8")
    parts[3] = parts[3].replace(b"MARK-utf8", b"MARK-utf8 \xff\xfe\xc3")
    check_dropped(rawk, signed(rawk, parts), "MARK-utf8", "(invalid-utf8)")


@pytest.mark.parametrize("size", [MAX_FRAME + 1, 100_000_000])
def test_oversized_frame(rawk, size):
    _, parts = execute_parts(rawk, "MARK-big")
    c = json.loads(parts[3])
    c["pad"] = ""
    base = len(json.dumps(c).encode())
    c["pad"] = "x" * (size - base)
    parts[3] = json.dumps(c).encode()
    assert len(parts[3]) == size
    check_dropped(rawk, signed(rawk, parts), "MARK-big", "(frame-too-big)")


def test_deeply_nested_json(rawk):
    _, parts = execute_parts(rawk, "MARK-deep")
    depth = 100_000
    parts[3] = parts[3][:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}"
    check_dropped(rawk, signed(rawk, parts), "MARK-deep", "(json-too-deep)")
    _, parts = execute_parts(rawk, "MARK-deep2")
    parts[2] = b'{"m": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    check_dropped(rawk, signed(rawk, parts), "MARK-deep2", "(json-too-deep)")


def test_unknown_msg_type(rawk):
    _, parts = execute_parts(rawk, "MARK-unknown")
    h = json.loads(parts[0])
    h["msg_type"] = "execute_requestx"
    parts[0] = json.dumps(h).encode()
    check_dropped(rawk, signed(rawk, parts), "MARK-unknown", "execute_requestx")


def test_garbage_frames(rawk):
    for frames in ([b""], [DELIM], [b"\x00" * 10, DELIM, b"", b"", b"", b"", b""],
                   [DELIM] * 70):
        check_dropped(rawk, frames, "MARK-none")


def test_still_executes_after_everything(rawk):
    _, parts = execute_parts(rawk, "MARK-final")
    rawk.shell.send_multipart(signed(rawk, parts))
    assert executed(settle(rawk), "MARK-final")
    assert rawk.alive()


if KERNEL_NAME != "rlhf":
    # ipykernel: no frame limit, it would execute the oversized message
    test_oversized_frame = pytest.mark.skip("rlhf bound")(test_oversized_frame)


ODD_CONTENT = [  # signed, well-formed messages whose content has missing/odd fields
    ("execute_request", {"code": 5}),
    ("execute_request", {}),
    ("execute_request", {"code": S["echo"]("odd"), "silent": "yes", "store_history": None,
                         "user_expressions": [1], "allow_stdin": 3, "stop_on_error": "no"}),
    ("execute_request", {"code": S["echo"]("odd"), "user_expressions": {"a": 5, "b": None}}),
    ("complete_request", {"code": "%ls"}),
    ("complete_request", {"code": "%ls", "cursor_pos": "3"}),
    ("complete_request", {"code": "%ls", "cursor_pos": 1e30}),
    ("complete_request", {"code": None, "cursor_pos": -7}),
    ("inspect_request", {"code": "%echo", "cursor_pos": -5, "detail_level": 7}),
    ("inspect_request", {}),
    ("is_complete_request", {}),
    ("is_complete_request", {"code": "(" * 100000}),
    ("history_request", {}),
    ("history_request", {"hist_access_type": "tail", "n": -1}),
    ("history_request", {"hist_access_type": "tail", "n": 10 ** 12}),
    ("history_request", {"hist_access_type": "range", "session": -5, "start": 10 ** 12,
                         "stop": -10 ** 12}),
    ("history_request", {"hist_access_type": "search", "pattern": "[" * 1000 + "*" * 1000}),
    ("history_request", {"hist_access_type": "bogus"}),
    ("comm_info_request", {"target_name": 5}),
    ("kernel_info_request", {"anything": [1, 2]}),
]


@pytest.mark.parametrize("msg_type,content", ODD_CONTENT,
                         ids=[f"{i}-{t}" for i, (t, _) in enumerate(ODD_CONTENT)])
def test_odd_content_gets_a_reply(rawk, msg_type, content):
    """Missing or wrongly typed fields: a reply of the right type (with a status) to the
    right parent, busy/idle, and a live kernel; never a crash or silence."""
    msg = rawk.send(rawk.shell, msg_type, content)
    mid = msg["header"]["msg_id"]
    rep = rawk.reply(rawk.shell, mid, timeout=10)
    assert rep["msg_type"] == msg_type.replace("_request", "_reply")
    allowed = ("complete", "incomplete", "invalid", "unknown") \
        if msg_type == "is_complete_request" else ("ok", "error")
    assert rep["content"].get("status") in allowed, rep["content"]
    io = rawk.collect(mid, timeout=10)
    assert io[0]["content"]["execution_state"] == "busy"
    assert rawk.alive()
