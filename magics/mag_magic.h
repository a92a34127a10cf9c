/* mag_magic: the registry of magics and the context a magic's handler runs in.
 *
 * Each magic is one static mag_magic record in the file that implements it
 * (magics/mag_m_<topic>.c); magics/mag_registry.c lists those tables, so a later
 * magic (%%rl, %%opd, %%debate) is one new file and one line in the registry — the
 * parser, the interpreter and editor support (completion of names and keys, help,
 * inspection) all read the same records.
 *
 * Handler contract:
 *   - The interpreter has parsed the cell (magics/lang) and calls run() with either
 *     the cell (cell magics) or one line (line magics).  If the magic has a schema,
 *     the interpreter has already validated the arguments/body into cfg (sweep points
 *     expanded by mag_config_get(cfg, key, point)); otherwise cfg is NULL and the
 *     handler reads line->args / cell->entries itself.
 *   - Output goes only through ctx->out (kernel/krn_display.h).  A magic that trains
 *     publishes its live chart and summary through the bridge (mag_bridge.h).
 *   - On a user error: fill d with mag_diag_set(d, ctx->src, ctx->len, code, line, col,
 *     near, fmt, ...) at the offending place and return a negative MAG_E* code; the
 *     interpreter publishes it as the cell's one error.  The session must then be
 *     exactly as it was before the cell.
 *   - Return MAG_INTERRUPTED when krn_out_interrupted(ctx->out) stopped the work (after
 *     keeping partial results and publishing an error naming the step). */
#ifndef MAG_MAGIC_H
#define MAG_MAGIC_H

#include "krn_display.h"
#include "mag_lang.h"
#include "mag_session.h"

#define MAG_INTERRUPTED (-100)

typedef struct mag_ctx {
    mag_session *session;
    krn_out *out;
    const char *src; /* the whole cell, for diagnostics */
    size_t len;
    int execution_count;
} mag_ctx;

typedef struct mag_magic mag_magic;

typedef int (*mag_run_fn)(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell,
                          const mag_line *line, const mag_config *cfg, mag_diag *d);

struct mag_magic {
    const char *name;         /* without '%' */
    int cell;                 /* 1: a cell magic %%name, 0: a line magic %name */
    const mag_schema *schema; /* its keys (validated before run), or NULL */
    const char *usage;        /* one line: "%eval POLICY [task=T] [k=8] [temperature=1]" */
    const char *help;         /* the full help text (shown by %help, ?name, Shift-Tab) */
    mag_run_fn run;
};

/* All magics, in %lsmagic order; NULL-terminated array of pointers. */
const mag_magic *const *mag_magics(void);
/* The magic named `name` of that kind (cell = 1 for %%name), or NULL. */
const mag_magic *mag_magic_find(const char *name, int cell);

#endif
