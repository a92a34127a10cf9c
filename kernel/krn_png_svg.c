/* krn_png_svg: an SVG document rasterized to PNG (see krn_png.h) with librsvg onto a cairo
 * ARGB image surface, encoded by cairo's PNG writer (compressed, unlike krn_png_encode).
 * librsvg (and through it cairo, glib, pango, fontconfig) is loaded on the first render
 * (dlopen), never at start: linking them costs ~30 ms of loader time and ~7 MB of RSS at
 * every kernel start, which made the sockets bind after jupyter_client's first connect
 * (a 100 ms ZeroMQ reconnect; cold start 163 ms instead of 19 ms).  The headers still
 * give the types and prototypes; the functions are looked up by name (dlsym searches the
 * library and its dependencies).
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
#include <dlfcn.h>
#include <librsvg/rsvg.h>
#include <pthread.h>
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
/* The functions used, by name, from librsvg-2.so.2 and its dependencies. */
#define KRN_RSVG_FNS(X)                                                                        \
    X(rsvg_handle_new_from_data)                                                               \
    X(rsvg_handle_get_intrinsic_size_in_pixels)                                                \
    X(rsvg_handle_render_document)                                                             \
    X(g_error_free)                                                                            \
    X(g_object_unref)                                                                          \
    X(cairo_image_surface_create)                                                              \
    X(cairo_surface_status)                                                                    \
    X(cairo_surface_destroy)                                                                   \
    X(cairo_create)                                                                            \
    X(cairo_destroy)                                                                           \
    X(cairo_surface_flush)                                                                     \
    X(cairo_surface_write_to_png_stream)                                                       \
    X(cairo_status_to_string)

static struct {
#define KRN_RSVG_FIELD(f) __typeof__(f) *f;
    KRN_RSVG_FNS(KRN_RSVG_FIELD)
#undef KRN_RSVG_FIELD
} lib;
static int lib_ok;             /* 1 when every function was found */
static char lib_err[256];      /* why not */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_load(void)
{
    void *h = dlopen("librsvg-2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(lib_err, sizeof lib_err, "cannot load librsvg: %s", dlerror());
        return;
    }
#define KRN_RSVG_SYM(f)                                                                        \
    *(void **)&lib.f = dlsym(h, #f);                                                           \
    if (!lib.f) {                                                                              \
        snprintf(lib_err, sizeof lib_err, "librsvg: no symbol %s", #f);                       \
        return;                                                                                \
    }
    KRN_RSVG_FNS(KRN_RSVG_SYM)
#undef KRN_RSVG_SYM
    lib_ok = 1; /* the handle stays open for the process's life */
}

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
    pthread_once(&lib_once, lib_load);
    if (!lib_ok) return fail(err, errcap, "%s", lib_err);
    GError *ge = NULL;
    RsvgHandle *hd = lib.rsvg_handle_new_from_data((const guint8 *)svg, len, &ge);
    if (!hd) {
        fail(err, errcap, "not an SVG document: %s", ge ? ge->message : "unknown error");
        if (ge) lib.g_error_free(ge);
        return -1;
    }
    double dw = 0, dh = 0;
    if (!lib.rsvg_handle_get_intrinsic_size_in_pixels(hd, &dw, &dh)) {
        lib.g_object_unref(hd);
        return fail(err, errcap, "the SVG has no absolute width and height");
    }
    if (!(dw >= 1 && dh >= 1 && dw <= KRN_PNG_SVG_MAX_SIDE && dh <= KRN_PNG_SVG_MAX_SIDE)) {
        lib.g_object_unref(hd);
        return fail(err, errcap, "SVG size %gx%g outside 1..%d px", dw, dh,
                    KRN_PNG_SVG_MAX_SIDE);
    }
    int iw = (int)ceil(dw), ih = (int)ceil(dh);
    cairo_surface_t *surf = lib.cairo_image_surface_create(CAIRO_FORMAT_ARGB32, iw, ih);
    if (lib.cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        lib.cairo_surface_destroy(surf);
        lib.g_object_unref(hd);
        return fail(err, errcap, "out of memory (%dx%d image)", iw, ih);
    }
    cairo_t *cr = lib.cairo_create(surf);
    RsvgRectangle vp = {0, 0, dw, dh};
    int rc = 0;
    if (!lib.rsvg_handle_render_document(hd, cr, &vp, &ge)) {
        rc = fail(err, errcap, "SVG render failed: %s", ge ? ge->message : "unknown error");
        if (ge) lib.g_error_free(ge);
    }
    lib.cairo_destroy(cr);
    lib.g_object_unref(hd);
    sink s = {0};
    if (rc == 0) {
        lib.cairo_surface_flush(surf);
        cairo_status_t cs = lib.cairo_surface_write_to_png_stream(surf, put, &s);
        if (cs != CAIRO_STATUS_SUCCESS)
            rc = fail(err, errcap, "PNG encoding failed: %s",
                      s.oom ? "out of memory" : lib.cairo_status_to_string(cs));
    }
    lib.cairo_surface_destroy(surf);
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
