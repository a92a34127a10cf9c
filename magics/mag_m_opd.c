/* mag_m_opd: %%opd NAME — generalized on-policy distillation (G-OPD / ExOPD, methods.md
 * §1) through rt_opd_run, with the live chart of the bridge (panels eval_accuracy — the
 * held-out greedy accuracy every eval_every steps; the training samples' accuracy when
 * eval_every = 0 — kl_teacher, kl_ref; the teacher's own held-out greedy accuracy on the
 * same prompts printed and drawn as a reference line on the first panel),
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
 * extrapolation along log pi_T - log pi_ref.  temperature tau: the student samples
 * from softmax(z_S / tau) and is scored and differentiated there (rt_opd.h: on-policy,
 * pi_ref at tau too).
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
     .help = "the student's initial policy (copied); a sweep's NAME pairs each point with "
             "its point of the same key values (seed = [..]: a pipeline per seed)"},
    {.name = "teacher",
     .type = MAG_T_MAP,
     .elem = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED | MAG_K_OR_SCALAR,
     .help = "teacher policy, or {domain: policy} routing each prompt of a mix (a sweep "
             "pairs by key)"},
    {.name = "reference",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = SW,
     .help = "reference pi_ref of the reward log pi_T - log pi_ref (default: `from`; a sweep "
             "pairs by key)"},
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

/* The first panel is held-out greedy accuracy, the quantity the teacher's line measures;
 * without evaluation (eval_every = 0 at some point) the training samples' accuracy. */
static const char *const panels_eval[] = {"eval_accuracy", "kl_teacher", "kl_ref"};
static const char *const panels_train[] = {"accuracy", "kl_teacher", "kl_ref"};

/* The policies a point reads (a sweep named by from/teacher/reference pairs with the
 * point by key: mag_train_policy_at), with their session names. */
typedef struct roles {
    const rt_policy *from;
    const char *sname;
    const rt_policy *teachers[RT_OPD_RUN_MAX_TEACHERS];
    const char *tnames[RT_OPD_RUN_MAX_TEACHERS];
    int route[RT_TASK_MAX_DOMAINS];
    int nt, routed;
} roles;

