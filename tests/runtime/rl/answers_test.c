/* answers_test.c: exact reward moments over every answer (rt_answers.h) against a
 * brute-force reference built here, as tilt_test.c builds its own: every answer of add
 * digits=1 (<eos>; a<eos>; ab<eos>; abc, a, b non-EOS: 30784 answers per prompt)
 * enumerated by nested loops (not the prefix tree), each answer's probability the
 * product of its token log-probs from rt_model_score over the whole sequence (float,
 * summed in double), its rewards from the task's features, then mass, means, covariances
 * and within-prompt covariances over every prompt of the held-out split in double, by
 * the definitions of the header.  Then identities that hold for any policy (r(R, R) = 1,
 * r(R, aR + b) = sign(a), a constant reward has r = NaN, an indicator and its complement
 * sum to the mass, within <= total variance), determinism (two calls, same bits) and
 * the errors (answers too long, prompts not enumerated, nr outside [1, 4], a vocabulary
 * mismatch).
 *
 * Tolerance (brute force vs rt_answers_moments): both use the same model, but the
 * reference's token log-probs are float (log_softmax in float: an error of a few float
 * ulps of |lp| + |log-normalizer| <= |lp| + |max logit| + log V per token, as in
 * tilt_test.c) while rt_answers normalizes the float logits in double.  So each answer's
 * probability carries a relative error delta(y) <= 16 FLT_EPSILON mag(y), mag(y) = sum
 * over its <= 3 tokens of |lp| + |max logit| + log V + 1, and a sum S = sum w f(y) is
 * off by at most B = sum w delta |f| (accumulated here alongside S), plus the rounding of
 * ~N = 30784 n double additions, <= N DBL_EPSILON sum w |f|.  Covariances combine these
 * bounds through E[RjRk] - E[Rj] E[Rk] (|d(ab)| <= |a| db + |b| da + da db).  The
 * identities are exact in real arithmetic: 1e-9 relative (double roundoff only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_answers.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_task.h"
#include "fx_train.h"

enum { V = 32, P = 5, T = 3, MAXN = 31000, NR = RT_ANSWERS_MAX_R };

typedef struct fx {
    rt_task *task;
    rt_policy *base;
    rt_reward_program *rw[NR];
    double params[NR][8];
    const rt_reward_program *r[NR];
    const double *pr[NR];
    int n;        /* answers */
    int *seqs;    /* (n, P + T) */
    int *len;     /* (n) */
    int *lo, *hi; /* (n) positions [P, P + len) */
    float *lp;    /* (n * T) per-row scores */
} fx;

static fx F;

/* Rewards of the brute-force comparison: varied (with a bound parameter c, so that
 * params[j] must reach reward j), an indicator, a proxy, and the eos feature. */
static const char *const reward_src[NR] = {
    "2 * correct + 0.5 * partial - c * length + format",
    "correct",
    "partial + length",
    "eos",
};

static rt_task *make_task(const char *spec)
{
    rt_task_config c;
    rt_diag e;
    assert_int_equal(rt_task_config_parse(&c, spec, &e), 0);
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &e), 0);
    return t;
}

/* Compiled against the task's features and bound: parameter c = 0.3 if it has one. */
static rt_reward_program *make_reward(const rt_task *task, const char *src, double *params)
{
    rt_reward_program *rw = fx_reward(task, NULL, 0, src);
    assert_true(rt_reward_n_params(rw) <= 8);
    const char *pn[] = {"c"};
    const double pv[] = {0.3};
    int np = rt_reward_n_params(rw);
    rt_diag d;
    if (rt_reward_bind_params(rw, pn, pv, np, params, &d)) fail_msg("%s: %s", src, d.msg);
    return rw;
}

