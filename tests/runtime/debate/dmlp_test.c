/* dmlp_test.c: the debate module's small network (rt_debate_int.h) is an rt_params user.
 * Its views lie in one parameter block; it has no optimizer of its own (no symbol
 * rt_dmlp_adam); and training steps with rt_adam and the judge's settings give the same
 * bits as the update rt_dmlp_adam made before the block was shared (kept here as the
 * reference), on every SIMD path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_debate_int.h"
#include "rt_math.h"
#include "rt_nn.h"

/* A weak reference: non-NULL only if some object of the debate library (linked here
 * because the test calls rt_dmlp_init) still defines the old optimizer. */
extern void rt_dmlp_adam(void) __attribute__((weak));

/* rt_dmlp_adam as it was (torch semantics, betas 0.9/0.999, eps 1e-8, no clipping) */
static void old_dmlp_adam(float *params, const float *grads, float *m, float *v, size_t np, long *t,
                          float lr)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    ++*t;
    float bc1 = (float)(1.0 - rt_pow(b1, (double)*t));
    float bc2 = (float)(1.0 - rt_pow(b2, (double)*t));
    float step = lr / bc1, sbc2 = sqrtf(bc2);
    for (size_t i = 0; i < np; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}

static void one_block_one_adam(void **state)
{
    (void)state;
    assert_null(rt_dmlp_adam);
    rt_adam_config c = rt_dmlp_adam_config(3e-3f), d = rt_adam_defaults();
    assert_true(c.lr == 3e-3f && c.beta1 == d.beta1 && c.beta2 == d.beta2 && c.eps == d.eps &&
                c.clip_norm == 0.0f);

    enum { P = 3, V = 5, H = 7, O = 4, N = 6 };
    rt_dmlp n;
    rt_rng rng = rt_rng_make(21);
    assert_int_equal(rt_dmlp_init(&n, P, V, H, O, &rng), 0);
    size_t np = (size_t)P * V * H + H + (size_t)O * H + O;
    assert_int_equal(n.params.n, np);
    assert_ptr_equal(n.U, n.params.w);
    assert_ptr_equal(n.b1, n.U + P * V * H);
    assert_ptr_equal(n.W2, n.b1 + H);
    assert_ptr_equal(n.b2, n.W2 + O * H);
    assert_ptr_equal(n.b2 + O, n.params.w + np);
    assert_ptr_equal(n.gU, n.params.g);
    assert_ptr_equal(n.gb2 + O, n.params.g + np);

    float *w = malloc(np * sizeof(float)), *m = calloc(np, sizeof(float)),
          *v = calloc(np, sizeof(float));
    assert_non_null(w), assert_non_null(m), assert_non_null(v);
    memcpy(w, n.params.w, np * sizeof(float));
    long t = 0;
    int tok[N * P];
    float h[N * H], out[N * O], dout[N * O], dh[N * H];
    rt_rng r = rt_rng_make(4);
    int best = rt_nn_isa_best();
    for (int s = 0; s < 12; s++) {
        rt_nn_mm_isa(s % (best + 1)); /* steps on every path */
        for (int i = 0; i < N * P; i++)
            tok[i] = (int)rt_rng_below(&r, V);
        for (int i = 0; i < N * O; i++)
            dout[i] = rt_rng_normal(&r) / N;
        rt_params_zero_grad(&n.params);
        rt_dmlp_forward(&n, tok, N, h, out);
        rt_dmlp_backward(&n, tok, N, h, dout, dh);
        rt_adam(&n.params, &c, NULL);
        old_dmlp_adam(w, n.params.g, m, v, np, &t, 3e-3f);
        assert_int_equal(n.params.t, t);
        for (size_t i = 0; i < np; i++)
            if (memcmp(&n.params.w[i], &w[i], sizeof(float)) ||
                memcmp(&n.params.m[i], &m[i], sizeof(float)) ||
                memcmp(&n.params.v[i], &v[i], sizeof(float)))
                fail_msg("step %d (%s), i %zu: w %a, old rt_dmlp_adam %a", s + 1,
                         rt_nn_isa_name(s % (best + 1)), i, n.params.w[i], w[i]);
    }
    rt_nn_mm_isa(-2);
    free(w), free(m), free(v);
    rt_dmlp_release(&n);
    assert_null(n.params.block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_block_one_adam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
