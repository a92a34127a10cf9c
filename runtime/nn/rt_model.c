/* rt_model.c: the model interface's generic half (see rt_model.h): the registry of
 * architectures, configurations as key=value text, lifetime and workspaces through the
 * ops, and the helpers written once on top of them (forward / score / backward,
 * log-probs, cross-entropy, KL, generation with sampling).  Leaves out: files
 * (rt_model_io.c) and every architecture (rt_model_mlp.c, ...). */
#include "rt_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_cancel.h"
#include "rt_nn.h"
#include "rt_model_gpt.h"
#include "rt_policy.h"

static const rt_model_ops *const archs[] = {&rt_model_mlp, &rt_model_gpt};

static int fail(rt_diag *d, int code, const char *msg)
{
    return rt_diag_set(d, code, "%s", msg);
}

const rt_model_ops *rt_model_arch(const char *name)
{
    for (size_t i = 0; name && i < sizeof archs / sizeof archs[0]; i++)
        if (!strcmp(archs[i]->arch, name)) return archs[i];
    return NULL;
}

/* ---- configurations ----------------------------------------------------------------- */

void rt_model_config_defaults(const rt_model_ops *ops, int *cfg)
{
    for (int i = 0; i < ops->nkeys; i++)
        cfg[i] = ops->keys[i].def;
}

void rt_model_config_format(const rt_model_ops *ops, const int *cfg, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ops->nkeys && at < cap; i++) {
        const rt_model_key *k = &ops->keys[i];
        const char *sep = i ? " " : "";
        int n =
            k->names && cfg[i] >= k->min && cfg[i] <= k->max
                ? snprintf(buf + at, cap - at, "%s%s=%s", sep, k->name, k->names[cfg[i] - k->min])
                : snprintf(buf + at, cap - at, "%s%s=%d", sep, k->name, cfg[i]);
        at += n > 0 ? (size_t)n : 0;
    }
}

int rt_model_config_parse(const rt_model_ops *ops, const char *text, int *cfg, rt_diag *d)
{
    /* config -> { NAME '=' (INTEGER | VALUE_NAME) } separated by blanks */
    char m[200];
    int seen[RT_MODEL_MAX_KEYS] = {0};
    rt_model_config_defaults(ops, cfg);
    const char *s = text;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s) return 0;
        const char *eq = s;
        while (*eq && *eq != '=' && *eq != ' ' && *eq != '\n')
            eq++;
        const char *v = eq + (*eq == '='), *e = v;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n')
            e++;
        int nl = (int)(eq - s), vl = (int)(e - v), i = 0;
        while (i < ops->nkeys &&
               ((int)strlen(ops->keys[i].name) != nl || strncmp(ops->keys[i].name, s, (size_t)nl)))
            i++;
        if (*eq != '=' || !vl) {
            snprintf(m, sizeof m, "%s: expected key=value near '%.*s'", ops->arch, nl + vl + 1, s);
            return fail(d, RT_EINVAL, m);
        }
        if (i == ops->nkeys) {
            snprintf(m, sizeof m, "%s: unknown setting '%.*s'", ops->arch, nl, s);
            return fail(d, RT_EINVAL, m);
        }
        const rt_model_key *k = &ops->keys[i];
        if (seen[i]++) {
            snprintf(m, sizeof m, "%s: setting '%s' given twice", ops->arch, k->name);
            return fail(d, RT_EINVAL, m);
        }
        long x = 0;
        int ok = 0;
        for (int j = 0; k->names && j <= k->max - k->min && !ok; j++)
            if ((int)strlen(k->names[j]) == vl && !strncmp(k->names[j], v, (size_t)vl))
                x = k->min + j, ok = 1;
        if (!ok && !k->names) {
            char *end;
            x = strtol(v, &end, 10);
            ok = end == e && vl <= 10;
        }
        if (!ok || x < k->min || x > k->max) {
            snprintf(m, sizeof m, "%s: %s must be in %d..%d (got '%.*s')", ops->arch, k->name,
                     k->min, k->max, vl, v);
            return fail(d, RT_EINVAL, m);
        }
        cfg[i] = (int)x;
        s = e;
    }
}

