/* render_test.c: the three chart renderers (rt_chart.h): exact SVG path text for gaps,
 * isolated points and bands; escaping of names in every format; exact text output;
 * Vega-Lite shape (null for NaN, hconcat/concat, log scale); byte-identical output;
 * bounded size for 8 x 100,000 points; empty and all-NaN input; bad arguments;
 * allocation failure at every allocation (clean error, nothing leaked under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt_alloc.h"
#include "rt_chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *svg_of(const rt_chart *c)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(rt_chart_svg(c, &out, &len), RT_OK);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static char *vl_of(const rt_chart *c)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(rt_chart_vegalite(c, &out, &len), RT_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

static char *text_of(const rt_chart *c)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(rt_chart_text(c, &out, &len), RT_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

static void assert_contains(const char *hay, const char *needle)
{
    assert_non_null(hay);
    if (!strstr(hay, needle)) {
        print_error("missing: %s\n--- in ---\n%.3000s\n", needle, hay ? hay : "(null)");
        fail();
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Default geometry: plot area x 56..340, y 28 (top)..200 (bottom). */
static void test_svg_gap_path(void **state)
{
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {0, 1, NAN, 1, 0};
    rt_chart_series s = {"run", x, y, NULL, NULL, 5, 0};
    rt_chart_panel p = {.series = &s, .nseries = 1};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c);
    assert_contains(svg, "<path d=\"M56,200L127,28M269,28L340,200\" fill=\"none\" "
                         "stroke=\"#4c78a8\"");
    /* +inf and -inf are gaps too */
    y[2] = INFINITY;
    char *svg2 = svg_of(&c);
    assert_string_equal(svg, svg2);
    y[2] = -INFINITY;
    char *svg3 = svg_of(&c);
    assert_string_equal(svg, svg3);
    /* the grid and tick labels of the nice domains 0..4 and 0..1 */
    assert_contains(svg, "<text x=\"127\" y=\"214\">1</text>");
    assert_contains(svg, "<text x=\"51\" y=\"100.8\">0.6</text>");
    assert_contains(svg, "<text x=\"198\" y=\"232\">step</text>");
    rt_free(svg), rt_free(svg2), rt_free(svg3);
}

static void test_svg_isolated_point_and_band(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {NAN, 1, NAN};
    rt_chart_series s = {"dot", x, y, NULL, NULL, 3, 0};
    rt_chart_panel p = {.series = &s, .nseries = 1};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c); /* domains widen around the single point: it sits mid-plot */
    assert_contains(svg, "<path d=\"M198,114h0\"");
    rt_free(svg);

    double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1}, m[3] = {0.5, 0.5, 0.5};
    rt_chart_series b = {"band", x, m, lo, hi, 3, 0};
    p.series = &b;
    svg = svg_of(&c);
    assert_contains(svg, "<path d=\"M56,200L198,200 340,200 340,28 198,28 56,28Z\" "
                         "fill=\"#4c78a8\" fill-opacity=\"0.2\"/>");
    assert_contains(svg, "<path d=\"M56,114L198,114 340,114\"");
    /* a band with a hole: two closed subpaths */
    hi[1] = NAN;
    rt_free(svg);
    svg = svg_of(&c);
    assert_contains(svg, "<path d=\"M56,200L56,28ZM340,200L340,28Z\"");
    rt_free(svg);
}

