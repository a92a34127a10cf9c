"""One notebook of notebooks/, executed by nbclient: no cell errors, outputs valid.

tests/meson.build makes one test `notebook/<name>` per notebook (RLHF_NOTEBOOK = its
path), so meson runs them in parallel; the file is not named test_*.py so that the
generic tests/py discovery does not run every notebook a second time. In a sanitizer
build only the quickstart notebook is registered (the magic handlers run under the
sanitizers in tests/py/test_*_magic.py and test_training_cells.py)."""
import os
import tempfile
import time

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.environ["RLHF_NOTEBOOK"]


def test_notebook_executes():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:  # files a notebook writes go to a temp dir
        NotebookClient(nb, kernel_name="rlhf", timeout=300, startup_timeout=30,
                       resources={"metadata": {"path": d}}).execute()
    print(f"{os.path.basename(NOTEBOOK)}: executed in {time.perf_counter() - t0:.1f} s")
    errors = [(c.source[:200], o.get("evalue")) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    nbformat.validate(nb)
