/* mag_m_opd: %%opd NAME — generalized on-policy distillation (G-OPD / ExOPD, methods.md
 * §1) through rt_opd_run, with the live chart of the bridge (panels accuracy, kl_teacher,
 * kl_ref; the teacher's own held-out greedy accuracy printed and drawn as a reference
 * line on the accuracy panel),
 * one policy and run per sweep point named NAME[key=value,...]; and
 * %extrapolate NAME from=BASE to=TEACHER alpha=A (ExPO: theta_T + alpha (theta_T - theta_base)).
 *
 * Keys (defaults): from (required), teacher (required: a policy or {domain: policy} on a
 * mix task), reference (the student's initial policy), lambda 1, estimator sampled,
 * gamma 0, teacher_temperature 1, steps 200, batch 64, lr 1e-3, temperature 1,
 * eval_every 20, eval_prompts 512, seed, task (default: the student's task),
 * target_top_k 0 and target_top_p 1 (estimator = full: the target restricted to the
 * teacher's likeliest tokens, rt_opd.h; off by default).  A %tilt (mag_m_tilt.c) may be
 * a teacher or the reference, never the student.
 * teacher_temperature tau replaces log pi_T by log_softmax(z_T / tau) everywhere (reward,
 * full-estimator target, kl_teacher): with lambda = 1 and tau = 1/l it distils the
 * sharpened teacher pi_T^l / Z, the control that separates sharpening from ExOPD's
 * extrapolation along log pi_T - log pi_ref.
 *
 * Streams: every sweep point of one cell uses the stream of NAME (split by the `seed`
 * value when given): rt_rng_from_name(session seed, NAME), so points differing only in
 * lambda / reference / estimator see the same prompts at step 1 (common random numbers)
 * and, at lambda = 1, two references give the same run up to float rounding.
 * Errors (each a cell:LINE:COL error before anything trains): unknown policies and tasks
 * (did-you-mean), a teacher or reference whose vocabulary differs from the
 * student's, a map on a task that is not a mix, a map key that is not a domain of the
 * mix (did-you-mean over its domains), a domain without a teacher, teachers of a map with
 * different architectures, estimator = full with gamma > 0, target_top_k / target_top_p
 * with the sampled estimator, a student without weights (a tilt), a tilt of another task.
 * Leaves out: resuming a run, per-domain teachers of different architectures. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_lineage.h"
#include "mag_train.h"
#include "mag_train_cell.h"
#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_opd_keys.h"
#include "rt_opd_run.h"
#include "rt_policy.h"
#include "rt_task.h"
#include "rt_tilt.h"

#define SW MAG_K_SWEEP
static const mag_key_spec opd_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the student's initial policy (copied)"},
    {.name = "teacher",
     .type = MAG_T_MAP,
     .elem = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED | MAG_K_OR_SCALAR,
     .help = "teacher policy, or {domain: policy} routing each prompt of a mix"},
    {.name = "reference",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = SW,
     .help = "reference pi_ref of the reward log pi_T - log pi_ref (default: `from`)"},
    RT_OPD_KEY_LAMBDA,
    RT_OPD_KEY_ESTIMATOR,
    RT_OPD_KEY_GAMMA,
    RT_OPD_KEY_TEACHER_TEMPERATURE,
    RT_OPD_KEY_STEPS,
    RT_OPD_KEY_BATCH,
    RT_OPD_KEY_LR,
    RT_OPD_KEY_TEMPERATURE,
    RT_OPD_KEY_EVAL_EVERY,
    RT_OPD_KEY_EVAL_PROMPTS,
    MAG_TRAIN_KEY_SEED,
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task of the prompts (default: the student's)"},
    RT_OPD_KEY_TARGET_TOP_K,
    RT_OPD_KEY_TARGET_TOP_P,
};
#undef SW

static const mag_schema opd_schema = {
    .magic = "opd",
    .keys = opd_keys,
    .nkeys = sizeof opd_keys / sizeof opd_keys[0],
    .help = "generalized on-policy distillation (G-OPD / ExOPD)",
};

static const char *const panels[] = {"accuracy", "kl_teacher", "kl_ref"};

typedef struct point {
    mag_train_point base; /* name, label, pol, run, steps, job (mag_train_cell.h) */
    const rt_policy *ref;
    const char *ref_name; /* for the summary */
    rt_opd_run_config cfg;
    rt_opd_problem prob;
    rt_diag diag;
    int rc;
} point;

