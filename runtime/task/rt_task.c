/* rt_task.c: task creation, the train / held-out split, prompt sampling, mixes (the
 * composite kind: its record is here, and every sample is routed to its domain task),
 * demonstrations, features, text rendering and parsing, and the description shown by
 * %task — all generic: what differs between kinds is in their records
 * (rt_task_kind.h).  Leaves out the registry and key checks (rt_task_registry.c). */
#include "rt_task_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_task_data.h"
#include "rt_text.h"

static const rt_task_key mix_keys[] = {
    {.name = "tasks",
     .type = RT_TASK_KEY_TASKS,
     .help = "the domain tasks (defined tasks or kind names)"},
};

/* noise and holdout of a mix are not used: each domain keeps its own */
const rt_task_kind_ops rt_task_kind_mix = {
    .name = "mix",
    .help = "prompts drawn from several sequence tasks",
    .keys = mix_keys,
    .n_keys = 1,
};

static int is_mix(const rt_task *t)
{
    return t->ops == &rt_task_kind_mix;
}

static double noise_of(const rt_task *t)
{
    return t->cfg.values[t->ops->n_keys];
}

static double holdout_of(const rt_task *t)
{
    return t->cfg.values[t->ops->n_keys + 1];
}

static int between(double x, double lo, double hi)
{
    return x >= lo && x <= hi; /* false for NaN */
}

static double split_u(const rt_task *t, uint64_t id)
{
    return (double)(rt_task_k_mix64(id ^ t->salt) >> 11) * 0x1.0p-53;
}

static rt_task_split leaf_split(const rt_task *t, uint64_t id)
{
    if (t->data) return rt_task_data_split_of(t->data, (int)id);
    if (t->ids[0]) { /* enumerated: a moved prompt is found by lookup */
        for (int s = 0; s < 2; s++)
            if (t->n_ids[s] == 1 && t->ids[s][0] == id) return (rt_task_split)s;
    }
    return split_u(t, id) < holdout_of(t) ? RT_TASK_HELDOUT : RT_TASK_TRAIN;
}

/* enumerate small prompt spaces; each side gets at least one prompt */
static int enumerate_split(rt_task *t)
{
    for (int s = 0; s < 2; s++) {
        t->ids[s] = rt_malloc(sizeof(uint32_t) * (size_t)t->space);
        if (!t->ids[s]) return RT_ENOMEM;
    }
    t->n_ids[0] = t->n_ids[1] = 0;
    for (uint64_t id = 0; id < t->space; id++) {
        int s = split_u(t, id) < holdout_of(t);
        t->ids[s][t->n_ids[s]++] = (uint32_t)id;
    }
    for (int s = 0; s < 2; s++)
        if (t->n_ids[s] == 0) { /* move the other side's last prompt here */
            t->ids[s][0] = t->ids[!s][--t->n_ids[!s]];
            t->n_ids[s] = 1;
        }
    return 0;
}

/* a task's V: its tags' ids + 1, at least the built-ins' */
static int vocab_of(const rt_task_kind_ops *kind)
{
    int tag = rt_task_kind_tag(kind);
    return tag + 1 > RT_TASK_VOCAB ? tag + 1 : RT_TASK_VOCAB;
}

