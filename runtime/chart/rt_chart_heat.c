/* rt_chart_heat.c: attention heat maps (rt_chart_heat.h) as SVG small multiples and as
 * text.  Layout of the SVG: title (26 px) and subtitle (16 px) on top, then rows of
 * panels (one per layer) of `heads` panels, each: a title line, the query labels left of
 * the grid, the grid of cs-px cells, the key labels rotated under it; then the legend
 * (a bar of 40 steps over [0, 1] with ticks 0, 0.5, 1).  Coordinates have 0.1 px
 * resolution (rt_chart_buf_px); numbers are written without the C locale. */
#include "rt_chart_heat.h"

#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_chart_util.h"

#define MARG 12       /* figure margin */
#define TITLE_H 26    /* the title line */
#define SUB_H 16      /* the subtitle line */
#define PT 18         /* a panel's title line */
#define GAP 14        /* between panels */
#define LAB_CW 5.6    /* px per code point of a 9-px label */
#define LAB_MAXCP 8   /* labels are cut to this many code points */
#define LEG_W 200     /* legend bar */
#define LEG_STEPS 40  /* rects of the legend bar */
#define MIN_W 320     /* room for the title and the legend */
#define TIP_MAX 20000 /* cells with a tooltip at most: a figure of more cells has none */

static const unsigned char blues[9][3] = {
    {0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef},
    {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6},
    {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b}};

static double clamp01(double v)
{
    if (!(v > 0)) return 0; /* NaN too */
    return v > 1 ? 1 : v;
}

void rt_chart_heat_color(double v, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    double t = clamp01(v) * 8.0;
    int k = (int)t;
    if (k > 7) k = 7;
    double f = t - k;
    buf[0] = '#';
    for (int c = 0; c < 3; c++) {
        double x = blues[k][c] + (blues[k + 1][c] - blues[k][c]) * f;
        int i = (int)(x + 0.5);
        i = i < 0 ? 0 : i > 255 ? 255 : i;
        buf[1 + 2 * c] = hex[i >> 4];
        buf[2 + 2 * c] = hex[i & 15];
    }
    buf[7] = 0;
}

static int valid(const rt_chart_heat *h)
{
    return h && h->values && h->labels && h->layers >= 1 && h->heads >= 1 && h->L >= 1 &&
           h->L <= RT_CHART_HEAT_MAX_L;
}

static double val(const rt_chart_heat *h, int l, int hd, int i, int j)
{
    size_t L = (size_t)h->L;
    return clamp01(h->values[(((size_t)l * h->heads + hd) * L + i) * L + j]);
}

/* p in [0, 1] as "0.62" (hundredths, locale-free) */
static void fmt_p(char *s, size_t cap, double p)
{
    int c = (int)(clamp01(p) * 100.0 + 0.5);
    snprintf(s, cap, "%d.%02d", c / 100, c % 100);
}

static const char *label(const rt_chart_heat *h, int i)
{
    const char *s = h->labels[i];
    return s ? s : "?";
}

static void text_el(rt_strbuf *b, double x, double y, const char *attrs, const char *s,
                    size_t maxcp)
{
    rt_chart_svg_text(b, x, y, attrs, s, maxcp < 4 ? 4 : maxcp);
}

static void rect(rt_strbuf *b, double x, double y, double w, double hh, const char *attrs)
{
    rt_strbuf_puts(b, "<rect x=\"");
    rt_chart_buf_px(b, x);
    rt_strbuf_puts(b, "\" y=\"");
    rt_chart_buf_px(b, y);
    rt_strbuf_puts(b, "\" width=\"");
    rt_chart_buf_px(b, w);
    rt_strbuf_puts(b, "\" height=\"");
    rt_chart_buf_px(b, hh);
    rt_strbuf_puts(b, "\"");
    rt_strbuf_puts(b, attrs);
}

