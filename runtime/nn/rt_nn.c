/* rt_nn.c: layers over raw float buffers (see rt_nn.h): GEMM wrappers, activations,
 * linear, embedding, the fused per-position first layer, softmax, losses, sampling.
 * Each fast path has its naive reference right after it.  Leaves out: threading of
 * the non-GEMM loops (they are serial and fixed-order, hence deterministic). */
#include "rt_nn.h"
#include "rt_cancel.h"
#include "rt_math.h"
#include "rt_nn_isa.h"

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Hot loops: compiled once per SIMD path, picked per call (rt_nn_isa.h). */

enum { LANES = 16 }; /* fixed reduction lanes: the summation order of every row sum */

/* ---- matrix products ---------------------------------------------------------- */

static _Atomic int numerics = RT_NN_NUMERICS_EXACT;
static _Atomic int gemm_threads = 1;

/* OpenBLAS is loaded on first use (dlopen), never at start: its load-time initialisation
 * and thread pool cost the kernel's cold start and idle memory, and only
 * `%numerics openblas` needs it.  Loaded once; the pointers are written before
 * `numerics` is switched (an atomic store), so workers that see OPENBLAS see them. */
typedef void (*blas_sgemm_fn)(OPENBLAS_CONST enum CBLAS_ORDER, OPENBLAS_CONST enum CBLAS_TRANSPOSE,
                              OPENBLAS_CONST enum CBLAS_TRANSPOSE, OPENBLAS_CONST blasint,
                              OPENBLAS_CONST blasint, OPENBLAS_CONST blasint, OPENBLAS_CONST float,
                              OPENBLAS_CONST float *, OPENBLAS_CONST blasint,
                              OPENBLAS_CONST float *, OPENBLAS_CONST blasint,
                              OPENBLAS_CONST float, float *, OPENBLAS_CONST blasint);
static blas_sgemm_fn blas_sgemm;
static void (*blas_set_threads)(int);
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static char blas_err[256];

static void blas_load(void)
{
    const char *lib = "libopenblas.so.0";
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(blas_err, sizeof blas_err, "%s", e ? e : lib);
        return;
    }
    void *g = dlsym(h, "cblas_sgemm"), *t = dlsym(h, "openblas_set_num_threads");
    if (!g || !t) {
        snprintf(blas_err, sizeof blas_err, "%s lacks cblas_sgemm or openblas_set_num_threads",
                 lib);
        return; /* the handle stays open: harmless, and dlclose of OpenBLAS is not safe */
    }
    /* object pointer -> function pointer: POSIX guarantees dlsym's results convert */
    memcpy(&blas_sgemm, &g, sizeof g);
    memcpy(&blas_set_threads, &t, sizeof t);
}

const char *rt_nn_blas_error(void)
{
    return blas_err;
}

void rt_nn_set_gemm_threads(int n)
{
    gemm_threads = n < 1 ? 1 : (n > RT_NN_MAX_THREADS ? RT_NN_MAX_THREADS : n);
    /* OpenBLAS's pool, once loaded, has idle workers that spin in sched_yield and take a
     * core from the runtime's own threads: keep it at 1 unless it does the products */
    if (blas_set_threads)
        blas_set_threads(numerics == RT_NN_NUMERICS_OPENBLAS ? gemm_threads : 1);
}

int rt_nn_gemm_threads(void)
{
    return gemm_threads;
}

int rt_nn_set_numerics(int mode)
{
    if (mode == RT_NN_NUMERICS_OPENBLAS) {
        pthread_once(&blas_once, blas_load);
        if (!blas_sgemm) return -1;
    }
    numerics = mode == RT_NN_NUMERICS_OPENBLAS ? RT_NN_NUMERICS_OPENBLAS : RT_NN_NUMERICS_EXACT;
    rt_nn_set_gemm_threads(gemm_threads);
    return 0;
}

int rt_nn_numerics(void)
{
    return numerics;
}

