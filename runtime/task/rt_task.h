/* rt_task: the tasks a policy is trained and evaluated on.
 *
 * Kinds come from a registry of kind records (rt_task_kind.h: one ops record per kind
 * with its keys, features and functions); the built-in ones are add (digits=N),
 * reverse / sort / copy (length=N), mix (tagged prompts drawn from several sequence
 * tasks), triage (K features of M values -> one of A actions) and file (the rows of a
 * JSONL / CSV / TSV file, rt_task_data.h).  Every kind has the
 * keys noise and holdout after its own.  A task gives: its vocabulary, a fixed prompt length P
 * (prompts are left-padded with PAD) and a maximum answer length T (EOS included), a prompt
 * generator over a train / held-out split (held-out prompts are never training prompts), the target
 * answer, demonstrations with a rate of systematic errors (`noise`), a verifier and
 * the reward features (doubles in a fixed, named order).
 *
 * The vocabulary is a property of the task (rt_task_vocab_size, rt_task_token): a file
 * task has its data's table, every other task the built-in table.  Every
 * task of the built-in kinds has the same 32 tokens (triage included), so policies of
 * different tasks and mixes are interchangeable (V = 32, as in the benchmark).  Task
 * tags are assigned by the registry in registration order: ids 25..29 (the built-in
 * tagged kinds, as below), then 32, 33, ... for kinds registered later, whose tasks
 * then have V = their highest tag + 1:
 *
 *   id  text    role                       id     text     role
 *    0  <pad>   left padding (PAD)          15..24 a .. j   letters (reverse, copy),
 *    1  <eos>   end of answer (EOS)                          triage actions a = 0..9
 *    2  +       add operator                25     <add>    task tag: add
 *    3  =       end of add/triage prompt    26     <rev>    task tag: reverse
 *    4  :       end of reverse/sort/copy    27     <sort>   task tag: sort
 *   5..14 0..9  digits (add, sort,          28     <copy>   task tag: copy
 *               triage feature values)      29     <tri>    task tag: triage
 *                                           30     ?        masked value (for judges)
 *                                           31     |        spare separator
 *
 * Every prompt starts with its task tag, so a mix prompt is exactly the prompt of its
 * domain task (only left-padded further): a teacher trained on `add` sees the same
 * contexts inside a mix of add and sort.
 *
 * Prompt and answer formats (target shown after the arrow; <eos> ends every answer):
 *   add digits=N     <add> a(N digits, zero-padded) + b(N digits) =   -> a+b, no leading
 *                    zeros ("<add>12+34=" -> "46<eos>"); P = 2N+3, T = N+2
 *   reverse length=N <rev> x1..xN :   (letters a..j)                  -> xN..x1; P = N+2, T = N+1
 *   copy length=N    <copy> x1..xN :  (letters a..j)                  -> x1..xN
 *   sort length=N    <sort> d1..dN :  (digits, repeats allowed)       -> ascending digits
 *   triage           <tri> v1..vK =   (feature values as digits)      -> one action letter
 *   mix              the prompt of the chosen domain, left-padded to the longest domain
 *                    prompt; P and T are the maxima over the domains.
 *
 * Systematic errors of demonstrations (what noise=1 produces; documented contract):
 *   add      dropped carries: each digit is (a_i + b_i) mod 10, no carry digit, leading
 *            zeros stripped ("57+68=" -> "15" instead of "125"); visible iff a carry occurs.
 *   reverse, sort, copy: the first adjacent pair of differing answer tokens is swapped
 *            ("cba" -> "bca"); invisible when all tokens are equal.
 *   triage   the demonstrator's action is replaced by the next action ((a+1) mod A).
 *   file     the data's noise rule (rt_task_data.h): swap = the first adjacent pair of
 *            differing answer tokens swapped (reverse's rule; invisible when there is
 *            none); label = the answer replaced by the next distinct answer text of the
 *            file in byte order, cyclically (invisible with one distinct answer).
 *
 * File tasks (kind file, rt_task_data.h; cfg.data holds the rows): prompts and answers
 * are the file's rows tokenized with the data's vocabulary (own: 0 <pad>, 1 <eos>, the
 * file's code points; or a shared table); the prompt has no tag token (the P tokens are
 * the left-padded prompt); prompt id = row index, space = rows; the split is the data's
 * (its split column or hash; the config's holdout key is not used); features: the
 * standard five, format's answer tokens = the tokens occurring in some answer.  A mix
 * needs every domain to have the same vocabulary (the same token table); its V is
 * that table's size.
 *
 * Triage (hidden environment rule; the policy only sees the values):
 *   severity s = sum_k w_k v_k with w_k = 1 + (k mod 3); with S = max severity,
 *   start = floor(s * (A-G+1) / (S+1)); the good actions are start .. start+G-1
 *   (G = `good` equally good actions per state, reward 1; all others reward 0).
 *   The demonstrator ("clinician") picks good[v_K mod G] (v_K = last feature).
 *   With conflict = c, a fraction c of the states (decided by a hash of the state)
 *   have a demonstrator who prefers a bad action instead: bad[v_K mod (A-G)], where bad
 *   lists the non-good actions in increasing order: label noise, not learnable from the
 *   features.
 *   With bias = b > 0, a SYSTEMATIC, feature-based disagreement (learnable): the
 *   demonstrator under-treats when feature 2 is high — on the states with
 *   M - v_2 <= b*M (v_2 = feature 2's value, 0..M-1; feature 1 when K = 1; b = 0.25 with
 *   M = 4: v_2 = 3, a quarter of the states) it picks good[0] - 1, the next less
 *   severe action (reward 0), instead of its usual choice; where good[0] = 0 there is
 *   no less severe action and it acts as usual.  bias is applied first, conflict's
 *   hash to the other states; bias = 0 (the default) leaves every task as before.
 *   rt_task_triage_conflicted is 1 on the states where either one changed the
 *   demonstrator's action.  The target answer of a triage prompt is the demonstrator's
 *   action.
 *
 * Features (index order is fixed; names via rt_task_feature_name):
 *   sequence tasks and mix: correct, partial, length, format, eos
 *   triage:                 correct, partial, length, format, eos, outcome, demo_agree
 * where, for generated tokens g (the answer is g up to and including the first EOS):
 *   correct  1 if the answer equals the target exactly (EOS included); triage: 1 if it
 *            is one well-formed good action
 *   partial  fraction of target positions (EOS included) where g matches the target
 *   length   number of answer tokens (up to and including the first EOS, else all of g)
 *   format   1 if the answer is non-empty, uses only the kind's answer tokens
 *            (add/sort: digits, reverse/copy: letters, triage: one of the A actions),
 *            ends with EOS and has at most T tokens
 *   eos      1 if an EOS was generated
 *   outcome  environment reward of the chosen action (the first answer token; 0 if it
 *            is not an action)
 *   demo_agree 1 if the chosen action is the demonstrator's action
 *
 * Held-out split: a prompt is held out iff a hash of (kind's registry index, prompt
 * id) falls below
 * `holdout`.  Prompt spaces of at most 65536 prompts are enumerated once, and if a
 * side would be empty one prompt is moved to it, so tiny tasks still have both.
 *
 * Determinism: every function is a pure function of its arguments and the rng stream
 * it is handed; tasks hold no mutable state after creation and may be shared by
 * threads.  Allocation (creation only) goes through rt_alloc.
 *
 * Leaves out: how a kind encodes and scores its prompts (each kind's record:
 * rt_task_kinds.c, rt_task_triage.c) and the registry itself (rt_task_registry.c). */
