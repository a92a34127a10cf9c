/* rt_trainer: the one run loop.  A trainer is a record (a name and four callbacks); a
 * run of it (rt_trainer_run) owns the lifecycle every training shares:
 *   setup        the trainer validates its arguments and allocates everything, and
 *                returns its plan (steps, cadence, metric names, finite metrics);
 *                a setup failure finishes the run as failed at step 0 (never started);
 *   columns      the trainer's metrics are matched to the run's columns BY NAME (a
 *                column it does not fill stays NaN, a metric the run lacks is dropped);
 *                rows are reserved before step 1, so the loop allocates nothing;
 *   start        rt_run_start, then step s = 1..steps, polling the cancel flag before
 *                each step;
 *   finiteness   after step s, each metric named in plan.finite must be finite, else
 *                the run fails with "NAME: METRIC is nan|inf at step s" (checked in
 *                plan.finite order; a trainer that finds a non-finite value before its
 *                update returns early, leaving the update undone);
 *   cadence      a row after step s when s is a multiple of log_every, an evaluation
 *                step, or the last step; an evaluation step (when plan.eval) is a
 *                multiple of eval_every (if > 0) or the last step.  The loop fills the
 *                metrics named "step" and "wall" (seconds since start, CLOCK_MONOTONIC);
 *   endings      FINISHED after `steps` steps; INTERRUPTED at the completed step when
 *                the cancel flag is seen ("NAME: interrupted after step N") — between
 *                steps, or inside one: the loop installs a cancel point (rt_cancel.h)
 *                that long products poll; a step cut short writes no row and counts
 *                as completed only if its optimizer update was applied; FAILED when
 *                a step or a row fails ("NAME: MSG at step s") or a metric is not finite.
 * Rows and evaluations are computed only when there is a run with columns (run NULL:
 * the trainer just trains).
 *
 * What differs between today's trainers is a flag of the plan, so that no number and no
 * row changes: eval_at_start (a row at step 0 holding the evaluation: OPD),
 * row_on_stop (an interrupted run ends with a row of its last completed step if that
 * step was not logged: SFT), row_on_nonfinite (the failing step's row is appended before
 * the run fails: OPD).
 *
 * Random streams: a run has one stream r (its job's); trainers split it by the named
 * ids below, then by the step s (and by the sequence i within the step), so the bits
 * of a run depend only on (r, s, i) — never on threads or on other runs.
 *
 * Leaves out: what a step computes (the trainers: rt_sft.c, rt_rl_run.c, rt_opd_run.c,
 * runtime/debate), sweeps and executors (rt_sweep.h), checkpoints, schedules. */
#ifndef RT_TRAINER_H
#define RT_TRAINER_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_rng.h"
#include "rt_run.h"

/* The named sub-streams of a run's stream r: rt_rng_split(r, RT_STREAM_...). */
enum {
    RT_STREAM_PROMPTS = 1, /* training prompts / states of step s: split(split(r, 1), s) */
    RT_STREAM_SAMPLES = 2, /* sampling, demonstrations, games, pairs of step s: split(.., 2) */
    RT_STREAM_EVAL = 3,    /* the held-out evaluator (its fixed prompts and draws) */
    RT_STREAM_HOOK = 4     /* an RL hook's randomness at step s: split(split(r, 4), s) */
};

/* Where a run's held-out evaluator draws its prompts and samples from.  Unset (all
 * zero, the default), from rt_rng_split(r, RT_STREAM_EVAL) of the run's stream r.  A
 * session sets it to its one stream of the task (the magics: rt_rng_from_name(session
 * seed, "eval:TASK")), so that every run on a task, every point of a sweep and %eval
 * score the same prompts: their differences are paired. */
typedef struct rt_eval_stream {
    int set;    /* 0: split(r, RT_STREAM_EVAL); 1: rng */
    rt_rng rng; /* the stream when set */
} rt_eval_stream;

/* The evaluator's stream of a run with stream r under s (s may be NULL: unset). */
static inline rt_rng rt_eval_stream_of(const rt_eval_stream *s, const rt_rng *r)
{
    return s && s->set ? s->rng : rt_rng_split(r, RT_STREAM_EVAL);
}

/* What setup tells the loop.  Arrays stay valid until the trainer's free. */
typedef struct rt_trainer_plan {
    long steps;                 /* >= 0 */
    long log_every;             /* >= 1 */
    int eval;                   /* 1 if the trainer evaluates at all */
    long eval_every;            /* > 0: multiples of it; 0: only the last step */
    int eval_at_start;          /* a row at step 0 with the evaluation only (and step,
                                   wall = 0); needs eval */
    int row_on_stop;            /* see the top comment */
    int row_on_nonfinite;       /* see the top comment */
    const char *const *metrics; /* names of the metric vector m[], unique */
    int n_metrics;              /* >= 1 */
    const int *finite;          /* indices into metrics checked after every step */
    int n_finite;
    double step_flops; /* estimated floating-point work of one step (0: unknown); when it
                          would take over RT_TRAINER_SLOW_STEP_S seconds at the measured
                          product rate (rt_nn_gemm_rate), the run logs a note before step
                          1 ("one step is about 4e+13 flop, ~35 s here; 100 steps ~ 58 min") */
} rt_trainer_plan;

#define RT_TRAINER_SLOW_STEP_S 5.0

typedef struct rt_trainer {
    const char *name; /* prefixes every message: "sft" */
    /* Validates args, allocates its state *st and fills plan.  rng is the run's stream
     * (copy what you keep).  Returns 0, or a negative code with d->msg (and d->key) set;
     * then *st is not touched by the loop (setup frees what it made). */
    int (*setup)(void **st, const void *args, const rt_rng *rng, rt_trainer_plan *plan,
                 rt_diag *d);
    /* Step s (1-based): trains and writes this step's metrics into m[] (the loop filled
     * it with NaN).  0, or non-zero with msg (e.g. "sampling failed"): the run fails at
     * step s with "NAME: MSG at step s". */
    int (*step)(void *st, long s, double *m, char *msg, size_t cap);
    /* The row of step s (0 for the start row): completes m[] with what rows show (window
     * means, evaluation when eval is 1).  recorded[i] is 1 when metric i has a run
     * column (skip costly metrics nobody records).  May be NULL.  0 or non-zero with msg
     * (e.g. "evaluation failed"). */
    int (*row)(void *st, long s, int eval, const int *recorded, double *m, char *msg, size_t cap);
    /* Called once after the last step of a run that set up, whatever the ending
     * (status FINISHED, INTERRUPTED or FAILED): where a trainer hands out its result.
     * May be NULL (trainers that train a model in place). */
    void (*finish)(void *st, rt_run_status how);
    void (*free)(void *st);
} rt_trainer;

/* Runs trainer t on args (see the top comment).  run may be NULL (no metrics, no cancel
 * flag); otherwise it must not have been started, and it is finished here whatever
 * happens.  Returns 0 (finished), RT_EINTR, RT_EFAILED, or setup's
 * code; fills d (may be NULL). */
int rt_trainer_run(const rt_trainer *t, const void *args, const rt_rng *rng, rt_run *run,
                   rt_diag *d);

#endif
