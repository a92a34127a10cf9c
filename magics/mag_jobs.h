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
 *     DIR/point-I.run            its run streamed as it trains (rt_runfile.h)
 *     DIR/point-I.jsonl          its run as %export writes JSONL (one object per row)
 *     DIR/point-I.policy         its policy as %save writes it
 *     DIR/point-I.adam           its Adam state (mag_jobs_adam_pack), loaded with it
 *     DIR/point-I.status         written last: finished, interrupted or failed
 *     (and point-I.interrupted.policy, point-I.failed: mag_remote.h)
 *
 * identical to the same point trained in the kernel by the threads executor (but the
 * "wall" column: seconds).  A job carries everything the point reads (mag_train_cell.c,
 * "inputs by value"): the cell's text, the session's seed, and the policies, tasks,
 * rewards and preference sets it names, as bytes that name themselves (and, for
 * %%policy, the Adam state of the policy it copies, which a copy trains on with and the
 * policy file leaves out).  The worker
 * rebuilds a session from them alone (policies with their names, tasks and lineage, so the policy's
 * file says what it says in the kernel), runs the cell for its one point (mag_session_set_worker:
 * the stream is rt_rng_from_name(seed, NAME) split by the seed key, exactly as in the
 * kernel), and before training checks that the job it rebuilt packs to the manifest's
 * hash: trainer, name, configuration, inputs and random stream all equal.
 * Trainers the worker runs: rl (%%rl), sft (%%policy), opd (%%opd: teachers, also a
 * {domain: policy} map, carried as policies) and dpo (%%dpo: its preference set carried
 * as its pairs with its task and labeler, mag_prefs.h); rm (%%rm) writes its directory
 * too, with a note, and the worker refuses its points by name (a reward model cannot be
 * saved yet), as it refuses a job with an input it could not carry (kind missing: a
 * %tilt, a reward reading rm(NAME) or debate(NAME); mag_worker_refusal).  Under
 * %executor mpi such a cell fails before mpirun starts.  Training cells outside the
 * handler (%%debate) train here whatever the executor.
 * %executor mpi np=N [mpirun=PATH] [hosts=FILE] [dir=PATH]: the cell writes its job
 * directory, starts mpirun on `rlhf-kernel worker DIR` (a farm: rank 0 hands out points
 * and runs them too), follows the points live and stores every point's run and policy as
 * the threads executor would (mag_remote.h, then the handler's own store).
 * %executor slurm [partition=P] [array_limit=K] [time="T"] [submit=true|false|auto]
 * [follow=true|false] [dir=PATH]: the cell writes its job directory, then DIR/submit.sh
 * (a job array, one task per point: mag_slurm.h), submits it with sbatch
 * (mag_jobs_slurm) and follows it as under mpi (follow=false: returns).  %collect DIR
 * (mag_collect.c) brings a directory's ended points into a session.  The setting is
 * recorded in the metadata of %executor's output and of a remote cell's chart
 * (mag_jobs_executor_meta). */
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
int mag_jobs_check_rebuilt(mag_ctx *ctx, const mag_cell *cell, const char *who, const rt_job *j,
                           uint64_t want, mag_diag *d);
/* %collect: the points pp[0..np) rebuilt from the job directory dir are its manifest's
 * jobs, every one (their hashes; who = "%collect" in messages).  0 or MAG_ERUNTIME naming
 * the manifest's line or the point. */
int mag_jobs_check_dir(mag_ctx *ctx, const mag_cell *cell, const char *dir,
                       mag_train_point *const *pp, size_t np, mag_diag *d);

/* Writes the job directory of the cell's points pts[0..np) (their jobs built), its path
 * into dir_out[dir_cap] (may be NULL), and prints where and the worker commands (under
 * %executor mpi only where, and a trainer the worker does not run is an error).  0, MAG_ERUNTIME (a
 * file or directory that cannot be written, a job that cannot be packed) or MAG_ENOMEM, with d set.
 */
int mag_jobs_write(mag_ctx *ctx, const mag_cell *cell, const char *magic, const char *base,
                   mag_train_point *const *pts, size_t np, char *dir_out, size_t dir_cap,
                   mag_diag *d);

/* %executor slurm, after mag_jobs_write wrote DIR for np points: writes DIR/submit.sh
 * (mag_slurm_write with the session's settings) and, when submit is true (or auto and
 * sbatch is in PATH), removes the points' results left by an earlier submission and
 * submits it (mag_slurm_submit: the job id into id[idcap], else id[0] = '\0'), printing
 * "%%MAGIC NAME: N points written to DIR; submitted as Slurm job ID (array 0-(N-1)%K)"
 * and either that the cell follows it (follow=true) or the %collect DIR to run; else prints
 * the sbatch command (and why it did not submit).  0, or MAG_ERUNTIME naming what failed
 * (submit.sh not written; sbatch absent with submit=true, or failing: its exit status and
 * last line of stderr). */
/* The session's executor as one types it ("executor mpi np=2 mpirun=mpirun dir=jobs"),
 * rt_malloc'ed; NULL on ENOMEM. */
char *mag_jobs_executor_line(const mag_session *s);
/* {"rlhf-kernel": {"executor": LINE[, "job_dir": job_dir]}}: what a notebook keeps of the
 * executor, as an output's metadata (a kernel cannot write the notebook's own); NULL on
 * ENOMEM. */
typedef struct cJSON cJSON;
cJSON *mag_jobs_executor_meta(const mag_session *s, const char *job_dir);

int mag_jobs_slurm(mag_ctx *ctx, const mag_cell *cell, const char *magic, const char *base,
                   const char *dir, size_t np, char *id, size_t idcap, mag_diag *d);

/* `rlhf-kernel worker DIR [--point I]` (argv[0] = "worker"): point I, or without --point
 * every point (under mpirun in a build with MPI: a farm, rank 0 handing out points; else
 * one after another).  The process exit status, 0 on success; 1 with a message on stderr
 * naming the manifest line or the point (a point that failed); 2 for a usage error (or
 * mpirun with a build without MPI). */
int mag_worker_main(int argc, char **argv);

/* A fresh session (it's) rebuilt from job j's inputs: the seed, tasks, rewards, policies
 * with their Adam states, preference sets; *cell = the job's cell input (its bytes, not
 * NUL-terminated: mag_worker_text).  Inputs already there by name are kept, so the jobs
 * of every point of a directory can be rebuilt into one session.  0, or 1 with err. */
typedef struct krn_interp krn_interp;
int mag_worker_rebuild(krn_interp *it, const rt_job *j, const char **cell, char *err, size_t cap);
/* An input's bytes as a NUL-terminated string (rt_free), or NULL on ENOMEM. */
char *mag_worker_text(const rt_job_input *in);

/* The help of the worker command (`rlhf-kernel worker --help`), in the command list
 * format of rlhf-kernel --help, which prints it too (magics/main.c: krn_main). */
extern const char mag_worker_usage[];

/* 1 if the worker runs jobs of trainer `trainer` ("rl", "sft", "opd", "dpo"), else 0. */
int mag_worker_supports(const char *trainer);

/* Why the worker would refuse job j, into why[cap] (e.g. "trainer 'rm' is not supported
 * yet (the worker runs rl, sft, opd and dpo; ...)", "its reward cannot be carried: reward
 * 'r' reads rm(...), a reward model, which jobs do not carry yet"): 1, or 0 when it runs
 * j (why ""). */
int mag_worker_refusal(const rt_job *j, char *why, size_t cap);

#endif
