/* rt_policy.c: the `mlp` policy (see rt_policy.h): its views into the parameter block,
 * workspaces, forward/backward with the fused first layer, losses, sampling; the block
 * and Adam are rt_params.c's.  Its ops table (the model interface) is rt_model_mlp.c,
 * files are rt_model_io.c's.  Leaves out: threading of non-GEMM loops. */
#include "rt_policy.h"
#include "rt_policy_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"

static atomic_uint_fast64_t version_counter = 1;

/* Row block: forward and backward run over blocks of RB rows so that each block's
 * activations are still in cache when the next GEMM reads them.  A fixed size (not
 * a function of the thread count), so the summation order of the weight gradients
 * is fixed too. */
enum { RB = 128 };
/* Scoring block: smaller, so that a block's activations (SB x H) and the layer-1 table
 * (K*V x H) stay in L2 together while the output product reads them back.  Scoring
 * keeps no gradient state, so this block size changes no result. */
enum { SB = 32 };

/* ---- threads ------------------------------------------------------------------------
 * Coarse regions only (a whole generation, a whole scoring pass, a whole backward), so
 * threads are created per region.  Work is split into pieces fixed by the data (row
 * blocks of RB, sequence groups of RB, column slices), never by timing; each piece
 * computes exactly what it computes serially, so results do not depend on `threads`. */
void rt_policy_ws_set_threads(rt_policy_ws *ws, int threads)
{
    ws->threads =
        threads < 1 ? 1 : (threads > RT_POLICY_MAX_THREADS ? RT_POLICY_MAX_THREADS : threads);
}

static void set_diag(rt_diag *d, int code, const char *msg)
{
    if (!d) return;
    d->code = code;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
}

int rt_policy_config_check(const rt_policy_config *c, rt_diag *diag)
{
    char m[256];
    m[0] = 0;
    if (!c)
        snprintf(m, sizeof m, "no configuration");
    else if (c->vocab < 2 || c->vocab > 65536)
        snprintf(m, sizeof m, "vocab must be in 2..65536 (got %d)", c->vocab);
    else if (c->context < 1 || c->context > 1024)
        snprintf(m, sizeof m, "context must be in 1..1024 (got %d)", c->context);
    else if (c->embed < 1 || c->embed > 4096)
        snprintf(m, sizeof m, "embed must be in 1..4096 (got %d)", c->embed);
    else if (c->hidden < 1 || c->hidden > 16384)
        snprintf(m, sizeof m, "hidden must be in 1..16384 (got %d)", c->hidden);
    else if (c->layers < 1 || c->layers > RT_POLICY_MAX_LAYERS)
        snprintf(m, sizeof m, "layers must be in 1..%d (got %d)", RT_POLICY_MAX_LAYERS, c->layers);
    else if (c->act != RT_NN_ACT_RELU && c->act != RT_NN_ACT_GELU)
        snprintf(m, sizeof m, "act must be relu (0) or gelu (1) (got %d)", c->act);
    if (!m[0]) return 0;
    set_diag(diag, RT_EINVAL, m);
    return RT_EINVAL;
}

int rt_policy_same_shape(const rt_policy_config *a, const rt_policy_config *b)
{
    return a->vocab == b->vocab && a->context == b->context && a->embed == b->embed &&
           a->hidden == b->hidden && a->layers == b->layers && a->act == b->act;
}

/* Carves a block into views; returns the number of floats (base may be NULL to count). */
static size_t carve(const rt_policy_config *c, float *base, rt_policy_views *v)
{
    size_t V = c->vocab, K = c->context, D = c->embed, H = c->hidden, off = 0;
    rt_policy_views tmp;
    if (!v) v = &tmp;
    memset(v, 0, sizeof *v);
#define TAKE(field, count)                                                                         \
    do {                                                                                           \
        field = base ? base + off : NULL;                                                          \
        off += (count);                                                                            \
    } while (0)
    TAKE(v->emb, V * D);
    TAKE(v->w1, H * K * D);
    TAKE(v->b1, H);
    for (int l = 0; l < c->layers - 1; l++) {
        TAKE(v->wh[l], H * H);
        TAKE(v->bh[l], H);
    }
    TAKE(v->wo, V * H);
    TAKE(v->bo, V);
#undef TAKE
    return off;
}

