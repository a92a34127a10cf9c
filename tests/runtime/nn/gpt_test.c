/* gpt_test.c: the `gpt` architecture (rt_model_gpt.h) and its layer pairs (rt_nn.h:
 * LayerNorm, causal attention, GELU).
 *
 * Gradient checks.  Layers: the float forward against a double reference written here,
 * and the float backward against central differences of that double reference (step
 * 1e-5: truncation ~1e-10 relative, rounding ~1e-11), so the difference is the float
 * backward's own rounding: tolerance 2e-5 + 1e-4 |g| (a few hundred float ulps).  Whole
 * model (layers 2, heads 2, width 8, V 7, L 6, weights re-drawn N(0, 0.3) so that every
 * gradient is O(0.01..1)): central differences of the float model's loss (mean
 * cross-entropy summed in double from the float logits), step h = 2e-3: truncation
 * h^2/6 |f'''| <~ 6e-5 (|f'''| <~ 90: measured 1.5e-3 error at h = 1e-2), rounding of the
 * float loss (~1e-7 relative, |loss| ~ 2) / h <~ 1e-4; tolerance 3e-4 + 1e-2 |g| (max
 * error seen 1.6e-4 at h = 3e-3, largest gradient 0.48).
 *
 * Bits: KV-cache logits (and the gradient after a kept generation) == a full forward's;
 * ragged rows == the uniform pass's rows; 1 / 2 / 3 threads; every RLHF_ISA path;
 * save / load.  Training: Adam on a toy counting task lowers the loss. */
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

#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_model_gpt.h"
#include "rt_nn.h"
#include "rt_rng.h"

/* ---- layers ------------------------------------------------------------------------- */

static void ln_ref(double *out, const double *x, const double *w, const double *b, int N, int C)
{
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++)
            m += x[n * C + i];
        m /= C;
        for (int i = 0; i < C; i++)
            v += (x[n * C + i] - m) * (x[n * C + i] - m);
        double rs = 1.0 / sqrt(v / C + 1e-5);
        for (int i = 0; i < C; i++)
            out[n * C + i] = (x[n * C + i] - m) * rs * w[i] + b[i];
    }
}

static int close_to(double got, double want, double abs_tol, double rel_tol)
{
    return fabs(got - want) <= abs_tol + rel_tol * fabs(want);
}

enum { LN = 5, LC = 12 };

static double ln_loss(const double *x, const double *w, const double *b, const double *c)
{
    double o[LN * LC], s = 0;
    ln_ref(o, x, w, b, LN, LC);
    for (int i = 0; i < LN * LC; i++)
        s += c[i] * o[i];
    return s;
}

static void layernorm_gradients(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(11);
    float x[LN * LC], w[LC], b[LC], dy[LN * LC], out[LN * LC], mean[LN], rstd[LN];
    double xd[LN * LC], wd[LC], bd[LC], cd[LN * LC], ref[LN * LC];
    for (int i = 0; i < LN * LC; i++)
        x[i] = 2.0f * rt_rng_normal(&r) + 0.5f, dy[i] = rt_rng_normal(&r), xd[i] = x[i],
        cd[i] = dy[i];
    for (int i = 0; i < LC; i++)
        w[i] = 1.0f + 0.3f * rt_rng_normal(&r), b[i] = 0.3f * rt_rng_normal(&r), wd[i] = w[i],
        bd[i] = b[i];
    rt_nn_layernorm_forward(out, mean, rstd, x, w, b, LN, LC);
    ln_ref(ref, xd, wd, bd, LN, LC);
    for (int i = 0; i < LN * LC; i++) /* a few float roundings of O(1) values */
        assert_true(close_to(out[i], ref[i], 1e-5, 1e-5));
    float dx[LN * LC] = {0}, dw[LC] = {0}, db[LC] = {0};
    rt_nn_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, LN, LC);
    const double h = 1e-5;
    for (int i = 0; i < LN * LC; i++) {
        double s = xd[i];
        xd[i] = s + h;
        double lp = ln_loss(xd, wd, bd, cd);
        xd[i] = s - h;
        double lm = ln_loss(xd, wd, bd, cd);
        xd[i] = s;
        assert_true(close_to(dx[i], (lp - lm) / (2 * h), 2e-5, 1e-4));
    }
    for (int i = 0; i < LC; i++) {
        double s = wd[i];
        wd[i] = s + h;
        double lp = ln_loss(xd, wd, bd, cd);
        wd[i] = s - h;
        double lm = ln_loss(xd, wd, bd, cd);
        wd[i] = s;
        assert_true(close_to(dw[i], (lp - lm) / (2 * h), 2e-5, 1e-4));
        s = bd[i];
        bd[i] = s + h;
        lp = ln_loss(xd, wd, bd, cd);
        bd[i] = s - h;
        lm = ln_loss(xd, wd, bd, cd);
        bd[i] = s;
        assert_true(close_to(db[i], (lp - lm) / (2 * h), 2e-5, 1e-4));
    }
}

