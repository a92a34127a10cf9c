/* gpt_attn_test.c: the attention view of the `gpt` architecture (rt_model_gpt.h:
 * rt_gpt_attention, rt_gpt_ws_attention).
 *
 * - Rows are distributions: every entry >= 0, entries above the diagonal exactly 0, row 0
 *   exactly [1], and |sum_j p_ij - 1| <= 2^-23: each p_j is the float rounding of a
 *   double quotient (relative error <= 2^-24, so the sum is off by <= 2^-24 sum p_j) plus
 *   the double normalizer's ~1e-16; 2^-23 leaves a factor 2.
 * - Layer 0 against a double reference written here (embeddings, LayerNorm, the qkv
 *   product, softmax(q k / sqrt(hs))): weights N(0, 0.02) + N(0, 0.5) make scores of
 *   |s| < ~30 whose float rounding (a few 1e-6 relative) moves a probability by < 1e-4
 *   (absolute tolerance; max error seen ~1e-6).
 * - Bits: rt_gpt_attention (one sequence alone) == the att rows a batched forward keeps
 *   (rt_gpt_ws_attention) for every sequence of the batch, at 1 and 2 threads, and == the
 *   rows a KV-cache generation keeps; two calls give the same bits; every RLHF_ISA path
 *   (rt_nn_set_isa) gives the portable path's bits.
 * - Errors: another architecture, L > context, a token outside the vocabulary, a
 *   sequence outside the last pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_model_gpt.h"
#include "rt_nn.h"
#include "rt_rng.h"

enum { V = 9, NL = 2, NH = 2, C = 16, CTX = 12 };

static rt_model *model(const char *arch, const char *cfgtext, uint64_t seed, float extra)
{
    const rt_model_ops *ops = rt_model_arch(arch);
    assert_non_null(ops);
    int cfg[RT_MODEL_MAX_KEYS];
    rt_diag d = {0};
    assert_int_equal(rt_model_config_parse(ops, cfgtext, cfg, &d), 0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), 0);
    rt_rng r = rt_rng_make(seed);
    rt_model_init(m, &r);
    if (extra > 0) { /* larger weights: peaked, unequal attention */
        rt_rng e = rt_rng_make(seed + 1000);
        for (size_t i = 0; i < m->params->n; i++)
            m->params->w[i] += extra * rt_rng_normal(&e);
        rt_model_touch(m);
    }
    return m;
}

static rt_model *gpt(uint64_t seed)
{
    return model("gpt", "layers=2 heads=2 width=16 context=12 mlp_ratio=2", seed, 0.5f);
}

static void tokens_of(int *t, int n, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < n; i++)
        t[i] = 1 + (int)(rt_rng_uniform(&r) * (V - 1)) % (V - 1);
}

static size_t att_size(int L)
{
    return (size_t)NL * NH * L * L;
}

static void rows_are_distributions(void **state)
{
    (void)state;
    rt_model *m = gpt(3);
    int tok[CTX];
    for (int n = 0; n < CTX; n++) {
        int L = n + 1;
        tokens_of(tok, n, 40 + n);
        float *att = rt_calloc(att_size(L), sizeof *att);
        rt_diag d = {0};
        assert_int_equal(rt_gpt_attention(m, tok, n, att, &d), 0);
        double worst = 0, maxp = 0;
        for (int lh = 0; lh < NL * NH; lh++)
            for (int i = 0; i < L; i++) {
                const float *p = att + ((size_t)lh * L + i) * L;
                double s = 0;
                for (int j = 0; j < L; j++) {
                    if (j > i) {
                        assert_true(p[j] == 0.0f);
                        continue;
                    }
                    assert_true(p[j] >= 0.0f && p[j] <= 1.0f);
                    s += p[j];
                    maxp = p[j] > maxp && i > 0 ? p[j] : maxp;
                }
                if (i == 0) assert_true(p[0] == 1.0f);
                worst = fabs(s - 1) > worst ? fabs(s - 1) : worst;
            }
        assert_true(worst <= 0x1p-23);
        if (n > 4) assert_true(maxp > 0.5); /* the weights make some head peaked */
        rt_free(att);
    }
    rt_model_free(m);
}

