"""Wire-protocol behaviour of the rlhf kernel (messaging spec 5.3, ../shared/docs/protocol.md).

busy/idle with the request as parent around every request (shell and control, unknown
types included, which get no reply); header fields (version >= 5.3, ISO date with six
microsecond digits and Z, unique msg_ids, valid HMAC); execute (execute_input first, counter,
store_history, silent, single error, stop_on_error -> ExecutionAborted); comm_info and
unknown comm_open -> comm_close; complete/inspect cursor offsets in code points;
is_complete; history tail/range/search; display_data/update_display_data display ids
(rate-limited updates keep the last state); user_expressions; replies routed to the
requesting client; control and heartbeat served during a long cell; a client vanishing
mid-cell; an execute sent after an error reply is never aborted.
"""
import hashlib
import hmac
import re
import time

import pytest

from conftest import KERNEL_NAME, S, outputs, stream_text

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
rlhf_only = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf-specific behaviour")


def assert_busy_idle(msgs, msg_id):
    """msgs: iopub messages (decoded or raw) of one request, ending with idle."""
    types = [(m["msg_type"], m["content"].get("execution_state")) for m in msgs]
    assert types[0] == ("status", "busy"), types
    assert types[-1] == ("status", "idle"), types
    assert sum(1 for t in types if t[0] == "status") == 2, types
    for m in msgs:
        parent = m["parent_header"] if "parent_header" in m else m["parent"]
        assert parent["msg_id"] == msg_id


# -- busy / idle around every request ---------------------------------------------------------
def test_kernel_info_shell_busy_idle(kernel):
    kernel.flush()
    msg_id = kernel.kc.kernel_info()
    rep = kernel.reply(msg_id)
    assert rep["msg_type"] == "kernel_info_reply"
    c = rep["content"]
    assert c["status"] == "ok"
    assert tuple(int(x) for x in c["protocol_version"].split(".")[:2]) >= (5, 3)
    for k in ("status", "protocol_version", "implementation", "implementation_version",
              "banner", "language_info", "help_links"):
        assert k in c, k
    for k in ("name", "version", "mimetype", "file_extension", "pygments_lexer",
              "codemirror_mode", "nbconvert_exporter"):
        assert k in c["language_info"], k
    if KERNEL_NAME == "rlhf":
        assert c["language_info"]["name"] == "rlhf"
        assert c["debugger"] is False
        assert "supported_features" not in c or c["supported_features"] == []
    msgs = kernel.iopub(msg_id)
    assert_busy_idle(msgs, msg_id)
    assert len(msgs) == 2


def test_kernel_info_control_busy_idle(kernel):
    kernel.flush()
    msg = kernel.kc.session.msg("kernel_info_request", {})
    kernel.kc.control_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    rep = kernel.reply(msg_id, channel="control")
    assert rep["msg_type"] == "kernel_info_reply"
    assert rep["content"]["status"] == "ok"
    assert_busy_idle(kernel.iopub(msg_id), msg_id)


def test_unknown_msg_type_busy_idle_no_reply(raw):
    msg = raw.send(raw.shell, "frobnicate_request", {"x": 1})
    msg_id = msg["header"]["msg_id"]
    assert_busy_idle(raw.collect(msg_id), msg_id)
    # no reply: the next thing on shell is the reply to a later kernel_info
    ki = raw.send(raw.shell, "kernel_info_request")
    m = raw.recv(raw.shell, 5)
    assert m is not None and m["parent"]["msg_id"] == ki["header"]["msg_id"], m
    # same on control
    msg = raw.send(raw.control, "frobnicate_request", {})
    assert_busy_idle(raw.collect(msg["header"]["msg_id"]), msg["header"]["msg_id"])
    ki = raw.send(raw.control, "kernel_info_request")
    m = raw.recv(raw.control, 5)
    assert m is not None and m["parent"]["msg_id"] == ki["header"]["msg_id"], m


