"""Checks a notebook's prose against its executed outputs.

The project rule: a notebook states only what its numbers show, and the repository checks
it.  Each notebook NAME.ipynb has a claims file notebooks/claims/NAME.py defining
`check(c)`, where `c` is a `Claims` object over the executed notebook.  The claims file

* reads values from the outputs: `c.table(cell)` (an HTML table of a code cell's
  outputs: rows by their first column, `t.col("eval_accuracy", "algo=rloo")`; for a
  sweep with seeds the training cell's summary is two tables, a row per configuration
  with "mean ± sd" and n (`c.table(cell, means=True)`, `t.pm("rl[algo=rloo]", "kl_ref")`)
  and the per-seed rows folded in a <details> after it, which `c.table(cell)` returns as
  the last table: rows by run name, `t.col("eval_accuracy", "algo=rloo,")`),
  `c.chart(cell)` (a chart's Vega-Lite data: per panel and series, the points
  x, y and the band lo/hi, i.e. the mean +- sd over seeds), `c.value(cell, regex)`;
* ties every number of the prose to a value:
  `c.quote(md_cell, "| rloo | 0.716 ± 0.041 |", m, s)` asserts that the snippet occurs in
  markdown cell `md_cell` and that each number in it equals the given value at the
  number's printed precision (None = a label, not a result);
* ties every comparison of the prose to an assertion:
  `c.claim(md_cell, "snippet of the sentence", condition, "what was compared")`;
* declares numbers of the prose that are settings or definitions, not results:
  `c.given(md_cell, "60 %", "noise = 0.6")`.

After `check(c)` a generic guard fails on any result-like number of a markdown cell
(a decimal such as 0.74, 4e-05, a percentage, a factor such as 2.8× or "6 times") that no
quote or given covers and that does not appear in a code cell's source (settings such as
lr = 2e-3) or inside a `code span` of the prose.  So new prose cannot slip in unchecked.

Values carry their provenance, so a failure reads
    notebooks/X.ipynb markdown cell 9: '0.74' but output cell 8 gives 0.7162 (mean of ...)

Run standalone on an executed copy (the prose may come from another file with the same
cells, e.g. the edited notebook while the outputs come from an earlier execution):
    /usr/bin/python3 tests/py/nbclaims.py EXECUTED.ipynb [PROSE.ipynb]
"""
import html.parser
import importlib.util
import json
import math
import os
import re
import statistics
import sys

import nbformat

# A number as written in prose: optional sign (ASCII or Unicode minus, plus), digits, an
# optional fraction and exponent.  Not part of a word (k1, f6, v5) or of a longer number.
NUM = re.compile(r"(?<![\w.^])([-−+]?)(\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\w.]*\d)(?!\w)")
# result-like numbers the guard insists on: decimals, scientific notation, percentages,
# factors (2.8×, 6 times)
RESULT_LIKE = re.compile(
    r"(?<![\w.^])\d+\.\d+(?:e[-+]?\d+)?(?!\w)"      # 0.74, 2.45, 1.5e-3
    r"|(?<![\w.^])\d+e[-+]?\d+(?!\w)"               # 4e-05
    r"|(?<![\w.^])\d+(?:\.\d+)?(?=\s?%)"            # 59 %, 98.8 %
    r"|(?<![\w.^])\d+(?:\.\d+)?(?=\s?×|\s+times\b)"  # 2.8×, 6 times
)
CODE_SPAN = re.compile(r"`[^`\n]*`")


class Val(float):
    """A float with its provenance ("output cell 8 ...")."""

    def __new__(cls, x, src):
        v = float.__new__(cls, x)
        v.src = src
        return v


def val(x, src):
    return x if isinstance(x, Val) else Val(x, src)


class Vals(list):
    """Values of one column over several rows, with a description."""

    def __init__(self, items, desc):
        super().__init__(items)
        self.desc = desc


def mean(xs):
    return Val(statistics.fmean(xs), f"mean of {_desc(xs)}")


def sd(xs):
    """Sample standard deviation (n - 1), as the kernel's charts and tables print it."""
    return Val(statistics.stdev(xs), f"sd of {_desc(xs)}")