static int create_leaf(const rt_task_config *cfg, rt_task **out, rt_diag *err)
{
    int P, T;
    uint64_t space;
    if (cfg->kind == &rt_task_kind_file) {
        if (!cfg->data) {
            rt_task_k_set_err(err, RT_EINVAL, "file: a file task needs its rows (file=PATH)");
            return RT_EINVAL;
        }
        P = rt_task_data_P(cfg->data);
        T = rt_task_data_T(cfg->data);
        space = (uint64_t)rt_task_data_rows(cfg->data);
    } else {
        cfg->kind->shape(cfg->values, &P, &T, &space);
    }
    if (P > RT_TASK_MAX_P || T > RT_TASK_MAX_T || space == 0) {
        rt_task_k_set_err(err, RT_EINVAL,
                          "%s: prompts of %d and answers of %d tokens (at most %d and %d)",
                          cfg->kind->name, P, T, RT_TASK_MAX_P, RT_TASK_MAX_T);
        return RT_EINVAL;
    }
    rt_task *t = rt_calloc(1, sizeof *t);
    if (!t) goto oom;
    t->cfg = *cfg;
    t->cfg.tasks = NULL;
    t->cfg.task_names = NULL;
    t->cfg.n_tasks = 0;
    t->ops = cfg->kind;
    t->salt = 0x51ed270b27f3a1c5ULL * (uint64_t)(rt_task_kind_index(t->ops) + 1);
    t->P = P;
    t->T = T;
    t->V = vocab_of(t->ops);
    t->space = space;
    t->cfg.data = NULL;
    if (cfg->kind == &rt_task_kind_file) {
        t->data = rt_task_data_ref(cfg->data);
        t->cfg.data = t->data; /* rt_task_config_of shows the task's own rows */
        t->vdata = t->data;
        t->V = rt_task_data_vocab_size(t->data);
        for (int s = 0; s < 2; s++) /* the data's split, rows in order */
            if (!(t->ids[s] = rt_malloc(sizeof(uint32_t) * (size_t)space))) goto oom;
        for (uint64_t id = 0; id < space; id++) {
            int s = rt_task_data_split_of(t->data, (int)id) == RT_TASK_HELDOUT;
            t->ids[s][t->n_ids[s]++] = (uint32_t)id;
        }
    } else if (t->space <= ENUM_MAX && enumerate_split(t))
        goto oom;
    *out = t;
    return 0;
oom:
    rt_task_free(t);
    rt_task_k_set_err(err, RT_ENOMEM, "out of memory");
    return RT_ENOMEM;
}

int rt_task_create(const rt_task_config *cfg, rt_task **out, rt_diag *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
    *out = NULL;
    if (!cfg) {
        rt_task_k_set_err(err, RT_EINVAL, "no task configuration");
        return RT_EINVAL;
    }
    int rc;
    if ((rc = rt_task_k_validate(cfg, "", err))) return rc;
    if (cfg->kind != &rt_task_kind_mix) return create_leaf(cfg, out, err);
    if (!cfg->tasks || !between(cfg->n_tasks, 1, RT_TASK_MAX_DOMAINS)) {
        rt_task_k_set_err(err, RT_EINVAL, "tasks must list between 1 and %d tasks",
                          RT_TASK_MAX_DOMAINS);
        return RT_EINVAL;
    }
    for (int i = 0; i < cfg->n_tasks; i++) {
        char prefix[32], mixable[128];
        snprintf(prefix, sizeof prefix, "tasks[%d]: ", i);
        const rt_task_kind_ops *k = cfg->tasks[i].kind;
        if (rt_task_kind_index(k) >= 0 && !rt_task_kind_mixable(k)) {
            rt_task_kinds_text(1, ", ", mixable, sizeof mixable);
            rt_task_k_set_err(err, RT_EINVAL, "%s%s cannot be mixed (only %s)", prefix, k->name,
                              mixable);
            return RT_EINVAL;
        }
        if ((rc = rt_task_k_validate(&cfg->tasks[i], prefix, err))) return rc;
    }
    rt_task *t = rt_calloc(1, sizeof *t);
    if (!t) goto oom;
    t->cfg = *cfg;
    t->cfg.tasks = NULL;
    t->cfg.task_names = NULL;
    t->ops = cfg->kind;
    t->V = RT_TASK_VOCAB;
    t->dom = rt_calloc((size_t)cfg->n_tasks, sizeof *t->dom);
    t->dom_names = rt_calloc((size_t)cfg->n_tasks, sizeof *t->dom_names);
    if (!t->dom || !t->dom_names) goto oom;
    t->n_dom = cfg->n_tasks;
    for (int i = 0; i < t->n_dom; i++) {
        const char *name = cfg->task_names && cfg->task_names[i]
                               ? cfg->task_names[i]
                               : rt_task_kind_name(cfg->tasks[i].kind);
        if (!(t->dom_names[i] = rt_strdup(name))) goto oom;
        if ((rc = create_leaf(&cfg->tasks[i], &t->dom[i], err))) {
            rt_task_free(t);
            return rc;
        }
        if ((rc = rt_task_k_mix_vocab(t, i, err))) {
            rt_task_free(t);
            return rc;
        }
        if (t->dom[i]->P > t->P) t->P = t->dom[i]->P;
        if (t->dom[i]->V > t->V) t->V = t->dom[i]->V;
        if (t->dom[i]->T > t->T) t->T = t->dom[i]->T;
        t->space += t->dom[i]->space;
    }
    t->vdata = t->dom[0]->vdata;
    if (t->vdata) t->V = rt_task_data_vocab_size(t->vdata);
    *out = t;
    return 0;
oom:
    rt_task_free(t);
    rt_task_k_set_err(err, RT_ENOMEM, "out of memory");
    return RT_ENOMEM;
}

