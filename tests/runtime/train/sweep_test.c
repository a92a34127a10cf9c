/* sweep_test.c: sweeps give the same results on 1 and 2 threads (jobs using rt_rng,
 * floating point and sgemm), failures and cancellation, the OpenBLAS thread setting,
 * the cartesian product's order and names, the threads executor's rule and another
 * executor through the same interface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "rt_nn.h"
#include <math.h>
#include <string.h>

#include "rt_rng.h"
#include "rt_sweep.h"

enum { N = 48, STEPS = 40 };

typedef struct job {
    const char *name;
    float w[N * N], x[N * N], y[N * N];
    double loss;
    int steps_done;
    int fail_at;   /* step at which to return an error, -1 never */
    int cancel_at; /* step at which to set the cancel flag, -1 never */
    int blas_seen; /* rt_nn_gemm_threads() inside the job */
} job;

/* a small deterministic "training": random matrices from the job's own stream,
 * repeated sgemm and a nonlinear update, polling the cancel flag between steps */
static int train(void *arg, const rt_job_ctx *ctx)
{
    job *j = arg;
    rt_rng r = rt_rng_from_name(42, j->name);
    for (int i = 0; i < N * N; i++) {
        j->w[i] = 0.1f * rt_rng_normal(&r);
        j->x[i] = rt_rng_uniform(&r);
    }
    j->blas_seen = rt_nn_gemm_threads();
    j->loss = 0;
    for (int s = 0; s < STEPS; s++) {
        if (ctx->cancel && atomic_load(ctx->cancel)) return -7;
        if (s == j->fail_at) return -5;
        if (s == j->cancel_at && ctx->cancel) atomic_store(ctx->cancel, 1);
        rt_nn_sgemm(0, 0, N, N, N, 1.0f, j->w, N, j->x, N,
                    0.0f, j->y, N);
        double l = 0;
        for (int i = 0; i < N * N; i++) {
            float t = tanhf(j->y[i]);
            l += (double)t * t;
            j->x[i] = 0.9f * j->x[i] + 0.1f * t + 0.01f * rt_rng_normal(&r);
        }
        j->loss += l / (N * N);
        j->steps_done = s + 1;
    }
    return 0;
}

static job jobs_a[4], jobs_b[4];

static void setup_jobs(job *js, rt_job *sj)
{
    const char *names[] = {"r[lr=0.1]", "r[lr=0.2]", "r[lr=0.3]", "r[lr=0.4]"};
    for (int i = 0; i < 4; i++) {
        memset(&js[i], 0, sizeof js[i]);
        js[i].name = names[i];
        js[i].fail_at = -1;
        js[i].cancel_at = -1;
        sj[i].fn = train;
        sj[i].arg = &js[i];
    }
}

static void one_vs_two_threads(void **state)
{
    (void)state;
    rt_job sa[4], sb[4];
    setup_jobs(jobs_a, sa);
    setup_jobs(jobs_b, sb);
    int before = rt_nn_gemm_threads();
    assert_int_equal(rt_sweep_run_threads(sa, 4, 1, NULL), 0);
    assert_int_equal(rt_nn_gemm_threads(), before);
    assert_int_equal(rt_sweep_run_threads(sb, 4, 2, NULL), 0);
    assert_int_equal(rt_nn_gemm_threads(), before);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sa[i].status, 0);
        assert_int_equal(sb[i].status, 0);
        assert_int_equal(jobs_b[i].blas_seen, 1); /* single-threaded BLAS in parallel */
        assert_int_equal(jobs_a[i].steps_done, STEPS);
        assert_memory_equal(jobs_a[i].w, jobs_b[i].w, sizeof jobs_a[i].w);
        assert_memory_equal(jobs_a[i].x, jobs_b[i].x, sizeof jobs_a[i].x);
        assert_memory_equal(&jobs_a[i].loss, &jobs_b[i].loss, sizeof(double));
        assert_true(jobs_a[i].loss > 0);
    }
    assert_true(jobs_a[0].loss != jobs_a[1].loss); /* the jobs really differ */
}

