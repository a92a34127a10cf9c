/* mag_m_io: files.  %export FILE.csv|FILE.jsonl|FILE.json [RUN...] writes the metrics
 * and configuration of runs (every run when none is named; the format by the file's
 * extension); %save POLICY FILE and %load NAME FILE write and read policy files
 * (rt_model_save_meta / rt_model_load_meta: magic, version, shape, checksum) with the
 * policy's task definition and lineage as metadata (mag_lineage.h).  %load re-creates
 * the file's task when the session has none of that name, binds to the session's task
 * when it has the same definition, and otherwise defines the file's task under NAME.N
 * (the first free N) and says so.
 *
 * A run's configuration is its sweep point's key = value settings as written
 * (rt_run_config_*, set by the training cells).  CSV: a header "run,<config>,<metrics>"
 * — the union of the runs' configuration keys, then the union of their metric columns,
 * each in first-appearance order, with "wall" (not deterministic) last — then one line
 * per metrics row; numbers as %.17g (exact round trip), NaN as "nan", a key or column
 * the run does not have left empty; fields quoted when they hold a comma, a quote or a
 * line break.  A configuration key named "run" or like a metric is written config_KEY.
 * JSONL: one object per metrics row {"run", <config>, "step", <metrics>, "wall"} (what
 * pandas.read_json(path, lines=True) reads), configuration values typed (decimal numbers
 * as numbers, true/false as booleans, else strings).  JSON: {"runs": [{"name", "status",
 * "steps", "config": {...}, "columns": [...], "rows": [[...], ...]}]}.  In JSON and JSONL
 * NaN and infinities are null.  Errors name the path.  Leaves out: runs loaded from
 * files (policy files carry a lineage, not runs). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mag_bridge.h"
#include "mag_lineage.h"
#include "mag_magic.h"
#include "mag_prefs.h"
#include "mag_runs.h"
#include "rt_alloc.h"
#include "rt_policy.h"
#include "mag_train.h"
#include "rt_tilt.h"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

enum { EX_NONE, EX_CSV, EX_JSONL, EX_JSON };

static int format_of(const char *path)
{
    return ends_with(path, ".csv")     ? EX_CSV
           : ends_with(path, ".jsonl") ? EX_JSONL
           : ends_with(path, ".json")  ? EX_JSON
                                       : EX_NONE;
}

/* A CSV field: as it is, or quoted (quotes doubled) when it holds a comma, a quote or a
 * line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
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

static void csv_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.17g", v);
}

/* The columns of an export of runs[0..n): the configuration keys (their union in
 * first-appearance order; cfg_col is the column's name: the key, or "config_KEY" when the
 * key is "run" or a metric's name), then the metric columns (their union in
 * first-appearance order, "wall" moved to the end).  All names borrowed from the runs. */
typedef struct columns {
    const char **cfg, **met;
    char **cfg_col; /* owned */
    int ncfg, nmet;
} columns;

static void columns_free(columns *c)
{
    for (int i = 0; c->cfg_col && i < c->ncfg; i++)
        rt_free(c->cfg_col[i]);
    rt_free(c->cfg_col);
    rt_free(c->cfg);
    rt_free(c->met);
}

static int find(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

static int columns_of(rt_run *const *runs, int n, columns *c)
{
    memset(c, 0, sizeof *c);
    size_t tc = 0, tm = 0;
    for (int i = 0; i < n; i++) {
        tc += (size_t)rt_run_n_config(runs[i]);
        tm += (size_t)rt_run_n_columns(runs[i]);
    }
    c->cfg = rt_calloc(tc + 1, sizeof *c->cfg);
    c->cfg_col = rt_calloc(tc + 1, sizeof *c->cfg_col);
    c->met = rt_calloc(tm + 1, sizeof *c->met);
    if (!c->cfg || !c->cfg_col || !c->met) return MAG_ENOMEM;
    int wall = 0;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < rt_run_n_config(runs[i]); k++) {
            const char *key = rt_run_config_key(runs[i], k);
            if (find(c->cfg, c->ncfg, key) < 0) c->cfg[c->ncfg++] = key;
        }
        for (int k = 0; k < rt_run_n_columns(runs[i]); k++) {
            const char *col = rt_run_column(runs[i], k);
            if (!strcmp(col, "wall"))
                wall = 1;
            else if (find(c->met, c->nmet, col) < 0)
                c->met[c->nmet++] = col;
        }
    }
    if (wall) c->met[c->nmet++] = "wall";
    for (int k = 0; k < c->ncfg; k++) {
        const char *key = c->cfg[k];
        int clash = !strcmp(key, "run") || find(c->met, c->nmet, key) >= 0;
        size_t len = strlen(key) + 8;
        if (!(c->cfg_col[k] = rt_malloc(len))) return MAG_ENOMEM;
        snprintf(c->cfg_col[k], len, "%s%s", clash ? "config_" : "", key);
    }
    return 0;
}

