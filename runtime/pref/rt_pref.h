/* rt_pref: preference datasets — pairs (prompt, chosen answer, rejected answer, optional
 * margin) of one task, simulated from a policy and a hidden labeler reward, or read from
 * JSONL in TRL's preference columns; and their statistics.  The data of %%preferences and
 * the input of %%rm (Bradley–Terry reward models) and %%dpo.
 *
 * A pair.  The prompt is a task sample (its split: rt_task_split_of); an answer is the
 * tokens up to and including the first EOS (or T tokens without one), as the task's
 * features read it: 1..T tokens.  r_chosen, r_rejected are the labeler's true rewards
 * (NAN when unknown: a file without score columns); margin is TRL's optional margin
 * (NAN when absent; simulation leaves it absent, so nothing of the true reward leaks
 * into training).  A set holds its train pairs first, then its held-out pairs.
 *
 * Simulation (rt_pref_simulate), per split (train: cfg.pairs pairs from training
 * prompts; held-out: cfg.heldout pairs from held-out prompts, never training prompts):
 *   prompt j of the split is drawn with replacement (rt_task_sample_batch);
 *   K = per_prompt answers are sampled from the policy at `temperature`;
 *   the pairs of prompt j are all K(K-1)/2 pairs (a, b) = (y_i, y_k), i < k, in
 *   lexicographic order (InstructGPT: K responses ranked give C(K,2) comparisons,
 *   Ouyang et al. 2022 §3.5), until the split has its count (the last prompt's list is
 *   cut);
 *   the label (rt_pref_label): with r_a, r_b the labeler's rewards on the task features,
 *     r_a != r_b, T > 0:  a is chosen with P(a ≻ b) = σ((r_a − r_b) / T)  (Bradley–Terry,
 *                         as the issue states; Christiano et al. 2017)
 *     r_a != r_b, T = 0:  the higher reward is chosen (the limit T → 0)
 *     r_a == r_b (a tie, identical answers included):  ties = COIN: a fair coin (σ(0) =
 *                         1/2, the same at every T; the pair is kept and marked tie);
 *                         ties = DROP: the pair is skipped and the split draws more
 *                         prompts (at most RT_PREF_MAX_PROMPTS_PER_PAIR per pair asked,
 *                         else RT_ELIMIT, e.g. a labeler that is constant);
 *   then, with probability flip, the label is reversed (marked flipped; ties included).
 * Streams, from the caller's stream S (the magics: rt_rng_from_name(session seed, NAME),
 * split by `seed`, as %%rl's runs): split s ∈ {0 train, 1 held-out} uses S_s =
 * rt_rng_split(S, s + 1); prompt j is rt_task_sample_batch's draw j of
 * rt_rng_split(S_s, 1); its answer k is generated from rt_rng_split(rt_rng_split(S_s, 2),
 * j K + k) (rt_model_generate with seq0 = j K); its pair p's label takes exactly two
 * uniforms (the coin, then the flip) from rt_rng_split(rt_rng_split(S_s, 3), j C + p),
 * C = K(K-1)/2.  So nothing depends on the chunking or on cfg.threads (the model's passes
 * give the same bits at any thread count; with threads > 1 keep the GEMM's own threads at
 * 1, as rt_model_ws_set_threads asks): same inputs, same set.
 *
 * Statistics (rt_pref_stats), per split: pairs; ties (equal true rewards); agreement =
 * the fraction of the non-tie pairs whose chosen answer has the higher true reward (NAN
 * without scores or without non-tie pairs; its expectation at flip = 0 is the labeler's
 * ceiling for any reward model); the flipped fraction (NAN for a set read from a file).
 *
 * JSONL (rt_pref_read / rt_pref_write): one JSON object per line, TRL's preference
 * columns in the explicit-prompt form: "prompt", "chosen", "rejected" (strings: text of
 * the task's vocabulary, whitespace ignored; a prompt's left padding is not written, a
 * PAD inside an answer is, as <pad>), optional "margin" (a number; null: absent; a
 * non-finite value is written null), and the scores of a simulated set as "score_chosen",
 * "score_rejected" (numbers; the column names of UltraFeedback-binarized).  Other columns are
 * ignored.  A pair's split is its prompt's (so no column).  Written: train pairs, then held-out;
 * numbers with 17 significant digits, so write → read gives the same set (the flipped
 * marks excepted: they are not written).  Read errors, code and message
 * "NAME:LINE:COL: ..." (COL in code points of the line; d->line, d->col set too):
 *   RT_EPARSE  "empty line"; bad JSON ("expected '{'", "expected '\"'", "expected ':'",
 *              "expected ',' or '}'", "unterminated string", "bad escape '\\x'",
 *              "characters after the object", "expected a value");
 *              "column 'chosen' must be a string" / "column 'margin' must be a number";
 *              "duplicate column 'chosen'"; "missing column 'rejected'" (at the '}');
 *              "token 'x' is not in the vocabulary of task add" (at the token);
 *              "not a add prompt: ..." (rt_task_sample_from_text's message, at the
 *              string); "empty answer in column 'chosen'";
 *              "answer in column 'chosen' has 6 tokens, more than task add's 4 (EOS
 *              included)"; "tokens after <eos> in column 'chosen'"
 *   RT_ELIMIT  a line longer than RT_PREF_MAX_LINE bytes, more than RT_PREF_MAX_PAIRS
 *   RT_EINVAL  "NAME: no preference pairs" (a file without lines)
 *   RT_ENOENT / RT_EIO  the file cannot be opened / read or written; RT_ENOMEM.
 * Runtime/ does not link cJSON (only kernel/ and magics/ do; DESIGN.md's runtime is a
 * C library on libc alone), so the reader is a small one for flat objects (strings with
 * every JSON escape, numbers, true/false/null; nested values of ignored columns skipped).
 *
 * Errors of rt_pref_simulate (RT_EINVAL, d->key naming the config field): pairs < 1,
 * heldout < 0, per_prompt outside [2, RT_PREF_MAX_PER_PROMPT], temperature <= 0,
 * label_temperature < 0 or not finite, flip outside [0, 1], a model of another
 * vocabulary; RT_ELIMIT (DROP finds no pairs); RT_EMODEL (a model pass); RT_EINTR
 * (cfg.stop asked to stop: nothing is returned); RT_ENOMEM.
 *
 * Leaves out: rankings of more than two answers (Plackett–Luce), several labelers,
 * prompts given as text without a task, the chat-template forms of TRL's columns
 * (lists of messages), the magics (%%preferences shows and exports through this). */
