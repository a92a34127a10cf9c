/* rt_chart_vegalite.c: a chart as a Vega-Lite v5 spec (JSON text).
 *
 * Shape of a panel (one inline dataset, so an 18-run sweep is 3 datasets, not 54):
 *   {title, width, height,
 *    data: {values: [{series, x, y[, lo, hi][, smooth[, slo, shi]]}...]},
 *    layer: [{encoding: {x, color}, layer: [
 *               area (band: y=lo, y2=hi)        series drawn as lines, with a band
 *               area (y=slo, y2=shi)            the same, smoothed
 *               line y (faint, opacity 0.25)    the raw line of smoothed series
 *               line smooth | line y            the lines
 *               point y (filled)                DOTS and LINE_DOTS series
 *               rule y=lo, y2=hi                error bars of DOTS series with a band
 *               point y (opacity 0, tooltip)    hover: series, x, y (and smooth)]},
 *            {data: reference lines, layer: [rule, text]}]}
 * A layer that draws only some of the series filters them by name ({filter: {field:
 * "series", oneOf: [...]}}).  The rows keep the data as measured: y the raw value and
 * lo/hi the raw band (6 significant digits), and for smoothed series what is drawn:
 * smooth the smoothed value, slo/shi the smoothed band (4 digits, enough to draw);
 * invalid values are null.  Every
 * colour encoding has the same scale (domain: the chart's legend names, range: their
 * palette colours, as in the SVG); several panels are hconcat (or concat with
 * "columns") with the colour scale and legend resolved shared: one legend, under the
 * panels (orient bottom, in as many columns as fit), or none (legend: null).  Widths
 * follow rt_chart_grid_of, less room for the axes, so the whole spec renders within
 * about RT_CHART_MAX_WIDTH px; the x axis gets the tick count of the SVG's and labels
 * 10k / 1.5M like rt_chart_fmt_tick.  Reference lines are mid grey (#888), which reads
 * on white and on a dark theme's background.  A panel's xspan pins its x scale domain
 * to the data extent with [0, xspan].  The chart's title is {text[, subtitle], limit}:
 * vega cuts a title longer than the chart's width instead of widening it.  Leaves
 * out: selections, zoom. */
#include "rt_chart_util.h"

#include "rt_alloc.h"

#include <math.h>
#include <string.h>

#define X_SIG 10    /* steps and token counts stay exact */
#define Y_SIG 6     /* the measured value */
#define DRAWN_SIG 4 /* smoothed values, only drawn: 1e-4 of the range */
#define AXES_W 80   /* per panel: y tick labels, y title and the concat spacing */
#define AXES_H 70
#define REF_COLOR "#888"
/* x tick labels as rt_chart_fmt_tick writes them: 950, 10k, 1.5M, 2G */
#define X_LABELS                                                                                   \
    "abs(datum.value)>=1e9?format(datum.value/1e9,'.4~g')+'G':"                                    \
    "abs(datum.value)>=1e6?format(datum.value/1e6,'.4~g')+'M':"                                    \
    "abs(datum.value)>=1e4?format(datum.value/1e3,'.4~g')+'k':format(datum.value,'.4~g')"

/* Which series a layer draws. */
typedef enum { SEL_BAND, SEL_SBAND, SEL_RAW, SEL_SMOOTH, SEL_PLAIN, SEL_DOTS, SEL_BARS } sel;

static int selected(const rt_chart_prep *s, sel k)
{
    switch (k) {
    case SEL_BAND:
        return s->points != RT_CHART_DOTS && s->lo && !s->raw;
    case SEL_SBAND:
        return s->points != RT_CHART_DOTS && s->lo && s->raw;
    case SEL_RAW:
    case SEL_SMOOTH:
        return s->raw != NULL;
    case SEL_PLAIN:
        return s->points != RT_CHART_DOTS && !s->raw;
    case SEL_DOTS:
        return s->points != RT_CHART_LINE;
    case SEL_BARS:
        return s->points == RT_CHART_DOTS && s->lo;
    }
    return 0;
}

