/* rt_rl_formulas.c: the configuration (defaults, validation, names) and the pure
 * formulas of rt_rl.h — KL estimators, advantages, the per-algorithm losses and the
 * exact chi^2 over a prefix tree — all in double precision, without allocation.
 * Leaves out: sampling, policies and runs (rt_rl_step.c, rt_rl_run.c). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_rl.h"
#include "rt_math.h"

static const char *const est_names[] = {"auto", "k1", "k2", "k3"};

void rt_rl_config_init(rt_rl_config *c)
{
    memset(c, 0, sizeof *c);
    c->algo = rt_rl_recipe_find("grpo");
    c->group = 8;
    c->batch = 32;
    c->steps = 200;
    c->lr = 2e-4f;
    c->temperature = 1.0f;
    c->kl = 0.0;
    c->kl_estimator = RT_RL_EST_AUTO;
    c->kl_in = RT_RL_IN_AUTO;
    c->clip = 0.2;
    c->epochs = 0;
    c->eval_every = 20;
    c->eval_prompts = 256;
    c->baseline_momentum = 0.9;
    c->regularizer = RT_RL_REG_KL;
    c->chi2 = 0.0;
    c->grad_clip = 1.0f;
    c->adv_eps = 1e-6;
    c->log_every = 1;
    c->threads = 1;
    c->lambda = 1.0;
    c->gamma = 0.0;
    c->teacher_temperature = 1.0f;
    c->opmd_tau = 0.1;     /* Trinity-RFT's rec_gsm8k OPMD: regularizer k2, coef 0.1 */
    c->asymre_shift = 0.1; /* ... AsymRE: regularizer forward-kl, coef 0.1 */
    c->bapo_target = 0.5;  /* BAPO's rho0 and ranges [0.6, 0.9], [1.2, 3.0] */
    c->bapo_low_max = 0.9;
    c->bapo_high_max = 3.0;
    c->bapo_step = 0.05; /* the release's ratio_lower_step / ratio_upper_step */
    c->nft_eps = 1.0;    /* NVlabs/NFT's clamp_negative */
    c->vf_coef = 0.1;    /* the value head's: TRL's PPOConfig */
    c->gae_lambda = 0.95;
    c->gae_gamma = 1.0;
    c->value_clip = 0.2;
    c->r2vpo_lambda = 0.04; /* R2VPO as reimplemented (fixed 0.04); delta, eta ours (rt_rl.h) */
    c->r2vpo_delta = 0.04;
    c->r2vpo_dual_lr = 1.0;
}

rt_rl_adv rt_rl_config_adv(const rt_rl_config *c)
{
    return c->advantage ? (rt_rl_adv)(c->advantage - 1) : c->algo->adv;
}

rt_rl_agg rt_rl_config_agg(const rt_rl_config *c)
{
    return c->loss_agg ? (rt_rl_agg)(c->loss_agg - 1) : c->algo->agg;
}

rt_rl_ratio rt_rl_config_ratio(const rt_rl_config *c)
{
    return c->ratio ? (rt_rl_ratio)(c->ratio - 1) : c->algo->ratio;
}

static const char *const adv_names[] = {"baseline", "loo", "group_norm", "group_center",
                                        "rtg",      "gae", "teacher"};

const char *rt_rl_algo_name(const rt_rl_recipe *a)
{
    return a ? a->name : "?";
}

int rt_rl_algo_parse(const char *name, const rt_rl_recipe **a)
{
    const rt_rl_recipe *r = rt_rl_recipe_find(name);
    if (!r) return RT_EINVAL;
    *a = r;
    return 0;
}

/* Which rows a list names: every row, the rows that accept iterations > 1 (a loss with
 * an importance ratio, or one meant for stale data), the rows whose ratio the `ratio`
 * key may replace (token, sequence or CISPO's). */
enum { LIST_ALL = -1, LIST_MULTI = 1, LIST_RATIO_KEY = 2 };
static int accepts_mu(const rt_rl_recipe *r)
{
    return r->stale_ok || (r->ratio != RT_RL_RATIO_NONE && r->ratio != RT_RL_RATIO_OPMD &&
                           r->ratio != RT_RL_RATIO_ASYMRE);
}
static int in_list(const rt_rl_recipe *r, int which)
{
    if (which == LIST_MULTI) return accepts_mu(r);
    if (which == LIST_RATIO_KEY)
        return r->ratio == RT_RL_RATIO_TOKEN || r->ratio == RT_RL_RATIO_SEQUENCE ||
               r->ratio == RT_RL_RATIO_CISPO;
    return 1;
}

