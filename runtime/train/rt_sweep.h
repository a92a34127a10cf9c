/* rt_sweep: independent jobs (sweep points) on N threads, and the naming of sweep
 * points.
 *
 * rt_sweep_run executes jobs on n_threads threads (the calling thread is one of
 * them).  Each job must own everything it mutates (its rng stream, buffers, run), so
 * results are identical to running the jobs one after another, whatever n_threads.
 * While more than one thread runs jobs, the GEMM is set to 1 thread and restored
 * afterwards (that setting is process-wide: a process-wide counter makes nested or
 * concurrent sweeps restore it only when the last one ends).  A job's failure does
 * not stop the others.  Cancellation: once *cancel is non-zero, jobs not yet started
 * are skipped (status RT_SWEEP_SKIPPED); running jobs are handed the same flag to
 * poll between steps.
 *
 * Sweep points: keys with list values form a cartesian product; point p has value
 * indices in mixed radix with the LAST key varying fastest (like itertools.product),
 * and is named NAME[key=value,...] with keys in the given order. */
#ifndef RT_SWEEP_H
#define RT_SWEEP_H

#include <stdatomic.h>
#include <stddef.h>

enum { RT_SWEEP_EINVAL = -1, RT_SWEEP_EFAILED = -2, RT_SWEEP_ECANCELLED = -3 };
enum { RT_SWEEP_SKIPPED = -1000, RT_SWEEP_NOT_RUN = -1001 };

/* A job returns 0 on success or a negative error code of its own. */
typedef int (*rt_sweep_fn)(void *arg, atomic_int *cancel);

typedef struct rt_sweep_job {
    rt_sweep_fn fn;
    void *arg;
    int status; /* out: fn's return value, or RT_SWEEP_SKIPPED */
} rt_sweep_job;

/* Runs jobs[0..n_jobs) on min(n_threads, n_jobs) threads (fewer if threads cannot be
 * created; never fewer than the calling thread).  cancel may be NULL.  Returns 0 if
 * every job returned 0, RT_SWEEP_ECANCELLED if some were skipped, else
 * RT_SWEEP_EFAILED; RT_SWEEP_EINVAL for bad arguments. */
int rt_sweep_run(rt_sweep_job *jobs, int n_jobs, int n_threads, atomic_int *cancel);

typedef struct rt_sweep_key {
    const char *name;
    int n_values;
    const char *const *values; /* the values as text, as they appear in run names */
} rt_sweep_key;

/* Number of points (1 for no keys); -1 if a key has no values or on overflow. */
long rt_sweep_count(const rt_sweep_key *keys, int n_keys);
/* Value index of each key at point p (index[n_keys]); 0 or RT_SWEEP_EINVAL. */
int rt_sweep_point(const rt_sweep_key *keys, int n_keys, long p, int *index);
/* The name of point p: "base[k1=v1,k2=v2]" ("base" when n_keys is 0) into buf;
 * returns the length needed (snprintf style), or -1 if p is out of range. */
long rt_sweep_point_name(const char *base, const rt_sweep_key *keys, int n_keys, long p, char *buf,
                         size_t cap);

#endif