static void failure_does_not_stop_others(void **state)
{
    (void)state;
    rt_job sj[4];
    setup_jobs(jobs_a, sj);
    jobs_a[1].fail_at = 3;
    assert_int_equal(rt_sweep_run_threads(sj, 4, 2, NULL), RT_EFAILED);
    assert_int_equal(sj[1].status, -5);
    assert_int_equal(jobs_a[1].steps_done, 3);
    for (int i = 0; i < 4; i++)
        if (i != 1) {
            assert_int_equal(sj[i].status, 0);
            assert_int_equal(jobs_a[i].steps_done, STEPS);
        }
}

static int cancel_after_first(void *arg, const rt_job_ctx *ctx)
{
    int *count = arg;
    (*count)++;
    atomic_store(ctx->cancel, 1);
    return 0;
}

static void cancellation(void **state)
{
    (void)state;
    atomic_int cancel;
    atomic_init(&cancel, 1);
    rt_job sj[4];
    setup_jobs(jobs_a, sj);
    assert_int_equal(rt_sweep_run_threads(sj, 4, 2, &cancel), RT_EINTR);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sj[i].status, RT_SWEEP_SKIPPED);
        assert_int_equal(jobs_a[i].steps_done, 0);
    }
    /* sequential: the first job sets the flag, the rest are skipped */
    atomic_store(&cancel, 0);
    int count = 0;
    rt_job cj[3] = {{.fn = cancel_after_first, .arg = &count, .status = 0},
                          {.fn = cancel_after_first, .arg = &count, .status = 0},
                          {.fn = cancel_after_first, .arg = &count, .status = 0}};
    assert_int_equal(rt_sweep_run_threads(cj, 3, 1, &cancel), RT_EINTR);
    assert_int_equal(count, 1);
    assert_int_equal(cj[0].status, 0);
    assert_int_equal(cj[2].status, RT_SWEEP_SKIPPED);
    /* a running job sees the flag between its steps */
    atomic_store(&cancel, 0);
    setup_jobs(jobs_a, sj);
    jobs_a[0].cancel_at = 5;
    assert_int_equal(rt_sweep_run_threads(sj, 4, 1, &cancel), RT_EFAILED);
    assert_int_equal(sj[0].status, -7);
    assert_int_equal(jobs_a[0].steps_done, 6);
    assert_int_equal(sj[1].status, RT_SWEEP_SKIPPED);
    atomic_store(&cancel, 0);
    assert_int_equal(rt_sweep_run_threads(sj, 0, 2, &cancel), 0);
    assert_int_equal(rt_sweep_run_threads(sj, 4, 0, &cancel), RT_EINVAL);
    sj[2].fn = NULL;
    assert_int_equal(rt_sweep_run_threads(sj, 4, 1, &cancel), RT_EINVAL);
}

static void cartesian_product(void **state)
{
    (void)state;
    const char *lr[] = {"0.1", "0.01"}, *seed[] = {"1", "2", "3"}, *algo[] = {"grpo"};
    rt_sweep_key keys[3] = {{"lr", 2, lr}, {"seed", 3, seed}, {"algo", 1, algo}};
    assert_int_equal(rt_sweep_count(keys, 3), 6);
    assert_int_equal(rt_sweep_count(keys, 0), 1);
    const char *want[] = {"rl[lr=0.1,seed=1,algo=grpo]",  "rl[lr=0.1,seed=2,algo=grpo]",
                          "rl[lr=0.1,seed=3,algo=grpo]",  "rl[lr=0.01,seed=1,algo=grpo]",
                          "rl[lr=0.01,seed=2,algo=grpo]", "rl[lr=0.01,seed=3,algo=grpo]"};
    for (long p = 0; p < 6; p++) {
        int idx[3];
        char name[64];
        assert_int_equal(rt_sweep_point(keys, 3, p, idx), 0);
        assert_int_equal(idx[0], p / 3);
        assert_int_equal(idx[1], p % 3);
        assert_int_equal(idx[2], 0);
        for (int k = 0; k < 3; k++)
            assert_int_equal(rt_sweep_coord(keys, 3, p, k), idx[k]);
        long n = rt_sweep_point_name("rl", keys, 3, p, name, sizeof name);
        assert_string_equal(name, want[p]);
        assert_int_equal(n, (long)strlen(want[p]));
    }
    int idx[3];
    char small[6];
    assert_int_equal(rt_sweep_point(keys, 3, 6, idx), RT_EINVAL);
    assert_int_equal(rt_sweep_point_name("rl", keys, 3, -1, small, sizeof small), -1);
    assert_int_equal(rt_sweep_point_name("rl", keys, 3, 0, small, sizeof small), 27);
    assert_string_equal(small, "rl[lr");
    char plain[8];
    assert_int_equal(rt_sweep_point_name("rl", keys, 0, 0, plain, sizeof plain), 2);
    assert_string_equal(plain, "rl");
    rt_sweep_key none = {"x", 0, NULL};
    assert_int_equal(rt_sweep_count(&none, 1), -1);
    const char *many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    rt_sweep_key big[20];
    for (int k = 0; k < 20; k++)
        big[k] = (rt_sweep_key){"k", 10, many};
    assert_int_equal(rt_sweep_count(big, 18), 1000000000000000000L);
    assert_int_equal(rt_sweep_count(big, 20), -1); /* overflow */
}

