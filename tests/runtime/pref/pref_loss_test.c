/* pref_loss_test.c: the preference losses of rt_pref_loss.h.
 *   - the name table (names, order, lookups, flags, the default type);
 *   - a hand-computed batch for every loss type and for Bradley–Terry (values derived in
 *     the comments, from sigma(log 3) = 3/4, sigma(log 7) = 7/8, sigma(0) = 1/2);
 *   - weights: a pair of weight 2 is the pair listed twice, weight 0 masks a pair;
 *   - central finite-difference gradients of every loss (tolerance from an error bound);
 *   - stability at |h| = 800 and sigma / softplus at extreme arguments;
 *   - closed-form optima on a one-token tabular softmax policy over V actions: gradient
 *     descent on the expected loss over all ordered pairs, labelled with Bradley–Terry
 *     probabilities sigma(r_a - r_b), reaches pi_ref e^{r/beta} / Z (dpo), the same under
 *     labels flipped at rate eps (robust; plain dpo on those labels is measurably off),
 *     pi_ref e^{P(a > U)/beta} / Z (ipo) and, for V = 2, sigma(h) = the smoothed label
 *     probability (cDPO);
 *   - determinism (the same bits as a plain loop in pair order, with or without
 *     gradients), a committed hash of every output's bits on fixed inputs (the same with
 *     gcc and clang, -O0 to -O3 -march=native, with and without FMA, and on aarch64 under
 *     qemu when it was recorded), and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "rt_pref_loss.h"

#define EPS DBL_EPSILON
#define GOLDEN 0xed2e26622958e19du

/* |a - b| <= tol, printing both on failure (this cmocka has no double assertions) */
#define assert_near(a, b, tol) near_(a, b, tol, __FILE__, __LINE__)
static void near_(double a, double b, double tol, const char *f, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g != %.17g (tol %g)\n", a, b, tol);
        _fail(f, line);
    }
}

static rt_pref_dpo_config cfg(const char *type, double beta, double eps)
{
    const rt_pref_loss_type *t = rt_pref_loss_find(type);
    assert_non_null(t);
    return (rt_pref_dpo_config){.type = t, .beta = beta, .label_smoothing = eps};
}

static void test_table(void **st)
{
    (void)st;
    static const char *const want[] = {"dpo", "ipo", "hinge", "robust"};
    assert_int_equal(rt_pref_loss_count(), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(rt_pref_loss_names[i], want[i]);
        const rt_pref_loss_type *t = rt_pref_loss_at(i);
        assert_non_null(t);
        assert_string_equal(t->name, want[i]);
        assert_ptr_equal(rt_pref_loss_find(want[i]), t);
        assert_true(t->help && strlen(t->help) > 10);
        assert_int_equal(t->per_token, i == 1); /* TRL averages per token for ipo only */
    }
    assert_null(rt_pref_loss_names[4]);
    assert_null(rt_pref_loss_at(-1));
    assert_null(rt_pref_loss_at(4));
    assert_null(rt_pref_loss_find("sigmoid")); /* TRL's name of dpo is not a `loss` value */
    assert_null(rt_pref_loss_find(NULL));
    assert_string_equal(rt_pref_loss_find("dpo")->trl, "sigmoid");
    /* type NULL is dpo */
    rt_pref_dpo_config a = {.type = NULL, .beta = 0.3}, b = cfg("dpo", 0.3, 0);
    double ga, gb;
    assert_true(rt_pref_dpo_term(&a, 0.7, &ga) == rt_pref_dpo_term(&b, 0.7, &gb));
    assert_true(ga == gb);
    assert_int_equal(rt_pref_dpo_check(&a, NULL), 0);
}

/* The hand batch, beta = 1/2: pair i has z_i = (lp_c - lr_c) - (lp_r - lr_r) with
 *   pair 0: (-1) - (-1 - log3) = log3,   (-2) - (-2 + log3) = -log3   -> z = 2 log3,  h = log3
 *   pair 1: (-3) - (-3 + 2 log3) = -2log3, (-1) - (-1) = 0            -> z = -2 log3, h = -log3
 *   pair 2: 0, 0                                                      -> z = 0,       h = 0
 *   pair 3: (-2) - (-2 - log7) = log7,   (-1) - (-1 + log7) = -log7   -> z = 2 log7,  h = log7
 * so sigma(h) = 3/4, 1/4, 1/2, 7/8.  The inputs carry the rounding of log 3 and log 7
 * (a few ulps of numbers <= 4), which moves every value below by < 1e-14 (each loss is
 * Lipschitz in z with constant <= 3 here): tolerance 1e-14. */
#define L3 (log(3.0))
#define L7 (log(7.0))
static void hand_inputs(double *lp_c, double *lp_r, double *lr_c, double *lr_r)
{
    const double a[4] = {-1, -3, -0.5, -2}, ra[4] = {-1 - L3, -3 + 2 * L3, -0.5, -2 - L7};
    const double b[4] = {-2, -1, -4, -1}, rb[4] = {-2 + L3, -1, -4, -1 + L7};
    memcpy(lp_c, a, sizeof a);
    memcpy(lr_c, ra, sizeof ra);
    memcpy(lp_r, b, sizeof b);
    memcpy(lr_r, rb, sizeof rb);
}

