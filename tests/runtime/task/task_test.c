/* task_test.c: the tasks' verifiers and features on hand cases, targets and the
 * documented systematic errors, noise rates, held-out disjointness, determinism,
 * mix routing, the triage rule, validation messages and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_task.h"
#include "rt_task_kind.h"

/* cmocka 1.1 has no double assertion */
#define assert_double_equal(a, b, eps) check_double((a), (b), (eps), __FILE__, __LINE__)
static void check_double(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) fail_msg("%s:%d: %.17g != %.17g", file, line, a, b);
}

static rt_task *make(const char *kind, int n, double noise)
{
    rt_task_config c;
    assert_int_equal(rt_task_config_init(&c, kind), 0);
    assert_int_equal(rt_task_config_set(&c, strcmp(kind, "add") ? "length" : "digits", n, NULL), 0);
    assert_int_equal(rt_task_config_set(&c, "noise", noise, NULL), 0);
    rt_task *t = NULL;
    rt_diag err;
    assert_int_equal(rt_task_create(&c, &t, &err), 0);
    return t;
}

static void toks_of(const char *text, int *toks, int *n)
{
    rt_diag err;
    assert_int_equal(rt_task_parse(text, toks, RT_TASK_MAX_T * 2, n, &err), 0);
}

static void sample_of(const rt_task *t, const char *text, rt_task_sample *s)
{
    rt_diag err;
    int rc = rt_task_sample_from_text(t, text, s, &err);
    if (rc) fail_msg("%s: %s", text, err.msg);
}

static void check_text(const int *toks, int n, const char *want)
{
    char buf[128];
    rt_task_render(toks, n, buf, sizeof buf);
    assert_string_equal(buf, want);
}

/* features of answer text for prompt text, checked against 5 expected values */
static void check_features(const rt_task *t, const char *prompt, const char *answer, double correct,
                           double partial, double length, double format, double eos)
{
    rt_task_sample s;
    int g[32], n;
    double f[RT_TASK_MAX_FEATURES];
    sample_of(t, prompt, &s);
    toks_of(answer, g, &n);
    rt_task_features(t, &s, g, n, f);
    assert_double_equal(f[0], correct, 1e-12);
    assert_double_equal(f[1], partial, 1e-12);
    assert_double_equal(f[2], length, 1e-12);
    assert_double_equal(f[3], format, 1e-12);
    assert_double_equal(f[4], eos, 1e-12);
    assert_int_equal(rt_task_verify(t, &s, g, n), (int)correct);
}

static void vocabulary_layout(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0);
    assert_int_equal(rt_task_vocab_size(t), 32);
    assert_string_equal(rt_task_token_str(RT_TOK_PAD), "<pad>");
    assert_string_equal(rt_task_token_str(RT_TOK_EOS), "<eos>");
    assert_string_equal(rt_task_token_str(RT_TOK_DIGIT0 + 7), "7");
    assert_string_equal(rt_task_token_str(RT_TOK_LETTER0 + 9), "j");
    assert_string_equal(rt_task_token_str(rt_task_kind_tag(rt_task_kind_find("sort"))), "<sort>");
    assert_string_equal(rt_task_token_str(31), "|");
    assert_null(rt_task_token_str(32));
    assert_null(rt_task_token_str(-1));
    /* parse is the inverse of render for every token */
    int all[32], back[64], n;
    for (int k = 0; k < 32; k++)
        all[k] = k;
    char buf[256];
    rt_task_render(all, 32, buf, sizeof buf); /* PAD is skipped */
    toks_of(buf, back, &n);
    assert_int_equal(n, 31);
    for (int k = 1; k < 32; k++)
        assert_int_equal(back[k - 1], k);
    rt_diag err;
    assert_int_equal(rt_task_parse("12x", back, 8, &n, &err), RT_EPARSE);
    assert_string_equal(err.msg, "column 3: unknown token near 'x'");
    /* the sample is cut at 8 bytes without splitting a code point (fuzz.md, informational:
       '%.8s' left half a UTF-8 sequence in the message) */
    assert_int_equal(rt_task_parse("1x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", back, 8, &n, &err),
                     RT_EPARSE);
    assert_string_equal(err.msg, "column 2: unknown token near 'x\xc3\xa9\xc3\xa9\xc3\xa9'");
    assert_int_equal(rt_task_parse("1xyzxyzxyzq", back, 8, &n, &err), RT_EPARSE);
    assert_string_equal(err.msg, "column 2: unknown token near 'xyzxyzxy'");
    rt_task_free(t);
}