static void test_svg_layout(void **state)
{
    (void)state;
    double x[3] = {0, 10, 20}, y[3] = {0.5, 0.2, 0.1};
    rt_chart_series s[2] = {{"a", x, y, NULL, NULL, 3, 0}, {NULL, x, y, NULL, NULL, 3, 0}};
    rt_chart_ref teacher = {0.4, "teacher"};
    rt_chart_panel p[3] = {
        {.title = "kl", .ylabel = "kl_teacher", .logy = 1, .series = s, .nseries = 2},
        {.title = "accuracy", .series = s, .nseries = 1, .refs = &teacher, .nrefs = 1},
        {.title = "empty"}};
    rt_chart c = {.title = "sweep", .panels = p, .npanels = 3, .columns = 2};
    char *svg = svg_of(&c);
    /* title 26 + 2 rows of 240, the first taller by one legend row (16 + 6) */
    assert_contains(svg, "width=\"720\" height=\"528\" viewBox=\"0 0 720 528\"");
    assert_contains(svg, ">sweep</text>");
    assert_contains(svg, ">series 2</text>"); /* unnamed series */
    /* log axis: one decade 0.1..1 with 1-2-5 ticks */
    assert_contains(svg, ">0.1</text>");
    assert_contains(svg, ">0.2</text>");
    assert_contains(svg, ">0.5</text>");
    assert_contains(svg, "transform=\"translate(13,140) rotate(-90)\">kl_teacher</text>");
    /* the reference line is dashed and labelled */
    assert_contains(svg, "stroke=\"#555\" stroke-dasharray=\"4 3\"/>");
    assert_contains(svg, "fill=\"#555\">teacher</text>");
    assert_contains(svg, ">no data</text>");
    assert_int_equal(count(svg, "<svg"), 1);
    assert_contains(svg, "</svg>\n");
    rt_free(svg);
}

static void test_escaping_all_formats(void **state)
{
    (void)state;
    double x[2] = {0, 1}, y[2] = {1, 2};
    rt_chart_series s[2] = {{"a<b&\"c\"", x, y, NULL, NULL, 2, 0}, {"ok", x, y, NULL, NULL, 2, 0}};
    rt_chart_panel p = {
        .title = "t<&\"", .xlabel = "x&y", .ylabel = "<y>", .series = s, .nseries = 2};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c), *vl = vl_of(&c), *txt = text_of(&c);
    assert_contains(svg, ">a&lt;b&amp;&quot;c&quot;</text>");
    assert_contains(svg, ">t&lt;&amp;&quot;</text>");
    assert_contains(svg, ">x&amp;y</text>");
    assert_contains(svg, ">&lt;y&gt;</text>");
    assert_null(strstr(svg, "a<b"));
    assert_null(strstr(svg, "&\""));
    assert_contains(vl, "\"domain\":[\"a<b&\\\"c\\\"\",\"ok\"]");
    /* the name as the series field of the panel's data rows */
    assert_contains(vl, "{\"series\":\"a<b&\\\"c\\\"\",\"x\":0,\"y\":1}");
    assert_contains(vl, "\"title\":\"t<&\\\"\"");
    assert_contains(txt, "  a<b&\"c\"  ");
    rt_free(svg), rt_free(vl), rt_free(txt);
}

static void test_text_exact(void **state)
{
    (void)state;
    double x[3] = {0, 100, 200}, y[3] = {0.1, 0.5, 0.812};
    double lo[3] = {0.05, 0.45, 0.802}, hi[3] = {0.15, 0.55, 0.822};
    double g[4] = {3, NAN, 1, 2};
    rt_chart_series s[3] = {{"run1", x, y, lo, hi, 3, 0},
                            {"gappy", (double[]){0, 1, 2, 3}, g, NULL, NULL, 4, 0},
                            {"none", x, (double[]){NAN, NAN, NAN}, NULL, NULL, 3, 0}};
    rt_chart_ref r = {0.9, "teacher"};
    rt_chart_panel p[2] = {{.title = "reward", .series = s, .nseries = 3, .refs = &r, .nrefs = 1},
                           {.ylabel = "loss", .xlabel = "tokens", .series = s, .nseries = 1}};
    rt_chart c = {.panels = p, .npanels = 2};
    char *txt = text_of(&c);
    assert_string_equal(txt, "reward\n"
                             "  run1     \u2581\u2585\u2588   0.812 \u00b1 0.01 (step 200)\n"
                             "  gappy    \u2588 \u2581\u2585  2 (step 3)\n"
                             "  none           (no data)\n"
                             "  teacher  \u254c\u254c\u254c\u254c  0.9 (reference)\n"
                             "loss\n"
                             "  run1  \u2581\u2585\u2588   0.812 \u00b1 0.01 (tokens 200)\n");
    rt_free(txt);
    rt_chart empty = {0};
    txt = text_of(&empty);
    assert_string_equal(txt, "(no data)\n");
    rt_free(txt);
}

