/* rt_nn_mm.c: rt_nn_mm, the runtime's own product for the narrow shapes of its small
 * models (a vocabulary-wide output layer, its backward), see rt_nn.h.
 *
 * Every element of C is ONE chain of fused multiply-adds over k = 0..Kd-1 in order,
 * starting from its initial value (bias, C, or 0).  Paths: AVX-512 (register tiles of
 * up to 12 rows x 32 columns, masked column tails), AVX2+FMA and portable C (fmaf),
 * picked once at run time.  As each element's chain is fixed, every path, every row or
 * column split between threads, and every split of the reduction into consecutive
 * k-blocks accumulated into C give the same bits.  Leaves out: packing and cache
 * blocking (operands here are a few hundred KB; the caller blocks rows). */
#include <math.h>
#include <stddef.h>

#include "rt_nn.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RT_NN_NO_CLONES)
#define RT_NN_X86 1
#include <immintrin.h>
#endif

/* ---- portable (and, compiled for AVX2+FMA, the AVX2 path) ------------------------ */

/* rows [0, M) of C, columns in panels of 32 held in a local array (vectorized by the
 * compiler where the target has FMA; fmaf otherwise) */
static inline __attribute__((always_inline)) void mm_generic(float *C, int ldc, const float *A,
                                                             long sai, long sak, const float *B,
                                                             int ldb, const float *bias, int acc,
                                                             int M, int N, int Kd)
{
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * sai;
        float *c = C + (size_t)i * ldc;
        for (int j0 = 0; j0 < N; j0 += 32) {
            int w = N - j0 < 32 ? N - j0 : 32;
            float t[32];
            if (w == 32) {
                for (int j = 0; j < 32; j++)
                    t[j] = bias ? bias[j0 + j] : (acc ? c[j0 + j] : 0.0f);
                for (int k = 0; k < Kd; k++) {
                    float ak = a[(size_t)k * sak];
                    const float *b = B + (size_t)k * ldb + j0;
                    for (int j = 0; j < 32; j++)
                        t[j] = fmaf(ak, b[j], t[j]);
                }
            } else {
                for (int j = 0; j < w; j++)
                    t[j] = bias ? bias[j0 + j] : (acc ? c[j0 + j] : 0.0f);
                for (int k = 0; k < Kd; k++) {
                    float ak = a[(size_t)k * sak];
                    const float *b = B + (size_t)k * ldb + j0;
                    for (int j = 0; j < w; j++)
                        t[j] = fmaf(ak, b[j], t[j]);
                }
            }
            for (int j = 0; j < w; j++)
                c[j0 + j] = t[j];
        }
    }
}

static void mm_portable(float *C, int ldc, const float *A, long sai, long sak, const float *B,
                        int ldb, const float *bias, int acc, int M, int N, int Kd)
{
    mm_generic(C, ldc, A, sai, sak, B, ldb, bias, acc, M, N, Kd);
}

#ifdef RT_NN_X86
__attribute__((target("avx2,fma"))) static void mm_avx2(float *C, int ldc, const float *A, long sai,
                                                        long sak, const float *B, int ldb,
                                                        const float *bias, int acc, int M, int N,
                                                        int Kd)
{
    mm_generic(C, ldc, A, sai, sak, B, ldb, bias, acc, M, N, Kd);
}

/* ---- AVX-512 ------------------------------------------------------------------------ */

enum { MR = 12 };

