/* fx_train.h: builders shared by the runtime tests of training (train, opd, rl, debate;
 * header-only, needs cmocka, rt_task and rt_train): a task of a kind with one setting, a
 * triage task, a mix of two kinds, a seeded MLP over the tasks' vocabulary and a copy of it, a run
 * with a trainer's columns (plus extra ones), one cell of a run's row; and, when
 * rt_reward.h was included first, a reward compiled over a task's features (plus extra
 * ones).  Leaves out: trainer configurations (each test states the settings it relies
 * on), the model helpers (fx_model.h, included here). */
#ifndef FX_TRAIN_H
#define FX_TRAIN_H

#include <string.h>

#include "fx_model.h"
#include "rt_diag.h"
#include "rt_run.h"
#include "rt_task.h"

/* A task of that kind; key != NULL sets one setting.  Caller frees. */
static inline rt_task *fx_task(const char *kind, const char *key, double value)
{
    rt_task_config tc;
    rt_task_config_init(&tc, kind);
    if (key) assert_int_equal(rt_task_config_set(&tc, key, value, NULL), 0);
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    return t;
}

/* triage with that many features and values, and that conflict rate.  Caller frees. */
static inline rt_task *fx_triage(int features, int values, double conflict)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    assert_int_equal(rt_task_config_set(&tc, "features", features, NULL), 0);
    assert_int_equal(rt_task_config_set(&tc, "values", values, NULL), 0);
    assert_int_equal(rt_task_config_set(&tc, "conflict", conflict, NULL), 0);
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    return t;
}

/* mix of kind a (akey = aval) and kind b (bkey = bval); a NULL key sets nothing.  Caller
 * frees. */
static inline rt_task *fx_mix(const char *a, const char *akey, int aval, const char *b,
                              const char *bkey, int bval)
{
    rt_task_config d[2], tc;
    rt_task_config_init(&d[0], a);
    rt_task_config_init(&d[1], b);
    if (akey) assert_int_equal(rt_task_config_set(&d[0], akey, aval, NULL), 0);
    if (bkey) assert_int_equal(rt_task_config_set(&d[1], bkey, bval, NULL), 0);
    rt_task_config_init(&tc, "mix");
    tc.tasks = d;
    tc.n_tasks = 2;
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    return t;
}

/* A ReLU MLP over the tasks' vocabulary: context K, embed D, hidden H, L layers,
 * initialized from rt_rng_make(seed) (fx_task_mlp) or *init (fx_task_mlp_from). */
static inline rt_policy *fx_task_mlp(int K, int D, int H, int L, uint64_t seed)
{
    return fx_mlp(RT_TASK_VOCAB, K, D, H, L, RT_NN_ACT_RELU, seed);
}

static inline rt_policy *fx_task_mlp_from(int K, int D, int H, int L, const rt_rng *init)
{
    return fx_mlp_from(RT_TASK_VOCAB, K, D, H, L, RT_NN_ACT_RELU, init);
}

static inline rt_policy *fx_copy(const rt_policy *p)
{
    rt_policy *c;
    assert_int_equal(rt_policy_copy(&c, p, NULL), 0);
    return c;
}

/* A run named `name` with columns cols (n) followed by extra (nextra). */
static inline rt_run *fx_run(const char *name, const char *const *cols, int n,
                             const char *const *extra, int nextra)
{
    const char *all[64];
    assert_true(n + nextra <= 64);
    for (int i = 0; i < n; i++)
        all[i] = cols[i];
    for (int i = 0; i < nextra; i++)
        all[n + i] = extra[i];
    rt_run *run;
    assert_int_equal(rt_run_create(name, all, n + nextra, &run), 0);
    return run;
}

/* the value in column col of row `row` */
static inline double fx_cell(const rt_run *run, long row, const char *col)
{
    double v[64];
    assert_true(rt_run_n_columns(run) <= 64);
    assert_int_equal(rt_run_read(run, row, 1, v), 1);
    int i = rt_run_column_index(run, col);
    assert_true(i >= 0);
    return v[i];
}

/* Runs a and b have the same number of rows and the same bits in every cell (NaN equal to
 * NaN) but the columns named in skip (NULL-terminated, may be NULL; "wall" is always
 * skipped: seconds). */
static inline void fx_assert_same_cells(const rt_run *a, const rt_run *b, const char *const *skip)
{
    rt_run_snapshot sa, sb;
    assert_int_equal(rt_run_snapshot_take(a, &sa), 0);
    assert_int_equal(rt_run_snapshot_take(b, &sb), 0);
    assert_int_equal(sa.rows, sb.rows);
    assert_int_equal(sa.n_columns, sb.n_columns);
    for (long k = 0; k < sa.rows * sa.n_columns; k++) {
        const char *col = rt_run_column(a, (int)(k % sa.n_columns));
        int skipped = !strcmp(col, "wall");
        for (int i = 0; skip && skip[i] && !skipped; i++)
            skipped = !strcmp(col, skip[i]);
        if (skipped) continue;
        double x = sa.values[k], y = sb.values[k];
        assert_true((x != x && y != y) || memcmp(&x, &y, sizeof x) == 0);
    }
    rt_run_snapshot_free(&sa);
    rt_run_snapshot_free(&sb);
}

#ifdef RT_REWARD_H
/* The reward `src` (named r) over t's features, then extra (nextra) at the next slots. */
static inline rt_reward_program *fx_reward(const rt_task *t, const char *const *extra, int nextra,
                                           const char *src)
{
    const char *names[RT_TASK_MAX_FEATURES + 8];
    int nf = rt_task_n_features(t);
    assert_true(nextra <= 8);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(t, i);
    for (int i = 0; i < nextra; i++)
        names[nf + i] = extra[i];
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = names;
    env.n_features = nf + nextra;
    rt_reward_program *p;
    rt_diag d;
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    return p;
}
#endif

#endif
