/* rt_rl_keys: the keys of an rt_rl configuration (rt_rl.h) as plain data (rt_key.h) —
 * one initializer macro per key, the table rt_rl_keys[] made of them, and the values of
 * the `algo` key (the one list of algorithm names a front end offers).  The defaults are
 * the ones `%%rl` uses; rt_rl_config_init agrees with them (tests/runtime/core/keys_test.c).
 * Leaves out: the keys a front end adds (the policy, task and rewards by name, seed). */
#ifndef RT_RL_KEYS_H
#define RT_RL_KEYS_H

#include "rt_key.h"
#include "rt_rl_recipe.h"

extern const char *const rt_rl_estimator_values[]; /* k1 k2 k3, NULL */
extern const char *const rt_rl_kl_in_values[];     /* reward loss, NULL */
/* advantage, loss_agg, scale_rewards: value i is part i (rt_rl_adv, rt_rl_agg) or
 * rt_rl_scale i + 1 */
extern const char *const rt_rl_advantage_values[];
extern const char *const rt_rl_loss_agg_values[];
extern const char *const rt_rl_scale_values[];
extern const char *const rt_rl_ratio_values[]; /* token sequence: rt_rl_ratio TOKEN + i */
extern const char *const rt_rl_regularizer_values[];

#define RT_RL_SW RT_KEY_SWEEP
#define RT_RL_KEY_ALGO                                                                             \
    {                                                                                              \
        .name = "algo", .type = RT_KEY_ENUM, .values = rt_rl_recipe_names, .flags = RT_RL_SW,      \
        .def = "grpo", .help = "algorithm"                                                         \
    }
#define RT_RL_KEY_GROUP                                                                            \
    {                                                                                              \
        .name = "group", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,          \
        .min = 1, .max = 4096, .def = "8", .help = "samples per prompt G"                          \
    }
#define RT_RL_KEY_BATCH                                                                            \
    {                                                                                              \
        .name = "batch", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,          \
        .min = 1, .max = 65536, .def = "32", .help = "prompts per step B"                          \
    }
#define RT_RL_KEY_STEPS                                                                            \
    {                                                                                              \
        .name = "steps", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,          \
        .min = 0, .max = 1000000, .def = "200", .help = "RL steps"                                 \
    }
#define RT_RL_KEY_LR                                                                               \
    {                                                                                              \
        .name = "lr", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL, .min = 0,        \
        .def = "2e-4", .help = "Adam learning rate"                                                \
    }
#define RT_RL_KEY_TEMPERATURE                                                                      \
    {                                                                                              \
        .name = "temperature", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL,         \
        .min = 0, .def = "1", .help = "sampling temperature"                                       \
    }
#define RT_RL_KEY_KL                                                                               \
    {                                                                                              \
        .name = "kl", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0, .def = "0", \
        .help = "KL coefficient beta (regularizer = kl)"                                           \
    }
#define RT_RL_KEY_KL_ESTIMATOR                                                                     \
    {                                                                                              \
        .name = "kl_estimator", .type = RT_KEY_ENUM, .values = rt_rl_estimator_values,             \
        .flags = RT_RL_SW,                                                                         \
        .help = "KL estimator (default k3 for grpo/drgrpo/bnpo, k1 otherwise); in the loss k1 "    \
                "pulls nowhere, k2 = grad KL(pi||ref), k3 = grad KL(ref||pi): see %help rl"        \
    }
#define RT_RL_KEY_KL_IN                                                                            \
    {                                                                                              \
        .name = "kl_in", .type = RT_KEY_ENUM, .values = rt_rl_kl_in_values, .flags = RT_RL_SW,     \
        .help = "KL in the reward or as a loss term (default reward for ppo, else loss); k1 in "   \
                "the reward = grad KL(pi||ref)"                                                    \
    }
#define RT_RL_KEY_CLIP                                                                             \
    {                                                                                              \
        .name = "clip", .type = RT_KEY_NUMBER,                                                     \
        .flags = RT_RL_SW | RT_KEY_MIN_EXCL | RT_KEY_MAX_EXCL, .min = 0, .max = 1, .def = "0.2",   \
        .help = "ratio clipping epsilon (grpo, drgrpo, ppo, bnpo; bapo: its bounds' start)"        \
    }
