/* rt_dpo.c: the DPO family trained through a model (rt_dpo.h): one minibatch's sequence
 * log-probs, loss and gradient (rt_dpo_batch), and the "dpo" trainer record of the run
 * loop (setup: checks and buffers; step: sampler, batch, Adam; row: window means and the
 * held-out evaluation).  Leaves out: the run loop (rt_trainer.c), the losses themselves
 * (rt_pref_loss.c). */
#include "rt_dpo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_fuzz.h"
#include "rt_nn.h"
#include "rt_score.h"

/* ---- one minibatch -------------------------------------------------------------------- */

struct rt_dpo_ws {
    int max_pairs, P, T, V;
    rt_model_ws *wp, *wr; /* policy (kept passes), reference (scoring) */
    int *seq;             /* (2 max_pairs, P + T) */
    int *lo, *hi, *len;   /* (2 max_pairs) */
    int *y;               /* (rows) the token at each answer row */
    float *lpp, *lpr;     /* (rows) token log-probs of policy and reference */
    float *w;             /* (rows) rt_nn_pg's weights */
    double *s;            /* (4 max_pairs): lp_c, lp_r, lr_c, lr_r */
    double *g;            /* (2 max_pairs): dL/dlp_c, dL/dlp_r */
};

void rt_dpo_ws_free(rt_dpo_ws *w)
{
    if (!w) return;
    rt_model_ws_free(w->wp);
    rt_model_ws_free(w->wr);
    rt_free(w->seq);
    rt_free(w->lo);
    rt_free(w->hi);
    rt_free(w->len);
    rt_free(w->y);
    rt_free(w->lpp);
    rt_free(w->lpr);
    rt_free(w->w);
    rt_free(w->s);
    rt_free(w->g);
    rt_free(w);
}

int rt_dpo_ws_create(rt_dpo_ws **out, const rt_model *policy, const rt_model *ref, int max_pairs,
                     int P, int T, rt_diag *d)
{
    *out = NULL;
    if (!policy || !ref || max_pairs < 1 || P < 0 || T < 1 || T > RT_TASK_MAX_T ||
        policy->vocab != ref->vocab || (long)max_pairs * 2 * T > (1L << 24))
        return rt_diag_set(d, RT_EINVAL, "dpo: bad workspace shape");
    rt_dpo_ws *w = rt_calloc(1, sizeof *w);
    if (!w) return rt_diag_set(d, RT_ENOMEM, "dpo: out of memory");
    size_t S = 2 * (size_t)max_pairs, rows = S * (size_t)T;
    *w = (rt_dpo_ws){.max_pairs = max_pairs, .P = P, .T = T, .V = policy->vocab};
    w->seq = rt_calloc(S * (size_t)(P + T), sizeof(int));
    w->lo = rt_malloc(S * sizeof(int));
    w->hi = rt_malloc(S * sizeof(int));
    w->len = rt_malloc(S * sizeof(int));
    w->y = rt_malloc(rows * sizeof(int));
    w->lpp = rt_malloc(rows * sizeof(float));
    w->lpr = rt_malloc(rows * sizeof(float));
    w->w = rt_malloc(rows * sizeof(float));
    w->s = rt_malloc(4 * (size_t)max_pairs * sizeof(double));
    w->g = rt_malloc(2 * (size_t)max_pairs * sizeof(double));
    int bad = !w->seq || !w->lo || !w->hi || !w->len || !w->y || !w->lpp || !w->lpr || !w->w ||
              !w->s || !w->g;
    if (!bad) bad = rt_model_ws_create(&w->wp, policy, (int)rows, NULL) != 0;
    if (!bad) bad = rt_model_ws_create(&w->wr, ref, (int)rows, NULL) != 0;
    if (bad) {
        rt_dpo_ws_free(w);
        return rt_diag_set(d, RT_ENOMEM, "dpo: out of memory");
    }
    *out = w;
    return 0;
}

void rt_dpo_ws_set_threads(rt_dpo_ws *w, int threads)
{
    rt_model_ws_set_threads(w->wp, threads);
    rt_model_ws_set_threads(w->wr, threads);
}

