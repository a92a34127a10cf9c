"""nbclient executes small notebooks built with nbformat: %echo (stream), arithmetic
(execute_result with the right execution_count), %display (display_data); a failing cell
raises CellExecutionError carrying the kernel's error."""
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import KERNEL_NAME, S


def run(cells, **kw):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=30, startup_timeout=30, **kw).execute()
    return nb


def test_notebook_outputs():
    nb = run([S["echo"]("hello-nb"), S["result"][0], S["display"]("shown-in-nb")])
    c1, c2, c3 = nb.cells
    assert [o["output_type"] for o in c1.outputs] == ["stream"]
    assert c1.outputs[0]["name"] == "stdout"
    assert c1.outputs[0]["text"] == "hello-nb\n"
    assert c1.execution_count == 1
    assert [o["output_type"] for o in c2.outputs] == ["execute_result"]
    assert c2.outputs[0]["data"]["text/plain"] == S["result"][1]
    assert c2.outputs[0]["execution_count"] == c2.execution_count == 2
    assert [o["output_type"] for o in c3.outputs] == ["display_data"]
    assert "shown-in-nb" in c3.outputs[0]["data"]["text/plain"]
    nbformat.validate(nb)


def test_notebook_error_cell():
    with pytest.raises(CellExecutionError) as e:
        run([S["echo"]("ok"), S["error"], S["echo"]("never")])
    if KERNEL_NAME == "rlhf":
        assert "cell:1:" in str(e.value)
