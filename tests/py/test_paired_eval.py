"""Paired evaluation (issue 12, user-audit B2): held-out prompts and draws come from the
session's stream of the task, never from a policy's name, so
  - identical weights under two names score the same (the audit's repro cell);
  - `%eval a b c` scores several policies on the same prompts with the paired difference
    to the first and its standard error;
  - every point of a `%%rl` / `%%opd` / `%%policy` sweep is evaluated on those same
    prompts: a run's final eval_accuracy is `%eval NAME n=<eval_prompts> k=0`'s greedy;
  - `%sample a` and `%sample b` show the same prompts.
"""
import math
import os
import re
import tempfile

import pytest

from conftest import KERNEL_NAME, ok, outputs, stream_text

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")


def table(msgs):
    """The one table a cell displayed: (caption, header, rows), cells split at 2+ spaces."""
    texts = [m["content"]["data"]["text/plain"] for m in outputs(msgs)
             if m["msg_type"] == "display_data" and "text/html" in m["content"]["data"]]
    assert len(texts) == 1, texts
    lines = texts[0].rstrip("\n").split("\n")
    split = [re.split(r" {2,}", l.strip()) for l in lines[1:]]
    return lines[0], split[0], split[1:]


def error(k, code):
    rep, _ = k.execute(code)
    c = rep["content"]
    assert c["status"] == "error", (code, c)
    return c["evalue"]


def test_same_weights_under_two_names_score_the_same(kernel, new_kernel):
    """The audit's B2 repro: the same file loaded as b and as base gave 0.34 vs 0.40
    (n=100); per-domain counts differed for a mix."""
    path = os.path.join(tempfile.mkdtemp(), "b.pol")
    ok(kernel, "%task ad add digits=2")
    ok(kernel, "%%policy b300\ntask = ad\nsft_steps = 60\nbatch = 64\nnoise = 0.5")
    ok(kernel, "%%save b300 %s" % path)
    k = new_kernel()
    ok(k, "%task ad add digits=2")
    ok(k, "%%load b %s" % path)
    ok(k, "%%load base %s" % path)
    tb = table(ok(k, "%eval b task=ad n=100 k=0"))
    tbase = table(ok(k, "%eval base task=ad n=100 k=0"))
    assert tb[1:] == tbase[1:], (tb, tbase)
    assert tb[2][0][:2] == ["ad", "100"], tb
    # sampled figures too: the same draws
    assert table(ok(k, "%eval b n=64 k=4"))[1:] == table(ok(k, "%eval base n=64 k=4"))[1:]
    # a mix: the same domain counts for both names
    ok(k, "%task so sort length=3")
    ok(k, "%task mx mix tasks=[ad, so]")
    ok(k, "%%policy m\ntask = mx\nsft_steps = 0")
    ok(k, "%%policy m2\nfrom = m")
    t1, t2 = table(ok(k, "%eval m n=100 k=0")), table(ok(k, "%eval m2 n=100 k=0"))
    assert [r[0] for r in t1[2]] == ["ad", "so", "all"], t1
    assert t1[2] == t2[2], (t1, t2)
    # %sample: the same prompts and draws for both names
    s1 = table(ok(k, "%sample b n=4"))[2]
    s2 = table(ok(k, "%sample base n=4"))[2]
    assert s1 == s2, (s1, s2)


