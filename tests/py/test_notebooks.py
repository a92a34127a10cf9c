"""The quickstart notebook executed twice gives identical outputs (text/plain and SVG
strings); the headless runner `rlhf-kernel run notebooks/quickstart.ipynb --save-svg DIR`
exits 0 and writes SVG files that xmllint accepts. (Every notebook is executed by
notebook_exec.py, one meson test per notebook.)"""
import glob
import os
import shutil
import subprocess
import tempfile

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import KERNEL_NAME, kernel_binary

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf notebooks")

ROOT = os.environ.get("RLHF_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
QUICKSTART = os.path.join(ROOT, "notebooks", "quickstart.ipynb")


def execute(path):
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as d:  # files a notebook writes go to a temp dir
        NotebookClient(nb, kernel_name="rlhf", timeout=120, startup_timeout=30,
                       resources={"metadata": {"path": d}}).execute()
    return nb


def fingerprint(nb):
    """Per code cell: the output types and their text/plain and SVG strings."""
    out = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        cell = []
        for o in c.outputs:
            if o["output_type"] == "stream":
                cell.append(("stream", o["name"], o["text"]))
            elif o["output_type"] == "error":
                cell.append(("error", o["ename"], o["evalue"]))
            else:
                data = o.get("data", {})
                cell.append((o["output_type"], data.get("text/plain"),
                             data.get("image/svg+xml") or data.get("image/png")))
        out.append(cell)
    return out


def test_quickstart_twice_identical():
    a = fingerprint(execute(QUICKSTART))
    b = fingerprint(execute(QUICKSTART))
    assert a == b
    # the training cell ends with its chart (final frame, with PNG) and the summary table
    policy = [c for c in a if any(o[0] == "display_data" and o[2] for o in c)]
    assert policy, "no chart in the quickstart outputs"
    text = "".join(str(o[1]) for c in a for o in c)
    assert "eval_accuracy" in text and "pass@8" in text


def test_headless_run_saves_valid_images():
    """--save-svg writes SVG outputs (valid XML) and a chart's final frame as its PNG."""
    xmllint = shutil.which("xmllint")
    if not xmllint:
        pytest.skip("xmllint not installed (Debian libxml2-utils)")
    with tempfile.TemporaryDirectory() as d:
        svg_dir = os.path.join(d, "svg")
        r = subprocess.run([kernel_binary(), "run", QUICKSTART, "--save-svg", svg_dir],
                           capture_output=True, text=True, timeout=300, cwd=d)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "pass@8" in r.stdout
        svgs = sorted(glob.glob(os.path.join(svg_dir, "*.svg")))
        pngs = sorted(glob.glob(os.path.join(svg_dir, "*.png")))
        assert pngs, os.listdir(svg_dir)  # the quickstart's chart
        for p in pngs:
            b = open(p, "rb").read()
            assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", p
            w, h = int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")
            assert 100 <= w <= 4096 and 50 <= h <= 4096, (p, w, h)
        if svgs:
            x = subprocess.run([xmllint, "--noout"] + svgs, capture_output=True, text=True)
            assert x.returncode == 0, x.stderr[:2000]
