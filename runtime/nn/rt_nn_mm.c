/* rt_nn_mm.c: the runtime's own matrix products (rt_nn_gemm, rt_nn_mm; see rt_nn.h) and
 * the choice of the SIMD path (RLHF_ISA).
 *
 * The one rule: every element of C is ONE chain of fused multiply-adds over k = 0..Kd-1
 * in increasing order, starting from its initial value (0, C, beta * C or a bias).  Each
 * path computes exactly that chain, so the result has the same bits on every path
 * (AVX-512 register tiles of 12 x 32, AVX2+FMA tiles of 6 x 16, portable C with fmaf),
 * for every blocking, and for every split of the output between threads:
 *   - the reduction is blocked into consecutive k-blocks of KB whose partial chain is
 *     stored in C as a float and continued from there: the same chain;
 *   - threads and tiles split only rows and columns of C, never k;
 *   - edge tiles are masked (AVX-512) or computed by the same per-element chain; nothing
 *     pads a chain with extra terms.
 * A transposed B (stored (N, Kd)) is packed, a panel at a time, into a per-thread buffer
 * of KB x NB floats laid out (Kd, N), the layout every kernel reads; op(A) is read in
 * place through two strides (rows of A or columns of A^T), one scalar broadcast per
 * element and k.  Leaves out: packing A (the row tiles' broadcasts stream from at most
 * 12 rows) and complex or double products (none in the runtime). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_nn.h"
#include "rt_alloc.h"
#include "rt_cancel.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RT_NN_NO_CLONES)
#define RT_NN_X86 1
#include <immintrin.h>
#endif

enum {
    KB = 256, /* k-block: a chain is stored in C and continued every KB terms */
    MB = 192, /* row block: MB x KB of A (192 KB) stays in L2 while B panels pass */
    NB = 128, /* columns of a packed transposed-B panel (KB x NB floats, 128 KB) */
};

/* One block of the product as every kernel sees it: op(A)(i, k) = A[i * sai + k * sak],
 * B(k, j) = B[k * ldb + j]; init of C(i, j) = bias[j] if bias, else C(i, j) if acc,
 * else 0. */
typedef struct {
    float *C;
    long ldc;
    const float *A;
    long sai, sak;
    const float *B;
    long ldb;
    const float *bias;
    int acc;
    int M, N, Kd;
} blk;

/* ---- portable (and, compiled for AVX2+FMA, the fallback of odd shapes) ------------- */

static inline __attribute__((always_inline)) void mm_generic(const blk *g)
{
    for (int i = 0; i < g->M; i++) {
        const float *a = g->A + (size_t)i * g->sai;
        float *c = g->C + (size_t)i * g->ldc;
        for (int j0 = 0; j0 < g->N; j0 += 32) {
            int w = g->N - j0 < 32 ? g->N - j0 : 32;
            float t[32];
            for (int j = 0; j < w; j++)
                t[j] = g->bias ? g->bias[j0 + j] : (g->acc ? c[j0 + j] : 0.0f);
            for (int k = 0; k < g->Kd; k++) {
                float ak = a[(size_t)k * g->sak];
                const float *b = g->B + (size_t)k * g->ldb + j0;
                for (int j = 0; j < w; j++)
                    t[j] = fmaf(ak, b[j], t[j]);
            }
            for (int j = 0; j < w; j++)
                c[j0 + j] = t[j];
        }
    }
}

static void mm_portable(const blk *g)
{
    mm_generic(g);
}

#ifdef RT_NN_X86
/* ---- AVX2 + FMA: tiles of up to 6 rows x 16 columns (12 accumulators) -------------- */

enum { MR2 = 6 };

