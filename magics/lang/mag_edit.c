/* mag_edit.c: editor support on raw cell text: is_complete, completion context and
 * inspection context.  Positions are Unicode code points, as in the Jupyter protocol.
 * These functions never fail on malformed text: a tolerant scanner (strings,
 * comments, bracket depth, `key =`) replaces the parser where the text is partial.
 * Leaves out: the candidates themselves (magic names, schema keys, objects) which
 * the magic handlers supply for the context returned here. */
#include <stdio.h>
#include <string.h>

#include "mag_lang.h"
#include "mag_lang_priv.h"

/* Is the first content line (after blank and comment lines) a '%%' header? */
static int starts_with_cell_magic(const char *s, size_t len)
{
    size_t i = 0;
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            i++;
        if (i < len && s[i] == '#')
            while (i < len && s[i] != '\n')
                i++;
        if (i < len && s[i] == '\n') {
            i++;
            continue;
        }
        return i + 1 < len && s[i] == '%' && s[i + 1] == '%';
    }
}

mag_completeness mag_is_complete(const char *code, size_t len, const mag_parse_opts *opts,
                                 char *indent, size_t cap)
{
    if (indent && cap) indent[0] = '\0';
    if (!code) return len ? MAG_INVALID : MAG_COMPLETE;
    /* a cell magic is submitted by a blank last line (IPython's convention) */
    size_t e = len;
    while (e > 0 && (code[e - 1] == ' ' || code[e - 1] == '\t' || code[e - 1] == '\r'))
        e--;
    int ends_blank = e > 0 && code[e - 1] == '\n';
    int two_newlines = ends_blank && e > 1 && code[e - 2] == '\n';
    int cell_magic = starts_with_cell_magic(code, len);
    mag_cell *c;
    mag_diag d;
    int r = mag_parse_cell(code, len, opts, &c, &d);
    if (r) {
        if (d.incomplete == 2 && indent) snprintf(indent, cap, "    ");
        if (d.incomplete == 2) return MAG_INCOMPLETE; /* open bracket */
        if (d.incomplete == 1) return two_newlines ? MAG_INVALID : MAG_INCOMPLETE;
        /* a body line being typed: wait for the blank line, then show the error */
        return cell_magic && !ends_blank && r == MAG_ESYNTAX ? MAG_INCOMPLETE : MAG_INVALID;
    }
    mag_completeness res = MAG_COMPLETE;
    if (c->kind == MAG_CELL_MAGIC) {
        int has_body = 0;
        for (size_t i = 0; i < c->body.len; i++) {
            char ch = c->body.text[i];
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') has_body = 1;
        }
        if (!has_body) /* header alone: wait, unless submitted with an empty line */
            res = two_newlines && c->body_kind != MAG_BODY_EXPR ? MAG_COMPLETE : MAG_INCOMPLETE;
        else
            res = ends_blank ? MAG_COMPLETE : MAG_INCOMPLETE;
    }
    mag_cell_free(c);
    return res;
}

/* ------------------------------------------------------------------ context */

typedef struct scan {
    int in_str, in_comment, depth;
    int expecting; /* saw `NAME =` at depth 0: the next value belongs to key */
    char key[64];
    int npos; /* positional values completed at depth 0 */
} scan;