static int opd_job(void *arg, const rt_job_ctx *ctx)
{
    point *p = arg;                     /* the cancel flag: the bridge installed it on the run */
    p->cfg.step.threads = ctx->threads; /* the executor's threads rule */
    p->rc = rt_opd_run(p->base.pol, &p->prob, &p->cfg, p->base.run, &p->base.job.rng, &p->diag);
    return p->rc;
}

/* What the cell resolved: the student, the task, the teachers and their routing, the
 * runs' columns; then the chart's pieces. */
typedef struct opd_cell {
    const char *sname;
    const rt_policy *from;
    const rt_task *task;
    int nd;
    const rt_policy *teachers[RT_OPD_RUN_MAX_TEACHERS];
    const char *tnames[RT_OPD_RUN_MAX_TEACHERS];
    int route[RT_TASK_MAX_DOMAINS];
    int nt, routed;
    char cols[RT_OPD_RUN_MAX_COLUMNS][48];
    const char *colp[RT_OPD_RUN_MAX_COLUMNS];
    int nc;
    /* chart */
    char tdesc[300];
    const char *summ[RT_OPD_RUN_MAX_COLUMNS];
    char tlabel[64];
    mag_bridge_ref tref;
} opd_cell;

/* A teacher or reference must share the student's vocabulary (each model reads the
 * sampled sequences its own way: architectures and settings may differ). */
static int check_compat(mag_ctx *ctx, mag_diag *d, const char *role, const char *name,
                        const rt_policy *q, const rt_policy *student, const char *sname, mag_pos at)
{
    if (q->model.vocab != student->model.vocab)
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "%s '%s' has a vocabulary of %d tokens but the student '%s' has %d "
                       "(they must share the vocabulary)",
                       role, name, q->model.vocab, sname, student->model.vocab);
    return 0;
}

/* Held-out greedy accuracy of the routed teacher(s) on the task (per domain: its own
 * teacher), or NaN. */
static double teacher_accuracy(const rt_task *task, const rt_policy *const *teachers,
                               const int *route, int eval_prompts, rt_rng r)
{
    int nd = rt_task_n_domains(task);
    double sum = 0;
    long n = 0;
    for (int k = 0; k < (route ? nd : 1); k++) {
        const rt_policy *t = teachers[route ? route[k] : 0];
        rt_eval *ev = NULL;
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.n_prompts = eval_prompts;
        ec.k = 0;
        rt_eval_result res;
        if (rt_eval_create(&ev, task, &t->model, &ec, &r, NULL) ||
            rt_eval_run(ev, &t->model, &res, NULL)) {
            rt_eval_free(ev);
            return NAN;
        }
        rt_eval_free(ev);
        if (!route) return res.greedy;
        if (res.domain_n[k] > 0)
            sum += res.domain_greedy[k] * res.domain_n[k], n += res.domain_n[k];
    }
    return n ? sum / (double)n : NAN;
}

