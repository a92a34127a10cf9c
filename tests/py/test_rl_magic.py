"""%%rl end to end (jupyter_client): every bad input is one error with its exact evalue
(cell:LINE:COL at the offending key or value) and leaves the session as it was (nothing
trained or stored: no chart, %who unchanged); a small run shows the chart (display_data,
update_display_data with the same id, final frame), the summary table and stores policy
and run; a sweep over a reward parameter makes one run per point named NAME[c=...];
%threads 1 and 2 give identical metrics (a lone run, whose kernels use the session's
threads, and a 2-point sweep); a reward that turns inf stops its run with the step named,
keeps the partial run and lets the other sweep points finish; the points of a sweep share
their random streams (scaling a reward under GRPO samples the same answers); an interrupt
stops at a step boundary keeping the partial run and its policy.
"""
import csv
import os
import re
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 120
CHART_MIMES = {"application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"}
# the final frame: the PNG rasterized from the SVG replaces it (magics/mag_bridge.h)
FINAL_MIMES = {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
TINY = "embed = 8\nhidden = 32\nbatch = 64\n"
SETUP = [
    "%task add add digits=2",
    "%task tri triage",
    "%%policy base\ntask = add\nsft_steps = 150\nnoise = 0.6\n" + TINY,
    "%%policy ctx4\ntask = add\nsft_steps = 0\ncontext = 4\n" + TINY,
    "%%reward exact c=0.01\ncorrect - c * length",
    "%%reward nodef\ncorrect - k * length",
    "%%reward tri_r\noutcome",
]
# a short run: few prompts, few steps
SMALL = "batch = 4\ngroup = 4\nsteps = 6\neval_every = 3\neval_prompts = 32\n"


def define(k):
    for c in SETUP:
        ok(k, c)


@pytest.fixture(scope="module")
def rlk(kernel):
    define(kernel)
    return kernel


BAD = [
    ("%%rl x\nfrom = base\nreward = exact\nalgo = grop",
     "ValueError",
     "cell:4:8: unknown value 'grop' for 'algo' (did you mean 'grpo'?); expected reinforce, "
     "rloo, grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, nft or r2vpo"),
    ("%%rl x\nfrom = bsae\nreward = exact",
     "NameError", "cell:2:8: unknown policy 'bsae' (did you mean 'base'?)"),
    ("%%rl x\nfrom = base\nreward = exat",
     "NameError", "cell:3:10: unknown reward 'exat' (did you mean 'exact'?)"),
    ("%%rl x\nfrom = base\nreward = exact\neval_reward = exakt",
     "NameError", "cell:4:15: unknown reward 'exakt' (did you mean 'exact'?)"),
    ("%%rl x\nfrom = base\nreward = exact\ntask = ad",
     "NameError", "cell:4:8: unknown task 'ad' (did you mean 'add'?)"),
    # unknown keys: did-you-mean over the schema keys and the reward's parameters
    ("%%rl x\nfrom = base\nreward = exact\nstpes = 3",
     "ValueError", "cell:4:1: unknown key 'stpes' (did you mean 'steps'?)"),
    ("%%rl x\nfrom = base\nreward = exact\ncc = 3",
     "ValueError", "cell:4:1: unknown key 'cc' (did you mean 'c'?)"),
    ("%%rl x\nfrom = base\nreward = nodef\nc = 3",
     "ValueError", "cell:4:1: unknown key 'c'"),
    ("%%rl x\nfrom = base\nreward = exact\nc = [0.1, \"a\"]",
     "ValueError", "cell:4:11: 'c' expects a number, got string \"a\""),
    ("%%rl x\nfrom = base\nreward = exact\nc = []",
     "ValueError", "cell:4:5: sweep list for 'c' is empty"),
    ("%%rl x\nfrom = base\nreward = exact\nc =",
     "SyntaxError", "cell:4:4: expected a value near <eof>"),
    ("%%rl x\nfrom = base\nreward = exact\nc = [0.1, 1]\nc = 2",
     "SyntaxError", "cell:5:1: duplicate key 'c' (first set at line 4)"),
    ("%%rl x\nreward = exact",
     "ValueError", "cell:1:3: missing required key 'from'"),
    # incompatible options (rt_rl_config_check), caret at the key; iterations (and its
    # older name epochs) at the value
    ("%%rl x\nfrom = base\nreward = exact\nalgo = rloo\nepochs = 3",
     "ValueError",
     "cell:5:10: epochs = 3 with algo = rloo: its loss has no importance ratio, so a second "
     "update on the same samples would be off-policy with nothing to correct it; use algo = "
     "grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, nft or r2vpo"),
    ("%%rl x\nfrom = base\nreward = exact\nalgo = reinforce\niterations = 2",
     "ValueError",
     "cell:5:14: iterations = 2 with algo = reinforce: its loss has no importance ratio, so a "
     "second update on the same samples would be off-policy with nothing to correct it; use "
     "algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, nft or r2vpo"),
    ("%%rl x\nfrom = base\nreward = exact\nalgo = rloo\ngroup = 1",
     "ValueError",
     "cell:5:1: group = 1 with algo = rloo: advantages compare the samples of a prompt, use "
     "group >= 2"),
    ("%%rl x\nfrom = base\nreward = exact\nregularizer = chi2\nkl = 0.1",
     "ValueError",
     "cell:5:1: kl = 0.1 has no effect with regularizer = chi2; give its coefficient as "
     "chi2 = 0.1"),
    ("%%rl x\nfrom = base\nreward = exact\nregularizer = chi2\nchi2 = 0.1",
     "ValueError",
     "cell:4:1: regularizer = chi2 enumerates every answer exactly: answers of up to 4 tokens "
     "over 32 tokens need 30784 prefix states per prompt (limit 4096); use a task with "
     "shorter answers"),
    # rewards and tasks
    ("%%rl x\nfrom = base\nreward = tri_r",
     "ValueError",
     "cell:3:10: reward 'tri_r' reads feature 'outcome', which task features (correct, "
     "partial, length, format, eos) do not include"),
    ("%%rl x\nfrom = base\nreward = nodef",
     "ValueError",
     "cell:3:10: parameter 'k' of reward 'nodef' has no value: give it here (k = ...) or in "
     "the header (%%reward nodef k=...)"),
    ("%%rl x\nfrom = base\nreward = exact\neval_reward = nodef",
     "ValueError",
     "cell:4:15: parameter 'k' of eval_reward 'nodef' has no value (give it a default in the "
     "header: %%reward nodef k=...)"),
    ("%%rl\nfrom = base\nreward = exact",
     "ValueError", "cell:1:3: %%rl needs a NAME: %%rl NAME, then key = value lines"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error_nothing_stored(rlk, code, ename, evalue):
    before = who(rlk)
    rep, msgs = rlk.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    types = [m["msg_type"] for m in outputs(msgs)]
    assert types == ["error"], types  # no chart: nothing trained
    assert who(rlk) == before


def test_small_run_chart_summary_and_stored(rlk):
    msgs = outputs(ok(rlk, "%%rl small\nfrom = base\nreward = exact\n" + SMALL))
    assert msgs[0]["msg_type"] == "display_data"
    did = msgs[0]["content"]["transient"]["display_id"]
    chart = [m for m in msgs if m["content"].get("transient", {}).get("display_id") == did]
    assert all(set(m["content"]["data"]) == CHART_MIMES for m in chart[:-1])
    assert set(chart[-1]["content"]["data"]) == FINAL_MIMES
    assert [m["msg_type"] for m in chart[1:]] == ["update_display_data"] * (len(chart) - 1)
    assert len(chart) >= 2
    final = chart[-1]["content"]["data"]["text/plain"]
    for panel in ("reward", "accuracy", "kl_ref"):
        assert re.search(rf"^{panel}$", final, re.M), final
    assert "(step 6)" in final
    after = msgs[msgs.index(chart[-1]) + 1:]
    summary = [m for m in after if m["msg_type"] == "display_data"]
    assert len(summary) == 1
    text = summary[0]["content"]["data"]["text/plain"]
    header = text.splitlines()[0].split()
    assert header == ["run", "status", "steps", "reward", "accuracy", "eval_accuracy", "kl_ref",
                      "kl_est", "entropy", "length"], header
    assert re.search(r"^small\s+finished\s+6\s", text, re.M), text
    out = stream_text(after)
    assert "policy small: grpo from base on add, reward exact (c=0.01), 6 steps\n" in out, out
    w = who(rlk)
    assert re.search(r"^  small  grpo from base on add", w, re.M), w
    runs = outputs(ok(rlk, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(r"^small\s+finished\s+6\s+add", runs, re.M), runs
    ev = outputs(ok(rlk, "%eval small k=2 n=16"))
    assert "greedy" in ev[0]["content"]["data"]["text/plain"]


def test_grpo_iterations_clip(rlk):
    """iterations = mu updates per batch on GRPO: with mu = 4 and a large lr the ratio
    leaves 1 +- clip and clip_frac > 0 (in the summary, which shows clip_frac when the cell
    sets iterations, and in %export); mu = 1 never clips (rho = 1)."""
    msgs = outputs(ok(rlk, "%%rl mu\nfrom = base\nreward = exact\nlr = 0.05\n"
                           "iterations = [1, 4]\n" + SMALL))
    text = [m for m in msgs if m["msg_type"] == "display_data"][-1]["content"]["data"][
        "text/plain"]
    header = text.splitlines()[0].split()
    assert "clip_frac" in header, header
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "mu.csv")
        ok(rlk, f'%export "{p}" mu[iterations=1] mu[iterations=4]')
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    clip = {}
    for r in rows:
        clip[r["run"]] = max(clip.get(r["run"], 0.0), float(r["clip_frac"]))
    assert clip["mu[iterations=1]"] == 0.0, clip
    assert clip["mu[iterations=4]"] > 0.0, clip
    assert {r["iterations"] for r in rows} == {"1", "4"}


def test_epochs_is_iterations(rlk):
    """epochs, PPO's older name, is iterations: the same runs bit for bit (metrics as
    %export writes them, %.17g), and ppo's default is 4 updates per batch.  One cell name
    for all: the streams come from it."""
    runs = {}
    for name, key in (("ea", "epochs = 2"), ("eb", "iterations = 2"), ("ec", ""),
                      ("ed", "iterations = 4")):
        ok(rlk, f"%%rl mu_e\nfrom = base\nreward = exact\nalgo = ppo\n{key}\n" + SMALL)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" mu_e')
            with open(p, newline="") as f:
                rows = list(csv.DictReader(f))
        runs[name] = [{k: v for k, v in r.items()
                       if k not in ("run", "wall", "epochs", "iterations")} for r in rows]
    assert runs["ea"] == runs["eb"]
    assert runs["ec"] == runs["ed"]
    assert runs["ea"] != runs["ec"]


def test_asymmetric_clip(rlk):
    """clip_low / clip_high: the two sides of the ratio clip (DAPO's clip-higher); with
    clip_high = clip_low = clip the run is the symmetric one bit for bit, a wider upper
    clip changes it once the clip acts (iterations > 1)."""
    small = "batch = 4\ngroup = 4\nsteps = 4\neval_every = 4\neval_prompts = 32\n"
    runs = {}
    for name, keys in (("sym", "clip = 0.2"), ("same", "clip_low = 0.2\nclip_high = 0.2"),
                       ("higher", "clip_high = 0.28"), ("trl", "epsilon_high = 0.28")):
        ok(rlk, "%%rl asym\nfrom = base\nreward = exact\niterations = 3\n" + keys + "\n"
                + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" asym')
            with open(p, newline="") as f:
                runs[name] = [{k: v for k, v in r.items()
                               if k not in ("wall", "clip", "clip_low", "clip_high")}
                              for r in csv.DictReader(f)]
    assert runs["sym"] == runs["same"]
    assert runs["higher"] == runs["trl"]
    assert runs["higher"] != runs["sym"]
    rep, _ = rlk.execute("%%rl asym2\nfrom = base\nreward = exact\nalgo = reinforce\n"
                         "clip_low = 0.1\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:5:1: clip_low has no effect with algo = reinforce (a plain policy gradient: no "
        "ratio to clip)")


METRICS = ("step", "tokens", "reward", "accuracy", "eval_accuracy", "kl_ref", "kl_est", "entropy",
           "length", "adv_mean", "grad_norm", "clip_frac", "loss")


def test_parts_as_keys(rlk):
    """advantage, scale_rewards and loss_agg replace a recipe's parts: grpo with drgrpo's
    parts is drgrpo bit for bit, grpo with token_mean is bnpo; errors at the key."""
    small = "batch = 4\ngroup = 4\nsteps = 4\neval_every = 4\neval_prompts = 32\n"

    def run(keys):
        ok(rlk, "%%rl parts\nfrom = base\nreward = exact\n" + keys + "\n" + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" parts')
            with open(p, newline="") as f:
                return [{k: v for k, v in r.items() if k in METRICS} for r in csv.DictReader(f)]
    dr = run("algo = drgrpo")
    assert run("advantage = group_center\nloss_agg = seq_mean_token_sum_norm") == dr
    assert run("scale_rewards = none\nloss_agg = seq_mean_token_sum_norm") == dr
    assert run("algo = bnpo") == run("loss_agg = token_mean")
    # TRL's loss_type names the aggregation with its own values
    assert run("advantage = group_center\nloss_type = dr_grpo") == dr
    assert run("loss_type = dapo") == run("algo = bnpo")
    rep, _ = rlk.execute("%%rl parts3\nfrom = base\nreward = exact\nloss_type = cispo\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:4:13: unknown value 'cispo' for 'loss_type'; expected grpo, dr_grpo, dapo or bnpo")
    rep, _ = rlk.execute("%%rl parts3\nfrom = base\nreward = exact\nloss_type = [dapo, bnpo]\n"
                         + small)
    assert rep["content"]["evalue"] == (
        "cell:4:20: loss_type values dapo and bnpo are the same loss_agg (token_mean)")
    assert run("scale_rewards = batch") != run("algo = grpo")
    # GSPO: grpo with a sequence ratio, GSPO's clips and 4 updates; TRL's name for ratio
    gs = run("algo = gspo")
    assert run("ratio = sequence\nclip_low = 3e-4\nclip_high = 4e-4\niterations = 4") == gs
    assert run("importance_sampling_level = sequence\nclip_low = 3e-4\nepsilon_high = 4e-4\n"
               "iterations = 4") == gs
    assert run("algo = gspo\nratio = token") != gs
    ci = run("algo = cispo")
    assert len(ci) == 4 and all(r["loss"] != "nan" for r in ci)
    rep, _ = rlk.execute("%%rl parts3\nfrom = base\nreward = exact\nalgo = rloo\n"
                         "ratio = sequence\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:5:1: ratio with algo = rloo: its loss has no importance ratio (use algo = grpo, "
        "drgrpo, ppo, bnpo, gspo, cispo or dapo)")
    ok(rlk, "%%rl parts2\nfrom = base\nreward = exact\nloss_agg = [token_mean, seq_mean]\n"
            + small)
    listing = who(rlk)
    assert "  parts2[loss_agg=token_mean] " in listing, listing
    rep, _ = rlk.execute("%%rl parts3\nfrom = base\nreward = exact\nalgo = rloo\n"
                         "scale_rewards = batch\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:5:1: scale_rewards has no effect with advantage = loo (only group_norm divides by "
        "a std)")
    rep, _ = rlk.execute("%%rl parts3\nfrom = base\nreward = exact\nadvantage = gea\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:4:13: unknown value 'gea' for 'advantage' (did you mean 'gae'?); expected "
        "baseline, loo, group_norm, group_center, rtg or gae")


def test_ppo_value_head(rlk):
    """algo = ppo has a value head on the policy's trunk and GAE: its runs have a finite
    value_loss and explained_var in %export (NaN for grpo, which has no head); vf_coef
    is a sweepable key that changes the run; advantage = gae gives grpo the head; the head's
    keys with a recipe without it are an error at the key."""
    small = "batch = 4\ngroup = 4\nsteps = 4\neval_every = 4\neval_prompts = 32\n"

    def run(name, keys):
        ok(rlk, f"%%rl {name}\nfrom = base\nreward = exact\n" + keys + "\n" + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" {name}')
            with open(p, newline="") as f:
                return list(csv.DictReader(f))
    ppo = run("vh", "algo = ppo")
    assert len(ppo) == 4
    for r in ppo:
        assert float(r["value_loss"]) >= 0 and float(r["explained_var"]) <= 1, r
    g = run("vg", "algo = grpo")
    assert all(r["value_loss"] == "nan" and r["explained_var"] == "nan" for r in g)
    ga = run("vga", "algo = grpo\nadvantage = gae\nvf_coef = 0.5\ngae_lambda = 1\ngamma = 0.9\n"
                    "value_clip = 0.5")
    assert all(r["value_loss"] != "nan" for r in ga)
    # TRL's PPOConfig names: lam = gae_lambda, cliprange_value = value_clip
    drop = ("run", "wall", "gae_lambda", "value_clip", "lam", "cliprange_value")
    native = run("vt", "algo = ppo\ngae_lambda = 0.9\nvalue_clip = 0.3")
    trl = run("vt", "algo = ppo\nlam = 0.9\ncliprange_value = 0.3")
    assert [{k: v for k, v in r.items() if k not in drop} for r in native] == \
        [{k: v for k, v in r.items() if k not in drop} for r in trl]
    default = run("vt", "algo = ppo")  # the same cell name: the same streams
    assert [r["loss"] for r in native] != [r["loss"] for r in default]
    rep, _ = rlk.execute("%help trl")
    text = rep["content"]["payload"][0]["data"]["text/plain"]
    assert "%%rl: lam is TRL's name for gae_lambda" in text, text
    assert "%%rl: cliprange_value is TRL's name for value_clip" in text, text
    ok(rlk, "%%rl vs\nfrom = base\nreward = exact\nalgo = ppo\nvf_coef = [0, 0.1]\n" + small)
    listing = who(rlk)
    assert "  vs[vf_coef=0] " in listing and "  vs[vf_coef=0.1] " in listing, listing
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "e.csv")
        ok(rlk, f'%export "{p}" vs[vf_coef=0] vs[vf_coef=0.1]')
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    runs = {}
    for r in rows:
        runs.setdefault(r["run"], []).append(r["loss"])
    assert len(runs) == 2 and len(set(tuple(v) for v in runs.values())) == 2, runs
    for keys, evalue in (
            ("algo = grpo\nvf_coef = 0.5",
             "cell:5:1: vf_coef has no effect with algo = grpo (no value head: only advantage "
             "= gae, ppo's, has one)"),
            ("algo = ppo\nadvantage = rtg\ngamma = 0.9",
             "cell:6:1: gamma has no effect with advantage = rtg (no value head: only "
             "advantage = gae, ppo's, has one)"),
            ("algo = ppo\ngae_lambda = 1.5",
             "cell:5:14: 'gae_lambda' must be in [0, 1]")):
        rep, _ = rlk.execute("%%rl vbad\nfrom = base\nreward = exact\n" + keys + "\n" + small)
        assert rep["content"]["status"] == "error"
        assert rep["content"]["evalue"] == evalue


def test_offpolicy_and_dapo_keys(rlk):
    """staleness, minibatches, filter_groups, entropy_coef: each runs from a cell (staleness
    a sweep, shown in the staleness column); dapo is grpo with its parts bit for bit; a
    plain policy gradient accepts stale data (nothing corrects it); errors at the key."""
    small = "batch = 4\ngroup = 4\nsteps = 4\neval_every = 4\neval_prompts = 32\n"
    cols = METRICS + ("staleness", "groups_kept", "clip_frac_high")

    def run(name, keys):
        ok(rlk, f"%%rl {name}\nfrom = base\nreward = exact\n" + keys + "\n" + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" {name}')
            with open(p, newline="") as f:
                return [{k: v for k, v in r.items() if k in cols or k == "run"}
                        for r in csv.DictReader(f)]
    st = run("stale", "staleness = [0, 2]")
    assert {(r["run"], r["staleness"]) for r in st} == {
        ("stale[staleness=0]", "0"), ("stale[staleness=2]", "2")}
    # steps 1..3 of staleness 2 sample the initial policy, the reference: kl_ref 0
    assert [r["kl_ref"] for r in st if r["run"] == "stale[staleness=2]"][:3] == ["0"] * 3
    assert len(run("stale_pg", "algo = reinforce\nstaleness = 1")) == 4
    mb = run("mb", "minibatches = 2")
    assert len(mb) == 4 and all(r["loss"] != "nan" for r in mb)
    fg = run("fg", "filter_groups = true")
    assert all(0 <= float(r["groups_kept"]) <= 4 for r in fg)
    # one cell name for the comparisons: the streams come from it
    assert run("cmp", "filter_groups = false") == run("cmp", "")
    assert len(run("ent", "entropy_coef = 0.01")) == 4
    assert run("cmp", "algo = dapo") == run(
        "cmp", "loss_agg = token_mean\nclip_low = 0.2\nclip_high = 0.28\nminibatches = 4\n"
        "filter_groups = true")
    assert run("cmp", "algo = dapo") != run("cmp", "algo = bnpo")
    bad = [("minibatches = 5", "cell:4:1: minibatches = 5 is more than batch = 4: each part "
                               "is made of whole groups (at least one prompt)"),
           ("algo = reinforce\nfilter_groups = true\ngroup = 1",
            "cell:5:1: filter_groups with group = 1: a group of one sample always has equal "
            "rewards, every group would be dropped; use group >= 2"),
           ("staleness = -1", "cell:4:13: 'staleness' must be in [0, 1000]"),
           ("entropy_coef = -0.5", "cell:4:16: 'entropy_coef' must be >= 0"),
           ("minibatches = 0", "cell:4:15: 'minibatches' must be in [1, 1000000]"),
           ("filter_groups = maybe", "cell:4:17: 'filter_groups' expects true or false, got "
                                     "name 'maybe'")]
    bad.append(("algo = rloo\nminibatches = 2",
                "cell:5:1: minibatches = 2 with algo = rloo: its loss has no importance ratio, "
                "so the updates after the first would be off-policy with nothing to correct "
                "them; use algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, "
                "nft or r2vpo"))
    for keys, msg in bad:
        before = who(rlk)
        rep, _ = rlk.execute("%%rl offp\nfrom = base\nreward = exact\n" + keys + "\n"
                             + small.replace("group = 4\n", "" if "group" in keys else
                                             "group = 4\n"))
        assert rep["content"]["status"] == "error"
        assert rep["content"]["evalue"] == msg, (keys, rep["content"]["evalue"])
        assert who(rlk) == before


def test_trl_names(rlk):
    """TRL's names (num_generations, num_iterations, beta, epsilon) are the keys group,
    iterations, kl, clip: the same run bit for bit, a sweep named by the key, both names
    an error at the second, and %help trl lists them."""
    runs = {}
    cells = {"native": "group = 4\niterations = 2\nkl = 0.05\nclip = 0.3\n",
             "trl": "num_generations = 4\nnum_iterations = 2\nbeta = 0.05\nepsilon = 0.3\n"}
    small = "batch = 4\nsteps = 6\neval_every = 3\neval_prompts = 32\n"
    for name, keys in cells.items():
        ok(rlk, "%%rl trl_a\nfrom = base\nreward = exact\n" + keys + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" trl_a')
            with open(p, newline="") as f:
                runs[name] = [{k: v for k, v in r.items() if k != "wall"}
                              for r in csv.DictReader(f)]
    assert runs["native"] == runs["trl"] and len(runs["trl"]) == 6
    assert runs["trl"][0]["kl"] == "0.05" and runs["trl"][0]["group"] == "4"
    ok(rlk, "%%rl trl_b\nfrom = base\nreward = exact\nbeta = [0, 0.1]\n" + small)
    listing = who(rlk)
    assert "  trl_b[kl=0] " in listing and "  trl_b[kl=0.1] " in listing, listing
    rep, _ = rlk.execute("%%rl trl_c\nfrom = base\nreward = exact\nkl = 0.1\nbeta = 0.2\n"
                         + small)
    assert rep["content"]["evalue"] == (
        "cell:5:1: 'kl' and 'beta' name the same key ('kl'; TRL's name), both set (first at "
        "line 4): keep one")
    assert "trl_c" not in who(rlk)
    # errors name the key as written, at its line
    rep, _ = rlk.execute("%%rl trl_d\nfrom = base\nreward = exact\nalgo = rloo\n"
                         "num_iterations = 3\n" + small)
    assert rep["content"]["evalue"].startswith(
        "cell:5:18: num_iterations = 3 with algo = rloo: its loss has no importance ratio")
    rep, _ = rlk.execute("%%rl trl_d\nfrom = base\nreward = exact\nalgo = rloo\n"
                         "epsilon_high = 0.28\n" + small)
    assert rep["content"]["evalue"] == (
        "cell:5:1: epsilon_high has no effect with algo = rloo (a plain policy gradient: no "
        "ratio to clip)")
    rep, _ = rlk.execute("%help trl")
    text = rep["content"]["payload"][0]["data"]["text/plain"]  # the pager
    for line in ("%%rl: num_generations is TRL's name for group",
                 "%%rl: num_iterations is TRL's name for iterations",
                 "%%rl: beta is TRL's name for kl", "%%rl: epsilon is TRL's name for clip",
                 "%%rl: epsilon_high is TRL's name for clip_high",
                 "%%rl: loss_type is TRL's name for loss_agg",
                 "%%rl: importance_sampling_level is TRL's name for ratio"):
        assert line in text, text


K1_WARNING = (
    "with algo = {algo} puts the k1 estimator in the loss, whose gradient has zero mean: the "
    "penalty does not pull the policy toward the reference; use kl_in = reward (k1 in the "
    "reward: the gradient of KL(pi || ref)) or kl_estimator = k2 (in the loss: the same "
    "gradient)\n")


def test_k1_in_loss_warns_once(rlk):
    """kl > 0 with k1 in the loss (rloo's default) trains but warns, once per cell, at the
    value of kl (or of kl_estimator when the cell chose k1); k1 in the reward, k2 in the
    loss and grpo's k3 do not warn."""
    err = stream_text(outputs(ok(rlk, "%%rl w1\nfrom = base\nreward = exact\nalgo = rloo\n"
                                      "kl = [0.5, 1]\n" + SMALL)), "stderr")
    assert err == ("cell:5:6: warning: kl = 0.5 " + K1_WARNING.format(algo="rloo")
                   + "kl = [0.5, 1]\n     ^\n"), err
    err = stream_text(outputs(ok(rlk, "%%rl w2\nfrom = base\nreward = exact\nalgo = grpo\n"
                                      "kl = 0.5\nkl_estimator = k1\n" + SMALL)), "stderr")
    assert err == ("cell:6:16: warning: kl = 0.5 " + K1_WARNING.format(algo="grpo")
                   + "kl_estimator = k1\n               ^\n"), err
    for body in ("algo = rloo\nkl = 0.5\nkl_in = reward", "algo = rloo\nkl = 0.5\n"
                 "kl_estimator = k2", "kl = 0.5", "algo = rloo"):
        err = stream_text(outputs(ok(rlk, f"%%rl w3\nfrom = base\nreward = exact\n{body}\n"
                                          + SMALL)), "stderr")
        assert "warning" not in err, (body, err)


def test_reference_of_another_context(rlk):
    """A reference only needs the policy's vocabulary (here a 4-token context for an
    8-token policy: each model reads the answers its own way)."""
    ok(rlk, "%%rl c4\nfrom = base\nreward = exact\nreference = ctx4\n" + SMALL)
    assert "c4" in who(rlk)


def test_sweep_over_reward_parameter(rlk):
    msgs = outputs(ok(rlk, "%%rl sw\nfrom = base\nreward = exact\nc = [0.1, 1]\n" + SMALL))
    out = stream_text(msgs)
    assert "policy sw[c=0.1]: grpo from base on add, reward exact (c=0.1), 6 steps\n" in out, out
    assert "policy sw[c=1]: grpo from base on add, reward exact (c=1), 6 steps\n" in out, out
    legend = [m for m in msgs if m["msg_type"] == "update_display_data"][-1]
    # the legend names what varies, not the run (magics/mag_train.h)
    assert "\n  c=0.1  " in legend["content"]["data"]["text/plain"]
    runs = outputs(ok(rlk, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(r"^sw\[c=0\.1\]\s+finished\s+6", runs, re.M), runs
    assert re.search(r"^sw\[c=1\]\s+finished\s+6", runs, re.M), runs
    # the parameter really reaches the reward: reward = correct - c*length differs
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "sw.csv")
        ok(rlk, f'%export "{p}" sw[c=0.1] sw[c=1]')
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    first = {r["run"]: r for r in rows if r["step"] == "1"}
    acc_len = {k: (float(v["accuracy"]), float(v["length"])) for k, v in first.items()}
    for name, c in (("sw[c=0.1]", 0.1), ("sw[c=1]", 1.0)):
        a, n = acc_len[name]
        assert float(first[name]["reward"]) == pytest.approx(a - c * n, abs=1e-9)


def export(k, threads, path):
    define(k)
    ok(k, f"%threads {threads}")
    ok(k, "%%rl one\nfrom = base\nreward = exact\nkl = 0.05\n" + SMALL)
    ok(k, "%%rl two\nfrom = base\nreward = exact\nalgo = [rloo, ppo]\n" + SMALL)
    ok(k, f'%export "{path}" one two[algo=rloo] two[algo=ppo]')
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    wall = rows[0].index("wall")
    return [[v for i, v in enumerate(r) if i != wall] for r in rows]


def test_threads_1_and_2_identical(new_kernel):
    with tempfile.TemporaryDirectory() as d:
        one = export(new_kernel(), 1, os.path.join(d, "one.csv"))
        two = export(new_kernel(), 2, os.path.join(d, "two.csv"))
    assert len(one) == 1 + 3 * 6
    assert one == two


def test_inf_reward_stops_run_keeps_partial(rlk):
    ok(rlk, "%%reward boom\n1e308 * 10 * correct")
    before = who(rlk)
    rep, msgs = rlk.execute("%%rl nan\nfrom = base\nreward = boom\nbatch = 1\ngroup = 2\n"
                            "steps = 25\neval_every = 0\nseed = [1, 2, 3, 4]", timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error"
    assert c["ename"] == "RuntimeError"
    m = re.fullmatch(r"cell:1:3: run '(nan\[seed=[1-4]\])' failed: rl: reward is inf at step "
                     r"(\d+) \(the other sweep points finished\)", c["evalue"])
    assert m, c["evalue"]
    bad, step = m.group(1), int(m.group(2))
    assert 1 < step < 25
    runs = outputs(ok(rlk, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(rf"^{re.escape(bad)}\s+failed\s+{step}\s", runs, re.M), runs
    done = re.findall(r"^(nan\[seed=[1-4]\])\s+finished\s+25\s", runs, re.M)
    assert done, runs  # the other points finished
    w = who(rlk).split("runs:")[0]
    assert bad not in w  # no policy for the failed point
    assert all(d in w for d in done) and w != before.split("runs:")[0]
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "nan.csv")
        ok(rlk, f'%export "{p}" {bad}')
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, step))  # the partial run


def test_sweep_points_share_streams(rlk):
    """Common random numbers: points of one seed see the same prompts and samples, so
    scaling the reward under GRPO (std-normalized advantages) gives the same answers."""
    ok(rlk, "%%reward scaled c=1\nc * partial")
    ok(rlk, "%%rl crn\nfrom = base\nreward = scaled\nc = [1, 10]\n" + SMALL)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "crn.csv")
        ok(rlk, f'%export "{p}" crn[c=1] crn[c=10]')
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f))
    a = [r for r in rows if r["run"] == "crn[c=1]"]
    b = [r for r in rows if r["run"] == "crn[c=10]"]
    assert len(a) == len(b) == 6
    for x, y in zip(a, b):
        assert (x["accuracy"], x["tokens"], x["length"]) == (y["accuracy"], y["tokens"], y["length"])
        assert float(y["reward"]) == pytest.approx(10 * float(x["reward"]), rel=1e-12)
    assert any(float(x["reward"]) > 0 for x in a)  # some partial credit: real updates


def test_interrupt_keeps_partial_run(new_kernel):
    k = new_kernel()
    define(k)
    k.flush()
    msg_id = k.kc.execute("%%rl long\nfrom = base\nreward = exact\nbatch = 4\ngroup = 4\n"
                          "steps = 100000\neval_every = 0\n")
    deadline = time.monotonic() + 60
    seen = False
    while not seen and time.monotonic() < deadline:
        m = k.kc.get_iopub_msg(timeout=60)
        seen = m["parent_header"].get("msg_id") == msg_id and \
            m["msg_type"] == "update_display_data"
    assert seen
    k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
    c = k.reply(msg_id, timeout=30)["content"]
    assert c["status"] == "error" and c["ename"] == "Interrupted", c
    m = re.fullmatch(r"interrupted at step (\d+) of 100000 \(long\); the partial run and its "
                     r"policy are kept", c["evalue"])
    assert m, c["evalue"]
    step = int(m.group(1))
    assert 0 < step < 100000
    runs = outputs(ok(k, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(rf"^long\s+interrupted\s+{step}\s+add", runs, re.M), runs
    assert "long" in who(k).split("runs:")[0]


def test_seed_paper_recipes(rlk):
    """opmd, asymre, bapo and nft (issue 18's seed papers) run from %%rl: opmd and asymre
    accept iterations > 1 (their losses are meant for stale data), and at one update
    opmd (any tau: the proximal term is 0 at rho = 1) and asymre with shift 0 are the
    plain policy gradient with group_center / token_mean bit for bit (kl_est aside: their
    estimator is k2); bapo runs its two updates, and with one it is bnpo; nft runs on a 0/1 reward and fails the
    step on another; each recipe's coefficient is refused with another algo."""
    small = "batch = 4\ngroup = 4\nsteps = 4\neval_every = 4\neval_prompts = 32\n"
    ok(rlk, "%%reward short\nlength <= 2")  # 0 or 1

    def run(keys, reward="exact", name="sp"):
        ok(rlk, f"%%rl {name}\nfrom = base\nreward = {reward}\n" + keys + "\n" + small)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "e.csv")
            ok(rlk, f'%export "{p}" {name}')
            with open(p, newline="") as f:
                return [{k: v for k, v in r.items() if k in METRICS and k != "kl_est"}
                        for r in csv.DictReader(f)]
    pg = run("algo = rloo\nadvantage = group_center\nloss_agg = token_mean")
    op = run("algo = opmd")
    assert len(op) == 4 and all(r["loss"] != "nan" for r in op)
    assert op == pg
    assert run("algo = opmd\nopmd_tau = 0.5") == pg
    assert run("algo = asymre\nasymre_shift = 0") == pg
    assert run("algo = asymre") != pg
    assert run("algo = opmd\niterations = 2\nopmd_tau = 0.5") != pg
    assert len(run("algo = asymre\niterations = 3")) == 4
    ba = run("algo = bapo")
    assert len(ba) == 4 and all(r["loss"] != "nan" for r in ba)
    # one update: rho = 1 sits inside any bounds, so bapo is bnpo (GRPO, token mean)
    assert run("algo = bapo\niterations = 1\nbapo_target = 0.9") == run("algo = bnpo")
    # r2vpo: one update keeps rho = 1, where its term is bnpo's (the multiplier aside)
    assert run("algo = r2vpo\niterations = 1") == run("algo = bnpo")
    r2 = run("algo = r2vpo\nstaleness = 2")
    assert len(r2) == 4 and all(r["loss"] != "nan" for r in r2) and r2 != run("algo = bnpo")
    nf = run("algo = nft", reward="short")
    assert len(nf) == 4 and all(r["loss"] != "nan" for r in nf)
    assert run("algo = nft\nnft_eps = 0.5", reward="short") == nf  # on-policy: the floor is idle
    for keys, evalue in [
        ("opmd_tau = 0.2", "cell:4:1: opmd_tau has no effect with algo = grpo (it is a "
         "coefficient of algo = opmd)"),
        ("algo = opmd\nasymre_shift = 0.2", "cell:5:1: asymre_shift has no effect with algo = "
         "opmd (it is a coefficient of algo = asymre)"),
        ("bapo_target = 0.3", "cell:4:1: bapo_target has no effect with algo = grpo (it is a "
         "coefficient of algo = bapo)"),
        ("algo = bapo\nnft_eps = 0.5", "cell:5:1: nft_eps has no effect with algo = bapo (it is "
         "a coefficient of algo = nft)"),
        ("algo = opmd\nclip = 0.3", "cell:5:1: clip has no effect with algo = opmd (a plain "
         "policy gradient: no ratio to clip)"),
        ("algo = nft\nclip_high = 0.3", "cell:5:1: clip_high has no effect with algo = nft (its "
         "loss clips no ratio)"),
        ("algo = bapo\nratio = sequence", "cell:5:1: ratio with algo = bapo: its loss has its "
         "own form, not a token or sequence ratio to choose (use algo = grpo, drgrpo, ppo, "
         "bnpo, gspo, cispo or dapo)"),
        ("algo = nft\nadvantage = group_norm", "cell:5:1: advantage with algo = nft: its loss "
         "reads the advantage as R_i - r_q (the group's accuracy), group_center's"),
        ("r2vpo_lambda = 0.1", "cell:4:1: r2vpo_lambda has no effect with algo = grpo (it is "
         "a coefficient of algo = r2vpo)"),
        ("algo = r2vpo\nclip = 0.3", "cell:5:1: clip has no effect with algo = r2vpo (its "
         "loss clips no ratio)"),
        ("algo = bapo\nbapo_high_max = 1.1", "cell:5:1: bapo_high_max = 1.1 must be >= 1 + "
         "clip_high = 1.2 (c_high's range)"),
    ]:
        before = who(rlk)
        rep, _ = rlk.execute("%%rl bad\nfrom = base\nreward = exact\n" + keys + "\n" + small)
        assert rep["content"]["evalue"] == evalue, rep["content"]["evalue"]
        assert who(rlk) == before
    # nft on a reward that is not 0 or 1: the step fails naming the reward
    rep, _ = rlk.execute("%%rl nfx\nfrom = base\nreward = exact\nalgo = nft\n" + small,
                         timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == "RuntimeError"
    assert re.fullmatch(r"cell:1:3: run 'nfx' failed: rl: reward -?[0-9.e-]+ of sample \d+ is "
                        r"not 0 or 1 \(algo = nft needs a correct / wrong reward\) at step 1",
                        c["evalue"]), c["evalue"]
