/* mag_table: the magics' tables and number formats (mag_table_*, mag_fmt_*: text/plain
 * with aligned columns and text/html, fixed decimals per column) and a training cell's
 * summary table (mag_bridge_summary: a row per run, or per configuration with mean ± sd
 * over seeds and the per-seed rows folded).  Declared in mag_bridge.h; split from
 * mag_bridge.c, which keeps the charts and the live training loop. */
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

void mag_fmt_num(double v, int blank_nan, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "%s", blank_nan ? "" : "nan");
    } else if (isinf(v)) {
        snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, cap, "%.0f", v);
    } else if (fabs(v) >= 1e-3 && fabs(v) < 1e6) {
        snprintf(buf, cap, "%.4g", v);
    } else {
        snprintf(buf, cap, "%.3g", v);
    }
}

/* ------------------------------------------------------------------ tables */

struct mag_table {
    int ncols;
    size_t nrows, cap;
    char **cells; /* (nrows + 1) x ncols, row 0 = headers */
};

static char *dup_str(const char *s)
{
    s = s ? s : "";
    size_t n = strlen(s);
    char *d = rt_malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

mag_table *mag_table_new(int ncols, const char *const *headers)
{
    if (ncols < 1) return NULL;
    mag_table *t = rt_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ncols = ncols;
    if (mag_table_row(t, headers)) {
        mag_table_free(t);
        return NULL;
    }
    t->nrows = 0; /* the header row is stored as row 0 */
    return t;
}

void mag_table_free(mag_table *t)
{
    if (!t) return;
    size_t n = (t->nrows + 1) * (size_t)t->ncols;
    for (size_t i = 0; i < n && t->cells; i++)
        rt_free(t->cells[i]);
    rt_free(t->cells);
    rt_free(t);
}

int mag_table_row(mag_table *t, const char *const *cells)
{
    /* rows stored = nrows + 1 once the header exists; mag_table_new calls this with
       nrows = 0 and cells = NULL to make the header row */
    size_t have = t->cells ? t->nrows + 1 : 0;
    if (have + 1 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        char **c = rt_realloc(t->cells, nc * (size_t)t->ncols * sizeof *c);
        if (!c) return MAG_BRIDGE_ENOMEM;
        t->cells = c;
        t->cap = nc;
    }
    char **row = t->cells + have * (size_t)t->ncols;
    for (int j = 0; j < t->ncols; j++) {
        row[j] = dup_str(cells ? cells[j] : NULL);
        if (!row[j]) { /* the row is not kept: NULL slots (mag_table_free may reach them) */
            for (int k = 0; k < t->ncols; k++) {
                if (k < j) rt_free(row[k]);
                row[k] = NULL;
            }
            return MAG_BRIDGE_ENOMEM;
        }
    }
    if (have > 0) t->nrows++;
    return 0;
}

static void put_html(rt_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            rt_strbuf_puts(b, "&lt;");
            break;
        case '>':
            rt_strbuf_puts(b, "&gt;");
            break;
        case '&':
            rt_strbuf_puts(b, "&amp;");
            break;
        case '"':
            rt_strbuf_puts(b, "&quot;");
            break;
        default:
            rt_strbuf_putc(b, *s);
        }
    }
}

static void put_pad(rt_strbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_strbuf_putc(b, ' ');
}

/* One number as the tables print it ("0.512", "-1.25e-05", "nan", "inf"); returns the
 * text after it, or NULL. */
static const char *skip_number(const char *s)
{
    if (!strncmp(s, "nan", 3) || !strncmp(s, "inf", 3)) return s + 3;
    if (!strncmp(s, "-inf", 4)) return s + 4;
    char *end;
    strtod(s, &end);
    return end == s || isspace((unsigned char)*s) ? NULL : end;
}

/* A numeric cell: a number, or "MEAN ± SD" with an optional " (K)" (the count of finite
 * values when some seeds have none). */
