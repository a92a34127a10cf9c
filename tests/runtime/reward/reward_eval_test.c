/* reward_eval_test.c: values of the reward language: precedence, associativity, unary
 * minus, comparisons, logic, if, every function, features, parameters, debate(NAME),
 * the defined values of domain errors, constant folding (folded == unfolded, and
 * smaller), reward-call inlining, linking to another feature layout, batched ==
 * scalar evaluation, no allocation while evaluating, number formatting and
 * descriptions.  Errors are in reward_errors_test.c, random input in
 * reward_fuzz_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "rt_alloc.h"
#include "reward_fixture.h"

/* Compile src in env (folded or not), bind default parameters, evaluate on fx_values. */
static double eval_src(const char *src, rt_reward_env env, int fold, int *code_size)
{
    rt_reward_program *p = NULL;
    rt_diag d;
    if (!fold) env.flags |= RT_REWARD_NO_FOLD;
    int rc = rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d);
    if (rc) fail_msg("compile '%s': %d:%d: %s", src, d.line, d.col, d.msg);
    double params[16];
    rc = rt_reward_bind_params(p, NULL, NULL, 0, params, &d);
    if (rc) fail_msg("bind '%s': %s", src, d.msg);
    double v = rt_reward_eval(p, fx_values, params);
    if (code_size) *code_size = rt_reward_code_size(p);
    rt_reward_free(p);
    return v;
}

typedef struct vcase {
    const char *src;
    double want;
} vcase;

static void value_table(void **state)
{
    (void)state;
    const vcase cases[] = {
        /* precedence and associativity */
        {"1+2*3", 7},
        {"(1+2)*3", 9},
        {"10-4-3", 3},
        {"100/10/5", 2},
        {"2*3/4", 1.5},
        {"2^3^2", 512},
        {"(2^3)^2", 64},
        {"-2^2", -4},
        {"(-2)^2", 4},
        {"2^-1", 0.5},
        {"2*-3", -6},
        {"--3", 3},
        {"-+-3", 3},
        {"+4", 4},
        {"-length + 2", -10},
        {"1 + 1 == 2", 1},
        {"2 * 3 > 5", 1},
        /* comparisons give 1/0 */
        {"1 < 2", 1},
        {"2 < 1", 0},
        {"2 <= 2", 1},
        {"3 > 4", 0},
        {"4 >= 4", 1},
        {"1 == 1", 1},
        {"1 != 1", 0},
        {"0.5 == partial", 1},
        /* logic: nonzero is true, results are 1/0 */
        {"not 0", 1},
        {"not 5", 0},
        {"not not 7", 1},
        {"not 1 == 2", 1},
        {"1 and 2", 1},
        {"-3 and 0.5", 1},
        {"0 and 1", 0},
        {"0 or 3", 1},
        {"0 or 0", 0},
        {"2 or 0", 1},
        {"1 or 0 and 0", 1},
        {"(1 or 0) and 0", 0},
        {"correct and eos", 0},
        {"correct or eos", 1},
        {"partial and format", 1},
        {"eos or length", 1},
        {"eos and 1/eos", 0},
        {"not eos and correct", 1},
        {"length > 10 and correct", 1},
        /* if */
        {"if(correct, 10, 20)", 10},
        {"if(eos, 10, 20)", 20},
        {"if(-0.5, 1, 2)", 1},
        {"if(length > 10, length - 10, 0)", 2},
        {"if(1, 2, 3) + if(0, 2, 3)", 5},
        /* functions */
        {"min(3, 1, 2)", 1},
        {"max(3, 1, 2)", 3},
        {"min(length, 5)", 5},
        {"max(-1, -2)", -1},
        {"abs(-2.5)", 2.5},
        {"abs(2.5)", 2.5},
        {"log(length)", log(12.0)},
        {"exp(partial)", exp(0.5)},
        {"sqrt(16)", 4},
        {"sqrt(length)", sqrt(12.0)},
        {"clip(length, 0, 10)", 10},
        {"clip(-3, 0, 10)", 0},
        {"clip(5, 0, 10)", 5},
        {"clip(5, 10, 0)", 0},
        {"clip(partial, 0.25, 0.75)", 0.5},
        /* features, parameters (defaults c = 0.25, alpha = 0.5), debate */
        {"correct - 0.01*length", 1 - 0.01 * 12},
        {"partial*format + eos", 0.5},
        {"c", 0.25},
        {"c*length", 3},
        {"(1-alpha)*correct + alpha*c*debate(d1)", 0.5 * 1 + 0.5 * 0.25 * 1},
        {"debate(d2)", 0},
        {"debate(d1) + debate(d1) + debate(d2)", 2},
        /* numbers and comments */
        {"1.5e2", 150},
        {".5", 0.5},
        {"2E-1", 0.2},
        {"1e+2", 100},
        {".5e-1", 0.05},
        {"0012", 12},
        {"1 + # a comment\n 2", 3},
        {"\t\r\n 3 \n", 3},
        /* defined values */
        {"1/0", 0},
        {"0/0", 0},
        {"correct/eos", 0},
        {"-length/(correct-1)", 0},
        {"log(0)", log(1e-30)},
        {"log(-1)", log(1e-30)},
        {"log(1e-40)", log(1e-30)},
        {"sqrt(-4)", 0},
        {"0^-1", 0},
        {"0^0", 1},
        {"(-8)^(1/3)", 0},
        {"(-2)^3", -8},
        {"exp(1000)", exp(709.0)},
        {"exp(1000) - exp(1000)", 0},
        {"10^400 - 10^400", 0}, /* inf - inf = NaN -> 0 */
        {"-(10^400 - 10^400)", 0},
    };
    rt_reward_env env = fx_env(NULL, "r");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double folded = eval_src(cases[i].src, env, 1, NULL);
        double plain = eval_src(cases[i].src, env, 0, NULL);
        if (folded != cases[i].want || plain != cases[i].want)
            fail_msg("'%s': folded %.17g, unfolded %.17g, want %.17g", cases[i].src, folded, plain,
                     cases[i].want);
    }
}

