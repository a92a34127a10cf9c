/* edit_test.c: is_complete, completion and inspection contexts, as tables.  '|' in
 * a row's text marks the cursor (removed before the call); positions are code
 * points, with non-ASCII text before the cursor in several rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lang_opts.h"
#include "mag_lang.h"

typedef struct complete_row {
    const char *code;
    mag_completeness want;
    const char *indent;
} complete_row;

static const complete_row complete_rows[] = {
    {"", MAG_COMPLETE, ""},
    {"%eval p k=8", MAG_COMPLETE, ""},
    {"correct - 0.1 * length\n", MAG_COMPLETE, ""},
    {"x = [1,", MAG_INCOMPLETE, "    "},
    {"%eval p k=[1,\n 2", MAG_INCOMPLETE, "    "},
    {"é + (correct", MAG_INCOMPLETE, "    "},
    {"%sample p prompt=\"ab", MAG_INCOMPLETE, ""},
    {"x = \"ab\ncd\"", MAG_INVALID, ""},
    {"a)", MAG_INVALID, ""},
    {"(a]", MAG_INVALID, ""},
    {"%eval p k=", MAG_INVALID, ""},
    {"ab\xFF", MAG_INVALID, ""},
    {"%%rl x", MAG_INCOMPLETE, ""},
    {"%%rl x\n", MAG_INCOMPLETE, ""},
    {"%%rl x\n\n", MAG_COMPLETE, ""},
    {"%%rl x\nfrom = p", MAG_INCOMPLETE, ""},
    {"%%rl x\nfrom = p\n", MAG_COMPLETE, ""},
    {"%%rl x\nfrom = p\n  \n", MAG_COMPLETE, ""},
    {"%%rl x\nfrom = p\nlr", MAG_INCOMPLETE, ""},
    {"%%rl x\nfrom = p\nlr\n", MAG_INVALID, ""},
    {"%%rl x\nlr = [1,\n", MAG_INCOMPLETE, "    "},
    {"%%rl x\nnote = \"é\n", MAG_INVALID, ""},
    {"%%reward r", MAG_INCOMPLETE, ""},
    {"%%reward r\n", MAG_INCOMPLETE, ""},
    {"%%reward r\n\n", MAG_INVALID, ""},
    {"%%reward r\ncorrect", MAG_INCOMPLETE, ""},
    {"%%reward r\ncorrect\n", MAG_COMPLETE, ""},
    {"%%reward r\nmax(correct,\n", MAG_INCOMPLETE, "    "},
    {"# é\n%%opd s\nfrom = b\n", MAG_COMPLETE, ""},
};

static void is_complete_table(void **state)
{
    (void)state;
    static const char *names[] = {"complete", "incomplete", "invalid"};
    for (size_t i = 0; i < sizeof complete_rows / sizeof complete_rows[0]; i++) {
        const complete_row *r = &complete_rows[i];
        char indent[8] = "junk";
        mag_completeness got = mag_is_complete(r->code, strlen(r->code), FX_OPTS, indent, sizeof indent);
        if (got != r->want || strcmp(indent, r->indent))
            fail_msg("row %zu '%s': got %s '%s', want %s '%s'", i, r->code, names[got], indent,
                     names[r->want], r->indent);
    }
    assert_int_equal(mag_is_complete("x = [", 5, FX_OPTS, NULL, 0), MAG_INCOMPLETE);
    assert_int_equal(mag_is_complete(NULL, 0, FX_OPTS, NULL, 0), MAG_COMPLETE);
}

typedef struct ctx_row {
    const char *code; /* with '|' at the cursor */
    mag_ctx_kind kind;
    int cell_magic;
    const char *magic, *key;
    int arg_index;
    size_t start, end;
    const char *prefix;
    const char *word;
} ctx_row;

