/* mag_lex.c: the lexer of the cell language (NAME, numbers, strings, punctuation,
 * comments, newlines; lexical rules in mag_lang.h), the input checks (size, NUL,
 * UTF-8) and the error helpers that route every parse error to mag_diag_set.
 * Leaves out: the grammar (mag_parse.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_lex.h"

static int perr_v(P *p, int code, mag_pos at_, const char *near, const char *fmt, va_list ap)
{
    char buf[MAG_DIAG_MSG];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return mag_diag_set(p->d, p->s, p->len, code, at_.line, at_.col, near, "%s", buf);
}

int mag_perr(P *p, int code, mag_pos at_, const char *near, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = perr_v(p, code, at_, near, fmt, ap);
    va_end(ap);
    return r;
}

int mag_nomem(P *p)
{
    return mag_perr(p, MAG_ENOMEM, (mag_pos){0, 0, 0}, NULL, "out of memory");
}

/* The text after "near" for token t (copied into buf). */
static const char *near_of(const P *p, const tok *t, char *buf, size_t cap)
{
    if (t->type == T_EOF) return MAG_NEAR_EOF;
    if (t->type == T_NL) return MAG_NEAR_EOL;
    size_t n = t->end - t->start;
    if (n >= cap) n = rt_utf8_cut(p->s + t->start, n, cap - 1);
    memcpy(buf, p->s + t->start, n);
    buf[n] = '\0';
    return buf;
}

/* Error "<msg> near <token t>" at t's position. */
int mag_terr(P *p, int code, const tok *t, const char *fmt, ...)
{
    char nb[64];
    va_list ap;
    va_start(ap, fmt);
    int r = perr_v(p, code, t->pos, near_of(p, t, nb, sizeof nb), fmt, ap);
    va_end(ap);
    return r;
}

/* ------------------------------------------------------------------ lexer */

int mag_is_name_start(int c)
{
    return is_alpha(c) || c == '_' || c == '.' || c == '/' || c == '~';
}

int mag_is_name_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '/';
}

