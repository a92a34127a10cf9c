/* rt_sft.c: supervised pre-training on demonstrations (see rt_sft.h for the exact
 * batch, loss, metrics and lifecycle).  Setup allocates every buffer; the step loop
 * only fills them.  Leaves out: schedules, weight decay, validation loss. */
#include "rt_sft.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"
#include "rt_eval.h"

enum { COL_STEP, COL_TOKENS, COL_WALL, COL_LOSS, COL_ACC, COL_EVAL, COL_GNORM, N_COLS };
static const char *const columns[N_COLS] = {"step",     "tokens",        "wall",     "loss",
                                            "accuracy", "eval_accuracy", "grad_norm"};

const char *const *rt_sft_columns(int *n)
{
    if (n) *n = N_COLS;
    return columns;
}

void rt_sft_config_init(rt_sft_config *c)
{
    c->steps = 1000;
    c->batch = 256;
    c->lr = 1e-3f;
    c->noise = -1.0;
    c->clip = 1.0f;
    c->eval_every = 100;
    c->log_every = 10;
    c->eval_prompts = 1024;
}

void rt_sft_batch(const rt_task *task, double noise, const rt_rng *rng, long step, int B,
                  rt_task_sample *samples, int *answers, int *lens, int *noisy)
{
    rt_rng data = rt_rng_split(rng, 1), demo = rt_rng_split(rng, 2);
    rt_rng ps = rt_rng_split(&data, (uint64_t)step), ds = rt_rng_split(&demo, (uint64_t)step);
    rt_task_sample_batch(task, &ps, 0, RT_TASK_TRAIN, B, samples, NULL);
    for (int i = 0; i < B; i++) {
        rt_rng r = rt_rng_split(&ds, (uint64_t)i);
        lens[i] =
            rt_task_demonstrate(task, &samples[i], noise, &r, answers + (size_t)i * RT_TASK_MAX_T,
                                noisy ? &noisy[i] : NULL);
    }
}

/* Everything a run needs, allocated once. */
typedef struct sft_ws {
    rt_model_ws *ws;         /* rows B*T */
    rt_eval *ev;             /* NULL when eval_every = 0 */
    rt_task_sample *samples; /* (B) */
    int *answers;            /* (B, RT_TASK_MAX_T) */
    int *lens;               /* (B) */
    int *seqs;               /* (B, P + T) prompt ++ demonstration, PAD after it */
    int *lo;                 /* (2 B): the answer positions [lo[b], hi[b]) of sequence b */
    int *prompts;            /* (B, P) */
    int *tokens;             /* (B, T) */
    double *feat;            /* (B, n_features) */
    double *row;             /* (run columns) */
} sft_ws;

static void ws_free(sft_ws *w)
{
    rt_model_ws_free(w->ws);
    rt_eval_free(w->ev);
    rt_free(w->samples);
    rt_free(w->answers);
    rt_free(w->lens);
    rt_free(w->seqs);
    rt_free(w->lo);
    rt_free(w->prompts);
    rt_free(w->tokens);
    rt_free(w->feat);
    rt_free(w->row);
}

