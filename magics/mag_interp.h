/* mag_interp: the interpreter of the cell language behind the kernel's krn_interp vtable
 * (execute, user_expressions, complete, inspect, is_complete).  It owns one session
 * (mag_session.h) and dispatches to the magics of the registry (mag_magic.h); it knows
 * no particular magic.
 * Leaves out: the wire and threads (kernel/), the language itself (magics/lang), and
 * every magic's semantics (mag_m_*.c). */
#ifndef MAG_INTERP_H
#define MAG_INTERP_H

#include "krn_interp.h"
#include "mag_session.h"

/* Creates the interpreter with an empty session; free with mag_interp_free.  NULL when
 * out of memory. */
krn_interp *mag_interp_new(void);
void mag_interp_free(krn_interp *it);
/* The interpreter's session (owned by it; for tests and the headless runner). */
mag_session *mag_interp_session(krn_interp *it);

/* Editor support (mag_interp_edit.c), with the krn_interp_vtable signatures; self is the
 * interpreter's self pointer. */
int mag_complete(void *self, const char *code, size_t cursor, krn_completion *c);
int mag_inspect(void *self, const char *code, size_t cursor, int detail_level, char **text);

#endif
