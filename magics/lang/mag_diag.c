/* mag_diag.c: the one error function of the cell language (Lua style
 * "cell:LINE:COL: message near 'token'"), the source line + caret for the
 * traceback, UTF-8 code-point helpers, and the did-you-mean search.
 * Leaves out: deciding what is an error (parser, schema, reward bridge do). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mag_lang.h"
#include "mag_lang_priv.h"

size_t mag_utf8_count(const char *s, size_t nbytes)
{
    size_t n = 0;
    for (size_t i = 0; i < nbytes; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

size_t mag_utf8_offset(const char *s, size_t len, size_t cp)
{
    size_t i = 0, n = 0;
    while (i < len) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == cp) return i;
            n++;
        }
        i++;
    }
    return len;
}

/* Length of the UTF-8 sequence starting at s[i] if it is valid, else 0. */
size_t mag_utf8_valid_at(const unsigned char *s, size_t i, size_t len)
{
    unsigned c = s[i];
    if (c < 0x80) return c ? 1 : 0;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (i + n > len) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return n;
}

/* Append the token shown after "near": at most 24 code points, control bytes and
 * invalid UTF-8 as \xNN, "..." when cut. */
static void sanitize_token(const char *t, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)t;
    size_t len = strlen(t), o = 0, cps = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len;) {
        if (cps == 24) {
            if (o + 4 < cap) memcpy(out + o, "...", 4), o += 3;
            return;
        }
        size_t n = mag_utf8_valid_at(s, i, len);
        if (n == 1 && (s[i] < 0x20 || s[i] == 0x7F)) n = 0;
        if (n == 0) {
            if (o + 5 >= cap) break;
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", s[i]);
            i++;
        } else {
            if (o + n >= cap) break;
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
        out[o] = '\0';
        cps++;
    }
}

/* Fill d->source_line / d->caret for (line, col): the line's text with invalid bytes
 * as '?', windowed around the column when too long, and a caret under the column
 * (tabs copied so that the caret lines up). */
static void render_caret(mag_diag *d, const char *src, size_t len, int line, int col)
{
    d->source_line[0] = d->caret[0] = '\0';
    if (!src || line <= 0) return;
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (src[i] == '\n') l++;
    size_t e = i;
    while (e < len && src[e] != '\n')
        e++;
    if (e > i && src[e - 1] == '\r') e--;
    /* Build a sanitized copy: one output code point per input code point. */
    char buf[4 * MAG_DIAG_LINE];
    size_t cps = 0, o = 0;
    const unsigned char *s = (const unsigned char *)src;
    size_t first = 0; /* first code point shown */
    size_t total = 0;
    for (size_t k = i; k < e;) {
        size_t n = mag_utf8_valid_at(s, k, len);
        k += n ? n : 1;
        total++;
    }
    /* at most 60 code points (<= 240 bytes + two "..."), the column kept in view */
    const size_t maxcp = 60;
    size_t c0 = col > 0 ? (size_t)col - 1 : 0;
    if (total > maxcp && c0 >= maxcp - 10) first = c0 - (maxcp - 20);
    int cut_left = first > 0;
    if (cut_left) memcpy(buf, "...", 3), o = 3;
    for (size_t k = i; k < e && o + 8 < sizeof buf;) {
        size_t n = mag_utf8_valid_at(s, k, len);
        if (cps >= first && cps < first + maxcp) {
            if (n == 0 || (n == 1 && s[k] < 0x20 && s[k] != '\t'))
                buf[o++] = '?';
            else
                memcpy(buf + o, s + k, n), o += n;
        }
        k += n ? n : 1;
        cps++;
    }
    if (cps > first + maxcp) memcpy(buf + o, "...", 3), o += 3;
    buf[o] = '\0';
    snprintf(d->source_line, sizeof d->source_line, "%s", buf);
    /* caret: walk the shown line's code points up to the column */
    size_t want = c0 - first + (cut_left ? 3 : 0), w = 0, co = 0;
    for (size_t k = 0; k < o && w < want && co + 2 < sizeof d->caret;) {
        unsigned char c = (unsigned char)buf[k];
        size_t n = mag_utf8_valid_at((const unsigned char *)buf, k, o);
        d->caret[co++] = c == '\t' ? '\t' : ' ';
        k += n ? n : 1;
        w++;
    }
    while (w < want && co + 2 < sizeof d->caret)
        d->caret[co++] = ' ', w++;
    d->caret[co++] = '^';
    d->caret[co] = '\0';
}

int mag_diag_set(mag_diag *d, const char *src, size_t len, int code, int line, int col,
                 const char *near, const char *fmt, ...)
{
    if (!d) return code;
    memset(d, 0, sizeof *d);
    d->code = code;
    d->line = line > 0 ? line : 0;
    d->col = line > 0 && col > 0 ? col : 0;
    char body[MAG_DIAG_MSG - 128]; /* leaves room for the prefix and the token */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    char tok[sizeof d->token] = "";
    int bare = near && (!strcmp(near, MAG_NEAR_EOF) || !strcmp(near, MAG_NEAR_EOL));
    if (near) {
        if (bare)
            snprintf(tok, sizeof tok, "%s", near);
        else
            sanitize_token(near, tok, sizeof tok);
        memcpy(d->token, tok, sizeof tok);
    }
    char where[48];
    if (d->line)
        snprintf(where, sizeof where, "cell:%d:%d:", d->line, d->col);
    else
        snprintf(where, sizeof where, "cell:");
    if (!near)
        snprintf(d->msg, sizeof d->msg, "%s %s", where, body);
    else if (bare) /* <eof> and <eol> are shown unquoted; a real '<' token is quoted */
        snprintf(d->msg, sizeof d->msg, "%s %s near %s", where, body, tok);
    else
        snprintf(d->msg, sizeof d->msg, "%s %s near '%s'", where, body, tok);
    render_caret(d, src, len, d->line, d->col);
    return code;
}

/* ------------------------------------------------------------------ did you mean */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int mag_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return 99;
    int d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = lower(a[i - 1]) != lower(b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

void mag_suggest_init(mag_suggest *s, const char *word)
{
    size_t n = strlen(word);
    int lim = (int)((n + 1) / 3);
    if (lim < 1) lim = 1;
    if (lim > 3) lim = 3;
    if ((size_t)lim >= n) lim = (int)n - 1; /* never suggest by replacing everything */
    s->word = word;
    s->best = NULL;
    s->best_dist = 1000;
    s->limit = lim;
}

void mag_suggest_add(mag_suggest *s, const char *candidate)
{
    if (!candidate || s->limit < 1) return;
    int dist = mag_edit_distance(s->word, candidate);
    if (dist <= s->limit && dist < s->best_dist) {
        s->best = candidate;
        s->best_dist = dist;
    }
}

const char *mag_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
    mag_suggest s;
    mag_suggest_init(&s, word);
    for (size_t i = 0; i < n; i++)
        mag_suggest_add(&s, candidates[i]);
    return s.best;
}