/* "a, b or c": the names of the rows of list `which`, in table order. */
static const char *recipe_list(char *buf, size_t cap, int which)
{
    int n = 0, k = 0;
    for (int i = 0; i < rt_rl_recipe_count(); i++)
        n += in_list(rt_rl_recipe_at(i), which);
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < rt_rl_recipe_count() && o < cap; i++) {
        const rt_rl_recipe *r = rt_rl_recipe_at(i);
        if (!in_list(r, which)) continue;
        k++;
        int w = snprintf(buf + o, cap - o, "%s%s", k == 1 ? "" : k == n ? " or " : ", ", r->name);
        o += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

const char *rt_rl_estimator_name(rt_rl_estimator e)
{
    return (unsigned)e < 4 ? est_names[e] : "?";
}

int rt_rl_estimator_parse(const char *name, rt_rl_estimator *e)
{
    for (int i = 1; i < 4; i++)
        if (name && !strcmp(name, est_names[i])) {
            *e = (rt_rl_estimator)i;
            return 0;
        }
    return RT_EINVAL;
}

static int fail(rt_diag *d, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(rt_diag *d, const char *key, const char *fmt, ...)
{
    if (d) {
        d->code = RT_EINVAL;
        d->step = 0;
        snprintf(d->key, sizeof d->key, "%s", key);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return RT_EINVAL;
}

/* staleness, minibatches, filter_groups and entropy_coef (issue 18): checked, and
 * minibatches / filter_groups resolved from the recipe (M = min(recipe's, batch), at
 * least 1; filter_groups 1 = off or 2 = on) */
static int check_offpolicy(rt_rl_config *c, rt_diag *d)
{
    const rt_rl_recipe *r = c->algo;
    if (c->staleness < 0 || c->staleness > 1000)
        return fail(d, "staleness", "staleness must be between 0 and 1000 (steps)");
    if (c->minibatches < 0 || c->minibatches > 1000000)
        return fail(d, "minibatches", "minibatches must be >= 1");
    if (c->minibatches > c->batch)
        return fail(d, "minibatches",
                    "minibatches = %d is more than batch = %d: each part is made of whole "
                    "groups (at least one prompt)",
                    c->minibatches, c->batch);
    if (c->minibatches > 1 && r->ratio == RT_RL_RATIO_NONE) {
        char names[256];
        return fail(d, "minibatches",
                    "minibatches = %d with algo = %s: its loss has no importance ratio, so the "
                    "updates after the first would be off-policy with nothing to correct "
                    "them; use algo = %s",
                    c->minibatches, r->name, recipe_list(names, sizeof names, 1));
    }
    if ((unsigned)c->filter_groups > 2)
        return fail(d, "filter_groups", "filter_groups must be true or false");
    if (!(c->entropy_coef >= 0.0) || !isfinite(c->entropy_coef))
        return fail(d, "entropy_coef", "entropy_coef must be a number >= 0");
    if (c->minibatches == 0)
        c->minibatches = r->minibatches < 1          ? 1
                         : r->minibatches < c->batch ? r->minibatches
                                                     : c->batch;
    if (c->filter_groups == 0) c->filter_groups = r->filter_groups ? 2 : 1;
    if (c->filter_groups == 2 && r->adv == RT_RL_ADV_TEACHER_LOGRATIO)
        return fail(d, "filter_groups",
                    "filter_groups with algo = %s: its advantage is the teacher's log-ratio, "
                    "not a reward",
                    r->name);
    if (c->filter_groups == 2 && c->group < 2)
        return fail(d, "filter_groups",
                    "filter_groups with group = 1: a group of one sample always has equal "
                    "rewards, every group would be dropped; use group >= 2");
    return 0;
}

int rt_rl_config_check(const rt_rl_config *cfg, rt_rl_config *out, rt_diag *d)
{
    rt_rl_config c = *cfg;
    const rt_rl_recipe *r = c.algo;
    char names[256];
    if (rt_rl_recipe_index(r) < 0)
        return fail(d, "algo", "unknown algo (expected %s)", recipe_list(names, sizeof names, -1));
    if (c.batch < 1) return fail(d, "batch", "batch must be >= 1 (prompts per step)");
    if (c.group < 1) return fail(d, "group", "group must be >= 1 (samples per prompt)");
    if (c.advantage < 0 || c.advantage > RT_RL_ADV_GAE + 1)
        return fail(d, "advantage",
                    "advantage must be baseline, loo, group_norm, group_center, rtg or gae");
    if (c.advantage && r->adv == RT_RL_ADV_TEACHER_LOGRATIO)
        return fail(d, "advantage",
                    "advantage with algo = %s: its advantage is the teacher's log-ratio", r->name);
    if (c.loss_agg < 0 || c.loss_agg > RT_RL_AGG_TOKEN_MEAN + 1)
        return fail(d, "loss_agg",
                    "loss_agg must be seq_mean, seq_mean_token_mean, seq_mean_token_sum_norm or "
                    "token_mean");
    if (c.ratio && c.ratio != 1 + RT_RL_RATIO_TOKEN && c.ratio != 1 + RT_RL_RATIO_SEQUENCE)
        return fail(d, "ratio", "ratio must be token or sequence");
    if (c.ratio && r->ratio == RT_RL_RATIO_NONE)
        return fail(d, "ratio",
                    "ratio with algo = %s: its loss has no importance ratio (use algo = %s)",
                    r->name, recipe_list(names, sizeof names, LIST_RATIO_KEY));
    if (c.ratio && !in_list(r, LIST_RATIO_KEY))
        return fail(d, "ratio",
                    "ratio with algo = %s: its loss has its own form, not a token or sequence "
                    "ratio to choose (use algo = %s)",
                    r->name, recipe_list(names, sizeof names, LIST_RATIO_KEY));
    if (c.advantage && r->ratio == RT_RL_RATIO_NFT)
        return fail(d, "advantage",
                    "advantage with algo = %s: its loss reads the advantage as R_i - r_q (the "
                    "group's accuracy), group_center's",
                    r->name);
    if ((unsigned)c.scale_rewards > RT_RL_SCALE_NONE)
        return fail(d, "scale_rewards", "scale_rewards must be group, batch or none");
    rt_rl_adv adv = rt_rl_config_adv(&c);
    if (c.scale_rewards != RT_RL_SCALE_AUTO && adv != RT_RL_ADV_GROUP_NORM)
        return fail(d, "scale_rewards",
                    "scale_rewards has no effect with advantage = %s (only group_norm divides "
                    "by a std)",
                    adv_names[adv]);
    /* the samples of a prompt are compared by these advantages; the recipe may ask more */
    int min_group =
        adv == RT_RL_ADV_LOO || adv == RT_RL_ADV_GROUP_NORM || adv == RT_RL_ADV_GROUP_CENTER ? 2
                                                                                             : 1;
    if (!c.advantage && r->min_group > min_group) min_group = r->min_group;
    if (c.group < min_group) {
        if (c.advantage)
            return fail(d, "group",
                        "group = %d with advantage = %s: advantages compare the samples of a "
                        "prompt, use group >= %d",
                        c.group, adv_names[adv], min_group);
        return fail(d, "group",
                    "group = %d with algo = %s: advantages compare the samples of a prompt, "
                    "use group >= %d",
                    c.group, r->name, min_group);
    }
    if ((long)c.batch * c.group > 1L << 20)
        return fail(d, "batch", "batch * group must be at most 1048576 sequences per step");
    if (c.steps < 0) return fail(d, "steps", "steps must be >= 0");
    if (!(c.lr > 0.0f) || !isfinite(c.lr)) return fail(d, "lr", "lr must be > 0");
    if (!(c.temperature > 0.0f) || !isfinite(c.temperature))
        return fail(d, "temperature", "temperature must be > 0");
    if (!(c.kl >= 0.0) || !isfinite(c.kl)) return fail(d, "kl", "kl must be a number >= 0");
    if ((unsigned)c.kl_estimator > RT_RL_K3)
        return fail(d, "kl_estimator", "kl_estimator must be k1, k2 or k3");
    if ((unsigned)c.kl_in > RT_RL_IN_LOSS) return fail(d, "kl_in", "kl_in must be reward or loss");
    if (!(c.clip > 0.0 && c.clip < 1.0)) return fail(d, "clip", "clip must be in (0, 1)");
    if (!(c.clip_low >= 0.0 && c.clip_low < 1.0))
        return fail(d, "clip_low", "clip_low must be in (0, 1) (0 = auto)");
    if (!(c.clip_high >= 0.0) || !isfinite(c.clip_high))
        return fail(d, "clip_high", "clip_high must be > 0 (0 = auto)");
    if (c.epochs < 0) return fail(d, "iterations", "iterations must be >= 1");
    if (c.epochs > 1 && !accepts_mu(r))
        return fail(d, "iterations",
                    "iterations = %d with algo = %s: its loss has no importance ratio, so a "
                    "second update on the same samples would be off-policy with nothing to "
                    "correct it; use algo = %s",
                    c.epochs, r->name, recipe_list(names, sizeof names, LIST_MULTI));
    if (c.epochs > 1000) return fail(d, "iterations", "iterations must be at most 1000");
    if (c.eval_every < 0) return fail(d, "eval_every", "eval_every must be >= 0 (0 = never)");
    if (c.eval_prompts < 1) return fail(d, "eval_prompts", "eval_prompts must be >= 1");
    if (!(c.baseline_momentum >= 0.0 && c.baseline_momentum < 1.0))
        return fail(d, "baseline", "baseline momentum must be in [0, 1)");
    if ((unsigned)c.regularizer > RT_RL_REG_CHI2)
        return fail(d, "regularizer", "regularizer must be kl or chi2");
    if (!(c.chi2 >= 0.0) || !isfinite(c.chi2)) return fail(d, "chi2", "chi2 must be a number >= 0");
    if (c.regularizer == RT_RL_REG_CHI2 && c.kl != 0.0)
        return fail(d, "kl",
                    "kl = %g has no effect with regularizer = chi2; give its coefficient as "
                    "chi2 = %g",
                    c.kl, c.kl);
    if (c.regularizer == RT_RL_REG_KL && c.chi2 != 0.0)
        return fail(d, "chi2", "chi2 = %g needs regularizer = chi2", c.chi2);
    if (!(c.grad_clip >= 0.0f)) return fail(d, "grad_clip", "grad_clip must be >= 0 (0 = off)");
    if (!(c.adv_eps > 0.0)) return fail(d, "adv_eps", "adv_eps must be > 0");
    if (c.log_every < 1) return fail(d, "log_every", "log_every must be >= 1");
    if (c.threads < 1 || c.threads > RT_POLICY_MAX_THREADS)
        return fail(d, "threads", "threads must be between 1 and %d", RT_POLICY_MAX_THREADS);
    if (!isfinite(c.lambda)) return fail(d, "lambda", "lambda must be a number");
    if (!(c.gamma >= 0.0 && c.gamma <= 1.0)) return fail(d, "gamma", "gamma must be in [0, 1]");
    if (!(c.teacher_temperature > 0.0f) || !isfinite(c.teacher_temperature))
        return fail(d, "teacher_temperature", "teacher_temperature must be > 0");
    if (!(c.opmd_tau >= 0.0) || !isfinite(c.opmd_tau))
        return fail(d, "opmd_tau", "opmd_tau must be a number >= 0");
    if (!isfinite(c.asymre_shift)) return fail(d, "asymre_shift", "asymre_shift must be a number");
    if (!(c.bapo_target >= 0.0 && c.bapo_target <= 1.0))
        return fail(d, "bapo_target", "bapo_target must be in [0, 1] (the positive share)");
    if (!(c.bapo_step > 0.0) || !isfinite(c.bapo_step))
        return fail(d, "bapo_step", "bapo_step must be > 0");
    if (!(c.nft_eps > 0.0) || !isfinite(c.nft_eps))
        return fail(d, "nft_eps", "nft_eps must be > 0");
    int rc = check_offpolicy(&c, d);
    if (rc) return rc;
    if (!(c.vf_coef >= 0.0) || !isfinite(c.vf_coef))
        return fail(d, "vf_coef", "vf_coef must be a number >= 0");
    if (!(c.gae_lambda >= 0.0 && c.gae_lambda <= 1.0))
        return fail(d, "gae_lambda", "gae_lambda must be in [0, 1]");
    if (!(c.gae_gamma >= 0.0 && c.gae_gamma <= 1.0))
        return fail(d, "gamma", "gamma (GAE's discount) must be in [0, 1]");
    if (!(c.value_clip > 0.0) || !isfinite(c.value_clip))
        return fail(d, "value_clip", "value_clip must be > 0");
    if (!(c.r2vpo_lambda >= 0.0) || !isfinite(c.r2vpo_lambda))
        return fail(d, "r2vpo_lambda", "r2vpo_lambda must be a number >= 0");
    if (!(c.r2vpo_delta >= 0.0) || !isfinite(c.r2vpo_delta))
        return fail(d, "r2vpo_delta", "r2vpo_delta must be a number >= 0");
    if (!(c.r2vpo_dual_lr >= 0.0) || !isfinite(c.r2vpo_dual_lr))
        return fail(d, "r2vpo_dual_lr", "r2vpo_dual_lr must be a number >= 0");
    if (c.kl_estimator == RT_RL_EST_AUTO) c.kl_estimator = r->est;
    if (c.kl_in == RT_RL_IN_AUTO) c.kl_in = r->kl_in;
    if (c.epochs == 0) c.epochs = r->epochs;
    if (c.clip_low == 0.0) c.clip_low = r->clip_low > 0.0 ? r->clip_low : c.clip;
    if (c.clip_high == 0.0) c.clip_high = r->clip_high > 0.0 ? r->clip_high : c.clip;
    if (r->ratio == RT_RL_RATIO_BAPO &&
        !(c.bapo_low_max >= 1.0 - c.clip_low && c.bapo_low_max <= 1.0))
        return fail(d, "bapo_low_max",
                    "bapo_low_max = %g must be in [1 - clip_low, 1] = [%g, 1] (c_low's range)",
                    c.bapo_low_max, 1.0 - c.clip_low);
    if (r->ratio == RT_RL_RATIO_BAPO &&
        !(c.bapo_high_max >= 1.0 + c.clip_high && isfinite(c.bapo_high_max)))
        return fail(d, "bapo_high_max",
                    "bapo_high_max = %g must be >= 1 + clip_high = %g (c_high's range)",
                    c.bapo_high_max, 1.0 + c.clip_high);
    if (r->ratio == RT_RL_RATIO_NFT && c.kl > 0.0 && c.regularizer == RT_RL_REG_KL &&
        c.kl_in == RT_RL_IN_REWARD)
        return fail(d, "kl_in",
                    "kl_in = reward with algo = %s: its rewards must stay 0 or 1, put the KL "
                    "term in the loss (kl_in = loss)",
                    r->name);
    if (r->adv == RT_RL_ADV_TEACHER_LOGRATIO && c.kl > 0.0 && c.regularizer == RT_RL_REG_KL &&
        c.kl_in == RT_RL_IN_REWARD)
        return fail(d, "kl_in",
                    "kl_in = reward with algo = %s: its advantage is the teacher's log-ratio, "
                    "put the KL term in the loss (kl_in = loss)",
                    r->name);
    if (out) *out = c;
    return 0;
}

/* ---- KL estimators ------------------------------------------------------------------ */

double rt_rl_kl_est(rt_rl_estimator est, double lp, double lp_ref)
{
    double lr = lp_ref - lp; /* log r, r = pi_ref / pi_theta */
    switch (est) {
    case RT_RL_K2:
        return 0.5 * lr * lr;
    case RT_RL_K3:
        return rt_exp(lr) - 1.0 - lr;
    default:
        return -lr;
    }
}

double rt_rl_kl_est_grad(rt_rl_estimator est, double lp, double lp_ref)
{
    double lr = lp_ref - lp;
    switch (est) {
    case RT_RL_K2:
        return -lr;
    case RT_RL_K3:
        return 1.0 - rt_exp(lr);
    default:
        return 1.0;
    }
}

/* ---- advantages ------------------------------------------------------------------------ */

int rt_rl_advantages(const rt_rl_config *cfg, const double *R, int n_prompts, int G,
                     double *baseline, int *baseline_set, double *A)
{
    int N = n_prompts * G;
    rt_rl_adv kind = rt_rl_config_adv(cfg);
    /* GROUP_NORM's divisor under scale_rewards = batch: the std of all N rewards */
    double batch_sd = 0.0;
    if (kind == RT_RL_ADV_GROUP_NORM && cfg->scale_rewards == RT_RL_SCALE_BATCH) {
        double m = 0.0, v = 0.0;
        for (int i = 0; i < N; i++)
            m += R[i];
        m /= N;
        for (int i = 0; i < N; i++)
            v += (R[i] - m) * (R[i] - m);
        batch_sd = sqrt(v / N);
    }
    switch (kind) {
    case RT_RL_ADV_BASELINE: {
        double mean = 0.0;
        for (int i = 0; i < N; i++)
            mean += R[i];
        mean /= N;
        if (!*baseline_set) *baseline = mean, *baseline_set = 1;
        for (int i = 0; i < N; i++)
            A[i] = R[i] - *baseline;
        double m = cfg->baseline_momentum;
        *baseline = m * *baseline + (1.0 - m) * mean;
        return 0;
    }
    case RT_RL_ADV_LOO:
    case RT_RL_ADV_GROUP_NORM:
    case RT_RL_ADV_GROUP_CENTER:
        if (G < 2) return RT_EINVAL;
        for (int b = 0; b < n_prompts; b++) {
            const double *r = R + (size_t)b * G;
            double *a = A + (size_t)b * G, sum = 0.0, var = 0.0;
            for (int g = 0; g < G; g++)
                sum += r[g];
            double mean = sum / G;
            for (int g = 0; g < G; g++)
                var += (r[g] - mean) * (r[g] - mean);
            double sd = sqrt(var / G);
            for (int g = 0; g < G; g++) {
                if (kind == RT_RL_ADV_LOO)
                    a[g] = r[g] - (sum - r[g]) / (G - 1);
                else if (kind == RT_RL_ADV_GROUP_NORM && cfg->scale_rewards == RT_RL_SCALE_NONE)
                    a[g] = r[g] - mean;
                else if (kind == RT_RL_ADV_GROUP_NORM)
                    a[g] =
                        (r[g] - mean) /
                        ((cfg->scale_rewards == RT_RL_SCALE_BATCH ? batch_sd : sd) + cfg->adv_eps);
                else
                    a[g] = r[g] - mean;
            }
        }
        return 0;
    default:
        return RT_EINVAL;
    }
}

double rt_rl_teacher_advantages(double lambda, double gamma, const double *lT, const double *lS,
                                const double *lR, const int *len, int n, int T, double *A)
{
    double sum = 0.0;
    long nv = 0;
    for (int i = 0; i < n; i++) {
        int L = len[i] < T ? len[i] : T;
        float g = 0.0f, lam1 = (float)lambda - 1.0f, gam = (float)gamma;
        for (int t = T - 1; t >= 0; t--) {
            size_t k = (size_t)i * T + t;
            if (t >= L) {
                A[k] = 0.0;
                continue;
            }
            /* in float, the precision of the log-probs (the released estimator's bits):
             * lambda (lT - lR) - (lS - lR), so that at lambda = 1 lR cancels exactly */
            float lt = (float)lT[k], r = (lt - (float)lS[k]) + lam1 * (lt - (float)lR[k]);
            g = r + gam * g;
            A[k] = g;
        }
        for (int t = 0; t < L; t++)
            sum += A[(size_t)i * T + t];
        nv += L;
    }
    return nv > 0 ? sum / (double)nv : 0.0;
}

/* Whitens the valid tokens of A (n, T) in place: (A - mean) / (sd + eps), population sd,
 * with sum = the sum of the cnt valid values; returns the mean (0 when none). */
static double whiten_tokens(double *A, const int *len, int n, int T, double sum, long cnt,
                            double eps)
{
    if (!cnt) return 0.0;
    double mean = sum / cnt, var = 0.0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < len[i] && t < T; t++) {
            double x = A[(size_t)i * T + t] - mean;
            var += x * x;
        }
    double sd = sqrt(var / cnt);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < len[i] && t < T; t++) {
            double *a = &A[(size_t)i * T + t];
            *a = (*a - mean) / (sd + eps);
        }
    return mean;
}

double rt_rl_token_advantages(const double *r, const int *len, int n, int T, double eps, double *A)
{
    double sum = 0.0;
    long cnt = 0;
    for (int i = 0; i < n; i++) {
        double g = 0.0;
        for (int t = T - 1; t >= 0; t--) {
            size_t k = (size_t)i * T + t;
            if (t >= len[i]) {
                A[k] = 0.0;
                continue;
            }
            g += r[k];
            A[k] = g;
            sum += g;
            cnt++;
        }
    }
    return whiten_tokens(A, len, n, T, sum, cnt, eps);
}

/* GAE (rt_rl.h): the recurrence A_t = delta_t + gamma lambda A_{t+1} backwards from the
 * last valid token, then the whitening of rt_rl_token_advantages, the same operations in
 * the same order (so V = 0, gamma = lambda = 1 gives its bits: delta_t = r_t + 0 - 0). */
double rt_rl_gae(const double *r, const double *V, const int *len, int n, int T, double gamma,
                 double lambda, double eps, double *A, double *ret)
{
    double sum = 0.0, gl = gamma * lambda;
    long cnt = 0;
    for (int i = 0; i < n; i++) {
        double a = 0.0, vnext = 0.0; /* past the last valid token: A = V = 0 */
        for (int t = T - 1; t >= 0; t--) {
            size_t k = (size_t)i * T + t;
            if (t >= len[i]) {
                A[k] = ret[k] = 0.0;
                continue;
            }
            double delta = r[k] + gamma * vnext - V[k];
            a = delta + gl * a;
            A[k] = a;
            ret[k] = a + V[k];
            vnext = V[k];
            sum += a;
            cnt++;
        }
    }
    return whiten_tokens(A, len, n, T, sum, cnt, eps);
}

double rt_rl_explained_var(const double *ret, const double *V, const int *len, int n, int T)
{
    double sr = 0.0, se = 0.0, vr = 0.0, ve = 0.0;
    long cnt = 0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < len[i] && t < T; t++) {
            size_t k = (size_t)i * T + t;
            sr += ret[k], se += ret[k] - V[k], cnt++;
        }
    if (!cnt) return NAN;
    double mr = sr / cnt, me = se / cnt;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < len[i] && t < T; t++) {
            size_t k = (size_t)i * T + t;
            double x = ret[k] - mr, y = ret[k] - V[k] - me;
            vr += x * x, ve += y * y;
        }
    return vr > 0.0 ? 1.0 - ve / vr : NAN;
}