static int set_diag(rt_sft_diag *d, int code, long step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int set_diag(rt_sft_diag *d, int code, long step, const char *fmt, ...)
{
    if (d) {
        d->code = code;
        d->step = step;
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

/* Setup failure: the run (never started) is finished as failed with the message. */
static int setup_fail(rt_run *run, rt_sft_diag *d, int code, const char *msg)
{
    set_diag(d, code, 0, "%s", msg);
    if (run) rt_run_finish(run, RT_RUN_FAILED, 0, msg);
    return code;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Greedy accuracy of p on the current batch's prompts against their true targets. */
static int batch_accuracy(const rt_model *p, const rt_task *task, sft_ws *w, int B, double *acc)
{
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    int nf = rt_task_n_features(task), ic = rt_task_feature_index(task, "correct");
    for (int b = 0; b < B; b++)
        memcpy(w->prompts + (size_t)b * P, w->samples[b].prompt, sizeof(int) * (size_t)P);
    rt_rng none = rt_rng_make(0); /* greedy decoding draws nothing */
    int rc = rt_model_generate(p, w->ws, w->prompts, B, P, T, 0.0f, &none, 0, w->tokens, NULL);
    if (rc) return rc;
    rt_task_features_batch(task, w->samples, w->tokens, B, T, w->feat);
    long hits = 0;
    for (int b = 0; b < B; b++)
        hits += w->feat[(size_t)b * nf + ic] > 0.5;
    *acc = (double)hits / B;
    return 0;
}

int rt_sft_run(rt_policy *p, const rt_task *task, const rt_sft_config *cfg, rt_run *run,
               const rt_rng *rng, rt_sft_diag *diag)
{
    if (!p || !task || !cfg || !rng)
        return setup_fail(run, diag, RT_SFT_EINVAL, "sft: missing argument");
    if (cfg->steps < 0 || cfg->batch < 1 || !(cfg->lr > 0.0f) || cfg->noise > 1.0 ||
        isnan(cfg->noise) || !(cfg->clip >= 0.0f) || cfg->eval_every < 0 || cfg->log_every < 1 ||
        cfg->eval_prompts < 1)
        return setup_fail(run, diag, RT_SFT_EINVAL,
                          "sft: invalid configuration (steps >= 0, batch >= 1, lr > 0, "
                          "noise <= 1, clip >= 0, eval_every >= 0, log_every >= 1, "
                          "eval_prompts >= 1)");
    if (p->cfg.vocab != rt_task_vocab_size(task))
        return setup_fail(run, diag, RT_SFT_EINVAL,
                          "sft: the policy's vocabulary differs from the task's");
    if (rt_task_split_count(task, RT_TASK_TRAIN) == 0 && rt_task_prompt_space(task) == 0)
        return setup_fail(run, diag, RT_SFT_EINVAL, "sft: the task has no training prompts");

    int B = cfg->batch, P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    int nf = rt_task_n_features(task);
    if ((long)B * T > 1L << 24) return setup_fail(run, diag, RT_SFT_EINVAL, "sft: batch too large");
    int rows = B * T, ncol = run ? rt_run_n_columns(run) : 0;
    sft_ws w = {0};
    w.samples = rt_calloc((size_t)B, sizeof *w.samples);
    w.answers = rt_malloc(sizeof(int) * (size_t)B * RT_TASK_MAX_T);
    w.lens = rt_malloc(sizeof(int) * (size_t)B);
    w.seqs = rt_calloc((size_t)B * (P + T), sizeof(int));
    w.lo = rt_malloc(sizeof(int) * 2 * (size_t)B);
    w.prompts = rt_malloc(sizeof(int) * (size_t)B * P);
    w.tokens = rt_malloc(sizeof(int) * (size_t)B * T);
    w.feat = rt_malloc(sizeof(double) * (size_t)B * nf);
    w.row = rt_malloc(sizeof(double) * (size_t)(ncol > 0 ? ncol : 1));
    int bad = !w.samples || !w.answers || !w.lens || !w.seqs || !w.lo || !w.prompts || !w.tokens ||
              !w.feat || !w.row;
    if (!bad) bad = rt_model_ws_create(&w.ws, &p->model, rows, NULL) != 0;
    if (!bad && cfg->eval_every > 0) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.n_prompts = cfg->eval_prompts;
        ec.k = 0;
        rt_rng er = rt_rng_split(rng, 3);
        rt_eval_diag ed;
        int rc = rt_eval_create(&w.ev, task, &p->model, &ec, &er, &ed);
        if (rc && rc != RT_EVAL_ENOMEM) {
            ws_free(&w);
            return setup_fail(run, diag, RT_SFT_EINVAL, ed.msg);
        }
        bad = rc != 0;
    }
    long nrows_max =
        cfg->steps / cfg->log_every + (cfg->eval_every ? cfg->steps / cfg->eval_every : 0) + 2;
    if (!bad && run) bad = rt_run_reserve(run, nrows_max) != 0;
    if (bad) {
        ws_free(&w);
        return setup_fail(run, diag, RT_SFT_ENOMEM, "sft: out of memory");
    }
    int col[N_COLS];
    for (int i = 0; i < N_COLS; i++)
        col[i] = run ? rt_run_column_index(run, columns[i]) : -1;

    rt_adam_config adam = rt_adam_defaults();
    adam.lr = cfg->lr;
    adam.clip_norm = cfg->clip;
    if (run) rt_run_start(run);
    double t0 = now_s(), loss_sum = 0.0;
    long tokens = 0, window = 0, step = 0, last_row = 0;
    int rc = 0;
    char msg[256] = "";
    float gnorm = NAN;
    for (;;) {
        int stop = run && rt_run_should_stop(run);
        int done = step >= cfg->steps;
        if (!stop && !done) {
            long s = step + 1;
            rt_sft_batch(task, cfg->noise, rng, s, B, w.samples, w.answers, w.lens, NULL);
            int n = 0, *hi = w.lo + B;
            for (int b = 0; b < B; b++) { /* one row per answer token */
                int *seq = w.seqs + (size_t)b * (P + T);
                memcpy(seq, w.samples[b].prompt, sizeof(int) * (size_t)P);
                memcpy(seq + P, w.answers + (size_t)b * RT_TASK_MAX_T,
                       sizeof(int) * (size_t)w.lens[b]);
                w.lo[b] = P, hi[b] = P + w.lens[b];
                n += w.lens[b];
            }
            rt_model_batch demos = {w.seqs, B, P + T, P, w.lo, hi};
            float loss = 0.0f;
            rt_model_zero_grad(&p->model);
            int prc = rt_model_xent(&p->model, w.ws, &demos, &loss);
            if (prc) {
                snprintf(msg, sizeof msg, "sft: policy error %d at step %ld", prc, s);
                rc = RT_SFT_EFAILED;
                break;
            }
            if (!isfinite(loss)) {
                snprintf(msg, sizeof msg, "sft: loss is %s at step %ld",
                         isnan(loss) ? "nan" : "inf", s);
                rc = RT_SFT_EFAILED;
                step = s;
                break;
            }
            rt_model_adam(&p->model, &adam, &gnorm);
            if (!isfinite(gnorm)) {
                snprintf(msg, sizeof msg, "sft: grad_norm is %s at step %ld",
                         isnan(gnorm) ? "nan" : "inf", s);
                rc = RT_SFT_EFAILED;
                step = s;
                break;
            }
            step = s;
            tokens += n;
            loss_sum += loss;
            window++;
        }
        int want_eval =
            w.ev && step > last_row && !stop && (step % cfg->eval_every == 0 || step == cfg->steps);
        int want_row = step > last_row &&
                       (step % cfg->log_every == 0 || want_eval || step == cfg->steps || stop);
        if (run && want_row && ncol > 0) {
            double acc = NAN, eacc = NAN;
            int prc = batch_accuracy(&p->model, task, &w, B, &acc);
            if (!prc && want_eval) prc = rt_eval_greedy(w.ev, &p->model, &eacc, NULL);
            if (prc) {
                snprintf(msg, sizeof msg, "sft: evaluation failed at step %ld", step);
                rc = RT_SFT_EFAILED;
                break;
            }
            double v[N_COLS] = {
                (double)step, (double)tokens, now_s() - t0, window ? loss_sum / window : NAN,
                acc,          eacc,           gnorm};
            for (int i = 0; i < ncol; i++)
                w.row[i] = NAN;
            for (int i = 0; i < N_COLS; i++)
                if (col[i] >= 0) w.row[col[i]] = v[i];
            rt_run_append(run, w.row);
            loss_sum = 0.0;
            window = 0;
            last_row = step;
        }
        if (stop) {
            rc = RT_SFT_EINTR;
            snprintf(msg, sizeof msg, "sft: interrupted after step %ld", step);
            break;
        }
        if (done) break;
    }
    ws_free(&w);
    if (rc == RT_SFT_EINTR) {
        if (run) rt_run_finish(run, RT_RUN_INTERRUPTED, step, "");
        return set_diag(diag, rc, step, "%s", msg);
    }
    if (rc) {
        if (run) rt_run_finish(run, RT_RUN_FAILED, step, msg);
        return set_diag(diag, rc, step, "%s", msg);
    }
    if (run) rt_run_finish(run, RT_RUN_FINISHED, step, "");
    set_diag(diag, 0, step, NULL);
    return 0;
}
