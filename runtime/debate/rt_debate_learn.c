/* rt_debate_learn: the learned debater (rt_debate.h): a small policy over feature
 * indices given the evidence and the two defended actions, its argmax move, and its
 * self-play REINFORCE training against a fixed judge (the "debater" trainer record run
 * by rt_trainer_run).  Leaves out: the run loop (rt_trainer.c), baselines / advantage normalization
 * (the game is zero-sum and symmetric, so the mean return is 0 by construction), separate policies
 * per side, opponent pools. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate_int.h"
#include "rt_nn.h"
#include "rt_math.h"

#define MASKED_LOGIT (-1e30f)

static const char *const learn_cols[] = {"step", "loss", "entropy", "vs_greedy"};

const char *const *rt_debate_learner_columns(int *n)
{
    if (n) *n = 4;
    return learn_cols;
}

void rt_debate_learner_train_init(rt_debate_train_config *cfg)
{
    cfg->steps = 2000;
    cfg->batch = 64;
    cfg->lr = 3e-3f;
    cfg->log_every = 25;
}

int rt_debate_learner_create(const rt_task *task, int evidence, int hidden, const rt_rng *rng,
                             rt_debate_learner **out, rt_diag *err)
{
    *out = NULL;
    if (!task || rt_task_kind_of(task) != &rt_task_kind_triage) {
        rt_debate_set_err(err, RT_EINVAL, 0, "a debater needs a triage task (got %s)",
                          task ? rt_task_kind_name(rt_task_kind_of(task)) : "none");
        return RT_EINVAL;
    }
    int K = (int)rt_task_value(task, "features");
    if (evidence < 1 || evidence > K || hidden < 1 || hidden > 4096) {
        rt_debate_set_err(err, RT_EINVAL, 0,
                          "learned debater: evidence must be between 1 and %d, hidden between "
                          "1 and 4096",
                          K);
        return RT_EINVAL;
    }
    rt_debate_learner *l = rt_calloc(1, sizeof *l);
    if (!l) {
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    l->task = task;
    l->K = K, l->M = (int)rt_task_value(task, "values"), l->A = (int)rt_task_value(task, "actions"),
    l->L = evidence;
    int V = 2 * l->M > l->A ? 2 * l->M : l->A;
    if (rt_dmlp_init(&l->net, l->K + 2, V, hidden, l->K, rng) != 0) {
        rt_free(l);
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    *out = l;
    return 0;
}

void rt_debate_learner_free(rt_debate_learner *l)
{
    if (!l) return;
    rt_dmlp_release(&l->net);
    rt_free(l);
}

void rt_debate_learner_tokens(const rt_debate_learner *l, const int *values, unsigned revealed,
                              int a_self, int a_other, int *tok)
{
    /* debaters know the whole state: value v, plus M if already revealed */
    for (int k = 0; k < l->K; k++)
        tok[k] = values[k] + ((revealed >> k & 1u) ? l->M : 0);
    tok[l->K] = a_self;
    tok[l->K + 1] = a_other;
}

int rt_debate_learner_move(const rt_debate_learner *l, const int *values, unsigned revealed,
                           int a_self, int a_other)
{
    int tok[RT_DEBATE_MAX_K + 2];
    float h[4096], lg[RT_DEBATE_MAX_K];
    rt_debate_learner_tokens(l, values, revealed, a_self, a_other, tok);
    rt_dmlp_forward1(&l->net, tok, h, lg);
    int best = -1;
    for (int k = 0; k < l->K; k++)
        if (!(revealed >> k & 1u) && (best < 0 || lg[k] > lg[best])) best = k;
    return best;
}

/* Mean outcome of the learned debater against greedy over n held-out games per side. */
static double vs_greedy(const rt_debate_learner *l, const rt_debate_judge *j, const rt_rng *rng,
                        int n)
{
    rt_rng st = rt_rng_split(rng, 0);
    long sum = 0;
    for (int i = 0; i < n; i++) {
        rt_task_sample smp;
        rt_task_sample_batch(l->task, &st, (uint64_t)i, RT_TASK_HELDOUT, 1, &smp, NULL);
        rt_rng r = rt_rng_split(rng, 1 + (uint64_t)i);
        int v[RT_DEBATE_MAX_K];
        rt_task_triage_state(l->task, &smp, v);
        int a1 = (int)rt_rng_below(&r, (uint32_t)l->A);
        int a2 = (a1 + 1 + (int)rt_rng_below(&r, (uint32_t)(l->A - 1))) % l->A;
        int first = (int)rt_rng_below(&r, 2);
        rt_debate_game g;
        rt_debate_judge_ctx ctx;
        rt_debate_game_init(&g, &ctx, j, v, a1, a2, first, l->L);
        g.learner = l;
        int o1 = 0, o2 = 0;
        rt_debate_play(&g, RT_DEBATER_LEARNED, RT_DEBATER_GREEDY, NULL, &o1, NULL);
        rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_LEARNED, NULL, &o2, NULL);
        sum += o1 - o2;
    }
    return (double)sum / (2.0 * n);
}

