/* params_test.c: the parameter block and Adam (rt_params.h).  The block's layout (four
 * disjoint 64-byte aligned parts, zeroed) and a model's views carved into it;
 * zero_grad, copy, assign, reset; allocation failures; the gradient norm and rt_adam
 * bit for bit against hand-written references (the same float operations in the same
 * order: the update rt_policy_adam made before the block was shared) on every SIMD path,
 * with and without clipping; and that the policy's optimizer is this one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_params.h"
#include "rt_policy.h"
#include "rt_rng.h"

static int aligned64(const void *p)
{
    return (uintptr_t)p % 64 == 0;
}

static int all_zero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f || signbit(x[i])) return 0;
    return 1;
}

static void fill(float *x, size_t n, float scale, rt_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * rt_rng_normal(r);
}

/* ---- the block ------------------------------------------------------------------------ */

static void layout_and_views(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 70; n += 23) { /* 1, 24, 47, 70: none a multiple of 16 */
        rt_params p;
        assert_int_equal(rt_params_create(&p, n), 0);
        assert_int_equal(p.n, n);
        assert_int_equal(p.t, 0);
        assert_non_null(p.block);
        float *part[4] = {p.w, p.g, p.m, p.v};
        for (int k = 0; k < 4; k++) {
            assert_true(aligned64(part[k]));
            assert_true(all_zero(part[k], n));
            if (k) assert_true(part[k] >= part[k - 1] + n); /* in order, disjoint */
        }
        /* every part writable to its end without touching the next */
        for (int k = 0; k < 4; k++)
            for (size_t i = 0; i < n; i++)
                part[k][i] = (float)(k + 1);
        for (int k = 0; k < 4; k++)
            for (size_t i = 0; i < n; i++)
                assert_true(part[k][i] == (float)(k + 1));
        rt_params_free(&p);
        assert_null(p.block);
        assert_null(p.w);
        assert_int_equal(p.n, 0);
        rt_params_free(&p); /* twice, and NULL: no-ops */
        rt_params_free(NULL);
    }

    /* a model carves named views: a (3, 4) matrix, a bias (3), a vector (5) */
    rt_params p;
    assert_int_equal(rt_params_create(&p, 12 + 3 + 5), 0);
    float *W = p.w, *b = W + 12, *u = b + 3, *gW = p.g, *gb = gW + 12, *gu = gb + 3;
    for (int i = 0; i < 12; i++)
        W[i] = (float)i, gW[i] = -(float)i;
    b[2] = 100.0f, gb[2] = -100.0f, u[4] = 7.0f, gu[0] = 9.0f;
    assert_true(p.w[14] == 100.0f && p.g[14] == -100.0f);
    assert_true(p.w[19] == 7.0f && p.g[15] == 9.0f);
    assert_true(p.w[11] == 11.0f && p.g[11] == -11.0f);
    rt_params_free(&p);

    assert_int_equal(rt_params_create(&p, 0), RT_EINVAL);
    assert_null(p.block);
    assert_int_equal(rt_params_create(&p, SIZE_MAX / 2), RT_EINVAL);
    assert_null(p.block);
}

static void allocation_failure(void **state)
{
    (void)state;
    rt_params p;
    rt_alloc_fail_at(1);
    int rc = rt_params_create(&p, 100);
    rt_alloc_fail_at(0);
    assert_int_equal(rc, RT_ENOMEM);
    assert_null(p.block);
    assert_null(p.w);
    assert_int_equal(p.n, 0);
    rt_params_free(&p);
    /* one allocation only */
    rt_alloc_fail_at(2);
    rc = rt_params_create(&p, 100);
    rt_alloc_fail_at(0);
    assert_int_equal(rc, 0);
    rt_params_free(&p);
}

