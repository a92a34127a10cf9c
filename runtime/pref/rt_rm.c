/* rt_rm: Bradley–Terry reward models — members (trunk + linear head), scoring, and the
 * trainer record (rt_rm.h).  Leaves out: the reward features (rt_rm_reward.c). */
#include "rt_rm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_params.h"

#define RT_RM_CHUNK 256 /* sequences per pass when a caller's workspace is larger */

struct rt_rm {
    int K, V, P, T;
    rt_model *trunk[RT_RM_MAX_ENSEMBLE];
    rt_params head[RT_RM_MAX_ENSEMBLE]; /* V + 1 floats: w then b */
    double shift[RT_RM_MAX_ENSEMBLE], scale[RT_RM_MAX_ENSEMBLE];
    int normalized;
};

struct rt_rm_ws {
    int K, max, L;
    rt_model_ws *ws[RT_RM_MAX_ENSEMBLE];
    int *tok;   /* (max, L) */
    int *lo;    /* (max) */
    int *hi;    /* (max) */
    double *sc; /* (max) */
    double *ds; /* (max) */
    double *mg; /* (max) margins */
};

void rt_rm_config_defaults(rt_rm_config *c)
{
    memset(c, 0, sizeof *c);
    c->steps = 500;
    c->batch = 32;
    c->lr = 1e-3f;
    c->log_every = 10;
    c->eval_every = 50;
    c->normalize = 1;
    c->threads = 1;
}

void rt_rm_free(rt_rm *rm)
{
    if (!rm) return;
    for (int k = 0; k < RT_RM_MAX_ENSEMBLE; k++) {
        rt_model_free(rm->trunk[k]);
        rt_params_free(&rm->head[k]);
    }
    rt_free(rm);
}

int rt_rm_create(rt_rm **out, const rt_model *trunk, int copy_weights, int K, int P, int T,
                 float head_init, const rt_rng *init, rt_diag *d)
{
    *out = NULL;
    if (!trunk || !init || P < 1 || T < 1) return rt_diag_set(d, RT_EINVAL, "rm: bad arguments");
    if (K < 1 || K > RT_RM_MAX_ENSEMBLE)
        return rt_diag_set(d, RT_EINVAL, "rm: ensemble must be in 1..%d, not %d",
                           RT_RM_MAX_ENSEMBLE, K);
    rt_rm *rm = rt_calloc(1, sizeof *rm);
    if (!rm) return rt_diag_set(d, RT_ENOMEM, "out of memory");
    rm->K = K;
    rm->V = trunk->vocab;
    rm->P = P;
    rm->T = T;
    for (int k = 0; k < K; k++) {
        rt_rng mk = rt_rng_split(init, (uint64_t)k);
        int rc = rt_model_copy(&rm->trunk[k], trunk, d);
        if (rc) {
            rt_rm_free(rm);
            return rc;
        }
        if (!copy_weights) {
            rt_rng ri = rt_rng_split(&mk, 0);
            rt_model_init(rm->trunk[k], &ri);
        }
        if (rt_params_create(&rm->head[k], (size_t)rm->V + 1)) {
            rt_rm_free(rm);
            return rt_diag_set(d, RT_ENOMEM, "out of memory");
        }
        rt_rng rh = rt_rng_split(&mk, 1);
        for (int v = 0; v < rm->V; v++)
            rm->head[k].w[v] = head_init * rt_rng_normal(&rh);
        rm->head[k].w[rm->V] = 0.0f;
        rm->shift[k] = 0.0;
        rm->scale[k] = 1.0;
    }
    *out = rm;
    return 0;
}

int rt_rm_ensemble(const rt_rm *rm)
{
    return rm ? rm->K : 0;
}
int rt_rm_vocab(const rt_rm *rm)
{
    return rm ? rm->V : 0;
}
const rt_model *rt_rm_trunk(const rt_rm *rm, int k)
{
    return rm && k >= 0 && k < rm->K ? rm->trunk[k] : NULL;
}
const float *rt_rm_head(const rt_rm *rm, int k, float *b)
{
    if (!rm || k < 0 || k >= rm->K) return NULL;
    if (b) *b = rm->head[k].w[rm->V];
    return rm->head[k].w;
}
void rt_rm_norm(const rt_rm *rm, int k, double *shift, double *scale)
{
    *shift = rm->shift[k];
    *scale = rm->scale[k];
}
int rt_rm_normalized(const rt_rm *rm)
{
    return rm ? rm->normalized : 0;
}