void rt_task_free(rt_task *t)
{
    if (!t) return;
    for (int s = 0; s < 2; s++)
        rt_free(t->ids[s]);
    for (int i = 0; i < t->n_dom; i++) {
        if (t->dom) rt_task_free(t->dom[i]);
        if (t->dom_names) rt_free(t->dom_names[i]);
    }
    rt_free(t->dom);
    rt_free(t->dom_names);
    rt_task_data_free(t->data);
    rt_free(t);
}

const rt_task_kind_ops *rt_task_kind_of(const rt_task *t)
{
    return t->ops;
}
const rt_task_config *rt_task_config_of(const rt_task *t)
{
    return &t->cfg;
}
const double *rt_task_values(const rt_task *t)
{
    return t->cfg.values;
}
double rt_task_value(const rt_task *t, const char *key)
{
    return rt_task_config_get(&t->cfg, key);
}
int rt_task_vocab_size(const rt_task *t)
{
    return t->V;
}
const char *rt_task_token(const rt_task *t, int tok)
{
    if (tok < 0 || tok >= t->V) return NULL;
    return t->vdata ? rt_task_data_tokens(t->vdata)[tok] : rt_task_token_str(tok);
}
int rt_task_prompt_len(const rt_task *t)
{
    return t->P;
}
int rt_task_answer_max(const rt_task *t)
{
    return t->T;
}
uint64_t rt_task_prompt_space(const rt_task *t)
{
    return t->space;
}

int rt_task_n_domains(const rt_task *t)
{
    return is_mix(t) ? t->n_dom : 1;
}

const char *rt_task_domain_name(const rt_task *t, int d)
{
    if (!is_mix(t)) return d == 0 ? rt_task_kind_name(t->ops) : NULL;
    return d >= 0 && d < t->n_dom ? t->dom_names[d] : NULL;
}

const rt_task *rt_task_domain(const rt_task *t, int d)
{
    if (!is_mix(t)) return d == 0 ? t : NULL;
    return d >= 0 && d < t->n_dom ? t->dom[d] : NULL;
}

/* the leaf task a sample belongs to */
static const rt_task *leaf_of(const rt_task *t, const rt_task_sample *s)
{
    if (!is_mix(t)) return t;
    int d = s->domain >= 0 && s->domain < t->n_dom ? s->domain : 0;
    return t->dom[d];
}

static void fill_sample(const rt_task *t, const rt_task *leaf, uint64_t id, int domain,
                        rt_task_sample *out)
{
    memset(out, 0, sizeof *out);
    int *p = out->prompt + (t->P - leaf->P);
    if (leaf->ops->tag) {
        p[0] = rt_task_kind_tag(leaf->ops);
        leaf->ops->encode(leaf, id, p + 1);
    } else { /* untagged (file): the kind fills all P tokens */
        leaf->ops->encode(leaf, id, p);
    }
    out->target_len = leaf->ops->target(leaf, id, out->target);
    out->domain = domain;
    out->id = id;
}

void rt_task_sample_prompt(const rt_task *t, rt_rng *rng, rt_task_split split, rt_task_sample *out)
{
    int d = 0;
    const rt_task *leaf = t;
    if (is_mix(t)) {
        d = (int)rt_rng_below(rng, (uint32_t)t->n_dom);
        leaf = t->dom[d];
    }
    int s = split == RT_TASK_HELDOUT;
    uint64_t id;
    if (leaf->ids[0]) {
        id = leaf->ids[s][rt_rng_below(rng, (uint32_t)leaf->n_ids[s])];
    } else { /* rejection; the space is large so each side is large too */
        id = rt_rng_u64(rng) % leaf->space;
        for (int tries = 0; (int)leaf_split(leaf, id) != s; tries++)
            id = tries < 64 ? rt_rng_u64(rng) % leaf->space : (id + 1) % leaf->space;
    }
    fill_sample(t, leaf, id, d, out);
}

void rt_task_sample_batch(const rt_task *t, const rt_rng *stream, uint64_t seq0,
                          rt_task_split split, int B, rt_task_sample *samples, int *prompts)
{
    for (int i = 0; i < B; i++) {
        rt_rng r = rt_rng_split(stream, seq0 + (uint64_t)i);
        rt_task_sample_prompt(t, &r, split, &samples[i]);
        if (prompts)
            memcpy(prompts + (size_t)i * (size_t)t->P, samples[i].prompt,
                   sizeof(int) * (size_t)t->P);
    }
}

