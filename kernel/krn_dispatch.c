/* krn_dispatch: the table msg_type -> handler, busy/idle around every request, and the
 * handlers themselves (kernel_info, execute, complete, inspect, is_complete, history,
 * comm_info, comm_open, interrupt, shutdown) and the execute sink (display API -> IOPub,
 * input() -> stdin). No sockets here: everything leaves through the kernel's transport
 * (krn_server.c over ZeroMQ, a recording transport in tests). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_conn.h"
#include "krn_kernel.h"
#include "krn_log.h"
#include "krn_msg.h"
#include "krn_utf8.h"

int krn_reply(krn_req *r, const char *msg_type, cJSON *content)
{
    return r->k->tx->reply(r->k, r, msg_type, content);
}

static int publish(krn_kernel *k, const cJSON *parent, const char *msg_type, cJSON *content)
{
    return k->tx->publish(k, parent, msg_type, content);
}

static void publish_status(krn_kernel *k, const cJSON *parent, const char *state)
{
    cJSON *c = cJSON_CreateObject();
    if (c) cJSON_AddStringToObject(c, "execution_state", state);
    publish(k, parent, "status", c);
}

/* ---- small JSON helpers --------------------------------------------------------------- */

static const char *get_str(const cJSON *o, const char *k, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static bool get_bool(const cJSON *o, const char *k, bool dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static int get_int(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble) return dflt;
    if (v->valuedouble > 1e9) return 1000000000;
    if (v->valuedouble < -1e9) return -1000000000;
    return (int)v->valuedouble;
}

static cJSON *status_ok(void)
{
    cJSON *c = cJSON_CreateObject();
    if (c) cJSON_AddStringToObject(c, "status", "ok");
    return c;
}

/* ---- kernel_info ---------------------------------------------------------------------- */

static void h_kernel_info(krn_req *r)
{
    const krn_language_info *li = &r->k->interp->info;
    cJSON *c = status_ok();
    if (!c) return;
    cJSON_AddStringToObject(c, "protocol_version", KRN_PROTOCOL_VERSION);
    cJSON_AddStringToObject(c, "implementation", "rlhf-kernel");
    cJSON_AddStringToObject(c, "implementation_version", RLHF_VERSION);
    cJSON_AddStringToObject(c, "banner", li->banner ? li->banner : "");
    cJSON *l = cJSON_AddObjectToObject(c, "language_info");
    if (l) {
        cJSON_AddStringToObject(l, "name", li->name ? li->name : "");
        cJSON_AddStringToObject(l, "version", li->version ? li->version : "");
        cJSON_AddStringToObject(l, "mimetype", li->mimetype ? li->mimetype : "text/plain");
        cJSON_AddStringToObject(l, "file_extension", li->file_extension ? li->file_extension : "");
        cJSON_AddStringToObject(l, "pygments_lexer", li->pygments_lexer ? li->pygments_lexer : "");
        cJSON_AddStringToObject(l, "codemirror_mode",
                                li->codemirror_mode ? li->codemirror_mode : "");
        cJSON_AddStringToObject(l, "nbconvert_exporter",
                                li->nbconvert_exporter ? li->nbconvert_exporter : "script");
        for (const char *const *e = li->extra; e && e[0] && e[1]; e += 2)
            cJSON_AddStringToObject(l, e[0], e[1]);
    }
    cJSON *links = cJSON_AddArrayToObject(c, "help_links");
    if (links && li->help_text && li->help_url) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "text", li->help_text);
        cJSON_AddStringToObject(h, "url", li->help_url);
        cJSON_AddItemToArray(links, h);
    }
    cJSON_AddBoolToObject(c, "debugger", 0);
    krn_reply(r, "kernel_info_reply", c);
}

/* ---- execute sink: display API -> IOPub / stdin ---------------------------------------- */

typedef struct exec_sink {
    krn_kernel *k;
    const krn_msg_in *req;
    bool allow_stdin;
} exec_sink;

static void sink_publish(void *s, const char *msg_type, cJSON *content)
{
    exec_sink *es = s;
    publish(es->k, es->req->header, msg_type, content);
}

static void sink_publish_live(void *s, const char *msg_type, cJSON *content,
                              const char *display_id)
{
    exec_sink *es = s;
    krn_kernel *k = es->k;
    if (k->tx->publish_live)
        k->tx->publish_live(k, es->req->header, msg_type, content, display_id);
    else
        publish(k, es->req->header, msg_type, content);
}

static int sink_input(void *s, const char *prompt, bool password, char **reply)
{
    exec_sink *es = s;
    if (!es->allow_stdin) return KRN_OUT_ENOSTDIN;
    return es->k->tx->input(es->k, es->req, prompt, password, reply);
}

