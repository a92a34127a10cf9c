/* policy_test.c: the `mlp` policy through the model interface.  Forward against a
 * double-precision reference, finite-difference gradient checks of the SFT loss and of a
 * policy-gradient loss, sampling (its logits against the reference), files (round trip
 * and each corruption; format 3's metadata), allocation-failure injection, and determinism (same steps twice;
 * 1 vs 2 BLAS threads; 1, 2, 4 workspace threads; batch partitioning). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx_model.h"
#include "rt_alloc.h"
#include "rt_policy.h"

/* ---- double-precision reference forward ------------------------------------------ */

static double act_d(int act, double x)
{
    if (act == RT_NN_ACT_RELU) return x > 0 ? x : 0;
    return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

/* logits (V) of one context from params given as doubles (same block layout) */
static void ref_forward(const rt_policy *p, const double *w, const int *ctx, double *logits)
{
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context, D = c->embed, H = c->hidden;
    const double *emb = w + (p->p.emb - p->params.w), *w1 = w + (p->p.w1 - p->params.w),
                 *b1 = w + (p->p.b1 - p->params.w);
    double h[64], h2[64];
    assert_true(H <= 64);
    for (int j = 0; j < H; j++) {
        double s = b1[j];
        for (int i = 0; i < K; i++)
            for (int d = 0; d < D; d++)
                s += emb[ctx[i] * D + d] * w1[j * K * D + i * D + d];
        h[j] = act_d(c->act, s);
    }
    for (int l = 0; l < c->layers - 1; l++) {
        const double *W = w + (p->p.wh[l] - p->params.w), *b = w + (p->p.bh[l] - p->params.w);
        for (int j = 0; j < H; j++) {
            double s = b[j];
            for (int k = 0; k < H; k++)
                s += W[j * H + k] * h[k];
            h2[j] = act_d(c->act, s);
        }
        memcpy(h, h2, sizeof h);
    }
    const double *wo = w + (p->p.wo - p->params.w), *bo = w + (p->p.bo - p->params.w);
    for (int v = 0; v < V; v++) {
        double s = bo[v];
        for (int k = 0; k < H; k++)
            s += wo[v * H + k] * h[k];
        logits[v] = s;
    }
}

/* sum_n coef[n] * (-log p(y_n | ctx_n)) */
static double ref_loss(const rt_policy *p, const double *w, const int *ctx, const int *y,
                       const double *coef, int n)
{
    int V = p->cfg.vocab, K = p->cfg.context;
    double L = 0, lg[64];
    for (int i = 0; i < n; i++) {
        ref_forward(p, w, ctx + i * K, lg);
        double m = lg[0], s = 0;
        for (int v = 1; v < V; v++)
            m = lg[v] > m ? lg[v] : m;
        for (int v = 0; v < V; v++)
            s += exp(lg[v] - m);
        L += coef[i] * -(lg[y[i]] - m - log(s));
    }
    return L;
}

static void random_states(int *ctx, int *y, int n, int K, int V, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < n * K; i++)
        ctx[i] = rt_rng_below(&r, V);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < i % K; k++)
            ctx[i * K + k] = RT_POLICY_PAD; /* left padding */
        y[i] = 1 + rt_rng_below(&r, V - 1);
    }
}

/* the states as a batch: sequence i = ctx i ++ y i (K + 1 tokens), position K; its
 * window is ctx i */
static rt_model_batch states_batch(int *seq, const int *ctx, const int *y, int n, int K)
{
    for (int i = 0; i < n; i++) {
        memcpy(seq + i * (K + 1), ctx + i * K, sizeof(int) * K);
        seq[i * (K + 1) + K] = y[i];
    }
    rt_model_batch b = {seq, n, K + 1, K, NULL, NULL};
    return b;
}

