/* krn_display: the display API an interpreter publishes through. A krn_out is an opaque
 * output context for one cell; it never touches sockets: it hands finished messages to a
 * sink (a small vtable) that publishes them on IOPub (kernel), prints them (headless
 * `run`) or records them (tests). Every krn_out_* function is thread-safe, so worker
 * threads of a run may publish while the cell executes; the context is valid until the
 * interpreter's execute() returns (join workers before returning).
 *
 * Streams are batched: text accumulates and is flushed when 64 KiB are pending, when the
 * pending text is older than 50 ms at the next krn_out_* call (krn_out_interrupted()
 * included, so a polling loop keeps output live), before any other message, and at the
 * end of the cell. update_display_data is rate-limited per display id (at most one every
 * 250 ms; the newest pending update is sent when due and at the end of the cell).
 * A silent context publishes nothing. Only the first error of a cell is published.
 * Leaves out: the wire (the kernel turns these calls into messages) and what is displayed
 * (interpreters). */
#ifndef KRN_DISPLAY_H
#define KRN_DISPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cJSON cJSON;
typedef struct krn_out krn_out;

enum krn_stream { KRN_STDOUT = 0, KRN_STDERR = 1 };

enum krn_out_status {
    KRN_OUT_OK = 0,
    KRN_OUT_EINVAL = -1,   /* bad arguments (e.g. execute_result without text/plain) */
    KRN_OUT_ENOSTDIN = -2, /* input() when the client does not allow stdin */
    KRN_OUT_EINTR = -3,    /* input() interrupted */
    KRN_OUT_ENOMEM = -4,
};

typedef struct krn_sink_vtable {
    /* Publishes one message: msg_type is "stream", "display_data", "update_display_data",
     * "clear_output", "execute_result" or "error"; content is owned by the callee (it must
     * cJSON_Delete it). Called from any thread, serialized by the context's lock. */
    void (*publish)(void *sink, const char *msg_type, cJSON *content);
    /* Reads one line from the user. Returns 0 with a malloc'ed *reply (caller frees), or
     * KRN_OUT_ENOSTDIN / KRN_OUT_EINTR. May be NULL (then input() is unsupported). */
    int (*input)(void *sink, const char *prompt, bool password, char **reply);
} krn_sink_vtable;

/* Creates a context. cancel (may be NULL) is the interrupt flag the cell polls;
 * execution_count is put on execute_result; silent drops every message.
 * Free with krn_out_free (after krn_out_finish). */
krn_out *krn_out_new(const krn_sink_vtable *vt, void *sink, atomic_int *cancel, int execution_count,
                     bool silent);
/* A sink's publisher of live frames: an update_display_data that is not a display's
 * final frame (krn_out_update_display, and a held-back update sent when due or at the end
 * of the cell). It may drop the frame, or replace it by a newer frame of display_id, when
 * its client does not keep up; krn_out_update_display_final always goes through the
 * vtable's publish. Takes ownership of content. */
typedef void (*krn_sink_live_fn)(void *sink, const char *msg_type, cJSON *content,
                                 const char *display_id);
/* Routes the context's live frames through fn (NULL: the vtable's publish, the default). */
void krn_out_set_live_sink(krn_out *out, krn_sink_live_fn fn);
/* Flushes pending stream text and rate-limited updates (end of the cell). */
void krn_out_finish(krn_out *out);
void krn_out_free(krn_out *out);

/* --- for interpreters ------------------------------------------------------------------ */
/* Appends text to stdout or stderr (batched; invalid UTF-8 is repaired on sending). */
void krn_out_stream(krn_out *out, enum krn_stream s, const char *text, size_t len);
void krn_out_printf(krn_out *out, enum krn_stream s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* display_data: data is a mime bundle object, metadata may be NULL; display_id may be NULL
 * (otherwise sent as transient.display_id). Takes ownership of data and metadata. */
int krn_out_display(krn_out *out, cJSON *data, cJSON *metadata, const char *display_id);
/* update_display_data of an earlier display_id (required). Takes ownership. */
int krn_out_update_display(krn_out *out, cJSON *data, cJSON *metadata, const char *display_id);
/* The last update of a display (e.g. a chart's final frame): sent at once, whatever the
 * rate limit, replacing a held-back update of that id. Takes ownership. */
int krn_out_update_display_final(krn_out *out, cJSON *data, cJSON *metadata,
                                 const char *display_id);
/* Convenience: a {"text/plain": text} bundle, displayed or (update) updated. */
int krn_out_display_text(krn_out *out, const char *text, const char *display_id, bool update);
/* clear_output; wait=true clears when the next output arrives. */
void krn_out_clear(krn_out *out, bool wait);
/* execute_result: data must hold a "text/plain" string (else KRN_OUT_EINVAL and data is
 * freed). Takes ownership. */
int krn_out_result(krn_out *out, cJSON *data, cJSON *metadata);
int krn_out_result_text(krn_out *out, const char *text);
/* error {ename, evalue, traceback}; only the first call of a cell publishes. With no
 * traceback lines, the traceback is the one line "ename: evalue" (classic Notebook,
 * nbconvert and jupyter-console show only the traceback). */
void krn_out_error(krn_out *out, const char *ename, const char *evalue,
                   const char *const *traceback, size_t n_traceback);
/* Adds a pager payload {source: "page", data: {"text/plain": text}, start: 0} to the
 * execute_reply (not published on IOPub). */
void krn_out_pager(krn_out *out, const char *text);
/* input(): flushes output, asks the sink for a line (stdin channel in the kernel). */
int krn_out_input(krn_out *out, const char *prompt, bool password, char **reply);
/* True once the cell was interrupted (interrupt_request or SIGINT); poll it between steps
 * (it also flushes stream text that is due). */
bool krn_out_interrupted(krn_out *out);

/* --- for the kernel / runners ---------------------------------------------------------- */
bool krn_out_has_error(krn_out *out);
/* The published error's fields (NULL when none). Owned by out. */
const char *krn_out_error_name(krn_out *out);
const char *krn_out_error_value(krn_out *out);
const cJSON *krn_out_error_traceback(krn_out *out);
/* The payload list (array); ownership moves to the caller (cJSON_Delete). */
cJSON *krn_out_take_payload(krn_out *out);
/* text/plain of the last execute_result (for history output), or NULL. Owned by out. */
const char *krn_out_result_plain(krn_out *out);

#endif