/* References first: everything resolves before anything is built. */
static int opd_resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    const char *base = t->base;
    opd_cell *c = t->state;
    /* ---- references: everything resolves before anything is built ---- */
    const char *sname = c->sname = mag_config_get(cfg, "from", 0)->str;
    const rt_policy *from = c->from = mag_session_get(ctx->session, MAG_POLICY, sname);
    if (!from) return mag_err_unknown(d, ctx, MAG_POLICY, sname, mag_train_value_pos(cell, "from"));
    int wrc =
        mag_train_need_weights(ctx, d, from, sname, "from", mag_train_value_pos(cell, "from"));
    if (wrc) return wrc;
    const char *task_name = NULL;
    const rt_task *task = NULL;
    if (mag_train_given(cfg, "task")) {
        task_name = mag_config_get(cfg, "task", 0)->str;
        task = mag_session_get(ctx->session, MAG_TASK, task_name);
        if (!task)
            return mag_err_unknown(d, ctx, MAG_TASK, task_name, mag_train_value_pos(cell, "task"));
    } else {
        const mag_entry *fe = mag_session_entry(ctx->session, MAG_POLICY, sname);
        if (fe && fe->task) {
            task_name = fe->task;
            task = mag_session_get(ctx->session, MAG_TASK, task_name);
        }
        if (!task)
            return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                           "%%%%opd %s needs task = TASK (policy '%s' has no task)", base, sname);
    }
    if (rt_task_vocab_size(task) != from->cfg.vocab)
        return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "from"),
                       "student '%s' has a vocabulary of %d tokens but task '%s' has %d", sname,
                       from->cfg.vocab, task_name, rt_task_vocab_size(task));
    int nd = c->nd = rt_task_n_domains(task);
    const rt_policy **teachers = c->teachers;
    const char **tnames = c->tnames;
    int *route = c->route;
    int nt = 0, routed = 0;
    const mag_value *tv = mag_config_get(cfg, "teacher", 0);
    const mag_value *tsrc = mag_train_raw(cell, "teacher");
    if (tv->kind == MAG_V_MAP) {
        if (rt_task_kind_of(task) != &rt_task_kind_mix)
            return mag_err(ctx, d, MAG_EVALUE, tsrc->pos,
                           "a teacher map {task: policy} needs a mix task, but '%s' is a "
                           "single %s task (use teacher = POLICY)",
                           task_name, rt_task_kind_name(rt_task_kind_of(task)));
        routed = 1;
        for (int k = 0; k < nd; k++)
            route[k] = -1;
        for (size_t i = 0; i < tv->n; i++) {
            const mag_kv *e = &tv->entries[i];
            const mag_kv *es =
                tsrc && tsrc->kind == MAG_V_MAP && i < tsrc->n ? &tsrc->entries[i] : e;
            int dom = -1;
            for (int k = 0; k < nd; k++)
                if (!strcmp(rt_task_domain_name(task, k), e->key)) dom = k;
            if (dom < 0) {
                rt_suggest sg;
                rt_suggest_init(&sg, e->key);
                char doms[256] = "";
                size_t o = 0;
                for (int k = 0; k < nd; k++) {
                    rt_suggest_add(&sg, rt_task_domain_name(task, k));
                    if (o < sizeof doms)
                        o += (size_t)snprintf(doms + o, sizeof doms - o, "%s%s", k ? ", " : "",
                                              rt_task_domain_name(task, k));
                }
                if (sg.best)
                    return mag_err(ctx, d, MAG_ENAME, es->key_pos,
                                   "task '%s' is not a domain of mix '%s' (did you mean "
                                   "'%s'?); its domains are %s",
                                   e->key, task_name, sg.best, doms);
                return mag_err(ctx, d, MAG_ENAME, es->key_pos,
                               "task '%s' is not a domain of mix '%s'; its domains are %s", e->key,
                               task_name, doms);
            }
            const rt_policy *t = mag_session_get(ctx->session, MAG_POLICY, e->value.str);
            if (!t) return mag_err_unknown(d, ctx, MAG_POLICY, e->value.str, es->value.pos);
            int rc = check_compat(ctx, d, "teacher", e->value.str, t, from, sname, es->value.pos);
            if (!rc)
                rc = mag_train_tilt_task(ctx, d, t, e->value.str, task, task_name, es->value.pos);
            if (rc) return rc;
            int idx = -1;
            for (int j = 0; j < nt; j++)
                if (teachers[j] == t) idx = j;
            if (idx < 0) {
                int ta = rt_tilt_is(&t->model), t0 = nt > 0 && rt_tilt_is(&teachers[0]->model);
                if (nt > 0 &&
                    (ta != t0 || (ta && !rt_model_same_arch(rt_tilt_base(&t->model),
                                                            rt_tilt_base(&teachers[0]->model)))))
                    return mag_err(ctx, d, MAG_EVALUE, es->value.pos,
                                   "the teachers of a map need the same architecture: '%s' is "
                                   "%s, '%s' %s",
                                   e->value.str, ta ? "a tilt" : "a policy with weights", tnames[0],
                                   ta != t0 ? (t0 ? "a tilt" : "a policy with weights")
                                            : "a tilt of a base of another architecture");
                if (nt > 0 && !rt_policy_same_shape(&t->cfg, &teachers[0]->cfg))
                    return mag_err(ctx, d, MAG_EVALUE, es->value.pos,
                                   "the teachers of a map need the same architecture: '%s' "
                                   "(H=%d L=%d) differs from '%s' (H=%d L=%d)",
                                   e->value.str, t->cfg.hidden, t->cfg.layers, tnames[0],
                                   teachers[0]->cfg.hidden, teachers[0]->cfg.layers);
                idx = nt;
                teachers[nt] = t;
                tnames[nt++] = e->value.str;
            }
            route[dom] = idx;
        }
        for (int k = 0; k < nd; k++)
            if (route[k] < 0)
                return mag_err(ctx, d, MAG_EVALUE, tsrc->pos,
                               "no teacher for domain '%s' of mix '%s'",
                               rt_task_domain_name(task, k), task_name);
    } else {
        const char *tn = tv->str;
        const rt_policy *t = mag_session_get(ctx->session, MAG_POLICY, tn);
        mag_pos at = mag_train_value_pos(cell, "teacher");
        if (!t) return mag_err_unknown(d, ctx, MAG_POLICY, tn, at);
        int rc = check_compat(ctx, d, "teacher", tn, t, from, sname, at);
        if (!rc) rc = mag_train_tilt_task(ctx, d, t, tn, task, task_name, at);
        if (rc) return rc;
        teachers[0] = t;
        tnames[0] = tn;
        nt = 1;
    }
    c->task = task;
    c->nt = nt;
    c->routed = routed;
    t->task_name = task_name;
    return 0;
}