/* CSV: run, the configuration columns, the metric columns (wall last). */
static int write_csv(FILE *f, rt_run *const *runs, int n, const columns *c)
{
    int *idx = rt_calloc((size_t)c->nmet + 1, sizeof *idx);
    if (!idx) return MAG_ENOMEM;
    fputs("run", f);
    for (int k = 0; k < c->ncfg; k++) {
        fputc(',', f);
        csv_field(f, c->cfg_col[k]);
    }
    for (int j = 0; j < c->nmet; j++) {
        fputc(',', f);
        csv_field(f, c->met[j]);
    }
    fputc('\n', f);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        rt_run_snapshot s;
        if (rt_run_snapshot_take(runs[i], &s)) {
            rc = MAG_ENOMEM;
            break;
        }
        for (int j = 0; j < c->nmet; j++)
            idx[j] = rt_run_column_index(runs[i], c->met[j]);
        for (long r = 0; r < s.rows; r++) {
            csv_field(f, rt_run_name(runs[i]));
            for (int k = 0; k < c->ncfg; k++) {
                const char *v = rt_run_config_get(runs[i], c->cfg[k]);
                fputc(',', f);
                if (v) csv_field(f, v);
            }
            for (int j = 0; j < c->nmet; j++) {
                fputc(',', f);
                if (idx[j] >= 0) csv_number(f, s.values[r * s.n_columns + idx[j]]);
            }
            fputc('\n', f);
        }
        rt_run_snapshot_free(&s);
    }
    rt_free(idx);
    return rc;
}

/* v as a JSON number in its shortest form that reads back exactly (cJSON's own printing
 * may drop the last bit), or null when v is NaN or infinite. */
static cJSON *json_number(double v)
{
    if (!isfinite(v)) return cJSON_CreateNull();
    char buf[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return cJSON_CreateRaw(buf);
}

/* A configuration value as JSON: a number when the text is a decimal number ("1e-3",
 * "-2", "0.5"), true/false, else the text as a string. */
static cJSON *json_config_value(const char *s)
{
    if (!strcmp(s, "true") || !strcmp(s, "false")) return cJSON_CreateBool(s[0] == 't');
    const char *p = s + (*s == '-');
    if ((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (!*end && !strpbrk(s, "xXpP") && isfinite(v) && errno != ERANGE) return json_number(v);
    }
    return cJSON_CreateString(s);
}

/* Adds item (may be NULL: out of memory) to o under key; 0, or 1 with item freed. */
static int add(cJSON *o, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(o, key, item)) return 0;
    cJSON_Delete(item);
    return 1;
}

/* JSON Lines: one object per metrics row: run, the configuration (typed), the metrics
 * in the run's column order with wall last; NaN and infinities as null. */
/* One JSONL row of run (its values row[], the run's columns; wall: the index of "wall",
 * written last, or -1).  0 or MAG_ENOMEM. */
static int jsonl_row(FILE *f, rt_run *run, const columns *c, const double *row, int wall)
{
    cJSON *o = cJSON_CreateObject();
    int bad = !o || !cJSON_AddStringToObject(o, "run", rt_run_name(run));
    for (int k = 0; !bad && k < c->ncfg; k++) {
        const char *v = rt_run_config_get(run, c->cfg[k]);
        if (v) bad = add(o, c->cfg_col[k], json_config_value(v));
    }
    for (int j = 0; !bad && j < rt_run_n_columns(run); j++)
        if (j != wall) bad = add(o, rt_run_column(run, j), json_number(row[j]));
    if (!bad && wall >= 0) bad = add(o, "wall", json_number(row[wall]));
    char *txt = bad ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!txt) return MAG_ENOMEM;
    fputs(txt, f);
    fputc('\n', f);
    cJSON_free(txt);
    return 0;
}

static int write_jsonl(FILE *f, rt_run *const *runs, int n, const columns *c)
{
    for (int i = 0; i < n; i++) {
        rt_run_snapshot s;
        if (rt_run_snapshot_take(runs[i], &s)) return MAG_ENOMEM;
        int wall = rt_run_column_index(runs[i], "wall");
        for (long r = 0; r < s.rows; r++)
            if (jsonl_row(f, runs[i], c, s.values + r * s.n_columns, wall)) {
                rt_run_snapshot_free(&s);
                return MAG_ENOMEM;
            }
        rt_run_snapshot_free(&s);
    }
    return 0;
}

