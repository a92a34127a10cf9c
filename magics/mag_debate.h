/* mag_debate: what other magics need of `%%debate` (magics/mag_m_debate.c) — the
 * debate(NAME) reward features and debate metrics inside `%%rl` runs.
 *
 * A %%rl cell whose reward (or eval_reward) reads any debate(NAME) feature:
 *   1. mag_debate_rl_create(session, task, reward, eval_reward, &x, &r, &er, msg, cap):
 *      links the rewards to the task's features followed by one slot per debate read
 *      (in the order of first read), checks that every debate is on a task with the same
 *      configuration and has a baseline policy; r / er are the linked programs (er NULL
 *      without eval_reward; caller frees both with rt_reward_free, x with
 *      mag_debate_rl_free after the runs).  Nonzero with msg on error (before training).
 *   2. create each run with rt_rl_columns followed by mag_debate_rl_metrics:
 *        return          mean environment reward (outcome) of the sampled answers
 *        judge_win       fraction of the step's states where the sampled action differs
 *                        from the baseline's in which the debate favours the policy
 *        judge_win_full  the same with the full-state judge (no debate)
 *      (for the FIRST debate the reward reads; rt_debate_eval on the step's batch);
 *   3. per sweep point: mag_debate_rl_hook_new(x, B * G, &h) and pass
 *      mag_debate_rl_hook_of(h) to rt_rl_run_hooked; free with mag_debate_rl_hook_free.
 * The hook computes the baseline's greedy action for each prompt and debate(NAME) for
 * each sample (rt_debate_eval, stream split(step stream, k) for the k-th debate), so a
 * run is a pure function of its rng: bit-identical at any thread count.
 * The session must not change while x exists (it holds pointers into its debates).
 * %%rl passes only `reward` here: an eval_reward that reads debate(NAME) is reported by
 * %%rl's own linker as reading a feature the task lacks (a known limit). */
#ifndef MAG_DEBATE_H
#define MAG_DEBATE_H

#include <stddef.h>

#include "mag_session.h"
#include "rt_reward.h"
#include "rt_rl.h"
#include "rt_task.h"

/* 1 if the program reads a debate(...) feature. */
int mag_debate_reads(const rt_reward_program *p);

typedef struct mag_debate_rl mag_debate_rl;
int mag_debate_rl_create(const mag_session *s, const rt_task *task, const rt_reward_program *reward,
                         const rt_reward_program *eval_reward, mag_debate_rl **out,
                         rt_reward_program **linked, rt_reward_program **linked_eval, char *msg,
                         size_t cap);
void mag_debate_rl_free(mag_debate_rl *x);
/* {"return", "judge_win", "judge_win_full"}; *n = 3. */
const char *const *mag_debate_rl_metrics(int *n);

typedef struct mag_debate_hook mag_debate_hook;
/* A hook for runs of N = batch * group sequences per step; 0 or -1 (ENOMEM). */
int mag_debate_rl_hook_new(const mag_debate_rl *x, int N, mag_debate_hook **out);
rt_rl_hook mag_debate_rl_hook_of(mag_debate_hook *h);
void mag_debate_rl_hook_free(mag_debate_hook *h);

#endif
