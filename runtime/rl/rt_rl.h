/* rt_rl: reinforcement learning on a task with a reward program (what `%%rl` runs): the
 * algorithms of the recipe table (rt_rl_recipe.h: REINFORCE, RLOO, GRPO, Dr. GRPO,
 * PPO-clip, BNPO, GSPO, CISPO, OPMD, AsymRE, BAPO, NFT, and the sampled G-OPD estimator
 * that %%opd runs), each a row of
 * parts — an advantage, a ratio form, an aggregation and defaults — the k1/k2/k3 KL
 * estimators (in the reward or as a loss term) and the chi^2 regularizer over complete
 * answers (methods.md §2 and §4).
 *
 * Notation.  A step draws B = `batch` training prompts and G = `group` samples of each,
 * N = B*G sequences of T = rt_task_answer_max tokens (sequence i belongs to prompt i / G).
 * pi_theta(.|s) = softmax(z_theta(s) / tau) with tau = `temperature` (the SAMPLING
 * distribution, so ratios and estimators are on-policy); pi_ref likewise at tau (tau = 1
 * by default: the plain policies).  A sequence ends at its first EOS: its length
 * |y_i| counts tokens up to and including the first EOS (T if none); later tokens are
 * masked out of every loss and metric.  lp = log pi_theta(y_t|s_t) of the current
 * weights, lp_old = the same at sampling time (constants), lp_ref = log pi_ref(y_t|s_t),
 * rho = exp(lp - lp_old) (1 at the first update), log r = lp_ref - lp.
 *
 * KL estimators on sampled tokens:  k1 = -log r,  k2 = (log r)^2 / 2,
 *   k3 = (r - 1) - log r;  d k/d lp = 1, -log r, 1 - r.
 * What each KL estimator's gradient optimizes (expected over y ~ pi_theta at one state;
 * tests/runtime/rl/formulas_test.c test_kl_expected_gradients checks it by enumeration):
 *   estimator  kl_in = loss (beta k_t in the loss)   kl_in = reward (R - beta k)
 *   k1         0: E[grad lp] = 0, no pull at all      grad KL(pi || pi_ref)
 *   k2         grad KL(pi || pi_ref) (reverse KL)     grad E[k2] - grad KL(pi || pi_ref)
 *   k3         grad KL(pi_ref || pi) (forward KL)     grad KL(pi || ref) - grad KL(ref || pi)
 * (per state; over sequences the reward form's k sum multiplies the score of the whole
 * answer, the loss form's k_t only its own token).  So reinforce's and rloo's defaults
 * (k1 in the loss) regularize nothing: %%rl warns when kl > 0 there.
 *
 * Sequence rewards R_i come from the reward program on the task features of sample i.
 * With kl_in = reward (and regularizer = kl, kl = beta > 0) a per-sequence advantage
 * part uses R'_i = R_i - beta sum_t k_t (estimator at sampling time, a constant);
 * TOKEN_RTG and GAE use the per-token reward r_t = -beta k_t + [t = |y_i| - 1] R_i.  With
 * kl_in = loss, beta k_t is added to every token's loss term below (with the
 * aggregation's weight).
 *
 * Advantage part (rt_rl_advantages; per sequence unless stated):
 *   BASELINE      A_i = R'_i - b, b the moving-average baseline BEFORE this step's update;
 *                 b starts at the first batch's mean; after each step
 *                 b <- m b + (1 - m) mean(R'), m = baseline_momentum.
 *   LOO           A_i = R'_i - mean_{j != i, same prompt} R'_j
 *   GROUP_NORM    A_i = (R'_i - mean_g R') / (std_g R' + adv_eps), population std (1/G)
 *   GROUP_CENTER  A_i = R'_i - mean_g R'
 *   TOKEN_RTG     per token (rt_rl_token_advantages): reward-to-go G_t = sum_{t' >= t}
 *                 r_t' (no value network, no discount), then whitened over all valid
 *                 tokens of the batch: A_t = (G_t - mean G) / (std G + adv_eps).
 *   GAE           per token (rt_rl_gae; Schulman et al. 2016, as TRL's PPOTrainer): a value
 *                 head V_t = w . h_t + b on the policy's trunk features h_t (rt_model.h:
 *                 rt_model_features; the state before token t, the row of its logits);
 *                 V_old = V at the update's first forward (sampling time, the head's
 *                 current weights); delta_t = r_t + gamma V_old,t+1 - V_old,t (V = 0 from
 *                 t = |y_i| on), A_t = sum_{l >= 0} (gamma lambda)^l delta_{t+l} (A_t =
 *                 delta_t + gamma lambda A_{t+1}), returns ret_t = A_t + V_old,t, then A
 *                 whitened over the valid tokens exactly as TOKEN_RTG (population std, +
 *                 adv_eps; TRL's masked_whiten uses the unbiased variance, + 1e-8 inside
 *                 the root).  With V = 0, gamma = lambda = 1 it is TOKEN_RTG bit for bit.
 *                 gamma = cfg.gae_gamma (%%rl's `gamma`), lambda = cfg.gae_lambda.  The
 *                 loss adds vf_coef L_V, the clipped value loss of TRL's PPOTrainer:
 *                 L_V = (0.5 / sum_i |y_i|) sum_valid max((V_t - ret_t)^2,
 *                 (clip(V_t, V_old,t - c_v, V_old,t + c_v) - ret_t)^2), c_v = value_clip
 *                 (rt_rl_value_loss; dL_V/dV_t = (V_t - ret_t) / sum |y| where the
 *                 unclipped term is the max, else 0).  Its gradient reaches the head
 *                 (rt_rl_value_head_backward) and, through dL/dh_t = dL/dV_t w, the trunk
 *                 (rt_model_backward_features).  The head is the engine's (like TRL's
 *                 v_head it is part of training, not of the saved policy): C + 1 floats,
 *                 zeros at rt_rl_create, its own Adam (same lr, betas, and grad_clip on its
 *                 own norm) after every update, kept across the steps of a run.  A policy
 *                 architecture without features (rt_model_feature_dim = 0) cannot have
 *                 it: rt_rl_check refuses advantage GAE for it (key algo / advantage).
 *   TEACHER_LOGRATIO  per token, from the teacher's log-prob lT = log pi_T(y_t|s_t) at
 *                 teacher_temperature tau_T (log_softmax(z_T / tau_T)) and lS = lp_old,
 *                 lR = lp_ref (both at tau): r_t = (lT - lS) + (lambda - 1)(lT - lR)
 *                 (= lambda (lT - lR) - (lS - lR), written so that at lambda = 1 the
 *                 reference cancels exactly), then with gamma > 0 the discounted
 *                 return-to-go A_t = r_t + gamma A_{t+1} (A = 0 past |y_i|), else A_t =
 *                 r_t; not whitened; the rewards R are not read (G-OPD / ExOPD,
 *                 methods.md §1).  The teacher of sequence i is teachers[route[i]]
 *                 (rt_rl_sample_routed; one teacher: route NULL).  Numerics, as the
 *                 released estimator's: A in float (rt_rl_teacher_advantages); at
 *                 tau = 1, lS is the sampler's own log-prob of its token (x_y - m -
 *                 log s, the log-softmax row's value up to one rounding).
 * A per-sequence A_i is every token's A_t.  The loss (rt_rl_loss) sums over valid tokens
 * w_i (l_t + [kl_in = loss] beta k_t), with the ratio part's per-token term
 *   NONE   l_t = -A lp                        (plain policy gradient; dl/dlp = -A)
 *   TOKEN  l_t = -min(rho A, clip(rho, 1 - clip_low, 1 + clip_high) A)
 *          (clip_low = clip_high = `clip` unless the recipe or the config sets them)
 *   SEQUENCE (GSPO, Zheng et al. 2025) rho replaced by the answer's s_i =
 *          exp((1/|y_i|) sum_t (lp - lp_old)), clipped per answer; d s_i / d lp_t = s_i/|y_i|
 *          for each of its tokens (TRL's importance_sampling_level = "sequence")
 *   CISPO  (MiniMax-M1, 2025) l_t = -sg(min(rho, 1 + clip_high)) A lp: the IS weight is
 *          capped and not differentiated, so no token loses its gradient (TRL's
 *          loss_type = "cispo" with epsilon_high = 1 + clip_high); a capped token counts
 *          in clip_frac
 *   OPMD   (online policy mirror descent, Kimi k1.5, as Trinity-RFT's rec family runs it:
 *          Yao et al. 2025, "Group-Relative REINFORCE Is Secretly an Off-Policy
 *          Algorithm", arXiv 2509.24203, regularizer "k2") l_t = -A lp + tau (lp -
 *          lp_old)^2, tau = opmd_tau (0.1; the 1/2 of Kimi's form absorbed in tau as the
 *          release does); dl/dlp = -A + 2 tau (lp - lp_old).  No ratio: at the first update
 *          (lp = lp_old) and at tau = 0 it is NONE's term bit for bit
 *   ASYMRE (Arnal et al. 2025, Asymmetric REINFORCE; the same paper's regularizer
 *          "forward-kl") l_t = -A lp - delta lp = -(R_i - (mean_g R - delta)) lp with
 *          GROUP_CENTER's A: the group baseline lowered by delta = asymre_shift (0.1);
 *          dl/dlp = -A - delta; delta = 0 is NONE's term bit for bit
 *   BAPO   (Xi et al. 2025, arXiv 2510.18927; the WooooDyy/BAPO release) TOKEN's clipped
 *          term with ratio bounds [c_low, c_high] searched per update (rt_rl_bapo_bounds)
 *          and a dual clip for A < 0 (l_t at most -3 A, verl's clip_ratio_c): from c_low =
 *          1 - clip_low, c_high = 1 + clip_high (0.6, 1.2), with P = sum rho A over A > 0,
 *          rho <= c_high and M = sum rho |A| over A < 0, c_low <= rho <= 3 (the valid tokens
 *          that keep a gradient), while P < rho0 (P + M) raise c_low by bapo_step (0.05)
 *          up to bapo_low_max (0.9), then c_high likewise up to bapo_high_max (3); rho0 =
 *          bapo_target (0.5: positives carry half).  The release's order and steps, the
 *          paper's ranges and target; the release's measure sums the clipped values
 *          instead, whose negative part grows with c_low: we count what keeps a gradient
 *   NFT    (negative-aware fine-tuning, Chen et al. 2025, arXiv 2505.18116; NVlabs/NFT,
 *          normalize = 1, clamp_negative = eps) on GROUP_CENTER's A = R_i - r_q, R_i in
 *          {0, 1}, r_q = mean_g R (any other reward fails the step: "rl: reward 0.5 of
 *          sample 3 is not 0 or 1 ..."), prompt weight omega_q = 1 - r_q:
 *          correct (A > 0): l_t = -omega_q log rho = -A (lp - lp_old), dl/dlp = -A;
 *          wrong (A < 0): with q = 1 + A = omega_q, p = 1 + A rho (the implicit negative
 *          policy's ratio (1 - r_q rho) / (1 - r_q) = p / q), l_t = -q log(p / q) while
 *          p / q >= eps, dl/dlp = -(A rho)(q / p); below eps (p <= 0 included) the -log is
 *          continued linearly, l_t = q (-log eps - (p / q - eps) / eps), dl/dlp = -A rho /
 *          eps: the release's gradient-preserving clamp (value clamped, gradient 1/eps),
 *          made a C^1 loss so its gradient is the release's; eps = nft_eps (1).  A = 0 (a
 *          group all right or all wrong): 0.  At rho = 1, p = q exactly and dl/dlp = -A:
 *          Dr. GRPO's gradient (GROUP_CENTER, TOKEN at rho 1) bit for bit, the paper's
 *          strict on-policy equivalence.  Left out: the release's cap exp(10) on rho, its
 *          r_q clamp to [0.02, 0.98] (no effect for G <= 50) and its other prompt weights
 *          (normalize = 2, GRPO's std)
 *   R2VPO  (Luo et al. 2026, "Ratio-Variance Regularized Policy Optimization", arXiv
 *          2601.03320) the clip replaced by a penalty on the ratio's second central moment
 *          (E_old[rho] = 1, so E[(rho - 1)^2] is its variance): l_t = -(rho A - lambda (rho -
 *          1)^2), dl/dlp = -rho A + 2 lambda (rho - 1) rho, no token loses its gradient.
 *          lambda is a Lagrange multiplier of the constraint E[(rho - 1)^2] <= delta, updated
 *          by projected dual ascent after every update: lambda <- max(0, lambda + eta (v -
 *          delta)), v = the update's mean (rho - 1)^2 over valid tokens (eta =
 *          r2vpo_dual_lr; lambda starts at r2vpo_lambda for each run and persists across its
 *          steps: metric r2vpo_lambda).  The objective is the paper's as public
 *          reimplementations read it (fixed lambda = 0.04, i.e. eta = 0); the paper's own
 *          delta and eta were not available to us: delta = 0.04 = 0.2^2 (the second moment
 *          a 0.2 clip allows at its edge) and eta = 1 are ours.  At rho = 1 (one update, no
 *          staleness) the term is TOKEN's bit for bit
 * and the aggregation part's weight w_i
 *   SEQ             1 / N            (loss = -(1/N) sum_i A_i sum_t lp for NONE)
 *   SEQ_TOKEN_MEAN  1 / (N |y_i|)    (= mean over prompts of (1/G) sum_i (1/|y_i|) sum_t)
 *   CONST_LEN       1 / (N T)        (constant G * max length per prompt)
 *   TOKEN_MEAN      1 / sum_i |y_i|  (every valid token of the batch weighs the same)
 * The rows (min_group: smallest `group`; est, kl_in, epochs: what AUTO resolves to):
 *   algo       advantage     ratio  aggregation     min_group  est  kl_in   epochs
 *   reinforce  BASELINE      NONE   SEQ             1          k1   loss    1
 *   rloo       LOO           NONE   SEQ             2          k1   loss    1
 *   grpo       GROUP_NORM    TOKEN  SEQ_TOKEN_MEAN  2          k3   loss    1
 *   drgrpo     GROUP_CENTER  TOKEN  CONST_LEN       2          k3   loss    1
 *   ppo        GAE           TOKEN  TOKEN_MEAN      1          k1   reward  4
 *   bnpo       GROUP_NORM    TOKEN  TOKEN_MEAN      2          k3   loss    1
 *   gspo       GROUP_NORM    SEQUENCE SEQ_TOKEN_MEAN 2         k3   loss    4  (clip 3e-4/4e-4)
 *   cispo      GROUP_NORM    CISPO  TOKEN_MEAN      2          k3   loss    4  (clip_high 4)
 *   dapo       GROUP_NORM    TOKEN  TOKEN_MEAN      2          k3   loss    1  (clip 0.2/0.28,
 *              minibatches min(16, B), filter_groups: DAPO, Yu et al. 2025, arXiv 2503.14476)
 *   opmd       GROUP_CENTER  OPMD   TOKEN_MEAN      2          k2   loss    1  (stale_ok)
 *   asymre     GROUP_CENTER  ASYMRE TOKEN_MEAN      2          k2   loss    1  (stale_ok)
 *   bapo       GROUP_NORM    BAPO   TOKEN_MEAN      2          k3   loss    2  (clip 0.4/0.2)
 *   nft        GROUP_CENTER  NFT    TOKEN_MEAN      2          k3   loss    1
 *   r2vpo      GROUP_NORM    R2VPO  TOKEN_MEAN      2          k3   loss    4
 *   opd        TEACHER_LOGRATIO NONE TOKEN_MEAN     1          k1   loss    1
 * Parts as keys (cfg.advantage, cfg.loss_agg, cfg.scale_rewards; %%rl's `advantage`,
 * `loss_agg`, `scale_rewards`): a configuration may replace the recipe's advantage
 * (not the teacher's) and aggregation parts (rt_rl_config_adv / _agg read the part in
 * force), and scale GROUP_NORM by the group's std (the default), the batch's (population
 * std of all N rewards: TRL's scale_rewards = "batch") or nothing (= GROUP_CENTER, Dr.
 * GRPO's); grpo with advantage GROUP_CENTER and aggregation CONST_LEN is drgrpo bit for
 * bit (formulas_test test_parts_as_keys).  A group comparison (LOO, GROUP_*) needs
 * group >= 2.
 * (opd with group 1 and kl 0 is the sampled estimator "as released": loss =
 * -(1/sum_i |y_i|) sum_valid A_t lp, one update per batch; it needs a teacher, so it is
 * not an `algo` value of %%rl.)
 * (bnpo is TRL's loss_type = "bnpo": GRPO's advantages normalized by the batch's valid
 * tokens.)  Updates per batch mu (cfg.epochs; %%rl's key `iterations`, TRL's
 * num_iterations, older name `epochs`; the column "epochs" above is the default, 0 =
 * auto): every recipe whose loss has an importance ratio (ratio TOKEN: grpo, drgrpo,
 * ppo, bnpo) runs mu full-batch optimizer updates on each sampled batch, the first
 * reusing the sampling activations (rho = 1 exactly), later ones a forward through the
 * updated weights, with rho = exp(lp - lp_old) against the SAMPLING-time log-probs and
 * the advantages of the sample (computed once), so from the second update on the clip
 * acts.  clip_frac = fraction of valid tokens over all mu updates where the clipped
 * branch is strictly the minimum (its gradient is cut): 0 with mu = 1 (BAPO's dual clip
 * and NFT's floor count on the high side).  Recipes without a ratio (reinforce, rloo,
 * opd) make one update; mu > 1 is an error for them (their plain policy gradient has
 * nothing to correct a stale sample), except the rows marked stale_ok (opmd, asymre),
 * whose regularized losses are meant for stale samples (Yao et al. 2025): they accept
 * any mu, and every recipe with a ratio (bapo, nft too) does.
 *
 * Off-policy and DAPO parts (issue 18):
 *   STALENESS k (cfg.staleness, rt_rl_run): the rollouts of step s are generated by the
 *          policy after max(0, s - 1 - k) steps (so steps 1 .. k + 1 sample the initial
 *          policy): rt_rl_run keeps k + 1 snapshots (copies made at setup, rotated by
 *          rt_model_assign).  lp_old is then the SAMPLER's (behaviour policy's) log-prob,
 *          the sampling-time metrics (kl_ref, kl_est, entropy) are the sampler's, and
 *          rt_rl_update forwards the current policy on the samples before its first
 *          update (it reuses the sampling activations only when the model that sampled
 *          is the one it trains), so rho = pi_theta / pi_sampler != 1 from the first
 *          update and the clip corrects the staleness.  The reference and the KL terms
 *          are unchanged.  reinforce and rloo accept k > 0 although their plain policy
 *          gradient has no correction for stale data (the off-policy lesson).
 *   MINIBATCHES M (cfg.minibatches; 1 by default, dapo min(16, B)): each of the mu
 *          iterations splits the B prompts into M consecutive parts of whole groups,
 *          part m = prompts [m B / M, (m + 1) B / M) (sizes differ by at most 1; M <= B),
 *          and makes one optimizer update per part: mu M updates per step, in order
 *          (iteration-major).  Advantages are computed once on the whole batch; the
 *          aggregation's weights normalize within the part (n and sum |y_i| above are the
 *          part's).  Every update after the first forwards the part through the current
 *          weights (with M = 1, the first reuses the sampling activations); the first
 *          update of an on-policy sample keeps rho = 1 exactly.  A recipe without a ratio
 *          refuses M > 1 (as mu > 1).  chi^2 (below) is the part's prompts' mean.
 *   FILTER_GROUPS (cfg.filter_groups; dapo's default): a prompt whose G task rewards R
 *          are all equal (zero std: no group signal; R before any KL shaping) is dropped
 *          from the loss: its sequences weigh 0, and the aggregation renormalizes over
 *          the kept sequences / tokens of the part (n = kept sequences, sum |y_i| over
 *          them).  A part without a kept group makes no update; if every group is
 *          dropped the step makes none (weights and Adam state unchanged; loss and
 *          grad_norm 0).  Metric groups_kept: the kept groups (B without the filter).
 *          DAPO's dynamic sampling over-samples to refill the batch with groups that have
 *          signal; this is the drop-from-the-loss variant (no extra sampling).
 *   ENTROPY_COEF c >= 0: loss -= c sum_i w_i sum_{t < |y_i|} H(pi_theta(.|s_t)), H the
 *          exact entropy at tau of the current weights' full softmax, w_i the
 *          aggregation's weight; dH/dz_v = -p_v (log p_v + H) / tau through the logits
 *          (rt_rl_entropy_row); c = 0 computes nothing (today's bits).
 *
 * chi^2 regularizer (regularizer = chi2, coefficient `chi2`): for each of the B prompts
 * x, over every complete answer y (tokens up to and including the first EOS, or T tokens
 * without EOS), chi2_x = sum_y pi_theta(y|x)^2 / pi_ref(y|x) - 1 (the chi^2 divergence
 * between the answer (response) distributions, an answer being one action; the chi^2
 * between the per-(prefix, token) occupancy measures is smaller: it averages prefix-level
 * chi^2 values, each at most the answer-level one), computed EXACTLY by enumerating the
 * prefix tree; the loss
 * adds chi2 * mean_x chi2_x with its exact gradient
 *   d chi2_x = sum_y w_y sum_t d lp(y_t|s_t),  w_y = 2 pi_theta(y)^2 / pi_ref(y).
 * The tree has S = sum_{L=0}^{T-1} (V-1)^L non-final prefixes; S <= RT_RL_CHI2_MAX_STATES
 * is required (V = 32: answers of at most 3 tokens), else a configuration error.
 * With regularizer = chi2 the KL term is off (kl must be 0).
 *
 * Metrics (rt_rl_columns; a row per log_every steps and at the last step):
 *   step, tokens (valid generated tokens so far), wall (s, not deterministic), reward
 *   (mean R), accuracy (mean `correct` of the samples), eval_accuracy (held-out greedy,
 *   rt_eval_greedy over eval_prompts fixed prompts, at multiples of eval_every and the
 *   last step, NaN otherwise), kl_ref (EXACT mean per-state KL(pi_theta || pi_ref) from
 *   full softmaxes at every visited state, at sampling time; a mean below 0, float
 *   noise when the policy is still the reference, is 0), kl_est (the chosen
 *   estimator's mean over the same states), entropy (exact, mean per state), length
 *   (mean |y_i|), adv_mean (mean advantage: per sequence, TOKEN_RTG per valid token),
 *   grad_norm (mean over the step's updates, before clipping), clip_frac (split into
 *   clip_frac_low and clip_frac_high, the clip's two sides), ratio_mean and ratio_var
 *   (the importance ratio over valid tokens and updates; GSPO: the answer's; NaN for a
 *   recipe without a ratio), frac_reward_zero_std (prompts whose G rewards are all equal:
 *   no group signal; TRL's metric), loss (mean
 *   over the step's updates, regularizer included), eval_reward (mean of the eval
 *   reward over the samples, NaN without one), chi2 (mean chi2_x before the update,
 *   NaN unless regularizer = chi2), staleness (the configured k), groups_kept (prompts
 *   in the loss: B unless filter_groups drops some), value_loss (L_V, without vf_coef,
 *   mean over the step's updates) and explained_var (1 - Var(ret - V_old) / Var(ret),
 *   population variances over the valid tokens, at sampling time; NaN when Var(ret) =
 *   0), both NaN without a value head (advantage other than GAE), r2vpo_lambda (R2VPO's
 *   multiplier after the step; NaN for other recipes).
 *
 * Streams (rt_trainer.h): the prompts of step s from its RT_STREAM_PROMPTS stream
 * (rt_task_sample_batch(.., 0, TRAIN, B)), sequence i of step s from sequence i of its
 * RT_STREAM_SAMPLES stream (rt_model_generate), the evaluator from cfg.eval_stream.
 * Nothing depends on the thread count (cfg.threads, GEMM threads, rt_sweep): the
 * model kernels split work by data (rt_model.h) and so do this module's row passes
 * (blocks of 128 rows; sums in a fixed order).  With cfg.threads > 1 keep the GEMM
 * single-threaded (rt_nn_set_gemm_threads(1)), as rt_policy asks.
 *
 * Lifecycle of rt_rl_run: rt_trainer_run's with the record rt_rl_trainer — starts the
 * run, polls its cancel flag before each step (RT_RUN_INTERRUPTED at the completed step,
 * no extra row), finishes as failed naming the step and metric when the reward, loss or
 * gradient norm is NaN/Inf ("rl: reward is inf at step 3"; every check happens before
 * the optimizer step that would use the value, so the policy keeps the weights of the
 * last good update — with iterations > 1, earlier updates of the failing step stay applied).  All
 * buffers are allocated before the first step.
 *
 * Leaves out: a separate value network (the value head shares the policy's trunk),
 * whitening of rewards, learning-rate schedules, DAPO's over-sampling to refill filtered
 * groups, importance corrections for the plain policy gradients. */
