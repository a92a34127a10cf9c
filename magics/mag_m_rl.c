/* mag_m_rl: %%rl NAME — reinforcement learning of a copy of policy `from` on a reward
 * (runtime/rl/rt_rl.h: the algorithms of its recipe table; KL or chi^2 regularization
 * to a frozen reference), with the live chart of the bridge (panels reward, accuracy,
 * kl_ref) and one stored policy and run per sweep point, named NAME[key=value,...] as
 * %%policy names them.
 *
 * Keys.  The static schema below, plus the PARAMETERS of the chosen reward: a key that
 * is not in the schema but names a parameter of `reward` sets that parameter (a number,
 * or a list of numbers = a sweep, so `c = [0.1, 1, 10]` trains three points).  The
 * handler validates everything itself (the record sets MAG_M_OWN_VALIDATION, so that the
 * interpreter does not reject parameter keys; the validate hook of its trainer record,
 * mag_train_cell.h): it reads the reward name first, builds a
 * per-cell schema = static keys + one sweepable number key per reward parameter (a
 * parameter named like a static key cannot be set from the cell), and runs mag_validate
 * on it, so unknown keys get "did you mean" over both, and sweeps of parameters expand
 * and name points like any other key.  The eval_reward uses its own defaults.
 *
 * Errors (each at the offending key or value, before anything trains): unknown policy,
 * task or reward names (did you mean), a task whose vocabulary differs from the
 * policy's, from/reference of different vocabularies, incompatible options
 * (rt_rl_config_check / rt_rl_create, at diag.key), a reward reading a feature the task
 * lacks (rt_reward_check_features), a reward parameter without value.  A run that
 * meets NaN/Inf stops; its partial run is kept (not its policy), the other points
 * finish, and the cell ends with "run 'NAME' failed: rl: reward is inf at step 3".
 * iterations (mu updates per batch; epochs is its older name, not both) > 1 on a recipe
 * without a ratio is an error at its value (opmd and asymre, meant for stale data, accept
 * it).  A recipe's own coefficient (opmd_tau, asymre_shift, bapo_*, nft_eps) with another
 * algo is an error at its key, naming the algo that reads it.  Warning (the cell trains): kl > 0
 * with k1 in the loss, whose gradient has zero mean (rt_rl.h), once per cell.
 *
 * Streams (common random numbers): every point uses R = rt_rng_from_name(session seed,
 * NAME) — the cell's NAME, not the point's — split by the `seed` key when it is given,
 * and trains with rt_rng_split(R, 1).  So the points of a sweep that share a seed see the
 * same prompts and the same sampling stream and differ only by their settings (scaling
 * a reward under GRPO gives the same curve), different seeds give independent runs, and
 * nothing depends on the threads.  The value head's keys (vf_coef, gae_lambda, gamma,
 * value_clip) are errors at the key unless the advantage in force is gae (ppo's).
 * Leaves out: resuming a run, a value network apart from the policy's trunk,
 * eval_reward parameters set from the cell. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_debate.h" /* the session's debates, for debate(NAME) */
#include "mag_rm.h"     /* the session's reward models, for rm(NAME) */
#include "mag_magic.h"
#include "mag_train.h"
#include "mag_train_cell.h"
#include "rt_alloc.h"
#include "rt_features.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_rl.h"
#include "rt_rl_keys.h"
#include "rt_task.h"

#define MAX_RPARAMS 64

