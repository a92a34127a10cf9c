/* The first interpreter (magics/mag_interp.c, compiled into this test) through its vtable
 * and a recording sink: echo, arithmetic, errors with exact evalue and traceback,
 * completion offsets with non-ASCII text before the cursor, inspect, is_complete, help
 * pager, display/update, input, interrupted sleep, user expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../magics/mag_interp.c"
#include "rec_sink.h"

typedef struct run {
    rec_sink m;
    krn_out *o;
    int rc;
} run;

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
    rec_init(&r->m);
    r->o = krn_out_new(&rec_vt, &r->m, flag, 3, false);
    r->rc = it->vt->execute(it->self, r->o, code, 3);
    krn_out_finish(r->o);
}

static void done(run *r)
{
    krn_out_free(r->o);
    rec_free(&r->m);
}

static const char *plain(run *r, int i)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(rec_content(&r->m, i), "data"), "text/plain")
        ->valuestring;
}

static void test_echo(void **st)
{
    (void)st;
    run r;
    exec(&r, "%echo hello, world\n%echo --stderr oops\n# comment\n\n%echo  two spaces", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_int_equal(rec_count(&r.m), 3);
    assert_string_equal(rec_str(&r.m, 0, "name"), "stdout");
    assert_string_equal(rec_str(&r.m, 0, "text"), "hello, world\n");
    assert_string_equal(rec_str(&r.m, 1, "name"), "stderr");
    assert_string_equal(rec_str(&r.m, 1, "text"), "oops\n");
    assert_string_equal(rec_str(&r.m, 2, "text"), "two spaces\n"); /* args are stripped */
    done(&r);
}

