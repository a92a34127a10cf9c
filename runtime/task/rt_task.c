/* rt_task.c: task creation and validation, the train / held-out split, prompt
 * sampling, mixes (routing every sample to its domain task), demonstrations,
 * features, text rendering and parsing, and the description shown by %task.
 * Kind-specific encoding and rules live in rt_task_kinds.c. */
#include "rt_task_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"

static const char *const tok_text[RT_TASK_VOCAB] = {
    "<pad>", "<eos>", "+", "=",     ":",     "0",      "1",      "2",     "3", "4", "5",
    "6",     "7",     "8", "9",     "a",     "b",      "c",      "d",     "e", "f", "g",
    "h",     "i",     "j", "<add>", "<rev>", "<sort>", "<copy>", "<tri>", "?", "|"};

static const char *const kind_names[] = {"add", "reverse", "sort", "copy", "mix", "triage"};

static const char *const seq_features[] = {"correct", "partial", "length",    "format",
                                           "eos",     "outcome", "demo_agree"};

static void set_err(rt_task_error *err, int code, const char *fmt, ...)
{
    if (!err) return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

void rt_task_config_init(rt_task_config *cfg, rt_task_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->digits = 2;
    cfg->length = 4;
    cfg->holdout = 0.2;
    cfg->features = 4;
    cfg->values = 3;
    cfg->actions = 4;
    cfg->good = 2;
}

const char *rt_task_kind_name(rt_task_kind kind)
{
    return (unsigned)kind <= RT_TASK_TRIAGE ? kind_names[kind] : "?";
}

int rt_task_kind_parse(const char *name, rt_task_kind *kind)
{
    for (int k = 0; k <= RT_TASK_TRIAGE; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *kind = (rt_task_kind)k;
            return 0;
        }
    return RT_TASK_EINVAL;
}

static int between(double x, double lo, double hi)
{
    return x >= lo && x <= hi; /* false for NaN */
}

/* validate a leaf (non-mix) config; prefix names the domain in a mix */
static int validate(const rt_task_config *c, const char *prefix, rt_task_error *err)
{
    if ((unsigned)c->kind > RT_TASK_TRIAGE) {
        set_err(err, RT_TASK_EINVAL, "%sunknown task kind %d", prefix, (int)c->kind);
        return RT_TASK_EINVAL;
    }
    const char *bad = NULL;
    char buf[96];
    if (!between(c->noise, 0, 1))
        bad = "noise must be between 0 and 1";
    else if (!(c->holdout > 0 && c->holdout < 1))
        bad = "holdout must be greater than 0 and less than 1";
    else if (c->kind == RT_TASK_ADD && !between(c->digits, 1, 6))
        bad = "digits must be between 1 and 6";
    else if ((c->kind == RT_TASK_REVERSE || c->kind == RT_TASK_SORT || c->kind == RT_TASK_COPY) &&
             !between(c->length, 1, 12))
        bad = "length must be between 1 and 12";
    else if (c->kind == RT_TASK_TRIAGE) {
        if (!between(c->features, 1, 8))
            bad = "features must be between 1 and 8";
        else if (!between(c->values, 2, 10))
            bad = "values must be between 2 and 10";
        else if (!between(c->actions, 2, 10))
            bad = "actions must be between 2 and 10";
        else if (!between(c->good, 1, c->actions - 1)) {
            snprintf(buf, sizeof buf, "good must be between 1 and %d (actions - 1)",
                     c->actions - 1);
            bad = buf;
        } else if (!between(c->conflict, 0, 1))
            bad = "conflict must be between 0 and 1";
    }
    if (bad) {
        set_err(err, RT_TASK_EINVAL, "%s%s", prefix, bad);
        return RT_TASK_EINVAL;
    }
    return 0;
}

static double split_u(const rt_task *t, uint64_t id)
{
    uint64_t salt = 0x51ed270b27f3a1c5ULL * (uint64_t)(t->cfg.kind + 1);
    return (double)(rt_task_k_mix64(id ^ salt) >> 11) * 0x1.0p-53;
}

static rt_task_split leaf_split(const rt_task *t, uint64_t id)
{
    if (t->ids[0]) { /* enumerated: a moved prompt is found by lookup */
        for (int s = 0; s < 2; s++)
            if (t->n_ids[s] == 1 && t->ids[s][0] == id) return (rt_task_split)s;
    }
    return split_u(t, id) < t->cfg.holdout ? RT_TASK_HELDOUT : RT_TASK_TRAIN;
}

/* enumerate small prompt spaces; each side gets at least one prompt */
static int enumerate_split(rt_task *t)
{
    for (int s = 0; s < 2; s++) {
        t->ids[s] = rt_malloc(sizeof(uint32_t) * (size_t)t->space);
        if (!t->ids[s]) return RT_TASK_ENOMEM;
    }
    t->n_ids[0] = t->n_ids[1] = 0;
    for (uint64_t id = 0; id < t->space; id++) {
        int s = split_u(t, id) < t->cfg.holdout;
        t->ids[s][t->n_ids[s]++] = (uint32_t)id;
    }
    for (int s = 0; s < 2; s++)
        if (t->n_ids[s] == 0) { /* move the other side's last prompt here */
            t->ids[s][0] = t->ids[!s][--t->n_ids[!s]];
            t->n_ids[s] = 1;
        }
    return 0;
}

static int create_leaf(const rt_task_config *cfg, rt_task **out)
{
    rt_task *t = rt_calloc(1, sizeof *t);
    if (!t) return RT_TASK_ENOMEM;
    t->cfg = *cfg;
    t->cfg.tasks = NULL;
    t->cfg.task_names = NULL;
    t->cfg.n_tasks = 0;
    t->P = rt_task_k_prompt_len(cfg);
    t->T = rt_task_k_answer_max(cfg);
    t->space = rt_task_k_space(cfg);
    if (t->space <= ENUM_MAX) {
        int rc = enumerate_split(t);
        if (rc) {
            rt_task_free(t);
            return rc;
        }
    }
    *out = t;
    return 0;
}

int rt_task_create(const rt_task_config *cfg, rt_task **out, rt_task_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
    *out = NULL;
    if (!cfg) {
        set_err(err, RT_TASK_EINVAL, "no task configuration");
        return RT_TASK_EINVAL;
    }
    int rc;
    if (cfg->kind != RT_TASK_MIX) {
        if ((rc = validate(cfg, "", err))) return rc;
        if ((rc = create_leaf(cfg, out))) set_err(err, rc, "out of memory");
        return rc;
    }
    if (!between(cfg->noise, 0, 1)) {
        set_err(err, RT_TASK_EINVAL, "noise must be between 0 and 1");
        return RT_TASK_EINVAL;
    }
    if (!cfg->tasks || !between(cfg->n_tasks, 1, RT_TASK_MAX_DOMAINS)) {
        set_err(err, RT_TASK_EINVAL, "tasks must list between 1 and %d tasks", RT_TASK_MAX_DOMAINS);
        return RT_TASK_EINVAL;
    }
    for (int i = 0; i < cfg->n_tasks; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "tasks[%d]: ", i);
        rt_task_kind k = cfg->tasks[i].kind;
        if (k == RT_TASK_MIX || k == RT_TASK_TRIAGE) {
            set_err(err, RT_TASK_EINVAL, "%s%s cannot be mixed (only add, reverse, sort, copy)",
                    prefix, k == RT_TASK_MIX ? "mix" : "triage");
            return RT_TASK_EINVAL;
        }
        if ((rc = validate(&cfg->tasks[i], prefix, err))) return rc;
    }
    rt_task *t = rt_calloc(1, sizeof *t);
    if (!t) goto oom;
    t->cfg = *cfg;
    t->cfg.tasks = NULL;
    t->cfg.task_names = NULL;
    t->dom = rt_calloc((size_t)cfg->n_tasks, sizeof *t->dom);
    t->dom_names = rt_calloc((size_t)cfg->n_tasks, sizeof *t->dom_names);
    if (!t->dom || !t->dom_names) goto oom;
    t->n_dom = cfg->n_tasks;
    for (int i = 0; i < t->n_dom; i++) {
        const char *name = cfg->task_names && cfg->task_names[i]
                               ? cfg->task_names[i]
                               : rt_task_kind_name(cfg->tasks[i].kind);
        if (!(t->dom_names[i] = rt_strdup(name))) goto oom;
        if (create_leaf(&cfg->tasks[i], &t->dom[i])) goto oom;
        if (t->dom[i]->P > t->P) t->P = t->dom[i]->P;
        if (t->dom[i]->T > t->T) t->T = t->dom[i]->T;
        t->space += t->dom[i]->space;
    }
    *out = t;
    return 0;
oom:
    rt_task_free(t);
    set_err(err, RT_TASK_ENOMEM, "out of memory");
    return RT_TASK_ENOMEM;
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
    rt_free(t);
}

