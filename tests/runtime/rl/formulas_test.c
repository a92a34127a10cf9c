/* formulas_test.c: the exact formulas of rt_rl (methods.md §2, §4) on hand-made numbers:
 * advantages of every algorithm (REINFORCE baseline updates, RLOO, GRPO with std, Dr.
 * GRPO, PPO reward-to-go), loss values on tiny fixed batches, clip_frac counts, masking
 * after EOS (NaN in masked slots never leaks), central finite-difference gradient checks
 * in double of the GRPO / PPO losses (clipped and unclipped regions) and of the chi^2
 * tree, chi^2 against brute-force enumeration, the KL estimators' means against the
 * exact KL (k1, k3 unbiased; k2 biased low on a known case), the expected gradient of
 * each estimator in the loss and in the reward (k1-in-loss 0, k2 reverse KL, k3 forward
 * KL, k1-in-reward reverse KL) by exact enumeration, configuration messages;
 * the recipe table (names, lookups, consistent parts, AUTO resolution per row) and its
 * demonstration row bnpo (GRPO advantages, token-mean loss and gradients by hand and by
 * finite differences, asymmetric clip); issue 18's seed-paper rows: opmd and asymre by
 * hand, their reductions to the plain policy gradient bit for bit (tau 0, the first
 * update, shift 0) and their iterations > 1; bapo's bound search on a hand batch (both
 * bounds moving, met at the start, unmet to the ceilings) and its loss with the dual clip;
 * nft by hand (log branch and the linear floor), its gradient = Dr. GRPO's at rho = 1
 * (bit for bit, the paper's strict on-policy equivalence) and apart off-policy;
 * finite-difference checks of all four; their configuration errors; GAE on a hand batch (exact
 * numbers, lambda = 1 Monte Carlo, lambda = 0 one-step TD), GAE at V = 0, gamma = lambda = 1 = the
 * reward-to-go part bit for bit, the clipped value loss by hand and its gradient through
 * the value head (head and features) by central differences, the value head's keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rt_policy.h"
#include "rt_rl.h"

/* |a - b| <= tol, printing both on failure (this cmocka has no double assertions) */
#define assert_double_equal(a, b, tol) near_(a, b, tol, __FILE__, __LINE__)
static void near_(double a, double b, double tol, const char *f, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g != %.17g (tol %g)\n", a, b, tol);
        _fail(f, line);
    }
}

static rt_rl_config resolved(const rt_rl_recipe *algo)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = algo;
    rt_rl_config out;
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    return out;
}

static void test_reinforce_baseline(void **st)
{
    (void)st;
    rt_rl_config c = resolved(rt_rl_recipe_find("reinforce"));
    c.baseline_momentum = 0.5;
    double R1[4] = {1, 0, 0, 1}, R2[4] = {1, 1, 1, 0}, A[4], b = 0;
    int set = 0;
    assert_int_equal(rt_rl_advantages(&c, R1, 2, 2, &b, &set, A), 0);
    /* first batch: b = its mean 0.5, then 0.5*0.5 + 0.5*0.5 */
    double e1[4] = {0.5, -0.5, -0.5, 0.5};
    for (int i = 0; i < 4; i++)
        assert_double_equal(A[i], e1[i], 1e-15);
    assert_int_equal(set, 1);
    assert_double_equal(b, 0.5, 1e-15);
    assert_int_equal(rt_rl_advantages(&c, R2, 2, 2, &b, &set, A), 0);
    double e2[4] = {0.5, 0.5, 0.5, -0.5}; /* R - 0.5 (the baseline before the update) */
    for (int i = 0; i < 4; i++)
        assert_double_equal(A[i], e2[i], 1e-15);
    assert_double_equal(b, 0.625, 1e-15); /* 0.5*0.5 + 0.5*0.75 */
}

static void test_group_advantages(void **st)
{
    (void)st;
    double R[8] = {1, 0, 2, 1, 0, 0, 0, 3}, A[8], b = 0;
    int set = 0;
    rt_rl_config c = resolved(rt_rl_recipe_find("rloo"));
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    double rloo[8] = {0, -4.0 / 3, 4.0 / 3, 0, -1, -1, -1, 3};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], rloo[i], 1e-15);
    c = resolved(rt_rl_recipe_find("grpo"));
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    /* group 1: mean 1, population std sqrt(0.5); group 2: mean 0.75, std sqrt(27/16) */
    double s1 = sqrt(0.5) + 1e-6, s2 = sqrt(27.0 / 16) + 1e-6;
    double grpo[8] = {0, -1 / s1, 1 / s1, 0, -0.75 / s2, -0.75 / s2, -0.75 / s2, 2.25 / s2};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], grpo[i], 1e-13);
    c = resolved(rt_rl_recipe_find("drgrpo"));
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    double dr[8] = {0, -1, 1, 0, -0.75, -0.75, -0.75, 2.25};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], dr[i], 1e-15);
    /* equal rewards: zero advantage, no division by zero */
    double same[4] = {2, 2, 2, 2};
    c = resolved(rt_rl_recipe_find("grpo"));
    assert_int_equal(rt_rl_advantages(&c, same, 1, 4, &b, &set, A), 0);
    for (int i = 0; i < 4; i++)
        assert_true(A[i] == 0.0);
    c = resolved(rt_rl_recipe_find("ppo"));
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), RT_EINVAL);
}

/* parts as keys: scale_rewards on group_norm (group = the default, batch, none = Dr.
 * GRPO's centring), an advantage and an aggregation replacing the recipe's, and their
 * configuration errors */
static void test_parts_as_keys(void **st)
{
    (void)st;
    double R[8] = {1, 0, 2, 1, 0, 0, 0, 3}, A[8], B[8], b = 0;
    int set = 0;
    rt_rl_config c, out;
    rt_rl_config_init(&c);
    c.scale_rewards = RT_RL_SCALE_BATCH;
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    assert_int_equal(rt_rl_advantages(&out, R, 2, 4, &b, &set, A), 0);
    /* batch: mean 7/8, population variance (sum R^2)/8 - (7/8)^2 = 15/8 - 49/64 = 71/64 */
    double sb = sqrt(71.0 / 64) + 1e-6;
    double batch[8] = {0, -1 / sb, 1 / sb, 0, -0.75 / sb, -0.75 / sb, -0.75 / sb, 2.25 / sb};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], batch[i], 1e-13);
    c.scale_rewards = RT_RL_SCALE_NONE; /* = drgrpo's advantage, bit for bit */
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    assert_int_equal(rt_rl_advantages(&out, R, 2, 4, &b, &set, A), 0);
    rt_rl_config dr = resolved(rt_rl_recipe_find("drgrpo"));
    assert_int_equal(rt_rl_advantages(&dr, R, 2, 4, &b, &set, B), 0);
    assert_memory_equal(A, B, sizeof A);
    c.scale_rewards = RT_RL_SCALE_GROUP; /* = grpo's default */
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    assert_int_equal(rt_rl_advantages(&out, R, 2, 4, &b, &set, A), 0);
    rt_rl_config g = resolved(rt_rl_recipe_find("grpo"));
    assert_int_equal(rt_rl_advantages(&g, R, 2, 4, &b, &set, B), 0);
    assert_memory_equal(A, B, sizeof A);
    /* grpo + advantage group_center + loss_agg seq_mean_token_sum_norm reads as drgrpo */
    rt_rl_config_init(&c);
    c.advantage = 1 + RT_RL_ADV_GROUP_CENTER;
    c.loss_agg = 1 + RT_RL_AGG_CONST_LEN;
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    assert_int_equal(rt_rl_config_adv(&out), dr.algo->adv);
    assert_int_equal(rt_rl_config_agg(&out), dr.algo->agg);
    int len[2] = {2, 3};
    double lp[6] = {-0.5, -1, 0, -0.2, -0.1, -2}, ad[2] = {0.7, -0.3}, At[6], d1[6], d2[6];
    for (int t = 0; t < 6; t++)
        At[t] = ad[t / 3];
    long n1 = 0, n2 = 0;
    double l1 = rt_rl_loss(&out, 2, 3, len, lp, lp, lp, At, d1, &n1);
    double l2 = rt_rl_loss(&dr, 2, 3, len, lp, lp, lp, At, d2, &n2);
    assert_true(l1 == l2);
    assert_memory_equal(d1, d2, sizeof d1);
    /* errors, each naming its key */
    rt_diag d;
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("rloo");
    c.scale_rewards = RT_RL_SCALE_BATCH;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "scale_rewards");
    assert_string_equal(d.msg, "scale_rewards has no effect with advantage = loo (only "
                               "group_norm divides by a std)");
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("reinforce");
    c.advantage = 1 + RT_RL_ADV_LOO;
    c.group = 1;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.msg, "group = 1 with advantage = loo: advantages compare the samples "
                               "of a prompt, use group >= 2");
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("opd");
    c.advantage = 1 + RT_RL_ADV_LOO;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "advantage");
    c.advantage = 7;
    c.algo = rt_rl_recipe_find("grpo");
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "advantage");
}

