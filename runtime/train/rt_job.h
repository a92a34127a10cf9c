/* rt_job: one sweep point as a unit of work — what a job is (plain data: the trainer's
 * name, the point's name, its resolved key = value configuration, its inputs by value,
 * its random stream) and how this process runs it (a function and its argument).
 *
 * The plain-data half is what a remote executor will ship (pack/unpack, later): a job
 * must then be rebuilt from it alone.  Today the trainers are still built by the magics,
 * so the threads executor runs the in-process half (fn, arg) and the plain data is
 * descriptive (every field may be left empty).  A job must own everything it mutates
 * (its run, buffers, rng), so results do not depend on where or next to what it runs.
 *
 * Leaves out: running jobs (rt_sweep.h: executors), pack/unpack, the trainer registry. */
#ifndef RT_JOB_H
#define RT_JOB_H

#include <stdatomic.h>
#include <stddef.h>

#include "rt_rng.h"

/* What an executor hands a running job. */
typedef struct rt_job_ctx {
    atomic_int *cancel; /* poll between steps (may be NULL); also installed on runs */
    int threads;        /* threads the job may use inside (rt_sweep.h: the threads rule) */
} rt_job_ctx;

/* A job returns 0 on success or a negative error code of its own. */
typedef int (*rt_job_fn)(void *arg, const rt_job_ctx *ctx);

typedef struct rt_kv {
    const char *key, *value; /* "lr", "2e-4": the value as written */
} rt_kv;

/* An input by value: a serialized model, a task configuration, a reward's source... */
typedef struct rt_job_input {
    const char *role; /* "from", "reference", "teacher", "task", "reward", ... */
    const char *kind; /* "policy", "task", "reward", "debate" */
    const void *data;
    size_t size;
} rt_job_input;

typedef struct rt_job {
    /* in this process */
    rt_job_fn fn;
    void *arg;
    int status; /* out: fn's return value, RT_SWEEP_SKIPPED or RT_SWEEP_NOT_RUN */
    /* what it is, as plain data */
    const char *trainer; /* a trainer record's name: "sft", "rl", "opd", "judge", ... */
    const char *name;    /* the point's name, NAME[key=value,...] (rt_sweep_points.h) */
    const rt_kv *cfg;    /* the point's resolved configuration */
    int ncfg;
    const rt_job_input *in;
    int nin;
    rt_rng rng; /* the run's stream (rt_trainer.h names its sub-streams) */
} rt_job;

#endif