/* ---- workspaces and scoring ---------------------------------------------------------- */

void rt_rm_ws_free(rt_rm_ws *ws)
{
    if (!ws) return;
    for (int k = 0; k < RT_RM_MAX_ENSEMBLE; k++)
        rt_model_ws_free(ws->ws[k]);
    rt_free(ws->tok);
    rt_free(ws->lo);
    rt_free(ws->hi);
    rt_free(ws->sc);
    rt_free(ws->ds);
    rt_free(ws->mg);
    rt_free(ws);
}

int rt_rm_ws_create(rt_rm_ws **out, const rt_rm *rm, int max_seqs, rt_diag *d)
{
    *out = NULL;
    if (!rm || max_seqs < 1) return rt_diag_set(d, RT_EINVAL, "rm: bad workspace size");
    rt_rm_ws *ws = rt_calloc(1, sizeof *ws);
    if (!ws) return rt_diag_set(d, RT_ENOMEM, "out of memory");
    ws->K = rm->K;
    ws->max = max_seqs;
    ws->L = rm->P + rm->T + 1; /* position P + n exists for every n <= T */
    ws->tok = rt_calloc((size_t)max_seqs * (size_t)ws->L, sizeof(int));
    ws->lo = rt_calloc((size_t)max_seqs, sizeof(int));
    ws->hi = rt_calloc((size_t)max_seqs, sizeof(int));
    ws->sc = rt_calloc((size_t)max_seqs, sizeof(double));
    ws->ds = rt_calloc((size_t)max_seqs, sizeof(double));
    ws->mg = rt_calloc((size_t)max_seqs, sizeof(double));
    int rc = !ws->tok || !ws->lo || !ws->hi || !ws->sc || !ws->ds || !ws->mg ? RT_ENOMEM : 0;
    for (int k = 0; !rc && k < rm->K; k++)
        rc = rt_model_ws_create(&ws->ws[k], rm->trunk[k], max_seqs, d);
    if (rc) {
        rt_rm_ws_free(ws);
        return rc == RT_ENOMEM ? rt_diag_set(d, RT_ENOMEM, "out of memory") : rc;
    }
    *out = ws;
    return 0;
}

void rt_rm_ws_set_threads(rt_rm_ws *ws, int threads)
{
    for (int k = 0; ws && k < ws->K; k++)
        rt_model_ws_set_threads(ws->ws[k], threads);
}

/* s = w . z + b of each of the n rows of logits, in double, index order. */
static void head_scores(const rt_rm *rm, int k, const float *logits, int n, double *s)
{
    const float *w = rm->head[k].w;
    int V = rm->V;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * (size_t)V;
        double acc = 0.0;
        for (int v = 0; v < V; v++)
            acc += (double)w[v] * (double)z[v];
        s[i] = acc + (double)w[V];
    }
}

/* Raw scores of member k for the n sequences in ws->tok / lo / hi; keep: a kept pass. */
static int member_pass(const rt_rm *rm, rt_rm_ws *ws, int k, int n, int keep, double *s, rt_diag *d)
{
    rt_model_batch b = {.tokens = ws->tok, .B = n, .L = ws->L, .lo = ws->lo, .hi = ws->hi};
    int rc = keep ? rt_model_forward(rm->trunk[k], ws->ws[k], &b)
                  : rt_model_score(rm->trunk[k], ws->ws[k], &b, 1.0f, NULL);
    if (rc) return rt_diag_set(d, RT_EMODEL, "rm: model pass failed (code %d)", rc);
    head_scores(rm, k, rt_model_ws_logits(ws->ws[k]), n, s);
    return 0;
}

/* Sequence i of ws: prompt ++ answer (n tokens), PAD after; lo/hi the position after it. */
static void put_seq(const rt_rm *rm, rt_rm_ws *ws, int i, const int *prompt, const int *ans, int n)
{
    int *t = ws->tok + (size_t)i * (size_t)ws->L;
    memcpy(t, prompt, sizeof(int) * (size_t)rm->P);
    for (int j = 0; j < rm->T + 1; j++)
        t[rm->P + j] = j < n ? ans[j] : RT_MODEL_PAD;
    ws->lo[i] = rm->P + n;
    ws->hi[i] = rm->P + n + 1;
}