/* layer 0 in double from the weights: x = wte[u] + wpe[i], LN1, qkv, causal softmax */
static void layer0_ref(rt_model *m, const int *tok, int n, double *ref)
{
    rt_gpt_views w;
    assert_int_equal(rt_gpt_views_of(m, 0, &w), 0);
    int L = n + 1, hs = C / NH;
    double *qkv = calloc((size_t)L * 3 * C, sizeof *qkv);
    for (int i = 0; i < L; i++) {
        int u = i ? tok[i - 1] : RT_MODEL_PAD;
        double x[C], ln[C], mu = 0, var = 0;
        for (int c = 0; c < C; c++)
            x[c] = (double)w.wte[u * C + c] + w.wpe[i * C + c], mu += x[c];
        mu /= C;
        for (int c = 0; c < C; c++)
            var += (x[c] - mu) * (x[c] - mu);
        double rs = 1 / sqrt(var / C + 1e-5);
        for (int c = 0; c < C; c++)
            ln[c] = (x[c] - mu) * rs * w.l[0].ln1_w[c] + w.l[0].ln1_b[c];
        for (int o = 0; o < 3 * C; o++) {
            double s = w.l[0].qkv_b[o];
            for (int c = 0; c < C; c++)
                s += ln[c] * w.l[0].qkv_w[c * 3 * C + o];
            qkv[i * 3 * C + o] = s;
        }
    }
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < L; i++) {
            double s[CTX], mx = -1e300, z = 0;
            for (int j = 0; j <= i; j++) {
                s[j] = 0;
                for (int c = 0; c < hs; c++)
                    s[j] += qkv[i * 3 * C + h * hs + c] * qkv[j * 3 * C + C + h * hs + c];
                s[j] /= sqrt((double)hs);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int j = 0; j <= i; j++)
                z += exp(s[j] - mx);
            for (int j = 0; j < L; j++)
                ref[((size_t)h * L + i) * L + j] = j <= i ? exp(s[j] - mx) / z : 0;
        }
    free(qkv);
}

static void layer0_matches_reference(void **state)
{
    (void)state;
    rt_model *m = gpt(5);
    int tok[CTX], n = CTX - 1, L = CTX;
    tokens_of(tok, n, 77);
    float *att = rt_calloc(att_size(L), sizeof *att);
    double *ref = calloc((size_t)NH * L * L, sizeof *ref);
    assert_int_equal(rt_gpt_attention(m, tok, n, att, NULL), 0);
    layer0_ref(m, tok, n, ref);
    double worst = 0;
    for (size_t k = 0; k < (size_t)NH * L * L; k++) /* layer 0 is the first NH L L */
        worst = fabs(att[k] - ref[k]) > worst ? fabs(att[k] - ref[k]) : worst;
    assert_true(worst < 1e-4);
    free(ref);
    rt_free(att);
    rt_model_free(m);
}

static void same_bits_as_batched_forward_and_generation(void **state)
{
    (void)state;
    rt_model *m = gpt(7);
    enum { B = 3, LB = 10 };
    int seqs[B * LB];
    tokens_of(seqs, B * LB, 91);
    for (int th = 1; th <= 2; th++) {
        rt_model_ws *ws = NULL;
        assert_int_equal(rt_model_ws_create(&ws, m, B * LB, NULL), 0);
        rt_model_ws_set_threads(ws, th);
        rt_model_batch b = {.tokens = seqs, .B = B, .L = LB, .from = 0};
        assert_int_equal(rt_model_forward(m, ws, &b), 0);
        for (int s = 0; s < B; s++) {
            int L = 0;
            assert_int_equal(rt_gpt_ws_attention(ws, s, NULL, &L), 0);
            assert_int_equal(L, LB); /* PAD, then seqs[s][0 .. LB - 1) */
            float *a = rt_calloc(att_size(L), sizeof *a), *o = rt_calloc(att_size(L), sizeof *o);
            memset(a, 0x7f, att_size(L) * sizeof *a); /* every entry is written */
            assert_int_equal(rt_gpt_ws_attention(ws, s, a, NULL), 0);
            assert_int_equal(rt_gpt_attention(m, seqs + s * LB, LB - 1, o, NULL), 0);
            assert_memory_equal(a, o, att_size(L) * sizeof *a);
            assert_int_equal(rt_gpt_attention(m, seqs + s * LB, LB - 1, a, NULL), 0);
            assert_memory_equal(a, o, att_size(L) * sizeof *a);
            rt_free(a);
            rt_free(o);
        }
        assert_int_equal(rt_gpt_ws_attention(ws, B, NULL, NULL), RT_EINVAL);
        assert_int_equal(rt_gpt_ws_attention(ws, -1, NULL, NULL), RT_EINVAL);
        /* a KV-cache generation keeps rows PAD, prompt, tokens[0 .. T - 1) */
        enum { P = 4, T = 5 };
        int prompts[B * P], gen[B * T], seq[P + T];
        tokens_of(prompts, B * P, 13);
        rt_rng r = rt_rng_make(2);
        assert_int_equal(rt_model_generate(m, ws, prompts, B, P, T, 1.0f, &r, 0, gen, NULL), 0);
        for (int s = 0; s < B; s++) {
            int L = 0;
            assert_int_equal(rt_gpt_ws_attention(ws, s, NULL, &L), 0);
            assert_int_equal(L, P + T);
            memcpy(seq, prompts + s * P, sizeof(int) * P);
            memcpy(seq + P, gen + s * T, sizeof(int) * (T - 1));
            float *a = rt_calloc(att_size(L), sizeof *a), *o = rt_calloc(att_size(L), sizeof *o);
            assert_int_equal(rt_gpt_ws_attention(ws, s, a, NULL), 0);
            assert_int_equal(rt_gpt_attention(m, seq, P + T - 1, o, NULL), 0);
            assert_memory_equal(a, o, att_size(L) * sizeof *a);
            rt_free(a);
            rt_free(o);
        }
        rt_model_ws_free(ws);
    }
    rt_model_free(m);
}

