/* opd_run_test.c: the G-OPD run (rt_opd_run.h) and the properties methods.md §1 states.
 *   - Monte Carlo: the mean of the sampled-token gradient over y ~ pi_S at one fixed
 *     state equals the full estimator's gradient (within 5 standard errors per logit);
 *   - one-token task: training with the full estimator converges to the normalized
 *     pi_ref^(1-lambda) pi_T^lambda for lambda in {0.5, 1, 2}: total variation < 0.01
 *     after 400 steps (the documented bound);
 *   - teacher_temperature tau: the full estimator converges to pi_ref^(1-lambda) pi_T^(lambda/tau)
 *     (lambda 1, tau 0.5 and lambda 1.5, tau 2), not to the untempered target;
 *   - routing: a mix of add and sort with two constructed teachers (one puts ~all mass on
 *     digit 3, the other on digit 7 at every state): after a routed run the student
 *     answers each domain with its own teacher's token, and swapping the map swaps them;
 *   - a 4-point lambda sweep (rt_sweep) is bit-identical at 1 and 2 threads (metrics
 *     except wall, and the weights);
 *   - ExPO arithmetic and its architecture error;
 *   - the EOS mask: answers that all end at their first token give the same step as
 *     generating one token without the mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt_opd_run.h"
#include "rt_sweep.h"

#include "fx_train.h"

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
        l[v] = 1.5f * rt_rng_normal(r);
    rt_nn_log_softmax(l, l, 1, V, 1.0f);
}

static void monte_carlo_full_is_mean_of_sampled(void **state)
{
    (void)state;
    enum { V = 10, NS = 200000 };
    float lambdas[3] = {0.5f, 1.25f, 2.0f};
    rt_rng r = rt_rng_make(7);
    for (int k = 0; k < 3; k++) {
        float lS[V], lT[V], lR[V], full[V] = {0}, g[V];
        double sum[V] = {0}, sq[V] = {0};
        random_logsoftmax(lS, V, &r);
        random_logsoftmax(lT, V, &r);
        random_logsoftmax(lR, V, &r);
        rt_opd_dlogits_full(full, lS, lT, lR, lambdas[k], 1.0f, V);
        for (int i = 0; i < NS; i++) {
            float u = rt_rng_uniform(&r), c = 0;
            int y = V - 1;
            for (int v = 0; v < V; v++) {
                c += expf(lS[v]);
                if (u < c) {
                    y = v;
                    break;
                }
            }
            memset(g, 0, sizeof g);
            sampled_dlogits(g, lS, lT, lR, y, lambdas[k], 1.0f, V);
            for (int v = 0; v < V; v++)
                sum[v] += g[v], sq[v] += (double)g[v] * g[v];
        }
        for (int v = 0; v < V; v++) {
            double mean = sum[v] / NS, var = sq[v] / NS - mean * mean;
            double se = sqrt(var / NS);
            if (fabs(mean - full[v]) > 5 * se + 1e-6)
                fail_msg("lambda %g, logit %d: Monte Carlo %g +- %g vs full %g", lambdas[k], v,
                         mean, se, full[v]);
        }
    }
}

/* the distribution of p at one context */
static void probs_at(const rt_policy *p, const int *ctx, float *out)
{
    int K = p->cfg.context, seq[17];
    assert_true(K <= 16);
    memcpy(seq, ctx, sizeof(int) * K);
    seq[K] = RT_POLICY_PAD; /* position K: the window is ctx */
    rt_model_batch b = {seq, 1, K + 1, K, NULL, NULL};
    fx_probs(&p->model, &b, out);
}

