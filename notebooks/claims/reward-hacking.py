"""Prose of notebooks/reward-hacking.ipynb against its outputs (tests/py/nbclaims.py)."""
import math

import nbclaims
from nbclaims import Val, Vals, mean, sd

SEEDS = [1, 2, 3, 4, 5]
N = len(SEEDS)
# cells: %correlate tables and training cells
C_BASE, C_FREE, C_REGS, C_RARE_BASE = 11, 14, 22, 32
C_RARE = {"a": 39, "b": 40, "c": 41}
C_TRAIN = {"free": 13, "k3": 19, "klr": 20, "chi": 21}
C_KL = {"a": 33, "b": 35, "c": 37}
C_CHI = {"a": 34, "b": 36, "c": 38}
NOISE = {"a": "0.3", "b": "0.03", "c": "0"}


def per_seed(c, cell, name, col):
    """A %correlate column over the seeds of `name` (a run or a sweep point name[k=v])."""
    t = c.table(cell)
    key = (lambda s: f"{name}[seed={s}]") if "[" not in name else (
        lambda s: f"{name[:-1]},seed={s}]")
    return Vals([t.get(key(s), col) for s in SEEDS], f"output cell {cell}: {col} of {name}[seed=1..5]")


def rng(vals):
    return min(vals, key=float), max(vals, key=float)


def paired(a, b, what):
    """(mean, se, count > 0) of the paired differences a - b."""
    p = nbclaims.paired(a, b, what)
    return p.mean, p.se, p.up


