/* opd_test.c: the G-OPD step.  The full estimator is the expectation of the sampled
 * one; a step equals the same step computed by hand from the model API (fresh
 * forwards, no activation reuse, sequence-major rows); at lambda = 1 the gradient does
 * not depend on the reference; steps are bit-identical run twice, at 1 vs 2 BLAS
 * threads and at 1, 2, 3 threads of the step's own; exact metrics; a NaN loss leaves the
 * weights; configuration errors and allocation failures; at a sampling temperature
 * tau != 1 both estimators' gradients are those of their losses at softmax(z / tau)
 * (finite differences). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fx_model.h"
#include "rt_alloc.h"
#include "rt_opd.h"
#include "rt_policy.h"

static rt_policy *make(int V, int K, int D, int H, int L, uint64_t seed)
{
    return fx_mlp(V, K, D, H, L, RT_NN_ACT_RELU, seed);
}

/* The sampled estimator's gradient wrt the logits at one state, naively (the engine's
 * recipe "opd" computes it inside rt_rl_update): token y, A = (lT[y] - lS[y]) +
 * (lambda - 1)(lT[y] - lR[y]); dl (V) += scale * -A (onehot(y) - p). */
static void sampled_dlogits(float *dl, const float *lS, const float *lT, const float *lR, int y,
                            float lambda, float scale, int V)
{
    float A = (lT[y] - lS[y]) + (lambda - 1.0f) * (lT[y] - lR[y]);
    for (int v = 0; v < V; v++)
        dl[v] += scale * A * expf(lS[v]);
    dl[y] -= scale * A;
}

static void random_logsoftmax(float *l, int V, rt_rng *r)
{
    for (int v = 0; v < V; v++)
        l[v] = 2.0f * rt_rng_normal(r);
    rt_nn_log_softmax(l, l, 1, V, 1.0f);
}

static void full_is_expectation_of_sampled(void **state)
{
    (void)state;
    enum { V = 16 };
    float lambdas[4] = {0.5f, 1.0f, 1.5f, 3.0f};
    rt_rng r = rt_rng_make(1);
    for (int k = 0; k < 4; k++) {
        float lS[V], lT[V], lR[V], full[V] = {0}, expect[V] = {0};
        random_logsoftmax(lS, V, &r);
        random_logsoftmax(lT, V, &r);
        random_logsoftmax(lR, V, &r);
        float kl = rt_opd_dlogits_full(full, lS, lT, lR, lambdas[k], 1.0f, V);
        for (int y = 0; y < V; y++) /* E_y~p [ sampled gradient at y ] */
            sampled_dlogits(expect, lS, lT, lR, y, lambdas[k], expf(lS[y]), V);
        for (int v = 0; v < V; v++)
            if (fabsf(full[v] - expect[v]) > 1e-5f * (1 + fabsf(full[v])))
                fail_msg("lambda %g, v %d: full %g vs expectation %g", lambdas[k], v, full[v],
                         expect[v]);
        /* the KL returned is KL(p || pi~) computed in double */
        double m[V], mx = -1e30, s = 0, ref = 0;
        for (int v = 0; v < V; v++)
            m[v] = (1 - lambdas[k]) * lR[v] + lambdas[k] * lT[v], mx = fmax(mx, m[v]);
        for (int v = 0; v < V; v++)
            s += exp(m[v] - mx);
        for (int v = 0; v < V; v++)
            ref += exp(lS[v]) * (lS[v] - (m[v] - mx - log(s)));
        assert_true(fabs(kl - ref) < 1e-5);
    }
}

/* small architectures: student, teacher (wider, deeper), reference */
enum { V = 12, K = 4, D = 6, B = 5, P = 3, T = 4, N = B * T };

static rt_opd_config small_cfg(float lambda, float gamma)
{
    rt_opd_config c = rt_opd_defaults();
    c.lambda = lambda;
    c.gamma = gamma;
    c.batch = B;
    c.prompt_len = P;
    c.gen_len = T;
    c.adam.lr = 1e-2f;
    return c;
}

