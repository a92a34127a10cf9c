"""%%debate, %debate NAME show and debate(NAME) rewards in %%rl, end to end (jupyter_client):
every bad input is one error with its exact evalue (cell:LINE:COL at the offending key or
value) and leaves the session as it was (no chart, %who unchanged); %%debate shows the
judge's live curve and prints the judge's held-out accuracy above chance (by the margin
documented below) and the debaters table, and stores the debate and its runs;
`%debate NAME show` prints one transcript per state (each reveal, who made it, both
scores, the verdict) as HTML tables with the runtime's text twin; the debate reward is
deterministic for a seed (two fresh kernels), and an alpha sweep of
r = (1 - alpha) * outcome + alpha * debate(d) is bit-identical at %threads 1 and 2 (the
exported metrics minus `wall`), with the debate metrics return / judge_win /
judge_win_full in the runs.  Issue 14: the judge table gives top-1 and pairwise accuracy
with their chance levels in the headers, the debaters' and eval tables state theirs;
judge_full(d) rewards run like debate(d) (deterministic, thread-independent); %task's
triage bias key shows in the description only when set.

Margin: on triage features=6 values=3 actions=4 good=2 with evidence 3 and the default
1500 judge steps, the judge's held-out top-1 accuracy measured 0.53-0.56 over the debate
names used in the notebook and here (chance 0.25); the test asks for chance + 0.15 and the
full-state judge for 0.9.
"""
import csv
import os
import re
import tempfile

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 120
SETUP = [
    "%task tri triage features=6 values=3 actions=4 good=2",
    "%task add add digits=2",
    "%task big triage features=8 values=3",
    "%%policy base\ntask = tri\nhidden = 64\nsft_steps = 200\nnoise = 0.3",
    "%%policy abase\ntask = add\nsft_steps = 0",
    "%%debate d\ntask = tri\nevidence = 3\nbaseline = base",
    "%%debate nob\ntask = tri\nevidence = 3\njudge_steps = 50",
    "%%reward r alpha=0.5\n(1 - alpha) * outcome + alpha * debate(d)",
    "%%reward rn\ndebate(nob)",
    "%task tric triage features=6 values=3 actions=4 good=2 conflict=0.5",
    "%%debate dc\ntask = tric\nevidence = 3\njudge_steps = 50\nbaseline = base",
    "%%reward rc\ndebate(dc)",
]


def define(k):
    for c in SETUP:
        ok(k, c)


@pytest.fixture(scope="module")
def dk(kernel):
    define(kernel)
    return kernel