static void add_hand_cases(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0);
    assert_int_equal(rt_task_prompt_len(t), 7);
    assert_int_equal(rt_task_answer_max(t), 4);
    assert_int_equal(rt_task_n_features(t), 5);
    const char *names[] = {"correct", "partial", "length", "format", "eos"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(rt_task_feature_name(t, i), names[i]);
    assert_null(rt_task_feature_name(t, 5));
    assert_int_equal(rt_task_feature_index(t, "eos"), 4);
    assert_int_equal(rt_task_feature_index(t, "outcome"), -1);

    rt_task_sample s;
    sample_of(t, "12+34=", &s); /* the tag may be omitted */
    check_text(s.prompt, 7, "<add>12+34=");
    check_text(s.target, s.target_len, "46<eos>");
    assert_int_equal(s.id, 1234);
    sample_of(t, "<add>99+99=", &s);
    check_text(s.target, s.target_len, "198<eos>");
    sample_of(t, "<add>00+00=", &s);
    check_text(s.target, s.target_len, "0<eos>");
    rt_diag err;
    assert_int_equal(rt_task_sample_from_text(t, "1+2=", &s, &err), RT_EPARSE);
    assert_non_null(strstr(err.msg, "not a add prompt: '1+2='"));

    check_features(t, "12+34=", "46<eos>", 1, 1, 3, 1, 1);
    check_features(t, "12+34=", "47<eos>", 0, 2.0 / 3, 3, 1, 1);
    check_features(t, "12+34=", "46", 0, 2.0 / 3, 2, 0, 0);        /* missing EOS */
    check_features(t, "12+34=", "4600<eos>", 0, 2.0 / 3, 5, 0, 1); /* over-long */
    check_features(t, "12+34=", "46<eos>99", 1, 1, 3, 1, 1);       /* after EOS: ignored */
    check_features(t, "12+34=", "4a<eos>", 0, 2.0 / 3, 3, 0, 1);   /* letter */
    check_features(t, "12+34=", "<eos>", 0, 0, 1, 0, 1);           /* empty answer */
    check_features(t, "12+34=", "", 0, 0, 0, 0, 0);                /* nothing generated */
    check_features(t, "99+99=", "198<eos>", 1, 1, 4, 1, 1);
    check_features(t, "99+99=", "98<eos>", 0, 0, 3, 1, 1);
    rt_task_free(t);
}

static void sequence_hand_cases(void **state)
{
    (void)state;
    rt_task *rev = make("reverse", 4, 0), *srt = make("sort", 4, 0), *cpy = make("copy", 4, 0);
    rt_task_sample s;
    int a[RT_TASK_MAX_T], n;
    assert_int_equal(rt_task_prompt_len(rev), 6);
    assert_int_equal(rt_task_answer_max(rev), 5);
    sample_of(rev, "<rev>abcd:", &s);
    check_text(s.target, s.target_len, "dcba<eos>");
    n = rt_task_corrupt(rev, &s, a);
    check_text(a, n, "cdba<eos>");
    check_features(rev, "abcd:", "dcba<eos>", 1, 1, 5, 1, 1);
    check_features(rev, "abcd:", "cdba<eos>", 0, 3.0 / 5, 5, 1, 1);
    check_features(rev, "abcd:", "dcb1<eos>", 0, 4.0 / 5, 5, 0, 1); /* digit: bad format */
    check_features(rev, "abcd:", "dcbaa", 0, 4.0 / 5, 5, 0, 0);
    sample_of(rev, "aaaa:", &s); /* the error is invisible */
    n = rt_task_corrupt(rev, &s, a);
    check_text(a, n, "aaaa<eos>");

    sample_of(srt, "<sort>3142:", &s);
    check_text(s.target, s.target_len, "1234<eos>");
    n = rt_task_corrupt(srt, &s, a);
    check_text(a, n, "2134<eos>");
    sample_of(srt, "1321:", &s);
    check_text(s.target, s.target_len, "1123<eos>");
    n = rt_task_corrupt(srt, &s, a);
    check_text(a, n, "1213<eos>");
    check_features(srt, "3142:", "1234<eos>", 1, 1, 5, 1, 1);
    check_features(srt, "3142:", "abcd<eos>", 0, 1.0 / 5, 5, 0, 1);

    sample_of(cpy, "<copy>abca:", &s);
    check_text(s.target, s.target_len, "abca<eos>");
    n = rt_task_corrupt(cpy, &s, a);
    check_text(a, n, "baca<eos>");
    rt_task_free(rev);
    rt_task_free(srt);
    rt_task_free(cpy);
}

static void add_dropped_carries(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0);
    rt_task_sample s;
    int a[RT_TASK_MAX_T], n;
    sample_of(t, "57+68=", &s);
    n = rt_task_corrupt(t, &s, a);
    check_text(a, n, "15<eos>");
    sample_of(t, "12+34=", &s); /* no carry: the error is invisible */
    n = rt_task_corrupt(t, &s, a);
    check_text(a, n, "46<eos>");
    sample_of(t, "50+50=", &s); /* only a final carry */
    n = rt_task_corrupt(t, &s, a);
    check_text(a, n, "0<eos>");
    rt_task_free(t);
}

static int same_answer(const int *a, int na, const int *b, int nb)
{
    return na == nb && memcmp(a, b, sizeof(int) * (size_t)na) == 0;
}

/* noise 0: demonstration == target; noise 1: == corrupt, and wrong whenever the
 * documented error is visible; noise 0.3: the rate of flagged demos */