static void test_token_advantages(void **st)
{
    (void)st;
    /* seq 0: len 2, r = {-0.5, 1}; seq 1: len 3, r = {0, 0, 2}; slot (0,2) masked */
    double r[6] = {-0.5, 1, NAN, 0, 0, 2}, A[6];
    int len[2] = {2, 3};
    double mean = rt_rl_token_advantages(r, len, 2, 3, 1e-6, A);
    /* returns-to-go: {0.5, 1}, {2, 2, 2}: mean 7.5/5 = 1.5, var (1+0.25+3*0.25)/5 = 0.4 */
    assert_double_equal(mean, 1.5, 1e-15);
    double sd = sqrt(0.4) + 1e-6;
    double e[6] = {-1 / sd, -0.5 / sd, 0, 0.5 / sd, 0.5 / sd, 0.5 / sd};
    for (int i = 0; i < 6; i++)
        assert_double_equal(A[i], e[i], 1e-13);
}

/* GAE on a hand batch (gamma = lambda = 0.5: every number exact in binary): seq 0 len 3,
 * seq 1 len 2 (slot (1, 2) masked, NaN).  gamma lambda = 0.25.
 *   seq 0: delta_2 = 2 + 0 - (-1) = 3,          A_2 = 3
 *          delta_1 = -1 + 0.5 (-1) - 1 = -2.5,  A_1 = -2.5 + 0.25 * 3 = -1.75
 *          delta_0 = 0.5 + 0.5 * 1 - 0.5 = 0.5, A_0 = 0.5 + 0.25 (-1.75) = 0.0625
 *   seq 1: delta_1 = 3 + 0 - (-0.5) = 3.5,      A_1 = 3.5
 *          delta_0 = 1 + 0.5 (-0.5) - 2 = -1.25, A_0 = -1.25 + 0.25 * 3.5 = -0.375
 * returns A + V: {0.5625, -0.75, 2}, {1.625, 3}; mean A = 4.4375 / 5 = 0.8875. */
static void test_gae(void **st)
{
    (void)st;
    double r[6] = {0.5, -1, 2, 1, 3, NAN}, V[6] = {0.5, 1, -1, 2, -0.5, NAN}, A[6], ret[6];
    int len[2] = {3, 2};
    double mean = rt_rl_gae(r, V, len, 2, 3, 0.5, 0.5, 1e-6, A, ret);
    assert_true(mean == 0.8875);
    double raw[5] = {0.0625, -1.75, 3, -0.375, 3.5}, eret[6] = {0.5625, -0.75, 2, 1.625, 3, 0};
    for (int k = 0; k < 6; k++)
        assert_true(ret[k] == eret[k]);
    double var = 0.0;
    for (int k = 0; k < 5; k++)
        var += (raw[k] - 0.8875) * (raw[k] - 0.8875);
    double sd = sqrt(var / 5) + 1e-6;
    for (int k = 0, j = 0; k < 6; k++) {
        if (k == 5) {
            assert_true(A[k] == 0.0);
            continue;
        }
        assert_double_equal(A[k], (raw[j++] - 0.8875) / sd, 1e-13);
    }
    /* explained variance 1 - Var(A) / Var(ret) (numpy: -1.4927866362946087) */
    assert_double_equal(rt_rl_explained_var(ret, V, len, 2, 3), -1.4927866362946087, 1e-13);
    /* V = ret: all of it explained; a constant return: NaN */
    assert_double_equal(rt_rl_explained_var(ret, ret, len, 2, 3), 1.0, 0);
    double c[6] = {2, 2, 2, 2, 2, 2};
    assert_true(isnan(rt_rl_explained_var(c, V, len, 2, 3)));
    /* lambda = 1: Monte Carlo advantages G_t - V_t (gamma 1) */
    rt_rl_gae(r, V, len, 2, 3, 1.0, 1.0, 1e-6, A, ret);
    double g1[6] = {1.5, 1, 2, 4, 3, 0};
    for (int k = 0; k < 6; k++)
        assert_true(ret[k] == g1[k]);
    /* lambda = 0: one-step TD, A_t = delta_t (ret = r_t + gamma V_t+1) */
    rt_rl_gae(r, V, len, 2, 3, 0.5, 0.0, 1e-6, A, ret);
    double td[6] = {1.0, -1.5, 2, 0.75, 3, 0};
    for (int k = 0; k < 6; k++)
        assert_true(ret[k] == td[k]);
}

/* With V = 0, gamma = lambda = 1, GAE is the reward-to-go part: the same bits */
static void test_gae_is_rtg(void **st)
{
    (void)st;
    enum { n = 5, T = 7 };
    int len[n] = {7, 1, 4, 6, 3};
    double r[n * T], V[n * T] = {0}, A1[n * T], A2[n * T], ret[n * T];
    rt_rng g = rt_rng_make(17);
    for (int k = 0; k < n * T; k++)
        r[k] = (k % T == len[k / T] - 1 ? 1.0 : 0.0) - 0.05 * rt_rng_uniform_d(&g);
    double m1 = rt_rl_token_advantages(r, len, n, T, 1e-6, A1);
    double m2 = rt_rl_gae(r, V, len, n, T, 1.0, 1.0, 1e-6, A2, ret);
    assert_memory_equal(&m1, &m2, sizeof m1);
    assert_memory_equal(A1, A2, sizeof A1);
}

/* The clipped value loss on a hand batch (clip 0.2), then central differences of
 * vf_coef L_V(head(h)) with respect to the head (w, b) and the features h. */
static void test_value_loss(void **st)
{
    (void)st;
    /* token 0: v 0.5 clipped to 0.2, (0.2 - 1)^2 = 0.64 > 0.25: the clipped term, grad 0
     * token 1: v 0.1 inside: 0.81, grad (0.1 - 1) / 4
     * token 2: v 0.5, v_old 1: clipped to 0.8, 0.64 > 0.25: grad 0
     * token 3: v 1 clipped to 0.2: (1 + 1)^2 = 4 > 1.44: unclipped, grad 2 / 4
     * (slot 4 masked).  L = 0.5 (0.64 + 0.81 + 0.64 + 4) / 4 = 0.76125 */
    double v[5] = {0.5, 0.1, 0.5, 1, NAN}, vo[5] = {0, 0, 1, 0, NAN}, ret[5] = {1, 1, 0, -1, NAN};
    double dv[5];
    int len[1] = {4};
    assert_double_equal(rt_rl_value_loss(1, 5, len, v, vo, ret, 0.2, dv), 0.76125, 1e-15);
    double edv[5] = {0, -0.9 / 4, 0, 0.5, 0};
    for (int k = 0; k < 5; k++)
        assert_double_equal(dv[k], edv[k], 1e-15);
    /* the head: v = w . h + b on rows of C features; 2 sequences of T = 3 (lengths 3, 2) */
    enum { N = 2, T = 3, C = 4, R = N * T };
    int ln[N] = {3, 2};
    float h[R * C], head[C + 1] = {0.3f, -0.7f, 0.2f, 0.5f, 0.1f}, dhead[C + 1], dh[R * C];
    double vold[R], rt[R], vv[R], dd[R];
    for (int k = 0; k < R * C; k++)
        h[k] = (float)(0.9 * sin(1.3 * k + 0.4));
    rt_rl_value_head(h, R, C, head, vold);
    for (int k = 0; k < R; k++) { /* returns on both sides, clips active and not */
        rt[k] = vold[k] + (k % 2 ? 0.35 : -0.12) * (k + 1);
        vold[k] += (k % 3 == 0 ? 0.3 : -0.05); /* the values moved since sampling */
    }
    const double coef = 0.1, clip = 0.2;
    rt_rl_value_head(h, R, C, head, vv);
    rt_rl_value_loss(N, T, ln, vv, vold, rt, clip, dd);
    rt_rl_value_head_backward(h, dd, R, C, head, coef, dhead, dh);
    float hin[R * C], dh2[C + 1]; /* in place (dh = h, as the engine does): the same bits */
    memcpy(hin, h, sizeof h);
    rt_rl_value_head_backward(hin, dd, R, C, head, coef, dh2, hin);
    assert_memory_equal(hin, dh, sizeof dh);
    assert_memory_equal(dh2, dhead, sizeof dhead);
    int clipped = 0;
    for (int k = 0; k < R; k++)
        clipped += k % T < ln[k / T] && dd[k] == 0.0;
    assert_true(clipped > 0 && clipped < 5); /* both branches occur */
    /* each parameter and feature moved by +-eps (in float), the loss in double */
    for (int k = 0; k < C + 1 + R * C; k++) {
        float *x = k < C + 1 ? &head[k] : &h[k - C - 1], x0 = *x, xs[2];
        double f[2];
        for (int s = 0; s < 2; s++) {
            *x = xs[s] = x0 + (s ? -1e-3f : 1e-3f);
            rt_rl_value_head(h, R, C, head, vv);
            f[s] = coef * rt_rl_value_loss(N, T, ln, vv, vold, rt, clip, NULL);
        }
        *x = x0;
        double fd = (f[0] - f[1]) / ((double)xs[0] - xs[1]);
        double g = k < C + 1 ? dhead[k] : dh[k - C - 1];
        if (fabs(fd - g) > 1e-6 + 1e-4 * fabs(g))
            fail_msg("value loss: input %d: backward %g, central difference %g", k, g, fd);
    }
}