const char *rt_nn_numerics_name(int mode)
{
    return mode == RT_NN_NUMERICS_OPENBLAS ? "openblas" : "exact";
}

void rt_nn_sgemm(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (numerics == RT_NN_NUMERICS_EXACT) {
        rt_nn_gemm(ta, tb, M, N, Kd, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    blas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                Kd, alpha, A, lda, B, ldb, beta, C, ldc);
}

void rt_nn_sgemm_ref(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < Kd; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

/* ---- threads ---- */

typedef struct {
    rt_nn_task fn;
    void *arg;
    int j, nth;
    rt_cancel_point *cancel; /* the caller's, installed on the thread */
} task;

static void *task_main(void *a)
{
    task *t = a;
    rt_cancel_install(t->cancel);
    t->fn(t->arg, t->j, t->nth);
    return NULL;
}

void rt_nn_parallel(int nth, rt_nn_task fn, void *arg)
{
    if (nth <= 1) {
        fn(arg, 0, 1);
        return;
    }
    if (nth > RT_NN_MAX_THREADS) nth = RT_NN_MAX_THREADS;
    pthread_t th[RT_NN_MAX_THREADS];
    task tk[RT_NN_MAX_THREADS];
    int started[RT_NN_MAX_THREADS] = {0};
    for (int j = 1; j < nth; j++) {
        tk[j] = (task){fn, arg, j, nth, rt_cancel_current()};
        started[j] = pthread_create(&th[j], NULL, task_main, &tk[j]) == 0;
    }
    fn(arg, 0, nth);
    for (int j = 1; j < nth; j++) {
        if (started[j])
            pthread_join(th[j], NULL);
        else
            fn(arg, j, nth); /* could not start a thread: do its share here */
    }
}

/* ---- elementwise -------------------------------------------------------------- */

/* The exponential of every row loop is rt_expf_vec (rt_math.h): branch-free, no fmaf,
 * inline, so the loops vectorize and every ISA path gives the same bits. */
float rt_nn_expf(float x)
{
    return rt_expf_vec(x);
}

/* GELU, tanh approximation (as torch's approximate='tanh'). */
#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */

RT_ISA_FN_VOID(rt_nn_act_forward, (int act, float *out, const float *inp, size_t n),
               (act, out, inp, n))
{
    if (act == RT_NN_ACT_GELU) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + rt_tanhf_vec(GELU_C * (x + 0.044715f * x * x * x)));
        }
    } else {
        for (size_t i = 0; i < n; i++)
            out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
    }
}

RT_ISA_FN_VOID(rt_nn_act_backward,
               (int act, float *dinp, const float *dout, const float *inp, const float *out,
                size_t n),
               (act, dinp, dout, inp, out, n))
{
    if (act == RT_NN_ACT_GELU) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float u = GELU_C * (x + 0.044715f * x * x * x);
            float t = rt_tanhf_vec(u);
            float du = GELU_C * (1.0f + 3.0f * 0.044715f * x * x);
            float g = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
            dinp[i] += dout[i] * g;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
    }
}

RT_ISA_FN_VOID(rt_nn_act_grad, (int act, float *d, const float *inp, const float *out, size_t n),
               (act, d, inp, out, n))
{
    if (act == RT_NN_ACT_RELU) {
        for (size_t i = 0; i < n; i++)
            d[i] = out[i] > 0.0f ? d[i] : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++) {
            float g = 0.0f;
            rt_nn_act_backward(act, &g, &d[i], &inp[i], &out[i], 1);
            d[i] = g;
        }
    }
}

/* ---- linear ------------------------------------------------------------------- */

void rt_nn_linear_forward(float *out, const float *inp, const float *W, const float *b, int N,
                          int Din, int Dout)
{
    /* out (N, Dout) = inp (N, Din) W^T (Din, Dout) + b */
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++)
            memcpy(out + (size_t)n * Dout, b, sizeof(float) * Dout);
        beta = 1.0f;
    }
    rt_nn_sgemm(0, 1, N, Dout, Din, 1.0f, inp, Din, W, Din, beta, out, Dout);
}

