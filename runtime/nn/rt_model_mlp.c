/* rt_model_mlp.c: the `mlp` architecture's ops table (rt_model.h) over rt_policy.c's
 * kernels.  This is where token sequences become the MLP's K-token contexts and where
 * its rows are ordered:
 *   - a generation, and a kept forward of a uniform batch, keep their rows time-major
 *     (row t * B + b): the order of the MLP's backward sums since before the model
 *     interface (the golden results depend on it).  The exposed logits are
 *     sequence-major, so the forward copies them out and backward takes dlogits
 *     through a permuted copy;
 *   - a ragged batch and every scoring pass use the batch's own (sequence-major) rows.
 * Leaves out: the kernels (rt_policy.c), files (rt_model_io.c). */
#include <stdio.h>
#include <string.h>

#include "rt_policy.h"
#include "rt_policy_int.h"

enum { K_CONTEXT, K_EMBED, K_HIDDEN, K_LAYERS, K_ACT, NKEYS };

static const char *const act_names[] = {"relu", "gelu"};
static const rt_model_key keys[NKEYS] = {
    {"context", 8, 1, 1024, NULL, "tokens of context K"},
    {"embed", 32, 1, 4096, NULL, "embedding width D"},
    {"hidden", 256, 1, 16384, NULL, "hidden width H"},
    {"layers", 2, 1, RT_POLICY_MAX_LAYERS, NULL, "hidden layers"},
    {"act", RT_NN_ACT_RELU, RT_NN_ACT_RELU, RT_NN_ACT_GELU, act_names, "activation"},
};

static rt_policy_config to_cfg(int vocab, const int *c)
{
    rt_policy_config pc = {vocab, c[K_CONTEXT], c[K_EMBED], c[K_HIDDEN], c[K_LAYERS], c[K_ACT]};
    return pc;
}

rt_policy *rt_policy_of(rt_model *m)
{
    return m && m->ops == &rt_model_mlp ? (rt_policy *)m : NULL;
}

const rt_policy *rt_policy_of_const(const rt_model *m)
{
    return m && m->ops == &rt_model_mlp ? (const rt_policy *)m : NULL;
}

static int check(int vocab, const int *cfg, char *msg, size_t cap)
{
    rt_policy_config pc = to_cfg(vocab, cfg);
    rt_diag d;
    if (!rt_policy_config_check(&pc, &d)) return 0;
    snprintf(msg, cap, "%s", d.msg);
    return RT_EINVAL;
}

static size_t nparams(int vocab, const int *cfg)
{
    rt_policy_config pc = to_cfg(vocab, cfg);
    return rt_policy_nparams(&pc);
}

static int create(rt_model **out, int vocab, const int *cfg)
{
    rt_policy_config pc = to_cfg(vocab, cfg);
    rt_policy *p = NULL;
    int rc = rt_policy_create(&p, &pc, NULL);
    *out = p ? &p->model : NULL;
    return rc;
}

static void destroy(rt_model *m)
{
    rt_policy_free(rt_policy_of(m));
}

static void config(const rt_model *m, int *cfg)
{
    const rt_policy_config *c = &rt_policy_of_const(m)->cfg;
    cfg[K_CONTEXT] = c->context, cfg[K_EMBED] = c->embed, cfg[K_HIDDEN] = c->hidden;
    cfg[K_LAYERS] = c->layers, cfg[K_ACT] = c->act;
}

static void init(rt_model *m, const rt_rng *rng)
{
    rt_policy_init(rt_policy_of(m), rng);
}

static void touch(rt_model *m)
{
    rt_policy_touch(rt_policy_of(m));
}

static int ws_create(const rt_model *m, int max_rows, void **out)
{
    rt_policy_ws *ws = NULL;
    int rc = rt_policy_ws_create(&ws, &rt_policy_of_const(m)->cfg, max_rows, NULL);
    *out = ws;
    return rc;
}

static void ws_free(void *impl)
{
    rt_policy_ws_free(impl);
}

