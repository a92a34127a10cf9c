/* rt_rl_run.c: the "rl" trainer record (rt_rl_run in rt_rl.h) that rt_trainer_run
 * runs: setup (checks, allocation), a step (prompts from the task, G samples each, task
 * features, the optional hook of extra features and metrics (rt_rl_hook, given or made
 * from a feature provider's ops), the reward program, one rt_rl_update) and a row
 * (held-out evaluation).  Setup allocates everything; steps allocate nothing.  Leaves out: the run
 * loop (rt_trainer.c), checkpoints, schedules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_fuzz.h"
#include "rt_eval.h"
#include "rt_rl.h"
#include "rt_score.h"

enum {
    C_STEP,
    C_TOKENS,
    C_WALL,
    C_REWARD,
    C_ACC,
    C_EVAL,
    C_KLREF,
    C_KLEST,
    C_ENT,
    C_LEN,
    C_ADV,
    C_GNORM,
    C_CLIP,
    C_CLIP_LOW,
    C_CLIP_HIGH,
    C_RATIO_MEAN,
    C_RATIO_VAR,
    C_ZERO_STD,
    C_LOSS,
    C_EREW,
    C_CHI2,
    C_STALENESS,
    C_GROUPS_KEPT,
    C_VLOSS,
    C_EV,
    C_R2VPO_LAMBDA,
    N_COLS
};
static const char *const columns[N_COLS] = {
    "step",          "tokens",        "wall",
    "reward",        "accuracy",      "eval_accuracy",
    "kl_ref",        "kl_est",        "entropy",
    "length",        "adv_mean",      "grad_norm",
    "clip_frac",     "clip_frac_low", "clip_frac_high",
    "ratio_mean",    "ratio_var",     "frac_reward_zero_std",
    "loss",          "eval_reward",   "chi2",
    "staleness",     "groups_kept",   "value_loss",
    "explained_var", "r2vpo_lambda"};

const char *const *rt_rl_columns(int *n)
{
    if (n) *n = N_COLS;
    return columns;
}

static int fail(rt_diag *d, int code, const char *key, const char *msg)
{
    snprintf(d->key, sizeof d->key, "%s", key ? key : "");
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    return code;
}

typedef struct rl_st {
    rt_policy *p;
    const rt_policy *ref;
    rt_rl_problem prob;
    const rt_rl_hook *hook;
    const rt_feature_provider *fp; /* a feature provider's run: its workspace and hook */
    void *fws;
    rt_rl_hook fhook;
    rt_rl_config cfg;
    int B, G, N, T, nf, nx, ic;
    long tokens;
    rt_rng data, gen, hks; /* the RT_STREAM_PROMPTS, _SAMPLES and _HOOK streams */
    rt_rl *rl;
    rt_model **ring; /* staleness k > 0: k + 1 snapshots, ring[j % (k + 1)] = the policy
                        after j steps (allocated at setup, rotated by rt_model_assign) */
    rt_eval *ev;
    rt_task_sample *samples, *rep;       /* (B), (N) */
    int *prompts;                        /* (B, P) */
    double *feat, *R, *ER;               /* (N, nx), (N), (N) */
    double *tfeat;                       /* (N, nf) task features when a hook adds slots */
    double hval[RT_RL_HOOK_MAX_METRICS]; /* the hook's metrics (kept between steps) */
    const char *names[N_COLS + RT_RL_HOOK_MAX_METRICS]; /* the metric names */
} rl_st;

static void rl_free(void *arg)
{
    rl_st *w = arg;
    if (!w) return;
    if (w->fp && w->fws) w->fp->run_free(w->fws);
    rt_rl_free(w->rl);
    for (int j = 0; w->ring && j <= w->cfg.staleness; j++)
        rt_model_free(w->ring[j]);
    rt_free(w->ring);
    rt_eval_free(w->ev);
    rt_free(w->samples);
    rt_free(w->rep);
    rt_free(w->prompts);
    rt_free(w->feat);
    rt_free(w->R);
    rt_free(w->ER);
    rt_free(w->tfeat);
    rt_free(w);
}

