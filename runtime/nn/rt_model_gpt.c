/* rt_model_gpt.c: the `gpt` architecture (see rt_model_gpt.h): its keys, parameter
 * views, GPT-2 initialization, the workspace of kept activation rows, the forward pass of
 * one sequence (shared by full passes and the KV cache's extend), and backward.
 *
 * Rows.  A pass lays its sequences out one after the other: sequence s has n_s input rows
 * (inputs 0 .. hi_s - 1) from row off_s; its output rows are inputs [lo_s, n_s), written
 * sequence-major at out row orow_s (LN_f's rows are kept by output row, so the head's
 * backward is one product).  A generation's sequence s has P + T rows at
 * off_s = s (P + T), lo_s = P: extend fills them one position at a time, and backward
 * reads them as it reads a forward's.  Leaves out: the layer pairs (rt_nn.h). */
#include "rt_model_gpt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_cancel.h"
#include "rt_nn.h"

enum { K_LAYERS, K_HEADS, K_WIDTH, K_CONTEXT, K_RATIO, K_DROPOUT, NKEYS };

static const rt_model_key keys[NKEYS] = {
    {"layers", 2, 1, RT_GPT_MAX_LAYERS, NULL, "transformer blocks"},
    {"heads", 4, 1, 16, NULL, "attention heads (width must be a multiple)"},
    {"width", 64, 8, 512, NULL, "model width d_model"},
    {"context", 32, 2, 256, NULL, "positions (BOS + tokens) a sequence may use"},
    {"mlp_ratio", 4, 1, 8, NULL, "MLP hidden width / d_model"},
    {"dropout", 0, 0, 0, NULL, "dropout must be 0 (determinism)"},
};

typedef struct gpt {
    rt_model model; /* first */
    int cfg[NKEYS];
    int V, NL, NH, C, CTX, H;
    rt_params params;
    rt_gpt_views p, g;
} gpt;

/* activations of one layer, each (cap rows, width) */
typedef struct {
    float *ln1, *ln1m, *ln1r, *qkv, *atty, *att, *res2, *ln2, *ln2m, *ln2r, *fch, *fchg, *res3;
} gpt_acts;

typedef struct {
    int V, NL, NH, C, CTX, H, max_rows, threads;
    size_t cap;   /* rows of every activation buffer */
    float *block; /* one allocation: every float buffer below */
    gpt_acts a[RT_GPT_MAX_LAYERS];
    float *x0, *lnf, *lnfm, *lnfr;                   /* (cap, C), (cap) */
    float *dres, *dln, *dqkv, *datty, *dfch, *dfchg; /* backward: (cap, C / 3C / H) */
    int *inp;                                        /* (cap) input token of each row */
    int bcap, B;                                     /* sequences: capacity, last pass */
    int *off, *n, *lo, *orow;                        /* (bcap) the last pass's layout */
    float *gen;                                      /* (bcap, V) extend's logits */
} gws;

static const gpt *cgpt(const rt_model *m)
{
    return (const gpt *)m;
}

/* ---- configuration and parameters ------------------------------------------------ */

static int check(int vocab, const int *c, char *msg, size_t cap)
{
    (void)vocab;
    for (int i = 0; i < NKEYS; i++)
        if (c[i] < keys[i].min || c[i] > keys[i].max) {
            if (i == K_DROPOUT)
                snprintf(msg, cap, "gpt: dropout must be 0 (determinism) (got %d)", c[i]);
            else
                snprintf(msg, cap, "gpt: %s must be in %d..%d (got %d)", keys[i].name, keys[i].min,
                         keys[i].max, c[i]);
            return RT_EINVAL;
        }
    if (c[K_WIDTH] % c[K_HEADS]) {
        snprintf(msg, cap, "gpt: width (%d) must be a multiple of heads (%d)", c[K_WIDTH],
                 c[K_HEADS]);
        return RT_EINVAL;
    }
    return 0;
}