static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
}

static void gelu_gradients(void **state)
{
    (void)state;
    enum { N = 401 };
    float x[N], y[N], dx[N] = {0}, one[N];
    for (int i = 0; i < N; i++)
        x[i] = -8.0f + 0.04f * i, one[i] = 1.0f;
    rt_nn_act_forward(RT_NN_ACT_GELU, y, x, N);
    rt_nn_act_backward(RT_NN_ACT_GELU, dx, one, x, y, N);
    for (int i = 0; i < N; i++) {
        assert_true(close_to(y[i], gelu_ref(x[i]), 1e-6, 1e-6));
        double h = 1e-5, num = (gelu_ref((double)x[i] + h) - gelu_ref((double)x[i] - h)) / (2 * h);
        assert_true(close_to(dx[i], num, 2e-6, 1e-5));
    }
}

enum { AN = 6, AC = 8, AH = 2, AS = 7 };

/* one sequence: out (AN, AC) from qkv (AN, 3 AC), causal, in double */
static void attn_ref(double *out, const double *qkv)
{
    int hs = AC / AH;
    for (int i = 0; i < AN; i++)
        for (int h = 0; h < AH; h++) {
            double s[AN], mx = -1e300, z = 0;
            for (int j = 0; j <= i; j++) {
                s[j] = 0;
                for (int c = 0; c < hs; c++)
                    s[j] += qkv[i * 3 * AC + h * hs + c] * qkv[j * 3 * AC + AC + h * hs + c];
                s[j] /= sqrt((double)hs);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int j = 0; j <= i; j++)
                s[j] = exp(s[j] - mx), z += s[j];
            for (int c = 0; c < hs; c++) {
                double o = 0;
                for (int j = 0; j <= i; j++)
                    o += s[j] / z * qkv[j * 3 * AC + 2 * AC + h * hs + c];
                out[i * AC + h * hs + c] = o;
            }
        }
}

static double attn_loss(const double *qkv, const double *c)
{
    double o[AN * AC], s = 0;
    attn_ref(o, qkv);
    for (int i = 0; i < AN * AC; i++)
        s += c[i] * o[i];
    return s;
}

static void attention_gradients(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(12);
    float qkv[AN * 3 * AC], out[AN * AC], att[AN * AH * AS], dy[AN * AC], dqkv[AN * 3 * AC] = {0};
    double qd[AN * 3 * AC], cd[AN * AC], ref[AN * AC];
    for (int i = 0; i < AN * 3 * AC; i++)
        qkv[i] = 1.5f * rt_rng_normal(&r), qd[i] = qkv[i];
    for (int i = 0; i < AN * AC; i++)
        dy[i] = rt_rng_normal(&r), cd[i] = dy[i];
    rt_nn_attention_forward(out, att, qkv, 0, AN, AC, AH, AS);
    attn_ref(ref, qd);
    for (int i = 0; i < AN * AC; i++)
        assert_true(close_to(out[i], ref[i], 1e-5, 1e-5));
    /* rows computed one at a time (the KV cache) give the same bits */
    float out2[AN * AC], att2[AN * AH * AS];
    for (int i = 0; i < AN; i++)
        rt_nn_attention_forward(out2, att2, qkv, i, i + 1, AC, AH, AS);
    assert_memory_equal(out, out2, sizeof out);
    rt_nn_attention_backward(dqkv, dy, qkv, att, AN, AC, AH, AS);
    const double h = 1e-5;
    double amax = 0;
    for (int i = 0; i < AN * 3 * AC; i++) {
        double s = qd[i];
        qd[i] = s + h;
        double lp = attn_loss(qd, cd);
        qd[i] = s - h;
        double lm = attn_loss(qd, cd);
        qd[i] = s;
        double num = (lp - lm) / (2 * h);
        amax = fabs(num) > amax ? fabs(num) : amax;
        assert_true(close_to(dqkv[i], num, 2e-5, 1e-4));
    }
    assert_true(amax > 0.1); /* the check is not vacuous */
}

