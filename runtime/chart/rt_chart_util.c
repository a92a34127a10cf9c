/* rt_chart_util.c: locale-free numbers, XML/JSON escaping, nice
 * linear and log ticks, EMA, min/max downsampling and the prepared series shared by
 * the SVG, Vega-Lite and text renderers.  Layout and drawing live in the renderers. */
#include "rt_chart_util.h"

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- numbers ----------------------------------------------------------------- */

int rt_chart_fmt_num(char *s, size_t cap, double v, int sig)
{
    int n;
    if (isnan(v))
        n = snprintf(s, cap, "NaN");
    else if (isinf(v))
        n = snprintf(s, cap, v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        n = snprintf(s, cap, "%lld", (long long)v + 0); /* -0.0 prints as 0 */
    else {
        if (sig < 1) sig = 1;
        if (sig > 17) sig = 17;
        n = snprintf(s, cap, "%.*g", sig, v);
        for (char *c = s; *c; c++) /* a locale's decimal comma */
            if (*c == ',') *c = '.';
    }
    if (n < 0) n = 0;
    if ((size_t)n >= cap) n = cap ? (int)cap - 1 : 0;
    return n;
}

int rt_chart_fmt_tick(char *s, size_t cap, double v)
{
    static const struct {
        double scale;
        const char *suffix;
    } units[3] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    double a = fabs(v);
    if (isfinite(v) && a >= 1e4 && a < 1e15)
        for (int i = 0; i < 3; i++)
            if (a >= units[i].scale || i == 2) {
                int n = rt_chart_fmt_num(s, cap, v / units[i].scale, 4);
                if ((size_t)n + 1 < cap) s[n++] = units[i].suffix[0], s[n] = '\0';
                return n;
            }
    return rt_chart_fmt_num(s, cap, v, 4);
}

void rt_chart_buf_num(rt_strbuf *b, double v, int sig)
{
    if (!isfinite(v)) {
        rt_strbuf_append(b, "null", 4);
        return;
    }
    char s[40];
    int n = rt_chart_fmt_num(s, sizeof s, v, sig);
    rt_strbuf_append(b, s, (size_t)n);
}

void rt_chart_buf_px(rt_strbuf *b, double v)
{
    if (!(v > -1e6)) v = -1e6; /* also NaN */
    if (v > 1e6) v = 1e6;
    long t = lround(v * 10.0);
    char s[24], *e = s + sizeof s, *p = e;
    int neg = t < 0;
    if (neg) t = -t;
    if (t % 10) {
        *--p = (char)('0' + t % 10);
        *--p = '.';
    }
    t /= 10;
    do {
        *--p = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    if (neg) *--p = '-';
    rt_strbuf_append(b, p, (size_t)(e - p));
}

/* ---- UTF-8 and escaping ------------------------------------------------------ */

static void put_utf8(rt_strbuf *b, uint32_t cp)
{
    char s[4];
    rt_strbuf_append(b, s, rt_utf8_encode(cp, s));
}

/* Appends the code points of s (at most maxcp of them, the last one "…" when s is
 * longer), control characters dropped, invalid UTF-8 as U+FFFD, XML-escaped when xml.
 * With b NULL only counts.  Returns the number of code points appended. */
static size_t clean(rt_strbuf *b, const char *s, size_t maxcp, int xml)
{
    if (!s) return 0;
    size_t len = strlen(s), total = 0;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        i += rt_utf8_decode(s + i, len - i, &cp);
        total += cp >= 0x20;
    }
    size_t limit = total > maxcp ? (maxcp ? maxcp - 1 : 0) : total, n = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (*p && n < limit) {
        const unsigned char *run = p; /* plain ASCII passes through in one put */
        while (n < limit && *p >= 0x20 && *p < 0x80 &&
               (!xml || (*p != '&' && *p != '<' && *p != '>' && *p != '"' && *p != '\'')))
            p++, n++;
        if (b && p > run) rt_strbuf_append(b, (const char *)run, (size_t)(p - run));
        if (!*p || n >= limit) break;
        p += rt_utf8_decode((const char *)p, (size_t)(end - p), &cp);
        if (cp < 0x20) continue; /* control characters are dropped */
        n++;
        if (!b) continue;
        if (xml && cp == '&')
            rt_strbuf_append(b, "&amp;", 5);
        else if (xml && cp == '<')
            rt_strbuf_append(b, "&lt;", 4);
        else if (xml && cp == '>')
            rt_strbuf_append(b, "&gt;", 4);
        else if (xml && cp == '"')
            rt_strbuf_append(b, "&quot;", 6);
        else if (xml && cp == '\'')
            rt_strbuf_append(b, "&apos;", 6);
        else
            put_utf8(b, cp == 0xFFFE || cp == 0xFFFF ? 0xFFFD : cp); /* not XML chars */
    }
    if (total > limit && maxcp) {
        if (b) rt_strbuf_append(b, "\xe2\x80\xa6", 3); /* U+2026 */
        n++;
    }
    return n;
}

void rt_chart_buf_xml(rt_strbuf *b, const char *s)
{
    clean(b, s, SIZE_MAX, 1);
}

void rt_chart_buf_xml_trunc(rt_strbuf *b, const char *s, size_t maxcp)
{
    clean(b, s, maxcp, 1);
}

void rt_chart_svg_text(rt_strbuf *b, double x, double y, const char *attrs, const char *s,
                       size_t maxcp)
{
    rt_strbuf_puts(b, "<text x=\"");
    rt_chart_buf_px(b, x);
    rt_strbuf_puts(b, "\" y=\"");
    rt_chart_buf_px(b, y);
    rt_strbuf_puts(b, "\"");
    rt_strbuf_puts(b, attrs);
    rt_strbuf_puts(b, ">");
    rt_chart_buf_xml_trunc(b, s, maxcp);
    rt_strbuf_puts(b, "</text>\n");
}

size_t rt_chart_buf_text(rt_strbuf *b, const char *s, size_t maxcp)
{
    return clean(b, s, maxcp, 0);
}

void rt_chart_buf_json(rt_strbuf *b, const char *s)
{
    rt_strbuf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : ""),
                        *end = p + strlen((const char *)p);
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run) rt_strbuf_append(b, (const char *)run, (size_t)(p - run));
        if (!*p) break;
        uint32_t cp;
        p += rt_utf8_decode((const char *)p, (size_t)(end - p), &cp);
        if (cp == '"')
            rt_strbuf_append(b, "\\\"", 2);
        else if (cp == '\\')
            rt_strbuf_append(b, "\\\\", 2);
        else if (cp < 0x20)
            rt_strbuf_printf(b, "\\u%04x", (unsigned)cp);
        else
            put_utf8(b, cp);
    }
    rt_strbuf_append(b, "\"", 1);
}

