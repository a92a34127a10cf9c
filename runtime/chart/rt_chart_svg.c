/* rt_chart_svg.c: a chart as a self-contained SVG document.
 *
 * Layout: the title and the subtitle (grey, smaller) centred on top, then panels in
 * rows of `columns`; each panel is panel_width x panel_height
 * (title on top, plot frame, y tick labels left, x tick labels and x label below)
 * plus a legend under it that wraps into rows of 16 px; all panels of a grid row get
 * the height of the tallest.  Axis domains are the nice-tick extents of the data
 * (and reference lines, and [0, xspan] on x).  Lines are <path> elements with one subpath per run
 * of valid points, so NaN/inf make gaps; a single isolated point is drawn as a dot. Bands are
 * filled paths, one closed subpath per valid run.  Coordinates have 0.1 px resolution.  Leaves out:
 * interactivity, tooltips, log-x, per-series styles. */
#include "rt_chart_util.h"

#include "rt_alloc.h"
#include "rt_math.h"

#include <math.h>
#include <string.h>

#define ML 56    /* left margin: y tick labels and y label */
#define MR 20    /* right margin: room for half the last x tick label */
#define MT 28    /* top margin: title */
#define MB 40    /* bottom margin: x tick labels and x label */
#define LEG_H 16 /* one legend row */
#define TITLE_H 26
#define SUBTITLE_H 16
#define NAME_MAX_CP 32

static const char *const palette[RT_CHART_PALETTE_SIZE] = {
    "#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
    "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"};

const char *rt_chart_color(size_t i)
{
    return palette[i % RT_CHART_PALETTE_SIZE];
}

typedef struct frame {
    double x0, x1, y0, y1; /* plot area in pixels (y0 top) */
    double xlo, xhi;       /* x domain */
    double flo, fhi;       /* y domain, in log10 units when logy */
    int logy;
} frame;

static double fx(const frame *f, double v)
{
    return f->x0 + (v - f->xlo) / (f->xhi - f->xlo) * (f->x1 - f->x0);
}

static double fy(const frame *f, double v)
{
    double t = f->logy ? rt_log10(v) : v;
    return f->y1 - (t - f->flo) / (f->fhi - f->flo) * (f->y1 - f->y0);
}

static int show_legend(const rt_chart_panel *pn)
{
    return pn->legend > 0 || (pn->legend == 0 && pn->nseries >= 2);
}

static double item_width(const char *name)
{
    size_t w = rt_utf8_cols(name, strlen(name));
    if (w > NAME_MAX_CP) w = NAME_MAX_CP;
    return 18 + 6.2 * (double)w + 14;
}

/* Lays out (and, with b, draws) the legend of a panel whose box starts at (ox, top);
 * returns the number of legend rows. */
static int legend(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, double ox,
                  double top, double width)
{
    if (!show_legend(pn) || pn->nseries == 0) return 0;
    double x = ox + ML, right = ox + width - MR;
    int rows = 1;
    for (size_t j = 0; j < pn->nseries; j++) {
        double w = item_width(pp->series[j].name);
        if (x + w > right && x > ox + ML) {
            rows++;
            x = ox + ML;
        }
        if (b) {
            double y = top + (rows - 1) * LEG_H + 10;
            rt_strbuf_puts(b, "<path d=\"M");
            rt_chart_buf_px(b, x);
            rt_strbuf_puts(b, ",");
            rt_chart_buf_px(b, y - 3.5);
            rt_strbuf_printf(b, "h14\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"",
                             rt_chart_color(j));
            rt_chart_buf_px(b, x + 18);
            rt_strbuf_puts(b, "\" y=\"");
            rt_chart_buf_px(b, y);
            rt_strbuf_puts(b, "\">");
            rt_chart_buf_xml_trunc(b, pp->series[j].name, NAME_MAX_CP);
            rt_strbuf_puts(b, "</text>\n");
        }
        x += w;
    }
    return rows;
}

/* Path data for y (or a band between lo and hi) over the valid runs. */
static void line_path(rt_strbuf *b, const frame *f, const rt_chart_prep *s)
{
    int state = 0; /* 0 pen up, 1 after M, 2 after L */
    for (size_t i = 0; i < s->k; i++) {
        if (isnan(s->y[i]) || isnan(s->x[i])) {
            if (state == 1) rt_strbuf_append(b, "h0", 2);
            state = 0;
            continue;
        }
        rt_strbuf_append(b, state == 0 ? "M" : state == 1 ? "L" : " ", 1);
        rt_chart_buf_px(b, fx(f, s->x[i]));
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, fy(f, s->y[i]));
        state = state == 0 ? 1 : 2;
    }
    if (state == 1) rt_strbuf_append(b, "h0", 2);
}