size_t rt_policy_nparams(const rt_policy_config *cfg)
{
    return carve(cfg, NULL, NULL);
}

void rt_policy_touch(rt_policy *p)
{
    p->version = atomic_fetch_add(&version_counter, 1);
}

int rt_policy_create(rt_policy **out, const rt_policy_config *cfg, rt_diag *diag)
{
    *out = NULL;
    int rc = rt_policy_config_check(cfg, diag);
    if (rc) return rc;
    rt_policy *p = rt_calloc(1, sizeof *p);
    if (!p || rt_params_create(&p->params, carve(cfg, NULL, NULL))) {
        rt_free(p);
        set_diag(diag, RT_ENOMEM, "out of memory creating policy");
        return RT_ENOMEM;
    }
    p->cfg = *cfg;
    p->model.ops = &rt_model_mlp;
    p->model.params = &p->params;
    p->model.vocab = cfg->vocab;
    carve(cfg, p->params.w, &p->p);
    carve(cfg, p->params.g, &p->g);
    rt_policy_touch(p);
    *out = p;
    return 0;
}

void rt_policy_free(rt_policy *p)
{
    if (!p) return;
    rt_params_free(&p->params);
    rt_free(p);
}

static void fill_uniform(float *x, size_t n, float bound, rt_rng r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (2.0f * rt_rng_uniform(&r) - 1.0f) * bound;
}

void rt_policy_init(rt_policy *p, const rt_rng *rng)
{
    const rt_policy_config *c = &p->cfg;
    size_t V = c->vocab, K = c->context, D = c->embed, H = c->hidden;
    rt_rng r = rt_rng_split(rng, 0);
    for (size_t i = 0; i < V * D; i++)
        p->p.emb[i] = rt_rng_normal(&r);
    float b1 = 1.0f / sqrtf((float)(K * D)), bh = 1.0f / sqrtf((float)H);
    fill_uniform(p->p.w1, H * K * D, b1, rt_rng_split(rng, 1));
    fill_uniform(p->p.b1, H, b1, rt_rng_split(rng, 2));
    for (int l = 0; l < c->layers - 1; l++) {
        fill_uniform(p->p.wh[l], H * H, bh, rt_rng_split(rng, 3 + 2 * (uint64_t)l));
        fill_uniform(p->p.bh[l], H, bh, rt_rng_split(rng, 4 + 2 * (uint64_t)l));
    }
    fill_uniform(p->p.wo, V * H, bh, rt_rng_split(rng, 100));
    fill_uniform(p->p.bo, V, bh, rt_rng_split(rng, 101));
    rt_policy_touch(p);
}

int rt_policy_copy(rt_policy **out, const rt_policy *src, rt_diag *diag)
{
    int rc = rt_policy_create(out, &src->cfg, diag);
    if (rc) return rc;
    rt_params_copy(&(*out)->params, &src->params); /* same configuration, same size */
    return 0;
}

int rt_policy_assign(rt_policy *dst, const rt_policy *src)
{
    if (!rt_policy_same_shape(&dst->cfg, &src->cfg)) return RT_ESHAPE;
    rt_params_assign(&dst->params, &src->params);
    rt_policy_touch(dst);
    return 0;
}

/* ---- workspaces ------------------------------------------------------------------- */