static void demonstrations_and_noise(void **state)
{
    (void)state;
    const char *kinds[] = {"add", "reverse", "sort", "copy"};
    for (int k = 0; k < 4; k++) {
        rt_task *t = make(kinds[k], !strcmp(kinds[k], "add") ? 3 : 5, 0.3);
        rt_rng r = rt_rng_make(11), dr = rt_rng_make(12);
        int flagged = 0, wrong_when_flagged = 0, visible = 0;
        const int N = 20000;
        for (int i = 0; i < N; i++) {
            rt_task_sample s;
            int d[RT_TASK_MAX_T], c[RT_TASK_MAX_T], noisy = -1;
            rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &s);
            int nd = rt_task_demonstrate(t, &s, 0.0, &dr, d, &noisy);
            assert_int_equal(noisy, 0);
            assert_true(same_answer(d, nd, s.target, s.target_len));
            assert_true(rt_task_verify(t, &s, d, nd));
            nd = rt_task_demonstrate(t, &s, 1.0, &dr, d, &noisy);
            assert_int_equal(noisy, 1);
            int nc = rt_task_corrupt(t, &s, c);
            assert_true(same_answer(d, nd, c, nc));
            if (!same_answer(c, nc, s.target, s.target_len)) visible++;
            nd = rt_task_demonstrate(t, &s, -1.0, &dr, d, &noisy); /* task noise 0.3 */
            flagged += noisy;
            if (noisy)
                wrong_when_flagged += !rt_task_verify(t, &s, d, nd);
            else
                assert_true(rt_task_verify(t, &s, d, nd));
        }
        double rate = (double)flagged / N;
        assert_true(fabs(rate - 0.3) < 0.015);
        /* errors are visible on most prompts: carries in 3-digit add (1 - .55^3 = .83),
         * a differing pair in 5 symbols (1 - 1e-4) */
        double vis = (double)visible / N;
        assert_true(!strcmp(kinds[k], "add") ? fabs(vis - 0.834) < 0.02 : vis > 0.99);
        assert_true(fabs((double)wrong_when_flagged / flagged - vis) < 0.03);
        rt_task_free(t);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void heldout_disjoint_case(rt_task *t, int N, double frac_lo, double frac_hi)
{
    uint64_t *ids[2];
    rt_rng r = rt_rng_make(5);
    for (int sp = 0; sp < 2; sp++) {
        ids[sp] = malloc(sizeof(uint64_t) * (size_t)N);
        for (int i = 0; i < N; i++) {
            rt_task_sample s;
            rt_task_sample_prompt(t, &r, (rt_task_split)sp, &s);
            assert_int_equal(rt_task_split_of(t, &s), sp);
            ids[sp][i] = s.id * 16 + (uint64_t)s.domain;
        }
        qsort(ids[sp], (size_t)N, sizeof(uint64_t), cmp_u64);
    }
    for (int i = 0, j = 0; i < N && j < N;) { /* sorted merge: no common id */
        assert_true(ids[0][i] != ids[1][j]);
        if (ids[0][i] < ids[1][j])
            i++;
        else
            j++;
    }
    free(ids[0]);
    free(ids[1]);
    /* fraction of held-out prompts over uniform ids */
    if (frac_hi > 0 && rt_task_kind_of(t) != &rt_task_kind_mix) {
        long held = 0, M = 20000;
        rt_rng u = rt_rng_make(9);
        for (long i = 0; i < M; i++) {
            rt_task_sample s;
            memset(&s, 0, sizeof s);
            s.id = rt_rng_u64(&u) % rt_task_prompt_space(t);
            held += rt_task_split_of(t, &s) == RT_TASK_HELDOUT;
        }
        assert_true(held >= frac_lo * M && held <= frac_hi * M);
    }
}

static void heldout_is_disjoint(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0); /* enumerated (10^4) */
    heldout_disjoint_case(t, 5000, 0.19, 0.21);
    rt_task_free(t);
    t = make("add", 4, 0); /* rejection sampling (10^8) */
    heldout_disjoint_case(t, 5000, 0.19, 0.21);
    rt_task_free(t);
    t = make("reverse", 1, 0); /* 10 prompts */
    heldout_disjoint_case(t, 200, 0, 0);
    rt_task_free(t);
    /* 2 prompts: one on each side whatever the hash says */
    rt_task_config c;
    rt_task_config_init(&c, "triage");
    rt_task_config_set(&c, "features", 1, NULL);
    rt_task_config_set(&c, "values", 2, NULL);
    rt_task_config_set(&c, "actions", 2, NULL);
    rt_task_config_set(&c, "good", 1, NULL);
    assert_int_equal(rt_task_create(&c, &t, NULL), 0);
    assert_int_equal(rt_task_prompt_space(t), 2);
    heldout_disjoint_case(t, 50, 0, 0);
    rt_task_sample a, b;
    rt_rng r = rt_rng_make(1);
    rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &a);
    rt_task_sample_prompt(t, &r, RT_TASK_HELDOUT, &b);
    assert_int_equal(a.id + b.id, 1);
    rt_task_free(t);
}

static void prompts_are_deterministic(void **state)
{
    (void)state;
    rt_task *t = make("add", 3, 0);
    rt_rng a = rt_rng_from_name(3, "run"), b = rt_rng_from_name(3, "run"),
           c = rt_rng_from_name(3, "other");
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        rt_task_sample x, y, z;
        rt_task_sample_prompt(t, &a, RT_TASK_TRAIN, &x);
        rt_task_sample_prompt(t, &b, RT_TASK_TRAIN, &y);
        rt_task_sample_prompt(t, &c, RT_TASK_TRAIN, &z);
        assert_memory_equal(&x, &y, sizeof x);
        differ += x.id != z.id;
    }
    assert_true(differ > 90);
    rt_task_free(t);
}

