/* trainer_test.c: rt_trainer_run with a toy trainer record (a counter whose metric is
 * its step): a new trainer is one record of a few lines.  The log/eval cadence, the
 * start row, columns matched by name, cancel (with and without the stop row),
 * a failing step, non-finite metrics (with and without the failing row), setup
 * failures, finish and free called once, no run at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_trainer.h"

/* ---- the toy trainer: everything it is ---- */

typedef struct toy_args {
    long steps, log_every, eval_every;
    int eval, eval_at_start, row_on_stop, row_on_nonfinite;
    long fail_at, inf_at, nan_at, cancel_at, setup_code; /* 0 = never */
    atomic_int *cancel;
    int *finished, *freed; /* counters of the calls, and the ending finish saw */
    rt_run_status *how;
} toy_args;

typedef struct toy {
    const toy_args *a;
    long count, window;
} toy;

enum { M_STEP, M_COUNT, M_VALUE, M_MEAN, M_EVAL, M_WALL, N_M };
static const char *const toy_metrics[N_M] = {"step", "count", "value", "mean", "eval", "wall"};
static const int toy_finite[] = {M_VALUE};

static int toy_setup(void **st, const void *args, const rt_rng *rng, rt_trainer_plan *p,
                     rt_diag *d)
{
    (void)rng;
    const toy_args *a = args;
    if (a->setup_code) {
        snprintf(d->msg, sizeof d->msg, "toy: bad configuration");
        snprintf(d->key, sizeof d->key, "steps");
        return (int)a->setup_code;
    }
    toy *t = calloc(1, sizeof *t);
    if (!t) return RT_ENOMEM;
    t->a = a;
    *st = t;
    *p = (rt_trainer_plan){.steps = a->steps,
                           .log_every = a->log_every,
                           .eval = a->eval,
                           .eval_every = a->eval_every,
                           .eval_at_start = a->eval_at_start,
                           .row_on_stop = a->row_on_stop,
                           .row_on_nonfinite = a->row_on_nonfinite,
                           .metrics = toy_metrics,
                           .n_metrics = N_M,
                           .finite = toy_finite,
                           .n_finite = 1};
    return 0;
}

static int toy_step(void *st, long s, double *m, char *msg, size_t cap)
{
    toy *t = st;
    if (s == t->a->fail_at) {
        snprintf(msg, cap, "boom");
        return 1;
    }
    t->count++;
    t->window++;
    m[M_COUNT] = (double)t->count;
    m[M_VALUE] = s == t->a->inf_at ? INFINITY : s == t->a->nan_at ? NAN : (double)s;
    if (s == t->a->cancel_at) atomic_store(t->a->cancel, 1);
    return 0;
}

static int toy_row(void *st, long s, int eval, const int *rec, double *m, char *msg, size_t cap)
{
    (void)msg, (void)cap;
    toy *t = st;
    m[M_MEAN] = rec[M_MEAN] ? (double)t->window : -1.0; /* steps since the last row */
    m[M_EVAL] = eval ? 100.0 + (double)s : NAN;
    t->window = 0;
    return 0;
}

static void toy_finish(void *st, rt_run_status how)
{
    toy *t = st;
    (*t->a->finished)++;
    *t->a->how = how;
}

static void toy_free(void *st)
{
    toy *t = st;
    (*t->a->freed)++;
    free(t);
}

static const rt_trainer toy_trainer = {"toy", toy_setup, toy_step, toy_row, toy_finish, toy_free};

/* ---- helpers ---- */

static int finished, freed;
static rt_run_status how;

static toy_args args_of(long steps, long log_every)
{
    finished = freed = 0;
    how = RT_RUN_CREATED;
    return (toy_args){.steps = steps,
                      .log_every = log_every,
                      .finished = &finished,
                      .freed = &freed,
                      .how = &how};
}

static rt_run *make_run(const char *const *cols, int n)
{
    rt_run *r;
    assert_int_equal(rt_run_create("toy", cols, n, &r), 0);
    return r;
}

static const char *const all_cols[] = {"step", "count", "value", "mean", "eval", "wall"};

static double cell(rt_run *r, long row, int c)
{
    double v[8];
    assert_int_equal(rt_run_read(r, row, 1, v), 1);
    return v[c];
}

static long steps_of(rt_run *r, long *out, long cap)
{
    long n = rt_run_rows(r);
    for (long i = 0; i < n && i < cap; i++)
        out[i] = (long)cell(r, i, 0);
    return n;
}

/* ---- tests ---- */

