/* mag_m_task: %task NAME KIND [key=value ...] — defines a task (runtime/task) and shows
 * its vocabulary and a few example prompts and answers (HTML table + text twin).
 * Kinds, their keys, help and the kind lists of error messages all come from the
 * runtime's registry of task kinds (rt_task.h): a cell's keys are validated against
 * its kind's keys (a key of another kind is an error naming the kind's keys); the
 * schema published for completion and %help is the union of every kind's keys.  A
 * mix names its domains with tasks=[a, b] (each a defined task, or a kind name with
 * its defaults).  NAME is at most MAG_NAME_MAX (64) code points.  Leaves out: sweeps (a
 * task is one object). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_lineage.h"
#include "mag_magic.h"
#include "rt_alloc.h"
#include "rt_task.h"
#include "rt_task_data.h"

#define N_EXAMPLES 5
#define MAX_UNION (RT_TASK_MAX_KINDS * RT_TASK_MAX_KEYS)

/* One runtime key as a schema key (help and default text left to the caller). */
static void key_spec(const rt_task_key *k, mag_key_spec *out)
{
    memset(out, 0, sizeof *out);
    out->name = k->name;
    out->help = k->help;
    if (k->type == RT_TASK_KEY_TASKS) {
        out->type = MAG_T_LIST;
        out->elem = MAG_T_NAME;
        out->object = "task";
        return;
    }
    out->type = k->type == RT_TASK_KEY_INT ? MAG_T_INT : MAG_T_NUMBER;
    out->flags = (k->flags & RT_TASK_KEY_MIN_EXCL ? MAG_K_MIN_EXCL : MAG_K_MIN) |
                 (k->flags & RT_TASK_KEY_MAX_EXCL ? MAG_K_MAX_EXCL : MAG_K_MAX);
    out->min = k->min;
    out->max = k->max;
}

/* The schema of one kind (keys[RT_TASK_MAX_KEYS]), for validating a cell. */
static void kind_schema(const rt_task_kind_ops *kind, mag_key_spec *keys, mag_schema *s)
{
    int n = rt_task_kind_n_keys(kind);
    for (int i = 0; i < n; i++)
        key_spec(rt_task_kind_key(kind, i), &keys[i]);
    *s = (mag_schema){.magic = "task", .keys = keys, .nkeys = (size_t)n};
}

/* file tasks' own keys (%task NAME file=PATH ...; noise and holdout follow: the kind's) */
static const char *const format_values[] = {"jsonl", "csv", "tsv", "verl", NULL};
static const char *const rule_values[] = {"swap", "label", NULL};

/* file's own keys (noise and holdout follow: the kind's keys) */
static const mag_key_spec file_keys[] = {
    {.name = "file",
     .type = MAG_T_STRING,
     .help = "file tasks: rows of prompt and answer text (JSONL, CSV, TSV or verl's JSONL)"},
    {.name = "format",
     .type = MAG_T_ENUM,
     .values = format_values,
     .help = "file tasks: jsonl, csv, tsv or verl (default: by the file's extension)"},
    {.name = "prompt",
     .type = MAG_T_STRING,
     .help = "file tasks: the prompt column (default: prompt or question or text)"},
    {.name = "answer",
     .type = MAG_T_STRING,
     .help = "file tasks: the answer column (default: completion or answer or label)"},
    {.name = "split",
     .type = MAG_T_STRING,
     .help = "file tasks: a column of train / test (default: a hash of the prompt and holdout)"},
    {.name = "vocab",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "file tasks: share this task's vocabulary (default: the file's characters)"},
    {.name = "noise_rule",
     .type = MAG_T_ENUM,
     .values = rule_values,
     .def = "swap",
     .help = "file tasks: swap (the first two differing answer characters) or label (the "
             "next answer of the file)"},
};
#define N_FILE_KEYS (sizeof file_keys / sizeof file_keys[0])

/* ---- the published schema and help: built once from the registry (task_init) ---- */

static mag_key_spec union_keys[MAX_UNION];
static char union_help[MAX_UNION][192];
static char union_def[MAX_UNION][24];
static char schema_help[192];
static char task_help[4096];
static mag_schema task_schema = {.magic = "task", .keys = union_keys, .help = schema_help};

