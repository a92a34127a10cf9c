/* mag_interp: the first interpreter (see mag_interp.h): line magics, ?NAME help and an
 * arithmetic evaluator, with errors "cell:LINE:COL: message" (code-point columns) and a
 * traceback of the line and a caret. Leaves out cell magics (every %%name is reported as
 * unknown), variables and everything the cell language (magics/lang) adds later. */
#include "mag_interp.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "krn_utf8.h"

#define MAX_DEPTH 200

typedef struct magic {
    const char *name;
    const char *usage;
    const char *help;
} magic;

static const magic magics[] = {
    {"clear", "%clear", "Clear the output of the current cell."},
    {"display", "%display [--id=ID] [--update] TEXT",
     "Show TEXT as display_data (text/plain). With --id=ID the display can be changed later\n"
     "by '%display --id=ID --update TEXT' (update_display_data)."},
    {"echo", "%echo [--stderr] TEXT",
     "Print TEXT followed by a newline (on stderr with --stderr)."},
    {"help", "%help NAME", "Show the help of magic NAME in the pager (also: ?NAME)."},
    {"input", "%input PROMPT", "Ask the user for a line of input (stdin channel) and print it."},
    {"lsmagic", "%lsmagic", "List the available magics."},
    {"sleep", "%sleep SECONDS", "Wait SECONDS (a number); an interrupt stops the wait."},
};
#define N_MAGICS (sizeof magics / sizeof magics[0])

static const magic *find_magic(const char *name, size_t len)
{
    for (size_t i = 0; i < N_MAGICS; i++)
        if (strlen(magics[i].name) == len && strncmp(magics[i].name, name, len) == 0)
            return &magics[i];
    return NULL;
}

static size_t levenshtein(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), prev[64], cur[64];
    if (na >= 63 || nb >= 63) return 99;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (nb + 1) * sizeof *prev);
    }
    return prev[nb];
}

/* ---- positions and errors --------------------------------------------------------------- */

typedef struct cell {
    const char *text; /* whole cell */
    krn_out *out;
} cell;

static void line_col(const char *text, size_t off, int *line, int *col, size_t *line_start)
{
    int l = 1;
    size_t ls = 0;
    for (size_t i = 0; i < off && text[i]; i++)
        if (text[i] == '\n') {
            l++;
            ls = i + 1;
        }
    *line = l;
    *col = (int)krn_utf8_byte_to_cp(text + ls, off - ls) + 1;
    if (line_start) *line_start = ls;
}

/* Publishes error ename with evalue "cell:L:C: msg" and traceback [line, caret]. */
static int cell_error(cell *c, size_t off, const char *ename, const char *msg)
{
    int line, col;
    size_t ls;
    line_col(c->text, off, &line, &col, &ls);
    char evalue[512];
    snprintf(evalue, sizeof evalue, "cell:%d:%d: %s", line, col, msg);
    size_t le = ls + strcspn(c->text + ls, "\n");
    char *src = malloc(le - ls + 1), *caret = malloc((size_t)col + 1);
    if (src && caret) {
        memcpy(src, c->text + ls, le - ls);
        src[le - ls] = '\0';
        memset(caret, ' ', (size_t)col - 1);
        caret[col - 1] = '^';
        caret[col] = '\0';
        const char *tb[2] = {src, caret};
        krn_out_error(c->out, ename, evalue, tb, 2);
    } else {
        krn_out_error(c->out, ename, evalue, NULL, 0);
    }
    free(src);
    free(caret);
    return KRN_EXEC_ERROR;
}

/* ---- arithmetic ---------------------------------------------------------------------- */

typedef struct parser {
    const char *s;   /* whole text (positions are offsets into it) */
    size_t pos, end; /* current offset, end of the expression span */
    int depth;
    size_t err_off;
    char err[200];
} parser;

static void skip_ws(parser *p)
{
    while (p->pos < p->end) {
        char ch = p->s[p->pos];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            p->pos++;
        else if (ch == '#')
            while (p->pos < p->end && p->s[p->pos] != '\n')
                p->pos++;
        else
            break;
    }
}