#ifndef RT_RL_H
#define RT_RL_H

#include "rt_diag.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_rl_recipe.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

#define RT_RL_CHI2_MAX_STATES 4096
#define RT_RL_CHI2_MAX_V 256 /* vocabulary limit of the chi^2 regularizer */

typedef enum { RT_RL_REG_KL, RT_RL_REG_CHI2 } rt_rl_regularizer;

typedef struct rt_rl_config {
    const rt_rl_recipe *algo;     /* algo: a row of the recipe table (rt_rl_recipe.h) */
    int group;                    /* group: samples per prompt G, >= the recipe's min_group */
    int batch;                    /* batch: prompts per step B, >= 1 */
    long steps;                   /* steps, >= 0 */
    float lr;                     /* lr: Adam learning rate, > 0 */
    float temperature;            /* temperature tau, > 0 */
    double kl;                    /* kl: beta >= 0 (regularizer = kl) */
    rt_rl_estimator kl_estimator; /* kl_estimator: AUTO = the recipe's est */
    rt_rl_kl_in kl_in;            /* kl_in: AUTO = the recipe's kl_in */
    int advantage;                /* advantage: 0 = the recipe's, else 1 + rt_rl_adv (BASELINE ..
                                     GAE: not the teacher's) — a part as a key */
    int loss_agg;                 /* loss_agg: 0 = the recipe's, else 1 + rt_rl_agg */
    int ratio; /* ratio: 0 = the recipe's, else 1 + rt_rl_ratio (TOKEN or SEQUENCE, for a
                  recipe with a ratio) */
    rt_rl_scale scale_rewards;     /* scale_rewards: GROUP_NORM's divisor (AUTO = GROUP) */
    double clip;                   /* clip: epsilon_c in (0, 1), both sides of the ratio */
    double clip_low, clip_high;    /* 0 = auto: the recipe's, else clip; low in (0, 1), high > 0 */
    int epochs;                    /* iterations (older name epochs): mu, optimizer updates
                                      on each sampled batch; 0 = the recipe's; > 1 only with
                                      a ratio recipe (ratio TOKEN) */
    long eval_every;               /* eval_every: 0 = never */
    int eval_prompts;              /* held-out prompts for eval_accuracy, >= 1 */
    rt_eval_stream eval_stream;    /* the evaluator's stream (rt_trainer.h); default unset */
    double baseline_momentum;      /* baseline: reinforce's m in [0, 1) */
    rt_rl_regularizer regularizer; /* regularizer = kl | chi2 */
    double chi2;                   /* chi2: coefficient >= 0 (regularizer = chi2) */
    float grad_clip;               /* global gradient-norm clipping, 0 = off */
    double adv_eps;                /* epsilon of the std normalizations, > 0 */
    long log_every;                /* a metrics row every N steps (and the last), >= 1 */
    int threads;                   /* threads of the model kernels (rt_model_ws_set_threads) */
    /* TEACHER_LOGRATIO only (rt_rl_create_teacher) */
    double lambda;             /* reward scale: 1 = OPD, > 1 = ExOPD; finite */
    double gamma;              /* discount of the return-to-go, [0, 1]; 0 = per token */
    float teacher_temperature; /* tau_T > 0 */
    int lean;                  /* 1: no sampling-time metrics (kl_ref, kl_est, entropy,
                                  kl_teacher are NaN): the reference and teachers are scored
                                  by their token log-probs only (the same bits as from their
                                  log-softmax rows), for callers that do not show them */
    /* the coefficients of single recipes (each read by its loss form only) */
    double opmd_tau;      /* opmd: tau >= 0 of the squared log-ratio term (0.1) */
    double asymre_shift;  /* asymre: delta, the group baseline lowered by it (0.1; may be < 0) */
    double bapo_target;   /* bapo: rho0 in [0, 1], the positive tokens' share to reach (0.5) */
    double bapo_low_max;  /* bapo: c_low's ceiling, in [1 - clip_low, 1] (0.9) */
    double bapo_high_max; /* bapo: c_high's ceiling, >= 1 + clip_high (3) */
    double bapo_step;     /* bapo: step of both bounds, > 0 (0.05) */
    double nft_eps;       /* nft: floor of the negative ratio, > 0 (1: the release's) */
    /* off-policy and DAPO parts (issue 18; see the top comment) */
    int staleness;       /* staleness k >= 0: step s samples from the policy of k steps
                            earlier (rt_rl_run keeps k + 1 snapshots); 0 = on-policy */
    int minibatches;     /* M: 0 = the recipe's (1; dapo min(16, batch)), else 1..batch
                            consecutive parts of whole groups, an update each */
    int filter_groups;   /* 0 = the recipe's, 1 = off, 2 = on: groups whose G rewards are
                            all equal weigh 0 in the loss (DAPO's dynamic sampling) */
    double entropy_coef; /* >= 0: loss -= entropy_coef * the weighted mean entropy */
    /* the value head (advantage GAE; rt_rl_check refuses them out of range) */
    double vf_coef;       /* vf_coef: the value loss's coefficient, >= 0 (TRL 0.1) */
    double gae_lambda;    /* gae_lambda: GAE's lambda in [0, 1] (TRL's lam, 0.95) */
    double gae_gamma;     /* %%rl's gamma: GAE's discount in [0, 1] (TRL 1) */
    double value_clip;    /* value_clip: c_v > 0 (TRL's cliprange_value, 0.2) */
    double r2vpo_lambda;  /* r2vpo: the penalty's multiplier at the first update, >= 0 (0.04) */
    double r2vpo_delta;   /* r2vpo: the constraint E[(rho - 1)^2] <= delta, >= 0 (0.04) */
    double r2vpo_dual_lr; /* r2vpo: step of the multiplier's dual ascent, >= 0 (1; 0: fixed) */
} rt_rl_config;

