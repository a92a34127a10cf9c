/* Connection-file parsing: good tcp and ipc files (every field), missing file, invalid
 * JSON, missing field, unknown transport and scheme, with exact messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krn_conn.h"

static const char *write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/krn_conn_test_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_good_tcp(void **st)
{
    (void)st;
    const char *p = write_tmp("{\"shell_port\": 5001, \"iopub_port\": 5002, \"stdin_port\": 5003,"
                              " \"control_port\": 5004, \"hb_port\": 5005, \"ip\": \"127.0.0.1\","
                              " \"key\": \"abc-123\", \"transport\": \"tcp\","
                              " \"signature_scheme\": \"hmac-sha256\", \"kernel_name\": \"rlhf\"}");
    krn_conn c;
    char err[512];
    assert_int_equal(krn_conn_load(&c, p, err, sizeof err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.ip, "127.0.0.1");
    assert_int_equal(c.ports[KRN_CH_SHELL], 5001);
    assert_int_equal(c.ports[KRN_CH_IOPUB], 5002);
    assert_int_equal(c.ports[KRN_CH_STDIN], 5003);
    assert_int_equal(c.ports[KRN_CH_CONTROL], 5004);
    assert_int_equal(c.ports[KRN_CH_HB], 5005);
    assert_string_equal(c.key, "abc-123");
    assert_string_equal(c.signature_scheme, "hmac-sha256");
    assert_string_equal(c.kernel_name, "rlhf");
    char ep[300];
    krn_conn_endpoint(&c, KRN_CH_CONTROL, ep, sizeof ep);
    assert_string_equal(ep, "tcp://127.0.0.1:5004");
    krn_conn_free(&c);
    unlink(p);
}

static void test_good_ipc(void **st)
{
    (void)st;
    const char *p = write_tmp("{\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                              " \"control_port\": 4, \"hb_port\": 5, \"ip\": \"/tmp/kernel-x\","
                              " \"key\": \"\", \"transport\": \"ipc\","
                              " \"signature_scheme\": \"hmac-sha512\"}");
    krn_conn c;
    char err[512];
    assert_int_equal(krn_conn_load(&c, p, err, sizeof err), 0);
    assert_string_equal(c.transport, "ipc");
    assert_string_equal(c.key, "");
    assert_string_equal(c.signature_scheme, "hmac-sha512");
    assert_string_equal(c.kernel_name, "");
    char ep[300];
    krn_conn_endpoint(&c, KRN_CH_HB, ep, sizeof ep);
    assert_string_equal(ep, "ipc:///tmp/kernel-x-5");
    krn_conn_free(&c);
    unlink(p);
}

static void test_missing_file(void **st)
{
    (void)st;
    krn_conn c;
    char err[512];
    assert_int_equal(krn_conn_load(&c, "/nonexistent/kernel-1.json", err, sizeof err),
                     KRN_CONN_ENOFILE);
    assert_string_equal(err, "connection file '/nonexistent/kernel-1.json': No such file or "
                             "directory");
}

static void test_invalid_json(void **st)
{
    (void)st;
    krn_conn c;
    char err[512];
    const char *t = "{\"shell_port\": 1,";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_EJSON);
    assert_string_equal(err, "connection file 'k.json': not a JSON object");
    t = "[1, 2]";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_EJSON);
}

static void test_missing_field(void **st)
{
    (void)st;
    krn_conn c;
    char err[512];
    const char *t = "{\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                    " \"hb_port\": 5, \"ip\": \"127.0.0.1\", \"key\": \"k\"}";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_EFIELD);
    assert_string_equal(err, "connection file 'k.json': missing field \"control_port\"");
    t = "{\"shell_port\": \"1\", \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
        " \"hb_port\": 5, \"ip\": \"127.0.0.1\"}";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_EFIELD);
    assert_string_equal(err, "connection file 'k.json': field \"shell_port\" must be a port "
                             "number (0-65535)");
}

static void test_unknown_scheme(void **st)
{
    (void)st;
    krn_conn c;
    char err[512];
    const char *t = "{\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
                    " \"hb_port\": 5, \"ip\": \"127.0.0.1\", \"transport\": \"udp\"}";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_ESCHEME);
    assert_string_equal(err, "connection file 'k.json': unknown transport \"udp\" (expected tcp "
                             "or ipc)");
    t = "{\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
        " \"hb_port\": 5, \"ip\": \"127.0.0.1\", \"signature_scheme\": \"hmac-md5\"}";
    assert_int_equal(krn_conn_parse(&c, t, strlen(t), "k.json", err, sizeof err), KRN_CONN_ESCHEME);
    assert_string_equal(err, "connection file 'k.json': unsupported signature_scheme \"hmac-md5\" "
                             "(supported: hmac-sha256, hmac-sha512)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_tcp),      cmocka_unit_test(test_good_ipc),
        cmocka_unit_test(test_missing_file),  cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_missing_field), cmocka_unit_test(test_unknown_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
