/* Display API through a recording sink: stream batching and ordering, displays with
 * transient ids, rate-limited updates, execute_result needs text/plain, one error per cell,
 * pager payload, silent contexts, input(), the interrupt flag, and publishing from worker
 * threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "krn_display.h"
#include "rec_sink.h"

static void test_stream_batching(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    krn_out_stream(o, KRN_STDOUT, "a\n", 2);
    krn_out_printf(o, KRN_STDOUT, "%d\n", 42);
    assert_int_equal(rec_count(&m), 0);      /* still batched */
    krn_out_stream(o, KRN_STDERR, "e\n", 2); /* switching stream flushes stdout first */
    assert_int_equal(rec_count(&m), 1);
    krn_out_finish(o);
    assert_int_equal(rec_count(&m), 2);
    assert_string_equal(rec_type(&m, 0), "stream");
    assert_string_equal(rec_str(&m, 0, "name"), "stdout");
    assert_string_equal(rec_str(&m, 0, "text"), "a\n42\n");
    assert_string_equal(rec_str(&m, 1, "name"), "stderr");
    assert_string_equal(rec_str(&m, 1, "text"), "e\n");
    krn_out_free(o);
    rec_free(&m);
}

static void test_display_and_result(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 7, false);
    krn_out_stream(o, KRN_STDOUT, "before\n", 7);
    assert_int_equal(krn_out_display_text(o, "shown", "d1", false), 0);
    cJSON *bad = cJSON_CreateObject();
    cJSON_AddStringToObject(bad, "image/svg+xml", "<svg/>");
    assert_int_equal(krn_out_result(o, bad, NULL), KRN_OUT_EINVAL);
    assert_int_equal(krn_out_result_text(o, "15"), 0);
    krn_out_clear(o, true);
    krn_out_finish(o);
    assert_int_equal(rec_count(&m), 4);
    assert_string_equal(rec_type(&m, 0), "stream"); /* flushed before the display */
    assert_string_equal(rec_type(&m, 1), "display_data");
    cJSON *c = rec_content(&m, 1);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "data"), "text/plain")->valuestring, "shown");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "transient"), "display_id")->valuestring, "d1");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(c, "metadata")));
    assert_string_equal(rec_type(&m, 2), "execute_result");
    assert_int_equal(cJSON_GetObjectItem(rec_content(&m, 2), "execution_count")->valueint, 7);
    assert_string_equal(krn_out_result_plain(o), "15");
    assert_string_equal(rec_type(&m, 3), "clear_output");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec_content(&m, 3), "wait")));
    krn_out_free(o);
    rec_free(&m);
}

static void test_update_rate_limit(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    assert_int_equal(krn_out_display_text(o, "v0", NULL, true), KRN_OUT_EINVAL); /* needs id */
    krn_out_display_text(o, "v0", "p", false);
    krn_out_display_text(o, "v1", "p", true); /* first update: sent */
    krn_out_display_text(o, "v2", "p", true); /* within 250 ms: held back */
    krn_out_display_text(o, "v3", "p", true); /* replaces v2 */
    assert_int_equal(rec_count(&m), 2);
    krn_out_finish(o); /* the final frame is always sent */
    assert_int_equal(rec_count(&m), 3);
    assert_string_equal(rec_type(&m, 2), "update_display_data");
    cJSON *c = rec_content(&m, 2);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "data"), "text/plain")->valuestring, "v3");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "transient"), "display_id")->valuestring, "p");
    krn_out_free(o);
    rec_free(&m);
}

/* A final update goes out at once, whatever the rate limit, and replaces the held-back
 * one (which is then not sent again at the end of the cell). */
static void test_update_final(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    krn_out_display_text(o, "v0", "p", false);
    krn_out_display_text(o, "v1", "p", true); /* sent */
    krn_out_display_text(o, "v2", "p", true); /* held back */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text/plain", "last");
    assert_int_equal(krn_out_update_display_final(o, d, NULL, "p"), 0);
    assert_int_equal(rec_count(&m), 3);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(rec_content(&m, 2), "data"), "text/plain")
            ->valuestring,
        "last");
    krn_out_display_text(o, "other", NULL, false);
    krn_out_finish(o); /* v2 was dropped: nothing more for "p" */
    assert_int_equal(rec_count(&m), 4);
    assert_string_equal(rec_type(&m, 3), "display_data");
    assert_int_equal(krn_out_update_display_final(o, cJSON_CreateObject(), NULL, NULL),
                     KRN_OUT_EINVAL);
    krn_out_free(o);
    rec_free(&m);
}

/* With a live sink, non-final updates (sent at once, held back and sent at the end) go
 * through it with their display id; display_data and final frames through publish. */
static char live_ids[8][16];
static int n_live;

static void live_publish(void *s, const char *type, cJSON *content, const char *display_id)
{
    assert_string_equal(type, "update_display_data");
    if (n_live < 8) snprintf(live_ids[n_live++], sizeof live_ids[0], "%s", display_id);
    rec_publish(s, "live", content);
}

