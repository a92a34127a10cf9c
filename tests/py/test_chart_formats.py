"""Format validation of the chart renderers (runtime/chart).

Runs `$RLHF_BUILD_ROOT/bench/bench-chart --emit DIR`, which writes representative
charts (single panel, 3 panels with bands, log-y with a reference line, NaN gaps and
hostile names, a 2x2 grid, 8 x 100,000 points, no panels, dots with error bars) as NAME.svg, NAME.vl.json
and NAME.txt, then checks every SVG with `xmllint --noout` and every Vega-Lite spec
against the Vega-Lite v5 JSON schema kept in tests/data (see tests/data/README.md).
Needs libxml2-utils and python3-jsonschema.
"""

import copy
import json
import os
import pathlib
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

BUILD = pathlib.Path(os.environ.get("RLHF_BUILD_ROOT", "build"))
SOURCE = pathlib.Path(os.environ.get("RLHF_SOURCE_ROOT", pathlib.Path(__file__).parents[2]))
BENCH = BUILD / "bench" / "bench-chart"
SCHEMA = SOURCE / "tests" / "data" / "vega-lite-v5.schema.json"
CHARTS = ["single", "three_panels", "logy_reference", "nans", "grid", "huge", "empty", "points"]
SVG_NS = "{http://www.w3.org/2000/svg}"


