/* rt_policy: the `mlp` architecture, an autoregressive LM over the previous `context`
 * tokens.  Algorithms reach it only through its model interface (rt_model.h: the header
 * `model` below, the ops table rt_model_mlp in rt_model_mlp.c); this header is the
 * MLP's own API (its K-token contexts, its rows), for that ops table and its tests.
 *
 *   ctx (N, K) token ids, left-padded with RT_POLICY_PAD = 0
 *   -> embedding E (V, D) -> concat (K*D) -> Linear (H, K*D) + b -> act
 *   -> (layers - 1) x [Linear (H, H) + b -> act] -> Linear (V, H) + b -> logits (N, V)
 *
 * Layer 1 is computed exactly as per-position tables (rt_nn_table_*): the (K*V, H)
 * table U is rebuilt when the weights change, so a forward costs K row additions per
 * context instead of a (K*D, H) product.
 *
 * Values and ownership:
 *   rt_policy     an rt_model (its first member `model`: ops, block, vocabulary) and the
 *                 weights: parameters, gradients and Adam moments in ONE
 *                 parameter block (rt_params.h: the block, its Adam) carved into
 *                 named views (rt_policy_views).  Create with
 *                 rt_policy_create / rt_policy_copy / rt_policy_load; free with
 *                 rt_policy_free.  A policy is never modified by forward passes, so
 *                 one policy (a teacher) can be read by many threads at once.
 *   rt_policy_ws  a workspace for one thread: the layer-1 table cache and the
 *                 activations of up to `max_rows` contexts, sized once so that a
 *                 training step allocates nothing.  Create with rt_policy_ws_create,
 *                 free with rt_policy_ws_free.  The workspace remembers which weights
 *                 its table was built from (a process-unique version stamp that every
 *                 change of the weights renews), so it is never stale.
 *
 * Typical training step (SFT):
 *   rt_policy_zero_grad(p);
 *   rt_policy_xent(p, ws, ctx, y, n, &loss);     forward + mean cross-entropy + backward
 *   rt_policy_adam(p, &adam, &grad_norm);
 * Policy gradient: rt_policy_forward(p, ws, ctx, n, 0); build dlogits from
 * rt_policy_ws_logits(ws); rt_policy_backward(p, ws, dlogits, n, 0); rt_policy_adam.
 *
 * Determinism: everything here is fixed-order; every matrix product is the runtime's
 * GEMM, bit-identical whatever the ISA path, the GEMM thread count or the split of rows
 * and columns between threads (see rt_nn.h); sampling draws each
 * sequence from its own stream rt_rng_split(rng, sequence index), so samples do not
 * depend on batch partitioning or thread count.
 *
 * Errors: functions return 0 or a negative RT_POLICY_E* code and, where given a
 * rt_diag (= rt_diag), fill it with the code and a message.  Leaves out:
 * other architectures, weight decay, saving Adam moments (a file holds the weights only). */
#ifndef RT_POLICY_H
#define RT_POLICY_H

#include <stdint.h>

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_nn.h"
#include "rt_params.h"
#include "rt_rng.h"

#define RT_POLICY_PAD 0
#define RT_POLICY_MAX_LAYERS 8
#define RT_POLICY_MAX_THREADS RT_NN_MAX_THREADS

/* the model interface's codes (rt_model.h) */
/* The MLP's ops table (rt_model_mlp.c); its keys are context, embed, hidden, layers, act. */
extern const rt_model_ops rt_model_mlp;

typedef struct rt_policy_config {
    int vocab;   /* V: token ids 0..V-1, 0 = PAD; 2 <= V <= 65536 */
    int context; /* K: tokens of context, 1..1024 */
    int embed;   /* D: embedding width, 1..4096 */
    int hidden;  /* H: hidden width, 1..16384 */
    int layers;  /* hidden layers (each Linear + act), 1..RT_POLICY_MAX_LAYERS */
    int act;     /* RT_NN_ACT_RELU or RT_NN_ACT_GELU */
} rt_policy_config;

/* Named views into one block (parameters, gradients, or an Adam moment). */
typedef struct rt_policy_views {
    float *emb;                          /* (V, D) */
    float *w1;                           /* (H, K*D)  torch Linear layout */
    float *b1;                           /* (H) */
    float *wh[RT_POLICY_MAX_LAYERS - 1]; /* layer l+2: (H, H), l < layers - 1 */
    float *bh[RT_POLICY_MAX_LAYERS - 1]; /* (H) */
    float *wo;                           /* (V, H) */
    float *bo;                           /* (V) */
} rt_policy_views;

