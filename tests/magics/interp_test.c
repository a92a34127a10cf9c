/* The interpreter (magics/mag_interp.c) through its vtable and a recording sink: the
 * basic magics, expressions, help, errors with exact evalue and traceback (each checked
 * to leave %who unchanged), display/update, input, interrupts, user expressions.
 * Editor support is in interp_edit_test.c; %%reward in reward_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "interp_harness.h"

static krn_interp *it;

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    return it ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    return 0;
}

static void exec(run *r, const char *code, atomic_int *flag)
{
    exec_in(it, r, code, flag);
}

static void check_error(const char *code, const char *ename, const char *evalue, const char *tb0,
                        const char *tb1)
{
    check_error_in(it, code, ename, evalue, tb0, tb1);
}

static void test_echo(void **st)
{
    (void)st;
    run r;
    exec(&r, "%echo hello, world\n%echo --stderr oops\n# comment\n\n%echo  two [spaces", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_int_equal(rec_count(&r.m), 3);
    assert_string_equal(rec_str(&r.m, 0, "name"), "stdout");
    assert_string_equal(rec_str(&r.m, 0, "text"), "hello, world\n");
    assert_string_equal(rec_str(&r.m, 1, "name"), "stderr");
    assert_string_equal(rec_str(&r.m, 1, "text"), "oops\n");
    assert_string_equal(rec_str(&r.m, 2, "text"), "two [spaces\n"); /* free text */
    done(&r);
    /* after a byte-order mark; columns do not count it */
    exec(&r, "\xEF\xBB\xBF%echo a, b\n%nosuch", NULL);
    assert_string_equal(rec_str(&r.m, 0, "text"), "a, b\n");
    assert_string_equal(rec_str(&r.m, 1, "evalue"),
                        "cell:2:1: unknown magic '%nosuch' (see %lsmagic)");
    done(&r);
    /* inside an open bracket a '%' line is part of the expression, not a magic */
    check_error("(1 +\n%echo x\n)", "SyntaxError", "cell:2:1: unexpected character '%' near '%'",
                "%echo x", "^");
}