#define RT_RL_KEY_ADVANTAGE                                                                        \
    {                                                                                              \
        .name = "advantage", .type = RT_KEY_ENUM, .values = rt_rl_advantage_values,                \
        .flags = RT_RL_SW,                                                                         \
        .help = "the recipe's advantage part replaced: baseline, loo, group_norm, group_center, "  \
                "rtg, gae (a value head on the trunk; default: the algo's)"                        \
    }
#define RT_RL_KEY_SCALE_REWARDS                                                                    \
    {                                                                                              \
        .name = "scale_rewards", .type = RT_KEY_ENUM, .values = rt_rl_scale_values,                \
        .flags = RT_RL_SW,                                                                         \
        .help = "group_norm divides by the group's std (group, default), the batch's (batch) or "  \
                "nothing (none: Dr. GRPO)"                                                         \
    }
#define RT_RL_KEY_LOSS_AGG                                                                         \
    {                                                                                              \
        .name = "loss_agg", .type = RT_KEY_ENUM, .values = rt_rl_loss_agg_values,                  \
        .flags = RT_RL_SW,                                                                         \
        .help = "token terms into the loss: seq_mean, seq_mean_token_mean (grpo), "                \
                "seq_mean_token_sum_norm (drgrpo), token_mean (bnpo, ppo; DAPO) (default: the "    \
                "algo's)"                                                                          \
    }
#define RT_RL_KEY_RATIO                                                                            \
    {                                                                                              \
        .name = "ratio", .type = RT_KEY_ENUM, .values = rt_rl_ratio_values, .flags = RT_RL_SW,     \
        .help = "importance ratio per token (grpo) or per sequence (GSPO: exp of the mean log "    \
                "ratio, clipped per answer) (default: the algo's)"                                 \
    }
#define RT_RL_KEY_CLIP_LOW                                                                         \
    {                                                                                              \
        .name = "clip_low", .type = RT_KEY_NUMBER,                                                 \
        .flags = RT_RL_SW | RT_KEY_MIN_EXCL | RT_KEY_MAX_EXCL, .min = 0, .max = 1,                 \
        .help = "the clip below 1: rho >= 1 - clip_low (default: clip)"                            \
    }
#define RT_RL_KEY_CLIP_HIGH                                                                        \
    {                                                                                              \
        .name = "clip_high", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL, .min = 0, \
        .help = "the clip above 1: rho <= 1 + clip_high (default: clip; DAPO's clip-higher: "      \
                "0.28)"                                                                            \
    }
#define RT_RL_KEY_ITERATIONS                                                                       \
    {                                                                                              \
        .name = "iterations", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,     \
        .min = 1, .max = 1000,                                                                     \
        .help = "mu: optimizer updates on each sampled batch (a recipe with a ratio, or opmd / "   \
                "asymre; default 4 for ppo, gspo, cispo, 2 for bapo, else 1)"                      \
    }
#define RT_RL_KEY_EPOCHS                                                                           \
    {                                                                                              \
        .name = "epochs", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,         \
        .min = 1, .max = 1000, .help = "older name of iterations (PPO's epochs)"                   \
    }
#define RT_RL_KEY_EVAL_EVERY                                                                       \
    {                                                                                              \
        .name = "eval_every", .type = RT_KEY_INT, .flags = RT_KEY_MIN, .min = 0, .def = "20",      \
        .help = "held-out greedy accuracy every N steps (0 = never)"                               \
    }
#define RT_RL_KEY_EVAL_PROMPTS                                                                     \
    {                                                                                              \
        .name = "eval_prompts", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 1,    \
        .max = 65536, .def = "256", .help = "held-out prompts of eval_accuracy"                    \
    }
#define RT_RL_KEY_REGULARIZER                                                                      \
    {                                                                                              \
        .name = "regularizer", .type = RT_KEY_ENUM, .values = rt_rl_regularizer_values,            \
        .def = "kl", .help = "kl (coefficient kl) or chi2 (coefficient chi2; answers <= 3 tokens)" \
    }