rt_task_kind rt_task_kind_of(const rt_task *t)
{
    return t->cfg.kind;
}
const rt_task_config *rt_task_config_of(const rt_task *t)
{
    return &t->cfg;
}
int rt_task_vocab_size(const rt_task *t)
{
    (void)t;
    return RT_TASK_VOCAB;
}
const char *rt_task_token_str(int tok)
{
    return tok >= 0 && tok < RT_TASK_VOCAB ? tok_text[tok] : NULL;
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
    return t->cfg.kind == RT_TASK_MIX ? t->n_dom : 1;
}

const char *rt_task_domain_name(const rt_task *t, int d)
{
    if (t->cfg.kind != RT_TASK_MIX) return d == 0 ? rt_task_kind_name(t->cfg.kind) : NULL;
    return d >= 0 && d < t->n_dom ? t->dom_names[d] : NULL;
}

const rt_task *rt_task_domain(const rt_task *t, int d)
{
    if (t->cfg.kind != RT_TASK_MIX) return d == 0 ? t : NULL;
    return d >= 0 && d < t->n_dom ? t->dom[d] : NULL;
}

/* the leaf task a sample belongs to */
static const rt_task *leaf_of(const rt_task *t, const rt_task_sample *s)
{
    if (t->cfg.kind != RT_TASK_MIX) return t;
    int d = s->domain >= 0 && s->domain < t->n_dom ? s->domain : 0;
    return t->dom[d];
}