static int setup(void **st)
{
    (void)st;
    F.task = make_task("add digits=1");
    assert_int_equal(rt_task_prompt_len(F.task), P);
    assert_int_equal(rt_task_answer_max(F.task), T);
    assert_int_equal(rt_task_vocab_size(F.task), V);
    F.base = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_RELU, 11);
    for (size_t i = 0; i < F.base->params.n; i++) /* a peaked, far from uniform policy */
        F.base->params.w[i] *= 2.0f;
    /* that puts ~all mass on 3-token answers: favour EOS and the digits, so answers of
     * every length and some correct ones have weight */
    F.base->p.bo[RT_TOK_EOS] += 6.0f;
    for (int v = 0; v < 10; v++)
        F.base->p.bo[RT_TOK_DIGIT0 + v] += 1.0f;
    rt_policy_touch(F.base);
    for (int j = 0; j < NR; j++) {
        F.rw[j] = make_reward(F.task, reward_src[j], F.params[j]);
        F.r[j] = F.rw[j];
        F.pr[j] = F.params[j];
    }
    assert_int_equal(rt_reward_n_params(F.rw[0]), 1);
    F.seqs = rt_calloc((size_t)MAXN * (P + T), sizeof(int));
    F.len = rt_calloc(MAXN, sizeof(int));
    F.lo = rt_calloc(MAXN, sizeof(int));
    F.hi = rt_calloc(MAXN, sizeof(int));
    F.lp = rt_calloc((size_t)MAXN * T, sizeof(float));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rt_policy_free(F.base);
    for (int j = 0; j < NR; j++)
        rt_reward_free(F.rw[j]);
    rt_task_free(F.task);
    rt_free(F.seqs), rt_free(F.len), rt_free(F.lo), rt_free(F.hi), rt_free(F.lp);
    return 0;
}

/* Every answer of prompt x, by nested loops: y1 = EOS; y1 y2 = EOS; y1 y2 y3 (any). */
static void enumerate(const rt_task_sample *x)
{
    int n = 0;
    for (int a = 0; a < V; a++)
        for (int b = 0; b < (a == RT_TOK_EOS ? 1 : V); b++)
            for (int c = 0; c < (a == RT_TOK_EOS || b == RT_TOK_EOS ? 1 : V); c++) {
                int *s = F.seqs + (size_t)n * (P + T);
                memcpy(s, x->prompt, sizeof(int) * P);
                int y[3] = {a, b, c}, L = a == RT_TOK_EOS ? 1 : b == RT_TOK_EOS ? 2 : 3;
                for (int k = 0; k < T; k++)
                    s[P + k] = k < L ? y[k] : RT_TOK_PAD;
                F.len[n] = L, F.lo[n] = P, F.hi[n] = P + L;
                n++;
            }
    assert_int_equal(n, 1 + 31 + 31 * 31 + 31 * 31 * 31);
    F.n = n;
}

/* The reference moments of the first nr rewards F.r under m on a split, and their error
 * bounds (tol: same layout; see the top comment). */