static const mag_key_spec rl_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the policy to start from (copied; the copy is trained); a sweep's NAME pairs "
             "each point with its point of the same key values (seed = [..]: a pipeline per seed)"},
    {.name = "reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .flags = MAG_K_REQUIRED,
     .help = "the %%reward to maximize (its parameters are keys too)"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task of the prompts (default: the task of `from`)"},
    RT_RL_KEY_ALGO,
    RT_RL_KEY_GROUP,
    RT_RL_KEY_BATCH,
    RT_RL_KEY_STEPS,
    RT_RL_KEY_LR,
    RT_RL_KEY_TEMPERATURE,
    RT_RL_KEY_KL,
    RT_RL_KEY_KL_ESTIMATOR,
    RT_RL_KEY_KL_IN,
    {.name = "reference",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "frozen reference of the KL / chi2 term (default: `from`; a sweep pairs by key)"},
    RT_RL_KEY_ADVANTAGE,
    RT_RL_KEY_SCALE_REWARDS,
    RT_RL_KEY_LOSS_AGG,
    RT_RL_KEY_RATIO,
    RT_RL_KEY_CLIP,
    RT_RL_KEY_CLIP_LOW,
    RT_RL_KEY_CLIP_HIGH,
    RT_RL_KEY_ITERATIONS,
    RT_RL_KEY_EPOCHS,
    RT_RL_KEY_EVAL_EVERY,
    RT_RL_KEY_EVAL_PROMPTS,
    {.name = "eval_reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "a second reward tracked (column eval_reward) but not optimized"},
    RT_RL_KEY_REGULARIZER,
    RT_RL_KEY_CHI2,
    RT_RL_KEYS_RECIPES,
    MAG_TRAIN_KEY_SEED,
};
#define N_RL_KEYS (sizeof rl_keys / sizeof rl_keys[0])

static const mag_schema rl_schema = {.magic = "rl",
                                     .keys = rl_keys,
                                     .nkeys = N_RL_KEYS,
                                     .aliases = rt_rl_aliases,
                                     .naliases = RT_RL_N_ALIASES};

static const char *const panels[] = {"reward", "accuracy", "kl_ref"};
static const char *const summary_metrics[] = {"reward", "accuracy", "eval_accuracy", "kl_ref",
                                              "kl_est", "entropy",  "length",        "eval_reward"};

typedef struct point {
    mag_train_point base; /* name, label, pol, run, steps, job (mag_train_cell.h) */
    rt_rl_config cfg;
    rt_rl_problem prob;
    const rt_policy *from, *ref; /* this point's (mag_train_policy_at: paired by key) */
    char from_name[MAG_TRAIN_NAME];
    double *params;
    rt_diag diag;
    int rc;
    rt_rl_features feat;       /* the reward's feature provider (debate(NAME)), or {NULL} */
    void *fstate;              /* this point's provider state (feat.state), or NULL */
    rt_reward_program *linked; /* the reward linked by it (the cell's layout) */
    const rt_feature_provider *fp;
} point;

/* Everything a cell resolves before training (owned pieces freed by state_free). */
typedef struct rl_cell {
    mag_key_spec keys[N_RL_KEYS + MAX_RPARAMS];
    mag_schema schema;
    const mag_config *cfg;                         /* the handler's */
    const rt_reward_program *reward, *eval_reward; /* session objects */
    rt_reward_program *linked, *eval_linked;       /* linked to the task */
    double *eval_params;
    int n_rparams; /* reward parameters that are keys of this cell */
    int rparam_index[MAX_RPARAMS];
    const rt_policy *from, *ref;
    const rt_task *task;
    const char *task_name, *from_name, *ref_name, *reward_name, *eval_name;
    /* the provider of the feature functions the reward reads (debate(NAME): rt_features.h)
     * and its state, else NULL */
    const rt_feature_provider *fp;
    void *fstate;
    int warned_k1; /* the k1-in-the-loss warning, once per cell */
} rl_cell;

static int run_job(void *arg, const rt_job_ctx *ctx)
{
    point *p = arg;                /* the cancel flag: the bridge installed it on the run */
    p->cfg.threads = ctx->threads; /* the executor's threads rule */
    /* feature functions (debate(NAME)): the run makes the provider's hook */
    p->rc = rt_rl_run_features(p->base.pol, p->ref, &p->prob, p->feat.provider ? &p->feat : NULL,
                               &p->cfg, p->base.run, &p->base.job.rng, &p->diag);
    return p->rc;
}

/* Where a key was set (header argument or body line), else the magic's name. */
/* The entry of the cell that set key (by its name or another name: TRL's), or NULL. */
static const mag_kv *entry_of(const mag_cell *cell, const mag_config *cfg, const char *key)
{
    int k = mag_schema_find(cfg->schema, key);
    if (k < 0 || !cfg->given[k]) return NULL;
    mag_pos at = cfg->key_pos[k];
    for (size_t i = 0; i < cell->nentries; i++)
        if (cell->entries[i].key_pos.off == at.off) return &cell->entries[i];
    for (size_t i = 0; i < cell->nargs; i++)
        if (cell->args[i].key && cell->args[i].key_pos.off == at.off) return &cell->args[i];
    return NULL;
}

static mag_pos key_pos(const mag_cell *cell, const mag_config *cfg, const char *key)
{
    const mag_kv *e = entry_of(cell, cfg, key);
    return e ? e->key_pos : cell->name_pos;
}

/* Where feature-function arguments resolve: the session, at point pt of the cell's
 * config (a debate swept over seed pairs by key, as from = base does). */
typedef struct resolve_ctx {
    const mag_session *s;
    const mag_config *cfg;
    size_t pt;
} resolve_ctx;

/* The resolver of feature-function arguments over the session (rt_feature_env): today
 * debate(NAME) -> the session's debate (mag_debate.h), or NAME[seed=s] of this point. */
static int session_resolve(void *ctx, const char *fn, const char *arg, void *out, char *err,
                           size_t errlen)
{
    const resolve_ctx *rc = ctx;
    const mag_session *s = rc->s;
    if (!strcmp(fn, "debate") || !strcmp(fn, "judge_full")) {
        const char *name = arg;
        if (mag_train_pair_entry(s, MAG_DEBATE, rc->cfg, rc->pt, NULL, arg, &name, err, errlen) ==
            2)
            return 1;
        return mag_debate_resolve(&s, name, out, err, errlen);
    }
    if (!strcmp(fn, "rm") || !strcmp(fn, "rm_mean") || !strcmp(fn, "rm_min")) {
        const char *name = arg; /* a model, or NAME[seed=s] of this point */
        if (mag_train_pair_entry(s, MAG_RM, rc->cfg, rc->pt, NULL, arg, &name, err, errlen) == 2)
            return 1;
        return mag_rm_resolve(s, name, out, err, errlen);
    }
    snprintf(err, errlen, "no session objects for %s(...)", fn);
    return -1;
}

static void state_free(void *state)
{
    rl_cell *c = state;
    rt_reward_free(c->linked);
    rt_reward_free(c->eval_linked);
    rt_free(c->eval_params);
    if (c->fp) c->fp->destroy(c->fstate);
}

static void point_free(mag_train_point *bp)
{
    point *p = (point *)bp;
    rt_free(p->params);
    rt_reward_free(p->linked);
    if (p->fp) p->fp->destroy(p->fstate);
}

/* ---- reward linking (the one place that maps a reward onto a task's features) ------ */

/* ---- validation -------------------------------------------------------------------- */

/* The per-cell schema: the static keys, then one number key per parameter of `reward`
 * (when the cell names a defined reward).  An unknown reward is reported here. */
static int build_schema(mag_train_cellctx *t, mag_config **out, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    rl_cell *c = t->state;
    memcpy(c->keys, rl_keys, sizeof rl_keys);
    size_t nk = N_RL_KEYS;
    const mag_value *rv = mag_train_raw(cell, "reward");
    if (rv && rv->kind == MAG_V_NAME) {
        c->reward = mag_session_get(ctx->session, MAG_REWARD, rv->str);
        if (!c->reward) return mag_err_unknown(d, ctx, MAG_REWARD, rv->str, rv->pos);
        int np = rt_reward_n_params(c->reward);
        for (int i = 0; i < np && c->n_rparams < MAX_RPARAMS; i++) {
            const char *pn = rt_reward_param_name(c->reward, i);
            if (mag_schema_find(&(mag_schema){.keys = rl_keys, .nkeys = N_RL_KEYS}, pn) >= 0)
                continue; /* shadowed by a key of the magic */
            c->rparam_index[c->n_rparams++] = i;
            c->keys[nk++] = (mag_key_spec){
                .name = pn,
                .type = MAG_T_NUMBER,
                .flags = MAG_K_SWEEP,
                .help = "a parameter of the reward",
            };
        }
    }
    /* TRL's names (rt_rl_aliases); a reward parameter of the same name is the parameter */
    c->schema = (mag_schema){.magic = "rl",
                             .keys = c->keys,
                             .nkeys = nk,
                             .help = NULL,
                             .aliases = rt_rl_aliases,
                             .naliases = RT_RL_N_ALIASES};
    int rc = mag_validate_cell(&c->schema, cell, ctx->src, ctx->len, out, d);
    c->cfg = *out;
    return rc;
}

/* Resolves the names of the cell (policies, task, rewards) and checks that they fit. */
static int resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    rl_cell *c = t->state;
    const mag_config *cfg = c->cfg;
    c->reward_name = mag_config_get(cfg, "reward", 0)->str;
    c->from_name = mag_config_get(cfg, "from", 0)->str;
    /* the cell-wide checks use the first built point's policies (point 0, or the worker's);
     * each point pairs its own (rl_point) */
    const char *from0 = NULL;
    int prc = mag_train_policy_at(ctx, cfg, t->pt0, c->from_name, mag_train_value_pos(cell, "from"),
                                  &c->from, &from0, d);
    if (prc) return prc;
    int wrc =
        mag_train_need_weights(ctx, d, c->from, from0, "from", mag_train_value_pos(cell, "from"));
    if (wrc) return wrc;
    c->ref_name = c->from_name;
    c->ref = c->from;
    if (mag_train_given(cfg, "reference")) {
        c->ref_name = mag_config_get(cfg, "reference", 0)->str;
        prc = mag_train_policy_at(ctx, cfg, t->pt0, c->ref_name,
                                  mag_train_value_pos(cell, "reference"), &c->ref, NULL, d);
        if (prc) return prc;
        if (c->from->model.vocab != c->ref->model.vocab) { /* any architectures */
            mag_pos at = mag_train_value_pos(cell, "reference");
            return mag_err(ctx, d, MAG_EVALUE, at,
                           "reference '%s' has a vocabulary of %d tokens but from '%s' has "
                           "%d (they must share the vocabulary)",
                           c->ref_name, c->ref->model.vocab, c->from_name, c->from->model.vocab);
        }
    }
    if (mag_train_given(cfg, "task")) {
        c->task_name = mag_config_get(cfg, "task", 0)->str;
        c->task = mag_session_get(ctx->session, MAG_TASK, c->task_name);
        if (!c->task)
            return mag_err_unknown(d, ctx, MAG_TASK, c->task_name,
                                   mag_train_value_pos(cell, "task"));
    } else {
        const mag_entry *fe = mag_session_entry(ctx->session, MAG_POLICY, from0);
        if (fe && fe->task) {
            c->task_name = fe->task;
            c->task = mag_session_get(ctx->session, MAG_TASK, c->task_name);
        }
        if (!c->task) {
            mag_pos at = mag_train_value_pos(cell, "from");
            return mag_err(ctx, d, MAG_EVALUE, at, "policy '%s' has no task: give task = TASK",
                           c->from_name);
        }
    }
    if (c->from->model.vocab != rt_task_vocab_size(c->task)) {
        mag_pos at = mag_train_value_pos(cell, mag_train_given(cfg, "task") ? "task" : "from");
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "policy '%s' has a vocabulary of %d tokens, task '%s' has %d", c->from_name,
                       c->from->model.vocab, c->task_name, rt_task_vocab_size(c->task));
    }
    int rc = mag_train_tilt_task(ctx, d, c->ref, c->ref_name, c->task, c->task_name,
                                 mag_train_value_pos(cell, "reference"));
    if (rc) return rc;
    /* a gpt attends to `context` positions: the task's P + T must fit (from, reference) */
    rc = mag_policy_need_positions(
        ctx, d, c->from, c->from_name, c->task, c->task_name,
        mag_train_value_pos(cell, mag_train_given(cfg, "task") ? "task" : "from"));
    if (!rc)
        rc = mag_policy_need_positions(ctx, d, c->ref, c->ref_name, c->task, c->task_name,
                                       mag_train_value_pos(cell, "reference"));
    if (rc) return rc;
    /* a reward reading feature functions (debate(NAME)) is linked by their provider,
     * which finds the named objects through the session (session_resolve) */
    c->fp = rt_features_for_reward(c->reward);
    if (c->fp) {
        char msg[256];
        resolve_ctx rx = {ctx->session, cfg, 0}; /* point 0: each point links its own */
        rt_feature_env env = {session_resolve, &rx};
        if (c->fp->create(c->task, c->reward, NULL, &env, &c->fstate, &c->linked, NULL, msg,
                          sizeof msg)) {
            c->fp = NULL; /* create freed what it made */
            mag_pos at = mag_train_value_pos(cell, "reward");
            return mag_err(ctx, d, MAG_EVALUE, at, "%s", msg);
        }
        rc = 0;
    } else
        rc = mag_train_link_reward(ctx, c->task, c->reward, mag_train_value_pos(cell, "reward"),
                                   &c->linked, d);
    if (rc) return rc;
    if (mag_train_given(cfg, "eval_reward")) {
        c->eval_name = mag_config_get(cfg, "eval_reward", 0)->str;
        c->eval_reward = mag_session_get(ctx->session, MAG_REWARD, c->eval_name);
        mag_pos at = mag_train_value_pos(cell, "eval_reward");
        if (!c->eval_reward) return mag_err_unknown(d, ctx, MAG_REWARD, c->eval_name, at);
        rc = mag_train_link_reward(ctx, c->task, c->eval_reward, at, &c->eval_linked, d);
        if (rc) return rc;
        int np = rt_reward_n_params(c->eval_linked);
        c->eval_params = rt_calloc((size_t)(np ? np : 1), sizeof(double));
        if (!c->eval_params) return mag_err_nomem(d);
        rt_diag rd;
        if (rt_reward_bind_params(c->eval_linked, NULL, NULL, 0, c->eval_params, &rd)) {
            for (int i = 0; i < np; i++) {
                double v;
                if (!rt_reward_param_default(c->eval_linked, i, &v))
                    return mag_err(ctx, d, MAG_EVALUE, at,
                                   "parameter '%s' of eval_reward '%s' has no value (give "
                                   "it a default in the header: %%%%reward %s %s=...)",
                                   rt_reward_param_name(c->eval_linked, i), c->eval_name,
                                   c->eval_name, rt_reward_param_name(c->eval_linked, i));
            }
            return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
        }
    }
    t->task_name = c->task_name;
    return 0;
}