/* Defaults: grpo, group 8, batch 32, steps 200, lr 2e-4, temperature 1, kl 0, auto
 * estimator / kl_in / epochs, clip 0.2, eval_every 20, eval_prompts 256, baseline 0.9,
 * regularizer kl, chi2 0, grad_clip 1, adv_eps 1e-6, log_every 1, threads 1, lambda 1,
 * gamma 0, teacher_temperature 1, staleness 0, minibatches and filter_groups the recipe's
 * (0), entropy_coef 0; opmd_tau 0.1, asymre_shift 0.1, bapo_target 0.5, bapo_low_max 0.9,
 * bapo_high_max 3, bapo_step 0.05, nft_eps 1 (their papers'); vf_coef 0.1, gae_lambda
 * 0.95, gae_gamma 1, value_clip 0.2 (TRL's PPOConfig); r2vpo_lambda 0.04, r2vpo_delta
 * 0.04, r2vpo_dual_lr 1 (ours: see R2VPO above). */
void rt_rl_config_init(rt_rl_config *cfg);
/* Validates cfg and returns a copy with the AUTO fields resolved from the recipe
 * (kl_estimator, kl_in, epochs, clip_low, clip_high, minibatches (M >= 1), filter_groups
 * (1 = off, 2 = on): the values the formulas read).  0 or
 * RT_EINVAL
 * with diag->key / diag->msg, e.g. "iterations = 3 with algo = rloo: its loss has no
 * importance ratio, ..." (key "iterations"), "group = 1 with algo = grpo: advantages
 * compare the G samples of a prompt, use group >= 2".  out may be NULL. */