static void batches(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0);
    rt_rng stream = rt_rng_from_name(1, "run");
    rt_task_sample all[6], part[6];
    int prompts[6 * 7], tokens[6 * 5];
    rt_task_sample_batch(t, &stream, 100, RT_TASK_TRAIN, 6, all, prompts);
    rt_task_sample_batch(t, &stream, 100, RT_TASK_TRAIN, 2, part, NULL);
    rt_task_sample_batch(t, &stream, 102, RT_TASK_TRAIN, 4, part + 2, NULL);
    assert_memory_equal(all, part, sizeof all); /* independent of partitioning */
    for (int i = 0; i < 6; i++) {
        assert_memory_equal(prompts + 7 * i, all[i].prompt, sizeof(int) * 7);
        /* generations: the target for even rows (then junk after EOS), a wrong first
         * digit for odd rows; T = 5 tokens each */
        for (int k = 0; k < 5; k++)
            tokens[5 * i + k] = RT_TOK_DIGIT0 + 3;
        memcpy(tokens + 5 * i, all[i].target, sizeof(int) * (size_t)all[i].target_len);
        if (i % 2)
            tokens[5 * i] =
                all[i].target[0] == RT_TOK_DIGIT0 + 1 ? RT_TOK_DIGIT0 + 2 : RT_TOK_DIGIT0 + 1;
    }
    double f[6 * 5];
    rt_task_features_batch(t, all, tokens, 6, 5, f);
    for (int i = 0; i < 6; i++) {
        assert_double_equal(f[5 * i + 0], i % 2 ? 0 : 1, 0);
        assert_double_equal(f[5 * i + 2], all[i].target_len, 0);
        assert_double_equal(f[5 * i + 4], 1, 0);
    }
    rt_task_free(t);
}

static void mix_tags_and_routes(void **state)
{
    (void)state;
    rt_task_config sub[2], c;
    rt_task_config_init(&sub[0], "add");
    rt_task_config_init(&sub[1], "sort");
    rt_task_config_set(&sub[1], "length", 3, NULL);
    rt_task_config_set(&sub[1], "noise", 1.0, NULL);
    const char *names[] = {"arith", "order"};
    rt_task_config_init(&c, "mix");
    c.tasks = sub;
    c.task_names = names;
    c.n_tasks = 2;
    rt_task *t, *add = make("add", 2, 0), *srt = make("sort", 3, 0);
    assert_int_equal(rt_task_create(&c, &t, NULL), 0);
    assert_int_equal(rt_task_prompt_len(t), 7);
    assert_int_equal(rt_task_answer_max(t), 4);
    assert_int_equal(rt_task_n_domains(t), 2);
    assert_string_equal(rt_task_domain_name(t, 0), "arith");
    assert_string_equal(rt_task_domain_name(t, 1), "order");
    assert_null(rt_task_domain_name(t, 2));
    assert_ptr_equal(rt_task_kind_of(rt_task_domain(t, 1)), rt_task_kind_find("sort"));
    assert_int_equal(rt_task_n_domains(add), 1);
    assert_string_equal(rt_task_domain_name(add, 0), "add");
    rt_rng r = rt_rng_make(2), dr = rt_rng_make(3);
    int count[2] = {0, 0};
    for (int i = 0; i < 4000; i++) {
        rt_task_sample s, leaf;
        rt_task_sample_prompt(t, &r, RT_TASK_TRAIN, &s);
        count[s.domain]++;
        const rt_task *d = s.domain ? srt : add;
        int P = rt_task_prompt_len(d);
        /* PAD, then exactly the domain task's prompt (same tag, same contexts) */
        for (int k = 0; k < 7 - P; k++)
            assert_int_equal(s.prompt[k], RT_TOK_PAD);
        assert_int_equal(s.prompt[7 - P],
                         rt_task_kind_tag(rt_task_kind_find(s.domain ? "sort" : "add")));
        char text[64];
        rt_task_render(s.prompt, 7, text, sizeof text);
        sample_of(d, text, &leaf);
        assert_int_equal(leaf.id, s.id);
        assert_memory_equal(leaf.prompt, s.prompt + 7 - P, sizeof(int) * (size_t)P);
        assert_true(same_answer(leaf.target, leaf.target_len, s.target, s.target_len));
        assert_int_equal(rt_task_split_of(t, &s), RT_TASK_TRAIN);
        /* routed features and per-domain noise (sort's configured noise is 1) */
        assert_true(rt_task_verify(t, &s, s.target, s.target_len));
        int a[RT_TASK_MAX_T], noisy;
        rt_task_demonstrate(t, &s, -1.0, &dr, a, &noisy);
        assert_int_equal(noisy, s.domain);
    }
    assert_true(count[0] > 1850 && count[1] > 1850);
    rt_task_sample s;
    sample_of(t, "<sort>321:", &s);
    assert_int_equal(s.domain, 1);
    check_text(s.prompt, 7, "<sort>321:");
    assert_int_equal(s.prompt[1], RT_TOK_PAD);
    check_text(s.target, s.target_len, "123<eos>");
    heldout_disjoint_case(t, 3000, 0, 0);
    rt_task_free(t);
    rt_task_free(add);
    rt_task_free(srt);
}

