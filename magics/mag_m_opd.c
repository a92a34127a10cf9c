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
 * eval_every 20, eval_prompts 512, seed, task (default: the student's task).
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
 * different architectures, estimator = full with gamma > 0.
 * Leaves out: resuming a run, per-domain teachers of different architectures. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_opd_run.h"
#include "rt_policy.h"
#include "rt_task.h"

static const char *const estimators[] = {"sampled", "full", NULL};

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
    {.name = "lambda",
     .type = MAG_T_NUMBER,
     .flags = SW,
     .def = "1",
     .help = "reward scale: 1 = OPD, > 1 = ExOPD, < 1 toward the reference"},
    {.name = "estimator",
     .type = MAG_T_ENUM,
     .values = estimators,
     .flags = SW,
     .def = "sampled",
     .help = "sampled (as released) or full (exact per-state KL gradient)"},
    {.name = "gamma",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1,
     .def = "0",
     .help = "discount of the per-token reward (0 as released, 1 = reward-to-go)"},
    {.name = "teacher_temperature",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1",
     .help = "tau: log pi_T becomes log_softmax(z_T / tau) (1/lambda = sharpening control)"},
    {.name = "steps",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1000000,
     .def = "200",
     .help = "training steps"},
    {.name = "batch",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 8192,
     .def = "64",
     .help = "prompts per step (one sample each)"},
    {.name = "lr",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1e-3",
     .help = "Adam learning rate"},
    {.name = "temperature",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1",
     .help = "the student's sampling temperature"},
    {.name = "eval_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 0,
     .def = "20",
     .help = "held-out accuracy every N steps (and at the start and the end)"},
    {.name = "eval_prompts",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 65536,
     .def = "512",
     .help = "held-out prompts of eval_accuracy"},
    {.name = "seed",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN,
     .min = 0,
     .help = "extra seed (a list gives mean +- spread bands)"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task of the prompts (default: the student's)"},
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
    char name[256];
    char label[256];
    rt_policy *pol;
    const rt_policy *ref;
    rt_run *run;
    rt_opd_run_config cfg;
    rt_opd_problem prob;
    rt_rng rng;
    rt_diag diag;
    int rc;
} point;

static int opd_job(void *arg, const rt_job_ctx *ctx)
{
    point *p = arg;                     /* the cancel flag: the bridge installed it on the run */
    p->cfg.step.threads = ctx->threads; /* the executor's threads rule */
    p->rc = rt_opd_run(p->pol, &p->prob, &p->cfg, p->run, &p->rng, &p->diag);
    return p->rc;
}

static void free_points(point *pts, size_t n)
{
    for (size_t i = 0; pts && i < n; i++) {
        rt_policy_free(pts[i].pol);
        rt_run_free(pts[i].run);
    }
    rt_free(pts);
}

/* A teacher or reference must share the student's vocabulary (each model reads the
 * sampled sequences its own way: architectures and settings may differ). */
static int check_compat(mag_ctx *ctx, mag_diag *d, const char *role, const char *name,
                        const rt_policy *q, const rt_policy *student, const char *sname, mag_pos at)
{
    if (q->model.vocab != student->model.vocab)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, at.line, at.col, NULL,
                            "%s '%s' has a vocabulary of %d tokens but the student '%s' has %d "
                            "(they must share the vocabulary)",
                            role, name, q->model.vocab, sname, student->model.vocab);
    return 0;
}

/* Held-out greedy accuracy of the routed teacher(s) on the task (per domain: its own
 * teacher), or NaN. */
static double teacher_accuracy(const rt_task *task, const rt_policy *const *teachers,
                               const int *route, int eval_prompts, uint64_t seed)
{
    int nd = rt_task_n_domains(task);
    double sum = 0;
    long n = 0;
    rt_rng r = rt_rng_from_name(seed, "%%opd teacher accuracy");
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

static int run_opd(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                   const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)line;
    const char *src = ctx->src;
    size_t len = ctx->len;
    const char *base = NULL;
    int nrc = mag_train_name(ctx, cell, "opd", &base, d);
    if (nrc) return nrc;
    /* ---- references: everything resolves before anything is built ---- */
    const char *sname = mag_config_get(cfg, "from", 0)->str;
    const rt_policy *from = mag_session_get(ctx->session, MAG_POLICY, sname);
    if (!from) return mag_err_unknown(d, ctx, MAG_POLICY, sname, mag_train_value_pos(cell, "from"));
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
            return mag_diag_set(d, src, len, MAG_EVALUE, cell->name_pos.line, cell->name_pos.col,
                                NULL, "%%%%opd %s needs task = TASK (policy '%s' has no task)",
                                base, sname);
    }
    if (rt_task_vocab_size(task) != from->cfg.vocab)
        return mag_diag_set(d, src, len, MAG_EVALUE, mag_train_value_pos(cell, "from").line,
                            mag_train_value_pos(cell, "from").col, NULL,
                            "student '%s' has a vocabulary of %d tokens but task '%s' has %d",
                            sname, from->cfg.vocab, task_name, rt_task_vocab_size(task));
    int nd = rt_task_n_domains(task);
    const rt_policy *teachers[RT_OPD_RUN_MAX_TEACHERS];
    const char *tnames[RT_OPD_RUN_MAX_TEACHERS];
    int route[RT_TASK_MAX_DOMAINS];
    int nt = 0, routed = 0;
    const mag_value *tv = mag_config_get(cfg, "teacher", 0);
    const mag_value *tsrc = mag_train_raw(cell, "teacher");
    if (tv->kind == MAG_V_MAP) {
        if (rt_task_kind_of(task) != &rt_task_kind_mix)
            return mag_diag_set(d, src, len, MAG_EVALUE, tsrc->pos.line, tsrc->pos.col, NULL,
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
                    return mag_diag_set(d, src, len, MAG_ENAME, es->key_pos.line, es->key_pos.col,
                                        NULL,
                                        "task '%s' is not a domain of mix '%s' (did you mean "
                                        "'%s'?); its domains are %s",
                                        e->key, task_name, sg.best, doms);
                return mag_diag_set(d, src, len, MAG_ENAME, es->key_pos.line, es->key_pos.col, NULL,
                                    "task '%s' is not a domain of mix '%s'; its domains are %s",
                                    e->key, task_name, doms);
            }
            const rt_policy *t = mag_session_get(ctx->session, MAG_POLICY, e->value.str);
            if (!t) return mag_err_unknown(d, ctx, MAG_POLICY, e->value.str, es->value.pos);
            int rc = check_compat(ctx, d, "teacher", e->value.str, t, from, sname, es->value.pos);
            if (rc) return rc;
            int idx = -1;
            for (int j = 0; j < nt; j++)
                if (teachers[j] == t) idx = j;
            if (idx < 0) {
                if (nt > 0 && !rt_policy_same_shape(&t->cfg, &teachers[0]->cfg))
                    return mag_diag_set(d, src, len, MAG_EVALUE, es->value.pos.line,
                                        es->value.pos.col, NULL,
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
                return mag_diag_set(d, src, len, MAG_EVALUE, tsrc->pos.line, tsrc->pos.col, NULL,
                                    "no teacher for domain '%s' of mix '%s'",
                                    rt_task_domain_name(task, k), task_name);
    } else {
        const char *tn = tv->str;
        const rt_policy *t = mag_session_get(ctx->session, MAG_POLICY, tn);
        mag_pos at = mag_train_value_pos(cell, "teacher");
        if (!t) return mag_err_unknown(d, ctx, MAG_POLICY, tn, at);
        int rc = check_compat(ctx, d, "teacher", tn, t, from, sname, at);
        if (rc) return rc;
        teachers[0] = t;
        tnames[0] = tn;
        nt = 1;
    }
    size_t np = cfg->npoints;
    nrc = mag_train_check_points(ctx, cell, np, d);
    if (nrc) return nrc;
    /* per point: reference, estimator/gamma compatibility */
    for (size_t pt = 0; pt < np; pt++) {
        const mag_value *rv = mag_config_get(cfg, "reference", pt);
        if (rv) {
            const rt_policy *r = mag_session_get(ctx->session, MAG_POLICY, rv->str);
            if (!r)
                return mag_err_unknown(d, ctx, MAG_POLICY, rv->str,
                                       rv->pos.line ? rv->pos
                                                    : mag_train_value_pos(cell, "reference"));
            int rc = check_compat(ctx, d, "reference", rv->str, r, from, sname,
                                  rv->pos.line ? rv->pos : mag_train_value_pos(cell, "reference"));
            if (rc) return rc;
        }
        if (!strcmp(mag_config_get(cfg, "estimator", pt)->str, "full") &&
            mag_value_number(mag_config_get(cfg, "gamma", pt), 0) != 0)
            return mag_diag_set(d, src, len, MAG_EVALUE, mag_train_value_pos(cell, "gamma").line,
                                mag_train_value_pos(cell, "gamma").col, NULL,
                                "estimator = full is the per-state exact gradient and needs "
                                "gamma = 0 (got gamma = %g)",
                                mag_value_number(mag_config_get(cfg, "gamma", pt), 0));
        double lam = mag_value_number(mag_config_get(cfg, "lambda", pt), 1);
        if (!isfinite(lam))
            return mag_diag_set(d, src, len, MAG_EVALUE, mag_train_value_pos(cell, "lambda").line,
                                mag_train_value_pos(cell, "lambda").col, NULL,
                                "'lambda' must be finite");
    }
    /* ---- build the points ---- */
    point *pts = rt_calloc(np, sizeof *pts);
    if (!pts) return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    uint64_t seed = mag_session_seed(ctx->session);
    int threads = mag_session_threads(ctx->session);
    char cols[RT_OPD_RUN_MAX_COLUMNS][48];
    const char *colp[RT_OPD_RUN_MAX_COLUMNS];
    int nc = rt_opd_run_columns(task, cols, RT_OPD_RUN_MAX_COLUMNS);
    for (int c = 0; c < nc; c++)
        colp[c] = cols[c];
    long max_steps = 0;
    for (size_t pt = 0; pt < np; pt++) {
        point *p = &pts[pt];
        mag_train_point_names(cfg, base, pt, p->name, p->label);
        rt_rng r = mag_train_stream(seed, "", base, mag_config_get(cfg, "seed", pt));
        p->rng = rt_rng_split(&r, 1);
        rt_diag pd;
        int rc = rt_policy_create(&p->pol, &from->cfg, &pd);
        if (!rc) rc = rt_policy_assign(p->pol, from);
        if (!rc && rt_run_create(p->name, colp, nc, &p->run)) rc = RT_ENOMEM;
        if (rc) {
            free_points(pts, np);
            return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
        }
        const mag_value *rv = mag_config_get(cfg, "reference", pt);
        p->ref = rv ? mag_session_get(ctx->session, MAG_POLICY, rv->str) : from;
        rt_opd_run_config_init(&p->cfg);
        rt_opd_config *c = &p->cfg.step;
        c->lambda = (float)mag_value_number(mag_config_get(cfg, "lambda", pt), 1);
        c->estimator = strcmp(mag_config_get(cfg, "estimator", pt)->str, "full") ? RT_OPD_SAMPLED
                                                                                 : RT_OPD_FULL;
        c->gamma = (float)mag_value_number(mag_config_get(cfg, "gamma", pt), 0);
        c->teacher_temperature =
            (float)mag_value_number(mag_config_get(cfg, "teacher_temperature", pt), 1);
        c->temperature = (float)mag_value_number(mag_config_get(cfg, "temperature", pt), 1);
        c->batch = (int)mag_value_number(mag_config_get(cfg, "batch", pt), 64);
        c->adam.lr = (float)mag_value_number(mag_config_get(cfg, "lr", pt), 1e-3);
        c->threads = 1; /* inside the run: set by the executor when it runs (opd_job) */
        p->cfg.steps = (long)mag_value_number(mag_config_get(cfg, "steps", pt), 200);
        p->cfg.eval_every = (long)mag_value_number(mag_config_get(cfg, "eval_every", pt), 20);
        p->cfg.eval_prompts = (int)mag_value_number(mag_config_get(cfg, "eval_prompts", pt), 512);
        p->prob.task = task;
        p->prob.teachers = teachers;
        p->prob.nteachers = nt;
        p->prob.route = routed ? route : NULL;
        p->prob.ref = p->ref;
        if (p->cfg.steps > max_steps) max_steps = p->cfg.steps;
    }
    /* the teacher's own held-out accuracy (the accuracy panel's yardstick) */
    double t_acc =
        teacher_accuracy(task, teachers, routed ? route : NULL, pts[0].cfg.eval_prompts, seed);
    char tdesc[300];
    if (routed) {
        size_t o = (size_t)snprintf(tdesc, sizeof tdesc, "{");
        for (int k = 0; k < nd && o < sizeof tdesc; k++)
            o += (size_t)snprintf(tdesc + o, sizeof tdesc - o, "%s%s: %s", k ? ", " : "",
                                  rt_task_domain_name(task, k), tnames[route[k]]);
        if (o < sizeof tdesc) snprintf(tdesc + o, sizeof tdesc - o, "}");
    } else {
        snprintf(tdesc, sizeof tdesc, "%s", tnames[0]);
    }
    krn_out_printf(ctx->out, KRN_STDOUT, "teacher %s: held-out greedy accuracy %.4f on %s\n", tdesc,
                   t_acc, task_name);
    /* ---- train ---- */
    mag_bridge_run *br = rt_calloc(np, sizeof *br);
    const char **summ = rt_calloc((size_t)nc, sizeof *summ);
    int ns = 0;
    for (int c = 3; summ && c < nc; c++)
        if (strcmp(cols[c], "adv_mean") && strcmp(cols[c], "grad_norm") &&
            strcmp(cols[c], "loss") && strcmp(cols[c], "length"))
            summ[ns++] = cols[c];
    for (size_t pt = 0; br && pt < np; pt++) {
        br[pt].run = pts[pt].run;
        br[pt].label = pts[pt].label;
        br[pt].fn = opd_job;
        br[pt].arg = &pts[pt];
    }
    char tlabel[64];
    snprintf(tlabel, sizeof tlabel, "teacher (held-out) %.3f", t_acc);
    mag_bridge_ref tref = {.panel = "accuracy", .y = t_acc, .label = tlabel};
    char title[400];
    snprintf(title, sizeof title, "%%%%opd %s: %s -> %s on %s", base, tdesc, sname, task_name);
    mag_bridge_opts o = {
        .title = title,
        .panels = panels,
        .npanels = 3,
        .summary = summ,
        .nsummary = ns,
        .threads = threads,
        .execution_count = ctx->execution_count,
        .refs = &tref,
        .nrefs = 1,
    };
    mag_bridge_stats st;
    int brc = br && summ ? mag_bridge_train(ctx->out, &o, br, (int)np, &st) : MAG_BRIDGE_ENOMEM;
    rt_free(br);
    rt_free(summ);
    if (brc) {
        free_points(pts, np);
        return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    /* ---- store ---- */
    mag_train_store ts;
    mag_train_store_init(&ts);
    for (size_t pt = 0; pt < np; pt++) {
        point *p = &pts[pt];
        long step;
        char msg[256];
        rt_run_status stt = mag_train_status(p->run, &step, msg, sizeof msg);
        if (stt == RT_RUN_FAILED && !msg[0] && p->diag.msg[0])
            snprintf(msg, sizeof msg, "%s", p->diag.msg);
        char sm[1200];
        const rt_opd_config *c = &p->cfg.step;
        snprintf(sm, sizeof sm,
                 "opd from %.200s, teacher %.300s, reference %.200s, lambda %g, %s, gamma %g, "
                 "tau_T %g, %ld "
                 "steps%s",
                 sname, tdesc,
                 mag_config_get(cfg, "reference", pt) ? mag_config_get(cfg, "reference", pt)->str
                                                      : sname,
                 (double)c->lambda, c->estimator == RT_OPD_FULL ? "full" : "sampled",
                 (double)c->gamma, (double)c->teacher_temperature, step, mag_train_suffix(stt));
        mag_train_note(&ts, p->name, stt, step, msg);
        mag_train_put_run(ctx, p->name, p->run, sm, task_name);
        p->run = NULL;
        if (stt != RT_RUN_FAILED) {
            mag_train_put_policy(ctx, p->name, p->pol, sm, task_name, 0);
            p->pol = NULL;
        }
    }
    free_points(pts, np);
    return mag_train_end(ctx, cell, &ts, st.interrupted, max_steps, base, np, d);
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
    const char *src = ctx->src;
    size_t len = ctx->len;
    const char *name = mag_arg_word(line, 0);
    if (!name)
        return mag_diag_set(d, src, len, MAG_EVALUE, line->name_pos.line, line->name_pos.col, NULL,
                            "%%extrapolate needs a NAME: %%extrapolate NAME from=BASE to=TEACHER "
                            "alpha=A");
    mag_pos fpos = line->name_pos, tpos = line->name_pos;
    for (size_t i = 0; i < line->nargs; i++) {
        if (!line->args[i].key) {
            if (i > 0)
                return mag_diag_set(d, src, len, MAG_EVALUE, line->args[i].value.pos.line,
                                    line->args[i].value.pos.col, NULL,
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
    if (rc == RT_ENOMEM)
        return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (rc)
        return mag_diag_set(d, src, len, MAG_EVALUE, tpos.line, tpos.col, NULL,
                            "%s ('%s' and '%s')", od.msg, tn, bn);
    const mag_entry *te = mag_session_entry(ctx->session, MAG_POLICY, tn);
    char sm[300];
    snprintf(sm, sizeof sm, "ExPO: %s + %g (%s - %s)", tn, alpha, tn, bn);
    int r = mag_session_put(ctx->session, MAG_POLICY, name, p, mag_train_free_policy, sm,
                            te ? te->task : NULL);
    if (r < 0) return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (r == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, sm);
    return 0;
}

static const mag_magic opd_magic = {
    .name = "opd",
    .cell = 1,
    .schema = &opd_schema,
    .usage = "%%opd NAME  (body: key = value lines)",
    .help =
        "Generalized on-policy distillation (G-OPD; methods.md §1) of the student `from`\n"
        "toward `teacher` on the student's own samples.  Per-token reward\n"
        "  r_t = lambda (log pi_T - log pi_ref)(y_t|s_t), KL weight 1 to `reference`;\n"
        "as released (estimator = sampled, gamma = 0): A_t = lambda (lp_T - lp_ref) -\n"
        "(lp_S - lp_ref), loss = -mean_t A_t lp_S(y_t), one update per batch.\n"
        "lambda = 1 is OPD (the reference cancels), lambda > 1 ExOPD.  estimator = full:\n"
        "exact gradient of KL(pi_S || pi~), pi~ ∝ pi_ref^(1-lambda) pi_T^lambda, at every\n"
        "visited state.  teacher_temperature tau: log pi_T -> log_softmax(z_T / tau).\n"
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
