/* mag_m_io: files.  %export FILE.csv|FILE.json [RUN...] writes the metrics of runs
 * (every run when none is named); %save POLICY FILE and %load NAME FILE write and read
 * policy files (rt_model_save_meta / rt_model_load_meta: magic, version, shape,
 * checksum) with the policy's task definition and lineage as metadata (mag_lineage.h).
 * %load re-creates the file's task when the session has none of that name, binds to the
 * session's task when it has the same definition, and otherwise defines the file's task
 * under NAME.N (the first free N) and says so.
 *
 * CSV: a header "run,<columns>" (the union of the runs' columns in first-appearance
 * order), then one line per metrics row; numbers as %.17g (exact round trip), NaN as
 * "nan", a column the run does not have left empty; run names quoted when they hold a
 * comma or a quote.  JSON: {"runs": [{"name", "status", "steps", "columns": [...],
 * "rows": [[...], ...]}]} with NaN/Inf as null.  Errors name the path. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_lineage.h"
#include "mag_magic.h"
#include "rt_alloc.h"
#include "rt_policy.h"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void csv_name(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void write_csv(FILE *f, rt_run *const *runs, int n)
{
    const char *cols[64];
    int nc = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < rt_run_n_columns(runs[i]); c++) {
            const char *name = rt_run_column(runs[i], c);
            int dup = 0;
            for (int j = 0; j < nc; j++)
                dup |= !strcmp(cols[j], name);
            if (!dup && nc < 64) cols[nc++] = name;
        }
    fputs("run", f);
    for (int j = 0; j < nc; j++)
        fprintf(f, ",%s", cols[j]);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        rt_run_snapshot s;
        if (rt_run_snapshot_take(runs[i], &s)) continue;
        int idx[64];
        for (int j = 0; j < nc; j++)
            idx[j] = rt_run_column_index(runs[i], cols[j]);
        for (long r = 0; r < s.rows; r++) {
            csv_name(f, rt_run_name(runs[i]));
            for (int j = 0; j < nc; j++) {
                fputc(',', f);
                if (idx[j] < 0) continue;
                double v = s.values[r * s.n_columns + idx[j]];
                if (isnan(v))
                    fputs("nan", f);
                else if (isinf(v))
                    fputs(v > 0 ? "inf" : "-inf", f);
                else
                    fprintf(f, "%.17g", v);
            }
            fputc('\n', f);
        }
        rt_run_snapshot_free(&s);
    }
}

static char *json_text(rt_run *const *runs, int n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "runs");
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        long step = 0;
        rt_run_status st = rt_run_status_of(runs[i], &step, NULL, 0);
        cJSON_AddStringToObject(o, "name", rt_run_name(runs[i]));
        cJSON_AddStringToObject(o, "status", rt_run_status_name(st));
        cJSON_AddNumberToObject(o, "steps", (double)step);
        cJSON *cols = cJSON_AddArrayToObject(o, "columns");
        for (int c = 0; c < rt_run_n_columns(runs[i]); c++)
            cJSON_AddItemToArray(cols, cJSON_CreateString(rt_run_column(runs[i], c)));
        cJSON *rows = cJSON_AddArrayToObject(o, "rows");
        rt_run_snapshot s;
        if (rt_run_snapshot_take(runs[i], &s)) continue;
        for (long r = 0; r < s.rows; r++) {
            cJSON *row = cJSON_CreateArray();
            cJSON_AddItemToArray(rows, row);
            for (int c = 0; c < s.n_columns; c++) {
                double v = s.values[r * s.n_columns + c];
                cJSON_AddItemToArray(row, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
            }
        }
        rt_run_snapshot_free(&s);
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    return txt;
}

static int run_export(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)cfg;
    const mag_kv *fa = mag_arg_pos(line, 0);
    const char *path = mag_arg_word(line, 0);
    if (!path)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL,
                            "%%export needs a file: %%export FILE.csv|FILE.json [RUN...]");
    int json = ends_with(path, ".json");
    if (!json && !ends_with(path, ".csv"))
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, fa->value.pos.line,
                            fa->value.pos.col, NULL,
                            "cannot export to '%s': the file name must end in .csv or .json", path);
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    rt_run **runs = rt_calloc(nall + line->nargs + 1, sizeof *runs);
    if (!runs) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    int n = 0;
    for (size_t i = 1;; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        if (!a) break;
        const char *w = mag_arg_word(line, i);
        rt_run *r = w ? mag_session_get(ctx->session, MAG_RUN, w) : NULL;
        if (!r) {
            rt_free(runs);
            return mag_err_unknown(d, ctx, MAG_RUN, w ? w : a->value.text, a->value.pos);
        }
        runs[n++] = r;
    }
    if (n == 0)
        for (size_t i = 0; i < nall; i++)
            runs[n++] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    if (n == 0) {
        rt_free(runs);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL, "no runs to export");
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        rt_free(runs);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fa->value.pos.line,
                            fa->value.pos.col, NULL, "cannot write '%s': %s", path, strerror(e));
    }
    if (json) {
        char *t = json_text(runs, n);
        if (t) {
            fputs(t, f);
            fputc('\n', f);
        }
        rt_free(t);
    } else {
        write_csv(f, runs, n);
    }
    int bad = ferror(f);
    if (fclose(f)) bad = 1;
    rt_free(runs);
    if (bad)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fa->value.pos.line,
                            fa->value.pos.col, NULL, "cannot write '%s': %s", path,
                            strerror(errno));
    krn_out_printf(ctx->out, KRN_STDOUT, "wrote %d run%s to %s\n", n, n == 1 ? "" : "s", path);
    return 0;
}

static int need_two(mag_ctx *ctx, const mag_line *line, const char *usage, const char **a,
                    const char **b, mag_diag *d)
{
    *a = mag_arg_word(line, 0);
    *b = mag_arg_word(line, 1);
    const mag_kv *extra = mag_arg_pos(line, 2);
    if (!*a || !*b)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL, "usage: %s", usage);
    if (extra)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, extra->value.pos.line,
                            extra->value.pos.col, NULL, "unexpected argument '%s'; usage: %s",
                            extra->value.text, usage);
    return 0;
}

static int run_save(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)cfg;
    const char *name, *path;
    int rc = need_two(ctx, line, "%save POLICY FILE", &name, &path, d);
    if (rc) return rc;
    const rt_policy *p = mag_session_get(ctx->session, MAG_POLICY, name);
    if (!p) return mag_err_unknown(d, ctx, MAG_POLICY, name, mag_arg_pos(line, 0)->value.pos);
    rt_diag pd = {0};
    char *meta = mag_policy_meta(ctx->session, name);
    if (!meta) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    rc = rt_model_save_meta(&p->model, meta, path, &pd);
    rt_free(meta);
    if (rc) {
        mag_pos fp = mag_arg_pos(line, 1)->value.pos;
        if (rc == RT_ENOMEM)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fp.line, fp.col, NULL,
                            "cannot save policy '%s' to '%s': %s", name, path, pd.msg);
    }
    const mag_entry *e = mag_session_entry(ctx->session, MAG_POLICY, name);
    if (e->task && mag_session_get(ctx->session, MAG_TASK, e->task))
        krn_out_printf(ctx->out, KRN_STDOUT, "saved policy '%s' (task %s) to %s\n", name,
                       e->task, path);
    else
        krn_out_printf(ctx->out, KRN_STDOUT, "saved policy '%s' to %s\n", name, path);
    return 0;
}

static void free_policy(void *p)
{
    rt_policy_free(p);
}

static void free_task(void *t)
{
    rt_task_free(t);
}

/* The task of a loaded file's metadata, bound into the session: *task_name = the name
 * the policy refers to ("" when the file has none), *added = the name of a task this
 * cell defined (to undo), notes for the output in note[cap].  0 or a MAG_E* code. */