/* The rt_rl configuration of sweep point pt. */
static void point_config(const mag_config *cfg, size_t pt, int threads, rt_rl_config *rc)
{
    rt_rl_config_init(rc);
    const mag_value *v = mag_config_get(cfg, "algo", pt);
    if (v) rt_rl_algo_parse(v->str, &rc->algo);
    rc->group = (int)mag_train_num(cfg, "group", pt);
    rc->batch = (int)mag_train_num(cfg, "batch", pt);
    rc->steps = (long)mag_train_num(cfg, "steps", pt);
    rc->lr = (float)mag_train_num(cfg, "lr", pt);
    rc->temperature = (float)mag_train_num(cfg, "temperature", pt);
    rc->kl = mag_train_num(cfg, "kl", pt);
    v = mag_config_get(cfg, "kl_estimator", pt);
    if (v) rt_rl_estimator_parse(v->str, &rc->kl_estimator);
    v = mag_config_get(cfg, "kl_in", pt);
    if (v) rc->kl_in = strcmp(v->str, "reward") ? RT_RL_IN_LOSS : RT_RL_IN_REWARD;
    rc->clip = mag_train_num(cfg, "clip", pt);
    /* parts as keys: enum value i is part i (rt_rl_keys.h); 0 = the recipe's */
    int i = mag_train_enum(cfg, "advantage", pt, rt_rl_advantage_values);
    if (i >= 0) rc->advantage = i + 1;
    if ((i = mag_train_enum(cfg, "loss_agg", pt, rt_rl_loss_agg_values)) >= 0) rc->loss_agg = i + 1;
    if ((i = mag_train_enum(cfg, "ratio", pt, rt_rl_ratio_values)) >= 0)
        rc->ratio = 1 + RT_RL_RATIO_TOKEN + i;
    if ((i = mag_train_enum(cfg, "scale_rewards", pt, rt_rl_scale_values)) >= 0)
        rc->scale_rewards = (rt_rl_scale)(i + 1);
    rc->clip_low = mag_train_given(cfg, "clip_low") ? mag_train_num(cfg, "clip_low", pt) : 0.0;
    rc->clip_high = mag_train_given(cfg, "clip_high") ? mag_train_num(cfg, "clip_high", pt) : 0.0;
    /* iterations, or its older name epochs (no_effect refuses both) */
    const char *mu = mag_train_given(cfg, "iterations") ? "iterations" : "epochs";
    rc->epochs = (int)mag_value_number(mag_config_get(cfg, mu, pt), 0);
    rc->eval_every = (long)mag_train_num(cfg, "eval_every", pt);
    rc->eval_prompts = (int)mag_train_num(cfg, "eval_prompts", pt);
    v = mag_config_get(cfg, "regularizer", pt);
    rc->regularizer = v && !strcmp(v->str, "chi2") ? RT_RL_REG_CHI2 : RT_RL_REG_KL;
    rc->chi2 = mag_train_num(cfg, "chi2", pt);
    /* the value head (advantage = gae) */
    rc->vf_coef = mag_train_num(cfg, "vf_coef", pt);
    rc->gae_lambda = mag_train_num(cfg, "gae_lambda", pt);
    rc->gae_gamma = mag_train_num(cfg, "gamma", pt);
    rc->value_clip = mag_train_num(cfg, "value_clip", pt);
    rc->threads = threads;
    /* off-policy and DAPO parts: 0 = the recipe's for minibatches and filter_groups */
    rc->staleness = (int)mag_train_num(cfg, "staleness", pt);
    if (mag_train_given(cfg, "minibatches"))
        rc->minibatches = (int)mag_train_num(cfg, "minibatches", pt);
    if (mag_train_given(cfg, "filter_groups"))
        rc->filter_groups = mag_value_bool(mag_config_get(cfg, "filter_groups", pt), 0) ? 2 : 1;
    rc->entropy_coef = mag_train_num(cfg, "entropy_coef", pt);
    /* the coefficients of single recipes (no_effect refuses them elsewhere) */
    rc->opmd_tau = mag_train_num(cfg, "opmd_tau", pt);
    rc->asymre_shift = mag_train_num(cfg, "asymre_shift", pt);
    rc->bapo_target = mag_train_num(cfg, "bapo_target", pt);
    rc->bapo_low_max = mag_train_num(cfg, "bapo_low_max", pt);
    rc->bapo_high_max = mag_train_num(cfg, "bapo_high_max", pt);
    rc->bapo_step = mag_train_num(cfg, "bapo_step", pt);
    rc->nft_eps = mag_train_num(cfg, "nft_eps", pt);
    rc->r2vpo_lambda = mag_train_num(cfg, "r2vpo_lambda", pt);
    rc->r2vpo_delta = mag_train_num(cfg, "r2vpo_delta", pt);
    rc->r2vpo_dual_lr = mag_train_num(cfg, "r2vpo_dual_lr", pt);
}

