/* mag_lineage: a policy's task definition and lineage as metadata text (mag_lineage.h):
 * writing the lines for %save, re-creating the task and picking the lineage out at
 * %load, the lineage a training cell notes on the policies it stores, and the name
 * length check.  Leaves out the file format (runtime/nn/rt_model_io.c) and what %load
 * does with the session (mag_m_io.c). */
#include "mag_lineage.h"
#include "mag_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rt_alloc.h"
#include "rt_task_data.h"
#include "rt_text.h"

/* ---- task definitions ------------------------------------------------------------- */

/* the shortest %g form of v that reads back as v */
static void fmt_num(double v, char *buf, size_t cap)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* "KIND key=value ..." of one task (a mix's domains as " tasks=[a,b]" at the end) */
static void spec_of(const rt_task *t, rt_strbuf *b)
{
    const rt_task_kind_ops *kind = rt_task_kind_of(t);
    const rt_task_config *c = rt_task_config_of(t);
    rt_strbuf_puts(b, rt_task_kind_name(kind));
    int has_tasks = 0;
    for (int i = 0; i < rt_task_kind_n_keys(kind); i++) {
        const rt_task_key *k = rt_task_kind_key(kind, i);
        if (k->type == RT_TASK_KEY_TASKS) {
            has_tasks = 1;
            continue;
        }
        if ((k->flags & RT_TASK_KEY_QUIET) && c->values[i] == k->def) continue; /* as before */
        char num[32];
        fmt_num(c->values[i], num, sizeof num);
        rt_strbuf_printf(b, " %s=%s", k->name, num);
    }
    if (!has_tasks) return;
    rt_strbuf_puts(b, " tasks=[");
    for (int d = 0; d < rt_task_n_domains(t); d++)
        rt_strbuf_printf(b, "%s%s", d ? "," : "", rt_task_domain_name(t, d));
    rt_strbuf_puts(b, "]");
}

/* a value on one line: newlines become spaces */
static void put_line_value(rt_strbuf *b, const char *v)
{
    for (; *v; v++)
        rt_strbuf_putc(b, *v == '\n' || *v == '\r' ? ' ' : *v);
}

/* A file task's rows are not in its spec: "PREFIX.file = PATH" and the options it was read
   with, the digest of what was read, and its vocabulary (a JSON list of the token texts),
   so %load re-reads the file with the same tokens and knows whether it is still the same. */
static void file_lines(const rt_task *t, const char *prefix, rt_strbuf *b)
{
    const rt_task_data *d = rt_task_config_of(t)->data;
    if (rt_task_kind_of(t) != &rt_task_kind_file || !d) return;
    rt_strbuf_printf(b, "%s.file = ", prefix);
    put_line_value(b, rt_task_data_path(d));
    rt_strbuf_printf(b, "\n%s.file.format = %s\n", prefix,
                     rt_rows_format_name(rt_task_data_format(d)));
    static const char *const cols[] = {"prompt", "answer", "split"};
    const char *colv[] = {rt_task_data_prompt_column(d), rt_task_data_answer_column(d),
                          rt_task_data_split_column(d)};
    for (int c = 0; c < 3; c++) {
        const char *v = colv[c];
        if (!v) continue;
        rt_strbuf_printf(b, "%s.file.%s = ", prefix, cols[c]);
        put_line_value(b, v);
        rt_strbuf_putc(b, '\n');
    }
    rt_strbuf_printf(b, "%s.file.noise_rule = %s\n", prefix,
                     rt_task_data_noise_rule(d) == RT_TASK_NOISE_LABEL ? "label" : "swap");
    rt_strbuf_printf(b, "%s.file.digest = %016llx\n", prefix,
                     (unsigned long long)rt_task_data_digest(d));
    const char *vname = rt_task_data_vocab_name(d);
    if (vname) { /* a shared vocabulary: the task it came from, and its table */
        rt_strbuf_printf(b, "%s.file.vocab_name = ", prefix);
        put_line_value(b, vname);
        rt_strbuf_putc(b, '\n');
    }
    cJSON *a = cJSON_CreateArray(); /* own (re-derived from the file: the digest checks) or
                                       shared (%load tokenizes with it) */
    for (int k = 0; a && k < rt_task_vocab_size(t); k++)
        cJSON_AddItemToArray(a, cJSON_CreateString(rt_task_token(t, k)));
    char *j = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!j) {
        b->err = 1;
        return;
    }
    rt_strbuf_printf(b, "%s.file.vocab = %s\n", prefix, j);
    cJSON_free(j);
}