/* total variation between s and normalized ref^(1-lambda) t^lambda at ctx */
static double tv_to_target(const rt_policy *s, const rt_policy *t, const rt_policy *ref,
                           const int *ctx, float lambda)
{
    enum { V = 12 };
    float ps[V], pt[V], pr[V];
    probs_at(s, ctx, ps);
    probs_at(t, ctx, pt);
    probs_at(ref, ctx, pr);
    double target[V], z = 0, tv = 0;
    for (int v = 0; v < V; v++)
        z += target[v] = pow(pr[v], 1 - lambda) * pow(pt[v], lambda);
    for (int v = 0; v < V; v++)
        tv += 0.5 * fabs(ps[v] - target[v] / z);
    return tv;
}

static void one_token_converges_to_geometric_mixture(void **state)
{
    (void)state;
    enum { V = 12, K = 4, D = 8, B = 16, P = 4 };
    float lambdas[3] = {0.5f, 1.0f, 2.0f};
    for (int k = 0; k < 3; k++) {
        rt_policy *s = make(V, K, D, 32, 1, 21), *t = make(V, K, D, 40, 2, 22),
                  *ref = make(V, K, D, 32, 1, 23);
        rt_opd_config c = rt_opd_defaults();
        c.lambda = lambdas[k];
        c.estimator = RT_OPD_FULL;
        c.batch = B, c.prompt_len = P, c.gen_len = 1;
        c.adam.lr = 1e-2f;
        rt_opd *o;
        assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
        int pr[B * P], ctx[K] = {3, 5, 7, 9};
        for (int b = 0; b < B; b++)
            memcpy(pr + b * P, ctx, sizeof ctx);
        rt_rng rng = rt_rng_make(24);
        double tv0 = tv_to_target(s, t, ref, ctx, lambdas[k]);
        assert_true(tv0 > 0.1); /* far from the target at the start */
        for (int step = 0; step < 400; step++) {
            rt_rng rs = rt_rng_split(&rng, (uint64_t)step);
            assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &rs, NULL), 0);
        }
        double tv = tv_to_target(s, t, ref, ctx, lambdas[k]);
        if (tv >= 0.01) fail_msg("lambda %g: total variation %g >= 0.01", lambdas[k], tv);
        rt_opd_free(o);
        rt_policy_free(s), rt_policy_free(t), rt_policy_free(ref);
    }
}

/* teacher_temperature tau replaces log pi_T by log_softmax(z_T / tau): at lambda = 1 the
 * full estimator converges to pi_T^(1/tau) / Z (here tau = 0.5: the squared teacher), and
 * at lambda = 1.5, tau = 2 to pi_ref^(-0.5) pi_T^(0.75) / Z. */
static void teacher_temperature_sharpens_the_target(void **state)
{
    (void)state;
    enum { V = 12, K = 4, D = 8, B = 16, P = 4 };
    float lam[2] = {1.0f, 1.5f}, tau[2] = {0.5f, 2.0f};
    for (int k = 0; k < 2; k++) {
        rt_policy *s = make(V, K, D, 32, 1, 81), *t = make(V, K, D, 40, 2, 82),
                  *ref = make(V, K, D, 32, 1, 83);
        rt_rng rb = rt_rng_make(85); /* a peaked teacher, so that tempering matters */
        for (int v = 0; v < V; v++)
            t->p.bo[v] += 1.5f * rt_rng_normal(&rb);
        rt_policy_touch(t);
        rt_opd_config c = rt_opd_defaults();
        c.lambda = lam[k];
        c.teacher_temperature = tau[k];
        c.estimator = RT_OPD_FULL;
        c.batch = B, c.prompt_len = P, c.gen_len = 1;
        c.adam.lr = 1e-2f;
        rt_opd *o;
        assert_int_equal(rt_opd_create(&o, &c, &s->model, &t->model, &ref->model, NULL), 0);
        int pr[B * P], ctx[K] = {2, 4, 6, 8};
        for (int b = 0; b < B; b++)
            memcpy(pr + b * P, ctx, sizeof ctx);
        rt_rng rng = rt_rng_make(84);
        for (int step = 0; step < 400; step++) {
            rt_rng rs = rt_rng_split(&rng, (uint64_t)step);
            assert_int_equal(rt_opd_step(o, &s->model, &t->model, &ref->model, pr, &rs, NULL), 0);
        }
        float ps[V], pt[V], prf[V];
        probs_at(s, ctx, ps);
        probs_at(t, ctx, pt);
        probs_at(ref, ctx, prf);
        double target[V], z = 0, tv = 0, tv_plain = 0, zp = 0, plain[V];
        for (int v = 0; v < V; v++) {
            z += target[v] = pow(prf[v], 1 - lam[k]) * pow(pt[v], lam[k] / tau[k]);
            zp += plain[v] = pow(prf[v], 1 - lam[k]) * pow(pt[v], lam[k]);
        }
        for (int v = 0; v < V; v++) {
            tv += 0.5 * fabs(ps[v] - target[v] / z);
            tv_plain += 0.5 * fabs(ps[v] - plain[v] / zp);
        }
        if (tv >= 0.01)
            fail_msg("lambda %g tau %g: total variation %g >= 0.01", lam[k], tau[k], tv);
        assert_true(tv_plain > 0.05); /* and not the untempered target */
        rt_opd_free(o);
        rt_policy_free(s), rt_policy_free(t), rt_policy_free(ref);
    }
}