static void brute_force(const rt_model *m, rt_task_split split, int nr, rt_answers_result *ref,
                        rt_answers_result *tol)
{
    memset(ref, 0, sizeof *ref), memset(tol, 0, sizeof *tol);
    uint64_t n = rt_task_split_count(F.task, split);
    assert_true(n > 0);
    double mass = 0, bmass = 0, s1[NR] = {0}, b1[NR] = {0}, a1[NR] = {0};
    double s2[NR][NR] = {{0}}, b2[NR][NR] = {{0}}, a2[NR][NR] = {{0}}, sw[NR][NR] = {{0}},
           bw[NR][NR] = {{0}};
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, MAXN * T, NULL), 0);
    long terms = 0;
    for (uint64_t i = 0; i < n; i++) {
        rt_task_sample x;
        assert_int_equal(rt_task_sample_at(F.task, split, i, &x), 0);
        enumerate(&x);
        rt_model_batch b = {F.seqs, F.n, P + T, 0, F.lo, F.hi};
        assert_int_equal(rt_model_score(m, ws, &b, 1.0f, F.lp), 0);
        const float *z = rt_model_ws_logits(ws);
        double pm = 0, bm = 0, p1[NR] = {0}, q1[NR] = {0}, p2[NR][NR] = {{0}}, q2[NR][NR] = {{0}};
        long row = 0;
        for (int y = 0; y < F.n; y++) {
            double lseq = 0.0, mag = 0.0;
            for (int k = 0; k < F.len[y]; k++, row++) {
                float mx = -INFINITY;
                for (int v = 0; v < V; v++)
                    mx = z[row * V + v] > mx ? z[row * V + v] : mx;
                lseq += F.lp[row];
                mag += fabs(F.lp[row]) + fabs(mx) + log(V) + 1.0;
            }
            double w = exp(lseq), wd = w * 16 * FLT_EPSILON * mag;
            double feat[RT_TASK_MAX_FEATURES], rv[NR];
            rt_task_features(F.task, &x, F.seqs + (size_t)y * (P + T) + P, F.len[y], feat);
            for (int j = 0; j < nr; j++)
                rv[j] = rt_reward_eval(F.r[j], feat, F.pr[j]);
            pm += w, bm += wd;
            for (int j = 0; j < nr; j++) {
                p1[j] += w * rv[j], q1[j] += wd * fabs(rv[j]), a1[j] += w * fabs(rv[j]);
                for (int k = 0; k < nr; k++) {
                    p2[j][k] += w * rv[j] * rv[k];
                    q2[j][k] += wd * fabs(rv[j] * rv[k]);
                    a2[j][k] += w * fabs(rv[j] * rv[k]);
                }
            }
        }
        terms += F.n;
        mass += pm, bmass += bm;
        for (int j = 0; j < nr; j++) {
            s1[j] += p1[j], b1[j] += q1[j];
            for (int k = 0; k < nr; k++) {
                s2[j][k] += p2[j][k], b2[j][k] += q2[j][k];
                sw[j][k] += p2[j][k] - p1[j] * p1[k];
                bw[j][k] += q2[j][k] + fabs(p1[j]) * q1[k] + fabs(p1[k]) * q1[j] + q1[j] * q1[k];
            }
        }
    }
    rt_model_ws_free(ws);
    double dn = (double)n, rnd = 2.0 * (double)terms * DBL_EPSILON;
    ref->n_prompts = (int)n, ref->nr = nr;
    ref->mass = mass / dn;
    tol->mass = 1.01 * bmass / dn + rnd * ref->mass;
    double tm[NR];
    for (int j = 0; j < nr; j++) {
        ref->mean[j] = s1[j] / dn;
        tm[j] = tol->mean[j] = 1.01 * b1[j] / dn + rnd * a1[j] / dn + 1e-300;
    }
    for (int j = 0; j < nr; j++)
        for (int k = 0; k < nr; k++) {
            ref->cov[j][k] = s2[j][k] / dn - ref->mean[j] * ref->mean[k];
            ref->within[j][k] = sw[j][k] / dn;
            double t2 = 1.01 * b2[j][k] / dn + rnd * a2[j][k] / dn;
            double tp = fabs(ref->mean[j]) * tm[k] + fabs(ref->mean[k]) * tm[j] + tm[j] * tm[k];
            tol->cov[j][k] = t2 + tp + rnd * (a2[j][k] / dn + a1[j] * a1[k] / (dn * dn));
            tol->within[j][k] = 1.01 * bw[j][k] / dn + 2 * rnd * a2[j][k] / dn + 1e-15;
        }
}

static void expect_close(const char *what, int j, int k, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s[%d][%d]: rt_answers %.15g, brute force %.15g (|diff| %.3g > tol %.3g)", what,
                 j, k, got, want, fabs(got - want), tol);
}

static rt_answers_result moments(const rt_model *m, const rt_task *task, rt_task_split split,
                                 const rt_reward_program *const *r, const double *const *pr, int nr)
{
    rt_answers_result res;
    rt_diag d;
    int rc = rt_answers_moments(m, task, split, r, pr, nr, &res, &d);
    if (rc) fail_msg("rt_answers_moments: %d: %s", rc, d.msg);
    return res;
}

/* Every moment of four rewards on every prompt of the held-out split equals the
 * brute-force enumeration within its error bound; the bound is tight enough to matter. */
