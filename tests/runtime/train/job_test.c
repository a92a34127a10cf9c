/* job_test.c: a job's packed form (runtime/train/rt_job.h): round trips of jobs with
 * awkward values (empty, newlines, '=', quotes, control bytes, UTF-8 and broken UTF-8)
 * and binary inputs (empty, NUL bytes, every base64 line boundary), the exact text of a
 * small job, determinism and the hash, the rng's state, what pack refuses, each
 * malformed input with its exact message, a packed job truncated at every offset and
 * with every byte flipped (an error, or a job that packs back to the same bytes), and
 * a policy carried by value (rt_model_save_mem), and every allocation failed in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_job.h"
#include "rt_model.h"
#include "rt_policy.h"

static unsigned char blob[1000];

static const rt_kv awkward[] = {
    {"lr", "1e-3"},
    {"empty", ""},
    {"lines", "a\nb\r\nc\t"},
    {"eq", "x=y = z =="},
    {"quotes", "\"q\" \\ \\n"},
    {"ctl", "\x01\x1f\x7f"},
    {"utf8", "\xce\xbb=0.5 \xe2\x86\x92 \xf0\x9f\x98\x80"},
    {"broken", "\xff\xce \xce\xce\xbb \x80\xe2\x86"},
    {"spaces", "  lead and trail  "},
    {"a.b-c:d/e+f[0]", "v"},
};

static rt_job_input inputs[] = {
    {"from", "policy", blob, 1000},      {"empty", "policy", NULL, 0}, {"one", "task", blob, 1},
    {"two", "task", blob + 1, 2},        {"line", "reward", blob, 57}, /* exactly one base64 line */
    {"line1", "reward", blob, 58},    /* one more byte: a second line */
    {"teacher", "policy", blob, 114}, /* two full lines */
    {"teacher", "policy", blob + 3, 56},
};

static rt_job make_job(void)
{
    rt_job j = {0};
    j.trainer = "rl";
    j.name = "sweep[lr=1e-3,tau=\"x\"]\n";
    j.cfg = awkward;
    j.ncfg = (int)(sizeof awkward / sizeof awkward[0]);
    j.in = inputs;
    j.nin = (int)(sizeof inputs / sizeof inputs[0]);
    j.rng = rt_rng_from_name(42, "sweep[lr=1e-3]");
    return j;
}

static void fill_blob(void)
{
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)(i * 37 + (i >> 3)); /* every byte value, NULs and '\n's */
    blob[0] = 0, blob[1] = '\n', blob[2] = 0;
}

static char *pack(const rt_job *j, size_t *n)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_diag d;
    assert_int_equal(rt_job_pack(j, &b, &d), 0);
    return rt_strbuf_take(&b, n);
}

static void assert_same_job(const rt_job *a, const rt_job *b)
{
    assert_string_equal(a->trainer, b->trainer);
    assert_string_equal(a->name ? a->name : "", b->name);
    assert_true(a->rng.key == b->rng.key && a->rng.ctr == b->rng.ctr);
    assert_int_equal(a->ncfg, b->ncfg);
    for (int i = 0; i < a->ncfg; i++) {
        assert_string_equal(a->cfg[i].key, b->cfg[i].key);
        assert_string_equal(a->cfg[i].value, b->cfg[i].value);
    }
    assert_int_equal(a->nin, b->nin);
    for (int i = 0; i < a->nin; i++) {
        assert_string_equal(a->in[i].role, b->in[i].role);
        assert_string_equal(a->in[i].kind, b->in[i].kind);
        assert_int_equal(a->in[i].size, b->in[i].size);
        if (a->in[i].size) {
            assert_memory_equal(a->in[i].data, b->in[i].data, a->in[i].size);
            assert_int_equal((uintptr_t)b->in[i].data % 16, 0);
        }
    }
}

