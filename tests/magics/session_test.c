/* mag_session (magics/mag_session.c): put/replace/get/remove with ownership (free
 * functions called exactly once), iteration per kind and over all kinds in definition
 * order, did-you-mean over names, settings, kind names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mag_session.h"

static int freed[16];

static void free_obj(void *p)
{
    freed[*(int *)p]++;
    free(p);
}

static int *obj(int id)
{
    int *p = malloc(sizeof *p);
    *p = id;
    return p;
}

static void test_put_replace_remove(void **st)
{
    (void)st;
    memset(freed, 0, sizeof freed);
    mag_session *s = mag_session_new();
    assert_non_null(s);
    assert_int_equal(mag_session_put(s, MAG_TASK, "add", obj(0), free_obj, "add digits=2", NULL),
                     0);
    assert_int_equal(mag_session_put(s, MAG_POLICY, "base", obj(1), free_obj, "mlp", "add"), 0);
    assert_int_equal(mag_session_put(s, MAG_REWARD, "exact", obj(2), free_obj, "r1", NULL), 0);
    assert_int_equal(*(int *)mag_session_get(s, MAG_POLICY, "base"), 1);
    assert_null(mag_session_get(s, MAG_TASK, "base")); /* names are per kind */
    const mag_entry *e = mag_session_entry(s, MAG_POLICY, "base");
    assert_string_equal(e->summary, "mlp");
    assert_string_equal(e->task, "add");
    assert_int_equal(e->kind, MAG_POLICY);
    /* replacing frees the old object once, keeps the place, takes the new summary */
    assert_int_equal(mag_session_put(s, MAG_TASK, "add", obj(3), free_obj, "add digits=3", NULL),
                     1);
    assert_int_equal(freed[0], 1);
    assert_int_equal(mag_session_count(s, MAG_TASK), 1);
    assert_string_equal(mag_session_at(s, MAG_TASK, 0)->summary, "add digits=3");
    /* all kinds in definition order: base, exact, add (redefined last) */
    assert_int_equal(mag_session_count(s, MAG_N_KINDS), 3);
    assert_string_equal(mag_session_at(s, MAG_N_KINDS, 0)->name, "base");
    assert_string_equal(mag_session_at(s, MAG_N_KINDS, 1)->name, "exact");
    assert_string_equal(mag_session_at(s, MAG_N_KINDS, 2)->name, "add");
    assert_null(mag_session_at(s, MAG_N_KINDS, 3));
    assert_null(mag_session_at(s, MAG_RUN, 0));
    /* remove */
    assert_int_equal(mag_session_remove(s, MAG_REWARD, "exact"), 0);
    assert_int_equal(freed[2], 1);
    assert_int_equal(mag_session_remove(s, MAG_REWARD, "exact"), -1);
    assert_int_equal(mag_session_count(s, MAG_REWARD), 0);
    mag_session_free(s);
    assert_int_equal(freed[1], 1);
    assert_int_equal(freed[3], 1);
    assert_int_equal(freed[0] + freed[1] + freed[2] + freed[3], 4);
}

static void test_order_and_suggest(void **st)
{
    (void)st;
    mag_session *s = mag_session_new();
    const char *names[] = {"base", "student", "teacher", "base-v2"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(mag_session_put(s, MAG_POLICY, names[i], NULL, NULL, "", NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_string_equal(mag_session_at(s, MAG_POLICY, (size_t)i)->name, names[i]);
    assert_true(mag_session_at(s, MAG_POLICY, 0)->seq < mag_session_at(s, MAG_POLICY, 3)->seq);
    assert_string_equal(mag_session_suggest(s, MAG_POLICY, "studnet"), "student");
    assert_string_equal(mag_session_suggest(s, MAG_POLICY, "bsae"), "base");
    assert_null(mag_session_suggest(s, MAG_POLICY, "zzzzzz"));
    assert_null(mag_session_suggest(s, MAG_TASK, "base"));
    mag_session_free(s);
}

static void test_settings_and_kinds(void **st)
{
    (void)st;
    mag_session *s = mag_session_new();
    assert_int_equal(mag_session_seed(s), 0);
    assert_true(mag_session_threads(s) >= 1);
    mag_session_set_seed(s, 42);
    mag_session_set_threads(s, 0); /* clamped */
    assert_int_equal(mag_session_seed(s), 42);
    assert_int_equal(mag_session_threads(s), 1);
    mag_session_set_threads(s, 8);
    assert_int_equal(mag_session_threads(s), 8);
    const char *kinds[] = {"task", "policy", "reward", "debate", "run", "preferences", "rm"};
    for (int k = 0; k < MAG_N_KINDS; k++) {
        assert_string_equal(mag_kind_name((mag_kind)k), kinds[k]);
        assert_int_equal(mag_kind_parse(kinds[k]), k);
    }
    assert_int_equal(mag_kind_parse("polcy"), -1);
    assert_int_equal(mag_kind_parse(NULL), -1);
    /* bad arguments free the object and change nothing */
    memset(freed, 0, sizeof freed);
    assert_int_equal(mag_session_put(s, MAG_N_KINDS, "x", obj(5), free_obj, "", NULL), -1);
    assert_int_equal(freed[5], 1);
    assert_int_equal(mag_session_count(s, MAG_N_KINDS), 0);
    mag_session_free(s);
    mag_session_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_replace_remove),
        cmocka_unit_test(test_order_and_suggest),
        cmocka_unit_test(test_settings_and_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