/* The coefficients of single recipes: each key and the loss form that reads it. */
static const struct {
    const char *key, *owner;
    rt_rl_ratio form;
} recipe_keys[] = {
    {"opmd_tau", "opmd", RT_RL_RATIO_OPMD},      {"asymre_shift", "asymre", RT_RL_RATIO_ASYMRE},
    {"bapo_target", "bapo", RT_RL_RATIO_BAPO},   {"bapo_low_max", "bapo", RT_RL_RATIO_BAPO},
    {"bapo_high_max", "bapo", RT_RL_RATIO_BAPO}, {"bapo_step", "bapo", RT_RL_RATIO_BAPO},
    {"nft_eps", "nft", RT_RL_RATIO_NFT},         {"r2vpo_lambda", "r2vpo", RT_RL_RATIO_R2VPO},
    {"r2vpo_delta", "r2vpo", RT_RL_RATIO_R2VPO}, {"r2vpo_dual_lr", "r2vpo", RT_RL_RATIO_R2VPO},
};

/* The first recipe coefficient the cell set that algo's loss does not read, or NULL. */
static const char *recipe_key_unused(const mag_config *cfg, const rt_rl_recipe *algo)
{
    for (size_t i = 0; i < sizeof recipe_keys / sizeof recipe_keys[0]; i++)
        if (mag_train_given(cfg, recipe_keys[i].key) && algo->ratio != recipe_keys[i].form)
            return recipe_keys[i].key;
    return NULL;
}

