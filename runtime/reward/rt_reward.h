/* rt_reward: the reward language (design.md "The reward language").
 *
 * A reward is one expression over a task's features, compiled once into postfix
 * bytecode and evaluated per sample without allocation.  This module knows nothing of
 * cells or Jupyter: the cell parser hands it a text span plus the span's origin
 * (line, column) inside the cell, and every error comes back as an rt_diag
 * whose line/col are cell positions (columns count Unicode code points).  The
 * caller adds the "cell:LINE:COL:" prefix, "near 'token'" (diag.near) and the caret.
 *
 * Grammar (lowest precedence first; all binary operators are left-associative
 * except '^'):
 *   expr    -> or
 *   or      -> and {'or' and}
 *   and     -> not {'and' not}
 *   not     -> 'not' not | cmp
 *   cmp     -> sum [('<'|'<='|'>'|'>='|'=='|'!=') sum]      (no chains: a<b<c is an error)
 *   sum     -> prod {('+'|'-') prod}
 *   prod    -> unary {('*'|'/') unary}
 *   unary   -> ('-'|'+') unary | power
 *   power   -> primary ['^' unary]                           (right-assoc: 2^3^2 = 512,
 *                                                             -2^2 = -4, 2^-1 = 0.5)
 *   primary -> NUMBER | NAME | NAME '(' [args] ')' | '(' expr ')'
 *   args    -> arg {',' arg};  arg -> expr | NAME '=' expr (reward calls only)
 *              | TEXT (text built-ins only: a text name or a STRING)
 * NUMBER is digits with optional fraction and exponent (1, 0.5, .5, 2e-3).  STRING is
 * "..." (UTF-8; escapes \" \\ \n \t; any other backslash, a raw newline or control
 * character other than a tab inside, or a missing closing quote is an error at the string's
 * position; at most RT_REWARD_MAX_STRING bytes after escapes, else RT_ELIMIT).  '#' starts a
 * comment to the end of the line; newlines are whitespace.
 *
 * Names.  A NAME is, in this order: a feature of the environment (a slot in the
 * feature vector); else a TEXT of the environment (env.texts: the sample's answer,
 * target, prompt, a file task's columns); else a PARAMETER (a free name, listed by the program in
 * order of first appearance, whose value comes from the env's parameter defaults or from
 * rt_reward_bind_params overrides).  Calls: the built-ins
 *   if(c, a, b)  min(a, b, ...)  max(a, b, ...)  abs(x)  log(x)  exp(x)  sqrt(x)
 *   clip(x, lo, hi)  close(x, y, tol)
 * and the text built-ins (each argument a text name or a "string"; anything else is an
 * error at the argument, an unknown name gets did-you-mean over the env's texts):
 *   equals(a, b)         1 if a and b are the same bytes, else 0
 *   contains(a, b)       1 if b occurs in a (the empty text occurs in every text)
 *   prefix(a, b)         1 if a starts with b
 *   edit_distance(a, b)  Levenshtein distance in code points (insert, delete, substitute
 *                        cost 1; each byte that is not well-formed UTF-8 is one code
 *                        point of its own, rt_text.h's rule, and equals only the same
 *                        byte); each text is cut to its first RT_REWARD_MAX_EDIT code
 *                        points (so evaluation needs two rows on the stack only)
 *   number(a)            the first number in a: optional '-' or '+', digits with an
 *                        optional fraction (".5" and "5." too), optional exponent
 *                        ("e-3"); NaN when a holds none ("12 km" -> 12, "x=-3.5e2" ->
 *                        -350, "1,000" -> 1, "none" -> NaN); a numeral longer than 64
 *                        characters reads as NaN.  Converted by strtod (correctly
 *                        rounded in glibc), which is locale-dependent: the kernel runs
 *                        in the "C" locale.
 * A bare text NAME is number(NAME) when the env marks it numeric (text_numeric, e.g. a
 * file task's `priority` column); else it is an error ("'answer' is text: use it in
 * equals, ...").  Texts are never folded into constants.
 * Then the env's feature functions (e.g. debate(NAME): the resolver maps the name
 * argument to a feature slot), then defined rewards (resolve_reward), which are
 * inlined: `exact(correct=1, length=4)` substitutes the argument expressions for the
 * callee's features/parameters of those names; the callee's other features are read
 * from the caller's features of the same name, its texts are the caller's texts of the
 * same name (texts cannot be given as arguments), its other parameters become the
 * caller's parameters (keeping the callee's defaults).
 *
 * Defined values (never a crash, never NaN):
 *   x / 0 = 0 (also for x = 0); 0 ^ y for y < 0 = 0; x ^ y for x < 0 and non-integer
 *   y = 0; log(x) for x <= 1e-30 is log(1e-30) = -69.07755278982137;
 *   sqrt(x) for x < 0 = 0; exp(x) for x > 709 is exp(709) (finite);
 *   clip(x, lo, hi) = min(max(x, lo), hi) (so hi wins when lo > hi);
 *   comparisons, 'and', 'or', 'not' give 1 or 0; 'and'/'or'/'not'/'if' treat any
 *   nonzero value as true; 'and'/'or'/'if' evaluate only the operand they need.
 *   Overflow follows IEEE (1e308 * 10 = inf); a result that is NaN anyway (a NaN
 *   feature or parameter, or inf - inf after overflow) is returned as 0.
 * NaN rule (number() of a text without a number is NaN): comparisons with a NaN are
 *   false: == gives 0, != gives 1, < <= > >= give 0, so number(answer) ==
 *   number(target) is 0 when either holds no number; close(x, y, tol) is 0 when x or y
 *   is NaN; arithmetic propagates NaN; a final result that is NaN is 0.
 *   close(x, y, tol) = 1 if |x - y| <= max(tol, 0), else 0.
 *
 * Typical use by the magics:
 *   %%reward NAME c=0.01 (body "correct - c*length"): compile the body with env.name =
 *     NAME, env.features = the union of all task feature names (correct, partial,
 *     length, format, eos, outcome), feature_fns {"debate"} with a resolver over the
 *     session's debates, resolve_reward over the session's rewards, and the header
 *     pairs as param_names/param_defaults (reject a header name for which
 *     rt_reward_param_index is -1).  Keep the program in the session.
 *   %%rl ... reward = NAME, c = [0.01, 0.1]: rt_reward_link the program to the task's
 *     feature order (or rt_reward_check_features first for the message alone), then per
 *     sweep point rt_reward_bind_params(keys given for the reward's parameters) and
 *     rt_reward_eval / rt_reward_eval_batch per sample.
 *   Texts (issue 16): compile with env.texts = the union of the tasks' text names
 *     (answer, target, prompt, a file task's columns; text_numeric for columns that
 *     are numbers in every row), link to one task's texts, and evaluate with
 *     rt_reward_eval_texts(p, features, params, the sample's texts in that order).
 *   A bare expression line: compile with env.name NULL, no features, resolve_reward
 *     set; bind with no overrides; print rt_reward_format(rt_reward_eval(...)).
 *
 * Threads: a compiled program is immutable; any number of threads may evaluate it
 * at once.  Compilation calls the env callbacks on the calling thread only. */