/* How many series of the panel layer k draws. */
static size_t count_sel(const rt_chart_panel *pn, const rt_chart_prep_panel *pp, sel k)
{
    size_t n = 0;
    for (size_t j = 0; j < pn->nseries; j++)
        n += (size_t)selected(&pp->series[j], k);
    return n;
}

/* "transform":[{"filter":{"field":"series","oneOf":[...]}}], when layer k draws only
 * some of the series. */
static void filter(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, sel k)
{
    if (count_sel(pn, pp, k) == pn->nseries) return;
    rt_strbuf_puts(b, "\"transform\":[{\"filter\":{\"field\":\"series\",\"oneOf\":[");
    int first = 1;
    for (size_t j = 0; j < pn->nseries; j++)
        if (selected(&pp->series[j], k)) {
            if (!first) rt_strbuf_append(b, ",", 1);
            rt_chart_buf_json(b, pp->series[j].name);
            first = 0;
        }
    rt_strbuf_puts(b, "]}}],");
}

/* pp when the panel's x axis is pinned to cover [0, xspan], else NULL. */
static const rt_chart_prep_panel *xspan(const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    return isfinite(pn->xspan) && pn->xspan > 0 && isfinite(pp->xmin) ? pp : NULL;
}

static void title_or_null(rt_strbuf *b, const char *title)
{
    if (title)
        rt_chart_buf_json(b, title);
    else
        rt_strbuf_puts(b, "null");
}

/* The x channel: quantitative, the SVG's tick count, compact labels, the domain
 * pinned with xspan. */
static void x_channel(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, int w)
{
    double t[32];
    size_t nt = isnan(pp->xmin) ? rt_chart_x_ticks(0, 1, w, t, 32)
                                : rt_chart_x_ticks(pp->xmin, pp->xmax, w, t, 32);
    rt_strbuf_puts(b, "\"x\":{\"field\":\"x\",\"type\":\"quantitative\",\"title\":");
    title_or_null(b, pn->xlabel ? pn->xlabel : "step");
    rt_strbuf_printf(b, ",\"axis\":{\"tickCount\":%d,\"labelOverlap\":true,\"labelExpr\":",
                     nt > 2 ? (int)nt - 1 : 2);
    rt_chart_buf_json(b, X_LABELS);
    rt_strbuf_append(b, "}", 1);
    const rt_chart_prep_panel *xs = xspan(pn, pp);
    if (xs) {
        rt_strbuf_puts(b, ",\"scale\":{\"zero\":false,\"domain\":[");
        rt_chart_buf_num(b, xs->xmin, X_SIG);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_num(b, xs->xmax, X_SIG);
        rt_strbuf_puts(b, "]}}");
        return;
    }
    rt_strbuf_puts(b, ",\"scale\":{\"zero\":false}}");
}

/* A y channel on field (lo, y, smooth): the panel's y label and scale. */
static void y_channel(rt_strbuf *b, const rt_chart_panel *pn, const char *field)
{
    rt_strbuf_puts(b, "\"y\":{\"field\":");
    rt_chart_buf_json(b, field);
    rt_strbuf_puts(b, ",\"type\":\"quantitative\",\"title\":");
    title_or_null(b, pn->ylabel);
    if (pn->logy)
        rt_strbuf_puts(b, ",\"scale\":{\"type\":\"log\"}}");
    else
        rt_strbuf_puts(b,
                       pn->yzero ? ",\"scale\":{\"zero\":true}}" : ",\"scale\":{\"zero\":false}}");
}

/* The legend's columns: as many entries as fit the chart's width in one row, at 8 px per
 * character of a label (vega's own estimate without a canvas: 0.8 x the 10-px font) plus
 * 40 px for the symbol and the padding, so the legend never widens the chart. */
