/* mag_m_runs: %runs — the table of runs (name, status, steps, task, final metrics, with
 * fixed decimals per column);
 * %plot [RUN|NAME|PATTERN]... [metric=M] [x=KEY|COLUMN] [smooth=S] [logy] — a static chart
 * redrawn from stored runs (the same bundle as a training cell's final frame, made final:
 * PNG).  Runs are selected by name, by a sweep cell's NAME (its points NAME[...]) or by a
 * pattern with the wildcards * and ? only ('[' is part of run names); none: every run; a
 * pattern that matches nothing is an error at its column.  x=KEY, a key of the runs'
 * configuration (rt_run_config_get, else the NAME[key=value] coordinates): the final value
 * of each metric against KEY (rt_chart_series.points: dots per run, mean ± sd error bars per
 * value; categorical keys numbered 1..k, listed in the axis title); x=COLUMN, a logged
 * column: curves against it (mag_bridge_chart's xname; a band's x is the seeds' mean).  smooth not
 * given: -1, the charts' default smoothing.  Leaves out: a log x axis, tick labels for categories.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_runs.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_chart.h"
#include "rt_text.h"

/* Metric columns shown by %runs and drawn by default: every column of the runs in
 * first-appearance order, except the bookkeeping ones. */
static int skip_col(const char *c)
{
    return !strcmp(c, "step") || !strcmp(c, "tokens") || !strcmp(c, "wall");
}

static int collect_metrics(rt_run *const *runs, int n, const char **out, int cap)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < rt_run_n_columns(runs[i]); c++) {
            const char *name = rt_run_column(runs[i], c);
            if (skip_col(name)) continue;
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= !strcmp(out[j], name);
            if (!dup && k < cap) out[k++] = name;
        }
    return k;
}

static int run_runs(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)cfg;
    const mag_kv *extra = mag_arg_pos(line, 0);
    if (extra)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, extra->value.pos.line,
                            extra->value.pos.col, NULL, "%%runs takes no arguments");
    size_t n = mag_session_count(ctx->session, MAG_RUN);
    if (n == 0) {
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "no runs yet (a %%%%policy with sft_steps > 0 makes one)\n");
        return 0;
    }
    rt_run **runs = rt_calloc(n, sizeof *runs);
    if (!runs) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        runs[i] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    const char *mets[16];
    int nm = collect_metrics(runs, (int)n, mets, 16);
    const char *hdr[20] = {"run", "status", "steps", "task"};
    for (int j = 0; j < nm; j++)
        hdr[4 + j] = mets[j];
    mag_table *t = mag_table_new(4 + nm, hdr);
    char cells[20][64];
    int dec[16];
    double *col = rt_calloc(n, sizeof *col);
    if (!col) {
        mag_table_free(t);
        t = NULL;
    }
    for (int j = 0; col && j < nm; j++) { /* fixed decimals per column */
        for (size_t i = 0; i < n; i++)
            col[i] = mag_bridge_last(runs[i], mets[j]);
        dec[j] = mag_fmt_decimals(col, n);
    }
    rt_free(col);
    for (size_t i = 0; t && i < n; i++) {
        const mag_entry *e = mag_session_at(ctx->session, MAG_RUN, i);
        long step = 0;
        rt_run_status st = rt_run_status_of(runs[i], &step, NULL, 0);
        const char *row[20] = {e->name, rt_run_status_name(st), cells[2], e->task ? e->task : ""};
        snprintf(cells[2], 64, "%ld", step);
        for (int j = 0; j < nm; j++) {
            mag_fmt_fixed(mag_bridge_last(runs[i], mets[j]), dec[j], 1, cells[4 + j], 64);
            row[4 + j] = cells[4 + j];
        }
        if (mag_table_row(t, row)) {
            mag_table_free(t);
            t = NULL;
        }
    }
    mag_show(ctx->out, t ? mag_table_bundle(t, NULL) : NULL);
    mag_table_free(t);
    rt_free(runs);
    return 0;
}

/* ------------------------------------------------------------------ selecting runs */

/* fnmatch-like: '*' matches any text, '?' one code point, everything else itself ('['
 * included: it is part of run names). */
