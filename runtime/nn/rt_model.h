/* rt_model: the sequence-level model interface every algorithm uses, and the generic
 * helpers written once on top of it (log-probs, scoring, sampling, training from the
 * samples, cross-entropy, KL).  An architecture is ONE ops table (rt_model_ops); the
 * `mlp` (rt_policy.h, rt_model_mlp.c) is the first, the test suite's bigram the second,
 * the `gpt` transformer (rt_model_gpt.h: KV-cache extend) the third.
 *
 * Sequences and rows.  A pass reads token sequences tokens (B, L), row b = sequence b,
 * and computes, for the positions it covers, the logits of the token AT that position
 * given the tokens before it: position t scores tokens[b][t] from tokens[b][0 .. t).
 * A batch covers positions [from, L) of every sequence, or, when lo and hi are given,
 * positions [lo[b], hi[b]) of sequence b (ragged).  Its logits are rows of V floats in
 * sequence-major order — sequence 0's positions in order, then sequence 1's, ... —
 * so a uniform batch gives logits (B, L - from, V).  How a model stores its activations
 * (the MLP's K-token windows and time-major rows) is its own business.
 *
 * Values and ownership:
 *   rt_model      the header of a model object: its ops, its parameter block (rt_params:
 *                 w | g | m | v, one allocation, one Adam) and its vocabulary.  The
 *                 architecture's object embeds it as its first member (rt_policy does),
 *                 so a model is created by its architecture (rt_model_create, or the
 *                 architecture's own constructor), copied by rt_model_copy, loaded by
 *                 rt_model_load, and freed by rt_model_free.  Passes never modify a
 *                 model, so a teacher can be read by many threads at once.
 *   rt_model_ws   a workspace for one thread and one model configuration: the exposed
 *                 logits, a dlogits scratch, the last generation's log-normalizers, and
 *                 the architecture's own workspace (its caches and kept activations).
 *                 Sized once (rt_model_ws_create) so that a training step allocates
 *                 nothing; free with rt_model_ws_free.
 *
 * Typical steps:
 *   SFT:  rt_model_zero_grad(m); rt_model_xent(m, ws, &batch, &loss); rt_model_adam(...)
 *   policy gradient: rt_model_generate(m, ws, prompts, B, P, T, tau, rng, 0, tok, lp);
 *         dlogits (B, T, V) from rt_model_ws_logits(ws) (and rt_model_ws_lognorm);
 *         rt_model_zero_grad(m); rt_model_backward(m, ws, dlogits); rt_model_adam(...)
 *         — the samples are trained on without a second forward.
 *   teacher / reference: rt_model_score(t, ws_t, &batch, tau, lp).
 *
 * Determinism: the generic helpers are fixed-order, sampling draws sequence b from
 * rt_rng_split(rng, seq0 + b), and an architecture must give the same bits whatever
 * rt_model_ws_set_threads (see rt_policy.h for the MLP).
 *
 * Config: an architecture's settings are integers named by its keys (enumerations are
 * integers with value names); as text, "key=value" words separated by spaces, in key
 * order (rt_model_config_format / _parse): the policy file stores that text.
 *
 * Errors: 0 or a negative RT_MODEL_E* code, with an rt_diag (may be NULL) filled
 * where one is taken.  Leaves out: the MLP's K-token contexts and time-major rows (its
 * own), KV caches (a transformer's extend), saving Adam moments. */
#ifndef RT_MODEL_H
#define RT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_params.h"
#include "rt_rng.h"

#define RT_MODEL_PAD 0
#define RT_MODEL_MAX_KEYS 16

typedef struct rt_model_ops rt_model_ops;
typedef struct rt_model_ws rt_model_ws;

typedef struct rt_model {
    const rt_model_ops *ops; /* the architecture */
    rt_params *params;       /* its parameter block (inside the architecture's object) */
    int vocab;               /* V: token ids 0..V-1, 0 = PAD */
} rt_model;

/* One setting of an architecture (the source of a schema). */
typedef struct rt_model_key {
    const char *name;         /* "context" */
    int def, min, max;        /* default and inclusive range */
    const char *const *names; /* NULL, or the names of the values min..max ("relu", ...) */
    const char *help;
} rt_model_key;

/* The sequences of one pass (see the top comment). */
typedef struct rt_model_batch {
    const int *tokens;  /* (B, L) */
    int B, L;           /* B >= 0 sequences of L tokens */
    int from;           /* positions [from, L) of every sequence, when lo == NULL */
    const int *lo, *hi; /* or (B): positions [lo[b], hi[b]) of sequence b (0 <= lo <= hi <= L) */
} rt_model_batch;

