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
 * are clean; judge_full(d) beside debate(d): its own slot, the full-state judge's verdicts
 * in its column, a run with it deterministic and thread-independent. */
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
#include "rt_sft.h"

#include "fx_train.h"

static rt_task *make_triage(int features)
{
    return fx_triage(features, 4, 0); /* conflict 0: the default */
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
    return fx_task_mlp(8, 16, 32, 1, seed);
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
    return strcmp(fn, "debate") != 0 && strcmp(fn, "judge_full") != 0 && strcmp(fn, "other") != 0;
}

static rt_reward_program *compile(const rt_task *t, const char *src)
{
    const char *names[RT_TASK_MAX_FEATURES];
    int nf = rt_task_n_features(t);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(t, i);
    static const char *const fns[] = {"debate", "other", "judge_full"};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = names;
    env.n_features = nf;
    env.n_slots = nf + 4;
    env.feature_fns = fns;
    env.n_feature_fns = 3;
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
    c.algo = rt_rl_recipe_find("grpo");
    c.batch = 8;
    c.group = 4;
    c.steps = 4;
    c.lr = 1e-2f;
    c.eval_every = 0;
    c.threads = threads;
    return c;
}

/* One run of "0.5 * outcome + debate(d)"-style reward src reading nx (debate, function)
 * slots; returns the run (caller frees). */