static int glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = ++pat;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            size_t k = *pat == '?' ? rt_utf8_seq(s, strlen(s)) : 1;
            pat++;
            s += k ? k : 1;
        } else if (star) { /* let the last '*' take one more code point */
            size_t k = rt_utf8_seq(resume, strlen(resume));
            resume += k ? k : 1;
            pat = star;
            s = resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == 0;
}

static int has_wildcard(const char *w)
{
    return strchr(w, '*') || strchr(w, '?');
}

/* Appends run r to runs[0..*n) unless it is there already. */
static void add_run(rt_run **runs, int *n, rt_run *r)
{
    for (int i = 0; i < *n; i++)
        if (runs[i] == r) return;
    runs[(*n)++] = r;
}

/* mag_runs.h */
int mag_runs_select(mag_session *ss, const char *w, rt_run **runs, int *n)
{
    rt_run *r = mag_session_get(ss, MAG_RUN, w);
    if (r) {
        add_run(runs, n, r);
        return 1;
    }
    int wild = has_wildcard(w), hits = 0;
    size_t wl = strlen(w);
    for (size_t i = 0; i < mag_session_count(ss, MAG_RUN); i++) {
        const mag_entry *e = mag_session_at(ss, MAG_RUN, i);
        int m = wild ? glob_match(w, e->name) : !strncmp(e->name, w, wl) && e->name[wl] == '[';
        if (m) add_run(runs, n, e->obj), hits++;
    }
    return hits;
}

/* ------------------------------------------------------------------ final values vs a key */

/* mag_runs.h */
const char *mag_run_key(const rt_run *run, const char *key, char *buf, size_t cap)
{
    const char *v = rt_run_config_get(run, key);
    if (v) return v;
    const char *br = strchr(rt_run_name(run), '[');
    size_t kl = strlen(key);
    for (const char *p = br; p && *p && *p != ']'; p = strpbrk(p + 1, ",]")) {
        if (strncmp(p + 1, key, kl) || p[1 + kl] != '=') continue;
        const char *v0 = p + 2 + kl, *v1 = v0 + strcspn(v0, ",]");
        snprintf(buf, cap, "%.*s", (int)(v1 - v0), v0);
        return buf;
    }
    return NULL;
}

/* The i-th key of run's configuration (else of its name's coordinates) into buf; 0 when
 * there is none. */
static int run_key_at(const rt_run *run, int i, char *buf, size_t cap)
{
    if (rt_run_config_key(run, 0)) {
        const char *k = rt_run_config_key(run, i);
        if (!k) return 0;
        snprintf(buf, cap, "%s", k);
        return 1;
    }
    const char *p = strchr(rt_run_name(run), '[');
    for (; p && *p && *p != ']'; p = strpbrk(p + 1, ",]")) {
        size_t kl = strcspn(p + 1, "=,]");
        if (p[1 + kl] != '=') continue;
        if (i-- == 0) {
            snprintf(buf, cap, "%.*s", (int)kl, p + 1);
            return 1;
        }
    }
    return 0;
}

/* 1 if key has two different values (a missing one counts as "") among the runs. */
static int key_varies(rt_run *const *runs, int n, const char *key)
{
    char b0[128], b1[128];
    const char *v0 = mag_run_key(runs[0], key, b0, sizeof b0);
    for (int i = 1; i < n; i++) {
        const char *v = mag_run_key(runs[i], key, b1, sizeof b1);
        if (strcmp(v0 ? v0 : "", v ? v : "")) return 1;
    }
    return 0;
}

enum { PLOT_KEYS = 64 }; /* configuration keys looked at by x=KEY */

/* The keys of the runs' configurations that vary among them, except xkey and seed, in
 * first-appearance order (at most PLOT_KEYS keys are looked at); returns their count. */
static int varying_keys(rt_run *const *runs, int n, const char *xkey, char (*out)[128])
{
    char seen[PLOT_KEYS][128], key[128];
    int nseen = 0, k = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; run_key_at(runs[i], c, key, sizeof key) && nseen < PLOT_KEYS; c++) {
            int dup = 0;
            for (int j = 0; j < nseen && !dup; j++)
                dup = !strcmp(seen[j], key);
            if (dup) continue;
            snprintf(seen[nseen++], sizeof seen[0], "%s", key);
            if (strcmp(key, xkey) && strcmp(key, "seed") && key_varies(runs, n, key))
                snprintf(out[k++], 128, "%s", key);
        }
    return k;
}

