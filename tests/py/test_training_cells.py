"""Training cells end to end (jupyter_client): the live chart (display_data, then >= 2
update_display_data with the same display_id at most 5 per second, a final frame, the
bundle exactly {vega-lite, svg, text}, the final one {vega-lite, png, text}), the summary table after it; an interrupt keeps the
partial run and policy (%runs says interrupted, %eval works on it) and the error names the
step; a sweep makes one run per point named NAME[key=value]; the same cells in two fresh
kernels print the same text; %threads 1 and 2 give identical metrics for a 2-point sweep.
"""
import base64
import csv
import datetime
import json
import os
import re
import tempfile
import time

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

CHART_MIMES = {"application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"}
# the final frame: the PNG rasterized from the SVG replaces it (magics/mag_bridge.h)
FINAL_MIMES = {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
TINY = "embed = 8\nhidden = 32\nbatch = 16\neval_every = 10\n"


def when(m):
    d = m["header"]["date"]
    if isinstance(d, str):
        d = datetime.datetime.fromisoformat(d.replace("Z", "+00:00"))
    return d.timestamp()


def test_training_cell_frames(kernel):
    ok(kernel, "%task add add digits=2")
    msgs = outputs(ok(kernel, "%%policy live\ntask = add\nsft_steps = 400\nnoise = 0.6\n"))
    types = [m["msg_type"] for m in msgs]
    assert types[0] == "display_data", types
    did = msgs[0]["content"]["transient"]["display_id"]
    assert did
    chart = [m for m in msgs if m["content"].get("transient", {}).get("display_id") == did]
    updates = [m for m in chart if m["msg_type"] == "update_display_data"]
    assert len(updates) >= 2, types
    for m in chart[:-1]:
        data = m["content"]["data"]
        assert set(data) == CHART_MIMES
        assert isinstance(data["application/vnd.vegalite.v5+json"], dict)
        assert data["image/svg+xml"].lstrip().startswith("<")
    assert set(chart[-1]["content"]["data"]) == FINAL_MIMES
    assert base64.b64decode(chart[-1]["content"]["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    # at most 5 updates in any one-second window
    ts = [when(m) for m in updates]
    for i in range(len(ts)):
        assert sum(1 for t in ts[i:] if t - ts[i] < 1.0) <= 5, ts
    # the final frame shows the last step, then the summary table, then the names
    final = chart[-1]
    assert final["msg_type"] == "update_display_data"
    assert "(step 400)" in final["content"]["data"]["text/plain"]
    after = msgs[msgs.index(final) + 1:]
    summary = [m for m in after if m["msg_type"] == "display_data"]
    assert len(summary) == 1
    sd = summary[0]["content"]["data"]
    assert set(sd) == {"text/html", "text/plain"}
    assert "<table" in sd["text/html"]
    assert re.search(r"^live\s+finished\s+400\s", sd["text/plain"], re.M), sd["text/plain"]
    assert "transient" not in summary[0]["content"] or \
        not summary[0]["content"]["transient"].get("display_id")
    assert "policy live: mlp" in stream_text(after)
    # the final frame's Vega-Lite spec is valid v5, the last live frame's SVG well-formed XML
    jsonschema = pytest.importorskip("jsonschema")
    root = os.environ.get("RLHF_SOURCE_ROOT",
                          os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    with open(os.path.join(root, "tests", "data", "vega-lite-v5.schema.json")) as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    errors = list(validator.iter_errors(final["content"]["data"]["application/vnd.vegalite.v5+json"]))
    assert not errors, errors[0].message
    import xml.dom.minidom
    xml.dom.minidom.parseString(chart[-2]["content"]["data"]["image/svg+xml"])


def test_interrupt_keeps_partial_run(new_kernel):
    k = new_kernel()
    ok(k, "%task add add digits=2")
    k.flush()
    msg_id = k.kc.execute("%%policy big\ntask = add\nsft_steps = 100000\n")
    seen_update = False
    deadline = time.monotonic() + 60
    while not seen_update and time.monotonic() < deadline:
        m = k.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "update_display_data":
            seen_update = True
    assert seen_update
    k.kc.control_channel.send(k.kc.session.msg("interrupt_request", {}))
    rep = k.reply(msg_id, timeout=30)
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == "Interrupted", c
    mt = re.match(r"interrupted at step (\d+) of 100000 \(big\); the partial run and its "
                  r"policy are kept$", c["evalue"])
    assert mt, c["evalue"]
    step = int(mt.group(1))
    assert 0 < step < 100000
    msgs = k.iopub(msg_id, timeout=30)
    assert [m["msg_type"] for m in msgs].count("error") == 1
    runs = outputs(ok(k, "%runs"))
    text = runs[0]["content"]["data"]["text/plain"]
    assert re.search(rf"^big\s+interrupted\s+{step}\s+add", text, re.M), text
    ev = outputs(ok(k, "%eval big k=2 n=64"))
    assert "greedy" in ev[0]["content"]["data"]["text/plain"]


def test_sweep_one_run_per_point(kernel):
    ok(kernel, "%task add add digits=2")
    msgs = outputs(ok(kernel, "%%policy sw\ntask = add\nsft_steps = 20\nlr = [1e-3, 3e-3]\n"
                      + TINY))
    out = stream_text(msgs)
    assert "policy sw[lr=1e-3]: " in out and "policy sw[lr=3e-3]: " in out, out
    chart = [m for m in msgs if m["msg_type"] == "update_display_data"][-1]
    legend = chart["content"]["data"]["text/plain"]
    # the legend names what varies, not the run (magics/mag_train.h)
    assert "\n  lr=1e-3  " in legend and "\n  lr=3e-3  " in legend
    text = outputs(ok(kernel, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(r"^sw\[lr=1e-3\]\s+finished\s+20", text, re.M), text
    assert re.search(r"^sw\[lr=3e-3\]\s+finished\s+20", text, re.M), text


def test_integral_number_is_an_integer(kernel):
    """issue 12: `sft_steps = 2e1` is the integer 20 (everyone writes 1e4 for step
    counts); the sweep point keeps the text as written."""
    ok(kernel, "%task add add digits=2")
    out = stream_text(outputs(ok(kernel, "%%policy ie\ntask = add\nsft_steps = 2e1\n"
                                         "seed = [1, 2e0]\n" + TINY)))
    assert "policy ie[seed=2e0]: " in out, out
    text = outputs(ok(kernel, "%runs"))[0]["content"]["data"]["text/plain"]
    assert re.search(r"^ie\[seed=1\]\s+finished\s+20", text, re.M), text
    assert re.search(r"^ie\[seed=2e0\]\s+finished\s+20", text, re.M), text


CELLS = ["%task add add digits=2",
         "%%policy d\ntask = add\nsft_steps = 60\nnoise = 0.6\nlr = [1e-3, 2e-3]\n" + TINY,
         "%eval d[lr=1e-3] k=4 n=100",
         "%sample d[lr=2e-3] n=3"]


def texts(k, cells):
    """The text of every final output: streams, display text/plain (the chart's last frame
    replaces its earlier ones), results and errors."""
    out = []
    for code in cells:
        shown = {}
        for m in outputs(ok(k, code)):
            c = m["content"]
            did = c.get("transient", {}).get("display_id")
            if m["msg_type"] == "stream":
                out.append(c["text"])
            elif m["msg_type"] in ("display_data", "update_display_data"):
                if did and did in shown:
                    out[shown[did]] = c["data"]["text/plain"]
                else:
                    if did:
                        shown[did] = len(out)
                    out.append(c["data"]["text/plain"])
            elif m["msg_type"] == "execute_result":
                out.append(c["data"]["text/plain"])
    return out


def test_same_cells_same_text_in_fresh_kernels(new_kernel):
    a = texts(new_kernel(), CELLS)
    b = texts(new_kernel(), CELLS)
    assert a == b
    assert any("d[lr=2e-3]" in t for t in a)


def export(k, threads, path):
    ok(k, f"%threads {threads}")
    ok(k, "%task add add digits=2")
    ok(k, "%%policy t\ntask = add\nsft_steps = 40\nhidden = [32, 48]\nembed = 8\nbatch = 16\n"
          "eval_every = 20\n")
    ok(k, f'%export "{path}"')
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    wall = rows[0].index("wall")
    return [[v for i, v in enumerate(r) if i != wall] for r in rows]


def test_threads_1_and_2_identical(new_kernel):
    with tempfile.TemporaryDirectory() as d:
        one = export(new_kernel(), 1, os.path.join(d, "one.csv"))
        two = export(new_kernel(), 2, os.path.join(d, "two.csv"))
    assert len(one) == 1 + 2 * 4  # header + rows at steps 10, 20, 30, 40 of each point
    assert one == two
