/* schema_test.c: validation results (given values, defaults), sweeps (which keys,
 * cartesian order with the first swept key slowest, point names), accessors, type
 * texts, and schema misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lang_fixture.h"

static mag_config *validate_ok(const mag_schema *s, const char *src, mag_cell **cell)
{
    mag_diag d;
    int r = mag_parse_cell(src, strlen(src), FX_OPTS, cell, &d);
    if (r) fail_msg("parse: %s", d.msg);
    mag_config *cfg = NULL;
    if ((*cell)->kind == MAG_CELL_MAGIC)
        r = mag_validate_cell(s, *cell, src, strlen(src), &cfg, &d);
    else
        r = mag_validate_line(s, &(*cell)->lines[0], src, strlen(src), &cfg, &d);
    if (r) fail_msg("validate: %s", d.msg);
    return cfg;
}

static void defaults_and_given_values(void **state)
{
    (void)state;
    mag_cell *c;
    mag_config *cfg = validate_ok(&fx_opd, "%%opd s\nfrom = base\nteacher = t\nlambda = 1.5", &c);
    mag_cell_free(c); /* the config owns deep copies */
    assert_int_equal(cfg->npoints, 1);
    assert_int_equal(cfg->nswept, 0);
    assert_string_equal(mag_config_get(cfg, "from", 0)->str, "base");
    assert_true(mag_value_number(mag_config_get(cfg, "lambda", 0), 0) == 1.5);
    assert_int_equal(cfg->given[mag_schema_find(&fx_opd, "lambda")], 1);
    /* defaults parsed from their text */
    assert_int_equal(mag_config_get(cfg, "steps", 0)->i, 200);
    assert_true(mag_value_number(mag_config_get(cfg, "lr", 0), 0) == 1e-3);
    assert_string_equal(mag_config_get(cfg, "estimator", 0)->str, "sampled");
    assert_int_equal(cfg->given[mag_schema_find(&fx_opd, "steps")], 0);
    /* no value, no default */
    assert_null(mag_config_get(cfg, "reference", 0));
    assert_null(mag_config_get(cfg, "seed", 0));
    assert_null(mag_config_get(cfg, "nosuchkey", 0));
    assert_null(mag_config_get(cfg, "from", 1)); /* point out of range */
    char name[64];
    assert_int_equal(mag_config_point_name(cfg, "s", 0, name, sizeof name), 1);
    assert_string_equal(name, "s");
    mag_config_free(cfg);
}

static void sweep_expansion_order_and_names(void **state)
{
    (void)state;
    mag_cell *c;
    const char *src = "%%opd s lr=[1e-3, 3e-4]\n"
                      "from = base\n"
                      "teacher = t\n"
                      "lambda = [1, 1.25, 2]\n"
                      "estimator = full\n"
                      "seed = [1, 2]\n";
    mag_config *cfg = validate_ok(&fx_opd, src, &c);
    mag_cell_free(c);
    assert_int_equal(cfg->nswept, 3);
    /* source order: header arg first, then body */
    assert_string_equal(fx_opd.keys[cfg->swept[0]].name, "lr");
    assert_string_equal(fx_opd.keys[cfg->swept[1]].name, "lambda");
    assert_string_equal(fx_opd.keys[cfg->swept[2]].name, "seed");
    assert_int_equal(cfg->npoints, 12);
    static const char *const want[12] = {
        "s[lr=1e-3,lambda=1,seed=1]",    "s[lr=1e-3,lambda=1,seed=2]",
        "s[lr=1e-3,lambda=1.25,seed=1]", "s[lr=1e-3,lambda=1.25,seed=2]",
        "s[lr=1e-3,lambda=2,seed=1]",    "s[lr=1e-3,lambda=2,seed=2]",
        "s[lr=3e-4,lambda=1,seed=1]",    "s[lr=3e-4,lambda=1,seed=2]",
        "s[lr=3e-4,lambda=1.25,seed=1]", "s[lr=3e-4,lambda=1.25,seed=2]",
        "s[lr=3e-4,lambda=2,seed=1]",    "s[lr=3e-4,lambda=2,seed=2]",
    };
    static const double lr[12] = {1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3,
                                  3e-4, 3e-4, 3e-4, 3e-4, 3e-4, 3e-4};
    static const double lam[12] = {1, 1, 1.25, 1.25, 2, 2, 1, 1, 1.25, 1.25, 2, 2};
    for (size_t p = 0; p < 12; p++) {
        char name[128];
        size_t n = mag_config_point_name(cfg, "s", p, name, sizeof name);
        assert_string_equal(name, want[p]);
        assert_int_equal(n, strlen(want[p]));
        assert_true(mag_value_number(mag_config_get(cfg, "lr", p), 0) == lr[p]);
        assert_true(mag_value_number(mag_config_get(cfg, "lambda", p), 0) == lam[p]);
        assert_int_equal(mag_config_get(cfg, "seed", p)->i, (long long)(p % 2 + 1));
        /* unswept keys are the same at every point */
        assert_string_equal(mag_config_get(cfg, "estimator", p)->str, "full");
    }
    /* snprintf-like truncation */
    char small[8];
    assert_int_equal(mag_config_point_name(cfg, "s", 0, small, sizeof small), strlen(want[0]));
    assert_string_equal(small, "s[lr=1e");
    assert_int_equal(mag_config_point_name(cfg, "s", 0, NULL, 0), strlen(want[0]));
    mag_config_free(cfg);
}

