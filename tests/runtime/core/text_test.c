/* text_test.c: rt_text (runtime/core/rt_text.h): UTF-8 edge cases (overlong forms,
 * surrogates, out of range, truncated and stray bytes, NUL), columns and offsets in
 * code points, the string buffer (growth, printf, fixed mode with snprintf semantics,
 * every allocation failed in turn through rt_alloc's hook), edit distance, the
 * did-you-mean rule and the unclosed-pair wording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_text.h"

/* ---- UTF-8 ---------------------------------------------------------------------- */

typedef struct seq_case {
    const char *s;
    size_t len;
    size_t want; /* rt_utf8_seq */
    const char *why;
} seq_case;

static const seq_case seqs[] = {
    {"a", 1, 1, "ASCII"},
    {"\0", 1, 1, "NUL is a one-byte sequence"},
    {"\x7f", 1, 1, "DEL"},
    {"\xc3\xa9", 2, 2, "U+00E9"},
    {"\xdf\xbf", 2, 2, "U+07FF, last two-byte"},
    {"\xe0\xa0\x80", 3, 3, "U+0800, first three-byte"},
    {"\xe2\x82\xac", 3, 3, "U+20AC"},
    {"\xed\x9f\xbf", 3, 3, "U+D7FF, just below the surrogates"},
    {"\xee\x80\x80", 3, 3, "U+E000, just above the surrogates"},
    {"\xef\xbf\xbf", 3, 3, "U+FFFF"},
    {"\xf0\x90\x80\x80", 4, 4, "U+10000, first four-byte"},
    {"\xf4\x8f\xbf\xbf", 4, 4, "U+10FFFF, the last code point"},
    {"\xc0\x80", 2, 0, "overlong NUL"},
    {"\xc1\xbf", 2, 0, "overlong U+007F"},
    {"\xe0\x80\xaf", 3, 0, "overlong '/'"},
    {"\xe0\x9f\xbf", 3, 0, "overlong U+07FF"},
    {"\xf0\x8f\xbf\xbf", 4, 0, "overlong U+FFFF"},
    {"\xed\xa0\x80", 3, 0, "surrogate U+D800"},
    {"\xed\xbf\xbf", 3, 0, "surrogate U+DFFF"},
    {"\xf4\x90\x80\x80", 4, 0, "U+110000, out of range"},
    {"\xf5\x80\x80\x80", 4, 0, "F5 lead byte"},
    {"\xff", 1, 0, "FF"},
    {"\x80", 1, 0, "stray continuation byte"},
    {"\xc3", 1, 0, "truncated two-byte"},
    {"\xe2\x82", 2, 0, "truncated three-byte"},
    {"\xf0\x9f\x99", 3, 0, "truncated four-byte"},
    {"\xc3\xa9", 1, 0, "cut by len"},
    {"\xc3(", 2, 0, "lead byte followed by ASCII"},
    {"\xe2(\xac", 3, 0, "ASCII inside a sequence"},
    {"", 0, 0, "empty"},
};

static void utf8_sequences(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        const seq_case *c = &seqs[i];
        size_t got = rt_utf8_seq(c->s, c->len);
        if (got != c->want) fail_msg("%s: rt_utf8_seq = %zu, want %zu", c->why, got, c->want);
        if (c->len) {
            int valid = rt_utf8_valid(c->s, c->len);
            if (valid != (c->want == c->len)) fail_msg("%s: rt_utf8_valid = %d", c->why, valid);
            uint32_t cp = 0;
            size_t n = rt_utf8_decode(c->s, c->len, &cp);
            assert_int_equal(n, c->want ? c->want : 1);
            if (!c->want) assert_int_equal(cp, RT_UTF8_REPLACEMENT);
            assert_int_equal(rt_utf8_next(c->s, c->len, 0), n);
        }
    }
    assert_true(rt_utf8_valid("", 0));
    assert_true(rt_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 14));
    assert_false(rt_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 13));
    uint32_t cp;
    assert_int_equal(rt_utf8_decode("\xf0\x9f\x99\x82", 4, &cp), 4);
    assert_int_equal(cp, 0x1F642);
    assert_int_equal(rt_utf8_decode("x", 0, &cp), 0);
}