/* adds key i of kind to the union (own keys first pass, noise/holdout second) */
static void union_add(const rt_task_kind_ops *kind, int i)
{
    const rt_task_key *k = rt_task_kind_key(kind, i);
    for (size_t j = 0; j < task_schema.nkeys; j++)
        if (strcmp(union_keys[j].name, k->name) == 0) return;
    if (task_schema.nkeys == MAX_UNION) return;
    size_t u = task_schema.nkeys++;
    key_spec(k, &union_keys[u]);
    /* "reverse, sort, copy: sequence length" unless every kind has the key */
    char kinds[128] = "";
    int n = 0, all = 1, same_def = 1;
    for (int c = 0; c < rt_task_kind_count(); c++) {
        const rt_task_kind_ops *o = rt_task_kind_at(c);
        int ki = rt_task_kind_key_index(o, k->name);
        if (ki < 0) {
            all = 0;
            continue;
        }
        same_def &= rt_task_kind_key(o, ki)->def == k->def;
        size_t l = strlen(kinds);
        snprintf(kinds + l, sizeof kinds - l, "%s%s", n++ ? ", " : "", rt_task_kind_name(o));
    }
    snprintf(union_help[u], sizeof union_help[u], "%s%s%s", all ? "" : kinds, all ? "" : ": ",
             k->help);
    union_keys[u].help = union_help[u];
    if (k->type != RT_TASK_KEY_TASKS && same_def) {
        snprintf(union_def[u], sizeof union_def[u], "%g", k->def);
        union_keys[u].def = union_def[u];
    }
}

static void task_init(void)
{
    int nk = rt_task_kind_count();
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < nk; c++) {
            const rt_task_kind_ops *kind = rt_task_kind_at(c);
            int own = rt_task_kind_n_keys(kind) - 2;
            for (int i = pass ? own : 0; i < (pass ? own + 2 : own); i++)
                union_add(kind, i);
        }
    for (size_t i = 0; i < N_FILE_KEYS && task_schema.nkeys < MAX_UNION; i++)
        union_keys[task_schema.nkeys++] = file_keys[i];
    char kinds[160];
    rt_task_kinds_text(0, " or ", kinds, sizeof kinds);
    snprintf(schema_help, sizeof schema_help, "defines a task: %s", kinds);
    size_t o = (size_t)snprintf(
        task_help, sizeof task_help,
        "Defines task NAME (at most 64 characters) of kind KIND and shows its "
        "vocabulary and example\nprompts with their answers.  Kinds and their keys "
        "(every kind also takes noise= and holdout=):\n");
    for (int c = 0; c < nk && o < sizeof task_help; c++) {
        const rt_task_kind_ops *kind = rt_task_kind_at(c);
        o += (size_t)snprintf(task_help + o, sizeof task_help - o, "  %s", rt_task_kind_name(kind));
        for (int i = 0; i < rt_task_kind_n_keys(kind) - 2 && o < sizeof task_help; i++)
            o += (size_t)snprintf(task_help + o, sizeof task_help - o, "%s%s=", i ? ", " : " (",
                                  rt_task_kind_key(kind, i)->name);
        if (o < sizeof task_help)
            o +=
                (size_t)snprintf(task_help + o, sizeof task_help - o, "%s: %s\n",
                                 rt_task_kind_n_keys(kind) > 2 ? ")" : "", rt_task_kind_help(kind));
    }
    if (o < sizeof task_help)
        snprintf(task_help + o, sizeof task_help - o,
                 "From a file: %%task NAME file=PATH [format=jsonl|csv|tsv|verl] [prompt=COL "
                 "answer=COL]\n  [split=COL | holdout=0.2] [vocab=TASK] [noise=0 "
                 "noise_rule=swap|label]: rows of prompt and\n  answer text (TRL's prompt/"
                 "completion and messages, verl's prompt and reward_model.ground_truth);\n  "
                 "characters are the tokens (or TASK's vocabulary, to move policies between "
                 "tasks or mix them).\n%%task NAME alone shows a task again.\n"
                 "Binding: objects keep what they were made with.  Redefining a task that "
                 "policies or runs were\nmade with keeps the old definition under NAME.2 (the "
                 "first free number) for them, and says so;\nrewards keep the rewards they "
                 "read.\nExample: %%task add add digits=2");
}

