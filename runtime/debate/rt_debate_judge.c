/* rt_debate_judge: the debate judge J(evidence, action) (rt_debate.h): creation,
 * Bradley–Terry training on "demonstrator's action > a random other action" with L
 * random revealed features (the "judge" trainer record run by rt_trainer_run), scoring
 * and held-out top-1 and pairwise accuracies (paired: the same states).  Leaves out: the
 * run loop (rt_trainer.c), training on noisy demonstrations, judges with memory of the
 * debate's order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate_int.h"
#include "rt_math.h"

static const char *const judge_cols[] = {"step", "loss", "pairwise_acc"};

const char *const *rt_debate_judge_columns(int *n)
{
    if (n) *n = 3;
    return judge_cols;
}

void rt_debate_judge_train_init(rt_debate_train_config *cfg)
{
    cfg->steps = 1500;
    cfg->batch = 64;
    cfg->lr = 3e-3f;
    cfg->log_every = 50;
}

int rt_debate_judge_create(const rt_task *task, int hidden, const rt_rng *rng,
                           rt_debate_judge **out, rt_diag *err)
{
    *out = NULL;
    if (!task || rt_task_kind_of(task) != &rt_task_kind_triage) {
        rt_debate_set_err(err, RT_EINVAL, 0, "a judge needs a triage task (got %s)",
                          task ? rt_task_kind_name(rt_task_kind_of(task)) : "none");
        return RT_EINVAL;
    }
    if (hidden < 1 || hidden > 4096) {
        rt_debate_set_err(err, RT_EINVAL, 0, "judge hidden must be between 1 and 4096");
        return RT_EINVAL;
    }
    rt_debate_judge *j = rt_calloc(1, sizeof *j);
    if (!j) {
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    j->task = task;
    j->K = (int)rt_task_value(task, "features"), j->M = (int)rt_task_value(task, "values"),
    j->A = (int)rt_task_value(task, "actions");
    if (rt_dmlp_init(&j->net, j->K, j->M + 1, hidden, j->A, rng) != 0) {
        rt_free(j);
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    *out = j;
    return 0;
}

void rt_debate_judge_free(rt_debate_judge *j)
{
    if (!j) return;
    rt_dmlp_release(&j->net);
    rt_free(j);
}

void rt_debate_judge_tokens(const rt_debate_judge *j, const int *values, unsigned revealed,
                            int *tok)
{
    for (int k = 0; k < j->K; k++)
        tok[k] = (revealed >> k & 1u) ? values[k] : j->M;
}

void rt_debate_judge_scores(const rt_debate_judge *j, const int *values, unsigned revealed,
                            float *scores)
{
    int tok[RT_DEBATE_MAX_K];
    float h[4096];
    rt_debate_judge_tokens(j, values, revealed, tok);
    rt_dmlp_forward1(&j->net, tok, h, scores);
}

static double softplus(double x)
{
    return x > 0 ? x + rt_log1p(rt_exp(-x)) : rt_log1p(rt_exp(x));
}

/* The "judge" trainer record (rt_trainer.h): Bradley–Terry steps on pairs. */
typedef struct judge_st {
    rt_debate_judge *j;
    int evidence, B;
    rt_adam_config adam;
    rt_rng s_states, s_pairs; /* the RT_STREAM_PROMPTS and RT_STREAM_SAMPLES streams */
    double loss_acc;          /* the step losses since the previous row */
    long loss_n;
    rt_task_sample *smp; /* (B) */
    int *tok, *dem;      /* (B, K), (B, 2) */
    float *buf;          /* h, dh (B, H); out, dout (B, A) */
} judge_st;

enum { J_STEP, J_LOSS, J_ACC, J_N };
static const int judge_checked[] = {J_LOSS};

static void judge_free(void *arg)
{
    judge_st *w = arg;
    if (!w) return;
    rt_free(w->smp), rt_free(w->tok), rt_free(w->dem), rt_free(w->buf), rt_free(w);
}

