"""Prose of notebooks/rewards-and-rl.ipynb against its outputs (tests/py/nbclaims.py)."""
import math

from nbclaims import Val, diff, mean, ratio

SEEDS = [1, 2, 3, 4, 5]
ALGOS = ["reinforce", "rloo", "grpo", "drgrpo", "ppo"]
ROWS_EST = {"k1": "| k1 | 0.177 | 0.177 | −0.0006 | −0.033, +0.033, −0.024, −0.031, +0.012 |",
            "k2": "| k2 | 0.138 | 0.117 | −0.0098 | −0.021, −0.034, −0.047, −0.033, −0.031 |",
            "k3": "| k3 | 0.109 | 0.108 | −0.0002 | +0.108, −0.013, +0.019, +0.019, −0.010 |"}
# cells (0-based)
EVAL, ALGO_MD, ALGOS_RUN, ALGOS_CMP, ALGOS_SAY = 4, 8, 9, 10, 12
MU_MD, MU_RUN, MU_CMP, MU_SAY = 13, 14, 15, 16
LEN_CMP, LEN_SAY = 18, 19
KL_RUN, KL_CMP, KL_SAY = 21, 22, 24
EST_RUN, EST_PLOT, EST_CMP, EST_SAY = 26, 28, 29, 30
FIG_KL, OBJ_MD, SAY, READ, EVAL2, READ2 = 34, 35, 36, 37, 38, 39


class Row:
    """A %compare row: Δ mean, sd, se and the sign counts."""

    def __init__(self, t, key):
        p = t.compare(key)
        self.d, self.sd, self.se, self.n = p.mean, p.sd, p.se, p.n
        self.up, self.down = int(p.up), int(p.down)
        self.mean = t.get(key, "mean \u00b1 sd")

    def neg(self):
        return Val(-self.d, self.d.src)

    def resolved(self):
        return abs(self.d) > 2 * self.se


def cmp(c, cell, index, key):
    return Row(c.tables(cell)[index], key)


