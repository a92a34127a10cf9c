/* bench/chart_render.c: cost and size of chart rendering (runtime/chart).
 *
 *   bench-chart              times SVG, Vega-Lite and text rendering (median of many
 *                            renders) of 8 series x 2,000 points and 8 x 100,000 points,
 *                            without and with bands; prints ms per render, output sizes,
 *                            and for the whole bundle (rt_chart_render) the message size
 *                            and the share of one core spent at 4 frames per second.
 *   bench-chart --emit DIR   writes representative charts as DIR/NAME.svg, .vl.json and
 *                            .txt (used by tests/py/test_chart_formats.py), among them a
 *                            dots / error bars chart ("points").
 * Data is synthetic and deterministic (rt_rng). */
#include "rt_alloc.h"
#include "rt_chart.h"
#include "rt_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_MAX 8

typedef struct data {
    size_t n, ns;
    double *x, *y[NS_MAX], *lo[NS_MAX], *hi[NS_MAX];
    char names[NS_MAX][48];
    rt_chart_series s[NS_MAX];
} data;

/* ns learning curves of n points: saturating, noisy, one per sweep value. */
static int make_data(data *d, size_t ns, size_t n, const char *prefix, double scale)
{
    memset(d, 0, sizeof *d);
    d->n = n, d->ns = ns;
    d->x = malloc(n * sizeof(double));
    if (!d->x) return -1;
    for (size_t i = 0; i < n; i++)
        d->x[i] = (double)(i + 1) * 10;
    for (size_t j = 0; j < ns; j++) {
        d->y[j] = malloc(n * sizeof(double));
        d->lo[j] = malloc(n * sizeof(double));
        d->hi[j] = malloc(n * sizeof(double));
        if (!d->y[j] || !d->lo[j] || !d->hi[j]) return -1;
        rt_rng r = rt_rng_make(1234 + j);
        double rate = 3.0 / (double)n * (1 + 0.4 * (double)j);
        for (size_t i = 0; i < n; i++) {
            double m = scale * (1 - exp(-rate * (double)i)) * (0.6 + 0.05 * (double)j);
            double sd = 0.04 * scale * (1 + 0.5 * sin((double)i * 0.01));
            d->y[j][i] = m + 0.5 * sd * rt_rng_normal(&r);
            d->lo[j][i] = d->y[j][i] - sd;
            d->hi[j][i] = d->y[j][i] + sd;
        }
        snprintf(d->names[j], sizeof d->names[j], "%s[lr=%g]", prefix, 0.01 * (double)(j + 1));
        d->s[j] = (rt_chart_series){d->names[j], d->x, d->y[j], NULL, NULL, n, RT_CHART_LINE};
    }
    return 0;
}

static void with_bands(data *d)
{
    for (size_t j = 0; j < d->ns; j++)
        d->s[j].lo = d->lo[j], d->s[j].hi = d->hi[j];
}

static void free_data(data *d)
{
    free(d->x);
    for (size_t j = 0; j < NS_MAX; j++)
        free(d->y[j]), free(d->lo[j]), free(d->hi[j]);
}

typedef int (*render_fn)(const rt_chart *, char **, size_t *);

static int write_one(const char *dir, const char *name, const char *ext, render_fn f,
                     const rt_chart *c)
{
    char *out;
    size_t len;
    int rc = f(c, &out, &len);
    if (rc) {
        fprintf(stderr, "bench-chart: render %s%s failed: %d\n", name, ext, rc);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(out, 1, len, fp) != len || fclose(fp)) {
        fprintf(stderr, "bench-chart: cannot write %s\n", path);
        rt_free(out);
        return -1;
    }
    rt_free(out);
    return 0;
}

static int write_all(const char *dir, const char *name, const rt_chart *c)
{
    return write_one(dir, name, ".svg", rt_chart_svg, c) |
           write_one(dir, name, ".vl.json", rt_chart_vegalite, c) |
           write_one(dir, name, ".txt", rt_chart_text, c);
}

