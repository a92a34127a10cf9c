"""Interrupts: interrupt_request on control and SIGINT stop a running `%sleep 10` within
200 ms with an `Interrupted` error, never kill the kernel, and leave no pending interrupt
behind (the next cell runs normally); 100 interrupts in a row leave the kernel healthy.
"""
import os
import re
import signal
import time

from conftest import S, sanitized_kernel, stream_text


def start_sleep(k):
    """Start `%sleep 10` and return its msg_id once the cell is running."""
    k.flush()
    msg_id = k.kc.execute(S["sleep10"])
    while True:
        m = k.kc.get_iopub_msg(timeout=10)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    time.sleep(0.15)  # inside the sleep now
    return msg_id


def send_interrupt(k):
    msg = k.kc.session.msg("interrupt_request", {})
    k.kc.control_channel.send(msg)
    return msg["header"]["msg_id"]


def assert_interrupted(k, msg_id, t0, limit=0.2):
    rep = k.reply(msg_id, timeout=12)
    dt = time.perf_counter() - t0
    c = rep["content"]
    assert c["status"] == "error", c
    assert c["ename"] == S["interrupted_ename"], c
    errs = [m for m in k.iopub(msg_id) if m["msg_type"] == "error"]
    assert len(errs) == 1 and errs[0]["content"]["ename"] == S["interrupted_ename"]
    assert dt < limit, f"execute_reply {dt * 1e3:.0f} ms after the interrupt"
    return dt


def assert_next_cell_works(k, tag):
    rep, msgs = k.execute(S["echo"](tag))
    assert rep["content"]["status"] == "ok", rep["content"]
    assert tag in stream_text(msgs)


def test_interrupt_request_during_sleep(new_kernel):
    k = new_kernel()
    before = k.execute(S["echo"]("x"))[0]["content"]["execution_count"]
    msg_id = start_sleep(k)
    t0 = time.perf_counter()
    irq = send_interrupt(k)
    rep = k.reply(irq, channel="control")
    assert rep["msg_type"] == "interrupt_reply" and rep["content"].get("status", "ok") == "ok"
    dt = assert_interrupted(k, msg_id, t0)
    print(f"interrupt_request -> execute_reply: {dt * 1e3:.1f} ms")
    assert_next_cell_works(k, "after-interrupt")
    # state kept: the counter went on
    rep, _ = k.execute(S["echo"]("y"))
    assert rep["content"]["execution_count"] == before + 3


def test_sigint_during_sleep(new_kernel):
    k = new_kernel()
    msg_id = start_sleep(k)
    t0 = time.perf_counter()
    os.kill(k.pid, signal.SIGINT)
    assert_interrupted(k, msg_id, t0)
    assert k.km.is_alive()
    assert_next_cell_works(k, "after-sigint")
    # jupyter_client's way (signals the process group)
    msg_id = start_sleep(k)
    t0 = time.perf_counter()
    k.km.signal_kernel(signal.SIGINT)
    assert_interrupted(k, msg_id, t0)
    assert_next_cell_works(k, "after-signal-kernel")


def test_sigint_while_idle_does_not_kill(new_kernel):
    k = new_kernel()
    for _ in range(5):
        os.kill(k.pid, signal.SIGINT)
        time.sleep(0.02)
    time.sleep(0.1)
    assert k.km.is_alive()
    assert k.healthy()
    assert_next_cell_works(k, "after-idle-sigint")


def test_hundred_interrupts(new_kernel):
    k = new_kernel()
    # 50 while idle, as fast as they can be sent
    ids = [send_interrupt(k) for _ in range(50)]
    for i in ids:
        assert k.reply(i, channel="control")["content"].get("status", "ok") == "ok"
    # 5 x 10 while sleeping (the first stops the cell, the others arrive around its end)
    for r in range(5):
        msg_id = start_sleep(k)
        t0 = time.perf_counter()
        ids = [send_interrupt(k) for _ in range(10)]
        assert_interrupted(k, msg_id, t0, limit=0.5)
        for i in ids:
            assert k.reply(i, channel="control")["content"].get("status", "ok") == "ok"
        # SIGINTs mixed in
        os.kill(k.pid, signal.SIGINT)
    time.sleep(0.05)
    assert k.km.is_alive()
    assert k.healthy()
    # no interrupt left pending: a short sleep completes normally
    rep, _ = k.execute(S["sleep10"].replace("10", "0.1"))
    assert rep["content"]["status"] == "ok", rep["content"]
    assert_next_cell_works(k, "after-100")


def test_interrupt_while_waiting_for_input(new_kernel):
    """A cell blocked on input_request ends with Interrupted; the next cell works."""
    k = new_kernel()
    k.flush()
    msg_id = k.kc.execute(S["input"]("never answered?"), allow_stdin=True)
    req = k.kc.get_stdin_msg(timeout=10)
    assert req["msg_type"] == "input_request"
    time.sleep(0.05)
    t0 = time.perf_counter()
    send_interrupt(k)
    assert_interrupted(k, msg_id, t0)
    assert_next_cell_works(k, "after-input-interrupt")


