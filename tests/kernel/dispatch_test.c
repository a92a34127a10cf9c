/* Dispatch without sockets: a recording transport and a mock interpreter drive
 * krn_dispatch. Checks busy -> side effects -> reply -> idle with the request as parent
 * (shell and control, kernel_info and unknown types included), execute semantics
 * (execute_input first, counter, silent, store_history, user_expressions, one error,
 * stop_on_error / ExecutionAborted, Interrupted), complete/inspect/is_complete/history
 * replies, comms, interrupt and shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_conn.h"
#include "krn_kernel.h"
#include "krn_log.h"

/* ---- recording transport ------------------------------------------------------------- */

typedef struct rec {
    cJSON *log; /* [{kind, msg_type, parent, content}] */
    const char *input_reply;
    char prompt[64];
    int holds; /* hold_queued calls */
} rec;

static void record(krn_kernel *k, const char *kind, const cJSON *parent, const char *type,
                   cJSON *content)
{
    rec *r = k->tx_data;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "kind", kind);
    cJSON_AddStringToObject(e, "msg_type", type);
    const cJSON *pid = cJSON_GetObjectItem(parent, "msg_id");
    cJSON_AddStringToObject(e, "parent", cJSON_IsString(pid) ? pid->valuestring : "");
    cJSON_AddItemToObject(e, "content", content);
    cJSON_AddItemToArray(r->log, e);
}

static int t_reply(krn_kernel *k, krn_req *r, const char *type, cJSON *content)
{
    record(k, r->channel == KRN_CH_CONTROL ? "control" : "shell", r->msg->header, type, content);
    return 0;
}

static int t_publish(krn_kernel *k, const cJSON *parent, const char *type, cJSON *content)
{
    record(k, "iopub", parent, type, content);
    return 0;
}

static int t_input(krn_kernel *k, const krn_msg_in *req, const char *prompt, bool pw, char **out)
{
    (void)req;
    (void)pw;
    rec *r = k->tx_data;
    snprintf(r->prompt, sizeof r->prompt, "%s", prompt);
    *out = strdup(r->input_reply);
    return 0;
}

/* Records the call in the trace: it must come before the failing execute's reply. */
static void t_hold(krn_kernel *k)
{
    rec *r = k->tx_data;
    r->holds++;
    record(k, "shell", NULL, "hold_queued", cJSON_CreateObject());
}

static const krn_transport rec_tx = {t_reply, t_publish, t_input, t_hold, NULL};

/* ---- mock interpreter ---------------------------------------------------------------- */

static int interrupts;

static int m_execute(void *self, krn_out *out, const char *code, int count)
{
    (void)self;
    (void)count;
    if (strcmp(code, "print") == 0) {
        krn_out_stream(out, KRN_STDOUT, "hi\n", 3);
        krn_out_result_text(out, "42");
        krn_out_pager(out, "paged");
        return KRN_EXEC_OK;
    }
    if (strcmp(code, "fail") == 0) {
        krn_out_stream(out, KRN_STDOUT, "partial\n", 8);
        const char *tb[1] = {"line"};
        krn_out_error(out, "BadThing", "cell:1:1: bad", tb, 1);
        return KRN_EXEC_ERROR;
    }
    if (strcmp(code, "silent-fail") == 0) return KRN_EXEC_ERROR;
    if (strcmp(code, "stopped") == 0) return KRN_EXEC_INTERRUPTED;
    if (strcmp(code, "ask") == 0) {
        char *r = NULL;
        int rc = krn_out_input(out, "name?", false, &r);
        if (rc != 0) {
            krn_out_error(out, "NoInput", "no stdin", NULL, 0);
            return KRN_EXEC_ERROR;
        }
        krn_out_printf(out, KRN_STDOUT, "got %s\n", r);
        free(r);
    }
    return KRN_EXEC_OK;
}

static int m_evaluate(void *self, const char *expr, char **text, char ename[64], char ev[256])
{
    (void)self;
    if (strcmp(expr, "x") == 0) {
        *text = strdup("7");
        return 0;
    }
    snprintf(ename, 64, "NameError");
    snprintf(ev, 256, "no %s", expr);
    return -1;
}

