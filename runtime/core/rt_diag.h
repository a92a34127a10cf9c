/* rt_diag: the runtime's one diagnostic type and its one code space.
 *
 * Every runtime function that can fail returns 0 or one of the negative RT_E* codes
 * below, and (where it takes one) fills an rt_diag: the code, a human-readable message,
 * and — when the module knows them — the configuration key at fault, the training step
 * reached, and a source position with the offending token (the reward language).  A
 * code means the same thing whichever module returns it, so callers compare codes
 * across modules (a sweep, a trainer's setup and a model call all return RT_ENOMEM).
 *
 * Fields a module does not know stay zero / empty: callers clear the struct with
 * rt_diag_clear (or `= {0}`) before a call.
 *
 * Leaves out: the cell-facing form with the source line and caret (magics/lang's
 * mag_diag, built from this by the magics), the Jupyter error names, and the kernel's
 * own codes (kernel/ does not depend on runtime/). */
#ifndef RT_DIAG_H
#define RT_DIAG_H

#include <stdarg.h>

/* One code space (SQLite-style): each value has one meaning everywhere. */
enum {
    RT_OK = 0,
    RT_EINVAL = -1,     /* bad argument or configuration (key names the key when known) */
    RT_ENOMEM = -2,     /* an allocation failed */
    RT_EFAILED = -3,    /* a run failed: non-finite metric, a step or a job failed */
    RT_EINTR = -4,      /* interrupted by a cancel flag (runs, sweeps, trainings) */
    RT_ESYNTAX = -5,    /* malformed source text (reward language) */
    RT_ENAME = -6,      /* unknown function, feature or argument name */
    RT_EARITY = -7,     /* wrong number or kind of arguments */
    RT_ELIMIT = -8,     /* a length, nesting, size or count limit exceeded */
    RT_EPARAM = -9,     /* parameter without value / unknown parameter override */
    RT_EFEATURE = -10,  /* the task lacks a feature the reward reads */
    RT_EPARSE = -11,    /* text that does not parse as the task's tokens */
    RT_ENOENT = -12,    /* a file cannot be opened */
    RT_EIO = -13,       /* read or write error */
    RT_EMAGIC = -14,    /* not a file of the expected kind */
    RT_EVERSION = -15,  /* a file of another format version */
    RT_ETRUNC = -16,    /* shorter than its header says / text cut to fit */
    RT_ECHECKSUM = -17, /* contents do not match the checksum */
    RT_ESIZE = -18,     /* trailing bytes after the payload */
    RT_ESHAPE = -19,    /* models / workspaces of different architectures or shapes */
    RT_ECAP = -20,      /* more rows or sequences than a workspace holds */
    RT_EMODEL = -21,    /* a model call failed (the message names its code) */
    RT_ETOOBIG = -22,   /* a search space above its limit (debate's minimax tree) */
    RT_EEXIST = -23,    /* a name that already exists */
    RT_ENOTFOUND = -24, /* a name that does not exist */
    RT_EFORMAT = -25    /* malformed serialized data (a packed job) */
};

typedef struct rt_diag {
    int code;      /* 0 or the RT_E* code returned */
    int line, col; /* 1-based source position (col in code points), 0 if none */
    long step;     /* trainings: the step reached (completed steps when interrupted) */
    char key[32];  /* the configuration key at fault ("epochs"), "" if none */
    char near[64]; /* the offending token's text, "" at end of input or if none */
    char msg[256]; /* e.g. "epochs = 3 needs algo = ppo (...)" */
} rt_diag;

/* Zeroes every field. */
void rt_diag_clear(rt_diag *d);
/* Sets d->code and d->msg (printf-style, cut to fit; fmt NULL: empty) and returns code; other fields
 * stay as they are.  d may be NULL (then only returns code). */
int rt_diag_set(rt_diag *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rt_diag_vset(rt_diag *d, int code, const char *fmt, va_list ap);
/* The same with the configuration key at fault. */
int rt_diag_key(rt_diag *d, int code, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rt_diag_vkey(rt_diag *d, int code, const char *key, const char *fmt, va_list ap);
/* A short English name of a code ("out of memory"); "error" for an unknown one. */
const char *rt_diag_code_name(int code);

#endif