int rt_dpo_batch(rt_dpo_ws *w, rt_model *policy, const rt_model *ref, const rt_pref_set *set,
                 rt_task_split split, const int *idx, int n, const rt_pref_dpo_config *c, int grad,
                 rt_pref_loss_stats *st, double *lp_c, double *lp_r, double *lr_c, double *lr_r,
                 rt_diag *d)
{
    if (!w || !policy || !ref || !set || !idx || !c || n < 1 || n > w->max_pairs)
        return rt_diag_set(d, RT_EINVAL, "dpo: bad minibatch");
    int rc = rt_pref_dpo_check(c, d);
    if (rc) return rc;
    const rt_pref_loss_type *type = c->type ? c->type : rt_pref_loss_find("dpo");
    int P = w->P, T = w->T, L = P + T, S = 2 * n;
    long rows = 0;
    for (int i = 0; i < n; i++) {
        const rt_pref_pair *p = rt_pref_at(set, split, idx[i]);
        if (!p) return rt_diag_set(d, RT_EINVAL, "dpo: no pair %d in the split", idx[i]);
        for (int k = 0; k < 2; k++) { /* sequence 2i: chosen, 2i + 1: rejected */
            int q = 2 * i + k, *sq = w->seq + (size_t)q * L;
            int len = rt_pref_sequence(p, k, P, T, sq);
            if (len < 1 || len > T)
                return rt_diag_set(d, RT_EINVAL,
                                   "dpo: pair %d has an answer of %d tokens "
                                   "(the task allows 1 to %d)",
                                   idx[i], len, T);
            w->lo[q] = P, w->hi[q] = P + len, w->len[q] = len;
            for (int t = 0; t < len; t++)
                w->y[rows++] = sq[P + t];
        }
    }
    rt_model_batch b = {w->seq, S, L, P, w->lo, w->hi};
    rc = rt_model_score(ref, w->wr, &b, 1.0f, w->lpr);
    if (!rc)
        rc = grad ? rt_model_logprobs(policy, w->wp, &b, w->lpp)
                  : rt_model_score(policy, w->wp, &b, 1.0f, w->lpp);
    if (rc) return rt_diag_set(d, rc, "dpo: a model pass failed (%s)", rt_diag_code_name(rc));
    /* sequence sums in token order (means per token for per_token types) */
    double *lpc = w->s, *lpr_ = w->s + n, *lrc = w->s + 2 * n, *lrr = w->s + 3 * n;
    long r = 0;
    for (int q = 0; q < S; q++) {
        double sp = 0.0, sr = 0.0;
        for (int t = 0; t < w->len[q]; t++, r++)
            sp += w->lpp[r], sr += w->lpr[r];
        if (type->per_token) sp /= w->len[q], sr /= w->len[q];
        int i = q / 2;
        if (q % 2)
            lpr_[i] = sp, lrr[i] = sr;
        else
            lpc[i] = sp, lrc[i] = sr;
    }
    double *gc = w->g, *gr = w->g + n;
    rc = rt_pref_dpo_loss(c, n, lpc, lpr_, lrc, lrr, NULL, grad ? gc : NULL, grad ? gr : NULL, st,
                          d);
    if (rc) return rc;
    if (lp_c) memcpy(lp_c, lpc, sizeof(double) * (size_t)n);
    if (lp_r) memcpy(lp_r, lpr_, sizeof(double) * (size_t)n);
    if (lr_c) memcpy(lr_c, lrc, sizeof(double) * (size_t)n);
    if (lr_r) memcpy(lr_r, lrr, sizeof(double) * (size_t)n);
    if (!grad) return 0;
    /* dL/dlogits at a row = g (onehot - softmax) = rt_nn_pg's w (softmax - onehot), w = -g */
    r = 0;
    for (int q = 0; q < S; q++) {
        double g = q % 2 ? gr[q / 2] : gc[q / 2];
        if (type->per_token) g /= w->len[q];
        for (int t = 0; t < w->len[q]; t++)
            w->w[r++] = (float)-g;
    }
    float *dl = rt_model_ws_scratch(w->wp);
    memset(dl, 0, sizeof(float) * (size_t)rows * (size_t)w->V);
    rt_nn_pg(dl, rt_model_ws_logits(w->wp), w->y, w->w, (int)rows, w->V);
    rc = rt_model_backward(policy, w->wp, dl);
    if (rc) return rt_diag_set(d, rc, "dpo: backward failed (%s)", rt_diag_code_name(rc));
    return 0;
}

/* ---- the trainer ---------------------------------------------------------------------- */

void rt_dpo_config_init(rt_dpo_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->loss.type = rt_pref_loss_find("dpo");
    cfg->loss.beta = 0.1;
    cfg->loss.label_smoothing = 0.0;
    cfg->steps = 200;
    cfg->batch = 32;
    cfg->adam = rt_adam_defaults();
    cfg->adam.lr = 1e-3f;
    cfg->log_every = 1;
    cfg->eval_every = 20;
    cfg->eval_prompts = 256;
    cfg->threads = 1;
}