static int is_numeric(const char *s)
{
    const char *e = skip_number(s);
    if (!e) return 0;
    if (!strncmp(e, " \u00b1 ", 4)) { /* " ± " (± is 2 bytes) */
        e = skip_number(e + 4);
        if (!e) return 0;
        if (!strncmp(e, " (", 2)) {
            char *k;
            strtol(e + 2, &k, 10);
            if (k == e + 2 || strcmp(k, ")")) return 0;
            e = k + 1;
        }
    }
    return *e == 0;
}

/* Per column: 1 when every non-empty body cell is numeric (and one is), so the column and
 * its header are right-aligned; text columns and their headers are left-aligned. */
static int *numeric_columns(const mag_table *t)
{
    int nc = t->ncols;
    int *num = rt_calloc((size_t)nc, sizeof *num);
    if (!num) return NULL;
    for (int j = 0; j < nc; j++) {
        int any = 0, all = 1;
        for (size_t r = 1; r <= t->nrows; r++) {
            const char *c = t->cells[r * (size_t)nc + j];
            if (!*c) continue;
            any = 1;
            all &= is_numeric(c);
        }
        num[j] = any && all;
    }
    return num;
}

/* The text and HTML of table t (the bundle's two strings), appended to tx and ht. */
static int table_text_html(const mag_table *t, const char *caption, const char *cls, rt_strbuf *tx,
                           rt_strbuf *ht)
{
    int nc = t->ncols;
    size_t rows = t->nrows + 1;
    size_t *w = rt_calloc((size_t)nc, sizeof *w);
    int *num = numeric_columns(t);
    if (!w || !num) {
        rt_free(w);
        rt_free(num);
        return MAG_BRIDGE_ENOMEM;
    }
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < nc; j++) {
            const char *c = t->cells[r * (size_t)nc + j];
            size_t cw = rt_utf8_cols(c, strlen(c));
            if (cw > w[j]) w[j] = cw;
        }
    if (caption) {
        rt_strbuf_puts(tx, caption);
        rt_strbuf_puts(tx, "\n");
    }
    for (size_t r = 0; r < rows; r++) {
        for (int j = 0; j < nc; j++) {
            const char *c = t->cells[r * (size_t)nc + j];
            size_t cw = rt_utf8_cols(c, strlen(c));
            if (j) rt_strbuf_puts(tx, "  ");
            if (num[j]) put_pad(tx, w[j] - cw);
            rt_strbuf_puts(tx, c);
            if (!num[j] && j + 1 < nc) put_pad(tx, w[j] - cw);
        }
        size_t keep = tx->len; /* drop the padding of empty last cells */
        while (!tx->err && keep > 0 && tx->s[keep - 1] == ' ')
            keep--;
        rt_strbuf_truncate(tx, keep);
        rt_strbuf_puts(tx, "\n");
    }
    /* HTML: th aligned like its column (notebook CSS right-aligns th by default); text
       cells as <code>, empty cells empty */
    rt_strbuf_printf(ht, "<table class=\"%s\">", cls);
    if (caption) {
        rt_strbuf_puts(ht, "<caption style=\"text-align:left\">");
        put_html(ht, caption);
        rt_strbuf_puts(ht, "</caption>");
    }
    for (size_t r = 0; r < rows; r++) {
        rt_strbuf_puts(ht, r == 0 ? "<thead><tr>" : "<tr>");
        for (int j = 0; j < nc; j++) {
            const char *c = t->cells[r * (size_t)nc + j];
            const char *al = num[j] ? "right" : "left";
            int code = r > 0 && !num[j] && *c;
            rt_strbuf_printf(ht, "<%s style=\"text-align:%s\">%s", r == 0 ? "th" : "td", al,
                             code ? "<code>" : "");
            put_html(ht, c);
            rt_strbuf_printf(ht, "%s</%s>", code ? "</code>" : "", r == 0 ? "th" : "td");
        }
        rt_strbuf_puts(ht, r == 0 ? "</tr></thead><tbody>" : "</tr>");
    }
    rt_strbuf_puts(ht, "</tbody></table>");
    rt_free(w);
    rt_free(num);
    return 0;
}