/* ---- lifetime -------------------------------------------------------------------------- */

int rt_model_create(rt_model **out, const rt_model_ops *ops, int vocab, const int *cfg, rt_diag *d)
{
    *out = NULL;
    char m[256];
    if (vocab < 2 || vocab > 65536) {
        snprintf(m, sizeof m, "vocab must be in 2..65536 (got %d)", vocab);
        return fail(d, RT_EINVAL, m);
    }
    if (ops->check(vocab, cfg, m, sizeof m)) return fail(d, RT_EINVAL, m);
    int rc = ops->create(out, vocab, cfg);
    if (rc) return fail(d, rc, rc == RT_ENOMEM ? "out of memory creating policy" : "error");
    return 0;
}

void rt_model_free(rt_model *m)
{
    if (m) m->ops->destroy(m);
}

void rt_model_init(rt_model *m, const rt_rng *rng)
{
    m->ops->init(m, rng);
}

void rt_model_config(const rt_model *m, int *cfg)
{
    m->ops->config(m, cfg);
}

int rt_model_copy(rt_model **out, const rt_model *src, rt_diag *d)
{
    int cfg[RT_MODEL_MAX_KEYS];
    src->ops->config(src, cfg);
    int rc = rt_model_create(out, src->ops, src->vocab, cfg, d);
    if (rc) return rc;
    rt_params_copy((*out)->params, src->params); /* same configuration, same size */
    rt_model_touch(*out);
    return 0;
}

int rt_model_same_arch(const rt_model *a, const rt_model *b)
{
    if (a->ops != b->ops || a->vocab != b->vocab) return 0;
    int ca[RT_MODEL_MAX_KEYS], cb[RT_MODEL_MAX_KEYS];
    a->ops->config(a, ca);
    b->ops->config(b, cb);
    return !memcmp(ca, cb, sizeof(int) * (size_t)a->ops->nkeys);
}

int rt_model_assign(rt_model *dst, const rt_model *src)
{
    if (!rt_model_same_arch(dst, src)) return RT_ESHAPE;
    rt_params_assign(dst->params, src->params);
    rt_model_touch(dst);
    return 0;
}

void rt_model_touch(rt_model *m)
{
    m->ops->touch(m);
}

/* ---- workspaces ------------------------------------------------------------------------ */

double rt_model_row_flops(const rt_model *m)
{
    return m && m->ops->row_flops ? m->ops->row_flops(m) : 0.0;
}

int rt_model_ws_create(rt_model_ws **out, const rt_model *m, int max_rows, rt_diag *d)
{
    *out = NULL;
    if (max_rows < 1 || max_rows > (1 << 24))
        return fail(d, RT_EINVAL, "workspace rows must be in 1..16777216");
    size_t R = (size_t)max_rows, V = (size_t)m->vocab;
    rt_model_ws *ws = rt_calloc(1, sizeof *ws);
    if (ws) {
        ws->ops = m->ops, ws->vocab = m->vocab, ws->max_rows = max_rows, ws->threads = 1;
        ws->logits = rt_calloc(R * V, sizeof(float));
        ws->dlogits = rt_calloc(R * V, sizeof(float));
        ws->lz = rt_calloc(3 * R, sizeof(float));
        ws->yrow = rt_calloc(R, sizeof(int));
        ws->rngs = rt_calloc(R, sizeof(rt_rng));
    }
    if (!ws || !ws->logits || !ws->dlogits || !ws->lz || !ws->yrow || !ws->rngs ||
        m->ops->ws_create(m, max_rows, &ws->impl)) {
        rt_model_ws_free(ws);
        return fail(d, RT_ENOMEM, "out of memory creating policy workspace");
    }
    ws->lzrow = ws->lz + R;
    ws->lprow = ws->lz + 2 * R;
    *out = ws;
    return 0;
}