/* Carves the block in the documented order; returns its floats (base may be NULL). */
static size_t carve(int V, const int *c, float *base, rt_gpt_views *v)
{
    size_t C = c[K_WIDTH], H = C * c[K_RATIO], off = 0;
    rt_gpt_views tmp;
    if (!v) v = &tmp;
    memset(v, 0, sizeof *v);
#define TAKE(field, count)                                                                         \
    do {                                                                                           \
        field = base ? base + off : NULL;                                                          \
        off += (count);                                                                            \
    } while (0)
    TAKE(v->wte, (size_t)V * C);
    TAKE(v->wpe, (size_t)c[K_CONTEXT] * C);
    for (int l = 0; l < c[K_LAYERS]; l++) {
        rt_gpt_layer *L = &v->l[l];
        TAKE(L->ln1_w, C);
        TAKE(L->ln1_b, C);
        TAKE(L->qkv_w, C * 3 * C);
        TAKE(L->qkv_b, 3 * C);
        TAKE(L->proj_w, C * C);
        TAKE(L->proj_b, C);
        TAKE(L->ln2_w, C);
        TAKE(L->ln2_b, C);
        TAKE(L->fc_w, H * C);
        TAKE(L->fc_b, H);
        TAKE(L->fc2_w, C * H);
        TAKE(L->fc2_b, C);
    }
    TAKE(v->lnf_w, C);
    TAKE(v->lnf_b, C);
    TAKE(v->head_w, (size_t)V * C);
    TAKE(v->head_b, (size_t)V);
#undef TAKE
    return off;
}

static size_t nparams(int vocab, const int *cfg)
{
    return carve(vocab, cfg, NULL, NULL);
}

int rt_gpt_views_of(rt_model *m, int grad, rt_gpt_views *out)
{
    if (!m || m->ops != &rt_model_gpt) return RT_EINVAL;
    gpt *g = (gpt *)m;
    *out = grad ? g->g : g->p;
    return 0;
}

static int create(rt_model **out, int vocab, const int *cfg)
{
    *out = NULL;
    gpt *g = rt_calloc(1, sizeof *g);
    if (!g || rt_params_create(&g->params, carve(vocab, cfg, NULL, NULL))) {
        rt_free(g);
        return RT_ENOMEM;
    }
    memcpy(g->cfg, cfg, sizeof g->cfg);
    g->V = vocab, g->NL = cfg[K_LAYERS], g->NH = cfg[K_HEADS], g->C = cfg[K_WIDTH];
    g->CTX = cfg[K_CONTEXT], g->H = cfg[K_WIDTH] * cfg[K_RATIO];
    g->model.ops = &rt_model_gpt, g->model.params = &g->params, g->model.vocab = vocab;
    carve(vocab, cfg, g->params.w, &g->p);
    carve(vocab, cfg, g->params.g, &g->g);
    *out = &g->model;
    return 0;
}

static void destroy(rt_model *m)
{
    gpt *g = (gpt *)m;
    rt_params_free(&g->params);
    rt_free(g);
}

static void config(const rt_model *m, int *cfg)
{
    memcpy(cfg, cgpt(m)->cfg, sizeof(int) * NKEYS);
}

static void init(rt_model *m, const rt_rng *rng)
{
    /* tensor i of the block (in order) from rt_rng_split(rng, i): weights N(0, std),
     * biases 0, LayerNorm weights 1 */
    gpt *g = (gpt *)m;
    size_t C = g->C, H = g->H;
    float sd = 0.02f, sdr = (float)(0.02 / sqrt(2.0 * g->NL));
    uint64_t id = 0;
    struct {
        float *x;
        size_t n;
        int kind; /* 0 normal(std), 1 zero, 2 one */
        float std;
    } t[4 + 12 * RT_GPT_MAX_LAYERS + 4];
    int nt = 0;
#define T(ptr, count, k, s) t[nt].x = ptr, t[nt].n = count, t[nt].kind = k, t[nt].std = s, nt++
    T(g->p.wte, (size_t)g->V * C, 0, sd);
    T(g->p.wpe, (size_t)g->CTX * C, 0, sd);
    for (int l = 0; l < g->NL; l++) {
        rt_gpt_layer *L = &g->p.l[l];
        T(L->ln1_w, C, 2, 0);
        T(L->ln1_b, C, 1, 0);
        T(L->qkv_w, 3 * C * C, 0, sd);
        T(L->qkv_b, 3 * C, 1, 0);
        T(L->proj_w, C * C, 0, sdr);
        T(L->proj_b, C, 1, 0);
        T(L->ln2_w, C, 2, 0);
        T(L->ln2_b, C, 1, 0);
        T(L->fc_w, H * C, 0, sd);
        T(L->fc_b, H, 1, 0);
        T(L->fc2_w, C * H, 0, sdr);
        T(L->fc2_b, C, 1, 0);
    }
    T(g->p.lnf_w, C, 2, 0);
    T(g->p.lnf_b, C, 1, 0);
    T(g->p.head_w, (size_t)g->V * C, 0, sd);
    T(g->p.head_b, (size_t)g->V, 1, 0);
#undef T
    for (int i = 0; i < nt; i++, id++) {
        rt_rng r = rt_rng_split(rng, id);
        for (size_t j = 0; j < t[i].n; j++)
            t[i].x[j] = t[i].kind == 0 ? t[i].std * rt_rng_normal(&r) : (float)(t[i].kind - 1);
    }
}

