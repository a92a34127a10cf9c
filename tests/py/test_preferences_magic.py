"""%%preferences NAME (issue 15 item 1, magics side), end to end (jupyter_client): a
simulated set shows its counts (train / held-out, heldout defaulting to pairs / 4), the
labeler's agreement with its true reward (exactly 1 at label_temperature 0 and flip 0:
the deterministic labeler always chooses the higher reward), ties and flips, and an
examples table (HTML + text); the same cell gives the same output again and at %threads 2
(rt_pref.h: the streams do not depend on the thread count), another seed another set;
%export FILE.jsonl NAME writes rt_pref_write's JSONL, and file = FILE.jsonl reads back the
same pairs (same examples and counts; exporting the read set gives the same bytes); every
bad input is one error with its exact evalue at cell:LINE:COL and leaves the session as it
was; %who lists the set, %del and %reset remove it."""
import json
import os
import re
import tempfile

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

SETUP = [
    "%task add add digits=1",
    "%task tri triage features=4 values=3 actions=4 good=2",
    "%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6",
    "%%reward true\ncorrect + partial",
    "%%reward tr\noutcome",
    "%%reward const\n0 * correct",
]
SIM = "%%preferences p\nfrom = base\nlabeler = true\npairs = 40"


def define(k):
    for c in SETUP:
        ok(k, c)


@pytest.fixture(scope="module")
def pk(kernel):
    define(kernel)
    return kernel


def shown(msgs):
    """(stdout text, [(text/plain, text/html) of each display])"""
    outs = outputs(msgs)
    disp = [(m["content"]["data"]["text/plain"], m["content"]["data"]["text/html"])
            for m in outs if m["msg_type"] == "display_data"]
    return stream_text(msgs), disp


def examples(text):
    """The example rows of the table's text twin (without its caption and header)."""
    lines = [l for l in text.splitlines() if l.strip()]
    head = [i for i, l in enumerate(lines) if l.startswith("split")][0]
    return lines[head + 1:]


def test_simulated_counts_agreement_examples(pk):
    out, disp = shown(ok(pk, SIM))
    lines = out.splitlines()
    assert lines[0] == ("preferences p: 40 train / 10 held-out pairs on add, from base "
                        "labeled by true")
    # T = 0, flip = 0: the chosen answer always has the higher true reward
    assert lines[1] == ("labeler agreement with the true reward (non-tie pairs): train 1, "
                        "held-out 1"), lines[1]
    m = re.fullmatch(r"ties: train (\d+), held-out (\d+); flipped: train 0, held-out 0", lines[2])
    assert m and int(m.group(1)) < 40 and int(m.group(2)) <= 10, lines[2]
    (text, html), = disp
    rows = examples(text)
    assert [r.split()[0] for r in rows] == ["train"] * 3 + ["held-out"] * 2, rows
    for r in rows:  # prompt, two answers through <eos>, two true rewards
        f = r.split()
        assert re.fullmatch(r"<add>\d\+\d=", f[1]) and f[2].endswith("<eos>"), r
        assert float(f[4]) >= float(f[5]), r  # chosen never below rejected here
    assert html.count("<tr>") >= 6 and "r(chosen)" in html and "&lt;add&gt;" in html
    # label noise: flipped pairs are counted and lower the agreement
    out, _ = shown(ok(pk, SIM.replace("p\n", "pn\n") + "\nflip = 0.3\nheldout = 0"))
    lines = out.splitlines()
    assert lines[0].startswith("preferences pn: 40 train / 0 held-out pairs"), lines[0]
    m = re.fullmatch(r"ties: train \d+, held-out 0; flipped: train (\d+), held-out 0", lines[2])
    assert m and 3 <= int(m.group(1)) <= 22, lines[2]  # Binomial(40, 0.3): mean 12, sd 2.9
    a = re.search(r"train ([0-9.]+), held-out n/a", lines[1])
    assert a and float(a.group(1)) < 1, lines[1]


