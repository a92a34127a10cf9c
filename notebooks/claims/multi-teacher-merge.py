"""Prose of notebooks/multi-teacher-merge.ipynb against its outputs (tests/py/nbclaims.py).

Student-vs-teacher differences are paired by pipeline here: the rows NAME[...,seed=s] of one
%eval table (every policy on the same held-out prompts) taken seed by seed."""
import math

import nbclaims
from nbclaims import Val

SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)
# cells
RL_ADD, RL_SRT, EV_ADD, EV_SRT, OPD, PLOT, CMP, K8_ADD, K8_SRT, OPD_F, CMP_F = \
    6, 7, 11, 12, 14, 15, 16, 18, 19, 21, 22
PREDICT, SAYS, READ = 20, 23, 24


def col(c, cell, who, what="greedy"):
    """A policy's column over the pipelines, seed by seed, from one %eval table."""
    t = c.table(cell)
    return [t.get(who.format(s=s) if "{s}" in who else f"{who}[seed={s}]", what) for s in SEEDS]


def paired(a, b, what):
    """Per-pipeline differences a - b: (mean, se, number > 0, number < 0, the differences)."""
    p = nbclaims.paired(a, b, what)
    return p.mean, p.se, int(p.up), int(p.down), p.diffs


def rng(vals):
    return min(vals, key=float), max(vals, key=float)


def cmp_row(c, cell, caption, key):
    """(delta mean, se, count > 0, count < 0) of a %compare row."""
    p = c.table(cell, caption=caption).compare(key)
    return p.mean, p.se, int(p.up), int(p.down)