#ifndef RT_TASK_H
#define RT_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_rng.h"
#include "rt_rows.h"
#include "rt_text.h"

enum {
    RT_TOK_PAD = 0,
    RT_TOK_EOS = 1,
    RT_TOK_PLUS = 2,
    RT_TOK_EQ = 3,
    RT_TOK_SEP = 4,
    RT_TOK_DIGIT0 = 5,   /* '0'..'9' are 5..14 */
    RT_TOK_LETTER0 = 15, /* 'a'..'j' are 15..24; 25..29: tags (the registry's) */
    RT_TOK_MASK = 30,
    RT_TOK_BAR = 31,
    RT_TASK_VOCAB = 32 /* V of every task of the built-in kinds */
};

enum {
    RT_TASK_MAX_P = 32,      /* longest prompt of any task (add digits=6: 15; file: 32) */
    RT_TASK_MAX_T = 32,      /* longest answer incl. EOS (reverse length=12: 13) */
    RT_TASK_MAX_DOMAINS = 8, /* domains of a mix */
    RT_TASK_MAX_FEATURES = 8,
    RT_TASK_MAX_KEYS = 8, /* keys of a kind, noise and holdout included */
    RT_TASK_MAX_KINDS = 16
};

/* Error codes (negative) */
typedef enum { RT_TASK_TRAIN = 0, RT_TASK_HELDOUT = 1 } rt_task_split;

