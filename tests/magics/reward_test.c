/* %%reward and the reward language in cells (magics/mag_m_reward.c) through the
 * interpreter: definition and its description, header defaults, replacement note,
 * calls from expression lines, the session object, every error with its exact evalue
 * and traceback and %who unchanged after it, and the feature union. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interp_harness.h"
#include "rt_reward.h"
#include "rt_task.h"

static krn_interp *it;

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    if (!it) return -1;
    char *s = ok_in(it, "%%reward exact c=0.01\ncorrect - c*length");
    free(s);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    return 0;
}

static void check_error(const char *code, const char *ename, const char *evalue, const char *tb0,
                        const char *tb1)
{
    check_error_in(it, code, ename, evalue, tb0, tb1);
}

static const char *result_of(run *r)
{
    assert_int_equal(r->rc, KRN_EXEC_OK);
    int last = rec_count(&r->m) - 1;
    assert_string_equal(rec_type(&r->m, last), "execute_result");
    return plain(r, last);
}

static void value_is(const char *code, const char *want)
{
    run r;
    exec_in(it, &r, code, NULL);
    assert_string_equal(result_of(&r), want);
    done(&r);
}

static void test_define_describe_store(void **st)
{
    (void)st;
    mag_session *s = mag_interp_session(it);
    const mag_entry *e = mag_session_entry(s, MAG_REWARD, "exact");
    assert_non_null(e);
    assert_string_equal(e->summary,
                        "exact = correct - c*length  (features: correct, length; parameters: "
                        "c=0.01)");
    const rt_reward_program *p = e->obj;
    assert_int_equal(rt_reward_n_params(p), 1);
    double c;
    assert_int_equal(rt_reward_param_default(p, 0, &c), 1);
    assert_true(c == 0.01);
    /* a second reward with a parameter without default, a multi-line body and comments */
    char *out = ok_in(it, "# shaping\n%%reward shaped k=2\n  partial * k  # scaled\n"
                          "  + if(eos, 0, -lam)\n");
    assert_string_equal(out, "shaped = partial * k + if(eos, 0, -lam)  (features: partial, eos; "
                             "parameters: k=2, lam (no default))\n");
    free(out);
    char *w = who(it);
    assert_string_equal(w, "rewards:\n"
                           "  exact   exact = correct - c*length  (features: correct, length; "
                           "parameters: c=0.01)\n"
                           "  shaped  shaped = partial * k + if(eos, 0, -lam)  (features: "
                           "partial, eos; parameters: k=2, lam (no default))\n"
                           "seed 0, threads 2\n");
    free(w);
    /* redefinition replaces, with a note, keeping one object */
    out = ok_in(it, "%%reward shaped\n2 * correct");
    assert_string_equal(out, "replaced reward 'shaped'\nshaped = 2 * correct  (features: "
                             "correct; parameters: none)\n");
    free(out);
    assert_int_equal(mag_session_count(s, MAG_REWARD), 2);
    out = ok_in(it, "%%reward shaped\n2 * correct");
    free(out);
}

static void test_calls_and_values(void **st)
{
    (void)st;
    value_is("exact(correct=1, length=4)", "0.96");
    value_is("exact(correct=1, length=4, c=1)", "-3");
    value_is("exact(correct=0, length=0) + 1", "1");
    value_is("shaped(correct=1) * 10", "20");
    /* rewards calling rewards */
    char *out = ok_in(it, "%%reward both\nexact(length=2) + shaped()");
    assert_string_equal(out, "both = exact(length=2) + shaped()  (features: correct; parameters: "
                             "c=0.01)\n");
    free(out);
    value_is("both(correct=1)", "2.98");
}