BAD = [
    ("%%debate x\ntask = tri\nevidence = 7",
     "ValueError", "cell:3:12: evidence must be between 1 and 6 (the task's features)"),
    ("%%debate x\ntask = add",
     "ValueError", "cell:2:8: debate needs a triage task (got add)"),
    ("%%debate x\ntask = tri\nbaseline = bsae",
     "NameError", "cell:3:12: unknown policy 'bsae' (did you mean 'base'?)"),
    ("%%debate x\ntask = tri\nbaseline = abase",
     "ValueError",
     "cell:3:12: baseline 'abase' is a policy of task 'add' (kind add), not of a triage task"),
    ("%%debate x\ntask = big\nevidence = 8\ndebaters = minimax\nmax_leaves = 1000",
     "ValueError",
     "cell:4:12: minimax: game tree of 40320 leaves (K=8 features, evidence 8) exceeds the "
     "limit of 1000"),
    ("%%debate x\ntask = tri\ndebaters = minmax",
     "ValueError",
     "cell:3:12: unknown value 'minmax' for 'debaters' (did you mean 'minimax'?); expected "
     "greedy, minimax or learned"),
    ("%%debate x\nevidence = 2", "ValueError", "cell:1:3: missing required key 'task'"),
    ("%%debate x\ntask = tir", "NameError", "cell:2:8: unknown task 'tir' (did you mean 'tri'?)"),
    ("%%debate\ntask = tri",
     "ValueError", "cell:1:3: %%debate needs a NAME: %%debate NAME, then key = value lines"),
    # debate(x) for an undefined debate in a reward (%%reward's resolver)
    ("%%reward bad\ndebate(dd)", "NameError", "cell:2:8: unknown debate 'dd' (did you mean 'd'?)"),
    ("%%reward bad\n0.5 * outcome + debate(zzz)", "NameError", "cell:2:24: unknown debate 'zzz'"),
    # %debate NAME show
    ("%debate dd show", "NameError", "cell:1:9: unknown debate 'dd' (did you mean 'd'?)"),
    ("%debate d shw",
     "ValueError",
     "cell:1:11: %debate d: expected 'show' or 'eval' (usage: %debate NAME show [n=3] "
     "[policy=P] | %debate NAME eval POLICY... [states=1000])"),
    ("%debate d eval", "ValueError",
     "cell:1:2: %debate d eval needs policies: %debate d eval POLICY..."),
    ("%debate d eval base bsae", "NameError",
     "cell:1:21: unknown policy 'bsae' (did you mean 'base'?)"),
    ("%debate nob eval base", "ValueError",
     "cell:1:2: debate 'nob' has no baseline policy (set baseline = POLICY in %%debate nob)"),
    ("%debate d show n=0", "ValueError", "cell:1:18: 'n' must be in [1, 20]"),
    ("%debate d show policy=bsae",
     "NameError", "cell:1:23: unknown policy 'bsae' (did you mean 'base'?)"),
    # a debate reward needs the debate's baseline
    ("%%rl x\nfrom = base\nreward = rn\nsteps = 2",
     "ValueError",
     "cell:3:10: debate 'nob' has no baseline policy (set baseline = POLICY in %%debate nob)"),
    ("%%rl x\nfrom = base\nreward = rc\nsteps = 2",
     "ValueError",
     "cell:3:10: debate 'dc' is on task 'tric', whose configuration differs from this run's "
     "task"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error_nothing_stored(dk, code, ename, evalue):
    before = who(dk)
    rep, msgs = dk.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    types = [m["msg_type"] for m in outputs(msgs)]
    assert types == ["error"], types  # nothing trained
    assert who(dk) == before


def accuracy_rows(msgs):
    """The judge table: {(judge, evidence): (top-1, pairwise)} and its header cells."""
    tables = [m["content"]["data"]["text/plain"] for m in msgs
              if m["msg_type"] == "display_data" and "judge accuracy" in
              m["content"]["data"].get("text/plain", "")]
    assert len(tables) == 1, tables
    lines = tables[0].splitlines()
    header = re.split(r"\s{2,}", lines[1].strip())
    rows = {}
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 4, cells
        rows[(cells[0], cells[1])] = (float(cells[2]), float(cells[3]))
    return tables[0], header, rows


def test_debate_prints_accuracy_above_chance_and_stores(dk):
    msgs = outputs(ok(dk, "%%debate acc\ntask = tri\nevidence = 3\nbaseline = base"))
    # live chart first (judge runs), then the tables
    assert msgs[0]["msg_type"] == "display_data"
    did = msgs[0]["content"]["transient"]["display_id"]
    final = [m for m in msgs if m["content"].get("transient", {}).get("display_id") == did][-1]
    text = final["content"]["data"]["text/plain"]
    # the training curve says which accuracy it is (pairwise, on the training pairs)
    assert re.search(r"^loss$", text, re.M) and re.search(r"^pairwise_acc$", text, re.M), text
    assert "(step 1500)" in text
    table, header, rows = accuracy_rows(msgs)
    assert table.startswith("%%debate acc: judge accuracy on 1000 held-out states, the same "
                            "states and evidence in both columns; top-1: "), table
    assert "(chance 1/A = 1/4)" in table and "(chance 1/2," in table, table
    # each column names its metric and its chance level
    assert header == ["judge", "evidence", "top-1 acc (chance 0.25)",
                      "pairwise acc (chance 0.5)"], header
    assert set(rows) == {("judge", "3 of 6 features"), ("judge", "all 6 features"),
                         ("full-state judge", "all 6 features")}, rows
    top, pair = rows[("judge", "3 of 6 features")]
    assert top > 0.25 + 0.15, rows
    assert pair > 0.5 + 0.15, rows
    assert rows[("full-state judge", "all 6 features")][0] > 0.9, rows
    for t1, pw in rows.values():  # paired: a top-1 right state is pairwise right
        assert pw >= t1, rows
    deb = [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "display_data"
           and "debaters on 256" in m["content"]["data"].get("text/plain", "")]
    assert len(deb) == 1
    assert "demonstrator's side wins (chance 0.5)" in deb[0].splitlines()[1], deb[0]
    assert "a pairwise win rate, chance 0.5" in deb[0].splitlines()[0], deb[0]
    assert re.search(r"^greedy \(used\)\s+0\.\d+\s+0\s+0\.\d+$", deb[0], re.M), deb[0]
    assert re.search(r"^minimax\s+0\.\d+\s+-?0\.?\d*\s+1$", deb[0], re.M), deb[0]
    out = stream_text(msgs)
    assert re.search(r"^debate acc: on tri, evidence 3, greedy debaters, first random, "
                     r"baseline base; judge accuracy top-1 0\.\d+ \(full state 0\.\d+, "
                     r"chance 0\.250\), pairwise 0\.\d+ \(full state (0\.\d+|1\.000), "
                     r"chance 0\.500\)$", out, re.M), out
    w = who(dk)
    assert re.search(r"^  acc  on tri, evidence 3", w, re.M), w
    assert re.search(r"^  acc\.judge\s+judge of debate acc, 1500 steps$", w, re.M), w
    assert re.search(r"^  acc\.full_judge\s+full-state judge of debate acc, 1500 steps$", w,
                     re.M), w


def test_learned_debaters_have_their_curve(dk):
    msgs = outputs(ok(dk, "%%debate lrn\ntask = tri\nevidence = 3\ndebaters = learned\n"
                          "judge_steps = 300\ndebater_steps = 100"))
    did = msgs[0]["content"]["transient"]["display_id"]
    final = [m for m in msgs if m["content"].get("transient", {}).get("display_id") == did][-1]
    text = final["content"]["data"]["text/plain"]
    assert re.search(r"^vs_greedy$", text, re.M), text
    assert re.search(r"^  learned debaters .*\(step 100\)$", text, re.M), text
    deb = [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "display_data"
           and "debaters on 256" in m["content"]["data"].get("text/plain", "")][0]
    assert re.search(r"^learned \(used\)\s", deb, re.M), deb
    assert "lrn.debaters" in who(dk)


def test_show_transcripts_structure(dk):
    msgs = outputs(ok(dk, "%debate d show n=2"))
    assert len(msgs) == 1 and msgs[0]["msg_type"] == "display_data"
    data = msgs[0]["content"]["data"]
    assert set(data) == {"text/html", "text/plain"}
    text, html = data["text/plain"], data["text/html"]
    lines = text.splitlines()
    assert lines[0] == ("%debate d show: 2 debates on held-out states (greedy debaters; policy "
                        "= the strongest challenger by the full-state judge, baseline = base)")
    states = [i for i, l in enumerate(lines) if l.startswith("state <tri>")]
    assert len(states) == 2
    for s in states:
        m = re.fullmatch(r"state <tri>\d{6}= \(f1\.\.f6\)  policy ([a-d])  vs  baseline ([a-d])",
                         lines[s])
        assert m and m.group(1) != m.group(2), lines[s]
        assert re.fullmatch(r"turn\s+by\s+reveals\s+J\([a-d]\)\s+J\([a-d]\)", lines[s + 1])
        assert re.fullmatch(r"0\s+-\s+-\s+-?\d+\.\d+\s+-?\d+\.\d+", lines[s + 2])
        turns = lines[s + 3:s + 6]  # evidence 3: three reveals, alternating sides
        who_ = [re.split(r"\s+", t)[1] for t in turns]
        assert who_ in (["policy", "baseline", "policy"], ["baseline", "policy", "baseline"])
        feats = [re.split(r"\s+", t)[2] for t in turns]
        assert all(re.fullmatch(r"f[1-6]=[0-2]", f) for f in feats)
        assert len(set(f[:2] for f in feats)) == 3  # each feature revealed once
        assert re.fullmatch(r"verdict: the judge prefers the (policy|baseline) \([a-d]\): "
                            r"debate = [01]", lines[s + 6]), lines[s + 6]
    assert html.count("<table") == 2
    assert html.count("verdict: the judge prefers") == 2
    # the same states again: deterministic
    again = outputs(ok(dk, "%debate d show n=2"))[0]["content"]["data"]["text/plain"]
    assert again == text
    other = outputs(ok(dk, "%debate d show n=2 seed=1"))[0]["content"]["data"]["text/plain"]
    assert other != text
    pol = outputs(ok(dk, "%debate d show n=1 policy=base"))[0]["content"]["data"]["text/plain"]
    assert "policy = base's action" in pol
    assert "equal actions: debate = 0.5" in pol  # the baseline against itself


def test_eval_table(dk):
    ok(dk, "%%policy p2\nfrom = base\nseed = [1, 2]")
    msgs = outputs(ok(dk, "%debate d eval base p2[seed=1] p2[seed=2] states=200"))
    assert len(msgs) == 1
    text = msgs[0]["content"]["data"]["text/plain"]
    lines = text.splitlines()
    assert lines[0] == ("%debate d eval: greedy actions on 200 held-out states against baseline "
                        "base (judge_win: share of the differing states where the debate "
                        "favours the policy; judge_win_full: where the full-state judge does, "
                        "no debate; both pairwise, chance 0.5, the scale of the judges' pairwise "
                        "accuracy)")
    assert lines[1].split() == ["policy", "return", "judge_win", "judge_win_full", "differ"]
    # the baseline against itself: no differing state, so judge_win is nan
    assert re.fullmatch(r"base\s+(0\.\d+|1)\s+nan\s+nan\s+0", lines[2]), lines[2]
    # copies of the baseline (from = base) act like it
    assert re.fullmatch(r"p2\[seed=1\]\s+(0\.\d+|1)\s+nan\s+nan\s+0", lines[3]), lines[3]
    assert lines[5].startswith("p2 (mean ± sd of 2 seeds)"), lines[5]
    assert lines[2].split()[1] == lines[3].split()[1]  # same states, same actions: same return
    again = outputs(ok(dk, "%debate d eval base p2[seed=1] p2[seed=2] states=200"))
    assert again[0]["content"]["data"]["text/plain"] == text


SWEEP = ("%%rl sw\nfrom = base\nreward = r\nalpha = [0, 0.5, 1]\nsteps = 8\nbatch = 8\n"
         "group = 4\nlr = 1e-3\neval_every = 4\neval_prompts = 32")


def export(k, threads, path, sweep=SWEEP, extra=(), runs="sw[alpha=0] sw[alpha=0.5] sw[alpha=1]"):
    define(k)
    for c in extra:
        ok(k, c)
    ok(k, f"%threads {threads}")
    msgs = outputs(ok(k, sweep))
    ok(k, f'%export "{path}" {runs}')
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    wall = rows[0].index("wall")
    return msgs, [[v for i, v in enumerate(r) if i != wall] for r in rows]


def test_alpha_sweep_deterministic_and_threads_identical(new_kernel):
    with tempfile.TemporaryDirectory() as d:
        msgs, one = export(new_kernel(), 1, os.path.join(d, "one.csv"))
        _, two = export(new_kernel(), 2, os.path.join(d, "two.csv"))
    header = one[0]
    for col in ("return", "judge_win", "judge_win_full", "reward"):
        assert col in header, header
    assert len(one) == 1 + 3 * 8
    assert one == two
    rows = [dict(zip(header, r)) for r in one[1:]]
    # alpha = 0: the reward is the environment return; alpha = 1: a mean of debate values
    for r in rows:
        if r["run"] == "sw[alpha=0]":
            assert float(r["reward"]) == pytest.approx(float(r["return"]), abs=1e-12)
        if r["run"] == "sw[alpha=1]":
            v = float(r["reward"]) * 32
            assert abs(v * 2 - round(v * 2)) < 1e-9  # sums of 0, 0.5 and 1 over 32 samples
        assert 0.0 <= float(r["judge_win"]) <= 1.0 or r["judge_win"] in ("", "nan")
    summary = [m["content"]["data"]["text/plain"] for m in msgs
               if m["msg_type"] == "display_data" and "text/html" in m["content"]["data"]]
    head = summary[-1].splitlines()[0].split()
    assert head[:7] == ["run", "status", "steps", "reward", "return", "judge_win",
                        "judge_win_full"], head


FULL_REWARD = "%%reward rf alpha=0.5\n(1 - alpha) * outcome + alpha * judge_full(d)"
FULL_SWEEP = ("%%rl fj\nfrom = base\nreward = rf\nalpha = [0.5, 1]\nsteps = 8\nbatch = 8\n"
              "group = 4\nlr = 1e-3\neval_every = 4\neval_prompts = 32")


def test_judge_full_reward_deterministic_and_threads_identical(new_kernel):
    """judge_full(d) (the ideal full-state judge's verdict) is a reward feature like
    debate(d): a short alpha sweep is deterministic and bit-identical at %threads 1 and 2,
    carries the debate metrics, and at alpha = 1 its reward is a mean of 0 / 0.5 / 1."""
    runs = "fj[alpha=0.5] fj[alpha=1]"
    with tempfile.TemporaryDirectory() as d:
        msgs, one = export(new_kernel(), 1, os.path.join(d, "one.csv"), FULL_SWEEP,
                           [FULL_REWARD], runs)
        _, two = export(new_kernel(), 2, os.path.join(d, "two.csv"), FULL_SWEEP,
                        [FULL_REWARD], runs)
    assert one == two
    header = one[0]
    for col in ("return", "judge_win", "judge_win_full", "reward"):
        assert col in header, header
    assert len(one) == 1 + 2 * 8
    rows = [dict(zip(header, r)) for r in one[1:]]
    for r in rows:
        if r["run"] == "fj[alpha=1]":
            v = float(r["reward"]) * 32
            assert abs(v * 2 - round(v * 2)) < 1e-9  # sums of 0, 0.5 and 1 over 32 samples
    # the two alphas train differently (the feature is read)
    a5 = [r["reward"] for r in rows if r["run"] == "fj[alpha=0.5]"]
    a1 = [r["reward"] for r in rows if r["run"] == "fj[alpha=1]"]
    assert a5 != a1


def test_judge_full_errors(dk):
    rep, msgs = dk.execute("%%reward bad\njudge_full(zz)", timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert "unknown debate 'zz'" in c["evalue"], c["evalue"]
    rep, msgs = dk.execute("%%reward judge_full\noutcome", timeout=LONG)
    assert rep["content"]["status"] == "error"
    assert "'judge_full' is a name of the reward language" in rep["content"]["evalue"]


def test_triage_bias_key(dk):
    msgs = outputs(ok(dk, "%task trb triage features=6 values=4 bias=0.5"))
    text = " ".join(m["content"]["data"].get("text/plain", "") for m in msgs
                    if m["msg_type"] == "display_data") + stream_text(msgs)
    assert "bias=0.5" in text, text
    msgs = outputs(ok(dk, "%task trn triage features=6 values=4"))
    text = " ".join(m["content"]["data"].get("text/plain", "") for m in msgs
                    if m["msg_type"] == "display_data") + stream_text(msgs)
    assert "bias" not in text, text
    rep, _ = dk.execute("%task trx triage bias=2", timeout=LONG)
    assert rep["content"]["status"] == "error"
    assert rep["content"]["evalue"] == "cell:1:23: 'bias' must be in [0, 1]"


# ---- the whole pipeline per seed: %%debate swept over seed, paired by key ---------------

PIPE = [
    "%task tri triage features=6 values=3 actions=4 good=2",
    "%%policy sb\ntask = tri\nhidden = 32\nsft_steps = 60\nnoise = 0.3\nseed = [1, 2]",
    "%%reward ds_r alpha=0.5\n(1 - alpha) * outcome + alpha * debate(ds)",
]
PIPE_RL = ("%%rl x\nfrom = sb\nreward = ds_r\nseed = SEEDS\nsteps = 6\nbatch = 8\ngroup = 4\n"
           "lr = 1e-3\neval_every = 0")


def judge_line(msgs, name):
    line = [ln for ln in stream_text(msgs).splitlines() if ln.startswith(f"debate {name}: ")]
    assert len(line) == 1, stream_text(msgs)
    return line[0]


def test_debate_seed_sweep_pairs_the_whole_pipeline(new_kernel):
    """%%debate with seed = [1, 2] makes ds[seed=1], ds[seed=2], each with the baseline of
    its seed (baseline = sb pairs by key) and the stream of a cell `%%debate ds` with
    `seed = s`; a %%rl sweep whose reward reads debate(ds) takes ds[seed=s] at seed s, and
    `%debate ds eval` pairs each policy with the debate of its seed: both bit-identical to
    the same stage built without a sweep in a fresh kernel."""
    k = new_kernel()
    for c in PIPE[:2]:
        ok(k, c)
    msgs = outputs(ok(k, "%%debate ds\ntask = tri\nevidence = 3\njudge_steps = 80\n"
                         "baseline = sb\nseed = [1, 2]"))
    l1, l2 = judge_line(msgs, "ds[seed=1]"), judge_line(msgs, "ds[seed=2]")
    assert "baseline sb[seed=1];" in l1 and "baseline sb[seed=2];" in l2
    assert l1.split("baseline")[1] != l2.split("baseline")[1]  # two judges
    w = who(k)
    assert "ds[seed=1]" in w and "ds[seed=2]" in w, w
    ok(k, PIPE[2])
    ok(k, PIPE_RL.replace("SEEDS", "[1, 2]"))
    ev = outputs(ok(k, "%debate ds eval x[seed=1] x[seed=2] sb[seed=1] states=100"))
    table = ev[0]["content"]["data"]["text/plain"].splitlines()
    assert "against baseline of each policy's seed" in table[0], table[0]
    assert re.fullmatch(r"sb\[seed=1\]\s+\S+\s+nan\s+nan\s+0", table[4]), table[4]
    with tempfile.TemporaryDirectory() as d:
        ok(k, f'%export "{d}/a.csv" x[seed=1]')
        with open(f"{d}/a.csv") as f:
            swept = f.read()
        # the same stages without sweeps: %%debate ds with seed = 1 and baseline sb[seed=1]
        k2 = new_kernel()
        for c in PIPE[:2]:
            ok(k2, c)
        m2 = outputs(ok(k2, "%%debate ds\ntask = tri\nevidence = 3\njudge_steps = 80\n"
                            "baseline = sb[seed=1]\nseed = 1"))
        assert judge_line(m2, "ds").split(":", 1)[1] == l1.split(":", 1)[1]
        ok(k2, PIPE[2])
        ok(k2, PIPE_RL.replace("SEEDS", "[1]"))
        ok(k2, f'%export "{d}/b.csv" x[seed=1]')
        with open(f"{d}/b.csv") as f:
            single = f.read()
        ev2 = outputs(ok(k2, "%debate ds eval x[seed=1] states=100"))
    drop_wall = lambda t: [",".join(v for i, v in enumerate(r.split(","))  # noqa: E731
                                    if i != t.splitlines()[0].split(",").index("wall"))
                           for r in t.splitlines()]
    assert drop_wall(swept) == drop_wall(single)
    assert table[2].split() == ev2[0]["content"]["data"]["text/plain"].splitlines()[2].split()


def test_debate_sweep_errors(new_kernel):
    k = new_kernel()
    for c in PIPE[:2]:
        ok(k, c)
    ok(k, "%%debate ds\ntask = tri\nevidence = 3\njudge_steps = 20\nbaseline = sb\n"
          "seed = [1, 2]")
    ok(k, "%%policy solo\ntask = tri\nhidden = 32\nsft_steps = 10")
    cases = [
        # a baseline sweep needs the seeds it pairs with
        ("%%debate y\ntask = tri\njudge_steps = 20\nbaseline = sb",
         "ValueError", "cell:4:12: 'sb' is a sweep over seed (sb[seed=1], ...), a key this "
                       "cell does not set: name one point, or sweep seed here too"),
        ("%%debate y\ntask = tri\njudge_steps = 20\nbaseline = sb\nseed = [1, 3]",
         "ValueError", "cell:4:12: no point of sweep 'sb' matches this cell's point "
                       "[seed=3] (its points: sb[seed=1], sb[seed=2]); pair them by sweeping "
                       "the same keys with the same values"),
        ("%debate ds eval solo", "ValueError",
         "cell:1:17: debate 'ds' is a sweep: policy 'solo' must name a point of it by its keys "
         "(P[seed=s] for ds[seed=s])"),
        ("%debate dz eval sb[seed=1]", "NameError", "cell:1:9: unknown debate 'dz'"),
    ]
    for code, ename, evalue in cases:
        before = who(k)
        rep, _ = k.execute(code, timeout=LONG)
        c = rep["content"]
        assert c["status"] == "error", (code, c)
        assert (c["ename"], c["evalue"]) == (ename, evalue), code
        assert who(k) == before
    # a %%rl point without a debate of its seed
    ok(k, "%%policy s3\nfrom = sb[seed=1]\nseed = [3]")
    ok(k, PIPE[2])
    rep, _ = k.execute(PIPE_RL.replace("SEEDS", "[3]").replace("from = sb", "from = s3"),
                       timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error" and "no point of sweep 'ds' matches" in c["evalue"], c
