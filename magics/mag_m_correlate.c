/* mag_m_correlate: %correlate POLICY... rewards=[A, B, ...] [split=train] [task=T] — the
 * exact mean of each reward over every answer of every prompt of a split and Pearson r
 * of the first two, over all (prompt, answer) pairs and within prompts (rt_answers.h:
 * enumerable tasks, answers of at most 3 tokens).  The task is task= or the policies'
 * own (the same for all); a sweep cell's NAME reads each of its points.  Leaves out:
 * sampled estimates for larger tasks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_eval.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_answers.h"
#include "rt_reward.h"

static const char *const split_values[] = {"train", "heldout", NULL};
static const mag_key_spec correlate_keys[] = {
    {.name = "rewards",
     .type = MAG_T_LIST,
     .elem = MAG_T_NAME,
     .object = "reward",
     .flags = MAG_K_REQUIRED,
     .help = "2 to 4 rewards: the mean of each, and Pearson r of the first two"},
    {.name = "split",
     .type = MAG_T_ENUM,
     .values = split_values,
     .def = "train",
     .help = "the prompts: every training prompt (what RL optimizes) or every held-out one"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task to evaluate on (default: the policy's)"},
};
static const mag_schema correlate_schema = {"correlate",
                                            correlate_keys,
                                            sizeof correlate_keys / sizeof correlate_keys[0],
                                            "exact reward means and correlation over answers",
                                            NULL,
                                            0};

/* %correlate: per policy, the exact mean of each reward and r of the first two. */
static int run_correlate(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell,
                         const mag_line *line, const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    const char *names[EVAL_MAX_POLICIES + 1];
    const mag_kv *args[EVAL_MAX_POLICIES + 1];
    int nn = 0;
    int rc = mag_eval_expand_names(ctx, line, names, args, &nn, d);
    if (rc) return rc;
    if (nn == 0)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%correlate needs a POLICY: %%correlate POLICY... rewards=[A, B]");
    if (nn > EVAL_MAX_POLICIES)
        return mag_err(ctx, d, MAG_EVALUE, args[EVAL_MAX_POLICIES]->value.pos,
                       "%%correlate reads at most %d policies at once", EVAL_MAX_POLICIES);
    const mag_value *rv = mag_config_get(cfg, "rewards", 0);
    if (rv->kind != MAG_V_LIST || rv->n < 2 || rv->n > RT_ANSWERS_MAX_R)
        return mag_err(ctx, d, MAG_EVALUE, rv->pos,
                       "rewards needs 2 to %d rewards, e.g. rewards=[proxy, true]",
                       RT_ANSWERS_MAX_R);
    const mag_value *tv = mag_config_get(cfg, "task", 0);
    const mag_value *sv = mag_config_get(cfg, "split", 0);
    rt_task_split split =
        sv && sv->str && !strcmp(sv->str, "heldout") ? RT_TASK_HELDOUT : RT_TASK_TRAIN;
    const char *tname = NULL, *tfrom = NULL;
    const rt_task *task = NULL;
    const rt_policy *pols[EVAL_MAX_POLICIES];
    for (int i = 0; i < nn; i++) {
        const char *tn;
        rc = mag_eval_resolve_one(ctx, names[i], args[i]->value.pos, tv, &pols[i], &tn, d);
        if (rc) return rc;
        if (tname && strcmp(tn, tname) != 0)
            return mag_err(ctx, d, MAG_EVALUE, args[i]->value.pos,
                           "policy '%s' was trained on task '%s', '%s' on '%s': give task=TASK "
                           "to read them on the same prompts",
                           names[i], tn, tfrom, tname);
        if (!tname) tname = tn, tfrom = names[i];
        rc = mag_eval_resolve_task(ctx, names[i], pols[i], tn, tv, args[i]->value.pos, &task, d);
        if (rc) return rc;
        for (int j = 0; j < i; j++)
            if (!strcmp(names[j], names[i]))
                return mag_err(ctx, d, MAG_EVALUE, args[i]->value.pos,
                               "policy '%s' is listed twice", names[i]);
    }
    rt_diag td;
    if (rt_answers_check_task(task, split, &td))
        return mag_err(ctx, d, MAG_EVALUE, tv ? tv->pos : args[0]->value.pos, "task '%s': %s",
                       tname, td.msg);
    int nr = (int)rv->n;
    rt_reward_program *linked[RT_ANSWERS_MAX_R] = {0};
    double *params[RT_ANSWERS_MAX_R] = {0};
    mag_table *t = NULL;
    for (int j = 0; j < nr && !rc; j++) {
        const mag_value *it = &rv->items[j];
        const rt_reward_program *p = mag_session_get(ctx->session, MAG_REWARD, it->str);
        if (!p) {
            rc = mag_err_unknown(d, ctx, MAG_REWARD, it->str, it->pos);
            break;
        }
        int npar = rt_reward_n_params(p);
        params[j] = rt_calloc((size_t)(npar > 0 ? npar : 1), sizeof(double));
        if (!params[j]) {
            rc = mag_err_nomem(d);
            break;
        }
        rc = mag_train_link_reward(ctx, task, p, it->pos, &linked[j], d);
        if (!rc && rt_reward_bind_params(linked[j], NULL, NULL, 0, params[j], &td))
            rc = mag_err(ctx, d, MAG_EVALUE, it->pos, "%s", td.msg);
    }
    const char *hdr[RT_ANSWERS_MAX_R + 3];
    char hb[RT_ANSWERS_MAX_R][80];
    hdr[0] = "policy";
    for (int j = 0; j < nr; j++) {
        snprintf(hb[j], sizeof hb[j], "%s", rv->items[j].str);
        hdr[1 + j] = hb[j];
    }
    hdr[1 + nr] = "r";
    hdr[2 + nr] = "r within prompts";
    if (!rc) {
        t = mag_table_new(nr + 3, hdr);
        if (!t) rc = mag_err_nomem(d);
    }
    int n = 0;
    for (int i = 0; i < nn && !rc; i++) {
        rt_answers_result res;
        const double *cp[RT_ANSWERS_MAX_R];
        const rt_reward_program *cr[RT_ANSWERS_MAX_R];
        for (int j = 0; j < nr; j++)
            cp[j] = params[j], cr[j] = linked[j];
        int e = rt_answers_moments(&pols[i]->model, task, split, cr, cp, nr, &res, &td);
        if (e == RT_ENOMEM) {
            rc = mag_err_nomem(d);
            break;
        }
        if (e) {
            rc = mag_err(ctx, d, MAG_ERUNTIME, args[i]->value.pos, "%%correlate %s: %s", names[i],
                         td.msg);
            break;
        }
        n = res.n_prompts;
        char c[RT_ANSWERS_MAX_R + 3][64];
        const char *row[RT_ANSWERS_MAX_R + 3];
        row[0] = names[i];
        for (int j = 0; j < nr; j++) {
            mag_fmt_num(res.mean[j], 0, c[1 + j], 64);
            row[1 + j] = c[1 + j];
        }
        for (int w = 0; w < 2; w++) {
            double r = w ? rt_answers_corr_within(&res, 0, 1) : rt_answers_corr(&res, 0, 1);
            if (isnan(r))
                snprintf(c[1 + nr + w], 64, "n/a");
            else
                snprintf(c[1 + nr + w], 64, "%.4f", r);
            row[1 + nr + w] = c[1 + nr + w];
        }
        if (mag_table_row(t, row)) rc = mag_err_nomem(d);
    }
    for (int j = 0; j < nr; j++) {
        rt_reward_free(linked[j]);
        rt_free(params[j]);
    }
    if (rc) {
        mag_table_free(t);
        return rc;
    }
    char cap[600];
    snprintf(
        cap, sizeof cap,
        "%%correlate: exact means over every answer of the %d %s prompts of %s (each "
        "answer weighted by its probability, temperature 1); r = Pearson correlation of %s "
        "and %s over (prompt, answer) pairs; r within prompts: the same after subtracting each "
        "prompt's own means (what a per-prompt baseline sees; n/a: a reward is constant)",
        n, split == RT_TASK_TRAIN ? "training" : "held-out", tname, rv->items[0].str,
        rv->items[1].str);
    mag_show(ctx->out, mag_table_bundle(t, cap));
    mag_table_free(t);
    return 0;
}

static const mag_magic correlate_magic = {
    .name = "correlate",
    .schema = &correlate_schema,
    .usage = "%correlate POLICY... rewards=[A, B, ...] [split=train] [task=T]",
    .help = "Exact reward statistics of POLICY's answers: over every prompt of the split\n"
            "(train: the prompts RL optimizes on; or heldout) and every answer, each weighted\n"
            "by its probability under the policy (temperature 1), the mean of each reward\n"
            "and Pearson r of the first two (e.g. a proxy and the true reward: a proxy is\n"
            "correlated with the truth under the base when r is high there), over all\n"
            "(prompt, answer) pairs and within prompts (each prompt's means subtracted: how\n"
            "the two rank the answers to one prompt, what GRPO's baseline sees).  The mean\n"
            "of an indicator reward is the exact probability of its event (how rare a hack\n"
            "is).  Enumerable tasks only (answers of at most 3 tokens, e.g. add digits=1);\n"
            "no sampling, so no noise.  A sweep cell's NAME reads each of its points\n"
            "NAME[...].\n"
            "Example:\n  %correlate base hacked rewards=[proxy, true]",
    .run = run_correlate,
    .positional = "policy",
};

const mag_magic *const mag_correlate_magics[] = {&correlate_magic, NULL};
