"""tests/py/nbclaims.py, the check of a notebook's prose against its outputs, on a small
synthetic notebook (no kernel): right prose passes; a wrong number, a false comparison,
an unchecked number, a missing claims file each fail with a readable message."""
import os
import textwrap

import nbformat
import pytest

import nbclaims

TABLE = ("<table class=\"rlhf-table\"><thead><tr><th>run</th><th>eval_accuracy</th></tr></thead>"
         "<tbody><tr><td><code>r[a=x,seed=1]</code></td><td>0.7</td></tr>"
         "<tr><td><code>r[a=x,seed=2]</code></td><td>0.75</td></tr>"
         "<tr><td><code>r[a=y,seed=1]</code></td><td>0.6</td></tr>"
         "<tr><td><code>r[a=y,seed=2]</code></td><td>0.62</td></tr></tbody></table>")
CHART = {"layer": [{"data": {"values": [{"x": 1, "y": 0.5, "lo": 0.4, "hi": 0.6},
                                        {"x": 2, "y": 0.7, "lo": 0.6, "hi": 0.8}]},
                    "transform": [{"as": "series", "calculate": "\"r[a=x]\""}]}],
         "title": "accuracy"}
CLAIMS = textwrap.dedent('''
    from nbclaims import mean, sd

    def check(c):
        t = c.table(1)
        x, y = t.col("eval_accuracy", "a=x,"), t.col("eval_accuracy", "a=y,")
        c.quote(2, "x ends at 0.725 ± 0.035", mean(x), sd(x))
        c.quote(2, "y at 0.61", mean(y))
        c.quote(2, "(mean of the last step 0.70)", c.chart(1)["accuracy"]["r[a=x]"].last(1))
        c.claim(2, "x is above y", mean(x) > mean(y))
        c.given(2, "lr 1e-3 (10 %", "a setting")
    ''')
PROSE = ("x ends at 0.725 ± 0.035 and y at 0.61 (mean of the last step 0.70): x is above y. "
         "`a = 0.3` is code; lr 1e-3 (10 % warm-up); a = 0.25 is in a code cell.")


def notebook(tmp_path, prose=PROSE, claims=CLAIMS):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("%%rl r\na = [x, y]\nalpha = 0.25")
    code.outputs = [nbformat.v4.new_output("display_data", data={
                        "text/plain": "chart", "application/vnd.vegalite.v5+json": CHART}),
                    nbformat.v4.new_output("display_data", data={"text/plain": "table",
                                                                 "text/html": TABLE})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title, 2 seeds"), code,
                nbformat.v4.new_markdown_cell(prose)]
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, str(path))
    if claims is not None:
        (tmp_path / "claims").mkdir(exist_ok=True)
        (tmp_path / "claims" / "demo.py").write_text(claims)
    return nbformat.read(str(path), as_version=4), str(path)


def failures(tmp_path, **kw):
    nb, path = notebook(tmp_path, **kw)
    return nbclaims.check_notebook(nb, path)[0]


def test_right_prose_passes(tmp_path):
    assert failures(tmp_path) == []


def test_wrong_number_is_reported_with_its_source(tmp_path):
    f = failures(tmp_path, prose=PROSE.replace("0.725", "0.74"))
    assert len(f) == 1, f
    assert f[0].startswith("notebooks/demo.ipynb markdown cell 2: '0.74' but mean of output cell 1")
    assert "gives 0.725" in f[0]


def test_rounding_is_checked_at_the_printed_precision(tmp_path):
    assert failures(tmp_path, prose=PROSE.replace("y at 0.61", "y at 0.6")) == []
    assert failures(tmp_path, prose=PROSE.replace("y at 0.61", "y at 0.62"))


def test_false_comparison_fails(tmp_path):
    f = failures(tmp_path, claims=CLAIMS.replace("mean(x) > mean(y)", "mean(x) < mean(y)"))
    assert len(f) == 1 and "claim 'x is above y' does not hold" in f[0], f


def test_unchecked_number_fails(tmp_path):
    f = failures(tmp_path, prose=PROSE + " Also 0.93 of the runs, 2.8× the KL, 12 %.")
    assert len(f) == 3, f
    assert all("is not checked by notebooks/claims/" in x for x in f)
    assert "'0.93'" in f[0] and "'2.8'" in f[1] and "'12'" in f[2]


def test_edited_words_fail(tmp_path):
    f = failures(tmp_path, prose=PROSE.replace("x ends at", "x finishes at"))
    assert any("no texts of the form 'x ends at 0.725 ± 0.035'" in x for x in f), f


def test_missing_claims_file_fails(tmp_path):
    f = failures(tmp_path, claims=None)
    assert any("no claims file" in x for x in f), f


