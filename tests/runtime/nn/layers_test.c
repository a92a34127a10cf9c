/* layers_test.c: rt_nn layers.  Every fast path against its naive reference, every
 * backward against central finite differences of a double-precision forward (sampled
 * coordinates), the fused first layer against embedding + Linear, and sampling
 * frequencies against the softmax (chi-square). */
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

static float *rnd(size_t n, uint64_t seed, float scale)
{
    float *a = malloc(n * sizeof(float));
    rt_rng r = rt_rng_make(seed);
    for (size_t i = 0; i < n; i++)
        a[i] = scale * rt_rng_normal(&r);
    return a;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1e-3 + fabs((double)b[i]));
        if (d > m) m = d;
    }
    return m;
}

/* |c - ref| within the error bound of a dot product: (Kd + 3) u (|beta c0| + sum_k |a b|),
 * the bound of any summation order (the runtime's chain or a vendor BLAS kernel) */
static void sgemm_matches_reference(void **state)
{
    (void)state;
    int M = 37, N = 29, K = 53;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *A = rnd((size_t)M * K, 1, 1), *B = rnd((size_t)K * N, 2, 1);
            float *C1 = rnd((size_t)M * N, 3, 1), *C2 = malloc(sizeof(float) * M * N);
            memcpy(C2, C1, sizeof(float) * M * N);
            float *C0 = malloc(sizeof(float) * M * N);
            memcpy(C0, C1, sizeof(float) * M * N);
            int lda = ta ? M : K, ldb = tb ? K : N;
            rt_nn_sgemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, N);
            rt_nn_sgemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, N);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double mag = fabs(0.3 * C0[i * N + j]);
                    for (int k = 0; k < K; k++)
                        mag += fabs(0.7 * (ta ? A[k * lda + i] : A[i * lda + k]) *
                                    (tb ? B[j * ldb + k] : B[k * ldb + j]));
                    assert_true(fabs((double)C1[i * N + j] - C2[i * N + j]) <=
                                (K + 3) * 0x1p-24 * mag * 1.01);
                }
            free(A), free(B), free(C1), free(C2), free(C0);
        }
}

static void linear_fast_matches_reference(void **state)
{
    (void)state;
    int N = 19, Din = 23, Dout = 17;
    float *x = rnd((size_t)N * Din, 4, 1), *W = rnd((size_t)Dout * Din, 5, 0.3f),
          *b = rnd(Dout, 6, 1), *dy = rnd((size_t)N * Dout, 7, 1);
    float y1[19 * 17], y2[19 * 17];
    rt_nn_linear_forward(y1, x, W, b, N, Din, Dout);
    rt_nn_linear_forward_ref(y2, x, W, b, N, Din, Dout);
    assert_true(max_rel(y1, y2, sizeof y1 / 4) < 1e-4);
    float dx1[19 * 23], dx2[19 * 23], dW1[17 * 23], dW2[17 * 23], db1[17], db2[17];
    /* accumulate onto the same non-zero start */
    for (size_t i = 0; i < sizeof dx1 / 4; i++)
        dx1[i] = dx2[i] = 0.5f;
    for (size_t i = 0; i < sizeof dW1 / 4; i++)
        dW1[i] = dW2[i] = -0.25f;
    for (int i = 0; i < 17; i++)
        db1[i] = db2[i] = 1.0f;
    rt_nn_linear_backward(dx1, dW1, db1, dy, x, W, N, Din, Dout);
    rt_nn_linear_backward_ref(dx2, dW2, db2, dy, x, W, N, Din, Dout);
    assert_true(max_rel(dx1, dx2, sizeof dx1 / 4) < 1e-4);
    assert_true(max_rel(dW1, dW2, sizeof dW1 / 4) < 1e-4);
    assert_true(max_rel(db1, db2, 17) < 1e-5);
    free(x), free(W), free(b), free(dy);
}

/* ---- finite differences ------------------------------------------------------- */

/* L = sum_j w_j * linear(x)_j in double */
static double lin_loss(const double *x, const double *W, const double *b, const float *w, int N,
                       int Din, int Dout)
{
    double L = 0;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < Dout; o++) {
            double s = b[o];
            for (int i = 0; i < Din; i++)
                s += x[n * Din + i] * W[o * Din + i];
            L += w[n * Dout + o] * s;
        }
    return L;
}

