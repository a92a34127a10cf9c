/* debate_reward_test.c: debate(NAME) rewards in an RL run with no magics — what a
 * headless worker does (rt_debate_reward.h).  A triage task, a trained debate and a
 * baseline policy; a reward "debate(d)" compiled with a debate feature function and
 * linked through the provider's resolver; GRPO runs through rt_rl_run_hooked with the
 * provider's hook.  Checks: the run finishes with the debate metrics (return,
 * judge_win, judge_win_full) in its columns; rewards are means of {0, 0.5, 1}; the run
 * is bit-identical at 1 and 2 threads (run and hook) and when run twice; the shared
 * debate is only read (its own threads setting is untouched); link errors in the
 * documented order and wording (resolver error, a task of another configuration, no
 * baseline, a feature function other than debate); allocation failures in create and hook_new
 * are clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate_reward.h"

static rt_task *make_triage(int features)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    rt_task_config_set(&tc, "features", features, NULL);
    rt_task_config_set(&tc, "values", 4, NULL);
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    return t;
}

static rt_debate *make_debate(const rt_task *t, int threads)
{
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.evidence = 3;
    cfg.judge.steps = 300;
    cfg.accuracy_states = 200;
    cfg.threads = threads;
    rt_rng rng = rt_rng_make(5);
    rt_debate *d;
    rt_diag err;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), 0);
    assert_int_equal(rt_debate_train(d, &rng, NULL, NULL, NULL, &err), 0);
    return d;
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

/* The worker's registry of debates: name -> source. */
typedef struct registry {
    int n;
    const char *names[4];
    rt_debate_source src[4];
} registry;

static int resolve(void *ctx, const char *name, rt_debate_source *out, char *err, size_t errlen)
{
    const registry *r = ctx;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->names[i], name)) {
            *out = r->src[i];
            return 0;
        }
    snprintf(err, errlen, "no debate called '%s' on this worker", name);
    return 1;
}

/* A compile-time resolver: any debate(NAME) at slot nf (what %%reward does over the
 * union of features; the provider re-resolves at link time). */
static int compile_slot(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                        size_t errlen)
{
    (void)arg, (void)err, (void)errlen;
    *slot = *(const int *)ctx;
    return strcmp(fn, "debate") != 0 && strcmp(fn, "other") != 0;
}

static rt_reward_program *compile(const rt_task *t, const char *src)
{
    const char *names[RT_TASK_MAX_FEATURES];
    int nf = rt_task_n_features(t);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(t, i);
    static const char *const fns[] = {"debate", "other"};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = names;
    env.n_features = nf;
    env.n_slots = nf + 4;
    env.feature_fns = fns;
    env.n_feature_fns = 2;
    env.resolve_feature = compile_slot;
    env.ctx = &nf;
    rt_reward_program *p;
    rt_diag d;
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    return p;
}

typedef struct world {
    rt_task *task, *other_task;
    rt_debate *d, *d_other, *d_nob;
    rt_policy *baseline, *pol, *ref;
    registry reg;
} world;

static void world_make(world *w)
{
    memset(w, 0, sizeof *w);
    w->task = make_triage(6);
    w->other_task = make_triage(5);
    w->d = make_debate(w->task, 2);
    w->d_other = make_debate(w->other_task, 1);
    w->d_nob = make_debate(w->task, 1);
    w->baseline = make_policy(3);
    w->pol = make_policy(1);
    w->ref = make_policy(1);
    w->reg.n = 3;
    w->reg.names[0] = "d";
    w->reg.src[0] = (rt_debate_source){w->d, &w->baseline->model, "tri", ""};
    w->reg.names[1] = "dc";
    w->reg.src[1] = (rt_debate_source){w->d_other, &w->baseline->model, "tric", ""};
    w->reg.names[2] = "nob";
    w->reg.src[2] = (rt_debate_source){w->d_nob, NULL, "tri", "the worker gives it none"};
}

static void world_free(world *w)
{
    rt_debate_free(w->d);
    rt_debate_free(w->d_other);
    rt_debate_free(w->d_nob);
    rt_policy_free(w->baseline);
    rt_policy_free(w->pol);
    rt_policy_free(w->ref);
    rt_task_free(w->task);
    rt_task_free(w->other_task);
}

static rt_rl_config cfg_of(int threads)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = RT_RL_GRPO;
    c.batch = 8;
    c.group = 4;
    c.steps = 4;
    c.lr = 1e-2f;
    c.eval_every = 0;
    c.threads = threads;
    return c;
}

/* One run of "0.5 * outcome + debate(d)"-style reward src; returns the run (caller frees). */
static rt_run *run_once(world *w, const char *src, int threads, int hook_threads)
{
    rt_reward_program *r = compile(w->task, src);
    rt_debate_reward *x;
    rt_reward_program *linked;
    char msg[256];
    assert_int_equal(rt_debate_reward_create(w->task, r, NULL, resolve, &w->reg, &x, &linked, NULL,
                                             msg, sizeof msg),
                     0);
    assert_int_equal(rt_debate_reward_n_debates(x), 1);
    int nc, nd;
    const char *const *cols = rt_rl_columns(&nc);
    const char *const *dm = rt_debate_reward_metrics(&nd);
    assert_int_equal(nd, 3);
    const char *all[64];
    for (int k = 0; k < nc + nd; k++)
        all[k] = k < nc ? cols[k] : dm[k - nc];
    rt_run *run;
    assert_int_equal(rt_run_create("debate-rl", all, nc + nd, &run), 0);
    rt_rl_config c = cfg_of(threads);
    rt_debate_reward_hook *h;
    assert_int_equal(rt_debate_reward_hook_new(x, c.batch * c.group, hook_threads, &h), 0);
    rt_rl_hook hook = rt_debate_reward_hook_of(h);
    assert_int_equal(hook.n_features, 1);
    rt_policy *p;
    assert_int_equal(rt_policy_copy(&p, w->pol, NULL), 0);
    rt_rl_problem prob = {.task = w->task, .reward = linked};
    rt_rng rng = rt_rng_make(17);
    rt_diag d;
    assert_int_equal(rt_rl_run_hooked(p, w->ref, &prob, &hook, &c, run, &rng, &d), 0);
    rt_policy_free(p);
    rt_debate_reward_hook_free(h);
    rt_debate_reward_free(x);
    rt_reward_free(linked);
    rt_reward_free(r);
    return run;
}

