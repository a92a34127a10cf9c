/* mag_m_task: %task NAME KIND [key=value ...] — defines a task (runtime/task) and shows
 * its vocabulary and a few example prompts and answers (HTML table + text twin).
 * Kinds and keys are rt_task's; a mix names its domains with tasks=[a, b] (each a
 * defined task, or a kind name with its defaults).  Leaves out: sweeps (a task is
 * one object). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "rt_alloc.h"
#include "rt_task.h"

#define N_EXAMPLES 5

static const char *const kinds[] = {"add", "reverse", "sort", "copy", "mix", "triage", NULL};

static const mag_key_spec task_keys[] = {
    {.name = "digits",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 6,
     .help = "add: digits per operand (default 2)"},
    {.name = "length",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 12,
     .help = "reverse, sort, copy: sequence length (default 4)"},
    {.name = "noise",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1,
     .help = "fraction of demonstrations with the task's systematic error (default 0)"},
    {.name = "holdout",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL | MAG_K_MAX_EXCL,
     .min = 0,
     .max = 1,
     .help = "fraction of prompts held out for evaluation (default 0.2)"},
    {.name = "tasks",
     .type = MAG_T_LIST,
     .elem = MAG_T_NAME,
     .object = "task",
     .help = "mix: the domain tasks (defined tasks or kind names)"},
    {.name = "features",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 8,
     .help = "triage: number of features K (default 4)"},
    {.name = "values",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 2,
     .max = 10,
     .help = "triage: values per feature M (default 3)"},
    {.name = "actions",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 2,
     .max = 10,
     .help = "triage: number of actions A (default 4)"},
    {.name = "good",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 9,
     .help = "triage: equally good actions per state (default 2)"},
    {.name = "conflict",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1,
     .help = "triage: fraction of states where the demonstrator prefers a bad action"},
};

static const mag_schema task_schema = {
    .magic = "task",
    .keys = task_keys,
    .nkeys = sizeof task_keys / sizeof task_keys[0],
    .help = "defines a task: add, reverse, sort, copy, mix or triage",
};

/* key -> cfg field if given */
static void set_int(const mag_config *cfg, const char *key, int *field)
{
    int i = mag_schema_find(cfg->schema, key);
    if (i >= 0 && cfg->given[i])
        *field = (int)mag_value_number(mag_config_at(cfg, (size_t)i, 0), *field);
}

static void set_num(const mag_config *cfg, const char *key, double *field)
{
    int i = mag_schema_find(cfg->schema, key);
    if (i >= 0 && cfg->given[i])
        *field = mag_value_number(mag_config_at(cfg, (size_t)i, 0), *field);
}