def emit(directory):
    if not BENCH.exists():
        pytest.fail(f"{BENCH} is not built (ninja -C {BUILD} bench/bench-chart)")
    r = subprocess.run([str(BENCH), "--emit", str(directory)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return directory


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return emit(tmp_path_factory.mktemp("charts"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    return jsonschema.Draft7Validator(schema)


def test_every_chart_is_written(out):
    for name in CHARTS:
        for ext in (".svg", ".vl.json", ".txt"):
            assert (out / (name + ext)).stat().st_size > 0, name + ext


@pytest.mark.parametrize("name", CHARTS)
def test_svg_is_well_formed(out, name):
    assert shutil.which("xmllint"), "xmllint missing (apt-get install libxml2-utils)"
    path = out / (name + ".svg")
    r = subprocess.run(["xmllint", "--noout", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    root = ET.parse(path).getroot()
    assert root.tag == SVG_NS + "svg"
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0
    # self-contained: no scripts, no external references
    text = path.read_text()
    assert "<script" not in text and "href" not in text


def test_xmllint_rejects_broken_svg(tmp_path):
    """The check above can fail: an unescaped '&' is rejected."""
    bad = tmp_path / "bad.svg"
    bad.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>')
    assert subprocess.run(["xmllint", "--noout", str(bad)], capture_output=True).returncode != 0


@pytest.mark.parametrize("name", CHARTS)
def test_vegalite_matches_v5_schema(out, validator, name):
    spec = json.loads((out / (name + ".vl.json")).read_text())
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])


def test_schema_rejects_a_broken_spec(out, validator):
    """The validator is effective: an unknown mark type and a stray key fail."""
    spec = json.loads((out / "single.vl.json").read_text())
    bad = copy.deepcopy(spec)
    bad["layer"][0]["layer"][0]["mark"]["type"] = "curve"
    assert not validator.is_valid(bad)
    bad = copy.deepcopy(spec)
    bad["widht"] = 10
    assert not validator.is_valid(bad)


def test_nan_is_null_and_names_are_escaped(out):
    spec = json.loads((out / "nans.vl.json").read_text())
    # one dataset for the panel: rows {series, x, y}, the series' name in each
    rows = [r for r in spec["data"]["values"] if r["series"] == "a<b & \"c\" 'd'"]
    assert [r["x"] for r in rows] == list(range(12))
    assert [i for i, r in enumerate(rows) if r["y"] is None] == [3, 4, 8]  # NaN, inf, -inf
    assert {r["series"] for r in spec["data"]["values"]} == {"a<b & \"c\" 'd'", "all NaN"}
    svg = ET.parse(out / "nans.svg").getroot()
    texts = [t.text for t in svg.iter(SVG_NS + "text")]
    assert "a<b & \"c\" 'd'" in texts and "gaps <&>" in texts
    # the polyline is split at the gaps: three subpaths
    lines = [p.get("d") for p in svg.iter(SVG_NS + "path") if p.get("stroke") == "#4c78a8"
             and p.get("stroke-width") == "1.5"]
    assert len(lines) == 1 and lines[0].count("M") == 3
    txt = (out / "nans.txt").read_text()
    assert txt.splitlines()[1].startswith("  a<b & \"c\" 'd'  ")


def test_multi_panel_layouts(out):
    three = json.loads((out / "three_panels.vl.json").read_text())
    assert [p["title"] for p in three["hconcat"]] == [
        "accuracy", "reverse KL to teacher", "KL to reference"]
    marks = [l["mark"]["type"] for l in three["hconcat"][0]["layer"][0]["layer"]]
    assert marks == ["area", "line", "point"]  # band, line, hover points (tooltips)
    marks = [l["mark"]["type"] for l in three["hconcat"][2]["layer"][0]["layer"]]
    assert marks == ["area", "line", "line", "point"]  # smoothed: the faint raw line too
    assert three["resolve"] == {"scale": {"color": "shared"}, "legend": {"color": "shared"}}
    grid = json.loads((out / "grid.vl.json").read_text())
    assert grid["columns"] == 2 and len(grid["concat"]) == 4
    logy = json.loads((out / "logy_reference.vl.json").read_text())
    assert logy["title"] == {"text": "λ sweep vs teacher", "limit": 700}
    kl, acc = logy["hconcat"]
    assert kl["layer"][0]["layer"][-1]["encoding"]["y"]["scale"] == {"type": "log"}
    refs = acc["layer"][-1]
    assert refs["data"]["values"] == [{"y": 0.93, "label": "teacher"}]
    assert [l["mark"]["type"] for l in refs["layer"]] == ["rule", "text"]


def test_huge_chart_fits_one_message(out):
    sizes = {ext: (out / ("huge" + ext)).stat().st_size for ext in (".svg", ".vl.json", ".txt")}
    assert sum(sizes.values()) < 200_000, sizes
    spec = json.loads((out / "huge.vl.json").read_text())
    by_series = {}
    for r in spec["data"]["values"]:
        by_series.setdefault(r["series"], []).append(r)
    counts = [len(rows) for rows in by_series.values()]
    assert len(counts) == 8 and all(100 <= c <= 150 for c in counts), counts
    assert all(rows[-1]["x"] == 1_000_000 for rows in by_series.values())


def test_text_has_sparklines_and_latest_values(out):
    lines = (out / "logy_reference.txt").read_text().splitlines()
    assert lines[0] == "λ sweep vs teacher"
    assert lines[1] == "reverse KL to teacher (log)"
    assert lines[2].startswith("  opd[lr=0.01]  █") and lines[2].endswith("(step 3000)")
    assert lines[-1].startswith("  teacher       ╌") and lines[-1].endswith("  0.93 (reference)")
    assert (out / "empty.txt").read_text() == "(no data)\n"


def test_points_chart(out):
    """Dots and error bars (rt_chart_series.points): no line for the dots series, a rule
    per error bar, the evaluation a line with dots; the text lists the points."""
    spec = json.loads((out / "points.vl.json").read_text())
    marks = [(l["mark"]["type"], l.get("transform", [{}])[0].get("filter", {}).get("oneOf"))
             for l in spec["layer"][0]["layer"]]
    assert marks == [("line", ["eval"]), ("point", None), ("rule", ["mean ± sd"]),
                     ("point", None)], marks
    svg = ET.parse(out / "points.svg").getroot()
    widths = sorted(p.get("stroke-width") for p in svg.iter(SVG_NS + "path")
                    if p.get("stroke-linecap") == "round")
    # eval line, eval dots, 2 dot series, and the legend's dots of these 2
    assert widths == ["1.5", "4.5", "6", "6", "6", "6"], widths
    txt = (out / "points.txt").read_text()
    assert "  mean ± sd  0.5: 0.6 ± 0.01, 1: 0.63 ± 0.01, 2: 0.58 ± 0.01, 3: 0.5 ± 0.01\n" in txt


def test_output_is_deterministic(out, tmp_path):
    again = emit(tmp_path)
    for name in CHARTS:
        for ext in (".svg", ".vl.json", ".txt"):
            assert (out / (name + ext)).read_bytes() == (again / (name + ext)).read_bytes()
