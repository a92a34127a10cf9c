/* rt_debate_reward: the debate(NAME) / judge_full(NAME) feature provider of rt_rl runs
 * (rt_debate_reward.h) — linking rewards that read them through a resolver, and the
 * per-run hook that, at every step, computes the baseline's greedy actions, plays the
 * debates of the step's samples (rt_debate_eval_threads) or asks the full-state judge
 * (rt_debate_full_reward_batch) and writes their feature columns and metrics.  Leaves out: the
 * names of debates and where they live (the resolver's), the run itself (rt_rl_run_hooked). */
#include "rt_debate_reward.h"

#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_task_data.h"

static const char *const fn_names[] = {"debate", "judge_full", NULL};

int rt_debate_reward_reads(const rt_reward_program *p)
{
    int n = p ? rt_reward_n_features(p) : 0;
    for (int i = 0; i < n; i++) {
        const char *f = rt_reward_feature_name(p, i);
        if (strncmp(f, "debate(", 7) == 0 || strncmp(f, "judge_full(", 11) == 0) return 1;
    }
    return 0;
}

struct rt_debate_reward {
    const rt_task *task; /* the run's task */
    int nf;              /* its features: the debates' slots start here */
    int n;               /* slots: (debate, function) pairs read */
    rt_debate_source src[RT_DEBATE_REWARD_MAX];
    int full[RT_DEBATE_REWARD_MAX]; /* 0: debate(NAME), 1: judge_full(NAME) */
};

typedef struct link_ctx {
    rt_debate_reward *x;
    rt_debate_resolve_fn resolve;
    void *ctx;
} link_ctx;

/* 1 if the tasks differ in any configuration key but noise. */
static int task_differs(const rt_task *a_task, const rt_task *b_task)
{
    const rt_task_config *a = rt_task_config_of(a_task), *b = rt_task_config_of(b_task);
    int differs = b->kind != a->kind;
    for (int i = 0; !differs && i < rt_task_kind_n_keys(a->kind); i++)
        differs =
            strcmp(rt_task_kind_key(a->kind, i)->name, "noise") && a->values[i] != b->values[i];
    if (!differs && (a->data || b->data)) /* file tasks: their rows */
        differs =
            !a->data || !b->data || rt_task_data_digest(a->data) != rt_task_data_digest(b->data);
    return differs;
}

/* rt_reward_feature_fn: debate(arg) / judge_full(arg) -> its slot (nf + the order of first
 * read of the pair (debate, function)). */
static int link_resolve(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                        size_t errlen)
{
    link_ctx *c = ctx;
    rt_debate_reward *x = c->x;
    int full = strcmp(fn, "judge_full") == 0;
    if (!full && strcmp(fn, "debate") != 0) {
        snprintf(err, errlen, "unknown feature function '%s'", fn);
        return 1;
    }
    rt_debate_source s;
    memset(&s, 0, sizeof s);
    if (c->resolve(c->ctx, arg, &s, err, errlen)) return 1;
    if (!s.debate) {
        snprintf(err, errlen, "unknown debate '%s'", arg);
        return 1;
    }
    for (int i = 0; i < x->n; i++)
        if (x->src[i].debate == s.debate && x->full[i] == full) {
            *slot = x->nf + i;
            return 0;
        }
    if (x->n == RT_DEBATE_REWARD_MAX) {
        snprintf(err, errlen, "a reward can read at most %d debate features", RT_DEBATE_REWARD_MAX);
        return 1;
    }
    if (task_differs(rt_debate_task_of(s.debate), x->task)) {
        snprintf(err, errlen,
                 "debate '%s' is on task '%s', whose configuration differs from this run's task",
                 arg, s.task_name ? s.task_name : "?");
        return 1;
    }
    if (!s.baseline) {
        snprintf(err, errlen, "debate '%s' has no baseline policy%s%s%s", arg,
                 s.hint[0] ? " (" : "", s.hint, s.hint[0] ? ")" : "");
        return 1;
    }
    x->src[x->n] = s;
    x->full[x->n] = full;
    *slot = x->nf + x->n++;
    return 0;
}