void rt_nn_linear_forward_ref(float *out, const float *inp, const float *W, const float *b, int N,
                              int Din, int Dout)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Dout; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < Din; i++)
                s += (double)inp[(size_t)n * Din + i] * W[(size_t)o * Din + i];
            out[(size_t)n * Dout + o] = (float)s;
        }
}

RT_ISA_FN_VOID_STATIC(colsum_acc, (float *db, const float *x, int N, int D), (db, x, N, D))
{
    /* db (D) += sum over rows of x (N, D) */
    for (int n = 0; n < N; n++) {
        const float *r = x + (size_t)n * D;
        for (int d = 0; d < D; d++)
            db[d] += r[d];
    }
}

void rt_nn_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                           const float *W, int N, int Din, int Dout)
{
    if (dinp) rt_nn_sgemm(0, 0, N, Din, Dout, 1.0f, dout, Dout, W, Din, 1.0f, dinp, Din);
    rt_nn_sgemm(1, 0, Dout, Din, N, 1.0f, dout, Dout, inp, Din, 1.0f, dW, Din);
    if (db) colsum_acc(db, dout, N, Dout);
}

void rt_nn_linear_backward_ref(float *dinp, float *dW, float *db, const float *dout,
                               const float *inp, const float *W, int N, int Din, int Dout)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Dout; o++) {
            float g = dout[(size_t)n * Dout + o];
            if (db) db[o] += g;
            for (int i = 0; i < Din; i++) {
                if (dinp) dinp[(size_t)n * Din + i] += g * W[(size_t)o * Din + i];
                dW[(size_t)o * Din + i] += g * inp[(size_t)n * Din + i];
            }
        }
}

/* ---- embedding ---------------------------------------------------------------- */

void rt_nn_embed_forward(float *x, const int *ctx, const float *E, int N, int K, int D)
{
    for (int n = 0; n < N; n++)
        for (int i = 0; i < K; i++)
            memcpy(x + ((size_t)n * K + i) * D, E + (size_t)ctx[(size_t)n * K + i] * D,
                   sizeof(float) * D);
}

void rt_nn_embed_backward(float *dE, const float *dx, const int *ctx, int N, int K, int D)
{
    for (int n = 0; n < N; n++)
        for (int i = 0; i < K; i++) {
            float *g = dE + (size_t)ctx[(size_t)n * K + i] * D;
            const float *s = dx + ((size_t)n * K + i) * D;
            for (int d = 0; d < D; d++)
                g[d] += s[d];
        }
}

/* ---- fused first layer -------------------------------------------------------- */

void rt_nn_table_build(float *U, const float *E, const float *W1, int V, int K, int D, int H)
{
    /* U_i (V, H) = E (V, D) @ W1_i^T, W1_i = W1[:, i*D:(i+1)*D] with row stride K*D */
    for (int i = 0; i < K; i++)
        rt_nn_sgemm(0, 1, V, H, D, 1.0f, E, D, W1 + (size_t)i * D, K * D, 0.0f,
                    U + (size_t)i * V * H, H);
}

void rt_nn_table_build_ref(float *U, const float *E, const float *W1, int V, int K, int D, int H)
{
    for (int i = 0; i < K; i++)
        for (int v = 0; v < V; v++)
            for (int h = 0; h < H; h++) {
                double s = 0;
                for (int d = 0; d < D; d++)
                    s += (double)E[(size_t)v * D + d] * W1[(size_t)h * K * D + (size_t)i * D + d];
                U[((size_t)i * V + v) * H + h] = (float)s;
            }
}

/* one row: o (H) = act(b + sum_i u_i), summed in order i = 0..K-1.  Columns in chunks
 * of 128 (then 32) held in registers (GCC vector extension: lowered to the clone's SIMD
 * width, the same elementwise adds on every ISA), the tail scalar in the same order.
 * Wide chunks give 8 independent addition chains: with 2 (one per 16 columns) the loop
 * waited on the adder's latency. */
typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int vi16 __attribute__((vector_size(64), aligned(4), may_alias));

#define TABLE_CHUNK(NV)                                                                            \
    for (; h0 + 16 * (NV) <= H; h0 += 16 * (NV)) {                                                 \
        v16 a[NV];                                                                                 \
        for (int q = 0; q < (NV); q++)                                                             \
            a[q] = *(const v16 *)(b + h0 + 16 * q);                                                \
        for (int i = 0; i < K; i++) {                                                              \
            const float *ui = u[i] + h0;                                                           \
            for (int q = 0; q < (NV); q++)                                                         \
                a[q] += *(const v16 *)(ui + 16 * q);                                               \
        }                                                                                          \
        for (int q = 0; q < (NV); q++) {                                                           \
            if (relu) a[q] = (v16)((vi16)a[q] & (a[q] > zero)); /* keep where > 0, else +0 */      \
            *(v16 *)(o + h0 + 16 * q) = a[q];                                                      \
        }                                                                                          \
    }

static inline void table_row(float *restrict o, const float *const *u, const float *restrict b,
                             int K, int H, int relu)
{
    int h0 = 0;
    const v16 zero = {0};
    TABLE_CHUNK(8)
    TABLE_CHUNK(2)
    for (int h = h0; h < H; h++) {
        float a = b[h];
        for (int i = 0; i < K; i++)
            a += u[i][h];
        o[h] = relu ? (a > 0.0f ? a : 0.0f) : a;
    }
}

RT_ISA_FN_VOID_STATIC(table_forward,
                      (float *out, const int *ctx, const float *U, const float *b, int N, int K,
                       int V, int H, int relu),
                      (out, ctx, U, b, N, K, V, H, relu))
{
    const float *u[1024];
    if (K > 1024) {
        rt_nn_table_forward_ref(out, ctx, U, b, N, K, V, H);
        if (relu) rt_nn_act_forward(RT_NN_ACT_RELU, out, out, (size_t)N * H);
        return;
    }
    for (int n = 0; n < N; n++) {
        const int *c = ctx + (size_t)n * K;
        for (int i = 0; i < K; i++)
            u[i] = U + ((size_t)i * V + c[i]) * H;
        table_row(out + (size_t)n * H, u, b, K, H, relu);
    }
}

void rt_nn_table_forward(float *out, const int *ctx, const float *U, const float *b, int N, int K,
                         int V, int H)
{
    table_forward(out, ctx, U, b, N, K, V, H, 0);
}

void rt_nn_table_forward_relu(float *out, const int *ctx, const float *U, const float *b, int N,
                              int K, int V, int H)
{
    table_forward(out, ctx, U, b, N, K, V, H, 1);
}

void rt_nn_table_forward_ref(float *out, const int *ctx, const float *U, const float *b, int N,
                             int K, int V, int H)
{
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            float s = b[h];
            for (int i = 0; i < K; i++)
                s += U[((size_t)i * V + ctx[(size_t)n * K + i]) * H + h];
            out[(size_t)n * H + h] = s;
        }
}

RT_ISA_FN_VOID(rt_nn_table_backward_cols,
               (float *dU, float *db, const float *dout, const int *ctx, int N, int K, int V, int H,
                int h0, int h1),
               (dU, db, dout, ctx, N, K, V, H, h0, h1))
{
    rt_nn_table_backward_relu_cols(dU, db, dout, NULL, ctx, N, K, V, H, h0, h1);
}