static void copy_word(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Scan s[i..e): arguments or one `key = value` statement, tolerant of anything. */
static void scan_args(const char *s, size_t i, size_t e, scan *st)
{
    memset(st, 0, sizeof *st);
    while (i < e) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            i++;
            while (i < e && s[i] != '"' && s[i] != '\n')
                i += s[i] == '\\' && i + 1 < e ? 2 : 1;
            if (i >= e) {
                st->in_str = 1;
                return;
            }
            i++;
            if (st->depth == 0) {
                if (st->expecting)
                    st->expecting = 0, st->key[0] = '\0';
                else
                    st->npos++;
            }
            continue;
        }
        if (c == '#') {
            while (i < e && s[i] != '\n')
                i++;
            if (i >= e) {
                st->in_comment = 1;
                return;
            }
            continue;
        }
        if (c == '[' || c == '{' || c == '(') {
            st->depth++;
            i++;
            continue;
        }
        if (c == ']' || c == '}' || c == ')') {
            if (st->depth > 0 && --st->depth == 0) {
                if (st->expecting)
                    st->expecting = 0, st->key[0] = '\0';
                else
                    st->npos++;
            }
            i++;
            continue;
        }
        if (st->depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
            continue;
        }
        if (c == '=') {
            st->expecting = 1;
            i++;
            continue;
        }
        size_t t0 = i;
        while (i < e &&
               (mag_is_name_char((unsigned char)s[i]) || s[i] == '~' || s[i] == '+' || s[i] == '-'))
            i++;
        if (i == t0) i++; /* other punctuation or a non-ASCII code point byte */
        size_t j = i;
        while (j < e && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j < e && s[j] == '=' && mag_is_name_start((unsigned char)s[t0])) {
            copy_word(st->key, sizeof st->key, s + t0, i - t0);
            continue; /* the '=' sets expecting */
        }
        if (st->expecting)
            st->expecting = 0, st->key[0] = '\0';
        else
            st->npos++;
    }
}

/* Start of the statement containing byte b in a config body starting at bs: the
 * last line start reached at bracket depth 0 outside strings. */
static size_t statement_start(const char *s, size_t bs, size_t b)
{
    size_t start = bs;
    int depth = 0;
    for (size_t i = bs; i < b; i++) {
        char c = s[i];
        if (c == '"') {
            i++;
            while (i < b && s[i] != '"' && s[i] != '\n')
                i += s[i] == '\\' ? 2 : 1;
            if (i < b && s[i] == '\n') {
                if (depth == 0) start = i + 1;
            }
        } else if (c == '#') {
            while (i + 1 < b && s[i + 1] != '\n')
                i++;
        } else if (c == '[' || c == '{' || c == '(')
            depth++;
        else if ((c == ']' || c == '}' || c == ')') && depth > 0)
            depth--;
        else if (c == '\n' && depth == 0)
            start = i + 1;
    }
    return start;
}

static int word_char(int c)
{
    return mag_is_name_char(c) || c == '~';
}