#define RT_RL_KEY_CHI2                                                                             \
    {                                                                                              \
        .name = "chi2", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,           \
        .def = "0",                                                                                \
        .help = "chi^2 coefficient: chi^2 between answer distributions (regularizer = chi2)"       \
    }
/* the coefficients of single recipes (refused with any other algo) */
#define RT_RL_KEY_OPMD_TAU                                                                         \
    {                                                                                              \
        .name = "opmd_tau", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,       \
        .def = "0.1",                                                                              \
        .help = "opmd: tau of the proximal term tau (log pi - log pi_old)^2 (Trinity-RFT's 0.1)"   \
    }
#define RT_RL_KEY_ASYMRE_SHIFT                                                                     \
    {                                                                                              \
        .name = "asymre_shift", .type = RT_KEY_NUMBER, .flags = RT_RL_SW, .def = "0.1",            \
        .help = "asymre: delta, the group-mean baseline lowered by it: A = R - (mean_g R - "       \
                "delta) (Trinity-RFT's 0.1)"                                                       \
    }
#define RT_RL_KEY_BAPO_TARGET                                                                      \
    {                                                                                              \
        .name = "bapo_target", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX, \
        .min = 0, .max = 1, .def = "0.5",                                                          \
        .help = "bapo: rho0, the share of the loss the positive-advantage tokens must carry "      \
                "before the bounds stop moving (0.5)"                                              \
    }
#define RT_RL_KEY_BAPO_LOW_MAX                                                                     \
    {                                                                                              \
        .name = "bapo_low_max", .type = RT_KEY_NUMBER,                                             \
        .flags = RT_RL_SW | RT_KEY_MIN_EXCL | RT_KEY_MAX, .min = 0, .max = 1, .def = "0.9",        \
        .help = "bapo: the ceiling of the lower ratio bound c_low (it starts at 1 - clip_low = "   \
                "0.6; 0.9)"                                                                        \
    }
#define RT_RL_KEY_BAPO_HIGH_MAX                                                                    \
    {                                                                                              \
        .name = "bapo_high_max", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL,       \
        .min = 1, .def = "3",                                                                      \
        .help = "bapo: the ceiling of the upper ratio bound c_high (it starts at 1 + clip_high = " \
                "1.2; 3)"                                                                          \
    }
#define RT_RL_KEY_BAPO_STEP                                                                        \
    {                                                                                              \
        .name = "bapo_step", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL, .min = 0, \
        .def = "0.05", .help = "bapo: the step by which c_low, then c_high move (0.05)"            \
    }
#define RT_RL_KEY_R2VPO_LAMBDA                                                                     \
    {                                                                                              \
        .name = "r2vpo_lambda", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,   \
        .def = "0.04",                                                                             \
        .help = "r2vpo: the multiplier of the ratio-variance penalty at the first update (0.04)"   \
    }
#define RT_RL_KEY_R2VPO_DELTA                                                                      \
    {                                                                                              \
        .name = "r2vpo_delta", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,    \
        .def = "0.04",                                                                             \
        .help = "r2vpo: the constraint mean (rho - 1)^2 <= delta that the multiplier enforces "    \
                "(0.04 = 0.2^2)"                                                                   \
    }
#define RT_RL_KEY_R2VPO_DUAL_LR                                                                    \
    {                                                                                              \
        .name = "r2vpo_dual_lr", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,  \
        .def = "1",                                                                                \
        .help = "r2vpo: step of the multiplier's dual ascent after each update (0: a fixed "       \
                "multiplier)"                                                                      \
    }
#define RT_RL_KEY_NFT_EPS                                                                          \
    {                                                                                              \
        .name = "nft_eps", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL, .min = 0,   \
        .def = "1",                                                                                \
        .help = "nft: floor of the negative ratio (1 - r_q rho)/(1 - r_q), below which its -log "  \
                "goes on linearly (NVlabs/NFT's clamp_negative, 1)"                                \
    }
#define RT_RL_KEY_STALENESS                                                                        \
    {                                                                                              \
        .name = "staleness", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,      \
        .min = 0, .max = 1000, .def = "0",                                                         \
        .help = "k: step s samples from the policy of k steps earlier (off-policy data; "          \
                "reinforce and rloo do not correct for it)"                                        \
    }