uint64_t rt_task_split_count(const rt_task *t, rt_task_split split)
{
    uint64_t n = 0;
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        if (!leaf->ids[0]) return 0; /* a mix is enumerated only if all its domains are */
        n += leaf->n_ids[split == RT_TASK_HELDOUT];
    }
    return n;
}

int rt_task_sample_at(const rt_task *t, rt_task_split split, uint64_t i, rt_task_sample *out)
{
    int s = split == RT_TASK_HELDOUT;
    if (i >= rt_task_split_count(t, split)) return RT_EINVAL; /* or not enumerated */
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        if (i < leaf->n_ids[s]) {
            fill_sample(t, leaf, leaf->ids[s][i], d, out);
            return 0;
        }
        i -= leaf->n_ids[s];
    }
    return RT_EINVAL;
}

int rt_task_sample_from_id(const rt_task *t, int domain, uint64_t id, rt_task_sample *out)
{
    const rt_task *leaf = rt_task_domain(t, domain);
    if (!leaf || id >= leaf->space) return RT_EINVAL;
    fill_sample(t, leaf, id, domain, out);
    return 0;
}

rt_task_split rt_task_split_of(const rt_task *t, const rt_task_sample *s)
{
    return leaf_split(leaf_of(t, s), s->id);
}

int rt_task_corrupt(const rt_task *t, const rt_task_sample *s, int *answer)
{
    const rt_task *leaf = leaf_of(t, s);
    return leaf->ops->corrupt(leaf, s->id, answer);
}

int rt_task_demonstrate(const rt_task *t, const rt_task_sample *s, double noise, rt_rng *rng,
                        int *answer, int *noisy)
{
    const rt_task *leaf = leaf_of(t, s);
    if (noise < 0) noise = noise_of(leaf);
    int bad = rt_rng_uniform_d(rng) < noise;
    if (noisy) *noisy = bad;
    return bad ? leaf->ops->corrupt(leaf, s->id, answer) : leaf->ops->target(leaf, s->id, answer);
}

int rt_task_n_features(const rt_task *t)
{
    return rt_task_kind_n_features(t->ops);
}

const char *rt_task_feature_name(const rt_task *t, int i)
{
    return rt_task_kind_feature_name(t->ops, i);
}

int rt_task_feature_index(const rt_task *t, const char *name)
{
    for (int i = 0; name && i < rt_task_n_features(t); i++)
        if (strcmp(name, rt_task_feature_name(t, i)) == 0) return i;
    return -1;
}

/* the standard features (rt_task.h), then the kind's own */
static void leaf_features(const rt_task *t, uint64_t id, const int *target, int target_len,
                          const int *g, int n, double *feat)
{
    if (n < 0) n = 0;
    int len = n, eos = 0;
    for (int i = 0; i < n; i++)
        if (g[i] == RT_TOK_EOS) {
            len = i + 1;
            eos = 1;
            break;
        }
    int body = eos ? len - 1 : len;
    int fmt = eos && body > 0 && len <= t->T;
    for (int i = 0; i < body && fmt; i++)
        fmt = t->ops->answer_token(t, g[i]);
    int hits = 0;
    for (int i = 0; i < target_len && i < len; i++)
        hits += g[i] == target[i];
    feat[0] = eos && len == target_len && hits == target_len;
    feat[1] = (double)hits / target_len;
    feat[2] = len;
    feat[3] = fmt;
    feat[4] = eos;
    if (t->ops->features) t->ops->features(t, id, g, n, feat);
}

void rt_task_features(const rt_task *t, const rt_task_sample *s, const int *g, int n, double *feat)
{
    leaf_features(leaf_of(t, s), s->id, s->target, s->target_len, g, n, feat);
}

void rt_task_features_batch(const rt_task *t, const rt_task_sample *samples, const int *tokens,
                            int B, int T, double *feat)
{
    int F = rt_task_n_features(t);
    for (int i = 0; i < B; i++)
        rt_task_features(t, &samples[i], tokens + (size_t)i * (size_t)T, T,
                         feat + (size_t)i * (size_t)F);
}

