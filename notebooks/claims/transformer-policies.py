"""Prose of notebooks/transformer-policies.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, paired

SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)
JS = ["pass@1", "pass@4", "pass@16", "pass@64"]
# markdown cells
INTRO, BASE_MD, ATTN_MD, ATTN_RES, RL_MD, PREDICT, SHARPEN, OPD_MD, OPD_RES, NEXT = (
    0, 2, 4, 6, 9, 11, 13, 14, 18, 19)
# code cells
TASK, BASE, ATTN, REWARD, RL, EVAL, TEACHER, OPD, CMP = 1, 3, 5, 8, 10, 12, 15, 16, 17


def check(c):
    c.given(BASE_MD, "60 % forget every carry (`noise = 0.6`)", "noise = 0.6")
    c.claim(BASE_MD, "so that it is imperfect",
            c.table(BASE).get("base", "eval_accuracy") < 0.9)

    # the attention view: one prompt, the base's greedy answer
    text = c.text(ATTN)
    c.claim(ATTN_RES, "The base's greedy answer here is `75`, and it is right",
            "27+48=75<eos>" in text and "greedy completion (correct)" in text, text[:200])
    c.claim(ATTN_MD, "every attention head for one prompt",
            all(f"layer {l} · head {h}" in text for l in (1, 2) for h in (1, 2, 3, 4)))

    # sharpening: the pass@j table of %eval base tuned
    c.given(RL_MD, "the same 512\nheld-out prompts", "eval_prompts = 512 in the cell; %%opd's default")
    main, pa = c.tables(EVAL)
    d = {j: [pa.get(f"tuned[seed={s}] − base", j) for s in SEEDS] for j in JS}
    se = {j: [pa.get(f"tuned[seed={s}] − base", j, pm=True)[1] for s in SEEDS] for j in JS}
    up1 = Val(sum(x > 0 for x in d["pass@1"]), f"seeds with pass@1 up, output cell {EVAL}")
    c.quote(SHARPEN, "In every seed (5 of 5) RL raised pass@1", up1, Val(N, "seeds"), None)
    c.claim(SHARPEN, "In every seed", up1 == N)
    c.quote(SHARPEN, "by +0.2881 to\n+0.3318", min(d["pass@1"]), max(d["pass@1"]))
    c.claim(SHARPEN, "(each more than 20 standard errors)",
            all(x > 20 * s for x, s in zip(d["pass@1"], se["pass@1"])))
    c.quote(SHARPEN, "pass@4 by +0.1005 to +0.1191", None, min(d["pass@4"]), max(d["pass@4"]))
    c.quote(SHARPEN, "pass@16\nrose by only +0.0124 to +0.0196", None, min(d["pass@16"]),
            max(d["pass@16"]))
    m64 = Val(max(abs(x) for x in d["pass@64"]), f"largest |pass@64 difference|, output cell {EVAL}")
    c.quote(SHARPEN, "pass@64 moved by at most 0.0020 either way", None, m64)
    c.claim(SHARPEN, "within one\nstandard error in every seed",
            all(abs(x) <= s for x, s in zip(d["pass@64"], se["pass@64"])))
    c.claim(SHARPEN, "The gain shrinks as k grows in every seed",
            all(d["pass@1"][i] > d["pass@4"][i] > d["pass@16"][i] > d["pass@64"][i]
                for i in range(N)))
    base64 = pa.get("base", "pass@64")
    c.quote(SHARPEN, "for 0.9961 of the prompts", base64)
    c.claim(SHARPEN, "it did not make new ones reachable",
            all(abs(x) <= s for x, s in zip(d["pass@64"], se["pass@64"])))
    c.claim(SHARPEN, "so close to one that there is no room to\novertake", base64 > 0.99)
    # pass@1 is avg@64 and pass@64 the accuracy table's pass@64 (the estimator's ends)
    for r in ["base"] + [f"tuned[seed={s}]" for s in SEEDS]:
        assert abs(pa.get(r, "pass@1") - main.get(r, "avg@64")) < 1e-3, r
        assert abs(pa.get(r, "pass@64") - main.get(r, "pass@64")) < 1e-3, r
    c.given(PREDICT, "1 − C(64 − c, k) / C(64, k)", "the estimator's definition")

    # distillation: lr sweep, against GRPO
    c.given(OPD_MD, "λ = 1", "%%opd's default lambda")
    means = c.table(OPD, means=True)
    seeds = c.table(OPD)
    base = c.table(BASE).get("base", "eval_accuracy")
    hi, lo = "distilled[lr=1e-3]", "distilled[lr=2e-4]"
    teacher = c.value(OPD, r"held-out greedy accuracy (\d\.\d+)")
    c.quote(OPD_RES, "falls from its base's 0.7021 to 0.2191 ± 0.1028", base,
            *means.pm(hi, "eval_accuracy"))
    c.quote(OPD_RES, "its base (KL 2.0194) and its teacher (KL 4.1072)",
            means.pm(hi, "kl_ref")[0], means.pm(hi, "kl_teacher")[0])
    p = c.table(CMP).compare(hi)
    c.quote(OPD_RES, "(Δ −0.7164, se 0.0418, 0/5 up)", p.mean, p.se, p.up, Val(N, "seeds"))
    c.claim(OPD_RES, "it is below the `2e-4`\nruns in every seed", p.down == N)
    c.quote(OPD_RES, "reaches\n0.9355 ± 0.0163, close to the teacher's 0.9531",
            *means.pm(lo, "eval_accuracy"), teacher)
    c.claim(OPD_RES, "close to the teacher's",
            abs(means.pm(lo, "eval_accuracy")[0] - teacher) < 0.05)
    c.claim(OPD_RES, "is too\nlarge for the transformer", p.down == N and p.resolved())
    grpo = c.table(RL).col("eval_accuracy", "tuned[seed=")
    opd = [seeds.get(f"distilled[lr=2e-4,seed={s}]", "eval_accuracy") for s in SEEDS]
    g = paired(opd, grpo, "eval_accuracy, distilled[lr=2e-4] minus tuned, by seed")
    c.quote(OPD_RES, "distillation ends 0.0297 lower on average (se 0.0149; GRPO ahead in 4 of 5\nseeds)",
            Val(-g.mean, g.mean.src + " (negated)"), g.se, g.down, Val(N, "seeds"))
    c.claim(OPD_RES, "distillation ends", g.mean < 0)
    c.claim(OPD_RES, "about two standard errors", 1.5 < -g.mean / g.se < 2.5,
            f"{-g.mean} / {g.se}")
    c.quote(OPD_RES, "distilling a teacher of 0.9531 here", teacher)
    c.claim(OPD_RES, "which five seeds do not settle", not g.resolved(2.5))