static void overflow_is_ieee(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "r");
    assert_true(isinf(eval_src("10^400", env, 1, NULL)));
    assert_true(isinf(eval_src("10^400", env, 0, NULL)));
    assert_true(eval_src("-(10^400)", env, 0, NULL) < 0);
    assert_true(isinf(eval_src("1e308 * length", env, 0, NULL)));
}

/* A NaN feature or parameter never yields a NaN reward. */
static void nan_inputs_give_zero(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "r");
    rt_reward_program *p = NULL;
    rt_diag d;
    assert_int_equal(rt_reward_compile("correct + 2*length + k", 22, 1, 1, &env, &p, &d), 0);
    double f[7] = {1, 0, 3, 0, 0, 0, 0}, prm[1] = {1};
    assert_true(rt_reward_eval(p, f, prm) == 8);
    f[2] = NAN;
    assert_true(rt_reward_eval(p, f, prm) == 0);
    f[2] = 3;
    prm[0] = NAN;
    assert_true(rt_reward_eval(p, f, prm) == 0);
    rt_reward_free(p);
}

static void folding_shrinks_code(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "r");
    struct {
        const char *src;
        int folded, plain;
    } cases[] = {
        {"1+2*3", 1, 5},
        {"correct + 2*3", 3, 5},
        {"if(1, correct, length)", 1, 5},
        {"if(0 < 1, correct, length)", 1, 7},
        {"0 and correct", 1, 4},
        {"1 and correct", 2, 4},
        {"correct and 0", 1, 4},
        {"correct or 2", 1, 4},
        {"1 or correct", 1, 4},
        {"log(exp(2)) + sqrt(4)", 1, 6},
        {"clip(7, 0, 5) * length", 3, 6},
        {"-(3) * c", 3, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int nf = 0, np = 0;
        double a = eval_src(cases[i].src, env, 1, &nf);
        double b = eval_src(cases[i].src, env, 0, &np);
        if (a != b || nf != cases[i].folded || np != cases[i].plain)
            fail_msg("'%s': %.17g vs %.17g, code %d/%d, want %d/%d", cases[i].src, a, b, nf, np,
                     cases[i].folded, cases[i].plain);
    }
    rt_reward_program *p = NULL;
    rt_diag d;
    assert_int_equal(rt_reward_compile("2*(3+4)", 7, 1, 1, &env, &p, &d), 0);
    assert_true(rt_reward_is_constant(p));
    assert_int_equal(rt_reward_stack_depth(p), 1);
    assert_true(rt_reward_eval(p, NULL, NULL) == 14);
    rt_reward_free(p);
    assert_int_equal(rt_reward_compile("1+(2+(3+length))", 16, 1, 1, &env, &p, &d), 0);
    assert_false(rt_reward_is_constant(p));
    assert_int_equal(rt_reward_stack_depth(p), 4);
    rt_reward_free(p);
}

