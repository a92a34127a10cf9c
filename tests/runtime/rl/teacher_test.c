/* teacher_test.c: the recipe "opd" (the sampled G-OPD estimator as a row of the RL
 * engine, rt_rl.h): its parts; the TEACHER_LOGRATIO advantages against a hand computation
 * in long double (lambda in {0.5, 1, 1.25, 3}, gamma in {0, 0.5, 1}, masked tokens 0; at
 * lambda = 1 the reference cancels bit for bit); the row's loss against -(1/sum |y_i|)
 * sum A lp and its gradient against central finite differences in double; the engine
 * with a teacher: configuration errors, routing every sequence to one of two teachers is
 * bit-identical to that teacher alone, and a mixed route gives the per-sequence teacher's
 * log-probs (adv_mean, logp_gap, kl_teacher, loss against the same quantities by hand
 * in double from the models' logits).  Tolerances are rounding-error bounds, derived
 * where they are used: DBL_EPSILON / 2 for double arithmetic, FLT_EPSILON / 2 for the
 * float advantages and FLT_EPSILON for the float log-softmax rows the engine reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "fx_model.h"
#include "rt_rl.h"

#define assert_double_equal(a, b, tol) near_(a, b, tol, __FILE__, __LINE__)
static void near_(double a, double b, double tol, const char *f, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g != %.17g (tol %g)\n", a, b, tol);
        _fail(f, line);
    }
}

static rt_rl_config opd_cfg(double lambda, double gamma)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("opd");
    c.group = 1;
    c.lambda = lambda, c.gamma = gamma;
    rt_rl_config out;
    assert_int_equal(rt_rl_config_check(&c, &out, NULL), 0);
    return out;
}

static void opd_row_parts(void **st)
{
    (void)st;
    const rt_rl_recipe *r = rt_rl_recipe_find("opd");
    assert_non_null(r);
    assert_int_equal(r->adv, RT_RL_ADV_TEACHER_LOGRATIO);
    assert_int_equal(r->ratio, RT_RL_RATIO_NONE);
    assert_int_equal(r->agg, RT_RL_AGG_TOKEN_MEAN);
    assert_int_equal(r->min_group, 1);
    assert_int_equal(r->epochs, 1);
    assert_true(rt_rl_recipe_index(r) >= rt_rl_recipe_count()); /* a row, not an %%rl algo */
    for (int i = 0; rt_rl_recipe_names[i]; i++)
        assert_string_not_equal(rt_rl_recipe_names[i], "opd");
    rt_rl_config c;
    rt_rl_config_init(&c);
    assert_double_equal(c.lambda, 1.0, 0.0);
    assert_double_equal(c.gamma, 0.0, 0.0);
    assert_double_equal(c.teacher_temperature, 1.0, 0.0);
    rt_diag d = {0};
    c.algo = r, c.group = 1, c.gamma = 1.5;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "gamma");
    c.gamma = 0.0, c.lambda = NAN;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "lambda");
    c.lambda = 1.0, c.kl = 0.1, c.kl_in = RT_RL_IN_REWARD;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "kl_in");
}

enum { NS = 3, TS = 5 };

static void random_logprobs(double *x, int n, rt_rng *r)
{
    for (int i = 0; i < n; i++)
        x[i] = -6.0 * rt_rng_uniform_d(r);
}

