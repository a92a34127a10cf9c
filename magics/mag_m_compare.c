/* mag_m_compare: %compare RUN|NAME|PATTERN... [metric=M] [vs=CONFIG] — paired differences
 * between configurations over seeds, the way a claim that "A beats B" should be read.
 *
 * The runs are selected as %plot selects them (mag_runs.h).  A run's configuration is its
 * name without the seed coordinate (s[lambda=2,seed=3] -> s[lambda=2]; runs of other cells
 * keep their names: s_small[seed=1] -> s_small); its seed is the `seed` key of its
 * configuration ("" when none).  The baseline is the first configuration (or vs=CONFIG);
 * every other configuration is paired with it seed by seed (same seed: with pipelines per
 * seed the same base, teacher and prompts, DESIGN.md), and the table shows per
 * configuration: the seeds (n), the mean +- sd of the metric's final value, then over the
 * paired seeds the mean difference to the baseline, its sd, its standard error sd/sqrt(n),
 * how many differences are > 0 and < 0, and the smallest and largest.  A configuration
 * with no seed in common with the baseline is an error naming both.  metric defaults to
 * eval_accuracy when the runs log it, else the first metric they share.
 *
 * Leaves out: tests of significance (the table gives what one needs: n, the paired
 * differences' sd and sign counts), more than one metric per call. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_runs.h"
#include "mag_train.h"
#include "rt_alloc.h"

static const mag_key_spec compare_keys[] = {
    {.name = "metric",
     .type = MAG_T_STRING,
     .help = "the metric compared (its final value; default eval_accuracy if logged)"},
    {.name = "vs",
     .type = MAG_T_STRING,
     .help = "the baseline configuration (default: the first), e.g. vs=s[lambda=1]"},
};
static const mag_schema compare_schema = {"compare",
                                          compare_keys,
                                          sizeof compare_keys / sizeof compare_keys[0],
                                          "paired differences between configurations",
                                          NULL,
                                          0};

enum { CMP_NAME = MAG_TRAIN_NAME };

typedef struct cmp_run {
    char config[CMP_NAME];
    char seed[64];
    double v; /* the metric's final value */
} cmp_run;

/* 1 if every run logs column m. */
static int all_have(rt_run *const *runs, int n, const char *m)
{
    for (int i = 0; i < n; i++)
        if (rt_run_column_index(runs[i], m) < 0) return 0;
    return 1;
}

/* The metric: metric=M (every run must log it), else eval_accuracy, else the first
 * column (after step) that every run logs. */
static int pick_metric(mag_ctx *ctx, const mag_line *line, const mag_config *cfg,
                       rt_run *const *runs, int n, const char **out, mag_diag *d)
{
    const mag_value *mv = mag_config_get(cfg, "metric", 0);
    if (mv) {
        for (int i = 0; i < n; i++)
            if (rt_run_column_index(runs[i], mv->str) < 0)
                return mag_err(ctx, d, MAG_EVALUE, mv->pos.line ? mv->pos : line->name_pos,
                               "run '%s' has no column '%s'", rt_run_name(runs[i]), mv->str);
        *out = mv->str;
        return 0;
    }
    if (all_have(runs, n, "eval_accuracy")) {
        *out = "eval_accuracy";
        return 0;
    }
    for (int c = 0; c < rt_run_n_columns(runs[0]); c++) {
        const char *m = rt_run_column(runs[0], c);
        if (strcmp(m, "step") && strcmp(m, "tokens") && strcmp(m, "wall") && all_have(runs, n, m)) {
            *out = m;
            return 0;
        }
    }
    return mag_err(ctx, d, MAG_EVALUE, line->name_pos, "the runs share no metric to compare");
}

/* mean and sd (n - 1) of v[0..n) */
static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    *mean = n ? s / n : NAN;
    for (int i = 0; i < n; i++)
        q += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : NAN;
}

