/* mag_bridge: the training cell's live chart, final frame and summary table, plus the
 * small {text/html, text/plain} table used by the magics that print tables (see
 * mag_bridge.h).  Leaves out: log-line display, per-panel options. */
#include "mag_bridge.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "krn_log.h"
#include "krn_png.h"
#include "mag_lang.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_chart.h"
#include "rt_math.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ chart frames */

double mag_bridge_last(const rt_run *run, const char *metric)
{
    int c = rt_run_column_index(run, metric);
    if (c < 0) return NAN;
    long rows = rt_run_rows(run);
    int nc = rt_run_n_columns(run);
    double *row = rt_malloc((size_t)nc * sizeof *row);
    if (!row) return NAN;
    double v = NAN;
    for (long r = rows - 1; r >= 0; r--) {
        if (rt_run_read(run, r, 1, row) == 1 && isfinite(row[c])) {
            v = row[c];
            break;
        }
    }
    rt_free(row);
    return v;
}

/* The data of one frame: snapshots of every run, series and band buffers. */
typedef struct frame {
    int n;
    rt_run_snapshot *snap;
    void **bufs; /* everything else allocated for the frame */
    size_t nbufs, capbufs;
    int oom;
} frame;

static void *frame_alloc(frame *f, size_t bytes)
{
    if (f->oom) return NULL;
    if (f->nbufs == f->capbufs) {
        size_t nc = f->capbufs ? f->capbufs * 2 : 32;
        void **p = rt_realloc(f->bufs, nc * sizeof *p);
        if (!p) {
            f->oom = 1;
            return NULL;
        }
        f->bufs = p;
        f->capbufs = nc;
    }
    void *m = rt_malloc(bytes ? bytes : 1);
    if (!m) {
        f->oom = 1;
        return NULL;
    }
    f->bufs[f->nbufs++] = m;
    return m;
}

static void frame_free(frame *f)
{
    for (int i = 0; f->snap && i < f->n; i++)
        rt_run_snapshot_free(&f->snap[i]);
    rt_free(f->snap);
    for (size_t i = 0; i < f->nbufs; i++)
        rt_free(f->bufs[i]);
    rt_free(f->bufs);
    memset(f, 0, sizeof *f);
}

/* x and y of metric col for snapshot s (sparse: NaN rows dropped); returns count. */
static size_t series_xy(frame *f, const rt_run_snapshot *s, int xcol, int col, int sparse,
                        double **x, double **y)
{
    *x = frame_alloc(f, (size_t)(s->rows + 1) * sizeof **x);
    *y = frame_alloc(f, (size_t)(s->rows + 1) * sizeof **y);
    if (!*x || !*y) return 0;
    size_t n = 0;
    for (long r = 0; r < s->rows; r++) {
        double v = col >= 0 ? s->values[r * s->n_columns + col] : NAN;
        if (sparse && !isfinite(v)) continue;
        (*x)[n] = xcol >= 0 ? s->values[r * s->n_columns + xcol] : (double)(r + 1);
        (*y)[n] = v;
        n++;
    }
    return n;
}

/* name ends with suffix */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && !strcmp(name + n - k, suffix);
}

void mag_metric_range(const char *metric, double *ymin, double *ymax, int *yzero)
{
    const char *m = strncmp(metric, "eval_", 5) ? metric : metric + 5;
    *ymin = *ymax = 0; /* no range */
    *yzero = 0;
    if (!strcmp(m, "accuracy") || ends_with(m, "_accuracy") || ends_with(m, "_acc") ||
        ends_with(m, "_frac") || ends_with(m, "_rate") || !strncmp(m, "judge_win", 9)) {
        *ymin = 0, *ymax = 1; /* fractions of a batch or an evaluation set */
    } else if (!strcmp(m, "vs_greedy")) {
        *ymin = -1, *ymax = 1; /* a mean game outcome */
    } else if (!strncmp(m, "kl", 2) && strcmp(m, "kl_est") != 0) {
        *ymin = 0, *ymax = INFINITY, *yzero = 1; /* a divergence: from 0 up */
    } else if (!strcmp(m, "entropy") || !strcmp(m, "grad_norm") || !strcmp(m, "length") ||
               !strcmp(m, "chi2") || !strcmp(m, "tokens") || !strcmp(m, "wall")) {
        *ymin = 0, *ymax = INFINITY; /* never negative, but not drawn from 0 */
    }
}