double rt_rl_value_loss(int n, int T, const int *len, const double *v, const double *v_old,
                        const double *ret, double clip, double *dv)
{
    long cnt = 0;
    for (int i = 0; i < n; i++)
        cnt += len[i] < T ? len[i] : T;
    double sum = 0.0, w = cnt ? 1.0 / (double)cnt : 0.0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            if (t >= len[i]) {
                if (dv) dv[k] = 0.0;
                continue;
            }
            double lo = v_old[k] - clip, hi = v_old[k] + clip;
            double vc = v[k] < lo ? lo : v[k] > hi ? hi : v[k];
            double e1 = v[k] - ret[k], e2 = vc - ret[k];
            /* the unclipped term carries the gradient when it is the max (ties included:
               there v is inside the clip or the clipped term's gradient is 0 anyway) */
            int unclipped = e1 * e1 >= e2 * e2;
            sum += unclipped ? e1 * e1 : e2 * e2;
            if (dv) dv[k] = unclipped ? e1 * w : 0.0;
        }
    return 0.5 * sum * w;
}

void rt_rl_value_head(const float *h, int rows, int C, const float *head, double *v)
{
    /* each row's sum in column order from the bias, as one chain per row; eight rows at a
       time so that the chains overlap (the same bits as one row after another) */
    int r = 0;
    for (; r + 8 <= rows; r += 8) {
        const float *x = h + (size_t)r * C;
        double s[8];
        for (int k = 0; k < 8; k++)
            s[k] = head[C];
        for (int c = 0; c < C; c++)
            for (int k = 0; k < 8; k++)
                s[k] += (double)head[c] * x[(size_t)k * C + c];
        for (int k = 0; k < 8; k++)
            v[r + k] = s[k];
    }
    for (; r < rows; r++) {
        const float *x = h + (size_t)r * C;
        double s = head[C];
        for (int c = 0; c < C; c++)
            s += (double)head[c] * x[c];
        v[r] = s;
    }
}