/* {text/html, text/plain} of two finished buffers (NULL on ENOMEM); frees them. */
static cJSON *text_html_bundle(rt_strbuf *tx, rt_strbuf *ht)
{
    cJSON *b = NULL;
    if (!tx->err && !ht->err && tx->s && ht->s) {
        b = cJSON_CreateObject();
        if (b && (!cJSON_AddStringToObject(b, "text/html", ht->s) ||
                  !cJSON_AddStringToObject(b, "text/plain", tx->s))) {
            cJSON_Delete(b);
            b = NULL;
        }
    }
    rt_strbuf_free(tx);
    rt_strbuf_free(ht);
    return b;
}

cJSON *mag_table_bundle(const mag_table *t, const char *caption)
{
    rt_strbuf tx, ht;
    rt_strbuf_init(&tx);
    rt_strbuf_init(&ht);
    if (table_text_html(t, caption, "rlhf-table", &tx, &ht)) tx.err = 1;
    return text_html_bundle(&tx, &ht);
}

/* Decimals of a column (mag_bridge.h): -1 = scientific notation. */
int mag_fmt_decimals(const double *v, size_t n)
{
    double big = 0;
    int integral = 1, any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        any = 1;
        if (fabs(v[i]) > big) big = fabs(v[i]);
        integral &= v[i] == floor(v[i]) && fabs(v[i]) < 1e15;
    }
    if (!any || integral) return 0;
    if (big >= 1e6 || big < 1e-3) return -1;
    /* 4 significant digits for the smallest value that is not noise next to the largest */
    double small = big, floor_v = fmax(big * 1e-3, 1e-3);
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabs(v[i]) >= floor_v && fabs(v[i]) < small) small = fabs(v[i]);
    int d = 3 - (int)floor(rt_log10(small));
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

void mag_fmt_fixed(double v, int decimals, int blank_nan, char *buf, size_t cap)
{
    if (!isfinite(v)) {
        mag_fmt_num(v, blank_nan, buf, cap);
    } else if (decimals < 0) {
        snprintf(buf, cap, "%.2e", v);
    } else {
        snprintf(buf, cap, "%.*f", decimals, v);
        if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
            memmove(buf, buf + 1, strlen(buf)); /* "-0.0000": float noise, not a sign */
    }
}

/* The summary's data: each run's final values, its group (label) and the groups. */
typedef struct summ {
    int n, nm, ng;
    double *val;  /* n x nm: the last finite value of each metric */
    int *group;   /* n: the run's group, by label in first-appearance order */
    int *members; /* ng: runs per group */
    int *first;   /* ng: the group's first run */
    double *col;  /* scratch: one column, n values */
} summ;

static void summ_free(summ *s)
{
    rt_free(s->val);
    rt_free(s->group);
    rt_free(s->members);
    rt_free(s->first);
    rt_free(s->col);
}

static int summ_init(summ *s, rt_run *const *runs, const char *const *labels, int n,
                     const char *const *metrics, int nm)
{
    memset(s, 0, sizeof *s);
    size_t un = (size_t)(n ? n : 1);
    s->n = n;
    s->nm = nm;
    s->val = rt_calloc(un * (size_t)(nm ? nm : 1), sizeof *s->val);
    s->group = rt_calloc(un, sizeof *s->group);
    s->members = rt_calloc(un, sizeof *s->members);
    s->first = rt_calloc(un, sizeof *s->first);
    s->col = rt_calloc(un, sizeof *s->col);
    if (!s->val || !s->group || !s->members || !s->first || !s->col) return MAG_BRIDGE_ENOMEM;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < nm; j++)
            s->val[(size_t)i * (size_t)nm + (size_t)j] = mag_bridge_last(runs[i], metrics[j]);
        const char *l = labels && labels[i] ? labels[i] : rt_run_name(runs[i]);
        int g = 0;
        while (g < s->ng &&
               strcmp(l, labels && labels[s->first[g]] ? labels[s->first[g]]
                                                       : rt_run_name(runs[s->first[g]])))
            g++;
        if (g == s->ng) s->first[s->ng++] = i;
        s->group[i] = g;
        s->members[g]++;
    }
    return 0;
}