static const krn_sink_vtable exec_sink_vt = {sink_publish, sink_input};

/* ---- execute --------------------------------------------------------------------------- */

static void add_error_fields(cJSON *c, const char *ename, const char *evalue, const cJSON *tb)
{
    cJSON_AddStringToObject(c, "ename", ename);
    cJSON_AddStringToObject(c, "evalue", evalue);
    cJSON_AddItemToObject(c, "traceback", tb ? cJSON_Duplicate(tb, 1) : cJSON_CreateArray());
}

static cJSON *eval_user_expressions(krn_kernel *k, const cJSON *exprs)
{
    cJSON *res = cJSON_CreateObject();
    const cJSON *e;
    cJSON_ArrayForEach(e, exprs)
    {
        if (!res || !e->string) break;
        cJSON *one = cJSON_CreateObject();
        char *text = NULL, ename[64] = "NotImplementedError", evalue[256] = "";
        int rc = -1;
        if (!cJSON_IsString(e))
            snprintf(evalue, sizeof evalue, "user expression must be a string");
        else if (k->interp->vt->evaluate)
            rc = k->interp->vt->evaluate(k->interp->self, e->valuestring, &text, ename, evalue);
        else
            snprintf(evalue, sizeof evalue, "this interpreter cannot evaluate expressions");
        if (rc == 0 && text) {
            cJSON_AddStringToObject(one, "status", "ok");
            cJSON *d = cJSON_AddObjectToObject(one, "data");
            cJSON_AddStringToObject(d, "text/plain", text);
            cJSON_AddObjectToObject(one, "metadata");
        } else {
            cJSON_AddStringToObject(one, "status", "error");
            add_error_fields(one, ename, evalue, NULL);
        }
        free(text);
        cJSON_AddItemToObject(res, e->string, one);
    }
    return res;
}

static void h_execute(krn_req *r)
{
    krn_kernel *k = r->k;
    const cJSON *in = r->msg->content;
    const char *code = get_str(in, "code", NULL);
    if (r->aborting) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "status", "error");
        cJSON_AddNumberToObject(c, "execution_count", k->execution_count);
        add_error_fields(c, "ExecutionAborted", "", NULL);
        cJSON_AddObjectToObject(c, "user_expressions");
        cJSON_AddArrayToObject(c, "payload");
        krn_reply(r, "execute_reply", c);
        return;
    }
    if (!code) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "status", "error");
        cJSON_AddNumberToObject(c, "execution_count", k->execution_count);
        add_error_fields(c, "ValueError", "execute_request without a string 'code'", NULL);
        KRN_WARN("shell: execute_request without a string 'code'");
        krn_reply(r, "execute_reply", c);
        return;
    }
    bool silent = get_bool(in, "silent", false);
    bool store = !silent && get_bool(in, "store_history", true);
    bool stop_on_error = get_bool(in, "stop_on_error", true);
    atomic_store(k->cancel, 0);
    if (store) k->execution_count++;
    int count = k->execution_count;
    if (!silent) {
        cJSON *ei = cJSON_CreateObject();
        cJSON_AddStringToObject(ei, "code", code);
        cJSON_AddNumberToObject(ei, "execution_count", count);
        publish(k, r->msg->header, "execute_input", ei);
    }
    if (store) krn_history_add(k->history, count, code);
    exec_sink es = {k, r->msg, get_bool(in, "allow_stdin", true)};
    krn_out *out = krn_out_new(&exec_sink_vt, &es, k->cancel, count, silent);
    if (out) krn_out_set_live_sink(out, sink_publish_live);
    cJSON *c = cJSON_CreateObject();
    if (!out || !c) {
        krn_out_free(out);
        cJSON_Delete(c);
        KRN_ERROR("execute: out of memory");
        return;
    }
    int rc = k->interp->vt->execute(k->interp->self, out, code, count);
    krn_out_finish(out);
    if (rc != KRN_EXEC_OK && !krn_out_has_error(out)) {
        if (rc == KRN_EXEC_INTERRUPTED || atomic_load(k->cancel))
            krn_out_error(out, "Interrupted", "execution interrupted", NULL, 0);
        else
            krn_out_error(out, "Error", "the interpreter failed without an error message", NULL, 0);
    }
    if (krn_out_has_error(out)) {
        cJSON_AddStringToObject(c, "status", "error");
        cJSON_AddNumberToObject(c, "execution_count", count);
        add_error_fields(c, krn_out_error_name(out), krn_out_error_value(out),
                         krn_out_error_traceback(out));
        cJSON_AddObjectToObject(c, "user_expressions");
        cJSON_AddItemToObject(c, "payload", krn_out_take_payload(out));
        if (stop_on_error && k->tx->hold_queued) k->tx->hold_queued(k);
    } else {
        cJSON_AddStringToObject(c, "status", "ok");
        cJSON_AddNumberToObject(c, "execution_count", count);
        cJSON_AddItemToObject(c, "payload", krn_out_take_payload(out));
        cJSON_AddItemToObject(
            c, "user_expressions",
            eval_user_expressions(k, cJSON_GetObjectItemCaseSensitive(in, "user_expressions")));
    }
    if (store && krn_out_result_plain(out))
        krn_history_set_output(k->history, count, krn_out_result_plain(out));
    krn_out_free(out);
    krn_reply(r, "execute_reply", c);
}