/* Row after row: each term added to its dU row (a load and a store per term). */
static inline __attribute__((always_inline)) void
table_backward_rows(float *dU, float *db, const float *dout, const float *act, const int *ctx,
                    int N, int K, int V, int H, int h0, int h1)
{
    for (int n = 0; n < N; n++) {
        const float *g = dout + (size_t)n * H;
        const int *c = ctx + (size_t)n * K;
        float m[512];
        for (int c0 = h0; c0 < h1; c0 += 512) {
            int c1 = c0 + 512 < h1 ? c0 + 512 : h1;
            if (act) {
                const float *a = act + (size_t)n * H;
                for (int h = c0; h < c1; h++)
                    m[h - c0] = a[h] > 0.0f ? g[h] : 0.0f;
            } else {
                for (int h = c0; h < c1; h++)
                    m[h - c0] = g[h];
            }
            if (db)
                for (int h = c0; h < c1; h++)
                    db[h] += m[h - c0];
            for (int i = 0; i < K; i++) {
                float *u = dU + ((size_t)i * V + c[i]) * H;
                for (int h = c0; h < c1; h++)
                    u[h] += m[h - c0];
            }
        }
    }
}

/* Bucketed: rows in chunks of TB_ROWS; within a chunk, for each context slot i the rows
 * are bucketed by their token (a stable counting sort), and each touched dU row is
 * loaded once per chunk and column block, receives its rows' terms in increasing n in
 * registers, and is stored once: the same additions in the same order as row after
 * row, with a fraction of the loads and stores. */
enum { TB_ROWS = 128, TB_COLS = 64, TB_MAXK = 16, TB_MAXV = 256 };

RT_ISA_FN_VOID(rt_nn_table_backward_relu_cols,
               (float *dU, float *db, const float *dout, const float *act, const int *ctx, int N,
                int K, int V, int H, int h0, int h1),
               (dU, db, dout, act, ctx, N, K, V, H, h0, h1))
{
    /* each element of dU and db sums its rows in order n = 0..N-1 */
    if (K > TB_MAXK || V > TB_MAXV) {
        table_backward_rows(dU, db, dout, act, ctx, N, K, V, H, h0, h1);
        return;
    }
    unsigned char order[TB_MAXK][TB_ROWS]; /* chunk rows of slot i, by token, stable */
    short start[TB_MAXK][TB_MAXV + 1];     /* bucket v of slot i: order[i][start[v]..start[v+1]) */
    float m[TB_ROWS][TB_COLS];             /* masked gradient rows of the column block */
    for (int r0 = 0; r0 < N; r0 += TB_ROWS) {
        int nr = N - r0 < TB_ROWS ? N - r0 : TB_ROWS;
        const int *cx = ctx + (size_t)r0 * K;
        for (int i = 0; i < K; i++) {
            short *st = start[i], pos[TB_MAXV];
            memset(st, 0, sizeof(short) * (size_t)(V + 1));
            for (int n = 0; n < nr; n++)
                st[cx[(size_t)n * K + i] + 1]++;
            for (int v = 0; v < V; v++) {
                pos[v] = st[v];
                st[v + 1] = (short)(st[v + 1] + st[v]);
            }
            for (int n = 0; n < nr; n++)
                order[i][pos[cx[(size_t)n * K + i]]++] = (unsigned char)n;
        }
        for (int c0 = h0; c0 < h1; c0 += TB_COLS) {
            int cw = h1 - c0 < TB_COLS ? h1 - c0 : TB_COLS;
            for (int n = 0; n < nr; n++) {
                const float *g = dout + ((size_t)r0 + n) * H + c0;
                if (act) {
                    const float *a = act + ((size_t)r0 + n) * H + c0;
                    for (int h = 0; h < cw; h++)
                        m[n][h] = a[h] > 0.0f ? g[h] : 0.0f;
                } else {
                    for (int h = 0; h < cw; h++)
                        m[n][h] = g[h];
                }
                if (db)
                    for (int h = 0; h < cw; h++)
                        db[c0 + h] += m[n][h];
            }
            for (int i = 0; i < K; i++)
                for (int v = 0; v < V; v++) {
                    int b0 = start[i][v], b1 = start[i][v + 1];
                    if (b0 == b1) continue;
                    float *u = dU + ((size_t)i * V + v) * H + c0;
                    const unsigned char *o = order[i];
                    if (cw == TB_COLS) {
                        v16 a0 = *(v16 *)u, a1 = *(v16 *)(u + 16), a2 = *(v16 *)(u + 32),
                            a3 = *(v16 *)(u + 48);
                        for (int b = b0; b < b1; b++) {
                            const float *r = m[o[b]];
                            a0 += *(const v16 *)r, a1 += *(const v16 *)(r + 16);
                            a2 += *(const v16 *)(r + 32), a3 += *(const v16 *)(r + 48);
                        }
                        *(v16 *)u = a0, *(v16 *)(u + 16) = a1, *(v16 *)(u + 32) = a2,
                        *(v16 *)(u + 48) = a3;
                    } else {
                        for (int h = 0; h < cw; h++) {
                            float a = u[h];
                            for (int b = b0; b < b1; b++)
                                a += m[o[b]][h];
                            u[h] = a;
                        }
                    }
                }
        }
    }
}

