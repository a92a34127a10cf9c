/* rt_task_data: the rows of a file-backed task (kind "file", rt_task_file.c), read with
 * rt_rows (JSONL, CSV, TSV, verl) and turned into tokens, a train / held-out split and
 * the texts the reward language reads.  Issue 16.
 *
 * Columns.  prompt / answer name the columns (NULL: the first pair present of
 * prompt/completion (TRL, also from "messages"), prompt/answer (verl's ground truth),
 * question/answer, text/label; when only one is given, the other is the first present
 * of completion, answer, label resp. prompt, question, text).  Every row needs a
 * non-empty prompt and answer; prompts are the task's ids, so a repeated prompt is an
 * error (it would be ambiguous and could straddle the split).  At most 65536 rows.
 *
 * Tokens.  Own vocabulary (vocab NULL, no token table): 0 <pad>, 1 <eos>, then every
 * distinct code point of the prompts and answers in code-point order (independent of
 * row order; at most RT_TASK_DATA_MAX_VOCAB tokens).  Shared vocabulary (vocab task, or
 * an explicit table as %load restores it): greedy longest match over the table's texts
 * (PAD and EOS excluded), strict: whitespace is a character like any other.  Prompts
 * are left-padded to P = the longest prompt (<= RT_TASK_MAX_P), answers end with EOS,
 * T = the longest answer + 1 (<= RT_TASK_MAX_T).  Prompt id = row index.
 *
 * Split.  With a split column: train for "train", held out for test, heldout,
 * held-out, validation, valid, val, dev, eval (ASCII case ignored); anything else is
 * an error, and so is a column that leaves a side empty.  Without: a row is held out
 * iff u = (mix64(FNV-1a64(prompt bytes)) >> 11) * 2^-53 < holdout (order-independent);
 * if a side is empty, the row closest to the threshold moves to it (the smallest u of
 * train, or the largest u of held out; ties by prompt bytes), so tiny files still have
 * both sides (the built-in kinds' enumeration rule).
 *
 * Texts.  Every column other than prompt, answer and split is a text of the task,
 * named as an identifier (bytes outside [A-Za-z0-9_] become '_': extra_info.split ->
 * extra_info_split); a column whose identifier is answer, target, prompt, a feature
 * name, or an earlier column's identifier is left out (rt_task_data_left_out lists
 * them; the description says so).  A text is numeric when every row's cell is a JSON
 * number (rt_rows_is_number).
 *
 * Noise rules (what noise=1 demonstrates):
 *   swap   the first adjacent pair of differing answer tokens is swapped ("abc" ->
 *          "bac"; reverse's rule); invisible when all answer tokens are equal.
 *   label  the answer is replaced by the next distinct answer text of the file in byte
 *          order, cyclically; invisible when the file has one distinct answer.
 *
 * Digest: FNV-1a64 over the vocabulary (token texts), the noise rule, and per row its
 * prompt tokens, answer tokens and split: equal digests = the same task.
 *
 * Errors (0 or RT_E*; nothing half-built is returned, *out stays NULL): err->msg is
 * "PATH:LINE:COL: ..." (rt_rows' convention; err->line/col set) or "PATH: ..." when no
 * line applies, and err->key names the option at fault: "file" (missing file, bad
 * encoding, empty file, ragged CSV, bad JSON, more than 65536 rows, too many distinct
 * characters), "format" (no format from the extension), "prompt" / "answer" (unknown
 * column with did-you-mean, a row without the column, an empty or over-long cell ("the
 * prompt is 40 tokens; prompts may be at most 32"), "line 9 repeats the prompt of line
 * 3"), "split" (unknown column, unknown value, a side left empty), "vocab" ("'é' is not
 * in the vocabulary of task add").
 *
 * Determinism: a pure function of the bytes and options.  Ownership: the data is
 * reference counted (rt_task_data_ref / rt_task_data_free; a task holds one
 * reference); the count is not atomic: take and drop references on one thread (the
 * kernel's), share the data read-only between threads.  Allocation via rt_alloc.
 * Leaves out: streaming, files over RT_ROWS_MAX_FILE, sub-character tokenizers (BPE). */
#ifndef RT_TASK_DATA_H
#define RT_TASK_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_rows.h"
#include "rt_task.h"

enum { RT_TASK_DATA_MAX_ROWS = 65536, RT_TASK_DATA_MAX_VOCAB = 1024 };

typedef enum { RT_TASK_NOISE_SWAP = 0, RT_TASK_NOISE_LABEL = 1 } rt_task_noise_rule;

