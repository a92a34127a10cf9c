/* heat_test.c: attention heat maps (rt_chart_heat.h): the SVG has one titled panel per
 * (layer, head) with L (L + 1) / 2 cells (none above the diagonal), each filled by the
 * scale's colour of its value with a "q → k: p" tooltip, the legend, XML-escaped labels
 * and the same bytes on every call; the scale's end points and clamping; the text twin
 * lists every head with one row per query, its shaded grid, "→ next" and the top key;
 * bad arguments are RT_EINVAL with *out NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt_alloc.h"
#include "rt_chart_heat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { NL = 2, NH = 3, L = 4 };

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* causal rows: row i puts 1 - i/10 on key (l + h + i) mod (i + 1), 0.1 on the others */
static void fill(float *v)
{
    for (int l = 0; l < NL; l++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < L; i++)
                for (int j = 0; j < L; j++) {
                    int top = (l + h + i) % (i + 1);
                    float *x = &v[((l * NH + h) * L + i) * L + j];
                    *x = j > i ? 0.0f : j == top ? 1.0f - 0.1f * (float)i : 0.1f;
                }
}

static const char *const labels[L] = {"\xe2\x9f\xa8"
                                      "bos\xe2\x9f\xa9",
                                      "<a>", "1", "&"};
static const char *const next[L] = {"<a>", "1", "&", "="};

