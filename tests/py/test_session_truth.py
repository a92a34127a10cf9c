"""A session that never lies (issue 12, user-audit B1 and B3, with the audit's repro cells):
a failed or interrupted re-run never replaces a finished run or policy of the same name —
it is kept as NAME~failed / NAME~interrupted with a note — and a training cell refuses
to overwrite its own source (NAME = from)."""
from conftest import ok, outputs, stream_text, who


SETUP = ["%task ad add digits=2", "%%policy base\ntask = ad\nsft_steps = 100",
         "%%reward exact\ncorrect", "%%rl good\nfrom = base\nreward = exact\nsteps = 20",
         "%%reward inf\ncorrect * 1e308 * 10"]


def runs_text(k):
    return outputs(ok(k, "%runs"))[0]["content"]["data"]["text/plain"]


def test_failed_rerun_keeps_the_finished_run(new_kernel):
    k = new_kernel()
    for c in SETUP:
        ok(k, c)
    before_runs = runs_text(k)
    good_line = [l for l in before_runs.splitlines() if l.startswith("good ")]
    assert good_line and "finished" in good_line[0], before_runs
    rep, msgs = k.execute("%%rl good\nfrom = base\nreward = inf\nsteps = 20")
    c = rep["content"]
    assert c["status"] == "error" and c["evalue"] == (
        "cell:1:3: run 'good~failed' failed: rl: reward is inf at step 1"), c
    out = stream_text(msgs)
    assert "'good' holds a finished run: this failed one is kept as 'good~failed'" in out, out
    assert "replaced run 'good'" not in out, out
    after = runs_text(k)
    # the finished run is still there, unchanged (fields; the table is wider now); the
    # failed one has its own name
    assert [l.split() for l in after.splitlines() if l.startswith("good ")] == \
        [good_line[0].split()], after
    assert any(l.startswith("good~failed ") and "failed" in l for l in after.splitlines()), after
    w = who(k)
    assert "reward exact" in [l for l in w.splitlines() if l.strip().startswith("good ")][0], w


def test_rl_refuses_to_overwrite_its_source(new_kernel):
    k = new_kernel()
    for c in SETUP[:3]:
        ok(k, c)
    before = who(k)
    for magic, body in (("rl", "from = base\nreward = exact\nsteps = 20"),
                        ("opd", "from = base\nteacher = base\nsteps = 5")):
        rep, _ = k.execute(f"%%{magic} base\n{body}")
        c = rep["content"]
        assert c["status"] == "error", c
        assert c["evalue"] == (f"cell:2:8: %%{magic} base would replace its own source "
                               f"(from = base); give the result a new name, e.g. "
                               f"%%{magic} base2"), c
    assert who(k) == before


def test_interrupted_debate_keeps_only_started_runs(new_kernel):
    """user-audit B12: an interrupted %%debate left a never-started 'created 0' run and
    listed the interrupted judge without '(interrupted)'."""
    import time
    k = new_kernel()
    ok(k, "%task tri triage features=6 values=3 actions=4 good=2")
    k.flush()
    msg_id = k.kc.execute("%%debate dd\ntask = tri\nevidence = 3\njudge_steps = 1000000")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = k.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "update_display_data":
            break
    k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
    rep = k.reply(msg_id, timeout=30)
    assert rep["content"]["ename"] == "Interrupted", rep["content"]
    k.iopub(msg_id)
    runs = runs_text(k)
    assert "created" not in runs, runs
    w = who(k)
    judge = [l for l in w.splitlines() if l.strip().startswith("dd.judge ")]
    assert judge and judge[0].endswith("(interrupted)"), w


def test_redefined_task_keeps_what_was_made_with_it(new_kernel):
    """user-audit B4: redefining a task silently changed the meaning of every policy
    trained on it; now they keep the old definition, renamed, and the cell says so."""
    k = new_kernel()
    ok(k, "%task ad add digits=2")
    ok(k, "%%policy base\ntask = ad\nsft_steps = 30")
    out = stream_text(ok(k, "%task ad sort length=8"))
    assert ("redefined task 'ad': what was made with the previous definition (policies base; "
            "runs base) keeps it, now named 'ad.2'") in out, out
    ev = outputs(ok(k, "%eval base k=0"))[0]["content"]["data"]["text/plain"]
    assert ev.splitlines()[2].split()[0] == "ad.2", ev
    # an unused task, or the same definition again, is simply replaced
    out = stream_text(ok(k, "%task ad sort length=8"))
    assert "replaced task 'ad'" in out and "redefined" not in out, out
