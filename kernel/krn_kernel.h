/* krn_kernel: state shared by the server (sockets, threads) and the dispatcher (message
 * handlers), and the transport vtable between them. Internal to kernel/ (and its tests):
 * interpreters never see it.
 * Leaves out: the wire format (krn_wire.h) and the interpreter (krn_interp.h). */
#ifndef KRN_KERNEL_H
#define KRN_KERNEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "krn_history.h"
#include "krn_interp.h"
#include "krn_iopub.h"
#include "krn_wire.h"

typedef struct krn_kernel krn_kernel;
typedef struct krn_req krn_req;

/* How messages leave the dispatcher: over ZeroMQ (krn_server.c) or recorded (tests).
 * Every function takes ownership of content. */
typedef struct krn_transport {
    /* Reply to r on its channel (shell or control), echoing its identities. */
    int (*reply)(krn_kernel *k, krn_req *r, const char *msg_type, cJSON *content);
    /* Publish on IOPub with parent as parent_header (thread-safe). */
    int (*publish)(krn_kernel *k, const cJSON *parent, const char *msg_type, cJSON *content);
    /* input_request for request req on stdin, then wait for input_reply (or an interrupt:
     * KRN_OUT_EINTR). 0 with a malloc'ed *reply. */
    int (*input)(krn_kernel *k, const krn_msg_in *req, const char *prompt, bool password,
                 char **reply);
    /* Called before the reply of an execute that failed with stop_on_error: takes the
     * shell requests already queued at that moment, to be answered after the reply
     * (executes with ExecutionAborted, others normally). Requests that arrive after the
     * reply are served normally. May be NULL (nothing is queued). */
    void (*hold_queued)(krn_kernel *k);
    /* Publish a live frame (an update_display_data that is not a display's final frame):
     * the transport may drop it, or replace it by a newer frame of the same display, when
     * the client does not keep up (krn_iopub.h). May be NULL (then publish is used). */
    int (*publish_live)(krn_kernel *k, const cJSON *parent, const char *msg_type,
                        cJSON *content, const char *display_id);
} krn_transport;

struct krn_kernel {
    const krn_transport *tx; /* where replies, IOPub messages and input requests go */
    void *tx_data;           /* transport's own state (tests) */
    krn_wire wire;           /* signing + replay set (shared, locked inside) */
    void *zctx;
    void *shell;      /* ROUTER, main thread */
    void *control;    /* ROUTER, control thread */
    void *stdin_sock; /* ROUTER, used under stdin_lock by the executing thread */
    void *hb;         /* ROUTER echo, heartbeat thread */
    void *wake_pull;  /* main thread: wakes up when control asks to stop */
    void *wake_push;  /* control thread's end */
    krn_iopub *iopub;
    const krn_interp *interp;
    krn_history *history;
    int execution_count; /* shell thread only */
    atomic_int *cancel;  /* interrupt flag polled by cells */
    atomic_bool stop;    /* shutdown requested */
    atomic_bool restart; /* the shutdown_request asked for a restart */
    struct krn_rx **held; /* shell requests held by hold_queued, answered as aborting */
    size_t n_held, cap_held;
    pthread_mutex_t stdin_lock;
};

/* One request being handled. */
struct krn_req {
    krn_kernel *k;
    void *sock;  /* where the reply goes (shell or control) */
    int channel; /* KRN_CH_SHELL or KRN_CH_CONTROL */
    krn_msg_in *msg;
    bool known;    /* msg_type is known (else: busy/idle only) */
    bool aborting; /* answer execute_request with ExecutionAborted */
    const char *rejected; /* why the request is refused unexecuted (KRN_WIRE_NUL), or NULL:
                             answered with an error reply naming it */
};

/* status busy -> handler (side effects, reply) -> status idle, all with the request as
 * parent. Unknown types and types not served on this channel get no reply (logged). */
void krn_dispatch(krn_req *r);
/* Sends a reply of msg_type with content (owned) to the request's identities. */
int krn_reply(krn_req *r, const char *msg_type, cJSON *content);

#endif
