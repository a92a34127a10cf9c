/* rt_tilt.c: the `tilt` architecture (rt_tilt.h) — the tables of the analytic
 * KL-regularized teacher built once over the prefix tree of every prompt, and the model
 * ops that serve them (the base's forward, then each covered row replaced by its table
 * row).  Leaves out: training (backward refuses), incremental decoding (the generic
 * helper runs forward passes), files. */
#include "rt_tilt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_nn.h"
#include "rt_rl.h"
#include "rt_score.h"

typedef struct rt_tilt {
    rt_policy pol;  /* FIRST: the header (model.ops = &rt_model_tilt, no weights) */
    rt_model *base; /* owned copy of pi_ref */
    int P, T, V, eos, n;
    long S, internal;
    double beta;
    int *prompts;  /* (n, P) */
    int *slots;    /* (nslots) prompt index + 1, 0 = empty (open addressing) */
    size_t nslots; /* a power of two >= 2n */
    float *lt;     /* (n, S, V) log pi_T(a | x, state) */
    double *logz;  /* (n) */
} rt_tilt;

typedef struct tilt_ws {
    const rt_model *base; /* the base this workspace was made for */
    rt_model_ws *bws;     /* the base's workspace */
} tilt_ws;

static int bad(rt_diag *d, int code, const char *msg)
{
    return rt_diag_set(d, code, "%s", msg);
}

/* ---- prompts ------------------------------------------------------------------------- */

static uint64_t prompt_hash(const int *p, int P)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < P; i++)
        h = (h ^ (uint64_t)(unsigned)p[i]) * 1099511628211ull;
    return h;
}

/* The index of prompt p, or -1. */
static int find_prompt(const rt_tilt *t, const int *p)
{
    size_t mask = t->nslots - 1;
    for (size_t k = prompt_hash(p, t->P) & mask;; k = (k + 1) & mask) {
        int i = t->slots[k] - 1;
        if (i < 0) return -1;
        if (!memcmp(t->prompts + (size_t)i * t->P, p, sizeof(int) * (size_t)t->P)) return i;
    }
}

static void add_prompt(rt_tilt *t, int i)
{
    size_t mask = t->nslots - 1;
    size_t k = prompt_hash(t->prompts + (size_t)i * t->P, t->P) & mask;
    while (t->slots[k])
        k = (k + 1) & mask;
    t->slots[k] = i + 1;
}

/* ---- the task check ---------------------------------------------------------------------- */

static uint64_t n_prompts(const rt_task *task)
{
    return rt_task_split_count(task, RT_TASK_TRAIN) + rt_task_split_count(task, RT_TASK_HELDOUT);
}

int rt_tilt_check_answers(const rt_task *task, const char *what, long *states, rt_diag *d)
{
    int T = rt_task_answer_max(task), V = rt_task_vocab_size(task);
    if (T > RT_TILT_MAX_T)
        return rt_diag_set(d, RT_EINVAL,
                           "%s: answers of at most %d tokens (EOS included), but this task has "
                           "answers of up to %d tokens",
                           what, RT_TILT_MAX_T, T);
    long S = rt_rl_chi2_states(V, T);
    if (V > RT_RL_CHI2_MAX_V || S > RT_RL_CHI2_MAX_STATES)
        return rt_diag_set(d, RT_EINVAL,
                           "%s: %ld prefix states per prompt over %d tokens exceed the limit of %d",
                           what, S, V, RT_RL_CHI2_MAX_STATES);
    if (states) *states = S;
    return 0;
}

int rt_tilt_check_task(const rt_task *task, rt_diag *d)
{
    int V = rt_task_vocab_size(task);
    long S;
    int rc = rt_tilt_check_answers(task, "a tilt enumerates every answer exactly", &S, d);
    if (rc) return rc;
    uint64_t n = n_prompts(task);
    if (n == 0)
        return rt_diag_set(d, RT_EINVAL,
                           "a tilt tabulates every prompt: this task's %llu prompts are not "
                           "enumerated (at most 65536 per domain)",
                           (unsigned long long)rt_task_prompt_space(task));
    if ((double)n * (double)S * V > (double)RT_TILT_MAX_FLOATS)
        return rt_diag_set(d, RT_EINVAL,
                           "a tilt tabulates every prompt: %llu prompts * %ld prefix states * %d "
                           "tokens exceed the limit of %ld table entries",
                           (unsigned long long)n, S, V, RT_TILT_MAX_FLOATS);
    return 0;
}

/* ---- the tables --------------------------------------------------------------------------- */