static void prompts_for(int *pr, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < B * P; i++)
        pr[i] = 1 + rt_rng_below(&r, V - 1);
}

static void step_matches_manual(void **state)
{
    (void)state;
    for (int g = 0; g < 2; g++) {
        float gamma = g ? 1.0f : 0.0f, lam = 1.5f;
        rt_policy *s = make(V, K, D, 16, 1, 10), *t = make(V, K, D, 24, 2, 11),
                  *ref = make(V, K, D, 16, 1, 12), *s0;
        assert_int_equal(rt_policy_copy(&s0, s, NULL), 0);
        rt_opd_config c = small_cfg(lam, gamma);
        c.metrics = 1;
        rt_opd *o;
        assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
        int pr[B * P];
        prompts_for(pr, 13);
        rt_rng rng = rt_rng_make(14);
        rt_opd_metrics m;
        assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &rng, &m), 0);

        /* by hand: generate, log-probs by fresh forwards (ragged: sequence-major rows,
         * on purpose), advantages */
        rt_model *ms = &s0->model;
        rt_model_ws *ws = fx_ws(ms, N), *wt = fx_ws(&t->model, N), *wr = fx_ws(&ref->model, N);
        int tok[B * T], seqs[B * (P + T)], lo[B], hi[B];
        assert_int_equal(rt_model_generate(ms, ws, pr, B, P, T, 1.0f, &rng, 0, tok, NULL), 0);
        assert_memory_equal(tok, rt_opd_tokens(o), sizeof tok);
        rt_model_batch rb = fx_gen_batch(seqs, lo, hi, pr, 1, tok, NULL, B, P, T);
        const int *y = tok; /* row b * T + j */
        float lpS[N], lpT[N], lpR[N], A[N], w[N];
        assert_int_equal(rt_model_logprobs(ms, ws, &rb, lpS), 0);
        assert_int_equal(rt_model_logprobs(&t->model, wt, &rb, lpT), 0);
        assert_int_equal(rt_model_logprobs(&ref->model, wr, &rb, lpR), 0);
        double loss = 0, adv = 0, gap = 0;
        for (int b = 0; b < B; b++) {
            float G = 0;
            for (int j = T - 1; j >= 0; j--) {
                int n = b * T + j;
                float r = lam * (lpT[n] - lpR[n]) - (lpS[n] - lpR[n]);
                G = r + gamma * G;
                A[n] = G;
            }
        }
        for (int n = 0; n < N; n++) {
            w[n] = A[n] / N;
            loss -= A[n] * lpS[n] / N;
            adv += A[n] / N;
            gap += (lpT[n] - lpS[n]) / N;
        }
        assert_true(fabs(m.loss - loss) < 1e-5);
        assert_true(fabs(m.adv_mean - adv) < 1e-5);
        assert_true(fabs(m.logp_gap - gap) < 1e-5);
        /* exact metrics are of the student before the update */
        double kt, kr, ent;
        assert_int_equal(rt_model_kl(ms, ws, &t->model, wt, &rb, &kt, &ent), 0);
        assert_int_equal(rt_model_kl(ms, ws, &ref->model, wr, &rb, &kr, NULL), 0);
        assert_true(fabs(m.kl_teacher - kt) < 1e-5 && fabs(m.kl_ref - kr) < 1e-5);
        assert_true(fabs(m.entropy - ent) < 1e-5);
        /* gradient from a fresh forward (no activation reuse) */
        rt_model_zero_grad(ms);
        assert_int_equal(rt_model_forward(ms, ws, &rb), 0);
        float *dl = rt_model_ws_scratch(ws);
        memset(dl, 0, sizeof(float) * N * V);
        rt_nn_pg(dl, rt_model_ws_logits(ws), y, w, N, V);
        assert_int_equal(rt_model_backward(ms, ws, dl), 0);
        for (size_t i = 0; i < s->params.n; i++)
            if (fabsf(s->params.g[i] - s0->params.g[i]) > 1e-5f * (1 + fabsf(s0->params.g[i])))
                fail_msg("gamma %g: grad %zu: step %g vs manual %g", gamma, i, s->params.g[i],
                         s0->params.g[i]);
        assert_true(fabs(m.grad_norm - rt_model_grad_norm(ms)) < 1e-5);
        rt_model_adam(ms, &c.adam, NULL);
        for (size_t i = 0; i < s->params.n; i++)
            assert_true(fabsf(s->params.w[i] - s0->params.w[i]) < 1e-5f);
        rt_model_ws_free(ws), rt_model_ws_free(wt), rt_model_ws_free(wr);
        rt_opd_free(o);
        rt_policy_free(s), rt_policy_free(s0), rt_policy_free(t), rt_policy_free(ref);
    }
}