static void test_errors(void **st)
{
    (void)st;
    check_error("%%reward\ncorrect", "TypeError",
                "cell:1:3: %%reward needs a name first: %%reward NAME [param=default ...]",
                "%%reward", "  ^");
    check_error("%%reward 3\ncorrect", "TypeError",
                "cell:1:10: %%reward needs a name first: %%reward NAME [param=default ...]",
                "%%reward 3", "         ^");
    check_error("%%reward base-v2\ncorrect", "ValueError",
                "cell:1:10: reward name 'base-v2' must be an identifier (letters, digits, _), so "
                "that it can be called: base-v2(...)",
                "%%reward base-v2", "         ^");
    check_error("%%reward max\ncorrect", "ValueError",
                "cell:1:10: 'max' is a name of the reward language; choose another reward name",
                "%%reward max", "         ^");
    check_error("%%reward length\ncorrect", "ValueError",
                "cell:1:10: 'length' is a name of the reward language; choose another reward "
                "name",
                "%%reward length", "         ^");
    check_error("%%reward r c=0.1 d\nc * correct", "TypeError",
                "cell:1:18: expected param=default after the reward name, got 'd'",
                "%%reward r c=0.1 d", "                 ^");
    check_error("%%reward r c=low\nc * correct", "TypeError",
                "cell:1:14: the default of parameter 'c' must be a number, got low",
                "%%reward r c=low", "             ^");
    check_error("%%reward r length=3\ncorrect", "ValueError",
                "cell:1:12: 'length' is a feature, not a parameter: it cannot have a default",
                "%%reward r length=3", "           ^");
    check_error("%%reward r c=1 k=2\nc * correct", "ValueError",
                "cell:1:16: parameter 'k' is not used by the expression of 'r'",
                "%%reward r c=1 k=2", "               ^");
    check_error("%%reward r\n  correct + lg(length)", "NameError",
                "cell:2:13: unknown function 'lg' (did you mean 'log'?)", "  correct + lg(length)",
                "            ^");
    check_error("%%reward r\ncorrect +\n  * 2", "SyntaxError", "cell:3:3: unexpected '*' near '*'",
                "  * 2", "  ^");
    check_error("%%reward r\nmax(correct)", "TypeError",
                "cell:2:1: max expects at least 2 arguments, got 1", "max(correct)", "^");
    check_error("%%reward r\ndebate(d1)", "NameError",
                "cell:2:8: unknown debate 'd1' (no debate is defined: %%debate defines one)",
                "debate(d1)", "       ^");
    check_error("%%reward r\nexakt(correct=1)", "NameError",
                "cell:2:1: unknown function 'exakt' (did you mean 'exact'?)", "exakt(correct=1)",
                "^");
    check_error("%%reward r\n", "SyntaxError",
                "cell:2:1: expected an expression in the body of '%%reward' near <eof>", "", "^");
    /* expression lines */
    check_error("correct + 1", "NameError",
                "cell:1:1: 'correct' is a feature; it has a value only inside a reward or a call "
                "like exact(correct=1)",
                "correct + 1", "^");
    check_error("1 + corect", "NameError",
                "cell:1:5: unknown name 'corect' (did you mean the feature 'correct'? it has a "
                "value only inside a reward)",
                "1 + corect", "    ^");
    check_error("x + 1", "NameError", "cell:1:1: unknown name 'x'", "x + 1", "^");
    check_error("exact(correct=1)", "NameError",
                "cell:1:1: 'exact' reads feature 'length', which is not available here (give "
                "it: exact(length=...))",
                "exact(correct=1)", "^");
    check_error("exact(1)", "TypeError",
                "cell:1:7: 'exact' takes named arguments (feature=value), got a positional "
                "argument",
                "exact(1)", "      ^");
    check_error("exact(correct=1, lengt=4)", "NameError",
                "cell:1:18: 'exact' has no feature or parameter 'lengt' (did you mean 'length'?)",
                "exact(correct=1, lengt=4)", "                 ^");
    check_error("debate(d1)", "NameError",
                "cell:1:8: 'debate(d1)' is a feature; it has a value only inside a reward",
                "debate(d1)", "       ^");
    check_error("%echo ok\n2 ** 3", "SyntaxError", "cell:2:4: unexpected '*' near '*'", "2 ** 3",
                "   ^");
    /* the failed definitions above left nothing behind */
    assert_null(mag_session_get(mag_interp_session(it), MAG_REWARD, "r"));
}

static void test_feature_union(void **st)
{
    (void)st;
    int n;
    const char *const *f = mag_reward_features(&n);
    /* every feature of every task kind is in the union, and nothing else */
    int seen[16] = {0};
    for (int k = 0; k < rt_task_kind_count(); k++)
        for (int i = 0; i < rt_task_kind_n_features(rt_task_kind_at(k)); i++) {
            const char *name = rt_task_kind_feature_name(rt_task_kind_at(k), i);
            int found = -1;
            for (int j = 0; j < n; j++)
                if (strcmp(f[j], name) == 0) found = j;
            assert_true(found >= 0);
            seen[found] = 1;
        }
    for (int j = 0; j < n; j++)
        assert_true(seen[j]);
    /* the order the reward language's slots rely on (first seen first) */
    const char *want[] = {"correct", "partial", "length", "format", "eos", "outcome", "demo_agree"};
    assert_int_equal(n, 7);
    for (int j = 0; j < n; j++)
        assert_string_equal(f[j], want[j]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_define_describe_store),
        cmocka_unit_test(test_calls_and_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_feature_union),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
