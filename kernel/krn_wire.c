/* krn_wire: decode/verify/encode of Jupyter wire messages (see krn_wire.h). Socket I/O
 * lives in krn_sock.c. */
#include "krn_wire.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_utf8.h"

static const char *known_types[] = {"execute_request",     "inspect_request",
                                    "complete_request",    "history_request",
                                    "is_complete_request", "comm_info_request",
                                    "kernel_info_request", "shutdown_request",
                                    "interrupt_request",   "input_reply",
                                    "comm_open",           "comm_msg",
                                    "comm_close",          NULL};

bool krn_wire_known_type(const char *t)
{
    for (int i = 0; known_types[i]; i++)
        if (strcmp(t, known_types[i]) == 0) return true;
    return false;
}

const char *krn_wire_status_name(int s)
{
    switch (s) {
    case KRN_WIRE_OK:
        return "ok";
    case KRN_WIRE_UNKNOWN_TYPE:
        return "unknown-msg-type";
    case KRN_WIRE_NUL:
        return "nul-in-string";
    case KRN_WIRE_ENODELIM:
        return "no-delimiter";
    case KRN_WIRE_ESHORT:
        return "too-few-frames";
    case KRN_WIRE_ETOOMANY:
        return "too-many-frames";
    case KRN_WIRE_ETOOBIG:
        return "frame-too-big";
    case KRN_WIRE_ENOSIG:
        return "empty-signature";
    case KRN_WIRE_EBADSIG:
        return "bad-signature";
    case KRN_WIRE_EREPLAY:
        return "replayed-signature";
    case KRN_WIRE_EUTF8:
        return "invalid-utf8";
    case KRN_WIRE_EDEPTH:
        return "json-too-deep";
    case KRN_WIRE_EJSON:
        return "invalid-json";
    case KRN_WIRE_ETYPE:
        return "wrong-json-shape";
    case KRN_WIRE_ENOMEM:
        return "out-of-memory";
    default:
        return "?";
    }
}

/* ---- replay set ---------------------------------------------------------------------- */

int krn_replay_init(krn_replay *r)
{
    memset(r, 0, sizeof *r);
    r->keys = calloc(KRN_WIRE_REPLAY_CAP, sizeof *r->keys);
    r->next = malloc(KRN_WIRE_REPLAY_CAP * sizeof *r->next);
    r->buckets = malloc(KRN_WIRE_REPLAY_CAP * sizeof *r->buckets);
    if (!r->keys || !r->next || !r->buckets) {
        krn_replay_free(r);
        return -1;
    }
    memset(r->buckets, 0xff, KRN_WIRE_REPLAY_CAP * sizeof *r->buckets);
    return 0;
}

void krn_replay_free(krn_replay *r)
{
    free(r->keys);
    free(r->next);
    free(r->buckets);
    memset(r, 0, sizeof *r);
}

static uint32_t bucket_of(const unsigned char k[32])
{
    uint32_t h;
    memcpy(&h, k, 4);
    return h % KRN_WIRE_REPLAY_CAP;
}

bool krn_replay_check_add(krn_replay *r, const unsigned char *sig, size_t len)
{
    unsigned char k[32] = {0};
    memcpy(k, sig, len < 32 ? len : 32);
    uint32_t b = bucket_of(k);
    for (int32_t i = r->buckets[b]; i >= 0; i = r->next[i])
        if (memcmp(r->keys[i], k, 32) == 0) return true;
    size_t slot = r->head;
    if (r->count == KRN_WIRE_REPLAY_CAP) {
        /* evict the oldest entry: unlink it from its chain */
        int32_t *pp = &r->buckets[bucket_of(r->keys[slot])];
        while (*pp >= 0 && *pp != (int32_t)slot)
            pp = &r->next[*pp];
        if (*pp == (int32_t)slot) *pp = r->next[slot];
    } else {
        r->count++;
    }
    memcpy(r->keys[slot], k, 32);
    r->next[slot] = r->buckets[b];
    r->buckets[b] = (int32_t)slot;
    r->head = (slot + 1) % KRN_WIRE_REPLAY_CAP;
    return false;
}

/* ---- init ---------------------------------------------------------------------------- */

