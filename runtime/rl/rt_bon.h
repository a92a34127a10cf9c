/* rt_bon: best-of-K sampling under a reward, the baseline of RLHF that needs no training
 * (Stiennon et al., 2020; Gao et al., 2022, "Scaling laws for reward model
 * overoptimization", section 2).  For each of n prompts x_i (chosen by the caller), draw
 * K_max answers y_i1 .. y_iKmax from the policy at a temperature, score each with a
 * SELECTION reward R_0 (a compiled rt_reward program on the task's features), and for any
 * K <= K_max select
 *   sel_K(i) = argmax_{j < K} R_0(x_i, y_ij)     (ties: the FIRST drawn, smallest j).
 * The draws are NESTED: best-of-K uses the first K of the same K_max draws, so for every
 * prompt R_0(sel_K) is non-decreasing in K, and best-of-1 is plain sampling (draw 0).
 *
 * Statistics over prompts, per reward R_r (r = 0: the selection reward; others, e.g. the
 * labeler's true reward, evaluated on the selected answers):
 *   mean_r(K) = (1/n) sum_i R_r(x_i, y_{i sel_K(i)})
 *   se_r(K)   = sqrt( sum_i (R_r(...) - mean_r)^2 / (n - 1) / n )   (NaN when n = 1)
 * summed in double in prompt order.  The analytic KL of best-of-K to the policy,
 *   KL_bon(K) = log K - (K - 1) / K,
 * is exact only when no two draws can tie under the selection reward (a continuous reward
 * distribution).  Answers here come from a finite set, so draws tie whenever the same
 * answer (or two answers of equal reward) comes twice: the formula is then an UPPER BOUND
 * on the KL, tight when every reward value has small probability (Beirami et al., 2024,
 * "Theoretical guarantees on the best-of-n alignment policy").
 *
 * Draws and determinism: draw j of prompt i is sequence i of stream
 * rt_rng_split(draws, j) (rt_model_generate with seq0 = the prompt's index), so the
 * answers depend neither on the chunking, nor on n (the first prompts of a longer list get
 * the same draws), nor on K_max (best-of-4 from K_max = 4 or 16 draws is the same), nor
 * on the thread count (the model's passes are bit-identical at any
 * rt_model_ws_set_threads); draw 0 is plain sampling from stream split(draws, 0).  Rewards
 * are evaluated on the task's features of each answer (rt_task_features_batch: tokens up
 * to the first EOS), followed by the hook's slots if there is one (below).
 * Same inputs, same bits.
 *
 * Object: rt_bon_create generates and scores every draw once and keeps them (tokens
 * (n, K_max, T) with their log-probs, rewards (n, K_max, nr)); selections and statistics for any K
 * are then look-ups.  The object keeps none of the spec's pointers (prompts, policy, task, rewards,
 * hook). Caller frees with rt_bon_free.
 *
 * Errors: 0 or a negative RT_E* with rt_diag (may be NULL) filled: RT_EINVAL (missing
 * argument, n < 1, K_max outside [1, RT_BON_MAX_K], nr outside [1, RT_BON_MAX_R], a
 * vocabulary mismatch, n * K_max above RT_BON_MAX_DRAWS, a hook over its limits, a reward
 * that is not finite on some draw), RT_ENOMEM, RT_EFAILED (generation, the hook's fill).
 * Leaves out: the exact distribution of best-of-K on enumerable tasks, choosing prompts
 * (the caller passes them: %eval's held-out prompts), the hook's metrics. */
#ifndef RT_BON_H
#define RT_BON_H

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_reward.h"
#include "rt_rl.h"
#include "rt_rng.h"
#include "rt_task.h"

#define RT_BON_MAX_K 1024
#define RT_BON_MAX_R 4
#define RT_BON_MAX_DRAWS (1L << 22) /* n * K_max */

typedef struct rt_bon_spec {
    const rt_model *policy;                  /* of the task's vocabulary */
    const rt_task *task;                     /* features of the answers */
    const rt_task_sample *prompts;           /* (n) the prompts x_i */
    int n;                                   /* >= 1 */
    int k_max;                               /* draws per prompt, 1 .. RT_BON_MAX_K */
    float temperature;                       /* of the draws (<= 0: greedy, every draw equal) */
    const rt_rng *draws;                     /* draw j of prompt i: seq i of split(draws, j) */
    const rt_reward_program *const *rewards; /* (nr) linked to the task's feature order;
                                              * rewards[0] selects */
    const double *const *params;             /* (nr) bound parameters (rt_reward_bind_params) */
    int nr;                                  /* 1 .. RT_BON_MAX_R */
    int threads;                             /* model passes' threads (>= 1; same bits for all) */
    /* Optional (NULL): extra feature slots after the task's, as in an rl run (rt_rl.h's
     * rt_rl_hook, e.g. the one a feature provider makes for rm(NAME)): the rewards are
     * linked with feature functions resolved to slots nf .. nf + n_features - 1, and
     * fill is called once per generation call with that call's draws (step = draw j + 1,
     * N = the call's prompts, G = 1, stream = split(split(draws, j), 2^32 + first prompt));
     * its metrics are ignored.  A fill that reads its stream makes the values depend on
     * the chunking of the prompts (1024 per call); a deterministic one (a reward model)
     * does not.  fill failing is RT_EFAILED with its message. */
    const rt_rl_hook *hook;
} rt_bon_spec;

typedef struct rt_bon_stats {
    int k, n, nr;
    double mean[RT_BON_MAX_R]; /* over prompts, of reward r on the selected answers */
    double se[RT_BON_MAX_R];   /* standard error of that mean (NaN when n = 1) */
    double kl;                 /* rt_bon_kl(k) */
} rt_bon_stats;

typedef struct rt_bon rt_bon;

/* Draws and scores every answer (see the top comment). */
int rt_bon_create(rt_bon **out, const rt_bon_spec *spec, rt_diag *d);
void rt_bon_free(rt_bon *b);
int rt_bon_n(const rt_bon *b);
int rt_bon_k_max(const rt_bon *b);
int rt_bon_answer_len(const rt_bon *b); /* T: tokens per draw */
/* Index j < k of the selected draw of prompt i (ties: the first drawn); -1 when i or k
 * is out of range. */
int rt_bon_select(const rt_bon *b, int k, int i);
/* Tokens (T) of draw j of prompt i, NULL when out of range. */
const int *rt_bon_tokens(const rt_bon *b, int i, int j);
/* Log-probs (T) at temperature 1 of draw j's tokens, NULL when out of range. */
const float *rt_bon_logprobs(const rt_bon *b, int i, int j);
/* Reward r of draw j of prompt i, NaN when out of range. */
double rt_bon_reward(const rt_bon *b, int i, int j, int r);
/* Means and standard errors over prompts for best-of-k; RT_EINVAL when k is outside
 * [1, k_max]. */
int rt_bon_stats_at(const rt_bon *b, int k, rt_bon_stats *out, rt_diag *d);
/* log K - (K - 1) / K (0 at K = 1; NaN for K < 1): exact without ties (continuous
 * rewards), else an upper
 * bound. */
double rt_bon_kl(int k);

#endif
