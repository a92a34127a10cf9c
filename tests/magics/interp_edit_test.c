/* Editor support of the interpreter (magics/mag_interp_edit.c, is_complete in
 * mag_interp.c) through the vtable: completion matches and replaced ranges in code
 * points (non-ASCII text before the cursor), keys and enum values from whatever
 * schemas the registry holds, object names, inspection, is_complete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interp_harness.h"

static krn_interp *it;

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    if (!it) return -1;
    free(ok_in(it, "%%reward exact c=0.01\ncorrect - c*length"));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    return 0;
}

/* Completes code at cursor (code points); checks the replaced range and the matches
 * (a '|'-separated list, in order). */
static void check_complete(const char *code, size_t cursor, size_t start, size_t end,
                           const char *want)
{
    krn_completion c = {0};
    assert_int_equal(it->vt->complete(it->self, code, cursor, &c), 0);
    char got[1024] = "";
    for (size_t i = 0; i < c.n; i++) {
        if (i) strcat(got, "|");
        strncat(got, c.matches[i], sizeof got - strlen(got) - 2);
    }
    if (strcmp(got, want) != 0) fprintf(stderr, "complete '%s' @%zu\n", code, cursor);
    assert_string_equal(got, want);
    if (c.n) {
        assert_int_equal(c.cursor_start, start);
        assert_int_equal(c.cursor_end, end);
    }
    krn_completion_free(&c);
}

static void test_complete_magics(void **st)
{
    (void)st;
    check_complete("%lsm", 4, 0, 4, "%lsmagic");
    /* "é" and "中" are 1 code point each but 2 and 3 bytes */
    check_complete("# é中 \n%lsm", 10, 6, 10, "%lsmagic");
    check_complete("%ech # é中", 4, 0, 4, "%echo");
    check_complete("é + 1\n%see", 10, 6, 10, "%seed");
    check_complete("%%rew", 5, 0, 5, "%%reward");
    check_complete("%th", 3, 0, 3, "%threads");
    check_complete("%zzz", 4, 0, 4, "");
}

static void test_complete_expressions(void **st)
{
    (void)st;
    /* inside a %%reward body: features, functions, rewards */
    check_complete("%%reward r\ne", 12, 11, 12, "eos|exp(|exact(");
    check_complete("%%reward r\n1 + dem", 18, 15, 18, "demo_agree");
    check_complete("%%reward r\n1 + deb", 18, 15, 18, "debate(");
    /* on an expression line features have no value: functions and rewards only */
    check_complete("é中 + ex", 7, 5, 7, "exp(|exact(");
    check_complete("# ok\nma", 7, 5, 7, "max(");
    /* in a comment or a string: nothing */
    check_complete("1 # ex", 6, 0, 0, "");
}

/* Key completion for every magic that has a schema (the registry decides which). */
static void test_complete_keys_and_values(void **st)
{
    (void)st;
    const mag_magic *const *all = mag_magics();
    for (size_t i = 0; all[i]; i++) {
        const mag_schema *sc = all[i]->schema;
        if (!sc || !sc->nkeys || !all[i]->cell) continue;
        for (size_t k = 0; k < sc->nkeys; k++) {
            const mag_key_spec *ks = &sc->keys[k];
            char code[256], want[1024] = "";
            /* keys starting with the first two letters of this key, in schema order */
            for (size_t j = 0; j < sc->nkeys; j++)
                if (strncmp(sc->keys[j].name, ks->name, 2) == 0) {
                    if (want[0]) strcat(want, "|");
                    strcat(want, sc->keys[j].name);
                    strcat(want, " = ");
                }
            int n = snprintf(code, sizeof code, "%%%%%s x\n%.2s", all[i]->name, ks->name);
            size_t len = (size_t)n;
            check_complete(code, len, len - 2, len, want);
            if (ks->type == MAG_T_ENUM && ks->values) {
                n = snprintf(code, sizeof code, "%%%%%s x\n%s = ", all[i]->name, ks->name);
                want[0] = '\0';
                for (size_t j = 0; ks->values[j]; j++) {
                    if (j) strcat(want, "|");
                    strcat(want, ks->values[j]);
                }
                check_complete(code, (size_t)n, (size_t)n, (size_t)n, want);
            }
        }
    }
}

