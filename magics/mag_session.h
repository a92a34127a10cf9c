/* mag_session: what a notebook has defined — the registries of named objects (tasks,
 * policies, rewards, debates, runs, preference sets) and the session settings.
 *
 * One session per interpreter; no global state, so tests make as many as they like.
 * The session owns every object put into it.  Names are unique per kind; putting an
 * object under an existing name replaces (and frees) the old one, and the caller
 * prints a note ("replaced policy 'base'").  An error in a cell must leave the session
 * exactly as it was: handlers build their objects completely first and only then put
 * them (mag_session_put never fails half-way: on ENOMEM it frees the new object and
 * leaves the old one).
 *
 * Threads: the session is used from the executing (shell) thread only; training
 * workers get the objects they need as arguments, never the session.
 * Leaves out: persistence (%save/%load are mag_m_io.c's), and what objects mean (the
 * runtime's types). */
#ifndef MAG_SESSION_H
#define MAG_SESSION_H

#include <stddef.h>
#include <stdint.h>

typedef enum mag_kind {
    MAG_TASK = 0, /* rt_task * (runtime/task/rt_task.h) */
    MAG_POLICY,   /* rt_policy * (runtime/nn/rt_policy.h) */
    MAG_REWARD,   /* rt_reward_program * (runtime/reward/rt_reward.h) */
    MAG_DEBATE,   /* defined by the %%debate magic */
    MAG_RUN,      /* rt_run * (runtime/train/rt_run.h) */
    MAG_PREFS,    /* rt_pref_set with its task: %%preferences (mag_m_prefs.c) */
    MAG_RM,       /* rt_rm (a Bradley–Terry reward model) with its task: %%rm (mag_m_rm.c) */
    MAG_N_KINDS
} mag_kind;

/* "task", "policy", "reward", "debate", "run", "preferences", "rm" (the names schema keys use in
 * mag_key_spec.object) and back; -1 for an unknown name. */
const char *mag_kind_name(mag_kind k);
int mag_kind_parse(const char *name);

typedef void (*mag_free_fn)(void *obj);

/* One object: its kind, name, the object, how to free it, a one-line summary for
 * %who ("mlp V=32 K=8 H=256, SFT on add (noise 0.6), 400 steps"), for policies and
 * runs the task it belongs to (NULL when none), and for policies its lineage: how it
 * was made, as "key = value" lines (mag_lineage.h; NULL when unknown). */
typedef struct mag_entry {
    mag_kind kind;
    char *name;
    void *obj;
    mag_free_fn free_fn;
    char *summary;
    char *task;    /* name of the task (policies, runs), or NULL */
    char *lineage; /* "made = %%rl tuned\nfrom = base\n..." (policies), or NULL */
    long seq;      /* definition order (for %who and %runs) */
} mag_entry;

typedef struct mag_session mag_session;

mag_session *mag_session_new(void); /* NULL on ENOMEM; free with mag_session_free */
void mag_session_free(mag_session *s);

/* Settings. seed: %seed N (default 0); threads: %threads N (default: the number of
 * online processors, at least 1). */
uint64_t mag_session_seed(const mag_session *s);
void mag_session_set_seed(mag_session *s, uint64_t seed);
int mag_session_threads(const mag_session *s);
void mag_session_set_threads(mag_session *s, int threads);
/* executor: %executor (mag_jobs.h) — where training cells run their sweep points:
 * MAG_EXEC_THREADS (the default: here, rt_sweep's threads executor) or MAG_EXEC_JOBS (a
 * cell writes its job directory under *dir, default "jobs", and prints the worker
 * commands instead of training).  set copies dir (NULL: the default); -1 on ENOMEM (the
 * setting unchanged). */
enum {
    MAG_EXEC_THREADS = 0,
    MAG_EXEC_JOBS = 1,
    MAG_EXEC_MPI = 2,
    MAG_EXEC_SLURM = 3,
    MAG_EXEC_COLLECT = 4
};
/* MAG_EXEC_COLLECT is %collect's own (mag_collect.c), never %executor's: in the session it
 * rebuilds from a job directory, a training cell reads its points' results from that
 * directory (dir: the job directory itself) instead of training them. */
int mag_session_executor(const mag_session *s, const char **dir);
int mag_session_set_executor(mag_session *s, int executor, const char *dir);
/* MAG_EXEC_MPI's settings (%executor mpi np=N [mpirun=PATH] [hosts=FILE]): ranks (>= 1),
 * the mpirun to start (default "mpirun", looked up in PATH) and the hostfile (NULL:
 * none).  set copies the strings (NULL: the default); -1 on ENOMEM (unchanged). */
