/* mag_m_dpo: %%dpo NAME — offline preference optimization (DPO, IPO, hinge/SLiC, robust
 * rDPO: rt_pref_loss.h) of the policy `from` on a %%preferences set, through rt_dpo's
 * trainer on the training-cell engine (mag_train_cell.h): sweepable, one policy and run
 * per point NAME[key=value,...], runs in %runs / %compare / %export, the live chart of the
 * bridge (panels loss, acc, heldout_acc, margin, kl_ref, eval_reward).
 *
 * Keys (defaults): from (required), data (required: a %%preferences set), reference
 * (`from`), beta 0.1 (TRL's), loss dpo (dpo | ipo | hinge | robust), label_smoothing 0
 * (dpo: cDPO, robust: rDPO's flip rate), steps 200, lr 1e-3, batch 32, seed, log_every 1,
 * eval_every 20, eval_prompts 256, eval_reward (default: the set's labeler when it was
 * simulated, so the true reward shows; none for a set read from a file).  The threads are
 * the session's (%threads), as for every training cell: the results do not depend on it.
 * The task is the set's.
 *
 * Streams: every point of a cell uses the stream of NAME (split by `seed` when given):
 * rt_rng_from_name(session seed, NAME), so points that differ only in beta or loss see
 * the same minibatches (common random numbers); the evaluator's is the task's session
 * stream (mag_eval_stream), shared with %eval and every run on the task.
 * Errors (cell:LINE:COL, before anything trains): unknown names (did-you-mean), data that
 * is not a preference set, beta <= 0 and an unknown loss (the interpreter, at the value),
 * label_smoothing for a loss without one or out of its range, from (or reference) on
 * another task than data or of another vocabulary, a policy without weights (a %tilt),
 * from = NAME (the engine: it would replace its own source), an eval_reward the task's
 * features cannot feed.
 * Leaves out: a threads key (the executor's rule), reference log-probs precomputed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_prefs.h"
#include "mag_train.h"
#include "mag_train_cell.h"
#include "rt_alloc.h"
#include "rt_dpo.h"
#include "rt_features.h"
#include "rt_policy.h"
#include "rt_pref_loss.h"
#include "rt_task.h"

#define SW MAG_K_SWEEP
static const mag_key_spec dpo_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = MAG_K_REQUIRED,
     .help = "the policy trained (copied); a sweep's NAME pairs each point with its point of "
             "the same key values"},
    {.name = "data",
     .type = MAG_T_NAME,
     .object = "preferences",
     .flags = MAG_K_REQUIRED,
     .help = "a %%preferences set: its train pairs train, its held-out pairs evaluate"},
    {.name = "reference",
     .type = MAG_T_NAME,
     .object = "policy",
     .flags = SW,
     .help = "the frozen reference pi_ref (default: `from`; a sweep pairs by key)"},
    {.name = "beta",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "0.1",
     .help = "KL strength: implicit reward beta log(pi / pi_ref) (TRL's default 0.1)"},
    {.name = "loss",
     .type = MAG_T_ENUM,
     .values = rt_pref_loss_names,
     .flags = SW,
     .def = "dpo",
     .help = "dpo (sigmoid), ipo, hinge (SLiC) or robust (rDPO)"},
    {.name = "label_smoothing",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 0.5,
     .def = "0",
     .help = "assumed label-flip rate: cDPO (loss = dpo) or rDPO (loss = robust, < 0.5)"},
    {.name = "steps",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1000000,
     .def = "200",
     .help = "training steps"},
    {.name = "lr",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1e-3",
     .help = "Adam learning rate"},
    {.name = "batch",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 8192,
     .def = "32",
     .help = "preference pairs per step (epochs without replacement)"},
    MAG_TRAIN_KEY_SEED,
    {.name = "log_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 1,
     .def = "1",
     .help = "a row every N steps (train metrics: means since the last row)"},
    {.name = "eval_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 0,
     .def = "20",
     .help = "held-out pairs, kl_ref and eval_reward every N steps (and at start and end)"},
    {.name = "eval_prompts",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 65536,
     .def = "256",
     .help = "held-out prompts of kl_ref, eval_reward and eval_accuracy"},
    {.name = "eval_reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "the true reward tracked on samples (default: the set's labeler, if simulated)"},
};
#undef SW

static const mag_schema dpo_schema = {
    .magic = "dpo",
    .keys = dpo_keys,
    .nkeys = sizeof dpo_keys / sizeof dpo_keys[0],
    .help = "offline preference optimization (DPO / IPO / hinge / robust)",
};

typedef struct point {
    mag_train_point base;
    const rt_policy *from, *ref;
    char from_name[MAG_TRAIN_NAME], ref_name[MAG_TRAIN_NAME];
    const rt_pref_set *set; /* the point's data (data = a sweep pairs by key) */
    const rt_task *task;
    const char *data_name;
    rt_dpo_config cfg;
    rt_dpo_args args;
    rt_diag diag;
    int rc;
} point;