void rt_rl_value_head_backward(const float *h, const double *dv, int rows, int C, const float *head,
                               double s, float *dhead, float *dh)
{
    /* each column's sum over the rows in row order (blocks of 64 columns, so that the rows
       are read in memory order: the same bits as a column at a time) */
    enum { CB = 64 };
    for (int c0 = 0; c0 < C; c0 += CB) {
        int nc = C - c0 < CB ? C - c0 : CB;
        double g[CB];
        for (int j = 0; j < nc; j++)
            g[j] = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *x = h + (size_t)r * C + c0;
            double d = dv[r];
            for (int j = 0; j < nc; j++)
                g[j] += d * (double)x[j];
        }
        for (int j = 0; j < nc; j++)
            dhead[c0 + j] = (float)(s * g[j]);
    }
    double gb = 0.0; /* the bias */
    for (int r = 0; r < rows; r++)
        gb += dv[r] * 1.0;
    dhead[C] = (float)(s * gb);
    for (int r = 0; dh && r < rows; r++)
        for (int c = 0; c < C; c++)
            dh[(size_t)r * C + c] = (float)(s * dv[r] * head[c]);
}

/* ---- losses ------------------------------------------------------------------------------ */

double rt_rl_loss(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                  const double *lp_old, const double *lp_ref, const double *A, double *dlp,
                  long *n_clipped)
{
    rt_rl_loss_stats st;
    double loss = rt_rl_loss_stats_of(cfg, n, T, len, lp, lp_old, lp_ref, A, dlp, &st);
    if (n_clipped) *n_clipped = st.clip_low + st.clip_high;
    return loss;
}

