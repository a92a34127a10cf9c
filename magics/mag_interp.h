/* mag_interp: the first interpreter of the rlhf kernel, implemented through the real
 * krn_interp vtable. It understands line magics (%echo [--stderr] TEXT, %sleep SECONDS,
 * %clear, %lsmagic, %help NAME, %display [--id=ID] [--update] TEXT, %input PROMPT), ?NAME
 * (help in the pager), arithmetic expressions (+ - * / ^ parentheses, unary minus; shown
 * as execute_result, integers without a decimal point), comments (#) and blank lines.
 * The cell language (magics/lang) replaces it later without touching kernel/. */
#ifndef MAG_INTERP_H
#define MAG_INTERP_H

#include "krn_interp.h"

/* Creates the interpreter; free with mag_interp_free. NULL when out of memory. */
krn_interp *mag_interp_new(void);
void mag_interp_free(krn_interp *it);

/* Evaluates an arithmetic expression (exposed for tests). Returns 0 and *value, or -1 with
 * err[256] = "COL: message" (1-based code-point column inside expr). */
int mag_interp_eval(const char *expr, double *value, char err[256]);
/* Formats a number as shown in execute_result ("15", "2.5", "-0.125", "inf"). */
void mag_interp_format(double v, char out[64]);

#endif