int rt_policy_ws_create(rt_policy_ws **out, const rt_policy_config *cfg, int max_rows,
                        rt_diag *diag)
{
    *out = NULL;
    int rc = rt_policy_config_check(cfg, diag);
    if (rc) return rc;
    if (max_rows < 1 || max_rows > (1 << 24)) {
        set_diag(diag, RT_EINVAL, "workspace rows must be in 1..16777216");
        return RT_EINVAL;
    }
    size_t R = max_rows, V = cfg->vocab, K = cfg->context, H = cfg->hidden, L = cfg->layers;
    int gelu = cfg->act == RT_NN_ACT_GELU;
    size_t RBR = R < RB ? R : RB;
    /* every buffer starts on a 64-byte boundary (a cache line; full-width vector loads
     * that do not straddle two lines): 16 floats of slack per buffer, 16 for the base */
    size_t nf = 2 * K * V * H + H * V + R * H * L * (gelu ? 2 : 1) + 2 * R * V +
                RBR * H * (L > 1 ? 2 : 1) + 2 * R + 16 * (9 + 2 * L);
    rt_policy_ws *ws = rt_calloc(1, sizeof *ws);
    if (ws) {
        ws->block = rt_malloc(nf * sizeof(float));
        ws->ibuf = rt_malloc(R * (K + 1) * sizeof(int));
        ws->rngs = rt_malloc(R * sizeof(rt_rng));
    }
    if (!ws || !ws->block || !ws->ibuf || !ws->rngs) {
        rt_policy_ws_free(ws);
        set_diag(diag, RT_ENOMEM, "out of memory creating policy workspace");
        return RT_ENOMEM;
    }
    ws->cfg = *cfg;
    ws->max_rows = max_rows;
    ws->threads = 1;
    ws->nblock = nf;
    float *f = ws->block;
#define TAKE(ptr, count)                                                                           \
    do {                                                                                           \
        f += (16 - ((uintptr_t)f / sizeof(float)) % 16) % 16;                                      \
        ptr = f, f += (count);                                                                     \
    } while (0)
    TAKE(ws->table, K * V * H);
    TAKE(ws->dtable, K * V * H);
    TAKE(ws->woT, H * V);
    for (size_t l = 0; l < L; l++) {
        TAKE(ws->act[l], R * H);
        if (gelu)
            TAKE(ws->pre[l], R * H);
        else
            ws->pre[l] = ws->act[l];
    }
    TAKE(ws->logits, R * V);
    TAKE(ws->scratch, R * V);
    TAKE(ws->dh, RBR * H);
    if (L > 1) TAKE(ws->dh2, RBR * H);
    TAKE(ws->lpbuf, R);
    TAKE(ws->lz, R);
#undef TAKE
    ws->ctx = ws->ibuf;
    ws->ybuf = ws->ibuf + R * K;
    /* defined contents, so a backward before any forward reads zeros, not garbage */
    memset(ws->block, 0, nf * sizeof(float));
    memset(ws->ibuf, 0, R * (K + 1) * sizeof(int));
    *out = ws;
    return 0;
}

void rt_policy_ws_free(rt_policy_ws *ws)
{
    if (!ws) return;
    rt_free(ws->block);
    rt_free(ws->ibuf);
    rt_free(ws->rngs);
    rt_free(ws);
}

int rt_policy_ws_rows(const rt_policy_ws *ws)
{
    return ws->max_rows;
}

float *rt_policy_ws_logits(rt_policy_ws *ws)
{
    return ws->logits;
}

float *rt_policy_ws_scratch(rt_policy_ws *ws)
{
    return ws->scratch;
}

const float *rt_policy_ws_lognorm(const rt_policy_ws *ws)
{
    return ws->lz;
}

const int *rt_policy_ws_ctx(const rt_policy_ws *ws)
{
    return ws->ctx;
}

/* ---- forward / backward ------------------------------------------------------------ */

void rt_policy_context(int *out, const int *seq, int pos, int K)
{
    for (int i = 0; i < K; i++) {
        int j = pos - K + i;
        out[i] = j < 0 ? RT_POLICY_PAD : seq[j];
    }
}

static int check_rows(const rt_policy_config *c, const rt_policy_ws *ws, int n, int row0)
{
    if (!rt_policy_same_shape(c, &ws->cfg)) return RT_ESHAPE;
    if (n < 0 || row0 < 0) return RT_EINVAL;
    if ((long)row0 + n > ws->max_rows) return RT_ECAP;
    return 0;
}

/* One block of m <= RB contexts ctx (m, K): activations into rows [arow, arow + m) of
 * pre/act, logits (m, V) into `logits`. */
