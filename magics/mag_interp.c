/* mag_interp: the interpreter of the cell language (design.md "The cell language")
 * behind the kernel's krn_interp vtable.
 *
 * execute: the whole cell is parsed first (magics/lang; body kinds from the magic
 * registry), so a syntax error anywhere runs nothing.  A cell magic is looked up in the
 * registry, its schema validated into a mag_config and its handler run; a line cell
 * runs its lines in order (line magics, expressions, help requests) and stops at the
 * first error.  Line magics flagged MAG_M_RAW_ARGS (%echo a, b) take free text: their
 * lines are found before parsing (at top level, outside open brackets) and blanked in
 * the copy the parser sees, so columns elsewhere are unchanged.
 * Every error is one krn_out_error: evalue "cell:LINE:COL: message", ename by code
 * (mag_error_name), traceback [source line, caret, "ename: evalue"].
 *
 * Also: user_expressions (reward-language expressions), completion, inspection and
 * is_complete through magics/lang's editor contexts.  Leaves out every magic's own
 * behaviour (magics/mag_m_*.c) and any knowledge of particular magics. */
#include "mag_interp.h"
#include "rt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_magic.h"
#include "mag_session.h"
#include "rt_nn.h"

typedef struct interp {
    krn_interp it; /* first: the krn_interp pointer is the interp pointer */
    mag_session *s;
    const char *extra[7]; /* language_info members: numerics, isa, isa_source */
} interp;

/* ---- errors ----------------------------------------------------------------------------- */

/* Publishes d as the cell's error; returns the execute() status. */
static int publish_error(krn_out *out, const mag_diag *d)
{
    const char *en = mag_error_name(d->code);
    char last[MAG_DIAG_MSG + 32];
    snprintf(last, sizeof last, "%s: %s", en, d->msg);
    const char *tb[3];
    size_t n = 0;
    if (d->caret[0]) {
        tb[n++] = d->source_line;
        tb[n++] = d->caret;
    }
    tb[n++] = last;
    krn_out_error(out, en, d->msg, tb, n);
    return d->code == MAG_INTERRUPTED ? KRN_EXEC_INTERRUPTED : KRN_EXEC_ERROR;
}

/* After a handler failed with rc: publish its diagnostic (or a generic one). */
static int handler_failed(krn_out *out, const mag_magic *m, int rc, mag_diag *d, int line, int col,
                          const char *src, size_t len)
{
    if (rc == MAG_INTERRUPTED && krn_out_has_error(out)) return KRN_EXEC_INTERRUPTED;
    if (!d->msg[0])
        mag_diag_set(d, src, len, rc == MAG_INTERRUPTED ? MAG_INTERRUPTED : MAG_ERUNTIME, line, col,
                     NULL, "%s%s%s failed", m->cell ? "%%" : "%", m->name,
                     rc == MAG_INTERRUPTED ? " interrupted:" : "");
    if (rc == MAG_INTERRUPTED) d->code = MAG_INTERRUPTED;
    return publish_error(out, d);
}

/* ---- raw-argument lines -------------------------------------------------------------- */

typedef struct raw_line {
    const mag_magic *m;
    mag_line ln;
    char *name, *args;
} raw_line;

typedef struct prep {
    char *masked; /* copy with raw lines blanked (NULL: none masked, use the source) */
    raw_line *raws;
    size_t nraw;
} prep;