/* A kind (its record: rt_task_kind.h).  Kinds are compared by pointer. */
typedef struct rt_task_kind_ops rt_task_kind_ops;

/* A key of a kind: what %task validates and shows in help.  Values are doubles. */
typedef enum rt_task_key_type {
    RT_TASK_KEY_INT,    /* an integer in [min, max] */
    RT_TASK_KEY_NUMBER, /* a number in [min, max] (bounds exclusive with the flags) */
    RT_TASK_KEY_TASKS   /* a list of tasks (mix: rt_task_config.tasks), no value */
} rt_task_key_type;
/* QUIET: a key added after notebooks existed; descriptions (rt_task_describe) and
 * lineage specs leave it out at its default, so their text stays as it was. */
enum {
    RT_TASK_KEY_MIN_EXCL = 1u << 0,
    RT_TASK_KEY_MAX_EXCL = 1u << 1,
    RT_TASK_KEY_QUIET = 1u << 2
};
typedef struct rt_task_key {
    const char *name;
    rt_task_key_type type;
    unsigned flags; /* RT_TASK_KEY_* */
    double min, max;
    double def;       /* default value */
    const char *help; /* one line, without the default */
} rt_task_key;

/* A task's configuration: its kind and a value for each of the kind's keys, in the
 * kind's key order (rt_task_kind_key).  A plain value: copy freely. */
typedef struct rt_task_config {
    const rt_task_kind_ops *kind;
    double values[RT_TASK_MAX_KEYS];
    /* a mix: the domain tasks (configs of mixable kinds), copied at creation */
    const struct rt_task_config *tasks;
    const char *const *task_names; /* domain names (NULL: the kind names) */
    int n_tasks;                   /* 1..RT_TASK_MAX_DOMAINS */
    /* kind file: the rows (rt_task_data.h); the task takes its own reference at
       creation, so the config holds none (keep the data alive until created);
       rt_task_config_of(t)->data is the task's rows (equal digests: the same rows) */
    const struct rt_task_data *data;
} rt_task_config;

/* One prompt and its target.  A plain value: no allocation, copy freely. */
typedef struct rt_task_sample {
    int prompt[RT_TASK_MAX_P]; /* P tokens, left-padded with PAD */
    int target[RT_TASK_MAX_T]; /* the correct answer, EOS included */
    int target_len;
    int domain;  /* domain index in a mix (rt_task_domain_name); 0 otherwise */
    uint64_t id; /* the prompt's index in its domain's prompt space */
} rt_task_sample;

typedef struct rt_task rt_task;

/* The registry of kinds, in registration order (the built-ins: add, reverse, sort, copy,
 * mix, triage).  find: by name, or NULL.  The two kinds other modules ask for by
 * identity are exported: mix (the composite) and triage (its rule has an API below). */