int rt_rm_score(const rt_rm *rm, rt_rm_ws *ws, const rt_task_sample *prompts, const int *answers,
                const int *lengths, int N, double *out, rt_diag *d)
{
    if (!rm || !ws || ws->K != rm->K || N < 0 ||
        (N > 0 && (!prompts || !answers || !lengths || !out)))
        return rt_diag_set(d, RT_EINVAL, "rm: bad arguments");
    for (int i0 = 0; i0 < N; i0 += ws->max) {
        int n = N - i0 < ws->max ? N - i0 : ws->max;
        for (int i = 0; i < n; i++) {
            int len = lengths[i0 + i];
            if (len < 1 || len > rm->T)
                return rt_diag_set(d, RT_EINVAL, "rm: answer %d has length %d (1..%d)", i0 + i, len,
                                   rm->T);
            put_seq(rm, ws, i, prompts[i0 + i].prompt, answers + (size_t)(i0 + i) * rm->T, len);
        }
        for (int k = 0; k < rm->K; k++) {
            int rc = member_pass(rm, ws, k, n, 0, ws->sc, d);
            if (rc) return rc;
            for (int i = 0; i < n; i++)
                out[(size_t)k * N + i0 + i] = (ws->sc[i] - rm->shift[k]) * rm->scale[k];
        }
    }
    return 0;
}

static void put_pairs(const rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, rt_task_split split,
                      int i0, int n, int which, int at)
{
    for (int i = 0; i < n; i++) {
        const rt_pref_pair *p = rt_pref_at(set, split, i0 + i);
        const int *a = which ? p->rejected : p->chosen;
        put_seq(rm, ws, at + i, p->prompt.prompt, a, which ? p->n_rejected : p->n_chosen);
    }
}

int rt_rm_score_pairs(const rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, rt_task_split split,
                      int i0, int n, int which, double *out, rt_diag *d)
{
    if (!rm || !ws || !set || i0 < 0 || n < 0 || i0 + n > rt_pref_count(set, split))
        return rt_diag_set(d, RT_EINVAL, "rm: bad arguments");
    for (int j0 = 0; j0 < n; j0 += ws->max) {
        int m = n - j0 < ws->max ? n - j0 : ws->max;
        put_pairs(rm, ws, set, split, i0 + j0, m, which, 0);
        for (int k = 0; k < rm->K; k++) {
            int rc = member_pass(rm, ws, k, m, 0, ws->sc, d);
            if (rc) return rc;
            for (int i = 0; i < m; i++)
                out[(size_t)k * n + j0 + i] = (ws->sc[i] - rm->shift[k]) * rm->scale[k];
        }
    }
    return 0;
}

void rt_rm_mean(const double *out, int K, int N, double *r)
{
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += out[(size_t)k * N + i];
        r[i] = s / K;
    }
}

void rt_rm_min(const double *out, int K, int N, double *r)
{
    for (int i = 0; i < N; i++) {
        double m = out[i];
        for (int k = 1; k < K; k++)
            if (out[(size_t)k * N + i] < m) m = out[(size_t)k * N + i];
        r[i] = m;
    }
}

/* Member k's (or the mean of all members', k = -1) BT loss and accuracy over the split's
 * non-tie pairs (all pairs when none is marked tie), in chunks of half the workspace. */
