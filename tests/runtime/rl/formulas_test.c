/* formulas_test.c: the exact formulas of rt_rl (methods.md §2, §4) on hand-made numbers:
 * advantages of every algorithm (REINFORCE baseline updates, RLOO, GRPO with std, Dr.
 * GRPO, PPO reward-to-go), loss values on tiny fixed batches, clip_frac counts, masking
 * after EOS (NaN in masked slots never leaks), central finite-difference gradient checks
 * in double of the GRPO / PPO losses (clipped and unclipped regions) and of the chi^2
 * tree, chi^2 against brute-force enumeration, the KL estimators' means against the
 * exact KL (k1, k3 unbiased; k2 biased low on a known case), configuration messages. */
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

static rt_rl_config resolved(rt_rl_algo algo)
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
    rt_rl_config c = resolved(RT_RL_REINFORCE);
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
    rt_rl_config c = resolved(RT_RL_RLOO);
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    double rloo[8] = {0, -4.0 / 3, 4.0 / 3, 0, -1, -1, -1, 3};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], rloo[i], 1e-15);
    c = resolved(RT_RL_GRPO);
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    /* group 1: mean 1, population std sqrt(0.5); group 2: mean 0.75, std sqrt(27/16) */
    double s1 = sqrt(0.5) + 1e-6, s2 = sqrt(27.0 / 16) + 1e-6;
    double grpo[8] = {0, -1 / s1, 1 / s1, 0, -0.75 / s2, -0.75 / s2, -0.75 / s2, 2.25 / s2};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], grpo[i], 1e-13);
    c = resolved(RT_RL_DRGRPO);
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), 0);
    double dr[8] = {0, -1, 1, 0, -0.75, -0.75, -0.75, 2.25};
    for (int i = 0; i < 8; i++)
        assert_double_equal(A[i], dr[i], 1e-15);
    /* equal rewards: zero advantage, no division by zero */
    double same[4] = {2, 2, 2, 2};
    c = resolved(RT_RL_GRPO);
    assert_int_equal(rt_rl_advantages(&c, same, 1, 4, &b, &set, A), 0);
    for (int i = 0; i < 4; i++)
        assert_true(A[i] == 0.0);
    c = resolved(RT_RL_PPO);
    assert_int_equal(rt_rl_advantages(&c, R, 2, 4, &b, &set, A), RT_EINVAL);
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
    rt_rl_config c = resolved(RT_RL_REINFORCE);
    /* -(1/2) [1 * (-1.5) - 2 * (-1.0)] */
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, &nclip), -0.25, 1e-15);
    assert_int_equal(nclip, 0);
    double e_pg[6] = {-0.5, -0.5, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e_pg[i], 1e-15);
    c = resolved(RT_RL_RLOO);
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, NULL, NULL), -0.25, 1e-15);

    /* GRPO with beta = 0.1, k3 in the loss; rho = 1; k3 = 1 - ln 2 at slot (0, 0) */
    c = resolved(RT_RL_GRPO);
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

    c = resolved(RT_RL_DRGRPO);
    c.kl = 0.1;
    /* -(1/(2*3)) [ (1 - 0.1 k3) + 1 - 6 ] */
    assert_double_equal(rt_rl_loss(&c, 2, 3, LEN, LP, LP, lpref, A, dlp, NULL), (4 + 0.1 * k3) / 6,
                        1e-15);
    assert_double_equal(dlp[3], 2.0 / 6, 1e-15);

    /* kl_in = reward: no KL term in the loss */
    c = resolved(RT_RL_GRPO);
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
    rt_rl_config c = resolved(RT_RL_PPO);
    long nclip = 0;
    double L = rt_rl_loss(&c, 2, 3, len, lp, old, lp, A, dlp, &nclip);
    assert_double_equal(L, (-1.2 - 0.5 + 0.8 + 1.5 + 0) / 5, 1e-14);
    assert_int_equal(nclip, 2);
    double e[6] = {0, -0.5 / 5, 0, 0, 1.5 / 5, 0};
    for (int i = 0; i < 6; i++)
        assert_double_equal(dlp[i], e[i], 1e-14);
    /* clip = 0.6: nothing is clipped any more */
    c.clip = 0.6;
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
        rt_rl_config c = resolved(RT_RL_GRPO);
        c.kl = 0.2;
        c.kl_estimator = (rt_rl_estimator)est;
        fd_check(&c, n, T, len, lp, old, ref, A); /* GRPO with ratios != 1 (a later epoch) */
        c = resolved(RT_RL_PPO);
        c.kl = 0.2;
        c.kl_in = RT_RL_IN_LOSS;
        c.kl_estimator = (rt_rl_estimator)est;
        fd_check(&c, n, T, len, lp, old, ref, A);
        c.kl = 0.0;
        fd_check(&c, n, T, len, lp, old, ref, A);
    }
    /* both regions occur: some tokens clipped, some not */
    rt_rl_config c = resolved(RT_RL_PPO);
    long nclip = 0;
    rt_rl_loss(&c, n, T, len, lp, old, ref, A, NULL, &nclip);
    assert_true(nclip > 0 && nclip < 9);
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

static void expect_bad(rt_rl_config c, const char *key, const char *msg)
{
    rt_diag d;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, key);
    assert_string_equal(d.msg, msg);
}

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
    c.algo = RT_RL_PPO;
    assert_int_equal(rt_rl_config_check(&c, &r, NULL), 0);
    assert_int_equal(r.kl_estimator, RT_RL_K1);
    assert_int_equal(r.kl_in, RT_RL_IN_REWARD);
    assert_int_equal(r.epochs, 4);

    rt_rl_config_init(&c);
    c.epochs = 3;
    expect_bad(c, "epochs",
               "epochs = 3 needs algo = ppo (the other algorithms make one update per batch, "
               "so their ratio stays 1)");
    rt_rl_config_init(&c);
    c.group = 1;
    expect_bad(c, "group",
               "group = 1 with algo = grpo: advantages compare the samples of a prompt, use "
               "group >= 2");
    c.algo = RT_RL_RLOO;
    expect_bad(c, "group",
               "group = 1 with algo = rloo: advantages compare the samples of a prompt, use "
               "group >= 2");
    c.algo = RT_RL_REINFORCE;
    assert_int_equal(rt_rl_config_check(&c, NULL, NULL), 0);
    rt_rl_config_init(&c);
    c.clip = 1.5;
    expect_bad(c, "clip", "clip must be in (0, 1)");
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
    rt_rl_algo a;
    assert_int_equal(rt_rl_algo_parse("drgrpo", &a), 0);
    assert_int_equal(a, RT_RL_DRGRPO);
    assert_int_equal(rt_rl_algo_parse("grpoo", &a), RT_EINVAL);
    assert_string_equal(rt_rl_algo_name(RT_RL_PPO), "ppo");
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
        cmocka_unit_test(test_token_advantages),
        cmocka_unit_test(test_loss_values),
        cmocka_unit_test(test_ppo_clip),
        cmocka_unit_test(test_gradcheck_losses),
        cmocka_unit_test(test_chi2_tree),
        cmocka_unit_test(test_kl_estimators),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