static int legend_columns(const rt_chart_prepared *p, int width)
{
    size_t widest = 1;
    for (size_t i = 0; i < p->nnames; i++) {
        size_t w = rt_chart_buf_text(NULL, p->names[i], 60);
        if (w > widest) widest = w;
    }
    int cols = (int)((double)width / (40 + 8 * (double)widest));
    if (cols < 1) cols = 1;
    if ((size_t)cols > p->nnames) cols = (int)(p->nnames ? p->nnames : 1);
    return cols;
}

/* The colour channel, the same in every panel: the chart's names and their colours. */
static void color(rt_strbuf *b, const rt_chart_prepared *p, int width)
{
    rt_strbuf_puts(b,
                   "\"color\":{\"field\":\"series\",\"type\":\"nominal\",\"scale\":{\"domain\":[");
    for (size_t i = 0; i < p->nnames; i++) {
        if (i) rt_strbuf_append(b, ",", 1);
        rt_chart_buf_json(b, p->names[i]);
    }
    rt_strbuf_puts(b, "],\"range\":[");
    for (size_t i = 0; i < p->nnames; i++)
        rt_strbuf_printf(b, "%s\"%s\"", i ? "," : "", rt_chart_color(i));
    if (!p->legend) {
        rt_strbuf_puts(b, "]},\"legend\":null}");
        return;
    }
    rt_strbuf_printf(b,
                     "]},\"legend\":{\"title\":null,\"orient\":\"bottom\",\"columns\":%d,"
                     "\"labelLimit\":400,\"symbolType\":\"stroke\",\"symbolOpacity\":1,"
                     "\"symbolStrokeWidth\":2}}",
                     legend_columns(p, width));
}

/* The panel's dataset: a row per point of every series. */
static void rows(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    rt_strbuf_puts(b, "\"data\":{\"values\":[");
    int first = 1;
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        for (size_t i = 0; i < s->k; i++) {
            rt_strbuf_puts(b, first ? "{\"series\":" : ",{\"series\":");
            first = 0;
            rt_chart_buf_json(b, s->name);
            rt_strbuf_puts(b, ",\"x\":");
            rt_chart_buf_num(b, s->x[i], X_SIG);
            rt_strbuf_puts(b, ",\"y\":");
            rt_chart_buf_num(b, s->raw ? s->raw[i] : s->y[i], Y_SIG);
            if (s->lo) { /* the raw band */
                rt_strbuf_puts(b, ",\"lo\":");
                rt_chart_buf_num(b, s->raw_lo ? s->raw_lo[i] : s->lo[i], Y_SIG);
                rt_strbuf_puts(b, ",\"hi\":");
                rt_chart_buf_num(b, s->raw_hi ? s->raw_hi[i] : s->hi[i], Y_SIG);
            }
            if (s->raw) { /* what is drawn */
                rt_strbuf_puts(b, ",\"smooth\":");
                rt_chart_buf_num(b, s->y[i], DRAWN_SIG);
                if (s->lo) {
                    rt_strbuf_puts(b, ",\"slo\":");
                    rt_chart_buf_num(b, s->lo[i], DRAWN_SIG);
                    rt_strbuf_puts(b, ",\"shi\":");
                    rt_chart_buf_num(b, s->hi[i], DRAWN_SIG);
                }
            }
            rt_strbuf_append(b, "}", 1);
        }
    }
    rt_strbuf_puts(b, "]},");
}

/* One mark layer over the panel's dataset when it draws some series; mark is the JSON of
 * the mark, field the y field, y2 the y2 field (NULL: none). */
static void mark_layer(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, sel k,
                       const char *mark, const char *field, const char *y2, int *n)
{
    if (count_sel(pn, pp, k) == 0) return;
    rt_strbuf_puts(b, (*n)++ ? ",{" : "{");
    filter(b, pn, pp, k);
    rt_strbuf_puts(b, "\"mark\":");
    rt_strbuf_puts(b, mark);
    rt_strbuf_puts(b, ",\"encoding\":{");
    y_channel(b, pn, field);
    if (y2) {
        rt_strbuf_puts(b, ",\"y2\":{\"field\":");
        rt_chart_buf_json(b, y2);
        rt_strbuf_append(b, "}", 1);
    }
    rt_strbuf_puts(b, "}}");
}