static void teacher_advantages_by_hand(void **st)
{
    (void)st;
    rt_rng r = rt_rng_make(5);
    double lT[NS * TS], lS[NS * TS], lR[NS * TS], lR2[NS * TS], A[NS * TS], A2[NS * TS];
    int len[NS] = {5, 3, 1};
    random_logprobs(lT, NS * TS, &r);
    random_logprobs(lS, NS * TS, &r);
    random_logprobs(lR, NS * TS, &r);
    random_logprobs(lR2, NS * TS, &r);
    double lambdas[4] = {0.5, 1.0, 1.25, 3.0}, gammas[3] = {0.0, 0.5, 1.0};
    /* A is computed in float (rt_rl.h); these lambdas and gammas are floats exactly */
    const double u = FLT_EPSILON / 2, ud = DBL_EPSILON / 2;
    for (int a = 0; a < 4; a++)
        for (int g = 0; g < 3; g++) {
            double lam = lambdas[a], gam = gammas[g];
            for (int k = 0; k < NS * TS; k++)
                A[k] = NAN; /* every slot is written, masked ones 0 */
            double mean = rt_rl_teacher_advantages(lam, gam, lT, lS, lR, len, NS, TS, A);
            long double sum = 0;
            double tol_sum = 0;
            for (int i = 0; i < NS; i++)
                for (int t = 0; t < TS; t++) {
                    int k = i * TS + t;
                    if (t >= len[i]) {
                        assert_true(A[k] == 0.0);
                        continue;
                    }
                    /* A_t = sum_{t' >= t} gamma^(t'-t) (lam (lT - lR) - (lS - lR)).  Bound:
                     * r_t rounds its 3 inputs to float and takes 4 float roundings, each
                     * of a term at most m = |lT|+|lS|+(1+|lam-1|)(|lT|+|lR|); the
                     * recurrence 2 more per step on |r| + |gamma A| <= m + |A_t'|; the
                     * hand value's double differences are within 2 ud m */
                    long double e = 0, gk = 1;
                    double tol = 0;
                    for (int s = t; s < len[i]; s++, gk *= gam) {
                        int j = i * TS + s;
                        e += gk * ((long double)lam * (lT[j] - lR[j]) - (lS[j] - lR[j]));
                        double m = fabs(lT[j]) + fabs(lS[j]) +
                                   (1 + fabs(lam - 1)) * (fabs(lT[j]) + fabs(lR[j]));
                        tol += (double)gk * (7 * u * m + 2 * u * (fabs(A[j]) + m) + 2 * ud * m);
                    }
                    assert_double_equal(A[k], (double)e, tol);
                    sum += e, tol_sum += tol;
                }
            long nv = 5 + 3 + 1;
            /* the mean: the A's bounds, then nv double additions and a division */
            assert_double_equal(mean, (double)(sum / nv),
                                tol_sum / nv + (nv + 1) * ud * (double)(fabsl(sum) / nv + 6));
            /* lambda = 1: the reference cancels exactly, whatever it is */
            if (lam == 1.0) {
                rt_rl_teacher_advantages(lam, gam, lT, lS, lR2, len, NS, TS, A2);
                assert_memory_equal(A, A2, sizeof A);
            }
        }
}

static void opd_loss_and_gradient(void **st)
{
    (void)st;
    rt_rng r = rt_rng_make(7);
    double lp[NS * TS], A[NS * TS], dlp[NS * TS], zero[NS * TS] = {0};
    int len[NS] = {4, 5, 2};
    random_logprobs(lp, NS * TS, &r);
    for (int k = 0; k < NS * TS; k++)
        A[k] = 2.0 * rt_rng_uniform_d(&r) - 1.0;
    rt_rl_config c = opd_cfg(1.25, 0.0);
    double loss = rt_rl_loss(&c, NS, TS, len, lp, lp, zero, A, dlp, NULL);
    long double e = 0, mag = 0;
    long nv = 4 + 5 + 2;
    for (int i = 0; i < NS; i++)
        for (int t = 0; t < len[i]; t++)
            e -= (long double)A[i * TS + t] * lp[i * TS + t] / nv,
                mag += fabsl((long double)A[i * TS + t] * lp[i * TS + t]);
    /* nv products, sums of up to TS and NS terms and the weight: (TS + NS + 3) u of the
     * magnitude */
    const double u = DBL_EPSILON / 2, tol = (TS + NS + 3) * u * (double)(mag / nv);
    assert_double_equal(loss, (double)e, tol);
    /* central finite differences: the loss is linear in lp, so the difference quotient
     * is exact up to the rounding of the two losses (2 tol / (2 h)) and of lp +- h */
    const double h = 1e-3;
    for (int k = 0; k < NS * TS; k++) {
        double keep = lp[k];
        lp[k] = keep + h;
        double lpl = rt_rl_loss(&c, NS, TS, len, lp, lp, zero, A, NULL, NULL);
        lp[k] = keep - h;
        double lmi = rt_rl_loss(&c, NS, TS, len, lp, lp, zero, A, NULL, NULL);
        lp[k] = keep;
        double fd = (lpl - lmi) / (2 * h);
        double ftol = (2 * tol + 4 * u * fabs(keep) * fabs(A[k]) / nv) / (2 * h);
        assert_double_equal(dlp[k], fd, ftol);
        if (k % TS >= len[k / TS])
            assert_true(dlp[k] == 0.0 && lpl == lmi);
        else
            assert_double_equal(dlp[k], -A[k] / nv, 2 * u * fabs(A[k] / nv));
    }
}