#ifndef RT_PREF_H
#define RT_PREF_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_reward.h"
#include "rt_rng.h"
#include "rt_task.h"

#define RT_PREF_MAX_PER_PROMPT 16
#define RT_PREF_MAX_PAIRS 1000000
#define RT_PREF_MAX_LINE 65536
#define RT_PREF_MAX_PROMPTS_PER_PAIR 100

typedef enum { RT_PREF_TIES_COIN = 0, RT_PREF_TIES_DROP = 1 } rt_pref_ties;

typedef struct rt_pref_pair {
    rt_task_sample prompt;
    rt_task_split split; /* the prompt's split */
    int chosen[RT_TASK_MAX_T], rejected[RT_TASK_MAX_T];
    int n_chosen, n_rejected;    /* 1..T tokens, through the first EOS */
    double margin;               /* NAN: absent */
    double r_chosen, r_rejected; /* the labeler's true rewards; NAN: unknown */
    int tie;                     /* r_chosen == r_rejected */
    int flipped;                 /* the label was reversed by label noise */
} rt_pref_pair;

/* pairs[0 .. n_train) are train pairs, pairs[n_train .. n) held-out ones. */
typedef struct rt_pref_set {
    rt_pref_pair *pairs;
    int n, n_train;
    int simulated; /* 1: from rt_pref_simulate (flipped marks known) */
} rt_pref_set;

typedef struct rt_pref_sim_config {
    int pairs;                /* train pairs, >= 1 */
    int heldout;              /* held-out pairs, >= 0 (the default: pairs / 4, so 20% of
                                 all pairs are held out; set it after changing pairs) */
    int per_prompt;           /* K answers per prompt, 2..RT_PREF_MAX_PER_PROMPT */
    float temperature;        /* of the policy's sampling, > 0 */
    double label_temperature; /* T of Bradley–Terry, >= 0 (0: deterministic) */
    double flip;              /* label-noise rate in [0, 1] */
    rt_pref_ties ties;
    int threads; /* the model workspace's threads (same bits at any value) */
    /* polled before each model call (CHUNK prompts); non-zero stops the simulation with
       RT_EINTR and no set (may be NULL: never).  The caller's interrupt. */
    int (*stop)(void *arg);
    void *stop_arg;
} rt_pref_sim_config;

