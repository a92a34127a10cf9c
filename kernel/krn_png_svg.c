/* krn_png_svg: an SVG document rasterized to PNG (see krn_png.h) with librsvg onto a cairo
 * ARGB image surface, encoded by cairo's PNG writer (compressed, unlike krn_png_encode).
 * Leaves out: scaling (one pixel per SVG px), external resources (a chart's SVG has none;
 * librsvg loads none from memory without a base URI), animation. */
#include "krn_png.h"

#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if KRN_HAVE_RSVG
#include <cairo.h>
#include <librsvg/rsvg.h>
#endif

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#if KRN_HAVE_RSVG
/* cairo's PNG writer appends here */
typedef struct sink {
    unsigned char *p;
    size_t len, cap;
    int oom;
} sink;

static cairo_status_t put(void *closure, const unsigned char *data, unsigned int n)
{
    sink *s = closure;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n)
            cap *= 2;
        unsigned char *p = realloc(s->p, cap);
        if (!p) {
            s->oom = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    return CAIRO_STATUS_SUCCESS;
}

int krn_png_from_svg(const char *svg, size_t len, unsigned char **out, size_t *outlen, int *w,
                     int *h, char *err, size_t errcap)
{
    *out = NULL;
    *outlen = 0;
    if (!svg || len == 0) return fail(err, errcap, "empty SVG document");
    GError *ge = NULL;
    RsvgHandle *hd = rsvg_handle_new_from_data((const guint8 *)svg, len, &ge);
    if (!hd) {
        fail(err, errcap, "not an SVG document: %s", ge ? ge->message : "unknown error");
        if (ge) g_error_free(ge);
        return -1;
    }
    double dw = 0, dh = 0;
    if (!rsvg_handle_get_intrinsic_size_in_pixels(hd, &dw, &dh)) {
        g_object_unref(hd);
        return fail(err, errcap, "the SVG has no absolute width and height");
    }
    if (!(dw >= 1 && dh >= 1 && dw <= KRN_PNG_SVG_MAX_SIDE && dh <= KRN_PNG_SVG_MAX_SIDE)) {
        g_object_unref(hd);
        return fail(err, errcap, "SVG size %gx%g outside 1..%d px", dw, dh,
                    KRN_PNG_SVG_MAX_SIDE);
    }
    int iw = (int)ceil(dw), ih = (int)ceil(dh);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, iw, ih);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        g_object_unref(hd);
        return fail(err, errcap, "out of memory (%dx%d image)", iw, ih);
    }
    cairo_t *cr = cairo_create(surf);
    RsvgRectangle vp = {0, 0, dw, dh};
    int rc = 0;
    if (!rsvg_handle_render_document(hd, cr, &vp, &ge)) {
        rc = fail(err, errcap, "SVG render failed: %s", ge ? ge->message : "unknown error");
        if (ge) g_error_free(ge);
    }
    cairo_destroy(cr);
    g_object_unref(hd);
    sink s = {0};
    if (rc == 0) {
        cairo_surface_flush(surf);
        cairo_status_t cs = cairo_surface_write_to_png_stream(surf, put, &s);
        if (cs != CAIRO_STATUS_SUCCESS)
            rc = fail(err, errcap, "PNG encoding failed: %s",
                      s.oom ? "out of memory" : cairo_status_to_string(cs));
    }
    cairo_surface_destroy(surf);
    if (rc) {
        free(s.p);
        return rc;
    }
    *out = s.p;
    *outlen = s.len;
    if (w) *w = iw;
    if (h) *h = ih;
    return 0;
}
#else
int krn_png_from_svg(const char *svg, size_t len, unsigned char **out, size_t *outlen, int *w,
                     int *h, char *err, size_t errcap)
{
    (void)svg, (void)len, (void)w, (void)h;
    *out = NULL;
    *outlen = 0;
    return fail(err, errcap, "built without librsvg (meson -Dpng=disabled)");
}
#endif

char *krn_png_from_svg_base64(const char *svg, size_t len, int *w, int *h, char *err,
                              size_t errcap)
{
    unsigned char *png;
    size_t n;
    if (krn_png_from_svg(svg, len, &png, &n, w, h, err, errcap)) return NULL;
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    if (!b64)
        fail(err, errcap, "out of memory (%zu bytes of base64)", cap);
    else
        sodium_bin2base64(b64, cap, png, n, sodium_base64_VARIANT_ORIGINAL);
    free(png);
    return b64;
}