typedef struct game {
    int v[RT_DEBATE_MAX_K];
    int a[2];
    int first;
    unsigned S;
} game;

/* The "debater" trainer record (rt_trainer.h): self-play REINFORCE steps. */
typedef struct learn_st {
    rt_debate_learner *l;
    const rt_debate_judge *j;
    int B;
    rt_adam_config adam;
    rt_rng s_states, s_games, s_eval; /* RT_STREAM_PROMPTS, _SAMPLES and _EVAL */
    double loss_acc, ent_acc;         /* since the previous row */
    long acc_n;
    rt_task_sample *smp; /* (B) */
    game *gm;            /* (B) */
    rt_rng *rngs;        /* (B) */
    int *tok;            /* (L*B, P + 1): tokens, then the sampled moves y */
    float *buf;          /* h, dh (L*B, H); lg, dlg (L*B, K); w (L*B) */
} learn_st;

enum { L_STEP, L_LOSS, L_ENT, L_VS, L_N };
static const int learn_checked[] = {L_LOSS};

static void learn_free(void *arg)
{
    learn_st *w = arg;
    if (!w) return;
    rt_free(w->smp), rt_free(w->gm), rt_free(w->rngs), rt_free(w->tok), rt_free(w->buf);
    rt_free(w);
}

static int learn_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                       rt_diag *d)
{
    const rt_debate_learner_args *a = args;
    rt_debate_learner *l = a ? a->learner : NULL;
    const rt_debate_judge *j = a ? a->judge : NULL;
    const rt_debate_train_config *cfg = a ? a->cfg : NULL;
    if (!l || !j || !cfg || j->K != l->K || j->A != l->A || cfg->steps < 0 || cfg->batch < 1 ||
        !(cfg->lr > 0) || cfg->log_every < 1 || l->A < 2) {
        snprintf(d->msg, sizeof d->msg,
                 "debater training: judge of the same task, steps >= 0, batch >= 1, lr > 0, "
                 "log_every >= 1");
        return RT_EINVAL;
    }
    int B = cfg->batch, K = l->K, L = l->L, P = K + 2, H = l->net.H;
    size_t R = (size_t)L * B;
    learn_st *w = rt_calloc(1, sizeof *w);
    if (w) {
        w->smp = rt_malloc(sizeof *w->smp * (size_t)B);
        w->gm = rt_malloc(sizeof *w->gm * (size_t)B);
        w->rngs = rt_malloc(sizeof *w->rngs * (size_t)B);
        w->tok = rt_malloc(sizeof(int) * R * (P + 1));
        w->buf = rt_malloc(sizeof(float) * R * (2 * H + 2 * K + 1));
    }
    if (!w || !w->smp || !w->gm || !w->rngs || !w->tok || !w->buf) {
        learn_free(w);
        snprintf(d->msg, sizeof d->msg, "debater: out of memory");
        return RT_ENOMEM;
    }
    w->l = l, w->j = j, w->B = B;
    w->adam = rt_dmlp_adam_config(cfg->lr);
    w->s_states = rt_rng_split(rng, RT_STREAM_PROMPTS);
    w->s_games = rt_rng_split(rng, RT_STREAM_SAMPLES);
    w->s_eval = rt_rng_split(rng, RT_STREAM_EVAL);
    *plan = (rt_trainer_plan){.steps = cfg->steps,
                              .log_every = cfg->log_every,
                              .metrics = learn_cols,
                              .n_metrics = L_N,
                              .finite = learn_checked,
                              .n_finite = 1};
    *out = w;
    return 0;
}