@pytest.mark.parametrize("msg_type,content", [
    ("complete_request", {"code": "%ec", "cursor_pos": 3}),
    ("inspect_request", {"code": "%echo", "cursor_pos": 5, "detail_level": 0}),
    ("is_complete_request", {"code": "(1"}),
    ("history_request", {"hist_access_type": "tail", "n": 1, "output": False, "raw": True}),
    ("comm_info_request", {}),
])
def test_other_requests_busy_idle(raw, msg_type, content):
    msg = raw.send(raw.shell, msg_type, content)
    msg_id = msg["header"]["msg_id"]
    rep = raw.reply(raw.shell, msg_id)
    assert rep["msg_type"] == msg_type.replace("_request", "_reply")
    assert_busy_idle(raw.collect(msg_id), msg_id)


# -- headers -------------------------------------------------------------------------------
def test_headers_version_date_ids_signature(raw):
    key = raw.session.key
    seen = []
    req = raw.send(raw.shell, "execute_request", {
        "code": S["echo"]("hdr") + "\n" + S["result"][0], "silent": False,
        "store_history": True, "user_expressions": {}, "allow_stdin": False,
        "stop_on_error": True})
    rid = req["header"]["msg_id"]
    seen.append(raw.reply(raw.shell, rid))
    seen += raw.collect(rid)
    ki = raw.send(raw.control, "kernel_info_request")
    seen.append(raw.reply(raw.control, ki["header"]["msg_id"]))
    seen += raw.collect(ki["header"]["msg_id"])
    assert {m["msg_type"] for m in seen} >= {"execute_reply", "status", "execute_input",
                                             "stream", "execute_result", "kernel_info_reply"}
    ids = [m["header"]["msg_id"] for m in seen]
    assert len(ids) == len(set(ids)), "msg_id reused"
    sessions = {m["header"]["session"] for m in seen}
    assert len(sessions) == 1, sessions
    for m in seen:
        h = m["header"]
        for k in ("msg_id", "session", "username", "date", "msg_type", "version"):
            assert k in h, (k, h)
        assert tuple(int(x) for x in h["version"].split(".")[:2]) >= (5, 3), h
        assert DATE_RE.match(h["date"]), h["date"]
        assert m["parent"]["msg_id"] in (rid, ki["header"]["msg_id"])
        sig = hmac.new(key, b"".join(m["raw"]), hashlib.sha256).hexdigest().encode()
        assert m["signature"] == sig
    # iopub frames start with a topic frame (not the delimiter)
    assert all(m["idents"] and m["idents"][0] for m in seen if m["msg_type"] == "status")


# -- execute -----------------------------------------------------------------------------------
def test_execute_input_first_and_counter(kernel):
    kernel.flush()
    rep1, msgs1 = kernel.execute(S["echo"]("one"))
    assert [m["msg_type"] for m in msgs1[:2]] == ["status", "execute_input"]
    assert msgs1[1]["content"]["code"] == S["echo"]("one")
    n1 = rep1["content"]["execution_count"]
    assert msgs1[1]["content"]["execution_count"] == n1
    rep2, _ = kernel.execute(S["echo"]("two"))
    assert rep2["content"]["execution_count"] == n1 + 1
    rep3, msgs3 = kernel.execute(S["echo"]("three"), store_history=False)
    assert rep3["content"]["status"] == "ok"
    assert "three" in stream_text(msgs3)
    rep4, _ = kernel.execute(S["echo"]("four"))
    assert rep4["content"]["execution_count"] == n1 + 2, "store_history=False counted"


def test_execute_result_plain_int(kernel):
    code, want = S["result"]
    rep, msgs = kernel.execute(code)
    res = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert len(res) == 1
    assert res[0]["content"]["data"]["text/plain"] == want
    assert res[0]["content"]["execution_count"] == rep["content"]["execution_count"]


def test_silent_publishes_nothing(kernel):
    kernel.flush()
    n0 = kernel.execute(S["echo"]("count"))[0]["content"]["execution_count"]
    rep, msgs = kernel.execute(S["echo"]("SILENT-MARK") + "\n" + S["result"][0], silent=True)
    assert rep["content"]["status"] == "ok"
    assert [(m["msg_type"], m["content"].get("execution_state")) for m in msgs] == \
        [("status", "busy"), ("status", "idle")], [m["content"] for m in msgs]
    rep, _ = kernel.execute(S["echo"]("count"))
    assert rep["content"]["execution_count"] == n0 + 1, "silent execute was counted"


