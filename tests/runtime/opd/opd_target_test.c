/* opd_target_test.c: the restricted target of the full estimator (rt_opd_config
 * target_top_k / target_top_p, rt_opd_dlogits_restricted).  On a hand example: which
 * tokens are kept (top-k, the top-p nucleus, both, ties to the lower id), the KL between
 * the student and the target renormalized over them (computed here in double from the
 * definition) and no gradient outside them; the gradient equals central finite
 * differences of that KL in double; keeping every token gives the unrestricted loss and
 * gradient; a full-estimator step with a restriction trains; the configuration errors
 * (sampled estimator, bad values).
 *
 * Tolerances: the function works in float on O(1) values over <= 16 terms, so its KL and
 * gradient carry an error of a few 1e-7 relative; central differences with h = 1e-4 in
 * double have a truncation error O(h^2 |f'''|) ~ 1e-8 here.  We allow 2e-5 (1 + |g|). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fx_model.h"
#include "rt_opd.h"
#include "rt_policy.h"

/* KL(q || M) over the tokens keep[0..n), q = softmax of z over them, M = softmax of
 * (1 - lambda) lR + lambda lT over them, in double. */
static double kl_restricted(const double *z, const float *lT, const float *lR, double lambda,
                            const int *keep, int n)
{
    double zq = -INFINITY, zm = -INFINITY, sq = 0, sm = 0, kl = 0;
    for (int i = 0; i < n; i++) {
        int a = keep[i];
        zq = fmax(zq, z[a]);
        zm = fmax(zm, (1 - lambda) * lR[a] + lambda * lT[a]);
    }
    for (int i = 0; i < n; i++) {
        int a = keep[i];
        sq += exp(z[a] - zq);
        sm += exp((1 - lambda) * lR[a] + lambda * lT[a] - zm);
    }
    for (int i = 0; i < n; i++) {
        int a = keep[i];
        double lq = z[a] - zq - log(sq), lm = (1 - lambda) * lR[a] + lambda * lT[a] - zm - log(sm);
        kl += exp(lq) * (lq - lm);
    }
    return kl;
}

static void logsoftmax_d(const double *p, float *l, int V) /* l = log(p / sum p) */
{
    double s = 0;
    for (int v = 0; v < V; v++)
        s += p[v];
    for (int v = 0; v < V; v++)
        l[v] = (float)log(p[v] / s);
}

