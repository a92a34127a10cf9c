/* tilt_test.c: the analytic KL-regularized teacher (rt_tilt.h) against a brute-force
 * reference built here: every answer of add digits=1 (<eos>; a<eos>; ab<eos>; abc, a, b
 * non-EOS: 30784 answers per prompt) enumerated by nested loops (not the prefix tree),
 * scored by the base through the model interface, its reward from the task's features,
 * and Z(x) = sum_y pi_ref(y) e^{R/beta} in double.  Checks, for EVERY answer of a few
 * prompts: (a) the product of the tilt's token conditionals is pi_ref(y) e^{R/beta} / Z;
 * (b) the sequence-level OPD reward sum_t lambda (log pi_T - log pi_ref) is lambda R /
 * beta - lambda log Z, and the tilt at beta / lambda is exactly the normalized ExOPD
 * target pi_ref (pi_T / pi_ref)^lambda (gamma = 1); the answers' probabilities sum to 1
 * and log Z agrees with rt_tilt_log_z.  Then the bits do not depend on the threads, and
 * the errors: answers too long to enumerate (naming the limit and the task's length),
 * beta <= 0, a vocabulary mismatch; the tilt cannot be trained or copied.
 *
 * Tolerance: each compared log-probability is a sum over <= 3 positions of float values
 * (the tilt's stored log-conditionals, rounded from double, then re-normalized by the
 * scoring log_softmax; the base's scored log-probs), each with a relative rounding error
 * of a few float ulps of its magnitude plus the log-normalizer's (|lz| <= |max logit| +
 * log V); we allow 16 FLT_EPSILON times the sum of those magnitudes, per model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_rl.h"
#include "rt_task.h"
#include "fx_train.h"
#include "rt_tilt.h"

enum { V = 32, P = 5, T = 3, MAXN = 31000 };

typedef struct fx {
    rt_task *task;
    rt_policy *base;
    rt_reward_program *rw;
    double params[4];
    int n;        /* answers */
    int *seqs;    /* (n, P + T) */
    int *len;     /* (n) */
    int *lo, *hi; /* (n) positions [P, P + len) */
    float *lp;    /* (n * T) per-row scores */
} fx;

static fx F;

static rt_task *make_task(const char *spec)
{
    rt_task_config c;
    rt_diag e;
    assert_int_equal(rt_task_config_parse(&c, spec, &e), 0);
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &e), 0);
    return t;
}

static rt_reward_program *make_reward(const rt_task *task, const char *src)
{
    return fx_reward(task, NULL, 0, src);
}

static int setup(void **st)
{
    (void)st;
    F.task = make_task("add digits=1");
    assert_int_equal(rt_task_prompt_len(F.task), P);
    assert_int_equal(rt_task_answer_max(F.task), T);
    F.base = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_RELU, 11);
    for (size_t i = 0; i < F.base->params.n; i++) /* a peaked, far from uniform base */
        F.base->params.w[i] *= 2.0f;
    rt_policy_touch(F.base);
    /* R varies with correctness, length and format, so the tilt moves mass */
    F.rw = make_reward(F.task, "2 * correct + 0.5 * partial - 0.3 * length + format");
    F.seqs = rt_calloc((size_t)MAXN * (P + T), sizeof(int));
    F.len = rt_calloc(MAXN, sizeof(int));
    F.lo = rt_calloc(MAXN, sizeof(int));
    F.hi = rt_calloc(MAXN, sizeof(int));
    F.lp = rt_calloc((size_t)MAXN * T, sizeof(float));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rt_policy_free(F.base);
    rt_reward_free(F.rw);
    rt_task_free(F.task);
    rt_free(F.seqs), rt_free(F.len), rt_free(F.lo), rt_free(F.hi), rt_free(F.lp);
    return 0;
}

