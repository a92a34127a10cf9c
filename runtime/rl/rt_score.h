/* rt_score: the reward of generated answers — a reward program (runtime/reward) evaluated on
 * a task sample's features and, when the program reads texts (rt_reward_min_texts > 0: the
 * answer, the target, the prompt, a file task's columns), on the sample's texts
 * (rt_task_texts_of).  The one place that joins a task's texts to the reward language: every
 * runtime site that scores answers (runs, best-of-n, preference labels, DPO's evaluation,
 * %tilt, %correlate) calls it, and every link of a reward to a task takes the task's text
 * names from rt_score_env_texts.
 *
 * Determinism: a pure function of its arguments (texts are rendered from tokens with the
 * task's vocabulary, the rows' columns are the file's bytes).  No allocation: the texts of
 * one sample live on the stack (rt_task_texts).  Thread safe.
 * Leaves out: the features themselves (rt_task_features, providers' slots: the caller's),
 * reward parameters (rt_reward_bind_params). */
#ifndef RT_SCORE_H
#define RT_SCORE_H

#include <stddef.h>

#include "rt_reward.h"
#include "rt_task.h"

/* The reward of one sample s whose generated tokens are g[0..n): feat holds the features as
 * the program was linked (the task's, then any provider slots). */
double rt_score_one(const rt_task *task, const rt_reward_program *p, const double *params,
                    const rt_task_sample *s, const int *g, int n, const double *feat);

/* B samples at once: tokens (B, T) row-major, features (B, stride) row-major, out[B]. */
void rt_score_batch(const rt_task *task, const rt_reward_program *p, const double *params,
                    const rt_task_sample *samples, const int *tokens, int B, int T,
                    const double *feat, size_t stride, double *out);

/* Sets env->texts / n_texts / text_numeric to the task's texts (names[RT_TASK_MAX_TEXTS]
 * and numeric[RT_TASK_MAX_TEXTS] are the caller's storage). */
void rt_score_env_texts(const rt_task *task, rt_reward_env *env, const char **names,
                        unsigned char *numeric);

#endif