/* R rows x one panel of up to 32 columns (masks m0, m1), all k, in registers */
static inline __attribute__((always_inline, target("avx512f"))) void
tile512(int R, float *C, int ldc, const float *A, long sai, long sak, const float *B, int ldb,
        const float *bias, int acc, int Kd, __mmask16 m0, __mmask16 m1)
{
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < R; i++) {
        if (bias) {
            c0[i] = _mm512_maskz_loadu_ps(m0, bias);
            c1[i] = _mm512_maskz_loadu_ps(m1, bias + 16);
        } else if (acc) {
            c0[i] = _mm512_maskz_loadu_ps(m0, C + (size_t)i * ldc);
            c1[i] = _mm512_maskz_loadu_ps(m1, C + (size_t)i * ldc + 16);
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
    for (int k = 0; k < Kd; k++) {
        const float *b = B + (size_t)k * ldb, *a = A + (size_t)k * sak;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[(size_t)i * sai]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(C + (size_t)i * ldc, m0, c0[i]);
        _mm512_mask_storeu_ps(C + (size_t)i * ldc + 16, m1, c1[i]);
    }
}

__attribute__((target("avx512f"))) static void mm_avx512(float *C, int ldc, const float *A,
                                                         long sai, long sak, const float *B,
                                                         int ldb, const float *bias, int acc, int M,
                                                         int N, int Kd)
{
    for (int j0 = 0; j0 < N; j0 += 32) {
        int w = N - j0 < 32 ? N - j0 : 32;
        __mmask16 m0 = (__mmask16)(w >= 16 ? 0xffff : (1u << w) - 1);
        __mmask16 m1 = (__mmask16)(w >= 32 ? 0xffff : (w > 16 ? (1u << (w - 16)) - 1 : 0));
        const float *b = B + j0, *bi = bias ? bias + j0 : NULL;
        int i0 = 0;
        for (; i0 + MR <= M; i0 += MR)
            tile512(MR, C + (size_t)i0 * ldc + j0, ldc, A + (size_t)i0 * sai, sai, sak, b, ldb, bi,
                    acc, Kd, m0, m1);
        /* the remaining rows as 8 + 4 + 2 + 1 */
        for (int r = 8; r >= 1; r /= 2) {
            if (M - i0 < r) continue;
            float *c = C + (size_t)i0 * ldc + j0;
            const float *a = A + (size_t)i0 * sai;
            if (r == 8) tile512(8, c, ldc, a, sai, sak, b, ldb, bi, acc, Kd, m0, m1);
            if (r == 4) tile512(4, c, ldc, a, sai, sak, b, ldb, bi, acc, Kd, m0, m1);
            if (r == 2) tile512(2, c, ldc, a, sai, sak, b, ldb, bi, acc, Kd, m0, m1);
            if (r == 1) tile512(1, c, ldc, a, sai, sak, b, ldb, bi, acc, Kd, m0, m1);
            i0 += r;
        }
    }
}
#endif

/* ---- dispatch ------------------------------------------------------------------------ */

typedef void (*mm_fn)(float *, int, const float *, long, long, const float *, int, const float *,
                      int, int, int, int);

static int best_isa(void)
{
#ifdef RT_NN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RT_NN_MM_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RT_NN_MM_AVX2;
#endif
    return RT_NN_MM_PORTABLE;
}

static _Thread_local int forced = -1; /* per thread: tests force a path on their own thread */

int rt_nn_mm_isa(int isa)
{
    int best = best_isa();
    if (isa == -2)
        forced = -1;
    else if (isa >= RT_NN_MM_PORTABLE && isa <= best)
        forced = isa;
    return forced >= 0 ? forced : best;
}

void rt_nn_mm(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb,
              const float *bias, int acc, int M, int N, int Kd)
{
    /* C (M, N) = init + op(A) (M, Kd) @ B (Kd, N) */
    if (M <= 0 || N <= 0) return;
    static _Atomic int isa_best = -1; /* every thread computes the same value */
    int isa = forced >= 0 ? forced : isa_best;
    if (isa < 0) isa_best = isa = best_isa();
    long sai = ta ? 1 : lda, sak = ta ? lda : 1;
    mm_fn f = mm_portable;
#ifdef RT_NN_X86
    if (isa == RT_NN_MM_AVX512) f = mm_avx512;
    if (isa == RT_NN_MM_AVX2) f = mm_avx2;
#endif
    f(C, ldc, A, sai, sak, B, ldb, bias, acc, M, N, Kd);
}

void rt_nn_mm_ref(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb,
                  const float *bias, int acc, int M, int N, int Kd)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = bias ? bias[j] : (acc ? C[(size_t)i * ldc + j] : 0.0);
            for (int k = 0; k < Kd; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                s += (double)a * B[(size_t)k * ldb + j];
            }
            C[(size_t)i * ldc + j] = (float)s;
        }
}