static void map_or_scalar_lists_and_bools(void **state)
{
    (void)state;
    mag_cell *c;
    mag_config *cfg = validate_ok(&fx_opd, "%%opd s\nfrom = b\nteacher = {add: ta, sort: ts}", &c);
    const mag_value *t = mag_config_get(cfg, "teacher", 0);
    assert_int_equal(t->kind, MAG_V_MAP);
    assert_string_equal(t->entries[1].key, "sort");
    assert_string_equal(t->entries[1].value.str, "ts");
    assert_int_equal(cfg->nswept, 0);
    mag_config_free(cfg);
    mag_cell_free(c);
    /* a teacher sweep (list of policies) on a map-or-scalar key */
    cfg = validate_ok(&fx_opd, "%%opd s\nfrom = b\nteacher = [t1, t2]", &c);
    assert_int_equal(cfg->npoints, 2);
    assert_string_equal(mag_config_get(cfg, "teacher", 1)->str, "t2");
    mag_config_free(cfg);
    mag_cell_free(c);
    /* list-typed key is a value, not a sweep; bools in several spellings */
    cfg =
        validate_ok(&fx_rl, "%%rl r\nfrom = p\nreward = x\ntags = [a, \"b c\"]\nverbose = on", &c);
    assert_int_equal(cfg->nswept, 0);
    assert_int_equal(mag_config_get(cfg, "tags", 0)->n, 2);
    assert_int_equal(mag_value_bool(mag_config_get(cfg, "verbose", 0), -1), 1);
    mag_config_free(cfg);
    mag_cell_free(c);
    cfg = validate_ok(&fx_rl, "%%rl r\nfrom = p\nreward = x\nverbose = 0", &c);
    assert_int_equal(mag_value_bool(mag_config_get(cfg, "verbose", 0), -1), 0);
    mag_config_free(cfg);
    mag_cell_free(c);
    cfg = validate_ok(&fx_rl, "%%rl r\nfrom = p\nreward = x", &c);
    assert_int_equal(mag_value_bool(mag_config_get(cfg, "verbose", 0), -1), 0); /* default */
    assert_int_equal(mag_value_bool(NULL, -1), -1);
    assert_true(mag_value_number(NULL, 7.5) == 7.5);
    mag_config_free(cfg);
    mag_cell_free(c);
    /* line magic: positional args are left to the handler */
    cfg = validate_ok(&fx_eval, "%eval p1 task=add temperature=0", &c);
    assert_string_equal(mag_config_get(cfg, "task", 0)->str, "add");
    assert_int_equal(mag_config_get(cfg, "k", 0)->i, 8);
    mag_config_free(cfg);
    mag_cell_free(c);
}

