/* Headless runner pieces: splitting .rlhf scripts into cells at '# %%' lines, and UTF-8
 * helpers (validation, repair, code-point/byte offsets) used by the wire and completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krn_headless.h"
#include "krn_utf8.h"

static void free_cells(char **c, int n)
{
    for (int i = 0; i < n; i++)
        free(c[i]);
    free(c);
}

static void test_split_script(void **st)
{
    (void)st;
    char **c;
    int n = krn_headless_split_script("%echo a\n# %%\n%echo b\n1 + 1\n# %% [markdown]\n# text\n"
                                      "# %% second title\n\n# %%\n2\n",
                                      &c);
    assert_int_equal(n, 3);
    assert_string_equal(c[0], "%echo a\n");
    assert_string_equal(c[1], "%echo b\n1 + 1\n");
    assert_string_equal(c[2], "2\n");
    free_cells(c, n);
    n = krn_headless_split_script("# %%\n%echo only", &c);
    assert_int_equal(n, 1);
    assert_string_equal(c[0], "%echo only");
    free_cells(c, n);
    n = krn_headless_split_script("", &c);
    assert_int_equal(n, 0);
    free_cells(c, n);
}

static void test_utf8(void **st)
{
    (void)st;
    assert_true(krn_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 14));
    assert_false(krn_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82", 13)); /* cut */
    assert_false(krn_utf8_valid("\xc3", 1));                                       /* truncated */
    assert_false(krn_utf8_valid("\xe0\x80\xaf", 3));                               /* overlong */
    assert_false(krn_utf8_valid("\xf4\x90\x80\x80", 4));                           /* > U+10FFFF */
    char *r = krn_utf8_repair("a\xffz\xc3", 4);
    assert_string_equal(r, "a\xef\xbf\xbdz\xef\xbf\xbd");
    free(r);
    const char *s = "\xc3\xa9x\xf0\x9f\x99\x82y";
    assert_int_equal(krn_utf8_cp_to_byte(s, 0), 0);
    assert_int_equal(krn_utf8_cp_to_byte(s, 1), 2);
    assert_int_equal(krn_utf8_cp_to_byte(s, 3), 7);
    assert_int_equal(krn_utf8_cp_to_byte(s, 99), 8);
    assert_int_equal(krn_utf8_byte_to_cp(s, 7), 3);
    assert_int_equal(krn_utf8_byte_to_cp(s, 8), 4);
}

/* A mock interpreter whose cell shows a live display (three frames), prints a line,
 * updates the display once more, and returns a result. */
static cJSON *bundle(const char *text, const char *svg)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text/plain", text);
    cJSON_AddStringToObject(d, "image/svg+xml", svg);
    return d;
}

static int live_execute(void *self, krn_out *out, const char *code, int count)
{
    (void)self;
    (void)code;
    (void)count;
    krn_out_display(out, bundle("frame0", "<svg>0</svg>"), NULL, "chart");
    krn_out_update_display(out, bundle("frame1", "<svg>1</svg>"), NULL, "chart");
    krn_out_update_display(out, bundle("frame2", "<svg>2</svg>"), NULL, "chart");
    krn_out_display_text(out, "plain display", NULL, false);
    krn_out_update_display(out, bundle("frame3", "<svg>3</svg>"), NULL, "chart");
    krn_out_result_text(out, "42");
    krn_out_pager(out, "help text"); /* %help NAME: printed after the cell's outputs */
    return KRN_EXEC_OK;
}

static const krn_interp_vtable live_vt = {.execute = live_execute};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Only the last frame of a live display is printed and saved (when another output of the
 * cell arrives, and at the end of the cell), not every update; pager text is printed. */
static void test_live_display_prints_last_frame(void **st)
{
    (void)st;
    char dir[] = "/tmp/krn-headless-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[256], out_path[256], svgs[256], path[300];
    snprintf(script, sizeof script, "%s/cells.rlhf", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(svgs, sizeof svgs, "%s/svg", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("cell\n", f);
    fclose(f);
    krn_interp it = {.vt = &live_vt};
    fflush(stdout);
    int saved = dup(1);
    FILE *o = fopen(out_path, "w");
    assert_non_null(o);
    dup2(fileno(o), 1);
    int rc = krn_headless_run(&it, script, svgs);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(o);
    assert_int_equal(rc, 0);
    /* The output context rate-limits updates (frame1 goes out at once, frame2 is superseded
     * by frame3, which is sent at the end of the cell). The runner holds the live display:
     * frame0 is replaced by frame1, which is printed when the plain display arrives; frame3
     * is printed at the end of the cell. */
    assert_string_equal(slurp(out_path), "frame1\nplain display\n42\nframe3\nhelp text\n");
    snprintf(path, sizeof path, "%s/cell1-1.svg", svgs);
    assert_string_equal(slurp(path), "<svg>1</svg>");
    snprintf(path, sizeof path, "%s/cell1-2.svg", svgs);
    assert_string_equal(slurp(path), "<svg>3</svg>");
    snprintf(path, sizeof path, "%s/cell1-3.svg", svgs);
    assert_null(slurp(path));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_script),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_live_display_prints_last_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