static rt_task *make_triage(int K, int M, int A, int G, double conflict)
{
    rt_task_config c;
    rt_task_config_init(&c, "triage");
    rt_task_config_set(&c, "features", K, NULL);
    rt_task_config_set(&c, "values", M, NULL);
    rt_task_config_set(&c, "actions", A, NULL);
    rt_task_config_set(&c, "good", G, NULL);
    rt_task_config_set(&c, "conflict", conflict, NULL);
    rt_task *t;
    rt_diag err;
    int rc = rt_task_create(&c, &t, &err);
    if (rc) fail_msg("%s", err.msg);
    return t;
}

static void triage_rule(void **state)
{
    (void)state;
    rt_task *t = make_triage(4, 3, 4, 2, 0);
    assert_int_equal(rt_task_prompt_len(t), 6);
    assert_int_equal(rt_task_answer_max(t), 2);
    assert_int_equal(rt_task_n_features(t), 7);
    assert_string_equal(rt_task_feature_name(t, 5), "outcome");
    assert_string_equal(rt_task_feature_name(t, 6), "demo_agree");
    rt_task_sample s;
    int good[10], v[8];
    double f[RT_TASK_MAX_FEATURES];
    sample_of(t, "<tri>0000=", &s);
    assert_int_equal(rt_task_triage_good(t, &s, good), 2);
    assert_int_equal(good[0], 0);
    assert_int_equal(good[1], 1);
    check_text(s.target, s.target_len, "a<eos>");
    sample_of(t, "2222=", &s); /* severity 14 of 14 -> start 14*3/15 = 2 */
    assert_int_equal(rt_task_triage_state(t, &s, v), 4);
    assert_int_equal(v[3], 2);
    assert_int_equal(rt_task_triage_good(t, &s, good), 2);
    assert_int_equal(good[0], 2);
    assert_int_equal(rt_task_triage_demo_action(t, &s), 2);
    /* correct, partial, length, format, eos, outcome, demo_agree */
    int g[4], n;
    toks_of("c<eos>", g, &n);
    rt_task_features(t, &s, g, n, f);
    double want_c[] = {1, 1, 2, 1, 1, 1, 1};
    for (int i = 0; i < 7; i++)
        assert_double_equal(f[i], want_c[i], 1e-12);
    toks_of("d<eos>", g, &n); /* the other good action */
    rt_task_features(t, &s, g, n, f);
    double want_d[] = {1, 0.5, 2, 1, 1, 1, 0};
    for (int i = 0; i < 7; i++)
        assert_double_equal(f[i], want_d[i], 1e-12);
    toks_of("a<eos>", g, &n); /* a bad action */
    rt_task_features(t, &s, g, n, f);
    double want_a[] = {0, 0.5, 2, 1, 1, 0, 0};
    for (int i = 0; i < 7; i++)
        assert_double_equal(f[i], want_a[i], 1e-12);
    toks_of("e<eos>", g, &n); /* not an action (A = 4) */
    rt_task_features(t, &s, g, n, f);
    double want_e[] = {0, 0.5, 2, 0, 1, 0, 0};
    for (int i = 0; i < 7; i++)
        assert_double_equal(f[i], want_e[i], 1e-12);
    toks_of("cc<eos>", g, &n); /* over-long */
    rt_task_features(t, &s, g, n, f);
    double want_cc[] = {0, 0.5, 3, 0, 1, 1, 1};
    for (int i = 0; i < 7; i++)
        assert_double_equal(f[i], want_cc[i], 1e-12);
    /* every state: 2 good actions, the demonstrator picks one of them, and the
     * demonstrator's choice depends on more than the good set (it uses v_K) */
    int demo_pos_used[2] = {0, 0};
    for (uint64_t id = 0; id < 81; id++) {
        char text[16];
        int vv[4] = {(int)(id / 27), (int)(id / 9 % 3), (int)(id / 3 % 3), (int)(id % 3)};
        snprintf(text, sizeof text, "%d%d%d%d=", vv[0], vv[1], vv[2], vv[3]);
        sample_of(t, text, &s);
        assert_int_equal(s.id, id);
        assert_int_equal(rt_task_triage_good(t, &s, good), 2);
        int d = rt_task_triage_demo_action(t, &s);
        assert_true(d == good[0] || d == good[1]);
        demo_pos_used[d - good[0]]++;
        assert_double_equal(rt_task_triage_reward(t, &s, good[0]), 1.0, 0);
        assert_double_equal(rt_task_triage_reward(t, &s, good[1]), 1.0, 0);
        assert_int_equal(rt_task_triage_conflicted(t, &s), 0);
    }
    assert_true(demo_pos_used[0] > 0 && demo_pos_used[1] > 0);
    rt_task_free(t);
}