int krn_wire_init(krn_wire *w, const char *scheme, const char *key, size_t key_len, char *err,
                  size_t errsz)
{
    memset(w, 0, sizeof *w);
    if (krn_hmac_init(&w->hmac, scheme, key, key_len, err, errsz) < 0) return -1;
    if (krn_replay_init(&w->replay) < 0) {
        krn_hmac_free(&w->hmac);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    pthread_mutex_init(&w->lock, NULL);
    return 0;
}

void krn_wire_free(krn_wire *w)
{
    krn_hmac_free(&w->hmac);
    krn_replay_free(&w->replay);
    pthread_mutex_destroy(&w->lock);
}

/* ---- decode -------------------------------------------------------------------------- */

static int fail(krn_msg_in *m, int code, const char *fmt, const char *arg)
{
    snprintf(m->reason, sizeof m->reason, fmt, arg);
    return code;
}

/* Maximum nesting depth of JSON text (brackets outside strings); stops past limit. */
static int json_depth(const char *s, size_t n, int limit)
{
    int d = 0, maxd = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++d > maxd) maxd = d;
            if (maxd > limit) return maxd;
        } else if (c == '}' || c == ']') {
            d--;
        }
    }
    return maxd;
}

/* True when a JSON string in s holds the escape \u0000 (cJSON would end the string
 * there). An escaped backslash followed by u0000 is text, not a NUL. */
static bool json_has_nul(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!in_str) {
            if (c == '"') in_str = 1;
        } else if (c == '\\') {
            if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) return true;
            i++;
        } else if (c == '"') {
            in_str = 0;
        }
    }
    return false;
}

void krn_msg_in_free(krn_msg_in *m)
{
    for (size_t i = 0; i < m->n_ids; i++)
        free((void *)m->ids[i].data);
    free(m->ids);
    cJSON_Delete(m->header);
    cJSON_Delete(m->parent);
    cJSON_Delete(m->metadata);
    cJSON_Delete(m->content);
    m->ids = NULL;
    m->n_ids = 0;
    m->header = m->parent = m->metadata = m->content = NULL;
    m->msg_type = NULL;
}

static const char *frame_names[4] = {"header", "parent_header", "metadata", "content"};