def test_output_before_the_interrupt_is_kept_in_order(new_kernel):
    k = new_kernel()
    k.flush()
    msg_id = k.kc.execute(S["echo"]("printed-before") + "\n" + S["sleep10"])
    time.sleep(0.3)
    send_interrupt(k)
    rep = k.reply(msg_id, timeout=5)
    assert rep["content"]["ename"] == S["interrupted_ename"]
    outs = [m for m in k.iopub(msg_id) if m["msg_type"] in ("stream", "error")]
    assert [m["msg_type"] for m in outs] == ["stream", "error"], outs
    assert outs[0]["content"]["text"] == "printed-before\n"


def test_kernel_manager_interrupt_kernel(new_kernel):
    """What Jupyter front ends call: KernelManager.interrupt_kernel() (a message, since
    kernel.json says interrupt_mode "message")."""
    k = new_kernel()
    msg_id = start_sleep(k)
    t0 = time.perf_counter()
    k.km.interrupt_kernel()
    assert_interrupted(k, msg_id, t0)
    assert_next_cell_works(k, "after-km-interrupt")


BIG_STEP = ("%task bigt add digits=2\n# %%\n%%policy big\ntask = bigt\nhidden = 2048\n"
            "batch = 16384\nsft_steps = 100\neval_every = 0\n")


def start_big_step(k):
    """One SFT step at hidden 2048, batch 16384 takes tens of seconds (user-audit B10)."""
    k.flush()
    rep, _ = k.execute("%task bigt add digits=2\n")
    assert rep["content"]["status"] == "ok", rep["content"]
    msg_id = k.kc.execute(BIG_STEP.split("# %%\n")[1])
    while True:
        m = k.kc.get_iopub_msg(timeout=10)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    time.sleep(1.5)  # well inside step 1 (setup + the first products)
    return msg_id


def test_interrupt_inside_one_big_step(new_kernel):
    """The interrupt reaches inside a step: products poll the run's cancel flag per row
    block, the cut step's update is skipped, and the partial run keeps step 0.  Before
    the step, the cell says how long one step will take."""
    k = new_kernel()
    msg_id = start_big_step(k)
    t0 = time.perf_counter()
    send_interrupt(k)
    rep = k.reply(msg_id, timeout=30)
    dt = time.perf_counter() - t0
    print(f"interrupt inside a step -> execute_reply: {dt * 1e3:.1f} ms")
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == S["interrupted_ename"], c
    assert "interrupted at step 0 of 100" in c["evalue"], c
    # 200 ms is the plain build's bound; under ASan the products run 2-3x slower
    limit = 1.0 if sanitized_kernel() else 0.2
    assert dt < limit, f"execute_reply {dt * 1e3:.0f} ms after the interrupt"
    # the cell said up front that one step is long (estimated from its flops)
    text = stream_text(k.iopub(msg_id))
    # the unit follows the machine's speed (s, min or h), so match the shape, not the unit
    assert re.search(r"big: one step is about [0-9.]+e\+[0-9]+ flop, ~[0-9.]+ (s|min|h) here; "
                     r"100 steps ~ [0-9.]+ (s|min|h)\n", text), text
    assert_next_cell_works(k, "after-big-step")


def test_sigterm_inside_one_big_step(new_kernel):
    k = new_kernel()
    start_big_step(k)
    t0 = time.perf_counter()
    os.kill(k.pid, signal.SIGTERM)
    proc = k.km.provisioner.process if k.km.provisioner else k.km.kernel
    rc = proc.wait(timeout=10)
    dt = time.perf_counter() - t0
    # 200 ms is the plain build's bound.  Under ASan the exit also runs LeakSanitizer over
    # the big step's heap (about a GB of buffers): 1.4 s was seen on a loaded 2-core machine
    limit = 3.0 if sanitized_kernel() else 0.2
    assert dt < limit, f"exited {dt * 1e3:.0f} ms after SIGTERM"
    assert rc == 0, rc


def test_interrupted_training_error_has_its_message_in_the_traceback(new_kernel):
    """Front ends that show only the traceback (classic Notebook, nbconvert,
    jupyter-console) must show "interrupted at step N of M": the traceback of the
    Interrupted error is the one line "Interrupted: <evalue>" (ename and evalue as
    before), on IOPub and in the execute_reply."""
    k = new_kernel()
    rep, _ = k.execute("%task add add digits=2\n")
    assert rep["content"]["status"] == "ok", rep["content"]
    k.flush()
    msg_id = k.kc.execute("%%policy long\ntask = add\nsft_steps = 100000\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = k.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "update_display_data":
            break
    send_interrupt(k)
    c = k.reply(msg_id, timeout=30)["content"]
    assert c["status"] == "error" and c["ename"] == S["interrupted_ename"], c
    assert c["evalue"].startswith("interrupted at step "), c
    errs = [m["content"] for m in k.iopub(msg_id, timeout=30) if m["msg_type"] == "error"]
    assert len(errs) == 1
    for e in (errs[0], c):
        assert e["evalue"] == c["evalue"], e
        assert e["traceback"] == [f"Interrupted: {c['evalue']}"], e
    assert_next_cell_works(k, "after-training-interrupt")