def exported(k, name):
    """The set's JSONL (%export): every pair, not only the examples shown."""
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    ok(k, f"%export {path} {name}")
    with open(path) as f:
        text = f.read()
    os.unlink(path)
    return text


def test_deterministic_and_thread_independent(new_kernel):
    k = new_kernel()
    define(k)
    ok(k, "%threads 1")
    body = SIM + "\nper_prompt = 3\nlabel_temperature = 0.5"
    first = shown(ok(k, body))
    one = exported(k, "p")
    again = shown(ok(k, body))
    assert again[0] == first[0] + "replaced preferences 'p'\n"
    assert again[1] == first[1] and exported(k, "p") == one
    ok(k, "%threads 2")
    two = shown(ok(k, body))
    assert two[1] == first[1] and two[0] == again[0]
    assert exported(k, "p") == one  # every pair, bit for bit (17 significant digits)
    # the stream is the session seed's for NAME, split by seed
    ok(k, body.replace("p\n", "p2\n", 1))
    assert exported(k, "p2") != one
    ok(k, body + "\nseed = 1")
    assert exported(k, "p") != one
    ok(k, "%seed 5")
    ok(k, body)
    assert exported(k, "p") != one


def test_file_round_trip(pk):
    d = tempfile.mkdtemp()
    a, b = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl")
    out, disp = shown(ok(pk, SIM + "\nlabel_temperature = 0.5"))
    out2 = stream_text(ok(pk, f"%export {a} p"))
    assert out2 == f"wrote 50 preference pairs of p to {a}\n"
    with open(a) as f:
        lines = f.read().splitlines()
    assert len(lines) == 50 and all(l.startswith('{"prompt":') for l in lines), lines[0]
    rout, rdisp = shown(ok(pk, f"%%preferences q\nfile = {a}\ntask = add"))
    assert rout.splitlines()[0] == (f"preferences q: 40 train / 10 held-out pairs on add, "
                                    f"read from {a}")
    assert examples(rdisp[0][0]) == examples(disp[0][0])
    # the table shows the set's pairs: rows = the first 3 train and 2 held-out lines
    rows = examples(disp[0][0])
    for row, i in zip(rows, [0, 1, 2, 40, 41]):
        j = json.loads(lines[i])
        f = row.split()
        assert f[1:4] == [j["prompt"], j["chosen"], j["rejected"]], (row, j)
        # the table rounds to mag_fmt_num's 4 significant digits: half a unit of the 4th
        for shown_r, r in ((f[4], j["score_chosen"]), (f[5], j["score_rejected"])):
            assert abs(float(shown_r) - r) <= 5e-4 * max(1.0, abs(r)), (row, j)
    ok(pk, f"%export {b} q")
    with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read()


def bad_file(text):
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


GOOD_LINE = '{"prompt": "<add>1+2=", "chosen": "3<eos>", "rejected": "4<eos>"}\n'