/* Every answer of prompt x, by nested loops: y1 = EOS; y1 y2 = EOS; y1 y2 y3 (any). */
static void enumerate(const rt_task_sample *x)
{
    int n = 0;
    for (int a = 0; a < V; a++)
        for (int b = 0; b < (a == RT_TOK_EOS ? 1 : V); b++)
            for (int c = 0; c < (a == RT_TOK_EOS || b == RT_TOK_EOS ? 1 : V); c++) {
                int *s = F.seqs + (size_t)n * (P + T);
                memcpy(s, x->prompt, sizeof(int) * P);
                int y[3] = {a, b, c}, L = a == RT_TOK_EOS ? 1 : b == RT_TOK_EOS ? 2 : 3;
                for (int k = 0; k < T; k++)
                    s[P + k] = k < L ? y[k] : RT_TOK_PAD;
                F.len[n] = L, F.lo[n] = P, F.hi[n] = P + L;
                n++;
            }
    assert_int_equal(n, 1 + 31 + 31 * 31 + 31 * 31 * 31);
    F.n = n;
}

/* Sequence log-probs of model m over the enumerated answers: seq (n), and the sum of
 * the magnitudes of the rows' log-probs and log-normalizers (mag, for the tolerance). */
static void seq_logprobs(const rt_model *m, double *seq, double *mag)
{
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, m, F.n * T, NULL), 0);
    rt_model_batch b = {F.seqs, F.n, P + T, 0, F.lo, F.hi};
    assert_int_equal(rt_model_score(m, ws, &b, 1.0f, F.lp), 0);
    const float *z = rt_model_ws_logits(ws);
    long r = 0;
    for (int i = 0; i < F.n; i++) {
        seq[i] = 0.0, mag[i] = 0.0;
        for (int k = 0; k < F.len[i]; k++, r++) {
            float mx = -INFINITY;
            for (int v = 0; v < V; v++)
                mx = z[r * V + v] > mx ? z[r * V + v] : mx;
            seq[i] += F.lp[r];
            mag[i] += fabs(F.lp[r]) + fabs(mx) + log(V) + 1.0;
        }
    }
    rt_model_ws_free(ws);
}

static double reward_of(const rt_task_sample *x, int i)
{
    double feat[RT_TASK_MAX_FEATURES];
    rt_task_features(F.task, x, F.seqs + (size_t)i * (P + T) + P, F.len[i], feat);
    return rt_reward_eval(F.rw, feat, F.params);
}

static rt_policy *make_tilt(double beta)
{
    rt_tilt_spec sp = {&F.base->model, F.task, F.rw, F.params, beta};
    rt_policy *t = NULL;
    rt_diag d;
    int rc = rt_tilt_create(&t, &sp, &d);
    if (rc) fail_msg("%s", d.msg);
    assert_true(rt_tilt_is(&t->model));
    assert_null(rt_policy_of(&t->model));
    return t;
}

/* log sum_i exp(v[i]) in double */
static double logsumexp(const double *v, int n)
{
    double mx = -INFINITY, s = 0.0;
    for (int i = 0; i < n; i++)
        mx = v[i] > mx ? v[i] : mx;
    for (int i = 0; i < n; i++)
        s += exp(v[i] - mx);
    return mx + log(s);
}

static const uint64_t prompt_ids[] = {0, 37, 70}; /* train-split indices */

/* (a) pi_T(y) = pi_ref(y) e^{R/beta} / Z for every answer; sum_y pi_T(y) = 1. */
static void test_sequence_probabilities_exact(void **st)
{
    (void)st;
    const double beta = 0.4;
    rt_policy *tilt = make_tilt(beta);
    double *lt = rt_calloc(MAXN, sizeof(double)), *lr = rt_calloc(MAXN, sizeof(double));
    double *mt = rt_calloc(MAXN, sizeof(double)), *mr = rt_calloc(MAXN, sizeof(double));
    double *u = rt_calloc(MAXN, sizeof(double));
    for (size_t q = 0; q < sizeof prompt_ids / sizeof prompt_ids[0]; q++) {
        rt_task_sample x;
        assert_int_equal(rt_task_sample_at(F.task, RT_TASK_TRAIN, prompt_ids[q], &x), 0);
        enumerate(&x);
        seq_logprobs(&tilt->model, lt, mt);
        seq_logprobs(&F.base->model, lr, mr);
        for (int i = 0; i < F.n; i++)
            u[i] = lr[i] + reward_of(&x, i) / beta;
        double logz = logsumexp(u, F.n);
        double zt = rt_tilt_log_z(&tilt->model, x.prompt);
        assert_true(fabs(zt - logz) <= 16 * FLT_EPSILON * (fabs(logz) + 3 * (log(V) + 10)));
        double total = 0.0, worst = 0.0;
        for (int i = 0; i < F.n; i++) {
            double want = u[i] - logz, tol = 16 * FLT_EPSILON * (mt[i] + mr[i]);
            double err = fabs(lt[i] - want);
            if (err > tol)
                fail_msg("prompt %d answer %d: %.9g vs %.9g (tol %.3g)", (int)q, i, lt[i], want,
                         tol);
            worst = err / tol > worst ? err / tol : worst;
            total += exp(lt[i]);
        }
        assert_true(fabs(total - 1.0) <= 1e-4); /* float conditionals, 30784 terms */
        /* the tilt moved mass: some answer's probability changed by a factor > 2 */
        double moved = 0.0;
        for (int i = 0; i < F.n; i++)
            moved = fabs(lt[i] - lr[i]) > moved ? fabs(lt[i] - lr[i]) : moved;
        assert_true(moved > log(2.0));
    }
    rt_free(lt), rt_free(lr), rt_free(mt), rt_free(mr), rt_free(u);
    rt_policy_free(tilt);
}

