/* rt_task_kinds.c: what differs between task kinds: prompt spaces and their
 * encoding as tokens, decoding typed prompts, targets, the documented systematic
 * errors, reward features, and the hidden triage rule (see rt_task.h for the
 * contract).  Mixes are handled in rt_task.c by routing to their domain tasks. */
#include "rt_task_internal.h"

#include <stdlib.h>

uint64_t rt_task_k_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t ipow(uint64_t b, int e)
{
    uint64_t r = 1;
    while (e-- > 0)
        r *= b;
    return r;
}

uint64_t rt_task_k_space(const rt_task_config *c)
{
    switch (c->kind) {
    case RT_TASK_ADD:
        return ipow(10, 2 * c->digits);
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY:
        return ipow(10, c->length);
    case RT_TASK_TRIAGE:
        return ipow((uint64_t)c->values, c->features);
    case RT_TASK_MIX:
        break;
    }
    return 0;
}

int rt_task_k_prompt_len(const rt_task_config *c)
{
    switch (c->kind) {
    case RT_TASK_ADD:
        return 2 * c->digits + 3;
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY:
        return c->length + 2;
    case RT_TASK_TRIAGE:
        return c->features + 2;
    case RT_TASK_MIX:
        break;
    }
    return 0;
}

int rt_task_k_answer_max(const rt_task_config *c)
{
    switch (c->kind) {
    case RT_TASK_ADD:
        return c->digits + 2;
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY:
        return c->length + 1;
    case RT_TASK_TRIAGE:
        return 2;
    case RT_TASK_MIX:
        break;
    }
    return 0;
}

static int kind_tag(rt_task_kind k)
{
    switch (k) {
    case RT_TASK_ADD:
        return RT_TOK_TAG_ADD;
    case RT_TASK_REVERSE:
        return RT_TOK_TAG_REVERSE;
    case RT_TASK_SORT:
        return RT_TOK_TAG_SORT;
    case RT_TASK_COPY:
        return RT_TOK_TAG_COPY;
    case RT_TASK_TRIAGE:
        return RT_TOK_TAG_TRIAGE;
    case RT_TASK_MIX:
        break;
    }
    return RT_TOK_PAD;
}

/* the n base-`base` digits of x, most significant first */
static void base_digits(uint64_t x, uint64_t base, int n, int *out)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (int)(x % base);
        x /= base;
    }
}

/* the decimal digits of x without leading zeros ("0" for 0), then EOS */
static int number_answer(uint64_t x, int *ans)
{
    int d[24], n = 0;
    do {
        d[n++] = (int)(x % 10);
        x /= 10;
    } while (x);
    for (int i = 0; i < n; i++)
        ans[i] = RT_TOK_DIGIT0 + d[n - 1 - i];
    ans[n] = RT_TOK_EOS;
    return n + 1;
}

/* element tokens of a reverse / sort / copy prompt id */
static void seq_elems(const rt_task *t, uint64_t id, int *e)
{
    int n = t->cfg.length;
    base_digits(id, 10, n, e);
    int base = t->cfg.kind == RT_TASK_SORT ? RT_TOK_DIGIT0 : RT_TOK_LETTER0;
    for (int i = 0; i < n; i++)
        e[i] += base;
}

void rt_task_k_triage_values(const rt_task_config *c, uint64_t id, int *v)
{
    base_digits(id, (uint64_t)c->values, c->features, v);
}

/* good actions of a state: G consecutive actions from a severity threshold */
int rt_task_k_triage_good(const rt_task_config *c, const int *v, int *good)
{
    int s = 0, smax = 0;
    for (int k = 0; k < c->features; k++) {
        int w = 1 + k % 3;
        s += w * v[k];
        smax += w * (c->values - 1);
    }
    int start = s * (c->actions - c->good + 1) / (smax + 1);
    for (int j = 0; j < c->good; j++)
        good[j] = start + j;
    return c->good;
}