static rt_run *run_once_n(world *w, const char *src, int threads, int hook_threads, int nx)
{
    rt_reward_program *r = compile(w->task, src);
    rt_debate_reward *x;
    rt_reward_program *linked;
    char msg[256];
    assert_int_equal(rt_debate_reward_create(w->task, r, NULL, resolve, &w->reg, &x, &linked, NULL,
                                             msg, sizeof msg),
                     0);
    assert_int_equal(rt_debate_reward_n_debates(x), nx);
    int nc, nd;
    const char *const *cols = rt_rl_columns(&nc);
    const char *const *dm = rt_debate_reward_metrics(&nd);
    assert_int_equal(nd, 3);
    rt_run *run = fx_run("debate-rl", cols, nc, dm, nd);
    rt_rl_config c = cfg_of(threads);
    rt_debate_reward_hook *h;
    assert_int_equal(rt_debate_reward_hook_new(x, c.batch * c.group, hook_threads, &h), 0);
    rt_rl_hook hook = rt_debate_reward_hook_of(h);
    assert_int_equal(hook.n_features, nx);
    rt_policy *p = fx_copy(w->pol);
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

static rt_run *run_once(world *w, const char *src, int threads, int hook_threads)
{
    return run_once_n(w, src, threads, hook_threads, 1);
}

static double cell(const rt_run *run, long row, const char *col)
{
    return fx_cell(run, row, col);
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

/* judge_full(d) beside debate(d): two slots (one per function), the hook writes the
 * debate's verdict and the full-state judge's verdict (rt_debate_full_reward_batch
 * against the baseline's greedy action) in their columns, the metrics are the debate's;
 * an RL run reading judge_full(d) is bit-identical at 1 and 2 threads and when repeated. */
static void test_judge_full_feature(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    /* a debate of 1 revealed feature: its verdicts often differ from the full judge's */
    rt_debate_config dc;
    rt_debate_config_init(&dc);
    dc.evidence = 1;
    dc.judge.steps = 300;
    dc.accuracy_states = 10;
    rt_rng drng = rt_rng_make(6);
    rt_debate *d1;
    rt_diag derr;
    assert_int_equal(rt_debate_create(w.task, &dc, &drng, &d1, &derr), 0);
    assert_int_equal(rt_debate_train(d1, &drng, NULL, NULL, NULL, &derr), 0);
    w.reg.src[0].debate = d1; /* "d" is the weak debate in this test */
    /* a baseline that answers with actions (the world's is untrained): short noisy SFT */
    rt_policy *base = fx_copy(w.baseline);
    rt_sft_config sc;
    rt_sft_config_init(&sc);
    sc.steps = 150, sc.noise = 0.5, sc.eval_every = 0;
    rt_rng brng = rt_rng_make(9);
    assert_int_equal(rt_sft_run(base, w.task, &sc, NULL, &brng, NULL), 0);
    w.reg.src[0].baseline = &base->model;
    rt_reward_program *r = compile(w.task, "debate(d) + 2 * judge_full(d) + judge_full(d)");
    rt_debate_reward *x;
    rt_reward_program *linked;
    char msg[256];
    assert_int_equal(rt_debate_reward_create(w.task, r, NULL, resolve, &w.reg, &x, &linked, NULL,
                                             msg, sizeof msg),
                     0);
    assert_int_equal(rt_debate_reward_n_debates(x), 2); /* judge_full(d) once */
    assert_int_equal(rt_debate_reward_reads(r), 1);
    enum { G = 2, NU = 32, N = NU * G, T = 2 };
    rt_debate_reward_hook *h;
    assert_int_equal(rt_debate_reward_hook_new(x, N, 1, &h), 0);
    rt_rl_hook hook = rt_debate_reward_hook_of(h);
    static rt_task_sample su[NU], smp[N];
    static int tok[N * T], len[N], a_pi[N], a_b[N], a_u[NU];
    rt_rng sr = rt_rng_make(12);
    rt_task_sample_batch(w.task, &sr, 0, RT_TASK_HELDOUT, NU, su, NULL);
    rt_rng ar = rt_rng_split(&sr, 5);
    for (int i = 0; i < N; i++) {
        smp[i] = su[i / G];
        tok[i * T] = RT_TOK_LETTER0 + (int)rt_rng_below(&ar, 4);
        tok[i * T + 1] = RT_TOK_EOS;
        len[i] = 2;
        a_pi[i] = tok[i * T] - RT_TOK_LETTER0;
    }
    tok[0] = RT_TOK_EOS, len[0] = 1, a_pi[0] = -1; /* a malformed answer: 0 in both */
    rt_rng stream = rt_rng_make(44);
    rt_rl_hook_batch b = {1, N, G, T, smp, tok, len, &stream};
    int nf = rt_task_n_features(w.task), stride = nf + 2;
    static double feat[N * 16];
    double metrics[3];
    assert_int_equal(hook.fill(hook.user, &b, feat, stride, nf, metrics, msg, sizeof msg), 0);
    rt_model_ws *ws;
    assert_int_equal(rt_model_ws_create(&ws, &base->model, NU, NULL), 0);
    assert_int_equal(rt_debate_policy_actions(w.task, &base->model, ws, su, NU, a_u), 0);
    rt_model_ws_free(ws);
    for (int i = 0; i < N; i++)
        a_b[i] = a_u[i / G];
    static double od[N], of[N];
    rt_debate_metrics m;
    rt_rng k0 = rt_rng_split(&stream, 0);
    rt_diag err;
    assert_int_equal(rt_debate_eval(d1, smp, a_pi, a_b, N, &k0, 0, od, &m, &err), 0);
    assert_int_equal(rt_debate_full_reward_batch(d1, smp, a_pi, a_b, N, of), 0);
    int differ = 0, disagree = 0;
    for (int i = 0; i < N; i++) {
        assert_true(feat[i * stride + nf] == od[i]);
        assert_true(feat[i * stride + nf + 1] == of[i]);
        differ += a_pi[i] >= 0 && a_b[i] >= 0 && a_pi[i] != a_b[i];
        disagree += od[i] != of[i];
    }
    assert_true(feat[nf + 1] == 0.0);
    assert_true(metrics[0] == m.ret && metrics[2] == m.judge_win_full);
    assert_true(differ > 0 && disagree > 0); /* the columns are told apart */
    print_message("judge_full: %d differing states, debate and full judge disagree on %d\n", differ,
                  disagree);
    rt_debate_reward_hook_free(h);
    rt_debate_reward_free(x);
    rt_reward_free(linked);
    rt_reward_free(r);
    /* a run with it: deterministic, thread-independent */
    rt_run *ra = run_once(&w, "0.5 * outcome + judge_full(d)", 1, 1),
           *rb = run_once(&w, "0.5 * outcome + judge_full(d)", 2, 2),
           *rc = run_once(&w, "0.5 * outcome + judge_full(d)", 1, 1),
           *rd = run_once(&w, "0.5 * outcome + debate(d)", 1, 1);
    int n = rt_run_n_columns(ra), same_as_debate = 1;
    double va[64], vb[64], vc[64], vd[64];
    for (long row = 0; row < 4; row++) {
        rt_run_read(ra, row, 1, va);
        rt_run_read(rb, row, 1, vb);
        rt_run_read(rc, row, 1, vc);
        rt_run_read(rd, row, 1, vd);
        for (int k = 0; k < n; k++) {
            if (!strcmp(rt_run_column(ra, k), "wall")) continue;
            assert_memory_equal(&va[k], &vb[k], sizeof(double));
            assert_memory_equal(&va[k], &vc[k], sizeof(double));
            if (!strcmp(rt_run_column(ra, k), "reward")) same_as_debate &= va[k] == vd[k];
        }
    }
    assert_false(same_as_debate); /* another feature than debate(d) */
    rt_run_free(ra);
    rt_run_free(rb);
    rt_run_free(rc);
    rt_run_free(rd);
    w.reg.src[0].debate = w.d;
    w.reg.src[0].baseline = &w.baseline->model;
    rt_policy_free(base);
    rt_debate_free(d1);
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
        cmocka_unit_test(test_judge_full_feature),
        cmocka_unit_test(test_link_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