static int m_complete(void *self, const char *code, size_t cursor, krn_completion *c)
{
    (void)self;
    (void)code;
    c->cursor_start = 1;
    c->cursor_end = cursor;
    return krn_completion_add(c, "abc");
}

static int m_inspect(void *self, const char *code, size_t cursor, int detail, char **text)
{
    (void)self;
    (void)cursor;
    (void)detail;
    if (strcmp(code, "x") != 0) return 0;
    *text = strdup("x is seven");
    return 1;
}

static int m_is_complete(void *self, const char *code, char indent[32])
{
    (void)self;
    if (strcmp(code, "(") == 0) {
        strcpy(indent, "  ");
        return KRN_INCOMPLETE;
    }
    return KRN_COMPLETE;
}

static void m_interrupt(void *self)
{
    (void)self;
    interrupts++;
}

static const krn_interp_vtable mock_vt = {m_execute,     m_evaluate,  m_complete, m_inspect,
                                          m_is_complete, m_interrupt, NULL};

/* ---- fixture ------------------------------------------------------------------------- */

typedef struct fx {
    krn_kernel k;
    krn_interp it;
    rec r;
    atomic_int cancel;
    int next_id;
} fx;

static int setup(void **st)
{
    fx *f = calloc(1, sizeof *f);
    f->it.vt = &mock_vt;
    f->it.info = (krn_language_info){.name = "mock",
                                     .version = "1",
                                     .mimetype = "text/x-mock",
                                     .file_extension = ".mock",
                                     .pygments_lexer = "text",
                                     .codemirror_mode = "text/plain",
                                     .nbconvert_exporter = "script",
                                     .banner = "b"};
    f->r.log = cJSON_CreateArray();
    f->k.tx = &rec_tx;
    f->k.tx_data = &f->r;
    f->k.interp = &f->it;
    f->k.history = krn_history_new();
    f->k.cancel = &f->cancel;
    interrupts = 0;
    krn_log_set_level(KRN_LOG_ERROR); /* the unknown-type warnings are expected */
    *st = f;
    return 0;
}

static int teardown(void **st)
{
    fx *f = *st;
    cJSON_Delete(f->r.log);
    krn_history_free(f->k.history);
    free(f);
    return 0;
}

/* Set by a test: the next requests are dispatched as refused by the decoder. */
static const char *g_rejected;

/* Dispatches msg_type with content (JSON text); returns the request's msg_id. */
static const char *send_req(fx *f, int channel, const char *type, const char *content,
                            bool aborting)
{
    static char id[32];
    snprintf(id, sizeof id, "req-%d", ++f->next_id);
    krn_msg_in m;
    memset(&m, 0, sizeof m);
    m.header = cJSON_CreateObject();
    cJSON_AddStringToObject(m.header, "msg_id", id);
    cJSON_AddStringToObject(m.header, "msg_type", type);
    m.msg_type = cJSON_GetObjectItem(m.header, "msg_type")->valuestring;
    m.parent = cJSON_CreateObject();
    m.metadata = cJSON_CreateObject();
    m.content = cJSON_Parse(content);
    assert_non_null(m.content);
    while (cJSON_GetArraySize(f->r.log)) /* keep only this request's messages */
        cJSON_DeleteItemFromArray(f->r.log, 0);
    krn_req r = {&f->k, NULL, channel, &m, krn_wire_known_type(type), aborting, g_rejected};
    krn_dispatch(&r);
    krn_msg_in_free(&m);
    return id;
}

/* "kind:msg_type" of each recorded message, joined by spaces */
static char *trace(fx *f)
{
    static char buf[1024];
    buf[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, f->r.log)
    {
        const cJSON *c = cJSON_GetObjectItem(e, "content");
        const char *type = cJSON_GetObjectItem(e, "msg_type")->valuestring;
        if (buf[0]) strcat(buf, " ");
        strcat(buf, cJSON_GetObjectItem(e, "kind")->valuestring);
        strcat(buf, ":");
        if (strcmp(type, "status") == 0)
            strcat(buf, cJSON_GetObjectItem(c, "execution_state")->valuestring);
        else
            strcat(buf, type);
    }
    return buf;
}