/* The table: one row per configuration (the baseline first). */
static cJSON *table(cmp_run *r, int n, char (*cfgs)[CMP_NAME], int ncfg, int base,
                    const char *metric, mag_ctx *ctx, mag_pos at, mag_diag *d, int *rc)
{
    static const char *const hdr[] = {"configuration", "n",         "mean \u00b1 sd", "\u0394 mean",
                                      "sd \u0394",     "se \u0394", "\u0394>0",       "\u0394<0",
                                      "min \u0394",    "max \u0394"};
    enum { NC = 10 };
    double *val = rt_calloc((size_t)n, sizeof *val), *dif = rt_calloc((size_t)n, sizeof *dif);
    double(*num)[NC] = rt_calloc((size_t)ncfg, sizeof *num); /* per row: the numbers */
    int *cnt = rt_calloc((size_t)ncfg * 3, sizeof *cnt);     /* n, >0, <0 */
    mag_table *t = mag_table_new(NC, hdr);
    cJSON *out = NULL;
    *rc = 0;
    if (!val || !dif || !num || !cnt || !t) {
        *rc = mag_err_nomem(d);
        goto done;
    }
    for (int g = 0; g < ncfg; g++) {
        int k = 0, nd = 0;
        for (int i = 0; i < n; i++)
            if (!strcmp(r[i].config, cfgs[g])) val[k++] = r[i].v;
        mean_sd(val, k, &num[g][0], &num[g][1]);
        cnt[3 * g] = k;
        if (g == base) continue;
        for (int i = 0; i < n; i++) {
            if (strcmp(r[i].config, cfgs[g])) continue;
            for (int j = 0; j < n; j++)
                if (!strcmp(r[j].config, cfgs[base]) && !strcmp(r[j].seed, r[i].seed)) {
                    double x = r[i].v - r[j].v;
                    dif[nd++] = x;
                    cnt[3 * g + 1] += x > 0, cnt[3 * g + 2] += x < 0;
                    break;
                }
        }
        if (!nd) {
            *rc = mag_err(ctx, d, MAG_EVALUE, at,
                          "'%s' and the baseline '%s' have no seed in common: nothing to pair",
                          cfgs[g], cfgs[base]);
            goto done;
        }
        double mn = dif[0], mx = dif[0];
        for (int i = 1; i < nd; i++)
            mn = dif[i] < mn ? dif[i] : mn, mx = dif[i] > mx ? dif[i] : mx;
        mean_sd(dif, nd, &num[g][2], &num[g][3]);
        num[g][4] = nd > 1 ? num[g][3] / sqrt((double)nd) : NAN;
        num[g][5] = mn, num[g][6] = mx, num[g][7] = nd;
    }
    /* fixed decimals: the values' own; the differences' own, at most the values' */
    double *col = rt_calloc((size_t)ncfg * 5, sizeof *col);
    if (!col) {
        *rc = mag_err_nomem(d);
        goto done;
    }
    for (int g = 0; g < ncfg; g++) {
        col[g] = num[g][0];
        for (int c = 0; c < 4; c++)
            col[ncfg + 4 * g + c] =
                g == base ? NAN : (double[]){num[g][2], num[g][3], num[g][5], num[g][6]}[c];
    }
    int dv = mag_fmt_decimals(col, (size_t)ncfg),
        dd = mag_fmt_decimals(col + ncfg, (size_t)ncfg * 4);
    if (dv > 0 && (dd > dv || dd < 0)) dd = dv; /* differences in the values' own precision */
    rt_free(col);
    for (int o = 0; o < ncfg; o++) {
        int g = o == 0 ? base : (o <= base ? o - 1 : o);
        char c[NC][96];
        const char *row[NC];
        char m[48], s[48];
        mag_fmt_fixed(num[g][0], dv, 0, m, sizeof m);
        mag_fmt_fixed(num[g][1], dv, 1, s, sizeof s);
        snprintf(c[0], sizeof c[0], "%s", cfgs[g]); /* the baseline first: the caption names it */
        snprintf(c[1], sizeof c[1], "%d", cnt[3 * g]);
        snprintf(c[2], sizeof c[2], s[0] ? "%s \u00b1 %s" : "%s", m, s);
        for (int k = 3; k < NC; k++)
            c[k][0] = '\0';
        if (g != base) {
            char v[48];
            mag_fmt_fixed(num[g][2], dd, 0, v, sizeof v);
            snprintf(c[3], sizeof c[3], "%s%s", num[g][2] > 0 ? "+" : "", v);
            mag_fmt_fixed(num[g][3], dd, 1, c[4], sizeof c[4]);
            mag_fmt_fixed(num[g][4], dd, 1, c[5], sizeof c[5]);
            snprintf(c[6], sizeof c[6], "%d/%d", cnt[3 * g + 1], (int)num[g][7]);
            snprintf(c[7], sizeof c[7], "%d/%d", cnt[3 * g + 2], (int)num[g][7]);
            mag_fmt_fixed(num[g][5], dd, 0, c[8], sizeof c[8]);
            mag_fmt_fixed(num[g][6], dd, 0, c[9], sizeof c[9]);
        }
        for (int k = 0; k < NC; k++)
            row[k] = c[k];
        if (mag_table_row(t, row)) {
            *rc = mag_err_nomem(d);
            goto done;
        }
    }
    char cap[600];
    snprintf(cap, sizeof cap,
             "%s (final values): paired by seed against %s; \u0394 = configuration - baseline",
             metric, cfgs[base]);
    out = mag_table_bundle(t, cap);
    if (!out) *rc = mag_err_nomem(d);
done:
    rt_free(val), rt_free(dif), rt_free(num), rt_free(cnt);
    mag_table_free(t);
    return out;
}

