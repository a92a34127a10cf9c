/* rt_chart.c: the public entry points of rt_chart.h: prepare (smooth, downsample)
 * once, run one or all renderers, hand the strings over; the mean ± std helper.  Rendering itself
 * is in rt_chart_svg.c, rt_chart_vegalite.c and rt_chart_text.c. */
#include "rt_chart_util.h"

#include "rt_alloc.h"

#include <math.h>

typedef void (*render_fn)(const rt_chart *, const rt_chart_prepared *, rt_strbuf *);

/* Hands b's text to the caller (*out, *len), or frees it and reports RT_ENOMEM. */
static int finish(rt_strbuf *b, char **out, size_t *len)
{
    *out = rt_strbuf_take(b, len);
    return *out ? RT_OK : RT_ENOMEM;
}

static int render_one(const rt_chart *chart, render_fn f, char **out, size_t *len)
{
    if (!out) return RT_EINVAL;
    *out = NULL;
    if (len) *len = 0;
    rt_chart_prepared p;
    int rc = rt_chart_prepare(chart, &p);
    if (rc) return rc;
    rt_strbuf b;
    rt_strbuf_init(&b);
    f(chart, &p, &b);
    rt_chart_prepared_free(&p);
    return finish(&b, out, len);
}

int rt_chart_svg(const rt_chart *chart, char **out, size_t *len)
{
    return render_one(chart, rt_chart_svg_prepared, out, len);
}

int rt_chart_vegalite(const rt_chart *chart, char **out, size_t *len)
{
    return render_one(chart, rt_chart_vegalite_prepared, out, len);
}

int rt_chart_text(const rt_chart *chart, char **out, size_t *len)
{
    return render_one(chart, rt_chart_text_prepared, out, len);
}

void rt_chart_bundle_free(rt_chart_bundle *o)
{
    if (!o) return;
    rt_free(o->vegalite);
    rt_free(o->svg);
    rt_free(o->text);
    *o = (rt_chart_bundle){0};
}

int rt_chart_render(const rt_chart *chart, rt_chart_bundle *o)
{
    if (!o) return RT_EINVAL;
    *o = (rt_chart_bundle){0};
    rt_chart_prepared p;
    int rc = rt_chart_prepare(chart, &p);
    if (rc) return rc;
    rt_strbuf b[3] = {{0}, {0}, {0}};
    rt_chart_vegalite_prepared(chart, &p, &b[0]);
    rt_chart_svg_prepared(chart, &p, &b[1]);
    rt_chart_text_prepared(chart, &p, &b[2]);
    rt_chart_prepared_free(&p);
    int r0 = finish(&b[0], &o->vegalite, &o->vegalite_len);
    int r1 = finish(&b[1], &o->svg, &o->svg_len);
    int r2 = finish(&b[2], &o->text, &o->text_len);
    if (r0 || r1 || r2) {
        rt_chart_bundle_free(o);
        return RT_ENOMEM;
    }
    return RT_OK;
}

void rt_chart_mean_band(const double *const *ys, const size_t *lens, size_t nseeds, size_t n,
                        double k, double *mean, double *lo, double *hi)
{
    for (size_t i = 0; i < n; i++) {
        double sum = 0, m = NAN, sd = 0;
        size_t c = 0;
        for (size_t s = 0; s < nseeds; s++)
            if (i < (lens ? lens[s] : n) && isfinite(ys[s][i])) sum += ys[s][i], c++;
        if (c) {
            m = sum / (double)c;
            double ss = 0;
            for (size_t s = 0; s < nseeds; s++)
                if (i < (lens ? lens[s] : n) && isfinite(ys[s][i]))
                    ss += (ys[s][i] - m) * (ys[s][i] - m);
            sd = c > 1 ? sqrt(ss / (double)(c - 1)) : 0;
        }
        mean[i] = m;
        if (lo) lo[i] = c ? m - k * sd : NAN;
        if (hi) hi[i] = c ? m + k * sd : NAN;
    }
}