/* The restricted target's keys at point pt (no default: not given is off). */
static int target_top_k(const mag_config *cfg, size_t pt)
{
    return (int)mag_value_number(mag_config_get(cfg, "target_top_k", pt), 0.0);
}

static float target_top_p(const mag_config *cfg, size_t pt)
{
    return (float)mag_value_number(mag_config_get(cfg, "target_top_p", pt), 1.0);
}

/* Per point: the reference, estimator / gamma compatibility, a finite lambda. */
static int opd_check(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    const opd_cell *c = t->state;
    const rt_policy *from = c->from;
    const char *sname = c->sname;
    size_t np = cfg->npoints;
    /* per point: reference, estimator/gamma compatibility */
    for (size_t pt = 0; pt < np; pt++) {
        const mag_value *rv = mag_config_get(cfg, "reference", pt);
        if (rv) {
            const rt_policy *r = mag_session_get(ctx->session, MAG_POLICY, rv->str);
            if (!r)
                return mag_err_unknown(d, ctx, MAG_POLICY, rv->str,
                                       rv->pos.line ? rv->pos
                                                    : mag_train_value_pos(cell, "reference"));
            mag_pos rat = rv->pos.line ? rv->pos : mag_train_value_pos(cell, "reference");
            int rc = check_compat(ctx, d, "reference", rv->str, r, from, sname, rat);
            if (!rc) rc = mag_train_tilt_task(ctx, d, r, rv->str, c->task, t->task_name, rat);
            if (rc) return rc;
        }
        if (!strcmp(mag_config_get(cfg, "estimator", pt)->str, "full") &&
            mag_train_num(cfg, "gamma", pt) != 0)
            return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "gamma"),
                           "estimator = full is the per-state exact gradient and needs "
                           "gamma = 0 (got gamma = %g)",
                           mag_train_num(cfg, "gamma", pt));
        int tk = target_top_k(cfg, pt) > 0;
        if ((tk || target_top_p(cfg, pt) < 1.0f) &&
            strcmp(mag_config_get(cfg, "estimator", pt)->str, "full"))
            return mag_err(ctx, d, MAG_EVALUE,
                           mag_train_value_pos(cell, tk ? "target_top_k" : "target_top_p"),
                           "target_top_k / target_top_p restrict the full estimator's target "
                           "and need estimator = full (the sampled estimator has no target "
                           "distribution)");
        double lam = mag_train_num(cfg, "lambda", pt);
        if (!isfinite(lam))
            return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "lambda"),
                           "'lambda' must be finite");
    }
    return 0;
}