/* ---- ticks ------------------------------------------------------------------- */

/* 10^e, exact for |e| <= 22 (negative powers correctly rounded by one division). */
static double p10(int e)
{
    static const double t[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (e >= 0 && e <= 22) return t[e];
    if (e < 0 && e >= -22) return 1.0 / t[-e];
    return rt_pow(10.0, e);
}

/* k * 10^e without the rounding error of k * 0.1 (3 * 10^-1 is exactly 0.3). */
static double scaled(double k, int e)
{
    if (e < 0 && e >= -22) return k / p10(-e);
    return k * p10(e);
}

size_t rt_chart_nice_ticks(double lo, double hi, int target, double *ticks, size_t cap)
{
    if (!isfinite(lo) || !isfinite(hi) || cap < 2) return 0;
    if (lo > hi) {
        double t = lo;
        lo = hi, hi = t;
    }
    if (lo == hi) {
        double d = lo == 0 ? 1 : fabs(lo) / 10;
        lo -= d, hi += d;
    }
    if (target < 2) target = 2;
    double raw = hi / target - lo / target; /* no overflow near DBL_MAX */
    if (!(raw > 0) || !isfinite(raw)) return 0;
    int e = (int)floor(rt_log10(raw));
    double f = raw / p10(e);
    int m = f < 1.4142135623730951   ? 1
            : f < 3.1622776601683795 ? 2
            : f < 7.0710678118654755 ? 5
                                     : 10;
    for (;;) {
        if (m == 10) m = 1, e++;
        double step = scaled(m, e);
        double i0 = floor(lo / step + 1e-9), i1 = ceil(hi / step - 1e-9);
        if (i1 <= i0) i1 = i0 + 1;
        if (i1 - i0 + 1 <= (double)cap) {
            size_t n = (size_t)(i1 - i0) + 1;
            for (size_t i = 0; i < n; i++) {
                ticks[i] = scaled((i0 + (double)i) * m, e) + 0.0;
                if (!isfinite(ticks[i])) return 0;
            }
            return n;
        }
        m = m == 1 ? 2 : m == 2 ? 5 : 10;
    }
}

size_t rt_chart_log_ticks(double lo, double hi, int target, double *ticks, size_t cap)
{
    if (!(lo > 0) || !isfinite(lo) || !isfinite(hi) || hi < lo || cap < 4) return 0;
    if (target < 2) target = 2;
    int e0 = (int)floor(rt_log10(lo)), e1 = (int)ceil(rt_log10(hi));
    if (p10(e0) > lo) e0--; /* guard log10 rounding at exact powers */
    if (p10(e0 + 1) <= lo) e0++;
    if (p10(e1) < hi) e1++;
    if (e1 - 1 > e0 && p10(e1 - 1) >= hi) e1--;
    if (e1 <= e0) e1 = e0 + 1;
    size_t n = 0;
    if (e1 - e0 == 1) {
        static const int mult[3] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            ticks[n++] = scaled(mult[i], e0);
        ticks[n++] = p10(e1);
        return n;
    }
    int stride = (e1 - e0 + target - 1) / target;
    if ((e1 - e0) % stride) e1 += stride - (e1 - e0) % stride;
    while ((size_t)((e1 - e0) / stride + 1) > cap) {
        stride++;
        if ((e1 - e0) % stride) e1 += stride - (e1 - e0) % stride;
    }
    for (int e = e0; e <= e1; e += stride)
        ticks[n++] = p10(e);
    return n;
}

/* ---- smoothing and downsampling ---------------------------------------------- */

void rt_chart_ema(const double *y, size_t n, double alpha, double *out)
{
    if (!(alpha >= 0 && alpha < 1)) alpha = 0;
    double s = 0, decay = 1; /* decay = alpha^t after t finite values */
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        if (!isfinite(v)) {
            out[i] = v;
            continue;
        }
        s = alpha * s + (1 - alpha) * v;
        decay *= alpha;
        out[i] = s / (1 - decay);
    }
}