static int rl_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                    rt_diag *d)
{
    const rt_rl_args *a = args;
    if (!a || !a->policy || !a->ref || !a->prob || !a->prob->task || !a->prob->reward || !a->cfg)
        return fail(d, RT_EINVAL, "", "rl: missing argument");
    rt_policy *p = a->policy;
    const rt_policy *ref = a->ref;
    const rt_rl_problem *prob = a->prob;
    const rt_rl_hook *hook = a->hook;
    const rt_feature_provider *fp = a->features ? a->features->provider : NULL;
    rt_rl_hook fhook = {0};
    if (a->features) { /* the provider's hook; its workspace (user) comes once w exists */
        if (hook || !fp || !fp->n_features || !fp->run_new || !fp->run_free)
            return fail(d, RT_EINVAL, "", "rl: bad hook");
        fhook = (rt_rl_hook){fp->n_features(a->features->state), fp->n_metrics, fp->metric_names,
                             fp->fill, NULL};
        hook = &fhook;
    }
    rt_rl_config cfg;
    rt_diag cd;
    if (rt_rl_config_check(a->cfg, &cfg, &cd)) return fail(d, RT_EINVAL, cd.key, cd.msg);
    cfg.batch = RT_FUZZ_CAP(cfg.batch, RT_FUZZ_MAX_BATCH); /* fuzz builds only */
    cfg.group = RT_FUZZ_CAP(cfg.group, RT_FUZZ_MAX_GROUP);
    const rt_task *task = prob->task;
    int nf = rt_task_n_features(task);
    if (hook && (hook->n_features < 0 || hook->n_features > RT_RL_HOOK_MAX_FEATURES ||
                 hook->n_metrics < 0 || hook->n_metrics > RT_RL_HOOK_MAX_METRICS || !hook->fill ||
                 (hook->n_metrics > 0 && !hook->metric_names)))
        return fail(d, RT_EINVAL, "", "rl: bad hook");
    int nx = nf + (hook ? hook->n_features : 0); /* the feature stride */
    if (p->model.vocab != rt_task_vocab_size(task))
        return fail(d, RT_EINVAL, "from", "rl: the policy's vocabulary differs from the task's");
    if (rt_reward_min_slots(prob->reward) > nx ||
        (prob->eval_reward && rt_reward_min_slots(prob->eval_reward) > nx))
        return fail(d, RT_EINVAL, "reward", "rl: the reward is not linked to this task's features");
    if ((rt_reward_n_params(prob->reward) > 0 && !prob->params) ||
        (prob->eval_reward && rt_reward_n_params(prob->eval_reward) > 0 && !prob->eval_params))
        return fail(d, RT_EINVAL, "reward", "rl: reward parameters not bound");
    int B = cfg.batch, G = cfg.group, N = B * G, P = rt_task_prompt_len(task);
    int T = rt_task_answer_max(task);
    rt_rl *rl = NULL;
    int rc = rt_rl_create(&rl, &cfg, &p->model, &ref->model, P, T, RT_TOK_EOS, &cd);
    if (rc) return fail(d, rc, cd.key, cd.msg);
    rl_st *w = rt_calloc(1, sizeof *w);
    if (!w) {
        rt_rl_free(rl);
        return fail(d, RT_ENOMEM, "", "rl: out of memory");
    }
    *w = (rl_st){.p = p, .ref = ref, .prob = *prob, .hook = hook, .cfg = cfg, .rl = rl};
    if (fp) {
        w->fp = fp, w->fhook = fhook, w->hook = &w->fhook;
        if (fp->run_new(a->features->state, N, 1, &w->fws)) {
            w->fws = NULL;
            rl_free(w);
            return fail(d, RT_ENOMEM, "", "rl: out of memory");
        }
        w->fhook.user = w->fws;
    }
    w->B = B, w->G = G, w->N = N, w->T = T, w->nf = nf, w->nx = nx;
    w->ic = rt_task_feature_index(task, "correct");
    w->samples = rt_calloc((size_t)B, sizeof *w->samples);
    w->rep = rt_calloc((size_t)N, sizeof *w->rep);
    w->prompts = rt_calloc((size_t)B * P, sizeof(int));
    w->feat = rt_calloc((size_t)N * nx, sizeof(double));
    w->R = rt_calloc((size_t)N, sizeof(double));
    w->ER = rt_calloc((size_t)N, sizeof(double));
    if (nx > nf) w->tfeat = rt_calloc((size_t)N * nf, sizeof(double));
    int bad = !w->samples || !w->rep || !w->prompts || !w->feat || !w->R || !w->ER ||
              (nx > nf && !w->tfeat);
    if (!bad && cfg.staleness > 0) { /* the sampler's snapshots: copies of the policy */
        w->ring = rt_calloc((size_t)cfg.staleness + 1, sizeof *w->ring);
        bad = !w->ring;
        for (int j = 0; !bad && j <= cfg.staleness; j++)
            bad = rt_model_copy(&w->ring[j], &p->model, NULL) != 0;
    }
    if (!bad && cfg.eval_every > 0) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.n_prompts = cfg.eval_prompts;
        ec.k = 0;
        rt_rng er = rt_eval_stream_of(&cfg.eval_stream, rng);
        rt_diag ed;
        rc = rt_eval_create(&w->ev, task, &p->model, &ec, &er, &ed);
        if (rc && rc != RT_ENOMEM) {
            rl_free(w);
            return fail(d, RT_EINVAL, "", ed.msg);
        }
        bad = rc != 0;
    }
    if (bad) {
        rl_free(w);
        return fail(d, RT_ENOMEM, "", "rl: out of memory");
    }
    int nm = N_COLS;
    for (int i = 0; i < N_COLS; i++)
        w->names[i] = columns[i];
    for (int k = 0; hook && k < hook->n_metrics; k++) {
        w->names[nm++] = hook->metric_names[k];
        w->hval[k] = NAN;
    }
    w->data = rt_rng_split(rng, RT_STREAM_PROMPTS);
    w->gen = rt_rng_split(rng, RT_STREAM_SAMPLES);
    w->hks = rt_rng_split(rng, RT_STREAM_HOOK);
    /* the reward, loss and gradient norm are checked inside rt_rl_update, before the
     * optimizer step that would use them */
    *plan =
        (rt_trainer_plan){.steps = cfg.steps,
                          .log_every = cfg.log_every,
                          .eval = cfg.eval_every > 0,
                          .eval_every = cfg.eval_every,
                          .metrics = w->names,
                          .n_metrics = nm,
                          /* sampling (a forward per row), the reference's scoring, and
                             forward + backward per epoch over the N * T rows */
                          .step_flops = (double)N * T *
                                        ((1.0 + 3.0 * cfg.epochs) * rt_model_row_flops(&p->model) +
                                         rt_model_row_flops(&ref->model))};
    *out = w;
    return 0;
}

