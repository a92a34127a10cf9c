/* mag_parse.c: recursive-descent parser of the cell language (grammar and lexical
 * rules in mag_lang.h; tokens come from mag_lex.c).  Every node gets a position; all nodes of a
 * cell live in one arena freed by mag_cell_free.  Errors go through mag_perr() -> mag_diag_set.
 * Leaves out: the meaning of magics and keys (schema), and the reward expression
 * grammar (runtime/reward parses the expression spans handed over here). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_lex.h"

/* ------------------------------------------------------------------ values */

static int parse_value(P *p, const tok *t, mag_value *v);

/* "expected 'Y' (to close 'X' at line L)" when the opener is on another line, else
 * "... at column C)" (rt_text_unclosed, the wording the reward compiler shares): the
 * message always says where the pair opened. */
static int unclosed(P *p, const tok *t, int opener, int closer, mag_pos open)
{
    char msg[96];
    rt_text_unclosed(msg, sizeof msg, closer, opener, open.line, open.col, t->pos.line);
    int r = mag_terr(p, MAG_ESYNTAX, t, "%s", msg);
    if (t->type == T_EOF && p->d) p->d->incomplete = 2;
    return r;
}

/* Keys seen so far in one body, map or argument list: a linear scan while short,
 * then an open-addressing hash of indices (so a 1 MiB body of distinct keys stays
 * linear).  slot[i] = index + 1, 0 = empty; cap is a power of two > 2 * count. */
typedef struct keyset {
    size_t *slot;
    size_t cap, count;
} keyset;

