"""Prose of notebooks/rlhf-from-preferences.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, Vals, mean, paired, ratio

SEEDS = [1, 2, 3, 4, 5]
SAY, READ = 34, 35
BASE, RM, RM200, RM50, SIZES = 3, 8, 10, 12, 13
RL, PLOT, BON, DPO, DVR = 16, 17, 19, 21, 22
NOISY_RM, NOISY_BON, ENS_BON, HC, HCVR = 25, 27, 31, 32, 33
KS = [1, 2, 4, 8, 16, 32]


def rng(vals):
    return min(vals, key=float), max(vals, key=float)


def bon(c, cell, col, k):
    """Per seed (1..5), the mean of column `col` of %eval best_of's row K."""
    t = c.table(cell)
    out = []
    for s in SEEDS:
        r = [r for r in t.rows if r[0] == f"base[seed={s}]" and r[1] == str(k)][0]
        out.append(Val(float(r[t.header.index(col)].split()[0]),
                       f"output cell {cell} [base[seed={s}], K={k}] {col}"))
    return Vals(out, f"output cell {cell}: {col} at K={k} of the 5 bases")


def up(p, what):
    return Val(p.up, f"count > 0 of {what}")


def quote_cmp(c, md, snippet, p, what, extra=()):
    c.quote(md, snippet, *extra, p.mean, p.se, up(p, what), Val(5, "n"))


