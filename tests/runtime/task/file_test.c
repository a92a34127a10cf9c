/* file_test.c: file-backed tasks (rt_task_data.h, kind file): the same rows in every
 * format give the same task (tokens, split, digest, samples); the own vocabulary's
 * order; the split by hash (fixed counts, independent of row order) and by column; both
 * noise rules; texts; mixes with a shared vocabulary; sample_from_text; every bad input
 * with its PATH:LINE:COL and key; the three shipped files of notebooks/data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_task.h"
#include "rt_task_data.h"

/* the same eight rows in each format (CSV quoting, UTF-8, a space, a quote) */
static const char *CSV = "prompt,answer\n"
                         "ab,ba\n"
                         "\"a,b\",\"b,a\"\n"
                         "\"say \"\"hi\"\"\",\"ih\"\" yas\"\n"
                         "h\xc3\xa9llo,oll\xc3\xa9h\n"
                         "x y,y x\n"
                         "zz,zz\n"
                         "abc,cba\r\n"
                         "q,q";
static const char *TSV = "prompt\tanswer\nab\tba\na,b\tb,a\nsay \"hi\"\tih\" yas\n"
                         "h\xc3\xa9llo\toll\xc3\xa9h\nx y\ty x\nzz\tzz\nabc\tcba\nq\tq\n";
static const char *JSONL = "{\"prompt\": \"ab\", \"answer\": \"ba\"}\n"
                           "{\"prompt\": \"a,b\", \"answer\": \"b,a\"}\n"
                           "{\"prompt\": \"say \\\"hi\\\"\", \"answer\": \"ih\\\" yas\"}\n"
                           "{\"prompt\": \"h\\u00e9llo\", \"answer\": \"oll\xc3\xa9h\"}\n"
                           "{\"prompt\": \"x y\", \"answer\": \"y x\"}\n"
                           "{\"prompt\": \"zz\", \"answer\": \"zz\"}\n"
                           "{\"prompt\": \"abc\", \"answer\": \"cba\"}\n"
                           "{\"prompt\": \"q\", \"answer\": \"q\"}\n";
static const char *TRL = "{\"messages\": [{\"role\": \"user\", \"content\": \"ab\"}, {\"role\": "
                         "\"assistant\", \"content\": \"ba\"}]}\n"
                         "{\"prompt\": \"a,b\", \"completion\": \"b,a\"}\n"
                         "{\"prompt\": \"say \\\"hi\\\"\", \"completion\": \"ih\\\" yas\"}\n"
                         "{\"prompt\": \"h\xc3\xa9llo\", \"completion\": \"oll\xc3\xa9h\"}\n"
                         "{\"prompt\": \"x y\", \"completion\": \"y x\"}\n"
                         "{\"prompt\": \"zz\", \"completion\": \"zz\"}\n"
                         "{\"prompt\": \"abc\", \"completion\": \"cba\"}\n"
                         "{\"prompt\": \"q\", \"completion\": \"q\"}\n";
static const char *VERL =
    "{\"data_source\": \"rev\", \"prompt\": [{\"role\": \"user\", \"content\": \"ab\"}], "
    "\"reward_model\": {\"ground_truth\": \"ba\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"a,b\", \"reward_model\": {\"ground_truth\": "
    "\"b,a\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"say \\\"hi\\\"\", \"reward_model\": "
    "{\"ground_truth\": \"ih\\\" yas\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"h\xc3\xa9llo\", \"reward_model\": "
    "{\"ground_truth\": \"oll\xc3\xa9h\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"x y\", \"reward_model\": {\"ground_truth\": \"y "
    "x\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"zz\", \"reward_model\": {\"ground_truth\": \"zz\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"abc\", \"reward_model\": {\"ground_truth\": "
    "\"cba\"}}\n"
    "{\"data_source\": \"rev\", \"prompt\": \"q\", \"reward_model\": {\"ground_truth\": \"q\"}}\n";

static rt_task_file_opts opts(void)
{
    rt_task_file_opts o;
    memset(&o, 0, sizeof o);
    o.holdout = 0.25;
    return o;
}