int mag_task_spec_lines(const rt_task *t, rt_strbuf *b)
{
    rt_strbuf_puts(b, "task.spec = ");
    spec_of(t, b);
    rt_strbuf_putc(b, '\n');
    file_lines(t, "task", b);
    if (rt_task_kind_of(t) == &rt_task_kind_mix)
        for (int d = 0; d < rt_task_n_domains(t); d++) {
            rt_strbuf_printf(b, "task.domain.%d = ", d + 1);
            spec_of(rt_task_domain(t, d), b);
            rt_strbuf_printf(b, "\ntask.domain.%d.name = ", d + 1);
            put_line_value(b, rt_task_domain_name(t, d));
            rt_strbuf_putc(b, '\n');
            char prefix[32];
            snprintf(prefix, sizeof prefix, "task.domain.%d", d + 1);
            file_lines(rt_task_domain(t, d), prefix, b);
        }
    return b->err ? -1 : 0;
}

int mag_task_same(const rt_task *a, const rt_task *b)
{
    rt_strbuf x, y;
    rt_strbuf_init(&x);
    rt_strbuf_init(&y);
    mag_task_spec_lines(a, &x);
    mag_task_spec_lines(b, &y);
    int same = !x.err && !y.err && x.len == y.len && memcmp(x.s, y.s, x.len) == 0;
    rt_strbuf_free(&x);
    rt_strbuf_free(&y);
    return same;
}

/* ---- metadata text ---------------------------------------------------------------- */

/* The line "key = value" of meta: the value's start and length, or NULL. */
static const char *find_value(const char *meta, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *l = meta; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) : strlen(l);
        if (ll >= kl + 3 && memcmp(l, key, kl) == 0 && memcmp(l + kl, " = ", 3) == 0) {
            *len = ll - kl - 3;
            return l + kl + 3;
        }
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

int mag_meta_get(const char *meta, const char *key, char *out, size_t cap)
{
    size_t n = 0;
    const char *v = find_value(meta, key, &n);
    if (cap) snprintf(out, cap, "%.*s", v ? (int)(n < cap ? n : cap - 1) : 0, v ? v : "");
    return v != NULL;
}

/* one task's config from a spec "KIND key=value ... [tasks=[...]]" */
static int config_of_spec(const char *spec, rt_task_config *c, rt_diag *err)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *tasks = strstr(buf, " tasks=");
    if (tasks) *tasks = '\0';
    return rt_task_config_parse(c, buf, err);
}

/* A file task's rows for the config c read from meta's PREFIX.file lines (c->data set; the
   caller frees it with rt_task_data_free after rt_task_create); 0 when c is not a file
   task.  A file that changed since (another digest) is an error. */