typedef struct rt_pref_stats {
    int pairs[2];        /* by split (RT_TASK_TRAIN, RT_TASK_HELDOUT) */
    int ties[2];         /* pairs with equal true rewards */
    int agree[2];        /* non-tie pairs whose chosen has the higher true reward */
    int flipped[2];      /* pairs whose label noise reversed the label */
    double agreement[2]; /* agree / (pairs - ties); NAN without scores or non-tie pairs */
    double flip_rate[2]; /* flipped / pairs; NAN for a set read from a file or empty */
} rt_pref_stats;

/* pairs 1000, heldout 250, per_prompt 2, temperature 1, label_temperature 0, flip 0,
 * ties COIN, threads 1. */
void rt_pref_sim_defaults(rt_pref_sim_config *cfg);

/* The label of (a, b) with true rewards ra, rb: 1 if a is chosen, 0 if b, as the rule
 * above (T = label_temperature), taking exactly two uniforms from *rng; *tie, *flipped
 * (may be NULL) receive the marks. */
int rt_pref_label(double ra, double rb, double label_temperature, double flip, rt_rng *rng,
                  int *tie, int *flipped);

/* Simulates a set (above).  m: any model of the task's vocabulary; labeler: linked to
 * the task's feature order (rt_reward_link), params bound (rt_reward_bind_params).  m is
 * only read.  *out: caller frees with rt_pref_free (NULL on error). */
int rt_pref_simulate(const rt_model *m, const rt_task *task, const rt_reward_program *labeler,
                     const double *params, const rt_pref_sim_config *cfg, const rt_rng *stream,
                     rt_pref_set **out, rt_diag *d);

void rt_pref_free(rt_pref_set *s);
/* Pairs of a split, and pair i of it (NULL out of range). */
int rt_pref_count(const rt_pref_set *s, rt_task_split split);
const rt_pref_pair *rt_pref_at(const rt_pref_set *s, rt_task_split split, int i);
void rt_pref_stats_of(const rt_pref_set *s, rt_pref_stats *st);

/* For the trainers (%%rm, %%dpo), per step.
 * sequence: pair p's prompt ++ its chosen (which = 0) or rejected (which = 1) answer into
 *   seq (P + T; PAD after the answer); returns the answer's length n, so the answer's
 *   positions are [P, P + n) (a ragged rt_model_batch's lo, hi).
 * sampler: minibatches without replacement within an epoch.  The k-th pair drawn (k =
 *   step B + b, step 0, 1, ...) is perm_e[k mod n], e = k div n, perm_e a Fisher-Yates
 *   shuffle (rt_rng_shuffle) of the split's n indices by rt_rng_split(stream, e): a pure
 *   function of (stream, step, B), so steps may be drawn in any order and a run resumed.
 *   init: 0, RT_EINVAL (a split without pairs) or RT_ENOMEM; free it with
 *   rt_pref_sampler_free.  next: idx (B) = indices into the split (rt_pref_at). */
int rt_pref_sequence(const rt_pref_pair *p, int which, int P, int T, int *seq);
typedef struct rt_pref_sampler {
    int n;      /* pairs of the split */
    long epoch; /* the epoch perm holds; -1 none */
    int *perm;  /* (n) */
    rt_rng rng; /* the stream */
} rt_pref_sampler;
int rt_pref_sampler_init(rt_pref_sampler *s, const rt_pref_set *set, rt_task_split split,
                         const rt_rng *stream, rt_diag *d);
void rt_pref_sampler_next(rt_pref_sampler *s, long step, int B, int *idx);
void rt_pref_sampler_free(rt_pref_sampler *s);

/* JSONL.  format: the text into *text (NUL-terminated, *len bytes; caller rt_frees).
 * parse: text[0..len) named `name` in messages (the file's name).  read/write: a path
 * (read's messages name the path unless name != NULL). */
int rt_pref_format(const rt_pref_set *s, const rt_task *task, char **text, size_t *len, rt_diag *d);
int rt_pref_parse(const rt_task *task, const char *text, size_t len, const char *name,
                  rt_pref_set **out, rt_diag *d);
int rt_pref_write(const rt_pref_set *s, const rt_task *task, const char *path, rt_diag *d);
int rt_pref_read(const rt_task *task, const char *path, const char *name, rt_pref_set **out,
                 rt_diag *d);

#endif