/* two sequences, T = 3, lengths 2 and 3; masked slot (0, 2) holds NaN everywhere */
static const int LEN[2] = {2, 3};
static double LP[6] = {-0.5, -1.0, NAN, -0.2, -0.3, -0.5};

static void test_loss_values(void **st)
{
    (void)st;
    double A[6] = {1, 1, NAN, -2, -2, -2}, dlp[6], lpref[6];
    double d[6] = {0.69314718055994531, 0, NAN, 0, 0, 0}; /* log r = lp_ref - lp */
    for (int i = 0; i < 6; i++)
        lpref[i] = LP[i] + d[i];
    long nclip = -1;
    rt_rl_config c = resolved(rt_rl_recipe_find("reinforce"));
    /* -(1/2) [1 * (-1.5) - 2 * (-1.0)] */
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, &nclip), -0.25, 1e-15);
    assert_int_equal(nclip, 0);
    double e_pg[6] = {-0.5, -0.5, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e_pg[i], 1e-15);
    c = resolved(rt_rl_recipe_find("rloo"));
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, NULL, NULL), -0.25, 1e-15);

    /* GRPO with beta = 0.1, k3 in the loss; rho = 1; k3 = 1 - ln 2 at slot (0, 0) */
    c = resolved(rt_rl_recipe_find("grpo"));
    c.kl = 0.1;
    double k3 = 1.0 - log(2.0);
    double L = rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, &nclip);
    /* -(1/2) [ (1/2)(1 - 0.1 k3 + 1) + (1/3)(-6) ] */
    assert_double_equal(L, 0.5 + 0.025 * k3, 1e-15);
    assert_int_equal(nclip, 0);
    /* d/dlp: w * (-rho A + beta (1 - r)), r = 2 at (0,0) */
    assert_double_equal(dlp[0], 0.25 * (-1 + 0.1 * (1 - 2)), 1e-15);
    assert_double_equal(dlp[1], 0.25 * -1, 1e-15);
    assert_true(dlp[2] == 0.0);
    assert_double_equal(dlp[3], 2.0 / 6, 1e-15);

    c = resolved(rt_rl_recipe_find("drgrpo"));
    c.kl = 0.1;
    /* -(1/(2*3)) [ (1 - 0.1 k3) + 1 - 6 ] */
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, NULL), (4 + 0.1 * k3) / 6,
                        1e-15);
    assert_double_equal(dlp[3], 2.0 / 6, 1e-15);

    /* kl_in = reward: no KL term in the loss */
    c = resolved(rt_rl_recipe_find("grpo"));
    c.kl = 0.1;
    c.kl_in = RT_RL_IN_REWARD;
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, NULL, NULL), 0.5, 1e-15);
}

static void test_ppo_clip(void **st)
{
    (void)st;
    /* tokens: (a) rho 1.5 A +1 clipped, (b) rho 0.5 A +1 unclipped, masked slot,
     * (c) rho 0.5 A -1 clipped, (d) rho 1.5 A -1 unclipped, (e) rho 1 A 0 */
    int len[2] = {2, 3};
    double lp[6] = {-1, -1, NAN, -1, -1, -1}, old[6], A[6] = {1, 1, NAN, -1, -1, 0}, dlp[6];
    double rho[6] = {1.5, 0.5, NAN, 0.5, 1.5, 1};
    for (int i = 0; i < 6; i++)
        old[i] = lp[i] - log(rho[i]);
    rt_rl_config c = resolved(rt_rl_recipe_find("ppo"));
    long nclip = 0;
    double L = rt_rl_loss(&c, 2, 3, len, lp, old, lp, A, dlp, &nclip);
    assert_double_equal(L, (-1.2 - 0.5 + 0.8 + 1.5 + 0) / 5, 1e-14);
    assert_int_equal(nclip, 2);
    double e[6] = {0, -0.5 / 5, 0, 0, 1.5 / 5, 0};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e[i], 1e-14);
    /* clip = 0.6: nothing is clipped any more (clip gives both sides when resolved) */
    c.clip = 0.6;
    c.clip_low = c.clip_high = 0.0;
    assert_int_equal(rt_rl_config_check(&c, &c, NULL), 0);
    assert_true(c.clip_low == 0.6 && c.clip_high == 0.6);
    rt_rl_loss(&c, 2, 3, len, lp, old, lp, A, dlp, &nclip);
    assert_int_equal(nclip, 0);
}

/* central differences in double of rt_rl_loss wrt lp */
static void fd_check(const rt_rl_config *c, int n, int T, const int *len, const double *lp0,
                     const double *old, const double *ref, const double *A)
{
    double lp[64], dlp[64], tmp[64];
    assert_true(n * T <= 64);
    memcpy(lp, lp0, sizeof(double) * (size_t)(n * T));
    rt_rl_loss(c, n, T, len, lp, old, ref, A, dlp, NULL);
    double h = 1e-6;
    for (int k = 0; k < n * T; k++) {
        if (k % T >= len[k / T]) continue;
        double s = lp[k];
        lp[k] = s + h;
        double up = rt_rl_loss(c, n, T, len, lp, old, ref, A, tmp, NULL);
        lp[k] = s - h;
        double dn = rt_rl_loss(c, n, T, len, lp, old, ref, A, tmp, NULL);
        lp[k] = s;
        double fd = (up - dn) / (2 * h);
        assert_double_equal(dlp[k], fd, 1e-8 * (1 + fabs(fd)));
    }
}

static void test_gradcheck_losses(void **st)
{
    (void)st;
    enum { n = 3, T = 4 };
    int len[n] = {4, 2, 3};
    double lp[n * T], old[n * T], ref[n * T], A[n * T];
    /* log-ratios spread over both sides of 1 +- 0.2, away from the kinks by >> h */
    double lr[n * T] = {0.5, -0.5, 0.1, -0.05, 0.3, -0.4, 0, 0, 0.15, -0.1, 0.25, 0};
    for (int k = 0; k < n * T; k++) {
        lp[k] = -0.3 - 0.17 * k;
        old[k] = lp[k] - lr[k];
        ref[k] = lp[k] + 0.4 * sin(k + 1.0);
        A[k] = (k / T == 1) ? -1.3 : 0.7 + 0.1 * k;
    }
    for (int est = RT_RL_K1; est <= RT_RL_K3; est++) {
        rt_rl_config c = resolved(rt_rl_recipe_find("grpo"));
        c.kl = 0.2;
        c.kl_estimator = (rt_rl_estimator)est;
        fd_check(&c, n, T, len, lp, old, ref, A); /* GRPO with ratios != 1 (a later epoch) */
        c = resolved(rt_rl_recipe_find("ppo"));
        c.kl = 0.2;
        c.kl_in = RT_RL_IN_LOSS;
        c.kl_estimator = (rt_rl_estimator)est;
        fd_check(&c, n, T, len, lp, old, ref, A);
        c.kl = 0.0;
        fd_check(&c, n, T, len, lp, old, ref, A);
    }
    /* both regions occur: some tokens clipped, some not */
    rt_rl_config c = resolved(rt_rl_recipe_find("ppo"));
    long nclip = 0;
    rt_rl_loss(&c, n, T, len, lp, old, ref, A, NULL, &nclip);
    assert_true(nclip > 0 && nclip < 9);
}

static void expect_bad(rt_rl_config c, const char *key, const char *msg)
{
    rt_diag d;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, key);
    assert_string_equal(d.msg, msg);
}

/* ---- the recipe table and its demonstration row, bnpo -------------------------------- */