/* Builds the chart of runs (their snapshots taken now) and renders the bundle. */
/* Progress of a training cell, for render_bundle (NULL for a static chart). */
typedef struct progress {
    const char *subtitle; /* may be NULL */
    double xspan;         /* the x axis covers [0, xspan] (0: the data only) */
} progress;

/* The display bundle of a chart (three mime types); *bytes (may be NULL) receives the
 * rendered size.  NULL on ENOMEM. */
static cJSON *chart_bundle(const rt_chart *chart, size_t *bytes)
{
    rt_chart_bundle rb;
    if (rt_chart_render(chart, &rb)) return NULL;
    cJSON *vl = cJSON_Parse(rb.vegalite);
    cJSON *bundle = cJSON_CreateObject();
    if (!vl || !bundle) {
        cJSON_Delete(vl);
        cJSON_Delete(bundle);
        bundle = NULL;
    } else {
        cJSON_AddItemToObject(bundle, "application/vnd.vegalite.v5+json", vl);
        if (!cJSON_AddStringToObject(bundle, "image/svg+xml", rb.svg) ||
            !cJSON_AddStringToObject(bundle, "text/plain", rb.text)) {
            cJSON_Delete(bundle);
            bundle = NULL;
        }
    }
    if (bytes) *bytes = rb.vegalite_len + rb.svg_len + rb.text_len;
    rt_chart_bundle_free(&rb);
    return bundle;
}

cJSON *mag_bridge_render(const rt_chart *chart)
{
    return chart ? chart_bundle(chart, NULL) : NULL;
}

