"""%export carries each run's configuration (issue 13 item 8): a 2 x 2 sweep (lr x seed)
exported as CSV and as JSONL; the CSV has one column per configuration key between `run`
and the metrics (empty where a run lacks the key) and `wall` last; the JSONL has one
object per logged step with the same values, configuration numbers as JSON numbers and
NaN as null.  Both are read with the csv and json modules, and with pandas
(`read_csv`, `read_json(lines=True)`) when /usr/bin/python3 has it (Debian's
python3-pandas).
"""
import csv
import json
import os
import tempfile

import pytest

from conftest import KERNEL_NAME, ok

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf magics")

POINTS = {f"sw[lr={lr},seed={s}]": (lr, s) for lr in ("1e-3", "2e-3") for s in (1, 2)}
NAMES = ["base"] + list(POINTS)


@pytest.fixture(scope="module")
def exported(kernel):
    ok(kernel, "%task add add digits=2")
    ok(kernel, "%%policy base\ntask = add\nsft_steps = 20\nembed = 8\nhidden = 32\nbatch = 64")
    ok(kernel, "%%reward exact\ncorrect")
    ok(kernel, "%%rl sw\nfrom = base\nreward = exact\nlr = [1e-3, 2e-3]\nseed = [1, 2]\n"
               "steps = 5\nbatch = 4\ngroup = 4\neval_every = 5\neval_prompts = 16")
    d = tempfile.mkdtemp()
    paths = {ext: os.path.join(d, "runs." + ext) for ext in ("csv", "jsonl")}
    for p in paths.values():
        ok(kernel, f'%export "{p}" ' + " ".join(NAMES))
    with open(paths["csv"], newline="") as f:
        rows = list(csv.reader(f))
    with open(paths["jsonl"]) as f:
        lines = [json.loads(line) for line in f]
    return paths, rows[0], rows[1:], lines


def test_csv_config_columns_and_wall_last(exported):
    _, header, rows, _ = exported
    assert len(set(header)) == len(header), header
    assert header[0] == "run" and header[-1] == "wall", header
    step = header.index("step")
    for key in ("lr", "seed", "from", "algo", "steps", "sft_steps"):
        assert 0 < header.index(key) < step, header  # configuration before the metrics
    assert all(len(r) == len(header) for r in rows)
    by = {}
    for r in rows:
        by.setdefault(r[0], []).append(dict(zip(header, r)))
    assert list(by) == NAMES
    for name, (lr, seed) in POINTS.items():
        assert [int(r["step"]) for r in by[name]] == [1, 2, 3, 4, 5]
        for r in by[name]:
            assert (r["lr"], r["seed"], r["from"], r["steps"]) == (lr, str(seed), "base", "5")
            assert r["algo"] == "grpo" and r["sft_steps"] == ""  # a key of %%policy only
    for r in by["base"]:
        assert r["sft_steps"] == "20" and r["seed"] == "" and r["from"] == ""


def num(v):
    return None if v in ("", "nan") else float(v)


def test_jsonl_rows_match_csv(exported):
    _, header, rows, lines = exported
    assert len(lines) == len(rows)
    config = header[1:header.index("step")]
    for r, o in zip(rows, lines):
        keys = list(o)
        assert keys[0] == "run" and keys[-1] == "wall", keys
        assert o["run"] == r[0]
        want = {k: v for k, v in zip(header, r) if v != ""}
        assert set(keys) == set(want), (keys, want)
        # run, its configuration, then step and the metrics
        assert keys.index("step") == 1 + len([k for k in config if k in want])
        for k in keys[1:]:
            if k in config:
                v = o[k]
                if isinstance(v, str):
                    assert v == want[k]
                elif isinstance(v, bool):
                    assert want[k] == ("true" if v else "false")
                else:  # typed: numbers as numbers
                    assert isinstance(v, (int, float)) and v == float(want[k]), (k, v)
            else:
                assert o[k] == num(want[k]), (k, o[k], want[k])  # NaN: null
        if r[0] in POINTS:
            lr, seed = POINTS[r[0]]
            assert o["lr"] == float(lr) and o["seed"] == seed and isinstance(o["seed"], int)
            assert o["from"] == "base" and "sft_steps" not in o
    nulls = [o["eval_reward"] for o in lines if o["run"] in POINTS and o["step"] != 5]
    assert nulls and all(v is None for v in nulls)  # NaN (no evaluation at that step)


def test_pandas_reads_both(exported):
    try:
        import pandas as pd
    except ImportError:  # Debian's python3-pandas is not installed: the csv/json tests stand
        pytest.skip("python3-pandas is not installed")
    paths, header, rows, _ = exported
    c = pd.read_csv(paths["csv"])
    j = pd.read_json(paths["jsonl"], lines=True)
    assert list(c.columns) == header and c.columns[-1] == "wall"
    assert len(j) == len(c)
    for name, (lr, seed) in POINTS.items():
        for df in (c, j):
            pt = df[df.run == name]
            assert len(pt) == 5
            assert (pt.lr == float(lr)).all() and (pt.seed == seed).all()
    for col in ("lr", "seed", "step", "reward", "eval_reward", "wall"):
        pd.testing.assert_series_equal(c[col], j[col], check_dtype=False)