static void test_recipe_table(void **st)
{
    (void)st;
    int n = rt_rl_recipe_count();
    assert_int_equal(n, 14);
    for (int i = 0; i < n; i++) {
        const rt_rl_recipe *r = rt_rl_recipe_at(i);
        assert_non_null(r);
        assert_string_equal(rt_rl_recipe_names[i], r->name);
        assert_ptr_equal(rt_rl_recipe_find(r->name), r);
        assert_int_equal(rt_rl_recipe_index(r), i);
        assert_string_equal(rt_rl_algo_name(r), r->name);
        assert_true(r->help && r->help[0]);
        /* consistent parts: comparing samples needs a group; no ratio, one update */
        if (r->adv == RT_RL_ADV_LOO || r->adv == RT_RL_ADV_GROUP_NORM ||
            r->adv == RT_RL_ADV_GROUP_CENTER)
            assert_true(r->min_group >= 2);
        if (r->ratio == RT_RL_RATIO_NONE) assert_int_equal(r->epochs, 1);
        assert_true(r->est != RT_RL_EST_AUTO && r->kl_in != RT_RL_IN_AUTO && r->epochs >= 1);
        rt_rl_config c, out;
        rt_rl_config_init(&c);
        c.algo = r;
        assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
        assert_int_equal(out.kl_estimator, r->est);
        assert_int_equal(out.kl_in, r->kl_in);
        assert_int_equal(out.epochs, r->epochs);
        /* both = clip unless the row sets them (gspo, cispo) */
        assert_true(out.clip_low == (r->clip_low > 0 ? r->clip_low : 0.2));
        assert_true(out.clip_high == (r->clip_high > 0 ? r->clip_high : 0.2));
    }
    /* every row's loss has the gradient it reports (ratios != 1, KL in the loss) */
    enum { n3 = 3, T4 = 4 };
    int ln[n3] = {4, 2, 3};
    double lq[n3 * T4], oq[n3 * T4], rq[n3 * T4], Aq[n3 * T4];
    double lr[n3 * T4] = {0.5, -0.5, 0.1, -0.05, 0.3, -0.4, 0, 0, 0.15, -0.1, 0.25, 0};
    for (int k = 0; k < n3 * T4; k++) {
        lq[k] = -0.3 - 0.17 * k;
        oq[k] = lq[k] - lr[k];
        rq[k] = lq[k] + 0.4 * sin(k + 1.0);
        Aq[k] = (k / T4 == 1) ? -1.3 : 0.7 + 0.1 * k;
    }
    for (int i = 0; i < n; i++) {
        rt_rl_config c = resolved(rt_rl_recipe_at(i));
        c.kl = 0.2;
        c.kl_in = RT_RL_IN_LOSS;
        /* cispo's IS weight is not differentiated (stop-gradient): checked by hand below;
         * nft reads A as R_i - r_q in [-1, 1]: test_offpolicy_recipes */
        if (c.algo->ratio != RT_RL_RATIO_CISPO && c.algo->ratio != RT_RL_RATIO_NFT)
            fd_check(&c, n3, T4, ln, lq, oq, rq, Aq);
    }
    /* cispo: l_t = -min(rho, 1 + clip_high) A lp with the weight a constant, token_mean:
     * dl/dlp_t = -min(rho, hi) A / (valid tokens); a rho above the cap counts as clipped */
    {
        rt_rl_config c = resolved(rt_rl_recipe_find("cispo"));
        c.clip_high = 0.5; /* cap 1.5: e^0.5 = 1.65 is above it */
        double g[n3 * T4], want = 0.0;
        long nc = 0;
        double loss = rt_rl_loss(&c, n3, T4, ln, lq, oq, rq, Aq, g, &nc);
        int tot = 4 + 2 + 3, cl = 0;
        for (int k = 0; k < n3 * T4; k++) {
            if (k % T4 >= ln[k / T4]) {
                assert_true(g[k] == 0.0);
                continue;
            }
            double rho = exp(lq[k] - oq[k]), cw = rho > 1.5 ? 1.5 : rho;
            cl += rho > 1.5;
            assert_double_equal(g[k], -cw * Aq[k] / tot, 1e-15);
            want += -cw * Aq[k] * lq[k] / tot;
        }
        assert_double_equal(loss, want, 1e-14);
        assert_int_equal(nc, cl);
        assert_true(cl == 1);
    }
    /* gspo at rho = 1 (the first update) is grpo, value and gradient */
    {
        rt_rl_config a = resolved(rt_rl_recipe_find("gspo")),
                     b = resolved(rt_rl_recipe_find("grpo"));
        double ga[n3 * T4], gb[n3 * T4], As[n3 * T4]; /* a sequence's advantage */
        for (int k = 0; k < n3 * T4; k++)
            As[k] = Aq[(k / T4) * T4];
        double la = rt_rl_loss(&a, n3, T4, ln, lq, lq, rq, As, ga, NULL);
        double lb = rt_rl_loss(&b, n3, T4, ln, lq, lq, rq, As, gb, NULL);
        assert_double_equal(la, lb, 1e-15);
        for (int k = 0; k < n3 * T4; k++)
            assert_double_equal(ga[k], gb[k], 1e-15);
    }
    assert_null(rt_rl_recipe_names[n]);
    assert_null(rt_rl_recipe_at(-1));
    assert_null(rt_rl_recipe_at(n));
    assert_null(rt_rl_recipe_find("grpoo"));
    assert_null(rt_rl_recipe_find(NULL));
    rt_rl_recipe copy = *rt_rl_recipe_find("grpo");
    assert_int_equal(rt_rl_recipe_index(&copy), -1);
    assert_int_equal(rt_rl_recipe_index(NULL), -1);
    /* the parts of the rows of rt_rl.h's table */
    const rt_rl_recipe *b = rt_rl_recipe_find("bnpo");
    assert_non_null(b);
    assert_int_equal(b->adv, RT_RL_ADV_GROUP_NORM);
    assert_int_equal(b->ratio, RT_RL_RATIO_TOKEN);
    assert_int_equal(b->agg, RT_RL_AGG_TOKEN_MEAN);
    assert_int_equal(b->min_group, 2);
    assert_int_equal(b->epochs, 1);
    assert_int_equal(b->est, RT_RL_K3);
    assert_int_equal(b->kl_in, RT_RL_IN_LOSS);
}

/* ---- opmd, asymre, bapo, nft ------------------------------------------------------------ */

/* the loss and gradient of cfg, compared to hand numbers (token mean over the batch) */
static void expect_loss(const rt_rl_config *c, int n, int T, const int *len, const double *lp,
                        const double *old, const double *A, double want, const double *gwant,
                        double tol)
{
    double g[64];
    double loss = rt_rl_loss(c, n, T, len, lp, old, lp, A, g, NULL);
    assert_double_equal(loss, want, tol);
    for (int k = 0; k < n * T; k++)
        assert_double_equal(g[k], k % T < len[k / T] ? gwant[k] : 0.0, tol);
}

/* a and b give equal gradients (as doubles: ==) and, when same_loss, equal losses */
static void expect_same(const rt_rl_config *a, const rt_rl_config *b, int n, int T, const int *len,
                        const double *lp, const double *old, const double *A, int same_loss)
{
    double ga[64], gb[64];
    double la = rt_rl_loss(a, n, T, len, lp, old, lp, A, ga, NULL);
    double lb = rt_rl_loss(b, n, T, len, lp, old, lp, A, gb, NULL);
    if (same_loss) assert_true(la == lb);
    for (int k = 0; k < n * T; k++)
        assert_true(ga[k] == gb[k]);
}

static void test_offpolicy_recipes(void **st)
{
    (void)st;
    /* one prompt, G = 2, R = {1, 0}: A = {0.5, -0.5}; |y| = 3, 2 (token mean: 1/5) */
    enum { n = 2, T = 3 };
    int len[n] = {3, 2};
    double R[n] = {1, 0}, As[n], A[n * T];
    double lp[n * T] = {-0.5, -0.25, -1, -0.75, -2, 0};
    double d[n * T] = {0.5, 0, -0.25, 0.25, 0, 0}, old[n * T];
    for (int k = 0; k < n * T; k++)
        old[k] = lp[k] - d[k];
    rt_rl_config c = resolved(rt_rl_recipe_find("opmd"));
    assert_int_equal(rt_rl_advantages(&c, R, 1, n, NULL, NULL, As), 0);
    assert_true(As[0] == 0.5 && As[1] == -0.5);
    for (int k = 0; k < n * T; k++)
        A[k] = As[k / T];
    /* opmd, tau 0.1: l = -A lp + 0.1 d^2: (0.875 + 0.03125 - 1.375 + 0.00625) / 5;
     * dl/dlp = (-A + 0.2 d) / 5 */
    assert_true(c.opmd_tau == 0.1 && c.epochs == 1 && c.algo->stale_ok);
    double g_opmd[n * T] = {-0.08, -0.1, -0.11, 0.11, 0.1, 0};
    expect_loss(&c, n, T, len, lp, old, A, -0.0925, g_opmd, 1e-15);
    fd_check(&c, n, T, len, lp, old, lp, A);
    /* asymre, delta 0.1: l = -(A + 0.1) lp: (1.05 - 1.1) / 5; dl/dlp = -(A + 0.1) / 5 */
    rt_rl_config a = resolved(rt_rl_recipe_find("asymre"));
    assert_true(a.asymre_shift == 0.1 && a.algo->stale_ok);
    double g_asym[n * T] = {-0.12, -0.12, -0.12, 0.08, 0.08, 0};
    expect_loss(&a, n, T, len, lp, old, A, -0.01, g_asym, 1e-15);
    fd_check(&a, n, T, len, lp, old, lp, A);
    /* reductions, bit for bit: the plain policy gradient with group_center and token_mean
     * (rloo's ratio part NONE) is opmd at tau 0 (any lp_old) and at the first update
     * (lp = lp_old, any tau), and asymre at delta 0 */
    rt_rl_config pg = resolved(rt_rl_recipe_find("rloo"));
    pg.advantage = 1 + RT_RL_ADV_GROUP_CENTER;
    pg.loss_agg = 1 + RT_RL_AGG_TOKEN_MEAN;
    assert_int_equal(rt_rl_config_check(&pg, &pg, NULL), 0);
    expect_same(&c, &pg, n, T, len, lp, lp, A, 1);
    c.opmd_tau = 0.0;
    expect_same(&c, &pg, n, T, len, lp, old, A, 1);
    a.asymre_shift = 0.0;
    expect_same(&a, &pg, n, T, len, lp, old, A, 1);
    /* they accept iterations > 1 (meant for stale data); rloo does not */
    c.epochs = 4, a.epochs = 4;
    assert_int_equal(rt_rl_config_check(&c, NULL, NULL), 0);
    assert_int_equal(rt_rl_config_check(&a, NULL, NULL), 0);
    c.opmd_tau = -1;
    expect_bad(c, "opmd_tau", "opmd_tau must be a number >= 0");
}