static void too_many_points(void **state)
{
    (void)state;
    char src[2048] = "%%opd s\nfrom = b\nteacher = t\nlr = [";
    for (int i = 1; i <= 200; i++)
        sprintf(src + strlen(src), "%s%d", i > 1 ? "," : "", i);
    strcat(src, "]\nseed = [");
    for (int i = 1; i <= 51; i++)
        sprintf(src + strlen(src), "%s%d", i > 1 ? "," : "", i);
    strcat(src, "]\n");
    mag_diag d;
    assert_int_equal(fx_check(src, strlen(src), &d), MAG_ESCHEMA);
    assert_string_equal(d.msg, "cell:4:1: sweep has too many points (the limit is 10000)");
}

/* issue 12: steps = 1e3 is the integer 1000 (kind, i and num), in a sweep too; the
 * point name keeps the text as written.  1.5 is still not an integer. */
static void integral_numbers_are_integers(void **state)
{
    (void)state;
    mag_cell *c;
    mag_config *cfg = validate_ok(&fx_opd,
                                  "%%opd s\nfrom = b\nteacher = t\nsteps = 1e3\n"
                                  "seed = [2.0, 1E1]",
                                  &c);
    mag_cell_free(c);
    const mag_value *v = mag_config_get(cfg, "steps", 0);
    assert_int_equal(v->kind, MAG_V_INT);
    assert_int_equal(v->i, 1000);
    assert_true(v->num == 1000);
    v = mag_config_get(cfg, "seed", 1);
    assert_int_equal(v->kind, MAG_V_INT);
    assert_int_equal(v->i, 10);
    char name[64];
    mag_config_point_name(cfg, "s", 1, name, sizeof name);
    assert_string_equal(name, "s[seed=1E1]");
    mag_config_free(cfg);
    /* a number key keeps its float */
    cfg = validate_ok(&fx_opd, "%%opd s\nfrom = b\nteacher = t\nlr = 3e38", &c);
    mag_cell_free(c);
    assert_int_equal(mag_config_get(cfg, "lr", 0)->kind, MAG_V_FLOAT);
    mag_config_free(cfg);
    const char *src = "%%opd s\nfrom = b\nteacher = t\nsteps = 1.5e3";
    mag_diag d;
    assert_int_equal(fx_check(src, strlen(src), &d), MAG_OK);
    src = "%%opd s\nfrom = b\nteacher = t\nsteps = 1.5";
    assert_int_equal(fx_check(src, strlen(src), &d), MAG_ESCHEMA);
    assert_string_equal(d.msg, "cell:4:9: 'steps' expects an integer, got number 1.5");
}

static void type_texts(void **state)
{
    (void)state;
    char buf[128];
    mag_key_type_text(&fx_opd.keys[mag_schema_find(&fx_opd, "estimator")], buf, sizeof buf);
    assert_string_equal(buf, "one of sampled or full");
    mag_key_type_text(&fx_opd.keys[mag_schema_find(&fx_opd, "teacher")], buf, sizeof buf);
    assert_string_equal(buf, "policy name or map of policy name");
    mag_key_type_text(&fx_opd.keys[mag_schema_find(&fx_opd, "steps")], buf, sizeof buf);
    assert_string_equal(buf, "integer");
    mag_key_type_text(&fx_opd.keys[mag_schema_find(&fx_opd, "lr")], buf, sizeof buf);
    assert_string_equal(buf, "number");
    mag_key_type_text(&fx_rl.keys[mag_schema_find(&fx_rl, "tags")], buf, sizeof buf);
    assert_string_equal(buf, "list of string");
    mag_key_type_text(&fx_rl.keys[mag_schema_find(&fx_rl, "verbose")], buf, sizeof buf);
    assert_string_equal(buf, "true or false");
    assert_int_equal(mag_schema_find(&fx_rl, "nope"), -1);
}