static cJSON *content_of(fx *f, const char *type)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, f->r.log) if (strcmp(cJSON_GetObjectItem(e, "msg_type")->valuestring,
                                               type) == 0) return cJSON_GetObjectItem(e, "content");
    fail_msg("no %s recorded", type);
    return NULL;
}

static void all_parented(fx *f, const char *id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, f->r.log)
        assert_string_equal(cJSON_GetObjectItem(e, "parent")->valuestring, id);
}

static char *json(const cJSON *c)
{
    static char buf[2048];
    char *s = cJSON_PrintUnformatted(c);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    return buf;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_kernel_info_shell_and_control(void **st)
{
    fx *f = *st;
    const char *id = send_req(f, KRN_CH_SHELL, "kernel_info_request", "{}", false);
    assert_string_equal(trace(f), "iopub:busy shell:kernel_info_reply iopub:idle");
    all_parented(f, id);
    cJSON *c = content_of(f, "kernel_info_reply");
    assert_string_equal(cJSON_GetObjectItem(c, "protocol_version")->valuestring, "5.3");
    assert_string_equal(cJSON_GetObjectItem(c, "implementation")->valuestring, "rlhf-kernel");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "debugger")));
    assert_string_equal(json(cJSON_GetObjectItem(c, "help_links")), "[]");
    assert_string_equal(json(cJSON_GetObjectItem(c, "language_info")),
                        "{\"name\":\"mock\",\"version\":\"1\",\"mimetype\":\"text/x-mock\","
                        "\"file_extension\":\".mock\",\"pygments_lexer\":\"text\","
                        "\"codemirror_mode\":\"text/plain\",\"nbconvert_exporter\":\"script\"}");
    id = send_req(f, KRN_CH_CONTROL, "kernel_info_request", "{}", false);
    assert_string_equal(trace(f), "iopub:busy control:kernel_info_reply iopub:idle");
    all_parented(f, id);
}

static void test_execute_ok(void **st)
{
    fx *f = *st;
    const char *id =
        send_req(f, KRN_CH_SHELL, "execute_request",
                 "{\"code\":\"print\",\"user_expressions\":{\"a\":\"x\",\"b\":\"y\"}}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:execute_input iopub:stream "
                                  "iopub:execute_result shell:execute_reply iopub:idle");
    all_parented(f, id);
    assert_string_equal(json(content_of(f, "execute_input")),
                        "{\"code\":\"print\",\"execution_count\":1}");
    assert_int_equal(
        cJSON_GetObjectItem(content_of(f, "execute_result"), "execution_count")->valueint, 1);
    cJSON *r = content_of(f, "execute_reply");
    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "ok");
    assert_int_equal(cJSON_GetObjectItem(r, "execution_count")->valueint, 1);
    assert_string_equal(json(cJSON_GetObjectItem(r, "payload")),
                        "[{\"source\":\"page\",\"data\":{\"text/plain\":\"paged\"},\"start\":0}]");
    assert_string_equal(
        json(cJSON_GetObjectItem(r, "user_expressions")),
        "{\"a\":{\"status\":\"ok\",\"data\":{\"text/plain\":\"7\"},\"metadata\":{}},"
        "\"b\":{\"status\":\"error\",\"ename\":\"NameError\",\"evalue\":\"no y\","
        "\"traceback\":[]}}");
    send_req(f, KRN_CH_SHELL, "history_request",
             "{\"hist_access_type\":\"tail\",\"n\":5,\"output\":true}", false);
    assert_string_equal(json(cJSON_GetObjectItem(content_of(f, "history_reply"), "history")),
                        "[[1,1,[\"print\",\"42\"]]]");
}