typedef struct point {
    mag_train_point base; /* name, label, pol, run, steps, job (mag_train_cell.h) */
    roles r;
    char tdesc[300]; /* the teachers, for the summary */
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
    const char *sname; /* as written in the cell */
    roles r0;          /* point 0's: the cell-wide checks */
    const rt_task *task;
    int nd;
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

/* The student and teachers of point pt into *r (paired by key), checked: vocabularies,
 * a map's domains and architectures.  Needs c->task. */
static int resolve_roles(mag_train_cellctx *t, size_t pt, roles *r, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    opd_cell *c = t->state;
    const rt_task *task = c->task;
    const char *task_name = t->task_name;
    memset(r, 0, sizeof *r);
    int rc = mag_train_policy_at(ctx, cfg, pt, c->sname, mag_train_value_pos(cell, "from"),
                                 &r->from, &r->sname, d);
    if (rc) return rc;
    const rt_policy *from = r->from;
    const char *sname = r->sname;
    int wrc =
        mag_train_need_weights(ctx, d, from, sname, "from", mag_train_value_pos(cell, "from"));
    if (wrc) return wrc;
    if (rt_task_vocab_size(task) != from->model.vocab)
        return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "from"),
                       "student '%s' has a vocabulary of %d tokens but task '%s' has %d", sname,
                       from->model.vocab, task_name, rt_task_vocab_size(task));
    int prc = mag_policy_need_positions(ctx, d, from, sname, task, task_name,
                                        mag_train_value_pos(cell, "from"));
    if (prc) return prc;
    int nd = c->nd;
    int nt = 0;
    const mag_value *tv = mag_config_get(cfg, "teacher", pt);
    const mag_value *tsrc = mag_train_raw(cell, "teacher");
    if (tv->kind == MAG_V_MAP) {
        if (rt_task_kind_of(task) != &rt_task_kind_mix)
            return mag_err(ctx, d, MAG_EVALUE, tsrc->pos,
                           "a teacher map {task: policy} needs a mix task, but '%s' is a "
                           "single %s task (use teacher = POLICY)",
                           task_name, rt_task_kind_name(rt_task_kind_of(task)));
        r->routed = 1;
        for (int k = 0; k < nd; k++)
            r->route[k] = -1;
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
            const rt_policy *tp;
            const char *tn;
            rc = mag_train_policy_at(ctx, cfg, pt, e->value.str, es->value.pos, &tp, &tn, d);
            if (!rc) rc = check_compat(ctx, d, "teacher", tn, tp, from, sname, es->value.pos);
            if (!rc) rc = mag_policy_need_positions(ctx, d, tp, tn, task, task_name, es->value.pos);
            if (!rc) rc = mag_train_tilt_task(ctx, d, tp, tn, task, task_name, es->value.pos);
            if (rc) return rc;
            int idx = -1;
            for (int j = 0; j < nt; j++)
                if (r->teachers[j] == tp) idx = j;
            if (idx < 0) {
                int ta = rt_tilt_is(&tp->model), t0 = nt > 0 && rt_tilt_is(&r->teachers[0]->model);
                if (nt > 0 &&
                    (ta != t0 || (ta && !rt_model_same_arch(rt_tilt_base(&tp->model),
                                                            rt_tilt_base(&r->teachers[0]->model)))))
                    return mag_err(ctx, d, MAG_EVALUE, es->value.pos,
                                   "the teachers of a map need the same architecture: '%s' is "
                                   "%s, '%s' %s",
                                   tn, ta ? "a tilt" : "a policy with weights", r->tnames[0],
                                   ta != t0 ? (t0 ? "a tilt" : "a policy with weights")
                                            : "a tilt of a base of another architecture");
                if (nt > 0 && !ta && !rt_model_same_arch(&tp->model, &r->teachers[0]->model)) {
                    char da[160], db[160];
                    mag_policy_describe(tp, da, sizeof da);
                    mag_policy_describe(r->teachers[0], db, sizeof db);
                    return mag_err(ctx, d, MAG_EVALUE, es->value.pos,
                                   "the teachers of a map need the same architecture: '%s' "
                                   "(%s) differs from '%s' (%s)",
                                   tn, da, r->tnames[0], db);
                }
                idx = nt;
                r->teachers[nt] = tp;
                r->tnames[nt++] = tn;
            }
            r->route[dom] = idx;
        }
        for (int k = 0; k < nd; k++)
            if (r->route[k] < 0)
                return mag_err(ctx, d, MAG_EVALUE, tsrc->pos,
                               "no teacher for domain '%s' of mix '%s'",
                               rt_task_domain_name(task, k), task_name);
    } else {
        mag_pos at = mag_train_value_pos(cell, "teacher");
        rc = mag_train_policy_at(ctx, cfg, pt, tv->str, at, &r->teachers[0], &r->tnames[0], d);
        if (!rc)
            rc = check_compat(ctx, d, "teacher", r->tnames[0], r->teachers[0], from, sname, at);
        if (!rc)
            rc = mag_policy_need_positions(ctx, d, r->teachers[0], r->tnames[0], task, task_name,
                                           at);
        if (!rc)
            rc = mag_train_tilt_task(ctx, d, r->teachers[0], r->tnames[0], task, task_name, at);
        if (rc) return rc;
        nt = 1;
    }
    r->nt = nt;
    return 0;
}

/* "t" or "{add: t_add, sort: t_srt}": the teachers of r. */
static void teacher_desc(const opd_cell *c, const roles *r, char *out, size_t cap)
{
    if (!r->routed) {
        snprintf(out, cap, "%s", r->tnames[0]);
        return;
    }
    size_t n = (size_t)snprintf(out, cap, "{");
    for (int k = 0; k < c->nd && n < cap; k++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s: %s", k ? ", " : "",
                              rt_task_domain_name(c->task, k), r->tnames[r->route[k]]);
    if (n < cap) snprintf(out + n, cap - n, "}");
}

