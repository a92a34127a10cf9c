"""Prose of notebooks/multi-teacher-merge.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, mean, sd

LAMS = ["1", "1.25", "1.5"]


def check(c):
    c.given(1, "80 %", "noise = 0.8 in cell 3")
    base, tadd, tsrt = c.tables(9)
    g = {n: {d: t.get(d, "greedy") for d in ["add", "srt", "all"]}
         for n, t in [("base", base), ("t_add", tadd), ("t_srt", tsrt)]}
    routed = c.value(11, r"held-out greedy accuracy (\d\.\d+)")
    c.quote(14, "(2011 add, 1949 sort prompts", base.get("add", "prompts"), base.get("srt", "prompts"))
    c.quote(14, "| base (the shared start) | 0.315 | 0.041 | 0.180 |",
            g["base"]["add"], g["base"]["srt"], g["base"]["all"])
    c.quote(14, "| teacher `t_add` (RL on add) | **0.492** | 0.093 |", g["t_add"]["add"], g["t_add"]["srt"])
    c.quote(14, "| teacher `t_srt` (RL on sort) | 0.301 | **0.889** |", g["t_srt"]["add"], g["t_srt"]["srt"])
    c.quote(14, "| routed teachers (each domain by its expert) | 0.492 | 0.889 | 0.687 |",
            g["t_add"]["add"], g["t_srt"]["srt"], routed)
    t = c.table(11, header="eval_accuracy_add")
    s = {l: {d: t.col(f"eval_accuracy_{d}" if d != "all" else "eval_accuracy", f"lambda={l},")
             for d in ["add", "srt", "all"]} for l in LAMS}
    m = {l: {d: mean(s[l][d]) for d in s[l]} for l in LAMS}
    rows = {"1": "| merged, OPD λ = 1 | 0.423 ± 0.003 | 0.909 ± 0.003 | 0.662 ± 0.002 |",
            "1.25": "| merged, ExOPD λ = 1.25 | 0.405 ± 0.011 | 0.824 ± 0.059 | 0.611 ± 0.028 |",
            "1.5": "| merged, ExOPD λ = 1.5 | 0.390 ± 0.013 | 0.772 ± 0.015 | 0.578 ± 0.013 |"}
    for l in LAMS:
        c.quote(14, rows[l], None, *(v for d in ["add", "srt", "all"] for v in (m[l][d], sd(s[l][d]))))
    c.quote(14, "sorting goes from 0.041 to\n  0.909 and addition from 0.315 to 0.423",
            g["base"]["srt"], m["1"]["srt"], g["base"]["add"], m["1"]["add"])
    c.claim(14, "Routing works", m["1"]["srt"] > g["base"]["srt"] + 0.5 and m["1"]["add"] > g["base"]["add"])
    c.quote(14, "(`t_add` sorts at 0.093, `t_srt` adds at 0.301)", g["t_add"]["srt"], g["t_srt"]["add"])
    c.claim(14, "each teacher is poor outside its own\n  domain",
            g["t_add"]["srt"] < 0.2 and g["t_srt"]["add"] <= g["base"]["add"])
    c.quote(14, "ends *above* the sort expert (0.909 vs 0.889", m["1"]["srt"], g["t_srt"]["srt"])
    c.claim(14, "in each of the 3 seeds) but", all(x > g["t_srt"]["srt"] for x in s["1"]["srt"]))
    frac = (m["1"]["add"] - g["base"]["add"]) / (g["t_add"]["add"] - g["base"]["add"])
    c.quote(14, "recovers only about 61 % of the add expert's gain (0.423 vs 0.492) in 200 steps",
            Val(100 * frac, "(student - base) / (t_add - base) on add, cells 9 and 11"),
            m["1"]["add"], g["t_add"]["add"], None)
    c.quote(14, "(add 0.405 and 0.390, sort 0.824 and 0.772)",
            m["1.25"]["add"], m["1.5"]["add"], m["1.25"]["srt"], m["1.5"]["srt"])
    below = all(m[l][d] < m["1"][d] for l in LAMS[1:] for d in ["add", "srt"])
    beyond = all(m["1"][d] - m[l][d] > max(sd(s["1"][d]), sd(s[l][d]))
                 for l in LAMS[1:] for d in ["add", "srt"])
    seeds = all(a < b for l in LAMS[1:] for d in ["add", "srt"] for a, b in zip(s[l][d], s["1"][d]))
    c.claim(14, "are *below* λ = 1 in both domains", below)
    c.claim(14, "by more than the seed spread and in each of the 3 seeds", beyond and seeds)
    c.claim(14, "below each expert in its own\n  domain",
            all(m[l]["add"] < g["t_add"]["add"] and m[l]["srt"] < g["t_srt"]["srt"] for l in LAMS[1:]))
    c.claim(14, "ExOPD does not beat the domain teachers",
            not any(m[l]["add"] > g["t_add"]["add"] or m[l]["srt"] > g["t_srt"]["srt"]
                    for l in LAMS[1:]))
