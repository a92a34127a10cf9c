/* mag_interp_edit: completion and inspection for the interpreter (mag_interp.h), from
 * the cursor contexts of magics/lang (mag_complete_context / mag_inspect_context), the
 * magic registry (names, schemas, positional argument kinds) and the session (object
 * names).  Offsets are code points.  Leaves out fuzzy matching: completions are the
 * names that start with the typed prefix, in registry / definition order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_interp.h"
#include "mag_magic.h"
#include "rt_alloc.h"

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int add(krn_completion *c, const char *prefix, const char *pre, const char *name,
               const char *post)
{
    if (!starts(name, prefix)) return 0;
    char m[256];
    snprintf(m, sizeof m, "%s%s%s", pre, name, post);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->matches[i], m) == 0) return 0;
    return krn_completion_add(c, m);
}

static const mag_magic *find_either(const char *name, int cell)
{
    const mag_magic *m = mag_magic_find(name, cell);
    return m ? m : mag_magic_find(name, !cell);
}

static const mag_key_spec *find_key(const mag_magic *m, const char *key)
{
    int k = m && m->schema ? mag_schema_find(m->schema, key) : -1;
    return k < 0 ? NULL : &m->schema->keys[k];
}

static int add_objects(krn_completion *c, const mag_session *s, const char *kind,
                       const char *prefix)
{
    if (strcmp(kind, "magic") == 0) {
        /* magic names (e.g. %help NAME): line magics, then cell magics with "%%" */
        const mag_magic *const *all = mag_magics();
        for (size_t i = 0; all[i]; i++)
            if (!all[i]->cell && add(c, prefix, "", all[i]->name, "") < 0) return -1;
        for (size_t i = 0; all[i]; i++)
            if (all[i]->cell && add(c, prefix, "", all[i]->name, "") < 0) return -1;
        return 0;
    }
    int k = mag_kind_parse(kind);
    if (k < 0) return 0;
    for (size_t i = 0; i < mag_session_count(s, (mag_kind)k); i++)
        if (add(c, prefix, "", mag_session_at(s, (mag_kind)k, i)->name, "") < 0) return -1;
    return 0;
}

/* Kind of positional argument `index` from m->positional ("policy,-"; the last repeats). */
static void positional_kind(const mag_magic *m, int index, char kind[32])
{
    kind[0] = '\0';
    const char *p = m->positional;
    if (!p) return;
    for (int i = 0;; i++) {
        size_t n = strcspn(p, ",");
        if (i == index || !p[n]) {
            snprintf(kind, 32, "%.*s", (int)n, p);
            return;
        }
        p += n + 1;
    }
}

static const char *const functions[] = {"if", "min", "max", "abs", "log", "exp", "sqrt", "clip"};