/* ---- the engine with teachers -------------------------------------------------------- */

enum { V = 12, K = 4, D = 6, B = 6, P = 3, T = 4, N = B * T, EOS = 1 };

static rt_policy *make(int H, uint64_t seed)
{
    return fx_mlp(V, K, D, H, 1, RT_NN_ACT_RELU, seed);
}

static void prompts_for(int *pr, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < B * P; i++)
        pr[i] = 2 + rt_rng_below(&r, V - 2);
}

static rt_rl_config engine_cfg(void)
{
    rt_rl_config c = opd_cfg(1.5, 0.5);
    c.batch = B, c.lr = 1e-2f, c.grad_clip = 0.0f;
    return c;
}

static void engine_errors(void **st)
{
    (void)st;
    rt_policy *s = make(16, 1), *t = make(24, 2),
              *o = fx_mlp(V + 1, K, D, 16, 1, RT_NN_ACT_RELU, 3);
    rt_rl *e = NULL;
    rt_diag d = {0};
    rt_rl_config c = engine_cfg();
    assert_int_equal(rt_rl_create(&e, &c, &s->model, &s->model, P, T, EOS, &d), RT_EINVAL);
    assert_string_equal(d.msg, "rl: algo = opd distils from a teacher");
    assert_null(e);
    rt_rl_config g;
    rt_rl_config_init(&g);
    assert_int_equal(rt_rl_create_teacher(&e, &g, &s->model, &t->model, &s->model, P, T, EOS, &d),
                     RT_EINVAL);
    assert_string_equal(d.msg, "rl: algo = grpo reads no teacher");
    assert_int_equal(rt_rl_create_teacher(&e, &c, &s->model, &o->model, &s->model, P, T, EOS, &d),
                     RT_EINVAL);
    assert_string_equal(d.msg, "rl: the policy and its teacher need the same vocabulary");
    /* rt_rl_check: the same checks, nothing allocated (a sweep checks every point) */
    memset(&d, 0, sizeof d);
    assert_int_equal(rt_rl_check(&c, &s->model, &o->model, &s->model, P, T, EOS, NULL, NULL, &d),
                     RT_EINVAL);
    assert_string_equal(d.msg, "rl: the policy and its teacher need the same vocabulary");
    assert_string_equal(d.key, "teacher");
    rt_rl_config big = c, got;
    long states = -1;
    big.batch = 1 << 22; /* 2^22 * group * T tokens: over the limit, refused before allocating */
    assert_int_equal(rt_rl_check(&big, &s->model, &t->model, &s->model, P, T, EOS, NULL, NULL, &d),
                     RT_EINVAL);
    assert_string_equal(d.key, "batch");
    assert_int_equal(rt_rl_check(&c, &s->model, &t->model, &s->model, P, T, EOS, &got, &states, &d),
                     0);
    assert_int_equal(got.batch, c.batch);
    assert_int_equal(states, 0);
    assert_int_equal(rt_rl_create_teacher(&e, &c, &s->model, &t->model, &s->model, P, T, EOS, &d),
                     0);
    int pr[B * P], bad[B] = {0, 0, 2, 0, 0, 0};
    prompts_for(pr, 4);
    rt_rng rng = rt_rng_make(5);
    const rt_model *ts[2] = {&t->model, &t->model};
    assert_int_equal(rt_rl_sample_routed(e, &s->model, &s->model, ts, 2, bad, pr, &rng), RT_EINVAL);
    assert_int_equal(rt_rl_sample(e, &s->model, &s->model, pr, &rng), RT_EINVAL); /* no teacher */
    rt_rl_free(e);
    rt_policy_free(s), rt_policy_free(t), rt_policy_free(o);
}