static void test_vegalite_shape(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {1, NAN, 2.5}, lo[3] = {0.5, 0.5, 2}, hi[3] = {1.5, 1.5, 3};
    rt_chart_series s = {"r", x, y, lo, hi, 3, 0};
    rt_chart_ref ref = {0.25, "teacher"};
    rt_chart_panel p[2] = {
        {.title = "reward", .series = &s, .nseries = 1},
        {.title = "kl", .logy = 1, .series = &s, .nseries = 1, .refs = &ref, .nrefs = 1}};
    rt_chart c = {.panels = p, .npanels = 1};
    char *vl = vl_of(&c);
    const char *head = "{\"$schema\":\"https://vega.github.io/schema/vega-lite/v5.json\","
                       "\"title\":\"reward\",\"width\":280,\"height\":170,\"data\":{\"values\":[";
    assert_true(strncmp(vl, head, strlen(head)) == 0);
    assert_contains(vl, "\"values\":[{\"series\":\"r\",\"x\":0,\"y\":1,\"lo\":0.5,\"hi\":1.5},"
                        "{\"series\":\"r\",\"x\":1,\"y\":null,\"lo\":0.5,\"hi\":1.5},"
                        "{\"series\":\"r\",\"x\":2,\"y\":2.5,\"lo\":2,\"hi\":3}]}");
    assert_contains(vl, "{\"mark\":{\"type\":\"area\",\"opacity\":0.2}");
    assert_contains(vl, "\"y2\":{\"field\":\"hi\"}");
    assert_contains(vl, "\"legend\":null"); /* one series: no legend */
    assert_null(strstr(vl, "hconcat"));
    rt_free(vl);

    c.npanels = 2;
    vl = vl_of(&c);
    assert_contains(vl, "\"hconcat\":[{\"title\":\"reward\"");
    assert_contains(vl, "\"scale\":{\"type\":\"log\"}");
    assert_contains(vl, "{\"y\":0.25,\"label\":\"teacher\"}");
    assert_contains(vl, "\"type\":\"rule\"");
    assert_contains(vl, "\"resolve\":{\"scale\":{\"color\":\"shared\"},"
                        "\"legend\":{\"color\":\"shared\"}}");
    assert_int_equal(count(vl, "$schema"), 1);
    rt_free(vl);

    c.columns = 1;
    vl = vl_of(&c);
    assert_contains(vl, "\"columns\":1,\"concat\":[");
    rt_free(vl);
}

/* Rows of Vega-Lite data.values. */
static size_t rows(const char *vl)
{
    return count(vl, "{\"series\":");
}

static void fill_big(double *x, double *y, double *lo, double *hi, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = sin((double)i * 0.0007 * (seed + 1)) + 0.01 * (double)((i * 2654435761u) % 97);
        lo[i] = y[i] - 0.1;
        hi[i] = y[i] + 0.1;
    }
    y[n / 3] = NAN;
}

static void test_size_bounds_and_determinism(void **state)
{
    (void)state;
    enum { NS = 8, N = 100000 };
    double *mem = malloc(sizeof(double) * 4 * NS * N);
    assert_non_null(mem);
    rt_chart_series s[NS];
    char names[NS][32];
    for (int j = 0; j < NS; j++) {
        double *b = mem + (size_t)4 * N * j;
        fill_big(b, b + N, b + 2 * N, b + 3 * N, N, j);
        snprintf(names[j], sizeof names[j], "sweep[lambda=%d]", j);
        s[j] = (rt_chart_series){names[j], b, b + N, b + 2 * N, b + 3 * N, N, 0};
    }
    rt_chart_panel p = {.title = "reward", .series = s, .nseries = NS, .smooth = 0.9};
    rt_chart c = {.panels = &p, .npanels = 1};
    rt_chart_bundle a, b;
    assert_int_equal(rt_chart_render(&c, &a), RT_OK);
    assert_int_equal(rt_chart_render(&c, &b), RT_OK);
    assert_true(a.svg_len < 100000 && a.vegalite_len < 150000);
    assert_true(a.svg_len + a.vegalite_len + a.text_len < 200000); /* one display message */
    assert_int_equal(a.svg_len, b.svg_len);
    assert_memory_equal(a.svg, b.svg, a.svg_len);
    assert_int_equal(a.vegalite_len, b.vegalite_len);
    assert_memory_equal(a.vegalite, b.vegalite, a.vegalite_len);
    assert_string_equal(a.text, b.text);
    /* the bundle equals the single renderers */
    char *svg = svg_of(&c), *vl = vl_of(&c), *txt = text_of(&c);
    assert_string_equal(svg, a.svg);
    assert_string_equal(vl, a.vegalite);
    assert_string_equal(txt, a.text);
    rt_free(svg), rt_free(vl), rt_free(txt);
    /* 8 banded series share the 2,400-point budget: 150 points each at most (smoothing
       does not change the points: the faint raw line is drawn through the same ones) */
    assert_true(rows(a.vegalite) <= (size_t)NS * 150);
    assert_true(rows(a.vegalite) >= (size_t)NS * 120);
    rt_chart_bundle_free(&a);
    rt_chart_bundle_free(&b);
    assert_null(a.svg);

    /* one unbanded series keeps max_points */
    s[0].lo = s[0].hi = NULL;
    p.nseries = 1;
    c.max_points = 100;
    vl = vl_of(&c);
    size_t k = rows(vl);
    assert_true(k <= 100 && k >= 80);
    assert_contains(vl, ",\"x\":99999,"); /* the last point is kept exactly */
    rt_free(vl);
    free(mem);
}

