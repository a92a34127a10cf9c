"""Prose of notebooks/your-own-task.ipynb against its outputs (tests/py/nbclaims.py)."""
import statistics

from nbclaims import Val, ratio

SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)
CS = ["0.1", "1", "10"]
# markdown cells
INTRO, READ, BASES_MD, BASES_RES, VERIFIER, SCALE_MD, RESULTS, YOURS = 0, 2, 3, 6, 8, 10, 13, 14
# code cells
TASK, BASE, EVAL, SAMPLE, REWARD, RL, CMP = 1, 4, 5, 7, 9, 11, 12


def paired(t, key):
    """(Δ mean, se Δ, sd Δ, count > 0, count < 0) of a %compare row."""
    p = t.compare(key)
    return p.mean, p.se, p.sd, p.up, p.down


def check(c):
    n = Val(N, "seed = [1, 2, 3, 4, 5]")
    # what %task read
    rows = c.value(TASK, r"\((\d+) rows")
    train = c.value(TASK, r"rows: (\d+) train")
    held = c.value(TASK, r"train, (\d+) held out")
    vocab = c.value(TASK, r"vocabulary \((\d+), the file's characters\)")
    c.quote(READ, "252 rows: 193 for training and 59 held out", rows, train, held)
    c.quote(READ, "`<pad>` and `<eos>`, 26 tokens", vocab)
    c.claim(READ, "split by a hash of\nthe prompt text", "split by hash" in c.text(TASK))
    c.claim(READ, "The column\n`priority` is a number in every row",
            "priority (numeric)" in c.text(TASK))
    c.claim(READ, "(`billing` is demonstrated as `bug`)",
            "'billing' is demonstrated as 'bug'" in c.text(TASK))
    c.given(BASES_MD, "half carry the wrong\nlabel (`noise = 0.5`)", "noise = 0.5")

    # the bases
    ev = c.table(EVAL)
    base = {s: ev.get(f"base[seed={s}]", "greedy") for s in SEEDS}
    prompts = c.value(EVAL, r"same (\d+) prompts")
    gm = Val(statistics.mean(float(v) for v in base.values()), f"mean of greedy over the seeds, output cell {EVAL}")
    gs = Val(statistics.stdev([float(v) for v in base.values()]), f"sd of greedy over the seeds, output cell {EVAL}")
    c.quote(BASES_RES, "right on 0.4712 ± 0.2081 of the 59 held-out tickets", gm, gs, prompts)
    c.quote(BASES_RES, "from 0.2881 to 0.7288",
            Val(min(base.values()), f"lowest greedy, output cell {EVAL}"),
            Val(max(base.values()), f"highest greedy, output cell {EVAL}"))
    c.claim(BASES_RES, "each seed with its own\nmistakes", len(set(base.values())) == N)
    c.claim(VERIFIER, "`equals(answer, target)` is 1 when the generated answer",
            "texts: answer, target" in c.text(REWARD))

    # the ablation
    c.given(SCALE_MD, "c ∈ {0.1, 1, 10}, five seeds each", "the cell's sweep")
    means = c.table(RL, means=True)
    t = c.table(RL)
    acc = {x: means.pm(f"scaled[c={x}]", "eval_accuracy") for x in CS}
    klr = {x: means.pm(f"scaled[c={x}]", "kl_ref") for x in CS}
    ca, ck = c.tables(CMP)
    pa = {x: paired(ca, f"scaled[c={x}]") for x in ("0.1", "10")}
    pk = {x: paired(ck, f"scaled[c={x}]") for x in ("0.1", "10")}
    c.given(RESULTS, "step 60, n = 5 seeds", "steps = 60, seed = [1, 2, 3, 4, 5]")
    c.given(RESULTS, "against c = 1", "the baseline of %compare")
    for x, row in (
            ("0.1", "| 0.1 | 0.9085 ± 0.0152 | −0.0678 (se 0.0076, 0/5 up) | 0.01732 ± "
                         "0.00261 | −0.08313 (se 0.00639, 0/5 up) |"),
            ("10", "| 10 | 0.9729 ± 0.0093 | −0.0034 (se 0.0063, 1/5 up) | 0.10909 ± "
                        "0.01586 | +0.00865 (se 0.00163, 5/5 up) |")):
        c.quote(RESULTS, row, None, *acc[x], pa[x][0], pa[x][1], pa[x][3], n, *klr[x], pk[x][0],
                pk[x][1], pk[x][3], n)
    c.quote(RESULTS, "| 1 | 0.9763 ± 0.0093 | | 0.10044 ± 0.01405 | |", None, *acc["1"], *klr["1"])
    gain = {x: Val(sum(t.get(f"scaled[c={x},seed={s}]", "eval_accuracy") - base[s]
                       for s in SEEDS) / N,
                   f"mean over seeds of scaled[c={x}] eval_accuracy (output cell {RL}) minus its "
                   f"base's greedy (output cell {EVAL})") for x in CS}
    c.quote(RESULTS, "+0.44 for c = 0.1 and +0.51 for c = 1", gain["0.1"], None, gain["1"], None)
    c.claim(RESULTS, "Every configuration ends far above its base",
            all(t.get(f"scaled[c={x},seed={s}]", "eval_accuracy") > base[s] + 0.1
                for x in CS for s in SEEDS))
    c.quote(RESULTS, "near its base (KL 0.01732)", klr["0.1"][0])
    c.claim(RESULTS, "it is less\naccurate than c = 1 in every seed", pa["0.1"][4] == N)
    c.claim(RESULTS, "The scale matters at the low\nend",
            pa["0.1"][4] == N and pa["0.1"][0] < -2 * pa["0.1"][1])
    c.claim(RESULTS, "the accuracy difference is\nsmaller than its standard error",
            abs(pa["10"][0]) < pa["10"][1], f"{pa['10'][0]} vs se {pa['10'][1]}")
    c.quote(RESULTS, "on 59 held-out tickets one ticket is 0.017 of accuracy", prompts,
            ratio(1, prompts))
    c.claim(RESULTS, "c = 10 went further from the base\nin every seed", pk["10"][3] == N)
