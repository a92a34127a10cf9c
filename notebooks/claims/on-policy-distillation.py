"""Prose of notebooks/on-policy-distillation.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, diff, mean, ratio, sd

LAMS = ["0.5", "1", "1.25", "1.5", "2", "3"]
LAM_ROWS = {"0.5": "| 0.5 | 0.585 ± 0.012 | 0.117 | 0.208 | 0.241 |",
            "1": "| 1 (OPD) | **0.606 ± 0.007** | 0.042 | 0.334 | 0.237 |",
            "1.25": "| 1.25 (as released) | 0.588 ± 0.014 | 0.056 | 0.427 | 0.239 |",
            "1.5": "| 1.5 | 0.557 ± 0.004 | 0.072 | 0.528 | 0.247 |",
            "2": "| 2 | 0.490 ± 0.012 | 0.180 | 0.753 | 0.270 |",
            "3": "| 3 | 0.328 ± 0.008 | 0.782 | 1.769 | 0.291 |"}
TAUS = {"0.8": "| 0.8 (1.25) | 0.599 ± 0.015 | 0.176 |",
        "0.667": "| 0.667 (1.5) | 0.602 ± 0.004 | 0.160 |",
        "0.5": "| 0.5 (2) | 0.593 ± 0.006 | 0.142 |"}
EST_ROWS = {("sampled", "1"): "| sampled | 1 | 0.608 ± 0.011 | 0.048 |",
            ("full", "1"): "| full | 1 | 0.635 ± 0.004 | 0.007 |",
            ("sampled", "1.25"): "| sampled | 1.25 | 0.582 ± 0.016 | 0.076 |",
            ("full", "1.25"): "| full | 1.25 | 0.613 ± 0.002 | 0.017 |"}


def greedy(c, i):
    """%eval outputs of cell 21, in order: base, teacher, expo25, expo50, expo100."""
    return c.tables(21)[i].get("add", "greedy")


def check(c):
    c.given(2, "80 %", "noise = 0.8 in cell 4")
    teacher_run = c.table(6, header="eval_accuracy").get("teacher", "eval_accuracy")
    line = c.value(14, r"held-out greedy accuracy (\d\.\d+)")
    base, teacher = greedy(c, 0), greedy(c, 1)
    c.given(7, "about 20 %\nof the 10 000 prompts", "the task's held-out split")
    c.quote(7, "fixed sample of 2000 prompts", None)
    c.quote(7, "the teacher's own run ends at 0.6400", teacher_run)
    c.quote(7, "reads the same 0.6400", line)
    c.claim(7, "(and `%eval teacher n=2000` below)", teacher == line)
    c.claim(7, "score the same\nprompts", teacher_run == line == teacher,
            "the teacher's run, the %%opd teacher line and %eval teacher agree")

    # 1. the reference cancels (cells 10, 11)
    t = c.table(10, header="eval_accuracy")
    cols = ["accuracy", "eval_accuracy", "kl_teacher", "entropy"]
    for est in ["full", "sampled"]:
        a, b = f"cancel[reference=base,estimator={est}]", f"cancel[reference=other,estimator={est}]"
        c.claim(12, "same run to the last printed digit" if est == "full" else
                "they agree to the last printed digit too",
                all(t.get(a, k) == t.get(b, k) for k in cols), est)
    c.quote(12, "(`eval_accuracy` 0.631, `kl_teacher` 0.009577)",
            t.get("cancel[reference=base,estimator=full]", "eval_accuracy"),
            t.get("cancel[reference=base,estimator=full]", "kl_teacher"))
    c.quote(12, "differs (0.3441 vs 1.255)", t.get("cancel[reference=base,estimator=full]", "kl_ref"),
            t.get("cancel[reference=other,estimator=full]", "kl_ref"))
    c.quote(12, "(0.5725, `kl_teacher` 0.1452)",
            t.get("cancel[reference=base,estimator=sampled]", "eval_accuracy"),
            t.get("cancel[reference=base,estimator=sampled]", "kl_teacher"))
    t2 = c.table(11, header="eval_accuracy")
    b2, o2 = t2.get("cancel2[reference=base]", "eval_accuracy"), t2.get("cancel2[reference=other]", "eval_accuracy")
    c.quote(12, "the two runs end 0.1245 apart in accuracy\n(0.465 with the base as reference, "
            "0.5895 with `other`)", diff(o2, b2), b2, o2)
    c.given(12, "At\nλ = 2", "lambda = 2 in cell 11")

    # 2. the lambda sweep (cell 14)
    t = c.table(14, header="eval_accuracy")
    acc = {l: t.col("eval_accuracy", f"lambda={l},") for l in LAMS}
    m = {l: mean(acc[l]) for l in LAMS}
    col = {k: {l: mean(t.col(k, f"lambda={l},")) for l in LAMS} for k in ["kl_teacher", "kl_ref", "entropy"]}
    c.quote(15, "the teacher scores 0.6400, the base 0.3825", teacher, base)
    for l in LAMS:
        c.quote(15, LAM_ROWS[l], None, m[l], sd(acc[l]), col["kl_teacher"][l], col["kl_ref"][l],
                col["entropy"][l])
    c.quote(15, "200 steps: 0.3825 → 0.606, against 0.6400", None, base, m["1"], teacher)
    c.claim(15, "recovers most of the teacher's gain", (m["1"] - base) / (teacher - base) > 0.75)
    c.claim(15, "No λ > 1 beats λ = 1, and none beats the teacher",
            all(m[l] < m["1"] and m[l] < teacher for l in LAMS[2:]))
    c.quote(15, "λ = 1.25 ends at 0.588 ± 0.014, below λ = 1 by 0.017", None, m["1.25"],
            sd(acc["1.25"]), None, diff(m["1"], m["1.25"]))
    c.claim(15, "about one seed sd", 0.5 < (m["1"] - m["1.25"]) / sd(acc["1.25"]) < 1.5)
    c.claim(15, "but lower in\n  each of the 3 seeds", all(a < b for a, b in zip(acc["1.25"], acc["1"])))
    c.claim(15, "accuracy falls steadily as λ grows: an inverted U peaked at\n  λ = 1",
            all(m[a] > m[b] for a, b in zip(LAMS[1:], LAMS[2:])) and m["0.5"] < m["1"]
            and all(a < b for a, b in zip(acc["0.5"], acc["1"])))
    c.claim(15, "`kl_ref` grows with λ", all(col["kl_ref"][a] < col["kl_ref"][b]
                                              for a, b in zip(LAMS, LAMS[1:])))
    c.quote(15, "(0.291 vs 0.237) and the student ends below the base model (0.328 < 0.3825)",
            col["entropy"]["3"], col["entropy"]["1"], m["3"], base)
    c.claim(15, "at λ = 3 the entropy is *higher*", col["entropy"]["3"] > col["entropy"]["1"]
            and m["3"] < base)

    # 3. sharpening (cell 17)
    t = c.table(17, header="eval_accuracy")
    tacc = {x: t.col("eval_accuracy", f"temperature={x},") for x in TAUS}
    tent = {x: mean(t.col("entropy", f"temperature={x},")) for x in TAUS}
    c.quote(18, "| 1 (λ = 1 row above) | 0.606 ± 0.007 | 0.237 |", None, None, m["1"], sd(acc["1"]),
            col["entropy"]["1"])
    for x in TAUS:
        c.quote(18, TAUS[x], None, None, mean(tacc[x]), sd(tacc[x]), tent[x])
    c.quote(18, "(entropy 0.237 → 0.142)", col["entropy"]["1"], tent["0.5"])
    c.claim(18, "more confident", all(tent[x] < col["entropy"]["1"] for x in TAUS))
    c.claim(18, "does not raise accuracy", all(mean(tacc[x]) < m["1"] for x in TAUS))
    c.quote(18, "λ = 2 ends at 0.490 while\nτ = 0.5 ends at 0.593", None, m["2"], None, mean(tacc["0.5"]))
    c.claim(18, "it costs far less than extrapolating",
            mean(tacc["0.5"]) - m["2"] > 3 * max(sd(tacc["0.5"]), sd(acc["2"])))

    # 4. ExPO (cell 21)
    e25, e50, e100 = greedy(c, 2), greedy(c, 3), greedy(c, 4)
    c.quote(22, "base 0.3825, teacher 0.6400,\nExPO α = 0.25: 0.5975, α = 0.5: 0.5435, α = 1: 0.4015",
            base, teacher, None, e25, None, e50, None, e100)
    c.claim(22, "only loses accuracy here, and the further, the worse", teacher > e25 > e50 > e100)

    # 5. estimators (cell 24)
    t = c.table(24, header="eval_accuracy")
    ea = {k: t.col("eval_accuracy", f"estimator={k[0]},lambda={k[1]},") for k in EST_ROWS}
    ek = {k: mean(t.col("kl_teacher", f"estimator={k[0]},lambda={k[1]},")) for k in EST_ROWS}
    for k, row in EST_ROWS.items():
        c.quote(25, row, None, mean(ea[k]), sd(ea[k]), ek[k])
    ratios = [ratio(ek[("sampled", l)], ek[("full", l)]) for l in ["1", "1.25"]]
    gains = [diff(mean(ea[("full", l)]), mean(ea[("sampled", l)])) for l in ["1", "1.25"]]
    c.quote(25, "4–7× closer to its target in KL and 0.027–0.031 higher accuracy",
            min(ratios), max(ratios), min(gains), max(gains))
    c.claim(25, "both λ, in each of the 3 seeds",
            all(f > s for l in ["1", "1.25"] for f, s in zip(ea[("full", l)], ea[("sampled", l)])))
    c.claim(25, "λ = 1 ends\nabove λ = 1.25 with both estimators, in each of the 3 seeds",
            all(a > b for e in ["sampled", "full"] for a, b in zip(ea[(e, "1")], ea[(e, "1.25")])))
    fd = diff(mean(ea[("full", "1")]), mean(ea[("full", "1.25")]))
    fsd = max(sd(ea[("full", "1")]), sd(ea[("full", "1.25")]))
    c.quote(25, "(0.021 against an sd of at most 0.004)", fd, fsd)
    c.claim(25, "by\nfar more than the seed spread", fd > 3 * fsd)

    # 6. gamma (cell 27)
    t = c.table(27, header="eval_accuracy")
    g0, g1 = t.col("eval_accuracy", "gamma=0,"), t.col("eval_accuracy", "gamma=1,")
    k0, k1 = mean(t.col("kl_teacher", "gamma=0,")), mean(t.col("kl_teacher", "gamma=1,"))
    c.quote(28, "per-token reward (γ = 0) 0.595 ± 0.006, reward-to-go\n(γ = 1) 0.583 ± 0.019 "
            "(kl_teacher 0.071 vs 0.064)", None, mean(g0), sd(g0), None, mean(g1), sd(g1), k0, k1)
    d = diff(mean(g0), mean(g1))
    c.quote(28, "Reward-to-go ends 0.012 lower on average", d)
    spread = max(sd(g0), sd(g1))
    c.quote(28, "(sd up to 0.019; the seeds share their held-out prompts", spread)
    c.claim(28, "within the spread of the 3 seeds", abs(d) < spread)
    c.claim(28, "not lower in every seed", not all(a < b for a, b in zip(g1, g0)))

    # summary
    c.quote(29, "(0.6400 held-out from a 0.3825 base)", teacher, base)
    c.quote(29, "to 0.606 (sampled) / 0.635 (full)", m["1"], mean(ea[("full", "1")]))
    c.quote(29, "(0.588 at 1.25, 0.490 at 2, 0.328 at 3)", m["1.25"], None, m["2"], None, m["3"], None)
    c.claim(29, "sharpening alone costs little",
            m["1"] - min(mean(tacc[x]) for x in TAUS) < m["1"] - m["1.5"])
