/* rt_rl_recipe: the RL algorithms of rt_rl as rows of one table made of parts — the
 * advantage, the ratio form, the aggregation of token terms into the loss, and the
 * defaults that AUTO resolves to (KL estimator, KL placement, updates per batch, ratio
 * clip).  The math of each part is in rt_rl.h's top comment; rt_rl reads only the parts,
 * never an algorithm's name, so a new algorithm made of existing parts is one row in
 * rt_rl_recipe.c (plus its test), and the `algo` values of %%rl (rt_rl_recipe_names)
 * follow.  Rows whose advantage reads a teacher (TEACHER_LOGRATIO: the sampled OPD
 * estimator, "opd") come after the others and are not `algo` values of %%rl (it has no
 * teacher): %%opd runs them (runtime/opd); rt_rl_recipe_find finds every row,
 * rt_rl_recipe_count / _at cover %%rl's.  Leaves out: the formulas themselves
 * (rt_rl_formulas.c), ablation keys that override single parts from a cell. */
#ifndef RT_RL_RECIPE_H
#define RT_RL_RECIPE_H

/* KL estimators and placement; AUTO resolves to the recipe's est / kl_in. */
typedef enum { RT_RL_EST_AUTO, RT_RL_K1, RT_RL_K2, RT_RL_K3 } rt_rl_estimator;
typedef enum { RT_RL_IN_AUTO, RT_RL_IN_REWARD, RT_RL_IN_LOSS } rt_rl_kl_in;

typedef enum {
    RT_RL_ADV_BASELINE,        /* A_i = R'_i - b, a moving-average baseline (per sequence) */
    RT_RL_ADV_LOO,             /* A_i = R'_i - mean of the other samples of the prompt */
    RT_RL_ADV_GROUP_NORM,      /* A_i = (R'_i - mean_g) / (std_g + adv_eps) */
    RT_RL_ADV_GROUP_CENTER,    /* A_i = R'_i - mean_g */
    RT_RL_ADV_TOKEN_RTG,       /* per token: reward-to-go of the per-token rewards, whitened */
    RT_RL_ADV_GAE,             /* per token: GAE(gamma, lambda) over a value head on the policy's
                                  trunk, whitened; adds the value loss (PPO's critic) */
    RT_RL_ADV_TEACHER_LOGRATIO /* per token: (lT - lS) + (lambda - 1)(lT - lR), optional
                                  gamma-discounted return-to-go, not whitened (G-OPD) */
} rt_rl_adv;
typedef enum {
    RT_RL_RATIO_NONE,     /* plain policy gradient l_t = -A lp (one update per batch) */
    RT_RL_RATIO_TOKEN,    /* l_t = -min(rho A, clip(rho, 1 - clip_low, 1 + clip_high) A) */
    RT_RL_RATIO_SEQUENCE, /* GSPO: rho replaced by the sequence's s_i = exp(mean_t log rho_t) */
    RT_RL_RATIO_CISPO,    /* CISPO: l_t = -sg(min(rho, 1 + clip_high)) A lp (no clipped-away
                             token: every token keeps a gradient, its IS weight capped) */
    RT_RL_RATIO_OPMD,     /* OPMD (Kimi k1.5, Trinity-RFT): l_t = -A lp + tau (lp - lp_old)^2,
                             no ratio: the proximal term regularizes stale updates */
    RT_RL_RATIO_ASYMRE,   /* AsymRE (Arnal et al. 2025): l_t = -A lp - delta lp (the group
                             baseline lowered by delta), no ratio */
    RT_RL_RATIO_BAPO,     /* BAPO: TOKEN's clip with bounds searched per update until the
                             positive tokens carry a target share; dual clip 3 on A < 0 */
    RT_RL_RATIO_NFT,      /* NFT: positives -A log rho, negatives the implicit negative
                             policy's -(1 + A) log((1 + A rho) / (1 + A)) (A = r_i - r_q) */
    RT_RL_RATIO_R2VPO     /* R2VPO: l_t = -(rho A - lambda (rho - 1)^2), no clip: the ratio's
                             second moment about 1 penalized, lambda by dual ascent */
} rt_rl_ratio;
typedef enum {
    RT_RL_AGG_SEQ,            /* weight 1 / N */
    RT_RL_AGG_SEQ_TOKEN_MEAN, /* 1 / (N |y_i|) */
    RT_RL_AGG_CONST_LEN,      /* 1 / (N T) */
    RT_RL_AGG_TOKEN_MEAN      /* 1 / sum_i |y_i| (all valid tokens of the batch) */
} rt_rl_agg;

/* scale_rewards: what GROUP_NORM divides the centred rewards by (TRL's scale_rewards). */
typedef enum {
    RT_RL_SCALE_AUTO,  /* = GROUP */
    RT_RL_SCALE_GROUP, /* the group's std (population, 1/G) */
    RT_RL_SCALE_BATCH, /* the batch's std (population, over all N rewards) */
    RT_RL_SCALE_NONE   /* 1: GROUP_CENTER's advantage */
} rt_rl_scale;

typedef struct rt_rl_recipe {
    const char *name; /* the `algo` value: "grpo" */
    rt_rl_adv adv;
    rt_rl_ratio ratio;
    rt_rl_agg agg;
    int min_group;       /* smallest `group` (2 when the advantage compares samples of a prompt) */
    int epochs;          /* default updates per batch mu (iterations); recipes with an importance
                            ratio or stale_ok accept any mu >= 1, the others only 1 */
    rt_rl_estimator est; /* what kl_estimator = auto resolves to */
    rt_rl_kl_in kl_in;   /* what kl_in = auto resolves to */
    double clip_low, clip_high; /* ratio clip below / above 1; 0 = the config's `clip` */
    const char *help;           /* one line */
    const char *paper;          /* where it comes from: "Shao et al. 2024, DeepSeekMath" */
    const char *eq;             /* its loss, advantage and defaults, as %help ALGO shows them
                                   (lines of at most 88 columns, each ending in \n) */
    int stale_ok;               /* 1: its loss is meant for stale samples (OPMD, AsymRE): it has no
                                   importance ratio but accepts iterations > 1 */
    int minibatches;            /* default parts per update M (capped at batch); 0 = 1 */
    int filter_groups;          /* 1: by default drop the groups whose rewards are all equal */
} rt_rl_recipe;

/* The names of %%rl's rows in table order, NULL-terminated (the values of `algo`). */
extern const char *const rt_rl_recipe_names[];
int rt_rl_recipe_count(void);                            /* %%rl's rows */
const rt_rl_recipe *rt_rl_recipe_at(int i);              /* NULL outside [0, count) */
const rt_rl_recipe *rt_rl_recipe_find(const char *name); /* any row ("opd"); NULL if unknown */
int rt_rl_recipe_index(const rt_rl_recipe *r);           /* -1 unless r is a row of the table */

#endif