static void check_hand(const char *type, double eps, const double *loss_i, const double *dz)
{
    double lp_c[4], lp_r[4], lr_c[4], lr_r[4], gc[4], gr[4];
    hand_inputs(lp_c, lp_r, lr_c, lr_r);
    rt_pref_dpo_config c = cfg(type, 0.5, eps);
    rt_pref_loss_stats s;
    assert_int_equal(rt_pref_dpo_loss(&c, 4, lp_c, lp_r, lr_c, lr_r, NULL, gc, gr, &s, NULL), 0);
    double mean = (loss_i[0] + loss_i[1] + loss_i[2] + loss_i[3]) / 4;
    assert_near(s.loss, mean, 1e-14);
    for (int i = 0; i < 4; i++) {
        assert_near(gc[i], dz[i] / 4, 1e-14); /* dL/dlp_c = l'(z) / n */
        assert_near(gr[i], -dz[i] / 4, 1e-14);
        double g;
        assert_near(rt_pref_dpo_term(&c,
                                     2 * (i == 0   ? L3
                                          : i == 1 ? -L3
                                          : i == 2 ? 0
                                                   : L7),
                                     &g),
                    loss_i[i], 1e-14);
        assert_near(g, dz[i], 1e-14);
    }
    /* metrics do not depend on the type: accuracy (1 + 0 + 1/2 + 1) / 4, one tie,
     * margin (log3 - log3 + 0 + log7) / 4, chosen beta(log3 - 2log3 + 0 + log7) / 4,
     * rejected beta(-log3 + 0 + 0 - log7) / 4 */
    assert_near(s.accuracy, 0.625, 0);
    assert_int_equal(s.ties, 1);
    assert_near(s.margin, L7 / 4, 1e-14);
    assert_near(s.chosen, (L7 - L3) / 8, 1e-14);
    assert_near(s.rejected, -(L3 + L7) / 8, 1e-14);
    assert_near(s.weight, 4, 0);
}

static void test_hand_batch(void **st)
{
    (void)st;
    /* dpo: -log sigma(h) = log(4/3), log 4, log 2, log(8/7); l' = beta (sigma(h) - 1) */
    const double dpo[4] = {log(4.0 / 3), log(4.0), log(2.0), log(8.0 / 7)};
    const double dpo_g[4] = {-1.0 / 8, -3.0 / 8, -1.0 / 4, -1.0 / 16};
    check_hand("dpo", 0, dpo, dpo_g);
    /* ipo, target 1/(2 beta) = 1: (z - 1)^2, l' = 2 (z - 1) */
    const double ipo[4] = {pow(2 * L3 - 1, 2), pow(2 * L3 + 1, 2), 1, pow(2 * L7 - 1, 2)};
    const double ipo_g[4] = {2 * (2 * L3 - 1), -2 * (2 * L3 + 1), -2, 2 * (2 * L7 - 1)};
    check_hand("ipo", 0, ipo, ipo_g);
    /* hinge: max(0, 1 - h) = 0 (log3 > 1), 1 + log3, 1, 0; l' = -beta where h < 1 */
    const double hin[4] = {0, 1 + L3, 1, 0}, hin_g[4] = {0, -0.5, -0.5, 0};
    check_hand("hinge", 0, hin, hin_g);
    /* cDPO eps = 1/4: (3/4)(-log sigma(h)) + (1/4)(-log sigma(-h)), sigma(-h) = 1/4, 3/4,
     * 1/2, 1/8; l' = beta (sigma(h) - 3/4) */
    const double cd[4] = {0.75 * log(4.0 / 3) + 0.25 * log(4.0),
                          0.75 * log(4.0) + 0.25 * log(4.0 / 3), log(2.0),
                          0.75 * log(8.0 / 7) + 0.25 * log(8.0)};
    const double cd_g[4] = {0, -1.0 / 4, -1.0 / 8, 1.0 / 16};
    check_hand("dpo", 0.25, cd, cd_g);
    /* robust eps = 1/4: ((3/4)(-log sigma(h)) - (1/4)(-log sigma(-h))) / (1/2);
     * l' = beta (sigma(h) - 3/2) */
    const double ro[4] = {1.5 * log(4.0 / 3) - 0.5 * log(4.0), 1.5 * log(4.0) - 0.5 * log(4.0 / 3),
                          log(2.0), 1.5 * log(8.0 / 7) - 0.5 * log(8.0)};
    const double ro_g[4] = {-3.0 / 8, -5.0 / 8, -1.0 / 2, -5.0 / 16};
    check_hand("robust", 0.25, ro, ro_g);
}

/* Bradley–Terry by hand: x = s_c - s_r - m
 *   pair 0: s = (log3, 0),            m = 0      -> d = log3,  x = log3, l = log(4/3)
 *   pair 1: s = (1/2, 1/2 + log3),    m = 0      -> d = -log3, x = -log3, l = log 4
 *   pair 2: s = (2, 2),               m = -log3  -> d = 0 (a tie), x = log3, l = log(4/3)
 *   pair 3: s = (log21 - 1, -1),      m = log3   -> d = log21, x = log7, l = log(8/7)
 * dl/ds_c = -sigma(-x) = -1/4, -3/4, -1/4, -1/8 (dl/ds_r the opposite), plus, with the
 * centering term c (s_c + s_r)^2, 2 c (s_c + s_r) on both.  Tolerance 1e-14 as above. */
