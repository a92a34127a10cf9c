"""Prose of notebooks/reward-scaling.ipynb against its outputs (tests/py/nbclaims.py)."""
import math

from nbclaims import Val, ratio

CS = ["0.1", "1", "10"]
SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)
# Samuelson: no sample of n values lies further than (n - 1)/sqrt(n) sample sd from their mean
SAMUELSON = (N - 1) / N ** 0.5
# the per-step metrics besides the reward (which is c times larger by definition)
OTHERS = ["accuracy", "eval_accuracy", "kl_ref", "kl_est", "entropy", "length"]
# markdown cells
INTRO, BASES, REWARD, GRPO_MD, GRPO_RES, ADAM_MD, ADAM_RES = 0, 2, 5, 7, 10, 11, 15
KL_MD, KL_RES, EXERCISE, SUMMARY = 16, 19, 20, 23
# code cells
TASK, BASE, EVAL, GRPO, GRPO_CMP, ADAM, ADAM_PLOT, ADAM_CMP = 1, 3, 4, 8, 9, 12, 13, 14
KL, KL_CMP, SAME, SAME_CMP = 17, 18, 21, 22


def same_curves(series):
    a = series[0]
    return all(s.y == a.y and s.lo == a.lo and s.hi == a.hi for s in series[1:])


def first_difference(a, b):
    """The first step where two series (mean and band over the seeds) differ; None if never."""
    return next((x for x, p, q, l1, l2, h1, h2 in zip(a.x, a.y, b.y, a.lo, b.lo, a.hi, b.hi)
                 if p != q or l1 != l2 or h1 != h2), None)


def same_seed(t, name, p, q, s, cols=OTHERS):
    """Per-seed rows NAME[p,seed=s] and NAME[q,seed=s] agree in every column of `cols`."""
    return all(t.get(f"{name}[{p},seed={s}]", col) == t.get(f"{name}[{q},seed={s}]", col)
               for col in cols)


def last_digit_apart(t, p, q, col):
    """Rows p and q of column col differ by at most one unit of the last printed digit."""
    a, b = t.row(p)[t.header.index(col)], t.row(q)[t.header.index(col)]
    unit = 10.0 ** -len(a.split(".")[1]) if "." in a else 1.0
    return abs(float(a) - float(b)) <= unit * 1.0001


def paired(t, key):
    """(Δ mean, se Δ, sd Δ, count > 0, count < 0) of a %compare row."""
    p = t.compare(key)
    return p.mean, p.se, p.sd, p.up, p.down