static void touch(rt_model *m)
{
    (void)m; /* no caches of the weights */
}

/* ---- workspace ---------------------------------------------------------------------- */

static int ws_create(const rt_model *m, int max_rows, void **out)
{
    const gpt *g = cgpt(m);
    gws *w = rt_calloc(1, sizeof *w);
    *out = w;
    if (!w) return RT_ENOMEM;
    w->V = g->V, w->NL = g->NL, w->NH = g->NH, w->C = g->C, w->CTX = g->CTX, w->H = g->H;
    w->max_rows = max_rows, w->threads = 1;
    return 0;
}

static void ws_free(void *impl)
{
    gws *w = impl;
    if (!w) return;
    rt_free(w->block);
    rt_free(w->inp);
    rt_free(w->off);
    rt_free(w->gen);
    rt_free(w);
}

static void ws_set_threads(void *impl, int threads)
{
    ((gws *)impl)->threads = threads;
}

/* activation floats per row */
static size_t row_floats(const gws *w)
{
    size_t C = w->C, H = w->H;
    size_t layer = 8 * C + 2 * H + 4 + (size_t)w->NH * w->CTX;
    return w->NL * layer + 2 * C + 2 + 6 * C + 2 * H;
}

/* room for `rows` activation rows and B sequences (grows; contents not kept) */
static int ensure(gws *w, size_t rows, int B)
{
    if (rows > w->cap) {
        rt_free(w->block), rt_free(w->inp);
        w->cap = 0;
        size_t R = rows, C = w->C, H = w->H;
        w->block = rt_calloc(R * row_floats(w) + 16, sizeof(float));
        w->inp = rt_calloc(R, sizeof(int));
        if (!w->block || !w->inp) return RT_ENOMEM;
        float *f = w->block;
#define TAKE(ptr, count) (ptr = f, f += (count))
        for (int l = 0; l < w->NL; l++) {
            gpt_acts *a = &w->a[l];
            TAKE(a->ln1, R * C);
            TAKE(a->ln1m, R);
            TAKE(a->ln1r, R);
            TAKE(a->qkv, 3 * R * C);
            TAKE(a->atty, R * C);
            TAKE(a->att, R * w->NH * w->CTX);
            TAKE(a->res2, R * C);
            TAKE(a->ln2, R * C);
            TAKE(a->ln2m, R);
            TAKE(a->ln2r, R);
            TAKE(a->fch, R * H);
            TAKE(a->fchg, R * H);
            TAKE(a->res3, R * C);
        }
        TAKE(w->x0, R * C);
        TAKE(w->lnf, R * C);
        TAKE(w->lnfm, R);
        TAKE(w->lnfr, R);
        TAKE(w->dres, R * C);
        TAKE(w->dln, R * C);
        TAKE(w->dqkv, 3 * R * C);
        TAKE(w->datty, R * C);
        TAKE(w->dfch, R * H);
        TAKE(w->dfchg, R * H);
#undef TAKE
        w->cap = rows;
    }
    if (B > w->bcap) {
        rt_free(w->off), rt_free(w->gen);
        w->bcap = 0;
        w->off = rt_calloc(4 * (size_t)B, sizeof(int));
        w->gen = rt_calloc((size_t)B * w->V, sizeof(float));
        if (!w->off || !w->gen) return RT_ENOMEM;
        w->bcap = B;
    }
    w->n = w->off + w->bcap, w->lo = w->off + 2 * w->bcap, w->orow = w->off + 3 * w->bcap;
    return 0;
}

/* ---- forward of one sequence ---------------------------------------------------------- */

