"""Prose of notebooks/on-policy-distillation.ipynb against its outputs (tests/py/nbclaims.py)."""
import math
import statistics

from nbclaims import Val, Vals

SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)


def paired(t, key):
    """(delta mean, sd, se, count > 0, count < 0) of a %compare row."""
    p = t.compare(key)
    return p.mean, p.sd, p.se, p.up, p.down


def greedy(c, cell, who):
    """Per-seed greedy accuracies of policy sweep `who` in the %eval tables of `cell`."""
    for t in c.tables(cell):
        if f"{who}[seed=1]" in t.keys:
            return Vals([t.get(f"{who}[seed={s}]", "greedy") for s in SEEDS], f"{who} greedy")
    raise KeyError(f"cell {cell}: no %eval rows {who}[seed=..]")


def final(c, cell, config, metric="eval_accuracy"):
    """Per-seed final values of a run's configuration (the cell's per-seed table)."""
    t = c.table(cell)
    pre = config[:-1] + "," if config.endswith("]") else config + "["
    return Vals([t.get(f"{pre}seed={s}]", metric) for s in SEEDS], f"{config} {metric}")


def pdiff(a, b, what):
    """Paired differences a - b over the seeds: (mean, se, count > 0, count < 0)."""
    d = [float(x) - float(y) for x, y in zip(a, b)]
    m = statistics.fmean(d)
    se = statistics.stdev(d) / math.sqrt(len(d))
    return (Val(m, f"mean of {what}"), Val(se, f"se of {what}"),
            Val(sum(x > 0 for x in d), f"count > 0 of {what}"),
            Val(sum(x < 0 for x in d), f"count < 0 of {what}"))


