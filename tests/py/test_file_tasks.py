"""Tasks from files (issue 16), end to end through the kernel: %task NAME file=PATH loads
JSONL, CSV, TSV and verl rows and shows them (vocabulary, split sizes, texts, what noise
does); %task NAME shows a task again; bad files are errors at the cell key they are about
with the file's PATH:LINE:COL, and nothing is stored; the same rows from JSONL and from CSV
train bit-identical policies; SFT learns a shipped file task; RL with a verifier reward
over texts (equals, number, a numeric column) raises held-out accuracy; OPD, preferences,
reward models and DPO run on a file task; a vocab=add file task mixes with add; %save and
%load carry the task (and notice a changed file)."""
import json
import os
import re
import struct

import pytest

from conftest import KERNEL_NAME, ok, stream_text, who

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "notebooks", "data")
TRIAGE = os.path.abspath(os.path.join(DATA, "triage.tsv"))
UNITS = os.path.abspath(os.path.join(DATA, "units.jsonl"))
REVERSE = os.path.abspath(os.path.join(DATA, "reverse.csv"))


def err(k, code):
    rep, _ = k.execute(code)
    c = rep["content"]
    assert c["status"] == "error", (code, c)
    return c["evalue"]


def text_of(msgs):
    """every text/plain of display_data and stream output"""
    out = []
    for m in msgs:
        c = m["content"]
        if m["msg_type"] in ("display_data", "execute_result"):
            out.append(c["data"].get("text/plain", ""))
        elif m["msg_type"] == "stream":
            out.append(c["text"])
    return "\n".join(out)


def payload(path):
    """the weights of a policy file (formats 2 and 3, runtime/nn/rt_model_io.c: magic 8,
    version 4, vocab 4, text bytes 4, text, payload bytes 8, checksum 8, payload)"""
    b = open(path, "rb").read()
    (tl,) = struct.unpack_from("<I", b, 16)
    (pl,) = struct.unpack_from("<Q", b, 20 + tl)
    assert len(b) == 36 + tl + pl, (path, len(b), tl, pl)
    return b[36 + tl:]


def test_load_and_show(kernel):
    out = text_of(ok(kernel, f"%task tk file={TRIAGE} prompt=text answer=label"))
    assert "tk: task file" in out and "(252 rows: 193 train, 59 held out; split by hash" in out
    assert "vocabulary (26, the file's characters): <pad> <eos> ␠ ! a b" in out, out
    assert "texts: answer target prompt priority (numeric)" in out, out
    again = text_of(ok(kernel, "%task tk"))
    assert "(252 rows: 193 train, 59 held out" in again
    assert "noise_rule=swap: 'old card' -> 'billing' is demonstrated as 'iblling'" in again
    u = text_of(ok(kernel, f"%task un file={UNITS} split=split noise_rule=label"))
    assert "(320 rows: 288 train, 32 held out; split by column split)" in u, u
    assert "texts: answer target prompt unit factor (numeric)" in u, u
    r = text_of(ok(kernel, f"%task rv file={REVERSE}"))
    assert "300 rows" in r and "é" in r, r


def test_bad_files_point_at_the_key(kernel, tmp_path):
    before = who(kernel)
    e = err(kernel, f"%task b file={TRIAGE} prompt=txt")
    assert re.match(r"cell:1:\d+: .*triage\.tsv: no column 'txt' \(did you mean 'text'\?\)", e), e
    col = int(e.split(":")[2])
    assert f"%task b file={TRIAGE} prompt=txt"[col - 1:].startswith("txt"), e
    assert "no such file" in err(kernel, "%task b file=/nonexistent/x.jsonl")
    rag = tmp_path / "rag.csv"
    rag.write_text("prompt,answer\nab,ba\nabc,cba,x\n")
    e = err(kernel, f"%task b file={rag}")
    assert "rag.csv:3:" in e and "3 fields, the header 2" in e, e
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"prompt": "ab", "completion": "ba"}\n{"prompt": "ab", "completion": "x"}\n')
    e = err(kernel, f"%task b file={dup}")
    assert "dup.jsonl:2:" in e and "repeats the prompt of line 1" in e, e
    sp = tmp_path / "sp.csv"
    sp.write_text("prompt,answer,part\nab,ba,train\ncd,dc,tset\n")
    e = err(kernel, f"%task b file={sp} split=part")
    assert "sp.csv:3:" in e and "tset" in e, e
    e = err(kernel, f"%task b file={sp} split=part holdout=0.3")
    assert "holdout and split= both choose" in e, e
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "empty file" in err(kernel, f"%task b file={empty}")
    lat = tmp_path / "lat.jsonl"
    lat.write_bytes(b'{"prompt": "caf\xe9", "completion": "x"}\n')
    e = err(kernel, f"%task b file={lat}")
    assert "lat.jsonl:1:" in e and "UTF-8" in e, e
    ok(kernel, "%task ad add digits=1")
    e = err(kernel, f"%task b file={REVERSE} vocab=ad")
    assert "is not in the vocabulary of task" in e, e
    e = err(kernel, "%task b add file=x.jsonl")
    assert "leave out the kind" in e
    # nothing half-loaded stays: the session is as before plus task ad, and no task b
    after = who(kernel)
    assert after.replace("  ad  task add digits=1 noise=0\n", "") == before, (before, after)
    assert err(kernel, "%task b").startswith("cell:1:7: no task 'b' to show")