int rt_debate_reward_create(const rt_task *task, const rt_reward_program *reward,
                            const rt_reward_program *eval_reward, rt_debate_resolve_fn resolve,
                            void *ctx, rt_debate_reward **out, rt_reward_program **linked,
                            rt_reward_program **linked_eval, char *msg, size_t cap)
{
    *out = NULL;
    *linked = NULL;
    if (linked_eval) *linked_eval = NULL;
    if (!task || !reward || !resolve) {
        snprintf(msg, cap, "debate reward: bad arguments");
        return -1;
    }
    rt_debate_reward *x = rt_calloc(1, sizeof *x);
    if (!x) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    x->task = task;
    x->nf = rt_task_n_features(task);
    link_ctx lc = {x, resolve, ctx};
    if (rt_rl_link_feature_rewards(task, reward, eval_reward, RT_DEBATE_REWARD_MAX, fn_names, 2,
                                   link_resolve, &lc, linked, linked_eval, msg, cap)) {
        rt_free(x);
        return -1;
    }
    *out = x;
    return 0;
}

void rt_debate_reward_free(rt_debate_reward *x)
{
    rt_free(x);
}

int rt_debate_reward_n_debates(const rt_debate_reward *x)
{
    return x ? x->n : 0;
}

static const char *const metric_names[] = {"return", "judge_win", "judge_win_full"};

const char *const *rt_debate_reward_metrics(int *n)
{
    if (n) *n = 3;
    return metric_names;
}

struct rt_debate_reward_hook {
    const rt_debate_reward *x;
    int N;                                 /* sequences per step it is sized for */
    int threads;                           /* of rt_debate_eval_threads */
    rt_model_ws *ws[RT_DEBATE_REWARD_MAX]; /* of each baseline, N rows */
    rt_task_sample *uniq;                  /* (N) the prompts of a step, once each */
    int *a_pi, *a_b, *a_u;                 /* (N) */
    double *out;                           /* (N) */
};

void rt_debate_reward_hook_free(rt_debate_reward_hook *h)
{
    if (!h) return;
    for (int i = 0; i < RT_DEBATE_REWARD_MAX; i++)
        rt_model_ws_free(h->ws[i]);
    rt_free(h->uniq);
    rt_free(h->a_pi);
    rt_free(h->a_b);
    rt_free(h->a_u);
    rt_free(h->out);
    rt_free(h);
}