enum {
    COL_STEP,
    COL_WALL,
    COL_LOSS,
    COL_ACC,
    COL_CHOSEN,
    COL_REJECTED,
    COL_MARGIN,
    COL_HLOSS,
    COL_HACC,
    COL_HMARGIN,
    COL_KL,
    COL_EVAL_REWARD,
    COL_EVAL_ACC,
    COL_GNORM,
    N_COLS
};
static const char *const columns[N_COLS] = {"step",          "wall",
                                            "loss",          "acc",
                                            "chosen_reward", "rejected_reward",
                                            "margin",        "heldout_loss",
                                            "heldout_acc",   "heldout_margin",
                                            "kl_ref",        "eval_reward",
                                            "eval_accuracy", "grad_norm"};
static const int checked[] = {COL_LOSS, COL_GNORM};

const char *const *rt_dpo_columns(int *n)
{
    if (n) *n = N_COLS;
    return columns;
}

typedef struct dpo_st {
    rt_dpo_args a;
    rt_dpo_config cfg;
    rt_adam_config adam;
    int B, P, T, nf, chunk;
    rt_pref_sampler sampler;
    rt_dpo_ws *ws;
    rt_eval *ev;
    rt_rng r_eval; /* E */
    int *idx;      /* (B) */
    /* eval_reward: one sample per evaluator prompt, in chunks */
    rt_task_sample *samples; /* (chunk) */
    int *prompts, *tokens;   /* (chunk, P), (chunk, T) */
    double *feat, *rew;      /* (chunk, nf), (chunk) */
    /* the window since the previous row */
    double sum[6]; /* loss, acc, chosen, rejected, margin, grad_norm */
    long window;
} dpo_st;

static void dpo_free(void *arg)
{
    dpo_st *w = arg;
    if (!w) return;
    rt_pref_sampler_free(&w->sampler);
    rt_dpo_ws_free(w->ws);
    rt_eval_free(w->ev);
    rt_free(w->idx);
    rt_free(w->samples);
    rt_free(w->prompts);
    rt_free(w->tokens);
    rt_free(w->feat);
    rt_free(w->rew);
    rt_free(w);
}

static int bad(rt_diag *d, const char *key, const char *msg)
{
    return rt_diag_key(d, RT_EINVAL, key, "dpo: %s", msg);
}