typedef struct dpo_cell {
    const char *data_name;  /* as written; a sweep's points pair by key (data_at) */
    const rt_pref_set *set; /* the data of point 0 (its task: every point's task config) */
    const rt_task *task;    /* the set's own */
    const char *eval_name;
    rt_reward_program *eval_linked;
    double *eval_params;
    const char *panels[6];
    int npanels;
    const char *summ[12];
    int nsumm;
} dpo_cell;

static void dpo_state_free(void *st)
{
    dpo_cell *c = st;
    rt_reward_free(c->eval_linked);
    rt_free(c->eval_params);
}

static int dpo_job(void *arg, const rt_job_ctx *ctx)
{
    point *p = arg;
    p->cfg.threads = ctx->threads; /* the executor's threads rule */
    p->rc = rt_dpo_run(&p->args, p->base.run, &p->base.job.rng, &p->diag);
    return p->rc;
}

/* Policy `name` of role (from / reference) at point pt: weights, the data's task, its
 * vocabulary. */
static int check_policy(mag_train_cellctx *t, size_t pt, const char *key, const rt_policy **out,
                        const char **resolved, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const dpo_cell *c = t->state;
    const mag_value *v = mag_config_get(t->cfg, key, pt);
    mag_pos at = v && v->pos.line ? v->pos : mag_train_value_pos(t->cell, key);
    int rc = mag_train_policy_at(ctx, t->cfg, pt, v->str, at, out, resolved, d);
    if (rc) return rc;
    rc = mag_train_need_weights(ctx, d, *out, *resolved, key, at);
    if (rc) return rc;
    const mag_entry *pe = mag_session_entry(ctx->session, MAG_POLICY, *resolved);
    if (!pe || !pe->task || strcmp(pe->task, t->task_name))
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "policy '%s' is %s%s%s but preferences '%s' are on task '%s' (%s and "
                       "data must share the task)",
                       *resolved, pe && pe->task ? "on task '" : "without a task",
                       pe && pe->task ? pe->task : "", pe && pe->task ? "'" : "", c->data_name,
                       t->task_name, key);
    if ((*out)->model.vocab != rt_task_vocab_size(c->task))
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "policy '%s' has a vocabulary of %d tokens but task '%s' has %d", *resolved,
                       (*out)->model.vocab, t->task_name, rt_task_vocab_size(c->task));
    return mag_policy_need_positions(t->ctx, d, *out, *resolved, c->task, t->task_name, at);
}

/* The preference set `data` denotes at point pt (mag_prefs_at: pairing by key). */
static int data_at(mag_train_cellctx *t, size_t pt, const rt_pref_set **set, const rt_task **task,
                   const char **labeler, const char **resolved, mag_diag *d)
{
    return mag_prefs_at(t->ctx, t->cell, t->cfg, pt, "data", set, task, labeler, resolved, d);
}

static int dpo_resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_config *cfg = t->cfg;
    dpo_cell *c = t->state;
    c->data_name = mag_config_get(cfg, "data", 0)->str;
    const char *labeler = NULL, *dname = NULL;
    int drc = data_at(t, t->pt0, &c->set, &c->task, &labeler, &dname, d);
    if (drc) return drc;
    const mag_entry *de = mag_session_entry(ctx->session, MAG_PREFS, dname);
    t->task_name = de->task;
    const rt_policy *from;
    const char *fname;
    int rc = check_policy(t, t->pt0, "from", &from, &fname, d);
    if (rc) return rc;
    /* the true reward: eval_reward, else the labeler of a simulated set */
    mag_pos epos = mag_train_value_pos(t->cell, "eval_reward");
    c->eval_name =
        mag_train_given(cfg, "eval_reward") ? mag_config_get(cfg, "eval_reward", 0)->str : labeler;
    if (!c->eval_name) return 0;
    const rt_reward_program *er = mag_session_get(ctx->session, MAG_REWARD, c->eval_name);
    if (!er) {
        if (mag_train_given(cfg, "eval_reward"))
            return mag_err_unknown(d, ctx, MAG_REWARD, c->eval_name, epos);
        c->eval_name = NULL; /* the labeler was deleted since: no true reward */
        return 0;
    }
    if (rt_features_for_reward(er))
        return mag_err(ctx, d, MAG_EVALUE, epos,
                       "eval_reward '%s' reads a feature function; the true reward reads the "
                       "task's own features",
                       c->eval_name);
    rc = mag_train_link_reward(ctx, c->task, er, epos, &c->eval_linked, d);
    if (rc) return rc;
    int np = rt_reward_n_params(c->eval_linked);
    c->eval_params = rt_calloc((size_t)(np ? np : 1), sizeof(double));
    if (!c->eval_params) return mag_err_nomem(d);
    rt_diag rd;
    if (rt_reward_bind_params(c->eval_linked, NULL, NULL, 0, c->eval_params, &rd))
        return mag_err(ctx, d, MAG_EVALUE, epos, "eval_reward '%s': %s", c->eval_name, rd.msg);
    return 0;
}

