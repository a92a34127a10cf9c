"""%%opd and %extrapolate end to end (jupyter_client): every bad input is one error with
its exact evalue (cell:LINE:COL at the offending key or value), nothing trained or stored;
a small run shows the chart (display_data, update_display_data with the same id), the
teacher's held-out accuracy as a reference line on the accuracy panel, the summary table,
and stores policy and run; a lambda sweep makes one run per point; a teacher map on a mix
task gives per-domain eval columns; %extrapolate computes theta_T + alpha (theta_T - theta_b)
(alpha = 0 reproduces the teacher's %eval exactly) and refuses other architectures.
"""
import csv
import json
import os
import struct
import tempfile

import pytest

from conftest import KERNEL_NAME, outputs, stream_text, ok, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

LONG = 120
TINY = "embed = 8\nhidden = 32\nbatch = 64\n"
SETUP = [
    "%task add add digits=2",
    "%task srt sort length=3",
    "%task mx mix tasks=[add, srt]",
    "%%policy base\ntask = add\nsft_steps = 60\nnoise = 0.6\n" + TINY,
    "%%policy teacher\nfrom = base\nsft_steps = 60\nnoise = 0\n",
    "%%policy wide\ntask = add\nsft_steps = 30\nembed = 8\nhidden = 48\n",
    "%%policy ctx4\ntask = add\nsft_steps = 0\ncontext = 4\n" + TINY,
    "%%policy mbase\ntask = mx\nsft_steps = 60\n" + TINY,
    "%%policy t_add\nfrom = mbase\ntask = add\nsft_steps = 40\n",
    "%%policy t_srt\nfrom = mbase\ntask = srt\nsft_steps = 40\n",
]
SMALL = "steps = 6\nbatch = 8\neval_every = 3\neval_prompts = 32\n"


def small_vocab_policy_file(path):
    """A valid policy file with a 16-token vocabulary (V K D H L act; see rt_policy.h)."""
    V, K, D, H, L, act = 16, 8, 8, 32, 2, 0
    n = V * D + H * K * D + H + (L - 1) * (H * H + H) + V * H + V
    payload = struct.pack("<%df" % n, *([0.01] * n))
    head = b"RLHFPOL\n" + struct.pack("<I6iQ", 1, V, K, D, H, L, act, len(payload))

    def fnv(h, data):
        for b in data:
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return h

    ck = fnv(fnv(0xCBF29CE484222325, head), payload)
    with open(path, "wb") as f:
        f.write(head + struct.pack("<Q", ck) + payload)


@pytest.fixture(scope="module")
def opk(kernel):
    for c in SETUP:
        ok(kernel, c)
    d = tempfile.mkdtemp()
    p = os.path.join(d, "v16.pol")
    small_vocab_policy_file(p)
    ok(kernel, "%%load v16 %s" % p)
    return kernel