static void test_bt_hand(void **st)
{
    (void)st;
    const double sc[4] = {L3, 0.5, 2, log(21.0) - 1}, sr[4] = {0, 0.5 + L3, 2, -1};
    const double m[4] = {0, 0, -L3, L3}, q[4] = {0.25, 0.75, 0.25, 0.125};
    double gc[4], gr[4];
    rt_pref_loss_stats s;
    for (int k = 0; k < 2; k++) {
        double c = k ? 0.1 : 0, loss = log(512.0 / 63) / 4; /* (4/3) 4 (4/3) (8/7) = 512/63 */
        for (int i = 0; c && i < 4; i++)
            loss += c * pow(sc[i] + sr[i], 2) / 4;
        assert_int_equal(rt_pref_bt_loss(4, sc, sr, m, NULL, c, gc, gr, &s, NULL), 0);
        assert_near(s.loss, loss, 1e-14);
        for (int i = 0; i < 4; i++) {
            double cen = 2 * c * (sc[i] + sr[i]);
            assert_near(gc[i], (cen - q[i]) / 4, 1e-14);
            assert_near(gr[i], (cen + q[i]) / 4, 1e-14);
        }
        /* accuracy of d > 0 (not d - m): (1 + 0 + 1/2 + 1) / 4 */
        assert_near(s.accuracy, 0.625, 0);
        assert_int_equal(s.ties, 1);
        assert_near(s.margin, log(21.0) / 4, 1e-14);
        assert_near(s.chosen, (L3 + 0.5 + 2 + log(21.0) - 1) / 4, 1e-14);
        assert_near(s.rejected, (0 + 0.5 + L3 + 2 - 1) / 4, 1e-14);
    }
    /* without margins: pair 2 gives log 2, pair 3 gives -log sigma(log21) = log(22/21) */
    assert_int_equal(rt_pref_bt_loss(4, sc, sr, NULL, NULL, 0, gc, gr, &s, NULL), 0);
    assert_near(s.loss, (log(4.0 / 3) + log(4.0) + log(2.0) + log(22.0 / 21)) / 4, 1e-14);
    assert_near(gc[2], -0.5 / 4, 1e-15);
}

/* A pair of weight 2 is the same pair listed twice (each copy then gets half of its
 * gradient); a pair of weight 0 is absent and gets gradient 0.  The sums differ in
 * order and grouping only: tolerance 8 ulps of the values (each <= 3). */
static void test_weights(void **st)
{
    (void)st;
    double lp_c[4], lp_r[4], lr_c[4], lr_r[4];
    hand_inputs(lp_c, lp_r, lr_c, lr_r);
    /* weighted: pairs 0..3 with weights 2, 0, 1, 1; listed: pairs 0, 0, 2, 3 */
    const double w[4] = {2, 0, 1, 1};
    const int pick[4] = {0, 0, 2, 3};
    double c2[4], r2[4], c3[4], r3[4], gc[4], gr[4], g2c[4], g2r[4];
    for (int i = 0; i < 4; i++) {
        c2[i] = lp_c[pick[i]], r2[i] = lp_r[pick[i]];
        c3[i] = lr_c[pick[i]], r3[i] = lr_r[pick[i]];
    }
    for (int t = 0; t < rt_pref_loss_count(); t++) {
        const rt_pref_loss_type *ty = rt_pref_loss_at(t);
        rt_pref_dpo_config c = {.type = ty, .beta = 0.5, .label_smoothing = ty->eps_max / 4};
        rt_pref_loss_stats a, b;
        assert_int_equal(rt_pref_dpo_loss(&c, 4, lp_c, lp_r, lr_c, lr_r, w, gc, gr, &a, NULL), 0);
        assert_int_equal(rt_pref_dpo_loss(&c, 4, c2, r2, c3, r3, NULL, g2c, g2r, &b, NULL), 0);
        assert_near(a.loss, b.loss, 32 * EPS);
        assert_near(a.accuracy, b.accuracy, 0);
        assert_near(a.margin, b.margin, 32 * EPS);
        assert_near(a.chosen, b.chosen, 32 * EPS);
        assert_near(a.rejected, b.rejected, 32 * EPS);
        assert_int_equal(a.ties, b.ties);
        assert_near(gc[0], g2c[0] + g2c[1], 32 * EPS);
        assert_near(gr[0], g2r[0] + g2r[1], 32 * EPS);
        assert_true(gc[1] == 0 && gr[1] == 0);
        assert_near(gc[2], g2c[2], 32 * EPS);
        assert_near(gr[3], g2r[3], 32 * EPS);
    }
    const double sc[4] = {1, 1, 0.5, 3}, sr[4] = {0, 1, 0.5, -1}, m[4] = {0.5, 0, 1, 2};
    double s2c[4], s2r[4], m2[4];
    for (int i = 0; i < 4; i++)
        s2c[i] = sc[pick[i]], s2r[i] = sr[pick[i]], m2[i] = m[pick[i]];
    rt_pref_loss_stats a, b;
    assert_int_equal(rt_pref_bt_loss(4, sc, sr, m, w, 0.05, gc, gr, &a, NULL), 0);
    assert_int_equal(rt_pref_bt_loss(4, s2c, s2r, m2, NULL, 0.05, g2c, g2r, &b, NULL), 0);
    assert_near(a.loss, b.loss, 32 * EPS);
    assert_near(a.margin, b.margin, 32 * EPS);
    assert_near(gc[0], g2c[0] + g2c[1], 32 * EPS);
    assert_true(gc[1] == 0 && gr[1] == 0);
    assert_near(a.weight, 4, 0);
    assert_int_equal(a.ties, 1); /* pair 2 (d = 0); pair 1, masked, is not counted */
    /* the same for the DPO family: two ties, the second masked */
    const double zero[2] = {-1, -1}, w2[2] = {1, 0};
    rt_pref_dpo_config c = cfg("dpo", 1, 0);
    assert_int_equal(rt_pref_dpo_loss(&c, 2, zero, zero, zero, zero, w2, NULL, NULL, &a, NULL), 0);
    assert_int_equal(a.ties, 1);
    assert_near(a.accuracy, 0.5, 0);
    assert_near(a.loss, log(2.0), EPS);
}