/* one step of the engine on s with teachers ts routed by route (NULL: one teacher) */
static rt_rl *engine_step(rt_policy *s, const rt_policy *ref, const rt_model *const *ts, int nt,
                          const int *route, rt_rl_metrics *m)
{
    rt_rl_config c = engine_cfg();
    rt_rl *e;
    assert_int_equal(rt_rl_create_teacher(&e, &c, &s->model, ts[0], &ref->model, P, T, EOS, NULL),
                     0);
    int pr[B * P];
    prompts_for(pr, 8);
    rt_rng rng = rt_rng_make(9);
    assert_int_equal(rt_rl_sample_routed(e, &s->model, &ref->model, ts, nt, route, pr, &rng), 0);
    assert_int_equal(rt_rl_update(e, &s->model, &ref->model, NULL, m, NULL), 0);
    return e;
}

/* log_softmax rows in double of m's logits of the N sequences prompt ++ tokens (N, T, V) */
static void rows_double(const rt_model *m, const int *seqs, double *ls, double *zmax)
{
    rt_model_ws *ws = fx_ws(m, N);
    rt_model_batch b = {seqs, B, P + T, P, NULL, NULL};
    assert_int_equal(rt_model_forward(m, ws, &b), 0);
    const float *z = rt_model_ws_logits(ws);
    for (int n = 0; n < N; n++) {
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++)
            mx = fmax(mx, z[n * V + v]);
        for (int v = 0; v < V; v++)
            s += exp(z[n * V + v] - mx);
        for (int v = 0; v < V; v++) {
            ls[n * V + v] = z[n * V + v] - mx - log(s);
            *zmax = fmax(*zmax, fabs(ls[n * V + v]));
        }
    }
    rt_model_ws_free(ws);
}

