/* mag_m_rm: %%rm NAME — a Bradley–Terry reward model (runtime/pref/rt_rm.h) trained on a
 * preference set (data = PREFS, %%preferences), stored in the session as kind "rm"
 * (MAG_RM) with its own copy of the data's task, so that rewards can read rm(NAME),
 * rm_mean(NAME) and rm_min(NAME) (the "rm" feature provider; mag_rm_resolve below is
 * the session's resolver of those names, for %%rl and %eval best_of).
 *
 * Keys: data (required), from (a policy: every member's trunk starts as its copy, as
 * RLHF practice does; else a fresh mlp with the architecture keys, %%policy's defaults),
 * steps, lr, batch, ensemble (K members, 1..16), normalize, seed, log_every, eval_every.
 * A list value sweeps (one model and run per point, NAME[key=value,...]).  Streams: R =
 * rt_rng_from_name(session seed, "rm:" NAME) split by seed; the members' init from
 * split(R, 0), the run from split(R, 1) (rt_rm.h splits both by member).
 * Chart: loss, acc (train, all pairs), heldout_acc (non-tie pairs, rt_rm.h) with the
 * labeler's held-out agreement (its ceiling, also over non-tie pairs) as a line, margin;
 * summary: held-out accuracy against the ceiling.  Only a FINISHED run stores its model
 * (an interrupted or failed one stores its run, never a partial model).
 * Errors before training (cell:LINE:COL): data not a preference set, unknown policy, a
 * from policy of another vocabulary or of a task whose configuration differs from the
 * data's, architecture keys with from, ensemble out of range.
 * Leaves out: saving reward models (%save), ensembles of differently shaped members. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_prefs.h"
#include "mag_rm.h"
#include "mag_train.h"
#include "mag_train_cell.h"
#include "rt_alloc.h"
#include "rt_fuzz.h"
#include "rt_policy.h"
#include "rt_policy_keys.h"
#include "rt_rm.h"
#include "rt_task.h"

static const mag_key_spec rm_keys[] = {
    {.name = "data",
     .type = MAG_T_NAME,
     .flags = MAG_K_REQUIRED,
     .object = "preferences",
     .help = "the preference set (%%preferences) the model learns from; a sweep p[seed=s] pairs by "
             "key"},
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "initialise every member's trunk from this policy (else a fresh mlp)"},
    RT_POLICY_KEY_CONTEXT,
    RT_POLICY_KEY_EMBED,
    RT_POLICY_KEY_HIDDEN,
    RT_POLICY_KEY_LAYERS,
    RT_POLICY_KEY_ACT,
    {.name = "steps",
     .type = MAG_T_INT,
     .flags = MAG_K_SWEEP | MAG_K_MIN,
     .min = 1,
     .def = "500",
     .help = "training steps (each: one minibatch per member)"},
    {.name = "lr",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_SWEEP | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "0.001",
     .help = "Adam learning rate"},
    {.name = "batch",
     .type = MAG_T_INT,
     .flags = MAG_K_SWEEP | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 4096,
     .def = "32",
     .help = "preference pairs per member per step"},
    {.name = "ensemble",
     .type = MAG_T_INT,
     .flags = MAG_K_SWEEP | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = RT_RM_MAX_ENSEMBLE,
     .def = "1",
     .help = "members K (independent fits: rm_mean / rm_min read them)"},
    {.name = "normalize",
     .type = MAG_T_BOOL,
     .def = "true",
     .help = "after training, scale each member to mean 0, sd 1 on the train answers"},
    MAG_TRAIN_KEY_SEED,
    {.name = "log_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 1,
     .def = "10",
     .help = "a chart row every N steps"},
    {.name = "eval_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 0,
     .def = "50",
     .help = "held-out evaluation every N steps (0: only at the end)"},
};

static const mag_schema rm_schema = {
    .magic = "rm",
    .keys = rm_keys,
    .nkeys = sizeof rm_keys / sizeof rm_keys[0],
    .help = "trains a Bradley–Terry reward model on a preference set",
};

static const char *const panels[] = {"loss", "acc", "heldout_acc", "margin"};
static const char *const summary_metrics[] = {"loss",         "acc",    "heldout_acc",
                                              "heldout_loss", "margin", "ceiling"};

/* What the session stores. */
typedef struct mag_rm_obj {
    rt_rm *rm;
    rt_task *task; /* own copy of the data's task */
    char task_name[MAG_TRAIN_NAME];
} mag_rm_obj;