static void test_matches_brute_force(void **st)
{
    (void)st;
    rt_answers_result ref, tol;
    brute_force(&F.base->model, RT_TASK_HELDOUT, NR, &ref, &tol);
    rt_answers_result res = moments(&F.base->model, F.task, RT_TASK_HELDOUT, F.r, F.pr, NR);
    assert_int_equal(res.n_prompts, ref.n_prompts);
    assert_int_equal(res.nr, NR);
    expect_close("mass", 0, 0, res.mass, ref.mass, tol.mass);
    assert_true(fabs(res.mass - 1.0) <= tol.mass + 1e-12);
    double worst = 0.0;
    for (int j = 0; j < NR; j++) {
        expect_close("mean", j, j, res.mean[j], ref.mean[j], tol.mean[j]);
        assert_true(tol.mean[j] <= 1e-3 * (fabs(ref.mean[j]) + 1e-3)); /* a real check */
        for (int k = 0; k < NR; k++) {
            expect_close("cov", j, k, res.cov[j][k], ref.cov[j][k], tol.cov[j][k]);
            expect_close("within", j, k, res.within[j][k], ref.within[j][k], tol.within[j][k]);
            assert_true(res.cov[j][k] == res.cov[k][j]);
            assert_true(res.within[j][k] == res.within[k][j]);
            double e = fabs(res.cov[j][k] - ref.cov[j][k]) / tol.cov[j][k];
            double ew = fabs(res.within[j][k] - ref.within[j][k]) / tol.within[j][k];
            worst = e > worst ? e : worst;
            worst = ew > worst ? ew : worst;
        }
        /* non-degenerate rewards, and the prompts differ (between-prompt variance) */
        assert_true(ref.cov[j][j] > 1e-4);
        assert_true(ref.cov[j][j] - ref.within[j][j] > 1e-6);
        assert_true(tol.cov[j][j] <= 1e-2 * ref.cov[j][j]);
        assert_true(tol.within[j][j] <= 1e-2 * ref.within[j][j]);
    }
    /* Pearson r from the moments; |dr| <= (dc_jk + |r| (dv_j + dv_k) / 2) / sqrt(v_j v_k)
     * to first order in the relative errors (<= 1e-2, checked above), 2x for the rest */
    for (int j = 0; j < NR; j++)
        for (int k = 0; k < NR; k++) {
            double sd = sqrt(ref.cov[j][j] * ref.cov[k][k]), want = ref.cov[j][k] / sd;
            double tr = 2 * (tol.cov[j][k] + fabs(want) * (tol.cov[j][j] + tol.cov[k][k]) / 2) / sd;
            double sw = sqrt(ref.within[j][j] * ref.within[k][k]), ww = ref.within[j][k] / sw;
            double tw =
                2 * (tol.within[j][k] + fabs(ww) * (tol.within[j][j] + tol.within[k][k]) / 2) / sw;
            expect_close("corr", j, k, rt_answers_corr(&res, j, k), want, tr);
            expect_close("corr_within", j, k, rt_answers_corr_within(&res, j, k), ww, tw);
        }
    print_message(
        "brute force: %d prompts, worst (co)variance error %.3g of its bound, mass-1 %.3g\n",
        ref.n_prompts, worst, res.mass - 1.0);
}

/* Identities that hold for any policy: r(R, R) = 1, r(R, aR + b) = sign(a) (total and
 * within), the moments of aR + b, an indicator and its complement, within <= total
 * variance (law of total variance), a constant reward has r = NaN. */
