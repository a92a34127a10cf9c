/* mag_schema.c: validation of a magic's settings against its schema (mag_key_spec
 * tables declared by the magic handlers), defaults, sweep detection and cartesian
 * expansion with point names NAME[key=value,...].
 * Leaves out: resolving object names (the session registries do; completion hints
 * come from mag_key_spec.object) and what the keys mean. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mag_lang.h"
#include "mag_lang_priv.h"
#include "rt_fuzz.h"

#define MAX_POINTS 10000 /* a sweep of more points is an error */

typedef struct V {
    const mag_schema *s;
    const mag_validate_in *in;
    mag_diag *d;
} V;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
verr(V *v, mag_pos at, const char *tok, const char *fmt, ...)
{
    char buf[MAG_DIAG_MSG - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int r =
        mag_diag_set(v->d, v->in->src, v->in->len, MAG_ESCHEMA, at.line, at.col, NULL, "%s", buf);
    if (v->d && tok) snprintf(v->d->token, sizeof v->d->token, "%.63s", tok);
    return r;
}

int mag_schema_find(const mag_schema *schema, const char *name)
{
    if (!schema || !name) return -1;
    for (size_t k = 0; k < schema->nkeys; k++)
        if (!strcmp(schema->keys[k].name, name)) return (int)k;
    return -1;
}

/* "sampled or full", "a, b or c" from a NULL-terminated list. */
static size_t enum_text(const char *const *vals, char *buf, size_t cap)
{
    size_t n = 0, o = 0;
    while (vals && vals[n])
        n++;
    if (cap) buf[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        const char *sep = k == 0 ? "" : k + 1 == n ? " or " : ", ";
        int w = snprintf(buf + (o < cap ? o : cap), o < cap ? cap - o : 0, "%s%s", sep, vals[k]);
        o += (size_t)(w > 0 ? w : 0);
    }
    return o;
}

static const char *type_noun(mag_type t)
{
    switch (t) {
    case MAG_T_INT:
        return "an integer";
    case MAG_T_NUMBER:
        return "a number";
    case MAG_T_STRING:
        return "a string";
    case MAG_T_NAME:
        return "a name";
    case MAG_T_BOOL:
        return "true or false";
    case MAG_T_LIST:
        return "a list";
    case MAG_T_MAP:
        return "a map";
    case MAG_T_ENUM:
        break;
    }
    return "a value";
}

size_t mag_key_type_text(const mag_key_spec *k, char *buf, size_t cap)
{
    char e[256];
    mag_type t = k->type == MAG_T_LIST || k->type == MAG_T_MAP ? k->elem : k->type;
    if (t == MAG_T_ENUM) {
        char vals[200];
        enum_text(k->values, vals, sizeof vals);
        snprintf(e, sizeof e, "one of %s", vals);
    } else if (t == MAG_T_NAME && k->object)
        snprintf(e, sizeof e, "%.60s name", k->object);
    else
        snprintf(e, sizeof e, "%s", type_noun(t) + (t == MAG_T_BOOL ? 0 : t == MAG_T_INT ? 3 : 2));
    int w;
    if (k->type == MAG_T_LIST)
        w = snprintf(buf, cap, "list of %s", e);
    else if (k->type == MAG_T_MAP && (k->flags & MAG_K_OR_SCALAR))
        w = snprintf(buf, cap, "%s or map of %s", e, e);
    else if (k->type == MAG_T_MAP)
        w = snprintf(buf, cap, "map of %s", e);
    else
        w = snprintf(buf, cap, "%s", e);
    return w > 0 ? (size_t)w : 0;
}

/* "string \"ten\"", "integer 5", "number 1.5", "name 'x'", "a list", "a map" */
static void describe(const mag_value *v, char *buf, size_t cap)
{
    switch (v->kind) {
    case MAG_V_INT:
        snprintf(buf, cap, "integer %.40s", v->text);
        break;
    case MAG_V_FLOAT:
        snprintf(buf, cap, "number %.40s", v->text);
        break;
    case MAG_V_STRING:
        snprintf(buf, cap, "string %.40s%s", v->text, strlen(v->text) > 40 ? "..." : "");
        break;
    case MAG_V_NAME:
        snprintf(buf, cap, "name '%.40s'", v->str);
        break;
    case MAG_V_LIST:
        snprintf(buf, cap, "a list");
        break;
    case MAG_V_MAP:
        snprintf(buf, cap, "a map");
        break;
    }
}

static void fmt_num(double x, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.10g", x);
}

/* "> 0", ">= 1", "<= 1", "in [0, 1]", "in (0, 1)" or "" without a range. */
static void range_text(const mag_key_spec *k, char *msg, size_t cap)
{
    char lo[32], hi[32];
    fmt_num(k->min, lo, sizeof lo);
    fmt_num(k->max, hi, sizeof hi);
    int has_lo = (k->flags & (MAG_K_MIN | MAG_K_MIN_EXCL)) != 0;
    int has_hi = (k->flags & (MAG_K_MAX | MAG_K_MAX_EXCL)) != 0;
    if (has_lo && has_hi)
        snprintf(msg, cap, "in %c%s, %s%c", k->flags & MAG_K_MIN_EXCL ? '(' : '[', lo, hi,
                 k->flags & MAG_K_MAX_EXCL ? ')' : ']');
    else if (has_lo)
        snprintf(msg, cap, "%s %s", k->flags & MAG_K_MIN_EXCL ? ">" : ">=", lo);
    else if (has_hi)
        snprintf(msg, cap, "%s %s", k->flags & MAG_K_MAX_EXCL ? "<" : "<=", hi);
    else if (cap)
        msg[0] = '\0';
}

static int range_error(V *v, const mag_key_spec *k, const mag_value *x)
{
    char msg[96];
    range_text(k, msg, sizeof msg);
    return verr(v, x->pos, x->text, "'%s' must be %s", k->name, msg);
}

static int in_range(const mag_key_spec *k, double x)
{
    if ((k->flags & MAG_K_MIN) && !(x >= k->min)) return 0;
    if ((k->flags & MAG_K_MIN_EXCL) && !(x > k->min)) return 0;
    if ((k->flags & MAG_K_MAX) && !(x <= k->max)) return 0;
    if ((k->flags & MAG_K_MAX_EXCL) && !(x < k->max)) return 0;
    return 1;
}

static const char *const bool_words[] = {"true", "false", "yes", "no", "on", "off", NULL};

#define INT64_LIMIT 9223372036854775808.0 /* 2^63: integral doubles below it fit int64 */

/* One scalar value x of type t for key k. */
static int check_scalar(V *v, const mag_key_spec *k, mag_type t, const mag_value *x)
{
    char got[96];
    describe(x, got, sizeof got);
    switch (t) {
    case MAG_T_INT:
        /* an integral number (1e3) is an integer too (normalized by int_value) */
        if (x->kind == MAG_V_FLOAT && x->num == floor(x->num)) {
            if (!(fabs(x->num) < INT64_LIMIT))
                return verr(v, x->pos, x->text,
                            "number %.40s is out of range for '%s' (an integer: at most "
                            "9223372036854775807 in magnitude)",
                            x->text, k->name);
        } else if (x->kind != MAG_V_INT)
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "an integer", got);
        return in_range(k, x->num) ? MAG_OK : range_error(v, k, x);
    case MAG_T_NUMBER:
        if (x->kind != MAG_V_INT && x->kind != MAG_V_FLOAT)
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "a number", got);
        /* settings are used in single precision: no overflow to inf, no underflow to 0 */
        if (fabs(x->num) > FLT_MAX)
            return verr(v, x->pos, x->text,
                        "number %.40s is out of range for '%s' (the largest magnitude is "
                        "3.4e+38)",
                        x->text, k->name);
        if (x->num != 0 && fabs(x->num) < FLT_MIN)
            return verr(v, x->pos, x->text,
                        "number %.40s is out of range for '%s' (too close to 0: the smallest "
                        "nonzero magnitude is 1.2e-38)",
                        x->text, k->name);
        return in_range(k, x->num) ? MAG_OK : range_error(v, k, x);
    case MAG_T_STRING:
        if (x->kind != MAG_V_STRING && x->kind != MAG_V_NAME)
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "a string", got);
        return MAG_OK;
    case MAG_T_NAME:
        if (x->kind != MAG_V_NAME)
            return verr(v, x->pos, x->text, "'%s' expects a %s name, got %s", k->name,
                        k->object ? k->object : "object", got);
        return MAG_OK;
    case MAG_T_BOOL:
        if (x->kind == MAG_V_INT && (x->i == 0 || x->i == 1)) return MAG_OK;
        if (x->kind == MAG_V_NAME)
            for (size_t i = 0; bool_words[i]; i++)
                if (!strcmp(x->str, bool_words[i])) return MAG_OK;
        return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "true or false", got);
    case MAG_T_ENUM: {
        char vals[256];
        enum_text(k->values, vals, sizeof vals);
        if (x->kind != MAG_V_NAME && x->kind != MAG_V_STRING)
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, vals, got);
        size_t n = 0;
        for (; k->values && k->values[n]; n++)
            if (!strcmp(k->values[n], x->str)) return MAG_OK;
        const char *best = rt_did_you_mean(x->str, k->values, n);
        char hint[96] = "";
        if (best) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
        char what[96];
        snprintf(what, sizeof what, "%.60s", x->str);
        return verr(v, x->pos, x->text, "unknown value '%s' for '%s'%s; expected %s", what, k->name,
                    hint, vals);
    }
    case MAG_T_LIST:
    case MAG_T_MAP:
        break;
    }
    return verr(v, x->pos, x->text, "'%s' has an invalid schema type", k->name);
}

