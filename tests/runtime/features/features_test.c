/* features_test.c: feature providers by name (rt_features.h, rt_rl.h's
 * rt_feature_provider): the table (names, find, at, the provider a reward reads), a
 * debate(d) GRPO run through rt_rl_run_features that is bit-identical to the same run
 * with the hook made by hand (rt_debate_reward_create + hook_new + rt_rl_run_hooked),
 * the provider's create with the generic resolver (the resolver's error wording passes
 * through; the resolver sees the feature function's name), malformed providers and a
 * hook given beside a provider ("rl: bad hook"), and allocation failures inside the
 * run's setup (the provider's workspace) that fail the run cleanly. */
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
#include "rt_rm.h"
#include "rt_features.h"

static rt_task *make_triage(void)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    rt_task_config_set(&tc, "features", 6, NULL);
    rt_task_config_set(&tc, "values", 4, NULL);
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

/* any debate(NAME) / other(NAME) at slot nf (what %%reward does; linking re-resolves) */
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
    rt_task *task;
    rt_debate *d;
    rt_policy *baseline, *pol, *ref;
    char last_fn[32]; /* the feature function the generic resolver was last asked about */
} world;

static void world_make(world *w)
{
    memset(w, 0, sizeof *w);
    w->task = make_triage();
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.evidence = 3;
    cfg.judge.steps = 300;
    cfg.accuracy_states = 200;
    rt_rng rng = rt_rng_make(5);
    rt_diag err;
    assert_int_equal(rt_debate_create(w->task, &cfg, &rng, &w->d, &err), 0);
    assert_int_equal(rt_debate_train(w->d, &rng, NULL, NULL, NULL, &err), 0);
    w->baseline = make_policy(3);
    w->pol = make_policy(1);
    w->ref = make_policy(1);
}

static void world_free(world *w)
{
    rt_debate_free(w->d);
    rt_policy_free(w->baseline);
    rt_policy_free(w->pol);
    rt_policy_free(w->ref);
    rt_task_free(w->task);
}

/* the typed resolver of rt_debate_reward_create ... */
static int resolve_debate(void *ctx, const char *name, rt_debate_source *out, char *err,
                          size_t errlen)
{
    world *w = ctx;
    if (strcmp(name, "d")) {
        snprintf(err, errlen, "no debate called '%s' on this worker", name);
        return 1;
    }
    *out = (rt_debate_source){w->d, &w->baseline->model, "tri", ""};
    return 0;
}

/* ... and the generic one of rt_feature_env, for every provider */
static int resolve_any(void *ctx, const char *fn, const char *arg, void *out, char *err,
                       size_t errlen)
{
    world *w = ctx;
    snprintf(w->last_fn, sizeof w->last_fn, "%s", fn);
    if (strcmp(fn, "debate")) {
        snprintf(err, errlen, "no provider '%s'", fn);
        return 1;
    }
    return resolve_debate(ctx, arg, out, err, errlen);
}

static rt_rl_config cfg_of(void)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("grpo");
    c.batch = 8;
    c.group = 4;
    c.steps = 3;
    c.lr = 1e-2f;
    c.eval_every = 0;
    return c;
}

