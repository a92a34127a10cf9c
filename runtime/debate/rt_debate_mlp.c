/* rt_debate_mlp: the small one-hot MLP of the judge and the learned debater (see
 * rt_debate_int.h): its views into an rt_params block, initialization, forward/backward
 * through rt_nn layers, and the Adam settings it is trained with (the update is
 * rt_adam).  Also the small helpers the module shares (errors, random
 * evidence subsets).  Leaves out: more than one hidden layer, weight decay. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate_int.h"
#include "rt_math.h"
#include "rt_nn.h"

int rt_dmlp_init(rt_dmlp *n, int P, int V, int H, int O, const rt_rng *rng)
{
    memset(n, 0, sizeof *n);
    n->P = P, n->V = V, n->H = H, n->O = O;
    size_t nu = (size_t)P * V * H, nw = (size_t)O * H;
    if (rt_params_create(&n->params, nu + (size_t)H + nw + (size_t)O)) return RT_ENOMEM;
    float *w = n->params.w, *g = n->params.g;
    n->U = w, n->b1 = n->U + nu, n->W2 = n->b1 + H, n->b2 = n->W2 + nw;
    n->gU = g, n->gb1 = n->gU + nu, n->gW2 = n->gb1 + H, n->gb2 = n->gW2 + nw;
    rt_rng r = rt_rng_split(rng, 0);
    float su = 1.0f / sqrtf((float)P), sw = 1.0f / sqrtf((float)H);
    for (size_t i = 0; i < nu; i++)
        n->U[i] = su * rt_rng_normal(&r);
    for (size_t i = 0; i < nw; i++)
        n->W2[i] = sw * rt_rng_normal(&r);
    return 0;
}

void rt_dmlp_release(rt_dmlp *n)
{
    rt_params_free(&n->params);
}

void rt_dmlp_forward1(const rt_dmlp *n, const int *tok, float *h, float *out)
{
    /* h (H) = ReLU(b1 + sum_p U[p*V + tok[p]]), out (O) = W2 h + b2 */
    int H = n->H;
    memcpy(h, n->b1, sizeof(float) * H);
    for (int p = 0; p < n->P; p++) {
        const float *row = n->U + ((size_t)p * n->V + tok[p]) * H;
        for (int i = 0; i < H; i++)
            h[i] += row[i];
    }
    for (int i = 0; i < H; i++)
        h[i] = h[i] > 0.0f ? h[i] : 0.0f;
    for (int o = 0; o < n->O; o++) {
        const float *w = n->W2 + (size_t)o * H;
        float s = 0.0f;
        for (int i = 0; i < H; i++)
            s += w[i] * h[i];
        out[o] = s + n->b2[o];
    }
}

void rt_dmlp_forward(const rt_dmlp *n, const int *tok, int N, float *h, float *out)
{
    /* tok (N, P) -> h (N, H) -> out (N, O) */
    rt_nn_table_forward_relu(h, tok, n->U, n->b1, N, n->P, n->V, n->H);
    rt_nn_linear_forward(out, h, n->W2, n->b2, N, n->H, n->O);
}

void rt_dmlp_backward(rt_dmlp *n, const int *tok, int N, const float *h, const float *dout,
                      float *dh)
{
    /* dout (N, O) -> gW2, gb2, dh (N, H) -> gU, gb1 (through the ReLU mask of h) */
    memset(dh, 0, sizeof(float) * (size_t)N * n->H);
    rt_nn_linear_backward(dh, n->gW2, n->gb2, dout, h, n->W2, N, n->H, n->O);
    rt_nn_table_backward_relu_cols(n->gU, n->gb1, dh, h, tok, N, n->P, n->V, n->H, 0, n->H);
}

rt_adam_config rt_dmlp_adam_config(float lr)
{
    rt_adam_config c = rt_adam_defaults();
    c.lr = lr;
    return c;
}

void rt_debate_set_err(rt_diag *err, int code, long step, const char *fmt, ...)
{
    if (!err) return;
    err->code = code;
    err->step = step;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

unsigned rt_debate_random_subset(rt_rng *r, int K, int L)
{
    int idx[RT_DEBATE_MAX_K];
    for (int k = 0; k < K; k++)
        idx[k] = k;
    rt_rng_shuffle(r, idx, K);
    unsigned s = 0;
    for (int i = 0; i < L; i++)
        s |= 1u << idx[i];
    return s;
}