int rt_rm_eval(const rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, rt_task_split split, int k,
               double *loss, double *acc, rt_diag *d)
{
    *loss = NAN;
    *acc = NAN;
    if (!rm || !ws || !set || k < -1 || k >= rm->K || ws->max < 2)
        return rt_diag_set(d, RT_EINVAL, "rm: bad arguments");
    int n = rt_pref_count(set, split), m = 0;
    if (n == 0) return 0;
    int *idx = rt_malloc(sizeof(int) * (size_t)n);
    if (!idx) return rt_diag_set(d, RT_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        if (!rt_pref_at(set, split, i)->tie) idx[m++] = i;
    if (m == 0)
        for (int i = 0; i < n; i++)
            idx[m++] = i;
    int half = ws->max / 2, k0 = k < 0 ? 0 : k, k1 = k < 0 ? rm->K : k + 1, rc = 0;
    double sl = 0.0, sa = 0.0;
    for (int q = k0; q < k1 && !rc; q++) {
        double ml = 0.0, ma = 0.0;
        for (int i0 = 0; i0 < m && !rc; i0 += half) {
            int c = m - i0 < half ? m - i0 : half;
            for (int i = 0; i < c; i++) {
                const rt_pref_pair *p = rt_pref_at(set, split, idx[i0 + i]);
                put_seq(rm, ws, i, p->prompt.prompt, p->chosen, p->n_chosen);
                put_seq(rm, ws, c + i, p->prompt.prompt, p->rejected, p->n_rejected);
            }
            rc = member_pass(rm, ws, q, 2 * c, 0, ws->sc, d);
            rt_pref_loss_stats st;
            if (!rc)
                rc = rt_pref_bt_loss(c, ws->sc, ws->sc + c, NULL, NULL, 0.0, NULL, NULL, &st, d);
            if (!rc) {
                ml += st.loss * c;
                ma += st.accuracy * c;
            }
        }
        sl += ml / m;
        sa += ma / m;
    }
    rt_free(idx);
    if (rc) return rc;
    *loss = sl / (k1 - k0);
    *acc = sa / (k1 - k0);
    return 0;
}

/* ---- the trainer ------------------------------------------------------------------------ */

static const char *const columns[] = {
    "step", "wall", "loss", "acc", "heldout_loss", "heldout_acc", "margin", "ceiling", "grad_norm"};
enum { M_STEP, M_WALL, M_LOSS, M_ACC, M_HLOSS, M_HACC, M_MARGIN, M_CEIL, M_GNORM, N_M };
static const int finite_idx[] = {M_LOSS, M_GNORM};

const char *const *rt_rm_columns(int *n)
{
    if (n) *n = N_M;
    return columns;
}

typedef struct rm_state {
    rt_rm *rm;
    const rt_pref_set *data;
    rt_rm_config cfg;
    rt_rm_ws *ws; /* 2B sequences */
    rt_pref_sampler smp[RT_RM_MAX_ENSEMBLE];
    int *idx;
    double ceiling;
    /* window since the last row */
    double w_loss, w_acc, w_margin, w_gnorm;
    long w_n;
} rm_state;

static void rm_free(void *st)
{
    rm_state *s = st;
    if (!s) return;
    for (int k = 0; k < RT_RM_MAX_ENSEMBLE; k++)
        rt_pref_sampler_free(&s->smp[k]);
    rt_rm_ws_free(s->ws);
    rt_free(s->idx);
    rt_free(s);
}

static int rm_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                    rt_diag *d)
{
    const rt_rm_args *a = args;
    if (!a || !a->rm || !a->data || !a->cfg) return rt_diag_set(d, RT_EINVAL, "bad arguments");
    const rt_rm_config *c = a->cfg;
    if (c->steps < 0) return rt_diag_set(d, RT_EINVAL, "steps must be >= 0");
    if (c->batch < 1) return rt_diag_set(d, RT_EINVAL, "batch must be >= 1");
    if (!(c->lr > 0)) return rt_diag_set(d, RT_EINVAL, "lr must be > 0");
    if (c->log_every < 1) return rt_diag_set(d, RT_EINVAL, "log_every must be >= 1");
    if (c->eval_every < 0) return rt_diag_set(d, RT_EINVAL, "eval_every must be >= 0");
    if (a->data->n_train < 1)
        return rt_diag_set(d, RT_EINVAL, "the preference set has no train pairs");
    for (int i = 0; i < a->data->n; i++) {
        const rt_pref_pair *p = &a->data->pairs[i];
        if (p->n_chosen > a->rm->T || p->n_rejected > a->rm->T)
            return rt_diag_set(d, RT_EINVAL, "pair %d has an answer longer than the rm's %d tokens",
                               i, a->rm->T);
    }
    rm_state *s = rt_calloc(1, sizeof *s);
    if (!s) return rt_diag_set(d, RT_ENOMEM, "out of memory");
    s->rm = a->rm;
    s->data = a->data;
    s->cfg = *c;
    int B = c->batch, rc = 0;
    rt_rng samples = rt_rng_split(rng, RT_STREAM_SAMPLES);
    for (int k = 0; !rc && k < a->rm->K; k++) {
        rt_rng sk = rt_rng_split(&samples, (uint64_t)k);
        rc = rt_pref_sampler_init(&s->smp[k], a->data, RT_TASK_TRAIN, &sk, d);
    }
    if (!rc) rc = rt_rm_ws_create(&s->ws, a->rm, 2 * B, d);
    s->idx = rt_calloc((size_t)B, sizeof(int));
    if (!rc && !s->idx) rc = rt_diag_set(d, RT_ENOMEM, "out of memory");
    if (rc) {
        rm_free(s);
        return rc;
    }
    rt_rm_ws_set_threads(s->ws, c->threads < 1 ? 1 : c->threads);
    rt_pref_stats pst;
    rt_pref_stats_of(a->data, &pst);
    s->ceiling = pst.agreement[RT_TASK_HELDOUT];
    memset(plan, 0, sizeof *plan);
    plan->steps = c->steps;
    plan->log_every = c->log_every;
    plan->eval = 1;
    plan->eval_every = c->eval_every;
    plan->metrics = columns;
    plan->n_metrics = N_M;
    plan->finite = finite_idx;
    plan->n_finite = 2;
    plan->step_flops = 3.0 * rt_model_row_flops(a->rm->trunk[0]) * 2 * B * a->rm->K;
    *out = s;
    return 0;
}