def bad_cases():
    tok = bad_file(GOOD_LINE +
                   '{"prompt": "<add>1+2=", "chosen": "3<eos>", "rejected": "x<eos>"}\n')
    miss = bad_file('{"prompt": "<add>1+2=", "chosen": "3<eos>"}\n')
    return [
        ("%%preferences x\nfile = f.jsonl\ntask = add\npairs = 3", "ValueError",
         "cell:4:1: key 'pairs' does nothing with file = ...: the file's pairs are used as they "
         "are (remove it, or simulate without file)"),
        ("%%preferences x\nfile = f.jsonl\ntask = add\nfrom = base", "ValueError",
         "cell:4:1: key 'from' does nothing with file = ...: the file's pairs are used as they "
         "are (remove it, or simulate without file)"),
        ("%%preferences x\nfile = f.jsonl", "ValueError",
         "cell:2:8: a preference file needs task = TASK (its tokens are the task's)"),
        ("%%preferences x\nfrom = bsae\nlabeler = true", "NameError",
         "cell:2:8: unknown policy 'bsae' (did you mean 'base'?)"),
        ("%%preferences x\nfrom = base\nlabeler = ture", "NameError",
         "cell:3:11: unknown reward 'ture' (did you mean 'true'?)"),
        ("%%preferences x\nfrom = base\nlabeler = true\ntask = ad", "NameError",
         "cell:4:8: unknown task 'ad' (did you mean 'add'?)"),
        ("%%preferences x\nfrom = base\nlabeler = tr", "ValueError",
         "cell:3:11: reward 'tr' reads feature 'outcome', which task features (correct, partial, "
         "length, format, eos) do not include"),
        ("%%preferences x\nfrom = base\nlabeler = true\nflip = 0.6", "ValueError",
         "cell:4:8: 'flip' must be in [0, 0.5]"),
        ("%%preferences x\nfrom = base\nlabeler = true\npairs = 0", "ValueError",
         "cell:4:9: 'pairs' must be >= 1"),
        ("%%preferences x\nfrom = base\nlabeler = true\nper_prompt = 1", "ValueError",
         "cell:4:14: 'per_prompt' must be in [2, 16]"),
        ("%%preferences x\nfrom = base\nlabeler = true\ntemperature = 0", "ValueError",
         "cell:4:15: 'temperature' must be > 0"),
        ("%%preferences x\nfrom = base\nlabeler = true\nlabel_temperature = -1", "ValueError",
         "cell:4:21: 'label_temperature' must be >= 0"),
        ("%%preferences x\nfrom = base\nlabeler = true\nties = dro", "ValueError",
         "cell:4:8: unknown value 'dro' for 'ties' (did you mean 'drop'?); expected coin or drop"),
        # found only by simulating: every pair a tie, after 100 prompts per pair asked
        ("%%preferences x\nfrom = base\nlabeler = const\nties = drop\npairs = 10", "ValueError",
         "cell:4:8: ties = drop: only 0 of 10 train pairs after 1000 prompts (every other pair "
         "was a tie of the labeler)"),
        ("%%preferences x\nfrom = base", "ValueError",
         "cell:1:3: simulated preferences need labeler = REWARD (the hidden true utility)"),
        ("%%preferences x\nlabeler = true", "ValueError",
         "cell:1:3: %%preferences needs from = POLICY and labeler = REWARD (simulated) or "
         "file = PATH with task = TASK"),
        (f"%%preferences x\nfile = {tok}\ntask = add", "ValueError",
         f"cell:2:8: {tok}:2:58: token 'x<eos>' is not in the vocabulary of task add"),
        (f"%%preferences x\nfile = {miss}\ntask = add", "ValueError",
         f"cell:2:8: {miss}:1:43: missing column 'rejected'"),
        ("%%preferences x\nfile = /nonexistent/p.jsonl\ntask = add", "RuntimeError",
         "cell:2:8: /nonexistent/p.jsonl: cannot open"),
    ]


def test_bad_input_exact_error_nothing_stored(pk):
    for code, ename, evalue in bad_cases():
        before = who(pk)
        rep, msgs = pk.execute(code, timeout=60)
        c = rep["content"]
        assert c["status"] == "error", (code, c)
        assert (c["ename"], c["evalue"]) == (ename, evalue), code
        assert [m["msg_type"] for m in outputs(msgs)] == ["error"], code
        assert who(pk) == before, code


def test_who_del_reset_help_export_errors(new_kernel):
    k = new_kernel()
    define(k)
    ok(k, SIM)
    w = who(k)
    assert ("preference sets:\n  p  40 train / 10 held-out pairs on add, from base labeled by "
            "true") in w
    full = stream_text(ok(k, "%who p"))
    assert full.startswith("preferences p: 40 train / 10 held-out") and "task = add" in full
    rep, _ = k.execute("%export /tmp/p.csv p")
    assert rep["content"]["evalue"] == ("cell:1:9: preference set 'p' exports as JSONL: the "
                                        "file name must end in .jsonl"), rep["content"]
    assert stream_text(ok(k, "%del p kind=preferences")) == "deleted preferences 'p'\n"
    assert "preference sets" not in who(k)
    ok(k, SIM)
    assert "reset: deleted" in stream_text(ok(k, "%reset"))
    assert "preference sets" not in who(k)
    rep, msgs = k.execute("%help preferences")
    text = str(rep["content"]) + "".join(str(m["content"]) for m in outputs(msgs))
    assert "label_temperature" in text and "%export FILE.jsonl NAME" in text


