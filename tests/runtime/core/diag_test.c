/* rt_diag: one code space (each code named, names distinct), set/key/clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rt_diag.h"

static void test_codes_named_and_distinct(void **state)
{
    (void)state;
    assert_string_equal(rt_diag_code_name(RT_OK), "ok");
    assert_string_equal(rt_diag_code_name(RT_ENOMEM), "out of memory");
    assert_string_equal(rt_diag_code_name(RT_EFORMAT), "malformed data");
    for (int a = RT_EFORMAT; a <= RT_OK; a++) {
        assert_string_not_equal(rt_diag_code_name(a), "error");
        for (int b = RT_EFORMAT; b < a; b++)
            assert_string_not_equal(rt_diag_code_name(a), rt_diag_code_name(b));
    }
    assert_string_equal(rt_diag_code_name(RT_EFORMAT - 1), "error");
    assert_string_equal(rt_diag_code_name(1), "error");
}

static void test_set_key_clear(void **state)
{
    (void)state;
    rt_diag d;
    memset(&d, 0x55, sizeof d);
    rt_diag_clear(&d);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.line, 0);
    assert_int_equal(d.step, 0);
    assert_string_equal(d.msg, "");
    d.step = 7;
    assert_int_equal(rt_diag_set(&d, RT_EINVAL, "lr = %g must be > 0", -1.0), RT_EINVAL);
    assert_int_equal(d.code, RT_EINVAL);
    assert_string_equal(d.msg, "lr = -1 must be > 0");
    assert_int_equal(d.step, 7); /* other fields untouched */
    assert_int_equal(rt_diag_key(&d, RT_EINVAL, "epochs", "epochs = %d needs ppo", 3), RT_EINVAL);
    assert_string_equal(d.key, "epochs");
    assert_string_equal(d.msg, "epochs = 3 needs ppo");
    assert_int_equal(rt_diag_set(&d, RT_EFAILED, NULL), RT_EFAILED);
    assert_string_equal(d.msg, "");
    assert_int_equal(rt_diag_set(NULL, RT_ENOMEM, "x"), RT_ENOMEM);
    assert_int_equal(rt_diag_key(NULL, RT_ENOMEM, "k", "x"), RT_ENOMEM);
    /* cut to fit, NUL-terminated */
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rt_diag_set(&d, RT_ELIMIT, "%s", big);
    assert_int_equal(strlen(d.msg), sizeof d.msg - 1);
    char longkey[100];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    rt_diag_key(&d, RT_EINVAL, longkey, "m");
    assert_int_equal(strlen(d.key), sizeof d.key - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_named_and_distinct),
        cmocka_unit_test(test_set_key_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
