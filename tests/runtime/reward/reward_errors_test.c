/* reward_errors_test.c: the compiler's error catalogue as a table of (source, origin,
 * exact code, line, column, message, near-token), including origin offsets, multi-line
 * sources, non-ASCII text (columns in code points), NUL bytes, invalid UTF-8, the
 * length / nesting / size caps, reward-call and debate(NAME) errors.  Every failing
 * compile must leave *out NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "rt_alloc.h"
#include "reward_fixture.h"

typedef struct ecase {
    const char *src;
    size_t len; /* 0: strlen(src) */
    int line0, col0;
    int code, line, col;
    const char *msg;
    const char *near;
} ecase;

#define S RT_ESYNTAX
#define N RT_ENAME
#define A RT_EARITY
#define L RT_ELIMIT
#define F RT_EFEATURE

static const ecase cases[] = {
    /* unknown functions, did you mean */
    {"lg(length)", 0, 1, 1, N, 1, 1, "unknown function 'lg' (did you mean 'log'?)", "lg"},
    {"1 + sqr(4)", 0, 1, 1, N, 1, 5, "unknown function 'sqr' (did you mean 'sqrt'?)", "sqr"},
    {"clamp(x, 0, 1)", 0, 1, 1, N, 1, 1, "unknown function 'clamp' (did you mean 'clip'?)",
     "clamp"},
    {"mx(1, 2)", 0, 1, 1, N, 1, 1, "unknown function 'mx' (did you mean 'max'?)", "mx"},
    {"debat(d1)", 0, 1, 1, N, 1, 1, "unknown function 'debat' (did you mean 'debate'?)", "debat"},
    {"exakt(correct=1)", 0, 1, 1, N, 1, 1, "unknown function 'exakt' (did you mean 'exact'?)",
     "exakt"},
    {"frobnicate(1)", 0, 1, 1, N, 1, 1, "unknown function 'frobnicate'", "frobnicate"},
    /* arity */
    {"clip(length, 0)", 0, 1, 1, A, 1, 1, "clip expects 3 arguments, got 2", "clip"},
    {"clip()", 0, 1, 1, A, 1, 1, "clip expects 3 arguments, got 0", "clip"},
    {"min(1)", 0, 1, 1, A, 1, 1, "min expects at least 2 arguments, got 1", "min"},
    {"max()", 0, 1, 1, A, 1, 1, "max expects at least 2 arguments, got 0", "max"},
    {"2 * log(1, 2)", 0, 1, 1, A, 1, 5, "log expects 1 argument, got 2", "log"},
    {"if(correct, 2)", 0, 1, 1, A, 1, 1, "if expects 3 arguments, got 2", "if"},
    {"abs(x=1)", 0, 1, 1, A, 1, 5, "abs takes no named arguments", "x"},
    /* syntax */
    {"1 + )", 0, 1, 1, S, 1, 5, "unexpected ')'", ")"},
    {"1 +* 2", 0, 1, 1, S, 1, 4, "unexpected '*'", "*"},
    {"(1 + 2", 0, 1, 1, S, 1, 7, "expected ')' (to close '(' at column 1)", ""},
    {"1 * (2 + log(3 4", 0, 1, 1, S, 1, 16, "expected ')' (to close '(' at column 13)", "4"},
    {"((1)", 0, 1, 1, S, 1, 5, "expected ')' (to close '(' at column 1)", ""},
    {"min(1,)", 0, 1, 1, S, 1, 7, "unexpected ')'", ")"},
    {"min(,1)", 0, 1, 1, S, 1, 5, "unexpected ','", ","},
    {"1 +", 0, 1, 1, S, 1, 4, "unexpected end of expression", ""},
    {"-", 0, 1, 1, S, 1, 2, "unexpected end of expression", ""},
    {"not", 0, 1, 1, S, 1, 4, "unexpected end of expression", ""},
    {"1 2", 0, 1, 1, S, 1, 3, "unexpected '2'", "2"},
    {"correct length", 0, 1, 1, S, 1, 9, "unexpected 'length'", "length"},
    {"1 + 2)", 0, 1, 1, S, 1, 6, "unexpected ')'", ")"},
    {"", 0, 1, 1, S, 1, 1, "empty expression", ""},
    {"   # only a comment\n", 0, 4, 9, S, 4, 9, "empty expression", ""},
    {"1 = 2", 0, 1, 1, S, 1, 3, "unexpected '=' (use '==' to compare)", "="},
    {"a ! b", 0, 1, 1, S, 1, 3, "unexpected '!' (use 'not' or '!=')", "!"},
    {"a && b", 0, 1, 1, S, 1, 3, "unexpected '&' (use 'and')", "&"},
    {"a || b", 0, 1, 1, S, 1, 3, "unexpected '|' (use 'or')", "|"},
    {"correct $ 1", 0, 1, 1, S, 1, 9, "unexpected character '$'", "$"},
    {"1 < 2 < 3", 0, 1, 1, S, 1, 7, "comparisons cannot be chained (write 'a < b and b < c')", "<"},
    {"2x", 0, 1, 1, S, 1, 1, "malformed number '2x'", "2x"},
    {"0x10", 0, 1, 1, S, 1, 1, "malformed number '0x10'", "0x10"},
    {"1e", 0, 1, 1, S, 1, 1, "malformed number '1e'", "1e"},
    {"1.2.3", 0, 1, 1, S, 1, 1, "malformed number '1.2.3'", "1.2.3"},
    {"1e999", 0, 1, 1, S, 1, 1, "number '1e999' is out of range", "1e999"},
    {"log + 1", 0, 1, 1, S, 1, 1, "'log' is a function; call it as log(...)", "log"},
    {"if", 0, 1, 1, S, 1, 1, "'if' is a function; call it as if(...)", "if"},
    {"exact + 1", 0, 1, 1, S, 1, 1, "'exact' is a reward; call it as exact(...)", "exact"},
    /* origin offsets and multi-line sources */
    {"1 + lg(2)", 0, 3, 10, N, 3, 14, "unknown function 'lg' (did you mean 'log'?)", "lg"},
    {"correct +\n  lg(2)", 0, 2, 9, N, 3, 3, "unknown function 'lg' (did you mean 'log'?)", "lg"},
    {"1 +\r\n\t)", 0, 1, 1, S, 2, 2, "unexpected ')'", ")"},
    /* non-ASCII: columns count code points */
    {"# pénalité été\n  1 +", 0, 1, 1, S, 2, 6, "unexpected end of expression", ""},
    {"1 + é", 0, 1, 1, S, 1, 5, "unexpected character 'é'", "é"},
    {"1 + \xe2\x82\xac + \xf0\x9f\x98\x80", 0, 1, 1, S, 1, 5, "unexpected character '€'", "€"},
    {"1 # é\n+ λ", 0, 5, 20, S, 6, 3, "unexpected character 'λ'", "λ"},
    {"1 # 日本語\n* (2 + 3", 0, 1, 1, S, 2, 9, "expected ')' (to close '(' at column 3)", ""},
    {"1 # 日本語\n* (2 +", 0, 1, 1, S, 2, 7, "unexpected end of expression", ""},
    {"1 + \xff", 0, 1, 1, S, 1, 5, "invalid UTF-8 byte 0xff", ""},
    {"1 + \xc3(", 0, 1, 1, S, 1, 5, "invalid UTF-8 byte 0xc3", ""},
    {"1 +\0 2", 6, 1, 1, S, 1, 4, "unexpected control character 0x00", ""},
    {"1 + \x07", 0, 1, 1, S, 1, 5, "unexpected control character 0x07", ""},
    /* debate(NAME) */
    {"debate(d3)", 0, 1, 1, N, 1, 8, "unknown debate 'd3'", "d3"},
    {"correct + debate(dl)", 0, 1, 1, N, 1, 18, "unknown debate 'dl' (did you mean 'd1'?)", "dl"},
    {"debate(1)", 0, 1, 1, A, 1, 8, "debate expects a name, e.g. debate(NAME)", "1"},
    {"debate()", 0, 1, 1, A, 1, 8, "debate expects a name, e.g. debate(NAME)", ")"},
    {"debate(d1, d2)", 0, 1, 1, A, 1, 10, "debate expects a name, e.g. debate(NAME)", ","},
    {"debate(d1", 0, 1, 1, S, 1, 10, "expected ')' (to close '(' at column 7)", ""},
    {"debate + 1", 0, 1, 1, A, 1, 1, "debate expects a name, e.g. debate(NAME)", "debate"},
    {"debate(bad)", 0, 1, 1, RT_EINVAL, 1, 8,
     "debate(bad) resolved to slot 99, outside the 7 feature slots", "bad"},
    /* reward calls */
    {"exact(corect=1)", 0, 1, 1, N, 1, 7,
     "'exact' has no feature or parameter 'corect' (did you mean 'correct'?)", "corect"},
    {"exact(zzz=1)", 0, 1, 1, N, 1, 7, "'exact' has no feature or parameter 'zzz'", "zzz"},
    {"exact(1)", 0, 1, 1, A, 1, 7,
     "'exact' takes named arguments (feature=value), got a positional argument", "1"},
    {"exact(correct=1, length=2, correct=3)", 0, 1, 1, A, 1, 28, "duplicate argument 'correct'",
     "correct"},
    {"exact(correct=)", 0, 1, 1, S, 1, 15, "unexpected ')'", ")"},
    {"exact(correct=1 length=2)", 0, 1, 1, S, 1, 17, "expected ')' (to close '(' at column 6)",
     "length"},
};

