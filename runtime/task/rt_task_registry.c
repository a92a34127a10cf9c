/* rt_task_registry.c: the registry of task kinds (the built-in records, kinds
 * registered at start-up, tag ids), the keys every kind shares, configurations
 * (defaults, setting and parsing keys, range checks) and the token table.  Kinds'
 * own rules are in their records (rt_task_kinds.c, rt_task_triage.c, mix in
 * rt_task.c). */
#include "rt_task_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const rt_task_kind_ops rt_task_kind_add, rt_task_kind_reverse, rt_task_kind_sort,
    rt_task_kind_copy;

/* The registry, in order: built-ins first (one line each; never reorder: the order
 * gives tag ids and split salts), then registered kinds. */
static const rt_task_kind_ops *kinds[RT_TASK_MAX_KINDS] = {
    &rt_task_kind_add, &rt_task_kind_reverse, &rt_task_kind_sort, &rt_task_kind_copy,
    &rt_task_kind_mix, &rt_task_kind_triage,  &rt_task_kind_file, /* untagged: takes no tag id */
};
static int n_kinds = 7;

/* tags take the ids 25..29, then 32, 33, ... */
enum { TAG0 = 25, TAG_SLOTS = 5, TAG_MORE = 32 };

const char *const rt_task_std_features[5] = {"correct", "partial", "length", "format", "eos"};

/* the keys every kind has after its own */
static const rt_task_key common_keys[2] = {
    {.name = "noise",
     .type = RT_TASK_KEY_NUMBER,
     .min = 0,
     .max = 1,
     .def = 0,
     .help = "fraction of demonstrations with the task's systematic error"},
    {.name = "holdout",
     .type = RT_TASK_KEY_NUMBER,
     .flags = RT_TASK_KEY_MIN_EXCL | RT_TASK_KEY_MAX_EXCL,
     .min = 0,
     .max = 1,
     .def = 0.2,
     .help = "fraction of prompts held out for evaluation"},
};

/* tokens that are not tags */
static const char *const base_tok[RT_TASK_VOCAB] = {
    "<pad>", "<eos>", "+", "=", ":", "0", "1", "2", "3", "4",  "5",  "6",  "7",  "8",  "9", "a",
    "b",     "c",     "d", "e", "f", "g", "h", "i", "j", NULL, NULL, NULL, NULL, NULL, "?", "|"};

void rt_task_k_set_err(rt_diag *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_diag_vset(err, code, fmt, ap);
    va_end(ap);
}

uint64_t rt_task_k_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- the registry ---------------------------------------------------------------- */

int rt_task_kind_count(void)
{
    return n_kinds;
}

const rt_task_kind_ops *rt_task_kind_at(int i)
{
    return i >= 0 && i < n_kinds ? kinds[i] : NULL;
}