void rt_mlp_forward_block(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int m, size_t arow,
                          float *logits)
{
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context, H = c->hidden, L = c->layers;
    size_t r = arow * H;
    if (c->act == RT_NN_ACT_RELU) { /* pre == act: layer 1 and ReLU in one pass */
        rt_nn_table_forward_relu(ws->act[0] + r, ctx, ws->table, p->p.b1, m, K, V, H);
    } else {
        rt_nn_table_forward(ws->pre[0] + r, ctx, ws->table, p->p.b1, m, K, V, H);
        rt_nn_act_forward(c->act, ws->act[0] + r, ws->pre[0] + r, (size_t)m * H);
    }
    for (int l = 1; l < L; l++) {
        rt_nn_linear_forward(ws->pre[l] + r, ws->act[l - 1] + r, p->p.wh[l - 1], p->p.bh[l - 1], m,
                             H, H);
        rt_nn_act_forward(c->act, ws->act[l] + r, ws->pre[l] + r, (size_t)m * H);
    }
    /* output layer: logits (m, V) = bo + act (m, H) @ wo^T, wo^T (H, V) cached with the
     * table; rt_nn_mm's register tiles suit this narrow product (V columns) */
    rt_nn_mm(logits, V, ws->act[L - 1] + r, H, 0, ws->woT, V, p->p.bo, 0, m, V, H);
}

int rt_mlp_prepare(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0)
{
    int rc = check_rows(&p->cfg, ws, n, row0);
    if (rc) return rc;
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context;
    for (long i = 0; i < (long)n * K; i++)
        if (ctx[i] < 0 || ctx[i] >= V) return RT_EINVAL;
    if (ws->table_version != p->version) {
        rt_nn_table_build(ws->table, p->p.emb, p->p.w1, V, K, c->embed, c->hidden);
        int H = c->hidden;
        for (int v = 0; v < V; v++)
            for (int h = 0; h < H; h++)
                ws->woT[(size_t)h * V + v] = p->p.wo[(size_t)v * H + h];
        ws->table_version = p->version;
    }
    int *wctx = ws->ctx + (size_t)row0 * K;
    if (wctx != ctx) memmove(wctx, ctx, sizeof(int) * n * K);
    return 0;
}

int rt_mlp_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0,
                   float *logits)
{
    /* ctx (n, K) -> rows [row0, row0+n) of pre/act (.., H) and logits (n, V) */
    int rc = rt_mlp_prepare(p, ws, ctx, n, row0);
    if (rc) return rc;
    int V = p->cfg.vocab, K = p->cfg.context;
    for (int b0 = 0; b0 < n; b0 += RB) {
        size_t r = (size_t)row0 + b0;
        rt_mlp_forward_block(p, ws, ws->ctx + r * K, n - b0 < RB ? n - b0 : RB, r,
                             logits + (size_t)b0 * V);
    }
    return 0;
}

int rt_policy_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0)
{
    return rt_mlp_forward(p, ws, ctx, n, row0, ws->logits + (size_t)row0 * p->cfg.vocab);
}

typedef struct {
    const rt_policy *p;
    rt_policy_ws *ws;
    int n;
    const int *y;
    float temperature;
    float *lp;
    float *logits; /* (n, V) out */
} score_job;

static void score_task(void *arg, int j, int nth)
{
    /* blocks b = j, j + nth, ...; activations in scratch rows [j*SB, (j+1)*SB); the
     * token log-probs of each block while its logits are in cache */
    score_job *a = arg;
    int V = a->p->cfg.vocab, K = a->p->cfg.context, nb = (a->n + SB - 1) / SB;
    for (int b = j; b < nb; b += nth) {
        int b0 = b * SB, m = a->n - b0 < SB ? a->n - b0 : SB;
        float *lg = a->logits + (size_t)b0 * V;
        rt_mlp_forward_block(a->p, a->ws, a->ws->ctx + (size_t)b0 * K, m, (size_t)j * SB, lg);
        if (a->y) rt_nn_token_logprob(a->lp + b0, lg, a->y + b0, m, V, a->temperature);
    }
}

int rt_policy_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                    float temperature, float *lp)
{
    return rt_mlp_score(p, ws, ctx, n, y, temperature, lp, ws->logits);
}