static void error_table(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "exact");
    rt_diag d;
    const char *src = "correct - c*length";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &reg.progs[0], &d), 0);
    reg.names[0] = "exact";
    reg.n = 1;
    env.n_reward_names = 1;
    env.name = "r";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ecase *e = &cases[i];
        rt_reward_program *p = (rt_reward_program *)&d; /* must be reset to NULL */
        size_t len = e->len ? e->len : strlen(e->src);
        int rc = rt_reward_compile(e->src, len, e->line0, e->col0, &env, &p, &d);
        if (rc != e->code || d.code != e->code || d.line != e->line || d.col != e->col ||
            strcmp(d.msg, e->msg) || strcmp(d.near, e->near))
            fail_msg("case %zu '%s':\n got  %d %d:%d: %s near '%s'\n want %d %d:%d: %s near '%s'",
                     i, e->src, rc, d.line, d.col, d.msg, d.near, e->code, e->line, e->col, e->msg,
                     e->near);
        assert_null(p);
    }
    fx_registry_free(&reg);
}

/* Errors a reward call raises when the caller lacks the callee's features. */
static void call_needs_features(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "j");
    rt_diag d;
    const char *src = "correct*debate(d1) + partial";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &reg.progs[0], &d), 0);
    reg.names[0] = "j";
    reg.n = 1;
    rt_reward_env bare;
    memset(&bare, 0, sizeof bare);
    bare.resolve_reward = fx_lookup;
    bare.ctx = &reg;
    rt_reward_program *p = NULL;
    src = "1 + j(correct=1, partial=0)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &bare, &p, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "'j' reads debate(d1), which is not available here");
    assert_int_equal(d.col, 5);
    src = "1 + j(correct=1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &bare, &p, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "'j' reads debate(d1), which is not available here");
    /* with the debate available, the missing plain feature is named */
    rt_reward_env half = bare;
    half.feature_fns = fx_feature_fns;
    half.n_feature_fns = 1;
    half.resolve_feature = fx_resolve_debate;
    half.n_slots = 7;
    src = "2 *\n j(correct=1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &half, &p, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "'j' reads feature 'partial', which is not available here (give it: "
                               "j(partial=...))");
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 2);
    assert_null(p);
    src = "j(correct=1, partial=0.5)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &half, &p, &d), 0);
    double f[7] = {0, 0, 0, 0, 0, 1, 0};
    assert_true(rt_reward_eval(p, f, NULL) == 1.5);
    rt_reward_free(p);
    fx_registry_free(&reg);
}