static void test_empty_and_nan_inputs(void **state)
{
    (void)state;
    double nan3[3] = {NAN, NAN, NAN}, x[3] = {0, 1, 2};
    rt_chart_series s[3] = {{"nan", x, nan3, nan3, nan3, 3, 0},
                            {"empty", NULL, NULL, NULL, NULL, 0, 0},
                            {"nanx", nan3, x, NULL, NULL, 3, 0}};
    rt_chart_ref bad[2] = {{NAN, "nan ref"}, {-1, NULL}};
    rt_chart_panel p[3] = {{.series = s, .nseries = 3, .refs = bad, .nrefs = 2, .logy = 1},
                           {.title = NULL},
                           {.series = s, .nseries = 3, .smooth = 0.5}};
    rt_chart cs[3] = {{.panels = p, .npanels = 3}, {0}, {.panels = p + 1, .npanels = 1}};
    for (int i = 0; i < 3; i++) {
        rt_chart_bundle b;
        assert_int_equal(rt_chart_render(&cs[i], &b), RT_OK);
        assert_contains(b.svg, "no data");
        assert_contains(b.vegalite, "\"layer\":[");
        assert_non_null(b.text);
        rt_chart_bundle_free(&b);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    double x[2] = {0, 1};
    rt_chart_series s = {"y missing", x, NULL, NULL, NULL, 2, 0};
    rt_chart_panel p = {.series = &s, .nseries = 1};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *out = (char *)1;
    size_t len = 7;
    assert_int_equal(rt_chart_svg(&c, &out, &len), RT_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(rt_chart_vegalite(NULL, &out, NULL), RT_EINVAL);
    assert_int_equal(rt_chart_text(&c, NULL, NULL), RT_EINVAL);
    rt_chart_panel nos = {.nseries = 2};
    rt_chart c2 = {.panels = &nos, .npanels = 1};
    rt_chart_bundle b;
    assert_int_equal(rt_chart_render(&c2, &b), RT_EINVAL);
    assert_null(b.svg);
    rt_chart c3 = {.npanels = 1};
    assert_int_equal(rt_chart_render(&c3, &b), RT_EINVAL);
    assert_int_equal(rt_chart_render(&c, NULL), RT_EINVAL);
}

/* Fails the 1st, 2nd, ... allocation until a render succeeds: each failure must be a
 * clean RT_ENOMEM with nothing returned (ASan's leak check covers the rest). */
static void test_allocation_failures(void **state)
{
    (void)state;
    enum { N = 3000 };
    static double x[N], y[N], lo[N], hi[N];
    for (size_t i = 0; i < N; i++)
        x[i] = (double)i, y[i] = cos((double)i * 0.01), lo[i] = y[i] - 0.1, hi[i] = y[i] + 0.1;
    rt_chart_series s[2] = {{"a", x, y, lo, hi, N, 0}, {"b", x, y, NULL, NULL, N, 0}};
    rt_chart_ref r = {0.5, "teacher"};
    rt_chart_panel p[2] = {{.title = "one", .series = s, .nseries = 2, .smooth = 0.8},
                           {.title = "two", .series = s, .nseries = 1, .refs = &r, .nrefs = 1}};
    rt_chart c = {.title = "all", .panels = p, .npanels = 2};
    int failures = 0;
    for (long n = 1;; n++) {
        rt_chart_bundle b;
        rt_alloc_fail_at(n);
        int rc = rt_chart_render(&c, &b);
        rt_alloc_fail_at(0);
        if (rc == RT_OK) {
            rt_chart_bundle_free(&b);
            break;
        }
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(b.svg);
        assert_null(b.vegalite);
        assert_null(b.text);
        failures++;
        assert_true(n < 1000);
    }
    assert_true(failures >= 5); /* prepare, buffer growth of each format */
    int (*fns[3])(const rt_chart *, char **, size_t *) = {rt_chart_svg, rt_chart_vegalite,
                                                          rt_chart_text};
    for (int f = 0; f < 3; f++) {
        for (long n = 1;; n++) {
            char *out = (char *)1;
            rt_alloc_fail_at(n);
            int rc = fns[f](&c, &out, NULL);
            rt_alloc_fail_at(0);
            if (rc == RT_OK) {
                rt_free(out);
                break;
            }
            assert_int_equal(rc, RT_ENOMEM);
            assert_null(out);
            assert_true(n < 1000);
        }
    }
}

static void test_mean_band(void **state)
{
    (void)state;
    double a[4] = {1, 2, NAN, 4}, b[4] = {3, 2, 5, 0}, c[2] = {5, 8};
    const double *ys[3] = {a, b, c};
    size_t lens[3] = {4, 4, 2};
    double m[4], lo[4], hi[4];
    rt_chart_mean_band(ys, lens, 3, 4, 1, m, lo, hi);
    /* i=0: {1,3,5} mean 3, sd 2; i=1: {2,2,8} mean 4, sd sqrt(12); i=2: {5}; i=3: {4,0} */
    assert_true(m[0] == 3 && lo[0] == 1 && hi[0] == 5);
    assert_true(m[1] == 4 && lo[1] == 4 - sqrt(12) && hi[1] == 4 + sqrt(12));
    assert_true(m[2] == 5 && lo[2] == 5 && hi[2] == 5);
    assert_true(m[3] == 2 && lo[3] == 2 - sqrt(8) && hi[3] == 2 + sqrt(8));
    rt_chart_mean_band(ys, NULL, 2, 4, 2, m, NULL, NULL);
    assert_true(m[0] == 2 && m[2] == 5 && m[3] == 2);
    double nan2[2] = {NAN, NAN};
    const double *only[1] = {nan2};
    rt_chart_mean_band(only, NULL, 1, 2, 1, m, lo, hi);
    assert_true(isnan(m[0]) && isnan(lo[1]) && isnan(hi[1]));
}

/* The SVG's width attribute. */
static double svg_width(const char *svg)
{
    const char *w = strstr(svg, "width=\"");
    assert_non_null(w);
    return atof(w + 7);
}

/* Sum of the Vega-Lite panel widths of one grid row plus AXES (80 px) each: what the
 * spec takes with its y axes and the concat spacing. */
static double vl_row_width(const char *vl, size_t cols)
{
    const char *w = strstr(vl, "\"width\":");
    assert_non_null(w);
    return (atof(w + 8) + 80) * (double)cols;
}

/* Issue 13 item 2: any panel count fits 940 px; beyond 3 panels the grid wraps. */
static void test_width_fits(void **state)
{
    (void)state;
    double x[3] = {0, 100, 200}, y[3] = {0.1, 0.5, 0.8};
    rt_chart_series s[2] = {{"a", x, y, NULL, NULL, 3, 0}, {"b", x, y, NULL, NULL, 3, 0}};
    rt_chart_panel p[6];
    for (int i = 0; i < 6; i++)
        p[i] = (rt_chart_panel){.title = "accuracy", .series = s, .nseries = 2};
    static const struct {
        size_t np;
        int columns;
        size_t cols;
        double svg_w;
    } cases[] = {{1, 0, 1, 360}, {2, 0, 2, 720}, {3, 0, 3, 939}, {4, 2, 2, 720},
                 {4, 0, 3, 939}, {6, 3, 3, 939}, {6, 6, 5, 940}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_chart c = {
            .title = "t", .panels = p, .npanels = cases[i].np, .columns = cases[i].columns};
        char *svg = svg_of(&c), *vl = vl_of(&c);
        assert_true(svg_width(svg) == cases[i].svg_w);
        assert_true(svg_width(svg) <= RT_CHART_MAX_WIDTH);
        assert_true(vl_row_width(vl, cases[i].cols) <= RT_CHART_MAX_WIDTH);
        if (cases[i].cols < cases[i].np) {
            char cols[64];
            snprintf(cols, sizeof cols, "\"columns\":%zu,\"concat\":[", cases[i].cols);
            assert_contains(vl, cols);
        }
        rt_free(svg), rt_free(vl);
    }
    /* an explicit panel width is shrunk to fit */
    rt_chart wide = {.panels = p, .npanels = 3, .panel_width = 500};
    char *svg = svg_of(&wide);
    assert_true(svg_width(svg) == 939);
    rt_free(svg);
}

/* One legend per chart: each name once, under the panels; one colour per name. */
static void test_shared_legend(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, y[3] = {0.1, 0.5, 0.8};
    rt_chart_series s[2] = {{"λ=0.5", x, y, NULL, NULL, 3, 0},
                            {"λ=1.25 · full", x, y, NULL, NULL, 3, 0}};
    rt_chart_series t[1] = {{"λ=1.25 · full", x, y, NULL, NULL, 3, 0}};
    rt_chart_panel p[3] = {{.title = "accuracy", .series = s, .nseries = 2},
                           {.title = "kl_teacher", .series = s, .nseries = 2},
                           {.title = "kl_ref", .series = t, .nseries = 1}};
    rt_chart c = {.panels = p, .npanels = 3};
    char *svg = svg_of(&c), *vl = vl_of(&c);
    assert_int_equal(count(svg, ">λ=0.5</text>"), 1);
    assert_int_equal(count(svg, ">λ=1.25 · full</text>"), 1);
    /* the third panel's only series has the second colour, as in the others */
    assert_int_equal(count(svg, "stroke=\"#f58518\" stroke-width=\"1.5\""), 3);
    /* each panel names the same legend, merged by the resolve (the 4th "legend":{) */
    assert_int_equal(count(vl, "\"legend\":{"), 3 + 1);
    assert_contains(vl, "\"resolve\":{\"scale\":{\"color\":\"shared\"},"
                        "\"legend\":{\"color\":\"shared\"}}");
    assert_int_equal(count(vl, "\"orient\":\"bottom\""), 3);
    assert_int_equal(count(vl, "\"domain\":[\"λ=0.5\",\"λ=1.25 · full\"]"), 3);
    assert_null(strstr(vl, "calculate"));
    assert_int_equal(count(vl, "\"data\":{\"values\":[{\"series\""), 3); /* one per panel */
    assert_contains(vl, "\"tooltip\":[{\"field\":\"series\"");
    assert_null(strstr(svg, "\xe2\x80\xa6")); /* nothing cut */
    rt_free(svg), rt_free(vl);
    /* one name in the whole chart: no legend */
    p[0].series = p[1].series = t, p[0].nseries = p[1].nseries = 1;
    svg = svg_of(&c), vl = vl_of(&c);
    assert_int_equal(count(svg, ">λ=1.25 · full</text>"), 0);
    assert_contains(vl, "\"legend\":null");
    rt_free(svg), rt_free(vl);
}

/* Titles are cut only when they do not fit the chart's width. */
static void test_titles_not_cut(void **state)
{
    (void)state;
    double x[2] = {0, 1}, y[2] = {0, 1};
    rt_chart_series s = {"r", x, y, NULL, NULL, 2, 0};
    rt_chart_panel p[3] = {{.title = "accuracy", .series = &s, .nseries = 1},
                           {.title = "kl_teacher (reverse KL)", .series = &s, .nseries = 1},
                           {.title = "kl_ref", .series = &s, .nseries = 1}};
    const char *title =
        "%%rl algos: grpo vs rloo vs ppo on arith, reward exact, from sft, 3 seeds each";
    rt_chart c = {.title = title, .panels = p, .npanels = 3};
    char *svg = svg_of(&c);
    char want[200];
    snprintf(want, sizeof want, ">%s</text>", title);
    assert_contains(svg, want);
    assert_contains(svg, ">kl_teacher (reverse KL)</text>");
    rt_free(svg);
}

/* Smoothing (debiased EMA) draws the raw line faint behind the smoothed one; the
 * Vega-Lite rows carry y (raw) and smooth. */
static void test_smoothing_raw_behind(void **state)
{
    (void)state;
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 0, 1};
    rt_chart_series s = {"r", x, y, NULL, NULL, 4, 0};
    rt_chart_panel p = {.series = &s, .nseries = 1, .smooth = 0.5};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c), *vl = vl_of(&c);
    assert_int_equal(count(svg, "stroke-opacity=\"0.25\""), 1);
    assert_int_equal(count(svg, "stroke-width=\"1.5\" stroke-linejoin"), 1);
    /* debiased: 0, 1/1.5 = 0.6667 (not 0.5), 0.2857, 0.6667 (4 digits: drawn values) */
    assert_contains(vl, "{\"series\":\"r\",\"x\":0,\"y\":0,\"smooth\":0}");
    assert_contains(vl, "{\"series\":\"r\",\"x\":1,\"y\":1,\"smooth\":0.6667}");
    assert_contains(vl, "\"field\":\"smooth\"");
    rt_free(svg), rt_free(vl);
    /* with a band: the rows keep the raw band (lo, hi) and carry the drawn one (slo, shi) */
    double lo[4] = {-1, 0, -1, 0}, hi[4] = {1, 2, 1, 2};
    s.lo = lo, s.hi = hi;
    vl = vl_of(&c);
    assert_contains(vl, "{\"series\":\"r\",\"x\":1,\"y\":1,\"lo\":0,\"hi\":2,"
                        "\"smooth\":0.6667,\"slo\":-0.3333,\"shi\":1.667}");
    assert_contains(vl, "\"y\":{\"field\":\"slo\"");
    assert_contains(vl, "\"y2\":{\"field\":\"shi\"}");
    assert_null(strstr(vl, "\"y2\":{\"field\":\"hi\"}"));
    s.lo = s.hi = NULL;
    rt_free(vl);
    p.smooth = 0; /* off: no raw line, no smooth field */
    svg = svg_of(&c), vl = vl_of(&c);
    assert_null(strstr(svg, "stroke-opacity"));
    assert_null(strstr(vl, "smooth"));
    rt_free(svg), rt_free(vl);
}

