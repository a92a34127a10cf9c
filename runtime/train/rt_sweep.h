/* rt_sweep: independent jobs (sweep points, rt_job.h) run by an executor.
 *
 * rt_sweep_run hands the jobs to an executor and tallies their statuses.  An executor
 * runs every job (or skips it) and fills its status; the threads executor
 * (rt_executor_threads) is today's: a pool of min(threads, n_jobs) threads (the calling
 * thread is one of them) taking jobs in order.  Its THREADS RULE, written only here: a
 * lone job gets all the threads inside (ctx.threads = threads); the jobs of a sweep run
 * in parallel, one thread each inside (ctx.threads = 1).  While more than one thread runs
 * jobs, the GEMM is set to 1 thread and restored afterwards (that setting is
 * process-wide: a process-wide counter makes nested or concurrent sweeps restore it only
 * when the last one ends).  Each job owns everything it mutates, so results are
 * identical to running the jobs one after another, whatever the executor or threads.
 * A job's failure does not stop the others.  Cancellation: once *cancel is non-zero,
 * jobs not yet started are skipped (status RT_SWEEP_SKIPPED); running jobs get the same
 * flag (ctx.cancel) to poll between steps.
 *
 * A remote executor (MPI, later) packs the jobs' plain data to workers, forwards their
 * rt_event rows back and returns their models; each worker can compute point p itself
 * (rt_sweep_points.h).  Its first piece exists: a job directory's manifest
 * (rt_manifest.h) and `rlhf-kernel worker DIR --point I` (magics/mag_jobs.h), which
 * %executor jobs uses instead of an rt_executor (it writes the jobs and trains nothing).  Leaves out: what a job computes (trainers, rt_trainer.h). */
#ifndef RT_SWEEP_H
#define RT_SWEEP_H

#include <stdatomic.h>
#include <stddef.h>

#include "rt_diag.h"
#include "rt_job.h"
#include "rt_sweep_points.h"

enum { RT_SWEEP_SKIPPED = -1000, RT_SWEEP_NOT_RUN = -1001 };

typedef struct rt_executor rt_executor;
struct rt_executor {
    const char *name; /* "threads" */
    /* Runs (or skips) jobs[0..n), n >= 1, filling each status; cancel may be NULL. */
    void (*run)(const rt_executor *ex, rt_job *jobs, int n, atomic_int *cancel);
    int threads; /* the threads this process may use, >= 1 */
    void *self;  /* the executor's own state, if any */
};

/* The threads executor with `threads` threads (clamped to >= 1). */
rt_executor rt_executor_threads(int threads);

/* Runs jobs[0..n_jobs) on ex.  Returns 0 if every job returned 0, RT_EINTR if
 * some were skipped, else RT_EFAILED; RT_EINVAL for bad arguments (a job
 * without fn, no executor). */
int rt_sweep_run(rt_job *jobs, int n_jobs, const rt_executor *ex, atomic_int *cancel);
/* rt_sweep_run on rt_executor_threads(n_threads) (RT_EINVAL if n_threads < 1). */
int rt_sweep_run_threads(rt_job *jobs, int n_jobs, int n_threads, atomic_int *cancel);

#endif