/* The task's display: a caption, the vocabulary, and a table of examples; what the noise
   does to a demonstration when show_noise (%task NAME), for a file task or noise > 0. */
static cJSON *task_bundle(const char *name, const rt_task *t, const rt_rng *rng0, int show_noise)
{
    char *desc = rt_malloc(8192);
    if (!desc) return NULL;
    rt_rng rng = *rng0;
    size_t dl = rt_task_describe(t, &rng, N_EXAMPLES, desc, 8192);
    /* what noise does to a demonstration, after the header lines (before the examples) */
    char noise[512] = "";
    if (show_noise || rt_task_kind_of(t) == &rt_task_kind_file || rt_task_value(t, "noise") > 0)
        rt_task_describe_noise(t, noise, sizeof noise);
    char *ex = strstr(desc, "\n  ");
    size_t nl = strlen(noise);
    if (dl < 8192 && nl && dl + nl + 2 < 8192) {
        size_t at = ex ? (size_t)(ex - desc) + 1 : strlen(desc);
        memmove(desc + at + nl + 1, desc + at, strlen(desc + at) + 1);
        memcpy(desc + at, noise, nl);
        desc[at + nl] = '\n';
    }
    static const char *const hdr[] = {"prompt", "answer"};
    mag_table *tab = mag_table_new(2, hdr);
    rng = *rng0; /* the same examples as the description's */
    for (int i = 0; tab && i < N_EXAMPLES; i++) {
        rt_task_sample s;
        char p[160], a[160];
        rt_task_sample_prompt(t, &rng, RT_TASK_TRAIN, &s);
        rt_task_render_with(t, s.prompt, rt_task_prompt_len(t), p, sizeof p);
        rt_task_render_with(t, s.target, s.target_len, a, sizeof a);
        const char *row[] = {p, a};
        if (mag_table_row(tab, row)) {
            mag_table_free(tab);
            tab = NULL;
        }
    }
    cJSON *b = tab ? mag_table_bundle(tab, NULL) : NULL;
    mag_table_free(tab);
    /* text/plain: "NAME: " + the runtime's description (kind, vocabulary, lengths,
       features, examples); HTML: the same header lines in <pre>, then the table */
    size_t tl = strlen(name) + strlen(desc) + 8;
    char *text = rt_malloc(tl);
    const char *tab_html = b ? cJSON_GetObjectItem(b, "text/html")->valuestring : "";
    size_t hl = strlen(tab_html) + tl * 5 + 32;
    char *html = rt_malloc(hl);
    if (b && text && html) {
        snprintf(text, tl, "%s: %s", name, desc);
        size_t o = (size_t)snprintf(html, hl, "<pre>");
        for (const char *c = text; *c && o + 8 < hl; c++) {
            if (*c == '\n' && c[1] == ' ') break; /* the examples: shown as the table */
            const char *e = *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : NULL;
            if (e) {
                o += (size_t)snprintf(html + o, hl - o, "%s", e);
            } else {
                html[o++] = *c;
                html[o] = 0;
            }
        }
        snprintf(html + o, hl - o, "</pre>%s", tab_html);
        cJSON_ReplaceItemInObject(b, "text/html", cJSON_CreateString(html));
        cJSON_ReplaceItemInObject(b, "text/plain", cJSON_CreateString(text));
    } else {
        cJSON_Delete(b);
        b = NULL;
    }
    rt_free(text);
    rt_free(html);
    rt_free(desc);
    return b;
}

static void free_task(void *p)
{
    rt_task_free(p);
}

/* d is about a named argument whose key the kind does not have (another kind's, or
 * unknown and no typo of the kind's own): rewrite d as "reverse has no key 'digits'
 * (its keys: length, noise, holdout)" at the key.  Else rc, d unchanged. */
static int foreign_key(mag_ctx *ctx, const mag_line *line, const rt_task_kind_ops *kind, int rc,
                       mag_diag *d)
{
    for (size_t a = 0; a < line->nargs; a++) {
        const mag_kv *kv = &line->args[a];
        if (!kv->key || kv->key_pos.line != d->line || kv->key_pos.col != d->col ||
            rt_task_kind_key_index(kind, kv->key) >= 0)
            continue;
        if (strstr(d->msg, "did you mean")) break; /* a typo of one of the kind's keys */
        char msg[256];
        rt_task_kind_key_error(kind, kv->key, msg, sizeof msg);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ESCHEMA, kv->key_pos.line, kv->key_pos.col,
                            NULL, "%s", msg);
    }
    return rc;
}

