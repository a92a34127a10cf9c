"""Prose of notebooks/debate.ipynb against its outputs (tests/py/nbclaims.py).

Five whole pipelines (seed = [1, 2, 3, 4, 5] on every stage); the per-seed rows of the
%debate ... eval tables are paired by seed here (Δ mean, se = sd/√5, sign counts)."""
import math

import nbclaims
from nbclaims import Val, Vals, mean, sd

SEEDS = [1, 2, 3, 4, 5]
ALPHAS = ["0", "0.25", "0.5", "0.75", "1"]
COLS = ["return", "judge_win", "judge_win_full", "differ"]
TOP1, PAIR = "top-1 acc (chance 0.25)", "pairwise acc (chance 0.5)"
WINS = "demonstrator's side wins (chance 0.5)"
# the cells (0-based)
C_TASK, C_BASE, C_D, C_DL, C_J, C_EVAL, C_PLOT, C_JB, C_EVALB = 2, 6, 8, 10, 15, 17, 18, 25, 26
MD_BASE, MD_JUDGE, MD_NUM, MD_READ = 3, 7, 27, 28


def vals(xs, desc):
    return Vals(xs, desc)


def judges(c, cell, name):
    """Per seed: top-1 (3 features), top-1 (full-state judge), pairwise (3 features),
    pairwise (full-state), the debaters table."""
    out = {k: [] for k in ("top1", "top1_full", "pair", "pair_full", "greedy_win",
                           "minimax_score", "greedy_agree", "learned_score", "learned_win")}
    for s in SEEDS:
        acc = c.table(cell, caption=f"{name}[seed={s}]: judge accuracy")
        deb = c.table(cell, caption=f"{name}[seed={s}]: debaters")
        out["top1"].append(acc.get("judge", TOP1))
        out["top1_full"].append(acc.get("full-state judge", TOP1))
        out["pair"].append(acc.get("judge", PAIR))
        out["pair_full"].append(acc.get("full-state judge", PAIR))
        g = "greedy (used)" if "greedy (used)" in deb.keys else "greedy"
        out["greedy_win"].append(deb.get(g, WINS))
        out["greedy_agree"].append(deb.get(g, "= minimax value"))
        out["minimax_score"].append(deb.get("minimax", "score vs greedy"))
        if "learned (used)" in deb.keys:
            out["learned_score"].append(deb.get("learned (used)", "score vs greedy"))
            out["learned_win"].append(deb.get("learned (used)", WINS))
    return {k: vals(v, f"output cell {cell} {k} of seeds 1-5") for k, v in out.items() if v}


def paired(a, b, what):
    """Paired differences a - b over seeds: (mean, se, n up, n down, sd)."""
    p = nbclaims.paired(a, b, what)
    return p.mean, p.se, int(p.up), int(p.down), p.sd


def evals(c, cell, pol):
    """{(alpha, ideal): {col: [per seed]}} from a %debate eval table, and the base rows."""
    t = c.table(cell, header="judge_win_full")
    e = {}
    for a in ALPHAS:
        for i in ("0", "1"):
            e[(a, i)] = {k: vals([t.get(f"{pol}[alpha={a},ideal={i},seed={s}]", k) for s in SEEDS],
                                 f"output cell {cell} {k} of {pol}[alpha={a},ideal={i}] seeds 1-5")
                         for k in COLS}
    return e, t


def report(c):
    """Prints every statistic the prose quotes (for writing it)."""
    J = judges(c, C_D, "d")
    L = judges(c, C_DL, "dl")
    for k, v in J.items():
        print("d", k, [round(float(x), 4) for x in v], round(mean(v), 4), round(sd(v), 4))
    for k in ("learned_score", "learned_win", "greedy_win"):
        print("dl", k, [round(float(x), 4) for x in L[k]], round(mean(L[k]), 4))
    print("win - pair", [round(x, 4) for x in paired(J["greedy_win"], J["pair"], "")[:4]])
    print("learned win - greedy win", [round(x, 4) for x in paired(L["learned_win"], L["greedy_win"], "")[:4]])
    for cell, pol in ((C_EVAL, "j"), (C_EVALB, "jb")):
        e, t = evals(c, cell, pol)
        print("==", pol)
        for a in ALPHAS:
            for i in ("0", "1"):
                print(a, i, {k: (round(mean(v), 4), round(sd(v), 4)) for k, v in e[(a, i)].items()})
        for a in ALPHAS[1:]:
            for k in ("return", "judge_win_full", "judge_win", "differ"):
                p = paired(e[(a, "1")][k], e[(a, "0")][k], "")
                print(f"  ideal-debate a={a} {k}: {p[0]:+.4f} se {p[1]:.4f} up {p[2]} down {p[3]}")
        for a in ALPHAS[1:]:
            for i in ("0", "1"):
                p = paired(e[(a, i)]["return"], e[("0", "0")]["return"], "")
                print(f"  a={a} ideal={i} - a=0 return: {p[0]:+.4f} se {p[1]:.4f} {p[2]}/{p[3]}")


