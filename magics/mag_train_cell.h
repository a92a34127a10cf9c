/* mag_train_cell: the one training-cell handler.  A training magic (%%rl, %%policy, ...)
 * is a record (mag_trainer_rec) of what differs — its configuration check, how names
 * resolve into the cell's inputs, how a sweep point becomes a job, the chart and the
 * summary line — and mag_train_cell runs the skeleton they all share:
 *   1. the NAME argument (mag_train_name), then the configuration: the interpreter's
 *      (validated against the magic's schema) or the record's own (rec->validate, e.g.
 *      %%rl's per-cell schema with the reward's parameters as keys);
 *   2. rec->resolve: session names -> inputs (errors at the offending value);
 *   3. the sweep: at most MAG_TRAIN_MAX_POINTS points, then rec->check (settings of every
 *      point, before anything is built); for each point its name and label
 *      (mag_train_point_names), its resolved configuration as key = value text (every
 *      key of the schema that has a value: the rt_job's plain data, with rec->trainer and
 *      the point's stream), then rec->point builds its config, policy and run (which
 *      gets that configuration: mag_train_run_config, for %export) — every point is
 *      built and checked before anything trains;
 *   4. the bridge trains the points that have a run (mag_bridge_train; with
 *      MAG_TRAIN_IDLE_NO_CHART no chart when no point has steps), chart options from
 *      rec->chart;
 *   5. stores every run and the policies of the points that did not fail under the
 *      point's name with rec->summary's line, and ends the cell (mag_train_end).
 * Under %executor jobs, 4 and 5 are replaced by writing the cell's job directory
 * (mag_jobs_write); in `rlhf-kernel worker` (mag_session_worker) only the worker's point
 * is built (after checking that its rebuilt job has the manifest's hash), trained and
 * stored.
 * All allocations through rt_alloc; everything a cell built is freed on every path.
 *
 * Ownership: the handler owns the points (point_size bytes each, zeroed; a point struct
 * starts with a mag_train_point) and the magic's state (state_size bytes, zeroed);
 * rec->point_free / rec->state_free release what the hooks put in them (the common
 * fields pol and run are freed by the handler unless they were stored).
 * Leaves out: everything one magic alone does (its hooks). */
#ifndef MAG_TRAIN_CELL_H
#define MAG_TRAIN_CELL_H

#include <stddef.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_job.h"

/* The part of a sweep point the handler reads; a magic's point struct starts with it. */
typedef struct mag_train_point {
    char name[MAG_TRAIN_NAME];  /* NAME[key=value,...] */
    char label[MAG_TRAIN_NAME]; /* the legend label (the name without the seed) */
    rt_policy *pol;             /* stored under name unless the run failed; may stay NULL */
    rt_run *run;                /* trained by the bridge and stored; NULL: nothing to train */
    long steps;                 /* planned steps (the "of M" of an interruption) */
    rt_job job;                 /* plain data: trainer, name, cfg (set by the handler), rng
                                   (set by rec->point: the stream the job trains with) */
    int pending;                /* %collect: its worker has not ended (not stored) */
} mag_train_point;

/* What the hooks see of the cell. */
typedef struct mag_train_cellctx {
    mag_ctx *ctx;
    const mag_cell *cell;
    const char *base;      /* NAME */
    const mag_config *cfg; /* the validated configuration */
    const char *task_name; /* set by resolve: stored with the runs and policies */
    size_t pt0;            /* the first point built here: 0, or the worker's point (its
                              names resolve cell-wide checks, e.g. of `from`) */
    void *state;           /* the magic's own state (rec->state_size bytes) */
} mag_train_cellctx;

enum {
    MAG_TRAIN_IDLE_NO_CHART = 1u << 0, /* no chart when no point has steps (%%policy) */
    MAG_TRAIN_QUIET_POLICY = 1u << 1,  /* "policy NAME" without its summary (%%opd) */
    MAG_TRAIN_KEEPS_ADAM = 1u << 2,    /* a copy of `from` trains on with its Adam state
                                          (%%policy): jobs carry that state too */
};

#define MAG_TRAIN_SUMMARY 1200 /* the longest summary line (bytes with the NUL) */

typedef struct mag_trainer_rec {
    const char *magic;   /* "rl" (messages: %%rl) */
    const char *trainer; /* rt_job.trainer: "rl", "sft", ... */
    size_t state_size;   /* >= 1 */
    size_t point_size;   /* >= sizeof(mag_train_point) */
    unsigned flags;      /* MAG_TRAIN_* */
    /* Optional: validates the cell itself into *cfg (NULL: the interpreter did, with the
     * magic's schema).  May fill state (e.g. the per-cell keys). */
    int (*validate)(mag_train_cellctx *t, mag_config **cfg, mag_diag *d);
    /* Session names -> inputs in state; sets t->task_name. */
    int (*resolve)(mag_train_cellctx *t, mag_diag *d);
    /* Optional: checks of every point's settings once the sweep's size is known, before
     * any point is built. */
    int (*check)(mag_train_cellctx *t, mag_diag *d);
    /* Builds point pt (name, label and job.cfg set): its config, stream (job.rng), policy,
     * run and steps.  0 or a MAG_E* code with d filled (the cell stops). */
    int (*point)(mag_train_cellctx *t, mag_train_point *p, size_t pt, mag_diag *d);
    rt_job_fn job; /* trains one point (arg = the point) */
    /* Once every point is built, before training: the chart's title (into title[cap]),
     * panels, summary metrics, reference lines (pointing into state); the handler sets
     * threads and the execution count.  May print (e.g. the teacher's accuracy). */
    void (*chart)(mag_train_cellctx *t, mag_train_point *const *pts, size_t np, mag_bridge_opts *o,
                  char *title, size_t cap);
    /* The summary line of a point that ended with stt at step, into out[cap] with cap =
     * summary_cap (<= MAG_TRAIN_SUMMARY). */
    void (*summary)(mag_train_cellctx *t, const mag_train_point *p, rt_run_status stt, long step,
                    char *out, size_t cap);
    size_t summary_cap;
    /* Optional: the message of a failed point whose run has none, into msg[cap]. */
    void (*failed_msg)(const mag_train_point *p, char *msg, size_t cap);
    void (*point_free)(mag_train_point *p); /* may be NULL */
    /* Optional: keys left out of the runs' configuration (NULL-terminated; e.g. the other
     * architecture's keys of %%policy), or NULL. */
    const char *const *(*omit_keys)(const mag_train_cellctx *t);
    void (*state_free)(void *state); /* may be NULL */
} mag_trainer_rec;

/* Runs a training cell as described above.  cfg is the interpreter's configuration
 * (NULL when rec->validate does it).  0, MAG_INTERRUPTED, or a MAG_E* code with d set. */
int mag_train_cell(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg,
                   const mag_trainer_rec *rec, mag_diag *d);

/* 1 if something finished holds name in s: a finished run, or a policy without an
 * unfinished run of that name (loaded, copied, or trained to the end).  A point that
 * failed or was interrupted never replaces it (it is kept as NAME~failed /
 * NAME~interrupted). */
int mag_train_holds_finished(const mag_session *s, const char *name);

#endif
