/* mag_lang: the cell language of rlhf-kernel (design.md "The cell language").
 *
 * C11 + libc + runtime/core's rt_text.h (UTF-8 columns, did-you-mean: included here,
 * so users of this header have them); knows nothing of the kernel, the RL runtime or
 * the magic handlers.  Four parts, all declared here:
 *   1. parse  : cell text -> AST (mag_cell) with a position on every node;
 *   2. diag   : the one error function (Lua style "cell:LINE:COL: msg near 'tok'",
 *               plus the offending source line and a caret line for the traceback);
 *   3. schema : validation of a magic's key = value settings against a per-magic
 *               table (types, ranges, enums, required keys, defaults, help), sweep
 *               detection and cartesian expansion (did-you-mean: rt_text.h);
 *   4. edit   : is_complete, completion context and inspection context.
 *
 * Grammar (design.md; productions are repeated above each parser function):
 *   cell   -> '%%' NAME {arg} NEWLINE body | {line}
 *   line   -> '%' NAME {arg} | help | expr | comment | <blank>
 *   help   -> '?' {'?'} ['%'|'%%'] NAME | ['%'|'%%'] NAME '?' {'?'}
 *             (a whole line; "%%rl?" on the first line is help, not a cell magic)
 *   arg    -> NAME '=' value | value
 *   body   -> {key '=' value NEWLINE}    configuration magics (%%policy, %%rl, ...)
 *           | expr                       %%reward (one expression, may span lines)
 *           | <raw text>                 any other cell magic (kept verbatim)
 *   value  -> ['-'] number | string | NAME | list | map
 *   list   -> '[' [value {',' value} [',']] ']'
 *   map    -> '{' [NAME ':' value {',' NAME ':' value} [',']] '}'
 *
 * Lexical decisions (documented contract):
 *   - Input is UTF-8; NUL bytes, invalid/overlong sequences, surrogates and code
 *     points above U+10FFFF are rejected with their position.  Lines end at '\n'; a
 *     '\r' before it is whitespace.  Columns count Unicode code points, 1-based; a tab
 *     counts as one column.  A leading byte-order mark is skipped (not counted).
 *   - NAME: starts with an ASCII letter, '_', '.', '/' or '~'; continues with ASCII
 *     letters, digits and '_', '-', '.', '/'.  So bare file paths (`out.csv`,
 *     `runs/a.json`, `./p.bin`) and hyphenated names (`base-v2`) are NAMEs.  Names
 *     are ASCII: a path with other characters must be written as a string.  A NAME
 *     directly followed by '[' {NAME char | '=' | ',' | '+'} ']' with at least one
 *     '=' includes it, so sweep point names (`s[lr=1e-3,seed=2]`) can be written
 *     bare; `a[1]` and `a [x=1]` are still a NAME then a list.
 *   - number: ['-'] digits ['.' digits] [('e'|'E') ['+'|'-'] digits], or starting
 *     with '.'; no space after '-'.  Without '.' or exponent it is an integer (int64;
 *     larger is an error; an integer key of a schema also takes an integral number,
 *     1e3, see mag_validate).  A number running into name characters ("3rd",
 *     "1.2.3") is "malformed number".
 *   - string: double-quoted, escapes \" \\ \n \t \uXXXX (BMP, not a surrogate, not
 *     U+0000); any other escape, a newline or the end of the cell inside it is an error.
 *   - '#' starts a comment to the end of the line (outside strings).
 *   - Inside '[' and '{' newlines and comments are whitespace, so a value may span
 *     lines; a trailing comma is allowed; [] and {} are allowed (the schema may
 *     reject them).
 *   - An expression line runs to the end of the line, or further while a '(' '['
 *     or '{' opened in it is unclosed.  The parser checks only strings and bracket
 *     balance; the reward compiler (runtime/reward) parses the span itself (the span
 *     is raw text: '#' comments inside it are kept, the compiler skips them).
 *   - Blank and comment lines may precede a '%%' header; a '%%' line anywhere else
 *     is an error.
 *
 * Limits: a cell is at most MAG_MAX_CELL_BYTES bytes ("cell too large"), lists/maps
 * and brackets nest at most MAG_MAX_DEPTH deep ("nesting too deep").
 *
 * Typical use by a magic handler (error handling shortened):
 *
 *   mag_cell *cell; mag_diag d;
 *   if (mag_parse_cell(code, len, NULL, &cell, &d))      -> error reply: d.msg as
 *       evalue, traceback {d.msg, d.source_line, d.caret}; session untouched
 *   cell->kind == MAG_CELL_MAGIC: look up cell->name (else rt_did_you_mean over
 *       the registry: "unknown magic '%%rll' (did you mean '%%rl'?)" through
 *       mag_diag_set at cell->name_pos);
 *   mag_config *cfg;
 *   if (mag_validate_cell(&opd_schema, cell, code, len, &cfg, &d)) -> error reply
 *   for (size_t pt = 0; pt < cfg->npoints; pt++) {
 *       mag_config_point_name(cfg, cell->args[0].value.str, pt, name, sizeof name);
 *       double lr = mag_value_number(mag_config_get(cfg, "lr", pt), 1e-3); ...
 *   }
 *   mag_config_free(cfg); mag_cell_free(cell);
 *   A %%reward body goes to rt_reward_compile(cell->body.text, cell->body.len,
 *   cell->body.pos.line, cell->body.pos.col, ...); its rt_diag comes back
 *   through mag_diag_set(&d, code, len, MAG_ESYNTAX, rd.line, rd.col,
 *   rd.near[0] ? rd.near : MAG_NEAR_EOF, "%s", rd.msg).
 *
 * Memory: every function allocates with malloc and reports MAG_ENOMEM on failure.
 * No global state (but a private per-thread allocation-failure hook for tests);
 * everything is reentrant and may run in several threads at once.
 */
