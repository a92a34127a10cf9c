/* rt_rows: rows of named text columns read from a file or a buffer: JSONL, CSV, TSV and
 * verl's JSONL rows.  The reader under the file-backed task kind (issue 16); no RL, no
 * tokens: every cell is UTF-8 text (NUL-free) with a kind saying what it was in the file.
 *
 * Formats (RT_ROWS_AUTO picks one by the path's extension: .jsonl .csv .tsv):
 *   jsonl  one JSON object per line (RFC 8259 values; strings with every escape, \u
 *          surrogate pairs joined).  Values: string (kind STRING), number (kind NUMBER,
 *          its source text kept verbatim: no conversion, so no libm and no rounding),
 *          true/false (BOOL, "true"/"false"), null (NULL, "").  Nested objects are
 *          flattened with dots: {"extra_info": {"split": "test"}} is column
 *          "extra_info.split" (depth <= RT_ROWS_MAX_DEPTH).  Arrays are read in one known
 *          shape only: TRL's chat-free "messages" = [{"role": "user", "content": P},
 *          {"role": "assistant", "content": C}] (exactly these two turns, in this order)
 *          gives columns "prompt" = P and "completion" = C; any other array is an error
 *          that says what is accepted.  TRL's "prompt"/"completion" columns are read as
 *          they are.  Columns are the union over the rows in order of first appearance;
 *          a row without one has kind MISSING ("").  No empty lines (the file's last
 *          newline is not a line); CRLF accepted.
 *   verl   JSONL as above whose rows have "prompt" (a string, or verl's chat list holding
 *          exactly one {"role": "user", "content": P}) and "reward_model.ground_truth",
 *          renamed "answer"; "data_source" is renamed "domain"; other columns kept
 *          ("extra_info.split", "ability", ...).  A row without prompt or ground truth is
 *          an error.  Parquet (verl's own files) is not read: Debian (bookworm) packages
 *          no C Parquet reader — `apt-cache search parquet` finds nothing, and
 *          libarrow-glib-dev / libparquet-glib-dev have no candidate (only Apache Arrow's
 *          own apt repository ships them); convert with pandas' to_json(lines=True).
 *   csv    RFC 4180: a header row, then records; fields separated by ',', quoted fields
 *          may hold ',', '"' (doubled) and newlines; records end with LF or CRLF; the
 *          last may lack its newline.  A '"' inside an unquoted field, or anything but
 *          ',' or the end of the line after a closing quote, is an error.  Cells have
 *          kind TEXT (rt_rows_is_number tells numbers apart).
 *   tsv    a header row, fields separated by TAB, records by LF or CRLF, no quoting;
 *          the escapes of "linear TSV" (also PostgreSQL's and MySQL's text format) are
 *          decoded: \t \n \r \\ (any other backslash is kept as it is).  Kind TEXT.
 * Every format: UTF-8 only (a leading BOM is skipped), no NUL bytes, every row of a
 * CSV/TSV has the header's field count, column names are non-empty and distinct.
 *
 * Errors (rt_diag.h; message "PATH:LINE:COL: ..." with d->line, d->col set, COL in code
 * points of the line; PATH is the buffer's name for rt_rows_parse):
 *   RT_ENOENT  "PATH: no such file" / "PATH: permission denied" / "PATH: cannot open"
 *   RT_EIO     "PATH: is a directory", "PATH: read error"
 *   RT_EINVAL  an unknown format name or extension ("PATH: cannot tell the format from
 *              the extension (.jsonl, .csv or .tsv); give format=jsonl|csv|tsv|verl")
 *   RT_EPARSE  invalid UTF-8 "(byte 0xC3 at offset 17)", "UTF-16 text (byte order
 *              mark FF FE); save the file as UTF-8", "NUL byte", "empty file",
 *              "empty line", bad JSON ("expected ':' after the key" ...), "row has 3
 *              fields, the header 2", "duplicate column 'x'", "empty column name",
 *              messages / verl shapes, "no rows after the header"
 *   RT_ELIMIT  a file, row, cell, column name, column count, nesting or row count
 *              beyond its cap below (the message names the cap)
 *   RT_ENOMEM  "PATH: out of memory"
 *   RT_ENOTFOUND  rt_rows_column: "PATH: no column 'qustion' (did you mean 'question'?);
 *              columns: question, answer"
 * Nothing is returned on an error (*out stays NULL, everything freed).
 *
 * Determinism: the table is a function of the bytes alone (no locale, no floating point).
 * Ownership: the table owns its text; rt_rows_free frees it.  Allocation via rt_alloc.h.
 * Leaves out: Parquet, multi-line JSON objects, JSON arrays of rows, CSV without a
 * header, other separators than ',' and TAB, other encodings, streaming (files are read
 * whole, up to RT_ROWS_MAX_FILE), numbers as doubles (the caller converts). */
