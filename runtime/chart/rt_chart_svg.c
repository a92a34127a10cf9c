/* rt_chart_svg.c: a chart as a self-contained SVG document.
 *
 * Layout (rt_chart_grid_of: at most RT_CHART_MAX_WIDTH px wide): the title and the
 * subtitle (grey, smaller) centred on top, then panels in rows of `columns`, each
 * w x h (title on top, plot frame, y tick labels left, x tick labels and x label
 * below), then the chart's one legend, wrapped into rows of 16 px across the full
 * width.  Texts are cut ("…") only where they would not fit their width.  Axis domains
 * are the nice-tick extents of the data (and reference lines, [0, xspan] on x, 0 with
 * yzero), cut to the panel's [ymin, ymax]; the x tick count follows the plot width so
 * that labels ("10k") never touch.  Lines are <path> elements with one subpath per run
 * of valid points, so NaN/inf make gaps; a single isolated point is drawn as a dot.
 * Bands are filled paths, one closed subpath per valid run; a smoothed line has its raw
 * line faint behind it; dots are zero-length round-capped subpaths, error bars vertical
 * ones.  Coordinates have 0.1 px resolution.  Leaves out: interactivity, tooltips,
 * log-x. */
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
#define NAME_MAX_CP 60
#define CHAR_W 6.2 /* px per code point of 11-px DejaVu Sans, a generous estimate */

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

static double item_width(const char *name)
{
    size_t w = rt_utf8_cols(name, strlen(name));
    if (w > NAME_MAX_CP) w = NAME_MAX_CP;
    return 18 + CHAR_W * (double)w + 14;
}

/* Lays out (and, with b, draws) the chart's legend in the box [x0, x1] from y = top;
 * returns the number of legend rows (0 when the chart has no legend). */
static int legend(rt_strbuf *b, const rt_chart_prepared *p, double x0, double x1, double top)
{
    if (!p->legend || p->nnames == 0) return 0;
    double x = x0;
    int rows = 1;
    for (size_t j = 0; j < p->nnames; j++) {
        double w = item_width(p->names[j]);
        if (x + w > x1 && x > x0) {
            rows++;
            x = x0;
        }
        if (b) {
            double y = top + (rows - 1) * LEG_H + 10;
            int dots = p->kinds[j] == RT_CHART_DOTS; /* a dot, else a line segment */
            rt_strbuf_puts(b, "<path d=\"M");
            rt_chart_buf_px(b, x + (dots ? 7 : 0));
            rt_strbuf_puts(b, ",");
            rt_chart_buf_px(b, y - 3.5);
            rt_strbuf_printf(b,
                             dots ? "h0\" stroke=\"%s\" stroke-width=\"6\" "
                                    "stroke-linecap=\"round\"/><text x=\""
                                  : "h14\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"",
                             rt_chart_color(j));
            rt_chart_buf_px(b, x + 18);
            rt_strbuf_puts(b, "\" y=\"");
            rt_chart_buf_px(b, y);
            rt_strbuf_puts(b, "\">");
            rt_chart_buf_xml_trunc(b, p->names[j], NAME_MAX_CP);
            rt_strbuf_puts(b, "</text>\n");
        }
        x += w;
    }
    return rows;
}

