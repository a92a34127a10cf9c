/* rng_test.c: the counter-based generator: reproducible, splittable, uniform. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "rt_alloc.h"
#include "rt_rng.h"

static void same_seed_same_stream(void **state)
{
    (void)state;
    rt_rng a = rt_rng_from_name(7, "run"), b = rt_rng_from_name(7, "run");
    for (int i = 0; i < 1000; i++) assert_int_equal(rt_rng_u64(&a), rt_rng_u64(&b));
    rt_rng c = rt_rng_from_name(7, "run2"), d = rt_rng_from_name(8, "run");
    rt_rng e = rt_rng_from_name(7, "run");
    uint64_t x = rt_rng_u64(&e);
    assert_int_not_equal(x, rt_rng_u64(&c));
    assert_int_not_equal(x, rt_rng_u64(&d));
}

static void split_does_not_advance_parent(void **state)
{
    (void)state;
    rt_rng p = rt_rng_make(1), q = rt_rng_make(1);
    rt_rng c1 = rt_rng_split(&p, 5), c2 = rt_rng_split(&p, 6);
    assert_int_equal(rt_rng_u64(&p), rt_rng_u64(&q));
    assert_int_not_equal(rt_rng_u64(&c1), rt_rng_u64(&c2));
}

/* chi-square of rt_rng_below(10) over 100k draws: 9 dof, 99.9% quantile 27.9 */
static void below_is_uniform(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(42);
    long cnt[10] = {0};
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        uint32_t v = rt_rng_below(&r, 10);
        assert_true(v < 10);
        cnt[v]++;
    }
    double chi2 = 0;
    for (int k = 0; k < 10; k++) chi2 += pow(cnt[k] - n / 10.0, 2) / (n / 10.0);
    assert_true(chi2 < 27.9);
}

static void uniform_and_normal_moments(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(3);
    double s = 0, s2 = 0, m = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = rt_rng_uniform(&r);
        assert_true(u >= 0.0f && u < 1.0f);
        m += u;
        double z = rt_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    assert_true(fabs(m / n - 0.5) < 0.005);
    assert_true(fabs(s / n) < 0.01);
    assert_true(fabs(s2 / n - 1.0) < 0.02);
}

static void alloc_hook_fails_nth(void **state)
{
    (void)state;
    rt_alloc_fail_at(2);
    void *a = rt_malloc(8), *b = rt_malloc(8), *c = rt_malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    assert_int_equal(rt_alloc_count(), 3);
    rt_free(a);
    rt_free(c);
    rt_alloc_fail_at(0);
    assert_null(rt_calloc(SIZE_MAX / 2, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(split_does_not_advance_parent),
        cmocka_unit_test(below_is_uniform),
        cmocka_unit_test(uniform_and_normal_moments),
        cmocka_unit_test(alloc_hook_fails_nth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