/* A generation in progress: sequence b is prompts[b] (P tokens) ++ tokens[b][0 .. t). */
typedef struct rt_model_gen {
    const int *prompts; /* (B, P) */
    const int *tokens;  /* (B, T), filled position by position */
    int B, P, T;
    int keep; /* non-zero: rows for rt_model_backward are kept (B*T <= workspace rows) */
} rt_model_gen;

struct rt_model_ops {
    const char *arch;         /* "mlp" */
    const rt_model_key *keys; /* nkeys settings; cfg arrays hold one value per key */
    int nkeys;
    /* 0 or RT_EINVAL with msg (cap bytes) naming the setting */
    int (*check)(int vocab, const int *cfg, char *msg, size_t cap);
    /* floats of the parameter block of a valid configuration */
    size_t (*nparams)(int vocab, const int *cfg);
    /* a new model, every weight zero (*out NULL on error: RT_ENOMEM) */
    int (*create)(rt_model **out, int vocab, const int *cfg);
    void (*destroy)(rt_model *m);
    void (*config)(const rt_model *m, int *cfg);  /* its settings, one per key */
    void (*init)(rt_model *m, const rt_rng *rng); /* the architecture's initialization */
    void (*touch)(rt_model *m);                   /* params->w changed: renew caches */
    /* the architecture's workspace for up to max_rows rows per pass */
    int (*ws_create)(const rt_model *m, int max_rows, void **out);
    void (*ws_free)(void *impl);
    void (*ws_set_threads)(void *impl, int threads);
    /* Logits of the batch's positions into out (rows, V), sequence-major; keep != 0:
     * keep what backward needs; y_lp != NULL: y_lp[r] = log_softmax(row r / temperature)
     * at the row's token (fused while the row is in cache).  Rows <= the workspace's. */
    int (*forward)(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, int keep,
                   float *out, float temperature, float *y_lp);
    /* dlogits (rows of the last kept pass or generation, sequence-major) -> += gradients */
    int (*backward)(rt_model *m, rt_model_ws *ws, const float *dlogits);
    /* Optional incremental decoding (NULL: the generic helper runs forward passes).
     * decode_begin once per generation (checks, cache refresh: serial); then extend
     * returns the logits (n, V) of position P + t of sequences [b0, b0 + n), valid until
     * the next call for these sequences.  Calls for disjoint sequence ranges may run on
     * different threads; a range's calls come in order t = 0, 1, ... */
    int (*decode_begin)(const rt_model *m, rt_model_ws *ws, const rt_model_gen *g);
    const float *(*extend)(const rt_model *m, rt_model_ws *ws, const rt_model_gen *g, int b0, int n,
                           int t);
    /* Optional: floating-point work of a forward pass per row (position), for estimates
     * of how long a step takes (NULL: unknown). */
    double (*row_flops)(const rt_model *m);
    /* Optional trunk features (NULL: the architecture has none; a value head, rt_rl's
     * GAE, reads them).  feature_dim: C, the width of the final hidden features the
     * unembedding reads (the MLP's last hidden activation, the GPT's final LayerNorm
     * output).  features: those of the rows of the last kept pass or generation into out
     * (rows, C), sequence-major like the logits.  backward_features: backward from
     * dlogits (rows, V) plus dfeat (rows, C) = d loss / d features (sequence-major),
     * accumulating; dfeat NULL gives backward's bits exactly. */
    int (*feature_dim)(const rt_model *m);
    int (*features)(const rt_model *m, const rt_model_ws *ws, float *out);
    int (*backward_features)(rt_model *m, rt_model_ws *ws, const float *dlogits,
                             const float *dfeat);
};

/* The workspace: generic buffers, then the architecture's. */
struct rt_model_ws {
    const rt_model_ops *ops;
    int vocab, max_rows, threads;
    int rows;       /* rows of the last pass (logits valid), 0 before any */
    int kept;       /* non-zero: the last pass kept its rows for backward */
    float *logits;  /* (max_rows, V) of the last pass, sequence-major */
    float *dlogits; /* (max_rows, V) scratch for callers, never used by the helpers */
    float *lz;      /* (max_rows) log-normalizers (temperature 1) of the last generation */
    float *lzrow;   /* (max_rows) per-step temporaries of generation */
    float *lprow;
    int *yrow;
    rt_rng *rngs; /* (max_rows) per-sequence streams */
    void *impl;   /* the architecture's workspace */
};

/* ---- architectures and configurations ------------------------------------------------ */