static void forward_matches_reference(void **state)
{
    (void)state;
    for (int cfgi = 0; cfgi < 2; cfgi++) {
        rt_policy *p = cfgi ? fx_mlp(13, 4, 6, 16, 3, RT_NN_ACT_GELU, 5)
                            : fx_mlp(11, 5, 4, 20, 1, RT_NN_ACT_RELU, 6);
        rt_model *m = &p->model;
        rt_model_ws *ws = fx_ws(m, 16);
        int ctx[16 * 5], y[16], seq[16 * 6], V = p->cfg.vocab, K = p->cfg.context;
        random_states(ctx, y, 16, K, V, 7);
        rt_model_batch b = states_batch(seq, ctx, y, 16, K);
        assert_int_equal(rt_model_forward(m, ws, &b), 0);
        double *w = malloc(p->params.n * sizeof(double)), lg[64];
        for (size_t i = 0; i < p->params.n; i++)
            w[i] = p->params.w[i];
        for (int i = 0; i < 16; i++) {
            ref_forward(p, w, ctx + i * K, lg);
            for (int v = 0; v < V; v++)
                assert_true(fabs(rt_model_ws_logits(ws)[i * V + v] - lg[v]) <
                            1e-4 * (1 + fabs(lg[v])));
        }
        /* rows: a forward of states 5..7 alone equals rows 5..7 of the full forward */
        float keep[3 * 13];
        memcpy(keep, rt_model_ws_logits(ws) + 5 * V, sizeof(float) * 3 * V);
        rt_model_batch b3 = {seq + 5 * (K + 1), 3, K + 1, K, NULL, NULL};
        assert_int_equal(rt_model_forward(m, ws, &b3), 0);
        assert_memory_equal(keep, rt_model_ws_logits(ws), sizeof(float) * 3 * V);
        rt_model_batch b2 = {seq, 16, K + 1, K - 1, NULL, NULL}; /* 32 rows */
        assert_int_equal(rt_model_forward(m, ws, &b2), RT_ECAP);
        rt_model_batch b1 = {seq, 1, K + 1, K, NULL, NULL};
        seq[0] = V; /* out-of-range token */
        assert_int_equal(rt_model_forward(m, ws, &b1), RT_EINVAL);
        /* a changed weight invalidates the cached table */
        seq[0] = 1;
        assert_int_equal(rt_model_forward(m, ws, &b1), 0);
        float before = rt_model_ws_logits(ws)[0];
        p->p.emb[1 * p->cfg.embed] += 1.0f;
        rt_policy_touch(p);
        assert_int_equal(rt_model_forward(m, ws, &b1), 0);
        assert_true(rt_model_ws_logits(ws)[0] != before);
        free(w);
        rt_model_ws_free(ws);
        rt_policy_free(p);
    }
}

/* gradient of sum_n coef_n * (-log p(y_n)) from the policy vs central differences */
static void gradcheck(rt_policy *p, int sft)
{
    enum { N = 12 };
    int V = p->cfg.vocab, K = p->cfg.context, ctx[N * 8], y[N], seq[N * 9];
    random_states(ctx, y, N, K, V, 50);
    rt_model *m = &p->model;
    rt_model_batch bt = states_batch(seq, ctx, y, N, K);
    double coef[N];
    float wf[N];
    rt_rng r = rt_rng_make(51);
    for (int i = 0; i < N; i++)
        coef[i] = sft ? 1.0 / N : (wf[i] = rt_rng_normal(&r) / N);
    rt_model_ws *ws = fx_ws(m, N);
    rt_model_zero_grad(m);
    if (sft) {
        float loss;
        assert_int_equal(rt_model_xent(m, ws, &bt, &loss), 0);
        double *w = malloc(p->params.n * sizeof(double));
        for (size_t i = 0; i < p->params.n; i++)
            w[i] = p->params.w[i];
        assert_true(fabs(loss - ref_loss(p, w, ctx, y, coef, N)) < 1e-4);
        free(w);
    } else { /* policy gradient: -mean(A_n log p(y_n)) with fixed advantages */
        assert_int_equal(rt_model_forward(m, ws, &bt), 0);
        float *dl = rt_model_ws_scratch(ws);
        memset(dl, 0, sizeof(float) * N * V);
        rt_nn_pg(dl, rt_model_ws_logits(ws), y, wf, N, V);
        assert_int_equal(rt_model_backward(m, ws, dl), 0);
    }
    double *w = malloc(p->params.n * sizeof(double));
    for (size_t i = 0; i < p->params.n; i++)
        w[i] = p->params.w[i];
    /* sampled coordinates: some from every tensor */
    for (int k = 0; k < 60; k++) {
        size_t i = rt_rng_below(&r, (uint32_t)p->params.n);
        if (k < 6)
            i = (p->p.emb - p->params.w) + rt_rng_below(&r, V * p->cfg.embed);
        else if (k < 12)
            i = (p->p.b1 - p->params.w) + rt_rng_below(&r, p->cfg.hidden);
        else if (k < 18)
            i = (p->p.bo - p->params.w) + rt_rng_below(&r, V);
        double s = w[i], h = 1e-5;
        w[i] = s + h;
        double a = ref_loss(p, w, ctx, y, coef, N);
        w[i] = s - h;
        double b = ref_loss(p, w, ctx, y, coef, N);
        w[i] = s;
        double num = (a - b) / (2 * h), an = p->params.g[i];
        if (fabs(an - num) > 1e-3 * (1 + fabs(num)) + 2e-4)
            fail_msg("param %zu: analytic %.7g numeric %.7g", i, an, num);
    }
    free(w);
    rt_model_ws_free(ws);
}

