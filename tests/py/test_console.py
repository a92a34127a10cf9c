"""jupyter-console (Debian) driven non-interactively: `--simple-prompt`, cells written to
its stdin; the echoed text and the arithmetic result appear, and the console exits cleanly
(shutting the kernel down) at end of input.

jupyter-console does not wait for its IOPub subscription before the first execute (a
slow-joiner race that can make it wait forever for an `idle` it never receives, with any
kernel), so the test feeds each cell only once the prompt is shown, plus a short pause.
"""
import os
import re
import subprocess
import sys
import threading
import time

from conftest import KERNEL_NAME, S


class Reader(threading.Thread):
    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.buf, self.lock = stream, "", threading.Lock()

    def run(self):
        while True:
            c = self.stream.read(1)
            if not c:
                return
            with self.lock:
                self.buf += c

    def wait_for(self, text, timeout=30, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                i = self.buf.find(text, start)
            if i >= 0:
                return i + len(text)
            time.sleep(0.01)
        raise AssertionError(f"{text!r} not seen in console output:\n{self.buf}")


def test_console_runs_cells():
    p = subprocess.Popen(
        [sys.executable, "-m", "jupyter_console", "--kernel", KERNEL_NAME, "--simple-prompt"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TERM="dumb"))
    out = Reader(p.stdout)
    err = Reader(p.stderr)
    out.start()
    err.start()
    try:
        pos = out.wait_for("In [1]: ")
        time.sleep(0.3)
        p.stdin.write(S["echo"]("hello-console") + "\n")
        p.stdin.flush()
        pos = out.wait_for("hello-console", start=pos)
        pos = out.wait_for("In [2]: ", start=pos)
        p.stdin.write(S["result"][0] + "\n")
        p.stdin.flush()
        pos = out.wait_for(S["result"][1], start=pos)
        out.wait_for("In [3]: ", start=pos)
        p.stdin.close()  # EOF: the console asks to confirm, reads EOF again, and exits
        rc = p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out.join(2)
    assert rc == 0, (rc, out.buf, err.buf)
    assert "Shutting down kernel" in out.buf, out.buf


def test_console_shows_sparklines_after_a_training_cell():
    """jupyter-console ignores update_display_data: it shows the chart's first frame
    ("(no data)") and then only what follows.  The summary after a training cell ends with
    the final frame's text, so the console shows the learned curve (sparklines with the
    last step) after the table."""
    p = subprocess.Popen(
        [sys.executable, "-m", "jupyter_console", "--kernel", KERNEL_NAME, "--simple-prompt"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TERM="dumb"))
    out = Reader(p.stdout)
    err = Reader(p.stderr)
    out.start()
    err.start()
    try:
        pos = out.wait_for("In [1]: ")
        time.sleep(0.3)
        p.stdin.write("%task add add digits=2\n")
        p.stdin.flush()
        pos = out.wait_for("In [2]: ", start=pos)
        time.sleep(0.3)
        # --simple-prompt reads one line per cell: the keys go on the header line
        p.stdin.write("%%policy sp task=add sft_steps=120 embed=8 hidden=32 batch=16 "
                      "eval_every=20\n")
        p.stdin.flush()
        table = out.wait_for("finished", start=pos, timeout=120)
        end = out.wait_for("In [3]: ", start=table, timeout=60) - len("In [3]: ")
        after = out.buf[table:end]
        p.stdin.close()
        p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out.join(2)
    # after the table: the chart's title, each panel and its curve up to the last step
    assert "%%policy sp: supervised pre-training on add" in after, out.buf
    spark = re.findall(r"^  sp  ([\u2581-\u2588 ]+)  \S+ \(step 120\)$", after, re.M)
    assert len(spark) >= 2, after  # loss and accuracy
    assert len(set(spark[0].strip())) > 1, after  # the loss curve is a curve