static rt_run *make_run(void)
{
    int nc;
    const char *const *cols = rt_rl_columns(&nc);
    const rt_feature_provider *fp = rt_features_find("debate");
    const char *all[64];
    for (int k = 0; k < nc + fp->n_metrics; k++)
        all[k] = k < nc ? cols[k] : fp->metric_names[k - nc];
    rt_run *run;
    assert_int_equal(rt_run_create("f", all, nc + fp->n_metrics, &run), 0);
    return run;
}

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(rt_features_count(), 2);
    assert_string_equal(rt_features_names[0], "debate");
    assert_string_equal(rt_features_names[1], "rm");
    assert_null(rt_features_names[2]);
    assert_ptr_equal(rt_features_at(0), &rt_debate_feature_provider);
    assert_ptr_equal(rt_features_at(1), &rt_rm_feature_provider);
    assert_ptr_equal(rt_features_find("rm"), &rt_rm_feature_provider);
    assert_null(rt_features_at(2));
    assert_null(rt_features_at(-1));
    assert_ptr_equal(rt_features_find("debate"), &rt_debate_feature_provider);
    assert_null(rt_features_find("debates"));
    assert_null(rt_features_find(NULL));
    const rt_feature_provider *fp = rt_features_find("debate");
    int nd;
    const char *const *dm = rt_debate_reward_metrics(&nd);
    assert_int_equal(fp->n_metrics, nd);
    assert_ptr_equal(fp->metric_names, dm);
    rt_task *t = make_triage();
    rt_reward_program *plain = compile(t, "outcome"),
                      *deb = compile(t, "0.5 * outcome + debate(d)"), *oth = compile(t, "other(d)");
    assert_null(rt_features_for_reward(plain));
    assert_ptr_equal(rt_features_for_reward(deb), fp);
    assert_null(rt_features_for_reward(oth));
    assert_null(rt_features_for_reward(NULL));
    rt_reward_free(plain);
    rt_reward_free(deb);
    rt_reward_free(oth);
    rt_task_free(t);
}

