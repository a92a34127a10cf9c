/* krn_display: the output context behind the display API (see krn_display.h): stream
 * batching, update rate limiting, first-error bookkeeping, pager payloads. Knows nothing
 * of sockets; the sink decides where messages go. */
#include "krn_display.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_FLUSH_BYTES (64u << 10)
#define STREAM_FLUSH_NS (50 * 1000000LL)
#define UPDATE_MIN_NS (250 * 1000000LL)
#define MAX_UPDATE_IDS 16

typedef struct pending_update {
    char *id;          /* display id (owned) */
    long long last_ns; /* when the last update of this id was sent */
    cJSON *content;    /* newest held-back update_display_data content, or NULL */
} pending_update;

struct krn_out {
    const krn_sink_vtable *vt;
    void *sink;
    krn_sink_live_fn live; /* publisher of live frames, or NULL (vt->publish) */
    atomic_int *cancel;
    int execution_count;
    bool silent;
    pthread_mutex_t lock;
    int stream; /* which stream buf holds */
    char *buf;  /* pending stream text */
    size_t len, cap;
    long long buf_since_ns; /* time the first pending byte arrived */
    pending_update upd[MAX_UPDATE_IDS];
    bool has_error;
    char *ename, *evalue;
    cJSON *traceback;
    cJSON *payload; /* array */
    char *result_plain;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

krn_out *krn_out_new(const krn_sink_vtable *vt, void *sink, atomic_int *cancel, int execution_count,
                     bool silent)
{
    krn_out *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->payload = cJSON_CreateArray();
    if (!o->payload) {
        free(o);
        return NULL;
    }
    o->vt = vt;
    o->sink = sink;
    o->cancel = cancel;
    o->execution_count = execution_count;
    o->silent = silent;
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

void krn_out_set_live_sink(krn_out *o, krn_sink_live_fn fn)
{
    pthread_mutex_lock(&o->lock);
    o->live = fn;
    pthread_mutex_unlock(&o->lock);
}

static void publish(krn_out *o, const char *type, cJSON *content)
{
    if (!content) return;
    if (o->silent || !o->vt || !o->vt->publish)
        cJSON_Delete(content);
    else
        o->vt->publish(o->sink, type, content);
}

/* A non-final update_display_data: the sink may drop or replace it (krn_display.h). */
static void publish_live(krn_out *o, cJSON *content, const char *display_id)
{
    if (!content) return;
    if (!o->silent && o->live)
        o->live(o->sink, "update_display_data", content, display_id);
    else
        publish(o, "update_display_data", content);
}

/* lock held */
static void flush_stream(krn_out *o)
{
    if (o->len == 0) return;
    cJSON *c = cJSON_CreateObject();
    if (c) {
        cJSON_AddStringToObject(c, "name", o->stream == KRN_STDERR ? "stderr" : "stdout");
        o->buf[o->len] = '\0';
        cJSON_AddStringToObject(c, "text", o->buf);
    }
    o->len = 0;
    publish(o, "stream", c);
}

/* lock held: sends held-back updates (all when force, else those that are due) */
static void flush_updates(krn_out *o, bool force, long long now)
{
    for (int i = 0; i < MAX_UPDATE_IDS; i++) {
        pending_update *u = &o->upd[i];
        if (u->content && (force || now - u->last_ns >= UPDATE_MIN_NS)) {
            cJSON *c = u->content;
            u->content = NULL;
            u->last_ns = now;
            publish_live(o, c, u->id);
        }
    }
}

/* lock held: flush what is due by size or age */
static void flush_due(krn_out *o)
{
    long long t = now_ns();
    if (o->len && (o->len >= STREAM_FLUSH_BYTES || t - o->buf_since_ns >= STREAM_FLUSH_NS))
        flush_stream(o);
    flush_updates(o, false, t);
}

void krn_out_finish(krn_out *o)
{
    pthread_mutex_lock(&o->lock);
    flush_stream(o);
    flush_updates(o, true, now_ns());
    pthread_mutex_unlock(&o->lock);
}

void krn_out_free(krn_out *o)
{
    if (!o) return;
    for (int i = 0; i < MAX_UPDATE_IDS; i++) {
        free(o->upd[i].id);
        cJSON_Delete(o->upd[i].content);
    }
    free(o->buf);
    free(o->ename);
    free(o->evalue);
    free(o->result_plain);
    cJSON_Delete(o->traceback);
    cJSON_Delete(o->payload);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

void krn_out_stream(krn_out *o, enum krn_stream s, const char *text, size_t len)
{
    if (len == 0) return;
    pthread_mutex_lock(&o->lock);
    if (o->len && o->stream != (int)s) flush_stream(o);
    if (o->len + len + 1 > o->cap) {
        size_t nc = o->cap ? o->cap : 256;
        while (nc < o->len + len + 1)
            nc *= 2;
        char *nb = realloc(o->buf, nc);
        if (!nb) {
            pthread_mutex_unlock(&o->lock);
            return;
        }
        o->buf = nb;
        o->cap = nc;
    }
    if (o->len == 0) o->buf_since_ns = now_ns();
    o->stream = (int)s;
    memcpy(o->buf + o->len, text, len);
    o->len += len;
    flush_due(o);
    pthread_mutex_unlock(&o->lock);
}

void krn_out_printf(krn_out *o, enum krn_stream s, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        krn_out_stream(o, s, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    krn_out_stream(o, s, big, (size_t)n);
    free(big);
}

static cJSON *bundle_content(cJSON *data, cJSON *metadata, const char *display_id)
{
    cJSON *c = cJSON_CreateObject();
    if (!c) {
        cJSON_Delete(data);
        cJSON_Delete(metadata);
        return NULL;
    }
    cJSON_AddItemToObject(c, "data", data);
    cJSON_AddItemToObject(c, "metadata", metadata ? metadata : cJSON_CreateObject());
    if (display_id) {
        cJSON *t = cJSON_AddObjectToObject(c, "transient");
        if (t) cJSON_AddStringToObject(t, "display_id", display_id);
    }
    return c;
}

int krn_out_display(krn_out *o, cJSON *data, cJSON *metadata, const char *display_id)
{
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(data);
        cJSON_Delete(metadata);
        return KRN_OUT_EINVAL;
    }
    cJSON *c = bundle_content(data, metadata, display_id);
    if (!c) return KRN_OUT_ENOMEM;
    pthread_mutex_lock(&o->lock);
    flush_stream(o);
    if (display_id) /* a new display resets the update clock of that id */
        for (int i = 0; i < MAX_UPDATE_IDS; i++)
            if (o->upd[i].id && strcmp(o->upd[i].id, display_id) == 0) o->upd[i].last_ns = 0;
    publish(o, "display_data", c);
    pthread_mutex_unlock(&o->lock);
    return 0;
}

/* now: send at once whatever the rate limit (a display's final frame), dropping a
 * held-back update of that id */
static int update_display(krn_out *o, cJSON *data, cJSON *metadata, const char *display_id,
                          bool now)
{
    if (!cJSON_IsObject(data) || !display_id || !*display_id) {
        cJSON_Delete(data);
        cJSON_Delete(metadata);
        return KRN_OUT_EINVAL;
    }
    cJSON *c = bundle_content(data, metadata, display_id);
    if (!c) return KRN_OUT_ENOMEM;
    pthread_mutex_lock(&o->lock);
    flush_stream(o);
    long long t = now_ns();
    pending_update *u = NULL, *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < MAX_UPDATE_IDS; i++) {
        pending_update *p = &o->upd[i];
        if (p->id && strcmp(p->id, display_id) == 0) u = p;
        if (!p->id && !free_slot) free_slot = p;
        if (p->id && !p->content && (!oldest || p->last_ns < oldest->last_ns)) oldest = p;
    }
    if (!u) {
        u = free_slot ? free_slot : oldest;
        if (u) {
            free(u->id);
            u->id = strdup(display_id);
            u->last_ns = 0;
            if (!u->id) u = NULL;
        }
    }
    if (!u || now || t - u->last_ns >= UPDATE_MIN_NS) {
        if (u) {
            cJSON_Delete(u->content);
            u->content = NULL;
            u->last_ns = t;
        }
        if (now)
            publish(o, "update_display_data", c);
        else
            publish_live(o, c, display_id);
    } else {
        cJSON_Delete(u->content); /* keep only the newest frame */
        u->content = c;
    }
    pthread_mutex_unlock(&o->lock);
    return 0;
}

int krn_out_update_display(krn_out *o, cJSON *data, cJSON *metadata, const char *display_id)
{
    return update_display(o, data, metadata, display_id, false);
}

int krn_out_update_display_final(krn_out *o, cJSON *data, cJSON *metadata,
                                 const char *display_id)
{
    return update_display(o, data, metadata, display_id, true);
}

int krn_out_display_text(krn_out *o, const char *text, const char *display_id, bool update)
{
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddStringToObject(d, "text/plain", text)) {
        cJSON_Delete(d);
        return KRN_OUT_ENOMEM;
    }
    return update ? krn_out_update_display(o, d, NULL, display_id)
                  : krn_out_display(o, d, NULL, display_id);
}

void krn_out_clear(krn_out *o, bool wait)
{
    cJSON *c = cJSON_CreateObject();
    if (c) cJSON_AddBoolToObject(c, "wait", wait);
    pthread_mutex_lock(&o->lock);
    flush_stream(o);
    publish(o, "clear_output", c);
    pthread_mutex_unlock(&o->lock);
}

int krn_out_result(krn_out *o, cJSON *data, cJSON *metadata)
{
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(data, "text/plain");
    if (!cJSON_IsString(tp)) {
        cJSON_Delete(data);
        cJSON_Delete(metadata);
        return KRN_OUT_EINVAL;
    }
    char *plain = strdup(tp->valuestring);
    cJSON *c = bundle_content(data, metadata, NULL);
    if (!c || !plain) {
        free(plain);
        cJSON_Delete(c);
        return KRN_OUT_ENOMEM;
    }
    cJSON_AddNumberToObject(c, "execution_count", o->execution_count);
    pthread_mutex_lock(&o->lock);
    free(o->result_plain);
    o->result_plain = plain;
    flush_stream(o);
    publish(o, "execute_result", c);
    pthread_mutex_unlock(&o->lock);
    return 0;
}

int krn_out_result_text(krn_out *o, const char *text)
{
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddStringToObject(d, "text/plain", text)) {
        cJSON_Delete(d);
        return KRN_OUT_ENOMEM;
    }
    return krn_out_result(o, d, NULL);
}