static int bind_task(mag_ctx *ctx, const char *meta, const char *path, char *task_name,
                     size_t tcap, char *added, char *note, size_t ncap, mag_diag *d)
{
    char want[MAG_NAME_MAX * 4 + 1];
    task_name[0] = added[0] = note[0] = '\0';
    if (!mag_meta_get(meta, "task", want, sizeof want) || !want[0]) return 0;
    rt_task *t = NULL;
    rt_diag err = {0};
    int rc = mag_name_check(want, err.msg, sizeof err.msg) ? RT_EINVAL
                                                           : mag_task_from_meta(meta, &t, &err);
    if (rc == RT_ENOMEM) return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (rc) { /* a kind or key this version does not know: the policy loads without it */
        snprintf(note, ncap, "the file's task '%s' cannot be re-created (%s); give one with "
                 "task=TASK\n", want, err.msg);
        return 0;
    }
    const rt_task *have = mag_session_get(ctx->session, MAG_TASK, want);
    if (have && mag_task_same(have, t)) { /* the same definition: bind to the session's */
        rt_task_free(t);
        snprintf(task_name, tcap, "%s", want);
        return 0;
    }
    char name[MAG_NAME_MAX * 4 + 16];
    snprintf(name, sizeof name, "%s", want);
    for (int i = 2; have; i++) { /* a different task of that name: the first free NAME.N */
        snprintf(name, sizeof name, "%s.%d", want, i);
        have = mag_session_get(ctx->session, MAG_TASK, name);
        if (have && mag_task_same(have, t)) break; /* loaded before */
    }
    if (have) {
        rt_task_free(t);
        snprintf(task_name, tcap, "%s", name);
        snprintf(note, ncap, "task '%s' of the session differs from the file's; the policy is "
                 "bound to the file's task, defined before as '%s'\n", want, name);
        return 0;
    }
    char summary[256], *desc = rt_malloc(1024);
    if (!desc) {
        rt_task_free(t);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), name);
    rt_task_describe(t, &rng, 0, desc, 1024);
    char *nl = strchr(desc, '\n');
    if (nl) *nl = 0;
    snprintf(summary, sizeof summary, "%s", desc);
    rt_free(desc);
    if (mag_session_put(ctx->session, MAG_TASK, name, t, free_task, summary, NULL) < 0)
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    snprintf(task_name, tcap, "%s", name);
    snprintf(added, tcap, "%s", name);
    if (strcmp(name, want) == 0)
        snprintf(note, ncap, "task %s: %s (from %s)\n", name, summary, path);
    else
        snprintf(note, ncap, "task '%s' of the session differs from the file's; the file's task "
                 "is defined as '%s' (%s) and the policy is bound to it\n", want, name, summary);
    return 0;
}

