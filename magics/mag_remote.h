/* mag_remote: the points of a job directory (mag_jobs.h) trained by other processes and
 * shown and stored as if the kernel had trained them — the remote executors' common half.
 *
 * A remote run starts the processes that train the points (%executor mpi: mpirun on
 * `rlhf-kernel worker DIR`, a child in its own process group, never MPI in the kernel),
 * or follows a Slurm array that runs them (%executor slurm: `srun rlhf-kernel worker DIR
 * --point $SLURM_ARRAY_TASK_ID` per task, mag_slurm.h),
 * then acts as the rt_executor of the cell's live chart (mag_bridge_opts.ex): it follows
 * every point's DIR/point-I.run (rt_runfile.h: rows, log lines, the end, streamed by the
 * worker as it trains) into the point's own run, so the chart, its progress line and the
 * summary are the threads executor's; it forwards the workers' errors to the cell; an
 * interrupt (the bridge's cancel flag) stops every process (SIGTERM to the local ranks at
 * once; mpirun's group SIGKILLed once they are gone, else SIGTERM after 1 s and SIGKILL
 * after 5 s; a Slurm job is scancel'ed) and keeps the partial runs.
 * When the processes are gone, a point whose run did not end is INTERRUPTED (after an
 * interrupt) or FAILED naming why (DIR/point-I.failed, the worker's error, or how mpirun
 * ended); then mag_remote_policies loads every point's policy (DIR/point-I.policy with its
 * Adam state DIR/point-I.adam; after an interrupt DIR/point-I.interrupted.policy) for the
 * handler's own store.
 *
 * A point's files, written by the worker (magics/mag_worker.c):
 *     point-I.run                 its run, streamed (rt_runfile.h)
 *     point-I.jsonl               its run as %export writes it (for people and tools)
 *     point-I.policy, .adam       its policy and Adam state, once it finished
 *     point-I.interrupted.policy  an interrupted point's policy as trained so far
 *     point-I.failed              the error of a point that failed
 *     point-I.status              written last: "finished", "interrupted" or "failed"
 * Leaves out: writing the directory (mag_jobs.c) and Slurm's submission (mag_slurm.h). */
#ifndef MAG_REMOTE_H
#define MAG_REMOTE_H

#include <stddef.h>

#include "mag_magic.h"
#include "mag_train_cell.h"
#include "rt_sweep.h"

typedef struct mag_remote mag_remote;

/* Removes what an earlier run left in dir for points 0..np) (the directory's name is a
 * content hash: re-running a cell reuses it).  Then starts mpirun (the session's
 * %executor mpi settings) on this binary's `worker DIR`.  0, or MAG_ERUNTIME (mpirun
 * cannot be started: d at the cell's name) or MAG_ENOMEM. */
int mag_remote_start_mpi(mag_ctx *ctx, const mag_cell *cell, const char *dir,
                         mag_train_point *const *pp, size_t np, mag_remote **out, mag_diag *d);

/* %executor slurm, once DIR was submitted as Slurm job jobid (its stale results removed
 * before): follows the array's tasks (their points' run files; squeue for tasks that
 * die without a word; scancel on an interrupt).  0 or MAG_ENOMEM. */
int mag_remote_follow_slurm(mag_ctx *ctx, const char *dir, const char *jobid,
                            mag_train_point *const *pp, size_t np, mag_remote **out, mag_diag *d);

/* %collect: the points' results as dir holds them now (no process): a point whose worker
 * ended (DIR/point-I.status) is read whole; the others are marked pending (their runs
 * not ended, their policies NULL).  0 or MAG_ENOMEM. */
int mag_remote_collect(mag_ctx *ctx, const char *dir, mag_train_point *const *pp, size_t np,
                       mag_remote **out, mag_diag *d);

/* The executor that follows r (valid while r lives): its run() returns when the
 * processes are gone, every job's run ended and its status set (0, RT_EINTR or
 * RT_EFAILED). */
rt_executor mag_remote_executor(mag_remote *r);

/* After the executor ran: every point's policy into pp[i]->pol (the untrained copy
 * freed; NULL when the point left none).  1 if the run was interrupted. */
int mag_remote_policies(mag_remote *r);

void mag_remote_free(mag_remote *r);

/* The stale result files of point i in dir removed (every name above). */
void mag_remote_clean_point(const char *dir, size_t i);

/* The text of DIR/point-I.NAME (status, failed) without its trailing newlines, into
 * buf[cap] ("" when there is none). */
void mag_remote_point_file(const char *dir, size_t i, const char *name, char *buf, size_t cap);

/* In a forked child before exec: an empty signal mask and SIGINT, SIGTERM and SIGPIPE at
 * their defaults (the kernel blocks and handles them; mpirun, sbatch and the ranks must
 * not inherit that).  Async-signal-safe. */
void mag_child_signals(void);

#endif
