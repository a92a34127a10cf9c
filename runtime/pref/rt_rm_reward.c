/* rt_rm_reward: the "rm" feature provider (rt_rm.h, bottom): rm(NAME), rm_mean(NAME),
 * rm_min(NAME) as reward features of rt_rl runs and of best-of-n (rt_bon's hook).
 * Leaves out: where reward models live (the resolver's), metrics. */
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_rm.h"
#include "rt_task_data.h"

#define CHUNK 256

static const char *const fn_names[] = {"rm", "rm_mean", "rm_min", NULL};

typedef struct rm_reward {
    const rt_task *task;
    int nf, n;
    rt_rm_source src[RT_RM_REWARD_MAX];
    int is_min[RT_RM_REWARD_MAX];
} rm_reward;

typedef struct link_ctx {
    rm_reward *x;
    const rt_feature_env *env;
} link_ctx;

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

static int link_resolve(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                        size_t errlen)
{
    link_ctx *c = ctx;
    rm_reward *x = c->x;
    int is_min = strcmp(fn, "rm_min") == 0;
    if (!is_min && strcmp(fn, "rm") && strcmp(fn, "rm_mean")) {
        snprintf(err, errlen, "unknown feature function '%s'", fn);
        return 1;
    }
    rt_rm_source s;
    memset(&s, 0, sizeof s);
    if (c->env->resolve(c->env->ctx, fn, arg, &s, err, errlen)) return 1;
    if (!s.rm) {
        snprintf(err, errlen, "unknown reward model '%s'", arg);
        return 1;
    }
    for (int i = 0; i < x->n; i++)
        if (x->src[i].rm == s.rm && x->is_min[i] == is_min) {
            *slot = x->nf + i;
            return 0;
        }
    if (x->n == RT_RM_REWARD_MAX) {
        snprintf(err, errlen, "a reward can read at most %d reward-model features",
                 RT_RM_REWARD_MAX);
        return 1;
    }
    if (!s.task || task_differs(s.task, x->task)) {
        snprintf(err, errlen,
                 "rm '%s' is on task '%s', whose configuration differs from this run's task", arg,
                 s.task_name ? s.task_name : "?");
        return 1;
    }
    if (rt_rm_vocab(s.rm) != rt_task_vocab_size(x->task)) {
        snprintf(err, errlen, "rm '%s' has a vocabulary of %d tokens, the task %d", arg,
                 rt_rm_vocab(s.rm), rt_task_vocab_size(x->task));
        return 1;
    }
    x->src[x->n] = s;
    x->is_min[x->n] = is_min;
    *slot = x->nf + x->n++;
    return 0;
}

static int fp_create(const rt_task *task, const rt_reward_program *reward,
                     const rt_reward_program *eval_reward, const rt_feature_env *env, void **state,
                     rt_reward_program **linked, rt_reward_program **linked_eval, char *msg,
                     size_t cap)
{
    *state = NULL;
    *linked = NULL;
    if (linked_eval) *linked_eval = NULL;
    if (!task || !reward || !env || !env->resolve) {
        snprintf(msg, cap, "rm reward: bad arguments");
        return -1;
    }
    rm_reward *x = rt_calloc(1, sizeof *x);
    if (!x) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    x->task = task;
    x->nf = rt_task_n_features(task);
    link_ctx lc = {x, env};
    if (rt_rl_link_feature_rewards(task, reward, eval_reward, RT_RM_REWARD_MAX, fn_names, 3,
                                   link_resolve, &lc, linked, linked_eval, msg, cap)) {
        rt_free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static void fp_destroy(void *state)
{
    rt_free(state);
}

static int fp_n_features(const void *state)
{
    return state ? ((const rm_reward *)state)->n : 0;
}

typedef struct rm_hook {
    const rm_reward *x;
    rt_rm_ws *ws[RT_RM_REWARD_MAX]; /* per slot (slots of one model share the first's) */
    int owner[RT_RM_REWARD_MAX];    /* the slot whose ws and scores this slot uses */
    double *sc[RT_RM_REWARD_MAX];   /* (K, CHUNK) member scores of the owner's model */
    double red[CHUNK];
} rm_hook;

static void fp_run_free(void *ws)
{
    rm_hook *h = ws;
    if (!h) return;
    for (int i = 0; i < RT_RM_REWARD_MAX; i++) {
        rt_rm_ws_free(h->ws[i]);
        rt_free(h->sc[i]);
    }
    rt_free(h);
}

static int fp_run_new(const void *state, int N, int threads, void **out)
{
    (void)N, (void)threads; /* fill works in chunks of CHUNK sequences, one thread */
    const rm_reward *x = state;
    *out = NULL;
    rm_hook *h = rt_calloc(1, sizeof *h);
    if (!h) return -1;
    h->x = x;
    for (int i = 0; i < x->n; i++) {
        h->owner[i] = i;
        for (int j = 0; j < i; j++)
            if (x->src[j].rm == x->src[i].rm) {
                h->owner[i] = h->owner[j];
                break;
            }
        if (h->owner[i] != i) continue;
        h->sc[i] = rt_calloc((size_t)rt_rm_ensemble(x->src[i].rm) * CHUNK, sizeof(double));
        if (!h->sc[i] || rt_rm_ws_create(&h->ws[i], x->src[i].rm, CHUNK, NULL)) {
            fp_run_free(h);
            return -1;
        }
    }
    *out = h;
    return 0;
}

static int fp_fill(void *user, const rt_rl_hook_batch *b, double *feat, int stride, int nf,
                   double *metrics, char *msg, size_t msglen)
{
    (void)metrics;
    rm_hook *h = user;
    const rm_reward *x = h->x;
    for (int i0 = 0; i0 < b->N; i0 += CHUNK) {
        int n = b->N - i0 < CHUNK ? b->N - i0 : CHUNK;
        for (int k = 0; k < x->n; k++) {
            const rt_rm *rm = x->src[k].rm;
            int K = rt_rm_ensemble(rm), o = h->owner[k];
            rt_diag d;
            if (o == k && rt_rm_score(rm, h->ws[k], b->samples + i0, b->tokens + (size_t)i0 * b->T,
                                      b->lengths + i0, n, h->sc[k], &d)) {
                snprintf(msg, msglen, "rm: %s", d.msg);
                return 1;
            }
            /* out (K, n): member-major with stride n */
            if (x->is_min[k])
                rt_rm_min(h->sc[o], K, n, h->red);
            else
                rt_rm_mean(h->sc[o], K, n, h->red);
            for (int i = 0; i < n; i++)
                feat[(size_t)(i0 + i) * stride + nf + k] = h->red[i];
        }
    }
    return 0;
}

const rt_feature_provider rt_rm_feature_provider = {
    .name = "rm",
    .fns = fn_names,
    .n_metrics = 0,
    .metric_names = NULL,
    .create = fp_create,
    .destroy = fp_destroy,
    .n_features = fp_n_features,
    .run_new = fp_run_new,
    .run_free = fp_run_free,
    .fill = fp_fill,
};