/* (b) sum_t lambda (log pi_T - log pi_ref) = lambda R / beta - lambda log Z for every
 * answer, and the tilt at beta / lambda is the normalized ExOPD target. */
static void test_exopd_targets_tilt_beta_over_lambda(void **st)
{
    (void)st;
    const double beta = 0.8, lambdas[] = {1.0, 2.0, 4.0};
    rt_policy *tilt = make_tilt(beta);
    double *lt = rt_calloc(MAXN, sizeof(double)), *lr = rt_calloc(MAXN, sizeof(double));
    double *l2 = rt_calloc(MAXN, sizeof(double)), *mt = rt_calloc(MAXN, sizeof(double));
    double *mr = rt_calloc(MAXN, sizeof(double)), *m2 = rt_calloc(MAXN, sizeof(double));
    double *u = rt_calloc(MAXN, sizeof(double));
    for (size_t li = 0; li < 3; li++) {
        double lam = lambdas[li];
        rt_policy *sharp = make_tilt(beta / lam);
        for (size_t q = 0; q < 2; q++) {
            rt_task_sample x;
            assert_int_equal(rt_task_sample_at(F.task, RT_TASK_TRAIN, prompt_ids[q], &x), 0);
            enumerate(&x);
            seq_logprobs(&tilt->model, lt, mt);
            seq_logprobs(&F.base->model, lr, mr);
            seq_logprobs(&sharp->model, l2, m2);
            double logz = rt_tilt_log_z(&tilt->model, x.prompt);
            for (int i = 0; i < F.n; i++) {
                double opd = lam * (lt[i] - lr[i]); /* sum_t of the per-token rewards */
                double want = lam * reward_of(&x, i) / beta - lam * logz;
                double tol = lam * 16 * FLT_EPSILON * (mt[i] + mr[i] + fabs(logz));
                if (fabs(opd - want) > tol)
                    fail_msg("lambda %g answer %d: %.9g vs %.9g", lam, i, opd, want);
                u[i] = lr[i] + opd; /* log of pi_ref (pi_T / pi_ref)^lambda, unnormalized */
            }
            double lz = logsumexp(u, F.n);
            for (int i = 0; i < F.n; i++) {
                double tol = (lam + 1) * 16 * FLT_EPSILON * (mt[i] + mr[i] + m2[i] + 1.0);
                if (fabs(l2[i] - (u[i] - lz)) > tol)
                    fail_msg("lambda %g answer %d: tilt(beta/lambda) %.9g vs target %.9g", lam, i,
                             l2[i], u[i] - lz);
            }
        }
        rt_policy_free(sharp);
    }
    rt_free(lt), rt_free(lr), rt_free(l2), rt_free(mt), rt_free(mr), rt_free(m2), rt_free(u);
    rt_policy_free(tilt);
}

/* Generation and scoring give the same bits at 1 and 3 threads; prompt rows and rows
 * after an EOS are the base's. */