#ifndef MAG_LANG_H
#define MAG_LANG_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_key.h"
#include "rt_sweep_points.h"
#include "rt_text.h"

#define MAG_MAX_CELL_BYTES (1024u * 1024u)
#define MAG_MAX_DEPTH 32

/* Status codes (0 ok, negative error). */
enum {
    MAG_OK = 0,
    MAG_ESYNTAX = -1,   /* lexical or syntax error */
    MAG_ELIMIT = -2,    /* cell too large, nesting too deep */
    MAG_EENCODING = -3, /* NUL byte, invalid UTF-8 */
    MAG_ENOMEM = -4,    /* allocation failed */
    MAG_ESCHEMA = -5,   /* validation: unknown key/value, type, range, missing, duplicate */
    MAG_EARG = -6,      /* API misuse (NULL arguments, bad schema default) */
};

/* ------------------------------------------------------------------ positions */

/* A position in the cell: 1-based line, 1-based column in code points, byte offset. */
typedef struct mag_pos {
    int line;
    int col;
    size_t off;
} mag_pos;

/* A raw text span copied out of the cell (NUL-terminated, owned by the cell).  pos is
 * the origin of its first byte; later lines of a multi-line span start at column 1
 * (they are copied with their leading whitespace). */
typedef struct mag_span {
    const char *text;
    size_t len;
    mag_pos pos;
} mag_span;

/* ------------------------------------------------------------------ AST */

typedef struct mag_diag mag_diag; /* defined below (diagnostics) */

typedef enum mag_value_kind {
    MAG_V_INT,    /* i (and num = (double)i) */
    MAG_V_FLOAT,  /* num */
    MAG_V_STRING, /* str: decoded text (UTF-8) */
    MAG_V_NAME,   /* str: the name */
    MAG_V_LIST,   /* items[n] */
    MAG_V_MAP,    /* entries[n], keys unique */
} mag_value_kind;

struct mag_kv;

