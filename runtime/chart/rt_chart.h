/* rt_chart: training curves rendered as SVG, as a Vega-Lite v5 spec, and as text.
 *
 * A chart is a grid of panels; each panel has a title, axis labels, optional log-y,
 * optional EMA smoothing (the raw curve drawn faint behind the smoothed one), an
 * optional value range (clamped; e.g. [0, 1] for an accuracy), optional horizontal
 * reference lines ("teacher") and any number of series (a legend name, x[], y[],
 * optional band lo[]/hi[] for mean ± spread over seeds; drawn as a line, or as dots
 * with error bars).  The chart has one legend, shared by its panels: a series name
 * has one colour in every panel.  Series arrays are owned by the caller and only read
 * while a render call runs, so a growing metrics table can be re-rendered at any time.
 *
 * Width: a chart is at most RT_CHART_MAX_WIDTH pixels wide whatever its panel count
 * (SVG, and the PNG rasterized from it; the Vega-Lite views are sized to fit the same
 * budget with their axes and the legend, which goes under the panels).
 *
 * Every renderer downsamples each series to at most max_points points, fewer when
 * many series share the chart's point budget (min and max per bucket, first and last
 * point kept exactly, gaps kept), so output size is bounded whatever the length of
 * the series: with the defaults, the three formats of a chart of a few panels come
 * to under 200 KB together (8 banded, smoothed series x 100,000 points: ~185 KB; the
 * same unsmoothed: ~130 KB).  NaN and ±inf (and y <= 0 on a log axis) are drawn as
 * gaps.  Output is deterministic byte for byte and independent of the C locale.  This
 * module knows nothing of Jupyter: it returns strings, the caller puts them in a
 * display bundle
 *   {application/vnd.vegalite.v5+json: rt_chart_vegalite,
 *    image/svg+xml: rt_chart_svg, text/plain: rt_chart_text}.
 *
 * Thread safety: renderers keep no global state; distinct calls may run in parallel.
 * Leaves out: PNG rasterizing, interactivity beyond Vega-Lite's tooltips, live update
 * pacing (the bridge's), and choosing what to plot and which metrics are bounded (the
 * magics'); attention heat maps are rt_chart_heat.h. */
#ifndef RT_CHART_H
#define RT_CHART_H

#include <stddef.h>

#include "rt_diag.h"

#define RT_CHART_MAX_POINTS_DEFAULT 300    /* per series, after downsampling */
#define RT_CHART_POINT_BUDGET_DEFAULT 2400 /* all series of a chart, bands count twice */
#define RT_CHART_PALETTE_SIZE 10
#define RT_CHART_MAX_WIDTH 940 /* pixels: fits the classic notebook's 978-px output area */
#define RT_CHART_MAX_COLUMNS 3 /* panels per row when rt_chart.columns is 0 */

/* rt_chart_series.points */
enum {
    RT_CHART_LINE = 0,      /* a line (a band between lo and hi under it) */
    RT_CHART_DOTS = 1,      /* a dot per point, no line; lo/hi: an error bar per point */
    RT_CHART_LINE_DOTS = 2, /* a line with a dot per point (sparse evaluations) */
};

/* One curve.  x and y have n elements (both may be NULL when n is 0); lo and hi have
 * n elements and draw a band only when both are non-NULL.  name is the legend entry
 * (UTF-8; NULL or "" = "series N"; names should be unique within a panel; series of
 * different panels with the same name are one legend entry and one colour). */
typedef struct rt_chart_series {
    const char *name;
    const double *x;
    const double *y;
    const double *lo; /* optional band lower edge (e.g. mean - std over seeds) */
    const double *hi; /* optional band upper edge */
    size_t n;
    int points; /* RT_CHART_LINE (0); RT_CHART_DOTS: a dot per point and no line (e.g.
                   per-seed final values against a swept key), with lo/hi error bars
                   instead of a band; RT_CHART_LINE_DOTS: a line with a dot per point
                   (sparse evaluations).  Only RT_CHART_LINE series are smoothed. */
} rt_chart_series;

/* A horizontal reference line across a panel, e.g. {0.93, "teacher"}. */
typedef struct rt_chart_ref {
    double y;
    const char *label; /* may be NULL */
} rt_chart_ref;

typedef struct rt_chart_panel {
    const char *title;  /* NULL = none */
    const char *xlabel; /* NULL = "step" */
    const char *ylabel; /* NULL = none */
    int logy;           /* nonzero: log10 y axis; y <= 0 becomes a gap */
    double smooth;      /* debiased EMA weight in [0, 1) (rt_chart_ema): 0 = raw, 0.6 =
                           TensorBoard's default, 0.9 = heavy.  > 0: lines (and bands) are
                           smoothed and the raw line is drawn faint behind each one */
    double ymin, ymax;  /* the metric's range when ymin < ymax (±INFINITY: an open end):
                           values, bands and the y axis are clamped to it, so float noise
                           (a KL of -2e-9) or a mean + sd band never leaves it; else none */
    int yzero;          /* nonzero: the y axis includes 0 (e.g. a KL) */
    int legend;         /* the chart's one legend (below): 0 = auto, 1 = shown even with
                           a single name, -1 = this panel's names do not count toward
                           the two that make it appear */
    const rt_chart_series *series;
    size_t nseries;
    const rt_chart_ref *refs;
    size_t nrefs;
    double xspan; /* > 0: the x axis covers at least [0, xspan] (e.g. a run's planned
                     steps, so a live chart shows how far along it is); 0 = the data */
} rt_chart_panel;

