/* rt_policy_int.h: the MLP's internals shared by rt_policy.c (its kernels) and
 * rt_model_mlp.c (its ops table): the workspace, its layout and the row-level passes
 * over K-token contexts.  Nothing outside runtime/nn includes this: callers use the
 * model interface (rt_model.h).  Leaves out: everything rt_policy.h says. */
#ifndef RT_POLICY_INT_H
#define RT_POLICY_INT_H

#include "rt_diag.h"
#include "rt_policy.h"

/* A workspace for one thread: the layer-1 table cache and the activations of up to
 * max_rows contexts. */
typedef struct rt_policy_ws {
    rt_policy_config cfg;
    int max_rows;
    uint64_t table_version;           /* version of the weights U was built from; 0 = none */
    int threads;                      /* threads for score / backward (default 1) */
    float *block;                     /* one allocation holding every float buffer below */
    size_t nblock;                    /* its floats (the buffers start at 64-byte boundaries) */
    float *table;                     /* (K*V, H) layer-1 tables */
    float *dtable;                    /* (K*V, H) their gradient */
    float *woT;                       /* (H, V) output weights transposed, same version */
    float *pre[RT_POLICY_MAX_LAYERS]; /* (max_rows, H) pre-activations (== act for ReLU) */
    float *act[RT_POLICY_MAX_LAYERS]; /* (max_rows, H) post-activations */
    float *logits;                    /* (max_rows, V) */
    float *scratch;                   /* (max_rows, V) dlogits made time-major (backward) */
    float *dh;                        /* (min(max_rows, RB), H) backward temporaries */
    float *dh2;                       /* (min(max_rows, RB), H), only when layers > 1 */
    int *ibuf;                        /* one allocation: ctx (max_rows, K), ybuf (max_rows) */
    int *ctx;
    int *ybuf;
    /* Layout of the rows kept by the last pass of the model interface (rt_model_mlp.c):
     * tm_B > 0: time-major, row t * tm_B + b for tm_T positions of tm_B sequences (a
     * generation, a uniform batch); 0: the sequence-major rows of the batch. */
    int tm_B, tm_T;
} rt_policy_ws;

/* For policies of architecture cfg and up to max_rows contexts per pass.  Caller frees
 * with rt_policy_ws_free. */
int rt_policy_ws_create(rt_policy_ws **out, const rt_policy_config *cfg, int max_rows,
                        rt_diag *diag);
void rt_policy_ws_free(rt_policy_ws *ws);
/* Threads of score and backward (one hidden layer); default 1, at most
 * RT_POLICY_MAX_THREADS.  Bit-identical for every value: work is split into pieces
 * fixed by the data (blocks of rows, column slices), each computed as it is serially. */
void rt_policy_ws_set_threads(rt_policy_ws *ws, int threads);

/* One block of m <= 128 contexts ctx (m, K): activations into rows [arow, arow + m) of
 * the workspace, logits (m, V) into `logits`. */
void rt_mlp_forward_block(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int m, size_t arow,
                          float *logits);
/* Checks, layer-1 table refresh, ctx (n, K) copied to rows [row0, row0 + n) of ws->ctx
 * (nothing copied when ctx is already there). */
int rt_mlp_prepare(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0);
/* Forward of n contexts ctx (n, K) into workspace rows [row0, row0 + n), logits (n, V)
 * into `logits`, activations kept for rt_policy_backward. */
int rt_mlp_forward(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, int row0,
                   float *logits);
/* Scoring only: as rt_mlp_forward into rows [0, n), but the activations are not kept
 * (cache-sized blocks through a scratch area), so rt_policy_backward must not follow.
 * If y != NULL, also lp (n) = log_softmax(logits / temperature)[y]. */
int rt_mlp_score(const rt_policy *p, rt_policy_ws *ws, const int *ctx, int n, const int *y,
                 float temperature, float *lp, float *logits);
/* Backward from dlogits (n, V) through the kept rows [row0, row0 + n) of the last
 * forward (of the same weights), ACCUMULATING into p->params.g. */
int rt_policy_backward(rt_policy *p, rt_policy_ws *ws, const float *dlogits, int n, int row0);
/* rt_policy_backward with dfeat (n, H) (NULL: the same bits as rt_policy_backward) added to
 * the gradient of the last hidden activation act[layers - 1] (the trunk's features, the
 * model interface's features op).  dfeat is sequence-major: with ws->tm_B > 0 (time-major
 * kept rows, row t * tm_B + b) kept row r reads dfeat row (r % tm_B) * tm_T + r / tm_B;
 * otherwise row r (counted from row0). */
int rt_policy_backward_feat(rt_policy *p, rt_policy_ws *ws, const float *dlogits,
                            const float *dfeat, int n, int row0);

#endif
