/* Kernelspec installation: destination per mode (--user with and without JUPYTER_DATA_DIR,
 * --prefix, --sys-prefix from CONDA_PREFIX / VIRTUAL_ENV / /usr/local) and the files
 * written (kernel.json fields, two PNG logos of the right size, the SVG). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_install.h"

static void test_dirs(void **st)
{
    (void)st;
    char dir[512], err[256];
    setenv("HOME", "/home/u", 1);
    unsetenv("JUPYTER_DATA_DIR");
    assert_int_equal(krn_install_dir(KRN_INSTALL_USER, NULL, dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/home/u/.local/share/jupyter/kernels/rlhf");
    setenv("JUPYTER_DATA_DIR", "/data/jup", 1);
    assert_int_equal(krn_install_dir(KRN_INSTALL_USER, NULL, dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/data/jup/kernels/rlhf");
    assert_int_equal(
        krn_install_dir(KRN_INSTALL_PREFIX, "/opt/x", dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/opt/x/share/jupyter/kernels/rlhf");
    unsetenv("CONDA_PREFIX");
    unsetenv("VIRTUAL_ENV");
    assert_int_equal(
        krn_install_dir(KRN_INSTALL_SYS_PREFIX, NULL, dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/usr/local/share/jupyter/kernels/rlhf");
    setenv("VIRTUAL_ENV", "/venv", 1);
    assert_int_equal(
        krn_install_dir(KRN_INSTALL_SYS_PREFIX, NULL, dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/venv/share/jupyter/kernels/rlhf");
    setenv("CONDA_PREFIX", "/conda", 1);
    assert_int_equal(
        krn_install_dir(KRN_INSTALL_SYS_PREFIX, NULL, dir, sizeof dir, err, sizeof err), 0);
    assert_string_equal(dir, "/conda/share/jupyter/kernels/rlhf");
    unsetenv("JUPYTER_DATA_DIR");
    unsetenv("HOME");
    assert_int_equal(krn_install_dir(KRN_INSTALL_USER, NULL, dir, sizeof dir, err, sizeof err), -1);
    assert_string_equal(err, "--user: neither JUPYTER_DATA_DIR nor HOME is set");
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void test_write(void **st)
{
    (void)st;
    char tmpl[] = "/tmp/krn_install_test_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char dir[600], err[256], path[700];
    snprintf(dir, sizeof dir, "%s/a/b/kernels/rlhf", tmpl);
    assert_int_equal(krn_install_write(dir, "/opt/bin/rlhf-kernel", err, sizeof err), 0);
    static char buf[1 << 16];
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    slurp(path, buf, sizeof buf);
    cJSON *spec = cJSON_Parse(buf);
    char *compact = cJSON_PrintUnformatted(spec);
    assert_string_equal(compact,
                        "{\"argv\":[\"/opt/bin/rlhf-kernel\",\"-f\",\"{connection_file}\"],"
                        "\"display_name\":\"RLHF Lab\",\"language\":\"rlhf\","
                        "\"interrupt_mode\":\"message\",\"metadata\":{}}");
    free(compact);
    cJSON_Delete(spec);
    static const int sizes[2] = {32, 64};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/logo-%dx%d.png", dir, sizes[i], sizes[i]);
        size_t n = slurp(path, buf, sizeof buf);
        assert_true(n > 33);
        assert_memory_equal(buf, "\x89PNG\r\n\x1a\n", 8);
        const unsigned char *w = (const unsigned char *)buf + 16;
        assert_int_equal(w[0] << 24 | w[1] << 16 | w[2] << 8 | w[3], sizes[i]);
    }
    snprintf(path, sizeof path, "%s/logo-svg.svg", dir);
    slurp(path, buf, sizeof buf);
    assert_int_equal(strncmp(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    /* writing again over an existing spec works */
    assert_int_equal(krn_install_write(dir, "/opt/bin/rlhf-kernel", err, sizeof err), 0);
    /* an unwritable place gives a clear error */
    assert_int_equal(krn_install_write("/proc/no/such/dir", "/x", err, sizeof err), -1);
    assert_int_equal(strncmp(err, "cannot create directory '/proc/no'", 34), 0);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