static void test_execute_counter_silent_store_history(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"print\",\"silent\":true}", false);
    assert_string_equal(trace(f), "iopub:busy shell:execute_reply iopub:idle");
    assert_int_equal(
        cJSON_GetObjectItem(content_of(f, "execute_reply"), "execution_count")->valueint, 0);
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"x\",\"store_history\":false}", false);
    assert_int_equal(
        cJSON_GetObjectItem(content_of(f, "execute_input"), "execution_count")->valueint, 0);
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"x\"}", false);
    assert_int_equal(
        cJSON_GetObjectItem(content_of(f, "execute_reply"), "execution_count")->valueint, 1);
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"x\"}", false);
    assert_int_equal(
        cJSON_GetObjectItem(content_of(f, "execute_reply"), "execution_count")->valueint, 2);
    send_req(f, KRN_CH_SHELL, "history_request", "{\"hist_access_type\":\"range\",\"start\":1}",
             false);
    assert_string_equal(json(cJSON_GetObjectItem(content_of(f, "history_reply"), "history")),
                        "[[1,1,\"x\"],[1,2,\"x\"]]");
}

static void test_execute_error_and_abort(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"fail\"}", false);
    /* the requests queued so far are held BEFORE the reply goes out: a request sent after
     * the client saw the reply is never aborted */
    assert_string_equal(trace(f), "iopub:busy iopub:execute_input iopub:stream iopub:error "
                                  "shell:hold_queued shell:execute_reply iopub:idle");
    cJSON *r = content_of(f, "execute_reply");
    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(r, "ename")->valuestring, "BadThing");
    assert_string_equal(cJSON_GetObjectItem(r, "evalue")->valuestring, "cell:1:1: bad");
    assert_string_equal(json(cJSON_GetObjectItem(r, "traceback")), "[\"line\"]");
    assert_int_equal(f->r.holds, 1);
    /* a queued execute is answered without running */
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"print\"}", true);
    assert_string_equal(trace(f), "iopub:busy shell:execute_reply iopub:idle");
    r = content_of(f, "execute_reply");
    assert_string_equal(cJSON_GetObjectItem(r, "status")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(r, "ename")->valuestring, "ExecutionAborted");
    assert_int_equal(f->r.holds, 1); /* an aborted execute holds nothing more */
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"fail\",\"stop_on_error\":false}",
             false);
    assert_int_equal(f->r.holds, 1);
}

static void test_execute_without_error_message(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"silent-fail\"}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:execute_input iopub:error "
                                  "shell:hold_queued shell:execute_reply iopub:idle");
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "error"), "ename")->valuestring, "Error");
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"stopped\"}", false);
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "error"), "ename")->valuestring,
                        "Interrupted");
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "execute_reply"), "ename")->valuestring,
                        "Interrupted");
}

static void test_input(void **st)
{
    fx *f = *st;
    f->r.input_reply = "Ada";
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"ask\",\"allow_stdin\":true}", false);
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "stream"), "text")->valuestring,
                        "got Ada\n");
    assert_string_equal(f->r.prompt, "name?");
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"ask\",\"allow_stdin\":false}", false);
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "execute_reply"), "ename")->valuestring,
                        "NoInput");
}

static void test_unknown_and_wrong_channel(void **st)
{
    fx *f = *st;
    const char *id = send_req(f, KRN_CH_SHELL, "frobnicate_request", "{}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:idle");
    all_parented(f, id);
    send_req(f, KRN_CH_CONTROL, "execute_request", "{\"code\":\"print\"}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:idle");
    assert_int_equal(f->k.execution_count, 0);
}

/* A request the decoder refused (an escaped NUL): an error reply of its type naming the
 * reason, nothing run; an execute also publishes its error and uses no count. */
static void test_rejected_request(void **st)
{
    fx *f = *st;
    g_rejected = "content frame holds a NUL character (\\u0000) in a string";
    const char *id = send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"print\"}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:error shell:execute_reply iopub:idle");
    all_parented(f, id);
    cJSON *r = content_of(f, "execute_reply");
    assert_string_equal(
        json(r), "{\"status\":\"error\",\"ename\":\"ValueError\",\"evalue\":\"execute_request "
                 "rejected: content frame holds a NUL character (\\\\u0000) in a string\","
                 "\"traceback\":[],\"execution_count\":0,\"user_expressions\":{},\"payload\":[]}");
    assert_int_equal(f->k.execution_count, 0);
    send_req(f, KRN_CH_SHELL, "complete_request", "{\"code\":\"x\"}", false);
    assert_string_equal(trace(f), "iopub:busy shell:complete_reply iopub:idle");
    assert_string_equal(cJSON_GetObjectItem(content_of(f, "complete_reply"), "status")->valuestring,
                        "error");
    send_req(f, KRN_CH_SHELL, "comm_msg", "{}", false); /* no reply type: logged only */
    assert_string_equal(trace(f), "iopub:busy iopub:idle");
    g_rejected = NULL;
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"print\"}", false);
    assert_int_equal(f->k.execution_count, 1);
}