static inline __attribute__((always_inline, target("avx2,fma"))) void
tile256(int R, const blk *g, int i0, int j0, __m256i m0, __m256i m1)
{
    __m256 c0[MR2], c1[MR2];
    const float *A = g->A + (size_t)i0 * g->sai;
    float *C = g->C + (size_t)i0 * g->ldc + j0;
    for (int i = 0; i < R; i++) {
        const float *src = g->bias ? g->bias + j0 : C + (size_t)i * g->ldc;
        if (g->bias || g->acc) {
            c0[i] = _mm256_maskload_ps(src, m0);
            c1[i] = _mm256_maskload_ps(src + 8, m1);
        } else {
            c0[i] = _mm256_setzero_ps();
            c1[i] = _mm256_setzero_ps();
        }
    }
    for (int k = 0; k < g->Kd; k++) {
        const float *b = g->B + (size_t)k * g->ldb + j0, *a = A + (size_t)k * g->sak;
        __m256 b0 = _mm256_maskload_ps(b, m0), b1 = _mm256_maskload_ps(b + 8, m1);
        for (int i = 0; i < R; i++) {
            __m256 ai = _mm256_broadcast_ss(a + (size_t)i * g->sai);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; i++) {
        _mm256_maskstore_ps(C + (size_t)i * g->ldc, m0, c0[i]);
        _mm256_maskstore_ps(C + (size_t)i * g->ldc + 8, m1, c1[i]);
    }
}

__attribute__((target("avx2,fma"))) static __m256i mask8(int w)
{
    /* lanes [0, w) set, w in 0..8 */
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), idx);
}

__attribute__((target("avx2,fma"))) static void mm_avx2(const blk *g)
{
    for (int j0 = 0; j0 < g->N; j0 += 16) {
        int w = g->N - j0 < 16 ? g->N - j0 : 16;
        __m256i m0 = mask8(w >= 8 ? 8 : w), m1 = mask8(w > 8 ? w - 8 : 0);
        int i0 = 0;
        for (; i0 + MR2 <= g->M; i0 += MR2)
            tile256(MR2, g, i0, j0, m0, m1);
        int rem = g->M - i0; /* the remaining rows (0..5) as 4 + 1 or 2 + 1 */
        if (rem >= 4) tile256(4, g, i0, j0, m0, m1), i0 += 4, rem -= 4;
        if (rem >= 2) tile256(2, g, i0, j0, m0, m1), i0 += 2, rem -= 2;
        if (rem >= 1) tile256(1, g, i0, j0, m0, m1);
    }
}

/* ---- AVX-512: tiles of up to 12 rows x 32 columns (24 accumulators) ------------------ */

enum { MR = 12 };

