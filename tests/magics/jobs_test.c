/* jobs_test: pieces of job directories (magics/mag_jobs.h): a policy's Adam state as a
 * job input (its exact header, a round trip into another block of the same size, the
 * errors of a wrong header, wrong sizes and another model), and the %%reward cell a job
 * carries for a reward with and without parameter defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mag_jobs.h"
#include "rt_alloc.h"
#include "rt_params.h"
#include "rt_reward.h"

static void adam_round_trip(void **state)
{
    (void)state;
    float m[3] = {0.5f, -1.0f, 2.0f}, v[3] = {1e-3f, 2e-3f, 3e-3f}, w[3] = {0}, g[3] = {0};
    rt_params a = {.w = w, .g = g, .m = m, .v = v, .n = 3, .t = 7};
    void *p = NULL;
    size_t n = 0;
    assert_int_equal(mag_jobs_adam_pack("base[seed=1]", &a, &p, &n), 0);
    static const char head[] = "rlhf-adam 1\npolicy = base[seed=1]\nn = 3\nt = 7\n";
    assert_int_equal(n, sizeof head - 1 + 6 * sizeof(float));
    assert_memory_equal(p, head, sizeof head - 1);
    float m2[3] = {0}, v2[3] = {0};
    rt_params b = {.w = w, .g = g, .m = m2, .v = v2, .n = 3, .t = 0};
    char name[64], err[128];
    assert_int_equal(mag_jobs_adam_unpack(p, n, name, sizeof name, NULL, err, sizeof err), 0);
    assert_string_equal(name, "base[seed=1]");
    assert_int_equal(mag_jobs_adam_unpack(p, n, name, sizeof name, &b, err, sizeof err), 0);
    assert_memory_equal(m2, m, sizeof m);
    assert_memory_equal(v2, v, sizeof v);
    assert_int_equal(b.t, 7);
    /* another model's block */
    rt_params c = {.w = w, .g = g, .m = m2, .v = v2, .n = 2};
    assert_int_equal(mag_jobs_adam_unpack(p, n, name, sizeof name, &c, err, sizeof err), -1);
    assert_string_equal(err, "Adam state of 'base[seed=1]': 3 moments for 2 weights");
    /* cut short, or a header that is not one */
    assert_int_equal(mag_jobs_adam_unpack(p, n - 1, name, sizeof name, NULL, err, sizeof err), -1);
    assert_string_equal(err, "Adam state of 'base[seed=1]': bad sizes");
    assert_int_equal(
        mag_jobs_adam_unpack("rlhf-adam 2\n", 12, name, sizeof name, NULL, err, sizeof err), -1);
    assert_string_equal(err, "an Adam state without its header");
    rt_free(p);
}

static void reward_cell(void **state)
{
    (void)state;
    static const char *const pn[] = {"c", "d"};
    static const double pd[] = {0.01, 2};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    static const char *const feats[] = {"correct", "length"};
    env.features = feats;
    env.n_features = 2;
    env.param_names = pn;
    env.param_defaults = pd;
    env.n_params = 1; /* c has a default, d none */
    rt_reward_program *r = NULL;
    const char *src = "correct - c * length + d";
    assert_int_equal(rt_reward_compile(src, strlen(src), 1, 1, &env, &r, NULL), 0);
    rt_strbuf b;
    rt_strbuf_init(&b);
    mag_jobs_reward_cell("short", r, &b);
    rt_strbuf_putc(&b, '\0');
    assert_string_equal(b.s, "%%reward short c=0.01\ncorrect - c * length + d");
    rt_strbuf_free(&b);
    rt_reward_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adam_round_trip),
        cmocka_unit_test(reward_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
