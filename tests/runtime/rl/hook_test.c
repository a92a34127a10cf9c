/* hook_test.c: the rt_rl_hook of extra features and metrics.  The hook sees the step's
 * batch (step numbers 1..steps, N = B*G sequences grouped by prompt, the sampled
 * tokens and lengths, the task features already in slots 0..nf-1 of an nf+n-wide row),
 * its columns feed the reward (a reward that pays only the hook's feature teaches the
 * policy to choose action 'a' on triage), its metrics land in the run's columns of the
 * same name at logged rows, its stream is split(split(r, 4), step) (deterministic run
 * twice, different per step), a failing hook fails the run naming the step and keeps
 * the earlier rows, a malformed hook is a setup error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_rl.h"

static rt_task *make_triage(void)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    return t;
}

static rt_policy *make_policy(uint64_t seed)
{
    rt_policy_config c = {RT_TASK_VOCAB, 8, 16, 32, 1, RT_NN_ACT_RELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &c, NULL), 0);
    rt_rng r = rt_rng_make(seed);
    rt_policy_init(p, &r);
    return p;
}

/* A reward over the task's features plus one extra feature "is_a" at slot nf. */
static rt_reward_program *make_reward(const rt_task *t, const char *src)
{
    const char *names[RT_TASK_MAX_FEATURES + 1];
    int nf = rt_task_n_features(t);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(t, i);
    names[nf] = "is_a";
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = names;
    env.n_features = nf + 1;
    rt_reward_program *p;
    rt_diag d;
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    return p;
}

static const char *const hook_metrics[] = {"frac_a", "stream_draw", "not_a_column"};

typedef struct hook_state {
    const rt_task *task;
    long calls, last_step, fail_at;
    int bad_features; /* task features not as rt_task_features_batch gives them */
    int bad_groups;   /* sequences of one prompt with different samples */
    uint64_t draws[64];
} hook_state;

static int fill(void *user, const rt_rl_hook_batch *b, double *feat, int stride, int nf,
                double *metrics, char *msg, size_t msglen)
{
    hook_state *h = user;
    h->calls++;
    if (b->step != h->last_step + 1) h->bad_features++;
    h->last_step = b->step;
    if (b->step == h->fail_at) {
        snprintf(msg, msglen, "boom");
        return 1;
    }
    assert_int_equal(stride, nf + 1);
    double tf[RT_TASK_MAX_FEATURES];
    int na = 0;
    for (int i = 0; i < b->N; i++) {
        rt_task_features_batch(h->task, &b->samples[i], b->tokens + (size_t)i * b->T, 1, b->T, tf);
        for (int k = 0; k < nf; k++)
            if (feat[(size_t)i * stride + k] != tf[k]) h->bad_features++;
        if (b->samples[i].id != b->samples[i - i % b->G].id) h->bad_groups++;
        assert_true(b->lengths[i] >= 1 && b->lengths[i] <= b->T);
        int a = b->tokens[(size_t)i * b->T] == RT_TOK_LETTER0;
        feat[(size_t)i * stride + nf] = a;
        na += a;
    }
    rt_rng s = *b->stream;
    uint64_t d = rt_rng_u64(&s);
    if (b->step <= 64) h->draws[b->step - 1] = d;
    metrics[0] = (double)na / b->N;
    metrics[1] = (double)(d >> 11);
    metrics[2] = 7.0;
    return 0;
}

static rt_run *make_run(void)
{
    int n;
    const char *const *cols = rt_rl_columns(&n);
    const char *all[32];
    for (int i = 0; i < n; i++)
        all[i] = cols[i];
    all[n] = "frac_a";
    all[n + 1] = "stream_draw";
    rt_run *run;
    assert_int_equal(rt_run_create("hook", all, n + 2, &run), 0);
    return run;
}

static double cell(const rt_run *run, long row, const char *col)
{
    double v[32];
    assert_int_equal(rt_run_read(run, row, 1, v), 1);
    int i = rt_run_column_index(run, col);
    assert_true(i >= 0);
    return v[i];
}

static rt_rl_config cfg_of(long steps)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = RT_RL_GRPO;
    c.batch = 16;
    c.group = 4;
    c.steps = steps;
    c.lr = 1e-2f;
    c.eval_every = 0;
    return c;
}

typedef struct outcome {
    double first_frac, last_frac, last_reward;
    uint64_t draws[64];
    long rows;
} outcome;

