/* rt_dpo: offline preference optimization (what %%dpo runs) — the DPO family of losses
 * (rt_pref_loss.h: dpo, ipo, hinge, robust) trained through a sequence model on a
 * preference set (rt_pref.h), as TRL's DPOTrainer, on the one run loop (rt_trainer.h).
 *
 * Sequence log-probs (answer tokens only; the prompt is context).  For a pair's answer
 * y = y_1..y_n (the tokens through the first EOS, rt_pref_sequence) after prompt x:
 *   S_theta(x, y) = sum_t log pi_theta(y_t | x, y_<t)      (t over the answer's n tokens)
 * and the log-prob passed to the loss is lp = S (dpo, hinge, robust: TRL sums the
 * completion's token log-probs) or lp = S / n (ipo: TRL's concatenated_forward divides
 * by the completion mask's sum for loss_type "ipo"; rt_pref_loss_type.per_token says
 * which); the reference's lr likewise with pi_ref.  Sums in double, tokens in order.
 * Then, per pair i (chosen c, rejected r; rt_pref_loss.h, TRL's forms):
 *   z_i = (lp_c - lr_c) - (lp_r - lr_r),  h_i = beta z_i,
 *   dpo    l = -(1 - eps) log sigma(h) - eps log sigma(-h)       (eps: label_smoothing)
 *   ipo    l = (z - 1/(2 beta))^2                                 (Azar et al. 2023)
 *   hinge  l = max(0, 1 - h)                                      (SLiC-HF)
 *   robust l = (-(1 - eps) log sigma(h) + eps log sigma(-h)) / (1 - 2 eps)   (rDPO)
 *   L = (1/n) sum_i l_i   (a minibatch of n pairs, each weight 1).
 * Gradient through the model: with g = dL/dlp (rt_pref_dpo_loss) and, at the answer
 * position t of a sequence, d log pi(y_t | s_t) / d logits_t = onehot(y_t) - softmax(
 * logits_t), the policy's dlogits at that row are g * (onehot(y_t) - softmax(logits_t))
 * (times 1/n for ipo), back-propagated once for the minibatch's 2n sequences (a kept
 * forward, rt_model_logprobs; rt_nn_pg computes the row's term); the reference is scored
 * without gradient (rt_model_score).  Then Adam (rt_model_adam; clip_norm from cfg.adam).
 *
 * Step s (1-based) of a run with stream r (rt_trainer.h): the pairs of step s are draws
 * (s - 1) B .. s B - 1 of rt_pref_sampler on the set's train pairs with stream
 * rt_rng_split(r, RT_STREAM_SAMPLES) — epochs without replacement, a pure function of
 * (r, s, B) — then the loss, its gradient, the update.  Nothing else is random in a step.
 *
 * Metrics (rt_dpo_columns; TRL's names in brackets):
 *   loss, acc [rewards/accuracies: h > 0, a tie counting 1/2], chosen_reward
 *   [rewards/chosen: mean beta (lp_c - lr_c)], rejected_reward [rewards/rejected],
 *   margin [rewards/margins: mean h], grad_norm (before clipping): the mean over the steps
 *   since the previous row of each step's minibatch means;
 *   at evaluation steps (plan: a row at step 0, multiples of eval_every, the last step):
 *   heldout_loss, heldout_acc, heldout_margin: the same over EVERY held-out pair of the
 *   set (in order, minibatches of B, one mean over all pairs; NaN without held-out pairs);
 *   kl_ref: exact mean per-state KL(pi_theta || pi_ref) over eval_prompts held-out prompts
 *   (rt_eval_kl with the evaluator's stream E: answers sampled from pi_theta at
 *   temperature 1, full softmaxes at every visited state, as %%rl / %%opd's kl_ref);
 *   eval_accuracy: held-out greedy accuracy (rt_eval_greedy, stream E: the prompts every
 *   run on the task scores); eval_reward: the mean of the eval reward (the labeler's
 *   true reward) over one answer per prompt of that evaluator, sampled from pi_theta at
 *   temperature 1, prompt i's from rt_rng_split(rt_rng_split(E, RT_DPO_EVAL_SAMPLES), i)
 *   (NaN without an eval reward).  E = rt_eval_stream_of(cfg.eval_stream, r).
 *   At step 0 the policy is usually the reference: acc = 1/2, loss = log 2 (dpo), kl 0.
 *
 * Determinism: same inputs, same bits at any cfg.threads (the workspaces' threads: keep
 * the GEMM's own at 1 when > 1, as rt_model.h asks) and CPU path: sums in fixed order.
 * Lifecycle (rt_trainer.h): interrupted at the completed step by the run's cancel flag;
 * fails naming the step when loss or grad_norm is not finite ("dpo: loss is nan at step
 * 3", checked before the update, so the policy keeps its last good weights).
 * Errors of setup (RT_EINVAL, d->key naming the config field where there is one):
 *   a missing argument; a policy or reference of another vocabulary than the task's
 *   (architectures may differ: each model reads the sequences its own way);
 *   rt_pref_dpo_check's (beta not > 0 "beta", label_smoothing "label_smoothing", type
 *   "loss"); steps < 0, batch < 1, lr not > 0, log_every < 1, eval_every < 0,
 *   eval_prompts < 1, threads < 1 (their keys); a set without train pairs ("data"); a
 *   pair whose answer is longer than the task's T ("data"); an eval reward reading more
 *   features than the task has, or with unbound parameters ("eval_reward"); RT_ENOMEM.
 * Ownership: args are borrowed for the run; the policy is trained in place, the
 * reference, set, task and reward only read.
 * Leaves out: reference-free losses (SimPO), precomputed reference log-probs, padding-free
 * packing, learning-rate schedules, TRL's logps/chosen metrics, sampling at other
 * temperatures for eval_reward. */
