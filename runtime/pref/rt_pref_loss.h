/* rt_pref_loss: the losses of learning from pairwise preferences — the Bradley–Terry
 * reward-model loss over scalar scores (%%rm) and the DPO family over sequence log-probs
 * (%%dpo: dpo, ipo, hinge, robust) — with their gradients and the metrics a trainer logs.
 * A trainer calls one of them per step on a batch of n pairs (chosen c, rejected r) and
 * back-propagates the per-pair gradients through its model; nothing here knows a model.
 *
 * Pair weights.  Every pair i has a weight w_i >= 0 (w = NULL: all 1) and W = sum_i w_i > 0;
 * the loss and every metric are weighted means (1/W) sum_i w_i (.)_i, and the gradients are
 * those of the weighted mean.  Weight 1 everywhere is TRL's plain mean; a weight 0 masks a
 * padding pair; soft labels are a pair in both orientations with weights p and 1 - p.
 *
 * Bradley–Terry (TRL RewardTrainer): with scores s_c, s_r and an optional margin m_i
 * (NULL: 0; the JSONL `margin` column) and center >= 0 (TRL's center_rewards_coefficient,
 * Eisenstein et al. 2023; 0 = off),
 *   d_i = s_c,i - s_r,i,   l_i = softplus(-(d_i - m_i)) + center (s_c,i + s_r,i)^2,
 *   dL/ds_c,i = (w_i/W) (-sigma(-(d_i - m_i)) + 2 center (s_c,i + s_r,i)),
 *   dL/ds_r,i = (w_i/W) ( sigma(-(d_i - m_i)) + 2 center (s_c,i + s_r,i)).
 * Metrics: accuracy of d_i > 0 (the margin is not subtracted, as TRL), mean d (margin),
 * mean s_c and s_r (chosen, rejected).
 *
 * DPO family (Rafailov et al. 2023 and TRL's DPOTrainer loss_type), beta > 0: with
 * policy log-probs lp and reference log-probs lr of the chosen and rejected answers,
 *   z_i = (lp_c,i - lr_c,i) - (lp_r,i - lr_r,i),   h_i = beta z_i,
 *   dpo     l = -(1 - eps) log sigma(h) - eps log sigma(-h)  (eps = label_smoothing in
 *             [0, 1/2]: cDPO, Mitchell 2023; TRL "sigmoid"; eps = 0 is DPO);
 *   ipo     l = (z - 1/(2 beta))^2  (Azar et al. 2023 eq. 17 with tau = beta, TRL "ipo":
 *             the square is of the UNSCALED log-ratio difference z, the target 1/(2 beta));
 *   hinge   l = max(0, 1 - h)  (SLiC-HF, Zhao et al. 2023; TRL "hinge"; at h = 1 the
 *             subgradient 0 is taken, as torch's relu);
 *   robust  l = (-(1 - eps) log sigma(h) + eps log sigma(-h)) / (1 - 2 eps), eps in [0, 1/2)
 *             (rDPO, Chowdhury et al. 2024; TRL "robust"): an unbiased estimate of the
 *             clean DPO loss when labels are flipped with probability eps.
 * Gradients, with l' = dl/dz:  dL/dlp_c,i = (w_i/W) l'_i,  dL/dlp_r,i = -(w_i/W) l'_i
 * (lr carries none: the reference is frozen);  dpo l' = beta (sigma(h) - (1 - eps)),
 * robust l' = beta (sigma(h) - (1 - eps)/(1 - 2 eps)), ipo l' = 2 (z - 1/(2 beta)),
 * hinge l' = -beta if h < 1 else 0.
 * Metrics (every type, TRL's rewards/chosen, ...): chosen = mean beta (lp_c - lr_c), rejected =
 * mean beta (lp_r - lr_r), margin = mean h, accuracy of h > 0.
 * Normalisation: the losses read what the trainer passes as lp and lr.  A row's
 * per_token flag says what TRL passes: summed log-probs of the answer's tokens for dpo,
 * hinge and robust, the mean per token (sum / answer length) for ipo, as TRL's
 * concatenated_forward does; the trainer then scales a token's gradient by 1 / length.
 *
 * Closed forms (tested on a one-token tabular policy, tests/runtime/rl/pref_loss_test.c):
 * with preferences over all pairs drawn from P(a > b) = sigma(r_a - r_b) and equal weight
 * per ordered pair, the expected dpo loss is minimized by pi* = pi_ref e^{r/beta} / Z, and
 * so is the expected robust loss on labels flipped at rate eps; the expected ipo loss by
 * pi* = pi_ref e^{P(a > U)/beta} / Z with P(a > U) = (1/V) sum_b sigma(r_a - r_b) (the
 * IPO paper's p*(y > mu) for mu uniform).
 *
 * Ties: a pair with d_i = 0 (h_i = 0) counts 1/2 in accuracy, the chance level, and is
 * counted in ties.  (TRL's DPO counts it as wrong, so its accuracy starts at 0 when
 * policy = reference; TRL's reward-model accuracy leaves ties out.)
 *
 * Numerics: double throughout; sigma and softplus in stable forms over rt_exp / rt_log1p
 * (no libm, no overflow: softplus(x) = max(x, 0) + log1p(e^-|x|)); one pass in pair order
 * with double accumulators — the same bits on any CPU and thread count (single-threaded).
 *
 * Errors: 0, or RT_EINVAL with rt_diag (may be NULL) filled and the key at fault where
 * there is one: no configuration, a type that is not a row of the table ("loss"), n < 1,
 * a NULL input array, beta not finite > 0 ("beta"), label_smoothing
 * out of its type's range or given to a type without one ("label_smoothing"), center not
 * finite >= 0 ("center"), a non-finite input or margin (the pair's index named), a
 * negative or non-finite weight, W = 0.  Nothing is written to the outputs on error.
 *
 * Leaves out: forming batches and sequence log-probs (the trainer), the reference model,
 * KL to the reference, ensembles of reward models (K calls), other TRL loss types
 * (exo_pair, bco_pair, nca_pair, sppo_hard, apo, aot, discopop), SimPO-style reference-
 * free losses, DPO with a margin. */