def ratio_pct(x):
    return Val(100 * float(x), f"100 x {getattr(x, 'src', x)}")


def signs(up, down, what):
    return Val(up, f"{what}: pipelines up"), Val(down, f"{what}: pipelines down")


def check(c):
    # ---- settings and definitions --------------------------------------------------
    c.given(0, "0.5 when both actions are\nthe same", "the definition of debate(d)")
    c.given(MD_BASE, "40 %", "noise = 0.4 in cell 4")
    c.given(MD_BASE, "keep their\nexact-answer `accuracy` at 1", "checked below")
    acc0 = c.table(C_J).col("accuracy", "alpha=0,")
    c.claim(MD_BASE, "the α = 0 runs of section 5 keep their", len(acc0) == 10 and
            all(a == 1 for a in acc0), acc0)
    c.given(MD_JUDGE, "The judge table is computed on 1000 held-out states, the debaters table on 256",
            "the tables' captions (checked below)")
    for s in SEEDS:
        c.claim(MD_JUDGE, "The judge table is computed on 1000 held-out states",
                "on 1000 held-out states" in c.table(C_D, caption=f"d[seed={s}]: judge accuracy").caption
                and "on 256 held-out games" in c.table(C_D, caption=f"d[seed={s}]: debaters").caption)

    # ---- section 7: the judges -------------------------------------------------------
    J = judges(c, C_D, "d")
    c.quote(MD_NUM, "first 0.555 ± 0.017 of the time (top-1, chance 0.25), the full-state judge "
            "0.962 ± 0.011", mean(J["top1"]), sd(J["top1"]), None, None, mean(J["top1_full"]),
            sd(J["top1_full"]))
    c.quote(MD_NUM, "the judge is right 0.817 ± 0.025 of the time with 3 random\nfeatures, "
            "0.868 ± 0.020 after a greedy debate, and the full-state judge 0.989 ± 0.007",
            mean(J["pair"]), sd(J["pair"]), None, mean(J["greedy_win"]), sd(J["greedy_win"]),
            mean(J["pair_full"]), sd(J["pair_full"]))
    d, se, up, down, sdd = paired(J["greedy_win"], J["pair"], "greedy debate win minus pairwise "
                                  "accuracy on random evidence")
    c.quote(MD_NUM, "Δ = +0.051 (se 0.014, 5 up / 0 down)", d, se, *signs(up, down, "debate - random"))
    c.claim(MD_NUM, "**Debate helps the judge, modestly**", d > 2 * se and up == 5)
    frac = Val((mean(J["greedy_win"]) - mean(J["pair"])) / (mean(J["pair_full"]) - mean(J["pair"])),
               "(debate win - random pairwise) / (full-state pairwise - random pairwise), means")
    c.quote(MD_NUM, "about 30 % of the way", ratio_pct(frac))
    c.quote(MD_NUM, "Setting the debate's\n0.868 against the top-1 0.555", mean(J["greedy_win"]),
            None, mean(J["top1"]))
    c.quote(MD_NUM, "Minimax gains at most +0.012 against greedy", max(J["minimax_score"], key=float))
    c.quote(MD_NUM, "minimax value in 99.2–100 % of the games",
            ratio_pct(min(J["greedy_agree"], key=float)), ratio_pct(max(J["greedy_agree"], key=float)))
    c.claim(MD_NUM, "greedy is nearly optimal", max(J["minimax_score"], key=float) < 0.02)
    L = judges(c, C_DL, "dl")
    c.given(MD_NUM, "after 2000 self-play steps", "the learned debaters' default debater_steps")
    c.quote(MD_NUM, "score −0.134 against greedy on average", mean(L["learned_score"]))
    c.claim(MD_NUM, "(below\nzero in every pipeline)", all(x < 0 for x in L["learned_score"]))
    d, se, up, down, _ = paired(L["learned_win"], L["greedy_win"], "learned minus greedy win rate")
    c.quote(MD_NUM, "(Δ −0.021, se 0.013, 2 up / 3 down)", d, se, *signs(up, down, "learned - greedy"))
    c.claim(MD_NUM, "is not resolved from\ngreedy's", abs(d) < 2 * se)

    # ---- claim 1 -------------------------------------------------------------------------
    e, t = evals(c, C_EVAL, "j")
    m = {k: {col: mean(v) for col, v in cols.items()} for k, cols in e.items()}
    c.given(MD_NUM, "holds on the plain task for α ≤ 0.5", "alpha values of the sweep")
    c.quote(MD_NUM, "differs from its baseline's in 0.070 of the states, and it wins only\n0.20 "
            "of those debates", m[("0", "0")]["differ"], m[("0", "0")]["judge_win"])
    c.claim(MD_NUM, "mostly away from the demonstrator's choice",
            m[("0", "0")]["judge_win"] < 0.5 and m[("0", "0")]["judge_win_full"] < 0.5)
    c.quote(MD_NUM, "At α = 0.25 it switches, in\n0.127 of the states", None, m[("0.25", "0")]["differ"])
    c.quote(MD_NUM, "wins 0.888 of those debates, and keeps a return\nof 0.9968",
            m[("0.25", "0")]["judge_win"], m[("0.25", "0")]["return"])
    d, se, up, down, _ = paired(e[("0.25", "0")]["return"], e[("0", "0")]["return"],
                                "return, alpha 0.25 minus alpha 0 (debate reward)")
    c.quote(MD_NUM, "(Δ −0.0032 against α = 0, se 0.0021)", d, None, se)
    c.quote(MD_NUM, "(judge_win_full 0.972)", m[("0.25", "0")]["judge_win_full"])
    c.claim(MD_NUM, "**Claim 1, justifiable at little return loss: holds",
            all(m[(a, "0")]["judge_win"] > 0.8 and 1 - m[(a, "0")]["return"] < 0.01
                for a in ("0.25", "0.5")))

    # ---- claim 2: the table --------------------------------------------------------------
    c.given(MD_NUM, "holds for α ≤ 0.5, fails\nfor α ≥ 0.75", "alpha values of the sweep")
    P = {}
    for a in ALPHAS[1:]:
        dr = paired(e[(a, "1")]["return"], e[(a, "0")]["return"], f"return, ideal - debate, alpha {a}")
        dj = paired(e[(a, "1")]["judge_win_full"], e[(a, "0")]["judge_win_full"],
                    f"judge_win_full, ideal - debate, alpha {a}")
        P[a] = (dr, dj)
        row = {"0.25": "| 0.25 | −0.0082 (se 0.0041, 1/3) | −0.025 (se 0.025, 2/2) | 0.9968, 0.972 | "
                       "0.9886, 0.946 |",
               "0.5": "| 0.5 | −0.0054 (se 0.0049, 1/2) | +0.000 (se 0.046, 1/2) | 0.9958, 0.958 | "
                      "0.9904, 0.958 |",
               "0.75": "| 0.75 | +0.0794 (se 0.0047, 5/0) | +0.319 (se 0.021, 5/0) | 0.9072, 0.616 | "
                       "0.9866, 0.935 |",
               "1": "| 1 | +0.1138 (se 0.0104, 5/0) | +0.390 (se 0.020, 5/0) | 0.8730, 0.548 | "
                    "0.9868, 0.938 |"}[a]
        c.quote(MD_NUM, row, None, dr[0], dr[1], *signs(dr[2], dr[3], "return"), dj[0], dj[1],
                *signs(dj[2], dj[3], "judge_win_full"), m[(a, "0")]["return"],
                m[(a, "0")]["judge_win_full"], m[(a, "1")]["return"], m[(a, "1")]["judge_win_full"])
    small = ("0.25", "0.5")
    c.claim(MD_NUM, "judge_win_full differs by about one standard error\nor less",
            all(abs(P[a][1][0]) <= 1.1 * P[a][1][1] for a in small), P)
    worst = max(small, key=lambda a: abs(P[a][0][0]))
    c.quote(MD_NUM, "the return differs by at most 0.0082, 2.0 standard errors at α = 0.25",
            Val(abs(P[worst][0][0]), P[worst][0][0].src), Val(abs(P[worst][0][0]) / P[worst][0][1],
                                                              "|Δ| / se"), None)
    c.claim(MD_NUM, "2.0 standard errors at α = 0.25", worst == "0.25")
    c.claim(MD_NUM, "the\nideal judge, if anything, costs slightly more", P["0.25"][0][0] < 0)
    c.quote(MD_NUM, "states: 0.174 against 0.127)", m[("0.25", "1")]["differ"], m[("0.25", "0")]["differ"])
    c.quote(MD_NUM, "(return 0.9072 and 0.8730)", m[("0.75", "0")]["return"], m[("1", "0")]["return"])
    c.quote(MD_NUM, "(judge_win_full 0.616 and 0.548, chance 0.5)", m[("0.75", "0")]["judge_win_full"],
            m[("1", "0")]["judge_win_full"], None)
    c.claim(MD_NUM, "it exploits the partial-evidence judge",
            all(P[a][0][2] == 5 and P[a][1][2] == 5 and P[a][0][0] > 2 * P[a][0][1] for a in ("0.75", "1")))
    c.quote(MD_NUM, "keeps its return near 0.987", m[("0.75", "1")]["return"])
    c.claim(MD_NUM, "keeps its return near 0.987", round(float(m[("1", "1")]["return"]), 3) == 0.987)
    same = all(t.get(f"j[alpha=0,ideal=0,seed={s}]", k) == t.get(f"j[alpha=0,ideal=1,seed={s}]", k)
               or (math.isnan(t.get(f"j[alpha=0,ideal=0,seed={s}]", k)) and
                   math.isnan(t.get(f"j[alpha=0,ideal=1,seed={s}]", k)))
               for s in SEEDS for k in COLS)

    # ---- bias ----------------------------------------------------------------------------
    B = judges(c, 23, "db")
    c.quote(MD_NUM, "(top-1\n0.568 with 3 features, 0.947 for the full-state judge)", None,
            mean(B["top1"]), None, mean(B["top1_full"]))
    c.claim(MD_NUM, "learn the biased demonstrator as well as the plain ones learn theirs",
            abs(mean(B["top1"]) - mean(J["top1"])) < 0.03 and
            abs(mean(B["top1_full"]) - mean(J["top1_full"])) < 0.03)
    eb, tb = evals(c, C_EVALB, "jb")
    mb = {k: {col: mean(v) for col, v in cols.items()} for k, cols in eb.items()}
    r0 = [paired(eb[("0.25", i)]["return"], eb[("0", "0")]["return"], f"biased return, alpha 0.25 "
                 f"ideal {i} minus alpha 0") for i in ("0", "1")]
    c.quote(MD_NUM, "Δ −0.044 return (se 0.012, 0 up / 4 down) and the ideal judge Δ −0.053 (se 0.008, "
            "0 up / 5\ndown)", r0[0][0], r0[0][1], *signs(r0[0][2], r0[0][3], "debate"), r0[1][0],
            r0[1][1], *signs(r0[1][2], r0[1][3], "ideal"))
    p0 = [paired(e[("0.25", i)]["return"], e[("0", "0")]["return"], f"plain return, alpha 0.25 "
                 f"ideal {i} minus alpha 0") for i in ("0", "1")]
    c.quote(MD_NUM, "against −0.0032 and −0.0114 on the plain task", p0[0][0], p0[1][0])
    c.claim(MD_NUM, "justifiability costs return, even with the ideal judge",
            all(r[0] < -2 * r[1] for r in r0) and all(abs(r[0]) > 3 * abs(p[0]) for r, p in zip(r0, p0)))
    c.given(MD_NUM, "At α ≥ 0.75 the debate-rewarded", "alpha values of the sweep")
    rets = eb[("0.75", "0")]["return"] + eb[("1", "0")]["return"]
    c.quote(MD_NUM, "ends at a return of 0.828 in all five pipelines", rets[0])
    c.claim(MD_NUM, "in all five pipelines", all(float(r) == float(rets[0]) for r in rets), rets)
    c.quote(MD_NUM, "the ideal-judge one at 0.874 and\n0.876", mb[("0.75", "1")]["return"],
            mb[("1", "1")]["return"])
    db75 = paired(eb[("0.75", "1")]["return"], eb[("0.75", "0")]["return"], "biased return, ideal - debate, alpha 0.75")
    c.quote(MD_NUM, "(Δ +0.046, se 0.002, 5 up / 0\ndown, at α = 0.75)", db75[0], db75[1],
            *signs(db75[2], db75[3], "ideal - debate"), None)
    c.claim(MD_NUM, "the ideal judge too teaches the demonstrator's under-treatment",
            all(float(x) < 0.9 for a in ("0.75", "1") for x in eb[(a, "1")]["return"]))

    # ---- section 8 -----------------------------------------------------------------------
    c.quote(MD_READ, "at α = 1 the debate reward's return varies by sd 0.025", None, sd(e[("1", "0")]["return"]))
    c.claim(MD_READ, "yet the ideal-judge reward is above it in every one of them", P["1"][0][2] == 5)
    c.given(MD_READ, "se = sd(Δ)/√5", "the definition")
    c.given(MD_READ, "5 of 5 in one direction happens by\n  chance with probability 2/32",
            "2 / 2^5, a sign test")
    pw, pp = mean(J["greedy_win"]), mean(J["pair"])
    bw = Val(math.sqrt(pw * (1 - pw) / 256), "binomial sd, p = mean debate win, n = 256")
    bp = Val(math.sqrt(pp * (1 - pp) / 1000), "binomial sd, p = mean pairwise accuracy, n = 1000")
    c.quote(MD_READ, "A win rate over 256 games near 0.87 has a binomial sd of about 0.021,\n  a "
            "pairwise accuracy over 1000 states near 0.82 about 0.012", None, pw, bw, None, pp, bp)
    both = Val(math.hypot(bw, bp), "sqrt of the sum of the two binomial variances")
    c.quote(MD_READ, "carries about 0.024 of measurement noise", both)
    _, _, _, _, sdd = paired(J["greedy_win"], J["pair"], "debate win - random pairwise")
    c.quote(MD_READ, "The judges' Δ varies by sd 0.031", sdd)
    c.claim(MD_READ, "most of that variance", float(both) ** 2 > 0.5 * float(sdd) ** 2)
    c.quote(MD_READ, "(0.024 squared is more than half\n  of 0.031 squared)", both, sdd)
    c.quote(MD_READ, "the debate-rewarded policy wins 0.784 of its debates and the ideal-judge one "
            "0.955", mb[("1", "0")]["judge_win"], mb[("1", "1")]["judge_win"])
    c.quote(MD_READ, "differ from their baselines in 0.477 and 0.365 of the states", mb[("1", "0")]["differ"],
            mb[("1", "1")]["differ"])
    won = [mean([float(w) * float(x) for w, x in zip(eb[("1", i)]["judge_win"], eb[("1", i)]["differ"])])
           for i in ("0", "1")]
    c.quote(MD_READ, "about 0.37 and 0.35 of all\n  states are debates won", *won)
    c.claim(MD_READ, "can win more debates at a lower rate", won[0] > won[1] and
            mb[("1", "0")]["judge_win"] < mb[("1", "1")]["judge_win"])
    sameb = all(tb.get(f"jb[alpha=0,ideal=0,seed={s}]", k) == tb.get(f"jb[alpha=0,ideal=1,seed={s}]", k)
                or (math.isnan(tb.get(f"jb[alpha=0,ideal=0,seed={s}]", k)) and
                    math.isnan(tb.get(f"jb[alpha=0,ideal=1,seed={s}]", k)))
                for s in SEEDS for k in COLS)
    c.claim(MD_READ, "are\n  identical in both eval tables", same and sameb)
    c.claim(MD_READ, "(α ≥ 0.75 here)", P["0.75"][0][2] == 5)
    c.quote(MD_READ, "at α = 1 the\nreturn is 0.876, against 1 for every baseline", None,
            mb[("1", "1")]["return"], None)
    c.claim(MD_READ, "against 1 for every baseline",
            all(tb.get(f"baseb[seed={s}]", "return") == 1 and t.get(f"base[seed={s}]", "return") == 1
                for s in SEEDS))