static void obj_free(void *p)
{
    mag_rm_obj *o = p;
    if (!o) return;
    rt_rm_free(o->rm);
    rt_task_free(o->task);
    rt_free(o);
}

typedef struct point {
    mag_train_point base;
    rt_rm *rm;
    const rt_pref_set *set; /* the point's data (paired by key) */
    const char *data_name;
    double ceiling; /* its labeler's held-out agreement */
    rt_rm_config cfg;
    char from_name[MAG_TRAIN_NAME];
    rt_diag diag;
    int rc;
} point;

typedef struct rm_cell {
    const rt_pref_set *set;
    const rt_task *task; /* the set's own copy */
    const char *data_name, *from_name, *from0;
    const rt_policy *from;
    double ceiling;
    mag_bridge_ref ref[1];
} rm_cell;

static int rm_job(void *arg, const rt_job_ctx *ctx)
{
    point *p = arg;
    p->cfg.threads = ctx->threads;
    p->rc = rt_rm_train(p->rm, p->set, &p->cfg, p->base.run, &p->base.job.rng, &p->diag);
    return p->rc;
}

static int task_differs(const rt_task *a_task, const rt_task *b_task)
{
    const rt_task_config *a = rt_task_config_of(a_task), *b = rt_task_config_of(b_task);
    int differs = b->kind != a->kind;
    for (int i = 0; !differs && i < rt_task_kind_n_keys(a->kind); i++)
        differs =
            strcmp(rt_task_kind_key(a->kind, i)->name, "noise") && a->values[i] != b->values[i];
    return differs;
}

static int rm_resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    rm_cell *c = t->state;
    c->data_name = mag_config_get(cfg, "data", 0)->str;
    mag_pos dat = mag_train_value_pos(cell, "data");
    const char *dname = NULL;
    int drc = mag_prefs_at(ctx, cell, cfg, 0, "data", &c->set, &c->task, NULL, &dname, d);
    if (drc) return drc;
    const mag_entry *pe = mag_session_entry(ctx->session, MAG_PREFS, dname);
    t->task_name = pe && pe->task ? pe->task : "?";
    /* every point's data (a %%preferences sweep pairs by key) on the first point's task */
    for (size_t pt = 1; pt < cfg->npoints; pt++) {
        const char *pn = NULL;
        drc = mag_prefs_at(ctx, cell, cfg, pt, "data", NULL, NULL, NULL, &pn, d);
        if (drc) return drc;
        const mag_entry *e = mag_session_entry(ctx->session, MAG_PREFS, pn);
        if (strcmp(e->task, t->task_name))
            return mag_err(ctx, d, MAG_EVALUE, dat,
                           "preferences '%s' are on task '%s', those of this cell's first point "
                           "on '%s'",
                           pn, e->task, t->task_name);
    }
    if (c->set->n_train < 1)
        return mag_err(ctx, d, MAG_EVALUE, dat, "preference set '%s' has no train pairs", dname);
    if (mag_train_given(cfg, "from")) {
        c->from_name = mag_config_get(cfg, "from", 0)->str;
        mag_pos fp = mag_train_value_pos(cell, "from");
        int rc = mag_train_policy_at(ctx, cfg, 0, c->from_name, fp, &c->from, &c->from0, d);
        if (rc) return rc;
        rc = mag_train_need_weights(ctx, d, c->from, c->from0, "from", fp);
        if (rc) return rc;
        static const char *const arch_keys[] = {"context", "embed", "hidden", "layers", "act"};
        for (size_t i = 0; i < 5; i++)
            if (mag_train_given(cfg, arch_keys[i]))
                return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, arch_keys[i]),
                               "'%s' cannot be set with 'from' (the trunk is a copy of '%s')",
                               arch_keys[i], c->from_name);
        if (c->from->model.vocab != rt_task_vocab_size(c->task))
            return mag_err(ctx, d, MAG_EVALUE, fp,
                           "policy '%s' has a vocabulary of %d tokens, the data's task '%s' %d",
                           c->from_name, c->from->model.vocab, t->task_name,
                           rt_task_vocab_size(c->task));
        int prc =
            mag_policy_need_positions(ctx, d, c->from, c->from_name, c->task, t->task_name, fp);
        if (prc) return prc;
        const mag_entry *fe = mag_session_entry(ctx->session, MAG_POLICY, c->from0);
        const rt_task *ft =
            fe && fe->task ? mag_session_get(ctx->session, MAG_TASK, fe->task) : NULL;
        if (ft && task_differs(ft, c->task))
            return mag_err(ctx, d, MAG_EVALUE, fp,
                           "policy '%s' is on task '%s', whose configuration differs from the "
                           "task '%s' of preferences '%s'",
                           c->from_name, fe->task, t->task_name, dname);
    }
    rt_pref_stats st;
    rt_pref_stats_of(c->set, &st);
    c->ceiling = st.agreement[RT_TASK_HELDOUT];
    if (rt_pref_count(c->set, RT_TASK_HELDOUT) == 0)
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "note: preferences '%s' have no held-out pairs: heldout_acc stays empty\n",
                       dname);
    return 0;
}

