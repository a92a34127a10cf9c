"""Charts that fit and read (issue 13, items 2, 4 and the Vega-Lite part of 5), end to
end through the kernel: a 3-panel sweep chart is at most 940 px wide as SVG (live
frames), PNG (final frame) and Vega-Lite (panel widths plus their axes); the Vega-Lite
spec has one dataset per panel, one colour scale and one shared legend under the
panels; the legend labels of a 2-key sweep (algo x lr, plus seed) name only the keys
that vary, never the run name, the seed or a "…"; per-step metrics are smoothed by
default (rows carry y and smooth) and %plot smooth=0 turns it off; the KL panel's axis
starts at 0 and nothing in it is negative; tooltips carry series, step and value.
"""
import base64
import json
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import KERNEL_NAME, outputs, ok
from test_nbconvert_png import png_size

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 120
MAX_W = 940
AXES_W = 80  # per Vega-Lite panel: y labels and title, concat spacing (rt_chart_vegalite.c)
TINY = "embed = 8\nhidden = 32\nbatch = 64\n"
SETUP = [
    "%task add add digits=2",
    "%%policy base\ntask = add\nsft_steps = 40\nnoise = 0.6\n" + TINY,
    "%%reward exact c=0.01\ncorrect - c * length",
]
SWEEP = ("%%rl sw\nfrom = base\nreward = exact\nalgo = [grpo, rloo]\nlr = [1e-3, 3e-4]\n"
         "seed = [1, 2]\nbatch = 4\ngroup = 4\nsteps = 6\neval_every = 3\neval_prompts = 32\n")
LABELS = ["grpo · lr=1e-3", "grpo · lr=3e-4", "rloo · lr=1e-3", "rloo · lr=3e-4"]
VL = "application/vnd.vegalite.v5+json"


@pytest.fixture(scope="module")
def frames(kernel):
    for c in SETUP:
        ok(kernel, c)
    msgs = outputs(ok(kernel, SWEEP, timeout=LONG))
    did = msgs[0]["content"]["transient"]["display_id"]
    chart = [m["content"]["data"] for m in msgs
             if m["content"].get("transient", {}).get("display_id") == did]
    assert len(chart) >= 2
    return kernel, chart


def panels(spec):
    return spec.get("hconcat") or spec.get("concat") or [spec]


def vl_width(spec):
    """What the spec takes across: its widest row of panels, each with its axes."""
    ps = panels(spec)
    cols = spec.get("columns", len(ps))
    return max(sum(p["width"] + AXES_W for p in ps[r:r + cols]) for r in range(0, len(ps), cols))


def color_channels(spec):
    """Every colour encoding of the spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("color"), dict) and node["color"].get("field") == "series":
                found.append(node["color"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return found


def test_three_panels_fit_940_px(frames):
    _, chart = frames
    live, final = chart[0], chart[-1]
    svg = ET.fromstring(live["image/svg+xml"])
    assert float(svg.get("width")) <= MAX_W, svg.get("width")
    w, h = png_size(base64.b64decode(final["image/png"]))
    assert w <= MAX_W, (w, h)
    for data in (live, final):
        spec = data[VL]
        assert len(panels(spec)) == 3
        assert vl_width(spec) <= MAX_W, vl_width(spec)


def test_one_dataset_and_one_legend_with_varying_keys_only(frames):
    _, chart = frames
    final = chart[-1]
    spec = final[VL]
    for p in panels(spec):
        rows = p["data"]["values"]
        assert rows and all(set(r) >= {"series", "x", "y"} for r in rows)
        assert sorted({r["series"] for r in rows}) == LABELS
        assert "calculate" not in json.dumps(p)
    colors = color_channels(spec)
    assert colors and all(c == colors[0] for c in colors)  # one scale, one legend
    assert colors[0]["scale"]["domain"] == LABELS
    assert colors[0]["legend"]["orient"] == "bottom"
    assert spec["resolve"] == {"scale": {"color": "shared"}, "legend": {"color": "shared"}}
    for label in LABELS:
        assert "…" not in label and "seed" not in label and "sw" not in label
    # (the SVG's one legend: tests/runtime/chart/render_test.c, test_shared_legend; this
    # sweep trains too fast for a live frame with data)


def test_smoothed_by_default_tooltips_and_kl_from_zero(frames):
    _, chart = frames
    spec = chart[-1][VL]
    by_title = {p["title"]: p for p in panels(spec)}
    reward = by_title["reward"]["data"]["values"]
    assert all("smooth" in r for r in reward)  # per-step metrics: smoothed by default
    text = json.dumps(by_title["reward"])
    assert '"tooltip": [{"field": "series"' in text and '"field": "x"' in text
    kl = by_title["kl_ref"]
    assert '"scale": {"zero": true}' in json.dumps(kl)
    for r in kl["data"]["values"]:
        for f in ("y", "lo", "smooth"):
            assert r.get(f) is None or r[f] >= 0, r
    acc = by_title["accuracy"]["data"]["values"]
    for r in acc:
        for f in ("y", "lo", "hi", "smooth"):
            assert r.get(f) is None or 0 <= r[f] <= 1, r


def test_plot_smooth_zero_turns_smoothing_off(frames):
    kernel, _ = frames
    run = "sw[algo=grpo,lr=1e-3,seed=1]"

    def plot(extra):
        out = [m for m in outputs(ok(kernel, f"%plot {run} metric=reward{extra}"))
               if VL in m["content"].get("data", {})]
        assert len(out) == 1
        return out[0]["content"]["data"][VL]
    rows = panels(plot(" smooth=0"))[0]["data"]["values"]
    assert rows and not any("smooth" in r for r in rows)
    rows = panels(plot(" smooth=0.5"))[0]["data"]["values"]
    assert rows and all("smooth" in r for r in rows)


@pytest.mark.parametrize("what", ["sw[algo=grpo,lr=1e-3,seed=1]", "base"])
def test_more_panels_wrap_and_fit(frames, what):
    """%plot of every metric (up to 6 panels: an RL run has 6, the SFT run of `base`
    fewer): rows of at most 3 panels, PNG and Vega-Lite within 940 px."""
    kernel, _ = frames
    out = [m["content"] for m in outputs(ok(kernel, f"%plot {what}"))
           if VL in m["content"].get("data", {})]
    assert len(out) == 1
    data = out[0]["data"]
    spec = data[VL]
    n = len(panels(spec))
    w, _ = png_size(base64.b64decode(data["image/png"]))
    assert w <= MAX_W and vl_width(spec) <= MAX_W, (n, w, vl_width(spec))
    if n > 3:
        assert spec["columns"] == (2 if n == 4 else 3), (n, spec.get("columns"))
    print(what, n, "panels", w, "px PNG", vl_width(spec), "px Vega-Lite")


def test_png_off_keeps_the_svg(monkeypatch):
    """RLHF_CHART_PNG=off: a final frame keeps its SVG and carries no image/png."""
    from conftest import Kernel
    monkeypatch.setenv("RLHF_CHART_PNG", "off")
    k = Kernel()
    try:
        ok(k, SETUP[0])
        msgs = outputs(ok(k, "%%policy p\ntask = add\nsft_steps = 5\n" + TINY))
        charts = [m["content"]["data"] for m in msgs
                  if m["msg_type"] in ("display_data", "update_display_data")
                  and VL in m["content"]["data"]]
        assert charts, [m["msg_type"] for m in msgs]
        final = charts[-1]
        assert "image/png" not in final and "image/svg+xml" in final, sorted(final)
    finally:
        assert k.close() in (0, None)