int rt_rl_config_check(const rt_rl_config *cfg, rt_rl_config *out, rt_diag *diag);
/* The advantage and aggregation parts in force: the config's override, else the
 * recipe's. */
rt_rl_adv rt_rl_config_adv(const rt_rl_config *cfg);
rt_rl_agg rt_rl_config_agg(const rt_rl_config *cfg);
rt_rl_ratio rt_rl_config_ratio(const rt_rl_config *cfg);
/* The recipe's name ("grpo", "?" for NULL) and the row of a name (rt_rl_recipe_find):
 * 0 or RT_EINVAL. */
const char *rt_rl_algo_name(const rt_rl_recipe *a);
int rt_rl_algo_parse(const char *name, const rt_rl_recipe **a);
const char *rt_rl_estimator_name(rt_rl_estimator e); /* "k1", ... ("auto") */
int rt_rl_estimator_parse(const char *name, rt_rl_estimator *e);
/* The metric names in the order rt_rl_run fills them; *n (may be NULL) = count. */
const char *const *rt_rl_columns(int *n);

/* ---- the formulas (exposed for tests; pure functions, no allocation) --------------- */

/* k (the estimator's value) and dk/dlp at a sampled token; est resolved (K1..K3). */
double rt_rl_kl_est(rt_rl_estimator est, double lp, double lp_ref);
double rt_rl_kl_est_grad(rt_rl_estimator est, double lp, double lp_ref);

