/* rt_task_file.c: the kind record of file-backed tasks ("file"): prompts and answers
 * are the rows of an rt_task_data (rt_task_data.h), prompt id = row index.  Untagged:
 * encode fills all P tokens.  The generic code (rt_task.c) takes P, T, the space, the
 * split and the vocabulary from the data. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_task_data.h"
#include "rt_task_internal.h"

static void file_shape(const double *v, int *P, int *T, uint64_t *space)
{
    (void)v; /* the data's (rt_task.c) */
    *P = 1;
    *T = 2;
    *space = 1;
}

static void file_encode(const rt_task *t, uint64_t id, int *body)
{
    rt_task_data_encode(t->data, (int)id, body);
}

static int file_decode(const rt_task *t, const int *body, int n, uint64_t *id)
{
    int P = rt_task_data_P(t->data), toks[RT_TASK_MAX_P];
    if (n != P) return -1;
    for (int row = 0; row < rt_task_data_rows(t->data); row++) {
        rt_task_data_encode(t->data, row, toks);
        if (memcmp(toks, body, sizeof(int) * (size_t)P) == 0) {
            *id = (uint64_t)row;
            return 0;
        }
    }
    return -1;
}

static int file_target(const rt_task *t, uint64_t id, int *ans)
{
    return rt_task_data_target(t->data, (int)id, ans);
}

static int file_corrupt(const rt_task *t, uint64_t id, int *ans)
{
    return rt_task_data_corrupt(t->data, (int)id, ans);
}

static int file_answer_token(const rt_task *t, int tok)
{
    return rt_task_data_answer_token(t->data, tok);
}

const rt_task_kind_ops rt_task_kind_file = {
    .name = "file",
    .tag = NULL,
    .help = "prompts and answers from a file (file=PATH: JSONL, CSV, TSV or verl rows)",
    .mixable = 1,
    .shape = file_shape,
    .encode = file_encode,
    .decode = file_decode,
    .target = file_target,
    .corrupt = file_corrupt,
    .answer_token = file_answer_token,
};

/* ---- vocabularies of mixes ------------------------------------------------------------ */

static int same_vocab(const rt_task *a, const rt_task *b)
{
    if (!a->vdata && !b->vdata) return 1; /* the built-in table */
    if (a->V != b->V) return 0;
    for (int k = 0; k < a->V; k++)
        if (strcmp(rt_task_token(a, k), rt_task_token(b, k))) return 0;
    return 1;
}

static void vocab_desc(const rt_task *t, char *buf, size_t cap)
{
    if (!t->vdata)
        snprintf(buf, cap, "the built-in vocabulary (%d tokens)", t->V);
    else if (!rt_task_data_vocab_name(t->vdata))
        snprintf(buf, cap, "its own vocabulary (%d tokens)", t->V);
    else
        snprintf(buf, cap, "the vocabulary of task %s (%d tokens)",
                 rt_task_data_vocab_name(t->vdata), t->V);
}

int rt_task_k_mix_vocab(const rt_task *mix, int d, rt_diag *err)
{
    if (d == 0 || same_vocab(mix->dom[0], mix->dom[d])) return 0;
    int blame = mix->dom[d]->vdata ? d : 0;
    const char *suggest = "add";
    for (int i = 0; i <= d; i++)
        if (!mix->dom[i]->vdata) suggest = mix->dom_names[i];
    char a[96];
    vocab_desc(mix->dom[blame], a, sizeof a);
    rt_task_k_set_err(err, RT_EINVAL,
                      "tasks[%d]: '%s' has %s; a mix needs one vocabulary (define it with "
                      "vocab=%s)",
                      blame, mix->dom_names[blame], a, suggest);
    return RT_EINVAL;
}

const char *rt_task_k_token_shown(const rt_task *t, int tok)
{
    const char *s = rt_task_token(t, tok);
    if (!s) return "<?>";
    if (!strcmp(s, " ")) return "\xe2\x90\xa0"; /* ␠ */
    if (!strcmp(s, "\t")) return "\\t";
    if (!strcmp(s, "\n")) return "\\n";
    if (!strcmp(s, "\r")) return "\\r";
    return s;
}

/* ---- texts ------------------------------------------------------------------------------ */

static const char *const std_texts[3] = {"answer", "target", "prompt"};