/* Truth of a validated MAG_T_BOOL value. */
static int truth(const mag_value *x)
{
    return x->kind == MAG_V_INT
               ? x->i != 0
               : !strcmp(x->str, "true") || !strcmp(x->str, "yes") || !strcmp(x->str, "on");
}

/* Two validated scalar values of type t mean the same (1e-3 and 0.001, 1e3 and 1000,
 * yes and true, a name and the string of it). */
static int same_value(mag_type t, const mag_value *a, const mag_value *b)
{
    switch (t) {
    case MAG_T_INT:
    case MAG_T_NUMBER:
        return a->num == b->num;
    case MAG_T_BOOL:
        return truth(a) == truth(b);
    case MAG_T_STRING:
    case MAG_T_NAME:
    case MAG_T_ENUM:
        return !strcmp(a->str, b->str);
    case MAG_T_LIST:
    case MAG_T_MAP:
        break;
    }
    return 0;
}

/* "value 64 appears twice in the sweep of 'hidden' (first at column 11)" at the second. */
static int dup_error(V *v, const mag_key_spec *k, const mag_value *first, const mag_value *again)
{
    char where[96], as[64] = "";
    if (first->pos.line == again->pos.line)
        snprintf(where, sizeof where, "column %d", first->pos.col);
    else
        snprintf(where, sizeof where, "line %d, column %d", first->pos.line, first->pos.col);
    if (strcmp(first->text, again->text)) snprintf(as, sizeof as, "as %.40s ", first->text);
    return verr(v, again->pos, again->text,
                "value %.40s appears twice in the sweep of '%s' (first %sat %s); each point "
                "would run twice under one name",
                again->text, k->name, as, where);
}

