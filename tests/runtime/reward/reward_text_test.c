/* reward_text_test.c: texts in the reward language (issue 16, item 2): string literals
 * (escapes, unterminated, newline, too long), the text built-ins equals / contains /
 * prefix / edit_distance / number and close on hand cases, the NaN comparison rule,
 * bare numeric texts and the bare-text error, did-you-mean over texts, "takes texts"
 * errors, linking (success and both failures), inlining a defined reward that reads
 * texts, describe, the no-feature warning, is_constant / no folding of text ops, the
 * stack and text-stack accounting, and evaluation with NULL texts and in batches.
 * Every evaluation through ev() is checked to make no allocation.
 * Values compared are exact: every result here is an integer, a correctly rounded
 * strtod result or 0/1, so == (or assert_true on bits) is the right tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "rt_alloc.h"
#include "reward_fixture.h"

static const char *const tx_names[] = {"answer", "target", "prompt", "unit", "priority"};
static const unsigned char tx_numeric[] = {0, 0, 0, 0, 1};

static rt_reward_env tx_env(fx_registry *reg, const char *name)
{
    rt_reward_env e = fx_env(reg, name);
    e.texts = tx_names;
    e.n_texts = 5;
    e.text_numeric = tx_numeric;
    return e;
}

static rt_reward_program *compile_env(const char *src, const rt_reward_env *e)
{
    rt_diag d;
    rt_reward_program *p = NULL;
    int rc = rt_reward_compile(src, strlen(src), 1, 1, e, &p, &d);
    if (rc) fprintf(stderr, "compile '%s': %s\n", src, d.msg);
    assert_int_equal(rc, 0);
    assert_non_null(p);
    return p;
}

/* Evaluate src with texts answer, target, prompt, unit, priority. */
static double ev(const char *src, const char *answer, const char *target)
{
    rt_reward_env e = tx_env(NULL, "r");
    rt_reward_program *p = compile_env(src, &e);
    rt_strview t[5] = {
        {answer, strlen(answer)}, {target, strlen(target)}, {"", 0}, {"km", 2}, {"3", 1}};
    double params[8] = {0.25, 0.5};
    rt_alloc_fail_at(0);
    double v = rt_reward_eval_texts(p, fx_values, params, t);
    assert_int_equal(rt_alloc_count(), 0); /* evaluation never allocates */
    /* the unfolded program computes the same */
    e.flags = RT_REWARD_NO_FOLD;
    rt_reward_program *q = compile_env(src, &e);
    assert_true(rt_reward_eval_texts(q, fx_values, params, t) == v);
    rt_reward_free(q);
    rt_reward_free(p);
    return v;
}

static void expect_error(const char *src, int code, int line, int col, const char *msg)
{
    rt_reward_env e = tx_env(NULL, "r");
    rt_diag d;
    rt_reward_program *p = (rt_reward_program *)1;
    int rc = rt_reward_compile(src, strlen(src), 1, 1, &e, &p, &d);
    if (rc != code || strcmp(d.msg, msg) || d.line != line || d.col != col)
        fprintf(stderr, "'%s': got %d %d:%d '%s'\n", src, rc, d.line, d.col, d.msg);
    assert_int_equal(rc, code);
    assert_null(p);
    assert_int_equal(d.line, line);
    assert_int_equal(d.col, col);
    assert_string_equal(d.msg, msg);
}

