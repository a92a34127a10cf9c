/* mag_runs: selecting stored runs and reading their configuration, shared by %plot
 * (mag_m_runs.c) and %compare (mag_m_compare.c).  Leaves out: anything that draws. */
#ifndef MAG_RUNS_H
#define MAG_RUNS_H

#include <stddef.h>

#include "mag_session.h"
#include "rt_run.h"

/* The runs a positional argument names: the run of that name; else, for a pattern with
 * * or ?, every run it matches; else the points NAME[...] of a sweep cell.  Appends them
 * to runs[0..*n) (skipping runs already there; runs has room for every run of the
 * session); returns how many matched (0: none). */
int mag_runs_select(mag_session *ss, const char *w, rt_run **runs, int *n);

/* The value of configuration key `key` of run: its configuration (rt_run_config_get),
 * else the coordinate key=value of its name NAME[...] (into buf); NULL when it has none. */
const char *mag_run_key(const rt_run *run, const char *key, char *buf, size_t cap);

/* %export's writer (mag_m_io.c): runs[0..n) to path in the format of its extension
 * (.csv, .jsonl, .json).  0, MAG_ENOMEM, or MAG_ERUNTIME with *err_no = the errno of the
 * file that cannot be written.  `rlhf-kernel worker` writes its point's run with it. */
int mag_export_write(const char *path, rt_run *const *runs, int n, int *err_no);
/* The JSONL of one run written as its rows come (`rlhf-kernel worker`'s point-I.jsonl):
 * the same bytes mag_export_write gives once the run ended.  open: 0, MAG_ERUNTIME
 * (*err_no) or MAG_ENOMEM; row: a row of the run's columns (its errors kept); flushed
 * every 50 ms; close: 0, or the first error (MAG_ERUNTIME with *err_no, MAG_ENOMEM). */
typedef struct mag_export_stream mag_export_stream;
int mag_export_stream_open(const char *path, rt_run *run, mag_export_stream **out, int *err_no);
void mag_export_stream_row(mag_export_stream *s, const double *row);
int mag_export_stream_close(mag_export_stream *s, int *err_no);

#endif