/* Scalar-typed key: a list is a sweep when allowed. */
static int check_maybe_sweep(V *v, const mag_key_spec *k, mag_type t, const mag_value *x,
                             int *swept)
{
    *swept = 0;
    if (x->kind != MAG_V_LIST) return check_scalar(v, k, t, x);
    if (!(k->flags & MAG_K_SWEEP))
        return verr(v, x->pos, x->text, "'%s' cannot be swept (a list is not allowed here)",
                    k->name);
    if (x->n == 0) return verr(v, x->pos, x->text, "sweep list for '%s' is empty", k->name);
    for (size_t i = 0; i < x->n; i++) {
        int r = check_scalar(v, k, t, &x->items[i]);
        if (r) return r;
        /* quadratic, so only within the point limit (a longer list is an error later) */
        for (size_t j = 0; x->n <= MAX_POINTS && j < i; j++)
            if (same_value(t, &x->items[j], &x->items[i]))
                return dup_error(v, k, &x->items[j], &x->items[i]);
    }
    *swept = 1;
    return MAG_OK;
}

static int check_value(V *v, const mag_key_spec *k, const mag_value *x, int *swept)
{
    char got[96];
    *swept = 0;
    if (k->type == MAG_T_LIST) {
        if (x->kind != MAG_V_LIST) {
            describe(x, got, sizeof got);
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "a list", got);
        }
        for (size_t i = 0; i < x->n; i++) {
            int r = check_scalar(v, k, k->elem, &x->items[i]);
            if (r) return r;
        }
        return MAG_OK;
    }
    if (k->type == MAG_T_MAP) {
        if (x->kind != MAG_V_MAP) {
            if (k->flags & MAG_K_OR_SCALAR) return check_maybe_sweep(v, k, k->elem, x, swept);
            describe(x, got, sizeof got);
            return verr(v, x->pos, x->text, "'%s' expects %s, got %s", k->name, "a map", got);
        }
        for (size_t i = 0; i < x->n; i++) {
            int r = check_scalar(v, k, k->elem, &x->entries[i].value);
            if (r) return r;
        }
        return MAG_OK;
    }
    return check_maybe_sweep(v, k, k->type, x, swept);
}