/* a teacher that puts almost all mass on token tok at every state */
static rt_policy *peaked(int tok)
{
    rt_policy *p = make(RT_TASK_VOCAB, 8, 8, 16, 1, 1);
    memset(p->params.w, 0, p->params.n * sizeof(float));
    p->p.bo[tok] = 12.0f;
    rt_policy_touch(p);
    return p;
}

static rt_task *mix_task(void)
{
    return fx_mix("add", NULL, 0, "sort", "length", 3);
}

static void routing_uses_each_domains_teacher(void **state)
{
    (void)state;
    rt_task *task = mix_task();
    rt_policy *t3 = peaked(RT_TOK_DIGIT0 + 3), *t7 = peaked(RT_TOK_DIGIT0 + 7);
    const rt_policy *teachers[2] = {t3, t7};
    for (int swap = 0; swap < 2; swap++) {
        rt_policy *s = make(RT_TASK_VOCAB, 8, 8, 32, 1, 31);
        rt_policy *ref = fx_copy(s);
        int route[2] = {swap, 1 - swap};
        rt_opd_problem prob = {task, teachers, 2, route, ref};
        rt_opd_run_config cfg;
        rt_opd_run_config_init(&cfg);
        cfg.step.estimator = RT_OPD_FULL;
        cfg.step.batch = 32;
        cfg.step.adam.lr = 1e-2f;
        cfg.steps = 150;
        cfg.eval_every = 0;
        cfg.eval_prompts = 8;
        rt_rng rng = rt_rng_make(32);
        rt_diag d;
        assert_int_equal(rt_opd_run(s, &prob, &cfg, NULL, &rng, &d), 0);
        /* the first answer token of one add prompt and one sort prompt */
        rt_rng r = rt_rng_make(33);
        for (int dom = 0; dom < 2; dom++) {
            rt_task_sample smp;
            assert_int_equal(rt_task_sample_from_id(task, dom, 5, &smp), 0);
            int P = rt_task_prompt_len(task), ctx[8];
            fx_context(ctx, smp.prompt, P, 8);
            float p[RT_TASK_VOCAB];
            probs_at(s, ctx, p);
            int want = RT_TOK_DIGIT0 + (route[dom] == 0 ? 3 : 7);
            if (p[want] < 0.9f)
                fail_msg("swap %d, domain %d: p(teacher's token) = %g", swap, dom, p[want]);
        }
        (void)r;
        rt_policy_free(s), rt_policy_free(ref);
    }
    rt_policy_free(t3), rt_policy_free(t7);
    rt_task_free(task);
}

typedef struct job {
    rt_policy *s;
    rt_opd_problem prob;
    rt_opd_run_config cfg;
    rt_run *run;
    rt_rng rng;
} job;