static size_t hash_key(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void keyset_put(keyset *ks, const mag_kv *kv, size_t i)
{
    if (!kv[i].key) return; /* a positional argument */
    size_t m = ks->cap - 1, h = hash_key(kv[i].key) & m;
    while (ks->slot[h])
        h = (h + 1) & m;
    ks->slot[h] = i + 1;
}

/* Index of `key` in kv[0..n) or -1 (-2: out of memory). */
static long find_key(P *p, keyset *ks, const mag_kv *kv, size_t n, const char *key)
{
    if (n <= 8) {
        for (size_t k = 0; k < n; k++)
            if (kv[k].key && !strcmp(kv[k].key, key)) return (long)k;
        return -1;
    }
    if (ks->cap < 2 * n + 2) {
        size_t cap = 64;
        while (cap < 4 * n)
            cap *= 2;
        size_t *slot = mag_arena_alloc(p->a, cap * sizeof *slot);
        if (!slot) return -2;
        ks->slot = slot, ks->cap = cap, ks->count = 0;
    }
    for (; ks->count < n; ks->count++)
        keyset_put(ks, kv, ks->count);
    size_t m = ks->cap - 1;
    for (size_t h = hash_key(key) & m; ks->slot[h]; h = (h + 1) & m)
        if (!strcmp(kv[ks->slot[h] - 1].key, key)) return (long)ks->slot[h] - 1;
    return -1;
}

/* Error if `key` is already a key of kv[0..n) (entries without a key, positional
 * arguments, are skipped). */
static int dup_key(P *p, keyset *ks, const mag_kv *kv, size_t n, const char *key, mag_pos pos)
{
    long k = find_key(p, ks, kv, n, key);
    if (k == -2) return mag_nomem(p);
    if (k < 0) return MAG_OK;
    /* same wording as the schema's duplicate check: no "near" */
    int r = mag_perr(p, MAG_ESYNTAX, pos, NULL, "duplicate key '%s' (first set at line %d)", key,
                     kv[k].key_pos.line);
    if (p->d) snprintf(p->d->token, sizeof p->d->token, "%.63s", key);
    return r;
}

/* list -> '[' [value {',' value} [',']] ']'      (t is the '[') */
static int parse_list(P *p, const tok *open, mag_value *v)
{
    size_t cap = 0, n = 0;
    mag_value *items = NULL;
    tok t;
    int r;
    if ((r = mag_lex(p, &t, 1))) return r;
    while (!is_char(&t, ']')) {
        if (t.type == T_EOF) return unclosed(p, &t, '[', ']', open->pos);
        if (!(items = mag_arena_grow(p->a, items, &cap, n + 1, sizeof *items))) return mag_nomem(p);
        if ((r = parse_value(p, &t, &items[n++]))) return r;
        if ((r = mag_lex(p, &t, 1))) return r;
        if (is_char(&t, ',')) {
            if ((r = mag_lex(p, &t, 1))) return r;
        } else if (!is_char(&t, ']'))
            return unclosed(p, &t, '[', ']', open->pos);
    }
    v->kind = MAG_V_LIST;
    v->items = items;
    v->n = n;
    return MAG_OK;
}

/* map -> '{' [NAME ':' value {',' NAME ':' value} [',']] '}'      (t is the '{') */
static int parse_map(P *p, const tok *open, mag_value *v)
{
    size_t cap = 0, n = 0;
    keyset ks = {0};
    mag_kv *e = NULL;
    tok t;
    int r;
    if ((r = mag_lex(p, &t, 1))) return r;
    while (!is_char(&t, '}')) {
        if (t.type == T_EOF) return unclosed(p, &t, '{', '}', open->pos);
        if (t.type != T_NAME) return mag_terr(p, MAG_ESYNTAX, &t, "expected a key");
        if ((r = dup_key(p, &ks, e, n, t.str, t.pos))) return r;
        if (!(e = mag_arena_grow(p->a, e, &cap, n + 1, sizeof *e))) return mag_nomem(p);
        mag_kv *kv = &e[n++];
        kv->key = t.str;
        kv->key_pos = t.pos;
        if ((r = mag_lex(p, &t, 1))) return r;
        if (t.type == T_EOF) return unclosed(p, &t, '{', '}', open->pos);
        if (!is_char(&t, ':'))
            return mag_terr(p, MAG_ESYNTAX, &t, "expected ':' after '%s'", kv->key);
        if ((r = mag_lex(p, &t, 1))) return r;
        if (t.type == T_EOF) return unclosed(p, &t, '{', '}', open->pos);
        if ((r = parse_value(p, &t, &kv->value))) return r;
        if ((r = mag_lex(p, &t, 1))) return r;
        if (is_char(&t, ',')) {
            if ((r = mag_lex(p, &t, 1))) return r;
        } else if (!is_char(&t, '}'))
            return unclosed(p, &t, '{', '}', open->pos);
    }
    v->kind = MAG_V_MAP;
    v->entries = e;
    v->n = n;
    return MAG_OK;
}

/* value -> ['-'] number | string | NAME | list | map      (t is its first token) */
static int parse_value(P *p, const tok *t, mag_value *v)
{
    memset(v, 0, sizeof *v);
    v->pos = t->pos;
    int r = MAG_OK;
    switch (t->type) {
    case T_INT:
        v->kind = MAG_V_INT, v->i = t->i, v->num = t->num;
        break;
    case T_FLOAT:
        v->kind = MAG_V_FLOAT, v->num = t->num;
        break;
    case T_STRING:
        v->kind = MAG_V_STRING, v->str = t->str;
        break;
    case T_NAME:
        v->kind = MAG_V_NAME, v->str = t->str;
        break;
    case T_CHAR:
        if (t->ch == '[' || t->ch == '{') {
            if (p->depth >= MAG_MAX_DEPTH)
                return mag_terr(p, MAG_ELIMIT, t, "nesting too deep (the limit is %d)",
                                MAG_MAX_DEPTH);
            p->depth++;
            r = t->ch == '[' ? parse_list(p, t, v) : parse_map(p, t, v);
            p->depth--;
            if (r) return r;
            break;
        }
        /* fall through */
    default:
        return mag_terr(p, MAG_ESYNTAX, t, "expected a value");
    }
    v->text = mag_arena_strndup(p->a, p->s + t->start, p->i - t->start);
    return v->text ? MAG_OK : mag_nomem(p);
}

/* ------------------------------------------------------------------ lines */

static int make_span(P *p, size_t s, size_t e, mag_pos pos, mag_span *out)
{
    while (e > s && (p->s[e - 1] == ' ' || p->s[e - 1] == '\t' || p->s[e - 1] == '\r' ||
                     p->s[e - 1] == '\n'))
        e--;
    out->pos = pos;
    out->len = e - s;
    out->text = mag_arena_strndup(p->a, p->s + s, e - s);
    return out->text ? MAG_OK : mag_nomem(p);
}

/* {arg} up to the end of the line; arg -> NAME '=' value | value */
static int parse_args(P *p, mag_kv **out, size_t *nout, mag_span *raw)
{
    size_t cap = 0, n = 0;
    keyset ks = {0};
    mag_kv *args = NULL;
    skip_blank(p);
    size_t s0 = p->i, e0 = p->i;
    mag_pos p0 = here(p);
    int r;
    for (;;) {
        tok t;
        if ((r = mag_lex(p, &t, 0))) return r;
        if (t.type == T_NL || t.type == T_EOF) break;
        if (!(args = mag_arena_grow(p->a, args, &cap, n + 1, sizeof *args))) return mag_nomem(p);
        mag_kv *kv = &args[n];
        if (t.type == T_NAME) {
            save sv = mark(p);
            tok eq;
            if ((r = mag_lex(p, &eq, 0))) return r;
            if (is_char(&eq, '=')) {
                if ((r = dup_key(p, &ks, args, n, t.str, t.pos))) return r;
                kv->key = t.str;
                kv->key_pos = t.pos;
                if ((r = mag_lex(p, &t, 0))) return r;
                if ((r = parse_value(p, &t, &kv->value))) return r;
                n++;
                e0 = p->i;
                continue;
            }
            rewind_to(p, sv);
        }
        if (t.type == T_CHAR && t.ch != '[' && t.ch != '{')
            return mag_terr(p, MAG_ESYNTAX, &t, "expected an argument");
        kv->key_pos = t.pos;
        if ((r = parse_value(p, &t, &kv->value))) return r;
        n++;
        e0 = p->i;
    }
    /* the raw text keeps a trailing comment: extend to the end of the line */
    size_t e1 = e0;
    while (e1 < p->len && p->s[e1] != '\n')
        e1++;
    *out = args;
    *nout = n;
    return make_span(p, s0, e1 > s0 ? e1 : s0, p0, raw);
}

/* Name after '%' or '%%' (t receives it). */
static int magic_name(P *p, tok *t, const char *pct)
{
    int r;
    if (!is_alpha(cur(p)) && cur(p) != '_') {
        if ((r = mag_lex(p, t, 0))) return r;
        return mag_terr(p, MAG_ESYNTAX, t, "expected a magic name after '%s'", pct);
    }
    return mag_lex(p, t, 0);
}

/* Rest of a help line must be blank or a comment. */
static int end_of_line(P *p, const char *what)
{
    tok t;
    int r = mag_lex(p, &t, 0);
    if (r) return r;
    if (t.type != T_NL && t.type != T_EOF)
        return mag_terr(p, MAG_ESYNTAX, &t, "expected end of line after %s", what);
    return MAG_OK;
}

/* help -> '?' {'?'} ['%'|'%%'] NAME           (at '?') */
static int parse_help_prefix(P *p, mag_line *ln)
{
    while (cur(p) == '?')
        adv(p);
    size_t s = p->i;
    ln->name_pos = here(p);
    while (cur(p) == '%' && p->i - s < 2)
        adv(p);
    tok t;
    int r;
    if (!is_alpha(cur(p)) && cur(p) != '_') {
        if ((r = mag_lex(p, &t, 0))) return r;
        return mag_terr(p, MAG_ESYNTAX, &t, "expected a name after '?'");
    }
    if ((r = mag_lex(p, &t, 0))) return r;
    ln->kind = MAG_LINE_HELP;
    ln->name = mag_arena_strndup(p->a, p->s + s, t.end - s);
    if (!ln->name) return mag_nomem(p);
    return end_of_line(p, "the help request");
}

/* Is the line at p a suffix help request `[%[%]]NAME?{?}` (blank/comment after)? */
static int is_suffix_help(const P *p)
{
    size_t i = p->i, k = 0;
    while (i < p->len && p->s[i] == '%' && k < 2)
        i++, k++;
    if (i >= p->len || !(is_alpha((unsigned char)p->s[i]) || p->s[i] == '_')) return 0;
    while (i < p->len && mag_is_name_char((unsigned char)p->s[i]))
        i++;
    if (i >= p->len || p->s[i] != '?') return 0;
    while (i < p->len && p->s[i] == '?')
        i++;
    while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t' || p->s[i] == '\r'))
        i++;
    return i >= p->len || p->s[i] == '\n' || p->s[i] == '#';
}

static int parse_suffix_help(P *p, mag_line *ln)
{
    size_t s = p->i;
    ln->name_pos = here(p);
    while (cur(p) == '%' || mag_is_name_char(cur(p)))
        adv(p);
    ln->kind = MAG_LINE_HELP;
    ln->name = mag_arena_strndup(p->a, p->s + s, p->i - s);
    if (!ln->name) return mag_nomem(p);
    while (cur(p) == '?')
        adv(p);
    return end_of_line(p, "the help request");
}

/* expr: raw text up to the end of the line (body: of the cell), continuing while a
 * bracket is open; checks strings and bracket balance only. */
static int scan_expr(P *p, int whole_body, mag_span *out)
{
    struct {
        char c;
        mag_pos pos;
    } stack[MAG_MAX_DEPTH];
    int depth = 0;
    mag_pos p0 = here(p);
    size_t s0 = p->i;
    for (;;) {
        int c = cur(p);
        if (c == -1) {
            if (depth > 0) {
                tok t = {.type = T_EOF, .pos = here(p), .start = p->i, .end = p->i};
                char open = stack[depth - 1].c;
                return unclosed(p, &t, open,
                                open == '('   ? ')'
                                : open == '[' ? ']'
                                              : '}',
                                stack[depth - 1].pos);
            }
            break;
        }
        if (c == '\n' && depth == 0 && !whole_body) break;
        if (c == '#') {
            while (cur(p) != -1 && cur(p) != '\n')
                adv(p);
            continue;
        }
        if (c == '"') {
            tok t = {.pos = here(p), .start = p->i};
            int r = mag_lex_string(p, &t);
            if (r) return r;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (depth == MAG_MAX_DEPTH) {
                char nb[2] = {(char)c, 0};
                return mag_perr(p, MAG_ELIMIT, here(p), nb, "nesting too deep (the limit is %d)",
                                MAG_MAX_DEPTH);
            }
            stack[depth].c = (char)c;
            stack[depth++].pos = here(p);
        } else if (c == ')' || c == ']' || c == '}') {
            tok t = {.type = T_CHAR, .ch = c, .pos = here(p), .start = p->i, .end = p->i + 1};
            if (depth == 0) return mag_terr(p, MAG_ESYNTAX, &t, "unmatched '%c'", c);
            char open = stack[depth - 1].c;
            char want = open == '(' ? ')' : open == '[' ? ']' : '}';
            if (c != want) return unclosed(p, &t, open, want, stack[depth - 1].pos);
            depth--;
        }
        adv(p);
    }
    return make_span(p, s0, p->i, p0, out);
}

/* line -> '%' NAME {arg} | help | expr | comment | <blank>      (at its first char) */
static int parse_line(P *p, mag_line *ln)
{
    memset(ln, 0, sizeof *ln);
    ln->pos = here(p);
    int r;
    if (is_suffix_help(p)) return parse_suffix_help(p, ln);
    if (cur(p) == '%' && at(p, 1) == '%') {
        size_t e = p->i;
        while (e < p->len && (p->s[e] == '%' || mag_is_name_char((unsigned char)p->s[e])))
            e++;
        char nb[64];
        size_t n = e - p->i < sizeof nb - 1 ? e - p->i : sizeof nb - 1;
        memcpy(nb, p->s + p->i, n), nb[n] = '\0';
        return mag_perr(p, MAG_ESYNTAX, ln->pos, nb,
                        "a cell magic must be the first line of the cell");
    }
    if (cur(p) == '?') return parse_help_prefix(p, ln);
    if (cur(p) == '%') {
        adv(p);
        tok t;
        if ((r = magic_name(p, &t, "%"))) return r;
        ln->kind = MAG_LINE_MAGIC;
        ln->name = t.str;
        ln->name_pos = t.pos;
        return parse_args(p, &ln->args, &ln->nargs, &ln->args_text);
    }
    ln->kind = MAG_LINE_EXPR;
    r = scan_expr(p, 0, &ln->expr);
    if (!r && cur(p) == '\n') adv(p);
    return r;
}

/* body -> {key '=' value NEWLINE}       (configuration magics) */
static int parse_config(P *p, mag_cell *c)
{
    size_t cap = 0, n = 0;
    keyset ks = {0};
    mag_kv *e = NULL;
    int r;
    for (;;) {
        tok t;
        if ((r = mag_lex(p, &t, 0))) return r;
        if (t.type == T_NL) continue;
        if (t.type == T_EOF) break;
        if (t.type != T_NAME) return mag_terr(p, MAG_ESYNTAX, &t, "expected a key");
        if ((r = dup_key(p, &ks, e, n, t.str, t.pos))) return r;
        if (!(e = mag_arena_grow(p->a, e, &cap, n + 1, sizeof *e))) return mag_nomem(p);
        mag_kv *kv = &e[n++];
        kv->key = t.str;
        kv->key_pos = t.pos;
        if ((r = mag_lex(p, &t, 0))) return r;
        if (!is_char(&t, '='))
            return mag_terr(p, MAG_ESYNTAX, &t, "expected '=' after '%s'", kv->key);
        if ((r = mag_lex(p, &t, 0))) return r;
        if ((r = parse_value(p, &t, &kv->value))) return r;
        if ((r = mag_lex(p, &t, 0))) return r;
        if (t.type != T_NL && t.type != T_EOF)
            return mag_terr(p, MAG_ESYNTAX, &t, "expected end of line after the value of '%s'",
                            kv->key);
        if (t.type == T_EOF) break;
    }
    c->entries = e;
    c->nentries = n;
    return MAG_OK;
}

/* cell -> '%%' NAME {arg} NEWLINE body        (at the first '%') */
static int parse_cell_magic(P *p, mag_cell *c, const mag_parse_opts *opts)
{
    int r;
    c->kind = MAG_CELL_MAGIC;
    c->pos = here(p);
    adv(p), adv(p);
    tok t;
    if ((r = magic_name(p, &t, "%%"))) return r;
    c->name = t.str;
    c->name_pos = t.pos;
    if ((r = parse_args(p, &c->args, &c->nargs, &c->args_text))) return r;
    c->body_kind = mag_body_kind_of(opts, c->name);
    mag_pos bpos = here(p);
    size_t bs = p->i;
    c->body.pos = bpos;
    c->body.len = p->len - bs;
    c->body.text = mag_arena_strndup(p->a, p->s + bs, p->len - bs);
    if (!c->body.text) return mag_nomem(p);
    if (c->body_kind == MAG_BODY_CONFIG) return parse_config(p, c);
    if (c->body_kind == MAG_BODY_EXPR) {
        /* skip blank and comment-only lines before the expression */
        for (;;) {
            skip_blank(p);
            if (cur(p) == '#')
                while (cur(p) != -1 && cur(p) != '\n')
                    adv(p);
            if (cur(p) != '\n') break;
            adv(p);
        }
        if (cur(p) == -1) {
            int r2 = mag_perr(p, MAG_ESYNTAX, here(p), MAG_NEAR_EOF,
                              "expected an expression in the body of '%%%%%s'", c->name);
            if (p->d) p->d->incomplete = 1;
            return r2;
        }
        return scan_expr(p, 1, &c->body);
    }
    p->i = p->len;
    return MAG_OK;
}

mag_body_kind mag_body_kind_of(const mag_parse_opts *opts, const char *name)
{
    return opts && opts->body_kind ? opts->body_kind(name, opts->ud) : MAG_BODY_RAW;
}

static mag_cell *new_cell(P *p)
{
    p->a = mag_arena_new();
    if (!p->a) return NULL;
    mag_cell *c = mag_arena_alloc(p->a, sizeof *c);
    if (!c) {
        mag_arena_free(p->a);
        return NULL;
    }
    c->priv = p->a;
    return c;
}

/* cell -> '%%' NAME {arg} NEWLINE body | {line} */
int mag_parse_cell(const char *src, size_t len, const mag_parse_opts *opts, mag_cell **out,
                   mag_diag *d)
{
    if (out) *out = NULL;
    if (d) memset(d, 0, sizeof *d);
    if ((!src && len) || !out)
        return mag_diag_set(d, NULL, 0, MAG_EARG, 0, 0, NULL, "invalid arguments");
    P p = {.s = src ? src : "", .len = len, .line = 1, .col = 1, .d = d};
    int r = mag_check_input(&p);
    if (r) return r;
    mag_cell *c = new_cell(&p);
    if (!c) return mag_nomem(&p);
    /* a byte-order mark (files saved by some editors) is skipped, not counted */
    if (len >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3)) p.i = 3;
    /* blank and comment lines may precede a cell magic */
    for (;;) {
        skip_blank(&p);
        if (cur(&p) == '#')
            while (cur(&p) != -1 && cur(&p) != '\n')
                adv(&p);
        if (cur(&p) != '\n') break;
        adv(&p);
    }
    if (cur(&p) == '%' && at(&p, 1) == '%' && !is_suffix_help(&p)) {
        r = parse_cell_magic(&p, c, opts);
    } else {
        size_t cap = 0;
        c->kind = MAG_CELL_LINES;
        while (!r) {
            skip_blank(&p);
            if (cur(&p) == -1) break;
            if (cur(&p) == '\n') {
                adv(&p);
                continue;
            }
            if (cur(&p) == '#') {
                while (cur(&p) != -1 && cur(&p) != '\n')
                    adv(&p);
                continue;
            }
            if (!(c->lines =
                      mag_arena_grow(p.a, c->lines, &cap, c->nlines + 1, sizeof *c->lines))) {
                r = mag_nomem(&p);
                break;
            }
            r = parse_line(&p, &c->lines[c->nlines]);
            if (!r) c->nlines++;
        }
    }
    if (r) {
        mag_arena_free(p.a);
        return r;
    }
    *out = c;
    return MAG_OK;
}