int rt_mlp_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                 float temperature, float *lp, float *logits)
{
    /* as rt_policy_forward into rows [0, n), activations only in scratch rows */
    int rc = rt_mlp_prepare(p, ws, ctx, n, 0);
    if (rc) return rc;
    if (y) {
        if (!(temperature > 0.0f) || !lp) return RT_EINVAL;
        for (int i = 0; i < n; i++)
            if (y[i] < 0 || y[i] >= p->cfg.vocab) return RT_EINVAL;
    }
    int nth = ws->threads;
    while (nth > 1 && (long)nth * SB > ws->max_rows)
        nth--;
    score_job a = {p, ws, n, y, temperature, lp, logits};
    rt_nn_parallel(nth, score_task, &a);
    return 0;
}

typedef struct {
    rt_policy *p;
    rt_policy_ws *ws;
    const float *dlogits;
    int n, row0, slice;
} bwd_job;

/* one column slice [h0, h1) of the single-hidden-layer backward, over all row blocks */
static void bwd_slice_task(void *arg, int j, int nth)
{
    (void)nth;
    bwd_job *a = arg;
    rt_policy *p = a->p;
    rt_policy_ws *ws = a->ws;
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context, H = c->hidden;
    int h0 = j * a->slice, h1 = h0 + a->slice < H ? h0 + a->slice : H;
    if (h0 >= h1) return;
    for (int b0 = 0; b0 < a->n; b0 += RB) {
        int m = a->n - b0 < RB ? a->n - b0 : RB;
        size_t r = ((size_t)a->row0 + b0) * H;
        const float *dl = a->dlogits + (size_t)b0 * V;
        /* the next block's activations (strided rows of the kept forward, usually out of
         * L2): requested now, they arrive while this block computes (hardware
         * prefetchers do not follow the row stride) */
        if (b0 + RB < a->n) {
            int mn = a->n - b0 - RB < RB ? a->n - b0 - RB : RB;
            const float *nx = ws->act[0] + ((size_t)a->row0 + b0 + RB) * H + h0;
            for (int i = 0; i < mn; i++)
                for (int h = 0; h < h1 - h0; h += 16)
                    __builtin_prefetch(nx + (size_t)i * H + h);
        }
        /* dW_o[:, h0:h1] += dl^T act[:, h0:h1];  d[:, h0:h1] = dl wo[:, h0:h1] */
        rt_nn_mm(p->g.wo + h0, H, dl, V, 1, ws->act[0] + r + h0, H, NULL, 1, V, h1 - h0, m);
        rt_nn_mm(ws->dh + h0, H, dl, V, 0, p->p.wo + h0, H, NULL, 0, m, h1 - h0, V);
        const int *cx = ws->ctx + ((size_t)a->row0 + b0) * K;
        if (c->act == RT_NN_ACT_RELU) { /* mask fused into the scatter */
            rt_nn_table_backward_relu_cols(ws->dtable, p->g.b1, ws->dh, ws->act[0] + r, cx, m, K, V,
                                           H, h0, h1);
        } else {
            for (int i = 0; i < m; i++)
                rt_nn_act_grad(c->act, ws->dh + (size_t)i * H + h0,
                               ws->pre[0] + r + (size_t)i * H + h0,
                               ws->act[0] + r + (size_t)i * H + h0, (size_t)(h1 - h0));
            rt_nn_table_backward_cols(ws->dtable, p->g.b1, ws->dh, cx, m, K, V, H, h0, h1);
        }
    }
}

