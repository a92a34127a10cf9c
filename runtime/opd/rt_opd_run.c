/* rt_opd_run.c: the G-OPD run loop (routing, metrics rows, held-out evaluation) and the
 * ExPO weight extrapolation (rt_opd_run.h).  The step itself is rt_opd_step_routed.
 * Leaves out: everything rt_opd_run.h leaves out. */
#include "rt_opd_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"
#include "rt_eval.h"

void rt_opd_run_config_init(rt_opd_run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->step = rt_opd_defaults();
    cfg->steps = 200;
    cfg->eval_every = 20;
    cfg->eval_prompts = 512;
}

static int fail(rt_opd_run_diag *d, int code, long step, const char *msg)
{
    if (d) {
        d->code = code;
        d->step = step;
        snprintf(d->msg, sizeof d->msg, "%s", msg);
    }
    return code;
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Held-out greedy accuracy (and per domain) into row[ie..]. */
static int evaluate(rt_eval *ev, const rt_policy *p, int nd, double *row, int ie,
                    rt_opd_run_diag *d, long step)
{
    rt_eval_result r;
    rt_eval_diag ed;
    if (rt_eval_run(ev, &p->model, &r, &ed)) return fail(d, RT_OPD_RUN_EFAILED, step, ed.msg);
    row[ie] = r.greedy;
    for (int k = 0; nd > 1 && k < nd; k++)
        row[ie + 1 + k] = r.domain_greedy[k];
    return 0;
}

int rt_opd_run(rt_policy *student, const rt_opd_problem *prob, const rt_opd_run_config *cfg,
               rt_run *run, const rt_rng *rng, rt_opd_run_diag *diag)
{
    if (diag) memset(diag, 0, sizeof *diag);
    if (!student || !prob || !prob->task || !prob->teachers || !prob->ref || !cfg || !rng)
        return fail(diag, RT_OPD_RUN_EINVAL, 0, "opd: missing argument");
    const rt_task *task = prob->task;
    int nt = prob->nteachers, nd = rt_task_n_domains(task);
    if (nt < 1 || nt > RT_OPD_RUN_MAX_TEACHERS)
        return fail(diag, RT_OPD_RUN_EINVAL, 0, "opd: 1 to 8 teachers");
    for (int k = 1; k < nt; k++)
        if (!rt_policy_same_shape(&prob->teachers[k]->cfg, &prob->teachers[0]->cfg))
            return fail(diag, RT_OPD_RUN_EINVAL, 0,
                        "opd: the teachers of a map need the same architecture");
    for (int k = 0; prob->route && k < nd; k++)
        if (prob->route[k] < 0 || prob->route[k] >= nt)
            return fail(diag, RT_OPD_RUN_EINVAL, 0, "opd: a domain routes to no teacher");
    if (cfg->steps < 0 || cfg->eval_every < 0 || cfg->eval_prompts < 1)
        return fail(diag, RT_OPD_RUN_EINVAL, 0,
                    "opd: steps and eval_every must be >= 0, eval_prompts >= 1");
    if (rt_task_vocab_size(task) != student->cfg.vocab)
        return fail(diag, RT_OPD_RUN_EINVAL, 0, "opd: the student's vocabulary is not the task's");

    rt_opd_config sc = cfg->step;
    sc.prompt_len = rt_task_prompt_len(task);
    sc.gen_len = rt_task_answer_max(task);
    sc.metrics = 1;
    sc.mask_after_eos = 1; /* an answer ends at its first EOS */
    sc.eos_token = RT_TOK_EOS;
    int B = sc.batch, T = sc.gen_len, P = sc.prompt_len;
    int nf = rt_task_n_features(task);
    int i_correct = rt_task_feature_index(task, "correct");

    char cols[RT_OPD_RUN_MAX_COLUMNS][48];
    int nc = rt_opd_run_columns(task, cols, RT_OPD_RUN_MAX_COLUMNS);
    int ie = 4, ikt = 5 + (nd > 1 ? nd : 0);

    rt_opd *o = NULL;
    rt_eval *ev = NULL;
    rt_policy_diag pd = {0};
    const rt_model *teachers[RT_OPD_RUN_MAX_TEACHERS];
    for (int k = 0; k < nt; k++)
        teachers[k] = &prob->teachers[k]->model;
    int rc = rt_opd_create(&o, &sc, &student->model, teachers[0], &prob->ref->model, &pd);
    if (rc)
        return fail(diag, rc == RT_POLICY_ENOMEM ? RT_OPD_RUN_ENOMEM : RT_OPD_RUN_EINVAL, 0,
                    pd.msg);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.n_prompts = cfg->eval_prompts;
    ec.k = 0;
    rt_rng r_eval = rt_rng_split(rng, 3);
    rt_eval_diag ed = {0};
    if (rt_eval_create(&ev, task, &student->model, &ec, &r_eval, &ed)) {
        rt_opd_free(o);
        return fail(diag, RT_OPD_RUN_ENOMEM, 0, ed.msg);
    }
    rt_task_sample *samples = rt_calloc((size_t)B, sizeof *samples);
    int *prompts = rt_calloc((size_t)B * (P > 0 ? P : 1), sizeof *prompts);
    int *route = rt_calloc((size_t)B, sizeof *route);
    double *feat = rt_calloc((size_t)B * (nf > 0 ? nf : 1), sizeof *feat);
    double *row = rt_calloc((size_t)nc, sizeof *row);
    if (!samples || !prompts || !route || !feat || !row ||
        (run && rt_run_reserve(run, cfg->steps + 2))) {
        rc = fail(diag, RT_OPD_RUN_ENOMEM, 0, "opd: out of memory");
        goto done;
    }
    (void)cols;
    if (run) rt_run_start(run);
    double t0 = now_s();
    long tokens = 0, s = 0;
    rt_rng r_prompts = rt_rng_split(rng, 1), r_steps = rt_rng_split(rng, 2);
    /* row 0: the initial held-out accuracy */
    for (int c = 0; c < nc; c++)
        row[c] = NAN;
    row[0] = 0, row[1] = 0, row[2] = 0;
    if ((rc = evaluate(ev, student, nd, row, ie, diag, 0))) goto done;
    if (run && rt_run_append(run, row)) {
        rc = fail(diag, RT_OPD_RUN_ENOMEM, 0, "opd: out of memory");
        goto done;
    }
    for (s = 1; s <= cfg->steps; s++) {
        if (run && rt_run_should_stop(run)) {
            rc = fail(diag, RT_OPD_RUN_EINTR, s - 1, "interrupted");
            break;
        }
        rt_rng rp = rt_rng_split(&r_prompts, (uint64_t)s);
        rt_task_sample_batch(task, &rp, 0, RT_TASK_TRAIN, B, samples, prompts);
        for (int b = 0; b < B; b++)
            route[b] = prob->route ? prob->route[samples[b].domain] : 0;
        rt_rng rs = rt_rng_split(&r_steps, (uint64_t)s);
        rt_opd_metrics m;
        if (rt_opd_step_routed(o, &student->model, teachers, nt, route, &prob->ref->model, prompts,
                               &rs, &m)) {
            char msg[128];
            snprintf(msg, sizeof msg, "opd: the step failed at step %ld", s);
            rc = fail(diag, RT_OPD_RUN_EFAILED, s, msg);
            break;
        }
        const int *tok = rt_opd_tokens(o);
        rt_task_features_batch(task, samples, tok, B, T, feat);
        double acc = 0, len = 0;
        for (int b = 0; b < B; b++) {
            acc += i_correct >= 0 ? feat[(size_t)b * nf + i_correct] : 0;
            int L = T;
            for (int t = 0; t < T; t++)
                if (tok[(size_t)b * T + t] == RT_TOK_EOS) {
                    L = t + 1;
                    break;
                }
            len += L;
        }
        tokens += (long)B * T;
        for (int c = 0; c < nc; c++)
            row[c] = NAN;
        row[0] = (double)s, row[1] = (double)tokens, row[2] = now_s() - t0;
        row[3] = acc / B;
        row[ikt] = m.kl_teacher, row[ikt + 1] = m.kl_ref, row[ikt + 2] = m.entropy;
        row[ikt + 3] = m.adv_mean, row[ikt + 4] = len / B, row[ikt + 5] = m.grad_norm;
        row[ikt + 6] = m.loss;
        if (!isfinite(m.loss) || !isfinite(m.grad_norm)) {
            char msg[128];
            snprintf(msg, sizeof msg, "opd: %s is %s at step %ld",
                     isfinite(m.loss) ? "grad_norm" : "loss",
                     isnan(isfinite(m.loss) ? m.grad_norm : m.loss) ? "nan" : "inf", s);
            if (run) rt_run_append(run, row);
            rc = fail(diag, RT_OPD_RUN_EFAILED, s, msg);
            break;
        }
        if ((cfg->eval_every > 0 && s % cfg->eval_every == 0) || s == cfg->steps)
            if ((rc = evaluate(ev, student, nd, row, ie, diag, s))) break;
        if (run && rt_run_append(run, row)) {
            rc = fail(diag, RT_OPD_RUN_ENOMEM, s, "opd: out of memory");
            break;
        }
    }
    if (run) {
        if (rc == 0)
            rt_run_finish(run, RT_RUN_FINISHED, cfg->steps, "");
        else if (rc == RT_OPD_RUN_EINTR)
            rt_run_finish(run, RT_RUN_INTERRUPTED, diag ? diag->step : s - 1, "");
        else
            rt_run_finish(run, RT_RUN_FAILED, s, diag ? diag->msg : "opd failed");
    }
done:
    rt_free(samples);
    rt_free(prompts);
    rt_free(route);
    rt_free(feat);
    rt_free(row);
    rt_eval_free(ev);
    rt_opd_free(o);
    return rc;
}

static void shape_str(const rt_policy_config *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "V=%d K=%d D=%d H=%d L=%d", c->vocab, c->context, c->embed, c->hidden,
             c->layers);
}

