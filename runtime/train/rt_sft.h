/* rt_sft: supervised pre-training of a policy on a task's demonstrations (what
 * `%%policy` runs): teacher-forced cross-entropy on the answer tokens, Adam.
 *
 * Step s (1-based) of rt_sft_run:
 *   1. the batch: B training-split prompts and their demonstrations (rt_sft_batch):
 *      the prompts from the step's RT_STREAM_PROMPTS stream (rt_trainer.h), the
 *      demonstration of prompt i from sequence i of its RT_STREAM_SAMPLES stream
 *      (rt_task_demonstrate: with probability `noise` the task's systematic error);
 *   2. one row per answer token (EOS included) of every demonstration, in the order
 *      (sequence, position): the model reads prompt ++ answer up to the position, the
 *      label is the answer token (a ragged rt_model_batch);
 *   3. loss = mean cross-entropy over those rows (rt_model_xent), backward, one Adam
 *      step (lr, betas 0.9/0.999, eps 1e-8, global-norm clipping at `clip`).
 * Nothing depends on how many threads run or how work is partitioned; the same
 * (policy, task, config, rng) gives bit-identical parameters and metrics (except the
 * `wall` column), at any GEMM thread count and ISA path and inside a parallel rt_sweep.
 *
 * Metrics (rt_sft_columns; a run may have more columns — they are NaN — or fewer —
 * those metrics are dropped): a row after step s when s is a multiple of log_every or
 * of eval_every, or the last step (also the last completed step of an interrupted run):
 *   step           steps done
 *   tokens         answer tokens trained on so far (EOS included)
 *   wall           seconds since the run started (CLOCK_MONOTONIC; not deterministic)
 *   loss           mean of the step losses since the previous row
 *   accuracy       GREEDY accuracy, after the update, on the B training prompts of step
 *                  s, scored against the true targets (not the noisy demonstrations)
 *   eval_accuracy  held-out greedy accuracy (rt_eval_greedy over eval_prompts fixed
 *                  held-out prompts) at multiples of eval_every and at the last step;
 *                  NaN otherwise (and always when eval_every = 0)
 *   grad_norm      global gradient norm of step s before clipping
 *
 * Lifecycle: rt_trainer_run's (rt_trainer.h) with the trainer record rt_sft_trainer:
 * FINISHED after `steps` steps; INTERRUPTED at the completed step when the cancel flag
 * is seen, ending with a row of that step if it was not logged (row_on_stop);
 * FAILED when a loss or gradient norm is NaN/Inf ("sft: loss is nan at step 12"; a
 * non-finite loss stops before that step's update) or when setup fails (the run is then
 * finished without being started).  The held-out evaluator uses cfg.eval_stream
 * (rt_trainer.h).  All buffers are allocated before the first step.
 *
 * Settings found for `add digits=2` (P = 7, T = 4, 8000 training / 2000 held-out
 * prompts), the defaults of rt_sft_config_init, meant as the `%%policy` defaults:
 *   policy  context 8, embed 32, hidden 256, layers 2, relu (rt_policy_init)
 *   sft     steps 1000, batch 256, lr 1e-3, clip 1, eval_every 100, 1024 held-out prompts
 *   noise 0    learns it: held-out greedy accuracy >= 0.85 by step 500 and >= 0.93 at
 *              step 1000.  Measured (4 seeds): step 500 0.896-0.923, step 1000
 *              0.940-0.977 (sft_slow_test: 0.923 and 0.962; avg@8 at T=1 0.930).
 *   noise 0.6  the IMPERFECT BASE: held-out greedy accuracy 0.40-0.60 at step 1000.
 *              Measured (4 seeds): 0.479, 0.532, 0.509 and 0.512 (sft_slow_test: greedy
 *              0.514, avg@8 0.530, pass@8 0.926: sampling still finds the right answer,
 *              which is what RL then sharpens).
 *   Why it works, and its limits: the dropped-carry error is visible on ~70 % of the
 *   prompts; with noise > 0.5 the majority demonstration there is wrong, so a fully
 *   converged model tends to ~0.3 (only carry-free prompts right), with noise < 0.5 to
 *   ~1.  The 40-60 % band is where 1000 steps get, not a fixed point.  With batch 128
 *   and lr 2e-3 (tried first) noise 0.5 gave ~0.76 at 2000 steps, noise 0.55 0.55-0.64
 *   at 1000, and noise 0.6 jumped between 0.43 and 0.58 from eval to eval; batch 256
 *   and lr 1e-3 keep the evals of steps 500-1000 within 0.44-0.57.
 *   Cost: ~5.5 s per 1000-step run at 1 GEMM thread on the 2-core build machine
 *   (sft_slow_test: both runs and their final evaluations in 11-12 s).
 *
 * Leaves out: learning-rate schedules, weight decay, validation loss, early stopping. */
#ifndef RT_SFT_H
#define RT_SFT_H

#include "rt_diag.h"
#include "rt_policy.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

typedef struct rt_sft_config {
    long steps;       /* optimizer steps, >= 0 */
    int batch;        /* demonstrations per step, >= 1 */
    float lr;         /* Adam learning rate, > 0 */
    double noise;     /* fraction of demonstrations with the systematic error, 0..1;
                         negative = the task's configured noise */
    float clip;       /* global gradient-norm clipping, 0 = off */
    long eval_every;  /* held-out greedy accuracy every N steps (and the last); 0 = never */
    long log_every;   /* metrics row every N steps (and the last), >= 1 */
    int eval_prompts; /* held-out prompts for eval_accuracy (rt_eval n_prompts), >= 1 */
    rt_eval_stream eval_stream; /* the evaluator's stream (rt_trainer.h); default unset */
} rt_sft_config;

/* Defaults: see the body of rt_sft_config_init in rt_sft.c and the settings above. */
void rt_sft_config_init(rt_sft_config *cfg);

/* The metric names, in the order rt_sft_run fills them; *n (may be NULL) = count.
 * Pass them to rt_run_create to get every metric. */
const char *const *rt_sft_columns(int *n);

/* The demonstrations of step s (s >= 1) as described above: samples[B], answers
 * (B, RT_TASK_MAX_T), lens[B] (EOS included) and noisy[B] (may be NULL). */
void rt_sft_batch(const rt_task *task, double noise, const rt_rng *rng, long step, int B,
                  rt_task_sample *samples, int *answers, int *lens, int *noisy);

/* The trainer record (rt_trainer.h) and its arguments (borrowed for the run). */
typedef struct rt_sft_args {
    rt_policy *policy; /* trained in place */
    const rt_task *task;
    const rt_sft_config *cfg;
} rt_sft_args;
extern const rt_trainer rt_sft_trainer;

/* rt_trainer_run(&rt_sft_trainer, ...): trains p in place for cfg->steps steps (see the top
 * comment).  run may be NULL (no metrics, no cancel flag); otherwise it must not have been started.
 * rng is the run's stream (copied).  Returns 0 (finished), RT_EINTR, RT_EFAILED,
 * RT_EINVAL or RT_ENOMEM, and fills diag (may be NULL). */
int rt_sft_run(rt_policy *p, const rt_task *task, const rt_sft_config *cfg, rt_run *run,
               const rt_rng *rng, rt_diag *diag);

#endif