static double *to_d(const float *a, size_t n)
{
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

/* central difference of f along coordinate c of p */
#define FD(p, c, expr)                                                                             \
    ({                                                                                             \
        double _s = (p)[c], _h = 1e-6;                                                             \
        (p)[c] = _s + _h;                                                                          \
        double _a = (expr);                                                                        \
        (p)[c] = _s - _h;                                                                          \
        double _b = (expr);                                                                        \
        (p)[c] = _s;                                                                               \
        (_a - _b) / (2 * _h);                                                                      \
    })

static void check_close(double analytic, double numeric)
{
    double tol = 2e-3 * (1 + fabs(numeric));
    if (fabs(analytic - numeric) > tol)
        fail_msg("analytic %.7g vs numeric %.7g", analytic, numeric);
}

static void linear_gradcheck(void **state)
{
    (void)state;
    int N = 5, Din = 7, Dout = 6;
    float *x = rnd(N * Din, 8, 1), *W = rnd(Dout * Din, 9, 0.5f), *b = rnd(Dout, 10, 1),
          *w = rnd(N * Dout, 11, 1);
    float dx[35] = {0}, dW[42] = {0}, db[6] = {0};
    rt_nn_linear_backward(dx, dW, db, w, x, W, N, Din, Dout);
    double *xd = to_d(x, N * Din), *Wd = to_d(W, Dout * Din), *bd = to_d(b, Dout);
    rt_rng r = rt_rng_make(12);
    for (int k = 0; k < 10; k++) {
        int i = rt_rng_below(&r, N * Din), j = rt_rng_below(&r, Dout * Din),
            o = rt_rng_below(&r, Dout);
        check_close(dx[i], FD(xd, i, lin_loss(xd, Wd, bd, w, N, Din, Dout)));
        check_close(dW[j], FD(Wd, j, lin_loss(xd, Wd, bd, w, N, Din, Dout)));
        check_close(db[o], FD(bd, o, lin_loss(xd, Wd, bd, w, N, Din, Dout)));
    }
    free(x), free(W), free(b), free(w), free(xd), free(Wd), free(bd);
}

static double act_d(int act, double x)
{
    if (act == RT_NN_ACT_RELU) return x > 0 ? x : 0;
    return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

static void activation_gradcheck(void **state)
{
    (void)state;
    for (int act = 0; act < 2; act++) {
        int n = 64;
        float *x = rnd(n, 13 + act, 2), *w = rnd(n, 15, 1), y[64], g[64];
        for (int i = 0; i < n; i++) { /* keep away from ReLU's kink */
            if (fabsf(x[i]) < 1e-3f) x[i] = 0.5f;
            g[i] = 0.25f; /* accumulates */
        }
        rt_nn_act_forward(act, y, x, n);
        rt_nn_act_backward(act, g, w, x, y, n);
        for (int i = 0; i < n; i++) {
            assert_true(fabs(y[i] - act_d(act, x[i])) < 1e-5 * (1 + fabs(y[i])));
            double xd = x[i];
            double num = w[i] * FD(&xd, 0, act_d(act, xd));
            check_close(g[i] - 0.25f, num);
        }
        free(x), free(w);
    }
}

/* fused layer 1: loss = sum w * (b + sum_i U_i[c_i]) in double from E, W1, b */
static double l1_loss(const double *E, const double *W1, const double *b, const int *ctx,
                      const float *w, int N, int K, int D, int H)
{
    double L = 0;
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            double s = b[h];
            for (int i = 0; i < K; i++)
                for (int d = 0; d < D; d++)
                    s += E[ctx[n * K + i] * D + d] * W1[h * K * D + i * D + d];
            L += w[n * H + h] * s;
        }
    return L;
}

static void fused_layer1(void **state)
{
    (void)state;
    enum { V = 11, K = 4, D = 5, H = 9, N = 13 };
    float *E = rnd(V * D, 20, 1), *W1 = rnd(H * K * D, 21, 0.3f), *b = rnd(H, 22, 1),
          *w = rnd(N * H, 23, 1);
    int ctx[N * K];
    rt_rng r = rt_rng_make(24);
    for (int i = 0; i < N * K; i++)
        ctx[i] = rt_rng_below(&r, V);
    ctx[0] = ctx[1] = 0; /* left padding */
    float U1[K * V * H], U2[K * V * H], o1[N * H], o2[N * H], o3[N * H], x[N * K * D];
    rt_nn_table_build(U1, E, W1, V, K, D, H);
    rt_nn_table_build_ref(U2, E, W1, V, K, D, H);
    assert_true(max_rel(U1, U2, sizeof U1 / 4) < 1e-4);
    rt_nn_table_forward(o1, ctx, U1, b, N, K, V, H);
    rt_nn_table_forward_ref(o2, ctx, U1, b, N, K, V, H);
    assert_memory_equal(o1, o2, sizeof o1); /* same summation order: exact */
    /* the rewrite equals embedding + concat + Linear */
    rt_nn_embed_forward(x, ctx, E, N, K, D);
    rt_nn_linear_forward(o3, x, W1, b, N, K * D, H);
    assert_true(max_rel(o1, o3, sizeof o1 / 4) < 1e-4);
    /* backward: table path vs embedding + Linear path vs finite differences */
    float dU[K * V * H] = {0}, dE1[V * D] = {0}, dW1a[H * K * D] = {0}, db1[H] = {0};
    rt_nn_table_backward(dU, db1, w, ctx, N, K, V, H);
    rt_nn_table_grad(dE1, dW1a, dU, E, W1, V, K, D, H);
    float dx[N * K * D] = {0}, dE2[V * D] = {0}, dW1b[H * K * D] = {0}, db2[H] = {0};
    rt_nn_linear_backward(dx, dW1b, db2, w, x, W1, N, K * D, H);
    rt_nn_embed_backward(dE2, dx, ctx, N, K, D);
    assert_true(max_rel(dE1, dE2, V * D) < 1e-3);
    assert_true(max_rel(dW1a, dW1b, H * K * D) < 1e-3);
    assert_true(max_rel(db1, db2, H) < 1e-5);
    double *Ed = to_d(E, V * D), *Wd = to_d(W1, H * K * D), *bd = to_d(b, H);
    for (int k = 0; k < 12; k++) {
        int e = rt_rng_below(&r, V * D), j = rt_rng_below(&r, H * K * D), h = rt_rng_below(&r, H);
        check_close(dE1[e], FD(Ed, e, l1_loss(Ed, Wd, bd, ctx, w, N, K, D, H)));
        check_close(dW1a[j], FD(Wd, j, l1_loss(Ed, Wd, bd, ctx, w, N, K, D, H)));
        check_close(db1[h], FD(bd, h, l1_loss(Ed, Wd, bd, ctx, w, N, K, D, H)));
    }
    free(E), free(W1), free(b), free(w), free(Ed), free(Wd), free(bd);
}

static double ce_d(const double *x, int V, int y)
{
    double m = x[0], s = 0;
    for (int v = 1; v < V; v++)
        m = x[v] > m ? x[v] : m;
    for (int v = 0; v < V; v++)
        s += exp(x[v] - m);
    return -(x[y] - m - log(s));
}

static void softmax_and_losses(void **state)
{
    (void)state;
    enum { N = 9, V = 32 };
    float *lg = rnd(N * V, 30, 3), lp1[N * V], lp2[N * V];
    lg[5] = 80.0f, lg[6] = -80.0f; /* extreme logits stay finite */
    for (int t = 0; t < 3; t++) {
        float temp = t == 0 ? 1.0f : (t == 1 ? 0.5f : 2.0f);
        rt_nn_log_softmax(lp1, lg, N, V, temp);
        rt_nn_log_softmax_ref(lp2, lg, N, V, temp);
        for (int i = 0; i < N * V; i++)
            assert_true(fabsf(lp1[i] - lp2[i]) < 2e-5f * (1 + fabsf(lp2[i])));
    }
    int y[N];
    for (int n = 0; n < N; n++)
        y[n] = (n * 7) % V;
    float tl[N];
    rt_nn_token_logprob(tl, lg, y, N, V, 1.0f);
    rt_nn_log_softmax_ref(lp2, lg, N, V, 1.0f);
    for (int n = 0; n < N; n++)
        assert_true(fabsf(tl[n] - lp2[n * V + y[n]]) < 2e-5f * (1 + fabsf(tl[n])));
    /* cross-entropy and weighted (policy-gradient) loss: value and gradient vs FD */
    float w[N], dl[N * V] = {0}, dl2[N * V] = {0};
    rt_rng r = rt_rng_make(31);
    for (int n = 0; n < N; n++)
        w[n] = rt_rng_normal(&r);
    double L = rt_nn_pg(dl, lg, y, w, N, V);
    int ym[N];
    memcpy(ym, y, sizeof y);
    ym[2] = -1; /* masked row */
    double Lx = rt_nn_xent(dl2, lg, ym, N, V, 0.125f);
    double *xd = to_d(lg, N * V), Lref = 0, Lxref = 0;
    for (int n = 0; n < N; n++) {
        Lref += w[n] * ce_d(xd + n * V, V, y[n]);
        if (n != 2) Lxref += 0.125 * ce_d(xd + n * V, V, y[n]);
    }
    assert_true(fabs(L - Lref) < 1e-4 * (1 + fabs(Lref)));
    assert_true(fabs(Lx - Lxref) < 1e-4 * (1 + fabs(Lxref)));
    for (int v = 0; v < V; v++)
        assert_true(dl2[2 * V + v] == 0.0f);
    for (int k = 0; k < 20; k++) {
        int n = rt_rng_below(&r, N), v = rt_rng_below(&r, V), c = n * V + v;
        check_close(dl[c], FD(xd, c, w[n] * ce_d(xd + n * V, V, y[n])));
        if (n != 2) check_close(dl2[c], FD(xd, c, 0.125 * ce_d(xd + n * V, V, y[n])));
    }
    /* KL and entropy from full softmaxes */
    float kl[N], ent[N];
    rt_nn_kl_entropy(kl, ent, lg, lg + V, N - 1, V);
    for (int n = 0; n < N - 1; n++) {
        double k = 0, e = 0, lq[V], lpp[V];
        for (int v = 0; v < V; v++)
            lpp[v] = -ce_d(xd + n * V, V, v), lq[v] = -ce_d(xd + (n + 1) * V, V, v);
        for (int v = 0; v < V; v++)
            k += exp(lpp[v]) * (lpp[v] - lq[v]), e -= exp(lpp[v]) * lpp[v];
        assert_true(fabs(kl[n] - k) < 1e-4 * (1 + k));
        assert_true(fabs(ent[n] - e) < 1e-4 * (1 + e));
    }
    free(lg), free(xd);
}

static void expf_is_accurate(void **state)
{
    (void)state;
    double worst = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.01237f) {
        double rel = fabs(rt_nn_expf(x) - exp(x)) / exp(x);
        if (rel > worst) worst = rel;
    }
    assert_true(worst < 1.2e-7); /* rt_expf: <= 0.99 ulp, i.e. < 2^-23 relative */
    /* gradual underflow (no flush to zero): e^-100 = 3.7e-44 is subnormal; -110 -> 0 */
    assert_true(rt_nn_expf(-100.0f) > 0.0f && rt_nn_expf(-100.0f) < 0x1p-126f);
    assert_true(rt_nn_expf(-110.0f) == 0.0f);
    assert_true(rt_nn_expf(0.0f) == 1.0f);
}

