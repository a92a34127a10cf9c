/* krn_sock: ZeroMQ multipart I/O for wire messages: receive every part of one message
 * (keeping at most KRN_WIRE_MAX_FRAMES + 1 so the decoder can refuse the rest) and send
 * [identities..., "<IDS|MSG>", signature, header, parent, metadata, content].
 * Leaves out: decoding and signing (krn_wire.h), socket options and binding
 * (krn_server.h). */
#ifndef KRN_SOCK_H
#define KRN_SOCK_H

#include <stddef.h>
#include <zmq.h>

#include "krn_wire.h"

typedef struct krn_rx {
    zmq_msg_t parts[KRN_WIRE_MAX_FRAMES + 1];
    krn_frame frames[KRN_WIRE_MAX_FRAMES + 1];
    size_t n;     /* frames kept (<= KRN_WIRE_MAX_FRAMES + 1) */
    size_t total; /* frames received */
} krn_rx;

/* Receives one whole multipart message. Returns 0, or -1 with errno (EAGAIN with
 * ZMQ_DONTWAIT, EINTR, ETERM). Release with krn_rx_clear. */
int krn_sock_recv(void *sock, krn_rx *rx, int flags);
void krn_rx_clear(krn_rx *rx);
/* Sends prefix frames (identities or an IOPub topic) followed by the signed message. */
int krn_sock_send(void *sock, const krn_frame *prefix, size_t n_prefix, const krn_wire_out *o);
#define KRN_SOCK_SNDHWM 1000 /* messages queued per peer on every kernel socket */

/* Sets the socket options every kernel socket gets: linger 50 ms, a send high-water mark
 * of KRN_SOCK_SNDHWM messages (IOPub lowers it, krn_iopub.h). */
void krn_sock_defaults(void *sock);
/* For shell, control and stdin ROUTERs: replies are never dropped silently
 * (ZMQ_ROUTER_MANDATORY): a peer whose queue is full makes the send wait for it (an
 * interrupted wait gives up once SIGTERM was received); a peer that is gone is an error
 * the caller logs. */
void krn_sock_reply_socket(void *sock);

#endif