/* References first: everything resolves before anything is built (point 0's policies;
 * each point pairs its own in opd_point). */
static int opd_resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    const char *base = t->base;
    opd_cell *c = t->state;
    const char *sname = c->sname = mag_config_get(cfg, "from", 0)->str;
    const rt_policy *from;
    const char *from0;
    int rc = mag_train_policy_at(ctx, cfg, t->pt0, sname, mag_train_value_pos(cell, "from"), &from,
                                 &from0, d);
    if (rc) return rc;
    const char *task_name = NULL;
    const rt_task *task = NULL;
    if (mag_train_given(cfg, "task")) {
        task_name = mag_config_get(cfg, "task", 0)->str;
        task = mag_session_get(ctx->session, MAG_TASK, task_name);
        if (!task)
            return mag_err_unknown(d, ctx, MAG_TASK, task_name, mag_train_value_pos(cell, "task"));
    } else {
        const mag_entry *fe = mag_session_entry(ctx->session, MAG_POLICY, from0);
        if (fe && fe->task) {
            task_name = fe->task;
            task = mag_session_get(ctx->session, MAG_TASK, task_name);
        }
        if (!task)
            return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                           "%%%%opd %s needs task = TASK (policy '%s' has no task)", base, from0);
    }
    c->task = task;
    c->nd = rt_task_n_domains(task);
    t->task_name = task_name;
    return resolve_roles(t, t->pt0, &c->r0, d); /* the worker's point in a worker */
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
    const rt_policy *from = c->r0.from;
    const char *sname = c->r0.sname;
    size_t np = cfg->npoints;
    /* per point: reference, estimator/gamma compatibility */
    long only = mag_session_worker(ctx->session, NULL);
    for (size_t pt = 0; pt < np; pt++) {
        /* a worker's session holds its point's objects only (the kernel checked all) */
        if (only >= 0 && pt != t->pt0) continue;
        const mag_value *rv = mag_config_get(cfg, "reference", pt);
        if (rv) {
            const rt_policy *r;
            const char *rn;
            mag_pos at = rv->pos.line ? rv->pos : mag_train_value_pos(cell, "reference");
            int rc = mag_train_policy_at(ctx, cfg, pt, rv->str, at, &r, &rn, d);
            if (!rc) rc = check_compat(ctx, d, "reference", rn, r, from, sname, at);
            if (!rc) rc = mag_train_tilt_task(ctx, d, r, rn, c->task, t->task_name, at);
            if (!rc) rc = mag_policy_need_positions(ctx, d, r, rn, c->task, t->task_name, at);
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
    if (pt == t->pt0) { /* the runs' columns, once (pt0: the worker's point in a worker) */
        oc->nc = rt_opd_run_columns(oc->task, oc->cols, RT_OPD_RUN_MAX_COLUMNS);
        for (int c = 0; c < oc->nc; c++)
            oc->colp[c] = oc->cols[c];
    }
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "", t->base,
                                mag_config_get(cfg, "seed", pt));
    p->base.job.rng = rt_rng_split(&r, 1);
    int rc = resolve_roles(t, pt, &p->r, d); /* this point's student and teachers */
    if (rc) return rc;
    teacher_desc(oc, &p->r, p->tdesc, sizeof p->tdesc);
    const mag_value *rv = mag_config_get(cfg, "reference", pt);
    p->ref = p->r.from;
    p->ref_name = p->r.sname;
    if (rv &&
        mag_train_policy_at(t->ctx, cfg, pt, rv->str,
                            rv->pos.line ? rv->pos : mag_train_value_pos(t->cell, "reference"),
                            &p->ref, &p->ref_name, d))
        return d->code;
    rt_diag pd;
    rc = mag_policy_copy(&p->base.pol, p->r.from, &pd);
    if (!rc) rt_model_zero_grad(&p->base.pol->model);
    if (!rc) rc = rt_model_assign(&p->base.pol->model, &p->r.from->model); /* fresh Adam */
    if (!rc && rt_run_create(p->base.name, oc->colp, oc->nc, &p->base.run)) rc = RT_ENOMEM;
    if (rc) return mag_err_nomem(d);
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
    p->prob.teachers = p->r.teachers;
    p->prob.nteachers = p->r.nt;
    p->prob.route = p->r.routed ? p->r.route : NULL;
    p->prob.ref = p->ref;
    p->base.steps = p->cfg.steps;
    return 0;
}

