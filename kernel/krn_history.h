/* krn_history: the kernel's in-memory input history (one session, numbered from 1) and the
 * three history_request access types: tail, range and search (glob patterns as in
 * IPython: fnmatch syntax, '*' also matches newlines; unique keeps the latest of equal
 * inputs). Thread-safe. Nothing is persisted.
 * Leaves out: persistence across sessions (IPython's sqlite file) and output history. */
#ifndef KRN_HISTORY_H
#define KRN_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cJSON cJSON;
typedef struct krn_history krn_history;

#define KRN_HISTORY_SESSION 1

krn_history *krn_history_new(void);
void krn_history_free(krn_history *h);
/* Stores input number line (the execution count). Returns 0 or -1. */
int krn_history_add(krn_history *h, int line, const char *input);
/* Records the text/plain output of line (replaces an earlier one). */
void krn_history_set_output(krn_history *h, int line, const char *output);
/* Entries [session, line, input] (or [session, line, [input, output]] when output) as a new
 * JSON array (caller deletes). */
cJSON *krn_history_tail(krn_history *h, int n, bool output);
/* Lines start <= line < stop of session (session <= 0 or KRN_HISTORY_SESSION: this one;
 * stop <= 0: to the end). */
cJSON *krn_history_range(krn_history *h, int session, int start, int stop, bool output);
/* The last n (n <= 0: all) entries matching pattern, oldest first. */
cJSON *krn_history_search(krn_history *h, const char *pattern, int n, bool unique, bool output);

#endif
