/* rt_nn: layers of the runtime's small models, llm.c style, over raw float buffers.
 *
 * Every layer is a forward/backward pair; the comment on each gives every buffer's
 * shape (row-major).  Backward functions ACCUMULATE (+=) into their gradient
 * outputs, so callers zero gradients once per step.  Each fast path has a naive
 * reference (`_ref`) kept beside it for the tests; fast and reference agree to float
 * rounding (and exactly where the summation order is the same).
 *
 * Numerics: every matrix product goes through the runtime's own GEMM (rt_nn_gemm), in
 * which each output element is ONE chain of fused multiply-adds over k in increasing
 * order, so products have the same bits on every ISA path (AVX-512, AVX2+FMA, portable
 * C with fmaf, aarch64), every thread count and every blocking; `%numerics openblas`
 * (rt_nn_set_numerics) routes rt_nn_sgemm to OpenBLAS instead, for users who want the
 * vendor BLAS, and is not portable.  Every other loop here is fixed-order; elementwise
 * functions use no libm transcendental (the exponential is our own polynomial,
 * rt_nn_expf).  Build: -ffp-contract=off, no fast-math.  Denormals are not flushed on
 * any path (IEEE gradual underflow everywhere).
 *
 * Row sums over the vocabulary use 16 fixed lanes added pairwise (a fixed order on
 * every machine and every SIMD width).  The transformer's pairs (LayerNorm, causal
 * attention: rt_nn_attn.c) reduce with plain left-to-right loops into double
 * accumulators.  Nothing here allocates.  Leaves out: convolutions, dropout, attention
 * masks other than causal. */
#ifndef RT_NN_H
#define RT_NN_H

#include <stddef.h>

#include "rt_rng.h"

/* ---- matrix products ---------------------------------------------------------- */

/* C (M, N) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is (M, Kd), op(B) is
 * (Kd, N); ta/tb non-zero = transposed storage (A stored (Kd, M), B stored (N, Kd)).
 * The runtime's GEMM: element (i, j) is the chain c = fma(a_ik, b_kj, c) for k = 0..Kd-1
 * from c = 0 (beta = 0; C is not read), C (beta = 1) or beta * C (rounded once); with
 * alpha != 1 each term is fma(alpha * a_ik, b_kj, c) (a slow path: the runtime passes
 * alpha = 1).  Threads (rt_nn_set_gemm_threads) split rows or columns of C, never k. */
void rt_nn_gemm(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);
/* The runtime's matrix product entry point: rt_nn_gemm, or OpenBLAS's cblas_sgemm under
 * RT_NN_NUMERICS_OPENBLAS. */
void rt_nn_sgemm(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc);
/* Double-precision reference (tests): |ref - exact| is far below float rounding. */
void rt_nn_sgemm_ref(int ta, int tb, int M, int N, int Kd, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc);
/* The same GEMM with a bias, single-threaded (callers split rows or columns):
 * C (M, N) = init + op(A) (M, Kd) @ B (Kd, N), row-major, B stored (Kd, N) with row
 * stride ldb; op(A) = A stored (M, Kd) (ta = 0) or A^T with A stored (Kd, M) (ta = 1),
 * row stride lda; init = bias (N) on every row if bias != NULL, else C itself if acc,
 * else 0.  One chain per element as above, so consecutive k-blocks accumulated into C
 * (acc = 1) give the bits of the whole product.  C must not overlap A, B, bias. */
void rt_nn_mm(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb,
              const float *bias, int acc, int M, int N, int Kd);
void rt_nn_mm_ref(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb,
                  const float *bias, int acc, int M, int N, int Kd);

/* The SIMD path (RT_NN_MM_*) of the runtime's products and row loops.  The process's
 * path is the CPU's best, or the one named by the environment variable RLHF_ISA
 * (avx512 | avx2 | portable) read at first use; results are the same on every path. */
enum { RT_NN_MM_PORTABLE = 0, RT_NN_MM_AVX2 = 1, RT_NN_MM_AVX512 = 2 };
int rt_nn_isa(void);                 /* the path in use on the calling thread */
int rt_nn_isa_best(void);            /* the CPU's best path */
const char *rt_nn_isa_name(int isa); /* "portable", "avx2", "avx512" */
/* name -> *isa; -1 with a message in err (unknown name, or a path this CPU lacks). */
int rt_nn_isa_parse(const char *name, int *isa, char *err, size_t errlen);
/* Reads RLHF_ISA now; -1 with the message if it is invalid or names a path this CPU
 * lacks (the runtime then uses the best path; programs should refuse to start). */
