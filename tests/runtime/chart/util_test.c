/* util_test.c: the chart building blocks (rt_chart_util.h): nice linear and log ticks
 * (exact tick lists), number and pixel formatting, XML/JSON/text escaping, EMA,
 * downsampling (bounds, first/last, extremes, gaps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rt_alloc.h"
#include "rt_chart_util.h"

#include <math.h>
#include <string.h>

static void expect_ticks(double lo, double hi, int target, const double *want, size_t n)
{
    double t[32];
    size_t got = rt_chart_nice_ticks(lo, hi, target, t, 32);
    if (got != n) print_error("nice_ticks(%g, %g): %zu ticks, want %zu\n", lo, hi, got, n);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        if (t[i] != want[i]) print_error("tick %zu: %.17g != %.17g\n", i, t[i], want[i]);
        assert_true(t[i] == want[i]); /* exact: 0.3 is the double 0.3 */
    }
}

static void test_nice_ticks(void **state)
{
    (void)state;
    expect_ticks(0, 1, 5, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);
    expect_ticks(0, 4, 5, (double[]){0, 1, 2, 3, 4}, 5);
    expect_ticks(-0.73, 2.1, 5, (double[]){-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5}, 8);
    expect_ticks(3, 3, 5, (double[]){2.7, 2.8, 2.9, 3, 3.1, 3.2, 3.3}, 7);
    expect_ticks(0, 1000, 5, (double[]){0, 200, 400, 600, 800, 1000}, 6);
    expect_ticks(1e-4, 9.5e-4, 5, (double[]){0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001}, 6);
    expect_ticks(0, 0, 5, (double[]){-1, -0.5, 0, 0.5, 1}, 5);
    expect_ticks(2.1, -0.73, 5, (double[]){-1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5}, 8); /* swapped */
    expect_ticks(10, 4000, 5, (double[]){0, 1000, 2000, 3000, 4000}, 5);

    double t[32];
    /* too small a cap: the step grows to the next nice value */
    assert_int_equal(rt_chart_nice_ticks(0, 100, 5, t, 3), 3);
    assert_true(t[0] == 0 && t[1] == 50 && t[2] == 100);
    assert_int_equal(rt_chart_nice_ticks(NAN, 1, 5, t, 32), 0);
    assert_int_equal(rt_chart_nice_ticks(0, INFINITY, 5, t, 32), 0);
    assert_int_equal(rt_chart_nice_ticks(0, 1, 5, t, 1), 0);
    /* extreme but finite ranges neither overflow nor loop */
    size_t n = rt_chart_nice_ticks(-1.7e308, 1.7e308, 5, t, 32);
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(t[i]));
}

static void expect_log(double lo, double hi, const double *want, size_t n)
{
    double t[32];
    size_t got = rt_chart_log_ticks(lo, hi, 5, t, 32);
    if (got != n) print_error("log_ticks(%g, %g): %zu ticks, want %zu\n", lo, hi, got, n);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        if (t[i] != want[i]) print_error("tick %zu: %.17g != %.17g\n", i, t[i], want[i]);
        assert_true(t[i] == want[i]);
    }
}

static void test_log_ticks(void **state)
{
    (void)state;
    expect_log(0.001, 2.001, (double[]){0.001, 0.01, 0.1, 1, 10}, 5);
    expect_log(2, 8, (double[]){1, 2, 5, 10}, 4);
    expect_log(10, 100, (double[]){10, 20, 50, 100}, 4);
    expect_log(0.05, 0.05, (double[]){0.01, 0.02, 0.05, 0.1}, 4);
    expect_log(1e-6, 1e6, (double[]){1e-6, 1e-3, 1, 1e3, 1e6}, 5);
    expect_log(3e-7, 2e3, (double[]){1e-7, 1e-4, 1e-1, 1e2, 1e5}, 5); /* every 3rd decade */
    double t[32];
    assert_int_equal(rt_chart_log_ticks(0, 1, 5, t, 32), 0);
    assert_int_equal(rt_chart_log_ticks(-1, 1, 5, t, 32), 0);
    assert_int_equal(rt_chart_log_ticks(1, NAN, 5, t, 32), 0);
}