#ifndef RT_ROWS_H
#define RT_ROWS_H

#include <stddef.h>

#include "rt_diag.h"

#define RT_ROWS_MAX_FILE (64u << 20) /* bytes of a file (64 MiB), read whole */
#define RT_ROWS_MAX_ROW 65536        /* bytes of a JSONL line or a CSV/TSV record */
#define RT_ROWS_MAX_CELL 4096        /* bytes of a cell's decoded text */
#define RT_ROWS_MAX_ROWS 262144      /* rows (the header not counted) */
#define RT_ROWS_MAX_COLS 64          /* columns */
#define RT_ROWS_MAX_NAME 64          /* bytes of a column name (flattened: with its dots) */
#define RT_ROWS_MAX_DEPTH 8          /* nesting of JSON objects (the row is depth 1) */

typedef enum rt_rows_format {
    RT_ROWS_AUTO = 0, /* by extension */
    RT_ROWS_JSONL,
    RT_ROWS_CSV,
    RT_ROWS_TSV,
    RT_ROWS_VERL
} rt_rows_format;

enum {                      /* what a cell was in the file */
       RT_CELL_MISSING = 0, /* the row has no such column (JSONL): "" */
       RT_CELL_TEXT,        /* a CSV/TSV field */
       RT_CELL_STRING,      /* a JSON string */
       RT_CELL_NUMBER,      /* a JSON number: its source text */
       RT_CELL_BOOL,        /* "true" / "false" */
       RT_CELL_NULL         /* JSON null: "" */
};

typedef struct rt_rows {
    char *name;            /* the path (or buffer name) errors start with */
    rt_rows_format format; /* the format read (never AUTO) */
    int n_rows, n_cols;
    char **cols;         /* n_cols column names */
    char *text;          /* every cell, each NUL-terminated; text[0] = "" */
    size_t *off, *len;   /* [row * n_cols + col]: the cell's offset in text, its bytes */
    unsigned char *kind; /* [row * n_cols + col]: RT_CELL_* */
    int *line, *col;     /* [row * n_cols + col]: where the value starts (0: missing) */
    int *row_line;       /* [row]: the line the row starts on */
} rt_rows;

/* Reads the file at path (fmt AUTO: by extension) into *out. */
int rt_rows_read(rt_rows **out, const char *path, rt_rows_format fmt, rt_diag *d);
/* The same on buf[0..n) (fmt AUTO: by name's extension); name starts messages. */
int rt_rows_parse(rt_rows **out, const char *name, const char *buf, size_t n, rt_rows_format fmt,
                  rt_diag *d);
void rt_rows_free(rt_rows *r);

/* The format of a path's extension (AUTO if none fits); of a name ("jsonl", "csv",
 * "tsv", "verl"; -1 if none); and a format's name. */
rt_rows_format rt_rows_format_of_path(const char *path);
int rt_rows_format_parse(const char *name);
const char *rt_rows_format_name(rt_rows_format f);

/* The cell's text (NUL-terminated) and, if len is not NULL, its bytes. */
const char *rt_rows_cell(const rt_rows *r, int row, int col, size_t *len);
int rt_rows_kind(const rt_rows *r, int row, int col);
/* The index of the column called name, or RT_ENOTFOUND with the did-you-mean message
 * above; key (may be NULL) is copied into d->key so the caller can point at the cell key
 * that named the column (e.g. "prompt" of prompt=qustion). */
int rt_rows_column(const rt_rows *r, const char *name, const char *key, rt_diag *d);
/* 1 when s[0..n) is a JSON number (RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?), else 0. */
int rt_rows_is_number(const char *s, size_t n);

#endif