static void test_bapo(void **st)
{
    (void)st;
    /* five one-token answers: A = 2 at rho 1.32; A = -1 at rho 1, 0.7, 0.95, 3.5.  From
     * [0.6, 1.2]: P = 0 (1.32 > 1.2), so c_low climbs to 0.9 (dropping 0.7's gradient:
     * M = 1 + 0.95; 3.5 is past the dual clip 3), then c_high to 1.35, where P = 2.64 >=
     * 0.5 (P + M) */
    enum { n = 5, T = 1 };
    int len[n] = {1, 1, 1, 1, 1};
    double rho[n] = {1.32, 1.0, 0.7, 0.95, 3.5}, A[n] = {2, -1, -1, -1, -1}, lp[n], old[n];
    for (int k = 0; k < n; k++)
        lp[k] = log(rho[k]), old[k] = 0.0;
    rt_rl_config c = resolved(rt_rl_recipe_find("bapo"));
    assert_true(c.clip_low == 0.4 && c.clip_high == 0.2 && c.epochs == 2);
    double lo, hi;
    rt_rl_bapo_bounds(&c, n, T, len, lp, old, A, &lo, &hi);
    assert_true(lo == 0.9);
    assert_double_equal(hi, 1.35, 1e-12);
    /* the loss at those bounds: -2.64 | 1 | 0.9 (clipped at c_low) | 0.95 | 3 (dual clip) */
    double g[n] = {-2.64 / 5, 1.0 / 5, 0, 0.95 / 5, 0};
    expect_loss(&c, n, T, len, lp, old, A, 3.21 / 5, g, 1e-12);
    long nclip = 0;
    rt_rl_loss(&c, n, T, len, lp, old, lp, A, NULL, &nclip);
    assert_int_equal(nclip, 2);
    fd_check(&c, n, T, len, lp, old, lp, A); /* the bounds stay put under +-h */
    /* met at the start: nothing moves; a target of 0: never moves; unmet to the ceilings */
    double A2[n] = {3, -1, -1, -1, 1};
    rho[0] = 1.1, lp[0] = log(1.1);
    rt_rl_bapo_bounds(&c, n, T, len, lp, old, A2, &lo, &hi);
    assert_true(lo == 0.6 && hi == 1.2);
    double A3[n] = {-1, -1, -1, -1, -1};
    rt_rl_bapo_bounds(&c, n, T, len, lp, old, A3, &lo, &hi);
    assert_true(lo == 0.9 && hi == 3.0);
    c.bapo_target = 0.0;
    rt_rl_bapo_bounds(&c, n, T, len, lp, old, A3, &lo, &hi);
    assert_true(lo == 0.6 && hi == 1.2);
    /* the GRPO batch of the gradient checks, ratios around 1 */
    enum { n3 = 3, T4 = 4 };
    int ln[n3] = {4, 2, 3};
    double lq[n3 * T4], oq[n3 * T4], Aq[n3 * T4];
    double lr[n3 * T4] = {0.5, -0.5, 0.1, -0.05, 0.3, -0.4, 0, 0, 0.15, -0.1, 0.25, 0};
    for (int k = 0; k < n3 * T4; k++) {
        lq[k] = -0.3 - 0.17 * k;
        oq[k] = lq[k] - lr[k];
        Aq[k] = (k / T4 == 1) ? -1.3 : 0.7 + 0.1 * k;
    }
    c = resolved(rt_rl_recipe_find("bapo"));
    fd_check(&c, n3, T4, ln, lq, oq, oq, Aq);
    c.bapo_low_max = 0.5;
    expect_bad(c, "bapo_low_max",
               "bapo_low_max = 0.5 must be in [1 - clip_low, 1] = [0.6, 1] "
               "(c_low's range)");
}

/* R2VPO: the ratio-variance penalty by hand, its gradient by central differences, and at
 * rho = 1 bnpo's loss and gradient bit for bit (the same advantages and aggregation) */
static void test_r2vpo(void **st)
{
    (void)st;
    enum { n = 2, T = 2 };
    int len[n] = {2, 1};
    double A[n * T] = {0.5, 0.5, -1.0, -1.0}, d[n * T] = {0.3, -0.2, 0.1, 0.0};
    double lp[n * T], old[n * T];
    for (int k = 0; k < n * T; k++)
        lp[k] = -1.0 - 0.2 * k, old[k] = lp[k] - d[k];
    rt_rl_config c = resolved(rt_rl_recipe_find("r2vpo"));
    assert_true(c.r2vpo_lambda == 0.04 && c.r2vpo_delta == 0.04 && c.r2vpo_dual_lr == 1.0);
    assert_true(c.epochs == 4);
    c.r2vpo_lambda = 0.5;
    /* by hand: token mean over 3 valid tokens of -(rho A - lambda (rho - 1)^2); the
     * gradient -rho A + 2 lambda (rho - 1) rho */
    double r0 = exp(0.3), r1 = exp(-0.2), r2 = exp(0.1);
    double want =
        (-(r0 * 0.5 - 0.5 * (r0 - 1) * (r0 - 1)) - (r1 * 0.5 - 0.5 * (r1 - 1) * (r1 - 1)) -
         (r2 * -1.0 - 0.5 * (r2 - 1) * (r2 - 1))) /
        3;
    double g[n * T] = {(-r0 * 0.5 + (r0 - 1) * r0) / 3, (-r1 * 0.5 + (r1 - 1) * r1) / 3,
                       (r2 + (r2 - 1) * r2) / 3, 0.0};
    expect_loss(&c, n, T, len, lp, old, A, want, g, 1e-14);
    long nclip = 0;
    rt_rl_loss(&c, n, T, len, lp, old, lp, A, NULL, &nclip);
    assert_int_equal(nclip, 0); /* nothing is clipped: every token keeps its gradient */
    fd_check(&c, n, T, len, lp, old, lp, A);
    /* at rho = 1: bnpo's term, bit for bit, whatever lambda */
    rt_rl_config b = resolved(rt_rl_recipe_find("bnpo"));
    double dr[n * T], db[n * T];
    double lr = rt_rl_loss(&c, n, T, len, lp, lp, lp, A, dr, NULL);
    double lb = rt_rl_loss(&b, n, T, len, lp, lp, lp, A, db, NULL);
    assert_memory_equal(&lr, &lb, sizeof lr);
    assert_memory_equal(dr, db, sizeof dr);
    /* errors at the key */
    c = resolved(rt_rl_recipe_find("r2vpo"));
    c.r2vpo_delta = -1;
    expect_bad(c, "r2vpo_delta", "r2vpo_delta must be a number >= 0");
    c.r2vpo_delta = 0.04, c.r2vpo_dual_lr = NAN;
    expect_bad(c, "r2vpo_dual_lr", "r2vpo_dual_lr must be a number >= 0");
}

