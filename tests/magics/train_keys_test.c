/* train_keys_test.c: the trainers' key tables (runtime/core/rt_key.h and rt_rl_keys.h,
 * rt_sft_keys.h, rt_policy_keys.h, rt_opd_keys.h, rt_debate_keys.h):
 *   - each config_init (and rt_model's mlp defaults) agrees with its table's defaults,
 *     so a default is written once;
 *   - every key of a table is a key of its magic's schema, the same entry field by field
 *     (the schema is made of the table's initializers, not a copy);
 *   - rt_key_find / rt_key_default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "mag_magic.h"
#include "rt_debate.h"
#include "rt_debate_keys.h"
#include "rt_key.h"
#include "rt_model.h"
#include "rt_opd_keys.h"
#include "rt_opd_run.h"
#include "rt_policy_keys.h"
#include "rt_rl.h"
#include "rt_rl_keys.h"
#include "rt_sft.h"
#include "rt_sft_keys.h"

static double def(const rt_key *t, size_t n, const char *name)
{
    const rt_key *k = rt_key_find(t, n, name);
    assert_non_null(k);
    assert_non_null(k->def);
    return rt_key_default(t, n, name, -12345.0);
}

static void test_find_and_default(void **state)
{
    (void)state;
    assert_null(rt_key_find(rt_rl_keys, rt_rl_n_keys, "nope"));
    assert_null(rt_key_find(rt_rl_keys, rt_rl_n_keys, NULL));
    assert_string_equal(rt_key_find(rt_rl_keys, rt_rl_n_keys, "lr")->def, "2e-4");
    assert_true(rt_key_default(rt_rl_keys, rt_rl_n_keys, "lr", 0) == 2e-4);
    /* an enum's default is the index of its value */
    assert_true(rt_key_default(rt_rl_keys, rt_rl_n_keys, "algo", -1) == 2);
    /* no default: the fallback */
    assert_true(rt_key_default(rt_rl_keys, rt_rl_n_keys, "epochs", -7) == -7);
    assert_true(rt_key_default(rt_rl_keys, rt_rl_n_keys, "nope", -7) == -7);
}

static void test_rl_config_init(void **state)
{
    (void)state;
    rt_rl_config c;
    rt_rl_config_init(&c);
    const rt_key *t = rt_rl_keys;
    size_t n = rt_rl_n_keys;
    assert_ptr_equal(c.algo, rt_rl_recipe_find(rt_key_find(t, n, "algo")->def));
    assert_int_equal(c.group, (int)def(t, n, "group"));
    assert_int_equal(c.batch, (int)def(t, n, "batch"));
    assert_int_equal(c.steps, (long)def(t, n, "steps"));
    assert_true(c.lr == (float)def(t, n, "lr"));
    assert_true(c.temperature == (float)def(t, n, "temperature"));
    assert_true(c.kl == def(t, n, "kl"));
    assert_true(c.clip == def(t, n, "clip"));
    assert_int_equal(c.eval_every, (long)def(t, n, "eval_every"));
    assert_int_equal(c.eval_prompts, (int)def(t, n, "eval_prompts"));
    assert_int_equal(c.regularizer, (int)def(t, n, "regularizer"));
    assert_true(c.chi2 == def(t, n, "chi2"));
    /* no default in the table: the AUTO values of the config */
    assert_null(rt_key_find(t, n, "kl_estimator")->def);
    assert_int_equal(c.kl_estimator, RT_RL_EST_AUTO);
    assert_null(rt_key_find(t, n, "kl_in")->def);
    assert_int_equal(c.kl_in, RT_RL_IN_AUTO);
    assert_null(rt_key_find(t, n, "epochs")->def);
    assert_int_equal(c.epochs, 0);
    assert_int_equal(c.staleness, (int)def(t, n, "staleness"));
    assert_true(c.entropy_coef == def(t, n, "entropy_coef"));
    assert_null(rt_key_find(t, n, "minibatches")->def); /* the recipe's */
    assert_int_equal(c.minibatches, 0);
    assert_null(rt_key_find(t, n, "filter_groups")->def);
    assert_int_equal(c.filter_groups, 0);
    /* the algorithm names of the key are the recipe table's rows, in order */
    const rt_key *algo = rt_key_find(t, n, "algo");
    int i = 0;
    for (; algo->values[i]; i++) {
        const rt_rl_recipe *a;
        assert_int_equal(rt_rl_algo_parse(algo->values[i], &a), 0);
        assert_ptr_equal(a, rt_rl_recipe_at(i));
    }
    assert_int_equal(i, rt_rl_recipe_count());
}

static void test_sft_config_init(void **state)
{
    (void)state;
    rt_sft_config c;
    memset(&c, 0, sizeof c);
    rt_sft_config_init(&c);
    const rt_key *t = rt_sft_keys;
    size_t n = rt_sft_n_keys;
    assert_int_equal(c.batch, (int)def(t, n, "batch"));
    assert_true(c.lr == (float)def(t, n, "lr"));
    assert_int_equal(c.eval_every, (long)def(t, n, "eval_every"));
    /* sft_steps and noise have no table default (they depend on task / from) */
    assert_null(rt_key_find(t, n, "sft_steps")->def);
    assert_null(rt_key_find(t, n, "noise")->def);
}