static const char *recipe_key_owner(const char *key)
{
    for (size_t i = 0; i < sizeof recipe_keys / sizeof recipe_keys[0]; i++)
        if (!strcmp(key, recipe_keys[i].key)) return recipe_keys[i].owner;
    return "?";
}

/* The loss forms that clip a ratio (clip, clip_low, clip_high act; BAPO: its start). */
static int has_clip(rt_rl_ratio r)
{
    return r == RT_RL_RATIO_TOKEN || r == RT_RL_RATIO_SEQUENCE || r == RT_RL_RATIO_CISPO ||
           r == RT_RL_RATIO_BAPO;
}

/* The first key of the value head (advantage = gae) the cell set, or NULL. */
static const char *value_head_key(const mag_config *cfg)
{
    static const char *const keys[] = {"vf_coef", "gae_lambda", "gamma", "value_clip"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (mag_train_given(cfg, keys[i])) return keys[i];
    return NULL;
}

/* A key the cell set that would do nothing at this point is an error naming why
 * (issue 12 B6; the engine's own checks cover epochs, chi2 and kl with chi2). */
static int no_effect(mag_ctx *ctx, const mag_cell *cell, const rl_cell *c, const point *p,
                     mag_diag *d)
{
    const rt_rl_config *k = &p->cfg;
    const char *why = NULL, *key = NULL;
    char buf[200];
    if (mag_train_given(c->cfg, "iterations") && mag_train_given(c->cfg, "epochs")) {
        return mag_err(ctx, d, MAG_EVALUE, key_pos(cell, c->cfg, "epochs"),
                       "epochs is the older name of iterations: set one of them");
    } else if ((key = recipe_key_unused(c->cfg, k->algo)) != NULL) {
        snprintf(buf, sizeof buf,
                 "%s has no effect with algo = %s (it is a coefficient of algo = %s)", key,
                 k->algo->name, recipe_key_owner(key));
        why = buf;
    } else if (!has_clip(k->algo->ratio) &&
               (mag_train_given(c->cfg, "clip") || mag_train_given(c->cfg, "clip_low") ||
                mag_train_given(c->cfg, "clip_high"))) {
        key = mag_train_given(c->cfg, "clip")       ? "clip"
              : mag_train_given(c->cfg, "clip_low") ? "clip_low"
                                                    : "clip_high";
        const mag_kv *e = entry_of(cell, c->cfg, key); /* named as the cell wrote it */
        snprintf(buf, sizeof buf, "%s has no effect with algo = %s (%s)", e ? e->key : key,
                 k->algo->name,
                 k->algo->ratio == RT_RL_RATIO_NFT || k->algo->ratio == RT_RL_RATIO_R2VPO
                     ? "its loss clips no ratio"
                     : "a plain policy gradient: no ratio to clip");
        why = buf;
    } else if (k->kl == 0.0 && k->regularizer == RT_RL_REG_KL &&
               (mag_train_given(c->cfg, "kl_estimator") || mag_train_given(c->cfg, "kl_in"))) {
        key = mag_train_given(c->cfg, "kl_estimator") ? "kl_estimator" : "kl_in";
        snprintf(buf, sizeof buf, "%s has no effect with kl = 0 (there is no KL term; set kl > 0)",
                 key);
        why = buf;
    } else if (k->regularizer == RT_RL_REG_CHI2 &&
               (mag_train_given(c->cfg, "kl_estimator") || mag_train_given(c->cfg, "kl_in"))) {
        key = mag_train_given(c->cfg, "kl_estimator") ? "kl_estimator" : "kl_in";
        snprintf(buf, sizeof buf, "%s has no effect with regularizer = chi2 (no KL term)", key);
        why = buf;
    } else if (rt_rl_config_adv(k) != RT_RL_ADV_GAE && (key = value_head_key(c->cfg)) != NULL) {
        const mag_kv *e = entry_of(cell, c->cfg, key); /* named as the cell wrote it */
        if (k->advantage)
            snprintf(buf, sizeof buf,
                     "%s has no effect with advantage = %s (no value head: only advantage = "
                     "gae, ppo's, has one)",
                     e ? e->key : key, rt_rl_advantage_values[k->advantage - 1]);
        else
            snprintf(buf, sizeof buf,
                     "%s has no effect with algo = %s (no value head: only advantage = gae, "
                     "ppo's, has one)",
                     e ? e->key : key, k->algo->name);
        why = buf;
    } else if (k->eval_every == 0 && mag_train_given(c->cfg, "eval_prompts")) {
        key = "eval_prompts";
        why = "eval_prompts has no effect with eval_every = 0 (no held-out evaluation)";
    }
    return why ? mag_err(ctx, d, MAG_EVALUE, key_pos(cell, c->cfg, key), "%s", why) : 0;
}

/* Configuration checks of point pt (the engine's own, without training): the
 * offending key is where the caret goes. */
static int check_point(mag_ctx *ctx, const mag_cell *cell, const rl_cell *c, const point *p,
                       mag_diag *d)
{
    int nrc = no_effect(ctx, cell, c, p, d);
    if (nrc) return nrc;
    rt_diag rd;
    memset(&rd, 0, sizeof rd);
    int rc =
        rt_rl_check(&p->cfg, &p->from->model, NULL, &p->ref->model, rt_task_prompt_len(c->task),
                    rt_task_answer_max(c->task), RT_TOK_EOS, NULL, NULL, &rd);
    if (!rc) return 0;
    mag_pos at = rd.key[0] ? key_pos(cell, c->cfg, rd.key) : cell->name_pos;
    /* the caret goes to the line that sets the key the engine names (else the name) */
    if (!strcmp(rd.key, "iterations")) { /* at the value, named as the cell wrote it */
        const mag_kv *e = entry_of(cell, c->cfg, "iterations");
        if (!e) e = entry_of(cell, c->cfg, "epochs");
        size_t k = strlen("iterations");
        int named = e && !strncmp(rd.msg, "iterations", k);
        return mag_err(ctx, d, MAG_EVALUE, e ? e->value.pos : cell->name_pos, "%s%s",
                       named ? e->key : "", named ? rd.msg + k : rd.msg);
    }
    return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
}

/* Binds the reward's parameters of point pt into p->params. */
static int bind_point(mag_ctx *ctx, const mag_cell *cell, const rl_cell *c, point *p, size_t pt,
                      mag_diag *d)
{
    const char *names[MAX_RPARAMS];
    double vals[MAX_RPARAMS];
    int n = 0;
    for (int k = 0; k < c->n_rparams; k++) {
        const char *pn = rt_reward_param_name(c->reward, c->rparam_index[k]);
        if (!mag_train_given(c->cfg, pn)) continue;
        names[n] = pn;
        vals[n++] = mag_value_number(mag_config_get(c->cfg, pn, pt), 0);
    }
    int np = rt_reward_n_params(c->linked);
    p->params = rt_calloc((size_t)(np ? np : 1), sizeof(double));
    if (!p->params) return mag_err_nomem(d);
    rt_diag rd;
    if (!rt_reward_bind_params(c->linked, names, vals, n, p->params, &rd)) return 0;
    mag_pos at = mag_train_value_pos(cell, "reward");
    for (int i = 0; i < np; i++) {
        double v;
        const char *pn = rt_reward_param_name(c->linked, i);
        int set = 0;
        for (int k = 0; k < n; k++)
            set |= !strcmp(names[k], pn);
        if (!set && !rt_reward_param_default(c->linked, i, &v))
            return mag_err(ctx, d, MAG_EVALUE, at,
                           "parameter '%s' of reward '%s' has no value: give it here (%s = "
                           "...) or in the header (%%%%reward %s %s=...)",
                           pn, c->reward_name, pn, c->reward_name, pn);
    }
    return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
}

/* kl > 0 with k1 in the loss (reinforce's and rloo's default): its gradient, 1 * grad
 * lp, has mean 0 under the policy (rt_rl.h, "what each KL estimator's gradient
 * optimizes"), so the penalty pulls nowhere in expectation.  A warning, once per cell, at
 * the value that chose k1 (kl_estimator if the cell set it, else kl). */
static void warn_k1_in_loss(mag_train_cellctx *t, const point *p)
{
    rl_cell *c = t->state;
    rt_rl_config r;
    if (c->warned_k1 || rt_rl_config_check(&p->cfg, &r, NULL)) return;
    if (r.regularizer != RT_RL_REG_KL || !(r.kl > 0.0) || r.kl_in != RT_RL_IN_LOSS ||
        r.kl_estimator != RT_RL_K1 || r.algo->adv == RT_RL_ADV_TEACHER_LOGRATIO)
        return;
    c->warned_k1 = 1;
    const char *key = mag_train_given(c->cfg, "kl_estimator") ? "kl_estimator" : "kl";
    mag_warn(t->ctx, mag_train_value_pos(t->cell, key),
             "kl = %g with algo = %s puts the k1 estimator in the loss, whose gradient has "
             "zero mean: the penalty does not pull the policy toward the reference; use "
             "kl_in = reward (k1 in the reward: the gradient of KL(pi || ref)) or "
             "kl_estimator = k2 (in the loss: the same gradient)",
             r.kl, r.algo->name);
}

/* ---- %%rl: the record of the training-cell handler ---------------------------------- */

/* Point pt: its configuration (checked by the engine), reward parameters, stream, the
 * copy of `from` and its run. */
static int rl_point(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    const rl_cell *c = t->state;
    point *p = (point *)bp;
    /* threads inside the run: set by the executor when it runs (run_job) */
    point_config(c->cfg, pt, 1, &p->cfg);
    /* every point, and %eval, score the task's held-out prompts of this session */
    p->cfg.eval_stream = mag_eval_stream(mag_session_seed(t->ctx->session), t->task_name);
    p->base.steps = p->cfg.steps;
    /* this point's policies: a sweep named by from/reference pairs with it by key */
    const char *fname;
    int rc = mag_train_policy_at(t->ctx, c->cfg, pt, c->from_name,
                                 mag_train_value_pos(t->cell, "from"), &p->from, &fname, d);
    p->ref = p->from;
    if (!rc && mag_train_given(c->cfg, "reference"))
        rc = mag_train_policy_at(t->ctx, c->cfg, pt, c->ref_name,
                                 mag_train_value_pos(t->cell, "reference"), &p->ref, NULL, d);
    if (rc) return rc;
    snprintf(p->from_name, sizeof p->from_name, "%s", fname);
    rc = check_point(t->ctx, t->cell, c, p, d);
    if (!rc) rc = bind_point(t->ctx, t->cell, c, p, pt, d);
    if (rc) return rc;
    warn_k1_in_loss(t, p);
    /* common random numbers: the points of a sweep that share a seed share their
     * prompts and sampling streams, so they differ only by their settings */
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "", t->base,
                                mag_config_get(c->cfg, "seed", pt));
    p->base.job.rng = rt_rng_split(&r, 1);
    p->prob = (rt_rl_problem){.task = c->task,
                              .reward = c->linked,
                              .params = p->params,
                              .eval_reward = c->eval_linked,
                              .eval_params = c->eval_params};
    rt_diag pd;
    int prc = mag_policy_copy(&p->base.pol, p->from, &pd);
    /* a fresh optimizer: the copy's Adam moments (from its pre-training) would keep
     * moving the weights even when every advantage is 0 */
    if (!prc) rt_model_assign(&p->base.pol->model, &p->from->model);
    int nc;
    const char *const *cols = rt_rl_columns(&nc);
    /* a feature provider's metrics are extra columns; the run makes its hook */
    const char *dcols[64];
    if (c->fp) {
        int nd = c->fp->n_metrics;
        for (int k = 0; k < nc + nd && k < 64; k++)
            dcols[k] = k < nc ? cols[k] : c->fp->metric_names[k - nc];
        nc += nd;
        cols = dcols;
        /* this point's debates (d[seed=s] of a debate sweep, paired by key); the same
           reward, so the same slots and parameters as the cell's */
        char msg[256];
        resolve_ctx rx = {t->ctx->session, c->cfg, pt};
        rt_feature_env env = {session_resolve, &rx};
        if (c->fp->create(c->task, c->reward, NULL, &env, &p->fstate, &p->linked, NULL, msg,
                          sizeof msg))
            return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "reward"), "%s",
                           msg);
        p->fp = c->fp;
        p->prob.reward = p->linked;
        p->feat = (rt_rl_features){c->fp, p->fstate};
    }
    if (prc == RT_ENOMEM || (!prc && rt_run_create(p->base.name, cols, nc, &p->base.run)))
        return mag_err_nomem(d);
    if (prc)
        return mag_err(t->ctx, d, MAG_EVALUE, t->cell->name_pos, "policy '%s': %s", p->base.name,
                       pd.msg);
    return 0;
}

