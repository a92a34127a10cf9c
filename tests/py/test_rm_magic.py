"""%%rm NAME (issue 15 item 2) and rm(NAME) / rm_mean / rm_min rewards (item 3), end to
end: a reward model trains on a simulated preference set (held-out accuracy against the
labeler's ceiling in its summary), is listed by %who and removed by %del / %reset; a
reward reading rm(r) compiles (an unknown model is a NameError with did-you-mean), %%rl
trains on it with eval_reward = the true reward, %eval best_of works with it (the
proxy's best-of-K mean rises with K on nested draws); bad cells are errors at
cell:LINE:COL that leave the session unchanged; an interrupted %%rm stores no model."""
import re

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

SETUP = [
    "%task add add digits=1",
    "%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6",
    "%%reward gold\nformat + eos - 0.3 * length",
    "%%preferences p\nfrom = base\nlabeler = gold\npairs = 800\nper_prompt = 4\nflip = 0.1",
]
RM = "%%rm r\ndata = p\nfrom = base\nsteps = 300\nensemble = 2"


@pytest.fixture(scope="module")
def rk(kernel):
    for c in SETUP:
        ok(kernel, c)
    return kernel


def err(k, code):
    rep, _ = k.execute(code)
    c = rep["content"]
    assert c["status"] == "error", (code, c)
    return c["evalue"]


def test_rm_trains_and_reports_ceiling(rk):
    out = stream_text(ok(rk, RM))
    m = re.search(r"defined reward model 'r': reward model, ensemble 2, on p \(task add\), "
                  r"from base, 300 steps: held-out accuracy ([0-9.]+) vs the labeler's ceiling "
                  r"([0-9.]+)", out)
    assert m, out
    acc, ceil = float(m.group(1)), float(m.group(2))
    assert 0.75 < acc <= 1.0 and acc > ceil - 0.15, (acc, ceil)
    assert "reward models:\n  r  reward model, ensemble 2" in who(rk)
    # the same cell again gives the same summary (determinism of the run)
    out2 = stream_text(ok(rk, RM))
    assert "replaced reward model 'r': " + m.group(0).split("'r': ")[1] in out2, out2


def test_same_model_at_1_and_2_threads(rk):
    """rt_rm.h: a run is a pure function of its inputs at any thread count; the summary
    (held-out accuracy to 3 digits) and %eval's best-of-K table under rm(q) agree."""
    res = []
    for th in (1, 2):
        ok(rk, f"%threads {th}")
        out = stream_text(ok(rk, RM.replace("%%rm r", "%%rm q")))
        line = [l for l in out.splitlines() if "reward model 'q'" in l][0]
        ok(rk, "%%reward qq\nrm_min(q)")
        msgs = ok(rk, "%eval base best_of=[1, 4] reward=qq true=gold n=32")
        table = [m["content"]["data"]["text/plain"] for m in outputs(msgs)
                 if m["msg_type"] == "display_data"][0]
        res.append((line.split(": ", 1)[1], table))
    assert res[0] == res[1]


def test_rm_rewards_rl_and_best_of(rk):
    ok(rk, RM)
    ok(rk, "%%reward proxy\nrm(r)")
    ok(rk, "%%reward cons\nrm_min(r)")
    assert err(rk, "%%reward bad\nrm(rr)") == "cell:2:4: unknown reward model 'rr' (did you mean 'r'?)"
    out = stream_text(ok(rk, "%%rl tuned\nfrom = base\nreward = proxy\neval_reward = gold\n"
                             "steps = 10\nkl = 0.05"))
    assert "policy tuned: grpo from base on add, reward proxy, 10 steps" in out
    msgs = ok(rk, "%eval base best_of=[1, 4, 16] reward=cons true=gold n=64")
    plain = [m["content"]["data"]["text/plain"] for m in outputs(msgs)
             if m["msg_type"] == "display_data"][0]
    rows = [l.split() for l in plain.splitlines() if l.startswith("base ")]
    means = [float(r[3]) for r in rows]
    assert len(means) == 3 and means[0] <= means[1] <= means[2], plain


def test_errors_leave_session_unchanged(rk):
    ok(rk, RM)
    before = who(rk)
    assert err(rk, "%%rm x\ndata = base") == (
        "cell:2:8: 'base' is a policy, not a preference set (%%preferences defines one)")
    assert err(rk, "%%rm x\ndata = zz").startswith("cell:2:8: unknown preferences 'zz'")
    assert err(rk, "%%rm x\ndata = p\nensemble = 40").startswith("cell:3:12:")
    assert err(rk, "%%rm x\ndata = p\nfrom = nope").startswith("cell:3:8: unknown policy 'nope'")
    assert err(rk, "%%rm x\ndata = p\nfrom = base\nhidden = 8").startswith(
        "cell:4:10: 'hidden' cannot be set with 'from' (the trunk is a copy of 'base')")
    ok(rk, "%task big add digits=2")
    ok(rk, "%%policy pb\ntask = big\nsft_steps = 5")
    before = who(rk)
    assert err(rk, "%%rm x\ndata = p\nfrom = pb") == (
        "cell:3:8: policy 'pb' is on task 'big', whose configuration differs from the task "
        "'add' of preferences 'p'")
    assert who(rk) == before