static void prep_free(prep *p)
{
    for (size_t i = 0; i < p->nraw; i++) {
        rt_free(p->raws[i].name);
        rt_free(p->raws[i].args);
    }
    rt_free(p->raws);
    rt_free(p->masked);
    memset(p, 0, sizeof *p);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Bracket depth change of code[p, le), skipping strings and a '#' comment. */
static int bracket_delta(const char *code, size_t p, size_t le, int depth)
{
    for (size_t i = p; i < le; i++) {
        char c = code[i];
        if (c == '#') break;
        if (c == '"') {
            for (i++; i < le && code[i] != '"'; i++)
                if (code[i] == '\\' && i + 1 < le) i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return depth;
}

/* Finds raw-argument line magics at top level (not inside an open bracket, not in a
 * cell whose first significant line is a '%%' header) and blanks them in a copy.
 * 0 or MAG_ENOMEM. */
static int prepare(const char *code, size_t len, prep *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int depth = 0, first = 1, line = 1;
    for (size_t i = 0; i <= len; line++) {
        size_t ls = i, le = i;
        while (le < len && code[le] != '\n')
            le++;
        if (ls == 0 && len >= 3 && memcmp(code, "\xEF\xBB\xBF", 3) == 0)
            ls = 3; /* a byte-order mark is skipped and not counted (as the parser does) */
        size_t p = ls;
        while (p < le && is_blank(code[p]))
            p++;
        if (first && p < le && code[p] != '#') {
            if (code[p] == '%' && p + 1 < le && code[p + 1] == '%') break; /* cell magic */
            first = 0;
        }
        if (depth == 0 && p + 1 < le && code[p] == '%' && is_word(code[p + 1])) {
            size_t q = p + 1;
            while (q < le && is_word(code[q]))
                q++;
            char name[64];
            const mag_magic *m = NULL;
            if ((q == le || is_blank(code[q])) && q - p - 1 < sizeof name) {
                memcpy(name, code + p + 1, q - p - 1);
                name[q - p - 1] = '\0';
                m = mag_magic_find(name, 0);
            }
            if (m && (m->flags & MAG_M_RAW_ARGS)) {
                if (!out->masked) {
                    if (!(out->masked = rt_malloc(len + 1))) return MAG_ENOMEM;
                    memcpy(out->masked, code, len + 1);
                }
                if (out->nraw == cap) {
                    size_t nc = cap ? cap * 2 : 8;
                    raw_line *r = rt_realloc(out->raws, nc * sizeof *r);
                    if (!r) return MAG_ENOMEM;
                    out->raws = r, cap = nc;
                }
                raw_line *r = &out->raws[out->nraw];
                memset(r, 0, sizeof *r);
                r->m = m;
                size_t a = q;
                while (a < le && is_blank(code[a]))
                    a++;
                size_t e = le;
                while (e > a && is_blank(code[e - 1]))
                    e--;
                r->name = strndup(name, sizeof name);
                r->args = strndup(code + a, e - a);
                out->nraw++;
                if (!r->name || !r->args) return MAG_ENOMEM;
                int col = (int)rt_utf8_cols(code + ls, p - ls) + 1;
                r->ln.kind = MAG_LINE_MAGIC;
                r->ln.pos = (mag_pos){line, col, p};
                r->ln.name = r->name;
                r->ln.name_pos = (mag_pos){line, col + 1, p + 1};
                r->ln.args_text =
                    (mag_span){r->args, e - a, {line, (int)rt_utf8_cols(code + ls, a - ls) + 1, a}};
                memset(out->masked + ls, ' ', le - ls);
                i = le + 1;
                continue;
            }
        }
        depth = bracket_delta(code, p, le, depth);
        i = le + 1;
    }
    return 0;
}

/* ---- execution ----------------------------------------------------------------------- */

static int unknown_magic(mag_diag *d, const char *src, size_t len, const char *name, int cell,
                         mag_pos at)
{
    const char *pct = cell ? "%%" : "%";
    if (mag_magic_find(name, !cell))
        return cell ? mag_diag_set(d, src, len, MAG_ENAME, at.line, at.col, NULL,
                                   "'%%%%%s' is a line magic: write '%%%s' (one per line)", name,
                                   name)
                    : mag_diag_set(d, src, len, MAG_ENAME, at.line, at.col, NULL,
                                   "'%%%s' is a cell magic: write '%%%%%s' on the first line "
                                   "of the cell",
                                   name, name);
    const char *best = mag_magic_suggest(name, cell);
    const char *bpct = pct;
    if (!best && (best = mag_magic_suggest(name, !cell))) bpct = cell ? "%" : "%%";
    if (best)
        return mag_diag_set(d, src, len, MAG_ENAME, at.line, at.col, NULL,
                            "unknown magic '%s%s' (did you mean '%s%s'?)", pct, name, bpct, best);
    return mag_diag_set(d, src, len, MAG_ENAME, at.line, at.col, NULL,
                        "unknown magic '%s%s' (see %%lsmagic)", pct, name);
}

/* One line magic (parsed or raw). */
static int run_line_magic(mag_ctx *ctx, const mag_cell *cell, const mag_line *ln, int raw)
{
    mag_diag d;
    memset(&d, 0, sizeof d);
    const mag_magic *m = raw ? NULL : mag_magic_find(ln->name, 0);
    if (raw) m = mag_magic_find(ln->name, 0);
    if (!m) {
        unknown_magic(&d, ctx->src, ctx->len, ln->name, 0, ln->pos);
        return publish_error(ctx->out, &d);
    }
    mag_config *cfg = NULL;
    if (m->schema && !raw && !(m->flags & MAG_M_OWN_VALIDATION) &&
        mag_validate_line(m->schema, ln, ctx->src, ctx->len, &cfg, &d))
        return publish_error(ctx->out, &d);
    int rc = m->run(ctx, m, cell, ln, cfg, &d);
    mag_config_free(cfg);
    if (rc < 0)
        return handler_failed(ctx->out, m, rc, &d, ln->pos.line, ln->pos.col, ctx->src, ctx->len);
    return KRN_EXEC_OK;
}

static int run_help(mag_ctx *ctx, const mag_line *ln)
{
    mag_diag d;
    char *text = mag_help_text(ctx->session, ln->name, NULL);
    if (!text) {
        char alt[128] = "";
        mag_help_text(ctx->session, ln->name, alt);
        mag_diag_set(&d, ctx->src, ctx->len, MAG_ENAME, ln->name_pos.line, ln->name_pos.col, NULL,
                     "no help for '%s'%s", ln->name, alt[0] ? alt : " (see %lsmagic)");
        return publish_error(ctx->out, &d);
    }
    krn_out_pager(ctx->out, text);
    rt_free(text);
    return KRN_EXEC_OK;
}

static int run_expr(mag_ctx *ctx, const mag_line *ln)
{
    mag_diag d;
    char buf[64];
    if (mag_eval_expr(ctx->session, ctx->src, ctx->len, &ln->expr, buf, sizeof buf, &d))
        return publish_error(ctx->out, &d);
    krn_out_result_text(ctx->out, buf);
    return KRN_EXEC_OK;
}

static int run_cell_magic(mag_ctx *ctx, const mag_cell *cell)
{
    mag_diag d;
    memset(&d, 0, sizeof d);
    const mag_magic *m = mag_magic_find(cell->name, 1);
    if (!m) {
        unknown_magic(&d, ctx->src, ctx->len, cell->name, 1, cell->pos);
        return publish_error(ctx->out, &d);
    }
    mag_config *cfg = NULL;
    if (m->schema && !(m->flags & MAG_M_OWN_VALIDATION) &&
        mag_validate_cell(m->schema, cell, ctx->src, ctx->len, &cfg, &d))
        return publish_error(ctx->out, &d);
    int rc = m->run(ctx, m, cell, NULL, cfg, &d);
    mag_config_free(cfg);
    if (rc < 0)
        return handler_failed(ctx->out, m, rc, &d, cell->pos.line, cell->pos.col, ctx->src,
                              ctx->len);
    return KRN_EXEC_OK;
}

static int run_cell(mag_ctx *ctx, const mag_cell *cell, const prep *pp)
{
    mag_diag d;
    if (cell->kind == MAG_CELL_MAGIC) {
        if (pp->nraw) {
            mag_diag_set(&d, ctx->src, ctx->len, MAG_ESYNTAX, cell->pos.line, cell->pos.col, "%%",
                         "a cell magic must be the first line of the cell");
            return publish_error(ctx->out, &d);
        }
        return run_cell_magic(ctx, cell);
    }
    size_t i = 0, r = 0;
    while (i < cell->nlines || r < pp->nraw) {
        int take_raw = r < pp->nraw &&
                       (i >= cell->nlines || pp->raws[r].ln.pos.line < cell->lines[i].pos.line);
        const mag_line *ln = take_raw ? &pp->raws[r].ln : &cell->lines[i];
        if (krn_out_interrupted(ctx->out)) {
            mag_diag_set(&d, NULL, 0, MAG_INTERRUPTED, 0, 0, NULL, "interrupted before line %d",
                         ln->pos.line);
            return publish_error(ctx->out, &d);
        }
        int rc;
        if (take_raw)
            rc = run_line_magic(ctx, cell, ln, 1);
        else if (ln->kind == MAG_LINE_MAGIC)
            rc = run_line_magic(ctx, cell, ln, 0);
        else if (ln->kind == MAG_LINE_HELP)
            rc = run_help(ctx, ln);
        else
            rc = run_expr(ctx, ln);
        if (rc != KRN_EXEC_OK) return rc;
        if (take_raw)
            r++;
        else
            i++;
    }
    return KRN_EXEC_OK;
}

static int mi_execute(void *self, krn_out *out, const char *code, int count)
{
    interp *ip = self;
    size_t len = strlen(code);
    mag_diag d;
    prep pp;
    if (prepare(code, len, &pp)) {
        prep_free(&pp);
        mag_diag_set(&d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
        return publish_error(out, &d);
    }
    mag_parse_opts opts = {mag_magic_body_kind, NULL};
    mag_cell *cell = NULL;
    if (mag_parse_cell(pp.masked ? pp.masked : code, len, &opts, &cell, &d)) {
        /* masked lines are blank, so an error is never on one: its line is the real one */
        int rc = publish_error(out, &d);
        prep_free(&pp);
        return rc;
    }
    mag_ctx ctx = {ip->s, out, code, len, count};
    int rc = run_cell(&ctx, cell, &pp);
    mag_cell_free(cell);
    prep_free(&pp);
    return rc;
}

static int mi_evaluate(void *self, const char *expr, char **text, char ename[64], char evalue[256])
{
    interp *ip = self;
    size_t len = strlen(expr);
    mag_span sp = {expr, len, {1, 1, 0}};
    mag_diag d;
    char buf[64];
    if (mag_eval_expr(ip->s, expr, len, &sp, buf, sizeof buf, &d)) {
        snprintf(ename, 64, "%s", mag_error_name(d.code));
        snprintf(evalue, 256, "%.255s", d.msg);
        return -1;
    }
    *text = rt_strdup(buf);
    return *text ? 0 : -1;
}

/* ---- editor support ------------------------------------------------------------------ */

static int is_complete_impl(void *self, const char *code, char indent[32])
{
    (void)self;
    size_t len = strlen(code);
    prep pp;
    indent[0] = '\0';
    if (prepare(code, len, &pp)) {
        prep_free(&pp);
        return KRN_UNKNOWN;
    }
    mag_parse_opts opts = {mag_magic_body_kind, NULL};
    mag_completeness c = mag_is_complete(pp.masked ? pp.masked : code, len, &opts, indent, 32);
    prep_free(&pp);
    return c == MAG_COMPLETE ? KRN_COMPLETE : c == MAG_INCOMPLETE ? KRN_INCOMPLETE : KRN_INVALID;
}

static const krn_interp_vtable mag_vt = {
    .execute = mi_execute,
    .evaluate = mi_evaluate,
    .complete = mag_complete,
    .inspect = mag_inspect,
    .is_complete = is_complete_impl,
    .interrupt = NULL,
    .shutdown = NULL,
};

krn_interp *mag_interp_new(void)
{
    interp *ip = rt_calloc(1, sizeof *ip);
    if (!ip) return NULL;
    /* The runtime splits its work over its own threads (%threads) with a fixed partition,
     * so that results do not depend on the thread count; OpenBLAS stays single-threaded.
     * (Its default, one worker per core, also spins in sched_yield between calls.) */
    rt_nn_set_gemm_threads(1);
    if (!(ip->s = mag_session_new())) {
        rt_free(ip);
        return NULL;
    }
    ip->it.vt = &mag_vt;
    ip->it.self = ip;
    ip->it.info = (krn_language_info){
        .name = "rlhf",
        .version = RLHF_VERSION,
        .mimetype = "text/x-rlhf",
        .file_extension = ".rlhf",
        .pygments_lexer = "text",
        .codemirror_mode = "null", /* plain text; "text/plain" made the classic notebook
                                      request a non-existent mode file */
        .nbconvert_exporter = "script",
        .banner = "RLHF Lab " RLHF_VERSION " - a Jupyter kernel for RLHF experiments "
                  "(%lsmagic lists the magics, %help NAME explains one)",
        .help_text = NULL,
        .help_url = NULL,
        .extra = ip->extra,
    };
    /* how this process computes, recorded in every executed notebook's metadata: the
     * numerics mode at start (%numerics may change it) and the SIMD path */
    const char *env = getenv("RLHF_ISA");
    ip->extra[0] = "numerics", ip->extra[1] = rt_nn_numerics_name(rt_nn_numerics());
    ip->extra[2] = "isa", ip->extra[3] = rt_nn_isa_name(rt_nn_isa());
    ip->extra[4] = "isa_source", ip->extra[5] = env && *env ? "RLHF_ISA" : "cpu";
    ip->extra[6] = NULL;
    return &ip->it;
}

void mag_interp_free(krn_interp *it)
{
    if (!it) return;
    interp *ip = (interp *)it;
    mag_session_free(ip->s);
    rt_free(ip);
}

mag_session *mag_interp_session(krn_interp *it)
{
    return it ? ((interp *)it)->s : NULL;
}