static void fill_sample(const rt_task *t, const rt_task *leaf, uint64_t id, int domain,
                        rt_task_sample *out)
{
    memset(out, 0, sizeof *out);
    rt_task_k_encode(leaf, id, out->prompt + (t->P - leaf->P));
    out->target_len = rt_task_k_target(leaf, id, out->target);
    out->domain = domain;
    out->id = id;
}

void rt_task_sample_prompt(const rt_task *t, rt_rng *rng, rt_task_split split, rt_task_sample *out)
{
    int d = 0;
    const rt_task *leaf = t;
    if (t->cfg.kind == RT_TASK_MIX) {
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
    if (i >= rt_task_split_count(t, split)) return RT_TASK_EINVAL; /* or not enumerated */
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        if (i < leaf->n_ids[s]) {
            fill_sample(t, leaf, leaf->ids[s][i], d, out);
            return 0;
        }
        i -= leaf->n_ids[s];
    }
    return RT_TASK_EINVAL;
}

int rt_task_sample_from_id(const rt_task *t, int domain, uint64_t id, rt_task_sample *out)
{
    const rt_task *leaf = rt_task_domain(t, domain);
    if (!leaf || id >= leaf->space) return RT_TASK_EINVAL;
    fill_sample(t, leaf, id, domain, out);
    return 0;
}

rt_task_split rt_task_split_of(const rt_task *t, const rt_task_sample *s)
{
    return leaf_split(leaf_of(t, s), s->id);
}

int rt_task_corrupt(const rt_task *t, const rt_task_sample *s, int *answer)
{
    return rt_task_k_corrupt_id(leaf_of(t, s), s->id, answer);
}

int rt_task_demonstrate(const rt_task *t, const rt_task_sample *s, double noise, rt_rng *rng,
                        int *answer, int *noisy)
{
    const rt_task *leaf = leaf_of(t, s);
    if (noise < 0) noise = leaf->cfg.noise;
    int bad = rt_rng_uniform_d(rng) < noise;
    if (noisy) *noisy = bad;
    return bad ? rt_task_k_corrupt_id(leaf, s->id, answer) : rt_task_k_target(leaf, s->id, answer);
}