/* chi-square of sampled frequencies vs softmax(logits / T); 7 dof, 99.9% quantile 24.3 */
static void sampling_matches_softmax(void **state)
{
    (void)state;
    enum { V = 8 };
    float lg[V] = {0.3f, -1.0f, 2.0f, 0.0f, -0.5f, 1.2f, -3.0f, 0.7f};
    float temps[3] = {1.0f, 0.5f, 2.0f};
    for (int t = 0; t < 3; t++) {
        double p[V], s = 0;
        for (int v = 0; v < V; v++)
            s += p[v] = exp(lg[v] / temps[t]);
        long cnt[V] = {0};
        rt_rng r = rt_rng_make(40 + t);
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            int y;
            float lp;
            rt_nn_sample(&y, &lp, lg, 1, V, temps[t], &r);
            assert_true(y >= 0 && y < V);
            cnt[y]++;
            float ref;
            rt_nn_token_logprob(&ref, lg, &y, 1, V, 1.0f); /* log-prob at temperature 1 */
            assert_true(fabsf(lp - ref) < 1e-5f);
        }
        double chi = 0;
        for (int v = 0; v < V; v++) {
            double e = n * p[v] / s;
            chi += (cnt[v] - e) * (cnt[v] - e) / e;
        }
        if (chi > 24.3) fail_msg("temperature %g: chi-square %g", temps[t], chi);
    }
    /* greedy: argmax, no draw */
    int y;
    rt_rng r = rt_rng_make(1), r0 = r;
    rt_nn_sample(&y, NULL, lg, 1, V, 0.0f, &r);
    assert_int_equal(y, 2);
    assert_true(r.ctr == r0.ctr);
}