static void engine_routing(void **st)
{
    (void)st;
    rt_policy *s = make(16, 20), *t0 = make(24, 21), *t1 = make(24, 22), *ref = make(16, 23);
    rt_policy *s1, *s2, *s3;
    assert_int_equal(rt_policy_copy(&s1, s, NULL), 0);
    assert_int_equal(rt_policy_copy(&s2, s, NULL), 0);
    assert_int_equal(rt_policy_copy(&s3, s, NULL), 0);
    const rt_model *both[2] = {&t0->model, &t1->model}, *only1[1] = {&t1->model};
    /* every sequence to teacher 1 == teacher 1 alone, bit for bit */
    int all1[B] = {1, 1, 1, 1, 1, 1}, mixed[B] = {0, 1, 1, 0, 1, 0};
    rt_rl_metrics ma, mb, mm;
    rt_rl *ea = engine_step(s1, ref, both, 2, all1, &ma);
    rt_rl *eb = engine_step(s2, ref, only1, 1, NULL, &mb);
    assert_memory_equal(s1->params.g, s2->params.g, s1->params.n * sizeof(float));
    assert_memory_equal(s1->params.w, s2->params.w, s1->params.n * sizeof(float));
    assert_true(ma.loss == mb.loss && ma.adv_mean == mb.adv_mean && ma.kl_teacher == mb.kl_teacher);
    rt_rl_free(ea), rt_rl_free(eb);

    /* a mixed route: each sequence's own teacher, by hand in double */
    rt_rl *e = engine_step(s3, ref, both, 2, mixed, &mm);
    const int *tok = rt_rl_tokens(e), *len = rt_rl_lengths(e);
    int pr[B * P], seqs[B * (P + T)];
    prompts_for(pr, 8);
    for (int i = 0; i < B; i++) {
        memcpy(seqs + i * (P + T), pr + i * P, sizeof(int) * P);
        memcpy(seqs + i * (P + T) + P, tok + i * T, sizeof(int) * T);
    }
    static double lsS[N * V], lsT0[N * V], lsT1[N * V], lsR[N * V];
    double zmax = 0;
    rows_double(&s->model, seqs, lsS, &zmax);
    rows_double(&t0->model, seqs, lsT0, &zmax);
    rows_double(&t1->model, seqs, lsT1, &zmax);
    rows_double(&ref->model, seqs, lsR, &zmax);
    double lS[N], lT[N], lR[N], A[N];
    long nv = 0;
    double gap = 0, kt = 0;
    for (int n = 0; n < N; n++) {
        const double *t = (mixed[n / T] ? lsT1 : lsT0) + n * V;
        int y = tok[n];
        lS[n] = lsS[n * V + y], lT[n] = t[y], lR[n] = lsR[n * V + y];
        if (n % T >= len[n / T]) continue;
        nv++;
        gap += lT[n] - lS[n];
        for (int v = 0; v < V; v++)
            kt += exp(lsS[n * V + v]) * (lsS[n * V + v] - t[v]);
    }
    double adv = rt_rl_teacher_advantages(1.5, 0.5, lT, lS, lR, len, B, T, A), loss = 0;
    for (int n = 0; n < N; n++)
        loss -= n % T < len[n / T] ? A[n] * lS[n] / nv : 0.0;
    assert_int_equal(mm.tokens, nv);
    /* The engine reads float log-softmax rows: each entry within e = 4 FLT_EPSILON (1 +
     * zmax) of the double one (a rounding of the result, the float max / sum / log, each
     * relative to at most 1 + zmax).  A_t is then within (2 + 2 |lambda - 1|) e per
     * discounted term (sum gamma^k <= 2), gap within 2 e, a KL row within 2 V e (p and
     * the difference of two rows, |lS - lT| <= 2 zmax absorbed in the factor 4), loss
     * within e |A| + |lS| dA. */
    double e1 = 4 * FLT_EPSILON * (1 + zmax), eA = 2 * (2 + 2 * 0.5) * e1;
    /* and both sides' A round in float (7 + 2 roundings of at most m <= 6 zmax per term,
     * 2 for sum gamma^k, 2 sides) */
    eA += 2 * 2 * 9 * (FLT_EPSILON / 2) * 6 * (1 + zmax);
    assert_double_equal(mm.adv_mean, adv, eA);
    assert_double_equal(mm.logp_gap, gap / nv, 2 * e1);
    assert_double_equal(mm.kl_teacher, kt / nv, 2 * V * e1 * (1 + 2 * zmax));
    assert_double_equal(mm.loss, loss, e1 * (zmax + 4 * (1 + 2 * zmax)) + eA * zmax);
    /* and it differs from the all-teacher-1 step (the route matters) */
    assert_true(mm.logp_gap != ma.logp_gap);
    rt_rl_free(e);
    rt_policy_free(s), rt_policy_free(s1), rt_policy_free(s2), rt_policy_free(s3);
    rt_policy_free(t0), rt_policy_free(t1), rt_policy_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opd_row_parts),         cmocka_unit_test(teacher_advantages_by_hand),
        cmocka_unit_test(opd_loss_and_gradient), cmocka_unit_test(engine_errors),
        cmocka_unit_test(engine_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
