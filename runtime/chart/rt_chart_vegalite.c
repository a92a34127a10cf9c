/* rt_chart_vegalite.c: a chart as a Vega-Lite v5 spec (JSON text).
 *
 * Shape: a panel is a layer spec {title, width, height, layer: [...]} with one
 * nested layer per series ({data: {values: [{x, y[, lo, hi]}...]}, layer: [area
 * (band, y=lo, y2=hi) , line]}) and one for the reference lines (rule + text).
 * Series are told apart by a constant field made by a transform ({calculate: "NAME",
 * as: "series"}) coloured through an explicit domain/range, so colours match the SVG
 * palette and data rows stay small.  Several panels: hconcat (or concat with
 * "columns"), colour scales and legends resolved independently.  A subtitle makes the
 * title {text, subtitle}; a panel's xspan pins its x scale domain to the data extent
 * with [0, xspan].  Values are the smoothed, downsampled data of rt_chart_prepare;
 * invalid values are null, which Vega-Lite draws as gaps.  Leaves out: tooltips,
 * selections, a raw (unsmoothed) overlay. */
#include "rt_chart_util.h"

#include "rt_alloc.h"

#include <math.h>

#define X_SIG 10 /* steps and token counts stay exact */
#define Y_SIG 6

static int show_legend(const rt_chart_panel *pn)
{
    return pn->legend > 0 || (pn->legend == 0 && pn->nseries >= 2);
}

/* pp when the panel's x axis is pinned to cover [0, xspan], else NULL. */
static const rt_chart_prep_panel *xspan(const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    return isfinite(pn->xspan) && pn->xspan > 0 && isfinite(pp->xmin) ? pp : NULL;
}

/* An encoding channel; x_span: the panel's x domain is set to [xmin, xmax] of pp
 * (which include [0, xspan]). */
static void axis(rt_strbuf *b, const char *field, const char *title, int logy,
                 const rt_chart_prep_panel *x_span)
{
    rt_strbuf_puts(b, "{\"field\":");
    rt_chart_buf_json(b, field);
    rt_strbuf_puts(b, ",\"type\":\"quantitative\",\"title\":");
    if (title)
        rt_chart_buf_json(b, title);
    else
        rt_strbuf_puts(b, "null");
    if (x_span) {
        rt_strbuf_puts(b, ",\"scale\":{\"zero\":false,\"domain\":[");
        rt_chart_buf_num(b, x_span->xmin, X_SIG);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_num(b, x_span->xmax, X_SIG);
        rt_strbuf_puts(b, "]}}");
        return;
    }
    rt_strbuf_puts(b, logy ? ",\"scale\":{\"type\":\"log\"}}" : ",\"scale\":{\"zero\":false}}");
}

static void color(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp)
{
    rt_strbuf_puts(b, ",\"color\":{\"field\":\"series\",\"type\":\"nominal\","
                      "\"scale\":{\"domain\":[");
    for (size_t i = 0; i < pn->nseries; i++) {
        if (i) rt_strbuf_append(b, ",", 1);
        rt_chart_buf_json(b, pp->series[i].name);
    }
    rt_strbuf_puts(b, "],\"range\":[");
    for (size_t i = 0; i < pn->nseries; i++)
        rt_strbuf_printf(b, "%s\"%s\"", i ? "," : "", rt_chart_color(i));
    rt_strbuf_puts(b, show_legend(pn) ? "]},\"legend\":{\"title\":null,\"symbolType\":\"stroke\","
                                        "\"symbolOpacity\":1,\"symbolStrokeWidth\":2}}"
                                      : "]},\"legend\":null}");
}

/* "transform":[{"calculate":"\"NAME\"","as":"series"}]: the series name as a constant
 * field (a JSON string literal is a valid Vega expression string literal). */
static void name_field(rt_strbuf *b, const char *name)
{
    rt_strbuf lit;
    rt_strbuf_init(&lit);
    rt_chart_buf_json(&lit, name);
    if (lit.err) {
        if (!b->err) b->err = lit.err;
        rt_strbuf_free(&lit);
        return;
    }
    rt_strbuf_puts(b, "\"transform\":[{\"calculate\":");
    rt_chart_buf_json(b, lit.s);
    rt_strbuf_puts(b, ",\"as\":\"series\"}],");
    rt_strbuf_free(&lit);
}

static void series_layer(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp,
                         size_t j)
{
    const rt_chart_prep *s = &pp->series[j];
    const char *xl = pn->xlabel ? pn->xlabel : "step";
    int logy = pn->logy != 0;
    rt_strbuf_puts(b, "{\"data\":{\"values\":[");
    for (size_t i = 0; i < s->k; i++) {
        rt_strbuf_puts(b, i ? ",{\"x\":" : "{\"x\":");
        rt_chart_buf_num(b, s->x[i], X_SIG);
        rt_strbuf_puts(b, ",\"y\":");
        rt_chart_buf_num(b, s->y[i], Y_SIG);
        if (s->lo) {
            rt_strbuf_puts(b, ",\"lo\":");
            rt_chart_buf_num(b, s->lo[i], Y_SIG);
            rt_strbuf_puts(b, ",\"hi\":");
            rt_chart_buf_num(b, s->hi[i], Y_SIG);
        }
        rt_strbuf_append(b, "}", 1);
    }
    rt_strbuf_puts(b, "]},");
    name_field(b, s->name);
    rt_strbuf_puts(b, "\"layer\":[");
    if (s->lo) {
        rt_strbuf_puts(b, "{\"mark\":{\"type\":\"area\",\"opacity\":0.2},\"encoding\":{\"x\":");
        axis(b, "x", xl, 0, xspan(pn, pp));
        rt_strbuf_puts(b, ",\"y\":");
        axis(b, "lo", pn->ylabel, logy, NULL);
        rt_strbuf_puts(b, ",\"y2\":{\"field\":\"hi\"}");
        color(b, pn, pp);
        rt_strbuf_puts(b, "}},");
    }
    rt_strbuf_puts(b, "{\"mark\":{\"type\":\"line\",\"strokeWidth\":1.5},\"encoding\":{\"x\":");
    axis(b, "x", xl, 0, xspan(pn, pp));
    rt_strbuf_puts(b, ",\"y\":");
    axis(b, "y", pn->ylabel, logy, NULL);
    color(b, pn, pp);
    rt_strbuf_puts(b, "}}]}");
}