/* ---- the model ------------------------------------------------------------------------ */

enum { V = 7 };

static rt_model *tiny(int layers, int heads, int width, int context, uint64_t seed, float extra)
{
    const rt_model_ops *ops = rt_model_arch("gpt");
    assert_non_null(ops);
    int cfg[RT_MODEL_MAX_KEYS];
    char text[200];
    snprintf(text, sizeof text, "layers=%d heads=%d width=%d context=%d mlp_ratio=4", layers, heads,
             width, context);
    rt_diag d = {0};
    assert_int_equal(rt_model_config_parse(ops, text, cfg, &d), 0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), 0);
    rt_rng r = rt_rng_make(seed);
    rt_model_init(m, &r);
    if (extra > 0) { /* larger weights: gradients of every parameter well above rounding */
        rt_rng e = rt_rng_make(seed + 1000);
        for (size_t i = 0; i < m->params->n; i++)
            m->params->w[i] += extra * rt_rng_normal(&e);
        rt_model_touch(m);
    }
    return m;
}

static void random_tokens(int *t, int n, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < n; i++)
        t[i] = (int)(rt_rng_uniform(&r) * V) % V;
}

static double xent_of(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b)
{
    assert_int_equal(rt_model_score(m, ws, b, 1.0f, NULL), 0);
    const float *lg = rt_model_ws_logits(ws);
    double s = 0;
    long r = 0, n = rt_model_batch_rows(b);
    for (int q = 0; q < b->B; q++)
        for (int t = b->lo ? b->lo[q] : b->from; t < (b->lo ? b->hi[q] : b->L); t++, r++) {
            const float *x = lg + r * V;
            double mx = x[0], z = 0;
            for (int v = 1; v < V; v++)
                mx = x[v] > mx ? x[v] : mx;
            for (int v = 0; v < V; v++)
                z += exp(x[v] - mx);
            s += mx + log(z) - x[b->tokens[q * b->L + t]];
        }
    return s / n;
}

static void model_gradients(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 2, 8, 8, 5, 0.3f);
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, 64, NULL), 0);
    int tok[2 * 6];
    random_tokens(tok, 12, 3);
    int lo[2] = {1, 3}, hi[2] = {6, 5}; /* ragged: rows before lo still feed attention */
    rt_model_batch b = {tok, 2, 6, 0, lo, hi};
    float loss;
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_xent(m, ws, &b, &loss), 0);
    assert_true(close_to(loss, xent_of(m, ws, &b), 1e-5, 1e-5));
    size_t n = m->params->n;
    float *g = rt_malloc(n * sizeof(float));
    memcpy(g, m->params->g, n * sizeof(float));
    const double h = 2e-3;
    double gmax = 0;
    for (size_t i = 0; i < n; i++) {
        float s = m->params->w[i];
        m->params->w[i] = s + (float)h;
        rt_model_touch(m);
        double lp = xent_of(m, ws, &b);
        m->params->w[i] = s - (float)h;
        rt_model_touch(m);
        double lm = xent_of(m, ws, &b);
        m->params->w[i] = s;
        rt_model_touch(m);
        double num = (lp - lm) / (2 * h);
        if (!close_to(g[i], num, 3e-4, 1e-2))
            print_error("param %zu: backward %g, central difference %g\n", i, g[i], num);
        assert_true(close_to(g[i], num, 3e-4, 1e-2));
        gmax = fabs(num) > gmax ? fabs(num) : gmax;
    }
    assert_true(gmax > 0.05);
    rt_free(g);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

enum { GB = 5, GP = 3, GT = 6 };