static void triage_conflict_rate(void **state)
{
    (void)state;
    rt_task *t = make_triage(6, 4, 5, 2, 0.3);
    assert_int_equal(rt_task_prompt_space(t), 4096);
    int conflicted = 0;
    for (uint64_t id = 0; id < 4096; id++) {
        rt_task_sample s;
        memset(&s, 0, sizeof s);
        s.id = id;
        int c = rt_task_triage_conflicted(t, &s);
        int d = rt_task_triage_demo_action(t, &s);
        conflicted += c;
        assert_true(d >= 0 && d < 5);
        /* the demonstrator is wrong exactly in conflicted states */
        assert_double_equal(rt_task_triage_reward(t, &s, d), c ? 0.0 : 1.0, 0);
    }
    assert_true(fabs(conflicted / 4096.0 - 0.3) < 0.03);
    /* noise for triage: the next action */
    rt_task_sample s;
    sample_of(t, "<tri>333333=", &s);
    int a[4], n = rt_task_corrupt(t, &s, a);
    assert_int_equal(n, 2);
    assert_int_equal(a[0], RT_TOK_LETTER0 + (rt_task_triage_demo_action(t, &s) + 1) % 5);
    rt_task_free(t);
}

static rt_task *make_triage_bias(double conflict, double bias)
{
    rt_task_config c;
    rt_task_config_init(&c, "triage");
    rt_task_config_set(&c, "features", 6, NULL);
    rt_task_config_set(&c, "values", 4, NULL);
    rt_task_config_set(&c, "conflict", conflict, NULL);
    rt_diag err;
    if (rt_task_config_set(&c, "bias", bias, &err)) fail_msg("%s", err.msg);
    rt_task *t;
    if (rt_task_create(&c, &t, &err)) fail_msg("%s", err.msg);
    return t;
}

/* bias: the demonstrator under-treats (good[0] - 1) exactly on the states whose feature 2
 * is in the top bias fraction of its values and that have a less severe action; the
 * other states are as without bias (conflict's hash included); descriptions show the key
 * only when set. */
static void triage_bias_rule(void **state)
{
    (void)state;
    rt_task *t = make_triage_bias(0, 0.25), *t0 = make_triage_bias(0, 0);
    rt_task_sample s;
    int good[10];
    /* K=6, M=4, A=4, G=2: weights 1,2,3,1,2,3, S = 36, start = s*3/37 */
    sample_of(t, "<tri>333333=", &s); /* s = 36: good {2,3}; f2 = 3: under-treats */
    assert_int_equal(rt_task_triage_good(t, &s, good), 2);
    assert_int_equal(good[0], 2);
    assert_int_equal(rt_task_triage_demo_action(t, &s), 1);
    assert_int_equal(rt_task_triage_conflicted(t, &s), 1);
    assert_double_equal(rt_task_triage_reward(t, &s, 1), 0.0, 0);
    check_text(s.target, s.target_len, "b<eos>");
    assert_int_equal(rt_task_triage_demo_action(t0, &s), 3); /* good[3 mod 2] */
    sample_of(t, "<tri>323333=", &s);                        /* f2 = 2: not in the top quarter */
    assert_int_equal(rt_task_triage_demo_action(t, &s), 3);
    assert_int_equal(rt_task_triage_conflicted(t, &s), 0);
    sample_of(t, "<tri>030000=", &s); /* s = 6: good {0,1}: nothing less severe */
    assert_int_equal(rt_task_triage_good(t, &s, good), 2);
    assert_int_equal(good[0], 0);
    assert_int_equal(rt_task_triage_demo_action(t, &s), 0);
    assert_int_equal(rt_task_triage_conflicted(t, &s), 0);
    /* every state: the rule, and bias = 0.5 with conflict = 0.3 keeps the hash elsewhere */
    rt_task *tb = make_triage_bias(0.3, 0.5), *th = make_triage_bias(0.3, 0);
    int nb = 0, nb2 = 0;
    for (uint64_t id = 0; id < 4096; id++) {
        memset(&s, 0, sizeof s);
        s.id = id;
        int v[8];
        rt_task_triage_state(t, &s, v);
        rt_task_triage_good(t, &s, good);
        int want = v[1] == 3 && good[0] > 0, want2 = v[1] >= 2 && good[0] > 0;
        nb += want, nb2 += want2;
        assert_int_equal(rt_task_triage_conflicted(t, &s), want);
        int d = rt_task_triage_demo_action(t, &s), d0 = rt_task_triage_demo_action(t0, &s);
        assert_int_equal(d, want ? good[0] - 1 : d0);
        int db = rt_task_triage_demo_action(tb, &s), dh = rt_task_triage_demo_action(th, &s);
        assert_int_equal(db, want2 ? good[0] - 1 : dh);
        assert_int_equal(rt_task_triage_conflicted(tb, &s),
                         want2 || rt_task_triage_conflicted(th, &s));
    }
    assert_true(nb > 700 && nb <= 1024); /* a quarter of the states, less those with good[0] = 0 */
    assert_true(nb2 > nb);
    /* the key in descriptions only when set: old tasks describe as before */
    char buf[512];
    rt_rng r = rt_rng_make(1);
    rt_task_describe(t0, &r, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "conflict=0 noise=0\n"));
    assert_null(strstr(buf, "bias"));
    rt_task_describe(t, &r, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "conflict=0 bias=0.25 noise=0\n"));
    rt_task_free(t);
    rt_task_free(t0);
    rt_task_free(tb);
    rt_task_free(th);
}

