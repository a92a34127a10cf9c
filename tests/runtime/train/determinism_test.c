/* determinism_test.c: SFT runs are bit-identical — the same run twice, at 1 vs 2
 * OpenBLAS threads, and two runs inside a 2-thread rt_sweep vs the same runs done one
 * after another — in parameters, Adam moments and every metric except `wall`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rt_sft.h"
#include "rt_sweep.h"

#include "fx_train.h"

typedef struct job {
    const char *name;
    double noise;
    int hidden;
    rt_task *task;
    rt_policy *p;
    rt_run *run;
} job;

static rt_task *add_task(void)
{
    return fx_task("add", "digits", 2);
}

/* A fresh policy and run for the job (made on the calling thread). */
static void job_init(job *j)
{
    rt_rng r = rt_rng_from_name(1, j->name);
    j->p = fx_task_mlp_from(8, 16, j->hidden, 2, &r);
    int n;
    const char *const *cols = rt_sft_columns(&n);
    j->run = fx_run(j->name, cols, n, NULL, 0);
}

static void job_fini(job *j)
{
    rt_policy_free(j->p);
    rt_run_free(j->run);
}

static int job_fn(void *arg, const rt_job_ctx *ctx)
{
    job *j = arg;
    rt_sft_config c;
    rt_sft_config_init(&c);
    c.steps = 24;
    c.batch = 48;
    c.noise = j->noise;
    c.eval_every = 12;
    c.log_every = 4;
    c.eval_prompts = 200;
    rt_rng base = rt_rng_from_name(1, j->name), r = rt_rng_split(&base, 7);
    if (ctx && ctx->cancel) rt_run_set_cancel(j->run, ctx->cancel);
    return rt_sft_run(j->p, j->task, &c, j->run, &r, NULL);
}

/* parameters, moments and metrics (all but wall) bit for bit */
static void assert_same(const job *a, const job *b)
{
    size_t n = a->p->params.n * sizeof(float);
    assert_int_equal(a->p->params.n, b->p->params.n);
    assert_memory_equal(a->p->params.w, b->p->params.w, n);
    assert_memory_equal(a->p->params.m, b->p->params.m, n);
    assert_memory_equal(a->p->params.v, b->p->params.v, n);
    rt_run_snapshot sa, sb;
    assert_int_equal(rt_run_snapshot_take(a->run, &sa), 0);
    assert_int_equal(rt_run_snapshot_take(b->run, &sb), 0);
    assert_int_equal(sa.rows, 6);
    assert_int_equal(sb.rows, sa.rows);
    int wall = rt_run_column_index(a->run, "wall"),
        ev = rt_run_column_index(a->run, "eval_accuracy");
    int evals = 0;
    for (long r = 0; r < sa.rows; r++)
        for (int c = 0; c < sa.n_columns; c++) {
            if (c == wall) continue;
            double x = sa.values[r * sa.n_columns + c], y = sb.values[r * sa.n_columns + c];
            assert_memory_equal(&x, &y, sizeof x);
            evals += c == ev && !isnan(x);
        }
    assert_int_equal(evals, 2);
    rt_run_snapshot_free(&sa);
    rt_run_snapshot_free(&sb);
}

static void test_same_run_twice(void **state)
{
    (void)state;
    rt_task *t = add_task();
    job a = {"twice", 0.3, 64, t, NULL, NULL}, b = a;
    job_init(&a);
    job_init(&b);
    assert_int_equal(job_fn(&a, NULL), 0);
    assert_int_equal(job_fn(&b, NULL), 0);
    assert_same(&a, &b);
    /* and a different noise gives different weights */
    job c = {"twice", 0.9, 64, t, NULL, NULL};
    job_init(&c);
    assert_int_equal(job_fn(&c, NULL), 0);
    assert_true(memcmp(a.p->params.w, c.p->params.w, a.p->params.n * sizeof(float)) != 0);
    job_fini(&a);
    job_fini(&b);
    job_fini(&c);
    rt_task_free(t);
}

static void test_blas_threads(void **state)
{
    (void)state;
    rt_task *t = add_task();
    int saved = rt_nn_gemm_threads();
    job a = {"threads", 0.5, 256, t, NULL, NULL}, b = a;
    job_init(&a);
    job_init(&b);
    rt_nn_set_gemm_threads(1);
    assert_int_equal(rt_nn_gemm_threads(), 1);
    assert_int_equal(job_fn(&a, NULL), 0);
    rt_nn_set_gemm_threads(2);
    assert_int_equal(rt_nn_gemm_threads(), 2);
    assert_int_equal(job_fn(&b, NULL), 0);
    rt_nn_set_gemm_threads(saved);
    assert_same(&a, &b);
    job_fini(&a);
    job_fini(&b);
    rt_task_free(t);
}

static void test_sweep_vs_sequential(void **state)
{
    (void)state;
    rt_task *t = add_task();
    job par[2] = {{"sweep[noise=0]", 0.0, 128, t, NULL, NULL},
                  {"sweep[noise=0.6]", 0.6, 128, t, NULL, NULL}};
    job seq[2] = {par[0], par[1]};
    rt_job jobs[2];
    for (int i = 0; i < 2; i++) {
        job_init(&par[i]);
        job_init(&seq[i]);
        jobs[i] = (rt_job){.fn = job_fn, .arg = &par[i], .status = RT_SWEEP_NOT_RUN};
    }
    atomic_int cancel = 0;
    assert_int_equal(rt_sweep_run_threads(jobs, 2, 2, &cancel), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(jobs[i].status, 0);
        assert_int_equal(job_fn(&seq[i], NULL), 0);
        assert_same(&par[i], &seq[i]);
        assert_int_equal(rt_run_status_of(par[i].run, NULL, NULL, 0), RT_RUN_FINISHED);
    }
    assert_true(
        memcmp(par[0].p->params.w, par[1].p->params.w, par[0].p->params.n * sizeof(float)) != 0);
    for (int i = 0; i < 2; i++) {
        job_fini(&par[i]);
        job_fini(&seq[i]);
    }
    rt_task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_run_twice),
        cmocka_unit_test(test_blas_threads),
        cmocka_unit_test(test_sweep_vs_sequential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