int rt_policy_backward(rt_policy *p, rt_policy_ws *ws, const float *dlogits, int n, int row0)
{
    /* per block of rows: output layer dW (V, H) += dl^T act, db += colsum(dl),
     * d (m, H) = dl wo; hidden layers likewise; layer 1: mask, scatter into dU (K*V, H);
     * finally dE, dW1 from dU (rt_nn_table_grad).  With one hidden layer and threads > 1,
     * threads take column slices of H (each element summed in the same order). */
    int rc = check_rows(&p->cfg, ws, n, row0);
    if (rc) return rc;
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context, D = c->embed, H = c->hidden, L = c->layers;
    if (n == 0) return 0;
    memset(ws->dtable, 0, sizeof(float) * (size_t)K * V * H);
    if (L == 1) {
        int nth = ws->threads;
        int slice = ((H + nth - 1) / nth + 15) / 16 * 16;
        bwd_job a = {p, ws, dlogits, n, row0, slice};
        rt_nn_parallel((H + slice - 1) / slice, bwd_slice_task, &a);
        for (int b0 = 0; b0 < n; b0 += RB) { /* db_o += colsum(dl), in row order */
            int m = n - b0 < RB ? n - b0 : RB;
            for (int i = 0; i < m; i++)
                for (int v = 0; v < V; v++)
                    p->g.bo[v] += dlogits[((size_t)b0 + i) * V + v];
        }
    } else {
        for (int b0 = 0; b0 < n; b0 += RB) {
            int m = n - b0 < RB ? n - b0 : RB;
            size_t r = ((size_t)row0 + b0) * H;
            const float *dl = dlogits + (size_t)b0 * V;
            rt_nn_linear_backward(NULL, p->g.wo, p->g.bo, dl, ws->act[L - 1] + r, p->p.wo, m, H, V);
            float *d = ws->dh, *d2 = ws->dh2;
            rt_nn_sgemm(0, 0, m, H, V, 1.0f, dl, V, p->p.wo, H, 0.0f, d, H);
            for (int l = L - 1; l >= 1; l--) {
                rt_nn_act_grad(c->act, d, ws->pre[l] + r, ws->act[l] + r, (size_t)m * H);
                rt_nn_linear_backward(NULL, p->g.wh[l - 1], p->g.bh[l - 1], d, ws->act[l - 1] + r,
                                      p->p.wh[l - 1], m, H, H);
                rt_nn_sgemm(0, 0, m, H, H, 1.0f, d, H, p->p.wh[l - 1], H, 0.0f, d2, H);
                float *t = d;
                d = d2, d2 = t;
            }
            rt_nn_act_grad(c->act, d, ws->pre[0] + r, ws->act[0] + r, (size_t)m * H);
            rt_nn_table_backward(ws->dtable, p->g.b1, d, ws->ctx + ((size_t)row0 + b0) * K, m, K, V,
                                 H);
        }
    }
    rt_nn_table_grad(p->g.emb, p->g.w1, ws->dtable, p->p.emb, p->p.w1, V, K, D, H);
    return 0;
}

int rt_policy_logprobs(const rt_policy *p, rt_policy_ws *ws, const int *ctx, const int *y, int n,
                       float *out)
{
    int rc = rt_policy_forward(p, ws, ctx, n, 0);
    if (rc) return rc;
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= p->cfg.vocab) return RT_EINVAL;
    rt_nn_token_logprob(out, ws->logits, y, n, p->cfg.vocab, 1.0f);
    return 0;
}

int rt_policy_xent(rt_policy *p, rt_policy_ws *ws, const int *ctx, const int *y, int n, float *loss)
{
    int rc = rt_policy_forward(p, ws, ctx, n, 0);
    if (rc) return rc;
    int V = p->cfg.vocab, cnt = 0;
    for (int i = 0; i < n; i++) {
        if (y[i] >= V) return RT_EINVAL;
        cnt += y[i] >= 0;
    }
    *loss = 0.0f;
    if (!cnt) return 0;
    memset(ws->scratch, 0, sizeof(float) * (size_t)n * V);
    *loss = (float)rt_nn_xent(ws->scratch, ws->logits, y, n, V, 1.0f / cnt);
    return rt_policy_backward(p, ws, ws->scratch, n, 0);
}

int rt_policy_probs(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, float *probs)
{
    int rc = rt_policy_forward(p, ws, ctx, n, 0);
    if (rc) return rc;
    size_t V = p->cfg.vocab;
    rt_nn_log_softmax(probs, ws->logits, n, (int)V, 1.0f);
    for (size_t i = 0; i < (size_t)n * V; i++)
        probs[i] = rt_nn_expf(probs[i]);
    return 0;
}