/* 1 if w is one of the '/'-separated words of list. */
static int has_word(const char *list, const char *w)
{
    size_t n = strlen(w);
    for (const char *q = list; (q = strstr(q, w)) != NULL; q++)
        if ((q == list || q[-1] == '/') && (q[n] == '\0' || q[n] == '/')) return 1;
    return 0;
}

static void rl_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                     mag_bridge_opts *o, char *title, size_t cap)
{
    const rl_cell *c = t->state;
    char algo[64] = "";
    for (size_t pt = 0, n = 0; pt < np && n < sizeof algo; pt++) { /* distinct algorithms */
        const char *a = rt_rl_algo_name(((const point *)pts[pt])->cfg.algo);
        if (!has_word(algo, a))
            n += (size_t)snprintf(algo + n, sizeof algo - n, "%s%s", n ? "/" : "", a);
    }
    snprintf(title, cap, "%%%%rl %s: %s on %s, reward %s, from %s", t->base, algo, c->task_name,
             c->reward_name, c->from_name);
    /* debate(NAME): panels reward, return, judge_win; the debate metrics in the summary */
    static const char *const dpanels[] = {"reward", "return", "judge_win"};
    static const char *const dsummary[] = {"reward",   "return", "judge_win", "judge_win_full",
                                           "accuracy", "kl_ref", "entropy"};
    o->title = title;
    int debate = c->fp && !strcmp(c->fp->name, "debate");
    o->panels = debate ? dpanels : panels;
    o->npanels = 3;
    /* a cell that sets iterations (or epochs) sees clip_frac, what mu > 1 changes */
    static const char *const mu_summary[] = {"reward", "accuracy",  "eval_accuracy",
                                             "kl_ref", "kl_est",    "entropy",
                                             "length", "clip_frac", "eval_reward"};
    int mu = mag_train_given(c->cfg, "iterations") || mag_train_given(c->cfg, "epochs");
    o->summary = debate ? dsummary : mu ? mu_summary : summary_metrics;
    o->nsummary = debate ? 7 : (c->eval_linked ? 8 : 7) + mu;
}