static void lex_strings(void **state)
{
    (void)state;
    /* escapes decode to the bytes they name */
    assert_true(ev("equals(answer, \"a\\\"b\")", "a\"b", "") == 1);
    assert_true(ev("equals(answer, \"a\\\\b\")", "a\\b", "") == 1);
    assert_true(ev("equals(answer, \"x\\ny\\tz\")", "x\ny\tz", "") == 1);
    assert_true(ev("equals(answer, \"x\\ny\")", "x\\ny", "") == 0);
    assert_true(ev("equals(answer, \"\")", "", "") == 1);
    assert_true(ev("equals(answer, \"a\tb\")", "a\tb", "") == 1); /* a raw tab is allowed */
    expect_error("equals(answer, \"a\x01\")", RT_ESYNTAX, 1, 16,
                 "control character inside a string");
    assert_true(ev("equals(answer, \"k\xc3\xa9rpen\")", "k\xc3\xa9rpen", "") == 1);
    /* errors at the string's position */
    expect_error("equals(answer, \"abc)", RT_ESYNTAX, 1, 16, "unterminated string (missing '\"')");
    expect_error("1 +\n  equals(answer, \"ab\ncd\")", RT_ESYNTAX, 2, 18,
                 "newline inside a string (close it with '\"' on the same line; write \\n for a "
                 "newline)");
    expect_error("equals(answer, \"a\\qb\")", RT_ESYNTAX, 1, 16,
                 "invalid escape in string (use \\\" \\\\ \\n or \\t)");
    expect_error("equals(answer, \"a\\", RT_ESYNTAX, 1, 16,
                 "invalid escape in string (use \\\" \\\\ \\n or \\t)");
    expect_error("equals(answer, \"a\xff\")", RT_ESYNTAX, 1, 16, "invalid UTF-8 inside a string");
    expect_error("\"abc\" + 1", RT_ESYNTAX, 1, 1,
                 "a \"string\" can only be an argument of equals, contains, prefix, edit_distance "
                 "or number");
    /* the cap: 256 bytes after escapes pass, 257 do not */
    char src[400];
    char lit[300];
    memset(lit, 'a', 256);
    lit[256] = 0;
    snprintf(src, sizeof src, "prefix(answer, \"%s\")", lit);
    assert_true(ev(src, lit, "") == 1);
    snprintf(src, sizeof src, "prefix(answer, \"%s\\n\")", lit); /* 257 after escapes */
    expect_error(src, RT_ELIMIT, 1, 16, "string too long (more than 256 bytes)");
}

static void functions(void **state)
{
    (void)state;
    /* equals / contains / prefix */
    assert_true(ev("equals(answer, target)", "12", "12") == 1);
    assert_true(ev("equals(answer, target)", "12", "12 ") == 0);
    assert_true(ev("equals(answer, target)", "", "") == 1);
    assert_true(ev("contains(answer, \"wor\")", "hello world", "") == 1);
    assert_true(ev("contains(answer, \"word\")", "hello world", "") == 0);
    assert_true(ev("contains(answer, \"\")", "", "") == 1);
    assert_true(ev("contains(answer, target)", "ab", "abc") == 0);
    assert_true(ev("contains(answer, target)", "aab", "ab") == 1);
    assert_true(ev("contains(answer, target)", "abab", "bab") == 1);
    assert_true(ev("prefix(answer, \"12\")", "123", "") == 1);
    assert_true(ev("prefix(answer, \"12\")", "1", "") == 0);
    assert_true(ev("prefix(answer, \"\")", "", "") == 1);
    assert_true(ev("prefix(\"12\", answer)", "123", "") == 0);
    /* edit distance in code points */
    assert_true(ev("edit_distance(answer, target)", "k\xc3\xa9rpen", "kerpen") == 1);
    assert_true(ev("edit_distance(answer, target)", "kitten", "sitting") == 3);
    assert_true(ev("edit_distance(answer, target)", "", "abc") == 3);
    assert_true(ev("edit_distance(answer, target)", "abc", "") == 3);
    assert_true(ev("edit_distance(answer, target)", "", "") == 0);
    assert_true(ev("edit_distance(answer, target)", "\xe2\x82\xac", "\xe2\x82\xac\xe2\x82\xac") ==
                1);
    /* invalid bytes: one code point each, equal only to the same byte */
    assert_true(ev("edit_distance(answer, target)", "a\xff", "a\xfe") == 1);
    assert_true(ev("edit_distance(answer, target)", "a\xff\xfe", "a\xff\xfe") == 0);
    assert_true(ev("edit_distance(answer, target)", "\xe2\x82", "") == 2);
    /* the cap: each text is cut to its first 1024 code points */
    char big[1200];
    memset(big, 'a', 1100);
    big[1100] = 0;
    assert_true(ev("edit_distance(answer, target)", big, "") == 1024);
    assert_true(ev("edit_distance(answer, target)", big, "b") == 1024);
    /* number */
    struct {
        const char *text;
        double v;
    } nums[] = {{"12 km", 12}, {"-0.5", -0.5},     {"1e3", 1000},   {".5", 0.5},
                {"5.", 5},     {"x=-3.5e2", -350}, {"1,000", 1},    {"+7", 7},
                {"a-b 4", 4},  {"2e", 2},          {"3e+", 3},      {"v 0.1", 0.1},
                {"- 5", 5},    {"1.2.3", 1.2},     {"-.25x", -0.25}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        double v = ev("number(answer)", nums[i].text, "");
        if (v != nums[i].v) fprintf(stderr, "number(%s) = %.17g\n", nums[i].text, v);
        assert_true(v == nums[i].v);
    }
    /* no number: NaN, so the final result is 0 and comparisons are false */
    assert_true(ev("number(answer)", "abc", "") == 0);
    assert_true(ev("number(answer)", "", "") == 0);
    assert_true(ev("number(answer)", ".", "") == 0);
    assert_true(ev("number(answer) == number(answer)", "abc", "") == 0);
    /* a numeral longer than 64 characters reads as NaN; 64 still parse */
    char longnum[80];
    memset(longnum, '1', 70);
    longnum[70] = 0;
    assert_true(ev("number(answer) > 0", longnum, "") == 0);
    longnum[65] = 0;
    assert_true(ev("number(answer) > 0", longnum, "") == 0);
    longnum[64] = 0;
    assert_true(ev("number(answer) > 0", longnum, "") == 1);
    /* close */
    assert_true(ev("close(number(answer), number(target), 0.01)", "3.14", "3.141") == 1);
    assert_true(ev("close(number(answer), number(target), 0.01)", "3.1", "3.141") == 0);
    assert_true(ev("close(1, 1, -5)", "", "") == 1);
    assert_true(ev("close(1, 1.5, -5)", "", "") == 0);
    assert_true(ev("close(1, 1.5, 0.5)", "", "") == 1);
    assert_true(ev("close(number(answer), number(target), 1e9)", "none", "3") == 0);
    assert_true(ev("close(number(answer), number(answer), 1)", "none", "") == 0);
}