int rt_task_verify(const rt_task *t, const rt_task_sample *s, const int *g, int n)
{
    double f[RT_TASK_MAX_FEATURES];
    rt_task_features(t, s, g, n, f);
    return f[0] > 0;
}

/* tokens as text (PAD skipped, "<?>" for an id outside the table): t's table, or the
   built-in one when t is NULL */
static size_t render(const rt_task *t, const int *toks, int n, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (toks[i] == RT_TOK_PAD) continue;
        const char *s = t ? rt_task_token(t, toks[i]) : rt_task_token_str(toks[i]);
        if (!s) s = "<?>";
        size_t k = strlen(s);
        if (buf && len + k < cap) memcpy(buf + len, s, k);
        len += k;
    }
    if (buf && cap) buf[len < cap ? len : cap - 1] = 0;
    return len;
}

size_t rt_task_render(const int *toks, int n, char *buf, size_t cap)
{
    return render(NULL, toks, n, buf, cap);
}

int rt_task_parse(const char *text, int *toks, int cap, int *n, rt_diag *err)
{
    *n = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        int found = -1;
        size_t flen = 0;
        for (int k = 0; k <= rt_task_k_max_token(); k++) {
            const char *tk = rt_task_token_str(k);
            size_t l = tk ? strlen(tk) : 0;
            if (l > flen && strncmp(p, tk, l) == 0) {
                found = k;
                flen = l;
            }
        }
        if (found < 0) { /* at most 8 bytes of the text, never half a UTF-8 sequence */
            rt_task_k_set_err(err, RT_EPARSE, "column %d: unknown token near '%.*s'",
                              (int)(p - text) + 1, (int)rt_utf8_cut(p, strnlen(p, 9), 8), p);
            return RT_EPARSE;
        }
        if (*n >= cap) {
            rt_task_k_set_err(err, RT_EPARSE, "column %d: text longer than %d tokens",
                              (int)(p - text) + 1, cap);
            return RT_EPARSE;
        }
        toks[(*n)++] = found;
        p += flen;
    }
    return 0;
}

int rt_task_sample_from_text(const rt_task *t, const char *text, rt_task_sample *out, rt_diag *err)
{
    int toks[RT_TASK_MAX_P + 1], n, rc, ftoks[RT_TASK_MAX_P], fn = -1;
    rt_diag perr = {0};
    rc = rt_task_parse(text, toks + 1, RT_TASK_MAX_P, &n, &perr);
    int *p = toks + 1;
    while (!rc && n > 0 && *p == RT_TOK_PAD)
        p++, n--;
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        uint64_t id;
        if (leaf->data) { /* the row whose prompt is the text, else by tokens */
            int row = rt_task_data_find(leaf->data, text);
            if (row < 0 && fn < 0) {
                rt_diag e2 = {0};
                if (rt_task_parse_with(leaf, text, ftoks, RT_TASK_MAX_P, &fn, &e2)) fn = -2;
            }
            if (row < 0 && fn == leaf->P && leaf->ops->decode(leaf, ftoks, fn, &id) == 0)
                row = (int)id;
            if (row >= 0) {
                fill_sample(t, leaf, (uint64_t)row, d, out);
                return 0;
            }
            continue;
        }
        if (rc) continue;
        int *q = p, m = n;
        int tag = rt_task_kind_tag(leaf->ops);
        if (!is_mix(t) && m == leaf->P - 1) { /* tag omitted */
            q = p - 1;
            q[0] = tag;
            m++;
        }
        if (m == leaf->P && q[0] == tag && leaf->ops->decode(leaf, q + 1, m - 1, &id) == 0) {
            fill_sample(t, leaf, id, d, out);
            return 0;
        }
    }
    if (rc && !t->vdata) {
        if (err) *err = perr;
        return rc;
    }
    char shape[160];
    rt_task_sample ex;
    rt_rng r = rt_rng_make(0);
    rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &ex);
    rt_task_render_with(t, ex.prompt, t->P, shape, sizeof shape);
    rt_task_k_set_err(err, RT_EPARSE, "not a %s prompt: '%.64s' (expected e.g. '%.80s')",
                      rt_task_kind_name(t->ops), text, shape);
    return RT_EPARSE;
}

size_t rt_task_render_with(const rt_task *t, const int *toks, int n, char *buf, size_t cap)
{
    return render(t->vdata ? t : NULL, toks, n, buf, cap);
}

