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
        .help = "REINFORCE with a moving-average baseline",                                        \
        .paper = "Williams 1992 (REINFORCE); the baseline of Sutton & Barto",                      \
        .eq = "A_i = R_i - b, b <- m b + (1 - m) mean(R) (m = baseline, 0.9)\nloss = -(1/N) "      \
              "sum_i A_i sum_t log pi(y_it)   (one update per batch; k1 KL in the loss)\n")        \
    ROW("rloo", .adv = RT_RL_ADV_LOO, .ratio = RT_RL_RATIO_NONE, .agg = RT_RL_AGG_SEQ,             \
        .min_group = 2, .epochs = 1, .est = RT_RL_K1, .kl_in = RT_RL_IN_LOSS,                      \
        .help = "REINFORCE leave-one-out: the other samples of the prompt as baseline",            \
        .paper = "Kool et al. 2019; Ahmadian et al. 2024 (Back to Basics: RLOO)",                  \
        .eq = "A_i = R_i - (1/(G-1)) sum_{j != i} R_j   (the other samples of the prompt)\nloss "  \
              "= -(1/N) sum_i A_i sum_t log pi(y_it)   (one update per batch)\n")                  \
    ROW("grpo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_TOKEN,                           \
        .agg = RT_RL_AGG_SEQ_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,             \
        .kl_in = RT_RL_IN_LOSS, .help = "GRPO: group-normalized advantages, per-answer mean",      \
        .paper = "Shao et al. 2024 (DeepSeekMath)",                                                \
        .eq =                                                                                      \
            "A_i = (R_i - mean_g R) / (std_g R + eps)   (population std of the group)\nrho_t = "   \
            "pi(y_t) / pi_old(y_t),  l_t = -min(rho_t A_i, clip(rho_t, 1 - 0.2, 1 + 0.2) "         \
            "A_i)\nloss = (1/N) sum_i (1/|y_i|) sum_t (l_t + beta k3_t)   (k3 KL in the loss)\n")  \
    ROW("drgrpo", .adv = RT_RL_ADV_GROUP_CENTER, .ratio = RT_RL_RATIO_TOKEN,                       \
        .agg = RT_RL_AGG_CONST_LEN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                  \
        .kl_in = RT_RL_IN_LOSS, .help = "Dr. GRPO: GRPO without the std and length biases",        \
        .paper = "Liu et al. 2025 (Understanding R1-Zero-Like Training: Dr. GRPO)",                \
        .eq = "A_i = R_i - mean_g R   (no std division)\nloss = (1/(N T)) sum_i sum_t (l_t + "     \
              "beta k3_t)   (a constant length T: no length bias)\n")                              \
    ROW("ppo", .adv = RT_RL_ADV_GAE, .ratio = RT_RL_RATIO_TOKEN, .agg = RT_RL_AGG_TOKEN_MEAN,      \
        .min_group = 1, .epochs = 4, .est = RT_RL_K1, .kl_in = RT_RL_IN_REWARD,                    \
        .help = "PPO-clip with a value head on the policy trunk and GAE, 4 updates per batch",     \
        .paper = "Schulman et al. 2017 (PPO); Schulman et al. 2016 (GAE); Ouyang et al. 2022 "     \
                 "(InstructGPT); TRL's PPOConfig defaults",                                        \
        .eq = "r_t = -beta k1_t + [t = |y| - 1] R   (KL in the reward);  V_t = w . h_t + b (the "  \
              "trunk's\nfeatures h_t before token t)  delta_t = r_t + gamma V_t+1 - V_t (V = 0 "   \
              "past |y|)\nA_t = sum_l (gamma lambda)^l delta_t+l, whitened;  ret_t = A_t + V_t "   \
              "(at sampling)\nl_t = -min(rho_t A_t, clip(rho_t, 0.8, 1.2) A_t); loss = token "     \
              "mean + vf_coef L_V\nL_V = 0.5 mean_t max((V - ret)^2, (clip(V, V_old +- "           \
              "value_clip) - ret)^2)\ngamma 1, gae_lambda 0.95, vf_coef 0.1, value_clip 0.2; 4 "   \
              "updates per batch\n")                                                               \
    ROW("bnpo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_TOKEN,                           \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .help = "BNPO (TRL): GRPO normalized by the batch's tokens",       \
        .paper = "TRL loss_type = \"bnpo\" (Xiao et al. 2025, BNPO)",                              \
        .eq = "GRPO's advantages and clip; loss = (1/sum_i |y_i|) sum_valid (l_t + beta k3_t)\n")  \
    ROW("gspo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_SEQUENCE,                        \
        .agg = RT_RL_AGG_SEQ_TOKEN_MEAN, .min_group = 2, .epochs = 4, .est = RT_RL_K3,             \
        .kl_in = RT_RL_IN_LOSS, .clip_low = 3e-4, .clip_high = 4e-4,                               \
        .help = "GSPO (Zheng et al. 2025): the sequence's length-normalized ratio, clipped per "   \
                "sequence (TRL's 3e-4 / 4e-4, 4 updates per batch)",                               \
        .paper = "Zheng et al. 2025 (Group Sequence Policy Optimization)",                         \
        .eq =                                                                                      \
            "s_i = exp((1/|y_i|) sum_t log(pi(y_t) / pi_old(y_t)))   (the answer's ratio)\nl_i = " \
            "-min(s_i A_i, clip(s_i, 1 - 3e-4, 1 + 4e-4) A_i), each token of y_i; GRPO's "         \
            "A_i\nloss = (1/N) sum_i (1/|y_i|) sum_t l_i; 4 updates per batch (TRL's defaults)\n") \
    ROW("cispo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_CISPO,                          \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 4, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .clip_high = 4.0,                                                  \
        .help = "CISPO (MiniMax-M1 2025): REINFORCE with the IS weight capped at 1 + clip_high "   \
                "(5, TRL's epsilon_high) and stopped, no token dropped",                           \
        .paper = "MiniMax 2025 (MiniMax-M1, CISPO)",                                               \
        .eq = "l_t = -sg(min(rho_t, 1 + 4)) A_i log pi(y_t)   (the IS weight capped at 5, "        \
              "not\ndifferentiated: every token keeps its gradient); loss = token mean; 4 "        \
              "updates per batch\n")                                                               \
    ROW("dapo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_TOKEN,                           \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .clip_low = 0.2, .clip_high = 0.28, .minibatches = 16,             \
        .filter_groups = 1,                                                                        \
        .help = "DAPO (Yu et al. 2025): clip-higher, zero-signal groups dropped, token mean, "     \
                "16 minibatch updates",                                                            \
        .paper = "Yu et al. 2025 (DAPO: An Open-Source LLM Reinforcement Learning System at "      \
                 "Scale, arXiv 2503.14476)",                                                       \
        .eq = "A_i = (R_i - mean_g R) / (std_g R + eps); groups with std_g R = 0 weigh 0\n"        \
              "(dynamic sampling as dropped from the loss: the batch is not refilled)\n"           \
              "l_t = -min(rho_t A_i, clip(rho_t, 1 - 0.2, 1 + 0.28) A_i)   (clip-higher)\n"        \
              "loss = (1/sum_kept |y_i|) sum_kept sum_t l_t   (token mean; no KL: kl = 0)\n"       \
              "min(16, batch) minibatch updates per batch (the paper: 512 prompts, 16 updates)\n") \
    ROW("opmd", .adv = RT_RL_ADV_GROUP_CENTER, .ratio = RT_RL_RATIO_OPMD,                          \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K2,                 \
        .kl_in = RT_RL_IN_LOSS, .stale_ok = 1,                                                     \
        .help = "OPMD (Kimi k1.5 as Trinity-RFT runs it): group-centred REINFORCE plus a squared " \
                "log-ratio proximal term (opmd_tau 0.1); meant for stale data",                    \
        .paper = "Yao et al. 2025, Group-Relative REINFORCE Is Secretly an Off-Policy Algorithm "  \
                 "(arXiv 2509.24203; Trinity-RFT rec regularizer k2); Kimi Team 2025 (k1.5)",      \
        .eq = "A_i = R_i - mean_g R   (no std division)\nl_t = -A_i log pi(y_t) + tau (log "       \
              "pi(y_t) - log pi_old(y_t))^2   (tau = opmd_tau, 0.1)\nloss = (1/sum_i |y_i|) "      \
              "sum_valid l_t; no ratio, no clip; iterations > 1 allowed\n")                        \
    ROW("asymre", .adv = RT_RL_ADV_GROUP_CENTER, .ratio = RT_RL_RATIO_ASYMRE,                      \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K2,                 \
        .kl_in = RT_RL_IN_LOSS, .stale_ok = 1,                                                     \
        .help = "AsymRE: REINFORCE with the group baseline lowered by asymre_shift (0.1); meant "  \
                "for stale data",                                                                  \
        .paper = "Arnal et al. 2025 (Asymmetric REINFORCE); as Yao et al. 2025 run it (arXiv "     \
                 "2509.24203; Trinity-RFT rec regularizer forward-kl)",                            \
        .eq =                                                                                      \
            "A_i = R_i - mean_g R;  l_t = -A_i log pi(y_t) - delta log pi(y_t)\n  (= -(R_i - "     \
            "(mean_g R - delta)) log pi: baseline lowered by delta = asymre_shift, 0.1)\nloss = "  \
            "(1/sum_i |y_i|) sum_valid l_t; no ratio, no clip; iterations > 1 allowed\n")          \
    ROW("bapo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_BAPO,                            \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 2, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS, .clip_low = 0.4, .clip_high = 0.2,                                 \
        .help = "BAPO: PPO-clip whose bounds move (lower 0.6..0.9, then upper 1.2..3, steps "      \
                "0.05) until positive tokens carry half the loss",                                 \
        .paper = "Xi et al. 2025, BAPO: Balanced Policy Optimization with Adaptive Clipping "      \
                 "(arXiv 2510.18927)",                                                             \
        .eq = "GRPO's A_i; per update, from c_low = 1 - clip_low = 0.6, c_high = 1 + clip_high = " \
              "1.2:\n  P = sum_{A>0, rho <= c_high} rho A,  M = sum_{A<0, c_low <= rho <= 3} rho " \
              "|A|\n  while P < rho0 (P + M): c_low += 0.05 (to 0.9), then c_high += 0.05 (to "    \
              "3)\n  (rho0 = bapo_target 0.5, bapo_low_max, bapo_high_max, bapo_step)\nl_t = "     \
              "-min(rho A, clip(rho, c_low, c_high) A), and for A < 0 at most -3 A (dual "         \
              "clip)\nloss = token mean; 2 updates per batch\n")                                   \
    ROW("nft", .adv = RT_RL_ADV_GROUP_CENTER, .ratio = RT_RL_RATIO_NFT,                            \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 1, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS,                                                                    \
        .help = "NFT: likelihood of the ratio on correct answers, of the implicit negative "       \
                "policy on wrong ones (rewards 0/1); = Dr. GRPO on-policy",                        \
        .paper = "Chen et al. 2025, Bridging Supervised Learning and Reinforcement Learning in "   \
                 "Math Reasoning (NFT, arXiv 2505.18116; NVlabs/NFT)",                             \
        .eq = "r_q = mean_g R (rewards 0 or 1), omega_q = 1 - r_q, A_i = R_i - r_q\ncorrect: "     \
              "l_t = -omega_q log rho_t\nwrong:   l_t = -omega_q log max((1 - r_q rho_t) / (1 - "  \
              "r_q), eps)   (eps = nft_eps, 1;\n         below eps continued linearly: the "       \
              "release's gradient-preserving clamp)\nloss = token mean; at rho = 1 the gradient "  \
              "is -A_i d log pi (Dr. GRPO's)\n")                                                   \
    ROW("r2vpo", .adv = RT_RL_ADV_GROUP_NORM, .ratio = RT_RL_RATIO_R2VPO,                          \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 2, .epochs = 4, .est = RT_RL_K3,                 \
        .kl_in = RT_RL_IN_LOSS,                                                                    \
        .help = "R2VPO: no clip, a penalty on the ratio's variance with a dual-ascent multiplier " \
                "(4 updates per batch)",                                                           \
        .paper = "Luo et al. 2026, Ratio-Variance Regularized Policy Optimization (R2VPO, arXiv "  \
                 "2601.03320); the objective as public reimplementations read it, delta and "      \
                 "eta ours",                                                                       \
        .eq = "GRPO's A_i; l_t = -(rho_t A_i - lambda (rho_t - 1)^2)   (no clip: every token "     \
              "keeps a gradient)\nafter each update: lambda <- max(0, lambda + eta (mean_t "       \
              "(rho_t - 1)^2 - delta))\nlambda starts at r2vpo_lambda = 0.04, delta = "            \
              "r2vpo_delta = 0.04 (= 0.2^2), eta = r2vpo_dual_lr = 1\nloss = token mean; 4 "       \
              "updates per batch; at rho = 1 it is bnpo's term\n")

/* Rows that read a teacher (what %%opd runs; not `algo` values of %%rl). */
#define TEACHER_RECIPES(ROW)                                                                       \
    ROW("opd", .adv = RT_RL_ADV_TEACHER_LOGRATIO, .ratio = RT_RL_RATIO_NONE,                       \
        .agg = RT_RL_AGG_TOKEN_MEAN, .min_group = 1, .epochs = 1, .est = RT_RL_K1,                 \
        .kl_in = RT_RL_IN_LOSS,                                                                    \
        .help = "G-OPD's sampled estimator: the teacher's log-ratio as per-token advantage",       \
        .paper = "G-OPD / ExOPD (on-policy distillation)",                                         \
        .eq = "A_t = (lT - lS) + (lambda - 1)(lT - lR); loss = -(1/sum |y|) sum_valid A_t log "    \
              "pi(y_t)\n")

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
