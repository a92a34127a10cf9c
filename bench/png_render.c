/* bench/png_render.c: cost and size of a chart's final-frame PNG (krn_png_from_svg:
 * librsvg onto a cairo surface, then cairo's PNG writer, then base64 as sent).
 *
 *   bench-png FILE.svg...    renders each SVG 20 times (after one warm-up render, which
 *                            also pays fontconfig's start-up) and prints its size in px,
 *                            the median ms per render and the PNG and base64 bytes.
 * Charts to feed it: `bench-chart --emit DIR` writes representative ones as DIR/NAME.svg. */
#include "krn_png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPS = 20 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            char *p = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!p) break;
            buf = p;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-png FILE.svg...\n");
        return 2;
    }
    printf("%-28s %10s %9s %10s %10s\n", "chart", "px", "ms", "png B", "base64 B");
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        char *svg = slurp(argv[i], &len);
        if (!svg) {
            fprintf(stderr, "bench-png: cannot read %s\n", argv[i]);
            return 1;
        }
        double t[REPS];
        unsigned char *png = NULL;
        size_t n = 0;
        int w = 0, h = 0;
        char err[256];
        for (int r = -1; r < REPS; r++) {
            free(png);
            double t0 = now_s();
            if (krn_png_from_svg(svg, len, &png, &n, &w, &h, err, sizeof err)) {
                fprintf(stderr, "bench-png: %s: %s\n", argv[i], err);
                free(svg);
                return 1;
            }
            if (r >= 0) t[r] = now_s() - t0;
        }
        qsort(t, REPS, sizeof t[0], cmp);
        char px[32];
        snprintf(px, sizeof px, "%dx%d", w, h);
        const char *base = strrchr(argv[i], '/');
        printf("%-28s %10s %9.1f %10zu %10zu\n", base ? base + 1 : argv[i], px, t[REPS / 2] * 1e3,
               n, (n + 2) / 3 * 4);
        free(png);
        free(svg);
    }
    return 0;
}
