/* rt_run: a training run as the outside world sees it — a name, its configuration
 * (key = value text), a metrics table (named columns, rows appended while it trains), a
 * status, events and a cancel flag.
 *
 * Coupling to the outside is only through an event callback (run started, metrics
 * row, log line, run finished) and a cancel flag (an atomic int owned by the caller)
 * that training loops poll between steps (rt_run_should_stop).  The metrics table is
 * guarded by a mutex: one or more threads may append while others read rows or take
 * snapshots.  Events are delivered on the thread that appends/logs/finishes; the
 * callback must not call back into the same run's appending functions.
 *
 * A registry (rt_runs) owns runs by name; there is no global state, so tests and
 * sessions can make as many as they like.  All allocation goes through rt_alloc.
 * Leaves out: what a step computes and when rows are due (rt_trainer.h), rendering
 * (runtime/chart), what the configuration means (the magics' schemas) and persistence
 * (exports are the magics'). */
#ifndef RT_RUN_H
#define RT_RUN_H

#include <stdatomic.h>
#include <stddef.h>

#include "rt_diag.h"

typedef enum {
    RT_RUN_CREATED,     /* not started yet */
    RT_RUN_RUNNING,     /* rt_run_start was called */
    RT_RUN_FINISHED,    /* ran to completion */
    RT_RUN_INTERRUPTED, /* stopped at a step boundary by the cancel flag */
    RT_RUN_FAILED       /* stopped by an error (message and step kept) */
} rt_run_status;

typedef enum {
    RT_EVENT_RUN_STARTED,
    RT_EVENT_METRICS_ROW,
    RT_EVENT_LOG_LINE,
    RT_EVENT_RUN_FINISHED
} rt_event_kind;

typedef struct rt_run rt_run;

/* An event; every pointer is valid only during the callback. */
typedef struct rt_event {
    rt_event_kind kind;
    rt_run *run;
    const char *run_name;
    int n_columns; /* the run's columns (every kind) */
    const char *const *columns;
    long row;             /* METRICS_ROW: index of the row */
    const double *values; /* METRICS_ROW: n_columns values */
    const char *text;     /* LOG_LINE: the line (no newline) */
    rt_run_status status; /* RUN_FINISHED: final status */
    long step;            /* RUN_FINISHED: step reached */
    const char *message;  /* RUN_FINISHED: failure message, "" otherwise */
} rt_event;

typedef void (*rt_event_fn)(void *user, const rt_event *ev);

/* A run with columns (copied; at least one, names unique and non-empty).
 * Returns 0, RT_EINVAL or RT_ENOMEM (*out NULL on error).  Caller frees with
 * rt_run_free (or hands it to a registry). */
int rt_run_create(const char *name, const char *const *columns, int n_columns, rt_run **out);
void rt_run_free(rt_run *run);

/* Wiring (before rt_run_start): where events go and which flag cancels. */
void rt_run_set_events(rt_run *run, rt_event_fn fn, void *user);
void rt_run_set_cancel(rt_run *run, atomic_int *cancel);
/* Preallocates room for rows so appends up to that count do not allocate. */
int rt_run_reserve(rt_run *run, long rows);

const char *rt_run_name(const rt_run *run);
int rt_run_n_columns(const rt_run *run);
const char *rt_run_column(const rt_run *run, int i);          /* NULL if out of range */
int rt_run_column_index(const rt_run *run, const char *name); /* -1 if unknown */

/* The run's configuration: key = value pairs as written (a sweep point's resolved
 * settings, rt_job.h's cfg), kept in the order added, for exports and summaries; nothing
 * in the runtime reads them.  Added before the run starts (not guarded by the mutex:
 * read-only once training begins).  rt_run_add_config copies key and value: 0, RT_EINVAL
 * (key NULL, empty or already there; value NULL) or RT_ENOMEM (the run unchanged). */
int rt_run_add_config(rt_run *run, const char *key, const char *value);
int rt_run_n_config(const rt_run *run);
const char *rt_run_config_key(const rt_run *run, int i);           /* NULL if out of range */
const char *rt_run_config_value(const rt_run *run, int i);         /* NULL if out of range */
const char *rt_run_config_get(const rt_run *run, const char *key); /* NULL if none */

/* Polled by training loops between steps: 1 if the cancel flag is set. */
int rt_run_should_stop(const rt_run *run);
/* The cancel flag set with rt_run_set_cancel, or NULL. */
atomic_int *rt_run_cancel_flag(const rt_run *run);

/* Lifecycle: start (status RUNNING, event), append rows, log lines, finish.
 * rt_run_finish with RT_RUN_FAILED keeps message; it may be called once. */
void rt_run_start(rt_run *run);
int rt_run_append(rt_run *run, const double *values); /* 0 or RT_ENOMEM */
/* log lines longer than 511 bytes are truncated */
void rt_run_log(rt_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rt_run_finish(rt_run *run, rt_run_status status, long step, const char *message);

/* Status, step and message (message copied into msg[cap], may be NULL). */
rt_run_status rt_run_status_of(const rt_run *run, long *step, char *msg, size_t cap);
const char *rt_run_status_name(rt_run_status status); /* "running", "failed", ... */

/* Reading while another thread appends: the number of rows now, and a copy of rows
 * [from, from + n) clipped to what exists (row-major, n_columns each); returns the
 * number of rows copied. */
long rt_run_rows(const rt_run *run);
long rt_run_read(const rt_run *run, long from, long n, double *out);

/* A consistent copy of the whole table.  Caller frees with rt_run_snapshot_free. */
typedef struct rt_run_snapshot {
    long rows;
    int n_columns;
    double *values; /* rows x n_columns, row-major */
} rt_run_snapshot;
int rt_run_snapshot_take(const rt_run *run, rt_run_snapshot *snap); /* 0 or RT_ENOMEM */
void rt_run_snapshot_free(rt_run_snapshot *snap);

/* A registry of runs by name, in insertion order. */
typedef struct rt_runs rt_runs;
int rt_runs_create(rt_runs **out); /* 0 or RT_ENOMEM; free with rt_runs_free */
void rt_runs_free(rt_runs *reg);   /* frees every run it owns */
/* Takes ownership of run on success (0); RT_EEXIST if the name is taken,
 * RT_ENOMEM (the caller keeps the run on error). */
int rt_runs_add(rt_runs *reg, rt_run *run);
rt_run *rt_runs_find(const rt_runs *reg, const char *name); /* NULL if none */
int rt_runs_count(const rt_runs *reg);
rt_run *rt_runs_at(const rt_runs *reg, int i);
/* Frees the named run (the caller guarantees no thread still uses it). */
int rt_runs_remove(rt_runs *reg, const char *name); /* 0 or RT_ENOTFOUND */

#endif
