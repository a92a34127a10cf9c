/* SVG -> PNG rasterizer (krn_png_from_svg): PNG signature, IHDR size = the SVG's width and
 * height, the pixels where the SVG drew them (decoded back with cairo), the base64 form,
 * and a clean error (no output, a message) for every kind of bad SVG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "krn_png.h"

#if KRN_HAVE_RSVG
#include <cairo.h>

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char DRAWING[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"50\" "
    "viewBox=\"0 0 120 50\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n"
    "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    "<rect x=\"10\" y=\"10\" width=\"20\" height=\"20\" fill=\"#ff0000\"/>\n"
    "<text x=\"40\" y=\"30\" fill=\"#333\">reward 0.5</text>\n"
    "</svg>\n";

typedef struct reader {
    const unsigned char *p;
    size_t len, at;
} reader;

static cairo_status_t take(void *closure, unsigned char *data, unsigned int n)
{
    reader *r = closure;
    if (r->at + n > r->len) return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p + r->at, n);
    r->at += n;
    return CAIRO_STATUS_SUCCESS;
}

/* the ARGB32 pixel at (x, y) of a PNG, decoded by cairo */
static uint32_t pixel(const unsigned char *png, size_t len, int x, int y)
{
    reader r = {png, len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(take, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    const unsigned char *d = cairo_image_surface_get_data(s);
    uint32_t v;
    memcpy(&v, d + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + (size_t)x * 4, 4);
    cairo_surface_destroy(s);
    return v;
}

static void test_drawing(void **st)
{
    (void)st;
    unsigned char *png = NULL;
    size_t len = 0;
    int w = 0, h = 0;
    char err[256] = "";
    assert_int_equal(krn_png_from_svg(DRAWING, strlen(DRAWING), &png, &len, &w, &h, err,
                                      sizeof err),
                     0);
    assert_string_equal(err, "");
    assert_non_null(png);
    assert_true(len > 33);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(png + 12, "IHDR", 4);
    assert_int_equal(rd32(png + 16), 120);
    assert_int_equal(rd32(png + 20), 50);
    assert_int_equal(w, 120);
    assert_int_equal(h, 50);
    assert_memory_equal(png + len - 8, "IEND", 4);
    assert_int_equal(pixel(png, len, 20, 20), 0xffff0000u); /* inside the red square */
    assert_int_equal(pixel(png, len, 5, 45), 0xffffffffu);  /* white background */
    /* the text drew something dark somewhere in its box */
    int dark = 0;
    for (int y = 20; y < 32; y++)
        for (int x = 40; x < 110; x++)
            dark += (pixel(png, len, x, y) & 0xff) < 0x80;
    assert_true(dark > 20);
    free(png);
}

static void test_fractional_size(void **st)
{
    (void)st;
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100.5\" height=\"20\">"
                      "<rect width=\"100%\" height=\"100%\" fill=\"#00f\"/></svg>";
    unsigned char *png;
    size_t len;
    int w, h;
    assert_int_equal(krn_png_from_svg(svg, strlen(svg), &png, &len, &w, &h, NULL, 0), 0);
    assert_int_equal(w, 101);
    assert_int_equal(h, 20);
    assert_int_equal(rd32(png + 16), 101);
    assert_int_equal(rd32(png + 20), 20);
    free(png);
}

static void test_base64(void **st)
{
    (void)st;
    unsigned char *png;
    size_t len;
    assert_int_equal(krn_png_from_svg(DRAWING, strlen(DRAWING), &png, &len, NULL, NULL, NULL, 0),
                     0);
    int w = 0, h = 0;
    char *b64 = krn_png_from_svg_base64(DRAWING, strlen(DRAWING), &w, &h, NULL, 0);
    assert_non_null(b64);
    assert_int_equal(w, 120);
    assert_int_equal(h, 50);
    assert_int_equal(strncmp(b64, "iVBORw0KGgo", 11), 0); /* the PNG signature */
    unsigned char *back = malloc(len + 16);
    size_t blen = 0;
    assert_int_equal(sodium_base642bin(back, len + 16, b64, strlen(b64), NULL, &blen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(blen, len); /* the same encoder: the same bytes */
    assert_memory_equal(back, png, len);
    free(back);
    free(b64);
    free(png);
}

static void bad(const char *svg, size_t len, const char *prefix)
{
    unsigned char *png = (unsigned char *)"x";
    size_t n = 7;
    char err[256] = "";
    assert_int_equal(krn_png_from_svg(svg, len, &png, &n, NULL, NULL, err, sizeof err), -1);
    assert_null(png);
    assert_int_equal(n, 0);
    if (strncmp(err, prefix, strlen(prefix))) fail_msg("'%s' does not start with '%s'", err, prefix);
    char err2[256] = "";
    assert_null(krn_png_from_svg_base64(svg, len, NULL, NULL, err2, sizeof err2));
    assert_string_equal(err2, err);
}

static void test_bad_svg(void **st)
{
    (void)st;
    bad("", 0, "empty SVG document");
    bad(NULL, 10, "empty SVG document");
    const char *s = "this is not XML";
    bad(s, strlen(s), "not an SVG document: ");
    s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect";
    bad(s, strlen(s), "not an SVG document: ");
    s = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"><rect/></svg>";
    bad(s, strlen(s), "the SVG has no absolute width and height");
    s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"10\"></svg>";
    bad(s, strlen(s), "SVG size 100000x10 outside 1..8192 px");
    s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"10\"></svg>";
    bad(s, strlen(s), "SVG size 0x10 outside");
    /* a NUL-free prefix: the length is honoured, not strlen */
    bad(DRAWING, 40, "not an SVG document: ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drawing),
        cmocka_unit_test(test_fractional_size),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_bad_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
/* built with -Dpng=disabled: the rasterizer says so */
static void test_disabled(void **st)
{
    (void)st;
    unsigned char *png = (unsigned char *)"x";
    size_t n = 1;
    char err[128] = "";
    const char *s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>";
    assert_int_equal(krn_png_from_svg(s, strlen(s), &png, &n, NULL, NULL, err, sizeof err), -1);
    assert_null(png);
    assert_string_equal(err, "built without librsvg (meson -Dpng=disabled)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_disabled)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