def check(c):
    c.given(2, "drop 60 % of the\ncarries", "noise = 0.6 in cell 3")

    # the base and the ceiling
    base_acc = c.table(BASE).col("eval_accuracy", "base[")
    c.quote(SAY, "The bases answer\n  0.4746 to 0.5869", *rng(base_acc))
    ceil = c.table(RM).col("ceiling", "r[")
    c.quote(SAY, "reward on 0.974 to 0.996 of held-out pairs", *rng(ceil))
    m, s = c.table(RM, means=True).pm("r", "heldout_acc")
    c.quote(SAY, "reaches 0.8224 ± 0.0679", m, s)
    acc = c.table(RM).col("heldout_acc", "r[")
    c.claim(SAY, "well below that ceiling in every pipeline",
            all(a < k - 0.05 for a, k in zip(acc, ceil)), f"{acc} vs {ceil}")

    # data size
    t = c.table(SIZES)
    p200, p50 = t.compare("r200"), t.compare("r50")
    quote_cmp(c, SAY, "200 pairs\n  change held-out accuracy by +0.0012 (se 0.0212, 2 of 5 up)",
              p200, "cell 13 r200", extra=(None,))
    quote_cmp(c, SAY, "50 pairs by −0.0360\n  (se 0.0185, 1 of 5 up)", p50, "cell 13 r50",
              extra=(None,))
    c.claim(SAY, "From 200 to 2000 pairs nothing is gained", abs(p200.mean) < p200.se)
    c.quote(SAY, "50 pairs are likely\n  worse (1.9 standard errors)", None, ratio(-p50.mean, p50.se))
    c.claim(SAY, "50 pairs are likely\n  worse", p50.mean < 0 and p50.down >= 4)
    c.claim(SAY, "The limit at these sizes is not the amount of data",
            abs(p200.mean) < p200.se and min(m, c.table(RM200, means=True).pm("r200", "heldout_acc")[0])
            < min(ceil) - 0.1)

    # overoptimization
    g = {k: bon(c, BON, "gold", k) for k in KS}
    pr = {k: bon(c, BON, "proxy", k) for k in KS}
    g0, p0 = mean(g[1]), mean(pr[1])
    c.quote(SAY, "At KL 0 (the\n  base) the true reward is 0.8615 and the proxy −0.2272", None, g0, p0)
    mt = c.table(RL, means=True)
    for kl, snip in (("0.7", "With `kl = 0.7` the runs end at KL\n  0.1514 with true reward 1.2194 (proxy 0.3238)"),
                     ("0.3", "with `kl = 0.3` at KL 1.9113, true 0.7068\n  (proxy 0.8713)"),
                     ("0.03", "with `kl = 0.03` at KL 9.2752, true 0.1471 (proxy 1.5070)")):
        key = f"h[kl={kl}]"
        c.quote(SAY, snip, None, mt.pm(key, "kl_ref")[0],
                mt.pm(key, "eval_reward")[0], mt.pm(key, "reward")[0])
    ts = c.table(RL)
    true = {kl: ts.col("eval_reward", f"kl={kl},") for kl in ("0.03", "0.3", "0.7")}
    prox = {kl: ts.col("reward", f"kl={kl},") for kl in ("0.03", "0.3", "0.7")}
    c.claim(SAY, "In every\n  pipeline a looser leash gives a higher proxy and a lower true reward at the end",
            all(prox["0.03"][i] > prox["0.3"][i] > prox["0.7"][i]
                and true["0.03"][i] < true["0.3"][i] < true["0.7"][i] for i in range(5)),
            f"{prox} {true}")
    c.claim(SAY, "Overoptimization: the proxy rises, the true reward rises and then falls",
            all(true["0.7"][i] > g[1][i] > true["0.03"][i] for i in range(5)), f"{true} vs {g[1]}")
    ser = c.chart(PLOT, 1)["eval_reward"]["kl=0.03"]
    peak = Val(max(ser.y), f"max of {ser.src}")
    c.quote(SAY, "the mean true reward first climbs to 1.16, then falls to 0.15", peak,
            Val(ser.y[-1], f"last point of {ser.src}"))
    c.claim(SAY, "first climbs to 1.16, then falls", peak > ser.y[0] + 0.2 and ser.y[-1] < ser.y[0] - 0.3,
            f"{ser.y[0]} {peak} {ser.y[-1]}")

    # best-of-n
    c.quote(SAY, "Its true reward goes 0.8615, 1.0071, 1.1208,\n  1.1766, 1.1384, 1.0549",
            *[mean(g[k]) for k in KS])
    c.given(SAY, "for K = 1, 2, 4, 8, 16, 32", "best_of=[1, 2, 4, 8, 16, 32] in cell 19")
    c.claim(SAY, "peaking at K = 8 in every pipeline",
            all(max(KS, key=lambda k: g[k][i]) == 8 for i in range(5)), str(g))
    c.claim(SAY, "its proxy rises with K in every pipeline",
            all(pr[a][i] < pr[b][i] for a, b in zip(KS, KS[1:]) for i in range(5)))
    pb = paired(true["0.7"], g[8], "RLHF kl=0.7 eval_reward minus best-of-8 gold")
    c.quote(SAY, "ends +0.043 above\n  best-of-8 (se 0.040, 4 of 5 up)", pb.mean, None, pb.se,
            up(pb, "RLHF - best-of-8"), Val(5, "n"))
    c.claim(SAY, "not resolved, but at KL 0.1514", not pb.resolved())
    c.quote(SAY, "at KL 0.1514 against best-of-8's bound\n  of 1.2044", mt.pm("h[kl=0.7]", "kl_ref")[0],
            None, bon(c, BON, "KL bound", 8)[0])

    # DPO vs RLHF
    dk, dr = c.tables(DVR)[0].compare("d[beta=1]"), c.tables(DVR)[1].compare("d[beta=1]")
    c.quote(SAY, "DPO (`beta = 1`) ends at KL 0.2409", None, c.table(DPO, means=True).pm("d[beta=1]", "kl_ref")[0])
    c.quote(SAY, "(Δ +0.0895, se 0.0234)", dk.mean, dk.se)
    c.claim(SAY, "higher than RLHF\n  with `kl = 0.7` in every pipeline", dk.up == 5)
    c.quote(SAY, "Its true reward is 1.150 against\n  RLHF's 1.219", c.table(DPO, means=True).pm("d[beta=1]", "eval_reward")[0],
            c.tables(DVR)[1].get("h[kl=0.7]", "mean ± sd"))
    quote_cmp(c, SAY, "Δ −0.069 (se 0.038, 1 of 5 up)", dr, "cell 22 eval_reward")
    c.claim(SAY, "RLHF is ahead in 4 of 5 pipelines while\n  using less KL", dr.down == 4 and dk.mean > 0)
    c.quote(SAY, "the difference is 1.8 standard errors", ratio(-dr.mean, dr.se))
    c.claim(SAY, "not resolved.", not dr.resolved())
    ds = c.chart(DVR, 0)["eval_reward"]["beta=0.1"]
    c.quote(SAY, "the mean true reward rises from 0.848 to 1.09\n  at the first evaluation",
            Val(ds.y[0], f"first point of {ds.src}"), Val(ds.y[1], f"second point of {ds.src}"))
    c.claim(SAY, "rises from 0.848 to 1.09\n  at the first evaluation",
            ds.y[1] == max(ds.y) and ds.y[1] > ds.y[0] + 0.1, str(ds.y))
    c.given(SAY, "(step 20)", "eval_every = 20 in cell 21")
    dm = c.table(DPO, means=True)
    c.quote(SAY, "then falls to 0.2416 at KL 5.2492", dm.pm("d[beta=0.1]", "eval_reward")[0],
            dm.pm("d[beta=0.1]", "kl_ref")[0])
    d01 = c.table(DPO).col("eval_reward", "beta=0.1,")
    c.claim(SAY, "below the base in\n  every pipeline", all(a < b for a, b in zip(d01, g[1])),
            f"{d01} vs {g[1]}")

    # label noise
    nm = c.table(NOISY_RM, means=True)
    c.quote(SAY, "held-out labels on 0.6816 against a ceiling of 0.7900",
            nm.pm("rn", "heldout_acc")[0], nm.pm("rn", "ceiling")[0])
    n16 = paired(bon(c, NOISY_BON, "gold", 16), g[16], "noisy minus clean best-of-16 gold")
    n32 = paired(bon(c, NOISY_BON, "gold", 32), g[32], "noisy minus clean best-of-32 gold")
    c.quote(SAY, "Best-of-16 under it loses −0.0422 true reward (se 0.0155, 1 of 5 up)", None,
            n16.mean, n16.se, up(n16, "noisy16"), Val(5, "n"))
    c.quote(SAY, "best-of-32\n  −0.0314 (se 0.0124, 0 of 5 up)", None, n32.mean, n32.se,
            up(n32, "noisy32"), Val(5, "n"))
    c.claim(SAY, "both beyond two standard errors", n16.resolved() and n32.resolved())
    c.given(SAY, "With a fifth of the labels flipped", "flip = 0.2")

    # ensemble
    e32 = paired(bon(c, ENS_BON, "gold", 32), g[32], "rm_min minus single best-of-32 gold")
    e16 = paired(bon(c, ENS_BON, "gold", 16), g[16], "rm_min minus single best-of-16 gold")
    c.quote(SAY, "Best-of-32 under\n  `rm_min(ens)` gains +0.0136 true reward over the single model "
            "(se 0.0078, 3 of 5 up)", None, e32.mean, e32.se, up(e32, "ens32"), Val(5, "n"))
    c.quote(SAY, "best-of-16 +0.0082 (se 0.0050, 3 of 5 up)", None, e16.mean, e16.se,
            up(e16, "ens16"), Val(5, "n"))
    c.claim(SAY, "right sign, under two standard errors",
            e32.mean > 0 and e16.mean > 0 and not e32.resolved() and not e16.resolved())
    hr, hk = c.tables(HCVR)[0].compare("hc"), c.tables(HCVR)[1].compare("hc")
    quote_cmp(c, SAY, "changes the true reward by −0.051 (se 0.075, 1 of 5 up)", hr, "cell 33")
    c.quote(SAY, "the KL by\n  −0.251 (se 0.219)", hk.mean, hk.se)
    c.claim(SAY, "does not resolve as a mitigation here",
            not hr.resolved() and not e32.resolved() and not e16.resolved())

    check_axes(c, g, pr, mt)

    # how to read
    n = c.value(BON, r"on the same (\d+) held-out prompts")
    c.quote(READ, "over the 2011 held-out prompts", n)
    se1 = c.table(BON).get("base[seed=1]", "gold", pm=True)[1]
    c.quote(READ, "standard error of about 0.015", se1)
    c.quote(READ, "drifts to a KL of 9.2752 on average", mt.pm("h[kl=0.03]", "kl_ref")[0])
    c.claim(READ, "the sign counts (4 of 5, 1 of 5)", pb.up == 4 and dr.up == 1)
    c.claim(READ, "More data did not move held-out accuracy from 200 to 2000 pairs",
            abs(p200.mean) < p200.se)