static void test_identities(void **st)
{
    (void)st;
    const char *src[NR] = {"partial + length", "partial + length", "3 * (partial + length) - 7",
                           "2 - 0.5 * (partial + length)"};
    rt_reward_program *rw[NR];
    double prm[NR][8];
    const rt_reward_program *r[NR];
    const double *pr[NR];
    for (int j = 0; j < NR; j++)
        rw[j] = make_reward(F.task, src[j], prm[j]), r[j] = rw[j], pr[j] = prm[j];
    rt_answers_result a = moments(&F.base->model, F.task, RT_TASK_TRAIN, r, pr, NR);
    assert_true(fabs(a.mass - 1.0) <= 1e-9);
    const double eps = 1e-9;
    assert_true(fabs(rt_answers_corr(&a, 0, 1) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr(&a, 0, 2) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr(&a, 0, 3) + 1.0) <= eps);
    assert_true(fabs(rt_answers_corr(&a, 2, 3) + 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&a, 0, 1) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&a, 0, 2) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&a, 0, 3) + 1.0) <= eps);
    double m = a.mean[0], v = a.cov[0][0], w = a.within[0][0];
    assert_true(fabs(a.mean[2] - (3 * m - 7)) <= eps * (3 * fabs(m) + 7));
    assert_true(fabs(a.mean[3] - (2 - 0.5 * m)) <= eps * (0.5 * fabs(m) + 2));
    assert_true(fabs(a.cov[2][2] - 9 * v) <= eps * 9 * (v + m * m));
    assert_true(fabs(a.cov[3][3] - 0.25 * v) <= eps * (v + m * m));
    assert_true(fabs(a.cov[0][3] + 0.5 * v) <= eps * (v + m * m));
    assert_true(fabs(a.within[2][2] - 9 * w) <= eps * 9 * (v + m * m));
    assert_true(fabs(a.within[0][3] + 0.5 * w) <= eps * (v + m * m));
    for (int j = 0; j < NR; j++) { /* cov_jj = within_jj + between_jj, between_jj >= 0 */
        assert_true(a.within[j][j] > 0.0);
        assert_true(a.within[j][j] <= a.cov[j][j]);
    }
    for (int j = 0; j < NR; j++)
        rt_reward_free(rw[j]);

    /* an indicator and its complement; a constant */
    const char *src2[3] = {"length == 3", "length != 3", "1"};
    for (int j = 0; j < 3; j++)
        rw[j] = make_reward(F.task, src2[j], prm[j]), r[j] = rw[j], pr[j] = prm[j];
    rt_answers_result b = moments(&F.base->model, F.task, RT_TASK_TRAIN, r, pr, 3);
    assert_int_equal(b.nr, 3);
    assert_true(fabs(b.mean[0] + b.mean[1] - b.mass) <= eps);
    assert_true(b.mean[0] > 0.01 && b.mean[1] > 0.01);
    assert_true(fabs(rt_answers_corr(&b, 0, 1) + 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&b, 0, 1) + 1.0) <= eps);
    assert_true(fabs(b.mean[2] - b.mass) <= eps);
    assert_true(fabs(b.cov[2][2]) <= 1e-12 && fabs(b.within[2][2]) <= 1e-12);
    assert_true(isnan(rt_answers_corr(&b, 0, 2)));
    assert_true(isnan(rt_answers_corr(&b, 2, 2)));
    assert_true(isnan(rt_answers_corr_within(&b, 2, 1)));
    assert_false(isnan(rt_answers_corr(&b, 0, 0)));
    for (int j = 0; j < 3; j++)
        rt_reward_free(rw[j]);
}

/* Moments are summed about a reference value: a large constant offset does not cancel
 * the variance, a tiny scale is still a spread, and a large constant has none.  (Summed
 * about 0, r(R + 1e6, R) came out 1.14 and r(1e-7 R, R) NaN.) */
static void test_offset_and_scale(void **st)
{
    (void)st;
    const char *src[NR] = {"partial + length", "partial + length + 1000000",
                           "0.0000001 * (partial + length)", "1000"};
    rt_reward_program *rw[NR];
    double prm[NR][8];
    const rt_reward_program *r[NR];
    const double *pr[NR];
    for (int j = 0; j < NR; j++)
        rw[j] = make_reward(F.task, src[j], prm[j]), r[j] = rw[j], pr[j] = prm[j];
    rt_answers_result a = moments(&F.base->model, F.task, RT_TASK_TRAIN, r, pr, NR);
    const double eps = 1e-9;
    double m = a.mean[0], v = a.cov[0][0], w = a.within[0][0];
    assert_true(v > 0.01 && w > 0.0);
    assert_true(fabs(a.mean[1] - (m + 1e6)) <= eps * 1e6);
    assert_true(fabs(a.cov[1][1] - v) <= eps * v);
    assert_true(fabs(a.within[1][1] - w) <= eps * w);
    assert_true(fabs(rt_answers_corr(&a, 0, 1) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&a, 0, 1) - 1.0) <= eps);
    assert_true(fabs(a.cov[2][2] - 1e-14 * v) <= eps * 1e-14 * v);
    assert_true(fabs(rt_answers_corr(&a, 0, 2) - 1.0) <= eps);
    assert_true(fabs(rt_answers_corr_within(&a, 2, 1) - 1.0) <= eps);
    assert_true(fabs(a.mean[3] - 1000.0 * a.mass) <= eps * 1000.0);
    assert_true(a.cov[3][3] == 0.0 && a.within[3][3] == 0.0);
    assert_true(isnan(rt_answers_corr(&a, 0, 3)));
    assert_true(isnan(rt_answers_corr_within(&a, 3, 1)));
    for (int j = 0; j < NR; j++)
        rt_reward_free(rw[j]);
}