/* Parameters: order of first appearance, header defaults, overrides, missing values. */
static void parameters(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "shaped");
    rt_reward_program *p = NULL;
    rt_diag d;
    const char *src = "correct - beta*length + c*partial + beta";
    assert_int_equal(rt_reward_compile(src, strlen(src), 2, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_n_params(p), 2);
    assert_string_equal(rt_reward_param_name(p, 0), "beta");
    assert_string_equal(rt_reward_param_name(p, 1), "c");
    assert_null(rt_reward_param_name(p, 2));
    double def = -1;
    assert_int_equal(rt_reward_param_default(p, 0, &def), 0);
    assert_int_equal(rt_reward_param_default(p, 1, &def), 1);
    assert_true(def == 0.25);
    assert_int_equal(rt_reward_param_index(p, "c"), 1);
    assert_int_equal(rt_reward_param_index(p, "alpha"), -1); /* header default, unused */

    double prm[2];
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), RT_EPARAM);
    assert_int_equal(d.code, RT_EPARAM);
    assert_string_equal(d.msg,
                        "parameter 'beta' has no value (give it in the header: %%reward shaped "
                        "beta=...)");
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 11);
    assert_string_equal(d.near, "beta");

    const char *names[] = {"beta", "c"};
    const double vals[] = {0.01, 2};
    assert_int_equal(rt_reward_bind_params(p, names, vals, 1, prm, &d), 0);
    assert_true(prm[0] == 0.01 && prm[1] == 0.25);
    assert_true(rt_reward_eval(p, fx_values, prm) == 1 - 0.01 * 12 + 0.25 * 0.5 + 0.01);
    assert_int_equal(rt_reward_bind_params(p, names, vals, 2, prm, &d), 0);
    assert_true(prm[0] == 0.01 && prm[1] == 2);
    assert_true(rt_reward_eval(p, fx_values, prm) == 1 - 0.01 * 12 + 2 * 0.5 + 0.01);

    const char *bad[] = {"betta"};
    assert_int_equal(rt_reward_bind_params(p, bad, vals, 1, prm, &d), RT_EPARAM);
    assert_string_equal(d.msg, "reward 'shaped' has no parameter 'betta' (did you mean 'beta'?)");
    const char *bad2[] = {"zzz"};
    assert_int_equal(rt_reward_bind_params(p, bad2, vals, 1, prm, &d), RT_EPARAM);
    assert_string_equal(d.msg, "reward 'shaped' has no parameter 'zzz'");
    rt_reward_free(p);

    /* unnamed program (a bare expression line): a free name without value is unknown */
    env.name = NULL;
    assert_int_equal(rt_reward_compile("k", 1, 1, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), RT_EPARAM);
    assert_string_equal(d.msg, "unknown name 'k'");
    assert_int_equal(d.col, 1);
    rt_reward_free(p);
    assert_int_equal(rt_reward_compile("1 + corect", 10, 1, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), RT_EPARAM);
    assert_string_equal(d.msg, "unknown name 'corect' (did you mean 'correct'?)");
    assert_int_equal(d.col, 5);
    rt_reward_free(p);
    /* a named reward with a free name close to a feature: both hints */
    env.name = "r";
    assert_int_equal(rt_reward_compile("lenght/10", 9, 1, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), RT_EPARAM);
    assert_string_equal(d.msg, "parameter 'lenght' has no value (did you mean 'length'? else give "
                               "it in the header: %%reward r lenght=...)");
    rt_reward_free(p);
}