/* The per-run table: run, status, steps, then the metrics (fixed decimals per column). */
static mag_table *runs_table(const summ *s, rt_run *const *runs, const char *const *metrics)
{
    int nm = s->nm, nc = 3 + nm;
    const char **hdr = rt_calloc((size_t)nc, sizeof *hdr);
    const char **row = rt_calloc((size_t)nc, sizeof *row);
    char(*cells)[64] = rt_calloc((size_t)nc, sizeof *cells);
    int *dec = rt_calloc((size_t)(nm ? nm : 1), sizeof *dec);
    mag_table *t = NULL;
    if (!hdr || !row || !cells || !dec) goto done;
    hdr[0] = "run", hdr[1] = "status", hdr[2] = "steps";
    for (int j = 0; j < nm; j++) {
        hdr[3 + j] = metrics[j];
        for (int i = 0; i < s->n; i++)
            s->col[i] = s->val[(size_t)i * (size_t)nm + (size_t)j];
        dec[j] = mag_fmt_decimals(s->col, (size_t)s->n);
    }
    t = mag_table_new(nc, hdr);
    for (int i = 0; t && i < s->n; i++) {
        long step = 0;
        rt_run_status st = rt_run_status_of(runs[i], &step, NULL, 0);
        row[0] = rt_run_name(runs[i]);
        row[1] = rt_run_status_name(st);
        snprintf(cells[2], 64, "%ld", step);
        row[2] = cells[2];
        for (int j = 0; j < nm; j++) {
            mag_fmt_fixed(s->val[(size_t)i * (size_t)nm + (size_t)j], dec[j], 1, cells[3 + j], 64);
            row[3 + j] = cells[3 + j];
        }
        if (mag_table_row(t, row)) {
            mag_table_free(t);
            t = NULL;
        }
    }
done:
    rt_free(hdr);
    rt_free(row);
    rt_free(cells);
    rt_free(dec);
    return t;
}

/* Mean and sample sd of the finite values of metric j over group g; *k = their count. */
static void group_stats(const summ *s, int g, int j, double *mean, double *sd, int *k)
{
    double sum = 0, ss = 0;
    *k = 0;
    for (int i = 0; i < s->n; i++) {
        double v = s->val[(size_t)i * (size_t)s->nm + (size_t)j];
        if (s->group[i] == g && isfinite(v)) sum += v, (*k)++;
    }
    *mean = *k ? sum / *k : NAN;
    for (int i = 0; i < s->n; i++) {
        double v = s->val[(size_t)i * (size_t)s->nm + (size_t)j];
        if (s->group[i] == g && isfinite(v)) ss += (v - *mean) * (v - *mean);
    }
    *sd = *k > 1 ? sqrt(ss / (*k - 1)) : NAN;
}

/* The status of group g: "finished" when all its runs share one status, else the counts
 * ("finished 2 · interrupted 1"); its steps: one number, or "LO–HI". */
static void group_status(const summ *s, rt_run *const *runs, int g, char *st, char *steps,
                         size_t cap)
{
    int count[5] = {0};
    long lo = -1, hi = -1;
    for (int i = 0; i < s->n; i++) {
        if (s->group[i] != g) continue;
        long step = 0;
        rt_run_status x = rt_run_status_of(runs[i], &step, NULL, 0);
        if ((int)x >= 0 && (int)x < 5) count[x]++;
        if (lo < 0 || step < lo) lo = step;
        if (step > hi) hi = step;
    }
    size_t o = 0;
    st[0] = '\0';
    for (int x = 0; x < 5; x++) {
        if (!count[x]) continue;
        const char *name = rt_run_status_name((rt_run_status)x);
        if (count[x] == s->members[g] && o == 0) {
            snprintf(st, cap, "%s", name);
            break;
        }
        if (o < cap)
            o += (size_t)snprintf(st + o, cap - o, "%s%s %d", o ? " \u00b7 " : "", name, count[x]);
    }
    if (lo == hi)
        snprintf(steps, cap, "%ld", hi);
    else
        snprintf(steps, cap, "%ld\u2013%ld", lo, hi);
}

/* The table of configurations: run (the point's name without seed), status, steps, n, then per
 * metric "MEAN ± SD" over the group's seeds (" (K)" when only K of them have a value). */