/* BAPO: the shares of the tokens that keep a gradient under bounds [lo, hi] (dual clip
 * BAPO_DUAL on A < 0): P = sum rho A over A > 0, rho <= hi; M = sum rho |A| over A < 0,
 * lo <= rho <= BAPO_DUAL.  Met when P >= target (P + M) (nothing to balance: met). */
#define BAPO_DUAL 3.0 /* verl's clip_ratio_c, which the BAPO release keeps */
static int bapo_met(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                    const double *lp_old, const double *A, double lo, double hi)
{
    double P = 0.0, M = 0.0;
    for (int i = 0; i < n; i++) {
        int L = len[i] < T ? len[i] : T;
        for (int t = 0; t < L; t++) {
            size_t k = (size_t)i * T + t;
            double a = A[k], rho = rt_exp(lp[k] - lp_old[k]);
            if (a > 0.0 && rho <= hi) P += rho * a;
            if (a < 0.0 && rho >= lo && rho <= BAPO_DUAL) M -= rho * a;
        }
    }
    return P >= cfg->bapo_target * (P + M);
}

void rt_rl_bapo_bounds(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                       const double *lp_old, const double *A, double *c_low, double *c_high)
{
    /* the release's order: raise c_low (dropping negative tokens' gradients) to its ceiling
     * first, then c_high (admitting positive tokens'), a step at a time, until met */
    double lo = 1.0 - cfg->clip_low, hi = 1.0 + cfg->clip_high, step = cfg->bapo_step;
    int met = bapo_met(cfg, n, T, len, lp, lp_old, A, lo, hi);
    while (!met && lo < cfg->bapo_low_max) {
        lo = lo + step < cfg->bapo_low_max ? lo + step : cfg->bapo_low_max;
        met = bapo_met(cfg, n, T, len, lp, lp_old, A, lo, hi);
    }
    while (!met && hi < cfg->bapo_high_max) {
        hi = hi + step < cfg->bapo_high_max ? hi + step : cfg->bapo_high_max;
        met = bapo_met(cfg, n, T, len, lp, lp_old, A, lo, hi);
    }
    *c_low = lo, *c_high = hi;
}