int rt_nn_isa_check_env(char *err, size_t errlen);
/* Sets the process's path (every thread; e.g. tests running a whole training on each
 * path); -1 if the CPU lacks it. */
int rt_nn_set_isa(int isa);
/* isa >= 0 forces that path on this thread if the CPU has it (for tests), -2 returns to
 * the process's path, -1 only asks.  Returns the thread's path. */
int rt_nn_mm_isa(int isa);

/* The backend of rt_nn_sgemm, process-wide: EXACT (default, the runtime's GEMM) or
 * OPENBLAS (cblas_sgemm: results depend on the CPU, the OpenBLAS kernel and version). */
enum { RT_NN_NUMERICS_EXACT = 0, RT_NN_NUMERICS_OPENBLAS = 1 };
/* OPENBLAS loads libopenblas.so.0 on first use (never at start); 0, or -1 when it cannot
 * be loaded (the mode stays; rt_nn_blas_error says why). */
int rt_nn_set_numerics(int mode);
const char *rt_nn_blas_error(void);
int rt_nn_numerics(void);
const char *rt_nn_numerics_name(int mode); /* "exact", "openblas" */
/* Threads inside one rt_nn_sgemm call (process-wide; the runtime's GEMM splits rows or
 * columns of large products; OpenBLAS's pool under OPENBLAS numerics).  Default 1. */
void rt_nn_set_gemm_threads(int n);
int rt_nn_gemm_threads(void);
/* Benchmarks only: with profiling on, every rt_nn_gemm / rt_nn_mm call adds its wall
 * time and its 2 M N Kd FLOPs to process-wide counters (on/off also zeroes them). */
void rt_nn_gemm_profile(int on);
/* The runtime's product rate on this machine and path (flop/s of one thread), measured
 * once per process on first call (~10 ms: a few 192x256x256 products, the best kept).
 * For estimates only (e.g. how long a step will take); never affects results. */
double rt_nn_gemm_rate(void);
void rt_nn_gemm_profile_read(double *seconds, double *flops);

/* ---- threads ------------------------------------------------------------------ */

#define RT_NN_MAX_THREADS 16
/* Runs fn(arg, j, nth) for j = 0..nth-1, j = 0 on the calling thread, the others on
 * threads created for the call (regions are coarse: a whole generation, scoring pass
 * or backward), and returns when all are done.  If a thread cannot be created its
 * share runs on the caller: fn must split work by j alone, so results never depend on
 * scheduling.  nth is capped at RT_NN_MAX_THREADS. */
typedef void (*rt_nn_task)(void *arg, int j, int nth);
void rt_nn_parallel(int nth, rt_nn_task fn, void *arg);

/* ---- elementwise -------------------------------------------------------------- */

/* exp(x) for one float: rt_expf (rt_math.h: max error 0.99 ulp, subnormal results by
 * gradual underflow, 0 for x < -103.97 and -inf, +inf above ln(FLT_MAX) and for +inf,
 * NaN for NaN), the same bits as every row loop here, so NaN/inf logits give NaN/inf/0
 * terms, never undefined behaviour. */
float rt_nn_expf(float x);

enum { RT_NN_ACT_RELU = 0, RT_NN_ACT_GELU = 1 };

/* out (n) = act(inp (n)); out may alias inp for ReLU, not for GELU (backward needs inp). */
void rt_nn_act_forward(int act, float *out, const float *inp, size_t n);
/* dinp (n) += dout (n) * act'(inp); inp = pre-activation, out = post-activation. */
void rt_nn_act_backward(int act, float *dinp, const float *dout, const float *inp, const float *out,
                        size_t n);

/* d (n) := d * act'(inp), in place (not accumulating; for callers that own d). */
void rt_nn_act_grad(int act, float *d, const float *inp, const float *out, size_t n);

/* ---- linear ------------------------------------------------------------------- */

/* out (N, Dout) = inp (N, Din) @ W^T + b;  W is (Dout, Din), b (Dout) or NULL. */
void rt_nn_linear_forward(float *out, const float *inp, const float *W, const float *b, int N,
                          int Din, int Dout);