/* The kind named by kind_s, or an error at kv ("unknown task kind"). */
static int find_kind(mag_ctx *ctx, const char *kind_s, const mag_kv *kv,
                     const rt_task_kind_ops **kind, mag_diag *d)
{
    if ((*kind = rt_task_kind_find(kind_s))) return 0;
    const char *names[RT_TASK_MAX_KINDS];
    int n = rt_task_kind_count();
    for (int c = 0; c < n; c++)
        names[c] = rt_task_kind_name(rt_task_kind_at(c));
    const char *sug = rt_did_you_mean(kind_s, names, (size_t)n);
    if (sug)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, kv->value.pos.line,
                            kv->value.pos.col, NULL, "unknown task kind '%s' (did you mean '%s'?)",
                            kind_s, sug);
    char kinds[160];
    rt_task_kinds_text(0, " or ", kinds, sizeof kinds);
    return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, kv->value.pos.line, kv->value.pos.col,
                        NULL, "unknown task kind '%s'; expected %s", kind_s, kinds);
}

/* The domains of a mix from tasks=[a, b] (tv): defined tasks or kind names. */
static int mix_domains(mag_ctx *ctx, const mag_value *tv, rt_task_config *doms, const char **dnames,
                       mag_diag *d)
{
    const char *src = ctx->src;
    size_t len = ctx->len;
    if (tv->n < 1 || tv->n > RT_TASK_MAX_DOMAINS)
        return mag_diag_set(d, src, len, MAG_EVALUE, tv->pos.line, tv->pos.col, NULL,
                            "a mix takes 1 to %d tasks", RT_TASK_MAX_DOMAINS);
    for (size_t i = 0; i < tv->n; i++) {
        const mag_value *it = &tv->items[i];
        const rt_task *dt = mag_session_get(ctx->session, MAG_TASK, it->str);
        const rt_task_kind_ops *dk = rt_task_kind_find(it->str);
        if (dt) {
            doms[i] = *rt_task_config_of(dt);
            if (!rt_task_kind_mixable(doms[i].kind))
                return mag_diag_set(d, src, len, MAG_EVALUE, it->pos.line, it->pos.col, NULL,
                                    "task '%s' is a %s; a mix takes sequence tasks", it->str,
                                    rt_task_kind_name(doms[i].kind));
        } else if (rt_task_kind_mixable(dk)) {
            rt_task_config_init_kind(&doms[i], dk);
        } else {
            return mag_err_unknown(d, ctx, MAG_TASK, it->str, it->pos);
        }
        dnames[i] = it->str;
    }
    return 0;
}

/* The objects made with task `name` ("policies base, good and run base"), into out;
 * returns how many. */
static size_t task_users(const mag_session *s, const char *name, char *out, size_t cap)
{
    size_t n = 0, o = 0;
    out[0] = '\0';
    static const mag_kind kinds[] = {MAG_POLICY, MAG_RUN, MAG_DEBATE, MAG_PREFS, MAG_RM};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t first = 1;
        for (size_t i = 0; i < mag_session_count(s, kinds[k]); i++) {
            const mag_entry *e = mag_session_at(s, kinds[k], i);
            if (!e->task || strcmp(e->task, name)) continue;
            n++;
            if (o + 1 < cap) {
                int w = snprintf(out + o, cap - o, "%s%s%s", o ? (first ? "; " : ", ") : "",
                                 first ? (kinds[k] == MAG_POLICY   ? "policies "
                                          : kinds[k] == MAG_RUN    ? "runs "
                                          : kinds[k] == MAG_DEBATE ? "debates "
                                          : kinds[k] == MAG_PREFS  ? "preference sets "
                                                                   : "reward models ")
                                       : "",
                                 e->name);
                o += w > 0 ? (size_t)w : 0;
                if (o >= cap) { /* cut: end with "..." */
                    o = cap - 1;
                    if (cap > 4) memcpy(out + cap - 4, "...", 4);
                }
            }
            first = 0;
        }
    }
    return n;
}

