"""The audit's B11 repro over a real kernel (issue 12): a policy saved in one kernel and
loaded in another brings its task with it, so `%eval` works at once (it used to say
"policy 'base2' has no task; give one with task=TASK"), and its lineage shows in
`%who NAME`; `%reset` empties a kernel's session and keeps its settings.
"""
import os
import tempfile

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")


def test_load_in_a_new_kernel_restores_the_task(kernel, new_kernel):
    path = os.path.join(tempfile.mkdtemp(), "base.pol")
    ok(kernel, "%task ad add digits=2")
    ok(kernel, "%%policy base\ntask = ad\nsft_steps = 20\nbatch = 32")
    msgs = ok(kernel, "%%save base %s" % path)
    assert "saved policy 'base' (task ad) to " in stream_text(msgs)
    # another kernel: nothing defined
    k2 = new_kernel()
    msgs = ok(k2, "%%load base2 %s" % path)
    text = stream_text(msgs)
    assert "task ad: task add digits=2 noise=0 (from %s)" % path in text
    assert "policy base2: mlp V=32" in text and "(task ad)" in text
    msgs = ok(k2, "%eval base2 n=16 k=0")
    assert any("held-out accuracy" in str(o) for o in outputs(msgs))
    text = stream_text(ok(k2, "%who base2"))
    assert "  task = ad\n" in text
    assert "  loaded = %s (saved as base)\n" % path in text
    # %reset empties the session, the seed stays
    ok(k2, "%seed 5")
    assert "kept seed 5" in stream_text(ok(k2, "%reset"))
    assert "no objects defined" in who(k2)
    ok(k2, "%seed 0")