static void ws_set_threads(void *impl, int threads)
{
    rt_policy_ws_set_threads(impl, threads);
}

/* the last K tokens before position pos of seq, left-padded with RT_POLICY_PAD */
static inline void window(int *out, const int *seq, int pos, int K)
{
    int i = 0;
    for (; i < K && pos - K + i < 0; i++)
        out[i] = RT_POLICY_PAD;
    for (; i < K; i++)
        out[i] = seq[pos - K + i];
}

/* contexts of the batch's positions into ws->ctx, rows time-major (tm) or in batch
 * order; the tokens at the positions into ws->ybuf in the same order */
static void contexts(const rt_model_batch *b, int K, int tm, rt_policy_ws *ws)
{
    long r = 0;
    if (tm) {
        int n = b->L - b->from;
        for (int t = 0; t < n; t++)
            for (int s = 0; s < b->B; s++, r++) {
                const int *seq = b->tokens + (size_t)s * b->L;
                window(ws->ctx + r * K, seq, b->from + t, K);
                ws->ybuf[r] = seq[b->from + t];
            }
        return;
    }
    for (int s = 0; s < b->B; s++) {
        const int *seq = b->tokens + (size_t)s * b->L;
        int lo = b->lo ? b->lo[s] : b->from, hi = b->lo ? b->hi[s] : b->L;
        for (int t = lo; t < hi; t++, r++) {
            window(ws->ctx + r * K, seq, t, K);
            ws->ybuf[r] = seq[t];
        }
    }
}

/* rows (B*n, V): time-major (row t*B + b) <-> sequence-major (row b*n + t) */
static inline void copy_row(float *restrict dst, const float *restrict src, int V)
{
    for (int v = 0; v < V; v++)
        dst[v] = src[v];
}

static void to_seq_major(float *dst, const float *src, int B, int n, int V)
{
    for (int t = 0; t < n; t++)
        for (int s = 0; s < B; s++)
            copy_row(dst + ((size_t)s * n + t) * V, src + ((size_t)t * B + s) * V, V);
}

static void to_time_major(float *dst, const float *src, int B, int n, int V)
{
    for (int s = 0; s < B; s++)
        for (int t = 0; t < n; t++)
            copy_row(dst + ((size_t)t * B + s) * V, src + ((size_t)s * n + t) * V, V);
}

static int forward(const rt_model *m, rt_model_ws *mws, const rt_model_batch *b, int keep,
                   float *out, float temperature, float *y_lp)
{
    const rt_policy *p = rt_policy_of_const(m);
    rt_policy_ws *ws = mws->impl;
    int K = p->cfg.context, V = p->cfg.vocab;
    int tm = keep && !b->lo && b->B > 1 && b->L - b->from > 1;
    long n = rt_model_batch_rows(b);
    if (n > ws->max_rows) return RT_ECAP;
    contexts(b, K, tm, ws);
    ws->tm_B = ws->tm_T = 0;
    if (!keep)
        return rt_mlp_score(p, ws, ws->ctx, (int)n, y_lp ? ws->ybuf : NULL, temperature, y_lp, out);
    int rc = rt_mlp_forward(p, ws, ws->ctx, (int)n, 0, tm ? ws->logits : out);
    if (rc) return rc;
    if (tm) {
        ws->tm_B = b->B, ws->tm_T = b->L - b->from;
        to_seq_major(out, ws->logits, b->B, ws->tm_T, V);
    }
    if (y_lp) {
        for (long i = 0; i < n; i++)
            if (ws->ybuf[i] < 0 || ws->ybuf[i] >= V) return RT_EINVAL;
        rt_nn_token_logprob(y_lp, out, ws->ybuf, (int)n, V, temperature);
    }
    return 0;
}

static int backward(rt_model *m, rt_model_ws *mws, const float *dlogits)
{
    rt_policy *p = rt_policy_of(m);
    rt_policy_ws *ws = mws->impl;
    if (ws->tm_B > 0) {
        to_time_major(ws->scratch, dlogits, ws->tm_B, ws->tm_T, p->cfg.vocab);
        dlogits = ws->scratch;
    }
    return rt_policy_backward(p, ws, dlogits, mws->rows, 0);
}