static void test_threads_and_uncovered_rows(void **st)
{
    (void)st;
    rt_policy *tilt = make_tilt(0.5);
    enum { B = 24 };
    int prompts[B * P];
    rt_task_sample xs[B];
    rt_rng sr = rt_rng_make(5);
    rt_task_sample_batch(F.task, &sr, 0, RT_TASK_TRAIN, B, xs, prompts);
    int tok[2][B * T];
    float lp[2][B * T];
    for (int k = 0; k < 2; k++) {
        rt_model_ws *ws = NULL;
        assert_int_equal(rt_model_ws_create(&ws, &tilt->model, B * T, NULL), 0);
        rt_model_ws_set_threads(ws, k ? 3 : 1);
        rt_rng g = rt_rng_make(9);
        assert_int_equal(
            rt_model_generate(&tilt->model, ws, prompts, B, P, T, 1.0f, &g, 0, tok[k], lp[k]), 0);
        rt_model_ws_free(ws);
    }
    assert_memory_equal(tok[0], tok[1], sizeof tok[0]);
    assert_memory_equal(lp[0], lp[1], sizeof lp[0]);
    /* a sequence whose first answer token is EOS: its later rows are the base's */
    int seq[P + T];
    memcpy(seq, prompts, sizeof(int) * P);
    seq[P] = RT_TOK_EOS, seq[P + 1] = 7, seq[P + 2] = 9;
    rt_model_ws *wt = NULL, *wb = NULL;
    assert_int_equal(rt_model_ws_create(&wt, &tilt->model, P + T, NULL), 0);
    assert_int_equal(rt_model_ws_create(&wb, &F.base->model, P + T, NULL), 0);
    rt_model_batch b = {seq, 1, P + T, 0, NULL, NULL};
    assert_int_equal(rt_model_score(&tilt->model, wt, &b, 1.0f, NULL), 0);
    assert_int_equal(rt_model_score(&F.base->model, wb, &b, 1.0f, NULL), 0);
    const float *zt = rt_model_ws_logits(wt), *zb = rt_model_ws_logits(wb);
    for (int pos = 0; pos < P + T; pos++) {
        int same = !memcmp(zt + pos * V, zb + pos * V, sizeof(float) * V);
        assert_int_equal(same, pos != P); /* only the first answer position is tilted */
    }
    /* a prompt the task does not have */
    seq[0] = RT_TOK_BAR;
    assert_int_equal(rt_model_score(&tilt->model, wt, &b, 1.0f, NULL), RT_EINVAL);
    rt_model_ws_free(wt), rt_model_ws_free(wb);
    /* no weights: backward, copy */
    rt_policy *cp = NULL;
    assert_int_equal(rt_policy_copy(&cp, tilt, NULL), RT_EINVAL);
    assert_null(cp);
    rt_policy_free(tilt);
}

static void test_errors(void **st)
{
    (void)st;
    rt_task *t2 = make_task("add digits=2");
    rt_diag d;
    assert_int_equal(rt_tilt_check_task(t2, &d), RT_EINVAL);
    assert_string_equal(d.msg, "a tilt enumerates every answer exactly: answers of at most 3 "
                               "tokens (EOS included), but this task has answers of up to 4 "
                               "tokens");
    rt_policy *out = (rt_policy *)&d; /* must be reset */
    rt_tilt_spec sp = {&F.base->model, t2, F.rw, F.params, 1.0};
    assert_int_equal(rt_tilt_create(&out, &sp, &d), RT_EINVAL);
    assert_null(out);
    rt_task_free(t2);
    rt_task *s2 = make_task("sort length=2"); /* T = 3: fine */
    assert_int_equal(rt_tilt_check_task(s2, &d), 0);
    rt_task_free(s2);
    sp.task = F.task;
    sp.beta = 0.0;
    assert_int_equal(rt_tilt_create(&out, &sp, &d), RT_EINVAL);
    assert_string_equal(d.msg, "beta must be a finite number > 0 (got 0)");
    sp.beta = -1.0;
    assert_int_equal(rt_tilt_create(&out, &sp, &d), RT_EINVAL);
    rt_policy *small = fx_mlp(16, 4, 4, 8, 1, RT_NN_ACT_RELU, 3);
    sp.beta = 1.0;
    sp.base = &small->model;
    assert_int_equal(rt_tilt_create(&out, &sp, &d), RT_EINVAL);
    assert_string_equal(d.msg, "the base has a vocabulary of 16 tokens but the task has 32");
    rt_policy_free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_probabilities_exact),
        cmocka_unit_test(test_exopd_targets_tilt_beta_over_lambda),
        cmocka_unit_test(test_threads_and_uncovered_rows),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