/* Ranges: a KL band's float noise below 0 and an accuracy band above 1 are clamped;
 * yzero puts 0 on the axis. */
static void test_ranges(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, m[3] = {0.3, 0.4, 0.5}, lo[3] = {-2.2e-9, 0.35, 0.45},
           hi[3] = {0.6, 0.45, 0.55};
    rt_chart_series kl = {"a", x, m, lo, hi, 3, 0};
    rt_chart_panel p = {
        .title = "kl_ref", .series = &kl, .nseries = 1, .ymin = 0, .ymax = INFINITY, .yzero = 1};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c), *vl = vl_of(&c), *txt;
    assert_null(strstr(svg, ">-"));                            /* no negative tick */
    assert_contains(svg, "<text x=\"51\" y=\"204\">0</text>"); /* 0 at the bottom */
    assert_contains(vl, "\"lo\":0,");
    assert_null(strstr(vl, "e-09"));
    assert_contains(vl, "\"scale\":{\"zero\":true}");
    rt_free(svg), rt_free(vl);
    /* a KL well above 0 still starts at 0 */
    double far[3] = {0.5, 0.6, 0.7};
    rt_chart_series k2 = {"a", x, far, NULL, NULL, 3, 0};
    p.series = &k2;
    svg = svg_of(&c);
    assert_contains(svg, "<text x=\"51\" y=\"204\">0</text>");
    rt_free(svg);
    /* accuracy: the band stops at 1 and the axis does not pass it */
    double am[3] = {0.9, 0.95, 0.97}, alo[3] = {0.8, 0.85, 0.9}, ahi[3] = {1.1, 1.2, 1.04};
    rt_chart_series acc = {"a", x, am, alo, ahi, 3, 0};
    rt_chart_panel q = {.title = "accuracy", .series = &acc, .nseries = 1, .ymin = 0, .ymax = 1};
    c.panels = &q;
    svg = svg_of(&c), vl = vl_of(&c), txt = text_of(&c);
    assert_null(strstr(svg, ">1.2<"));
    assert_null(strstr(svg, ">1.1<"));
    assert_contains(svg, ">1</text>");
    assert_null(strstr(vl, "1.2"));
    assert_contains(vl, "\"hi\":1}");
    rt_free(svg), rt_free(vl), rt_free(txt);
}