static void add_rows(float *restrict x, const float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* out (rows k = 0..M-1 at stride ldo) = bias + inp (stride ldi) @ W, W stored (Din, Dout):
 * rt_nn_mm, one fma chain per element from the bias, so a row's bits do not depend on M
 * or the strides (a full pass and the KV cache's batched rows agree) */
static void lin(float *out, size_t ldo, const float *inp, size_t ldi, const float *W,
                const float *bias, int M, int Din, int Dout)
{
    rt_nn_mm(out, (int)ldo, inp, (int)ldi, 0, W, Dout, bias, 0, M, Dout, Din);
}

/* LayerNorm of M rows at stride rs (rows) */
static void ln_rows(float *out, float *mean, float *rstd, const float *inp, const float *w,
                    const float *b, size_t r, int M, size_t rs, int C)
{
    if (rs == 1) {
        rt_nn_layernorm_forward(out + r * C, mean + r, rstd + r, inp + r * C, w, b, M, C);
        return;
    }
    for (int k = 0; k < M; k++, r += rs)
        rt_nn_layernorm_forward(out + r * C, mean + r, rstd + r, inp + r * C, w, b, 1, C);
}

/* The forward of M rows r_k = base + k rs at positions pos_k = pos0 + k dpos of their
 * sequences (each sequence's rows 0 .. pos_k - 1 already computed: their keys and values
 * feed attention), inputs w->inp.  A full pass is one sequence's rows (rs = dpos = 1), the
 * KV cache's step one row of each of n sequences (rs = P + T, dpos = 0).  Rows k >= k0 are
 * output rows: LN_f kept at output row orow0 + (k - k0) ostride, logits into out (row
 * k - k0, V floats each). */
static void rows_forward(const gpt *g, gws *w, size_t base, int M, size_t rs, int pos0, int dpos,
                         size_t orow0, size_t ostride, int k0, float *out)
{
    const int C = g->C, H = g->H, V = g->V, NH = g->NH, CTX = g->CTX;
    const size_t r0 = base, lc = rs * C, l3 = rs * 3 * C, lh = rs * H;
    for (int k = 0; k < M; k++) { /* x0 = wte[u] + wpe[pos] */
        size_t r = base + k * rs;
        float *x = w->x0 + r * C;
        const float *e = g->p.wte + (size_t)w->inp[r] * C;
        const float *pe = g->p.wpe + (size_t)(pos0 + k * dpos) * C;
        for (int c = 0; c < C; c++)
            x[c] = e[c] + pe[c];
    }
    for (int l = 0; l < g->NL; l++) {
        const rt_gpt_layer *L = &g->p.l[l];
        gpt_acts *a = &w->a[l];
        const float *in = l ? w->a[l - 1].res3 : w->x0;
        /* attention half: res2 = in + proj(attn(LN1(in))) */
        ln_rows(a->ln1, a->ln1m, a->ln1r, in, L->ln1_w, L->ln1_b, r0, M, rs, C);
        lin(a->qkv + r0 * 3 * C, l3, a->ln1 + r0 * C, lc, L->qkv_w, L->qkv_b, M, C, 3 * C);
        for (int k = 0; k < M; k++) {
            size_t r = base + k * rs, pos = (size_t)(pos0 + k * dpos), o = r - pos;
            rt_nn_attention_forward(a->atty + o * C, a->att + o * NH * CTX, a->qkv + o * 3 * C,
                                    (int)pos, (int)pos + 1, C, NH, CTX);
        }
        lin(a->res2 + r0 * C, lc, a->atty + r0 * C, lc, L->proj_w, L->proj_b, M, C, C);
        for (int k = 0; k < M; k++)
            add_rows(a->res2 + (r0 + k * rs) * C, in + (r0 + k * rs) * C, (size_t)C);
        /* MLP half: res3 = res2 + fc2(gelu(fc(LN2(res2)))) */
        ln_rows(a->ln2, a->ln2m, a->ln2r, a->res2, L->ln2_w, L->ln2_b, r0, M, rs, C);
        lin(a->fch + r0 * H, lh, a->ln2 + r0 * C, lc, L->fc_w, L->fc_b, M, C, H);
        for (int k = 0; k < M; k++) {
            size_t r = (r0 + k * rs) * H;
            rt_nn_act_forward(RT_NN_ACT_GELU, a->fchg + r, a->fch + r, (size_t)H);
        }
        lin(a->res3 + r0 * C, lc, a->fchg + r0 * H, lh, L->fc2_w, L->fc2_b, M, H, C);
        for (int k = 0; k < M; k++)
            add_rows(a->res3 + (r0 + k * rs) * C, a->res2 + (r0 + k * rs) * C, (size_t)C);
    }
    if (k0 >= M) return;
    const float *xl = w->a[g->NL - 1].res3;
    /* LN_f rows are kept by output row: rows orow0 + k ostride */
    for (int k = k0; k < M; k++) {
        size_t r = base + k * rs, q = orow0 + (k - k0) * ostride;
        int one = ostride != 1 || rs != 1, m = one ? 1 : M - k0;
        rt_nn_layernorm_forward(w->lnf + q * C, w->lnfm + q, w->lnfr + q, xl + r * C, g->p.lnf_w,
                                g->p.lnf_b, m, C);
        if (!one) break;
    }
    lin(out, (size_t)V, w->lnf + orow0 * C, ostride * C, g->p.head_w, g->p.head_b, M - k0, C, V);
}

typedef struct {
    const gpt *g;
    gws *w;
    const rt_model_batch *b;
    float *out, temperature, *y_lp;
} fwd_job;

static void fwd_task(void *arg, int j, int nth)
{
    fwd_job *a = arg;
    gws *w = a->w;
    int V = a->g->V;
    for (int s = j; s < w->B; s += nth) {
        if (!w->n[s]) continue;
        if (rt_cancel_poll()) return; /* cancelled: the pass is incomplete */
        float *o = a->out + (size_t)w->orow[s] * V;
        rows_forward(a->g, w, (size_t)w->off[s], w->n[s], 1, 0, 1, (size_t)w->orow[s], 1, w->lo[s],
                     o);
        if (a->y_lp) {
            const int *y = a->b->tokens + (size_t)s * a->b->L + w->lo[s];
            rt_nn_token_logprob(a->y_lp + w->orow[s], o, y, w->n[s] - w->lo[s], V, a->temperature);
        }
    }
}

static int forward(const rt_model *m, rt_model_ws *mws, const rt_model_batch *b, int keep,
                   float *out, float temperature, float *y_lp)
{
    (void)keep; /* every pass keeps its rows (they are its working memory) */
    const gpt *g = cgpt(m);
    gws *w = mws->impl;
    size_t rows = 0;
    for (int s = 0; s < b->B; s++) {
        int lo = b->lo ? b->lo[s] : b->from, hi = b->lo ? b->hi[s] : b->L;
        if (hi > lo && hi > g->CTX) return RT_EINVAL; /* more positions than context */
        rows += hi > lo ? (size_t)hi : 0;
    }
    int rc = ensure(w, rows ? rows : 1, b->B ? b->B : 1);
    if (rc) return rc;
    w->B = b->B;
    size_t off = 0, orow = 0;
    for (int s = 0; s < b->B; s++) {
        int lo = b->lo ? b->lo[s] : b->from, hi = b->lo ? b->hi[s] : b->L;
        w->n[s] = hi > lo ? hi : 0, w->lo[s] = lo, w->off[s] = (int)off, w->orow[s] = (int)orow;
        const int *seq = b->tokens + (size_t)s * b->L;
        for (int t = 0; t < w->n[s]; t++) /* the BOS shift */
            w->inp[off + t] = t ? seq[t - 1] : RT_MODEL_PAD;
        off += w->n[s], orow += w->n[s] ? hi - lo : 0;
    }
    int nth = w->threads < b->B ? w->threads : (b->B > 0 ? b->B : 1);
    fwd_job a = {g, w, b, out, temperature, y_lp};
    rt_nn_parallel(nth, fwd_task, &a);
    return 0;
}

/* ---- backward ------------------------------------------------------------------------ */

/* [lo, hi) of part j of nth of total, boundaries at multiples of align */
static void part(int total, int j, int nth, int align, int *lo, int *hi)
{
    int a = (int)((long)total * j / nth / align * align);
    int b = j + 1 == nth ? total : (int)((long)total * (j + 1) / nth / align * align);
    *lo = a < total ? a : total, *hi = b < total ? b : total;
}

/* One backward step split over threads: linear layers (thread j: rows [n0, n1) of dinp,
 * columns [c0, c1) of dW and db: every element is the same chain whatever the split),
 * LayerNorm's dinp (rows), attention (sequences j, j + nth, ...). */
typedef struct {
    int kind; /* 0 linear, 1 LayerNorm dinp, 2 attention */
    gws *w;
    float *dinp, *dW, *db;
    const float *dout, *inp, *W, *mean, *rstd, *qkv, *att;
    int N, Din, Dout;
} bwd_job;

static void bwd_task(void *arg, int j, int nth)
{
    bwd_job *a = arg;
    int n0, n1, c0, c1;
    part(a->N, j, nth, 1, &n0, &n1);
    if (a->kind == 0) {
        part(a->Dout, j, nth, 16, &c0, &c1);
        if (n1 > n0)
            rt_nn_sgemm(0, 1, n1 - n0, a->Din, a->Dout, 1.0f, a->dout + (size_t)n0 * a->Dout,
                        a->Dout, a->W, a->Dout, 1.0f, a->dinp + (size_t)n0 * a->Din, a->Din);
        if (c1 > c0)
            rt_nn_mm(a->dW + c0, a->Dout, a->inp, a->Din, 1, a->dout + c0, a->Dout, NULL, 1, a->Din,
                     c1 - c0, a->N);
        for (int n = 0; n < a->N; n++)
            for (int c = c0; c < c1; c++)
                a->db[c] += a->dout[(size_t)n * a->Dout + c];
    } else if (a->kind == 1) {
        size_t C = (size_t)a->Din;
        rt_nn_layernorm_backward(a->dinp + n0 * C, NULL, NULL, a->dout + n0 * C, a->inp + n0 * C,
                                 a->W, a->mean + n0, a->rstd + n0, n1 - n0, (int)C);
    } else {
        gws *w = a->w;
        size_t C = (size_t)w->C;
        for (int s = j; s < w->B; s += nth) {
            if (!w->n[s]) continue;
            size_t o = (size_t)w->off[s];
            rt_nn_attention_backward(a->dinp + o * 3 * C, a->dout + o * C, a->qkv + o * 3 * C,
                                     a->att + o * w->NH * w->CTX, w->n[s], (int)C, w->NH, w->CTX);
        }
    }
}

/* dinp (N, Din) += dout (N, Dout) @ W^T;  dW (Din, Dout) += inp^T @ dout;  db += the rows
 * of dout, each element summed over the rows in order */
static void lin_back(gws *w, float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int Din, int Dout)
{
    bwd_job a = {0, w, dinp, dW, db, dout, inp, W, NULL, NULL, NULL, NULL, N, Din, Dout};
    rt_nn_parallel(w->threads, bwd_task, &a);
}

/* LayerNorm backward: dinp rows on the threads, then dw, db over the rows in order */
static void ln_back(gws *w, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                    const float *wt, const float *mean, const float *rstd, int N, int C)
{
    bwd_job a = {1, w, dinp, NULL, NULL, dout, inp, wt, mean, rstd, NULL, NULL, N, C, 0};
    rt_nn_parallel(w->threads, bwd_task, &a);
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float nrm = (x[i] - mean[n]) * rstd[n];
            db[i] += dy[i];
            dw[i] += nrm * dy[i];
        }
    }
}