typedef struct mag_value {
    mag_value_kind kind;
    mag_pos pos;             /* first character ('-' of a negative number, '[', '"' ...) */
    const char *text;        /* raw source text of the whole value, NUL-terminated */
    long long i;             /* MAG_V_INT */
    double num;              /* MAG_V_INT and MAG_V_FLOAT */
    const char *str;         /* MAG_V_STRING (decoded) and MAG_V_NAME */
    struct mag_value *items; /* MAG_V_LIST */
    struct mag_kv *entries;  /* MAG_V_MAP */
    size_t n;                /* number of items / entries */
} mag_value;

/* `key = value` (config body line, map entry, named argument) or a positional
 * argument (key == NULL, key_pos == value.pos). */
typedef struct mag_kv {
    const char *key;
    mag_pos key_pos;
    mag_value value;
} mag_kv;

typedef enum mag_line_kind {
    MAG_LINE_MAGIC, /* %name args */
    MAG_LINE_EXPR,  /* an expression (reward language) */
    MAG_LINE_HELP,  /* ?name, name?, ?%magic, %magic? */
} mag_line_kind;

typedef struct mag_line {
    mag_line_kind kind;
    mag_pos pos;      /* first non-blank character of the line */
    const char *name; /* MAGIC: name without '%'.  HELP: the target as written without
                         the '?' ("%%rl", "%eval", "lambda").  EXPR: NULL */
    mag_pos name_pos; /* MAGIC/HELP: position of the name (after '%' / of the target) */
    mag_kv *args;     /* MAGIC: arguments in source order */
    size_t nargs;
    mag_span args_text; /* MAGIC: raw text after the name, trimmed, comment included */
    mag_span expr;      /* EXPR: raw text of the expression (may span lines), trimmed */
} mag_line;

typedef enum mag_body_kind {
    MAG_BODY_RAW,    /* body kept verbatim in mag_cell.body */
    MAG_BODY_CONFIG, /* key = value lines -> mag_cell.entries (and .body raw) */
    MAG_BODY_EXPR,   /* one expression -> mag_cell.body (trimmed), must be non-empty */
} mag_body_kind;

typedef enum mag_cell_kind {
    MAG_CELL_LINES, /* lines[nlines] (blank and comment lines are not stored) */
    MAG_CELL_MAGIC, /* a '%%' cell magic */
} mag_cell_kind;

typedef struct mag_cell {
    mag_cell_kind kind;
    /* MAG_CELL_LINES */
    mag_line *lines;
    size_t nlines;
    /* MAG_CELL_MAGIC */
    mag_pos pos;      /* the first '%' of the header */
    const char *name; /* magic name without "%%" */
    mag_pos name_pos;
    mag_kv *args; /* header arguments */
    size_t nargs;
    mag_span args_text; /* raw header text after the name */
    mag_body_kind body_kind;
    mag_kv *entries; /* MAG_BODY_CONFIG: keys unique, source order */
    size_t nentries;
    mag_span body; /* RAW/CONFIG: the text after the header line (pos = line 2,
                      col 1); EXPR: the expression, trimmed */
    void *priv;    /* allocation arena; do not touch */
} mag_cell;

/* Body kind of cell magic `name`; used by the parser to choose the body grammar. */
typedef mag_body_kind (*mag_body_kind_fn)(const char *name, void *ud);

/* The library knows no magic names: the caller's registry says which body grammar each
 * cell magic has (magics/mag_registry.c: mag_magic_body_kind). */
typedef struct mag_parse_opts {
    mag_body_kind_fn body_kind; /* NULL: every cell magic has a RAW body */
    void *ud;
} mag_parse_opts;

/* Parse `len` bytes of `src` (need not be NUL-terminated).  On success returns MAG_OK
 * and *out is a new cell (caller frees with mag_cell_free); strings in it point into
 * the cell, not into src.  On error returns a negative MAG_E* code, *out is NULL and
 * d (if not NULL) is filled.  opts may be NULL. */
int mag_parse_cell(const char *src, size_t len, const mag_parse_opts *opts, mag_cell **out,
                   mag_diag *d);

/* Frees a cell and everything it owns.  NULL is a no-op. */
void mag_cell_free(mag_cell *cell);