size_t rt_chart_x_ticks(double lo, double hi, double width, double *t, size_t cap)
{
    char num[40];
    size_t n = 0;
    for (int target = (int)(width / 50); target >= 2; target--) {
        n = rt_chart_nice_ticks(lo, hi, target, t, cap);
        if (n < 2) return n;
        double widest = 0, gap = width / (double)(n - 1);
        for (size_t i = 0; i < n; i++) {
            double w = 6.2 * (double)rt_chart_fmt_tick(num, sizeof num, t[i]);
            if (w > widest) widest = w;
        }
        if (widest + 8 <= gap) return n;
    }
    return n ? n : rt_chart_nice_ticks(lo, hi, 2, t, cap);
}

static int valid(double v, int logy)
{
    return isfinite(v) && (!logy || v > 0);
}

/* The bucket width for at most nb buckets over `inner` points: the smallest q * 2^k
 * (q in 4..7) >= ceil(inner / nb), or that ceiling itself below 8.  Quantized so
 * that while a series grows the buckets stay where they are (only the last one
 * changes) until the width steps up by a quarter octave; at least 80 % of the nb
 * buckets are used. */
static size_t bucket_width(size_t inner, size_t nb)
{
    size_t w = (inner + nb - 1) / nb, shift = 0;
    if (w < 8) return w;
    while ((w >> shift) >= 8)
        shift++;
    return ((w + ((size_t)1 << shift) - 1) >> shift) << shift;
}

/* One pass of min/max bucketing with at most nb buckets, each also contributing its
 * first invalid index (a gap).  Writes at most cap indices and returns how many the
 * pass needs (all were written iff that is <= cap). */
