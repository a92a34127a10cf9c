/* rt_rl_run.c: a whole RL run (rt_rl_run in rt_rl.h): per step, prompts from the
 * task, G samples each, task features, the reward program, one rt_rl_update; metrics
 * rows, held-out evaluation, cancel and failure handling, the optional hook of extra
 * features and metrics (rt_rl_hook).  Setup allocates everything;
 * the step loop allocates nothing.  Leaves out: checkpoints, schedules. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_rl.h"

enum {
    C_STEP,
    C_TOKENS,
    C_WALL,
    C_REWARD,
    C_ACC,
    C_EVAL,
    C_KLREF,
    C_KLEST,
    C_ENT,
    C_LEN,
    C_ADV,
    C_GNORM,
    C_CLIP,
    C_LOSS,
    C_EREW,
    C_CHI2,
    N_COLS
};
static const char *const columns[N_COLS] = {
    "step",      "tokens", "wall",        "reward", "accuracy", "eval_accuracy",
    "kl_ref",    "kl_est", "entropy",     "length", "adv_mean", "grad_norm",
    "clip_frac", "loss",   "eval_reward", "chi2"};

const char *const *rt_rl_columns(int *n)
{
    if (n) *n = N_COLS;
    return columns;
}

static int set_diag(rt_rl_diag *d, int code, long step, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int set_diag(rt_rl_diag *d, int code, long step, const char *key, const char *fmt, ...)
{
    if (d) {
        d->code = code;
        d->step = step;
        snprintf(d->key, sizeof d->key, "%s", key ? key : "");
        d->msg[0] = '\0';
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->msg, sizeof d->msg, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

static int setup_fail(rt_run *run, rt_rl_diag *d, int code, const char *key, const char *msg)
{
    set_diag(d, code, 0, key, "%s", msg);
    if (run) rt_run_finish(run, RT_RUN_FAILED, 0, msg);
    return code;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct run_ws {
    rt_rl *rl;
    rt_eval *ev;
    rt_task_sample *samples, *rep; /* (B), (N) */
    int *prompts;                  /* (B, P) */
    double *feat, *R, *ER, *row;   /* (N, nx), (N), (N), (columns) */
    double *tfeat;                 /* (N, nf) task features when a hook adds slots */
} run_ws;

static void ws_free(run_ws *w)
{
    rt_rl_free(w->rl);
    rt_eval_free(w->ev);
    rt_free(w->samples);
    rt_free(w->rep);
    rt_free(w->prompts);
    rt_free(w->feat);
    rt_free(w->R);
    rt_free(w->ER);
    rt_free(w->row);
    rt_free(w->tfeat);
}

int rt_rl_run(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
              const rt_rl_config *cfg, rt_run *run, const rt_rng *rng, rt_rl_diag *diag)
{
    return rt_rl_run_hooked(p, ref, prob, NULL, cfg, run, rng, diag);
}