/* deterministic inputs in [lo, hi) */
static uint64_t lcg = 0x9e3779b97f4a7c15u;
static double uni(double lo, double hi)
{
    lcg = lcg * 6364136223846793005u + 1442695040888963407u;
    return lo + (hi - lo) * (double)(lcg >> 11) * 0x1p-53;
}

enum { NFD = 6 };

/* L(x) with one input replaced (which: 0 lp_c, 1 lp_r; BT: s_c, s_r) */
static double eval(const rt_pref_dpo_config *c, const double *in, const double *w, const double *m,
                   double center)
{
    rt_pref_loss_stats s;
    const double *a = in, *b = in + NFD, *ra = in + 2 * NFD, *rb = in + 3 * NFD;
    int rc = c ? rt_pref_dpo_loss(c, NFD, a, b, ra, rb, w, NULL, NULL, &s, NULL)
               : rt_pref_bt_loss(NFD, a, b, m, w, center, NULL, NULL, &s, NULL);
    assert_int_equal(rc, 0);
    return s.loss;
}

/* Central differences with step dx = 1e-4 against the analytic gradient, for every input
 * of every pair.  Error bound: truncation dx^2/6 max|d^3L/dx^3| with |d^3L/dx^3| <=
 * beta^3 max|sigma''| <= 0.1 beta^3 (sigmoid-based losses; 0 for the quadratic ipo and
 * centering terms and for the hinge away from its kink), plus rounding of the two loss
 * evaluations, each a weighted mean of NFD terms of a few ulps: <= 16 NFD EPS (1 + |L|),
 * divided by dx.  We allow twice the sum. */
static void check_fd(const rt_pref_dpo_config *c, const double *in, const double *w,
                     const double *m, double center)
{
    double g[2 * NFD], x[4 * NFD], dx = 1e-4;
    rt_pref_loss_stats s;
    int rc = c ? rt_pref_dpo_loss(c, NFD, in, in + NFD, in + 2 * NFD, in + 3 * NFD, w, g, g + NFD,
                                  &s, NULL)
               : rt_pref_bt_loss(NFD, in, in + NFD, m, w, center, g, g + NFD, &s, NULL);
    assert_int_equal(rc, 0);
    double beta = c ? c->beta : 1;
    double tol =
        2 * (dx * dx / 6 * 0.1 * beta * beta * beta + 16 * NFD * EPS * (1 + fabs(s.loss)) / dx);
    for (int j = 0; j < 2 * NFD; j++) {
        memcpy(x, in, sizeof x);
        x[j] = in[j] + dx;
        double up = eval(c, x, w, m, center);
        x[j] = in[j] - dx;
        double dn = eval(c, x, w, m, center);
        assert_near(g[j], (up - dn) / (2 * dx), tol);
    }
}