/* Sequence advantages of cfg->algo's advantage part (cfg resolved): R (n_prompts * G),
 * A out (same).  BASELINE reads and updates *baseline (*baseline_set = 0 before the
 * first step).  TOKEN_RTG, or G < 2 with LOO / GROUP_*: RT_EINVAL (see
 * rt_rl_token_advantages). */
int rt_rl_advantages(const rt_rl_config *cfg, const double *R, int n_prompts, int G,
                     double *baseline, int *baseline_set, double *A);
/* TOKEN_RTG token advantages: r (n, T) per-token rewards, len (n); A (n, T) out (reward-to-go,
 * whitened over valid tokens; invalid tokens 0).  Returns the mean of G over valid tokens. */
double rt_rl_token_advantages(const double *r, const int *len, int n, int T, double eps, double *A);
/* GAE of the top comment: r (n, T) per-token rewards, V (n, T) the values at sampling
 * (read at valid tokens only), len (n); A (n, T) out (whitened over valid tokens as
 * rt_rl_token_advantages; invalid 0), ret (n, T) out (A before whitening + V; invalid 0).
 * Returns the mean of A before whitening over the valid tokens. */
double rt_rl_gae(const double *r, const double *V, const int *len, int n, int T, double gamma,
                 double lambda, double eps, double *A, double *ret);