static int run_load(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)cfg;
    const char *name, *path;
    int rc = need_two(ctx, line, "%load NAME FILE", &name, &path, d);
    if (rc) return rc;
    if ((rc = mag_check_name(ctx, name, mag_arg_pos(line, 0)->value.pos, d))) return rc;
    rt_model *mdl = NULL;
    char *meta = NULL;
    rt_diag pd = {0};
    mag_pos fp = mag_arg_pos(line, 1)->value.pos;
    if ((rc = rt_model_load_meta(&mdl, &meta, path, &pd))) {
        if (rc == RT_ENOMEM)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
        /* the runtime's message may or may not name the file: make sure it does */
        if (strstr(pd.msg, path))
            return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fp.line, fp.col, NULL,
                                "cannot load policy: %s", pd.msg);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fp.line, fp.col, NULL,
                            "cannot load policy from '%s': %s", path, pd.msg);
    }
    rt_policy *p = rt_policy_of(mdl);
    if (!p) {
        rt_model_free(mdl);
        rt_free(meta);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fp.line, fp.col, NULL,
                            "cannot load policy: %.60s: not an mlp policy", path);
    }
    char task[MAG_NAME_MAX * 4 + 16], added[MAG_NAME_MAX * 4 + 16], note[1400];
    char *lineage = meta[0] ? mag_lineage_loaded(meta, path) : NULL;
    if (meta[0] && !lineage)
        rc = mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    else /* last before storing the policy: a task it defines is removed again on error */
        rc = bind_task(ctx, meta, path, task, sizeof task, added, note, sizeof note, d);
    rt_free(meta);
    if (rc) {
        rt_policy_free(p);
        rt_free(lineage);
        return rc;
    }
    char summ[300];
    int o = snprintf(summ, sizeof summ, "mlp V=%d K=%d D=%d H=%d L=%d %s, loaded from %s",
                     p->cfg.vocab, p->cfg.context, p->cfg.embed, p->cfg.hidden, p->cfg.layers,
                     p->cfg.act == RT_NN_ACT_GELU ? "gelu" : "relu", path);
    if (task[0] && o > 0 && (size_t)o < sizeof summ)
        snprintf(summ + o, sizeof summ - (size_t)o, " (task %s)", task);
    /* a file without a task: the loaded policy keeps the task of the policy it replaces */
    const mag_entry *old = mag_session_entry(ctx->session, MAG_POLICY, name);
    if (!task[0] && old && old->task) snprintf(task, sizeof task, "%s", old->task);
    int put = mag_session_put_lineage(ctx->session, MAG_POLICY, name, p, free_policy, summ,
                                      task[0] ? task : NULL, lineage);
    if (put < 0) { /* the task this cell defined goes too */
        if (added[0]) mag_session_remove(ctx->session, MAG_TASK, added);
        rt_free(lineage);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    if (note[0]) krn_out_printf(ctx->out, KRN_STDOUT, "%s", note);
    if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, summ);
    /* the lineage, indented, after its first line (which says where it was loaded from) */
    const char *l2 = lineage ? strchr(lineage, '\n') : NULL;
    for (const char *l = l2 ? l2 + 1 : NULL; l && *l;) {
        const char *nl = strchr(l, '\n');
        int n = nl ? (int)(nl - l) : (int)strlen(l);
        krn_out_printf(ctx->out, KRN_STDOUT, "  %.*s\n", n, l);
        l = nl ? nl + 1 : NULL;
    }
    rt_free(lineage);
    return 0;
}