/* Scratch of one prompt's tree. */
typedef struct build {
    int *seqs, *lo, *hi; /* the states as rows (rt_rl_tree_states) */
    double *lr;          /* (S, V) the base's log-softmax */
    double *logw;        /* (S) log W(state) */
    double *feat;        /* (n_features) */
    rt_model_ws *ws;     /* the base's, S rows */
} build;

/* log pi_ref(a | state) of every state, in double. */
static int base_rows(const rt_tilt *t, build *b)
{
    rt_model_batch batch = {b->seqs, (int)t->S, t->P + t->T, 0, b->lo, b->hi};
    if (rt_model_score(t->base, b->ws, &batch, 1.0f, NULL)) return RT_EFAILED;
    const float *z = rt_model_ws_logits(b->ws);
    int V = t->V;
    for (long s = 0; s < t->S; s++) {
        const float *r = z + (size_t)s * V;
        double mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++)
            mx = r[v] > mx ? r[v] : mx;
        for (int v = 0; v < V; v++)
            sum += rt_exp(r[v] - mx);
        double lz = mx + rt_log(sum);
        for (int v = 0; v < V; v++)
            b->lr[(size_t)s * V + v] = r[v] - lz;
    }
    return 0;
}

/* Prompt i: the tree from the leaves up (children have larger indices than their
 * parent), its table rows and log Z.  RT_EINVAL when some R / beta is not finite. */
static int build_prompt(rt_tilt *t, build *b, const rt_tilt_spec *sp, const rt_task_sample *x,
                        int i, rt_diag *d)
{
    int P = t->P, T = t->T, V = t->V, L = P + T;
    rt_rl_tree_states(x->prompt, P, T, V, t->eos, t->S, b->seqs, b->lo, b->hi);
    int rc = base_rows(t, b);
    if (rc) return bad(d, rc, "tilt: the base's forward pass failed");
    double cw[RT_RL_CHI2_MAX_V];
    int g[RT_TILT_MAX_T];
    float *lt = t->lt + (size_t)i * t->S * V;
    for (long s = t->S - 1; s >= 0; s--) {
        const double *lr = b->lr + (size_t)s * V;
        int depth = b->lo[s] - P;
        memcpy(g, b->seqs + (size_t)s * L + P, sizeof(int) * (size_t)depth);
        double mx = -INFINITY;
        for (int a = 0; a < V; a++) {
            if (a == t->eos || s >= t->internal) { /* a leaf: the answer prefix ++ a */
                g[depth] = a;
                rt_task_features(sp->task, x, g, depth + 1, b->feat);
                double r =
                    rt_score_one(sp->task, sp->reward, sp->params, x, g, depth + 1, b->feat) /
                    t->beta;
                if (!isfinite(r))
                    return rt_diag_set(d, RT_EINVAL,
                                       "tilt: reward / beta is not finite on an answer (beta %g "
                                       "too small?)",
                                       t->beta);
                cw[a] = r;
            } else {
                cw[a] = b->logw[rt_rl_tree_child(s, a, V, t->eos)];
            }
            mx = lr[a] + cw[a] > mx ? lr[a] + cw[a] : mx;
        }
        double sum = 0.0;
        for (int a = 0; a < V; a++)
            sum += rt_exp(lr[a] + cw[a] - mx);
        double lw = mx + rt_log(sum);
        b->logw[s] = lw;
        for (int a = 0; a < V; a++)
            lt[(size_t)s * V + a] = (float)(lr[a] + cw[a] - lw);
    }
    t->logz[i] = b->logw[0];
    return 0;
}

static void build_free(build *b)
{
    rt_free(b->seqs), rt_free(b->lo), rt_free(b->hi), rt_free(b->lr), rt_free(b->logw);
    rt_free(b->feat);
    rt_model_ws_free(b->ws);
}