typedef struct rt_policy {
    rt_model model; /* FIRST: the model interface (ops rt_model_mlp, &params, vocab) */
    rt_policy_config cfg;
    rt_params params;  /* w | g | m | v, one allocation (rt_params.h); n floats each */
    rt_policy_views p; /* views into params.w */
    rt_policy_views g; /* views into params.g */
    uint64_t version;  /* process-unique stamp, renewed by rt_policy_touch */
} rt_policy;

typedef struct rt_policy_ws rt_policy_ws;

/* ---- lifetime ----------------------------------------------------------------- */

/* Checks a configuration; fills diag (may be NULL) on error. */
int rt_policy_config_check(const rt_policy_config *cfg, rt_diag *diag);
/* Allocates a policy with all parameters, gradients and moments zero.  *out = NULL on
 * error.  Caller frees with rt_policy_free. */
int rt_policy_create(rt_policy **out, const rt_policy_config *cfg, rt_diag *diag);
/* torch's default initialization: emb ~ N(0, 1); each Linear's weight and bias ~
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)); draws from a copy of *rng split per tensor. */
void rt_policy_init(rt_policy *p, const rt_rng *rng);
/* Deep copy (weights, gradients, moments, Adam step; a new version stamp).  Caller
 * frees with rt_policy_free. */
int rt_policy_copy(rt_policy **out, const rt_policy *src, rt_diag *diag);
/* Copies src's weights into dst (same architecture) and resets dst's Adam state. */
int rt_policy_assign(rt_policy *dst, const rt_policy *src);
void rt_policy_free(rt_policy *p);
/* Call after changing p->params.w directly: invalidates cached tables of workspaces. */
void rt_policy_touch(rt_policy *p);
int rt_policy_same_shape(const rt_policy_config *a, const rt_policy_config *b);
/* Floats in each block (parameters) of a valid configuration. */
size_t rt_policy_nparams(const rt_policy_config *cfg);

/* ---- files -------------------------------------------------------------------- */

/* rt_model_save / rt_model_load (rt_model.h: the format, versions 1 and 2); loading
 * another architecture than the MLP is RT_EINVAL.  Caller frees with
 * rt_policy_free. */
int rt_policy_save(const rt_policy *p, const char *path, rt_diag *diag);
int rt_policy_load(rt_policy **out, const char *path, rt_diag *diag);
/* The MLP behind a model, or NULL when m is of another architecture. */
rt_policy *rt_policy_of(rt_model *m);
const rt_policy *rt_policy_of_const(const rt_model *m);

/* ---- workspaces ----------------------------------------------------------------- */

/* A workspace for policies of architecture cfg and up to max_rows contexts per
 * forward.  Caller frees with rt_policy_ws_free. */
int rt_policy_ws_create(rt_policy_ws **out, const rt_policy_config *cfg, int max_rows,
                        rt_diag *diag);
void rt_policy_ws_free(rt_policy_ws *ws);
int rt_policy_ws_rows(const rt_policy_ws *ws);
/* Threads used by rt_policy_generate, rt_policy_score and rt_policy_backward (one
 * hidden layer) on this workspace; default 1, at most RT_POLICY_MAX_THREADS.  Results
 * are bit-identical for every value: work is split into pieces fixed by the data
 * (groups of 128 sequences, blocks of 128 rows, column slices), each computed as it
 * is serially.  The threads call the GEMM: keep its own threads at 1
 * (rt_nn_set_gemm_threads(1)) when threads > 1, as the benchmark does. */
void rt_policy_ws_set_threads(rt_policy_ws *ws, int threads);
/* Logits of the cached rows, (max_rows, V); row r of the last forward that covered it. */
float *rt_policy_ws_logits(rt_policy_ws *ws);
/* A scratch (max_rows, V) buffer for callers (e.g. dlogits), never used internally. */
float *rt_policy_ws_scratch(rt_policy_ws *ws);

/* ---- forward, backward, losses ---------------------------------------------------- */

/* Builds the left-padded context of position `pos` of a token sequence: out (K) =
 * seq[pos-K .. pos-1], with PAD where the index is negative. */
void rt_policy_context(int *out, const int *seq, int pos, int K);