static void test_nft(void **st)
{
    (void)st;
    /* one prompt, G = 4, R = {1, 0, 0, 0}: r_q = 0.25, A = {0.75, -0.25, -0.25, -0.25};
     * one token each, log-ratios 0.2, 0.1, -0.3, 1.5 */
    enum { n = 4, T = 1 };
    int len[n] = {1, 1, 1, 1};
    double R[n] = {1, 0, 0, 0}, A[n], d[n] = {0.2, 0.1, -0.3, 1.5}, lp[n], old[n];
    rt_rl_config c = resolved(rt_rl_recipe_find("nft"));
    assert_true(c.nft_eps == 1.0 && c.epochs == 1);
    assert_int_equal(rt_rl_advantages(&c, R, 1, n, NULL, NULL, A), 0);
    assert_true(A[0] == 0.75 && A[1] == -0.25 && A[2] == -0.25 && A[3] == -0.25);
    for (int k = 0; k < n; k++)
        lp[k] = -1.0 - 0.1 * k, old[k] = lp[k] - d[k];
    /* by hand: correct -0.75 * 0.2; wrong with q = 1 - r_q = 0.75, p = 1 - 0.25 rho:
     * proxy p / q >= eps = 1 only at rho < 1 (-0.3): -q log(p / q); else linear: q - p */
    double e1 = exp(0.1), e2 = exp(-0.3), e3 = exp(1.5);
    double p2 = 1 - 0.25 * e2;
    double want = (-0.15 + 0.25 * (e1 - 1) - 0.75 * log(p2 / 0.75) + 0.25 * (e3 - 1)) / 4;
    double g[n] = {-0.75 / 4, 0.25 * e1 / 4, 0.25 * e2 * 0.75 / p2 / 4, 0.25 * e3 / 4};
    expect_loss(&c, n, T, len, lp, old, A, want, g, 1e-14);
    long nclip = 0;
    rt_rl_loss(&c, n, T, len, lp, old, lp, A, NULL, &nclip);
    assert_int_equal(nclip, 2); /* the two wrong answers under the floor */
    fd_check(&c, n, T, len, lp, old, lp, A);
    c.nft_eps = 0.5; /* rho e^0.1 is now in the log branch; e^1.5 (p < 0) is not */
    fd_check(&c, n, T, len, lp, old, lp, A);
    c.nft_eps = 1.0;
    /* the paper's claim: at strict on-policy (rho = 1) NFT's gradient is GRPO's with
     * group_center advantages (Dr. GRPO's, NFT's omega = 1 - r_q) and the same token mean:
     * positives -A, negatives -(A rho) (q / p) with p = 1 + A = q exactly: bit for bit.
     * Three prompts of G = 4, one without signal (all wrong), answers of 1..3 tokens. */
    enum { B = 3, G = 4, N = B * G, T3 = 3 };
    double R3[N] = {1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0}, A3s[N], A3[N * T3], l3[N * T3];
    int ln3[N];
    assert_int_equal(rt_rl_advantages(&c, R3, B, G, NULL, NULL, A3s), 0);
    for (int k = 0; k < N * T3; k++)
        A3[k] = A3s[k / T3], l3[k] = -0.2 - 0.05 * k;
    for (int i = 0; i < N; i++)
        ln3[i] = 1 + i % 3;
    rt_rl_config gr = resolved(rt_rl_recipe_find("grpo"));
    gr.advantage = 1 + RT_RL_ADV_GROUP_CENTER;
    gr.loss_agg = 1 + RT_RL_AGG_TOKEN_MEAN;
    assert_int_equal(rt_rl_config_check(&gr, &gr, NULL), 0);
    double gA3[N];
    assert_int_equal(rt_rl_advantages(&gr, R3, B, G, NULL, NULL, gA3), 0);
    assert_memory_equal(gA3, A3s, sizeof gA3);
    expect_same(&c, &gr, N, T3, ln3, l3, l3, A3, 0);
    /* off-policy they part: a ratio != 1 on a wrong answer */
    double o3[N * T3], gn[N * T3], gg[N * T3];
    memcpy(o3, l3, sizeof o3);
    o3[1 * T3] += 0.1; /* sequence 1 (wrong) at rho < 1 (above 1 with nft_eps = 1, NFT's
                        * floor continues linearly with GRPO's unclipped gradient -A rho) */
    rt_rl_loss(&c, N, T3, ln3, l3, o3, l3, A3, gn, NULL);
    rt_rl_loss(&gr, N, T3, ln3, l3, o3, l3, A3, gg, NULL);
    assert_true(gn[1 * T3] != gg[1 * T3]);
    /* configuration: advantage is NFT's own; kl in the reward would leave 0/1 */
    rt_rl_config b = c;
    b.advantage = 1 + RT_RL_ADV_GROUP_NORM;
    expect_bad(b, "advantage",
               "advantage with algo = nft: its loss reads the advantage as R_i - r_q (the "
               "group's accuracy), group_center's");
    b = c;
    b.kl = 0.1, b.kl_in = RT_RL_IN_REWARD;
    expect_bad(b, "kl_in",
               "kl_in = reward with algo = nft: its rewards must stay 0 or 1, put the KL term in "
               "the loss (kl_in = loss)");
    b = c;
    b.nft_eps = 0;
    expect_bad(b, "nft_eps", "nft_eps must be > 0");
    b = c;
    b.ratio = 1 + RT_RL_RATIO_SEQUENCE;
    expect_bad(b, "ratio",
               "ratio with algo = nft: its loss has its own form, not a token or sequence ratio "
               "to choose (use algo = grpo, drgrpo, ppo, bnpo, gspo, cispo or dapo)");
}

static void test_bnpo(void **st)
{
    (void)st;
    /* advantages: GRPO's */
    double R[8] = {1, 0, 2, 1, 0, 0, 0, 3}, A8[8], G8[8], bl = 0;
    int set = 0;
    rt_rl_config c = resolved(rt_rl_recipe_find("bnpo"));
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &bl, &set, A8), 0);
    rt_rl_config g = resolved(rt_rl_recipe_find("grpo"));
    assert_int_equal(rt_rl_advantages(&g, R, 2, 4, &bl, &set, G8), 0);
    assert_memory_equal(A8, G8, sizeof A8);
    assert_int_equal(rt_rl_advantages(&c, R, 8, 1, &bl, &set, A8), RT_EINVAL);

    /* loss on the fixture of test_loss_values: every valid token weighs 1 / 5 */
    double A[6] = {1, 1, NAN, -2, -2, -2}, dlp[6], lpref[6];
    double d[6] = {0.69314718055994531, 0, NAN, 0, 0, 0};
    for (int i = 0; i < 6; i++)
        lpref[i] = LP[i] + d[i];
    c.kl = 0.1;
    double k3 = 1.0 - log(2.0);
    long nclip = -1;
    double L = rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, &nclip);
    /* (1/5) [ (-1 + 0.1 k3) - 1 + 2 + 2 + 2 ] */
    assert_double_equal(L, (4 + 0.1 * k3) / 5, 1e-15);
    assert_int_equal(nclip, 0);
    double e[6] = {0.2 * (-1 + 0.1 * (1 - 2)), -0.2, 0, 0.4, 0.4, 0.4};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e[i], 1e-15);
    /* ...where grpo weighs by 1 / (N |y_i|) */
    assert_double_equal(rt_rl_loss(&g, 2, 3, LEN, LP, LP, lpref, A, NULL, NULL), 0.5, 1e-15);

    /* the clipped ratio with the token mean (the ppo_clip fixture) */
    int len[2] = {2, 3};
    double lp[6] = {-1, -1, NAN, -1, -1, -1}, old[6], A2[6] = {1, 1, NAN, -1, -1, 0};
    double rho[6] = {1.5, 0.5, NAN, 0.5, 1.5, 1};
    for (int i = 0; i < 6; i++)
        old[i] = lp[i] - log(rho[i]);
    c.kl = 0.0;
    L = rt_rl_loss(&c, 2, 3, len, lp, old, lp, A2, dlp, &nclip);
    assert_double_equal(L, (-1.2 - 0.5 + 0.8 + 1.5 + 0) / 5, 1e-14);
    assert_int_equal(nclip, 2);
    double e2[6] = {0, -0.5 / 5, 0, 0, 1.5 / 5, 0};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e2[i], 1e-14);
    /* asymmetric clip: low 0.2, high 0.6 — (a) rho 1.5 A +1 is inside now, (c) stays cut */
    c.clip_low = 0.2, c.clip_high = 0.6;
    L = rt_rl_loss(&c, 2, 3, len, lp, old, lp, A2, dlp, &nclip);
    assert_double_equal(L, (-1.5 - 0.5 + 0.8 + 1.5 + 0) / 5, 1e-14);
    assert_int_equal(nclip, 1);
    double e3[6] = {-1.5 / 5, -0.5 / 5, 0, 0, 1.5 / 5, 0};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e3[i], 1e-14);

    /* gradients: central differences, with each estimator in the loss */
    enum { n = 3, T = 4 };
    int ln[n] = {4, 2, 3};
    double lq[n * T], oq[n * T], rq[n * T], Aq[n * T];
    double lr[n * T] = {0.5, -0.5, 0.1, -0.05, 0.3, -0.4, 0, 0, 0.15, -0.1, 0.25, 0};
    for (int k = 0; k < n * T; k++) {
        lq[k] = -0.3 - 0.17 * k;
        oq[k] = lq[k] - lr[k];
        rq[k] = lq[k] + 0.4 * sin(k + 1.0);
        Aq[k] = (k / T == 1) ? -1.3 : 0.7 + 0.1 * k;
    }
    for (int est = RT_RL_K1; est <= RT_RL_K3; est++) {
        c = resolved(rt_rl_recipe_find("bnpo"));
        c.kl = 0.2;
        c.kl_estimator = (rt_rl_estimator)est;
        fd_check(&c, n, T, ln, lq, oq, rq, Aq);
    }

    /* configuration */
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("bnpo");
    c.group = 1;
    expect_bad(c, "group",
               "group = 1 with algo = bnpo: advantages compare the samples of a prompt, use "
               "group >= 2");
    c.group = 4;
    c.epochs = 2; /* bnpo has a ratio: mu = 2 is fine */
    assert_int_equal(rt_rl_config_check(&c, NULL, NULL), 0);
}

/* ---- what each KL estimator's gradient optimizes (issue 14 item 3) --------------------- */

/* The EXPECTED gradient wrt the logits z of a one-state categorical policy pi =
 * softmax(z) (V tokens, one token per answer) of the KL term as the engine applies it,
 * by exact enumeration over the sampled token y ~ pi: g = sum_y pi(y) dl/dlp(y) (e_y -
 * pi), with dl/dlp from rt_rl_loss (so from rt_rl_kl_est_grad).  in_reward: the term
 * goes into the reward, R = -beta k(y) at sampling time, a REINFORCE advantage (the
 * baseline has zero mean: left out). */
static void kl_expected_grad(const rt_rl_recipe *algo, rt_rl_estimator est, int in_reward,
                             const double *lpi, const double *lref, int V, double *g)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = algo;
    c.group = 2;
    c.kl = 1.0;
    c.kl_estimator = est;
    c.kl_in = in_reward ? RT_RL_IN_REWARD : RT_RL_IN_LOSS;
    rt_rl_config r;
    assert_int_equal(rt_rl_config_check(&c, &r, NULL), 0);
    for (int v = 0; v < V; v++)
        g[v] = 0.0;
    for (int y = 0; y < V; y++) {
        int len = 1;
        double lp = lpi[y], lr = lref[y], A = 0.0, dlp;
        if (in_reward) A = -r.kl * rt_rl_kl_est(est, lp, lr);
        rt_rl_loss(&r, 1, 1, &len, &lp, &lp, &lr, &A, &dlp, NULL);
        for (int v = 0; v < V; v++)
            g[v] += exp(lpi[y]) * dlp * ((v == y) - exp(lpi[v]));
    }
}