static double cell(const rt_run *run, long row, const char *col)
{
    double v[64];
    assert_int_equal(rt_run_read(run, row, 1, v), 1);
    int i = rt_run_column_index(run, col);
    assert_true(i >= 0);
    return v[i];
}

static void test_headless_run(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    rt_run *a = run_once(&w, "debate(d)", 1, 1);
    assert_int_equal(rt_run_rows(a), 4);
    int N = cfg_of(1).batch * cfg_of(1).group, differ = 0;
    for (long row = 0; row < 4; row++) {
        double rw = cell(a, row, "reward"), ret = cell(a, row, "return");
        /* the reward is the mean of debate(d) in {0, 0.5, 1} over N samples */
        assert_true(rw >= 0 && rw <= 1);
        assert_true(rw * 2 * N == floor(rw * 2 * N));
        assert_true(isfinite(ret) && ret >= 0 && ret <= 1);
        double jw = cell(a, row, "judge_win"), jf = cell(a, row, "judge_win_full");
        assert_true(isnan(jw) || (jw >= 0 && jw <= 1));
        assert_true(isnan(jf) || (jf >= 0 && jf <= 1));
        print_message("step %ld: reward %.4f return %.4f judge_win %.4f judge_win_full %.4f\n",
                      row + 1, rw, ret, jw, jf);
        differ += !isnan(jw);
    }
    assert_true(differ > 0); /* some debates were held (the policy left the baseline) */
    /* bit-identical at 2 threads (run and hook) and when run again */
    rt_run *b = run_once(&w, "debate(d)", 2, 2), *c = run_once(&w, "debate(d)", 1, 1);
    int n = rt_run_n_columns(a);
    double va[64], vb[64], vc[64];
    for (long row = 0; row < 4; row++) {
        rt_run_read(a, row, 1, va);
        rt_run_read(b, row, 1, vb);
        rt_run_read(c, row, 1, vc);
        for (int k = 0; k < n; k++) {
            if (!strcmp(rt_run_column(a, k), "wall")) continue;
            assert_memory_equal(&va[k], &vb[k], sizeof(double));
            assert_memory_equal(&va[k], &vc[k], sizeof(double));
        }
    }
    /* the debates are only read: their own threads setting is the one they were made with */
    assert_int_equal(rt_debate_config_of(w.d)->threads, 2);
    rt_run_free(a);
    rt_run_free(b);
    rt_run_free(c);
    world_free(&w);
}

static void expect_link_error(world *w, const char *src, const char *msg_want)
{
    rt_reward_program *r = compile(w->task, src);
    rt_debate_reward *x = (rt_debate_reward *)1;
    rt_reward_program *linked = (rt_reward_program *)1;
    char msg[256] = "";
    assert_int_not_equal(rt_debate_reward_create(w->task, r, NULL, resolve, &w->reg, &x, &linked,
                                                 NULL, msg, sizeof msg),
                         0);
    assert_null(x);
    assert_null(linked);
    assert_string_equal(msg, msg_want);
    rt_reward_free(r);
}

static void test_link_errors(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    rt_reward_program *plain = compile(w.task, "outcome"), *deb = compile(w.task, "debate(d)");
    assert_int_equal(rt_debate_reward_reads(plain), 0);
    assert_int_equal(rt_debate_reward_reads(deb), 1);
    rt_reward_free(plain);
    rt_reward_free(deb);
    expect_link_error(&w, "debate(zz)", "no debate called 'zz' on this worker");
    expect_link_error(
        &w, "debate(d) + debate(dc)",
        "debate 'dc' is on task 'tric', whose configuration differs from this run's task");
    expect_link_error(
        &w, "debate(nob)",
        "debate 'nob' has no baseline policy (the worker gives it none)");
    expect_link_error(&w, "other(d)",
                      "reward 'r' reads feature 'other(d)', which task features (correct, "
                      "partial, length, format, eos, outcome, demo_agree) do not include");
    world_free(&w);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    rt_reward_program *r = compile(w.task, "debate(d)");
    int failures = 0;
    for (long n = 1;; n++) {
        rt_alloc_fail_at(n);
        rt_debate_reward *x = NULL;
        rt_reward_program *linked = NULL;
        rt_debate_reward_hook *h = NULL;
        char msg[256];
        int rc = rt_debate_reward_create(w.task, r, NULL, resolve, &w.reg, &x, &linked, NULL, msg,
                                         sizeof msg);
        if (!rc) rc = rt_debate_reward_hook_new(x, 32, 1, &h);
        rt_alloc_fail_at(0);
        rt_debate_reward_hook_free(h);
        rt_debate_reward_free(x);
        rt_reward_free(linked);
        if (!rc) break;
        failures++;
        assert_true(n < 1000);
    }
    assert_true(failures >= 5);
    rt_reward_free(r);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headless_run),
        cmocka_unit_test(test_link_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