#ifndef RT_REWARD_H
#define RT_REWARD_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_text.h"

/* Status codes (negative; 0 = ok). */
/* Caps (exceeding one is RT_ELIMIT). */
#define RT_REWARD_MAX_SOURCE 8192 /* bytes of source */
#define RT_REWARD_MAX_DEPTH 64    /* nesting in the source: ( , calls, unary prefixes */
#define RT_REWARD_MAX_HEIGHT 1024 /* tree height after inlining ("levels of operations") */
#define RT_REWARD_MAX_NODES 16384 /* operations after inlining */
#define RT_REWARD_MAX_CODE 65536  /* bytecode instructions */
#define RT_REWARD_MAX_STACK 256   /* evaluation stack slots */
#define RT_REWARD_MAX_NAME 64     /* identifier length */
#define RT_REWARD_MAX_ARGS 64     /* arguments of one call */
#define RT_REWARD_MAX_STRING 256  /* bytes of one string literal, after escapes */
#define RT_REWARD_MAX_EDIT 1024   /* code points of each text edit_distance compares */

/* Caller-owned diagnostic.  line/col are 1-based cell positions of the offending
 * token (col in code points); near is the token text (empty at end of input). */
typedef struct rt_reward_program rt_reward_program;

/* Feature-function resolver: map `fn(arg)` (e.g. fn "debate", arg "d1") to a feature
 * slot.  Return 0 and set *slot (0 <= *slot < env.n_slots), or nonzero and write a
 * message into err (e.g. "unknown debate 'x' (did you mean 'd1'?)"); the compiler
 * places it at the argument's position. */
typedef int (*rt_reward_feature_fn)(void *ctx, const char *fn, const char *arg, int *slot,
                                    char *err, size_t errlen);