static rt_task_data *parse(const rt_task_file_opts *o, const char *name, const char *buf)
{
    rt_task_data *d = NULL;
    rt_diag err = {0};
    int rc = rt_task_data_parse(o, name, buf, strlen(buf), &d, &err);
    if (rc) fail_msg("%s: %d %s (key %s)", name, rc, err.msg, err.key);
    return d;
}

static rt_task *task_of(const rt_task_data *d, double noise)
{
    rt_task_config c;
    rt_task_config_init(&c, "file");
    c.data = d;
    c.values[0] = noise;
    rt_task *t = NULL;
    rt_diag err = {0};
    if (rt_task_create(&c, &t, &err)) fail_msg("create: %s", err.msg);
    return t;
}

/* every format gives the same task: tokens, split, digest, samples */
static void formats_agree(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    const char *bufs[5] = {CSV, TSV, JSONL, TRL, VERL};
    const char *names[5] = {"t.csv", "t.tsv", "t.jsonl", "t.jsonl", "t.jsonl"};
    rt_task_data *d0 = parse(&o, names[0], bufs[0]);
    rt_task *t0 = task_of(d0, 0);
    for (int f = 1; f < 5; f++) {
        o.format = f == 4 ? RT_ROWS_VERL : RT_ROWS_AUTO;
        rt_task_data *d = parse(&o, names[f], bufs[f]);
        assert_int_equal(rt_task_data_rows(d), 8);
        assert_true(rt_task_data_digest(d) == rt_task_data_digest(d0));
        rt_task *t = task_of(d, 0);
        rt_task_data_free(d); /* the task keeps its reference */
        assert_int_equal(rt_task_prompt_len(t), rt_task_prompt_len(t0));
        assert_int_equal(rt_task_answer_max(t), rt_task_answer_max(t0));
        rt_rng a = rt_rng_make(7), b = rt_rng_make(7);
        for (int i = 0; i < 20; i++) {
            rt_task_sample x, y;
            rt_task_split s = i & 1 ? RT_TASK_HELDOUT : RT_TASK_TRAIN;
            rt_task_sample_prompt(t0, &a, s, &x);
            rt_task_sample_prompt(t, &b, s, &y);
            assert_memory_equal(&x, &y, sizeof x);
        }
        rt_task_free(t);
    }
    /* an explicit token table (what %load restores) gives the same task */
    rt_task_file_opts ot = opts();
    ot.vocab_tokens = rt_task_data_tokens(d0);
    ot.n_vocab_tokens = rt_task_data_vocab_size(d0);
    rt_task_data *dt = parse(&ot, "t.jsonl", JSONL);
    assert_true(rt_task_data_digest(dt) == rt_task_data_digest(d0));
    assert_string_equal(rt_task_data_vocab_name(dt), "restored");
    rt_task_data_free(dt);
    /* the column names of each */
    o.format = RT_ROWS_AUTO;
    rt_task_data *d = parse(&o, "t.jsonl", TRL);
    assert_string_equal(rt_task_data_answer_column(d), "completion");
    rt_task_data_free(d);
    rt_task_free(t0);
    rt_task_data_free(d0);
}

