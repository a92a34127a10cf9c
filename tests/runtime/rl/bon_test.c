/* bon_test.c: best-of-K under a reward (rt_bon.h) against references built here.
 *  - draws: every draw equals plain sampling (draw j: rt_model_generate of all n prompts
 *    in one call on stream split(draws, j)); they do not depend on K_max, n or the
 *    chunking of the prompts and its rewards are the task's
 *    features through rt_reward_eval, its log-probs those of the generation: same bits (chunking
 * does not change the draws);
 *  - K = 1 is plain sampling: its mean is the mean of draw 0's reward over prompts, and
 *    with K_max = 1 the mean of plain sampling, bit for bit (same order of the sum);
 *  - tie rule: the selection is the FIRST draw attaining the maximum among the first K
 *    (a brute-force scan); a constant selection reward selects draw 0 for every K;
 *  - nested draws: per prompt R_0(sel_K) is non-decreasing in K, hence the mean too;
 *  - statistics: mean and standard error against the definition (two-pass in double here,
 *    the same order: exact equality is expected, compared at 1e-12 relative anyway);
 *  - the analytic KL: log K - (K - 1) / K against the exact KL of best-of-K of a discrete
 *    uniform distribution with m distinct rewards (q_l = (l/m)^K - ((l-1)/m)^K), which
 *    tends to it as m grows (|error| <= K / m for m = 10^5, bound of the Riemann sum of
 *    the continuous integral; we check 1e-3) and stays below it (finitely many values: an upper
 * bound);
 *  - determinism: threads 1 and 2 give the same bits;
 *  - a hook's feature slot (as rm(NAME) will be provided) reaches the rewards: a count of
 *    a token written by the hook, read through a feature function, against the tokens;
 *    the hook does not change the draws; its failure is RT_EFAILED with its message;
 *  - every allocation failing in turn gives RT_ENOMEM and no object;
 *  - errors: K outside [1, RT_BON_MAX_K], nr outside [1, 4], vocabulary mismatch, n < 1,
 *    n * K too large, stats at K > K_max. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_bon.h"
#include "rt_reward.h"
#include "rt_task.h"
#include "fx_train.h"

enum { V = 32, N = 300, KMAX = 8, NR = 3 };

typedef struct fx {
    rt_task *task;
    rt_policy *pol;
    rt_reward_program *rw[NR];
    double params[NR][4];
    const rt_reward_program *r[NR];
    const double *pr[NR];
    rt_task_sample prompts[N];
    rt_rng draws;
} fx;

static fx F;

/* selection (ties: partial takes few values), a "true" reward, a constant */
static const char *const reward_src[NR] = {"partial - 0.25 * length", "correct", "1"};

static rt_reward_program *make_reward(const rt_task *task, const char *src, double *params)
{
    rt_reward_program *rw = fx_reward(task, NULL, 0, src);
    rt_diag d;
    if (rt_reward_bind_params(rw, NULL, NULL, 0, params, &d)) fail_msg("%s: %s", src, d.msg);
    return rw;
}

static int setup(void **st)
{
    (void)st;
    rt_task_config c;
    rt_diag e;
    assert_int_equal(rt_task_config_parse(&c, "add digits=1", &e), 0);
    assert_int_equal(rt_task_create(&c, &F.task, &e), 0);
    F.pol = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_RELU, 5);
    F.pol->p.bo[RT_TOK_EOS] += 2.0f; /* answers of every length */
    for (int v = 0; v < 10; v++)
        F.pol->p.bo[RT_TOK_DIGIT0 + v] += 1.5f;
    rt_policy_touch(F.pol);
    for (int j = 0; j < NR; j++) {
        F.rw[j] = make_reward(F.task, reward_src[j], F.params[j]);
        F.r[j] = F.rw[j];
        F.pr[j] = F.params[j];
    }
    rt_rng pr = rt_rng_make(77);
    rt_task_sample_batch(F.task, &pr, 0, RT_TASK_HELDOUT, N, F.prompts, NULL);
    F.draws = rt_rng_make(99);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rt_policy_free(F.pol);
    for (int j = 0; j < NR; j++)
        rt_reward_free(F.rw[j]);
    rt_task_free(F.task);
    return 0;
}