static void refs_layer(rt_strbuf *b, const rt_chart_panel *pn)
{
    int logy = pn->logy != 0;
    rt_strbuf_puts(b, "{\"data\":{\"values\":[");
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
    rt_strbuf_puts(b, "]},\"layer\":[{\"mark\":{\"type\":\"rule\",\"color\":\"#555\","
                      "\"strokeDash\":[4,3]},\"encoding\":{\"y\":");
    axis(b, "y", pn->ylabel, logy, NULL);
    rt_strbuf_puts(b, "}},{\"mark\":{\"type\":\"text\",\"align\":\"right\",\"baseline\":"
                      "\"bottom\",\"dx\":-4,\"dy\":-2,\"color\":\"#555\"},\"encoding\":"
                      "{\"x\":{\"value\":\"width\"},\"y\":");
    axis(b, "y", pn->ylabel, logy, NULL);
    rt_strbuf_puts(b, ",\"text\":{\"field\":\"label\"}}}]}");
}

static void panel(rt_strbuf *b, const rt_chart *chart, const rt_chart_panel *pn,
                  const rt_chart_prep_panel *pp)
{
    int w = chart->panel_width > 0 ? chart->panel_width : 360;
    int h = chart->panel_height > 0 ? chart->panel_height : 240;
    w = w < 160 ? 160 : w > 4000 ? 4000 : w;
    h = h < 120 ? 120 : h > 4000 ? 4000 : h;
    if (pn->title) {
        rt_strbuf_puts(b, "\"title\":");
        rt_chart_buf_json(b, pn->title);
        rt_strbuf_append(b, ",", 1);
    }
    rt_strbuf_printf(b, "\"width\":%d,\"height\":%d,\"layer\":[", w - 70, h - 70);
    size_t n = 0;
    for (size_t j = 0; j < pn->nseries; j++, n++) {
        if (n) rt_strbuf_append(b, ",", 1);
        series_layer(b, pn, pp, j);
    }
    if (pn->nrefs) {
        if (n++) rt_strbuf_append(b, ",", 1);
        refs_layer(b, pn);
    }
    if (n == 0) { /* an empty plot with its axes */
        rt_strbuf_puts(b, "{\"data\":{\"values\":[]},\"mark\":\"line\",\"encoding\":{\"x\":");
        axis(b, "x", pn->xlabel ? pn->xlabel : "step", 0, xspan(pn, pp));
        rt_strbuf_puts(b, ",\"y\":");
        axis(b, "y", pn->ylabel, pn->logy != 0, NULL);
        rt_strbuf_puts(b, "}}");
    }
    rt_strbuf_append(b, "]", 1);
}

void rt_chart_vegalite_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b)
{
    static const rt_chart_panel empty = {.title = "no data"};
    static const rt_chart_prep_panel empty_prep = {0};
    size_t np = chart->npanels;
    rt_strbuf_puts(b, "{\"$schema\":\"https://vega.github.io/schema/vega-lite/v5.json\",");
    int sub = chart->subtitle && chart->subtitle[0];
    if (np <= 1 && !chart->title && !sub) {
        panel(b, chart, np ? &chart->panels[0] : &empty, np ? &p->panels[0] : &empty_prep);
    } else {
        if (sub) {
            rt_strbuf_puts(b, "\"title\":{\"text\":");
            rt_chart_buf_json(b, chart->title ? chart->title : "");
            rt_strbuf_puts(b, ",\"subtitle\":");
            rt_chart_buf_json(b, chart->subtitle);
            rt_strbuf_puts(b, "},");
        } else if (chart->title) {
            rt_strbuf_puts(b, "\"title\":");
            rt_chart_buf_json(b, chart->title);
            rt_strbuf_append(b, ",", 1);
        }
        int grid = chart->columns > 0 && (size_t)chart->columns < np;
        if (grid)
            rt_strbuf_printf(b, "\"columns\":%d,\"concat\":[", chart->columns);
        else
            rt_strbuf_puts(b, "\"hconcat\":[");
        for (size_t i = 0; i < np; i++) {
            rt_strbuf_puts(b, i ? ",{" : "{");
            panel(b, chart, &chart->panels[i], &p->panels[i]);
            rt_strbuf_append(b, "}", 1);
        }
        if (np == 0) {
            rt_strbuf_append(b, "{", 1);
            panel(b, chart, &empty, &empty_prep);
            rt_strbuf_append(b, "}", 1);
        }
        rt_strbuf_puts(b, "],\"resolve\":{\"scale\":{\"color\":\"independent\"},"
                          "\"legend\":{\"color\":\"independent\"}}");
    }
    rt_strbuf_puts(b, "}\n");
}