BAD = [
    ("%%opd x\nfrom = base\nteacher = v16",
     "ValueError",
     "cell:3:11: teacher 'v16' has a vocabulary of 16 tokens but the student 'base' has 32 "
     "(they must share the vocabulary)"),
    ("%%opd x\nfrom = mbase\nteacher = {add: t_add, srtt: t_srt}",
     "NameError",
     "cell:3:24: task 'srtt' is not a domain of mix 'mx' (did you mean 'srt'?); its domains "
     "are add, srt"),
    ("%%opd x\nfrom = mbase\nteacher = {add: t_add}",
     "ValueError", "cell:3:11: no teacher for domain 'srt' of mix 'mx'"),
    ("%%opd x\nfrom = base\nteacher = {add: teacher}",
     "ValueError",
     "cell:3:11: a teacher map {task: policy} needs a mix task, but 'add' is a single add "
     "task (use teacher = POLICY)"),
    ("%%opd x\nfrom = base\nteacher = teacher\nreference = bsae",
     "NameError", "cell:4:13: unknown policy 'bsae' (did you mean 'base'?)"),
    ("%%opd x\nfrom = base\nteacher = teacher\nreference = v16",
     "ValueError",
     "cell:4:13: reference 'v16' has a vocabulary of 16 tokens but the student 'base' has 32 "
     "(they must share the vocabulary)"),
    ("%%opd x\nfrom = base\nteacher = teacher\nlambda = big",
     "ValueError", "cell:4:10: 'lambda' expects a number, got name 'big'"),
    ("%%opd x\nfrom = base\nteacher = teacher\nestimator = fulll",
     "ValueError",
     "cell:4:13: unknown value 'fulll' for 'estimator' (did you mean 'full'?); expected "
     "sampled or full"),
    ("%%opd x\nfrom = base\nteacher = teacher\nestimator = full\ngamma = 1",
     "ValueError",
     "cell:5:9: estimator = full is the per-state exact gradient and needs gamma = 0 "
     "(got gamma = 1)"),
    ("%%opd x\nfrom = base\nteacher = techer",
     "NameError", "cell:3:11: unknown policy 'techer' (did you mean 'teacher'?)"),
    ("%%opd x\nteacher = teacher",
     "ValueError", "cell:1:3: missing required key 'from'"),
    ("%%opd x\nfrom = base\nteacher = teacher\nlamda = 2",
     "ValueError", "cell:4:1: unknown key 'lamda' (did you mean 'lambda'?)"),
    ("%extrapolate ex from=base to=wide alpha=0.5",
     "ValueError",
     "cell:1:30: extrapolation needs the same architecture: the teacher is V=32 K=8 D=8 "
     "H=48 L=2, the base V=32 K=8 D=8 H=32 L=2 ('wide' and 'base')"),
    ("%extrapolate ex from=base to=techer",
     "NameError", "cell:1:30: unknown policy 'techer' (did you mean 'teacher'?)"),
]


@pytest.mark.parametrize("code,ename,evalue", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_exact_error_nothing_stored(opk, code, ename, evalue):
    before = who(opk)
    rep, msgs = opk.execute(code, timeout=LONG)
    c = rep["content"]
    assert c["status"] == "error", c
    assert (c["ename"], c["evalue"]) == (ename, evalue)
    types = [m["msg_type"] for m in outputs(msgs)]
    assert types == ["error"], types  # nothing trained, nothing printed
    assert who(opk) == before


def test_small_run_chart_reference_line_summary_stored(opk):
    msgs = outputs(ok(opk, "%%opd small\nfrom = base\nteacher = teacher\n" + SMALL))
    text = stream_text(msgs)
    assert "teacher teacher: held-out greedy accuracy" in text
    assert "policy small\n" in text
    charts = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")
              and "application/vnd.vegalite.v5+json" in m["content"]["data"]]
    assert charts[0]["msg_type"] == "display_data"
    did = charts[0]["content"]["transient"]["display_id"]
    assert all(m["content"]["transient"]["display_id"] == did for m in charts)
    final = charts[-1]["content"]["data"]
    assert "teacher (held-out)" in final["text/plain"]
    vl = json.dumps(final["application/vnd.vegalite.v5+json"])
    for panel in ("accuracy", "kl_teacher", "kl_ref"):
        assert panel in vl
    summary = [m for m in msgs if "text/html" in m["content"].get("data", {})]
    assert summary and "small" in summary[-1]["content"]["data"]["text/plain"]
    w = who(opk)
    assert "small" in w
    runs = [m for m in outputs(ok(opk, "%runs")) if "text/plain" in m["content"].get("data", {})]
    assert "small" in runs[-1]["content"]["data"]["text/plain"]


def test_teacher_and_reference_of_another_context(opk):
    """Models only need the student's vocabulary: each reads the sampled sequences its own
    way (a teacher and a reference with a 4-token context for an 8-token student)."""
    text = stream_text(outputs(ok(opk, "%%opd c4\nfrom = base\nteacher = ctx4\n"
                                       "reference = ctx4\n" + SMALL)))
    assert "policy c4\n" in text
    assert "c4" in who(opk)