void rt_model_ws_free(rt_model_ws *ws)
{
    if (!ws) return;
    if (ws->impl) ws->ops->ws_free(ws->impl);
    rt_free(ws->logits);
    rt_free(ws->dlogits);
    rt_free(ws->lz);
    rt_free(ws->yrow);
    rt_free(ws->rngs);
    rt_free(ws);
}

void rt_model_ws_set_threads(rt_model_ws *ws, int threads)
{
    ws->threads = threads < 1 ? 1 : (threads > RT_NN_MAX_THREADS ? RT_NN_MAX_THREADS : threads);
    ws->ops->ws_set_threads(ws->impl, ws->threads);
}

int rt_model_ws_rows(const rt_model_ws *ws)
{
    return ws->max_rows;
}

float *rt_model_ws_logits(rt_model_ws *ws)
{
    return ws->logits;
}

float *rt_model_ws_scratch(rt_model_ws *ws)
{
    return ws->dlogits;
}

const float *rt_model_ws_lognorm(const rt_model_ws *ws)
{
    return ws->lz;
}

/* ---- passes ------------------------------------------------------------------------------ */

long rt_model_batch_rows(const rt_model_batch *b)
{
    if (!b || b->B < 0 || b->L < 0 || (b->B > 0 && !b->tokens)) return -1;
    if (!b->lo) return b->from < 0 || b->from > b->L ? -1 : (long)b->B * (b->L - b->from);
    if (!b->hi) return -1;
    long n = 0;
    for (int i = 0; i < b->B; i++) {
        if (b->lo[i] < 0 || b->lo[i] > b->hi[i] || b->hi[i] > b->L) return -1;
        n += b->hi[i] - b->lo[i];
    }
    return n;
}

/* checks a pass: shapes, rows, token ids; returns rows or a negative code */
static long check_pass(const rt_model *m, const rt_model_ws *ws, const rt_model_batch *b)
{
    if (ws->ops != m->ops || ws->vocab != m->vocab) return RT_ESHAPE;
    long n = rt_model_batch_rows(b);
    if (n < 0) return RT_EINVAL;
    if (n > ws->max_rows) return RT_ECAP;
    for (long i = 0; i < (long)b->B * b->L; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= m->vocab) return RT_EINVAL;
    return n;
}

static int pass(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, int keep,
                float temperature, float *lp)
{
    long n = check_pass(m, ws, b);
    if (n < 0) return (int)n;
    if (lp && !(temperature > 0.0f)) return RT_EINVAL;
    ws->rows = 0, ws->kept = 0;
    int rc = m->ops->forward(m, ws, b, keep, ws->logits, temperature, lp);
    if (rc) return rc;
    if (rt_cancel_was_cut()) return RT_EINTR; /* the logits are incomplete (rt_cancel.h) */
    ws->rows = (int)n, ws->kept = keep;
    return 0;
}

int rt_model_forward(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b)
{
    return pass(m, ws, b, 1, 1.0f, NULL);
}

int rt_model_score(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float temperature,
                   float *lp)
{
    return pass(m, ws, b, 0, temperature, lp);
}

int rt_model_logprobs(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float *lp)
{
    return pass(m, ws, b, 1, 1.0f, lp);
}

int rt_model_backward(rt_model *m, rt_model_ws *ws, const float *dlogits)
{
    if (ws->ops != m->ops || ws->vocab != m->vocab) return RT_ESHAPE;
    if (!ws->kept) return RT_EINVAL;
    if (ws->rows == 0) return 0;
    return m->ops->backward(m, ws, dlogits);
}

int rt_model_feature_dim(const rt_model *m)
{
    return m->ops->feature_dim && m->ops->features ? m->ops->feature_dim(m) : 0;
}

int rt_model_features(const rt_model *m, rt_model_ws *ws, float *out)
{
    if (ws->ops != m->ops || ws->vocab != m->vocab) return RT_ESHAPE;
    if (!rt_model_feature_dim(m) || !ws->kept) return RT_EINVAL;
    if (ws->rows == 0) return 0;
    return m->ops->features(m, ws, out);
}

