/* Decoder bad-input tests: raw frames, no sockets. One test per malformed case, each
 * checking its own status and reason; plus encode -> decode round trips and the replay
 * set's bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_wire.h"

#define KEY "secret-key"

typedef struct raw {
    krn_frame f[80];
    size_t n;
    char sig[KRN_HMAC_HEX_MAX];
} raw;

static krn_wire *new_wire(const char *key)
{
    krn_wire *w = malloc(sizeof *w);
    char err[128];
    assert_int_equal(krn_wire_init(w, "hmac-sha256", key, strlen(key), err, sizeof err), 0);
    return w;
}

static void free_wire(krn_wire *w)
{
    krn_wire_free(w);
    free(w);
}

/* [id, <IDS|MSG>, sig, header, parent, metadata, content] with a correct signature */
static void build(raw *r, const krn_wire *w, const char *header, const char *content)
{
    static const char *parent = "{}", *meta = "{}";
    memset(r, 0, sizeof *r);
    r->f[0] = (krn_frame){"client-id", 9};
    r->f[1] = (krn_frame){KRN_WIRE_DELIM, 9};
    r->f[3] = (krn_frame){header, strlen(header)};
    r->f[4] = (krn_frame){parent, 2};
    r->f[5] = (krn_frame){meta, 2};
    r->f[6] = (krn_frame){content, strlen(content)};
    const void *parts[4] = {r->f[3].data, r->f[4].data, r->f[5].data, r->f[6].data};
    size_t lens[4] = {r->f[3].len, r->f[4].len, r->f[5].len, r->f[6].len};
    krn_hmac_sign(&w->hmac, parts, lens, 4, r->sig);
    r->f[2] = (krn_frame){r->sig, strlen(r->sig)};
    r->n = 7;
}

static const char *HDR = "{\"msg_id\":\"a\",\"msg_type\":\"kernel_info_request\",\"session\":\"s\","
                         "\"username\":\"u\",\"date\":\"2026-01-01T00:00:00.000000Z\","
                         "\"version\":\"5.3\"}";

static int decode(krn_wire *w, raw *r, char *reason, size_t rsz)
{
    krn_msg_in m;
    int rc = krn_wire_decode(w, r->f, r->n, &m);
    snprintf(reason, rsz, "%s", m.reason);
    krn_msg_in_free(&m);
    return rc;
}

static void test_good_message(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{\"a\":1}");
    krn_msg_in m;
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_OK);
    assert_string_equal(m.msg_type, "kernel_info_request");
    assert_int_equal(m.n_ids, 1);
    assert_memory_equal(m.ids[0].data, "client-id", 9);
    assert_int_equal(cJSON_GetObjectItem(m.content, "a")->valueint, 1);
    krn_msg_in_free(&m);
    free_wire(w);
}

static void test_missing_delimiter(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{}");
    r.f[1] = (krn_frame){"<IDS|MSX>", 9};
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ENODELIM);
    assert_string_equal(reason, "no <IDS|MSG> delimiter frame");
    free_wire(w);
}

static void test_too_few_frames(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{}");
    r.n = 6; /* content missing: 4 frames after the delimiter */
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ESHORT);
    assert_string_equal(reason, "4 frames after the delimiter (need 5)");
    free_wire(w);
}

static void test_too_many_frames(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{}");
    for (size_t i = 7; i < 70; i++)
        r.f[i] = (krn_frame){"b", 1};
    r.n = 70;
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ETOOMANY);
    assert_string_equal(reason, "70 frames (limit 64)");
    free_wire(w);
}

static void test_empty_signature(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{}");
    r.f[2] = (krn_frame){"", 0};
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ENOSIG);
    assert_string_equal(reason, "empty signature");
    free_wire(w);
}

static void test_wrong_signature(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    krn_wire *other = new_wire("another-key");
    raw r;
    build(&r, other, HDR, "{}"); /* signed with another key */
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EBADSIG);
    assert_string_equal(reason, "signature does not match");
    build(&r, w, HDR, "{}");
    r.sig[10] = r.sig[10] == '0' ? '1' : '0'; /* one hex digit off */
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EBADSIG);
    free_wire(other);
    free_wire(w);
}

static void test_replayed_signature(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{}");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_OK);
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EREPLAY);
    assert_string_equal(reason, "duplicate signature (replay)");
    free_wire(w);
}