/* the trunk's features: the last hidden activation act[layers - 1] (H per row), copied
 * out of the kept rows in sequence-major order */
static int feature_dim(const rt_model *m)
{
    return rt_policy_of_const(m)->cfg.hidden;
}

static int features(const rt_model *m, const rt_model_ws *mws, float *out)
{
    const rt_policy *p = rt_policy_of_const(m);
    const rt_policy_ws *ws = mws->impl;
    int H = p->cfg.hidden;
    const float *act = ws->act[p->cfg.layers - 1];
    if (ws->tm_B > 0)
        to_seq_major(out, act, ws->tm_B, ws->tm_T, H);
    else
        memcpy(out, act, sizeof(float) * (size_t)mws->rows * H);
    return 0;
}

static int backward_features(rt_model *m, rt_model_ws *mws, const float *dlogits,
                             const float *dfeat)
{
    rt_policy *p = rt_policy_of(m);
    rt_policy_ws *ws = mws->impl;
    if (ws->tm_B > 0) {
        to_time_major(ws->scratch, dlogits, ws->tm_B, ws->tm_T, p->cfg.vocab);
        dlogits = ws->scratch;
    }
    return rt_policy_backward_feat(p, ws, dlogits, dfeat, mws->rows, 0);
}

static int decode_begin(const rt_model *m, rt_model_ws *mws, const rt_model_gen *g)
{
    const rt_policy *p = rt_policy_of_const(m);
    rt_policy_ws *ws = mws->impl;
    ws->tm_B = g->keep ? g->B : 0, ws->tm_T = g->keep ? g->T : 0;
    return rt_mlp_prepare(p, ws, g->prompts, 0, 0); /* refreshes the table */
}

static const float *extend(const rt_model *m, rt_model_ws *mws, const rt_model_gen *g, int b0,
                           int n, int t)
{
    /* position P + t of sequence b = prompt b ++ tokens b[0..t): the last K tokens */
    const rt_policy *p = rt_policy_of_const(m);
    rt_policy_ws *ws = mws->impl;
    int K = p->cfg.context, V = p->cfg.vocab, P = g->P, T = g->T;
    size_t row = (size_t)(g->keep ? t * g->B : 0) + b0;
    int *c = ws->ctx + row * K;
    for (int b = b0; b < b0 + n; b++) {
        int *o = c + (size_t)(b - b0) * K;
        for (int i = 0; i < K; i++) {
            int q = P + t - K + i;
            o[i] = q < 0
                       ? RT_POLICY_PAD
                       : (q < P ? g->prompts[(size_t)b * P + q] : g->tokens[(size_t)b * T + q - P]);
        }
    }
    /* activations kept at `row`; the logits only until sampled: rows [b0, b0 + n) */
    rt_mlp_forward_block(p, ws, c, n, row, ws->logits + (size_t)b0 * V);
    return ws->logits + (size_t)b0 * V;
}

/* per row: the first layer's K gathered table rows, the hidden layers, the output */
static double row_flops(const rt_model *m)
{
    const rt_policy_config *c = &rt_policy_of_const(m)->cfg;
    return 2.0 * c->hidden * ((double)c->context + c->vocab + (double)c->hidden * (c->layers - 1));
}

const rt_model_ops rt_model_mlp = {
    .arch = "mlp",
    .keys = keys,
    .nkeys = NKEYS,
    .check = check,
    .nparams = nparams,
    .create = create,
    .destroy = destroy,
    .config = config,
    .init = init,
    .touch = touch,
    .ws_create = ws_create,
    .ws_free = ws_free,
    .ws_set_threads = ws_set_threads,
    .forward = forward,
    .backward = backward,
    .decode_begin = decode_begin,
    .extend = extend,
    .row_flops = row_flops,
    .feature_dim = feature_dim,
    .features = features,
    .backward_features = backward_features,
};