static void utf8_encode_round_trip(void **state)
{
    (void)state;
    const uint32_t cps[] = {0,      0x41,   0x7F,   0x80,    0x7FF,   0x800,   0xD7FF,
                            0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F642, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char b[4];
        size_t n = rt_utf8_encode(cps[i], b);
        uint32_t back = 0;
        assert_int_equal(rt_utf8_seq(b, n), n);
        assert_int_equal(rt_utf8_decode(b, n, &back), n);
        assert_int_equal(back, cps[i]);
    }
    char b[4];
    assert_int_equal(rt_utf8_encode(0xD800, b), 3); /* a surrogate is written as U+FFFD */
    assert_memory_equal(b, "\xef\xbf\xbd", 3);
    assert_int_equal(rt_utf8_encode(0x110000, b), 3);
    assert_memory_equal(b, "\xef\xbf\xbd", 3);
}

static void utf8_columns(void **state)
{
    (void)state;
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"; /* a é € 😀 z */
    size_t len = strlen(s);
    assert_int_equal(rt_utf8_cols(s, len), 5);
    assert_int_equal(rt_utf8_cols(s, 0), 0);
    assert_int_equal(rt_utf8_cols(s, 3), 2); /* "aé" */
    const size_t at[] = {0, 1, 3, 6, 10, 11};
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(rt_utf8_offset(s, len, k), at[k]);
        assert_int_equal(rt_utf8_cols(s, at[k]), k);
    }
    assert_int_equal(rt_utf8_offset(s, len, 99), len);
    /* each byte that starts no well-formed sequence is one column (a U+FFFD) */
    assert_int_equal(rt_utf8_cols("\xff\x80x", 3), 3);
    assert_int_equal(rt_utf8_cols("\xed\xa0\x80", 3), 3); /* surrogate: 3 bytes, 3 cols */
    assert_int_equal(rt_utf8_cols("\xe0\x80\xaf", 3), 3); /* overlong */
    assert_int_equal(rt_utf8_cols("\xe2\x82"
                                  "a",
                                  3),
                     3); /* truncated, then 'a' */
    assert_int_equal(rt_utf8_offset("\xe2\x82"
                                    "a",
                                    3, 2),
                     2);
    assert_int_equal(rt_utf8_cols("a\0b", 3), 3); /* not stopped by NUL */
    /* cutting at a code-point boundary */
    assert_int_equal(rt_utf8_cut(s, len, 2), 1); /* inside é: back to its start */
    assert_int_equal(rt_utf8_cut(s, len, 3), 3);
    assert_int_equal(rt_utf8_cut(s, len, 9), 6); /* inside 😀 */
    assert_int_equal(rt_utf8_cut(s, len, 99), len);
    assert_int_equal(rt_utf8_cut(s, len, 0), 0);
    assert_int_equal(rt_utf8_cut("\xc3\xa9", 2, 1), 0); /* not even one code point fits */
}

/* ---- string buffer --------------------------------------------------------------- */

static void strbuf_grows(void **state)
{
    (void)state;
    rt_strbuf b;
    rt_strbuf_init(&b);
    size_t want = 0;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(rt_strbuf_printf(&b, "%d,", i), RT_OK);
        want += (size_t)snprintf(NULL, 0, "%d,", i);
    }
    assert_int_equal(b.len, want);
    assert_int_equal(b.want, want);
    assert_int_equal(strlen(b.s), want);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.s, "0,1,2,3,", 8);
    assert_memory_equal(b.s + b.len - 5, "1999,", 5);
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(rt_strbuf_printf(&b, "<%s>", big), RT_OK); /* longer than the room */
    assert_int_equal(b.len, want + 3001);
    assert_int_equal(b.s[b.len - 1], '>');
    rt_strbuf_truncate(&b, 3);
    assert_string_equal(b.s, "0,1");
    assert_int_equal(rt_strbuf_append(&b, "xyz", 2), RT_OK);
    assert_int_equal(rt_strbuf_putc(&b, '!'), RT_OK);
    assert_int_equal(rt_strbuf_reserve(&b, 100000), RT_OK);
    assert_true(b.cap >= b.len + 100001);
    size_t n = 0;
    char *s = rt_strbuf_take(&b, &n);
    assert_string_equal(s, "0,1xy!");
    assert_int_equal(n, 6);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    rt_free(s);

    rt_strbuf e = {0}; /* zero is an empty growable buffer; take gives "" */
    s = rt_strbuf_take(&e, &n);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(n, 0);
    rt_free(s);
    rt_strbuf_free(&e); /* freeing an empty buffer is fine */
}

/* Fail the Nth allocation for every N until the scenario allocates no more: each
 * failing append reports RT_ENOMEM, leaves the text of the appends before it,
 * sticks, and take returns NULL; nothing leaks (the ASan build checks). */