/* The group of run: "k=v,..." over the varying keys ("" when there are none). */
static void group_label(const rt_run *run, char (*vary)[128], int nvary, char *out, size_t cap)
{
    char vb[128];
    size_t o = 0;
    out[0] = '\0';
    for (int j = 0; j < nvary && o < cap; j++) {
        const char *v = mag_run_key(run, vary[j], vb, sizeof vb);
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", o ? "," : "", vary[j], v ? v : "");
    }
}

/* The legend labels of %plot's curves, as a training cell's: the runs of one cell (one
 * name before '[') are labelled by the keys that vary among them, seed excepted
 * ("lr=1e-3 · algo=rloo"); runs of several cells, or runs where nothing but the seed
 * varies, by their names without the seed coordinate. */
static void curve_labels(rt_run *const *runs, int n, char (*labels)[256])
{
    const char *b0 = rt_run_name(runs[0]);
    size_t l0 = strcspn(b0, "[");
    int one_cell = 1;
    for (int i = 1; i < n && one_cell; i++) {
        const char *b = rt_run_name(runs[i]);
        one_cell = strcspn(b, "[") == l0 && !strncmp(b, b0, l0);
    }
    char vary[PLOT_KEYS][128];
    int nv = one_cell && n > 1 ? varying_keys(runs, n, "", vary) : 0;
    if (nv > 4) nv = 4; /* a legend entry stays short */
    for (int i = 0; i < n; i++) {
        if (nv == 0) {
            mag_train_strip_seed(rt_run_name(runs[i]), labels[i], 256);
            continue;
        }
        char vb[128];
        size_t o = 0;
        labels[i][0] = '\0';
        for (int j = 0; j < nv && o < 256; j++) {
            const char *v = mag_run_key(runs[i], vary[j], vb, sizeof vb);
            o += (size_t)snprintf(labels[i] + o, 256 - o, "%s%s=%s", j ? " \u00b7 " : "", vary[j],
                                  v ? v : "");
        }
    }
}

typedef struct fin {
    double x, y; /* the key's value (or category index), the metric's last value */
    int group;
} fin;

static int fin_cmp(const void *a, const void *b)
{
    const fin *p = a, *q = b;
    return p->group != q->group ? p->group - q->group : (p->x > q->x) - (p->x < q->x);
}

/* Everything one finals chart allocates (freed together). */
typedef struct fchart {
    fin *pts;
    double *buf;
    rt_chart_series *ser;
    rt_chart_panel *pan;
    char (*gname)[2][192];
    char xlabel[512];
} fchart;

/* The chart of %plot ... x=KEY: per metric a panel of the runs' last values against KEY,
 * per group of the other varying keys two series of dots: the seeds, and their mean ±
 * sd (lo/hi: error bars) at each value of KEY.  Numeric values of KEY are the x values;
 * otherwise the distinct values are numbered 1, 2, ... in first-appearance order and
 * the x label lists them ("algo: 1 grpo · 2 ppo").  NULL on ENOMEM. */