static void round_trip(void **state)
{
    (void)state;
    fill_blob();
    rt_job j = make_job();
    size_t n;
    char *p = pack(&j, &n);
    assert_int_equal(strlen(p), n); /* text: no NUL */
    assert_null(strchr(p, '\r'));
    rt_job_owned o;
    rt_diag d;
    assert_int_equal(rt_job_unpack(p, n, &o, &d), 0);
    assert_same_job(&j, &o.job);
    assert_null(o.job.fn);
    assert_null(o.job.arg);
    /* canonical: the unpacked job packs to the same bytes */
    size_t n2;
    char *p2 = pack(&o.job, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(p, p2, n);
    rt_free(p2);
    rt_job_owned_free(&o);
    assert_null(o.block);
    rt_job_owned_free(&o); /* twice is fine */

    /* the smallest job: no name, no cfg, no inputs */
    rt_job e = {.trainer = "sft"};
    char *q = pack(&e, &n);
    assert_string_equal(q, "rlhf-job 1\ntrainer sft\nname \"\"\nrng 0000000000000000 "
                           "0000000000000000\ncfg 0\nin 0\nhash d4b58c23d5dfb09d\n");
    assert_int_equal(rt_job_unpack(q, n, &o, &d), 0);
    assert_string_equal(o.job.name, "");
    assert_null(o.job.cfg);
    assert_null(o.job.in);
    rt_job_owned_free(&o);
    rt_free(q);
    rt_free(p);
}

/* the exact text: the format is readable and stable */
static void exact_text(void **state)
{
    (void)state;
    static const rt_kv cfg[] = {{"lr", "2e-4"}, {"reward", "correct + 0.1 * \"len\"\n"}};
    static const unsigned char data[] = {'R', 'L', 0, '\n', 0xff};
    rt_job_input in[] = {{"from", "policy", data, sizeof data}};
    rt_job j = {.trainer = "rl",
                .name = "lr_sweep[lr=2e-4]",
                .cfg = cfg,
                .ncfg = 2,
                .in = in,
                .nin = 1,
                .rng = {0x0123456789abcdefULL, 7}};
    size_t n;
    char *p = pack(&j, &n);
    assert_string_equal(p, "rlhf-job 1\n"
                           "trainer rl\n"
                           "name \"lr_sweep[lr=2e-4]\"\n"
                           "rng 0123456789abcdef 0000000000000007\n"
                           "cfg 2\n"
                           "lr = \"2e-4\"\n"
                           "reward = \"correct + 0.1 * \\\"len\\\"\\n\"\n"
                           "in 1\n"
                           "from policy 5\n"
                           "data from\n"
                           "UkwACv8=\n"
                           "hash 0a2618dff2179ded\n");
    rt_free(p);
}

static void determinism_and_hash(void **state)
{
    (void)state;
    fill_blob();
    rt_job j = make_job();
    size_t n1, n2;
    char *a = pack(&j, &n1), *b = pack(&j, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    uint64_t h;
    assert_int_equal(rt_job_hash(&j, &h, NULL), 0);
    char hex[17], line[32];
    rt_job_hash_hex(h, hex);
    snprintf(line, sizeof line, "hash %s\n", hex);
    assert_string_equal(a + n1 - 22, line);
    assert_true(h == rt_job_fnv1a64(a, n1 - 22));
    rt_job_owned o;
    assert_int_equal(rt_job_unpack(a, n1, &o, NULL), 0);
    assert_true(o.hash == h);
    rt_job_owned_free(&o);
    /* FNV-1a 64's published values */
    assert_true(rt_job_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    assert_true(rt_job_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    rt_job_hash_hex(0xaf63dc4c8601ec8cULL, hex);
    assert_string_equal(hex, "af63dc4c8601ec8c");
    /* any field changes the hash */
    uint64_t h2;
    j.rng.ctr++;
    assert_int_equal(rt_job_hash(&j, &h2, NULL), 0);
    assert_true(h2 != h);
    j.rng.ctr--;
    blob[500] ^= 1;
    assert_int_equal(rt_job_hash(&j, &h2, NULL), 0);
    assert_true(h2 != h);
    rt_free(a);
    rt_free(b);
}

/* the stream round-trips exactly: the unpacked job draws the same numbers */
static void rng_state(void **state)
{
    (void)state;
    rt_rng cases[] = {{0, 0}, {UINT64_MAX, UINT64_MAX}, {1, UINT64_MAX - 1}, rt_rng_make(7)};
    rt_rng drawn = rt_rng_from_name(3, "x");
    for (int i = 0; i < 1000; i++)
        rt_rng_u64(&drawn);
    for (int c = 0; c < 5; c++) {
        rt_job j = {.trainer = "sft", .rng = c < 4 ? cases[c] : drawn};
        size_t n;
        char *p = pack(&j, &n);
        rt_job_owned o;
        assert_int_equal(rt_job_unpack(p, n, &o, NULL), 0);
        assert_true(o.job.rng.key == j.rng.key && o.job.rng.ctr == j.rng.ctr);
        for (int i = 0; i < 100; i++)
            assert_true(rt_rng_u64(&o.job.rng) == rt_rng_u64(&j.rng));
        rt_job_owned_free(&o);
        rt_free(p);
    }
}

static void pack_refuses(void **state)
{
    (void)state;
    static const rt_kv dup[] = {{"lr", "1"}, {"x", "2"}, {"lr", "3"}};
    static const rt_kv spacey[] = {{"a b", "1"}};
    static const rt_kv novalue[] = {{"a", NULL}};
    rt_job_input huge[] = {{"from", "policy", blob, RT_JOB_MAX_INPUT + 1}};
    rt_job_input nodata[] = {{"from", "policy", NULL, 3}};
    rt_job_input badrole[] = {{"fr=om", "policy", blob, 3}};
    struct {
        rt_job j;
        const char *msg;
    } cases[] = {
        {{.trainer = NULL}, "job: trainer must be a word of 1..64 bytes"},
        {{.trainer = "s f t"}, "job: trainer must be a word of 1..64 bytes"},
        {{.trainer = "rl", .cfg = dup, .ncfg = 3}, "job: cfg 'lr' given twice"},
        {{.trainer = "rl", .cfg = spacey, .ncfg = 1},
         "job: cfg entry 1: key must be a word of 1..64 bytes"},
        {{.trainer = "rl", .cfg = novalue, .ncfg = 1},
         "job: cfg 'a': value missing or longer than 65536 bytes"},
        {{.trainer = "rl", .cfg = dup, .ncfg = RT_JOB_MAX_CFG + 1},
         "job: 1025 cfg entries (0..1024)"},
        {{.trainer = "rl", .nin = 1}, "job: 1 inputs (0..64)"},
        {{.trainer = "rl", .in = huge, .nin = 1},
         "job: input 'from': 1073741825 bytes (0..1073741824, data set)"},
        {{.trainer = "rl", .in = nodata, .nin = 1},
         "job: input 'from': 3 bytes (0..1073741824, data set)"},
        {{.trainer = "rl", .in = badrole, .nin = 1},
         "job: input 1: role and kind must be words of 1..64 bytes"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rt_strbuf b;
        rt_strbuf_init(&b);
        rt_diag d;
        assert_int_equal(rt_job_pack(&cases[c].j, &b, &d), RT_EINVAL);
        assert_int_equal(d.code, RT_EINVAL);
        assert_string_equal(d.msg, cases[c].msg);
        assert_int_equal(b.len, 0); /* nothing appended */
        rt_strbuf_free(&b);
    }
}

/* A job text with a correct hash line appended (so the error is the one intended). */
static char *with_hash(const char *body)
{
    char hex[17];
    rt_job_hash_hex(rt_job_fnv1a64(body, strlen(body)), hex);
    size_t n = strlen(body);
    char *s = malloc(n + 32);
    snprintf(s, n + 32, "%shash %s\n", body, hex);
    return s;
}

#define HEAD "rlhf-job 1\ntrainer rl\nname \"n\"\nrng 0000000000000001 0000000000000002\n"

static void malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text; /* hashed unless raw */
        int raw;
        int line, col;
        const char *msg;
    } cases[] = {
        {"", 1, 1, 1, "job: line 1: unexpected end of the job (expected 'rlhf-job 1')"},
        {"rlhf-job 1", 1, 1, 11, "job: line 1: truncated (no newline at the end)"},
        {"rlhf-job 2\n", 1, 1, 10, "job: line 1: format version '2', expected 1"},
        {"rlhf-job \x01x\n", 1, 1, 10, "job: line 1: format version '?x', expected 1"},
        {"RLHFPOL\n", 1, 1, 1, "job: line 1: not a job (expected 'rlhf-job 1')"},
        {"rlhf-job 1\ntrainer\n", 1, 2, 1, "job: line 2: expected 'trainer NAME'"},
        {"rlhf-job 1\ntrainer \"rl\"\n", 1, 2, 9,
         "job: line 2: trainer: expected a word (printable ASCII but space, '\"', '\\' and '=')"},
        {"rlhf-job 1\ntrainer rl x\n", 1, 2, 11,
         "job: line 2: unexpected text at the end of the line"},
        {"rlhf-job 1\ntrainer rl\nname n\n", 1, 3, 6, "job: line 3: name: expected '\"'"},
        {"rlhf-job 1\ntrainer rl\nname \"n\n", 1, 3, 8,
         "job: line 3: name: expected '\"' (to close the string)"},
        {"rlhf-job 1\ntrainer rl\nname \"a\tb\"\n", 1, 3, 8,
         "job: line 3: name: byte 0x09 must be escaped"},
        {"rlhf-job 1\ntrainer rl\nname \"a\\qb\"\n", 1, 3, 8, "job: line 3: name: bad escape"},
        {"rlhf-job 1\ntrainer rl\nname \"\\x41\"\n", 1, 3, 7,
         "job: line 3: name: needless escape (not the canonical form)"},
        {"rlhf-job 1\ntrainer rl\nname \"\\xce\\xbb\"\n", 1, 3, 7,
         "job: line 3: name: needless escape (not the canonical form)"},
        {"rlhf-job 1\ntrainer rl\nname \"\\x00\"\n", 1, 3, 7, "job: line 3: name: NUL byte"},
        {"rlhf-job 1\ntrainer rl\nname \"\\xCE\"\n", 1, 3, 7, "job: line 3: name: bad escape"},
        {"rlhf-job 1\ntrainer rl\nname \"\xff\"\n", 1, 3, 7,
         "job: line 3: name: byte 0xff must be escaped"},
        {"rlhf-job 1\ntrainer rl\nname \"\"\nrng 01 02\n", 1, 4, 7,
         "job: line 4: rng key: expected 16 lowercase hex digits"},
        {HEAD "cfg 01\n", 1, 5, 5, "job: line 5: cfg count: leading zero"},
        {HEAD "cfg 1025\n", 1, 5, 5, "job: line 5: cfg count: more than 1024"},
        {HEAD "cfg 99999999999999999999999\n", 1, 5, 5, "job: line 5: cfg count: more than 1024"},
        {HEAD "cfg 2\nlr = \"1\"\n", 1, 7, 1,
         "job: line 7: unexpected end of the job (expected 'KEY = \"VALUE\"')"},
        {HEAD "cfg 1\nlr=\"1\"\n", 1, 6, 3, "job: line 6: expected 'KEY = \"VALUE\"'"},
        {HEAD "cfg 2\nlr = \"1\"\nlr = \"2\"\n", 1, 7, 1, "job: line 7: key 'lr' given twice"},
        {HEAD "cfg 0\nin 65\n", 1, 6, 4, "job: line 6: input count: more than 64"},
        {HEAD "cfg 0\nin 1\nfrom policy 1073741825\n", 1, 7, 13,
         "job: line 7: size: more than 1073741824"},
        {HEAD "cfg 0\nin 1\nfrom policy\n", 1, 7, 12, "job: line 7: expected 'ROLE KIND SIZE'"},
        {HEAD "cfg 0\nin 1\nfrom policy 3\ndata to\nAAAA\n", 1, 8, 6,
         "job: line 8: expected 'data from' (input 1)"},
        {HEAD "cfg 0\nin 1\nfrom policy 3\ndata from\nAAA\n", 1, 9, 4,
         "job: line 9: expected 4 base64 characters, got 3"},
        {HEAD "cfg 0\nin 1\nfrom policy 3\ndata from\nAA*A\n", 1, 9, 3,
         "job: line 9: bad base64 character '*'"},
        {HEAD "cfg 0\nin 1\nfrom policy 2\ndata from\nAAB=\n", 1, 9, 3,
         "job: line 9: base64 padding bits not zero"},
        {HEAD "cfg 0\nin 1\nfrom policy 2\ndata from\nAA==\n", 1, 9, 3,
         "job: line 9: bad base64 character '='"},
        {HEAD "cfg 0\nin 1\nfrom policy 3\ndata from\n", 1, 9, 1,
         "job: line 9: unexpected end of the job (expected base64)"},
        {HEAD "cfg 0\nin 0\nhash 0000000000000000\n", 1, 7, 6,
         "job: line 7: hash mismatch (the job was changed or damaged)"},
        {HEAD "cfg 0\nin 0\nhash 1\n", 1, 7, 7,
         "job: line 7: hash: expected 16 lowercase hex digits"},
        {HEAD "cfg 0\nin 0\n", 1, 7, 1,
         "job: line 7: unexpected end of the job (expected 'hash HEX')"},
        {HEAD "cfg 0\nin 0\nextra\n", 0, 7, 1, "job: line 7: expected 'hash HEX'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *s = cases[c].raw ? strdup(cases[c].text) : with_hash(cases[c].text);
        rt_job_owned o;
        rt_diag d;
        int rc = rt_job_unpack(s, strlen(s), &o, &d);
        if (rc != RT_EFORMAT || strcmp(d.msg, cases[c].msg) != 0 || d.line != cases[c].line ||
            d.col != cases[c].col)
            fail_msg("case %zu: rc %d, %d:%d '%s'", c, rc, d.line, d.col, d.msg);
        assert_null(o.block);
        assert_null(o.job.trainer);
        free(s);
    }
    /* bytes after the hash line */
    char *s = with_hash(HEAD "cfg 0\nin 0\n");
    size_t n = strlen(s);
    char *t = malloc(n + 2);
    memcpy(t, s, n);
    t[n] = 'x', t[n + 1] = '\n';
    rt_job_owned o;
    rt_diag d;
    assert_int_equal(rt_job_unpack(s, n, &o, &d), 0);
    rt_job_owned_free(&o);
    assert_int_equal(rt_job_unpack(t, n + 2, &o, &d), RT_EFORMAT);
    assert_string_equal(d.msg, "job: line 8: trailing bytes after the hash line");
    free(s);
    free(t);
}

/* Every prefix fails; every byte flipped gives an error or a canonical job. */
static void truncate_and_flip(void **state)
{
    (void)state;
    fill_blob();
    static const rt_kv cfg[] = {{"lr", "1e-3"}, {"eq", "a=b\n\xce\xbb\x01"}};
    rt_job_input in[] = {
        {"from", "policy", blob, 200}, {"x", "task", NULL, 0}, {"y", "task", blob, 4}};
    rt_job j = {.trainer = "opd",
                .name = "p[x=1]",
                .cfg = cfg,
                .ncfg = 2,
                .in = in,
                .nin = 3,
                .rng = {5, 6}};
    size_t n;
    char *p = pack(&j, &n);
    unsigned char *q = malloc(n);
    for (size_t k = 0; k < n; k++) {
        rt_job_owned o;
        rt_diag d;
        unsigned char *e = malloc(k ? k : 1); /* exact size: ASan sees a read past k */
        memcpy(e, p, k);
        assert_int_equal(rt_job_unpack(e, k, &o, &d), RT_EFORMAT);
        assert_true(strncmp(d.msg, "job: line ", 10) == 0);
        assert_true(d.line >= 1);
        free(e);
    }
    static const unsigned char flips[] = {0x01, 0x20, 0x80, 0xff};
    for (size_t k = 0; k < n; k++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(q, p, n);
            q[k] ^= flips[f];
            rt_job_owned o;
            rt_diag d;
            int rc = rt_job_unpack(q, n, &o, &d);
            if (rc == 0) { /* a valid job: then it is exactly these bytes */
                size_t n2;
                char *r = pack(&o.job, &n2);
                assert_int_equal(n2, n);
                assert_memory_equal(r, q, n);
                rt_free(r);
                rt_job_owned_free(&o);
            } else {
                assert_int_equal(rc, RT_EFORMAT);
                assert_true(strncmp(d.msg, "job: line ", 10) == 0);
            }
        }
    free(q);
    rt_free(p);
}

/* a policy travels by value: saved to memory, packed, unpacked, loaded: same weights */
static void carries_a_policy(void **state)
{
    (void)state;
    rt_policy_config c = {9, 2, 3, 5, 1, RT_NN_ACT_RELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &c, NULL), 0);
    rt_rng r = rt_rng_make(11);
    rt_policy_init(p, &r);
    void *mem;
    size_t mn;
    assert_int_equal(rt_model_save_mem(&p->model, &mem, &mn, NULL), 0);
    rt_job_input in[] = {{"from", "policy", mem, mn}};
    rt_job j = {.trainer = "sft", .name = "p", .in = in, .nin = 1};
    size_t n;
    char *packed = pack(&j, &n);
    rt_job_owned o;
    assert_int_equal(rt_job_unpack(packed, n, &o, NULL), 0);
    rt_model *m;
    assert_int_equal(rt_model_load_mem(&m, o.job.in[0].data, o.job.in[0].size, NULL), 0);
    assert_true(rt_model_same_arch(m, &p->model));
    assert_memory_equal(m->params->w, p->params.w, sizeof(float) * p->params.n);
    rt_model_free(m);
    rt_job_owned_free(&o);
    rt_free(packed);
    rt_free(mem);
    rt_policy_free(p);
}

/* Fail the Nth allocation for every N: pack and unpack report RT_ENOMEM and leak
 * nothing (the ASan build checks), until the scenario allocates no more. */
static void allocation_failure(void **state)
{
    (void)state;
    fill_blob();
    rt_job j = make_job();
    size_t n;
    char *p = pack(&j, &n);
    int done = 0;
    for (long fail = 1; fail < 200 && !done; fail++) {
        rt_alloc_fail_at(fail);
        rt_strbuf b;
        rt_strbuf_init(&b);
        rt_diag d;
        int rc = rt_job_pack(&j, &b, &d);
        rt_job_owned o;
        rt_diag du;
        int ru = rc ? -99 : rt_job_unpack(p, n, &o, &du);
        uint64_t h;
        int rh = rc || ru ? -99 : rt_job_hash(&j, &h, NULL);
        long made = rt_alloc_count();
        rt_alloc_fail_at(0);
        if (rc) {
            assert_int_equal(rc, RT_ENOMEM);
            assert_string_equal(d.msg, "job: out of memory");
        } else if (ru) {
            assert_int_equal(ru, RT_ENOMEM);
            assert_int_equal(du.code, RT_ENOMEM);
            assert_null(o.block);
        } else if (rh) {
            assert_int_equal(rh, RT_ENOMEM);
            rt_job_owned_free(&o);
        } else {
            assert_true(made < fail);
            assert_int_equal(b.len, n);
            assert_memory_equal(b.s, p, n);
            assert_same_job(&j, &o.job);
            rt_job_owned_free(&o);
            done = 1;
        }
        rt_strbuf_free(&b);
    }
    assert_true(done);
    rt_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),           cmocka_unit_test(exact_text),
        cmocka_unit_test(determinism_and_hash), cmocka_unit_test(rng_state),
        cmocka_unit_test(pack_refuses),         cmocka_unit_test(malformed),
        cmocka_unit_test(truncate_and_flip),    cmocka_unit_test(carries_a_policy),
        cmocka_unit_test(allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
