"""%sample POLICY attention=true (issue 17 item 4; magics/mag_attn.c, runtime
rt_gpt_attention and rt_chart_heat): one display_data with image/png (the SVG, rasterized
as a chart's final frame; the SVG itself with RLHF_CHART_PNG=off) and
text/plain; the SVG parses as XML and has layers x heads panels ("layer l · head h"), each
with L (L + 1) / 2 shaded cells for L = 1 + P + (completion length - 1) positions; the
text twin lists every head and one row per query; a re-run gives the same bytes (and the
same at %threads 2); prompt= and temperature= say what is shown; every bad input is one
error with its exact evalue at cell:LINE:COL that stores nothing.
"""
import base64
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import KERNEL_NAME, outputs, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 240
SETUP = [
    "%task add add digits=2",
    "%%policy g\ntask = add\nsft_steps = 30\narch = gpt\nlayers = 2\nheads = 3\nwidth = 24\n"
    "batch = 16",
    "%%policy m\ntask = add\nsft_steps = 5\nembed = 8\nhidden = 32\nbatch = 16",
]
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def ak(kernel):
    for c in SETUP:
        ok(kernel, c, timeout=LONG)
    return kernel


def displays(k, code):
    msgs = outputs(ok(k, code, timeout=LONG))
    return [m for m in msgs if m["msg_type"] == "display_data"], msgs


def view(k, code):
    d, msgs = displays(k, code)
    assert len(d) == 1, [m["msg_type"] for m in msgs]
    return d[0]["content"]


def panels(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG_NS + "svg"
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    heads = [t for t in texts if re.fullmatch(r"layer \d+ · head \d+", t)]
    cells = [r for r in root.iter(SVG_NS + "rect") if r.find(SVG_NS + "title") is not None]
    return root, texts, heads, cells


def test_png_and_text_twin_as_a_final_figure(ak):
    """The figure is a final frame (mag_bridge_final): the PNG rasterized from the SVG
    replaces it, as for charts, so exported and untrusted notebooks show it."""
    c = view(ak, '%sample g prompt="12+34=" attention=true')
    data = c["data"]
    assert set(data) == {"image/png", "text/plain"}
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    md = c["metadata"]["image/png"]
    assert md["width"] > 100 and md["height"] > 100


def test_panels_and_text_twin(new_kernel, monkeypatch):
    """With RLHF_CHART_PNG=off the SVG stays: one panel per (layer, head)."""
    monkeypatch.setenv("RLHF_CHART_PNG", "off")
    k = new_kernel()
    for cell in SETUP[:2]:
        ok(k, cell, timeout=LONG)
    c = view(k, '%sample g prompt="12+34=" attention=true')
    data = c["data"]
    assert set(data) == {"image/svg+xml", "text/plain"}
    root, texts, heads, cells = panels(data["image/svg+xml"])
    assert heads == [f"layer {l} · head {h}" for l in (1, 2) for h in (1, 2, 3)]
    assert "attention probability" in texts
    text = data["text/plain"]
    # title: the policy and the prompt; subtitle: greedy completion
    first = text.splitlines()[0]
    assert first.startswith("%sample g attention=true: <add>12+34=")
    assert "greedy completion" in text.splitlines()[1]
    for l in (1, 2):
        for h in (1, 2, 3):
            assert f"\nlayer {l} · head {h}\n" in text
    # L positions: ⟨bos⟩, the 7 prompt tokens, the completion but its last token
    block = text.split("\nlayer 1 · head 1\n")[1].split("\n\n")[0].splitlines()
    L = len(block)
    assert block[0].lstrip().startswith("⟨bos⟩ → <add>")
    assert L >= 8
    assert len(cells) == 6 * L * (L + 1) // 2
    # every text row: one character per key between the bars, and a top key
    for row in block:
        grid = row.split("│")[1]
        assert len(grid) == L
        assert re.search(r"top \S+ +[01]\.\d\d$", row), row
    # the BOS row attends to itself only
    assert block[0].split("│")[1][0] == "█" and block[0].endswith("1.00")


def test_rerun_same_bytes_and_threads(ak):
    a = view(ak, "%sample g attention=true")["data"]
    b = view(ak, "%sample g attention=true")["data"]
    assert a == b
    ok(ak, "%threads 2")
    try:
        c = view(ak, "%sample g attention=true")["data"]
    finally:
        ok(ak, "%threads 1")
    assert a == c
    # the first prompt %sample draws: the first row of the plain %sample
    d, _ = displays(ak, "%sample g")
    prompt = a["text/plain"].splitlines()[0].split(": ", 1)[1].split("=")[0] + "="
    rows = d[0]["content"]["data"]["text/plain"].splitlines()
    assert rows[1].startswith("prompt ") and rows[2].startswith(prompt + " "), (prompt, rows)


def test_temperature_shows_the_first_sample(ak):
    t = view(ak, '%sample g prompt="12+34=" attention=true temperature=1')["data"]["text/plain"]
    assert "the first sample at temperature 1" in t.splitlines()[1]
    # the same completion as the first row of the plain %sample at that temperature
    d, _ = displays(ak, '%sample g prompt="12+34=" n=1 temperature=1')
    row = d[0]["content"]["data"]["text/plain"]
    completion = t.splitlines()[0].split("<add>12+34=", 1)[1]
    assert completion in row


BAD = [
    ("%sample m attention=true", "ValueError",
     "cell:1:21: attention=true needs an arch = gpt policy; 'm' is mlp"),
    ("%sample g attention=true n=3", "ValueError",
     "cell:1:28: attention=true shows one prompt and one completion; drop n="),
    ("%sample g attention=true best_of=3 reward=x", "ValueError",
     "cell:1:34: attention=true shows the greedy completion (or the first sample with "
     "temperature=), not a best-of-K selection; drop best_of="),
    ("%sample g attention=maybe", "ValueError",
     "cell:1:21: 'attention' expects true or false, got name 'maybe'"),
    ("%sample g task=add attention=7", "ValueError",
     "cell:1:30: 'attention' expects true or false, got integer 7"),
    ("%sample m task=add attention=true", "ValueError",
     "cell:1:30: attention=true needs an arch = gpt policy; 'm' is mlp"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error(ak, code, ename, evalue):
    before = who(ak)
    rep, msgs = ak.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    assert [m["msg_type"] for m in outputs(msgs)] == ["error"]
    assert who(ak) == before


def test_help_names_the_key(ak):
    rep, msgs = ak.execute("%help sample")
    text = str(rep["content"]) + "".join(str(m["content"]) for m in outputs(msgs))
    assert "attention=true" in text and "attention (" in text
