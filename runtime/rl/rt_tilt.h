/* rt_tilt: the analytic KL-regularized optimum as a model (the `tilt` architecture of
 * rt_model.h) — pi_T(y|x) = pi_ref(y|x) e^{R(x,y)/beta} / Z(x), the maximizer of
 * E[R] - beta KL(pi || pi_ref), at the SEQUENCE level, on a task whose answers can all be
 * enumerated (answers of at most 3 tokens, EOS included, over the 32-token vocabulary:
 * the prefix tree of the chi^2 regularizer, rt_rl_tree_states).
 *
 * Per-token conditionals come from the same tree: with W(s) = E_{pi_ref}[e^{R/beta} | s]
 * (the tilted mass of the subtree under prefix s; W(leaf) = e^{R(x,y)/beta}),
 *   log pi_T(a | x, s) = log pi_ref(a | x, s) + log W(s a) - log W(s),
 * so the product of the conditionals along an answer is exactly pi_ref(y) e^{R/beta} / Z
 * with Z(x) = W(empty prefix).  An answer ends at its first EOS (or after T tokens), as
 * the task's features read it.  Rows the tree does not cover (prompt positions, positions
 * after the answer's first EOS or past T) get the base's logits.
 *
 * Tables: precomputed at creation for EVERY prompt of the task (train and held-out
 * splits, rt_task_sample_at), in double, stored as float log-conditionals (S, V) per
 * prompt, plus log Z per prompt.  The tilt then holds no mutable state: a forward pass is
 * the base's forward plus table look-ups, thread-safe and deterministic by construction,
 * and independent of the task object afterwards (the tilt copies the base and keeps the
 * prompts it knows).  The price is the table size, prompts * S * V floats, capped at
 * RT_TILT_MAX_FLOATS (add digits=1: 100 prompts * 993 states * 32 = 3.2M floats); a
 * sequence whose prompt is not one of the task's makes the forward fail (RT_EINVAL).
 *
 * Object: an rt_tilt embeds an rt_policy header first (its rt_model: ops rt_model_tilt,
 * an empty parameter block, the vocabulary; cfg.vocab set, every other cfg field 0), so
 * it goes wherever the session and the trainers' problems take an rt_policy and is only
 * ever called through the model interface.  rt_policy_of() is NULL for it: it has no
 * weights, cannot be trained (backward is RT_EINVAL), copied or saved.  Free with
 * rt_model_free (or rt_policy_free, which dispatches to it).  Its workspace wraps one
 * workspace of the base; tilts whose bases have the same architecture may share one.
 *
 * Errors: 0 or a negative RT_E* code with rt_diag (may be NULL) filled; messages name
 * the limit and what the task has.  Leaves out: prompts outside the task, answers of
 * more than 3 tokens (use a sampled estimate instead), rewards reading feature
 * functions (debate(NAME)), training the tilt. */
#ifndef RT_TILT_H
#define RT_TILT_H

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_task.h"

#define RT_TILT_MAX_T 3               /* answer tokens, EOS included */
#define RT_TILT_MAX_FLOATS (1L << 24) /* prompts * states * V of the tables (64 MB) */

extern const rt_model_ops rt_model_tilt;

typedef struct rt_tilt_spec {
    const rt_model *base;            /* pi_ref (copied) */
    const rt_task *task;             /* the prompts and the answers' features */
    const rt_reward_program *reward; /* R, linked to the task's feature order */
    const double *params;            /* the reward's parameters (rt_reward_bind_params) */
    double beta;                     /* > 0, finite */
} rt_tilt_spec;

/* 0 if the task's answers and prompts can be enumerated into tables, else RT_EINVAL with
 * a message naming the limit and what the task has. */
int rt_tilt_check_task(const rt_task *task, rt_diag *d);
/* The answer-space part of rt_tilt_check_task, shared with rt_answers.h: 0 (*states,
 * may be NULL, = the prefix states per prompt) if the task's answers have at most
 * RT_TILT_MAX_T tokens and their prefix tree fits the chi^2 limits, else RT_EINVAL with
 * "WHAT: the limit and what the task has". */
int rt_tilt_check_answers(const rt_task *task, const char *what, long *states, rt_diag *d);
/* Builds the tilt (see the top comment): RT_EINVAL (task, beta, vocabulary, a reward
 * that is not finite / beta on some answer), RT_ENOMEM. */
int rt_tilt_create(rt_policy **out, const rt_tilt_spec *spec, rt_diag *d);
/* 1 if m is a tilt. */
int rt_tilt_is(const rt_model *m);
/* log Z(x) of a prompt (P tokens), NaN if m is not a tilt or the prompt is unknown. */
double rt_tilt_log_z(const rt_model *m, const int *prompt);
/* The tilt's beta and its base (NULL / NaN if m is not a tilt). */
double rt_tilt_beta(const rt_model *m);
const rt_model *rt_tilt_base(const rt_model *m);

#endif