static void nan_rule(void **state)
{
    (void)state;
    assert_true(ev("number(answer) == number(target)", "12 km", "12") == 1);
    assert_true(ev("number(answer) == number(target)", "none", "12") == 0);
    assert_true(ev("number(answer) == number(target)", "none", "none") == 0);
    assert_true(ev("number(answer) != number(target)", "none", "none") == 1);
    assert_true(ev("number(answer) < number(target)", "none", "1") == 0);
    assert_true(ev("number(answer) <= number(target)", "none", "1") == 0);
    assert_true(ev("number(answer) > number(target)", "1", "none") == 0);
    assert_true(ev("number(answer) >= number(target)", "1", "none") == 0);
    assert_true(ev("number(answer) + 1", "none", "") == 0); /* NaN result -> 0 */
    /* the verifiers of the brief */
    assert_true(ev("if(number(answer) == number(target), 1, 0) - 0.01 * length", "12", "12.0") ==
                1 - 0.01 * 12);
    assert_true(ev("equals(answer, target) + 0.5 * prefix(answer, \"12\") - 0.1 * "
                   "edit_distance(answer, target)",
                   "123", "12") == 0.5 - 0.1);
    assert_true(ev("close(number(answer), number(target), 0.01) * (priority >= 2)", "1", "1.001") ==
                1);
}

static void bare_texts(void **state)
{
    (void)state;
    /* a numeric column reads as number(NAME) */
    assert_true(ev("priority * 2", "", "") == 6);
    rt_reward_env e = tx_env(NULL, "r");
    rt_reward_program *p = compile_env("priority + equals(answer, \"x\")", &e);
    assert_int_equal(rt_reward_n_texts(p), 2);
    assert_string_equal(rt_reward_text_name(p, 0), "priority");
    assert_int_equal(rt_reward_text_slot(p, 0), 4);
    assert_string_equal(rt_reward_text_name(p, 1), "answer");
    assert_int_equal(rt_reward_text_slot(p, 1), 0);
    assert_null(rt_reward_text_name(p, 2));
    assert_int_equal(rt_reward_text_slot(p, 2), -1);
    assert_int_equal(rt_reward_min_texts(p), 5);
    assert_int_equal(rt_reward_n_features(p), 0);
    rt_reward_free(p);
    p = compile_env("equals(answer, target)", &e);
    assert_int_equal(rt_reward_min_texts(p), 2);
    rt_reward_free(p);
    p = compile_env("correct", &e);
    assert_int_equal(rt_reward_min_texts(p), 0);
    assert_int_equal(rt_reward_n_texts(p), 0);
    rt_reward_free(p);
    /* features come first in the name lookup, parameters last */
    p = compile_env("correct + c", &e);
    assert_int_equal(rt_reward_n_texts(p), 0);
    assert_int_equal(rt_reward_n_params(p), 1);
    rt_reward_free(p);
    expect_error("1 + answer", RT_ENAME, 1, 5,
                 "'answer' is text: use it in equals, contains, prefix, edit_distance or number "
                 "(e.g. number(answer))");
}