static void test_expressions(void **st)
{
    (void)st;
    static const struct {
        const char *code, *out;
    } cases[] = {
        {"(7 - 2) * 3", "15"},
        {"1 + 1", "2"},
        {"7 / 2", "3.5"},
        {"-2^2", "-4"},
        {"2^3^2", "512"},
        {"2^-1", "0.5"},
        {"1/3", "0.3333333333333333"},
        {"1e3 + .5", "1000.5"},
        {"(1 +\n 2) * 2", "6"},
        {"0 * -1", "0"},
        {"1 + 2 # sum", "3"},
        {"4 / 0", "0"},
        {"max(1, 5, 3) - min(2, 4)", "3"},
        {"if(2 > 1, 10, 20)", "10"},
        {"clip(7, 0, 5) + abs(-1)", "6"},
        {"1 < 2 and not 0", "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        exec(&r, cases[i].code, NULL);
        assert_int_equal(r.rc, KRN_EXEC_OK);
        assert_int_equal(rec_count(&r.m), 1);
        assert_string_equal(rec_type(&r.m, 0), "execute_result");
        assert_string_equal(plain(&r, 0), cases[i].out);
        done(&r);
    }
    /* several lines: one result each, in order, between other output */
    run r;
    exec(&r, "1 + 1\n%echo mid\n2 * 3", NULL);
    assert_int_equal(rec_count(&r.m), 3);
    assert_string_equal(plain(&r, 0), "2");
    assert_string_equal(rec_str(&r.m, 1, "text"), "mid\n");
    assert_string_equal(plain(&r, 2), "6");
    done(&r);
}

static void test_errors(void **st)
{
    (void)st;
    check_error("%nosuchmagic", "NameError",
                "cell:1:1: unknown magic '%nosuchmagic' (see %lsmagic)", "%nosuchmagic", "^");
    check_error("%echo ok\n  %ecko hi", "NameError",
                "cell:2:3: unknown magic '%ecko' (did you mean '%echo'?)", "  %ecko hi", "  ^");
    check_error("%%rewrd r\n1", "NameError",
                "cell:1:1: unknown magic '%%rewrd' (did you mean '%%reward'?)", "%%rewrd r", "^");
    /* an unknown cell magic's body is not parsed: the name is the error */
    check_error("%%nosuch x\n((( = ]", "NameError",
                "cell:1:1: unknown magic '%%nosuch' (see %lsmagic)", "%%nosuch x", "^");
    check_error("%reward r", "NameError",
                "cell:1:1: '%reward' is a cell magic: write '%%reward' on the first line of the "
                "cell",
                "%reward r", "^");
    check_error("%%echo hi\nx", "NameError",
                "cell:1:1: '%%echo' is a line magic: write '%echo' (one per line)", "%%echo hi",
                "^");
    check_error("%echo a\n%%reward r\n1", "SyntaxError",
                "cell:2:1: a cell magic must be the first line of the cell near '%%'", "%%reward r",
                "^");
    check_error("1 + 2)", "SyntaxError", "cell:1:6: unmatched ')' near ')'", "1 + 2)", "     ^");
    check_error("(1 +\n2", "SyntaxError",
                "cell:2:2: expected ')' (to close '(' at line 1) near <eof>", "2", " ^");
    check_error("%sleep soon", "TypeError",
                "cell:1:8: %sleep expects a number of seconds, got 'soon'", "%sleep soon",
                "       ^");
    check_error("%sleep -1", "ValueError",
                "cell:1:8: %sleep: seconds must be in [0, 86400], got -1", "%sleep -1", "       ^");
    check_error("%sleep", "TypeError", "cell:1:1: %sleep needs an argument: %sleep SECONDS",
                "%sleep", "^");
    check_error("%seed -3", "ValueError",
                "cell:1:7: %seed must be in [0, 9007199254740991], got -3", "%seed -3", "      ^");
    check_error("%threads 0", "ValueError", "cell:1:10: %threads must be in [1, 256], got 0",
                "%threads 0", "         ^");
    check_error("%threads 2.5", "TypeError", "cell:1:10: %threads expects an integer, got '2.5'",
                "%threads 2.5", "         ^");
    check_error("%threads 1 2", "TypeError", "cell:1:12: %threads takes one argument: %threads [N]",
                "%threads 1 2", "           ^");
    check_error("?nosuch", "NameError", "cell:1:2: no help for 'nosuch' (see %lsmagic)", "?nosuch",
                " ^");
    check_error("%help echoo", "NameError", "cell:1:7: no help for 'echoo' (did you mean '%echo'?)",
                "%help echoo", "      ^");
    check_error("# é\n  é中 + 1 +", "SyntaxError", "cell:2:3: unexpected character 'é' near 'é'",
                "  é中 + 1 +", "  ^");
}

static void test_session_settings_and_who(void **st)
{
    (void)st;
    char *s = ok_in(it, "%seed 42\n%threads 3\n%seed\n%threads");
    assert_string_equal(s, "seed 42\nthreads 3\nseed 42\nthreads 3\n");
    free(s);
    s = who(it);
    assert_string_equal(s, "no objects defined (%task, %%policy and %%reward define them)\n"
                           "seed 42, threads 3\n");
    free(s);
    /* an error in a later line keeps what earlier lines did (they ran) */
    run r;
    exec(&r, "%seed 7\n%seed x", NULL);
    assert_int_equal(r.rc, KRN_EXEC_ERROR);
    done(&r);
    s = ok_in(it, "%seed");
    assert_string_equal(s, "seed 7\n");
    free(s);
    /* a syntax error anywhere runs nothing */
    exec(&r, "%seed 9\n(1 +", NULL);
    assert_int_equal(r.rc, KRN_EXEC_ERROR);
    assert_int_equal(rec_count(&r.m), 1);
    done(&r);
    s = ok_in(it, "%seed 0\n%threads 2");
    free(s);
}

static void test_error_keeps_earlier_output(void **st)
{
    (void)st;
    run r;
    exec(&r, "%echo first\n%bad\n%echo never", NULL);
    assert_int_equal(rec_count(&r.m), 2); /* stream, then exactly one error */
    assert_string_equal(rec_str(&r.m, 0, "text"), "first\n");
    assert_string_equal(rec_type(&r.m, 1), "error");
    done(&r);
}

static const char *pager_text(run *r, cJSON **keep)
{
    *keep = krn_out_take_payload(r->o);
    assert_int_equal(cJSON_GetArraySize(*keep), 1);
    cJSON *d = cJSON_GetObjectItem(cJSON_GetArrayItem(*keep, 0), "data");
    return cJSON_GetObjectItem(d, "text/plain")->valuestring;
}

static void test_help(void **st)
{
    (void)st;
    static const char sleep_help[] =
        "%sleep SECONDS\n\nWait SECONDS (a number in [0, 86400]); an interrupt stops the wait.\n";
    const char *forms[] = {"?sleep", "%sleep?", "?%sleep", "sleep?", "%help sleep", "%help %sleep"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        run r;
        cJSON *p;
        exec(&r, forms[i], NULL);
        assert_int_equal(r.rc, KRN_EXEC_OK);
        assert_int_equal(rec_count(&r.m), 0);
        assert_string_equal(pager_text(&r, &p), sleep_help);
        cJSON_Delete(p);
        done(&r);
    }
    run r;
    cJSON *p;
    exec(&r, "%help", NULL);
    const char *t = pager_text(&r, &p);
    assert_non_null(strstr(t, "Line magics:\n"));
    assert_non_null(strstr(t, "  %echo [--stderr] TEXT\n"));
    assert_non_null(strstr(t, "Cell magics:\n"));
    assert_non_null(strstr(t, "  %%reward NAME [param=default ...]\n"));
    cJSON_Delete(p);
    done(&r);
    exec(&r, "?correct", NULL);
    assert_string_equal(pager_text(&r, &p),
                        "correct: feature, 1 if the answer is exactly right (the verifier), "
                        "else 0\n");
    cJSON_Delete(p);
    done(&r);
    exec(&r, "?%%reward", NULL);
    assert_true(strncmp(pager_text(&r, &p), "%%reward NAME [param=default ...]\n\nDefine a reward",
                        50) == 0);
    cJSON_Delete(p);
    done(&r);
}

static void test_display_update_clear_lsmagic(void **st)
{
    (void)st;
    run r;
    exec(&r,
         "%display --id=x first\n%display --id=x --update second\n%display plain\n%clear\n"
         "%lsmagic",
         NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_int_equal(rec_count(&r.m), 5);
    assert_string_equal(rec_type(&r.m, 0), "display_data");
    assert_string_equal(plain(&r, 0), "first");
    assert_string_equal(rec_type(&r.m, 1), "update_display_data");
    assert_string_equal(plain(&r, 1), "second");
    assert_string_equal(rec_type(&r.m, 2), "display_data");
    assert_null(cJSON_GetObjectItem(rec_content(&r.m, 2), "transient"));
    assert_string_equal(rec_type(&r.m, 3), "clear_output");
    const char *ls = rec_str(&r.m, 4, "text");
    static const char head[] =
        "Line magics:\n  %clear\n  %del NAME... [kind=KIND]\n  %display [--id=ID] [--update] TEXT\n";
    assert_true(strncmp(ls, head, sizeof head - 1) == 0);
    assert_non_null(strstr(ls, "\nCell magics:\n"));
    assert_non_null(strstr(ls, "\n  %%reward NAME [param=default ...]\n"));
    /* every registered magic is listed with its usage */
    const mag_magic *const *all = mag_magics();
    for (size_t i = 0; all[i]; i++) {
        char line[256];
        snprintf(line, sizeof line, "\n  %s\n", all[i]->usage);
        assert_non_null(strstr(ls, line));
    }
    done(&r);
    check_error("%display --update x", "ValueError", "cell:1:1: %display --update needs --id=ID",
                "%display --update x", "^");
    check_error("%clear now", "TypeError", "cell:1:8: %clear takes no arguments", "%clear now",
                "       ^");
}

static void test_input(void **st)
{
    (void)st;
    run r;
    rec_init(&r.m);
    r.m.input_reply = "forty-two";
    r.o = krn_out_new(&rec_vt, &r.m, NULL, 1, false);
    assert_int_equal(it->vt->execute(it->self, r.o, "%input answer? ", 1), KRN_EXEC_OK);
    krn_out_finish(r.o);
    assert_string_equal(r.m.last_prompt, "answer?");
    assert_string_equal(rec_str(&r.m, 0, "text"), "forty-two\n");
    done(&r);
    check_error("%input x", "RuntimeError", "cell:1:1: %input: this client does not accept input",
                "%input x", "^");
}

static void *interrupt_later(void *arg)
{
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

static void test_interrupted_sleep(void **st)
{
    (void)st;
    atomic_int flag = 0;
    pthread_t t;
    struct timespec t0, t1;
    run r;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&t, NULL, interrupt_later, &flag);
    exec(&r, "%sleep 10\n%echo after", &flag);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(el < 1.0);
    assert_int_equal(r.rc, KRN_EXEC_INTERRUPTED);
    assert_int_equal(rec_count(&r.m), 1);
    assert_string_equal(rec_str(&r.m, 0, "ename"), "Interrupted");
    assert_string_equal(rec_str(&r.m, 0, "evalue"), "cell: interrupted during %sleep");
    done(&r);
    /* a flag already set stops the cell before its first line */
    exec(&r, "\n%echo never", &flag);
    assert_int_equal(r.rc, KRN_EXEC_INTERRUPTED);
    assert_string_equal(rec_str(&r.m, 0, "evalue"), "cell: interrupted before line 2");
    done(&r);
    atomic_store(&flag, 0);
    exec(&r, "%sleep 0.02\n%echo after", &flag);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_string_equal(rec_str(&r.m, 0, "text"), "after\n");
    done(&r);
}

static void test_user_expressions(void **st)
{
    (void)st;
    char *text = NULL, ename[64], evalue[256];
    assert_int_equal(it->vt->evaluate(it->self, "2 * 21", &text, ename, evalue), 0);
    assert_string_equal(text, "42");
    free(text);
    text = NULL;
    assert_int_equal(it->vt->evaluate(it->self, "2 *", &text, ename, evalue), -1);
    assert_string_equal(ename, "SyntaxError");
    assert_string_equal(evalue, "cell:1:4: unexpected end of expression near <eof>");
    assert_null(text);
    assert_int_equal(it->vt->evaluate(it->self, "length + 1", &text, ename, evalue), -1);
    assert_string_equal(ename, "NameError");
    assert_string_equal(evalue, "cell:1:1: 'length' is a feature; it has a value only inside a "
                                "reward or a call like exact(length=1)");
}

static void test_language_info(void **st)
{
    (void)st;
    assert_string_equal(it->info.name, "rlhf");
    assert_string_equal(it->info.codemirror_mode, "null");
    assert_string_equal(it->info.file_extension, ".rlhf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_session_settings_and_who),
        cmocka_unit_test(test_error_keeps_earlier_output),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_display_update_clear_lsmagic),
        cmocka_unit_test(test_input),
        cmocka_unit_test(test_interrupted_sleep),
        cmocka_unit_test(test_user_expressions),
        cmocka_unit_test(test_language_info),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