static const ctx_row completion_rows[] = {
    {"%ev|", MAG_CTX_MAGIC, 0, "", "", 0, 1, 3, "ev", "ev"},
    {"%%o|", MAG_CTX_MAGIC, 1, "", "", 0, 2, 3, "o", "o"},
    {"# é\n%%op|", MAG_CTX_MAGIC, 1, "", "", 0, 6, 8, "op", "op"},
    {"%task t add digits=3\n%ev|al p", MAG_CTX_MAGIC, 0, "", "", 0, 22, 26, "ev", "eval"},
    {"%%opd s\n# é\nlam|", MAG_CTX_KEY, 1, "opd", "", 0, 12, 15, "lam", "lam"},
    {"%%policy p\nnote = \"日本\"\nhid|", MAG_CTX_KEY, 1, "policy", "", 0, 23, 26, "hid", "hid"},
    {"%%opd s\nlr = 1\n|", MAG_CTX_KEY, 1, "opd", "", 0, 15, 15, "", ""},
    {"%%opd s\nfrom = |", MAG_CTX_VALUE, 1, "opd", "from", 0, 15, 15, "", ""},
    {"%%rl x\nfrom = p|", MAG_CTX_VALUE, 1, "rl", "from", 0, 14, 15, "p", "p"},
    {"%%opd s\nlambda = [1, |", MAG_CTX_VALUE, 1, "opd", "lambda", 0, 21, 21, "", ""},
    {"%%opd s\nteacher = {add: t|", MAG_CTX_VALUE, 1, "opd", "teacher", 0, 24, 25, "t", "t"},
    {"%%opd s\nteacher = {\n  add: t1,  # é\n  sort: |", MAG_CTX_VALUE, 1, "opd", "teacher", 0, 44,
     44, "", ""},
    {"%%opd s\nestimator = fu|ll\n", MAG_CTX_VALUE, 1, "opd", "estimator", 0, 20, 24, "fu", "full"},
    {"%%opd s lr=|", MAG_CTX_VALUE, 1, "opd", "lr", 0, 11, 11, "", ""},
    {"%%opd |", MAG_CTX_ARG, 1, "opd", "", 0, 6, 6, "", ""},
    {"%eval p|", MAG_CTX_ARG, 0, "eval", "", 0, 6, 7, "p", "p"},
    {"%eval p t|", MAG_CTX_ARG, 0, "eval", "", 1, 8, 9, "t", "t"},
    {"%eval \"é\" k=8 |", MAG_CTX_ARG, 0, "eval", "", 1, 14, 14, "", ""},
    {"%eval p task=a|", MAG_CTX_VALUE, 0, "eval", "task", 0, 13, 14, "a", "a"},
    {"%eval p k=[1, |", MAG_CTX_VALUE, 0, "eval", "k", 0, 14, 14, "", ""},
    {"%eval p k=[1,\n  2, |", MAG_CTX_VALUE, 0, "eval", "k", 0, 19, 19, "", ""},
    {"max(correct,\n  %|", MAG_CTX_EXPR, 0, "", "", 0, 16, 16, "", ""},
    {"%eval p # com|", MAG_CTX_NONE, 0, "", "", 0, 10, 13, "com", "com"},
    {"%sample p prompt=\"ab|", MAG_CTX_NONE, 0, "", "", 0, 18, 20, "ab", "ab"},
    {"é + cor|rect", MAG_CTX_EXPR, 0, "", "", 0, 4, 11, "cor", "correct"},
    {"%%reward r\ncorrect - len|", MAG_CTX_EXPR, 1, "reward", "", 0, 21, 24, "len", "len"},
    {"%%writefile f\nabc|", MAG_CTX_NONE, 0, "", "", 0, 14, 17, "abc", "abc"},
    {"?lam|bda", MAG_CTX_HELP, 0, "", "", 0, 1, 7, "lam", "lambda"},
    {"|%eval p", MAG_CTX_NONE, 0, "", "", 0, 0, 0, "", ""},
    {"%|%rl x", MAG_CTX_NONE, 0, "", "", 0, 1, 1, "", ""},
};