/* The facts the notebook teaches, true of this code: as a LOSS term, k1's expected
 * gradient is 0 (E_pi[grad log pi] = 0), k2's is grad KL(pi || pi_ref) (reverse KL, the
 * penalty's own), k3's is grad KL(pi_ref || pi) (forward KL); in the REWARD, k1 gives
 * grad KL(pi || pi_ref), k2 gives grad E_pi[k2] - grad KL(pi || pi_ref) (no divergence's
 * gradient) and k3 gives grad KL(pi || pi_ref) - grad KL(pi_ref || pi).  Exact in double
 * (5 terms): tolerance 1e-12; the targets differ from each other by far more (checked
 * for the reverse and forward KL), so a swapped estimator fails. */
static void test_kl_expected_gradients(void **st)
{
    (void)st;
    enum { V = 5 };
    rt_rng rng = rt_rng_make(17);
    const char *algos[2] = {"reinforce", "grpo"};
    for (int trial = 0; trial < 6; trial++) {
        double z[V], zr[V], lpi[V], lref[V], mx = -1e300, mr = -1e300, s = 0, sr = 0;
        for (int v = 0; v < V; v++) {
            z[v] = 1.5 * rt_rng_normal(&rng), zr[v] = 1.5 * rt_rng_normal(&rng);
            mx = fmax(mx, z[v]), mr = fmax(mr, zr[v]);
        }
        for (int v = 0; v < V; v++)
            s += exp(z[v] - mx), sr += exp(zr[v] - mr);
        for (int v = 0; v < V; v++)
            lpi[v] = z[v] - mx - log(s), lref[v] = zr[v] - mr - log(sr);
        /* analytic: d KL(pi||ref)/dz = pi (log pi - log ref - KL); d KL(ref||pi)/dz =
         * pi - ref */
        double kl = 0, rev[V], fwd[V], zero[V] = {0}, k3r[V], k2r[V];
        for (int v = 0; v < V; v++)
            kl += exp(lpi[v]) * (lpi[v] - lref[v]);
        for (int v = 0; v < V; v++) {
            rev[v] = exp(lpi[v]) * (lpi[v] - lref[v] - kl);
            fwd[v] = exp(lpi[v]) - exp(lref[v]);
            k3r[v] = rev[v] - fwd[v];
            /* d E_pi[k2]/dz_v = sum_y pi_y (e_y - pi)_v (d_y^2 / 2 + d_y), d = lpi - lref */
            double ek2 = 0;
            for (int y = 0; y < V; y++) {
                double dd = lpi[y] - lref[y];
                ek2 += exp(lpi[y]) * ((v == y) - exp(lpi[v])) * (0.5 * dd * dd + dd);
            }
            k2r[v] = ek2 - rev[v];
        }
        struct {
            rt_rl_estimator est;
            int in_reward;
            const double *want;
        } cases[6] = {{RT_RL_K1, 0, zero}, {RT_RL_K2, 0, rev}, {RT_RL_K3, 0, fwd},
                      {RT_RL_K1, 1, rev},  {RT_RL_K2, 1, k2r}, {RT_RL_K3, 1, k3r}};
        double far = 0;
        for (int v = 0; v < V; v++)
            far = fmax(far, fmin(fabs(rev[v] - fwd[v]), fmin(fabs(rev[v]), fabs(fwd[v]))));
        assert_true(far > 1e-3); /* the targets are distinguishable */
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 6; k++) {
                if (cases[k].in_reward && a == 1) continue; /* REINFORCE's advantage only */
                double g[V];
                kl_expected_grad(rt_rl_recipe_find(algos[a]), cases[k].est, cases[k].in_reward, lpi,
                                 lref, V, g);
                for (int v = 0; v < V; v++)
                    if (fabs(g[v] - cases[k].want[v]) > 1e-12 * (1 + fabs(cases[k].want[v])))
                        fail_msg("%s %s in %s: grad[%d] %.17g, expected %.17g", algos[a],
                                 rt_rl_estimator_name(cases[k].est),
                                 cases[k].in_reward ? "reward" : "loss", v, g[v], cases[k].want[v]);
            }
    }
}

/* ---- chi^2 ------------------------------------------------------------------------ */

static void log_softmax(double *out, const double *z, int V, double tau)
{
    double mx = -INFINITY, s = 0;
    for (int v = 0; v < V; v++)
        mx = fmax(mx, z[v] / tau);
    for (int v = 0; v < V; v++)
        s += exp(z[v] / tau - mx);
    for (int v = 0; v < V; v++)
        out[v] = z[v] / tau - mx - log(s);
}

/* brute force over answers: recursive walk of (prefix state index) */
static double brute(const double *zt, const double *lr, int V, int T, int eos, double tau, long s,
                    int depth, double lt, double lrr)
{
    double ls[8], sum = 0;
    log_softmax(ls, zt + s * V, V, tau);
    int nc = V - 1;
    for (int a = 0; a < V; a++) {
        double a_t = lt + ls[a], a_r = lrr + lr[s * V + a];
        if (a == eos || depth == T - 1)
            sum += exp(2 * a_t - a_r);
        else
            sum += brute(zt, lr, V, T, eos, tau, 1 + s * nc + (a > eos ? a - 1 : a), depth + 1, a_t,
                         a_r);
    }
    return sum;
}

static void test_chi2_tree(void **st)
{
    (void)st;
    enum { V = 4, T = 3, S = 13 };
    assert_int_equal(rt_rl_chi2_states(V, T), S); /* 1 + 3 + 9 */
    assert_int_equal(rt_rl_chi2_states(32, 3), 993);
    assert_int_equal(rt_rl_chi2_states(32, 4), 30784);
    double zt[S * V], zr[S * V], lr[S * V], dz[S * V], tmp[S * V], work[3 * S];
    for (int k = 0; k < S * V; k++) {
        zt[k] = sin(0.7 * k + 0.3);
        zr[k] = cos(1.3 * k);
    }
    double tau = 0.8;
    for (int s = 0; s < S; s++)
        log_softmax(lr + s * V, zr + s * V, V, tau);
    double chi = rt_rl_chi2_tree(zt, lr, V, T, 1, tau, dz, work);
    double bf = brute(zt, lr, V, T, 1, tau, 0, 0, 0, 0) - 1;
    assert_double_equal(chi, bf, 1e-12);
    assert_true(chi > 0.01);
    double h = 1e-6;
    for (int k = 0; k < S * V; k++) {
        double s0 = zt[k];
        zt[k] = s0 + h;
        double up = rt_rl_chi2_tree(zt, lr, V, T, 1, tau, tmp, work);
        zt[k] = s0 - h;
        double dn = rt_rl_chi2_tree(zt, lr, V, T, 1, tau, tmp, work);
        zt[k] = s0;
        double fd = (up - dn) / (2 * h);
        assert_double_equal(dz[k], fd, 1e-7 * (1 + fabs(fd)));
    }
    /* identical distributions: chi^2 = 0 and a zero gradient */
    chi = rt_rl_chi2_tree(zr, lr, V, T, 1, tau, dz, work);
    assert_double_equal(chi, 0.0, 1e-12);
    for (int k = 0; k < S * V; k++)
        assert_double_equal(dz[k], 0.0, 1e-12);
}

/* ---- KL estimators ------------------------------------------------------------------ */

static void test_kl_estimators(void **st)
{
    (void)st;
    /* one state: pi_theta = (0.9, 0.1), pi_ref = (0.5, 0.5) */
    double p[2] = {0.9, 0.1}, q[2] = {0.5, 0.5};
    double kl = 0.9 * log(0.9 / 0.5) + 0.1 * log(0.1 / 0.5);
    /* E[k2] = 1/2 sum p (log q/p)^2 = 0.2843...: biased LOW by 0.0838 here */
    double ek2 = 0.5 * (0.9 * pow(log(0.5 / 0.9), 2) + 0.1 * pow(log(0.5 / 0.1), 2));
    assert_true(ek2 < kl - 0.08);
    rt_rng r = rt_rng_make(42);
    enum { M = 200000 };
    double s[4] = {0}, s2[4] = {0};
    for (int i = 0; i < M; i++) {
        int a = rt_rng_uniform_d(&r) < p[0] ? 0 : 1;
        for (int e = RT_RL_K1; e <= RT_RL_K3; e++) {
            double k = rt_rl_kl_est((rt_rl_estimator)e, log(p[a]), log(q[a]));
            s[e] += k, s2[e] += k * k;
        }
    }
    double mean[4], se[4];
    for (int e = 1; e <= 3; e++) {
        mean[e] = s[e] / M;
        se[e] = sqrt((s2[e] / M - mean[e] * mean[e]) / M);
    }
    assert_true(fabs(mean[RT_RL_K1] - kl) < 4 * se[RT_RL_K1]);
    assert_true(fabs(mean[RT_RL_K3] - kl) < 4 * se[RT_RL_K3]);
    assert_true(fabs(mean[RT_RL_K2] - ek2) < 4 * se[RT_RL_K2]);
    assert_true(mean[RT_RL_K2] < kl - 0.07);  /* the bias is visible beyond the noise */
    assert_true(se[RT_RL_K2] < se[RT_RL_K1]); /* lower variance than k1 */
    /* k3 >= 0 always; k1 can be negative */
    assert_true(rt_rl_kl_est(RT_RL_K3, log(0.1), log(0.5)) >= 0);
    assert_true(rt_rl_kl_est(RT_RL_K1, log(0.1), log(0.5)) < 0);
    /* values: lp = log 0.25, lp_ref = log 0.5: log r = ln 2 */
    double l2 = log(2.0);
    assert_double_equal(rt_rl_kl_est(RT_RL_K1, log(0.25), log(0.5)), -l2, 1e-15);
    assert_double_equal(rt_rl_kl_est(RT_RL_K2, log(0.25), log(0.5)), 0.5 * l2 * l2, 1e-15);
    assert_double_equal(rt_rl_kl_est(RT_RL_K3, log(0.25), log(0.5)), 1 - l2, 1e-15);
}