def test_task_redefinition_keeps_the_sets_task(new_kernel):
    """One binding rule: a set keeps the task it was made with (its own copy; the session
    re-points its task name to the kept old definition)."""
    k = new_kernel()
    define(k)
    ok(k, SIM)
    one = exported(k, "p")
    out = stream_text(ok(k, "%task add add digits=2"))
    assert out.startswith("redefined task 'add': what was made with the previous definition "
                          "(policies base; runs base; preference sets p) keeps it, now named "
                          "'add.2'"), out
    assert "task = add.2" in stream_text(ok(k, "%who p"))
    assert exported(k, "p") == one


def test_interrupt_stops_a_large_simulation_and_stores_nothing(new_kernel):
    """A simulation polls the kernel's interrupt between model calls (rt_pref_sim_config
    .stop): a million pairs (tens of seconds) stop within a second of the interrupt, the
    cell ends with the interrupted error, and no partial set is stored."""
    import time
    from conftest import S, sanitized_kernel
    k = new_kernel()
    define(k)
    k.flush()
    msg_id = k.kc.execute("%%preferences big\nfrom = base\nlabeler = true\npairs = 1000000")
    while True:
        m = k.kc.get_iopub_msg(timeout=10)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input":
            break
    time.sleep(0.5)  # simulating now
    t0 = time.perf_counter()
    k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
    rep = k.reply(msg_id, timeout=60)
    dt = time.perf_counter() - t0
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == S["interrupted_ename"], c
    assert re.search(r"%%preferences big: interrupted after \d+ of 1000000 train pairs",
                     c["evalue"]), c["evalue"]
    assert dt < (5.0 if sanitized_kernel() else 1.0), f"{dt:.2f} s after the interrupt"
    assert "big" not in who(k)


def test_seed_sweep_pairs_with_the_policy_sweep(new_kernel):
    """seed = [1, 2] makes p[seed=1] and p[seed=2], each the set a one-point cell with
    from = base[seed=s] and seed = s makes (the stream is NAME's, split by the seed); a
    sweep over pairs names its points by both keys; a sweep `from` needs the cell to sweep
    its key too."""
    k = new_kernel()
    for c in SETUP[:1] + ["%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6\n"
                          "seed = [1, 2]", "%%reward true\ncorrect + partial"]:
        ok(k, c)
    body = "%%preferences p\nfrom = base\nlabeler = true\npairs = 40\nseed = [1, 2]"
    out = stream_text(ok(k, body))
    assert "preferences p[seed=1]: 40 train / 10 held-out pairs on add, from base[seed=1]" in out
    assert "preferences p[seed=2]: 40 train / 10 held-out pairs on add, from base[seed=2]" in out
    sets = [exported(k, f"p[seed={s}]") for s in (1, 2)]
    assert sets[0] != sets[1]
    for s in (1, 2):
        ok(k, f"%%preferences p\nfrom = base[seed={s}]\nlabeler = true\npairs = 40\nseed = {s}")
        assert exported(k, "p") == sets[s - 1]
    out = stream_text(ok(k, body.replace("pairs = 40", "pairs = [20, 40]")))
    assert "preferences p[pairs=20,seed=1]: 20 train / 5 held-out" in out
    assert "preferences p[pairs=40,seed=2]: 40 train / 10 held-out" in out
    assert exported(k, "p[pairs=40,seed=2]") == sets[1]
    rep, _ = k.execute("%%preferences q\nfrom = base\nlabeler = true\npairs = 40", timeout=60)
    assert rep["content"]["evalue"] == ("cell:2:8: 'base' is a sweep over seed (base[seed=1], ...), a key this cell "
                   "does not set: name one point, or sweep seed here too")