static void text_argument_errors(void **state)
{
    (void)state;
    expect_error("equals(1, answer)", RT_EARITY, 1, 8,
                 "equals takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("contains(answer, correct)", RT_EARITY, 1, 18,
                 "contains takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("prefix(answer, number(target))", RT_EARITY, 1, 16,
                 "prefix takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("number(answer + 1)", RT_EARITY, 1, 8,
                 "number takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("equals(x + 1, answer)", RT_EARITY, 1, 8,
                 "equals takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("equals(answer, \"a\" + 1)", RT_EARITY, 1, 16,
                 "equals takes texts (a text name: answer, target, ... or a \"string\")");
    expect_error("equals(anwser, target)", RT_ENAME, 1, 8,
                 "unknown text 'anwser' (did you mean 'answer'?)");
    expect_error("equals(answer, zzz)", RT_ENAME, 1, 16, "unknown text 'zzz'");
    expect_error("equals(answer)", RT_EARITY, 1, 1, "equals expects 2 arguments, got 1");
    expect_error("number(answer, target)", RT_EARITY, 1, 1, "number expects 1 argument, got 2");
    expect_error("edit_distance()", RT_EARITY, 1, 1, "edit_distance expects 2 arguments, got 0");
    expect_error("close(1, 2)", RT_EARITY, 1, 1, "close expects 3 arguments, got 2");
    expect_error("equals(answer, target", RT_ESYNTAX, 1, 22,
                 "expected ')' (to close '(' at column 7)");
    expect_error("1 + equals", RT_ESYNTAX, 1, 5, "'equals' is a function; call it as equals(...)");
    expect_error("equal(answer, target)", RT_ENAME, 1, 1,
                 "unknown function 'equal' (did you mean 'equals'?)");
    /* no texts in the env at all */
    rt_reward_env e = fx_env(NULL, "r");
    rt_diag d;
    rt_reward_program *p = NULL;
    const char *src = "equals(answer, \"x\")";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &e, &p, &d), RT_ENAME);
    assert_string_equal(d.msg, "unknown text 'answer'");
    src = "equals(1, \"x\")";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &e, &p, &d), RT_EARITY);
    assert_string_equal(d.msg, "equals takes texts (a \"string\"; there are no text names here)");
    /* but literals alone work */
    src = "equals(\"x\", \"x\") + contains(\"abc\", \"b\")";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &e, &p, &d), 0);
    assert_true(rt_reward_eval(p, fx_values, NULL) == 2);
    assert_int_equal(rt_reward_min_texts(p), 0);
    rt_reward_free(p);
}

