"""Prose of notebooks/grpo-and-friends.ipynb against its outputs (tests/py/nbclaims.py)."""
from nbclaims import Val, paired, ratio

SEEDS = [1, 2, 3, 4, 5]
# cells (0-based)
INTRO, MU_MD, MU_RUN, MU_CMP, MU_SAY = 0, 4, 5, 6, 7
ST_MD, ST_RUN, ST_CMP, ST_SAY = 8, 9, 10, 12
S2_MD, S2_RUN, S2_CMP, S2_SAY = 13, 14, 15, 16
NFT_MD, NFT_RUN, NFT_CMP, NFT_SAY = 17, 18, 19, 20
HI_MD, HI_RUN, HI_CMP, HI_SAY = 21, 22, 23, 24
SEQ_MD, SEQ_CMP, SEQ_SAY = 25, 27, 28
CR_MD, CR_CMP, CR_SAY, END = 29, 31, 32, 33


def row(c, cell, index, key):
    """A %compare row (Paired) and its configuration's mean."""
    t = c.tables(cell)[index]
    p = t.compare(key) if key != t.keys[0] else None
    return p, t.get(key, "mean \u00b1 sd", pm=True)[0]


def seeds(c, cell, col, cfg):
    """A configuration's per-seed values of col (the run cell's per-seed table)."""
    if "[" in cfg:  # a configuration's name: NAME[keys]
        cfg = cfg[cfg.index("[") + 1:-1]
    v = c.table(cell).col(col, cfg + ",")
    assert len(v) == len(SEEDS), (cfg, v)
    return v


def pair(c, cell, col, a, b):
    return paired(seeds(c, cell, col, a), seeds(c, cell, col, b), f"{col} {a} - {b}")


def five(p):
    return Val(p.n, "n")