/* The teacher's own held-out accuracy (printed; the accuracy panel's yardstick), the
 * chart's title and summary metrics. */
static void opd_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                      mag_bridge_opts *o, char *title, size_t cap)
{
    opd_cell *c = t->state;
    const rt_task *task = c->task;
    /* every distinct set of teachers (paired sweeps: one per seed), its held-out accuracy
       printed; the yardstick line is their mean */
    double sum = 0.0;
    int ndist = 0;
    for (size_t i = 0; i < np; i++) {
        const point *p = (const point *)pts[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            const roles *q = &((const point *)pts[j])->r;
            seen = q->nt == p->r.nt && q->routed == p->r.routed &&
                   !memcmp(q->teachers, p->r.teachers, sizeof q->teachers) &&
                   (!q->routed || !memcmp(q->route, p->r.route, sizeof q->route));
        }
        if (seen) continue;
        double acc = teacher_accuracy(
            task, p->r.teachers, p->r.routed ? p->r.route : NULL, p->cfg.eval_prompts,
            mag_eval_stream(mag_session_seed(t->ctx->session), t->task_name).rng);
        krn_out_printf(t->ctx->out, KRN_STDOUT, "teacher %s: held-out greedy accuracy %.4f on %s\n",
                       p->tdesc, acc, t->task_name);
        sum += acc, ndist++;
    }
    double t_acc = ndist ? sum / ndist : NAN;
    int evals = 1;
    for (size_t i = 0; i < np; i++)
        evals = evals && ((const point *)pts[i])->cfg.eval_every > 0;
    const char *const *panels = evals ? panels_eval : panels_train;
    char *tdesc = c->tdesc;
    size_t tcap = sizeof c->tdesc;
    if (ndist <= 1) { /* the title names the teachers as resolved, else as written */
        snprintf(tdesc, tcap, "%s", ((const point *)pts[0])->tdesc);
    } else {
        const mag_value *tv = mag_config_get(t->cfg, "teacher", 0);
        size_t n = 0;
        if (tv->kind != MAG_V_MAP) n = (size_t)snprintf(tdesc, tcap, "%s", tv->str);
        for (size_t i = 0; tv->kind == MAG_V_MAP && i < tv->n && n < tcap; i++)
            n += (size_t)snprintf(tdesc + n, tcap - n, "%s%s: %s%s", i ? ", " : "{",
                                  tv->entries[i].key, tv->entries[i].value.str,
                                  i + 1 == tv->n ? "}" : "");
    }
    int ns = 0;
    for (int k = 3; k < c->nc; k++)
        if (strcmp(c->cols[k], "adv_mean") && strcmp(c->cols[k], "grad_norm") &&
            strcmp(c->cols[k], "loss") && strcmp(c->cols[k], "length"))
            c->summ[ns++] = c->cols[k];
    if (ndist > 1)
        snprintf(c->tlabel, sizeof c->tlabel, "teachers (held-out, mean of %d) %.3f", ndist, t_acc);
    else
        snprintf(c->tlabel, sizeof c->tlabel, "teacher (held-out) %.3f", t_acc);
    c->tref = (mag_bridge_ref){.panel = panels[0], .y = t_acc, .label = c->tlabel};
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
    (void)t;
    const point *p = (const point *)bp;
    const rt_opd_config *c = &p->cfg.step;
    snprintf(sm, cap,
             "opd from %.200s, teacher %.300s, reference %.200s, lambda %g, %s, gamma %g, "
             "tau_T %g, %ld "
             "steps%s",
             p->r.sname, p->tdesc, p->ref_name, (double)c->lambda,
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
     .help = "the teacher theta_T; a sweep's NAME makes NAME[...] per point, `from` paired "
             "by key"},
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

/* name = to + alpha (to - from'): from' is bn, or (list: the point list of `to`, "k=v]")
 * the point of sweep bn paired with it. */
static int extrapolate_one(mag_ctx *ctx, const char *name, const char *bn, const char *list,
                           const char *tn, double alpha, mag_pos fpos, mag_pos tpos,
                           const mag_config *cfg, mag_diag *d)
{
    const rt_policy *b, *t = mag_session_get(ctx->session, MAG_POLICY, tn);
    int prc = list ? mag_train_pair_point(ctx, list, bn, fpos, &b, &bn, d)
                   : mag_train_policy_at(ctx, cfg, 0, bn, fpos, &b, &bn, d);
    if (prc) return prc;
    rt_policy *p = NULL;
    rt_diag od;
    int rc = rt_opd_extrapolate(&p, b, t, (float)alpha, &od);
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc) return mag_err(ctx, d, MAG_EVALUE, tpos, "%s ('%s' and '%s')", od.msg, tn, bn);
    const mag_entry *te = mag_session_entry(ctx->session, MAG_POLICY, tn);
    char sm[600];
    snprintf(sm, sizeof sm, "ExPO: %s + %g (%s - %s)", tn, alpha, tn, bn);
    int r = mag_session_put(ctx->session, MAG_POLICY, name, p, mag_train_free_policy, sm,
                            te ? te->task : NULL);
    if (r < 0) return mag_err_nomem(d);
    if (r == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, sm);
    mag_lineage_note(ctx, "extrapolate", 0, name, cfg, 0);
    return 0;
}

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
    double alpha = mag_value_number(mag_config_get(cfg, "alpha", 0), 0.5);
    if (mag_session_get(ctx->session, MAG_POLICY, tn))
        return extrapolate_one(ctx, name, bn, NULL, tn, alpha, fpos, tpos, cfg, d);
    /* to = a sweep's NAME: one policy NAME[...] per point, from paired with it by key */
    size_t tl = strlen(tn), n = mag_session_count(ctx->session, MAG_POLICY), made = 0;
    char names[MAG_TRAIN_MAX_POINTS][MAG_TRAIN_NAME]; /* copies: the session grows below */
    for (size_t i = 0; i < n && made < MAG_TRAIN_MAX_POINTS; i++) {
        const mag_entry *e = mag_session_at(ctx->session, MAG_POLICY, i);
        if (!strncmp(e->name, tn, tl) && e->name[tl] == '[')
            snprintf(names[made++], sizeof names[0], "%s", e->name);
    }
    if (!made) return mag_err_unknown(d, ctx, MAG_POLICY, tn, tpos);
    for (size_t i = 0; i < made; i++) {
        char out[MAG_TRAIN_NAME];
        snprintf(out, sizeof out, "%s%s", name, names[i] + tl);
        int rc =
            extrapolate_one(ctx, out, bn, names[i] + tl + 1, names[i], alpha, fpos, tpos, cfg, d);
        if (rc) return rc;
    }
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
        "temperature tau: the student samples from pi_S = softmax(z_S / tau), and its\n"
        "log-probs, the reference's, both estimators' losses and gradients and the\n"
        "metrics are of pi_S and pi_ref at tau (on-policy, as %%rl).\n"
        "target_top_k = k / target_top_p = p (estimator = full; 0 / 1 = off): restrict pi~ at\n"
        "each state to the teacher's k likeliest tokens / its top-p nucleus, renormalized;\n"
        "the loss is then KL(pi_S || pi~) with both conditioned on that set (the student's\n"
        "logits outside it get no gradient): a guard against large lambda blowing up\n"
        "tail tokens where pi_ref ~ 0.  teacher = a %tilt gives the exact ExOPD target.\n"
        "teacher = {add: t_add, sort: t_sort} routes each prompt of a mix to its domain's\n"
        "teacher.  Live chart: eval_accuracy (held-out greedy, every eval_every steps, on\n"
        "the prompts the teacher's line is measured on; with eval_every = 0 the training\n"
        "samples' accuracy), kl_teacher, kl_ref (exact).  A list sweeps; all\n"
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
