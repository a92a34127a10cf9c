"""Prose of notebooks/rewards-and-rl.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, diff, mean, ratio, sd

ALGOS = ["reinforce", "rloo", "grpo", "ppo"]
ROWS17 = {"k1": "| k1 | 0.159 | 0.162 | +0.0002 | +0.001, +0.033, −0.023 |",
          "k2": "| k2 | 0.126 | 0.100 | −0.0125 | −0.041, −0.013, −0.036 |",
          "k3": "| k3 | 0.109 | 0.100 | −0.0007 | +0.042, −0.021, +0.002 |"}


def check(c):
    c.given(1, "60 %", "noise = 0.6 in cell 3")
    ev = c.table(4)
    base = ev.get("add", "greedy")
    c.quote(9, "The base answers 52 % of the 1024 held-out prompts", Val(100 * base, base.src),
            ev.get("add", "prompts"))
    c.claim(5, "`pass@8` is much higher", ev.get("add", "pass@8") > base + 0.2)

    # 3. four algorithms (cell 8)
    t = c.table(8, header="eval_accuracy")
    acc = {a: t.col("eval_accuracy", f"algo={a},") for a in ALGOS}
    kl = {a: t.col("kl_ref", f"algo={a},") for a in ALGOS}
    rows = {"reinforce": "| reinforce | 0.734 ± 0.004 | 0.167 ± 0.026 |",
            "rloo": "| rloo | 0.714 ± 0.011 | 0.161 ± 0.026 |",
            "grpo": "| grpo | 0.712 ± 0.020 | 0.165 ± 0.028 |",
            "ppo": "| ppo | 0.660 ± 0.020 | 0.330 ± 0.099 |"}
    for a in ALGOS:
        c.quote(9, rows[a], mean(acc[a]), sd(acc[a]), mean(kl[a]), sd(kl[a]))
    means = {a: mean(acc[a]) for a in ALGOS}
    c.quote(9, "from 0.52 to 0.66–0.73 in 100 steps", base, min(means.values()), max(means.values()), None)
    c.claim(9, "All four algorithms raise held-out accuracy", all(m > base for m in means.values()))
    three = [means[a] for a in ALGOS[:3]]
    spread = max(sd(acc[a]) for a in ALGOS)
    c.quote(9, "end within 0.022 of each other", Val(max(three) - min(three), "max - min of the "
            "mean eval_accuracy of reinforce/rloo/grpo, cell 8"))
    c.quote(9, "(sd up to 0.020)", spread)
    c.claim(9, "about one\nseed sd", 0.5 * spread < max(three) - min(three) < 1.5 * spread,
            f"range {max(three) - min(three)}, sd up to {spread}")
    # REINFORCE against the better of RLOO and GRPO, seed by seed
    lead = [acc["reinforce"][i] - max(acc["rloo"][i], acc["grpo"][i]) for i in range(3)]
    c.claim(9, "REINFORCE is the highest of the three in each of the 3 seeds", min(lead) > 0, lead)
    c.quote(9, "by small margins (0.004–0.027 over the next one)", min(lead), max(lead))
    c.claim(9, "a hint of an edge that three seeds\ncannot establish",
            min(lead) < 0.5 * spread and len(lead) == 3, f"margins {lead}, sd up to {spread}")
    c.quote(9, "RLOO and GRPO end within 0.001 of each other on average",
            Val(abs(means["rloo"] - means["grpo"]), "|mean rloo - mean grpo| eval_accuracy, cell 8"))
    rg = [acc["rloo"][i] - acc["grpo"][i] for i in range(3)]
    c.claim(9, "their\norder changes from seed to seed", min(rg) < 0 < max(rg), rg)
    gaps = [means[a] - means["ppo"] for a in ALGOS[:3]]
    c.quote(9, "PPO ends lowest on average, by 0.05–0.07", min(gaps), max(gaps))
    c.claim(9, "more than\ntwice the largest seed sd", min(gaps) > 2 * spread,
            f"gaps {gaps}, sd up to {spread}")
    per_seed = [min(acc[a][i] for a in ALGOS[:3]) - acc["ppo"][i] for i in range(3)]
    c.claim(9, "it is the lowest of the four in each of the 3 seeds", min(per_seed) > 0, per_seed)
    c.quote(9, "(by 0.016–0.086)", min(per_seed), max(per_seed))
    ppo_per_seed, algo_spread = per_seed, spread
    others = [mean(kl[a]) for a in ALGOS[:3]]
    c.quote(9, "KL 0.330 against 0.161–0.167 for the others", mean(kl["ppo"]), min(others), max(others))
    c.claim(9, "about twice as far", 1.7 < mean(kl["ppo"]) / max(others) < 2.3)
    c.given(9, "4 updates on every batch", "ppo's default epochs = 4")

    # 4. the KL penalty (cell 11)
    t = c.table(11, header="eval_accuracy")
    acc = {b: t.col("eval_accuracy", f"kl={b},") for b in ["0", "0.1", "0.5"]}
    kl = {b: t.col("kl_ref", f"kl={b},") for b in ["0", "0.1", "0.5"]}
    rows = {"0": "| 0 | 0.744 ± 0.012 | 0.164 ± 0.016 |",
            "0.1": "| 0.1 | 0.737 ± 0.010 | 0.137 ± 0.014 |",
            "0.5": "| 0.5 | 0.717 ± 0.016 | 0.065 ± 0.009 |"}
    for b in acc:
        c.quote(12, rows[b], None, mean(acc[b]), sd(acc[b]), mean(kl[b]), sd(kl[b]))
    r = ratio(mean(kl["0"]), mean(kl["0.5"]))
    c.quote(12, "2.5 times closer to the base (KL 0.065 instead of 0.164)", r, mean(kl["0.5"]),
            mean(kl["0"]))
    c.quote(18, "divides the KL by\n  2.5", r)
    d = diff(mean(acc["0.5"]), mean(acc["0"]))
    c.quote(12, "Held-out accuracy ends 0.026\nlower (0.717 against 0.744)", Val(-d, d.src),
            mean(acc["0.5"]), mean(acc["0"]))
    c.quote(18, "held-out accuracy 0.026 lower", Val(-d, d.src))
    spread = max(sd(acc[b]) for b in acc)
    c.quote(12, "(sd up to 0.016)", spread)
    c.claim(12, "more than the spread between seeds", d < 0 and abs(d) > spread, f"{d}, sd up to {spread}")
    c.claim(18, "(more than the spread between seeds", d < 0 and abs(d) > spread, f"{d}, sd up to {spread}")
    per_seed = [acc["0.5"][i] - acc["0"][i] for i in range(3)]
    c.claim(12, "β = 0.5 is lower in all 3", max(per_seed) < 0, per_seed)
    c.claim(18, "and in\n  every seed)", max(per_seed) < 0, per_seed)
    c.quote(12, "(by\n0.019–0.031)", -max(per_seed), -min(per_seed))
    c.claim(12, "so here the penalty costs a little accuracy",
            max(per_seed) < 0 and abs(d) > spread, f"per seed {per_seed}, sd up to {spread}")

    # 5. estimators (cells 14, 16; cell 11 for k3 without penalty)
    ref, est = c.chart(16, 0)["kl_ref"], c.chart(16, 1)["kl_est"]
    t = c.table(14, header="kl_est")
    err100, rough = {}, {}
    for k in ["k1", "k2", "k3"]:
        r, e = ref[f"kl_estimator={k}"], est[f"kl_estimator={k}"]
        err = Val(sum(a - b for a, b in zip(e.y, r.y)) / len(r.y),
                  f"mean over steps of kl_est - kl_ref, output cells 16 (charts) for {k}")
        err100[k] = [diff(a, b) for a, b in zip(t.col("kl_est", f"={k},"), t.col("kl_ref", f"={k},"))]
        c.quote(17, ROWS17[k], r.last(10), e.last(10), err, *err100[k])
        rough[k] = (sum(abs(a - b) for a, b in zip(e.y[1:], e.y)),
                    sum(abs(a - b) for a, b in zip(r.y[1:], r.y)))
        if k == "k2":
            c.quote(17, "underestimates the KL by 0.0125 on average\n  (about 10 %)",
                    Val(-err, err.src), Val(-100 * err / r.last(10), "mean error / kl_ref"))
            c.claim(17, "at step 100 it is below the exact KL in every seed", max(err100[k]) < 0)
        else:
            c.claim(17, "their error is below 0.001", abs(err) < 0.001, f"{k}: {err}")
        if k == "k1":
            k1_ref = r.last(10)
        if k == "k3":
            k3_ref = r.last(10)
    worst = [max(abs(x) for x in err100[k]) for k in err100]
    c.quote(17, "reach 0.03–0.04 with every estimator", min(worst), max(worst))
    c.claim(17, "the estimate curve is visibly\n  noisier than the exact one",
            all(a > 1.2 * b for a, b in rough.values()),
            f"summed step-to-step changes (estimate, exact): {rough}")
    c.given(17, "the same β = 0.2", "kl = 0.2 in cell 14")
    c.quote(17, "closest to the base (KL 0.109), the k1 run furthest (0.159)", k3_ref, k1_ref)
    klr = {k: t.col("kl_ref", f"={k},") for k in ["k1", "k2", "k3"]}
    c.claim(17, "the k3 run ends\n  closest to the base", k3_ref < min(ref["kl_estimator=k2"].last(10), k1_ref))
    c.claim(17, "k3 is below k1\n  in each of the 3 seeds", all(a < b for a, b in zip(klr["k3"], klr["k1"])))
    t0 = c.table(11, header="kl_est")
    e0, r0 = t0.get("klpen[kl=0,seed=1]", "kl_est"), t0.get("klpen[kl=0,seed=1]", "kl_ref")
    c.quote(17, "an estimate of 0.4268 for an\n  exact KL of 0.1459, an error of +0.281", e0, r0, diff(e0, r0))
    c.claim(17, "k3 has a heavy tail", diff(e0, r0) > 3 * max(abs(x) for x in err100["k1"]))

    # summary
    c.quote(18, "0.52 to 0.66–0.73 with every algorithm", base, min(means.values()), max(means.values()))
    c.claim(18, "REINFORCE, RLOO and GRPO end within about one\n  seed sd of each other",
            0.5 * algo_spread < max(three) - min(three) < 1.5 * algo_spread,
            f"range {max(three) - min(three)}, sd up to {algo_spread}")
    c.claim(18, "(REINFORCE ahead in every seed)", min(lead) > 0, lead)
    c.claim(18, "PPO ends lowest in every seed", min(ppo_per_seed) > 0, ppo_per_seed)

    # 6. pictures of the objects (cells 19-23)
    c.given(7, "so also 4× the optimizer steps", "ppo's default epochs = 4 (runtime/rl recipe table)")
    c.claim(23, "its exact KL\nending furthest from the base",
            k1_ref > max(ref["kl_estimator=k2"].last(10), k3_ref), "k1's kl_ref, last 10 steps")
    shape = c.text(3)
    c.claim(23, "two hidden layers of 256 units", "H=256 L=2" in shape, shape[:200])
    task = c.text(2)
    c.claim(23, "prompts of 7 tokens,\nanswers of at most 4 tokens",
            "prompt length 7, answer at most 4 tokens" in task, task[:300])
    fig = c.chart(22)
    fac = fig["dk/d log \u03c0\u03b8: factor on \u2207log \u03c0\u03b8"]["k1 = \u2212log r"]
    c.claim(23, "its factor is 1", all(abs(y - 1) < 1e-9 for y in fac.y), "the k1 factor drawn by %figure kl")
