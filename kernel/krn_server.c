/* krn_server: sockets and threads of the kernel (see krn_server.h). Shell messages are
 * decoded and dispatched on the main thread; control on its own thread; heartbeat is a
 * ZeroMQ proxy echoing on its own thread; IOPub lives in krn_iopub.c. Message handling
 * itself is krn_dispatch.c. */
#include "krn_server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "krn_conn.h"
#include "krn_kernel.h"
#include "krn_log.h"
#include "krn_msg.h"
#include "krn_signal.h"
#include "krn_sock.h"

static int tx_reply(krn_kernel *k, krn_req *r, const char *msg_type, cJSON *content)
{
    cJSON *hdr = krn_msg_header(msg_type);
    krn_wire_out o;
    int rc = -1;
    if (hdr && content && krn_wire_encode(&k->wire, hdr, r->msg->header, NULL, content, &o) == 0) {
        rc = krn_sock_send(r->sock, r->msg->ids, r->msg->n_ids, &o);
        if (rc < 0)
            KRN_WARN("%s: could not send %s: %s", krn_channel_name(r->channel), msg_type,
                     zmq_strerror(errno));
        krn_wire_out_free(&o);
    } else {
        KRN_WARN("dropped %s: out of memory", msg_type);
    }
    cJSON_Delete(hdr);
    cJSON_Delete(content);
    return rc;
}

/* Sends input_request on stdin with the shell request's identities and parent, then waits
 * for input_reply, checking the interrupt flag every 20 ms. */
static int tx_input(krn_kernel *k, const krn_msg_in *req, const char *prompt, bool password,
                    char **reply)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *hdr = krn_msg_header("input_request");
    krn_wire_out o;
    if (!c || !hdr) {
        cJSON_Delete(c);
        cJSON_Delete(hdr);
        return KRN_OUT_ENOMEM;
    }
    cJSON_AddStringToObject(c, "prompt", prompt);
    cJSON_AddBoolToObject(c, "password", password);
    int rc = KRN_OUT_ENOMEM;
    pthread_mutex_lock(&k->stdin_lock);
    /* drop stale replies of an earlier, interrupted request */
    krn_rx rx;
    while (krn_sock_recv(k->stdin_sock, &rx, ZMQ_DONTWAIT) == 0) {
        KRN_WARN("stdin: dropped a message received while no input was requested");
        krn_rx_clear(&rx);
    }
    if (krn_wire_encode(&k->wire, hdr, req->header, NULL, c, &o) == 0) {
        krn_sock_send(k->stdin_sock, req->ids, req->n_ids, &o);
        krn_wire_out_free(&o);
        rc = KRN_OUT_EINTR;
        for (;;) {
            if (atomic_load(k->cancel) || atomic_load(&k->stop)) break;
            zmq_pollitem_t pi = {k->stdin_sock, 0, ZMQ_POLLIN, 0};
            int n = zmq_poll(&pi, 1, 20);
            if (n < 0 && errno != EINTR) break;
            if (n <= 0) continue;
            if (krn_sock_recv(k->stdin_sock, &rx, 0) < 0) continue;
            krn_msg_in m;
            int st = krn_wire_decode(&k->wire, rx.frames, rx.n, &m);
            krn_rx_clear(&rx);
            if (st != KRN_WIRE_OK || strcmp(m.msg_type, "input_reply") != 0) {
                KRN_WARN("stdin: dropped message: %s",
                         st == KRN_WIRE_OK ? "not an input_reply" : m.reason);
                krn_msg_in_free(&m);
                continue;
            }
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(m.content, "value");
            *reply = strdup(cJSON_IsString(v) ? v->valuestring : "");
            krn_msg_in_free(&m);
            rc = *reply ? 0 : KRN_OUT_ENOMEM;
            break;
        }
    }
    pthread_mutex_unlock(&k->stdin_lock);
    cJSON_Delete(hdr);
    cJSON_Delete(c);
    return rc;
}

static int tx_publish(krn_kernel *k, const cJSON *parent, const char *msg_type, cJSON *content)
{
    return krn_iopub_publish(k->iopub, parent, msg_type, content);
}

/* Receives every shell request queued right now into k->held (each krn_rx is received in
 * place: its frames may point into its own storage, so it is never moved). */
static void tx_hold_queued(krn_kernel *k)
{
    for (;;) {
        if (k->n_held == k->cap_held) {
            size_t cap = k->cap_held ? 2 * k->cap_held : 8;
            struct krn_rx **h = realloc(k->held, cap * sizeof *h);
            if (!h) return; /* the rest stays queued and is served normally */
            k->held = h;
            k->cap_held = cap;
        }
        krn_rx *rx = malloc(sizeof *rx);
        if (!rx) return;
        if (krn_sock_recv(k->shell, rx, ZMQ_DONTWAIT) < 0) {
            free(rx);
            return;
        }
        k->held[k->n_held++] = rx;
    }
}