static void test_no_key_accepts_unsigned(void **st)
{
    (void)st;
    krn_wire *w = new_wire("");
    raw r;
    build(&r, w, HDR, "{}");
    assert_string_equal(r.sig, "");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_OK);
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_OK); /* no replay check */
    free_wire(w);
}

static void test_invalid_json(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{\"code\": ");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EJSON);
    assert_string_equal(reason, "content frame is not valid JSON");
    free_wire(w);
}

static void test_content_is_a_list(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "[1, 2]");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ETYPE);
    assert_string_equal(reason, "content frame is not a JSON object");
    free_wire(w);
}

static void test_header_without_msg_type(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, "{\"msg_id\":\"a\",\"session\":\"s\"}", "{}");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ETYPE);
    assert_string_equal(reason, "header has no string msg_type");
    build(&r, w, "{\"msg_type\":7}", "{}");
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ETYPE);
    free_wire(w);
}

static void test_invalid_utf8(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, HDR, "{\"code\": \"\xff\xfe caf\xc3\"}");
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EUTF8);
    assert_string_equal(reason, "content frame is not valid UTF-8");
    /* overlong encoding of '/' and a UTF-16 surrogate are refused too */
    build(&r, w, HDR, "{\"code\": \"\xc0\xaf\"}");
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EUTF8);
    build(&r, w, HDR, "{\"code\": \"\xed\xa0\x80\"}");
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EUTF8);
    free_wire(w);
}

static void test_100mb_frame(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    size_t n = 100u << 20;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    raw r;
    build(&r, w, HDR, "{}");
    r.f[6] = (krn_frame){big, n};
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_ETOOBIG);
    assert_string_equal(reason, "a frame of 104857600 bytes (limit 16777216)");
    free(big);
    free_wire(w);
}

static void test_pathological_nesting(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    size_t depth = 100000;
    char *s = malloc(depth * 2 + 16);
    size_t o = 0;
    s[o++] = '{';
    memcpy(s + o, "\"a\":", 4);
    o += 4;
    for (size_t i = 0; i < depth; i++)
        s[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        s[o++] = ']';
    s[o++] = '}';
    s[o] = '\0';
    raw r;
    build(&r, w, HDR, s);
    char reason[256];
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_EDEPTH);
    assert_string_equal(reason, "content frame nests JSON deeper than 64");
    /* brackets inside strings do not count */
    build(&r, w, HDR,
          "{\"code\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
    assert_int_equal(decode(w, &r, reason, sizeof reason), KRN_WIRE_OK);
    free(s);
    free_wire(w);
}

static void test_unknown_msg_type(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    build(&r, w, "{\"msg_id\":\"x\",\"msg_type\":\"frobnicate_request\"}", "{}");
    krn_msg_in m;
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_UNKNOWN_TYPE);
    assert_string_equal(m.reason, "unknown msg_type 'frobnicate_request'");
    assert_string_equal(m.msg_type, "frobnicate_request"); /* decoded: busy/idle still sent */
    krn_msg_in_free(&m);
    free_wire(w);
}

/* An escaped NUL inside a JSON string is found before cJSON cuts the string there: the
 * message is decoded (so it can be answered) but flagged; an escaped backslash followed by
 * u0000 is ordinary text. */
static void test_escaped_nul_is_flagged(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    raw r;
    krn_msg_in m;
    build(&r, w, "{\"msg_id\":\"x\",\"msg_type\":\"execute_request\"}",
          "{\"code\":\"%echo a\\u0000b\"}");
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_NUL);
    assert_string_equal(m.reason, "content frame holds a NUL character (\\u0000) in a string");
    assert_string_equal(m.msg_type, "execute_request");
    assert_string_equal(krn_wire_status_name(KRN_WIRE_NUL), "nul-in-string");
    krn_msg_in_free(&m);

    build(&r, w, "{\"msg_id\":\"y\",\"msg_type\":\"execute_request\",\"u\\u0000\":1}", "{}");
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_NUL);
    assert_string_equal(m.reason, "header frame holds a NUL character (\\u0000) in a string");
    krn_msg_in_free(&m);

    build(&r, w, "{\"msg_id\":\"z\",\"msg_type\":\"execute_request\"}",
          "{\"code\":\"a\\\\u0000b \\u0001\"}");
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_OK);
    assert_string_equal(cJSON_GetObjectItem(m.content, "code")->valuestring, "a\\u0000b \001");
    krn_msg_in_free(&m);
    free_wire(w);
}