static int judge_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                       rt_diag *d)
{
    const rt_debate_judge_args *a = args;
    const rt_debate_train_config *cfg = a ? a->cfg : NULL;
    rt_debate_judge *j = a ? a->judge : NULL;
    if (!j || !cfg || a->evidence < 1 || a->evidence > j->K || cfg->steps < 0 || cfg->batch < 1 ||
        !(cfg->lr > 0) || cfg->log_every < 1) {
        snprintf(d->msg, sizeof d->msg,
                 "judge training: evidence must be 1..K, steps >= 0, batch >= 1, lr > 0, "
                 "log_every >= 1");
        return RT_EINVAL;
    }
    int B = cfg->batch, K = j->K, A = j->A, H = j->net.H;
    judge_st *w = rt_calloc(1, sizeof *w);
    if (w) {
        w->smp = rt_malloc(sizeof *w->smp * (size_t)B);
        w->tok = rt_malloc(sizeof(int) * (size_t)B * K);
        w->dem = rt_malloc(sizeof(int) * (size_t)B * 2);
        w->buf = rt_malloc(sizeof(float) * (size_t)B * (2 * H + 2 * A));
    }
    if (!w || !w->smp || !w->tok || !w->dem || !w->buf) {
        judge_free(w);
        snprintf(d->msg, sizeof d->msg, "judge: out of memory");
        return RT_ENOMEM;
    }
    w->j = j, w->evidence = a->evidence, w->B = B;
    w->adam = rt_dmlp_adam_config(cfg->lr);
    w->s_states = rt_rng_split(rng, RT_STREAM_PROMPTS);
    w->s_pairs = rt_rng_split(rng, RT_STREAM_SAMPLES);
    *plan = (rt_trainer_plan){.steps = cfg->steps,
                              .log_every = cfg->log_every,
                              .metrics = judge_cols,
                              .n_metrics = J_N,
                              .finite = judge_checked,
                              .n_finite = 1};
    *out = w;
    return 0;
}

static int judge_step(void *arg, long s, double *m, char *msg, size_t cap)
{
    (void)msg, (void)cap;
    judge_st *w = arg;
    rt_debate_judge *j = w->j;
    int B = w->B, K = j->K, A = j->A, H = j->net.H;
    int *tok = w->tok, *dem = w->dem;
    float *h = w->buf, *dh = h + (size_t)B * H, *out = dh + (size_t)B * H,
          *dout = out + (size_t)B * A;
    rt_rng st = rt_rng_split(&w->s_states, (uint64_t)s),
           sp = rt_rng_split(&w->s_pairs, (uint64_t)s);
    rt_task_sample_batch(j->task, &st, 0, RT_TASK_TRAIN, B, w->smp, NULL);
    for (int i = 0; i < B; i++) {
        rt_rng r = rt_rng_split(&sp, (uint64_t)i);
        int v[RT_DEBATE_MAX_K];
        rt_task_triage_state(j->task, &w->smp[i], v);
        unsigned sub = rt_debate_random_subset(&r, K, w->evidence);
        int dm = rt_task_triage_demo_action(j->task, &w->smp[i]);
        int o = (dm + 1 + (int)rt_rng_below(&r, (uint32_t)(A - 1))) % A;
        rt_debate_judge_tokens(j, v, sub, tok + (size_t)i * K);
        dem[2 * i] = dm, dem[2 * i + 1] = o;
    }
    rt_dmlp_forward(&j->net, tok, B, h, out);
    double loss = 0;
    int right = 0;
    memset(dout, 0, sizeof(float) * (size_t)B * A);
    for (int i = 0; i < B; i++) {
        int dm = dem[2 * i], o = dem[2 * i + 1];
        double x = (double)out[(size_t)i * A + o] - out[(size_t)i * A + dm];
        loss += softplus(x);
        right += x < 0;
        float g = (float)(1.0 / (1.0 + rt_exp(-x)) / B); /* d loss / d x */
        dout[(size_t)i * A + o] += g;
        dout[(size_t)i * A + dm] -= g;
    }
    loss /= B;
    m[J_LOSS] = loss;
    if (!isfinite(loss)) return 0; /* the loop fails the run; no update */
    rt_params_zero_grad(&j->net.params);
    rt_dmlp_backward(&j->net, tok, B, h, dout, dh);
    rt_adam(&j->net.params, &w->adam, NULL);
    w->loss_acc += loss, w->loss_n++;
    m[J_ACC] = (double)right / B;
    return 0;
}

