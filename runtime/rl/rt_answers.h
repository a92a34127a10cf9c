/* rt_answers: exact moments of rewards over a policy's answer distribution, on a task
 * whose answers can all be enumerated (answers of at most 3 tokens, EOS included: the
 * prefix tree of the chi^2 regularizer and the tilt, rt_rl_tree_states).
 *
 * For every prompt x of a split (rt_task_sample_at, uniform weight 1/n) and every
 * complete answer y (tokens up to and including the first EOS, or T tokens without EOS),
 * pi(y|x) is the product of the model's temperature-1 conditionals along the prefix
 * tree, and R_j(x, y) = reward j on the task's features of y.  With w(x, y) =
 * pi(y|x) / n:
 *   mean_j  = sum_{x,y} w R_j                     (E[R_j]: exact, no sampling)
 *   cov_jk  = sum_{x,y} w R_j R_k - mean_j mean_k (population covariance)
 * (summed about a reference value of each reward, so that a constant offset does not
 * cancel) and rt_answers_corr gives Pearson r_jk = cov_jk / sqrt(cov_jj cov_kk) — the
 * correlation of two rewards over the (prompt, answer) pairs the policy produces, as in
 * the definition of a correlated proxy (Laidlaw et al.).  The within-prompt moments
 *   within_jk = (1/n) sum_x (sum_y pi(y|x) R_j R_k - E_x[R_j] E_x[R_k])
 * (E_x = the mean over the answers of prompt x) leave out the differences between
 * prompts: rt_answers_corr_within is r computed from them, the correlation of the two
 * rewards between answers to the SAME prompt — what a per-prompt baseline (GRPO, RLOO)
 * sees.  An indicator reward's mean is
 * the exact probability of the event (e.g. of a hack) under the policy.
 *
 * Sums are in double in a fixed order (prompts in enumeration order, states in tree
 * order, tokens in increasing order): deterministic.  The model is any rt_model of the
 * task's vocabulary (a tilt included).
 *
 * Errors: 0, or RT_EINVAL (a task whose answers or prompts cannot be enumerated, the
 * limit and what the task has in the message; a vocabulary mismatch; nr outside
 * [1, RT_ANSWERS_MAX_R]), RT_ENOMEM, RT_EFAILED (a forward pass).  Leaves out: sampled
 * estimates for larger tasks, temperatures other than 1. */
#ifndef RT_ANSWERS_H
#define RT_ANSWERS_H

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_reward.h"
#include "rt_task.h"

#define RT_ANSWERS_MAX_R 4

typedef struct rt_answers_result {
    int n_prompts; /* prompts of the split */
    int nr;        /* rewards */
    double mass;   /* mean over prompts of sum_y pi(y|x): 1 up to rounding */
    double mean[RT_ANSWERS_MAX_R];
    double cov[RT_ANSWERS_MAX_R][RT_ANSWERS_MAX_R];
    double within[RT_ANSWERS_MAX_R][RT_ANSWERS_MAX_R];
    /* E[(R_j - ref_j)^2], ref_j = R_j at the first answer enumerated: the sums are taken
     * about ref_j (no cancellation from a constant offset), and a variance below 64 ulps
     * of scale is rounding: rt_answers_corr gives NaN for it. */
    double scale[RT_ANSWERS_MAX_R];
} rt_answers_result;

/* 0 if every answer and every prompt of the split can be enumerated, else RT_EINVAL with
 * a message naming the limit and what the task has. */
int rt_answers_check_task(const rt_task *task, rt_task_split split, rt_diag *d);
/* The moments of rewards r[0..nr) (linked to the task's feature order, parameters
 * params[j] as bound by rt_reward_bind_params) under model m on the split. */
int rt_answers_moments(const rt_model *m, const rt_task *task, rt_task_split split,
                       const rt_reward_program *const *r, const double *const *params, int nr,
                       rt_answers_result *out, rt_diag *d);
/* Pearson r of rewards j and k; NaN when either variance is (numerically) 0. */
double rt_answers_corr(const rt_answers_result *res, int j, int k);
/* The same from the within-prompt moments; NaN when either is (numerically) 0. */
double rt_answers_corr_within(const rt_answers_result *res, int j, int k);

#endif