static int tx_publish_live(krn_kernel *k, const cJSON *parent, const char *msg_type,
                           cJSON *content, const char *display_id)
{
    return krn_iopub_publish_live(k->iopub, parent, msg_type, content, display_id);
}

static const krn_transport zmq_transport = {tx_reply, tx_publish, tx_input, tx_hold_queued,
                                            tx_publish_live};

/* Decodes and dispatches one received message; logs and drops bad input. */
static void handle(krn_kernel *k, void *sock, int channel, krn_rx *rx, bool aborting)
{
    krn_msg_in m;
    int st = krn_wire_decode(&k->wire, rx->frames, rx->n, &m);
    if (st < 0) {
        char sample[128] = "";
        size_t biggest = 0;
        for (size_t i = 0; i < rx->n; i++)
            if (rx->frames[i].len > rx->frames[biggest].len) biggest = i;
        if (rx->n)
            krn_log_sample(sample, sizeof sample, rx->frames[biggest].data, rx->frames[biggest].len,
                           40);
        KRN_WARN("%s: dropped message (%s): %s; %zu frames, largest: \"%s\"",
                 krn_channel_name(channel), krn_wire_status_name(st), m.reason, rx->total, sample);
        krn_msg_in_free(&m);
        return;
    }
    if (st == KRN_WIRE_NUL)
        KRN_WARN("%s: rejected %s (%s): %s", krn_channel_name(channel), m.msg_type,
                 krn_wire_status_name(st), m.reason);
    krn_req r = {k, sock, channel, &m, st == KRN_WIRE_OK || st == KRN_WIRE_NUL, aborting,
                 st == KRN_WIRE_NUL ? m.reason : NULL};
    krn_dispatch(&r);
    krn_msg_in_free(&m);
}

static void *control_main(void *arg)
{
    krn_kernel *k = arg;
    krn_rx rx;
    while (!atomic_load(&k->stop)) {
        if (krn_sock_recv(k->control, &rx, 0) < 0) {
            if (errno == EINTR) continue;
            break; /* ETERM: the context is shutting down */
        }
        handle(k, k->control, KRN_CH_CONTROL, &rx, false);
        krn_rx_clear(&rx);
    }
    if (atomic_load(&k->stop)) zmq_send(k->wake_push, "stop", 4, ZMQ_DONTWAIT);
    zmq_close(k->wake_push);
    zmq_close(k->control);
    return NULL;
}

static void *heartbeat_main(void *arg)
{
    krn_kernel *k = arg;
    zmq_proxy(k->hb, k->hb, NULL); /* echoes until the context shuts down */
    zmq_close(k->hb);
    return NULL;
}

/* After an execute failed with stop_on_error: answer the requests held before its reply
 * (executes with ExecutionAborted; other requests are served normally). */
static void answer_held(krn_kernel *k)
{
    for (size_t i = 0; i < k->n_held; i++) {
        if (!atomic_load(&k->stop)) handle(k, k->shell, KRN_CH_SHELL, k->held[i], true);
        krn_rx_clear(k->held[i]);
        free(k->held[i]);
    }
    k->n_held = 0;
}

static void *router(krn_kernel *k, const krn_conn *c, enum krn_channel ch, char *err, size_t errsz)
{
    char ep[300];
    krn_conn_endpoint(c, ch, ep, sizeof ep);
    void *s = zmq_socket(k->zctx, ZMQ_ROUTER);
    if (!s) {
        snprintf(err, errsz, "cannot create %s socket: %s", krn_channel_name(ch),
                 zmq_strerror(errno));
        return NULL;
    }
    krn_sock_defaults(s);
    if (ch != KRN_CH_HB) krn_sock_reply_socket(s);
    if (zmq_bind(s, ep) < 0) {
        snprintf(err, errsz, "cannot bind %s at %s: %s", krn_channel_name(ch), ep,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    char last[300];
    size_t ll = sizeof last;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &ll) == 0)
        KRN_INFO("%s bound at %s", krn_channel_name(ch), last);
    return s;
}