def test_error_is_one_message_no_stderr(kernel):
    rep, msgs = kernel.execute(S["error"])
    c = rep["content"]
    assert c["status"] == "error"
    outs = outputs(msgs)
    assert [m["msg_type"] for m in outs] == ["error"], [m["msg_type"] for m in outs]
    e = outs[0]["content"]
    assert e["ename"] == c["ename"] and e["evalue"] == c["evalue"]
    assert isinstance(e["traceback"], list) and all(isinstance(t, str) for t in e["traceback"])
    if KERNEL_NAME == "rlhf":
        assert re.match(r"^cell:1:\d+: \S", e["evalue"]), e["evalue"]
    else:
        assert e["ename"] == S["error_ename"]


def test_stop_on_error_aborts_queued(kernel):
    kernel.flush()
    kc = kernel.kc
    # queue everything behind a short sleep so the aborted ones are surely waiting
    first = kc.execute(S["sleep10"].replace("10", "0.3"))
    bad = kc.execute(S["error"], stop_on_error=True)
    queued = [kc.execute(S["echo"](f"ABORT-MARK-{i}")) for i in range(3)]
    assert kernel.reply(first)["content"]["status"] == "ok"
    assert kernel.reply(bad)["content"]["status"] == "error"
    texts = []
    for q in queued:
        c = kernel.reply(q)["content"]
        assert c["status"] == "error", c
        assert c["ename"] == "ExecutionAborted", c
        texts.append(stream_text(kernel.iopub(q)))
    assert not any("ABORT-MARK" in t for t in texts)
    rep, msgs = kernel.execute(S["echo"]("after-abort"))
    assert rep["content"]["status"] == "ok"
    assert "after-abort" in stream_text(msgs)


def test_stop_on_error_false_keeps_queue(kernel):
    kernel.flush()
    kc = kernel.kc
    first = kc.execute(S["sleep10"].replace("10", "0.2"))
    bad = kc.execute(S["error"], stop_on_error=False)
    nxt = kc.execute(S["echo"]("KEPT-MARK"))
    kernel.reply(first)
    assert kernel.reply(bad)["content"]["status"] == "error"
    assert kernel.reply(nxt)["content"]["status"] == "ok"


# -- comms ------------------------------------------------------------------------------------
def test_comm_info_empty(kernel):
    kernel.flush()
    msg_id = kernel.kc.comm_info()
    rep = kernel.reply(msg_id)
    assert rep["content"]["status"] == "ok"
    assert rep["content"]["comms"] == {}


def test_unknown_comm_open_gets_comm_close(raw):
    msg = raw.send(raw.shell, "comm_open", {"comm_id": "c0ffee-1", "target_name": "no.such.target",
                                            "data": {}})
    msgs = raw.collect(msg["header"]["msg_id"])
    closes = [m for m in msgs if m["msg_type"] == "comm_close"]
    assert len(closes) == 1, [m["msg_type"] for m in msgs]
    assert closes[0]["content"]["comm_id"] == "c0ffee-1"
    assert_busy_idle(msgs, msg["header"]["msg_id"])


# -- complete / inspect / is_complete --------------------------------------------------------
@rlhf_only
def test_complete_cursor_in_code_points(kernel):
    code = "# é中 \n%lsm"
    assert len(code.encode()) != len(code)
    msg_id = kernel.kc.complete(code, cursor_pos=len(code))
    c = kernel.reply(msg_id)["content"]
    assert c["status"] == "ok"
    assert c["matches"] == ["%lsmagic"]
    assert (c["cursor_start"], c["cursor_end"]) == (len(code) - 4, len(code))
    assert c["metadata"] == {}
    # cursor in the middle of a line followed by non-ASCII text
    code2 = "%ech # é中"
    c = kernel.reply(kernel.kc.complete(code2, cursor_pos=4))["content"]
    assert "%echo" in c["matches"]
    assert (c["cursor_start"], c["cursor_end"]) == (0, 4)