/* ---- file tasks: %task NAME file=PATH [...] ------------------------------------------ */

/* the value of key on the line, or NULL; *at its position (value, else the magic's) */
static const mag_kv *line_key(const mag_line *line, const char *key)
{
    for (size_t a = 0; a < line->nargs; a++)
        if (line->args[a].key && strcmp(line->args[a].key, key) == 0) return &line->args[a];
    return NULL;
}

static const char *cfg_str(const mag_schema *sch, const mag_config *cfg, const char *key)
{
    for (size_t i = 0; i < sch->nkeys; i++)
        if (strcmp(sch->keys[i].name, key) == 0 && cfg->given[i]) {
            const mag_value *v = mag_config_at(cfg, i, 0);
            return v ? v->str : NULL;
        }
    return NULL;
}

/* %task NAME file=PATH ...: loads the rows (rt_task_data.h) and creates the task into *out;
   an error of the file points at the key it is about (file=, prompt=, split=, ...) */
static int file_task(mag_ctx *ctx, const mag_line *line, rt_task **out, mag_diag *d)
{
    const char *src = ctx->src;
    size_t len = ctx->len;
    *out = NULL;
    const rt_task_kind_ops *kind = &rt_task_kind_file;
    mag_key_spec keys[N_FILE_KEYS + RT_TASK_MAX_KEYS];
    memcpy(keys, file_keys, sizeof file_keys);
    int nk = rt_task_kind_n_keys(kind);
    for (int i = 0; i < nk; i++)
        key_spec(rt_task_kind_key(kind, i), &keys[N_FILE_KEYS + i]);
    mag_schema sch = {.magic = "task", .keys = keys, .nkeys = N_FILE_KEYS + (size_t)nk};
    mag_config *cfg = NULL;
    int rc = mag_validate_line(&sch, line, src, len, &cfg, d);
    if (rc) return rc;
    rt_task_file_opts o;
    memset(&o, 0, sizeof o);
    o.path = cfg_str(&sch, cfg, "file");
    const char *fmt = cfg_str(&sch, cfg, "format");
    o.format = fmt ? (rt_rows_format)rt_rows_format_parse(fmt) : RT_ROWS_AUTO;
    o.prompt = cfg_str(&sch, cfg, "prompt");
    o.answer = cfg_str(&sch, cfg, "answer");
    o.split = cfg_str(&sch, cfg, "split");
    const char *rule = cfg_str(&sch, cfg, "noise_rule");
    o.noise_rule = rule && strcmp(rule, "label") == 0 ? RT_TASK_NOISE_LABEL : RT_TASK_NOISE_SWAP;
    rt_task_config tc;
    rt_task_config_init_kind(&tc, kind);
    for (int i = 0; i < nk; i++)
        if (cfg->given[N_FILE_KEYS + i])
            tc.values[i] =
                mag_value_number(mag_config_at(cfg, N_FILE_KEYS + (size_t)i, 0), tc.values[i]);
    o.holdout = rt_task_config_get(&tc, "holdout");
    const mag_kv *hk = line_key(line, "holdout"), *vk = line_key(line, "vocab");
    if (o.split && hk) {
        mag_config_free(cfg);
        return mag_err(ctx, d, MAG_EVALUE, hk->key_pos,
                       "holdout and split= both choose the held-out rows: give one of them");
    }
    if (vk) {
        o.vocab_name = vk->value.str;
        o.vocab = mag_session_get(ctx->session, MAG_TASK, o.vocab_name);
        if (!o.vocab) {
            rc = mag_err_unknown(d, ctx, MAG_TASK, o.vocab_name, vk->value.pos);
            mag_config_free(cfg);
            return rc;
        }
    }
    rt_task_data *data = NULL;
    rt_diag err = {0};
    rc = rt_task_data_load(&o, &data, &err);
    if (rc == 0) {
        tc.data = data;
        rc = rt_task_create(&tc, out, &err);
        rt_task_data_free(data); /* the task holds its own reference */
        if (rc) err.key[0] = '\0';
    }
    if (rc == RT_ENOMEM) {
        mag_config_free(cfg);
        return mag_err_nomem(d);
    }
    if (rc) {
        /* the key the error is about; the file's key otherwise */
        const mag_kv *at = err.key[0] ? line_key(line, err.key) : NULL;
        if (!at) at = line_key(line, "file");
        rc = mag_err(ctx, d, MAG_EVALUE, at->value.pos, "%s", err.msg);
    }
    mag_config_free(cfg);
    return rc;
}