static const ctx_row inspection_rows[] = {
    {"%ev|al p", MAG_CTX_MAGIC, 0, "", "", 0, 1, 5, "ev", "eval"},
    {"|%eval p", MAG_CTX_MAGIC, 0, "", "", 0, 1, 5, "eval", "eval"},
    {"%%op|d s\n", MAG_CTX_MAGIC, 1, "", "", 0, 2, 5, "op", "opd"},
    {"%%opd s\nlam|bda = 2", MAG_CTX_KEY, 1, "opd", "", 0, 8, 14, "lam", "lambda"},
    {"%%opd s\n# ü\nestimator = fu|ll", MAG_CTX_VALUE, 1, "opd", "estimator", 0, 24, 28, "fu",
     "full"},
    {"%eval p k|=8", MAG_CTX_KEY, 0, "eval", "", 0, 8, 9, "k", "k"},
    {"lam|bda?", MAG_CTX_HELP, 0, "", "", 0, 0, 6, "lam", "lambda"},
};

static void check_ctx_table(const ctx_row *rows, size_t n, int inspect)
{
    for (size_t i = 0; i < n; i++) {
        const ctx_row *r = &rows[i];
        char code[256];
        const char *bar = strchr(r->code, '|');
        assert_non_null(bar);
        size_t b = (size_t)(bar - r->code);
        memcpy(code, r->code, b);
        strcpy(code + b, bar + 1);
        size_t cursor = rt_utf8_cols(code, b);
        mag_cursor_ctx o;
        int rc = inspect ? mag_inspect_context(code, strlen(code), cursor, FX_OPTS, &o)
                         : mag_complete_context(code, strlen(code), cursor, FX_OPTS, &o);
        assert_int_equal(rc, MAG_OK);
        if (o.kind != r->kind || o.cell_magic != r->cell_magic || strcmp(o.magic, r->magic) ||
            strcmp(o.key, r->key) || o.arg_index != r->arg_index || o.start != r->start ||
            o.end != r->end || strcmp(o.prefix, r->prefix) || strcmp(o.word, r->word))
            fail_msg("%s row %zu '%s': got kind %d cm %d magic '%s' key '%s' arg %d [%zu,%zu) "
                     "prefix '%s' word '%s'",
                     inspect ? "inspection" : "completion", i, r->code, o.kind, o.cell_magic,
                     o.magic, o.key, o.arg_index, o.start, o.end, o.prefix, o.word);
    }
}

static void completion_table(void **state)
{
    (void)state;
    check_ctx_table(completion_rows, sizeof completion_rows / sizeof completion_rows[0], 0);
}

static void inspection_table(void **state)
{
    (void)state;
    check_ctx_table(inspection_rows, sizeof inspection_rows / sizeof inspection_rows[0], 1);
}

static void context_survives_anything(void **state)
{
    (void)state;
    mag_cursor_ctx o;
    assert_int_equal(mag_complete_context(NULL, 0, 0, FX_OPTS, NULL), MAG_EARG);
    assert_int_equal(mag_complete_context(NULL, 0, 0, FX_OPTS, &o), MAG_OK);
    assert_int_equal(o.kind, MAG_CTX_NONE);
    /* cursor past the end is clamped; garbage bytes do not crash */
    const char *junk = "%%\xFF\x00[[{\"\\";
    for (size_t cur = 0; cur < 20; cur++) {
        assert_int_equal(mag_complete_context(junk, 9, cur, FX_OPTS, &o), MAG_OK);
        assert_int_equal(mag_inspect_context(junk, 9, cur, FX_OPTS, &o), MAG_OK);
        assert_true(o.start <= o.end);
    }
    /* a long word is cut to fit, start/end stay exact */
    char longw[300] = "%eval ";
    memset(longw + 6, 'a', 200);
    longw[206] = '\0';
    assert_int_equal(mag_complete_context(longw, 206, 206, FX_OPTS, &o), MAG_OK);
    assert_int_equal(o.start, 6);
    assert_int_equal(o.end, 206);
    assert_int_equal(strlen(o.prefix), sizeof o.prefix - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(is_complete_table),
        cmocka_unit_test(completion_table),
        cmocka_unit_test(inspection_table),
        cmocka_unit_test(context_survives_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