static void debate_feature(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "just");
    rt_reward_program *p = NULL;
    rt_diag d;
    const char *src = "(1 - alpha)*correct + alpha*debate(d2) + debate(d1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    assert_int_equal(rt_reward_n_features(p), 3);
    assert_string_equal(rt_reward_feature_name(p, 0), "correct");
    assert_string_equal(rt_reward_feature_name(p, 1), "debate(d2)");
    assert_string_equal(rt_reward_feature_name(p, 2), "debate(d1)");
    assert_int_equal(rt_reward_feature_slot(p, 1), 6);
    assert_int_equal(rt_reward_feature_slot(p, 2), 5);
    assert_int_equal(rt_reward_min_slots(p), 7);
    double prm[1];
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), 0);
    double f[7] = {1, 0, 0, 0, 0, 0, 1};
    assert_true(rt_reward_eval(p, f, prm) == 0.5 + 0.5 + 0);
    f[5] = 1;
    f[0] = 0;
    assert_true(rt_reward_eval(p, f, prm) == 0.5 + 1);
    rt_reward_free(p);
}

/* methods.md §3: r = (1 - alpha)*outcome + alpha*c*debate(NAME) on a triage task whose
 * feature vector is {outcome, debate(j1)}, with alpha swept by overrides. */
static int triage_debates(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                          size_t errlen)
{
    (void)ctx;
    (void)fn;
    if (!strcmp(arg, "j1")) return *slot = 1, 0;
    snprintf(err, errlen, "unknown debate '%s'", arg);
    return -1;
}

static void debate_reward_sweep(void **state)
{
    (void)state;
    const char *const feats[] = {"outcome"};
    const char *const pn[] = {"alpha", "c"};
    const double pd[] = {0.25, 1};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "just";
    env.features = feats;
    env.n_features = 1;
    env.n_slots = 2;
    env.feature_fns = fx_feature_fns;
    env.n_feature_fns = 1;
    env.resolve_feature = triage_debates;
    env.param_names = pn;
    env.param_defaults = pd;
    env.n_params = 2;
    rt_reward_program *p = NULL;
    rt_diag d;
    const char *src = "(1 - alpha)*outcome + alpha*c*debate(j1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    const double alphas[] = {0, 0.25, 0.5, 0.75, 1};
    const double f[2] = {0.5, 1}; /* r_env = 0.5, the debate favours the policy */
    for (int i = 0; i < 5; i++) {
        const char *names[] = {"alpha"};
        double prm[2];
        assert_int_equal(rt_reward_bind_params(p, names, &alphas[i], 1, prm, &d), 0);
        double want = (1 - alphas[i]) * 0.5 + alphas[i] * 1 * 1;
        assert_true(rt_reward_eval(p, f, prm) == want);
    }
    const char *const tri[] = {"outcome", "debate(j1)"};
    assert_int_equal(rt_reward_check_features(p, tri, 2, &d), 0);
    rt_reward_free(p);
}