/* The threads rule of the threads executor: a lone job gets every thread inside, the
 * jobs of a sweep one each. */
static int record_threads(void *arg, const rt_job_ctx *ctx)
{
    *(int *)arg = ctx->threads;
    return 0;
}

static void threads_rule(void **state)
{
    (void)state;
    int seen[3] = {0, 0, 0};
    rt_job one = {.fn = record_threads, .arg = &seen[0]};
    rt_executor ex = rt_executor_threads(3);
    assert_string_equal(ex.name, "threads");
    assert_int_equal(rt_sweep_run(&one, 1, &ex, NULL), 0);
    assert_int_equal(seen[0], 3);
    rt_job two[2] = {{.fn = record_threads, .arg = &seen[1]},
                     {.fn = record_threads, .arg = &seen[2]}};
    assert_int_equal(rt_sweep_run(two, 2, &ex, NULL), 0);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 1);
    ex = rt_executor_threads(0); /* clamped */
    assert_int_equal(rt_sweep_run(&one, 1, &ex, NULL), 0);
    assert_int_equal(seen[0], 1);
}

/* Another executor through the same interface: runs the jobs last to first on the
 * calling thread and skips the job at self (rt_sweep_run tallies the statuses). */
static void backwards_run(const rt_executor *ex, rt_job *jobs, int n, atomic_int *cancel)
{
    rt_job_ctx ctx = {cancel, ex->threads};
    for (int i = n - 1; i >= 0; i--)
        jobs[i].status = i == *(int *)ex->self ? RT_SWEEP_SKIPPED : jobs[i].fn(jobs[i].arg, &ctx);
}

static void custom_executor(void **state)
{
    (void)state;
    int seen[3] = {0, 0, 0}, skip = -1;
    rt_job jobs[3] = {{.fn = record_threads, .arg = &seen[0], .trainer = "toy", .name = "a[x=1]"},
                      {.fn = record_threads, .arg = &seen[1]},
                      {.fn = record_threads, .arg = &seen[2]}};
    rt_executor ex = {.name = "backwards", .run = backwards_run, .threads = 5, .self = &skip};
    assert_int_equal(rt_sweep_run(jobs, 3, &ex, NULL), 0);
    assert_true(seen[0] == 5 && seen[1] == 5 && seen[2] == 5);
    skip = 1;
    assert_int_equal(rt_sweep_run(jobs, 3, &ex, NULL), RT_EINTR);
    assert_int_equal(jobs[1].status, RT_SWEEP_SKIPPED);
    assert_int_equal(rt_sweep_run(jobs, 3, NULL, NULL), RT_EINVAL);
    rt_executor none = {.name = "none"};
    assert_int_equal(rt_sweep_run(jobs, 3, &none, NULL), RT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_vs_two_threads),
        cmocka_unit_test(failure_does_not_stop_others),
        cmocka_unit_test(cancellation),
        cmocka_unit_test(cartesian_product),
        cmocka_unit_test(threads_rule),
        cmocka_unit_test(custom_executor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