int rt_rl_run_hooked(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
                     const rt_rl_hook *hook, const rt_rl_config *cfg_in, rt_run *run,
                     const rt_rng *rng, rt_rl_diag *diag)
{
    if (!p || !ref || !prob || !prob->task || !prob->reward || !cfg_in || !rng)
        return setup_fail(run, diag, RT_RL_EINVAL, "", "rl: missing argument");
    rt_rl_config cfg;
    rt_rl_diag cd;
    if (rt_rl_config_check(cfg_in, &cfg, &cd))
        return setup_fail(run, diag, RT_RL_EINVAL, cd.key, cd.msg);
    const rt_task *task = prob->task;
    int nf = rt_task_n_features(task);
    if (hook && (hook->n_features < 0 || hook->n_features > RT_RL_HOOK_MAX_FEATURES ||
                 hook->n_metrics < 0 || hook->n_metrics > RT_RL_HOOK_MAX_METRICS || !hook->fill ||
                 (hook->n_metrics > 0 && !hook->metric_names)))
        return setup_fail(run, diag, RT_RL_EINVAL, "", "rl: bad hook");
    int nx = nf + (hook ? hook->n_features : 0); /* the feature stride */
    if (p->cfg.vocab != rt_task_vocab_size(task))
        return setup_fail(run, diag, RT_RL_EINVAL, "from",
                          "rl: the policy's vocabulary differs from the task's");
    if (rt_reward_min_slots(prob->reward) > nx ||
        (prob->eval_reward && rt_reward_min_slots(prob->eval_reward) > nx))
        return setup_fail(run, diag, RT_RL_EINVAL, "reward",
                          "rl: the reward is not linked to this task's features");
    if ((rt_reward_n_params(prob->reward) > 0 && !prob->params) ||
        (prob->eval_reward && rt_reward_n_params(prob->eval_reward) > 0 && !prob->eval_params))
        return setup_fail(run, diag, RT_RL_EINVAL, "reward", "rl: reward parameters not bound");
    int B = cfg.batch, G = cfg.group, N = B * G, P = rt_task_prompt_len(task);
    int T = rt_task_answer_max(task), ncol = run ? rt_run_n_columns(run) : 0;
    run_ws w = {0};
    int rc = rt_rl_create(&w.rl, &cfg, &p->model, &ref->model, P, T, RT_TOK_EOS, &cd);
    if (rc) return setup_fail(run, diag, rc, cd.key, cd.msg);
    w.samples = rt_calloc((size_t)B, sizeof *w.samples);
    w.rep = rt_calloc((size_t)N, sizeof *w.rep);
    w.prompts = rt_calloc((size_t)B * P, sizeof(int));
    w.feat = rt_calloc((size_t)N * nx, sizeof(double));
    w.R = rt_calloc((size_t)N, sizeof(double));
    w.ER = rt_calloc((size_t)N, sizeof(double));
    w.row = rt_calloc((size_t)(ncol > 0 ? ncol : 1), sizeof(double));
    if (nx > nf) w.tfeat = rt_calloc((size_t)N * nf, sizeof(double));
    int bad = !w.samples || !w.rep || !w.prompts || !w.feat || !w.R || !w.ER || !w.row ||
              (nx > nf && !w.tfeat);
    if (!bad && cfg.eval_every > 0) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.n_prompts = cfg.eval_prompts;
        ec.k = 0;
        rt_rng er = rt_rng_split(rng, 3);
        rt_eval_diag ed;
        rc = rt_eval_create(&w.ev, task, &p->model, &ec, &er, &ed);
        if (rc && rc != RT_EVAL_ENOMEM) {
            ws_free(&w);
            return setup_fail(run, diag, RT_RL_EINVAL, "", ed.msg);
        }
        bad = rc != 0;
    }
    long nrows = cfg.steps / cfg.log_every + (cfg.eval_every ? cfg.steps / cfg.eval_every : 0) + 2;
    if (!bad && run) bad = rt_run_reserve(run, nrows) != 0;
    if (bad) {
        ws_free(&w);
        return setup_fail(run, diag, RT_RL_ENOMEM, "", "rl: out of memory");
    }
    int col[N_COLS];
    for (int i = 0; i < N_COLS; i++)
        col[i] = run ? rt_run_column_index(run, columns[i]) : -1;
    int ic = rt_task_feature_index(task, "correct");
    int hcol[RT_RL_HOOK_MAX_METRICS];
    double hval[RT_RL_HOOK_MAX_METRICS];
    for (int k = 0; hook && k < hook->n_metrics; k++) {
        hcol[k] = run ? rt_run_column_index(run, hook->metric_names[k]) : -1;
        hval[k] = NAN;
    }

    rt_rng data = rt_rng_split(rng, 1), gen = rt_rng_split(rng, 2), hks = rt_rng_split(rng, 4);
    if (run) rt_run_start(run);
    double t0 = now_s();
    long step = 0, tokens = 0;
    char msg[256] = "";
    rc = 0;
    while (step < cfg.steps) {
        if (run && rt_run_should_stop(run)) {
            rc = RT_RL_EINTR;
            break;
        }
        long s = step + 1;
        rt_rng ps = rt_rng_split(&data, (uint64_t)s), gs = rt_rng_split(&gen, (uint64_t)s);
        rt_task_sample_batch(task, &ps, 0, RT_TASK_TRAIN, B, w.samples, w.prompts);
        if (rt_rl_sample(w.rl, &p->model, &ref->model, w.prompts, &gs)) {
            snprintf(msg, sizeof msg, "rl: sampling failed at step %ld", s);
            rc = RT_RL_EFAILED;
            break;
        }
        for (int i = 0; i < N; i++)
            w.rep[i] = w.samples[i / G];
        if (nx == nf) {
            rt_task_features_batch(task, w.rep, rt_rl_tokens(w.rl), N, T, w.feat);
        } else { /* task features into the first nf slots of each nx-wide row */
            rt_task_features_batch(task, w.rep, rt_rl_tokens(w.rl), N, T, w.tfeat);
            for (int i = 0; i < N; i++)
                for (int k = 0; k < nx; k++)
                    w.feat[(size_t)i * nx + k] = k < nf ? w.tfeat[(size_t)i * nf + k] : 0.0;
        }
        if (hook) {
            rt_rng hs = rt_rng_split(&hks, (uint64_t)s);
            rt_rl_hook_batch hb = {s, N, G, T, w.rep, rt_rl_tokens(w.rl), rt_rl_lengths(w.rl), &hs};
            char hmsg[200] = "";
            if (hook->fill(hook->user, &hb, w.feat, nx, nf, hval, hmsg, sizeof hmsg)) {
                snprintf(msg, sizeof msg, "rl: %.200s at step %ld", hmsg[0] ? hmsg : "hook failed",
                         s);
                rc = RT_RL_EFAILED;
                break;
            }
        }
        rt_reward_eval_batch(prob->reward, w.feat, (size_t)N, (size_t)nx, prob->params, w.R);
        double rsum = 0.0, acc = 0.0, er = NAN;
        for (int i = 0; i < N; i++) {
            rsum += w.R[i];
            acc += ic >= 0 ? w.feat[(size_t)i * nx + ic] : NAN;
        }
        if (prob->eval_reward) {
            rt_reward_eval_batch(prob->eval_reward, w.feat, (size_t)N, (size_t)nx,
                                 prob->eval_params, w.ER);
            er = 0.0;
            for (int i = 0; i < N; i++)
                er += w.ER[i];
            er /= N;
        }
        rt_rl_metrics m;
        rt_rl_diag ud;
        rc = rt_rl_update(w.rl, &p->model, &ref->model, w.R, &m, &ud);
        if (rc) {
            snprintf(msg, sizeof msg, "rl: %.200s at step %ld", ud.msg, s);
            rc = RT_RL_EFAILED;
            step = s;
            break;
        }
        step = s;
        tokens += m.tokens;
        int want_eval = w.ev && (step % cfg.eval_every == 0 || step == cfg.steps);
        int want_row = step % cfg.log_every == 0 || want_eval || step == cfg.steps;
        if (run && want_row && ncol > 0) {
            double eacc = NAN;
            if (want_eval && rt_eval_greedy(w.ev, &p->model, &eacc, NULL)) {
                snprintf(msg, sizeof msg, "rl: evaluation failed at step %ld", step);
                rc = RT_RL_EFAILED;
                break;
            }
            double v[N_COLS] = {(double)step, (double)tokens, now_s() - t0, rsum / N,
                                acc / N,      eacc,           m.kl_ref,     m.kl_est,
                                m.entropy,    m.length,       m.adv_mean,   m.grad_norm,
                                m.clip_frac,  m.loss,         er,           m.chi2};
            for (int i = 0; i < ncol; i++)
                w.row[i] = NAN;
            for (int i = 0; i < N_COLS; i++)
                if (col[i] >= 0) w.row[col[i]] = v[i];
            for (int k = 0; hook && k < hook->n_metrics; k++)
                if (hcol[k] >= 0) w.row[hcol[k]] = hval[k];
            rt_run_append(run, w.row);
        }
    }
    ws_free(&w);
    if (rc == RT_RL_EINTR) {
        if (run) rt_run_finish(run, RT_RUN_INTERRUPTED, step, "");
        return set_diag(diag, rc, step, "", "rl: interrupted after step %ld", step);
    }
    if (rc) {
        if (run) rt_run_finish(run, RT_RUN_FAILED, step, msg);
        return set_diag(diag, rc, step, "", "%s", msg);
    }
    if (run) rt_run_finish(run, RT_RUN_FINISHED, step, "");
    set_diag(diag, 0, step, "", NULL);
    return 0;
}