/* gradcheck on a fresh MLP of that shape */
static void gradcheck_of(int V, int K, int D, int H, int L, int act, uint64_t seed, int sft)
{
    rt_policy *p = fx_mlp(V, K, D, H, L, act, seed);
    gradcheck(p, sft);
    rt_policy_free(p);
}

static void sft_loss_gradcheck(void **state)
{
    (void)state;
    gradcheck_of(9, 3, 5, 12, 1, RT_NN_ACT_RELU, 60, 1);
    gradcheck_of(7, 4, 3, 10, 2, RT_NN_ACT_GELU, 61, 1);
}

static void pg_loss_gradcheck(void **state)
{
    (void)state;
    gradcheck_of(9, 3, 5, 12, 2, RT_NN_ACT_RELU, 62, 0);
    gradcheck_of(8, 2, 4, 8, 1, RT_NN_ACT_GELU, 63, 0);
}

static void adam_matches_formula(void **state)
{
    (void)state;
    rt_policy *p = fx_mlp(5, 2, 3, 4, 1, RT_NN_ACT_RELU, 70);
    float w0 = p->params.w[3];
    rt_adam_config a = rt_adam_defaults();
    for (size_t i = 0; i < p->params.n; i++)
        p->params.g[i] = 0.5f;
    float gn;
    rt_model_adam(&p->model, &a, &gn);
    assert_true(fabsf(gn - 0.5f * sqrtf((float)p->params.n)) < 1e-3f);
    /* first step moves every weight by lr * g / (|g| + eps) = lr */
    assert_true(fabsf(p->params.w[3] - (w0 - 1e-3f)) < 1e-6f);
    /* clipping: the norm reported is before clipping; the update direction is the same */
    a.clip_norm = 0.1f;
    rt_model_adam(&p->model, &a, &gn);
    assert_true(gn > 1.0f);
    rt_policy_free(p);
}

/* ---- sampling --------------------------------------------------------------------- */