/* With pg, runs not started yet are left out of the chart (queued sweep points). */
static cJSON *render_bundle(rt_run *const *runs, const char *const *labels, int n,
                            const char *title, const char *xname, const char *const *panels,
                            int npanels, double smooth, int logy, double band_k,
                            const mag_bridge_ref *refs, int nrefs, const progress *pg,
                            size_t *bytes)
{
    if (!xname) xname = "step";
    frame f = {0};
    cJSON *bundle = NULL;
    rt_chart_panel *cp = rt_calloc((size_t)npanels, sizeof *cp);
    rt_chart_series *ser = rt_calloc((size_t)npanels * (size_t)(n ? n : 1), sizeof *ser);
    const char **glabel = rt_calloc((size_t)(n ? n : 1), sizeof *glabel);
    int *gof = rt_calloc((size_t)(n ? n : 1), sizeof *gof);
    f.n = n;
    f.snap = rt_calloc((size_t)(n ? n : 1), sizeof *f.snap);
    if (!cp || !ser || !glabel || !gof || !f.snap) goto done;
    /* groups by label, first-appearance order */
    int ng = 0;
    for (int i = 0; i < n; i++) {
        if (rt_run_snapshot_take(runs[i], &f.snap[i])) goto done;
        gof[i] = -1;
        if (pg && rt_run_status_of(runs[i], NULL, NULL, 0) == RT_RUN_CREATED) continue;
        const char *l = labels && labels[i] ? labels[i] : rt_run_name(runs[i]);
        int g = 0;
        while (g < ng && strcmp(glabel[g], l))
            g++;
        if (g == ng) glabel[ng++] = l;
        gof[i] = g;
    }
    for (int p = 0; p < npanels; p++) {
        rt_chart_series *ps = ser + (size_t)p * (size_t)(n ? n : 1);
        int sparse = strncmp(panels[p], "eval_", 5) == 0;
        for (int g = 0; g < ng; g++) {
            rt_chart_series *cs = &ps[g];
            cs->name = glabel[g];
            cs->points = sparse ? RT_CHART_LINE_DOTS : RT_CHART_LINE; /* evaluations: dots */
            int members = 0;
            for (int i = 0; i < n; i++)
                members += gof[i] == g;
            const double **ys = frame_alloc(&f, (size_t)members * sizeof *ys);
            const double **xs = frame_alloc(&f, (size_t)members * sizeof *xs);
            size_t *lens = frame_alloc(&f, (size_t)members * sizeof *lens);
            if (!ys || !xs || !lens) goto done;
            size_t maxn = 0;
            const double *xbest = NULL;
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (gof[i] != g) continue;
                double *x, *y;
                int xcol = rt_run_column_index(runs[i], xname);
                int col = rt_run_column_index(runs[i], panels[p]);
                size_t k = series_xy(&f, &f.snap[i], xcol, col, sparse, &x, &y);
                if (f.oom) goto done;
                ys[m] = y;
                xs[m] = x;
                lens[m] = k;
                if (k > maxn || !xbest) {
                    maxn = k;
                    xbest = x;
                }
                m++;
            }
            cs->x = xbest;
            cs->n = maxn;
            if (members == 1) {
                cs->y = ys[0];
            } else {
                double *mean = frame_alloc(&f, (maxn + 1) * sizeof *mean);
                double *lo = frame_alloc(&f, (maxn + 1) * sizeof *lo);
                double *hi = frame_alloc(&f, (maxn + 1) * sizeof *hi);
                if (!mean || !lo || !hi) goto done;
                rt_chart_mean_band(ys, lens, (size_t)members, maxn, band_k > 0 ? band_k : 1.0, mean,
                                   lo, hi);
                cs->y = mean;
                cs->lo = lo;
                cs->hi = hi;
                /* x = a logged metric (%plot x=kl_ref): it differs between the seeds of a
                   band, so the band's point i sits at the mean of their x at i, as its y is
                   their mean (step and tokens are the same for every seed: unchanged) */
                if (strcmp(xname, "step")) {
                    double *xm = frame_alloc(&f, (maxn + 1) * sizeof *xm);
                    if (!xm) goto done;
                    rt_chart_mean_band(xs, lens, (size_t)members, maxn, 1.0, xm, NULL, NULL);
                    cs->x = xm;
                }
            }
        }
        cp[p].title = panels[p];
        cp[p].xlabel = xname;
        cp[p].logy = logy;
        cp[p].smooth = sparse ? 0 : smooth; /* held-out evaluations are drawn as measured */
        mag_metric_range(panels[p], &cp[p].ymin, &cp[p].ymax, &cp[p].yzero);
        cp[p].series = ps;
        cp[p].nseries = (size_t)ng;
        cp[p].xspan = pg ? pg->xspan : 0;
        for (int r = 0; r < nrefs; r++) /* horizontal reference lines of this panel */
            if (refs[r].panel && !strcmp(refs[r].panel, panels[p]) && isfinite(refs[r].y)) {
                if (!cp[p].refs) {
                    cp[p].refs = frame_alloc(&f, (size_t)nrefs * sizeof *cp[p].refs);
                    if (!cp[p].refs) goto done;
                }
                rt_chart_ref *cr = (rt_chart_ref *)&cp[p].refs[cp[p].nrefs++];
                cr->y = refs[r].y;
                cr->label = refs[r].label;
            }
    }
    rt_chart chart = {0};
    chart.title = title;
    chart.subtitle = pg ? pg->subtitle : NULL;
    chart.panels = cp;
    chart.npanels = (size_t)npanels;
    chart.columns = npanels <= 3 ? npanels : npanels == 4 ? 2 : 3; /* 3, 2+2, 3+2, 3+3 */
    bundle = chart_bundle(&chart, bytes);
done:
    frame_free(&f);
    rt_free(cp);
    rt_free(ser);
    rt_free(glabel);
    rt_free(gof);
    return bundle;
}

/* Live frames never carry a PNG (a render costs tens of ms); see mag_bridge.h. */
/* RLHF_CHART_PNG=off: final frames keep their SVG (read at each final frame: a
 * microsecond next to the tens of ms of a render; tools/fuzz/fuzz_exec.c switches it
 * between inputs). */