/* "grpo from base on add, reward exact (c=0.5), 200 steps" */
static void rl_summary(mag_train_cellctx *t, const mag_train_point *bp, rt_run_status stt,
                       long step, char *summ, size_t cap)
{
    const rl_cell *c = t->state;
    const point *p = (const point *)bp;
    int sl = snprintf(summ, cap, "%s from %s on %s, reward %s", rt_rl_algo_name(p->cfg.algo),
                      p->from_name, c->task_name, c->reward_name);
    for (int k = 0; k < c->n_rparams && sl < (int)cap; k++) {
        int i = c->rparam_index[k];
        char num[40];
        rt_reward_format(p->params[i], num, sizeof num);
        sl += snprintf(summ + sl, cap - (size_t)sl, "%s%s=%s", k ? ", " : " (",
                       rt_reward_param_name(c->reward, i), num);
        if (k == c->n_rparams - 1 && sl < (int)cap)
            sl += snprintf(summ + sl, cap - (size_t)sl, ")");
    }
    if (sl < (int)cap)
        snprintf(summ + sl, cap - (size_t)sl, ", %ld steps%s", step, mag_train_suffix(stt));
}

static const mag_trainer_rec rl_rec = {
    .magic = "rl",
    .trainer = "rl",
    .state_size = sizeof(rl_cell),
    .point_size = sizeof(point),
    .validate = build_schema,
    .resolve = resolve,
    .point = rl_point,
    .job = run_job,
    .chart = rl_chart,
    .summary = rl_summary,
    .summary_cap = 400,
    .point_free = point_free,
    .state_free = state_free,
};

