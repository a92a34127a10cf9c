/* rt_pref_jsonl.c: preference sets as JSONL in TRL's preference columns (rt_pref.h):
 * the writer, and a reader of flat JSON objects (one per line) whose errors name
 * NAME:LINE:COL.  Leaves out: JSON beyond one object per line (no multi-line objects),
 * chat-template columns (lists of messages), other encodings than UTF-8. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_pref.h"
#include "rt_text.h"

/* ---- writer ------------------------------------------------------------------------ */

/* a JSON string of tokens toks[0..n) (PAD written as its text: answers may hold it) */
static void put_tokens(rt_strbuf *b, const rt_task *task, const int *toks, int n)
{
    rt_strbuf_putc(b, '"');
    for (int i = 0; i < n; i++) {
        const char *s = rt_task_token(task, toks[i]);
        for (; s && *s; s++) {
            if (*s == '"' || *s == '\\') rt_strbuf_putc(b, '\\');
            rt_strbuf_putc(b, *s);
        }
    }
    rt_strbuf_putc(b, '"');
}

static void put_number(rt_strbuf *b, const char *key, double x)
{
    if (isnan(x)) return;
    if (isfinite(x))
        rt_strbuf_printf(b, ", \"%s\": %.17g", key, x);
    else
        rt_strbuf_printf(b, ", \"%s\": null", key);
}

int rt_pref_format(const rt_pref_set *s, const rt_task *task, char **text, size_t *len, rt_diag *d)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    int P = rt_task_prompt_len(task);
    for (int i = 0; i < s->n; i++) {
        const rt_pref_pair *p = &s->pairs[i];
        int start = 0; /* the prompt without its left padding */
        while (start < P && p->prompt.prompt[start] == RT_TOK_PAD)
            start++;
        rt_strbuf_puts(&b, "{\"prompt\": ");
        put_tokens(&b, task, p->prompt.prompt + start, P - start);
        rt_strbuf_puts(&b, ", \"chosen\": ");
        put_tokens(&b, task, p->chosen, p->n_chosen);
        rt_strbuf_puts(&b, ", \"rejected\": ");
        put_tokens(&b, task, p->rejected, p->n_rejected);
        put_number(&b, "margin", p->margin);
        put_number(&b, "score_chosen", p->r_chosen);
        put_number(&b, "score_rejected", p->r_rejected);
        rt_strbuf_puts(&b, "}\n");
    }
    *text = rt_strbuf_take(&b, len);
    if (!*text) return rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
    return 0;
}

int rt_pref_write(const rt_pref_set *s, const rt_task *task, const char *path, rt_diag *d)
{
    char *text;
    size_t len;
    int rc = rt_pref_format(s, task, &text, &len, d);
    if (rc) return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        rt_free(text);
        return rt_diag_set(d, RT_ENOENT, "%s: cannot open for writing", path);
    }
    size_t w = fwrite(text, 1, len, f);
    rt_free(text);
    if (fclose(f) != 0 || w != len) return rt_diag_set(d, RT_EIO, "%s: write error", path);
    return 0;
}

/* ---- reader ------------------------------------------------------------------------ */

enum { COL_PROMPT, COL_CHOSEN, COL_REJECTED, N_STR };
static const char *const str_cols[N_STR] = {"prompt", "chosen", "rejected"};
enum { NUM_MARGIN, NUM_SCORE_C, NUM_SCORE_R, N_NUM };
static const char *const num_cols[N_NUM] = {"margin", "score_chosen", "score_rejected"};

typedef struct rd {
    const rt_task *task;
    const char *name;
    const char *line; /* the current line, n bytes */
    size_t n, i;      /* its length, the read position */
    int ln;
    rt_diag *d;
    /* the decoded strings of the three columns and, per byte, its source offset */
    char *str[N_STR];
    size_t *off[N_STR];
    size_t slen[N_STR], at[N_STR]; /* length; the offset of the opening quote */
    int have[N_STR];
    double num[N_NUM];
    int have_num[N_NUM];
    char key[64];
    size_t *koff; /* scratch offsets for a key or an ignored string */
    char *kbuf;
} rd;