int rt_task_k_triage_conflicted(const rt_task_config *c, uint64_t id)
{
    if (c->conflict <= 0) return 0;
    double u = (double)(rt_task_k_mix64(id * 0x2545f4914f6cdd1dULL ^ 0x7a3c) >> 11) * 0x1.0p-53;
    return u < c->conflict;
}

int rt_task_k_triage_demo(const rt_task_config *c, uint64_t id, const int *v)
{
    int good[10];
    int g = rt_task_k_triage_good(c, v, good);
    int last = v[c->features - 1];
    if (!rt_task_k_triage_conflicted(c, id)) return good[last % g];
    int bad[10], nb = 0;
    for (int a = 0; a < c->actions; a++)
        if (a < good[0] || a > good[g - 1]) bad[nb++] = a;
    return bad[last % nb];
}

void rt_task_k_encode(const rt_task *t, uint64_t id, int *p)
{
    const rt_task_config *c = &t->cfg;
    p[0] = kind_tag(c->kind);
    switch (c->kind) {
    case RT_TASK_ADD: {
        uint64_t m = ipow(10, c->digits);
        base_digits(id / m, 10, c->digits, p + 1);
        base_digits(id % m, 10, c->digits, p + 2 + c->digits);
        for (int i = 1; i < 2 * c->digits + 2; i++)
            p[i] += RT_TOK_DIGIT0;
        p[1 + c->digits] = RT_TOK_PLUS;
        p[2 * c->digits + 2] = RT_TOK_EQ;
        break;
    }
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY:
        seq_elems(t, id, p + 1);
        p[c->length + 1] = RT_TOK_SEP;
        break;
    case RT_TASK_TRIAGE:
        rt_task_k_triage_values(c, id, p + 1);
        for (int k = 0; k < c->features; k++)
            p[1 + k] += RT_TOK_DIGIT0;
        p[c->features + 1] = RT_TOK_EQ;
        break;
    case RT_TASK_MIX:
        break;
    }
}