static void generate_and_greedy(void **state)
{
    (void)state;
    rt_policy *p = fx_mlp(10, 3, 4, 16, 1, RT_NN_ACT_RELU, 80);
    rt_model *m = &p->model;
    enum { B = 6, P = 2, T = 5 };
    int prompts[B * P], tok[B * T], tok2[B * T];
    float lp[B * T], lp2[B * T];
    for (int i = 0; i < B * P; i++)
        prompts[i] = 1 + i % 9;
    rt_model_ws *ws = fx_ws(m, B * T), *ws4 = fx_ws(m, 4);
    rt_rng r = rt_rng_make(81);
    assert_int_equal(rt_model_generate(m, ws, prompts, B, P, T, 1.0f, &r, 0, tok, lp), 0);
    /* in two parts (4 + 2, seq0 = 0 and 4), with a small workspace: same tokens */
    assert_int_equal(rt_model_generate(m, ws4, prompts, 4, P, T, 1.0f, &r, 0, tok2, lp2), 0);
    assert_int_equal(
        rt_model_generate(m, ws4, prompts + 4 * P, 2, P, T, 1.0f, &r, 4, tok2 + 4 * T, lp2 + 4 * T),
        0);
    assert_memory_equal(tok, tok2, sizeof tok);
    for (int i = 0; i < B * T; i++)
        assert_true(fabsf(lp[i] - lp2[i]) < 1e-5f);
    /* the kept rows (B, T) are the logits of the samples' contexts (against the
     * double-precision reference) and give the log-probs */
    double *w = malloc(p->params.n * sizeof(double)), ref[64];
    for (size_t i = 0; i < p->params.n; i++)
        w[i] = p->params.w[i];
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            int seq[P + T], c[3];
            memcpy(seq, prompts + b * P, sizeof(int) * P);
            memcpy(seq + P, tok + b * T, sizeof(int) * T);
            fx_context(c, seq, P + t, 3);
            const float *lg = rt_model_ws_logits(ws) + (b * T + t) * 10;
            ref_forward(p, w, c, ref);
            for (int v = 0; v < 10; v++)
                assert_true(fabs(lg[v] - ref[v]) < 1e-4 * (1 + fabs(ref[v])));
            float l;
            rt_nn_token_logprob(&l, lg, &tok[b * T + t], 1, 10, 1.0f);
            assert_true(fabsf(l - lp[b * T + t]) < 1e-6f);
        }
    free(w);
    /* greedy = argmax of the logits at each step */
    assert_int_equal(rt_model_generate(m, ws, prompts, B, P, T, 0.0f, &r, 0, tok, NULL), 0);
    for (int i = 0; i < B * T; i++) {
        const float *lg = rt_model_ws_logits(ws) + i * 10;
        for (int v = 0; v < 10; v++)
            assert_true(lg[v] <= lg[tok[i]]);
    }
    rt_model_ws_free(ws);
    rt_model_ws_free(ws4);
    rt_policy_free(p);
}

/* ---- files -------------------------------------------------------------------------- */

static char path[256];

static void write_bytes(const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static int load_code(void)
{
    rt_policy *q = NULL;
    rt_diag d = {0};
    int rc = rt_policy_load(&q, path, &d);
    assert_int_equal(rc, d.code);
    assert_true(rc == 0 ? q != NULL : (q == NULL && d.msg[0]));
    rt_policy_free(q);
    return rc;
}

/* recomputes the FNV-1a checksum (bytes at, at + 8) of a policy file image */
static void reseal_at(unsigned char *b, size_t n, size_t at)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        if (i >= at && i < at + 8) continue;
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    memcpy(b + at, &h, 8);
}

/* format 1 (bytes 44..51 the checksum) */
static void reseal(unsigned char *b, size_t n)
{
    reseal_at(b, n, 44);
}

/* the format-1 image (what the code before the model interface saved) of policy p */
static size_t v1_image(const rt_policy *p, unsigned char *b)
{
    int32_t f[6] = {p->cfg.vocab,  p->cfg.context, p->cfg.embed,
                    p->cfg.hidden, p->cfg.layers,  p->cfg.act};
    uint32_t ver = 1;
    uint64_t bytes = p->params.n * sizeof(float);
    memcpy(b, "RLHFPOL\n", 8);
    memcpy(b + 8, &ver, 4);
    memcpy(b + 12, f, sizeof f);
    memcpy(b + 36, &bytes, 8);
    memcpy(b + 52, p->params.w, bytes);
    reseal(b, 52 + bytes);
    return 52 + bytes;
}