int rt_task_match_token(const rt_task *t, const char *s, size_t n, size_t *len)
{
    int found = -1;
    size_t flen = 0;
    if (t->vdata) {
        const char *const *tab = rt_task_data_tokens(t->vdata);
        found = rt_task_data_match(tab, rt_task_data_vocab_size(t->vdata), s, n, &flen);
        for (int k = 0; k < 2; k++) { /* <pad>, <eos> as text */
            size_t l = strlen(tab[k]);
            if (l > flen && l <= n && memcmp(s, tab[k], l) == 0) found = k, flen = l;
        }
    } else {
        for (int k = 0; k < t->V; k++) {
            const char *tk = rt_task_token_str(k);
            size_t l = tk ? strlen(tk) : 0;
            if (l > flen && l <= n && memcmp(s, tk, l) == 0) found = k, flen = l;
        }
    }
    *len = flen;
    return found;
}

int rt_task_parse_with(const rt_task *t, const char *text, int *toks, int cap, int *n, rt_diag *err)
{
    if (!t->vdata) return rt_task_parse(text, toks, cap, n, err);
    *n = 0;
    for (const char *p = text; *p;) {
        size_t flen = 0;
        int found = rt_task_match_token(t, p, strlen(p), &flen);
        if (found < 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
            p++;
            continue;
        }
        if (found < 0) {
            rt_task_k_set_err(err, RT_EPARSE, "column %d: unknown token near '%.*s'",
                              (int)rt_utf8_cols(text, (size_t)(p - text)) + 1,
                              (int)rt_utf8_cut(p, strnlen(p, 9), 8), p);
            return RT_EPARSE;
        }
        if (*n >= cap) {
            rt_task_k_set_err(err, RT_EPARSE, "column %d: text longer than %d tokens",
                              (int)rt_utf8_cols(text, (size_t)(p - text)) + 1, cap);
            return RT_EPARSE;
        }
        toks[(*n)++] = found;
        p += flen;
    }
    return 0;
}

/* " digits=2 noise=0": the kind's own keys, then noise */
static void put_params(const rt_task *t, char *buf, size_t cap, size_t *len)
{
    for (int i = 0; i < t->ops->n_keys; i++) {
        const rt_task_key *k = &t->ops->keys[i];
        if ((k->flags & RT_TASK_KEY_QUIET) && t->cfg.values[i] == k->def) continue;
        if (k->type == RT_TASK_KEY_INT)
            rt_task_k_put(buf, cap, len, " %s=%d", k->name, (int)t->cfg.values[i]);
        else if (k->type == RT_TASK_KEY_NUMBER)
            rt_task_k_put(buf, cap, len, " %s=%g", k->name, t->cfg.values[i]);
    }
    rt_task_k_put(buf, cap, len, " noise=%g", noise_of(t));
}

size_t rt_task_describe(const rt_task *t, rt_rng *rng, int n, char *buf, size_t cap)
{
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
    if (t->data) return rt_task_k_describe_file(t, rng, n, buf, cap);
    rt_task_k_put(buf, cap, &len, "task %s", rt_task_kind_name(t->ops));
    if (is_mix(t)) {
        rt_task_k_put(buf, cap, &len, " tasks=[");
        for (int d = 0; d < t->n_dom; d++) {
            const char *kind = rt_task_kind_name(t->dom[d]->ops);
            rt_task_k_put(buf, cap, &len, "%s", d ? ", " : "");
            if (strcmp(t->dom_names[d], kind))
                rt_task_k_put(buf, cap, &len, "%s:", t->dom_names[d]);
            rt_task_k_put(buf, cap, &len, "%s", kind);
            put_params(t->dom[d], buf, cap, &len);
        }
        rt_task_k_put(buf, cap, &len, "]");
    } else {
        put_params(t, buf, cap, &len);
    }
    rt_task_k_put(buf, cap, &len, "\nvocabulary (%d):", t->V);
    rt_task_k_put_shape(t, buf, cap, &len);
    rt_task_k_put(buf, cap, &len, "\n");
    for (int i = 0; i < n; i++) {
        rt_task_sample s;
        char p[160], a[160];
        rt_task_sample_prompt(t, rng, RT_TASK_TRAIN, &s);
        rt_task_render_with(t, s.prompt, t->P, p, sizeof p);
        rt_task_render_with(t, s.target, s.target_len, a, sizeof a);
        rt_task_k_put(buf, cap, &len, "  %s -> %s\n", p, a);
    }
    return len;
}