int rt_task_k_decode(const rt_task *t, const int *p, int n, uint64_t *id)
{
    const rt_task_config *c = &t->cfg;
    if (n != t->P || p[0] != kind_tag(c->kind)) return -1;
    uint64_t x = 0;
    switch (c->kind) {
    case RT_TASK_ADD:
        for (int i = 1; i < n - 1; i++) {
            if (i == 1 + c->digits) {
                if (p[i] != RT_TOK_PLUS) return -1;
                continue;
            }
            if (p[i] < RT_TOK_DIGIT0 || p[i] > RT_TOK_DIGIT0 + 9) return -1;
            x = x * 10 + (uint64_t)(p[i] - RT_TOK_DIGIT0);
        }
        if (p[n - 1] != RT_TOK_EQ) return -1;
        break;
    case RT_TASK_REVERSE:
    case RT_TASK_SORT:
    case RT_TASK_COPY: {
        int base = c->kind == RT_TASK_SORT ? RT_TOK_DIGIT0 : RT_TOK_LETTER0;
        for (int i = 1; i < n - 1; i++) {
            if (p[i] < base || p[i] > base + 9) return -1;
            x = x * 10 + (uint64_t)(p[i] - base);
        }
        if (p[n - 1] != RT_TOK_SEP) return -1;
        break;
    }
    case RT_TASK_TRIAGE:
        for (int i = 1; i < n - 1; i++) {
            if (p[i] < RT_TOK_DIGIT0 || p[i] >= RT_TOK_DIGIT0 + c->values) return -1;
            x = x * (uint64_t)c->values + (uint64_t)(p[i] - RT_TOK_DIGIT0);
        }
        if (p[n - 1] != RT_TOK_EQ) return -1;
        break;
    case RT_TASK_MIX:
        return -1;
    }
    *id = x;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int rt_task_k_target(const rt_task *t, uint64_t id, int *ans)
{
    const rt_task_config *c = &t->cfg;
    int e[16], n = c->length;
    switch (c->kind) {
    case RT_TASK_ADD: {
        uint64_t m = ipow(10, c->digits);
        return number_answer(id / m + id % m, ans);
    }
    case RT_TASK_REVERSE:
        seq_elems(t, id, e);
        for (int i = 0; i < n; i++)
            ans[i] = e[n - 1 - i];
        break;
    case RT_TASK_COPY:
        seq_elems(t, id, ans);
        break;
    case RT_TASK_SORT:
        seq_elems(t, id, ans);
        qsort(ans, (size_t)n, sizeof *ans, cmp_int);
        break;
    case RT_TASK_TRIAGE: {
        int v[8];
        rt_task_k_triage_values(c, id, v);
        ans[0] = RT_TOK_LETTER0 + rt_task_k_triage_demo(c, id, v);
        ans[1] = RT_TOK_EOS;
        return 2;
    }
    case RT_TASK_MIX:
        return 0;
    }
    ans[n] = RT_TOK_EOS;
    return n + 1;
}

int rt_task_k_corrupt_id(const rt_task *t, uint64_t id, int *ans)
{
    const rt_task_config *c = &t->cfg;
    if (c->kind == RT_TASK_ADD) { /* dropped carries */
        uint64_t m = ipow(10, c->digits), a = id / m, b = id % m, r = 0, p = 1;
        for (int i = 0; i < c->digits; i++, p *= 10, a /= 10, b /= 10)
            r += (a % 10 + b % 10) % 10 * p;
        return number_answer(r, ans);
    }
    int n = rt_task_k_target(t, id, ans);
    if (c->kind == RT_TASK_TRIAGE) {
        ans[0] = RT_TOK_LETTER0 + (ans[0] - RT_TOK_LETTER0 + 1) % c->actions;
        return n;
    }
    for (int i = 0; i + 2 < n; i++) /* first differing adjacent pair, EOS excluded */
        if (ans[i] != ans[i + 1]) {
            int x = ans[i];
            ans[i] = ans[i + 1];
            ans[i + 1] = x;
            break;
        }
    return n;
}

static int answer_token_ok(const rt_task_config *c, int tok)
{
    switch (c->kind) {
    case RT_TASK_ADD:
    case RT_TASK_SORT:
        return tok >= RT_TOK_DIGIT0 && tok <= RT_TOK_DIGIT0 + 9;
    case RT_TASK_REVERSE:
    case RT_TASK_COPY:
        return tok >= RT_TOK_LETTER0 && tok <= RT_TOK_LETTER0 + 9;
    case RT_TASK_TRIAGE:
        return tok >= RT_TOK_LETTER0 && tok < RT_TOK_LETTER0 + c->actions;
    case RT_TASK_MIX:
        break;
    }
    return 0;
}

/* feat order: correct, partial, length, format, eos [, outcome, demo_agree] */
void rt_task_k_features_leaf(const rt_task *t, uint64_t id, const int *target, int target_len,
                             const int *g, int n, double *feat)
{
    const rt_task_config *c = &t->cfg;
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
        fmt = answer_token_ok(c, g[i]);
    int hits = 0;
    for (int i = 0; i < target_len && i < len; i++)
        hits += g[i] == target[i];
    int exact = eos && len == target_len && hits == target_len;
    feat[1] = (double)hits / target_len;
    feat[2] = len;
    feat[3] = fmt;
    feat[4] = eos;
    if (c->kind != RT_TASK_TRIAGE) {
        feat[0] = exact;
        return;
    }
    int v[8], good[10];
    rt_task_k_triage_values(c, id, v);
    int ng = rt_task_k_triage_good(c, v, good);
    int act = len > 0 && answer_token_ok(c, g[0]) ? g[0] - RT_TOK_LETTER0 : -1;
    double outcome = act >= 0 && act >= good[0] && act <= good[ng - 1] ? 1.0 : 0.0;
    feat[0] = fmt && body == 1 && outcome > 0;
    feat[5] = outcome;
    feat[6] = act >= 0 && act == rt_task_k_triage_demo(c, id, v);
}