int rt_task_kind_n_features(rt_task_kind kind)
{
    return kind == RT_TASK_TRIAGE ? 7 : 5;
}

const char *rt_task_kind_feature_name(rt_task_kind kind, int i)
{
    return i >= 0 && i < rt_task_kind_n_features(kind) ? seq_features[i] : NULL;
}

int rt_task_n_features(const rt_task *t)
{
    return rt_task_kind_n_features(t->cfg.kind);
}

const char *rt_task_feature_name(const rt_task *t, int i)
{
    return rt_task_kind_feature_name(t->cfg.kind, i);
}

int rt_task_feature_index(const rt_task *t, const char *name)
{
    for (int i = 0; name && i < rt_task_n_features(t); i++)
        if (strcmp(name, seq_features[i]) == 0) return i;
    return -1;
}

void rt_task_features(const rt_task *t, const rt_task_sample *s, const int *g, int n, double *feat)
{
    rt_task_k_features_leaf(leaf_of(t, s), s->id, s->target, s->target_len, g, n, feat);
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

int rt_task_triage_state(const rt_task *t, const rt_task_sample *s, int *values)
{
    if (t->cfg.kind != RT_TASK_TRIAGE) return RT_TASK_EINVAL;
    rt_task_k_triage_values(&t->cfg, s->id, values);
    return t->cfg.features;
}

int rt_task_triage_good(const rt_task *t, const rt_task_sample *s, int *actions)
{
    int v[8];
    if (rt_task_triage_state(t, s, v) < 0) return RT_TASK_EINVAL;
    return rt_task_k_triage_good(&t->cfg, v, actions);
}

int rt_task_triage_demo_action(const rt_task *t, const rt_task_sample *s)
{
    int v[8];
    if (rt_task_triage_state(t, s, v) < 0) return RT_TASK_EINVAL;
    return rt_task_k_triage_demo(&t->cfg, s->id, v);
}

double rt_task_triage_reward(const rt_task *t, const rt_task_sample *s, int action)
{
    int good[10];
    int n = rt_task_triage_good(t, s, good);
    return n > 0 && action >= good[0] && action <= good[n - 1] ? 1.0 : 0.0;
}

int rt_task_triage_conflicted(const rt_task *t, const rt_task_sample *s)
{
    if (t->cfg.kind != RT_TASK_TRIAGE) return RT_TASK_EINVAL;
    return rt_task_k_triage_conflicted(&t->cfg, s->id);
}

int rt_task_triage_evidence(const rt_task *t, const rt_task_sample *s, unsigned revealed,
                            int *prompt)
{
    if (t->cfg.kind != RT_TASK_TRIAGE) return RT_TASK_EINVAL;
    rt_task_k_encode(t, s->id, prompt);
    for (int k = 0; k < t->cfg.features; k++)
        if (!(revealed >> k & 1u)) prompt[1 + k] = RT_TOK_MASK;
    return 0;
}

size_t rt_task_render(const int *toks, int n, char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *s = rt_task_token_str(toks[i]);
        if (toks[i] == RT_TOK_PAD) continue;
        if (!s) s = "<?>";
        size_t k = strlen(s);
        if (buf && len + k < cap) memcpy(buf + len, s, k);
        len += k;
    }
    if (buf && cap) buf[len < cap ? len : cap - 1] = 0;
    return len;
}

int rt_task_parse(const char *text, int *toks, int cap, int *n, rt_task_error *err)
{
    *n = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        int found = -1;
        size_t flen = 0;
        for (int k = 0; k < RT_TASK_VOCAB; k++) {
            size_t l = strlen(tok_text[k]);
            if (l > flen && strncmp(p, tok_text[k], l) == 0) {
                found = k;
                flen = l;
            }
        }
        if (found < 0) {
            set_err(err, RT_TASK_EPARSE, "column %d: unknown token near '%.8s'",
                    (int)(p - text) + 1, p);
            return RT_TASK_EPARSE;
        }
        if (*n >= cap) {
            set_err(err, RT_TASK_EPARSE, "column %d: text longer than %d tokens",
                    (int)(p - text) + 1, cap);
            return RT_TASK_EPARSE;
        }
        toks[(*n)++] = found;
        p += flen;
    }
    return 0;
}

