/* rt_debate_reward: debate(NAME) and judge_full(NAME) (the full-state judge's verdict,
 * rt_debate_full_reward_batch: the ideal-judge reward) as reward features of rt_rl runs,
 * and the debate metrics of those runs — a feature provider for rt_rl_run_hooked
 * (rt_rl.h), usable without the magics (a headless worker resolves debate names itself).
 *
 * Use (what `%%rl` does when its reward reads debate(NAME) or judge_full(NAME)):
 *   1. rt_debate_reward_create(task, reward, eval_reward, resolve, ctx, &x, &r, &er, msg,
 *      cap): links the rewards to the run task's features followed by one slot per
 *      (debate, function) read (in the order of first read: "debate(d) + judge_full(d)"
 *      has two slots, debate(d)'s first), resolving each debate NAME through
 *      resolve (name -> debate, its baseline policy's model and its task's name; the
 *      same pattern as rt_reward_env.resolve_feature).  Checks, in this order, for each
 *      debate the rewards read: the resolver's error (e.g. "unknown debate 'x'"), at most
 *      RT_DEBATE_REWARD_MAX slots ("a reward can read at most 8 debate features"), a
 *      debate task with the run task's configuration (every task key but noise equal:
 *      "debate 'd' is on task 't', whose configuration differs from this run's task"), a
 *      baseline ("debate 'd' has no baseline policy", followed by the resolver's hint in
 *      parentheses, if any).  r / er are the linked
 *      programs (er NULL without eval_reward; caller frees both with rt_reward_free, x
 *      with rt_debate_reward_free after the runs).  Nonzero with msg on error.
 *   2. create each run with rt_rl_columns followed by rt_debate_reward_metrics:
 *        return          mean environment reward (outcome) of the sampled answers
 *        judge_win       fraction of the step's states where the sampled action differs
 *                        from the baseline's in which the debate favours the policy
 *        judge_win_full  the same with the full-state judge (no debate)
 *      (for the debate of the FIRST slot, whichever function; rt_debate_eval on the
 *      step's batch: a judge_full slot first still plays the debates for judge_win);
 *   3. per run: rt_debate_reward_hook_new(x, B * G, threads, &h), pass
 *      rt_debate_reward_hook_of(h) to rt_rl_run_hooked, free with
 *      rt_debate_reward_hook_free after the run.
 * Or through the provider record (rt_debate_feature_provider, by name "debate" in
 * runtime/features): its create, then rt_rl_run_features makes and frees the hooks.
 * At every step the hook computes the baseline's greedy action for each prompt
 * (rt_debate_policy_actions), the sampled answer's action (rt_debate_action_of) and
 * the k-th slot's feature for each sample: debate(NAME) by rt_debate_eval_threads with
 * stream split(step stream, k), judge_full(NAME) by rt_debate_full_reward_batch (no
 * draws), so a run is a pure function of its rng: bit-identical at any thread count.
 * `threads` are the hook's own threads for the debates (the debates themselves are only
 * read: runs of a sweep share them); results do not depend on it.
 *
 * Ownership: x borrows the task, the debates and the baselines (they must outlive x and
 * every hook, and not change meanwhile); a hook borrows x and owns its buffers (a
 * workspace of each baseline model and the step's actions), so runs of a sweep each
 * take a hook of their own and run in parallel.  Allocation: rt_alloc, in create and
 * hook_new only.  Leaves out: debate features of eval rewards at %%rl (the caller may
 * link them here), debate metrics of debates other than the first. */
#ifndef RT_DEBATE_REWARD_H
#define RT_DEBATE_REWARD_H

#include <stddef.h>

#include "rt_debate.h"
#include "rt_reward.h"
#include "rt_rl.h"
#include "rt_task.h"

#define RT_DEBATE_REWARD_MAX 8 /* (debate, function) slots one run's rewards may read */

/* What a debate NAME resolves to. */
typedef struct rt_debate_source {
    const rt_debate *debate;  /* trained; only read */
    const rt_model *baseline; /* the baseline policy's model; NULL: none (an error) */
    const char *task_name;    /* the name of the debate's task (in messages) */
    char hint[96]; /* appended in parentheses to "has no baseline policy" (the caller's
                      words for how to set one); "" for none */
} rt_debate_source;

/* Resolver of debate names: 0 with *out filled, or nonzero with err filled (e.g.
 * "unknown debate 'dd' (did you mean 'd'?)").  ctx is the caller's. */
typedef int (*rt_debate_resolve_fn)(void *ctx, const char *name, rt_debate_source *out, char *err,
                                    size_t errlen);

/* 1 if the program reads a debate(...) or judge_full(...) feature. */
int rt_debate_reward_reads(const rt_reward_program *p);

typedef struct rt_debate_reward rt_debate_reward;

/* Step 1 of the top comment.  eval_reward and linked_eval may be NULL. */
int rt_debate_reward_create(const rt_task *task, const rt_reward_program *reward,
                            const rt_reward_program *eval_reward, rt_debate_resolve_fn resolve,
                            void *ctx, rt_debate_reward **out, rt_reward_program **linked,
                            rt_reward_program **linked_eval, char *msg, size_t cap);
void rt_debate_reward_free(rt_debate_reward *x);
/* The (debate, function) slots the linked rewards read (feature slots nf .. nf + n - 1). */
int rt_debate_reward_n_debates(const rt_debate_reward *x);
/* {"return", "judge_win", "judge_win_full"}; *n (may be NULL) = 3. */
const char *const *rt_debate_reward_metrics(int *n);

typedef struct rt_debate_reward_hook rt_debate_reward_hook;
/* A hook for runs of N = batch * group sequences per step, evaluating debates with
 * `threads` threads (clamped to 1..16).  0 or -1 (out of memory). */
int rt_debate_reward_hook_new(const rt_debate_reward *x, int N, int threads,
                              rt_debate_reward_hook **out);
/* The rt_rl_hook record: n_features = the debates read, the three metrics, fill. */
rt_rl_hook rt_debate_reward_hook_of(rt_debate_reward_hook *h);
void rt_debate_reward_hook_free(rt_debate_reward_hook *h);

/* The same as a feature provider (rt_rl.h), listed by runtime/features as "debate" (fns
 * "debate" and "judge_full"): create
 * = rt_debate_reward_create with a resolver that calls env->resolve(env->ctx, "debate",
 * NAME, rt_debate_source *out, ...) (env must outlive create only), destroy / n_features
 * / run_new / run_free = rt_debate_reward_free / _n_debates / _hook_new / _hook_free,
 * fill = the hook's, metrics = rt_debate_reward_metrics. */
extern const rt_feature_provider rt_debate_feature_provider;

#endif