static void help_texts(void **state)
{
    (void)state;
    char buf[512];
    const mag_key_spec *k = &fx_opd.keys[mag_schema_find(&fx_opd, "lr")];
    assert_int_equal(mag_key_help(k, buf, sizeof buf),
                     strlen("lr (number > 0, default 1e-3, sweepable): learning rate"));
    assert_string_equal(buf, "lr (number > 0, default 1e-3, sweepable): learning rate");
    mag_key_help(&fx_opd.keys[0], buf, sizeof buf);
    assert_string_equal(buf, "from (policy name, required): student initialization");
    mag_key_help(&fx_opd.keys[mag_schema_find(&fx_opd, "estimator")], buf, sizeof buf);
    assert_string_equal(buf, "estimator (one of sampled or full, default sampled, sweepable): "
                             "KL estimator");
    mag_key_help(&fx_opd.keys[mag_schema_find(&fx_opd, "gamma")], buf, sizeof buf);
    assert_string_equal(buf, "gamma (number in [0, 1], default 0, sweepable): discount");
    mag_key_help(&fx_rl.keys[mag_schema_find(&fx_rl, "clip")], buf, sizeof buf);
    assert_string_equal(buf, "clip (number in (0, 1), default 0.2): PPO clip");
    size_t n = mag_schema_help(&fx_eval, buf, sizeof buf);
    const char *want = "evaluation\n"
                       "  task (task name): task\n"
                       "  k (integer >= 1, default 8): samples\n"
                       "  temperature (number >= 0, default 1): temperature\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    char small[12];
    assert_int_equal(mag_schema_help(&fx_eval, small, sizeof small), strlen(want));
    assert_string_equal(small, "evaluation\n");
}

static void coordinates_group_seeds(void **state)
{
    (void)state;
    mag_cell *c;
    mag_config *cfg =
        validate_ok(&fx_rl, "%%rl r\nfrom = p\nreward = x\nkl = [0, 0.1]\nseed = [1, 2, 3]", &c);
    mag_cell_free(c);
    assert_int_equal(cfg->npoints, 6);
    static const size_t kl[6] = {0, 0, 0, 1, 1, 1}, seed[6] = {0, 1, 2, 0, 1, 2};
    for (size_t p = 0; p < 6; p++) {
        assert_int_equal(mag_config_coord(cfg, 0, p), kl[p]);
        assert_int_equal(mag_config_coord(cfg, 1, p), seed[p]);
    }
    assert_int_equal(mag_config_coord(cfg, 2, 0), 0);
    mag_config_free(cfg);
}

/* other names of keys (rt_key_alias): the value goes to the key, a sweep is named by the
 * key, both names together are an error at the second, and suggestions know them */
