/* mag_jobs: sweep points as jobs outside this process (issue 19's groundwork).
 *
 * %executor threads | jobs [dir=PATH] (session-wide; %executor alone shows it): under
 * `jobs` a training cell (mag_train_cell.h) builds and checks every point as usual, then,
 * instead of training, writes its JOB DIRECTORY and prints the worker commands:
 *
 *     DIR = PATH/NAME-<hash>     PATH "jobs" by default; NAME the cell's; <hash> the
 *                                FNV-1a 64 of the manifest (the same cell on the same
 *                                session writes the same directory)
 *     DIR/manifest               one line per point: its packed job in base64
 *                                (runtime/train/rt_manifest.h)
 *     DIR/point-I.job            point I's packed job as text (rt_job.h), to read
 *
 * and `rlhf-kernel worker DIR --point I` (mag_worker_main) runs point I in a fresh
 * session of its own process and writes
 *
 *     DIR/point-I.jsonl          its run as %export writes JSONL (one object per row)
 *     DIR/point-I.policy         its policy as %save writes it
 *     DIR/point-I.adam           its Adam state (mag_jobs_adam_pack), which %executor
 *                                mpi loads with the policy
 *
 * identical to the same point trained in the kernel by the threads executor (but the
 * "wall" column: seconds).  A job carries everything the point reads (mag_train_cell.c,
 * "inputs by value"): the cell's text, the session's seed, and the policies, tasks and
 * rewards it names, as bytes that name themselves (and, for %%policy, the Adam state of
 * the policy it copies, which a copy trains on with and the policy file leaves out).  The worker
 * rebuilds a session from them alone (policies with their names, tasks and lineage, so the policy's
 * file says what it says in the kernel), runs the cell for its one point (mag_session_set_worker:
 * the stream is rt_rng_from_name(seed, NAME) split by the seed key, exactly as in the
 * kernel), and before training checks that the job it rebuilt packs to the manifest's
 * hash: trainer, name, configuration, inputs and random stream all equal.
 * Trainers the worker runs: rl (%%rl) and sft (%%policy); the other cells of the
 * handler (%%opd, %%rm, %%dpo) write their directories too, with a note, and the worker
 * refuses their points by name.  Training cells outside the handler (%%debate) train here
 * whatever the executor.
 * %executor mpi np=N [mpirun=PATH] [hosts=FILE] [dir=PATH]: the cell writes its job
 * directory, starts mpirun on `rlhf-kernel worker DIR` (mag_jobs_mpi_run; a farm, rank 0
 * handing out points) and stores every point's run and policy as the threads executor
 * would (mag_jobs_collect, then the handler's own store).
 * Leaves out: the Slurm executor, live charts of MPI runs, %collect DIR. */
#ifndef MAG_JOBS_H
#define MAG_JOBS_H

#include "mag_magic.h"
#include "mag_train_cell.h"
#include "rt_params.h"
#include "rt_reward.h"
#include "rt_text.h"

/* The %%reward cell that defines r: "%%reward NAME p=default ...\nSOURCE" (the parameters
 * that have defaults, in r's order, numbers in their shortest exact form), appended to
 * b (b->err on ENOMEM). */
void mag_jobs_reward_cell(const char *name, const rt_reward_program *r, rt_strbuf *b);

/* A policy's Adam state as a job input (kind adam): the text lines "rlhf-adam 1",
 * "policy = NAME", "n = N", "t = T", then m[0..n) and v[0..n) as the floats' bytes.
 * pack: 0 with *out (rt_free) of *size bytes, or MAG_ENOMEM.  unpack: the policy's name
 * into name[cap] and, when prm is not NULL, its moments and step count into prm (n must
 * match); 0, or -1 with err.  Unpack takes only what pack writes (untrusted bytes: a job,
 * a DIR/point-I.adam): NAME 1 to cap-1 bytes without control bytes, N and T decimal without
 * sign, spaces or leading zeros, T at most MAG_JOBS_ADAM_MAX_T (Adam adds 1 per step). */
#define MAG_JOBS_ADAM_MAX_T 1000000000000000L /* 1e15: exact in a double, far from LONG_MAX */
int mag_jobs_adam_pack(const char *name, const rt_params *prm, void **out, size_t *size);
int mag_jobs_adam_unpack(const void *p, size_t n, char *name, size_t cap, rt_params *prm, char *err,
                         size_t ecap);

/* The worker's check: 0 if job j (rebuilt by the cell in this session) has hash want,
 * else MAG_ERUNTIME naming both hashes. */
int mag_jobs_check_rebuilt(mag_ctx *ctx, const mag_cell *cell, const rt_job *j, uint64_t want,
                           mag_diag *d);

/* Writes the job directory of the cell's points pts[0..np) (their jobs built), its path
 * into dir_out[dir_cap] (may be NULL), and prints where and the worker commands (under
 * %executor mpi only where, and a trainer the worker does not run is an error).  0, MAG_ERUNTIME (a
 * file or directory that cannot be written, a job that cannot be packed) or MAG_ENOMEM, with d set.
 */
int mag_jobs_write(mag_ctx *ctx, const mag_cell *cell, const char *magic, const char *base,
                   mag_train_point *const *pts, size_t np, char *dir_out, size_t dir_cap,
                   mag_diag *d);

/* %executor mpi: starts `mpirun [--allow-run-as-root] --oversubscribe|--hostfile FILE -np N
 * rlhf-kernel worker DIR` (this binary) as a child in its own process group, after removing
 * the npoints points' results left in DIR by an earlier run; forwards the workers'
 * progress lines ("worker: ...") and errors to the cell; waits, polling the cell's
 * interrupt (which sends SIGTERM to mpirun's children, the local ranks, at once, to its
 * group after 1 s, SIGKILL after 5 s; *interrupted = 1).
 * 0 with failure[0] = '\0', or with failure = how mpirun failed (its exit status and last
 * line of stderr: some points may still have results); MAG_ERUNTIME when mpirun cannot
 * be started. */
int mag_jobs_mpi_run(mag_ctx *ctx, const mag_cell *cell, const char *dir, size_t npoints,
                     int *interrupted, char *failure, size_t fcap, mag_diag *d);

/* Point i's results in DIR into point p, as the threads executor leaves them: its rows
 * (DIR/point-I.jsonl) appended to p->run and the run finished (FINISHED when
 * DIR/point-I.policy is there, else INTERRUPTED or FAILED naming failure), p->pol
 * replaced by the policy file with its Adam state (DIR/point-I.adam).  1 if the point
 * finished, else 0. */
int mag_jobs_collect(const char *dir, size_t i, mag_train_point *p, int interrupted,
                     const char *failure);

/* `rlhf-kernel worker DIR [--point I]` (argv[0] = "worker"): point I, or without --point
 * every point (under mpirun in a build with MPI: a farm, rank 0 handing out points; else
 * one after another).  The process exit status, 0 on success; 1 with a message on stderr
 * naming the manifest line or the point (a point that failed); 2 for a usage error (or
 * mpirun with a build without MPI). */
int mag_worker_main(int argc, char **argv);

/* The help of the worker command (`rlhf-kernel worker --help`), in the command list
 * format of rlhf-kernel --help, which prints it too (magics/main.c: krn_main). */
extern const char mag_worker_usage[];

/* 1 if the worker runs jobs of trainer `trainer` ("rl", "sft"), else 0. */
int mag_worker_supports(const char *trainer);

#endif
