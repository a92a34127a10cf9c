/* rt_rm: Bradley–Terry reward models (%%rm) — an ensemble of K members, each a trunk
 * (an rt_model of a policy architecture) with a scalar head, trained on a preference set
 * (rt_pref.h) by the Bradley–Terry loss (rt_pref_loss.h), and scored on batches of
 * sequences; the reward features rm(NAME), rm_mean(NAME), rm_min(NAME) are its provider
 * (rt_rm_reward.c, below).
 *
 * Score.  For a sequence x = prompt (P tokens) ++ answer (n tokens, through its EOS), let
 * z(x) in R^V be the trunk's logit vector at position P + n, the position right after the
 * last answer token (the logits there read the whole sequence, within the architecture's
 * context window: the MLP sees the last `context` tokens before that position).  The head
 * is a V-vector w and a scalar b:
 *     s(x) = w . z(x) + b
 * (summed in double in index order).  The logits are affine in the trunk's last hidden
 * layer, so this is a linear head on the trunk's final features.  Trunk: a copy of a
 * given model (from = POLICY: its weights) or that architecture freshly initialised from
 * the member's stream; head: w_v = head_init * N(0, 1), b = 0.
 *
 * Training (rt_rm_trainer on rt_trainer.h's loop).  Step s, member k: B = batch pairs
 * from rt_pref_sampler on the train split with stream split(split(r, RT_STREAM_SAMPLES), k)
 * (r the run's stream), scores s_c, s_r of chosen and rejected, the BT loss
 *     L = (1/B) sum_i softplus(-(s_c,i - s_r,i - m_i))   (m_i the pair's margin, 0 when absent)
 * with dL/ds from rt_pref_bt_loss (center 0); back through the head: dlogits at that one
 * position = dL/ds * w, dL/dw += dL/ds * z, dL/db += dL/ds; rt_model_backward through
 * the trunk; Adam (lr, torch betas) on the trunk and, separately, on the head.  Members
 * differ in their init stream (split(init, k)) and batch stream, so an ensemble is K
 * independent fits; every member trains in every step (one step = one minibatch per
 * member), so a run gives one curve.  Metrics (rt_rm_columns): loss, acc (train; means
 * over the members and over the steps since the last row), heldout_loss, heldout_acc
 * (over the held-out pairs that are not ties — a tie's label is a coin no model can
 * predict, and the ceiling counts non-tie pairs too — or all pairs when none is marked;
 * mean over members, at evaluation steps; NaN without held-out pairs), margin (mean s_c - s_r of
 * the step's batches), ceiling (the labeler's held-out agreement, rt_pref_stats: what a perfect
 * model of the true reward would score; NaN when unknown), grad_norm (trunk, mean over members).
 * Finite: loss, grad_norm.
 *
 * Normalisation (cfg.normalize, default on).  After a run that FINISHED, member k's raw
 * scores on every train-split answer (chosen and rejected of each pair, 2 n_train values)
 * give their mean mu_k and population sd sd_k; its score becomes (s - mu_k) / sd_k (sd 0:
 * / 1).  TRL's center_rewards_coefficient pushes toward mean 0 during training; we do it
 * exactly afterwards (and scale too), so the members of an ensemble are on one scale and
 * rm_min (a min over members) compares like with like.  Accuracies do not change.
 *
 * Determinism: members train one after another, each with its own workspace; passes are
 * bit-identical at any rt_model_ws_set_threads, sums are fixed-order doubles, so a run is
 * a pure function of (rm, data, cfg, r) at any thread count.  Scoring only reads the rm:
 * many threads may score one rm, each with its own rt_rm_ws.
 *
 * Errors: RT_EINVAL (K outside [1, RT_RM_MAX_ENSEMBLE], steps < 0, batch < 1, lr <= 0,
 * log_every < 1, eval_every < 0, a set without train pairs, a vocabulary or prompt/answer
 * length other than the rm's), RT_ENOMEM; a step fails on a non-finite loss ("rm: loss is
 * nan at step 3") before its update.
 *
 * Ownership: rt_rm owns its trunks and heads; the trainer args borrow the rm (trained in
 * place) and the set.  Leaves out: heads on pooled hidden states, reward-model files,
 * learning-rate schedules, weight decay, ties in the data treated apart (a tie is a pair
 * like any other: its label is the coin's). */
#ifndef RT_RM_H
#define RT_RM_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_params.h"
#include "rt_pref.h"
#include "rt_pref_loss.h"
#include "rt_rl.h"
#include "rt_rng.h"
#include "rt_task.h"
#include "rt_trainer.h"

#define RT_RM_MAX_ENSEMBLE 16
#define RT_RM_REWARD_MAX 8 /* (model, function) slots one run's rewards may read */

typedef struct rt_rm rt_rm;
typedef struct rt_rm_ws rt_rm_ws;

typedef struct rt_rm_config {
    long steps;      /* >= 0 */
    int batch;       /* pairs per member per step, >= 1 */
    float lr;        /* Adam learning rate, > 0 */
    long log_every;  /* >= 1 */
    long eval_every; /* 0: only the last step */
    int normalize;   /* 1: normalise the members after a finished run (above) */
    float grad_clip; /* global norm clipping of trunk and head (each), 0 = off */
    int threads;     /* the workspaces' threads (same bits at any value) */
} rt_rm_config;

/* steps 500, batch 32, lr 1e-3, log_every 10, eval_every 50, normalize 1, grad_clip 0,
 * threads 1. */
void rt_rm_config_defaults(rt_rm_config *c);