def test_missing_output_fails(tmp_path):
    f = failures(tmp_path, claims=CLAIMS.replace('"a=y,"', '"a=z,"'))
    assert any("claims file raised KeyError" in x for x in f), f


@pytest.mark.parametrize("text,x,ok", [("0.716", 0.71617, True), ("0.74", 0.716, False),
                                       ("+0.012", 0.0117, True), ("−0.086", -0.0859, True),
                                       ("-0.022", -0.0224, True), ("+0.012", -0.012, False),
                                       ("4e-05", 3.7e-05, True), ("59", 58.6, True),
                                       ("0.7", 0.75, False)])
def test_same_number(text, x, ok):
    assert nbclaims.same_number(text, x) is ok


def test_every_notebook_has_a_claims_file():
    root = os.environ.get("RLHF_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
    nbdir = os.path.join(root, "notebooks")
    missing = [n for n in os.listdir(nbdir) if n.endswith(".ipynb")
               and not os.path.exists(nbclaims.claims_file(os.path.join(nbdir, n)))]
    assert not missing, missing


# a sweep's summary as the kernel prints it (magics/mag_bridge.h): a row per configuration
# with mean ± sd, the per-seed rows folded in <details> after it
SUMMARY = ("<table class=\"rlhf-table rlhf-means\"><thead><tr><th style=\"text-align:left\">run</th>"
           "<th style=\"text-align:right\">n</th><th style=\"text-align:right\">eval_accuracy</th>"
           "</tr></thead><tbody><tr><td style=\"text-align:left\"><code>r[a=x]</code></td>"
           "<td style=\"text-align:right\">2</td><td style=\"text-align:right\">0.7250 \u00b1 0.0354</td>"
           "</tr><tr><td style=\"text-align:left\"><code>r[a=y]</code></td><td style=\"text-align:right\">2"
           "</td><td style=\"text-align:right\">0.6100 \u00b1 0.0141</td></tr></tbody></table>"
           "<details><summary>per seed (4 runs)</summary>"
           + TABLE.replace("rlhf-table", "rlhf-table rlhf-seeds") + "</details>")


def test_summary_with_seeds_folded(tmp_path):
    """c.table(cell) is the per-seed table (the claims of per-seed values keep working);
    c.table(cell, means=True) the configurations, whose "mean ± sd" cells t.pm reads."""
    claims = CLAIMS.replace("t = c.table(1)", "t = c.table(1)\n"
                            "    m = c.table(1, means=True)\n"
                            "    assert m.keys == ['r[a=x]', 'r[a=y]'] and 'rlhf-seeds' in t.cls\n"
                            "    c.quote(2, 'y at 0.61', m.pm('r[a=y]', 'eval_accuracy')[0])\n"
                            "    c.claim(2, 'x is above y', m.pm('r[a=x]', 'eval_accuracy')[0] > "
                            "m.pm('r[a=y]', 'eval_accuracy')[0])")
    nb, path = notebook(tmp_path, claims=claims)
    nb.cells[1].outputs[1]["data"]["text/html"] = SUMMARY
    fails, c = nbclaims.check_notebook(nb, path)
    assert fails == [], fails
    assert c.n_quotes == 4 and c.n_claims == 2
    # the means are read as numbers: a wrong one is reported
    nb.cells[1].outputs[1]["data"]["text/html"] = SUMMARY.replace("0.6100", "0.6300")
    fails, _ = nbclaims.check_notebook(nb, path)
    assert len(fails) == 1 and "'0.61' but output cell 1 [r[a=y]] eval_accuracy (mean)" in fails[0], fails


def test_chart_of_one_dataset_per_panel():
    """The Vega-Lite layout of runtime/chart: one dataset per panel, rows carrying their
    series; y is the raw mean (smooth the smoothed value, not read)."""
    spec = {"hconcat": [{"title": "accuracy", "data": {"values": [
        {"series": "λ=1", "x": 1, "y": 0.5, "lo": 0.4, "hi": 0.6, "smooth": 0.5},
        {"series": "λ=1", "x": 2, "y": 0.7, "lo": 0.6, "hi": 0.8, "smooth": 0.62},
        {"series": "λ=2", "x": 1, "y": 0.1, "smooth": 0.1}]}, "layer": []}]}
    ch = nbclaims.Chart(1, spec)
    assert sorted(ch.panels["accuracy"]) == ["λ=1", "λ=2"]
    s = ch.panels["accuracy"]["λ=1"]
    assert s.y == [0.5, 0.7] and s.lo == [0.4, 0.6]
    assert s.last(1) == 0.7
