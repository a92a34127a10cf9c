"""Pipelines per seed (issue 14 item 1): a policy-valued key (from, reference, teacher,
%extrapolate's from/to) that names a sweep cell pairs each point with the sweep's point of
the same key values, so base -> teacher -> student is resampled as a whole per seed."""
import re

from conftest import ok, stream_text, who

BASE = ["%task ad add digits=2",
        "%%policy base\ntask = ad\nsft_steps = 40\nnoise = 0.6\nseed = [1, 2]",
        "%%reward exact\ncorrect"]


def lineage(k, name):
    return who(k) if name is None else stream_text(ok(k, f"%who {name}"))


def error(k, code):
    rep, _ = k.execute(code)
    c = rep["content"]
    assert c["status"] == "error", c
    return c["evalue"]


def test_rl_pairs_its_points_with_the_base_sweep(new_kernel):
    k = new_kernel()
    for c in BASE:
        ok(k, c)
    out = stream_text(ok(k, "%%rl t\nfrom = base\nreward = exact\nsteps = 3\nbatch = 8\n"
                            "seed = [1, 2]"))
    for s in (1, 2):
        assert f"policy t[seed={s}]: grpo from base[seed={s}] on ad" in out, out
        w = lineage(k, f"t[seed={s}]")
        assert f"sources = base[seed={s}]" in w, w
        assert f"base[seed={s}].made = %%policy base[seed={s}]" in w, w
    # a point of the sweep named outright is a plain policy: every point starts from it
    out = stream_text(ok(k, "%%rl u\nfrom = base[seed=2]\nreward = exact\nsteps = 3\n"
                            "batch = 8\nlr = [1e-3, 2e-3]"))
    assert out.count("from base[seed=2] on ad") >= 2, out


def test_pairing_errors_point_at_the_value(new_kernel):
    k = new_kernel()
    for c in BASE:
        ok(k, c)
    before = who(k)
    e = error(k, "%%rl t\nfrom = base\nreward = exact\nsteps = 3\nseed = [1, 3]")
    assert e.startswith("cell:2:8: no point of sweep 'base' matches this cell's point "
                        "[seed=3] (its points: base[seed=1], base[seed=2])"), e
    e = error(k, "%%rl t\nfrom = base\nreward = exact\nsteps = 3\nlr = [1e-3, 2e-3]")
    assert e.startswith("cell:2:8: 'base' is a sweep over seed (base[seed=1], ...), a key "
                        "this cell does not set"), e
    e = error(k, "%%rl t\nfrom = bsae\nreward = exact\nsteps = 3")
    assert e.startswith("cell:2:8: unknown policy 'bsae'"), e
    assert who(k) == before  # nothing was made


def test_values_pair_as_numbers(new_kernel):
    k = new_kernel()
    ok(k, "%task ad add digits=2")
    ok(k, "%%policy base\ntask = ad\nsft_steps = 20\nlr = [3e-4, 1e-3]")
    out = stream_text(ok(k, "%%policy b2\nfrom = base\nsft_steps = 5\nlr = [0.0003, 0.001]"))
    w = lineage(k, "b2[lr=0.0003]")
    assert "sources = base[lr=3e-4]" in w, (out, w)


def test_opd_and_extrapolate_pair_every_role(new_kernel):
    k = new_kernel()
    for c in BASE:
        ok(k, c)
    ok(k, "%%rl teacher\nfrom = base\nreward = exact\nsteps = 4\nbatch = 8\nseed = [1, 2]")
    out = stream_text(ok(k, "%extrapolate half from=base to=teacher alpha=-0.5"))
    for s in (1, 2):
        assert (f"policy half[seed={s}]: ExPO: teacher[seed={s}] + -0.5 "
                f"(teacher[seed={s}] - base[seed={s}])") in out, out
    out = stream_text(ok(k, "%%opd s\nfrom = base\nteacher = half\nlambda = [1, 2]\n"
                            "steps = 3\nbatch = 8\neval_prompts = 32\nseed = [1, 2]"))
    # one held-out line per distinct teacher, the yardstick is their mean
    accs = [float(a) for a in re.findall(
        r"teacher half\[seed=[12]\]: held-out greedy accuracy (\d\.\d+) on ad", out)]
    assert len(accs) == 2, out
    w = lineage(k, "s[lambda=2,seed=2]")
    assert "sources = base[seed=2], half[seed=2]" in w, w
    assert "teacher half[seed=2], reference base[seed=2], lambda 2" in w, w
    # a reference sweep pairs too; a sweep the cell cannot pair is refused at its value
    out = stream_text(ok(k, "%%opd r\nfrom = base\nteacher = teacher\nreference = half\n"
                            "steps = 2\nbatch = 8\neval_prompts = 32\nseed = [1, 2]"))
    assert "reference half[seed=1]" in lineage(k, "r[seed=1]")
    e = error(k, "%%opd x\nfrom = base[seed=1]\nteacher = teacher\nsteps = 2")
    assert e.startswith("cell:3:11: 'teacher' is a sweep over seed"), e


def test_eval_takes_a_sweep(new_kernel):
    """%eval NAME of a sweep cell evaluates each point on the same prompts (one table,
    the paired differences to the first)."""
    k = new_kernel()
    for c in BASE:
        ok(k, c)
    from conftest import outputs
    msgs = ok(k, "%eval base k=0 n=64")
    (m,) = [m for m in outputs(msgs) if m["msg_type"] in ("display_data", "execute_result")]
    text = m["content"]["data"]["text/plain"]
    rows = [l.split()[0] for l in text.splitlines()[1:] if l.startswith("base[")]
    assert rows == ["base[seed=1]", "base[seed=2]"], text


def test_tilt_over_a_sweep_makes_a_tilt_per_point(new_kernel):
    k = new_kernel()
    ok(k, "%task a1 add digits=1")
    ok(k, "%%policy b\ntask = a1\nsft_steps = 20\nseed = [1, 2]")
    ok(k, "%%reward exact\ncorrect")
    out = stream_text(ok(k, "%tilt t from=b reward=exact beta=0.5"))
    for s in (1, 2):
        assert f"policy t[seed={s}]: tilt: b[seed={s}] e^{{exact/0.5}} / Z on a1" in out, out
    # each point is the tilt of its own base: the same as tilting that base outright
    ok(k, "%tilt t2 from=b[seed=2] reward=exact beta=0.5")
    from conftest import outputs
    (m,) = [m for m in outputs(ok(k, "%eval t[seed=2] t2 k=4 n=64"))
            if m["msg_type"] in ("display_data", "execute_result")]
    ev = m["content"]["data"]["text/plain"]

    def row(name):
        return re.search(rf"^{re.escape(name)}\s+(\S+)\s+(\S+)\s+(\S+)", ev, re.M).groups()
    assert row("t[seed=2]") == row("t2"), ev
    # a distillation pairs its teacher with the tilt of its own seed's base
    out = stream_text(ok(k, "%%opd s\nfrom = b\nteacher = t\nlambda = 2\nsteps = 2\nbatch = 8\n"
                            "seed = [1, 2]"))
    for s in (1, 2):
        w = lineage(k, f"s[seed={s}]")
        assert f"t[seed={s}]" in w and f"b[seed={s}]" in w, w
    # an unknown name is still an unknown policy, at the value
    e = error(k, "%tilt u from=bb reward=exact beta=1")
    assert e.startswith("cell:1:14: unknown policy 'bb'"), e
