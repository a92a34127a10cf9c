/* rt_runfile: a run as a file of records written while it trains and read while it grows
 * — how a sweep point trained in another process (a worker on an MPI rank, a Slurm array
 * task) streams its metrics rows, log lines and end back to the run that shows it.
 *
 * The file: a text header
 *
 *     rlhf-run 1
 *     columns N
 *     NAME_1
 *     ...
 *     NAME_N
 *     end
 *
 * then binary records, each a tag byte:
 *
 *     'R'  N doubles, little-endian IEEE 754 binary64 (a metrics row, bit for bit: NaN,
 *          infinities and -0 come back as they went)
 *     'L'  u32 length, that many bytes (a log line)
 *     'F'  u8 status (rt_run_status), i64 step, u32 length, message bytes (the end)
 *
 * Integers are little-endian.  A writer appends records as its run's events come
 * (rt_runfile_event, the rt_event_fn of rt_run_set_events or chained after another) and
 * flushes at most every RT_RUNFILE_FLUSH_MS and at the end, so a reader sees rows within
 * that time; a reader polls (rt_runfile_poll) and applies only whole records, so it may
 * read a file that is still being written.  The writer never rewrites what it wrote.
 * Leaves out: where the files live and who starts the writers (the magics' job
 * directories). */
#ifndef RT_RUNFILE_H
#define RT_RUNFILE_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_run.h"

enum { RT_RUNFILE_FLUSH_MS = 50 };

typedef struct rt_runfile_writer rt_runfile_writer;

/* Creates (truncates) path and writes the header of columns[0..n) (names without a
 * newline; n >= 1).  0, RT_ENOENT / RT_EIO (cannot create or write, d names path and the
 * reason), RT_EINVAL (bad columns) or RT_ENOMEM; *out NULL on error. */
int rt_runfile_create(const char *path, const char *const *columns, int n, rt_runfile_writer **out,
                      rt_diag *d);
/* Appends the record of ev (RUN_STARTED writes nothing: the header says it started).
 * A row's n_columns must be the header's.  Usable as an rt_event_fn through
 * rt_runfile_on_event (user = the writer).  The first write error is kept and
 * returned by rt_runfile_close; later events are dropped. */
void rt_runfile_event(rt_runfile_writer *w, const rt_event *ev);
void rt_runfile_on_event(void *user, const rt_event *ev);
/* Flushes, closes and frees; 0 or the first write error (RT_EIO, d names the file). */
int rt_runfile_close(rt_runfile_writer *w, rt_diag *d);

/* A reader of one run file, applying what it reads to a run. */
typedef struct rt_runfile_reader rt_runfile_reader;

/* A reader of path (which may not exist yet).  0 or RT_ENOMEM. */
int rt_runfile_reader_new(const char *path, rt_runfile_reader **out);
void rt_runfile_reader_free(rt_runfile_reader *r);

/* Reads what path holds beyond what was read and applies its whole records to run: once
 * the header is there, rt_run_start (if run was not started) and the columns matched
 * by name (a column of run that the file lacks reads NaN; a column of the file that run
 * lacks is dropped); rows with rt_run_append, log lines with rt_run_log, the end with
 * rt_run_finish.  Returns the number of records applied (0: nothing new, or no file
 * yet), or RT_EMAGIC / RT_EVERSION / RT_EFORMAT (a malformed file: d names path and
 * what), RT_EIO or RT_ENOMEM. */
int rt_runfile_poll(rt_runfile_reader *r, rt_run *run, rt_diag *d);
/* 1 once the file's header was read (the run started in its process). */
int rt_runfile_started(const rt_runfile_reader *r);
/* 1 once the end record was read; *status, *step (may be NULL) are its values. */
int rt_runfile_ended(const rt_runfile_reader *r, rt_run_status *status, long *step);
/* The end record's message ("" before it, or none). */
const char *rt_runfile_end_message(const rt_runfile_reader *r);
/* From now on an end record saying INTERRUPTED is read (rt_runfile_ended) but not applied
 * to the run: the caller decides (a point stopped by someone else's interrupt: mpirun
 * tearing a job down after a rank died, not the user, is a failure). */
void rt_runfile_hold_interrupted(rt_runfile_reader *r);

#endif