/* K members of trunk's architecture and config for sequences of task-shaped prompts
 * (P tokens) and answers (at most T): copy_weights 1, each trunk is a copy of trunk's
 * weights; 0, rt_model_init from split(split(init, k), 0).  Heads from split(split(init,
 * k), 1), w ~ head_init N(0, 1).  Caller frees with rt_rm_free. */
int rt_rm_create(rt_rm **out, const rt_model *trunk, int copy_weights, int K, int P, int T,
                 float head_init, const rt_rng *init, rt_diag *d);
void rt_rm_free(rt_rm *rm);
int rt_rm_ensemble(const rt_rm *rm);
int rt_rm_vocab(const rt_rm *rm);
const rt_model *rt_rm_trunk(const rt_rm *rm, int k);
/* Member k's head: w (V floats) and *b; and its normalisation (shift mu, scale 1/sd;
 * 0 and 1 before normalisation). */
const float *rt_rm_head(const rt_rm *rm, int k, float *b);
void rt_rm_norm(const rt_rm *rm, int k, double *shift, double *scale);
int rt_rm_normalized(const rt_rm *rm);

/* A workspace for scoring (and training) up to max_seqs sequences per pass per member;
 * caller frees with rt_rm_ws_free. */
int rt_rm_ws_create(rt_rm_ws **out, const rt_rm *rm, int max_seqs, rt_diag *d);
void rt_rm_ws_free(rt_rm_ws *ws);
void rt_rm_ws_set_threads(rt_rm_ws *ws, int threads);

/* Scores of N answers: prompts (N), answers (N, T) with lengths (N) in 1..T (tokens
 * through the first EOS).  out (K, N) member-major: out[k N + i] = member k's
 * (normalised, when the rm is) score of answer i.  Any N (done in chunks of the
 * workspace's size).  RT_EINVAL on bad arguments, RT_EMODEL... on a pass failing. */
int rt_rm_score(const rt_rm *rm, rt_rm_ws *ws, const rt_task_sample *prompts, const int *answers,
                const int *lengths, int N, double *out, rt_diag *d);
/* The same for chosen (which 0) or rejected (1) answers of pairs [i0, i0 + n) of a split. */
int rt_rm_score_pairs(const rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, rt_task_split split,
                      int i0, int n, int which, double *out, rt_diag *d);
/* Ensemble reductions of out (K, N) into r (N): mean over members (fixed order), min. */
void rt_rm_mean(const double *out, int K, int N, double *r);
void rt_rm_min(const double *out, int K, int N, double *r);

/* Held-out (or train) BT loss and accuracy of member k (k = -1: the mean over members)
 * over a split's non-tie pairs (all when none is a tie); NaN without pairs. */
int rt_rm_eval(const rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, rt_task_split split, int k,
               double *loss, double *acc, rt_diag *d);

/* One member's loss and gradients (what a training step does before Adam): pairs
 * idx (B) of the split, 2 B <= the workspace's size; the trunk's gradients are zeroed
 * and set (rt_model_backward), the head's (rt_rm_head_params(rm, k)->g: dL/dw, then
 * dL/db) written; *st the BT statistics.  RT_EFAILED "loss is nan" (nothing written to
 * the gradients' head) on a non-finite loss. */
int rt_rm_grad(rt_rm *rm, rt_rm_ws *ws, int k, const rt_pref_set *set, rt_task_split split,
               const int *idx, int B, rt_pref_loss_stats *st, rt_diag *d);
rt_params *rt_rm_head_params(rt_rm *rm, int k); /* w | g | m | v of V + 1 floats */
rt_model *rt_rm_trunk_mut(rt_rm *rm, int k);

/* The trainer record and its arguments (see the top comment). */
typedef struct rt_rm_args {
    rt_rm *rm; /* trained in place */
    const rt_pref_set *data;
    const rt_rm_config *cfg;
} rt_rm_args;
extern const rt_trainer rt_rm_trainer;
/* {"step", "wall", "loss", "acc", "heldout_loss", "heldout_acc", "margin", "ceiling",
 * "grad_norm"} */
const char *const *rt_rm_columns(int *n);
/* rt_trainer_run(&rt_rm_trainer, ...). */
int rt_rm_train(rt_rm *rm, const rt_pref_set *data, const rt_rm_config *cfg, rt_run *run,
                const rt_rng *rng, rt_diag *d);

/* ---- the feature provider "rm" (rt_rm_reward.c) ---------------------------------------
 * rm(NAME) = rm_mean(NAME) = the ensemble mean of NAME's member scores of the sample
 * (prompt ++ answer), rm_min(NAME) = their minimum (conservative; for K = 1 all three are
 * the one member).  create links the rewards to the task's features followed by one slot
 * per (model, reduction) read (rm and rm_mean share one), resolving NAME through
 * env->resolve(env->ctx, FN, NAME, rt_rm_source *out, ...).  Checks, in order: the
 * resolver's error ("unknown reward model 'x' ..."), at most RT_RM_REWARD_MAX slots, a
 * model of the run task's configuration (every task key but noise: "rm 'r' is on task
 * 't', whose configuration differs from this run's task"), the vocabulary and lengths.
 * fill: the slots of the step's N samples, a pure function of them (no draws): the same
 * bits in any chunking and at any thread count.  No metrics.  Each run's workspace holds
 * an rt_rm_ws per model (chunks of 256 sequences). */
typedef struct rt_rm_source {
    const rt_rm *rm;       /* trained; only read */
    const rt_task *task;   /* the task of its preference data */
    const char *task_name; /* in messages */
} rt_rm_source;
extern const rt_feature_provider rt_rm_feature_provider;

#endif