static cJSON *finals_chart(rt_run *const *runs, int n, const char *key, const char *const *mets,
                           int nm, int logy)
{
    fchart f = {0};
    cJSON *b = NULL;
    char(*kv)[128] = rt_calloc((size_t)n, sizeof *kv);
    char(*gl)[256] = rt_calloc((size_t)n, sizeof *gl);
    char(*vary)[128] = rt_calloc(PLOT_KEYS, sizeof *vary);
    double *xs = rt_calloc((size_t)n, sizeof *xs);
    int *grp = rt_calloc((size_t)n, sizeof *grp);
    f.pts = rt_calloc((size_t)n, sizeof *f.pts);
    f.buf = rt_calloc((size_t)n * 6 * (size_t)nm, sizeof *f.buf);
    f.ser = rt_calloc((size_t)n * 2 * (size_t)nm, sizeof *f.ser);
    f.pan = rt_calloc((size_t)nm, sizeof *f.pan);
    f.gname = rt_calloc((size_t)n, sizeof *f.gname);
    if (!kv || !gl || !vary || !xs || !grp || !f.pts || !f.buf || !f.ser || !f.pan || !f.gname)
        goto done;
    /* x: numbers, or category indices */
    int numeric = 1, ncat = 0;
    for (int i = 0; i < n; i++) {
        const char *v = mag_run_key(runs[i], key, kv[i], sizeof kv[i]);
        if (v != kv[i]) snprintf(kv[i], sizeof kv[i], "%s", v ? v : "");
        char *end;
        xs[i] = strtod(kv[i], &end);
        if (!kv[i][0] || *end) numeric = 0;
    }
    size_t o = (size_t)snprintf(f.xlabel, sizeof f.xlabel, "%s", key);
    for (int i = 0; !numeric && i < n; i++) {
        int j = 0;
        while (j < i && strcmp(kv[j], kv[i]))
            j++;
        if (j < i) {
            xs[i] = xs[j];
            continue;
        }
        xs[i] = ++ncat;
        if (o < sizeof f.xlabel)
            o += (size_t)snprintf(f.xlabel + o, sizeof f.xlabel - o, "%s%d %s",
                                  ncat == 1 ? ": " : " \u00b7 ", ncat, kv[i]);
    }
    /* groups of the other varying keys, first-appearance order */
    int ng = 0, nvary = varying_keys(runs, n, key, vary);
    for (int i = 0; i < n; i++) {
        group_label(runs[i], vary, nvary, gl[i], sizeof gl[i]);
        int g = 0;
        while (g < i && strcmp(gl[g], gl[i]))
            g++;
        grp[i] = g < i ? grp[g] : ng++;
        if (g == i) {
            snprintf(f.gname[grp[i]][0], sizeof f.gname[0][0], "%s",
                     gl[i][0] ? gl[i] : "mean \u00b1 sd");
            snprintf(f.gname[grp[i]][1], sizeof f.gname[0][1], "%s%sseeds", gl[i],
                     gl[i][0] ? " \u00b7 " : "");
        }
    }
    for (int p = 0; p < nm; p++) {
        /* this panel's blocks of n values: seeds x/y, then means x/y/lo/hi */
        double *sx = f.buf + (size_t)p * 6 * (size_t)n, *sy = sx + n, *mx = sy + n, *my = mx + n,
               *lo = my + n, *hi = lo + n;
        int np = 0;
        for (int i = 0; i < n; i++) {
            double y = mag_bridge_last(runs[i], mets[p]);
            if (isfinite(y)) f.pts[np++] = (fin){xs[i], y, grp[i]};
        }
        qsort(f.pts, (size_t)np, sizeof *f.pts, fin_cmp);
        rt_chart_series *ps = f.ser + (size_t)p * 2 * (size_t)n;
        int ns = 0, at = 0, nmean = 0;
        for (int g = 0; g < ng; g++) {
            int s0 = at, m0 = nmean; /* this group's slices of the seeds and the means */
            for (; at < np && f.pts[at].group == g; at++)
                sx[at] = f.pts[at].x, sy[at] = f.pts[at].y;
            for (int a = s0; a < at;) { /* mean ± sd at each distinct x */
                int e = a;
                double sum = 0, ss = 0;
                while (e < at && sx[e] == sx[a])
                    sum += sy[e++];
                double mean = sum / (e - a);
                for (int q = a; q < e; q++)
                    ss += (sy[q] - mean) * (sy[q] - mean);
                double sdev = e - a > 1 ? sqrt(ss / (e - a - 1)) : 0;
                mx[nmean] = sx[a], my[nmean] = mean;
                lo[nmean] = mean - sdev, hi[nmean] = mean + sdev;
                nmean++;
                a = e;
            }
            if (at == s0) continue;
            ps[ns++] = (rt_chart_series){.name = f.gname[g][1],
                                         .x = sx + s0,
                                         .y = sy + s0,
                                         .n = (size_t)(at - s0),
                                         .points = 1};
            ps[ns++] = (rt_chart_series){.name = f.gname[g][0],
                                         .x = mx + m0,
                                         .y = my + m0,
                                         .lo = lo + m0,
                                         .hi = hi + m0,
                                         .n = (size_t)(nmean - m0),
                                         .points = 1};
        }
        f.pan[p].title = mets[p];
        f.pan[p].xlabel = f.xlabel;
        f.pan[p].ylabel = "final value";
        f.pan[p].logy = logy;
        f.pan[p].series = ps;
        f.pan[p].nseries = (size_t)ns;
    }
    rt_chart chart = {.panels = f.pan, .npanels = (size_t)nm, .columns = nm <= 3 ? nm : 2};
    b = mag_bridge_render(&chart);
done:
    rt_free(kv);
    rt_free(gl);
    rt_free(vary);
    rt_free(xs);
    rt_free(grp);
    rt_free(f.pts);
    rt_free(f.buf);
    rt_free(f.ser);
    rt_free(f.pan);
    rt_free(f.gname);
    return b;
}