/* own vocabulary: <pad> <eos> then code points in order; P, T; the hash split */
static void vocab_and_split(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    rt_task_data *d = parse(&o, "t.csv", CSV);
    const char *want[] = {"<pad>", "<eos>", " ", "\"", ",", "a", "b", "c", "h",
                          "i",     "l",     "o", "q",  "s", "x", "y", "z", "\xc3\xa9"};
    assert_int_equal(rt_task_data_vocab_size(d), 18);
    for (int i = 0; i < 18; i++)
        assert_string_equal(rt_task_data_tokens(d)[i], want[i]);
    assert_null(rt_task_data_vocab_name(d));
    assert_int_equal(rt_task_data_P(d), 8); /* say "hi" */
    assert_int_equal(rt_task_data_T(d), 8);
    /* the hash split with holdout 0.25: fixed counts and first held-out row; u of the
       other prompts: ab 0.674, a,b 0.896, say "hi" 0.809, héllo 0.2504, x y 0.587, q 0.678 */
    int first = -1;
    for (int r = 0; r < 8 && first < 0; r++)
        if (rt_task_data_split_of(d, r) == RT_TASK_HELDOUT) first = r;
    assert_int_equal(rt_task_data_count(d, RT_TASK_TRAIN), 6);
    assert_int_equal(rt_task_data_count(d, RT_TASK_HELDOUT), 2);
    assert_int_equal(first, 5); /* u(zz) = 0.2157, u(abc) = 0.1636 (checked in Python) */
    /* row order does not matter: the same prompts are held out */
    const char *rev = "prompt,answer\nq,q\nabc,cba\nzz,zz\nx y,y x\nh\xc3\xa9llo,oll\xc3\xa9h\n"
                      "\"say \"\"hi\"\"\",\"ih\"\" yas\"\n\"a,b\",\"b,a\"\nab,ba\n";
    rt_task_data *e = parse(&o, "r.csv", rev);
    for (int r = 0; r < 8; r++)
        assert_int_equal(rt_task_data_split_of(e, 7 - r), rt_task_data_split_of(d, r));
    /* tiny files get both sides */
    rt_task_file_opts o2 = opts();
    o2.holdout = 0.01;
    rt_task_data *t2 = parse(&o2, "two.csv", "prompt,answer\nab,ba\ncd,dc\n");
    assert_int_equal(rt_task_data_count(t2, RT_TASK_TRAIN), 1);
    assert_int_equal(rt_task_data_count(t2, RT_TASK_HELDOUT), 1);
    rt_task_data_free(t2);
    /* the task: prompts left-padded, no tag, target with EOS; held-out never trains */
    rt_task *t = task_of(d, 0);
    assert_int_equal(rt_task_vocab_size(t), 18);
    assert_string_equal(rt_task_token(t, 17), "\xc3\xa9");
    assert_null(rt_task_token(t, 18));
    rt_task_sample s;
    assert_int_equal(rt_task_sample_from_id(t, 0, 0, &s), 0);
    int p[8] = {0, 0, 0, 0, 0, 0, 5, 6}, a[3] = {6, 5, 1};
    assert_memory_equal(s.prompt, p, sizeof p);
    assert_int_equal(s.target_len, 3);
    assert_memory_equal(s.target, a, sizeof a);
    assert_int_equal(rt_task_split_count(t, RT_TASK_HELDOUT), 2);
    rt_rng r = rt_rng_make(3);
    for (int i = 0; i < 50; i++) {
        rt_task_sample_prompt(t, &r, RT_TASK_HELDOUT, &s);
        assert_int_equal(rt_task_data_split_of(d, (int)s.id), RT_TASK_HELDOUT);
        assert_int_equal(rt_task_split_of(t, &s), RT_TASK_HELDOUT);
    }
    /* features: format's answer tokens are the answers' */
    double f[8];
    int g[3] = {6, 5, 1};
    assert_int_equal(rt_task_sample_from_id(t, 0, 0, &s), 0);
    rt_task_features(t, &s, g, 3, f);
    assert_true(f[0] == 1 && f[3] == 1);
    g[0] = 12; /* q occurs in an answer */
    rt_task_features(t, &s, g, 3, f);
    assert_true(f[0] == 0 && f[3] == 1);
    g[0] = 8; /* h occurs in "olléh" and "ih\" yas" */
    g[1] = 0; /* PAD is no answer token */
    rt_task_features(t, &s, g, 3, f);
    assert_true(f[3] == 0);
    rt_task_free(t);
    rt_task_data_free(e);
    rt_task_data_free(d);
}

static void split_by_column(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    o.split = "part";
    rt_task_data *d =
        parse(&o, "s.csv", "prompt,answer,part\nab,ba,train\ncd,dc,TEST\nef,fe,train\ngh,hg,dev\n");
    assert_int_equal(rt_task_data_count(d, RT_TASK_TRAIN), 2);
    assert_int_equal(rt_task_data_count(d, RT_TASK_HELDOUT), 2);
    assert_int_equal(rt_task_data_split_of(d, 1), RT_TASK_HELDOUT);
    assert_string_equal(rt_task_data_split_column(d), "part");
    assert_int_equal(rt_task_data_n_texts(d), 0); /* the split column is not a text */
    rt_task *t = task_of(d, 0);
    char buf[2048];
    rt_rng r = rt_rng_make(1);
    rt_task_describe(t, &r, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "task file s.csv (4 rows: 2 train, 2 held out; split by column "
                                "part) noise=0 noise_rule=swap"));
    rt_task_free(t);
    rt_task_data_free(d);
}