static int file_of_meta(const char *meta, const char *prefix, rt_task_config *c, rt_diag *err)
{
    if (c->kind != &rt_task_kind_file) return 0;
    enum { CAP = 4096 };
    char *v = rt_malloc(7 * CAP);
    if (!v) return RT_ENOMEM;
    char *path = v, *fmt = v + CAP, *cols = v + 2 * CAP, *rule = v + 5 * CAP;
    char key[64], digest[32] = "";
    cJSON *va = NULL;
    static const char *const cn[] = {"prompt", "answer", "split"};
    rt_task_file_opts o;
    memset(&o, 0, sizeof o);
    snprintf(key, sizeof key, "%s.file", prefix);
    int rc = RT_EINVAL;
    if (!mag_meta_get(meta, key, path, CAP)) {
        rt_diag_set(err, RT_EINVAL, "a file task without its file");
        goto done;
    }
    o.path = path;
    snprintf(key, sizeof key, "%s.file.format", prefix);
    o.format = mag_meta_get(meta, key, fmt, CAP) ? (rt_rows_format)rt_rows_format_parse(fmt)
                                                 : RT_ROWS_AUTO;
    if ((int)o.format < 0) o.format = RT_ROWS_AUTO;
    const char **dst[] = {&o.prompt, &o.answer, &o.split};
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s.file.%s", prefix, cn[i]);
        if (mag_meta_get(meta, key, cols + i * CAP, CAP)) *dst[i] = cols + i * CAP;
    }
    snprintf(key, sizeof key, "%s.file.noise_rule", prefix);
    mag_meta_get(meta, key, rule, CAP);
    o.noise_rule = strcmp(rule, "label") == 0 ? RT_TASK_NOISE_LABEL : RT_TASK_NOISE_SWAP;
    o.holdout = rt_task_config_get(c, "holdout");
    snprintf(key, sizeof key, "%s.file.digest", prefix);
    mag_meta_get(meta, key, digest, sizeof digest);
    /* a shared vocabulary: its token table */
    size_t vl = 0;
    snprintf(key, sizeof key, "%s.file.vocab", prefix);
    const char *vj = find_value(meta, key, &vl);
    va = vj ? cJSON_ParseWithLength(vj, vl) : NULL;
    const char *toks[1024];
    if (vj && (!cJSON_IsArray(va) || cJSON_GetArraySize(va) > 1024)) {
        rt_diag_set(err, RT_EINVAL, "the file task's vocabulary is not a list of tokens");
        goto done;
    }
    char *vname = v + 6 * CAP;
    snprintf(key, sizeof key, "%s.file.vocab_name", prefix);
    if (va && mag_meta_get(meta, key, vname, CAP)) { /* shared: tokenize with the table */
        o.vocab_name = vname;
        int n = 0;
        for (cJSON *it = va->child; it; it = it->next) {
            if (!cJSON_IsString(it)) {
                rt_diag_set(err, RT_EINVAL, "the file task's vocabulary is not a list of tokens");
                goto done;
            }
            toks[n++] = it->valuestring;
        }
        o.vocab_tokens = toks;
        o.n_vocab_tokens = n;
    }
    rt_task_data *data = NULL;
    if ((rc = rt_task_data_load(&o, &data, err))) goto done;
    char now[32];
    snprintf(now, sizeof now, "%016llx", (unsigned long long)rt_task_data_digest(data));
    if (digest[0] && strcmp(now, digest) != 0) {
        rt_task_data_free(data);
        rc = RT_EINVAL;
        rt_diag_set(err, rc, "%s has changed since it was saved (its rows read differently)", path);
        goto done;
    }
    c->data = data;
done:
    cJSON_Delete(va);
    rt_free(v);
    return rc;
}

int mag_task_from_meta(const char *meta, rt_task **out, rt_diag *err)
{
    char spec[256];
    *out = NULL;
    if (!mag_meta_get(meta, "task.spec", spec, sizeof spec)) return 1;
    rt_task_config tc, doms[RT_TASK_MAX_DOMAINS];
    char names[RT_TASK_MAX_DOMAINS][128];
    const char *dnames[RT_TASK_MAX_DOMAINS];
    int rc = config_of_spec(spec, &tc, err);
    if (rc) return rc;
    int n = 0;
    if (tc.kind == &rt_task_kind_mix) {
        for (; n < RT_TASK_MAX_DOMAINS; n++) {
            char key[48], ds[256];
            snprintf(key, sizeof key, "task.domain.%d", n + 1);
            if (!mag_meta_get(meta, key, ds, sizeof ds)) break;
            if ((rc = config_of_spec(ds, &doms[n], err)) ||
                (rc = file_of_meta(meta, key, &doms[n], err)))
                goto done;
            snprintf(key, sizeof key, "task.domain.%d.name", n + 1);
            if (!mag_meta_get(meta, key, names[n], sizeof names[n]))
                snprintf(names[n], sizeof names[n], "%s", rt_task_kind_name(doms[n].kind));
            dnames[n] = names[n];
        }
        tc.tasks = doms, tc.task_names = dnames, tc.n_tasks = n;
    } else if ((rc = file_of_meta(meta, "task", &tc, err))) {
        return rc;
    }
    rc = rt_task_create(&tc, out, err);
done:
    for (int i = 0; i < n && i < RT_TASK_MAX_DOMAINS; i++)
        if (doms[i].kind == &rt_task_kind_file) rt_task_data_free((rt_task_data *)doms[i].data);
    if (tc.kind == &rt_task_kind_file) rt_task_data_free((rt_task_data *)tc.data);
    return rc;
}

char *mag_policy_meta(const mag_session *s, const char *name)
{
    const mag_entry *e = mag_session_entry(s, MAG_POLICY, name);
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_strbuf_puts(&b, "policy = ");
    put_line_value(&b, name);
    rt_strbuf_putc(&b, '\n');
    const rt_task *t = e && e->task ? mag_session_get(s, MAG_TASK, e->task) : NULL;
    if (t) {
        rt_strbuf_puts(&b, "task = ");
        put_line_value(&b, e->task);
        rt_strbuf_putc(&b, '\n');
        mag_task_spec_lines(t, &b);
    }
    if (e && e->lineage && e->lineage[0]) {
        rt_strbuf_puts(&b, e->lineage);
        if (e->lineage[strlen(e->lineage) - 1] != '\n') rt_strbuf_putc(&b, '\n');
    }
    return rt_strbuf_take(&b, NULL);
}