static void panel(rt_strbuf *b, const rt_chart_heat *h, int l, int hd, double x0, double y0,
                  double lab, double cs, int tips)
{
    int L = h->L;
    double gx = x0 + lab, gy = y0 + PT, gs = cs * L;
    char t[64], col[8], p[16];
    snprintf(t, sizeof t, "layer %d \xc2\xb7 head %d", l + 1, hd + 1);
    text_el(b, gx + gs / 2, y0 + 12, " text-anchor=\"middle\" font-weight=\"bold\"", t,
            (size_t)((lab + gs) / 6.2));
    /* labels at 9 px, smaller in cells below 9 px so that neighbours do not overlap */
    int fs = cs < 9 ? (int)cs : 9;
    char la[64];
    snprintf(la, sizeof la, " text-anchor=\"end\" font-size=\"%d\"", fs);
    for (int i = 0; i < L; i++) {
        /* query label left of row i, key label under column i (rotated) */
        double cy = gy + cs * i + cs / 2 + fs / 3.0;
        text_el(b, gx - 3, cy, la, label(h, i), LAB_MAXCP);
        double cx = gx + cs * i + cs / 2 + fs / 3.0;
        rt_strbuf_puts(b, "<text transform=\"translate(");
        rt_chart_buf_px(b, cx);
        rt_strbuf_puts(b, " ");
        rt_chart_buf_px(b, gy + gs + 3);
        rt_strbuf_printf(b, ") rotate(-90)\"%s>", la);
        rt_chart_buf_xml_trunc(b, label(h, i), LAB_MAXCP);
        rt_strbuf_puts(b, "</text>\n");
        for (int j = 0; j <= i; j++) {
            double v = val(h, l, hd, i, j);
            rt_chart_heat_color(v, col);
            char a[24];
            if (tips)
                snprintf(a, sizeof a, " fill=\"%s\">", col);
            else
                snprintf(a, sizeof a, " fill=\"%s\"/>\n", col);
            rect(b, gx + cs * j, gy + cs * i, cs, cs, a);
            if (!tips) continue;
            fmt_p(p, sizeof p, v);
            rt_strbuf_puts(b, "<title>");
            rt_chart_buf_xml_trunc(b, label(h, i), LAB_MAXCP);
            rt_strbuf_puts(b, " \xe2\x86\x92 ");
            rt_chart_buf_xml_trunc(b, label(h, j), LAB_MAXCP);
            rt_strbuf_printf(b, ": %s</title></rect>\n", p);
        }
    }
    rect(b, gx, gy, gs, gs, " fill=\"none\" stroke=\"#888\"/>\n");
}