static void hand_example(void **state)
{
    (void)state;
    enum { V = 5 };
    const double pt[V] = {0.5, 0.3, 0.1, 0.06, 0.04}, pr[V] = {0.2, 0.2, 0.2, 0.2, 0.2},
                 ps[V] = {0.1, 0.2, 0.3, 0.25, 0.15};
    float lT[V], lR[V], lS[V];
    logsoftmax_d(pt, lT, V), logsoftmax_d(pr, lR, V), logsoftmax_d(ps, lS, V);
    double z[V];
    for (int v = 0; v < V; v++)
        z[v] = lS[v];
    const float lambda = 2.0f;
    static const struct {
        int k;
        float p;
        int n; /* tokens kept: the teacher's first n (0, 1, 2, ...) */
    } cases[] = {
        {2, 1.0f, 2},  /* top-2 */
        {0, 0.75f, 2}, /* 0.5 < 0.75 <= 0.8 */
        {0, 0.45f, 1}, /* the argmax alone: q = M, KL 0 */
        {3, 0.85f, 3}, /* nucleus {0, 1, 2} (0.9), k = 3 */
        {2, 0.85f, 2}, /* k cuts the nucleus */
        {9, 1.0f, 5},  /* k > V: everything */
    };
    const int order[V] = {0, 1, 2, 3, 4};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float dl[V] = {0};
        int work[2 * V], n = -1;
        float kl = rt_opd_dlogits_restricted(dl, lS, lT, lR, lambda, 1.0f, V, cases[c].k,
                                             cases[c].p, work, &n);
        assert_int_equal(n, cases[c].n);
        double want = kl_restricted(z, lT, lR, lambda, order, n);
        if (fabs(kl - want) > 1e-5) fail_msg("case %d: KL %g vs %g", (int)c, kl, want);
        for (int v = n; v < V; v++)
            assert_true(dl[v] == 0.0f); /* no gradient outside the kept tokens */
        if (n == 1) assert_true(fabsf(kl) < 1e-7f && fabsf(dl[0]) < 1e-7f);
    }
    /* the unrestricted target: with lambda 2 the tail token 4 (teacher 0.04, reference
     * 0.2) gets target mass 0.04^2/0.2 = 0.008 normalized; restricted to top-2 it has none,
     * and the KL differs */
    float d1[V] = {0}, d2[V] = {0};
    int work[2 * V];
    float k1 = rt_opd_dlogits_full(d1, lS, lT, lR, lambda, 1.0f, V);
    float k2 = rt_opd_dlogits_restricted(d2, lS, lT, lR, lambda, 1.0f, V, 2, 1.0f, work, NULL);
    assert_true(fabsf(k1 - k2) > 0.1f);
    /* ties: tokens 1 and 3 equal for the teacher -> top-2 keeps {0, 1} (lower id) */
    const double tt[V] = {0.4, 0.2, 0.1, 0.2, 0.1};
    logsoftmax_d(tt, lT, V);
    lT[3] = lT[1];
    float d3[V] = {0};
    int n = 0;
    rt_opd_dlogits_restricted(d3, lS, lT, lR, lambda, 1.0f, V, 2, 1.0f, work, &n);
    assert_int_equal(n, 2);
    assert_true(d3[1] != 0.0f && d3[3] == 0.0f);
}

/* The gradient is the finite-difference gradient of the restricted KL wrt the logits. */
static void gradient_by_finite_differences(void **state)
{
    (void)state;
    enum { V = 16 };
    rt_rng r = rt_rng_make(7);
    const float lambdas[3] = {1.0f, 2.5f, 4.0f};
    const struct {
        int k;
        float p;
    } cases[3] = {{3, 1.0f}, {0, 0.9f}, {6, 0.95f}};
    for (int li = 0; li < 3; li++)
        for (int c = 0; c < 3; c++) {
            float lT[V], lR[V], lS[V], dl[V] = {0};
            double z[V];
            for (int v = 0; v < V; v++)
                lT[v] = 2.0f * rt_rng_normal(&r), lR[v] = 2.0f * rt_rng_normal(&r),
                z[v] = 1.5 * rt_rng_normal(&r), lS[v] = (float)z[v];
            rt_nn_log_softmax(lT, lT, 1, V, 1.0f);
            rt_nn_log_softmax(lR, lR, 1, V, 1.0f);
            rt_nn_log_softmax(lS, lS, 1, V, 1.0f);
            int work[2 * V], n = 0;
            rt_opd_dlogits_restricted(dl, lS, lT, lR, lambdas[li], 1.0f, V, cases[c].k, cases[c].p,
                                      work, &n);
            assert_true(n >= 1 && n < V); /* a real restriction */
            int keep[V];
            memcpy(keep, work, sizeof(int) * (size_t)n); /* S: the function's own order */
            for (int v = 0; v < V; v++) {
                const double h = 1e-4;
                double zp[V], zm[V];
                memcpy(zp, z, sizeof zp), memcpy(zm, z, sizeof zm);
                zp[v] += h, zm[v] -= h;
                double g = (kl_restricted(zp, lT, lR, lambdas[li], keep, n) -
                            kl_restricted(zm, lT, lR, lambdas[li], keep, n)) /
                           (2 * h);
                if (fabs(dl[v] - g) > 2e-5 * (1 + fabs(g)))
                    fail_msg("lambda %g case %d logit %d: %g vs finite differences %g", lambdas[li],
                             c, v, dl[v], g);
            }
        }
}