/* a generation (kept) and its gradient from fixed dlogits; then the same by a full
 * forward over prompts ++ samples: logits and gradients bit for bit */
static void kv_check(int B, int layers, int heads, int width, uint64_t seed)
{
    rt_model *m = tiny(layers, heads, width, 12, seed, 0.0f);
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, B * GT, NULL), 0);
    rt_model_ws_set_threads(ws, 2);
    int *prompts = rt_malloc(sizeof(int) * B * GP), *tok = rt_malloc(sizeof(int) * B * GT);
    int *seq = rt_malloc(sizeof(int) * B * (GP + GT));
    float *lp = rt_malloc(sizeof(float) * B * GT);
    random_tokens(prompts, B * GP, seed + 1);
    rt_rng r = rt_rng_make(seed + 2);
    assert_int_equal(rt_model_generate(m, ws, prompts, B, GP, GT, 1.0f, &r, 0, tok, lp), 0);
    size_t nl = (size_t)B * GT * V, n = m->params->n;
    float *lg = rt_malloc(nl * sizeof(float)), *dl = rt_malloc(nl * sizeof(float));
    float *g1 = rt_malloc(n * sizeof(float));
    memcpy(lg, rt_model_ws_logits(ws), nl * sizeof(float));
    rt_rng d = rt_rng_make(seed + 3);
    for (size_t i = 0; i < nl; i++)
        dl[i] = rt_rng_normal(&d);
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_backward(m, ws, dl), 0);
    memcpy(g1, m->params->g, n * sizeof(float));
    for (int b = 0; b < B; b++) {
        memcpy(seq + b * (GP + GT), prompts + b * GP, GP * sizeof(int));
        memcpy(seq + b * (GP + GT) + GP, tok + b * GT, GT * sizeof(int));
    }
    rt_model_batch bt = {seq, B, GP + GT, GP, NULL, NULL};
    assert_int_equal(rt_model_forward(m, ws, &bt), 0);
    assert_memory_equal(lg, rt_model_ws_logits(ws), nl * sizeof(float));
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_backward(m, ws, dl), 0);
    assert_memory_equal(g1, m->params->g, n * sizeof(float));
    /* more positions than the context: an error */
    assert_int_equal(rt_model_generate(m, ws, prompts, 1, GP, 10, 1.0f, &r, 0, tok, lp), RT_EINVAL);
    int big[13] = {0};
    rt_model_batch b13 = {big, 1, 13, 0, NULL, NULL};
    assert_int_equal(rt_model_forward(m, ws, &b13), RT_EINVAL);
    rt_free(lg), rt_free(dl), rt_free(g1), rt_free(prompts), rt_free(tok), rt_free(seq);
    rt_free(lp);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

static void kv_cache_is_full_forward(void **state)
{
    (void)state;
    kv_check(GB, 2, 2, 16, 7);
    kv_check(300, 1, 3, 48, 8); /* 3 groups of sequences, many register tiles per step */
}

static void ragged_rows_are_uniform_rows(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 4, 16, 8, 13, 0.1f);
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, 64, NULL), 0);
    enum { B = 3, L = 7 };
    int tok[B * L];
    random_tokens(tok, B * L, 21);
    rt_model_batch u = {tok, B, L, 0, NULL, NULL};
    assert_int_equal(rt_model_forward(m, ws, &u), 0);
    float full[B * L * V];
    memcpy(full, rt_model_ws_logits(ws), sizeof full);
    int lo[B] = {0, 3, 2}, hi[B] = {7, 4, 2};
    rt_model_batch rg = {tok, B, L, 0, lo, hi};
    assert_int_equal(rt_model_forward(m, ws, &rg), 0);
    const float *x = rt_model_ws_logits(ws);
    long r = 0;
    for (int b = 0; b < B; b++)
        for (int t = lo[b]; t < hi[b]; t++, r++)
            assert_memory_equal(x + r * V, full + (b * L + t) * V, V * sizeof(float));
    assert_int_equal(r, 8);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

/* generation, a kept forward and its gradient: everything a step computes */
typedef struct {
    int tok[GB * GT];
    float lp[GB * GT], logits[GB * 8 * V];
    float *grad;
} run_out;