def test_task_redefinition_and_another_tasks_model(new_kernel):
    """A model keeps the task it was made with (its own copy; %who shows the kept name),
    and a %%rl run on the redefined task refuses rm(r) before training."""
    k = new_kernel()
    for c in SETUP:
        ok(k, c)
    ok(k, RM)
    out = stream_text(ok(k, "%task add add digits=2"))
    assert "reward models r" in out, out
    ok(k, "%%policy big\ntask = add\nsft_steps = 5")
    ok(k, "%%reward proxy\nrm(r)")
    before = who(k)
    assert err(k, "%%rl t\nfrom = big\nreward = proxy\nsteps = 2") == (
        "cell:3:10: rm 'r' is on task 'add.2', whose configuration differs from this run's "
        "task")
    assert who(k) == before


def test_best_of_pairs_a_swept_model_by_key(new_kernel):
    """%eval NAME best_of=... reward=R with R reading rm(r) of a seed sweep: each point
    base[seed=s] is scored by r[seed=s] (a pipeline per seed, as %%rl pairs by key): its
    rows are those of evaluating base[seed=s] alone, and without r[seed=1] the point
    base[seed=1] has no model while base[seed=2] still has one."""
    k = new_kernel()
    ok(k, SETUP[0])
    ok(k, SETUP[1] + "\nseed = [1, 2]")
    ok(k, SETUP[2])
    ok(k, SETUP[3] + "\nseed = [1, 2]")
    ok(k, "%%rm r\ndata = p\nfrom = base\nsteps = 50\nseed = [1, 2]")
    ok(k, "%%reward proxy\nrm(r)")

    def rows(line):
        msgs = ok(k, line)
        plain = [m["content"]["data"]["text/plain"] for m in outputs(msgs)
                 if m["msg_type"] == "display_data"][0]
        return [l.split() for l in plain.splitlines() if l.startswith("base")]

    both = rows("%eval base best_of=[1, 4] reward=proxy true=gold n=64")
    one = {s: rows(f"%eval base[seed={s}] best_of=[1, 4] reward=proxy true=gold n=64")
           for s in (1, 2)}
    assert both == one[1] + one[2] and len(both) == 4, both
    assert both[1][3] != both[3][3]  # two models: different proxy scores
    ok(k, "%del r[seed=1]")
    assert rows("%eval base[seed=2] best_of=[1, 4] reward=proxy true=gold n=64") == one[2]
    assert err(k, "%eval base best_of=[1, 4] reward=proxy n=64").startswith(
        "cell:1:34: unknown reward model 'r'")


def test_del_reset_and_help(new_kernel):
    k = new_kernel()
    for c in SETUP:
        ok(k, c)
    ok(k, RM)
    assert "deleted" in stream_text(ok(k, "%del r kind=rm"))
    assert "reward models" not in who(k)
    ok(k, RM)
    assert "reset: deleted" in stream_text(ok(k, "%reset"))
    assert "reward models" not in who(k)
    rep, msgs = k.execute("%help rm")
    text = str(rep["content"]) + "".join(str(m["content"]) for m in outputs(msgs))
    assert "rm_min(NAME)" in text and "ensemble" in text


def test_interrupt_stores_no_model(new_kernel):
    import time
    k = new_kernel()
    for c in SETUP:
        ok(k, c)
    k.flush()
    msg_id = k.kc.execute("%%rm big\ndata = p\nsteps = 2000000\nbatch = 64")
    while True:
        m = k.kc.get_iopub_msg(timeout=10)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    time.sleep(1.0)
    k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
    rep = k.reply(msg_id, timeout=60)
    assert rep["content"]["status"] == "error", rep["content"]
    assert "reward models" not in who(k)


def test_pipeline_per_seed_pairs_data_and_rm(new_kernel):
    """Every stage swept over the same seeds pairs by key: %%rm data = a %%preferences
    sweep trains r[seed=s] on p[seed=s] from base[seed=s], and rm(r) in a %%rl point with
    seed = s reads r[seed=s]; a point with no matching set is an error at data."""
    k = new_kernel()
    for c in ["%task add add digits=1",
              "%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6\nseed = [1, 2]",
              "%%reward gold\nformat + eos - 0.3 * length",
              "%%preferences p\nfrom = base\nlabeler = gold\npairs = 200\nper_prompt = 4\n"
              "seed = [1, 2]"]:
        ok(k, c)
    out = stream_text(ok(k, "%%rm r\ndata = p\nfrom = base\nsteps = 20\nseed = [1, 2]"))
    for s in (1, 2):
        assert (f"defined reward model 'r[seed={s}]': reward model, ensemble 1, on p[seed={s}] "
                f"(task add), from base[seed={s}], 20 steps") in out, out
    # each point's ceiling is its own set's held-out agreement
    ceil = {s: re.search(rf"'r\[seed={s}\]'.*ceiling ([0-9.]+)", out).group(1) for s in (1, 2)}
    for s in (1, 2):
        sp = stream_text(ok(k, f"%%preferences q\nfrom = base[seed={s}]\nlabeler = gold\n"
                               f"pairs = 200\nper_prompt = 4\nseed = {s}"))
        agree = re.search(r"held-out ([0-9.]+)", sp).group(1)
        assert abs(float(agree) - float(ceil[s])) < 1e-3, (agree, ceil[s])
    ok(k, "%%reward proxy\nrm(r)")
    out = stream_text(ok(k, "%%rl t\nfrom = base\nreward = proxy\nsteps = 2\nseed = [1, 2]"))
    assert "policy t[seed=2]: grpo from base[seed=2] on add, reward proxy" in out, out
    e = err(k, "%%rm r3\ndata = p\nfrom = base\nsteps = 2\nseed = [1, 3]")
    assert e.startswith("cell:2:8: no point of sweep 'p' matches this cell's point [seed=3]"), e