/* Parse one value from text (e.g. a schema default "3e-4", "[1, 2]", "full"); newlines
 * count as blanks.  *out lives in a cell returned in *out_owner (free it with
 * mag_cell_free when done with *out).  Errors as mag_parse_cell, plus "expected end
 * of value" for trailing text. */
int mag_parse_value(const char *src, size_t len, const mag_value **out, mag_cell **out_owner,
                    mag_diag *d);

/* ------------------------------------------------------------------ diagnostics */

#define MAG_DIAG_MSG 512
#define MAG_DIAG_LINE 256

/* Caller-owned diagnostic.  msg is the full evalue ("cell:3:7: unknown key 'lamda'
 * (did you mean 'lambda'?)"); source_line/caret are the two traceback lines (the
 * offending source line, invalid bytes as '?', cut to at most 60 code points around
 * the column with "..." marks, and a line of spaces/tabs with '^' under the column).
 *
 * Message catalogue (LINE:COL of the offending token; "near" only for syntax):
 *   parse (MAG_ESYNTAX unless noted)
 *     cell too large (N bytes; the limit is 1048576)      MAG_ELIMIT, at 1:1
 *     nesting too deep (the limit is 32) near '['         MAG_ELIMIT
 *     NUL byte in cell                                     MAG_EENCODING
 *     invalid UTF-8 byte 0xC3                              MAG_EENCODING
 *     unfinished string near '"abc'
 *     invalid escape sequence near '\q'
 *     \u needs 4 hexadecimal digits near '\u12'
 *     invalid code point in \u escape near '\uD800'
 *     malformed number near '1.2.3'      integer too large near '...'
 *     number out of range near '1e999'
 *     expected ']' (to close '[' at line 2) near 'steps'   (other line)
 *     expected ']' (to close '[' at column 12) near ')'    (same line)
 *     unmatched ')' near ')'
 *     expected a value near <eol>        expected a key near '5'
 *     expected '=' after 'lr' near '0.1'
 *     expected ':' after 'add' near 't'
 *     expected end of line after the value of 'lr' near '0.2'
 *     expected an argument near ','
 *     expected a magic name after '%' near 'eval'
 *     expected a name after '?' near <eof>
 *     expected end of line after the help request near 'x'
 *     a cell magic must be the first line of the cell near '%%rl'
 *     expected an expression in the body of '%%reward' near <eof>
 *     duplicate key 'lr' (first set at line 2)
 *     expected end of value near '2'                       (mag_parse_value)
 *   schema (MAG_ESCHEMA; token = the key or the value's text): see mag_validate.
 *   out of memory (MAG_ENOMEM, "cell: out of memory"). */
struct mag_diag {
    int code;       /* MAG_E* */
    int line, col;  /* 1-based; col in code points; 0 when not tied to a place */
    int incomplete; /* nonzero: the error is that the cell ended inside something
                       open (is_complete answers "incomplete"): 2 an open bracket,
                       1 a string or a %%reward header without its expression */
    char token[64]; /* the token after "near" ("<eof>", "<eol>", text); for schema and
                       duplicate-key errors the key or value text (not printed) */
    char msg[MAG_DIAG_MSG];
    char source_line[MAG_DIAG_LINE];
    char caret[MAG_DIAG_LINE];
};

#define MAG_NEAR_EOF "<eof>" /* shown unquoted: near <eof> */
#define MAG_NEAR_EOL "<eol>" /* shown unquoted: near <eol> */

/* The one error function.  Fills d (if not NULL) with
 *   msg = "cell:LINE:COL: <formatted message>[ near 'near']"
 * (near NULL: no "near" part; MAG_NEAR_EOF/MAG_NEAR_EOL are printed without quotes;
 * other tokens are truncated to 24 code points with "..." and control characters
 * shown as \xNN), and source_line/caret from src (may be NULL: both left empty).
 * line <= 0 gives msg "cell: <message>".  Returns code, so callers can
 * `return mag_diag_set(...)`.  Usable by the magic handlers and the reward bridge. */