static void noise_rules(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    rt_task_data *d = parse(&o, "t.csv", CSV);
    rt_task *t = task_of(d, 1);
    rt_task_sample s;
    int ans[RT_TASK_MAX_T], noisy;
    rt_task_texts tx;
    /* swap: "ba" -> "ab"; "zz" has no differing pair */
    rt_task_sample_from_id(t, 0, 0, &s);
    rt_rng r = rt_rng_make(1);
    int n = rt_task_demonstrate(t, &s, -1, &r, ans, &noisy);
    assert_int_equal(noisy, 1);
    rt_task_texts_of(t, &s, ans, n, &tx);
    assert_string_equal(tx.buf[0], "ab");
    rt_task_sample_from_id(t, 0, 5, &s);
    n = rt_task_corrupt(t, &s, ans);
    assert_memory_equal(ans, s.target, sizeof(int) * (size_t)n);
    char buf[256];
    rt_task_describe_noise(t, buf, sizeof buf);
    assert_string_equal(buf, "noise_rule=swap: 'ab' -> 'ba' is demonstrated as 'ab'");
    rt_task_free(t);
    rt_task_data_free(d);
    /* label: the next distinct answer in byte order, cyclically */
    o.noise_rule = RT_TASK_NOISE_LABEL;
    d = parse(&o, "t.csv", CSV);
    t = task_of(d, 1);
    const char *from[] = {"ba", "zz", "b,a", "q"}, *to[] = {"cba", "b,a", "ba", "y x"};
    for (int i = 0; i < 4; i++) {
        int row = -1;
        for (int k = 0; k < 8; k++)
            if (!strcmp(rt_task_data_answer(d, k), from[i])) row = k;
        rt_task_sample_from_id(t, 0, (uint64_t)row, &s);
        n = rt_task_corrupt(t, &s, ans);
        rt_task_texts_of(t, &s, ans, n, &tx);
        assert_string_equal(tx.buf[0], to[i]);
    }
    assert_int_equal(rt_task_data_noise_rule(d), RT_TASK_NOISE_LABEL);
    rt_task_free(t);
    /* invisible with one distinct answer */
    rt_task_data *one = parse(&o, "one.csv", "prompt,answer\na,x\nb,x\nc,x\n");
    t = task_of(one, 1);
    rt_task_describe_noise(t, buf, sizeof buf);
    assert_non_null(strstr(buf, "never visible"));
    assert_true(rt_task_data_digest(one) != rt_task_data_digest(d));
    rt_task_free(t);
    rt_task_data_free(one);
    rt_task_data_free(d);
}

