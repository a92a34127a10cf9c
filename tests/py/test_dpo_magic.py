"""%%dpo NAME (issue 15 item 4), end to end (jupyter_client): a run on a simulated
%%preferences set trains a policy NAME and a run NAME (stored, in %who, %runs, %export),
with the live chart's panels (loss, acc, heldout_acc, margin, kl_ref, eval_reward: the
set's labeler by default) and a step-0 row that is the reference's (heldout_acc 1/2,
heldout_loss log 2, kl_ref 0); a set read from a file has no true reward (no eval_reward
panel, the column empty); beta sweeps one run per point; from pairs by key with a seed
sweep; %threads 1 and 2 give the same CSV (wall aside); an interrupt keeps the partial
run and policy; every bad input is one exact error at cell:LINE:COL and stores nothing;
%del removes the policy and the run."""
import csv
import json
import math
import os
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 300
SETUP = [
    "%task add add digits=1",
    "%task rev reverse",
    "%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6",
    "%%policy t2\ntask = rev\nsft_steps = 0",
    "%%reward true\ncorrect + partial",
    "%%preferences p\nfrom = base\nlabeler = true\npairs = 200",
]
SMALL = "steps = 12\neval_every = 6\nbeta = 0.5\nlr = 3e-3\nbatch = 16\neval_prompts = 64"


@pytest.fixture(scope="module")
def dk(kernel):
    for c in SETUP:
        ok(kernel, c)
    return kernel