static int learn_step(void *arg, long s, double *m, char *msg, size_t cap)
{
    (void)msg, (void)cap;
    learn_st *ws = arg;
    rt_debate_learner *l = ws->l;
    int B = ws->B, K = l->K, L = l->L, P = K + 2, H = l->net.H;
    size_t R = (size_t)L * B;
    game *gm = ws->gm;
    rt_rng *rngs = ws->rngs;
    int *tok = ws->tok, *y = tok + R * P;
    float *h = ws->buf, *dh = h + R * H, *lg = dh + R * H, *dlg = lg + R * K, *w = dlg + R * K;
    rt_rng st = rt_rng_split(&ws->s_states, (uint64_t)s),
           sg = rt_rng_split(&ws->s_games, (uint64_t)s);
    rt_task_sample_batch(l->task, &st, 0, RT_TASK_TRAIN, B, ws->smp, NULL);
    for (int i = 0; i < B; i++) {
        rngs[i] = rt_rng_split(&sg, (uint64_t)i);
        rt_task_triage_state(l->task, &ws->smp[i], gm[i].v);
        gm[i].a[0] = (int)rt_rng_below(&rngs[i], (uint32_t)l->A);
        gm[i].a[1] = (gm[i].a[0] + 1 + (int)rt_rng_below(&rngs[i], (uint32_t)(l->A - 1))) % l->A;
        gm[i].first = (int)rt_rng_below(&rngs[i], 2);
        gm[i].S = 0;
    }
    double ent = 0;
    for (int t = 0; t < L; t++) {
        size_t r0 = (size_t)t * B;
        for (int i = 0; i < B; i++) {
            int mover = (gm[i].first + t) & 1;
            rt_debate_learner_tokens(l, gm[i].v, gm[i].S, gm[i].a[mover], gm[i].a[!mover],
                                     tok + (r0 + i) * P);
        }
        rt_dmlp_forward(&l->net, tok + r0 * P, B, h + r0 * H, lg + r0 * K);
        for (int i = 0; i < B; i++) {
            float *z = lg + (r0 + i) * K;
            double mx = -INFINITY, Z = 0, zl = 0;
            for (int k = 0; k < K; k++) {
                if (gm[i].S >> k & 1u)
                    z[k] = MASKED_LOGIT;
                else if (z[k] > mx)
                    mx = z[k];
            }
            for (int k = 0; k < K; k++)
                if (!(gm[i].S >> k & 1u)) {
                    double e = rt_exp(z[k] - mx);
                    Z += e, zl += e * (z[k] - mx);
                }
            ent += rt_log(Z) - zl / Z;
        }
        rt_nn_sample(y + r0, NULL, lg + r0 * K, B, K, 1.0f, rngs);
        for (int i = 0; i < B; i++)
            gm[i].S |= 1u << y[r0 + i];
    }
    for (int i = 0; i < B; i++) {
        float sc[RT_DEBATE_MAX_A];
        rt_debate_judge_scores(ws->j, gm[i].v, gm[i].S, sc);
        float u1 = sc[gm[i].a[0]] > sc[gm[i].a[1]]   ? 1.0f
                   : sc[gm[i].a[0]] < sc[gm[i].a[1]] ? -1.0f
                                                     : 0.0f;
        for (int t = 0; t < L; t++) {
            int mover = (gm[i].first + t) & 1;
            w[(size_t)t * B + i] = (mover ? -u1 : u1) / (float)B;
        }
    }
    memset(dlg, 0, sizeof(float) * R * K);
    double loss = rt_nn_pg(dlg, lg, y, w, (int)R, K) / L;
    ent /= (double)R;
    m[L_LOSS] = loss;
    if (!isfinite(loss)) return 0; /* the loop fails the run; no update */
    rt_params_zero_grad(&l->net.params);
    rt_dmlp_backward(&l->net, tok, (int)R, h, dlg, dh);
    rt_adam(&l->net.params, &ws->adam, NULL);
    ws->loss_acc += loss, ws->ent_acc += ent, ws->acc_n++;
    return 0;
}

static int learn_row(void *arg, long s, int eval, const int *recorded, double *m, char *msg,
                     size_t cap)
{
    (void)s, (void)eval, (void)msg, (void)cap;
    learn_st *w = arg;
    m[L_LOSS] = w->loss_acc / w->acc_n;
    m[L_ENT] = w->ent_acc / w->acc_n;
    m[L_VS] = recorded[L_VS] ? vs_greedy(w->l, w->j, &w->s_eval, 256) : NAN;
    w->loss_acc = w->ent_acc = 0, w->acc_n = 0;
    return 0;
}

const rt_trainer rt_debate_learner_trainer = {"debater", learn_setup, learn_step,
                                              learn_row, NULL,        learn_free};

int rt_debate_learner_train(rt_debate_learner *l, const rt_debate_judge *j,
                            const rt_debate_train_config *cfg, const rt_rng *rng, rt_run *run,
                            rt_diag *err)
{
    rt_debate_learner_args a = {l, j, cfg};
    rt_diag td;
    int rc = rt_trainer_run(&rt_debate_learner_trainer, &a, rng, run, &td);
    return rt_debate_train_result(rc, &td, err);
}