/* Point pt: a fresh copy of the student (Adam state reset), its reference and config. */
static int opd_point(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    const mag_config *cfg = t->cfg;
    opd_cell *oc = t->state;
    point *p = (point *)bp;
    if (pt == 0) { /* the runs' columns, once */
        oc->nc = rt_opd_run_columns(oc->task, oc->cols, RT_OPD_RUN_MAX_COLUMNS);
        for (int c = 0; c < oc->nc; c++)
            oc->colp[c] = oc->cols[c];
    }
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "", t->base,
                                mag_config_get(cfg, "seed", pt));
    p->base.job.rng = rt_rng_split(&r, 1);
    rt_diag pd;
    int rc = rt_policy_create(&p->base.pol, &oc->from->cfg, &pd);
    if (!rc) rc = rt_policy_assign(p->base.pol, oc->from);
    if (!rc && rt_run_create(p->base.name, oc->colp, oc->nc, &p->base.run)) rc = RT_ENOMEM;
    if (rc) return mag_err_nomem(d);
    const mag_value *rv = mag_config_get(cfg, "reference", pt);
    p->ref = rv ? mag_session_get(t->ctx->session, MAG_POLICY, rv->str) : oc->from;
    p->ref_name = rv ? rv->str : oc->sname;
    rt_opd_run_config_init(&p->cfg);
    rt_opd_config *c = &p->cfg.step;
    c->lambda = (float)mag_train_num(cfg, "lambda", pt);
    c->estimator =
        strcmp(mag_config_get(cfg, "estimator", pt)->str, "full") ? RT_OPD_SAMPLED : RT_OPD_FULL;
    c->gamma = (float)mag_train_num(cfg, "gamma", pt);
    c->teacher_temperature = (float)mag_train_num(cfg, "teacher_temperature", pt);
    c->target_top_k = target_top_k(cfg, pt);
    c->target_top_p = target_top_p(cfg, pt);
    c->temperature = (float)mag_train_num(cfg, "temperature", pt);
    c->batch = (int)mag_train_num(cfg, "batch", pt);
    c->adam.lr = (float)mag_train_num(cfg, "lr", pt);
    c->threads = 1; /* inside the run: set by the executor when it runs (opd_job) */
    p->cfg.steps = (long)mag_train_num(cfg, "steps", pt);
    p->cfg.eval_every = (long)mag_train_num(cfg, "eval_every", pt);
    p->cfg.eval_prompts = (int)mag_train_num(cfg, "eval_prompts", pt);
    p->cfg.eval_stream = mag_eval_stream(mag_session_seed(t->ctx->session), t->task_name);
    p->prob.task = oc->task;
    p->prob.teachers = oc->teachers;
    p->prob.nteachers = oc->nt;
    p->prob.route = oc->routed ? oc->route : NULL;
    p->prob.ref = p->ref;
    p->base.steps = p->cfg.steps;
    return 0;
}

/* The teacher's own held-out accuracy (printed; the accuracy panel's yardstick), the
 * chart's title and summary metrics. */
static void opd_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                      mag_bridge_opts *o, char *title, size_t cap)
{
    (void)np;
    opd_cell *c = t->state;
    const rt_task *task = c->task;
    double t_acc = teacher_accuracy(task, c->teachers, c->routed ? c->route : NULL,
                                    ((const point *)pts[0])->cfg.eval_prompts,
                                    mag_eval_stream(mag_session_seed(t->ctx->session),
                                                    t->task_name).rng);
    char *tdesc = c->tdesc;
    size_t tcap = sizeof c->tdesc;
    if (c->routed) {
        size_t n = (size_t)snprintf(tdesc, tcap, "{");
        for (int k = 0; k < c->nd && n < tcap; k++)
            n += (size_t)snprintf(tdesc + n, tcap - n, "%s%s: %s", k ? ", " : "",
                                  rt_task_domain_name(task, k), c->tnames[c->route[k]]);
        if (n < tcap) snprintf(tdesc + n, tcap - n, "}");
    } else {
        snprintf(tdesc, tcap, "%s", c->tnames[0]);
    }
    krn_out_printf(t->ctx->out, KRN_STDOUT, "teacher %s: held-out greedy accuracy %.4f on %s\n",
                   tdesc, t_acc, t->task_name);
    int ns = 0;
    for (int k = 3; k < c->nc; k++)
        if (strcmp(c->cols[k], "adv_mean") && strcmp(c->cols[k], "grad_norm") &&
            strcmp(c->cols[k], "loss") && strcmp(c->cols[k], "length"))
            c->summ[ns++] = c->cols[k];
    snprintf(c->tlabel, sizeof c->tlabel, "teacher (held-out) %.3f", t_acc);
    c->tref = (mag_bridge_ref){.panel = "accuracy", .y = t_acc, .label = c->tlabel};
    snprintf(title, cap, "%%%%opd %s: %s -> %s on %s", t->base, tdesc, c->sname, t->task_name);
    o->title = title;
    o->panels = panels;
    o->npanels = 3;
    o->summary = c->summ;
    o->nsummary = ns;
    o->refs = &c->tref;
    o->nrefs = 1;
}