/* the column text i (0-based after the three) of a task: its name; data's index in
   leaf (or -1) via *col when leaf is given */
static int col_names(const rt_task *t, const char **names, int cap)
{
    int n = 0;
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        if (!leaf->data) continue;
        for (int i = 0; i < rt_task_data_n_texts(leaf->data); i++) {
            const char *nm = rt_task_data_text_name(leaf->data, i);
            int seen = 0;
            for (int j = 0; j < n && !seen; j++)
                seen = !strcmp(names[j], nm);
            if (!seen && n < cap) names[n++] = nm;
        }
    }
    return n;
}

static int data_text_index(const rt_task_data *d, const char *name)
{
    for (int i = 0; d && i < rt_task_data_n_texts(d); i++)
        if (!strcmp(rt_task_data_text_name(d, i), name)) return i;
    return -1;
}

int rt_task_n_texts(const rt_task *t)
{
    const char *names[RT_ROWS_MAX_COLS];
    return 3 + col_names(t, names, RT_ROWS_MAX_COLS);
}

const char *rt_task_text_name(const rt_task *t, int i)
{
    const char *names[RT_ROWS_MAX_COLS];
    int n = col_names(t, names, RT_ROWS_MAX_COLS);
    if (i < 0 || i >= 3 + n) return NULL;
    return i < 3 ? std_texts[i] : names[i - 3];
}

int rt_task_text_numeric(const rt_task *t, int i)
{
    const char *name = i >= 3 ? rt_task_text_name(t, i) : NULL;
    if (!name) return 0;
    for (int d = 0; d < rt_task_n_domains(t); d++) {
        const rt_task *leaf = rt_task_domain(t, d);
        int k = data_text_index(leaf->data, name);
        if (k >= 0 && !rt_task_data_text_numeric(leaf->data, k)) return 0;
    }
    return 1;
}

/* text of toks[0..n) into b[264], cut at a code point boundary */
static rt_strview render_into(const rt_task *t, const int *toks, int n, char *b)
{
    size_t need = rt_task_render_with(t, toks, n, b, 264);
    size_t len = need < 263 ? need : rt_utf8_cut(b, strlen(b), 263);
    b[len] = 0;
    return (rt_strview){b, len};
}

void rt_task_texts_of(const rt_task *t, const rt_task_sample *s, const int *g, int n,
                      rt_task_texts *out)
{
    const rt_task *leaf = rt_task_domain(t, s->domain);
    if (!leaf) leaf = rt_task_domain(t, 0);
    int m = 0;
    while (m < n && g[m] != RT_TOK_EOS)
        m++;
    out->v[0] = render_into(t, g, m, out->buf[0]);
    if (leaf->data) {
        size_t len;
        const char *a = rt_task_data_answer(leaf->data, (int)s->id);
        len = strlen(a);
        out->v[1] = (rt_strview){a, len};
        a = rt_task_data_prompt(leaf->data, (int)s->id);
        out->v[2] = (rt_strview){a, strlen(a)};
    } else {
        int tl = s->target_len;
        if (tl > 0 && s->target[tl - 1] == RT_TOK_EOS) tl--;
        out->v[1] = render_into(t, s->target, tl, out->buf[1]);
        out->v[2] = render_into(t, s->prompt, t->P, out->buf[2]);
    }
    const char *names[RT_ROWS_MAX_COLS];
    int nc = col_names(t, names, RT_ROWS_MAX_COLS);
    for (int i = 0; i < nc; i++) {
        int k = data_text_index(leaf->data, names[i]);
        size_t len = 0;
        const char *c = k >= 0 ? rt_task_data_text(leaf->data, (int)s->id, k, &len) : "";
        out->v[3 + i] = (rt_strview){c, len};
    }
    out->n = 3 + nc;
}

/* ---- description ---------------------------------------------------------------------- */

void rt_task_k_put_shape(const rt_task *t, char *buf, size_t cap, size_t *len)
{
    for (int k = 0; k < t->V; k++)
        rt_task_k_put(buf, cap, len, " %s", rt_task_k_token_shown(t, k));
    rt_task_k_put(buf, cap, len,
                  "\nprompt length %d, answer at most %d tokens, %llu prompts\nfeatures:", t->P,
                  t->T, (unsigned long long)t->space);
    for (int i = 0; i < rt_task_n_features(t); i++)
        rt_task_k_put(buf, cap, len, " %s", rt_task_feature_name(t, i));
}