typedef struct rt_chart {
    const char *title; /* NULL = none; drawn above all panels */
    const rt_chart_panel *panels;
    size_t npanels;
    int columns;          /* panels per row; 0 = min(npanels, RT_CHART_MAX_COLUMNS); at
                             most RT_CHART_MAX_WIDTH / 160 (5) */
    int panel_width;      /* pixels per panel, 0 = 360; shrunk so that a row of `columns`
                             panels fits RT_CHART_MAX_WIDTH (3 panels: 313) */
    int panel_height;     /* pixels per panel, 0 = 240 */
    size_t max_points;    /* per series after downsampling, 0 = default; at least 8 is used */
    size_t point_budget;  /* shared by all series (a banded one counts twice), 0 = default;
                             each series keeps min(max_points, budget / weight), >= 8 */
    const char *subtitle; /* NULL = none; one line under the title (e.g. progress:
                             "step 730/1000 · 0:23 left") */
} rt_chart;

/* Each renderer writes a NUL-terminated string to *out (and its length, without the
 * NUL, to *len if len is non-NULL) and returns RT_OK; the caller frees *out with
 * rt_free.  On error *out is NULL and a negative RT_CHART_E* code is returned.
 *
 * The legend: one for the whole chart, under the panels, one entry per distinct
 *   series name in first-appearance order (panel by panel), the entry's colour that of
 *   every series of that name (palette[entry index]); shown when there are at least two
 *   names, or a panel says legend = 1.  Names are never truncated below 60 code points.
 * rt_chart_svg: a self-contained SVG 1.1 document (no ids, no scripts, no external
 *   references), panels laid out in rows of `columns`, the legend rows under them.
 * rt_chart_vegalite: a Vega-Lite v5 spec of the same (smoothed, downsampled) data: each
 *   panel has one inline dataset, rows {series, x, y[, lo, hi][, smooth[, slo, shi]]}
 *   (the data as measured: y the raw value, lo/hi the raw band, 6 significant digits;
 *   for a smoothed series what is drawn: smooth, slo/shi the smoothed value and band,
 *   4 digits; NaN as null), and layers over it
 *   (band, faint raw line, line, dots or error bars, hover points with tooltips
 *   {series, x, y}); reference lines have their own small dataset.  One panel = a layer
 *   spec, several = hconcat (or concat with columns when columns < npanels); one colour
 *   scale (domain: the legend's names) and one legend (orient bottom), shared.
 * The subtitle is the SVG's second heading line, the Vega-Lite title's "subtitle" (the
 *   title is an object {text[, subtitle], limit}) and the text's line after the title.
 * rt_chart_text: for each panel a title line, then one line per series:
 *   "  NAME  ▁▂▄▆▇█  0.812 (step 200)" (latest finite raw value, "± s" when banded; a
 *   DOTS series lists its points instead: "  NAME  0.5: 0.61 ± 0.02, 1: 0.63"), then
 *   one line per reference line. */
int rt_chart_svg(const rt_chart *chart, char **out, size_t *len);
int rt_chart_vegalite(const rt_chart *chart, char **out, size_t *len);
int rt_chart_text(const rt_chart *chart, char **out, size_t *len);

/* All three at once (smoothing and downsampling done once): the display bundle.
 * On success the caller frees the three strings with rt_free (or
 * rt_chart_bundle_free); on error all are NULL. */
typedef struct rt_chart_bundle {
    char *vegalite; /* application/vnd.vegalite.v5+json */
    char *svg;      /* image/svg+xml */
    char *text;     /* text/plain */
    size_t vegalite_len, svg_len, text_len;
} rt_chart_bundle;
int rt_chart_render(const rt_chart *chart, rt_chart_bundle *out);
void rt_chart_bundle_free(rt_chart_bundle *b);

/* Pointwise mean and band over seeds, for a series' y/lo/hi: seed s has ys[s][0..len),
 * len = lens ? lens[s] : n (a shorter, still running seed simply stops counting).
 * At each i < n, over the seeds with a finite value there: mean[i], and lo/hi =
 * mean -/+ k * sample std (divisor count-1; 0 with one seed).  No finite value: NaN
 * in all three.  lo and hi may be NULL.  Allocates nothing. */
void rt_chart_mean_band(const double *const *ys, const size_t *lens, size_t nseeds, size_t n,
                        double k, double *mean, double *lo, double *hi);

/* The fixed palette ("#rrggbb"), series i of a panel uses palette[i % size]. */
const char *rt_chart_color(size_t i);

#endif
