/* gemm_test.c: rt_nn_gemm, the runtime's own GEMM (the numerics contract).
 *   - bit for bit equal to its specification, a scalar chain of fmaf over k in order from
 *     the initial value, on every shape class (edge tiles in rows and columns, reductions
 *     longer than the k-block, row counts past the row block, transposed B wider than a
 *     packed panel), both layouts of A and B, beta 0 / 1 / other, alpha 1 / other;
 *   - within the error bound of a dot product of the double-precision reference:
 *     |c - ref| <= (Kd + 2) u (|init| + sum_k |a_ik b_kj|), u = 2^-24;
 *   - the same bits on every ISA path the CPU has and at 1, 2 and 3 threads;
 *   - the path named by RLHF_ISA, and a clear refusal of a path the CPU lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_nn.h"
#include "rt_rng.h"

static float *rnd(size_t n, uint64_t seed)
{
    float *a = malloc(n * sizeof(float));
    rt_rng r = rt_rng_make(seed);
    for (size_t i = 0; i < n; i++)
        a[i] = rt_rng_normal(&r);
    return a;
}

/* the specification: one fmaf chain per element */
static void spec(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float *c = &C[(size_t)i * ldc + j];
            float t = beta == 0.0f ? 0.0f : (beta == 1.0f ? *c : beta * *c);
            for (int k = 0; k < Kd; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                t = fmaf(alpha * a, b, t);
            }
            *c = t;
        }
}

typedef struct {
    int ta, tb, M, N, Kd;
    float alpha, beta;
} gcase;

/* runs one case on every path and thread count; all must equal the spec bit for bit,
 * and the spec must be within the dot-product bound of the double reference; C has
 * padding columns (ldc = N + 3) that must stay untouched */
static void check(gcase g, uint64_t seed)
{
    int lda = (g.ta ? g.M : g.Kd) + 2, ldb = (g.tb ? g.Kd : g.N) + 1, ldc = g.N + 3;
    size_t na = (size_t)(g.ta ? g.Kd : g.M) * lda, nb = (size_t)(g.tb ? g.N : g.Kd) * ldb;
    size_t nc = (size_t)g.M * ldc;
    float *A = rnd(na ? na : 1, seed), *B = rnd(nb ? nb : 1, seed + 1);
    float *C0 = rnd(nc, seed + 2), *S = malloc(nc * 4), *R = malloc(nc * 4), *C = malloc(nc * 4);
    memcpy(S, C0, nc * 4);
    memcpy(R, C0, nc * 4);
    spec(g.ta, g.tb, g.M, g.N, g.Kd, g.alpha, A, lda, B, ldb, g.beta, S, ldc);
    rt_nn_sgemm_ref(g.ta, g.tb, g.M, g.N, g.Kd, g.alpha, A, lda, B, ldb, g.beta, R, ldc);
    const double u = 0x1p-24;
    for (int i = 0; i < g.M; i++)
        for (int j = 0; j < g.N; j++) {
            size_t o = (size_t)i * ldc + j;
            double mag = fabs((double)g.beta * C0[o]);
            for (int k = 0; k < g.Kd; k++) {
                double a = g.ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = g.tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                mag += fabs(g.alpha * a * b);
            }
            double bound = (g.Kd + 3) * u * mag * 1.01 + 1e-30;
            if (!(fabs((double)S[o] - R[o]) <= bound))
                fail_msg("(%d,%d) of ta=%d tb=%d %dx%dx%d: spec %.9g ref %.9g bound %.3g", i, j,
                         g.ta, g.tb, g.M, g.N, g.Kd, S[o], R[o], bound);
        }
    int best = rt_nn_isa_best(), saved = rt_nn_gemm_threads();
    for (int isa = 0; isa <= best; isa++)
        for (int th = 1; th <= 3; th++) {
            rt_nn_mm_isa(isa);
            rt_nn_set_gemm_threads(th);
            memcpy(C, C0, nc * 4);
            rt_nn_gemm(g.ta, g.tb, g.M, g.N, g.Kd, g.alpha, A, lda, B, ldb, g.beta, C, ldc);
            for (size_t o = 0; o < nc; o++) {
                if ((int)(o % ldc) >= g.N) { /* padding untouched */
                    if (memcmp(&C[o], &C0[o], 4)) fail_msg("padding written at %zu", o);
                    continue;
                }
                if (memcmp(&C[o], &S[o], 4))
                    fail_msg("path %s, %d threads, ta=%d tb=%d %dx%dx%d beta=%g: element "
                             "(%zu,%zu) %.9g != spec %.9g",
                             rt_nn_isa_name(isa), th, g.ta, g.tb, g.M, g.N, g.Kd, g.beta,
                             o / ldc, o % ldc, C[o], S[o]);
            }
        }
    rt_nn_mm_isa(-2);
    rt_nn_set_gemm_threads(saved);
    free(A), free(B), free(C0), free(S), free(R), free(C);
}