/* The task's display: a caption, the vocabulary, and a table of examples. */
static cJSON *task_bundle(const char *name, const rt_task *t, const rt_rng *rng0)
{
    char *desc = rt_malloc(8192);
    if (!desc) return NULL;
    rt_rng rng = *rng0;
    rt_task_describe(t, &rng, N_EXAMPLES, desc, 8192);
    static const char *const hdr[] = {"prompt", "answer"};
    mag_table *tab = mag_table_new(2, hdr);
    rng = *rng0; /* the same examples as the description's */
    for (int i = 0; tab && i < N_EXAMPLES; i++) {
        rt_task_sample s;
        char p[96], a[96];
        rt_task_sample_prompt(t, &rng, RT_TASK_TRAIN, &s);
        rt_task_render(s.prompt, rt_task_prompt_len(t), p, sizeof p);
        rt_task_render(s.target, s.target_len, a, sizeof a);
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

static int run_task(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
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
    if (!kind_s) {
        mag_pos p = kind_kv ? kind_kv->value.pos : line->name_pos;
        return mag_diag_set(d, src, len, MAG_EVALUE, p.line, p.col, NULL,
                            "%%task %s needs a KIND (add, reverse, sort, copy, mix or triage)",
                            name);
    }
    const mag_kv *extra = mag_arg_pos(line, 2);
    if (extra)
        return mag_diag_set(d, src, len, MAG_EVALUE, extra->value.pos.line, extra->value.pos.col,
                            NULL, "unexpected argument '%s' (settings are key=value)",
                            extra->value.text);
    rt_task_kind kind;
    if (rt_task_kind_parse(kind_s, &kind)) {
        const char *sug = rt_did_you_mean(kind_s, kinds, 6);
        if (sug)
            return mag_diag_set(d, src, len, MAG_EVALUE, kind_kv->value.pos.line,
                                kind_kv->value.pos.col, NULL,
                                "unknown task kind '%s' (did you mean '%s'?)", kind_s, sug);
        return mag_diag_set(d, src, len, MAG_EVALUE, kind_kv->value.pos.line,
                            kind_kv->value.pos.col, NULL,
                            "unknown task kind '%s'; expected add, reverse, sort, copy, mix or "
                            "triage",
                            kind_s);
    }
    rt_task_config tc;
    rt_task_config_init(&tc, kind);
    set_int(cfg, "digits", &tc.digits);
    set_int(cfg, "length", &tc.length);
    set_num(cfg, "noise", &tc.noise);
    set_num(cfg, "holdout", &tc.holdout);
    set_int(cfg, "features", &tc.features);
    set_int(cfg, "values", &tc.values);
    set_int(cfg, "actions", &tc.actions);
    set_int(cfg, "good", &tc.good);
    set_num(cfg, "conflict", &tc.conflict);
    rt_task_config doms[RT_TASK_MAX_DOMAINS];
    const char *dnames[RT_TASK_MAX_DOMAINS];
    int ti = mag_schema_find(cfg->schema, "tasks");
    const mag_value *tv = mag_config_at(cfg, (size_t)ti, 0);
    if (kind == RT_TASK_MIX) {
        if (!tv || !cfg->given[ti])
            return mag_diag_set(d, src, len, MAG_EVALUE, line->name_pos.line, line->name_pos.col,
                                NULL, "a mix needs tasks=[a, b]");
        if (tv->n < 1 || tv->n > RT_TASK_MAX_DOMAINS)
            return mag_diag_set(d, src, len, MAG_EVALUE, tv->pos.line, tv->pos.col, NULL,
                                "a mix takes 1 to %d tasks", RT_TASK_MAX_DOMAINS);
        for (size_t i = 0; i < tv->n; i++) {
            const mag_value *it = &tv->items[i];
            const rt_task *dt = mag_session_get(ctx->session, MAG_TASK, it->str);
            rt_task_kind dk;
            if (dt) {
                doms[i] = *rt_task_config_of(dt);
                if (doms[i].kind == RT_TASK_MIX || doms[i].kind == RT_TASK_TRIAGE)
                    return mag_diag_set(d, src, len, MAG_EVALUE, it->pos.line, it->pos.col, NULL,
                                        "task '%s' is a %s; a mix takes sequence tasks", it->str,
                                        rt_task_kind_name(doms[i].kind));
            } else if (rt_task_kind_parse(it->str, &dk) == 0 && dk != RT_TASK_MIX &&
                       dk != RT_TASK_TRIAGE) {
                rt_task_config_init(&doms[i], dk);
            } else {
                return mag_err_unknown(d, ctx, MAG_TASK, it->str, it->pos);
            }
            dnames[i] = it->str;
        }
        tc.tasks = doms;
        tc.task_names = dnames;
        tc.n_tasks = (int)tv->n;
    } else if (tv && cfg->given[ti]) {
        return mag_diag_set(d, src, len, MAG_EVALUE, tv->pos.line, tv->pos.col, NULL,
                            "'tasks' is only for kind mix");
    }
    rt_task *t = NULL;
    rt_task_error err;
    int rc = rt_task_create(&tc, &t, &err);
    if (rc == RT_TASK_ENOMEM)
        return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (rc)
        return mag_diag_set(d, src, len, MAG_EVALUE, kind_kv->value.pos.line,
                            kind_kv->value.pos.col, NULL, "%s", err.msg);
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), name);
    cJSON *b = task_bundle(name, t, &rng);
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
    int put = mag_session_put(ctx->session, MAG_TASK, name, t, free_task, summary, NULL);
    if (put < 0) {
        cJSON_Delete(b);
        return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced task '%s'\n", name);
    mag_show(ctx->out, b);
    return 0;
}

static const mag_magic task_magic = {
    .name = "task",
    .cell = 0,
    .schema = &task_schema,
    .usage = "%task NAME KIND [key=value ...]",
    .help = "Defines task NAME of kind add (digits=), reverse, sort, copy (length=), mix\n"
            "(tasks=[a, b]) or triage (features=, values=, actions=, good=, conflict=), and\n"
            "shows its vocabulary and example prompts with their answers.\n"
            "Example: %task add add digits=2",
    .run = run_task,
    .positional = "-,-",
};

const mag_magic *const mag_task_magics[] = {&task_magic, NULL};