/* The per-token term of the loss forms without a clip of their own kind (OPMD, AsymRE,
 * NFT): l and dl/dlp of the top comment; *clipped = 1 when NFT's negative floor acts. */
static void form_term(const rt_rl_config *cfg, rt_rl_ratio form, double a, double lp, double lp_old,
                      double *l, double *g, int *clipped)
{
    *clipped = 0;
    if (form == RT_RL_RATIO_OPMD) {
        double d = lp - lp_old, tau = cfg->opmd_tau;
        *l = -a * lp, *g = -a;
        if (tau != 0.0) *l += tau * d * d, *g += 2.0 * tau * d; /* tau 0: plain PG's bits */
    } else if (form == RT_RL_RATIO_ASYMRE) {
        double dl = cfg->asymre_shift;
        *l = -a * lp, *g = -a;
        if (dl != 0.0) *l -= dl * lp, *g -= dl; /* shift 0: plain PG's bits */
    } else {                                    /* NFT, A = R_i - r_q with R_i in {0, 1} */
        double d = lp - lp_old, rho = rt_exp(d), eps = cfg->nft_eps;
        if (a > 0.0) { /* correct: omega = 1 - r_q = A, -A log rho */
            *l = -a * d, *g = -a;
        } else if (a < 0.0) {                      /* wrong: r_q = -A, omega = 1 - r_q = 1 + A */
            double q = 1.0 + a, p = 1.0 + a * rho; /* proxy = p / q */
            if (p >= eps * q) {
                *l = -q * rt_log(p / q), *g = -(a * rho) * (q / p); /* (q / p) = 1 at rho 1 */
            } else { /* below the floor: -log continued linearly (C^1) */
                *l = q * (-rt_log(eps) - (p / q - eps) / eps), *g = -(a * rho) / eps;
                *clipped = 1;
            }
        } else { /* a group without signal (r_q 0 or 1): omega or the negative term vanish */
            *l = 0.0, *g = 0.0;
        }
    }
}