int rt_task_kind_count(void);
const rt_task_kind_ops *rt_task_kind_at(int i); /* NULL if out of range */
const rt_task_kind_ops *rt_task_kind_find(const char *name);
extern const rt_task_kind_ops rt_task_kind_mix;
extern const rt_task_kind_ops rt_task_kind_triage;
extern const rt_task_kind_ops rt_task_kind_file;
const char *rt_task_kind_name(const rt_task_kind_ops *kind); /* "add", ...; "?" for NULL */
const char *rt_task_kind_help(const rt_task_kind_ops *kind); /* one line */
int rt_task_kind_mixable(const rt_task_kind_ops *kind);      /* may be a domain of a mix */
/* Its keys (own keys, then noise and holdout); NULL if out of range; -1 if unknown. */
int rt_task_kind_n_keys(const rt_task_kind_ops *kind);
const rt_task_key *rt_task_kind_key(const rt_task_kind_ops *kind, int i);
int rt_task_kind_key_index(const rt_task_kind_ops *kind, const char *key);
/* "reverse has no key 'digits' (its keys: length, noise, holdout)", snprintf style. */
size_t rt_task_kind_key_error(const rt_task_kind_ops *kind, const char *key, char *buf, size_t cap);
/* The kind names joined as text, e.g. "add, reverse, sort, copy, mix, triage or file"
 * (last_sep " or "); mixable_only: only the kinds a mix takes.  snprintf style. */
size_t rt_task_kinds_text(int mixable_only, const char *last_sep, char *buf, size_t cap);
/* The union of the features of every registered kind (first seen first: correct,
 * partial, length, format, eos, outcome, demo_agree for the built-ins) into names[cap]
 * (cap RT_TASK_MAX_KINDS * RT_TASK_MAX_FEATURES holds any union); returns the count. */
int rt_task_feature_union(const char **names, int cap);

/* cfg = the kind's defaults (add digits=2, length=4, noise=0, holdout=0.2, triage
 * features=4 values=3 actions=4 good=2 conflict=0).  0, or RT_EINVAL for an
 * unknown kind name.  set: one key by name: 0, or RT_EINVAL with err naming the
 * kind's keys (rt_task_kind_key_error).  parse: "add digits=3 noise=0.1" (kind, then
 * key=value pairs; numbers only, so not a mix): 0 or RT_EINVAL with err set. */
int rt_task_config_init(rt_task_config *cfg, const char *kind);
void rt_task_config_init_kind(rt_task_config *cfg, const rt_task_kind_ops *kind);
int rt_task_config_set(rt_task_config *cfg, const char *key, double value, rt_diag *err);
int rt_task_config_parse(rt_task_config *cfg, const char *text, rt_diag *err);
/* One key's value (NAN if cfg's kind has no such key). */
double rt_task_config_get(const rt_task_config *cfg, const char *key);

/* Validates cfg (err->msg names the parameter, e.g. "digits must be between 1 and 6")
 * and creates the task.  Returns 0, RT_EINVAL or RT_ENOMEM; *out is NULL on
 * error.  Caller frees with rt_task_free.  err may be NULL. */
int rt_task_create(const rt_task_config *cfg, rt_task **out, rt_diag *err);
void rt_task_free(rt_task *t);

const rt_task_kind_ops *rt_task_kind_of(const rt_task *t);
const rt_task_config *rt_task_config_of(const rt_task *t); /* mix: tasks == NULL */
double rt_task_value(const rt_task *t, const char *key);   /* a key's value, or NAN */
/* The task's vocabulary: V, and the text of token tok (NULL unless 0 <= tok < V). */
int rt_task_vocab_size(const rt_task *t);
const char *rt_task_token(const rt_task *t, int tok);
/* Text of a token of any registered kind's vocabulary (NULL if out of range). */
const char *rt_task_token_str(int tok);
int rt_task_prompt_len(const rt_task *t);        /* P */
int rt_task_answer_max(const rt_task *t);        /* T, EOS included */
uint64_t rt_task_prompt_space(const rt_task *t); /* number of prompts */

