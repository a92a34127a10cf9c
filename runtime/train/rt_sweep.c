/* rt_sweep.c: rt_sweep_run over an executor, and the threads executor: a small thread
 * pool for independent jobs (atomic work counter, the calling thread joins in), the
 * threads rule, and the matrix-product thread setting around parallel sweeps.  The
 * points' arithmetic and names are rt_sweep_points.c (runtime/core). */
#include "rt_sweep.h"

#include "rt_nn.h"
#include <pthread.h>

enum { MAX_THREADS = 256 };

typedef struct pool {
    rt_job *jobs;
    int n_jobs;
    atomic_int next;
    rt_job_ctx ctx; /* the same for every job of the pool */
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_jobs) break;
        rt_job *j = &p->jobs[i];
        if (p->ctx.cancel && atomic_load(p->ctx.cancel))
            j->status = RT_SWEEP_SKIPPED;
        else
            j->status = j->fn(j->arg, &p->ctx);
    }
    return NULL;
}

/* The thread count inside one matrix product (rt_nn_gemm_threads) is process-wide: the
 * first parallel sweep saves it and sets 1, the last one to end restores it. */
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_depth, blas_saved;

static void blas_single_begin(void)
{
    pthread_mutex_lock(&blas_mu);
    if (blas_depth++ == 0) {
        blas_saved = rt_nn_gemm_threads();
        rt_nn_set_gemm_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

static void blas_single_end(void)
{
    pthread_mutex_lock(&blas_mu);
    if (--blas_depth == 0) rt_nn_set_gemm_threads(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}

static void threads_run(const rt_executor *ex, rt_job *jobs, int n_jobs, atomic_int *cancel)
{
    int threads = ex->threads < 1 ? 1 : ex->threads;
    /* the threads rule: a lone job uses every thread inside, a sweep one per job */
    pool p = {.jobs = jobs, .n_jobs = n_jobs, .ctx = {cancel, n_jobs == 1 ? threads : 1}};
    atomic_init(&p.next, 0);
    int nt = threads < n_jobs ? threads : n_jobs;
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    pthread_t tid[MAX_THREADS];
    int started = 0;
    if (nt > 1) {
        blas_single_begin();
        for (int i = 1; i < nt; i++) {
            if (pthread_create(&tid[started], NULL, worker, &p)) break; /* run with fewer */
            started++;
        }
    }
    worker(&p);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (nt > 1) blas_single_end();
}

rt_executor rt_executor_threads(int threads)
{
    return (rt_executor){
        .name = "threads", .run = threads_run, .threads = threads < 1 ? 1 : threads};
}

int rt_sweep_run(rt_job *jobs, int n_jobs, const rt_executor *ex, atomic_int *cancel)
{
    if (n_jobs < 0 || (n_jobs > 0 && !jobs) || !ex || !ex->run) return RT_EINVAL;
    for (int i = 0; i < n_jobs; i++) {
        if (!jobs[i].fn) return RT_EINVAL;
        jobs[i].status = RT_SWEEP_NOT_RUN;
    }
    if (n_jobs > 0) ex->run(ex, jobs, n_jobs, cancel);
    int skipped = 0, failed = 0;
    for (int i = 0; i < n_jobs; i++) {
        if (jobs[i].status == RT_SWEEP_SKIPPED)
            skipped++;
        else if (jobs[i].status != 0)
            failed++;
    }
    return failed ? RT_EFAILED : skipped ? RT_EINTR : 0;
}

int rt_sweep_run_threads(rt_job *jobs, int n_jobs, int n_threads, atomic_int *cancel)
{
    if (n_threads < 1) return RT_EINVAL;
    rt_executor ex = rt_executor_threads(n_threads);
    return rt_sweep_run(jobs, n_jobs, &ex, cancel);
}