static void lambda_one_ignores_reference(void **state)
{
    (void)state;
    rt_policy *s1 = make(V, K, D, 16, 1, 20), *t = make(V, K, D, 32, 1, 21),
              *r1 = make(V, K, D, 16, 1, 22), *r2 = make(V, K, D, 16, 1, 23), *s2;
    assert_int_equal(rt_policy_copy(&s2, s1, NULL), 0);
    rt_opd_config c = small_cfg(1.0f, 0.0f);
    rt_opd *o;
    assert_int_equal(rt_opd_create(&o, &c, &s1->model, &t->model, &r1->model, NULL), 0);
    int pr[B * P];
    prompts_for(pr, 24);
    rt_rng rng = rt_rng_make(25);
    assert_int_equal(rt_opd_step(o, &s1->model, &t->model, &r1->model, pr, &rng, NULL), 0);
    assert_int_equal(rt_opd_step(o, &s2->model, &t->model, &r2->model, pr, &rng, NULL), 0);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < s1->params.n; i++) {
        diff = fmax(diff, fabsf(s1->params.g[i] - s2->params.g[i]));
        norm = fmax(norm, fabsf(s1->params.g[i]));
    }
    assert_true(norm > 1e-4);
    assert_true(diff < 1e-5 * (1 + norm));
    /* and at lambda = 1.5 it does depend on it */
    rt_opd_free(o);
    c.lambda = 1.5f;
    assert_int_equal(rt_opd_create(&o, &c, &s1->model, &t->model, &r1->model, NULL), 0);
    assert_int_equal(rt_opd_step(o, &s1->model, &t->model, &r1->model, pr, &rng, NULL), 0);
    assert_int_equal(rt_opd_step(o, &s2->model, &t->model, &r2->model, pr, &rng, NULL), 0);
    diff = 0;
    for (size_t i = 0; i < s1->params.n; i++)
        diff = fmax(diff, fabsf(s1->params.g[i] - s2->params.g[i]));
    assert_true(diff > 1e-4);
    rt_opd_free(o);
    rt_policy_free(s1), rt_policy_free(s2), rt_policy_free(t), rt_policy_free(r1),
        rt_policy_free(r2);
}

/* The loss whose gradient a step at temperature tau takes, in double, from the student's
 * logits z (N, V) at the sampled tokens y: pi_S = softmax(z / tau).  Sampled: -(1/N)
 * sum A_n log pi_S(y_n), A from lT, lR and the sampling-time lS0 (constants); full:
 * (1/N) sum_n KL(pi_S || pi~_n), lM = log_softmax((1 - lambda) lR + lambda lT). */