/* Every point: label_smoothing within its loss's range, the reference. */
static int dpo_check(mag_train_cellctx *t, mag_diag *d)
{
    const mag_config *cfg = t->cfg;
    long only = mag_session_worker(t->ctx->session, NULL);
    for (size_t pt = 0; pt < cfg->npoints; pt++) {
        /* a worker's session holds its point's objects only (the kernel checked all) */
        if (only >= 0 && pt != t->pt0) continue;
        rt_pref_dpo_config lc = {rt_pref_loss_find(mag_config_get(cfg, "loss", pt)->str),
                                 mag_train_num(cfg, "beta", pt),
                                 mag_train_num(cfg, "label_smoothing", pt)};
        rt_diag ld = {0};
        if (rt_pref_dpo_check(&lc, &ld)) {
            const char *key = ld.key[0] ? ld.key : "loss";
            return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, key), "%s", ld.msg);
        }
        const rt_pref_set *ps;
        const rt_task *pt_task;
        const char *pname;
        int drc = data_at(t, pt, &ps, &pt_task, NULL, &pname, d);
        if (drc) return drc;
        const mag_entry *pe = mag_session_entry(t->ctx->session, MAG_PREFS, pname);
        if (strcmp(pe->task, t->task_name))
            return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "data"),
                           "preferences '%s' are on task '%s', those of this cell's first "
                           "point on '%s'",
                           pname, pe->task, t->task_name);
        if (mag_train_given(cfg, "reference")) {
            const rt_policy *r;
            const char *rn;
            int rc = check_policy(t, pt, "reference", &r, &rn, d);
            if (rc) return rc;
        }
    }
    return 0;
}

static int dpo_point(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    const mag_config *cfg = t->cfg;
    dpo_cell *c = t->state;
    point *p = (point *)bp;
    const char *fname, *rname;
    int rc = check_policy(t, pt, "from", &p->from, &fname, d);
    if (rc) return rc;
    p->ref = p->from, rname = fname;
    if (mag_train_given(cfg, "reference")) {
        rc = check_policy(t, pt, "reference", &p->ref, &rname, d);
        if (rc) return rc;
    }
    snprintf(p->from_name, sizeof p->from_name, "%s", fname);
    snprintf(p->ref_name, sizeof p->ref_name, "%s", rname);
    rc = data_at(t, pt, &p->set, &p->task, NULL, &p->data_name, d);
    if (rc) return rc;
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "", t->base,
                                mag_config_get(cfg, "seed", pt));
    p->base.job.rng = rt_rng_split(&r, 1);
    rt_dpo_config *dc = &p->cfg;
    rt_dpo_config_init(dc);
    dc->loss.type = rt_pref_loss_find(mag_config_get(cfg, "loss", pt)->str);
    dc->loss.beta = mag_train_num(cfg, "beta", pt);
    dc->loss.label_smoothing = mag_train_num(cfg, "label_smoothing", pt);
    dc->steps = (long)mag_train_num(cfg, "steps", pt);
    dc->batch = (int)mag_train_num(cfg, "batch", pt);
    dc->adam.lr = (float)mag_train_num(cfg, "lr", pt);
    dc->log_every = (long)mag_train_num(cfg, "log_every", pt);
    dc->eval_every = (long)mag_train_num(cfg, "eval_every", pt);
    dc->eval_prompts = (int)mag_train_num(cfg, "eval_prompts", pt);
    dc->threads = 1; /* set by the executor when the point runs (dpo_job) */
    dc->eval_stream = mag_eval_stream(mag_session_seed(t->ctx->session), t->task_name);
    p->base.steps = dc->steps;
    rt_diag pd;
    int prc = mag_policy_copy(&p->base.pol, p->from, &pd);
    if (!prc) rt_model_assign(&p->base.pol->model, &p->from->model); /* a fresh optimizer */
    int nc;
    const char *const *cols = rt_dpo_columns(&nc);
    if (prc || rt_run_create(p->base.name, cols, nc, &p->base.run)) return mag_err_nomem(d);
    p->args = (rt_dpo_args){.policy = &p->base.pol->model,
                            .ref = &p->ref->model,
                            .set = p->set,
                            .task = p->task,
                            .eval_reward = c->eval_linked,
                            .eval_params = c->eval_params,
                            .cfg = &p->cfg};
    return 0;
}