static int dpo_setup(void **out, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                     rt_diag *d)
{
    const rt_dpo_args *a = args;
    if (!a || !a->policy || !a->ref || !a->set || !a->task || !a->cfg)
        return bad(d, NULL, "missing argument");
    const rt_dpo_config *cfg = a->cfg;
    const rt_task *task = a->task;
    int V = rt_task_vocab_size(task);
    if (a->policy->vocab != V) return bad(d, "from", "the policy's vocabulary is not the task's");
    if (a->ref->vocab != V)
        return bad(d, "reference", "the reference's vocabulary is not the task's");
    rt_diag ld = {0};
    if (rt_pref_dpo_check(&cfg->loss, &ld))
        return rt_diag_key(d, RT_EINVAL, ld.key, "dpo: %s", ld.msg);
    if (cfg->steps < 0) return bad(d, "steps", "steps must be >= 0");
    if (cfg->batch < 1) return bad(d, "batch", "batch must be >= 1");
    if (!(cfg->adam.lr > 0.0f) || !isfinite(cfg->adam.lr)) return bad(d, "lr", "lr must be > 0");
    if (cfg->log_every < 1) return bad(d, "log_every", "log_every must be >= 1");
    if (cfg->eval_every < 0) return bad(d, "eval_every", "eval_every must be >= 0");
    if (cfg->eval_prompts < 1) return bad(d, "eval_prompts", "eval_prompts must be >= 1");
    if (cfg->threads < 1) return bad(d, "threads", "threads must be >= 1");
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    if (a->set->n_train < 1) return bad(d, "data", "the preference set has no train pairs");
    for (int i = 0; i < a->set->n; i++) {
        const rt_pref_pair *p = &a->set->pairs[i];
        if (p->n_chosen < 1 || p->n_chosen > T || p->n_rejected < 1 || p->n_rejected > T)
            return rt_diag_key(d, RT_EINVAL, "data",
                               "dpo: pair %d has an answer outside 1..%d tokens (the task's)", i,
                               T);
    }
    int nf = rt_task_n_features(task);
    if (a->eval_reward && (rt_reward_min_slots(a->eval_reward) > nf ||
                           (rt_reward_n_params(a->eval_reward) > 0 && !a->eval_params)))
        return bad(d, "eval_reward", "the eval reward is not linked to the task's features");

    dpo_st *w = rt_calloc(1, sizeof *w);
    if (!w) return rt_diag_set(d, RT_ENOMEM, "dpo: out of memory");
    w->a = *a;
    w->cfg = *cfg;
    w->adam = cfg->adam;
    w->B = RT_FUZZ_CAP(cfg->batch, RT_FUZZ_MAX_BATCH);
    w->P = P, w->T = T, w->nf = nf;
    w->chunk = 2 * w->B < cfg->eval_prompts ? 2 * w->B : cfg->eval_prompts;
    w->sampler.epoch = -1;
    rt_rng rs = rt_rng_split(rng, RT_STREAM_SAMPLES);
    int rc = rt_pref_sampler_init(&w->sampler, a->set, RT_TASK_TRAIN, &rs, d);
    if (!rc) rc = rt_dpo_ws_create(&w->ws, a->policy, a->ref, w->B, P, T, d);
    if (rc) {
        dpo_free(w);
        return rc;
    }
    rt_dpo_ws_set_threads(w->ws, cfg->threads);
    w->r_eval = rt_eval_stream_of(&cfg->eval_stream, rng);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.n_prompts = cfg->eval_prompts;
    ec.k = 0;
    rt_diag ed = {0};
    rc = rt_eval_create(&w->ev, task, a->policy, &ec, &w->r_eval, &ed);
    if (rc) {
        dpo_free(w);
        return rt_diag_set(d, rc == RT_ENOMEM ? RT_ENOMEM : RT_EINVAL, "dpo: %s", ed.msg);
    }
    size_t C = (size_t)w->chunk;
    w->idx = rt_malloc(sizeof(int) * (size_t)w->B);
    w->samples = rt_calloc(C, sizeof *w->samples);
    w->prompts = rt_calloc(C * (size_t)(P > 0 ? P : 1), sizeof(int));
    w->tokens = rt_calloc(C * (size_t)T, sizeof(int));
    w->feat = rt_calloc(C * (size_t)(nf > 0 ? nf : 1), sizeof(double));
    w->rew = rt_calloc(C, sizeof(double));
    if (!w->idx || !w->samples || !w->prompts || !w->tokens || !w->feat || !w->rew) {
        dpo_free(w);
        return rt_diag_set(d, RT_ENOMEM, "dpo: out of memory");
    }
    *plan = (rt_trainer_plan){
        .steps = cfg->steps,
        .log_every = cfg->log_every,
        .eval = 1,
        .eval_every = cfg->eval_every,
        .eval_at_start = 1,
        .metrics = columns,
        .n_metrics = N_COLS,
        .finite = checked,
        .n_finite = 2,
        /* 2B answers: the policy's forward and backward, the
           reference's scoring */
        .step_flops =
            2.0 * w->B * T * (3.0 * rt_model_row_flops(a->policy) + rt_model_row_flops(a->ref))};
    *out = w;
    return 0;
}

static int dpo_step(void *arg, long s, double *m, char *msg, size_t cap)
{
    dpo_st *w = arg;
    rt_pref_sampler_next(&w->sampler, s - 1, w->B, w->idx);
    rt_model_zero_grad(w->a.policy);
    rt_pref_loss_stats st;
    rt_diag d = {0};
    if (rt_dpo_batch(w->ws, w->a.policy, w->a.ref, w->a.set, RT_TASK_TRAIN, w->idx, w->B,
                     &w->cfg.loss, 1, &st, NULL, NULL, NULL, NULL, &d)) {
        snprintf(msg, cap, "%s", d.msg);
        return 1;
    }
    m[COL_LOSS] = st.loss;
    if (!isfinite(st.loss)) return 0; /* the loop fails the run before any update */
    float gnorm = NAN;
    rt_model_adam(w->a.policy, &w->adam, &gnorm);
    m[COL_GNORM] = gnorm;
    double v[6] = {st.loss, st.accuracy, st.chosen, st.rejected, st.margin, gnorm};
    for (int k = 0; k < 6; k++)
        w->sum[k] += v[k];
    w->window++;
    return 0;
}

