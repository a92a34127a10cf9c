/* mag_m_runs: %runs — the table of runs (name, status, steps, task, final metrics);
 * %plot RUN... [metric=M] [smooth=S] [logy] — a static chart redrawn from stored runs
 * (the same bundle as a training cell's final frame).  Without RUN, %plot draws every
 * run.  Leaves out: wildcards in run names. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "rt_alloc.h"

/* Metric columns shown by %runs and drawn by default: every column of the runs in
 * first-appearance order, except the bookkeeping ones. */
static int skip_col(const char *c)
{
    return !strcmp(c, "step") || !strcmp(c, "tokens") || !strcmp(c, "wall");
}

static int collect_metrics(rt_run *const *runs, int n, const char **out, int cap)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < rt_run_n_columns(runs[i]); c++) {
            const char *name = rt_run_column(runs[i], c);
            if (skip_col(name)) continue;
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= !strcmp(out[j], name);
            if (!dup && k < cap) out[k++] = name;
        }
    return k;
}

static int run_runs(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)cfg;
    const mag_kv *extra = mag_arg_pos(line, 0);
    if (extra)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, extra->value.pos.line,
                            extra->value.pos.col, NULL, "%%runs takes no arguments");
    size_t n = mag_session_count(ctx->session, MAG_RUN);
    if (n == 0) {
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "no runs yet (a %%%%policy with sft_steps > 0 makes one)\n");
        return 0;
    }
    rt_run **runs = rt_calloc(n, sizeof *runs);
    if (!runs) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        runs[i] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    const char *mets[16];
    int nm = collect_metrics(runs, (int)n, mets, 16);
    const char *hdr[20] = {"run", "status", "steps", "task"};
    for (int j = 0; j < nm; j++)
        hdr[4 + j] = mets[j];
    mag_table *t = mag_table_new(4 + nm, hdr);
    char cells[20][64];
    for (size_t i = 0; t && i < n; i++) {
        const mag_entry *e = mag_session_at(ctx->session, MAG_RUN, i);
        long step = 0;
        rt_run_status st = rt_run_status_of(runs[i], &step, NULL, 0);
        const char *row[20] = {e->name, rt_run_status_name(st), cells[2], e->task ? e->task : ""};
        snprintf(cells[2], 64, "%ld", step);
        for (int j = 0; j < nm; j++) {
            mag_fmt_num(mag_bridge_last(runs[i], mets[j]), 1, cells[4 + j], 64);
            row[4 + j] = cells[4 + j];
        }
        if (mag_table_row(t, row)) {
            mag_table_free(t);
            t = NULL;
        }
    }
    mag_show(ctx->out, t ? mag_table_bundle(t, NULL) : NULL);
    mag_table_free(t);
    rt_free(runs);
    return 0;
}

/* "p[lr=1e-3,seed=2]" -> "p[lr=1e-3]", "p[seed=2]" -> "p"; other names unchanged. */
static void seed_label(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", name);
    char *br = strchr(buf, '[');
    size_t n = strlen(buf);
    if (!br || n == 0 || buf[n - 1] != ']') return;
    char *seed = strstr(br, "seed=");
    if (!seed || (seed[-1] != '[' && seed[-1] != ',')) return;
    char *end = seed + 5;
    while (*end && *end != ',' && *end != ']')
        end++;
    if (*end == ',') {
        memmove(seed, end + 1, strlen(end + 1) + 1); /* "seed=2," dropped */
    } else if (seed[-1] == ',') {
        memmove(seed - 1, end, strlen(end) + 1); /* ",seed=2" dropped */
    } else {
        *br = 0; /* "[seed=2]" was the only coordinate */
    }
}