static int run_job(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx;
    job *j = arg;
    return rt_opd_run(j->s, &j->prob, &j->cfg, j->run, &j->rng, NULL);
}

static void sweep(int threads, rt_task *task, const rt_policy *base, const rt_policy *t,
                  rt_run_snapshot *snaps, rt_policy **out)
{
    float lambdas[4] = {0.5f, 1.0f, 1.5f, 2.0f};
    job jobs[4];
    rt_job sj[4];
    char cols[RT_OPD_RUN_MAX_COLUMNS][48];
    const char *cp[RT_OPD_RUN_MAX_COLUMNS];
    int nc = rt_opd_run_columns(task, cols, RT_OPD_RUN_MAX_COLUMNS);
    for (int c = 0; c < nc; c++)
        cp[c] = cols[c];
    static const rt_policy *tt[1];
    tt[0] = t;
    for (int i = 0; i < 4; i++) {
        jobs[i].s = fx_copy(base);
        jobs[i].prob = (rt_opd_problem){task, tt, 1, NULL, base};
        rt_opd_run_config_init(&jobs[i].cfg);
        jobs[i].cfg.step.lambda = lambdas[i];
        jobs[i].cfg.step.batch = 16;
        jobs[i].cfg.steps = 12;
        jobs[i].cfg.eval_every = 4;
        jobs[i].cfg.eval_prompts = 32;
        jobs[i].run = fx_run("x", cp, nc, NULL, 0);
        rt_rng r = rt_rng_make(41);
        jobs[i].rng = rt_rng_split(&r, (uint64_t)i);
        sj[i] = (rt_job){.fn = run_job, .arg = &jobs[i], .status = 0};
    }
    assert_int_equal(rt_sweep_run_threads(sj, 4, threads, NULL), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rt_run_snapshot_take(jobs[i].run, &snaps[i]), 0);
        for (long r = 0; r < snaps[i].rows; r++)
            snaps[i].values[r * snaps[i].n_columns + 2] = 0; /* wall */
        rt_run_free(jobs[i].run);
        out[i] = jobs[i].s;
    }
}

static void lambda_sweep_identical_at_1_and_2_threads(void **state)
{
    (void)state;
    rt_task *task = fx_task("add", NULL, 0);
    rt_policy *base = make(RT_TASK_VOCAB, 8, 8, 32, 2, 51),
              *t = make(RT_TASK_VOCAB, 8, 8, 48, 1, 52);
    rt_run_snapshot a[4], b[4];
    rt_policy *pa[4], *pb[4];
    sweep(1, task, base, t, a, pa);
    sweep(2, task, base, t, b, pb);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i].rows, 13);
        assert_int_equal(a[i].rows, b[i].rows);
        assert_memory_equal(a[i].values, b[i].values,
                            sizeof(double) * (size_t)a[i].rows * (size_t)a[i].n_columns);
        assert_memory_equal(pa[i]->params.w, pb[i]->params.w, pa[i]->params.n * sizeof(float));
        if (i)
            assert_true(memcmp(pa[i]->params.w, pa[0]->params.w, pa[0]->params.n * sizeof(float)));
    }
    for (int i = 0; i < 4; i++) {
        rt_run_snapshot_free(&a[i]), rt_run_snapshot_free(&b[i]);
        rt_policy_free(pa[i]), rt_policy_free(pb[i]);
    }
    rt_policy_free(base), rt_policy_free(t);
    rt_task_free(task);
}

