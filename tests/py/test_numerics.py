"""The numerics surface (DESIGN.md, "Numerics"): %numerics, RLHF_ISA, --version and the
language_info members that front ends copy into an executed notebook's metadata.

- kernel_info's language_info carries numerics / isa / isa_source, and the same appear
  in `--version`;
- RLHF_ISA selects the path (portable always exists), and a path this CPU lacks or an
  unknown name is refused at start with a message naming it (exit status 2);
- %numerics shows the mode, switches to openblas and back, and rejects anything else
  with the cell position; a product gives the same result after switching back;
- under openblas the same training cell still runs (not compared: not portable);
- OpenBLAS is mapped into the kernel only once `%numerics openblas` asks for it.
"""
import os
import subprocess

from conftest import kernel_binary, ok, outputs, stream_text


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def run(args, **env):
    e = dict(os.environ)
    e.pop("RLHF_ISA", None)
    e.update(env)
    return subprocess.run([kernel_binary()] + args, capture_output=True, text=True, timeout=20,
                          env=e)


def test_version_names_numerics_and_path():
    r = run(["--version"], RLHF_ISA="portable")
    assert r.returncode == 0, r
    assert r.stdout.strip().endswith("(numerics exact, isa portable, isa_source RLHF_ISA)"), r.stdout
    r = run(["--version"])
    assert "numerics exact" in r.stdout and "isa_source cpu" in r.stdout, r.stdout


def test_unknown_or_missing_path_is_refused():
    r = run(["--version"], RLHF_ISA="neon")
    assert r.returncode == 2 and not r.stdout, r
    assert r.stderr.strip() == \
        "rlhf-kernel: RLHF_ISA=neon: unknown path (use avx512, avx2 or portable)", r.stderr
    flags = cpu_flags()
    if "avx512f" not in flags:
        r = run(["--version"], RLHF_ISA="avx512")
        assert r.returncode == 2 and "this CPU lacks AVX-512F" in r.stderr, r
    else:
        r = run(["--version"], RLHF_ISA="avx512")
        assert r.returncode == 0 and "isa avx512" in r.stdout, r


def test_language_info_records_numerics(kernel):
    kernel.flush()
    rep = kernel.reply(kernel.kc.kernel_info())
    li = rep["content"]["language_info"]
    assert li["numerics"] == "exact"
    assert li["isa"] in ("avx512", "avx2", "portable")
    assert li["isa_source"] in ("cpu", "RLHF_ISA")


def test_numerics_magic(kernel):
    out = stream_text(outputs(ok(kernel, "%numerics")))
    assert out.startswith("numerics exact: the runtime's own GEMM"), out
    out = stream_text(outputs(ok(kernel, "%numerics openblas")))
    assert out.startswith("numerics openblas: matrix products by OpenBLAS"), out
    assert "not portable" in out
    ok(kernel, "%task nt add digits=1\n")
    ok(kernel, "%%policy np\ntask = nt\nhidden = 24\nsft_steps = 20\n")
    out = stream_text(outputs(ok(kernel, "%numerics exact")))
    assert out.startswith("numerics exact"), out
    rep, msgs = kernel.execute("%numerics fast")
    c = rep["content"]
    assert c["status"] == "error", c
    assert c["evalue"] == "cell:1:11: %numerics expects exact or openblas, got 'fast'", c
    rep, msgs = kernel.execute("%numerics exact openblas")
    assert rep["content"]["status"] == "error"
    assert "takes one argument" in rep["content"]["evalue"]
    assert stream_text(outputs(ok(kernel, "%numerics"))).startswith("numerics exact")


def mapped_openblas(pid):
    with open(f"/proc/{pid}/maps") as f:
        return any("libopenblas" in line for line in f)


def test_openblas_is_loaded_only_when_asked(new_kernel):
    """OpenBLAS costs cold start and idle memory: the kernel maps it only at
    `%numerics openblas` (and the switch back keeps it loaded but unused)."""
    k = new_kernel()
    ok(k, "%task nt add digits=1\n")
    ok(k, "%%policy np\ntask = nt\nhidden = 24\nsft_steps = 5\n")
    assert not mapped_openblas(k.pid)
    out = stream_text(outputs(ok(k, "%numerics openblas")))
    assert out.startswith("numerics openblas"), out
    assert mapped_openblas(k.pid)