static void svg_panels_cells_and_bytes(void **state)
{
    (void)state;
    float v[NL * NH * L * L];
    fill(v);
    rt_chart_heat h = {.title = "attention of g",
                       .subtitle = "greedy",
                       .layers = NL,
                       .heads = NH,
                       .L = L,
                       .values = v,
                       .labels = labels,
                       .next = next};
    char *a = NULL, *b = NULL;
    size_t n = 0;
    assert_int_equal(rt_chart_heat_svg(&h, &a, &n), 0);
    assert_int_equal(strlen(a), n);
    assert_int_equal(rt_chart_heat_svg(&h, &b, NULL), 0);
    assert_string_equal(a, b); /* deterministic */
    assert_true(strncmp(a, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    for (int l = 1; l <= NL; l++)
        for (int hd = 1; hd <= NH; hd++) {
            char t[64];
            snprintf(t, sizeof t, ">layer %d \xc2\xb7 head %d</text>", l, hd);
            assert_int_equal(count(a, t), 1);
        }
    assert_int_equal(count(a, "<title>"), NL * NH * L * (L + 1) / 2);
    assert_int_equal(count(a, "</rect>"), NL * NH * L * (L + 1) / 2);
    assert_int_equal(count(a, ">attention probability</text>"), 1);
    /* labels escaped; a cell's colour and tooltip: row 0 of every panel is [1] */
    assert_int_equal(count(a, ">&lt;a&gt;</text>"), NL * NH * 2); /* query and key label */
    assert_non_null(strstr(a, ">&amp;</text>"));
    assert_int_equal(count(a, "fill=\"#08306b\"><title>\xe2\x9f\xa8"
                              "bos\xe2\x9f\xa9 \xe2\x86\x92 "
                              "\xe2\x9f\xa8"
                              "bos\xe2\x9f\xa9: 1.00</title>"),
                     NL * NH);
    assert_null(strstr(a, "nan"));
    assert_string_equal(a + n - 7, "</svg>\n");
    rt_free(a);
    rt_free(b);
}

static void scale(void **state)
{
    (void)state;
    char c[8];
    rt_chart_heat_color(0, c);
    assert_string_equal(c, "#f7fbff");
    rt_chart_heat_color(1, c);
    assert_string_equal(c, "#08306b");
    rt_chart_heat_color(0.5, c);
    assert_string_equal(c, "#6baed6"); /* stop 4 of 8 */
    rt_chart_heat_color(-3, c);
    assert_string_equal(c, "#f7fbff");
    rt_chart_heat_color(7, c);
    assert_string_equal(c, "#08306b");
    rt_chart_heat_color(NAN, c);
    assert_string_equal(c, "#f7fbff");
    /* darker as v grows: the red channel never rises */
    int last = 256;
    for (int k = 0; k <= 100; k++) {
        rt_chart_heat_color(k / 100.0, c);
        int r = 0;
        sscanf(c + 1, "%2x", &r);
        assert_true(r <= last);
        last = r;
    }
}

static void text_twin(void **state)
{
    (void)state;
    float v[NL * NH * L * L];
    fill(v);
    rt_chart_heat h = {.title = "attention of g",
                       .layers = NL,
                       .heads = NH,
                       .L = L,
                       .values = v,
                       .labels = labels,
                       .next = next};
    char *t = NULL;
    assert_int_equal(rt_chart_heat_text(&h, &t, NULL), 0);
    assert_true(strncmp(t, "attention of g\n", 15) == 0);
    for (int l = 1; l <= NL; l++)
        for (int hd = 1; hd <= NH; hd++) {
            char s[64];
            snprintf(s, sizeof s, "\nlayer %d \xc2\xb7 head %d\n", l, hd);
            assert_int_equal(count(t, s), 1);
        }
    assert_int_equal(count(t, "  top "), NL * NH * L);
    /* layer 1 head 1: row 0 "[1]", row 3 (i = 3) top key (0 + 0 + 3) mod 4 = 3 ("&") at 0.70 */
    assert_non_null(strstr(t, "\n  \xe2\x9f\xa8"
                              "bos\xe2\x9f\xa9 \xe2\x86\x92 <a>  \xe2\x94\x82"
                              "\xe2\x96\x88   \xe2\x94\x82  top \xe2\x9f\xa8"
                              "bos\xe2\x9f\xa9 1.00\n"));
    assert_non_null(strstr(t, "\n  &     \xe2\x86\x92 =    \xe2\x94\x82"));
    assert_non_null(strstr(t, "top &     0.70\n"));
    rt_free(t);
}

/* 1 x 1 x L = 200: 20,100 cells, over the 20,000 that get tooltips */
static void large_figure_without_tooltips(void **state)
{
    (void)state;
    enum { BL = 200 };
    float *v = rt_calloc((size_t)BL * BL, sizeof *v);
    const char **lab = rt_calloc(BL, sizeof *lab);
    assert_non_null(v);
    assert_non_null(lab);
    for (int i = 0; i < BL; i++) {
        v[(size_t)i * BL] = 1.0f;
        lab[i] = "x";
    }
    rt_chart_heat h = {.layers = 1, .heads = 1, .L = BL, .values = v, .labels = lab};
    char *o = NULL;
    size_t n = 0;
    assert_int_equal(rt_chart_heat_svg(&h, &o, &n), 0);
    assert_int_equal(count(o, "<title>"), 0);
    assert_int_equal(count(o, "<rect"), 1 + BL * (BL + 1) / 2 + 1 + 40 + 1);
    assert_true(n < 80 * (size_t)BL * (BL + 1) / 2);
    rt_free(o);
    h.L = 199; /* 19,900 cells: tooltips */
    assert_int_equal(rt_chart_heat_svg(&h, &o, NULL), 0);
    assert_int_equal(count(o, "<title>"), 199 * 200 / 2);
    rt_free(o);
    rt_free(lab);
    rt_free(v);
}

static void bad_arguments(void **state)
{
    (void)state;
    float v[1] = {1};
    const char *lab[1] = {"x"};
    char *o = (char *)1;
    rt_chart_heat ok = {.layers = 1, .heads = 1, .L = 1, .values = v, .labels = lab};
    rt_chart_heat h = ok;
    h.L = 0;
    assert_int_equal(rt_chart_heat_svg(&h, &o, NULL), RT_EINVAL);
    assert_null(o);
    o = (char *)1;
    assert_int_equal(rt_chart_heat_text(&h, &o, NULL), RT_EINVAL);
    assert_null(o);
    h = ok, h.values = NULL;
    assert_int_equal(rt_chart_heat_svg(&h, &o, NULL), RT_EINVAL);
    h = ok, h.labels = NULL;
    assert_int_equal(rt_chart_heat_text(&h, &o, NULL), RT_EINVAL);
    h = ok, h.heads = 0;
    assert_int_equal(rt_chart_heat_svg(&h, &o, NULL), RT_EINVAL);
    h = ok, h.L = RT_CHART_HEAT_MAX_L + 1;
    assert_int_equal(rt_chart_heat_svg(&h, &o, NULL), RT_EINVAL);
    assert_int_equal(rt_chart_heat_svg(NULL, &o, NULL), RT_EINVAL);
    assert_int_equal(rt_chart_heat_svg(&ok, &o, NULL), 0);
    assert_non_null(o);
    rt_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(svg_panels_cells_and_bytes),
        cmocka_unit_test(scale),
        cmocka_unit_test(text_twin),
        cmocka_unit_test(large_figure_without_tooltips),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