static int hexval(int c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* string -> '"' {char | escape} '"' ; decoded into t->str. */
int mag_lex_string(P *p, tok *t)
{
    size_t cap = 16, n = 0;
    char *buf = mag_arena_alloc(p->a, cap);
    if (!buf) return mag_nomem(p);
    adv(p); /* opening quote */
    for (;;) {
        int c = cur(p);
        if (c == -1 || c == '\n') {
            t->type = T_STRING;
            t->end = p->i;
            if (t->end > t->start && p->s[t->end - 1] == '\r') t->end--;
            int r = mag_terr(p, MAG_ESYNTAX, t, "unfinished string");
            if (c == -1 && p->d) p->d->incomplete = 1;
            return r;
        }
        if (n + 5 > cap) {
            buf = mag_arena_grow(p->a, buf, &cap, n + 5, 1);
            if (!buf) return mag_nomem(p);
        }
        if (c == '"') {
            adv(p);
            break;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            adv(p);
            continue;
        }
        mag_pos epos = here(p);
        size_t es = p->i;
        adv(p);
        c = cur(p);
        unsigned cp = 0;
        if (c == '"' || c == '\\')
            buf[n++] = (char)c, adv(p);
        else if (c == 'n')
            buf[n++] = '\n', adv(p);
        else if (c == 't')
            buf[n++] = '\t', adv(p);
        else if (c == 'u') {
            adv(p);
            int k;
            for (k = 0; k < 4 && hexval(cur(p)) >= 0; k++)
                cp = cp * 16 + (unsigned)hexval(cur(p)), adv(p);
            char nb[16];
            size_t m = p->i - es < sizeof nb - 1 ? p->i - es : sizeof nb - 1;
            memcpy(nb, p->s + es, m), nb[m] = '\0';
            if (k < 4) return mag_perr(p, MAG_ESYNTAX, epos, nb, "\\u needs 4 hexadecimal digits");
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return mag_perr(p, MAG_ESYNTAX, epos, nb, "invalid code point in \\u escape");
            n += rt_utf8_encode(cp, buf + n);
        } else {
            char nb[8] = "\\";
            if (c != -1 && c != '\n') {
                size_t s0 = p->i;
                adv_cp(p);
                memcpy(nb + 1, p->s + s0, p->i - s0), nb[1 + p->i - s0] = '\0';
            }
            return mag_perr(p, MAG_ESYNTAX, epos, nb, "invalid escape sequence");
        }
    }
    buf[n] = '\0';
    t->type = T_STRING;
    t->str = buf;
    t->end = p->i;
    return MAG_OK;
}

/* number -> ['-'] (digits ['.' {digit}] | '.' digits) [('e'|'E') ['+'|'-'] digits] */
static int lex_number(P *p, tok *t)
{
    int is_float = 0;
    if (cur(p) == '-') adv(p);
    while (is_digit(cur(p)))
        adv(p);
    if (cur(p) == '.' && !(at(p, 1) == '.' || at(p, 1) == '/')) {
        is_float = 1;
        adv(p);
        while (is_digit(cur(p)))
            adv(p);
    }
    if ((cur(p) == 'e' || cur(p) == 'E') &&
        (is_digit(at(p, 1)) || ((at(p, 1) == '+' || at(p, 1) == '-') && is_digit(at(p, 2))))) {
        is_float = 1;
        adv(p), adv(p);
        while (is_digit(cur(p)))
            adv(p);
    }
    if (mag_is_name_char(cur(p)) || cur(p) == '~') {
        while (mag_is_name_char(cur(p)) || cur(p) == '~')
            adv(p);
        t->type = T_FLOAT;
        t->end = p->i;
        return mag_terr(p, MAG_ESYNTAX, t, "malformed number");
    }
    t->type = T_FLOAT;
    t->end = p->i;
    char buf[64];
    size_t n = t->end - t->start;
    if (n >= sizeof buf) return mag_terr(p, MAG_ESYNTAX, t, "malformed number");
    memcpy(buf, p->s + t->start, n), buf[n] = '\0';
    errno = 0;
    if (!is_float) {
        t->type = T_INT;
        t->i = strtoll(buf, NULL, 10);
        if (errno == ERANGE) return mag_terr(p, MAG_ESYNTAX, t, "integer too large");
        t->num = (double)t->i;
    } else {
        t->type = T_FLOAT;
        t->num = strtod(buf, NULL);
        if (errno == ERANGE && (t->num > 1 || t->num < -1))
            return mag_terr(p, MAG_ESYNTAX, t, "number out of range");
    }
    return MAG_OK;
}

/* One token.  skip_nl: newlines and comments are whitespace (inside brackets).
 * Otherwise a comment is skipped up to (not including) its newline. */
int mag_lex(P *p, tok *t, int skip_nl)
{
    for (;;) {
        skip_blank(p);
        if (cur(p) == '#') {
            while (cur(p) != -1 && cur(p) != '\n')
                adv(p);
            continue;
        }
        if (skip_nl && cur(p) == '\n') {
            adv(p);
            continue;
        }
        break;
    }
    memset(t, 0, sizeof *t);
    t->pos = here(p);
    t->start = p->i;
    int c = cur(p);
    if (c == -1) {
        t->type = T_EOF;
        t->end = p->i;
        return MAG_OK;
    }
    if (c == '\n') {
        t->type = T_NL;
        adv(p);
        t->end = t->start;
        return MAG_OK;
    }
    if (c == '"') return mag_lex_string(p, t);
    if (is_digit(c) || (c == '.' && is_digit(at(p, 1))) ||
        (c == '-' && (is_digit(at(p, 1)) || (at(p, 1) == '.' && is_digit(at(p, 2))))))
        return lex_number(p, t);
    if (mag_is_name_start(c)) {
        while (mag_is_name_char(cur(p)) || (p->i == t->start && cur(p) == '~'))
            adv(p);
        /* a sweep point's name: NAME[key=value,...] written without spaces, or a pattern
           of such names with the wildcards * and ? (%plot lam[*], lam[lambda=1*]) */
        if (cur(p) == '[') {
            size_t j = p->i + 1;
            int eq = 0;
            while (j < p->len &&
                   (mag_is_name_char((unsigned char)p->s[j]) || p->s[j] == '=' || p->s[j] == ',' ||
                    p->s[j] == '+' || p->s[j] == '*' || p->s[j] == '?'))
                eq |= p->s[j] == '=' || p->s[j] == '*' || p->s[j] == '?', j++;
            if (eq && j < p->len && p->s[j] == ']')
                while (p->i <= j)
                    adv_cp(p);
        }
        t->type = T_NAME;
        t->end = p->i;
        t->str = mag_arena_strndup(p->a, p->s + t->start, t->end - t->start);
        return t->str ? MAG_OK : mag_nomem(p);
    }
    t->type = T_CHAR;
    t->ch = c < 0x80 ? c : 0;
    adv_cp(p);
    t->end = p->i;
    return MAG_OK;
}

/* Size, NUL and UTF-8 checks before lexing (which then assumes valid UTF-8). */
int mag_check_input(P *p)
{
    if (p->len > MAG_MAX_CELL_BYTES)
        return mag_perr(p, MAG_ELIMIT, (mag_pos){1, 1, 0}, NULL,
                        "cell too large (%zu bytes; the limit is %u)", p->len, MAG_MAX_CELL_BYTES);
    const unsigned char *s = (const unsigned char *)p->s;
    while (p->i < p->len) {
        unsigned c = s[p->i];
        if (c == 0) return mag_perr(p, MAG_EENCODING, here(p), NULL, "NUL byte in cell");
        if (c < 0x80) {
            adv(p);
            continue;
        }
        size_t n = rt_utf8_seq(p->s + p->i, p->len - p->i);
        if (!n) return mag_perr(p, MAG_EENCODING, here(p), NULL, "invalid UTF-8 byte 0x%02X", c);
        adv(p);
        p->i += n - 1;
    }
    p->i = 0, p->line = 1, p->col = 1;
    return MAG_OK;
}