def check(c):
    n_train = c.value(C_BASE, r"of the (\d+) training prompts")
    # 1. task
    c.quote(1, "at most 3 tokens", c.value(2, r"answer at most (\d+) tokens"))
    c.quote(1, "only 100 prompts", c.value(2, r"(\d+) prompts"))
    c.given(1, "60 %", "noise = 0.6 in cell 3")
    ev = c.table(3).col("eval_accuracy", "base[")
    c.claim(1, "accuracy (`eval_accuracy` in the table below) is 0", all(float(v) == 0 for v in ev),
            str(ev))
    # 2. the proxy's loophole (cell 8)
    right, carry, right2, loop = (Val(float(x), f"output cell 8 line {i + 1}")
                                  for i, x in enumerate(c.text(8).split()))
    c.quote(9, "a right answer to a\ncarry question scores 4, the typical mistake 2", right, carry)
    c.quote(9, "scores 3.5 —\n*more* than the right answer `7<eos>` (3)", loop, None, right2)
    c.claim(9, "higher proxy goes with right answers", right > carry)
    c.given(9, "Any 3-token answer to a question without a carry is\nwrong, and scores at least 3",
            "partial >= 0 and length = 3 in partial + length")

    # 3. correlation under the bases
    br, bw, bh = (per_seed(c, C_BASE, "base", k) for k in ("r", "r within prompts", "hack"))
    c.quote(12, "r = 0.7506 to 0.8329 over all pairs and 0.9737 to 0.9787\nwithin prompts",
            *rng(br), *rng(bw))
    c.claim(12, "a strongly correlated proxy", min(br) > 0.7 and min(bw) > 0.9, f"{br} {bw}")
    c.quote(12, "probability 0.00278 to 0.004955", *rng(bh))
    c.given(12, "80 steps of 8 prompts × 16 answers", "steps, batch, group in cell 13")

    # 4. the free runs
    fp, ft, fh, fr, fw = (per_seed(c, C_FREE, "free", k)
                          for k in ("proxy", "true", "hack", "r", "r within prompts"))
    bp, bt = per_seed(c, C_BASE, "base", "proxy"), per_seed(c, C_BASE, "base", "true")
    c.quote(16, "The proxy rises from 2.85 to 3.08 (the bases) to 3.702 to 3.711", *rng(bp), *rng(fp))
    c.quote(16, "the true reward falls from 0.6889 to 0.8053 to 0.4147 to 0.4275", *rng(bt), *rng(ft))
    d, se, up = paired(ft, bt, "true reward, free minus base")
    c.claim(16, "lower in every\npipeline", up == 0)
    c.quote(16, "by −0.3148 on average (se 0.0187, 0 of 5 up)", d, se, up, Val(N, "n"))
    c.quote(16, "from\nbelow 0.005 to 0.5724 to 0.5852", None, *rng(fh))
    c.claim(16, "below 0.005", max(bh) < 0.005)
    c.claim(16, "one 3-token answer for every\nquestion",
            "11<eos>" in c.text(15) and all(float(x) > 2.99 for x in c.table(13).col("length", "free[")))
    c.quote(16, "*higher* than under their bases (0.9433 to 0.9751)", *rng(fr))
    c.claim(16, "*higher* than under their bases", all(f > b for f, b in zip(fr, br)))
    c.quote(16, "lower but still positive (0.6821 to 0.7750)", *rng(fw))
    c.claim(16, "lower but still positive", all(0 < f < b for f, b in zip(fw, bw)))
    c.claim(16, "either right\nor a hack (their probabilities add up to more than 0.99)",
            all(float(h) + float(t) > 0.99 for h, t in zip(fh, ft)), "hack + true per free policy")
    c.given(16, "(at most 3 + 2/3 against 4)", "partial + length: a wrong 3-token answer matches "
            "at most 2 of 3 target positions; a right one scores 1 + 3")
    c.claim(16, "a higher proxy still goes with a higher truth more often than not",
            min(fr) > 0 and min(fw) > 0)

    # 5. regularizers (first proxy)
    # the table's rows (the numbers of the labels, such as β = 1, are settings: None)
    rows = {"free": ("| none (`free`) | 0.4204 ± 0.0057 | 0.5795 ± 0.0057 | 2.129 ± 0.281 |", []),
            "k3": ("| KL in the loss, k3 (`k3`, β = 1) | 0.8565 ± 0.0294 | 0.0470 ± 0.0218 "
                   "| 0.1605 ± 0.1509 |", [None]),
            "klr": ("| KL in the reward (`klr`, β = 0.3) | 0.9761 ± 0.0043 | 0.0143 ± 0.0039 "
                    "| 0.1417 ± 0.0648 |", [None]),
            "chi": ("| χ² (`chi`, 0.1) | 0.9770 ± 0.0021 | 0.0106 ± 0.0022 | 0.1535 ± 0.0390 |",
                    [None])}
    true, hack = {}, {}
    for k, (snippet, labels) in rows.items():
        cell = C_FREE if k == "free" else C_REGS
        true[k] = per_seed(c, cell, k, "true")
        hack[k] = per_seed(c, cell, k, "hack")
        klm, kls = c.table(C_TRAIN[k], means=True).pm(k, "kl_ref")
        c.quote(25, snippet, *labels, mean(true[k]), sd(true[k]), mean(hack[k]), sd(hack[k]), klm,
                kls)
    c.claim(25, "All three stop the hack compared with no regularizer",
            all(max(hack[k]) < min(hack["free"]) for k in ("k3", "klr", "chi")))
    cmp = c.table(23)
    for k, snip in (("k3", "k3's final KL differs by +0.0188\n  (se 0.0426)"),
                    ("chi", "χ²'s by +0.0118 (se 0.0279)")):
        dm, dse = cmp.get(k, "\u0394 mean"), cmp.get(k, "se \u0394")
        c.quote(25, snip, dm, dse)
        c.claim(25, "at distances from the base that do\n  not differ resolvably", abs(dm) < 2 * dse,
                f"{k}: {dm} ± {dse}")
    d, se, up = paired(true["chi"], true["klr"], "true reward, chi minus klr")
    c.quote(25, "is +0.0009 (se 0.0019, 3 of 5 up) in true reward", d, se, up, Val(N, "n"))
    c.claim(25, "**KL in the reward and χ² are indistinguishable**", abs(d) < 2 * se)
    dk, sek, upk = paired(true["k3"], true["klr"], "true reward, k3 minus klr")
    c.quote(25, "−0.1196 (se 0.0138, 0 of 5 up)", dk, sek, upk, Val(N, "n"))
    c.claim(25, "**GRPO's default KL term is the weak one**", upk == 0 and dk < -3 * sek)
    fkl = c.chart(24)["eval_reward"]["free"]
    c.claim(25, "The free run climbs to a KL above 2\n  while its true reward falls",
            max(fkl.x) > 2 and fkl.y[-1] < fkl.y[0], "free: eval_reward vs kl_ref")
    c.claim(25, "the regularized runs stay at a small KL",
            all(max(c.chart(24)["eval_reward"][k].x) < 1 for k in ("k3", "klr", "chi")))

    # 6. rarity sweep
    c.given(26, "a bonus of 1.5", "brief = correct + 1.5*(length == 2)")
    c.given(26, "gets 2.5", "1 + 1.5 in brief")
    pairs = {}
    for n in "abc":
        p = per_seed(c, C_RARE_BASE, f"base_{n}", "short")
        rw = per_seed(c, C_RARE_BASE, f"base_{n}", "r within prompts")
        kl = {f"kl={b}": c.table(C_KL[n], means=True).pm(f"kl_{n}[kl={b}]", "kl_ref")[0]
              for b in ("0.1", "0.3")}
        ch = {f"chi2={x}": c.table(C_CHI[n], means=True).pm(f"chi_{n}[chi2={x}]", "kl_ref")[0]
              for x in ("0.01", "0.1")}
        best = min(((a, b) for a in kl for b in ch),
                   key=lambda ab: abs(math.log(float(kl[ab[0]]) / float(ch[ab[1]]))))
        tk = per_seed(c, C_RARE[n], f"kl_{n}[{best[0]}]", "true")
        tc = per_seed(c, C_RARE[n], f"chi_{n}[{best[1]}]", "true")
        d, se, up = paired(tc, tk, f"true reward, chi_{n}[{best[1]}] minus kl_{n}[{best[0]}]")
        pairs[n] = dict(p=p, rw=rw, best=best, klk=kl[best[0]], klc=ch[best[1]], d=d, se=se, up=up)
    text = {"a": "| 0.3 | 0.0960 to 0.1899 | −0.7549 to −0.5832 | kl = 0.1, chi2 = 0.01 | 0.3034, 0.2713 | −0.0133 (0.0040, 1 of 5) |",
            "b": "| 0.03 | 0.01413 to 0.02828 | −0.3890 to 0.0525 | kl = 0.1, chi2 = 0.01 | 0.4776, 0.4444 | −0.0302 (0.0121, 1 of 5) |",
            "c": "| 0 | 0.00125 to 0.001886 | 0.8232 to 0.8839 | kl = 0.3, chi2 = 0.1 | 0.001838, 0.001215 | +0.0006 (0.0010, 4 of 5) |"}
    for n in "abc":
        q = pairs[n]
        kb, cx = q["best"][0].split("=")[1], q["best"][1].split("=")[1]
        c.quote(42, text[n], None, *rng(q["p"]), *rng(q["rw"]), Val(float(kb), "closest pair"),
                Val(float(cx), "closest pair"), q["klk"], q["klc"], q["d"], q["se"], q["up"],
                Val(N, "n"))
    c.claim(42, "p falls by nearly two orders of magnitude",
            float(mean(pairs["a"]["p"])) / float(mean(pairs["c"]["p"])) > 50)
    c.claim(42, "Only at the rarest hack is `brief` a correlated proxy (r within prompts\n  above 0.8)",
            min(pairs["c"]["rw"]) > 0.8 and max(pairs["b"]["rw"]) < 0.1 and max(pairs["a"]["rw"]) < 0)
    c.claim(42, "r below zero", max(pairs["a"]["rw"]) < 0)
    tk01 = per_seed(c, C_RARE["c"], "kl_c[kl=0.1]", "true")
    tbc = per_seed(c, C_RARE_BASE, "base_c", "true")
    c.claim(42, "the true reward\n  ends below its base in 5 of 5 pipelines at `noise` = 0 too",
            all(float(a) < float(b) for a, b in zip(tk01, tbc)))
    c.claim(42, "χ² is behind KL in the reward\n  at p ≈ 0.1 and p ≈ 0.02 (1 of 5 pipelines ahead in each)",
            pairs["a"]["d"] < 0 and pairs["b"]["d"] < 0 and pairs["a"]["up"] == 1 and pairs["b"]["up"] == 1
            and 0.05 < float(mean(pairs["a"]["p"])) < 0.2 and 0.01 < float(mean(pairs["b"]["p"])) < 0.04)
    c.quote(42, "level with it at the rarest\n  hack (+0.0006, within one se)", pairs["c"]["d"])
    c.claim(42, "within one se", abs(pairs["c"]["d"]) < pairs["c"]["se"])
    c.claim(42, "Its deficit does shrink as the hack gets rarer, but not\n  steadily (it is largest at the middle p)",
            pairs["b"]["d"] < pairs["a"]["d"] < pairs["c"]["d"])
    c.claim(42, "at no p is χ² ahead", all(q["d"] < 2 * q["se"] for q in pairs.values()))
    kls = [c.table(C_KL[n], means=True).pm(f"kl_{n}[kl={b}]", "kl_ref") for n in "abc" for b in ("0.1", "0.3")]
    kls += [c.table(C_CHI[n], means=True).pm(f"chi_{n}[chi2={x}]", "kl_ref") for n in "abc" for x in ("0.01", "0.1")]
    c.claim(42, "its sd over seeds is as large as its\n  mean for several configurations",
            sum(float(s) >= 0.9 * float(m) for m, s in kls) >= 3, str(kls))
    c.quote(42, "differs by a factor\n  1.5 in KL", Val(float(pairs["c"]["klk"]) / float(pairs["c"]["klc"]), "ratio of the closest pair's KLs"))

    # what the numbers say
    c.quote(43, "every answer of the 82 training prompts", n_train)
    c.quote(43, "r = 0.7506 to 0.8329 (0.9737 to 0.9787 within prompts)", *rng(br), *rng(bw))
    d, se, up = paired(ft, bt, "true reward, free minus base")
    c.quote(43, "lower by −0.3148 (se 0.0187, 0 of 5 up)", d, se, up, Val(N, "n"))
    c.quote(43, "hack's probability is 0.5724 to 0.5852", *rng(fh))
    c.claim(43, "r higher than under\n  the base in 5 of 5 pipelines", all(f > b for f, b in zip(fr, br)))
    d, se, up = paired(true["chi"], true["klr"], "true reward, chi minus klr")
    c.quote(43, "+0.0009 (se 0.0019, 3 of\n  5 up)", d, se, up, Val(N, "n"))
    c.quote(43, "loses −0.1196 (se 0.0138, 0 of 5 up)", dk, sek, upk, Val(N, "n"))
    c.quote(43, "χ² minus KL in the reward is −0.0133, −0.0302 and +0.0006", *(pairs[n]["d"] for n in "abc"))
    c.quote(43, "base hack\n  probabilities of about 0.1, 0.02 and 0.002", *(mean(pairs[n]["p"]) for n in "abc"))
    c.claim(43, "never ahead, level only at the rarest hack",
            all(q["d"] < 2 * q["se"] for q in pairs.values()) and abs(pairs["c"]["d"]) < pairs["c"]["se"])

    # how to read
    klr_er = c.table(C_TRAIN["klr"], means=True).pm("klr", "eval_reward")[0]
    c.given(44, "8 × 16 = 128 answers", "batch = 8, group = 16")
    c.quote(44, "a true\n  reward near 0.975 has a binomial sd of about 0.014", klr_er,
            Val(math.sqrt(float(klr_er) * (1 - float(klr_er)) / 128), "sqrt(p(1-p)/128)"))
    c.given(44, "signs split 3 to 2", "a sign count")
    c.quote(44, "Over all pairs r rises (0.9433 to 0.9751, against 0.7506 to 0.8329 under the bases)",
            *rng(fr), *rng(br))
    c.quote(44, "it falls but stays positive (0.6821 to 0.7750)", *rng(fw))
    c.quote(44, "(0.00278 to 0.004955\nunder the bases, 0.5724 to 0.5852 after)", *rng(bh), *rng(fh))
    c.given(44, "(proxy at least 3, truth 0)", "a 3-token answer: partial + 3 >= 3")
    c.given(44, "(proxy 4, truth 1)", "a right 3-token answer: 1 + 3")
