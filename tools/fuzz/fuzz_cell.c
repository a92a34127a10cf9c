/* fuzz_cell: the cell language (magics/lang) and the interpreter's editor entry points.
 * Input: bytes 0-1 a cursor in code points (may lie past the end), byte 2 flags, the rest
 * the cell, passed WITHOUT a terminator (an exact-size heap copy, so ASan sees every read
 * past its end).  Calls mag_parse_cell (registry body grammars), mag_is_complete,
 * mag_complete_context, mag_inspect_context, mag_parse_value, mag_validate_cell/_line
 * against the real schema of the magic named in the cell (and, flag bit 0, against every
 * schema in turn), and the interpreter vtable's is_complete/complete/inspect.
 * Invariants: an error has a negative code equal to its diag's, a terminated message and a
 * position inside the cell (line <= lines + 1, col <= code points + 1); AST positions and
 * spans lie inside the cell and strings are terminated (a config body's span length is its
 * strlen); contexts have start <= end <= code points; a completion's range lies inside
 * the code; a validated config names its points and reads every key at every point.
 * Dictionary: tools/fuzz/magics.dict (fuzz-dict: magics). */
#include "fuzz_common.h"
#include "krn_utf8.h"
#include "mag_interp.h"
#include "mag_lang.h"
#include "mag_magic.h"
#include "rt_text.h"

static krn_interp *interp;

typedef struct cell_shape {
    size_t len, lines, cps;
} cell_shape;

static void check_diag(const mag_diag *d, int rc, const cell_shape *sh)
{
    FUZZ_CHECK(rc < 0 && d->code == rc, "rc %d, diag code %d", rc, d->code);
    FUZZ_CHECK(fuzz_cstr_ok(d->msg, sizeof d->msg) && fuzz_cstr_ok(d->token, sizeof d->token) &&
                   fuzz_cstr_ok(d->source_line, sizeof d->source_line) &&
                   fuzz_cstr_ok(d->caret, sizeof d->caret),
               "diag strings not terminated");
    FUZZ_CHECK(strncmp(d->msg, "cell", 4) == 0, "message '%s'", d->msg);
    FUZZ_CHECK(d->line >= 0 && (size_t)d->line <= sh->lines + 1, "line %d of %zu: %s", d->line,
               sh->lines, d->msg);
    FUZZ_CHECK(d->col >= 0 && (size_t)d->col <= sh->cps + 1, "col %d of %zu: %s", d->col, sh->cps,
               d->msg);
}

static void check_pos(const mag_pos *p, const cell_shape *sh)
{
    FUZZ_CHECK(p->off <= sh->len && p->line >= 1 && (size_t)p->line <= sh->lines + 1 &&
                   p->col >= 1 && (size_t)p->col <= sh->cps + 1,
               "pos %d:%d+%zu outside %zu bytes", p->line, p->col, p->off, sh->len);
}

static void check_value(const mag_value *v, const cell_shape *sh, int depth)
{
    FUZZ_CHECK(depth <= MAG_MAX_DEPTH + 1, "value nesting %d", depth);
    check_pos(&v->pos, sh);
    FUZZ_CHECK(v->text != NULL, "value without text");
    (void)strlen(v->text);
    if (v->kind == MAG_V_STRING || v->kind == MAG_V_NAME) FUZZ_CHECK(v->str, "no str");
    if (v->str) (void)strlen(v->str);
    if (v->kind == MAG_V_LIST)
        for (size_t i = 0; i < v->n; i++)
            check_value(&v->items[i], sh, depth + 1);
    if (v->kind == MAG_V_MAP)
        for (size_t i = 0; i < v->n; i++) {
            FUZZ_CHECK(v->entries[i].key, "map key");
            check_pos(&v->entries[i].key_pos, sh);
            check_value(&v->entries[i].value, sh, depth + 1);
        }
}

static void check_kvs(const mag_kv *kv, size_t n, const cell_shape *sh)
{
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key) {
            (void)strlen(kv[i].key);
            check_pos(&kv[i].key_pos, sh);
        }
        check_value(&kv[i].value, sh, 0);
    }
}