/* ---- configuration -------------------------------------------------------------------- */

static void test_config(void **st)
{
    (void)st;
    rt_rl_config c;
    rt_rl_config_init(&c);
    rt_rl_config r;
    assert_int_equal(rt_rl_config_check(&c, &r, NULL), 0);
    assert_int_equal(r.kl_estimator, RT_RL_K3);
    assert_int_equal(r.kl_in, RT_RL_IN_LOSS);
    assert_int_equal(r.epochs, 1);
    c.algo = rt_rl_recipe_find("ppo");
    assert_int_equal(rt_rl_config_check(&c, &r, NULL), 0);
    assert_int_equal(r.kl_estimator, RT_RL_K1);
    assert_int_equal(r.kl_in, RT_RL_IN_REWARD);
    assert_int_equal(r.epochs, 4);
    /* ppo is GAE with TRL's PPOConfig defaults; the value head's keys and their ranges */
    assert_int_equal(rt_rl_config_adv(&r), RT_RL_ADV_GAE);
    assert_true(r.gae_gamma == 1.0 && r.gae_lambda == 0.95 && r.vf_coef == 0.1);
    assert_true(r.value_clip == 0.2 && r.clip_low == 0.2 && r.clip_high == 0.2);
    rt_rl_config v = c;
    v.vf_coef = -0.1;
    expect_bad(v, "vf_coef", "vf_coef must be a number >= 0");
    v = c, v.gae_lambda = 1.5;
    expect_bad(v, "gae_lambda", "gae_lambda must be in [0, 1]");
    v = c, v.gae_gamma = -1;
    expect_bad(v, "gamma", "gamma (GAE's discount) must be in [0, 1]");
    v = c, v.value_clip = 0;
    expect_bad(v, "value_clip", "value_clip must be > 0");
    v = c, v.advantage = 1 + RT_RL_ADV_TEACHER_LOGRATIO;
    expect_bad(v, "advantage",
               "advantage must be baseline, loo, group_norm, group_center, rtg or gae");
    v = c, v.algo = rt_rl_recipe_find("grpo"), v.advantage = 1 + RT_RL_ADV_GAE, v.group = 1;
    assert_int_equal(rt_rl_config_check(&v, &r, NULL), 0); /* gae compares no samples */
    assert_int_equal(rt_rl_config_adv(&r), RT_RL_ADV_GAE);

    /* iterations (mu, cfg.epochs): any ratio recipe takes mu > 1; the recipes without a
     * ratio refuse it, saying why */
    for (int i = 0; i < rt_rl_recipe_count(); i++) {
        rt_rl_config_init(&c);
        c.algo = rt_rl_recipe_at(i);
        c.epochs = 3;
        if (c.algo->ratio == RT_RL_RATIO_TOKEN) {
            assert_int_equal(rt_rl_config_check(&c, &r, NULL), 0);
            assert_int_equal(r.epochs, 3);
        }
    }
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("rloo");
    c.epochs = 3;
    expect_bad(
        c, "iterations",
        "iterations = 3 with algo = rloo: its loss has no importance ratio, so a second "
        "update on the same samples would be off-policy with nothing to correct it; use "
        "algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, nft or r2vpo");
    c.algo = rt_rl_recipe_find("reinforce");
    c.epochs = 2;
    expect_bad(c, "iterations",
               "iterations = 2 with algo = reinforce: its loss has no importance ratio, so a "
               "second update on the same samples would be off-policy with nothing to correct "
               "it; use algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, bapo, nft "
               "or r2vpo");
    rt_rl_config_init(&c);
    rt_rl_config_init(&c);
    c.group = 1;
    expect_bad(c, "group",
               "group = 1 with algo = grpo: advantages compare the samples of a prompt, use "
               "group >= 2");
    c.algo = rt_rl_recipe_find("rloo");
    expect_bad(c, "group",
               "group = 1 with algo = rloo: advantages compare the samples of a prompt, use "
               "group >= 2");
    c.algo = rt_rl_recipe_find("reinforce");
    assert_int_equal(rt_rl_config_check(&c, NULL, NULL), 0);
    rt_rl_config_init(&c);
    c.clip = 1.5;
    expect_bad(c, "clip", "clip must be in (0, 1)");
    rt_rl_config_init(&c);
    c.clip_low = 1;
    expect_bad(c, "clip_low", "clip_low must be in (0, 1) (0 = auto)");
    rt_rl_config_init(&c);
    c.clip_high = -0.1;
    expect_bad(c, "clip_high", "clip_high must be > 0 (0 = auto)");
    rt_rl_config_init(&c);
    c.algo = NULL;
    expect_bad(c, "algo",
               "unknown algo (expected reinforce, rloo, grpo, drgrpo, ppo, bnpo, gspo, cispo, "
               "dapo, opmd, asymre, bapo, nft or r2vpo)");
    rt_rl_config_init(&c);
    c.regularizer = RT_RL_REG_CHI2;
    c.kl = 0.1;
    expect_bad(
        c, "kl",
        "kl = 0.1 has no effect with regularizer = chi2; give its coefficient as chi2 = 0.1");
    rt_rl_config_init(&c);
    c.chi2 = 0.5;
    expect_bad(c, "chi2", "chi2 = 0.5 needs regularizer = chi2");
    rt_rl_config_init(&c);
    c.lr = 0;
    expect_bad(c, "lr", "lr must be > 0");
    rt_rl_config_init(&c);
    c.temperature = NAN;
    expect_bad(c, "temperature", "temperature must be > 0");
    rt_rl_config_init(&c);
    c.baseline_momentum = 1;
    expect_bad(c, "baseline", "baseline momentum must be in [0, 1)");

    /* names */
    const rt_rl_recipe *a;
    assert_int_equal(rt_rl_algo_parse("drgrpo", &a), 0);
    assert_ptr_equal(a, rt_rl_recipe_find("drgrpo"));
    assert_int_equal(rt_rl_algo_parse("grpoo", &a), RT_EINVAL);
    assert_string_equal(rt_rl_algo_name(rt_rl_recipe_find("ppo")), "ppo");
    rt_rl_estimator e;
    assert_int_equal(rt_rl_estimator_parse("k2", &e), 0);
    assert_int_equal(e, RT_RL_K2);
    assert_int_equal(rt_rl_estimator_parse("auto", &e), RT_EINVAL);

    /* chi2 on answers too long to enumerate: a message naming the limit */
    rt_rl_config_init(&c);
    c.regularizer = RT_RL_REG_CHI2;
    c.chi2 = 0.1;
    rt_policy_config pc = {32, 8, 16, 32, 1, RT_NN_ACT_RELU};
    rt_policy *pm;
    assert_int_equal(rt_policy_create(&pm, &pc, NULL), 0);
    rt_rl *o = NULL;
    rt_diag d;
    assert_int_equal(rt_rl_create(&o, &c, &pm->model, &pm->model, 7, 4, 1, &d), RT_EINVAL);
    assert_null(o);
    assert_string_equal(d.key, "regularizer");
    assert_string_equal(d.msg,
                        "regularizer = chi2 enumerates every answer exactly: answers of up to 4 "
                        "tokens over 32 tokens need 30784 prefix states per prompt (limit 4096); "
                        "use a task with shorter answers");
    assert_int_equal(rt_rl_create(&o, &c, &pm->model, &pm->model, 5, 3, 1, &d), 0);
    rt_rl_free(o);
    rt_policy_free(pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reinforce_baseline),
        cmocka_unit_test(test_group_advantages),
        cmocka_unit_test(test_parts_as_keys),
        cmocka_unit_test(test_token_advantages),
        cmocka_unit_test(test_gae),
        cmocka_unit_test(test_gae_is_rtg),
        cmocka_unit_test(test_value_loss),
        cmocka_unit_test(test_loss_values),
        cmocka_unit_test(test_ppo_clip),
        cmocka_unit_test(test_gradcheck_losses),
        cmocka_unit_test(test_recipe_table),
        cmocka_unit_test(test_bnpo),
        cmocka_unit_test(test_offpolicy_recipes),
        cmocka_unit_test(test_bapo),
        cmocka_unit_test(test_nft),
        cmocka_unit_test(test_r2vpo),
        cmocka_unit_test(test_chi2_tree),
        cmocka_unit_test(test_kl_estimators),
        cmocka_unit_test(test_kl_expected_gradients),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
