/* fuzz_rows: the file readers of runtime/core/rt_rows.h on a buffer.  Input: byte 0
 * flags, byte 1 an allocation to fail, the rest the file's bytes.  Flags:
 *   bits 0-1  the format: jsonl, csv, tsv, verl
 *   bit 2     parse a second time with allocation number (byte 1 + 1) failing
 * Invariants: the code is 0, RT_EPARSE or RT_ELIMIT (RT_ENOMEM only under the injected
 * failure, where any other result must equal the first parse's); a failure returns NULL
 * with its diag's code, a message starting "NAME:" and a line/col within the text (line
 * <= lines + 1, col <= the line's code points + 1); a success has distinct non-empty
 * column names within RT_ROWS_MAX_COLS, rows within RT_ROWS_MAX_ROWS, every cell valid
 * UTF-8 without NUL of at most RT_ROWS_MAX_CELL bytes, CSV/TSV rows with every column
 * present (the header's count), verl rows with "prompt" and "answer", the same table
 * when parsed again, and a column lookup that finds each column and misses a new name.
 * fuzz-dict: rows */
#include "fuzz_common.h"
#include "rt_alloc.h"
#include "rt_rows.h"
#include "rt_text.h"

static const char *const names[4] = {"f.jsonl", "f.csv", "f.tsv", "f.verl"};
static const rt_rows_format fmts[4] = {RT_ROWS_JSONL, RT_ROWS_CSV, RT_ROWS_TSV, RT_ROWS_VERL};

static void check_error(const rt_rows *r, const rt_diag *d, int rc, const char *name,
                        const uint8_t *s, size_t n)
{
    FUZZ_CHECK(r == NULL, "a table returned with code %d", rc);
    FUZZ_CHECK(d->code == rc, "diag code %d, returned %d", d->code, rc);
    FUZZ_CHECK(strncmp(d->msg, name, strlen(name)) == 0 && d->msg[strlen(name)] == ':',
               "message '%s'", d->msg);
    FUZZ_CHECK(memchr(d->msg, 0, sizeof d->msg) != NULL, "unterminated message");
    if (rc == RT_ENOMEM) return;
    /* the line and column in range */
    size_t lines = 1, ls = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n') lines++;
    FUZZ_CHECK(d->line >= 1 && (size_t)d->line <= lines, "line %d of %zu", d->line, lines);
    int ln = 1;
    for (size_t i = 0; i < n && ln < d->line; i++)
        if (s[i] == '\n') ln++, ls = i + 1;
    size_t le = ls;
    while (le < n && s[le] != '\n')
        le++;
    size_t cols = rt_utf8_cols((const char *)s + ls, le - ls);
    FUZZ_CHECK(d->col >= 1 && (size_t)d->col <= cols + 1, "col %d of %zu at line %d: %s", d->col,
               cols, d->line, d->msg);
}

