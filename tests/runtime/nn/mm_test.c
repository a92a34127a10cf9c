/* mm_test.c: rt_nn_mm, the narrow-shape product.  Against the double-precision
 * reference on awkward shapes (row tails of every size, column tails inside and across
 * the 16/32-wide panels, both layouts of A, the three initial values); every ISA path
 * the CPU has gives the same bits as the portable one; row splits, column splits and
 * k-block splits accumulated into C give the same bits as one call (the determinism
 * the policy's threads rely on). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
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

/* one call of rt_nn_mm and of the reference on a (M, N, Kd) case; C has padding
 * columns (ldc = N + 3) that must stay untouched */
static void check_case(int M, int N, int Kd, int ta, int init, uint64_t seed)
{
    int lda = (ta ? M : Kd) + 2, ldb = N + 1, ldc = N + 3;
    float *A = rnd((size_t)(ta ? Kd : M) * lda, seed);
    float *B = rnd((size_t)Kd * ldb, seed + 1);
    float *bias = rnd((size_t)N, seed + 2);
    float *C0 = rnd((size_t)M * ldc, seed + 3);
    float *C = malloc((size_t)M * ldc * sizeof(float));
    float *R = malloc((size_t)M * ldc * sizeof(float));
    float *P = malloc((size_t)M * ldc * sizeof(float));
    memcpy(C, C0, (size_t)M * ldc * sizeof(float));
    memcpy(R, C0, (size_t)M * ldc * sizeof(float));
    memcpy(P, C0, (size_t)M * ldc * sizeof(float));
    const float *bi = init == 1 ? bias : NULL;
    int acc = init == 2;
    rt_nn_mm(C, ldc, A, lda, ta, B, ldb, bi, acc, M, N, Kd);
    rt_nn_mm_ref(R, ldc, A, lda, ta, B, ldb, bi, acc, M, N, Kd);
    int best = rt_nn_mm_isa(-1);
    rt_nn_mm_isa(RT_NN_MM_PORTABLE);
    assert_int_equal(rt_nn_mm_isa(-1), RT_NN_MM_PORTABLE);
    rt_nn_mm(P, ldc, A, lda, ta, B, ldb, bi, acc, M, N, Kd);
    rt_nn_mm_isa(-2);
    assert_int_equal(rt_nn_mm_isa(-1), best);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t o = (size_t)i * ldc + j;
            if (j >= N) { /* padding untouched */
                assert_true(C[o] == C0[o]);
                continue;
            }
            double mag = 0;
            for (int k = 0; k < Kd; k++)
                mag += fabs((double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                            B[(size_t)k * ldb + j]);
            assert_true(fabs((double)C[o] - R[o]) <= 1e-6 * (mag + 1.0));
            assert_true(memcmp(&C[o], &P[o], sizeof(float)) == 0); /* same bits as portable */
        }
    free(A), free(B), free(bias), free(C0), free(C), free(R), free(P);
}

static void mm_matches_reference(void **state)
{
    (void)state;
    const int Ms[] = {1, 2, 3, 7, 12, 13, 25, 40};
    const int Ns[] = {1, 5, 16, 17, 31, 32, 33, 48, 70};
    const int Ks[] = {1, 9, 64};
    uint64_t seed = 1;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int ta = 0; ta < 2; ta++)
                    for (int init = 0; init < 3; init++)
                        check_case(Ms[a], Ns[b], Ks[c], ta, init, seed += 7);
}

/* the paths: every ISA the CPU has, on the policy's shapes, bit-identical */
static void mm_paths_identical(void **state)
{
    (void)state;
    int M = 45, N = 32, Kd = 512;
    float *A = rnd((size_t)M * Kd, 11), *B = rnd((size_t)Kd * N, 12), *b = rnd(N, 13);
    float out[3][45 * 32];
    int best = rt_nn_mm_isa(-1);
    for (int isa = 0; isa <= best; isa++) {
        assert_int_equal(rt_nn_mm_isa(isa), isa);
        rt_nn_mm(out[isa], N, A, Kd, 0, B, N, b, 0, M, N, Kd);
    }
    rt_nn_mm_isa(-2);
    for (int isa = 1; isa <= best; isa++)
        assert_memory_equal(out[isa], out[0], sizeof out[0]);
    free(A), free(B), free(b);
}

/* splits: rows in two calls, columns in two calls, and the reduction in k-blocks
 * accumulated into C (acc = 1) all equal one call, bit for bit */
static void mm_splits_identical(void **state)
{
    (void)state;
    int M = 32, N = 256, Kd = 300; /* the dW_o shape: op(A) = dl^T, reduction over rows */
    float *A = rnd((size_t)Kd * M, 21), *B = rnd((size_t)Kd * N, 22);
    float *C1 = rnd((size_t)M * N, 23);
    float *C2 = malloc((size_t)M * N * sizeof(float)), *C3 = malloc((size_t)M * N * sizeof(float));
    memcpy(C2, C1, (size_t)M * N * sizeof(float));
    memcpy(C3, C1, (size_t)M * N * sizeof(float));
    rt_nn_mm(C1, N, A, M, 1, B, N, NULL, 1, M, N, Kd);
    /* k-blocks of 128, 128, 44 */
    for (int k0 = 0; k0 < Kd; k0 += 128) {
        int kb = Kd - k0 < 128 ? Kd - k0 : 128;
        rt_nn_mm(C2, N, A + (size_t)k0 * M, M, 1, B + (size_t)k0 * N, N, NULL, 1, M, N, kb);
    }
    assert_memory_equal(C1, C2, (size_t)M * N * sizeof(float));
    /* rows 0..18 and 19..31, then columns 0..112 and 112..255, each a k-split too */
    for (int k0 = 0; k0 < Kd; k0 += 150) {
        const float *a = A + (size_t)k0 * M, *b = B + (size_t)k0 * N;
        rt_nn_mm(C3, N, a, M, 1, b, N, NULL, 1, 19, 112, 150);
        rt_nn_mm(C3 + 112, N, a, M, 1, b + 112, N, NULL, 1, 19, N - 112, 150);
        rt_nn_mm(C3 + 19 * N, N, a + 19, M, 1, b, N, NULL, 1, M - 19, N, 150);
    }
    assert_memory_equal(C1, C3, (size_t)M * N * sizeof(float));
    free(A), free(B), free(C1), free(C2), free(C3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mm_matches_reference),
        cmocka_unit_test(mm_paths_identical),
        cmocka_unit_test(mm_splits_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