static rt_bon_spec spec(int n, int kmax, int nr, int threads)
{
    rt_bon_spec s = {.policy = &F.pol->model,
                     .task = F.task,
                     .prompts = F.prompts,
                     .n = n,
                     .k_max = kmax,
                     .temperature = 1.0f,
                     .draws = &F.draws,
                     .rewards = F.r,
                     .params = F.pr,
                     .nr = nr,
                     .threads = threads};
    return s;
}

static rt_bon *make(int n, int kmax, int nr, int threads)
{
    rt_bon_spec s = spec(n, kmax, nr, threads);
    rt_bon *b = NULL;
    rt_diag d;
    if (rt_bon_create(&b, &s, &d)) fail_msg("rt_bon_create: %s", d.msg);
    return b;
}

/* Plain sampling: for each draw j, all n prompts in one rt_model_generate call on stream
 * split(draws, j): tokens and log-probs (n * kmax, T), rewards (n * kmax, NR), row
 * i * kmax + j. */
static void plain(int n, int kmax, int *tok, double *rew, float *lp)
{
    int P = rt_task_prompt_len(F.task), T = rt_task_answer_max(F.task);
    int nf = rt_task_n_features(F.task);
    int *prompts = rt_calloc((size_t)n * P, sizeof(int));
    int *g = rt_calloc((size_t)n * T, sizeof(int));
    float *l = rt_calloc((size_t)n * T, sizeof(float));
    double *feat = rt_calloc((size_t)n * nf, sizeof(double));
    for (int i = 0; i < n; i++)
        memcpy(prompts + (size_t)i * P, F.prompts[i].prompt, sizeof(int) * P);
    rt_model_ws *ws = fx_ws(&F.pol->model, n);
    for (int j = 0; j < kmax; j++) {
        rt_rng stream = rt_rng_split(&F.draws, (uint64_t)j);
        assert_int_equal(
            rt_model_generate(&F.pol->model, ws, prompts, n, P, T, 1.0f, &stream, 0, g, l), 0);
        rt_task_features_batch(F.task, F.prompts, g, n, T, feat);
        for (int i = 0; i < n; i++) {
            size_t at = (size_t)i * kmax + j;
            memcpy(tok + at * T, g + (size_t)i * T, sizeof(int) * T);
            memcpy(lp + at * T, l + (size_t)i * T, sizeof(float) * T);
            for (int r = 0; r < NR; r++)
                rew[at * NR + r] = rt_reward_eval(F.r[r], feat + (size_t)i * nf, F.pr[r]);
        }
    }
    rt_model_ws_free(ws);
    rt_free(prompts), rt_free(g), rt_free(l), rt_free(feat);
}

static void test_draws_are_plain_sampling(void **st)
{
    (void)st;
    int T = rt_task_answer_max(F.task);
    int *tok = rt_calloc((size_t)N * KMAX * T, sizeof(int));
    double *rew = rt_calloc((size_t)N * KMAX * NR, sizeof(double));
    float *lp = rt_calloc((size_t)N * KMAX * T, sizeof(float));
    plain(N, KMAX, tok, rew, lp);
    rt_bon *b = make(N, KMAX, NR, 1);
    assert_int_equal(rt_bon_answer_len(b), T);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < KMAX; j++) {
            const int *g = rt_bon_tokens(b, i, j);
            assert_memory_equal(g, tok + ((size_t)i * KMAX + j) * T, sizeof(int) * T);
            assert_memory_equal(rt_bon_logprobs(b, i, j), lp + ((size_t)i * KMAX + j) * T,
                                sizeof(float) * T);
            for (int r = 0; r < NR; r++)
                assert_true(rt_bon_reward(b, i, j, r) == rew[((size_t)i * KMAX + j) * NR + r]);
        }
    /* K = 1 is draw 0 of each prompt */
    rt_bon_stats s;
    assert_int_equal(rt_bon_stats_at(b, 1, &s, NULL), 0);
    assert_true(s.kl == 0.0);
    for (int r = 0; r < NR; r++) {
        double m = 0;
        for (int i = 0; i < N; i++)
            m += rew[(size_t)i * KMAX * NR + r];
        assert_true(s.mean[r] == m / N); /* same order, same bits */
    }
    rt_bon_free(b);
    /* K_max = 1: plain sampling, one sample per prompt */
    plain(N, 1, tok, rew, lp);
    b = make(N, 1, NR, 1);
    assert_int_equal(rt_bon_stats_at(b, 1, &s, NULL), 0);
    for (int r = 0; r < NR; r++) {
        double m = 0;
        for (int i = 0; i < N; i++)
            m += rew[(size_t)i * NR + r];
        assert_true(s.mean[r] == m / N);
    }
    rt_bon_free(b);
    rt_free(tok), rt_free(rew), rt_free(lp);
}