void rt_nn_linear_forward_ref(float *out, const float *inp, const float *W, const float *b, int N,
                              int Din, int Dout);
/* dinp (N, Din) += dout @ W;  dW (Dout, Din) += dout^T @ inp;  db (Dout) += sum_n dout.
 * dout (N, Dout), inp (N, Din).  dinp / db may be NULL. */
void rt_nn_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                           const float *W, int N, int Din, int Dout);
void rt_nn_linear_backward_ref(float *dinp, float *dW, float *db, const float *dout,
                               const float *inp, const float *W, int N, int Din, int Dout);

/* ---- embedding + concat, plain and as per-position tables --------------------- */

/* x (N, K*D) = concat_i E[ctx[n*K + i]];  E (V, D), ctx (N, K) token ids in [0, V). */
void rt_nn_embed_forward(float *x, const int *ctx, const float *E, int N, int K, int D);
/* dE (V, D) += scatter of dx (N, K*D) by ctx (N, K). */
void rt_nn_embed_backward(float *dE, const float *dx, const int *ctx, int N, int K, int D);

/* Fused first layer.  Linear(concat_i E[c_i]) = b + sum_i U[i*V + c_i] exactly, with
 * U (K*V, H) the per-position tables U_i = E @ W1_i^T, W1_i = W1[:, i*D:(i+1)*D].
 * E (V, D), W1 (H, K*D). */
void rt_nn_table_build(float *U, const float *E, const float *W1, int V, int K, int D, int H);
void rt_nn_table_build_ref(float *U, const float *E, const float *W1, int V, int K, int D, int H);
/* out (N, H) = b (H) + sum_i U[i*V + ctx[n*K+i]], summed in order i = 0..K-1. */
void rt_nn_table_forward(float *out, const int *ctx, const float *U, const float *b, int N, int K,
                         int V, int H);
void rt_nn_table_forward_ref(float *out, const int *ctx, const float *U, const float *b, int N,
                             int K, int V, int H);
/* out (N, H) = ReLU(b + sum_i U[i*V + ctx[n*K+i]]) (layer 1 and its activation, fused). */
void rt_nn_table_forward_relu(float *out, const int *ctx, const float *U, const float *b, int N,
                              int K, int V, int H);
/* dU (K*V, H) += scatter of dout (N, H) into rows i*V + ctx[n*K+i];  db (H) += sum_n dout
 * (db may be NULL). */
void rt_nn_table_backward(float *dU, float *db, const float *dout, const int *ctx, int N, int K,
                          int V, int H);
/* The same restricted to columns [h0, h1) of dU, db and dout (threads split columns:
 * every element is summed in the same order whatever the split). */
void rt_nn_table_backward_cols(float *dU, float *db, const float *dout, const int *ctx, int N,
                               int K, int V, int H, int h0, int h1);
/* The same with the ReLU backward fused in: the gradient is dout * (act > 0), act the
 * layer's ReLU output (N, H); act NULL = no mask. */
void rt_nn_table_backward_relu_cols(float *dU, float *db, const float *dout, const float *act,
                                    const int *ctx, int N, int K, int V, int H, int h0, int h1);
/* Chain rule through U_i = E W1_i^T:  dW1_i (H, D) += dU_i^T @ E;  dE (V, D) += dU_i @ W1_i.
 * dU (K*V, H), E (V, D), W1 (H, K*D), dW1 (H, K*D). */
void rt_nn_table_grad(float *dE, float *dW1, const float *dU, const float *E, const float *W1,
                      int V, int K, int D, int H);

/* ---- transformer layers (rt_nn_attn.c) ---------------------------------------- */

#define RT_NN_LN_EPS 1e-5f
#define RT_NN_ATTN_MAX_HS 512   /* head size C / NH at most */
#define RT_NN_ATTN_MAX_CTX 1024 /* keys (positions of a sequence) at most */

/* LayerNorm over rows: out (N, C) = (inp - mean) * rstd * w (C) + b (C), with mean and
 * rstd = 1 / sqrt(var + 1e-5) (biased variance) of each row into mean, rstd (N): sums
 * left to right in double, mean and rstd then rounded to float, the normalized value
 * (x - mean) * rstd in float (backward recomputes it bit for bit). */
void rt_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                             const float *b, int N, int C);
/* dinp (N, C) += rstd (g - mean(g) - nrm mean(g nrm)), g = w dout;  dw (C) += nrm dout;
 * db (C) += dout (rows in order; dw and db both NULL: dinp only).  inp, mean, rstd those
 * of the forward. */