/* %task NAME alone: the task again (description, examples, and for file tasks what noise
   does to a demonstration) */
static int show_task(mag_ctx *ctx, const char *name, mag_pos at, mag_diag *d)
{
    const rt_task *t = mag_session_get(ctx->session, MAG_TASK, name);
    if (!t && mag_session_suggest(ctx->session, MAG_TASK, name))
        return mag_err_unknown(d, ctx, MAG_TASK, name, at);
    if (!t) {
        char kinds[160];
        rt_task_kinds_text(0, " or ", kinds, sizeof kinds);
        return mag_err(ctx, d, MAG_EVALUE, at,
                       "no task '%s' to show; define it with %%task %s KIND [key=value ...] "
                       "(%s) or %%task %s file=PATH",
                       name, name, kinds, name);
    }
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), name);
    cJSON *b = task_bundle(name, t, &rng, 1);
    if (!b) return mag_err_nomem(d);
    mag_show(ctx->out, b);
    return 0;
}

static int store_task(mag_ctx *ctx, const char *name, rt_task *t, mag_diag *d);

static int run_task(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *unused, mag_diag *d)
{
    (void)m;
    (void)cell;
    (void)unused;
    const char *src = ctx->src;
    size_t len = ctx->len;
    const char *name = mag_arg_word(line, 0);
    const mag_kv *kind_kv = mag_arg_pos(line, 1);
    const char *kind_s = mag_arg_word(line, 1);
    if (!name) {
        const mag_kv *a = mag_arg_pos(line, 0);
        mag_pos p = a ? a->value.pos : line->name_pos;
        return mag_diag_set(d, src, len, MAG_EVALUE, p.line, p.col, NULL,
                            "%%task needs a NAME and a KIND: %%task NAME KIND [key=value ...]");
    }
    const mag_kv *file_kv = line_key(line, "file");
    if (!kind_s && !kind_kv && line->nargs == 1) /* %task NAME: show it again */
        return show_task(ctx, name, mag_arg_pos(line, 0)->value.pos, d);
    if (kind_s && file_kv)
        return mag_err(ctx, d, MAG_EVALUE, kind_kv->value.pos,
                       "file= defines a task from a file: leave out the kind '%s'", kind_s);
    if (!kind_s && file_kv) {
        int rc = mag_check_name(ctx, name, mag_arg_pos(line, 0)->value.pos, d);
        rt_task *t = NULL;
        if (rc || (rc = file_task(ctx, line, &t, d))) return rc;
        return store_task(ctx, name, t, d);
    }
    if (!kind_s) {
        mag_pos p = kind_kv ? kind_kv->value.pos : line->name_pos;
        char kinds[160];
        rt_task_kinds_text(0, " or ", kinds, sizeof kinds);
        return mag_diag_set(d, src, len, MAG_EVALUE, p.line, p.col, NULL,
                            "%%task %s needs a KIND (%s)", name, kinds);
    }
    int rc = mag_check_name(ctx, name, mag_arg_pos(line, 0)->value.pos, d);
    if (rc) return rc;
    const mag_kv *extra = mag_arg_pos(line, 2);
    if (extra)
        return mag_diag_set(d, src, len, MAG_EVALUE, extra->value.pos.line, extra->value.pos.col,
                            NULL, "unexpected argument '%s' (settings are key=value)",
                            extra->value.text);
    const rt_task_kind_ops *kind;
    rc = find_kind(ctx, kind_s, kind_kv, &kind, d);
    if (rc) return rc;
    if (kind == &rt_task_kind_file)
        return mag_err(ctx, d, MAG_EVALUE, kind_kv->value.pos,
                       "a task from a file is defined with file=PATH: %%task %s file=PATH", name);
    /* the kind's keys: types, ranges, duplicates; a key of another kind names these */
    mag_key_spec keys[RT_TASK_MAX_KEYS];
    mag_schema sch;
    kind_schema(kind, keys, &sch);
    mag_config *cfg = NULL;
    if ((rc = mag_validate_line(&sch, line, src, len, &cfg, d)))
        return foreign_key(ctx, line, kind, rc, d);
    rt_task *t = NULL;
    rt_diag err;
    rt_task_config tc, doms[RT_TASK_MAX_DOMAINS];
    const char *dnames[RT_TASK_MAX_DOMAINS];
    rt_task_config_init_kind(&tc, kind);
    for (size_t i = 0; i < sch.nkeys && rc == 0; i++) {
        const mag_value *v = mag_config_at(cfg, i, 0);
        if (keys[i].type != MAG_T_LIST) {
            if (cfg->given[i]) tc.values[i] = mag_value_number(v, tc.values[i]);
        } else if (!cfg->given[i]) { /* a mix's tasks */
            rc = mag_diag_set(d, src, len, MAG_EVALUE, line->name_pos.line, line->name_pos.col,
                              NULL, "a mix needs tasks=[a, b]");
        } else if ((rc = mix_domains(ctx, v, doms, dnames, d)) == 0) {
            tc.tasks = doms;
            tc.task_names = dnames;
            tc.n_tasks = (int)v->n;
        }
    }
    if (rc == 0) {
        rc = rt_task_create(&tc, &t, &err);
    } else { /* a MAG_E* error, d filled */
        mag_config_free(cfg);
        return rc;
    }
    mag_config_free(cfg); /* only now: the domain names are the config's */
    if (rc == RT_ENOMEM) return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (rc)
        return mag_diag_set(d, src, len, MAG_EVALUE, kind_kv->value.pos.line,
                            kind_kv->value.pos.col, NULL, "%s", err.msg);
    return store_task(ctx, name, t, d);
}