static void strbuf_allocation_failure(void **state)
{
    (void)state;
    int done = 0;
    for (long fail = 1; fail < 100 && !done; fail++) {
        rt_alloc_fail_at(fail);
        rt_strbuf b;
        rt_strbuf_init(&b);
        int failed_at = -1;
        char before[8192] = "";
        for (int i = 0; i < 400; i++) {
            size_t len0 = b.len;
            if (b.len) memcpy(before, b.s, b.len + 1);
            int rc = i % 2 ? rt_strbuf_printf(&b, "[%03d]", i) : rt_strbuf_puts(&b, "<abcdef>");
            if (rc != RT_OK) {
                assert_int_equal(rc, RT_ENOMEM);
                assert_int_equal(b.err, RT_ENOMEM);
                assert_int_equal(b.len, len0); /* valid text: the earlier appends only */
                if (b.s) assert_string_equal(b.s, before);
                failed_at = i;
                break;
            }
        }
        long made = rt_alloc_count();
        rt_alloc_fail_at(0);
        if (failed_at < 0) { /* the scenario's allocations are exhausted */
            assert_true(made < fail);
            char *s = rt_strbuf_take(&b, NULL);
            assert_non_null(s);
            assert_int_equal(strlen(s), 200 * 8 + 200 * 5);
            rt_free(s);
            done = 1;
            continue;
        }
        /* sticky: later appends do nothing and report the error */
        size_t len = b.len;
        assert_int_equal(rt_strbuf_puts(&b, "more"), RT_ENOMEM);
        assert_int_equal(rt_strbuf_printf(&b, "%d", 7), RT_ENOMEM);
        assert_int_equal(b.len, len);
        assert_null(rt_strbuf_take(&b, NULL));
        assert_null(b.s);
        assert_int_equal(b.err, RT_OK); /* take leaves an empty, usable buffer */
    }
    assert_true(done);

    /* take of an empty buffer needs one allocation; when it fails: NULL */
    rt_strbuf e;
    rt_strbuf_init(&e);
    rt_alloc_fail_at(1);
    assert_null(rt_strbuf_take(&e, NULL));
    rt_alloc_fail_at(0);
}

static void strbuf_fixed(void **state)
{
    (void)state;
    char mem[8];
    rt_strbuf b;
    rt_strbuf_init_fixed(&b, mem, sizeof mem);
    assert_string_equal(mem, "");
    assert_int_equal(rt_strbuf_puts(&b, "abc"), RT_OK);
    assert_int_equal(rt_strbuf_printf(&b, "%d", 42), RT_OK);
    assert_string_equal(mem, "abc42");
    assert_int_equal(rt_strbuf_printf(&b, "%s", "xyz!"), RT_ETRUNC); /* as snprintf */
    assert_string_equal(mem, "abc42xy");
    assert_int_equal(b.len, 7);
    assert_int_equal(b.want, 9);
    assert_int_equal(rt_strbuf_putc(&b, 'q'), RT_ETRUNC);
    assert_int_equal(b.want, 10);
    assert_string_equal(mem, "abc42xy");
    assert_null(rt_strbuf_take(&b, NULL)); /* a fixed buffer is never handed over */

    rt_strbuf_init_fixed(&b, mem, sizeof mem);
    assert_int_equal(rt_strbuf_puts(&b, "abcdefghij"), RT_ETRUNC);
    assert_string_equal(mem, "abcdefg");

    /* NULL, 0: counts only, like snprintf(NULL, 0, ...) */
    rt_alloc_fail_at(0);
    rt_strbuf c;
    rt_strbuf_init_fixed(&c, NULL, 0);
    rt_strbuf_puts(&c, "hello ");
    rt_strbuf_printf(&c, "%s", "world");
    assert_int_equal(c.want, 11);
    assert_int_equal(c.len, 0);
    assert_int_equal(rt_alloc_count(), 0); /* never allocates */
    /* an empty append does not count as cut */
    rt_strbuf_init_fixed(&c, NULL, 0);
    assert_int_equal(rt_strbuf_puts(&c, ""), RT_OK);
    assert_int_equal(c.err, RT_OK);
}

/* ---- did you mean ----------------------------------------------------------------- */