static void opd_failed_msg(const mag_train_point *bp, char *msg, size_t cap)
{
    const point *p = (const point *)bp;
    if (p->diag.msg[0]) snprintf(msg, cap, "%s", p->diag.msg);
}

static void opd_summary(mag_train_cellctx *t, const mag_train_point *bp, rt_run_status stt,
                        long step, char *sm, size_t cap)
{
    const opd_cell *oc = t->state;
    const point *p = (const point *)bp;
    const rt_opd_config *c = &p->cfg.step;
    snprintf(sm, cap,
             "opd from %.200s, teacher %.300s, reference %.200s, lambda %g, %s, gamma %g, "
             "tau_T %g, %ld "
             "steps%s",
             oc->sname, oc->tdesc, p->ref_name, (double)c->lambda,
             c->estimator == RT_OPD_FULL ? "full" : "sampled", (double)c->gamma,
             (double)c->teacher_temperature, step, mag_train_suffix(stt));
    size_t n = strlen(sm);
    if ((c->target_top_k > 0 || c->target_top_p < 1.0f) && n < cap)
        snprintf(sm + n, cap - n, "; target restricted to the teacher's top-k %d, top-p %g",
                 c->target_top_k, (double)c->target_top_p);
}

static const mag_trainer_rec opd_rec = {
    .magic = "opd",
    .trainer = "opd",
    .state_size = sizeof(opd_cell),
    .point_size = sizeof(point),
    .flags = MAG_TRAIN_QUIET_POLICY,
    .resolve = opd_resolve,
    .check = opd_check,
    .point = opd_point,
    .job = opd_job,
    .chart = opd_chart,
    .summary = opd_summary,
    .summary_cap = 1200,
    .failed_msg = opd_failed_msg,
};

static int run_opd(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                   const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    return mag_train_cell(ctx, cell, cfg, &opd_rec, d);
}

/* ---- %extrapolate NAME from=BASE to=TEACHER alpha=A ---- */

static const mag_key_spec extra_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the base policy theta_base (the teacher before its RL)"},
    {.name = "to",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the teacher theta_T"},
    {.name = "alpha",
     .type = MAG_T_NUMBER,
     .def = "0.5",
     .help = "extrapolation: theta_T + alpha (theta_T - theta_base)"},
};

static const mag_schema extra_schema = {
    .magic = "extrapolate",
    .keys = extra_keys,
    .nkeys = sizeof extra_keys / sizeof extra_keys[0],
    .help = "weight-space extrapolation (ExPO)",
};