void mag_session_mpi(const mag_session *s, int *np, const char **mpirun, const char **hosts);
int mag_session_set_mpi(mag_session *s, int np, const char *mpirun, const char *hosts);
/* MAG_EXEC_SLURM's settings (%executor slurm [partition=P] [array_limit=K] [time=T]
 * [submit=true|false|auto], mag_slurm.h): the partition (NULL: the cluster's default), the
 * most array tasks at once (0: no limit), sbatch's --time (NULL: the partition's default)
 * and whether a cell submits with sbatch (1), only writes submit.sh (0) or submits when
 * sbatch is in PATH at the cell's time (-1, the default).  set copies the strings; -1 on
 * ENOMEM (unchanged). */
void mag_session_slurm(const mag_session *s, const char **partition, int *array_limit,
                       const char **time, int *submit);
int mag_session_set_slurm(mag_session *s, const char *partition, int array_limit, const char *time,
                          int submit);
/* follow=true|false (default true): a training cell whose array was submitted follows it
 * live and stores its points (mag_remote.h); false: it returns once submitted (then
 * %collect DIR). */
int mag_session_slurm_follow(const mag_session *s);
void mag_session_set_slurm_follow(mag_session *s, int follow);
/* worker: `rlhf-kernel worker` sets the point it runs and its job's hash (rt_job.h); a
 * training cell then builds, trains and stores that sweep point alone, after checking
 * that the job it rebuilt has that hash (-1, the default: every point). */
long mag_session_worker(const mag_session *s, uint64_t *hash);
void mag_session_set_worker(mag_session *s, long pt, uint64_t hash);
/* The worker's point streams its run as it trains to PREFIX.run (rt_runfile.h) and
 * PREFIX.jsonl (%export's JSONL) (prefix borrowed: it must outlive the cell; NULL, the
 * default: no stream). */
const char *mag_session_worker_stream(const mag_session *s);
void mag_session_set_worker_stream(mag_session *s, const char *path);

/* Puts obj under (kind, name), taking ownership of obj (freed with free_fn) and
 * copying name/summary/task.  Returns 1 if it replaced an existing object, 0 if new,
 * or -1 on ENOMEM (then obj has been freed with free_fn and the session is unchanged). */
int mag_session_put(mag_session *s, mag_kind kind, const char *name, void *obj, mag_free_fn free_fn,
                    const char *summary, const char *task);
/* The same with the object's lineage (mag_entry.lineage; NULL: none), set atomically. */
int mag_session_put_lineage(mag_session *s, mag_kind kind, const char *name, void *obj,
                            mag_free_fn free_fn, const char *summary, const char *task,
                            const char *lineage);
/* One binding rule (objects keep what they were made with): a task `name` that policies
 * or runs refer to is redefined by keeping the old definition under `keep` (a free task
 * name) and re-pointing every entry whose task is `name` to `keep`, then putting obj under
 * `name`.  All or nothing: 0 with *n_refs (may be NULL) = the entries re-pointed, or -1
 * on ENOMEM or when `keep` is taken or `name` absent (obj freed, the session unchanged). */
int mag_session_redefine_task(mag_session *s, const char *name, const char *keep, void *obj,
                              mag_free_fn free_fn, const char *summary, size_t *n_refs);
/* The object (or entry) of that kind and name, or NULL. */
void *mag_session_get(const mag_session *s, mag_kind kind, const char *name);
const mag_entry *mag_session_entry(const mag_session *s, mag_kind kind, const char *name);
/* Sets (a copy of) the lineage text of an object (NULL clears it); 0, or -1 if there is
 * no such object or on ENOMEM (then the old lineage stays). */
int mag_session_set_lineage(mag_session *s, mag_kind kind, const char *name, const char *lineage);
/* Moves (kind, name) of from into to under as (its object, summary, task and lineage;
 * replacing what to holds there).  0; -1 if from has no such object, or on ENOMEM (then
 * the object is freed). */
int mag_session_move(mag_session *from, mag_kind kind, const char *name, mag_session *to,
                     const char *as);
/* Removes and frees; returns 0, or -1 if there is no such object. */
int mag_session_remove(mag_session *s, mag_kind kind, const char *name);
/* %reset: removes and frees every object; the settings (seed, threads) stay. */
void mag_session_clear(mag_session *s);

/* Names of objects are at most MAG_NAME_MAX code points (a sweep point's name
 * NAME[key=value,...] may be longer: the limit applies to what a cell names).
 * mag_name_check: 0, or -1 with msg ("a name of 10000 characters is too long (at most
 * 64)") into msg[cap]. */
#define MAG_NAME_MAX 64
int mag_name_check(const char *name, char *msg, size_t cap);

/* Iteration in definition order: n entries of a kind (MAG_N_KINDS: all kinds). */
size_t mag_session_count(const mag_session *s, mag_kind kind);
const mag_entry *mag_session_at(const mag_session *s, mag_kind kind, size_t i);

/* The closest defined name of a kind to `word` (did-you-mean), or NULL. */
const char *mag_session_suggest(const mag_session *s, mag_kind kind, const char *word);

#endif