void rt_nn_table_backward(float *dU, float *db, const float *dout, const int *ctx, int N, int K,
                          int V, int H)
{
    rt_nn_table_backward_cols(dU, db, dout, ctx, N, K, V, H, 0, H);
}

void rt_nn_table_grad(float *dE, float *dW1, const float *dU, const float *E, const float *W1,
                      int V, int K, int D, int H)
{
    for (int i = 0; i < K; i++) {
        const float *dUi = dU + (size_t)i * V * H;
        /* dW1_i (H, D) += dU_i^T (H, V) @ E (V, D) */
        rt_nn_sgemm(1, 0, H, D, V, 1.0f, dUi, H, E, D, 1.0f, dW1 + (size_t)i * D, K * D);
        /* dE (V, D) += dU_i (V, H) @ W1_i (H, D) */
        rt_nn_sgemm(0, 0, V, D, H, 1.0f, dUi, H, W1 + (size_t)i * D, K * D, 1.0f, dE, D);
    }
}

/* ---- softmax, losses, sampling ------------------------------------------------- */

/* Row max, then the log-normalizer max*invt + log(sum_v exp((x_v - max) * invt)).  The
 * sum runs over LANES fixed lanes (lane j takes v = j mod LANES, in order), then adds
 * the lanes pairwise: a fixed order that vectorizes. */
static inline float lane_sum(float *a)
{
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            a[j] += a[j + w];
    return a[0];
}

static inline float row_max(const float *x, int V)
{
    float m[LANES];
    int v0 = 0;
    for (int j = 0; j < LANES; j++)
        m[j] = x[0];
    for (; v0 + LANES <= V; v0 += LANES)
        for (int j = 0; j < LANES; j++)
            m[j] = x[v0 + j] > m[j] ? x[v0 + j] : m[j];
    for (int v = v0; v < V; v++)
        m[0] = x[v] > m[0] ? x[v] : m[0];
    float r = m[0];
    for (int j = 1; j < LANES; j++)
        r = m[j] > r ? m[j] : r;
    return r;
}

/* sum_v exp((x_v - m) * invt) in lanes; if e != NULL also stores each term e (V) */
static inline float row_expsum(float *e, const float *x, int V, float m, float invt)
{
    float s[LANES] = {0};
    int v0 = 0;
    for (; v0 + LANES <= V; v0 += LANES)
        for (int j = 0; j < LANES; j++) {
            float t = rt_expf_vec((x[v0 + j] - m) * invt);
            if (e) e[v0 + j] = t;
            s[j] += t;
        }
    for (int v = v0; v < V; v++) {
        float t = rt_expf_vec((x[v] - m) * invt);
        if (e) e[v] = t;
        s[v - v0] += t;
    }
    return lane_sum(s);
}

/* Log-normalizers z[j] = m_j * invt + log(sum_v exp((x_jv - m_j) * invt)), m_j the row
 * max, of nb <= LB rows: their sums first, then the block's logs in one rt_logf_n call
 * (vectorized, the same bits as rt_logf row by row).  Rows with skip[j] < 0 (if skip)
 * get no meaningful value. */
