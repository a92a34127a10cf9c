/* help_citations_test.c: issue 12, B12 — no %help text cites a file that is not in the
 * repository (methods.md was cited by %%opd and %%debate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_magic.h"
#include "rt_alloc.h"

static void test_no_missing_citations(void **st)
{
    (void)st;
    const mag_magic *const *all = mag_magics();
    for (size_t i = 0; all[i]; i++) {
        size_t n = mag_magic_help(all[i], NULL, 0);
        char *t = malloc(n + 1);
        mag_magic_help(all[i], t, n + 1);
        if (strstr(t, "methods.md")) fprintf(stderr, "%s cites methods.md\n", all[i]->name);
        assert_null(strstr(t, "methods.md"));
        free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_missing_citations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