static void extrapolate_arithmetic_and_errors(void **state)
{
    (void)state;
    rt_policy *b = make(12, 4, 6, 16, 1, 61), *t = make(12, 4, 6, 16, 1, 62),
              *w = make(12, 4, 6, 24, 1, 63), *x = NULL;
    assert_int_equal(rt_opd_extrapolate(&x, b, t, 0.5f, NULL), 0);
    for (size_t i = 0; i < x->params.n; i++)
        assert_true(x->params.w[i] == t->params.w[i] + 0.5f * (t->params.w[i] - b->params.w[i]));
    assert_int_equal(x->params.t, 0);
    rt_policy_free(x);
    rt_diag d;
    assert_int_equal(rt_opd_extrapolate(&x, b, w, 1.0f, &d), RT_EINVAL);
    assert_null(x);
    assert_string_equal(d.msg, "extrapolation needs the same architecture: the teacher is V=12 "
                               "K=4 D=6 H=24 L=1, the base V=12 K=4 D=6 H=16 L=1");
    rt_policy_free(b), rt_policy_free(t), rt_policy_free(w);
}

/* With mask_after_eos, a batch whose answers all end at their first token is the same
 * step as generating one token without the mask (loss, metrics, gradient). */
static void eos_mask_counts_states_up_to_eos(void **state)
{
    (void)state;
    enum { V = 12, K = 4, D = 6, B = 8, P = 3, EOS = 1 };
    rt_policy *s1 = make(V, K, D, 16, 1, 71), *t = make(V, K, D, 24, 1, 72),
              *ref = make(V, K, D, 16, 1, 73), *s2;
    s1->p.bo[EOS] += 9.0f; /* EOS first with probability ~0.998 */
    rt_policy_touch(s1);
    assert_int_equal(rt_policy_copy(&s2, s1, NULL), 0);
    int pr[B * P];
    for (int i = 0; i < B * P; i++)
        pr[i] = 2 + i % (V - 2);
    for (int est = 0; est < 2; est++) {
        rt_opd_metrics m[2];
        rt_policy *ss[2] = {s1, s2};
        for (int k = 0; k < 2; k++) {
            rt_opd_config c = rt_opd_defaults();
            c.batch = B, c.prompt_len = P, c.gen_len = k ? 1 : 5;
            c.lambda = 1.5f, c.metrics = 1, c.estimator = est;
            c.mask_after_eos = !k, c.eos_token = EOS;
            rt_opd *o;
            assert_int_equal(rt_opd_create(&o, &c, &s1->model, &t->model, &ref->model, NULL), 0);
            rt_rng rng = rt_rng_make(74);
            assert_int_equal(rt_opd_step(o, &ss[k]->model, &t->model, &ref->model, pr, &rng, &m[k]), 0);
            for (int b = 0; b < B; b++)
                assert_int_equal(rt_opd_tokens(o)[b * c.gen_len], EOS);
            rt_opd_free(o);
        }
        assert_float_equal(m[0].loss, m[1].loss, 1e-6 * (1 + fabsf(m[1].loss)));
        assert_float_equal(m[0].kl_teacher, m[1].kl_teacher, 1e-6);
        assert_float_equal(m[0].entropy, m[1].entropy, 1e-6);
        assert_float_equal(m[0].adv_mean, m[1].adv_mean, 1e-6);
        assert_true(m[1].grad_norm > 0);
        for (size_t i = 0; i < s1->params.n; i++)
            if (fabsf(s1->params.g[i] - s2->params.g[i]) > 1e-5f * (1 + fabsf(s2->params.g[i])))
                fail_msg("estimator %d: gradient %zu differs: %g vs %g", est, i, s1->params.g[i],
                         s2->params.g[i]);
    }
    rt_policy_free(s1), rt_policy_free(s2), rt_policy_free(t), rt_policy_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(monte_carlo_full_is_mean_of_sampled),
        cmocka_unit_test(one_token_converges_to_geometric_mixture),
        cmocka_unit_test(teacher_temperature_sharpens_the_target),
        cmocka_unit_test(routing_uses_each_domains_teacher),
        cmocka_unit_test(lambda_sweep_identical_at_1_and_2_threads),
        cmocka_unit_test(extrapolate_arithmetic_and_errors),
        cmocka_unit_test(eos_mask_counts_states_up_to_eos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