int mag_diag_set(mag_diag *d, const char *src, size_t len, int code, int line, int col,
                 const char *near, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;

/* Columns (code points), the did-you-mean rule and the unclosed-pair wording are
 * rt_text.h's (rt_utf8_cols, rt_utf8_offset, rt_suggest_*, rt_did_you_mean,
 * rt_text_unclosed), shared with the reward compiler. */

/* ------------------------------------------------------------------ schema */

/* A key of a magic is the runtime's key type (runtime/core/rt_key.h): the training
 * magics' schemas are made of the trainers' own key initializers (rt_rl_keys.h, ...)
 * plus the keys only a cell has (names of session objects, seed). */
typedef rt_key_type mag_type;
#define MAG_T_INT RT_KEY_INT       /* integer literal */
#define MAG_T_NUMBER RT_KEY_NUMBER /* integer or float literal */
#define MAG_T_STRING RT_KEY_STRING /* string or NAME (so bare file names work) */
#define MAG_T_NAME RT_KEY_NAME     /* NAME: a reference to an object (spec.object: registry) */
#define MAG_T_ENUM RT_KEY_ENUM     /* NAME (or string) among spec.values */
#define MAG_T_BOOL RT_KEY_BOOL     /* true/false/yes/no/on/off, or integer 0/1 */
#define MAG_T_LIST RT_KEY_LIST     /* list whose items are spec.elem (scalar types only) */
#define MAG_T_MAP RT_KEY_MAP       /* map whose values are spec.elem (scalar types only) */

enum {
    MAG_K_REQUIRED = RT_KEY_REQUIRED,   /* missing key is an error */
    MAG_K_SWEEP = RT_KEY_SWEEP,         /* a list where a scalar is expected is a sweep (not
                                           for MAG_T_LIST keys: their list is the value) */
    MAG_K_MIN = RT_KEY_MIN,             /* value >= min (numbers) */
    MAG_K_MIN_EXCL = RT_KEY_MIN_EXCL,   /* value > min */
    MAG_K_MAX = RT_KEY_MAX,             /* value <= max */
    MAG_K_MAX_EXCL = RT_KEY_MAX_EXCL,   /* value < max */
    MAG_K_OR_SCALAR = RT_KEY_OR_SCALAR, /* MAG_T_MAP only: a single elem value is accepted
                                           too (e.g. teacher = POLICY | {task: POLICY}) */
};

/* One key of a magic (fields: rt_key.h; object = the registry for completion). */
typedef rt_key mag_key_spec;

typedef struct mag_schema {
    const char *magic; /* "opd" (shown as %%opd / %eval by the caller) */
    const mag_key_spec *keys;
    size_t nkeys;
    const char *help;            /* one line */
    const rt_key_alias *aliases; /* other names of keys (rt_key.h), or NULL */
    size_t naliases;
} mag_schema;

/* What to validate: named arguments (positional ones, key == NULL, are skipped: the
 * handler reads them itself) followed by body entries, both in source order. */
typedef struct mag_validate_in {
    const char *src; /* the cell source, for source line and caret */
    size_t len;
    const mag_kv *args;
    size_t nargs;
    const mag_kv *entries;
    size_t nentries;
    mag_pos where; /* where "missing required key" errors point (the name) */
} mag_validate_in;

/* A validated configuration: for each schema key its value (deep copies owned by the
 * config), and the sweep.  Swept keys are listed in source order; points are numbered
 * 0..npoints-1 with the first swept key varying slowest (rt_sweep_points.h). */
typedef struct mag_config {
    const mag_schema *schema;
    const mag_value **values;   /* [schema->nkeys]: given value, parsed default, or NULL */
    const unsigned char *given; /* [schema->nkeys]: 1 if set in the cell */
    const size_t *swept;        /* [nswept] key indices, source order */
    size_t nswept;
    const rt_sweep_key *grid; /* [nswept] the same sweep as the runtime's points
                                 (rt_sweep_points.h): names, counts, value texts */
    size_t npoints;           /* product of swept list lengths (1 without a sweep) */
    const mag_pos *key_pos;   /* [schema->nkeys]: where a given key was written (its
                                 alias's position when set by another name) */
    void *priv;
} mag_config;

/* Validate; on success *out is a new config (caller frees with mag_config_free).
 * An integer key (MAG_T_INT, or LIST/MAP of it) takes an integral number too: `1e3` is
 * stored as the integer 1000 (kind MAG_V_INT, text "1e3" kept for point names).  A
 * number key (MAG_T_NUMBER) is used in single precision: beyond +-FLT_MAX, or nonzero
 * within +-FLT_MIN, is out of range.  Sweep values are compared after normalization
 * (1e-3 == 0.001, 1e3 == 1000, yes == true), a repeated one is an error.
 * Errors (MAG_ESCHEMA unless noted), each at the offending key or value:
 *   unknown key 'lamda' (did you mean 'lambda'?)
 *   duplicate key 'lr' (first set at line 2)
 *   unknown value 'fulll' for 'estimator' (did you mean 'full'?); expected sampled or full
 *   'steps' expects an integer, got string "ten"     ('steps' = 1.5: got number 1.5)
 *   'lr' must be > 0            'noise' must be in [0, 1]
 *   number 1e300 is out of range for 'lr' (the largest magnitude is 3.4e+38)
 *   number 1e-50 is out of range for 'lr' (too close to 0: the smallest nonzero
 *     magnitude is 1.2e-38)
 *   number 1e30 is out of range for 'steps' (an integer: at most 9223372036854775807
 *     in magnitude)
 *   'arch' cannot be swept (a list is not allowed here)
 *   sweep list for 'lr' is empty
 *   value 64 appears twice in the sweep of 'hidden' (first at column 11); each point
 *     would run twice under one name      (at the second; "first as 1e-3 at ..." when
 *     written differently, "line L, column C" on another line)
 *   missing required key 'from'
 * Schema defaults that do not parse give MAG_EARG. */
int mag_validate(const mag_schema *schema, const mag_validate_in *in, mag_config **out,
                 mag_diag *d);
/* Shorthands: a cell magic's header args + body entries (where = name_pos), and a
 * line magic's args. */
int mag_validate_cell(const mag_schema *schema, const mag_cell *cell, const char *src, size_t len,
                      mag_config **out, mag_diag *d);
int mag_validate_line(const mag_schema *schema, const mag_line *line, const char *src, size_t len,
                      mag_config **out, mag_diag *d);
void mag_config_free(mag_config *cfg);

/* Index of key `name` in the schema, or -1. */
int mag_schema_find(const mag_schema *schema, const char *name);
/* The scalar value of key `key` at sweep point `point` (the list item for swept keys),
 * or NULL (unknown key, no value and no default, point out of range). */
const mag_value *mag_config_get(const mag_config *cfg, const char *key, size_t point);
const mag_value *mag_config_at(const mag_config *cfg, size_t key_index, size_t point);
/* Number of a numeric value (int or float), or `fallback` for NULL/other kinds. */
double mag_value_number(const mag_value *v, double fallback);
/* Truth of a MAG_T_BOOL value (validated), fallback for NULL. */
int mag_value_bool(const mag_value *v, int fallback);
/* Writes the sweep point's name "BASE[key=value,key=value]" (values as written in the
 * cell; just "BASE" without a sweep) like snprintf: returns the full length.  The
 * runtime's rt_sweep_point_name on cfg->grid: one naming for cells and executors. */
size_t mag_config_point_name(const mag_config *cfg, const char *base, size_t point, char *buf,
                             size_t cap);
/* Type name for help and messages: "integer", "number", "string", "name",
 * "one of a, b or c" ... written like snprintf. */
size_t mag_key_type_text(const mag_key_spec *k, char *buf, size_t cap);

/* Item index of swept key number s (0 <= s < nswept) at sweep point `point`, e.g. to
 * group the seeds of one configuration into a mean +- spread band. */
size_t mag_config_coord(const mag_config *cfg, size_t s, size_t point);
/* One line of help for a key, like snprintf:
 *   "lr (number > 0, default 1e-3, sweepable): learning rate"
 *   "from (policy name, required): student initialization" */
size_t mag_key_help(const mag_key_spec *k, char *buf, size_t cap);
/* The magic's help line, then "  " + mag_key_help + "\n" for every key. */
size_t mag_schema_help(const mag_schema *s, char *buf, size_t cap);

/* ------------------------------------------------------------------ editor support */

typedef enum mag_completeness {
    MAG_COMPLETE,   /* run it */
    MAG_INCOMPLETE, /* wait for more lines (indent says how to indent the next one) */
    MAG_INVALID,    /* a syntax error more text cannot fix (run it to see the error) */
} mag_completeness;

/* Jupyter is_complete.
 *   incomplete: an open bracket (indent "    "); an unterminated string on the last
 *     line; a '%%' header with no body yet; a cell magic whose last line is not
 *     blank, even if that line does not parse yet (as IPython: a console submits a
 *     cell magic with an empty line).
 *   complete: a cell that parses (a cell magic: followed by a blank line; a header
 *     alone: followed by two newlines, so an all-defaults body can be submitted).
 *   invalid: any other parse error (unmatched closer, string cut by a newline, NUL,
 *     invalid UTF-8, too large ...): the console submits it and the error shows.
 * indent (may be NULL) receives "    " inside brackets, "" otherwise. */
mag_completeness mag_is_complete(const char *code, size_t len, const mag_parse_opts *opts,
                                 char *indent, size_t cap);

typedef enum mag_ctx_kind {
    MAG_CTX_NONE,  /* inside a string or comment, or nothing to offer */
    MAG_CTX_MAGIC, /* a magic name after '%' / '%%' (cell_magic tells which) */
    MAG_CTX_KEY,   /* a key: at the start of a statement in the body of config cell
                      magic `magic`, or an argument word followed by '=' */
    MAG_CTX_VALUE, /* the value of key `key` of magic `magic` (objects, enum values) */
    MAG_CTX_ARG,   /* an argument word of magic `magic` not followed by '=': positional
                      number arg_index, or a key being typed (`%eval p te|`): the
                      handler offers objects and/or "key=" as the magic takes them */
    MAG_CTX_EXPR,  /* a name inside an expression line or a %%reward body (then
                      magic = "reward"): features, rewards, functions */
    MAG_CTX_HELP,  /* the target of a ?name / name? help request */
} mag_ctx_kind;

/* Cursor context.  start/end delimit the word under/before the cursor in code points
 * (for completion: replace [start, cursor) ... end with the match; for inspection the
 * word is the whole name under the cursor). */
typedef struct mag_cursor_ctx {
    mag_ctx_kind kind;
    int cell_magic;    /* 1 if `magic` is a '%%' magic (or MAGIC kind after '%%');
                          magic, key and cell_magic are empty/0 for MAG_CTX_NONE */
    char magic[64];    /* KEY/VALUE/ARG: the magic name (no '%') */
    char key[64];      /* VALUE: the key */
    int arg_index;     /* ARG: 0-based index among positional arguments */
    size_t start, end; /* code points */
    char prefix[128];  /* word text from start to the cursor */
    char word[128];    /* word text from start to end */
} mag_cursor_ctx;

/* Completion context at code-point cursor `cursor` (clamped to the text).  Returns
 * MAG_OK, or MAG_EARG for NULL arguments.  Never fails on malformed text.  The body
 * grammar of a cell magic is opts's (as for mag_parse_cell; RAW bodies: NONE). */
int mag_complete_context(const char *code, size_t len, size_t cursor, const mag_parse_opts *opts,
                         mag_cursor_ctx *out);
/* Inspection context: as completion (the word under the cursor, both sides), but a
 * cursor on the '%' of '%name' also gives MAG_CTX_MAGIC with word "name". */
int mag_inspect_context(const char *code, size_t len, size_t cursor, const mag_parse_opts *opts,
                        mag_cursor_ctx *out);

#endif