/* The draws depend neither on K_max nor on n: best-of-4 from 4 or 8 draws, and the first
 * 100 prompts of 300, are the same; and not on the chunking (N > CHUNK = 1024 prompts). */
static void test_draws_independent_of_n_and_kmax(void **st)
{
    (void)st;
    rt_bon *a = make(N, KMAX, NR, 1), *b = make(N, 4, NR, 1), *c = make(100, KMAX, NR, 1);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < KMAX; j++) {
            if (j < 4) {
                assert_memory_equal(rt_bon_tokens(a, i, j), rt_bon_tokens(b, i, j),
                                    sizeof(int) * rt_bon_answer_len(a));
                assert_int_equal(rt_bon_select(a, 4, i), rt_bon_select(b, 4, i));
            }
            if (i < 100)
                assert_memory_equal(rt_bon_tokens(a, i, j), rt_bon_tokens(c, i, j),
                                    sizeof(int) * rt_bon_answer_len(a));
        }
    rt_bon_free(a), rt_bon_free(b), rt_bon_free(c);
    /* 1100 prompts (the first N repeated): two chunks of prompts */
    static rt_task_sample many[1100];
    for (int i = 0; i < 1100; i++)
        many[i] = F.prompts[i % N];
    rt_bon_spec s = spec(1100, 2, NR, 1);
    s.prompts = many;
    rt_bon *d = NULL;
    assert_int_equal(rt_bon_create(&d, &s, NULL), 0);
    int P = rt_task_prompt_len(F.task), T = rt_task_answer_max(F.task);
    static int prompts[1100 * 8], g[1100 * 8];
    assert_true(P <= 8 && T <= 8);
    for (int i = 0; i < 1100; i++)
        memcpy(prompts + (size_t)i * P, many[i].prompt, sizeof(int) * P);
    rt_model_ws *ws = fx_ws(&F.pol->model, 1100);
    for (int j = 0; j < 2; j++) { /* one call for all 1100 prompts */
        rt_rng stream = rt_rng_split(&F.draws, (uint64_t)j);
        assert_int_equal(
            rt_model_generate(&F.pol->model, ws, prompts, 1100, P, T, 1.0f, &stream, 0, g, NULL),
            0);
        for (int i = 0; i < 1100; i++)
            assert_memory_equal(rt_bon_tokens(d, i, j), g + (size_t)i * T, sizeof(int) * T);
    }
    rt_model_ws_free(ws);
    rt_bon_free(d);
}