/* ------------------------------------------------------------------ copies */

static int copy_value(mag_arena *a, mag_value *dst, const mag_value *src)
{
    *dst = *src;
    dst->text = mag_arena_strndup(a, src->text, strlen(src->text));
    if (!dst->text) return MAG_ENOMEM;
    if (src->str && !(dst->str = mag_arena_strndup(a, src->str, strlen(src->str))))
        return MAG_ENOMEM;
    if (src->kind == MAG_V_LIST && src->n) {
        mag_value *items = mag_arena_alloc(a, src->n * sizeof *items);
        if (!items) return MAG_ENOMEM;
        for (size_t i = 0; i < src->n; i++)
            if (copy_value(a, &items[i], &src->items[i])) return MAG_ENOMEM;
        dst->items = items;
    }
    if (src->kind == MAG_V_MAP && src->n) {
        mag_kv *e = mag_arena_alloc(a, src->n * sizeof *e);
        if (!e) return MAG_ENOMEM;
        for (size_t i = 0; i < src->n; i++) {
            e[i].key_pos = src->entries[i].key_pos;
            e[i].key = mag_arena_strndup(a, src->entries[i].key, strlen(src->entries[i].key));
            if (!e[i].key || copy_value(a, &e[i].value, &src->entries[i].value)) return MAG_ENOMEM;
        }
        dst->entries = e;
    }
    return MAG_OK;
}

typedef struct cfg_priv {
    mag_config cfg;
    mag_arena *a;
} cfg_priv;

void mag_config_free(mag_config *cfg)
{
    if (cfg) mag_arena_free(cfg->priv);
}

/* An integer key's value: integral numbers (1e3, validated) become integers, in lists
 * and maps too; the text stays as written (it names sweep points). */
static void int_value(mag_value *x)
{
    if (x->kind == MAG_V_FLOAT) {
        x->kind = MAG_V_INT;
        x->i = (long long)x->num;
    }
    for (size_t i = 0; x->kind == MAG_V_LIST && i < x->n; i++)
        int_value(&x->items[i]);
    for (size_t i = 0; x->kind == MAG_V_MAP && i < x->n; i++)
        int_value(&x->entries[i].value);
}

