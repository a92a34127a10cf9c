"""%figure (issue 14 item 8: one-state pictures of the concepts): the drawn values are the
formulas the notebooks teach — the clipped surrogate and its zero gradient where the clip
holds, k1/k2/k3 and their loss factors (k1's is constant: zero gradient in expectation),
the KL and chi^2 summands, and the G-OPD target (lambda = 0 is the reference, 1 the
teacher, each a distribution) — read from the Vega-Lite data of the displayed chart."""
import math

from conftest import ok, outputs
from nbclaims import Chart


def chart(k, code):
    msgs = ok(k, code)
    (m,) = [m for m in outputs(msgs) if m["msg_type"] == "display_data"]
    data = m["content"]["data"]
    assert "image/png" in data or "image/svg+xml" in data
    return Chart(0, data["application/vnd.vegalite.v5+json"])


# the Vega-Lite data carries 6 significant digits (runtime/chart): the tolerance of a
# value v read back is half a unit in its 6th digit, plus the x rounding's effect
def close(y, want):
    return abs(y - want) <= 6e-6 * max(1.0, abs(want))


def pts(series):
    return list(zip(series.x, series.y))


def test_surrogate_is_the_clipped_objective(kernel):
    c = chart(kernel, "%figure surrogate clip=0.2")
    pos = c["A = +1 (clip 0.2)"]
    neg = c["A = \u22121 (clip 0.2)"]
    grad = c["d surrogate / d log \u03c1"]
    for x, y in pts(pos["clipped surrogate"]):
        assert close(y, min(x, min(max(x, 0.8), 1.2))), (x, y)
    for x, y in pts(neg["clipped surrogate"]):
        assert close(y, min(-x, -min(max(x, 0.8), 1.2))), (x, y)
    for x, y in pts(grad["gradient, A = +1"]):
        assert close(y, x if x < 1.2 else 0.0), (x, y)  # d(rho A)/d log rho = rho A
    for x, y in pts(grad["gradient, A = \u22121"]):
        assert close(y, -x if x > 0.8 else 0.0), (x, y)


def test_kl_estimators_and_their_loss_factors(kernel):
    c = chart(kernel, "%figure kl")
    val = c["value at a sampled token"]
    fac = c["dk/d log \u03c0\u03b8: factor on \u2207log \u03c0\u03b8"]
    names = ["k1 = \u2212log r", "k2 = (log r)\u00b2/2", "k3 = r \u2212 1 \u2212 log r"]
    want_v = [lambda l: -l, lambda l: l * l / 2, lambda l: math.exp(l) - 1 - l]
    want_g = [lambda l: 1.0, lambda l: -l, lambda l: 1 - math.exp(l)]
    for n, fv, fg in zip(names, want_v, want_g):
        for x, y in pts(val[n]):
            assert close(y, fv(x)), (n, x, y)
        for x, y in pts(fac[n]):
            assert close(y, fg(x)), (n, x, y)


def test_chi2_and_kl_summands(kernel):
    c = chart(kernel, "%figure chi2 p=0.3")
    p = c["one answer with \u03c0(y) = 0.3"]
    for x, y in pts(p["KL summand p log(p/\u03c0ref)"]):
        want = 0.3 * math.log(0.3 / 10 ** x)
        # a log axis draws values <= 0 as gaps (pi_ref(y) > p: the summand is negative)
        assert (y is None) == (want <= 0) and (y is None or close(y, want)), (x, y)
    for x, y in pts(p["\u03c7\u00b2 summand p\u00b2/\u03c0ref"]):
        assert abs(y - 0.09 / 10 ** x) <= 6e-6 * y, (x, y)


def test_target_interpolates_reference_and_teacher(new_kernel):
    k = new_kernel()
    ok(k, "%task ad add digits=2")
    ok(k, "%%policy base\ntask = ad\nsft_steps = 60\nnoise = 0.6")
    ok(k, "%%policy other\ntask = ad\nsft_steps = 20\nnoise = 0.9")
    c = chart(k, '%figure target ref=base teacher=other prompt="57+68=" lambda=[0, 1, 2] top=14')
    p = c["probability"]
    ref, t = dict(pts(p["\u03c0ref (base)"])), dict(pts(p["\u03c0T (other)"]))
    lam0, lam1 = dict(pts(p["target \u03bb = 0"])), dict(pts(p["target \u03bb = 1"]))
    lam2 = dict(pts(p["target \u03bb = 2"]))
    for x in ref:
        assert abs(lam0[x] - ref[x]) <= 1e-6 and abs(lam1[x] - t[x]) <= 1e-6, x
        # lambda = 2: proportional to pi_T^2 / pi_ref
    z = [t[x] ** 2 / ref[x] / lam2[x] for x in ref if lam2[x] > 1e-6]
    assert max(z) / min(z) < 1 + 1e-3, z
    assert sorted(t.values(), reverse=True) == [t[x] for x in sorted(t)]  # ranked by pi_T
    assert sum(t.values()) <= 1 + 1e-6 and sum(lam2.values()) <= 1 + 1e-6


def test_figure_errors(kernel):
    for code, want in (("%figure kl clip=0.3", "cell:1:12: 'clip' has no effect on %figure kl"),
                       ("%figure bars", "cell:1:9: %figure draws surrogate, kl, chi2 or target"),
                       ("%figure target", "cell:1:2: %figure target needs ref=POLICY")):
        rep, _ = kernel.execute(code)
        assert rep["content"]["status"] == "error", code
        assert rep["content"]["evalue"].startswith(want), (code, rep["content"]["evalue"])