static int backward_impl(rt_model *m, rt_model_ws *mws, const float *dlogits, const float *dfeat)
{
    /* head and LN_f per sequence (its output rows), then every layer in reverse over all
     * rows at once (linear layers), attention per sequence, embeddings row by row */
    gpt *g = (gpt *)m;
    gws *w = mws->impl;
    const int C = g->C, H = g->H, V = g->V;
    size_t R = 0;
    for (int s = 0; s < w->B; s++)
        R = w->n[s] ? (size_t)w->off[s] + w->n[s] : R;
    if (!R) return 0;
    memset(w->dres, 0, sizeof(float) * R * C);
    memset(w->dln, 0, sizeof(float) * R * C);
    /* head over every output row at once (kept by output row), then LN_f per sequence */
    const float *xl = w->a[g->NL - 1].res3;
    int O = 0;
    for (int s = 0; s < w->B; s++)
        O += w->n[s] ? w->n[s] - w->lo[s] : 0;
    lin_back(w, w->dln, g->g.head_w, g->g.head_b, dlogits, w->lnf, g->p.head_w, O, C, V);
    if (dfeat) /* the features' gradient: LN_f's output rows are the features */
        add_rows(w->dln, dfeat, (size_t)O * C);
    for (int s = 0; s < w->B; s++) {
        if (!w->n[s]) continue;
        size_t S = (size_t)w->off[s] + w->lo[s], q = (size_t)w->orow[s];
        rt_nn_layernorm_backward(w->dres + S * C, g->g.lnf_w, g->g.lnf_b, w->dln + q * C,
                                 xl + S * C, g->p.lnf_w, w->lnfm + q, w->lnfr + q,
                                 w->n[s] - w->lo[s], C);
    }
    for (int l = g->NL - 1; l >= 0; l--) {
        if (rt_cancel_poll()) return 0; /* cancelled: the gradient stays incomplete */
        const rt_gpt_layer *L = &g->p.l[l];
        rt_gpt_layer *G = &g->g.l[l];
        gpt_acts *a = &w->a[l];
        const float *in = l ? w->a[l - 1].res3 : w->x0;
        /* dres = d res3 -> d res2 */
        memset(w->dfchg, 0, sizeof(float) * R * H);
        lin_back(w, w->dfchg, G->fc2_w, G->fc2_b, w->dres, a->fchg, L->fc2_w, (int)R, H, C);
        memset(w->dfch, 0, sizeof(float) * R * H);
        rt_nn_act_backward(RT_NN_ACT_GELU, w->dfch, w->dfchg, a->fch, a->fchg, R * H);
        memset(w->dln, 0, sizeof(float) * R * C);
        lin_back(w, w->dln, G->fc_w, G->fc_b, w->dfch, a->ln2, L->fc_w, (int)R, C, H);
        ln_back(w, w->dres, G->ln2_w, G->ln2_b, w->dln, a->res2, L->ln2_w, a->ln2m, a->ln2r, (int)R,
                C);
        /* dres = d res2 -> d in */
        memset(w->datty, 0, sizeof(float) * R * C);
        lin_back(w, w->datty, G->proj_w, G->proj_b, w->dres, a->atty, L->proj_w, (int)R, C, C);
        memset(w->dqkv, 0, sizeof(float) * R * 3 * C);
        bwd_job at = {2,    w,    w->dqkv, NULL,   NULL, w->datty, NULL, NULL,
                      NULL, NULL, a->qkv,  a->att, 0,    0,        0};
        rt_nn_parallel(w->threads, bwd_task, &at);
        memset(w->dln, 0, sizeof(float) * R * C);
        lin_back(w, w->dln, G->qkv_w, G->qkv_b, w->dqkv, a->ln1, L->qkv_w, (int)R, C, 3 * C);
        ln_back(w, w->dres, G->ln1_w, G->ln1_b, w->dln, in, L->ln1_w, a->ln1m, a->ln1r, (int)R, C);
    }
    for (int s = 0; s < w->B; s++) /* dwte, dwpe: rows in order */
        for (int t = 0; t < w->n[s]; t++) {
            size_t r = (size_t)w->off[s] + t;
            float *de = g->g.wte + (size_t)w->inp[r] * C, *dp = g->g.wpe + (size_t)t * C;
            const float *d = w->dres + r * C;
            for (int c = 0; c < C; c++)
                de[c] += d[c], dp[c] += d[c];
        }
    return 0;
}

