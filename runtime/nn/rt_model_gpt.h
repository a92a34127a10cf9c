/* rt_model_gpt: the `gpt` architecture, a decoder-only transformer in the GPT-2 layout
 * of ../shared/bench/opd_gpt_torch.py, behind the model interface (rt_model.h).
 *
 *   inputs u_0 = PAD (as BOS), u_i = tokens[i-1]:  position t's logits are the output at
 *   input t (inputs 0..t), so they score tokens[t] from tokens[0..t) (rt_model.h's
 *   convention); a pass over L tokens needs L <= context (RT_EINVAL otherwise).
 *   x = wte (V, C)[u_i] + wpe (context, C)[i]
 *   layers x [ x += proj(attn(LN1(x)));  x += fc2(gelu_tanh(fc(LN2(x)))) ]
 *     qkv Linear(C, 3C) fused (q | k | v, heads of C/NH columns), causal softmax(q k^T /
 *     sqrt(C/NH)) v per head, proj Linear(C, C), fc Linear(C, R*C), fc2 Linear(R*C, C),
 *     all with bias; LayerNorm eps 1e-5 with weight and bias
 *   logits = head (Linear(C, V), bias, untied) of LN_f(x)
 * Prompts are left-padded with PAD and PADs are ordinary inputs: no mask beyond
 * causality (a padded prompt is a different input than the bare one).
 *
 * Keys (ints): layers 1..12 (2), heads 1..16 (4), width C 8..512 (64, a multiple of
 * heads), context 2..256 (32), mlp_ratio R 1..8 (4), dropout 0..0 (0: determinism).
 *
 * Parameter block (rt_params, in this order; Linear weights stored (in, out), the
 * transpose of torch's weight, so that the forward's product reads them as they are):
 *   wte (V, C), wpe (context, C), then per layer: ln1_w (C), ln1_b (C), qkv_w (C, 3C),
 *   qkv_b (3C), proj_w (C, C), proj_b (C), ln2_w (C), ln2_b (C), fc_w (C, RC), fc_b (RC),
 *   fc2_w (RC, C), fc2_b (C); then lnf_w (C), lnf_b (C), head_w (C, V), head_b (V).
 * Init (GPT-2): weights N(0, 0.02), proj_w and fc2_w N(0, 0.02 / sqrt(2 layers)), biases
 * 0, LayerNorm weights 1; tensor number i of the list above (0-based, biases and
 * LayerNorm counted) draws from rt_rng_split(rng, i), element by element in order.
 *
 * Numerics: linear layers through rt_nn_mm (the runtime's GEMM: one fma chain per
 * element from the bias, so a row's bits do not depend on how many rows a call covers
 * or their stride); backward's dX through rt_nn_sgemm; LayerNorm and
 * attention in rt_nn_attn.c (left-to-right double sums); GELU is rt_nn_act_*'s tanh form.
 * The KV cache (decode_begin / extend) keeps every activation row of the sequence and
 * computes each new row with the same functions as a full pass, so its logits equal a
 * full forward's bit for bit, and a generation keeps its rows for backward directly
 * (no second forward).  Threads (rt_model_ws_set_threads) take whole sequences (j, j +
 * nth, ...) in forward passes; in backward, rows of dX, columns of dW and sequences of
 * attention, with every weight-gradient element summed over the rows in order (and
 * LayerNorm's dw, db on the calling thread): the same bits at any count.
 *
 * Ownership and errors: a model comes from rt_model_create(rt_model_arch("gpt"), ...) (or
 * copy / load) and is freed by rt_model_free; passes never modify it.  A pass whose
 * sequence needs more than `context` positions, or a generation with P + T > context,
 * is RT_EINVAL; a workspace that cannot grow is RT_ENOMEM (the next pass retries).

 * Memory: the workspace keeps every input row of a pass (positions before `lo` too):
 * about (16 C + NH context + 4) floats per row per layer; it grows on the first pass
 * that needs more rows (an allocation then; none after for the same shapes).
 *
 * Learning `add digits=2` (tests/runtime/train/sft_slow_test.c): layers 2, heads 4, width
 * 64, context 32, SFT with rt_sft's defaults (batch 256, lr 1e-3, clip 1) and noise 0
 * reaches held-out greedy accuracy >= 0.5 by step 1000 and >= 0.9 at step 2000
 * (measured 0.679 and 0.965; the MLP of rt_sft.h gets 0.96 in 1000 steps); about 45 s
 * on one core of the build machine.  With noise 0.6, 1000 steps give an imperfect base
 * near 0.70 (notebooks/transformer-policies.ipynb).
 *
 * Attention view (rt_gpt_attention, rt_gpt_ws_attention): the softmax probabilities a
 * forward pass computed and keeps (the `att` rows rt_nn_attention_forward wrote), copied
 * out as (layers, heads, L, L): row i = query input i, column j = key input j, entries
 * above the diagonal 0, each row's entries j <= i the float softmax of that row (their
 * sum is 1 up to float rounding: |sum - 1| <= 2^-24 sum p_j plus the double
 * normalizer's ~1e-16, each p_j = (float)(e_j / z) being off by <= 2^-24 relative).
 * The same bits as the training forward's whatever the batch or thread count, since
 * they are that forward's rows.
 *
 * Leaves out: dropout, tied embeddings, masks for PAD, attention beyond `context`. */
#ifndef RT_MODEL_GPT_H
#define RT_MODEL_GPT_H

#include "rt_model.h"

#define RT_GPT_MAX_LAYERS 12

extern const rt_model_ops rt_model_gpt;

enum {
    RT_GPT_LAYERS,
    RT_GPT_HEADS,
    RT_GPT_WIDTH,
    RT_GPT_CONTEXT,
    RT_GPT_MLP_RATIO,
    RT_GPT_DROPOUT,
    RT_GPT_NKEYS
};

typedef struct rt_gpt_layer {
    float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    float *ln2_w, *ln2_b, *fc_w, *fc_b, *fc2_w, *fc2_b;
} rt_gpt_layer;

/* Named views into the block (weights or gradients). */
typedef struct rt_gpt_views {
    float *wte, *wpe;
    rt_gpt_layer l[RT_GPT_MAX_LAYERS];
    float *lnf_w, *lnf_b, *head_w, *head_b;
} rt_gpt_views;

/* The views of a gpt model's weights (grad = 0) or gradients (grad != 0); 0, or
 * RT_EINVAL when m is of another architecture. */
int rt_gpt_views_of(rt_model *m, int grad, rt_gpt_views *out);

/* The attention probabilities of sequence s of the last forward pass (or generation) on
 * ws, a workspace of a gpt model: its L input rows (L = the sequence's hi: PAD as BOS,
 * then tokens[0 .. hi - 1)), into att (layers, heads, L, L) (see the top comment); *L
 * receives L (may be NULL; att may be NULL to ask only for L).  RT_EINVAL for a workspace
 * of another architecture, s outside the last pass, or a sequence without rows. */
int rt_gpt_ws_attention(const rt_model_ws *ws, int s, float *att, int *L);

/* The attention of one token sequence tokens (n >= 0 tokens in 0..V-1) through m: one
 * forward pass (rt_model_score on a workspace of its own, one thread) of the inputs
 * PAD, tokens[0], ..., tokens[n - 1], L = n + 1 rows, into att (layers, heads, L, L).
 * RT_EINVAL (with d) for a model of another architecture, L > context or a token outside
 * the vocabulary; RT_ENOMEM. */
int rt_gpt_attention(const rt_model *m, const int *tokens, int n, float *att, rt_diag *d);

#endif