static void save_load(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/rt_policy_test_%d.bin", (int)getpid());
    rt_policy *p = fx_mlp(7, 3, 4, 6, 2, RT_NN_ACT_GELU, 90), *q;
    rt_diag d;
    assert_int_equal(rt_policy_save(p, path, &d), 0);
    assert_int_equal(rt_policy_load(&q, path, &d), 0);
    assert_true(rt_policy_same_shape(&p->cfg, &q->cfg));
    assert_memory_equal(p->params.w, q->params.w, p->params.n * sizeof(float));
    rt_policy_free(q);
    FILE *f = fopen(path, "rb");
    unsigned char v2[8192];
    size_t n2 = fread(v2, 1, sizeof v2, f);
    fclose(f);
    /* format 2: the architecture and its config as text, then size, checksum, weights */
    static const char text[] = "arch=mlp context=3 embed=4 hidden=6 layers=2 act=gelu\n";
    size_t tn = sizeof text - 1, hn = 20 + tn + 16;
    assert_int_equal(n2, hn + p->params.n * 4);
    assert_memory_equal(v2 + 20, text, tn);
    assert_memory_equal(v2 + hn, p->params.w, p->params.n * 4);
    /* format 1 (files saved before the model interface) still loads, same weights */
    unsigned char buf[8192], c[8192];
    size_t n = v1_image(p, buf);
    write_bytes(buf, n);
    assert_int_equal(rt_policy_load(&q, path, &d), 0);
    assert_true(rt_policy_same_shape(&p->cfg, &q->cfg));
    assert_memory_equal(p->params.w, q->params.w, p->params.n * sizeof(float));
    rt_policy_free(q);
    /* missing file */
    assert_int_equal(rt_policy_load(&q, "/nonexistent/x.bin", &d), RT_ENOENT);
    assert_string_equal(d.msg, "/nonexistent/x.bin: cannot open (No such file or directory)");
    assert_null(q);
    /* both formats: truncated at several lengths */
    size_t cuts[] = {0, 5, 11, 30, 51, 52, 100, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(buf, cuts[i]);
        assert_int_equal(load_code(), RT_ETRUNC);
    }
    size_t cuts2[] = {0, 5, 11, 19, 20, 40, hn - 1, hn, hn + 1, n2 - 1};
    for (size_t i = 0; i < sizeof cuts2 / sizeof cuts2[0]; i++) {
        write_bytes(v2, cuts2[i]);
        assert_int_equal(load_code(), RT_ETRUNC);
    }
    /* trailing bytes */
    memcpy(c, buf, n);
    c[n] = 0;
    write_bytes(c, n + 1);
    assert_int_equal(load_code(), RT_ESIZE);
    memcpy(c, v2, n2);
    c[n2] = 0;
    write_bytes(c, n2 + 1);
    assert_int_equal(load_code(), RT_ESIZE);
    /* wrong magic, wrong version, flipped bytes in the config and the payload */
    memcpy(c, buf, n), c[2] ^= 1, write_bytes(c, n);
    assert_int_equal(load_code(), RT_EMAGIC);
    memcpy(c, buf, n), c[8] = 4, write_bytes(c, n);
    rt_policy_load(&q, path, &d);
    assert_string_equal(strchr(d.msg, ' ') + 1, "format version 4, expected 1 to 3");
    assert_int_equal(d.code, RT_EVERSION);
    memcpy(c, buf, n), c[20] ^= 4, write_bytes(c, n);
    assert_int_equal(load_code(), RT_ECHECKSUM);
    memcpy(c, buf, n), c[n - 3] ^= 0x10, write_bytes(c, n);
    assert_int_equal(load_code(), RT_ECHECKSUM);
    memcpy(c, v2, n2), c[30] ^= 4, write_bytes(c, n2);
    assert_int_equal(load_code(), RT_ECHECKSUM);
    /* every single flipped byte anywhere is an error, never a crash or a success */
    for (size_t i = 0; i < n; i++) {
        memcpy(c, buf, n);
        c[i] ^= 0x41;
        write_bytes(c, n);
        assert_true(load_code() < 0);
    }
    for (size_t i = 0; i < n2; i++) {
        memcpy(c, v2, n2);
        c[i] ^= 0x41;
        write_bytes(c, n2);
        assert_true(load_code() < 0);
    }
    /* valid checksum but a header that lies: the architecture does not fit the payload
     * (hidden 6 -> 7), or is invalid (layers 0) */
    memcpy(c, buf, n);
    c[24] = 7;
    reseal(c, n);
    write_bytes(c, n);
    assert_int_equal(load_code(), RT_ESHAPE);
    memcpy(c, buf, n);
    c[28] = 0;
    reseal(c, n);
    write_bytes(c, n);
    rt_policy_load(&q, path, &d);
    assert_int_equal(d.code, RT_EINVAL);
    assert_string_equal(strchr(d.msg, ' ') + 1,
                        "invalid architecture: layers must be in 1..8 (got 0)");
    /* the same in format 2's text ("hidden=6" -> "hidden=7", "layers=2" -> "layers=0"), an
     * unknown architecture ("arch=mlp" -> "arch=mlq") and an unknown setting */
    struct {
        const char *from, *to;
        int code;
        const char *msg;
    } lies[] = {
        {"hidden=6", "hidden=7", RT_ESHAPE, NULL},
        {"layers=2", "layers=0", RT_EINVAL,
         "invalid architecture: mlp: layers must be in 1..8 (got '0')"},
        {"arch=mlp", "arch=mlq", RT_EINVAL, "unknown architecture 'mlq'"},
        {"embed=4", "embxd=4", RT_EINVAL,
         "invalid architecture: mlp: unknown setting 'embxd'"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(c, v2, n2);
        char *at = strstr((char *)c + 20, lies[i].from);
        assert_non_null(at);
        memcpy(at, lies[i].to, strlen(lies[i].to));
        reseal_at(c, n2, hn - 8);
        write_bytes(c, n2);
        assert_int_equal(load_code(), lies[i].code);
        if (lies[i].msg) {
            rt_policy_load(&q, path, &d);
            assert_string_equal(strchr(d.msg, ' ') + 1, lies[i].msg);
        }
    }
    /* not a policy file at all */
    write_bytes((const unsigned char *)"hello world, this is text\n", 26);
    assert_int_equal(load_code(), RT_EMAGIC);
    unlink(path);
    rt_policy_free(p);
}

/* format 3: the metadata text travels verbatim after the config line; every corruption
 * is refused; format 2 files give "" as metadata; a directory is named as such */
static void metadata_round_trip(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/rt_policy_test_meta_%d.bin", (int)getpid());
    rt_policy *p = fx_mlp(7, 3, 4, 6, 2, RT_NN_ACT_GELU, 91);
    rt_model *m = NULL;
    char *meta = NULL;
    rt_diag d = {0};
    static const char text[] = "task = ad\ntask.spec = add digits=2 noise=0 holdout=0.2\n"
                               "made = %%rl tuned\n";
    assert_int_equal(rt_model_save_meta(&p->model, text, path, &d), 0);
    assert_int_equal(rt_model_load_meta(&m, &meta, path, &d), 0);
    assert_string_equal(meta, text);
    assert_memory_equal(m->params->w, p->params.w, p->params.n * sizeof(float));
    rt_model_free(m);
    rt_free(meta);
    FILE *f = fopen(path, "rb");
    unsigned char v3[8192], c[8192];
    size_t n3 = fread(v3, 1, sizeof v3, f);
    fclose(f);
    static const char cfg[] = "arch=mlp context=3 embed=4 hidden=6 layers=2 act=gelu\n";
    size_t cn = sizeof cfg - 1, tn = cn + sizeof text - 1, hn = 20 + tn + 16;
    uint32_t ver, tlen;
    memcpy(&ver, v3 + 8, 4), memcpy(&tlen, v3 + 16, 4);
    assert_int_equal(ver, 3);
    assert_int_equal(tlen, tn);
    assert_memory_equal(v3 + 20, cfg, cn);
    assert_memory_equal(v3 + 20 + cn, text, sizeof text - 1);
    assert_int_equal(n3, hn + p->params.n * 4);
    /* rt_model_load ignores the metadata; a policy loads as before */
    assert_int_equal(load_code(), 0);
    /* no metadata: format 2, and "" back */
    assert_int_equal(rt_model_save_meta(&p->model, "", path, &d), 0);
    assert_int_equal(rt_model_load_meta(&m, &meta, path, &d), 0);
    assert_string_equal(meta, "");
    f = fopen(path, "rb");
    assert_int_equal(fread(c, 1, sizeof c, f), hn - (sizeof text - 1) + p->params.n * 4);
    fclose(f);
    memcpy(&ver, c + 8, 4);
    assert_int_equal(ver, 2);
    rt_model_free(m);
    rt_free(meta);
    /* every flipped byte of a format-3 file is an error */
    for (size_t i = 0; i < n3; i++) {
        memcpy(c, v3, n3);
        c[i] ^= 0x41;
        write_bytes(c, n3);
        assert_true(load_code() < 0);
    }
    /* resealed lies: a NUL inside the metadata, a config line without metadata */
    memcpy(c, v3, n3);
    c[20 + cn + 3] = 0;
    reseal_at(c, n3, hn - 8);
    write_bytes(c, n3);
    assert_int_equal(load_code(), RT_EINVAL);
    memcpy(c, v3, n3);
    c[20 + cn - 1] = ' '; /* the config line runs to the end of the text: no metadata */
    for (size_t i = 20 + cn; i < 20 + tn; i++)
        c[i] = ' ';
    reseal_at(c, n3, hn - 8);
    write_bytes(c, n3);
    assert_int_equal(load_code(), RT_EINVAL);
    /* too much metadata is refused before writing */
    char *big = malloc(RT_MODEL_MAX_META + 2);
    memset(big, 'x', RT_MODEL_MAX_META + 1);
    big[RT_MODEL_MAX_META + 1] = 0;
    assert_int_equal(rt_model_save_meta(&p->model, big, path, &d), RT_EINVAL);
    big[RT_MODEL_MAX_META] = 0; /* exactly the limit: fine */
    assert_int_equal(rt_model_save_meta(&p->model, big, path, &d), 0);
    assert_int_equal(rt_model_load_meta(&m, &meta, path, &d), 0);
    assert_int_equal(strlen(meta), RT_MODEL_MAX_META);
    rt_model_free(m);
    rt_free(meta);
    free(big);
    /* a directory */
    assert_int_equal(rt_model_load_meta(&m, &meta, "/tmp", &d), RT_EINVAL);
    assert_string_equal(d.msg, "/tmp: is a directory, not a policy file");
    assert_null(m);
    assert_null(meta);
    unlink(path);
    rt_policy_free(p);
}

/* ---- allocation failures ----------------------------------------------------------- */

static void allocation_failures(void **state)
{
    (void)state;
    rt_policy_config c = {9, 3, 4, 8, 2, RT_NN_ACT_RELU};
    snprintf(path, sizeof path, "/tmp/rt_policy_test_af_%d.bin", (int)getpid());
    rt_policy *src = fx_mlp(9, 3, 4, 8, 2, RT_NN_ACT_RELU, 95);
    assert_int_equal(rt_policy_save(src, path, NULL), 0);
    for (int which = 0; which < 4; which++) {
        int ok = 0;
        for (long n = 1; n < 50 && !ok; n++) {
            rt_policy *p = NULL;
            rt_model_ws *ws = NULL;
            rt_diag d = {0};
            rt_alloc_fail_at(n);
            int rc = which == 0   ? rt_policy_create(&p, &c, &d)
                     : which == 1 ? rt_model_ws_create(&ws, &src->model, 64, &d)
                     : which == 2 ? rt_policy_copy(&p, src, &d)
                                  : rt_policy_load(&p, path, &d);
            rt_alloc_fail_at(0);
            if (rc == 0) {
                ok = 1;
                assert_true(p != NULL || ws != NULL);
            } else {
                assert_int_equal(rc, RT_ENOMEM);
                assert_int_equal(d.code, RT_ENOMEM);
                assert_null(p);
                assert_null(ws);
            }
            rt_policy_free(p);
            rt_model_ws_free(ws);
        }
        assert_true(ok);
    }
    unlink(path);
    rt_policy_free(src);
    /* invalid configurations */
    rt_policy_config bad = c;
    bad.hidden = 0;
    rt_policy *p;
    rt_diag d;
    assert_int_equal(rt_policy_create(&p, &bad, &d), RT_EINVAL);
    assert_string_equal(d.msg, "hidden must be in 1..16384 (got 0)");
}

/* ---- determinism --------------------------------------------------------------------- */

/* a few policy-gradient steps on own samples; returns the final parameters */
static float *train_act(int blas, int threads, int layers, int act)
{
    rt_nn_set_gemm_threads(blas);
    rt_policy *p = fx_mlp(32, 8, 32, 256, layers, act, 100);
    rt_model *m = &p->model;
    enum { B = 200, P = 8, T = 4 };
    rt_model_ws *ws = fx_ws(m, B * T);
    rt_model_ws_set_threads(ws, threads);
    int prompts[B * P], tok[B * T];
    float lp[B * T], w[B * T];
    rt_rng run = rt_rng_from_name(1, "det");
    rt_adam_config a = rt_adam_defaults();
    a.clip_norm = 1.0f;
    for (int step = 0; step < 3; step++) {
        rt_rng sr = rt_rng_split(&run, (uint64_t)step);
        for (int i = 0; i < B * P; i++)
            prompts[i] = 1 + rt_rng_below(&sr, 31);
        assert_int_equal(rt_model_generate(m, ws, prompts, B, P, T, 1.0f, &sr, 0, tok, lp), 0);
        for (int i = 0; i < B * T; i++)
            w[i] = (tok[i] % 3 - 1.0f) / (B * T);
        rt_model_zero_grad(m);
        float *dl = rt_model_ws_scratch(ws);
        memset(dl, 0, sizeof(float) * B * T * 32);
        rt_nn_pg(dl, rt_model_ws_logits(ws), tok, w, B * T, 32);
        assert_int_equal(rt_model_backward(m, ws, dl), 0);
        rt_model_adam(m, &a, NULL);
    }
    float *out = malloc(p->params.n * sizeof(float));
    memcpy(out, p->params.w, p->params.n * sizeof(float));
    rt_model_ws_free(ws);
    rt_policy_free(p);
    rt_nn_set_gemm_threads(1);
    return out;
}

static float *train(int blas, int threads, int layers)
{
    return train_act(blas, threads, layers, RT_NN_ACT_RELU);
}

static void deterministic_across_runs_and_threads(void **state)
{
    (void)state;
    for (int layers = 1; layers <= 2; layers++) {
        float *a = train(1, 1, layers), *b = train(1, 1, layers), *c = train(2, 1, layers),
              *d = train(1, 2, layers), *e = train(1, 4, layers);
        size_t n = 32 * 32 + 256 * 256 + 256 + (layers - 1) * (256 * 256 + 256) + 32 * 256 + 32;
        assert_memory_equal(a, b, n * sizeof(float));
        assert_memory_equal(a, c, n * sizeof(float));
        assert_memory_equal(a, d, n * sizeof(float));
        assert_memory_equal(a, e, n * sizeof(float));
        free(a), free(b), free(c), free(d), free(e);
    }
}

/* the whole training (tables, GEMMs, activations, softmax, sampling, Adam) on every SIMD
 * path the CPU has, process-wide, at 1 and 2 threads: the same bits as portable */
static void identical_on_every_path(void **state)
{
    (void)state;
    int best = rt_nn_isa_best();
    for (int act = RT_NN_ACT_RELU; act <= RT_NN_ACT_GELU; act++) {
        assert_int_equal(rt_nn_set_isa(RT_NN_MM_PORTABLE), 0);
        float *ref = train_act(1, 1, 2, act);
        size_t n = 32 * 32 + 256 * 256 + 256 + (256 * 256 + 256) + 32 * 256 + 32;
        for (int isa = RT_NN_MM_PORTABLE; isa <= best; isa++) {
            assert_int_equal(rt_nn_set_isa(isa), 0);
            float *a = train_act(2, 2, 2, act);
            if (memcmp(a, ref, n * sizeof(float)))
                fail_msg("path %s (act %d) differs from portable", rt_nn_isa_name(isa), act);
            free(a);
        }
        free(ref);
    }
    assert_int_equal(rt_nn_set_isa(best), 0);
    assert_int_equal(rt_nn_set_isa(best + 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_matches_reference),
        cmocka_unit_test(sft_loss_gradcheck),
        cmocka_unit_test(pg_loss_gradcheck),
        cmocka_unit_test(adam_matches_formula),
        cmocka_unit_test(generate_and_greedy),
        cmocka_unit_test(save_load),
        cmocka_unit_test(metadata_round_trip),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(deterministic_across_runs_and_threads),
        cmocka_unit_test(identical_on_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