/* ---- complete / inspect / is_complete --------------------------------------------------- */

static size_t cursor_of(const cJSON *in, const char *code)
{
    size_t ncp = krn_utf8_byte_to_cp(code, strlen(code));
    int cur = get_int(in, "cursor_pos", (int)ncp);
    if (cur < 0 || (size_t)cur > ncp) cur = (int)ncp;
    return (size_t)cur;
}

static void h_complete(krn_req *r)
{
    const char *code = get_str(r->msg->content, "code", "");
    size_t cur = cursor_of(r->msg->content, code);
    krn_completion comp = {NULL, 0, cur, cur};
    const krn_interp *it = r->k->interp;
    if (it->vt->complete && it->vt->complete(it->self, code, cur, &comp) != 0) {
        krn_completion_free(&comp);
        comp.cursor_start = comp.cursor_end = cur;
    }
    cJSON *c = status_ok();
    cJSON *m = cJSON_AddArrayToObject(c, "matches");
    for (size_t i = 0; i < comp.n; i++)
        cJSON_AddItemToArray(m, cJSON_CreateString(comp.matches[i]));
    cJSON_AddNumberToObject(c, "cursor_start", (double)comp.cursor_start);
    cJSON_AddNumberToObject(c, "cursor_end", (double)comp.cursor_end);
    cJSON_AddObjectToObject(c, "metadata");
    krn_completion_free(&comp);
    krn_reply(r, "complete_reply", c);
}

static void h_inspect(krn_req *r)
{
    const char *code = get_str(r->msg->content, "code", "");
    size_t cur = cursor_of(r->msg->content, code);
    const krn_interp *it = r->k->interp;
    char *text = NULL;
    int found = it->vt->inspect
                    ? it->vt->inspect(it->self, code, cur,
                                      get_int(r->msg->content, "detail_level", 0), &text)
                    : 0;
    cJSON *c = status_ok();
    cJSON_AddBoolToObject(c, "found", found == 1 && text);
    cJSON *d = cJSON_AddObjectToObject(c, "data");
    if (found == 1 && text) cJSON_AddStringToObject(d, "text/plain", text);
    cJSON_AddObjectToObject(c, "metadata");
    free(text);
    krn_reply(r, "inspect_reply", c);
}

static void h_is_complete(krn_req *r)
{
    const char *code = get_str(r->msg->content, "code", "");
    const krn_interp *it = r->k->interp;
    char indent[32] = "";
    int st = it->vt->is_complete ? it->vt->is_complete(it->self, code, indent) : KRN_UNKNOWN;
    static const char *names[] = {"complete", "incomplete", "invalid", "unknown"};
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", names[st >= 0 && st <= 3 ? st : 3]);
    if (st == KRN_INCOMPLETE) {
        indent[sizeof indent - 1] = '\0';
        cJSON_AddStringToObject(c, "indent", indent);
    }
    krn_reply(r, "is_complete_reply", c);
}

/* ---- history, comms ------------------------------------------------------------------- */

static void h_history(krn_req *r)
{
    const cJSON *in = r->msg->content;
    const char *type = get_str(in, "hist_access_type", "tail");
    bool output = get_bool(in, "output", false);
    cJSON *h;
    if (strcmp(type, "range") == 0)
        h = krn_history_range(r->k->history, get_int(in, "session", 0), get_int(in, "start", 0),
                              get_int(in, "stop", 0), output);
    else if (strcmp(type, "search") == 0)
        h = krn_history_search(r->k->history, get_str(in, "pattern", "*"), get_int(in, "n", 0),
                               get_bool(in, "unique", false), output);
    else
        h = krn_history_tail(r->k->history, get_int(in, "n", 10), output);
    cJSON *c = status_ok();
    cJSON_AddItemToObject(c, "history", h ? h : cJSON_CreateArray());
    krn_reply(r, "history_reply", c);
}

static void h_comm_info(krn_req *r)
{
    cJSON *c = status_ok();
    cJSON_AddObjectToObject(c, "comms");
    krn_reply(r, "comm_info_reply", c);
}

