/* krn_iopub: the IOPub publisher. One thread owns the PUB socket; every other thread
 * (shell, control, interpreter workers) hands it signed messages over an inproc PUSH
 * socket guarded by a mutex. Topic frame: kernel.<session>.<msg_type>. */
#ifndef KRN_IOPUB_H
#define KRN_IOPUB_H

#include <stddef.h>

#include "krn_wire.h"

typedef struct cJSON cJSON;
typedef struct krn_iopub krn_iopub;

/* Binds a PUB socket at endpoint in zctx and starts the publisher thread. NULL with a
 * message in err on failure. Stop with krn_iopub_stop. */
krn_iopub *krn_iopub_start(void *zctx, const char *endpoint, const krn_wire *wire, char *err,
                           size_t errsz);
/* Builds a header, signs and queues the message; thread-safe. Takes ownership of content.
 * parent may be NULL. Returns 0, or -1 (logged) when stopped or out of memory. */
int krn_iopub_publish(krn_iopub *p, const cJSON *parent, const char *msg_type, cJSON *content);
/* Convenience: status {execution_state: state}. */
int krn_iopub_status(krn_iopub *p, const cJSON *parent, const char *state);
/* Sends everything queued, joins the thread and closes the sockets. */
void krn_iopub_stop(krn_iopub *p);

#endif