def test_eval_many_is_one_paired_table(kernel):
    ok(kernel, "%task pe add digits=2")
    ok(kernel, "%%policy pbase\ntask = pe\nsft_steps = 100\nbatch = 64\nnoise = 0.5")
    ok(kernel, "%%reward pr\ncorrect")
    ok(kernel, "%%rl ptuned\nfrom = pbase\nreward = pr\nsteps = 15\nseed = [1, 2]\n"
               "eval_every = 5\neval_prompts = 128")
    n = 128
    cap, hdr, rows = table(ok(kernel, "%%eval pbase ptuned[seed=1] ptuned[seed=2] n=%d" % n))
    assert cap.startswith("%%eval: held-out accuracy on the same %d prompts of pe" % n), cap
    assert hdr == ["policy", "greedy", "avg@8", "pass@8", "greedy − pbase", "avg@8 − pbase"]
    assert [r[0] for r in rows] == ["pbase", "ptuned[seed=1]", "ptuned[seed=2]"]
    assert rows[0][4:] == ["—", "—"], rows
    singles = {}
    for name in ("pbase", "ptuned[seed=1]", "ptuned[seed=2]"):
        _, h1, r1 = table(ok(kernel, "%%eval %s n=%d" % (name, n)))
        assert h1 == ["task", "prompts", "greedy", "avg@8", "pass@8"] and len(r1) == 1
        singles[name] = [float(x) for x in r1[0][2:]]
    for r in rows:
        # each row is what %eval of that policy alone prints (same prompts, same draws)
        assert [float(x) for x in r[1:4]] == singles[r[0]], (r, singles)
    for r in rows[1:]:
        for col, (mean_s, se_s) in ((1, r[4].split(" ± ")), (2, r[5].split(" ± "))):
            diff = singles[r[0]][col - 1] - singles["pbase"][col - 1]
            # the mean paired difference is the difference of the means (to the table's
            # rounding: 4 significant digits each, 3 decimals for the difference)
            assert abs(float(mean_s) - diff) <= 1.5e-3, (r, diff)
            se = float(se_s)
            # a paired SE: positive, below the unpaired bound sqrt(2 * 0.25 / n)
            assert 0 < se <= math.sqrt(0.5 / n) + 1e-3, r
    # each sweep point's final eval_accuracy is %eval's greedy on the same prompts
    lines = outputs(ok(kernel, "%runs"))[0]["content"]["data"]["text/plain"].splitlines()
    head = re.split(r" {2,}", lines[0].strip())
    ie = head.index("eval_accuracy")
    for name in ("ptuned[seed=1]", "ptuned[seed=2]"):
        row = [re.split(r" {2,}", l.strip()) for l in lines if l.startswith(name + " ")][0]
        assert abs(float(row[ie]) - singles[name][0]) < 1e-4, (name, row, singles[name])
    # k=0: the greedy columns only
    _, hdr0, rows0 = table(ok(kernel, "%eval pbase ptuned[seed=1] n=64 k=0"))
    assert hdr0 == ["policy", "greedy", "greedy − pbase"] and len(rows0) == 2, (hdr0, rows0)


def tables(msgs):
    """Every table a cell displayed: [(caption, header, rows)]."""
    out = []
    for m in outputs(msgs):
        if m["msg_type"] == "display_data" and "text/html" in m["content"]["data"]:
            lines = m["content"]["data"]["text/plain"].rstrip("\n").split("\n")
            split = [re.split(r" {2,}", l.strip()) for l in lines[1:]]
            out.append((lines[0], split[0], split[1:]))
    return out


