/* rt_text.c: UTF-8 stepping and validation, code-point columns, the string buffer,
 * edit distance with the one did-you-mean rule, and the unclosed-pair wording (see
 * rt_text.h).  Leaves out diagnostics, escaping and lexing. */
#include "rt_text.h"

#include "rt_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- UTF-8 -------------------------------------------------------------------- */

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The sequence at s[0..len) and its code point (*cp), or 0 when ill-formed. */
static size_t seq_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (len == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07;
    else
        return 0; /* continuation byte, C0/C1 (always overlong), F5..FF */
    if (n > len) return 0;
    for (size_t k = 1; k < n; k++) {
        if (!is_cont(s[k])) return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF))) return 0;
    if (v >= 0xD800 && v <= 0xDFFF) return 0;
    *cp = v;
    return n;
}

size_t rt_utf8_seq(const char *s, size_t len)
{
    uint32_t cp;
    return seq_decode((const unsigned char *)s, len, &cp);
}

int rt_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = seq_decode(p + i, len - i, &cp);
        if (!n) return 0;
        i += n;
    }
    return 1;
}

size_t rt_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    if (len == 0) return 0;
    size_t n = seq_decode((const unsigned char *)s, len, cp);
    if (n) return n;
    *cp = RT_UTF8_REPLACEMENT;
    return 1;
}

size_t rt_utf8_next(const char *s, size_t len, size_t i)
{
    if (i >= len) return len;
    if ((unsigned char)s[i] < 0x80) return i + 1;
    size_t n = rt_utf8_seq(s + i, len - i);
    return i + (n ? n : 1);
}

size_t rt_utf8_encode(uint32_t cp, char out[4])
{
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = RT_UTF8_REPLACEMENT;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t rt_utf8_cols(const char *s, size_t nbytes)
{
    size_t n = 0;
    for (size_t i = 0; i < nbytes; i = rt_utf8_next(s, nbytes, i))
        n++;
    return n;
}

size_t rt_utf8_offset(const char *s, size_t len, size_t col)
{
    size_t i = 0;
    for (; i < len && col > 0; col--)
        i = rt_utf8_next(s, len, i);
    return i;
}

size_t rt_utf8_cut(const char *s, size_t len, size_t n)
{
    if (n >= len) return len;
    while (n > 0 && is_cont((unsigned char)s[n]))
        n--;
    return n;
}

/* ---- string buffer ------------------------------------------------------------ */

void rt_strbuf_init(rt_strbuf *b)
{
    memset(b, 0, sizeof *b);
}

void rt_strbuf_init_fixed(rt_strbuf *b, char *mem, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->fixed = 1;
    b->s = cap ? mem : NULL;
    b->cap = b->s ? cap : 0;
    if (b->cap) b->s[0] = '\0';
}

int rt_strbuf_reserve(rt_strbuf *b, size_t extra)
{
    if (b->err) return b->err;
    if (extra < SIZE_MAX - b->len && b->len + extra + 1 <= b->cap) return RT_OK;
    if (b->fixed) return RT_ETRUNC;
    if (extra >= SIZE_MAX / 2 - b->len) return b->err = RT_ENOMEM;
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = rt_realloc(b->s, cap);
    if (!p) return b->err = RT_ENOMEM;
    if (!b->s) p[0] = '\0';
    b->s = p;
    b->cap = cap;
    return RT_OK;
}

int rt_strbuf_append(rt_strbuf *b, const char *s, size_t n)
{
    b->want += n;
    if (b->err || n == 0) return b->err;
    int rc = rt_strbuf_reserve(b, n);
    if (rc == RT_ETRUNC) { /* fixed: keep what fits */
        size_t room = b->cap ? b->cap - 1 - b->len : 0;
        if (room) memcpy(b->s + b->len, s, room);
        b->len += room;
        if (b->cap) b->s[b->len] = '\0';
        return b->err = RT_ETRUNC;
    }
    if (rc) return rc;
    if (n) memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return RT_OK;
}

int rt_strbuf_puts(rt_strbuf *b, const char *s)
{
    return rt_strbuf_append(b, s, strlen(s));
}

int rt_strbuf_putc(rt_strbuf *b, char c)
{
    return rt_strbuf_append(b, &c, 1);
}

int rt_strbuf_vprintf(rt_strbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    size_t room = b->err || !b->cap ? 0 : b->cap - b->len;
    int n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) return b->err; /* an encoding error: nothing appended */
    b->want += (size_t)n;
    if (b->err || n == 0) return b->err;
    if ((size_t)n < room) { /* it fitted (vsnprintf wrote the NUL) */
        b->len += (size_t)n;
        return RT_OK;
    }
    if (b->fixed) { /* vsnprintf kept what fits */
        if (room) b->len = b->cap - 1;
        return b->err = RT_ETRUNC;
    }
    if (room) b->s[b->len] = '\0'; /* undo the partial write */
    int rc = rt_strbuf_reserve(b, (size_t)n);
    if (rc) return rc;
    va_copy(ap2, ap);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return RT_OK;
}