static void test_cadence(void **st)
{
    (void)st;
    toy_args a = args_of(10, 3);
    a.eval = 1, a.eval_every = 4;
    rt_run *run = make_run(all_cols, 6);
    rt_diag d;
    rt_rng rng = rt_rng_make(1);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), 0);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.step, 10);
    long s[16], want[] = {3, 4, 6, 8, 9, 10};
    assert_int_equal(steps_of(run, s, 16), 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s[i], want[i]);
        assert_float_equal(cell(run, i, 1), (double)want[i], 0); /* the counter */
        assert_float_equal(cell(run, i, 2), (double)want[i], 0); /* the step's value */
        assert_float_equal(cell(run, i, 3), (double)(want[i] - (i ? want[i - 1] : 0)), 0);
        int ev = want[i] % 4 == 0 || want[i] == 10;
        if (ev)
            assert_float_equal(cell(run, i, 4), 100.0 + want[i], 0);
        else
            assert_true(isnan(cell(run, i, 4)));
        assert_true(cell(run, i, 5) >= 0.0); /* wall, filled by the loop */
    }
    long at;
    assert_int_equal(rt_run_status_of(run, &at, NULL, 0), RT_RUN_FINISHED);
    assert_int_equal(at, 10);
    assert_int_equal(finished, 1);
    assert_int_equal(freed, 1);
    assert_int_equal(how, RT_RUN_FINISHED);
    rt_run_free(run);

    /* eval_every 0 with eval on: only the last step; a start row with the evaluation */
    a = args_of(5, 2);
    a.eval = 1, a.eval_at_start = 1;
    run = make_run(all_cols, 6);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, NULL), 0);
    long want0[] = {0, 2, 4, 5};
    assert_int_equal(steps_of(run, s, 16), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s[i], want0[i]);
    assert_float_equal(cell(run, 0, 4), 100.0, 0);
    assert_true(isnan(cell(run, 0, 1)) && isnan(cell(run, 0, 2)));
    assert_float_equal(cell(run, 0, 5), 0.0, 0); /* wall of the start row */
    assert_true(isnan(cell(run, 1, 4)) && isnan(cell(run, 2, 4)));
    assert_float_equal(cell(run, 3, 4), 105.0, 0);
    rt_run_free(run);

    /* no eval at all: eval_every is ignored */
    a = args_of(4, 4);
    a.eval_every = 1;
    run = make_run(all_cols, 6);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, NULL), 0);
    assert_int_equal(rt_run_rows(run), 1);
    assert_true(isnan(cell(run, 0, 4)));
    rt_run_free(run);
}

/* Metrics go to the columns of the same name; other columns stay NaN; metrics the run
 * lacks are dropped and the trainer is told (rec). */
static void test_columns_by_name(void **st)
{
    (void)st;
    static const char *const cols[] = {"other", "value", "step"};
    toy_args a = args_of(4, 2);
    rt_run *run = make_run(cols, 3);
    rt_rng rng = rt_rng_make(1);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, NULL), 0);
    assert_int_equal(rt_run_rows(run), 2);
    double v[3];
    assert_int_equal(rt_run_read(run, 1, 1, v), 1);
    assert_true(isnan(v[0]));
    assert_float_equal(v[1], 4.0, 0);
    assert_float_equal(v[2], 4.0, 0);
    rt_run_free(run);

    /* no run: it trains, nothing else */
    a = args_of(7, 2);
    rt_diag d;
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, NULL, &d), 0);
    assert_int_equal(d.step, 7);
    assert_int_equal(finished, 1);
}

static void test_cancel(void **st)
{
    (void)st;
    atomic_int flag = 0;
    toy_args a = args_of(100, 4);
    a.cancel = &flag, a.cancel_at = 6;
    rt_run *run = make_run(all_cols, 6);
    rt_run_set_cancel(run, &flag);
    rt_rng rng = rt_rng_make(1);
    rt_diag d;
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINTR);
    assert_int_equal(d.step, 6);
    assert_string_equal(d.msg, "toy: interrupted after step 6");
    long at, s[8];
    assert_int_equal(rt_run_status_of(run, &at, NULL, 0), RT_RUN_INTERRUPTED);
    assert_int_equal(at, 6);
    assert_int_equal(steps_of(run, s, 8), 1); /* step 4 only: no stop row */
    assert_int_equal(s[0], 4);
    assert_int_equal(how, RT_RUN_INTERRUPTED);
    assert_int_equal(freed, 1);
    rt_run_free(run);

    /* with the stop row: the last completed step is logged once */
    atomic_store(&flag, 0);
    a = args_of(100, 4);
    a.cancel = &flag, a.cancel_at = 6, a.row_on_stop = 1;
    run = make_run(all_cols, 6);
    rt_run_set_cancel(run, &flag);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINTR);
    assert_int_equal(steps_of(run, s, 8), 2);
    assert_int_equal(s[1], 6);
    assert_float_equal(cell(run, 1, 3), 2.0, 0); /* the window since step 4 */
    rt_run_free(run);

    /* ... but not twice when the step was logged */
    atomic_store(&flag, 0);
    a.cancel_at = 8;
    run = make_run(all_cols, 6);
    rt_run_set_cancel(run, &flag);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINTR);
    assert_int_equal(steps_of(run, s, 8), 2);
    assert_int_equal(s[1], 8);
    rt_run_free(run);

    /* a flag set before the run: no step, no row */
    atomic_store(&flag, 1);
    a = args_of(100, 1);
    a.row_on_stop = 1;
    run = make_run(all_cols, 6);
    rt_run_set_cancel(run, &flag);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINTR);
    assert_int_equal(d.step, 0);
    assert_int_equal(rt_run_rows(run), 0);
    assert_int_equal(rt_run_status_of(run, &at, NULL, 0), RT_RUN_INTERRUPTED);
    rt_run_free(run);
}