static double loss_at(const float *z, const int *y, const double *lT, const double *lR,
                      const double *lS0, double lambda, double tau, int est, int n_rows)
{
    double L = 0;
    for (int n = 0; n < n_rows; n++) {
        double ls[V], mx = -1e300, s = 0;
        for (int v = 0; v < V; v++)
            mx = fmax(mx, z[n * V + v] / tau);
        for (int v = 0; v < V; v++)
            s += exp(z[n * V + v] / tau - mx);
        for (int v = 0; v < V; v++)
            ls[v] = z[n * V + v] / tau - mx - log(s);
        const double *t = lT + n * V, *r = lR + n * V;
        if (est == RT_OPD_SAMPLED) {
            double A = (t[y[n]] - lS0[n * V + y[n]]) + (lambda - 1) * (t[y[n]] - r[y[n]]);
            L -= A * ls[y[n]] / n_rows;
        } else {
            double m[V], mm = -1e300, sm = 0;
            for (int v = 0; v < V; v++)
                m[v] = (1 - lambda) * r[v] + lambda * t[v], mm = fmax(mm, m[v]);
            for (int v = 0; v < V; v++)
                sm += exp(m[v] - mm);
            for (int v = 0; v < V; v++)
                L += exp(ls[v]) * (ls[v] - (m[v] - mm - log(sm))) / n_rows;
        }
    }
    return L;
}

/* log_softmax(z / tau) of the batch's rows, in double, into out (N, V) */
static void log_softmax_rows(const rt_model *m, const rt_model_batch *rb, double tau, double *out)
{
    rt_model_ws *ws = fx_ws(m, N);
    assert_int_equal(rt_model_forward(m, ws, rb), 0);
    const float *z = rt_model_ws_logits(ws);
    for (int n = 0; n < N; n++) {
        double mx = -1e300, s = 0;
        for (int v = 0; v < V; v++)
            mx = fmax(mx, z[n * V + v] / tau);
        for (int v = 0; v < V; v++)
            s += exp(z[n * V + v] / tau - mx);
        for (int v = 0; v < V; v++)
            out[n * V + v] = z[n * V + v] / tau - mx - log(s);
    }
    rt_model_ws_free(ws);
}

/* %%opd temperature is on-policy (issue 14 item 6): at tau != 1 the gradient a step
 * leaves in the student's params.g is the central finite difference of the loss taken at
 * pi_S = softmax(z / tau) (pi_ref at tau, the teacher at teacher_temperature 1), for both
 * estimators; and it is not the gradient of the same loss at tau = 1 (what the full
 * estimator took before), so the check can tell them apart.  FD in double through the
 * float model, h = 3e-4: allowed error 2e-3 max|g| + 2e-2 |g| (measured: <= 7e-5 max|g|,
 * float rounding of the logits over h; O(h^2) truncation and ReLU kinks grow it to 1.6e-3
 * max|g| at h = 1e-3); the tau = 1 loss's gradient is 0.4 to 1.8 max|g| away. */
static void gradient_at_temperature(void **state)
{
    (void)state;
    const float taus[2] = {0.6f, 1.7f};
    for (int k = 0; k < 4; k++) {
        int est = k & 1 ? RT_OPD_FULL : RT_OPD_SAMPLED;
        float tau = taus[k >> 1], lam = 1.5f;
        rt_policy *s = make(V, K, D, 16, 1, 70 + k), *t = make(V, K, D, 24, 1, 80 + k),
                  *ref = make(V, K, D, 16, 1, 90 + k), *s0;
        assert_int_equal(rt_policy_copy(&s0, s, NULL), 0);
        rt_opd_config c = small_cfg(lam, 0.0f);
        c.temperature = tau, c.estimator = est;
        rt_opd *o;
        assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
        int pr[B * P];
        prompts_for(pr, 100 + k);
        rt_rng rng = rt_rng_make(110 + k);
        assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &rng, NULL), 0);
        int tok[N], seqs[B * (P + T)], lo[B], hi[B];
        memcpy(tok, rt_opd_tokens(o), sizeof tok);
        rt_model_batch rb = fx_gen_batch(seqs, lo, hi, pr, 1, tok, NULL, B, P, T);
        static double lT[N * V], lR[N * V], lS0[N * V];
        log_softmax_rows(&t->model, &rb, 1.0, lT);
        log_softmax_rows(&ref->model, &rb, tau, lR);
        log_softmax_rows(&s0->model, &rb, tau, lS0);
        rt_model_ws *ws = fx_ws(&s0->model, N);
        double gmax = 0, err1 = 0;
        for (size_t i = 0; i < s->params.n; i++)
            gmax = fmax(gmax, fabsf(s->params.g[i]));
        assert_true(gmax > 1e-3);
        for (size_t i = 0; i < s0->params.n; i++) {
            float w = s0->params.w[i], h = 3e-4f;
            double Lp[2], Lm[2];
            for (int side = 0; side < 2; side++) {
                s0->params.w[i] = side ? w - h : w + h;
                rt_policy_touch(s0);
                assert_int_equal(rt_model_forward(&s0->model, ws, &rb), 0);
                const float *z = rt_model_ws_logits(ws);
                double *out = side ? Lm : Lp;
                out[0] = loss_at(z, tok, lT, lR, lS0, lam, tau, est, N);
                out[1] = loss_at(z, tok, lT, lR, lS0, lam, 1.0, est, N);
            }
            s0->params.w[i] = w;
            rt_policy_touch(s0);
            double g = s->params.g[i], fd = (Lp[0] - Lm[0]) / (2.0 * h),
                   fd1 = (Lp[1] - Lm[1]) / (2.0 * h);
            double tol = 2e-3 * gmax + 2e-2 * fabs(g);
            if (fabs(fd - g) > tol)
                fail_msg("%s tau %g: param %zu: step gradient %g vs finite difference %g",
                         est ? "full" : "sampled", tau, i, g, fd);
            err1 = fmax(err1, fabs(fd1 - g));
        }
        /* the loss at tau = 1 has another gradient: far outside the tolerance */
        assert_true(err1 > 0.1 * gmax);
        rt_model_ws_free(ws);
        rt_opd_free(o);
        rt_policy_free(s), rt_policy_free(s0), rt_policy_free(t), rt_policy_free(ref);
    }
}