/* 1 - Var(ret - V) / Var(ret) over the valid tokens (population variances); NaN when
 * Var(ret) = 0 or there are none. */
double rt_rl_explained_var(const double *ret, const double *V, const int *len, int n, int T);
/* The clipped value loss L_V of the top comment over the valid tokens of (n, T) arrays v,
 * v_old, ret; dv (n, T) (may be NULL) = d L_V / d v (0 at invalid tokens). */
double rt_rl_value_loss(int n, int T, const int *len, const double *v, const double *v_old,
                        const double *ret, double clip, double *dv);
/* The value head on rows (rows, C) of features h: v[r] = b + sum_c w[c] h[r][c], in double
 * in column order; head = w (C) | b. */
void rt_rl_value_head(const float *h, int rows, int C, const float *head, double *v);
/* Its backward from dv (rows) scaled by s: dhead (C + 1) = s (sum_r dv_r h_r | sum_r dv_r),
 * summed in double in row order, written (not accumulated) in float; dh (rows, C) (may be
 * NULL, or h itself: written after h is read) = s dv_r w (float). */
void rt_rl_value_head_backward(const float *h, const double *dv, int rows, int C, const float *head,
                               double s, float *dhead, float *dh);
/* TEACHER_LOGRATIO token advantages of the top comment: lT, lS, lR (n, T) the teacher's,
 * the policy's (sampling time) and the reference's token log-probs (float values), len
 * (n); A (n, T) out (invalid tokens 0), computed in float (the precision of its inputs;
 * lambda and gamma rounded to float), the recurrence included.  Returns the mean of A
 * over valid tokens (in double, sequence-major order). */
double rt_rl_teacher_advantages(double lambda, double gamma, const double *lT, const double *lS,
                                const double *lR, const int *len, int n, int T, double *A);
/* The loss of the top comment on n sequences of T tokens (row-major (n, T) arrays, valid
 * tokens t < len[i]): lp, lp_old, lp_ref, A (per token).  Returns the loss; dlp (n, T)
 * (may be NULL) = d loss / d lp (0 at invalid tokens); *n_clipped (may be NULL) = valid
 * tokens whose clipped branch is the minimum.  cfg resolved. */
/* What rt_rl_loss_stats counts over the valid tokens of one loss: tokens whose clipped
 * branch was the minimum at the low side (ratio < 1 - clip_low) or the high side (a
 * CISPO weight capped counts high), and the ratio's sum and sum of squares (the token's
 * rho; GSPO: its answer's s_i; 0 tokens for a recipe without a ratio). */
typedef struct rt_rl_loss_stats {
    long clip_low, clip_high, n;
    double ratio_sum, ratio_sq;
} rt_rl_loss_stats;
double rt_rl_loss_stats_of(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                           const double *lp_old, const double *lp_ref, const double *A, double *dlp,
                           rt_rl_loss_stats *st);
/* BAPO's bounds for one update (the search of the top comment): the ratio bounds c_low,
 * c_high (e.g. 0.6, 1.2) the loss of RT_RL_RATIO_BAPO uses on these tokens; cfg
 * resolved (clip_low / clip_high give the start). */
void rt_rl_bapo_bounds(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                       const double *lp_old, const double *A, double *c_low, double *c_high);
double rt_rl_loss(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                  const double *lp_old, const double *lp_ref, const double *A, double *dlp,
                  long *n_clipped);
/* The number of non-final prefixes S = sum_{L<T} (V-1)^L (capped at LONG_MAX/2). */
long rt_rl_chi2_states(int V, int T);
/* The prefix tree of one prompt (shared by the chi^2 regularizer and the tilt,
 * rt_tilt.h): its S non-final states in breadth-first order (state 0 = the empty
 * prefix; the children of a state of depth < T - 1 are its non-EOS tokens a in
 * increasing order, rt_rl_tree_child), as model rows: seqs (S, P + T) gets prompt ++
 * the state's prefix (positions past it are left as they are), lo[s] = P + depth(s),
 * hi[s] = lo[s] + 1 (the position scoring the state's next token).  eos < 0: no end
 * token (nc = V children).  rt_rl_tree_internal: the states of depth < T - 1 are
 * exactly [0, internal); an action a from state s ends the answer iff a == eos or
 * s >= internal. */
void rt_rl_tree_states(const int *prompt, int P, int T, int V, int eos, long S, int *seqs, int *lo,
                       int *hi);
long rt_rl_tree_child(long s, int a, int V, int eos);
long rt_rl_tree_internal(int V, int T, int eos);
/* The exact entropy H = -sum_v p_v log p_v of one state from its log-softmax row ls and
 * probabilities p = exp(ls) at tau (V each), summed in double in index order; if dz is
 * not NULL, dz[v] += scale * dH/dz_v = -scale p_v (log p_v + H) / tau (the gradient
 * through the LOGITS z, pi = softmax(z / tau)). */
double rt_rl_entropy_row(const float *ls, const float *p, int V, double tau, double scale,
                         float *dz);