static size_t buckets(const double *y, size_t n, size_t nb, int logy, size_t cap, size_t *idx)
{
    size_t inner = n - 2, k = 0, w = bucket_width(inner, nb);
    idx[k++] = 0;
    for (size_t a = 1; a < n - 1; a += w) {
        size_t z = a + w < n - 1 ? a + w : n - 1;
        size_t imin = SIZE_MAX, imax = SIZE_MAX, igap = SIZE_MAX;
        double vmin = 0, vmax = 0;
        for (size_t i = a; i < z; i++) {
            double v = y[i];
            if (!valid(v, logy)) {
                if (igap == SIZE_MAX) igap = i;
            } else if (imin == SIZE_MAX) {
                imin = imax = i, vmin = vmax = v;
            } else if (v < vmin) {
                imin = i, vmin = v;
            } else if (v > vmax) {
                imax = i, vmax = v;
            }
        }
        size_t c[3] = {imin, imax, igap}; /* emit in index order, without repeats */
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (c[j] < c[i]) {
                    size_t t = c[i];
                    c[i] = c[j], c[j] = t;
                }
        for (int i = 0; i < 3; i++)
            if (c[i] != SIZE_MAX && (i == 0 || c[i] != c[i - 1])) {
                if (k < cap) idx[k] = c[i];
                k++;
            }
    }
    if (k < cap) idx[k] = n - 1;
    return k + 1;
}

size_t rt_chart_downsample(const double *y, size_t n, size_t max_points, int logy, size_t *idx)
{
    if (max_points < 8) max_points = 8;
    if (n <= max_points) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    /* Two points per bucket plus a gap marker in the buckets that have a gap; while
     * that does not fit, fewer buckets.  (max_points-2)/3 buckets always fit. */
    size_t nb = (max_points - 2) / 2, nb_min = (max_points - 2) / 3;
    for (;;) {
        size_t need = buckets(y, n, nb, logy, max_points, idx);
        if (need <= max_points) return need;
        size_t dec = (need - max_points + 1) / 2;
        nb = nb - nb_min <= dec ? nb_min : nb - dec;
    }
}

/* ---- prepared data ----------------------------------------------------------- */

size_t rt_chart_series_cap(const rt_chart *chart)
{
    size_t m = chart->max_points ? chart->max_points : RT_CHART_MAX_POINTS_DEFAULT;
    size_t budget = chart->point_budget ? chart->point_budget : RT_CHART_POINT_BUDGET_DEFAULT;
    size_t weight = 0;
    for (size_t i = 0; i < chart->npanels; i++)
        for (size_t j = 0; j < chart->panels[i].nseries; j++) {
            const rt_chart_series *s = &chart->panels[i].series[j];
            weight += s->n ? 1 + (s->lo && s->hi) : 0; /* a raw line shares its rows */
        }
    if (weight && budget / weight < m) m = budget / weight;
    if (m > 10000000) m = 10000000; /* keeps every size computation far from overflow */
    return m < 8 ? 8 : m;
}

rt_chart_grid rt_chart_grid_of(const rt_chart *chart)
{
    rt_chart_grid g;
    size_t np = chart->npanels;
    size_t cols = chart->columns > 0 ? (size_t)chart->columns : RT_CHART_MAX_COLUMNS;
    size_t most = RT_CHART_MAX_WIDTH / 160; /* a panel is at least 160 px wide */
    if (cols > np) cols = np;
    if (cols > most) cols = most;
    if (cols == 0) cols = 1;
    g.cols = cols;
    g.rows = np ? (np + cols - 1) / cols : 1;
    int w = chart->panel_width > 0 ? chart->panel_width : 360;
    int h = chart->panel_height > 0 ? chart->panel_height : 240;
    int fit = RT_CHART_MAX_WIDTH / (int)cols;
    if (w > fit) w = fit;
    g.w = w < 160 ? 160 : w;
    g.h = h < 120 ? 120 : h > 4000 ? 4000 : h;
    return g;
}

void rt_chart_prepared_free(rt_chart_prepared *p)
{
    if (!p) return;
    rt_free(p->mem);
    p->mem = NULL;
    p->panels = NULL;
}

static void extent(double v, double *lo, double *hi)
{
    if (isnan(v)) return;
    if (isnan(*lo) || v < *lo) *lo = v;
    if (isnan(*hi) || v > *hi) *hi = v;
}

/* v clamped to the panel's range (rt_chart_panel.ymin/ymax), when it has one. */
static double clamp_y(const rt_chart_panel *pn, double v)
{
    if (!(pn->ymin < pn->ymax) || !isfinite(v)) return v;
    return v < pn->ymin ? pn->ymin : v > pn->ymax ? pn->ymax : v;
}

/* The legend entry of name (added when new, with the series' points mode); the entries
 * are p->names[0..nnames). */