int rt_task_sample_from_text(const rt_task *t, const char *text, rt_task_sample *out,
                             rt_task_error *err)
{
    int toks[RT_TASK_MAX_P + 1], n, rc;
    if ((rc = rt_task_parse(text, toks + 1, RT_TASK_MAX_P, &n, err))) return rc;
    int *p = toks + 1;
    while (n > 0 && *p == RT_TOK_PAD)
        p++, n--;
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        uint64_t id;
        int *q = p, m = n;
        if (t->cfg.kind != RT_TASK_MIX && m == leaf->P - 1) { /* tag omitted */
            int tmp[RT_TASK_MAX_P];
            rt_task_k_encode(leaf, 0, tmp);
            q = p - 1;
            q[0] = tmp[0]; /* the tag */
            m++;
        }
        if (rt_task_k_decode(leaf, q, m, &id) == 0) {
            fill_sample(t, leaf, id, d, out);
            return 0;
        }
    }
    char shape[64];
    rt_task_sample ex;
    rt_rng r = rt_rng_make(0);
    rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &ex);
    rt_task_render(ex.prompt, t->P, shape, sizeof shape);
    set_err(err, RT_TASK_EPARSE, "not a %s prompt: '%.64s' (expected e.g. '%s')",
            rt_task_kind_name(t->cfg.kind), text, shape);
    return RT_TASK_EPARSE;
}

/* snprintf into buf at *len, keeping the needed length */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf && *len < cap ? buf + *len : NULL, buf && *len < cap ? cap - *len : 0,
                      fmt, ap);
    va_end(ap);
    if (k > 0) *len += (size_t)k;
}

static void put_params(const rt_task_config *c, char *buf, size_t cap, size_t *len)
{
    switch (c->kind) {
    case RT_TASK_ADD:
        put(buf, cap, len, " digits=%d", c->digits);
        break;
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY:
        put(buf, cap, len, " length=%d", c->length);
        break;
    case RT_TASK_TRIAGE:
        put(buf, cap, len, " features=%d values=%d actions=%d good=%d conflict=%g", c->features,
            c->values, c->actions, c->good, c->conflict);
        break;
    case RT_TASK_MIX:
        break;
    }
    put(buf, cap, len, " noise=%g", c->noise);
}

size_t rt_task_describe(const rt_task *t, rt_rng *rng, int n, char *buf, size_t cap)
{
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
    put(buf, cap, &len, "task %s", rt_task_kind_name(t->cfg.kind));
    if (t->cfg.kind == RT_TASK_MIX) {
        put(buf, cap, &len, " tasks=[");
        for (int d = 0; d < t->n_dom; d++) {
            const char *kind = rt_task_kind_name(t->dom[d]->cfg.kind);
            put(buf, cap, &len, "%s", d ? ", " : "");
            if (strcmp(t->dom_names[d], kind)) put(buf, cap, &len, "%s:", t->dom_names[d]);
            put(buf, cap, &len, "%s", kind);
            put_params(&t->dom[d]->cfg, buf, cap, &len);
        }
        put(buf, cap, &len, "]");
    } else {
        put_params(&t->cfg, buf, cap, &len);
    }
    put(buf, cap, &len, "\nvocabulary (%d):", RT_TASK_VOCAB);
    for (int k = 0; k < RT_TASK_VOCAB; k++)
        put(buf, cap, &len, " %s", tok_text[k]);
    put(buf, cap, &len,
        "\nprompt length %d, answer at most %d tokens, %llu prompts\nfeatures:", t->P, t->T,
        (unsigned long long)t->space);
    for (int i = 0; i < rt_task_n_features(t); i++)
        put(buf, cap, &len, " %s", rt_task_feature_name(t, i));
    put(buf, cap, &len, "\n");
    for (int i = 0; i < n; i++) {
        rt_task_sample s;
        char p[64], a[64];
        rt_task_sample_prompt(t, rng, RT_TASK_TRAIN, &s);
        rt_task_render(s.prompt, t->P, p, sizeof p);
        rt_task_render(s.target, s.target_len, a, sizeof a);
        put(buf, cap, &len, "  %s -> %s\n", p, a);
    }
    return len;
}
