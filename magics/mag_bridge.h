/* mag_bridge: the "training cell" display shared by every magic that trains (%%policy,
 * %%rl, %%opd, %%debate) — design.md "What a training cell shows".
 *
 * mag_bridge_train(out, opts, runs, n, stats):
 *   1. publishes display_data with a transient display_id and the chart bundle
 *      {application/vnd.vegalite.v5+json (a JSON object), image/svg+xml, text/plain}
 *      (no text/html), drawn from the runs' (still empty) metrics tables;
 *   2. runs the jobs with rt_sweep_run on the threads executor of opts->threads threads
 *      (whose rule gives a lone run every thread inside, the points of a sweep one each;
 *      a driver thread; the calling thread keeps polling) and, while they train, publishes
 *      update_display_data with the same id at most once per frame_ms (default 250 ms),
 *      only when new metric rows arrived, rendering from snapshots of the tables (never
 *      per row);
 *   3. sets every run's cancel flag as soon as krn_out_interrupted(out) is true (runs
 *      stop at their next step boundary);
 *   4. after the jobs: the final frame (update_display_data through
 *      krn_out_update_display_final, which no rate limiter holds back), made final by
 *      mag_bridge_final (image/png in place of the SVG), then a separate summary
 *      table display {text/html, text/plain} (mag_bridge_summary: a row per run, or for
 *      a sweep with seeds a row per configuration with mean ± sd and the per-seed rows
 *      folded behind it); its text/plain ends, after a blank
 *      line, with the final frame's text/plain (title, then each panel's sparklines), for
 *      clients that ignore update_display_data (jupyter-console).
 * It publishes no error: the caller reads the statuses (rt_run_status_of) and reports
 * interruption or failure in its own words.
 *
 * Progress (runs with steps > 0): the chart's subtitle says "step N/M" (the least
 * advanced unfinished run's step, by fraction, over its planned steps; M/M when all
 * finished), in live frames "· m:ss left" (elapsed time over the fraction of all
 * planned steps done), and with several runs "· runs a done · b running · c queued"
 * (then "· k interrupted", "· k failed" when there are such; the final frame names
 * only the counts that are not 0).  The final frame carries no time, so it is the
 * same on every machine.  Every panel's x axis covers [0, the largest planned steps]
 * from the first frame.  Runs not started yet (queued sweep points) have no series
 * and no legend entry until they start.
 *
 * Chart: one panel per metric in opts->panels (title = the metric), 3 per row at most
 * (4 panels: 2 + 2; 5: 3 + 2), so the chart fits 940 px (rt_chart.h); in each panel one
 * series per distinct label (runs[i].label, legend = label), in first-appearance
 * order, one legend for the chart.  Runs sharing a label (the seeds of one sweep
 * configuration) are drawn as their pointwise mean with a band of mean ± opts->band_k
 * sample standard deviations (rt_chart_mean_band).  x = the `step` column (the row
 * number when there is none).  Per-step metrics are smoothed (debiased EMA of weight
 * MAG_BRIDGE_SMOOTH_DEFAULT, the raw line faint behind).  Columns named eval_* are
 * held-out evaluations, sparse (NaN between evaluations): never smoothed, their NaN
 * rows dropped so the evaluations join into a line with a dot at each one; any other
 * NaN/Inf is drawn as a gap.  Each panel gets its metric's range (mag_metric_range):
 * accuracies clamp to [0, 1], KL axes start at 0.
 *
 * Each run must own everything it mutates (rng stream, buffers), so results are the
 * same whatever opts->threads.  Threads: the jobs run on sweep threads; events of
 * the runs are delivered there (opts->on_event is chained, it must be thread-safe).
 * Everything published goes through `out` (thread-safe).  opts->refs draws horizontal
 * reference lines (e.g. the teacher's held-out accuracy) on the panels they name.
 * The runs' log lines (RT_EVENT_LOG_LINE: e.g. a trainer's "one step is about 4e+12
 * flop, ~35 s here") are printed to stdout as "RUN: LINE" while training (the first
 * four; then a count).  Leaves out: logs of their own (the runtime logs, it prints). */
#ifndef MAG_BRIDGE_H
#define MAG_BRIDGE_H

#include <stdatomic.h>
#include <stddef.h>

#include "krn_display.h"
#include "mag_magic.h"
#include "rt_run.h"
#include "rt_sweep.h"

typedef struct cJSON cJSON;

enum { MAG_BRIDGE_EINVAL = -1, MAG_BRIDGE_ENOMEM = -2 };

/* One run to train and show. */
typedef struct mag_bridge_run {
    rt_run *run;       /* created by the caller, not started; it stays the caller's */
    const char *label; /* legend entry (NULL = the run's name); equal labels = one band */
    rt_job_fn fn;      /* trains the run (called on a sweep thread with the cancel flag,
                          which the bridge also installs with rt_run_set_cancel) */
    void *arg;
    const rt_job *plain; /* optional: the job's plain data (trainer, name, cfg, inputs,
                            rng; rt_job.h), copied into the job; borrowed */
    long steps;          /* planned steps (0 = unknown: the run is left out of progress) */
} mag_bridge_run;