int rt_model_backward_features(rt_model *m, rt_model_ws *ws, const float *dlogits,
                               const float *dfeat)
{
    if (!dfeat) return rt_model_backward(m, ws, dlogits);
    if (ws->ops != m->ops || ws->vocab != m->vocab) return RT_ESHAPE;
    if (!rt_model_feature_dim(m) || !m->ops->backward_features || !ws->kept) return RT_EINVAL;
    if (ws->rows == 0) return 0;
    return m->ops->backward_features(m, ws, dlogits, dfeat);
}

int rt_model_xent(rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float *loss)
{
    *loss = 0.0f;
    int rc = rt_model_forward(m, ws, b);
    if (rc || ws->rows == 0) return rc;
    /* the token at each row's position, in row order */
    long r = 0;
    for (int s = 0; s < b->B; s++) {
        int lo = b->lo ? b->lo[s] : b->from, hi = b->lo ? b->hi[s] : b->L;
        for (int t = lo; t < hi; t++)
            ws->yrow[r++] = b->tokens[(size_t)s * b->L + t];
    }
    int n = ws->rows, V = m->vocab;
    memset(ws->dlogits, 0, sizeof(float) * (size_t)n * V);
    *loss = (float)rt_nn_xent(ws->dlogits, ws->logits, ws->yrow, n, V, 1.0f / n);
    return m->ops->backward(m, ws, ws->dlogits);
}

int rt_model_kl(const rt_model *p, rt_model_ws *wsp, const rt_model *q, rt_model_ws *wsq,
                const rt_model_batch *b, double *kl, double *ent)
{
    if (p->vocab != q->vocab) return RT_ESHAPE;
    int rc = rt_model_forward(p, wsp, b);
    if (!rc) rc = rt_model_forward(q, wsq, b);
    if (rc) return rc;
    double sk = 0, se = 0;
    int n = wsp->rows, V = p->vocab;
    for (int i = 0; i < n; i++) {
        float k, e;
        rt_nn_kl_entropy(&k, &e, wsp->logits + (size_t)i * V, wsq->logits + (size_t)i * V, 1, V);
        sk += k, se += e;
    }
    if (kl) *kl = n ? sk / n : 0.0;
    if (ent) *ent = n ? se / n : 0.0;
    return 0;
}

/* ---- generation -------------------------------------------------------------------------- */

enum { GB = 128 }; /* sequences per group: the unit of work of a generation thread */

typedef struct {
    const rt_model *m;
    rt_model_ws *ws;
    rt_model_gen g;
    float temperature;
    int *tokens;
    float *lp;
} gen_job;

/* after the logits lg (gn, V) of position P + t of sequences [g0, g0 + gn): sample */
static void sample_rows(gen_job *a, const float *lg, int g0, int gn, int t)
{
    rt_model_ws *ws = a->ws;
    int V = a->m->vocab, T = a->g.T;
    rt_nn_sample_lz(ws->yrow + g0, ws->lprow + g0, ws->lzrow + g0, lg, gn, V, a->temperature,
                    ws->rngs + g0);
    for (int b = g0; b < g0 + gn; b++) {
        size_t bt = (size_t)b * T + t;
        a->tokens[bt] = ws->yrow[b];
        if (a->lp) a->lp[bt] = ws->lprow[b];
        if (a->g.keep) {
            float *restrict o = ws->logits + bt * V;
            const float *restrict x = lg + (size_t)(b - g0) * V;
            for (int v = 0; v < V; v++)
                o[v] = x[v];
            ws->lz[bt] = ws->lzrow[b];
        }
    }
}

/* sequence groups g = j, j + nth, ... of GB sequences each, all T positions */
static void gen_task(void *arg, int j, int nth)
{
    gen_job *a = arg;
    int B = a->g.B, ng = (B + GB - 1) / GB;
    for (int g = j; g < ng; g += nth) {
        int g0 = g * GB, gn = B - g0 < GB ? B - g0 : GB;
        for (int t = 0; t < a->g.T && !rt_cancel_was_cut(); t++)
            sample_rows(a, a->m->ops->extend(a->m, a->ws, &a->g, g0, gn, t), g0, gn, t);
    }
}