def check(c):
    c.given(2, "80 %", "noise = 0.8 in cell 3")

    # ---- teachers -------------------------------------------------------------------
    kadd, kadd_sd = c.table(RL_ADD, means=True).pm("t_add", "kl_ref")
    ksrt, ksrt_sd = c.table(RL_SRT, means=True).pm("t_srt", "kl_ref")
    c.quote(SAYS, "`kl_ref`\n  0.4734 ± 0.0414 on addition, 0.4381 ± 0.0394 on sorting",
            kadd, kadd_sd, ksrt, ksrt_sd)
    c.claim(SAYS, "the same within that spread", abs(kadd - ksrt) < min(kadd_sd, ksrt_sd),
            f"|{kadd} - {ksrt}| vs sd {kadd_sd}, {ksrt_sd}")
    g = {}  # g[domain][policy] = greedy per seed, cells 11 and 12
    for dom, cell in (("add", EV_ADD), ("srt", EV_SRT)):
        g[dom] = {w: col(c, cell, w) for w in
                  ("base", "h_add", "t_add", "h_srt", "t_srt", f"x_{dom}")}
    c.quote(SAYS, "the\n  full sort runs reach 0.9846 to 0.9954 from bases at 0.0677 to 0.1283, "
            "the full add runs\n  0.4301 to 0.6469 from 0.3063 to 0.3217",
            *rng(g["srt"]["t_srt"]), *rng(g["srt"]["base"]),
            *rng(g["add"]["t_add"]), *rng(g["add"]["base"]))
    c.claim(SAYS, "Their accuracy gains differ, because sorting is easier",
            min(t - b for t, b in zip(g["srt"]["t_srt"], g["srt"]["base"]))
            > max(t - b for t, b in zip(g["add"]["t_add"], g["add"]["base"])))
    th = {d: paired(g[d][f"t_{d}"], g[d][f"h_{d}"], f"t_{d} - h_{d} on {d}, cell "
                    f"{EV_ADD if d == 'add' else EV_SRT}") for d in ("add", "srt")}
    xt = {d: paired(g[d][f"x_{d}"], g[d][f"t_{d}"], f"x_{d} - t_{d} on {d}") for d in ("add", "srt")}
    c.quote(SAYS, "(add +0.0420, se 0.0092; sort +0.0476, se 0.0060; 5 of 5 each)",
            th["add"][0], th["add"][1], th["srt"][0], th["srt"][1],
            Val(min(th["add"][2], th["srt"][2]), "pipelines with t > h, both domains"), Val(N, "n"))
    c.claim(SAYS, "the full run beats its half-way point in every\n  pipeline",
            th["add"][2] == N and th["srt"][2] == N)
    c.quote(SAYS, "(add −0.1999, sort −0.5255)", xt["add"][0], xt["srt"][0])
    c.claim(SAYS, "Twice the direction (f = 2) falls below the full\n  run in every pipeline",
            xt["add"][3] == N and xt["srt"][3] == N)
    # off-domain
    off_srt = [abs(float(x) - float(b)) for w in ("h_srt", "t_srt")
               for x, b in zip(g["add"][w], g["add"]["base"])]
    c.quote(SAYS, "The sort experts add within 0.0244 of their base",
            Val(max(off_srt), "largest |sort expert - base| on add, cell 11"))
    ta = paired(g["srt"]["t_add"], g["srt"]["base"], "t_add - base on srt, cell 12")
    ha = paired(g["srt"]["h_add"], g["srt"]["base"], "h_add - base on srt, cell 12")
    c.quote(SAYS, "the add experts sort better than their base in 4 of 5 pipelines",
            Val(ta[2], "t_add > base on srt"), Val(N, "n"))
    c.claim(SAYS, "the add experts sort better than their base in 4 of 5", ta[2] == ha[2] == 4)
    c.quote(SAYS, "(the full runs by\n  +0.0606 on average, up to +0.1575)", ta[0],
            Val(max(ta[4]), "largest t_add - base on srt"))
    c.claim(SAYS, "far below the sort experts",
            max(map(float, g["srt"]["t_add"] + g["srt"]["h_add"])) < min(map(float, g["srt"]["h_srt"])) / 2)

    # ---- the merge: lambda = 1 converged, near its teachers -------------------------------
    c.quote(SAYS, "(2011 add, 1949 sort\nprompts)", c.value(EV_ADD, r"same (\d+) prompts of add"),
            c.value(EV_SRT, r"same (\d+) prompts of srt"))
    c.given(SAYS, "n = 5", "seed = [1, 2, 3, 4, 5]")
    k8 = {}
    for dom, cell in (("add", K8_ADD), ("srt", K8_SRT)):
        k8[dom] = {w: {m: col(c, cell, w, m) for m in ("greedy", "avg@8", "pass@8")}
                   for w in ("base", "m[lambda=1,seed={s}]", "m[lambda=2,seed={s}]",
                             f"h_{dom}", f"t_{dom}")}
    L1, L2 = "m[lambda=1,seed={s}]", "m[lambda=2,seed={s}]"
    # the k = 8 tables' greedy column is the runs' eval_accuracy_<domain>: same prompts
    seeds_tab = c.table(OPD)
    for dom in ("add", "srt"):
        for lam, key in (("1", L1), ("2", L2)):
            run = seeds_tab.col(f"eval_accuracy_{dom}", f"lambda={lam},")
            c.claim(SAYS, "the same prompts for every policy",
                    [float(x) for x in run] == [float(x) for x in k8[dom][key]["greedy"]],
                    f"{dom} lambda={lam}: cell {OPD} {run} vs %eval {k8[dom][key]['greedy']}")
    ch = {d: c.chart(PLOT, i)[f"eval_accuracy_{d}"] for i, d in enumerate(("add", "srt"))}
    a4, a8 = ch["add"]["lambda=1"].window(400, 400), ch["add"]["lambda=1"].window(800, 800)
    s4, s8 = ch["srt"]["lambda=1"].window(400, 400), ch["srt"]["lambda=1"].window(800, 800)
    c.quote(SAYS, "(mean over pipelines: add 0.4382 → 0.4381, sort 0.9375 → 0.9394\n  from step "
            "400 to 800)", a4, a8, s4, s8, None, None)
    c.given(SAYS, "over the last 400 steps", "steps = 800 in cell 14; chart points at 400 and 800")
    flat = max(abs(float(ch[d]["lambda=1"].y[-1]) - float(ch[d]["lambda=1"].y[i]))
               for d in ("add", "srt") for i in range(4, len(ch[d]["lambda=1"].y)))
    c.claim(SAYS, "Its held-out accuracy is flat", flat < 0.01,
            f"largest change of the lambda=1 mean from step 400 on: {flat}")
    l1h = {d: paired(k8[d][L1]["greedy"], k8[d][f"h_{d}"]["greedy"], f"m[lambda=1] - h_{d} on {d}")
           for d in ("add", "srt")}
    c.quote(SAYS, "add −0.0068\n  (se 0.0055), sort −0.0054 (se 0.0021), below in 4 of 5 pipelines",
            l1h["add"][0], l1h["add"][1], l1h["srt"][0], l1h["srt"][1],
            Val(l1h["add"][3], "lambda=1 below h_add"), Val(N, "n"))
    c.claim(SAYS, "below in 4 of 5 pipelines in each domain", l1h["add"][3] == l1h["srt"][3] == 4)
    c.claim(SAYS, "has converged, just below its teachers",
            all(-0.01 < l1h[d][0] < 0 for d in ("add", "srt")))

    # ---- lambda = 2 against the teachers, against OPD, against the full runs -------------
    l2h = {d: paired(k8[d][L2]["greedy"], k8[d][f"h_{d}"]["greedy"], f"m[lambda=2] - h_{d} on {d}")
           for d in ("add", "srt")}
    c.quote(SAYS, "λ = 2 against the teachers: add +0.0390 (se 0.0061),\n  sort +0.0464 (se 0.0071), "
            "above in 5 of 5 pipelines", None, l2h["add"][0], l2h["add"][1], l2h["srt"][0],
            l2h["srt"][1], Val(min(l2h["add"][2], l2h["srt"][2]), "lambda=2 above h, both"), Val(N, "n"))
    c.claim(SAYS, "the merged ExOPD student beats each\n  domain teacher in its own domain",
            all(l2h[d][2] == N and l2h[d][0] > 2 * l2h[d][1] for d in ("add", "srt")))
    mix = cmp_row(c, CMP, "eval_accuracy (", "m[lambda=2]")
    add = cmp_row(c, CMP, "eval_accuracy_add", "m[lambda=2]")
    srt = cmp_row(c, CMP, "eval_accuracy_srt", "m[lambda=2]")
    c.quote(SAYS, "+0.0487 on the mix (se 0.0080, 5 of 5 up), +0.0457 on addition\n  (se 0.0115), "
            "+0.0518 on sorting (se 0.0069)", mix[0], mix[1], Val(mix[2], "cell 16 Δ>0"), Val(N, "n"),
            add[0], add[1], srt[0], srt[1])
    c.claim(SAYS, "Against OPD", all(r[2] == N and r[0] > 2 * r[1] for r in (mix, add, srt)))
    l2t = {d: paired(k8[d][L2]["greedy"], k8[d][f"t_{d}"]["greedy"], f"m[lambda=2] - t_{d} on {d}")
           for d in ("add", "srt")}
    c.quote(SAYS, "add −0.0030 (se 0.0035), sort −0.0012 (se 0.0015), within one\n  standard error",
            l2t["add"][0], l2t["add"][1], l2t["srt"][0], l2t["srt"][1])
    c.claim(SAYS, "within one\n  standard error", all(abs(l2t[d][0]) < l2t[d][1] for d in ("add", "srt")))
    c.claim(SAYS, "It lands on the full RL runs the teachers were\n  cut from, not above them",
            all(l2t[d][0] <= 0 for d in ("add", "srt")))
    c.claim(SAYS, "ExOPD recovered the half of each RL run that its teacher had not taken",
            all(abs(l2t[d][0]) < l2t[d][1] and l2h[d][2] == N for d in ("add", "srt")))

    # ---- sharpening vs reach ---------------------------------------------------------------
    sh = {(d, m): paired(k8[d][L2][m], k8[d][L1][m], f"lambda=2 - lambda=1 {m} on {d}")
          for d in ("add", "srt") for m in ("avg@8", "pass@8")}
    c.quote(SAYS, "λ = 2 − λ = 1 on sorting: avg@8 +0.1345, pass@8 only\n  +0.0047", None, None, None,
            sh["srt", "avg@8"][0], None, sh["srt", "pass@8"][0])
    c.quote(SAYS, "(λ = 1 already has pass@8 of 0.9882 to 0.9954)", None, None,
            *rng(k8["srt"][L1]["pass@8"]))
    c.quote(SAYS, "on addition: avg@8 +0.0416\n  (5 of 5 up), pass@8 +0.0171 (4 of 5 up)", None,
            sh["add", "avg@8"][0], Val(sh["add", "avg@8"][2], "up"), Val(N, "n"), None,
            sh["add", "pass@8"][0], Val(sh["add", "pass@8"][2], "up"), Val(N, "n"))
    c.claim(SAYS, "The gain is mostly sharpening",
            all(sh[d, "avg@8"][0] > 2 * sh[d, "pass@8"][0] for d in ("add", "srt")))
    tha = {m: paired(k8["add"]["t_add"][m], k8["add"]["h_add"][m], f"t_add - h_add {m}")
           for m in ("avg@8", "pass@8")}
    c.quote(SAYS, "(full − half-way, add: avg@8 +0.0424, pass@8 +0.0130)", None, tha["avg@8"][0], None,
            tha["pass@8"][0])
    c.claim(SAYS, "The second half of the RL runs themselves did\n  the same",
            tha["avg@8"][0] > 2 * tha["pass@8"][0])

    # ---- the boundary: full runs as teachers ------------------------------------------------
    ft = c.table(OPD_F)
    f1t = {d: paired(ft.col(f"eval_accuracy_{d}", "lambda=1,"), g[d][f"t_{d}"],
                     f"mf[lambda=1] - t_{d} on {d}") for d in ("add", "srt")}
    c.quote(SAYS, "(add −0.0027, sort −0.0013 on average)", f1t["add"][0], f1t["srt"][0])
    c.claim(SAYS, "λ = 1 reaches the full\n  runs", all(abs(f1t[d][0]) < 0.01 for d in ("add", "srt")))
    fmix = cmp_row(c, CMP_F, "eval_accuracy (", "mf[lambda=2]")
    fadd = cmp_row(c, CMP_F, "eval_accuracy_add", "mf[lambda=2]")
    fsrt = cmp_row(c, CMP_F, "eval_accuracy_srt", "mf[lambda=2]")
    c.quote(SAYS, "(−0.1262, se 0.0281, on the mix)", fmix[0], fmix[1])
    c.claim(SAYS, "λ = 2 is lower than λ = 1 in every pipeline", fmix[3] == N)
    c.claim(SAYS, "with the full RL runs as teachers ExOPD loses", fadd[3] == N and fsrt[3] == N)
    c.claim(SAYS, "Whether λ > 1 helps is predicted by the\n  teacher tables",
            th["add"][2] == th["srt"][2] == N and mix[2] == N
            and xt["add"][3] == xt["srt"][3] == N and fmix[3] == N)
    m1_add, sd1_add = c.table(OPD, means=True).pm("m[lambda=1]", "eval_accuracy_add")
    sd_delta = c.table(CMP, caption="eval_accuracy_add").get("m[lambda=2]", "sd \u0394")
    c.quote(SAYS, "(sd 0.0591 on addition) is larger than the effect (+0.0457)", sd1_add, add[0])
    c.claim(SAYS, "is larger than the effect", sd1_add > add[0])
    c.quote(SAYS, "spread far less (sd 0.0256)", sd_delta)
    c.claim(SAYS, "the paired differences\n  spread far less", sd_delta < sd1_add / 2)

    # ---- predict, then run (answer) --------------------------------------------------------
    c.claim(PREDICT, "twice the run (f = 2)\nscores below the full run (f = 1) in both domains of "
            "every pipeline", xt["add"][3] == xt["srt"][3] == N)
    c.claim(PREDICT, "while the full run scored\nabove the half-way point", th["add"][2] == th["srt"][2] == N)
    c.quote(PREDICT, "λ = 2 − λ = 1 is −0.1262 on the whole mix\n(se 0.0281, 0 of 5 pipelines up), "
            "−0.0832 on addition and −0.1704 on sorting", None, None, fmix[0], fmix[1],
            Val(fmix[2], "cell 22 Δ>0"), Val(N, "n"), fadd[0], fsrt[0])
    kr1, _ = c.table(OPD_F, means=True).pm("mf[lambda=1]", "kl_ref")
    kr2, _ = c.table(OPD_F, means=True).pm("mf[lambda=2]", "kl_ref")
    c.quote(PREDICT, "(`kl_ref` 0.4569 → 1.0036)", kr1, kr2)
    c.claim(PREDICT, "at more than\ntwice the KL to the base", kr2 > 2 * kr1, f"{kr2} vs {kr1}")
    c.claim(PREDICT, "No — and the teacher tables say so in advance", fmix[2] == 0)

    # ---- how to read: one evaluation's binomial sd -----------------------------------------
    m1_srt, _ = c.table(OPD, means=True).pm("m[lambda=1]", "eval_accuracy_srt")
    n_add = c.value(EV_ADD, r"same (\d+) prompts of add")
    n_srt = c.value(EV_SRT, r"same (\d+) prompts of srt")
    c.quote(READ, "with 2011 prompts an accuracy near 0.44 has a binomial sd of\n  about 0.011, "
            "with 1949 prompts an accuracy near 0.94 about 0.0054", n_add, m1_add,
            Val(math.sqrt(m1_add * (1 - m1_add) / n_add), "sqrt(p(1-p)/n), p = lambda=1 add mean"),
            n_srt, m1_srt, Val(math.sqrt(m1_srt * (1 - m1_srt) / n_srt), "sqrt(p(1-p)/n), sort"))
    c.given(READ, "With n = 5 pipelines", "seed = [1, 2, 3, 4, 5]")
    c.claim(READ, "the sign counts (5 of 5)", mix[2] == N)
    c.given(READ, "at most five tokens", "the sort task's answers: 4 digits and <eos> (cell 1's task)")
