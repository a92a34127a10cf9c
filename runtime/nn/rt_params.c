/* rt_params.c: the parameter block (one allocation, four 64-byte aligned parts) and
 * Adam over it (see rt_params.h).  The two loops over the block (gradient norm, Adam
 * update) are compiled per SIMD path.  Leaves out: the models' views (each model carves
 * its own), weight decay, threads (the block is updated by one thread). */
#include "rt_params.h"

#include "rt_nn_isa.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_cancel.h"
#include "rt_math.h"

rt_adam_config rt_adam_defaults(void)
{
    rt_adam_config c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
    return c;
}

int rt_params_create(rt_params *p, size_t n)
{
    memset(p, 0, sizeof *p);
    if (n == 0 || n > SIZE_MAX / sizeof(float) / 4 - 16) return RT_EINVAL;
    /* each part rounded up to 16 floats (64 bytes), 16 floats of slack to align the base */
    size_t n16 = (n + 15) / 16 * 16;
    float *blk = rt_calloc(4 * n16 + 16, sizeof(float));
    if (!blk) return RT_ENOMEM;
    p->block = blk;
    blk += (16 - ((uintptr_t)blk / sizeof(float)) % 16) % 16;
    p->w = blk;
    p->g = blk + n16;
    p->m = blk + 2 * n16;
    p->v = blk + 3 * n16;
    p->n = n;
    return 0;
}

void rt_params_free(rt_params *p)
{
    if (!p) return;
    rt_free(p->block);
    memset(p, 0, sizeof *p);
}

void rt_params_zero_grad(rt_params *p)
{
    memset(p->g, 0, p->n * sizeof(float));
}

int rt_params_copy(rt_params *dst, const rt_params *src)
{
    if (dst->n != src->n) return RT_EINVAL;
    size_t bytes = src->n * sizeof(float);
    memcpy(dst->w, src->w, bytes);
    memcpy(dst->g, src->g, bytes);
    memcpy(dst->m, src->m, bytes);
    memcpy(dst->v, src->v, bytes);
    dst->t = src->t;
    return 0;
}

void rt_params_reset(rt_params *p)
{
    size_t bytes = p->n * sizeof(float);
    memset(p->g, 0, bytes);
    memset(p->m, 0, bytes);
    memset(p->v, 0, bytes);
    p->t = 0;
}

int rt_params_assign(rt_params *dst, const rt_params *src)
{
    if (dst->n != src->n) return RT_EINVAL;
    memcpy(dst->w, src->w, src->n * sizeof(float));
    rt_params_reset(dst);
    return 0;
}

RT_ISA_FN(double, rt_params_grad_norm, (const rt_params *p), (p))
{
    /* rt_lanes8_dot: 8 fixed lanes, then added pairwise */
    double s = rt_lanes8_dot(p->g, p->g, p->n);
    return sqrt(s);
}

RT_ISA_FN_VOID_STATIC(adam_update, (rt_params * p, const rt_adam_config *c, float scale),
                      (p, c, scale))
{
    /* bias corrections 1 - beta^t: rt_pow in double (~0.5 ulp), a function of (beta, t)
     * alone, so there is no running product to save, load or copy */
    float bc1 = (float)(1.0 - rt_pow(c->beta1, (double)p->t));
    float bc2 = (float)(1.0 - rt_pow(c->beta2, (double)p->t));
    float step = c->lr / bc1, sbc2 = sqrtf(bc2);
    float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    float *w = p->w, *g = p->g, *m = p->m, *v = p->v;
    for (size_t i = 0; i < p->n; i++) {
        float gi = g[i] * scale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}

void rt_adam(rt_params *p, const rt_adam_config *c, float *grad_norm)
{
    /* a product of this step was cut short (rt_cancel.h): the gradient is incomplete */
    if (rt_cancel_was_cut()) {
        if (grad_norm) *grad_norm = 0.0f;
        return;
    }
    float scale = 1.0f;
    if (grad_norm || c->clip_norm > 0.0f) {
        double norm = rt_params_grad_norm(p);
        if (grad_norm) *grad_norm = (float)norm;
        if (c->clip_norm > 0.0f && norm > c->clip_norm)
            scale = (float)(c->clip_norm / (norm + 1e-6));
    }
    p->t++;
    adam_update(p, c, scale);
    rt_cancel_note_update();
}