BAD = [
    ("%%dpo x\nfrom = base\ndata = true", "ValueError",
     "cell:3:8: 'true' is a reward, not a preference set (%%preferences defines one)"),
    ("%%dpo x\nfrom = base\ndata = pp", "NameError",
     "cell:3:8: unknown preferences 'pp' (did you mean 'p'?)"),
    ("%%dpo x\nfrom = base\ndata = p\nbeta = 0", "ValueError", "cell:4:8: 'beta' must be > 0"),
    ("%%dpo x\nfrom = base\ndata = p\nbeta = [0.1, -1]", "ValueError",
     "cell:4:14: 'beta' must be > 0"),
    ("%%dpo x\nfrom = base\ndata = p\nloss = sigmoid", "ValueError",
     "cell:4:8: unknown value 'sigmoid' for 'loss'; expected dpo, ipo, hinge or robust"),
    ("%%dpo x\nfrom = base\ndata = p\nloss = hinge\nlabel_smoothing = 0.1", "ValueError",
     "cell:5:19: label_smoothing = 0.1 needs loss = dpo or robust (loss = hinge has none)"),
    ("%%dpo x\nfrom = base\ndata = p\nloss = robust\nlabel_smoothing = 0.5", "ValueError",
     "cell:5:19: label_smoothing = 0.5 must be in [0, 0.5) for loss = robust"),
    ("%%dpo x\nfrom = t2\ndata = p", "ValueError",
     "cell:2:8: policy 't2' is on task 'rev' but preferences 'p' are on task 'add' (from and "
     "data must share the task)"),
    ("%%dpo x\nfrom = base\ndata = p\nreference = t2", "ValueError",
     "cell:4:13: policy 't2' is on task 'rev' but preferences 'p' are on task 'add' "
     "(reference and data must share the task)"),
    ("%%dpo base\nfrom = base\ndata = p", "ValueError",
     "cell:2:8: %%dpo base would replace its own source (from = base); give the result a new "
     "name, e.g. %%dpo base2"),
    ("%%dpo x\nfrom = base\ndata = p\neval_reward = tru", "NameError",
     "cell:4:15: unknown reward 'tru' (did you mean 'true'?)"),
    ("%%dpo x\ndata = p", "ValueError", "cell:1:3: missing required key 'from'"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error_nothing_stored(dk, code, ename, evalue):
    before = who(dk)
    rep, msgs = dk.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    assert [m["msg_type"] for m in outputs(msgs)] == ["error"]
    assert who(dk) == before


def export_rows(k, path, *runs):
    ok(k, f'%export "{path}" ' + " ".join(runs))
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    return float(v) if v not in ("", "nan", "NaN") else math.nan


def final_chart(msgs):
    charts = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")
              and "application/vnd.vegalite.v5+json" in m["content"]["data"]]
    return json.dumps(charts[-1]["content"]["data"]["application/vnd.vegalite.v5+json"])


def test_run_chart_rows_stored(dk):
    msgs = outputs(ok(dk, "%%dpo d\nfrom = base\ndata = p\n" + SMALL, timeout=LONG))
    text = stream_text(msgs)
    assert "policy d: dpo from base on p, reference base, beta 0.5, 12 steps\n" in text
    vl = final_chart(msgs)
    for panel in ("loss", "heldout_acc", "margin", "kl_ref", "eval_reward"):
        assert f'"{panel}"' in vl, panel
    w = who(dk)
    assert "  d     dpo from base on p" in w
    with tempfile.TemporaryDirectory() as t:
        rows = export_rows(dk, os.path.join(t, "d.csv"), "d")
    assert [int(r["step"]) for r in rows] == list(range(13))
    r0 = rows[0]  # the policy is the reference
    assert num(r0["heldout_acc"]) == 0.5
    assert abs(num(r0["heldout_loss"]) - math.log(2)) < 1e-9
    assert abs(num(r0["kl_ref"])) < 1e-6
    assert math.isnan(num(r0["loss"]))
    assert not math.isnan(num(r0["eval_reward"]))
    assert math.isnan(num(rows[3]["heldout_acc"])) and not math.isnan(num(rows[6]["heldout_acc"]))
    assert num(rows[12]["kl_ref"]) > 0
    first = sum(num(r["loss"]) for r in rows[1:4]) / 3
    last = sum(num(r["loss"]) for r in rows[10:13]) / 3
    assert last < first  # it learns the preferences
    # %del removes the policy and the run
    ok(dk, "%%dpo gone\nfrom = base\ndata = p\nsteps = 1")
    assert "gone" in who(dk)
    out = stream_text(ok(dk, "%del gone"))
    assert "policy 'gone'" in out and "run 'gone'" in out, out
    assert "gone" not in who(dk)


def test_file_set_has_no_true_reward(dk):
    with tempfile.TemporaryDirectory() as t:
        f = os.path.join(t, "p.jsonl")
        ok(dk, f'%export "{f}" p')
        ok(dk, f"%%preferences pf\nfile = {f}\ntask = add")
        msgs = outputs(ok(dk, "%%dpo df\nfrom = base\ndata = pf\n" + SMALL, timeout=LONG))
        assert '"eval_reward"' not in final_chart(msgs)
        rows = export_rows(dk, os.path.join(t, "df.csv"), "df")
    assert all(math.isnan(num(r["eval_reward"])) for r in rows)
    assert num(rows[0]["heldout_acc"]) == 0.5


def test_beta_sweep_and_pairing_by_seed(dk):
    text = stream_text(outputs(ok(dk, "%%dpo sw\nfrom = base\ndata = p\n"
                                      "beta = [0.05, 0.1, 0.5]\nsteps = 3\neval_every = 0",
                                  timeout=LONG)))
    for b in ("0.05", "0.1", "0.5"):
        assert f"policy sw[beta={b}]: dpo from base on p, reference base, beta {b}, 3 steps" \
            in text
    ok(dk, "%%policy b2\ntask = add\nsft_steps = 10\nseed = [1, 2]")
    text = stream_text(outputs(ok(dk, "%%dpo pr\nfrom = b2\ndata = p\nseed = [1, 2]\nsteps = 2"
                                      "\neval_every = 0", timeout=LONG)))
    for s in (1, 2):
        assert (f"policy pr[seed={s}]: dpo from b2[seed={s}] on p, reference b2[seed={s}], "
                "beta 0.1, 2 steps") in text
    # data pairs by key too: a %%preferences sweep over the same seeds gives each point
    # the set of its seed (the whole pipeline per seed)
    ok(dk, "%%preferences ps\nfrom = b2\nlabeler = true\npairs = 40\nseed = [1, 2]")
    text = stream_text(outputs(ok(dk, "%%dpo pp\nfrom = b2\ndata = ps\nseed = [1, 2]\n"
                                      "steps = 2\neval_every = 0", timeout=LONG)))
    for s in (1, 2):
        assert (f"policy pp[seed={s}]: dpo from b2[seed={s}] on ps[seed={s}], reference "
                f"b2[seed={s}], beta 0.1, 2 steps") in text
    rep, _ = dk.execute("%%dpo pq\nfrom = b2\ndata = ps\nseed = [1, 3]\nsteps = 2", timeout=60)
    assert rep["content"]["evalue"].startswith(
        "cell:3:8: no point of sweep 'ps' matches this cell's point [seed=3]"), rep["content"]


def csv_at(k, threads, path):
    for c in SETUP:
        ok(k, c)
    ok(k, f"%threads {threads}")
    ok(k, "%%dpo one\nfrom = base\ndata = p\n" + SMALL, timeout=LONG)
    ok(k, "%%dpo two\nfrom = base\ndata = p\nloss = [dpo, ipo]\n" + SMALL, timeout=LONG)
    rows = export_rows(k, path, "one", "two[loss=dpo]", "two[loss=ipo]")
    return [{c: v for c, v in r.items() if c != "wall"} for r in rows]


def test_threads_1_and_2_identical(new_kernel):
    with tempfile.TemporaryDirectory() as d:
        one = csv_at(new_kernel(), 1, os.path.join(d, "one.csv"))
        two = csv_at(new_kernel(), 2, os.path.join(d, "two.csv"))
    assert len(one) == 3 * 13
    assert one == two


def test_interrupt_keeps_partial_run_and_policy(dk):
    dk.flush()
    msg_id = dk.kc.execute("%%dpo long\nfrom = base\ndata = p\nsteps = 1000000\nbatch = 8\n"
                           "eval_every = 0\neval_prompts = 8")
    while True:
        m = dk.kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "display_data":
            break
    time.sleep(0.3)
    dk.kc.control_channel.send(dk.kc.session.msg("interrupt_request", {}))
    rep = dk.reply(msg_id, timeout=30)
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == "Interrupted", c
    assert c["evalue"].startswith("interrupted at step ")
    assert c["evalue"].endswith(" of 1000000 (long); the partial run and its policy are kept")
    assert "long" in who(dk)
    ok(dk, "%%dpo after\nfrom = base\ndata = p\nsteps = 1")  # the kernel goes on