static int backward(rt_model *m, rt_model_ws *mws, const float *dlogits)
{
    return backward_impl(m, mws, dlogits, NULL);
}

/* the trunk's features: LN_f's output (C per output row), the unembedding's input, kept
 * by output row (sequence-major, the logits' rows) */
static int feature_dim(const rt_model *m)
{
    return cgpt(m)->C;
}

static int features(const rt_model *m, const rt_model_ws *mws, float *out)
{
    const gws *w = mws->impl;
    (void)m;
    memcpy(out, w->lnf, sizeof(float) * (size_t)mws->rows * w->C);
    return 0;
}

static int backward_features(rt_model *m, rt_model_ws *mws, const float *dlogits,
                             const float *dfeat)
{
    return backward_impl(m, mws, dlogits, dfeat);
}

/* ---- generation with the KV cache ------------------------------------------------------ */

static int decode_begin(const rt_model *m, rt_model_ws *mws, const rt_model_gen *gn)
{
    const gpt *g = cgpt(m);
    gws *w = mws->impl;
    int P = gn->P, T = gn->T, n = T > 0 ? P + T : 0;
    if (n > g->CTX) return RT_EINVAL; /* BOS + prompt + T - 1 tokens must fit the context */
    int rc = ensure(w, (size_t)gn->B * n + 1, gn->B ? gn->B : 1);
    if (rc) return rc;
    w->B = gn->B;
    for (int s = 0; s < gn->B; s++)
        w->n[s] = n, w->lo[s] = P, w->off[s] = s * n, w->orow[s] = s * T;
    return 0;
}

