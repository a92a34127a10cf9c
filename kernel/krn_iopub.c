/* krn_iopub: publisher thread, the bounded queue in front of it and its back-pressure
 * policy (see krn_iopub.h). Leaves out: signing and headers (krn_wire.c, krn_msg.c). */
#include "krn_iopub.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "krn_log.h"
#include "krn_msg.h"
#include "krn_sock.h"

#define STOP_DRAIN_NS (200 * 1000000LL) /* at stop, how long to wait for a slow client */

enum msg_class {
    CLS_LIVE, /* a live frame: replaced by a newer frame of its display, droppable */
    CLS_DROP, /* status, execute_input, stream, clear_output: droppable past the soft bound */
    CLS_KEEP, /* never dropped: the publisher waits past the hard bound */
};

typedef struct qmsg {
    struct qmsg *next;
    int cls;          /* enum msg_class */
    char *display_id; /* CLS_LIVE: which display (owned) */
    char type[32];    /* msg_type, for the log */
    size_t bytes;     /* frames' total size */
    char topic[128];
    krn_wire_out o;
} qmsg;

struct krn_iopub {
    const krn_wire *wire;
    void *pub;            /* owned by the publisher thread */
    int wake[2];          /* pipe: producers -> publisher thread */
    pthread_mutex_t lock; /* guards everything below */
    qmsg *head, *tail;    /* FIFO of signed messages not yet handed to ZeroMQ */
    size_t bytes;         /* sum of their sizes */
    bool stopping;        /* no more publishing; the thread drains and exits */
    bool dropping;        /* in an episode of drops (logged at its start and end) */
    unsigned long dropped, replaced; /* in the current episode */
    pthread_t thr;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void qmsg_free(qmsg *q)
{
    if (!q) return;
    krn_wire_out_free(&q->o);
    free(q->display_id);
    free(q);
}

static void wake(krn_iopub *p)
{
    ssize_t n = write(p->wake[1], "w", 1); /* non-blocking: a full pipe already wakes */
    (void)n;
}

/* Waits until woken or timeout_ms (-1: forever), then empties the pipe. */
static void wait_wake(krn_iopub *p, int timeout_ms)
{
    struct pollfd pf = {p->wake[0], POLLIN, 0};
    if (poll(&pf, 1, timeout_ms) > 0) {
        char buf[256];
        while (read(p->wake[0], buf, sizeof buf) > 0) {
        }
    }
}

/* All parts without blocking; 0, or -1 with errno (EAGAIN: the subscriber's pipe is full,
 * nothing was sent). Once the first part is accepted the rest is too (ZeroMQ checks the
 * high-water mark per message). */
static int send_nowait(void *pub, qmsg *q)
{
    if (zmq_send(pub, q->topic, strlen(q->topic), ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0) return -1;
    const void *parts[6] = {KRN_WIRE_DELIM, q->o.sig, q->o.json[0], q->o.json[1], q->o.json[2],
                            q->o.json[3]};
    size_t lens[6] = {9, strlen(q->o.sig), q->o.len[0], q->o.len[1], q->o.len[2], q->o.len[3]};
    for (int i = 0; i < 6; i++)
        while (zmq_send(pub, parts[i], lens[i], ZMQ_DONTWAIT | (i < 5 ? ZMQ_SNDMORE : 0)) < 0)
            if (errno != EAGAIN && errno != EINTR) return -1;
    return 0;
}

/* lock held: the queue shrank */
static void shrunk(krn_iopub *p)
{
    if (p->dropping && p->bytes <= KRN_IOPUB_SOFT_BYTES / 2) {
        KRN_WARN("iopub: the client reads again; %lu messages were dropped and %lu live "
                 "frames replaced while it did not",
                 p->dropped, p->replaced);
        p->dropping = false;
        p->dropped = p->replaced = 0;
    }
}

static void *publisher_main(void *arg)
{
    krn_iopub *p = arg;
    long long deadline = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) {
            pthread_mutex_unlock(&p->lock);
            wait_wake(p, -1);
            pthread_mutex_lock(&p->lock);
        }
        if (!p->head) break; /* stopping and drained */
        if (p->stopping && !deadline) deadline = now_ns() + STOP_DRAIN_NS;
        qmsg *q = p->head;
        p->head = q->next;
        if (!p->head) p->tail = NULL;
        p->bytes -= q->bytes;
        shrunk(p);
        pthread_mutex_unlock(&p->lock);
        int rc = send_nowait(p->pub, q);
        if (rc < 0 && errno == EAGAIN && !(deadline && now_ns() > deadline)) {
            pthread_mutex_lock(&p->lock); /* back to the front, then wait for the client */
            q->next = p->head;
            p->head = q;
            if (!p->tail) p->tail = q;
            p->bytes += q->bytes;
            pthread_mutex_unlock(&p->lock);
            wait_wake(p, 1);
        } else {
            if (rc < 0)
                KRN_WARN("iopub: dropped %s: %s", q->type,
                         errno == EAGAIN ? "the client did not read it before shutdown"
                                         : zmq_strerror(errno));
            qmsg_free(q);
        }
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
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
    p->wake[0] = p->wake[1] = -1;
    p->pub = zmq_socket(zctx, ZMQ_PUB);
    if (!p->pub) goto fail;
    krn_sock_defaults(p->pub);
    int hwm = KRN_IOPUB_SNDHWM, nodrop = 1;
    zmq_setsockopt(p->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(p->pub, ZMQ_XPUB_NODROP, &nodrop, sizeof nodrop);
    if (zmq_bind(p->pub, endpoint) < 0) {
        snprintf(err, errsz, "cannot bind iopub at %s: %s", endpoint, zmq_strerror(errno));
        goto fail_msg;
    }
    if (pipe(p->wake) < 0) goto fail;
    for (int i = 0; i < 2; i++) {
        fcntl(p->wake[i], F_SETFL, fcntl(p->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(p->wake[i], F_SETFD, FD_CLOEXEC);
    }
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
    if (p->wake[0] >= 0) close(p->wake[0]);
    if (p->wake[1] >= 0) close(p->wake[1]);
    free(p);
    return NULL;
}

static int classify(const char *msg_type)
{
    static const char *droppable[] = {"status", "execute_input", "stream", "clear_output", NULL};
    for (int i = 0; droppable[i]; i++)
        if (strcmp(msg_type, droppable[i]) == 0) return CLS_DROP;
    return CLS_KEEP;
}

/* lock held: counts a drop, logging the start of an episode */
static void count_drop(krn_iopub *p, bool replaced)
{
    if (!p->dropping)
        KRN_WARN("iopub: the client is not reading (%zu bytes queued): dropping live frames "
                 "and status/stream messages until it does",
                 p->bytes);
    p->dropping = true;
    if (replaced)
        p->replaced++;
    else
        p->dropped++;
}

/* Takes ownership of q; applies the policy of krn_iopub.h. */
static int enqueue(krn_iopub *p, qmsg *q)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        KRN_WARN("iopub: dropped %s: publisher already stopped", q->type);
        qmsg_free(q);
        return -1;
    }
    if (q->cls == CLS_LIVE) /* a newer frame replaces a queued one of its display */
        for (qmsg *e = p->head; e; e = e->next)
            if (e->cls == CLS_LIVE && strcmp(e->display_id, q->display_id) == 0) {
                krn_wire_out t = e->o;
                e->o = q->o;
                q->o = t;
                memcpy(e->topic, q->topic, sizeof e->topic);
                p->bytes = p->bytes - e->bytes + q->bytes;
                size_t b = e->bytes;
                e->bytes = q->bytes;
                q->bytes = b;
                if (p->bytes > KRN_IOPUB_SOFT_BYTES) count_drop(p, true);
                pthread_mutex_unlock(&p->lock);
                qmsg_free(q);
                return 0;
            }
    if (q->cls != CLS_KEEP && p->bytes > KRN_IOPUB_SOFT_BYTES) {
        count_drop(p, false);
        pthread_mutex_unlock(&p->lock);
        qmsg_free(q);
        return -1;
    }
    if (p->bytes > KRN_IOPUB_HARD_BYTES) { /* the last resort: never block the kernel */
        count_drop(p, false);
        KRN_ERROR("iopub: dropped %s: %zu bytes are waiting for a client that does not read",
                  q->type, p->bytes);
        pthread_mutex_unlock(&p->lock);
        qmsg_free(q);
        return -1;
    }
    bool was_empty = !p->head;
    q->next = NULL;
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->bytes += q->bytes;
    pthread_mutex_unlock(&p->lock);
    if (was_empty) wake(p);
    return 0;
}

static int publish(krn_iopub *p, const cJSON *parent, const char *msg_type, cJSON *content,
                   const char *display_id)
{
    cJSON *hdr = krn_msg_header(msg_type);
    qmsg *q = calloc(1, sizeof *q);
    if (q && display_id) q->display_id = strdup(display_id);
    if (!hdr || !content || !q || (display_id && !q->display_id) ||
        krn_wire_encode(p->wire, hdr, parent, NULL, content, &q->o) != 0) {
        KRN_WARN("iopub: dropped %s: out of memory", msg_type);
        cJSON_Delete(hdr);
        cJSON_Delete(content);
        if (q) free(q->display_id);
        free(q);
        return -1;
    }
    cJSON_Delete(hdr);
    cJSON_Delete(content);
    q->cls = display_id ? CLS_LIVE : classify(msg_type);
    snprintf(q->type, sizeof q->type, "%s", msg_type);
    snprintf(q->topic, sizeof q->topic, "kernel.%s.%s", krn_msg_session(), msg_type);
    q->bytes = sizeof *q + strlen(q->topic) + strlen(q->o.sig);
    for (int i = 0; i < 4; i++)
        q->bytes += q->o.len[i];
    KRN_DEBUG("iopub: %s", msg_type);
    return enqueue(p, q);
}

int krn_iopub_publish(krn_iopub *p, const cJSON *parent, const char *msg_type, cJSON *content)
{
    return publish(p, parent, msg_type, content, NULL);
}

int krn_iopub_publish_live(krn_iopub *p, const cJSON *parent, const char *msg_type,
                           cJSON *content, const char *display_id)
{
    return publish(p, parent, msg_type, content, display_id ? display_id : "");
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
    p->stopping = true;
    pthread_mutex_unlock(&p->lock);
    wake(p);
    pthread_join(p->thr, NULL);
    pthread_mutex_destroy(&p->lock);
    close(p->wake[0]);
    close(p->wake[1]);
    free(p);
}