static int run_compare(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                       const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)cell;
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    rt_run **runs = rt_calloc(nall + 1, sizeof *runs);
    cmp_run *r = rt_calloc(nall + 1, sizeof *r);
    char(*cfgs)[CMP_NAME] = rt_calloc(nall + 1, sizeof *cfgs);
    int n = 0, ncfg = 0, rc = 0, base = 0;
    const char *metric = NULL;
    if (!runs || !r || !cfgs) {
        rc = mag_err_nomem(d);
        goto done;
    }
    for (size_t i = 0;; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        if (!a) break;
        const char *w = mag_arg_word(line, i);
        if (!w) {
            rc = mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                         "expected a run name, a sweep cell's name or a pattern, got %s",
                         a->value.text);
            goto done;
        }
        if (!mag_runs_select(ctx->session, w, runs, &n)) {
            rc = strchr(w, '*') || strchr(w, '?')
                     ? mag_err(ctx, d, MAG_EVALUE, a->value.pos, "no run matches '%s'", w)
                     : mag_err_unknown(d, ctx, MAG_RUN, w, a->value.pos);
            goto done;
        }
    }
    if (n == 0) {
        rc = mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                     "%%compare needs runs: %%compare NAME (a sweep with seeds) or RUN RUN...");
        goto done;
    }
    rc = pick_metric(ctx, line, cfg, runs, n, &metric, d);
    if (rc) goto done;
    for (int i = 0; i < n; i++) {
        mag_train_strip_seed(rt_run_name(runs[i]), r[i].config, sizeof r[i].config);
        char buf[64];
        const char *sv = mag_run_key(runs[i], "seed", buf, sizeof buf);
        snprintf(r[i].seed, sizeof r[i].seed, "%s", sv ? sv : "");
        r[i].v = mag_bridge_last(runs[i], metric);
        int g = 0;
        while (g < ncfg && strcmp(cfgs[g], r[i].config))
            g++;
        if (g == ncfg) snprintf(cfgs[ncfg++], CMP_NAME, "%s", r[i].config);
        for (int j = 0; j < i; j++)
            if (!strcmp(r[j].config, r[i].config) && !strcmp(r[j].seed, r[i].seed)) {
                rc = mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                             "runs '%s' and '%s' are the same configuration and seed",
                             rt_run_name(runs[j]), rt_run_name(runs[i]));
                goto done;
            }
    }
    if (ncfg < 2) {
        rc = mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                     "%%compare needs two configurations or more; the runs are all '%s'", cfgs[0]);
        goto done;
    }
    const mag_value *vs = mag_config_get(cfg, "vs", 0);
    if (vs) {
        base = -1;
        for (int g = 0; g < ncfg && base < 0; g++)
            if (!strcmp(cfgs[g], vs->str)) base = g;
        if (base < 0) {
            rc = mag_err(ctx, d, MAG_EVALUE, vs->pos.line ? vs->pos : line->name_pos,
                         "vs=%s is not one of the configurations (%s, %s%s)", vs->str, cfgs[0],
                         cfgs[1], ncfg > 2 ? ", ..." : "");
            goto done;
        }
    }
    cJSON *b = table(r, n, cfgs, ncfg, base, metric, ctx, line->name_pos, d, &rc);
    if (!rc) mag_show(ctx->out, b);
done:
    rt_free(runs), rt_free(r), rt_free(cfgs);
    return rc;
}

static const mag_magic compare_magic = {
    .name = "compare",
    .schema = &compare_schema,
    .usage = "%compare RUN|NAME|PATTERN... [metric=M] [vs=CONFIG]",
    .help = "Paired differences between configurations over seeds.  A run's configuration\n"
            "is its name without the seed (s[lambda=2,seed=3] -> s[lambda=2]); each\n"
            "configuration is paired seed by seed with the baseline (the first, or\n"
            "vs=CONFIG): with the same seed, a pipeline per seed shares its base, teacher and\n"
            "evaluation prompts, so the difference removes what the seeds share.  Shows the\n"
            "final value's mean +- sd per configuration, and over the paired seeds the mean\n"
            "difference, its sd and standard error, how many differences are > 0 and < 0,\n"
            "and the smallest and largest.  metric= (default eval_accuracy when logged).\n"
            "Example: %compare s metric=eval_accuracy vs=s[lambda=1]",
    .run = run_compare,
    .positional = "run",
};

const mag_magic *const mag_compare_magics[] = {&compare_magic, NULL};