/* rt_nn_sample_lz's lz is the log-normalizer rt_nn_pg computes itself, bit for bit, at
 * every sampling temperature and on every ISA path: rt_nn_pg_lz(lz) == rt_nn_pg. */
static void sample_lz_matches_pg(void **state)
{
    (void)state;
    enum { N = 37, V = 40 };
    float lg[N * V];
    rt_rng r = rt_rng_make(77);
    for (int i = 0; i < N * V; i++)
        lg[i] = 4.0f * rt_rng_normal(&r);
    float temps[4] = {1.0f, 0.7f, 2.0f, 0.0f};
    for (int isa = 0; isa <= rt_nn_isa_best(); isa++) {
        rt_nn_mm_isa(isa);
        for (int t = 0; t < 4; t++) {
            rt_rng rngs[N], rngs2[N];
            for (int n = 0; n < N; n++)
                rngs[n] = rngs2[n] = rt_rng_split(&r, (uint64_t)n);
            int y[N], y2[N];
            float lp[N], lp2[N], lz[N], w[N];
            rt_nn_sample_lz(y, lp, lz, lg, N, V, temps[t], rngs);
            rt_nn_sample(y2, lp2, lg, N, V, temps[t], rngs2); /* lz changes nothing */
            assert_memory_equal(y, y2, sizeof y);
            assert_memory_equal(lp, lp2, sizeof lp);
            for (int n = 0; n < N; n++)
                w[n] = 0.1f * (float)(n - 15);
            float d1[N * V] = {0}, d2[N * V] = {0};
            double l1 = rt_nn_pg(d1, lg, y, w, N, V), l2 = rt_nn_pg_lz(d2, lg, lz, y, w, N, V);
            assert_memory_equal(&l1, &l2, sizeof l1);
            assert_memory_equal(d1, d2, sizeof d1);
        }
    }
    rt_nn_mm_isa(-2);
}