const rt_task_kind_ops *rt_task_kind_find(const char *name)
{
    for (int i = 0; name && i < n_kinds; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

int rt_task_kind_index(const rt_task_kind_ops *kind)
{
    for (int i = 0; i < n_kinds; i++)
        if (kinds[i] == kind) return i;
    return -1;
}

int rt_task_kind_tag(const rt_task_kind_ops *kind)
{
    int j = 0; /* tagged kinds before this one */
    for (int i = 0; i < n_kinds; i++) {
        if (kinds[i] == kind) {
            if (!kind->tag) break;
            return j < TAG_SLOTS ? TAG0 + j : TAG_MORE + j - TAG_SLOTS;
        }
        j += kinds[i]->tag != NULL;
    }
    return RT_TOK_PAD;
}

int rt_task_k_max_token(void)
{
    int m = RT_TASK_VOCAB - 1;
    for (int i = 0; i < n_kinds; i++) {
        int tag = rt_task_kind_tag(kinds[i]);
        if (tag > m) m = tag;
    }
    return m;
}

const char *rt_task_token_str(int tok)
{
    if (tok >= 0 && tok < RT_TASK_VOCAB && base_tok[tok]) return base_tok[tok];
    for (int i = 0; tok > RT_TOK_PAD && i < n_kinds; i++)
        if (kinds[i]->tag && rt_task_kind_tag(kinds[i]) == tok) return kinds[i]->tag;
    return NULL;
}

int rt_task_kind_register(const rt_task_kind_ops *k, rt_diag *err)
{
    const char *bad = NULL;
    if (!k || !k->name || !k->tag)
        bad = "a kind needs a name and a tag";
    else if (rt_task_kind_find(k->name) || rt_task_kind_index(k) >= 0)
        bad = "a kind of that name is registered already";
    else if (!k->shape || !k->encode || !k->decode || !k->target || !k->corrupt || !k->answer_token)
        bad = "a kind needs shape, encode, decode, target, corrupt and answer_token";
    else if (k->n_keys < 0 || k->n_keys > RT_TASK_MAX_KEYS - 2 || (k->n_keys && !k->keys))
        bad = "too many keys";
    else if (k->feature_names && (k->n_features < 5 || k->n_features > RT_TASK_MAX_FEATURES))
        bad = "a kind has 5 to 8 features (the standard five first)";
    else if (n_kinds == RT_TASK_MAX_KINDS)
        bad = "the registry of task kinds is full";
    for (int i = 0; !bad && i < k->n_keys; i++)
        if (k->keys[i].type == RT_TASK_KEY_TASKS) bad = "only mix takes tasks";
    if (bad) {
        rt_task_k_set_err(err, RT_EINVAL, "%s: %s", k && k->name ? k->name : "?", bad);
        return RT_EINVAL;
    }
    kinds[n_kinds++] = k;
    return 0;
}

const char *rt_task_kind_name(const rt_task_kind_ops *kind)
{
    return kind ? kind->name : "?";
}

const char *rt_task_kind_help(const rt_task_kind_ops *kind)
{
    return kind && kind->help ? kind->help : "";
}

int rt_task_kind_mixable(const rt_task_kind_ops *kind)
{
    return kind && kind->mixable;
}

int rt_task_kind_n_features(const rt_task_kind_ops *kind)
{
    if (!kind) return 0;
    return kind->feature_names ? kind->n_features : 5;
}

const char *rt_task_kind_feature_name(const rt_task_kind_ops *kind, int i)
{
    if (i < 0 || i >= rt_task_kind_n_features(kind)) return NULL;
    return kind->feature_names ? kind->feature_names[i] : rt_task_std_features[i];
}

int rt_task_feature_union(const char **names, int cap)
{
    int n = 0;
    for (int k = 0; k < n_kinds; k++)
        for (int i = 0; i < rt_task_kind_n_features(kinds[k]); i++) {
            const char *f = rt_task_kind_feature_name(kinds[k], i);
            int seen = 0;
            for (int j = 0; j < n && !seen; j++)
                seen = strcmp(names[j], f) == 0;
            if (!seen && n < cap) names[n++] = f;
        }
    return n;
}

/* snprintf into buf at *len, keeping the needed length */
void rt_task_k_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf && *len < cap ? buf + *len : NULL, buf && *len < cap ? cap - *len : 0,
                      fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k;
}

int rt_task_k_swap_first(int *ans, int n)
{
    for (int i = 0; i + 2 < n; i++)
        if (ans[i] != ans[i + 1]) {
            int x = ans[i];
            ans[i] = ans[i + 1];
            ans[i + 1] = x;
            break;
        }
    return n;
}

size_t rt_task_kinds_text(int mixable_only, const char *last_sep, char *buf, size_t cap)
{
    size_t len = 0;
    int n = 0, total = 0;
    if (buf && cap) buf[0] = 0;
    for (int i = 0; i < n_kinds; i++)
        total += !mixable_only || kinds[i]->mixable;
    for (int i = 0; i < n_kinds; i++) {
        if (mixable_only && !kinds[i]->mixable) continue;
        rt_task_k_put(buf, cap, &len, "%s%s",
                      n == 0           ? ""
                      : n == total - 1 ? last_sep
                                       : ", ",
                      kinds[i]->name);
        n++;
    }
    return len;
}

/* ---- keys ------------------------------------------------------------------------- */

int rt_task_kind_n_keys(const rt_task_kind_ops *kind)
{
    return kind ? kind->n_keys + 2 : 0;
}

const rt_task_key *rt_task_kind_key(const rt_task_kind_ops *kind, int i)
{
    if (!kind || i < 0 || i >= kind->n_keys + 2) return NULL;
    return i < kind->n_keys ? &kind->keys[i] : &common_keys[i - kind->n_keys];
}

int rt_task_kind_key_index(const rt_task_kind_ops *kind, const char *key)
{
    for (int i = 0; key && i < rt_task_kind_n_keys(kind); i++)
        if (strcmp(rt_task_kind_key(kind, i)->name, key) == 0) return i;
    return -1;
}

size_t rt_task_kind_key_error(const rt_task_kind_ops *kind, const char *key, char *buf, size_t cap)
{
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
    rt_task_k_put(buf, cap, &len, "%s has no key '%.60s' (its keys:", rt_task_kind_name(kind), key);
    for (int i = 0; i < rt_task_kind_n_keys(kind); i++)
        rt_task_k_put(buf, cap, &len, "%s %s", i ? "," : "", rt_task_kind_key(kind, i)->name);
    rt_task_k_put(buf, cap, &len, ")");
    return len;
}

/* ---- configurations ----------------------------------------------------------------- */

void rt_task_config_init_kind(rt_task_config *cfg, const rt_task_kind_ops *kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    for (int i = 0; i < rt_task_kind_n_keys(kind); i++)
        cfg->values[i] = rt_task_kind_key(kind, i)->def;
}

int rt_task_config_init(rt_task_config *cfg, const char *kind)
{
    const rt_task_kind_ops *k = rt_task_kind_find(kind);
    rt_task_config_init_kind(cfg, k);
    return k ? 0 : RT_EINVAL;
}

int rt_task_config_set(rt_task_config *cfg, const char *key, double value, rt_diag *err)
{
    int i = rt_task_kind_key_index(cfg->kind, key);
    if (i < 0 || rt_task_kind_key(cfg->kind, i)->type == RT_TASK_KEY_TASKS) {
        if (err) {
            err->code = RT_EINVAL;
            rt_task_kind_key_error(cfg->kind, key, err->msg, sizeof err->msg);
        }
        return RT_EINVAL;
    }
    cfg->values[i] = value;
    return 0;
}

double rt_task_config_get(const rt_task_config *cfg, const char *key)
{
    int i = rt_task_kind_key_index(cfg->kind, key);
    return i < 0 ? NAN : cfg->values[i];
}

int rt_task_config_parse(rt_task_config *cfg, const char *text, rt_diag *err)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *tok = strtok_r(buf, " \t\n", &save);
    if (!tok || rt_task_config_init(cfg, tok)) {
        char kinds_text[128];
        rt_task_kinds_text(0, " or ", kinds_text, sizeof kinds_text);
        rt_task_k_set_err(err, RT_EINVAL, "unknown task kind '%.40s'; expected %s", tok ? tok : "",
                          kinds_text);
        return RT_EINVAL;
    }
    while ((tok = strtok_r(NULL, " \t\n", &save))) {
        char *eq = strchr(tok, '='), *end = NULL;
        if (!eq) {
            rt_task_k_set_err(err, RT_EINVAL, "expected key=value, got '%.40s'", tok);
            return RT_EINVAL;
        }
        *eq = 0;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end) {
            rt_task_k_set_err(err, RT_EINVAL, "'%.40s' expects a number, got '%.40s'", tok, eq + 1);
            return RT_EINVAL;
        }
        if (rt_task_config_set(cfg, tok, v, err)) return RT_EINVAL;
    }
    return 0;
}