static void texts(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    rt_task_data *d = parse(&o, "x.jsonl",
                            "{\"prompt\": \"ab\", \"answer\": \"ba\", \"extra_info\": {\"split\": "
                            "\"x\"}, \"n\": 3, \"correct\": 1, \"t\": \"u\"}\n"
                            "{\"prompt\": \"cd\", \"answer\": \"dc\", \"n\": -2.5e1, \"t\": 4}\n");
    rt_task *t = task_of(d, 0);
    assert_int_equal(rt_task_n_texts(t), 6);
    const char *names[] = {"answer", "target", "prompt", "extra_info_split", "n", "t"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(rt_task_text_name(t, i), names[i]);
    assert_null(rt_task_text_name(t, 6));
    assert_false(rt_task_text_numeric(t, 1));
    assert_false(rt_task_text_numeric(t, 3));
    assert_true(rt_task_text_numeric(t, 4));
    assert_false(rt_task_text_numeric(t, 5)); /* a string in one row */
    assert_int_equal(rt_task_data_n_left_out(d), 1);
    assert_string_equal(rt_task_data_left_out(d, 0), "correct");
    rt_task_sample s;
    rt_task_sample_from_id(t, 0, 1, &s);
    int g[4] = {s.target[1], s.target[0], RT_TOK_EOS, s.target[0]};
    rt_task_texts tx;
    rt_task_texts_of(t, &s, g, 4, &tx);
    assert_int_equal(tx.n, 6);
    const char *want[] = {"cd", "dc", "cd", "", "-2.5e1", "4"};
    for (int i = 0; i < 6; i++)
        assert_true(tx.v[i].n == strlen(want[i]) && !memcmp(tx.v[i].s, want[i], tx.v[i].n));
    char buf[2048];
    rt_rng r = rt_rng_make(1);
    rt_task_describe(t, &r, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "texts: answer target prompt extra_info_split n (numeric) t\n"));
    assert_non_null(strstr(buf, "correct"));
    rt_task_free(t);
    rt_task_data_free(d);
    /* a built-in task: answer, target, prompt rendered */
    rt_task_config c;
    rt_task_config_parse(&c, "add digits=2", NULL);
    rt_task_create(&c, &t, NULL);
    rt_task_sample_from_text(t, "12+34=", &s, NULL);
    int h[3] = {5 + 4, 5 + 6, RT_TOK_EOS};
    rt_task_texts_of(t, &s, h, 3, &tx);
    assert_int_equal(tx.n, 3);
    assert_string_equal(tx.buf[0], "46");
    assert_string_equal(tx.buf[1], "46");
    assert_string_equal(tx.buf[2], "<add>12+34=");
    char nb[256];
    rt_task_describe_noise(t, nb, sizeof nb); /* dropped carries: the first visible one */
    assert_non_null(strstr(nb, "noise: '<add>"));
    assert_non_null(strstr(nb, "' is demonstrated as '"));
    rt_task_free(t);
}

static void mixes_and_text(void **state)
{
    (void)state;
    rt_task_config add;
    rt_task_config_parse(&add, "add digits=2", NULL);
    rt_task *addt = NULL;
    rt_task_create(&add, &addt, NULL);
    rt_task_file_opts o = opts();
    o.vocab = addt;
    o.vocab_name = "add";
    rt_task_data *d = parse(&o, "sum.csv", "prompt,answer\n1+1=,2\n12+30=,42\n7+8=,15\n9+9=,18\n");
    assert_string_equal(rt_task_data_vocab_name(d), "add");
    rt_task *t = task_of(d, 0);
    assert_int_equal(rt_task_vocab_size(t), 32);
    rt_task_sample s;
    rt_diag err = {0};
    assert_int_equal(rt_task_sample_from_text(t, "12+30=", &s, &err), 0);
    assert_int_equal((int)s.id, 1);
    assert_int_equal(rt_task_sample_from_text(t, "12 + 30 =", &s, &err), 0); /* by tokens */
    assert_int_equal((int)s.id, 1);
    assert_int_equal(rt_task_sample_from_text(t, "3+3=", &s, &err), RT_EPARSE);
    assert_non_null(strstr(err.msg, "not a file prompt: '3+3='"));
    /* a mix with add: one vocabulary */
    rt_task_config dom[2], mix;
    dom[0] = add;
    rt_task_config_init(&dom[1], "file");
    dom[1].data = d;
    const char *names[2] = {"add", "sum"};
    rt_task_config_init(&mix, "mix");
    mix.tasks = dom;
    mix.task_names = names;
    mix.n_tasks = 2;
    rt_task *m = NULL;
    assert_int_equal(rt_task_create(&mix, &m, &err), 0);
    assert_int_equal(rt_task_vocab_size(m), 32);
    assert_int_equal(rt_task_prompt_len(m), 7);
    assert_int_equal(rt_task_sample_from_text(m, "7+8=", &s, &err), 0);
    assert_int_equal(s.domain, 1);
    int p[7] = {0, 0, 0, 12, 2, 13, 3};
    assert_memory_equal(s.prompt, p, sizeof p);
    assert_int_equal(rt_task_sample_from_text(m, "<add>12+34=", &s, &err), 0);
    assert_int_equal(s.domain, 0);
    rt_task_free(m);
    /* an own-vocabulary domain is refused */
    rt_task_file_opts o2 = opts();
    rt_task_data *u = parse(&o2, "u.csv", "prompt,answer\n1 m,100 cm\n2 m,200 cm\n");
    dom[1].data = u;
    names[1] = "units";
    assert_int_equal(rt_task_create(&mix, &m, &err), RT_EINVAL);
    assert_string_equal(err.msg, "tasks[1]: 'units' has its own vocabulary (8 tokens); a mix "
                                 "needs one vocabulary (define it with vocab=add)");
    assert_null(m);
    rt_task_free(t);
    rt_task_data_free(u);
    rt_task_data_free(d);
    rt_task_free(addt);
}