static void check_span(const mag_span *s, const cell_shape *sh)
{
    if (!s->text) return;
    FUZZ_CHECK(s->len == strlen(s->text) || memchr(s->text, '\0', s->len) == NULL,
               "span length %zu", s->len);
    FUZZ_CHECK(s->len <= sh->len + 1, "span longer than the cell");
}

/* Validates against schema and reads every key at every point (at most 16 points). */
static void validate(const mag_schema *schema, const mag_cell *cell, const mag_line *line,
                     const char *src, size_t len, const cell_shape *sh)
{
    mag_config *cfg = NULL;
    mag_diag d;
    memset(&d, 0, sizeof d);
    int rc = cell ? mag_validate_cell(schema, cell, src, len, &cfg, &d)
                  : mag_validate_line(schema, line, src, len, &cfg, &d);
    if (rc < 0) {
        FUZZ_CHECK(cfg == NULL, "config on error");
        check_diag(&d, rc, sh);
        return;
    }
    FUZZ_CHECK(cfg && cfg->schema == schema && cfg->npoints >= 1, "config");
    for (size_t p = 0; p < cfg->npoints && p < 16; p++) {
        char name[512];
        size_t want = mag_config_point_name(cfg, "x", p, name, sizeof name);
        FUZZ_CHECK(want < sizeof name ? strlen(name) == want : strlen(name) == sizeof name - 1,
                   "point name length %zu vs %zu", strlen(name), want);
        for (size_t k = 0; k < schema->nkeys; k++) {
            const mag_value *v = mag_config_at(cfg, k, p);
            if (v) (void)mag_value_number(v, 0.0);
        }
        for (size_t s = 0; s < cfg->nswept; s++)
            (void)mag_config_coord(cfg, s, p);
    }
    mag_config_free(cfg);
}

static void check_cell(const mag_cell *c, const char *src, size_t len, const cell_shape *sh,
                       int all_schemas)
{
    if (c->kind == MAG_CELL_MAGIC) {
        FUZZ_CHECK(c->name, "cell magic without name");
        check_pos(&c->pos, sh);
        check_pos(&c->name_pos, sh);
        check_kvs(c->args, c->nargs, sh);
        check_kvs(c->entries, c->nentries, sh);
        check_span(&c->args_text, sh);
        check_span(&c->body, sh);
        if (c->body_kind == MAG_BODY_CONFIG && c->body.text)
            FUZZ_CHECK(c->body.len == strlen(c->body.text), "body length");
        const mag_magic *m = mag_magic_find(c->name, 1);
        if (m && m->schema) validate(m->schema, c, NULL, src, len, sh);
    } else {
        for (size_t i = 0; i < c->nlines; i++) {
            const mag_line *l = &c->lines[i];
            check_pos(&l->pos, sh);
            if (l->name) {
                (void)strlen(l->name);
                check_pos(&l->name_pos, sh);
            }
            check_kvs(l->args, l->nargs, sh);
            check_span(&l->args_text, sh);
            check_span(&l->expr, sh);
            if (l->kind == MAG_LINE_MAGIC && l->name) {
                const mag_magic *m = mag_magic_find(l->name, 0);
                if (m && m->schema && !(m->flags & MAG_M_RAW_ARGS))
                    validate(m->schema, NULL, l, src, len, sh);
            }
        }
    }
    if (all_schemas) {
        const mag_magic *const *all = mag_magics();
        for (size_t i = 0; all[i]; i++) {
            if (!all[i]->schema) continue;
            if (c->kind == MAG_CELL_MAGIC)
                validate(all[i]->schema, c, NULL, src, len, sh);
            else if (c->nlines && c->lines[0].kind == MAG_LINE_MAGIC)
                validate(all[i]->schema, NULL, &c->lines[0], src, len, sh);
        }
    }
}

