/* jobs_test: pieces of job directories (magics/mag_jobs.h): a policy's Adam state as a
 * job input (its exact header, a round trip into another block of the same size, the
 * errors of a wrong header, wrong sizes and another model, and every header pack would not
 * write refused), and the %%reward cell a job carries for a reward with and without
 * parameter defaults. */
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

/* Unpack takes only what pack writes (the fuzz target tools/fuzz/fuzz_manifest.c found
 * these accepted: tests/fuzz/regress/manifest/adam-*): each header below is refused with
 * its exact error, and the same header as pack writes it is accepted. */
static void adam_only_what_pack_writes(void **state)
{
    (void)state;
    static const struct {
        const char *head, *err;
        size_t len; /* of head (NUL inside) */
    } bad[] = {
        {"rlhf-adam 1\npolicy = p\nn = 2\nt = 07\n", "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn = +2\nt = 7\n", "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn = 02\nt = 7\n", "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn =  2\nt = 7\n", "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn = \nt = 7\n", "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn = 2\nt = -1\n", "Adam state of 'p': bad sizes", 0},
        /* t + 1 would overflow a long in the next Adam step */
        {"rlhf-adam 1\npolicy = p\nn = 2\nt = 9223372036854775807\n",
         "Adam state of 'p': bad sizes", 0},
        {"rlhf-adam 1\npolicy = p\nn = 2\nt = 1000000000000001\n", "Adam state of 'p': bad sizes",
         0},
        {"rlhf-adam 1\npolicy = \nn = 2\nt = 7\n",
         "an Adam state whose policy name is empty or has a control byte", 0},
        {"rlhf-adam 1\npolicy = p\tq\nn = 2\nt = 7\n",
         "an Adam state whose policy name is empty or has a control byte", 0},
        {"rlhf-adam 1\npolicy = p\0q\nn = 2\nt = 7\n", "an Adam state without its header", 37},
    };
    float mv[4] = {0.5f, -0.25f, 1e-3f, 2.0f};
    char buf[128], name[64], err[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t hl = bad[i].len ? bad[i].len : strlen(bad[i].head);
        memcpy(buf, bad[i].head, hl);
        memcpy(buf + hl, mv, sizeof mv);
        err[0] = '\0';
        assert_int_equal(
            mag_jobs_adam_unpack(buf, hl + sizeof mv, name, sizeof name, NULL, err, sizeof err),
            -1);
        assert_string_equal(err, bad[i].err);
    }
    /* the largest step count, and a name with UTF-8 and brackets, are fine */
    static const char good[] =
        "rlhf-adam 1\npolicy = b\xc3\xa4se[seed=1]\nn = 2\nt = 1000000000000000\n";
    memcpy(buf, good, sizeof good - 1);
    memcpy(buf + sizeof good - 1, mv, sizeof mv);
    float m[2], v[2];
    rt_params prm = {.m = m, .v = v, .n = 2};
    assert_int_equal(mag_jobs_adam_unpack(buf, sizeof good - 1 + sizeof mv, name, sizeof name, &prm,
                                          err, sizeof err),
                     0);
    assert_string_equal(name, "b\xc3\xa4se[seed=1]");
    assert_true(prm.t == MAG_JOBS_ADAM_MAX_T && m[1] == -0.25f && v[1] == 2.0f);
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
        cmocka_unit_test(adam_only_what_pack_writes),
        cmocka_unit_test(reward_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
