/* rt_params: a model's parameter block and the one optimizer, Adam.
 *
 *   block = w (n) | g (n) | m (n) | v (n)      one allocation, each part 64-byte aligned
 *
 * w holds every weight of a model, g their gradients, m and v Adam's first and second
 * moments, all in the same layout; t counts Adam steps.  A model carves named views into
 * w and g (the MLP policy's carve() in rt_policy.c, the debate network's in
 * rt_debate_mlp.c); everything that treats the parameters as one vector is here, written
 * once: zeroing the gradients, their global norm, copying, resetting the optimizer state,
 * and rt_adam, llm.c's gpt2_update over the whole block.
 *
 * Ownership: an rt_params is a value inside its model (no handle of its own); create
 * with rt_params_create, free with rt_params_free.  Nothing here knows a model's shapes
 * or keeps a version stamp: a model whose caches depend on w (rt_policy) renews its own
 * stamp after rt_adam.
 *
 * Determinism: rt_params_grad_norm sums in double over 8 fixed lanes added pairwise, and
 * rt_adam is elementwise in float with a fixed operation order; both are compiled once
 * per SIMD path (rt_nn_isa.h) and give the same bits on every path.
 *
 * Leaves out: weight decay (AdamW), other optimizers, learning-rate schedules (callers
 * pass lr per step), saving the optimizer state (model files hold w only). */
#ifndef RT_PARAMS_H
#define RT_PARAMS_H

#include <stddef.h>

#include "rt_diag.h"

typedef struct rt_params {
    float *w;    /* (n) weights */
    float *g;    /* (n) gradients, same layout (backward passes accumulate into it) */
    float *m;    /* (n) Adam first moments */
    float *v;    /* (n) Adam second moments */
    size_t n;    /* floats in each of w, g, m, v */
    long t;      /* Adam steps taken (the bias corrections' exponent) */
    void *block; /* the one allocation holding w | g | m | v */
} rt_params;

typedef struct rt_adam_config {
    float lr;        /* learning rate, e.g. 1e-3 */
    float beta1;     /* 0.9 */
    float beta2;     /* 0.999 */
    float eps;       /* 1e-8 */
    float clip_norm; /* > 0: scale gradients to this global L2 norm if above; 0 = off */
} rt_adam_config;

/* torch defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no clipping. */
rt_adam_config rt_adam_defaults(void);

/* Allocates a block of n >= 1 floats per part, all zero, t = 0.  On error *p is all
 * zero (safe to free) and the result is RT_EINVAL or RT_ENOMEM.  Caller
 * frees with rt_params_free. */
int rt_params_create(rt_params *p, size_t n);
/* Frees the block and zeroes *p; p may be NULL or already freed. */
void rt_params_free(rt_params *p);

/* g = 0. */
void rt_params_zero_grad(rt_params *p);
/* Global L2 norm of g: squares summed in double over 8 fixed lanes (lane j takes the
 * indices i = j mod 8, in order), the lanes added pairwise, then sqrt. */
double rt_params_grad_norm(const rt_params *p);
/* dst := src entirely (w, g, m, v, t); same n, else RT_EINVAL. */
int rt_params_copy(rt_params *dst, const rt_params *src);
/* dst's weights := src's, and a fresh optimizer state (rt_params_reset); same n, else
 * RT_EINVAL. */
int rt_params_assign(rt_params *dst, const rt_params *src);
/* g = m = v = 0, t = 0: the weights as they are, as if never trained. */
void rt_params_reset(rt_params *p);

/* One Adam step over the whole block (torch semantics, bias-corrected):
 *   t += 1;  s = clip_norm / (norm + 1e-6) if 0 < clip_norm < norm, else 1;
 *   per i:  gi = g[i] * s;  m = b1 m + (1 - b1) gi;  v = b2 v + (1 - b2) gi gi;
 *           w -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * in float, in that order, with bc = 1 - beta^t by rt_pow in double rounded to float.
 * norm = rt_params_grad_norm, computed only when clipping or when grad_norm != NULL
 * (then *grad_norm = norm before clipping).  g is left as it is. */
void rt_adam(rt_params *p, const rt_adam_config *c, float *grad_norm);

#endif
