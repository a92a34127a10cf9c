/* rt_sweep.c: a small thread pool for independent jobs (atomic work counter, the
 * calling thread joins in), the matrix-product thread setting around parallel sweeps, and
 * cartesian-product index arithmetic and names for sweep points. */
#include "rt_sweep.h"

#include "rt_nn.h"
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { MAX_THREADS = 256 };

typedef struct pool {
    rt_sweep_job *jobs;
    int n_jobs;
    atomic_int next;
    atomic_int *cancel;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_jobs) break;
        rt_sweep_job *j = &p->jobs[i];
        if (p->cancel && atomic_load(p->cancel))
            j->status = RT_SWEEP_SKIPPED;
        else
            j->status = j->fn(j->arg, p->cancel);
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

int rt_sweep_run(rt_sweep_job *jobs, int n_jobs, int n_threads, atomic_int *cancel)
{
    if (n_jobs < 0 || (n_jobs > 0 && !jobs) || n_threads < 1) return RT_SWEEP_EINVAL;
    for (int i = 0; i < n_jobs; i++) {
        if (!jobs[i].fn) return RT_SWEEP_EINVAL;
        jobs[i].status = RT_SWEEP_NOT_RUN;
    }
    pool p = {.jobs = jobs, .n_jobs = n_jobs, .cancel = cancel};
    atomic_init(&p.next, 0);
    int nt = n_threads < n_jobs ? n_threads : n_jobs;
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
    int skipped = 0, failed = 0;
    for (int i = 0; i < n_jobs; i++) {
        if (jobs[i].status == RT_SWEEP_SKIPPED)
            skipped++;
        else if (jobs[i].status != 0)
            failed++;
    }
    return failed ? RT_SWEEP_EFAILED : skipped ? RT_SWEEP_ECANCELLED : 0;
}

long rt_sweep_count(const rt_sweep_key *keys, int n_keys)
{
    long n = 1;
    for (int k = 0; k < n_keys; k++) {
        if (keys[k].n_values < 1) return -1;
        if (n > LONG_MAX / keys[k].n_values) return -1;
        n *= keys[k].n_values;
    }
    return n;
}

int rt_sweep_point(const rt_sweep_key *keys, int n_keys, long p, int *index)
{
    long n = rt_sweep_count(keys, n_keys);
    if (n < 0 || p < 0 || p >= n) return RT_SWEEP_EINVAL;
    for (int k = n_keys - 1; k >= 0; k--) { /* last key fastest */
        index[k] = (int)(p % keys[k].n_values);
        p /= keys[k].n_values;
    }
    return 0;
}

long rt_sweep_point_name(const char *base, const rt_sweep_key *keys, int n_keys, long p, char *buf,
                         size_t cap)
{
    int idx[64];
    if (n_keys < 0 || n_keys > 64 || rt_sweep_point(keys, n_keys, p, idx)) return -1;
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf && len < cap ? buf + len : NULL, buf && len < cap ? cap - len : 0,   \
                          __VA_ARGS__);                                                            \
        if (k_ > 0) len += (size_t)k_;                                                             \
    } while (0)
    PUT("%s", base ? base : "");
    for (int k = 0; k < n_keys; k++)
        PUT("%s%s=%s", k ? "," : "[", keys[k].name, keys[k].values[idx[k]]);
    if (n_keys) PUT("]");
#undef PUT
    return (long)len;
}