static void gemm_small_shapes(void **state)
{
    (void)state;
    const int Ms[] = {1, 5, 6, 7, 12, 13, 25};
    const int Ns[] = {1, 8, 15, 16, 17, 31, 32, 33, 70};
    const int Ks[] = {0, 1, 9, 64};
    const float betas[] = {0.0f, 1.0f, 0.3f};
    uint64_t seed = 1;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int t = 0; t < 4; t++)
                    check((gcase){t & 1, t >> 1, Ms[a], Ns[b], Ks[c], 1.0f,
                                  betas[(a + b + c) % 3]},
                          seed += 5);
}

/* past every block size: k-blocks (256), row blocks (192), packed panels (128) and the
 * threshold above which threads split the product */
static void gemm_large_shapes(void **state)
{
    (void)state;
    const gcase cs[] = {
        {0, 0, 200, 300, 600, 1.0f, 1.0f}, {0, 1, 197, 261, 513, 1.0f, 0.0f},
        {1, 0, 33, 129, 700, 1.0f, 1.0f},  {1, 1, 250, 70, 257, 1.0f, 0.5f},
        {0, 1, 32, 256, 32, 1.0f, 0.0f},   {1, 0, 256, 32, 32, 1.0f, 1.0f},
        {0, 0, 32, 32, 512, 1.0f, 1.0f},   {0, 1, 400, 40, 300, 1.0f, 0.0f},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
        check(cs[i], 100 + 10 * i);
}

static void gemm_alpha(void **state)
{
    (void)state;
    for (int t = 0; t < 4; t++)
        check((gcase){t & 1, t >> 1, 37, 29, 53, 0.7f, 0.3f}, 300 + t);
}

/* special values go through the same chain: inf, NaN and denormals (no flush to zero) */
static void gemm_special_values(void **state)
{
    (void)state;
    float A[4 * 3] = {1e-38f, 1e-38f, 0x1p-149f, 1, INFINITY, 0, 1, NAN, 2, 3, 4, 5};
    float B[3 * 20], C[4 * 20], S[4 * 20];
    for (int i = 0; i < 60; i++)
        B[i] = i % 3 ? 0.25f : 1e-3f;
    int best = rt_nn_isa_best();
    spec(0, 0, 4, 20, 3, 1.0f, A, 3, B, 20, 0.0f, S, 20);
    assert_true(S[0] > 0 && S[0] < 1.2e-38f); /* a denormal result, not flushed */
    for (int isa = 0; isa <= best; isa++) {
        rt_nn_mm_isa(isa);
        rt_nn_gemm(0, 0, 4, 20, 3, 1.0f, A, 3, B, 20, 0.0f, C, 20);
        assert_memory_equal(C, S, sizeof C);
    }
    rt_nn_mm_isa(-2);
}

static void isa_names_and_refusal(void **state)
{
    (void)state;
    int isa = -1;
    char err[200];
    assert_int_equal(rt_nn_isa_parse("portable", &isa, err, sizeof err), 0);
    assert_int_equal(isa, RT_NN_MM_PORTABLE);
    assert_int_equal(rt_nn_isa_parse("avx-512", &isa, err, sizeof err), -1);
    assert_string_equal(err, "RLHF_ISA=avx-512: unknown path (use avx512, avx2 or portable)");
    if (rt_nn_isa_best() < RT_NN_MM_AVX512) {
        assert_int_equal(rt_nn_isa_parse("avx512", &isa, err, sizeof err), -1);
        assert_non_null(strstr(err, "this CPU lacks AVX-512F"));
    } else {
        assert_int_equal(rt_nn_isa_parse("avx512", &isa, err, sizeof err), 0);
        assert_int_equal(isa, RT_NN_MM_AVX512);
    }
    assert_string_equal(rt_nn_isa_name(RT_NN_MM_AVX2), "avx2");
    /* the process path follows RLHF_ISA when it is valid (the test runs with any) */
    const char *e = getenv("RLHF_ISA");
    if (e && !rt_nn_isa_parse(e, &isa, err, sizeof err)) assert_int_equal(rt_nn_isa(), isa);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_small_shapes),   cmocka_unit_test(gemm_large_shapes),
        cmocka_unit_test(gemm_alpha),          cmocka_unit_test(gemm_special_values),
        cmocka_unit_test(isa_names_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