int mag_bridge_png_off(void)
{
    const char *e = getenv("RLHF_CHART_PNG");
    return e && (!strcmp(e, "off") || !strcmp(e, "0"));
}

int mag_bridge_final(cJSON *bundle, cJSON **metadata, double *png_s)
{
    double t0 = now_s();
    if (metadata) *metadata = NULL;
    if (png_s) *png_s = 0;
    if (mag_bridge_png_off()) return 0;
    const char *svg = cJSON_GetStringValue(cJSON_GetObjectItem(bundle, "image/svg+xml"));
    if (!svg) return 0;
    char err[256] = "";
    int w = 0, h = 0;
    char *b64 = krn_png_from_svg_base64(svg, strlen(svg), &w, &h, err, sizeof err);
    int rc = 0;
    cJSON *md = NULL, *im = NULL;
    if (!b64) {
        /* once per process: a build without librsvg (-Dpng=disabled) fails every frame */
        static atomic_int warned;
        if (!atomic_exchange(&warned, 1)) KRN_WARN("chart PNG: %s (charts keep their SVG)", err);
    } else if (!(md = cJSON_CreateObject()) || !(im = cJSON_AddObjectToObject(md, "image/png")) ||
               !cJSON_AddNumberToObject(im, "width", w) ||
               !cJSON_AddNumberToObject(im, "height", h) ||
               !cJSON_AddStringToObject(bundle, "image/png", b64)) {
        rc = MAG_BRIDGE_ENOMEM;
    } else {
        cJSON_DeleteItemFromObject(bundle, "image/svg+xml");
        KRN_DEBUG("chart PNG: %dx%d, %zu base64 bytes in %.1f ms", w, h, strlen(b64),
                  (now_s() - t0) * 1e3);
    }
    free(b64);
    if (rc || !metadata)
        cJSON_Delete(md);
    else
        *metadata = md;
    if (png_s) *png_s = now_s() - t0;
    return rc;
}

cJSON *mag_bridge_chart(rt_run *const *runs, const char *const *labels, int n, const char *title,
                        const char *xname, const char *const *panels, int npanels, double smooth,
                        int logy, double band_k)
{
    if (n < 0 || npanels < 1 || (n > 0 && !runs) || !panels) return NULL;
    if (smooth < 0 || isnan(smooth)) smooth = MAG_BRIDGE_SMOOTH_DEFAULT;
    return render_bundle(runs, labels, n, title, xname, panels, npanels, smooth, logy, band_k, NULL,
                         0, NULL, NULL);
}

/* ------------------------------------------------------------------ live training */

enum { BRIDGE_NOTES = 4 };

typedef struct bridge {
    mag_bridge_run *runs;
    int n;
    const mag_bridge_opts *o;
    atomic_int cancel;
    atomic_long rows_seen;
    atomic_int done;
    rt_job *jobs;
    pthread_mutex_t mu; /* with cv: the driver's "done" wakes the polling loop at once */
    pthread_cond_t cv;
    /* the runs' log lines (e.g. "one step is about ... flop"), under mu: printed by the
       polling loop as they come; the first BRIDGE_NOTES, then a count of the others */
    char notes[BRIDGE_NOTES][300];
    int nnotes, dropped;
} bridge;

static void on_event(void *user, const rt_event *ev)
{
    bridge *b = user;
    if (ev->kind == RT_EVENT_METRICS_ROW || ev->kind == RT_EVENT_RUN_FINISHED)
        atomic_fetch_add(&b->rows_seen, 1);
    if (ev->kind == RT_EVENT_LOG_LINE) {
        pthread_mutex_lock(&b->mu);
        if (b->nnotes < BRIDGE_NOTES)
            snprintf(b->notes[b->nnotes++], sizeof b->notes[0], "%s: %s", ev->run_name, ev->text);
        else
            b->dropped++;
        pthread_mutex_unlock(&b->mu);
    }
    if (b->o->on_event) b->o->on_event(b->o->user, ev);
}

