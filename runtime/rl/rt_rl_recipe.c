/* rt_rl_recipe.c: the table of RL algorithms (rt_rl_recipe.h) and its lookups.  The table
 * is written once, as RECIPES(ROW): ROW(name, parts...) gives both the rows and the
 * NULL-terminated name list that %%rl's schema points at (a static initializer needs
 * the names as an array of their own).  Leaves out: the formulas (rt_rl_formulas.c). */
#include <stddef.h>
#include <string.h>

#include "rt_rl_recipe.h"

/* A new algorithm is a new ROW here (plus its test). */
#define RECIPES(ROW)                                                                               \
    ROW("reinforce", .adv = RT_RL_ADV_BASELINE, .ratio = RT_RL_RATIO_NONE, .agg = RT_RL_AGG_SEQ,   \
        .min_group = 1, .epochs = 1, .est = RT_RL_K1, .kl_in = RT_RL_IN_LOSS,                      \
        .help = "REINFORCE with a moving-average baseline")                                        \
    ROW("rloo", .adv = RT_RL_ADV_LOO, .ratio = RT_RL_RATIO_NONE, .agg = RT_RL_AGG_SEQ,             \
        .min_group = 2, .epochs = 1, .est = RT_RL_K1, .kl_in = RT_RL_IN_LOSS,                      \
        .help = "REINFORCE leave-one-out: the other samples of the prompt as baseline")            \
    ROW("grpo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_TOKEN,                           \
        .agg = RT_RL_AGG_SEQ_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,             \
        .kl_in = RT_RL_IN_LOSS, .help = "GRPO: group-normalized advantages, per-answer mean")      \
    ROW("drgrpo", .adv = RT_RL_ADV_GROUP_CENTER, .ratio = RT_RL_RATIO_TOKEN,                       \
        .agg = RT_RL_AGG_CONST_LEN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                  \
        .kl_in = RT_RL_IN_LOSS, .help = "Dr. GRPO: GRPO without the std and length biases")        \
    ROW("ppo", .adv = RT_RL_ADV_TOKEN_RTG, .ratio = RT_RL_RATIO_TOKEN,                             \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 1, .epochs = 4, .est = RT_RL_K1,                 \
        .kl_in = RT_RL_IN_REWARD,                                                                  \
        .help = "PPO-clip without a value network: whitened reward-to-go, several epochs")         \
    ROW("bnpo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_TOKEN,                           \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .help = "BNPO (TRL): GRPO normalized by the batch's tokens")       \
    ROW("gspo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_SEQUENCE,                        \
        .agg = RT_RL_AGG_SEQ_TOKEN_MEAN, .min_group = 2, .epochs = 4, .est = RT_RL_K3,             \
        .kl_in = RT_RL_IN_LOSS, .clip_low = 3e-4, .clip_high = 4e-4,                               \
        .help = "GSPO (Zheng et al. 2025): the sequence's length-normalized ratio, clipped per "   \
                "sequence (TRL's 3e-4 / 4e-4, 4 updates per batch)")                               \
    ROW("cispo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_CISPO,                          \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 4, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .clip_high = 4.0,                                                  \
        .help = "CISPO (MiniMax-M1 2025): REINFORCE with the IS weight capped at 1 + clip_high "   \
                "(5, TRL's epsilon_high) and stopped, no token dropped")

/* Rows that read a teacher (what %%opd runs; not `algo` values of %%rl). */
#define TEACHER_RECIPES(ROW)                                                                       \
    ROW("opd", .adv = RT_RL_ADV_TEACHER_LOGRATIO, .ratio = RT_RL_RATIO_NONE,                       \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 1, .epochs = 1, .est = RT_RL_K1,                 \
        .kl_in = RT_RL_IN_LOSS,                                                                    \
        .help = "G-OPD's sampled estimator: the teacher's log-ratio as per-token advantage")

#define AS_ROW(nm, ...) {.name = nm, __VA_ARGS__},
#define AS_NAME(nm, ...) nm,
static const rt_rl_recipe recipes[] = {RECIPES(AS_ROW) TEACHER_RECIPES(AS_ROW)};
const char *const rt_rl_recipe_names[] = {RECIPES(AS_NAME) NULL};
enum {
    N_RECIPES = sizeof recipes / sizeof recipes[0],
    N_RL = sizeof rt_rl_recipe_names / sizeof rt_rl_recipe_names[0] - 1
};

int rt_rl_recipe_count(void)
{
    return N_RL;
}

const rt_rl_recipe *rt_rl_recipe_at(int i)
{
    return i >= 0 && i < N_RL ? &recipes[i] : NULL;
}

const rt_rl_recipe *rt_rl_recipe_find(const char *name)
{
    for (int i = 0; name && i < N_RECIPES; i++)
        if (!strcmp(name, recipes[i].name)) return &recipes[i];
    return NULL;
}

int rt_rl_recipe_index(const rt_rl_recipe *r)
{
    for (int i = 0; i < N_RECIPES; i++)
        if (r == &recipes[i]) return i;
    return -1;
}
