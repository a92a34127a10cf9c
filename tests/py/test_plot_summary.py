"""Sweep summaries and %plot for ablations (jupyter_client; issue 13 item 6):
- a sweep with seeds (lr = [a, b] x seed = [1, 2, 3]) ends with a summary of one row per
  configuration (mean ± sd over the seeds, n = 3) and the six per-seed rows folded in
  <details>; the means and sds are those of the per-seed values; every numeric column has
  the same number of decimals down the column; headers are aligned like their columns;
  the text/plain has the same two tables ("per seed:"); a single run keeps one row;
- %plot NAME draws every point of sweep cell NAME, a glob (lam[*], lam[lr=1e-3*]) the runs
  it matches, a glob that matches nothing is an error at its column;
- %plot NAME x=KEY metric=M draws the final values of M against KEY (a dot per run, the
  mean ± sd per value of KEY) equal to the per-run finals of %runs;
- %plot NAME x=kl_ref draws the curves against the logged column kl_ref.
"""
import html.parser
import csv
import math
import os
import tempfile
import re
import statistics

import pytest

from conftest import KERNEL_NAME, outputs, ok
import nbclaims

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

VL = "application/vnd.vegalite.v5+json"
TINY = "embed = 8\nhidden = 32\nbatch = 16\neval_every = 10\n"
SWEEP = ("%%policy ps\ntask = add\nsft_steps = 20\nlr = [1e-3, 3e-3]\nseed = [1, 2, 3]\n"
         + TINY)
RL = ("%%rl rk\nfrom = single\nreward = exact\nbatch = 4\ngroup = 4\nsteps = 6\n"
      "eval_every = 0\nkl = [0, 0.1]\n")


