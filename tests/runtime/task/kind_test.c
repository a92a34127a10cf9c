/* kind_test.c: a new task kind is one ops record.  The test defines a tiny kind
 * ("succ": <succ> d = -> (d + shift) mod 10, with a sixth feature "even") in this file,
 * registers it, and drives it only through the generic task API: keys and their
 * errors, the registry-assigned tag and the task's vocabulary, prompts, split,
 * targets, demonstrations, features, text, description, the feature union and mixing
 * rules.  Also: the built-in registry's order (tags, features) and registration
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_task.h"
#include "rt_task_kind.h"

/* ---- the kind: one record and its functions --------------------------------------- */

static const rt_task_key succ_keys[] = {
    {.name = "shift", .type = RT_TASK_KEY_INT, .min = 1, .max = 9, .def = 1, .help = "added"},
};
static const char *const succ_features[] = {"correct", "partial", "length",
                                            "format",  "eos",     "even"};

static void succ_shape(const double *v, int *P, int *T, uint64_t *space)
{
    (void)v;
    *P = 3; /* <succ> d = */
    *T = 2; /* d' <eos> */
    *space = 10;
}

static void succ_encode(const rt_task *t, uint64_t id, int *body)
{
    (void)t;
    body[0] = RT_TOK_DIGIT0 + (int)id;
    body[1] = RT_TOK_EQ;
}

static int succ_decode(const rt_task *t, const int *body, int n, uint64_t *id)
{
    (void)t;
    if (n != 2 || body[0] < RT_TOK_DIGIT0 || body[0] > RT_TOK_DIGIT0 + 9 || body[1] != RT_TOK_EQ)
        return -1;
    *id = (uint64_t)(body[0] - RT_TOK_DIGIT0);
    return 0;
}

static int succ_target(const rt_task *t, uint64_t id, int *ans)
{
    ans[0] = RT_TOK_DIGIT0 + (int)((id + (uint64_t)rt_task_values(t)[0]) % 10);
    ans[1] = RT_TOK_EOS;
    return 2;
}

static int succ_corrupt(const rt_task *t, uint64_t id, int *ans)
{
    (void)t;
    ans[0] = RT_TOK_DIGIT0 + (int)id; /* forgets to add */
    ans[1] = RT_TOK_EOS;
    return 2;
}

static int succ_answer(const rt_task *t, int tok)
{
    (void)t;
    return tok >= RT_TOK_DIGIT0 && tok <= RT_TOK_DIGIT0 + 9;
}

static void succ_features_fn(const rt_task *t, uint64_t id, const int *g, int n, double *feat)
{
    (void)t;
    (void)id;
    feat[5] = n > 0 && succ_answer(t, g[0]) && (g[0] - RT_TOK_DIGIT0) % 2 == 0;
}

static const rt_task_kind_ops succ_kind = {
    .name = "succ",
    .tag = "<succ>",
    .help = "a digit plus shift",
    .keys = succ_keys,
    .n_keys = 1,
    .feature_names = succ_features,
    .n_features = 6,
    .shape = succ_shape,
    .encode = succ_encode,
    .decode = succ_decode,
    .target = succ_target,
    .corrupt = succ_corrupt,
    .answer_token = succ_answer,
    .features = succ_features_fn,
};

/* ---- helpers ------------------------------------------------------------------------ */

static rt_task *create(const char *spec)
{
    rt_task_config c;
    rt_diag err;
    rt_task *t = NULL;
    if (rt_task_config_parse(&c, spec, &err)) fail_msg("%s: %s", spec, err.msg);
    if (rt_task_create(&c, &t, &err)) fail_msg("%s: %s", spec, err.msg);
    return t;
}

