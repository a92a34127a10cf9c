"""Prose of notebooks/quickstart.ipynb against its outputs (tests/py/nbclaims.py)."""
import math
import re

TASK, POLICY, EVAL, SAMPLE, RL, RL_EVAL = 2, 4, 8, 10, 12, 13


def check(c):
    c.quote(0, "an MLP with 2 hidden layers that sees the last 8 tokens, and an\nanswer is at most 4 tokens",
            c.value(POLICY, r"L=(\d+)"), c.value(POLICY, r"K=(\d+)"),
            c.value(TASK, r"answer at most (\d+) tokens"))
    c.quote(1, "vocabulary (32 tokens", c.value(TASK, r"vocabulary \((\d+)\)"))
    c.given(1, "20 % of the prompts are *held out*", "the tasks' held-out split")
    c.quote(3, "the\nlast 8 tokens", c.value(POLICY, r"K=(\d+)"))
    c.given(3, "With `noise = 0.6`, 60 %", "noise = 0.6 in cell 4")
    ev = c.table(EVAL)
    greedy, pass8 = ev.get("add", "greedy"), ev.get("add", "pass@8")
    held = c.table(POLICY, header="eval_accuracy").get("base", "eval_accuracy")
    c.claim(3, "about half of its answers are right", 0.4 < greedy < 0.6 and 0.4 < held < 0.6,
            f"greedy {greedy}, eval_accuracy {held}")
    c.claim(7, "pass@8 is much higher than greedy", pass8 > greedy + 0.2,
            f"pass@8 {pass8}, greedy {greedy}")
    logps = [float(x) for x in re.findall(r"(?<=\s)(-\d\.\d\d)(?=\s)",
                                          c.text(SAMPLE).split("\n", 2)[2])]
    c.claim(9, "a carry digit with a log-prob far below 0", min(logps) < -1,
            f"lowest per-token log-prob in %sample: {min(logps)}")

    # 6. the RL run, and %eval of base and tuned on the same prompts
    c.given(11, "8 sampled\nanswers per prompt", "group = 8, the default of %%rl")
    c.given(11, "50 steps take a few\nseconds", "steps = 50")
    t = c.table(RL_EVAL)
    delta = t.header[2]  # "greedy − base": the paired difference ± its standard error
    d, se = t.get("tuned", delta, pm=True)
    c.quote(14, "On the same 1024 held-out prompts, greedy accuracy goes from 0.5215 (base) to "
            "0.835\n(tuned): +0.313 ± 0.015, paired by prompt",
            c.value(RL_EVAL, r"same (\d+) prompts"), t.get("base", "greedy"),
            t.get("tuned", "greedy"), d, se)
    c.claim(14, "greedy accuracy goes from", d > 3 * se, f"{d} ± {se}")

    # how to read, and the predict-then-run exercise (cells 15, 16)
    k8 = c.table(16)
    g0, g1 = k8.get("base", "greedy"), k8.get("tuned", "greedy")
    a0, a1 = k8.get("base", "avg@8"), k8.get("tuned", "avg@8")
    p0, p1 = k8.get("base", "pass@8"), k8.get("tuned", "pass@8")
    c.claim(14, "much smaller than the sampling noise of either accuracy on its own",
            se < math.sqrt(float(g0) * (1 - float(g0)) / 1024), f"se {se}")
    c.quote(15, "RL raised greedy accuracy by about 0.31", d)
    c.quote(15, "for 0.8867 of the prompts", p0)
    c.quote(15, "`pass@8` rises from 0.8867 to 0.9639, while greedy accuracy rises from 0.5215 "
            "to 0.835", None, p0, p1, g0, g1)
    c.quote(15, "(`avg@8`) from 0.5116 to 0.7515", None, a0, a1)
    c.claim(15, "No. The base already had", p1 - p0 < (g1 - g0) / 2,
            f"pass@8 gain {p1 - p0} vs greedy gain {g1 - g0}")
