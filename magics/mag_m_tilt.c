/* mag_m_tilt: %tilt NAME from=BASE reward=R beta=B [task=T] — defines policy NAME as the
 * analytic KL-regularized optimum pi_T ∝ pi_BASE e^{R/beta} at the sequence level
 * (rt_tilt.h: tables over every prompt and every answer of an enumerable task), usable
 * wherever a policy is only read: teacher or reference of %%opd, reference of %%rl,
 * %eval, %sample; %who lists it with its lineage (made, settings from / reward / beta).
 * It has no weights: training it (from = NAME), copying and %save are refused
 * (mag_train_policy_trainable, %save).  from = a sweep's NAME makes NAME[...] per point.
 *
 * Errors (cell:LINE:COL with a caret): a missing or bad NAME, an unknown policy, task or
 * reward (did-you-mean), a base that is itself a tilt, a base without task and no task =,
 * a task whose answers cannot be enumerated (the limit and what the task has, at the
 * task's value, or at `from` when the task is the base's), a vocabulary mismatch, a
 * reward reading a feature the task lacks or a feature function (debate(NAME)), a reward
 * parameter without default, beta <= 0 (the schema) or R / beta not finite.
 * Leaves out: reward parameters set on the line (define the reward with its values),
 * tasks with answers of more than 3 tokens. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_lineage.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_features.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_task.h"
#include "rt_tilt.h"

static const mag_key_spec tilt_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the reference pi_ref (a policy with weights; copied); a sweep's NAME makes "
             "NAME[...] per point"},
    {.name = "reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .flags = MAG_K_REQUIRED,
     .help = "the %%reward R (its parameters at their defaults)"},
    {.name = "beta",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_REQUIRED | MAG_K_MIN_EXCL,
     .min = 0,
     .help = "KL weight: pi_T ∝ pi_ref e^{R/beta} maximizes E[R] - beta KL(pi || pi_ref)"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task of the prompts and answers (default: the base's)"},
};

static const mag_schema tilt_schema = {
    .magic = "tilt",
    .keys = tilt_keys,
    .nkeys = sizeof tilt_keys / sizeof tilt_keys[0],
    .help = "the analytic KL-regularized teacher pi_ref e^{R/beta} / Z",
};

/* The position of key's value on the line, else `otherwise`. */
static mag_pos key_pos(const mag_line *line, const char *key, mag_pos otherwise)
{
    for (size_t i = 0; i < line->nargs; i++)
        if (line->args[i].key && !strcmp(line->args[i].key, key)) return line->args[i].value.pos;
    return otherwise;
}

/* The reward linked to the task's feature order and its default parameters. */
static int link_reward(mag_ctx *ctx, const rt_task *task, const rt_reward_program *p, mag_pos at,
                       rt_reward_program **out, double *params, mag_diag *d)
{
    if (rt_features_for_reward(p))
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "reward '%s' reads a feature function (such as debate(NAME)); a tilt "
                       "evaluates the task's own features of every answer only",
                       rt_reward_name(p));
    int rc = mag_train_link_reward(ctx, task, p, at, out, d);
    if (rc) return rc;
    rt_diag rd;
    if (rt_reward_bind_params(*out, NULL, NULL, 0, params, &rd)) {
        rt_reward_free(*out);
        *out = NULL;
        return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
    }
    return 0;
}

/* The task of the tilt: task = T, else the base's.  *tpos = where to point at it. */
static int tilt_task(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const char *bn,
                     const rt_task **task, const char **tname, mag_pos *tpos, mag_diag *d)
{
    mag_pos fpos = key_pos(line, "from", line->name_pos);
    const mag_value *tv = mag_config_get(cfg, "task", 0);
    if (tv && tv->str) {
        *tname = tv->str;
        *tpos = key_pos(line, "task", fpos);
        *task = mag_session_get(ctx->session, MAG_TASK, *tname);
        if (!*task) return mag_err_unknown(d, ctx, MAG_TASK, *tname, *tpos);
        return 0;
    }
    const mag_entry *be = mag_session_entry(ctx->session, MAG_POLICY, bn);
    *tname = be ? be->task : NULL;
    *tpos = fpos;
    *task = *tname ? mag_session_get(ctx->session, MAG_TASK, *tname) : NULL;
    if (!*task)
        return mag_err(ctx, d, MAG_EVALUE, fpos,
                       "policy '%s' has no task: give task = TASK (%%tilt NAME from=%s "
                       "reward=R beta=B task=TASK)",
                       bn, bn);
    return 0;
}