/* Without extend: a scoring pass over each prefix, then (to keep the rows) one kept
 * forward over the samples.  Allocates the sequences (B, P + T). */
static int gen_by_forward(gen_job *a)
{
    const rt_model_gen *g = &a->g;
    int B = g->B, P = g->P, T = g->T, L = P + T;
    int *seq = rt_malloc(sizeof(int) * ((size_t)B * L + 1));
    if (!seq) return RT_ENOMEM;
    int rc = 0;
    for (int t = 0; t < T && !rc; t++) {
        if (rt_cancel_was_cut()) rc = RT_EINTR;
        for (int b = 0; b < B && !rc; b++) {
            int *s = seq + (size_t)b * (P + t + 1);
            memcpy(s, g->prompts + (size_t)b * P, sizeof(int) * (size_t)P);
            memcpy(s + P, a->tokens + (size_t)b * T, sizeof(int) * (size_t)t);
            s[P + t] = RT_MODEL_PAD; /* the position being predicted */
        }
        rt_model_batch bt = {seq, B, P + t + 1, P + t, NULL, NULL};
        rc = a->m->ops->forward(a->m, a->ws, &bt, 0, a->ws->dlogits, 1.0f, NULL);
        if (!rc) sample_rows(a, a->ws->dlogits, 0, B, t);
    }
    if (!rc && g->keep) {
        for (int b = 0; b < B; b++) {
            memcpy(seq + (size_t)b * L, g->prompts + (size_t)b * P, sizeof(int) * (size_t)P);
            memcpy(seq + (size_t)b * L + P, a->tokens + (size_t)b * T, sizeof(int) * (size_t)T);
        }
        rt_model_batch all = {seq, B, L, P, NULL, NULL};
        rc = a->m->ops->forward(a->m, a->ws, &all, 1, a->ws->logits, 1.0f, NULL);
    }
    rt_free(seq);
    return rc;
}

int rt_model_generate(const rt_model *m, rt_model_ws *ws, const int *prompts, int B, int P, int T,
                      float temperature, const rt_rng *rng, uint64_t seq0, int *tokens, float *lp)
{
    int V = m->vocab;
    if (B < 0 || P < 0 || T < 0) return RT_EINVAL;
    if (ws->ops != m->ops || ws->vocab != V) return RT_ESHAPE;
    if (B > ws->max_rows) return RT_ECAP;
    for (long i = 0; i < (long)B * P; i++)
        if (prompts[i] < 0 || prompts[i] >= V) return RT_EINVAL;
    for (int b = 0; b < B; b++)
        ws->rngs[b] = rt_rng_split(rng, seq0 + (uint64_t)b);
    int keep = (long)B * T <= ws->max_rows;
    gen_job a = {m, ws, {prompts, tokens, B, P, T, keep}, temperature, tokens, lp};
    ws->rows = 0, ws->kept = 0;
    int rc;
    if (m->ops->extend) {
        rc = m->ops->decode_begin(m, ws, &a.g);
        if (!rc) rt_nn_parallel(ws->threads, gen_task, &a);
    } else {
        rc = gen_by_forward(&a);
    }
    if (rc) return rc;
    if (rt_cancel_was_cut()) return RT_EINTR; /* the samples are incomplete */
    if (keep) ws->rows = B * T, ws->kept = 1;
    return 0;
}

/* ---- optimizer ---------------------------------------------------------------------------- */

void rt_model_zero_grad(rt_model *m)
{
    rt_params_zero_grad(m->params);
}

double rt_model_grad_norm(const rt_model *m)
{
    return rt_params_grad_norm(m->params);
}

void rt_model_adam(rt_model *m, const rt_adam_config *c, float *grad_norm)
{
    rt_adam(m->params, c, grad_norm);
    rt_model_touch(m);
}