static void edit_distance(void **state)
{
    (void)state;
    assert_int_equal(rt_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(rt_edit_distance("ab", "ba"), 1); /* adjacent swap */
    assert_int_equal(rt_edit_distance("", "abc"), 3);
    assert_int_equal(rt_edit_distance("LaMbDa", "lambda"), 0); /* case-insensitive */
    assert_int_equal(rt_edit_distance("ca", "abc"), 3);        /* OSA, not Damerau */
    char long_[RT_EDIT_MAX_LEN + 2];
    memset(long_, 'a', sizeof long_ - 1);
    long_[sizeof long_ - 1] = '\0';
    assert_int_equal(rt_edit_distance(long_, "a"), RT_EDIT_FAR);
    long_[RT_EDIT_MAX_LEN] = '\0'; /* exactly the limit: computed */
    assert_int_equal(rt_edit_distance(long_, long_), 0);
}

typedef struct dym_case {
    const char *word;
    const char *want; /* NULL: no suggestion */
} dym_case;

static void did_you_mean(void **state)
{
    (void)state;
    const char *cands[] = {"lambda", "steps", "estimator", "log", "max",   "min",
                           "sqrt",   "clip",  "debate",    "d1",  "exact", "correct"};
    const dym_case cases[] = {
        {"lamda", "lambda"},       /* one deletion */
        {"LAMBDA", "lambda"},      /* case only */
        {"Correct", "correct"},    /* case only (the reward language's names too) */
        {"setps", "steps"},        /* swap */
        {"estimatr", "estimator"}, /* 8 letters: limit 3 */
        {"estmtr", NULL},          /* 6 letters, 3 edits: over the limit of 2 */
        {"lg", "log"},             /* 2 letters: limit 1 */
        {"mx", "max"},             /* "min" is at distance 2 */
        {"sqr", "sqrt"},           /* 3 letters: limit 1 */
        {"clamp", "clip"},         /* 5 letters: limit 2 */
        {"debat", "debate"},       /* insertion */
        {"dl", "d1"},              /* substitution */
        {"exakt", "exact"},        /* substitution */
        {"foo", NULL},             /* 3 letters at distance 2 of "log": too far */
        {"xyz", NULL},             /* nothing near */
        {"l", NULL},               /* one letter: never a guess */
        {"", NULL},                /* empty: never a guess */
        {"zzzzzzzz", NULL},        /* nothing near */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = rt_did_you_mean(cases[i].word, cands, sizeof cands / sizeof cands[0]);
        if (!cases[i].want ? got != NULL : !got || strcmp(got, cases[i].want))
            fail_msg("'%s': got %s, want %s", cases[i].word, got ? got : "NULL",
                     cases[i].want ? cases[i].want : "NULL");
    }
    /* the incremental form: the closest wins, ties go to the first offered, NULL skipped */
    rt_suggest sg;
    rt_suggest_init(&sg, "polcy");
    rt_suggest_add(&sg, NULL);
    rt_suggest_add(&sg, "plot");   /* 3: too far */
    rt_suggest_add(&sg, "polic");  /* 2 */
    rt_suggest_add(&sg, "policy"); /* 1 */
    rt_suggest_add(&sg, "policz"); /* 2 */
    assert_string_equal(sg.best, "policy");
    assert_int_equal(sg.best_dist, 1);
    assert_int_equal(sg.limit, 2);
    const char *tie[] = {NULL, "abd", "abe"};
    assert_string_equal(rt_did_you_mean("abc", tie, 3), "abd");
    /* the limits by length: 1 for up to 4 letters, 2 for 5-7, 3 from 8 */
    const size_t lens[] = {1, 2, 3, 4, 5, 7, 8, 20};
    const int limits[] = {0, 1, 1, 1, 2, 2, 3, 3};
    for (size_t i = 0; i < 8; i++) {
        char w[32];
        memset(w, 'w', lens[i]);
        w[lens[i]] = '\0';
        rt_suggest_init(&sg, w);
        assert_int_equal(sg.limit, limits[i]);
    }
}

static void unclosed_wording(void **state)
{
    (void)state;
    char buf[96];
    size_t n = rt_text_unclosed(buf, sizeof buf, ')', '(', 1, 4, 2);
    assert_string_equal(buf, "expected ')' (to close '(' at line 1)");
    assert_int_equal(n, strlen(buf));
    rt_text_unclosed(buf, sizeof buf, ']', '[', 3, 12, 3);
    assert_string_equal(buf, "expected ']' (to close '[' at column 12)");
    char small[10];
    n = rt_text_unclosed(small, sizeof small, ')', '(', 1, 4, 1);
    assert_string_equal(small, "expected ");
    assert_int_equal(n, strlen("expected ')' (to close '(' at column 4)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_sequences),
        cmocka_unit_test(utf8_encode_round_trip),
        cmocka_unit_test(utf8_columns),
        cmocka_unit_test(strbuf_grows),
        cmocka_unit_test(strbuf_allocation_failure),
        cmocka_unit_test(strbuf_fixed),
        cmocka_unit_test(edit_distance),
        cmocka_unit_test(did_you_mean),
        cmocka_unit_test(unclosed_wording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