static const float *extend(const rt_model *m, rt_model_ws *mws, const rt_model_gen *gn, int b0,
                           int n, int t)
{
    /* t = 0: inputs BOS + prompt (rows 0..P), logits of row P; t > 0: input row P + t is
     * token t - 1, its logits.  Rows stay for later positions and for backward. */
    const gpt *g = cgpt(m);
    gws *w = mws->impl;
    int P = gn->P, T = gn->T;
    size_t np = (size_t)(P + T);
    if (t == 0) { /* each prompt: rows 0..P, the logits of row P */
        for (int s = b0; s < b0 + n; s++) {
            size_t o = (size_t)w->off[s];
            w->inp[o] = RT_MODEL_PAD;
            for (int i = 0; i < P; i++)
                w->inp[o + 1 + i] = gn->prompts[(size_t)s * P + i];
            rows_forward(g, w, o, P + 1, 1, 0, 1, (size_t)w->orow[s], 1, P,
                         w->gen + (size_t)s * g->V);
        }
    } else { /* row P + t of every sequence of the range: one product per layer */
        for (int s = b0; s < b0 + n; s++)
            w->inp[(size_t)w->off[s] + P + t] = gn->tokens[(size_t)s * T + t - 1];
        rows_forward(g, w, (size_t)w->off[b0] + P + t, n, np, P + t, 0, (size_t)w->orow[b0] + t,
                     (size_t)T, 0, w->gen + (size_t)b0 * g->V);
    }
    return w->gen + (size_t)b0 * g->V;
}