static const mag_magic export_magic = {
    .name = "export",
    .usage = "%export FILE.csv|FILE.json [RUN...]",
    .help = "Writes the metrics of the named runs (all runs when none is named) as CSV\n"
            "(run,<columns>; one line per row) or JSON ({\"runs\": [...]}).",
    .run = run_export,
    .positional = "-,run",
};

static const mag_magic save_magic = {
    .name = "save",
    .usage = "%save POLICY FILE",
    .help = "Writes POLICY's weights to FILE (magic, version, shape and checksum) with its\n"
            "task's definition (kind and settings) and its lineage (the cell that made it,\n"
            "its settings and sources), so that %load restores them.",
    .run = run_save,
    .positional = "policy,-",
};

static const mag_magic load_magic = {
    .name = "load",
    .usage = "%load NAME FILE",
    .help = "Reads a policy file written by %save and defines policy NAME, bound to the file's\n"
            "task: re-created under its name when the session has no task of that name,\n"
            "the session's when it has the same definition, else defined as NAME.2 (the\n"
            "first free number; the message says so).  Shows the policy's lineage (also in\n"
            "%who NAME).  Files without a task (older versions) keep the task of the policy\n"
            "NAME replaces, if any.",
    .run = run_load,
    .positional = "-,-",
};

const mag_magic *const mag_io_magics[] = {&export_magic, &save_magic, &load_magic, NULL};