class Cells(html.parser.HTMLParser):
    """Tables of an HTML string: class, inside a <details>, rows of (text, style)."""

    def __init__(self):
        super().__init__()
        self.tables, self.details, self.cell = [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "details":
            self.details += 1
        elif tag == "table":
            self.tables.append({"cls": a.get("class", ""), "folded": self.details > 0,
                                "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self.cell = ["", a.get("style", "")]

    def handle_endtag(self, tag):
        if tag == "details":
            self.details -= 1
        elif tag in ("td", "th"):
            self.tables[-1]["rows"][-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def parse(h):
    p = Cells()
    p.feed(h)
    return p.tables


def decimals(cell):
    """Decimals of each number in a cell ('0.6065 ± 0.0123' -> [4, 4])."""
    return [len(m.group(1) or "") for m in
            re.finditer(r"-?\d+(?:\.(\d+))?(?:e[-+]\d+)?", cell)]


@pytest.fixture(scope="module")
def k(kernel):
    ok(kernel, "%task add add digits=2")
    kernel.summary = outputs(ok(kernel, SWEEP))
    return kernel


def summary_of(msgs):
    s = [m for m in msgs if m["msg_type"] == "display_data" and "text/html" in m["content"]["data"]]
    assert len(s) == 1, [m["msg_type"] for m in msgs]
    return s[0]["content"]["data"]


def test_sweep_summary_mean_sd_rows(k):
    data = summary_of(k.summary)
    tables = parse(data["text/html"])
    assert [t["folded"] for t in tables] == [False, True]
    assert "rlhf-means" in tables[0]["cls"] and "rlhf-seeds" in tables[1]["cls"]
    assert "<details><summary>per seed (6 runs)</summary>" in data["text/html"]
    means = [[c for c, _ in r] for r in tables[0]["rows"]]
    seeds = [[c for c, _ in r] for r in tables[1]["rows"]]
    assert means[0][:4] == ["run", "status", "steps", "n"], means[0]
    assert [r[0] for r in means[1:]] == ["ps[lr=1e-3]", "ps[lr=3e-3]"]
    assert all(r[1:4] == ["finished", "20", "3"] for r in means[1:]), means
    assert seeds[0][0] == "run" and len(seeds) == 7
    assert [r[0] for r in seeds[1:]] == [f"ps[lr={lr},seed={s}]" for lr in ("1e-3", "3e-3")
                                        for s in (1, 2, 3)]
    # every metric: mean ± sd of the three per-seed values (at the printed precision)
    for j, col in enumerate(means[0][4:], start=4):
        js = seeds[0].index(col)
        for r in means[1:]:
            vals = [float(s[js]) for s in seeds[1:] if s[0].startswith(r[0][:-1] + ",")]
            assert len(vals) == 3
            m, sd = nbclaims.parse_pm(r[j])
            d = decimals(r[j])[0]
            assert abs(m - statistics.fmean(vals)) <= 10 ** -d + 1e-12, (col, r, vals)
            assert abs(sd - statistics.stdev(vals)) <= 10 ** -d + 1e-12, (col, r, vals)
    # the text form: both tables, the per-seed one after "per seed:"
    text = data["text/plain"]
    assert re.search(r"^ps\[lr=1e-3\]\s+finished\s+20\s+3\s+\S+ ± \S+", text, re.M), text
    assert re.search(r"^per seed:\n run\s+status\s+steps".replace(" run", "run"), text, re.M), text
    assert re.search(r"^ps\[lr=3e-3,seed=2\]\s+finished\s+20\s", text, re.M), text


def test_fixed_decimals_and_aligned_headers(k):
    data = summary_of(k.summary)
    for t in parse(data["text/html"]):
        header, body = t["rows"][0], t["rows"][1:]
        for j, (name, hstyle) in enumerate(header):
            styles = {s for s in (r[j][1] for r in body)}
            assert styles == {hstyle}, (name, hstyle, styles)  # th aligned like its column
            if name in ("run", "status"):
                assert hstyle == "text-align:left"
                continue
            assert hstyle == "text-align:right", name
            ds = {d for r in body for d in decimals(r[j][0])}
            assert len(ds) == 1, (name, [r[j][0] for r in body])  # one precision down a column
    # text/plain: numeric headers end where their column ends
    lines = data["text/plain"].split("\n")
    hdr = lines[0]
    for name in ("steps", "n", "loss"):
        end = hdr.index(" " + name + " ") + len(name) + 1 if " " + name + " " in hdr else \
            hdr.index(" " + name) + len(name) + 1
        for row in lines[1:3]:
            assert row[end - 1] != " " and (end == len(row) or row[end] == " "), (name, hdr, row)


def test_single_run_keeps_one_row(k):
    msgs = outputs(ok(k, "%%policy single\ntask = add\nsft_steps = 10\n" + TINY))
    data = summary_of(msgs)
    tables = parse(data["text/html"])
    assert len(tables) == 1 and "<details>" not in data["text/html"]
    assert [c for c, _ in tables[0]["rows"][1]][:3] == ["single", "finished", "10"]
    assert "per seed" not in data["text/plain"]


def chart_of(msgs):
    charts = [m["content"]["data"][VL] for m in msgs
              if m["msg_type"] == "display_data" and VL in m["content"]["data"]]
    assert len(charts) == 1, [m["msg_type"] for m in msgs]
    return nbclaims.Chart(0, charts[0])


def test_plot_sweep_name_and_glob(k):
    # the runs of one cell are labelled by what varies among them (as the cell's legend)
    ch = chart_of(outputs(ok(k, "%plot ps metric=loss")))
    assert sorted(ch["loss"]) == ["lr=1e-3", "lr=3e-3"]
    ch = chart_of(outputs(ok(k, "%plot ps[*] metric=loss")))
    assert sorted(ch["loss"]) == ["lr=1e-3", "lr=3e-3"]
    # one configuration: nothing but the seed varies, the name without the seed
    ch = chart_of(outputs(ok(k, "%plot ps[lr=3e-3*] metric=loss")))
    assert list(ch["loss"]) == ["ps[lr=3e-3]"]
    ch = chart_of(outputs(ok(k, "%plot \"ps[lr=1e-3,seed=?]\" single metric=loss")))
    assert sorted(ch["loss"]) == ["ps[lr=1e-3]", "single"]
    # '[' is literal: a pattern is not a character class
    rep, _ = k.execute("%plot ps[lr=9*] metric=loss")
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == "ValueError", c
    assert c["evalue"] == "cell:1:7: no run matches 'ps[lr=9*]'", c["evalue"]
    # wildcards outside [...] need quotes (a bare p?[...] is not one word)
    ch = chart_of(outputs(ok(k, "%plot \"p?[*]\" metric=loss")))
    assert sorted(ch["loss"]) == ["lr=1e-3", "lr=3e-3"]
    rep, _ = k.execute("%plot single \"p?[x*]\"")  # ? is one character, [ is literal
    assert rep["content"]["evalue"] == "cell:1:14: no run matches 'p?[x*]'", rep["content"]
    rep, _ = k.execute("%plot ps x=nokey")
    assert rep["content"]["status"] == "error"
    assert rep["content"]["evalue"].startswith("cell:1:12: x=nokey is neither"), rep["content"]
    assert "swept keys: lr, seed" in rep["content"]["evalue"]


def finals(k):
    """{run: last loss} from %runs' table (the per-run finals)."""
    tables = parse([m for m in outputs(ok(k, "%runs"))
                    if m["msg_type"] == "display_data"][0]["content"]["data"]["text/html"])
    rows = [[c for c, _ in r] for r in tables[0]["rows"]]
    j = rows[0].index("loss")
    return {r[0]: float(r[j]) for r in rows[1:]}


def test_plot_final_values_against_a_swept_key(k):
    ch = chart_of(outputs(ok(k, "%plot ps x=lr metric=loss")))
    pan = ch["loss"]
    assert sorted(pan) == ["mean ± sd", "seeds"], list(pan)
    fin = finals(k)
    want = sorted((float(lr), fin[f"ps[lr={lr},seed={s}]"]) for lr in ("1e-3", "3e-3")
                  for s in (1, 2, 3))
    seeds = sorted(zip(pan["seeds"].x, pan["seeds"].y))
    assert len(seeds) == 6
    for (x, y), (wx, wy) in zip(seeds, want):
        assert math.isclose(x, wx, rel_tol=1e-6) and abs(y - wy) < 1e-3, (seeds, want)
    ms = pan["mean ± sd"]
    assert [round(x, 6) for x in ms.x] == [0.001, 0.003]
    for x, y, lo, hi in zip(ms.x, ms.y, ms.lo, ms.hi):
        vals = [wy for wx, wy in want if math.isclose(wx, x, rel_tol=1e-6)]
        assert abs(y - statistics.fmean(vals)) < 1e-3
        assert abs((hi - lo) / 2 - statistics.stdev(vals)) < 1e-3 and hi > lo
    # a key with string values is drawn as categories 1, 2, ... named in the axis title
    ok(k, "%%policy cat\ntask = add\nsft_steps = 10\nact = [relu, gelu]\n" + TINY)
    msgs = outputs(ok(k, "%plot cat x=act metric=loss"))
    spec = str([m["content"]["data"][VL] for m in msgs if m["msg_type"] == "display_data"][0])
    assert "act: 1 relu · 2 gelu" in spec
    assert sorted(chart_of(msgs)["loss"]["seeds"].x) == [1, 2]


def test_plot_final_values_split_by_another_key(k):
    """With two swept keys, x=lr draws a pair of series (seeds, mean ± sd) per value of
    the other key; the seed is never a group."""
    ok(k, "%%policy g2\ntask = add\nsft_steps = 10\nlr = [1e-3, 3e-3]\nact = [relu, gelu]\n"
          "seed = [1, 2]\n" + TINY)
    pan = chart_of(outputs(ok(k, "%plot g2 x=lr metric=loss")))["loss"]
    assert sorted(pan) == ["act=gelu", "act=gelu · seeds", "act=relu", "act=relu · seeds"], list(pan)
    fin = finals(k)
    for act in ("relu", "gelu"):
        assert len(pan[f"act={act} · seeds"].x) == 4
        assert [round(x, 6) for x in pan[f"act={act}"].x] == [0.001, 0.003]
        for x, y in zip(pan[f"act={act}"].x, pan[f"act={act}"].y):
            lr = "1e-3" if round(x, 6) == 0.001 else "3e-3"
            vals = [v for name, v in fin.items() if name.startswith("g2[")
                    and {f"lr={lr}", f"act={act}"} <= set(name[3:-1].split(","))]
            assert len(vals) == 2, fin
            assert abs(y - statistics.fmean(vals)) < 1e-3, (act, x, y, vals)


def test_plot_against_a_logged_column(k):
    ok(k, "%%policy single\ntask = add\nsft_steps = 10\n" + TINY)
    ok(k, "%%reward exact c=0.01\ncorrect - c * length")
    ok(k, RL)
    ch = chart_of(outputs(ok(k, "%plot rk x=kl_ref metric=reward smooth=0")))
    assert set(ch["reward"]) == {"kl=0", "kl=0.1"}
    # the x values are the run's kl_ref values, step by step (not the steps 1..6)
    kl = chart_of(outputs(ok(k, "%plot rk metric=kl_ref smooth=0")))["kl_ref"]
    rw = chart_of(outputs(ok(k, "%plot rk metric=reward smooth=0")))["reward"]
    for name in ("kl=0", "kl=0.1"):
        assert kl[name].x == [1, 2, 3, 4, 5, 6]
        xs = ch["reward"][name].x
        assert len(xs) == 6 and all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-12)
                                    for a, b in zip(xs, kl[name].y)), (xs, kl[name].y)
        assert ch["reward"][name].y == rw[name].y
    assert "kl_ref" in str([m for m in outputs(ok(k, "%plot rk x=kl_ref metric=reward"))
                            if m["msg_type"] == "display_data"][0]["content"]["data"][VL])


def test_band_against_a_logged_column_sits_at_the_mean_x(k):
    """x=COLUMN over a seed band: the seeds' kl_ref differ, so point i of the mean curve is
    at the mean of their kl_ref at i (as its y is the mean of their y), not at one seed's."""
    ok(k, "%%policy single\ntask = add\nsft_steps = 10\n" + TINY)
    ok(k, "%%reward exact c=0.01\ncorrect - c * length")
    ok(k, RL.replace("%%rl rk", "%%rl rs").replace("kl = [0, 0.1]", "kl = 0\nseed = [1, 2]"))
    band = chart_of(outputs(ok(k, "%plot rs x=kl_ref metric=reward smooth=0")))["reward"]["rs"]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rs.csv")
        ok(k, f"%export {path} rs[seed=1] rs[seed=2]")
        with open(path) as f:
            rows = list(csv.DictReader(f))
    per = [[float(r["kl_ref"]) for r in rows if r["run"] == f"rs[seed={s}]" and r["reward"]]
           for s in (1, 2)]
    assert per[0] != per[1]
    want = [(a + b) / 2 for a, b in zip(*per)]
    assert len(band.x) == 6 and all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-12)
                                    for a, b in zip(band.x, want)), (band.x, want)
