/* rt_task_data.c: a file-backed task's rows: columns, tokens, split, texts, digest
 * (rt_task_data.h). */
#include "rt_task_data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_task_internal.h"
#include "rt_text.h"

struct rt_task_data {
    int refs;
    rt_rows *rows;
    char *path, *vocab_name;
    int pcol, acol, scol; /* scol -1: by hash */
    double holdout;
    rt_task_noise_rule rule;
    int n, n_side[2], P, T, V;
    char **tok;             /* V token texts */
    int *ptok, *plen;       /* [row * RT_TASK_MAX_P], its length */
    int *atok, *alen;       /* [row * RT_TASK_MAX_T] with EOS */
    int *label;             /* label rule: the row whose answer replaces this row's */
    unsigned char *side;    /* RT_TASK_TRAIN / HELDOUT per row */
    unsigned char *ans_tok; /* [V]: occurs in some answer */
    int *by_prompt;         /* rows sorted by prompt bytes */
    int n_texts, texts[RT_ROWS_MAX_COLS], numeric[RT_ROWS_MAX_COLS];
    char *text_name[RT_ROWS_MAX_COLS];
    int n_left, left[RT_ROWS_MAX_COLS];
    uint64_t digest;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV0 0xcbf29ce484222325ULL

static uint64_t fnv_int(uint64_t h, int v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return fnv(h, b, 4);
}

void rt_task_data_free(rt_task_data *d)
{
    if (!d || --d->refs > 0) return;
    rt_rows_free(d->rows);
    rt_free(d->path);
    rt_free(d->vocab_name);
    for (int i = 0; d->tok && i < d->V; i++)
        rt_free(d->tok[i]);
    rt_free(d->tok);
    rt_free(d->ptok);
    rt_free(d->plen);
    rt_free(d->atok);
    rt_free(d->alen);
    rt_free(d->label);
    rt_free(d->side);
    rt_free(d->ans_tok);
    rt_free(d->by_prompt);
    for (int i = 0; i < d->n_texts; i++)
        rt_free(d->text_name[i]);
    rt_free(d);
}

rt_task_data *rt_task_data_ref(const rt_task_data *d)
{
    rt_task_data *m = (rt_task_data *)d;
    if (m) m->refs++;
    return m;
}

/* an error at a cell: "PATH:LINE:COL: ..." */
static int cell_err_at(rt_diag *err, const rt_task_data *d, int row, int col, int dcol, int code,
                       const char *key, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
#define cell_err(err, d, row, col, ...) cell_err_at(err, d, row, col, 0, __VA_ARGS__)
static int cell_err_at(rt_diag *err, const rt_task_data *d, int row, int col, int dcol, int code,
                       const char *key, const char *fmt, ...)
{
    const rt_rows *r = d->rows;
    int line = 0, c = 0;
    if (row >= 0) {
        line = r->row_line[row];
        c = 1;
        if (col >= 0 && r->line[row * r->n_cols + col] > 0) {
            line = r->line[row * r->n_cols + col];
            c = r->col[row * r->n_cols + col];
        }
        c += dcol;
    }
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (!err) return code;
    if (line)
        rt_diag_key(err, code, key, "%s:%d:%d: %s", d->path, line, c, m);
    else
        rt_diag_key(err, code, key, "%s: %s", d->path, m);
    err->line = line;
    err->col = c;
    return code;
}

static int find_col(const rt_rows *r, const char *name)
{
    for (int c = 0; c < r->n_cols; c++)
        if (strcmp(r->cols[c], name) == 0) return c;
    return -1;
}

static int pick_columns(rt_task_data *d, const rt_task_file_opts *o, rt_diag *err)
{
    static const char *const pairs[4][2] = {
        {"prompt", "completion"}, {"prompt", "answer"}, {"question", "answer"}, {"text", "label"}};
    static const char *const ps[3] = {"prompt", "question", "text"};
    static const char *const as[3] = {"completion", "answer", "label"};
    rt_rows *r = d->rows;
    d->pcol = d->acol = d->scol = -1;
    if (o->prompt) {
        if ((d->pcol = rt_rows_column(r, o->prompt, "prompt", err)) < 0) return d->pcol;
    }
    if (o->answer) {
        if ((d->acol = rt_rows_column(r, o->answer, "answer", err)) < 0) return d->acol;
    }
    if (!o->prompt && !o->answer)
        for (int i = 0; i < 4 && d->pcol < 0; i++)
            if (find_col(r, pairs[i][0]) >= 0 && find_col(r, pairs[i][1]) >= 0) {
                d->pcol = find_col(r, pairs[i][0]);
                d->acol = find_col(r, pairs[i][1]);
            }
    for (int i = 0; i < 3 && d->pcol < 0 && o->answer; i++)
        if (find_col(r, ps[i]) != d->acol) d->pcol = find_col(r, ps[i]);
    for (int i = 0; i < 3 && d->acol < 0 && d->pcol >= 0; i++)
        if (find_col(r, as[i]) != d->pcol) d->acol = find_col(r, as[i]);
    if (d->pcol < 0 || d->acol < 0) {
        char cols[160];
        size_t len = 0;
        cols[0] = 0;
        for (int c = 0; c < r->n_cols && len < sizeof cols; c++)
            len +=
                (size_t)snprintf(cols + len, sizeof cols - len, "%s%s", c ? ", " : "", r->cols[c]);
        return cell_err(err, d, -1, -1, RT_ENOTFOUND, d->pcol < 0 ? "prompt" : "answer",
                        "no %s column (looked for prompt/completion, prompt/answer, "
                        "question/answer, text/label; columns: %.90s); give %s=COLUMN",
                        d->pcol < 0 ? "prompt" : "answer", cols, d->pcol < 0 ? "prompt" : "answer");
    }
    if (d->pcol == d->acol)
        return cell_err(err, d, -1, -1, RT_EINVAL, "answer",
                        "prompt and answer are the same column '%s'", r->cols[d->pcol]);
    if (o->split) {
        if ((d->scol = rt_rows_column(r, o->split, "split", err)) < 0) return d->scol;
        if (d->scol == d->pcol || d->scol == d->acol)
            return cell_err(err, d, -1, -1, RT_EINVAL, "split",
                            "the split column '%s' is the prompt or answer column", o->split);
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* own vocabulary: every distinct code point of the prompts and answers, in order */
static int own_vocab(rt_task_data *d, rt_diag *err)
{
    uint32_t *cps = NULL;
    size_t n = 0, cap = 0;
    for (int row = 0; row < d->n; row++)
        for (int k = 0; k < 2; k++) {
            size_t len;
            const char *s = rt_rows_cell(d->rows, row, k ? d->acol : d->pcol, &len);
            for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t m = rt_utf8_decode(s + i, len - i, &cp);
                if (!m) m = 1;
                i += m;
                if (n == cap) {
                    cap = cap ? cap * 2 : 256;
                    uint32_t *g = rt_realloc(cps, cap * sizeof *cps);
                    if (!g) goto oom;
                    cps = g;
                }
                cps[n++] = cp;
                if (n >= 1u << 16) { /* dedupe as we go: keep memory bounded */
                    qsort(cps, n, sizeof *cps, cmp_u32);
                    size_t u = 0;
                    for (size_t j = 0; j < n; j++)
                        if (!u || cps[u - 1] != cps[j]) cps[u++] = cps[j];
                    n = u;
                }
            }
        }
    if (n) qsort(cps, n, sizeof *cps, cmp_u32);
    size_t u = 0;
    for (size_t j = 0; j < n; j++)
        if (!u || cps[u - 1] != cps[j]) cps[u++] = cps[j];
    if (u + 2 > RT_TASK_DATA_MAX_VOCAB) {
        rt_free(cps);
        return cell_err(err, d, -1, -1, RT_ELIMIT, "file",
                        "%zu distinct characters; a vocabulary holds at most %d tokens", u,
                        RT_TASK_DATA_MAX_VOCAB - 2);
    }
    d->V = (int)u + 2;
    if (!(d->tok = rt_calloc((size_t)d->V, sizeof *d->tok))) goto oom;
    if (!(d->tok[0] = rt_strdup("<pad>")) || !(d->tok[1] = rt_strdup("<eos>"))) goto oom;
    for (size_t j = 0; j < u; j++) {
        char b[5] = {0};
        rt_utf8_encode(cps[j], b);
        if (!(d->tok[j + 2] = rt_strdup(b))) goto oom;
    }
    rt_free(cps);
    return 0;
oom:
    rt_free(cps);
    return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
}

static int copy_vocab(rt_task_data *d, const rt_task_file_opts *o, rt_diag *err)
{
    int V = o->vocab ? rt_task_vocab_size(o->vocab) : o->n_vocab_tokens;
    if (V < 2 || V > RT_TASK_DATA_MAX_VOCAB)
        return cell_err(err, d, -1, -1, RT_EINVAL, "vocab",
                        "a vocabulary has 2 to %d tokens, not %d", RT_TASK_DATA_MAX_VOCAB, V);
    if (!(d->tok = rt_calloc((size_t)V, sizeof *d->tok))) goto oom;
    d->V = V;
    for (int i = 0; i < V; i++) {
        const char *s = o->vocab ? rt_task_token(o->vocab, i) : o->vocab_tokens[i];
        if (!(d->tok[i] = rt_strdup(s ? s : ""))) goto oom;
    }
    const char *name = o->vocab_name ? o->vocab_name
                       : o->vocab    ? rt_task_kind_name(rt_task_kind_of(o->vocab))
                                     : "restored";
    if (!(d->vocab_name = rt_strdup(name))) goto oom;
    return 0;
oom:
    return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
}

int rt_task_data_match(const char *const *table, int V, const char *s, size_t n, size_t *len)
{
    int best = -1;
    size_t bl = 0;
    for (int k = 2; k < V; k++) {
        size_t l = table[k] ? strlen(table[k]) : 0;
        if (l > bl && l <= n && memcmp(s, table[k], l) == 0) {
            best = k;
            bl = l;
        }
    }
    *len = bl;
    return best;
}

/* own vocabulary: binary search of the code point */
static int own_token(const rt_task_data *d, uint32_t cp)
{
    int lo = 2, hi = d->V - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint32_t c;
        rt_utf8_decode(d->tok[mid], strlen(d->tok[mid]), &c);
        if (c == cp) return mid;
        if (c < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* tokens of a cell into out[cap]; its count, or an error */
static int tokenize(rt_task_data *d, int row, int col, int *out, int cap, rt_diag *err)
{
    size_t len;
    const char *s = rt_rows_cell(d->rows, row, col, &len);
    int n = 0;
    for (size_t i = 0; i < len;) {
        size_t m;
        int k;
        if (!d->vocab_name) {
            uint32_t cp;
            m = rt_utf8_decode(s + i, len - i, &cp);
            if (!m) m = 1;
            k = own_token(d, cp);
        } else {
            k = rt_task_data_match((const char *const *)d->tok, d->V, s + i, len - i, &m);
        }
        if (k < 0) {
            size_t cl = rt_utf8_seq(s + i, len - i);
            int c = (int)rt_utf8_cols(s, i);
            return cell_err_at(err, d, row, col, c, RT_EINVAL, "vocab",
                               "'%.*s' is not in the vocabulary of task %s", (int)(cl ? cl : 1),
                               s + i, d->vocab_name);
        }
        if (n < cap) out[n] = k; /* counted on past cap: the caller reports the length */
        n++;
        i += m;
    }
    return n;
}

/* a cell and its row, for sorting rows by a column's bytes (then by row) */
typedef struct cellkey {
    const char *s;
    size_t n;
    int row;
} cellkey;

static int cmp_cellkey(const void *a, const void *b)
{
    const cellkey *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    if (c) return c;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* rows sorted by column col into out[n]; 0 or RT_ENOMEM */
static int sort_rows(const rt_task_data *d, int col, int *out)
{
    cellkey *k = rt_malloc(sizeof *k * (size_t)d->n);
    if (!k) return RT_ENOMEM;
    for (int i = 0; i < d->n; i++) {
        k[i].s = rt_rows_cell(d->rows, i, col, &k[i].n);
        k[i].row = i;
    }
    qsort(k, (size_t)d->n, sizeof *k, cmp_cellkey);
    for (int i = 0; i < d->n; i++)
        out[i] = k[i].row;
    rt_free(k);
    return 0;
}

static int cmp_prompt_rows(const rt_task_data *d, int x, int y)
{
    cellkey a = {.row = x}, b = {.row = y};
    a.s = rt_rows_cell(d->rows, x, d->pcol, &a.n);
    b.s = rt_rows_cell(d->rows, y, d->pcol, &b.n);
    return cmp_cellkey(&a, &b);
}

static double hash_u(const char *s, size_t n)
{
    return (double)(rt_task_k_mix64(fnv(FNV0, s, n)) >> 11) * 0x1.0p-53;
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

static int split_rows(rt_task_data *d, rt_diag *err)
{
    static const char *const held[] = {"test",  "heldout", "held-out", "validation",
                                       "valid", "val",     "dev",      "eval"};
    d->n_side[0] = d->n_side[1] = 0;
    if (d->scol >= 0) {
        for (int row = 0; row < d->n; row++) {
            const char *v = rt_rows_cell(d->rows, row, d->scol, NULL);
            int s = -1;
            if (ieq(v, "train")) s = 0;
            for (int i = 0; i < 8 && s < 0; i++)
                if (ieq(v, held[i])) s = 1;
            if (s < 0)
                return cell_err(err, d, row, d->scol, RT_EINVAL, "split",
                                "split value '%.40s' is neither train nor test, heldout, "
                                "held-out, validation, valid, val, dev or eval",
                                v);
            d->side[row] = (unsigned char)s;
            d->n_side[s]++;
        }
        for (int s = 0; s < 2; s++)
            if (!d->n_side[s])
                return cell_err(err, d, -1, -1, RT_EINVAL, "split",
                                "the split column '%s' has no %s rows; a task needs both sides",
                                d->rows->cols[d->scol], s ? "held-out" : "train");
        return 0;
    }
    double *u = rt_malloc(sizeof(double) * (size_t)d->n);
    if (!u) return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    for (int row = 0; row < d->n; row++) {
        size_t len;
        const char *s = rt_rows_cell(d->rows, row, d->pcol, &len);
        u[row] = hash_u(s, len);
        int h = u[row] < d->holdout;
        d->side[row] = (unsigned char)h;
        d->n_side[h]++;
    }
    for (int s = 0; s < 2 && d->n > 1; s++)
        if (!d->n_side[s]) { /* move the row closest to the threshold */
            int best = -1;
            for (int row = 0; row < d->n; row++) {
                if (best < 0) {
                    best = row;
                    continue;
                }
                int better = s ? u[row] < u[best] : u[row] > u[best];
                if (u[row] == u[best]) better = cmp_prompt_rows(d, row, best) < 0;
                if (better) best = row;
            }
            d->side[best] = (unsigned char)s;
            d->n_side[s]++;
            d->n_side[!s]--;
        }
    rt_free(u);
    if (!d->n_side[0] || !d->n_side[1])
        return cell_err(err, d, -1, -1, RT_EINVAL, "file",
                        "one row cannot be split into train and held out; a task needs at "
                        "least 2 rows");
    return 0;
}

static void make_ident(char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            *s = '_';
}

static int pick_texts(rt_task_data *d)
{
    const char *feat[RT_TASK_MAX_KINDS * RT_TASK_MAX_FEATURES];
    int nf = rt_task_feature_union(feat, RT_TASK_MAX_KINDS * RT_TASK_MAX_FEATURES);
    const rt_rows *r = d->rows;
    for (int c = 0; c < r->n_cols; c++) {
        if (c == d->pcol || c == d->acol || c == d->scol) continue;
        char *id = rt_strdup(r->cols[c]);
        if (!id) return RT_ENOMEM;
        make_ident(id);
        int bad = !strcmp(id, "answer") || !strcmp(id, "target") || !strcmp(id, "prompt");
        for (int i = 0; i < nf && !bad; i++)
            bad = !strcmp(id, feat[i]);
        for (int i = 0; i < d->n_texts && !bad; i++)
            bad = !strcmp(id, d->text_name[i]);
        if (bad) {
            d->left[d->n_left++] = c;
            rt_free(id);
            continue;
        }
        int num = 1;
        for (int row = 0; row < d->n && num; row++) {
            size_t len;
            const char *s = rt_rows_cell(r, row, c, &len);
            num = rt_rows_kind(r, row, c) != RT_CELL_MISSING && rt_rows_is_number(s, len);
        }
        d->texts[d->n_texts] = c;
        d->numeric[d->n_texts] = num;
        d->text_name[d->n_texts++] = id;
    }
    return 0;
}

static int build(rt_task_data *d, const rt_task_file_opts *o, rt_diag *err)
{
    int rc;
    rt_rows *r = d->rows;
    d->n = r->n_rows;
    if (d->n > RT_TASK_DATA_MAX_ROWS)
        return cell_err(err, d, -1, -1, RT_ELIMIT, "file", "%d rows; a task has at most %d", d->n,
                        RT_TASK_DATA_MAX_ROWS);
    if ((rc = pick_columns(d, o, err))) return rc;
    /* every row has a non-empty prompt and answer */
    for (int row = 0; row < d->n; row++)
        for (int k = 0; k < 2; k++) {
            int c = k ? d->acol : d->pcol;
            const char *what = k ? "answer" : "prompt";
            int kind = rt_rows_kind(r, row, c);
            size_t len;
            rt_rows_cell(r, row, c, &len);
            if (kind == RT_CELL_MISSING)
                return cell_err(err, d, row, c, RT_EINVAL, what, "row has no '%s' (the %s)",
                                r->cols[c], what);
            if (len == 0)
                return cell_err(err, d, row, c, RT_EINVAL, what, "empty %s ('%s')", what,
                                r->cols[c]);
        }
    size_t n = (size_t)d->n;
    d->ptok = rt_calloc(n * RT_TASK_MAX_P, sizeof(int));
    d->atok = rt_calloc(n * RT_TASK_MAX_T, sizeof(int));
    d->plen = rt_calloc(n, sizeof(int));
    d->alen = rt_calloc(n, sizeof(int));
    d->label = rt_calloc(n, sizeof(int));
    d->side = rt_calloc(n, 1);
    d->by_prompt = rt_calloc(n, sizeof(int));
    if (!d->ptok || !d->atok || !d->plen || !d->alen || !d->label || !d->side || !d->by_prompt)
        return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    /* duplicate prompts */
    if (sort_rows(d, d->pcol, d->by_prompt))
        return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    for (int i = 1; i < d->n; i++) {
        int a = d->by_prompt[i - 1], b = d->by_prompt[i];
        if (!strcmp(rt_rows_cell(r, a, d->pcol, NULL), rt_rows_cell(r, b, d->pcol, NULL)))
            return cell_err(err, d, b, d->pcol, RT_EINVAL, "prompt",
                            "line %d repeats the prompt of line %d (prompts are the task's "
                            "ids)",
                            r->row_line[b], r->row_line[a]);
    }
    if (o->vocab || o->vocab_tokens)
        rc = copy_vocab(d, o, err);
    else
        rc = own_vocab(d, err);
    if (rc) return rc;
    if (!(d->ans_tok = rt_calloc((size_t)d->V, 1)))
        return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    for (int row = 0; row < d->n; row++) {
        int *p = d->ptok + (size_t)row * RT_TASK_MAX_P, *a = d->atok + (size_t)row * RT_TASK_MAX_T;
        int np = tokenize(d, row, d->pcol, p, RT_TASK_MAX_P, err);
        if (np < 0) return np;
        if (np > RT_TASK_MAX_P)
            return cell_err(err, d, row, d->pcol, RT_ELIMIT, "prompt",
                            "the prompt is %d tokens; prompts may be at most %d", np,
                            RT_TASK_MAX_P);
        int na = tokenize(d, row, d->acol, a, RT_TASK_MAX_T - 1, err);
        if (na < 0) return na;
        if (na > RT_TASK_MAX_T - 1)
            return cell_err(err, d, row, d->acol, RT_ELIMIT, "answer",
                            "the answer is %d tokens; answers may be at most %d", na,
                            RT_TASK_MAX_T - 1);
        for (int i = 0; i < na; i++)
            d->ans_tok[a[i]] = 1;
        a[na] = RT_TOK_EOS;
        d->plen[row] = np;
        d->alen[row] = na + 1;
        if (np > d->P) d->P = np;
        if (na + 1 > d->T) d->T = na + 1;
    }
    if ((rc = split_rows(d, err))) return rc;
    /* label rule: rows sorted by answer bytes; each takes the next distinct answer */
    int *ord = d->label; /* reuse: sort rows by answer, then fill label */
    int *tmp = rt_malloc(n * sizeof(int));
    if (!tmp) return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    if (sort_rows(d, d->acol, tmp)) {
        rt_free(tmp);
        return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    }
    for (int i = 0; i < d->n;) { /* one group of equal answers at a time */
        const char *a = rt_rows_cell(r, tmp[i], d->acol, NULL);
        int j = i;
        while (j < d->n && !strcmp(rt_rows_cell(r, tmp[j], d->acol, NULL), a))
            j++;
        for (int k = i; k < j; k++)
            ord[tmp[k]] = tmp[j % d->n];
        i = j;
    }
    rt_free(tmp);
    if (pick_texts(d)) return cell_err(err, d, -1, -1, RT_ENOMEM, "file", "out of memory");
    uint64_t h = FNV0;
    h = fnv_int(h, d->V);
    for (int i = 0; i < d->V; i++)
        h = fnv(h, d->tok[i], strlen(d->tok[i]) + 1);
    h = fnv_int(h, (int)d->rule);
    h = fnv_int(h, d->n);
    for (int row = 0; row < d->n; row++) {
        h = fnv_int(h, d->plen[row]);
        for (int i = 0; i < d->plen[row]; i++)
            h = fnv_int(h, d->ptok[(size_t)row * RT_TASK_MAX_P + i]);
        h = fnv_int(h, d->alen[row]);
        for (int i = 0; i < d->alen[row]; i++)
            h = fnv_int(h, d->atok[(size_t)row * RT_TASK_MAX_T + i]);
        h = fnv_int(h, d->side[row]);
    }
    d->digest = h;
    return 0;
}

static int finish(const rt_task_file_opts *o, rt_rows *rows, int rc, const char *name,
                  rt_task_data **out, rt_diag *err)
{
    if (rc) {
        if (err && !err->key[0])
            snprintf(err->key, sizeof err->key, "%s", rc == RT_EINVAL ? "format" : "file");
        return rc;
    }
    rt_task_data *d = rt_calloc(1, sizeof *d);
    if (!d || !(d->path = rt_strdup(name))) {
        rt_free(d);
        rt_rows_free(rows);
        return rt_diag_key(err, RT_ENOMEM, "file", "%s: out of memory", name);
    }
    d->refs = 1;
    d->rows = rows;
    d->holdout = o->holdout;
    d->rule = o->noise_rule == RT_TASK_NOISE_LABEL ? RT_TASK_NOISE_LABEL : RT_TASK_NOISE_SWAP;
    if ((rc = build(d, o, err))) {
        rt_task_data_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int rt_task_data_load(const rt_task_file_opts *o, rt_task_data **out, rt_diag *err)
{
    rt_rows *rows = NULL;
    *out = NULL;
    const char *path = o && o->path ? o->path : "";
    int rc = rt_rows_read(&rows, path, o ? o->format : RT_ROWS_AUTO, err);
    return finish(o, rows, rc, path, out, err);
}

int rt_task_data_parse(const rt_task_file_opts *o, const char *name, const char *buf, size_t n,
                       rt_task_data **out, rt_diag *err)
{
    rt_rows *rows = NULL;
    *out = NULL;
    int rc = rt_rows_parse(&rows, name, buf, n, o->format, err);
    return finish(o, rows, rc, name, out, err);
}

/* ---- accessors ---------------------------------------------------------------------- */

int rt_task_data_rows(const rt_task_data *d)
{
    return d->n;
}
int rt_task_data_count(const rt_task_data *d, rt_task_split s)
{
    return d->n_side[s == RT_TASK_HELDOUT];
}
const char *rt_task_data_prompt_column(const rt_task_data *d)
{
    return d->rows->cols[d->pcol];
}
const char *rt_task_data_answer_column(const rt_task_data *d)
{
    return d->rows->cols[d->acol];
}
const char *rt_task_data_split_column(const rt_task_data *d)
{
    return d->scol >= 0 ? d->rows->cols[d->scol] : NULL;
}
double rt_task_data_holdout(const rt_task_data *d)
{
    return d->holdout;
}
rt_rows_format rt_task_data_format(const rt_task_data *d)
{
    return d->rows->format;
}
const char *rt_task_data_path(const rt_task_data *d)
{
    return d->path;
}
uint64_t rt_task_data_digest(const rt_task_data *d)
{
    return d->digest;
}
rt_task_noise_rule rt_task_data_noise_rule(const rt_task_data *d)
{
    return d->rule;
}
const char *rt_task_noise_rule_name(rt_task_noise_rule r)
{
    return r == RT_TASK_NOISE_LABEL ? "label" : "swap";
}
int rt_task_noise_rule_parse(const char *name)
{
    if (name && !strcmp(name, "swap")) return RT_TASK_NOISE_SWAP;
    if (name && !strcmp(name, "label")) return RT_TASK_NOISE_LABEL;
    return -1;
}
int rt_task_data_vocab_size(const rt_task_data *d)
{
    return d->V;
}
const char *const *rt_task_data_tokens(const rt_task_data *d)
{
    return (const char *const *)d->tok;
}
const char *rt_task_data_vocab_name(const rt_task_data *d)
{
    return d->vocab_name;
}
int rt_task_data_P(const rt_task_data *d)
{
    return d->P;
}
int rt_task_data_T(const rt_task_data *d)
{
    return d->T;
}
const char *rt_task_data_prompt(const rt_task_data *d, int row)
{
    return rt_rows_cell(d->rows, row, d->pcol, NULL);
}
const char *rt_task_data_answer(const rt_task_data *d, int row)
{
    return rt_rows_cell(d->rows, row, d->acol, NULL);
}
int rt_task_data_line(const rt_task_data *d, int row)
{
    return d->rows->row_line[row];
}
rt_task_split rt_task_data_split_of(const rt_task_data *d, int row)
{
    return (rt_task_split)d->side[row];
}

int rt_task_data_find(const rt_task_data *d, const char *prompt)
{
    int lo = 0, hi = d->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(rt_rows_cell(d->rows, d->by_prompt[mid], d->pcol, NULL), prompt);
        if (!c) return d->by_prompt[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

void rt_task_data_encode(const rt_task_data *d, int row, int *toks)
{
    int np = d->plen[row];
    for (int i = 0; i < d->P - np; i++)
        toks[i] = RT_TOK_PAD;
    memcpy(toks + d->P - np, d->ptok + (size_t)row * RT_TASK_MAX_P, sizeof(int) * (size_t)np);
}

int rt_task_data_target(const rt_task_data *d, int row, int *ans)
{
    memcpy(ans, d->atok + (size_t)row * RT_TASK_MAX_T, sizeof(int) * (size_t)d->alen[row]);
    return d->alen[row];
}

int rt_task_data_corrupt(const rt_task_data *d, int row, int *ans)
{
    if (d->rule == RT_TASK_NOISE_LABEL) return rt_task_data_target(d, d->label[row], ans);
    return rt_task_k_swap_first(ans, rt_task_data_target(d, row, ans));
}

int rt_task_data_answer_token(const rt_task_data *d, int tok)
{
    return tok >= 0 && tok < d->V && d->ans_tok[tok];
}

int rt_task_data_n_texts(const rt_task_data *d)
{
    return d->n_texts;
}
const char *rt_task_data_text_name(const rt_task_data *d, int i)
{
    return i >= 0 && i < d->n_texts ? d->text_name[i] : NULL;
}
int rt_task_data_text_numeric(const rt_task_data *d, int i)
{
    return i >= 0 && i < d->n_texts && d->numeric[i];
}
const char *rt_task_data_text(const rt_task_data *d, int row, int i, size_t *len)
{
    return rt_rows_cell(d->rows, row, d->texts[i], len);
}
int rt_task_data_n_left_out(const rt_task_data *d)
{
    return d->n_left;
}
const char *rt_task_data_left_out(const rt_task_data *d, int i)
{
    return i >= 0 && i < d->n_left ? d->rows->cols[d->left[i]] : NULL;
}