static void test_policy_defaults(void **state)
{
    (void)state;
    const rt_model_ops *mlp = rt_model_arch("mlp");
    assert_non_null(mlp);
    const rt_key *t = rt_policy_keys;
    size_t n = rt_policy_n_keys;
    assert_string_equal(rt_key_find(t, n, "arch")->def, "mlp");
    /* the mlp's own settings: same default, range, value names and help; a key the gpt
     * shares (context, layers) covers both ranges and its help names both */
    const rt_model_ops *gpt = rt_model_arch("gpt");
    assert_non_null(gpt);
    for (int i = 0; i < mlp->nkeys; i++) {
        const rt_model_key *mk = &mlp->keys[i];
        const rt_key *k = rt_key_find(t, n, mk->name);
        assert_non_null(k);
        const rt_model_key *gk = NULL;
        for (int j = 0; j < gpt->nkeys; j++)
            if (!strcmp(gpt->keys[j].name, mk->name)) gk = &gpt->keys[j];
        if (gk) { /* shared */
            assert_non_null(strstr(k->help, "mlp"));
            assert_non_null(strstr(k->help, "gpt"));
            assert_true(k->min <= mk->min && k->min <= gk->min);
            assert_true(k->max >= mk->max && k->max >= gk->max);
            assert_true(def(t, n, mk->name) == mk->def);
            continue;
        }
        assert_string_equal(k->help, mk->help);
        if (mk->names) {
            assert_int_equal(k->type, RT_KEY_ENUM);
            for (int v = mk->min; v <= mk->max; v++)
                assert_string_equal(k->values[v - mk->min], mk->names[v - mk->min]);
            assert_null(k->values[mk->max - mk->min + 1]);
            assert_string_equal(k->def, mk->names[mk->def - mk->min]);
        } else {
            assert_int_equal(k->type, RT_KEY_INT);
            assert_true(k->min == mk->min && k->max == mk->max);
            assert_true(def(t, n, mk->name) == mk->def);
        }
    }
}

static void test_opd_config_init(void **state)
{
    (void)state;
    rt_opd_run_config c;
    rt_opd_run_config_init(&c);
    const rt_key *t = rt_opd_keys;
    size_t n = rt_opd_n_keys;
    assert_true(c.step.lambda == (float)def(t, n, "lambda"));
    assert_int_equal(c.step.estimator, (int)def(t, n, "estimator"));
    assert_true(c.step.gamma == (float)def(t, n, "gamma"));
    assert_true(c.step.teacher_temperature == (float)def(t, n, "teacher_temperature"));
    assert_true(c.step.temperature == (float)def(t, n, "temperature"));
    assert_int_equal(c.steps, (long)def(t, n, "steps"));
    assert_int_equal(c.step.batch, (int)def(t, n, "batch"));
    assert_true(c.step.adam.lr == (float)def(t, n, "lr"));
    assert_int_equal(c.eval_every, (long)def(t, n, "eval_every"));
    assert_int_equal(c.eval_prompts, (int)def(t, n, "eval_prompts"));
}

static void test_debate_config_init(void **state)
{
    (void)state;
    rt_debate_config c;
    rt_debate_config_init(&c);
    const rt_key *t = rt_debate_keys;
    size_t n = rt_debate_n_keys;
    assert_int_equal(c.evidence, (int)def(t, n, "evidence"));
    assert_int_equal(c.debaters, (int)def(t, n, "debaters"));
    assert_int_equal(c.judge.steps, (long)def(t, n, "judge_steps"));
    assert_int_equal(c.judge_hidden, (int)def(t, n, "hidden"));
    assert_int_equal(c.learner.steps, (long)def(t, n, "debater_steps"));
    assert_int_equal(c.first, (int)def(t, n, "first"));
    assert_int_equal(c.max_leaves, (long)def(t, n, "max_leaves"));
}

/* Every key of the table is in the magic's schema with the same fields. */
static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static void check_in_schema(const char *magic, const rt_key *t, size_t n)
{
    const mag_magic *m = mag_magic_find(magic, 1);
    assert_non_null(m);
    assert_non_null(m->schema);
    for (size_t i = 0; i < n; i++) {
        int j = mag_schema_find(m->schema, t[i].name);
        assert_true(j >= 0);
        const mag_key_spec *k = &m->schema->keys[j];
        assert_string_equal(k->name, t[i].name);
        assert_int_equal(k->type, t[i].type);
        assert_int_equal(k->elem, t[i].elem);
        assert_ptr_equal(k->values, t[i].values);
        assert_int_equal(k->flags, t[i].flags);
        assert_true(k->min == t[i].min && k->max == t[i].max);
        /* text equal (identical literals need not be one object: ASan does not merge them) */
        assert_true(same_text(k->def, t[i].def));
        assert_true(same_text(k->object, t[i].object));
        assert_string_equal(k->help, t[i].help);
    }
}

static void test_magic_schemas(void **state)
{
    (void)state;
    check_in_schema("rl", rt_rl_keys, rt_rl_n_keys);
    check_in_schema("policy", rt_sft_keys, rt_sft_n_keys);
    check_in_schema("policy", rt_policy_keys, rt_policy_n_keys);
    check_in_schema("opd", rt_opd_keys, rt_opd_n_keys);
    check_in_schema("debate", rt_debate_keys, rt_debate_n_keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_default), cmocka_unit_test(test_rl_config_init),
        cmocka_unit_test(test_sft_config_init),  cmocka_unit_test(test_policy_defaults),
        cmocka_unit_test(test_opd_config_init),  cmocka_unit_test(test_debate_config_init),
        cmocka_unit_test(test_magic_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