def check(c):
    n5 = Val(N, "seeds")
    c.given(2, "80 %", "noise = 0.8 in cell 4")
    c.given(2, "(lr 2e-3)", "lr = 2e-3 in cell 6")

    # the target pictures (cells 8, 45): bars by the teacher's rank
    ch = c.chart(8)["probability"]
    ref, tea = ch["πref (base[seed=1])"].y, ch["πT (teacher[seed=1])"].y
    c.claim(7, "the base's likeliest first token is 6 (the dropped carry),\nthe teacher's 7",
            "1=7 2=6" in c.text(8) and max(range(8), key=lambda i: ref[i]) == 1
            and max(range(8), key=lambda i: tea[i]) == 0, c.text(8)[:200])
    c.claim(7, "every target with λ > 1 puts more mass on 7 than the teacher does",
            all(ch[f"target λ = {l}"].y[0] > tea[0] for l in (2, 4)))
    ch = c.chart(45)["probability"]
    t8, tq1, r1 = ch["target λ = 8"].y, ch["πT (tq[seed=1])"].y, ch["πref (base[seed=1])"].y
    c.claim(44, "the quarter-way teacher's likeliest first token is 9 (correct)",
            "1=9" in c.text(45) and max(range(8), key=lambda i: tq1[i]) == 0, c.text(45)[:200])
    c.quote(44, "Its third token has\nonly 0.082 of the teacher's mass but about twice its base probability (0.040)",
            Val(tq1[2], "cell 45 chart: teacher, rank 3"), Val(r1[2], "cell 45 chart: base, rank 3"))
    ratios = [t / r for t, r in zip(tq1, r1)]
    c.claim(44, "the largest\nratio π_T/π_ref of the eight",
            max(range(8), key=lambda i: ratios[i]) == 2 and 1.8 < ratios[2] < 2.2, str(ratios))
    c.quote(44, "at λ = 8 the target gives it 0.675 and 9 only 0.212", None,
            Val(t8[2], "cell 45 chart: target 8, rank 3"), None, Val(t8[0], "cell 45 chart: target 8, rank 1"))
    c.claim(44, "The target\nfollows the ratio, not the teacher's preference", max(range(8), key=lambda i: t8[i]) == 2)

    # 1. the reference cancels (cells 11, 12)
    full, samp, lam2 = c.tables(12)
    for t, est in ((full, "full"), (samp, "sampled")):
        d, s, se, up, down = paired(t, f"cancel[reference=other,lambda=1,estimator={est}]")
        c.claim(13, "both estimators give the *same run*",
                float(d) == 0 and float(s) == 0 and up == 0 and down == 0, est)
    d, s, se, up, down = paired(lam2, "cancel[reference=other,lambda=2,estimator=full]")
    c.quote(13, "ends +0.1586 above the base as reference (se 0.0131, 5 of 5\npipelines)",
            d, se, up, n5)

    # 2. part-way teachers (cells 15-21)
    base, tq, xq, th, xh = (greedy(c, 15, w) for w in ("base", "tq", "xq", "th", "xh"))
    teacher, xt = greedy(c, 15, "teacher"), greedy(c, 15, "xt")
    cq, ch, ct = c.tables(21)[:3]
    rep = c.tables(21)[3]
    d, s, se, up, down = paired(rep, "rep")
    floor = s
    c.quote(22, "changes accuracy by +0.0061\n  (sd Δ 0.0124, se 0.0055, 3 of 5 up)", d, s, se, up, n5)
    c.claim(22, "the random stream alone moves one pipeline's\n  accuracy by about a hundredth",
            0.005 < float(s) < 0.02, f"sd {s}")
    eq, eh, et = pdiff(xq, tq, "xq - tq"), pdiff(xh, th, "xh - th"), pdiff(xt, teacher, "xt - teacher")
    c.quote(22, "raises\n  greedy accuracy for the quarter-way teachers by +0.0411 and for the half-way teachers by\n"
            "  +0.0185 (5 of 5 pipelines each)", eq[0], eh[0], n5, n5)
    c.claim(22, "(5 of 5 pipelines each)", eq[2] == N and eh[2] == N, f"{eq} {eh}")
    c.quote(22, "lowers it for the full RL teachers by −0.0415 (5 of 5\n  down)", et[0], et[3], n5)

    d4 = paired(cq, "oq[lambda=4]")
    c.quote(22, "λ = 4 beats λ = 1 by +0.1257 (se 0.0222, 5 of 5)", None, None, d4[0], d4[2], d4[3], n5)
    s4 = pdiff(final(c, 17, "oq[lambda=4]"), tq, "oq[lambda=4] - tq")
    c.quote(22, "beats *its own teacher* by +0.1157 (se 0.0113, 5 of 5)", s4[0], s4[1], s4[2], n5)
    d8 = paired(cq, "oq[lambda=8]")
    c.quote(22, "+0.0042 over λ = 1 (se 0.0246),\n  not resolved", d8[0], None, d8[2])
    c.claim(22, "not resolved", abs(d8[0]) < 2 * d8[2])
    dh2, dh4 = paired(ch, "oh[lambda=2]"), paired(ch, "oh[lambda=4]")
    c.quote(22, "λ = 2 beats λ = 1 by +0.0195 (se 0.0111, 4 of 5)", None, None, dh2[0], dh2[2], dh2[3], n5)
    c.claim(22, "under two\n  standard errors", dh2[0] < 2 * dh2[2])
    sh = pdiff(final(c, 18, "oh[lambda=2]"), th, "oh[lambda=2] - th")
    c.quote(22, "beats its teacher by +0.0144 (se 0.0073, 4 of 5)", sh[0], sh[1], sh[2], n5)
    c.quote(22, "λ = 4 loses\n  −0.1078 (se 0.0210, 0 of 5 up)", None, dh4[0], dh4[2], dh4[3], n5)
    df2 = paired(ct, "of[lambda=2]")
    c.quote(22, "λ = 2 loses −0.1657\n  (se 0.0133, 0 of 5 up)", None, df2[0], df2[2], df2[3], n5)
    c.claim(22, "λ* = 1, as its ExPO test predicted", df2[0] < 0 and et[0] < 0 and et[3] == N)
    c.claim(22, "the best λ is ≈ 1/f where the gain is resolved (f = ¼)",
            d4[0] > 2 * d4[2] and d4[0] > d8[0])
    c.claim(22, "their ExPO rise is\nsmaller than the quarter-way teachers', and so is their ExOPD gain",
            eh[0] < eq[0] and dh2[0] < d4[0])
    c.claim(22, "the half-way teachers score about\nas high as the full teachers here",
            abs(statistics.fmean(th) - statistics.fmean(teacher)) < 0.02, f"{th} {teacher}")
    c.given(16, "λ ∈ {1, 1/f, 2/f}", "the design")

    # 3. sharpening (cells 24, 25)
    ds = paired(c.table(25), "sharp")
    c.quote(26, "ends −0.1171 below\nExOPD at λ = 4 (se 0.0183, 0 of 5 pipelines up)", ds[0], None, ds[2], ds[3], n5)
    c.claim(26, "the gain comes from the extrapolation, not\nfrom the sharper target", ds[0] < -2 * ds[2] and ds[3] == 0)

    # 4. checkpoints (cells 27-34)
    acc = [c.table(i, means=True).pm(n, "eval_accuracy")[0] for i, n in ((27, "c1"), (28, "c2"), (29, "c3"))]
    c.quote(35, "0.5479 → 0.5774 → 0.6127", *acc)
    c.claim(35, "The checkpoints improve steadily", acc[0] < acc[1] < acc[2])
    dd = [paired(t, f"d{k}[lambda=2]") for k, t in zip((1, 2, 3), c.tables(34))]
    c.quote(35, "(−0.1010, −0.0760, −0.0452, se\n0.0157, 0.0162, 0.0119; 0 of 5 pipelines up at each)",
            *(x[0] for x in dd), *(x[2] for x in dd), Val(max(x[3] for x in dd), "max count > 0"), n5)
    cks = [(greedy(c, 30, f"c{k}"), greedy(c, 30, f"x{k}")) for k in (1, 2, 3)]
    ex = [pdiff(x, ck, f"x{k} - c{k}") for k, (ck, x) in zip((1, 2, 3), cks)]
    c.quote(35, "changes greedy accuracy by −0.0033, +0.0055 and +0.0069", *(e[0] for e in ex))
    c.claim(35, "at most a fifth of the rise for the quarter-way teachers",
            all(abs(e[0]) * 5 < eq[0] for e in ex), f"{ex} vs {eq}")
    c.claim(35, "At 25 steps its sign\nmatched the loss", ex[0][0] < 0 and dd[0][0] < 0)
    c.claim(35, "at 50 and 100 steps it rose a little and λ = 2 lost all the same",
            ex[1][0] > 0 and ex[2][0] > 0 and dd[1][0] < 0 and dd[2][0] < 0)
    c.given(26, "after 25, 50 and 100 steps", "steps = 25, 25, 50 in cells 27-29")

    # 5. tilt (cells 40-42)
    tt = c.table(42)
    dw, du1 = paired(tt, "w"), paired(tt, "u[lambda=1]")
    c.quote(43, "paired Δ −0.0034 (se 0.0126, 3 of 5\nup)", dw[0], dw[2], dw[3], n5)
    c.claim(43, "within noise", abs(dw[0]) < 2 * dw[2])
    c.quote(43, "(Δ −0.2729,\n0 of 5 up)", du1[0], du1[3], n5)
    c.given(36, "β = 0.25 tilt", "beta=0.25 in cell 39")
    c.given(43, "β = 0.25 tilt", "beta=0.25 in cell 39")

    # 6. top-k (cells 46, 47)
    dk = paired(c.table(47), "topk")
    c.claim(48, "removing that mass made things worse", dk[0] < -2 * dk[2] and dk[3] == 0)
    c.claim(35, "so λ* = 1 at every checkpoint", all(x[0] < 0 for x in dd))
    c.quote(48, "*lowers* accuracy by\n−0.0403 (se 0.0029, 0 of 5 pipelines up)", dk[0], dk[2], dk[3], n5)

    # 7. as released (cells 50, 51)
    e1, e2, e3 = c.tables(51)
    hs = paired(e1, "est[lambda=4,gamma=0]")
    g1 = paired(e1, "est[lambda=1,gamma=1]")
    fs = paired(e2, "est[lambda=4,gamma=0]")
    g4 = paired(e3, "est[lambda=4,gamma=1]")
    c.quote(52, "λ = 4 beats\nλ = 1 by +0.0865 (se 0.0160, 5 of 5 pipelines)", None, None, hs[0], hs[2], hs[3], n5)
    c.claim(52, "With the sampled estimator the headline holds", hs[0] > 2 * hs[2] and hs[3] == N)
    c.quote(52, "ends −0.0467 below the full one (se 0.0051, 0 of 5\nup)", fs[0], fs[2], fs[3], n5)
    c.claim(52, "The full estimator gets further", fs[0] < -2 * fs[2])
    c.quote(52, "at λ = 4: −0.0216 (se 0.0049, 0 of 5 up)", None, g4[0], g4[2], g4[3], n5)
    c.claim(52, "Reward-to-go is *worse* here at λ = 4", g4[0] < -2 * g4[2] and g4[3] == 0)
    c.quote(52, "at λ = 1 the difference, −0.0285 (se 0.0167, 1 of 5 up), is not resolved",
            None, g1[0], g1[2], g1[3], n5)
    c.claim(52, "is not resolved", abs(g1[0]) < 2 * g1[2])
    c.given(52, "in the same\n300 steps", "steps = 300 in cells 17 and 50")
    c.quote(53, "λ = 4 vs 1: +0.0865 ± 0.0160, 5/5", None, None, hs[0], hs[2], hs[3], n5)
    c.quote(53, "| +0.0467 ± 0.0051, 5/5 |", Val(-fs[0], "minus " + fs[0].src), fs[2], fs[4], n5)
    c.quote(53, "| −0.0216 ± 0.0049, 0/5 |", g4[0], g4[2], g4[3], n5)
    c.given(53, "reward-to-go (γ = 1) vs per-token reward, λ = 4", "labels")

    # summary table (cell 53)
    c.quote(53, "sd Δ 0.0124", floor)
    lam2d = paired(lam2, "cancel[reference=other,lambda=2,estimator=full]")
    c.quote(53, "| +0.1586 ± 0.0131, 5/5 |", lam2d[0], lam2d[2], lam2d[3], n5)
    c.quote(53, "| +0.1157 ± 0.0113, 5/5 (λ = 4) |", s4[0], s4[1], s4[2], n5, None)
    c.quote(53, "| +0.0144 ± 0.0073, 4/5 (λ = 2) |", sh[0], sh[1], sh[2], n5, None)
    c.claim(53, "not resolved (under two se)", sh[0] < 2 * sh[1])
    c.claim(53, "λ = 1/f beats λ = 1 and 2/f at f = ¼", d4[0] > 0 and d4[0] > d8[0] and d4[3] == N)
    c.quote(53, "λ = 2: −0.1657 ± 0.0133, 0/5", None, df2[0], df2[2], df2[3], n5)
    c.quote(53, "τ = 1/4 vs λ = 4: −0.1171 ± 0.0183, 0/5", None, None, None, ds[0], ds[2], ds[3], n5)
    c.claim(53, "gain is not sharpening", ds[0] < -2 * ds[2] and ds[2] < 1)
    c.quote(53, "λ = 2: −0.1010 / −0.0760 / −0.0452, 0/5 each", None, *(x[0] for x in dd),
            Val(max(x[3] for x in dd), "max count > 0"), n5)
    c.quote(53, "`kl_ref` Δ −0.0034 ± 0.0126, 3/5", dw[0], dw[2], dw[3], n5)
    c.quote(53, "| −0.0403 ± 0.0029, 0/5 |", dk[0], dk[2], dk[3], n5)
    c.given(53, "top-2 target restriction at λ = 8", "target_top_k = 2, lambda = 8 in cell 46")

    # how to read (cell 54)
    m1, s1 = c.table(17, means=True).pm("oq[lambda=1]", "eval_accuracy")
    c.quote(54, "(e.g. 0.4751 ± 0.0329 for λ = 1 at f = ¼)", m1, s1, None)
    n = c.value(15, r"same (\d+) prompts")
    c.claim(22, "the same 2011 held-out prompts", int(n) == 2011, str(n))
    c.claim(53, "the same 2011 held-out prompts", int(n) == 2011, str(n))
    c.quote(54, "(2011 prompts; one accuracy near 0.5 has a binomial sd of\n  about 0.011",
            n, None, Val(math.sqrt(0.25 / n), "sqrt(0.5 * 0.5 / n)"))
    c.quote(54, "sd Δ\n  0.0124, from `rep`", floor)
    c.given(54, "sd Δ / √5", "n = 5 pipelines")
    c.given(54, "`alpha=-0.9`", "the exercise")
