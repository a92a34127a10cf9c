/* HMAC against RFC 4231 test case 6 (a 131-byte key, longer than the 64-byte block):
 * SHA-256 and SHA-512, with the message split across update calls; empty key; refusal of
 * other schemes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "krn_hmac.h"

static const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";

static void sign_split(krn_hmac *h, char hex[KRN_HMAC_HEX_MAX])
{
    const void *parts[3] = {msg, msg + 10, msg + 30};
    size_t lens[3] = {10, 20, strlen(msg) - 30};
    krn_hmac_sign(h, parts, lens, 3, hex);
}

static void test_rfc4231_case6_sha256(void **st)
{
    (void)st;
    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    krn_hmac h;
    char err[128], hex[KRN_HMAC_HEX_MAX];
    assert_int_equal(krn_hmac_init(&h, "hmac-sha256", key, sizeof key, err, sizeof err), 0);
    sign_split(&h, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    assert_int_equal(krn_hmac_hex_len(&h), 64);
    krn_hmac_free(&h);
}

static void test_rfc4231_case6_sha512(void **st)
{
    (void)st;
    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    krn_hmac h;
    char err[128], hex[KRN_HMAC_HEX_MAX];
    assert_int_equal(krn_hmac_init(&h, "hmac-sha512", key, sizeof key, err, sizeof err), 0);
    sign_split(&h, hex);
    assert_string_equal(hex, "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                             "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598");
    krn_hmac_free(&h);
}

static void test_empty_key_signs_nothing(void **st)
{
    (void)st;
    krn_hmac h;
    char err[128], hex[KRN_HMAC_HEX_MAX] = "x";
    assert_int_equal(krn_hmac_init(&h, "hmac-sha256", "", 0, err, sizeof err), 0);
    sign_split(&h, hex);
    assert_string_equal(hex, "");
    assert_int_equal(krn_hmac_hex_len(&h), 0);
    krn_hmac_free(&h);
}

static void test_other_scheme_refused(void **st)
{
    (void)st;
    krn_hmac h;
    char err[128];
    assert_int_equal(krn_hmac_init(&h, "hmac-sha1", "k", 1, err, sizeof err), -1);
    assert_string_equal(err, "unsupported signature_scheme 'hmac-sha1' (supported: hmac-sha256, "
                             "hmac-sha512)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231_case6_sha256),
        cmocka_unit_test(test_rfc4231_case6_sha512),
        cmocka_unit_test(test_empty_key_signs_nothing),
        cmocka_unit_test(test_other_scheme_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