static int emit(const char *dir)
{
    int rc = 0;
    data a, b, c, h;
    if (make_data(&a, 1, 200, "run", 1) || make_data(&b, 3, 400, "opd", 1) ||
        make_data(&c, 2, 300, "opd", 2) || make_data(&h, 8, 100000, "sweep", 1)) {
        fprintf(stderr, "bench-chart: out of memory\n");
        return 1;
    }
    /* 1. single panel, single series */
    rt_chart_panel single = {.title = "reward", .ylabel = "reward", .series = a.s, .nseries = 1};
    rc |= write_all(dir, "single", &(rt_chart){.panels = &single, .npanels = 1});

    /* 2. three panels of a 3-point sweep with mean ± std bands over seeds */
    with_bands(&b);
    rt_chart_panel three[3] = {
        {.title = "accuracy", .ylabel = "accuracy", .series = b.s, .nseries = 3},
        {.title = "reverse KL to teacher", .ylabel = "kl_teacher", .series = b.s, .nseries = 3},
        {.title = "KL to reference",
         .ylabel = "kl_ref",
         .series = b.s,
         .nseries = 3,
         .smooth = 0.6}};
    rc |= write_all(dir, "three_panels", &(rt_chart){.panels = three, .npanels = 3});

    /* 3. log-y panel and a panel with a teacher reference line */
    for (size_t i = 0; i < c.n; i++)
        c.y[0][i] = 2.0 * exp(-(double)i / 40.0) + 1e-3, c.y[1][i] = 0.5 * exp(-(double)i / 90.0);
    rt_chart_ref teacher = {0.93, "teacher"};
    rt_chart_panel logref[2] = {{.title = "reverse KL to teacher (log)",
                                 .ylabel = "kl_teacher",
                                 .logy = 1,
                                 .series = c.s,
                                 .nseries = 2,
                                 .legend = 1},
                                {.title = "accuracy",
                                 .ylabel = "accuracy",
                                 .series = b.s,
                                 .nseries = 2,
                                 .refs = &teacher,
                                 .nrefs = 1}};
    rc |= write_all(dir, "logy_reference",
                    &(rt_chart){.title = "λ sweep vs teacher", .panels = logref, .npanels = 2});

    /* 4. gaps: NaN, ±inf, an all-NaN series, an empty series, hostile names */
    double nx[12], ny[12], nan_y[12];
    for (int i = 0; i < 12; i++)
        nx[i] = i, ny[i] = sin(i * 0.5), nan_y[i] = NAN;
    ny[3] = NAN, ny[4] = INFINITY, ny[8] = -INFINITY;
    rt_chart_series gaps[3] = {{"a<b & \"c\" 'd'", nx, ny, NULL, NULL, 12, RT_CHART_LINE},
                               {"all NaN", nx, nan_y, NULL, NULL, 12, RT_CHART_LINE},
                               {"empty", nx, ny, NULL, NULL, 0, RT_CHART_LINE}};
    rt_chart_panel gp = {.title = "gaps <&>", .ylabel = "loss", .series = gaps, .nseries = 3};
    rc |= write_all(dir, "nans", &(rt_chart){.panels = &gp, .npanels = 1});

    /* 5. a 2 x 2 grid, 6. 8 x 100,000 points (downsampled), 7. no panels */
    rt_chart_panel grid[4] = {{.title = "reward", .series = b.s, .nseries = 1},
                              {.title = "accuracy", .series = b.s + 1, .nseries = 1},
                              {.title = "kl_ref", .series = b.s + 2, .nseries = 1, .logy = 1},
                              {.title = "empty"}};
    rc |= write_all(dir, "grid", &(rt_chart){.panels = grid, .npanels = 4, .columns = 2});
    with_bands(&h);
    rt_chart_panel huge = {.title = "8 x 100,000", .series = h.s, .nseries = 8, .smooth = 0.9};
    rc |= write_all(dir, "huge", &(rt_chart){.panels = &huge, .npanels = 1});
    rc |= write_all(dir, "empty", &(rt_chart){0});

    /* 8. final value against a swept key: per-seed dots, mean ± sd with error bars, and
       a held-out evaluation drawn as a line with dots, in a panel with a range */
    double kx[4] = {0.5, 1, 2, 3}, km[4] = {0.6, 0.63, 0.58, 0.5}, klo[4], khi[4];
    double sx[12], sy[12];
    for (int i = 0; i < 12; i++)
        sx[i] = kx[i / 3], sy[i] = km[i / 3] + 0.01 * (i % 3 - 1);
    for (int i = 0; i < 4; i++)
        klo[i] = km[i] - 0.01, khi[i] = km[i] + 0.01;
    rt_chart_series pts[3] = {{"per seed", sx, sy, NULL, NULL, 12, RT_CHART_DOTS},
                              {"mean ± sd", kx, km, klo, khi, 4, RT_CHART_DOTS},
                              {"eval", kx, km, NULL, NULL, 4, RT_CHART_LINE_DOTS}};
    rt_chart_panel pp = {.title = "eval_accuracy vs λ",
                         .xlabel = "lambda",
                         .series = pts,
                         .nseries = 3,
                         .ymin = 0,
                         .ymax = 1};
    rc |= write_all(dir, "points", &(rt_chart){.panels = &pp, .npanels = 1});
    free_data(&a), free_data(&b), free_data(&c), free_data(&h);
    return rc ? 1 : 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ms of reps renders; *bytes = output size. */
static double time_render(render_fn f, const rt_chart *c, int reps, size_t *bytes)
{
    double t[1000];
    if (reps > 1000) reps = 1000;
    for (int r = 0; r < reps; r++) {
        char *out;
        double t0 = now_ms();
        if (f(c, &out, bytes)) return -1;
        t[r] = now_ms() - t0;
        rt_free(out);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp);
    return t[reps / 2];
}

/* Median ms of reps rt_chart_render calls; *bytes = the three outputs together. */
static double time_bundle(const rt_chart *c, int reps, size_t *bytes)
{
    double t[1000];
    if (reps > 1000) reps = 1000;
    for (int r = 0; r < reps; r++) {
        rt_chart_bundle b;
        double t0 = now_ms();
        if (rt_chart_render(c, &b)) return -1;
        t[r] = now_ms() - t0;
        *bytes = b.svg_len + b.vegalite_len + b.text_len;
        rt_chart_bundle_free(&b);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp);
    return t[reps / 2];
}

static int bench(void)
{
    static const struct {
        const char *name;
        render_fn f;
    } fmts[3] = {{"svg", rt_chart_svg}, {"vega-lite", rt_chart_vegalite}, {"text", rt_chart_text}};
    static const size_t sizes[2] = {2000, 100000};
    for (int si = 0; si < 2; si++) {
        for (int band = 0; band < 2; band++) {
            data d;
            if (make_data(&d, 8, sizes[si], "sweep", 1)) return 1;
            if (band) with_bands(&d);
            rt_chart_panel p = {.title = "reward", .ylabel = "reward", .series = d.s, .nseries = 8};
            rt_chart c = {.panels = &p, .npanels = 1};
            int reps = sizes[si] > 10000 ? 51 : 501;
            for (int k = 0; k < 3; k++) {
                size_t bytes = 0;
                double ms = time_render(fmts[k].f, &c, reps, &bytes);
                printf("%-9s 8 x %6zu points%s: %8.3f ms/render (median of %d), %7zu bytes\n",
                       fmts[k].name, sizes[si], band ? " + bands" : "        ", ms, reps, bytes);
            }
            size_t bytes = 0;
            double ms = time_bundle(&c, reps, &bytes);
            printf("bundle    (rt_chart_render, all three): %.3f ms/frame, %zu bytes per "
                   "message; at 4 frames/s %.2f%% of one core\n",
                   ms, bytes, ms * 4 / 1000 * 100);
            free_data(&d);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--emit") == 0) return emit(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: bench-chart [--emit DIR]\n");
        return 2;
    }
    return bench();
}
