/* rt_opd_run.c: the "opd" trainer record that rt_trainer_run runs (setup: checks and
 * buffers; step: prompts, routing, rt_opd_step_routed and the row's metrics; row: held-out
 * evaluation) and the ExPO weight extrapolation (rt_opd_run.h).  Leaves out: the run loop
 * (rt_trainer.c) and everything rt_opd_run.h leaves out. */
#include "rt_opd_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_fuzz.h"
#include "rt_eval.h"

void rt_opd_run_config_init(rt_opd_run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->step = rt_opd_defaults();
    cfg->steps = 200;
    cfg->eval_every = 20;
    cfg->eval_prompts = 512;
}

static int fail(rt_diag *d, int code, long step, const char *msg)
{
    if (d) d->step = step;
    return rt_diag_set(d, code, "%s", msg);
}

int rt_opd_run_columns(const rt_task *task, char (*names)[48], int cap)
{
    static const char *const head[] = {"step", "tokens", "wall", "accuracy", "eval_accuracy"};
    static const char *const tail[] = {"kl_teacher", "kl_ref",    "entropy", "adv_mean",
                                       "length",     "grad_norm", "loss"};
    int n = 0;
    for (int i = 0; i < 5 && n < cap; i++)
        snprintf(names[n++], 48, "%s", head[i]);
    int nd = rt_task_n_domains(task);
    for (int d = 0; nd > 1 && d < nd && n < cap; d++)
        snprintf(names[n++], 48, "eval_accuracy_%s", rt_task_domain_name(task, d));
    for (int i = 0; i < 7 && n < cap; i++)
        snprintf(names[n++], 48, "%s", tail[i]);
    return n;
}

/* Everything a run needs, allocated once. */
typedef struct opd_st {
    rt_policy *student;
    rt_opd_problem prob;
    rt_opd_config sc;
    const rt_model *teachers[RT_OPD_RUN_MAX_TEACHERS]; /* the teachers' model views */
    int nt, nd, nf, i_correct, ie, ikt;
    long tokens;
    rt_rng r_prompts, r_steps; /* the RT_STREAM_PROMPTS and RT_STREAM_SAMPLES streams */
    rt_opd *o;
    rt_eval *ev;
    rt_task_sample *samples; /* (B) */
    int *prompts;            /* (B, P) */
    int *route;              /* (B) */
    double *feat;            /* (B, nf) */
    char cols[RT_OPD_RUN_MAX_COLUMNS][48];
    const char *names[RT_OPD_RUN_MAX_COLUMNS];
    int checked[2]; /* loss, grad_norm: must be finite, in this order */
} opd_st;

static void opd_free(void *arg)
{
    opd_st *w = arg;
    if (!w) return;
    rt_free(w->samples);
    rt_free(w->prompts);
    rt_free(w->route);
    rt_free(w->feat);
    rt_eval_free(w->ev);
    rt_opd_free(w->o);
    rt_free(w);
}

static int setup_err(rt_diag *d, int code, const char *msg)
{
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    return code;
}