int rt_rm_grad(rt_rm *rm, rt_rm_ws *ws, int k, const rt_pref_set *set, rt_task_split split,
               const int *idx, int B, rt_pref_loss_stats *st, rt_diag *d)
{
    if (!rm || !ws || !set || !idx || !st || k < 0 || k >= rm->K || B < 1 || 2 * B > ws->max)
        return rt_diag_set(d, RT_EINVAL, "rm: bad arguments");
    int V = rm->V;
    for (int b = 0; b < B; b++) {
        const rt_pref_pair *p = rt_pref_at(set, split, idx[b]);
        if (!p) return rt_diag_set(d, RT_EINVAL, "rm: pair %d out of range", idx[b]);
        put_seq(rm, ws, b, p->prompt.prompt, p->chosen, p->n_chosen);
        put_seq(rm, ws, B + b, p->prompt.prompt, p->rejected, p->n_rejected);
        ws->mg[b] = isfinite(p->margin) ? p->margin : 0.0;
    }
    int rc = member_pass(rm, ws, k, 2 * B, 1, ws->sc, d);
    if (rc) return rc;
    rc = rt_pref_bt_loss(B, ws->sc, ws->sc + B, ws->mg, NULL, 0.0, ws->ds, ws->ds + B, st, d);
    if (rc) return rc;
    if (!isfinite(st->loss))
        return rt_diag_set(d, RT_EFAILED, "loss is %s", isnan(st->loss) ? "nan" : "inf");
    /* back through the head: dlogits = ds * w at the one row; dw = ds * z; db = ds */
    const float *w = rm->head[k].w;
    const float *z = rt_model_ws_logits(ws->ws[k]);
    float *dlog = rt_model_ws_scratch(ws->ws[k]);
    rt_params *h = &rm->head[k];
    memset(h->g, 0, sizeof(float) * ((size_t)V + 1));
    double gb = 0.0;
    for (int r = 0; r < 2 * B; r++) {
        float dr = (float)ws->ds[r];
        float *dl = dlog + (size_t)r * V;
        const float *zr = z + (size_t)r * V;
        for (int v = 0; v < V; v++) {
            dl[v] = dr * w[v];
            h->g[v] += dr * zr[v];
        }
        gb += ws->ds[r];
    }
    h->g[V] = (float)gb;
    rt_model_zero_grad(rm->trunk[k]);
    if (rt_model_backward(rm->trunk[k], ws->ws[k], dlog))
        return rt_diag_set(d, RT_EMODEL, "rm: backward failed");
    return 0;
}

rt_params *rt_rm_head_params(rt_rm *rm, int k)
{
    return rm && k >= 0 && k < rm->K ? &rm->head[k] : NULL;
}
rt_model *rt_rm_trunk_mut(rt_rm *rm, int k)
{
    return rm && k >= 0 && k < rm->K ? rm->trunk[k] : NULL;
}

