/* manifest_test.c: a job directory's manifest (runtime/train/rt_manifest.h): the exact
 * text of a small manifest, round trips of every point, strict base64 (known vectors,
 * padding bits, bad characters), malformed headers and lines with their exact messages,
 * points out of range, every byte of the header and of a point's line flipped (an error
 * naming that line, or for a newline, an error), a manifest truncated at every offset,
 * and every allocation failed in turn. */
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
#include "rt_manifest.h"

static const rt_kv cfg0[] = {{"lr", "1e-3"}, {"seed", "1"}};
static const rt_kv cfg1[] = {{"lr", "3e-3"}, {"seed", "2"}};
static const char task[] = "task = add\ntask.spec = add digits=2\n";
static const rt_job_input ins[] = {{"task", "task", task, sizeof task - 1}};

static void jobs3(rt_job j[3])
{
    memset(j, 0, 3 * sizeof *j);
    const char *names[] = {"t[lr=1e-3,seed=1]", "t[lr=3e-3,seed=2]", "t"};
    for (int i = 0; i < 3; i++) {
        j[i].trainer = i == 2 ? "sft" : "rl";
        j[i].name = names[i];
        j[i].cfg = i == 1 ? cfg1 : cfg0;
        j[i].ncfg = i == 2 ? 0 : 2;
        j[i].in = ins;
        j[i].nin = 1;
        j[i].rng = rt_rng_from_name(7, names[i]);
    }
}

static char *manifest(size_t *n)
{
    rt_job j[3];
    jobs3(j);
    rt_strbuf b;
    rt_strbuf_init(&b);
    assert_int_equal(rt_manifest_write(j, 3, &b, NULL), 0);
    return rt_strbuf_take(&b, n);
}

