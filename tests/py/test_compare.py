"""%compare (issue 14 item 1: paired differences with their spread): configurations of a
sweep (or of several cells) paired seed by seed against a baseline; the numbers are those of
the runs' final values (checked against %export), the errors name what cannot be paired."""
import json
import math
import statistics

from conftest import ok, outputs

SETUP = ["%task ad add digits=2",
         "%%policy base\ntask = ad\nsft_steps = 40\nnoise = 0.6\nseed = [1, 2, 3]",
         "%%rl teacher\nfrom = base\nreward = exact\nsteps = 4\nbatch = 8\nseed = [1, 2, 3]",
         "%%opd s\nfrom = base\nteacher = teacher\nlambda = [1, 1.5, 2]\nsteps = 4\nbatch = 8\n"
         "eval_prompts = 64\nseed = [1, 2, 3]"]


def table(msgs):
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    return m["content"]["data"]["text/plain"].splitlines()


def finals(path, metric):
    runs = json.load(open(path))["runs"]
    out = {}
    for r in runs:
        cols = r["columns"]
        j = cols.index(metric)
        vals = [row[j] for row in r["rows"] if row[j] is not None and not math.isnan(row[j])]
        out[r["name"]] = vals[-1]
    return out


def test_compare_pairs_seeds_against_the_baseline(new_kernel, tmp_path):
    k = new_kernel()
    ok(k, SETUP[0])
    ok(k, SETUP[1])
    ok(k, "%%reward exact\ncorrect")
    for c in SETUP[2:]:
        ok(k, c)
    path = tmp_path / "s.json"
    ok(k, f"%export {path} s")
    fin = finals(path, "eval_accuracy")
    lines = table(ok(k, "%compare s"))
    assert lines[0].startswith("eval_accuracy (final values): paired by seed against s[lambda=1]")
    rows = {l.split()[0]: l.split() for l in lines[2:]}
    assert list(rows) == ["s[lambda=1]", "s[lambda=1.5]", "s[lambda=2]"], lines
    assert len(rows["s[lambda=1]"]) == 5, rows  # name, n, mean ± sd: no differences
    for lam in ("1.5", "2"):
        r = rows[f"s[lambda={lam}]"]  # name, n, mean, ±, sd, then the differences
        d = [fin[f"s[lambda={lam},seed={s}]"] - fin[f"s[lambda=1,seed={s}]"] for s in (1, 2, 3)]
        assert r[1] == "3"
        dec = len(r[5].split(".")[1])  # the printed decimals bound the rounding
        tol = 0.5 * 10 ** -dec + 1e-12
        assert abs(float(r[5]) - statistics.fmean(d)) <= tol, (r, d)
        assert abs(float(r[6]) - statistics.stdev(d)) <= tol, (r, d)
        assert abs(float(r[7]) - statistics.stdev(d) / math.sqrt(3)) <= tol, (r, d)
        assert r[8] == f"{sum(x > 0 for x in d)}/3" and r[9] == f"{sum(x < 0 for x in d)}/3"
        assert abs(float(r[10]) - min(d)) <= tol and abs(float(r[11]) - max(d)) <= tol
    # vs= chooses the baseline; metric= another column
    lines = table(ok(k, "%compare s metric=kl_teacher vs=s[lambda=2]"))
    assert lines[0].startswith("kl_teacher (final values): paired by seed against s[lambda=2]")
    assert lines[2].split()[0] == "s[lambda=2]" and len(lines[2].split()) == 5, lines


def test_compare_errors(new_kernel):
    k = new_kernel()
    for c in (SETUP[0], "%%policy b\ntask = ad\nsft_steps = 20\nseed = [1, 2]",
              "%%policy c\ntask = ad\nsft_steps = 20\nseed = [3, 4]"):
        ok(k, c)
    for code, want in (
            ("%compare b c", "cell:1:2: 'c' and the baseline 'b' have no seed in common"),
            ("%compare b", "cell:1:2: %compare needs two configurations or more"),
            ("%compare b c vs=d", "cell:1:17: vs=d is not one of the configurations (b, c)"),
            ("%compare b c metric=nope", "cell:1:21: run 'b[seed=1]' has no column 'nope'"),
            ("%compare zz", "cell:1:10: unknown run 'zz'")):
        rep, _ = k.execute(code)
        assert rep["content"]["status"] == "error", (code, rep["content"])
        assert rep["content"]["evalue"].startswith(want), (code, rep["content"]["evalue"])