static void isa_paths_same_bits(void **state)
{
    (void)state;
    rt_model *m = gpt(11);
    int tok[CTX - 1], n = CTX - 1, L = CTX, isa0 = rt_nn_isa();
    tokens_of(tok, n, 5);
    float *a = rt_calloc(att_size(L), sizeof *a), *b = rt_calloc(att_size(L), sizeof *b);
    assert_int_equal(rt_nn_set_isa(RT_NN_MM_PORTABLE), 0);
    assert_int_equal(rt_gpt_attention(m, tok, n, a, NULL), 0);
    for (int isa = 1; isa <= rt_nn_isa_best(); isa++) {
        assert_int_equal(rt_nn_set_isa(isa), 0);
        assert_int_equal(rt_gpt_attention(m, tok, n, b, NULL), 0);
        assert_memory_equal(a, b, att_size(L) * sizeof *a);
    }
    rt_nn_set_isa(isa0);
    rt_free(a);
    rt_free(b);
    rt_model_free(m);
}

static void errors(void **state)
{
    (void)state;
    rt_model *g = gpt(9);
    rt_model *mlp = model("mlp", "context=4 embed=8 hidden=16 layers=1", 9, 0);
    float att[NL * NH * CTX * CTX];
    int tok[CTX + 1] = {1, 2, 3};
    rt_diag d = {0};
    assert_int_equal(rt_gpt_attention(mlp, tok, 3, att, &d), RT_EINVAL);
    assert_string_equal(d.msg, "attention: the model is mlp, not gpt");
    assert_int_equal(rt_gpt_attention(g, tok, CTX, att, &d), RT_EINVAL);
    assert_string_equal(d.msg, "attention: 12 tokens need 13 positions (BOS first); context = 12");
    tok[1] = V;
    assert_int_equal(rt_gpt_attention(g, tok, 3, att, &d), RT_EINVAL);
    assert_string_equal(d.msg, "attention: token 1 is 9, outside 0..8");
    tok[1] = 2;
    assert_int_equal(rt_gpt_attention(g, tok, -1, att, &d), RT_EINVAL);
    /* n = CTX - 1 fits; n = 0 is BOS alone: [1] per head */
    assert_int_equal(rt_gpt_attention(g, tok, 0, att, &d), 0);
    for (int k = 0; k < NL * NH; k++)
        assert_true(att[k] == 1.0f);
    rt_model_ws *ws = NULL;
    assert_int_equal(rt_model_ws_create(&ws, mlp, 4, NULL), 0);
    assert_int_equal(rt_gpt_ws_attention(ws, 0, NULL, NULL), RT_EINVAL);
    rt_model_ws_free(ws);
    assert_int_equal(rt_model_ws_create(&ws, g, 4, NULL), 0);
    assert_int_equal(rt_gpt_ws_attention(ws, 0, NULL, NULL), RT_EINVAL); /* no pass yet */
    rt_model_ws_free(ws);
    rt_model_free(mlp);
    rt_model_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_distributions),
        cmocka_unit_test(layer0_matches_reference),
        cmocka_unit_test(same_bits_as_batched_forward_and_generation),
        cmocka_unit_test(isa_paths_same_bits),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