/* Path data for y (s->y or s->raw; or a band between lo and hi) over the valid runs. */
static void line_path(rt_strbuf *b, const frame *f, const rt_chart_prep *s, const double *y)
{
    int state = 0; /* 0 pen up, 1 after M, 2 after L */
    for (size_t i = 0; i < s->k; i++) {
        if (isnan(y[i]) || isnan(s->x[i])) {
            if (state == 1) rt_strbuf_append(b, "h0", 2);
            state = 0;
            continue;
        }
        rt_strbuf_append(b, state == 0 ? "M" : state == 1 ? "L" : " ", 1);
        rt_chart_buf_px(b, fx(f, s->x[i]));
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, fy(f, y[i]));
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

/* Dots (zero-length subpaths drawn with a round cap) at the valid points, or with
 * bars the error bars from lo to hi with 6-px caps. */
static void dots_path(rt_strbuf *b, const frame *f, const rt_chart_prep *s, int bars)
{
    for (size_t i = 0; i < s->k; i++) {
        if (isnan(s->x[i]) || (bars ? isnan(s->lo[i]) || isnan(s->hi[i]) : isnan(s->y[i])))
            continue;
        double x = fx(f, s->x[i]);
        rt_strbuf_append(b, "M", 1);
        if (!bars) {
            rt_chart_buf_px(b, x);
            rt_strbuf_append(b, ",", 1);
            rt_chart_buf_px(b, fy(f, s->y[i]));
            rt_strbuf_append(b, "h0", 2);
            continue;
        }
        double ylo = fy(f, s->lo[i]), yhi = fy(f, s->hi[i]);
        rt_chart_buf_px(b, x - 3);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, ylo);
        rt_strbuf_append(b, "h6M", 3);
        rt_chart_buf_px(b, x - 3);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, yhi);
        rt_strbuf_append(b, "h6M", 3);
        rt_chart_buf_px(b, x);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, ylo);
        rt_strbuf_append(b, "V", 1);
        rt_chart_buf_px(b, yhi);
    }
}

/* A text of at most as many code points as fit width px at px_per_cp each. */
static void text_fit(rt_strbuf *b, double x, double y, const char *attrs, const char *s,
                     double width, double px_per_cp)
{
    double n = width / px_per_cp;
    rt_chart_svg_text(b, x, y, attrs, s, n < 8 ? 8 : (size_t)n);
}

static void text_at(rt_strbuf *b, double x, double y, const char *attrs, const char *s)
{
    rt_chart_svg_text(b, x, y, attrs, s, 60);
}

static int any_point(const rt_chart_prep *s, int band)
{
    for (size_t i = 0; i < s->k; i++)
        if (!isnan(s->x[i]) && (band ? !isnan(s->lo[i]) && !isnan(s->hi[i]) : !isnan(s->y[i])))
            return 1;
    return 0;
}

/* Y ticks of the panel (log or linear) and its domain f->flo..fhi; linear ticks are
 * cut to the panel's [ymin, ymax], whose ends then bound the domain. */
static size_t y_ticks(const rt_chart_panel *pn, const rt_chart_prep_panel *pp, int nodata, frame *f,
                      double *t, size_t cap)
{
    size_t n;
    if (f->logy) {
        n = nodata ? rt_chart_log_ticks(1, 10, 5, t, cap)
                   : rt_chart_log_ticks(pp->ymin, pp->ymax, 5, t, cap);
        if (n >= 2) f->flo = rt_log10(t[0]), f->fhi = rt_log10(t[n - 1]);
        return n;
    }
    n = nodata ? rt_chart_nice_ticks(0, 1, 5, t, cap)
               : rt_chart_nice_ticks(pp->ymin, pp->ymax, 5, t, cap);
    if (n < 2) return n;
    f->flo = t[0], f->fhi = t[n - 1];
    if (!(pn->ymin < pn->ymax) || nodata) return n;
    if (f->flo < pn->ymin) f->flo = pn->ymin;
    if (f->fhi > pn->ymax) f->fhi = pn->ymax;
    if (!(f->fhi > f->flo)) { /* all data at one end of the range */
        f->flo = t[0], f->fhi = t[n - 1];
        return n;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] >= f->flo - 1e-12 && t[i] <= f->fhi + 1e-12) t[k++] = t[i];
    return k;
}

