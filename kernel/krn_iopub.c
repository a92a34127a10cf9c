/* krn_iopub: publisher thread + thread-safe queueing (see krn_iopub.h). */
#include "krn_iopub.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "krn_log.h"
#include "krn_msg.h"
#include "krn_sock.h"

struct krn_iopub {
    const krn_wire *wire;
    void *pub;  /* owned by the publisher thread */
    void *pull; /* publisher thread's end of the queue */
    void *push; /* producers' end, guarded by lock */
    pthread_mutex_t lock;
    bool stopped; /* under lock: no more publishing */
    pthread_t thr;
    char inproc[64];
};

static void *publisher_main(void *arg)
{
    krn_iopub *p = arg;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->pull, 0) < 0) {
            zmq_msg_close(&m);
            if (errno == EINTR) continue;
            break;
        }
        int more = zmq_msg_more(&m);
        if (!more && zmq_msg_size(&m) == 4 && memcmp(zmq_msg_data(&m), "STOP", 4) == 0) {
            zmq_msg_close(&m);
            break;
        }
        /* forward the parts of one message */
        for (;;) {
            if (zmq_msg_send(&m, p->pub, more ? ZMQ_SNDMORE : 0) < 0) zmq_msg_close(&m);
            if (!more) break;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, p->pull, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
        }
    }
    zmq_close(p->pull);
    zmq_close(p->pub);
    return NULL;
}

krn_iopub *krn_iopub_start(void *zctx, const char *endpoint, const krn_wire *wire, char *err,
                           size_t errsz)
{
    krn_iopub *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    p->wire = wire;
    snprintf(p->inproc, sizeof p->inproc, "inproc://krn-iopub-%p", (void *)p);
    p->pub = zmq_socket(zctx, ZMQ_PUB);
    p->pull = zmq_socket(zctx, ZMQ_PULL);
    p->push = zmq_socket(zctx, ZMQ_PUSH);
    if (!p->pub || !p->pull || !p->push) goto fail;
    krn_sock_defaults(p->pub);
    krn_sock_defaults(p->push);
    int hwm = 0;
    zmq_setsockopt(p->pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(p->pub, endpoint) < 0) {
        snprintf(err, errsz, "cannot bind iopub at %s: %s", endpoint, zmq_strerror(errno));
        goto fail_msg;
    }
    if (zmq_bind(p->pull, p->inproc) < 0 || zmq_connect(p->push, p->inproc) < 0) goto fail;
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->thr, NULL, publisher_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        goto fail;
    }
    return p;
fail:
    snprintf(err, errsz, "cannot create iopub sockets: %s", zmq_strerror(errno));
fail_msg:
    if (p->pub) zmq_close(p->pub);
    if (p->pull) zmq_close(p->pull);
    if (p->push) zmq_close(p->push);
    free(p);
    return NULL;
}

int krn_iopub_publish(krn_iopub *p, const cJSON *parent, const char *msg_type, cJSON *content)
{
    cJSON *hdr = krn_msg_header(msg_type);
    krn_wire_out o;
    int rc = -1;
    if (!hdr || !content || krn_wire_encode(p->wire, hdr, parent, NULL, content, &o) != 0) {
        KRN_WARN("iopub: dropped %s: out of memory", msg_type);
        cJSON_Delete(hdr);
        cJSON_Delete(content);
        return -1;
    }
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", krn_msg_session(), msg_type);
    krn_frame t = {topic, strlen(topic)};
    pthread_mutex_lock(&p->lock);
    if (p->stopped)
        KRN_WARN("iopub: dropped %s: publisher already stopped", msg_type);
    else if (krn_sock_send(p->push, &t, 1, &o) < 0)
        KRN_WARN("iopub: dropped %s: %s", msg_type, zmq_strerror(errno));
    else
        rc = 0;
    pthread_mutex_unlock(&p->lock);
    KRN_DEBUG("iopub: %s", msg_type);
    krn_wire_out_free(&o);
    cJSON_Delete(hdr);
    cJSON_Delete(content);
    return rc;
}

int krn_iopub_status(krn_iopub *p, const cJSON *parent, const char *state)
{
    cJSON *c = cJSON_CreateObject();
    if (c) cJSON_AddStringToObject(c, "execution_state", state);
    return krn_iopub_publish(p, parent, "status", c);
}

void krn_iopub_stop(krn_iopub *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopped = true;
    zmq_send(p->push, "STOP", 4, 0);
    zmq_close(p->push);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thr, NULL);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