static void test_arithmetic(void **st)
{
    (void)st;
    static const struct {
        const char *code, *out;
    } cases[] = {
        {"(7 - 2) * 3", "15"},  {"1 + 1", "2"},
        {"7 / 2", "3.5"},       {"-2^2", "-4"},
        {"2^3^2", "512"},       {"2^-1", "0.5"},
        {"--3", "3"},           {"1/3", "0.3333333333333333"},
        {"1e3 + .5", "1000.5"}, {"(1 +\n 2) * 2", "6"},
        {"0 * -1", "0"},        {"1 + 2 # sum", "3"},
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
}

static void check_error(const char *code, const char *ename, const char *evalue, const char *tb0,
                        const char *tb1)
{
    run r;
    exec(&r, code, NULL);
    assert_int_equal(r.rc, KRN_EXEC_ERROR);
    int last = rec_count(&r.m) - 1;
    assert_string_equal(rec_type(&r.m, last), "error");
    assert_string_equal(rec_str(&r.m, last, "ename"), ename);
    assert_string_equal(rec_str(&r.m, last, "evalue"), evalue);
    cJSON *tb = cJSON_GetObjectItem(rec_content(&r.m, last), "traceback");
    assert_int_equal(cJSON_GetArraySize(tb), 2);
    assert_string_equal(cJSON_GetArrayItem(tb, 0)->valuestring, tb0);
    assert_string_equal(cJSON_GetArrayItem(tb, 1)->valuestring, tb1);
    done(&r);
}

static void test_errors(void **st)
{
    (void)st;
    check_error("%nosuchmagic", "NameError",
                "cell:1:1: unknown magic '%nosuchmagic' (see %lsmagic)", "%nosuchmagic", "^");
    check_error("%echo ok\n  %ecko hi", "NameError",
                "cell:2:3: unknown magic '%ecko' (did you mean '%echo'?)", "  %ecko hi", "  ^");
    check_error("1 + 2)", "SyntaxError", "cell:1:6: unmatched ')'", "1 + 2)", "     ^");
    check_error("é + 1", "SyntaxError", "cell:1:1: expected a number or '(' near 'é'", "é + 1",
                "^");
    check_error("\"é\" 1 +", "SyntaxError", "cell:1:1: expected a number or '(' near '\"'",
                "\"é\" 1 +", "^");
    check_error("(1 +\n2", "SyntaxError",
                "cell:2:2: expected ')' near end of line (to close '(' at 1:1)", "2", " ^");
    check_error("4 / (2 - 2)", "ZeroDivisionError", "cell:1:3: division by zero", "4 / (2 - 2)",
                "  ^");
    check_error("%sleep soon", "ValueError",
                "cell:1:8: %sleep expects a number of seconds, got 'soon'", "%sleep soon",
                "       ^");
    check_error("%%rl\nbody", "NameError",
                "cell:1:1: unknown cell magic '%%rl' (this kernel has none yet)", "%%rl", "^");
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

static void test_completion_offsets(void **st)
{
    (void)st;
    krn_completion c = {0};
    /* "é" and "日本" are 1 and 2 code points but 2 and 6 bytes */
    const char *code = "%echo é日本\n%lsm";
    size_t cursor = 14; /* "%echo " 6 + 3 + newline + "%lsm" 4 */
    assert_int_equal(krn_utf8_byte_to_cp(code, strlen(code)), 14);
    assert_int_equal(it->vt->complete(it->self, code, cursor, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.matches[0], "%lsmagic");
    assert_int_equal(c.cursor_start, 10);
    assert_int_equal(c.cursor_end, 14);
    krn_completion_free(&c);
    memset(&c, 0, sizeof c);
    assert_int_equal(it->vt->complete(it->self, "%e", 2, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.matches[0], "%echo");
    assert_int_equal(c.cursor_start, 0);
    krn_completion_free(&c);
    memset(&c, 0, sizeof c);
    /* cursor in the middle: completes the text before it */
    assert_int_equal(it->vt->complete(it->self, "é %s + 1", 4, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.matches[0], "%sleep");
    assert_int_equal(c.cursor_start, 2);
    assert_int_equal(c.cursor_end, 4);
    krn_completion_free(&c);
}

static void test_inspect_and_help(void **st)
{
    (void)st;
    char *text = NULL;
    assert_int_equal(it->vt->inspect(it->self, "%echo", 5, 0, &text), 1);
    assert_string_equal(text, "%echo [--stderr] TEXT\n\nPrint TEXT followed by a newline (on "
                              "stderr with --stderr).\n");
    free(text);
    text = NULL;
    assert_int_equal(it->vt->inspect(it->self, "1 + 2", 3, 0, &text), 0);
    assert_null(text);
    run r;
    exec(&r, "?sleep", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_int_equal(rec_count(&r.m), 0);
    cJSON *p = krn_out_take_payload(r.o);
    assert_int_equal(cJSON_GetArraySize(p), 1);
    cJSON *d = cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "data");
    assert_string_equal(
        cJSON_GetObjectItem(d, "text/plain")->valuestring,
        "%sleep SECONDS\n\nWait SECONDS (a number); an interrupt stops the wait.\n");
    cJSON_Delete(p);
    done(&r);
}

static void test_is_complete(void **st)
{
    (void)st;
    char ind[32];
    assert_int_equal(it->vt->is_complete(it->self, "%echo hi", ind), KRN_COMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "(1 + 2) * 3", ind), KRN_COMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "", ind), KRN_COMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "((3 * 4)", ind), KRN_INCOMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "(1 +\n 2", ind), KRN_INCOMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "(1 +\n 2)", ind), KRN_COMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "1 + 2)", ind), KRN_INVALID);
    assert_int_equal(it->vt->is_complete(it->self, "(1))", ind), KRN_INVALID);
    assert_int_equal(it->vt->is_complete(it->self, "%%rl", ind), KRN_INCOMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "%%rl\nreward: 1", ind), KRN_COMPLETE);
    assert_int_equal(it->vt->is_complete(it->self, "%echo (", ind), KRN_COMPLETE);
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
    assert_string_equal(rec_str(&r.m, 4, "text"),
                        "Available line magics:\n%clear  %display  %echo  %help  %input  "
                        "%lsmagic  %sleep\n");
    done(&r);
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
    exec(&r, "%input x", NULL); /* no stdin */
    assert_int_equal(r.rc, KRN_EXEC_ERROR);
    assert_string_equal(rec_str(&r.m, 0, "ename"), "StdinNotImplementedError");
    done(&r);
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
    assert_string_equal(rec_str(&r.m, 0, "evalue"), "interrupted during %sleep");
    done(&r);
    /* a flag already set stops the cell before its first line */
    exec(&r, "%echo never", &flag);
    assert_int_equal(r.rc, KRN_EXEC_INTERRUPTED);
    assert_string_equal(rec_str(&r.m, 0, "evalue"), "interrupted");
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
    assert_string_equal(evalue, "expr:1:4: expected a number or '(' near end of line");
    assert_null(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_keeps_earlier_output),
        cmocka_unit_test(test_completion_offsets),
        cmocka_unit_test(test_inspect_and_help),
        cmocka_unit_test(test_is_complete),
        cmocka_unit_test(test_display_update_clear_lsmagic),
        cmocka_unit_test(test_input),
        cmocka_unit_test(test_interrupted_sleep),
        cmocka_unit_test(test_user_expressions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
