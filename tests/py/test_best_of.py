"""Best-of-n as a baseline (issue 15 item 5): %sample POLICY best_of=K reward=R [true=R2]
shows the selected answer per prompt; %eval POLICY... best_of=[K, ...] reward=R
[true=R2] gives, on %eval's held-out prompts, the mean ± standard error of R and R2 on the
best-of-K answer beside KL bound = log K - (K - 1)/K.  Checked against: the proxy
recomputed from the shown answer (partial + length), the nesting of the draws (a larger K
never selects a worse answer, in one call or across calls), the KL formula, independence
of the K list, pairing across policies, determinism at 1 and 2 threads, and the errors a
user can make (cell:LINE:COL)."""
import math

from conftest import ok, outputs

SETUP = ["%task one add digits=1",
         "%%policy base\ntask = one\nsft_steps = 60\nnoise = 0.6",
         "%%reward proxy\npartial + length",
         "%%reward truth\ncorrect",
         "%%reward outc\noutcome"]


def define(k):
    for c in SETUP:
        ok(k, c)


def table(msgs, first):
    """(caption, header fields, rows of fields) of the one display_data's text table."""
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    lines = m["content"]["data"]["text/plain"].splitlines()
    head = [i for i, l in enumerate(lines) if l.startswith(first)][0]
    rows = [l.split() for l in lines[head + 1:] if l.strip()]
    assert "text/html" in m["content"]["data"]
    return "\n".join(lines[:head]), lines[head].split(), rows


def proxy_of(completion):
    """partial + length of an add answer, from its text (no target needed for length)."""
    n = completion.count("<eos>") + len(completion.replace("<eos>", ""))
    return n


def test_sample_best_of(new_kernel):
    k = new_kernel()
    define(k)
    cap, head, rows1 = table(ok(k, "%sample base n=8 best_of=1 reward=proxy"), "prompt")
    assert head[:6] == ["prompt", "completion", "target", "correct", "proxy", "draw"], head
    assert all(r[5:8] == ["1", "of", "1"] for r in rows1), rows1
    cap, head, rows16 = table(ok(k, "%sample base n=8 best_of=16 reward=proxy true=truth"),
                              "prompt")
    assert head[4:7] == ["proxy", "truth", "draw"], head
    assert "best_of=16" in cap and "ties: the first drawn" in cap
    assert [r[0] for r in rows16] == [r[0] for r in rows1]  # the same prompts
    for a, b in zip(rows1, rows16):
        # nested draws: the best of 16 is never below draw 1 (the best of 1) under proxy
        assert float(b[4]) >= float(a[4]), (a, b)
        # the reward shown is the answer's: partial in [0, 1] on top of the length
        length = proxy_of(b[1])
        assert length <= float(b[4]) <= length + 1, b
        assert float(b[5]) == float(b[3])  # truth = correct
        assert 1 <= int(b[6]) <= 16 and b[8] == "16"
    assert sum(float(b[4]) for b in rows16) > sum(float(a[4]) for a in rows1)


def test_eval_best_of(new_kernel):
    k = new_kernel()
    define(k)
    ok(k, "%%policy other\ntask = one\nsft_steps = 30\nnoise = 0.3\nseed = 3")
    cap, head, rows = table(ok(k, "%eval base other best_of=[1, 2, 4, 16] reward=proxy "
                               "true=truth"), "policy")
    assert head == ["policy", "best", "of", "KL", "bound", "proxy", "truth"], head
    assert "upper bound" in cap and "same nested draws" in cap
    by = {}
    for r in rows:
        pol, kk, kl = r[0], int(r[1]), float(r[2])
        assert abs(kl - (math.log(kk) - (kk - 1) / kk)) < 1e-4, r
        by[(pol, kk)] = (float(r[3]), float(r[5]), float(r[6]), float(r[8]))
    assert sorted(by) == sorted((p, kk) for p in ("base", "other") for kk in (1, 2, 4, 16))
    for p in ("base", "other"):
        means = [by[(p, kk)][0] for kk in (1, 2, 4, 16)]
        assert means == sorted(means), means  # nested draws: non-decreasing in K
        assert means[-1] > means[0]
    # the numbers do not depend on the list of K, nor on which policies are listed
    _, _, rows4 = table(ok(k, "%eval other best_of=[4, 8] reward=proxy true=truth"), "policy")
    r4 = [r for r in rows4 if r[1] == "4"][0]
    assert (float(r4[3]), float(r4[5]), float(r4[6]), float(r4[8])) == by[("other", 4)]
    # determinism: the same text again, and at 2 threads
    msgs = ok(k, "%eval base best_of=[1, 16] reward=proxy")
    again = ok(k, "%eval base best_of=[1, 16] reward=proxy")
    ok(k, "%threads 2")
    two = ok(k, "%eval base best_of=[1, 16] reward=proxy")
    texts = [table(x, "policy")[2] for x in (msgs, again, two)]
    assert texts[0] == texts[1] == texts[2]


def test_errors(new_kernel):
    k = new_kernel()
    define(k)
    for code, want in (
            ("%sample base best_of=0 reward=proxy", "cell:1:22: 'best_of' must be in [1, 1024]"),
            ("%eval base best_of=[1, 2000] reward=proxy",
             "cell:1:24: 'best_of' must be in [1, 1024]"),
            ("%sample base best_of=4", "cell:1:22: best_of=K needs reward=R"),
            ("%sample base reward=proxy", "cell:1:21: reward= goes with best_of=K"),
            ("%eval base true=truth", "cell:1:17: true= goes with best_of=K"),
            ("%sample base best_of=4 reward=nope", "cell:1:31: unknown reward 'nope'"),
            ("%eval base best_of=4 reward=proxy true=outc",
             "cell:1:40: reward 'outc' reads feature 'outcome', which task features"),
            ("%sample base best_of=[1, 4] reward=proxy",
             "cell:1:22: 'best_of' cannot be swept"),
            ("%eval base best_of=4 reward=proxy k=4", "cell:1:37: k= is for avg@k"),
            ("%eval base best_of=[" + ", ".join(str(i) for i in range(1, 66)) + "] reward=proxy",
             "cell:1:20: best_of lists at most 64 values of K, not 65")):
        rep, _ = k.execute(code)
        assert rep["content"]["status"] == "error", code
        assert rep["content"]["evalue"].startswith(want), (code, rep["content"]["evalue"])
    ok(k, "%eval base best_of=2 reward=proxy")  # the kernel still answers


def help_text(k, magic):
    rep, msgs = k.execute(f"%help {magic}")
    assert rep["content"]["status"] == "ok"
    return str(rep["content"]) + "".join(str(m["content"]) for m in outputs(msgs))


def test_help(new_kernel):
    k = new_kernel()
    for magic in ("sample", "eval"):
        text = help_text(k, magic)
        assert "best_of=K reward=R" in text, text
    assert "log K" in help_text(k, "eval")