static size_t legend_entry(rt_chart_prepared *p, const char *name, int points)
{
    for (size_t i = 0; i < p->nnames; i++)
        if (!strcmp(p->names[i], name)) return i;
    p->names[p->nnames] = name;
    p->kinds[p->nnames] = points;
    return p->nnames++;
}

/* Writes the k downsampled points idx[0..k) of series s into ps (y from ys, band
 * from lo/hi, clamped to the panel's range) and grows the panel's extents. */
static void take_points(const rt_chart_panel *pn, const rt_chart_series *s, const double *ys,
                        const double *lo, const double *hi, const size_t *idx, rt_chart_prep *ps,
                        rt_chart_prep_panel *pp)
{
    int logy = pn->logy != 0;
    for (size_t t = 0; t < ps->k; t++) {
        size_t r = idx[t];
        double xv = s->x[r], yv = clamp_y(pn, ys[r]);
        int xok = isfinite(xv);
        ps->x[t] = xok ? xv : NAN;
        ps->y[t] = xok && valid(yv, logy) ? yv : NAN;
        if (!isnan(ps->y[t])) extent(xv, &pp->xmin, &pp->xmax);
        extent(ps->y[t], &pp->ymin, &pp->ymax);
        if (ps->raw) {
            double rv = clamp_y(pn, s->y[r]);
            ps->raw[t] = xok && valid(rv, logy) ? rv : NAN;
            extent(ps->raw[t], &pp->ymin, &pp->ymax);
        }
        if (ps->raw_lo) {
            double l = clamp_y(pn, s->lo[r]), h = clamp_y(pn, s->hi[r]);
            ps->raw_lo[t] = xok && valid(l, logy) ? l : NAN;
            ps->raw_hi[t] = xok && valid(h, logy) ? h : NAN;
        }
        if (ps->lo) {
            double l = clamp_y(pn, lo[r]), h = clamp_y(pn, hi[r]);
            ps->lo[t] = xok && valid(l, logy) ? l : NAN;
            ps->hi[t] = xok && valid(h, logy) ? h : NAN;
            if (!isnan(ps->lo[t]) && !isnan(ps->hi[t])) extent(xv, &pp->xmin, &pp->xmax);
            extent(ps->lo[t], &pp->ymin, &pp->ymax);
            extent(ps->hi[t], &pp->ymin, &pp->ymax);
        }
    }
}

/* The latest point of s with a finite raw y (rt_chart_prep.last_*). */
static void find_last(const rt_chart_panel *pn, const rt_chart_series *s, rt_chart_prep *ps)
{
    int band = s->lo && s->hi;
    ps->has_last = 0;
    ps->last_x = ps->last_y = ps->last_spread = NAN;
    for (size_t r = s->n; r-- > 0;)
        if (isfinite(s->y[r])) {
            ps->has_last = 1;
            ps->last_x = s->x[r];
            ps->last_y = clamp_y(pn, s->y[r]);
            if (band) ps->last_spread = (s->hi[r] - s->lo[r]) / 2;
            break;
        }
}