void krn_out_error(krn_out *o, const char *ename, const char *evalue, const char *const *tb,
                   size_t ntb)
{
    pthread_mutex_lock(&o->lock);
    if (o->has_error) {
        pthread_mutex_unlock(&o->lock);
        return;
    }
    o->has_error = true;
    o->ename = strdup(ename ? ename : "Error");
    o->evalue = strdup(evalue ? evalue : "");
    o->traceback = cJSON_CreateArray();
    for (size_t i = 0; i < ntb && o->traceback; i++)
        cJSON_AddItemToArray(o->traceback, cJSON_CreateString(tb[i]));
    if (ntb == 0 && o->traceback && o->ename && o->evalue) {
        /* front ends that show only the traceback must still show the message */
        size_t n = strlen(o->ename) + strlen(o->evalue) + 3;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "%s: %s", o->ename, o->evalue);
            cJSON_AddItemToArray(o->traceback, cJSON_CreateString(line));
            free(line);
        }
    }
    cJSON *c = cJSON_CreateObject();
    if (c) {
        cJSON_AddStringToObject(c, "ename", o->ename ? o->ename : "Error");
        cJSON_AddStringToObject(c, "evalue", o->evalue ? o->evalue : "");
        cJSON_AddItemToObject(
            c, "traceback", o->traceback ? cJSON_Duplicate(o->traceback, 1) : cJSON_CreateArray());
    }
    flush_stream(o);
    publish(o, "error", c);
    pthread_mutex_unlock(&o->lock);
}

