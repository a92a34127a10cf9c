"""`rlhf-kernel run FILE` while a training cell runs: a progress line on stderr built from
the live chart's frames (its title, then the first panel and its latest step).  When
stderr is not a terminal: a plain line every RLHF_PROGRESS_SECONDS (0 turns them off);
on a terminal: one line redrawn in place with '\\r' and blanked at the end of the cell.
stdout is the same with or without progress, and prints the chart once (the summary,
which repeats the final frame for consoles, is printed without that repetition)."""
import os
import pty
import re
import select
import subprocess
import tempfile

import pytest

from conftest import KERNEL_NAME, kernel_binary

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

SCRIPT = "%task add add digits=2\n# %%\n%%policy hp task=add sft_steps=300 eval_every=50\n"
TITLE = "%%policy hp: supervised pre-training on add"


def run(tmp, seconds, **kw):
    path = os.path.join(tmp, "cells.rlhf")
    with open(path, "w") as f:
        f.write(SCRIPT)
    env = dict(os.environ, RLHF_PROGRESS_SECONDS=seconds)
    return subprocess.run([kernel_binary(), "run", path], env=env, timeout=300, cwd=tmp, **kw)


def test_progress_lines_on_stderr_and_stdout_unchanged():
    with tempfile.TemporaryDirectory() as tmp:
        on = run(tmp, "0.2", capture_output=True, text=True)
        off = run(tmp, "0", capture_output=True, text=True)
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    lines = [ln for ln in on.stderr.splitlines() if TITLE in ln]
    assert len(lines) >= 2, on.stderr
    assert "\r" not in on.stderr  # not a terminal: plain lines
    # the chart's subtitle ("step N/300 · m:ss left") is among the frame's first lines
    steps = [int(m.group(1)) for ln in lines for m in [re.search(r"\bstep (\d+)/300\b", ln)] if m]
    assert len(steps) >= 2 and steps == sorted(steps) and steps[-1] <= 300, lines
    assert all(ln.startswith("rlhf-kernel run: cell 2 ") for ln in lines), lines
    assert TITLE not in off.stderr, off.stderr
    assert on.stdout == off.stdout
    # the chart's final frame once, then the table; not the frame again after the table
    assert on.stdout.count(TITLE) == 1, on.stdout
    assert re.search(r"^hp\s+finished\s+300\s", on.stdout, re.M), on.stdout
    assert on.stdout.index(TITLE) < on.stdout.index("finished")


def test_progress_on_a_terminal_is_one_line_cleared_at_the_end():
    master, slave = pty.openpty()
    with tempfile.TemporaryDirectory() as tmp:
        p = run(tmp, "5", stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert p.returncode == 0, err
    text = err.decode("utf-8", "replace")
    assert TITLE in text, text  # frames come every 250 ms: drawn at once, not every 5 s
    assert "\n" not in text.replace("\r\n", "\n").split(TITLE, 1)[1], text  # redrawn in place
    assert text.count("\r") >= 3, text
    # the end of the cell blanks the line: the last redraw is spaces, back at column 0
    assert re.search(r"\r +\r$", text), repr(text[-200:])
    assert TITLE in p.stdout