static void test_complete_inspect_is_complete(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_SHELL, "complete_request", "{\"code\":\"é日x\"}", false);
    assert_string_equal(json(content_of(f, "complete_reply")),
                        "{\"status\":\"ok\",\"matches\":[\"abc\"],\"cursor_start\":1,"
                        "\"cursor_end\":3,\"metadata\":{}}");
    send_req(f, KRN_CH_SHELL, "complete_request", "{\"code\":\"ab\",\"cursor_pos\":99}", false);
    assert_int_equal(cJSON_GetObjectItem(content_of(f, "complete_reply"), "cursor_end")->valueint,
                     2);
    send_req(f, KRN_CH_SHELL, "inspect_request", "{\"code\":\"x\",\"cursor_pos\":1}", false);
    assert_string_equal(json(content_of(f, "inspect_reply")),
                        "{\"status\":\"ok\",\"found\":true,\"data\":{\"text/plain\":\"x is "
                        "seven\"},\"metadata\":{}}");
    send_req(f, KRN_CH_SHELL, "inspect_request", "{\"code\":\"y\",\"cursor_pos\":1}", false);
    assert_string_equal(json(content_of(f, "inspect_reply")),
                        "{\"status\":\"ok\",\"found\":false,\"data\":{},\"metadata\":{}}");
    send_req(f, KRN_CH_SHELL, "is_complete_request", "{\"code\":\"(\"}", false);
    assert_string_equal(json(content_of(f, "is_complete_reply")),
                        "{\"status\":\"incomplete\",\"indent\":\"  \"}");
    send_req(f, KRN_CH_SHELL, "is_complete_request", "{\"code\":\"1\"}", false);
    assert_string_equal(json(content_of(f, "is_complete_reply")), "{\"status\":\"complete\"}");
}

static void test_comms(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_SHELL, "comm_info_request", "{}", false);
    assert_string_equal(json(content_of(f, "comm_info_reply")), "{\"status\":\"ok\",\"comms\":{}}");
    const char *id = send_req(f, KRN_CH_SHELL, "comm_open",
                              "{\"comm_id\":\"c1\",\"target_name\":\"nope\",\"data\":{}}", false);
    assert_string_equal(trace(f), "iopub:busy iopub:comm_close iopub:idle");
    all_parented(f, id);
    assert_string_equal(json(content_of(f, "comm_close")), "{\"comm_id\":\"c1\",\"data\":{}}");
}

static void test_interrupt_and_shutdown(void **st)
{
    fx *f = *st;
    send_req(f, KRN_CH_CONTROL, "interrupt_request", "{}", false);
    assert_string_equal(trace(f), "iopub:busy control:interrupt_reply iopub:idle");
    assert_int_equal(atomic_load(&f->cancel), 1);
    assert_int_equal(interrupts, 1);
    send_req(f, KRN_CH_SHELL, "execute_request", "{\"code\":\"x\"}", false);
    assert_int_equal(atomic_load(&f->cancel), 0); /* a new execution starts clean */
    send_req(f, KRN_CH_SHELL, "shutdown_request", "{\"restart\":true}", false);
    assert_string_equal(trace(f), "iopub:busy shell:shutdown_reply iopub:idle");
    assert_string_equal(json(content_of(f, "shutdown_reply")),
                        "{\"status\":\"ok\",\"restart\":true}");
    assert_true(atomic_load(&f->k.stop));
    assert_true(atomic_load(&f->k.restart));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_info_shell_and_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execute_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execute_counter_silent_store_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execute_error_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execute_without_error_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_wrong_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_inspect_is_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_and_shutdown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