double rt_rl_loss_stats_of(const rt_rl_config *cfg, int n, int T, const int *len, const double *lp,
                           const double *lp_old, const double *lp_ref, const double *A, double *dlp,
                           rt_rl_loss_stats *st)
{
    rt_rl_loss_stats z = {0};
    rt_rl_ratio form = rt_rl_config_ratio(cfg);
    int kl_loss = cfg->regularizer == RT_RL_REG_KL && cfg->kl_in == RT_RL_IN_LOSS && cfg->kl > 0.0;
    double beta = cfg->kl, lo = 1.0 - cfg->clip_low, hi = 1.0 + cfg->clip_high, loss = 0.0;
    if (form == RT_RL_RATIO_BAPO) rt_rl_bapo_bounds(cfg, n, T, len, lp, lp_old, A, &lo, &hi);
    long tot = 0;
    for (int i = 0; i < n; i++)
        tot += len[i] < T ? len[i] : T;
    for (int i = 0; i < n; i++) {
        int L = len[i] < T ? len[i] : T;
        double w;
        switch (rt_rl_config_agg(cfg)) {
        case RT_RL_AGG_SEQ_TOKEN_MEAN:
            w = 1.0 / ((double)n * (L > 0 ? L : 1));
            break;
        case RT_RL_AGG_CONST_LEN:
            w = 1.0 / ((double)n * T);
            break;
        case RT_RL_AGG_TOKEN_MEAN:
            w = tot > 0 ? 1.0 / (double)tot : 0.0;
            break;
        default: /* RT_RL_AGG_SEQ */
            w = 1.0 / n;
            break;
        }
        double seq = 0.0, sr = 1.0, sg = 0.0; /* GSPO: s_i, and sum_t dl_t/ds_i */
        if (form == RT_RL_RATIO_SEQUENCE && L > 0) {
            double m = 0.0;
            for (int t = 0; t < L; t++)
                m += lp[(size_t)i * T + t] - lp_old[(size_t)i * T + t];
            sr = rt_exp(m / L);
        }
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            if (t >= L) {
                if (dlp) dlp[k] = 0.0;
                continue;
            }
            double a = A[k], l, g;
            if (form == RT_RL_RATIO_SEQUENCE) {
                /* l_t = -min(s a, clip(s) a); ds/dlp_t' = s / L for every t' of the sequence,
                 * so the gradients are gathered in sg and spread below */
                double rc = sr < lo ? lo : sr > hi ? hi : sr;
                double u = sr * a, c = rc * a;
                z.n++, z.ratio_sum += sr, z.ratio_sq += sr * sr;
                if (c < u) {
                    l = -c;
                    if (sr < lo)
                        z.clip_low++;
                    else
                        z.clip_high++;
                } else {
                    l = -u, sg += -a;
                }
                g = 0.0;
            } else if (form == RT_RL_RATIO_CISPO) {
                double rho = rt_exp(lp[k] - lp_old[k]), cw = rho > hi ? hi : rho;
                z.n++, z.ratio_sum += rho, z.ratio_sq += rho * rho;
                if (rho > hi) z.clip_high++;
                l = -cw * a * lp[k], g = -cw * a; /* the weight is not differentiated */
            } else if (form == RT_RL_RATIO_TOKEN || form == RT_RL_RATIO_BAPO) {
                double rho = rt_exp(lp[k] - lp_old[k]);
                double rc = rho < lo ? lo : rho > hi ? hi : rho;
                double u = rho * a, c = rc * a;
                z.n++, z.ratio_sum += rho, z.ratio_sq += rho * rho;
                if (c < u) { /* the clipped branch is the minimum: no gradient */
                    l = -c, g = 0.0;
                    if (rho < lo)
                        z.clip_low++;
                    else
                        z.clip_high++;
                } else {
                    l = -u, g = -u;
                }
                if (form == RT_RL_RATIO_BAPO && a < 0.0 && -BAPO_DUAL * a < l) {
                    if (g != 0.0) z.clip_high++; /* the dual clip: at most -3 A */
                    l = -BAPO_DUAL * a, g = 0.0;
                }
            } else if (form == RT_RL_RATIO_R2VPO) {
                /* -(rho a - lambda (rho - 1)^2); at rho = 1 TOKEN's l = g = -a exactly */
                double rho = rt_exp(lp[k] - lp_old[k]), u = rho * a, lam = cfg->r2vpo_lambda;
                z.n++, z.ratio_sum += rho, z.ratio_sq += rho * rho;
                l = -u, g = -u;
                if (lam != 0.0 && rho != 1.0) {
                    double e = rho - 1.0;
                    l += lam * e * e, g += 2.0 * lam * e * rho;
                }
            } else if (form == RT_RL_RATIO_OPMD || form == RT_RL_RATIO_ASYMRE ||
                       form == RT_RL_RATIO_NFT) {
                int clipped;
                form_term(cfg, form, a, lp[k], lp_old[k], &l, &g, &clipped);
                if (form == RT_RL_RATIO_NFT) {
                    double rho = rt_exp(lp[k] - lp_old[k]);
                    z.n++, z.ratio_sum += rho, z.ratio_sq += rho * rho, z.clip_high += clipped;
                }
            } else {
                l = -a * lp[k], g = -a;
            }
            if (kl_loss) {
                l += beta * rt_rl_kl_est(cfg->kl_estimator, lp[k], lp_ref[k]);
                g += beta * rt_rl_kl_est_grad(cfg->kl_estimator, lp[k], lp_ref[k]);
            }
            seq += l;
            if (dlp) dlp[k] = w * g;
        }
        if (form == RT_RL_RATIO_SEQUENCE && dlp && L > 0)
            for (int t = 0; t < L; t++)
                dlp[(size_t)i * T + t] += w * sg * sr / L;
        loss += w * seq;
    }
    if (st) *st = z;
    return loss;
}

