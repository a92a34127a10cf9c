"""Browser test: the kernel's Vega-Lite output of an 18-run sweep renders in vega-embed.

Runs bench/vegalite-render (the benchmark's single command) with few repetitions: it
generates the frames of an 18-run sweep through the built kernel (the λ sweep of
notebooks/on-policy-distillation.ipynb, 6 λ x 3 seeds; bench/vega/sweep_specs.py) and
renders the final frame and a live one with vega, vega-lite and vega-embed (the npm
packages locked in bench/vega, `npm ci` there when missing or stale) in Debian's
headless Chromium, with the svg and the canvas renderer. Fails when a render throws,
Vega logs a warning or an error, or the chart is empty (no line mark with points in the
scenegraph, no <path> in the SVG's line marks, an unpainted canvas, a chart under
50x50 px).

The render times are recorded, never asserted (speed goals are checked by the
benchmark, not by timed tests): tests/artifacts/vegalite-render.json (all figures),
vegalite-render.txt (the benchmark's table), vegalite/ (the specs and a screenshot per
spec and renderer). A build dir other than build/ suffixes these names.

Environment: RLHF_KERNEL (built binary), RLHF_SOURCE_ROOT (set by meson),
RLHF_CHROMIUM (default /usr/bin/chromium).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SOURCE_ROOT = Path(os.environ.get("RLHF_SOURCE_ROOT", HERE.parent.parent))
ARTIFACTS = SOURCE_ROOT / "tests" / "artifacts"
_BUILD = Path(os.environ.get("RLHF_BUILD_ROOT", "build")).name
ARTIFACT_SUFFIX = "" if _BUILD == "build" else f"-{_BUILD}"
BENCH = SOURCE_ROOT / "bench" / "vegalite-render"


def test_sweep18_vegalite_renders():
    kernel = os.environ.get("RLHF_KERNEL")
    if not kernel or not os.access(kernel, os.X_OK):
        pytest.fail("RLHF_KERNEL must name the built rlhf-kernel binary (meson test sets it)",
                    pytrace=False)
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is required and was not found (Debian nodejs, npm)",
                        pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out_json = ARTIFACTS / f"vegalite-render{ARTIFACT_SUFFIX}.json"
    out_txt = ARTIFACTS / f"vegalite-render{ARTIFACT_SUFFIX}.txt"
    vdir = ARTIFACTS / f"vegalite{ARTIFACT_SUFFIX}"
    shutil.rmtree(vdir, ignore_errors=True)
    for old in (out_json, out_txt):
        if old.exists():
            old.unlink()
    env = dict(os.environ, RLHF_KERNEL=kernel)
    proc = subprocess.run([str(BENCH), "--n", "5", "--warmup", "1", "--json", str(out_json),
                           "--specs-dir", str(vdir), "--screenshot-dir", str(vdir)],
                          capture_output=True, text=True, timeout=540, env=env)
    out_txt.write_text(proc.stdout + ("\n" + proc.stderr if proc.stderr else ""))
    print(proc.stdout)
    print(proc.stderr[-3000:])
    if not out_json.is_file():
        pytest.fail(f"bench/vegalite-render exited {proc.returncode} without a result:\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}", pytrace=False)
    result = json.loads(out_json.read_text())
    problems = [f"{s['name']} ({r}): {e['problem']}" for s in result["specs"]
                for r, e in s["renderers"].items() if e.get("problem")]
    assert not problems, "Vega-Lite frames that do not render:\n" + "\n".join(problems)
    assert proc.returncode == 0 and result["ok"], (
        f"bench/vegalite-render exited {proc.returncode}: {result.get('error')} "
        f"page errors: {result.get('page_errors')}\n{proc.stderr[-2000:]}")
    names = [s["name"] for s in result["specs"]]
    assert names == ["sweep18-final", "sweep18-live"], names
    frames = json.loads((vdir / "sweep18-frames.json").read_text())
    assert frames["final_has_png"], frames  # the final frame also carries its PNG
    for s in result["specs"]:
        for r in ("svg", "canvas"):
            e = s["renderers"][r]
            c = e["check"]
            # the final frame: 6 sweep points (λ values), each at least one line in some
            # panel; a live frame draws the runs started so far (render.mjs checks >= 1)
            if s["name"] == "sweep18-final":
                assert c["marks"]["line"] >= 6, (s["name"], r, c["marks"])
            assert e["embed_ms"]["median"] > 0 and len(e["samples_embed_ms"]) == 5
            assert Path(e["screenshot"]).is_file()


@pytest.mark.skipif(os.environ.get("RLHF_BROWSER_SELFCHECK") != "1",
                    reason="harness self-check runs only with RLHF_BROWSER_SELFCHECK=1")
def test_selfcheck_render_failures(tmp_path):
    """The checks themselves: a spec that makes vega-embed throw and a line chart with no
    data each fail (exit 1) with a message naming the cause, for both renderers."""
    line = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "width": 300,
            "height": 200, "mark": "line",
            "encoding": {"x": {"field": "x", "type": "quantitative"},
                         "y": {"field": "y", "type": "quantitative"}}}
    specs = {"throws": dict(line, mark="nosuchmark", data={"values": [{"x": 1, "y": 2}]}),
             "empty": dict(line, data={"values": []}),
             "good": dict(line, data={"values": [{"x": i, "y": i * i} for i in range(20)]})}
    files = []
    for name, spec in specs.items():
        files.append(tmp_path / f"{name}.vl.json")
        files[-1].write_text(json.dumps(spec))
    out = tmp_path / "result.json"
    proc = subprocess.run([str(BENCH), "--n", "1", "--warmup", "0", "--json", str(out),
                           *map(str, files)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    result = json.loads(out.read_text())
    problems = {s["name"]: {r: e["problem"] for r, e in s["renderers"].items()}
                for s in result["specs"]}
    for r in ("svg", "canvas"):
        assert problems["throws"][r].startswith("vegaEmbed failed: "), problems
        assert problems["empty"][r].startswith("no line mark with items in the scenegraph"), \
            problems
        assert problems["good"][r] is None, problems
    assert "FAILED: vegaEmbed failed" in proc.stdout and "FAILED: no line mark" in proc.stdout
