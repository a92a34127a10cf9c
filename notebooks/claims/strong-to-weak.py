"""Prose of notebooks/strong-to-weak.ipynb against its outputs (tests/py/nbclaims.py)."""
import math

from nbclaims import Val, ratio

SEEDS = [1, 2, 3, 4, 5]


def greedy(c, who):
    t = c.table(9)
    return [t.get(f"{who}[seed={s}]", "greedy") for s in SEEDS]


def rng(vals):
    return min(vals, key=float), max(vals, key=float)


def paired(t, key):
    """(delta mean, se, count > 0) of a %compare row."""
    p = t.compare(key)
    return p.mean, p.se, int(p.up)


def check(c):
    c.given(2, "drop 40 % of the carries", "noise = 0.4 in cell 3")
    c.given(2, "that drop 80 %", "noise = 0.8 in cell 4")
    small, big, teacher, half = (greedy(c, w) for w in ("small", "big", "teacher", "thalf"))
    c.quote(16, "The small bases score 0.2979 to 0.3038, the big bases\n  0.7161 to 0.8727, "
            "the teachers 0.8986 to 0.9155", *rng(small), *rng(big), *rng(teacher))
    c.quote(16, "The half-way teachers score 0.9329 to\n  0.9587", *rng(half))
    c.claim(16, "above their own full RL run in every pipeline",
            all(h > t for h, t in zip(half, teacher)), f"{half} vs {teacher}")
    c.claim(16, "**The knowledge gap is real.**", max(small) < min(big), f"{small} vs {big}")

    means = c.table(11, means=True)
    m1, s1 = means.pm("w[reference=small,lambda=1]", "eval_accuracy")
    c.quote(16, "the students score\n  0.3688 ± 0.0729", m1, s1)
    lt = c.table(15)
    long_acc = lt.get("long", "eval_accuracy")
    t1 = c.table(9).get("thalf[seed=1]", "greedy")
    c.quote(16, "The long run reaches 0.4202 after 1600\n  steps against its teacher's 0.9329",
            long_acc, None, t1)
    kl = c.chart(15)["kl_teacher"]["long"]
    early, late = kl.window(350, 450), kl.window(1501, 1600)
    c.quote(16, "(1.89 around\n  step 400, 1.44 over the last 100 steps)", early, None, late, None)
    c.claim(16, "its `kl_teacher` is still falling, slowly",
            late < kl.window(1101, 1200) < early, "kl_teacher windows")
    c.claim(16, "Four times the training closes little of the gap",
            long_acc - m1 < (t1 - m1) / 4, f"{long_acc} - {m1} vs gap {t1 - m1}")
    c.given(16, "After 400 steps at λ = 1", "steps = 400 in cell 11")
    c.given(14, "four times as long", "steps = 1600 in cell 15 vs 400 in cell 11")

    cmp = c.table(12)
    d, se, up = paired(cmp, "w[reference=big,lambda=1]")
    c.quote(16, "(Δ 0.0000, no seed differs)", d)
    r = cmp.row("w[reference=big,lambda=1]")
    c.claim(16, "in every pipeline both references give the same run",
            r[cmp.header.index("\u0394>0")] == "0/5" and r[cmp.header.index("\u0394<0")] == "0/5"
            and float(cmp.get("w[reference=big,lambda=1]", "sd \u0394")) == 0, str(r))
    d15, se15, up15 = paired(cmp, "w[reference=small,lambda=1.5]")
    d2, se2, up2 = paired(cmp, "w[reference=small,lambda=2]")
    c.quote(16, "λ = 1.5 changes accuracy by +0.0022 (se 0.0032, 3 of 5 pipelines up)",
            None, d15, se15, Val(up15, "cell 12 Δ>0"), Val(5, "n"))
    c.quote(16, "λ = 2 by −0.0020 (se 0.0037, 2 of 5 up)", None, d2, se2, Val(up2, "cell 12 Δ>0"),
            Val(5, "n"))
    c.claim(16, "both within one standard error of zero", abs(d15) < se15 and abs(d2) < se2)

    rc15, rc2 = (paired(t, f"w[reference=big,lambda={l}]") for t, l in zip(c.tables(13), ("1.5", "2")))
    c.quote(16, "+0.0006 (se 0.0019, 3 of 5 up) at λ = 1.5", rc15[0], rc15[1],
            Val(rc15[2], "cell 13 Δ>0"), Val(5, "n"), None)
    c.quote(16, "+0.0089 (se 0.0059, 3 of 5 up) at λ = 2", rc2[0], rc2[1],
            Val(rc2[2], "cell 13 Δ>0"), Val(5, "n"), None)
    c.quote(16, "the difference is 1.5 standard errors", ratio(rc2[0], rc2[1]))
    c.claim(16, "The\n  sign at λ = 2 is the paper's", rc2[0] > 0)
    c.claim(16, "only 3 of 5\n  pipelines agree", rc2[2] == 3)
    c.claim(16, "this toy does not confirm the claim", rc2[0] < 2 * rc2[1] and rc15[0] < 2 * rc15[1])
    diffs = [abs(paired(cmp, k)[0]) for k in cmp.keys[1:]] + [abs(rc15[0]), abs(rc2[0])]
    c.quote(16, "(sd 0.0729 at\n  λ = 1)", s1, None)
    c.claim(16, "is larger than every paired difference above", s1 > max(diffs), f"{s1} vs {diffs}")

    # how to read: the binomial sd of one evaluation
    n = c.value(9, r"same (\d+) prompts")
    c.given(16, "the same 2011 held-out prompts", "the split %eval reports (checked below)")
    c.claim(16, "the same 2011 held-out prompts", int(n) == 2011, str(n))
    c.quote(17, "with 2011 prompts a single accuracy near 0.37 has a binomial sd\n  of about 0.011",
            n, m1, Val(math.sqrt(m1 * (1 - m1) / n), "sqrt(p(1-p)/n), p = cell 11's mean at λ = 1"))
    c.given(17, "With n = 5 pipelines", "seed = [1, 2, 3, 4, 5]")
    c.claim(17, "the sign counts (3/5)", rc2[2] == 3 and up15 == 3)
    c.quote(17, "The full RL teachers\n(0.8986 to 0.9155) already sit *past* the half-way points "
            "(0.9329 to 0.9587)", *rng(teacher), *rng(half))
