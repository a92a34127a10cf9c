"""Prose of notebooks/reward-hacking.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, mean, sd

RUNS = {"free": (10, "free["), "kl[kl=0.3]": (15, "kl=0.3,"), "kl[kl=1]": (15, "kl=1,"),
        "chi[chi2=0.1]": (16, "chi2=0.1,"), "chi[chi2=0.3]": (16, "chi2=0.3,")}
ROWS = {"free": "| free | 0.77 | 0.92 | 0.40 | 0.48 ± 0.11 | 3.69 | 2.384 |",
        "kl[kl=0.3]": "| kl[kl=0.3] | 0.75 | 0.91 | 0.54 | 0.60 ± 0.04 | 3.63 | 1.598 |",
        "kl[kl=1]": "| kl[kl=1] | 0.75 | 0.90 | 0.84 | 0.79 ± 0.04 | 3.25 | 0.167 |",
        "chi[chi2=0.1]": "| chi[chi2=0.1] | 0.74 | 0.98 | 0.98 | 0.98 ± 0.02 | 3.36 | 0.139 |",
        "chi[chi2=0.3]": "| chi[chi2=0.3] | 0.74 | 0.91 | 0.91 | 0.93 ± 0.04 | 3.21 | 0.066 |"}


def label(run):
    """The chart legend label of a run of a training cell: the keys that vary ("kl=0.3" for
    kl[kl=0.3], magics/mag_train.h); %plot charts keep the run names."""
    return run[run.index("[") + 1:-1] if "[" in run else run


def check(c):
    c.quote(1, "at most 3 tokens", c.value(2, r"answer at most (\d+) tokens"))
    c.given(1, "60 %", "noise = 0.6 in cell 3")
    c.quote(1, "only 100 prompts", c.value(2, r"(\d+) prompts"))
    right, carry, right2, loop = (Val(float(x), f"output cell 8 line {i + 1}")
                                  for i, x in enumerate(c.text(8).split()))
    c.quote(9, "a right answer to a\ncarry question scores 4, the typical mistake 2", right, carry)
    c.quote(9, "scores 3.5 —\n*more* than the right answer `7<eos>` (3)", loop, None, right2)
    c.claim(9, "higher proxy goes with right answers", right > carry)
    c.given(9, "any\n3-token answer 3 points", "length = 3 in the proxy partial + length")

    true = c.chart(18)["eval_reward"]
    stats = {}
    for run, (cell, key) in RUNS.items():
        ch, s = c.chart(cell), true[run]
        windows = [s.window(a, a + 9) for a in range(1, 80, 10)]
        peak = max(windows)
        at80 = c.table(cell, header="eval_reward").col("eval_reward", key)
        leg = label(run)
        stats[run] = dict(first=s.first(5), peak=Val(peak, f"best 10-step window of {s.src}"),
                          last=s.last(10), m80=mean(at80), sd80=sd(at80),
                          proxy=ch["reward"][leg].last(10), kl=ch["kl_ref"][leg].last(10),
                          proxy0=ch["reward"][leg].first(5), windows=windows)
        st = stats[run]
        c.quote(19, ROWS[run], *([None] if "=" in run else []), st["first"], st["peak"],
                st["last"], st["m80"], st["sd80"], st["proxy"], st["kl"])
    f = stats["free"]
    c.quote(12, "The proxy rises from 2.99 (first 5 steps)\nto 3.69 (last 10 steps)",
            f["proxy0"], None, f["proxy"], None)
    c.quote(12, "from 0.77 in the\nfirst 5 steps to 0.92 in steps 11–20", f["first"], None,
            f["windows"][1], None, None)
    c.claim(12, "first **rises** with it", max(f["windows"]) == f["windows"][1] > f["first"])
    c.quote(12, "0.40 in the last 10 steps (0.48 ± 0.11 at step 80", f["last"], None, f["m80"],
            f["sd80"], None)
    c.claim(12, "well below where\nit started", f["last"] < f["first"] - 0.2)
    length = c.table(10, header="eval_reward").col("length")
    c.quote(12, "grow to 3.00 tokens on average (the maximum is 3)", mean(length),
            c.value(2, r"answer at most (\d+) tokens"))
    c.quote(12, "exact KL 2.38 per token, last 10 steps", f["kl"], None)
    c.quote(12, "windows of 10 steps: 0.82, 0.92, 0.80, 0.49, 0.43, 0.44, 0.38, 0.40", None,
            *f["windows"])

    k3, k1, x1, x3 = (stats[r] for r in ["kl[kl=0.3]", "kl[kl=1]", "chi[chi2=0.1]", "chi[chi2=0.3]"])
    c.quote(19, "Without regularization the true reward ends at 0.40", f["last"])
    c.quote(19, "kl=0.3: peak 0.91, then 0.54 at the end (KL 1.598); kl=1: peak 0.90, then 0.84 "
            "at the end (KL 0.167)", None, k3["peak"], k3["last"], k3["kl"], None, k1["peak"],
            k1["last"], k1["kl"])
    c.claim(19, "The KL penalty slows the drift", k3["last"] > f["last"] and k1["last"] > k3["last"])
    c.claim(19, "in both runs the true reward ends below its peak",
            k3["last"] < k3["peak"] and k1["last"] < k1["peak"])
    c.quote(19, "chi2=0.1: 0.98 at the end; chi2=0.3: 0.91 at the end", None, x1["last"], None,
            x3["last"])
    c.quote(19, "(KL 0.139 for chi2=0.1)", x1["kl"], None)
    c.claim(19, "The χ² regularizer keeps the true reward high",
            min(x1["last"], x3["last"]) > max(x1["first"], x3["first"]))
    c.quote(19, "kl=1 (KL 0.167)\n  and chi2=0.1 (KL 0.139) — the true reward ends at\n  0.84 "
            "with the KL penalty and 0.98 with χ²", None, k1["kl"], None, x1["kl"], k1["last"],
            x1["last"])
    c.claim(19, "At a similar distance from the base", 0.5 < x1["kl"] / k1["kl"] < 2)
    c.claim(19, "far apart compared with the seed spread",
            x1["m80"] - k1["m80"] > 2 * max(k1["sd80"], x1["sd80"]) and x1["last"] - k1["last"] > 0.1)

    c.quote(20, "the proxy rises to 3.69 while the true\n  reward rises to 0.92 and then falls "
            "to 0.40", f["proxy"], f["peak"], f["last"])
    c.quote(20, "ends at 0.84 at best", max(k1["last"], k3["last"]))
    c.quote(20, "keeps the true reward at 0.98", max(x1["last"], x3["last"]))
    firsts = [s["first"] for s in stats.values()]
    c.quote(20, "(0.74–0.77 in the first 5 steps)", min(firsts), max(firsts), None)