/* A horizontal reference line on the panel of metric `panel` (NaN y: not drawn). */
typedef struct mag_bridge_ref {
    const char *panel;
    double y;
    const char *label; /* may be NULL */
} mag_bridge_ref;

typedef struct mag_bridge_opts {
    const char *title;          /* chart title, may be NULL */
    const char *const *panels;  /* metric names, one panel each */
    int npanels;                /* >= 1 */
    const char *const *summary; /* metrics of the summary table (NULL: panels) */
    int nsummary;
    int threads;          /* sweep threads, >= 1 (clamped) */
    double band_k;        /* band half-width in std (0 = 1) */
    long frame_ms;        /* minimum time between frames (0 = 250) */
    int execution_count;  /* only used to make the display id readable */
    rt_event_fn on_event; /* optional, chained after the bridge's own handler */
    void *user;
    const mag_bridge_ref *refs; /* optional reference lines (nrefs of them) */
    int nrefs;
    const rt_executor *ex; /* optional: who runs the jobs (NULL: the threads executor of
                              `threads`; mag_remote.h follows points trained elsewhere) */
    const cJSON *metadata; /* optional: added to every frame's metadata (borrowed; e.g.
                              where the points ran, mag_jobs_executor_meta) */
} mag_bridge_opts;

/* What happened (for benchmarks and tests). */
typedef struct mag_bridge_stats {
    int frames;       /* display_data + update_display_data of the chart */
    size_t max_bytes; /* largest chart bundle (serialized JSON bytes) */
    size_t summary_bytes;
    double render_s;     /* seconds spent snapshotting, rendering and publishing */
    double png_s;        /* of which rasterizing the final frame's image/png */
    double wall_s;       /* seconds from the first frame to the summary */
    int interrupted;     /* 1 if the cancel flag was set by an interrupt */
    char display_id[64]; /* the chart's display id */
} mag_bridge_stats;

/* Trains and shows runs[0..n) as described above.  stats may be NULL.  Returns 0 (the
 * runs' own statuses tell how each one ended), MAG_BRIDGE_EINVAL or MAG_BRIDGE_ENOMEM
 * (then nothing was trained). */
int mag_bridge_train(krn_out *out, const mag_bridge_opts *opts, mag_bridge_run *runs, int n,
                     mag_bridge_stats *stats);

/* The EMA weight of per-step metrics when nothing else is asked (TensorBoard's default):
 * training cells always, %plot without smooth= (it passes a negative smooth). */
#define MAG_BRIDGE_SMOOTH_DEFAULT 0.6

/* A static chart of stored runs (for %plot): the bundle object with the three mime
 * types, or NULL on ENOMEM.  labels may be NULL (run names); xname is the column drawn
 * on the x axis (NULL = "step"; a run without it draws nothing); smooth in [0, 1) (0 =
 * raw), negative = MAG_BRIDGE_SMOOTH_DEFAULT; eval_* panels are never smoothed; logy
 * applies to every panel.  Caller owns the result (cJSON_Delete). */
cJSON *mag_bridge_chart(rt_run *const *runs, const char *const *labels, int n, const char *title,
                        const char *xname, const char *const *panels, int npanels, double smooth,
                        int logy, double band_k);

/* The bundle (the three mime types, as above) of a chart the caller built itself, e.g.
 * %plot's final values against a swept key (rt_chart_series.points).  NULL on ENOMEM or
 * a chart rt_chart_render refuses.  Caller owns the result. */
typedef struct rt_chart rt_chart;
cJSON *mag_bridge_render(const rt_chart *chart);

/* The range of a metric's values for its panel (rt_chart_panel ymin/ymax/yzero), from
 * its name (an eval_ prefix is ignored): accuracy, *_accuracy, *_frac, *_rate,
 * judge_win* -> [0, 1]; vs_greedy -> [-1, 1]; kl* -> [0, inf) with the axis from 0,
 * except kl_est (a sampled estimate: k1's can be negative); entropy, grad_norm, length,
 * chi2, tokens, wall -> [0, inf); anything else (reward, loss, return, kl_est...) ->
 * none (ymin = ymax = 0). */
void mag_metric_range(const char *metric, double *ymin, double *ymax, int *yzero);

/* 1 when RLHF_CHART_PNG=off (or 0) asks for figures without their PNG. */
int mag_bridge_png_off(void);

/* Makes a chart bundle (as above) a final frame: its image/svg+xml is rasterized
 * (krn_png_from_svg) to image/png, which replaces the SVG: untrusted notebooks and GitHub
 * show PNG, not SVG or Vega-Lite, and nbconvert 6.5 (Debian 12) prefers SVG to PNG but
 * empties inline SVG, so a final frame that kept its SVG would export as a blank gap
 * (DESIGN.md "Final frames").  *metadata (may be NULL) receives {"image/png": {width,
 * height}} (caller owns it) or NULL.  A failed rasterization keeps the SVG (logged, returns
 * 0); MAG_BRIDGE_ENOMEM on out of memory.  *png_s (may be NULL) receives the seconds it took.
 * With RLHF_CHART_PNG=off (or 0) in the environment it does nothing: final frames keep
 * their SVG (a server that exports no notebooks, or tests that draw thousands of frames). */