/* chi^2 over the prefix tree of one prompt, in double: states in breadth-first order
 * (state 0 = empty prefix; the children of a state are its non-EOS tokens in increasing
 * order, present while depth < T - 1), zt (S, V) the policy's LOGITS (divided by tau
 * here), lr (S, V) the reference's log-softmax at tau.  Returns sum_y pt^2/pr - 1; dz
 * (S, V) (may be NULL) = its gradient wrt zt; work (3 S) scratch.  V <= RT_RL_CHI2_MAX_V;
 * eos < 0: no end token (every answer has T tokens, S = sum_{L<T} V^L). */
double rt_rl_chi2_tree(const double *zt, const double *lr, int V, int T, int eos, double tau,
                       double *dz, double *work);

/* ---- one RL step (sample, then update), workspaces allocated once ------------------ */

typedef struct rt_rl rt_rl;

typedef struct rt_rl_metrics {
    double loss, adv_mean, grad_norm, clip_frac; /* as the columns */
    double clip_frac_low, clip_frac_high;        /* the clip's two sides (clip_frac = their sum) */
    double ratio_mean, ratio_var;                /* the ratio over valid tokens and updates (NaN
                                                    for a recipe without one) */
    double frac_reward_zero_std;                 /* prompts whose G rewards are all equal */
    double kl_ref, kl_est, entropy, length;      /* over the sampled batch */
    double kl_teacher;  /* exact mean per-state KL(pi_theta || pi_T at tau_T); NaN w/o teacher */
    double logp_gap;    /* mean (lT - lS) over valid tokens; NaN without a teacher */
    double chi2;        /* NaN unless regularizer = chi2 */
    long tokens;        /* valid tokens of the batch */
    double groups_kept; /* groups in the loss (B unless filter_groups drops some) */
    double value_loss, explained_var; /* the value head's (NaN without one) */
    double r2vpo_lambda;              /* R2VPO's multiplier after the step (NaN otherwise) */
} rt_rl_metrics;

/* A step engine for prompts of P tokens and T generated tokens; eos = the end token
 * (< 0: none, every sequence has T tokens).  policy and ref are models (rt_model.h) of
 * the same vocabulary, any architectures; the models given to the steps must have
 * theirs.  Caller frees with rt_rl_free. */
int rt_rl_create(rt_rl **out, const rt_rl_config *cfg, const rt_model *policy, const rt_model *ref,
                 int P, int T, int eos, rt_diag *diag);
/* The checks of rt_rl_create_teacher without allocating anything (a cell checks every
 * sweep point before it trains one): 0, or RT_EINVAL with diag->key naming the key at
 * fault.  out (may be NULL): the checked config (rt_rl_config_check); states (may be
 * NULL): the prefix states per prompt of regularizer = chi2, else 0. */
int rt_rl_check(const rt_rl_config *cfg, const rt_model *policy, const rt_model *teacher,
                const rt_model *ref, int P, int T, int eos, rt_rl_config *out, long *states,
                rt_diag *diag);
/* rt_rl_create with a teacher architecture (the models passed to rt_rl_sample_routed as
 * teachers must have it; same vocabulary): the engine of a TEACHER_LOGRATIO recipe,
 * which needs one ("rl: algo = opd distils from a teacher").  teacher NULL: rt_rl_create. */
int rt_rl_create_teacher(rt_rl **out, const rt_rl_config *cfg, const rt_model *policy,
                         const rt_model *teacher, const rt_model *ref, int P, int T, int eos,
                         rt_diag *diag);
void rt_rl_free(rt_rl *o);
/* Samples G answers for each of the B prompts (B, P) from p (sequence i from
 * rt_rng_split(rng, i)), scores the reference, fills the sampling-time metrics.  A model
 * of another architecture than the engine's: RT_ESHAPE; other failures RT_EFAILED. */
int rt_rl_sample(rt_rl *o, const rt_model *p, const rt_model *ref, const int *prompts,
                 const rt_rng *rng);
/* rt_rl_sample that also scores the teachers (an engine made with one): sequence i by
 * teachers[route[i]] (route (N) in [0, nteachers), NULL = all 0); each teacher scores
 * all N T rows once, so the cost grows with nteachers.  RT_EINVAL for a bad route. */
int rt_rl_sample_routed(rt_rl *o, const rt_model *p, const rt_model *ref,
                        const rt_model *const *teachers, int nteachers, const int *route,
                        const int *prompts, const rt_rng *rng);
const int *rt_rl_tokens(const rt_rl *o);  /* (N, T) of the last sample */
const int *rt_rl_lengths(const rt_rl *o); /* (N) valid tokens of each sequence */
/* Advantages, then mu * M updates (loss + backward + Adam, per iteration and part) on
 * p, from rewards R (N) of the last sample (TEACHER_LOGRATIO: R unread, may be NULL).
 * When the sample was drawn by another model than p (staleness: a snapshot), p is
 * forwarded on it before its first update and lp_old stays the sampler's.  RT_EFAILED with
 * diag->msg "loss is nan" / "grad_norm is inf" (the caller adds the step) BEFORE any optimizer step
 * that would use it; then m holds that update's loss and grad_norm (NaN if not reached) and the
 * sampling-time metrics.  m may be NULL. */
int rt_rl_update(rt_rl *o, rt_model *p, const rt_model *ref, const double *R, rt_rl_metrics *m,
                 rt_diag *diag);

/* ---- a whole run ------------------------------------------------------------------- */

/* EXTRA FEATURES AND METRICS (a hook, e.g. the one a feature provider makes, below;
 * rt_rl_run_hooked).  With a hook, the feature vector of every sample has
 * nf + hook->n_features slots: slots 0..nf-1 are the task's features
 * (rt_task_features_batch), slots nf..nf+n_features-1 are the hook's (link the reward
 * with feature functions resolved to those slots).  Once per step, after the task
 * features and before the reward, rt_rl_run calls hook->fill with the step's batch;
 * it writes its feature columns (row i, column nf + k = feat[i * stride + nf + k]) and
 * hook->n_metrics values into metrics (NaN allowed), which go into the run's columns
 * named hook->metric_names (matched by name like the built-in columns; a name the run
 * lacks is dropped) at logged rows.  stream = step s of the run's RT_STREAM_HOOK stream
 * (the hook's randomness, so results stay a pure function of the run's rng).  fill returns
 * 0, or nonzero with msg filled (the run fails: "rl: <msg> at step s").  fill is
 * called on the run's thread only; it must own (or only read) everything it touches,
 * since runs of a sweep execute in parallel.  No allocation is required of it. */