static int run_extrapolate(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell,
                           const mag_line *line, const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    const char *name = mag_arg_word(line, 0);
    if (!name)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%extrapolate needs a NAME: %%extrapolate NAME from=BASE to=TEACHER "
                       "alpha=A");
    const mag_kv *na = mag_arg_pos(line, 0);
    int nrc = mag_check_name(ctx, name, na ? na->value.pos : line->name_pos, d);
    if (nrc) return nrc;
    mag_pos fpos = line->name_pos, tpos = line->name_pos;
    for (size_t i = 0; i < line->nargs; i++) {
        if (!line->args[i].key) {
            if (i > 0)
                return mag_err(ctx, d, MAG_EVALUE, line->args[i].value.pos,
                               "unexpected argument '%s' (use from=, to=, alpha=)",
                               line->args[i].value.text);
            continue;
        }
        if (!strcmp(line->args[i].key, "from")) fpos = line->args[i].value.pos;
        if (!strcmp(line->args[i].key, "to")) tpos = line->args[i].value.pos;
    }
    const char *bn = mag_config_get(cfg, "from", 0)->str, *tn = mag_config_get(cfg, "to", 0)->str;
    const rt_policy *b = mag_session_get(ctx->session, MAG_POLICY, bn);
    if (!b) return mag_err_unknown(d, ctx, MAG_POLICY, bn, fpos);
    const rt_policy *t = mag_session_get(ctx->session, MAG_POLICY, tn);
    if (!t) return mag_err_unknown(d, ctx, MAG_POLICY, tn, tpos);
    double alpha = mag_value_number(mag_config_get(cfg, "alpha", 0), 0.5);
    rt_policy *p = NULL;
    rt_diag od;
    int rc = rt_opd_extrapolate(&p, b, t, (float)alpha, &od);
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc) return mag_err(ctx, d, MAG_EVALUE, tpos, "%s ('%s' and '%s')", od.msg, tn, bn);
    const mag_entry *te = mag_session_entry(ctx->session, MAG_POLICY, tn);
    char sm[300];
    snprintf(sm, sizeof sm, "ExPO: %s + %g (%s - %s)", tn, alpha, tn, bn);
    int r = mag_session_put(ctx->session, MAG_POLICY, name, p, mag_train_free_policy, sm,
                            te ? te->task : NULL);
    if (r < 0) return mag_err_nomem(d);
    if (r == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, sm);
    mag_lineage_note(ctx, "extrapolate", 0, name, cfg, 0);
    return 0;
}

static const mag_magic opd_magic = {
    .name = "opd",
    .cell = 1,
    .schema = &opd_schema,
    .usage = "%%opd NAME  (body: key = value lines)",
    .help =
        "Generalized on-policy distillation (G-OPD; notebooks/on-policy-distillation.ipynb)\n"
        "of the student `from`\n"
        "toward `teacher` on the student's own samples.  Per-token reward\n"
        "  r_t = lambda (log pi_T - log pi_ref)(y_t|s_t), KL weight 1 to `reference`;\n"
        "as released (estimator = sampled, gamma = 0): A_t = lambda (lp_T - lp_ref) -\n"
        "(lp_S - lp_ref), loss = -mean_t A_t lp_S(y_t), one update per batch.\n"
        "lambda = 1 is OPD (the reference cancels), lambda > 1 ExOPD.  estimator = full:\n"
        "exact gradient of KL(pi_S || pi~), pi~ ∝ pi_ref^(1-lambda) pi_T^lambda, at every\n"
        "visited state.  teacher_temperature tau: log pi_T -> log_softmax(z_T / tau).\n"
        "target_top_k = k / target_top_p = p (estimator = full; 0 / 1 = off): restrict pi~ at\n"
        "each state to the teacher's k likeliest tokens / its top-p nucleus, renormalized;\n"
        "the loss is then KL(pi_S || pi~) with both conditioned on that set (the student's\n"
        "logits outside it get no gradient): a guard against large lambda blowing up\n"
        "tail tokens where pi_ref ~ 0.  teacher = a %tilt gives the exact ExOPD target.\n"
        "teacher = {add: t_add, sort: t_sort} routes each prompt of a mix to its domain's\n"
        "teacher.  Live chart: accuracy, kl_teacher, kl_ref (exact).  A list sweeps; all\n"
        "points of a cell share NAME's random stream (seed = [1, 2, 3] adds bands).\n"
        "Example:\n  %%opd student\n  from = base\n  teacher = teacher\n  lambda = [1, 1.25, 2]",
    .run = run_opd,
    .positional = "-",
};

static const mag_magic extrapolate_magic = {
    .name = "extrapolate",
    .cell = 0,
    .schema = &extra_schema,
    .usage = "%extrapolate NAME from=BASE to=TEACHER alpha=A",
    .help = "Defines policy NAME = theta_T + alpha (theta_T - theta_base) (ExPO: weight-space\n"
            "extrapolation past the teacher along the direction its training moved), a\n"
            "control for ExOPD.  BASE and TEACHER need the same architecture.",
    .run = run_extrapolate,
    .positional = "-",
};

const mag_magic *const mag_opd_magics[] = {&opd_magic, &extrapolate_magic, NULL};
