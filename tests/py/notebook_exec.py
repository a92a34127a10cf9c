"""One notebook of notebooks/, executed by nbclient: no cell errors, outputs valid, and
its prose checked against its outputs by notebooks/claims/<name>.py (tests/py/nbclaims.py:
every number quoted in a markdown cell equals the output value at the quoted precision,
every stated comparison holds, and no unchecked result-like number is left in the prose),
and the digest of all its outputs (tests/py/nb_outputs.py) equal to the committed one in
tests/golden/notebooks.sha256: under the numerics contract every output is the same bits
on any machine, so a change that alters any number, table or chart of a notebook fails
here (update with tools/notebook-hash --update when that is the intent, and re-check the
prose).

tests/meson.build makes one test `notebook/<name>` per notebook (RLHF_NOTEBOOK = its
path), so meson runs them in parallel; the file is not named test_*.py so that the
generic tests/py discovery does not run every notebook a second time. In a sanitizer
build only the quickstart notebook is registered (the magic handlers run under the
sanitizers in tests/py/test_*_magic.py and test_training_cells.py).

RLHF_NOTEBOOK_SAVE=DIR also writes the executed notebook to DIR (to read its outputs
when editing the prose: `/usr/bin/python3 tests/py/nbclaims.py DIR/NAME.ipynb
notebooks/NAME.ipynb` then re-checks edited prose without executing again)."""
import os
import shutil
import tempfile
import time

import nbformat
from nbclient import NotebookClient

import nb_outputs
import nbclaims

NOTEBOOK = os.environ["RLHF_NOTEBOOK"]


def test_notebook_executes():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:  # files a notebook writes go to a temp dir
        # beside the notebook's data, as when it runs from notebooks/ (data/triage.tsv)
        data = os.path.join(os.path.dirname(os.path.abspath(NOTEBOOK)), "data")
        if os.path.isdir(data):
            shutil.copytree(data, os.path.join(d, "data"))
        NotebookClient(nb, kernel_name="rlhf", timeout=300, startup_timeout=30,
                       resources={"metadata": {"path": d}}).execute()
    print(f"{os.path.basename(NOTEBOOK)}: executed in {time.perf_counter() - t0:.1f} s")
    save = os.environ.get("RLHF_NOTEBOOK_SAVE")
    if save:
        os.makedirs(save, exist_ok=True)
        nbformat.write(nb, os.path.join(save, os.path.basename(NOTEBOOK)))
    errors = [(c.source[:200], o.get("evalue")) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    nbformat.validate(nb)
    failures, c = nbclaims.check_notebook(nb, NOTEBOOK)
    print(f"{os.path.basename(NOTEBOOK)}: prose checked: {c.n_quotes} quotes, "
          f"{c.n_claims} claims")
    assert not failures, "prose does not match the outputs:\n" + "\n".join(failures)
    name = os.path.basename(NOTEBOOK)
    src = os.path.dirname(os.path.dirname(os.path.abspath(NOTEBOOK)))
    digests = os.path.join(src, "tests", "golden", "notebooks.sha256")
    want = dict(reversed(line.split()) for line in open(digests) if line.strip())
    got = nb_outputs.digest(nb)
    if want.get(name) != got:
        files = os.path.join(src, "tests", "golden", "notebooks.files")
        old, cur, diff = [], nb_outputs.digest_lines(nb), ""
        if os.path.exists(files):
            lines = open(files).read().split("\n")
            if f"== {name}" in lines:
                i = lines.index(f"== {name}") + 1
                while i < len(lines) and lines[i] and not lines[i].startswith("== "):
                    old.append(lines[i])
                    i += 1
        for a, b in zip(old + ["<none>"] * len(cur), cur + ["<none>"] * len(old)):
            if a != b:
                diff = f"; first differing output: was '{a}', now '{b}'"
                break
        raise AssertionError(f"{name}: outputs differ from tests/golden/notebooks.sha256 "
                             f"(want {want.get(name)}, got {got}){diff}; if intended: "
                             "tools/notebook-hash --update, then re-check the prose")
