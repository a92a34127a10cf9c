/* rt_policy: the `mlp` architecture, an autoregressive LM over the previous `context`
 * tokens.  Algorithms and tests reach its passes only through its model interface
 * (rt_model.h: the header `model` below, the ops table rt_model_mlp in rt_model_mlp.c:
 * forward, backward, generation, log-probs, losses, Adam); this header holds what is
 * the MLP's own: its configuration, its views into the parameter block, its lifetime and
 * its files.  Its workspace and row-level kernels are private (rt_policy_int.h).
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
 *   its workspace (rt_policy_int.h) is reached through rt_model_ws_create: the layer-1
 *                 table cache and the activations of up to `max_rows` contexts, sized
 *                 once so that a training step allocates nothing; it remembers which
 *                 weights its table was built from (a process-unique version stamp
 *                 that every change of the weights renews), so it is never stale.
 *
 * Determinism: everything here is fixed-order; every matrix product is the runtime's
 * GEMM, bit-identical whatever the ISA path, the GEMM thread count or the split of rows
 * and columns between threads (see rt_nn.h), and whatever rt_model_ws_set_threads.
 *
 * Errors: functions return 0 or a negative RT_POLICY_E* code and, where given a
 * rt_diag (= rt_diag), fill it with the code and a message.  Leaves out:
 * other architectures, weight decay, saving Adam moments (a file holds the weights only),
 * the passes and helpers of rt_model.h. */
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
 * frees with rt_policy_free.  RT_EINVAL for the header of another model (a tilt). */
int rt_policy_copy(rt_policy **out, const rt_policy *src, rt_diag *diag);
/* Copies src's weights into dst (same architecture) and resets dst's Adam state. */
int rt_policy_assign(rt_policy *dst, const rt_policy *src);
/* Frees p; when p is the rt_policy header of another model (rt_tilt.h), frees that
 * model through its ops. */
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

#endif