static void linking(void **state)
{
    (void)state;
    rt_reward_env e = tx_env(NULL, "r");
    rt_reward_program *p =
        compile_env("equals(answer, target) + priority + 10 * prefix(unit, \"k\")", &e);
    /* another layout: texts permuted, priority still numeric */
    static const char *const names2[] = {"priority", "unit", "target", "x", "answer"};
    static const unsigned char num2[] = {1, 0, 0, 0, 0};
    rt_reward_env l = e;
    l.texts = names2;
    l.n_texts = 5;
    l.text_numeric = num2;
    rt_reward_program *q = NULL;
    rt_diag d;
    assert_int_equal(rt_reward_link(p, &l, &q, &d), 0);
    assert_int_equal(rt_reward_min_texts(q), 5);
    assert_int_equal(rt_reward_text_slot(q, 0), 4); /* answer */
    rt_strview t1[5] = {{"ab", 2}, {"ab", 2}, {"", 0}, {"km", 2}, {"3", 1}};
    rt_strview t2[5] = {{"3", 1}, {"km", 2}, {"ab", 2}, {"zz", 2}, {"ab", 2}};
    double v1 = rt_reward_eval_texts(p, fx_values, NULL, t1);
    assert_true(v1 == 14);
    assert_true(rt_reward_eval_texts(q, fx_values, NULL, t2) == v1);
    rt_reward_free(q);
    /* a missing text */
    static const char *const names3[] = {"answer", "target", "prompt"};
    l.texts = names3;
    l.n_texts = 3;
    l.text_numeric = NULL;
    q = (rt_reward_program *)1;
    assert_int_equal(rt_reward_link(p, &l, &q, &d), RT_EFEATURE);
    assert_null(q);
    assert_string_equal(d.msg, "reward 'r' reads text 'priority', which the task's texts (answer, "
                               "target, prompt) do not include");
    assert_int_equal(d.line, 1);
    assert_int_equal(d.col, 26);
    l.n_texts = 0;
    l.texts = NULL;
    assert_int_equal(rt_reward_link(p, &l, &q, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "reward 'r' reads text 'answer', but the task has no texts");
    /* a bare read of a text that is not numeric in this task */
    static const unsigned char num4[] = {0, 0, 0, 0, 0};
    l.texts = tx_names;
    l.n_texts = 5;
    l.text_numeric = num4;
    assert_int_equal(rt_reward_link(p, &l, &q, &d), RT_EFEATURE);
    assert_string_equal(
        d.msg, "reward 'r' reads 'priority' as a number, but it is not a number in every row of "
               "the task");
    assert_int_equal(d.col, 26);
    assert_string_equal(d.near, "priority");
    rt_reward_free(p);
    /* a text read both in a function and bare: the bare read's position */
    p = compile_env("equals(priority, \"3\") + priority", &e);
    assert_int_equal(rt_reward_link(p, &l, &q, &d), RT_EFEATURE);
    assert_int_equal(d.col, 25);
    rt_reward_free(p);
}

static void inlining(void **state)
{
    (void)state;
    fx_registry reg = {0};
    rt_reward_env ge = tx_env(&reg, "g");
    reg.progs[0] = compile_env("equals(answer, \"ok\") + priority + c", &ge);
    reg.names[0] = "g";
    reg.n = 1;
    rt_reward_env fe = tx_env(&reg, "f");
    rt_reward_program *f = compile_env("g(c=0) + 10 * contains(target, \"y\")", &fe);
    assert_int_equal(rt_reward_n_texts(f), 3);
    assert_string_equal(rt_reward_text_name(f, 0), "answer");
    assert_string_equal(rt_reward_text_name(f, 1), "priority");
    assert_string_equal(rt_reward_text_name(f, 2), "target");
    rt_strview t[5] = {{"ok", 2}, {"xyz", 3}, {"", 0}, {"", 0}, {"2", 1}};
    assert_true(rt_reward_eval_texts(f, fx_values, NULL, t) == 13);
    rt_reward_free(f);
    /* a text cannot be given as an argument */
    rt_diag d;
    const char *src = "g(answer=1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &fe, &f, &d), RT_ENAME);
    /* the caller lacks the text: an error at the call */
    static const char *const few[] = {"target"};
    fe.texts = few;
    fe.n_texts = 1;
    fe.text_numeric = NULL;
    src = "1 + g()";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &fe, &f, &d), RT_ENAME);
    assert_string_equal(d.msg, "'g' reads text 'answer', which is not available here");
    assert_int_equal(d.col, 5);
    fx_registry_free(&reg);
}