/* one bad input: its code, key and message */
static void bad(const rt_task_file_opts *o, const char *name, const char *buf, int code,
                const char *key, const char *msg)
{
    rt_task_data *d = (rt_task_data *)1;
    rt_diag err = {0};
    int rc = rt_task_data_parse(o, name, buf, strlen(buf), &d, &err);
    if (rc != code || strcmp(err.key, key) || !strstr(err.msg, msg))
        fail_msg("%s: got %d key '%s' msg '%s'; expected %d '%s' '%s'", name, rc, err.key, err.msg,
                 code, key, msg);
    assert_null(d);
}

static void bad_inputs(void **state)
{
    (void)state;
    rt_task_file_opts o = opts();
    rt_task_data *d = (rt_task_data *)1;
    rt_diag err = {0};
    o.path = "/nonexistent/x.csv";
    assert_int_equal(rt_task_data_load(&o, &d, &err), RT_ENOENT);
    assert_string_equal(err.key, "file");
    assert_string_equal(err.msg, "/nonexistent/x.csv: no such file");
    assert_null(d);
    o.path = NULL;
    bad(&o, "t.csv", "prompt,answer\n\xff,a\n", RT_EPARSE, "file", "t.csv:2:1: ");
    bad(&o, "t.jsonl", "{\"prompt\": \"a\", \"answer\": \"b\"}\n{\"answer\": \"c\"}\n", RT_EINVAL,
        "prompt", "t.jsonl:2:1: row has no 'prompt' (the prompt)");
    bad(&o, "t.csv", "prompt,answer\nab,ba\n,a\n", RT_EINVAL, "prompt",
        "t.csv:3:1: empty prompt ('prompt')");
    bad(&o, "t.csv", "prompt,answer\nab,ba\nb,\n", RT_EINVAL, "answer",
        "t.csv:3:3: empty answer ('answer')");
    bad(&o, "t.csv", "prompt,answer\nab,ba\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,a\n",
        RT_ELIMIT, "prompt", "t.csv:3:1: the prompt is 40 tokens; prompts may be at most 32");
    bad(&o, "t.csv", "prompt,answer\nab,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", RT_ELIMIT, "answer",
        "t.csv:2:4: the answer is 32 tokens; answers may be at most 31");
    bad(&o, "t.csv", "prompt,answer\nab,ba\ncd,dc\nab,x\n", RT_EINVAL, "prompt",
        "t.csv:4:1: line 4 repeats the prompt of line 2");
    bad(&o, "t.csv", "", RT_EPARSE, "file", "empty file");
    bad(&o, "t.csv", "prompt,answer\nab\n", RT_EPARSE, "file", "t.csv:2:");
    bad(&o, "t.txt", "prompt,answer\nab,ba\n", RT_EINVAL, "format", "t.txt: ");
    bad(&o, "t.csv", "text,answer\nab,ba\n", RT_ENOTFOUND, "prompt", "no prompt column");
    o.prompt = "qustion";
    bad(&o, "t.csv", "question,answer\nab,ba\n", RT_ENOTFOUND, "prompt", "did you mean 'question'");
    o.prompt = NULL;
    o.split = "part";
    bad(&o, "t.csv", "prompt,answer,part\nab,ba,train\ncd,dc,tst\n", RT_EINVAL, "split",
        "t.csv:3:7: split value 'tst' is neither train nor test");
    bad(&o, "t.csv", "prompt,answer,part\nab,ba,train\ncd,dc,train\n", RT_EINVAL, "split",
        "t.csv: the split column 'part' has no held-out rows");
    bad(&o, "t.csv", "prompt,answer\nab,ba\n", RT_ENOTFOUND, "split", "no column 'part'");
    o.split = NULL;
    rt_task_config add;
    rt_task_config_parse(&add, "add digits=2", NULL);
    rt_task *addt = NULL;
    rt_task_create(&add, &addt, NULL);
    o.vocab = addt;
    o.vocab_name = "add";
    bad(&o, "t.csv", "prompt,answer\n1+1=,2\n12+\xc3\xa9=,3\n", RT_EINVAL, "vocab",
        "t.csv:3:4: '\xc3\xa9' is not in the vocabulary of task add");
    bad(&o, "t.csv", "prompt,answer\n1+1=,2\n1 + 2=,3\n", RT_EINVAL, "vocab",
        "t.csv:3:2: ' ' is not in the vocabulary of task add");
    o.vocab = NULL;
    rt_task_free(addt);
    /* more than 65536 rows */
    size_t cap = 16u << 20, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    len += (size_t)snprintf(big, cap, "prompt,answer\n");
    for (int i = 0; i < 65537; i++)
        len += (size_t)snprintf(big + len, cap - len, "p%d,a\n", i);
    bad(&o, "big.csv", big, RT_ELIMIT, "file", "big.csv: 65537 rows; a task has at most 65536");
    free(big);
    /* a file task without data */
    rt_task_config c;
    rt_task_config_init(&c, "file");
    rt_task *t = NULL;
    assert_int_equal(rt_task_create(&c, &t, &err), RT_EINVAL);
    assert_null(t);
}