static void test_finite_differences(void **st)
{
    (void)st;
    double in[4 * NFD], w[NFD], m[NFD];
    for (int i = 0; i < 4 * NFD; i++)
        in[i] = uni(-4, -0.1); /* log-probs */
    for (int i = 0; i < NFD; i++)
        w[i] = uni(0.2, 2), m[i] = uni(-1, 1);
    const struct {
        const char *type;
        double beta, eps;
    } cases[] = {{"dpo", 0.7, 0},   {"dpo", 1.3, 0.1},    {"ipo", 0.7, 0},
                 {"hinge", 0.7, 0}, {"robust", 0.7, 0.2}, {"robust", 2.0, 0.4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rt_pref_dpo_config c = cfg(cases[k].type, cases[k].beta, cases[k].eps);
        if (!strcmp(cases[k].type, "hinge")) /* the kink at h = 1 is beyond dx */
            for (int i = 0; i < NFD; i++) {
                double z = (in[i] - in[2 * NFD + i]) - (in[NFD + i] - in[3 * NFD + i]);
                assert_true(fabs(1 - c.beta * z) > 10 * c.beta * 1e-4);
            }
        check_fd(&c, in, w, NULL, 0);
        check_fd(&c, in, NULL, NULL, 0);
    }
    double sc[4 * NFD];
    for (int i = 0; i < 2 * NFD; i++)
        sc[i] = uni(-3, 3);
    check_fd(NULL, sc, w, m, 0);
    check_fd(NULL, sc, NULL, NULL, 0.05);
    check_fd(NULL, sc, w, m, 0.3);
}

/* |h| = 800: e^-800 underflows to 0, so -log sigma(800) = 0 and -log sigma(-800) = 800
 * exactly, gradients exactly 0 and -beta; no NaN, no inf. */
static void test_stability(void **st)
{
    (void)st;
    assert_true(rt_pref_sigmoid(800) == 1 && rt_pref_sigmoid(-800) == 0);
    assert_true(rt_pref_sigmoid(INFINITY) == 1 && rt_pref_sigmoid(-INFINITY) == 0);
    assert_true(rt_pref_sigmoid(0) == 0.5);
    assert_true(rt_pref_softplus(-800) == 0 && rt_pref_softplus(800) == 800);
    assert_true(rt_pref_softplus(1e300) == 1e300);
    assert_true(rt_pref_softplus(-INFINITY) == 0 && rt_pref_softplus(INFINITY) == INFINITY);
    assert_near(rt_pref_softplus(0), log(2.0), EPS);
    assert_near(rt_pref_softplus(-40), exp(-40.0), 4 * EPS * exp(-40.0)); /* tiny, not 0 */
    assert_near(rt_pref_sigmoid(-40), exp(-40.0), 4 * EPS * exp(-40.0));
    for (double x = -30; x <= 30; x += 0.37) { /* against libm, relative 8 ulps */
        assert_near(rt_pref_sigmoid(x), 1 / (1 + exp(-x)), 8 * EPS * (1 / (1 + exp(-x))));
        assert_near(rt_pref_softplus(x), log1p(exp(x)), 8 * EPS * log1p(exp(x)));
    }
    double lp_c[2] = {0, -1600}, lp_r[2] = {-1600, 0}, zero[2] = {0, 0}, gc[2], gr[2];
    rt_pref_dpo_config c = cfg("dpo", 0.5, 0);
    rt_pref_loss_stats s;
    assert_int_equal(rt_pref_dpo_loss(&c, 2, lp_c, lp_r, zero, zero, NULL, gc, gr, &s, NULL), 0);
    assert_true(s.loss == 400); /* (0 + 800) / 2 */
    assert_true(gc[0] == 0 && gc[1] == -0.25 && gr[1] == 0.25);
    c = cfg("robust", 0.5, 0.25); /* (1.5 * 0 - 0.5 * 800 + 1.5 * 800 - 0.5 * 0) / 2 */
    assert_int_equal(rt_pref_dpo_loss(&c, 2, lp_c, lp_r, zero, zero, NULL, gc, gr, &s, NULL), 0);
    assert_true(s.loss == 400 && isfinite(gc[0]) && isfinite(gc[1]));
    double sc[2] = {900, -900}, sr[2] = {-900, 900};
    assert_int_equal(rt_pref_bt_loss(2, sc, sr, NULL, NULL, 0, gc, gr, &s, NULL), 0);
    assert_true(s.loss == 900 && gc[0] == 0 && gc[1] == -0.5 && gr[1] == 0.5);
}

/* ---- closed-form optima on a one-token tabular policy -------------------------------- */

enum { VMAX = 6 };

static void softmax(const double *th, int V, double *lp)
{
    double mx = th[0], s = 0;
    for (int a = 1; a < V; a++)
        mx = th[a] > mx ? th[a] : mx;
    for (int a = 0; a < V; a++)
        s += exp(th[a] - mx);
    for (int a = 0; a < V; a++)
        lp[a] = th[a] - mx - log(s);
}

/* Gradient descent on the logits th of pi = softmax(th), from th = th_ref, on the loss of
 * the batch of every ordered pair (a chosen, b rejected), a != b, with weight P[a][b];
 * the loss functions supply dL/dlp, chained through d log pi(a)/d th_k = [a = k] - pi_k.
 * In th the loss is convex (z_ab = (th_a - th_b) - (th_ref,a - th_ref,b) is linear; the
 * log-normalizer cancels) with Hessian (1/W) sum_pairs l''(z) (e_a - e_b)(e_a - e_b)^T,
 * whose largest eigenvalue is <= lmax = l''max V / W (W = V(V - 1)/2, the weights of the
 * two orientations of a pair summing to 1); the step is 1 / lmax.  Returns the 2-norm of
 * the last gradient; lp = log pi at the end. */
static double descend(const rt_pref_dpo_config *c, int V, const double *th_ref, double P[][VMAX],
                      double l2max, int steps, double *lp)
{
    int n = V * (V - 1);
    double th[VMAX], lr[VMAX], pc[VMAX * VMAX], pr[VMAX * VMAX], rc[VMAX * VMAX], rr[VMAX * VMAX],
        w[VMAX * VMAX], gc[VMAX * VMAX], gr[VMAX * VMAX], g[VMAX], gn = 0;
    int A[VMAX * VMAX], B[VMAX * VMAX];
    memcpy(th, th_ref, V * sizeof *th);
    softmax(th_ref, V, lr);
    double eta = 1 / (l2max * V / (V * (V - 1) / 2.0));
    for (int it = 0; it <= steps; it++) {
        softmax(th, V, lp);
        int i = 0;
        for (int a = 0; a < V; a++)
            for (int b = 0; b < V; b++)
                if (a != b) {
                    A[i] = a, B[i] = b, w[i] = P[a][b];
                    pc[i] = lp[a], pr[i] = lp[b], rc[i] = lr[a], rr[i] = lr[b];
                    i++;
                }
        assert_int_equal(rt_pref_dpo_loss(c, n, pc, pr, rc, rr, w, gc, gr, NULL, NULL), 0);
        for (int k = 0; k < V; k++)
            g[k] = 0;
        for (i = 0; i < n; i++)
            for (int k = 0; k < V; k++) {
                double pk = exp(lp[k]);
                g[k] += gc[i] * ((A[i] == k) - pk) + gr[i] * ((B[i] == k) - pk);
            }
        gn = 0;
        for (int k = 0; k < V; k++)
            gn += g[k] * g[k];
        if (it < steps)
            for (int k = 0; k < V; k++)
                th[k] -= eta * g[k];
    }
    return sqrt(gn);
}

/* total variation between softmax(lp) and the normalized pi_ref e^{u}, u given */
static double tv_to(const double *lp, const double *th_ref, const double *u, int V)
{
    double t[VMAX] = {0}, lt[VMAX], tv = 0;
    for (int a = 0; a < V; a++)
        t[a] = th_ref[a] + u[a];
    softmax(t, V, lt);
    for (int a = 0; a < V; a++)
        tv += fabs(exp(lp[a]) - exp(lt[a]));
    return tv / 2;
}

static const double TH_REF[VMAX] = {0.3, -0.4, 1.1, 0.0, -1.2, 0.5};
static const double R[VMAX] = {1.0, -0.5, 0.2, 1.4, -1.0, 0.6};

/* Bound on TV from the final gradient g: the loss is mu-strongly convex (on logits modulo a
 * constant) along the path with mu >= l''min V / W, so the centered logits are within
 * |g| / mu of the optimum, each log pi within 2 |g| / mu, and TV <= e^{2|g|/mu} - 1 ~
 * 2 |g| / mu; plus the rounding of the two softmaxes (V terms of a few ulps): 1e-14. */
static double tv_bound(double g, double l2min, int V)
{
    double mu = l2min * V / (V * (V - 1) / 2.0);
    return expm1(2 * g / mu) + 1e-14;
}

static void test_dpo_optimum(void **st)
{
    (void)st;
    const int V = VMAX;
    double P[VMAX][VMAX], lp[VMAX], u[VMAX];
    for (int a = 0; a < V; a++)
        for (int b = 0; b < V; b++)
            P[a][b] = 1 / (1 + exp(-(R[a] - R[b]))); /* P(a > b), Bradley–Terry */
    const double betas[3] = {0.5, 1.0, 2.0};
    for (int k = 0; k < 3; k++) {
        double beta = betas[k];
        rt_pref_dpo_config c = cfg("dpo", beta, 0);
        /* l'' = beta^2 s(h), s = sigma(1 - sigma) <= 1/4; along the path |h| <= max|r_a - r_b|
         * = 2.4, so s >= sigma(2.4)(1 - sigma(2.4)) > 0.07: 600 steps of rate <= 1 - 4 * 0.07
         * reach the rounding floor */
        double g = descend(&c, V, TH_REF, P, beta * beta / 4, 600, lp);
        for (int a = 0; a < V; a++)
            u[a] = R[a] / beta;
        double tv = tv_to(lp, TH_REF, u, V);
        assert_true(g < 1e-13);
        assert_true(tv <= tv_bound(g, beta * beta * 0.07, V));
        assert_true(tv < 1e-12);
        /* and not the reference: the optimum moved */
        double none[VMAX] = {0};
        assert_true(tv_to(lp, TH_REF, none, V) > 0.1);
    }
}

static void test_robust_under_flips(void **st)
{
    (void)st;
    const int V = VMAX;
    const double beta = 1.0, eps = 0.2;
    double P[VMAX][VMAX], lp[VMAX], u[VMAX];
    for (int a = 0; a < V; a++) {
        u[a] = R[a] / beta;
        for (int b = 0; b < V; b++) { /* labels flipped at rate eps */
            double p = 1 / (1 + exp(-(R[a] - R[b])));
            P[a][b] = (1 - eps) * p + eps * (1 - p);
        }
    }
    /* robust's expected loss over the two orientations is the clean dpo loss, l'' as dpo */
    rt_pref_dpo_config c = cfg("robust", beta, eps);
    double g = descend(&c, V, TH_REF, P, beta * beta / 4, 600, lp);
    double tv = tv_to(lp, TH_REF, u, V);
    assert_true(g < 1e-13);
    assert_true(tv <= tv_bound(g, beta * beta * 0.07, V));
    assert_true(tv < 1e-12);
    /* plain dpo on the flipped labels fits sigma(h) = the noisy probability: too flat */
    c = cfg("dpo", beta, 0);
    descend(&c, V, TH_REF, P, beta * beta / 4, 600, lp);
    assert_true(tv_to(lp, TH_REF, u, V) > 0.05);
}

/* IPO: the stationarity condition sum_{b != k} [(g_k - g_b) - c (2 P[k][b] - 1)] = 0 with
 * g = th - th_ref, c = 1/(2 beta), gives g_k = (1/(beta V)) sum_b P[k][b] + const, i.e.
 * pi* = pi_ref e^{P(k > U)/beta} / Z, P(k > U) = (1/V) sum_b sigma(r_k - r_b) (the b = k
 * term, 1/2, is a constant).  l'' = 2, so the Hessian is (2/W) times the complete graph's
 * Laplacian, every eigenvalue 2V/W on logits modulo a constant: a step of half of 1/lmax
 * halves the error each step. */
static void test_ipo_optimum(void **st)
{
    (void)st;
    const int V = VMAX;
    double P[VMAX][VMAX], lp[VMAX], u[VMAX];
    for (int a = 0; a < V; a++)
        for (int b = 0; b < V; b++)
            P[a][b] = 1 / (1 + exp(-(R[a] - R[b])));
    const double betas[2] = {0.1, 0.5};
    for (int k = 0; k < 2; k++) {
        double beta = betas[k];
        rt_pref_dpo_config c = cfg("ipo", beta, 0);
        double g = descend(&c, V, TH_REF, P, 2 * 2, 200, lp);
        for (int a = 0; a < V; a++) {
            u[a] = 0;
            for (int b = 0; b < V; b++)
                u[a] += P[a][b];
            u[a] /= V * beta;
        }
        double tv = tv_to(lp, TH_REF, u, V);
        assert_true(g < 1e-12);
        assert_true(tv <= tv_bound(g, 2, V));
        assert_true(tv < 1e-12);
        /* not the dpo optimum */
        for (int a = 0; a < V; a++)
            u[a] = R[a] / beta;
        assert_true(tv_to(lp, TH_REF, u, V) > 0.05);
    }
}

/* cDPO, V = 2: the expected loss p l(h) + (1 - p) l(-h) has d/dh = sigma(h) - p~ with
 * p~ = (1 - eps) p + eps (1 - p), so the optimum has sigma(h*) = p~, h* = logit(p~):
 * log pi(0)/pi(1) = log pi_ref(0)/pi_ref(1) + h* / beta. */
static void test_cdpo_two_actions(void **st)
{
    (void)st;
    const double beta = 0.5, eps = 0.1, th_ref[2] = {0.2, -0.3};
    double P[VMAX][VMAX] = {{0}}, lp[VMAX];
    double p = 1 / (1 + exp(-(1.5 - 0.0)));
    P[0][1] = p, P[1][0] = 1 - p;
    rt_pref_dpo_config c = cfg("dpo", beta, eps);
    double g = descend(&c, 2, th_ref, P, beta * beta / 4, 400, lp);
    double pt = (1 - eps) * p + eps * (1 - p), h = log(pt / (1 - pt));
    assert_true(g < 1e-13);
    /* |g| / mu with mu >= beta^2 s(h*) V / W, s(h*) = pt (1 - pt) > 0.15 */
    assert_near(lp[0] - lp[1], th_ref[0] - th_ref[1] + h / beta,
                2 * g / (beta * beta * 0.15 * 2) + 1e-14);
    assert_true(fabs(lp[0] - lp[1] - (th_ref[0] - th_ref[1] + log(p / (1 - p)) / beta)) > 0.1);
}

/* The same bits as a plain loop over the pairs in order (the documented summation), with
 * and without gradients, on every call. */
static void test_determinism(void **st)
{
    (void)st;
    double in[4 * NFD], w[NFD], gc[NFD], gr[NFD], gc2[NFD], gr2[NFD];
    for (int i = 0; i < 4 * NFD; i++)
        in[i] = uni(-5, 0);
    for (int i = 0; i < NFD; i++)
        w[i] = uni(0, 3);
    for (int t = 0; t < rt_pref_loss_count(); t++) {
        const rt_pref_loss_type *ty = rt_pref_loss_at(t);
        rt_pref_dpo_config c = {.type = ty, .beta = 0.37, .label_smoothing = ty->eps_max / 3};
        rt_pref_loss_stats a, b, e;
        const double *pc = in, *pr = in + NFD, *rc = in + 2 * NFD, *rr = in + 3 * NFD;
        assert_int_equal(rt_pref_dpo_loss(&c, NFD, pc, pr, rc, rr, w, gc, gr, &a, NULL), 0);
        assert_int_equal(rt_pref_dpo_loss(&c, NFD, pc, pr, rc, rr, w, gc2, gr2, &b, NULL), 0);
        assert_int_equal(rt_pref_dpo_loss(&c, NFD, pc, pr, rc, rr, w, NULL, NULL, &e, NULL), 0);
        assert_memory_equal(&a, &b, sizeof a);
        assert_memory_equal(&a, &e, sizeof a);
        assert_memory_equal(gc, gc2, sizeof gc);
        assert_memory_equal(gr, gr2, sizeof gr);
        double W = 0, L = 0;
        for (int i = 0; i < NFD; i++)
            W += w[i];
        for (int i = 0; i < NFD; i++) {
            double z = (pc[i] - rc[i]) - (pr[i] - rr[i]);
            L += w[i] * rt_pref_dpo_term(&c, z, NULL);
        }
        assert_true(a.loss == L / W);
    }
}

/* The bits themselves: an FNV-1a hash of every output (losses, gradients, metrics) of
 * every loss type on fixed inputs.  The inputs are exact binary fractions and the code
 * uses only IEEE operations and rt_exp / rt_log1p, whose bits are the same on every
 * machine (rt_math.h), so the hash is too: a change of formula, order of summation or
 * contraction changes it.  (Recompute it only for a deliberate change of the formulas.) */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

static void test_golden_bits(void **st)
{
    (void)st;
    enum { N = 16 };
    double in[4 * N], w[N], m[N], gc[N], gr[N];
    for (int i = 0; i < 4 * N; i++)
        in[i] = -(double)((i * 37) % 64) / 8; /* -7.875 .. 0 in steps of 1/8 */
    for (int i = 0; i < N; i++)
        w[i] = (double)(1 + (i * 5) % 4) / 4, m[i] = (double)((i * 3) % 5 - 2) / 4;
    uint64_t h = 0xcbf29ce484222325u;
    rt_pref_loss_stats s;
    for (int t = 0; t < rt_pref_loss_count(); t++) {
        const rt_pref_loss_type *ty = rt_pref_loss_at(t);
        rt_pref_dpo_config c = {.type = ty, .beta = 0.375, .label_smoothing = ty->eps_max / 4};
        assert_int_equal(
            rt_pref_dpo_loss(&c, N, in, in + N, in + 2 * N, in + 3 * N, w, gc, gr, &s, NULL), 0);
        h = fnv(fnv(fnv(h, gc, sizeof gc), gr, sizeof gr), &s, sizeof s);
    }
    assert_int_equal(rt_pref_bt_loss(N, in, in + N, m, w, 0.125, gc, gr, &s, NULL), 0);
    h = fnv(fnv(fnv(h, gc, sizeof gc), gr, sizeof gr), &s, sizeof s);
    print_message("golden hash %016llx\n", (unsigned long long)h);
    assert_true(h == GOLDEN);
}

static void test_errors(void **st)
{
    (void)st;
    double x[3] = {-1, -2, -3}, y[3] = {-1, -1, -1}, g[3] = {7, 7, 7}, g2[3] = {7, 7, 7};
    rt_pref_dpo_config c = cfg("dpo", 0.1, 0);
    rt_pref_loss_stats s = {.loss = 42};
    rt_diag d;
#define EXPECT(call, code_, key_, msg_)                                                            \
    do {                                                                                           \
        rt_diag_clear(&d);                                                                         \
        assert_int_equal(call, code_);                                                             \
        assert_int_equal(d.code, code_);                                                           \
        assert_string_equal(d.key, key_);                                                          \
        assert_string_equal(d.msg, msg_);                                                          \
        assert_true(g[0] == 7 && g2[2] == 7 && s.loss == 42);                                      \
    } while (0)
    EXPECT(rt_pref_dpo_loss(&c, 0, x, y, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "",
           "no pairs (n = 0)");
    EXPECT(rt_pref_dpo_loss(&c, 3, x, NULL, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "",
           "no policy rejected log-prob");
    EXPECT(rt_pref_dpo_loss(NULL, 3, x, y, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "",
           "no DPO configuration");
    c.beta = 0;
    EXPECT(rt_pref_dpo_loss(&c, 3, x, y, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "beta",
           "beta = 0 must be a finite number > 0");
    c.beta = NAN;
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "beta", "beta = nan must be a finite number > 0");
    c.beta = INFINITY;
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "beta", "beta = inf must be a finite number > 0");
    c = cfg("ipo", 0.1, 0.1);
    EXPECT(rt_pref_dpo_loss(&c, 3, x, y, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "label_smoothing",
           "label_smoothing = 0.1 needs loss = dpo or robust (loss = ipo has none)");
    c = cfg("hinge", 0.1, -0.1);
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "label_smoothing",
           "label_smoothing = -0.1 needs loss = dpo or robust (loss = hinge has none)");
    c = cfg("robust", 0.1, 0.5);
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "label_smoothing",
           "label_smoothing = 0.5 must be in [0, 0.5) for loss = robust");
    c = cfg("dpo", 0.1, 0.6);
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "label_smoothing",
           "label_smoothing = 0.6 must be in [0, 0.5] for loss = dpo");
    c = cfg("dpo", 0.1, -0.01);
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "label_smoothing",
           "label_smoothing = -0.01 must be in [0, 0.5] for loss = dpo");
    c = cfg("dpo", 0.1, 0.5); /* the edge is allowed for cDPO */
    assert_int_equal(rt_pref_dpo_check(&c, NULL), 0);
    rt_pref_loss_type fake = *rt_pref_loss_find("dpo");
    c.type = &fake;
    EXPECT(rt_pref_dpo_check(&c, &d), RT_EINVAL, "loss", "not a row of the loss table");
    c = cfg("dpo", 0.1, 0);
    double bad[3] = {-1, -2, NAN};
    EXPECT(rt_pref_dpo_loss(&c, 3, x, y, y, bad, NULL, g, g2, &s, &d), RT_EINVAL, "",
           "pair 2: reference rejected log-prob = nan is not finite");
    bad[2] = -INFINITY;
    EXPECT(rt_pref_dpo_loss(&c, 3, bad, y, y, y, NULL, g, g2, &s, &d), RT_EINVAL, "",
           "pair 2: policy chosen log-prob = -inf is not finite");
    double w[3] = {1, -1, 1};
    EXPECT(rt_pref_dpo_loss(&c, 3, x, y, y, y, w, g, g2, &s, &d), RT_EINVAL, "",
           "pair 1: weight = -1 must be finite and >= 0");
    w[1] = NAN;
    EXPECT(rt_pref_bt_loss(3, x, y, NULL, w, 0, g, g2, &s, &d), RT_EINVAL, "",
           "pair 1: weight = nan must be finite and >= 0");
    w[0] = w[1] = w[2] = 0;
    EXPECT(rt_pref_dpo_loss(&c, 3, x, y, y, y, w, g, g2, &s, &d), RT_EINVAL, "",
           "the pairs' weights sum to 0 (need a finite sum > 0)");
    EXPECT(rt_pref_bt_loss(3, x, y, NULL, NULL, -1, g, g2, &s, &d), RT_EINVAL, "center",
           "center = -1 must be a finite number >= 0");
    EXPECT(rt_pref_bt_loss(-2, x, y, NULL, NULL, 0, g, g2, &s, &d), RT_EINVAL, "",
           "no pairs (n = -2)");
    EXPECT(rt_pref_bt_loss(3, NULL, y, NULL, NULL, 0, g, g2, &s, &d), RT_EINVAL, "",
           "no chosen score");
    EXPECT(rt_pref_bt_loss(3, x, y, bad, NULL, 0, g, g2, &s, &d), RT_EINVAL, "",
           "pair 2: margin = -inf is not finite");
    /* d may be NULL */
    assert_int_equal(rt_pref_bt_loss(0, x, y, NULL, NULL, 0, g, g2, &s, NULL), RT_EINVAL);
#undef EXPECT
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_hand_batch),
        cmocka_unit_test(test_bt_hand),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_stability),
        cmocka_unit_test(test_dpo_optimum),
        cmocka_unit_test(test_robust_under_flips),
        cmocka_unit_test(test_ipo_optimum),
        cmocka_unit_test(test_cdpo_two_actions),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_golden_bits),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