static int rm_point(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    const mag_config *cfg = t->cfg;
    rm_cell *c = t->state;
    point *p = (point *)bp;
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "rm:", t->base,
                                mag_config_get(cfg, "seed", pt));
    rt_policy *fresh = NULL;
    const rt_model *trunk;
    rt_diag pd;
    int rc = 0;
    if (c->from) {
        const rt_policy *from;
        const char *fname;
        rc = mag_train_policy_at(t->ctx, cfg, pt, c->from_name,
                                 mag_train_value_pos(t->cell, "from"), &from, &fname, d);
        if (rc) return rc;
        snprintf(p->from_name, sizeof p->from_name, "%s", fname);
        trunk = &from->model;
    } else {
        rt_policy_config pc = {
            .vocab = rt_task_vocab_size(c->task),
            .context = (int)mag_train_num(cfg, "context", pt),
            .embed = RT_FUZZ_CAP((int)mag_train_num(cfg, "embed", pt), RT_FUZZ_MAX_WIDTH),
            .hidden = RT_FUZZ_CAP((int)mag_train_num(cfg, "hidden", pt), RT_FUZZ_MAX_WIDTH),
            .layers = (int)mag_train_num(cfg, "layers", pt),
            .act = strcmp(mag_config_get(cfg, "act", pt)->str, "gelu") ? RT_NN_ACT_RELU
                                                                       : RT_NN_ACT_GELU,
        };
        double nparams = (double)pc.vocab * pc.embed + (double)pc.hidden * pc.context * pc.embed +
                         (double)(pc.layers - 1) * pc.hidden * pc.hidden +
                         (double)pc.vocab * pc.hidden;
        if (nparams > 5e7)
            return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "hidden"),
                           "rm '%s' would have %.0f parameters per member (the limit is 5e7)",
                           p->base.name, nparams);
        rc = rt_policy_create(&fresh, &pc, &pd);
        if (rc == RT_ENOMEM) return mag_err_nomem(d);
        if (rc)
            return mag_err(t->ctx, d, MAG_EVALUE, t->cell->name_pos, "rm '%s': %s", p->base.name,
                           pd.msg);
        trunk = &fresh->model;
    }
    int K = (int)mag_train_num(cfg, "ensemble", pt);
    rt_rng ri = rt_rng_split(&r, 0);
    rc = rt_rm_create(&p->rm, trunk, c->from != NULL, K, rt_task_prompt_len(c->task),
                      rt_task_answer_max(c->task), 0.01f, &ri, &pd);
    rt_policy_free(fresh);
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc) return mag_err(t->ctx, d, MAG_EVALUE, t->cell->name_pos, "%s", pd.msg);
    rc = mag_prefs_at(t->ctx, t->cell, cfg, pt, "data", &p->set, NULL, NULL, &p->data_name, d);
    if (rc) {
        rt_rm_free(p->rm), p->rm = NULL;
        return rc;
    }
    if (p->set->n_train < 1)
        return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "data"),
                       "preference set '%s' has no train pairs", p->data_name);
    rt_pref_stats st;
    rt_pref_stats_of(p->set, &st);
    p->ceiling = st.agreement[RT_TASK_HELDOUT];
    p->base.job.rng = rt_rng_split(&r, 1);
    rt_rm_config_defaults(&p->cfg);
    p->cfg.steps = (long)mag_train_num(cfg, "steps", pt);
    p->cfg.batch = (int)mag_train_num(cfg, "batch", pt);
    p->cfg.lr = (float)mag_train_num(cfg, "lr", pt);
    p->cfg.log_every = (long)mag_train_num(cfg, "log_every", pt);
    p->cfg.eval_every = (long)mag_train_num(cfg, "eval_every", pt);
    p->cfg.normalize = mag_value_bool(mag_config_get(cfg, "normalize", pt), 1);
    p->base.steps = p->cfg.steps;
    int nc;
    const char *const *cols = rt_rm_columns(&nc);
    if (rt_run_create(p->base.name, cols, nc, &p->base.run)) return mag_err_nomem(d);
    return 0;
}