#ifndef RT_DPO_H
#define RT_DPO_H

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_params.h"
#include "rt_pref.h"
#include "rt_pref_loss.h"
#include "rt_reward.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

#define RT_DPO_EVAL_SAMPLES 2 /* the eval_reward draws: split(E, 2) (rt_eval uses 0, 1) */

/* ---- one minibatch: loss and gradient through a model ---------------------------------- */

typedef struct rt_dpo_ws rt_dpo_ws;

/* Buffers for minibatches of up to max_pairs pairs of a task with prompts of P tokens and
 * answers of at most T (its rt_task_prompt_len / rt_task_answer_max).  0, RT_EINVAL or
 * RT_ENOMEM.  Caller frees with rt_dpo_ws_free. */
int rt_dpo_ws_create(rt_dpo_ws **out, const rt_model *policy, const rt_model *ref, int max_pairs,
                     int P, int T, rt_diag *d);
void rt_dpo_ws_free(rt_dpo_ws *w);
void rt_dpo_ws_set_threads(rt_dpo_ws *w, int threads);

/* The loss of pairs idx[0 .. n) (indices into the split, rt_pref_at) under c, and its
 * per-pair lp / lr (each (n) or NULL: the values passed to the loss).  grad != 0: the
 * gradient of L is ACCUMULATED into policy->params->g (zero it first); grad = 0: the
 * policy is only read.  st may be NULL.  0, or RT_EINVAL (n outside [1, max_pairs], a
 * bad index, a non-finite log-prob: the loss's message) or a model error. */
int rt_dpo_batch(rt_dpo_ws *w, rt_model *policy, const rt_model *ref, const rt_pref_set *set,
                 rt_task_split split, const int *idx, int n, const rt_pref_dpo_config *c, int grad,
                 rt_pref_loss_stats *st, double *lp_c, double *lp_r, double *lr_c, double *lr_r,
                 rt_diag *d);

/* ---- the trainer ------------------------------------------------------------------------- */

typedef struct rt_dpo_config {
    rt_pref_dpo_config loss;    /* type (NULL: dpo), beta, label_smoothing */
    long steps;                 /* >= 0 */
    int batch;                  /* pairs per step, >= 1 */
    rt_adam_config adam;        /* lr > 0 */
    long log_every;             /* >= 1 */
    long eval_every;            /* 0: only at step 0 and the last step */
    int eval_prompts;           /* held-out prompts of kl_ref, eval_reward, eval_accuracy */
    int threads;                /* the workspaces' threads, >= 1 (same bits at any value) */
    rt_eval_stream eval_stream; /* rt_trainer.h; default unset */
} rt_dpo_config;

/* beta 0.1 (TRL's), loss dpo, label_smoothing 0, steps 200, batch 32, Adam defaults with
 * lr 1e-3, log_every 1, eval_every 20, eval_prompts 256, threads 1. */
void rt_dpo_config_init(rt_dpo_config *cfg);

typedef struct rt_dpo_args {
    rt_model *policy;       /* trained in place */
    const rt_model *ref;    /* frozen (may be another architecture) */
    const rt_pref_set *set; /* of task */
    const rt_task *task;
    const rt_reward_program *eval_reward; /* NULL, or linked to the task's features */
    const double *eval_params;            /* its bound parameters */
    const rt_dpo_config *cfg;
} rt_dpo_args;

extern const rt_trainer rt_dpo_trainer;

/* The metric columns above, in order (step, wall first). */
const char *const *rt_dpo_columns(int *n);

/* rt_trainer_run(&rt_dpo_trainer, ...); diag (may be NULL) gets the code, step and
 * message. */
int rt_dpo_run(const rt_dpo_args *a, rt_run *run, const rt_rng *rng, rt_diag *diag);

#endif
