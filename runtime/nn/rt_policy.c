/* rt_policy.c: the `mlp` policy (see rt_policy.h): its views into the parameter block,
 * workspaces (rt_policy_int.h), forward/backward with the fused first layer; the block
 * and Adam are rt_params.c's.  Its ops table (the model interface, where sequences
 * become contexts, and generation, losses and log-probs come from rt_model.c) is
 * rt_model_mlp.c, files are rt_model_io.c's.  Leaves out: threading of non-GEMM loops. */
#include "rt_policy.h"
#include "rt_policy_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_cancel.h"

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
 * Coarse regions only (a whole scoring pass, a whole backward), so
 * threads are created per region.  Work is split into pieces fixed by the data (row
 * blocks, column slices), never by timing; each piece
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
    if (p->model.ops && p->model.ops != &rt_model_mlp) { /* another model behind the header */
        p->model.ops->destroy(&p->model);
        return;
    }
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
    *out = NULL;
    if (src->model.ops != &rt_model_mlp) /* a header of another model (a tilt) */
        return rt_diag_set(diag, RT_EINVAL, "policy copy: a '%s' model has no weights to copy",
                           src->model.ops->arch);
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
                RBR * H * (L > 1 ? 2 : 1) + 16 * (7 + 2 * L);
    rt_policy_ws *ws = rt_calloc(1, sizeof *ws);
    if (ws) {
        /* zeroed, so a backward before any forward reads zeros, not garbage; calloc
           gets large blocks as fresh zero pages, touched only when used (no seconds of
           memset before the first step of a large workspace) */
        ws->block = rt_calloc(nf, sizeof(float));
        ws->ibuf = rt_calloc(R * (K + 1), sizeof(int));
    }
    if (!ws || !ws->block || !ws->ibuf) {
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
#undef TAKE
    ws->ctx = ws->ibuf;
    ws->ybuf = ws->ibuf + R * K;
    *out = ws;
    return 0;
}

void rt_policy_ws_free(rt_policy_ws *ws)
{
    if (!ws) return;
    rt_free(ws->block);
    rt_free(ws->ibuf);
    rt_free(ws);
}

/* ---- forward / backward ------------------------------------------------------------ */

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

/* A pass over n rows long enough (~0.5 ms and more) to poll the cancel point per block
 * of rows (rt_cancel.h); shorter passes always run whole. */
static int long_pass(const rt_policy_config *c, int n)
{
    double flop = 2.0 * n * c->hidden * ((double)c->context + c->vocab +
                                         (double)c->hidden * (c->layers - 1));
    return flop >= 5e7;
}

int rt_mlp_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0,
                   float *logits)
{
    /* ctx (n, K) -> rows [row0, row0+n) of pre/act (.., H) and logits (n, V) */
    int rc = rt_mlp_prepare(p, ws, ctx, n, row0);
    if (rc) return rc;
    int V = p->cfg.vocab, K = p->cfg.context, poll = long_pass(&p->cfg, n);
    for (int b0 = 0; b0 < n; b0 += RB) {
        if (poll && rt_cancel_poll()) break; /* cancelled: the rows stay incomplete */
        size_t r = (size_t)row0 + b0;
        rt_mlp_forward_block(p, ws, ws->ctx + r * K, n - b0 < RB ? n - b0 : RB, r,
                             logits + (size_t)b0 * V);
    }
    return 0;
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

int rt_mlp_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                 float temperature, float *lp, float *logits)
{
    /* as rt_mlp_forward into rows [0, n), activations only in scratch rows */
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
    const float *dfeat; /* NULL, or the features' gradient (rt_policy_backward_feat) */
    int n, row0, slice;
} bwd_job;

/* d[i][h0, h1) += dfeat's row of kept row row0 + b0 + i (i < m): the features' gradient
 * enters where the output layer's does (d loss / d act[L-1]); dfeat is sequence-major,
 * the kept rows time-major when ws->tm_B > 0 */
static void add_dfeat(float *d, const rt_policy_ws *ws, const float *dfeat, int b0, int m, int H,
                      int h0, int h1)
{
    for (int i = 0; i < m; i++) {
        size_t r = (size_t)b0 + i;
        size_t q = ws->tm_B > 0 ? (r % (size_t)ws->tm_B) * ws->tm_T + r / (size_t)ws->tm_B : r;
        const float *g = dfeat + q * H;
        float *o = d + (size_t)i * H;
        for (int h = h0; h < h1; h++)
            o[h] += g[h];
    }
}

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
    int poll = long_pass(c, a->n);
    for (int b0 = 0; b0 < a->n; b0 += RB) {
        if (poll && rt_cancel_poll()) break; /* cancelled: the gradient stays incomplete */
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
        if (a->dfeat) add_dfeat(ws->dh, ws, a->dfeat, b0, m, H, h0, h1);
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
    return rt_policy_backward_feat(p, ws, dlogits, NULL, n, row0);
}

int rt_policy_backward_feat(rt_policy *p, rt_policy_ws *ws, const float *dlogits,
                            const float *dfeat, int n, int row0)
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
        bwd_job a = {p, ws, dlogits, dfeat, n, row0, slice};
        rt_nn_parallel((H + slice - 1) / slice, bwd_slice_task, &a);
        for (int b0 = 0; b0 < n; b0 += RB) { /* db_o += colsum(dl), in row order */
            int m = n - b0 < RB ? n - b0 : RB;
            for (int i = 0; i < m; i++)
                for (int v = 0; v < V; v++)
                    p->g.bo[v] += dlogits[((size_t)b0 + i) * V + v];
        }
    } else {
        int poll = long_pass(c, n);
        for (int b0 = 0; b0 < n; b0 += RB) {
            if (poll && rt_cancel_poll()) break; /* cancelled: the gradient stays incomplete */
            int m = n - b0 < RB ? n - b0 : RB;
            size_t r = ((size_t)row0 + b0) * H;
            const float *dl = dlogits + (size_t)b0 * V;
            rt_nn_linear_backward(NULL, p->g.wo, p->g.bo, dl, ws->act[L - 1] + r, p->p.wo, m, H, V);
            float *d = ws->dh, *d2 = ws->dh2;
            rt_nn_sgemm(0, 0, m, H, V, 1.0f, dl, V, p->p.wo, H, 0.0f, d, H);
            if (dfeat) add_dfeat(d, ws, dfeat, b0, m, H, 0, H);
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
