/* reward_fuzz_test.c: random input must never crash the compiler: random byte
 * strings, random token soups (with reward calls and debate(NAME)), and random
 * well-formed expressions.  Every compile either fails with a message and a position
 * inside the source, or succeeds; a successful program evaluates to a non-NaN value,
 * identically with and without constant folding, identically in batch, and without
 * allocating.  Deterministic (fixed seeds) so a failure is reproducible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "rt_alloc.h"
#include "rt_rng.h"
#include "reward_fixture.h"

static fx_registry reg;

static void setup_registry(void)
{
    rt_reward_env env = fx_env(NULL, "exact");
    rt_diag d;
    const char *src = "if(correct, 1 - c*length/10, partial*partial) + alpha*debate(d1)";
    if (rt_reward_compile(src, strlen(src), 1, 1, &env, &reg.progs[0], &d)) fail_msg("%s", d.msg);
    reg.names[0] = "exact";
    reg.n = 1;
}

/* Compile; on success check evaluation properties.  Returns 1 if it compiled. */
static int check_one(const char *src, size_t len, rt_rng *rng)
{
    rt_reward_env env = fx_env(&reg, "f");
    rt_reward_program *p = NULL, *q = NULL;
    rt_diag d;
    int rc = rt_reward_compile(src, len, 1, 1, &env, &p, &d);
    if (rc) {
        assert_null(p);
        assert_true(d.msg[0] != 0);
        assert_int_equal(d.code, rc);
        assert_true(d.line >= 1 && d.col >= 1);
        assert_true(strlen(d.msg) < sizeof d.msg && strlen(d.near) < sizeof d.near);
        return 0;
    }
    env.flags = RT_REWARD_NO_FOLD;
    rc = rt_reward_compile(src, len, 1, 1, &env, &q, &d);
    if (rc) fail_msg("compiles folded but not unfolded: %s", d.msg);
    assert_int_equal(rt_reward_n_params(p), rt_reward_n_params(q));
    assert_true(rt_reward_code_size(p) <= rt_reward_code_size(q));
    assert_true(rt_reward_stack_depth(p) <= RT_REWARD_MAX_STACK);
    double prm[64], feats[3][7];
    int np = rt_reward_n_params(p);
    assert_true(np <= 64);
    for (int i = 0; i < np; i++)
        prm[i] = rt_rng_uniform(rng) * 4 - 2;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 7; i++)
            feats[r][i] = (double)(rt_rng_below(rng, 7)) - 2;
    double out[3];
    rt_alloc_fail_at(0);
    assert_int_equal(rt_reward_eval_batch(p, &feats[0][0], 3, 7, prm, out), 0);
    for (int r = 0; r < 3; r++) {
        double a = rt_reward_eval(p, feats[r], prm), b = rt_reward_eval(q, feats[r], prm);
        assert_false(isnan(a));
        if (!(a == b || (isinf(a) && isinf(b) && (a > 0) == (b > 0))))
            fail_msg("'%.*s': folded %.17g unfolded %.17g", (int)len, src, a, b);
        assert_true(a == out[r] || (isinf(a) && a == out[r]));
    }
    assert_int_equal(rt_alloc_count(), 0);
    char desc[64];
    rt_reward_describe(p, desc, sizeof desc);
    rt_reward_free(q);
    rt_reward_free(p);
    return 1;
}

static void random_bytes(void **state)
{
    (void)state;
    rt_rng rng = rt_rng_from_name(1, "reward-bytes");
    const char alphabet[] = "0123456789.eE+-*/^()<>=!,# \n\tabcdlognotrxpqsm_\xc3\xa9\xff";
    char buf[96];
    for (int it = 0; it < 20000; it++) {
        size_t len = rt_rng_below(&rng, sizeof buf);
        int raw = rt_rng_below(&rng, 4) == 0;
        for (size_t i = 0; i < len; i++)
            buf[i] = raw ? (char)rt_rng_below(&rng, 256)
                         : alphabet[rt_rng_below(&rng, sizeof alphabet - 1)];
        check_one(buf, len, &rng);
    }
}