/* Keeping every token is the unrestricted estimator (to float rounding: the sums run in
 * the teacher's order). */
static void all_tokens_is_unrestricted(void **state)
{
    (void)state;
    enum { V = 16 };
    rt_rng r = rt_rng_make(3);
    for (int i = 0; i < 20; i++) {
        float lT[V], lR[V], lS[V], a[V] = {0}, b[V] = {0};
        for (int v = 0; v < V; v++)
            lT[v] = 2.0f * rt_rng_normal(&r), lR[v] = 2.0f * rt_rng_normal(&r),
            lS[v] = 2.0f * rt_rng_normal(&r);
        rt_nn_log_softmax(lT, lT, 1, V, 1.0f);
        rt_nn_log_softmax(lR, lR, 1, V, 1.0f);
        rt_nn_log_softmax(lS, lS, 1, V, 1.0f);
        int work[2 * V];
        float ka = rt_opd_dlogits_full(a, lS, lT, lR, 1.5f, 1.0f, V);
        float kb = rt_opd_dlogits_restricted(b, lS, lT, lR, 1.5f, 1.0f, V, V, 1.0f, work, NULL);
        assert_true(fabsf(ka - kb) <= 1e-5f * (1 + fabsf(ka)));
        for (int v = 0; v < V; v++)
            assert_true(fabsf(a[v] - b[v]) <= 1e-5f * (1 + fabsf(a[v])));
    }
}

/* Configuration errors; a restricted full step trains (finite loss, weights change). */
static void config_and_step(void **state)
{
    (void)state;
    enum { V = 12, K = 4, D = 6, B = 5, P = 3, T = 4 };
    rt_policy *s = fx_mlp(V, K, D, 16, 1, RT_NN_ACT_RELU, 1);
    rt_policy *t = fx_mlp(V, K, D, 24, 2, RT_NN_ACT_RELU, 2);
    rt_opd_config c = rt_opd_defaults();
    assert_int_equal(c.target_top_k, 0);
    assert_true(c.target_top_p == 1.0f);
    c.batch = B, c.prompt_len = P, c.gen_len = T;
    c.target_top_k = 3;
    rt_opd *o = NULL;
    rt_diag d;
    assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &s->model, &d), RT_EINVAL);
    assert_string_equal(d.msg, "opd: target_top_k / target_top_p restrict the full estimator's "
                               "target: they need estimator = full");
    c.estimator = RT_OPD_FULL;
    c.target_top_p = 0.0f;
    assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &s->model, &d), RT_EINVAL);
    assert_string_equal(d.msg, "opd: target_top_k must be >= 0 and target_top_p in (0, 1]");
    c.target_top_p = 0.9f;
    c.lambda = 3.0f;
    assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &s->model, &d), 0);
    int prompts[B * P];
    for (int i = 0; i < B * P; i++)
        prompts[i] = 1 + i % (V - 1);
    size_t changed = 0;
    float *before = malloc(sizeof(float) * s->params.n);
    memcpy(before, s->params.w, sizeof(float) * s->params.n);
    rt_rng r = rt_rng_make(4);
    rt_opd_metrics m;
    for (int k = 0; k < 3; k++) {
        rt_rng step = rt_rng_split(&r, (uint64_t)k);
        assert_int_equal(rt_opd_step(o, &s->model, &t->model, &s->model, prompts, &step, &m), 0);
        assert_true(isfinite(m.loss) && m.loss >= 0.0f);
    }
    for (size_t i = 0; i < s->params.n; i++)
        changed += s->params.w[i] != before[i];
    assert_true(changed > s->params.n / 4);
    free(before);
    rt_opd_free(o);
    rt_policy_free(s);
    rt_policy_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example),
        cmocka_unit_test(gradient_by_finite_differences),
        cmocka_unit_test(all_tokens_is_unrestricted),
        cmocka_unit_test(config_and_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
