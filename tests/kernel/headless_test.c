/* Headless runner pieces: splitting .rlhf scripts into cells at '# %%' lines, and UTF-8
 * helpers (validation, repair, code-point/byte offsets) used by the wire and completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "krn_headless.h"
#include "krn_utf8.h"

static void free_cells(char **c, int n)
{
    for (int i = 0; i < n; i++)
        free(c[i]);
    free(c);
}

static void test_split_script(void **st)
{
    (void)st;
    char **c;
    int n = krn_headless_split_script("%echo a\n# %%\n%echo b\n1 + 1\n# %% [markdown]\n# text\n"
                                      "# %% second title\n\n# %%\n2\n",
                                      &c);
    assert_int_equal(n, 3);
    assert_string_equal(c[0], "%echo a\n");
    assert_string_equal(c[1], "%echo b\n1 + 1\n");
    assert_string_equal(c[2], "2\n");
    free_cells(c, n);
    n = krn_headless_split_script("# %%\n%echo only", &c);
    assert_int_equal(n, 1);
    assert_string_equal(c[0], "%echo only");
    free_cells(c, n);
    n = krn_headless_split_script("", &c);
    assert_int_equal(n, 0);
    free_cells(c, n);
}

static void test_utf8(void **st)
{
    (void)st;
    assert_true(krn_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 14));
    assert_false(krn_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 13)); /* cut */
    assert_false(krn_utf8_valid("\xc3", 1));                                       /* truncated */
    assert_false(krn_utf8_valid("\xe0\x80\xaf", 3));                               /* overlong */
    assert_false(krn_utf8_valid("\xf4\x90\x80\x80", 4));                           /* > U+10FFFF */
    char *r = krn_utf8_repair("a\xffz\xc3", 4);
    assert_string_equal(r, "a\xef\xbf\xbdz\xef\xbf\xbd");
    free(r);
    const char *s = "\xc3\xa9x\xf0\x9f\x99\x82y";
    assert_int_equal(krn_utf8_cp_to_byte(s, 0), 0);
    assert_int_equal(krn_utf8_cp_to_byte(s, 1), 2);
    assert_int_equal(krn_utf8_cp_to_byte(s, 3), 7);
    assert_int_equal(krn_utf8_cp_to_byte(s, 99), 8);
    assert_int_equal(krn_utf8_byte_to_cp(s, 7), 3);
    assert_int_equal(krn_utf8_byte_to_cp(s, 8), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_script),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
