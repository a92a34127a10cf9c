/* krn_sock: multipart receive/send of wire messages (see krn_sock.h). */
#include "krn_sock.h"

#include <errno.h>
#include <string.h>

#include "krn_signal.h"

void krn_sock_defaults(void *sock)
{
    int linger = 50, hwm = KRN_SOCK_SNDHWM;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
}

void krn_sock_reply_socket(void *sock)
{
    int on = 1;
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
}

void krn_rx_clear(krn_rx *rx)
{
    for (size_t i = 0; i < rx->n; i++)
        zmq_msg_close(&rx->parts[i]);
    rx->n = rx->total = 0;
}

int krn_sock_recv(void *sock, krn_rx *rx, int flags)
{
    rx->n = rx->total = 0;
    for (;;) {
        zmq_msg_t *m = &rx->parts[rx->n < KRN_WIRE_MAX_FRAMES + 1 ? rx->n : KRN_WIRE_MAX_FRAMES];
        zmq_msg_t scratch;
        if (rx->n == KRN_WIRE_MAX_FRAMES + 1) m = &scratch; /* over the bound: discard */
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, rx->total == 0 ? flags : 0) < 0) {
            int e = errno;
            zmq_msg_close(m);
            if (rx->total > 0 && e == EINTR) continue; /* finish the message */
            krn_rx_clear(rx);
            errno = e;
            return -1;
        }
        int more = zmq_msg_more(m);
        rx->total++;
        if (m == &scratch) {
            zmq_msg_close(m);
        } else {
            rx->frames[rx->n].data = zmq_msg_data(m);
            rx->frames[rx->n].len = zmq_msg_size(m);
            rx->n++;
        }
        if (!more) return 0;
    }
}

static int send_part(void *sock, const void *data, size_t len, int more)
{
    while (zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0) {
        if (errno != EINTR || krn_signal_term_requested()) return -1;
    }
    return 0;
}

int krn_sock_send(void *sock, const krn_frame *prefix, size_t n_prefix, const krn_wire_out *o)
{
    for (size_t i = 0; i < n_prefix; i++)
        if (send_part(sock, prefix[i].data, prefix[i].len, 1) < 0) return -1;
    if (send_part(sock, KRN_WIRE_DELIM, 9, 1) < 0) return -1;
    if (send_part(sock, o->sig, strlen(o->sig), 1) < 0) return -1;
    for (int i = 0; i < 4; i++)
        if (send_part(sock, o->json[i], o->len[i], i < 3) < 0) return -1;
    return 0;
}