static void test_live_frames_go_to_the_live_sink(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    n_live = 0;
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    krn_out_set_live_sink(o, live_publish);
    krn_out_display_text(o, "v0", "p", false);
    krn_out_display_text(o, "v1", "p", true); /* live, sent */
    krn_out_display_text(o, "v2", "p", true); /* live, held back */
    krn_out_display_text(o, "w0", "q", false);
    krn_out_display_text(o, "w1", "q", true); /* live, sent */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text/plain", "last");
    krn_out_update_display_final(o, d, NULL, "p"); /* final: publish */
    krn_out_display_text(o, "w2", "q", true);      /* live, held back */
    krn_out_finish(o);                             /* sends w2 through the live sink */
    assert_int_equal(rec_count(&m), 6);
    const char *types[] = {"display_data", "live", "display_data", "live",
                           "update_display_data", "live"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(rec_type(&m, i), types[i]);
    assert_int_equal(n_live, 3);
    assert_string_equal(live_ids[0], "p");
    assert_string_equal(live_ids[1], "q");
    assert_string_equal(live_ids[2], "q");
    krn_out_free(o);
    rec_free(&m);
}

static void test_one_error_and_pager(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    krn_out_pager(o, "help text");
    krn_out_stream(o, KRN_STDOUT, "x", 1);
    const char *tb[2] = {"%nosuch", "^"};
    krn_out_error(o, "NameError", "cell:1:1: unknown", tb, 2);
    krn_out_error(o, "Other", "second", NULL, 0);
    krn_out_finish(o);
    assert_int_equal(rec_count(&m), 2);
    assert_string_equal(rec_type(&m, 0), "stream");
    assert_string_equal(rec_type(&m, 1), "error");
    assert_string_equal(rec_str(&m, 1, "ename"), "NameError");
    assert_string_equal(rec_str(&m, 1, "evalue"), "cell:1:1: unknown");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec_content(&m, 1), "traceback")), 2);
    assert_true(krn_out_has_error(o));
    assert_string_equal(krn_out_error_name(o), "NameError");
    cJSON *p = krn_out_take_payload(o);
    char *s = cJSON_PrintUnformatted(p);
    assert_string_equal(
        s, "[{\"source\":\"page\",\"data\":{\"text/plain\":\"help text\"},\"start\":0}]");
    free(s);
    cJSON_Delete(p);
    krn_out_free(o);
    rec_free(&m);
}

/* An error published without traceback lines gets the one line "ename: evalue", so front
 * ends that show only the traceback show the message. */
static void test_error_without_traceback(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    krn_out_error(o, "Interrupted", "interrupted at step 74 of 4000 (p)", NULL, 0);
    krn_out_finish(o);
    assert_int_equal(rec_count(&m), 1);
    assert_string_equal(rec_str(&m, 0, "evalue"), "interrupted at step 74 of 4000 (p)");
    char *tb = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec_content(&m, 0), "traceback"));
    assert_string_equal(tb, "[\"Interrupted: interrupted at step 74 of 4000 (p)\"]");
    free(tb);
    assert_int_equal(cJSON_GetArraySize(krn_out_error_traceback(o)), 1);
    krn_out_free(o);
    rec_free(&m);
}

static void test_silent_input_interrupt(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    atomic_int flag = 0;
    krn_out *o = krn_out_new(&rec_vt, &m, &flag, 1, true);
    krn_out_stream(o, KRN_STDOUT, "x", 1);
    krn_out_display_text(o, "y", NULL, false);
    krn_out_error(o, "E", "v", NULL, 0);
    krn_out_finish(o);
    assert_int_equal(rec_count(&m), 0); /* silent */
    assert_true(krn_out_has_error(o));  /* but the reply still knows */
    char *reply = NULL;
    assert_int_equal(krn_out_input(o, "name? ", false, &reply), KRN_OUT_ENOSTDIN);
    m.input_reply = "Ada";
    assert_int_equal(krn_out_input(o, "name? ", false, &reply), 0);
    assert_string_equal(reply, "Ada");
    assert_string_equal(m.last_prompt, "name? ");
    free(reply);
    assert_false(krn_out_interrupted(o));
    atomic_store(&flag, 1);
    assert_true(krn_out_interrupted(o));
    krn_out_free(o);
    rec_free(&m);
}

static void *worker(void *arg)
{
    krn_out *o = arg;
    for (int i = 0; i < 1000; i++)
        krn_out_printf(o, KRN_STDOUT, "line %04d\n", i);
    return NULL;
}

static void test_threads(void **st)
{
    (void)st;
    rec_sink m;
    rec_init(&m);
    krn_out *o = krn_out_new(&rec_vt, &m, NULL, 1, false);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, o);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    krn_out_finish(o);
    size_t total = 0;
    for (int i = 0; i < rec_count(&m); i++)
        total += strlen(rec_str(&m, i, "text"));
    assert_int_equal(total, 4 * 1000 * 10);
    krn_out_free(o);
    rec_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_batching),        cmocka_unit_test(test_display_and_result),
        cmocka_unit_test(test_update_rate_limit), cmocka_unit_test(test_update_final), cmocka_unit_test(test_live_frames_go_to_the_live_sink),      cmocka_unit_test(test_one_error_and_pager),
        cmocka_unit_test(test_error_without_traceback),
        cmocka_unit_test(test_silent_input_interrupt), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
