/* fx_model.h: builders shared by the runtime tests that use models (header-only, on the
 * include path of every C test; needs cmocka and rt_nn): a seeded MLP, a workspace, a
 * left-padded context window, the batch of generated sequences, and the full softmax,
 * token log-probs and KL at a batch's positions through the model interface
 * (rt_model.h), for naive references.  Leaves out: tasks and runs (fx_train.h). */
#ifndef FX_MODEL_H
#define FX_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "rt_model.h"
#include "rt_nn.h"
#include "rt_policy.h"

/* An MLP of that shape, rt_policy_init from *init.  Caller frees. */
static inline rt_policy *fx_mlp_from(int V, int K, int D, int H, int L, int act, const rt_rng *init)
{
    rt_policy_config c = {V, K, D, H, L, act};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &c, NULL), 0);
    rt_policy_init(p, init);
    return p;
}

/* An MLP of that shape, rt_policy_init from rt_rng_make(seed).  Caller frees. */
static inline rt_policy *fx_mlp(int V, int K, int D, int H, int L, int act, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    return fx_mlp_from(V, K, D, H, L, act, &r);
}

/* An MLP of that shape (ReLU) with every weight zero, to set by hand or to stand for
 * its architecture.  Caller frees. */
static inline rt_policy *fx_mlp_zero(int V, int K, int D, int H, int L)
{
    rt_policy_config c = {V, K, D, H, L, RT_NN_ACT_RELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &c, NULL), 0);
    return p;
}

/* A workspace of m for `rows` rows.  Caller frees with rt_model_ws_free. */
static inline rt_model_ws *fx_ws(const rt_model *m, int rows)
{
    rt_model_ws *ws;
    assert_int_equal(rt_model_ws_create(&ws, m, rows, NULL), 0);
    return ws;
}

/* out (K) = seq[pos-K .. pos-1], RT_MODEL_PAD where the index is negative */
static inline void fx_context(int *out, const int *seq, int pos, int K)
{
    for (int i = 0; i < K; i++)
        out[i] = pos - K + i < 0 ? RT_MODEL_PAD : seq[pos - K + i];
}

/* The ragged batch of N generated sequences: sequence i = prompts[i / G] (P tokens) ++
 * tokens[i] (T), into seqs (N, P + T); its positions [P, P + len[i]) (len NULL: T) in
 * lo, hi (N): the generated tokens, sequence-major. */
static inline rt_model_batch fx_gen_batch(int *seqs, int *lo, int *hi, const int *prompts, int G,
                                          const int *tokens, const int *len, int N, int P, int T)
{
    for (int i = 0; i < N; i++) {
        memcpy(seqs + (size_t)i * (P + T), prompts + (size_t)(i / G) * P, sizeof(int) * P);
        memcpy(seqs + (size_t)i * (P + T) + P, tokens + (size_t)i * T, sizeof(int) * T);
        lo[i] = P, hi[i] = P + (len ? len[i] : T);
    }
    rt_model_batch b = {seqs, N, P + T, 0, lo, hi};
    return b;
}

/* probs (rows, V): softmax at temperature 1 of the batch's positions (a kept forward in
 * a workspace of its own) */
static inline void fx_probs(const rt_model *m, const rt_model_batch *b, float *probs)
{
    long n = rt_model_batch_rows(b);
    assert_true(n >= 0);
    rt_model_ws *ws = fx_ws(m, n > 0 ? (int)n : 1);
    assert_int_equal(rt_model_forward(m, ws, b), 0);
    int V = m->vocab;
    rt_nn_log_softmax(probs, rt_model_ws_logits(ws), (int)n, V, 1.0f);
    for (size_t i = 0; i < (size_t)n * V; i++)
        probs[i] = rt_nn_expf(probs[i]);
    rt_model_ws_free(ws);
}

/* lp (rows) = rt_model_logprobs of the batch (a workspace of its own) */
static inline void fx_logprobs(const rt_model *m, const rt_model_batch *b, float *lp)
{
    long n = rt_model_batch_rows(b);
    assert_true(n >= 0);
    rt_model_ws *ws = fx_ws(m, n > 0 ? (int)n : 1);
    assert_int_equal(rt_model_logprobs(m, ws, b, lp), 0);
    rt_model_ws_free(ws);
}

/* KL and entropy (rt_model_kl) over the batch (workspaces of their own) */
static inline void fx_kl(const rt_model *p, const rt_model *q, const rt_model_batch *b, double *kl,
                         double *ent)
{
    long n = rt_model_batch_rows(b);
    assert_true(n >= 0);
    rt_model_ws *wp = fx_ws(p, n > 0 ? (int)n : 1), *wq = fx_ws(q, n > 0 ? (int)n : 1);
    assert_int_equal(rt_model_kl(p, wp, q, wq, b, kl, ent), 0);
    rt_model_ws_free(wp);
    rt_model_ws_free(wq);
}

#endif