/* Reward resolver: the compiled program named `name`, or NULL if there is none.  The
 * returned program is only read during the compile call (it is inlined). */
typedef const rt_reward_program *(*rt_reward_lookup_fn)(void *ctx, const char *name);

/* Compilation environment (all fields optional; zero = none). */
typedef struct rt_reward_env {
    const char *name;            /* reward name (in messages and descriptions) */
    const char *const *features; /* feature names; features[i] is slot i */
    int n_features;
    int n_slots;                    /* size of the feature vector (>= n_features; 0 =
                                       n_features); feature functions map into it */
    const char *const *feature_fns; /* names of feature functions, e.g. {"debate"} */
    int n_feature_fns;
    rt_reward_feature_fn resolve_feature; /* required if n_feature_fns > 0 */
    rt_reward_lookup_fn resolve_reward;   /* defined rewards, for inlining calls */
    const char *const *reward_names;      /* for "did you mean" only */
    int n_reward_names;
    void *ctx;                      /* passed to both callbacks */
    const char *const *param_names; /* parameter defaults (the %%reward header) */
    const double *param_defaults;
    int n_params;
    unsigned flags;           /* RT_REWARD_NO_FOLD: skip constant folding */
    const char *const *texts; /* text names; texts[i] is text slot i */
    int n_texts;
    const unsigned char *text_numeric; /* [n_texts] (or NULL): 1 = usable bare as a
                                          number (a numeric column) */
} rt_reward_env;

#define RT_REWARD_NO_FOLD 1u

/* Compile src[0..len) (UTF-8; need not be NUL-terminated) whose first character sits
 * at cell position (line, col).  On success *out is a new program (caller frees with
 * rt_reward_free) and 0 is returned; on error *out = NULL, diag is filled and its
 * code returned.  Parameters without a default are NOT an error here (the training
 * magic may supply them); rt_reward_bind_params reports them. */
int rt_reward_compile(const char *src, size_t len, int line, int col, const rt_reward_env *env,
                      rt_reward_program **out, rt_diag *diag);
void rt_reward_free(rt_reward_program *p);

/* Re-target a program at another feature layout (e.g. compiled against the union of
 * all feature names, linked to one task's feature order): each feature the program
 * reads is looked up by name in env->features, feature-function reads are re-resolved
 * through env->resolve_feature, each text read is looked up by name in env->texts.
 * Parameters and code are kept.  A missing feature is
 * RT_EFEATURE, "reward 'r' reads feature 'partial', which task features
 * (correct, length) do not include", positioned where the feature is first read.  A
 * missing text is RT_EFEATURE "reward 'r' reads text 'unit', which the task's texts
 * (answer, target, prompt) do not include" at its first read; a bare (numeric) read of
 * a text whose env->text_numeric is 0 is RT_EFEATURE "reward 'r' reads 'unit' as a
 * number, but it is not a number in every row of the task" at that read.
 * Caller frees *out with rt_reward_free. */
int rt_reward_link(const rt_reward_program *p, const rt_reward_env *env, rt_reward_program **out,
                   rt_diag *diag);

/* Check that every feature the program reads is among names[0..n) (feature-function
 * reads are written "fn(arg)", e.g. "debate(d1)").  0 or RT_EFEATURE with the
 * message above, positioned at the feature's first read. */
int rt_reward_check_features(const rt_reward_program *p, const char *const *names, int n,
                             rt_diag *diag);

/* Parameters, in order of first appearance. */
int rt_reward_n_params(const rt_reward_program *p);
const char *rt_reward_param_name(const rt_reward_program *p, int i);
/* 1 and *value = default if parameter i has a default, else 0. */
int rt_reward_param_default(const rt_reward_program *p, int i, double *value);
/* Index of the parameter called name, or -1 (use it to reject header defaults the
 * expression does not use). */
int rt_reward_param_index(const rt_reward_program *p, const char *name);

/* Fill params[0..n_params) from the defaults, then the overrides names[i] = values[i]
 * (the training magic's keys).  Errors: an override naming no parameter
 * (RT_EPARAM, "reward 'r' has no parameter 'cc' (did you mean 'c'?)", line/col
 * 0), a parameter with no value ("parameter 'c' has no value (give it in the header:
 * %%reward r c=...)", at its first appearance; if the name is close to a feature:
 * "parameter 'lenght' has no value (did you mean 'length'? else give it in the header:
 * %%reward r lenght=...)").  For an unnamed program (a bare expression line; env.name
 * NULL or "") a free name without value is "unknown name 'x'" or "unknown name 'corect'
 * (did you mean 'correct'?)". */
