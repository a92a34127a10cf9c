"""%correlate (issue 14 item 4: the paper's definition of hacking is a correlation): exact
reward means over every answer of every prompt of a split, and Pearson r of the first two
rewards over (prompt, answer) pairs and within prompts.  Checked against identities that
hold for any policy (an indicator and its complement sum to 1, r(R, R) = 1, r(R, -R) = -1,
r(R, a R + b) = 1), against a sampled estimate (%eval's avg@k on the same split) and for
the errors a user can make."""
import math

from conftest import ok, outputs

SETUP = ["%task one add digits=1",
         "%%policy base\ntask = one\nsft_steps = 60\nnoise = 0.6",
         "%%reward true\ncorrect",
         "%%reward neg\n0 - correct",
         "%%reward scaled\n2*correct + 5",
         "%%reward proxy\npartial + length",
         "%%reward long\nlength == 3",
         "%%reward notlong\nlength != 3"]


def rows(msgs):
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    lines = m["content"]["data"]["text/plain"].splitlines()
    head = [i for i, l in enumerate(lines) if l.startswith("policy")][0]
    out = {}
    for l in lines[head + 1:]:
        if l.strip():
            f = l.split()
            out[f[0]] = [float(x) if x != "n/a" else math.nan for x in f[1:]]
    return out


def define(k):
    for c in SETUP:
        ok(k, c)


def test_identities(new_kernel):
    k = new_kernel()
    define(k)
    (r,) = rows(ok(k, "%correlate base rewards=[long, notlong]")).values()
    assert abs(r[0] + r[1] - 1) < 2e-4, r  # exact: the answers' probabilities sum to 1
    assert abs(r[2] + 1) < 1e-4, r  # an indicator and its complement
    (r,) = rows(ok(k, "%correlate base rewards=[true, true]")).values()
    assert abs(r[2] - 1) < 1e-4 and abs(r[3] - 1) < 1e-4, r
    (r,) = rows(ok(k, "%correlate base rewards=[true, neg]")).values()
    assert abs(r[0] + r[1]) < 1e-4 and abs(r[2] + 1) < 1e-4 and abs(r[3] + 1) < 1e-4, r
    (r,) = rows(ok(k, "%correlate base rewards=[scaled, true]")).values()
    assert abs(r[0] - (2 * r[1] + 5)) < 1e-3 and abs(r[2] - 1) < 1e-4, r


def test_mean_matches_sampling(new_kernel):
    """The exact mean of `correct` on the held-out split equals %eval's avg@k there up to
    the sampling error of k answers per prompt."""
    k = new_kernel()
    define(k)
    (r,) = rows(ok(k, "%correlate base rewards=[true, proxy] split=heldout")).values()
    msgs = ok(k, "%eval base k=256 n=4096")
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    line = [l for l in m["content"]["data"]["text/plain"].splitlines() if l.startswith("one")][0]
    n, greedy, avg = line.split()[1:4]
    se = math.sqrt(max(r[0] * (1 - r[0]), 1e-4) / (int(n) * 256))
    assert abs(float(avg) - r[0]) < 5 * se + 1e-4, (avg, r[0], se)


def test_sweep_names_and_train_split(new_kernel):
    k = new_kernel()
    ok(k, SETUP[0])
    ok(k, "%%policy b\ntask = one\nsft_steps = 20\nseed = [1, 2]")
    for c in SETUP[2:]:
        ok(k, c)
    msgs = ok(k, "%correlate b rewards=[proxy, true]")
    r = rows(msgs)
    assert list(r) == ["b[seed=1]", "b[seed=2]"], r
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    assert "training prompts of one" in m["content"]["data"]["text/plain"]


def test_errors(new_kernel):
    k = new_kernel()
    define(k)
    ok(k, "%task two add digits=2")
    ok(k, "%%policy b2\ntask = two\nsft_steps = 5")
    for code, want in (
            ("%correlate base rewards=[true]", "cell:1:25: rewards needs 2 to 4 rewards"),
            ("%correlate base rewards=[true, nope]", "cell:1:32: unknown reward 'nope'"),
            ("%correlate b2 rewards=[true, proxy]",
             "cell:1:12: task 'two': exact answer moments enumerate every answer: answers of "
             "at most 3 tokens"),
            ("%correlate rewards=[true, proxy]", "cell:1:2: %correlate needs a POLICY"),
            ("%correlate base base rewards=[true, proxy]",
             "cell:1:17: policy 'base' is listed twice")):
        rep, _ = k.execute(code)
        assert rep["content"]["status"] == "error", code
        assert rep["content"]["evalue"].startswith(want), (code, rep["content"]["evalue"])