def check_axes(c, g, pr, mt):
    """The table of RLHF and best-of-n on the axes of the overoptimization curve."""
    kl = {k: bon(c, BON, "KL bound", k)[0] for k in KS}
    for k in KS:
        label = "base (best-of-1)" if k == 1 else f"best-of-{k}"
        snip = f"| {label} | " + " | ".join(
            ["0.0000" if k == 1 else f"{float(kl[k]):.4f}", f"{float(mean(g[k])):.4f}",
             f"{float(mean(pr[k])):.4f}".replace("-", "−")]) + " |"
        c.quote(SAY, snip, None, kl[k], mean(g[k]), mean(pr[k]))
    for k in ("0.7", "0.3", "0.03"):
        key = f"h[kl={k}]"
        snip = f"| RLHF `kl = {k}` | " + " | ".join(
            f"{float(mt.pm(key, col)[0]):.4f}" for col in ("kl_ref", "eval_reward", "reward")) + " |"
        c.quote(SAY, snip, None, mt.pm(key, "kl_ref")[0], mt.pm(key, "eval_reward")[0],
                mt.pm(key, "reward")[0])
    b16 = [mean(g[16]), mt.pm("h[kl=0.3]", "eval_reward")[0]]
    c.quote(SAY, "best-of-16 keeps a much higher true reward than RLHF with\n`kl = 0.3` "
            "(1.1384 against 0.7068)", None, None, *b16)
    c.quote(SAY, "At comparable KL (1.8351 against 1.9113)", kl[16], mt.pm("h[kl=0.3]", "kl_ref")[0])
    c.claim(SAY, "At comparable KL",
            abs(kl[16] - mt.pm("h[kl=0.3]", "kl_ref")[0]) < 0.2, f"{kl[16]}")
    c.claim(SAY, "best-of-16 keeps a much higher true reward",
            all(a > b + 0.1 for a, b in zip(g[16], c.table(RL).col("eval_reward", "kl=0.3,"))))