int mag_complete(void *self, const char *code, size_t cursor, krn_completion *c)
{
    const mag_session *s = mag_interp_session((krn_interp *)self);
    size_t len = strlen(code);
    mag_cursor_ctx x;
    mag_parse_opts opts = {mag_magic_body_kind, NULL};
    if (mag_complete_context(code, len, cursor, &opts, &x)) return -1;
    c->cursor_start = x.start;
    c->cursor_end = x.end;
    const mag_magic *const *all = mag_magics();
    const mag_magic *m = x.magic[0] ? find_either(x.magic, x.cell_magic) : NULL;
    int rc = 0;
    switch (x.kind) {
    case MAG_CTX_MAGIC:
    case MAG_CTX_HELP: {
        /* replace the whole token, '%' signs included */
        size_t b = rt_utf8_offset(code, len, x.start);
        int k = 0;
        while (b > 0 && code[b - 1] == '%' && k < 2)
            b--, k++;
        const char *prefix = x.prefix;
        while (*prefix == '%' && k < 2 && x.kind == MAG_CTX_HELP)
            prefix++, k++;
        while (*prefix == '%')
            prefix++;
        c->cursor_start = x.start - (size_t)(b < rt_utf8_offset(code, len, x.start) ? k : 0);
        if (x.kind == MAG_CTX_HELP && rt_utf8_offset(code, len, x.start) == b)
            c->cursor_start = x.start;
        int cell_only = k == 2 || (x.kind == MAG_CTX_MAGIC && x.cell_magic);
        for (size_t i = 0; all[i] && rc >= 0; i++)
            if (!all[i]->cell && !cell_only)
                rc = add(c, prefix, k || x.kind == MAG_CTX_MAGIC ? "%" : "", all[i]->name, "");
        for (size_t i = 0; all[i] && rc >= 0; i++)
            if (all[i]->cell) rc = add(c, prefix, "%%", all[i]->name, "");
        if (x.kind == MAG_CTX_HELP && k == 0)
            for (size_t i = 0; all[i] && rc >= 0; i++)
                for (size_t j = 0; all[i]->schema && j < all[i]->schema->nkeys && rc >= 0; j++)
                    rc = add(c, prefix, "", all[i]->schema->keys[j].name, "");
        break;
    }
    case MAG_CTX_KEY:
    case MAG_CTX_ARG:
        if (x.kind == MAG_CTX_ARG && m) {
            char kind[32];
            positional_kind(m, x.arg_index, kind);
            if (kind[0] && add_objects(c, s, kind, x.prefix) < 0) return -1;
        }
        for (size_t j = 0; m && m->schema && j < m->schema->nkeys && rc >= 0; j++)
            rc = add(c, x.prefix, "", m->schema->keys[j].name,
                     x.kind == MAG_CTX_ARG || !m->cell ? "=" : " = ");
        break;
    case MAG_CTX_VALUE: {
        const mag_key_spec *k = find_key(m, x.key);
        if (!k) break;
        mag_type t = k->type == MAG_T_LIST || k->type == MAG_T_MAP ? k->elem : k->type;
        if (t == MAG_T_ENUM)
            for (size_t i = 0; k->values && k->values[i] && rc >= 0; i++)
                rc = add(c, x.prefix, "", k->values[i], "");
        if (t == MAG_T_BOOL) {
            rc = add(c, x.prefix, "", "true", "");
            if (rc >= 0) rc = add(c, x.prefix, "", "false", "");
        }
        if (k->object && rc >= 0) rc = add_objects(c, s, k->object, x.prefix);
        break;
    }
    case MAG_CTX_EXPR: {
        int nf;
        const char *const *f = mag_reward_features(&nf);
        if (strcmp(x.magic, "reward") == 0)
            for (int i = 0; i < nf && rc >= 0; i++)
                rc = add(c, x.prefix, "", f[i], "");
        for (size_t i = 0; i < sizeof functions / sizeof functions[0] && rc >= 0; i++)
            rc = add(c, x.prefix, "", functions[i], "(");
        if (strcmp(x.magic, "reward") == 0 && rc >= 0) rc = add(c, x.prefix, "", "debate", "(");
        if (strcmp(x.magic, "reward") == 0 && rc >= 0) rc = add(c, x.prefix, "", "judge_full", "(");
        static const char *const rm_fns[] = {"rm", "rm_mean", "rm_min"};
        for (size_t i = 0; i < 3 && strcmp(x.magic, "reward") == 0 && rc >= 0; i++)
            rc = add(c, x.prefix, "", rm_fns[i], "(");
        for (size_t i = 0; i < mag_session_count(s, MAG_REWARD) && rc >= 0; i++)
            rc = add(c, x.prefix, "", mag_session_at(s, MAG_REWARD, i)->name, "(");
        break;
    }
    case MAG_CTX_NONE:
        break;
    }
    return rc < 0 ? -1 : 0;
}

int mag_inspect(void *self, const char *code, size_t cursor, int detail_level, char **text)
{
    (void)detail_level;
    const mag_session *s = mag_interp_session((krn_interp *)self);
    size_t len = strlen(code);
    mag_cursor_ctx x;
    mag_parse_opts opts = {mag_magic_body_kind, NULL};
    if (mag_inspect_context(code, len, cursor, &opts, &x) || x.kind == MAG_CTX_NONE || !x.word[0])
        return 0;
    const mag_magic *m = x.magic[0] ? find_either(x.magic, x.cell_magic) : NULL;
    char target[160];
    switch (x.kind) {
    case MAG_CTX_MAGIC: {
        const mag_magic *mm = find_either(x.word, x.cell_magic);
        if (!mm) return 0;
        size_t n = mag_magic_help(mm, NULL, 0);
        if (!(*text = rt_malloc(n + 1))) return 0;
        mag_magic_help(mm, *text, n + 1);
        return 1;
    }
    case MAG_CTX_KEY:
    case MAG_CTX_VALUE: {
        const mag_key_spec *k = find_key(m, x.kind == MAG_CTX_KEY ? x.word : x.key);
        if (x.kind == MAG_CTX_VALUE) {
            /* an object name under the cursor: its summary first */
            char *obj = mag_help_text(s, x.word, NULL);
            if (obj && (!k || k->object)) {
                *text = obj;
                return 1;
            }
            rt_free(obj);
        }
        if (!k) return 0;
        char line[600];
        mag_key_help(k, line, sizeof line);
        size_t n = strlen(line) + 80;
        if (!(*text = rt_malloc(n))) return 0;
        snprintf(*text, n, "%s%s: %s\n", m->cell ? "%%" : "%", m->name, line);
        return 1;
    }
    case MAG_CTX_EXPR:
        *text = mag_help_expr(s, x.word);
        return *text != NULL;
    case MAG_CTX_ARG:
    case MAG_CTX_HELP:
        snprintf(target, sizeof target, "%s", x.word);
        if ((*text = mag_help_text(s, target, NULL))) return 1;
        if (x.kind == MAG_CTX_ARG && m) {
            size_t n = mag_magic_help(m, NULL, 0);
            if (!(*text = rt_malloc(n + 1))) return 0;
            mag_magic_help(m, *text, n + 1);
            return 1;
        }
        return 0;
    case MAG_CTX_NONE:
        break;
    }
    return 0;
}