void krn_out_pager(krn_out *o, const char *text)
{
    cJSON *p = cJSON_CreateObject();
    if (!p) return;
    cJSON_AddStringToObject(p, "source", "page");
    cJSON *d = cJSON_AddObjectToObject(p, "data");
    if (d) cJSON_AddStringToObject(d, "text/plain", text);
    cJSON_AddNumberToObject(p, "start", 0);
    pthread_mutex_lock(&o->lock);
    cJSON_AddItemToArray(o->payload, p);
    pthread_mutex_unlock(&o->lock);
}

int krn_out_input(krn_out *o, const char *prompt, bool password, char **reply)
{
    *reply = NULL;
    pthread_mutex_lock(&o->lock);
    flush_stream(o);
    pthread_mutex_unlock(&o->lock);
    if (!o->vt || !o->vt->input) return KRN_OUT_ENOSTDIN;
    return o->vt->input(o->sink, prompt ? prompt : "", password, reply);
}

bool krn_out_interrupted(krn_out *o)
{
    pthread_mutex_lock(&o->lock);
    flush_due(o);
    pthread_mutex_unlock(&o->lock);
    return o->cancel && atomic_load(o->cancel) != 0;
}

bool krn_out_has_error(krn_out *o)
{
    return o->has_error;
}
const char *krn_out_error_name(krn_out *o)
{
    return o->ename;
}
const char *krn_out_error_value(krn_out *o)
{
    return o->evalue;
}
const cJSON *krn_out_error_traceback(krn_out *o)
{
    return o->traceback;
}
const char *krn_out_result_plain(krn_out *o)
{
    return o->result_plain;
}

cJSON *krn_out_take_payload(krn_out *o)
{
    pthread_mutex_lock(&o->lock);
    cJSON *p = o->payload;
    o->payload = cJSON_CreateArray();
    pthread_mutex_unlock(&o->lock);
    return p;
}