/* The registered architecture of that name, or NULL ("mlp"). */
const rt_model_ops *rt_model_arch(const char *name);
/* cfg = every key's default. */
void rt_model_config_defaults(const rt_model_ops *ops, int *cfg);
/* "context=8 embed=32 ..." (every key, in key order; enumerations by name) into buf. */
void rt_model_config_format(const rt_model_ops *ops, const int *cfg, char *buf, size_t cap);
/* Parses "key=value ..." (any order; missing keys take their defaults; unknown keys,
 * repeats, bad or out-of-range values are errors with a message). */
int rt_model_config_parse(const rt_model_ops *ops, const char *text, int *cfg, rt_diag *d);

/* ---- lifetime ------------------------------------------------------------------------ */

/* A model of architecture ops with every weight zero.  Caller frees with rt_model_free. */
int rt_model_create(rt_model **out, const rt_model_ops *ops, int vocab, const int *cfg, rt_diag *d);
void rt_model_free(rt_model *m);
void rt_model_init(rt_model *m, const rt_rng *rng);
/* Deep copy (weights, gradients, moments, Adam step).  Caller frees with rt_model_free. */
int rt_model_copy(rt_model **out, const rt_model *src, rt_diag *d);
/* dst's weights := src's (same architecture and config), Adam state reset. */
int rt_model_assign(rt_model *dst, const rt_model *src);
/* Call after changing m->params->w directly. */
void rt_model_touch(rt_model *m);
/* The forward pass's floating-point work per row (ops->row_flops), 0 if unknown; a
 * backward costs about twice that. */
double rt_model_row_flops(const rt_model *m);
/* Same architecture, vocabulary and config (parameters interchangeable). */
int rt_model_same_arch(const rt_model *a, const rt_model *b);
void rt_model_config(const rt_model *m, int *cfg);

/* ---- workspaces ---------------------------------------------------------------------- */

/* For models of m's architecture and config, up to max_rows rows per pass (and
 * sequences per generation).  Caller frees with rt_model_ws_free. */
int rt_model_ws_create(rt_model_ws **out, const rt_model *m, int max_rows, rt_diag *d);
void rt_model_ws_free(rt_model_ws *ws);
/* Threads of the workspace's passes (default 1); results are bit-identical for every
 * value.  The threads call the GEMM: keep its own threads at 1 when threads > 1. */
void rt_model_ws_set_threads(rt_model_ws *ws, int threads);
int rt_model_ws_rows(const rt_model_ws *ws);
float *rt_model_ws_logits(rt_model_ws *ws);  /* (rows, V) of the last pass */
float *rt_model_ws_scratch(rt_model_ws *ws); /* (max_rows, V) for callers' dlogits */
/* (B, T): log-normalizer at temperature 1 of each row of the last generation that kept
 * its rows (rt_nn_sample_lz's lz, for rt_nn_pg_lz on the same rows). */
const float *rt_model_ws_lognorm(const rt_model_ws *ws);

/* ---- passes and generic helpers -------------------------------------------------------- */

/* Rows a batch covers (sum of its positions), or -1 when malformed. */
long rt_model_batch_rows(const rt_model_batch *b);
/* Logits of the batch's positions at rt_model_ws_logits(ws), kept for rt_model_backward. */
int rt_model_forward(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b);
/* Scoring only (not kept: rt_model_backward must not follow; for teachers and
 * references): logits as rt_model_forward, and if lp != NULL, lp (rows) = log-prob of
 * each position's token at log_softmax(logits / temperature). */
int rt_model_score(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float temperature,
                   float *lp);
/* lp (rows) = log p(token) at temperature 1 (a kept forward). */
int rt_model_logprobs(const rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float *lp);
/* Backward from dlogits (rows, V) of the last kept pass or generation (same weights),
 * ACCUMULATING into m->params->g. */
int rt_model_backward(rt_model *m, rt_model_ws *ws, const float *dlogits);
/* The trunk's features (ops->features, above): C = rt_model_feature_dim(m), 0 when the
 * architecture has none.  rt_model_features: out (rows, C) of the last kept pass or
 * generation, sequence-major (row r = the state whose next-token logits are logits row
 * r); RT_EINVAL without kept rows or without features.  rt_model_backward_features:
 * rt_model_backward with dfeat (rows, C) added to the gradient of the features (NULL:
 * rt_model_backward, the same bits); RT_EINVAL when dfeat is given and the architecture
 * has no features. */
int rt_model_feature_dim(const rt_model *m);
int rt_model_features(const rt_model *m, rt_model_ws *ws, float *out);
int rt_model_backward_features(rt_model *m, rt_model_ws *ws, const float *dlogits,
                               const float *dfeat);
/* Mean cross-entropy of the batch's tokens: forward, loss, backward (accumulating).
 * *loss = mean over the rows; 0 (and no gradient) if there are none. */