#define RT_RL_KEY_MINIBATCHES                                                                      \
    {                                                                                              \
        .name = "minibatches", .type = RT_KEY_INT, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,    \
        .min = 1, .max = 1000000,                                                                  \
        .help = "M: each iteration updates on M consecutive parts of the batch's prompts "         \
                "(<= batch; default: 1, dapo min(16, batch))"                                      \
    }
#define RT_RL_KEY_FILTER_GROUPS                                                                    \
    {                                                                                              \
        .name = "filter_groups", .type = RT_KEY_BOOL, .flags = RT_RL_SW,                           \
        .help = "drop groups whose rewards are all equal from the loss (DAPO's dynamic "           \
                "sampling, without refilling; default: true for dapo, else false)"                 \
    }
#define RT_RL_KEY_ENTROPY_COEF                                                                     \
    {                                                                                              \
        .name = "entropy_coef", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,   \
        .def = "0", .help = "entropy bonus: loss -= entropy_coef * mean policy entropy"            \
    }

/* the value head (advantage = gae: ppo's); an error with any other advantage */
#define RT_RL_KEY_VF_COEF                                                                          \
    {                                                                                              \
        .name = "vf_coef", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN, .min = 0,        \
        .def = "0.1",                                                                              \
        .help = "value loss coefficient (advantage = gae, ppo: the value head on the trunk)"       \
    }
#define RT_RL_KEY_GAE_LAMBDA                                                                       \
    {                                                                                              \
        .name = "gae_lambda", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,  \
        .min = 0, .max = 1, .def = "0.95",                                                         \
        .help = "GAE's lambda: 1 = Monte Carlo returns, 0 = one-step TD (advantage = gae)"         \
    }
#define RT_RL_KEY_GAMMA                                                                            \
    {                                                                                              \
        .name = "gamma", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN | RT_KEY_MAX,       \
        .min = 0, .max = 1, .def = "1",                                                            \
        .help = "GAE's discount per token (advantage = gae; TRL's default 1)"                      \
    }
#define RT_RL_KEY_VALUE_CLIP                                                                       \
    {                                                                                              \
        .name = "value_clip", .type = RT_KEY_NUMBER, .flags = RT_RL_SW | RT_KEY_MIN_EXCL,          \
        .min = 0, .def = "0.2",                                                                    \
        .help = "the value loss's clip of v around its sampling-time value (advantage = gae; "     \
                "TRL's cliprange_value)"                                                           \
    }

/* The keys of issue 18 in table order, for rt_rl_keys[] and %%rl's schema alike. */
#define RT_RL_KEYS_RECIPES                                                                         \
    RT_RL_KEY_OPMD_TAU, RT_RL_KEY_ASYMRE_SHIFT, RT_RL_KEY_BAPO_TARGET, RT_RL_KEY_BAPO_LOW_MAX,     \
        RT_RL_KEY_BAPO_HIGH_MAX, RT_RL_KEY_BAPO_STEP, RT_RL_KEY_NFT_EPS, RT_RL_KEY_STALENESS,      \
        RT_RL_KEY_MINIBATCHES, RT_RL_KEY_FILTER_GROUPS, RT_RL_KEY_ENTROPY_COEF, RT_RL_KEY_VF_COEF, \
        RT_RL_KEY_GAE_LAMBDA, RT_RL_KEY_GAMMA, RT_RL_KEY_VALUE_CLIP, RT_RL_KEY_R2VPO_LAMBDA,       \
        RT_RL_KEY_R2VPO_DELTA, RT_RL_KEY_R2VPO_DUAL_LR

extern const rt_key rt_rl_keys[];
extern const size_t rt_rl_n_keys;

/* TRL's GRPOConfig names for keys of the same meaning (num_generations = group,
 * num_iterations = iterations, beta = kl, epsilon = clip, epsilon_high = clip_high,
 * loss_type = loss_agg with TRL's value names: grpo, dr_grpo, dapo, bnpo,
 * importance_sampling_level = ratio), and its PPOConfig's (lam = gae_lambda,
 * cliprange_value = value_clip; vf_coef and gamma are TRL's names already). */
#define RT_RL_N_ALIASES 9
extern const rt_key_alias rt_rl_aliases[RT_RL_N_ALIASES];

#endif