/* "NAME:LINE:COL: msg" at byte offset off of the line */
static int err_at(rd *r, size_t off, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int err_at(rd *r, size_t off, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int col = (int)rt_utf8_cols(r->line, off < r->n ? off : r->n) + 1;
    if (r->d) {
        r->d->line = r->ln;
        r->d->col = col;
    }
    return rt_diag_set(r->d, code, "%s:%d:%d: %s", r->name, r->ln, col, msg);
}

static void skip_ws(rd *r)
{
    while (r->i < r->n && (r->line[r->i] == ' ' || r->line[r->i] == '\t' || r->line[r->i] == '\r' ||
                           r->line[r->i] == '\n'))
        r->i++;
}

static int hex4(const char *s, size_t n, uint32_t *v)
{
    if (n < 4) return -1;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0) return -1;
        *v = *v * 16 + (uint32_t)h;
    }
    return 0;
}

/* a JSON string at r->i (the opening quote) into out (with per-byte source offsets);
 * out holds at least n bytes (a decoded string is never longer than its source) */
static int read_string(rd *r, char *out, size_t *offs, size_t *len)
{
    if (r->i >= r->n || r->line[r->i] != '"') return err_at(r, r->i, RT_EPARSE, "expected '\"'");
    size_t start = r->i++, k = 0;
    for (;;) {
        if (r->i >= r->n) return err_at(r, start, RT_EPARSE, "unterminated string");
        size_t at = r->i;
        char c = r->line[r->i++];
        if (c == '"') break;
        if (c != '\\') {
            out[k] = c;
            offs[k++] = at;
            continue;
        }
        if (r->i >= r->n) return err_at(r, start, RT_EPARSE, "unterminated string");
        char e = r->line[r->i++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *q = e ? strchr(from, e) : NULL;
        if (q) {
            out[k] = to[q - from];
            offs[k++] = at;
            continue;
        }
        uint32_t cp, lo;
        if (e != 'u' || hex4(r->line + r->i, r->n - r->i, &cp))
            return err_at(r, at, RT_EPARSE, "bad escape '\\%c'", e ? e : '0');
        r->i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair */
            if (r->n - r->i < 6 || r->line[r->i] != '\\' || r->line[r->i + 1] != 'u' ||
                hex4(r->line + r->i + 2, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return err_at(r, at, RT_EPARSE, "bad escape '\\u' (unpaired surrogate)");
            r->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        char u[4];
        size_t m = rt_utf8_encode(cp, u);
        for (size_t j = 0; j < m; j++) {
            out[k] = u[j];
            offs[k++] = at;
        }
    }
    out[k] = 0;
    *len = k;
    return 0;
}

/* a JSON number at r->i: 1 and *v if there is one (r->i moved past it), else 0 */
static int read_number(rd *r, double *v)
{
    const char *s = r->line;
    size_t i = r->i, n = r->n;
    if (i < n && s[i] == '-') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        if (++i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    char tmp[64];
    size_t m = i - r->i;
    if (m >= sizeof tmp) return 0;
    memcpy(tmp, s + r->i, m);
    tmp[m] = 0;
    *v = strtod(tmp, NULL);
    r->i = i;
    return 1;
}

static int word(rd *r, const char *w)
{
    size_t m = strlen(w);
    if (r->n - r->i >= m && memcmp(r->line + r->i, w, m) == 0) {
        r->i += m;
        return 1;
    }
    return 0;
}

/* skips any JSON value (an ignored column), nesting at most 64 deep */
static int skip_value(rd *r, int depth)
{
    skip_ws(r);
    size_t at = r->i;
    if (depth > 64) return err_at(r, at, RT_ELIMIT, "values nested more than 64 deep");
    double v;
    size_t len;
    if (r->i < r->n && r->line[r->i] == '"') return read_string(r, r->kbuf, r->koff, &len);
    if (read_number(r, &v) || word(r, "true") || word(r, "false") || word(r, "null")) return 0;
    if (r->i < r->n && (r->line[r->i] == '[' || r->line[r->i] == '{')) {
        char close = r->line[r->i] == '[' ? ']' : '}';
        r->i++;
        skip_ws(r);
        if (r->i < r->n && r->line[r->i] == close) return r->i++, 0;
        for (;;) {
            int rc;
            if (close == '}') {
                skip_ws(r);
                if ((rc = read_string(r, r->kbuf, r->koff, &len))) return rc;
                skip_ws(r);
                if (r->i >= r->n || r->line[r->i] != ':')
                    return err_at(r, r->i, RT_EPARSE, "expected ':'");
                r->i++;
            }
            if ((rc = skip_value(r, depth + 1))) return rc;
            skip_ws(r);
            if (r->i < r->n && r->line[r->i] == ',') {
                r->i++;
                continue;
            }
            if (r->i < r->n && r->line[r->i] == close) return r->i++, 0;
            return err_at(r, r->i, RT_EPARSE, "expected ',' or '%c'", close);
        }
    }
    return err_at(r, at, RT_EPARSE, "expected a value");
}

/* the object of one line into r's columns */
static int read_object(rd *r, size_t *close)
{
    memset(r->have, 0, sizeof r->have);
    memset(r->have_num, 0, sizeof r->have_num);
    skip_ws(r);
    if (r->i >= r->n || r->line[r->i] != '{') return err_at(r, r->i, RT_EPARSE, "expected '{'");
    r->i++;
    skip_ws(r);
    if (r->i < r->n && r->line[r->i] == '}') {
        *close = r->i++;
    } else {
        for (;;) {
            int rc;
            size_t klen;
            skip_ws(r);
            size_t kat = r->i;
            if ((rc = read_string(r, r->kbuf, r->koff, &klen))) return rc;
            skip_ws(r);
            if (r->i >= r->n || r->line[r->i] != ':')
                return err_at(r, r->i, RT_EPARSE, "expected ':'");
            r->i++;
            skip_ws(r);
            int s = -1, u = -1;
            for (int c = 0; c < N_STR; c++)
                if (strlen(str_cols[c]) == klen && memcmp(r->kbuf, str_cols[c], klen) == 0) s = c;
            for (int c = 0; c < N_NUM; c++)
                if (strlen(num_cols[c]) == klen && memcmp(r->kbuf, num_cols[c], klen) == 0) u = c;
            if ((s >= 0 && r->have[s]) || (u >= 0 && r->have_num[u]))
                return err_at(r, kat, RT_EPARSE, "duplicate column '%s'",
                              s >= 0 ? str_cols[s] : num_cols[u]);
            if (s >= 0) {
                if (r->i >= r->n || r->line[r->i] != '"')
                    return err_at(r, r->i, RT_EPARSE, "column '%s' must be a string", str_cols[s]);
                r->at[s] = r->i;
                if ((rc = read_string(r, r->str[s], r->off[s], &r->slen[s]))) return rc;
                r->have[s] = 1;
            } else if (u >= 0) {
                if (word(r, "null"))
                    r->num[u] = NAN;
                else if (!read_number(r, &r->num[u]))
                    return err_at(r, r->i, RT_EPARSE, "column '%s' must be a number", num_cols[u]);
                r->have_num[u] = 1;
            } else if ((rc = skip_value(r, 1))) {
                return rc;
            }
            skip_ws(r);
            if (r->i < r->n && r->line[r->i] == ',') {
                r->i++;
                continue;
            }
            if (r->i < r->n && r->line[r->i] == '}') {
                *close = r->i++;
                break;
            }
            return err_at(r, r->i, RT_EPARSE, "expected ',' or '}'");
        }
    }
    skip_ws(r);
    if (r->i < r->n) return err_at(r, r->i, RT_EPARSE, "characters after the object");
    return 0;
}

/* the task's tokens of column c's text into toks (at most cap kept); *n = all tokens */
static int tokenize(rd *r, int c, int *toks, int cap, int *n)
{
    const char *s = r->str[c];
    size_t len = r->slen[c];
    *n = 0;
    for (size_t i = 0; i < len;) {
        size_t flen = 0;
        int found = rt_task_match_token(r->task, s + i, len - i, &flen);
        if (found < 0 && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
            i++; /* whitespace that is not a token of the vocabulary (a file task's may be) */
            continue;
        }
        if (found < 0) {
            size_t e = i;
            while (e < len && e - i < 8 && s[e] != ' ' && s[e] != '\t')
                e++;
            e = i + rt_utf8_cut(s + i, len - i, e - i);
            if (e == i) e = i + 1;
            return err_at(r, r->off[c][i], RT_EPARSE,
                          "token '%.*s' is not in the vocabulary of task %s", (int)(e - i), s + i,
                          rt_task_kind_name(rt_task_kind_of(r->task)));
        }
        if (*n < cap) toks[*n] = found;
        (*n)++;
        i += flen;
    }
    return 0;
}

static int read_answer(rd *r, int c, int *toks, int *n)
{
    int T = rt_task_answer_max(r->task), all[RT_TASK_MAX_T + 1];
    int rc = tokenize(r, c, all, T + 1, n);
    if (rc) return rc;
    if (*n == 0) return err_at(r, r->at[c], RT_EPARSE, "empty answer in column '%s'", str_cols[c]);
    if (*n > T)
        return err_at(r, r->at[c], RT_EPARSE,
                      "answer in column '%s' has %d tokens, more than task %s's %d (EOS included)",
                      str_cols[c], *n, rt_task_kind_name(rt_task_kind_of(r->task)), T);
    for (int t = 0; t + 1 < *n; t++)
        if (all[t] == RT_TOK_EOS)
            return err_at(r, r->at[c], RT_EPARSE, "tokens after <eos> in column '%s'", str_cols[c]);
    memcpy(toks, all, sizeof(int) * (size_t)*n);
    return 0;
}

/* one line into pair p */
static int read_line(rd *r, rt_pref_pair *p)
{
    size_t close = 0;
    int rc = read_object(r, &close);
    if (rc) return rc;
    for (int c = 0; c < N_STR; c++)
        if (!r->have[c]) return err_at(r, close, RT_EPARSE, "missing column '%s'", str_cols[c]);
    memset(p, 0, sizeof *p);
    int toks[RT_TASK_MAX_P + 1], n;
    if ((rc = tokenize(r, COL_PROMPT, toks, RT_TASK_MAX_P + 1, &n))) return rc;
    rt_diag e;
    rt_diag_clear(&e);
    if (rt_task_sample_from_text(r->task, r->str[COL_PROMPT], &p->prompt, &e))
        return err_at(r, r->at[COL_PROMPT], RT_EPARSE, "%s", e.msg);
    p->split = rt_task_split_of(r->task, &p->prompt);
    if ((rc = read_answer(r, COL_CHOSEN, p->chosen, &p->n_chosen))) return rc;
    if ((rc = read_answer(r, COL_REJECTED, p->rejected, &p->n_rejected))) return rc;
    p->margin = r->have_num[NUM_MARGIN] ? r->num[NUM_MARGIN] : NAN;
    p->r_chosen = r->have_num[NUM_SCORE_C] ? r->num[NUM_SCORE_C] : NAN;
    p->r_rejected = r->have_num[NUM_SCORE_R] ? r->num[NUM_SCORE_R] : NAN;
    p->tie = !isnan(p->r_chosen) && p->r_chosen == p->r_rejected;
    return 0;
}

int rt_pref_parse(const rt_task *task, const char *text, size_t len, const char *name,
                  rt_pref_set **out, rt_diag *d)
{
    *out = NULL;
    rd r;
    memset(&r, 0, sizeof r);
    r.task = task;
    r.name = name ? name : "preferences";
    r.d = d;
    int rc = 0, cap = 0;
    rt_pref_set *set = rt_calloc(1, sizeof *set);
    char *mem = rt_malloc((N_STR + 1) * (RT_PREF_MAX_LINE + 1));
    size_t *offs = rt_malloc((N_STR + 1) * (RT_PREF_MAX_LINE + 1) * sizeof(size_t));
    if (!set || !mem || !offs) {
        rc = rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
        goto done;
    }
    for (int c = 0; c <= N_STR; c++) {
        char *b = mem + (size_t)c * (RT_PREF_MAX_LINE + 1);
        size_t *o = offs + (size_t)c * (RT_PREF_MAX_LINE + 1);
        if (c < N_STR)
            r.str[c] = b, r.off[c] = o;
        else
            r.kbuf = b, r.koff = o;
    }
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        r.ln++;
        r.line = text + pos;
        r.n = end - pos;
        r.i = 0;
        pos = nl ? end + 1 : len;
        if (r.n > RT_PREF_MAX_LINE) {
            rc = err_at(&r, RT_PREF_MAX_LINE, RT_ELIMIT, "line longer than %d bytes",
                        RT_PREF_MAX_LINE);
            goto done;
        }
        skip_ws(&r);
        if (r.i == r.n) {
            rc = err_at(&r, 0, RT_EPARSE, "empty line");
            goto done;
        }
        r.i = 0;
        if (set->n == cap) {
            if (cap >= RT_PREF_MAX_PAIRS) {
                rc = err_at(&r, 0, RT_ELIMIT, "more than %d pairs", RT_PREF_MAX_PAIRS);
                goto done;
            }
            int nc = cap ? 2 * cap : 64;
            if (nc > RT_PREF_MAX_PAIRS) nc = RT_PREF_MAX_PAIRS;
            rt_pref_pair *np = rt_realloc(set->pairs, sizeof *np * (size_t)nc);
            if (!np) {
                rc = rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
                goto done;
            }
            set->pairs = np;
            cap = nc;
        }
        if ((rc = read_line(&r, &set->pairs[set->n]))) goto done;
        set->n++;
    }
    if (set->n == 0) {
        rc = rt_diag_set(d, RT_EINVAL, "%s: no preference pairs", r.name);
        goto done;
    }
    /* train pairs first, each split in file order (a stable partition) */
    rt_pref_pair *sorted = rt_malloc(sizeof *sorted * (size_t)set->n);
    if (!sorted) {
        rc = rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
        goto done;
    }
    int k = 0;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < set->n; i++)
            if ((int)set->pairs[i].split == s) sorted[k++] = set->pairs[i];
    for (int i = 0; i < set->n; i++)
        set->n_train += set->pairs[i].split == RT_TASK_TRAIN;
    rt_free(set->pairs);
    set->pairs = sorted;
done:
    rt_free(mem);
    rt_free(offs);
    if (rc)
        rt_pref_free(set);
    else
        *out = set;
    return rc;
}

int rt_pref_read(const rt_task *task, const char *path, const char *name, rt_pref_set **out,
                 rt_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return rt_diag_set(d, RT_ENOENT, "%s: cannot open", path);
    rt_strbuf b;
    rt_strbuf_init(&b);
    char chunk[65536];
    size_t m;
    while ((m = fread(chunk, 1, sizeof chunk, f)) > 0)
        rt_strbuf_append(&b, chunk, m);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        rt_strbuf_free(&b);
        return rt_diag_set(d, RT_EIO, "%s: read error", path);
    }
    size_t len;
    char *text = rt_strbuf_take(&b, &len);
    if (!text) return rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
    int rc = rt_pref_parse(task, text, len, name ? name : path, out, d);
    rt_free(text);
    return rc;
}