int rt_opd_extrapolate(rt_policy **out, const rt_policy *base, const rt_policy *teacher,
                       float alpha, rt_opd_run_diag *diag)
{
    *out = NULL;
    if (diag) memset(diag, 0, sizeof *diag);
    if (!base || !teacher) return fail(diag, RT_OPD_RUN_EINVAL, 0, "extrapolate: missing policy");
    if (!isfinite(alpha))
        return fail(diag, RT_OPD_RUN_EINVAL, 0, "extrapolate: alpha must be finite");
    if (!rt_policy_same_shape(&base->cfg, &teacher->cfg) || base->cfg.act != teacher->cfg.act) {
        char a[80], b[80], msg[256];
        shape_str(&teacher->cfg, a, sizeof a);
        shape_str(&base->cfg, b, sizeof b);
        snprintf(msg, sizeof msg,
                 "extrapolation needs the same architecture: the teacher is %.80s, the base %.80s",
                 a, b);
        return fail(diag, RT_OPD_RUN_EINVAL, 0, msg);
    }
    rt_policy_diag pd;
    rt_policy *p = NULL;
    if (rt_policy_copy(&p, teacher, &pd)) return fail(diag, RT_OPD_RUN_ENOMEM, 0, pd.msg);
    const float *wt = teacher->params.w, *wb = base->params.w;
    for (size_t i = 0; i < p->params.n; i++)
        p->params.w[i] = wt[i] + alpha * (wt[i] - wb[i]);
    rt_params_reset(&p->params);
    rt_policy_touch(p);
    *out = p;
    return 0;
}