char *mag_lineage_loaded(const char *meta, const char *path)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    char saved[MAG_NAME_MAX * 4 + 1];
    rt_strbuf_puts(&b, "loaded = ");
    put_line_value(&b, path);
    if (mag_meta_get(meta, "policy", saved, sizeof saved))
        rt_strbuf_printf(&b, " (saved as %s)", saved);
    rt_strbuf_putc(&b, '\n');
    for (const char *l = meta; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) : strlen(l);
        int skip = ll == 0 || strncmp(l, "policy = ", 9) == 0 || strncmp(l, "task = ", 7) == 0 ||
                   strncmp(l, "task.spec = ", 12) == 0 || strncmp(l, "task.domain.", 12) == 0 ||
                   strncmp(l, "task.file", 9) == 0;
        if (!skip && b.len + ll + 1 < MAG_LINEAGE_MAX) {
            rt_strbuf_append(&b, l, ll);
            rt_strbuf_putc(&b, '\n');
        }
        l = nl ? nl + 1 : NULL;
    }
    return rt_strbuf_take(&b, NULL);
}

/* ---- lineage of a training cell's policies ---------------------------------------------- */

/* appends the source's own "made" / "loaded" lines as "SRC.made = ..." */
static void source_history(const mag_session *s, const char *src, rt_strbuf *b)
{
    const mag_entry *e = mag_session_entry(s, MAG_POLICY, src);
    if (!e || !e->lineage) return;
    static const char *const keys[] = {"made", "loaded"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = 0;
        const char *v = find_value(e->lineage, keys[i], &n);
        if (v) rt_strbuf_printf(b, "%s.%s = %.*s\n", src, keys[i], (int)n, v);
    }
}

void mag_lineage_note(mag_ctx *ctx, const char *magic, int cell, const char *name,
                      const mag_config *cfg, size_t pt)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_strbuf_printf(&b, "made = %s%s ", cell ? "%%" : "%", magic);
    put_line_value(&b, name);
    rt_strbuf_putc(&b, '\n');
    const char *srcs[16];
    int ns = 0;
    if (cfg) {
        const mag_schema *sc = cfg->schema;
        int any = 0;
        for (size_t i = 0; i < sc->nkeys; i++) {
            if (!cfg->given[i]) continue;
            const mag_value *v = mag_config_at(cfg, i, pt);
            if (!v) continue;
            rt_strbuf_printf(&b, "%s%s=", any++ ? " " : "settings = ", sc->keys[i].name);
            put_line_value(&b, v->text ? v->text : "");
            if (sc->keys[i].object && strcmp(sc->keys[i].object, "policy") == 0 &&
                (v->kind == MAG_V_NAME || v->kind == MAG_V_STRING) && v->str && ns < 16)
                srcs[ns++] = mag_train_pair_name(ctx->session, cfg, pt, v->str); /* paired */
        }
        if (any) rt_strbuf_putc(&b, '\n');
    }
    for (int i = 0; i < ns; i++)
        rt_strbuf_printf(&b, "%s%s%s", i ? ", " : "sources = ", srcs[i], i + 1 == ns ? "\n" : "");
    for (int i = 0; i < ns; i++)
        if (strcmp(srcs[i], name) != 0) source_history(ctx->session, srcs[i], &b);
    if (!b.err && b.len >= MAG_LINEAGE_MAX) { /* cut at a line boundary */
        size_t n = MAG_LINEAGE_MAX - 1;
        while (n && b.s[n - 1] != '\n')
            n--;
        rt_strbuf_truncate(&b, n);
    }
    char *text = rt_strbuf_take(&b, NULL);
    if (text) mag_session_set_lineage(ctx->session, MAG_POLICY, name, text);
    rt_free(text);
}

/* ---- names ------------------------------------------------------------------------ */

int mag_check_name(const mag_ctx *ctx, const char *name, mag_pos pos, mag_diag *d)
{
    char msg[128];
    if (!name || mag_name_check(name, msg, sizeof msg) == 0) return 0;
    return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, pos.line, pos.col, NULL, "%s", msg);
}