static inline __attribute__((always_inline, target("avx512f"))) void
tile512(int R, int full, const blk *g, int i0, int j0, __mmask16 m0, __mmask16 m1)
{
    /* operands in locals: the loop must not reload g (stores through C may alias it) */
    const long sai = g->sai, sak = g->sak, ldb = g->ldb, ldc = g->ldc;
    const int Kd = g->Kd;
    const float *a = g->A + (size_t)i0 * sai, *b = g->B + j0;
    float *C = g->C + (size_t)i0 * ldc + j0;
    __m512 c0[MR], c1[MR];
    for (int i = 0; i < R; i++) {
        if (g->bias) {
            c0[i] = _mm512_maskz_loadu_ps(m0, g->bias + j0);
            c1[i] = _mm512_maskz_loadu_ps(m1, g->bias + j0 + 16);
        } else if (g->acc) {
            c0[i] = _mm512_maskz_loadu_ps(m0, C + (size_t)i * ldc);
            c1[i] = _mm512_maskz_loadu_ps(m1, C + (size_t)i * ldc + 16);
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
    for (int k = 0; k < Kd; k++, a += sak, b += ldb) {
        __m512 b0 = full ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = full ? _mm512_loadu_ps(b + 16) : _mm512_maskz_loadu_ps(m1, b + 16);
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[i * sai]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(C + (size_t)i * ldc, m0, c0[i]);
        _mm512_mask_storeu_ps(C + (size_t)i * ldc + 16, m1, c1[i]);
    }
}

__attribute__((target("avx512f"))) static void mm_avx512(const blk *g)
{
    for (int j0 = 0; j0 < g->N; j0 += 32) {
        int w = g->N - j0 < 32 ? g->N - j0 : 32;
        __mmask16 m0 = (__mmask16)(w >= 16 ? 0xffff : (1u << w) - 1);
        __mmask16 m1 = (__mmask16)(w >= 32 ? 0xffff : (w > 16 ? (1u << (w - 16)) - 1 : 0));
        int i0 = 0, full = w == 32;
        if (full)
            for (; i0 + MR <= g->M; i0 += MR)
                tile512(MR, 1, g, i0, j0, m0, m1);
        else
            for (; i0 + MR <= g->M; i0 += MR)
                tile512(MR, 0, g, i0, j0, m0, m1);
        for (int r = 8; r >= 1; r /= 2) { /* the remaining rows as 8 + 4 + 2 + 1 */
            if (g->M - i0 < r) continue;
            if (r == 8) tile512(8, 0, g, i0, j0, m0, m1);
            if (r == 4) tile512(4, 0, g, i0, j0, m0, m1);
            if (r == 2) tile512(2, 0, g, i0, j0, m0, m1);
            if (r == 1) tile512(1, 0, g, i0, j0, m0, m1);
            i0 += r;
        }
    }
}
#endif

/* ---- the path: best of the CPU, RLHF_ISA, per-thread forcing for tests --------------- */

typedef void (*mm_fn)(const blk *);

static const char *const isa_names[] = {"portable", "avx2", "avx512"};

const char *rt_nn_isa_name(int isa)
{
    return isa >= 0 && isa <= RT_NN_MM_AVX512 ? isa_names[isa] : "?";
}

int rt_nn_isa_best(void)
{
#ifdef RT_NN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RT_NN_MM_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RT_NN_MM_AVX2;
#endif
    return RT_NN_MM_PORTABLE;
}

/* the process's path: -1 until first use, then RLHF_ISA's (if valid and supported) or the
 * best; every thread computes the same value, so the race on first use is benign */
static _Atomic int isa_process = -1;
static char isa_err[160];

int rt_nn_isa_parse(const char *name, int *isa, char *err, size_t errlen)
{
    int best = rt_nn_isa_best();
    for (int i = 0; i <= RT_NN_MM_AVX512; i++)
        if (!strcmp(name, isa_names[i])) {
            if (i > best) {
                snprintf(err, errlen,
                         "RLHF_ISA=%s: this CPU lacks %s (its best path is %s; choose one of "
                         "portable%s%s)",
                         name, i == RT_NN_MM_AVX512 ? "AVX-512F" : "AVX2 and FMA", isa_names[best],
                         best >= 1 ? ", avx2" : "", best >= 2 ? ", avx512" : "");
                return -1;
            }
            *isa = i;
            return 0;
        }
    snprintf(err, errlen, "RLHF_ISA=%s: unknown path (use avx512, avx2 or portable)", name);
    return -1;
}

static int isa_init(void)
{
    int isa = rt_nn_isa_best();
    const char *e = getenv("RLHF_ISA");
    isa_err[0] = 0;
    if (e && *e && rt_nn_isa_parse(e, &isa, isa_err, sizeof isa_err)) isa = rt_nn_isa_best();
    isa_process = isa;
    return isa;
}

int rt_nn_isa_check_env(char *err, size_t errlen)
{
    isa_init();
    if (!isa_err[0]) return 0;
    snprintf(err, errlen, "%s", isa_err);
    return -1;
}

int rt_nn_set_isa(int isa)
{
    if (isa < RT_NN_MM_PORTABLE || isa > rt_nn_isa_best()) return -1;
    isa_process = isa;
    return 0;
}

static _Thread_local int forced = -1; /* per thread: tests force a path on their own thread */

int rt_nn_isa(void)
{
    if (forced >= 0) return forced;
    int isa = isa_process;
    return isa >= 0 ? isa : isa_init();
}

int rt_nn_mm_isa(int isa)
{
    int best = rt_nn_isa_best();
    if (isa == -2)
        forced = -1;
    else if (isa >= RT_NN_MM_PORTABLE && isa <= best)
        forced = isa;
    return rt_nn_isa();
}

static mm_fn isa_fn(int isa)
{
#ifdef RT_NN_X86
    if (isa == RT_NN_MM_AVX512) return mm_avx512;
    if (isa == RT_NN_MM_AVX2) return mm_avx2;
#endif
    (void)isa;
    return mm_portable;
}

/* ---- profile (benchmarks only): time and FLOPs inside the GEMM ------------------------ */

static atomic_int prof_on;
static atomic_uint_least64_t prof_ns, prof_flop;

void rt_nn_gemm_profile(int on)
{
    atomic_store(&prof_ns, 0);
    atomic_store(&prof_flop, 0);
    atomic_store(&prof_on, on != 0);
}

void rt_nn_gemm_profile_read(double *seconds, double *flops)
{
    if (seconds) *seconds = (double)atomic_load(&prof_ns) * 1e-9;
    if (flops) *flops = (double)atomic_load(&prof_flop);
}

static uint64_t prof_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void prof_add(uint64_t t0, int M, int N, int Kd)
{
    atomic_fetch_add(&prof_ns, prof_now() - t0);
    atomic_fetch_add(&prof_flop, (uint64_t)2 * (uint64_t)M * (uint64_t)N * (uint64_t)Kd);
}

/* ---- blocking, packing, threads ------------------------------------------------------ */

/* rows [0, M) of g in row blocks of MB, whole Kd */
static void run_rows(mm_fn f, blk g, int poll)
{
    for (int i0 = 0; i0 < g.M; i0 += MB) {
        if (poll && rt_cancel_poll()) return; /* the run is being cancelled: C incomplete */
        blk s = g;
        s.M = g.M - i0 < MB ? g.M - i0 : MB;
        s.A = g.A + (size_t)i0 * g.sai;
        s.C = g.C + (size_t)i0 * g.ldc;
        f(&s);
    }
}

/* The whole product for one thread's share: g with B in place (tb = 0) or, if Bt != NULL,
 * B = Bt^T with Bt stored (N, Kd) row stride ldbt (tb = 1), packed panel by panel. */
static void gemm_serial(int isa, blk g, const float *Bt, long ldbt, int poll)
{
    static _Thread_local float pack[KB * NB] __attribute__((aligned(64)));
    mm_fn f = isa_fn(isa);
    int N = g.N;
    for (int j0 = 0; j0 < N; j0 += (Bt ? NB : N)) {
        int nb = Bt ? (N - j0 < NB ? N - j0 : NB) : N;
        for (int k0 = 0; k0 < g.Kd || k0 == 0; k0 += KB) {
            int kb = g.Kd - k0 < KB ? g.Kd - k0 : KB;
            blk s = g;
            s.N = nb;
            s.Kd = kb;
            s.C = g.C + j0;
            s.A = g.A + (size_t)k0 * g.sak;
            if (k0 > 0)
                s.bias = NULL, s.acc = 1; /* continue the chains stored in C */
            else if (g.bias)
                s.bias = g.bias + j0;
            if (Bt) {
                for (int j = 0; j < nb; j++) {
                    const float *src = Bt + (size_t)(j0 + j) * ldbt + k0;
                    for (int k = 0; k < kb; k++)
                        pack[(size_t)k * nb + j] = src[k];
                }
                s.B = pack, s.ldb = nb;
            } else {
                s.B = g.B + (size_t)k0 * g.ldb + j0;
            }
            run_rows(f, s, poll);
            if (g.Kd == 0) break;
        }
    }
}

typedef struct {
    int isa;
    blk g;
    const float *Bt;
    long ldbt;
    int split_cols; /* 1: threads take column ranges (multiples of 32), 0: row ranges */
    int unit;       /* columns or rows per share */
    int poll;       /* poll the cancel point per row block */
} par_job;

static void par_task(void *arg, int j, int nth)
{
    (void)nth;
    par_job *p = arg;
    blk s = p->g;
    const float *Bt = p->Bt;
    int lo = j * p->unit, total = p->split_cols ? s.N : s.M;
    if (lo >= total) return;
    int n = total - lo < p->unit ? total - lo : p->unit;
    if (p->split_cols) {
        s.N = n, s.C += lo;
        if (s.bias) s.bias += lo;
        if (Bt)
            Bt += (size_t)lo * p->ldbt;
        else
            s.B += lo;
    } else {
        s.M = n, s.C += (size_t)lo * s.ldc, s.A += (size_t)lo * s.sai;
    }
    gemm_serial(p->isa, s, Bt, p->ldbt, p->poll);
}

/* C (M, N) = init + op(A) @ op(B): one chain per element (see the top of the file) */
static void gemm(int ta, int tb, int M, int N, int Kd, const float *A, int lda, const float *B,
                 int ldb, const float *bias, int acc, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (Kd < 0) Kd = 0;
    blk g = {C, ldc, A, ta ? 1 : lda, ta ? lda : 1, tb ? NULL : B, ldb, bias, acc, M, N, Kd};
    int isa = rt_nn_isa(), nth = rt_nn_gemm_threads();
    uint64_t t0 = atomic_load_explicit(&prof_on, memory_order_relaxed) ? prof_now() : 0;
    double flop = 2.0 * M * N * (double)Kd;
    /* long products poll the cancel point (rt_cancel.h) per row block; short ones (well
       under a millisecond) never, so small steps always run whole */
    int poll = flop >= 5e7;
    /* threads only where the work (2 M N Kd flops) repays starting them (~50 us) */
    if (nth > 1 && flop >= 8e6) {
        par_job p = {isa, g, tb ? B : NULL, ldb, N >= 64 * nth, 0, poll};
        if (p.split_cols)
            p.unit = ((N + nth - 1) / nth + 31) / 32 * 32;
        else
            p.unit = (M + nth - 1) / nth;
        int parts = p.split_cols ? (N + p.unit - 1) / p.unit : (M + p.unit - 1) / p.unit;
        rt_nn_parallel(parts < nth ? parts : nth, par_task, &p);
    } else {
        gemm_serial(isa, g, tb ? B : NULL, ldb, poll);
    }
    if (t0) prof_add(t0, M, N, Kd);
}

void rt_nn_gemm(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (alpha == 1.0f) {
        if (beta != 0.0f && beta != 1.0f) /* chains start from beta * C */
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                    C[(size_t)i * ldc + j] *= beta;
        gemm(ta, tb, M, N, Kd, A, lda, B, ldb, NULL, beta != 0.0f, C, ldc);
        return;
    }
    /* alpha != 1 (unused by the runtime): the same chain per element, each term
     * fma(alpha * a, b, c) from beta * C, in plain C on every path */
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

static pthread_once_t rate_once = PTHREAD_ONCE_INIT;
static double rate_measured;

static void rate_measure(void)
{
    enum { M = 192, N = 256, K = 256 };
    float *a = rt_calloc((size_t)M * K + (size_t)K * N + (size_t)M * N, sizeof(float));
    rate_measured = 1e10; /* a guess if even this small allocation fails */
    if (!a) return;
    float *b = a + (size_t)M * K, *c = b + (size_t)K * N;
    for (size_t i = 0; i < (size_t)M * K + (size_t)K * N; i++)
        a[i] = (float)(i % 7) * 0.125f;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = prof_now();
        gemm_serial(rt_nn_isa(), (blk){c, N, a, K, 1, b, N, NULL, 0, M, N, K}, NULL, 0, 0);
        double dt = (double)(prof_now() - t0) * 1e-9;
        if (dt > 0 && 2.0 * M * N * K / dt > best) best = 2.0 * M * N * K / dt;
    }
    if (best > 0) rate_measured = best;
    rt_free(a);
}

double rt_nn_gemm_rate(void)
{
    pthread_once(&rate_once, rate_measure);
    return rate_measured;
}

void rt_nn_mm(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb,
              const float *bias, int acc, int M, int N, int Kd)
{
    /* C (M, N) = init + op(A) (M, Kd) @ B (Kd, N); single-threaded (callers split) */
    if (M <= 0 || N <= 0) return;
    blk g = {C, ldc, A, ta ? 1 : lda, ta ? lda : 1, B, ldb, bias, acc, M, N, Kd < 0 ? 0 : Kd};
    uint64_t t0 = atomic_load_explicit(&prof_on, memory_order_relaxed) ? prof_now() : 0;
    gemm_serial(rt_nn_isa(), g, NULL, 0, 2.0 * M * N * (double)g.Kd >= 5e7);
    if (t0) prof_add(t0, M, N, g.Kd);
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