static int rm_step(void *st, long step, double *m, char *msg, size_t cap)
{
    rm_state *s = st;
    rt_rm *rm = s->rm;
    int B = s->cfg.batch;
    double loss = 0, acc = 0, margin = 0, gn = 0;
    for (int k = 0; k < rm->K; k++) {
        rt_pref_sampler_next(&s->smp[k], step - 1, B, s->idx);
        rt_pref_loss_stats lst;
        rt_diag dd;
        if (rt_rm_grad(rm, s->ws, k, s->data, RT_TASK_TRAIN, s->idx, B, &lst, &dd)) {
            snprintf(msg, cap, "%s", dd.msg);
            return 1;
        }
        rt_adam_config ac = rt_adam_defaults();
        ac.lr = s->cfg.lr;
        ac.clip_norm = s->cfg.grad_clip;
        float g1 = 0, g2 = 0;
        rt_model_adam(rm->trunk[k], &ac, &g1);
        rt_adam(&rm->head[k], &ac, &g2);
        loss += lst.loss;
        acc += lst.accuracy;
        margin += lst.margin;
        gn += g1;
    }
    m[M_LOSS] = loss / rm->K;
    m[M_ACC] = acc / rm->K;
    m[M_MARGIN] = margin / rm->K;
    m[M_GNORM] = gn / rm->K;
    s->w_loss += m[M_LOSS];
    s->w_acc += m[M_ACC];
    s->w_margin += m[M_MARGIN];
    s->w_gnorm += m[M_GNORM];
    s->w_n++;
    return 0;
}

static int rm_row(void *st, long step, int eval, const int *recorded, double *m, char *msg,
                  size_t cap)
{
    rm_state *s = st;
    (void)step;
    if (s->w_n > 0) {
        m[M_LOSS] = s->w_loss / s->w_n;
        m[M_ACC] = s->w_acc / s->w_n;
        m[M_MARGIN] = s->w_margin / s->w_n;
        m[M_GNORM] = s->w_gnorm / s->w_n;
    }
    s->w_loss = s->w_acc = s->w_margin = s->w_gnorm = 0;
    s->w_n = 0;
    m[M_CEIL] = s->ceiling;
    if (eval && (recorded[M_HLOSS] || recorded[M_HACC])) {
        rt_diag dd;
        if (rt_rm_eval(s->rm, s->ws, s->data, RT_TASK_HELDOUT, -1, &m[M_HLOSS], &m[M_HACC], &dd)) {
            snprintf(msg, cap, "evaluation failed: %s", dd.msg);
            return 1;
        }
    }
    return 0;
}

/* Normalisation of every member on the train split's answers (see rt_rm.h). */
static void rm_finish(void *st, rt_run_status how)
{
    rm_state *s = st;
    if (how != RT_RUN_FINISHED || !s->cfg.normalize) return;
    rt_rm *rm = s->rm;
    int n = s->data->n_train, half = s->ws->max / 2;
    for (int k = 0; k < rm->K; k++) {
        double sum = 0.0, sq = 0.0;
        for (int pass = 0; pass < 2; pass++)
            for (int i0 = 0; i0 < n; i0 += half) {
                int c = n - i0 < half ? n - i0 : half;
                put_pairs(rm, s->ws, s->data, RT_TASK_TRAIN, i0, c, 0, 0);
                put_pairs(rm, s->ws, s->data, RT_TASK_TRAIN, i0, c, 1, c);
                if (member_pass(rm, s->ws, k, 2 * c, 0, s->ws->sc, NULL)) return;
                for (int i = 0; i < 2 * c; i++)
                    if (pass == 0)
                        sum += s->ws->sc[i];
                    else {
                        double e = s->ws->sc[i] - sum;
                        sq += e * e;
                    }
                if (pass == 0 && i0 + c >= n) sum /= 2.0 * n;
            }
        double sd = sqrt(sq / (2.0 * n));
        rm->shift[k] = sum;
        rm->scale[k] = sd > 0 && isfinite(sd) ? 1.0 / sd : 1.0;
    }
    rm->normalized = 1;
}

const rt_trainer rt_rm_trainer = {
    .name = "rm",
    .setup = rm_setup,
    .step = rm_step,
    .row = rm_row,
    .finish = rm_finish,
    .free = rm_free,
};

int rt_rm_train(rt_rm *rm, const rt_pref_set *data, const rt_rm_config *cfg, rt_run *run,
                const rt_rng *rng, rt_diag *d)
{
    rt_rm_args a = {rm, data, cfg};
    return rt_trainer_run(&rt_rm_trainer, &a, rng, run, d);
}
