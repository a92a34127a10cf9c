"""Editor support through jupyter_client against the real kernel: complete_request
(magic names with % / %%, keys of a magic body from its schema, enum values, object names
where a key names a registry, expression names; cursor offsets in code points with
non-ASCII text before the cursor), inspect_request (help of the magic, key, feature or
object under the cursor) and is_complete_request.

Uses task `add` (%task) and the %%policy schema of helper I2's magics, and reward `exact`.
"""
import pytest

from conftest import KERNEL_NAME

pytestmark = pytest.mark.skipif(KERNEL_NAME != "rlhf", reason="rlhf cell language")


@pytest.fixture(scope="module")
def k(kernel):
    for code in ("%task add add digits=2", "%task addx add digits=1",
                 "%%reward exact c=0.01\ncorrect - c*length"):
        rep, _ = kernel.execute(code, timeout=60)
        assert rep["content"]["status"] == "ok", rep["content"]
    return kernel


def complete(k, code, cursor=None):
    cursor = len(code) if cursor is None else cursor
    c = k.reply(k.kc.complete(code, cursor_pos=cursor))["content"]
    assert c["status"] == "ok" and c["metadata"] == {}
    return c["matches"], c["cursor_start"], c["cursor_end"]


@pytest.mark.parametrize("code,cursor,matches,start,end", [
    ("%lsm", None, ["%lsmagic"], 0, 4),
    ("# é中😀\n%lsm", None, ["%lsmagic"], 6, 10),
    ("%ech # é中", 4, ["%echo"], 0, 4),
    ("%%rew", None, ["%%reward"], 0, 5),
    ("%rew", None, ["%%reward"], 0, 4),
    ("%help ech", None, ["echo"], 6, 9),
    ("%help rewa", None, ["reward"], 6, 10),
    ("%%pol", None, ["%%policy"], 0, 5),
    ("# é\n%%policy p\nhid", None, ["hidden = "], 15, 18),
    ("%%policy p\narch = m", None, ["mlp"], 18, 19),
    ("%%policy p\ntask = a", None, ["add", "addx"], 18, 19),
    ("%%policy p\ntask = addx\nfrom = ", None, [], 30, 30),
    # %%rl validates itself (reward parameters are keys too) but its schema still completes
    ("%%rl r\nkl_e", None, ["kl_estimator = "], 7, 11),
    ("%%rl r\nalgo = gr", None, ["grpo"], 14, 16),
    ("%%reward r\ne", None, ["eos", "exp(", "exact("], 11, 12),
    ("é中 + ex", None, ["exp(", "exact("], 5, 7),
    ("1 # ex", None, [], 6, 6),
])
def test_complete(k, code, cursor, matches, start, end):
    got, s, e = complete(k, code, cursor)
    assert got == matches
    if matches:
        assert (s, e) == (start, end)


def inspect(k, code, cursor=None):
    cursor = len(code) if cursor is None else cursor
    c = k.reply(k.kc.inspect(code, cursor_pos=cursor))["content"]
    assert c["status"] == "ok" and c["metadata"] == {}
    return c["data"].get("text/plain") if c["found"] else None


def test_inspect(k):
    assert inspect(k, "# é中\n%echo hi", 8).startswith("%echo [--stderr] TEXT\n\n")
    assert inspect(k, "%%reward r\n1", 0).startswith("%%reward NAME [param=default ...]\n\n")
    assert inspect(k, "%%reward r\n1 - length", 16) == (
        "length: feature, number of generated answer tokens (up to the first end token)\n")
    assert inspect(k, "é + exact(correct=1)", 6) == (
        "reward exact: exact = correct - c*length  (features: correct, length; parameters: "
        "c=0.01)\n")
    hid = inspect(k, "%%policy p\nhidden = 4", 13)
    assert hid.startswith("%%policy: hidden (integer"), hid
    assert inspect(k, "1 + 2", 3) is None
    assert inspect(k, "# echo", 4) is None


def test_help_pager_matches_inspect(k):
    rep, _ = k.execute("?%%reward")
    pages = rep["content"]["payload"]
    assert len(pages) == 1 and pages[0]["source"] == "page"
    assert pages[0]["data"]["text/plain"] == inspect(k, "%%reward r\n1", 0)


@pytest.mark.parametrize("code,status", [
    ("%echo hi", "complete"), ("%echo (", "complete"), ("", "complete"),
    ("é中 + (1 +", "incomplete"), ("%echo a\n[1,\n 2", "incomplete"),
    ("%%reward r", "incomplete"), ("%%reward r\ncorrect", "incomplete"),
    ("%%reward r\ncorrect\n", "complete"), ("%%policy p\ntask = add\n", "complete"),
    ("1 + 2)", "invalid"), ("(1))", "invalid"),
])
def test_is_complete(k, code, status):
    c = k.reply(k.kc.is_complete(code))["content"]
    assert c["status"] == status, (code, c)
    if status == "incomplete":
        assert isinstance(c["indent"], str)
