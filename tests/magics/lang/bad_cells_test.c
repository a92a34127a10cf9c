/* bad_cells_test.c: the "Bad input" table of issue 4, parser + schema half: each bad
 * cell with its exact message (line:col in code points), token and status code.
 * Schema errors use the %%opd/%%rl/%%policy/%eval tables of lang_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang_fixture.h"

typedef struct bad {
    const char *src;
    size_t len; /* 0: strlen(src) */
    const char *msg;
    const char *token;
    int code;
} bad;

static const bad table[] = {
    {"%%opd s\nfrom = base\nteacher = t\nlamda = 1.5", 0,
     "cell:4:1: unknown key 'lamda' (did you mean 'lambda'?)", "lamda", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nestimator = fulll", 0,
     "cell:4:13: unknown value 'fulll' for 'estimator' (did you mean 'full'?); expected sampled or "
     "full",
     "fulll", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nestimator = 3", 0,
     "cell:4:13: 'estimator' expects sampled or full, got integer 3", "3", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nsteps = \"ten\"", 0,
     "cell:4:9: 'steps' expects an integer, got string \"ten\"", "\"ten\"", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nsteps = 2.5", 0,
     "cell:4:9: 'steps' expects an integer, got number 2.5", "2.5", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = 0", 0, "cell:4:6: 'lr' must be > 0", "0",
     MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = -1e-3", 0, "cell:4:6: 'lr' must be > 0", "-1e-3",
     MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\ngamma = 1.5", 0, "cell:4:9: 'gamma' must be in [0, 1]",
     "1.5", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nsteps = 0", 0, "cell:4:9: 'steps' must be >= 1", "0",
     MAG_ESCHEMA},
    {"%%opd s\nteacher = t", 0, "cell:1:3: missing required key 'from'", "", MAG_ESCHEMA},
    {"%%opd s\nfrom = base", 0, "cell:1:3: missing required key 'teacher'", "", MAG_ESCHEMA},
    {"%%opd s steps=10\nfrom = base\nteacher = t\nsteps = 20", 0,
     "cell:4:1: duplicate key 'steps' (first set at line 1)", "steps", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = 1e-3\nlr = 2e-3", 0,
     "cell:5:1: duplicate key 'lr' (first set at line 4)", "lr", MAG_ESYNTAX},
    {"%%opd s\nfrom = \"base\"\nteacher = t", 0,
     "cell:2:8: 'from' expects a policy name, got string \"base\"", "\"base\"", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = {add: t1, sort: 5}", 0,
     "cell:3:27: 'teacher' expects a policy name, got integer 5", "5", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nbatch = [32, 64]", 0,
     "cell:4:9: 'batch' cannot be swept (a list is not allowed here)", "[32, 64]", MAG_ESCHEMA},
    /* issue 12 B5: a duplicate sweep value is an error at its second occurrence, also
     * when written differently (1e-3 and 0.001, 1e3 and 1000) */
    {"%%opd s\nfrom = base\nteacher = t\nseed = [1, 1]", 0,
     "cell:4:12: value 1 appears twice in the sweep of 'seed' (first at column 9); each point "
     "would run twice under one name",
     "1", MAG_ESCHEMA},
    {"%%opd s lr=[1e-3, 3e-4,\n 0.001]\nfrom = base\nteacher = t", 0,
     "cell:2:2: value 0.001 appears twice in the sweep of 'lr' (first as 1e-3 at line 1, column "
     "13); each point would run twice under one name",
     "0.001", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nsteps = [1000, 1e3]", 0,
     "cell:4:16: value 1e3 appears twice in the sweep of 'steps' (first as 1000 at column 10); "
     "each point would run twice under one name",
     "1e3", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = [t, u, t]", 0,
     "cell:3:18: value t appears twice in the sweep of 'teacher' (first at column 12); each "
     "point would run twice under one name",
     "t", MAG_ESCHEMA},
    /* issue 12 B8: a number out of single precision range is a range error at the value */
    {"%%opd s\nfrom = base\nteacher = t\nlr = 1e300", 0,
     "cell:4:6: number 1e300 is out of range for 'lr' (the largest magnitude is 3.4e+38)", "1e300",
     MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = [1e-3, 1e-50]", 0,
     "cell:4:13: number 1e-50 is out of range for 'lr' (too close to 0: the smallest nonzero "
     "magnitude is 1.2e-38)",
     "1e-50", MAG_ESCHEMA},
    /* integral numbers are integers (1e3), within the key's range and int64 */
    {"%%opd s\nfrom = base\nteacher = t\nsteps = 1e30", 0,
     "cell:4:9: number 1e30 is out of range for 'steps' (an integer: at most "
     "9223372036854775807 in magnitude)",
     "1e30", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nsteps = 0e3", 0, "cell:4:9: 'steps' must be >= 1", "0e3",
     MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = []", 0, "cell:4:6: sweep list for 'lr' is empty",
     "[]", MAG_ESCHEMA},
    {"%%opd s\nfrom = base\nteacher = t\nlr = [1e-3, \"x\"]", 0,
     "cell:4:13: 'lr' expects a number, got string \"x\"", "\"x\"", MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\nalgo = grpoo", 0,
     "cell:4:8: unknown value 'grpoo' for 'algo' (did you mean 'grpo'?); expected reinforce, rloo, "
     "grpo, drgrpo or ppo",
     "grpoo", MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\nalgo = xyz", 0,
     "cell:4:8: unknown value 'xyz' for 'algo'; expected reinforce, rloo, grpo, drgrpo or ppo",
     "xyz", MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\nclip = 1", 0, "cell:4:8: 'clip' must be in (0, 1)", "1",
     MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\ntags = a", 0,
     "cell:4:8: 'tags' expects a list, got name 'a'", "a", MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\nverbose = maybe", 0,
     "cell:4:11: 'verbose' expects true or false, got name 'maybe'", "maybe", MAG_ESCHEMA},
    {"%%rl r\nfrom = p\nreward = exact\nstepz = 10", 0,
     "cell:4:1: unknown key 'stepz' (did you mean 'steps'?)", "stepz", MAG_ESCHEMA},
    {"%%policy p\ncontext = 100", 0, "cell:2:11: 'context' must be in [1, 64]", "100", MAG_ESCHEMA},
    {"%%policy p\ntasks = [add, 3]", 0, "cell:2:15: 'tasks' expects a task name, got integer 3",
     "3", MAG_ESCHEMA},
    {"%eval p kk=3", 0, "cell:1:9: unknown key 'kk' (did you mean 'k'?)", "kk", MAG_ESCHEMA},
    {"%eval p k=0", 0, "cell:1:11: 'k' must be >= 1", "0", MAG_ESCHEMA},
    {"%eval p k=2 k=3", 0, "cell:1:13: duplicate key 'k' (first set at line 1)", "k", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nreward = exact\nlr = [1e-3, 2e-3\nsteps = 10", 0,
     "cell:5:1: expected ']' (to close '[' at line 4) near 'steps'", "steps", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nreward = exact\nlr = [1e-3,\n  2e-3", 0,
     "cell:5:7: expected ']' (to close '[' at line 4) near <eof>", "<eof>", MAG_ESYNTAX},
    {"%%rl r\nfrom = {a: [1, 2}", 0, "cell:2:17: expected ']' (to close '[' at column 12) near '}'",
     "}", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nreward = exact\ntags = [\"a\", \"b]", 0,
     "cell:4:14: unfinished string near '\"b]'", "\"b]", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nreward = exact\ntags = [\"a\n  , \"b\"]", 0,
     "cell:4:9: unfinished string near '\"a'", "\"a", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nlr 0.1", 0, "cell:3:4: expected '=' after 'lr' near '0.1'", "0.1",
     MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nlr = 0.1 0.2", 0,
     "cell:3:10: expected end of line after the value of 'lr' near '0.2'", "0.2", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\n5 = 1", 0, "cell:3:1: expected a key near '5'", "5", MAG_ESYNTAX},
    {"%%rl r\nfrom =", 0, "cell:2:7: expected a value near <eof>", "<eof>", MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nlr = 1.2.3", 0, "cell:3:6: malformed number near '1.2.3'", "1.2.3",
     MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nsteps = 99999999999999999999", 0,
     "cell:3:9: integer too large near '99999999999999999999'", "99999999999999999999",
     MAG_ESYNTAX},
    {"%%rl r\nfrom = p\nx = 1e999", 0, "cell:3:5: number out of range near '1e999'", "1e999",
     MAG_ESYNTAX},
    {"%%rl r\nprompt = \"a\\qb\"", 0, "cell:2:12: invalid escape sequence near '\\q'", "\\q",
     MAG_ESYNTAX},
    {"%%rl r\nprompt = \"\\u12g\"", 0, "cell:2:11: \\u needs 4 hexadecimal digits near '\\u12'",
     "\\u12", MAG_ESYNTAX},
    {"%%rl r\nprompt = \"\\uD800\"", 0,
     "cell:2:11: invalid code point in \\u escape near '\\uD800'", "\\uD800", MAG_ESYNTAX},
    {"%eval p, k=8", 0, "cell:1:8: expected an argument near ','", ",", MAG_ESYNTAX},
    {"%eval p k=-", 0, "cell:1:11: expected a value near '-'", "-", MAG_ESYNTAX},
    {"% eval p", 0, "cell:1:3: expected a magic name after '%' near 'eval'", "eval", MAG_ESYNTAX},
    {"%%", 0, "cell:1:3: expected a magic name after '%%' near <eof>", "<eof>", MAG_ESYNTAX},
    {"x = 1\n%%rl r", 0, "cell:2:1: a cell magic must be the first line of the cell near '%%rl'",
     "%%rl", MAG_ESYNTAX},
    {"?", 0, "cell:1:2: expected a name after '?' near <eof>", "<eof>", MAG_ESYNTAX},
    {"?%lsmagic extra", 0, "cell:1:11: expected end of line after the help request near 'extra'",
     "extra", MAG_ESYNTAX},
    {"(correct + [length)", 0, "cell:1:19: expected ']' (to close '[' at column 12) near ')'", ")",
     MAG_ESYNTAX},
    {"correct)\nlength", 0, "cell:1:8: unmatched ')' near ')'", ")", MAG_ESYNTAX},
    {"%%reward r\n\n# only a comment", 0,
     "cell:3:17: expected an expression in the body of '%%reward' near <eof>", "<eof>",
     MAG_ESYNTAX},
    {"%%reward r\nif(correct, 1,\n  0", 0,
     "cell:3:4: expected ')' (to close '(' at line 2) near <eof>", "<eof>", MAG_ESYNTAX},
    {"%%policy p\n# rénové: café\nname = \"é\" $", 0,
     "cell:3:12: expected end of line after the value of 'name' near '$'", "$", MAG_ESYNTAX},
    {"%%policy p\n名前 = 1", 0, "cell:2:1: expected a key near '名'", "名", MAG_ESYNTAX},
    {"%%rl r\nnote = \"日本語\" x", 0,
     "cell:2:14: expected end of line after the value of 'note' near 'x'", "x", MAG_ESYNTAX},
    {"%eval π k=8", 0, "cell:1:7: expected an argument near 'π'", "π", MAG_ESYNTAX},
    {"%%opd s\nfrom = base\nteacher = t\n# ünïcödé\nestimator = \"fulll\"", 0,
     "cell:5:13: unknown value 'fulll' for 'estimator' (did you mean 'full'?); expected sampled or "
     "full",
     "\"fulll\"", MAG_ESCHEMA},
    {"%x {add t}", 0, "cell:1:9: expected ':' after 'add' near 't'", "t", MAG_ESYNTAX},
    {"%x {1: 2}", 0, "cell:1:5: expected a key near '1'", "1", MAG_ESYNTAX},
    {"%%rl r\nfrom =\nx = 1", 0, "cell:2:7: expected a value near <eol>", "<eol>", MAG_ESYNTAX},
    {"%%rl?? x", 0, "cell:1:5: expected an argument near '?'", "?", MAG_ESYNTAX},
    {"%eval p task=add\n%eval p k=1.5", 0, "cell:2:11: 'k' expects an integer, got number 1.5",
     "1.5", MAG_ESCHEMA},
    /* bytes: NUL, invalid UTF-8 (after Unicode text: columns in code points) */
    {"%%rl r\nname = \"ab\0c\"", 19, "cell:2:11: NUL byte in cell", "", MAG_EENCODING},
    {"%task t add\n# café\nx = \"\xC3\x28\"", 0, "cell:3:6: invalid UTF-8 byte 0xC3", "",
     MAG_EENCODING},
    {"é€\xFF", 0, "cell:1:3: invalid UTF-8 byte 0xFF", "", MAG_EENCODING},
    {"x = \xC0\xAF", 0, "cell:1:5: invalid UTF-8 byte 0xC0", "", MAG_EENCODING},
    {"\xED\xA0\x80", 0, "cell:1:1: invalid UTF-8 byte 0xED", "", MAG_EENCODING},
    {"ok\n\xF4\x90\x80\x80", 0, "cell:2:1: invalid UTF-8 byte 0xF4", "", MAG_EENCODING},
    {"%echo \"abc", 0, "cell:1:7: unfinished string near '\"abc'", "\"abc", MAG_ESYNTAX},
};

static void each_bad_cell_reports_exactly(void **state)
{
    (void)state;
    size_t n = sizeof table / sizeof table[0];
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        const bad *b = &table[i];
        size_t len = b->len ? b->len : strlen(b->src);
        mag_diag d;
        int r = fx_check(b->src, len, &d);
        if (r != b->code || strcmp(d.msg, b->msg) || strcmp(d.token, b->token))
            fail_msg("row %zu: got [%d] '%s' token '%s'\n  want [%d] '%s' token '%s'", i, r, d.msg,
                     d.token, b->code, b->msg, b->token);
        /* line:col in the diag agree with the message */
        char prefix[32];
        snprintf(prefix, sizeof prefix, "cell:%d:%d: ", d.line, d.col);
        assert_memory_equal(d.msg, prefix, strlen(prefix));
        assert_true(d.caret[0] != '\0');
    }
}

static char *repeat(const char *head, char c, size_t n, const char *mid, char c2, size_t n2)
{
    size_t hl = strlen(head), ml = strlen(mid);
    char *s = malloc(hl + n + ml + n2 + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    memset(s + hl, c, n);
    memcpy(s + hl + n, mid, ml);
    memset(s + hl + n + ml, c2, n2);
    s[hl + n + ml + n2] = '\0';
    return s;
}

static void huge_cell_is_rejected(void **state)
{
    (void)state;
    char *s = repeat("", 'x', MAG_MAX_CELL_BYTES + 1, "", 'x', 0);
    mag_diag d;
    mag_cell *c = (mag_cell *)1;
    assert_int_equal(mag_parse_cell(s, MAG_MAX_CELL_BYTES + 1, FX_OPTS, &c, &d), MAG_ELIMIT);
    assert_null(c);
    assert_string_equal(d.msg, "cell:1:1: cell too large (1048577 bytes; the limit is 1048576)");
    /* exactly at the limit parses (one long expression line) */
    assert_int_equal(mag_parse_cell(s, MAG_MAX_CELL_BYTES, FX_OPTS, &c, &d), MAG_OK);
    assert_int_equal(c->nlines, 1);
    assert_int_equal(c->lines[0].expr.len, MAG_MAX_CELL_BYTES);
    mag_cell_free(c);
    free(s);
}

static void deep_nesting_is_capped(void **state)
{
    (void)state;
    mag_diag d;
    mag_cell *c;
    /* 32 levels of lists: fine; 33: error at the 33rd '[' */
    char *ok = repeat("%%rl r\nx = ", '[', 32, "1", ']', 32);
    assert_int_equal(mag_parse_cell(ok, strlen(ok), FX_OPTS, &c, &d), MAG_OK);
    const mag_value *v = &c->entries[0].value;
    for (int k = 0; k < 32; k++) {
        assert_int_equal(v->kind, MAG_V_LIST);
        v = &v->items[0];
    }
    assert_int_equal(v->kind, MAG_V_INT);
    mag_cell_free(c);
    char *deep = repeat("%%rl r\nx = ", '[', 33, "1", ']', 33);
    assert_int_equal(mag_parse_cell(deep, strlen(deep), FX_OPTS, &c, &d), MAG_ELIMIT);
    assert_string_equal(d.msg, "cell:2:37: nesting too deep (the limit is 32) near '['");
    /* maps count too */
    char buf[512] = "%x ";
    for (int k = 0; k < 33; k++)
        strcat(buf, "{a: ");
    strcat(buf, "1");
    for (int k = 0; k < 33; k++)
        strcat(buf, "}");
    assert_int_equal(mag_parse_cell(buf, strlen(buf), FX_OPTS, &c, &d), MAG_ELIMIT);
    assert_string_equal(d.msg, "cell:1:132: nesting too deep (the limit is 32) near '{'");
    /* expressions: brackets of a 10 KB deep "((((...": error, not a stack overflow */
    char *paren = repeat("", '(', 10000, "1", ')', 10000);
    assert_int_equal(mag_parse_cell(paren, strlen(paren), FX_OPTS, &c, &d), MAG_ELIMIT);
    assert_string_equal(d.msg, "cell:1:33: nesting too deep (the limit is 32) near '('");
    /* 100k '[' in a value: error at the 33rd, no recursion blow-up */
    char *lists = repeat("%x ", '[', 100000, "", ' ', 0);
    assert_int_equal(mag_parse_cell(lists, strlen(lists), FX_OPTS, &c, &d), MAG_ELIMIT);
    assert_string_equal(d.msg, "cell:1:36: nesting too deep (the limit is 32) near '['");
    free(ok), free(deep), free(paren), free(lists);
}

static void caret_lines_up_under_the_column(void **state)
{
    (void)state;
    mag_diag d;
    const char *src = "%%policy p\n\tnote = \"é\" ?";
    assert_int_not_equal(fx_check(src, strlen(src), &d), 0);
    assert_string_equal(d.msg,
                        "cell:2:13: expected end of line after the value of 'note' near '?'");
    assert_string_equal(d.source_line, "\tnote = \"é\" ?");
    assert_string_equal(d.caret, "\t           ^");
    /* a long line is windowed so that the caret stays visible */
    char line[400];
    memset(line, 'a', 300);
    strcpy(line + 300, " )");
    assert_int_equal(fx_check(line, strlen(line), &d), MAG_ESYNTAX);
    assert_string_equal(d.msg, "cell:1:302: unmatched ')' near ')'");
    assert_int_equal(strncmp(d.source_line, "...", 3), 0);
    size_t caret_at = strlen(d.caret) - 1;
    assert_int_equal(d.caret[caret_at], '^');
    assert_int_equal(d.source_line[caret_at], ')');
    /* a long line of 4-byte characters: the window stays valid UTF-8 and fits */
    char wide[1400] = "";
    for (int k = 0; k < 299; k++)
        strcat(wide, "😀");
    strcat(wide, ")");
    assert_int_equal(fx_check(wide, strlen(wide), &d), MAG_ESYNTAX);
    assert_string_equal(d.msg, "cell:1:300: unmatched ')' near ')'");
    assert_int_equal(rt_utf8_cols(d.source_line, strlen(d.source_line)), 3 + 41);
    assert_string_equal(d.source_line + strlen(d.source_line) - 1, ")");
    assert_int_equal(strlen(d.caret), 3 + 40 + 1);
    /* invalid bytes show as '?' and keep the caret aligned */
    const char *bad = "ab\xFF";
    assert_int_equal(fx_check(bad, strlen(bad), &d), MAG_EENCODING);
    assert_string_equal(d.source_line, "ab?");
    assert_string_equal(d.caret, "  ^");
    /* mag_diag_set used directly (the reward bridge): near <eof>, long token cut */
    mag_diag_set(&d, "x = 1", 5, MAG_ESYNTAX, 1, 6, MAG_NEAR_EOF, "expected %s", "an operand");
    assert_string_equal(d.msg, "cell:1:6: expected an operand near <eof>");
    assert_string_equal(d.caret, "     ^");
    mag_diag_set(&d, NULL, 0, MAG_ESYNTAX, 2, 1, "abcdefghijklmnopqrstuvwxyz0123", "bad");
    assert_string_equal(d.msg, "cell:2:1: bad near 'abcdefghijklmnopqrstuvwx...'");
    assert_string_equal(d.caret, "");
    /* only <eof> and <eol> are bare: a real '<' or '<=' token is quoted */
    mag_diag_set(&d, NULL, 0, MAG_ESYNTAX, 1, 7, "<", "comparisons cannot be chained");
    assert_string_equal(d.msg, "cell:1:7: comparisons cannot be chained near '<'");
    mag_diag_set(&d, NULL, 0, MAG_ESYNTAX, 1, 7, "<=", "x");
    assert_string_equal(d.msg, "cell:1:7: x near '<='");
    mag_diag_set(&d, NULL, 0, MAG_ESCHEMA, 0, 0, NULL, "unknown magic '%s'", "%foo");
    assert_string_equal(d.msg, "cell: unknown magic '%foo'");
}

static void duplicates_in_long_bodies(void **state)
{
    (void)state;
    /* past 8 keys the parser hashes them: same messages */
    char src[8192] = "%%rl r\n";
    for (int k = 0; k < 100; k++)
        sprintf(src + strlen(src), "k%d = %d\n", k, k);
    strcat(src, "k37 = 1\n");
    mag_cell *c;
    mag_diag d;
    assert_int_equal(mag_parse_cell(src, strlen(src), FX_OPTS, &c, &d), MAG_ESYNTAX);
    assert_string_equal(d.msg, "cell:102:1: duplicate key 'k37' (first set at line 39)");
    strcpy(src, "%x {");
    for (int k = 0; k < 50; k++)
        sprintf(src + strlen(src), "m%d: %d, ", k, k);
    strcat(src, "m0: 1}");
    assert_int_equal(mag_parse_cell(src, strlen(src), FX_OPTS, &c, &d), MAG_ESYNTAX);
    assert_string_equal(d.token, "m0");
    assert_int_equal(strncmp(d.msg, "cell:1:", 7), 0);
    assert_non_null(strstr(d.msg, ": duplicate key 'm0' (first set at line 1)"));
    /* line-magic arguments mix positional values (no key) and named ones */
    strcpy(src, "%x");
    for (int k = 0; k < 30; k++)
        sprintf(src + strlen(src), " p%d a%d=%d", k, k, k);
    assert_int_equal(mag_parse_cell(src, strlen(src), FX_OPTS, &c, &d), MAG_OK);
    assert_int_equal(c->lines[0].nargs, 60);
    mag_cell_free(c);
    strcat(src, " a29=0");
    assert_int_equal(mag_parse_cell(src, strlen(src), FX_OPTS, &c, &d), MAG_ESYNTAX);
    assert_string_equal(d.token, "a29");
    /* a 1 MiB body of distinct keys parses (linear, not quadratic) */
    char *big = malloc(MAG_MAX_CELL_BYTES);
    assert_non_null(big);
    size_t n = (size_t)sprintf(big, "%%%%rl r\n");
    for (int k = 0; n + 32 < MAG_MAX_CELL_BYTES; k++)
        n += (size_t)sprintf(big + n, "key_%d = [%d, {a: b}]\n", k, k);
    assert_int_equal(mag_parse_cell(big, n, FX_OPTS, &c, &d), MAG_OK);
    assert_true(c->nentries > 30000);
    mag_cell_free(c);
    free(big);
}

static void error_leaves_no_cell(void **state)
{
    (void)state;
    mag_cell *c = (mag_cell *)1;
    mag_diag d;
    assert_int_equal(mag_parse_cell("%%rl r\nx = [", 12, FX_OPTS, &c, &d), MAG_ESYNTAX);
    assert_null(c);
    assert_int_equal(d.incomplete, 2);
    assert_int_equal(mag_parse_cell(NULL, 3, FX_OPTS, &c, &d), MAG_EARG);
    assert_int_equal(mag_parse_cell("", 0, FX_OPTS, &c, &d), MAG_OK);
    assert_int_equal(c->kind, MAG_CELL_LINES);
    assert_int_equal(c->nlines, 0);
    mag_cell_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_bad_cell_reports_exactly),
        cmocka_unit_test(huge_cell_is_rejected),
        cmocka_unit_test(deep_nesting_is_capped),
        cmocka_unit_test(caret_lines_up_under_the_column),
        cmocka_unit_test(duplicates_in_long_bodies),
        cmocka_unit_test(error_leaves_no_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