static mag_table *groups_table(const summ *s, rt_run *const *runs, const char *const *metrics)
{
    int nm = s->nm, nc = 4 + nm;
    const char **hdr = rt_calloc((size_t)nc, sizeof *hdr);
    const char **row = rt_calloc((size_t)nc, sizeof *row);
    char(*cells)[96] = rt_calloc((size_t)nc, sizeof *cells);
    int *dec = rt_calloc((size_t)(nm ? nm : 1), sizeof *dec);
    mag_table *t = NULL;
    if (!hdr || !row || !cells || !dec) goto done;
    hdr[0] = "run", hdr[1] = "status", hdr[2] = "steps", hdr[3] = "n";
    for (int j = 0; j < nm; j++) { /* the decimals of a column: from its means */
        hdr[4 + j] = metrics[j];
        for (int g = 0; g < s->ng; g++) {
            double sd;
            int k;
            group_stats(s, g, j, &s->col[g], &sd, &k);
        }
        dec[j] = mag_fmt_decimals(s->col, (size_t)s->ng);
    }
    t = mag_table_new(nc, hdr);
    for (int g = 0; t && g < s->ng; g++) {
        int i0 = s->first[g];
        /* the point's name without its seed ("lam[lambda=0.5]"): what %plot, %eval and
           the per-seed rows below call it; the chart's short label would lose the cell */
        char name[256];
        mag_train_strip_seed(rt_run_name(runs[i0]), name, sizeof name);
        row[0] = name;
        group_status(s, runs, g, cells[1], cells[2], sizeof cells[1]);
        snprintf(cells[3], sizeof cells[3], "%d", s->members[g]);
        row[1] = cells[1], row[2] = cells[2], row[3] = cells[3];
        for (int j = 0; j < nm; j++) {
            double mean, sd;
            int k;
            group_stats(s, g, j, &mean, &sd, &k);
            char a[40], b[40];
            mag_fmt_fixed(mean, dec[j], 1, a, sizeof a);
            mag_fmt_fixed(sd, dec[j], 1, b, sizeof b);
            char *c = cells[4 + j];
            if (k == 0)
                c[0] = '\0';
            else if (k == 1)
                snprintf(c, sizeof cells[0], "%s", a);
            else
                snprintf(c, sizeof cells[0], "%s \u00b1 %s", a, b);
            if (k > 0 && k < s->members[g])
                snprintf(c + strlen(c), sizeof cells[0] - strlen(c), " (%d)", k);
            row[4 + j] = c;
        }
        if (mag_table_row(t, row)) {
            mag_table_free(t);
            t = NULL;
        }
    }
done:
    rt_free(hdr);
    rt_free(row);
    rt_free(cells);
    rt_free(dec);
    return t;
}

cJSON *mag_bridge_summary(rt_run *const *runs, const char *const *labels, int n,
                          const char *const *metrics, int nmetrics)
{
    summ s;
    cJSON *b = NULL;
    mag_table *per = NULL, *grp = NULL;
    if (summ_init(&s, runs, labels, n, metrics, nmetrics)) goto done;
    per = runs_table(&s, runs, metrics);
    if (!per) goto done;
    if (s.ng == n) { /* no seeds to fold: one row per run */
        b = mag_table_bundle(per, NULL);
        goto done;
    }
    grp = groups_table(&s, runs, metrics);
    if (!grp) goto done;
    rt_strbuf tx, ht;
    rt_strbuf_init(&tx);
    rt_strbuf_init(&ht);
    int rc = table_text_html(grp, NULL, "rlhf-table rlhf-means", &tx, &ht);
    rt_strbuf_printf(&tx, "per seed:\n");
    rt_strbuf_printf(&ht, "<details><summary>per seed (%d runs)</summary>", n);
    rc |= table_text_html(per, NULL, "rlhf-table rlhf-seeds", &tx, &ht);
    rt_strbuf_puts(&ht, "</details>");
    if (rc) tx.err = 1;
    b = text_html_bundle(&tx, &ht);
done:
    mag_table_free(per);
    mag_table_free(grp);
    summ_free(&s);
    return b;
}
