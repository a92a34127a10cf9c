"""`arch = gpt` policies in every magic (jupyter_client), as a user types them: %%policy
with the gpt keys (summary "gpt V=32 layers=.. heads=.. width=.. context=.. mlp_ratio=..");
%%rl from a gpt base (with an mlp reference: architectures may differ); %%opd with an
mlp teacher and a gpt student and back; %eval, %sample, %who; %save / %load in a new
kernel (the architecture is carried, the same %eval); every bad input is one error with
its exact evalue at cell:LINE:COL that stores nothing (another architecture's key, a
task whose P + T does not fit `context`, width not a multiple of heads, dropout, arch
keys with from); %threads 1 and 2 give the same exported rows.
"""
import csv
import os
import tempfile

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 240
GPT = "arch = gpt\nlayers = 1\nheads = 2\nwidth = 16\nbatch = 16\n"
SETUP = [
    "%task add add digits=2",
    "%task big add digits=3",
    "%%policy g\ntask = add\nsft_steps = 20\n" + GPT,
    "%%policy m\ntask = add\nsft_steps = 20\nembed = 8\nhidden = 32\nbatch = 16",
    # context = 12 >= P + T = 11 of add; big needs more
    "%%policy gs\ntask = add\nsft_steps = 0\ncontext = 12\n" + GPT,
    "%%reward exact\ncorrect",
]
SMALL = "steps = 3\nbatch = 4\ngroup = 4\neval_every = 3\neval_prompts = 16\n"


@pytest.fixture(scope="module")
def gk(kernel):
    for c in SETUP:
        ok(kernel, c, timeout=LONG)
    return kernel


def shown(k, code):
    """The text a cell shows: its streams and the text/plain of its displays."""
    msgs = outputs(ok(k, code, timeout=LONG))
    return "".join(m["content"].get("text", "") + m["content"].get("data", {}).get("text/plain", "")
                   for m in msgs)