/* exact = correct - c*length with header c = 0.01, then called with named features. */
static void reward_calls_inline(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "exact");
    const char *const pn[] = {"c"};
    const double pd[] = {0.01};
    env.param_names = pn;
    env.param_defaults = pd;
    env.n_params = 1;
    rt_diag d;
    const char *src = "correct - c*length";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &reg.progs[0], &d), 0);
    reg.names[0] = "exact";
    reg.n = 1;

    /* a bare expression line: no features at all */
    rt_reward_env bare;
    memset(&bare, 0, sizeof bare);
    bare.resolve_reward = fx_lookup;
    bare.ctx = &reg;
    struct {
        const char *src;
        double want;
        int constant;
    } cases[] = {
        {"exact(correct=1, length=4)", 1 - 0.01 * 4, 0},
        {"exact(correct=1, length=4, c=0)", 1, 1},
        {"exact(length=4, correct=1, c=0.5)", 1 - 0.5 * 4, 1},
        {"2*exact(correct=0, length=10, c=1) + 1", 2 * (0 - 1 * 10.0) + 1, 1},
        {"exact(correct=exact(correct=1, length=0), length=1, c=c)", 1 - 0.01 * 1, 0},
        {"exact(correct=1, length=4, c=k)", 1 - 0.5 * 4, 0}, /* k bound below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_reward_program *p = NULL;
        int rc = rt_reward_compile(cases[i].src, strlen(cases[i].src), 1, 1, &bare, &p, &d);
        if (rc) fail_msg("'%s': %s", cases[i].src, d.msg);
        double prm[4];
        const char *on[] = {"k"};
        const double ov[] = {0.5};
        int has_k = rt_reward_param_index(p, "k") >= 0;
        assert_int_equal(rt_reward_bind_params(p, on, ov, has_k, prm, &d), 0);
        double v = rt_reward_eval(p, NULL, prm);
        if (v != cases[i].want || rt_reward_is_constant(p) != cases[i].constant)
            fail_msg("'%s' = %.17g (constant %d), want %.17g", cases[i].src, v,
                     rt_reward_is_constant(p), cases[i].want);
        assert_int_equal(rt_reward_n_features(p), 0);
        rt_reward_free(p);
    }
    /* the callee's parameter becomes the caller's, keeping its default */
    rt_reward_program *p = NULL;
    assert_int_equal(rt_reward_compile("exact(correct=1, length=4)", 26, 1, 1, &bare, &p, &d), 0);
    assert_int_equal(rt_reward_n_params(p), 1);
    double def = 0;
    assert_int_equal(rt_reward_param_default(p, 0, &def), 1);
    assert_true(def == 0.01);
    rt_reward_free(p);

    /* in a task env the callee reads the caller's features of the same name */
    rt_reward_env task = fx_env(&reg, "shaped");
    src = "exact() + 2*exact(length=0) + exact(c=1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &task, &p, &d), 0);
    double prm[2];
    assert_int_equal(rt_reward_n_params(p), 1);
    assert_string_equal(rt_reward_param_name(p, 0), "c");
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), 0);
    assert_true(prm[0] == 0.25); /* the caller's header default wins over the callee's */
    assert_true(rt_reward_eval(p, fx_values, prm) == (1 - 0.25 * 12) + 2 * 1.0 + (1 - 1 * 12.0));
    assert_int_equal(rt_reward_n_features(p), 2);
    assert_string_equal(rt_reward_feature_name(p, 0), "correct");
    assert_string_equal(rt_reward_feature_name(p, 1), "length");
    assert_int_equal(rt_reward_feature_slot(p, 1), 2);
    rt_reward_free(p);

    /* a feature of the callee's namespace that it does not read is accepted */
    assert_int_equal(
        rt_reward_compile("exact(correct=1, length=2, eos=5)", 33, 1, 1, &task, &p, &d), 0);
    rt_reward_free(p);
    fx_registry_free(&reg);
}

