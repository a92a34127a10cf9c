/* krn_wire: the Jupyter wire format without sockets. Decodes the raw frames of one
 * multipart message ([ids..., "<IDS|MSG>", signature, header, parent_header, metadata,
 * content, buffers...]) into a message, enforcing bounds (frame count, frame size, JSON
 * depth), the signature (HMAC, constant-time compare), replay protection (bounded set of
 * recently seen signatures) and JSON shapes; encodes and signs outgoing messages, repairing
 * invalid UTF-8 first (cJSON prints NaN/Inf as null). Buffers are accepted and ignored.
 * Leaves out: sockets (krn_sock.h) and what messages mean (krn_dispatch.c). */
#ifndef KRN_WIRE_H
#define KRN_WIRE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "krn_hmac.h"

typedef struct cJSON cJSON;

#define KRN_WIRE_DELIM "<IDS|MSG>"
#define KRN_WIRE_MAX_FRAMES 64         /* identities + delimiter + 5 + buffers */
#define KRN_WIRE_MAX_FRAME (16u << 20) /* bytes per frame */
#define KRN_WIRE_MAX_DEPTH 64          /* JSON nesting */
#define KRN_WIRE_REPLAY_CAP 65536      /* remembered signatures, as jupyter_client */

enum krn_wire_status {
    KRN_WIRE_OK = 0,
    KRN_WIRE_UNKNOWN_TYPE = 1, /* decoded, but msg_type is not one this kernel knows */
    KRN_WIRE_NUL = 2,          /* decoded, but a JSON string holds an escaped NUL (\u0000),
                                  which cJSON would silently cut: the request is answered
                                  with an error reply and not executed */
    KRN_WIRE_ENODELIM = -1,    /* no "<IDS|MSG>" frame */
    KRN_WIRE_ESHORT = -2,      /* fewer than 5 frames after the delimiter */
    KRN_WIRE_ETOOMANY = -3,    /* more than KRN_WIRE_MAX_FRAMES frames */
    KRN_WIRE_ETOOBIG = -4,     /* a frame larger than KRN_WIRE_MAX_FRAME */
    KRN_WIRE_ENOSIG = -5,      /* empty signature while a key is set */
    KRN_WIRE_EBADSIG = -6,     /* signature does not match */
    KRN_WIRE_EREPLAY = -7,     /* signature already seen */
    KRN_WIRE_EUTF8 = -8,       /* a JSON frame is not valid UTF-8 */
    KRN_WIRE_EDEPTH = -9,      /* JSON nested deeper than KRN_WIRE_MAX_DEPTH */
    KRN_WIRE_EJSON = -10,      /* a JSON frame does not parse */
    KRN_WIRE_ETYPE = -11,      /* JSON of the wrong shape (not objects, no msg_type) */
    KRN_WIRE_ENOMEM = -12,
};

typedef struct krn_frame {
    const void *data;
    size_t len;
} krn_frame;

/* Bounded set of seen signatures (FIFO eviction), stored as their first 32 raw bytes. */
typedef struct krn_replay {
    unsigned char (*keys)[32]; /* ring of KRN_WIRE_REPLAY_CAP entries */
    int32_t *next;             /* hash chain link per ring slot, -1 ends */
    int32_t *buckets;          /* KRN_WIRE_REPLAY_CAP heads, -1 empty */
    size_t count;              /* entries stored (<= cap) */
    size_t head;               /* next ring slot to write (oldest when full) */
} krn_replay;

typedef struct krn_wire {
    krn_hmac hmac;        /* signing key and scheme */
    krn_replay replay;    /* seen signatures (only used with a key) */
    pthread_mutex_t lock; /* guards replay: shell, control and stdin threads decode */
} krn_wire;

/* A decoded message. Everything is owned by it; release with krn_msg_in_free. */
typedef struct krn_msg_in {
    krn_frame *ids; /* routing identities (copied) */
    size_t n_ids;
    cJSON *header;        /* object with a string msg_type */
    cJSON *parent;        /* object */
    cJSON *metadata;      /* object */
    cJSON *content;       /* object */
    const char *msg_type; /* points into header */
    char reason[256];     /* why decoding failed (or the unknown type), for the log */
} krn_msg_in;

/* Outgoing message: the four JSON frames and their signature. */
typedef struct krn_wire_out {
    char *json[4]; /* header, parent_header, metadata, content (owned) */
    size_t len[4];
    char sig[KRN_HMAC_HEX_MAX];
} krn_wire_out;

/* scheme/key as in krn_hmac_init; -1 with err on an unsupported scheme. */
int krn_wire_init(krn_wire *w, const char *scheme, const char *key, size_t key_len, char *err,
                  size_t errsz);
void krn_wire_free(krn_wire *w);

/* Decodes n frames into m (zeroed first). Returns KRN_WIRE_OK, KRN_WIRE_UNKNOWN_TYPE or
 * KRN_WIRE_NUL (m is filled; for KRN_WIRE_NUL m->reason names the frame) or a negative status with m->reason set and nothing else allocated. In every
 * case call krn_msg_in_free(m). */
int krn_wire_decode(krn_wire *w, const krn_frame *frames, size_t n, krn_msg_in *m);
void krn_msg_in_free(krn_msg_in *m);
/* True for the request types this kernel understands. */
bool krn_wire_known_type(const char *msg_type);
/* Short name of a status ("bad-signature", ...). */
const char *krn_wire_status_name(int status);

/* Serializes and signs. parent/metadata may be NULL ("{}"). Invalid UTF-8 in content is
 * replaced (content is modified). Free with krn_wire_out_free. */
int krn_wire_encode(const krn_wire *w, const cJSON *header, const cJSON *parent,
                    const cJSON *metadata, cJSON *content, krn_wire_out *o);
void krn_wire_out_free(krn_wire_out *o);

/* Replay set, exposed for tests: returns true if sig was already present, else adds it. */
bool krn_replay_check_add(krn_replay *r, const unsigned char *sig, size_t len);
int krn_replay_init(krn_replay *r);
void krn_replay_free(krn_replay *r);

#endif
