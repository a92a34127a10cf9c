/* krn_interp: the interpreter vtable. The kernel (and the headless runner) drive a cell
 * language only through this table; the interpreter publishes only through the krn_out
 * context it is given (krn_display.h), never through sockets. Cursor positions and
 * offsets are Unicode code points, as in the protocol (krn_utf8.h converts).
 * Leaves out: the wire, threads and interrupts' delivery (the kernel's), and any cell
 * language (magics/). */
#ifndef KRN_INTERP_H
#define KRN_INTERP_H

#include <stdbool.h>
#include <stddef.h>

#include "krn_display.h"

/* Return values of execute(). */
enum krn_exec_status {
    KRN_EXEC_OK = 0,
    KRN_EXEC_ERROR = -1,       /* the cell failed; it called krn_out_error (if it did not,
                                  the kernel publishes a generic error) */
    KRN_EXEC_INTERRUPTED = -2, /* stopped by the interrupt flag; if no error was published,
                                  the kernel publishes ename "Interrupted" */
};

enum krn_completeness { KRN_COMPLETE, KRN_INCOMPLETE, KRN_INVALID, KRN_UNKNOWN };

/* What kernel_info_reply reports about the language. Strings are static. */
typedef struct krn_language_info {
    const char *name; /* "rlhf" */
    const char *version;
    const char *mimetype;       /* "text/x-rlhf" */
    const char *file_extension; /* ".rlhf" */
    const char *pygments_lexer;
    const char *codemirror_mode;
    const char *nbconvert_exporter;
    const char *banner;
    const char *help_text, *help_url; /* one help link (url may be NULL) */
    /* More string members of language_info, which front ends copy into the notebook's
     * metadata (e.g. how the interpreter computes): "key", "value", ..., NULL; may be
     * NULL.  `--version` prints them too. */
    const char *const *extra;
} krn_language_info;

/* Completion result: matches are malloc'ed strings in a malloc'ed array; release with
 * krn_completion_free. cursor_start/end: the replaced range, in code points. */
typedef struct krn_completion {
    char **matches;
    size_t n;
    size_t cursor_start, cursor_end;
} krn_completion;

/* Appends a copy of match; returns 0 or -1 (out of memory). */
int krn_completion_add(krn_completion *c, const char *match);
void krn_completion_free(krn_completion *c);

typedef struct krn_interp_vtable {
    /* Runs one cell. Called on the thread that executes (the shell thread), one at a time.
     * Poll krn_out_interrupted(out) between steps. */
    int (*execute)(void *self, krn_out *out, const char *code, int execution_count);
    /* Evaluates one user_expression to text/plain (malloc'ed *text) or returns -1 with
     * ename/evalue filled. NULL: user_expressions answer ename "NotImplementedError". */
    int (*evaluate)(void *self, const char *expr, char **text, char ename[64], char evalue[256]);
    /* Fills c (zeroed by the caller) for code at cursor (code points). 0 ok. */
    int (*complete)(void *self, const char *code, size_t cursor, krn_completion *c);
    /* Help for the name at cursor: returns 1 and a malloc'ed *text, or 0 (not found). */
    int (*inspect)(void *self, const char *code, size_t cursor, int detail_level, char **text);
    /* Whether code is ready to run; for KRN_INCOMPLETE, indent[32] is the indent to use. */
    int (*is_complete)(void *self, const char *code, char indent[32]);
    /* Notification that an interrupt was requested (control thread or signal-free
     * context); the flag polled through krn_out_interrupted is already set. May be NULL. */
    void (*interrupt)(void *self);
    /* The kernel is shutting down (restart = a new process follows). May be NULL. */
    void (*shutdown)(void *self, bool restart);
} krn_interp_vtable;

typedef struct krn_interp {
    const krn_interp_vtable *vt;
    void *self; /* passed to every call */
    krn_language_info info;
} krn_interp;

#endif