def diff(a, b):
    return Val(float(a) - float(b), f"{_src(a)} minus {_src(b)}")


def ratio(a, b):
    return Val(float(a) / float(b), f"{_src(a)} divided by {_src(b)}")


class Paired:
    """Paired differences over seeds (pipelines): a %compare row (Table.compare) or the
    per-seed differences of two value lists (paired()).  mean, sd, se are Vals; up and
    down count the positive and negative differences (Vals too, so prose can quote
    "3 of 5 up"); n is the number of pairs."""

    def __init__(self, mean, sd, se, up, down, n, diffs=None):
        self.mean, self.sd, self.se, self.up, self.down, self.n = mean, sd, se, up, down, n
        self.diffs = diffs

    def resolved(self, k=2):
        """|mean| above k standard errors."""
        return abs(self.mean) > k * self.se


def paired(a, b, what):
    """The paired differences a[i] - b[i] (same seeds, same order)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"paired {what}: {len(a)} vs {len(b)} values")
    d = [float(x) - float(y) for x, y in zip(a, b)]
    s = statistics.stdev(d)
    return Paired(Val(statistics.fmean(d), f"mean of paired {what}"), Val(s, f"sd of paired {what}"),
                  Val(s / math.sqrt(len(d)), f"se of paired {what}"),
                  Val(sum(x > 0 for x in d), f"count > 0 of paired {what}"),
                  Val(sum(x < 0 for x in d), f"count < 0 of paired {what}"), len(d), d)


def _src(x):
    return getattr(x, "src", None) or repr(float(x))


def _desc(xs):
    if isinstance(xs, Vals):
        return xs.desc
    return "[" + ", ".join(_src(x) for x in xs) + "]"


def fmt_like(text, x):
    """x formatted with the precision, exponent style and sign style of the number `text`
    as written in prose ('0.716', '+0.012', '−0.086', '4e-05')."""
    sign = text[:1] if text[:1] in "+-−" else ""
    body = text[len(sign):]
    if "e" in body:
        mant, exp = body.split("e")
        d = len(mant.split(".")[1]) if "." in mant else 0
        m, e = f"{abs(x):.{d}e}".split("e")
        width = len(exp.lstrip("+-"))
        e = int(e)
        s = f"{m}e{'-' if e < 0 else ('+' if exp[:1] == '+' else '')}{abs(e):0{width}d}"
    else:
        d = len(body.split(".")[1]) if "." in body else 0
        s = f"{abs(x):.{d}f}"
    if float(s) == 0:
        return sign + s
    if x < 0:
        return (sign if sign in "-−" and sign else "-") + s
    return ("+" if sign else "") + s


def same_number(text, x):
    """Does the number `text` (as written in prose) equal x at its own precision?"""
    if x is None or math.isnan(x):
        return False
    return fmt_like(text, x) == text


class _TableParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._row, self._in = [], None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": [],
                                "cls": dict(attrs).get("class") or ""})
        elif tag == "caption":
            self._in = "caption"
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        t = self.tables[-1] if self.tables else None
        if tag == "caption":
            self._in = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and t is not None:
            if not t["header"]:
                t["header"] = self._row
            else:
                t["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._in == "caption" and self.tables:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell += data


def parse_number(s):
    """The leading number of a table cell ('0.8649 ± 0.006045' -> 0.8649); NaN if none."""
    m = re.match(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|nan|inf)", s)
    return float(m.group(1)) if m else math.nan


def parse_pm(s):
    """'0.8649 ± 0.006045 (2)' -> (0.8649, 0.006045)."""
    m = re.match(r"\s*(\S+)\s*±\s*(\S+)", s)
    return (float(m.group(1)), float(m.group(2))) if m else (parse_number(s), math.nan)


class Table:
    def __init__(self, cell, caption, header, rows, cls=""):
        self.cell, self.caption, self.header, self.rows = cell, caption, header, rows
        self.keys = [r[0] for r in rows]
        # "rlhf-means": a summary's row per configuration; "rlhf-seeds": its per-seed rows
        self.cls = cls.split()

    def _where(self):
        return f"output cell {self.cell}" + (f" ({self.caption.split(':')[0]})" if self.caption else "")

    def row(self, key):
        hits = [r for r in self.rows if r[0] == key]
        if not hits:
            raise KeyError(f"{self._where()}: no row {key!r} (rows: {self.keys})")
        return hits[0]

    def get(self, key, col, pm=False):
        r = self.row(key)
        j = self.header.index(col)
        if pm:
            m, s = parse_pm(r[j])
            return (Val(m, f"{self._where()} [{key}] {col} (mean)"),
                    Val(s, f"{self._where()} [{key}] {col} (sd)"))
        return Val(parse_number(r[j]), f"{self._where()} [{key}] {col}")

    def pm(self, key, col):
        """(mean, sd) of a "MEAN ± SD" cell (a summary's row per configuration)."""
        return self.get(key, col, pm=True)

    def compare(self, key):
        """Row `key` of a %compare table as Paired (its columns \u0394 mean, sd \u0394,
        se \u0394, \u0394>0, \u0394<0 and n)."""
        r = self.row(key)

        def count(h):
            return Val(int(r[self.header.index(h)].split("/")[0]), f"{self._where()} [{key}] {h}")

        n = int(r[self.header.index("n")]) if "n" in self.header else None
        return Paired(self.get(key, "\u0394 mean"), self.get(key, "sd \u0394"),
                      self.get(key, "se \u0394"), count("\u0394>0"), count("\u0394<0"), n)

    def col(self, col, *contains):
        """Column `col` over the rows whose key contains every string of `contains`."""
        if col not in self.header:
            raise KeyError(f"{self._where()}: no column {col!r} (columns: {self.header})")
        keys = [k for k in self.keys if all(s in k for s in contains)]
        if not keys:
            raise KeyError(f"{self._where()}: no row contains {contains} (rows: {self.keys})")
        return Vals([self.get(k, col) for k in keys],
                    f"{self._where()}: {col} of the {len(keys)} rows "
                    + (" and ".join(repr(s) for s in contains) or "(all)"))


class Series:
    def __init__(self, src, points):
        self.src = src
        self.x = [p["x"] for p in points]
        self.y = [p["y"] for p in points]
        self.lo = [p.get("lo", p["y"]) for p in points]
        self.hi = [p.get("hi", p["y"]) for p in points]

    def window(self, first, last, what="y"):
        """Mean of `what` over the points with first <= x <= last."""
        vs = [v for x, v in zip(self.x, getattr(self, what)) if first <= x <= last]
        assert vs, f"{self.src}: no point in steps {first}..{last}"
        return Val(statistics.fmean(vs), f"mean of {self.src} over steps {first}-{last}")

    def last(self, n):
        return self.window(self.x[-n], self.x[-1])

    def first(self, n):
        return self.window(self.x[0], self.x[n - 1])


class Chart:
    """Vega-Lite data of a chart: panels[title][series] -> Series (mean curve, band)."""

    def __init__(self, cell, spec):
        self.cell, self.panels = cell, {}

        def walk(node, title):
            if isinstance(node, dict):
                title = node.get("title", title) if isinstance(node.get("title"), str) else title
                vals = node.get("data", {}).get("values") if isinstance(node.get("data"), dict) else None
                if vals and isinstance(vals[0], dict) and "series" in vals[0]:
                    # one dataset per panel, rows {series, x, y[, lo, hi][, smooth]}: y is
                    # the raw (mean) value, lo/hi the band as drawn (runtime/chart)
                    rows = {}
                    for r in vals:
                        rows.setdefault(r["series"], []).append(r)
                    for name, pts in rows.items():
                        self.panels.setdefault(title, {})[name] = Series(
                            f"output cell {cell} chart {title!r} series {name!r}", pts)
                elif vals and isinstance(vals[0], dict) and "x" in vals[0] and "y" in vals[0]:
                    name = None
                    for t in node.get("transform", []):
                        if t.get("as") == "series":
                            name = json.loads(t["calculate"])
                    if name is not None:
                        self.panels.setdefault(title, {})[name] = Series(
                            f"output cell {cell} chart {title!r} series {name!r}", vals)
                for k, v in node.items():
                    if k != "data":
                        walk(v, title)
            elif isinstance(node, list):
                for v in node:
                    walk(v, title)

        walk(spec, None)

    def __getitem__(self, panel):
        if panel not in self.panels:
            raise KeyError(f"output cell {self.cell}: no chart panel {panel!r} ({list(self.panels)})")
        return self.panels[panel]


class Claims:
    def __init__(self, nb, name, prose=None):
        """nb: the executed notebook; prose: a notebook with the same cells whose
        markdown is checked (default: nb's own)."""
        self.nb, self.name = nb, name
        prose = prose or nb
        if len(prose.cells) != len(nb.cells):
            raise ValueError(f"{name}: prose has {len(prose.cells)} cells, outputs {len(nb.cells)}")
        self.md = {i: c.source for i, c in enumerate(prose.cells) if c.cell_type == "markdown"}
        self.code_numbers = {m.group(2) for c in nb.cells if c.cell_type == "code"
                             for m in NUM.finditer(c.source)}
        self.failures, self.covered, self.n_quotes, self.n_claims = [], set(), 0, 0

    # ---- outputs -------------------------------------------------------------------
    def _outputs(self, cell):
        c = self.nb.cells[cell]
        if c.cell_type != "code":
            raise ValueError(f"{self.name}: cell {cell} is not a code cell")
        return c.outputs

    def text(self, cell):
        out = []
        for o in self._outputs(cell):
            if o["output_type"] == "stream":
                out.append(o["text"])
            elif "data" in o:
                out.append(o["data"].get("text/plain", ""))
        return "\n".join(out)

    def tables(self, cell):
        ts = []
        for o in self._outputs(cell):
            h = o.get("data", {}).get("text/html")
            if h:
                p = _TableParser()
                p.feed(h)
                ts += [Table(cell, t["caption"], t["header"], t["rows"], t["cls"])
                       for t in p.tables]
        return ts

    def table(self, cell, caption=None, header=None, means=False):
        """The table of output cell `cell` whose caption contains `caption` or whose
        header contains the column `header` (default: the only or last table, for a
        sweep's summary its per-seed rows); means=True: a summary's table of
        configurations (mean ± sd over seeds)."""
        ts = self.tables(cell)
        if means:
            ts = [t for t in ts if "rlhf-means" in t.cls]
        if caption:
            ts = [t for t in ts if caption in t.caption]
        if header:
            ts = [t for t in ts if header in t.header]
        if not ts:
            raise KeyError(f"{self.name}: output cell {cell} has no table "
                           f"(caption {caption!r}, header {header!r})")
        return ts[-1]

    def chart(self, cell, index=0):
        specs = [o["data"]["application/vnd.vegalite.v5+json"] for o in self._outputs(cell)
                 if "application/vnd.vegalite.v5+json" in o.get("data", {})]
        if len(specs) <= index:
            raise KeyError(f"{self.name}: output cell {cell} has {len(specs)} charts")
        return Chart(cell, specs[index])

    def value(self, cell, regex, group=1):
        m = re.search(regex, self.text(cell))
        if not m:
            raise KeyError(f"{self.name}: output cell {cell}: no match for {regex!r}")
        return Val(float(m.group(group)), f"output cell {cell} ({m.group(0).strip()!r})")

    # ---- prose ---------------------------------------------------------------------
    def _fail(self, md, msg):
        self.failures.append(f"notebooks/{self.name} markdown cell {md}: {msg}")

    def _snippet(self, md, snippet):
        if md not in self.md:
            self._fail(md, "is not a markdown cell")
            return False
        if snippet not in self.md[md]:
            self._fail(md, f"the text {snippet!r} is not in the cell (prose edited? update "
                           f"notebooks/claims/)")
            return False
        return True

    def quote(self, md, snippet, *values):
        """Each number in `snippet` equals the corresponding value at its printed precision
        (None marks a label).  The snippet is a template: its words must occur in markdown
        cell `md` as written, its numbers are read from the prose, so an edited number is
        reported as "'0.74' but output cell 8 ... gives 0.7162"."""
        self.n_quotes += 1
        if md not in self.md:
            self._fail(md, "is not a markdown cell")
            return
        ms = list(NUM.finditer(snippet))
        if len(ms) != len(values):
            self._fail(md, f"{snippet!r} has {len(ms)} numbers "
                           f"{[m.group(0) for m in ms]}, the claims file gives {len(values)} values")
            return
        if snippet in self.md[md]:
            nums = [m.group(1) + m.group(2) for m in ms]
        else:  # the words as written, the numbers (not the labels) from the prose
            pattern, last = "", 0
            for m, v in zip(ms, values):
                pattern += re.escape(snippet[last:m.start()])
                pattern += (re.escape(m.group(0)) if v is None
                            else r"([-−+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
                last = m.end()
            found = list(re.finditer(pattern + re.escape(snippet[last:]), self.md[md]))
            if len(found) != 1:
                self._fail(md, f"{'no' if not found else len(found)} texts of the form "
                               f"{snippet!r} in the cell (prose edited? update notebooks/claims/)")
                return
            it = iter(found[0].groups())
            nums = [m.group(1) + m.group(2) if v is None else next(it) for m, v in zip(ms, values)]
        for text, v in zip(nums, values):
            self.covered.add((md, text.lstrip("+-−")))
            if v is None:
                continue
            if not same_number(text, float(v)):
                self._fail(md, f"'{text}' but {_src(v)} gives {float(v):.6g} "
                               f"(= '{fmt_like(text, float(v))}' at the printed precision)")

    def given(self, md, snippet, why):
        """The numbers of `snippet` are settings or definitions (`why`), not results."""
        if not self._snippet(md, snippet):
            return
        for m in NUM.finditer(snippet):
            self.covered.add((md, m.group(2)))

    def claim(self, md, snippet, cond, detail=""):
        """A comparison or conclusion stated by `snippet` holds (`cond`).  Numbers in the
        snippet are the claim's own thresholds ("below 0.001"): `cond` must test them."""
        self.n_claims += 1
        if not self._snippet(md, snippet):
            return
        for m in NUM.finditer(snippet):
            self.covered.add((md, m.group(2)))
        if not cond:
            self._fail(md, f"claim {snippet!r} does not hold: {detail}")

    # ---- the guard -----------------------------------------------------------------
    def guard(self):
        for md, text in self.md.items():
            stripped = CODE_SPAN.sub(" ", text)
            for m in RESULT_LIKE.finditer(stripped):
                num = m.group(0)
                if (md, num) in self.covered or num in self.code_numbers:
                    continue
                a, b = max(0, m.start() - 40), min(len(stripped), m.end() + 20)
                ctx = stripped[a:b].replace("\n", " ")
                self._fail(md, f"'{num}' is not checked by notebooks/claims/ (…{ctx}…): "
                               f"quote it with c.quote, or declare it a setting with c.given")


def claims_file(notebook_path):
    d, base = os.path.split(os.path.abspath(notebook_path))
    return os.path.join(d, "claims", os.path.splitext(base)[0] + ".py")


def check_notebook(nb, notebook_path, prose=None):
    """Runs the claims file of `notebook_path` on executed `nb`; returns (failures, c)."""
    name = os.path.basename(notebook_path)
    c = Claims(nb, name, prose)
    path = claims_file(notebook_path)
    if not os.path.exists(path):
        c.failures.append(f"notebooks/{name}: no claims file {os.path.relpath(path)}")
    else:
        spec = importlib.util.spec_from_file_location("claims_" + name.replace("-", "_")[:-6], path)
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        try:
            spec.loader.exec_module(mod)
            mod.check(c)
        except Exception as e:  # a value the claims file expects is missing from the outputs
            c.failures.append(f"notebooks/{name}: claims file raised {type(e).__name__}: {e}")
        finally:
            sys.path.pop(0)
    c.guard()
    return c.failures, c


def main():
    executed = nbformat.read(sys.argv[1], as_version=4)
    prose_path = sys.argv[2] if len(sys.argv) > 2 else None
    prose = nbformat.read(prose_path, as_version=4) if prose_path else None
    failures, c = check_notebook(executed, prose_path or sys.argv[1], prose)
    print("\n".join(failures) or f"ok: {c.n_quotes} quotes, {c.n_claims} claims")
    return 1 if failures else 0


if __name__ == "__main__":  # through the module, so that claims files share its classes
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import nbclaims
    sys.exit(nbclaims.main())