/* the benchmark's architecture, smaller batch: B = 300 sequences (3 groups of 128, the
 * last partial), N = 1200 rows (10 blocks, the last partial) */
/* blas = OpenBLAS threads, threads = the step's own threads (cfg.threads) */
static float *run_steps_m(int blas, int threads, int estimator, int metrics, float tau)
{
    rt_nn_set_gemm_threads(blas);
    rt_policy *s = make(32, 8, 32, 256, 1, 30), *t = make(32, 8, 32, 512, 1, 31), *ref;
    assert_int_equal(rt_policy_copy(&ref, s, NULL), 0);
    rt_opd_config c = rt_opd_defaults();
    c.lambda = 1.5f, c.batch = 300, c.prompt_len = 8, c.gen_len = 4, c.estimator = estimator;
    c.metrics = metrics;
    c.temperature = tau;
    c.threads = threads;
    rt_opd *o;
    assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
    rt_rng run = rt_rng_from_name(3, "opd");
    int pr[300 * 8];
    rt_opd_metrics m;
    for (int step = 0; step < 3; step++) {
        rt_rng sr = rt_rng_split(&run, (uint64_t)step);
        for (int i = 0; i < 300 * 8; i++)
            pr[i] = 1 + rt_rng_below(&sr, 31);
        assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &sr, &m), 0);
        assert_true(isfinite(m.loss));
        if (metrics) assert_true(isfinite(m.kl_teacher) && m.entropy > 0);
        if (estimator == RT_OPD_FULL) assert_true(m.loss >= 0);
    }
    float *out = malloc(s->params.n * sizeof(float));
    memcpy(out, s->params.w, s->params.n * sizeof(float));
    rt_opd_free(o);
    rt_policy_free(s), rt_policy_free(t), rt_policy_free(ref);
    rt_nn_set_gemm_threads(1);
    return out;
}

static float *run_steps(int blas, int threads, int estimator)
{
    return run_steps_m(blas, threads, estimator, 1, 1.0f);
}

/* Without metrics the engine scores the reference and teacher by their token log-probs
 * only (rt_rl.h: lean): the weights are the same bits as with metrics, at temperature 1
 * and at another. */