struct mag_export_stream {
    FILE *f;
    rt_run *run;
    columns c;
    int wall, err; /* err: the first error (errno, or ENOMEM) */
    double last;   /* monotonic seconds of the last flush */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mag_export_stream_open(const char *path, rt_run *run, mag_export_stream **out, int *err_no)
{
    *out = NULL;
    *err_no = 0;
    mag_export_stream *s = rt_calloc(1, sizeof *s);
    if (!s || columns_of(&run, 1, &s->c)) {
        if (s) columns_free(&s->c);
        rt_free(s);
        return *err_no = ENOMEM, MAG_ENOMEM;
    }
    if (!(s->f = fopen(path, "w"))) {
        *err_no = errno;
        columns_free(&s->c);
        rt_free(s);
        return MAG_ERUNTIME;
    }
    s->run = run;
    s->wall = rt_run_column_index(run, "wall");
    s->last = mono_s();
    *out = s;
    return 0;
}

void mag_export_stream_row(mag_export_stream *s, const double *row)
{
    if (!s || s->err) return;
    if (jsonl_row(s->f, s->run, &s->c, row, s->wall)) s->err = ENOMEM;
    double now = mono_s();
    if (!s->err && (ferror(s->f) || (now - s->last >= 0.05 && fflush(s->f))))
        s->err = errno ? errno : EIO;
    if (now - s->last >= 0.05) s->last = now;
}

int mag_export_stream_close(mag_export_stream *s, int *err_no)
{
    *err_no = 0;
    if (!s) return 0;
    int e = s->err;
    if (ferror(s->f) && !e) e = EIO;
    if (fclose(s->f) && !e) e = errno ? errno : EIO;
    columns_free(&s->c);
    rt_free(s);
    *err_no = e;
    return e == ENOMEM ? MAG_ENOMEM : e ? MAG_ERUNTIME : 0;
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
        cJSON *conf = cJSON_AddObjectToObject(o, "config");
        for (int k = 0; conf && k < rt_run_n_config(runs[i]); k++)
            add(conf, rt_run_config_key(runs[i], k),
                json_config_value(rt_run_config_value(runs[i], k)));
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
                cJSON_AddItemToArray(row, json_number(v));
            }
        }
        rt_run_snapshot_free(&s);
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    return txt;
}

int mag_export_write(const char *path, rt_run *const *runs, int n, int *err_no)
{
    int fmt = format_of(path);
    *err_no = 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        *err_no = errno;
        return MAG_ERUNTIME;
    }
    columns c = {0};
    int rc = 0;
    if (fmt == EX_JSON) {
        char *t = json_text(runs, n);
        if (t) {
            fputs(t, f);
            fputc('\n', f);
        }
        rc = t ? 0 : MAG_ENOMEM;
        rt_free(t);
    } else if (!(rc = columns_of(runs, n, &c))) {
        rc = fmt == EX_CSV ? write_csv(f, runs, n, &c) : write_jsonl(f, runs, n, &c);
    }
    columns_free(&c);
    int bad = ferror(f);
    if (fclose(f)) bad = 1;
    if (rc) return MAG_ENOMEM;
    if (bad) {
        *err_no = errno ? errno : EIO;
        return MAG_ERUNTIME;
    }
    return 0;
}