/* The grid lines, the frame, the tick labels and the axis titles. */
static void axes(rt_strbuf *b, const rt_chart_panel *pn, const frame *f, const double *xt,
                 size_t nx, const double *yt, size_t ny, double ox)
{
    char num[40];
    rt_strbuf_puts(b, "<path d=\"");
    for (size_t i = 0; i < nx; i++) {
        rt_strbuf_append(b, "M", 1);
        rt_chart_buf_px(b, fx(f, xt[i]));
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, f->y0);
        rt_strbuf_append(b, "V", 1);
        rt_chart_buf_px(b, f->y1);
    }
    for (size_t i = 0; i < ny; i++) {
        rt_strbuf_append(b, "M", 1);
        rt_chart_buf_px(b, f->x0);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, fy(f, yt[i]));
        rt_strbuf_append(b, "H", 1);
        rt_chart_buf_px(b, f->x1);
    }
    rt_strbuf_puts(b, "\" stroke=\"#e6e6e6\" fill=\"none\"/>\n<rect x=\"");
    rt_chart_buf_px(b, f->x0);
    rt_strbuf_puts(b, "\" y=\"");
    rt_chart_buf_px(b, f->y0);
    rt_strbuf_puts(b, "\" width=\"");
    rt_chart_buf_px(b, f->x1 - f->x0);
    rt_strbuf_puts(b, "\" height=\"");
    rt_chart_buf_px(b, f->y1 - f->y0);
    rt_strbuf_puts(b, "\" fill=\"none\" stroke=\"#888\"/>\n");

    rt_strbuf_puts(b, "<g text-anchor=\"middle\">\n");
    for (size_t i = 0; i < nx; i++) {
        rt_chart_fmt_tick(num, sizeof num, xt[i]);
        text_at(b, fx(f, xt[i]), f->y1 + 14, "", num);
    }
    text_fit(b, (f->x0 + f->x1) / 2, f->y1 + 32, "", pn->xlabel ? pn->xlabel : "step",
             f->x1 - f->x0, CHAR_W);
    rt_strbuf_puts(b, "</g>\n<g text-anchor=\"end\">\n");
    for (size_t i = 0; i < ny; i++) {
        rt_chart_fmt_tick(num, sizeof num, yt[i]);
        text_at(b, f->x0 - 5, fy(f, yt[i]) + 4, "", num);
    }
    rt_strbuf_puts(b, "</g>\n");
    if (pn->ylabel) {
        rt_strbuf_puts(b, "<text text-anchor=\"middle\" transform=\"translate(");
        rt_chart_buf_px(b, ox + 13);
        rt_strbuf_append(b, ",", 1);
        rt_chart_buf_px(b, (f->y0 + f->y1) / 2);
        rt_strbuf_puts(b, ") rotate(-90)\">");
        double n = (f->y1 - f->y0) / CHAR_W;
        rt_chart_buf_xml_trunc(b, pn->ylabel, n < 8 ? 8 : (size_t)n);
        rt_strbuf_puts(b, "</text>\n");
    }
}

/* The series of a panel: bands, faint raw lines, lines, dots and error bars. */
static void series(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp,
                   const frame *f)
{
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (!s->lo || s->points == RT_CHART_DOTS || !any_point(s, 1)) continue;
        rt_strbuf_puts(b, "<path d=\"");
        band_path(b, f, s);
        rt_strbuf_printf(b, "\" fill=\"%s\" fill-opacity=\"0.2\"/>\n", rt_chart_color(s->color));
    }
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (!s->raw || !any_point(s, 0)) continue;
        rt_strbuf_puts(b, "<path d=\"");
        line_path(b, f, s, s->raw);
        rt_strbuf_printf(b,
                         "\" fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.25\" "
                         "stroke-width=\"1\" stroke-linejoin=\"round\"/>\n",
                         rt_chart_color(s->color));
    }
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (s->points == RT_CHART_DOTS || !any_point(s, 0)) continue;
        rt_strbuf_puts(b, "<path d=\"");
        line_path(b, f, s, s->y);
        rt_strbuf_printf(b,
                         "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                         "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
                         rt_chart_color(s->color));
    }
    for (size_t j = 0; j < pn->nseries; j++) {
        const rt_chart_prep *s = &pp->series[j];
        if (s->points == RT_CHART_LINE || !any_point(s, 0)) continue;
        if (s->lo && s->points == RT_CHART_DOTS && any_point(s, 1)) {
            rt_strbuf_puts(b, "<path d=\"");
            dots_path(b, f, s, 1);
            rt_strbuf_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
                             rt_chart_color(s->color));
        }
        rt_strbuf_puts(b, "<path d=\"");
        dots_path(b, f, s, 0);
        rt_strbuf_printf(b,
                         "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
                         "stroke-linecap=\"round\"/>\n",
                         rt_chart_color(s->color), s->points == RT_CHART_DOTS ? "6" : "4.5");
    }
}