/* RT_CHART_DOTS: a dot per point, error bars from lo/hi, no line, no band; the text
 * lists the points.  RT_CHART_LINE_DOTS: a line and dots. */
static void test_points_mode(void **state)
{
    (void)state;
    double kx[3] = {0.5, 1, 2}, mean[3] = {0.61, 0.63, 0.55}, lo[3] = {0.59, 0.62, 0.5},
           hi[3] = {0.63, 0.64, 0.6};
    double sx[6] = {0.5, 0.5, 1, 1, 2, 2}, sy[6] = {0.6, 0.62, 0.62, 0.64, 0.52, 0.58};
    rt_chart_series s[2] = {{"per seed", sx, sy, NULL, NULL, 6, RT_CHART_DOTS},
                            {"mean ± sd", kx, mean, lo, hi, 3, RT_CHART_DOTS}};
    rt_chart_panel p = {
        .title = "eval_accuracy", .xlabel = "lambda", .series = s, .nseries = 2, .smooth = 0.6};
    rt_chart c = {.panels = &p, .npanels = 1};
    char *svg = svg_of(&c), *vl = vl_of(&c), *txt = text_of(&c);
    /* dots: zero-length round-capped subpaths (2 series, and their 2 legend symbols);
       error bars with caps; no line nor band */
    assert_int_equal(count(svg, "stroke-linecap=\"round\"/>"), 2 + 2);
    assert_int_equal(count(svg, "stroke-width=\"6\""), 2 + 2);
    assert_null(strstr(svg, "h14\"")); /* no line segment in the legend */
    assert_int_equal(count(svg, "h0M"), 5 + 2); /* 6 and 3 dots */
    assert_contains(svg, "h6M");
    assert_null(strstr(svg, "fill-opacity"));
    assert_null(strstr(svg, "stroke-opacity")); /* dots are never smoothed */
    assert_null(strstr(svg, "stroke-linejoin"));
    assert_contains(vl, "{\"type\":\"point\",\"filled\":true");
    assert_contains(vl, "{\"type\":\"rule\",\"strokeWidth\":1.5}");
    assert_contains(vl, "\"filter\":{\"field\":\"series\",\"oneOf\":[\"mean ± sd\"]}");
    assert_null(strstr(vl, "\"area\""));
    assert_null(strstr(vl, "\"line\""));
    assert_contains(txt, "  mean ± sd  0.5: 0.61 ± 0.02, 1: 0.63 ± 0.01, 2: 0.55 ± 0.05\n");
    assert_contains(txt, "  per seed   0.5: 0.6, 0.5: 0.62, 1: 0.62");
    rt_free(svg), rt_free(vl), rt_free(txt);

    s[1].points = RT_CHART_LINE_DOTS;
    p.smooth = 0;
    svg = svg_of(&c), vl = vl_of(&c);
    assert_contains(svg, "fill-opacity=\"0.2\""); /* a line with its band, and dots */
    assert_contains(svg, "stroke-width=\"4.5\"");
    assert_contains(vl, "\"oneOf\":[\"mean ± sd\"]}}],\"mark\":{\"type\":\"line\"");
    rt_free(svg), rt_free(vl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_gap_path),
        cmocka_unit_test(test_svg_isolated_point_and_band),
        cmocka_unit_test(test_svg_layout),
        cmocka_unit_test(test_escaping_all_formats),
        cmocka_unit_test(test_text_exact),
        cmocka_unit_test(test_vegalite_shape),
        cmocka_unit_test(test_size_bounds_and_determinism),
        cmocka_unit_test(test_empty_and_nan_inputs),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_mean_band),
        cmocka_unit_test(test_width_fits),
        cmocka_unit_test(test_shared_legend),
        cmocka_unit_test(test_titles_not_cut),
        cmocka_unit_test(test_smoothing_raw_behind),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_points_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