static const mag_key_spec plot_keys[] = {
    {.name = "metric", .type = MAG_T_STRING, .help = "the metric to draw (default: all)"},
    {.name = "smooth",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN | MAG_K_MAX_EXCL,
     .min = 0,
     .max = 1,
     .def = "0",
     .help = "EMA smoothing weight in [0, 1)"},
    {.name = "logy", .type = MAG_T_BOOL, .def = "false", .help = "logarithmic y axis"},
};
static const mag_schema plot_schema = {"plot", plot_keys, sizeof plot_keys / sizeof plot_keys[0],
                                       "redraws the curves of stored runs"};

static int run_plot(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    int logy = mag_value_bool(mag_config_get(cfg, "logy", 0), 0);
    double smooth = mag_value_number(mag_config_get(cfg, "smooth", 0), 0);
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    rt_run **runs = rt_calloc(nall + line->nargs + 1, sizeof *runs);
    if (!runs) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    int n = 0;
    for (size_t i = 0;; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        if (!a) break;
        const char *w = mag_arg_word(line, i);
        rt_run *r = w ? mag_session_get(ctx->session, MAG_RUN, w) : NULL;
        if (!r && w && !strcmp(w, "logy")) {
            logy = 1;
            continue;
        }
        if (!r) {
            rt_free(runs);
            if (!w)
                return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, a->value.pos.line,
                                    a->value.pos.col, NULL, "expected a run name, got %s",
                                    a->value.text);
            return mag_err_unknown(d, ctx, MAG_RUN, w, a->value.pos);
        }
        runs[n++] = r;
    }
    if (n == 0)
        for (size_t i = 0; i < nall; i++)
            runs[n++] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    if (n == 0) {
        rt_free(runs);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL, "no runs to plot");
    }
    const char *mets[16];
    int nm;
    const mag_value *mv = mag_config_get(cfg, "metric", 0);
    if (mv) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= rt_run_column_index(runs[i], mv->str) >= 0;
        if (!found) {
            const char *cand[16];
            int nc = collect_metrics(runs, n, cand, 16);
            const char *sug = rt_did_you_mean(mv->str, cand, (size_t)nc);
            rt_free(runs);
            if (sug)
                return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, mv->pos.line, mv->pos.col,
                                    NULL, "unknown metric '%s' (did you mean '%s'?)", mv->str, sug);
            return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, mv->pos.line, mv->pos.col, NULL,
                                "unknown metric '%s'", mv->str);
        }
        mets[0] = mv->str;
        nm = 1;
    } else {
        nm = collect_metrics(runs, n, mets, 16);
        if (nm > 6) nm = 6;
    }
    /* runs that differ only by their seed coordinate share a label: one band */
    char(*labels)[256] = rt_calloc((size_t)n, sizeof *labels);
    const char **lp = rt_calloc((size_t)n, sizeof *lp);
    cJSON *b = NULL;
    if (labels && lp) {
        for (int i = 0; i < n; i++) {
            seed_label(rt_run_name(runs[i]), labels[i], sizeof labels[i]);
            lp[i] = labels[i];
        }
        b = mag_bridge_chart(runs, lp, n, NULL, NULL, mets, nm, smooth, logy, 1.0);
    }
    rt_free(labels);
    rt_free(lp);
    rt_free(runs);
    mag_show_final_chart(ctx->out, b);
    return 0;
}

static const mag_magic runs_magic = {
    .name = "runs",
    .usage = "%runs",
    .help = "Lists the runs of the session: name, status (finished, interrupted, failed),\n"
            "steps done, task and the last value of each metric.",
    .run = run_runs,
};

static const mag_magic plot_magic = {
    .name = "plot",
    .schema = &plot_schema,
    .usage = "%plot RUN... [metric=M] [smooth=S] [logy]",
    .help = "Redraws the curves of stored runs (every run when none is named), one panel\n"
            "per metric, or only metric=M; smooth= applies EMA smoothing, logy a log axis.",
    .run = run_plot,
    .positional = "run",
};

const mag_magic *const mag_runs_magics[] = {&runs_magic, &plot_magic, NULL};
