/* rt_chart_util: the building blocks shared by the three chart renderers (locale-free
 * number formatting, XML/JSON escaping, nice ticks, EMA, downsampling, the prepared
 * per-series data).  Renderers append to an rt_strbuf (rt_text.h: string buffer and
 * UTF-8, whose rule for invalid bytes, one U+FFFD each, the escapers follow).  Only
 * rt_chart_*.c and the chart tests include this header; other modules use rt_chart.h.
 * Leaves out: layout and drawing (rt_chart_svg.c, rt_chart_vegalite.c, rt_chart_text.c). */
#ifndef RT_CHART_UTIL_H
#define RT_CHART_UTIL_H

#include "rt_chart.h"
#include "rt_text.h"

#include <stddef.h>

/* v in at most `sig` significant digits, %g style, '.' as decimal point whatever the
 * locale; integers with |v| < 1e15 are written in full ("200", not "2e+02");
 * NaN -> "NaN", ±inf -> "inf"/"-inf".  Returns the length written to s (cap >= 32). */
int rt_chart_fmt_num(char *s, size_t cap, double v, int sig);
/* An axis tick label: fmt_num(v, 4) below 1e4, else with a k/M/G suffix ("200k",
 * "1.5M", "10k"). */
int rt_chart_fmt_tick(char *s, size_t cap, double v);
/* Appends fmt_num(v, sig), or "null" when v is not finite (for JSON). */
void rt_chart_buf_num(rt_strbuf *b, double v, int sig);
/* Appends a pixel coordinate rounded to 0.1 ("12.3", "40", "-5.1"), clamped to ±1e6. */
void rt_chart_buf_px(rt_strbuf *b, double v);
/* Appends s escaped for XML text and attribute values (&<>"' as entities), control
 * characters dropped, invalid UTF-8 replaced by U+FFFD.  NULL appends nothing. */
void rt_chart_buf_xml(rt_strbuf *b, const char *s);
/* As rt_chart_buf_xml, but at most maxcp code points, the last one "…" when cut. */
void rt_chart_buf_xml_trunc(rt_strbuf *b, const char *s, size_t maxcp);
/* Appends an SVG element <text x="X" y="Y"ATTRS>s</text> and a newline, s as
 * rt_chart_buf_xml_trunc (at most maxcp code points); ATTRS starts with a space. */
void rt_chart_svg_text(rt_strbuf *b, double x, double y, const char *attrs, const char *s,
                       size_t maxcp);
/* Appends s as plain text: at most maxcp code points (ending in "…" when cut),
 * control characters dropped, invalid UTF-8 as U+FFFD.  With b NULL only counts.
 * Returns the number of code points (the display width for most scripts). */
size_t rt_chart_buf_text(rt_strbuf *b, const char *s, size_t maxcp);
/* Appends s as a JSON string literal with its quotes; invalid UTF-8 -> U+FFFD. */
void rt_chart_buf_json(rt_strbuf *b, const char *s);

/* Nice linear ticks: step = {1,2,5} x 10^k chosen so that about `target` ticks
 * cover [lo, hi]; the ticks run from floor(lo/step)*step to ceil(hi/step)*step, so
 * the first and last tick are the niced axis domain.  Each tick is computed as an
 * integer times 10^k (or divided by 10^-k), so 0.3 is exactly the double 0.3.
 * lo == hi is widened to lo-1..hi+1 (or ±|lo|/10).  Returns the count (<= cap),
 * 0 if lo/hi are not finite or cap < 2. */
size_t rt_chart_nice_ticks(double lo, double hi, int target, double *ticks, size_t cap);
/* X axis ticks over [lo, hi] for a plot `width` px wide: nice ticks, the most (at most
 * one per 50 px, at least 2) whose widest label (rt_chart_fmt_tick, 6.2 px per
 * character) with 8 px between labels fits the tick spacing, so labels never touch.
 * Returns the count (<= cap). */
size_t rt_chart_x_ticks(double lo, double hi, double width, double *ticks, size_t cap);
/* Log ticks for 0 < lo <= hi: the domain is [10^floor(log10 lo), 10^ceil(log10 hi)]
 * (at least one decade); ticks at every decade (every 2nd, 3rd... when more than
 * `target` decades), plus 2 and 5 times each decade when the domain is one decade.
 * Returns the count (<= cap), 0 on bad input. */
size_t rt_chart_log_ticks(double lo, double hi, int target, double *ticks, size_t cap);