/* Forward of n contexts ctx (n, K) into workspace rows [row0, row0 + n): logits at
 * rt_policy_ws_logits(ws) + row0 * V, activations kept for rt_policy_backward.
 * Rebuilds the layer-1 table if p's weights changed since the last call. */
int rt_policy_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0);
/* Scoring only: as rt_policy_forward into rows [0, n) (logits and contexts), but the
 * activations are not kept (rows are processed in cache-sized blocks through a scratch
 * area), so rt_policy_backward must not follow.  For teachers and references.  If y !=
 * NULL, also lp (n) = log_softmax(logits / temperature)[y] (the blocks' logits are
 * still in cache). */
int rt_policy_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                    float temperature, float *lp);
/* Backward from dlogits (n, V) through the cached rows [row0, row0 + n) of the last
 * forward (of the same weights), ACCUMULATING into p->params.g.  Uses ws->ctx of those
 * rows (kept by rt_policy_forward). */
int rt_policy_backward(rt_policy *p, rt_policy_ws *ws, const float *dlogits, int n, int row0);
/* out (n) = log p(y[n] | ctx[n]) at temperature 1 (forward into rows [0, n)). */
int rt_policy_logprobs(const rt_policy *p, rt_policy_ws *ws, const int *ctx, const int *y, int n,
                       float *out);
/* Mean cross-entropy over rows with y >= 0 (y < 0 = masked): forward, loss, and
 * backward (accumulating into p->params.g).  *loss = mean; 0 if no row counts. */
int rt_policy_xent(rt_policy *p, rt_policy_ws *ws, const int *ctx, const int *y, int n,
                   float *loss);
/* Full softmax at n states: probs (n, V) at temperature 1 (forward into rows [0, n)). */
int rt_policy_probs(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, float *probs);
/* Exact mean over n states of KL(p(.|s) || q(.|s)); wsp, wsq workspaces of p and q
 * (rows >= n).  If ent != NULL, *ent = mean entropy of p. */
int rt_policy_kl(const rt_policy *p, rt_policy_ws *wsp, const rt_policy *q, rt_policy_ws *wsq,
                 const int *ctx, int n, double *kl, double *ent);

/* ---- sampling ----------------------------------------------------------------------- */

/* Generates T tokens after each of B prompts (B, P): tokens (B, T) out, and if lp !=
 * NULL the policy's log-prob of each token at temperature 1, lp (B, T).  Sequence b
 * draws from rt_rng_split(rng, seq0 + b) (rng itself is not advanced: split it per
 * step), so a batch generated in parts with matching seq0 gives the same tokens;
 * temperature <= 0 is greedy decoding.  Contexts are the last K tokens of prompt +
 * generated prefix, left-padded.  If the workspace holds >= B*T rows, the forward of
 * step t uses rows [t*B, t*B + B) (time-major) and the contexts (B*T, K) stay in
 * ws_ctx order, so rt_policy_backward(p, ws, dlogits, B*T, 0) can train on the samples
 * without a second forward (exact while the weights are unchanged); otherwise rows
 * [0, B) are reused (needs rows >= B).  Generation does not stop at an end token. */
int rt_policy_generate(const rt_policy *p, rt_policy_ws *ws, const int *prompts, int B, int P,
                       int T, float temperature, const rt_rng *rng, uint64_t seq0, int *tokens,
                       float *lp);
/* The contexts (max_rows, K) of the cached rows. */
const int *rt_policy_ws_ctx(const rt_policy_ws *ws);
/* Per cached row of the last rt_policy_generate that kept its rows (B*T <= rows), the
 * log-normalizer of its logits at temperature 1 (rt_nn_sample_lz's lz), for
 * rt_nn_pg_lz on the same rows. */
const float *rt_policy_ws_lognorm(const rt_policy_ws *ws);

/* ---- optimizer ------------------------------------------------------------------------ */

/* The policy's block (rt_params.h): rt_params_zero_grad, rt_params_grad_norm. */
void rt_policy_zero_grad(rt_policy *p);
double rt_policy_grad_norm(const rt_policy *p);
/* rt_adam on the policy's block (one step, clipping first if cfg->clip_norm > 0;
 * *grad_norm, may be NULL, = norm before clipping), then renews the version stamp. */
void rt_policy_adam(rt_policy *p, const rt_adam_config *cfg, float *grad_norm);

#endif