/* Compile against the union of feature names, link to one task's order. */
static void link_and_check(void **state)
{
    (void)state;
    const char *const all[] = {"correct", "partial", "length", "format", "eos", "outcome"};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = all;
    env.n_features = 6;
    rt_reward_program *p = NULL, *q = NULL;
    rt_diag d;
    const char *src = "correct - 0.01*length";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    const char *const task[] = {"length", "correct"};
    assert_int_equal(rt_reward_check_features(p, task, 2, &d), 0);
    rt_reward_env tenv;
    memset(&tenv, 0, sizeof tenv);
    tenv.features = task;
    tenv.n_features = 2;
    assert_int_equal(rt_reward_link(p, &tenv, &q, &d), 0);
    assert_int_equal(rt_reward_min_slots(q), 2);
    double f[2] = {12, 1};
    assert_true(rt_reward_eval(q, f, NULL) == 1 - 0.01 * 12);
    assert_int_equal(rt_reward_min_slots(p), 3);
    rt_reward_free(q);

    const char *const triage[] = {"outcome"};
    assert_int_equal(rt_reward_check_features(p, triage, 1, &d), RT_EFEATURE);
    assert_string_equal(d.msg,
                        "reward 'r' reads feature 'correct', which task features (outcome) do not "
                        "include");
    assert_int_equal(d.line, 1);
    assert_int_equal(d.col, 1);
    rt_reward_free(p);

    src = "correct +\n  0.1*partial";
    assert_int_equal(rt_reward_compile(src, strlen(src), 3, 5, &env, &p, &d), 0);
    assert_int_equal(rt_reward_check_features(p, task, 2, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "reward 'r' reads feature 'partial', which task features (length, "
                               "correct) do not include");
    assert_int_equal(d.line, 4);
    assert_int_equal(d.col, 7);
    assert_string_equal(d.near, "partial");
    assert_int_equal(rt_reward_link(p, &tenv, &q, &d), RT_EFEATURE);
    assert_null(q);
    assert_int_equal(d.line, 4);
    assert_int_equal(rt_reward_check_features(p, NULL, 0, &d), RT_EFEATURE);
    assert_string_equal(d.msg, "reward 'r' reads feature 'correct', but the task has no features");
    rt_reward_free(p);

    /* debate features are checked as "debate(NAME)" and re-resolved when linking */
    rt_reward_env denv = fx_env(NULL, "j");
    assert_int_equal(rt_reward_compile("outcome_ + debate(d2)", 21, 1, 1, &denv, &p, &d), 0);
    const char *const tri[] = {"debate(d2)"};
    assert_int_equal(rt_reward_check_features(p, tri, 1, &d), 0);
    const char *const tri2[] = {"debate(d1)"};
    assert_int_equal(rt_reward_check_features(p, tri2, 1, &d), RT_EFEATURE);
    assert_int_equal(d.col, 12);
    assert_int_equal(rt_reward_link(p, &denv, &q, &d), 0);
    double prm[1] = {3};
    assert_true(rt_reward_eval(q, fx_values, prm) == 3);
    rt_reward_free(q);
    rt_reward_free(p);
}

static void batch_equals_scalar_and_no_alloc(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "r");
    rt_reward_program *p = NULL;
    rt_diag d;
    const char *src = "if(correct and eos, 1 - c*length/10, max(partial, 0.1) ^ 2) + "
                      "log(length + 1) * debate(d1) - clip(format*3, 0, 2) / eos";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    double prm[1];
    assert_int_equal(rt_reward_bind_params(p, NULL, NULL, 0, prm, &d), 0);
    enum { N = 257, S = 9 };
    static double feats[N * S], out[N];
    srand(7);
    for (int i = 0; i < N * S; i++)
        feats[i] = (rand() % 2000 - 500) / 100.0;
    for (int i = 0; i < N; i += 3)
        feats[i * S + 4] = 0; /* eos = 0: division by zero */

    rt_alloc_fail_at(0);
    assert_int_equal(rt_reward_eval_batch(p, feats, N, S, prm, out), 0);
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double s = rt_reward_eval(p, feats + i * S, prm);
        if (s != out[i]) fail_msg("row %d: batch %.17g scalar %.17g", i, out[i], s);
        assert_false(isnan(s));
        sum += s;
    }
    assert_int_equal(rt_alloc_count(), 0); /* evaluation never allocates */
    assert_int_equal(rt_reward_min_slots(p), 6);
    assert_true(sum != 0);

    assert_int_equal(rt_reward_eval_batch(p, feats, N, 5, prm, out), RT_EINVAL);
    assert_int_equal(rt_reward_eval_batch(p, feats, N, S, NULL, out), RT_EINVAL);
    assert_int_equal(rt_reward_eval_batch(p, feats, 0, S, prm, NULL), 0);
    rt_reward_free(p);
}