def test_lambda_sweep_one_run_per_point(opk):
    msgs = outputs(ok(opk, "%%opd sw\nfrom = base\nteacher = teacher\nlambda = [1, 2]\n" + SMALL))
    text = stream_text(msgs)
    assert "policy sw[lambda=1]\n" in text and "policy sw[lambda=2]\n" in text


def test_lambda_one_reference_cancels(opk):
    """At lambda = 1 the reward's reference cancels: with the full estimator the target is
    log_softmax(0 * lR + lT) = the teacher exactly, so two references give bit-identical
    runs (all points of a cell share one stream); with a different lambda they differ."""
    d = tempfile.mkdtemp()
    ok(opk, "%%opd refs\nfrom = base\nteacher = teacher\nreference = [base, wide]\n"
       "estimator = full\nlambda = [1, 2]\n" + SMALL)
    path = os.path.join(d, "r.csv")
    ok(opk, "%%export %s refs[reference=base,lambda=1] refs[reference=wide,lambda=1] "
       "refs[reference=base,lambda=2] refs[reference=wide,lambda=2]" % path)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    by = {}
    for r in rows:
        r.pop("wall")
        r.pop("reference")  # the configuration column of the key that differs
        r.pop("kl_ref")  # the KL to the reference itself differs, of course
        by.setdefault(r.pop("run"), []).append(r)
    assert len(by["refs[reference=base,lambda=1]"]) == 7
    assert by["refs[reference=base,lambda=1]"] == by["refs[reference=wide,lambda=1]"]
    assert by["refs[reference=base,lambda=2]"] != by["refs[reference=wide,lambda=2]"]


def test_mix_teacher_map_per_domain_columns(opk):
    msgs = outputs(ok(opk, "%%opd merged\nfrom = mbase\nteacher = {add: t_add, srt: t_srt}\n"
                     + SMALL))
    text = stream_text(msgs)
    assert "teacher {add: t_add, srt: t_srt}: held-out greedy accuracy" in text
    summary = [m for m in msgs if "text/html" in m["content"].get("data", {})][-1]
    head = summary["content"]["data"]["text/plain"]
    assert "eval_accuracy_add" in head and "eval_accuracy_srt" in head