static void band_path(rt_strbuf *b, const frame *f, const rt_chart_prep *s)
{
    size_t i = 0;
    while (i < s->k) {
        if (isnan(s->lo[i]) || isnan(s->hi[i]) || isnan(s->x[i])) {
            i++;
            continue;
        }
        size_t a = i;
        while (i < s->k && !isnan(s->lo[i]) && !isnan(s->hi[i]) && !isnan(s->x[i]))
            i++;
        for (size_t t = a; t < i; t++) {
            rt_strbuf_append(b, t == a ? "M" : t == a + 1 ? "L" : " ", 1);
            rt_chart_buf_px(b, fx(f, s->x[t]));
            rt_strbuf_append(b, ",", 1);
            rt_chart_buf_px(b, fy(f, s->lo[t]));
        }
        for (size_t t = i; t-- > a;) {
            rt_strbuf_append(b, i - a == 1 && t == a ? "L" : " ", 1);
            rt_chart_buf_px(b, fx(f, s->x[t]));
            rt_strbuf_append(b, ",", 1);
            rt_chart_buf_px(b, fy(f, s->hi[t]));
        }
        rt_strbuf_append(b, "Z", 1);
    }
}

static void text_at(rt_strbuf *b, double x, double y, const char *attrs, const char *s)
{
    rt_strbuf_puts(b, "<text x=\"");
    rt_chart_buf_px(b, x);
    rt_strbuf_puts(b, "\" y=\"");
    rt_chart_buf_px(b, y);
    rt_strbuf_puts(b, "\"");
    rt_strbuf_puts(b, attrs);
    rt_strbuf_puts(b, ">");
    rt_chart_buf_xml_trunc(b, s, 60);
    rt_strbuf_puts(b, "</text>\n");
}

static int any_point(const rt_chart_prep *s, int band)
{
    for (size_t i = 0; i < s->k; i++)
        if (!isnan(s->x[i]) && (band ? !isnan(s->lo[i]) && !isnan(s->hi[i]) : !isnan(s->y[i])))
            return 1;
    return 0;
}

static void panel(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, double ox,
                  double oy, double w, double h)
{
    frame f = {ox + ML, ox + w - MR, oy + MT, oy + h - MB, 0, 1, 0, 1, pn->logy != 0};
    double xt[32], yt[32];
    size_t nx = 0, ny = 0;
    int nodata = isnan(pp->xmin) || isnan(pp->ymin);
    nx = isnan(pp->xmin) ? rt_chart_nice_ticks(0, 1, 5, xt, 32) /* [0, xspan] without data */
                         : rt_chart_nice_ticks(pp->xmin, pp->xmax, 5, xt, 32);
    if (nx >= 2) f.xlo = xt[0], f.xhi = xt[nx - 1];
    if (f.logy) {
        ny = nodata ? rt_chart_log_ticks(1, 10, 5, yt, 32)
                    : rt_chart_log_ticks(pp->ymin, pp->ymax, 5, yt, 32);
        if (ny >= 2) f.flo = rt_log10(yt[0]), f.fhi = rt_log10(yt[ny - 1]);
    } else {
        ny = nodata ? rt_chart_nice_ticks(0, 1, 5, yt, 32)
                    : rt_chart_nice_ticks(pp->ymin, pp->ymax, 5, yt, 32);
        if (ny >= 2) f.flo = yt[0], f.fhi = yt[ny - 1];
    }
    char num[40];

    /* title, frame, grid */
    if (pn->title)
        text_at(b, ox + w / 2, oy + 18,
                " text-anchor=\"middle\" font-size=\"13\" "
                "font-weight=\"bold\"",
                pn->title);
    rt_strbuf_puts(b, "<path d=\"");
    for (size_t i = 0; i < nx; i++) {
        rt_strbuf_append(b, "M", 1);
        rt_chart_buf_px(b, fx(&f, xt[i]));
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, f.y0);
        rt_strbuf_append(b, "V", 1);
        rt_chart_buf_px(b, f.y1);
    }
    for (size_t i = 0; i < ny; i++) {
        rt_strbuf_append(b, "M", 1);
        rt_chart_buf_px(b, f.x0);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, fy(&f, yt[i]));
        rt_strbuf_append(b, "H", 1);
        rt_chart_buf_px(b, f.x1);
    }
    rt_strbuf_puts(b, "\" stroke=\"#e6e6e6\" fill=\"none\"/>\n<rect x=\"");
    rt_chart_buf_px(b, f.x0);
    rt_strbuf_puts(b, "\" y=\"");
    rt_chart_buf_px(b, f.y0);
    rt_strbuf_puts(b, "\" width=\"");
    rt_chart_buf_px(b, f.x1 - f.x0);
    rt_strbuf_puts(b, "\" height=\"");
    rt_chart_buf_px(b, f.y1 - f.y0);
    rt_strbuf_puts(b, "\" fill=\"none\" stroke=\"#888\"/>\n");

    /* tick labels and axis titles */
    rt_strbuf_puts(b, "<g text-anchor=\"middle\">\n");
    for (size_t i = 0; i < nx; i++) {
        rt_chart_fmt_tick(num, sizeof num, xt[i]);
        text_at(b, fx(&f, xt[i]), f.y1 + 14, "", num);
    }
    text_at(b, (f.x0 + f.x1) / 2, f.y1 + 32, "", pn->xlabel ? pn->xlabel : "step");
    rt_strbuf_puts(b, "</g>\n<g text-anchor=\"end\">\n");
    for (size_t i = 0; i < ny; i++) {
        rt_chart_fmt_tick(num, sizeof num, yt[i]);
        text_at(b, f.x0 - 5, fy(&f, yt[i]) + 4, "", num);
    }
    rt_strbuf_puts(b, "</g>\n");
    if (pn->ylabel) {
        rt_strbuf_puts(b, "<text text-anchor=\"middle\" transform=\"translate(");
        rt_chart_buf_px(b, ox + 13);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, (f.y0 + f.y1) / 2);
        rt_strbuf_puts(b, ") rotate(-90)\">");
        rt_chart_buf_xml_trunc(b, pn->ylabel, 60);
        rt_strbuf_puts(b, "</text>\n");
    }
    if (nodata)
        text_at(b, (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2,
                " text-anchor=\"middle\" "
                "fill=\"#888\"",
                "no data");

    /* bands under lines, then lines, then reference lines */
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (!s->lo || !any_point(s, 1)) continue;
        rt_strbuf_puts(b, "<path d=\"");
        band_path(b, &f, s);
        rt_strbuf_printf(b, "\" fill=\"%s\" fill-opacity=\"0.2\"/>\n", rt_chart_color(j));
    }
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (!any_point(s, 0)) continue;
        rt_strbuf_puts(b, "<path d=\"");
        line_path(b, &f, s);
        rt_strbuf_printf(b,
                         "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                         "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
                         rt_chart_color(j));
    }
    for (size_t j = 0; j < pn->nrefs; j++) {
        const rt_chart_ref *r = &pn->refs[j];
        if (!isfinite(r->y) || (f.logy && !(r->y > 0))) continue;
        double y = fy(&f, r->y);
        rt_strbuf_puts(b, "<path d=\"M");
        rt_chart_buf_px(b, f.x0);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, y);
        rt_strbuf_append(b, "H", 1);
        rt_chart_buf_px(b, f.x1);
        rt_strbuf_puts(b, "\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>\n");
        if (r->label && r->label[0])
            text_at(b, f.x1 - 4, y - 4, " text-anchor=\"end\" fill=\"#555\"", r->label);
    }
    legend(b, pn, pp, ox, oy + h, w);
}