static void run_step(rt_model *m, int threads, run_out *o)
{
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, 64, NULL), 0);
    rt_model_ws_set_threads(ws, threads);
    int prompts[GB * GP];
    random_tokens(prompts, GB * GP, 31);
    rt_rng r = rt_rng_make(6);
    assert_int_equal(rt_model_generate(m, ws, prompts, GB, GP, GT, 0.8f, &r, 0, o->tok, o->lp), 0);
    int seq[GB * 8];
    random_tokens(seq, GB * 8, 32);
    rt_model_batch b = {seq, GB, 8, 0, NULL, NULL};
    float loss;
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_xent(m, ws, &b, &loss), 0);
    memcpy(o->logits, rt_model_ws_logits(ws), sizeof o->logits);
    o->grad = rt_malloc(m->params->n * sizeof(float));
    memcpy(o->grad, m->params->g, m->params->n * sizeof(float));
    rt_model_ws_free(ws);
}

static void same_bits(const rt_model *m, run_out *a, run_out *b)
{
    assert_memory_equal(a->tok, b->tok, sizeof a->tok);
    assert_memory_equal(a->lp, b->lp, sizeof a->lp);
    assert_memory_equal(a->logits, b->logits, sizeof a->logits);
    assert_memory_equal(a->grad, b->grad, m->params->n * sizeof(float));
    rt_free(b->grad);
}

static void threads_same_bits(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 2, 16, 16, 17, 0.0f);
    run_out a, b;
    run_step(m, 1, &a);
    for (int th = 2; th <= 3; th++) {
        run_step(m, th, &b);
        same_bits(m, &a, &b);
    }
    rt_free(a.grad);
    rt_model_free(m);
}

static void isa_paths_same_bits(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 2, 32, 16, 19, 0.0f);
    int isa0 = rt_nn_isa();
    run_out a, b;
    assert_int_equal(rt_nn_set_isa(RT_NN_MM_PORTABLE), 0);
    run_step(m, 2, &a);
    for (int isa = 1; isa <= rt_nn_isa_best(); isa++) {
        assert_int_equal(rt_nn_set_isa(isa), 0);
        run_step(m, 2, &b);
        same_bits(m, &a, &b);
    }
    rt_nn_set_isa(isa0);
    rt_free(a.grad);
    rt_model_free(m);
}

static void save_load_round_trip(void **state)
{
    (void)state;
    rt_model *m = tiny(3, 4, 24, 10, 23, 0.0f);
    char path[64];
    snprintf(path, sizeof path, "/tmp/rt_gpt_test_%d.bin", (int)getpid());
    rt_diag d = {0};
    assert_int_equal(rt_model_save(m, path, &d), 0);
    rt_model *l = NULL;
    assert_int_equal(rt_model_load(&l, path, &d), 0);
    unlink(path);
    assert_true(rt_model_same_arch(m, l));
    assert_string_equal(l->ops->arch, "gpt");
    int cfg[RT_MODEL_MAX_KEYS];
    rt_model_config(l, cfg);
    char text[200];
    rt_model_config_format(l->ops, cfg, text, sizeof text);
    assert_string_equal(text, "layers=3 heads=4 width=24 context=10 mlp_ratio=4 dropout=0");
    rt_model_ws *w1 = NULL, *w2 = NULL;
    assert_int_equal(rt_model_ws_create(&w1, m, 32, NULL), 0);
    assert_int_equal(rt_model_ws_create(&w2, l, 32, NULL), 0);
    int tok[2 * 9];
    random_tokens(tok, 18, 41);
    rt_model_batch b = {tok, 2, 9, 0, NULL, NULL};
    assert_int_equal(rt_model_score(m, w1, &b, 1.0f, NULL), 0);
    assert_int_equal(rt_model_score(l, w2, &b, 1.0f, NULL), 0);
    assert_memory_equal(rt_model_ws_logits(w1), rt_model_ws_logits(w2), 18 * V * sizeof(float));
    rt_model_ws_free(w1), rt_model_ws_free(w2);
    rt_model_free(l), rt_model_free(m);
}