static int perr(parser *p, size_t off, const char *fmt, const char *arg)
{
    if (!p->err[0]) {
        p->err_off = off;
        snprintf(p->err, sizeof p->err, fmt, arg);
    }
    return -1;
}

static const char *near_tok(parser *p, char buf[16])
{
    if (p->pos >= p->end) return "end of line";
    size_t n = krn_utf8_cp_to_byte(p->s + p->pos, 1);
    if (n > 8) n = 8;
    snprintf(buf, 16, "'%.*s'", (int)n, p->s + p->pos);
    return buf;
}

static int p_expr(parser *p, double *v);

/* primary -> NUMBER | '(' expr ')' */
static int p_primary(parser *p, double *v)
{
    char nb[16];
    skip_ws(p);
    size_t start = p->pos;
    if (p->pos < p->end && p->s[p->pos] == '(') {
        if (++p->depth > MAX_DEPTH) return perr(p, start, "%s", "expression nested too deeply");
        p->pos++;
        if (p_expr(p, v) < 0) return -1;
        skip_ws(p);
        if (p->pos >= p->end || p->s[p->pos] != ')') {
            int line, col;
            line_col(p->s, start, &line, &col, NULL);
            char msg[64];
            snprintf(msg, sizeof msg, "(to close '(' at %d:%d)", line, col);
            char full[120];
            snprintf(full, sizeof full, "expected ')' near %s %s", near_tok(p, nb), msg);
            return perr(p, p->pos, "%s", full);
        }
        p->pos++;
        p->depth--;
        return 0;
    }
    size_t i = p->pos;
    while (i < p->end && p->s[i] >= '0' && p->s[i] <= '9')
        i++;
    if (i < p->end && p->s[i] == '.') {
        i++;
        while (i < p->end && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
    }
    if (i == p->pos || (i == p->pos + 1 && p->s[p->pos] == '.')) {
        char full[64];
        snprintf(full, sizeof full, "expected a number or '(' near %s", near_tok(p, nb));
        return perr(p, p->pos, "%s", full);
    }
    if (i < p->end && (p->s[i] == 'e' || p->s[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->end && (p->s[j] == '+' || p->s[j] == '-')) j++;
        if (j < p->end && p->s[j] >= '0' && p->s[j] <= '9') {
            while (j < p->end && p->s[j] >= '0' && p->s[j] <= '9')
                j++;
            i = j;
        }
    }
    char tmp[128];
    size_t n = i - p->pos < sizeof tmp - 1 ? i - p->pos : sizeof tmp - 1;
    memcpy(tmp, p->s + p->pos, n);
    tmp[n] = '\0';
    *v = strtod(tmp, NULL);
    p->pos = i;
    return 0;
}

static int p_unary(parser *p, double *v);

/* power -> primary ('^' unary)?   (right associative; -2^2 is -(2^2)) */
static int p_power(parser *p, double *v)
{
    if (p_primary(p, v) < 0) return -1;
    skip_ws(p);
    if (p->pos < p->end && p->s[p->pos] == '^') {
        p->pos++;
        double e;
        if (p_unary(p, &e) < 0) return -1;
        *v = pow(*v, e);
    }
    return 0;
}

/* unary -> ('-' | '+') unary | power */
static int p_unary(parser *p, double *v)
{
    skip_ws(p);
    if (p->pos < p->end && (p->s[p->pos] == '-' || p->s[p->pos] == '+')) {
        char op = p->s[p->pos++];
        if (++p->depth > MAX_DEPTH)
            return perr(p, p->pos - 1, "%s", "expression nested too deeply");
        if (p_unary(p, v) < 0) return -1;
        p->depth--;
        if (op == '-') *v = -*v;
        return 0;
    }
    return p_power(p, v);
}

/* term -> unary (('*' | '/') unary)* */
static int p_term(parser *p, double *v)
{
    if (p_unary(p, v) < 0) return -1;
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->end || (p->s[p->pos] != '*' && p->s[p->pos] != '/')) return 0;
        char op = p->s[p->pos];
        size_t at = p->pos++;
        double r;
        if (p_unary(p, &r) < 0) return -1;
        if (op == '*')
            *v *= r;
        else if (r == 0)
            return perr(p, at, "%s", "division by zero");
        else
            *v /= r;
    }
}