size_t rt_task_k_describe_file(const rt_task *t, rt_rng *rng, int n, char *buf, size_t cap)
{
    const rt_task_data *d = t->data;
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
    const char *sc = rt_task_data_split_column(d);
    rt_task_k_put(buf, cap, &len, "task file %s (%d rows: %d train, %d held out; ",
                  rt_task_data_path(d), rt_task_data_rows(d), rt_task_data_count(d, RT_TASK_TRAIN),
                  rt_task_data_count(d, RT_TASK_HELDOUT));
    if (sc)
        rt_task_k_put(buf, cap, &len, "split by column %s)", sc);
    else
        rt_task_k_put(buf, cap, &len, "split by hash, holdout=%g)", rt_task_data_holdout(d));
    rt_task_k_put(buf, cap, &len, " noise=%g noise_rule=%s\ncolumns: prompt=%s answer=%s, %s",
                  t->cfg.values[t->ops->n_keys],
                  rt_task_noise_rule_name(rt_task_data_noise_rule(d)),
                  rt_task_data_prompt_column(d), rt_task_data_answer_column(d),
                  rt_rows_format_name(rt_task_data_format(d)));
    if (rt_task_data_vocab_name(d))
        rt_task_k_put(buf, cap, &len, "\nvocabulary (%d, of task %s):", t->V,
                      rt_task_data_vocab_name(d));
    else
        rt_task_k_put(buf, cap, &len, "\nvocabulary (%d, the file's characters):", t->V);
    rt_task_k_put_shape(t, buf, cap, &len);
    rt_task_k_put(buf, cap, &len, "\ntexts:");
    for (int i = 0; i < rt_task_n_texts(t); i++)
        rt_task_k_put(buf, cap, &len, " %s%s", rt_task_text_name(t, i),
                      rt_task_text_numeric(t, i) ? " (numeric)" : "");
    if (rt_task_data_n_left_out(d)) {
        rt_task_k_put(buf, cap, &len,
                      "\nleft out (name taken by answer, target, prompt, a "
                      "feature or another column):");
        for (int i = 0; i < rt_task_data_n_left_out(d); i++)
            rt_task_k_put(buf, cap, &len, " %s", rt_task_data_left_out(d, i));
    }
    rt_task_k_put(buf, cap, &len, "\n");
    for (int i = 0; i < n; i++) {
        rt_task_sample s;
        rt_task_sample_prompt(t, rng, RT_TASK_TRAIN, &s);
        rt_task_k_put(buf, cap, &len, "  %s -> %s\n", rt_task_data_prompt(d, (int)s.id),
                      rt_task_data_answer(d, (int)s.id));
    }
    return len;
}

size_t rt_task_describe_noise(const rt_task *t, char *buf, size_t cap)
{
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
    char rule[32] = "noise";
    const rt_task *leaf0 = rt_task_domain(t, 0);
    if (leaf0->data)
        snprintf(rule, sizeof rule, "noise_rule=%s",
                 rt_task_noise_rule_name(rt_task_data_noise_rule(leaf0->data)));
    uint64_t count = rt_task_split_count(t, RT_TASK_TRAIN);
    rt_rng r = rt_rng_make(0);
    uint64_t tries = count ? count : 4096;
    for (uint64_t i = 0; i < tries; i++) {
        rt_task_sample s;
        int bad[RT_TASK_MAX_T];
        if (count) {
            if (rt_task_sample_at(t, RT_TASK_TRAIN, i, &s)) break;
        } else {
            rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &s);
        }
        int nb = rt_task_corrupt(t, &s, bad);
        if (nb == s.target_len && !memcmp(bad, s.target, sizeof(int) * (size_t)nb)) continue;
        rt_task_texts tx;
        rt_task_texts_of(t, &s, bad, nb, &tx);
        rt_task_k_put(buf, cap, &len, "%s: '%.*s' -> '%.*s' is demonstrated as '%.*s'", rule,
                      (int)tx.v[2].n, tx.v[2].s, (int)tx.v[1].n, tx.v[1].s, (int)tx.v[0].n,
                      tx.v[0].s);
        return len;
    }
    rt_task_k_put(buf, cap, &len,
                  "%s: the error is never visible on this task's training "
                  "prompts (demonstrations stay correct)",
                  rule);
    return len;
}