static void configs_checked(void **state)
{
    (void)state;
    const rt_model_ops *ops = rt_model_arch("gpt");
    int cfg[RT_MODEL_MAX_KEYS];
    rt_diag d = {0};
    assert_int_equal(rt_model_config_parse(ops, "", cfg, &d), 0);
    char text[200];
    rt_model_config_format(ops, cfg, text, sizeof text);
    assert_string_equal(text, "layers=2 heads=4 width=64 context=32 mlp_ratio=4 dropout=0");
    assert_int_equal(rt_model_config_parse(ops, "width=30 heads=4", cfg, &d), 0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), RT_EINVAL);
    assert_null(m);
    assert_string_equal(d.msg, "gpt: width (30) must be a multiple of heads (4)");
    assert_int_equal(rt_model_config_parse(ops, "dropout=1", cfg, &d), RT_EINVAL);
    rt_model_config_defaults(ops, cfg);
    cfg[RT_GPT_DROPOUT] = 1;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), RT_EINVAL);
    assert_string_equal(d.msg, "gpt: dropout must be 0 (determinism) (got 1)");
    /* the GPT-2 initialization: LayerNorm (1, 0), biases 0, weights ~ N(0, 0.02) */
    rt_model_config_defaults(ops, cfg);
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), 0);
    rt_rng r = rt_rng_make(1);
    rt_model_init(m, &r);
    rt_gpt_views v;
    assert_int_equal(rt_gpt_views_of(m, 0, &v), 0);
    assert_true(v.l[1].ln2_w[5] == 1.0f && v.l[1].ln2_b[5] == 0.0f && v.head_b[3] == 0.0f);
    double s2 = 0, r2 = 0;
    for (int i = 0; i < 64 * 192; i++)
        s2 += (double)v.l[0].qkv_w[i] * v.l[0].qkv_w[i];
    for (int i = 0; i < 64 * 256; i++)
        r2 += (double)v.l[0].fc2_w[i] * v.l[0].fc2_w[i];
    /* sample std within 5% (12288 and 16384 draws: relative sd of the estimate < 1%) */
    assert_true(fabs(sqrt(s2 / (64 * 192)) - 0.02) < 0.001);
    assert_true(fabs(sqrt(r2 / (64 * 256)) - 0.01) < 0.0005);
    assert_int_equal(m->params->n, rt_model_gpt.nparams(V, cfg));
    rt_model_free(m);
}

/* A short SFT loop: sequences counting up by one (mod 6, tokens 1..6) from a random
 * start; after the first token every next token is determined, so the mean loss can fall
 * from log 7 toward log(6) / 6 = 0.3. */
static void sft_lowers_loss(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 2, 16, 8, 29, 0.0f);
    rt_model_ws *ws = NULL;
    enum { B = 16, L = 6 };
    assert_int_equal(rt_model_ws_create(&ws, m, B * L, NULL), 0);
    rt_adam_config ac = rt_adam_defaults();
    ac.lr = 1e-2f;
    rt_rng r = rt_rng_make(2);
    float first = 0, last = 0;
    for (int step = 0; step < 150; step++) {
        int tok[B * L];
        for (int b = 0; b < B; b++) {
            int a = (int)(rt_rng_uniform(&r) * 6) % 6;
            for (int t = 0; t < L; t++)
                tok[b * L + t] = 1 + (a + t) % 6;
        }
        rt_model_batch bt = {tok, B, L, 0, NULL, NULL};
        float loss;
        rt_model_zero_grad(m);
        assert_int_equal(rt_model_xent(m, ws, &bt, &loss), 0);
        rt_model_adam(m, &ac, NULL);
        if (step == 0) first = loss;
        last = loss;
    }
    assert_true(first > 1.8f);
    assert_true(last < 0.6f);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

/* Every allocation failing in turn: creating, copying, a workspace, a first pass (the
 * workspace grows then) and a generation end in RT_ENOMEM, and the same call succeeds
 * once allocations work again. */