static void check_text(const int *toks, int n, const char *want)
{
    char buf[128];
    rt_task_render(toks, n, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void features_of(const rt_task *t, const rt_task_sample *s, const char *answer, double *f)
{
    int g[8], n;
    rt_diag err;
    assert_int_equal(rt_task_parse(answer, g, 8, &n, &err), 0);
    rt_task_features(t, s, g, n, f);
}

/* ---- the built-in registry (before registering anything) ---------------------------- */

static void builtin_registry(void **state)
{
    (void)state;
    /* order, tags and V are part of the bit contract */
    const char *names[] = {"add", "reverse", "sort", "copy", "mix", "triage", "file"};
    const int tags[] = {25, 26, 27, 28, RT_TOK_PAD, 29, RT_TOK_PAD};
    assert_int_equal(rt_task_kind_count(), 7);
    for (int i = 0; i < 7; i++) {
        assert_string_equal(rt_task_kind_name(rt_task_kind_at(i)), names[i]);
        assert_ptr_equal(rt_task_kind_find(names[i]), rt_task_kind_at(i));
        assert_int_equal(rt_task_kind_tag(rt_task_kind_at(i)), tags[i]);
        assert_int_equal(rt_task_kind_index(rt_task_kind_at(i)), i);
    }
    assert_null(rt_task_kind_at(7));
    assert_ptr_equal(rt_task_kind_find("mix"), &rt_task_kind_mix);
    assert_string_equal(rt_task_token_str(25), "<add>");
    assert_string_equal(rt_task_token_str(29), "<tri>");
    assert_string_equal(rt_task_token_str(30), "?");
    assert_null(rt_task_token_str(32));
    char buf[128];
    rt_task_kinds_text(0, " or ", buf, sizeof buf);
    assert_string_equal(buf, "add, reverse, sort, copy, mix, triage or file");
    rt_task_kinds_text(1, ", ", buf, sizeof buf);
    assert_string_equal(buf, "add, reverse, sort, copy, file");
    /* keys: own, then noise and holdout, with their defaults */
    const rt_task_kind_ops *tri = rt_task_kind_find("triage");
    assert_int_equal(rt_task_kind_n_keys(tri), 8);
    assert_string_equal(rt_task_kind_key(tri, 4)->name, "conflict");
    assert_string_equal(rt_task_kind_key(tri, 5)->name, "bias");
    assert_true(rt_task_kind_key(tri, 5)->flags & RT_TASK_KEY_QUIET);
    assert_string_equal(rt_task_kind_key(tri, 7)->name, "holdout");
    assert_true(rt_task_kind_key(tri, 7)->def == 0.2);
    assert_null(rt_task_kind_key(tri, 8));
    rt_task_kind_key_error(rt_task_kind_find("reverse"), "digits", buf, sizeof buf);
    assert_string_equal(buf, "reverse has no key 'digits' (its keys: length, noise, holdout)");
    const char *u[64];
    assert_int_equal(rt_task_feature_union(u, 64), 7);
    assert_string_equal(u[6], "demo_agree");
    /* configurations by key name; keys of other kinds are refused */
    rt_task_config c;
    rt_diag err;
    assert_int_equal(rt_task_config_parse(&c, "add digits=3 noise=0.5", &err), 0);
    assert_true(rt_task_config_get(&c, "digits") == 3 && rt_task_config_get(&c, "noise") == 0.5);
    assert_true(isnan(rt_task_config_get(&c, "length")));
    assert_int_equal(rt_task_config_parse(&c, "add length=3", &err), RT_EINVAL);
    assert_string_equal(err.msg, "add has no key 'length' (its keys: digits, noise, holdout)");
    assert_int_equal(rt_task_config_parse(&c, "add digits=x", &err), RT_EINVAL);
    assert_string_equal(err.msg, "'digits' expects a number, got 'x'");
    assert_int_equal(rt_task_config_parse(&c, "nope", &err), RT_EINVAL);
    assert_string_equal(
        err.msg,
        "unknown task kind 'nope'; expected add, reverse, sort, copy, mix, triage or file");
    assert_int_equal(rt_task_config_parse(&c, "add digits=2.5", &err), 0);
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg, "digits must be an integer");
    rt_task_config_init(&c, "mix");
    assert_int_equal(rt_task_config_set(&c, "tasks", 1, &err), RT_EINVAL);
}

/* ---- the new kind ------------------------------------------------------------------- */

static void registration_errors(void **state)
{
    (void)state;
    rt_diag err;
    rt_task_kind_ops bad = succ_kind;
    bad.target = NULL;
    assert_int_equal(rt_task_kind_register(&bad, &err), RT_EINVAL);
    assert_string_equal(
        err.msg, "succ: a kind needs shape, encode, decode, target, corrupt and answer_token");
    bad = succ_kind;
    bad.name = "add";
    assert_int_equal(rt_task_kind_register(&bad, &err), RT_EINVAL);
    assert_string_equal(err.msg, "add: a kind of that name is registered already");
    bad = succ_kind;
    bad.tag = NULL;
    assert_int_equal(rt_task_kind_register(&bad, &err), RT_EINVAL);
    assert_int_equal(rt_task_kind_count(), 7);
    /* a record that is not registered cannot make tasks */
    rt_task_config c;
    rt_task_config_init_kind(&c, &succ_kind);
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg, "unknown task kind");
    assert_null(t);
}