static const mag_key_spec plot_keys[] = {
    {.name = "metric", .type = MAG_T_STRING, .help = "the metric to draw (default: all)"},
    {.name = "x",
     .type = MAG_T_STRING,
     .help = "a swept key (final values against it) or a logged column (default: step)"},
    {.name = "smooth",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN | MAG_K_MAX_EXCL,
     .min = 0,
     .max = 1,
     .help = "EMA smoothing weight in [0, 1) (default: the charts' default; 0 = raw)"},
    {.name = "logy", .type = MAG_T_BOOL, .def = "false", .help = "logarithmic y axis"},
};
static const mag_schema plot_schema = {
    "plot", plot_keys, sizeof plot_keys / sizeof plot_keys[0], "redraws the curves of stored runs",
    NULL,   0};

/* The runs named by the positional arguments (every run when none), into runs (room for
 * all the session's runs); a bare `logy` sets *logy.  0, or the error of an argument that
 * names nothing. */
static int plot_runs(mag_ctx *ctx, const mag_line *line, rt_run **runs, int *n, int *logy,
                     mag_diag *d)
{
    *n = 0;
    for (size_t i = 0;; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        if (!a) break;
        const char *w = mag_arg_word(line, i);
        if (!w)
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                           "expected a run name, a sweep cell's name or a pattern, got %s",
                           a->value.text);
        if (mag_runs_select(ctx->session, w, runs, n)) continue;
        if (!strcmp(w, "logy")) {
            *logy = 1;
            continue;
        }
        if (has_wildcard(w))
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "no run matches '%s'", w);
        return mag_err_unknown(d, ctx, MAG_RUN, w, a->value.pos);
    }
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    if (*n == 0)
        for (size_t i = 0; i < nall; i++)
            runs[(*n)++] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    if (*n == 0) return mag_err(ctx, d, MAG_EVALUE, line->name_pos, "no runs to plot");
    return 0;
}

