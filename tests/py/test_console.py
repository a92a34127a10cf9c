"""jupyter-console (Debian) driven non-interactively: `--simple-prompt`, cells piped on
stdin; the echoed text and the arithmetic result appear, and the console exits cleanly
(shutting the kernel down) at end of input."""
import os
import subprocess
import sys

from conftest import KERNEL_NAME, S


def test_console_pipes_cells():
    cells = [S["echo"]("hello-console"), S["result"][0]]
    r = subprocess.run(
        [sys.executable, "-m", "jupyter_console", "--kernel", KERNEL_NAME, "--simple-prompt",
         "--ZMQTerminalInteractiveShell.confirm_exit=False"],
        input="\n\n".join(cells) + "\n\n", capture_output=True, text=True, timeout=60,
        env=dict(os.environ, TERM="dumb"))
    out = r.stdout
    assert r.returncode == 0, (r.returncode, out, r.stderr)
    assert "hello-console" in out, out
    assert S["result"][1] in out.split("hello-console", 1)[1], out
    assert "Shutting down kernel" in out, out
