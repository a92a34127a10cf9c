/* robustness_test.c: the parser, validator and editor functions survive anything:
 * every allocation failing in turn (clean MAG_ENOMEM or success, never a leak or a
 * crash: run under ASan), deterministic random mutations of good cells, and every
 * prefix of good cells fed to is_complete and the cursor contexts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang_fixture.h"
#include "mag_lang_priv.h"

static const char *const corpus[] = {
    "%%opd s lr=[1e-3, 3e-4]\nfrom = base\nteacher = {add: ta, sort: ts}\nlambda = [1, 1.5]\n"
    "estimator = full  # é\nseed = [1, 2]\n",
    "%%rl r\nfrom = p\nreward = exact\nalgo = grpo\ntags = [\"a\", \"日本\"]\nverbose = yes\n",
    "%%policy p\narch = mlp\ncontext = 8\ntasks = [add,\n  sort]\nnoise = 0.1\n",
    "%%reward shaped alpha=0.1\ncorrect - alpha * length  # penalty\n  + if(format, 1, 0)\n",
    "%task t add digits=3\n%eval p k=8 temperature=0.5\ncorrect - 0.1\n?%%rl\nlambda?\n",
    "%sample p prompt=\"h\\u00e9\\n\" n=5\nmax(correct,\n  partial)\n# done\n",
};
#define NCORPUS (sizeof corpus / sizeof corpus[0])

/* Parse + validate with the fixture schemas; checks the diagnostic's shape. */
static int check_one(const char *src, size_t len)
{
    mag_diag d;
    int r = fx_check(src, len, &d);
    if (r) {
        assert_true(r < 0);
        assert_memory_equal(d.msg, "cell:", 5);
        if (r != MAG_ENOMEM && r != MAG_EARG) {
            assert_true(d.line >= 1);
            assert_true(d.col >= 1);
        }
        assert_non_null(memchr(d.msg, '\0', sizeof d.msg));
        assert_non_null(memchr(d.caret, '\0', sizeof d.caret));
    }
    return r;
}

static void every_allocation_may_fail(void **state)
{
    (void)state;
    /* a large cell so that the arena needs several chunks */
    size_t cap = 400000, n = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    n += (size_t)sprintf(big, "%%%%opd s\nfrom = b\nteacher = t\nlr = [");
    for (int i = 0; i < 9000; i++)
        n += (size_t)sprintf(big + n, "%s%d.5", i ? ", " : "", i + 1);
    n += (size_t)sprintf(big + n, "]\n");
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(big + n, "# padding %d ééé\n", i);
    const char *cells[NCORPUS + 1];
    size_t lens[NCORPUS + 1];
    for (size_t i = 0; i < NCORPUS; i++)
        cells[i] = corpus[i], lens[i] = strlen(corpus[i]);
    cells[NCORPUS] = big, lens[NCORPUS] = n;
    for (size_t c = 0; c <= NCORPUS; c++) {
        assert_int_equal(check_one(cells[c], lens[c]), MAG_OK);
        int failures = 0;
        for (long k = 1;; k++) {
            mag_alloc_fail_at = k;
            int r = check_one(cells[c], lens[c]);
            int fired = mag_alloc_fail_at == 0;
            mag_alloc_fail_at = 0;
            if (!fired) {
                assert_int_equal(r, MAG_OK);
                break;
            }
            assert_int_equal(r, MAG_ENOMEM);
            failures++;
        }
        assert_true(failures >= 2); /* the cell arena, its chunk, the config ... */
    }
    mag_diag d;
    mag_alloc_fail_at = 1;
    assert_int_equal(mag_parse_cell("x", 1, FX_OPTS, &(mag_cell *){NULL}, &d), MAG_ENOMEM);
    assert_string_equal(d.msg, "cell: out of memory");
    free(big);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void random_mutations_never_crash(void **state)
{
    (void)state;
    static const char *const pieces[] = {"[",  "]",   "{",    "}",     "(",  ")",    "\"",   "\\",
                                         "#",  "%",   "%%",   "?",     "=",  ",",    ":",    "-",
                                         ".",  "\n",  " ",    "é",     "日", "\xFF", "\xC3", "e-",
                                         "1e", "\\u", "\r\n", "lamda", "x"};
    int ok = 0, errors = 0;
    char buf[1024];
    for (int it = 0; it < 30000; it++) {
        const char *base = corpus[next() % NCORPUS];
        size_t n = strlen(base);
        memcpy(buf, base, n);
        int edits = 1 + (int)(next() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = n ? next() % n : 0;
            int op = (int)(next() % 4);
            if (op == 0 && n > 0) { /* delete a run */
                size_t k = 1 + next() % 4;
                if (at + k > n) k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
            } else if (op == 1) { /* truncate */
                n = at;
            } else { /* insert a piece (or a NUL) */
                const char *p =
                    next() % 50 == 0 ? "\0" : pieces[next() % (sizeof pieces / sizeof *pieces)];
                size_t k = *p ? strlen(p) : 1;
                if (n + k >= sizeof buf) continue;
                memmove(buf + at + k, buf + at, n - at);
                memcpy(buf + at, p, k);
                n += k;
            }
        }
        if (check_one(buf, n))
            errors++;
        else
            ok++;
        char ind[8];
        mag_is_complete(buf, n, FX_OPTS, ind, sizeof ind);
        mag_cursor_ctx o;
        size_t cur = next() % (n + 2);
        assert_int_equal(mag_complete_context(buf, n, cur, FX_OPTS, &o), MAG_OK);
        assert_true(o.start <= o.end);
        assert_int_equal(mag_inspect_context(buf, n, cur, FX_OPTS, &o), MAG_OK);
    }
    assert_true(ok > 1000);
    assert_true(errors > 1000);
}

static void every_prefix(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCORPUS; c++) {
        size_t n = strlen(corpus[c]);
        size_t cps = rt_utf8_cols(corpus[c], n);
        for (size_t k = 0; k <= cps; k++) {
            size_t b = rt_utf8_offset(corpus[c], n, k);
            char ind[8];
            mag_completeness r = mag_is_complete(corpus[c], b, FX_OPTS, ind, sizeof ind);
            assert_true(r == MAG_COMPLETE || r == MAG_INCOMPLETE || r == MAG_INVALID);
            mag_cursor_ctx o;
            assert_int_equal(mag_complete_context(corpus[c], n, k, FX_OPTS, &o), MAG_OK);
            assert_true(o.start <= k && k <= o.end);
        }
        /* each whole corpus cell is complete (cell magics end with a newline, and a
           blank line submits them) */
        char full[1024];
        snprintf(full, sizeof full, "%s\n", corpus[c]);
        assert_int_equal(mag_is_complete(full, strlen(full), FX_OPTS, NULL, 0), MAG_COMPLETE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_may_fail),
        cmocka_unit_test(random_mutations_never_crash),
        cmocka_unit_test(every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