def check(c):
    # settings named in the prose
    c.given(INTRO, "the fourteen", "the recipe table of runtime/rl (rt_rl_recipe.c)")
    c.given(INTRO, "1. What the clip", "section numbers")
    for k in ("2. Stale", "3. R²VPO", "4. NFT", "5. DAPO", "6. A token", "7. A value"):
        c.given(INTRO, k, "section numbers")
    c.given(MU_MD, "(ρ kept\nin [0.8, 1.2])", "clip = 0.2, the default")
    c.given(MU_MD, "μ = 8", "iterations = [1, 8] in the cell")
    c.given(ST_MD, "(τ = 0.1)", "opmd_tau's default (%help opmd)")
    c.given(ST_MD, "by δ = 0.1", "asymre_shift's default (%help asymre)")
    c.given(HI_MD, "from 0.2 to 0.28", "dapo's clips (%help dapo)")
    c.given(HI_MD, "for 100\nsteps", "steps = 100 in the cell")
    c.given(SEQ_MD, "(3e-4 below, 4e-4 above", "gspo's clips (%help gspo)")
    c.given(CR_MD, "GAE(γ = 1, λ = 0.95)", "ppo's defaults (%help ppo)")
    c.given(S2_SAY, "(λ = 0.04)", "r2vpo_lambda's default (%help r2vpo)")

    # 1. reusing a batch
    base = "mu[iterations=1,clip_high=0.2]"
    open1, m1 = row(c, MU_CMP, 0, "mu[iterations=1,clip_high=100]")
    clip8, m8 = row(c, MU_CMP, 0, "mu[iterations=8,clip_high=0.2]")
    open8, m8o = row(c, MU_CMP, 0, "mu[iterations=8,clip_high=100]")
    _, m0 = row(c, MU_CMP, 0, base)
    same = seeds(c, MU_RUN, "eval_accuracy", base) == seeds(c, MU_RUN, "eval_accuracy",
                                                                "mu[iterations=1,clip_high=100]")
    c.claim(MU_SAY, "gives the same runs bit for bit (Δ = 0\non every seed)",
            same and open1.mean == 0 and open1.up == 0 and open1.down == 0)
    c.claim(MU_SAY, "At μ = 8 held-out accuracy falls on all five\nseeds",
            clip8.down == 5 and open8.down == 5)
    c.quote(MU_SAY, "0.606 at μ = 1, 0.222 with the clip at μ = 8,\n0.058 with its upper side removed", m0, None, m8, None, m8o)
    c.quote(MU_SAY, "(paired Δ = −0.383, se 0.042, and −0.548, se 0.016)", clip8.mean, clip8.se,
            open8.mean, open8.se)
    c.claim(MU_SAY, "the clip is what limits the fall", m8 > m8o)
    kl8, _ = row(c, MU_CMP, 1, "mu[iterations=8,clip_high=0.2]")
    kl8o, _ = row(c, MU_CMP, 1, "mu[iterations=8,clip_high=100]")
    c.quote(MU_SAY, "+1.50 with the clip, +3.21 without", kl8.mean, kl8o.mean)
    _, cf = row(c, MU_CMP, 2, "mu[iterations=8,clip_high=0.2]")
    c.quote(MU_SAY, "the upper side of 2.8 % of the tokens", Val(100 * cf, "clip_frac_high x 100"))
    c.claim(MU_SAY, "what the clip buys is a smaller\nloss, not none", m8 < m0 and m8 > m8o)

    # 2. stale data
    g0 = "stale[algo=grpo,staleness=0]"
    t = lambda k: row(c, ST_CMP, 0, k)
    _, rl0 = t("stale[algo=rloo,staleness=0]")
    rl4, mrl4 = t("stale[algo=rloo,staleness=4]")
    rl8, mrl8 = t("stale[algo=rloo,staleness=8]")
    c.quote(ST_SAY, "RLOO falls from 0.613 (fresh) to\n0.213 at k = 4 and 0.062 at k = 8", rl0, mrl4, None, mrl8, None)
    c.quote(ST_SAY, "(Δ = −0.408 and −0.560 against fresh GRPO, all five seeds)", rl4.mean, rl8.mean)
    c.claim(ST_SAY, "all five seeds", rl4.down == 5 and rl8.down == 5)
    _, klr8 = row(c, ST_CMP, 1, "stale[algo=rloo,staleness=8]")
    c.quote(ST_SAY, "its KL to the reference grows to 3.74", klr8)
    gr4, _ = t("stale[algo=grpo,staleness=4]")
    gr8, _ = t("stale[algo=grpo,staleness=8]")
    c.quote(ST_SAY, "holds at k = 4 (Δ = +0.010, se\n0.021: no resolved difference)", None, gr4.mean, gr4.se)
    c.claim(ST_SAY, "no resolved difference", not gr4.resolved())
    c.quote(ST_SAY, "gives ground at k = 8 (Δ = −0.064, se 0.013, five of\nfive)", None, gr8.mean, gr8.se)
    c.claim(ST_SAY, "five of\nfive", gr8.down == 5 and gr8.resolved())
    og = pair(c, ST_RUN, "eval_accuracy", "algo=opmd,staleness=8", "algo=grpo,staleness=8")
    c.quote(ST_SAY, "at k = 8 it is above GRPO at k = 8 on\nevery seed (paired Δ = +0.091, se 0.015)", None, None, og.mean, og.se)
    c.claim(ST_SAY, "on\nevery seed", og.up == 5)
    op8, _ = t("stale[algo=opmd,staleness=8]")
    c.quote(ST_SAY, "even above fresh GRPO (Δ = +0.026, se 0.012,\n4 of 5 seeds: 2.2 standard errors)",
            op8.mean, op8.se, op8.up, five(op8), ratio(op8.mean, op8.se))
    c.claim(ST_SAY, "even above fresh GRPO", op8.mean > 0 and op8.resolved())
    c.claim(ST_SAY, "OPMD's proximal term does better than the clip", og.mean > 0 and og.resolved())
    _, ma4 = t("stale[algo=asymre,staleness=4]")
    _, ma8 = t("stale[algo=asymre,staleness=8]")
    ag = pair(c, ST_RUN, "eval_accuracy", "algo=asymre,staleness=8", "algo=grpo,staleness=8")
    ar = pair(c, ST_RUN, "eval_accuracy", "algo=asymre,staleness=8", "algo=rloo,staleness=8")
    c.quote(ST_SAY, "0.512 at\nk = 4 and 0.495 at k = 8, below GRPO at k = 8 (paired Δ = −0.062, se 0.024)",
            ma4, None, ma8, None, None, ag.mean, ag.se)
    c.claim(ST_SAY, "below GRPO at k = 8", ag.mean < 0 and ag.resolved())
    c.quote(ST_SAY, "yet far above\nRLOO (+0.433, se 0.027)", ar.mean, ar.se)
    c.claim(ST_SAY, "The regularized REINFORCE of OPMD is the one that takes 8-step-stale\ndata here",
            og.up == 5 and ag.mean < 0)

    # R2VPO and BAPO
    s = lambda k: row(c, S2_CMP, 0, k)
    r0, mr0 = s("stale2[algo=r2vpo,staleness=0]")
    b0, mb0 = s("stale2[algo=bapo,staleness=0]")
    _, mg0 = s("stale2[algo=grpo,staleness=0]")
    eq0 = seeds(c, S2_RUN, "eval_accuracy", "algo=r2vpo,staleness=0") == \
        seeds(c, S2_RUN, "eval_accuracy", "algo=bapo,staleness=0")
    c.claim(S2_SAY, "R²VPO and BAPO are the same runs", eq0)
    c.quote(S2_SAY, "0.603 against GRPO's 0.625", mr0, mg0)
    bg = pair(c, S2_RUN, "eval_accuracy", "algo=bapo,staleness=8", "algo=grpo,staleness=8")
    rg = pair(c, S2_RUN, "eval_accuracy", "algo=r2vpo,staleness=8", "algo=grpo,staleness=8")
    c.quote(S2_SAY, "(paired Δ = +0.014, se 0.020: not resolved)", bg.mean, bg.se)
    c.claim(S2_SAY, "not resolved", not bg.resolved())
    c.quote(S2_SAY, "(Δ = −0.193, se 0.031, below GRPO on all five seeds)", rg.mean, rg.se)
    c.claim(S2_SAY, "below GRPO on all five seeds", rg.down == 5)
    kls = {a: row(c, S2_CMP, 1, f"stale2[algo={a},staleness=8]")[1] for a in ("grpo", "r2vpo", "bapo")}
    c.quote(S2_SAY, "the largest KL of the\nthree (0.690)", kls["r2vpo"])
    c.claim(S2_SAY, "the largest KL of the\nthree", kls["r2vpo"] > max(kls["grpo"], kls["bapo"]))
    _, rv = row(c, S2_CMP, 2, "stale2[algo=r2vpo,staleness=8]")
    c.quote(S2_SAY, "(`ratio_var` 0.573 at the last step)", rv)
    c.claim(S2_SAY, "the clip is the better brake on stale data", rg.mean < 0 and rg.resolved())

    # NFT and Dr. GRPO
    n0, _ = row(c, NFT_CMP, 0, "nftdr[algo=nft,staleness=0]")
    n8, _ = row(c, NFT_CMP, 1, "nftdr[algo=nft,staleness=8]")
    same = seeds(c, NFT_RUN, "eval_accuracy", "algo=nft,staleness=0") == \
        seeds(c, NFT_RUN, "eval_accuracy", "algo=drgrpo,staleness=0")
    c.claim(NFT_SAY, "train the same policies: Δ = 0 on every seed", same and n0.mean == 0)
    c.quote(NFT_SAY, "+0.046 (se 0.009) on all five seeds", n8.mean, n8.se)
    c.claim(NFT_SAY, "NFT is the better\none", n8.up == 5 and n8.resolved())

    # GRPO against DAPO's clip-higher
    g28 = row(c, HI_CMP, 0, "higher[algo=grpo,clip_high=0.28]")[0]
    same = seeds(c, HI_RUN, "eval_accuracy", "algo=grpo,clip_high=0.2") == \
        seeds(c, HI_RUN, "eval_accuracy", "algo=grpo,clip_high=0.28") and \
        seeds(c, HI_RUN, "entropy", "algo=grpo,clip_high=0.2") == \
        seeds(c, HI_RUN, "entropy", "algo=grpo,clip_high=0.28")
    c.claim(HI_SAY, "GRPO's two runs are the same bit for bit (Δ = 0 on every seed",
            same and g28.mean == 0 and g28.up == 0 and g28.down == 0)
    da2, _ = row(c, HI_CMP, 0, "higher[algo=dapo,clip_high=0.2]")
    da28, _ = row(c, HI_CMP, 0, "higher[algo=dapo,clip_high=0.28]")
    de2, _ = row(c, HI_CMP, 1, "higher[algo=dapo,clip_high=0.2]")
    c.quote(HI_SAY, "(Δ = −0.043, se 0.009,\nwith the upper clip at 0.2; −0.039, se 0.012, at 0.28)",
            da2.mean, da2.se, None, da28.mean, da28.se, None)
    c.claim(HI_SAY, "DAPO ends below GRPO on every seed", da2.down == 5 and da28.down == 5 and de2.down == 5)
    c.quote(HI_SAY, "in entropy (Δ = −0.021, se 0.007,\nat 0.2)", de2.mean, de2.se, None)
    he = pair(c, HI_RUN, "entropy", "algo=dapo,clip_high=0.28", "algo=dapo,clip_high=0.2")
    c.quote(HI_SAY, "(DAPO at 0.28 against 0.2: +0.0091, se 0.0063, on 4 of 5 seeds", None, None,
            he.mean, he.se, he.up, five(he))
    c.claim(HI_SAY, "not resolved at two\nstandard errors", not he.resolved() and he.mean > 0)
    c.claim(HI_SAY, "clip-higher takes back only part of the\nentropy", 0 < he.mean < -de2.mean)
    _, cf2 = row(c, HI_CMP, 2, "higher[algo=dapo,clip_high=0.2]")
    _, cf28 = row(c, HI_CMP, 2, "higher[algo=dapo,clip_high=0.28]")
    c.quote(HI_SAY, "(0.0065 of them at 0.2, 0.0026 at\n0.28)", cf2, None, cf28, None)
    c.claim(HI_SAY, "The upper clip acts on few tokens here", cf2 < 0.01 and cf28 < 0.01)
    c.claim(HI_SAY, "clip-higher does not undo it", da28.down == 5 and not he.resolved())
    c.given(HI_SAY, "in 100 steps", "steps = 100 in the cell")

    # GSPO
    sq, _ = row(c, SEQ_CMP, 0, "seqratio[algo=gspo]")
    _, cg = row(c, SEQ_CMP, 1, "seqratio[algo=grpo]")
    _, cs = row(c, SEQ_CMP, 1, "seqratio[algo=gspo]")
    c.quote(SEQ_SAY, "(Δ = +0.0172, se 0.0049)", sq.mean, sq.se)
    c.claim(SEQ_SAY, "GSPO ends above GRPO on every seed", sq.up == 5)
    c.quote(SEQ_SAY, "0.480 of its tokens sit in clipped answers, against 0.039 of\nGRPO's tokens clipped", cs, cg)
    c.claim(SEQ_SAY, "it clips far more\noften", cs > 5 * cg)

    # value head
    keys = ["critic[algo=ppo,advantage=gae]", "critic[algo=ppo,advantage=group_norm]",
            "critic[algo=grpo,advantage=gae]", "critic[algo=grpo,advantage=group_norm]"]
    ms = [row(c, CR_CMP, 0, k)[1] for k in keys]
    ds = [row(c, CR_CMP, 0, k)[0] for k in keys[1:]]
    c.quote(CR_SAY, "within 0.0065 of each other", Val(max(ms) - min(ms), "range of the four means"))
    c.quote(CR_SAY, "(Δ from PPO: +0.0008,\n+0.0049, −0.0016, none resolved)", *[d.mean for d in ds])
    c.claim(CR_SAY, "none resolved", not any(d.resolved() for d in ds))
    _, ev_p = row(c, CR_CMP, 2, keys[0])
    _, ev_g = row(c, CR_CMP, 2, keys[2])
    c.quote(CR_SAY, "(−0.055 under PPO, −0.059 under GRPO)", ev_p, ev_g)
    c.claim(CR_SAY, "its explained variance is below zero", ev_p < 0 and ev_g < 0)
    c.given(CR_SAY, "answers of at most 4 tokens", "the add task: answer at most 4 tokens (cell 1)")
    c.given(CR_SAY, "the group\nmean of 8 answers", "group = 8, the default")
    c.claim(CR_SAY, "the group\nmean of 8 answers to the same prompt is as good a baseline here",
            not ds[0].resolved() and ev_p < 0)

    # summary table
    clip_gain = pair(c, MU_RUN, "eval_accuracy", "iterations=8,clip_high=0.2", "iterations=8,clip_high=100")
    c.quote(END, "| +0.165 (0.038), 5 of 5 |", clip_gain.mean, clip_gain.se, clip_gain.up, five(clip_gain))
    c.quote(END, "| −0.560 (0.033), 5 of 5 |", rl8.mean, rl8.se, rl8.down, five(rl8))
    c.quote(END, "| +0.091 (0.015), 5 of 5 |", og.mean, og.se, og.up, five(og))
    c.quote(END, "| −0.193 (0.031), 5 of 5 |", rg.mean, rg.se, rg.down, five(rg))
    c.quote(END, "| 0 (0), 0 of 5; +0.046 (0.009), 5 of 5 |", n0.mean, n0.se, n0.up, five(n0),
            n8.mean, n8.se, n8.up, five(n8))
    c.quote(END, "| −0.021 (0.007), 5 of 5 |", de2.mean, de2.se, de2.down, five(de2))
    c.given(END, "DAPO vs GRPO, clip_high 0.2", "settings")
    c.quote(END, "| +0.0172 (0.0049), 5 of 5 |", sq.mean, sq.se, sq.up, five(sq))
    c.quote(END, "| −0.0008 (0.0063) |", Val(-ds[0].mean, "-(group_norm - gae)"), ds[0].se)
    c.given(END, "clip at μ = 8 | accuracy, clip_high 0.2 vs 100", "settings")
    c.given(END, "RLOO k = 8 vs GRPO k = 0", "settings")
    c.given(END, "OPMD vs GRPO, both k = 8", "settings")
    c.given(END, "R²VPO vs GRPO, both k = 8", "settings")
    c.given(END, "| k = 0; k = 8 |", "settings")