int rt_chart_heat_svg(const rt_chart_heat *h, char **out, size_t *len)
{
    if (!out) return RT_EINVAL;
    *out = NULL;
    if (len) *len = 0;
    if (!valid(h)) return RT_EINVAL;
    int L = h->L;
    size_t maxcp = 1;
    for (int i = 0; i < L; i++) {
        size_t c = rt_utf8_cols(label(h, i), strlen(label(h, i)));
        maxcp = c > maxcp ? c : maxcp;
    }
    if (maxcp > LAB_MAXCP) maxcp = LAB_MAXCP;
    double lab = LAB_CW * (double)maxcp + 6;
    double avail = (RT_CHART_MAX_WIDTH - 2 * MARG) / (double)h->heads - lab - GAP;
    int cs = (int)(avail / L);
    cs = cs < 4 ? 4 : cs > 18 ? 18 : cs;
    double pw = lab + (double)cs * L + GAP, ph = PT + (double)cs * L + lab + GAP;
    double w = 2 * MARG + pw * h->heads;
    if (w < MIN_W) w = MIN_W;
    /* room for the title and the subtitle, within RT_CHART_MAX_WIDTH */
    double tw = h->title ? 16 + 8.8 * (double)rt_utf8_cols(h->title, strlen(h->title)) : 0;
    if (h->subtitle) {
        double sw = 16 + 7.4 * (double)rt_utf8_cols(h->subtitle, strlen(h->subtitle));
        tw = sw > tw ? sw : tw;
    }
    if (tw > RT_CHART_MAX_WIDTH) tw = RT_CHART_MAX_WIDTH;
    if (w < tw) w = tw;
    double x0 = (w - pw * h->heads) / 2; /* the panels centred */
    int sub = h->subtitle && h->subtitle[0];
    double top = 8 + (h->title ? TITLE_H : 0) + (sub ? SUB_H : 0);
    double ly = top + ph * h->layers; /* legend */
    double th = ly + 44;

    int tips = (double)h->layers * h->heads * L * (L + 1) / 2 <= TIP_MAX;
    rt_strbuf sb, *b = &sb;
    rt_strbuf_init(b);
    rt_strbuf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
    rt_chart_buf_px(b, w);
    rt_strbuf_puts(b, "\" height=\"");
    rt_chart_buf_px(b, th);
    rt_strbuf_puts(b, "\" viewBox=\"0 0 ");
    rt_chart_buf_px(b, w);
    rt_strbuf_puts(b, " ");
    rt_chart_buf_px(b, th);
    /* DejaVu Sans first, as rt_chart_svg: the rasterized PNG uses the same font everywhere */
    rt_strbuf_puts(b, "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\" "
                      "fill=\"#333\">\n"
                      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
    double y = 8;
    if (h->title) {
        y += TITLE_H;
        text_el(b, w / 2, y - 8, " text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"",
                h->title, (size_t)((w - 8) / 8.8));
    }
    if (sub) {
        y += SUB_H;
        text_el(b, w / 2, y - 4, " text-anchor=\"middle\" font-size=\"12\" fill=\"#666\"",
                h->subtitle, (size_t)((w - 8) / 7.4));
    }
    for (int l = 0; l < h->layers; l++)
        for (int hd = 0; hd < h->heads; hd++)
            panel(b, h, l, hd, x0 + pw * hd, top + ph * l, lab, cs, tips);
    /* legend: the scale over [0, 1] */
    double lx = x0 + lab;
    text_el(b, lx, ly + 10, "", h->legend ? h->legend : "attention probability", 60);
    for (int k = 0; k < LEG_STEPS; k++) {
        char col[8], a[40];
        rt_chart_heat_color((k + 0.5) / LEG_STEPS, col);
        snprintf(a, sizeof a, " fill=\"%s\"/>\n", col);
        rect(b, lx + (double)LEG_W * k / LEG_STEPS, ly + 16, (double)LEG_W / LEG_STEPS + 0.1, 10,
             a);
    }
    rect(b, lx, ly + 16, LEG_W, 10, " fill=\"none\" stroke=\"#888\"/>\n");
    static const char *const ticks[3] = {"0", "0.5", "1"};
    for (int k = 0; k < 3; k++)
        text_el(b, lx + LEG_W * k / 2.0, ly + 38, " text-anchor=\"middle\" font-size=\"9\"",
                ticks[k], 4);
    rt_strbuf_puts(b, "</svg>\n");
    *out = rt_strbuf_take(b, len);
    return *out ? RT_OK : RT_ENOMEM;
}

/* the shade of p in the text grid */
static const char *shade(double p)
{
    return p < 0.1    ? "\xc2\xb7"
           : p < 0.3  ? "\xe2\x96\x91"
           : p < 0.5  ? "\xe2\x96\x92"
           : p < 0.75 ? "\xe2\x96\x93"
                      : "\xe2\x96\x88";
}

/* s padded with spaces to w code points (cut at LAB_MAXCP) */
static void pad(rt_strbuf *b, const char *s, size_t w)
{
    size_t n = rt_chart_buf_text(b, s, LAB_MAXCP);
    for (; n < w; n++)
        rt_strbuf_putc(b, ' ');
}

int rt_chart_heat_text(const rt_chart_heat *h, char **out, size_t *len)
{
    if (!out) return RT_EINVAL;
    *out = NULL;
    if (len) *len = 0;
    if (!valid(h)) return RT_EINVAL;
    int L = h->L;
    size_t lw = 1, nw = 1;
    for (int i = 0; i < L; i++) {
        size_t c = rt_chart_buf_text(NULL, label(h, i), LAB_MAXCP);
        lw = c > lw ? c : lw;
        if (h->next) {
            c = rt_chart_buf_text(NULL, h->next[i] ? h->next[i] : "?", LAB_MAXCP);
            nw = c > nw ? c : nw;
        }
    }
    rt_strbuf sb, *b = &sb;
    rt_strbuf_init(b);
    if (h->title) rt_chart_buf_text(b, h->title, 200), rt_strbuf_putc(b, '\n');
    if (h->subtitle && h->subtitle[0])
        rt_chart_buf_text(b, h->subtitle, 200), rt_strbuf_putc(b, '\n');
    rt_strbuf_puts(
        b,
        "rows: query (\xe2\x86\x92 the next token, what its output predicts); grid: keys left to "
        "right, \xc2\xb7 <0.1 \xe2\x96\x91 <0.3 \xe2\x96\x92 <0.5 \xe2\x96\x93 "
        "<0.75 \xe2\x96\x88 \xe2\x89\xa5"
        "0.75; top: the key attended to most\n");
    for (int l = 0; l < h->layers; l++)
        for (int hd = 0; hd < h->heads; hd++) {
            rt_strbuf_printf(b, "\nlayer %d \xc2\xb7 head %d\n", l + 1, hd + 1);
            for (int i = 0; i < L; i++) {
                rt_strbuf_puts(b, "  ");
                pad(b, label(h, i), lw);
                if (h->next) {
                    rt_strbuf_puts(b, " \xe2\x86\x92 ");
                    pad(b, h->next[i] ? h->next[i] : "?", nw);
                }
                rt_strbuf_puts(b, "  \xe2\x94\x82");
                int top = 0;
                for (int j = 0; j < L; j++) {
                    if (j > i) {
                        rt_strbuf_putc(b, ' ');
                        continue;
                    }
                    double v = val(h, l, hd, i, j);
                    if (v > val(h, l, hd, i, top)) top = j;
                    rt_strbuf_puts(b, shade(v));
                }
                char p[16];
                fmt_p(p, sizeof p, val(h, l, hd, i, top));
                rt_strbuf_puts(b, "\xe2\x94\x82  top ");
                pad(b, label(h, top), lw);
                rt_strbuf_printf(b, " %s\n", p);
            }
        }
    *out = rt_strbuf_take(b, len);
    return *out ? RT_OK : RT_ENOMEM;
}