typedef struct rt_task_file_opts {
    const char *path;                /* as the user gave it (messages, spec) */
    rt_rows_format format;           /* RT_ROWS_AUTO: by extension */
    const char *prompt, *answer;     /* column names; NULL: the defaults above */
    const char *split;               /* split column; NULL: by hash with holdout */
    double holdout;                  /* used when split is NULL; in (0, 1) */
    const rt_task *vocab;            /* NULL: own vocabulary (or vocab_tokens) */
    const char *vocab_name;          /* the vocab task's name (messages, description) */
    const char *const *vocab_tokens; /* explicit token table (0 <pad>, 1 <eos>, ...) */
    int n_vocab_tokens;              /* or NULL / 0 */
    rt_task_noise_rule noise_rule;
} rt_task_file_opts;

typedef struct rt_task_data rt_task_data;

/* Reads o->path (rt_rows_read) / parses buf[0..n) named name, into *out (ref count 1). */
int rt_task_data_load(const rt_task_file_opts *o, rt_task_data **out, rt_diag *err);
int rt_task_data_parse(const rt_task_file_opts *o, const char *name, const char *buf, size_t n,
                       rt_task_data **out, rt_diag *err);
rt_task_data *rt_task_data_ref(const rt_task_data *d); /* returns d with one more reference */
void rt_task_data_free(rt_task_data *d);               /* drops one; NULL is a no-op */

/* What the magic shows and the spec needs. */
int rt_task_data_rows(const rt_task_data *d);
int rt_task_data_count(const rt_task_data *d, rt_task_split s); /* rows of a side */
const char *rt_task_data_prompt_column(const rt_task_data *d);
const char *rt_task_data_answer_column(const rt_task_data *d);
const char *rt_task_data_split_column(const rt_task_data *d); /* NULL: split by hash */
double rt_task_data_holdout(const rt_task_data *d);
rt_rows_format rt_task_data_format(const rt_task_data *d); /* the format read */
const char *rt_task_data_path(const rt_task_data *d);
uint64_t rt_task_data_digest(const rt_task_data *d);
rt_task_noise_rule rt_task_data_noise_rule(const rt_task_data *d);
const char *rt_task_noise_rule_name(rt_task_noise_rule r); /* "swap", "label" */
int rt_task_noise_rule_parse(const char *name);            /* the rule, or -1 */
/* The vocabulary: V, the token table (V texts; index 0 <pad>, 1 <eos>) and the vocab
 * task's name (NULL: the file's own vocabulary). */
int rt_task_data_vocab_size(const rt_task_data *d);
const char *const *rt_task_data_tokens(const rt_task_data *d);
const char *rt_task_data_vocab_name(const rt_task_data *d);
int rt_task_data_P(const rt_task_data *d); /* longest prompt, tokens */
int rt_task_data_T(const rt_task_data *d); /* longest answer + EOS */

/* Rows (row = prompt id). */
const char *rt_task_data_prompt(const rt_task_data *d, int row);
const char *rt_task_data_answer(const rt_task_data *d, int row);
int rt_task_data_line(const rt_task_data *d, int row); /* the row's line in the file */
rt_task_split rt_task_data_split_of(const rt_task_data *d, int row);
int rt_task_data_find(const rt_task_data *d, const char *prompt); /* row, or -1 */
/* toks[P] left-padded; the target / the noise rule's answer into ans[T] (EOS
 * included), returning the length. */
void rt_task_data_encode(const rt_task_data *d, int row, int *toks);
int rt_task_data_target(const rt_task_data *d, int row, int *ans);
int rt_task_data_corrupt(const rt_task_data *d, int row, int *ans);
int rt_task_data_answer_token(const rt_task_data *d, int tok); /* occurs in some answer */

/* Texts (columns beyond prompt/answer/split) and the columns left out. */
int rt_task_data_n_texts(const rt_task_data *d);
const char *rt_task_data_text_name(const rt_task_data *d, int i);
int rt_task_data_text_numeric(const rt_task_data *d, int i);
const char *rt_task_data_text(const rt_task_data *d, int row, int i, size_t *len);
int rt_task_data_n_left_out(const rt_task_data *d);
const char *rt_task_data_left_out(const rt_task_data *d, int i); /* the column's name */

/* Greedy longest match of one token of table[2..V) at s[0..n): the token, or -1
 * (*len its bytes). */
int rt_task_data_match(const char *const *table, int V, const char *s, size_t n, size_t *len);

#endif