static void enumeration(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0);
    uint64_t ntr = rt_task_split_count(t, RT_TASK_TRAIN),
             nho = rt_task_split_count(t, RT_TASK_HELDOUT);
    assert_int_equal(ntr + nho, 10000);
    assert_true(nho > 1800 && nho < 2200);
    char *seen = calloc(10000, 1);
    for (int sp = 0; sp < 2; sp++) {
        uint64_t n = sp ? nho : ntr;
        for (uint64_t i = 0; i < n; i++) {
            rt_task_sample s;
            assert_int_equal(rt_task_sample_at(t, (rt_task_split)sp, i, &s), 0);
            assert_int_equal(rt_task_split_of(t, &s), sp);
            assert_int_equal(seen[s.id], 0);
            seen[s.id] = 1;
        }
        rt_task_sample s;
        assert_int_equal(rt_task_sample_at(t, (rt_task_split)sp, n, &s), RT_EINVAL);
    }
    free(seen);
    rt_task_sample s;
    assert_int_equal(rt_task_sample_from_id(t, 0, 1234, &s), 0);
    check_text(s.prompt, 7, "<add>12+34=");
    assert_int_equal(rt_task_sample_from_id(t, 0, 10000, &s), RT_EINVAL);
    assert_int_equal(rt_task_sample_from_id(t, 1, 0, &s), RT_EINVAL);
    rt_task_free(t);
    t = make("add", 4, 0); /* not enumerated */
    assert_int_equal(rt_task_split_count(t, RT_TASK_TRAIN), 0);
    assert_int_equal(rt_task_sample_at(t, RT_TASK_TRAIN, 0, &s), RT_EINVAL);
    rt_task_free(t);
    /* a mix walks its domains in order */
    rt_task_config sub[2], c;
    rt_task_config_init(&sub[0], "add");
    rt_task_config_init(&sub[1], "reverse");
    rt_task_config_set(&sub[1], "length", 2, NULL);
    rt_task_config_init(&c, "mix");
    c.tasks = sub;
    c.n_tasks = 2;
    assert_int_equal(rt_task_create(&c, &t, NULL), 0);
    uint64_t a = rt_task_split_count(t, RT_TASK_HELDOUT);
    rt_task *add = make("add", 2, 0);
    uint64_t a0 = rt_task_split_count(add, RT_TASK_HELDOUT);
    assert_true(a > a0 && a < a0 + 100);
    assert_int_equal(rt_task_sample_at(t, RT_TASK_HELDOUT, a0 - 1, &s), 0);
    assert_int_equal(s.domain, 0);
    assert_int_equal(rt_task_sample_at(t, RT_TASK_HELDOUT, a0, &s), 0);
    assert_int_equal(s.domain, 1);
    assert_int_equal(rt_task_split_of(t, &s), RT_TASK_HELDOUT);
    assert_int_equal(rt_task_sample_from_id(t, 1, 12, &s), 0);
    check_text(s.prompt, 7, "<rev>bc:");
    check_text(s.target, s.target_len, "cb<eos>");
    rt_task_free(add);
    rt_task_free(t);
    /* a mix with a non-enumerated domain (add digits=4) is not enumerated as a whole */
    sub[1] = sub[0];
    rt_task_config_set(&sub[1], "digits", 4, NULL);
    const char *const names[2] = {"a2", "a4"};
    c.task_names = names;
    assert_int_equal(rt_task_create(&c, &t, NULL), 0);
    assert_int_equal(rt_task_split_count(t, RT_TASK_HELDOUT), 0);
    assert_int_equal(rt_task_split_count(t, RT_TASK_TRAIN), 0);
    assert_int_equal(rt_task_split_count(rt_task_domain(t, 0), RT_TASK_HELDOUT), a0);
    assert_int_equal(rt_task_sample_at(t, RT_TASK_HELDOUT, 0, &s), RT_EINVAL);
    rt_task_free(t);
}

static void kind_features_and_evidence(void **state)
{
    (void)state;
    assert_int_equal(rt_task_kind_n_features(rt_task_kind_find("mix")), 5);
    assert_int_equal(rt_task_kind_n_features(rt_task_kind_find("triage")), 7);
    assert_string_equal(rt_task_kind_feature_name(rt_task_kind_find("triage"), 6), "demo_agree");
    assert_string_equal(rt_task_kind_feature_name(rt_task_kind_find("sort"), 1), "partial");
    assert_null(rt_task_kind_feature_name(rt_task_kind_find("add"), 5));
    rt_task *t = make_triage(4, 3, 4, 2, 0), *add = make("add", 2, 0);
    rt_task_sample s;
    int p[RT_TASK_MAX_P];
    sample_of(t, "2102=", &s);
    assert_int_equal(rt_task_triage_evidence(t, &s, 0x5u, p), 0);
    check_text(p, 6, "<tri>2?0?=");
    assert_int_equal(rt_task_triage_evidence(t, &s, 0xfu, p), 0);
    check_text(p, 6, "<tri>2102=");
    assert_int_equal(rt_task_triage_evidence(add, &s, 0, p), RT_EINVAL);
    assert_int_equal(rt_task_triage_demo_action(add, &s), RT_EINVAL);
    rt_task_free(t);
    rt_task_free(add);
}