static int context(const char *code, size_t len, size_t cursor, int inspect,
                   const mag_parse_opts *opts, mag_cursor_ctx *o)
{
    if (!o) return MAG_EARG;
    memset(o, 0, sizeof *o);
    if (!code) return len ? MAG_EARG : MAG_OK;
    size_t b = rt_utf8_offset(code, len, cursor);
    /* the word around the cursor */
    size_t ws = b, we = b;
    while (ws > 0 && word_char((unsigned char)code[ws - 1]))
        ws--;
    while (we < len && word_char((unsigned char)code[we]))
        we++;
    if (inspect && ws == we && b < len && code[b] == '%') { /* on the '%' of %name */
        size_t k = b;
        while (k < len && code[k] == '%')
            k++;
        ws = we = k;
        while (we < len && word_char((unsigned char)code[we]))
            we++;
    }
    o->start = rt_utf8_cols(code, ws);
    o->end = rt_utf8_cols(code, we);
    copy_word(o->prefix, sizeof o->prefix, code + ws, (b > ws ? b : ws) - ws);
    copy_word(o->word, sizeof o->word, code + ws, we - ws);
    if (inspect && b < ws) copy_word(o->prefix, sizeof o->prefix, code + ws, we - ws);

    /* first content line: a '%%' header makes the rest a body */
    size_t i = 0;
    for (;;) {
        while (i < len && (code[i] == ' ' || code[i] == '\t' || code[i] == '\r'))
            i++;
        if (i < len && code[i] == '#')
            while (i < len && code[i] != '\n')
                i++;
        if (i < len && code[i] == '\n' && i < ws) {
            i++;
            continue;
        }
        break;
    }
    size_t ls = ws; /* start of the cursor's line */
    while (ls > 0 && code[ls - 1] != '\n')
        ls--;
    int header = i + 1 < len && code[i] == '%' && code[i + 1] == '%';
    if (header && ls > i) {
        /* inside the body of cell magic X */
        size_t ns = i + 2, ne = ns;
        while (ne < len && word_char((unsigned char)code[ne]))
            ne++;
        copy_word(o->magic, sizeof o->magic, code + ns, ne - ns);
        o->cell_magic = 1;
        size_t bs = ne;
        while (bs < len && code[bs] != '\n')
            bs++;
        if (bs < len) bs++;
        mag_body_kind k = mag_body_kind_of(opts, o->magic);
        scan st;
        if (k == MAG_BODY_RAW) return MAG_OK;
        size_t ss = k == MAG_BODY_EXPR ? bs : statement_start(code, bs, ws);
        scan_args(code, ss, ws, &st);
        if (st.in_str || st.in_comment) return MAG_OK;
        if (k == MAG_BODY_EXPR) {
            o->kind = MAG_CTX_EXPR;
            return MAG_OK;
        }
        if (st.expecting || st.depth > 0 || st.npos > 0) {
            if (!st.key[0]) return MAG_OK;
            o->kind = MAG_CTX_VALUE;
            copy_word(o->key, sizeof o->key, st.key, strlen(st.key));
        } else
            o->kind = MAG_CTX_KEY;
        return MAG_OK;
    }
    /* a line: '%name args', '%%name args' (header), '?name', 'name?' or an expression;
       a line continued inside brackets belongs to the line that opened them */
    if (!header) ls = statement_start(code, 0, ws);
    size_t k = ls;
    while (k < ws && (code[k] == ' ' || code[k] == '\t'))
        k++;
    if (k < len && code[k] == '?') {
        o->kind = MAG_CTX_HELP;
        return MAG_OK;
    }
    if (we < len && code[we] == '?') {
        o->kind = MAG_CTX_HELP;
        return MAG_OK;
    }
    if (k < len && code[k] == '%') {
        size_t ns = k;
        while (ns < len && code[ns] == '%' && ns - k < 2)
            ns++;
        o->cell_magic = ns - k == 2;
        if (ws < ns) /* cursor before or between the '%' signs: nothing to complete */
            return MAG_OK;
        if (ws == ns) {
            o->kind = MAG_CTX_MAGIC;
            return MAG_OK;
        }
        size_t ne = ns;
        while (ne < len && word_char((unsigned char)code[ne]))
            ne++;
        copy_word(o->magic, sizeof o->magic, code + ns, ne - ns);
        scan st;
        scan_args(code, ne, ws, &st);
        if (st.in_str || st.in_comment) return MAG_OK;
        if (st.expecting || (st.depth > 0 && st.key[0])) {
            o->kind = MAG_CTX_VALUE;
            copy_word(o->key, sizeof o->key, st.key, strlen(st.key));
            return MAG_OK;
        }
        size_t j = we;
        while (j < len && (code[j] == ' ' || code[j] == '\t'))
            j++;
        if (j < len && code[j] == '=' && st.depth == 0) {
            o->kind = MAG_CTX_KEY;
            return MAG_OK;
        }
        o->kind = MAG_CTX_ARG;
        o->arg_index = st.depth > 0 ? st.npos : st.npos;
        return MAG_OK;
    }
    /* expression line: nothing inside a string or comment */
    scan st;
    scan_args(code, ls, ws, &st);
    if (st.in_str || st.in_comment) return MAG_OK;
    o->kind = MAG_CTX_EXPR;
    return MAG_OK;
}

/* NONE carries no magic or key: nothing is offered there. */
static int finish(int r, mag_cursor_ctx *o)
{
    if (!r && o->kind == MAG_CTX_NONE) o->magic[0] = o->key[0] = '\0', o->cell_magic = 0;
    return r;
}

int mag_complete_context(const char *code, size_t len, size_t cursor, const mag_parse_opts *opts,
                         mag_cursor_ctx *out)
{
    return finish(context(code, len, cursor, 0, opts, out), out);
}

int mag_inspect_context(const char *code, size_t len, size_t cursor, const mag_parse_opts *opts,
                        mag_cursor_ctx *out)
{
    return finish(context(code, len, cursor, 1, opts, out), out);
}