static void new_kind_is_one_record(void **state)
{
    (void)state;
    rt_diag err;
    assert_int_equal(rt_task_kind_register(&succ_kind, &err), 0);
    assert_int_equal(rt_task_kind_register(&succ_kind, &err), RT_EINVAL);
    /* the registry: found by name, the next tag id after the built-ins' slots */
    assert_ptr_equal(rt_task_kind_find("succ"), &succ_kind);
    assert_int_equal(rt_task_kind_count(), 8);
    assert_int_equal(rt_task_kind_tag(&succ_kind), 32); /* file took no tag id */
    assert_string_equal(rt_task_token_str(32), "<succ>");
    assert_int_equal(rt_task_kind_tag(rt_task_kind_find("triage")), 29); /* unchanged */
    char buf[160];
    rt_task_kinds_text(0, " or ", buf, sizeof buf);
    assert_string_equal(buf, "add, reverse, sort, copy, mix, triage, file or succ");
    const char *u[64];
    assert_int_equal(rt_task_feature_union(u, 64), 8);
    assert_string_equal(u[7], "even");
    /* its keys: its own, then noise and holdout; other kinds' are errors */
    rt_task_config c;
    assert_int_equal(rt_task_config_parse(&c, "succ digits=2", &err), RT_EINVAL);
    assert_string_equal(err.msg, "succ has no key 'digits' (its keys: shift, noise, holdout)");
    assert_int_equal(rt_task_config_parse(&c, "succ shift=0", &err), 0);
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg, "shift must be between 1 and 9");
    t = create("succ shift=3");
    /* the vocabulary is the task's: V = 33 here, 32 for the built-ins */
    rt_task *add = create("add");
    assert_int_equal(rt_task_vocab_size(t), 33);
    assert_int_equal(rt_task_vocab_size(add), 32);
    assert_string_equal(rt_task_token(t, 32), "<succ>");
    assert_null(rt_task_token(add, 32));
    assert_int_equal(rt_task_prompt_len(t), 3);
    assert_int_equal(rt_task_answer_max(t), 2);
    assert_int_equal(rt_task_prompt_space(t), 10);
    assert_int_equal(rt_task_n_features(t), 6);
    assert_int_equal(rt_task_feature_index(t, "even"), 5);
    assert_true(rt_task_value(t, "shift") == 3);
    /* prompts and targets through the generic API */
    rt_task_sample s;
    assert_int_equal(rt_task_sample_from_text(t, "<succ>7=", &s, &err), 0);
    check_text(s.prompt, 3, "<succ>7=");
    check_text(s.target, s.target_len, "0<eos>");
    assert_int_equal(rt_task_sample_from_text(t, "8=", &s, &err), 0); /* tag omitted */
    check_text(s.target, s.target_len, "1<eos>");
    assert_int_equal(rt_task_sample_from_text(t, "<add>8=", &s, &err), RT_EPARSE);
    /* both sides of the split, disjoint, every prompt on one */
    uint64_t ntr = rt_task_split_count(t, RT_TASK_TRAIN),
             nho = rt_task_split_count(t, RT_TASK_HELDOUT);
    assert_int_equal(ntr + nho, 10);
    assert_true(ntr > 0 && nho > 0);
    rt_rng r = rt_rng_make(4);
    for (int i = 0; i < 50; i++) {
        rt_task_sample_prompt(t, &r, RT_TASK_HELDOUT, &s);
        assert_int_equal(rt_task_split_of(t, &s), RT_TASK_HELDOUT);
        assert_int_equal(s.prompt[0], 32);
        assert_int_equal(s.target[0], RT_TOK_DIGIT0 + (int)((s.id + 3) % 10));
    }
    /* features: the standard five, then the kind's */
    double f[RT_TASK_MAX_FEATURES];
    assert_int_equal(rt_task_sample_from_id(t, 0, 7, &s), 0);
    features_of(t, &s, "0<eos>", f);
    assert_true(f[0] == 1 && f[1] == 1 && f[2] == 2 && f[3] == 1 && f[4] == 1 && f[5] == 1);
    features_of(t, &s, "1<eos>", f);
    assert_true(f[0] == 0 && f[1] == 0.5 && f[3] == 1 && f[5] == 0);
    features_of(t, &s, "a<eos>", f);
    assert_true(f[3] == 0 && f[5] == 0);
    /* demonstrations: noise=1 is the kind's systematic error */
    int ans[RT_TASK_MAX_T], noisy;
    rt_rng dr = rt_rng_make(5);
    assert_int_equal(rt_task_demonstrate(t, &s, 1.0, &dr, ans, &noisy), 2);
    assert_int_equal(noisy, 1);
    check_text(ans, 2, "7<eos>");
    assert_int_equal(rt_task_demonstrate(t, &s, 0.0, &dr, ans, &noisy), 2);
    check_text(ans, 2, "0<eos>");
    /* the description: its keys, its vocabulary, its features */
    char desc[1024];
    rt_rng r2 = rt_rng_make(1);
    rt_task_describe(t, &r2, 1, desc, sizeof desc);
    assert_non_null(strstr(desc, "task succ shift=3 noise=0\nvocabulary (33): <pad>"));
    assert_non_null(strstr(desc,
                           "? | <succ>\nprompt length 3, answer at most 2 tokens, 10 prompts\n"
                           "features: correct partial length format eos even\n  <succ>"));
    /* mixing: only mixable kinds, named from the registry */
    rt_task_config sub[1], m;
    rt_task_config_init_kind(&sub[0], &succ_kind);
    rt_task_config_init(&m, "mix");
    m.tasks = sub;
    m.n_tasks = 1;
    rt_task *mx = NULL;
    assert_int_equal(rt_task_create(&m, &mx, &err), RT_EINVAL);
    assert_string_equal(err.msg,
                        "tasks[0]: succ cannot be mixed (only add, reverse, sort, copy, file)");
    rt_task_free(add);
    rt_task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_registry), cmocka_unit_test(registration_errors),
        cmocka_unit_test(new_kind_is_one_record), /* registers: keep last */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