int rt_strbuf_printf(rt_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = rt_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void rt_strbuf_truncate(rt_strbuf *b, size_t n)
{
    if (n >= b->len) return;
    b->len = n;
    b->s[n] = '\0';
}

char *rt_strbuf_take(rt_strbuf *b, size_t *len)
{
    if (len) *len = 0;
    if (b->fixed) return NULL;
    if (!b->err) rt_strbuf_reserve(b, 0); /* an empty text still gets its NUL */
    char *s = NULL;
    if (b->err)
        rt_free(b->s);
    else {
        s = b->s;
        if (len) *len = b->len;
    }
    rt_strbuf_init(b);
    return s;
}

void rt_strbuf_free(rt_strbuf *b)
{
    if (b->fixed) {
        rt_strbuf_init_fixed(b, b->s, b->cap);
        return;
    }
    rt_free(b->s);
    rt_strbuf_init(b);
}

/* ---- edit distance and did-you-mean -------------------------------------------- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int rt_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > RT_EDIT_MAX_LEN || m > RT_EDIT_MAX_LEN) return RT_EDIT_FAR;
    int d[RT_EDIT_MAX_LEN + 1][RT_EDIT_MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ai = lower((unsigned char)a[i - 1]), bj = lower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + (ai != bj) < v) v = d[i - 1][j - 1] + (ai != bj);
            if (i > 1 && j > 1 && ai == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == bj && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

void rt_suggest_init(rt_suggest *s, const char *word)
{
    size_t n = strlen(word);
    int lim = (int)((n + 1) / 3);
    if (lim < 1) lim = 1;
    if (lim > 3) lim = 3;
    if ((size_t)lim >= n) lim = (int)n - 1; /* never suggest by replacing everything */
    s->word = word;
    s->best = NULL;
    s->best_dist = RT_EDIT_FAR;
    s->limit = lim;
}

void rt_suggest_add(rt_suggest *s, const char *candidate)
{
    if (!candidate || s->limit < 1) return;
    int dist = rt_edit_distance(s->word, candidate);
    if (dist <= s->limit && dist < s->best_dist) {
        s->best = candidate;
        s->best_dist = dist;
    }
}

const char *rt_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    rt_suggest s;
    rt_suggest_init(&s, word);
    for (size_t i = 0; i < n; i++)
        rt_suggest_add(&s, candidates[i]);
    return s.best;
}

/* ---- the unclosed-pair message ------------------------------------------------- */

size_t rt_text_unclosed(char *buf, size_t cap, int closer, int opener, int open_line, int open_col,
                        int err_line)
{
    int n;
    if (err_line != open_line)
        n = snprintf(buf, cap, "expected '%c' (to close '%c' at line %d)", closer, opener,
                     open_line);
    else
        n = snprintf(buf, cap, "expected '%c' (to close '%c' at column %d)", closer, opener,
                     open_col);
    return n > 0 ? (size_t)n : 0;
}

const char rt_b64_alphabet[65] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* a character's value + 1 (0: not in the alphabet) */
static const unsigned char B64_VALUE[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

int rt_b64_value(unsigned char c)
{
    return (int)B64_VALUE[c] - 1;
}