/* expr -> term (('+' | '-') term)* */
static int p_expr(parser *p, double *v)
{
    if (p_term(p, v) < 0) return -1;
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->end || (p->s[p->pos] != '+' && p->s[p->pos] != '-')) return 0;
        char op = p->s[p->pos++];
        double r;
        if (p_term(p, &r) < 0) return -1;
        *v = op == '+' ? *v + r : *v - r;
    }
}

/* Parses s[start, end) as one whole expression. */
static int parse_span(parser *p, const char *s, size_t start, size_t end, double *v)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->pos = start;
    p->end = end;
    if (p_expr(p, v) < 0) return -1;
    skip_ws(p);
    if (p->pos < p->end) {
        char nb[16];
        if (p->s[p->pos] == ')') return perr(p, p->pos, "%s", "unmatched ')'");
        char full[64];
        snprintf(full, sizeof full, "unexpected %s after the expression", near_tok(p, nb));
        return perr(p, p->pos, "%s", full);
    }
    return 0;
}

int mag_interp_eval(const char *expr, double *value, char err[256])
{
    parser p;
    if (parse_span(&p, expr, 0, strlen(expr), value) == 0) return 0;
    int line, col;
    line_col(expr, p.err_off, &line, &col, NULL);
    snprintf(err, 256, "%d: %s", col, p.err);
    return -1;
}