/* heldout_*: every held-out pair, minibatches of B, weighted by their pair counts. */
static int heldout(dpo_st *w, double *m, rt_diag *d)
{
    int n = rt_pref_count(w->a.set, RT_TASK_HELDOUT);
    double sl = 0, sa = 0, sm = 0;
    for (int i0 = 0; i0 < n; i0 += w->B) {
        int k = n - i0 < w->B ? n - i0 : w->B;
        for (int j = 0; j < k; j++)
            w->idx[j] = i0 + j;
        rt_pref_loss_stats st;
        int rc = rt_dpo_batch(w->ws, w->a.policy, w->a.ref, w->a.set, RT_TASK_HELDOUT, w->idx, k,
                              &w->cfg.loss, 0, &st, NULL, NULL, NULL, NULL, d);
        if (rc) return rc;
        sl += st.loss * k, sa += st.accuracy * k, sm += st.margin * k;
    }
    if (n > 0) m[COL_HLOSS] = sl / n, m[COL_HACC] = sa / n, m[COL_HMARGIN] = sm / n;
    return 0;
}

/* eval_reward: one answer per evaluator prompt from pi_theta at temperature 1. */
static int eval_reward(dpo_st *w, double *out)
{
    int n = rt_eval_n_prompts(w->ev), P = w->P, T = w->T, C = w->chunk;
    rt_rng rs = rt_rng_split(&w->r_eval, RT_DPO_EVAL_SAMPLES);
    rt_model_ws *ws = w->ws->wp;
    double sum = 0.0;
    for (int i0 = 0; i0 < n; i0 += C) {
        int k = n - i0 < C ? n - i0 : C;
        for (int j = 0; j < k; j++) {
            w->samples[j] = *rt_eval_prompt(w->ev, i0 + j);
            memcpy(w->prompts + (size_t)j * P, w->samples[j].prompt, sizeof(int) * (size_t)P);
        }
        int rc = rt_model_generate(w->a.policy, ws, w->prompts, k, P, T, 1.0f, &rs, (uint64_t)i0,
                                   w->tokens, NULL);
        if (rc) return rc;
        rt_task_features_batch(w->a.task, w->samples, w->tokens, k, T, w->feat);
        rt_score_batch(w->a.task, w->a.eval_reward, w->a.eval_params, w->samples, w->tokens, k, T,
                       w->feat, (size_t)w->nf, w->rew);
        for (int j = 0; j < k; j++)
            sum += w->rew[j];
    }
    *out = n > 0 ? sum / n : NAN;
    return 0;
}

static int dpo_row(void *arg, long s, int eval, const int *recorded, double *m, char *msg,
                   size_t cap)
{
    (void)s;
    dpo_st *w = arg;
    if (w->window) {
        static const int cols[6] = {COL_LOSS,     COL_ACC,    COL_CHOSEN,
                                    COL_REJECTED, COL_MARGIN, COL_GNORM};
        for (int k = 0; k < 6; k++)
            m[cols[k]] = w->sum[k] / (double)w->window;
    }
    memset(w->sum, 0, sizeof w->sum);
    w->window = 0;
    if (!eval) return 0;
    rt_diag d = {0};
    if ((recorded[COL_HLOSS] || recorded[COL_HACC] || recorded[COL_HMARGIN]) && heldout(w, m, &d)) {
        snprintf(msg, cap, "held-out loss failed: %s", d.msg);
        return 1;
    }
    if (recorded[COL_KL]) {
        rt_eval_kl_result kr;
        if (rt_eval_kl(w->a.policy, w->a.ref, w->a.task, RT_TASK_HELDOUT, w->cfg.eval_prompts,
                       &w->r_eval, &kr, &d)) {
            snprintf(msg, cap, "kl_ref failed: %s", d.msg);
            return 1;
        }
        m[COL_KL] = kr.kl;
    }
    if (recorded[COL_EVAL_ACC] && rt_eval_greedy(w->ev, w->a.policy, &m[COL_EVAL_ACC], &d)) {
        snprintf(msg, cap, "evaluation failed: %s", d.msg);
        return 1;
    }
    if (w->a.eval_reward && recorded[COL_EVAL_REWARD] && eval_reward(w, &m[COL_EVAL_REWARD])) {
        snprintf(msg, cap, "eval_reward failed");
        return 1;
    }
    return 0;
}

const rt_trainer rt_dpo_trainer = {"dpo", dpo_setup, dpo_step, dpo_row, NULL, dpo_free};

int rt_dpo_run(const rt_dpo_args *a, rt_run *run, const rt_rng *rng, rt_diag *diag)
{
    rt_diag td = {0};
    int rc = rt_trainer_run(&rt_dpo_trainer, a, rng, run, &td);
    if (diag) {
        *diag = td;
        diag->code = rc;
    }
    return rc;
}