static void describe_warn_constant(void **state)
{
    (void)state;
    rt_reward_env e = tx_env(NULL, "v");
    rt_reward_program *p = compile_env("equals(answer, target)", &e);
    char buf[256];
    rt_reward_describe(p, buf, sizeof buf);
    assert_string_equal(buf, "v = equals(answer, target)  (features: none; texts: answer, target; "
                             "parameters: none)");
    /* reading texts silences "reads no feature" and is not constant */
    assert_int_equal(rt_reward_warning(p, 0, NULL), 0);
    assert_int_equal(rt_reward_is_constant(p), 0);
    rt_reward_free(p);
    p = compile_env("correct + 1", &e);
    rt_reward_describe(p, buf, sizeof buf);
    assert_string_equal(buf, "v = correct + 1  (features: correct; parameters: none)");
    rt_reward_free(p);
    p = compile_env("2 * 3", &e);
    assert_int_equal(rt_reward_warning(p, 0, NULL), 1);
    assert_int_equal(rt_reward_is_constant(p), 1);
    rt_reward_free(p);
    /* folded to a constant, but it reads a text: not constant */
    p = compile_env("if(1, 2, equals(answer, target))", &e);
    assert_int_equal(rt_reward_code_size(p), 1);
    assert_int_equal(rt_reward_n_texts(p), 2);
    assert_int_equal(rt_reward_is_constant(p), 0);
    rt_reward_free(p);
    /* text ops on literals only are not folded */
    p = compile_env("equals(\"a\", \"a\") * 2", &e);
    assert_true(rt_reward_code_size(p) > 1);
    assert_int_equal(rt_reward_is_constant(p), 0);
    assert_true(rt_reward_eval(p, fx_values, NULL) == 2);
    rt_reward_free(p);
    /* close over constants is folded (it is numeric) */
    p = compile_env("close(1, 1.25, 0.5)", &e);
    assert_int_equal(rt_reward_is_constant(p), 1);
    assert_true(rt_reward_eval(p, fx_values, NULL) == 1);
    rt_reward_free(p);
}

static void stack_and_null_texts(void **state)
{
    (void)state;
    rt_reward_env e = tx_env(NULL, "r");
    rt_reward_program *p = compile_env("1 + equals(answer, target)", &e);
    assert_int_equal(rt_reward_stack_depth(p), 2); /* texts use their own stack */
    assert_int_equal(rt_reward_code_size(p), 5);   /* const, text, text, equals, add */
    /* NULL texts: every text reads as "" */
    assert_true(rt_reward_eval_texts(p, fx_values, NULL, NULL) == 2);
    assert_true(rt_reward_eval(p, fx_values, NULL) == 2);
    double out[3];
    assert_int_equal(rt_reward_eval_batch(p, NULL, 3, 0, NULL, out), 0);
    assert_true(out[0] == 2 && out[1] == 2 && out[2] == 2);
    rt_reward_free(p);
    /* right-nested text ops grow the number stack by one per level */
    char src[4096];
    size_t k = 0;
    int levels = 60; /* nesting stays under RT_REWARD_MAX_DEPTH */
    for (int i = 0; i < levels; i++)
        k += (size_t)snprintf(src + k, sizeof src - k, "equals(answer, \"x\") + (");
    k += (size_t)snprintf(src + k, sizeof src - k, "1");
    for (int i = 0; i < levels; i++)
        src[k++] = ')';
    src[k] = 0;
    e.flags = RT_REWARD_NO_FOLD;
    p = compile_env(src, &e);
    assert_int_equal(rt_reward_stack_depth(p), levels + 1);
    rt_strview t[5] = {{"x", 1}, {"", 0}, {"", 0}, {"", 0}, {"", 0}};
    assert_true(rt_reward_eval_texts(p, fx_values, NULL, t) == levels + 1);
    rt_reward_free(p);
    /* deeper than the nesting cap: RT_ELIMIT as before */
    k = 0;
    levels = 300;
    char *big = malloc(16384);
    assert_non_null(big);
    for (int i = 0; i < levels; i++)
        k += (size_t)snprintf(big + k, 16384 - k, "prefix(answer,\"\")+(");
    big[k++] = '1';
    for (int i = 0; i < levels; i++)
        big[k++] = ')';
    big[k] = 0;
    rt_diag d;
    assert_int_equal(rt_reward_compile(big, k, 1, 1, &e, &p, &d), RT_ELIMIT);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lex_strings),
        cmocka_unit_test(functions),
        cmocka_unit_test(nan_rule),
        cmocka_unit_test(bare_texts),
        cmocka_unit_test(text_argument_errors),
        cmocka_unit_test(linking),
        cmocka_unit_test(inlining),
        cmocka_unit_test(describe_warn_constant),
        cmocka_unit_test(stack_and_null_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