/* issue 12 B7: a parameter named like a feature and a reward that reads no feature are
 * warnings (the program compiles), each at its place. */
static void warnings(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "bad");
    rt_diag d, w;
    rt_reward_program *p = NULL;
    const char *src = "corect - 0.1";
    assert_int_equal(rt_reward_compile(src, strlen(src), 2, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_warning(p, 0, NULL), 2);
    assert_int_equal(rt_reward_warning(p, 0, &w), 2);
    assert_string_equal(w.msg, "'corect' is a parameter (did you mean the feature 'correct'?)");
    assert_int_equal(w.line, 2);
    assert_int_equal(w.col, 1);
    rt_reward_warning(p, 1, &w);
    assert_string_equal(w.msg, "reward 'bad' reads no feature: every sample gets the same reward");
    assert_int_equal(w.line, 2);
    assert_int_equal(w.col, 1);
    rt_reward_warning(p, 2, &w);
    assert_string_equal(w.msg, "");
    rt_reward_free(p);
    /* a typo next to a real feature: one warning, at the typo (columns in code points) */
    src = "correct - c * lenght  # \u00e9";
    assert_int_equal(rt_reward_compile(src, strlen(src), 3, 5, &env, &p, &d), 0);
    assert_int_equal(rt_reward_warning(p, 0, &w), 1);
    assert_string_equal(w.msg, "'lenght' is a parameter (did you mean the feature 'length'?)");
    assert_int_equal(w.line, 3);
    assert_int_equal(w.col, 19);
    rt_reward_free(p);
    /* a constant on a later line: the first token */
    src = "\n  2 * c";
    assert_int_equal(rt_reward_compile(src, strlen(src), 2, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_warning(p, 0, &w), 1);
    assert_string_equal(w.msg, "reward 'bad' reads no feature: every sample gets the same reward");
    assert_int_equal(w.line, 3);
    assert_int_equal(w.col, 3);
    rt_reward_free(p);
    /* fine rewards: none; an expression without features (env has none): none */
    src = "correct - c*length + debate(d1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_warning(p, 0, &w), 0);
    rt_reward_free(p);
    rt_reward_env bare;
    memset(&bare, 0, sizeof bare);
    src = "1 + corect";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &bare, &p, &d), 0);
    assert_int_equal(rt_reward_warning(p, 0, &w), 0);
    rt_reward_free(p);
    assert_int_equal(rt_reward_warning(NULL, 0, &w), 0);
}