static void allocation_failures(void **state)
{
    (void)state;
    rt_model *m = tiny(2, 2, 16, 12, 3, 0.0f);
    int tok[2 * 8];
    random_tokens(tok, 16, 5);
    rt_model_batch b = {tok, 2, 8, 1, NULL, NULL};
    for (int which = 0; which < 4; which++) {
        int ok = 0;
        for (long n = 1; n < 40 && !ok; n++) {
            rt_model *c = NULL;
            rt_model_ws *ws = NULL;
            rt_diag d = {0};
            if (which >= 2) assert_int_equal(rt_model_ws_create(&ws, m, 16, NULL), 0);
            rt_alloc_fail_at(n);
            int tk[2 * 3];
            rt_rng r = rt_rng_make(1);
            int rc = which == 0   ? rt_model_copy(&c, m, &d)
                     : which == 1 ? rt_model_ws_create(&ws, m, 16, &d)
                     : which == 2 ? rt_model_forward(m, ws, &b)
                                  : rt_model_generate(m, ws, tok, 2, 4, 3, 1.0f, &r, 0, tk, NULL);
            rt_alloc_fail_at(0);
            if (rc == 0) {
                ok = 1;
            } else {
                assert_int_equal(rc, RT_ENOMEM);
                if (which < 2) assert_int_equal(d.code, RT_ENOMEM);
                assert_null(c);
                if (which == 2) assert_int_equal(rt_model_forward(m, ws, &b), 0);
            }
            rt_model_free(c);
            rt_model_ws_free(ws);
        }
        assert_true(ok);
    }
    rt_model_free(m);
}

/* For tests/py/test_gpt_torch.py: with RT_GPT_EXPORT=DIR set, writes DIR/model.bin
 * (rt_model_save), DIR/batch.txt ("B L from" and the tokens), DIR/logits.f32 (rows, V)
 * and DIR/grad.f32 (the block's gradient of the mean cross-entropy), native floats.
 * Skipped otherwise. */
static void export_for_torch(void **state)
{
    (void)state;
    const char *dir = getenv("RT_GPT_EXPORT");
    if (!dir || !*dir) {
        skip();
        return;
    }
    const rt_model_ops *ops = rt_model_arch("gpt");
    int cfg[RT_MODEL_MAX_KEYS];
    assert_int_equal(
        rt_model_config_parse(ops, "layers=2 heads=3 width=24 context=12 mlp_ratio=3", cfg, NULL),
        0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, NULL), 0);
    rt_rng r = rt_rng_make(77), e = rt_rng_make(78);
    rt_model_init(m, &r);
    for (size_t i = 0; i < m->params->n; i++) /* non-trivial LayerNorms, biases, scales */
        m->params->w[i] += 0.2f * rt_rng_normal(&e);
    rt_model_touch(m);
    enum { B = 3, L = 10, FROM = 2 };
    int tok[B * L];
    random_tokens(tok, B * L, 79);
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, B * L, NULL), 0);
    rt_model_batch b = {tok, B, L, FROM, NULL, NULL};
    float loss;
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_xent(m, ws, &b, &loss), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    assert_int_equal(rt_model_save(m, path, NULL), 0);
    snprintf(path, sizeof path, "%s/batch.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%d %d %d\n", B, L, FROM);
    for (int i = 0; i < B * L; i++)
        fprintf(f, "%d%c", tok[i], i % L == L - 1 ? '\n' : ' ');
    fclose(f);
    snprintf(path, sizeof path, "%s/logits.f32", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    size_t rows = (size_t)B * (L - FROM);
    assert_int_equal(fwrite(rt_model_ws_logits(ws), sizeof(float), rows * V, f), rows * V);
    fclose(f);
    snprintf(path, sizeof path, "%s/grad.f32", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(m->params->g, sizeof(float), m->params->n, f), m->params->n);
    fclose(f);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layernorm_gradients),      cmocka_unit_test(gelu_gradients),
        cmocka_unit_test(attention_gradients),      cmocka_unit_test(model_gradients),
        cmocka_unit_test(kv_cache_is_full_forward), cmocka_unit_test(ragged_rows_are_uniform_rows),
        cmocka_unit_test(threads_same_bits),        cmocka_unit_test(isa_paths_same_bits),
        cmocka_unit_test(save_load_round_trip),     cmocka_unit_test(configs_checked),
        cmocka_unit_test(sft_lowers_loss),          cmocka_unit_test(allocation_failures),
        cmocka_unit_test(export_for_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