/* the run through the provider equals the run with the hook made by hand, bit for bit */
static void test_run_by_name(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    rt_reward_program *r = compile(w.task, "0.5 * outcome + debate(d)");
    rt_rl_config c = cfg_of();
    rt_rl_problem prob = {.task = w.task};
    rt_rng rng = rt_rng_make(17);
    /* by hand */
    rt_debate_reward *x;
    rt_reward_program *lx;
    char msg[256];
    assert_int_equal(rt_debate_reward_create(w.task, r, NULL, resolve_debate, &w, &x, &lx, NULL,
                                             msg, sizeof msg),
                     0);
    rt_debate_reward_hook *h;
    assert_int_equal(rt_debate_reward_hook_new(x, c.batch * c.group, 1, &h), 0);
    rt_rl_hook hook = rt_debate_reward_hook_of(h);
    rt_policy *pa;
    assert_int_equal(rt_policy_copy(&pa, w.pol, NULL), 0);
    rt_run *a = make_run();
    prob.reward = lx;
    assert_int_equal(rt_rl_run_hooked(pa, w.ref, &prob, &hook, &c, a, &rng, NULL), 0);
    /* by name */
    const rt_feature_provider *fp = rt_features_for_reward(r);
    assert_non_null(fp);
    rt_feature_env env = {resolve_any, &w};
    void *st = NULL;
    rt_reward_program *ly;
    assert_int_equal(fp->create(w.task, r, NULL, &env, &st, &ly, NULL, msg, sizeof msg), 0);
    assert_string_equal(w.last_fn, "debate");
    assert_int_equal(fp->n_features(st), 1);
    rt_rl_features f = {fp, st};
    rt_policy *pb;
    assert_int_equal(rt_policy_copy(&pb, w.pol, NULL), 0);
    rt_run *b = make_run();
    prob.reward = ly;
    rt_diag d;
    assert_int_equal(rt_rl_run_features(pb, w.ref, &prob, &f, &c, b, &rng, &d), 0);
    assert_int_equal(rt_run_rows(a), 3);
    assert_int_equal(rt_run_rows(b), 3);
    int n = rt_run_n_columns(a), judged = 0;
    double va[64], vb[64];
    for (long row = 0; row < 3; row++) {
        rt_run_read(a, row, 1, va);
        rt_run_read(b, row, 1, vb);
        for (int k = 0; k < n; k++) {
            if (!strcmp(rt_run_column(a, k), "wall")) continue;
            assert_memory_equal(&va[k], &vb[k], sizeof(double));
        }
        judged += isfinite(vb[rt_run_column_index(b, "return")]);
    }
    assert_int_equal(judged, 3); /* the provider's metrics are in the run's columns */
    assert_memory_equal(pa->params.w, pb->params.w, pa->params.n * sizeof(float));
    /* a hook beside a provider, a provider without run_new: bad hook, nothing runs */
    rt_rl_args args = {pb, w.ref, &prob, &hook, &c, &f};
    rt_diag td;
    rt_run *e = make_run();
    assert_int_equal(rt_trainer_run(&rt_rl_trainer, &args, &rng, e, &td), RT_EINVAL);
    assert_string_equal(td.msg, "rl: bad hook");
    rt_feature_provider broken = *fp;
    broken.run_new = NULL;
    rt_rl_features fb = {&broken, st};
    rt_run *e2 = make_run();
    assert_int_equal(rt_rl_run_features(pb, w.ref, &prob, &fb, &c, e2, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "rl: bad hook");
    broken = *fp;
    broken.fill = NULL;
    rt_run *e3 = make_run();
    assert_int_equal(rt_rl_run_features(pb, w.ref, &prob, &fb, &c, e3, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "rl: bad hook");
    rt_run_free(e);
    rt_run_free(e2);
    rt_run_free(e3);
    rt_run_free(a);
    rt_run_free(b);
    rt_policy_free(pa);
    rt_policy_free(pb);
    rt_debate_reward_hook_free(h);
    rt_debate_reward_free(x);
    fp->destroy(st);
    rt_reward_free(lx);
    rt_reward_free(ly);
    rt_reward_free(r);
    world_free(&w);
}

static void test_create_errors_and_allocation(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    const rt_feature_provider *fp = rt_features_find("debate");
    rt_feature_env env = {resolve_any, &w};
    char msg[256] = "";
    rt_reward_program *bad = compile(w.task, "debate(zz)"), *ly = (rt_reward_program *)1;
    void *st = (void *)1;
    assert_int_not_equal(fp->create(w.task, bad, NULL, &env, &st, &ly, NULL, msg, sizeof msg), 0);
    assert_null(st);
    assert_null(ly);
    assert_string_equal(msg, "no debate called 'zz' on this worker");
    assert_int_not_equal(fp->create(w.task, bad, NULL, NULL, &st, &ly, NULL, msg, sizeof msg), 0);
    assert_string_equal(msg, "debate reward: bad arguments");
    rt_reward_free(bad);
    /* allocation failures in the run's setup, the provider's workspace included */
    rt_reward_program *r = compile(w.task, "debate(d)");
    assert_int_equal(fp->create(w.task, r, NULL, &env, &st, &ly, NULL, msg, sizeof msg), 0);
    rt_rl_features f = {fp, st};
    rt_rl_config c = cfg_of();
    c.steps = 1;
    rt_rl_problem prob = {.task = w.task, .reward = ly};
    int failures = 0, step_failures = 0;
    for (long n = 1;; n++) {
        rt_policy *p;
        assert_int_equal(rt_policy_copy(&p, w.pol, NULL), 0);
        rt_run *run = make_run();
        rt_rng rng = rt_rng_make(3);
        rt_diag d;
        rt_alloc_fail_at(n);
        int rc = rt_rl_run_features(p, w.ref, &prob, &f, &c, run, &rng, &d);
        rt_alloc_fail_at(0);
        rt_run_free(run);
        rt_policy_free(p);
        if (!rc) break;
        /* setup (the provider's workspace included): out of memory; the debates' own
         * per-step work (rt_debate_eval_threads) fails the step */
        if (rc == RT_ENOMEM) {
            assert_string_equal(d.msg, "rl: out of memory");
            assert_int_equal(failures, n - 1); /* setup's allocations come first */
            failures++;
        } else {
            assert_int_equal(rc, RT_EFAILED);
            step_failures++;
        }
        assert_true(n < 2000);
    }
    print_message("%d setup, %d step allocation failures\n", failures, step_failures);
    assert_true(failures >= 10);
    fp->destroy(st);
    rt_reward_free(ly);
    rt_reward_free(r);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_run_by_name),
        cmocka_unit_test(test_create_errors_and_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