/* Draws one prompt of the split from rng (advancing it) and fills *out. */
void rt_task_sample_prompt(const rt_task *t, rt_rng *rng, rt_task_split split, rt_task_sample *out);
/* A batch: sample i is drawn from its own stream rt_rng_split(stream, seq0 + i), so a
 * batch drawn in parts (matching seq0) is the same batch.  samples[B] filled; if
 * prompts != NULL it receives the prompts as one (B, P) array. */
void rt_task_sample_batch(const rt_task *t, const rt_rng *stream, uint64_t seq0,
                          rt_task_split split, int B, rt_task_sample *samples, int *prompts);
/* The split a sample's prompt belongs to. */
rt_task_split rt_task_split_of(const rt_task *t, const rt_task_sample *s);

/* Enumeration (exact evaluation over every prompt of small tasks): the number of
 * prompts of a split when the task's space is enumerated (<= 65536 prompts; a mix
 * sums its domains when every domain is enumerated, and is 0 as soon as one is not:
 * enumerate such a mix per domain with rt_task_domain), else 0; and the sample of a
 * given domain and prompt id
 * (0, or RT_EINVAL if out of range).  rt_task_sample_at(t, split, i) walks the
 * enumerated split (domains in order); RT_EINVAL past the end or when a domain is
 * not enumerated. */
uint64_t rt_task_split_count(const rt_task *t, rt_task_split split);
int rt_task_sample_at(const rt_task *t, rt_task_split split, uint64_t i, rt_task_sample *out);
int rt_task_sample_from_id(const rt_task *t, int domain, uint64_t id, rt_task_sample *out);

/* Domains: a mix has n_tasks domains, every other task one (itself, named by kind). */
int rt_task_n_domains(const rt_task *t);
const char *rt_task_domain_name(const rt_task *t, int d);
const rt_task *rt_task_domain(const rt_task *t, int d); /* the domain's own task */

/* A demonstration for s into answer[RT_TASK_MAX_T]; returns its length (EOS included).
 * With probability noise (noise < 0: the task's configured noise) the systematic
 * error above is applied and *noisy (may be NULL) is set to 1.  Exactly one uniform
 * draw is taken from rng, whatever the outcome. */
int rt_task_demonstrate(const rt_task *t, const rt_task_sample *s, double noise, rt_rng *rng,
                        int *answer, int *noisy);
/* The systematically wrong answer for s (equals the target when the error is not
 * visible for this prompt); returns its length. */
int rt_task_corrupt(const rt_task *t, const rt_task_sample *s, int *answer);

/* The feature names of a kind, known before any task exists (for reward checking). */
int rt_task_kind_n_features(const rt_task_kind_ops *kind);
const char *rt_task_kind_feature_name(const rt_task_kind_ops *kind,
                                      int i); /* NULL if out of range */

/* Features of generated tokens g[0..n) into feat[rt_task_n_features(t)]. */
int rt_task_n_features(const rt_task *t);
const char *rt_task_feature_name(const rt_task *t, int i);
int rt_task_feature_index(const rt_task *t, const char *name); /* -1 if unknown */
void rt_task_features(const rt_task *t, const rt_task_sample *s, const int *g, int n, double *feat);
/* Features of a batch of generations: tokens (B, T) row-major (generation may run past
 * EOS; only the answer up to the first EOS counts) into feat (B, n_features). */
void rt_task_features_batch(const rt_task *t, const rt_task_sample *samples, const int *tokens,
                            int B, int T, double *feat);
/* The verifier: the `correct` feature. */
int rt_task_verify(const rt_task *t, const rt_task_sample *s, const int *g, int n);

/* Triage: the state's feature values, the good actions and the demonstrator's action.
 * For other kinds these return RT_EINVAL. */