static void aliases(void **state)
{
    (void)state;
    static const rt_key_alias al[] = {{"beta", "kl", "TRL", NULL},
                                      {"epsilon", "clip", "TRL", NULL}};
    mag_schema s = fx_rl;
    s.aliases = al, s.naliases = 2;
    mag_cell *c;
    mag_config *cfg =
        validate_ok(&s, "%%rl r\nfrom = b\nreward = x\nbeta = [0.1, 0.2]\nepsilon = 0.3", &c);
    mag_cell_free(c);
    assert_int_equal(cfg->npoints, 2);
    assert_true(mag_value_number(mag_config_get(cfg, "kl", 1), 0) == 0.2);
    assert_true(mag_value_number(mag_config_get(cfg, "clip", 0), 0) == 0.3);
    assert_int_equal(cfg->given[mag_schema_find(&s, "kl")], 1);
    char name[64];
    mag_config_point_name(cfg, "r", 1, name, sizeof name);
    assert_string_equal(name, "r[kl=0.2]");
    mag_config_free(cfg);
    /* both names: an error at the second, whichever comes first */
    const char *both[] = {"%%rl r\nfrom = b\nreward = x\nkl = 0.1\nbeta = 0.2",
                          "%%rl r\nfrom = b\nreward = x\nbeta = 0.2\nkl = 0.1"};
    const char *msg[] = {
        "cell:5:1: 'kl' and 'beta' name the same key ('kl'; TRL's name), both set (first "
        "at line 4): keep one",
        "cell:5:1: 'beta' and 'kl' name the same key ('kl'; TRL's name), both set (first "
        "at line 4): keep one"};
    for (int i = 0; i < 2; i++) {
        mag_diag d;
        assert_int_equal(mag_parse_cell(both[i], strlen(both[i]), FX_OPTS, &c, &d), 0);
        assert_int_not_equal(mag_validate_cell(&s, c, both[i], strlen(both[i]), &cfg, &d), 0);
        if (strcmp(d.msg, msg[i])) fail_msg("got '%s'", d.msg);
        assert_int_equal(d.line, 5);
        assert_int_equal(d.col, 1);
        mag_cell_free(c);
    }
    /* a misspelled alias is suggested */
    const char *typo = "%%rl r\nfrom = b\nreward = x\nepsilom = 0.3";
    mag_diag d;
    assert_int_equal(mag_parse_cell(typo, strlen(typo), FX_OPTS, &c, &d), 0);
    assert_int_not_equal(mag_validate_cell(&s, c, typo, strlen(typo), &cfg, &d), 0);
    assert_string_equal(d.msg, "cell:4:1: unknown key 'epsilom' (did you mean 'epsilon'?)");
    mag_cell_free(c);
    /* an alias with values of its own (TRL's loss_type): checked against them, mapped to
     * the key's values, one per list item; two of its values naming one of the key's is
     * an error at the second */
    static const char *const method_values[] = {
        "vanilla", "reinforce", "leave_one_out", "rloo", "group", "grpo", "grpo", "grpo", NULL};
    static const rt_key_alias mal[] = {{"method", "algo", "TRL", method_values}};
    mag_schema ms = fx_rl;
    ms.aliases = mal, ms.naliases = 1;
    cfg = validate_ok(&ms, "%%rl r\nfrom = b\nreward = x\nmethod = [vanilla, leave_one_out]", &c);
    mag_cell_free(c);
    assert_int_equal(cfg->npoints, 2);
    assert_string_equal(mag_config_get(cfg, "algo", 0)->str, "reinforce");
    assert_string_equal(mag_config_get(cfg, "algo", 1)->str, "rloo");
    mag_config_point_name(cfg, "r", 1, name, sizeof name);
    assert_string_equal(name, "r[algo=rloo]");
    mag_config_free(cfg);
    const char *bad[] = {"%%rl r\nfrom = b\nreward = x\nmethod = rloo",
                         "%%rl r\nfrom = b\nreward = x\nmethod = [group, grpo]"};
    const char *bad_msg[] = {
        "cell:4:10: unknown value 'rloo' for 'method'; expected vanilla, leave_one_out, group or "
        "grpo",
        "cell:4:18: method values group and grpo are the same algo (grpo)"};
    for (int i = 0; i < 2; i++) {
        mag_diag dd;
        assert_int_equal(mag_parse_cell(bad[i], strlen(bad[i]), FX_OPTS, &c, &dd), 0);
        assert_int_not_equal(mag_validate_cell(&ms, c, bad[i], strlen(bad[i]), &cfg, &dd), 0);
        if (strcmp(dd.msg, bad_msg[i])) fail_msg("got '%s'", dd.msg);
        mag_cell_free(c);
    }
    /* help lists them */
    char h[4096];
    mag_schema_help(&s, h, sizeof h);
    assert_non_null(strstr(h, "  other names: beta = kl, epsilon = clip\n"));
}

static void schema_misuse(void **state)
{
    (void)state;
    static const mag_key_spec keys[] = {
        {"x", MAG_T_INT, 0, NULL, 0, 0, 0, "[1,", NULL, "broken default"},
    };
    static const mag_schema s = {"broken", keys, 1, "test", NULL, 0};
    mag_validate_in in = {"", 0, NULL, 0, NULL, 0, {1, 1, 0}};
    mag_config *cfg = (mag_config *)1;
    mag_diag d;
    assert_int_equal(mag_validate(&s, &in, &cfg, &d), MAG_EARG);
    assert_null(cfg);
    assert_string_equal(d.msg, "cell: schema default for 'x' does not parse: cell:1:4: expected "
                               "']' (to close '[' at column 1) near <eof>");
    assert_int_equal(mag_validate(NULL, &in, &cfg, &d), MAG_EARG);
    assert_int_equal(mag_validate(&s, NULL, &cfg, &d), MAG_EARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_given_values),
        cmocka_unit_test(sweep_expansion_order_and_names),
        cmocka_unit_test(map_or_scalar_lists_and_bools),
        cmocka_unit_test(too_many_points),
        cmocka_unit_test(integral_numbers_are_integers),
        cmocka_unit_test(type_texts),
        cmocka_unit_test(help_texts),
        cmocka_unit_test(coordinates_group_seeds),
        cmocka_unit_test(schema_misuse),
        cmocka_unit_test(aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