static void metrics_off_same_weights(void **state)
{
    (void)state;
    size_t n = 32 * 32 + 256 * 256 + 256 + 32 * 256 + 32;
    for (int k = 0; k < 2; k++) {
        float tau = k ? 0.7f : 1.0f;
        float *a = run_steps_m(1, 1, RT_OPD_SAMPLED, 1, tau),
              *b = run_steps_m(1, 1, RT_OPD_SAMPLED, 0, tau);
        assert_memory_equal(a, b, n * sizeof(float));
        free(a), free(b);
    }
}

static void deterministic_across_runs_and_threads(void **state)
{
    (void)state;
    size_t n = 32 * 32 + 256 * 256 + 256 + 32 * 256 + 32;
    for (int e = 0; e < 2; e++) {
        float *a = run_steps(1, 1, e), *b = run_steps(1, 1, e), *c = run_steps(2, 1, e),
              *d = run_steps(1, 2, e), *f = run_steps(1, 3, e);
        assert_memory_equal(a, b, n * sizeof(float));
        assert_memory_equal(a, c, n * sizeof(float));
        assert_memory_equal(a, d, n * sizeof(float));
        assert_memory_equal(a, f, n * sizeof(float));
        free(a), free(b), free(c), free(d), free(f);
    }
}

static void routed_teachers(void **state)
{
    (void)state;
    /* two teachers; routing every sequence to teacher 1 equals the plain step with it */
    rt_policy *s1 = make(V, K, D, 16, 1, 40), *t0 = make(V, K, D, 24, 1, 41),
              *t1 = make(V, K, D, 24, 1, 42), *ref = make(V, K, D, 16, 1, 43), *s2;
    assert_int_equal(rt_policy_copy(&s2, s1, NULL), 0);
    rt_opd_config c = small_cfg(1.25f, 0.0f);
    rt_opd *o;
    assert_int_equal(rt_opd_create(&o, &c, &s1->model, &t0->model, &ref->model, NULL), 0);
    int pr[B * P], route[B] = {1, 1, 1, 1, 1}, bad[B] = {0, 2, 0, 0, 0};
    prompts_for(pr, 44);
    rt_rng rng = rt_rng_make(45);
    const rt_model *ts[2] = {&t0->model, &t1->model};
    rt_opd_metrics m1, m2;
    assert_int_equal(rt_opd_step_routed(o, &s1->model, ts, 2, route, &ref->model, pr, &rng, &m1),
                     0);
    assert_int_equal(rt_opd_step(o, &s2->model, &t1->model, &ref->model, pr, &rng, &m2), 0);
    assert_true(fabsf(m1.loss - m2.loss) < 1e-6f);
    for (size_t i = 0; i < s1->params.n; i++)
        assert_true(fabsf(s1->params.g[i] - s2->params.g[i]) < 1e-6f);
    assert_int_equal(rt_opd_step_routed(o, &s1->model, ts, 2, bad, &ref->model, pr, &rng, NULL),
                     RT_EINVAL);
    rt_opd_free(o);
    rt_policy_free(s1), rt_policy_free(s2), rt_policy_free(t0), rt_policy_free(t1),
        rt_policy_free(ref);
}

/* a non-finite advantage (a teacher with a NaN weight): the sampled step returns the
 * NaN loss in its metrics and leaves the student's weights as they were (the engine
 * stops before Adam) */
static void nonfinite_loss_keeps_weights(void **state)
{
    (void)state;
    rt_policy *s = make(V, K, D, 16, 1, 60), *t = make(V, K, D, 24, 1, 61),
              *ref = make(V, K, D, 16, 1, 62), *s0;
    assert_int_equal(rt_policy_copy(&s0, s, NULL), 0);
    for (size_t i = 0; i < t->params.n; i++)
        t->params.w[i] = NAN;
    rt_policy_touch(t);
    rt_opd_config c = small_cfg(1.25f, 0.0f);
    rt_opd *o;
    assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
    int pr[B * P];
    prompts_for(pr, 63);
    rt_rng rng = rt_rng_make(64);
    rt_opd_metrics m;
    assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &rng, &m), 0);
    assert_true(isnan(m.loss));
    assert_memory_equal(s->params.w, s0->params.w, s->params.n * sizeof(float));
    rt_opd_free(o);
    rt_policy_free(s), rt_policy_free(s0), rt_policy_free(t), rt_policy_free(ref);
}