/* per position: linear layers 2 (4 C^2 + 2 C H) per layer and 2 C V for the head, plus
 * attention's q.k and p.v, 4 C keys per layer, at context / 2 keys on average */
static double row_flops(const rt_model *m)
{
    const gpt *g = cgpt(m);
    double C = g->C, H = g->H;
    return g->NL * (2.0 * (4.0 * C * C + 2.0 * C * H) + 4.0 * C * (g->CTX + 1) / 2.0) +
           2.0 * C * g->V;
}

/* ---- the attention view ------------------------------------------------------------------ */

int rt_gpt_ws_attention(const rt_model_ws *ws, int s, float *att, int *L)
{
    if (!ws || ws->ops != &rt_model_gpt || !ws->impl) return RT_EINVAL;
    const gws *w = ws->impl;
    if (s < 0 || s >= w->B || !w->n || w->n[s] <= 0) return RT_EINVAL;
    size_t n = (size_t)w->n[s], o = (size_t)w->off[s], NH = (size_t)w->NH;
    if (L) *L = (int)n;
    if (!att) return 0;
    /* att (NL, NH, n, n) from the kept rows (r, NH, CTX): entries j > i are stale */
    for (int l = 0; l < w->NL; l++)
        for (size_t h = 0; h < NH; h++)
            for (size_t i = 0; i < n; i++) {
                const float *p = w->a[l].att + ((o + i) * NH + h) * (size_t)w->CTX;
                float *q = att + (((size_t)l * NH + h) * n + i) * n;
                for (size_t j = 0; j < n; j++)
                    q[j] = j <= i ? p[j] : 0.0f;
            }
    return 0;
}

int rt_gpt_attention(const rt_model *m, const int *tokens, int n, float *att, rt_diag *d)
{
    if (!m || m->ops != &rt_model_gpt)
        return rt_diag_set(d, RT_EINVAL, "attention: the model is %s, not gpt",
                           m ? m->ops->arch : "NULL");
    const gpt *g = cgpt(m);
    if (n < 0 || n + 1 > g->CTX)
        return rt_diag_set(d, RT_EINVAL,
                           "attention: %d tokens need %d positions (BOS first); context = %d", n,
                           n + 1, g->CTX);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= g->V)
            return rt_diag_set(d, RT_EINVAL, "attention: token %d is %d, outside 0..%d", i,
                               tokens[i], g->V - 1);
    /* one sequence tokens ++ [PAD] of L = n + 1, its last position only: the inputs are
     * PAD, tokens[0..n) (the model's BOS shift), every row kept */
    int *seq = rt_calloc((size_t)n + 1, sizeof *seq);
    if (!seq) return rt_diag_set(d, RT_ENOMEM, "attention: out of memory");
    if (n) memcpy(seq, tokens, sizeof *seq * (size_t)n);
    rt_model_ws *ws = NULL;
    int rc = rt_model_ws_create(&ws, m, 1, d);
    if (!rc) {
        rt_model_batch b = {.tokens = seq, .B = 1, .L = n + 1, .from = n};
        rc = rt_model_score(m, ws, &b, 1.0f, NULL);
        if (rc) rt_diag_set(d, rc, "attention: the forward pass failed (%d)", rc);
    }
    if (!rc) rc = rt_gpt_ws_attention(ws, 0, att, NULL);
    rt_model_ws_free(ws);
    rt_free(seq);
    return rc;
}

const rt_model_ops rt_model_gpt = {
    .arch = "gpt",
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
