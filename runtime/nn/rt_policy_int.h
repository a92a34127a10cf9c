/* rt_policy_int.h: the MLP's internals shared by rt_policy.c (its kernels) and
 * rt_model_mlp.c (its ops table): the workspace layout and the row-level passes.
 * Nothing outside runtime/nn includes this.  Leaves out: everything rt_policy.h says. */
#ifndef RT_POLICY_INT_H
#define RT_POLICY_INT_H

#include "rt_policy.h"

struct rt_policy_ws {
    rt_policy_config cfg;
    int max_rows;
    uint64_t table_version;           /* version of the weights U was built from; 0 = none */
    int threads;                      /* threads for generate / score / backward (default 1) */
    float *block;                     /* one allocation holding every float buffer below */
    size_t nblock;                    /* its floats (the buffers start at 64-byte boundaries) */
    float *table;                     /* (K*V, H) layer-1 tables */
    float *dtable;                    /* (K*V, H) their gradient */
    float *woT;                       /* (H, V) output weights transposed, same version */
    float *pre[RT_POLICY_MAX_LAYERS]; /* (max_rows, H) pre-activations (== act for ReLU) */
    float *act[RT_POLICY_MAX_LAYERS]; /* (max_rows, H) post-activations */
    float *logits;                    /* (max_rows, V) */
    float *scratch;                   /* (max_rows, V) for callers */
    float *dh;                        /* (min(max_rows, RB), H) backward temporaries */
    float *dh2;                       /* (min(max_rows, RB), H), only when layers > 1 */
    float *lpbuf;                     /* (max_rows) */
    float *lz;                        /* (max_rows) log-normalizers of sampled rows' logits */
    int *ibuf;                        /* one allocation: ctx (max_rows, K), ybuf (max_rows) */
    int *ctx;
    int *ybuf;
    rt_rng *rngs; /* (max_rows) per-sequence streams */
    /* Layout of the rows kept by the last pass of the model interface (rt_model_mlp.c):
     * tm_B > 0: time-major, row t * tm_B + b for tm_T positions of tm_B sequences (a
     * generation, a uniform batch); 0: the sequence-major rows of the batch. */
    int tm_B, tm_T;
};

/* One block of m <= 128 contexts ctx (m, K): activations into rows [arow, arow + m) of
 * the workspace, logits (m, V) into `logits`. */
void rt_mlp_forward_block(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int m, size_t arow,
                          float *logits);
/* Checks, layer-1 table refresh, ctx (n, K) copied to rows [row0, row0 + n) of ws->ctx
 * (nothing copied when ctx is already there). */
int rt_mlp_prepare(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0);
/* rt_policy_forward / rt_policy_score with the logits (n, V) written to `logits`. */
int rt_mlp_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0,
                   float *logits);
int rt_mlp_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                 float temperature, float *lp, float *logits);

#endif