static void zero_copy_assign_reset(void **state)
{
    (void)state;
    size_t n = 37;
    rt_params a, b, c;
    assert_int_equal(rt_params_create(&a, n), 0);
    assert_int_equal(rt_params_create(&b, n), 0);
    assert_int_equal(rt_params_create(&c, n + 1), 0);
    rt_rng r = rt_rng_make(3);
    fill(a.w, n, 1, &r), fill(a.g, n, 1, &r), fill(a.m, n, 1, &r), fill(a.v, n, 1, &r);
    a.t = 5;

    /* copy: everything, including t */
    assert_int_equal(rt_params_copy(&b, &a), 0);
    assert_memory_equal(b.w, a.w, n * sizeof(float));
    assert_memory_equal(b.g, a.g, n * sizeof(float));
    assert_memory_equal(b.m, a.m, n * sizeof(float));
    assert_memory_equal(b.v, a.v, n * sizeof(float));
    assert_int_equal(b.t, 5);
    assert_int_equal(rt_params_copy(&c, &a), RT_EINVAL);
    assert_int_equal(rt_params_assign(&c, &a), RT_EINVAL);
    assert_true(all_zero(c.w, c.n)); /* untouched */

    /* zero_grad: g only */
    rt_params_zero_grad(&b);
    assert_true(all_zero(b.g, n));
    assert_memory_equal(b.w, a.w, n * sizeof(float));
    assert_memory_equal(b.m, a.m, n * sizeof(float));
    assert_memory_equal(b.v, a.v, n * sizeof(float));
    assert_int_equal(b.t, 5);

    /* assign: the weights, and a fresh optimizer state */
    fill(b.w, n, 1, &r), fill(b.g, n, 1, &r), fill(b.m, n, 1, &r), fill(b.v, n, 1, &r);
    assert_int_equal(rt_params_assign(&b, &a), 0);
    assert_memory_equal(b.w, a.w, n * sizeof(float));
    assert_true(all_zero(b.g, n) && all_zero(b.m, n) && all_zero(b.v, n));
    assert_int_equal(b.t, 0);

    /* reset: the weights stay */
    rt_params_reset(&a);
    assert_memory_equal(a.w, b.w, n * sizeof(float));
    assert_true(all_zero(a.g, n) && all_zero(a.m, n) && all_zero(a.v, n));
    assert_int_equal(a.t, 0);
    rt_params_free(&a), rt_params_free(&b), rt_params_free(&c);
}

/* ---- the gradient norm and Adam against references ----------------------------------- */

/* the norm as written before the block was shared: 8 lanes, then pairwise */
static double ref_norm(const float *g, size_t n)
{
    double l[8] = {0};
    for (size_t i = 0; i < n; i++)
        l[i % 8] += (double)g[i] * g[i];
    return sqrt(((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7])));
}

/* one Adam step as rt_policy_adam computed it before the block was shared */
static void ref_adam(float *w, const float *g, float *m, float *v, size_t n, long *t,
                     const rt_adam_config *c, float *grad_norm)
{
    double norm = ref_norm(g, n);
    if (grad_norm) *grad_norm = (float)norm;
    float scale = 1.0f;
    if (c->clip_norm > 0.0f && norm > c->clip_norm) scale = (float)(c->clip_norm / (norm + 1e-6));
    ++*t;
    float bc1 = (float)(1.0 - rt_pow(c->beta1, (double)*t));
    float bc2 = (float)(1.0 - rt_pow(c->beta2, (double)*t));
    float step = c->lr / bc1, sbc2 = sqrtf(bc2);
    float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * scale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}

static void grad_norm_bits(void **state)
{
    (void)state;
    int best = rt_nn_isa_best();
    for (size_t n = 1; n <= 1001; n += 125) {
        rt_params p;
        assert_int_equal(rt_params_create(&p, n), 0);
        rt_rng r = rt_rng_make(n);
        fill(p.g, n, 0.3f, &r);
        double want = ref_norm(p.g, n);
        for (int isa = 0; isa <= best; isa++) {
            rt_nn_mm_isa(isa);
            double got = rt_params_grad_norm(&p);
            if (memcmp(&got, &want, sizeof got))
                fail_msg("n %zu, %s: norm %.17g, reference %.17g", n, rt_nn_isa_name(isa), got,
                         want);
        }
        rt_nn_mm_isa(-2);
        rt_params_free(&p);
    }
}