static void check_table(const rt_rows *r, rt_rows_format f)
{
    FUZZ_CHECK(r->n_cols >= 0 && r->n_cols <= RT_ROWS_MAX_COLS, "%d columns", r->n_cols);
    FUZZ_CHECK(r->n_rows >= 1 && r->n_rows <= RT_ROWS_MAX_ROWS, "%d rows", r->n_rows);
    FUZZ_CHECK(r->format == f, "format %d", r->format);
    for (int c = 0; c < r->n_cols; c++) {
        size_t m = strlen(r->cols[c]);
        FUZZ_CHECK(m >= 1 && m <= RT_ROWS_MAX_NAME && rt_utf8_valid(r->cols[c], m),
                   "column name '%s'", r->cols[c]);
        for (int e = 0; e < c; e++)
            FUZZ_CHECK(strcmp(r->cols[c], r->cols[e]) != 0, "duplicate column '%s'", r->cols[c]);
        rt_diag d = {0};
        FUZZ_CHECK(rt_rows_column(r, r->cols[c], "k", &d) == c, "lookup of '%s'", r->cols[c]);
    }
    rt_diag d = {0};
    char longer[RT_ROWS_MAX_NAME + 2]; /* a name no column can have */
    memset(longer, 'n', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    FUZZ_CHECK(rt_rows_column(r, longer, "k", &d) == RT_ENOTFOUND && !strcmp(d.key, "k"),
               "lookup of a new name");
    for (int i = 0; i < r->n_rows; i++) {
        FUZZ_CHECK(r->row_line[i] >= 1, "row %d at line %d", i, r->row_line[i]);
        for (int c = 0; c < r->n_cols; c++) {
            size_t n;
            const char *s = rt_rows_cell(r, i, c, &n);
            int k = rt_rows_kind(r, i, c);
            FUZZ_CHECK(strlen(s) == n && n <= RT_ROWS_MAX_CELL && rt_utf8_valid(s, n), "cell %d,%d",
                       i, c);
            FUZZ_CHECK(k >= RT_CELL_MISSING && k <= RT_CELL_NULL, "kind %d", k);
            if (f == RT_ROWS_CSV || f == RT_ROWS_TSV)
                FUZZ_CHECK(k == RT_CELL_TEXT, "CSV/TSV cell %d,%d of kind %d (a short row)", i, c,
                           k);
            else
                FUZZ_CHECK(k != RT_CELL_TEXT, "JSON cell of kind TEXT");
            if (k == RT_CELL_NUMBER) FUZZ_CHECK(rt_rows_is_number(s, n), "number '%s'", s);
            if (k == RT_CELL_MISSING)
                FUZZ_CHECK(n == 0 && r->line[(size_t)i * r->n_cols + c] == 0,
                           "missing cell with text");
            else
                FUZZ_CHECK(r->line[(size_t)i * r->n_cols + c] >= r->row_line[i],
                           "cell before its row");
        }
    }
    if (f == RT_ROWS_VERL) {
        rt_diag d2 = {0};
        int p = rt_rows_column(r, "prompt", NULL, &d2), a = rt_rows_column(r, "answer", NULL, &d2);
        FUZZ_CHECK(p >= 0 && a >= 0, "verl without prompt/answer");
        for (int i = 0; i < r->n_rows; i++)
            FUZZ_CHECK(rt_rows_kind(r, i, p) != RT_CELL_MISSING &&
                           rt_rows_kind(r, i, a) != RT_CELL_MISSING,
                       "verl row %d without prompt/answer", i);
    }
}

static int same(const rt_rows *a, const rt_rows *b)
{
    if (a->n_rows != b->n_rows || a->n_cols != b->n_cols) return 0;
    for (int c = 0; c < a->n_cols; c++)
        if (strcmp(a->cols[c], b->cols[c])) return 0;
    for (int i = 0; i < a->n_rows; i++)
        for (int c = 0; c < a->n_cols; c++)
            if (strcmp(rt_rows_cell(a, i, c, NULL), rt_rows_cell(b, i, c, NULL)) ||
                rt_rows_kind(a, i, c) != rt_rows_kind(b, i, c))
                return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int fi = data[0] & 3;
    const char *name = names[fi];
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    rt_rows *r = NULL;
    rt_diag d = {0};
    int rc = rt_rows_parse(&r, name, (const char *)s, n, fmts[fi], &d);
    FUZZ_CHECK(rc == 0 || rc == RT_EPARSE || rc == RT_ELIMIT, "code %d: %s", rc, d.msg);
    if (rc)
        check_error(r, &d, rc, name, s, n);
    else
        check_table(r, fmts[fi]);
    rt_rows *r2 = NULL;
    rt_diag d2 = {0};
    if (data[0] & 4) rt_alloc_fail_at((long)data[1] + 1);
    int rc2 = rt_rows_parse(&r2, name, (const char *)s, n, fmts[fi], &d2);
    rt_alloc_fail_at(0);
    if (rc2 == RT_ENOMEM && (data[0] & 4)) {
        check_error(r2, &d2, rc2, name, s, n);
    } else {
        FUZZ_CHECK(rc2 == rc && !strcmp(d.msg, d2.msg) && d.line == d2.line && d.col == d2.col,
                   "second parse: %d '%s', first %d '%s'", rc2, d2.msg, rc, d.msg);
        if (rc == 0) FUZZ_CHECK(same(r, r2), "second parse: another table");
    }
    rt_rows_free(r);
    rt_rows_free(r2);
    return 0;
}