/* ---- the entropy bonus ------------------------------------------------------------------ */

double rt_rl_entropy_row(const float *ls, const float *p, int V, double tau, double scale,
                         float *dz)
{
    double h = 0.0;
    for (int v = 0; v < V; v++)
        h -= (double)p[v] * ls[v];
    if (dz)
        for (int v = 0; v < V; v++) /* dH/dz_v = -p_v (log p_v + H) / tau */
            dz[v] += (float)(scale * (-(double)p[v] * ((double)ls[v] + h) / tau));
    return h;
}

/* ---- chi^2 over the prefix tree -------------------------------------------------------- */

long rt_rl_chi2_states(int V, int T)
{
    long s = 0, level = 1;
    for (int L = 0; L < T; L++) {
        s += level;
        if (s > LONG_MAX / 4) return LONG_MAX / 2;
        if (L + 1 < T) {
            if (level > LONG_MAX / 4 / (V > 1 ? V : 1)) return LONG_MAX / 2;
            level *= (V - 1);
        }
    }
    return s;
}

void rt_rl_tree_states(const int *prompt, int P, int T, int V, int eos, long S, int *seqs, int *lo,
                       int *hi)
{
    int nc = eos >= 0 ? V - 1 : V, L = P + T;
    int path[64];
    for (long s = 0; s < S; s++) {
        int depth = 0, *seq = seqs + (size_t)s * L;
        for (long c = s; c > 0 && depth < 64; c = (c - 1) / nc) {
            int rank = (int)((c - 1) % nc);
            path[depth++] = eos >= 0 && rank >= eos ? rank + 1 : rank;
        }
        memcpy(seq, prompt, sizeof(int) * (size_t)P);
        for (int k = 0; k < depth; k++)
            seq[P + k] = path[depth - 1 - k];
        lo[s] = P + depth, hi[s] = P + depth + 1;
    }
}

long rt_rl_tree_child(long s, int a, int V, int eos)
{
    int nc = eos >= 0 ? V - 1 : V;
    return 1 + s * nc + (eos >= 0 && a > eos ? a - 1 : a);
}

long rt_rl_tree_internal(int V, int T, int eos)
{
    int nc = eos >= 0 ? V - 1 : V;
    long internal = 0;
    for (long L = 0, level = 1; L + 1 < T; L++, level *= nc)
        internal += level;
    return internal;
}

/* BFS numbering of the complete nc-ary prefix tree (nc = V - 1 continuing tokens, or V
 * without EOS): the children of state s (depth < T - 1) are 1 + s*nc + rank(a), rank(a)
 * = a, minus 1 past eos.  work (3 S): prefix log-probs of pi_theta, pi_ref, and the
 * subtree leaf weights. */
static double log_softmax_row(double *ls, const double *z, int V, double tau)
{
    double mx = -INFINITY, sum = 0.0;
    for (int v = 0; v < V; v++)
        mx = z[v] / tau > mx ? z[v] / tau : mx;
    for (int v = 0; v < V; v++)
        sum += rt_exp(z[v] / tau - mx);
    double lz = mx + rt_log(sum);
    for (int v = 0; v < V; v++)
        ls[v] = z[v] / tau - lz;
    return lz;
}

double rt_rl_chi2_tree(const double *zt, const double *lr, int V, int T, int eos, double tau,
                       double *dz, double *work)
{
    long S = rt_rl_chi2_states(eos >= 0 ? V : V + 1, T);
    double *pt = work, *pr = work + S, *wt = work + 2 * S, ls[RT_RL_CHI2_MAX_V];
    double chi = 0.0;
    pt[0] = pr[0] = 0.0;
    long internal = rt_rl_tree_internal(V, T, eos); /* depth < T - 1: [0, internal) */
    for (long s = 0; s < S; s++) {                  /* forward: prefix log-probs and chi^2 */
        const double *r = lr + (size_t)s * V;
        log_softmax_row(ls, zt + (size_t)s * V, V, tau);
        for (int a = 0; a < V; a++) {
            if (a == eos || s >= internal) {
                chi += rt_exp(2.0 * (pt[s] + ls[a]) - (pr[s] + r[a]));
            } else {
                long c = rt_rl_tree_child(s, a, V, eos);
                pt[c] = pt[s] + ls[a];
                pr[c] = pr[s] + r[a];
            }
        }
    }
    if (dz)
        for (long s = S - 1; s >= 0; s--) { /* reverse: subtree weights, gradient */
            const double *r = lr + (size_t)s * V;
            double *d = dz + (size_t)s * V, tot = 0.0;
            log_softmax_row(ls, zt + (size_t)s * V, V, tau);
            for (int a = 0; a < V; a++) {
                if (a == eos || s >= internal)
                    d[a] = 2.0 * rt_exp(2.0 * (pt[s] + ls[a]) - (pr[s] + r[a]));
                else
                    d[a] = wt[rt_rl_tree_child(s, a, V, eos)];
                tot += d[a];
            }
            wt[s] = tot;
            for (int a = 0; a < V; a++)
                d[a] = (d[a] - tot * rt_exp(ls[a])) / tau;
        }
    return chi - 1.0;
}