/* The layer-1 scatter (rt_nn_table_backward_relu_cols) buckets rows by token; it must
 * add the same terms in the same order as row after row: bit-identical to this plain
 * loop, on every ISA path, for column slices with tails and chunk-crossing row counts. */
static void table_backward_same_bits(void **state)
{
    (void)state;
    enum { N = 300, K = 5, V = 11, H = 83 };
    static float dout[N * H], act[N * H], dU0[K * V * H], dU1[K * V * H], db0[H], db1[H];
    static int ctx[N * K];
    rt_rng r = rt_rng_make(91);
    for (int i = 0; i < N * H; i++) {
        dout[i] = rt_rng_normal(&r);
        act[i] = rt_rng_normal(&r);
    }
    for (int i = 0; i < N * K; i++)
        ctx[i] = (int)rt_rng_below(&r, V);
    const int slices[3][2] = {{0, H}, {16, 80}, {64, 83}};
    for (int isa = 0; isa <= rt_nn_isa_best(); isa++) {
        rt_nn_mm_isa(isa);
        for (int s = 0; s < 3; s++)
            for (int masked = 0; masked < 2; masked++) {
                int h0 = slices[s][0], h1 = slices[s][1];
                for (int i = 0; i < K * V * H; i++)
                    dU0[i] = dU1[i] = i % 7 == 0 ? -0.0f : 0.01f * (float)(i % 13);
                for (int h = 0; h < H; h++)
                    db0[h] = db1[h] = 0.5f;
                rt_nn_table_backward_relu_cols(dU1, db1, dout, masked ? act : NULL, ctx, N, K, V,
                                               H, h0, h1);
                for (int n = 0; n < N; n++)
                    for (int h = h0; h < h1; h++) {
                        float g = dout[n * H + h];
                        float m = masked ? (act[n * H + h] > 0.0f ? g : 0.0f) : g;
                        db0[h] += m;
                        for (int i = 0; i < K; i++)
                            dU0[(i * V + ctx[n * K + i]) * H + h] += m;
                    }
                assert_memory_equal(dU0, dU1, sizeof dU0);
                assert_memory_equal(db0, db1, sizeof db0);
            }
    }
    rt_nn_mm_isa(-2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_matches_reference),
        cmocka_unit_test(linear_fast_matches_reference),
        cmocka_unit_test(linear_gradcheck),
        cmocka_unit_test(activation_gradcheck),
        cmocka_unit_test(fused_layer1),
        cmocka_unit_test(softmax_and_losses),
        cmocka_unit_test(expf_is_accurate),
        cmocka_unit_test(sampling_matches_softmax),
        cmocka_unit_test(sample_lz_matches_pg),
        cmocka_unit_test(table_backward_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