int rt_task_triage_state(const rt_task *t, const rt_task_sample *s, int *values);
int rt_task_triage_good(const rt_task *t, const rt_task_sample *s, int *actions); /* count */
int rt_task_triage_demo_action(const rt_task *t, const rt_task_sample *s);
double rt_task_triage_reward(const rt_task *t, const rt_task_sample *s, int action);
int rt_task_triage_conflicted(const rt_task *t, const rt_task_sample *s); /* 0/1 */
/* Evidence for judges: the prompt (P tokens) with the values of the features whose
 * bit is clear in `revealed` (bit k = feature k) replaced by RT_TOK_MASK. */
int rt_task_triage_evidence(const rt_task *t, const rt_task_sample *s, unsigned revealed,
                            int *prompt);

/* Text.  render: tokens (PAD skipped) as text into buf, e.g. "<add>12+34="; returns
 * the length it needed (snprintf style).  parse: text (whitespace ignored) into
 * tokens; 0, or RT_EPARSE naming the column.  sample_from_text: a prompt typed by
 * a user (the task tag may be omitted except in a mix) into a sample. */
size_t rt_task_render(const int *toks, int n, char *buf, size_t cap);
int rt_task_parse(const char *text, int *toks, int cap, int *n, rt_diag *err);
int rt_task_sample_from_text(const rt_task *t, const char *text, rt_task_sample *out, rt_diag *err);

/* The same with the task's own vocabulary (a file task's table; the built-in table
 * otherwise; a mix: its domains' common table).  parse_with skips whitespace that is
 * not a token of the table. */
size_t rt_task_render_with(const rt_task *t, const int *toks, int n, char *buf, size_t cap);
int rt_task_parse_with(const rt_task *t, const char *text, int *toks, int cap, int *n,
                       rt_diag *err);
/* The task's token that is the longest prefix of s[0..n) (any token of its vocabulary,
 * <pad> and <eos> as text included; a file task's table, else the built-in one), or -1;
 * *len its bytes.  parse_with's tokenizer and the preference files' are this. */
int rt_task_match_token(const rt_task *t, const char *s, size_t n, size_t *len);

/* A human description: kind and parameters, vocabulary, P, T, features and n example
 * prompts with their targets drawn from rng (training split).  A file task: "task file
 * PATH (320 rows: 256 train, 64 held out; split by hash) noise=0 noise_rule=swap",
 * its vocabulary (the space shown as '␠'), lengths, features, texts (numeric marked;
 * columns left out named) and examples. */
size_t rt_task_describe(const rt_task *t, rt_rng *rng, int n, char *buf, size_t cap);
/* One demonstration and what the noise rule makes of it (the first training prompt,
 * in enumeration order, where the error is visible), or a line saying it is never
 * visible.  snprintf style. */
size_t rt_task_describe_noise(const rt_task *t, char *buf, size_t cap);

/* Texts: what the reward language reads of a sample.  Every kind has answer (g up to,
 * not including, the first EOS, rendered with the task's vocabulary, PAD skipped),
 * target (the target without EOS; a file task: exactly the file's answer text) and
 * prompt (without padding; a file task: the file's prompt text); a file task then its
 * extra columns (rt_task_data.h: identifiers, the row's cell text); a mix the union of
 * its domains' columns (first seen first; "" for a domain without the column; numeric
 * if numeric in every domain that has it).  Views point into out->buf or the task's
 * data (valid while the task lives).  No allocation. */
enum { RT_TASK_MAX_TEXTS = 3 + RT_ROWS_MAX_COLS };
int rt_task_n_texts(const rt_task *t);
const char *rt_task_text_name(const rt_task *t, int i); /* NULL if out of range */
int rt_task_text_numeric(const rt_task *t, int i);      /* 0 for answer/target/prompt */
typedef struct rt_task_texts {
    rt_strview v[RT_TASK_MAX_TEXTS];
    int n;
    char buf[3][264];
} rt_task_texts;
void rt_task_texts_of(const rt_task *t, const rt_task_sample *s, const int *g, int n,
                      rt_task_texts *out);

#endif