int krn_wire_decode(krn_wire *w, const krn_frame *f, size_t n, krn_msg_in *m)
{
    memset(m, 0, sizeof *m);
    char num[32];
    if (n > KRN_WIRE_MAX_FRAMES) {
        snprintf(num, sizeof num, "%zu", n);
        return fail(m, KRN_WIRE_ETOOMANY, "%s frames (limit 64)", num);
    }
    size_t d = 0;
    while (d < n && !(f[d].len == 9 && memcmp(f[d].data, KRN_WIRE_DELIM, 9) == 0))
        d++;
    if (d == n) return fail(m, KRN_WIRE_ENODELIM, "%s", "no <IDS|MSG> delimiter frame");
    if (n - d - 1 < 5) {
        snprintf(num, sizeof num, "%zu", n - d - 1);
        return fail(m, KRN_WIRE_ESHORT, "%s frames after the delimiter (need 5)", num);
    }
    for (size_t i = 0; i < n; i++)
        if (f[i].len > KRN_WIRE_MAX_FRAME) {
            snprintf(num, sizeof num, "%zu", f[i].len);
            return fail(m, KRN_WIRE_ETOOBIG, "a frame of %s bytes (limit 16777216)", num);
        }
    const krn_frame *sig = &f[d + 1];
    const krn_frame *js = &f[d + 2];
    size_t hexlen = krn_hmac_hex_len(&w->hmac);
    if (hexlen) {
        if (sig->len == 0) return fail(m, KRN_WIRE_ENOSIG, "%s", "empty signature");
        const void *parts[4] = {js[0].data, js[1].data, js[2].data, js[3].data};
        size_t lens[4] = {js[0].len, js[1].len, js[2].len, js[3].len};
        char hex[KRN_HMAC_HEX_MAX];
        krn_hmac_sign(&w->hmac, parts, lens, 4, hex);
        if (sig->len != hexlen || sodium_memcmp(hex, sig->data, hexlen) != 0)
            return fail(m, KRN_WIRE_EBADSIG, "%s", "signature does not match");
        unsigned char raw[32];
        sodium_hex2bin(raw, sizeof raw, hex, 64, NULL, NULL, NULL);
        pthread_mutex_lock(&w->lock);
        bool seen = krn_replay_check_add(&w->replay, raw, sizeof raw);
        pthread_mutex_unlock(&w->lock);
        if (seen) return fail(m, KRN_WIRE_EREPLAY, "%s", "duplicate signature (replay)");
    }
    cJSON *parsed[4] = {0};
    int nul_frame = -1; /* first frame with an escaped NUL, detected before cJSON cuts it */
    for (int i = 0; i < 4; i++) {
        if (nul_frame < 0 && json_has_nul(js[i].data, js[i].len)) nul_frame = i;
        if (!krn_utf8_valid(js[i].data, js[i].len))
            return fail(m, KRN_WIRE_EUTF8, "%s frame is not valid UTF-8", frame_names[i]);
        if (json_depth(js[i].data, js[i].len, KRN_WIRE_MAX_DEPTH) > KRN_WIRE_MAX_DEPTH)
            return fail(m, KRN_WIRE_EDEPTH, "%s frame nests JSON deeper than 64", frame_names[i]);
    }
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        parsed[i] = cJSON_ParseWithLength(js[i].data, js[i].len);
        if (!parsed[i])
            rc = fail(m, KRN_WIRE_EJSON, "%s frame is not valid JSON", frame_names[i]);
        else if (!cJSON_IsObject(parsed[i]))
            rc = fail(m, KRN_WIRE_ETYPE, "%s frame is not a JSON object", frame_names[i]);
    }
    if (rc == 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(parsed[0], "msg_type");
        if (!cJSON_IsString(t) || !t->valuestring[0])
            rc = fail(m, KRN_WIRE_ETYPE, "%s", "header has no string msg_type");
    }
    if (rc == 0 && d > 0) {
        m->ids = calloc(d, sizeof *m->ids);
        if (!m->ids) rc = fail(m, KRN_WIRE_ENOMEM, "%s", "out of memory");
        for (size_t i = 0; rc == 0 && i < d; i++) {
            void *c = malloc(f[i].len ? f[i].len : 1);
            if (!c) {
                rc = fail(m, KRN_WIRE_ENOMEM, "%s", "out of memory");
                break;
            }
            memcpy(c, f[i].data, f[i].len);
            m->ids[i].data = c;
            m->ids[i].len = f[i].len;
            m->n_ids = i + 1;
        }
    }
    if (rc != 0) {
        for (int i = 0; i < 4; i++)
            cJSON_Delete(parsed[i]);
        char keep[256];
        memcpy(keep, m->reason, sizeof keep);
        krn_msg_in_free(m);
        memcpy(m->reason, keep, sizeof keep);
        return rc;
    }
    m->header = parsed[0];
    m->parent = parsed[1];
    m->metadata = parsed[2];
    m->content = parsed[3];
    m->msg_type = cJSON_GetObjectItemCaseSensitive(m->header, "msg_type")->valuestring;
    if (!krn_wire_known_type(m->msg_type))
        return fail(m, KRN_WIRE_UNKNOWN_TYPE, "unknown msg_type '%.200s'", m->msg_type);
    if (nul_frame >= 0)
        return fail(m, KRN_WIRE_NUL, "%s frame holds a NUL character (\\u0000) in a string",
                    frame_names[nul_frame]);
    return KRN_WIRE_OK;
}

/* ---- encode -------------------------------------------------------------------------- */

int krn_wire_encode(const krn_wire *w, const cJSON *header, const cJSON *parent,
                    const cJSON *metadata, cJSON *content, krn_wire_out *o)
{
    memset(o, 0, sizeof *o);
    if (content) krn_utf8_repair_json(content);
    const cJSON *items[4] = {header, parent, metadata, content};
    for (int i = 0; i < 4; i++) {
        o->json[i] = items[i] ? cJSON_PrintUnformatted(items[i]) : strdup("{}");
        if (!o->json[i]) {
            krn_wire_out_free(o);
            return KRN_WIRE_ENOMEM;
        }
        o->len[i] = strlen(o->json[i]);
    }
    const void *parts[4] = {o->json[0], o->json[1], o->json[2], o->json[3]};
    krn_hmac_sign(&w->hmac, parts, o->len, 4, o->sig);
    return 0;
}

void krn_wire_out_free(krn_wire_out *o)
{
    for (int i = 0; i < 4; i++) {
        /* cJSON_Print uses cJSON's allocator (malloc by default), strdup uses malloc */
        free(o->json[i]);
        o->json[i] = NULL;
    }
}
