/* nonfinite_test.c: rt_nn's exponential and row losses on NaN and infinite inputs.
 * Every result must be well defined (this test runs under UBSan with
 * halt_on_error=1 in the sanitizer build: a NaN reaching a float-to-int conversion
 * or a negative shift would stop it): exp(NaN) = NaN, exp(+inf) = +inf,
 * exp(-inf) = 0; a NaN logit makes its own row NaN and no other; a -inf logit is a
 * masked token (log-prob -inf, probability 0, never sampled) and leaves the rest of
 * its row equal to the softmax of the finite logits.  Rows are 37 wide so that both
 * the 16-lane body and the scalar tail of each row loop see the special values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rt_nn.h"
#include "rt_rng.h"

enum { V = 37, N = 6 };

static void expf_special_values(void **state)
{
    (void)state;
    assert_true(isnan(rt_nn_expf(NAN)));
    assert_true(isnan(rt_nn_expf(-NAN)));
    assert_true(rt_nn_expf(INFINITY) == INFINITY);
    assert_true(rt_nn_expf(-INFINITY) == 0.0f);
    assert_true(rt_nn_expf(89.0f) == INFINITY); /* above ln(FLT_MAX) = 88.7228 */
    assert_true(rt_nn_expf(-1e30f) == 0.0f);
    assert_true(rt_nn_expf(1e30f) == INFINITY);
    float e88 = rt_nn_expf(88.0f); /* largest range still finite */
    assert_true(isfinite(e88));
    assert_true(fabs(e88 - exp(88.0)) / exp(88.0) < 5e-7);
    float e87 = rt_nn_expf(-87.0f);
    assert_true(e87 > 0.0f && fabs(e87 - exp(-87.0)) / exp(-87.0) < 5e-7);
}

/* rows: 0 finite, 1 NaN in the lane body (v = 3), 2 NaN in the tail (v = 35),
 * 3 -inf at v = 5 and v = 36, 4 +inf at v = 7, 5 all -inf but v = 2 */
static void fill(float *lg)
{
    rt_rng r = rt_rng_make(77);
    for (int i = 0; i < N * V; i++)
        lg[i] = 2.0f * rt_rng_normal(&r);
    lg[1 * V + 3] = NAN;
    lg[2 * V + 35] = NAN;
    lg[3 * V + 5] = -INFINITY;
    lg[3 * V + 36] = -INFINITY;
    lg[4 * V + 7] = INFINITY;
    for (int v = 0; v < V; v++)
        if (v != 2) lg[5 * V + v] = -INFINITY;
}

/* log-softmax of row 3 computed over its finite entries only, in double */
static void masked_ref(double *out, const float *x)
{
    double m = -INFINITY, s = 0;
    for (int v = 0; v < V; v++)
        if (isfinite(x[v]) && x[v] > m) m = x[v];
    for (int v = 0; v < V; v++)
        if (isfinite(x[v])) s += exp(x[v] - m);
    for (int v = 0; v < V; v++)
        out[v] = isfinite(x[v]) ? x[v] - m - log(s) : -INFINITY;
}

static void log_softmax_nonfinite_rows(void **state)
{
    (void)state;
    float lg[N * V], lp[N * V], ref[N * V];
    fill(lg);
    for (int pass = 0; pass < 2; pass++) { /* temperature 1 and 0.5 */
        float temp = pass ? 0.5f : 1.0f;
        rt_nn_log_softmax(lp, lg, N, V, temp);
        rt_nn_log_softmax_ref(ref, lg, 1, V, temp);
        for (int v = 0; v < V; v++) /* the finite row is untouched by its neighbours */
            assert_true(fabs(lp[v] - ref[v]) < 1e-5);
        for (int v = 0; v < V; v++) {
            assert_true(isnan(lp[1 * V + v]));
            assert_true(isnan(lp[2 * V + v]));
            assert_true(isnan(lp[4 * V + v])); /* inf - inf at the maximum, as torch */
        }
        double mr[V];
        float scaled[V];
        for (int v = 0; v < V; v++)
            scaled[v] = lg[3 * V + v] / temp;
        masked_ref(mr, scaled);
        for (int v = 0; v < V; v++) {
            if (v == 5 || v == 36)
                assert_true(lp[3 * V + v] == -INFINITY);
            else
                assert_true(fabs(lp[3 * V + v] - mr[v]) < 1e-5);
        }
        for (int v = 0; v < V; v++)
            assert_true(v == 2 ? lp[5 * V + v] == 0.0f : lp[5 * V + v] == -INFINITY);
    }
}

static void losses_and_sampling_nonfinite(void **state)
{
    (void)state;
    float lg[N * V], lp[N * V], tl[N], dl[N * V], w[N];
    int y[N] = {0, 0, 0, 1, 0, 2};
    fill(lg);
    rt_nn_log_softmax(lp, lg, N, V, 1.0f);
    rt_nn_token_logprob(tl, lg, y, N, V, 1.0f);
    assert_true(tl[0] == lp[0]);
    assert_true(isnan(tl[1]) && isnan(tl[2]) && isnan(tl[4]));
    assert_true(tl[3] == lp[3 * V + 1] && tl[5] == 0.0f);

    /* policy gradient on the finite and the masked rows: the masked tokens get no
     * gradient, the others p - onehot (which sums to 0) */
    const int rows[2] = {3, 5};
    for (int k = 0; k < 2; k++) {
        int n = rows[k];
        memset(dl, 0, sizeof dl);
        w[0] = 1.0f;
        double loss = rt_nn_pg(dl, lg + n * V, &y[n], w, 1, V);
        assert_true(fabs(loss + lp[n * V + y[n]]) < 1e-5);
        double sum = 0;
        for (int v = 0; v < V; v++) {
            assert_true(isfinite(dl[v]));
            sum += dl[v];
        }
        assert_true(fabs(sum) < 1e-5);
        if (n == 3) assert_true(dl[5] == 0.0f && dl[36] == 0.0f);
        if (n == 5)
            for (int v = 0; v < V; v++)
                assert_true(dl[v] == 0.0f);
    }
    memset(dl, 0, sizeof dl);
    double xl = rt_nn_xent(dl, lg + 3 * V, &y[3], 1, V, 1.0f);
    assert_true(fabs(xl + lp[3 * V + 1]) < 1e-5);
    assert_true(dl[5] == 0.0f && dl[36] == 0.0f);

    /* sampling never picks a masked token; rows with NaN or +inf still give a token
     * in range (whatever it is), without undefined behaviour */
    rt_rng r[N];
    for (int i = 0; i < 2000; i++) {
        int ys[N];
        float ls[N];
        for (int n = 0; n < N; n++)
            r[n] = rt_rng_make(1000 + (uint64_t)i * N + n);
        rt_nn_sample(ys, ls, lg, N, V, 1.0f, r);
        for (int n = 0; n < N; n++)
            assert_true(ys[n] >= 0 && ys[n] < V);
        assert_true(ys[3] != 5 && ys[3] != 36);
        assert_true(isfinite(ls[3]));
        assert_true(ys[5] == 2 && ls[5] == 0.0f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expf_special_values),
        cmocka_unit_test(log_softmax_nonfinite_rows),
        cmocka_unit_test(losses_and_sampling_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