def test_jsonl_and_csv_give_identical_policies(kernel, tmp_path):
    rows = [("%d%d" % (a, b), "%d" % (a * b)) for a in range(1, 10) for b in range(1, 10)]
    j = tmp_path / "mul.jsonl"
    j.write_text("".join(json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in rows))
    c = tmp_path / "mul.csv"
    c.write_text("prompt,answer\r\n" + "".join(f"{p},{a}\r\n" for p, a in rows))
    ok(kernel, f"%task mj file={j}")
    ok(kernel, f"%task mc file={c}")
    for t in ("mj", "mc"):  # one cell name: the same random streams (mag_m_policy.c)
        ok(kernel, f"%%policy pm\ntask = {t}\nsft_steps = 80\nnoise = 0.3")
        ok(kernel, f"%save pm {tmp_path}/p{t}.policy")
    a, b = payload(f"{tmp_path}/pmj.policy"), payload(f"{tmp_path}/pmc.policy")
    assert len(a) > 1000 and a == b


def test_sft_rl_with_a_verifier(kernel):
    ok(kernel, f"%task tix file={TRIAGE} prompt=text answer=label noise_rule=label")
    out = text_of(ok(kernel, "%%policy tb\ntask = tix\nsft_steps = 300\nnoise = 0.5"))
    m = re.search(r"tb\s+finished\s+300\s+\S+\s+\S+\s+([0-9.]+)", out)
    base = float(m.group(1))
    assert 0.55 < base < 0.9, out  # noisy labels: a base that is right most of the time
    clean = text_of(ok(kernel, "%%policy tc\ntask = tix\nsft_steps = 300"))
    acc = float(re.search(r"tc\s+finished\s+300\s+\S+\s+\S+\s+([0-9.]+)", clean).group(1))
    assert acc >= 0.9, clean  # documented in notebooks/your-own-task.ipynb: SFT learns it
    ok(kernel, "%%reward vr c=1\nc * equals(answer, target) * (1 + priority) - 0.01 * length")
    out = text_of(ok(kernel, "%%rl tt\nfrom = tb\nreward = vr\nsteps = 60"))
    m = re.search(r"tt\s+finished\s+60\s+\S+\s+\S+\s+([0-9.]+)", out)
    assert float(m.group(1)) > base + 0.1, out
    # number() on a numeric task, a bare numeric column, and errors of texts
    ok(kernel, f"%task un2 file={UNITS} split=split")
    ok(kernel, "%%reward num\nclose(number(answer), number(target), 0.5) + 0 * factor")
    ok(kernel, "%%policy ub\ntask = un2\nsft_steps = 40")
    ok(kernel, "%%rl ur\nfrom = ub\nreward = num\nsteps = 4")
    e = err(kernel, "%%reward bad\nanswer + 1")
    assert "'answer' is text" in e, e
    e = err(kernel, "%%reward un\nunit == 1")  # a text column of units, not a number
    assert "'unit' is text" in e, e
    e = err(kernel, "%%rl x\nfrom = tb\nreward = num\nsteps = 2")
    assert "reads text 'factor'" in e, e