static void token_soup(void **state)
{
    (void)state;
    rt_rng rng = rt_rng_from_name(2, "reward-soup");
    static const char *const toks[] = {
        "correct",    "partial", "length", "format",   "eos",     "c",     "alpha", "k",
        "1",          "0",       "2.5",    "1e3",      "-",       "+",     "*",     "/",
        "^",          "<",       "<=",     ">",        ">=",      "==",    "!=",    "and",
        "or",         "not",     "(",      ")",        "(",       ")",     ",",     "if(",
        "min(",       "max(",    "abs(",   "log(",     "exp(",    "sqrt(", "clip(", "debate(d1)",
        "debate(d2)", "debate(", "exact(", "correct=", "length=", "c=",    "=",     "lg(",
        "é",          "#",       "\n",     "1/0",      "0^-1",    "10^400"};
    const int nt = (int)(sizeof toks / sizeof toks[0]);
    char buf[512];
    int compiled = 0;
    for (int it = 0; it < 20000; it++) {
        size_t len = 0;
        int n = 1 + (int)rt_rng_below(&rng, 24);
        for (int i = 0; i < n; i++) {
            const char *t = toks[rt_rng_below(&rng, (uint64_t)nt)];
            size_t k = strlen(t);
            if (len + k + 1 >= sizeof buf) break;
            memcpy(buf + len, t, k);
            len += k;
            if (rt_rng_below(&rng, 2)) buf[len++] = ' ';
        }
        compiled += check_one(buf, len, &rng);
    }
    assert_true(compiled > 100); /* the soup does produce valid programs */
}

/* Random well-formed expressions: all compile, folding never changes the value. */
static size_t gen_expr(rt_rng *rng, char *buf, size_t cap, int depth)
{
    static const char *const leaves[] = {"correct", "partial",    "length", "eos",   "c",
                                         "k",       "0",          "1",      "2.5",   "-3",
                                         "0.1",     "debate(d1)", "1e2",    "format"};
    static const char *const bins[] = {
        "+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "and", "or"};
    static const char *const funs1[] = {"abs", "log", "exp", "sqrt", "not ", "-"};
    if (cap < 64) return 0;
    int kind = depth <= 0 ? 0 : (int)rt_rng_below(rng, 6);
    switch (kind) {
    case 0:
        return (size_t)snprintf(buf, cap, "%s", leaves[rt_rng_below(rng, 14)]);
    case 1: {
        size_t n = (size_t)snprintf(buf, cap, "(");
        n += gen_expr(rng, buf + n, cap - n, depth - 1);
        n += (size_t)snprintf(buf + n, cap - n, " %s ", bins[rt_rng_below(rng, 13)]);
        n += gen_expr(rng, buf + n, cap - n, depth - 1);
        n += (size_t)snprintf(buf + n, cap - n, ")");
        return n;
    }
    case 2: {
        /* 'not' binds looser than comparisons: parenthesize it as an operand */
        const char *f = funs1[rt_rng_below(rng, 6)];
        int is_not = f[0] == 'n';
        size_t n = (size_t)snprintf(buf, cap, "%s%s(", is_not ? "(" : "", f);
        n += gen_expr(rng, buf + n, cap - n, depth - 1);
        n += (size_t)snprintf(buf + n, cap - n, is_not ? "))" : ")");
        return n;
    }
    case 3:
    case 4: {
        const char *f = kind == 3 ? (rt_rng_below(rng, 2) ? "if(" : "clip(")
                                  : (rt_rng_below(rng, 2) ? "min(" : "max(");
        size_t n = (size_t)snprintf(buf, cap, "%s", f);
        for (int i = 0; i < 3; i++) {
            if (i) n += (size_t)snprintf(buf + n, cap - n, ", ");
            n += gen_expr(rng, buf + n, cap - n, depth - 1);
        }
        n += (size_t)snprintf(buf + n, cap - n, ")");
        return n;
    }
    default: {
        size_t n = (size_t)snprintf(buf, cap, "exact(correct=");
        n += gen_expr(rng, buf + n, cap - n, depth - 1);
        n += (size_t)snprintf(buf + n, cap - n, ", c=");
        n += gen_expr(rng, buf + n, cap - n, depth - 1);
        n += (size_t)snprintf(buf + n, cap - n, ")");
        return n;
    }
    }
}

static void random_expressions(void **state)
{
    (void)state;
    rt_rng rng = rt_rng_from_name(3, "reward-expr");
    static char buf[8192];
    for (int it = 0; it < 3000; it++) {
        size_t len = gen_expr(&rng, buf, sizeof buf, 1 + (int)rt_rng_below(&rng, 5));
        if (!check_one(buf, len, &rng)) {
            rt_reward_env env = fx_env(&reg, "f");
            rt_reward_program *p = NULL;
            rt_diag d;
            rt_reward_compile(buf, len, 1, 1, &env, &p, &d);
            fail_msg("'%.*s' did not compile: %d:%d: %s", (int)len, buf, d.line, d.col, d.msg);
        }
    }
}

int main(void)
{
    setup_registry();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_bytes),
        cmocka_unit_test(token_soup),
        cmocka_unit_test(random_expressions),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fx_registry_free(&reg);
    return rc;
}