/* Prints the log lines that came since the last call (the polling thread only). */
static void print_notes(krn_out *out, bridge *b, int *printed)
{
    pthread_mutex_lock(&b->mu);
    for (; *printed < b->nnotes; (*printed)++)
        krn_out_printf(out, KRN_STDOUT, "%s\n", b->notes[*printed]);
    if (atomic_load(&b->done) && b->dropped) {
        krn_out_printf(out, KRN_STDOUT, "(and %d more such notes)\n", b->dropped);
        b->dropped = 0;
    }
    pthread_mutex_unlock(&b->mu);
}

static void *driver(void *arg)
{
    bridge *b = arg;
    rt_executor ex = rt_executor_threads(b->o->threads); /* and its threads rule */
    rt_sweep_run(b->jobs, b->n, b->o->ex ? b->o->ex : &ex, &b->cancel);
    pthread_mutex_lock(&b->mu);
    atomic_store(&b->done, 1);
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* The step a run has reached: its final step once it ended, else the `step` column of
 * its last row (the row count without one); 0 before it starts or on ENOMEM. */
static long run_step(rt_run *r)
{
    long step = 0;
    rt_run_status st = rt_run_status_of(r, &step, NULL, 0);
    if (st == RT_RUN_CREATED) return 0;
    if (st != RT_RUN_RUNNING) return step;
    long rows = rt_run_rows(r);
    int col = rt_run_column_index(r, "step"), nc = rt_run_n_columns(r);
    if (rows <= 0 || col < 0) return rows > 0 ? rows : 0;
    double *v = rt_malloc((size_t)nc * sizeof *v);
    if (!v) return 0;
    if (rt_run_read(r, rows - 1, 1, v) == 1 && isfinite(v[col]) && v[col] >= 0) step = (long)v[col];
    rt_free(v);
    return step;
}

/* " · N WHAT" (or "runs N WHAT" first), unless N is 0 and only nonzero counts are shown. */
static void put_count(rt_strbuf *sb, int *first, int nonzero_only, int n, const char *what)
{
    if (nonzero_only && n == 0) return;
    rt_strbuf_printf(sb, "%s%d %s", *first ? " \u00b7 runs " : " \u00b7 ", n, what);
    *first = 0;
}

/* The progress subtitle and x span of the runs with planned steps (mag_bridge.h);
 * elapsed < 0: the final frame (no time).  *sub is NULL when no run has steps, or on
 * ENOMEM (then the frame simply has no subtitle); caller frees it with rt_free. */
static void progress_of(const bridge *b, double elapsed, char **sub, double *xspan)
{
    *sub = NULL;
    *xspan = 0;
    int npts = 0, count[5] = {0}; /* by rt_run_status */
    long n_at = 0, m_at = 0;      /* the least advanced running run: step, steps (a queued
                                     one only when none runs: sweep points wait at step 0) */
    double best = 3, done = 0, total = 0;
    for (int i = 0; i < b->n; i++) {
        long m = b->runs[i].steps;
        if (m <= 0) continue;
        rt_run_status st = rt_run_status_of(b->runs[i].run, NULL, NULL, 0);
        long s = run_step(b->runs[i].run);
        s = s < 0 ? 0 : s > m ? m : s;
        npts++;
        if ((int)st >= 0 && (int)st < 5) count[st]++;
        if ((double)m > *xspan) *xspan = (double)m;
        done += (double)(st == RT_RUN_FINISHED ? m : s);
        total += (double)m;
        double frac = (double)s / (double)m + (st == RT_RUN_RUNNING ? 0 : 1);
        if (st != RT_RUN_FINISHED && frac < best) best = frac, n_at = s, m_at = m;
    }
    if (npts == 0) return;
    if (best > 2) n_at = m_at = (long)*xspan; /* every run finished */
    rt_strbuf sb;
    rt_strbuf_init(&sb);
    rt_strbuf_printf(&sb, "step %ld/%ld", n_at, m_at);
    if (elapsed >= 0 && done > 0 && done < total) {
        long left = (long)(elapsed * (total - done) / done + 0.5);
        if (left >= 3600)
            rt_strbuf_printf(&sb, " \u00b7 %ld:%02ld:%02ld left", left / 3600, left / 60 % 60,
                             left % 60);
        else
            rt_strbuf_printf(&sb, " \u00b7 %ld:%02ld left", left / 60, left % 60);
    }
    if (npts > 1) {
        int first = 1, final = elapsed < 0;
        put_count(&sb, &first, 0, count[RT_RUN_FINISHED], "done");
        put_count(&sb, &first, final, count[RT_RUN_RUNNING], "running");
        put_count(&sb, &first, final, count[RT_RUN_CREATED], "queued");
        put_count(&sb, &first, 1, count[RT_RUN_INTERRUPTED], "interrupted");
        put_count(&sb, &first, 1, count[RT_RUN_FAILED], "failed");
    }
    *sub = rt_strbuf_take(&sb, NULL);
}

/* Adds copies of extra's members that *meta lacks to *meta (created if NULL).  0 or
 * MAG_BRIDGE_ENOMEM. */
static int add_metadata(cJSON **meta, const cJSON *extra)
{
    if (!*meta && !(*meta = cJSON_CreateObject())) return MAG_BRIDGE_ENOMEM;
    for (const cJSON *it = extra->child; it; it = it->next) {
        if (cJSON_GetObjectItemCaseSensitive(*meta, it->string)) continue;
        cJSON *c = cJSON_Duplicate(it, 1);
        if (!c || !cJSON_AddItemToObject(*meta, it->string, c)) {
            cJSON_Delete(c);
            return MAG_BRIDGE_ENOMEM;
        }
    }
    return 0;
}

/* first: 1 the initial display_data, 0 a live update, 2 the final frame (sent at once);
 * elapsed: seconds since training began (for the time left of live frames);
 * text (may be NULL) receives a copy of the frame's text/plain (rt_free; NULL on ENOMEM) */
static int publish_frame(krn_out *out, bridge *b, rt_run **rr, const char **labels, int first,
                         double elapsed, const char *id, mag_bridge_stats *st, char **text)
{
    double t0 = now_s();
    size_t bytes = 0;
    const mag_bridge_opts *o = b->o;
    progress pg;
    char *sub;
    progress_of(b, first == 2 ? -1 : elapsed, &sub, &pg.xspan);
    pg.subtitle = sub;
    cJSON *bundle =
        render_bundle(rr, labels, b->n, o->title, NULL, o->panels, o->npanels,
                      MAG_BRIDGE_SMOOTH_DEFAULT, 0, o->band_k, o->refs, o->nrefs, &pg, &bytes);
    rt_free(sub);
    if (!bundle) return MAG_BRIDGE_ENOMEM;
    cJSON *meta = NULL;
    if (first == 2 && mag_bridge_final(bundle, &meta, &st->png_s)) {
        cJSON_Delete(bundle);
        return MAG_BRIDGE_ENOMEM;
    }
    if (o->metadata && add_metadata(&meta, o->metadata)) {
        cJSON_Delete(bundle);
        cJSON_Delete(meta);
        return MAG_BRIDGE_ENOMEM;
    }
    if (text) {
        const char *pl = cJSON_GetStringValue(cJSON_GetObjectItem(bundle, "text/plain"));
        *text = rt_strdup(pl ? pl : "");
    }
    char *js = cJSON_PrintUnformatted(bundle);
    size_t total = js ? strlen(js) : bytes;
    rt_free(js);
    int rc = first == 1   ? krn_out_display(out, bundle, meta, id)
             : first == 2 ? krn_out_update_display_final(out, bundle, meta, id)
                          : krn_out_update_display(out, bundle, meta, id);
    st->frames++;
    if (total > st->max_bytes) st->max_bytes = total;
    st->render_s += now_s() - t0;
    return rc == KRN_OUT_ENOMEM ? MAG_BRIDGE_ENOMEM : 0;
}

/* Ends the summary's text/plain with the chart's final frame after a blank line, so
 * clients that ignore update_display_data (jupyter-console) see the curves too. */
static int append_plain(cJSON *summary, const char *frame_text)
{
    const char *table = cJSON_GetStringValue(cJSON_GetObjectItem(summary, "text/plain"));
    if (!table) return MAG_BRIDGE_ENOMEM;
    rt_strbuf t;
    rt_strbuf_init(&t);
    rt_strbuf_puts(&t, table);
    rt_strbuf_puts(&t, "\n");
    rt_strbuf_puts(&t, frame_text);
    cJSON *item = t.err || !t.s ? NULL : cJSON_CreateString(t.s);
    rt_strbuf_free(&t);
    if (!item || !cJSON_ReplaceItemInObject(summary, "text/plain", item)) {
        cJSON_Delete(item); /* not taken: still ours */
        return MAG_BRIDGE_ENOMEM;
    }
    return 0;
}

int mag_bridge_train(krn_out *out, const mag_bridge_opts *o, mag_bridge_run *runs, int n,
                     mag_bridge_stats *stats)
{
    static atomic_long id_counter;
    mag_bridge_stats local;
    mag_bridge_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    if (!out || !o || !runs || n < 1 || !o->panels || o->npanels < 1) return MAG_BRIDGE_EINVAL;
    for (int i = 0; i < n; i++)
        if (!runs[i].run || !runs[i].fn) return MAG_BRIDGE_EINVAL;
    long frame_ms = o->frame_ms > 0 ? o->frame_ms : 250;
    bridge *b = rt_calloc(1, sizeof *b);
    rt_run **rr = rt_calloc((size_t)n, sizeof *rr);
    const char **labels = rt_calloc((size_t)n, sizeof *labels);
    if (b) b->jobs = rt_calloc((size_t)n, sizeof *b->jobs);
    if (!b || !rr || !labels || !b->jobs) {
        if (b) rt_free(b->jobs);
        rt_free(b);
        rt_free(rr);
        rt_free(labels);
        return MAG_BRIDGE_ENOMEM;
    }
    b->runs = runs;
    b->n = n;
    b->o = o;
    atomic_init(&b->cancel, 0);
    atomic_init(&b->rows_seen, 0);
    atomic_init(&b->done, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < n; i++) {
        rr[i] = runs[i].run;
        labels[i] = runs[i].label ? runs[i].label : rt_run_name(runs[i].run);
        rt_run_set_events(runs[i].run, on_event, b);
        rt_run_set_cancel(runs[i].run, &b->cancel);
        if (runs[i].plain) b->jobs[i] = *runs[i].plain; /* what the job is, as data */
        b->jobs[i].fn = runs[i].fn;
        b->jobs[i].arg = runs[i].arg;
    }
    snprintf(st->display_id, sizeof st->display_id, "rlhf-train-%d-%ld", o->execution_count,
             atomic_fetch_add(&id_counter, 1) + 1);
    double t_start = now_s();
    int rc = publish_frame(out, b, rr, labels, 1, 0, st->display_id, st, NULL);
    double last = now_s();
    long rendered = 0;
    int printed = 0;
    pthread_t th;
    int threaded = rc == 0 && pthread_create(&th, NULL, driver, b) == 0;
    if (rc == 0 && !threaded) driver(b); /* no thread: train without live frames */
    while (threaded && !atomic_load(&b->done)) {
        /* poll every 20 ms (interrupts, frames); wake at once when training ends */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 20000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_mutex_lock(&b->mu);
        if (!atomic_load(&b->done)) pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        pthread_mutex_unlock(&b->mu);
        if (!atomic_load(&b->cancel) && krn_out_interrupted(out)) {
            atomic_store(&b->cancel, 1);
            st->interrupted = 1;
        }
        print_notes(out, b, &printed);
        long seen = atomic_load(&b->rows_seen);
        if (seen != rendered && (now_s() - last) * 1000.0 >= (double)frame_ms) {
            rendered = seen;
            publish_frame(out, b, rr, labels, 0, now_s() - t_start, st->display_id, st, NULL);
            last = now_s();
        }
    }
    if (threaded) pthread_join(th, NULL);
    print_notes(out, b, &printed);
    if (rc == 0) {
        if (!st->interrupted && krn_out_interrupted(out)) st->interrupted = 1;
        /* the final frame goes out at once, ahead of the summary (not held back by the
           kernel's rate limit of one update per 250 ms per display id) */
        char *final_text = NULL;
        rc = publish_frame(out, b, rr, labels, 2, -1, st->display_id, st, &final_text);
        const char *const *sm = o->summary ? o->summary : o->panels;
        int nsm = o->summary ? o->nsummary : o->npanels;
        double t0 = now_s();
        cJSON *sum = mag_bridge_summary(rr, labels, n, sm, nsm);
        if (sum && final_text && append_plain(sum, final_text)) {
            cJSON_Delete(sum);
            sum = NULL;
        }
        rt_free(final_text);
        if (sum) {
            char *js = cJSON_PrintUnformatted(sum);
            st->summary_bytes = js ? strlen(js) : 0;
            rt_free(js);
            krn_out_display(out, sum, NULL, NULL);
        } else {
            rc = MAG_BRIDGE_ENOMEM;
        }
        st->render_s += now_s() - t0;
    }
    for (int i = 0; i < n; i++) {
        rt_run_set_events(runs[i].run, NULL, NULL);
        rt_run_set_cancel(runs[i].run, NULL);
    }
    st->wall_s = now_s() - t_start;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    rt_free(b->jobs);
    rt_free(b);
    rt_free(rr);
    rt_free(labels);
    return rc;
}

/* ------------------------------------------------------------------ magic helpers */

const mag_kv *mag_arg_pos(const mag_line *line, size_t i)
{
    if (!line) return NULL;
    for (size_t a = 0; a < line->nargs; a++) {
        if (line->args[a].key) continue;
        if (i == 0) return &line->args[a];
        i--;
    }
    return NULL;
}

const char *mag_arg_word(const mag_line *line, size_t i)
{
    const mag_kv *kv = mag_arg_pos(line, i);
    if (!kv || (kv->value.kind != MAG_V_NAME && kv->value.kind != MAG_V_STRING)) return NULL;
    return kv->value.str;
}

int mag_err_unknown(mag_diag *d, const mag_ctx *ctx, mag_kind kind, const char *word, mag_pos pos)
{
    const char *sug = mag_session_suggest(ctx->session, kind, word);
    if (sug)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, pos.line, pos.col, NULL,
                            "unknown %s '%s' (did you mean '%s'?)", mag_kind_name(kind), word, sug);
    return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, pos.line, pos.col, NULL,
                        "unknown %s '%s'", mag_kind_name(kind), word);
}

