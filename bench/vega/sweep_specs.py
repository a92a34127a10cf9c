"""Writes the Vega-Lite frames of an 18-run sweep as the kernel sends them.

Runs the λ sweep of notebooks/on-policy-distillation.ipynb (`%%opd lam`: 6 λ values x
3 seeds, 200 steps, held-out evaluation every 25 steps) through the built rlhf kernel
over the Jupyter protocol (jupyter_client; the kernelspec is installed into a temporary
prefix, never the user's dirs), records every display_data / update_display_data of
the sweep cell that carries application/vnd.vegalite.v5+json, and writes

  OUT/sweep18-final.vl.json   the last frame (the final one: every run finished)
  OUT/sweep18-live.vl.json    the live frame half-way through the cell's frames
  OUT/sweep18-frames.json     {"frames": N, "bytes": [...], "final_has_png": bool}

Usage: /usr/bin/python3 sweep_specs.py KERNEL OUT_DIR [--steps N] [--timeout S]
Exit 0 on success, 1 when the kernel fails or sends no Vega-Lite frame.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VL_MIME = "application/vnd.vegalite.v5+json"

SETUP_CELLS = [
    "%task add add digits=2",
    "%%policy base\ntask = add\nsft_steps = 600\nnoise = 0.8\nembed = 16\nhidden = 128\nlr = 3e-3",
    "%%reward exact\ncorrect",
    "%%rl teacher\nfrom = base\nreward = exact\nalgo = grpo\ngroup = 8\nbatch = 32\nsteps = 60\n"
    "lr = 2e-3\neval_every = 20\neval_prompts = 2000",
]


def sweep_cell(steps):
    return ("%%opd lam\nfrom = base\nteacher = teacher\nlambda = [0.5, 1, 1.25, 1.5, 2, 3]\n"
            f"seed = [1, 2, 3]\nsteps = {steps}\nbatch = 64\nlr = 2e-3\neval_every = 25\n"
            "eval_prompts = 2000")


def run_cell(kc, code, timeout):
    """Executes code; returns the iopub messages of that request. Raises on an error."""
    msg_id = kc.execute(code, store_history=False)
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"cell did not finish within {timeout} s: {code.splitlines()[0]}")
        msg = kc.get_iopub_msg(timeout=left)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "error":
            raise RuntimeError(f"cell {code.splitlines()[0]!r} failed: "
                               f"{msg['content']['ename']}: {msg['content']['evalue']}")
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            return msgs
        msgs.append(msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kernel")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="rlhf-vl-sweep-") as tmp:
        proc = subprocess.run([args.kernel, "install", "--prefix", tmp], capture_output=True,
                              text=True, timeout=30)
        if proc.returncode != 0:
            sys.exit(f"sweep_specs: `{args.kernel} install --prefix` failed: {proc.stderr}")
        os.environ["JUPYTER_PATH"] = str(Path(tmp) / "share" / "jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp) / "runtime")
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        km = KernelManager(kernel_name="rlhf",
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[
                               str(Path(tmp) / "share" / "jupyter" / "kernels")]))
        km.start_kernel(env=dict(os.environ, RLHF_PROGRESS_SECONDS="0"))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=30)
            for code in SETUP_CELLS:
                run_cell(kc, code, args.timeout)
            msgs = run_cell(kc, sweep_cell(args.steps), args.timeout)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    frames = [m["content"]["data"] for m in msgs
              if m["msg_type"] in ("display_data", "update_display_data")
              and VL_MIME in m["content"].get("data", {})]
    if not frames:
        kinds = sorted({m["msg_type"] for m in msgs})
        sys.exit(f"sweep_specs: the sweep cell sent no {VL_MIME} frame (messages: {kinds})")
    specs = [f[VL_MIME] for f in frames]
    texts = [json.dumps(s, separators=(",", ":"), ensure_ascii=False) for s in specs]
    (out / "sweep18-final.vl.json").write_text(texts[-1])
    (out / "sweep18-live.vl.json").write_text(texts[(len(texts) - 1) // 2])
    (out / "sweep18-frames.json").write_text(json.dumps({
        "frames": len(texts), "bytes": [len(t.encode()) for t in texts],
        "final_has_png": "image/png" in frames[-1],
        "final_mimes": sorted(frames[-1]),
    }) + "\n")
    print(f"sweep_specs: {len(texts)} Vega-Lite frames; final {len(texts[-1].encode())} bytes")


if __name__ == "__main__":
    main()