/* Validate one key = value (kv) into the config being built. */
static int take(V *v, mag_config *c, mag_value **vals, unsigned char *given, size_t *swept,
                const mag_kv **first, const mag_kv *kv, mag_arena *a)
{
    int idx = mag_schema_find(v->s, kv->key);
    const rt_key_alias *al = NULL;
    for (size_t i = 0; idx < 0 && i < v->s->naliases; i++)
        if (!strcmp(v->s->aliases[i].alias, kv->key)) {
            al = &v->s->aliases[i];
            idx = mag_schema_find(v->s, al->key);
        }
    if (idx < 0) {
        rt_suggest sg;
        rt_suggest_init(&sg, kv->key);
        for (size_t k = 0; k < v->s->nkeys; k++)
            rt_suggest_add(&sg, v->s->keys[k].name);
        for (size_t k = 0; k < v->s->naliases; k++)
            rt_suggest_add(&sg, v->s->aliases[k].alias);
        char hint[96] = "";
        if (sg.best) snprintf(hint, sizeof hint, " (did you mean '%s'?)", sg.best);
        return verr(v, kv->key_pos, kv->key, "unknown key '%.60s'%s", kv->key, hint);
    }
    if (first[idx] && strcmp(first[idx]->key, kv->key)) { /* a key and its alias */
        const char *from = al ? al->from : "another";
        for (size_t i = 0; !al && i < v->s->naliases; i++)
            if (!strcmp(v->s->aliases[i].alias, first[idx]->key)) from = v->s->aliases[i].from;
        return verr(v, kv->key_pos, kv->key,
                    "'%s' and '%s' name the same key ('%s'; %s's name), both set (first at line "
                    "%d): keep one",
                    first[idx]->key, kv->key, v->s->keys[idx].name, from, first[idx]->key_pos.line);
    }
    if (first[idx]) {
        return verr(v, kv->key_pos, kv->key, "duplicate key '%s' (first set at line %d)", kv->key,
                    first[idx]->key_pos.line);
    }
    first[idx] = kv;
    const mag_key_spec *k = &v->s->keys[idx];
    /* an alias with values of its own: checked as the alias's enum, then mapped */
    mag_key_spec ak;
    const char *avals[17];
    if (al && al->values && k->type == MAG_T_ENUM) {
        size_t n = 0;
        for (; al->values[2 * n] && n < 16; n++)
            avals[n] = al->values[2 * n];
        avals[n] = NULL;
        ak = *k;
        ak.name = al->alias, ak.values = avals;
    }
    int mapped = al && al->values && k->type == MAG_T_ENUM;
    int sw, r = check_value(v, mapped ? &ak : k, &kv->value, &sw);
    if (r) return r;
    mag_value *copy = mag_arena_alloc(a, sizeof *copy);
    if (!copy || copy_value(a, copy, &kv->value)) return MAG_ENOMEM;
    for (size_t i = 0; mapped && i < (copy->kind == MAG_V_LIST ? copy->n : 1); i++) {
        mag_value *x = copy->kind == MAG_V_LIST ? &copy->items[i] : copy;
        for (size_t j = 0; al->values[2 * j]; j++)
            if (!strcmp(al->values[2 * j], x->str)) {
                x->str = x->text = al->values[2 * j + 1];
                break;
            }
        for (size_t j = 0; copy->kind == MAG_V_LIST && j < i; j++)
            if (!strcmp(copy->items[j].str, x->str))
                return verr(v, kv->value.items[i].pos, kv->value.items[i].text,
                            "%s values %s and %s are the same %s (%s)", al->alias,
                            kv->value.items[j].text, kv->value.items[i].text, k->name, x->str);
    }
    if ((k->type == MAG_T_LIST || k->type == MAG_T_MAP ? k->elem : k->type) == MAG_T_INT)
        int_value(copy);
    vals[idx] = copy;
    given[idx] = 1;
    if (sw) swept[c->nswept++] = (size_t)idx;
    return MAG_OK;
}

