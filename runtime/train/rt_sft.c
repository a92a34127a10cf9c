/* rt_sft.c: supervised pre-training on demonstrations (see rt_sft.h for the exact
 * batch, loss, metrics and lifecycle): the batch, and the "sft" trainer record (setup,
 * step, row) that rt_trainer_run runs.  Setup allocates every buffer; steps only fill
 * them.  Leaves out: the run loop (rt_trainer.c), schedules, weight decay, validation
 * loss. */
#include "rt_sft.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_fuzz.h"
#include "rt_eval.h"
#include "rt_trainer.h"

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
    c->eval_stream = (rt_eval_stream){0};
}

void rt_sft_batch(const rt_task *task, double noise, const rt_rng *rng, long step, int B,
                  rt_task_sample *samples, int *answers, int *lens, int *noisy)
{
    rt_rng data = rt_rng_split(rng, RT_STREAM_PROMPTS), demo = rt_rng_split(rng, RT_STREAM_SAMPLES);
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
typedef struct sft_st {
    rt_policy *p;
    const rt_task *task;
    rt_sft_config cfg;
    rt_rng rng;
    rt_adam_config adam;
    int B, P, T;
    long tokens, window;     /* answer tokens so far; steps since the last row */
    double loss_sum;         /* of the steps since the last row */
    rt_model_ws *ws;         /* rows B*T */
    rt_eval *ev;             /* NULL when eval_every = 0 */
    rt_task_sample *samples; /* (B) */
    int *answers;            /* (B, RT_TASK_MAX_T) */
    int *lens;               /* (B) */
    int *seqs;               /* (B, P + T) prompt ++ demonstration, PAD after it */
    int *lo;                 /* (2 B): the answer positions [lo[b], hi[b]) of sequence b */
    int *prompts;            /* (B, P) */
    int *tokens_buf;         /* (B, T) */
    double *feat;            /* (B, n_features) */
} sft_st;

static void sft_free(void *arg)
{
    sft_st *w = arg;
    if (!w) return;
    rt_model_ws_free(w->ws);
    rt_eval_free(w->ev);
    rt_free(w->samples);
    rt_free(w->answers);
    rt_free(w->lens);
    rt_free(w->seqs);
    rt_free(w->lo);
    rt_free(w->prompts);
    rt_free(w->tokens_buf);
    rt_free(w->feat);
    rt_free(w);
}

static int fail(rt_diag *d, int code, const char *msg)
{
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    return code;
}

/* Greedy accuracy of p on the current batch's prompts against their true targets. */
static int batch_accuracy(sft_st *w, double *acc)
{
    int B = w->B, P = w->P, T = w->T;
    int nf = rt_task_n_features(w->task), ic = rt_task_feature_index(w->task, "correct");
    for (int b = 0; b < B; b++)
        memcpy(w->prompts + (size_t)b * P, w->samples[b].prompt, sizeof(int) * (size_t)P);
    rt_rng none = rt_rng_make(0); /* greedy decoding draws nothing */
    int rc = rt_model_generate(&w->p->model, w->ws, w->prompts, B, P, T, 0.0f, &none, 0,
                               w->tokens_buf, NULL);
    if (rc) return rc;
    rt_task_features_batch(w->task, w->samples, w->tokens_buf, B, T, w->feat);
    long hits = 0;
    for (int b = 0; b < B; b++)
        hits += w->feat[(size_t)b * nf + ic] > 0.5;
    *acc = (double)hits / B;
    return 0;
}

enum { COL_STEP, COL_TOKENS, COL_WALL, COL_LOSS, COL_ACC, COL_EVAL, COL_GNORM, N_COLS };
static const char *const columns[N_COLS] = {"step",     "tokens",        "wall",     "loss",
                                            "accuracy", "eval_accuracy", "grad_norm"};
static const int checked[] = {COL_LOSS, COL_GNORM}; /* must be finite, in this order */

const char *const *rt_sft_columns(int *n)
{
    if (n) *n = N_COLS;
    return columns;
}

static int sft_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                     rt_diag *d)
{
    const rt_sft_args *a = args;
    if (!a || !a->policy || !a->task || !a->cfg) return fail(d, RT_EINVAL, "sft: missing argument");
    const rt_sft_config *cfg = a->cfg;
    rt_policy *p = a->policy;
    const rt_task *task = a->task;
    if (cfg->steps < 0 || cfg->batch < 1 || !(cfg->lr > 0.0f) || cfg->noise > 1.0 ||
        isnan(cfg->noise) || !(cfg->clip >= 0.0f) || cfg->eval_every < 0 || cfg->log_every < 1 ||
        cfg->eval_prompts < 1)
        return fail(d, RT_EINVAL,
                    "sft: invalid configuration (steps >= 0, batch >= 1, lr > 0, "
                    "noise <= 1, clip >= 0, eval_every >= 0, log_every >= 1, "
                    "eval_prompts >= 1)");
    if (p->model.vocab != rt_task_vocab_size(task))
        return fail(d, RT_EINVAL, "sft: the policy's vocabulary differs from the task's");
    if (rt_task_split_count(task, RT_TASK_TRAIN) == 0 && rt_task_prompt_space(task) == 0)
        return fail(d, RT_EINVAL, "sft: the task has no training prompts");

    int B = RT_FUZZ_CAP(cfg->batch, RT_FUZZ_MAX_BATCH); /* fuzz builds only */
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    int nf = rt_task_n_features(task);
    if ((long)B * T > 1L << 24) return fail(d, RT_EINVAL, "sft: batch too large");
    int rows = B * T;
    sft_st *w = rt_calloc(1, sizeof *w);
    if (!w) return fail(d, RT_ENOMEM, "sft: out of memory");
    *w = (sft_st){.p = p, .task = task, .cfg = *cfg, .rng = *rng, .B = B, .P = P, .T = T};
    w->samples = rt_calloc((size_t)B, sizeof *w->samples);
    w->answers = rt_malloc(sizeof(int) * (size_t)B * RT_TASK_MAX_T);
    w->lens = rt_malloc(sizeof(int) * (size_t)B);
    w->seqs = rt_calloc((size_t)B * (P + T), sizeof(int));
    w->lo = rt_malloc(sizeof(int) * 2 * (size_t)B);
    w->prompts = rt_malloc(sizeof(int) * (size_t)B * P);
    w->tokens_buf = rt_malloc(sizeof(int) * (size_t)B * T);
    w->feat = rt_malloc(sizeof(double) * (size_t)B * nf);
    int bad = !w->samples || !w->answers || !w->lens || !w->seqs || !w->lo || !w->prompts ||
              !w->tokens_buf || !w->feat;
    if (!bad) bad = rt_model_ws_create(&w->ws, &p->model, rows, NULL) != 0;
    if (!bad && cfg->eval_every > 0) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.n_prompts = cfg->eval_prompts;
        ec.k = 0;
        rt_rng er = rt_eval_stream_of(&cfg->eval_stream, rng);
        rt_diag ed;
        int rc = rt_eval_create(&w->ev, task, &p->model, &ec, &er, &ed);
        if (rc && rc != RT_ENOMEM) {
            sft_free(w);
            return fail(d, RT_EINVAL, ed.msg);
        }
        bad = rc != 0;
    }
    if (bad) {
        sft_free(w);
        return fail(d, RT_ENOMEM, "sft: out of memory");
    }
    w->adam = rt_adam_defaults();
    w->adam.lr = cfg->lr;
    w->adam.clip_norm = cfg->clip;
    *plan = (rt_trainer_plan){.steps = cfg->steps,
                              .log_every = cfg->log_every,
                              .eval = cfg->eval_every > 0,
                              .eval_every = cfg->eval_every,
                              .row_on_stop = 1,
                              .metrics = columns,
                              .n_metrics = N_COLS,
                              .finite = checked,
                              .n_finite = 2,
                              /* forward + backward (~2x) over the batch's rows */
                              .step_flops = 3.0 * rows * rt_model_row_flops(&p->model)};
    *out = w;
    return 0;
}