static void test_tie_rule_and_nesting(void **st)
{
    (void)st;
    rt_bon *b = make(N, KMAX, NR, 1);
    int ties = 0;
    double prev_mean = -INFINITY;
    for (int k = 1; k <= KMAX; k++) {
        for (int i = 0; i < N; i++) {
            double best = -INFINITY;
            int want = -1, atmax = 0;
            for (int j = 0; j < k; j++)
                if (rt_bon_reward(b, i, j, 0) > best) best = rt_bon_reward(b, i, j, 0), want = j;
            for (int j = 0; j < k; j++)
                atmax += rt_bon_reward(b, i, j, 0) == best;
            ties += atmax > 1;
            assert_int_equal(rt_bon_select(b, k, i), want);
            if (k > 1) /* nested: never worse than best-of-(k-1) on the same prompt */
                assert_true(rt_bon_reward(b, i, rt_bon_select(b, k, i), 0) >=
                            rt_bon_reward(b, i, rt_bon_select(b, k - 1, i), 0));
        }
        rt_bon_stats s;
        assert_int_equal(rt_bon_stats_at(b, k, &s, NULL), 0);
        assert_true(s.mean[0] >= prev_mean);
        prev_mean = s.mean[0];
    }
    assert_true(ties > 100); /* the rule was exercised */
    {                        /* the selection rises strictly from K = 1 to K_max here */
        rt_bon_stats s1, s8;
        rt_bon_stats_at(b, 1, &s1, NULL);
        rt_bon_stats_at(b, KMAX, &s8, NULL);
        assert_true(s8.mean[0] > s1.mean[0] + 3 * s1.se[0]);
    }
    rt_bon_free(b);
    /* a constant selection reward: every draw ties, the first is always selected */
    const rt_reward_program *rc[2] = {F.r[2], F.r[1]};
    const double *pc[2] = {F.pr[2], F.pr[1]};
    rt_bon_spec s = spec(N, KMAX, 2, 1);
    s.rewards = rc, s.params = pc;
    assert_int_equal(rt_bon_create(&b, &s, NULL), 0);
    for (int k = 1; k <= KMAX; k++)
        for (int i = 0; i < N; i++)
            assert_int_equal(rt_bon_select(b, k, i), 0);
    rt_bon_free(b);
}

static void test_stats(void **st)
{
    (void)st;
    rt_bon *b = make(N, KMAX, NR, 1);
    for (int k = 1; k <= KMAX; k *= 2) {
        rt_bon_stats s;
        assert_int_equal(rt_bon_stats_at(b, k, &s, NULL), 0);
        assert_int_equal(s.k, k);
        assert_int_equal(s.n, N);
        assert_int_equal(s.nr, NR);
        for (int r = 0; r < NR; r++) {
            double v[N], m = 0, ss = 0;
            for (int i = 0; i < N; i++) {
                int best = 0; /* the tie rule, again by hand */
                for (int j = 1; j < k; j++)
                    if (rt_bon_reward(b, i, j, 0) > rt_bon_reward(b, i, best, 0)) best = j;
                v[i] = rt_bon_reward(b, i, best, r);
                m += v[i];
            }
            m /= N;
            for (int i = 0; i < N; i++)
                ss += (v[i] - m) * (v[i] - m);
            double se = sqrt(ss / (N - 1) / N);
            assert_true(fabs(s.mean[r] - m) <= 1e-12 * (1 + fabs(m)));
            assert_true(fabs(s.se[r] - se) <= 1e-12 * (1 + se));
        }
        assert_true(s.se[2] == 0.0); /* the constant reward */
        assert_true(s.mean[2] == 1.0);
    }
    rt_bon_free(b);
    /* one prompt: no standard error */
    b = make(1, 4, NR, 1);
    rt_bon_stats s;
    assert_int_equal(rt_bon_stats_at(b, 4, &s, NULL), 0);
    assert_true(isnan(s.se[0]));
    rt_bon_free(b);
}

/* Exact KL(best-of-K || p) for p uniform on m items with distinct rewards. */
static double exact_kl_uniform(int m, int k)
{
    double kl = 0;
    for (int l = 1; l <= m; l++) {
        double q = pow((double)l / m, k) - pow((double)(l - 1) / m, k);
        if (q > 0) kl += q * log(q * m);
    }
    return kl;
}

