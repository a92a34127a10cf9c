/* mag_lex.h: private interface between the lexer (mag_lex.c) and the parser
 * (mag_parse.c) of magics/lang: the parse state, tokens, cursor helpers, the error
 * helpers that feed mag_diag_set, and the lexer entry points.  Not public API. */
#ifndef MAG_LEX_H
#define MAG_LEX_H

#include <stdarg.h>
#include <stddef.h>

#include "mag_lang.h"
#include "mag_lang_priv.h"

enum { T_EOF, T_NL, T_NAME, T_INT, T_FLOAT, T_STRING, T_CHAR };

typedef struct tok {
    int type; /* T_*; T_CHAR: a single punctuation or unexpected code point */
    int ch;   /* T_CHAR: the byte ('=', ',', '[' ...), or 0 for a non-ASCII one */
    size_t start, end;
    mag_pos pos;
    long long i;
    double num;
    char *str; /* T_STRING decoded, T_NAME text */
} tok;

/* Parse state (one per mag_parse_cell / mag_parse_value call). */
typedef struct P {
    const char *s; /* the cell (validated UTF-8, no NUL) */
    size_t len, i; /* its length; the cursor (byte offset) */
    int line, col; /* the cursor's line and column (code points), 1-based */
    int depth;     /* list/map nesting of the value being parsed */
    mag_arena *a;  /* owns every node of the cell */
    mag_diag *d;   /* caller's diagnostic, may be NULL */
} P;

/* A lexer position to return to (one token of lookahead for NAME '='). */

typedef struct save {
    size_t i;
    int line, col;
} save;

static inline save mark(const P *p)
{
    return (save){p->i, p->line, p->col};
}

static inline void rewind_to(P *p, save s)
{
    p->i = s.i, p->line = s.line, p->col = s.col;
}

static inline mag_pos here(const P *p)
{
    return (mag_pos){p->line, p->col, p->i};
}

static inline int cur(const P *p)
{
    return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static inline int at(const P *p, size_t k)
{
    return p->i + k < p->len ? (unsigned char)p->s[p->i + k] : -1;
}

static inline void adv(P *p)
{
    if (p->i >= p->len) return;
    unsigned char c = (unsigned char)p->s[p->i++];
    if (c == '\n')
        p->line++, p->col = 1;
    else if ((c & 0xC0) != 0x80)
        p->col++;
}

/* Skip the rest of a code point whose lead byte was just consumed. */
static inline void adv_cp(P *p)
{
    adv(p);
    while (p->i < p->len && ((unsigned char)p->s[p->i] & 0xC0) == 0x80)
        p->i++;
}

static inline int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline void skip_blank(P *p)
{
    while (cur(p) == ' ' || cur(p) == '\t' || cur(p) == '\r')
        adv(p);
}

static inline int is_char(const tok *t, int c)
{
    return t->type == T_CHAR && t->ch == c;
}

/* Errors: "<msg>[ near 'near']" at a position (perr), or near token t at its
 * position (terr); both return code.  nomem reports MAG_ENOMEM. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
int mag_perr(P *p, int code, mag_pos at_, const char *near, const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int mag_terr(P *p, int code, const tok *t, const char *fmt, ...);
int mag_nomem(P *p);

/* One token; skip_nl: newlines and comments are blanks (inside brackets). */
int mag_lex(P *p, tok *t, int skip_nl);
/* string at the opening quote (t->start/pos set by the caller). */
int mag_lex_string(P *p, tok *t);
/* Size, NUL and UTF-8 checks of the whole input; rewinds to the start. */
int mag_check_input(P *p);

#endif