int rt_debate_reward_hook_new(const rt_debate_reward *x, int N, int threads,
                              rt_debate_reward_hook **out)
{
    *out = NULL;
    if (!x || N < 1) return -1;
    rt_debate_reward_hook *h = rt_calloc(1, sizeof *h);
    if (!h) return -1;
    h->x = x;
    h->N = N;
    h->threads = threads; /* clamped by rt_debate_eval_threads */
    h->uniq = rt_calloc((size_t)N, sizeof *h->uniq);
    h->a_pi = rt_calloc((size_t)N, sizeof(int));
    h->a_b = rt_calloc((size_t)N, sizeof(int));
    h->a_u = rt_calloc((size_t)N, sizeof(int));
    h->out = rt_calloc((size_t)N, sizeof(double));
    int bad = !h->uniq || !h->a_pi || !h->a_b || !h->a_u || !h->out;
    for (int i = 0; !bad && i < x->n; i++)
        bad = rt_model_ws_create(&h->ws[i], x->src[i].baseline, N, NULL) != 0;
    if (bad) {
        rt_debate_reward_hook_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

/* rt_rl_hook_fn: the samples' actions, the baseline's action per prompt, slot k's
 * feature (debate or judge_full) per sample into column nf + k, the first slot's debate
 * metrics (a judge_full slot plays the debates too, for judge_win). */
static int hook_fill(void *user, const rt_rl_hook_batch *b, double *feat, int stride, int nf,
                     double *metrics, char *msg, size_t msglen)
{
    rt_debate_reward_hook *h = user;
    const rt_debate_reward *x = h->x;
    if (b->N > h->N) {
        snprintf(msg, msglen, "debate hook sized for %d sequences, got %d", h->N, b->N);
        return 1;
    }
    int nu = b->N / b->G;
    for (int u = 0; u < nu; u++)
        h->uniq[u] = b->samples[u * b->G];
    for (int i = 0; i < b->N; i++)
        h->a_pi[i] = rt_debate_action_of(x->task, b->tokens + (size_t)i * b->T, b->lengths[i]);
    for (int k = 0; k < x->n; k++) {
        const rt_debate *d = x->src[k].debate;
        if (rt_debate_policy_actions(rt_debate_task_of(d), x->src[k].baseline, h->ws[k], h->uniq,
                                     nu, h->a_u)) {
            snprintf(msg, msglen, "baseline actions of debate failed");
            return 1;
        }
        for (int i = 0; i < b->N; i++)
            h->a_b[i] = h->a_u[i / b->G];
        rt_rng ks = rt_rng_split(b->stream, (uint64_t)k);
        rt_debate_metrics m;
        rt_diag err;
        /* the debates: the feature of a debate slot, the metrics of slot 0 */
        if ((!x->full[k] || k == 0) &&
            rt_debate_eval_threads(d, h->threads, b->samples, h->a_pi, h->a_b, b->N, &ks, 0, h->out,
                                   &m, &err)) {
            snprintf(msg, msglen, "debate: %s", err.msg);
            return 1;
        }
        if (x->full[k] &&
            rt_debate_full_reward_batch(d, b->samples, h->a_pi, h->a_b, b->N, h->out)) {
            snprintf(msg, msglen, "judge_full: bad arguments");
            return 1;
        }
        for (int i = 0; i < b->N; i++)
            feat[(size_t)i * stride + nf + k] = h->out[i];
        if (k == 0) {
            metrics[0] = m.ret;
            metrics[1] = m.judge_win;
            metrics[2] = m.judge_win_full;
        }
    }
    return 0;
}

rt_rl_hook rt_debate_reward_hook_of(rt_debate_reward_hook *h)
{
    rt_rl_hook k = {h->x->n, 3, metric_names, hook_fill, h};
    return k;
}

/* ---- the provider record (rt_feature_provider, registered as "debate") ------------- */

/* rt_debate_resolve_fn over an rt_feature_env: debate(NAME) and judge_full(NAME) ->
 * env->resolve("debate", ..) (both name a debate) */
static int env_resolve(void *ctx, const char *name, rt_debate_source *out, char *err, size_t errlen)
{
    const rt_feature_env *env = ctx;
    return env->resolve(env->ctx, "debate", name, out, err, errlen);
}

static int fp_create(const rt_task *task, const rt_reward_program *reward,
                     const rt_reward_program *eval_reward, const rt_feature_env *env, void **state,
                     rt_reward_program **linked, rt_reward_program **linked_eval, char *msg,
                     size_t cap)
{
    rt_debate_reward *x = NULL;
    *state = NULL;
    if (!env || !env->resolve) {
        *linked = NULL;
        if (linked_eval) *linked_eval = NULL;
        snprintf(msg, cap, "debate reward: bad arguments");
        return -1;
    }
    int rc = rt_debate_reward_create(task, reward, eval_reward, env_resolve, (void *)env, &x,
                                     linked, linked_eval, msg, cap);
    *state = x;
    return rc;
}

static void fp_destroy(void *state)
{
    rt_debate_reward_free(state);
}

static int fp_n_features(const void *state)
{
    return rt_debate_reward_n_debates(state);
}

static int fp_run_new(const void *state, int N, int threads, void **ws)
{
    rt_debate_reward_hook *h = NULL;
    int rc = rt_debate_reward_hook_new(state, N, threads, &h);
    *ws = h;
    return rc;
}

static void fp_run_free(void *ws)
{
    rt_debate_reward_hook_free(ws);
}

const rt_feature_provider rt_debate_feature_provider = {
    .name = "debate",
    .fns = fn_names,
    .n_metrics = 3,
    .metric_names = metric_names,
    .create = fp_create,
    .destroy = fp_destroy,
    .n_features = fp_n_features,
    .run_new = fp_run_new,
    .run_free = fp_run_free,
    .fill = hook_fill,
};