def check(c):
    # 1. task and bases
    c.given(1, "60 %", "noise = 0.6 in cell 3")
    ev = c.table(EVAL)
    greedy = [ev.get(f"base[seed={s}]", "greedy") for s in SEEDS]
    p8 = [ev.get(f"base[seed={s}]", "pass@8") for s in SEEDS]
    n_eval = c.value(EVAL, r"same (\d+) prompts")
    c.quote(5, "`greedy` is the accuracy on the 2011 held-out prompts", n_eval)
    c.quote(5, "(greedy 0.4267\nto 0.5763)", min(greedy, key=float), max(greedy, key=float))
    c.claim(5, "`pass@8` is much\nhigher for each of them", all(p > g + 0.2 for p, g in zip(p8, greedy)),
            f"{p8} vs {greedy}")

    # 3. five algorithms
    c.given(ALGO_MD, "so also 4× the optimizer steps", "ppo's default epochs = 4 (runtime/rl recipe table)")
    means = c.table(ALGOS_RUN, means=True)
    per = c.table(ALGOS_RUN, header="eval_accuracy")
    c.claim(ALGO_MD, "25 runs", len(per.rows) == 25, str(per.keys))
    src = c.nb.cells[ALGOS_RUN].source
    c.claim(ALGO_MD, "No algorithm in this cell has a KL penalty (`kl = 0`, the default)",
            not any(l.split("=")[0].strip() in ("kl", "beta") for l in src.splitlines()), src)
    m = {a: means.pm(f"algos[algo={a}]", "eval_accuracy")[0] for a in ALGOS}
    base = mean(greedy)
    S = ALGOS_SAY
    c.quote(S, "from 0.503 (mean of the five bases) to\n  0.707–0.743 in 100 steps", base,
            min(m.values(), key=float), max(m.values(), key=float), None)
    c.claim(S, "All five algorithms raise held-out accuracy",
            all(per.get(f"algos[algo={a},seed={s}]", "eval_accuracy") > g
                for a in ALGOS for s, g in zip(SEEDS, greedy)), "every run above its own base")
    acc = {a: cmp(c, ALGOS_CMP, 0, f"algos[algo={a}]") for a in ALGOS if a != "grpo"}
    kl = {a: cmp(c, ALGOS_CMP, 1, f"algos[algo={a}]") for a in ALGOS if a != "grpo"}
    r, ro, dr = acc["reinforce"], acc["rloo"], acc["drgrpo"]
    c.quote(S, "Δ = +0.0057 (se 0.0034),\n  +0.0067 (se 0.0043) and +0.0023 (se 0.0019)",
            r.d, r.se, ro.d, ro.se, dr.d, dr.se)
    c.claim(S, "each less than two standard errors from zero",
            not any(x.resolved() for x in (r, ro, dr)))
    p = acc["ppo"]
    c.quote(S, "PPO ends below GRPO: Δ = −0.0291 (se 0.0087, lower in 5 of 5 pipelines)",
            p.d, p.se, Val(p.down, "Δ<0 count"), Val(p.n, "n"))
    c.claim(S, "PPO ends below GRPO", p.d < 0)
    c.quote(S, "(3.3 standard errors)", ratio(-p.d, p.se))
    c.claim(S, "five\n  pipelines resolve it", p.resolved())
    pk = kl["ppo"]
    grpo_kl = c.tables(ALGOS_CMP)[1].get("algos[algo=grpo]", "mean \u00b1 sd")
    c.quote(S, "its KL is 0.3220 against 0.1933 for GRPO", pk.mean, grpo_kl)
    c.claim(S, "higher in\n  every pipeline", pk.up == pk.n == 5)
    c.quote(S, "(Δ = +0.1287, se 0.0418)", pk.d, pk.se)
    c.claim(S, "PPO moves furthest from the base",
            all(pk.d > x.d for a, x in kl.items() if a != "ppo") and pk.d > 0 and pk.resolved())
    sd_grpo = Val(float(means.pm("algos[algo=grpo]", "eval_accuracy")[1]), "sd of grpo's eval_accuracy")
    c.quote(S, "GRPO's five runs\n  have sd 0.0377", sd_grpo)
    c.claim(S, "larger than every paired accuracy difference above",
            all(sd_grpo > abs(x.d) for x in acc.values()), "accuracy differences")
    # unpaired: |difference of means| within 2 standard errors of an unpaired difference
    sds = {a: float(means.pm(f"algos[algo={a}]", "eval_accuracy")[1]) for a in ALGOS}
    c.claim(S, "Unpaired mean ± sd\n  comparisons could not show any of them",
            all(abs(m[a] - m["grpo"]) < 2 * math.sqrt((sds[a] ** 2 + sds["grpo"] ** 2) / 5)
                for a in ALGOS if a != "grpo"), f"means {m}, sds {sds}")

    # 4. iterations
    c.given(MU_MD, "(which are also 4× the optimizer steps)", "mu = 4 updates per batch")
    mm = c.table(MU_RUN, means=True)
    cf = {(a, i): mm.pm(f"mu[algo={a},iterations={i}]", "clip_frac")[0] for a in ("grpo", "ppo") for i in (1, 4)}
    S = MU_SAY
    pa1, pk1 = cmp(c, MU_CMP, 0, "mu[algo=ppo,iterations=1]"), cmp(c, MU_CMP, 1, "mu[algo=ppo,iterations=1]")
    ga4, gk4 = cmp(c, MU_CMP, 0, "mu[algo=grpo,iterations=4]"), cmp(c, MU_CMP, 1, "mu[algo=grpo,iterations=4]")
    pk4 = cmp(c, MU_CMP, 1, "mu[algo=ppo,iterations=4]")
    pp = cmp(c, MU_CMP, 2, "mu[algo=ppo,iterations=4]")
    c.quote(S, "Δ accuracy +0.0028\n  (se 0.0037), Δ KL +0.0026 (se 0.0066)", pa1.d, pa1.se, pk1.d, pk1.se)
    c.claim(S, "`clip_frac` is 0 for both", cf[("grpo", 1)] == 0 and cf[("ppo", 1)] == 0)
    c.claim(S, "PPO and GRPO end at the same place", not pa1.resolved() and not pk1.resolved())
    c.quote(S, "KL +0.0954 (se 0.0136) for GRPO\n  and +0.0880 (se 0.0257) for PPO", gk4.d, gk4.se, pk4.d, pk4.se)
    c.claim(S, "higher in every pipeline. The clip", gk4.up == 5 and pk4.up == 5)
    c.quote(S, "on about\n  3 % of the tokens", Val(100 * cf[("grpo", 4)], "100 clip_frac (grpo, mu = 4)"))
    c.claim(S, "on about\n  3 % of the tokens", round(100 * cf[("ppo", 4)]) == 3, "ppo's clip_frac")
    c.quote(S, "(`clip_frac` 0.02955 for GRPO, 0.03129 for PPO)", cf[("grpo", 4)], cf[("ppo", 4)])
    c.quote(S, "−0.0396 (se 0.0111) for GRPO", ga4.d, ga4.se)
    c.quote(S, "PPO at μ = 4 against PPO at μ = 1: −0.0293 (se 0.0075)", None, None, pp.d, pp.se)
    c.claim(S, "lower in every pipeline;", ga4.down == 5)
    c.claim(S, "(se 0.0075), lower in every pipeline", pp.down == 5)
    pa4 = cmp(c, MU_CMP, 0, "mu[algo=ppo,iterations=4]")
    c.quote(S, "against GRPO at μ = 1: −0.0266, se 0.0087, lower in every pipeline", None, pa4.d, pa4.se)
    c.claim(S, "se 0.0087, lower in every pipeline)", pa4.down == 5)
    c.claim(S, "at μ = 1, PPO and GRPO\nare indistinguishable", not pa1.resolved() and not pk1.resolved())
    c.claim(S, "distance from the base, not held-out accuracy",
            gk4.up == pk4.up == 5 and ga4.down == pp.down == 5)
    c.claim(S, "a clip that cuts a few percent of the\ntokens does not stop that",
            max(cf[("grpo", 4)], cf[("ppo", 4)]) < 0.1)
    c.claim(S, "\"PPO moves furthest\" and \"PPO ends below GRPO\" both come from its four\nupdates per batch",
            not pk1.resolved() and not pa1.resolved() and pk4.resolved() and gk4.resolved()
            and pp.resolved() and pp.down == 5 and pa4.resolved() and pa4.down == 5)

    # 5. length
    S = LEN_SAY
    ln = cmp(c, LEN_CMP, 0, "algos[algo=drgrpo]")
    wl = cmp(c, LEN_CMP, 1, "algos[algo=drgrpo]")
    c.quote(S, "mean answer length Δ = −0.008\ntokens (se 0.003; shorter in 3 of 5 pipelines, equal in the "
            "other 2)", ln.d, ln.se, Val(ln.down, "Δ<0"), Val(ln.n, "n"),
            Val(ln.n - ln.up - ln.down, "ties"))
    c.quote(S, "length Δ = −0.059 (se 0.049; 2 of 5 pipelines up)", wl.d, wl.se, Val(wl.up, "Δ>0"),
            Val(wl.n, "n"))
    c.claim(S, "The sign of the first is the one\nDr. GRPO predicts", ln.d < 0 and ln.up == 0)
    glen = c.tables(LEN_CMP)[0].get("algos[algo=grpo]", "mean \u00b1 sd")
    c.quote(S, "against answers of about 3.5\ntokens", glen)
    c.claim(S, "the size is a fraction of one token", abs(ln.d) < 0.05)
    c.claim(S, "**The toy cannot show Dr. GRPO's point**", abs(ln.d) < 0.01 * glen and not wl.resolved())
    task = c.text(2)
    c.claim(17, "Here an answer has 1 to 4 tokens", "answer at most 4 tokens" in task, task[:200])

    # 6. KL penalty
    S = KL_SAY
    a5, a1 = cmp(c, KL_CMP, 0, "klpen[kl=0.5]"), cmp(c, KL_CMP, 0, "klpen[kl=0.1]")
    k5, k1 = cmp(c, KL_CMP, 1, "klpen[kl=0.5]"), cmp(c, KL_CMP, 1, "klpen[kl=0.1]")
    k0 = c.tables(KL_CMP)[1].get("klpen[kl=0]", "mean \u00b1 sd")
    rkl = ratio(k0, k5.mean)
    c.quote(S, "ends 2.66 times closer\n  to the base (KL 0.0744 instead of 0.1975; Δ = −0.12315, se 0.01502",
            rkl, k5.mean, k0, k5.d, k5.se)
    c.claim(S, "lower in every\n  pipeline)", k5.down == 5)
    c.quote(S, "lowers it by 0.04048 (se 0.01306, every pipeline)", k1.neg(), k1.se)
    c.claim(S, "lowers it by 0.04048 (se 0.01306, every pipeline)", k1.down == 5)
    c.quote(S, "β = 0.5 costs held-out accuracy: Δ = −0.0187 (se 0.0072), lower in 4 of 5 pipelines",
            None, a5.d, a5.se, Val(a5.down, "Δ<0"), Val(a5.n, "n"))
    c.claim(S, "equal in the fifth", a5.up == 0 and a5.down == 4)
    c.claim(S, "β = 0.5 costs held-out accuracy", a5.d < 0 and a5.resolved())
    c.quote(S, "(Δ = +0.0012, se 0.0026)", a1.d, a1.se)
    c.claim(S, "β = 0.1 costs nothing measurable", not a1.resolved())
    c.quote(S, "here about 0.02 of accuracy for 2.66 times less KL", a5.neg(), rkl)

    # 7. estimators
    ref, est = c.chart(EST_PLOT, 0)["kl_ref"], c.chart(EST_PLOT, 1)["kl_est"]
    t = c.table(EST_RUN, header="kl_est")
    S = EST_SAY
    err100, rough, last = {}, {}, {}
    for k in ["k1", "k2", "k3"]:
        rr, e = ref[f"kl_estimator={k}"], est[f"kl_estimator={k}"]
        err = Val(sum(a - b for a, b in zip(e.y, rr.y)) / len(rr.y),
                  f"mean over steps of kl_est - kl_ref, output cell {EST_PLOT} (charts) for {k}")
        err100[k] = [diff(a, b) for a, b in zip(t.col("kl_est", f"={k},"), t.col("kl_ref", f"={k},"))]
        c.quote(S, ROWS_EST[k], rr.last(10), e.last(10), err, *err100[k])
        rough[k] = (sum(abs(a - b) for a, b in zip(e.y[1:], e.y)),
                    sum(abs(a - b) for a, b in zip(rr.y[1:], rr.y)))
        last[k] = rr.last(10)
        if k == "k2":
            c.quote(S, "underestimates the KL by 0.0098 on average\n  (about 7 %)",
                    Val(-err, err.src), Val(-100 * err / rr.last(10), "mean error / kl_ref"))
            c.claim(S, "at step 100 it is below the exact KL in every pipeline", max(err100[k]) < 0)
        else:
            c.claim(S, "their error is below 0.001", abs(err) < 0.001, f"{k}: {err}")
    worst = {k: max(err100[k], key=lambda x: abs(float(x))) for k in err100}
    c.quote(S, "reach 0.033 (k1) to 0.108 (k3)", Val(abs(worst["k1"]), worst["k1"].src),
            Val(abs(worst["k3"]), worst["k3"].src))
    c.claim(S, "reach 0.033 (k1) to 0.108 (k3)",
            min(abs(float(w)) for w in worst.values()) == abs(float(worst["k1"]))
            and max(abs(float(w)) for w in worst.values()) == abs(float(worst["k3"])))
    c.claim(S, "the estimate curves are\n  noisier than the exact ones",
            all(a > b for a, b in rough.values()),
            f"summed step-to-step changes (estimate, exact): {rough}")
    c.given(S, "the same β = 0.2", "kl = 0.2 in the est cell")
    c.claim(S, "the k3 runs end\n  closest to the base, the k1 runs furthest",
            last["k3"] < last["k2"] < last["k1"], f"{last}")
    e3, e2 = cmp(c, EST_CMP, 0, "est[kl_estimator=k3]"), cmp(c, EST_CMP, 0, "est[kl_estimator=k2]")
    c.quote(S, "k3 ends 0.0532 lower in KL\n  (se 0.0074) and k2 0.0253 lower (se 0.0050)",
            e3.neg(), e3.se, e2.neg(), e2.se)
    c.claim(S, "both in every pipeline", e3.down == 5 and e2.down == 5)
    t0 = c.table(KL_RUN, header="kl_est")
    tails = [(t0.get(f"klpen[kl=0,seed={s}]", "kl_est"), t0.get(f"klpen[kl=0,seed={s}]", "kl_ref"))
             for s in SEEDS]
    e0, r0 = max(tails, key=lambda x: float(x[0]) - float(x[1]))
    c.quote(S, "an estimate of 0.4003 for\n  an exact KL of 0.2611, an error of +0.1392", e0, r0, diff(e0, r0))
    c.claim(S, "k3 has a heavy tail", diff(e0, r0) > 3 * max(abs(x) for x in err100["k1"]))

    # 8. pictures of the objects (kept from the last round)
    c.claim(OBJ_MD, "its exact KL\nending furthest from the base", last["k1"] > max(last["k2"], last["k3"]),
            "k1's kl_ref, last 10 steps")
    shape = c.text(3)
    c.claim(OBJ_MD, "two hidden layers of 256 units", "H=256 L=2" in shape, shape[:200])
    c.claim(OBJ_MD, "prompts of 7 tokens,\nanswers of at most 4 tokens",
            "prompt length 7, answer at most 4 tokens" in task, task[:300])
    fig = c.chart(FIG_KL)
    fac = fig["dk/d log \u03c0\u03b8: factor on \u2207log \u03c0\u03b8"]["k1 = \u2212log r"]
    c.claim(OBJ_MD, "here PPO's distance from the base and its lower\naccuracy were its μ = 4, not its advantage",
            not pk1.resolved() and pk4.resolved() and not pa1.resolved() and pp.resolved() and pp.d < 0,
            "PPO - GRPO KL and accuracy at mu = 1, PPO mu = 4 - mu = 1 (mu cell)")
    c.claim(OBJ_MD, "it is neither confirmed nor refuted here", abs(ln.d) < 0.01 * glen)
    c.claim(OBJ_MD, "its factor is 1", all(abs(y - 1) < 1e-9 for y in fac.y), "the k1 factor drawn by %figure kl")

    # what the numbers say (the table repeats the paired results above)
    S = SAY
    c.quote(S, "every run scored on the same 2011 held-out prompts", n_eval)
    c.quote(S, "| +0.0057 ± 0.0034, +0.0067 ± 0.0043, +0.0023 ± 0.0019 (4 of 5 up each) |",
            r.d, r.se, ro.d, ro.se, dr.d, dr.se, Val(r.up, "Δ>0"), Val(5, "n"))
    c.claim(S, "(4 of 5 up each) | no difference resolved", r.up == ro.up == dr.up == 4
            and not any(x.resolved() for x in (r, ro, dr)))
    c.quote(S, "| −0.0291 ± 0.0087 (5 of 5 down) | lower, resolved (3.3 se) |",
            p.d, p.se, Val(p.down, "Δ<0"), Val(5, "n"), ratio(-p.d, p.se))
    c.claim(S, "| lower, resolved (3.3 se) |", p.d < 0 and p.resolved())
    c.quote(S, "| +0.1287 ± 0.0418 (5 of 5 up) | holds |", pk.d, pk.se, Val(pk.up, "Δ>0"), Val(5, "n"))
    c.claim(S, "(5 of 5 up) | holds |", pk.d > 0 and pk.resolved())
    c.quote(S, "| +0.0026 ± 0.0066 (3 of 5 up); +0.0028 ± 0.0037 (3 of 5 up) |",
            pk1.d, pk1.se, Val(pk1.up, "Δ>0"), Val(5, "n"), pa1.d, pa1.se, Val(pa1.up, "Δ>0"), Val(5, "n"))
    c.claim(S, "no difference: PPO's extra KL and lower accuracy are its 4 updates per batch",
            not pk1.resolved() and not pa1.resolved() and pk.resolved() and p.resolved()
            and pp.resolved() and pp.d < 0)
    c.quote(S, "| PPO μ = 4 − μ = 1: accuracy | −0.0293 ± 0.0075 (5 of 5 down) | holds |",
            None, None, pp.d, pp.se, Val(pp.down, "Δ<0"), Val(5, "n"))
    c.claim(S, "| PPO μ = 4 − μ = 1: accuracy | −0.0293 ± 0.0075 (5 of 5 down) | holds |",
            pp.d < 0 and pp.resolved() and pp.down == 5)
    c.quote(S, "| +0.0954 ± 0.0136 (5 of 5 up); −0.0396 ± 0.0111 (5 of 5 down) |",
            gk4.d, gk4.se, Val(gk4.up, "Δ>0"), Val(5, "n"), ga4.d, ga4.se, Val(ga4.down, "Δ<0"), Val(5, "n"))
    c.claim(S, "holds: the clip acts, the run moves further and scores lower",
            cf[("grpo", 4)] > 0 and gk4.up == 5 and ga4.down == 5)
    c.quote(S, "| −0.008 ± 0.003 (0 of 5 up) |", ln.d, ln.se, Val(ln.up, "Δ>0"), Val(5, "n"))
    c.claim(S, "the predicted sign, but too small to matter", ln.d < 0 and abs(ln.d) < 0.05)
    c.quote(S, "| −0.12315 ± 0.01502 (5 of 5 down); −0.0187 ± 0.0072 (4 of 5 down) |",
            k5.d, k5.se, Val(k5.down, "Δ<0"), Val(5, "n"), a5.d, a5.se, Val(a5.down, "Δ<0"), Val(5, "n"))
    c.claim(S, "holds: less KL, a little less accuracy", k5.resolved() and a5.resolved() and a5.d < 0)
    c.quote(S, "| −0.0532 ± 0.0074 (5 of 5 down) | holds |", e3.d, e3.se, Val(e3.down, "Δ<0"), Val(5, "n"))

    # how to read a comparison
    c.given(READ, "With n = 5 pipelines", "seed = [1, 2, 3, 4, 5]")
    pg = m["grpo"]
    floor = math.sqrt(pg * (1 - pg) / n_eval)
    c.quote(READ2, "with 2011 prompts an accuracy near 0.74 has a binomial sd of about\n  0.0098",
            n_eval, pg, Val(floor, "sqrt(p(1-p)/n), p = grpo's mean (algos)"))
    diffs = [abs(x.d) for x in (r, ro, dr, p, pa1, ga4, pp, a5, a1)]
    c.claim(READ2, "larger than several of the paired differences", sum(d < floor for d in diffs) >= 3,
            f"{diffs}")
    ev2 = c.table(EVAL2)
    col = "greedy − algos[algo=grpo,seed=1]"
    ses = []
    for a in ALGOS:
        if a == "grpo":
            continue
        cell = ev2.row(f"algos[algo={a},seed=1]")[ev2.header.index(col)]
        ses.append(Val(float(cell.split("±")[1]), f"output cell {EVAL2} paired se of {a} - grpo"))
    se_of = dict(zip([a for a in ALGOS if a != "grpo"], ses))
    close, se_ppo = [se_of[a] for a in ("reinforce", "rloo", "drgrpo")], se_of["ppo"]
    c.quote(READ2, "the paired standard\n  error of one difference above is 0.004 to 0.005 for REINFORCE, RLOO and Dr. GRPO and\n"
            "  0.010 for PPO", min(close, key=float), max(close, key=float), se_ppo)
    indep = Val(math.sqrt(2) * floor, "sqrt(2) times the binomial sd (two independent scores)")
    c.quote(READ2, "below the 0.014 of the difference of two independent scores", indep)
    c.claim(READ2, "share part of that noise", max(ses) < indep, f"{ses} vs {indep}")
    sdr = r.sd
    c.quote(READ2, "(REINFORCE − GRPO: sd Δ 0.0076)", sdr)
    se_r = ses[0]
    c.claim(READ2, "a good part of the spread of the\n  paired differences", se_r ** 2 > 0.25 * sdr ** 2,
            f"paired eval se {se_r} vs sd of the differences {sdr}")
    c.given(READ2, "The held-out split has no more prompts to add", "eval_prompts = 4096 > 2011")
    c.claim(READ2, "The `greedy` column repeats the runs' `eval_accuracy` exactly",
            all(float(ev2.get(f"algos[algo={a},seed=1]", "greedy"))
                == float(per.get(f"algos[algo={a},seed=1]", "eval_accuracy")) for a in ALGOS))