int mag_bridge_final(cJSON *bundle, cJSON **metadata, double *png_s);

/* The summary table bundle {text/html, text/plain} of a training cell.  labels (may be
 * NULL: run names) group the runs: runs sharing a label are the seeds of one sweep
 * configuration (the bridge's labels: the point names without the seed coordinate).
 * - No group has two runs (one run, or a sweep without seeds): one table, a row per run:
 *   run, status, steps and the last finite value of each metric (blank when a run does
 *   not have it).
 * - Otherwise a table of configurations, a row per label in first-appearance order: run
 *   (the label), status (the common status, else the counts: "finished 2 · interrupted
 *   1"), steps (the common step, else "LO–HI"), n (the seeds) and per metric "MEAN ± SD"
 *   (sample sd) over the seeds' last finite values (the mean alone with one value,
 *   " (K)" appended when only K of the n have one); then the per-run table above folded
 *   behind it: in HTML `<details><summary>per seed (N runs)</summary><table
 *   class="rlhf-table rlhf-seeds">…</table></details>` after `<table class="rlhf-table
 *   rlhf-means">`, in text after a line "per seed:".
 * Numbers have fixed decimals per column (mag_fmt_decimals over the column's values, over
 * the means in the configuration table; a sd has its mean's decimals).  NULL on ENOMEM.
 * Caller owns it. */
cJSON *mag_bridge_summary(rt_run *const *runs, const char *const *labels, int n,
                          const char *const *metrics, int nmetrics);

/* The last finite value of column `metric` of run (NaN if none / no such column). */
double mag_bridge_last(const rt_run *run, const char *metric);

/* A small table shown as {text/html, text/plain}: a column whose non-empty cells are all
 * numbers (or "MEAN ± SD [(K)]") is right-aligned with its header, any other column
 * left-aligned with its header, in text and in HTML (th and td carry text-align).  Cells are
 * copied.  Used by the summary and by %task, %eval, %sample and %runs.  mag_table_new: NULL on
 * ENOMEM; free with mag_table_free. */
typedef struct mag_table mag_table;
mag_table *mag_table_new(int ncols, const char *const *headers);
void mag_table_free(mag_table *t);
/* Appends a row of ncols cells (NULL = empty); 0 or MAG_BRIDGE_ENOMEM. */
int mag_table_row(mag_table *t, const char *const *cells);
/* The bundle; caption (may be NULL) is a first line of the text and an HTML caption.
 * NULL on ENOMEM.  Caller owns it (cJSON_Delete, or hand it to krn_out_display). */
cJSON *mag_table_bundle(const mag_table *t, const char *caption);
/* A number as the tables show it: "0.512", "1.25e-05", "nan", "" for NaN when
 * blank_nan.  Writes at most cap bytes. */
void mag_fmt_num(double v, int blank_nan, char *buf, size_t cap);
/* Fixed decimals for a column of numbers v[0..n) (non-finite ones ignored): 0 when all are
 * integers; -1 (scientific, "6.67e-06") when the largest |v| is below 1e-3 or 1e6 and
 * above; else enough decimals for 4 significant digits of the smallest |v| that is at
 * least 1/1000 of the largest (and 1e-3), at most 6 ("0.6065", "1.2550", "25.30"). */
int mag_fmt_decimals(const double *v, size_t n);
/* v with `decimals` decimals (-1: "%.2e"); "-0.0000" is written "0.0000"; NaN/inf as
 * mag_fmt_num. */
void mag_fmt_fixed(double v, int decimals, int blank_nan, char *buf, size_t cap);

/* ---- helpers shared by the training-side magics (mag_m_*.c) ---- */

/* The i-th positional argument (key == NULL) of a line magic: the kv, or NULL. */
const mag_kv *mag_arg_pos(const mag_line *line, size_t i);
/* Its text when it is a NAME or a string, else NULL. */
const char *mag_arg_word(const mag_line *line, size_t i);
/* "unknown KIND 'word' (did you mean 'x'?)" at pos; returns MAG_ENAME. */
int mag_err_unknown(mag_diag *d, const mag_ctx *ctx, mag_kind kind, const char *word, mag_pos pos);

/* mag_diag_set for the cell being run, at pos (line 0: no place):
 * mag_err(ctx, d, MAG_EVALUE, at, "policy '%s' has no task: give task = TASK", name). */
int mag_err(const mag_ctx *ctx, mag_diag *d, int code, mag_pos pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* A warning that does not stop the cell, on stderr as the reward's are: "cell:4:6:
 * warning: MSG", then the source line and the caret at pos. */
void mag_warn(const mag_ctx *ctx, mag_pos pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* MAG_ENOMEM "cell: out of memory" (no source line). */
int mag_err_nomem(mag_diag *d);
/* Displays a bundle (takes ownership); prints "out of memory" to stderr when NULL. */
void mag_show(krn_out *out, cJSON *bundle);
/* mag_show of a chart bundle made final first (mag_bridge_final): %plot's chart. */
void mag_show_final_chart(krn_out *out, cJSON *bundle);

#endif
