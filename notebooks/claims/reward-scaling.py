"""Prose of notebooks/reward-scaling.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, diff, mean, sd

CS = ["0.1", "1", "10"]
SAMUELSON = 2 / 3 ** 0.5  # with 3 seeds no run is further than 1.155 sample sd from the mean


def same_curves(series):
    a = series[0]
    return all(s.y == a.y and s.lo == a.lo and s.hi == a.hi for s in series[1:])


def same_rows(t, cols):
    """Per seed, the rows of every c agree in every column of `cols`."""
    return all(len({t.get(f"{t.keys[0].split('[')[0]}[c={c},seed={s}]", col) for c in CS}) == 1
               for s in (1, 2, 3) for col in cols)


def check(c):
    c.given(3, "default 1", "the reward's header c=1")
    c.given(5, "ε = 10⁻⁶", "the runtime's constant")
    c.given(8, "clipped at 1", "the runtime's gradient clip")
    base = c.table(2, header="eval_accuracy").get("base", "eval_accuracy")
    others = ["accuracy", "eval_accuracy", "kl_ref", "kl_est", "entropy", "length"]

    # 1. GRPO (cell 6)
    ch, t = c.chart(6), c.table(6, header="eval_accuracy")
    c.claim(7, "their `accuracy` curves (mean and band over the 3 seeds) are identical",
            same_curves([ch["accuracy"][f"c={x}"] for x in CS]))
    c.claim(7, "so is every column of the summary table except `reward`, for every seed",
            same_rows(t, others))
    kl = [ch["kl_ref"][f"c={x}"] for x in CS]
    dmax = max(abs(p - q) for a in kl for b in kl
               for u, v in ((a.y, b.y), (a.lo, b.lo), (a.hi, b.hi)) for p, q in zip(u, v))
    c.quote(7, "differs by at most 1e-05 between them", Val(dmax, "largest difference of the "
            "kl_ref chart data (mean, lo, hi) between the c values, output cell 6"))
    c.claim(7, "differs by at most 1e-05", dmax <= 1e-05 + 1e-12, dmax)
    acc = t.col("eval_accuracy", "c=1,")
    c.quote(7, "0.733 ± 0.021 for every c", mean(acc), sd(acc))
    c.claim(7, "for every c", len({tuple(t.col("eval_accuracy", f"c={x},")) for x in CS}) == 1)

    # 2. RLOO with Adam (cells 9, 10)
    ch, t = c.chart(9), c.table(9, header="eval_accuracy")
    a01, a1, a10 = (ch["accuracy"][f"c={x}"] for x in CS)
    c.claim(11, "c = 1 and c = 10 sampled exactly the same answers at all 100\nsteps",
            same_curves([a1, a10]) and all(t.get(f"adam[c=1,seed={s}]", col) ==
                                           t.get(f"adam[c=10,seed={s}]", col)
                                           for s in (1, 2, 3) for col in others))
    first = next(x for x, p, q, l1, l2 in zip(a01.x, a01.y, a1.y, a01.lo, a1.lo)
                 if p != q or l1 != l2)
    c.quote(11, "follows them for the first 3 steps", Val(first - 1, "output cell 9 chart"))
    c.quote(11, "first differ at step 4", Val(first, "first step where the accuracy data of "
                                              "adam[c=0.1] and adam[c=1] differ, output cell 9"))
    g = c.chart(10)["grad_norm"]
    gm = {x: Val(sum(g[f"c={x}"].y) / len(g[f"c={x}"].y),
                 f"mean over steps of output cell 10 grad_norm adam[c={x}]") for x in CS}
    c.quote(11, "its mean is 2.63 for c = 1 and 26.3 for c = 10", gm["1"], None, gm["10"], None)
    c.quote(11, "for c = 0.1 it is 0.26", None, gm["0.1"])
    low = {x: min(m - SAMUELSON * (h - m) for m, h in zip(g[f"c={x}"].y, g[f"c={x}"].hi))
           for x in CS}
    high = max(m + SAMUELSON * (h - m) for m, h in zip(g["c=0.1"].y, g["c=0.1"].hi))
    c.claim(11, "above the\nclip at 1 at every step and in every seed", low["1"] > 1 and low["10"] > 1,
            f"lowest possible seed value {low}")
    c.claim(11, "never reaches the clip", high < 1, f"highest possible seed value {high}")
    acc = {x: t.col("eval_accuracy", f"c={x},") for x in CS}
    c.quote(11, "c = 0.1: 0.728 ± 0.029, c = 1: 0.725 ± 0.022,\nc = 10: 0.725 ± 0.022",
            None, mean(acc["0.1"]), sd(acc["0.1"]), None, mean(acc["1"]), sd(acc["1"]),
            None, mean(acc["10"]), sd(acc["10"]))
    means = [mean(acc[x]) for x in CS]
    gap = Val(max(means) - min(means), "largest gap between the mean eval_accuracy, cell 9")
    spread = max(sd(acc[x]) for x in CS)
    c.quote(11, "The largest gap (0.003)", gap)
    c.quote(11, "spread between seeds (0.029;", spread)
    c.claim(11, "far smaller than the spread between seeds", gap < spread / 5)
    c.claim(15, "same accuracy within seed spread", gap < spread, f"gap {gap}, largest sd {spread}")

    # 3. against a KL term (cell 13)
    t = c.table(13, header="eval_accuracy")
    acc = {x: t.col("eval_accuracy", f"c={x},") for x in CS}
    kl = {x: t.col("kl_ref", f"c={x},") for x in CS}
    c.quote(14, "was 0.5195, the `eval_accuracy`", base)
    rows = {"0.1": "| 0.1 | 0.596 ± 0.014 | 0.014 ± 0.004 |",
            "1": "| 1 | 0.707 ± 0.014 | 0.122 ± 0.042 |",
            "10": "| 10 | 0.711 ± 0.004 | 0.141 ± 0.042 |"}
    for x in CS:
        c.quote(14, rows[x], None, mean(acc[x]), sd(acc[x]), mean(kl[x]), sd(kl[x]))
    c.quote(14, "stays within KL\n0.014 of the base and gains only 0.08 in accuracy",
            mean(kl["0.1"]), diff(mean(acc["0.1"]), base))
    c.claim(14, "below c = 1 in each of the 3 seeds",
            all(a < b for a, b in zip(acc["0.1"], acc["1"])))
    c.quote(14, "KL 0.12–0.14 and accuracy\n0.707–0.711", mean(kl["1"]), mean(kl["10"]),
            mean(acc["1"]), mean(acc["10"]))
    c.claim(14, "Now c matters a lot", mean(acc["1"]) - mean(acc["0.1"]) > 2 * sd(acc["0.1"])
            and mean(kl["1"]) > 5 * mean(kl["0.1"]))
    c.quote(15, "c = 0.1 stays near the base (KL 0.014), c = 10 moves away (KL 0.141)",
            None, mean(kl["0.1"]), None, mean(kl["10"]))