static int run_rl(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                  const mag_config *unused, mag_diag *d)
{
    (void)m, (void)line, (void)unused;
    return mag_train_cell(ctx, cell, NULL, &rl_rec, d);
}

static const mag_magic rl_magic = {
    .name = "rl",
    .cell = 1,
    .schema = &rl_schema, /* for completion and help; the handler validates (with the
                             reward's parameters as extra keys) */
    .flags = MAG_M_OWN_VALIDATION,
    .body = MAG_BODY_CONFIG,
    .usage = "%%rl NAME  (body: key = value lines)",
    .help =
        "Trains policy NAME by reinforcement learning: a copy of `from` samples `group`\n"
        "answers to each of `batch` prompts of the task per step, the reward scores them, and\n"
        "the algorithm updates the copy; a KL (or chi^2) term to the frozen `reference`\n"
        "holds it near its start.  Live chart: reward, accuracy, KL to the reference (exact;\n"
        "kl_est is the estimator's value).  A list value sweeps: one policy and run per\n"
        "point, named NAME[key=value,...]; seed = [1, 2, 3] draws mean +- spread bands.\n"
        "The reward's parameters are keys too: c = [0.1, 1, 10] sweeps the reward's c.\n"
        "%help algos lists the algorithms; %help ALGO shows one's equations and source.\n"
        "Example:\n  %%rl tuned\n  from = base\n  reward = exact\n  algo = grpo\n  steps = 200\n"
        "\nAny parameter of the reward is a key too: a number, or a list to sweep it.\n"
        "\nKL estimators (kl_estimator; r = pi_ref / pi at the sampled token): k1 = -log r,\n"
        "k2 = (log r)^2 / 2, k3 = r - 1 - log r.  Their expected gradient is the gradient of\n"
        "  estimator  kl_in = loss                  kl_in = reward\n"
        "  k1         nothing (zero-mean gradient)  KL(pi || ref)\n"
        "  k2         KL(pi || ref)                 E_pi[k2] - KL(pi || ref) (no divergence)\n"
        "  k3         KL(ref || pi) (forward KL)    KL(pi || ref) - KL(ref || pi)\n"
        "Defaults: reinforce, rloo: k1 in the loss (kl > 0 there warns: use kl_in = reward\n"
        "or kl_estimator = k2); grpo, drgrpo, bnpo: k3 in the loss; ppo: k1 in the reward.\n"
        "\niterations = mu (older name: epochs): optimizer updates on each sampled batch, for\n"
        "every algorithm but reinforce and rloo (no ratio: mu = 1); the default is the\n"
        "recipe's (%help ALGO).  The ratio is to the sampling-time policy, so with mu > 1\n"
        "the clip acts; clip_frac (in the summary when the cell sets iterations, and in\n"
        "%export) is the fraction of tokens it cut.  minibatches = M splits each update\n"
        "into M parts of whole groups; staleness = k samples each step from the policy of\n"
        "k steps earlier (a controlled off-policy setting); filter_groups drops the groups\n"
        "whose rewards are all equal; entropy_coef adds an entropy bonus.\n"
        "regularizer = chi2: chi^2 between the answer distributions (exact, answers of at\n"
        "most 3 tokens).\n",
    .run = run_rl,
    .positional = "-",
};

const mag_magic *const mag_rl_magics[] = {&rl_magic, NULL};
