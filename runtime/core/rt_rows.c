/* rt_rows.c: the JSONL / verl / CSV / TSV readers of rt_rows.h.  One pass over the
 * buffer collects cells (row, column, text offset) into a list and the text into one
 * buffer; the grid is laid out at the end, when the column count is known. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_alloc.h"
#include "rt_rows.h"
#include "rt_text.h"

typedef struct cellrec {
    int row, col;
    size_t off, len;
    unsigned char kind;
    int line, cp;
} cellrec;

typedef struct P {
    const char *name, *b;
    size_t n, i, lim; /* buffer, read position, end of the current JSONL line */
    rt_rows_format fmt;
    rt_diag *d;
    rt_strbuf text;
    cellrec *cells;
    size_t nc, capc;
    char **names;
    int ncols;
    int *seen; /* per column: the last row that set it */
    int nrows, caprows;
    int *row_line;
    size_t wo; /* where(): a cached position (offset, its line and line start) */
    int wl;
    size_t wls;
} P;

/* line and code-point column (1-based) of byte offset off */
static void where(P *p, size_t off, int *line, int *col)
{
    if (off > p->n) off = p->n;
    if (off < p->wo) p->wo = 0, p->wl = 1, p->wls = 0;
    for (size_t k = p->wo; k < off; k++)
        if (p->b[k] == '\n') p->wl++, p->wls = k + 1;
    p->wo = off;
    *line = p->wl;
    *col = (int)rt_utf8_cols(p->b + p->wls, off - p->wls) + 1;
}