def test_eval_pass_at(kernel):
    """pass_at=[...]: pass@j from the k samples per prompt (the unbiased estimator), one
    row per policy and a paired difference row per further policy."""
    ok(kernel, "%task pk add digits=2")
    ok(kernel, "%%policy pkb\ntask = pk\nsft_steps = 100\nbatch = 64\nnoise = 0.5")
    ok(kernel, "%%policy pkc\nfrom = pkb\nsft_steps = 60\nnoise = 0")
    n, k = 128, 16
    (cap, hdr, rows), (cap2, hdr2, rows2) = tables(
        ok(kernel, "%%eval pkb pkc n=%d k=%d pass_at=[1, 2, 8, 16]" % (n, k)))
    assert hdr2 == ["policy", "pass@1", "pass@2", "pass@8", "pass@16"], hdr2
    assert cap2.startswith("pass@j on the same %d prompts, estimated without bias from the "
                           "%d samples per prompt" % (n, k)), cap2
    assert [r[0] for r in rows2] == ["pkb", "pkc", "pkc − pkb"], rows2
    for main, pa in zip(rows, rows2[:2]):
        # pass@1 is avg@k and pass@k is the plain pass@k of the accuracy table
        assert abs(float(pa[1]) - float(main[2])) < 1e-3, (main, pa)
        assert abs(float(pa[4]) - float(main[3])) < 1e-3, (main, pa)
        v = [float(x) for x in pa[1:]]
        assert v == sorted(v) and 0 <= v[0] and v[-1] <= 1, v  # pass@j grows with j
    for q in range(1, 5):  # the paired mean is the difference of the means (to rounding)
        m, se = rows2[2][q].split(" ± ")
        assert abs(float(m) - (float(rows2[1][q]) - float(rows2[0][q]))) < 2e-4, rows2
        assert 0 <= float(se) < 0.1, rows2
    # one policy: no difference rows, the same figures as in the pair
    _, _, one = tables(ok(kernel, "%%eval pkc n=%d k=%d pass_at=[1, 2, 8, 16]" % (n, k)))[1]
    assert one == [rows2[1]], (one, rows2)
    # errors at the value
    assert error(kernel, "%eval pkb k=4 pass_at=[1, 8]") == (
        "cell:1:27: pass_at=8 needs at least 8 samples per prompt: set k=8 or more (k is 4)")
    assert error(kernel, "%eval pkb k=4 pass_at=[1, 1]").startswith("cell:1:")
    assert error(kernel, "%eval pkb pass_at=0").startswith("cell:1:19:")
    ok(kernel, "%%reward pkr\ncorrect")
    assert error(kernel, "%eval pkb pass_at=4 best_of=4 reward=pkr") == (
        "cell:1:19: pass_at= is for accuracy; best_of=K replaces it by best-of-K (drop one)")


def test_every_trainer_evaluates_on_the_session_prompts(kernel):
    """%%policy and %%opd points too: the last eval_accuracy equals %eval's greedy."""
    ok(kernel, "%task te add digits=2")
    ok(kernel, "%%policy tb\ntask = te\nsft_steps = 40\nbatch = 64\neval_every = 20\n"
               "seed = [1, 2]")
    ok(kernel, "%%opd ts\nfrom = tb[seed=1]\nteacher = tb[seed=2]\nsteps = 6\n"
               "eval_every = 3\neval_prompts = 100\nseed = [1, 2]")
    runs = outputs(ok(kernel, "%runs"))[0]["content"]["data"]["text/plain"].splitlines()
    head = re.split(r" {2,}", runs[0].strip())
    ie = head.index("eval_accuracy")
    for name, n in (("tb[seed=1]", 1024), ("tb[seed=2]", 1024), ("ts[seed=1]", 100),
                    ("ts[seed=2]", 100)):
        row = [re.split(r" {2,}", l.strip()) for l in runs if l.startswith(name + " ")]
        assert row, (name, runs)
        greedy = float(table(ok(kernel, "%%eval %s n=%d k=0" % (name, n)))[2][0][2])
        assert abs(float(row[0][ie]) - greedy) < 1e-4, (name, row[0], greedy)


def test_eval_many_errors(kernel):
    ok(kernel, "%task xa add digits=2")
    ok(kernel, "%task xs sort length=3")
    ok(kernel, "%%policy xpa\ntask = xa\nsft_steps = 0")
    ok(kernel, "%%policy xps\ntask = xs\nsft_steps = 0")
    assert error(kernel, "%eval xpa xpa") == "cell:1:11: policy 'xpa' is listed twice"
    assert error(kernel, "%eval xpa xps") == (
        "cell:1:11: policy 'xps' was trained on task 'xs', 'xpa' on 'xa': give task=TASK to "
        "compare them on the same prompts")
    assert error(kernel, "%eval xpa nope").startswith("cell:1:11: unknown policy 'nope'")
    assert error(kernel, "%eval") == "cell:1:2: %eval needs a POLICY: %eval POLICY... [key=value ...]"
    # task= puts both on one task's prompts
    _, hdr, rows = table(ok(kernel, "%eval xpa xps task=xa n=32 k=0"))
    assert [r[0] for r in rows] == ["xpa", "xps"], rows
