/* rt_text: the plain-text plumbing shared by the cell language (magics/lang), the
 * reward language (runtime/reward), the chart renderers and the magics' tables:
 *
 *   - UTF-8: validation, stepping and decoding, encoding, code-point columns,
 *     cutting at a code-point boundary;
 *   - rt_strbuf: a string buffer, growable (through rt_alloc.h, so the Nth-allocation
 *     failure hook reaches it) or fixed over caller memory (snprintf-like);
 *   - edit distance and the one did-you-mean rule;
 *   - the one wording of an unclosed pair ("expected ')' (to close '(' at line 2)").
 *
 * Leaves out: diagnostics themselves (structs, codes, the "cell:L:C:" prefix, the
 * "near" token: mag_diag, rt_diag), escaping for XML/JSON (rt_chart_util.h),
 * lexing, and the Jupyter wire's UTF-8 repair (kernel/krn_utf8.h: kernel/ does not
 * depend on runtime/).  No RL or Jupyter knowledge: runtime/core is a leaf.
 *
 * UTF-8 rules (one set for every caller).  Well-formed means RFC 3629: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF; NUL is a well-formed
 * one-byte sequence (callers that forbid it check it themselves).  Where text must be
 * stepped through whatever it holds, each byte that does not start a well-formed
 * sequence is one code point of its own, decoded as U+FFFD (the kernel's repair does
 * the same, so a column counted here is a column the user sees).  All lengths are in
 * bytes and no function reads past `len` or stops at a NUL. */
#ifndef RT_TEXT_H
#define RT_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"

/* A view of text s[0..n) (UTF-8, not necessarily NUL-terminated), owned elsewhere: how
 * the task hands a sample's texts (answer, target, columns) to the reward language. */
typedef struct rt_strview {
    const char *s;
    size_t n;
} rt_strview;

/* ---- UTF-8 -------------------------------------------------------------------- */

#define RT_UTF8_REPLACEMENT 0xFFFDu /* what an ill-formed byte decodes to */

/* Length (1..4) of the well-formed sequence at s[0..len), or 0 when s[0] does not
 * start one (ill-formed, or cut short by len; len == 0 gives 0). */
size_t rt_utf8_seq(const char *s, size_t len);
/* 1 when all of s[0..len) is well-formed, else 0. */
int rt_utf8_valid(const char *s, size_t len);
/* Decodes the code point at s[0..len) into *cp and returns the bytes it takes: the
 * sequence's length, or 1 with *cp = U+FFFD for an ill-formed byte.  len == 0: 0. */
size_t rt_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Byte offset of the code point after the one at s[i] (i < len), per the rules above. */
size_t rt_utf8_next(const char *s, size_t len, size_t i);
/* Writes cp as UTF-8 into out and returns its length (1..4); a surrogate or a value
 * above U+10FFFF is written as U+FFFD. */
size_t rt_utf8_encode(uint32_t cp, char out[4]);
/* Number of code points (columns) in s[0..nbytes). */
size_t rt_utf8_cols(const char *s, size_t nbytes);
/* Byte offset of code point number `col` (0-based) in s[0..len); len if past the end.
 * rt_utf8_cols(s, rt_utf8_offset(s, len, k)) == k for every k up to the count. */
size_t rt_utf8_offset(const char *s, size_t len, size_t col);
/* Where to cut s[0..len) to keep at most n bytes without splitting a code point: n
 * moved back over continuation bytes (len when n >= len). */
size_t rt_utf8_cut(const char *s, size_t len, size_t n);

/* ---- string buffer ------------------------------------------------------------ */

/* Codes (rt_diag.h): RT_ENOMEM (growable: an allocation failed), RT_ETRUNC (fixed: the
 * text did not fit and was cut). */

/* A NUL-terminated string built by appending.  Two modes:
 *   growable (rt_strbuf_init, or = {0}): memory from rt_realloc, doubling; the
 *     caller takes the string (rt_strbuf_take) or frees it (rt_strbuf_free);
 *   fixed (rt_strbuf_init_fixed over caller memory, never allocates): text that does
 *     not fit is cut, as snprintf does (at a byte, keeping the NUL); `want` still
 *     counts every byte, so a function with an snprintf contract returns it.
 * Errors are sticky: after the first failed or cut append, `err` holds RT_ENOMEM
 * or RT_ETRUNC and every later append does nothing but add to `want` and return
 * `err`.  An append that fails to allocate leaves the buffer as it was before it
 * (valid text: the earlier appends only); a cut one keeps the bytes that fitted.  So
 * a renderer may append freely and check `err` once. */