static int run_export(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)cell;
    (void)cfg;
    const mag_kv *fa = mag_arg_pos(line, 0);
    const char *path = mag_arg_word(line, 0);
    if (!path)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL, "%%export needs a file: %s", m->usage);
    int fmt = format_of(path);
    if (fmt == EX_NONE)
        return mag_diag_set(
            d, ctx->src, ctx->len, MAG_EVALUE, fa->value.pos.line, fa->value.pos.col, NULL,
            "cannot export to '%s': the file name must end in %s", path, ".csv, .jsonl or .json");
    /* %export FILE.jsonl PREFS: a preference set in TRL's JSONL (rt_pref_write) */
    const char *w1 = mag_arg_word(line, 1);
    if (w1 && mag_session_get(ctx->session, MAG_PREFS, w1) &&
        !mag_session_get(ctx->session, MAG_RUN, w1)) {
        const mag_kv *a1 = mag_arg_pos(line, 1);
        if (mag_arg_pos(line, 2))
            return mag_err(ctx, d, MAG_EVALUE, mag_arg_pos(line, 2)->value.pos,
                           "%%export of preference set '%s' takes no other name", w1);
        if (fmt != EX_JSONL)
            return mag_err(ctx, d, MAG_EVALUE, fa->value.pos,
                           "preference set '%s' exports as JSONL: the file name must end in "
                           ".jsonl",
                           w1);
        return mag_prefs_export(ctx, path, w1, a1->value.pos, d);
    }
    size_t nall = mag_session_count(ctx->session, MAG_RUN);
    rt_run **runs = rt_calloc(nall + line->nargs + 1, sizeof *runs);
    if (!runs) return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    int n = 0;
    for (size_t i = 1;; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        if (!a) break;
        const char *w = mag_arg_word(line, i);
        /* a run, a sweep cell's NAME (its points) or a pattern, as %plot takes them */
        if (!w || !mag_runs_select(ctx->session, w, runs, &n)) {
            rt_free(runs);
            if (w && (strchr(w, '*') || strchr(w, '?')))
                return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "no run matches '%s'", w);
            return mag_err_unknown(d, ctx, MAG_RUN, w ? w : a->value.text, a->value.pos);
        }
    }
    if (n == 0)
        for (size_t i = 0; i < nall; i++)
            runs[n++] = mag_session_at(ctx->session, MAG_RUN, i)->obj;
    if (n == 0) {
        rt_free(runs);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL, "no runs to export");
    }
    int e = 0;
    int rc = mag_export_write(path, runs, n, &e);
    rt_free(runs);
    if (rc == MAG_ENOMEM) return mag_err_nomem(d);
    if (rc)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, fa->value.pos.line,
                            fa->value.pos.col, NULL, "cannot write '%s': %s", path, strerror(e));
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
    if (rt_tilt_is(&p->model))
        return mag_err(ctx, d, MAG_EVALUE, mag_arg_pos(line, 0)->value.pos,
                       "policy '%s' is a %s model without weights (made by %%%s): %%save "
                       "cannot store it; save its base and re-run the %%%s line",
                       name, p->model.ops->arch, p->model.ops->arch, p->model.ops->arch);
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
        krn_out_printf(ctx->out, KRN_STDOUT, "saved policy '%s' (task %s) to %s\n", name, e->task,
                       path);
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
static int bind_task(mag_ctx *ctx, const char *meta, const char *path, char *task_name, size_t tcap,
                     char *added, char *note, size_t ncap, mag_diag *d)
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
        snprintf(note, ncap,
                 "the file's task '%s' cannot be re-created (%s); give one with "
                 "task=TASK\n",
                 want, err.msg);
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
        snprintf(note, ncap,
                 "task '%s' of the session differs from the file's; the policy is "
                 "bound to the file's task, defined before as '%s'\n",
                 want, name);
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
        snprintf(note, ncap,
                 "task '%s' of the session differs from the file's; the file's task "
                 "is defined as '%s' (%s) and the policy is bound to it\n",
                 want, name, summary);
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
    rt_policy *p = (rt_policy *)mdl; /* any architecture (mag_train.h): the header first */
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
    char desc[160];
    mag_policy_describe(p, desc, sizeof desc);
    int o = snprintf(summ, sizeof summ, "%s, loaded from %s", desc, path);
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
    .usage = "%export FILE.csv|FILE.jsonl|FILE.json [RUN...]  |  %export FILE.jsonl PREFS",
    .help = "%export FILE.jsonl PREFS writes preference set PREFS (%%preferences) in TRL's\n"
            "JSONL columns (prompt, chosen, rejected, margin, score_chosen, score_rejected),\n"
            "which file = FILE.jsonl reads back.  Otherwise: writes the metrics of the named\n"
            "runs (all runs when none is named; a sweep\n"
            "cell's NAME or a pattern selects runs as %plot does) with each\n"
            "run's configuration (its sweep point's settings: lr, seed, ...); the file's\n"
            "extension chooses the format:\n"
            "  .csv    run,<config keys>,step,<metrics>,wall: one line per logged step\n"
            "  .jsonl  one JSON object per logged step (run, config, step, metrics, wall),\n"
            "          for pandas.read_json(FILE, lines=True)\n"
            "  .json   {\"runs\": [{\"name\", \"config\", \"columns\", \"rows\", ...}]}\n"
            "Keys a run lacks are empty; NaN is nan in CSV and null in JSON.",
    .run = run_export,
    .positional = "-,run",
};

static const mag_magic save_magic = {
    .name = "save",
    .usage = "%save POLICY FILE",
    .help = "Writes POLICY's weights to FILE (magic, version, shape and checksum) with its\n"
            "task's definition (kind and settings) and its lineage (the cell that made it,\n"
            "its settings and sources), so that %load restores them.  A %tilt has no\n"
            "weights and is refused: save its base and re-run the %tilt line.",
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