def policy_weights(raw):
    """The float payload of a policy file (format 2: a 20-byte head, the config text, the
    payload size and the checksum; format 1: a 52-byte header; see rt_model.h)."""
    version, = struct.unpack("<I", raw[8:12])
    start = 52 if version == 1 else 20 + struct.unpack("<I", raw[16:20])[0] + 16
    return struct.unpack("<%df" % ((len(raw) - start) // 4), raw[start:])


def test_extrapolate_weights(opk):
    """alpha = 0 gives the teacher's weights bit for bit; alpha = 1 gives 2 theta_T - theta_b
    (checked on the saved files' float payloads)."""
    d = tempfile.mkdtemp()
    ok(opk, "%extrapolate ex0 from=base to=teacher alpha=0")
    msgs = outputs(ok(opk, "%extrapolate ex1 from=base to=teacher alpha=1"))
    assert "policy ex1: ExPO: teacher + 1 (teacher - base)" in stream_text(msgs)
    w = {}
    for name in ("ex0", "ex1", "teacher", "base"):
        path = os.path.join(d, name + ".pol")
        ok(opk, "%%save %s %s" % (name, path))
        with open(path, "rb") as f:
            raw = f.read()
        w[name] = policy_weights(raw)
    assert w["ex0"] == w["teacher"]
    for a, t, b in zip(w["ex1"], w["teacher"], w["base"]):
        assert a == struct.unpack("<f", struct.pack("<f", t + 1.0 * (t - b)))[0] or \
            abs(a - (2 * t - b)) <= 1e-6 * (1 + abs(a))


def export_runs(k, threads, path):
    for c in SETUP[:5]:
        ok(k, c)
    ok(k, f"%threads {threads}")
    ok(k, "%%opd one\nfrom = base\nteacher = teacher\nlambda = 1.25\n" + SMALL)
    ok(k, "%%opd two\nfrom = base\nteacher = teacher\nlambda = [1, 2]\nestimator = [sampled, full]\n"
       + SMALL)
    ok(k, f'%export "{path}" one two[lambda=1,estimator=sampled] two[lambda=1,estimator=full] '
       'two[lambda=2,estimator=sampled] two[lambda=2,estimator=full]')
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    wall = rows[0].index("wall")
    return [[v for i, v in enumerate(r) if i != wall] for r in rows]


def test_threads_1_and_2_identical(new_kernel):
    """A lone run (its step uses the session's threads) and a 4-point sweep (points in
    parallel threads) give the same metrics at %threads 1 and 2 (wall aside)."""
    with tempfile.TemporaryDirectory() as d:
        one = export_runs(new_kernel(), 1, os.path.join(d, "one.csv"))
        two = export_runs(new_kernel(), 2, os.path.join(d, "two.csv"))
    assert len(one) == 1 + 5 * 7
    assert one == two


def test_interrupt_keeps_partial_run_and_policy(opk):
    """An interrupt stops %%opd at a step boundary: one Interrupted error naming the step,
    the partial run and its policy are kept, the next cell works."""
    import time
    opk.flush()
    msg_id = opk.kc.execute("%%opd long\nfrom = base\nteacher = teacher\nsteps = 1000000\n"
                            "batch = 8\neval_every = 0\neval_prompts = 8")
    while True:
        m = opk.kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "display_data":
            break
    time.sleep(0.3)
    opk.kc.control_channel.send(opk.kc.session.msg("interrupt_request", {}))
    rep = opk.reply(msg_id, timeout=30)
    c = rep["content"]
    assert c["status"] == "error" and c["ename"] == "Interrupted", c
    assert c["evalue"].startswith("interrupted at step ")
    assert c["evalue"].endswith(" of 1000000 (long); the partial run and its policy are kept")
    w = who(opk)
    assert "long" in w
    runs = [m for m in outputs(ok(opk, "%runs")) if "text/plain" in m["content"].get("data", {})]
    assert "interrupted" in runs[-1]["content"]["data"]["text/plain"]


def first_panel(msgs):
    """(heading, its lines) of the final chart's first panel in text/plain."""
    charts = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")
              and "application/vnd.vegalite.v5+json" in m["content"]["data"]]
    lines = charts[-1]["content"]["data"]["text/plain"].splitlines()
    i = next(i for i, x in enumerate(lines) if x and not x.startswith(("%%", "step", " ")))
    j = next((k for k in range(i + 1, len(lines)) if not lines[k].startswith(" ")), len(lines))
    return lines[i], lines[i + 1:j]


def test_chart_compares_held_out_accuracy_with_the_teacher_line(opk):
    """The teacher's line is held-out greedy accuracy, so the panel it is drawn on is the
    student's held-out greedy accuracy (eval_accuracy, on the same prompts); only without
    evaluation does the panel fall back to the training samples' accuracy."""
    head, rows = first_panel(outputs(ok(opk, "%%opd pe\nfrom = base\nteacher = teacher\n"
                                        + SMALL)))
    assert head == "eval_accuracy", head
    assert any("teacher (held-out)" in r for r in rows), rows
    no_eval = SMALL.replace("eval_every = 3\neval_prompts = 32\n", "eval_every = 0\n")
    head, rows = first_panel(outputs(ok(opk, "%%opd pt\nfrom = base\nteacher = teacher\n"
                                        + no_eval)))
    assert head == "accuracy", head
    assert any("teacher (held-out)" in r for r in rows), rows