static void caps(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "r");
    rt_reward_program *p = NULL;
    rt_diag d;
    static char buf[RT_REWARD_MAX_SOURCE + 64];

    /* length */
    memset(buf, ' ', RT_REWARD_MAX_SOURCE + 1);
    buf[0] = '1';
    assert_int_equal(rt_reward_compile(buf, RT_REWARD_MAX_SOURCE + 1, 2, 3, &env, &p, &d),
                     RT_ELIMIT);
    assert_string_equal(d.msg, "expression too long (8193 bytes; the limit is 8192)");
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 3);
    assert_int_equal(rt_reward_compile(buf, RT_REWARD_MAX_SOURCE, 2, 3, &env, &p, &d), 0);
    rt_reward_free(p);

    /* nesting: 64 levels compile, 65 do not */
    for (int depth = 64; depth <= 65; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            buf[n++] = '(';
        buf[n++] = '1';
        for (int i = 0; i < depth; i++)
            buf[n++] = ')';
        int rc = rt_reward_compile(buf, n, 1, 1, &env, &p, &d);
        if (depth == 64) {
            assert_int_equal(rc, 0);
            rt_reward_free(p);
        } else {
            assert_int_equal(rc, RT_ELIMIT);
            assert_string_equal(d.msg, "expression nested too deeply (more than 64 levels)");
            assert_int_equal(d.col, 65);
        }
    }
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        buf[n++] = '-';
    buf[n++] = '1';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_string_equal(d.msg, "expression nested too deeply (more than 64 levels)");
    n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)sprintf(buf + n, "not ");
    buf[n++] = '1';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);
    n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)sprintf(buf + n, "abs(");
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_int_equal(d.col, 4 * 64 + 4);
    n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)sprintf(buf + n, "2^");
    buf[n++] = '1';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);

    /* a long flat sum is fine up to the height cap, then a clear error */
    n = 0;
    buf[n++] = '1';
    for (int i = 0; i < 1023; i++)
        buf[n++] = '+', buf[n++] = '1';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), 0);
    assert_true(rt_reward_eval(p, NULL, NULL) == 1024);
    rt_reward_free(p);
    buf[n++] = '+', buf[n++] = '1';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_string_equal(d.msg, "expression too complex (more than 1024 levels of operations)");
    assert_int_equal(d.col, (int)n - 1);

    /* numbers */
    memset(buf, '1', 96);
    assert_int_equal(rt_reward_compile(buf, 96, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_string_equal(d.msg, "number too long (more than 95 characters)");
    assert_int_equal(rt_reward_compile(buf, 95, 1, 1, &env, &p, &d), 0);
    assert_true(rt_reward_eval(p, NULL, NULL) > 1e94);
    rt_reward_free(p);

    /* names and argument counts */
    memset(buf, 'a', 65);
    assert_int_equal(rt_reward_compile(buf, 65, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_string_equal(d.msg, "name too long (more than 64 characters)");
    assert_int_equal(rt_reward_compile(buf, 64, 1, 1, &env, &p, &d), 0);
    rt_reward_free(p);
    n = (size_t)sprintf(buf, "min(1");
    for (int i = 0; i < 64; i++)
        n += (size_t)sprintf(buf + n, ",1");
    buf[n++] = ')';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), RT_ELIMIT);
    assert_string_equal(d.msg, "too many arguments (more than 64)");
    assert_int_equal(d.col, 4 + 2 * 64 + 1);
}

/* Inlining cannot blow up: nested calls of a reward that reads its feature twice
 * double the tree each level; the size caps stop it with a clean error. */
static void inlining_caps(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "sq");
    rt_diag d;
    assert_int_equal(
        rt_reward_compile("partial*partial + partial", 25, 1, 1, &env, &reg.progs[0], &d), 0);
    reg.names[0] = "sq";
    reg.n = 1;
    char buf[2048];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(buf + n, "sq(partial=");
    n += (size_t)sprintf(buf + n, "length");
    for (int i = 0; i < 40; i++)
        buf[n++] = ')';
    rt_reward_program *p = NULL;
    int rc = rt_reward_compile(buf, n, 1, 1, &env, &p, &d);
    assert_int_equal(rc, RT_ELIMIT);
    assert_string_equal(d.msg, "expression too large (more than 65536 instructions)");
    assert_null(p);
    /* ten levels are fine and evaluate like the closed form */
    n = 0;
    for (int i = 0; i < 3; i++)
        n += (size_t)sprintf(buf + n, "sq(partial=");
    n += (size_t)sprintf(buf + n, "partial");
    for (int i = 0; i < 3; i++)
        buf[n++] = ')';
    assert_int_equal(rt_reward_compile(buf, n, 1, 1, &env, &p, &d), 0);
    double x = 0.5;
    for (int i = 0; i < 3; i++)
        x = x * x + x;
    assert_true(rt_reward_eval(p, fx_values, NULL) == x);
    rt_reward_free(p);
    fx_registry_free(&reg);
}

