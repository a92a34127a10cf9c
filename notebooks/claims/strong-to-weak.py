"""Prose of notebooks/strong-to-weak.ipynb against its outputs (tests/py/nbclaims.py)."""
import re

from nbclaims import Val, diff, mean, sd

LAMS = ["1", "1.25", "1.5", "2"]
ROWS = {"1": "| 1 | 0.602 ± 0.004 | 0.602 ± 0.004 |",
        "1.25": "| 1.25 | 0.585 ± 0.011 | 0.597 ± 0.018 |",
        "1.5": "| 1.5 | 0.602 ± 0.018 | 0.560 ± 0.018 |",
        "2": "| 2 | 0.581 ± 0.012 | 0.512 ± 0.018 |"}


def nparams(c, cell):
    """Parameters of an mlp policy from its printed shape (runtime/nn/rt_policy.c carve())."""
    V, K, D, H, L = (int(x) for x in re.search(r"V=(\d+) K=(\d+) D=(\d+) H=(\d+) L=(\d+)",
                                               c.text(cell)).groups())
    return V * D + H * K * D + H + (L - 1) * (H * H + H) + V * H + V


def check(c):
    c.given(2, "80 %", "noise = 0.8 in cells 3 and 4")
    big, small = nparams(c, 3), nparams(c, 4)
    c.quote(2, "(about 5.6× the parameters of the small one: 96 and 16)",
            Val(big / small, f"parameters {big} / {small} from the shapes printed by cells 3, 4"),
            None, None)
    ev = [t.get("add", "greedy") for t in c.tables(7)]  # small, big, teacher
    c.quote(10, "small base 0.353, big base 0.3725,\nteacher (big base + 60 GRPO steps) 0.8495",
            *ev[:2], None, ev[2])
    t = c.table(9, header="eval_accuracy")
    acc = {(r, l): t.col("eval_accuracy", f"reference={r},lambda={l},") for r in ["small", "big"]
           for l in LAMS}
    m = {k: mean(v) for k, v in acc.items()}
    for l in LAMS:
        c.quote(10, ROWS[l], None, m[("small", l)], sd(acc[("small", l)]), m[("big", l)],
                sd(acc[("big", l)]))
    c.quote(10, "goes from 0.353 to about 0.60", ev[0], m[("small", "1")])
    c.quote(10, "far below its large teacher (0.8495)", ev[2])
    kt = t.col("kl_teacher", "reference=small,lambda=1,")
    c.quote(10, "`kl_teacher` is still 0.414 at λ = 1", mean(kt), None)
    s = c.chart(9)["kl_teacher"]["reference=small · λ=1"]
    c.claim(10, "still falling at step 200", s.window(176, 200) < s.window(101, 125))
    c.claim(10, "the runs\n  agree to the printed digits",
            all(t.get(f"s2w[reference=small,lambda=1,seed={i}]", k) ==
                t.get(f"s2w[reference=big,lambda=1,seed={i}]", k)
                for i in (1, 2, 3) for k in ["eval_accuracy", "kl_teacher", "entropy"]))
    d125 = diff(m[("big", "1.25")], m[("small", "1.25")])
    c.quote(10, "(0.597 ± 0.018 with reward correction vs 0.585 ± 0.011)", m[("big", "1.25")],
            sd(acc[("big", "1.25")]), m[("small", "1.25")], sd(acc[("small", "1.25")]))
    c.claim(10, "At λ = 1.25 the two references are within the\n  seed spread",
            abs(d125) < max(sd(acc[("big", "1.25")]), sd(acc[("small", "1.25")])))
    d = {l: diff(m[("big", l)], m[("small", l)]) for l in ["1.5", "2"]}
    c.quote(10, "At λ = 1.5 and 2 reward correction is worse (−0.042, −0.069)", None, None,
            d["1.5"], d["2"])
    c.claim(10, "by more than the\n  seed spread and in each of the 3 seeds",
            all(-d[l] > max(sd(acc[("big", l)]), sd(acc[("small", l)])) and
                all(a < b for a, b in zip(acc[("big", l)], acc[("small", l)])) for l in d))
    c.claim(10, "**Reward correction did not help here.**",
            all(m[("big", l)] - m[("small", l)] < max(sd(acc[("big", l)]), sd(acc[("small", l)]))
                for l in LAMS))
    kr = {r: [mean(t.col("kl_ref", f"reference={r},lambda={l},")) for l in LAMS] for r in ["small", "big"]}
    c.quote(10, "(`kl_ref`\n  0.639–1.335 vs 0.417–0.582 with the small base)",
            min(kr["big"]), max(kr["big"]), min(kr["small"]), max(kr["small"]))
    c.claim(10, "the student also ends further from its reference",
            all(b > s_ for b, s_ in zip(kr["big"], kr["small"])))
    best = max(((m[(r, l)], r, l) for r in ["small", "big"] for l in LAMS[1:]))
    c.claim(10, "the best λ > 1, λ = 1.5 with the\n  student base", best[1:] == ("small", "1.5"), best)
    c.quote(10, "ends 0.001 above λ = 1, far inside the seed spread (sd 0.018)",
            diff(best[0], m[("small", "1")]), None, sd(acc[("small", "1.5")]))
    c.claim(10, "ExOPD does not clearly beat λ = 1 with either reference",
            all(m[(r, l)] - m[(r, "1")] < sd(acc[(r, l)]) for r in ["small", "big"] for l in LAMS[1:]))