BAD = [
    ("%%policy x\ntask = add\narch = gpt\ncontext = 8",
     "ValueError", "cell:4:11: task add needs P + T = 11 positions; context = 8"),
    ("%%policy x\ntask = add\narch = gpt\nembed = 8",
     "ValueError", "cell:4:1: 'embed' is not a key of arch = gpt (gpt policies take layers, "
     "heads, width, context, mlp_ratio, dropout)"),
    ("%%policy x\ntask = add\nhidden = 8\nheads = 2",
     "ValueError", "cell:4:1: 'heads' is not a key of arch = mlp (mlp policies take context, "
     "embed, hidden, layers, act)"),
    ("%%policy x\ntask = add\narch = gpt\nwidth = 20\nheads = 3",
     "ValueError", "cell:4:9: policy 'x': gpt: width (20) must be a multiple of heads (3)"),
    ("%%policy x\ntask = add\narch = gpt\ndropout = 1",
     "ValueError", "cell:4:11: 'dropout' must be in [0, 0]"),
    ("%%policy x\nfrom = g\nwidth = 32",
     "ValueError", "cell:3:9: 'width' cannot be set with 'from' (the architecture is copied)"),
    ("%%policy x\ntask = add\nlayers = 9\nsft_steps = 0",
     "ValueError", "cell:3:10: 'layers' must be in [1, 8] for arch = mlp (arch = gpt takes up "
     "to 12 blocks)"),
    ("%%policy x\ntask = add\narch = gpt\nlayers = 13",
     "ValueError", "cell:4:10: 'layers' must be in [1, 12]"),
    ("%eval gs task=big n=8",
     "ValueError", "cell:1:7: task big needs P + T = 14 positions; 'gs' has context = 12 (a gpt "
     "attends to at most `context` positions)"),
    ("%%rl x\nfrom = gs\nreward = exact\ntask = big\n" + SMALL,
     "ValueError", "cell:4:8: task big needs P + T = 14 positions; 'gs' has context = 12 (a gpt "
     "attends to at most `context` positions)"),
    ("%%opd x\nfrom = m\nteacher = gs\ntask = big\nsteps = 2",
     "ValueError", "cell:3:11: task big needs P + T = 14 positions; 'gs' has context = 12 (a "
     "gpt attends to at most `context` positions)"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error_nothing_stored(gk, code, ename, evalue):
    before = who(gk)
    rep, msgs = gk.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    types = [m["msg_type"] for m in outputs(msgs)]
    assert types == ["error"], types
    assert who(gk) == before


def test_twelve_blocks(gk):
    """gpt takes up to 12 blocks (the mlp's 8 hidden layers is its own limit)"""
    text = shown(gk, "%%policy deep\ntask = add\narch = gpt\nlayers = 12\nheads = 2\n"
                     "width = 16\nsft_steps = 2\nbatch = 4\neval_every = 0")
    assert "gpt V=32 layers=12 heads=2 width=16" in text, text
    ok(gk, "%del deep")  # the module's later tests read %who


def test_policy_summary_and_who(gk):
    text = who(gk)
    assert "  g   gpt V=32 layers=1 heads=2 width=16 context=32 mlp_ratio=4, SFT on add" in text
    assert "  gs  gpt V=32 layers=1 heads=2 width=16 context=12 mlp_ratio=4" in text
    assert "  m   mlp V=32 K=8 D=8 H=32 L=2 relu, SFT on add" in text


def test_help_lists_gpt_keys(gk):
    rep, msgs = gk.execute("%help policy")
    assert rep["content"]["status"] == "ok"
    text = str(rep["content"]) + "".join(str(m["content"]) for m in outputs(msgs))
    for key in ("heads", "width", "mlp_ratio", "dropout", "arch = gpt"):
        assert key in text, key


def test_rl_from_gpt_with_mlp_reference(gk):
    ok(gk, "%%rl r\nfrom = g\nreference = m\nreward = exact\n" + SMALL, timeout=LONG)
    assert "  r   grpo from g on add, reward exact, 3 steps" in who(gk)


def test_opd_both_directions(gk):
    ok(gk, "%%opd o1\nfrom = g\nteacher = m\nsteps = 3", timeout=LONG)
    ok(gk, "%%opd o2\nfrom = m\nteacher = g\nsteps = 3", timeout=LONG)
    text = who(gk)
    assert "o1  opd from g, teacher m" in text and "o2  opd from m, teacher g" in text
    # a copy keeps the student's architecture
    assert "  o1" in text
    ok(gk, "%%policy c\nfrom = o1")
    assert "  c   gpt V=32 layers=1 heads=2 width=16 context=32 mlp_ratio=4, from o1" in who(gk)


def test_eval_and_sample(gk):
    msgs = ok(gk, "%eval g m n=16 k=0", timeout=LONG)
    assert any("held-out accuracy" in str(o) for o in outputs(msgs))
    text = shown(gk, "%sample g n=2")
    assert "%sample g: 2 completions" in text


def test_save_load_new_kernel_same_eval(gk, new_kernel):
    path = os.path.join(tempfile.mkdtemp(), "g.pol")
    assert "saved policy 'g' (task add) to " in stream_text(ok(gk, "%%save g %s" % path))
    k2 = new_kernel()
    text = stream_text(ok(k2, "%%load g %s" % path))
    assert ("policy g: gpt V=32 layers=1 heads=2 width=16 context=32 mlp_ratio=4, loaded from "
            + path) in text
    a = shown(gk, "%eval g n=16 k=2")
    b = shown(k2, "%eval g n=16 k=2")
    assert a == b and "held-out accuracy" in a


def export(k, threads, path):
    for c in SETUP[:1] + SETUP[2:3] + SETUP[3:4] + SETUP[5:]:
        ok(k, c, timeout=LONG)
    ok(k, f"%threads {threads}")
    ok(k, "%%rl one\nfrom = g\nreward = exact\nkl = 0.05\n" + SMALL, timeout=LONG)
    ok(k, "%%opd two\nfrom = g\nteacher = m\nsteps = 3", timeout=LONG)
    ok(k, f'%export "{path}" g one two')
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    wall = rows[0].index("wall")
    return [[v for i, v in enumerate(r) if i != wall] for r in rows]


def test_threads_1_and_2_identical(new_kernel):
    with tempfile.TemporaryDirectory() as d:
        one = export(new_kernel(), 1, os.path.join(d, "one.csv"))
        two = export(new_kernel(), 2, os.path.join(d, "two.csv"))
    assert len(one) > 3
    assert one == two