int mag_validate(const mag_schema *schema, const mag_validate_in *in, mag_config **out, mag_diag *d)
{
    if (out) *out = NULL;
    if (d) memset(d, 0, sizeof *d);
    if (!schema || !in || !out)
        return mag_diag_set(d, NULL, 0, MAG_EARG, 0, 0, NULL, "invalid arguments");
    V v = {schema, in, d};
    mag_arena *a = mag_arena_new();
    cfg_priv *cp = a ? mag_arena_alloc(a, sizeof *cp) : NULL;
    size_t nk = schema->nkeys ? schema->nkeys : 1;
    mag_value **vals = cp ? mag_arena_alloc(a, nk * sizeof *vals) : NULL;
    unsigned char *given = vals ? mag_arena_alloc(a, nk) : NULL;
    size_t *swept = given ? mag_arena_alloc(a, nk * sizeof *swept) : NULL;
    const mag_kv **first = swept ? mag_arena_alloc(a, nk * sizeof *first) : NULL;
    if (!first) {
        mag_arena_free(a);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    mag_config *c = &cp->cfg;
    c->schema = schema;
    c->priv = a;
    int r = MAG_OK;
    for (size_t i = 0; !r && i < in->nargs; i++)
        if (in->args[i].key) r = take(&v, c, vals, given, swept, first, &in->args[i], a);
    for (size_t i = 0; !r && i < in->nentries; i++)
        r = take(&v, c, vals, given, swept, first, &in->entries[i], a);
    for (size_t k = 0; !r && k < schema->nkeys; k++) {
        const mag_key_spec *ks = &schema->keys[k];
        if (given[k]) continue;
        if (ks->flags & MAG_K_REQUIRED) {
            r = verr(&v, in->where, NULL, "missing required key '%s'", ks->name);
            break;
        }
        if (!ks->def) continue;
        const mag_value *dv;
        mag_cell *owner;
        mag_diag dd;
        int pr = mag_parse_value(ks->def, strlen(ks->def), &dv, &owner, &dd);
        if (pr == MAG_ENOMEM) {
            r = MAG_ENOMEM;
            break;
        }
        if (pr) {
            r = mag_diag_set(d, NULL, 0, MAG_EARG, 0, 0, NULL,
                             "schema default for '%s' does not parse: %s", ks->name, dd.msg);
            break;
        }
        mag_value *copy = mag_arena_alloc(a, sizeof *copy);
        if (!copy || copy_value(a, copy, dv)) r = MAG_ENOMEM;
        mag_cell_free(owner);
        vals[k] = copy;
    }
    if (r == MAG_ENOMEM) mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    /* the sweep as the runtime's points (rt_sweep_points.h): count, coordinates, names */
    rt_sweep_key *grid = NULL;
    if (!r && c->nswept > RT_SWEEP_MAX_KEYS)
        r = verr(&v, first[swept[0]]->key_pos, first[swept[0]]->key, "a sweep of more than %d keys",
                 RT_SWEEP_MAX_KEYS);
    if (!r && c->nswept) {
        grid = mag_arena_alloc(a, c->nswept * sizeof *grid);
        if (!grid) r = mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    for (size_t s = 0; !r && s < c->nswept; s++) {
        const mag_value *x = vals[swept[s]];
        const char **texts = mag_arena_alloc(a, x->n * sizeof *texts);
        if (!texts) {
            r = mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
            break;
        }
        for (size_t i = 0; i < x->n; i++)
            texts[i] = x->items[i].text;
        /* fuzz builds run the first values only (rt_fuzz.h) */
        int nv = RT_FUZZ_CAP((int)x->n, RT_FUZZ_MAX_SWEEP);
        grid[s] = (rt_sweep_key){schema->keys[swept[s]].name, nv, texts};
    }
    long np = r ? 1 : rt_sweep_count(grid, (int)c->nswept);
    if (!r && (np < 0 || np > MAX_POINTS))
        r = verr(&v, first[swept[0]]->key_pos, first[swept[0]]->key,
                 "sweep has too many points (the limit is %d)", MAX_POINTS);
    c->npoints = (size_t)np;
    c->grid = grid;
    if (r) {
        mag_arena_free(a);
        return r;
    }
    mag_pos *kpos = mag_arena_alloc(a, nk * sizeof *kpos);
    if (!kpos) {
        mag_arena_free(a);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    for (size_t k = 0; k < schema->nkeys; k++)
        kpos[k] = first[k] ? first[k]->key_pos : in->where;
    c->key_pos = kpos;
    c->values = (const mag_value **)vals;
    c->given = given;
    c->swept = swept;
    *out = c;
    return MAG_OK;
}

int mag_validate_cell(const mag_schema *schema, const mag_cell *cell, const char *src, size_t len,
                      mag_config **out, mag_diag *d)
{
    if (!cell) return mag_validate(schema, NULL, out, d);
    mag_validate_in in = {
        src, len, cell->args, cell->nargs, cell->entries, cell->nentries, cell->name_pos};
    return mag_validate(schema, &in, out, d);
}

int mag_validate_line(const mag_schema *schema, const mag_line *line, const char *src, size_t len,
                      mag_config **out, mag_diag *d)
{
    if (!line) return mag_validate(schema, NULL, out, d);
    mag_validate_in in = {src, len, line->args, line->nargs, NULL, 0, line->name_pos};
    return mag_validate(schema, &in, out, d);
}

/* ------------------------------------------------------------------ access */

/* Item index of swept key number s at point `point` (first swept key slowest). */
static size_t coord(const mag_config *c, size_t s, size_t point)
{
    return (size_t)rt_sweep_coord(c->grid, (int)c->nswept, (long)point, (int)s);
}

const mag_value *mag_config_at(const mag_config *c, size_t key, size_t point)
{
    if (!c || key >= c->schema->nkeys || point >= c->npoints) return NULL;
    const mag_value *x = c->values[key];
    if (!x) return NULL;
    for (size_t s = 0; s < c->nswept; s++)
        if (c->swept[s] == key) return &x->items[coord(c, s, point)];
    return x;
}

const mag_value *mag_config_get(const mag_config *c, const char *key, size_t point)
{
    int k = c ? mag_schema_find(c->schema, key) : -1;
    return k < 0 ? NULL : mag_config_at(c, (size_t)k, point);
}

double mag_value_number(const mag_value *v, double fallback)
{
    if (!v || (v->kind != MAG_V_INT && v->kind != MAG_V_FLOAT)) return fallback;
    return v->num;
}

int mag_value_bool(const mag_value *v, int fallback)
{
    if (!v) return fallback;
    if (v->kind == MAG_V_INT) return v->i != 0;
    if (v->kind == MAG_V_NAME || v->kind == MAG_V_STRING)
        return !strcmp(v->str, "true") || !strcmp(v->str, "yes") || !strcmp(v->str, "on");
    return fallback;
}

size_t mag_config_point_name(const mag_config *c, const char *base, size_t point, char *buf,
                             size_t cap)
{
    if (buf && cap) buf[0] = '\0';
    long n = c && c->nswept ? rt_sweep_point_name(base, c->grid, (int)c->nswept,
                                                  (long)(point % c->npoints), buf, cap)
                            : rt_sweep_point_name(base, NULL, 0, 0, buf, cap);
    return n < 0 ? 0 : (size_t)n;
}

size_t mag_config_coord(const mag_config *cfg, size_t s, size_t point)
{
    if (!cfg || s >= cfg->nswept || point >= cfg->npoints) return 0;
    return coord(cfg, s, point);
}

/* snprintf appending at *o (which counts the full length even when cut). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
put(char *buf, size_t cap, size_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf && *o < cap ? buf + *o : NULL, buf && *o < cap ? cap - *o : 0, fmt, ap);
    va_end(ap);
    *o += (size_t)(w > 0 ? w : 0);
}

static size_t key_help(const mag_key_spec *k, char *buf, size_t cap, size_t o)
{
    char type[256], range[96];
    mag_key_type_text(k, type, sizeof type);
    range_text(k, range, sizeof range);
    put(buf, cap, &o, "%s (%s%s%s", k->name, type, range[0] ? " " : "", range);
    if (k->flags & MAG_K_REQUIRED) put(buf, cap, &o, ", required");
    if (k->def) put(buf, cap, &o, ", default %s", k->def);
    if (k->flags & MAG_K_SWEEP) put(buf, cap, &o, ", sweepable");
    put(buf, cap, &o, ")%s%s", k->help ? ": " : "", k->help ? k->help : "");
    return o;
}

size_t mag_key_help(const mag_key_spec *k, char *buf, size_t cap)
{
    if (buf && cap) buf[0] = '\0';
    return k ? key_help(k, buf, cap, 0) : 0;
}

size_t mag_schema_help(const mag_schema *s, char *buf, size_t cap)
{
    size_t o = 0;
    if (buf && cap) buf[0] = '\0';
    if (!s) return 0;
    put(buf, cap, &o, "%s\n", s->help ? s->help : s->magic);
    for (size_t k = 0; k < s->nkeys; k++) {
        put(buf, cap, &o, "  ");
        o = key_help(&s->keys[k], buf, cap, o);
        put(buf, cap, &o, "\n");
    }
    for (size_t i = 0; i < s->naliases; i++)
        put(buf, cap, &o, "%s%s = %s%s", i ? ", " : "  other names: ", s->aliases[i].alias,
            s->aliases[i].key, i + 1 == s->naliases ? "\n" : "");
    return o;
}