/* Step s: the batch, the loss, the update.  A non-finite loss returns before the update
 * (the loop fails the run naming it). */
static int sft_step(void *arg, long s, double *m, char *msg, size_t cap)
{
    sft_st *w = arg;
    int B = w->B, P = w->P, T = w->T;
    rt_sft_batch(w->task, w->cfg.noise, &w->rng, s, B, w->samples, w->answers, w->lens, NULL);
    int n = 0, *hi = w->lo + B;
    for (int b = 0; b < B; b++) { /* one row per answer token */
        int *seq = w->seqs + (size_t)b * (P + T);
        memcpy(seq, w->samples[b].prompt, sizeof(int) * (size_t)P);
        memcpy(seq + P, w->answers + (size_t)b * RT_TASK_MAX_T, sizeof(int) * (size_t)w->lens[b]);
        w->lo[b] = P, hi[b] = P + w->lens[b];
        n += w->lens[b];
    }
    rt_model_batch demos = {w->seqs, B, P + T, P, w->lo, hi};
    float loss = 0.0f, gnorm = NAN;
    rt_model_zero_grad(&w->p->model);
    int prc = rt_model_xent(&w->p->model, w->ws, &demos, &loss);
    if (prc) {
        snprintf(msg, cap, "policy error: %s", rt_diag_code_name(prc));
        return 1;
    }
    m[COL_LOSS] = loss;
    if (!isfinite(loss)) return 0;
    rt_model_adam(&w->p->model, &w->adam, &gnorm);
    m[COL_GNORM] = gnorm;
    w->tokens += n;
    w->loss_sum += loss;
    w->window++;
    m[COL_TOKENS] = (double)w->tokens;
    return 0;
}

/* The row: mean loss since the previous row, greedy accuracy on this batch, and the
 * held-out accuracy at evaluation steps. */
static int sft_row(void *arg, long s, int eval, const int *recorded, double *m, char *msg,
                   size_t cap)
{
    (void)s, (void)recorded;
    sft_st *w = arg;
    double acc = NAN, eacc = NAN;
    int prc = batch_accuracy(w, &acc);
    if (!prc && eval) prc = rt_eval_greedy(w->ev, &w->p->model, &eacc, NULL);
    if (prc) {
        snprintf(msg, cap, "evaluation failed");
        return 1;
    }
    m[COL_LOSS] = w->window ? w->loss_sum / w->window : NAN;
    m[COL_ACC] = acc;
    m[COL_EVAL] = eacc;
    w->loss_sum = 0.0;
    w->window = 0;
    return 0;
}

const rt_trainer rt_sft_trainer = {"sft", sft_setup, sft_step, sft_row, NULL, sft_free};

int rt_sft_run(rt_policy *p, const rt_task *task, const rt_sft_config *cfg, rt_run *run,
               const rt_rng *rng, rt_diag *diag)
{
    rt_sft_args a = {p, task, cfg};
    rt_diag td;
    int rc = rt_trainer_run(&rt_sft_trainer, &a, rng, run, &td);
    if (diag) {
        diag->code = rc;
        diag->step = td.step;
        snprintf(diag->msg, sizeof diag->msg, "%s", td.msg);
    }
    return rc;
}