void mag_cell_free(mag_cell *cell)
{
    if (cell) mag_arena_free(cell->priv);
}

int mag_parse_value(const char *src, size_t len, const mag_value **out, mag_cell **owner,
                    mag_diag *d)
{
    if (out) *out = NULL;
    if (owner) *owner = NULL;
    if (d) memset(d, 0, sizeof *d);
    if (!src || !out || !owner)
        return mag_diag_set(d, NULL, 0, MAG_EARG, 0, 0, NULL, "invalid arguments");
    P p = {.s = src, .len = len, .line = 1, .col = 1, .d = d};
    int r = mag_check_input(&p);
    if (r) return r;
    mag_cell *c = new_cell(&p);
    if (!c) return mag_nomem(&p);
    mag_value *v = mag_arena_alloc(p.a, sizeof *v);
    tok t;
    if (!v) r = mag_nomem(&p);
    if (!r) r = mag_lex(&p, &t, 1);
    if (!r) r = parse_value(&p, &t, v);
    if (!r) r = mag_lex(&p, &t, 1);
    if (!r && t.type != T_EOF) r = mag_terr(&p, MAG_ESYNTAX, &t, "expected end of value");
    if (r) {
        mag_arena_free(p.a);
        return r;
    }
    c->kind = MAG_CELL_LINES;
    *out = v;
    *owner = c;
    return MAG_OK;
}