static int rl_step(void *arg, long s, double *mv, char *msg, size_t cap)
{
    rl_st *w = arg;
    const rt_task *task = w->prob.task;
    const rt_rl_hook *hook = w->hook;
    int N = w->N, G = w->G, T = w->T, nf = w->nf, nx = w->nx;
    rt_rng ps = rt_rng_split(&w->data, (uint64_t)s), gs = rt_rng_split(&w->gen, (uint64_t)s);
    rt_task_sample_batch(task, &ps, 0, RT_TASK_TRAIN, w->B, w->samples, w->prompts);
    const rt_model *sampler = &w->p->model;
    if (w->ring) { /* the policy of step s - 1 - k (the initial one before step k + 2) */
        long k1 = w->cfg.staleness + 1, old = s - 1 - w->cfg.staleness;
        if (rt_model_assign(w->ring[(s - 1) % k1], &w->p->model)) {
            snprintf(msg, cap, "sampling failed");
            return 1;
        }
        sampler = w->ring[(old > 0 ? old : 0) % k1];
    }
    if (rt_rl_sample(w->rl, sampler, &w->ref->model, w->prompts, &gs)) {
        snprintf(msg, cap, "sampling failed");
        return 1;
    }
    for (int i = 0; i < N; i++)
        w->rep[i] = w->samples[i / G];
    if (nx == nf) {
        rt_task_features_batch(task, w->rep, rt_rl_tokens(w->rl), N, T, w->feat);
    } else { /* task features into the first nf slots of each nx-wide row */
        rt_task_features_batch(task, w->rep, rt_rl_tokens(w->rl), N, T, w->tfeat);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < nx; k++)
                w->feat[(size_t)i * nx + k] = k < nf ? w->tfeat[(size_t)i * nf + k] : 0.0;
    }
    if (hook) {
        rt_rng hs = rt_rng_split(&w->hks, (uint64_t)s);
        rt_rl_hook_batch hb = {s, N, G, T, w->rep, rt_rl_tokens(w->rl), rt_rl_lengths(w->rl), &hs};
        char hmsg[200] = "";
        if (hook->fill(hook->user, &hb, w->feat, nx, nf, w->hval, hmsg, sizeof hmsg)) {
            snprintf(msg, cap, "%s", hmsg[0] ? hmsg : "hook failed");
            return 1;
        }
    }
    const rt_rl_problem *prob = &w->prob;
    rt_score_batch(task, prob->reward, prob->params, w->rep, rt_rl_tokens(w->rl), N, T, w->feat,
                   (size_t)nx, w->R);
    double rsum = 0.0, acc = 0.0, er = NAN;
    for (int i = 0; i < N; i++) {
        rsum += w->R[i];
        acc += w->ic >= 0 ? w->feat[(size_t)i * nx + w->ic] : NAN;
    }
    if (prob->eval_reward) {
        rt_score_batch(task, prob->eval_reward, prob->eval_params, w->rep, rt_rl_tokens(w->rl), N,
                       T, w->feat, (size_t)nx, w->ER);
        er = 0.0;
        for (int i = 0; i < N; i++)
            er += w->ER[i];
        er /= N;
    }
    rt_rl_metrics m;
    rt_diag ud;
    if (rt_rl_update(w->rl, &w->p->model, &w->ref->model, w->R, &m, &ud)) {
        snprintf(msg, cap, "%s", ud.msg);
        return 1;
    }
    w->tokens += m.tokens;
    double v[N_COLS] = {(double)s,
                        (double)w->tokens,
                        NAN,
                        rsum / N,
                        acc / N,
                        NAN,
                        m.kl_ref,
                        m.kl_est,
                        m.entropy,
                        m.length,
                        m.adv_mean,
                        m.grad_norm,
                        m.clip_frac,
                        m.clip_frac_low,
                        m.clip_frac_high,
                        m.ratio_mean,
                        m.ratio_var,
                        m.frac_reward_zero_std,
                        m.loss,
                        er,
                        m.chi2,
                        (double)w->cfg.staleness,
                        m.groups_kept,
                        m.value_loss,
                        m.explained_var,
                        m.r2vpo_lambda};
    for (int i = 0; i < N_COLS; i++)
        mv[i] = v[i];
    for (int k = 0; hook && k < hook->n_metrics; k++)
        mv[N_COLS + k] = w->hval[k];
    return 0;
}