/* Two calls give the same bits; fewer rewards give the same leading moments. */
static void test_deterministic(void **st)
{
    (void)st;
    rt_answers_result a = moments(&F.base->model, F.task, RT_TASK_TRAIN, F.r, F.pr, NR);
    rt_answers_result b = moments(&F.base->model, F.task, RT_TASK_TRAIN, F.r, F.pr, NR);
    assert_memory_equal(&a, &b, sizeof a);
    rt_answers_result c = moments(&F.base->model, F.task, RT_TASK_TRAIN, F.r, F.pr, 2);
    assert_true(c.mass == a.mass);
    for (int j = 0; j < 2; j++) {
        assert_true(c.mean[j] == a.mean[j]);
        for (int k = 0; k < 2; k++)
            assert_true(c.cov[j][k] == a.cov[j][k] && c.within[j][k] == a.within[j][k]);
    }
    assert_true(c.mean[2] == 0.0 && c.cov[2][2] == 0.0);
}

static void test_errors(void **st)
{
    (void)st;
    rt_diag d;
    rt_answers_result res;
    /* answers too long */
    rt_task *t2 = make_task("add digits=2");
    assert_int_equal(rt_answers_check_task(t2, RT_TASK_TRAIN, &d), RT_EINVAL);
    assert_string_equal(d.msg, "exact answer moments enumerate every answer: answers of at most 3 "
                               "tokens (EOS included), but this task has answers of up to 4 "
                               "tokens");
    memset(&res, 0xff, sizeof res);
    assert_int_equal(rt_answers_moments(&F.base->model, t2, RT_TASK_TRAIN, F.r, F.pr, 1, &res, &d),
                     RT_EINVAL);
    assert_int_equal(res.nr, 0);
    assert_non_null(strstr(d.msg, "up to 4 tokens"));
    rt_task_free(t2);
    /* prompts not enumerated (10^8 triage states), answers short enough */
    rt_task *tr = make_task("triage features=8 values=10");
    assert_true(rt_task_answer_max(tr) <= T);
    assert_int_equal(rt_answers_check_task(tr, RT_TASK_HELDOUT, &d), RT_EINVAL);
    assert_string_equal(d.msg, "exact answer moments enumerate every prompt: this task's "
                               "100000000 prompts are not enumerated (at most 65536 per domain)");
    rt_task_free(tr);
    /* fine: answers of 3 tokens, both splits */
    rt_task *s2 = make_task("sort length=2");
    assert_int_equal(rt_answers_check_task(s2, RT_TASK_TRAIN, &d), 0);
    assert_int_equal(rt_answers_check_task(s2, RT_TASK_HELDOUT, &d), 0);
    rt_task_free(s2);
    assert_int_equal(rt_answers_check_task(F.task, RT_TASK_TRAIN, &d), 0);
    /* nr outside [1, RT_ANSWERS_MAX_R] */
    assert_int_equal(
        rt_answers_moments(&F.base->model, F.task, RT_TASK_TRAIN, F.r, F.pr, 0, &res, &d),
        RT_EINVAL);
    assert_string_equal(d.msg, "answer moments of 1 to 4 rewards, not 0");
    assert_int_equal(rt_answers_moments(&F.base->model, F.task, RT_TASK_TRAIN, F.r, F.pr,
                                        RT_ANSWERS_MAX_R + 1, &res, &d),
                     RT_EINVAL);
    assert_string_equal(d.msg, "answer moments of 1 to 4 rewards, not 5");
    /* a vocabulary mismatch */
    rt_policy *small = fx_mlp(16, 4, 4, 8, 1, RT_NN_ACT_RELU, 3);
    assert_int_equal(
        rt_answers_moments(&small->model, F.task, RT_TASK_TRAIN, F.r, F.pr, 1, &res, &d),
        RT_EINVAL);
    assert_string_equal(d.msg, "the model has a vocabulary of 16 tokens, the task 32");
    rt_policy_free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_brute_force),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_offset_and_scale),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
