/* krn_iopub: the IOPub publisher. One thread owns the PUB socket; every other thread
 * (shell, control, interpreter workers) hands it signed messages through a bounded
 * in-memory queue guarded by a mutex. Topic frame: kernel.<session>.<msg_type>.
 *
 * Back-pressure policy (a client that reads IOPub slowly, or never):
 * - the PUB socket holds at most KRN_IOPUB_SNDHWM messages per subscriber and never drops
 *   silently (ZMQ_XPUB_NODROP); what it cannot take waits in the queue, in order;
 * - live frames (update_display_data that is not a display's final frame, published with
 *   krn_iopub_publish_live) are replaced in the queue by the newer frame of the same
 *   display, and dropped when the queue holds more than KRN_IOPUB_SOFT_BYTES;
 * - status, execute_input, stream and clear_output are dropped (counted, logged) while the
 *   queue holds more than KRN_IOPUB_SOFT_BYTES;
 * - everything else (errors, display_data, final frames, execute_result, comm_close) is
 *   kept, in order, until the client reads it; only past KRN_IOPUB_HARD_BYTES of queue (a
 *   client that has not read for a very long time) is it dropped too, each drop logged as
 *   an error: the kernel never blocks on IOPub.
 * So the kernel's IOPub memory is bounded by KRN_IOPUB_SNDHWM messages in ZeroMQ plus
 * KRN_IOPUB_HARD_BYTES, and by KRN_IOPUB_SOFT_BYTES when the cells publish only droppable
 * messages, however many cells run while nobody reads. ZMQ_XPUB_NODROP holds per socket:
 * while one subscriber does not read, the others receive only what the queue keeps.
 * Replies on shell/control/stdin are never dropped either (krn_sock.h).
 * Leaves out: what is published (krn_display.h, krn_dispatch.c) and the other sockets. */
#ifndef KRN_IOPUB_H
#define KRN_IOPUB_H

#include <stddef.h>

#include "krn_wire.h"

#define KRN_IOPUB_SNDHWM 256            /* messages queued inside ZeroMQ per subscriber */
#define KRN_IOPUB_SOFT_BYTES (4u << 20) /* queue size past which droppable messages go */
#define KRN_IOPUB_HARD_BYTES (64u << 20) /* past which publishers of kept messages wait */

typedef struct cJSON cJSON;
typedef struct krn_iopub krn_iopub;

/* Binds a PUB socket at endpoint in zctx and starts the publisher thread. NULL with a
 * message in err on failure. Stop with krn_iopub_stop. */
krn_iopub *krn_iopub_start(void *zctx, const char *endpoint, const krn_wire *wire, char *err,
                           size_t errsz);
/* Builds a header, signs and queues the message; thread-safe. Takes ownership of content.
 * parent may be NULL. Returns 0, or -1 (logged) when stopped, out of memory, or dropped by
 * the policy above. */
int krn_iopub_publish(krn_iopub *p, const cJSON *parent, const char *msg_type, cJSON *content);
/* The same for a live frame of display_id (may be replaced or dropped, see above). */
int krn_iopub_publish_live(krn_iopub *p, const cJSON *parent, const char *msg_type,
                           cJSON *content, const char *display_id);
/* Convenience: status {execution_state: state}. */
int krn_iopub_status(krn_iopub *p, const cJSON *parent, const char *state);
/* Sends what is queued (waiting at most ~200 ms for a client that does not read), joins the
 * thread and closes the sockets. */
void krn_iopub_stop(krn_iopub *p);

#endif