static void rm_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                     mag_bridge_opts *o, char *title, size_t cap)
{
    (void)pts, (void)np;
    rm_cell *c = t->state;
    snprintf(title, cap, "%%%%rm %s: Bradley–Terry reward model on %s", t->base, c->data_name);
    o->title = title;
    o->panels = panels;
    o->npanels = 4;
    o->summary = summary_metrics;
    o->nsummary = 6;
    if (isfinite(c->ceiling)) {
        /* held-out only: heldout_acc and the ceiling both count non-tie pairs, while the
           train acc includes ties (coin labels) */
        c->ref[0] = (mag_bridge_ref){"heldout_acc", c->ceiling, "labeler ceiling"};
        o->refs = c->ref;
        o->nrefs = 1;
    }
}

/* The last row's value of a column (NaN when none). */
static double last_value(const rt_run *run, const char *name, long *row)
{
    int nc;
    const char *const *cols = rt_rm_columns(&nc);
    long n = run ? rt_run_rows(run) : 0;
    double v[16];
    for (long i = n - 1; i >= 0; i--) {
        if (rt_run_read(run, i, 1, v) != 1) break;
        for (int j = 0; j < nc; j++)
            if (!strcmp(cols[j], name) && !isnan(v[j])) {
                if (row) *row = i;
                return v[j];
            }
    }
    return NAN;
}