/* steps of rt_adam on a block vs ref_adam on plain arrays, new gradients each step */
static void adam_steps(size_t n, const rt_adam_config *c, int isa, int steps)
{
    rt_params p;
    assert_int_equal(rt_params_create(&p, n), 0);
    float *w = malloc(n * sizeof(float)), *m = calloc(n, sizeof(float)),
          *v = calloc(n, sizeof(float)), *g = malloc(n * sizeof(float));
    assert_non_null(w), assert_non_null(m), assert_non_null(v), assert_non_null(g);
    rt_rng r = rt_rng_make(17);
    fill(p.w, n, 1.0f, &r);
    memcpy(w, p.w, n * sizeof(float));
    long t = 0;
    rt_nn_mm_isa(isa);
    for (int s = 0; s < steps; s++) {
        fill(p.g, n, s % 2 ? 2.0f : 0.01f, &r); /* big and small: clipping on and off */
        memcpy(g, p.g, n * sizeof(float));
        float gn = -1.0f, gn_ref = -2.0f;
        rt_adam(&p, c, &gn);
        ref_adam(w, g, m, v, n, &t, c, &gn_ref);
        assert_int_equal(p.t, t);
        assert_memory_equal(&gn, &gn_ref, sizeof gn);
        assert_memory_equal(p.g, g, n * sizeof(float)); /* g left as it is */
        for (size_t i = 0; i < n; i++)
            if (memcmp(&p.w[i], &w[i], sizeof(float)) || memcmp(&p.m[i], &m[i], sizeof(float)) ||
                memcmp(&p.v[i], &v[i], sizeof(float)))
                fail_msg("%s, clip %g, step %d, i %zu: w %a m %a v %a, reference w %a m %a v %a",
                         rt_nn_isa_name(isa), c->clip_norm, s + 1, i, p.w[i], p.m[i], p.v[i], w[i],
                         m[i], v[i]);
    }
    /* without asking for the norm (the debate network's call): the same update */
    fill(p.g, n, 0.5f, &r);
    memcpy(g, p.g, n * sizeof(float));
    rt_adam(&p, c, NULL);
    ref_adam(w, g, m, v, n, &t, c, NULL);
    assert_memory_equal(p.w, w, n * sizeof(float));
    assert_memory_equal(p.m, m, n * sizeof(float));
    assert_memory_equal(p.v, v, n * sizeof(float));
    rt_nn_mm_isa(-2);
    free(w), free(m), free(v), free(g);
    rt_params_free(&p);
}

static void adam_bits(void **state)
{
    (void)state;
    rt_adam_config d = rt_adam_defaults();
    assert_true(d.lr == 1e-3f && d.beta1 == 0.9f && d.beta2 == 0.999f && d.eps == 1e-8f &&
                d.clip_norm == 0.0f);
    rt_adam_config clip = d;
    clip.lr = 3e-3f, clip.clip_norm = 1.0f;
    rt_adam_config odd = {2e-2f, 0.8f, 0.99f, 1e-6f, 0.0f};
    int best = rt_nn_isa_best();
    for (int isa = 0; isa <= best; isa++) {
        adam_steps(1, &d, isa, 3);
        adam_steps(333, &d, isa, 7);
        adam_steps(333, &clip, isa, 7);
        adam_steps(1000, &odd, isa, 5);
    }
}

/* the first step by hand: bias-corrected, m = (1-b1) g, v = (1-b2) g^2, so each weight
 * moves by about lr * sign(g) */