/* shows t and puts it in the session as name (the binding rule for a redefinition) */
static int store_task(mag_ctx *ctx, const char *name, rt_task *t, mag_diag *d)
{
    const char *src = ctx->src;
    size_t len = ctx->len;
    const rt_task_kind_ops *kind = rt_task_kind_of(t);
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), name);
    cJSON *b = task_bundle(name, t, &rng, 0);
    char summary[256];
    char *desc = rt_malloc(1024);
    if (desc) {
        rt_rng r2 = rng;
        rt_task_describe(t, &r2, 0, desc, 1024);
        char *nl = strchr(desc, '\n');
        if (nl) *nl = 0;
    }
    snprintf(summary, sizeof summary, "%s", desc ? desc : rt_task_kind_name(kind));
    rt_free(desc);
    /* one binding rule (issue 12 B4): what was made with the old definition keeps it */
    const rt_task *prev = mag_session_get(ctx->session, MAG_TASK, name);
    char users[200] = "", keep[MAG_NAME_MAX * 4 + 16] = "";
    size_t nu =
        prev && !mag_task_same(prev, t) ? task_users(ctx->session, name, users, sizeof users) : 0;
    int put;
    if (nu) {
        for (int i = 2; !keep[0] || mag_session_get(ctx->session, MAG_TASK, keep); i++)
            snprintf(keep, sizeof keep, "%s.%d", name, i);
        put = mag_session_redefine_task(ctx->session, name, keep, t, free_task, summary, NULL);
    } else {
        put = mag_session_put(ctx->session, MAG_TASK, name, t, free_task, summary, NULL);
    }
    if (put < 0) {
        cJSON_Delete(b);
        return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    if (nu)
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "redefined task '%s': what was made with the previous definition (%s) "
                       "keeps it, now named '%s'\n",
                       name, users, keep);
    else if (put == 1)
        krn_out_printf(ctx->out, KRN_STDOUT, "replaced task '%s'\n", name);
    mag_show(ctx->out, b);
    return 0;
}

static const mag_magic task_magic = {
    .name = "task",
    .cell = 0,
    .schema = &task_schema,
    .usage = "%task NAME KIND [key=value ...] | %task NAME file=PATH [key=value ...] | %task NAME",
    .help = task_help,
    .run = run_task,
    .flags = MAG_M_OWN_VALIDATION,
    .positional = "-,-",
    .init = task_init,
};

const mag_magic *const mag_task_magics[] = {&task_magic, NULL};