static void b64_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        rt_strbuf b;
        rt_strbuf_init(&b);
        rt_manifest_b64_encode(plain[i], strlen(plain[i]), &b);
        rt_strbuf_putc(&b, '\0');
        assert_string_equal(b.s, enc[i]);
        unsigned char out[8];
        size_t bad = 99;
        assert_int_equal(rt_manifest_b64_decode(enc[i], strlen(enc[i]), out, &bad),
                         (long)strlen(plain[i]));
        assert_memory_equal(out, plain[i], strlen(plain[i]));
        rt_strbuf_free(&b);
    }
    size_t bad = 0;
    assert_int_equal(rt_manifest_b64_decode("Zh==", 4, NULL, &bad), -1); /* padding bits */
    assert_int_equal(bad, 1);
    assert_int_equal(rt_manifest_b64_decode("Zm9=", 4, NULL, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(rt_manifest_b64_decode("Zm 9", 4, NULL, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(rt_manifest_b64_decode("Z=9v", 4, NULL, &bad), -1); /* '=' inside */
    assert_int_equal(bad, 1);
    assert_int_equal(rt_manifest_b64_decode("Zg==Zg==", 8, NULL, &bad), -1);
    assert_int_equal(bad, 2);
    assert_int_equal(rt_manifest_b64_decode("Zg=", 3, NULL, &bad), -1); /* not 4k */
}

static void exact_and_round_trip(void **state)
{
    (void)state;
    size_t n;
    char *m = manifest(&n);
    rt_job j[3];
    jobs3(j);
    /* the header, then "POINT HASH BASE64(pack)" per point */
    const char *l = m;
    assert_memory_equal(l, "rlhf-manifest 1 3\n", 18);
    l += 18;
    for (int i = 0; i < 3; i++) {
        rt_strbuf want;
        rt_strbuf_init(&want);
        uint64_t h;
        char hex[17];
        assert_int_equal(rt_job_hash(&j[i], &h, NULL), 0);
        rt_job_hash_hex(h, hex);
        rt_strbuf_printf(&want, "%d %s ", i, hex);
        rt_strbuf p;
        rt_strbuf_init(&p);
        assert_int_equal(rt_job_pack(&j[i], &p, NULL), 0);
        rt_manifest_b64_encode(p.s, p.len, &want);
        rt_strbuf_putc(&want, '\n');
        assert_memory_equal(l, want.s, want.len);
        l += want.len;
        /* the point unpacks to the same job */
        rt_job_owned o;
        int np = 0;
        assert_int_equal(rt_manifest_point(m, n, i, &np, &o, NULL), 0);
        assert_int_equal(np, 3);
        assert_int_equal(o.hash, h);
        rt_strbuf again;
        rt_strbuf_init(&again);
        assert_int_equal(rt_job_pack(&o.job, &again, NULL), 0);
        assert_int_equal(again.len, p.len);
        assert_memory_equal(again.s, p.s, p.len);
        rt_job_owned_free(&o);
        rt_strbuf_free(&again);
        rt_strbuf_free(&p);
        rt_strbuf_free(&want);
    }
    assert_int_equal((size_t)(l - m), n);
    rt_free(m);
}

/* rt_manifest_point's message (and return code) on text t for point pt. */
static int msg_of(const char *t, int pt, char *msg)
{
    rt_diag d = {0};
    rt_job_owned o;
    int np;
    int rc = rt_manifest_point(t, strlen(t), pt, &np, &o, &d);
    strcpy(msg, d.msg);
    if (!rc) rt_job_owned_free(&o);
    return rc;
}

static void malformed(void **state)
{
    (void)state;
    size_t n;
    char *m = manifest(&n);
    const char *body = strchr(m, '\n') + 1;
    char t[8192], msg[256];
    static const struct {
        const char *head;
        const char *want;
    } heads[] = {
        {"", "manifest: line 1: not a manifest (no header line 'rlhf-manifest 1 POINTS')"},
        {"rlhf-job 1\n", "manifest: line 1: not a manifest (expected 'rlhf-manifest 1 POINTS')"},
        {"rlhf-manifest 2 3\n",
         "manifest: line 1: manifest version 2 (this program reads version 1)"},
        {"rlhf-manifest 1\n", "manifest: line 1: expected 'rlhf-manifest VERSION POINTS'"},
        {"rlhf-manifest 1 03\n",
         "manifest: line 1: expected the number of points (1 to 4096) after the version"},
        {"rlhf-manifest 1 3 \n",
         "manifest: line 1: expected the number of points (1 to 4096) after the version"},
        {"rlhf-manifest 1 2\n", "manifest: line 1: the header says 2 points but 3 lines follow"},
        {"rlhf-manifest 1 4\n", "manifest: line 1: the header says 4 points but 3 lines follow"},
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        snprintf(t, sizeof t, "%s%s", heads[i].head, heads[i].head[0] ? body : "");
        assert_int_equal(msg_of(t, 0, msg), RT_EFORMAT);
        assert_string_equal(msg, heads[i].want);
    }
    assert_int_equal(msg_of(m, 3, msg), RT_ENOTFOUND);
    assert_string_equal(msg,
                        "manifest: point 3 is out of range: the manifest has 3 points (0 to 2)");
    assert_int_equal(msg_of(m, -1, msg), RT_ENOTFOUND);
    /* lines: the point's place, the hash's shape and value, the base64 */
    const char *l2 = body, *l3 = strchr(l2, '\n') + 1;
    size_t pre = (size_t)(l3 - m);
    memcpy(t, m, n + 1);
    t[pre] = '2'; /* "1 ..." -> "2 ..." */
    assert_int_equal(msg_of(t, 1, msg), RT_EFORMAT);
    assert_string_equal(msg, "manifest: line 3: point 2 where point 1 belongs");
    memcpy(t, m, n + 1);
    t[pre + 2] = 'X';
    assert_int_equal(msg_of(t, 1, msg), RT_EFORMAT);
    assert_string_equal(msg, "manifest: line 3: expected a 16-digit hash (lowercase hex)");
    memcpy(t, m, n + 1);
    t[pre + 2] = t[pre + 2] == '0' ? '1' : '0';
    assert_int_equal(msg_of(t, 1, msg), RT_EFORMAT);
    assert_non_null(strstr(msg, "manifest: line 3: point 1: the line says hash "));
    memcpy(t, m, n + 1);
    t[pre + 19] = '*';
    assert_int_equal(msg_of(t, 1, msg), RT_EFORMAT);
    assert_string_equal(msg, "manifest: line 3: bad base64 at column 20");
    memcpy(t, m, n + 1);
    t[pre + 19] = t[pre + 19] == 'A' ? 'B' : 'A'; /* a changed job: its own hash says so */
    assert_int_equal(msg_of(t, 1, msg), RT_EFORMAT);
    assert_non_null(strstr(msg, "manifest: line 3: point 1: job: line "));
    rt_free(m);
}

static void flip_every_byte(void **state)
{
    (void)state;
    size_t n;
    char *m = manifest(&n);
    char *t = malloc(n + 1);
    const char *l3 = strchr(strchr(m, '\n') + 1, '\n') + 1, *e3 = strchr(l3, '\n');
    size_t h_end = (size_t)(strchr(m, '\n') - m), a = (size_t)(l3 - m), b = (size_t)(e3 - m);
    for (size_t i = 0; i < n; i++) {
        int in_header = i < h_end, in_point = i >= a && i < b;
        if (!in_header && !in_point && m[i] != '\n') continue;
        for (int bit = 0; bit < 8; bit++) {
            memcpy(t, m, n + 1);
            t[i] = (char)(t[i] ^ (1 << bit));
            rt_diag d = {0};
            rt_job_owned o;
            int np;
            int rc = rt_manifest_point(t, n, 1, &np, &o, &d);
            if (rc == 0) {
                rt_job_owned_free(&o);
                fail_msg("byte %zu bit %d: accepted", i, bit);
            }
            if (in_header && rc == RT_EFORMAT) assert_int_equal(d.line, 1); /* or ENOTFOUND */
            if (in_point && rc == RT_EFORMAT) assert_int_equal(d.line, 3);
        }
    }
    /* truncated anywhere: an error for the last point, never a crash */
    for (size_t k = 0; k < n; k++) {
        rt_job_owned o;
        int np;
        assert_int_not_equal(rt_manifest_point(m, k, 2, &np, &o, NULL), 0);
    }
    free(t);
    rt_free(m);
}

static void every_allocation_fails(void **state)
{
    (void)state;
    size_t n;
    char *m = manifest(&n);
    for (long k = 1;; k++) {
        rt_alloc_fail_at(k);
        rt_job_owned o;
        int np;
        rt_diag d = {0};
        int rc = rt_manifest_point(m, n, 2, &np, &o, &d);
        rt_alloc_fail_at(0);
        if (rc == 0) {
            rt_job_owned_free(&o);
            break;
        }
        assert_int_equal(rc, RT_ENOMEM);
    }
    rt_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64_vectors),
        cmocka_unit_test(exact_and_round_trip),
        cmocka_unit_test(malformed),
        cmocka_unit_test(flip_every_byte),
        cmocka_unit_test(every_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