/* The hover layer: invisible points carrying the tooltip (series, x, y, smooth). */
static void hover_layer(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    const char *yt = pn->ylabel ? pn->ylabel : pn->title ? pn->title : "value";
    rt_strbuf_puts(b, ",{\"mark\":{\"type\":\"point\",\"opacity\":0,\"size\":80},\"encoding\":{");
    y_channel(b, pn, "y");
    rt_strbuf_puts(b, ",\"tooltip\":[{\"field\":\"series\",\"type\":\"nominal\",\"title\":"
                      "\"series\"},{\"field\":\"x\",\"type\":\"quantitative\",\"title\":");
    rt_chart_buf_json(b, pn->xlabel ? pn->xlabel : "step");
    rt_strbuf_puts(b, "},{\"field\":\"y\",\"type\":\"quantitative\",\"format\":\".4~g\","
                      "\"title\":");
    rt_chart_buf_json(b, yt);
    rt_strbuf_append(b, "}", 1);
    if (count_sel(pn, pp, SEL_RAW))
        rt_strbuf_puts(b, ",{\"field\":\"smooth\",\"type\":\"quantitative\",\"format\":"
                          "\".4~g\",\"title\":\"smoothed\"}");
    rt_strbuf_puts(b, "]}}");
}

/* The series layers (sharing the x and colour channels), then the hover layer. */
static void series_layers(rt_strbuf *b, const rt_chart_prepared *p, const rt_chart_panel *pn,
                          const rt_chart_prep_panel *pp, int w, int chart_w)
{
    int n = 0;
    rt_strbuf_puts(b, "{\"encoding\":{");
    x_channel(b, pn, pp, w);
    rt_strbuf_append(b, ",", 1);
    color(b, p, chart_w);
    rt_strbuf_puts(b, "},\"layer\":[");
    static const char area[] = "{\"type\":\"area\",\"opacity\":0.2}";
    static const char line[] = "{\"type\":\"line\",\"strokeWidth\":1.5}";
    mark_layer(b, pn, pp, SEL_BAND, area, "lo", "hi", &n);
    mark_layer(b, pn, pp, SEL_SBAND, area, "slo", "shi", &n);
    mark_layer(b, pn, pp, SEL_RAW, "{\"type\":\"line\",\"strokeWidth\":1,\"opacity\":0.25}", "y",
               NULL, &n);
    mark_layer(b, pn, pp, SEL_SMOOTH, line, "smooth", NULL, &n);
    mark_layer(b, pn, pp, SEL_PLAIN, line, "y", NULL, &n);
    mark_layer(b, pn, pp, SEL_DOTS,
               "{\"type\":\"point\",\"filled\":true,\"opacity\":1,\"size\":30}", "y", NULL, &n);
    mark_layer(b, pn, pp, SEL_BARS, "{\"type\":\"rule\",\"strokeWidth\":1.5}", "lo", "hi", &n);
    if (n == 0) { /* an empty plot with its axes */
        rt_strbuf_puts(b, "{\"mark\":\"line\",\"encoding\":{");
        y_channel(b, pn, "y");
        rt_strbuf_puts(b, "}}");
    } else {
        hover_layer(b, pn, pp);
    }
    rt_strbuf_puts(b, "]}");
}