static int rl_row(void *arg, long s, int eval, const int *recorded, double *m, char *msg,
                  size_t cap)
{
    (void)s, (void)recorded;
    rl_st *w = arg;
    if (eval && rt_eval_greedy(w->ev, &w->p->model, &m[C_EVAL], NULL)) {
        snprintf(msg, cap, "evaluation failed");
        return 1;
    }
    return 0;
}

const rt_trainer rt_rl_trainer = {"rl", rl_setup, rl_step, rl_row, NULL, rl_free};

static int run_args(const rt_rl_args *a, rt_run *run, const rt_rng *rng, rt_diag *diag);

int rt_rl_run(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
              const rt_rl_config *cfg, rt_run *run, const rt_rng *rng, rt_diag *diag)
{
    return rt_rl_run_hooked(p, ref, prob, NULL, cfg, run, rng, diag);
}

int rt_rl_run_hooked(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
                     const rt_rl_hook *hook, const rt_rl_config *cfg, rt_run *run,
                     const rt_rng *rng, rt_diag *diag)
{
    rt_rl_args a = {p, ref, prob, hook, cfg, NULL};
    return run_args(&a, run, rng, diag);
}

int rt_rl_run_features(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
                       const rt_rl_features *features, const rt_rl_config *cfg, rt_run *run,
                       const rt_rng *rng, rt_diag *diag)
{
    rt_rl_args a = {p, ref, prob, NULL, cfg, features};
    return run_args(&a, run, rng, diag);
}

static int run_args(const rt_rl_args *a, rt_run *run, const rt_rng *rng, rt_diag *diag)
{
    rt_diag td;
    int rc = rt_trainer_run(&rt_rl_trainer, a, rng, run, &td);
    if (diag) {
        diag->code = rc;
        diag->step = td.step;
        snprintf(diag->key, sizeof diag->key, "%s", td.key);
        snprintf(diag->msg, sizeof diag->msg, "%s", td.msg);
    }
    return rc;
}

int rt_rl_link_feature_rewards(const rt_task *task, const rt_reward_program *reward,
                               const rt_reward_program *eval_reward, int max_slots,
                               const char *const *fns, int nfns, rt_reward_feature_fn resolve,
                               void *ctx, rt_reward_program **linked,
                               rt_reward_program **linked_eval, char *msg, size_t cap)
{
    *linked = NULL;
    if (linked_eval) *linked_eval = NULL;
    int nf = rt_task_n_features(task);
    const char *names[RT_TASK_MAX_FEATURES];
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(task, i);
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.features = names;
    env.n_features = nf;
    env.n_slots = nf + max_slots;
    env.feature_fns = fns;
    env.n_feature_fns = nfns;
    const char *tnames[RT_TASK_MAX_TEXTS];
    unsigned char tnum[RT_TASK_MAX_TEXTS];
    rt_score_env_texts(task, &env, tnames, tnum);
    env.resolve_feature = resolve;
    env.ctx = ctx;
    rt_diag rd;
    if (rt_reward_link(reward, &env, linked, &rd) ||
        (eval_reward && linked_eval && rt_reward_link(eval_reward, &env, linked_eval, &rd))) {
        snprintf(msg, cap, "%s", rd.msg);
        rt_reward_free(*linked);
        *linked = NULL;
        return -1;
    }
    return 0;
}