static void panel(rt_strbuf *b, const rt_chart_panel *pn, const rt_chart_prep_panel *pp, double ox,
                  double oy, double w, double h)
{
    frame f = {ox + ML, ox + w - MR, oy + MT, oy + h - MB, 0, 1, 0, 1, pn->logy != 0};
    double xt[32], yt[32];
    int nodata = isnan(pp->xmin) || isnan(pp->ymin);
    size_t nx = isnan(pp->xmin)
                    ? rt_chart_x_ticks(0, 1, f.x1 - f.x0, xt, 32) /* [0, xspan] without data */
                    : rt_chart_x_ticks(pp->xmin, pp->xmax, f.x1 - f.x0, xt, 32);
    if (nx >= 2) f.xlo = xt[0], f.xhi = xt[nx - 1];
    size_t ny = y_ticks(pn, pp, nodata, &f, yt, 32);

    if (pn->title)
        text_fit(b, ox + w / 2, oy + 18,
                 " text-anchor=\"middle\" font-size=\"13\" "
                 "font-weight=\"bold\"",
                 pn->title, w - 8, 8.2);
    axes(b, pn, &f, xt, nx, yt, ny, ox);
    if (nodata)
        text_at(b, (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2,
                " text-anchor=\"middle\" "
                "fill=\"#888\"",
                "no data");
    series(b, pn, pp, &f);
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
            text_fit(b, f.x1 - 4, y - 4, " text-anchor=\"end\" fill=\"#555\"", r->label,
                     f.x1 - f.x0 - 8, CHAR_W);
    }
}

void rt_chart_svg_prepared(const rt_chart *chart, const rt_chart_prepared *p, rt_strbuf *b)
{
    rt_chart_grid g = rt_chart_grid_of(chart);
    double w = g.w, h = g.h;
    size_t np = chart->npanels, cols = g.cols, rows = g.rows;
    int sub = chart->subtitle && chart->subtitle[0];
    double top = (chart->title ? TITLE_H : 0) + (sub ? SUBTITLE_H + (chart->title ? 0 : 6) : 0);
    double total_w = w * (double)cols;
    double grid_h = top + h * (double)(np ? rows : 1);
    int lr = np ? legend(NULL, p, ML, total_w - MR, 0) : 0;
    double total_h = grid_h + lr * LEG_H + (lr ? 6 : 0);

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
        text_fit(b, total_w / 2, 18,
                 " text-anchor=\"middle\" font-size=\"14\" "
                 "font-weight=\"bold\"",
                 chart->title, total_w - 8, 8.8);
    if (sub)
        text_fit(b, total_w / 2, top - 8, " text-anchor=\"middle\" font-size=\"12\" fill=\"#666\"",
                 chart->subtitle, total_w - 8, 7.4);
    if (np == 0) text_at(b, total_w / 2, h / 2, " text-anchor=\"middle\" fill=\"#888\"", "no data");
    for (size_t i = 0; i < np; i++)
        panel(b, &chart->panels[i], &p->panels[i], w * (double)(i % cols),
              top + h * (double)(i / cols), w, h);
    if (lr) legend(b, p, ML, total_w - MR, grid_h);
    rt_strbuf_puts(b, "</svg>\n");
}