/* "x must be between 1 and 6" / "greater than 0 and less than 1" */
static int check_key(const rt_task_key *k, double v, char *msg, size_t cap)
{
    if (k->type == RT_TASK_KEY_TASKS) return 0;
    int lo_x = (k->flags & RT_TASK_KEY_MIN_EXCL) != 0,
        hi_x = (k->flags & RT_TASK_KEY_MAX_EXCL) != 0;
    int ok = (lo_x ? v > k->min : v >= k->min) && (hi_x ? v < k->max : v <= k->max); /* NaN: 0 */
    if (!ok) {
        if (!lo_x && !hi_x)
            snprintf(msg, cap, "%s must be between %g and %g", k->name, k->min, k->max);
        else
            snprintf(msg, cap, "%s must be %s %g and %s %g", k->name,
                     lo_x ? "greater than" : "at least", k->min, hi_x ? "less than" : "at most",
                     k->max);
        return 1;
    }
    if (k->type == RT_TASK_KEY_INT && v != floor(v)) {
        snprintf(msg, cap, "%s must be an integer", k->name);
        return 1;
    }
    return 0;
}

int rt_task_k_validate(const rt_task_config *c, const char *prefix, rt_diag *err)
{
    if (!c->kind || rt_task_kind_index(c->kind) < 0) {
        rt_task_k_set_err(err, RT_EINVAL, "%sunknown task kind", prefix);
        return RT_EINVAL;
    }
    char msg[160];
    int n = rt_task_kind_n_keys(c->kind), own = c->kind->n_keys, bad = 0;
    for (int i = own; i < n && !bad; i++) /* noise and holdout first */
        bad = check_key(rt_task_kind_key(c->kind, i), c->values[i], msg, sizeof msg);
    for (int i = 0; i < own && !bad; i++)
        bad = check_key(rt_task_kind_key(c->kind, i), c->values[i], msg, sizeof msg);
    if (!bad && c->kind->check) bad = c->kind->check(c->values, msg, sizeof msg);
    if (bad) {
        rt_task_k_set_err(err, RT_EINVAL, "%s%s", prefix, msg);
        return RT_EINVAL;
    }
    return 0;
}
