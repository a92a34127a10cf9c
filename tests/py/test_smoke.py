"""Smoke test: install the kernelspec into a temporary prefix, start the kernel through
jupyter_client's KernelManager, ask kernel_info, execute two cells, shut down."""
import os
import subprocess

from jupyter_client.manager import KernelManager


def test_smoke(tmp_path, monkeypatch):
    kernel = os.environ["RLHF_KERNEL"]
    subprocess.run([kernel, "install", "--prefix", str(tmp_path)], check=True,
                   stdout=subprocess.DEVNULL)
    spec_dir = tmp_path / "share" / "jupyter" / "kernels" / "rlhf"
    assert (spec_dir / "kernel.json").exists()
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))

    km = KernelManager(kernel_name="rlhf")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=10)
        info = kc.kernel_info(reply=True, timeout=5)["content"]
        assert info["status"] == "ok"
        assert info["language_info"]["name"] == "rlhf"
        assert info["protocol_version"] == "5.3"

        out = []
        reply = kc.execute_interactive("%echo hi", timeout=10, output_hook=out.append)
        assert reply["content"]["status"] == "ok"
        streams = [m["content"]["text"] for m in out if m["msg_type"] == "stream"]
        assert streams == ["hi\n"]

        out = []
        reply = kc.execute_interactive("(7-2)*3", timeout=10, output_hook=out.append)
        assert reply["content"]["status"] == "ok"
        results = [m["content"] for m in out if m["msg_type"] == "execute_result"]
        assert len(results) == 1
        assert results[0]["data"]["text/plain"] == "15"
        assert results[0]["execution_count"] == reply["content"]["execution_count"] == 2
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not km.is_alive()