enum { LB = 64 };
static inline __attribute__((always_inline)) void block_lognorm(float *z, const float *logits,
                                                                const int *skip, int nb, int V,
                                                                float invt)
{
    float m[LB], s[LB];
    for (int j = 0; j < nb; j++) {
        const float *x = logits + (size_t)j * V;
        if (skip && skip[j] < 0) {
            m[j] = 0.0f, s[j] = 1.0f;
            continue;
        }
        m[j] = row_max(x, V);
        s[j] = row_expsum(NULL, x, V, m[j], invt);
    }
    rt_logf_n(z, s, (size_t)nb, rt_nn_isa());
    for (int j = 0; j < nb; j++)
        z[j] = m[j] * invt + z[j];
}

RT_ISA_FN_VOID(rt_nn_log_softmax, (float *lp, const float *logits, int N, int V, float temperature),
               (lp, logits, N, V, temperature))
{
    float invt = 1.0f / temperature, zb[LB];
    for (int n0 = 0; n0 < N; n0 += LB) {
        int nb = N - n0 < LB ? N - n0 : LB;
        block_lognorm(zb, logits + (size_t)n0 * V, NULL, nb, V, invt);
        for (int j = 0; j < nb; j++) {
            const float *x = logits + ((size_t)n0 + j) * V;
            float *o = lp + ((size_t)n0 + j) * V;
            for (int v = 0; v < V; v++)
                o[v] = x[v] * invt - zb[j];
        }
    }
}

void rt_nn_log_softmax_ref(float *lp, const float *logits, int N, int V, float temperature)
{
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        double m = x[0];
        for (int v = 1; v < V; v++)
            m = x[v] > m ? x[v] : m;
        double s = 0;
        for (int v = 0; v < V; v++)
            s += rt_exp((x[v] - m) / temperature);
        for (int v = 0; v < V; v++)
            lp[(size_t)n * V + v] = (float)((x[v] - m) / temperature - rt_log(s));
    }
}

RT_ISA_FN_VOID(rt_nn_token_logprob,
               (float *out, const float *logits, const int *y, int N, int V, float temperature),
               (out, logits, y, N, V, temperature))
{
    float invt = 1.0f / temperature, zb[LB];
    for (int n0 = 0; n0 < N; n0 += LB) {
        int nb = N - n0 < LB ? N - n0 : LB;
        block_lognorm(zb, logits + (size_t)n0 * V, NULL, nb, V, invt);
        for (int j = 0; j < nb; j++)
            out[n0 + j] = logits[((size_t)n0 + j) * V + y[n0 + j]] * invt - zb[j];
    }
}

RT_ISA_FN(double, rt_nn_xent,
          (float *dlogits, const float *logits, const int *y, int N, int V, float weight),
          (dlogits, logits, y, N, V, weight))
{
    double loss = 0;
    float zb[LB];
    for (int n = 0; n < N; n++) {
        if (n % LB == 0)
            block_lognorm(zb, logits + (size_t)n * V, y + n, N - n < LB ? N - n : LB, V, 1.0f);
        if (y[n] < 0) continue;
        const float *x = logits + (size_t)n * V;
        float z = zb[n % LB];
        loss += (double)weight * (z - x[y[n]]);
        if (dlogits) {
            float *g = dlogits + (size_t)n * V;
            for (int v = 0; v < V; v++)
                g[v] += weight * rt_expf_vec(x[v] - z);
            g[y[n]] -= weight;
        }
    }
    return loss;
}

RT_ISA_FN(double, rt_nn_pg_lz,
          (float *dlogits, const float *logits, const float *lz, const int *y, const float *w,
           int N, int V),
          (dlogits, logits, lz, y, w, N, V))
{
    double loss = 0;
    float zb[LB];
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        if (!lz && n % LB == 0)
            block_lognorm(zb, x, NULL, N - n < LB ? N - n : LB, V, 1.0f);
        float z = lz ? lz[n] : zb[n % LB], wn = w[n];
        loss += (double)wn * (z - x[y[n]]);
        if (dlogits) {
            float *g = dlogits + (size_t)n * V;
            for (int v = 0; v < V; v++)
                g[v] += wn * rt_expf_vec(x[v] - z);
            g[y[n]] -= wn;
        }
    }
    return loss;
}