static int opd_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                     rt_diag *d)
{
    const rt_opd_args *a = args;
    const rt_opd_problem *prob = a ? a->prob : NULL;
    const rt_opd_run_config *cfg = a ? a->cfg : NULL;
    rt_policy *student = a ? a->student : NULL;
    if (!student || !prob || !prob->task || !prob->teachers || !prob->ref || !cfg)
        return setup_err(d, RT_EINVAL, "opd: missing argument");
    const rt_task *task = prob->task;
    int nt = prob->nteachers, nd = rt_task_n_domains(task);
    if (nt < 1 || nt > RT_OPD_RUN_MAX_TEACHERS)
        return setup_err(d, RT_EINVAL, "opd: 1 to 8 teachers");
    for (int k = 1; k < nt; k++)
        if (prob->teachers[k]->model.ops != prob->teachers[0]->model.ops ||
            (prob->teachers[k]->model.params->n > 0 &&
             !rt_model_same_arch(&prob->teachers[k]->model, &prob->teachers[0]->model)))
            return setup_err(d, RT_EINVAL, "opd: the teachers of a map need the same architecture");
    for (int k = 0; prob->route && k < nd; k++)
        if (prob->route[k] < 0 || prob->route[k] >= nt)
            return setup_err(d, RT_EINVAL, "opd: a domain routes to no teacher");
    if (cfg->steps < 0 || cfg->eval_every < 0 || cfg->eval_prompts < 1)
        return setup_err(d, RT_EINVAL, "opd: steps and eval_every must be >= 0, eval_prompts >= 1");
    if (rt_task_vocab_size(task) != student->model.vocab)
        return setup_err(d, RT_EINVAL, "opd: the student's vocabulary is not the task's");

    opd_st *w = rt_calloc(1, sizeof *w);
    if (!w) return setup_err(d, RT_ENOMEM, "opd: out of memory");
    w->student = student;
    w->prob = *prob;
    w->nt = nt, w->nd = nd;
    rt_opd_config *sc = &w->sc;
    *sc = cfg->step;
    sc->prompt_len = rt_task_prompt_len(task);
    sc->gen_len = rt_task_answer_max(task);
    sc->metrics = 1;
    sc->mask_after_eos = 1; /* an answer ends at its first EOS */
    sc->eos_token = RT_TOK_EOS;
    sc->batch = RT_FUZZ_CAP(sc->batch, RT_FUZZ_MAX_BATCH); /* fuzz builds only */
    int B = sc->batch, P = sc->prompt_len;
    w->nf = rt_task_n_features(task);
    w->i_correct = rt_task_feature_index(task, "correct");
    int nc = rt_opd_run_columns(task, w->cols, RT_OPD_RUN_MAX_COLUMNS);
    for (int c = 0; c < nc; c++)
        w->names[c] = w->cols[c];
    w->ie = 4, w->ikt = 5 + (nd > 1 ? nd : 0);

    rt_diag pd = {0};
    for (int k = 0; k < nt; k++)
        w->teachers[k] = &prob->teachers[k]->model;
    int rc = rt_opd_create(&w->o, sc, &student->model, w->teachers[0], &prob->ref->model, &pd);
    if (rc) {
        opd_free(w);
        return setup_err(d, rc == RT_ENOMEM ? RT_ENOMEM : RT_EINVAL, pd.msg);
    }
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.n_prompts = cfg->eval_prompts;
    ec.k = 0;
    rt_rng r_eval = rt_eval_stream_of(&cfg->eval_stream, rng);
    rt_diag ed = {0};
    if (rt_eval_create(&w->ev, task, &student->model, &ec, &r_eval, &ed)) {
        opd_free(w);
        return setup_err(d, RT_ENOMEM, ed.msg);
    }
    w->samples = rt_calloc((size_t)B, sizeof *w->samples);
    w->prompts = rt_calloc((size_t)B * (P > 0 ? P : 1), sizeof *w->prompts);
    w->route = rt_calloc((size_t)B, sizeof *w->route);
    w->feat = rt_calloc((size_t)B * (w->nf > 0 ? w->nf : 1), sizeof *w->feat);
    if (!w->samples || !w->prompts || !w->route || !w->feat) {
        opd_free(w);
        return setup_err(d, RT_ENOMEM, "opd: out of memory");
    }
    w->r_prompts = rt_rng_split(rng, RT_STREAM_PROMPTS);
    w->r_steps = rt_rng_split(rng, RT_STREAM_SAMPLES);
    w->checked[0] = w->ikt + 6, w->checked[1] = w->ikt + 5;
    *plan = (rt_trainer_plan){.steps = cfg->steps,
                              .log_every = 1,
                              .eval = 1,
                              .eval_every = cfg->eval_every,
                              .eval_at_start = 1,
                              .row_on_nonfinite = 1,
                              .metrics = w->names,
                              .n_metrics = nc,
                              .finite = w->checked,
                              .n_finite = 2,
                              /* sampling, the student's backward, the teacher's and the
                                 reference's scoring over B * T rows */
                              .step_flops = (double)B * sc->gen_len *
                                            (3.0 * rt_model_row_flops(&student->model) +
                                             rt_model_row_flops(w->teachers[0]) +
                                             rt_model_row_flops(&prob->ref->model))};
    *out = w;
    return 0;
}

static int opd_step(void *arg, long s, double *row, char *msg, size_t cap)
{
    opd_st *w = arg;
    const rt_task *task = w->prob.task;
    int B = w->sc.batch, T = w->sc.gen_len, nf = w->nf;
    rt_rng rp = rt_rng_split(&w->r_prompts, (uint64_t)s);
    rt_task_sample_batch(task, &rp, 0, RT_TASK_TRAIN, B, w->samples, w->prompts);
    for (int b = 0; b < B; b++)
        w->route[b] = w->prob.route ? w->prob.route[w->samples[b].domain] : 0;
    rt_rng rs = rt_rng_split(&w->r_steps, (uint64_t)s);
    rt_opd_metrics m;
    if (rt_opd_step_routed(w->o, &w->student->model, w->teachers, w->nt, w->route,
                           &w->prob.ref->model, w->prompts, &rs, &m)) {
        snprintf(msg, cap, "the step failed");
        return 1;
    }
    const int *tok = rt_opd_tokens(w->o);
    rt_task_features_batch(task, w->samples, tok, B, T, w->feat);
    double acc = 0, len = 0;
    for (int b = 0; b < B; b++) {
        acc += w->i_correct >= 0 ? w->feat[(size_t)b * nf + w->i_correct] : 0;
        int L = T;
        for (int t = 0; t < T; t++)
            if (tok[(size_t)b * T + t] == RT_TOK_EOS) {
                L = t + 1;
                break;
            }
        len += L;
    }
    w->tokens += (long)B * T;
    int ikt = w->ikt;
    row[1] = (double)w->tokens;
    row[3] = acc / B;
    row[ikt] = m.kl_teacher, row[ikt + 1] = m.kl_ref, row[ikt + 2] = m.entropy;
    row[ikt + 3] = m.adv_mean, row[ikt + 4] = len / B, row[ikt + 5] = m.grad_norm;
    row[ikt + 6] = m.loss;
    return 0;
}