static int judge_row(void *arg, long s, int eval, const int *recorded, double *m, char *msg,
                     size_t cap)
{
    (void)s, (void)eval, (void)recorded, (void)msg, (void)cap;
    judge_st *w = arg;
    m[J_LOSS] = w->loss_acc / w->loss_n;
    w->loss_acc = 0, w->loss_n = 0;
    return 0;
}

const rt_trainer rt_debate_judge_trainer = {"judge",   judge_setup, judge_step,
                                            judge_row, NULL,        judge_free};

int rt_debate_train_result(int rc, const rt_diag *td, rt_diag *err)
{
    if (!rc) return 0;
    int code = rc == RT_EFAILED ? RT_EFAILED
               : rc == RT_EINTR ? RT_EINTR
                                        : rc; /* EINVAL, ENOMEM: the same numbers */
    rt_debate_set_err(err, code, td->step, "%s", td->msg);
    return code;
}

int rt_debate_judge_train(rt_debate_judge *j, int evidence, const rt_debate_train_config *cfg,
                          const rt_rng *rng, rt_run *run, rt_diag *err)
{
    rt_debate_judge_args a = {j, evidence, cfg};
    rt_diag td;
    int rc = rt_trainer_run(&rt_debate_judge_trainer, &a, rng, run, &td);
    return rt_debate_train_result(rc, &td, err);
}

int rt_debate_judge_eval(const rt_debate_judge *j, int evidence, int n, const rt_rng *rng,
                         rt_debate_judge_score *sc, unsigned char *top1, unsigned char *pair)
{
    if (!j || !rng || !sc || evidence < 1 || evidence > j->K || n < 1) return RT_EINVAL;
    rt_rng st = rt_rng_split(rng, 0);
    long right = 0, pright = 0;
    for (int i = 0; i < n; i++) {
        rt_task_sample smp;
        rt_task_sample_batch(j->task, &st, (uint64_t)i, RT_TASK_HELDOUT, 1, &smp, NULL);
        rt_rng r = rt_rng_split(rng, 1 + (uint64_t)i);
        int v[RT_DEBATE_MAX_K];
        rt_task_triage_state(j->task, &smp, v);
        unsigned sub = rt_debate_random_subset(&r, j->K, evidence);
        /* the other action of the pair: drawn after the subset, as in training */
        int d = rt_task_triage_demo_action(j->task, &smp), top = 1;
        int o = (d + 1 + (int)rt_rng_below(&r, (uint32_t)(j->A - 1))) % j->A;
        float s[RT_DEBATE_MAX_A];
        rt_debate_judge_scores(j, v, sub, s);
        for (int a = 0; a < j->A; a++)
            if (a != d && !(s[d] > s[a])) top = 0;
        int pw = s[d] > s[o];
        right += top, pright += pw;
        if (top1) top1[i] = (unsigned char)top;
        if (pair) pair[i] = (unsigned char)pw;
    }
    sc->top1 = (double)right / n;
    sc->pairwise = (double)pright / n;
    sc->n = n;
    return 0;
}

int rt_debate_judge_accuracy(const rt_debate_judge *j, int evidence, int n, const rt_rng *rng,
                             double *acc)
{
    rt_debate_judge_score sc;
    if (!acc) return RT_EINVAL;
    int rc = rt_debate_judge_eval(j, evidence, n, rng, &sc, NULL, NULL);
    if (!rc) *acc = sc.top1;
    return rc;
}