static int build_tables(rt_tilt *t, const rt_tilt_spec *sp, rt_diag *d)
{
    build b;
    memset(&b, 0, sizeof b);
    size_t S = (size_t)t->S, V = (size_t)t->V;
    b.seqs = rt_calloc(S * (size_t)(t->P + t->T), sizeof(int));
    b.lo = rt_calloc(S, sizeof(int)), b.hi = rt_calloc(S, sizeof(int));
    b.lr = rt_calloc(S * V, sizeof(double)), b.logw = rt_calloc(S, sizeof(double));
    int nf = rt_task_n_features(sp->task);
    b.feat = rt_calloc((size_t)(nf > 0 ? nf : 1), sizeof(double));
    int rc = 0;
    if (!b.seqs || !b.lo || !b.hi || !b.lr || !b.logw || !b.feat ||
        rt_model_ws_create(&b.ws, t->base, (int)S, NULL))
        rc = bad(d, RT_ENOMEM, "out of memory building the tilt's tables");
    uint64_t ntr = rt_task_split_count(sp->task, RT_TASK_TRAIN);
    for (int i = 0; !rc && i < t->n; i++) {
        rt_task_sample x;
        rt_task_split sp_i = (uint64_t)i < ntr ? RT_TASK_TRAIN : RT_TASK_HELDOUT;
        uint64_t k = (uint64_t)i < ntr ? (uint64_t)i : (uint64_t)i - ntr;
        if (rt_task_sample_at(sp->task, sp_i, k, &x)) {
            rc = bad(d, RT_EINVAL, "tilt: the task's prompts could not be enumerated");
            break;
        }
        memcpy(t->prompts + (size_t)i * t->P, x.prompt, sizeof(int) * (size_t)t->P);
        rc = build_prompt(t, &b, sp, &x, i, d);
        if (!rc) add_prompt(t, i);
    }
    build_free(&b);
    return rc;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void tilt_destroy(rt_model *m)
{
    rt_tilt *t = (rt_tilt *)m;
    if (!t) return;
    rt_model_free(t->base);
    rt_free(t->prompts), rt_free(t->slots), rt_free(t->lt), rt_free(t->logz);
    rt_free(t);
}

int rt_tilt_create(rt_policy **out, const rt_tilt_spec *sp, rt_diag *d)
{
    *out = NULL;
    if (!sp || !sp->base || !sp->task || !sp->reward)
        return bad(d, RT_EINVAL, "tilt: missing input");
    if (!(sp->beta > 0.0) || !isfinite(sp->beta))
        return rt_diag_set(d, RT_EINVAL, "beta must be a finite number > 0 (got %g)", sp->beta);
    int rc = rt_tilt_check_task(sp->task, d);
    if (rc) return rc;
    int V = rt_task_vocab_size(sp->task);
    if (sp->base->vocab != V)
        return rt_diag_set(d, RT_EINVAL,
                           "the base has a vocabulary of %d tokens but the task has %d",
                           sp->base->vocab, V);
    rt_tilt *t = rt_calloc(1, sizeof *t);
    if (!t) return bad(d, RT_ENOMEM, "out of memory creating a tilt");
    t->pol.model.ops = &rt_model_tilt;
    t->pol.model.params = &t->pol.params;
    t->pol.model.vocab = V;
    t->pol.cfg.vocab = V;
    t->P = rt_task_prompt_len(sp->task), t->T = rt_task_answer_max(sp->task), t->V = V;
    t->eos = RT_TOK_EOS;
    t->S = rt_rl_chi2_states(V, t->T);
    t->internal = rt_rl_tree_internal(V, t->T, t->eos);
    t->beta = sp->beta;
    t->n = (int)n_prompts(sp->task);
    for (t->nslots = 1; t->nslots < 2 * (size_t)t->n; t->nslots <<= 1)
        ;
    t->prompts = rt_calloc((size_t)t->n * t->P, sizeof(int));
    t->slots = rt_calloc(t->nslots, sizeof(int));
    t->lt = rt_calloc((size_t)t->n * t->S * V, sizeof(float));
    t->logz = rt_calloc((size_t)t->n, sizeof(double));
    rc = 0;
    if (!t->prompts || !t->slots || !t->lt || !t->logz)
        rc = bad(d, RT_ENOMEM, "out of memory creating a tilt");
    if (!rc) {
        rt_diag cd;
        rc = rt_model_copy(&t->base, sp->base, &cd);
        if (rc) rc = bad(d, RT_ENOMEM, "out of memory copying the tilt's base");
    }
    if (!rc) rc = build_tables(t, sp, d);
    if (rc) {
        tilt_destroy(&t->pol.model);
        return rc;
    }
    *out = &t->pol;
    return 0;
}

/* ---- queries --------------------------------------------------------------------------------- */

int rt_tilt_is(const rt_model *m)
{
    return m && m->ops == &rt_model_tilt;
}

double rt_tilt_log_z(const rt_model *m, const int *prompt)
{
    if (!rt_tilt_is(m)) return NAN;
    const rt_tilt *t = (const rt_tilt *)m;
    int i = find_prompt(t, prompt);
    return i < 0 ? NAN : t->logz[i];
}

double rt_tilt_beta(const rt_model *m)
{
    return rt_tilt_is(m) ? ((const rt_tilt *)m)->beta : NAN;
}

const rt_model *rt_tilt_base(const rt_model *m)
{
    return rt_tilt_is(m) ? ((const rt_tilt *)m)->base : NULL;
}

/* ---- the model ops ------------------------------------------------------------------------------
 */

static int tilt_check(int vocab, const int *cfg, char *msg, size_t cap)
{
    (void)vocab, (void)cfg;
    snprintf(msg, cap, "a tilt is built by %%tilt from a base, a task and a reward");
    return RT_EINVAL;
}

static size_t tilt_nparams(int vocab, const int *cfg)
{
    (void)vocab, (void)cfg;
    return 0;
}

static int tilt_create_op(rt_model **out, int vocab, const int *cfg)
{
    (void)vocab, (void)cfg;
    *out = NULL;
    return RT_EINVAL; /* never from a configuration: rt_tilt_create */
}

static void tilt_config(const rt_model *m, int *cfg)
{
    (void)m, (void)cfg;
}

static void tilt_init(rt_model *m, const rt_rng *rng)
{
    (void)m, (void)rng;
}

static void tilt_touch(rt_model *m)
{
    (void)m;
}

static int tilt_ws_create(const rt_model *m, int max_rows, void **out)
{
    const rt_tilt *t = (const rt_tilt *)m;
    tilt_ws *w = rt_calloc(1, sizeof *w);
    if (!w) return RT_ENOMEM;
    w->base = t->base;
    if (rt_model_ws_create(&w->bws, t->base, max_rows, NULL)) {
        rt_free(w);
        return RT_ENOMEM;
    }
    *out = w;
    return 0;
}

static void tilt_ws_free(void *impl)
{
    tilt_ws *w = impl;
    rt_model_ws_free(w->bws);
    rt_free(w);
}

static void tilt_ws_set_threads(void *impl, int threads)
{
    rt_model_ws_set_threads(((tilt_ws *)impl)->bws, threads);
}

/* The tree state of the answer prefix seq[P .. pos), or -1 when the row is not in the
 * tree (a prompt position, past T, or after an EOS). */
static long state_of(const rt_tilt *t, const int *seq, int pos)
{
    int depth = pos - t->P;
    if (depth < 0 || depth >= t->T) return -1;
    long s = 0;
    for (int k = 0; k < depth; k++) {
        int a = seq[t->P + k];
        if (a == t->eos || a < 0 || a >= t->V) return -1;
        s = rt_rl_tree_child(s, a, t->V, t->eos);
    }
    return s;
}

static int tilt_forward(const rt_model *m, rt_model_ws *mws, const rt_model_batch *b, int keep,
                        float *out, float temperature, float *y_lp)
{
    (void)keep;
    const rt_tilt *t = (const rt_tilt *)m;
    tilt_ws *w = mws->impl;
    if (w->base != t->base && !rt_model_same_arch(w->base, t->base)) return RT_EINVAL;
    int rc = rt_model_score(t->base, w->bws, b, 1.0f, NULL);
    if (rc) return rc;
    size_t V = (size_t)t->V;
    long rows = rt_model_batch_rows(b);
    memcpy(out, rt_model_ws_logits(w->bws), sizeof(float) * V * (size_t)rows);
    long r = 0;
    for (int q = 0; q < b->B; q++) {
        const int *seq = b->tokens + (size_t)q * b->L;
        int lo = b->lo ? b->lo[q] : b->from, hi = b->lo ? b->hi[q] : b->L;
        int pi = -2; /* the prompt's index, looked up at the first covered row */
        for (int pos = lo; pos < hi; pos++, r++) {
            long s = state_of(t, seq, pos);
            if (s >= 0) {
                if (pi == -2) pi = find_prompt(t, seq);
                if (pi < 0) return RT_EINVAL; /* a prompt the task does not have */
                memcpy(out + (size_t)r * V, t->lt + ((size_t)pi * t->S + (size_t)s) * V,
                       sizeof(float) * V);
            }
            if (y_lp)
                rt_nn_token_logprob(y_lp + r, out + (size_t)r * V, &seq[pos], 1, (int)V,
                                    temperature);
        }
    }
    return 0;
}

static int tilt_backward(rt_model *m, rt_model_ws *ws, const float *dlogits)
{
    (void)m, (void)ws, (void)dlogits;
    return RT_EINVAL; /* an analytic model: nothing to train */
}

const rt_model_ops rt_model_tilt = {
    .arch = "tilt",
    .keys = NULL,
    .nkeys = 0,
    .check = tilt_check,
    .nparams = tilt_nparams,
    .create = tilt_create_op,
    .destroy = tilt_destroy,
    .config = tilt_config,
    .init = tilt_init,
    .touch = tilt_touch,
    .ws_create = tilt_ws_create,
    .ws_free = tilt_ws_free,
    .ws_set_threads = tilt_ws_set_threads,
    .forward = tilt_forward,
    .backward = tilt_backward,
};