static const char *root(void)
{
    static char buf[512];
    const char *env = getenv("RLHF_SOURCE_ROOT");
    if (env) return env;
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *p = strstr(buf, "tests/runtime/task/file_test.c");
    if (p) *p = 0;
    if (!buf[0]) snprintf(buf, sizeof buf, "./");
    return buf;
}

static rt_task_data *shipped(const char *file, const char *prompt, const char *answer,
                             const char *split)
{
    char path[640];
    snprintf(path, sizeof path, "%snotebooks/data/%s", root(), file);
    rt_task_file_opts o = opts();
    o.path = path;
    o.prompt = prompt;
    o.answer = answer;
    o.split = split;
    rt_task_data *d = NULL;
    rt_diag err = {0};
    if (rt_task_data_load(&o, &d, &err)) fail_msg("%s: %s", path, err.msg);
    return d;
}

static void shipped_files(void **state)
{
    (void)state;
    rt_task_data *d = shipped("units.jsonl", NULL, NULL, "split");
    assert_int_equal(rt_task_data_rows(d), 320);
    assert_string_equal(rt_task_data_answer_column(d), "completion");
    assert_true(rt_task_data_count(d, RT_TASK_HELDOUT) > 0);
    rt_task *t = task_of(d, 0.5);
    int nt = rt_task_n_texts(t);
    assert_true(nt >= 5);
    assert_string_equal(rt_task_text_name(t, 3), "unit");
    assert_string_equal(rt_task_text_name(t, 4), "factor");
    assert_true(rt_task_text_numeric(t, 4));
    char buf[4096];
    rt_rng r = rt_rng_make(2);
    rt_task_describe(t, &r, 2, buf, sizeof buf);
    assert_non_null(strstr(buf, "task file "));
    assert_non_null(strstr(buf, "\xe2\x90\xa0")); /* the space token shown as ␠ */
    rt_task_free(t);
    rt_task_data_free(d);
    d = shipped("reverse.csv", NULL, NULL, NULL);
    assert_int_equal(rt_task_data_rows(d), 300);
    t = task_of(d, 0);
    rt_task_free(t);
    rt_task_data_free(d);
    d = shipped("triage.tsv", "text", "label", NULL);
    assert_int_equal(rt_task_data_rows(d), 252);
    t = task_of(d, 0);
    assert_string_equal(rt_task_text_name(t, 3), "priority");
    assert_true(rt_task_text_numeric(t, 3));
    rt_task_free(t);
    rt_task_data_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_agree),   cmocka_unit_test(vocab_and_split),
        cmocka_unit_test(split_by_column), cmocka_unit_test(noise_rules),
        cmocka_unit_test(texts),           cmocka_unit_test(mixes_and_text),
        cmocka_unit_test(bad_inputs),      cmocka_unit_test(shipped_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