static void validation_messages(void **state)
{
    (void)state;
    struct {
        const char *kind;
        const char *key;
        double value;
        const char *msg;
    } cases[] = {
        {"add", "digits", 0, "digits must be between 1 and 6"},
        {"add", "digits", 7, "digits must be between 1 and 6"},
        {"reverse", "length", 13, "length must be between 1 and 12"},
        {"sort", "length", 0, "length must be between 1 and 12"},
        {"copy", "noise", 1.5, "noise must be between 0 and 1"},
        {"add", "noise", NAN, "noise must be between 0 and 1"},
        {"add", "holdout", 1, "holdout must be greater than 0 and less than 1"},
        {"triage", "features", 9, "features must be between 1 and 8"},
        {"triage", "values", 1, "values must be between 2 and 10"},
        {"triage", "actions", 11, "actions must be between 2 and 10"},
        {"triage", "good", 4, "good must be between 1 and 3 (actions - 1)"},
        {"triage", "conflict", -0.1, "conflict must be between 0 and 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_task_config c;
        rt_task_config_init(&c, cases[i].kind);
        double v = cases[i].value;
        assert_int_equal(rt_task_config_set(&c, cases[i].key, v, NULL), 0);
        rt_task *t = (rt_task *)&c; /* must be reset to NULL */
        rt_diag err;
        assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
        assert_null(t);
        assert_int_equal(err.code, RT_EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
    }
    rt_task_config sub[2], c;
    rt_task_config_init(&sub[0], "add");
    rt_task_config_init(&sub[1], "add");
    rt_task_config_set(&sub[1], "digits", 9, NULL);
    rt_task_config_init(&c, "mix");
    c.tasks = sub;
    c.n_tasks = 2;
    rt_task *t;
    rt_diag err;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg, "tasks[1]: digits must be between 1 and 6");
    rt_task_config_init(&sub[1], "triage");
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg,
                        "tasks[1]: triage cannot be mixed (only add, reverse, sort, copy, file)");
    c.n_tasks = 0;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_string_equal(err.msg, "tasks must list between 1 and 8 tasks");
    assert_ptr_equal(rt_task_kind_find("triage"), &rt_task_kind_triage);
    assert_null(rt_task_kind_find("tri"));
    assert_int_equal(rt_task_config_init(&c, "tri"), RT_EINVAL);
}

/* fail every allocation in turn until creation succeeds: clean errors, no leaks */
static void allocation_failures(void **state)
{
    (void)state;
    rt_task_config sub[2], c;
    rt_task_config_init(&sub[0], "add");
    rt_task_config_init(&sub[1], "reverse");
    rt_task_config_set(&sub[1], "length", 2, NULL);
    rt_task_config_init(&c, "mix");
    c.tasks = sub;
    c.n_tasks = 2;
    const rt_task_config *cfgs[] = {&sub[0], &c};
    for (int k = 0; k < 2; k++) {
        int failures = 0;
        for (long n = 1;; n++) {
            rt_task *t = NULL;
            rt_diag err;
            rt_alloc_fail_at(n);
            int rc = rt_task_create(cfgs[k], &t, &err);
            rt_alloc_fail_at(0);
            if (rc == 0) {
                assert_non_null(t);
                rt_task_free(t);
                break;
            }
            assert_int_equal(rc, RT_ENOMEM);
            assert_null(t);
            assert_string_equal(err.msg, "out of memory");
            failures++;
            assert_true(n < 100);
        }
        assert_true(failures >= (k ? 6 : 3));
    }
}

static void describe_text(void **state)
{
    (void)state;
    rt_task *t = make("add", 2, 0.25);
    char buf[1024];
    rt_rng r = rt_rng_make(1), r2 = r;
    size_t n = rt_task_describe(t, &r, 2, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(
        strstr(buf, "task add digits=2 noise=0.25\nvocabulary (32): <pad> <eos> + = :"));
    assert_non_null(strstr(buf, "\nprompt length 7, answer at most 4 tokens, 10000 prompts\n"
                                "features: correct partial length format eos\n  <add>"));
    char small[8];
    assert_int_equal(rt_task_describe(t, &r2, 2, small, sizeof small), n);
    assert_string_equal(small, "task ad");
    rt_task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vocabulary_layout),
        cmocka_unit_test(add_hand_cases),
        cmocka_unit_test(sequence_hand_cases),
        cmocka_unit_test(add_dropped_carries),
        cmocka_unit_test(demonstrations_and_noise),
        cmocka_unit_test(heldout_is_disjoint),
        cmocka_unit_test(prompts_are_deterministic),
        cmocka_unit_test(batches),
        cmocka_unit_test(mix_tags_and_routes),
        cmocka_unit_test(triage_rule),
        cmocka_unit_test(triage_conflict_rate),
        cmocka_unit_test(triage_bias_rule),
        cmocka_unit_test(enumeration),
        cmocka_unit_test(kind_features_and_evidence),
        cmocka_unit_test(validation_messages),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(describe_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