@rlhf_only
def test_inspect_cursor_in_code_points(kernel):
    code = "# é中 \n%echo"
    c = kernel.reply(kernel.kc.inspect(code, cursor_pos=len(code)))["content"]
    assert c["status"] == "ok"
    assert c["found"] is True
    assert c["data"]["text/plain"].strip()
    assert c["metadata"] == {}
    # inside the comment: nothing to inspect
    c = kernel.reply(kernel.kc.inspect(code, cursor_pos=3))["content"]
    assert c["status"] == "ok" and c["found"] is False


@rlhf_only
@pytest.mark.parametrize("code,status", [
    ("%echo hi", "complete"), ("(7 - 2) * 3", "complete"), ("", "complete"),
    ("# é中 (", "complete"), ("(1 + 2", "incomplete"), ("((1)\n", "incomplete"),
    ("1 + 2)", "invalid"), ("(1))", "invalid"),
])
def test_is_complete(kernel, code, status):
    c = kernel.reply(kernel.kc.is_complete(code))["content"]
    assert c["status"] == status, (code, c)
    if status == "incomplete":
        assert isinstance(c.get("indent"), str)


# -- history ------------------------------------------------------------------------------------
def test_history_tail_range_search(new_kernel):
    k = new_kernel()
    codes = [S["echo"](f"hist-{i}") for i in range(4)]
    for c in codes:
        k.execute(c)
    k.execute(S["echo"]("not-stored"), store_history=False)
    h = k.reply(k.kc.history(hist_access_type="tail", n=2, output=False, raw=True))["content"]
    assert h["status"] == "ok"
    entries = h["history"]
    assert [e[2] for e in entries] == codes[2:]
    assert all(len(e) == 3 for e in entries)
    session, line = entries[0][0], entries[0][1]
    assert entries[1][1] == line + 1
    h = k.reply(k.kc.history(hist_access_type="range", session=session, start=line - 2,
                             stop=line + 1, output=False, raw=True))["content"]
    assert [e[2] for e in h["history"]] == codes[:3]
    assert [e[1] for e in h["history"]] == [line - 2, line - 1, line]
    h = k.reply(k.kc.history(hist_access_type="tail", n=1, output=True, raw=True))["content"]
    assert len(h["history"]) == 1 and len(h["history"][0][2]) == 2
    assert h["history"][0][2][0] == codes[3]
    pat = S["echo"]("hist-*")
    h = k.reply(k.kc.history(hist_access_type="search", pattern=pat, n=10, output=False,
                             raw=True))["content"]
    found = [e[2] for e in h["history"]]
    assert set(codes) <= set(found) and S["echo"]("not-stored") not in found


# -- display ---------------------------------------------------------------------------------------
def test_display_and_update_same_id(kernel):
    _, msgs = kernel.execute(S["display"]("first-text", did="disp-7"))
    d = [m for m in msgs if m["msg_type"] == "display_data"]
    assert len(d) == 1
    assert d[0]["content"]["transient"]["display_id"] == "disp-7"
    assert "first-text" in d[0]["content"]["data"]["text/plain"]
    rep, msgs = kernel.execute(S["display"]("second-text", did="disp-7", update=True))
    assert rep["content"]["status"] == "ok"
    u = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert u, [m["msg_type"] for m in msgs]
    assert all(m["content"]["transient"]["display_id"] == "disp-7" for m in u)
    assert "second-text" in u[-1]["content"]["data"]["text/plain"]
    assert not [m for m in msgs if m["msg_type"] == "display_data"]


# -- more execute behaviour ------------------------------------------------------------------
def test_user_expressions(kernel):
    rep, _ = kernel.execute(S["echo"]("ue"), user_expressions={"a": "1 + 1", "b": "(2"})
    ue = rep["content"]["user_expressions"]
    assert ue["a"]["status"] == "ok"
    assert ue["a"]["data"]["text/plain"] == "2"
    assert ue["b"]["status"] == "error" and ue["b"]["ename"]
    assert rep["content"]["status"] == "ok"