/* metric=M checked against the runs' columns, else their metrics (at most 6). */
static int plot_metrics(mag_ctx *ctx, const mag_config *cfg, rt_run *const *runs, int n,
                        const char **mets, int *nm, mag_diag *d)
{
    const mag_value *mv = mag_config_get(cfg, "metric", 0);
    if (!mv) {
        *nm = collect_metrics(runs, n, mets, 16);
        if (*nm > 6) *nm = 6;
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (rt_run_column_index(runs[i], mv->str) >= 0) {
            mets[0] = mv->str;
            *nm = 1;
            return 0;
        }
    const char *cand[16];
    int nc = collect_metrics(runs, n, cand, 16);
    const char *sug = rt_did_you_mean(mv->str, cand, (size_t)nc);
    if (sug)
        return mag_err(ctx, d, MAG_EVALUE, mv->pos, "unknown metric '%s' (did you mean '%s'?)",
                       mv->str, sug);
    return mag_err(ctx, d, MAG_EVALUE, mv->pos, "unknown metric '%s'", mv->str);
}

/* What x=KEY means for these runs: 1 a configuration key every run has (final values
 * against it), 2 a column some run logged (curves against it), else the error. */
static int plot_x(mag_ctx *ctx, const mag_value *xv, rt_run *const *runs, int n, mag_diag *d)
{
    char buf[128];
    int all = 1, col = 0;
    for (int i = 0; i < n; i++) {
        all &= mag_run_key(runs[i], xv->str, buf, sizeof buf) != NULL;
        col |= rt_run_column_index(runs[i], xv->str) >= 0;
    }
    if (all) return 1;
    if (col) return 2;
    char keys[256] = "";
    size_t o = 0;
    for (int c = 0; run_key_at(runs[0], c, buf, sizeof buf) && o < sizeof keys; c++)
        if (key_varies(runs, n, buf))
            o += (size_t)snprintf(keys + o, sizeof keys - o, "%s%s", o ? ", " : "", buf);
    return mag_err(ctx, d, MAG_EVALUE, xv->pos,
                   "x=%s is neither a key of these runs' configuration nor a logged column "
                   "(swept keys: %s)",
                   xv->str, o ? keys : "none");
}

static int run_plot(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    int logy = mag_value_bool(mag_config_get(cfg, "logy", 0), 0);
    /* not given: a negative weight, the charts' default smoothing (mag_bridge_chart) */
    const mag_value *sv = mag_config_get(cfg, "smooth", 0);
    double smooth = sv ? mag_value_number(sv, 0) : -1;
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    rt_run **runs = rt_calloc(nall + 1, sizeof *runs);
    if (!runs) return mag_err_nomem(d);
    int n = 0, nm = 0, rc;
    const char *mets[16];
    const mag_value *xv = mag_config_get(cfg, "x", 0);
    int xkind = 0; /* 0 step, 1 a swept key, 2 another column */
    rc = plot_runs(ctx, line, runs, &n, &logy, d);
    if (!rc) rc = plot_metrics(ctx, cfg, runs, n, mets, &nm, d);
    if (!rc && xv && strcmp(xv->str, "step")) {
        xkind = plot_x(ctx, xv, runs, n, d);
        rc = xkind < 0 ? xkind : 0;
    }
    if (rc) {
        rt_free(runs);
        return rc;
    }
    cJSON *b = NULL;
    if (xkind == 1) {
        b = finals_chart(runs, n, xv->str, mets, nm, logy);
    } else {
        /* runs that differ only by their seed coordinate share a label: one band */
        char(*labels)[256] = rt_calloc((size_t)n, sizeof *labels);
        const char **lp = rt_calloc((size_t)n, sizeof *lp);
        if (labels && lp) {
            curve_labels(runs, n, labels);
            for (int i = 0; i < n; i++)
                lp[i] = labels[i];
            b = mag_bridge_chart(runs, lp, n, NULL, xkind == 2 ? xv->str : NULL, mets, nm, smooth,
                                 logy, 1.0);
        }
        rt_free(labels);
        rt_free(lp);
    }
    rt_free(runs);
    mag_show_final_chart(ctx->out, b);
    return 0;
}

static const mag_magic runs_magic = {
    .name = "runs",
    .usage = "%runs",
    .help = "Lists the runs of the session: name, status (finished, interrupted, failed),\n"
            "steps done, task and the last value of each metric.",
    .run = run_runs,
};

static const mag_magic plot_magic = {
    .name = "plot",
    .schema = &plot_schema,
    .usage = "%plot [RUN|NAME|PATTERN]... [metric=M] [x=KEY|COLUMN] [smooth=S] [logy]",
    .help = "Redraws stored runs (every run when none is named), one panel per metric, or\n"
            "only metric=M.  Runs: a run's name, a sweep cell's NAME (all its points\n"
            "NAME[...]), or a pattern where * matches any text and ? one character\n"
            "(lam[*], lam[lambda=1*]; [ and ] are literal; quote a pattern with wildcards\n"
            "outside [...]: \"l*\").  The seeds of a configuration are drawn as their mean\n"
            "with a mean +- sd band; the runs of one cell are labelled by the keys that vary\n"
            "among them (lr=1e-3 \u00b7 algo=rloo), runs of several cells by their names.\n"
            "x=KEY, a swept key: the final value of each metric against KEY, a dot per run\n"
            "and the mean +- sd (error bars) at each value; numeric values on a numeric\n"
            "axis, others numbered 1, 2, ... (the axis title lists them); other swept keys\n"
            "(not seed) give one series each.  x=COLUMN, a logged column (tokens, wall,\n"
            "kl_ref, ...): curves against it instead of step (e.g. the reward-vs-KL\n"
            "frontier; a seed band's point i sits at the seeds' mean x at i, as its y is\n"
            "their mean).  smooth= sets the EMA weight (default: the charts' default; 0 = raw),\n"
            "logy a log axis.",
    .run = run_plot,
    .positional = "run",
};

const mag_magic *const mag_runs_magics[] = {&runs_magic, &plot_magic, NULL};