static void test_kl(void **st)
{
    (void)st;
    assert_true(rt_bon_kl(1) == 0.0);
    assert_true(isnan(rt_bon_kl(0)));
    assert_true(fabs(rt_bon_kl(2) - (log(2.0) - 0.5)) < 1e-15);
    assert_true(fabs(rt_bon_kl(16) - (log(16.0) - 15.0 / 16)) < 1e-14);
    int ks[] = {2, 4, 8, 16, 64};
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        int k = ks[t];
        double fine = exact_kl_uniform(100000, k), coarse = exact_kl_uniform(3, k);
        assert_true(fabs(fine - rt_bon_kl(k)) < 1e-3);
        assert_true(fine <= rt_bon_kl(k) + 1e-12);
        assert_true(coarse < rt_bon_kl(k)); /* 3 values: draws tie often, strictly below */
    }
}

static void test_threads(void **st)
{
    (void)st;
    rt_bon *a = make(N, KMAX, NR, 1), *b = make(N, KMAX, NR, 2);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < KMAX; j++) {
            assert_memory_equal(rt_bon_tokens(a, i, j), rt_bon_tokens(b, i, j),
                                sizeof(int) * rt_bon_answer_len(a));
            for (int r = 0; r < NR; r++)
                assert_memory_equal(&(double){rt_bon_reward(a, i, j, r)},
                                    &(double){rt_bon_reward(b, i, j, r)}, sizeof(double));
        }
    rt_bon_stats sa, sb;
    rt_bon_stats_at(a, KMAX, &sa, NULL);
    rt_bon_stats_at(b, KMAX, &sb, NULL);
    assert_memory_equal(&sa, &sb, sizeof sa);
    rt_bon_free(a);
    rt_bon_free(b);
}

/* A hook as a feature provider would make for rm(NAME): slot nf = the count of token
 * `user` in the answer (up to its length), checked against the tokens; a reward reading
 * ones(x) through a resolver; fill failing when asked. */
static int hook_fail;
static int count_fill(void *user, const rt_rl_hook_batch *hb, double *feat, int stride, int nf,
                      double *metrics, char *msg, size_t cap)
{
    (void)metrics;
    if (hook_fail) {
        snprintf(msg, cap, "the reward model failed");
        return 1;
    }
    int tok = *(const int *)user;
    assert_int_equal(hb->G, 1);
    for (int i = 0; i < hb->N; i++) {
        int c = 0;
        for (int t = 0; t < hb->lengths[i]; t++)
            c += hb->tokens[(size_t)i * hb->T + t] == tok;
        feat[(size_t)i * stride + nf] = c;
    }
    return 0;
}

static int resolve_ones(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                        size_t errlen)
{
    (void)arg, (void)err, (void)errlen;
    *slot = *(const int *)ctx;
    return strcmp(fn, "ones") != 0;
}

static void test_hook(void **st)
{
    (void)st;
    int nf = rt_task_n_features(F.task), tok = RT_TOK_DIGIT0 + 1;
    const char *names[RT_TASK_MAX_FEATURES];
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(F.task, i);
    const char *fns[] = {"ones"};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "rm";
    env.features = names;
    env.n_features = nf;
    env.n_slots = nf + 1;
    env.feature_fns = fns;
    env.n_feature_fns = 1;
    env.resolve_feature = resolve_ones;
    env.ctx = &nf;
    const char *src = "ones(m) + 0.5 * correct";
    rt_reward_program *rw = NULL;
    rt_diag d;
    if (rt_reward_compile(src, strlen(src), 1, 1, &env, &rw, &d)) fail_msg("%s", d.msg);
    double par[1] = {0};
    const rt_reward_program *r[2] = {rw, F.r[1]};
    const double *pr[2] = {par, F.pr[1]};
    rt_rl_hook hook = {.n_features = 1, .fill = count_fill, .user = &tok};
    rt_bon_spec s = spec(N, 4, 2, 1);
    s.rewards = r, s.params = pr, s.hook = &hook;
    rt_bon *b = NULL;
    assert_int_equal(rt_bon_create(&b, &s, &d), 0);
    rt_bon *plainb = make(N, 4, NR, 1); /* the hook does not change the draws */
    int T = rt_task_answer_max(F.task), seen = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 4; j++) {
            const int *g = rt_bon_tokens(b, i, j);
            assert_memory_equal(g, rt_bon_tokens(plainb, i, j), sizeof(int) * T);
            int c = 0, t = 0;
            for (; t < T && g[t] != RT_TOK_EOS; t++)
                c += g[t] == tok;
            double want = c + 0.5 * rt_bon_reward(plainb, i, j, 1);
            assert_true(rt_bon_reward(b, i, j, 0) == want);
            assert_true(rt_bon_reward(b, i, j, 1) == rt_bon_reward(plainb, i, j, 1));
            seen += c > 0;
        }
    assert_true(seen > 10);
    rt_bon_free(b), rt_bon_free(plainb);
    hook_fail = 1;
    b = (rt_bon *)1;
    assert_int_equal(rt_bon_create(&b, &s, &d), RT_EFAILED);
    assert_null(b);
    assert_string_equal(d.msg, "best-of-n: the reward model failed");
    hook_fail = 0;
    hook.n_features = RT_RL_HOOK_MAX_FEATURES + 1;
    assert_int_equal(rt_bon_create(&b, &s, &d), RT_EINVAL);
    rt_reward_free(rw);
}