static void test_failing_step(void **st)
{
    (void)st;
    toy_args a = args_of(10, 1);
    a.fail_at = 3;
    rt_run *run = make_run(all_cols, 6);
    rt_rng rng = rt_rng_make(1);
    rt_diag d;
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EFAILED);
    assert_int_equal(d.step, 3);
    assert_string_equal(d.msg, "toy: boom at step 3");
    char msg[64];
    long at;
    assert_int_equal(rt_run_status_of(run, &at, msg, sizeof msg), RT_RUN_FAILED);
    assert_int_equal(at, 3);
    assert_string_equal(msg, "toy: boom at step 3");
    assert_int_equal(rt_run_rows(run), 2);
    assert_int_equal(how, RT_RUN_FAILED);
    assert_int_equal(finished, 1);
    assert_int_equal(freed, 1);
    rt_run_free(run);
}

static void test_nonfinite(void **st)
{
    (void)st;
    toy_args a = args_of(10, 1);
    a.inf_at = 2;
    rt_run *run = make_run(all_cols, 6);
    rt_rng rng = rt_rng_make(1);
    rt_diag d;
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EFAILED);
    assert_int_equal(d.step, 2);
    assert_string_equal(d.msg, "toy: value is inf at step 2");
    char msg[64];
    assert_int_equal(rt_run_status_of(run, NULL, msg, sizeof msg), RT_RUN_FAILED);
    assert_string_equal(msg, "toy: value is inf at step 2");
    assert_int_equal(rt_run_rows(run), 1); /* step 1 only */
    rt_run_free(run);

    /* nan, and the failing row kept */
    a = args_of(10, 5);
    a.nan_at = 3, a.row_on_nonfinite = 1;
    run = make_run(all_cols, 6);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EFAILED);
    assert_string_equal(d.msg, "toy: value is nan at step 3");
    assert_int_equal(rt_run_rows(run), 1);
    assert_float_equal(cell(run, 0, 0), 3.0, 0);
    assert_true(isnan(cell(run, 0, 2)));
    rt_run_free(run);

    /* an unchecked metric may be NaN (eval between evaluations) */
    a = args_of(3, 1);
    run = make_run(all_cols, 6);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), 0);
    rt_run_free(run);
}

static void test_setup_failures(void **st)
{
    (void)st;
    toy_args a = args_of(10, 1);
    a.setup_code = RT_EINVAL;
    rt_run *run = make_run(all_cols, 6);
    rt_rng rng = rt_rng_make(1);
    rt_diag d;
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINVAL);
    assert_string_equal(d.msg, "toy: bad configuration");
    assert_string_equal(d.key, "steps");
    assert_int_equal(d.step, 0);
    char msg[64];
    assert_int_equal(rt_run_status_of(run, NULL, msg, sizeof msg), RT_RUN_FAILED);
    assert_string_equal(msg, "toy: bad configuration");
    assert_int_equal(rt_run_rows(run), 0);
    assert_int_equal(finished, 0);
    assert_int_equal(freed, 0);
    rt_run_free(run);

    /* a plan the loop cannot run (log_every 0): the trainer's state is freed */
    a = args_of(10, 0);
    run = make_run(all_cols, 6);
    assert_int_equal(rt_trainer_run(&toy_trainer, &a, &rng, run, &d), RT_EINVAL);
    assert_string_equal(d.msg, "toy: bad plan");
    assert_int_equal(freed, 1);
    assert_int_equal(rt_run_status_of(run, NULL, NULL, 0), RT_RUN_FAILED);
    rt_run_free(run);

    /* a record without its callbacks */
    rt_trainer none = {"none", NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(rt_trainer_run(&none, &a, &rng, NULL, &d), RT_EINVAL);
    assert_int_equal(rt_trainer_run(NULL, &a, &rng, NULL, &d), RT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cadence),   cmocka_unit_test(test_columns_by_name),
        cmocka_unit_test(test_cancel),    cmocka_unit_test(test_failing_step),
        cmocka_unit_test(test_nonfinite), cmocka_unit_test(test_setup_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