static void adam_first_step(void **state)
{
    (void)state;
    rt_params p;
    assert_int_equal(rt_params_create(&p, 4), 0);
    float g[4] = {0.5f, -2.0f, 1e-3f, 0.0f};
    memcpy(p.g, g, sizeof g);
    rt_adam_config c = rt_adam_defaults();
    float gn;
    rt_adam(&p, &c, &gn);
    assert_true(fabsf(gn - sqrtf(0.25f + 4.0f + 1e-6f)) < 1e-6f);
    assert_true(fabsf(p.w[0] + 1e-3f) < 1e-8f);
    assert_true(fabsf(p.w[1] - 1e-3f) < 1e-8f);
    assert_true(fabsf(p.w[2] + 1e-3f) < 1e-7f);
    assert_true(p.w[3] == 0.0f);
    assert_int_equal(p.t, 1);
    rt_params_free(&p);
}

/* ---- the policy's optimizer is this one ---------------------------------------------- */

static void policy_uses_the_block(void **state)
{
    (void)state;
    rt_policy_config cfg = {9, 3, 4, 8, 2, RT_NN_ACT_GELU};
    rt_policy *p, *q;
    assert_int_equal(rt_policy_create(&p, &cfg, NULL), 0);
    rt_rng r = rt_rng_make(5);
    rt_policy_init(p, &r);
    /* the views lie in the block: first and last tensors at its ends */
    assert_int_equal(p->params.n, rt_policy_nparams(&cfg));
    assert_ptr_equal(p->p.emb, p->params.w);
    assert_ptr_equal(p->g.emb, p->params.g);
    assert_ptr_equal(p->p.bo + cfg.vocab, p->params.w + p->params.n);
    assert_ptr_equal(p->g.bo + cfg.vocab, p->params.g + p->params.n);
    fill(p->params.g, p->params.n, 0.2f, &r);
    assert_int_equal(rt_policy_copy(&q, p, NULL), 0);
    assert_memory_equal(q->params.g, p->params.g, p->params.n * sizeof(float));
    rt_params blk;
    assert_int_equal(rt_params_create(&blk, p->params.n), 0);
    assert_int_equal(rt_params_copy(&blk, &p->params), 0);
    rt_adam_config c = rt_adam_defaults();
    c.clip_norm = 0.5f;
    uint64_t v0 = p->version;
    float g1, g2;
    for (int s = 0; s < 3; s++) {
        rt_policy_adam(p, &c, &g1);
        rt_adam(&blk, &c, &g2);
        assert_memory_equal(&g1, &g2, sizeof g1);
        assert_true(rt_policy_grad_norm(p) == rt_params_grad_norm(&blk));
    }
    assert_true(p->version != v0); /* the policy renews its stamp */
    assert_int_equal(p->params.t, 3);
    assert_memory_equal(p->params.w, blk.w, blk.n * sizeof(float));
    assert_memory_equal(p->params.m, blk.m, blk.n * sizeof(float));
    assert_memory_equal(p->params.v, blk.v, blk.n * sizeof(float));
    /* rt_policy_assign: q's weights from p, fresh optimizer state */
    assert_int_equal(rt_policy_assign(q, p), 0);
    assert_memory_equal(q->params.w, p->params.w, p->params.n * sizeof(float));
    assert_true(all_zero(q->params.g, q->params.n) && all_zero(q->params.m, q->params.n));
    assert_int_equal(q->params.t, 0);
    rt_policy_zero_grad(p);
    assert_true(all_zero(p->params.g, p->params.n));
    rt_params_free(&blk);
    rt_policy_free(p);
    rt_policy_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_and_views),
        cmocka_unit_test(allocation_failure),
        cmocka_unit_test(zero_copy_assign_reset),
        cmocka_unit_test(grad_norm_bits),
        cmocka_unit_test(adam_bits),
        cmocka_unit_test(adam_first_step),
        cmocka_unit_test(policy_uses_the_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
