/* rt_reward_lex.c: the lexer of the reward language (tokens of the grammar in
 * rt_reward.h): numbers (decimal only, range-checked), names and the keywords and, or,
 * not, operators, '#' comments; positions are cell positions (columns in code points).
 * Lexical errors go through rw_error at the offending token.  Leaves out what a name
 * means (features, parameters, calls: rt_reward_parse.c) and the grammar. */
#include "rt_reward_int.h"

#include "rt_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lx_advance(rw_lexer *lx)
{
    unsigned char ch = (unsigned char)lx->src[lx->pos++];
    if (ch == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((ch & 0xC0) != 0x80) {
        lx->col++;
    }
}

static int is_alpha(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

int rw_lex(rw_lexer *lx, rw_tok *t)
{
    for (;;) {
        if (lx->pos >= lx->len) break;
        char ch = lx->src[lx->pos];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            lx_advance(lx);
        } else if (ch == '#') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
                lx_advance(lx);
        } else {
            break;
        }
    }
    t->pos = lx->pos;
    t->line = lx->line;
    t->col = lx->col;
    t->len = 0;
    t->num = 0;
    if (lx->pos >= lx->len) {
        t->type = RW_T_EOF;
        return 0;
    }
    const char *s = lx->src + lx->pos;
    size_t rem = lx->len - lx->pos;
    unsigned char ch = (unsigned char)s[0];
    if (is_digit(ch) || (ch == '.' && rem > 1 && is_digit((unsigned char)s[1]))) {
        /* NUMBER: take the whole run of [0-9A-Za-z_.] (plus a sign after e/E) and
         * require it to be exactly one decimal number. */
        size_t n = 0;
        while (n < rem) {
            unsigned char d = (unsigned char)s[n];
            if (is_digit(d) || is_alpha(d) || d == '.') {
                n++;
            } else if ((d == '+' || d == '-') && n > 0 && (s[n - 1] == 'e' || s[n - 1] == 'E') &&
                       n + 1 < rem && is_digit((unsigned char)s[n + 1])) {
                n++;
            } else {
                break;
            }
        }
        t->type = RW_T_NUM;
        t->len = n;
        char buf[96];
        if (n >= sizeof buf) {
            t->len = 64;
            return rw_tok_error(lx, RT_ELIMIT, t, "number too long (more than %s characters)",
                                "95");
        }
        int ok = 1;
        if (ok) {
            memcpy(buf, s, n);
            buf[n] = 0;
            /* strtod also takes hex, inf, nan: insist on the decimal form. */
            for (size_t i = 0; i < n && ok; i++) {
                char d = buf[i];
                ok = is_digit(d) || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-';
            }
        }
        char *end = NULL;
        double v = strtod(buf, &end);
        if (!ok || end != buf + n)
            return rw_tok_error(lx, RT_ESYNTAX, t, "malformed number '%s'", NULL);
        if (isinf(v)) return rw_tok_error(lx, RT_ESYNTAX, t, "number '%s' is out of range", NULL);
        t->num = v;
        for (size_t i = 0; i < n; i++)
            lx_advance(lx);
        return 0;
    }
    if (ch == '"') {
        /* STRING: validate escapes and UTF-8, count the decoded bytes. */
        size_t n = 1, out = 0;
        t->type = RW_T_STR;
        for (;;) {
            if (n >= rem) {
                t->len = n;
                return rw_tok_error(lx, RT_ESYNTAX, t, "unterminated string (missing '\"')", "");
            }
            unsigned char d = (unsigned char)s[n];
            if (d == '"') {
                n++;
                break;
            }
            if (d == '\n' || d == '\r') {
                t->len = n;
                return rw_tok_error(lx, RT_ESYNTAX, t,
                                    "newline inside a string (close it with '\"' on the same line; "
                                    "write \\n for a newline)",
                                    "");
            }
            if (d == '\\') {
                unsigned char e = n + 1 < rem ? (unsigned char)s[n + 1] : 0;
                if (e != '"' && e != '\\' && e != 'n' && e != 't') {
                    t->len = n + 1;
                    return rw_tok_error(lx, RT_ESYNTAX, t,
                                        "invalid escape in string (use \\\" \\\\ \\n or \\t)", "");
                }
                n += 2;
                out++;
            } else if ((d < 0x20 && d != '\t') || d == 0x7f) {
                t->len = n;
                return rw_tok_error(lx, RT_ESYNTAX, t, "control character inside a string", "");
            } else if (d >= 0x80) {
                size_t k = rt_utf8_seq(s + n, rem - n);
                if (k == 0) {
                    t->len = n;
                    return rw_tok_error(lx, RT_ESYNTAX, t, "invalid UTF-8 inside a string", "");
                }
                n += k;
                out += k;
            } else {
                n++;
                out++;
            }
            if (out > RT_REWARD_MAX_STRING) {
                t->len = n;
                return rw_tok_error(lx, RT_ELIMIT, t, "string too long (more than %s bytes)",
                                    "256");
            }
        }
        t->len = n;
        t->num = (double)out;
        for (size_t i = 0; i < n; i++)
            lx_advance(lx);
        return 0;
    }
    if (is_alpha(ch)) {
        size_t n = 0;
        while (n < rem && (is_alpha((unsigned char)s[n]) || is_digit((unsigned char)s[n])))
            n++;
        t->len = n;
        if (n > RT_REWARD_MAX_NAME) {
            t->len = RT_REWARD_MAX_NAME;
            return rw_tok_error(lx, RT_ELIMIT, t, "name too long (more than 64 characters)", NULL);
        }
        t->type = RW_T_NAME;
        if (n == 3 && !memcmp(s, "and", 3))
            t->type = RW_T_AND;
        else if (n == 2 && !memcmp(s, "or", 2))
            t->type = RW_T_OR;
        else if (n == 3 && !memcmp(s, "not", 3))
            t->type = RW_T_NOT;
        for (size_t i = 0; i < n; i++)
            lx_advance(lx);
        return 0;
    }
    int two = rem > 1 ? s[1] : 0;
    int type = -1;
    size_t n = 1;
    switch (ch) {
    case '(':
        type = RW_T_LP;
        break;
    case ')':
        type = RW_T_RP;
        break;
    case ',':
        type = RW_T_COMMA;
        break;
    case '+':
        type = RW_T_PLUS;
        break;
    case '-':
        type = RW_T_MINUS;
        break;
    case '*':
        type = RW_T_STAR;
        break;
    case '/':
        type = RW_T_SLASH;
        break;
    case '^':
        type = RW_T_CARET;
        break;
    case '<':
        type = two == '=' ? RW_T_LE : RW_T_LT;
        break;
    case '>':
        type = two == '=' ? RW_T_GE : RW_T_GT;
        break;
    case '=':
        type = two == '=' ? RW_T_EQ : RW_T_ASSIGN;
        break;
    case '!':
        if (two == '=') type = RW_T_NE;
        break;
    default:
        break;
    }
    if (type == RW_T_LE || type == RW_T_GE || type == RW_T_EQ || type == RW_T_NE) n = 2;
    if (type >= 0) {
        t->type = type;
        t->len = n;
        for (size_t i = 0; i < n; i++)
            lx_advance(lx);
        return 0;
    }
    /* A character the language does not use. */
    t->len = 1;
    if (ch == '!')
        return rw_tok_error(lx, RT_ESYNTAX, t, "unexpected '!' (use 'not' or '!=')", NULL);
    if (ch == '&') return rw_tok_error(lx, RT_ESYNTAX, t, "unexpected '&' (use 'and')", NULL);
    if (ch == '|') return rw_tok_error(lx, RT_ESYNTAX, t, "unexpected '|' (use 'or')", NULL);
    if (ch >= 0x80) {
        size_t k = rt_utf8_seq(s, rem);
        if (k == 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "invalid UTF-8 byte 0x%02x", ch);
            t->len = 0;
            return rw_tok_error(lx, RT_ESYNTAX, t, "%s", msg);
        }
        t->len = k;
        return rw_tok_error(lx, RT_ESYNTAX, t, "unexpected character '%s'", NULL);
    }
    if (ch < 0x20 || ch == 0x7f) {
        char msg[64];
        snprintf(msg, sizeof msg, "unexpected control character 0x%02x", ch);
        t->len = 0;
        return rw_tok_error(lx, RT_ESYNTAX, t, "%s", msg);
    }
    return rw_tok_error(lx, RT_ESYNTAX, t, "unexpected character '%s'", NULL);
}

size_t rw_str_decode(const char *src, const rw_tok *t, char *out)
{
    const char *s = src + t->pos + 1;
    size_t end = t->len - 2, k = 0; /* s[0..end) is the body; s[end] the closing quote */
    for (size_t i = 0; i < end && k < RT_REWARD_MAX_STRING; i++) {
        char d = s[i];
        if (d == '\\' && i + 1 < end) {
            char e = s[++i];
            d = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        out[k++] = d;
    }
    out[k] = 0;
    return k;
}

int rw_tok_error(const rw_lexer *lx, int code, const rw_tok *t, const char *fmt, const char *a)
{
    char text[72];
    size_t n = t->len < 64 ? t->len : 64;
    memcpy(text, lx->src + t->pos, n);
    text[n] = 0;
    rw_error(lx->c, code, t->line, t->col, lx->src + t->pos, t->len, fmt, a ? a : text);
    return -1;
}