int rt_chart_prepare(const rt_chart *chart, rt_chart_prepared *p)
{
    memset(p, 0, sizeof *p);
    if (!chart || (chart->npanels && !chart->panels)) return RT_EINVAL;
    for (size_t i = 0; i < chart->npanels; i++) {
        const rt_chart_panel *pn = &chart->panels[i];
        if ((pn->nseries && !pn->series) || (pn->nrefs && !pn->refs)) return RT_EINVAL;
    }
    size_t mp = rt_chart_series_cap(chart), nser = 0, ndbl = 0, tmpn = 0, nidx = 1;
    for (size_t i = 0; i < chart->npanels; i++) {
        const rt_chart_panel *pn = &chart->panels[i];
        nser += pn->nseries;
        for (size_t j = 0; j < pn->nseries; j++) {
            const rt_chart_series *s = &pn->series[j];
            if (s->n && (!s->x || !s->y)) return RT_EINVAL;
            size_t k = s->n < mp ? s->n : mp;
            int smooth = pn->smooth > 0 && s->points == RT_CHART_LINE;
            ndbl += k * ((s->lo && s->hi) ? 4 : 2) + (smooth ? k : 0) +
                    (smooth && s->lo && s->hi ? 2 * k : 0);
            if (smooth && s->n > tmpn) tmpn = s->n;
            if (k > nidx) nidx = k;
        }
    }
    size_t szp = chart->npanels * sizeof(rt_chart_prep_panel);
    size_t szs = nser * sizeof(rt_chart_prep);
    size_t szn = (nser ? nser : 1) * sizeof(const char *), szk = (nser ? nser : 1) * sizeof(int);
    szp = (szp + 15) / 16 * 16, szs = (szs + 15) / 16 * 16, szn = (szn + 15) / 16 * 16;
    szk = (szk + 15) / 16 * 16;
    char *mem = rt_malloc(szp + szs + szn + szk + ndbl * sizeof(double));
    size_t *idx = rt_malloc(nidx * sizeof(size_t)); /* max(min(n, mp)) over the series */
    double *tmp = tmpn ? rt_malloc(3 * tmpn * sizeof(double)) : NULL;
    if (!mem || !idx || (tmpn && !tmp)) {
        rt_free(mem), rt_free(idx), rt_free(tmp);
        return RT_ENOMEM;
    }
    p->mem = mem;
    p->panels = (rt_chart_prep_panel *)mem;
    rt_chart_prep *ps = (rt_chart_prep *)(mem + szp);
    p->names = (const char **)(mem + szp + szs);
    p->kinds = (int *)(mem + szp + szs + szn);
    double *dp = (double *)(mem + szp + szs + szn + szk);
    int forced = 0;
    size_t shown = 0; /* legend entries of panels that have a legend */
    for (size_t i = 0; i < chart->npanels; i++) {
        const rt_chart_panel *pn = &chart->panels[i];
        rt_chart_prep_panel *pp = &p->panels[i];
        int logy = pn->logy != 0;
        pp->series = ps;
        pp->xmin = pp->xmax = pp->ymin = pp->ymax = NAN;
        forced |= pn->legend > 0 && pn->nseries > 0;
        for (size_t j = 0; j < pn->nseries; j++, ps++) {
            const rt_chart_series *s = &pn->series[j];
            const double *y = s->y, *lo = s->lo, *hi = s->hi;
            int band = lo && hi;
            int smooth = pn->smooth > 0 && s->n && s->points == RT_CHART_LINE;
            if (!band) lo = hi = NULL;
            if (smooth) {
                rt_chart_ema(y, s->n, pn->smooth, tmp);
                y = tmp;
                if (band) {
                    rt_chart_ema(lo, s->n, pn->smooth, tmp + tmpn);
                    rt_chart_ema(hi, s->n, pn->smooth, tmp + 2 * tmpn);
                    lo = tmp + tmpn, hi = tmp + 2 * tmpn;
                }
            }
            size_t k = s->n ? rt_chart_downsample(s->y, s->n, mp, logy, idx) : 0;
            ps->k = k;
            ps->points = s->points;
            ps->x = dp, dp += k;
            ps->y = dp, dp += k;
            ps->raw = ps->lo = ps->hi = ps->raw_lo = ps->raw_hi = NULL;
            if (smooth) ps->raw = dp, dp += k;
            if (band) ps->lo = dp, dp += k, ps->hi = dp, dp += k;
            if (smooth && band) ps->raw_lo = dp, dp += k, ps->raw_hi = dp, dp += k;
            take_points(pn, s, y, lo, hi, idx, ps, pp);
            find_last(pn, s, ps);
            if (s->name && s->name[0]) {
                ps->name = s->name;
            } else {
                snprintf(ps->defname, sizeof ps->defname, "series %zu", j + 1);
                ps->name = ps->defname;
            }
            size_t before = p->nnames;
            ps->color = legend_entry(p, ps->name, s->points);
            if (pn->legend >= 0 && p->nnames > before) shown++;
        }
        for (size_t j = 0; j < pn->nrefs; j++)
            if (valid(pn->refs[j].y, logy)) extent(pn->refs[j].y, &pp->ymin, &pp->ymax);
        if (pn->yzero && !logy && !isnan(pp->ymin)) extent(0, &pp->ymin, &pp->ymax);
        if (isfinite(pn->xspan) && pn->xspan > 0) { /* the x axis covers [0, xspan] */
            extent(0, &pp->xmin, &pp->xmax);
            extent(pn->xspan, &pp->xmin, &pp->xmax);
        }
    }
    p->legend = shown >= 2 || forced;
    rt_free(idx);
    rt_free(tmp);
    return RT_OK;
}