static void expect_err(rt_bon_spec s, const char *part)
{
    rt_bon *b = (rt_bon *)1;
    rt_diag d;
    memset(&d, 0, sizeof d);
    assert_int_equal(rt_bon_create(&b, &s, &d), RT_EINVAL);
    assert_null(b);
    if (!strstr(d.msg, part)) fail_msg("'%s' not in '%s'", part, d.msg);
}

static void test_errors(void **st)
{
    (void)st;
    expect_err(spec(N, 0, NR, 1), "K must be in [1, 1024], not 0");
    expect_err(spec(N, RT_BON_MAX_K + 1, NR, 1), "K must be in [1, 1024], not 1025");
    expect_err(spec(N, 4, 0, 1), "1 to 4 rewards");
    expect_err(spec(0, 4, NR, 1), "at least 1 prompt");
    rt_bon_spec s = spec(N, 4, NR, 1);
    s.draws = NULL;
    expect_err(s, "missing argument");
    s = spec(N, 1024, NR, 1);
    rt_task_sample many[1]; /* never read: the size check comes first */
    s.prompts = many;
    s.n = 5000;
    expect_err(s, "draws, at most");
    rt_policy *other = fx_mlp(V + 1, 8, 8, 16, 1, RT_NN_ACT_RELU, 1);
    s = spec(N, 4, NR, 1);
    s.policy = &other->model;
    expect_err(s, "vocabulary of 33 tokens, the task 32");
    rt_policy_free(other);
    rt_bon *b = make(4, 2, NR, 1);
    rt_bon_stats st2;
    rt_diag d;
    assert_int_equal(rt_bon_stats_at(b, 3, &st2, &d), RT_EINVAL);
    assert_non_null(strstr(d.msg, "K must be in [1, 2], not 3"));
    assert_int_equal(rt_bon_select(b, 3, 0), -1);
    assert_int_equal(rt_bon_select(b, 1, 4), -1);
    assert_null(rt_bon_tokens(b, 0, 2));
    assert_true(isnan(rt_bon_reward(b, 0, 0, NR)));
    rt_bon_free(b);
}

/* Every allocation of rt_bon_create failing in turn: RT_ENOMEM and *out = NULL, never a
 * crash (leaks: run under valgrind or ASan). */
static void test_oom(void **st)
{
    (void)st;
    rt_bon_spec s = spec(20, 3, NR, 1);
    rt_alloc_fail_at(0);
    rt_bon *b = NULL;
    assert_int_equal(rt_bon_create(&b, &s, NULL), 0);
    long total = rt_alloc_count();
    rt_bon_free(b);
    assert_true(total > 5);
    for (long k = 1; k <= total; k++) {
        rt_alloc_fail_at(k);
        b = (rt_bon *)1;
        int rc = rt_bon_create(&b, &s, NULL);
        rt_alloc_fail_at(0);
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draws_are_plain_sampling),
        cmocka_unit_test(test_draws_independent_of_n_and_kmax),
        cmocka_unit_test(test_tie_rule_and_nesting),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_kl),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_hook),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
