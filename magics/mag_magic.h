/* mag_magic: the registry of magics and the context a magic's handler runs in.
 *
 * Each magic is one static mag_magic record in the file that implements it
 * (magics/mag_m_<topic>.c); magics/mag_registry.c lists those tables (a new magic is
 * one new file, its line in the registry and in magics/meson.build) — the parser (body
 * grammars), the interpreter and editor support (is_complete, completion of names and
 * keys, help, inspection) all read the same records.
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
#include "rt_diag.h"

#define MAG_INTERRUPTED (-100)

/* Error codes a handler may put in mag_diag.code (with mag_diag_set) besides the
 * MAG_E* codes of mag_lang.h.  The interpreter turns the code into the error's ename
 * (mag_error_name):
 *   MAG_ESYNTAX, MAG_EENCODING, MAG_ELIMIT   SyntaxError
 *   MAG_ESCHEMA, MAG_EARG, MAG_EVALUE       ValueError   (keys, types, ranges)
 *   MAG_ENAME                               NameError    (unknown magic/object/name)
 *   MAG_ETYPE                               TypeError    (wrong arity or kind)
 *   MAG_ERUNTIME                            RuntimeError (a run failed, file I/O)
 *   MAG_ENOMEM                              MemoryError
 *   MAG_INTERRUPTED                         Interrupted */
enum {
    MAG_ENAME = -20,
    MAG_ETYPE = -21,
    MAG_EVALUE = -22,
    MAG_ERUNTIME = -23,
};
const char *mag_error_name(int code);

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

/* mag_magic.flags */
enum {
    MAG_M_RAW_ARGS = 1u << 0, /* line magic whose arguments are free text (%echo a, b):
                                 the line is not tokenized; run() gets line->args_text
                                 (nargs 0) and cfg NULL */
    MAG_M_OWN_VALIDATION = 1u << 1, /* the handler validates (e.g. with extra keys, as
                                       %%rl with its reward's parameters): run() gets cfg
                                       NULL; .schema still serves completion and help */
};

/* Declare records with designated initializers ({.name = "eval", .run = run_eval, ...})
 * so that fields added later default to 0. */
struct mag_magic {
    const char *name;         /* without '%' */
    int cell;                 /* 1: a cell magic %%name, 0: a line magic %name */
    const mag_schema *schema; /* its keys (validated before run), or NULL */
    const char *usage;        /* one line: "%eval POLICY [task=T] [k=8] [temperature=1]" */
    const char *help;         /* the full help text (shown by %help, ?name, Shift-Tab) */
    mag_run_fn run;
    unsigned flags; /* MAG_M_* */
    /* Kinds of the positional arguments for completion, e.g. "policy" for
     * %eval POLICY, "policy,-" for %save POLICY FILE ("-": not an object, "magic": a
     * magic name; the last kind repeats for %plot RUN...), or NULL. */
    const char *positional;
    /* Cell magics: the body grammar.  0 (MAG_BODY_RAW) means: MAG_BODY_CONFIG if the
     * magic has a schema, else raw text. */
    mag_body_kind body;
    /* Called once, before any record is handed out (mag_magics, mag_magic_find):
     * fills a schema or help text derived from a runtime registry (%task: the task
     * kinds' keys).  NULL for most magics. */
    void (*init)(void);
};

/* All magics, in %lsmagic order; NULL-terminated array of pointers. */
const mag_magic *const *mag_magics(void);
/* The magic named `name` of that kind (cell = 1 for %%name), or NULL. */
const mag_magic *mag_magic_find(const char *name, int cell);
/* The closest magic name of that kind to `name` (did-you-mean), or NULL. */
const char *mag_magic_suggest(const char *name, int cell);
/* The body grammar of cell magic `name` (mag_parse_opts.body_kind; ud unused). */
mag_body_kind mag_magic_body_kind(const char *name, void *ud);
/* Full help of a magic: usage, help text and, with a schema, one line per key
 * (mag_key_help).  Like snprintf: returns the full length. */
size_t mag_magic_help(const mag_magic *m, char *buf, size_t cap);

/* Help for a `?name` / `%help name` target: "%eval" / "%%rl" / "eval" (a magic, line
 * magics first), a key ("lambda": its help in every magic that has it), a reward
 * feature or function, or a defined object ("base": its kind and summary).  Returns a
 * malloc'ed text (caller frees), or NULL; then, if alt is not NULL, alt[128] receives
 * a hint such as " (did you mean '%eval'?)" or "".  (mag_m_basic.c) */
char *mag_help_text(const mag_session *s, const char *target, char *alt);
/* Help for a name inside an expression: a feature, function or defined reward (malloc'ed,
 * or NULL). */
char *mag_help_expr(const mag_session *s, const char *name);

/* The reward language, shared by %%reward, expression lines and the training magics
 * (implemented in mag_m_reward.c). */
struct rt_diag;
/* The union of the feature names of all task kinds (correct, partial, length, format,
 * eos, outcome, demo_agree), in that order; *n receives the count. */
const char *const *mag_reward_features(int *n);
/* Turns a reward compiler/linker diagnostic into d (positions are cell positions;
 * "near" only for syntax errors) and returns its MAG_E* code. */
int mag_reward_diag(mag_diag *d, const char *src, size_t len, const struct rt_diag *rd);
/* Evaluates an expression line (reward language, features unavailable, defined rewards
 * callable) and formats its value with rt_reward_format.  0, or a MAG_E* code with d
 * filled.  expr is a span of src (positions in the cell). */
int mag_eval_expr(mag_session *s, const char *src, size_t len, const mag_span *expr, char *out,
                  size_t cap, mag_diag *d);

#endif