int rt_model_xent(rt_model *m, rt_model_ws *ws, const rt_model_batch *b, float *loss);
/* Exact mean over the batch's positions of KL(p(.|s) || q(.|s)), summed in row order;
 * wsp, wsq workspaces of p and q.  If ent != NULL, *ent = mean entropy of p. */
int rt_model_kl(const rt_model *p, rt_model_ws *wsp, const rt_model *q, rt_model_ws *wsq,
                const rt_model_batch *b, double *kl, double *ent);
/* Generates T tokens after each of B prompts (B, P): tokens (B, T), and if lp != NULL
 * the model's log-prob of each token at temperature 1, lp (B, T).  Sequence b draws
 * from rt_rng_split(rng, seq0 + b) (rng is not advanced: split it per step), so a batch
 * generated in parts with matching seq0 gives the same tokens; temperature <= 0 is
 * greedy decoding.  If the workspace holds >= B*T rows, the rows are kept: logits
 * (B, T, V) at rt_model_ws_logits, lognorms (B, T), and rt_model_backward trains on the
 * samples without a second forward (exact while the weights are unchanged); otherwise
 * only B rows are needed.  Generation does not stop at an end token. */
int rt_model_generate(const rt_model *m, rt_model_ws *ws, const int *prompts, int B, int P, int T,
                      float temperature, const rt_rng *rng, uint64_t seq0, int *tokens, float *lp);

/* ---- optimizer -------------------------------------------------------------------------- */

void rt_model_zero_grad(rt_model *m);
double rt_model_grad_norm(const rt_model *m);
/* rt_adam on the block, then rt_model_touch. */
void rt_model_adam(rt_model *m, const rt_adam_config *c, float *grad_norm);

/* ---- files (rt_model_io.c) ------------------------------------------------------------------ */

/* Format 2 (little-endian): "RLHFPOL\n", u32 version 2, u32 vocab, u32 n, then n bytes of
 * text "arch=NAME key=value ...\n" (rt_model_config_format; at most 1024 bytes), u64
 * payload bytes, u64 FNV-1a checksum of every other byte of the file, then the weights as
 * float32 in block order.  Format 3 is format 2 whose text goes on after the config line
 * with metadata text: what the caller gave rt_model_save_meta, stored and returned
 * verbatim (the runtime does not read it; the magics write "key = value" lines: the
 * task's definition, the policy's lineage), at most RT_MODEL_MAX_META bytes, no NUL.
 * Saving writes format 3 when there is metadata, else format 2 (so a model without
 * metadata has the same bytes as before).  Format 1 (the MLP's fixed header: u32 vocab,
 * context, embed, hidden, layers, act) and format 2 still load.  Adam state is not
 * saved. */
#define RT_MODEL_FILE_VERSION 3
#define RT_MODEL_MAX_META 16384
int rt_model_save(const rt_model *m, const char *path, rt_diag *d);
/* meta: NULL or "" (format 2), or the metadata text (format 3); RT_EINVAL when it is
 * longer than RT_MODEL_MAX_META bytes. */
int rt_model_save_meta(const rt_model *m, const char *meta, const char *path, rt_diag *d);
/* *out = NULL and a distinct code on a missing file, a directory, wrong magic, wrong
 * version, truncation, trailing bytes, a checksum mismatch, an unknown architecture or
 * an invalid configuration.  Caller frees with rt_model_free. */
int rt_model_load(rt_model **out, const char *path, rt_diag *d);
/* The same, and if meta is not NULL, *meta = a copy of the file's metadata text ("" for
 * format 1 and 2 files; NULL on error); caller frees with rt_free. */
int rt_model_load_meta(rt_model **out, char **meta, const char *path, rt_diag *d);
/* The same bytes in memory (a job carries a policy by value, rt_job.h): save_mem sets
 * *out to a new buffer of *n bytes, identical to what rt_model_save writes (caller frees
 * with rt_free; RT_ENOMEM leaves *out NULL); load_mem makes the same checks as
 * rt_model_load, its messages naming "model bytes" instead of a path. */
int rt_model_save_mem(const rt_model *m, void **out, size_t *n, rt_diag *d);
int rt_model_load_mem(rt_model **out, const void *p, size_t n, rt_diag *d);
/* The same with metadata text (as rt_model_save_meta / rt_model_load_meta): a job carries
 * a policy as the file %save writes, its task and lineage included. */
int rt_model_save_mem_meta(const rt_model *m, const char *meta, void **out, size_t *n, rt_diag *d);
int rt_model_load_mem_meta(rt_model **out, char **meta, const void *p, size_t n, rt_diag *d);

#endif