static int err_at(P *p, size_t off, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int err_at(P *p, size_t off, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    where(p, off, &line, &col);
    if (p->d) p->d->line = line, p->d->col = col;
    return rt_diag_set(p->d, code, "%s:%d:%d: %s", p->name, line, col, msg);
}

static int nomem(P *p)
{
    return rt_diag_set(p->d, RT_ENOMEM, "%s: out of memory", p->name);
}

/* ---- columns, rows, cells ------------------------------------------------------- */

static int find_col(const P *p, const char *s, size_t n)
{
    for (int c = 0; c < p->ncols; c++)
        if (strlen(p->names[c]) == n && memcmp(p->names[c], s, n) == 0) return c;
    return -1;
}

/* the index of column s[0..n) (created if new); at: where the name is, for errors */
static int col_of(P *p, const char *s, size_t n, size_t at, int *out)
{
    int c = find_col(p, s, n);
    if (c >= 0) return *out = c, 0;
    if (n == 0) return err_at(p, at, RT_EPARSE, "empty column name");
    if (n > RT_ROWS_MAX_NAME)
        return err_at(p, at, RT_ELIMIT,
                      "column name of %zu bytes, above the cap of %d (RT_ROWS_MAX_NAME)", n,
                      RT_ROWS_MAX_NAME);
    if (p->ncols >= RT_ROWS_MAX_COLS)
        return err_at(p, at, RT_ELIMIT, "more than %d columns (RT_ROWS_MAX_COLS)",
                      RT_ROWS_MAX_COLS);
    char **nn = rt_realloc(p->names, (size_t)(p->ncols + 1) * sizeof *nn);
    if (!nn) return nomem(p);
    p->names = nn;
    int *ns = rt_realloc(p->seen, (size_t)(p->ncols + 1) * sizeof *ns);
    if (!ns) return nomem(p);
    p->seen = ns;
    char *name = rt_malloc(n + 1);
    if (!name) return nomem(p);
    memcpy(name, s, n);
    name[n] = 0;
    p->names[p->ncols] = name;
    p->seen[p->ncols] = -1;
    *out = p->ncols++;
    return 0;
}

static int new_row(P *p, size_t at)
{
    if (p->nrows >= RT_ROWS_MAX_ROWS)
        return err_at(p, at, RT_ELIMIT, "more than %d rows (RT_ROWS_MAX_ROWS)", RT_ROWS_MAX_ROWS);
    if (p->nrows == p->caprows) {
        int cap = p->caprows ? 2 * p->caprows : 64;
        int *rl = rt_realloc(p->row_line, (size_t)cap * sizeof *rl);
        if (!rl) return nomem(p);
        p->row_line = rl, p->caprows = cap;
    }
    int line, col;
    where(p, at, &line, &col);
    p->row_line[p->nrows++] = line;
    return 0;
}

/* the cell text[off..off+len) of column c in the current row; at: the value's position,
 * kat: the key's (duplicate errors) */
static int add_cell(P *p, int c, size_t off, size_t len, int kind, size_t at, size_t kat)
{
    int row = p->nrows - 1;
    if (p->seen[c] == row) return err_at(p, kat, RT_EPARSE, "duplicate column '%s'", p->names[c]);
    if (len > RT_ROWS_MAX_CELL)
        return err_at(p, at, RT_ELIMIT, "cell of %zu bytes, above the cap of %d (RT_ROWS_MAX_CELL)",
                      len, RT_ROWS_MAX_CELL);
    if (p->nc == p->capc) {
        size_t cap = p->capc ? 2 * p->capc : 256;
        cellrec *cs = rt_realloc(p->cells, cap * sizeof *cs);
        if (!cs) return nomem(p);
        p->cells = cs, p->capc = cap;
    }
    p->seen[c] = row;
    cellrec *r = &p->cells[p->nc++];
    r->row = row, r->col = c, r->off = off, r->len = len, r->kind = (unsigned char)kind;
    where(p, at, &r->line, &r->cp);
    return 0;
}

/* ends a cell's text with its NUL */
static int text_end(P *p)
{
    if (rt_strbuf_putc(&p->text, 0)) return nomem(p);
    return 0;
}

/* ---- JSON ----------------------------------------------------------------------- */

static void skip_ws(P *p)
{
    while (p->i < p->lim && (p->b[p->i] == ' ' || p->b[p->i] == '\t' || p->b[p->i] == '\r'))
        p->i++;
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

/* the JSON string at p->i (its opening quote) appended to out; ENOMEM or ETRUNC from
 * out are returned as they are (the caller words them) */
static int json_string(P *p, rt_strbuf *out)
{
    if (p->i >= p->lim || p->b[p->i] != '"') return err_at(p, p->i, RT_EPARSE, "expected '\"'");
    size_t start = p->i++;
    for (;;) {
        if (p->i >= p->lim) return err_at(p, start, RT_EPARSE, "unterminated string");
        size_t at = p->i;
        char c = p->b[p->i++];
        if (c == '"') return 0;
        if ((unsigned char)c < 0x20)
            return err_at(p, at, RT_EPARSE,
                          "control character 0x%02X in a string (write it as an escape)",
                          (unsigned)(unsigned char)c);
        int rc;
        if (c != '\\') {
            if ((rc = rt_strbuf_putc(out, c))) return rc;
            continue;
        }
        if (p->i >= p->lim) return err_at(p, start, RT_EPARSE, "unterminated string");
        char e = p->b[p->i++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *q = e ? strchr(from, e) : NULL;
        if (q) {
            if ((rc = rt_strbuf_putc(out, to[q - from]))) return rc;
            continue;
        }
        uint32_t cp, lo;
        if (e != 'u' || hex4(p->b + p->i, p->lim - p->i, &cp)) {
            if ((unsigned char)e < 0x80 && e >= 0x20)
                return err_at(p, at, RT_EPARSE, "bad escape '\\%c'", e);
            return err_at(p, at, RT_EPARSE, "bad escape");
        }
        p->i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return err_at(p, at, RT_EPARSE, "bad escape '\\u' (unpaired surrogate)");
        if (cp >= 0xD800 && cp < 0xDC00) {
            if (p->lim - p->i < 6 || p->b[p->i] != '\\' || p->b[p->i + 1] != 'u' ||
                hex4(p->b + p->i + 2, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return err_at(p, at, RT_EPARSE, "bad escape '\\u' (unpaired surrogate)");
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) return err_at(p, at, RT_EPARSE, "NUL character (\\u0000) in a string");
        char u[4];
        size_t m = rt_utf8_encode(cp, u);
        if ((rc = rt_strbuf_append(out, u, m))) return rc;
    }
}

/* bytes of the JSON number at s[0..n), 0 if none starts there */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        if (i + 1 >= n || s[i + 1] < '0' || s[i + 1] > '9') return 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j >= n || s[j] < '0' || s[j] > '9') return 0;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        i = j;
    }
    return i;
}

int rt_rows_is_number(const char *s, size_t n)
{
    return n > 0 && number_len(s, n) == n;
}

/* a string value into the text buffer: *off, *len */
static int string_cell(P *p, size_t *off, size_t *len)
{
    *off = p->text.len;
    int rc = json_string(p, &p->text);
    if (rc == RT_ENOMEM) return nomem(p);
    if (rc) return rc;
    *len = p->text.len - *off;
    return text_end(p);
}

/* a key into buf (at most RT_ROWS_MAX_NAME bytes after the prefix already in it) */
static int json_key(P *p, char *buf, size_t cap, size_t *n)
{
    char kb[RT_ROWS_MAX_NAME + 2];
    rt_strbuf k;
    rt_strbuf_init_fixed(&k, kb, sizeof kb);
    size_t at = p->i;
    int rc = json_string(p, &k);
    if (rc == RT_ETRUNC || (rc == 0 && *n + k.len > RT_ROWS_MAX_NAME) || *n + k.len >= cap)
        return err_at(p, at, RT_ELIMIT, "column name above the cap of %d bytes (RT_ROWS_MAX_NAME)",
                      RT_ROWS_MAX_NAME);
    if (rc) return rc;
    memcpy(buf + *n, kb, k.len);
    *n += k.len;
    buf[*n] = 0;
    return 0;
}

enum { ROLE_USER = 1, ROLE_ASSISTANT = 2, MAX_MSG = 8 };

typedef struct msg {
    int role;
    size_t off, len, at;
} msg;

/* a list of {"role", "content"} objects at p->i ('['); what names the column for
 * errors, accepted the wording of what is accepted */
static int messages(P *p, const char *what, const char *accepted, msg *m, int *nm)
{
    size_t open = p->i++;
    *nm = 0;
    skip_ws(p);
    if (p->i < p->lim && p->b[p->i] == ']') {
        p->i++;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (*nm >= MAX_MSG)
            return err_at(p, p->i, RT_EPARSE, "'%s' has more than %d messages; %s", what, MAX_MSG,
                          accepted);
        msg *g = &m[(*nm)++];
        g->role = 0, g->len = 0, g->at = p->i;
        int has_content = 0;
        if (p->i >= p->lim || p->b[p->i] != '{')
            return err_at(p, p->i, RT_EPARSE,
                          "expected a message {\"role\": ..., \"content\": ...} in '%s'", what);
        p->i++;
        skip_ws(p);
        int first = 1;
        while (p->i < p->lim && p->b[p->i] != '}') {
            if (!first) {
                if (p->b[p->i] != ',')
                    return err_at(p, p->i, RT_EPARSE, "expected ',' or '}' in a message");
                p->i++;
                skip_ws(p);
            }
            first = 0;
            char key[RT_ROWS_MAX_NAME + 1];
            size_t kn = 0, kat = p->i;
            int rc = json_key(p, key, sizeof key, &kn);
            if (rc) return rc;
            skip_ws(p);
            if (p->i >= p->lim || p->b[p->i] != ':')
                return err_at(p, p->i, RT_EPARSE, "expected ':' after the key");
            p->i++;
            skip_ws(p);
            size_t vat = p->i;
            if (kn == 4 && !memcmp(key, "role", 4)) {
                char role[16];
                size_t rn = 0;
                if (p->i >= p->lim || p->b[p->i] != '"')
                    return err_at(p, vat, RT_EPARSE, "a message's \"role\" must be a string");
                rc = json_key(p, role, sizeof role, &rn);
                if (rc == RT_ELIMIT)
                    return err_at(p, vat, RT_EPARSE, "a role of more than 15 bytes in '%s'; %s",
                                  what, accepted);
                if (rc) return rc;
                g->role = rn == 4 && !memcmp(role, "user", 4)        ? ROLE_USER
                          : rn == 9 && !memcmp(role, "assistant", 9) ? ROLE_ASSISTANT
                                                                     : -1;
                if (g->role < 0)
                    return err_at(p, vat, RT_EPARSE, "role '%.*s' in '%s'; %s",
                                  (int)(rn < 16 ? rn : 15), role, what, accepted);
            } else if (kn == 7 && !memcmp(key, "content", 7)) {
                if (p->i >= p->lim || p->b[p->i] != '"')
                    return err_at(p, vat, RT_EPARSE, "a message's \"content\" must be a string");
                if ((rc = string_cell(p, &g->off, &g->len))) return rc;
                g->at = vat;
                has_content = 1;
            } else {
                return err_at(
                    p, kat, RT_EPARSE,
                    "unexpected key '%.*s' in a message (a message has \"role\" and \"content\")",
                    (int)kn, key);
            }
            skip_ws(p);
        }
        if (p->i >= p->lim) return err_at(p, open, RT_EPARSE, "unterminated list '%s'", what);
        p->i++;
        if (!g->role || !has_content)
            return err_at(p, p->i - 1, RT_EPARSE, "a message without \"%s\"",
                          g->role ? "content" : "role");
        skip_ws(p);
        if (p->i < p->lim && p->b[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->lim && p->b[p->i] == ']') {
            p->i++;
            return 0;
        }
        return err_at(p, p->i, RT_EPARSE, "expected ',' or ']' in '%s'", what);
    }
}

static int named_cell(P *p, const char *name, const msg *g, size_t kat)
{
    int c, rc = col_of(p, name, strlen(name), kat, &c);
    if (rc) return rc;
    return add_cell(p, c, g->off, g->len, RT_CELL_STRING, g->at, kat);
}

static const char *const msgs_accepted =
    "accepted: exactly [{\"role\": \"user\", \"content\": ...}, {\"role\": \"assistant\", "
    "\"content\": "
    "...}] (chat-free: one user turn, then one assistant turn)";
static const char *const verl_accepted =
    "accepted: a string or [{\"role\": \"user\", \"content\": ...}] (one user turn)";

static int object(P *p, char *name, size_t plen, int depth);

/* the value of column name[0..nlen) at p->i; kat: where its key is */
static int value(P *p, char *name, size_t nlen, int depth, size_t kat)
{
    size_t at = p->i;
    if (at >= p->lim) return err_at(p, at, RT_EPARSE, "expected a value");
    char c = p->b[at];
    int col, rc;
    size_t off = 0, len = 0;
    if (c == '{') {
        if (depth >= RT_ROWS_MAX_DEPTH)
            return err_at(p, at, RT_ELIMIT, "objects nested deeper than %d (RT_ROWS_MAX_DEPTH)",
                          RT_ROWS_MAX_DEPTH);
        return object(p, name, nlen, depth + 1);
    }
    if (c == '[') {
        int verl = p->fmt == RT_ROWS_VERL;
        if (depth == 1 && nlen == 8 && !memcmp(name, "messages", 8)) {
            msg m[MAX_MSG];
            int nm;
            if ((rc = messages(p, "messages", msgs_accepted, m, &nm))) return rc;
            if (nm != 2 || m[0].role != ROLE_USER || m[1].role != ROLE_ASSISTANT)
                return err_at(p, at, RT_EPARSE, "'messages' with %d message%s; %s", nm,
                              nm == 1 ? "" : "s", msgs_accepted);
            if ((rc = named_cell(p, "prompt", &m[0], kat))) return rc;
            return named_cell(p, "completion", &m[1], kat);
        }
        if (verl && depth == 1 && nlen == 6 && !memcmp(name, "prompt", 6)) {
            msg m[MAX_MSG];
            int nm;
            if ((rc = messages(p, "prompt", verl_accepted, m, &nm))) return rc;
            if (nm != 1 || m[0].role != ROLE_USER)
                return err_at(p, at, RT_EPARSE, "'prompt' with %d message%s; %s", nm,
                              nm == 1 ? "" : "s", verl_accepted);
            return named_cell(p, "prompt", &m[0], kat);
        }
        return err_at(p, at, RT_EPARSE,
                      "a list in '%.*s' (lists are read only as TRL's 'messages'%s)", (int)nlen,
                      name, verl ? " and verl's 'prompt'" : "");
    }
    /* verl's renames */
    const char *cname = name;
    size_t cn = nlen;
    if (p->fmt == RT_ROWS_VERL) {
        if (nlen == 25 && !memcmp(name, "reward_model.ground_truth", 25)) cname = "answer", cn = 6;
        if (nlen == 11 && !memcmp(name, "data_source", 11)) cname = "domain", cn = 6;
    }
    if ((rc = col_of(p, cname, cn, kat, &col))) return rc;
    if (c == '"') {
        if ((rc = string_cell(p, &off, &len))) return rc;
        return add_cell(p, col, off, len, RT_CELL_STRING, at, kat);
    }
    int kind;
    size_t n = number_len(p->b + at, p->lim - at);
    if (n)
        kind = RT_CELL_NUMBER;
    else if (p->lim - at >= 4 && !memcmp(p->b + at, "true", 4))
        kind = RT_CELL_BOOL, n = 4;
    else if (p->lim - at >= 5 && !memcmp(p->b + at, "false", 5))
        kind = RT_CELL_BOOL, n = 5;
    else if (p->lim - at >= 4 && !memcmp(p->b + at, "null", 4))
        kind = RT_CELL_NULL, n = 4;
    else
        return err_at(p, at, RT_EPARSE,
                      "expected a value (a string, number, true, false, null or object)");
    p->i += n;
    off = p->text.len;
    len = kind == RT_CELL_NULL ? 0 : n;
    if (rt_strbuf_append(&p->text, p->b + at, len)) return nomem(p);
    if ((rc = text_end(p))) return rc;
    return add_cell(p, col, off, len, kind, at, kat);
}

/* an object at p->i ('{'), its keys prefixed with name[0..plen) and a dot */
static int object(P *p, char *name, size_t plen, int depth)
{
    p->i++;
    skip_ws(p);
    if (p->i < p->lim && p->b[p->i] == '}') {
        p->i++;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (p->i >= p->lim || p->b[p->i] != '"')
            return err_at(p, p->i, RT_EPARSE,
                          p->i >= p->lim ? "expected a key (unclosed '{')"
                                         : "expected a key (a string)");
        size_t n = plen, kat = p->i;
        if (plen) {
            if (plen + 1 > RT_ROWS_MAX_NAME)
                return err_at(p, kat, RT_ELIMIT,
                              "column name above the cap of %d bytes (RT_ROWS_MAX_NAME)",
                              RT_ROWS_MAX_NAME);
            name[n++] = '.';
        }
        int rc = json_key(p, name, RT_ROWS_MAX_NAME + 2, &n);
        if (rc) return rc;
        skip_ws(p);
        if (p->i >= p->lim || p->b[p->i] != ':')
            return err_at(p, p->i, RT_EPARSE, "expected ':' after the key");
        p->i++;
        skip_ws(p);
        if ((rc = value(p, name, n, depth, kat))) return rc;
        skip_ws(p);
        if (p->i < p->lim && p->b[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->lim && p->b[p->i] == '}') {
            p->i++;
            return 0;
        }
        return err_at(p, p->i, RT_EPARSE, "expected ',' or '}'");
    }
}

static int need_col(P *p, const char *name, const char *orig, size_t ls)
{
    int c = find_col(p, name, strlen(name));
    if (c < 0 || p->seen[c] != p->nrows - 1)
        return err_at(p, ls, RT_EPARSE, "verl row without '%s'", orig);
    return 0;
}

static int parse_jsonl(P *p)
{
    size_t ls = p->i;
    while (ls < p->n) {
        const char *nl = memchr(p->b + ls, '\n', p->n - ls);
        size_t le = nl ? (size_t)(nl - p->b) : p->n;
        p->lim = le;
        p->i = ls;
        if (le - ls > RT_ROWS_MAX_ROW)
            return err_at(p, ls, RT_ELIMIT,
                          "line of %zu bytes, above the cap of %d (RT_ROWS_MAX_ROW)", le - ls,
                          RT_ROWS_MAX_ROW);
        skip_ws(p);
        if (p->i == le)
            return err_at(p, ls, RT_EPARSE, "empty line (JSONL holds one object per line)");
        if (p->b[p->i] != '{')
            return err_at(p, p->i, RT_EPARSE, "expected '{' (one JSON object per line)");
        int rc = new_row(p, ls);
        if (rc) return rc;
        char name[RT_ROWS_MAX_NAME + 2];
        if ((rc = object(p, name, 0, 1))) return rc;
        skip_ws(p);
        if (p->i < le)
            return err_at(p, p->i, RT_EPARSE, "text after the object (one JSON object per line)");
        if (p->fmt == RT_ROWS_VERL) {
            if ((rc = need_col(p, "prompt", "prompt", ls))) return rc;
            if ((rc = need_col(p, "answer", "reward_model.ground_truth", ls))) return rc;
        }
        ls = le + 1;
    }
    return 0;
}

/* ---- CSV and TSV ------------------------------------------------------------------ */

/* one field at p->i into the text buffer; *eol set when the record ends after it */
static int csv_field(P *p, int tsv, size_t *off, size_t *len, int *eol)
{
    char sep = tsv ? '\t' : ',';
    *off = p->text.len;
    size_t at = p->i;
    if (!tsv && p->i < p->n && p->b[p->i] == '"') {
        p->i++;
        for (;;) {
            if (p->i >= p->n) return err_at(p, at, RT_EPARSE, "unterminated quoted field");
            char c = p->b[p->i];
            if (c == '"') {
                if (p->i + 1 < p->n && p->b[p->i + 1] == '"') {
                    if (rt_strbuf_putc(&p->text, '"')) return nomem(p);
                    p->i += 2;
                    continue;
                }
                p->i++;
                break;
            }
            if (rt_strbuf_putc(&p->text, c)) return nomem(p);
            p->i++;
        }
        if (p->i < p->n && p->b[p->i] != sep && p->b[p->i] != '\n' &&
            !(p->b[p->i] == '\r' && p->i + 1 < p->n && p->b[p->i + 1] == '\n'))
            return err_at(p, p->i, RT_EPARSE,
                          "expected ',' or the end of the line after a closing quote");
    } else {
        while (p->i < p->n) {
            char c = p->b[p->i];
            if (c == sep || c == '\n' || (c == '\r' && p->i + 1 < p->n && p->b[p->i + 1] == '\n'))
                break;
            if (c == '"' && !tsv)
                return err_at(
                    p, p->i, RT_EPARSE,
                    "'\"' in an unquoted field (quote the whole field and double the quote)");
            if (tsv && c == '\\' && p->i + 1 < p->n) {
                const char *e = strchr("tnr\\", p->b[p->i + 1]);
                if (e && p->b[p->i + 1]) {
                    if (rt_strbuf_putc(&p->text, "\t\n\r\\"[e - "tnr\\"])) return nomem(p);
                    p->i += 2;
                    continue;
                }
            }
            if (rt_strbuf_putc(&p->text, c)) return nomem(p);
            p->i++;
        }
    }
    *len = p->text.len - *off;
    if (p->i >= p->n) {
        *eol = 1;
    } else if (p->b[p->i] == sep) {
        *eol = 0;
        p->i++;
    } else {
        *eol = 1;
        p->i += p->b[p->i] == '\r' ? 2 : 1;
    }
    return text_end(p);
}

static int parse_csv(P *p, int tsv)
{
    int rc, eol = 0;
    /* the header */
    while (!eol) {
        size_t off, len, at = p->i;
        if ((rc = csv_field(p, tsv, &off, &len, &eol))) return rc;
        int before = p->ncols, c;
        if ((rc = col_of(p, p->text.s + off, len, at, &c))) return rc;
        if (p->ncols == before)
            return err_at(p, at, RT_EPARSE, "duplicate column '%s'", p->names[c]);
    }
    if (p->i - 0 > RT_ROWS_MAX_ROW)
        return err_at(p, 0, RT_ELIMIT, "header of %zu bytes, above the cap of %d (RT_ROWS_MAX_ROW)",
                      p->i, RT_ROWS_MAX_ROW);
    if (p->i >= p->n) return err_at(p, p->i, RT_EPARSE, "no rows after the header");
    while (p->i < p->n) {
        size_t rs = p->i;
        if ((rc = new_row(p, rs))) return rc;
        int k = 0;
        eol = 0;
        while (!eol) {
            size_t off, len, at = p->i;
            if ((rc = csv_field(p, tsv, &off, &len, &eol))) return rc;
            if (k < p->ncols && (rc = add_cell(p, k, off, len, RT_CELL_TEXT, at, at))) return rc;
            k++;
            if (p->i - rs > RT_ROWS_MAX_ROW)
                return err_at(p, rs, RT_ELIMIT, "row of more than %d bytes (RT_ROWS_MAX_ROW)",
                              RT_ROWS_MAX_ROW);
        }
        if (k != p->ncols)
            return err_at(p, rs, RT_EPARSE, "row has %d field%s, the header %d", k,
                          k == 1 ? "" : "s", p->ncols);
    }
    return 0;
}

/* ---- the table -------------------------------------------------------------------- */

rt_rows_format rt_rows_format_of_path(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    static const struct {
        const char *ext;
        rt_rows_format f;
    } ex[] = {{".jsonl", RT_ROWS_JSONL}, {".csv", RT_ROWS_CSV}, {".tsv", RT_ROWS_TSV}};
    for (size_t k = 0; k < sizeof ex / sizeof ex[0]; k++) {
        size_t m = strlen(ex[k].ext);
        if (n > m && !strcmp(path + n - m, ex[k].ext)) return ex[k].f;
    }
    return RT_ROWS_AUTO;
}

static const char *const fmt_names[] = {"auto", "jsonl", "csv", "tsv", "verl"};

int rt_rows_format_parse(const char *name)
{
    for (int k = 1; k < 5; k++)
        if (name && !strcmp(name, fmt_names[k])) return k;
    return -1;
}

const char *rt_rows_format_name(rt_rows_format f)
{
    return f >= 0 && f <= 4 ? fmt_names[f] : "?";
}

void rt_rows_free(rt_rows *r)
{
    if (!r) return;
    for (int c = 0; r->cols && c < r->n_cols; c++)
        rt_free(r->cols[c]);
    rt_free(r->cols);
    rt_free(r->name);
    rt_free(r->text);
    rt_free(r->off);
    rt_free(r->len);
    rt_free(r->kind);
    rt_free(r->line);
    rt_free(r->col);
    rt_free(r->row_line);
    rt_free(r);
}

static void p_free(P *p)
{
    for (int c = 0; c < p->ncols; c++)
        rt_free(p->names[c]);
    rt_free(p->names);
    rt_free(p->seen);
    rt_free(p->cells);
    rt_free(p->row_line);
    rt_strbuf_free(&p->text);
}

/* the grid from p (p's memory handed over or freed either way) */
static int layout(P *p, rt_rows **out)
{
    rt_rows *r = rt_calloc(1, sizeof *r);
    size_t nn = (size_t)p->nrows * (size_t)p->ncols;
    if (!r) return p_free(p), nomem(p);
    r->format = p->fmt;
    r->n_rows = p->nrows, r->n_cols = p->ncols;
    r->cols = p->names, p->names = NULL, p->ncols = 0;
    r->row_line = p->row_line, p->row_line = NULL;
    r->name = rt_strdup(p->name);
    r->text = rt_strbuf_take(&p->text, NULL);
    r->off = rt_calloc(nn ? nn : 1, sizeof *r->off);
    r->len = rt_calloc(nn ? nn : 1, sizeof *r->len);
    r->kind = rt_calloc(nn ? nn : 1, 1);
    r->line = rt_calloc(nn ? nn : 1, sizeof *r->line);
    r->col = rt_calloc(nn ? nn : 1, sizeof *r->col);
    if (!r->name || !r->text || !r->off || !r->len || !r->kind || !r->line || !r->col) {
        rt_rows_free(r);
        p_free(p);
        return nomem(p);
    }
    for (size_t k = 0; k < p->nc; k++) {
        const cellrec *c = &p->cells[k];
        size_t at = (size_t)c->row * (size_t)r->n_cols + (size_t)c->col;
        r->off[at] = c->off, r->len[at] = c->len, r->kind[at] = c->kind;
        r->line[at] = c->line, r->col[at] = c->cp;
    }
    p_free(p);
    *out = r;
    return 0;
}

int rt_rows_parse(rt_rows **out, const char *name, const char *buf, size_t n, rt_rows_format fmt,
                  rt_diag *d)
{
    *out = NULL;
    if (!name) name = "<buffer>";
    P p = {.name = name, .b = buf, .n = n, .d = d, .wl = 1};
    if (fmt == RT_ROWS_AUTO) fmt = rt_rows_format_of_path(name);
    if (fmt <= RT_ROWS_AUTO || fmt > RT_ROWS_VERL)
        return rt_diag_set(
            d, RT_EINVAL,
            "%s: cannot tell the format from the extension (.jsonl, .csv or .tsv); give "
            "format=jsonl|csv|tsv|verl",
            name);
    p.fmt = fmt;
    if (n > RT_ROWS_MAX_FILE)
        return rt_diag_set(d, RT_ELIMIT,
                           "%s: %zu bytes, above the cap of %u (RT_ROWS_MAX_FILE, 64 MiB)", name, n,
                           RT_ROWS_MAX_FILE);
    if (n >= 2 && (((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                   ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF)))
        return err_at(&p, 0, RT_EPARSE,
                      "UTF-16 text (byte order mark %02X %02X); save the file as UTF-8",
                      (unsigned)(unsigned char)buf[0], (unsigned)(unsigned char)buf[1]);
    /* UTF-8 and NUL first: every later position is a well-formed column */
    for (size_t i = 0; i < n;) {
        size_t m = rt_utf8_seq(buf + i, n - i);
        if (m == 0)
            return err_at(&p, i, RT_EPARSE, "invalid UTF-8 (byte 0x%02X at offset %zu)",
                          (unsigned)(unsigned char)buf[i], i);
        if (buf[i] == 0) return err_at(&p, i, RT_EPARSE, "NUL byte");
        i += m;
    }
    if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) p.i = 3;
    if (p.i >= n) return err_at(&p, p.i, RT_EPARSE, "empty file");
    rt_strbuf_init(&p.text);
    if (rt_strbuf_putc(&p.text, 0)) return nomem(&p); /* text[0]: the missing cells' "" */
    int rc = fmt == RT_ROWS_CSV   ? parse_csv(&p, 0)
             : fmt == RT_ROWS_TSV ? parse_csv(&p, 1)
                                  : parse_jsonl(&p);
    if (rc) {
        p_free(&p);
        return rc;
    }
    return layout(&p, out);
}

int rt_rows_read(rt_rows **out, const char *path, rt_rows_format fmt, rt_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return rt_diag_set(d, RT_ENOENT, "%s: %s", path,
                           e == ENOENT   ? "no such file"
                           : e == EACCES ? "permission denied"
                                         : "cannot open");
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return rt_diag_set(d, RT_EIO, "%s: read error", path);
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return rt_diag_set(d, RT_EIO, "%s: is a directory", path);
    }
    if (st.st_size > (off_t)RT_ROWS_MAX_FILE) {
        fclose(f);
        return rt_diag_set(d, RT_ELIMIT,
                           "%s: %lld bytes, above the cap of %u (RT_ROWS_MAX_FILE, 64 MiB)", path,
                           (long long)st.st_size, RT_ROWS_MAX_FILE);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = rt_malloc(cap);
    if (!buf) {
        fclose(f);
        return rt_diag_set(d, RT_ENOMEM, "%s: out of memory", path);
    }
    for (;;) { /* read to the end (a file may grow between fstat and read) */
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n > RT_ROWS_MAX_FILE) break;
        char *nb = rt_realloc(buf, cap * 2);
        if (!nb) {
            rt_free(buf);
            fclose(f);
            return rt_diag_set(d, RT_ENOMEM, "%s: out of memory", path);
        }
        buf = nb, cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        rt_free(buf);
        return rt_diag_set(d, RT_EIO, "%s: read error", path);
    }
    if (fmt == RT_ROWS_AUTO) fmt = rt_rows_format_of_path(path);
    int rc = rt_rows_parse(out, path, buf, n, fmt, d);
    rt_free(buf);
    return rc;
}

const char *rt_rows_cell(const rt_rows *r, int row, int col, size_t *len)
{
    size_t at = (size_t)row * (size_t)r->n_cols + (size_t)col;
    if (len) *len = r->len[at];
    return r->text + r->off[at];
}

int rt_rows_kind(const rt_rows *r, int row, int col)
{
    return r->kind[(size_t)row * (size_t)r->n_cols + (size_t)col];
}

int rt_rows_column(const rt_rows *r, const char *name, const char *key, rt_diag *d)
{
    for (int c = 0; c < r->n_cols; c++)
        if (!strcmp(r->cols[c], name)) return c;
    if (d && key) snprintf(d->key, sizeof d->key, "%s", key);
    const char *best = rt_did_you_mean(name, (const char *const *)r->cols, (size_t)r->n_cols);
    char list[160];
    rt_strbuf b;
    rt_strbuf_init_fixed(&b, list, sizeof list);
    for (int c = 0; c < r->n_cols; c++) {
        size_t before = b.len;
        rt_strbuf_printf(&b, "%s%s", c ? ", " : "", r->cols[c]);
        if (b.err || b.len > sizeof list - 6) { /* room for ", ..." */
            b.err = 0;
            rt_strbuf_truncate(&b, before);
            rt_strbuf_puts(&b, ", ...");
            break;
        }
    }
    if (best)
        return rt_diag_set(d, RT_ENOTFOUND, "%s: no column '%s' (did you mean '%s'?); columns: %s",
                           r->name, name, best, list);
    return rt_diag_set(d, RT_ENOTFOUND, "%s: no column '%s'; columns: %s", r->name, name, list);
}
