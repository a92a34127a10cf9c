/* rt_opd_run: a whole G-OPD / ExOPD run on a task (what `%%opd` runs), built on the
 * one step of rt_opd.h (estimator = sampled: the RL engine's rollout and update with the
 * recipe "opd"; full: rt_opd's own loss), and the weight-space extrapolation of
 * `%extrapolate` (ExPO).
 *
 * A run trains the student in place for `steps` steps.  Step s (1-based):
 *   prompts  rt_task_sample_batch(task, step s of the RT_STREAM_PROMPTS stream, 0, TRAIN,
 *            B) (rt_trainer.h);
 *   routing  sequence b is scored by teachers[route_of_domain[samples[b].domain]]
 *            (one teacher: every route 0);
 *   step     rt_opd_step_routed(..., rng = step s of RT_STREAM_SAMPLES) with exact metrics;
 *   row      accuracy = mean `correct` of the B samples (the task's verifier on the
 *            answer up to the first EOS), length = mean answer length (up to and
 *            including the first EOS, T if none), kl_teacher / kl_ref / entropy =
 *            the step's exact per-state means (at sampling time, over the visited
 *            states up to and including each answer's first EOS: the step runs with
 *            mask_after_eos, so later states count nowhere), adv_mean, grad_norm,
 *            loss as rt_opd_metrics; eval_accuracy = held-out greedy accuracy
 *            (rt_eval on cfg.eval_stream, eval_prompts prompts) at step 0,
 *            multiples of eval_every and the last step (NaN otherwise); for a mix
 *            also eval_accuracy_<domain> per domain.
 * Columns (rt_opd_run_columns): step, tokens, wall, accuracy, eval_accuracy,
 *   [eval_accuracy_<domain> ... for a mix], kl_teacher, kl_ref, entropy, adv_mean,
 *   length, grad_norm, loss.  Row 0 (step 0) holds the initial held-out accuracy only
 *   (other metrics NaN).
 * Determinism: a pure function of (student, teachers, ref, task, cfg, rng), whatever
 * cfg.step.threads, the GEMM threads or what else runs in a sweep (wall aside).
 * Lifecycle: rt_trainer_run's with the record rt_opd_trainer (a row every step, the
 * start row with the evaluation, the failing step's row kept) — starts the run, polls
 * its cancel flag before each step (RT_RUN_INTERRUPTED at the completed step), fails
 * naming the step when the loss or gradient norm is not finite ("opd: loss is nan at
 * step 3"; with estimator = full the update of that step has already been applied, with
 * sampled the engine stops before it); a setup
 * failure finishes the run as failed.  All buffers are allocated before step 1.
 * Leaves out: learning-rate schedules. */
#ifndef RT_OPD_RUN_H
#define RT_OPD_RUN_H

#include "rt_diag.h"
#include "rt_opd.h"
#include "rt_policy.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

#define RT_OPD_RUN_MAX_TEACHERS RT_TASK_MAX_DOMAINS
#define RT_OPD_RUN_MAX_COLUMNS (12 + RT_TASK_MAX_DOMAINS)

typedef struct rt_opd_run_config {
    rt_opd_config step; /* lambda, gamma, temperatures, batch, estimator, adam, threads;
                           prompt_len / gen_len / metrics are set from the task */
    long steps;         /* >= 0 */
    long eval_every;    /* 0 = only at step 0 and the last step */
    int eval_prompts;   /* held-out prompts of eval_accuracy, >= 1 (default 512) */
    rt_eval_stream eval_stream; /* the evaluator's stream (rt_trainer.h); default unset */
} rt_opd_run_config;

/* rt_opd_defaults(), steps 200, eval_every 20, eval_prompts 512. */
void rt_opd_run_config_init(rt_opd_run_config *cfg);

typedef struct rt_opd_problem {
    const rt_task *task;
    const rt_policy *const *teachers; /* nteachers (1..RT_OPD_RUN_MAX_TEACHERS), one arch */
    int nteachers;
    /* route[d] = teacher index of domain d (rt_task_n_domains entries); NULL = all 0 */
    const int *route;
    const rt_policy *ref;
} rt_opd_problem;

/* The column names for a task into names[cap][48]; returns the count. */
int rt_opd_run_columns(const rt_task *task, char (*names)[48], int cap);

/* The trainer record (rt_trainer.h) and its arguments (borrowed for the run). */
typedef struct rt_opd_args {
    rt_policy *student; /* trained in place */
    const rt_opd_problem *prob;
    const rt_opd_run_config *cfg;
} rt_opd_args;
extern const rt_trainer rt_opd_trainer;

/* rt_trainer_run(&rt_opd_trainer, ...): trains student (see the top comment).  run may be NULL
 * (else created with the columns above and not started).  Returns 0 or a negative RT_OPD_RUN_E*
 * code. */
int rt_opd_run(rt_policy *student, const rt_opd_problem *prob, const rt_opd_run_config *cfg,
               rt_run *run, const rt_rng *rng, rt_diag *diag);

/* ExPO: *out = a new policy with weights theta_T + alpha (theta_T - theta_base), Adam
 * state reset.  base and teacher need the same architecture (else RT_EINVAL
 * with a message naming both shapes).  Caller frees with rt_policy_free. */
int rt_opd_extrapolate(rt_policy **out, const rt_policy *base, const rt_policy *teacher,
                       float alpha, rt_diag *diag);

#endif