static void rm_summary(mag_train_cellctx *t, const mag_train_point *bp, rt_run_status stt,
                       long step, char *out, size_t cap)
{
    rm_cell *c = t->state;
    point *p = (point *)bp;
    int K = p->rm ? rt_rm_ensemble(p->rm) : 0;
    int n = snprintf(out, cap, "reward model, ensemble %d, on %s (task %s)", K, p->data_name,
                     t->task_name);
    if (p->from_name[0]) n += snprintf(out + n, cap - (size_t)n, ", from %s", p->from_name);
    n += snprintf(out + n, cap - (size_t)n, ", %ld steps%s", step, mag_train_suffix(stt));
    double acc = last_value(p->base.run, "heldout_acc", NULL);
    if (!isnan(acc)) {
        n += snprintf(out + n, cap - (size_t)n, ": held-out accuracy %.3f", acc);
        if (isfinite(p->ceiling))
            snprintf(out + n, cap - (size_t)n, " vs the labeler's ceiling %.3f", p->ceiling);
    }
    if (stt != RT_RUN_FINISHED || !p->rm) return;
    /* only a finished model is stored (nothing partial) */
    mag_rm_obj *o = rt_calloc(1, sizeof *o);
    if (!o || rt_task_create(rt_task_config_of(c->task), &o->task, NULL)) {
        rt_free(o);
        return;
    }
    snprintf(o->task_name, sizeof o->task_name, "%s", t->task_name);
    o->rm = p->rm;
    p->rm = NULL;
    int put =
        mag_session_put(t->ctx->session, MAG_RM, p->base.name, o, obj_free, out, t->task_name);
    if (put >= 0)
        krn_out_printf(t->ctx->out, KRN_STDOUT, "%s reward model '%s': %s\n",
                       put == 1 ? "replaced" : "defined", p->base.name, out);
}

static void rm_point_free(mag_train_point *bp)
{
    point *p = (point *)bp;
    rt_rm_free(p->rm);
}

static const mag_trainer_rec rm_rec = {
    .magic = "rm",
    .trainer = "rm",
    .state_size = sizeof(rm_cell),
    .point_size = sizeof(point),
    .resolve = rm_resolve,
    .point = rm_point,
    .job = rm_job,
    .chart = rm_chart,
    .summary = rm_summary,
    .summary_cap = 400,
    .point_free = rm_point_free,
};

static int run_rm(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                  const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    return mag_train_cell(ctx, cell, cfg, &rm_rec, d);
}

/* ---- the resolver of rm(NAME) / rm_mean(NAME) / rm_min(NAME) ------------------------ */

int mag_rm_resolve(const mag_session *s, const char *name, rt_rm_source *out, char *err,
                   size_t errlen)
{
    const mag_rm_obj *o = mag_session_get(s, MAG_RM, name);
    if (!o) {
        const char *best = mag_session_suggest(s, MAG_RM, name);
        if (best)
            snprintf(err, errlen, "unknown reward model '%s' (did you mean '%s'?)", name, best);
        else if (mag_session_count(s, MAG_RM) == 0)
            snprintf(err, errlen,
                     "unknown reward model '%s' (no reward model is defined: %%%%rm "
                     "defines one)",
                     name);
        else
            snprintf(err, errlen, "unknown reward model '%s'", name);
        return 1;
    }
    const mag_entry *e = mag_session_entry(s, MAG_RM, name);
    out->rm = o->rm;
    out->task = o->task;
    /* the entry's task name follows a task redefinition (the kept old name) */
    out->task_name = e && e->task ? e->task : o->task_name;
    return 0;
}

static const mag_magic rm_magic = {
    .name = "rm",
    .cell = 1,
    .schema = &rm_schema,
    .usage = "%%rm NAME  (body: data = PREFS, key = value lines)",
    .help = "Trains reward model NAME on preference set `data` (%%preferences) with the\n"
            "Bradley–Terry loss: score r(x) = w . z(x) + b, z the trunk's logits after the\n"
            "answer's last token; the trunk is a copy of `from` (a policy) or a fresh mlp\n"
            "(context, embed, hidden, layers, act).  ensemble = K trains K independent\n"
            "members; rewards then read rm(NAME) (= rm_mean, the members' mean) or\n"
            "rm_min(NAME) (their min: conservative).  Live curves of loss, train and held-out\n"
            "pairwise accuracy (with the labeler's ceiling), margin; the summary gives the\n"
            "held-out accuracy against that ceiling.  A list value sweeps.\n"
            "Example:\n  %%rm r\n  data = prefs\n  from = base\n  steps = 500\n  ensemble = 3",
    .run = run_rm,
    .positional = "-",
};

const mag_magic *const mag_rm_magics[] = {&rm_magic, NULL};