void mag_interp_format(double v, char out[64])
{
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e16) {
        snprintf(out, 64, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 64, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

/* ---- magics ------------------------------------------------------------------------- */

static bool interrupted_error(cell *c, const char *what)
{
    if (!krn_out_interrupted(c->out)) return false;
    char msg[128];
    snprintf(msg, sizeof msg, "interrupted%s%s", what ? " during " : "", what ? what : "");
    krn_out_error(c->out, "Interrupted", msg, NULL, 0);
    return true;
}

static void help_text(const magic *m, char *buf, size_t n)
{
    snprintf(buf, n, "%s\n\n%s\n", m->usage, m->help);
}

static int do_sleep(cell *c, const char *args, size_t args_off)
{
    char *end;
    double secs = strtod(args, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == args || (*end && *end != '\n') || !(secs >= 0) || secs > 1e7) {
        char msg[160];
        snprintf(msg, sizeof msg, "%%sleep expects a number of seconds, got '%.*s'",
                 (int)strcspn(args, "\n"), args);
        return cell_error(c, args_off, "ValueError", msg);
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (interrupted_error(c, "%sleep")) return KRN_EXEC_INTERRUPTED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9;
        double left = secs - el;
        if (left <= 0) return KRN_EXEC_OK;
        double step = left < 0.01 ? left : 0.01;
        struct timespec ts = {0, (long)(step * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int do_help(cell *c, const char *name, size_t len, size_t off)
{
    if (len && name[0] == '%') {
        name++;
        len--;
    }
    const magic *m = find_magic(name, len);
    if (!m) {
        char msg[128];
        snprintf(msg, sizeof msg, "no help for '%.*s' (try %%lsmagic)", (int)(len < 60 ? len : 60),
                 name);
        return cell_error(c, off, "NameError", msg);
    }
    char buf[512];
    help_text(m, buf, sizeof buf);
    krn_out_pager(c->out, buf);
    return KRN_EXEC_OK;
}

static int do_display(cell *c, const char *args, size_t off)
{
    char id[128] = "";
    bool update = false;
    const char *p = args;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "--update", 8) == 0 && (p[8] == ' ' || p[8] == '\0' || p[8] == '\t')) {
            update = true;
            p += 8;
        } else if (strncmp(p, "--id=", 5) == 0) {
            size_t n = strcspn(p + 5, " \t");
            if (n == 0 || n >= sizeof id)
                return cell_error(c, off + (size_t)(p - args), "ValueError",
                                  "%display --id= needs an id (1-127 characters)");
            memcpy(id, p + 5, n);
            id[n] = '\0';
            p += 5 + n;
        } else {
            break;
        }
    }
    if (update && !id[0])
        return cell_error(c, off, "ValueError", "%display --update needs --id=ID");
    krn_out_display_text(c->out, p, id[0] ? id : NULL, update);
    return KRN_EXEC_OK;
}

static int do_input(cell *c, const char *prompt, size_t off)
{
    char *reply = NULL;
    int rc = krn_out_input(c->out, prompt, false, &reply);
    if (rc == KRN_OUT_EINTR) {
        krn_out_error(c->out, "Interrupted", "interrupted during %input", NULL, 0);
        return KRN_EXEC_INTERRUPTED;
    }
    if (rc != 0)
        return cell_error(c, off, "StdinNotImplementedError",
                          "%input: this client does not accept input");
    krn_out_printf(c->out, KRN_STDOUT, "%s\n", reply);
    free(reply);
    return KRN_EXEC_OK;
}

/* line -> '%' NAME args   (the line is s[off, eol), NUL-terminated copy in line) */
static int run_magic(cell *c, const char *line, size_t off)
{
    const char *name = line + 1;
    size_t nlen = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    const char *args = name + nlen;
    if (*args && *args != ' ' && *args != '\t') nlen = strcspn(name, " \t");
    args = name + nlen;
    while (*args == ' ' || *args == '\t')
        args++;
    size_t args_off = off + (size_t)(args - line);
    const magic *m = find_magic(name, nlen);
    if (!m) {
        char msg[200];
        const magic *best = NULL;
        size_t bd = 99;
        for (size_t i = 0; i < N_MAGICS; i++) {
            size_t d = levenshtein(name, nlen, magics[i].name);
            if (d < bd) {
                bd = d;
                best = &magics[i];
            }
        }
        int shown = (int)(nlen < 60 ? nlen : 60);
        if (nlen == 0)
            snprintf(msg, sizeof msg, "expected a magic name after '%%'");
        else if (best && bd <= 2 && bd < nlen)
            snprintf(msg, sizeof msg, "unknown magic '%%%.*s' (did you mean '%%%s'?)", shown, name,
                     best->name);
        else
            snprintf(msg, sizeof msg, "unknown magic '%%%.*s' (see %%lsmagic)", shown, name);
        return cell_error(c, off, "NameError", msg);
    }
    if (strcmp(m->name, "echo") == 0) {
        enum krn_stream s = KRN_STDOUT;
        if (strncmp(args, "--stderr", 8) == 0 && (args[8] == ' ' || args[8] == '\0')) {
            s = KRN_STDERR;
            args += 8;
            if (*args == ' ') args++;
        }
        krn_out_printf(c->out, s, "%s\n", args);
        return KRN_EXEC_OK;
    }
    if (strcmp(m->name, "sleep") == 0) return do_sleep(c, args, args_off);
    if (strcmp(m->name, "clear") == 0) {
        krn_out_clear(c->out, false);
        return KRN_EXEC_OK;
    }
    if (strcmp(m->name, "lsmagic") == 0) {
        krn_out_printf(c->out, KRN_STDOUT, "Available line magics:\n");
        for (size_t i = 0; i < N_MAGICS; i++)
            krn_out_printf(c->out, KRN_STDOUT, "%%%s%s", magics[i].name,
                           i + 1 < N_MAGICS ? "  " : "\n");
        return KRN_EXEC_OK;
    }
    if (strcmp(m->name, "help") == 0) {
        size_t n = strcspn(args, " \t");
        if (n == 0) return do_help(c, "help", 4, args_off);
        return do_help(c, args, n, args_off);
    }
    if (strcmp(m->name, "display") == 0) return do_display(c, args, args_off);
    return do_input(c, args, args_off);
}

/* ---- cells --------------------------------------------------------------------------- */

/* Bracket depth of an expression span, ignoring comments; *neg = offset of the first
 * unmatched ')' or SIZE_MAX. */
static int bracket_depth(const char *s, size_t start, size_t end, size_t *neg)
{
    int d = 0;
    *neg = (size_t)-1;
    for (size_t i = start; i < end; i++) {
        if (s[i] == '#')
            while (i < end && s[i] != '\n')
                i++;
        else if (s[i] == '(')
            d++;
        else if (s[i] == ')' && --d < 0 && *neg == (size_t)-1)
            *neg = i;
    }
    return d;
}

static size_t line_end(const char *s, size_t i)
{
    return i + strcspn(s + i, "\n");
}

static int mi_execute(void *self, krn_out *out, const char *code, int count)
{
    (void)self;
    (void)count;
    cell c = {code, out};
    size_t i = 0, n = strlen(code);
    while (i < n && (code[i] == ' ' || code[i] == '\t' || code[i] == '\n' || code[i] == '\r'))
        i++;
    if (strncmp(code + i, "%%", 2) == 0) {
        size_t nl = strcspn(code + i + 2, " \t\n");
        char msg[120];
        snprintf(msg, sizeof msg, "unknown cell magic '%%%%%.*s' (this kernel has none yet)",
                 (int)(nl < 60 ? nl : 60), code + i + 2);
        return cell_error(&c, i, "NameError", msg);
    }
    i = 0;
    while (i < n) {
        size_t le = line_end(code, i);
        size_t p = i;
        while (p < le && (code[p] == ' ' || code[p] == '\t' || code[p] == '\r'))
            p++;
        if (p == le || code[p] == '#') {
            i = le + 1;
            continue;
        }
        if (interrupted_error(&c, NULL)) return KRN_EXEC_INTERRUPTED;
        if (code[p] == '%' || code[p] == '?') {
            size_t e = le;
            while (e > p && (code[e - 1] == ' ' || code[e - 1] == '\t' || code[e - 1] == '\r'))
                e--;
            char *line = malloc(e - p + 1);
            if (!line) return KRN_EXEC_ERROR;
            memcpy(line, code + p, e - p);
            line[e - p] = '\0';
            int rc;
            if (line[0] == '?') {
                const char *nm = line + 1;
                size_t nn = strcspn(nm, " \t");
                rc = nn ? do_help(&c, nm, nn, p + 1)
                        : cell_error(&c, p, "SyntaxError", "expected a name after '?'");
            } else {
                rc = run_magic(&c, line, p);
            }
            free(line);
            if (rc != KRN_EXEC_OK) return rc;
            i = le + 1;
            continue;
        }
        /* expression: extend over following lines while brackets are open */
        size_t neg, end = le;
        while (bracket_depth(code, p, end, &neg) > 0 && neg == (size_t)-1 && end < n)
            end = line_end(code, end + 1);
        parser ps;
        double v;
        if (parse_span(&ps, code, p, end, &v) < 0)
            return cell_error(&c, ps.err_off,
                              strcmp(ps.err, "division by zero") == 0 ? "ZeroDivisionError"
                                                                      : "SyntaxError",
                              ps.err);
        char txt[64];
        mag_interp_format(v, txt);
        krn_out_result_text(out, txt);
        i = end + 1;
    }
    return KRN_EXEC_OK;
}

static int mi_evaluate(void *self, const char *expr, char **text, char ename[64], char evalue[256])
{
    (void)self;
    double v;
    char err[256];
    if (mag_interp_eval(expr, &v, err) < 0) {
        snprintf(ename, 64, "SyntaxError");
        snprintf(evalue, 256, "expr:1:%.240s", err);
        return -1;
    }
    char txt[64];
    mag_interp_format(v, txt);
    *text = strdup(txt);
    return *text ? 0 : -1;
}

static bool word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '%';
}

static int mi_complete(void *self, const char *code, size_t cursor, krn_completion *res)
{
    (void)self;
    size_t cb = krn_utf8_cp_to_byte(code, cursor), s = cb;
    while (s > 0 && word_char(code[s - 1]))
        s--;
    res->cursor_start = krn_utf8_byte_to_cp(code, s);
    res->cursor_end = cursor;
    if (code[s] != '%' || (cb > s + 1 && code[s + 1] == '%')) return 0;
    const char *pre = code + s + 1;
    size_t plen = cb - s - 1;
    for (size_t i = 0; i < N_MAGICS; i++)
        if (strncmp(magics[i].name, pre, plen) == 0) {
            char m[64];
            snprintf(m, sizeof m, "%%%s", magics[i].name);
            if (krn_completion_add(res, m) < 0) return -1;
        }
    return 0;
}

static int mi_inspect(void *self, const char *code, size_t cursor, int detail, char **text)
{
    (void)self;
    (void)detail;
    size_t cb = krn_utf8_cp_to_byte(code, cursor), s = cb, e = cb;
    while (s > 0 && (word_char(code[s - 1]) || code[s - 1] == '?'))
        s--;
    while (code[e] && word_char(code[e]))
        e++;
    while (s < e && (code[s] == '%' || code[s] == '?'))
        s++;
    const magic *m = find_magic(code + s, e - s);
    if (!m) return 0;
    char buf[512];
    help_text(m, buf, sizeof buf);
    *text = strdup(buf);
    return *text ? 1 : 0;
}

static int mi_is_complete(void *self, const char *code, char indent[32])
{
    (void)self;
    indent[0] = '\0';
    size_t i = 0, n = strlen(code);
    while (i < n && strchr(" \t\r\n", code[i]))
        i++;
    if (strncmp(code + i, "%%", 2) == 0) {
        size_t le = line_end(code, i);
        size_t j = le;
        while (j < n && strchr(" \t\r\n", code[j]))
            j++;
        return j >= n ? KRN_INCOMPLETE : KRN_COMPLETE;
    }
    int depth = 0;
    for (i = 0; i < n;) {
        size_t le = line_end(code, i), p = i;
        while (p < le && (code[p] == ' ' || code[p] == '\t'))
            p++;
        if (depth > 0 || (p < le && code[p] != '%' && code[p] != '?' && code[p] != '#')) {
            /* a ')' closing an earlier line's '(' is fine; only the running total counts */
            int run = depth;
            for (size_t k = p; k < le && code[k] != '#'; k++) {
                if (code[k] == '(') run++;
                if (code[k] == ')' && --run < 0) return KRN_INVALID;
            }
            depth = run;
        }
        i = le + 1;
    }
    return depth > 0 ? KRN_INCOMPLETE : KRN_COMPLETE;
}

static const krn_interp_vtable mag_vt = {
    .execute = mi_execute,
    .evaluate = mi_evaluate,
    .complete = mi_complete,
    .inspect = mi_inspect,
    .is_complete = mi_is_complete,
    .interrupt = NULL,
    .shutdown = NULL,
};

krn_interp *mag_interp_new(void)
{
    krn_interp *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->vt = &mag_vt;
    it->self = it;
    it->info = (krn_language_info){
        .name = "rlhf",
        .version = RLHF_VERSION,
        .mimetype = "text/x-rlhf",
        .file_extension = ".rlhf",
        .pygments_lexer = "text",
        .codemirror_mode = "text/plain",
        .nbconvert_exporter = "script",
        .banner = "RLHF Lab " RLHF_VERSION " - a Jupyter kernel for RLHF experiments "
                  "(%lsmagic lists the magics)",
        .help_text = NULL, /* no public documentation site yet: help_links stays [] */
        .help_url = NULL,
    };
    return it;
}

void mag_interp_free(krn_interp *it)
{
    free(it);
}