static void test_inspect(void **st)
{
    (void)st;
    char *text = NULL;
    assert_int_equal(it->vt->inspect(it->self, "# é中\n%echo hi", 8, 0, &text), 1);
    assert_string_equal(text, "%echo [--stderr] TEXT\n\nPrint TEXT (free text, to the end of the "
                              "line) and a newline; on stderr with --stderr.\n");
    free(text);
    /* on the '%' of a cell magic */
    assert_int_equal(it->vt->inspect(it->self, "%%reward r\n1", 0, 0, &text), 1);
    assert_true(strncmp(text, "%%reward NAME [param=default ...]\n\n", 35) == 0);
    free(text);
    /* a feature in a reward body, a reward in an expression line */
    assert_int_equal(it->vt->inspect(it->self, "%%reward r\n1 - length", 16, 0, &text), 1);
    assert_string_equal(text, "length: feature, number of generated answer tokens (up to the "
                              "first end token)\n");
    free(text);
    assert_int_equal(it->vt->inspect(it->self, "é + exact(correct=1)", 6, 0, &text), 1);
    assert_string_equal(text, "reward exact: exact = correct - c*length  (features: correct, "
                              "length; parameters: c=0.01)\n");
    free(text);
    text = NULL;
    assert_int_equal(it->vt->inspect(it->self, "1 + 2", 3, 0, &text), 0);
    assert_int_equal(it->vt->inspect(it->self, "# echo", 4, 0, &text), 0);
    assert_null(text);
}

static void test_is_complete(void **st)
{
    (void)st;
    static const struct {
        const char *code;
        int want;
    } cases[] = {
        {"%echo hi", KRN_COMPLETE},
        {"(1 + 2) * 3", KRN_COMPLETE},
        {"", KRN_COMPLETE},
        {"# é中 (", KRN_COMPLETE},
        {"%echo (", KRN_COMPLETE}, /* free text: the bracket is not open */
        {"%echo a, [b\n%who", KRN_COMPLETE},
        {"((3 * 4)", KRN_INCOMPLETE},
        {"é + (1 +\n 2", KRN_INCOMPLETE},
        {"%echo hi\n(1 +", KRN_INCOMPLETE},
        {"(1 +\n 2)", KRN_COMPLETE},
        {"1 + 2)", KRN_INVALID},
        {"(1))", KRN_INVALID},
        {"%%reward r", KRN_INCOMPLETE},
        {"%%reward r\ncorrect", KRN_INCOMPLETE},
        {"%%reward r\ncorrect\n", KRN_COMPLETE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char ind[32];
        int got = it->vt->is_complete(it->self, cases[i].code, ind);
        if (got != cases[i].want) fprintf(stderr, "is_complete '%s'\n", cases[i].code);
        assert_int_equal(got, cases[i].want);
        if (got == KRN_INCOMPLETE && cases[i].code[0] != '%')
            assert_string_equal(ind, strchr(cases[i].code, '(') ? "    " : "");
    }
}

/* is_complete and completion take every cell magic's body grammar from the registry
 * (magics/lang knows no names): for each registered cell magic, a header alone and an
 * empty line is complete (an all-defaults body), or invalid when the body must be an
 * expression; at the start of a config body completion offers the magic's own keys. */
static void test_registry_body_kinds(void **st)
{
    (void)st;
    int configs = 0;
    for (const mag_magic *const *m = mag_magics(); *m; m++) {
        if (!(*m)->cell) continue;
        mag_body_kind k = mag_magic_body_kind((*m)->name, NULL);
        char code[128], ind[32];
        snprintf(code, sizeof code, "%%%%%s x\n\n", (*m)->name);
        int want = k == MAG_BODY_EXPR ? KRN_INVALID : KRN_COMPLETE; /* empty expression */
        if (it->vt->is_complete(it->self, code, ind) != want)
            fail_msg("is_complete of %%%%%s header", (*m)->name);
        if (k != MAG_BODY_CONFIG) continue;
        configs++;
        snprintf(code, sizeof code, "%%%%%s x\n", (*m)->name);
        krn_completion c = {0};
        assert_int_equal(it->vt->complete(it->self, code, strlen(code), &c), 0);
        char key[80];
        snprintf(key, sizeof key, "%s = ", (*m)->schema->keys[0].name);
        int found = 0;
        for (size_t i = 0; i < c.n; i++)
            found |= !strcmp(c.matches[i], key);
        if (!found) fail_msg("%%%%%s: key '%s' not offered", (*m)->name, (*m)->schema->keys[0].name);
        krn_completion_free(&c);
    }
    assert_true(configs >= 4); /* policy, rl, opd, debate at least */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_magics),
        cmocka_unit_test(test_complete_expressions),
        cmocka_unit_test(test_complete_keys_and_values),
        cmocka_unit_test(test_inspect),
        cmocka_unit_test(test_is_complete),
        cmocka_unit_test(test_registry_body_kinds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
