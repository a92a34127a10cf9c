"""Prose of notebooks/debate.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, diff

ALPHAS = ["0", "0.25", "0.5", "0.75", "1"]
COLS = ["return", "judge_win", "judge_win_full", "differ"]


def judge(c, cell):
    """(top-1 accuracy with 3 features, full-state judge's, debaters table, pairwise accuracy
    on random evidence = mean of the last 10 logged training steps)."""
    acc = c.table(cell, caption="judge accuracy")
    return (acc.get("judge", "top-1 acc (chance 0.25)"), acc.get("full-state judge", "top-1 acc (chance 0.25)"),
            c.table(cell, caption="debaters"), c.chart(cell)["pairwise_acc"]["judge"].last(10),
            c.chart(cell)["pairwise_acc"]["full-state judge"].last(10))


def agg(c, cell, name):
    t = c.table(cell, header="judge_win_full")
    return {a: {k: t.get(f"{name}[alpha={a}] (mean ± sd of 3 seeds)", k, pm=True) for k in COLS}
            for a in ALPHAS}, t


def check(c):
    c.given(0, "0.5 when both actions are\nthe same", "the definition of debate(d)")
    c.given(3, "40 %", "noise = 0.4 in cell 4")
    cells = {"d": 8, "dm": 10, "dl": 11}
    J = {k: judge(c, v) for k, v in cells.items()}
    top1, full, deb, pair, fullpair = J["d"]
    c.claim(9, "right about half of the time — about\ntwice chance", 0.45 < top1 < 0.6 and
            1.8 < top1 / 0.25 < 2.4, top1)
    c.claim(9, "almost always right", full > 0.95, full)

    wins = [(t.get(r, "demonstrator's side wins (chance 0.5)"), J[k][3]) for k, (_, _, t, _, _) in J.items()
            for r in t.keys]
    c.quote(12, "0.86 to 0.91 for every kind", min(w for w, _ in wins), max(w for w, _ in wins))
    pairs = [J[k][3] for k in J]
    c.quote(12, "0.82–0.83 over its last 10 logged steps", min(pairs), max(pairs), None)
    tops = [J[k][0] for k in J]
    c.quote(12, "(the 0.52–0.55 of the first tables is top-1 among 4 actions, chance 0.25",
            min(tops), max(tops), None, None, None)
    gains = [Val(w - p, "demonstrator's side wins minus the judge's pairwise training accuracy")
             for w, p in wins]
    c.quote(12, "by 0.03 to 0.08 in this pairwise accuracy", min(gains), max(gains))
    c.claim(12, "**Debate helps the judge**", min(gains) > 0)
    score = [t.get(r, "score vs greedy") for _, _, t, _, _ in J.values() for r in t.keys
             if r.startswith("minimax")]
    c.quote(12, "Minimax scores only\n0 to +0.012 against greedy", min(score), max(score))
    agree = [Val(100 * t.get(r, "= minimax value"), f"output cell {t.cell} [{r}] = minimax value")
             for _, _, t, _, _ in J.values() for r in t.keys if r.startswith("greedy")]
    c.quote(12, "in 98.8–100 % of\nthe games", min(agree), max(agree))
    learned = J["dl"][2]
    c.quote(12, "weaker than greedy (−0.102) and agree with the minimax value in\n95 %",
            learned.get("learned (used)", "score vs greedy"),
            Val(100 * learned.get("learned (used)", "= minimax value"), "output cell 11 learned"))
    c.given(12, "after 2000\nself-play steps", "the learned debaters' default steps")

    # section 7
    c.quote(28, "picks the demonstrator's action 0.55 of the\ntime (chance 0.25); the full-state "
            "judge 0.975", top1, None, full)
    greedy_win = deb.get("greedy (used)", "demonstrator's side wins (chance 0.5)")
    c.quote(28, "in 0.89 of the games against a random other action, against 0.83", greedy_win, pair)
    c.quote(28, "random features (training curve) and 1 for the full-state", fullpair)
    frac = (greedy_win - pair) / (fullpair - pair)
    c.claim(28, "recovers about a third of what the missing features\ncost", 0.25 < frac < 0.42, frac)
    c.quote(28, "minimax gains at most +0.012", max(score))
    c.quote(28, "the minimax value in 98.8–100 % of the games", min(agree), max(agree))
    c.quote(28, "the learned debaters score −0.102", learned.get("learned (used)", "score vs greedy"))

    a, t = agg(c, 18, "j")
    m = {x: {k: a[x][k][0] for k in COLS} for x in ALPHAS}
    c.quote(28, "(it differs in 6 % of the states) and wins only 0.17 of those debates",
            Val(100 * m["0"]["differ"], m["0"]["differ"].src), m["0"]["judge_win"])
    never = [r for r in t.keys if r.startswith("j[alpha=0,") and t.get(r, "differ") == 0]
    c.claim(28, "(two seeds;\nthe third never differs from the baseline)", len(never) == 1)
    small = ["0.25", "0.5"]
    c.quote(28, "in about 13 % of the states", *(Val(100 * m[x]["differ"], m[x]["differ"].src)
                                                  for x in small[:1]))
    c.claim(28, "in about 13 % of the states", all(0.12 <= m[x]["differ"] < 0.14 for x in small))
    c.quote(28, "wins about 86 % of those debates at a return\ncost of at most 0.005",
            Val(100 * m["0.25"]["judge_win"], m["0.25"]["judge_win"].src),
            Val(1 - min(m[x]["return"] for x in small), "1 - the lowest return of alpha 0.25, 0.5"))
    c.claim(28, "wins about 86 % of those debates",
            all(0.85 <= m[x]["judge_win"] < 0.87 for x in small))
    c.quote(28, "The full-state judge agrees (0.95–0.99)",
            min(m[x]["judge_win_full"] for x in small), max(m[x]["judge_win_full"] for x in small))
    big = ["0.75", "1"]
    c.given(28, "With α ≥ 0.75", "alpha values of the sweep")
    c.quote(28, "(return 0.925 and\n0.887)", m["0.75"]["return"], m["1"]["return"])
    c.quote(28, "(judge_win 0.75–0.76)", min(m[x]["judge_win"] for x in big),
            max(m[x]["judge_win"] for x in big))
    c.quote(28, "(judge_win_full falls to 0.55–0.65)", min(m[x]["judge_win_full"] for x in big),
            max(m[x]["judge_win_full"] for x in big))
    c.claim(28, "starts to exploit the partial-evidence judge",
            all(m[x]["judge_win_full"] < m[x]["judge_win"] for x in big) and
            all(m[x]["judge_win_full"] < m[y]["judge_win_full"] for x in big for y in small))

    top1c, fullc, _, _, _ = judge(c, 24)
    c.quote(28, "(0.38 with 3 features, 0.56 for\nthe full-state judge, chance 0.25)", top1c, None,
            fullc, None)
    ac, _ = agg(c, 27, "k")
    mc = {x: {k: ac[x][k][0] for k in COLS} for x in ALPHAS}
    c.quote(28, "keep a return of 0.986 and 0.992 with\njudge_win 0.86 / 0.88", mc["0.25"]["return"],
            mc["0.5"]["return"], mc["0.25"]["judge_win"], mc["0.5"]["judge_win"])
    c.quote(28, "task: 0.842 ± 0.029 and 0.805 ± 0.019, against 0.925 and 0.887", *ac["0.75"]["return"],
            *ac["1"]["return"], m["0.75"]["return"], m["1"]["return"])
    loss = [(1 - mc[x]["return"]) / (1 - m[x]["return"]) for x in big]
    c.claim(28, "cost about twice as much return as on the plain\ntask", all(1.5 < r < 2.5 for r in loss),
            loss)
    c.claim(28, "α = 0.75 and 1 cost", all(m[x]["return"] - mc[x]["return"] >
                                          max(a[x]["return"][1], ac[x]["return"][1]) for x in big))
    c.quote(28, "from the baseline in 39–44 % of the states",
            *(Val(100 * mc[x]["differ"], mc[x]["differ"].src) for x in big))