static void bad_api_arguments(void **state)
{
    (void)state;
    rt_diag d;
    rt_reward_program *p = NULL;
    assert_int_equal(rt_reward_compile(NULL, 3, 1, 1, NULL, &p, &d), RT_EINVAL);
    assert_int_equal(rt_reward_compile("1", 1, 1, 1, NULL, NULL, &d), RT_EINVAL);
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.n_features = 2; /* but no names */
    assert_int_equal(rt_reward_compile("1", 1, 1, 1, &env, &p, &d), RT_EINVAL);
    assert_string_equal(d.msg, "invalid environment");
    /* a NULL env is an empty one; a NULL diag is allowed */
    assert_int_equal(rt_reward_compile("x + 1", 5, 1, 1, NULL, &p, NULL), 0);
    assert_int_equal(rt_reward_n_params(p), 1);
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, NULL, &d), RT_EINVAL);
    rt_reward_free(p);
    assert_int_equal(rt_reward_compile("(", 1, 1, 1, NULL, &p, NULL), RT_ESYNTAX);
    assert_int_equal(rt_reward_compile("lg(1)", 5, 1, 1, NULL, &p, NULL), RT_ENAME);
    assert_int_equal(rt_reward_compile("min(1)", 6, 1, 1, NULL, &p, NULL), RT_EARITY);
    assert_int_equal(rt_reward_n_features(NULL), 0);
    assert_true(rt_reward_eval(NULL, NULL, NULL) == 0);
    rt_reward_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_table),   cmocka_unit_test(call_needs_features),
        cmocka_unit_test(warnings),      cmocka_unit_test(caps),
        cmocka_unit_test(inlining_caps), cmocka_unit_test(bad_api_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