def test_opd_preferences_rm_dpo_on_a_file_task(kernel):
    ok(kernel, f"%task t3 file={TRIAGE} prompt=text answer=label")
    ok(kernel, "%%policy t3b\ntask = t3\nsft_steps = 200\nnoise = 0.4")
    ok(kernel, "%%policy t3t\ntask = t3\nsft_steps = 300")
    ok(kernel, "%%opd t3o\nfrom = t3b\nteacher = t3t\nsteps = 10")
    ok(kernel, "%%reward lab\nequals(answer, target) - 0.01 * length")
    ok(kernel, "%%preferences t3p\nfrom = t3b\nlabeler = lab\npairs = 200")
    ok(kernel, "%%rm t3r\ndata = t3p\nfrom = t3b\nsteps = 40")
    ok(kernel, "%%dpo t3d\nfrom = t3b\ndata = t3p\nsteps = 20")
    ok(kernel, "%%reward viarm\nrm(t3r)")
    ok(kernel, "%%rl t3rl\nfrom = t3b\nreward = viarm\neval_reward = lab\nsteps = 5")
    out = text_of(ok(kernel, "%eval t3d t3o t3rl"))
    assert "t3" in out


def test_mix_with_a_shared_vocabulary(kernel, tmp_path):
    dbl = tmp_path / "dbl.jsonl"
    dbl.write_text("".join(json.dumps({"prompt": f"{a}:", "completion": str(2 * a)}) + "\n"
                           for a in range(10, 60)))
    ok(kernel, "%task a1 add digits=1")
    ok(kernel, f"%task db file={dbl} vocab=a1")
    ok(kernel, "%task mx mix tasks=[a1, db]")
    ok(kernel, "%%policy mp\ntask = mx\nsft_steps = 30")
    out = text_of(ok(kernel, "%eval mp"))
    assert re.search(r"\ba1\b", out) and re.search(r"\bdb\b", out), out
    # multi-teacher OPD routes each domain to its teacher, the file domain included
    ok(kernel, "%%policy ta\ntask = a1\nsft_steps = 30")
    ok(kernel, "%%policy tb\ntask = db\nsft_steps = 30")
    out = text_of(ok(kernel, "%%opd mo\nfrom = mp\ntask = mx\nteacher = {a1: ta, db: tb}\n"
                             "steps = 5"))
    assert re.search(r"mo\s+finished\s+5\b", out), out
    ok(kernel, f"%task own file={dbl}")
    e = err(kernel, "%task mx2 mix tasks=[a1, own]")
    assert "vocabulary" in e, e


def test_save_load_carries_the_file_task(new_kernel, tmp_path):
    src = tmp_path / "w.csv"
    src.write_text("prompt,answer\n" + "".join(f"w{i:02d},{i % 7}\n" for i in range(40)))
    k1 = new_kernel()
    ok(k1, f"%task wt file={src}")
    ok(k1, "%%policy wp\ntask = wt\nsft_steps = 20")
    ok(k1, f"%save wp {tmp_path}/wp.policy")
    k2 = new_kernel()
    out = text_of(ok(k2, f"%load wl {tmp_path}/wp.policy"))
    assert "wt" in who(k2), (out, who(k2))
    ok(k2, "%eval wl")
    # a shared vocabulary comes back as the table it was tokenized with
    dig = tmp_path / "dig.jsonl"
    dig.write_text("".join(json.dumps({"prompt": f"{a}:", "completion": str(a % 9)}) + "\n"
                           for a in range(10, 50)))
    ok(k1, "%task a1 add digits=1")
    ok(k1, f"%task dv file={dig} vocab=a1")
    ok(k1, "%%policy dp\ntask = dv\nsft_steps = 10")
    ok(k1, f"%save dp {tmp_path}/dp.policy")
    ok(k2, f"%load dl {tmp_path}/dp.policy")
    shown = text_of(ok(k2, "%task dv"))
    assert "vocabulary (32, of task a1)" in shown, shown
    ok(k2, "%eval dl")
    src.write_text("prompt,answer\n" + "".join(f"w{i:02d},{i % 5}\n" for i in range(40)))
    k3 = new_kernel()
    out = text_of(ok(k3, f"%load wl {tmp_path}/wp.policy"))
    assert "has changed since it was saved" in out, out