typedef struct rt_rl_hook_batch {
    long step;                     /* 1-based */
    int N, G, T;                   /* sequences (B * G), samples per prompt, tokens */
    const rt_task_sample *samples; /* (N): sequence i's prompt (i / G-th of the batch) */
    const int *tokens;             /* (N, T) sampled answers */
    const int *lengths;            /* (N) valid tokens (up to and including EOS) */
    const rt_rng *stream;          /* step `step` of the RT_STREAM_HOOK stream */
} rt_rl_hook_batch;

typedef int (*rt_rl_hook_fn)(void *user, const rt_rl_hook_batch *b, double *feat, int stride,
                             int nf, double *metrics, char *msg, size_t msglen);

typedef struct rt_rl_hook {
    int n_features;                  /* extra feature slots, 0..64 */
    int n_metrics;                   /* extra metric values, 0..16 */
    const char *const *metric_names; /* (n_metrics) */
    rt_rl_hook_fn fill;
    void *user;
} rt_rl_hook;

/* Limits of a hook.  The run's metric columns are the caller's choice: create it with
 * rt_rl_columns followed by hook->metric_names to record the hook's metrics. */
#define RT_RL_HOOK_MAX_FEATURES 64
#define RT_RL_HOOK_MAX_METRICS 16

/* FEATURE PROVIDERS BY NAME.  A provider is the ops record of a family of reward feature
 * functions NAME(ARG) and their metrics (today "debate": debate(D) and judge_full(D),
 * rt_debate_reward.h);
 * the table of providers is runtime/features (rt_features_find by name,
 * rt_features_for_reward by what a reward reads).  Use:
 *   create   links reward (and eval_reward, may be NULL) to the task's features followed
 *            by the provider's slots, resolving every ARG through env->resolve(env->ctx,
 *            NAME, ARG, out, ...) (out: the provider's source record, e.g. an
 *            rt_debate_source); *state is shared by the runs, which only read it.
 *            Nonzero with msg (the provider's wording) on error.
 *   a run given {provider, state} (rt_rl_args.features, rt_rl_run_features) makes its
 *   workspace with run_new(state, N = B * G, threads = 1, &ws) in setup, runs with the
 *   hook {n_features(state), n_metrics, metric_names, fill, ws} and frees ws with
 *   run_free at its end; destroy frees the state after the runs.
 * The caller creates the run's columns with rt_rl_columns followed by metric_names. */
typedef int (*rt_feature_resolve_fn)(void *ctx, const char *fn, const char *arg, void *out,
                                     char *err, size_t errlen);
typedef struct rt_feature_env {
    rt_feature_resolve_fn resolve;
    void *ctx;
} rt_feature_env;

typedef struct rt_feature_provider {
    const char *name; /* the family, and its feature function when fns is NULL: "debate" */
    /* the feature functions NAME(ARG) it provides, NULL-terminated ("debate", "judge_full");
       NULL: just name */
    const char *const *fns;
    int n_metrics; /* <= RT_RL_HOOK_MAX_METRICS */
    const char *const *metric_names;
    int (*create)(const rt_task *task, const rt_reward_program *reward,
                  const rt_reward_program *eval_reward, const rt_feature_env *env, void **state,
                  rt_reward_program **linked, rt_reward_program **linked_eval, char *msg,
                  size_t cap);
    void (*destroy)(void *state);
    int (*n_features)(const void *state); /* slots after the task's, <= RT_RL_HOOK_MAX_FEATURES */
    int (*run_new)(const void *state, int N, int threads, void **ws); /* 0 or nonzero (memory) */
    void (*run_free)(void *ws);
    rt_rl_hook_fn fill; /* user = the run's ws */
} rt_feature_provider;

/* A provider with its created state, as a run takes it. */
typedef struct rt_rl_features {
    const rt_feature_provider *provider;
    const void *state;
} rt_rl_features;

typedef struct rt_rl_problem {
    const rt_task *task;
    const rt_reward_program *reward;      /* linked to the task's feature order */
    const double *params;                 /* bound parameters of reward */
    const rt_reward_program *eval_reward; /* optional (NULL), linked likewise */
    const double *eval_params;
} rt_rl_problem;

/* The trainer record (rt_trainer.h) and its arguments (borrowed for the run; hook and
 * features may be NULL, not both set). */
typedef struct rt_rl_args {
    rt_policy *policy; /* trained in place */
    const rt_policy *ref;
    const rt_rl_problem *prob;
    const rt_rl_hook *hook;
    const rt_rl_config *cfg;
    const rt_rl_features *features; /* a provider's hook, made by the run */
} rt_rl_args;
extern const rt_trainer rt_rl_trainer;

/* rt_trainer_run(&rt_rl_trainer, ...): trains p in place from the frozen reference ref (same
 * vocabulary and context) on the problem for cfg->steps steps (see the top comment).  run may be
 * NULL; otherwise not started yet.  rng copied.  Returns 0, RT_EINTR, RT_EFAILED,
 * RT_EINVAL or RT_ENOMEM and fills diag (may be NULL). */
int rt_rl_run(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
              const rt_rl_config *cfg, rt_run *run, const rt_rng *rng, rt_diag *diag);
/* rt_rl_run with a hook of extra features and metrics (hook NULL: rt_rl_run).  The
 * rewards are linked to the task's features followed by the hook's n_features slots;
 * a malformed hook (limits, no fill) is RT_EINVAL "rl: bad hook". */
int rt_rl_run_hooked(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
                     const rt_rl_hook *hook, const rt_rl_config *cfg, rt_run *run,
                     const rt_rng *rng, rt_diag *diag);
/* For a provider's create: links reward (and eval_reward, when it and linked_eval are
 * given) to the task's features followed by max_slots slots of the feature functions
 * fns[0..nfns) (e.g. "rm", "rm_mean", "rm_min"), each read resolved by resolve(ctx, ...)
 * (rt_reward_env.resolve_feature: fn, arg -> the slot after the task's features).  0 with
 * *linked (and *linked_eval), or -1 with msg (the compiler's or the resolver's message)
 * and both outputs NULL. */
int rt_rl_link_feature_rewards(const rt_task *task, const rt_reward_program *reward,
                               const rt_reward_program *eval_reward, int max_slots,
                               const char *const *fns, int nfns, rt_reward_feature_fn resolve,
                               void *ctx, rt_reward_program **linked,
                               rt_reward_program **linked_eval, char *msg, size_t cap);

/* rt_rl_run with the hook of a feature provider (features NULL: rt_rl_run); a malformed
 * provider is RT_EINVAL "rl: bad hook", its run_new failing RT_ENOMEM. */
int rt_rl_run_features(rt_policy *p, const rt_policy *ref, const rt_rl_problem *prob,
                       const rt_rl_features *features, const rt_rl_config *cfg, rt_run *run,
                       const rt_rng *rng, rt_diag *diag);

#endif
