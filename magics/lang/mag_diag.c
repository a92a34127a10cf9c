/* mag_diag.c: the one error function of the cell language (Lua style
 * "cell:LINE:COL: message near 'token'") and the source line + caret for the
 * traceback.  Leaves out: deciding what is an error (parser, schema, reward bridge
 * do); UTF-8 and did-you-mean (rt_text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mag_lang.h"
#include "mag_lang_priv.h"

/* Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0. */
static size_t seq_at(const unsigned char *s, size_t i, size_t len)
{
    return rt_utf8_seq((const char *)s + i, len - i);
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
        size_t n = seq_at(s, i, len);
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
        size_t n = seq_at(s, k, len);
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
        size_t n = seq_at(s, k, len);
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
        size_t n = seq_at((const unsigned char *)buf, k, o);
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