void rt_nn_layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                              const float *inp, const float *w, const float *mean,
                              const float *rstd, int N, int C);
/* Causal multi-head self-attention of ONE sequence, rows [r0, r1) (the KV cache's
 * extend computes row r1 - 1 alone, a full pass rows [0, n): the same bits per row).
 * qkv (r1, 3C) = [q | k | v] per row (head h at columns h*C/NH of each part, as
 * torch's view(n, 3, NH, hs)); att (r1, NH, stride) receives row i's probabilities
 * p_j, j = 0..i; out (r1, C) row i = concat_h sum_j p_j v_j.  Scores q.k / sqrt(hs) and
 * att.v summed in double over c and j in increasing order, softmax with rt_expf and a
 * double normalizer.  C / NH <= RT_NN_ATTN_MAX_HS, stride >= r1. */
void rt_nn_attention_forward(float *out, float *att, const float *qkv, int r0, int r1, int C,
                             int NH, int stride);
/* dqkv (n, 3C) += the gradient through rows 0..n-1 of one sequence, given dout (n, C)
 * and the forward's qkv, att.  n <= RT_NN_ATTN_MAX_CTX. */
void rt_nn_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                              int n, int C, int NH, int stride);

/* ---- softmax, losses, sampling (rows of V logits) ------------------------------ */

/* lp (N, V) = log_softmax(logits (N, V) / temperature); lp may alias logits. */
void rt_nn_log_softmax(float *lp, const float *logits, int N, int V, float temperature);
void rt_nn_log_softmax_ref(float *lp, const float *logits, int N, int V, float temperature);
/* out (N) = log_softmax(logits / temperature)[n, y[n]]. */
void rt_nn_token_logprob(float *out, const float *logits, const int *y, int N, int V,
                         float temperature);
/* Cross-entropy: returns sum_n w_n * (-log p(y_n)) over rows with y[n] >= 0 (y < 0 =
 * ignored), w_n = weight (scalar); if dlogits != NULL, dlogits (N, V) += w * (p - onehot)
 * (rows with y < 0 untouched).  The mean loss is weight = 1 / count. */
double rt_nn_xent(float *dlogits, const float *logits, const int *y, int N, int V, float weight);

/* Weighted log-likelihood (policy gradient): returns sum_n w[n] * (-log p(y_n)) and, if
 * dlogits != NULL, dlogits (N, V) += w[n] * (p_n - onehot(y_n)); p at temperature 1.
 * -mean_n(A_n log p(y_n)) is w[n] = A_n / N.  All y in [0, V). */
double rt_nn_pg(float *dlogits, const float *logits, const int *y, const float *w, int N, int V);
/* The same with each row's log-normalizer z[n] = log sum_v exp(logits[n][v]) given (as
 * rt_nn_sample's lz: the same bits as rt_nn_pg computes), so it is not computed twice. */
double rt_nn_pg_lz(float *dlogits, const float *logits, const float *lz, const int *y,
                   const float *w, int N, int V);

/* Per-row statistics from full softmaxes at temperature 1: kl (N) = KL(p || q) where
 * p = softmax(lp_logits), q = softmax(lq_logits) (each (N, V)); either output may be
 * NULL; ent (N) = entropy of p.  Returns nothing; rows independent. */
void rt_nn_kl_entropy(float *kl, float *ent, const float *p_logits, const float *q_logits, int N,
                      int V);

/* Draw y[n] ~ softmax(logits[n] / temperature) by inverse CDF with one uniform from
 * rngs[n] (row n's own stream, advanced by one draw); temperature <= 0 = greedy
 * (argmax, lowest index on ties, no draw).  If lp != NULL, lp[n] = log p(y[n]) at
 * temperature 1 (the policy's own log-prob, whatever the sampling temperature). */
void rt_nn_sample(int *y, float *lp, const float *logits, int N, int V, float temperature,
                  rt_rng *rngs);
/* The same, and if lz != NULL also lz[n] = the row's log-normalizer at temperature 1
 * (max + log sum exp(x - max): the z of rt_nn_pg, bit for bit). */
void rt_nn_sample_lz(int *y, float *lp, float *lz, const float *logits, int N, int V,
                     float temperature, rt_rng *rngs);

#endif