static void check_ctx(const mag_cursor_ctx *x, const cell_shape *sh)
{
    FUZZ_CHECK(x->start <= x->end && x->end <= sh->cps, "context %zu..%zu of %zu", x->start, x->end,
               sh->cps);
    FUZZ_CHECK(fuzz_cstr_ok(x->magic, sizeof x->magic) && fuzz_cstr_ok(x->key, sizeof x->key) &&
                   fuzz_cstr_ok(x->prefix, sizeof x->prefix) &&
                   fuzz_cstr_ok(x->word, sizeof x->word),
               "context strings");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!interp && !(interp = mag_interp_new())) abort();
    if (size < 3) return 0;
    size_t cursor = (size_t)data[0] | (size_t)data[1] << 8;
    uint8_t flags = data[2];
    size_t len = size - 3;
    char *src = malloc(len ? len : 1); /* exact size, no terminator */
    if (!src) return 0;
    memcpy(src, data + 3, len);
    cell_shape sh = {len, 0, 0};
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\n') sh.lines++;
        if (((unsigned char)src[i] & 0xC0) != 0x80) sh.cps++;
    }
    sh.lines++;
    /* columns as the language counts them (an invalid byte is one column) */
    size_t cols = rt_utf8_cols(src, len);
    if (cols > sh.cps) sh.cps = cols;
    mag_parse_opts opts = {mag_magic_body_kind, NULL};

    mag_cell *cell = NULL;
    mag_diag d;
    memset(&d, 0, sizeof d);
    int rc = mag_parse_cell(src, len, &opts, &cell, &d);
    if (rc == MAG_OK) {
        FUZZ_CHECK(cell, "no cell");
        check_cell(cell, src, len, &sh, flags & 1);
        mag_cell_free(cell);
    } else {
        FUZZ_CHECK(!cell, "cell on error");
        check_diag(&d, rc, &sh);
    }

    char indent[32];
    mag_completeness cpl = mag_is_complete(src, len, &opts, indent, sizeof indent);
    FUZZ_CHECK(cpl == MAG_COMPLETE || cpl == MAG_INCOMPLETE || cpl == MAG_INVALID, "%d", cpl);
    FUZZ_CHECK(fuzz_cstr_ok(indent, sizeof indent), "indent");
    if (rc == MAG_OK) FUZZ_CHECK(cpl != MAG_INVALID, "a cell that parses is invalid");

    mag_cursor_ctx x;
    FUZZ_CHECK(mag_complete_context(src, len, cursor, &opts, &x) == MAG_OK, "complete_context");
    check_ctx(&x, &sh);
    FUZZ_CHECK(mag_inspect_context(src, len, cursor, &opts, &x) == MAG_OK, "inspect_context");
    check_ctx(&x, &sh);

    const mag_value *v = NULL;
    mag_cell *owner = NULL;
    memset(&d, 0, sizeof d);
    rc = mag_parse_value(src, len, &v, &owner, &d);
    if (rc == MAG_OK) {
        FUZZ_CHECK(v && owner, "value");
        check_value(v, &sh, 0);
        mag_cell_free(owner);
    } else {
        check_diag(&d, rc, &sh);
    }

    /* the interpreter's entry points take a C string: the text up to a NUL */
    char *code = malloc(len + 1);
    if (code) {
        memcpy(code, src, len);
        code[len] = '\0';
        size_t cps = krn_utf8_byte_to_cp(code, strlen(code));
        if (rt_utf8_cols(code, strlen(code)) > cps) cps = rt_utf8_cols(code, strlen(code));
        char ind[32];
        int ic = interp->vt->is_complete(interp->self, code, ind);
        FUZZ_CHECK(ic >= KRN_COMPLETE && ic <= KRN_UNKNOWN, "is_complete %d", ic);
        krn_completion c;
        memset(&c, 0, sizeof c);
        if (interp->vt->complete(interp->self, code, cursor, &c) == 0) {
            FUZZ_CHECK(c.cursor_start <= c.cursor_end && c.cursor_end <= cps,
                       "completion range %zu..%zu of %zu", c.cursor_start, c.cursor_end, cps);
            for (size_t i = 0; i < c.n; i++)
                FUZZ_CHECK(c.matches[i], "match");
        }
        krn_completion_free(&c);
        char *text = NULL;
        int found = interp->vt->inspect(interp->self, code, cursor, flags & 2 ? 1 : 0, &text);
        FUZZ_CHECK(found == 0 || (found == 1 && text), "inspect %d", found);
        free(text);
        free(code);
    }
    free(src);
    return 0;
}
