"""Prose of notebooks/quickstart.ipynb against its outputs (tests/py/nbclaims.py)."""


def check(c):
    c.quote(1, "vocabulary (32 tokens", c.value(2, r"vocabulary \((\d+)\)"))
    c.given(1, "20 % of the prompts are *held out*", "the tasks' held-out split")
    c.quote(3, "the\nlast 8 tokens", c.value(4, r"K=(\d+)"))
    c.given(3, "With `noise = 0.6`, 60 %", "noise = 0.6 in cell 4")
    ev = c.table(8)
    greedy, pass8 = ev.get("add", "greedy"), ev.get("add", "pass@8")
    held = c.table(4, header="eval_accuracy").get("base", "eval_accuracy")
    c.claim(3, "about half of its answers are right", 0.4 < greedy < 0.6 and 0.4 < held < 0.6,
            f"greedy {greedy}, eval_accuracy {held}")
    c.claim(7, "pass@8 is much higher than greedy", pass8 > greedy + 0.2,
            f"pass@8 {pass8}, greedy {greedy}")
    logps = [float(x) for x in __import__("re").findall(r"(?<=\s)(-\d\.\d\d)(?=\s)",
                                                         c.text(10).split("\n", 2)[2])]
    c.claim(9, "a carry digit with a log-prob far below 0", min(logps) < -1,
            f"lowest per-token log-prob in %sample: {min(logps)}")