static void config_errors_and_alloc_failures(void **state)
{
    (void)state;
    /* models of those architectures (the step is sized from models) */
    rt_policy *ps = fx_mlp_zero(V, K, D, 16, 1), *pt = fx_mlp_zero(V, K, D, 24, 1),
              *po = fx_mlp_zero(V + 1, K, D, 16, 1);
    const rt_model *ms = &ps->model, *mt = &pt->model, *mo = &po->model;
    rt_opd *o;
    rt_diag d;
    rt_opd_config c = small_cfg(1.0f, 0.0f);
    assert_int_equal(rt_opd_create(&o, &c, ms, mo, ms, &d), RT_EINVAL);
    assert_string_equal(d.msg, "opd: student, teacher and reference need the same vocabulary");
    c.estimator = RT_OPD_FULL, c.gamma = 1.0f;
    assert_int_equal(rt_opd_create(&o, &c, ms, mt, ms, &d), RT_EINVAL);
    assert_string_equal(d.msg, "opd: estimator = full needs gamma = 0");
    c = small_cfg(1.0f, 0.0f);
    c.batch = 0;
    assert_int_equal(rt_opd_create(&o, &c, ms, mt, ms, &d), RT_EINVAL);
    c = small_cfg(1.0f, 0.0f);
    int ok = 0;
    for (long n = 1; n < 200 && !ok; n++) {
        rt_alloc_fail_at(n);
        int rc = rt_opd_create(&o, &c, ms, mt, ms, &d);
        rt_alloc_fail_at(0);
        if (rc == 0) {
            ok = 1;
            rt_opd_free(o);
        } else {
            assert_int_equal(rc, RT_ENOMEM);
            assert_null(o);
        }
    }
    assert_true(ok);
    /* a step allocates nothing: every runtime allocation would fail, and none is made */
    {
        rt_policy *s = make(V, K, D, 16, 1, 54), *t = make(V, K, D, 24, 1, 55);
        int pr[B * P];
        prompts_for(pr, 56);
        rt_rng rng = rt_rng_make(57);
        c.metrics = 1;
        assert_int_equal(rt_opd_create(&o, &c, ms, mt, ms, NULL), 0);
        rt_alloc_fail_at(1);
        int rc = rt_opd_step(o, &s->model, &t->model, &s->model, pr, &rng, NULL);
        long count = rt_alloc_count();
        rt_alloc_fail_at(0);
        assert_int_equal(rc, 0);
        assert_int_equal(count, 0);
        rt_opd_free(o);
        rt_policy_free(s), rt_policy_free(t);
        c.metrics = 0;
    }
    /* a policy of another architecture than the step was sized for */
    rt_policy *s = make(V, K, D, 16, 1, 50), *t = make(V, K, D, 16, 1, 51);
    assert_int_equal(rt_opd_create(&o, &c, ms, mt, ms, NULL), 0);
    int pr[B * P];
    prompts_for(pr, 52);
    rt_rng rng = rt_rng_make(53);
    assert_int_equal(rt_opd_step(o, &s->model, &t->model, &s->model, pr, &rng, NULL),
                     RT_ESHAPE);
    rt_opd_free(o);
    rt_policy_free(s), rt_policy_free(t);
    rt_policy_free(ps), rt_policy_free(pt), rt_policy_free(po);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_is_expectation_of_sampled),
        cmocka_unit_test(step_matches_manual),
        cmocka_unit_test(lambda_one_ignores_reference),
        cmocka_unit_test(gradient_at_temperature),
        cmocka_unit_test(deterministic_across_runs_and_threads),
        cmocka_unit_test(metrics_off_same_weights),
        cmocka_unit_test(routed_teachers),
        cmocka_unit_test(nonfinite_loss_keeps_weights),
        cmocka_unit_test(config_errors_and_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