static void test_encode_roundtrip_and_repair(void **st)
{
    (void)st;
    krn_wire *w = new_wire(KEY);
    cJSON *hdr = cJSON_Parse(HDR);
    cJSON *content = cJSON_CreateObject();
    cJSON_AddStringToObject(content, "text", "ok \xff bad");
    cJSON_AddNumberToObject(content, "nan", 0.0 / 0.0);
    cJSON_AddNumberToObject(content, "inf", 1.0 / 0.0);
    krn_wire_out o;
    assert_int_equal(krn_wire_encode(w, hdr, NULL, NULL, content, &o), 0);
    assert_string_equal(o.json[1], "{}");
    assert_string_equal(o.json[3], "{\"text\":\"ok \xef\xbf\xbd bad\",\"nan\":null,\"inf\":null}");
    assert_int_equal(strlen(o.sig), 64);
    raw r;
    memset(&r, 0, sizeof r);
    r.f[0] = (krn_frame){KRN_WIRE_DELIM, 9};
    r.f[1] = (krn_frame){o.sig, strlen(o.sig)};
    for (int i = 0; i < 4; i++)
        r.f[2 + i] = (krn_frame){o.json[i], o.len[i]};
    r.n = 6;
    krn_msg_in m;
    assert_int_equal(krn_wire_decode(w, r.f, r.n, &m), KRN_WIRE_OK);
    assert_int_equal(m.n_ids, 0);
    krn_msg_in_free(&m);
    krn_wire_out_free(&o);
    cJSON_Delete(hdr);
    cJSON_Delete(content);
    free_wire(w);
}

static void test_replay_set_is_bounded(void **st)
{
    (void)st;
    krn_replay rp;
    assert_int_equal(krn_replay_init(&rp), 0);
    unsigned char sig[32] = {0};
    for (uint32_t i = 0; i < KRN_WIRE_REPLAY_CAP + 10; i++) {
        memcpy(sig, &i, 4);
        memcpy(sig + 8, &i, 4);
        assert_false(krn_replay_check_add(&rp, sig, 32));
    }
    assert_int_equal(rp.count, KRN_WIRE_REPLAY_CAP);
    uint32_t newest = KRN_WIRE_REPLAY_CAP + 9, oldest = 0, kept = 10;
    memcpy(sig, &newest, 4);
    memcpy(sig + 8, &newest, 4);
    assert_true(krn_replay_check_add(&rp, sig, 32));
    memcpy(sig, &kept, 4);
    memcpy(sig + 8, &kept, 4);
    assert_true(krn_replay_check_add(&rp, sig, 32));
    memcpy(sig, &oldest, 4); /* evicted: accepted again */
    memcpy(sig + 8, &oldest, 4);
    assert_false(krn_replay_check_add(&rp, sig, 32));
    krn_replay_free(&rp);
}

static void test_unsupported_scheme(void **st)
{
    (void)st;
    krn_wire w;
    char err[128];
    assert_int_equal(krn_wire_init(&w, "hmac-md5", "k", 1, err, sizeof err), -1);
    assert_string_equal(err, "unsupported signature_scheme 'hmac-md5' (supported: hmac-sha256, "
                             "hmac-sha512)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_message),
        cmocka_unit_test(test_missing_delimiter),
        cmocka_unit_test(test_too_few_frames),
        cmocka_unit_test(test_too_many_frames),
        cmocka_unit_test(test_empty_signature),
        cmocka_unit_test(test_wrong_signature),
        cmocka_unit_test(test_replayed_signature),
        cmocka_unit_test(test_no_key_accepts_unsigned),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_content_is_a_list),
        cmocka_unit_test(test_header_without_msg_type),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_100mb_frame),
        cmocka_unit_test(test_pathological_nesting),
        cmocka_unit_test(test_unknown_msg_type),
        cmocka_unit_test(test_escaped_nul_is_flagged),
        cmocka_unit_test(test_encode_roundtrip_and_repair),
        cmocka_unit_test(test_replay_set_is_bounded),
        cmocka_unit_test(test_unsupported_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