/* Policy name = the tilt of policy bn (run_tilt: once, or per point of a sweep). */
static int tilt_one(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const char *name,
                    const char *bn, mag_diag *d)
{
    mag_pos fpos = key_pos(line, "from", line->name_pos);
    mag_pos rpos = key_pos(line, "reward", line->name_pos);
    const rt_policy *base = mag_session_get(ctx->session, MAG_POLICY, bn);
    if (!base) return mag_err_unknown(d, ctx, MAG_POLICY, bn, fpos);
    if (rt_tilt_is(&base->model))
        return mag_err(ctx, d, MAG_EVALUE, fpos,
                       "'%s' is a tilt; the base of a tilt must be a policy with weights (tilt "
                       "its base with beta' = 1 / (1/beta + 1/beta2) instead)",
                       bn);
    const rt_task *task;
    const char *tname;
    mag_pos tpos;
    int rc = tilt_task(ctx, line, cfg, bn, &task, &tname, &tpos, d);
    if (rc) return rc;
    rt_diag td;
    if (rt_tilt_check_task(task, &td))
        return mag_err(ctx, d, MAG_EVALUE, tpos, "task '%s': %s", tname, td.msg);
    if (base->model.vocab != rt_task_vocab_size(task))
        return mag_err(ctx, d, MAG_EVALUE, fpos,
                       "policy '%s' has a vocabulary of %d tokens but task '%s' has %d", bn,
                       base->model.vocab, tname, rt_task_vocab_size(task));
    const char *rn = mag_config_get(cfg, "reward", 0)->str;
    const rt_reward_program *rp = mag_session_get(ctx->session, MAG_REWARD, rn);
    if (!rp) return mag_err_unknown(d, ctx, MAG_REWARD, rn, rpos);
    rt_reward_program *linked = NULL;
    int np = rt_reward_n_params(rp);
    double *params = rt_calloc((size_t)(np > 0 ? np : 1), sizeof(double));
    if (!params) return mag_err_nomem(d);
    rc = link_reward(ctx, task, rp, rpos, &linked, params, d);
    if (rc) {
        rt_free(params);
        return rc;
    }
    double beta = mag_value_number(mag_config_get(cfg, "beta", 0), 1.0);
    rt_tilt_spec spec = {&base->model, task, linked, params, beta};
    rt_policy *p = NULL;
    rc = rt_tilt_create(&p, &spec, &td);
    rt_reward_free(linked);
    rt_free(params);
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc) return mag_err(ctx, d, MAG_EVALUE, key_pos(line, "beta", rpos), "%s", td.msg);
    char sm[400];
    snprintf(sm, sizeof sm, "tilt: %.80s e^{%.80s/%g} / Z on %.80s (analytic, no weights)", bn, rn,
             beta, tname);
    int r = mag_session_put(ctx->session, MAG_POLICY, name, p, mag_train_free_policy, sm, tname);
    if (r < 0) return mag_err_nomem(d);
    if (r == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, sm);
    mag_lineage_note(ctx, "tilt", 0, name, cfg, 0);
    return 0;
}

static int run_tilt(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)cell;
    const char *name = mag_arg_word(line, 0);
    if (!name)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%tilt needs a NAME: %%tilt NAME from=BASE reward=R beta=B");
    const mag_kv *na = mag_arg_pos(line, 0);
    int rc = mag_check_name(ctx, name, na ? na->value.pos : line->name_pos, d);
    if (rc) return rc;
    for (size_t i = 1; i < line->nargs; i++)
        if (!line->args[i].key)
            return mag_err(ctx, d, MAG_EVALUE, line->args[i].value.pos,
                           "unexpected argument '%s' (use from=, reward=, beta=, task=)",
                           line->args[i].value.text);
    mag_pos fpos = key_pos(line, "from", line->name_pos);
    const char *bn = mag_config_get(cfg, "from", 0)->str;
    if (mag_session_get(ctx->session, MAG_POLICY, bn)) return tilt_one(ctx, line, cfg, name, bn, d);
    /* from = a sweep's NAME: one tilt NAME[...] per point (as %extrapolate's to =) */
    size_t bl = strlen(bn), n = mag_session_count(ctx->session, MAG_POLICY), made = 0;
    char names[MAG_TRAIN_MAX_POINTS][MAG_TRAIN_NAME]; /* copies: the session grows below */
    for (size_t i = 0; i < n && made < MAG_TRAIN_MAX_POINTS; i++) {
        const mag_entry *e = mag_session_at(ctx->session, MAG_POLICY, i);
        if (!strncmp(e->name, bn, bl) && e->name[bl] == '[')
            snprintf(names[made++], sizeof names[0], "%s", e->name);
    }
    if (!made) return mag_err_unknown(d, ctx, MAG_POLICY, bn, fpos);
    for (size_t i = 0; i < made; i++) {
        char out[MAG_TRAIN_NAME];
        snprintf(out, sizeof out, "%s%s", name, names[i] + bl);
        rc = tilt_one(ctx, line, cfg, out, names[i], d);
        if (rc) return rc;
    }
    return 0;
}

static const mag_magic tilt_magic = {
    .name = "tilt",
    .cell = 0,
    .schema = &tilt_schema,
    .usage = "%tilt NAME from=BASE reward=R beta=B [task=T]",
    .help = "Defines policy NAME = the analytic KL-regularized optimum\n"
            "  pi_T(y|x) = pi_BASE(y|x) e^{R(x,y)/beta} / Z(x)\n"
            "(the maximizer of E[R] - beta KL(pi || pi_BASE)) at the sequence level, with\n"
            "per-token conditionals from the prefix tree of every answer (answers of at most\n"
            "3 tokens, EOS included, e.g. add digits=1; tables over every prompt of the task).\n"
            "The reward's parameters take their defaults.  Use NAME as a teacher or reference\n"
            "of %%opd (lambda (log pi_T - log pi_ref) summed over an answer is\n"
            "lambda R / beta - lambda log Z: ExOPD with lambda targets the tilt at beta /\n"
            "lambda), a reference of %%rl, in %eval and %sample.  It has no weights: it cannot\n"
            "be trained (from = NAME), copied or saved with %save.  from = a sweep's NAME\n"
            "makes one tilt NAME[...] per point (seed = [..]: a tilt per pipeline).\n"
            "Example:\n  %tilt t_half from=base reward=exact beta=0.5",
    .run = run_tilt,
    .positional = "-",
};

const mag_magic *const mag_tilt_magics[] = {&tilt_magic, NULL};