static void refs_layer(rt_strbuf *b, const rt_chart_panel *pn)
{
    int logy = pn->logy != 0;
    rt_strbuf_puts(b, ",{\"data\":{\"values\":[");
    int first = 1;
    for (size_t j = 0; j < pn->nrefs; j++) {
        const rt_chart_ref *r = &pn->refs[j];
        if (!isfinite(r->y) || (logy && !(r->y > 0))) continue;
        rt_strbuf_puts(b, first ? "{\"y\":" : ",{\"y\":");
        rt_chart_buf_num(b, r->y, Y_SIG);
        rt_strbuf_puts(b, ",\"label\":");
        rt_chart_buf_json(b, r->label ? r->label : "");
        rt_strbuf_append(b, "}", 1);
        first = 0;
    }
    rt_strbuf_puts(b, "]},\"layer\":[{\"mark\":{\"type\":\"rule\",\"color\":\"" REF_COLOR "\","
                      "\"strokeDash\":[4,3]},\"encoding\":{");
    y_channel(b, pn, "y");
    rt_strbuf_puts(b, "}},{\"mark\":{\"type\":\"text\",\"align\":\"right\",\"baseline\":"
                      "\"bottom\",\"dx\":-4,\"dy\":-2,\"color\":\"" REF_COLOR "\"},\"encoding\":"
                      "{\"x\":{\"value\":\"width\"},");
    y_channel(b, pn, "y");
    rt_strbuf_puts(b, ",\"text\":{\"field\":\"label\"}}}]}");
}

static void panel(rt_strbuf *b, const rt_chart *chart, const rt_chart_prepared *p,
                  const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    rt_chart_grid g = rt_chart_grid_of(chart);
    int w = g.w - AXES_W, h = g.h - AXES_H;
    if (pn->title) {
        rt_strbuf_puts(b, "\"title\":");
        rt_chart_buf_json(b, pn->title);
        rt_strbuf_append(b, ",", 1);
    }
    rt_strbuf_printf(b, "\"width\":%d,\"height\":%d,", w, h);
    rows(b, pn, pp);
    rt_strbuf_puts(b, "\"layer\":[");
    series_layers(b, p, pn, pp, w, g.w * (int)g.cols - 20);
    if (pn->nrefs) refs_layer(b, pn);
    rt_strbuf_append(b, "]", 1);
}

void rt_chart_vegalite_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b)
{
    static const rt_chart_panel empty = {.title = "no data"};
    static const rt_chart_prep_panel empty_prep = {
        .xmin = NAN, .xmax = NAN, .ymin = NAN, .ymax = NAN};
    size_t np = chart->npanels;
    rt_strbuf_puts(b, "{\"$schema\":\"https://vega.github.io/schema/vega-lite/v5.json\",");
    int sub = chart->subtitle && chart->subtitle[0];
    if (np <= 1 && !chart->title && !sub) {
        panel(b, chart, p, np ? &chart->panels[0] : &empty, np ? &p->panels[0] : &empty_prep);
        rt_strbuf_puts(b, "}\n");
        return;
    }
    rt_chart_grid g = rt_chart_grid_of(chart);
    if (sub || chart->title) { /* limit: a long title is cut rather than widen the chart */
        rt_strbuf_puts(b, "\"title\":{\"text\":");
        rt_chart_buf_json(b, chart->title ? chart->title : "");
        if (sub) {
            rt_strbuf_puts(b, ",\"subtitle\":");
            rt_chart_buf_json(b, chart->subtitle);
        }
        rt_strbuf_printf(b, ",\"limit\":%d},", g.w * (int)g.cols - 20);
    }
    if (g.cols < np)
        rt_strbuf_printf(b, "\"columns\":%zu,\"concat\":[", g.cols);
    else
        rt_strbuf_puts(b, "\"hconcat\":[");
    for (size_t i = 0; i < np; i++) {
        rt_strbuf_puts(b, i ? ",{" : "{");
        panel(b, chart, p, &chart->panels[i], &p->panels[i]);
        rt_strbuf_append(b, "}", 1);
    }
    if (np == 0) {
        rt_strbuf_append(b, "{", 1);
        panel(b, chart, p, &empty, &empty_prep);
        rt_strbuf_append(b, "}", 1);
    }
    rt_strbuf_puts(b, "],\"resolve\":{\"scale\":{\"color\":\"shared\"},"
                      "\"legend\":{\"color\":\"shared\"}}}\n");
}