static void h_comm_open(krn_req *r)
{
    const char *id = get_str(r->msg->content, "comm_id", "");
    KRN_INFO("comm_open for unknown target '%s': closing comm %s",
             get_str(r->msg->content, "target_name", ""), id);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "comm_id", id);
    cJSON_AddObjectToObject(c, "data");
    publish(r->k, r->msg->header, "comm_close", c);
}

static void h_comm_ignore(krn_req *r)
{
    KRN_INFO("%s: no comms are open; ignored", r->msg->msg_type);
}

/* ---- interrupt, shutdown --------------------------------------------------------------- */

static void h_interrupt(krn_req *r)
{
    atomic_store(r->k->cancel, 1);
    if (r->k->interp->vt->interrupt) r->k->interp->vt->interrupt(r->k->interp->self);
    krn_reply(r, "interrupt_reply", status_ok());
}

static void h_shutdown(krn_req *r)
{
    bool restart = get_bool(r->msg->content, "restart", false);
    atomic_store(&r->k->restart, restart);
    atomic_store(&r->k->stop, true);
    atomic_store(r->k->cancel, 1);
    cJSON *c = status_ok();
    cJSON_AddBoolToObject(c, "restart", restart);
    krn_reply(r, "shutdown_reply", c);
}

static void h_input_reply(krn_req *r)
{
    KRN_WARN("%s: input_reply outside an input request; dropped", krn_channel_name(r->channel));
}

/* ---- rejected requests ------------------------------------------------------------------ */

/* A request refused before it ran (an escaped NUL in its JSON): an error reply of the
 * request's reply type naming the problem; an execute_request also gets its one `error`
 * on IOPub and no execution count. Types without a reply are only logged. */
static void h_rejected(krn_req *r)
{
    const char *t = r->msg->msg_type;
    size_t n = strlen(t);
    static const char suffix[] = "_request";
    if (n <= sizeof suffix - 1 || strcmp(t + n - (sizeof suffix - 1), suffix) != 0) return;
    char reply_type[128];
    snprintf(reply_type, sizeof reply_type, "%.*s_reply", (int)(n - (sizeof suffix - 1)), t);
    char evalue[320];
    snprintf(evalue, sizeof evalue, "%s rejected: %s", t, r->rejected);
    cJSON *c = cJSON_CreateObject();
    if (!c) return;
    cJSON_AddStringToObject(c, "status", "error");
    add_error_fields(c, "ValueError", evalue, NULL);
    if (strcmp(t, "execute_request") == 0) {
        cJSON_AddNumberToObject(c, "execution_count", r->k->execution_count);
        cJSON_AddObjectToObject(c, "user_expressions");
        cJSON_AddArrayToObject(c, "payload");
        cJSON *e = cJSON_CreateObject();
        if (e) add_error_fields(e, "ValueError", evalue, NULL);
        publish(r->k, r->msg->header, "error", e);
    }
    krn_reply(r, reply_type, c);
}

/* ---- table ---------------------------------------------------------------------------- */

typedef struct handler {
    const char *msg_type;
    void (*fn)(krn_req *r);
    bool on_control; /* may run on the control thread (never the interpreter's calls) */
} handler;

static const handler table[] = {
    {"kernel_info_request", h_kernel_info, true},
    {"execute_request", h_execute, false},
    {"complete_request", h_complete, false},
    {"inspect_request", h_inspect, false},
    {"is_complete_request", h_is_complete, false},
    {"history_request", h_history, true},
    {"comm_info_request", h_comm_info, true},
    {"comm_open", h_comm_open, false},
    {"comm_msg", h_comm_ignore, false},
    {"comm_close", h_comm_ignore, false},
    {"interrupt_request", h_interrupt, true},
    {"shutdown_request", h_shutdown, true},
    {"input_reply", h_input_reply, true},
};

void krn_dispatch(krn_req *r)
{
    const cJSON *parent = r->msg->header;
    const char *ch = krn_channel_name(r->channel);
    publish_status(r->k, parent, "busy");
    const handler *h = NULL;
    for (size_t i = 0; r->known && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].msg_type, r->msg->msg_type) == 0) h = &table[i];
    if (h && r->rejected)
        h_rejected(r);
    else if (!h)
        KRN_WARN("%s: unknown msg_type '%.100s': no reply", ch, r->msg->msg_type);
    else if (r->channel == KRN_CH_CONTROL && !h->on_control)
        KRN_WARN("control: %s is only served on shell: no reply", r->msg->msg_type);
    else {
        KRN_DEBUG("%s: %s", ch, r->msg->msg_type);
        h->fn(r);
    }
    publish_status(r->k, parent, "idle");
}