int rt_reward_bind_params(const rt_reward_program *p, const char *const *names,
                          const double *values, int n, double *params, rt_diag *diag);

/* Features read, in order of first appearance (inlined calls count at the call).
 * Name is the feature name or "fn(arg)"; slot its index in the feature vector. */
int rt_reward_n_features(const rt_reward_program *p);
const char *rt_reward_feature_name(const rt_reward_program *p, int i);
int rt_reward_feature_slot(const rt_reward_program *p, int i);
/* Length the feature vector must have: 1 + the largest slot read (0 if none). */
int rt_reward_min_slots(const rt_reward_program *p);

/* Texts read (text names, bare numeric reads included), in order of first appearance;
 * slot is the index into the texts array of rt_reward_eval_texts. */
int rt_reward_n_texts(const rt_reward_program *p);
const char *rt_reward_text_name(const rt_reward_program *p, int i);
int rt_reward_text_slot(const rt_reward_program *p, int i);
/* Entries the texts array must have: 1 + the largest text slot read (0 if none). */
int rt_reward_min_texts(const rt_reward_program *p);

const char *rt_reward_name(const rt_reward_program *p);   /* "" if unnamed */
const char *rt_reward_source(const rt_reward_program *p); /* the compiled text */
int rt_reward_is_constant(const rt_reward_program *p);    /* reads no feature, text, param */
int rt_reward_code_size(const rt_reward_program *p);      /* bytecode instructions */
int rt_reward_stack_depth(const rt_reward_program *p);    /* max evaluation stack */

/* Warnings: what compiles but is probably not what was meant (issue 12 B7), in this
 * order:
 *   "'corect' is a parameter (did you mean the feature 'correct'?)"  for each parameter
 *     close to a feature of the compile env (the did-you-mean rule of rt_text.h), at the
 *     parameter's first appearance;
 *   "reward 'bad' reads no feature: every sample gets the same reward"  when the env had
 *     features and the program reads none (and no text), at the first token.
 * Returns the number of warnings and fills *w (may be NULL; code 0, line/col, msg) with
 * warning i (0-based; w zeroed when i is out of range).  The caller shows them; they
 * never stop a cell. */
int rt_reward_warning(const rt_reward_program *p, int i, rt_diag *w);

/* Human-readable description for %who / help, e.g.
 *   "exact = correct - c*length  (features: correct, length; parameters: c=0.01)"
 * A program that reads texts adds them after the features:
 *   "v = equals(answer, target)  (features: none; texts: answer, target; parameters: none)"
 * Parameters without a default print as "c (no default)".  Writes at most n bytes
 * including the NUL (truncates); returns the length the full text needs. */
size_t rt_reward_describe(const rt_reward_program *p, char *buf, size_t n);

/* Evaluate on one sample: features[slot] as laid out by the env (at least
 * rt_reward_min_slots entries), params as filled by rt_reward_bind_params.  No
 * allocation, no global state. */
double rt_reward_eval(const rt_reward_program *p, const double *features, const double *params);

/* Evaluate on one sample with its texts: texts[slot] as laid out by env->texts (at
 * least rt_reward_min_texts entries; NULL allowed, then every text reads as "").
 * rt_reward_eval(p, f, params) is rt_reward_eval_texts(p, f, params, NULL).  No
 * allocation, no global state, thread safe (string literals live in the program). */
double rt_reward_eval_texts(const rt_reward_program *p, const double *features,
                            const double *params, const rt_strview *texts);

/* Evaluate n samples (texts read as ""): features is n rows of `stride` doubles (row-major n x
 * stride), out[i] = rt_reward_eval(p, features + i*stride, params).  RT_EINVAL if stride <
 * rt_reward_min_slots(p) or a needed pointer is NULL.  No allocation. */
int rt_reward_eval_batch(const rt_reward_program *p, const double *features, size_t n,
                         size_t stride, const double *params, double *out);

/* Format a value for printing: integers (|x| < 1e15) without a decimal point ("15",
 * "-3"), others with the fewest significant digits (up to 17) that read back to the
 * same double ("0.1", "2.5e-07", "1e+20"); -0 prints "0"; "inf", "-inf", "nan".
 * Writes at most n bytes including the NUL; returns the length of the full text. */
size_t rt_reward_format(double x, char *buf, size_t n);

#endif