int mag_err(const mag_ctx *ctx, mag_diag *d, int code, mag_pos pos, const char *fmt, ...)
{
    char msg[MAG_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mag_diag_set(d, ctx->src, ctx->len, code, pos.line, pos.col, NULL, "%s", msg);
}

void mag_warn(const mag_ctx *ctx, mag_pos pos, const char *fmt, ...)
{
    char msg[MAG_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mag_diag wd;
    mag_diag_set(&wd, ctx->src, ctx->len, MAG_OK, pos.line, pos.col, NULL, "warning: %s", msg);
    krn_out_printf(ctx->out, KRN_STDERR, "%s\n", wd.msg);
    if (wd.source_line[0] || wd.caret[0])
        krn_out_printf(ctx->out, KRN_STDERR, "%s\n%s\n", wd.source_line, wd.caret);
}

int mag_err_nomem(mag_diag *d)
{
    return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
}

void mag_show(krn_out *out, cJSON *bundle)
{
    if (!bundle) {
        krn_out_printf(out, KRN_STDERR, "out of memory while formatting the output\n");
        return;
    }
    krn_out_display(out, bundle, NULL, NULL);
}

void mag_show_final_chart(krn_out *out, cJSON *bundle)
{
    cJSON *meta = NULL;
    if (bundle && mag_bridge_final(bundle, &meta, NULL)) {
        cJSON_Delete(bundle);
        bundle = NULL;
    }
    if (!bundle) {
        krn_out_printf(out, KRN_STDERR, "out of memory while formatting the output\n");
        return;
    }
    krn_out_display(out, bundle, meta, NULL);
}