/* Every allocation of a compile that inlines a call can fail: clean error, no leak. */
static void allocation_failures(void **state)
{
    (void)state;
    fx_registry reg = {{0}, {0}, 0};
    rt_reward_env env = fx_env(&reg, "exact");
    rt_diag d;
    const char *src = "correct - c*length + debate(d1)";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &reg.progs[0], &d), 0);
    reg.names[0] = "exact";
    reg.n = 1;
    env.name = "outer";
    const char *call = "exact(correct=partial, c=2) * k + exact()";
    int ok = 0;
    for (long n = 1; n < 400 && !ok; n++) {
        rt_reward_program *p = NULL, *q = NULL;
        rt_alloc_fail_at(n);
        int rc = rt_reward_compile(call, strlen(call), 1, 1, &env, &p, &d);
        if (rc == 0) {
            rc = rt_reward_link(p, &env, &q, &d);
            if (rc == 0)
                ok = 1;
            else
                assert_int_equal(rc, RT_ENOMEM);
        } else {
            assert_int_equal(rc, RT_ENOMEM);
            assert_string_equal(d.msg, "out of memory");
            assert_null(p);
        }
        rt_reward_free(q);
        rt_reward_free(p);
    }
    rt_alloc_fail_at(0);
    assert_true(ok);
    fx_registry_free(&reg);
}

static void formatting(void **state)
{
    (void)state;
    struct {
        double x;
        const char *want;
    } cases[] = {
        {15, "15"},
        {-3, "-3"},
        {0, "0"},
        {-0.0, "0"},
        {0.1, "0.1"},
        {0.88, "0.88"},
        {1 - 0.01 * 12, "0.88"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {2.5e-7, "2.5e-07"},
        {1e20, "1e+20"},
        {1e15, "1e+15"},
        {999999999999999.0, "999999999999999"},
        {-1234.5, "-1234.5"},
        {log(1e-30), "-69.07755278982137"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = rt_reward_format(cases[i].x, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    assert_int_equal(rt_reward_format(12345, buf, 3), 5);
    assert_string_equal(buf, "12");
    assert_int_equal(rt_reward_format(0.5, NULL, 0), 3);
}

static void describe(void **state)
{
    (void)state;
    rt_reward_env env = fx_env(NULL, "exact");
    rt_reward_program *p = NULL;
    rt_diag d;
    const char *src = "correct -  c*length   # penalty\n  + beta";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d), 0);
    char buf[256];
    const char *want =
        "exact = correct - c*length + beta  (features: correct, length; parameters: c=0.25, "
        "beta (no default))";
    assert_int_equal(rt_reward_describe(p, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
    assert_string_equal(rt_reward_source(p), src);
    assert_string_equal(rt_reward_name(p), "exact");
    char small[8];
    assert_int_equal(rt_reward_describe(p, small, sizeof small), strlen(want));
    assert_string_equal(small, "exact =");
    rt_reward_free(p);
    env.name = NULL;
    assert_int_equal(rt_reward_compile("1/2", 3, 1, 1, &env, &p, &d), 0);
    rt_reward_describe(p, buf, sizeof buf);
    assert_string_equal(buf, "1/2  (features: none; parameters: none)");
    assert_string_equal(rt_reward_name(p), "");
    rt_reward_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(value_table),
        cmocka_unit_test(overflow_is_ieee),
        cmocka_unit_test(nan_inputs_give_zero),
        cmocka_unit_test(folding_shrinks_code),
        cmocka_unit_test(parameters),
        cmocka_unit_test(debate_feature),
        cmocka_unit_test(debate_reward_sweep),
        cmocka_unit_test(reward_calls_inline),
        cmocka_unit_test(link_and_check),
        cmocka_unit_test(batch_equals_scalar_and_no_alloc),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(formatting),
        cmocka_unit_test(describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
