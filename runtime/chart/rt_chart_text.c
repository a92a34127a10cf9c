/* rt_chart_text.c: a chart as text/plain for consoles.
 *
 *   reward
 *     grpo[lr=0.1]  ▁▂▃▅▆▇██  0.812 ± 0.02 (step 200)
 *     rloo          ▁▁▂▃▄▅▆▇  0.64 (step 200)
 *     teacher       ╌╌╌╌╌╌╌╌  0.93 (reference)
 *
 * The chart's title and subtitle lines (when set), then one title line per panel
 * (title, else y label, else "panel N"), then one line per
 * series: its name padded to the longest in the panel, a sparkline of at most 24
 * cells over the smoothed, downsampled curve (each cell the mean of its bucket,
 * scaled to the series' own min..max, log10 when logy; a blank cell is a gap), and
 * the latest finite raw value with its x.  A DOTS series (rt_chart.h) lists its points
 * instead of a sparkline: "x: y", "x: y ± s" with error bars, at most DOTS_MAX of them
 * then "… (N points)".  Leaves out: axes and colours. */
#include "rt_chart_util.h"
#include "rt_math.h"

#include <math.h>
#include <stdint.h>

#define SPARK_W 24
#define NAME_MAX_CP 32
#define DOTS_MAX 12

static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                    "\u2585", "\u2586", "\u2587", "\u2588"};

/* Fills cells[] (NaN = gap) with bucket means of s; returns the number of cells. */
static size_t spark_cells(const rt_chart_prep *s, int logy, double *cells)
{
    size_t w = s->k < SPARK_W ? s->k : SPARK_W;
    for (size_t c = 0; c < w; c++) {
        size_t a = c * s->k / w, z = (c + 1) * s->k / w;
        double sum = 0;
        size_t n = 0;
        for (size_t i = a; i < z; i++)
            if (!isnan(s->y[i])) sum += logy ? rt_log10(s->y[i]) : s->y[i], n++;
        cells[c] = n ? sum / (double)n : NAN;
    }
    return w;
}

static void sparkline(rt_strbuf *b, const double *cells, size_t w, size_t width)
{
    double lo = NAN, hi = NAN;
    for (size_t c = 0; c < w; c++) {
        if (isnan(cells[c])) continue;
        if (isnan(lo) || cells[c] < lo) lo = cells[c];
        if (isnan(hi) || cells[c] > hi) hi = cells[c];
    }
    for (size_t c = 0; c < w; c++) {
        if (isnan(cells[c])) {
            rt_strbuf_append(b, " ", 1);
            continue;
        }
        int lv = 3;
        if (hi > lo) lv = (int)floor((cells[c] - lo) / (hi - lo) * 7 + 0.5);
        lv = lv < 0 ? 0 : lv > 7 ? 7 : lv;
        rt_strbuf_puts(b, bars[lv]);
    }
    for (size_t c = w; c < width; c++)
        rt_strbuf_append(b, " ", 1);
}

static void pad(rt_strbuf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_strbuf_append(b, " ", 1);
}

/* "  0.5: 0.61 ± 0.02, 1: 0.63 ± 0.01" — the points of a DOTS series (after its name). */
static void dots_line(rt_strbuf *b, const rt_chart_prep *s)
{
    char num[40];
    size_t shown = 0, valid = 0;
    for (size_t i = 0; i < s->k; i++) {
        if (isnan(s->x[i]) || isnan(s->y[i])) continue;
        if (valid++ >= DOTS_MAX) continue;
        rt_strbuf_puts(b, shown++ ? ", " : "  ");
        rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, s->x[i], 6));
        rt_strbuf_puts(b, ": ");
        rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, s->y[i], 4));
        if (s->lo && !isnan(s->lo[i]) && !isnan(s->hi[i])) {
            rt_strbuf_puts(b, " \u00b1 ");
            double half = fabs(s->hi[i] - s->lo[i]) / 2;
            rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, half, 2));
        }
    }
    if (valid == 0) rt_strbuf_puts(b, "  (no data)");
    if (valid > shown) rt_strbuf_printf(b, ", \u2026 (%zu points)", valid);
    rt_strbuf_append(b, "\n", 1);
}

static void panel(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp,
                  size_t index)
{
    const char *title = pn->title ? pn->title : pn->ylabel;
    if (title && rt_chart_buf_text(NULL, title, 80))
        rt_chart_buf_text(b, title, 80);
    else
        rt_strbuf_printf(b, "panel %zu", index + 1);
    rt_strbuf_append(b, "\n", 1);
    size_t namew = 0, sparkw = 0;
    for (size_t j = 0; j < pn->nseries; j++) {
        size_t w = rt_chart_buf_text(NULL, pp->series[j].name, NAME_MAX_CP);
        if (w > namew) namew = w;
        size_t k = pp->series[j].k;
        if ((k < SPARK_W ? k : SPARK_W) > sparkw) sparkw = k < SPARK_W ? k : SPARK_W;
    }
    for (size_t j = 0; j < pn->nrefs; j++) {
        size_t w = rt_chart_buf_text(NULL, pn->refs[j].label, NAME_MAX_CP);
        if (w > namew) namew = w;
    }
    if (sparkw < 4) sparkw = 4;
    const char *xl = pn->xlabel ? pn->xlabel : "step";
    char num[40];
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        double cells[SPARK_W];
        rt_strbuf_append(b, "  ", 2);
        pad(b, namew - rt_chart_buf_text(b, s->name, NAME_MAX_CP));
        if (s->points == RT_CHART_DOTS) {
            dots_line(b, s);
            continue;
        }
        rt_strbuf_append(b, "  ", 2);
        sparkline(b, cells, spark_cells(s, pn->logy != 0, cells), sparkw);
        rt_strbuf_append(b, "  ", 2);
        if (!s->has_last) {
            rt_strbuf_puts(b, "(no data)\n");
            continue;
        }
        rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, s->last_y, 4));
        if (isfinite(s->last_spread)) {
            rt_strbuf_puts(b, " \u00b1 ");
            rt_strbuf_append(b, num,
                             (size_t)rt_chart_fmt_num(num, sizeof num, fabs(s->last_spread), 2));
        }
        rt_strbuf_puts(b, " (");
        rt_chart_buf_text(b, xl, 40);
        rt_strbuf_append(b, " ", 1);
        rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, s->last_x, 10));
        rt_strbuf_puts(b, ")\n");
    }
    for (size_t j = 0; j < pn->nrefs; j++) {
        const rt_chart_ref *r = &pn->refs[j];
        rt_strbuf_append(b, "  ", 2);
        pad(b, namew - rt_chart_buf_text(b, r->label, NAME_MAX_CP));
        rt_strbuf_append(b, "  ", 2);
        for (size_t c = 0; c < sparkw; c++)
            rt_strbuf_puts(b, "\u254c");
        rt_strbuf_append(b, "  ", 2);
        rt_strbuf_append(b, num, (size_t)rt_chart_fmt_num(num, sizeof num, r->y, 4));
        rt_strbuf_puts(b, " (reference)\n");
    }
}

void rt_chart_text_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b)
{
    if (chart->title) {
        rt_chart_buf_text(b, chart->title, 80);
        rt_strbuf_append(b, "\n", 1);
    }
    if (chart->subtitle && chart->subtitle[0]) {
        rt_chart_buf_text(b, chart->subtitle, 120);
        rt_strbuf_append(b, "\n", 1);
    }
    if (chart->npanels == 0) rt_strbuf_puts(b, "(no data)\n");
    for (size_t i = 0; i < chart->npanels; i++)
        panel(b, &chart->panels[i], &p->panels[i], i);
}