int rt_policy_kl(const rt_policy *p, rt_policy_ws *wsp, const rt_policy *q, rt_policy_ws *wsq,
                 const int *ctx, int n, double *kl, double *ent)
{
    if (p->cfg.vocab != q->cfg.vocab || p->cfg.context != q->cfg.context) return RT_ESHAPE;
    int rc = rt_policy_forward(p, wsp, ctx, n, 0);
    if (!rc) rc = rt_policy_forward(q, wsq, ctx, n, 0);
    if (rc) return rc;
    double sk = 0, se = 0;
    int V = p->cfg.vocab;
    for (int i = 0; i < n; i++) {
        float k, e;
        rt_nn_kl_entropy(&k, &e, wsp->logits + (size_t)i * V, wsq->logits + (size_t)i * V, 1, V);
        sk += k, se += e;
    }
    if (kl) *kl = n ? sk / n : 0.0;
    if (ent) *ent = n ? se / n : 0.0;
    return 0;
}

/* ---- sampling ------------------------------------------------------------------------ */

typedef struct {
    const rt_policy *p;
    rt_policy_ws *ws;
    const int *prompts;
    int B, P, T, keep;
    float temperature;
    int *tokens;
    float *lp;
} gen_job;

/* sequence groups g = j, j + nth, ... of RB sequences each, all T steps */
static void gen_task(void *arg, int j, int nth)
{
    gen_job *a = arg;
    rt_policy_ws *ws = a->ws;
    int K = a->p->cfg.context, V = a->p->cfg.vocab, B = a->B, P = a->P, T = a->T;
    int ng = (B + RB - 1) / RB;
    for (int g = j; g < ng; g += nth) {
        int g0 = g * RB, gn = B - g0 < RB ? B - g0 : RB;
        for (int t = 0; t < T; t++) {
            size_t row = (size_t)(a->keep ? t * B : 0) + g0;
            int *c = ws->ctx + row * K;
            for (int b = g0; b < g0 + gn; b++) {
                /* position P + t of sequence b = prompt b ++ tokens b[0..t) */
                int *o = c + (size_t)(b - g0) * K;
                for (int i = 0; i < K; i++) {
                    int q = P + t - K + i;
                    o[i] = q < 0 ? RT_POLICY_PAD
                                 : (q < P ? a->prompts[(size_t)b * P + q]
                                          : a->tokens[(size_t)b * T + q - P]);
                }
            }
            rt_mlp_forward_block(a->p, ws, c, gn, row, ws->logits + row * V);
            rt_nn_sample_lz(ws->ybuf + g0, ws->lpbuf + g0, ws->lz + row, ws->logits + row * V, gn,
                            V, a->temperature, ws->rngs + g0);
            for (int b = g0; b < g0 + gn; b++) {
                a->tokens[(size_t)b * T + t] = ws->ybuf[b];
                if (a->lp) a->lp[(size_t)b * T + t] = ws->lpbuf[b];
            }
        }
    }
}

int rt_policy_generate(const rt_policy *p, rt_policy_ws *ws, const int *prompts, int B, int P,
                       int T, float temperature, const rt_rng *rng, uint64_t seq0, int *tokens,
                       float *lp)
{
    int V = p->cfg.vocab;
    if (B < 0 || P < 0 || T < 0) return RT_EINVAL;
    if (!rt_policy_same_shape(&p->cfg, &ws->cfg)) return RT_ESHAPE;
    if (B > ws->max_rows) return RT_ECAP;
    for (int i = 0; i < B * P; i++)
        if (prompts[i] < 0 || prompts[i] >= V) return RT_EINVAL;
    int rc = rt_mlp_prepare(p, ws, prompts, 0, 0); /* refreshes the table */
    if (rc) return rc;
    for (int b = 0; b < B; b++)
        ws->rngs[b] = rt_rng_split(rng, seq0 + (uint64_t)b);
    gen_job a = {p, ws, prompts, B, P, T, (long)B * T <= ws->max_rows, temperature, tokens, lp};
    rt_nn_parallel(ws->threads, gen_task, &a);
    return 0;
}

/* ---- optimizer ------------------------------------------------------------------------ */

void rt_policy_zero_grad(rt_policy *p)
{
    rt_params_zero_grad(&p->params);
}

double rt_policy_grad_norm(const rt_policy *p)
{
    return rt_params_grad_norm(&p->params);
}

void rt_policy_adam(rt_policy *p, const rt_adam_config *c, float *grad_norm)
{
    rt_adam(&p->params, c, grad_norm);
    rt_policy_touch(p);
}