def check(c):
    n = Val(N, "seed = [1, 2, 3, 4, 5]")
    c.given(BASES, "60 % forget every carry", "noise = 0.6 in the %%policy cell")
    c.given(REWARD, "default 1", "the reward's header c=1")
    c.given(GRPO_MD, "ε = 10⁻⁶", "the runtime's constant")
    c.given(GRPO_MD, "group of 8 answers", "group = 8, the default of %%rl")
    c.given(ADAM_MD, "Adam's ε (10⁻⁸)", "the runtime's Adam epsilon")
    c.given(ADAM_MD, "clipped at 1", "the runtime's gradient clip")
    ev = c.table(EVAL)
    base = {s: ev.get(f"base[seed={s}]", "greedy") for s in SEEDS}
    prompts = c.value(EVAL, r"same (\d+) prompts")

    # 1. GRPO
    ch, t, means = c.chart(GRPO), c.table(GRPO), c.table(GRPO, means=True)
    c.claim(GRPO_RES, "In the `accuracy` panel the three curves (mean and band over the 5 seeds) "
            "coincide\nstep by step", same_curves([ch["accuracy"][f"c={x}"] for x in CS]))
    near = ["kl_est", "entropy"]
    exact = [col for col in OTHERS if col not in near]
    c.claim(GRPO_RES, "so does every column of the\nsummary table, for every seed, except `reward` "
            "(c times larger) and the last printed\ndigit of `kl_est` and `entropy`",
            all(same_seed(t, "grpo", "c=1", f"c={x}", s, exact)
                and all(last_digit_apart(t, f"grpo[c=1,seed={s}]", f"grpo[c={x},seed={s}]", col)
                        for col in near)
                for x in ("0.1", "10") for s in SEEDS))
    kl = [ch["kl_ref"][f"c={x}"] for x in CS]
    dmax = max(abs(p - q) for a in kl for b in kl
               for u, v in ((a.y, b.y), (a.lo, b.lo), (a.hi, b.hi)) for p, q in zip(u, v))
    c.quote(GRPO_RES, "by at most 7e-06\nbetween them", Val(dmax, "largest difference of the kl_ref "
            f"chart data (mean, lo, hi) between the c values, output cell {GRPO}"))
    c.claim(GRPO_RES, "by at most 7e-06", dmax <= 7.5e-06, dmax)
    c.quote(GRPO_RES, "0.7344 ± 0.0348 for every c", *means.pm("grpo[c=1]", "eval_accuracy"))
    cmp = c.table(GRPO_CMP)
    zero = [paired(cmp, f"grpo[c={x}]") for x in ("0.1", "10")]
    c.claim(GRPO_RES, "Δ 0 with sd 0 in every seed",
            all(d == 0 and sd == 0 and up == 0 and down == 0 for d, _, sd, up, down in zero),
            str(zero))

    # 2. RLOO with Adam
    ch, t = c.chart(ADAM), c.table(ADAM)
    g = c.chart(ADAM_PLOT)["grad_norm"]
    gm = {x: Val(sum(g[f"c={x}"].y) / len(g[f"c={x}"].y),
                 f"mean over steps of output cell {ADAM_PLOT} grad_norm adam[c={x}]") for x in CS}
    c.quote(ADAM_RES, "averages 2.71 for c = 1 and 27.1 for c = 10", gm["1"], None, gm["10"], None)
    c.quote(ADAM_RES, "and 0.27 for c = 0.1", gm["0.1"], None)
    low = {x: min(m - SAMUELSON * (h - m) for m, h in zip(g[f"c={x}"].y, g[f"c={x}"].hi))
           for x in CS}
    high = max(m + SAMUELSON * (h - m) for m, h in zip(g["c=0.1"].y, g["c=0.1"].hi))
    c.claim(ADAM_RES, "above the clip at 1 at every step\nand in every seed",
            low["1"] > 1 and low["10"] > 1, f"lowest possible seed value {low}")
    c.claim(ADAM_RES, "which never reaches the clip", high < 1, f"highest possible seed value {high}")
    c.claim(ADAM_RES, "Both gradients were clipped", low["1"] > 1 and low["10"] > 1)
    same = [s for s in SEEDS if same_seed(t, "adam", "c=1", "c=10", s)]
    c.quote(ADAM_RES, "at all 100 steps in 4 of the 5\n  seeds", None,
            Val(len(same), f"seeds whose rows c=1 and c=10 agree, output cell {ADAM}"), n)
    c.quote(ADAM_RES, "In seed 3 the accuracy curves",
            Val(sorted(set(SEEDS) - set(same))[0] if len(same) == N - 1 else math.nan,
                f"the seed whose rows differ, output cell {ADAM}"))
    acc = ch["accuracy"]
    first10 = Val(first_difference(acc["c=1"], acc["c=10"]) or math.nan,
                  f"first step where the accuracy data of adam[c=1] and adam[c=10] differ, "
                  f"output cell {ADAM}")
    c.quote(ADAM_RES, "at step 91. Both gradients", first10)
    c.quote(ADAM_RES, "after 90 steps", Val(first10 - acc["c=1"].x[0], "steps before it"))
    c.quote(ADAM_RES, "coincide up to step 90", Val(first10 - 1, "the step before it"))
    first01 = Val(first_difference(acc["c=1"], acc["c=0.1"]) or math.nan,
                  f"first step where the accuracy data of adam[c=0.1] and adam[c=1] differ, "
                  f"output cell {ADAM}")
    c.quote(ADAM_RES, "follows them for the first 4 steps in every seed",
            Val(first01 - acc["c=1"].x[0], "steps before it"))
    c.quote(ADAM_RES, "differ at step 5. Its", first01)
    cmp = c.table(ADAM_CMP)
    d01, se01, _, up01, down01 = paired(cmp, "adam[c=0.1]")
    d10, se10, _, up10, down10 = paired(cmp, "adam[c=10]")
    c.quote(ADAM_RES, "moves by −0.0021 (se 0.0016, 1 of 5 seeds up)", d01, se01, up01, n)
    c.quote(ADAM_RES, "1.3 standard errors", ratio(abs(d01), se01))
    c.claim(ADAM_RES, "1.3 standard errors\nfrom zero", abs(d01) < 2 * se01)
    c.quote(ADAM_RES, "by −0.0001 to c = 10 (seed 3 alone)", d10, None, None)
    c.claim(ADAM_RES, "(seed 3 alone)", up10 + down10 == 1 and same == [1, 2, 4, 5])
    c.claim(ADAM_RES, "scaling\ndoes **almost nothing**", abs(d01) < 2 * se01 and abs(d10) < se01)

    # 3. against a KL term
    means = c.table(KL, means=True)
    t = c.table(KL)
    acc = {x: means.pm(f"kl[c={x}]", "eval_accuracy") for x in CS}
    klr = {x: means.pm(f"kl[c={x}]", "kl_ref") for x in CS}
    ca, ck = c.tables(KL_CMP)
    pa = {x: paired(ca, f"kl[c={x}]") for x in ("0.1", "10")}
    pk = {x: paired(ck, f"kl[c={x}]") for x in ("0.1", "10")}
    beta = 0.1
    for x, row in (("0.1", "| 0.1 | 1 | 0.5981 ± 0.0642 | −0.1323 (se 0.0202, 0/5 up) | "
                           "0.0136 ± 0.0048 | −0.1069 (se 0.0133, 0/5 up) |"),
                   ("10", "| 10 | 100 | 0.7373 ± 0.0219 | +0.0070 (se 0.0010, 5/5 up) | "
                          "0.1581 ± 0.0500 | +0.0375 (se 0.0090, 5/5 up) |")):
        c.quote(KL_RES, row, None, Val(float(x) / beta, "c / kl"), *acc[x], pa[x][0], pa[x][1],
                pa[x][3], n, *klr[x], pk[x][0], pk[x][1], pk[x][3], n)
    c.quote(KL_RES, "| 1 | 10 | 0.7304 ± 0.0225 | | 0.1206 ± 0.0312 | |", None,
            Val(1 / beta, "c / kl"), *acc["1"], *klr["1"])
    c.given(KL_RES, "n = 5 seeds", "seed = [1, 2, 3, 4, 5]")
    c.claim(KL_RES, "Now c matters.", pa["0.1"][0] < -2 * pa["0.1"][1] and pa["0.1"][4] == N)
    c.quote(KL_RES, "the model stays within KL 0.0136 of its", klr["0.1"][0])
    gain = {x: Val(sum(t.get(f"kl[c={x},seed={s}]", "eval_accuracy") - base[s] for s in SEEDS) / N,
                   f"mean over seeds of kl[c={x}] eval_accuracy (output cell {KL}) minus its base's "
                   f"greedy (output cell {EVAL})") for x in CS}
    c.quote(KL_RES, "gains only +0.09 over it", gain["0.1"])
    c.quote(KL_RES, "against +0.23 for c = 1", gain["1"], None)
    c.claim(KL_RES, "c = 10 moves further from the base\nand is more accurate in every seed",
            pa["10"][3] == N and pk["10"][3] == N)
    c.quote(KL_RES, "by 7.0 standard errors", ratio(pa["10"][0], pa["10"][1]))
    c.quote(KL_RES, "(sd 0.0225) is 3.2 times the difference", acc["1"][1],
            ratio(acc["1"][1], pa["10"][0]))

    # 4. predict, then run
    t, ch, cmp = c.table(SAME), c.chart(SAME), c.table(SAME_CMP)
    c.given(EXERCISE, "c = 1 and β = 0.01", "the exercise's setting")
    c.given(EXERCISE, "`c = 1, kl = 0.01` and `c = 10, kl = 0.1` have the same c/β = 100",
            "settings")
    c.given(EXERCISE, "by a factor of exactly 10", "c = 10 vs c = 1")
    pair = [s for s in SEEDS if same_seed(t, "same", "c=1,kl=0.01", "c=10,kl=0.1", s)]
    d, _, sd0, up, down = paired(cmp, "same[c=10,kl=0.1]")
    c.claim(EXERCISE, "They are the same run: the same answers at every step in every seed "
            "(identical\naccuracy curves and summary rows, `reward` aside",
            pair == SEEDS and same_curves([ch["accuracy"]["c=1 · kl=0.01"],
                                           ch["accuracy"]["c=10 · kl=0.1"]]), str(pair))
    a, b = ch["kl_ref"]["c=1 · kl=0.01"], ch["kl_ref"]["c=10 · kl=0.1"]
    kmax = max(abs(p - q) for u, v in ((a.y, b.y), (a.lo, b.lo), (a.hi, b.hi)) for p, q in zip(u, v))
    c.quote(EXERCISE, "the exact KL differs by at most 4e-06", Val(kmax, "largest difference of "
            f"the kl_ref chart data (mean, lo, hi) of the pair, output cell {SAME}"))
    c.claim(EXERCISE, "and Δ 0 in every seed of `%compare`",
            d == 0 and sd0 == 0 and up == 0 and down == 0, f"{d}, {sd0}, {up}, {down}")
    c.claim(EXERCISE, "The other two are different trade-offs",
            all(not same_seed(t, "same", "c=1,kl=0.01", p, s)
                for p in ("c=1,kl=0.1", "c=10,kl=0.01") for s in SEEDS))
    sm = c.table(SAME, means=True)
    kls = [sm.pm(f"same[{p}]", "kl_ref")[0] for p in ("c=1,kl=0.1", "c=1,kl=0.01", "c=10,kl=0.01")]
    c.quote(EXERCISE, "kl_ref 0.1728, 0.2080 and 0.2172 for c/β = 10, 100 and 1000", *kls,
            None, None, None)
    order = all(t.get(f"same[c=1,kl=0.1,seed={s}]", "kl_ref") < t.get(f"same[c=1,kl=0.01,seed={s}]",
                "kl_ref") < t.get(f"same[c=10,kl=0.01,seed={s}]", "kl_ref") for s in SEEDS)
    c.claim(EXERCISE, "in that order\nin every seed", order)
    c.claim(EXERCISE, "end closer to and further from the base than the pair", order)

    # what the numbers say
    c.quote(SUMMARY, "on the same 2011 held-out prompts, at step 100; n = 5 pipelines", prompts,
            None, n)
    c.claim(SUMMARY, "identical answers at every step for c = 0.1, 1, 10 in every seed; Δ 0",
            all(d == 0 and sd == 0 for d, _, sd, _, _ in zero))
    c.quote(SUMMARY, "one seed split at step 91 by rounding", first10)
    c.quote(SUMMARY, "c = 0.1: −0.0021 (se 0.0016), not distinguishable from zero", None, d01, se01)
    c.quote(SUMMARY, "c = 0.1: −0.1323 (se 0.0202, 5/5 down) at 0.11 less KL", None, pa["0.1"][0],
            pa["0.1"][1], pa["0.1"][4], n, Val(-pk["0.1"][0], "minus the paired Δ kl_ref"))
    c.quote(SUMMARY, "c = 10: +0.0070 (se 0.0010, 5/5 up) at 0.04 more KL", None, pa["10"][0],
            pa["10"][1], pa["10"][3], n, pk["10"][0])
    c.claim(SUMMARY, "the same run in every seed", pair == SEEDS)
    c.claim(SUMMARY, "a Δ within one or two standard\n  errors is not evidence of an effect "
            "(c = 0.1 in section 2)", abs(d01) < 2 * se01)
    c.quote(SUMMARY, "5/5 signs and 7 standard\n  errors are (c = 10 in section 3)", pa["10"][3], n,
            ratio(pa["10"][0], pa["10"][1]), None, None)
    p = acc["1"][0]
    c.quote(SUMMARY, "one score on 2011 prompts near 0.73 has a binomial sd of\n  about 0.0099",
            prompts, p, Val(math.sqrt(p * (1 - p) / prompts), "sqrt(p(1-p)/n), p = kl[c=1]'s mean"))
    c.quote(SUMMARY, "a paired Δ of 0.0070 can be resolved", pa["10"][0])
    c.quote(SUMMARY, "averages 0.1206 and 0.1728", klr["1"][0], sm.pm("same[c=1,kl=0.1]", "kl_ref")[0])
    c.quote(SUMMARY, "(an\nMLP with 2 hidden layers over 8 tokens, answers of at most 4 tokens)",
            c.value(BASE, r"L=(\d+)"), c.value(BASE, r"K=(\d+)"),
            c.value(TASK, r"answer at most (\d+) tokens"))
    c.given(SUMMARY, "at a norm of about 1", "common practice (max_grad_norm = 1)")
