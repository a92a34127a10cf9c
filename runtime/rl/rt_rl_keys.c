/* rt_rl_keys: the table of rt_rl_keys.h.  Leaves out the config struct mapping. */
#include "rt_rl_keys.h"

const char *const rt_rl_estimator_values[] = {"k1", "k2", "k3", NULL};
const char *const rt_rl_kl_in_values[] = {"reward", "loss", NULL};
const char *const rt_rl_regularizer_values[] = {"kl", "chi2", NULL};
const char *const rt_rl_advantage_values[] = {"baseline", "loo", "group_norm", "group_center",
                                              "rtg",      "gae", NULL};
const char *const rt_rl_loss_agg_values[] = {"seq_mean", "seq_mean_token_mean",
                                             "seq_mean_token_sum_norm", "token_mean", NULL};
const char *const rt_rl_scale_values[] = {"group", "batch", "none", NULL};
const char *const rt_rl_ratio_values[] = {"token", "sequence", NULL};

const rt_key rt_rl_keys[] = {
    RT_RL_KEY_ALGO,
    RT_RL_KEY_GROUP,
    RT_RL_KEY_BATCH,
    RT_RL_KEY_STEPS,
    RT_RL_KEY_LR,
    RT_RL_KEY_TEMPERATURE,
    RT_RL_KEY_KL,
    RT_RL_KEY_KL_ESTIMATOR,
    RT_RL_KEY_KL_IN,
    RT_RL_KEY_ADVANTAGE,
    RT_RL_KEY_SCALE_REWARDS,
    RT_RL_KEY_LOSS_AGG,
    RT_RL_KEY_RATIO,
    RT_RL_KEY_CLIP,
    RT_RL_KEY_CLIP_LOW,
    RT_RL_KEY_CLIP_HIGH,
    RT_RL_KEY_ITERATIONS,
    RT_RL_KEY_EPOCHS,
    RT_RL_KEY_EVAL_EVERY,
    RT_RL_KEY_EVAL_PROMPTS,
    RT_RL_KEY_REGULARIZER,
    RT_RL_KEY_CHI2,
    RT_RL_KEYS_RECIPES,
};
const size_t rt_rl_n_keys = sizeof rt_rl_keys / sizeof rt_rl_keys[0];

/* TRL's loss_type names the aggregation (grpo_config.py: grpo normalizes by sequence
 * length, dr_grpo by a global constant, dapo and bnpo by the active tokens) */
static const char *const loss_type_values[] = {
    "grpo", "seq_mean_token_mean", "dr_grpo", "seq_mean_token_sum_norm", "dapo", "token_mean",
    "bnpo", "token_mean",          NULL};

const rt_key_alias rt_rl_aliases[RT_RL_N_ALIASES] = {
    {.alias = "num_generations", .key = "group", .from = "TRL"},
    {.alias = "num_iterations", .key = "iterations", .from = "TRL"},
    {.alias = "beta", .key = "kl", .from = "TRL"},
    {.alias = "epsilon", .key = "clip", .from = "TRL"},
    {.alias = "epsilon_high", .key = "clip_high", .from = "TRL"},
    {.alias = "loss_type", .key = "loss_agg", .from = "TRL", .values = loss_type_values},
    {.alias = "importance_sampling_level", .key = "ratio", .from = "TRL"},
    {.alias = "lam", .key = "gae_lambda", .from = "TRL"},
    {.alias = "cliprange_value", .key = "value_clip", .from = "TRL"},
};