@rlhf_only
def test_error_stops_the_cell_with_line_and_column(kernel):
    rep, msgs = kernel.execute("%echo before-err\n%nosuchmagic\n%echo after-err")
    assert rep["content"]["status"] == "error"
    assert stream_text(msgs) == "before-err\n"
    errs = [m for m in msgs if m["msg_type"] == "error"]
    assert len(errs) == 1
    assert errs[0]["content"]["evalue"].startswith("cell:2:1: "), errs[0]["content"]
    assert not [m for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"]


@rlhf_only
def test_thousand_lines_complete_ordered_batched(kernel):
    code = "\n".join(f"%echo line {i}" for i in range(1000))
    rep, msgs = kernel.execute(code)
    assert rep["content"]["status"] == "ok"
    assert stream_text(msgs) == "".join(f"line {i}\n" for i in range(1000))
    n = len([m for m in msgs if m["msg_type"] == "stream"])
    assert 1 <= n <= 20, f"{n} stream messages for 1000 lines: not batched"


@rlhf_only
def test_non_ascii_and_control_characters_round_trip(kernel):
    text = "é中😀 \t tab \x01"
    rep, msgs = kernel.execute("%echo " + text)
    assert rep["content"]["status"] == "ok"
    assert stream_text(msgs) == text + "\n"


def test_replies_go_to_the_requesting_client(kernel):
    """Two clients: each reply reaches its own client only (ROUTER identities kept)."""
    from jupyter_client import BlockingKernelClient
    kc2 = BlockingKernelClient()  # its own Session, hence its own socket identity
    kc2.load_connection_info(kernel.km.get_connection_info())
    assert kc2.session.session != kernel.kc.session.session
    kc2.start_channels()
    try:
        kc2.wait_for_ready(timeout=10)
        kernel.flush()
        id2 = kc2.execute(S["echo"]("from-client-2"))
        rep = kc2.get_shell_msg(timeout=10)
        assert rep["parent_header"]["msg_id"] == id2
        id1 = kernel.kc.execute(S["echo"]("from-client-1"))
        rep = kernel.kc.get_shell_msg(timeout=10)
        assert rep["parent_header"]["msg_id"] == id1, "client 1 got someone else's reply"
        import queue
        with pytest.raises(queue.Empty):
            kc2.get_shell_msg(timeout=0.2)
    finally:
        kc2.stop_channels()


def test_control_and_heartbeat_answer_during_a_long_cell(kernel):
    """control has its own thread: kernel_info on control and the heartbeat answer while
    the shell thread runs a 10 s sleep; then an interrupt ends it."""
    from conftest import heartbeat_ok
    kernel.flush()
    run = kernel.kc.execute(S["sleep10"])
    time.sleep(0.2)
    msg = kernel.kc.session.msg("kernel_info_request", {})
    t0 = time.perf_counter()
    kernel.kc.control_channel.send(msg)
    kernel.reply(msg["header"]["msg_id"], channel="control", timeout=2)
    assert time.perf_counter() - t0 < 0.5
    t0 = time.perf_counter()
    assert heartbeat_ok(kernel.km, timeout=0.5)
    assert time.perf_counter() - t0 < 0.5
    irq = kernel.kc.session.msg("interrupt_request", {})
    kernel.kc.control_channel.send(irq)
    c = kernel.reply(run, timeout=5)["content"]
    assert c["status"] == "error" and c["ename"] == S["interrupted_ename"]
    kernel.flush()


@pytest.mark.parametrize("msg_type,content", [
    ("comm_msg", {"comm_id": "no-such-comm", "data": {}}),
    ("comm_close", {"comm_id": "no-such-comm", "data": {}}),
])
def test_comm_messages_for_unknown_comms_are_ignored(raw, msg_type, content):
    msg = raw.send(raw.shell, msg_type, content)
    msgs = raw.collect(msg["header"]["msg_id"])
    assert_busy_idle(msgs, msg["header"]["msg_id"])
    assert len(msgs) == 2
    assert raw.recv(raw.shell, 0.1) is None


@rlhf_only
def test_many_updates_last_one_delivered(kernel):
    """Updates may be rate-limited (coalesced), but the last state is never lost."""
    code = "%display --id=rl first\n" + "\n".join(
        f"%display --id=rl --update u-{i}" for i in range(200))
    rep, msgs = kernel.execute(code)
    assert rep["content"]["status"] == "ok"
    d = [m for m in msgs if m["msg_type"] == "display_data"]
    u = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(d) == 1 and 1 <= len(u) <= 200
    assert all(m["content"]["transient"]["display_id"] == "rl" for m in d + u)
    assert u[-1]["content"]["data"]["text/plain"] == "u-199"
    nums = [int(m["content"]["data"]["text/plain"][2:]) for m in u]
    assert nums == sorted(nums), "updates out of order"


def test_client_vanishing_mid_cell(kernel):
    """A client that disconnects while its cell runs: the kernel finishes the cell (the
    reply goes nowhere) and serves the next client."""
    from jupyter_client import BlockingKernelClient
    kc2 = BlockingKernelClient()
    kc2.load_connection_info(kernel.km.get_connection_info())
    kc2.start_channels()
    kc2.wait_for_ready(timeout=10)
    kc2.execute(S["sleep10"].replace("10", "0.3"))
    time.sleep(0.05)
    kc2.stop_channels()
    kernel.flush()
    rep, msgs = kernel.execute(S["echo"]("after-vanish"), timeout=10)
    assert rep["content"]["status"] == "ok"
    assert stream_text(msgs) == "after-vanish\n"


def test_execute_sent_after_an_error_reply_is_not_aborted(kernel):
    """stop_on_error aborts the executes that were QUEUED behind the failing one, never one
    the client sent after it received the error reply (nbclient with allow_errors, or any
    user re-running a cell, does exactly that).  The race is narrow: a raw DEALER sends the
    next execute (pre-serialized) the moment the error reply arrives, 3000 times."""
    import json
    import zmq
    sess = kernel.km.session
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(kernel.kc._make_url("shell"))

    def frames(code):
        m = sess.msg("execute_request", {"code": code, "silent": False, "store_history": False,
                                         "user_expressions": {}, "allow_stdin": False,
                                         "stop_on_error": True})
        return sess.serialize(m)
    aborted, n = [], 3000
    try:
        for i in range(n):
            bad, nxt = frames(S["error"]), frames(S["echo"]("after"))
            sock.send_multipart(bad)
            assert sock.poll(5000)
            r = sock.recv_multipart()
            assert json.loads(r[-1])["status"] == "error"
            sock.send_multipart(nxt)
            assert sock.poll(5000)
            c = json.loads(sock.recv_multipart()[-1])
            if c["status"] != "ok":
                aborted.append((i, c.get("ename")))
    finally:
        sock.close(linger=0)
        kernel.sync()  # 6000 executes' IOPub: read it all (see Kernel.sync)
    assert not aborted, f"{len(aborted)}/{n} executes sent after the error reply arrived " \
                        f"were answered {aborted[0][1]}"


@rlhf_only
@pytest.mark.parametrize("code", [
    "%" + "中" * 200, "1 + " + "é" * 300, "%sleep " + "中" * 200,
    "%display --id=" + "中" * 300 + " x", "%help " + "中" * 300, "?" + "中" * 300,
    "%echo " + "😀" * 5000,
])
def test_every_frame_is_valid_utf8_for_long_non_ascii_cells(raw, code):
    """Errors quoting (and maybe truncating) long non-ASCII text: every JSON frame the
    kernel sends still decodes as strict UTF-8 (truncation must not split a character,
    or the kernel must repair it before sending)."""
    m = raw.send(raw.shell, "execute_request", {
        "code": code, "silent": False, "store_history": True, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": False})
    rep = raw.reply(raw.shell, m["header"]["msg_id"])
    msgs = [rep] + raw.collect(m["header"]["msg_id"])
    for x in msgs:
        for part in x["raw"]:
            part.decode("utf-8")
    if code.startswith("%echo"):
        assert rep["content"]["status"] == "ok"
    else:
        assert rep["content"]["status"] == "error"
        assert rep["content"]["evalue"].startswith("cell:1:")
