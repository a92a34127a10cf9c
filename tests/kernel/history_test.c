/* History: tail, range and search (glob, unique, n), with and without output; entries are
 * [session, line, input] or [session, line, [input, output]]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "krn_history.h"

static char *compact(cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static krn_history *sample(void)
{
    krn_history *h = krn_history_new();
    krn_history_add(h, 1, "(7 - 2) * 3");
    krn_history_set_output(h, 1, "15");
    krn_history_add(h, 2, "%echo hi");
    krn_history_add(h, 3, "(7 - 2) * 3");
    krn_history_set_output(h, 3, "15");
    krn_history_add(h, 4, "1 + 1\n(7 - 2)");
    return h;
}

static void test_tail(void **st)
{
    (void)st;
    krn_history *h = sample();
    char *s = compact(krn_history_tail(h, 2, false));
    assert_string_equal(s, "[[1,3,\"(7 - 2) * 3\"],[1,4,\"1 + 1\\n(7 - 2)\"]]");
    free(s);
    s = compact(krn_history_tail(h, 2, true));
    assert_string_equal(s, "[[1,3,[\"(7 - 2) * 3\",\"15\"]],[1,4,[\"1 + 1\\n(7 - 2)\",null]]]");
    free(s);
    s = compact(krn_history_tail(h, 100, false));
    assert_int_equal(strlen(s), strlen("[[1,1,\"(7 - 2) * 3\"],[1,2,\"%echo hi\"],[1,3,\"(7 - 2) * "
                                       "3\"],[1,4,\"1 + 1\\n(7 - 2)\"]]"));
    free(s);
    krn_history_free(h);
}

static void test_range(void **st)
{
    (void)st;
    krn_history *h = sample();
    char *s = compact(krn_history_range(h, 1, 2, 4, false));
    assert_string_equal(s, "[[1,2,\"%echo hi\"],[1,3,\"(7 - 2) * 3\"]]");
    free(s);
    s = compact(krn_history_range(h, 0, 4, 0, false)); /* current session, to the end */
    assert_string_equal(s, "[[1,4,\"1 + 1\\n(7 - 2)\"]]");
    free(s);
    s = compact(krn_history_range(h, 7, 1, 0, false)); /* another session: nothing */
    assert_string_equal(s, "[]");
    free(s);
    krn_history_free(h);
}

static void test_search(void **st)
{
    (void)st;
    krn_history *h = sample();
    char *s = compact(krn_history_search(h, "(7 - 2)*", 0, false, false));
    assert_string_equal(s, "[[1,1,\"(7 - 2) * 3\"],[1,3,\"(7 - 2) * 3\"]]");
    free(s);
    s = compact(krn_history_search(h, "(7 - 2)*", 0, true, false)); /* unique keeps the latest */
    assert_string_equal(s, "[[1,3,\"(7 - 2) * 3\"]]");
    free(s);
    s = compact(krn_history_search(h, "*(7 - 2)*", 1, false, false)); /* '*' spans newlines */
    assert_string_equal(s, "[[1,4,\"1 + 1\\n(7 - 2)\"]]");
    free(s);
    s = compact(krn_history_search(h, "%ech?", 0, false, false));
    assert_string_equal(s, "[]"); /* globs match the whole input */
    free(s);
    s = compact(krn_history_search(h, "%ech? hi", 0, false, true));
    assert_string_equal(s, "[[1,2,[\"%echo hi\",null]]]");
    free(s);
    krn_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