double rt_nn_pg(float *dlogits, const float *logits, const int *y, const float *w, int N, int V)
{
    return rt_nn_pg_lz(dlogits, logits, NULL, y, w, N, V);
}

RT_ISA_FN_VOID(rt_nn_kl_entropy,
               (float *kl, float *ent, const float *p_logits, const float *q_logits, int N, int V),
               (kl, ent, p_logits, q_logits, N, V))
{
    float zab[LB], zbb[LB];
    for (int n = 0; n < N; n++) {
        const float *a = p_logits + (size_t)n * V;
        if (n % LB == 0) {
            int nb = N - n < LB ? N - n : LB;
            block_lognorm(zab, a, NULL, nb, V, 1.0f);
            if (q_logits) block_lognorm(zbb, q_logits + (size_t)n * V, NULL, nb, V, 1.0f);
        }
        float za = zab[n % LB];
        float zb = q_logits ? zbb[n % LB] : 0.0f;
        float sk = 0.0f, se = 0.0f;
        for (int v = 0; v < V; v++) {
            float la = a[v] - za;
            float p = rt_expf_vec(la);
            if (q_logits) sk += p * (la - (q_logits[(size_t)n * V + v] - zb));
            se -= p * la;
        }
        if (kl) kl[n] = sk;
        if (ent) ent[n] = se;
    }
}

RT_ISA_FN_VOID(rt_nn_sample_lz,
               (int *y, float *lp, float *lz, const float *logits, int N, int V, float temperature,
                rt_rng *rngs),
               (y, lp, lz, logits, N, V, temperature, rngs))
{
    float e[256], mb[LB], sb[LB], Lb[LB];
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * V;
        float m = row_max(x, V);
        int pick = 0;
        while (pick < V - 1 && x[pick] != m)
            pick++; /* greedy: the first maximum */
        float s1 = 0.0f;
        if (temperature > 0.0f) {
            /* inverse CDF: the first v whose running sum exceeds u * total */
            float invt = 1.0f / temperature;
            float s = row_expsum(V <= 256 ? e : NULL, x, V, m, invt);
            float u = rt_rng_uniform(&rngs[n]) * s, c = 0.0f;
            for (int v = 0; v < V; v++) {
                float t = V <= 256 ? e[v] : rt_expf_vec((x[v] - m) * invt);
                c += t;
                if (t > 0.0f) pick = v; /* rounding fallback: the last possible token */
                if (u < c) break;
            }
            if (temperature == 1.0f) s1 = s;
        }
        y[n] = pick;
        if (lp || lz) {
            /* s1 >= 1 (the maximum's term is exp(0)); z = m + log s1 is block_lognorm's
             * at temperature 1.  The logs of a block of rows are taken together. */
            if (s1 == 0.0f) s1 = row_expsum(NULL, x, V, m, 1.0f);
            mb[n % LB] = m, sb[n % LB] = s1;
            if (n % LB == LB - 1 || n == N - 1) {
                int n0 = n - n % LB, nb = n - n0 + 1;
                rt_logf_n(Lb, sb, (size_t)nb, rt_nn_isa());
                for (int j = 0; j < nb; j++) {
                    if (lp) lp[n0 + j] = logits[((size_t)n0 + j) * V + y[n0 + j]] - mb[j] - Lb[j];
                    if (lz) lz[n0 + j] = mb[j] + Lb[j];
                }
            }
        }
    }
}

void rt_nn_sample(int *y, float *lp, const float *logits, int N, int V, float temperature,
                  rt_rng *rngs)
{
    rt_nn_sample_lz(y, lp, NULL, logits, N, V, temperature, rngs);
}