/* Debiased EMA smoothing (TensorBoard's, Adam's bias correction): s = 0, t = 0; for
 * each finite y[i]: t++, s = alpha*s + (1-alpha)*y[i], out[i] = s / (1 - alpha^t), so
 * the start is the mean of the values so far, not pulled to 0 nor to the first value.
 * Non-finite y[i] are copied unchanged (gaps stay gaps) and leave s and t alone.
 * alpha outside [0,1) is taken as 0 (out = y).  out may equal y. */
void rt_chart_ema(const double *y, size_t n, double alpha, double *out);

/* Chooses at most max(max_points, 8) indices of y[0..n) to draw, in increasing order:
 * all of them when n <= max_points; otherwise the first and last index, and for
 * each bucket of the interior the index of its minimum and of its maximum valid
 * value, plus its first invalid index when it has one (so gaps survive).  Buckets
 * are consecutive runs of W indices from index 1, W quantized (q * 2^k, q in 4..7)
 * so that a growing series keeps its earlier buckets; there are at most
 * (max_points-2)/2 of them (at least 80 % of that), fewer (down to (max_points-2)/3)
 * when the gap markers would not fit.  valid(v) = finite, and > 0 when logy.  idx
 * must have room for min(n, max(max_points, 8)) entries.  Returns the count. */
size_t rt_chart_downsample(const double *y, size_t n, size_t max_points, int logy, size_t *idx);

/* A series after smoothing, clamping and downsampling: k points, invalid values as NaN.
 * Indices are chosen on the raw values (so the faint raw line keeps its extremes). */
typedef struct rt_chart_prep {
    size_t k;
    double *x, *y, *lo, *hi; /* y as drawn (smoothed when the panel smooths); lo/hi NULL
                                without band; views into rt_chart_prepared.mem */
    double *raw;             /* the raw y at the same points when smoothed, else NULL */
    double *raw_lo, *raw_hi; /* the raw band there when smoothed and banded, else NULL */
    int points;              /* the series' RT_CHART_LINE / DOTS / LINE_DOTS */
    size_t color;            /* its legend entry: palette colour rt_chart_color(color) */
    double last_x, last_y;   /* latest point with finite raw y (x may be NaN); */
    double last_spread;      /* (hi-lo)/2 there, NaN without band */
    int has_last;            /* 0 when no finite raw y */
    const char *name;        /* the legend name: the series name or defname */
    char defname[32];        /* "series N" for an unnamed series */
} rt_chart_prep;

typedef struct rt_chart_prep_panel {
    rt_chart_prep *series; /* panel->nseries entries */
    double xmin, xmax;     /* finite data extent, with [0, xspan] (NaN when neither) */
    double ymin, ymax;     /* over y, lo, hi and refs (valid values only) */
} rt_chart_prep_panel;

typedef struct rt_chart_prepared {
    rt_chart_prep_panel *panels; /* chart->npanels entries */
    const char **names;          /* the legend entries: distinct series names, first
                                    appearance order (every series' color indexes it) */
    int *kinds;                  /* [nnames] the points mode of each name's first series */
    size_t nnames;
    int legend; /* 1: the legend is shown (see rt_chart.h) */
    void *mem;  /* one block holding every array and name */
} rt_chart_prepared;

/* The grid both the SVG and the Vega-Lite use: columns, rows and the panel size in
 * pixels, cols * w <= RT_CHART_MAX_WIDTH. */
typedef struct rt_chart_grid {
    size_t cols, rows;
    int w, h;
} rt_chart_grid;
rt_chart_grid rt_chart_grid_of(const rt_chart *chart);

/* Smooths, downsamples and measures every series of chart.  Returns 0 or an RT_CHART_E*
 * code; on success free with rt_chart_prepared_free. */
int rt_chart_prepare(const rt_chart *chart, rt_chart_prepared *p);
void rt_chart_prepared_free(rt_chart_prepared *p);
/* Points kept per series: min(max_points, point_budget / weight), at least 8, where
 * weight counts each non-empty series once and its band once more (a smoothed series'
 * faint raw line is drawn through the same points: the data rows stay as without
 * smoothing). */
size_t rt_chart_series_cap(const rt_chart *chart);

/* The renderers proper, over prepared data, appending to b (errors are in b->err,
 * sticky: a renderer appends freely and the caller checks once). */
void rt_chart_svg_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b);
void rt_chart_vegalite_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b);
void rt_chart_text_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b);

#endif