static outcome run_once(long steps, int log_every)
{
    rt_task *task = make_triage();
    rt_policy *p = make_policy(1), *ref = make_policy(1);
    rt_reward_program *r = make_reward(task, "is_a");
    hook_state h = {.task = task, .fail_at = -1};
    rt_rl_hook hook = {1, 3, hook_metrics, fill, &h};
    rt_rl_problem prob = {.task = task, .reward = r};
    rt_rl_config c = cfg_of(steps);
    c.log_every = log_every;
    rt_run *run = make_run();
    rt_rng rng = rt_rng_make(9);
    rt_diag d;
    assert_int_equal(rt_rl_run_hooked(p, ref, &prob, &hook, &c, run, &rng, &d), 0);
    assert_int_equal(h.calls, steps);
    assert_int_equal(h.bad_features, 0);
    assert_int_equal(h.bad_groups, 0);
    outcome o;
    o.rows = rt_run_rows(run);
    o.first_frac = cell(run, 0, "frac_a");
    o.last_frac = cell(run, o.rows - 1, "frac_a");
    o.last_reward = cell(run, o.rows - 1, "reward");
    /* the reward is the hook's feature: its mean is the hook's metric */
    assert_true(fabs(o.last_reward - o.last_frac) < 1e-12);
    /* the stream of step s is split(split(r, 4), s) */
    rt_rng s4 = rt_rng_split(&rng, 4), ss = rt_rng_split(&s4, (uint64_t)steps);
    assert_true(cell(run, o.rows - 1, "stream_draw") == (double)(rt_rng_u64(&ss) >> 11));
    memcpy(o.draws, h.draws, sizeof o.draws);
    rt_run_free(run);
    rt_reward_free(r);
    rt_policy_free(p);
    rt_policy_free(ref);
    rt_task_free(task);
    return o;
}

static void test_hook_feature_is_learned(void **st)
{
    (void)st;
    outcome o = run_once(40, 1);
    assert_int_equal(o.rows, 40);
    /* 4 actions and other tokens: 'a' starts rare and is learned */
    assert_true(o.first_frac < 0.5);
    assert_true(o.last_frac > 0.9);
    assert_true(o.draws[0] != o.draws[1]);
}

static void test_hook_deterministic_and_rows(void **st)
{
    (void)st;
    outcome a = run_once(12, 5), b = run_once(12, 5);
    assert_int_equal(a.rows, 3); /* steps 5, 10, 12 */
    assert_true(a.last_frac == b.last_frac && a.last_reward == b.last_reward);
    assert_memory_equal(a.draws, b.draws, sizeof a.draws);
}

static void test_hook_failure_and_bad_hook(void **st)
{
    (void)st;
    rt_task *task = make_triage();
    rt_policy *p = make_policy(1), *ref = make_policy(1);
    rt_reward_program *r = make_reward(task, "is_a + outcome");
    hook_state h = {.task = task, .fail_at = 3};
    rt_rl_hook hook = {1, 3, hook_metrics, fill, &h};
    rt_rl_problem prob = {.task = task, .reward = r};
    rt_rl_config c = cfg_of(10);
    rt_run *run = make_run();
    rt_rng rng = rt_rng_make(9);
    rt_diag d;
    assert_int_equal(rt_rl_run_hooked(p, ref, &prob, &hook, &c, run, &rng, &d), RT_EFAILED);
    assert_string_equal(d.msg, "rl: boom at step 3");
    assert_int_equal(rt_run_rows(run), 2);
    long step;
    char m[256];
    assert_int_equal(rt_run_status_of(run, &step, m, sizeof m), RT_RUN_FAILED);
    assert_string_equal(m, "rl: boom at step 3");
    rt_run_free(run);
    /* without the hook the reward reads a slot the rows do not have */
    assert_int_equal(rt_rl_run(p, ref, &prob, &c, NULL, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "rl: the reward is not linked to this task's features");
    rt_rl_hook bad = {65, 0, NULL, fill, &h};
    assert_int_equal(rt_rl_run_hooked(p, ref, &prob, &bad, &c, NULL, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "rl: bad hook");
    rt_rl_hook nofn = {1, 0, NULL, NULL, &h};
    assert_int_equal(rt_rl_run_hooked(p, ref, &prob, &nofn, &c, NULL, &rng, &d), RT_EINVAL);
    rt_reward_free(r);
    rt_policy_free(p);
    rt_policy_free(ref);
    rt_task_free(task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_feature_is_learned),
        cmocka_unit_test(test_hook_deterministic_and_rows),
        cmocka_unit_test(test_hook_failure_and_bad_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