#ifndef RT_PREF_LOSS_H
#define RT_PREF_LOSS_H

#include "rt_diag.h"

typedef enum { RT_PREF_DPO, RT_PREF_IPO, RT_PREF_HINGE, RT_PREF_ROBUST } rt_pref_kind;

/* One row of the table of DPO-family losses (the values of %%dpo's `loss`). */
typedef struct rt_pref_loss_type {
    const char *name; /* the `loss` value: "dpo" */
    rt_pref_kind kind;
    const char *trl;  /* TRL's loss_type of the same formula: "sigmoid" */
    double eps_max;   /* label_smoothing allowed in [0, eps_max] (0: none) */
    int eps_open;     /* 1: eps_max itself excluded (robust divides by 1 - 2 eps) */
    int per_token;    /* 1: pass the mean per-token log-probs (TRL's ipo), 0: the sum */
    const char *help; /* one line */
} rt_pref_loss_type;

/* The names in table order, NULL-terminated (the values of `loss`; the first, "dpo",
 * is the default). */
extern const char *const rt_pref_loss_names[];
int rt_pref_loss_count(void);
const rt_pref_loss_type *rt_pref_loss_at(int i);              /* NULL outside [0, count) */
const rt_pref_loss_type *rt_pref_loss_find(const char *name); /* NULL if unknown */

typedef struct rt_pref_dpo_config {
    const rt_pref_loss_type *type; /* NULL: "dpo" */
    double beta;                   /* > 0 */
    double label_smoothing;        /* eps, within the type's range */
} rt_pref_dpo_config;

/* What one call measured (weighted means over the pairs, see the top comment). */
typedef struct rt_pref_loss_stats {
    double loss;
    double accuracy; /* of d > 0 (BT) or h > 0 (DPO family); a tie counts 1/2 */
    double margin;   /* mean d = s_c - s_r (BT) or mean h (DPO family) */
    double chosen;   /* mean s_c (BT) or beta (lp_c - lr_c) (DPO family) */
    double rejected; /* mean s_r or beta (lp_r - lr_r) */
    long ties;       /* pairs (of weight > 0) with d = 0 or h = 0 */
    double weight;   /* W */
} rt_pref_loss_stats;

/* sigma(x) = 1 / (1 + e^-x) and softplus(x) = log(1 + e^x), stable for every finite x
 * (sigma(+-inf) = 1, 0; softplus(-inf) = 0, softplus(+inf) = +inf); -log sigma(x) =
 * softplus(-x). */
double rt_pref_sigmoid(double x);
double rt_pref_softplus(double x);

/* 0 if c is a valid configuration (type, beta, label_smoothing), else RT_EINVAL. */
int rt_pref_dpo_check(const rt_pref_dpo_config *c, rt_diag *d);
/* The loss of one pair as a function of z (see the top comment) and, if dl != NULL,
 * dl/dz.  c must pass rt_pref_dpo_check. */
double rt_pref_dpo_term(const rt_pref_dpo_config *c, double z, double *dl);

/* The DPO-family loss of n pairs: inputs (n) each; w (n) or NULL; gradients dlp_c,
 * dlp_r (n) WRITTEN (not accumulated), each may be NULL (an evaluation); st may be
 * NULL. */
int rt_pref_dpo_loss(const rt_pref_dpo_config *c, long n, const double *lp_c, const double *lp_r,
                     const double *lr_c, const double *lr_r, const double *w, double *dlp_c,
                     double *dlp_r, rt_pref_loss_stats *st, rt_diag *d);

/* The Bradley–Terry loss of n pairs of scores: s_c, s_r (n); margin (n) or NULL; w (n) or
 * NULL; center >= 0; gradients ds_c, ds_r (n) WRITTEN, each may be NULL; st may be NULL. */
int rt_pref_bt_loss(long n, const double *s_c, const double *s_r, const double *margin,
                    const double *w, double center, double *ds_c, double *ds_r,
                    rt_pref_loss_stats *st, rt_diag *d);

#endif