/* Held-out greedy accuracy (and per domain) at evaluation steps; the start row (s = 0)
 * has only that and tokens = 0. */
static int opd_row(void *arg, long s, int eval, const int *recorded, double *row, char *msg,
                   size_t cap)
{
    (void)recorded;
    opd_st *w = arg;
    if (s == 0) row[1] = 0;
    if (!eval) return 0;
    rt_eval_result r;
    rt_diag ed;
    if (rt_eval_run(w->ev, &w->student->model, &r, &ed)) {
        snprintf(msg, cap, "%s", ed.msg);
        return 1;
    }
    row[w->ie] = r.greedy;
    for (int k = 0; w->nd > 1 && k < w->nd; k++)
        row[w->ie + 1 + k] = r.domain_greedy[k];
    return 0;
}

const rt_trainer rt_opd_trainer = {"opd", opd_setup, opd_step, opd_row, NULL, opd_free};

int rt_opd_run(rt_policy *student, const rt_opd_problem *prob, const rt_opd_run_config *cfg,
               rt_run *run, const rt_rng *rng, rt_diag *diag)
{
    rt_opd_args a = {student, prob, cfg};
    rt_diag td;
    int rc = rt_trainer_run(&rt_opd_trainer, &a, rng, run, &td);
    if (diag) {
        diag->code = rc;
        diag->step = td.step;
        snprintf(diag->msg, sizeof diag->msg, "%s", td.msg);
    }
    return rc;
}

/* "mlp V=.. K=.. D=.. H=.. L=.." (the MLP's historical form) or "gpt context=32 ..." */
static void shape_str(const rt_policy *p, char *buf, size_t cap)
{
    const rt_policy *m = rt_policy_of_const(&p->model);
    if (m) {
        const rt_policy_config *c = &m->cfg;
        snprintf(buf, cap, "V=%d K=%d D=%d H=%d L=%d", c->vocab, c->context, c->embed, c->hidden,
                 c->layers);
        return;
    }
    int cfg[RT_MODEL_MAX_KEYS];
    int n = snprintf(buf, cap, "%s V=%d", p->model.ops->arch, p->model.vocab);
    rt_model_config(&p->model, cfg);
    for (int i = 0; i < p->model.ops->nkeys && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, " %s=%d", p->model.ops->keys[i].name, cfg[i]);
}

int rt_opd_extrapolate(rt_policy **out, const rt_policy *base, const rt_policy *teacher,
                       float alpha, rt_diag *diag)
{
    *out = NULL;
    if (diag) memset(diag, 0, sizeof *diag);
    if (!base || !teacher) return fail(diag, RT_EINVAL, 0, "extrapolate: missing policy");
    if (!isfinite(alpha)) return fail(diag, RT_EINVAL, 0, "extrapolate: alpha must be finite");
    if (!rt_model_same_arch(&base->model, &teacher->model)) {
        char a[160], b[160], msg[400];
        shape_str(teacher, a, sizeof a);
        shape_str(base, b, sizeof b);
        snprintf(
            msg, sizeof msg,
            "extrapolation needs the same architecture: the teacher is %.160s, the base %.160s", a,
            b);
        return fail(diag, RT_EINVAL, 0, msg);
    }
    rt_diag pd;
    rt_model *p = NULL;
    if (rt_model_copy(&p, &teacher->model, &pd)) return fail(diag, RT_ENOMEM, 0, pd.msg);
    const float *wt = teacher->model.params->w, *wb = base->model.params->w;
    for (size_t i = 0; i < p->params->n; i++)
        p->params->w[i] = wt[i] + alpha * (wt[i] - wb[i]);
    rt_params_reset(p->params);
    rt_model_touch(p);
    *out = (rt_policy *)p; /* any architecture: the model header first */
    return 0;
}