void rt_chart_svg_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b)
{
    double w = chart->panel_width > 0 ? chart->panel_width : 360;
    double h = chart->panel_height > 0 ? chart->panel_height : 240;
    if (w < 160) w = 160;
    if (w > 4000) w = 4000;
    if (h < 120) h = 120;
    if (h > 4000) h = 4000;
    size_t np = chart->npanels;
    size_t cols = chart->columns > 0 ? (size_t)chart->columns : np;
    if (cols > np) cols = np;
    if (cols == 0) cols = 1;
    size_t rows = np ? (np + cols - 1) / cols : 1;
    int sub = chart->subtitle && chart->subtitle[0];
    double top = (chart->title ? TITLE_H : 0) + (sub ? SUBTITLE_H + (chart->title ? 0 : 6) : 0);
    double total_h = top;
    for (size_t r = 0; r < rows; r++) {
        int lr = 0;
        for (size_t c = 0; c < cols && r * cols + c < np; c++) {
            size_t i = r * cols + c;
            int n = legend(NULL, &chart->panels[i], &p->panels[i], 0, 0, w);
            if (n > lr) lr = n;
        }
        total_h += h + lr * LEG_H + (lr ? 6 : 0);
    }
    double total_w = w * (double)cols;

    rt_strbuf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
    rt_chart_buf_px(b, total_w);
    rt_strbuf_puts(b, "\" height=\"");
    rt_chart_buf_px(b, total_h);
    rt_strbuf_puts(b, "\" viewBox=\"0 0 ");
    rt_chart_buf_px(b, total_w);
    rt_strbuf_puts(b, " ");
    rt_chart_buf_px(b, total_h);
    /* DejaVu Sans (Debian's fonts-dejavu-core) first: the PNG rasterized from this SVG
       (krn_png_from_svg) then uses the same font on every machine */
    rt_strbuf_puts(b, "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\" "
                      "fill=\"#333\">\n"
                      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
    if (chart->title)
        text_at(b, total_w / 2, 18,
                " text-anchor=\"middle\" font-size=\"14\" "
                "font-weight=\"bold\"",
                chart->title);
    if (sub)
        text_at(b, total_w / 2, top - 8, " text-anchor=\"middle\" font-size=\"12\" fill=\"#666\"",
                chart->subtitle);
    if (np == 0) text_at(b, total_w / 2, h / 2, " text-anchor=\"middle\" fill=\"#888\"", "no data");
    double oy = top;
    for (size_t r = 0; r < rows && np; r++) {
        int lr = 0;
        for (size_t c = 0; c < cols && r * cols + c < np; c++) {
            size_t i = r * cols + c;
            panel(b, &chart->panels[i], &p->panels[i], w * (double)c, oy, w, h);
            int n = legend(NULL, &chart->panels[i], &p->panels[i], 0, 0, w);
            if (n > lr) lr = n;
        }
        oy += h + lr * LEG_H + (lr ? 6 : 0);
    }
    rt_strbuf_puts(b, "</svg>\n");
}