static void dpo_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                      mag_bridge_opts *o, char *title, size_t cap)
{
    (void)pts, (void)np;
    dpo_cell *c = t->state;
    static const char *const base[] = {"loss", "acc", "heldout_acc", "margin", "kl_ref"};
    int n = 0;
    for (int k = 0; k < 5; k++)
        c->panels[n++] = base[k];
    if (c->eval_linked) c->panels[n++] = "eval_reward";
    c->npanels = n;
    static const char *const summ[] = {"loss",   "acc",    "heldout_acc",  "heldout_loss",
                                       "margin", "kl_ref", "eval_accuracy"};
    c->nsumm = 0;
    for (int k = 0; k < 7; k++)
        c->summ[c->nsumm++] = summ[k];
    if (c->eval_linked) c->summ[c->nsumm++] = "eval_reward";
    const point *p0 = (const point *)pts[0];
    snprintf(title, cap, "%%%%dpo %s: %s on %s (%s)", t->base, p0->from_name, c->data_name,
             t->task_name);
    o->title = title;
    o->panels = c->panels;
    o->npanels = c->npanels;
    o->summary = c->summ;
    o->nsummary = c->nsumm;
}

static void dpo_failed_msg(const mag_train_point *bp, char *msg, size_t cap)
{
    const point *p = (const point *)bp;
    if (p->diag.msg[0]) snprintf(msg, cap, "%s", p->diag.msg);
}

static void dpo_summary(mag_train_cellctx *t, const mag_train_point *bp, rt_run_status stt,
                        long step, char *sm, size_t cap)
{
    (void)t;
    const point *p = (const point *)bp;
    const rt_pref_dpo_config *l = &p->cfg.loss;
    size_t n = (size_t)snprintf(sm, cap, "%s from %.200s on %.200s, reference %.200s, beta %g",
                                l->type->name, p->from_name, p->data_name, p->ref_name, l->beta);
    if (l->label_smoothing > 0 && n < cap)
        n += (size_t)snprintf(sm + n, cap - n, ", label_smoothing %g", l->label_smoothing);
    if (n < cap) snprintf(sm + n, cap - n, ", %ld steps%s", step, mag_train_suffix(stt));
}

static const mag_trainer_rec dpo_rec = {
    .magic = "dpo",
    .trainer = "dpo",
    .state_size = sizeof(dpo_cell),
    .point_size = sizeof(point),
    .resolve = dpo_resolve,
    .check = dpo_check,
    .point = dpo_point,
    .job = dpo_job,
    .chart = dpo_chart,
    .summary = dpo_summary,
    .summary_cap = 1000,
    .failed_msg = dpo_failed_msg,
    .state_free = dpo_state_free,
};

static int run_dpo(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                   const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    return mag_train_cell(ctx, cell, cfg, &dpo_rec, d);
}

static const mag_magic dpo_magic = {
    .name = "dpo",
    .cell = 1,
    .schema = &dpo_schema,
    .usage = "%%dpo NAME  (body: key = value lines)",
    .help = "Offline preference optimization of `from` on a %%preferences set (TRL's\n"
            "DPOTrainer): no reward model, no sampling while training.  Per pair (chosen c,\n"
            "rejected r) with sequence log-probs lp of the answer tokens under the policy and\n"
            "lr under the frozen `reference`:\n"
            "  h = beta ((lp_c - lr_c) - (lp_r - lr_r))\n"
            "  dpo    -log sigma(h)   (label_smoothing eps: cDPO)\n"
            "  ipo    (h/beta - 1/(2 beta))^2   (log-probs averaged per token, as TRL)\n"
            "  hinge  max(0, 1 - h)   (SLiC)\n"
            "  robust rDPO, unbiased under label flips at rate eps = label_smoothing\n"
            "The optimum of dpo is pi_ref exp(r / beta) / Z for the labeler's Bradley-Terry\n"
            "reward r.  Live chart: loss, acc (implicit reward accuracy h > 0, train),\n"
            "heldout_acc (the set's held-out pairs), margin (mean h), kl_ref (exact KL to the\n"
            "reference on held-out prompts), eval_reward (the labeler's true reward of sampled\n"
            "answers: the set's labeler by default).  Columns also chosen_reward,\n"
            "rejected_reward (TRL's rewards/chosen, rewards/rejected), heldout_loss,\n"
            "heldout_margin, eval_accuracy, grad_norm.  A list sweeps (beta = [0.05, 0.1, 0.5],\n"
            "seed = [1, 2, 3] adds bands); from, reference and data pair by key with a sweep's "
            "points.\n"
            "Example:\n  %%dpo aligned\n  from = base\n  data = prefs\n  beta = 0.1",
    .run = run_dpo,
    .positional = "-",
};

const mag_magic *const mag_dpo_magics[] = {&dpo_magic, NULL};