int krn_server_run(const char *path, const krn_interp *interp)
{
    char err[512];
    krn_conn conn;
    if (krn_conn_load(&conn, path, err, sizeof err) != 0) {
        fprintf(stderr, "rlhf-kernel: %s\n", err);
        return 1;
    }
    krn_kernel *k = calloc(1, sizeof *k);
    if (!k) {
        krn_conn_free(&conn);
        fprintf(stderr, "rlhf-kernel: out of memory\n");
        return 1;
    }
    k->interp = interp;
    k->tx = &zmq_transport;
    k->cancel = krn_signal_interrupt_flag();
    k->history = krn_history_new();
    pthread_mutex_init(&k->stdin_lock, NULL);
    krn_signal_block(true); /* threads created from here on never get SIGINT/SIGTERM */
    krn_signal_install();
    k->zctx = zmq_ctx_new();
    int rc = 1;
    bool threads = false, wire_ok = false;
    pthread_t thr_control, thr_hb;
    char ep[300];
    krn_conn_endpoint(&conn, KRN_CH_IOPUB, ep, sizeof ep);
    if (!k->zctx || !k->history) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    /* Bind first: a client that connects while the rest starts gets through at once
     * instead of waiting for ZeroMQ's reconnect interval (100 ms). Nothing is decoded or
     * signed before the threads start below, after the wire is ready. */
    if (!(k->shell = router(k, &conn, KRN_CH_SHELL, err, sizeof err)) ||
        !(k->control = router(k, &conn, KRN_CH_CONTROL, err, sizeof err)) ||
        !(k->stdin_sock = router(k, &conn, KRN_CH_STDIN, err, sizeof err)) ||
        !(k->hb = router(k, &conn, KRN_CH_HB, err, sizeof err)) ||
        !(k->iopub = krn_iopub_start(k->zctx, ep, &k->wire, err, sizeof err)))
        goto out;
    if (krn_wire_init(&k->wire, conn.signature_scheme, conn.key, strlen(conn.key), err,
                      sizeof err) != 0)
        goto out;
    wire_ok = true;
    if (!conn.key[0]) KRN_WARN("connection file has an empty key: messages are not signed");
    if (krn_signal_watch_parent() < 0) KRN_WARN("cannot start the parent watcher thread");
    k->wake_pull = zmq_socket(k->zctx, ZMQ_PULL);
    k->wake_push = zmq_socket(k->zctx, ZMQ_PUSH);
    if (!k->wake_pull || !k->wake_push || zmq_bind(k->wake_pull, "inproc://krn-wake") < 0 ||
        zmq_connect(k->wake_push, "inproc://krn-wake") < 0) {
        snprintf(err, sizeof err, "cannot create the wake-up socket: %s", zmq_strerror(errno));
        goto out;
    }
    if (pthread_create(&thr_control, NULL, control_main, k) != 0) {
        snprintf(err, sizeof err, "cannot start the control thread");
        goto out;
    }
    if (pthread_create(&thr_hb, NULL, heartbeat_main, k) != 0) {
        atomic_store(&k->stop, true);
        zmq_ctx_shutdown(k->zctx);
        pthread_join(thr_control, NULL);
        k->control = k->wake_push = NULL;
        snprintf(err, sizeof err, "cannot start the heartbeat thread");
        goto out;
    }
    threads = true;
    krn_signal_block(false);
    KRN_INFO("kernel ready (session %s)", krn_msg_session());

    krn_rx rx;
    while (!atomic_load(&k->stop) && !krn_signal_term_requested()) {
        zmq_pollitem_t items[2] = {{k->shell, 0, ZMQ_POLLIN, 0}, {k->wake_pull, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 2, 100); /* a timeout: a SIGTERM just before the poll */
        if (n < 0) {
            if (errno == EINTR) continue;
            KRN_ERROR("shell: poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) break;
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        if (krn_sock_recv(k->shell, &rx, ZMQ_DONTWAIT) < 0) continue;
        handle(k, k->shell, KRN_CH_SHELL, &rx, false);
        krn_rx_clear(&rx);
        if (k->n_held) answer_held(k);
    }
    if (krn_signal_term_requested()) KRN_INFO("SIGTERM: shutting down");
    atomic_store(&k->stop, true);
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "rlhf-kernel: %s\n", err);
    if (interp->vt->shutdown) interp->vt->shutdown(interp->self, atomic_load(&k->restart));
    krn_iopub_stop(k->iopub); /* sends what is queued (the last idle status included) */
    answer_held(k); /* stop is set: only releases what was held */
    free(k->held);
    if (k->shell) zmq_close(k->shell);
    if (k->stdin_sock) zmq_close(k->stdin_sock);
    if (k->wake_pull) zmq_close(k->wake_pull);
    if (threads) {
        zmq_ctx_shutdown(k->zctx); /* control's recv and the heartbeat proxy return ETERM */
        pthread_join(thr_control, NULL);
        pthread_join(thr_hb, NULL);
    } else {
        if (k->control) zmq_close(k->control);
        if (k->hb) zmq_close(k->hb);
        if (k->wake_push) zmq_close(k->wake_push);
    }
    if (k->zctx)
        while (zmq_ctx_term(k->zctx) < 0 && errno == EINTR) { /* a repeated SIGTERM */
        }
    krn_history_free(k->history);
    pthread_mutex_destroy(&k->stdin_lock);
    if (wire_ok) krn_wire_free(&k->wire);
    krn_conn_free(&conn);
    free(k);
    krn_signal_block(false);
    return rc;
}