typedef struct rt_strbuf {
    char *s;     /* the text, NUL-terminated whenever cap > 0; NULL before any growth */
    size_t len;  /* bytes of text, without the NUL */
    size_t cap;  /* bytes at s */
    size_t want; /* bytes appended in all, counting those cut or lost after an error */
    int err;     /* RT_OK, or the first failure (sticky) */
    int fixed;   /* 1: s is caller memory of cap bytes, never reallocated or freed */
} rt_strbuf;

void rt_strbuf_init(rt_strbuf *b);
/* mem may be NULL with cap 0 (counts only, like snprintf(NULL, 0, ...)). */
void rt_strbuf_init_fixed(rt_strbuf *b, char *mem, size_t cap);
/* Makes room for `extra` more bytes (and the NUL).  Growable: RT_ENOMEM when the
 * allocation fails (the buffer unchanged, err set).  Fixed: RT_OK if they fit,
 * else RT_ETRUNC without setting err.  Returns err when already set. */
int rt_strbuf_reserve(rt_strbuf *b, size_t extra);
/* Appends n bytes of s (which need not be NUL-terminated).  Returns RT_OK or err. */
int rt_strbuf_append(rt_strbuf *b, const char *s, size_t n);
int rt_strbuf_puts(rt_strbuf *b, const char *s); /* strlen(s) bytes */
int rt_strbuf_putc(rt_strbuf *b, char c);
int rt_strbuf_printf(rt_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int rt_strbuf_vprintf(rt_strbuf *b, const char *fmt, va_list ap);
/* Drops bytes from the end so that len becomes n (n <= len; keeps err). */
void rt_strbuf_truncate(rt_strbuf *b, size_t n);
/* Growable only: hands the string to the caller, who frees it with rt_free, and
 * stores its length in *len (if len is not NULL); an empty buffer gives "".  The
 * buffer is left empty (as after rt_strbuf_init).  NULL when err is set or the
 * allocation of an empty string fails (the text is freed either way), and for a
 * fixed buffer. */
char *rt_strbuf_take(rt_strbuf *b, size_t *len);
/* Frees a growable buffer's memory and leaves it empty; a fixed one is only reset. */
void rt_strbuf_free(rt_strbuf *b);

/* ---- edit distance and did-you-mean -------------------------------------------- */

#define RT_EDIT_MAX_LEN 64 /* longer strings are never close */
#define RT_EDIT_FAR 1000   /* the distance reported for them */

/* Optimal-string-alignment distance (insert, delete, substitute, swap two adjacent
 * bytes) between a and b, ASCII letters compared case-insensitively; RT_EDIT_FAR when
 * either is longer than RT_EDIT_MAX_LEN bytes. */
int rt_edit_distance(const char *a, const char *b);

/* The did-you-mean rule, the one used for every name a user mistypes (magics, keys,
 * values, objects, reward functions, features, parameters): a candidate is close to a
 * word of n bytes when its distance (rt_edit_distance, so case-insensitive: "LAMBDA"
 * finds "lambda") is at most max(1, min(3, (n + 1) / 3)) and less than n (a one-letter
 * word is never guessed).  The closest candidate wins; ties go to the first offered.
 * Candidates are stored as pointers, not copied.
 *
 * Use: rt_suggest_init with the misspelled word, rt_suggest_add each candidate (NULL
 * is skipped; e.g. while walking a registry), then read best (NULL: none is close). */
typedef struct rt_suggest {
    const char *word; /* the misspelled word */
    const char *best; /* the closest candidate so far, or NULL */
    int best_dist;    /* its distance */
    int limit;        /* the largest distance accepted for word */
} rt_suggest;

void rt_suggest_init(rt_suggest *s, const char *word);
void rt_suggest_add(rt_suggest *s, const char *candidate);
/* One-shot form over an array of n candidates (NULL entries skipped). */
const char *rt_did_you_mean(const char *word, const char *const *candidates, size_t n);

/* ---- the unclosed-pair message ------------------------------------------------- */

/* Writes (snprintf-style, returns the length wanted) the message of a missing closer,
 * worded as Lua does, with the column added when the pair opened on the error's line:
 *   expected ')' (to close '(' at line 2)      opener on another line than the error
 *   expected ')' (to close '(' at column 4)    opener on the error's line
 * Both parsers (mag_parse.c, rt_reward_parse.c) print it, followed by their "near". */
size_t rt_text_unclosed(char *buf, size_t cap, int closer, int opener, int open_line, int open_col,
                        int err_line);

/* Base64 (RFC 4648, standard alphabet): the 64 characters, and a character's value 0..63
 * or -1 (also for '=' and NUL), by table.  Packed jobs and manifests (runtime/train) use
 * them. */
extern const char rt_b64_alphabet[65];
int rt_b64_value(unsigned char c);

#endif
