/* Headers: ISO 8601 date with 6-digit microseconds and Z, every field present, fresh
 * msg_id per header, one session per process, version 5.3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "krn_msg.h"

static void test_iso_date(void **st)
{
    (void)st;
    char out[32];
    struct timespec ts = {1764039845, 7000}; /* 2025-11-25T03:04:05 UTC + 7 us */
    krn_msg_iso_date(&ts, out);
    assert_string_equal(out, "2025-11-25T03:04:05.000007Z");
    ts.tv_nsec = 999999999;
    krn_msg_iso_date(&ts, out);
    assert_string_equal(out, "2025-11-25T03:04:05.999999Z");
    ts = (struct timespec){0, 0};
    krn_msg_iso_date(&ts, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
}

static void test_header_fields(void **st)
{
    (void)st;
    cJSON *a = krn_msg_header("status"), *b = krn_msg_header("stream");
    const char *fields[] = {"msg_id", "session", "username", "date", "msg_type", "version"};
    for (int i = 0; i < 6; i++) {
        assert_true(cJSON_IsString(cJSON_GetObjectItem(a, fields[i])));
    }
    assert_int_equal(cJSON_GetArraySize(a), 6);
    assert_string_equal(cJSON_GetObjectItem(a, "version")->valuestring, "5.3");
    assert_string_equal(cJSON_GetObjectItem(a, "msg_type")->valuestring, "status");
    assert_string_not_equal(cJSON_GetObjectItem(a, "msg_id")->valuestring,
                            cJSON_GetObjectItem(b, "msg_id")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(a, "session")->valuestring, krn_msg_session());
    assert_string_equal(cJSON_GetObjectItem(b, "session")->valuestring, krn_msg_session());
    assert_int_equal(strlen(krn_msg_session()), 36);
    const char *d = cJSON_GetObjectItem(a, "date")->valuestring;
    assert_int_equal(strlen(d), 27);
    assert_int_equal(d[19], '.');
    assert_int_equal(d[26], 'Z');
    const char *id = cJSON_GetObjectItem(a, "msg_id")->valuestring;
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4'); /* UUID version 4 */
    cJSON_Delete(a);
    cJSON_Delete(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_date),
        cmocka_unit_test(test_header_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