static void expect_num(double v, int sig, const char *want)
{
    char s[40];
    int n = rt_chart_fmt_num(s, sizeof s, v, sig);
    assert_string_equal(s, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_numbers(void **state)
{
    (void)state;
    expect_num(0.812, 4, "0.812");
    expect_num(0.81234567, 4, "0.8123");
    expect_num(200, 4, "200");
    expect_num(123456789, 4, "123456789");
    expect_num(-0.0, 4, "0");
    expect_num(1234567.5, 4, "1.235e+06");
    expect_num(1e-5, 4, "1e-05");
    expect_num(0.1 + 0.2, 4, "0.3");
    expect_num(NAN, 4, "NaN");
    expect_num(-INFINITY, 4, "-inf");
    expect_num(1e300, 6, "1e+300");

    const double tv[] = {0, 2500, -0.25, 10000, 200000, 1500000, -3e6, 2.5e10, 1e-5, 1e20};
    const char *tw[] = {"0",    "2500", "-0.25", "10k",   "200k",
                        "1.5M", "-3M",  "25G",   "1e-05", "1e+20"};
    for (size_t i = 0; i < sizeof tv / sizeof tv[0]; i++) {
        char s[40];
        rt_chart_fmt_tick(s, sizeof s, tv[i]);
        assert_string_equal(s, tw[i]);
    }

    rt_strbuf b = {0};
    double px[] = {12.34, 40, -5.06, 0.04, -0.04, 339.96, 1e9, NAN};
    for (size_t i = 0; i < sizeof px / sizeof px[0]; i++) {
        rt_chart_buf_px(&b, px[i]);
        rt_strbuf_append(&b, " ", 1);
    }
    rt_chart_buf_num(&b, NAN, 6);
    rt_strbuf_append(&b, " ", 1);
    rt_chart_buf_num(&b, 0.5, 6);
    assert_string_equal(b.s, "12.3 40 -5.1 0 0 340 1000000 -1000000 null 0.5");
    rt_free(b.s);
}

static void test_escaping(void **state)
{
    (void)state;
    rt_strbuf b = {0};
    rt_chart_buf_xml(&b, "a<b & \"c\" 'd'>");
    assert_string_equal(b.s, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_xml(&b, "x\x01y\tz\xff\xc3\xa9\xef\xbf\xbf\xed\xa0\x80");
    /* control characters dropped; invalid byte and U+FFFF -> U+FFFD; an encoded
     * surrogate is three invalid bytes (rt_text.h), so three U+FFFD */
    assert_string_equal(b.s, "xyz\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd"
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_xml_trunc(&b, "abcdef", 4);
    assert_string_equal(b.s, "abc\xe2\x80\xa6");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_xml_trunc(&b, "abcd", 4);
    assert_string_equal(b.s, "abcd");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_xml_trunc(&b, "\xce\xbb<\xce\xbb\xce\xbb\xce\xbb", 3);
    assert_string_equal(b.s, "\xce\xbb&lt;\xe2\x80\xa6");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_json(&b, "a\"b\\c\n\xce\xbb\xff");
    assert_string_equal(b.s, "\"a\\\"b\\\\c\\u000a\xce\xbb\xef\xbf\xbd\"");
    rt_strbuf_truncate(&b, 0);
    rt_chart_buf_json(&b, NULL);
    assert_string_equal(b.s, "\"\"");
    rt_strbuf_truncate(&b, 0);
    assert_int_equal(rt_chart_buf_text(&b, "r\xc3\xa9w\nard", 32), 6);
    assert_string_equal(b.s, "r\xc3\xa9w"
                             "ard");
    assert_int_equal(rt_chart_buf_text(NULL, "abcdefgh", 5), 5);
    assert_int_equal(rt_utf8_cols("\xe2\x96\x81x", 4), 2);
    rt_free(b.s);

    /* printf longer than the internal scratch buffer */
    rt_strbuf c = {0};
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rt_strbuf_printf(&c, "<%s>", big);
    assert_int_equal(c.len, 601);
    assert_int_equal(c.s[600], '>');
    rt_free(c.s);
}

static int near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

/* Debiased EMA: out = s / (1 - alpha^t) after t finite values. */
static void test_ema(void **state)
{
    (void)state;
    double y[] = {1, 2, NAN, 3, INFINITY, 5}, out[6];
    rt_chart_ema(y, 6, 0.5, out);
    /* s: 0.5, 1.25, 2.125, 3.5625 over 1 - 0.5^t: 0.5, 0.75, 0.875, 0.9375 */
    assert_true(out[0] == 1 && near(out[1], 5.0 / 3) && isnan(out[2]));
    assert_true(near(out[3], 2.125 / 0.875) && isinf(out[4]) && near(out[5], 3.8));
    double z[] = {NAN, 4, 8};
    rt_chart_ema(z, 3, 0.25, out);
    assert_true(isnan(out[0]) && near(out[1], 4) && near(out[2], 7.2));
    double c[50]; /* a constant stays constant: the start is not pulled to 0 */
    for (int i = 0; i < 50; i++)
        c[i] = 0.7;
    rt_chart_ema(c, 50, 0.9, c);
    for (int i = 0; i < 50; i++)
        assert_true(near(c[i], 0.7));
    rt_chart_ema(y, 6, 0, out); /* alpha 0: a copy */
    assert_true(out[0] == 1 && out[1] == 2 && out[3] == 3 && out[5] == 5);
    rt_chart_ema(y, 6, 1.5, out); /* out of range: raw */
    assert_true(out[1] == 2 && out[5] == 5);
    double w[] = {2, 4};
    rt_chart_ema(w, 2, 0.5, w); /* in place */
    assert_true(w[0] == 2 && near(w[1], 10.0 / 3));
}

/* X tick labels never touch: for any width and range, the widest label plus 8 px fits
 * the spacing (6.2 px per character), and there are at least 2 ticks. */
static void test_x_ticks_no_collision(void **state)
{
    (void)state;
    static const double his[] = {1, 200, 1000, 4000, 12345, 200000, 1e6, 3.3e7};
    char num[40];
    for (int w = 100; w <= 900; w += 37)
        for (size_t r = 0; r < sizeof his / sizeof his[0]; r++) {
            double t[32];
            size_t n = rt_chart_x_ticks(0, his[r], w, t, 32);
            assert_true(n >= 2);
            double gap = (double)w / (double)(n - 1), widest = 0;
            for (size_t i = 0; i < n; i++) {
                double cw = 6.2 * rt_chart_fmt_tick(num, sizeof num, t[i]);
                if (cw > widest) widest = cw;
            }
            if (n > 2) assert_true(widest + 8 <= gap);
            assert_true(t[0] <= 0 && t[n - 1] >= his[r]);
        }
    /* the review's "800 1,000": 0..1000 in a 237-px plot, 0 200 ... 1000 (47 px apart) */
    double t[32];
    assert_int_equal(rt_chart_x_ticks(0, 1000, 237, t, 32), 6);
}

static void test_downsample_exact(void **state)
{
    (void)state;
    double y[10] = {0, 5, 1, 2, 9, 3, 4, 0, 7, 6};
    size_t idx[16];
    /* buckets of width ceil(8 / 3) = 3 from index 1: [1,4) [4,7) [7,9), min and max */
    assert_int_equal(rt_chart_downsample(y, 10, 8, 0, idx), 8);
    size_t want[8] = {0, 1, 2, 4, 5, 7, 8, 9};
    for (int i = 0; i < 8; i++)
        assert_int_equal(idx[i], want[i]);
    /* with a gap, width 3 would need 9 points: width 4, [1,5) = {5, NaN, 2, 9} gives
     * its gap, min and max in index order (2, 3, 4), [5,9) = {3, 4, 0, 7} gives 7, 8 */
    y[2] = NAN;
    assert_int_equal(rt_chart_downsample(y, 10, 8, 0, idx), 7);
    size_t want_gap[7] = {0, 2, 3, 4, 7, 8, 9};
    for (int i = 0; i < 7; i++)
        assert_int_equal(idx[i], want_gap[i]);
    y[2] = 1;
    /* short series: every index */
    assert_int_equal(rt_chart_downsample(y, 5, 300, 0, idx), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(idx[i], i);
    /* max_points below 8 is taken as 8 */
    assert_int_equal(rt_chart_downsample(y, 10, 2, 0, idx), 8);
    assert_int_equal(rt_chart_downsample(y, 0, 300, 0, idx), 0);
}

static void test_downsample_bounds(void **state)
{
    (void)state;
    enum { N = 100000, M = 300 };
    static double y[N];
    static size_t idx[M];
    for (size_t i = 0; i < N; i++)
        y[i] = sin((double)i * 0.001) + 0.001 * (double)(i % 7);
    y[31337] = 50;  /* a spike */
    y[77777] = -50; /* a dip */
    size_t k = rt_chart_downsample(y, N, M, 0, idx);
    assert_true(k <= M && k >= M * 8 / 10);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[k - 1], N - 1);
    int spike = 0, dip = 0;
    for (size_t i = 0; i < k; i++) {
        if (i) assert_true(idx[i] > idx[i - 1]);
        spike |= idx[i] == 31337;
        dip |= idx[i] == 77777;
    }
    assert_true(spike && dip);

    /* a gap in the middle survives as a NaN index and costs one bucket at most */
    y[50000] = NAN;
    k = rt_chart_downsample(y, N, M, 0, idx);
    assert_true(k <= M && k >= M * 8 / 10);
    int gap = 0;
    for (size_t i = 0; i < k; i++)
        gap |= isnan(y[idx[i]]);
    assert_true(gap);
    assert_int_equal(idx[k - 1], N - 1);

    /* on a log axis, y <= 0 is a gap too */
    y[50000] = 1;
    y[60000] = -3;
    k = rt_chart_downsample(y, N, M, 1, idx);
    gap = 0;
    for (size_t i = 0; i < k; i++)
        gap |= idx[i] == 60000 || !(y[idx[i]] > 0);
    assert_true(gap && k <= M);

    /* many gaps: fewer buckets, three points each */
    for (size_t i = 0; i < N; i += 1000)
        y[i] = NAN;
    k = rt_chart_downsample(y, N, M, 0, idx);
    assert_true(k <= M && k > (M - 2) / 3 * 2);
    /* all NaN: first, last and one gap marker per bucket of the first pass */
    for (size_t i = 0; i < N; i++)
        y[i] = NAN;
    k = rt_chart_downsample(y, N, M, 0, idx);
    assert_int_equal(k, 2 + (N - 2 + 767) / 768); /* width 672 -> 6 * 128 */
}

/* While a series grows, the buckets already complete keep their indices. */
static void test_downsample_stable_while_growing(void **state)
{
    (void)state;
    enum { N = 50500, M = 300 };
    static double y[N];
    static size_t a[M], b[M];
    for (size_t i = 0; i < N; i++)
        y[i] = cos((double)i * 0.0021) + 0.05 * (double)((i * 2654435761u) % 101);
    size_t ka = rt_chart_downsample(y, 50000, M, 0, a);
    size_t kb = rt_chart_downsample(y, N, M, 0, b);
    /* width ceil(49998 / 149) = 336 -> 6 * 64 = 384 for both lengths */
    size_t complete = 1 + (49998 / 384) * 384, same = 0;
    assert_true(ka <= M && kb <= M);
    for (size_t i = 0; i < ka && a[i] < complete; i++) {
        assert_true(i < kb);
        assert_int_equal(a[i], b[i]);
        same++;
    }
    assert_true(same > M / 2);
    assert_int_equal(a[ka - 1], 49999);
    assert_int_equal(b[kb - 1], N - 1);
}

static void test_series_cap(void **state)
{
    (void)state;
    double x[4] = {0}, y[4] = {0};
    rt_chart_series s[24];
    for (int i = 0; i < 24; i++)
        s[i] = (rt_chart_series){NULL, x, y, i < 8 ? y : NULL, i < 8 ? y : NULL, 4, 0};
    rt_chart_panel p = {.series = s, .nseries = 1};
    rt_chart c = {.panels = &p, .npanels = 1};
    assert_int_equal(rt_chart_series_cap(&c), 300); /* one banded series: 2400/2 > 300 */
    p.series = s + 8;
    assert_int_equal(rt_chart_series_cap(&c), 300); /* max_points */
    p.series = s, p.nseries = 8;
    assert_int_equal(rt_chart_series_cap(&c), 150);
    p.series = s + 8, p.nseries = 16;
    assert_int_equal(rt_chart_series_cap(&c), 150);
    p.series = s, p.nseries = 24;
    assert_int_equal(rt_chart_series_cap(&c), 75); /* 2400 / (16 + 16) */
    c.point_budget = 10;
    assert_int_equal(rt_chart_series_cap(&c), 8);
    c.point_budget = 0, c.max_points = 3;
    assert_int_equal(rt_chart_series_cap(&c), 8);
    c.max_points = (size_t)-1, c.point_budget = (size_t)-1;
    assert_int_equal(rt_chart_series_cap(&c), 10000000);
    s[0].n = 0; /* empty series do not take a share */
    p.nseries = 1, c.max_points = 0, c.point_budget = 0;
    assert_int_equal(rt_chart_series_cap(&c), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_ticks),
        cmocka_unit_test(test_log_ticks),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_x_ticks_no_collision),
        cmocka_unit_test(test_downsample_exact),
        cmocka_unit_test(test_downsample_bounds),
        cmocka_unit_test(test_downsample_stable_while_growing),
        cmocka_unit_test(test_series_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
