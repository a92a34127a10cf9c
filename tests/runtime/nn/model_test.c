/* model_test.c: the model interface (rt_model.h) and its generic helpers, run against a
 * second, hand-written architecture — a bigram "model" whose logits at a position are
 * the row of a (V, V) table for the previous token — to show the interface is not
 * MLP-shaped: generation (with extend, and through forward passes without it),
 * log-probs, scoring at a temperature, cross-entropy and backward, KL, against
 * references computed here in double.  Then the MLP behind the interface: its generation
 * and training on the samples give the same bits (tokens, log-probs, logits, lognorms,
 * gradients) at 1 and 3 threads, lognorms and log-probs agree with the logits, and a
 * kept forward of the samples gives the generation's logits and gradient again; each
 * row of its ragged forward equals the forward of that row's context alone;
 * configurations as text; a bigram file is refused by name.  The trunk's features (mlp
 * with 1 and 2 layers, ReLU and GELU, and gpt): the unembedding's input row for row with
 * the logits, a generation's the same as a kept forward's, backward with dfeat NULL the
 * bits of rt_model_backward, the gradient of a function of the features by central
 * differences through the trunk, threads 1 and 2 the same bits; the bigram has none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fx_model.h"
#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_model_gpt.h"
#include "rt_nn.h"
#include "rt_policy.h"
#include "rt_rng.h"

/* ---- the bigram architecture -------------------------------------------------------- */

typedef struct {
    rt_model model; /* first */
    rt_params params;
} bigram;

typedef struct {
    int max_rows;
    int *prev;  /* (max_rows) the previous token of each kept row */
    float *ext; /* (max_rows, V) extend's output rows, by sequence */
} bigram_ws;

static const rt_model_key bigram_keys[1] = {{"smooth", 0, 0, 1, NULL, "unused setting"}};
static int bigram_smooth; /* the last config seen, to check config() round trips */

static int bg_check(int vocab, const int *cfg, char *msg, size_t cap)
{
    (void)vocab;
    if (cfg[0] == 0 || cfg[0] == 1) return 0;
    snprintf(msg, cap, "smooth must be 0 or 1");
    return RT_EINVAL;
}

static size_t bg_nparams(int vocab, const int *cfg)
{
    (void)cfg;
    return (size_t)vocab * vocab;
}

static int bg_create(rt_model **out, int vocab, const int *cfg);

static void bg_destroy(rt_model *m)
{
    bigram *b = (bigram *)m;
    rt_params_free(&b->params);
    rt_free(b);
}

static void bg_config(const rt_model *m, int *cfg)
{
    (void)m;
    cfg[0] = bigram_smooth;
}

static void bg_init(rt_model *m, const rt_rng *rng)
{
    rt_rng r = *rng;
    for (size_t i = 0; i < m->params->n; i++)
        m->params->w[i] = 1.5f * rt_rng_normal(&r);
}

static void bg_touch(rt_model *m)
{
    (void)m;
}

static int bg_ws_create(const rt_model *m, int max_rows, void **out)
{
    bigram_ws *w = rt_calloc(1, sizeof *w);
    if (w) {
        w->max_rows = max_rows;
        w->prev = rt_calloc((size_t)max_rows, sizeof(int));
        w->ext = rt_calloc((size_t)max_rows * m->vocab, sizeof(float));
    }
    if (!w || !w->prev || !w->ext) {
        if (w) rt_free(w->prev), rt_free(w->ext);
        rt_free(w);
        return RT_ENOMEM;
    }
    *out = w;
    return 0;
}

static void bg_ws_free(void *impl)
{
    bigram_ws *w = impl;
    rt_free(w->prev);
    rt_free(w->ext);
    rt_free(w);
}

static void bg_ws_set_threads(void *impl, int threads)
{
    (void)impl, (void)threads;
}

static int bg_forward(const rt_model *m, rt_model_ws *mws, const rt_model_batch *b, int keep,
                      float *out, float temperature, float *y_lp)
{
    bigram_ws *w = mws->impl;
    int V = m->vocab;
    long r = 0;
    for (int s = 0; s < b->B; s++) {
        const int *seq = b->tokens + (size_t)s * b->L;
        int lo = b->lo ? b->lo[s] : b->from, hi = b->lo ? b->hi[s] : b->L;
        for (int t = lo; t < hi; t++, r++) {
            int prev = t > 0 ? seq[t - 1] : RT_MODEL_PAD;
            memcpy(out + r * V, m->params->w + (size_t)prev * V, sizeof(float) * (size_t)V);
            if (keep) w->prev[r] = prev;
            if (y_lp) rt_nn_token_logprob(y_lp + r, out + r * V, &seq[t], 1, V, temperature);
        }
    }
    return 0;
}

static int bg_backward(rt_model *m, rt_model_ws *mws, const float *dl)
{
    bigram_ws *w = mws->impl;
    int V = m->vocab;
    for (int r = 0; r < mws->rows; r++)
        for (int v = 0; v < V; v++)
            m->params->g[(size_t)w->prev[r] * V + v] += dl[(size_t)r * V + v];
    return 0;
}

static int bg_decode_begin(const rt_model *m, rt_model_ws *ws, const rt_model_gen *g)
{
    (void)m, (void)ws, (void)g;
    return 0;
}

static const float *bg_extend(const rt_model *m, rt_model_ws *mws, const rt_model_gen *g, int b0,
                              int n, int t)
{
    bigram_ws *w = mws->impl;
    int V = m->vocab;
    for (int b = b0; b < b0 + n; b++) {
        int prev = t > 0 ? g->tokens[(size_t)b * g->T + t - 1]
                         : (g->P > 0 ? g->prompts[(size_t)b * g->P + g->P - 1] : RT_MODEL_PAD);
        memcpy(w->ext + (size_t)b * V, m->params->w + (size_t)prev * V, sizeof(float) * V);
        if (g->keep) w->prev[(size_t)b * g->T + t] = prev;
    }
    return w->ext + (size_t)b0 * V;
}

static const rt_model_ops bigram_ops = {
    .arch = "bigram",
    .keys = bigram_keys,
    .nkeys = 1,
    .check = bg_check,
    .nparams = bg_nparams,
    .create = bg_create,
    .destroy = bg_destroy,
    .config = bg_config,
    .init = bg_init,
    .touch = bg_touch,
    .ws_create = bg_ws_create,
    .ws_free = bg_ws_free,
    .ws_set_threads = bg_ws_set_threads,
    .forward = bg_forward,
    .backward = bg_backward,
    .decode_begin = bg_decode_begin,
    .extend = bg_extend,
};

/* the same architecture without incremental decoding */
static rt_model_ops bigram_noext_ops;

static int bg_create(rt_model **out, int vocab, const int *cfg)
{
    bigram *b = rt_calloc(1, sizeof *b);
    if (!b || rt_params_create(&b->params, (size_t)vocab * vocab)) {
        rt_free(b);
        *out = NULL;
        return RT_ENOMEM;
    }
    bigram_smooth = cfg[0];
    b->model.ops = &bigram_ops;
    b->model.params = &b->params;
    b->model.vocab = vocab;
    *out = &b->model;
    return 0;
}

enum { V = 7, B = 5, P = 3, T = 6 };

static rt_model *make_bigram(uint64_t seed, int extend)
{
    int cfg[1] = {0};
    rt_model *m;
    assert_int_equal(rt_model_create(&m, &bigram_ops, V, cfg, NULL), 0);
    rt_rng r = rt_rng_make(seed);
    rt_model_init(m, &r);
    if (!extend) m->ops = &bigram_noext_ops;
    return m;
}

/* log_softmax(W[prev] / tau)[y] in double */
static double ref_lp(const rt_model *m, int prev, int y, double tau)
{
    const float *x = m->params->w + (size_t)prev * V;
    double mx = -INFINITY, s = 0;
    for (int v = 0; v < V; v++)
        mx = x[v] / tau > mx ? x[v] / tau : mx;
    for (int v = 0; v < V; v++)
        s += exp(x[v] / tau - mx);
    return x[y] / tau - mx - log(s);
}

static void prompts_for(int *pr, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    for (int i = 0; i < B * P; i++)
        pr[i] = 1 + (int)rt_rng_below(&r, V - 1);
}

static int prev_of(const int *pr, const int *tok, int b, int t)
{
    return t > 0 ? tok[b * T + t - 1] : pr[b * P + P - 1];
}

/* ---- the generic helpers on the bigram ------------------------------------------------- */

static void bigram_generates_and_scores(void **state)
{
    (void)state;
    bigram_noext_ops = bigram_ops;
    bigram_noext_ops.extend = NULL;
    bigram_noext_ops.decode_begin = NULL;
    rt_model *m = make_bigram(1, 1), *mn = make_bigram(1, 0);
    rt_model_ws *ws, *wn;
    assert_int_equal(rt_model_ws_create(&ws, m, B * T, NULL), 0);
    assert_int_equal(rt_model_ws_create(&wn, mn, B * T, NULL), 0);
    int pr[B * P], tok[B * T], tok2[B * T];
    float lp[B * T], lp2[B * T];
    prompts_for(pr, 2);
    rt_rng rng = rt_rng_make(3);
    assert_int_equal(rt_model_generate(m, ws, pr, B, P, T, 1.0f, &rng, 0, tok, lp), 0);
    /* without extend: the same tokens, log-probs and kept logits */
    assert_int_equal(rt_model_generate(mn, wn, pr, B, P, T, 1.0f, &rng, 0, tok2, lp2), 0);
    assert_memory_equal(tok, tok2, sizeof tok);
    assert_memory_equal(lp, lp2, sizeof lp);
    assert_memory_equal(rt_model_ws_logits(ws), rt_model_ws_logits(wn), sizeof(float) * B * T * V);
    /* every token's log-prob at temperature 1, and the kept rows are (B, T) */
    int distinct = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int prev = prev_of(pr, tok, b, t), y = tok[b * T + t];
            assert_true(y >= 0 && y < V);
            distinct += y != tok[0];
            assert_true(fabs(lp[b * T + t] - ref_lp(m, prev, y, 1.0)) < 1e-5);
            assert_memory_equal(rt_model_ws_logits(ws) + (size_t)(b * T + t) * V,
                                m->params->w + (size_t)prev * V, sizeof(float) * V);
            double z = rt_model_ws_lognorm(ws)[b * T + t];
            assert_true(fabs(z - (m->params->w[prev * V + y] - ref_lp(m, prev, y, 1.0))) < 1e-5);
        }
    assert_true(distinct > 0); /* sampled, not constant */
    /* a batch generated in parts gives the same tokens */
    assert_int_equal(rt_model_generate(m, ws, pr, 2, P, T, 1.0f, &rng, 0, tok2, NULL), 0);
    assert_int_equal(
        rt_model_generate(m, ws, pr + 2 * P, 3, P, T, 1.0f, &rng, 2, tok2 + 2 * T, NULL), 0);
    assert_memory_equal(tok, tok2, sizeof tok);
    /* greedy: the argmax of the previous token's row */
    assert_int_equal(rt_model_generate(m, ws, pr, B, P, T, 0.0f, &rng, 0, tok, NULL), 0);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *x = m->params->w + (size_t)prev_of(pr, tok, b, t) * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (x[v] > x[best]) best = v;
            assert_int_equal(tok[b * T + t], best);
        }

    /* log-probs and scoring of a ragged batch: row order is sequence-major */
    int seq[2 * 8] = {3, 1, 4, 1, 5, 0, 0, 0, 2, 6, 5, 3, 5, 6, 2, 1};
    int lo[2] = {1, 0}, hi[2] = {5, 8};
    rt_model_batch rb = {seq, 2, 8, 0, lo, hi};
    assert_int_equal(rt_model_batch_rows(&rb), 12);
    float out[12], out2[12];
    assert_int_equal(rt_model_logprobs(m, ws, &rb, out), 0);
    assert_int_equal(rt_model_score(m, ws, &rb, 0.5f, out2), 0);
    int r = 0;
    for (int s = 0; s < 2; s++)
        for (int t = lo[s]; t < hi[s]; t++, r++) {
            int prev = t > 0 ? seq[s * 8 + t - 1] : 0;
            assert_true(fabs(out[r] - ref_lp(m, prev, seq[s * 8 + t], 1.0)) < 1e-5);
            assert_true(fabs(out2[r] - ref_lp(m, prev, seq[s * 8 + t], 0.5)) < 1e-5);
        }
    /* bad batches */
    int bad_hi[2] = {9, 8};
    rt_model_batch bb = {seq, 2, 8, 0, lo, bad_hi};
    assert_int_equal(rt_model_forward(m, ws, &bb), RT_EINVAL);
    seq[3] = V;
    assert_int_equal(rt_model_forward(m, ws, &rb), RT_EINVAL);
    seq[3] = 1;
    rt_model_batch big = {seq, 2, 8, 0, NULL, NULL};
    rt_model_ws *small;
    assert_int_equal(rt_model_ws_create(&small, m, 15, NULL), 0);
    assert_int_equal(rt_model_forward(m, small, &big), RT_ECAP);
    /* backward only after a kept pass */
    assert_int_equal(rt_model_score(m, ws, &rb, 1.0f, NULL), 0);
    assert_int_equal(rt_model_backward(m, ws, rt_model_ws_scratch(ws)), RT_EINVAL);
    rt_model_ws_free(small);
    rt_model_ws_free(ws), rt_model_ws_free(wn);
    rt_model_free(m), rt_model_free(mn);
}

static void bigram_trains(void **state)
{
    (void)state;
    rt_model *m = make_bigram(4, 1), *q = make_bigram(5, 1);
    rt_model_ws *ws, *wq;
    assert_int_equal(rt_model_ws_create(&ws, m, B * T, NULL), 0);
    assert_int_equal(rt_model_ws_create(&wq, q, B * T, NULL), 0);
    /* cross-entropy of a ragged batch: mean loss and (softmax - onehot) / n per row */
    int seq[2 * 6] = {1, 2, 3, 4, 5, 6, 6, 5, 4, 0, 0, 0};
    int lo[2] = {2, 1}, hi[2] = {6, 3};
    rt_model_batch rb = {seq, 2, 6, 0, lo, hi};
    int n = 6;
    double want_loss = 0, gref[V * V] = {0};
    for (int s = 0; s < 2; s++)
        for (int t = lo[s]; t < hi[s]; t++) {
            int prev = seq[s * 6 + t - 1], y = seq[s * 6 + t];
            want_loss -= ref_lp(m, prev, y, 1.0) / n;
            for (int v = 0; v < V; v++)
                gref[prev * V + v] += (exp(ref_lp(m, prev, v, 1.0)) - (v == y)) / n;
        }
    rt_model_zero_grad(m);
    float loss;
    assert_int_equal(rt_model_xent(m, ws, &rb, &loss), 0);
    assert_true(fabs(loss - want_loss) < 1e-5);
    for (int i = 0; i < V * V; i++)
        assert_true(fabs(m->params->g[i] - gref[i]) < 1e-6);
    /* the policy gradient on generated rows, without a second forward */
    int pr[B * P], tok[B * T];
    prompts_for(pr, 6);
    rt_rng rng = rt_rng_make(7);
    assert_int_equal(rt_model_generate(m, ws, pr, B, P, T, 1.0f, &rng, 0, tok, NULL), 0);
    float *dl = rt_model_ws_scratch(ws);
    for (int i = 0; i < B * T * V; i++)
        dl[i] = (float)(i % 11) - 5.0f;
    memset(gref, 0, sizeof gref);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int v = 0; v < V; v++)
                gref[prev_of(pr, tok, b, t) * V + v] += dl[(b * T + t) * V + v];
    rt_model_zero_grad(m);
    assert_int_equal(rt_model_backward(m, ws, dl), 0);
    for (int i = 0; i < V * V; i++)
        assert_true(m->params->g[i] == (float)gref[i]); /* small integers: exact */
    /* an Adam step changes the weights; a copy and an assignment carry them */
    rt_adam_config ac = rt_adam_defaults();
    rt_model_adam(m, &ac, NULL);
    rt_model *c;
    assert_int_equal(rt_model_copy(&c, m, NULL), 0);
    assert_memory_equal(c->params->w, m->params->w, sizeof(float) * V * V);
    assert_true(rt_model_same_arch(c, m));
    assert_int_equal(rt_model_assign(q, m), 0);
    assert_memory_equal(q->params->w, m->params->w, sizeof(float) * V * V);
    rt_model_free(c);
    rt_rng r8 = rt_rng_make(8);
    rt_model_init(q, &r8);
    /* exact KL and entropy over a uniform batch */
    rt_model_batch ub = {seq, 2, 6, 1, NULL, NULL};
    double kl, ent, kref = 0, eref = 0;
    assert_int_equal(rt_model_kl(m, ws, q, wq, &ub, &kl, &ent), 0);
    for (int s = 0; s < 2; s++)
        for (int t = 1; t < 6; t++) {
            int prev = seq[s * 6 + t - 1];
            for (int v = 0; v < V; v++) {
                double a = ref_lp(m, prev, v, 1.0), bq = ref_lp(q, prev, v, 1.0);
                kref += exp(a) * (a - bq) / 10, eref -= exp(a) * a / 10;
            }
        }
    assert_true(kl > 0.01 && fabs(kl - kref) < 1e-5 && fabs(ent - eref) < 1e-5);
    rt_model_ws_free(ws), rt_model_ws_free(wq);
    rt_model_free(m), rt_model_free(q);
}

/* ---- the MLP behind the interface ------------------------------------------------------ */

static rt_policy *make_mlp(int K, int H, int L, int act, uint64_t seed)
{
    return fx_mlp(V, K, 4, H, L, act, seed);
}

static void mlp_generation_and_training(void **state)
{
    (void)state;
    enum { BB = 150, TT = 4 }; /* more than one group of 128 sequences */
    static int t1[2][BB * TT];
    static float l1[2][BB * TT], lg1[2][BB * TT * V], lz1[2][BB * TT];
    static float *g1[2];
    for (int th = 1; th <= 3; th += 2)
        for (int L = 1; L <= 2; L++) {
            rt_policy *q = make_mlp(3, 20, L, L == 1 ? RT_NN_ACT_RELU : RT_NN_ACT_GELU, 9);
            rt_model_ws *mw = fx_ws(&q->model, BB * TT);
            rt_model_ws_set_threads(mw, th);
            static int pr[BB * P], t2[BB * TT];
            static float l2[BB * TT], dl[BB * TT * V];
            rt_rng r = rt_rng_make(10);
            for (int i = 0; i < BB * P; i++)
                pr[i] = 1 + (int)rt_rng_below(&r, V - 1);
            assert_int_equal(rt_model_generate(&q->model, mw, pr, BB, P, TT, 1.0f, &r, 0, t2, l2),
                             0);
            /* each kept row's lognorm and log-prob from its logits, in double */
            for (int i = 0; i < BB * TT; i++) {
                const float *lg = rt_model_ws_logits(mw) + (size_t)i * V;
                double mx = lg[0], se = 0;
                for (int v = 1; v < V; v++)
                    mx = lg[v] > mx ? lg[v] : mx;
                for (int v = 0; v < V; v++)
                    se += exp(lg[v] - mx);
                double lz = mx + log(se);
                assert_true(fabs(rt_model_ws_lognorm(mw)[i] - lz) < 1e-5 * (1 + fabs(lz)));
                assert_true(fabs(l2[i] - (lg[t2[i]] - lz)) < 1e-5 * (1 + fabs(lz)));
            }
            /* training on the samples */
            for (int i = 0; i < BB * TT * V; i++)
                dl[i] = 0.01f * (float)((i * 7) % 13 - 6);
            rt_model_zero_grad(&q->model);
            assert_int_equal(rt_model_backward(&q->model, mw, dl), 0);
            /* 3 threads: the same bits as 1 */
            int l = L - 1;
            if (th == 1) {
                memcpy(t1[l], t2, sizeof t2), memcpy(l1[l], l2, sizeof l2);
                memcpy(lg1[l], rt_model_ws_logits(mw), sizeof lg1[l]);
                memcpy(lz1[l], rt_model_ws_lognorm(mw), sizeof lz1[l]);
                g1[l] = malloc(sizeof(float) * q->params.n);
                memcpy(g1[l], q->params.g, sizeof(float) * q->params.n);
            } else {
                assert_memory_equal(t1[l], t2, sizeof t2);
                assert_memory_equal(l1[l], l2, sizeof l2);
                assert_memory_equal(lg1[l], rt_model_ws_logits(mw), sizeof lg1[l]);
                assert_memory_equal(lz1[l], rt_model_ws_lognorm(mw), sizeof lz1[l]);
                assert_memory_equal(g1[l], q->params.g, sizeof(float) * q->params.n);
                free(g1[l]);
            }
            static float g2[2][60000];
            assert_true(q->params.n <= 60000);
            memcpy(g2[l], q->params.g, sizeof(float) * q->params.n);
            /* a kept uniform forward of the samples: same logits, same gradient again */
            static int seq[BB * (P + TT)];
            for (int b = 0; b < BB; b++) {
                memcpy(seq + b * (P + TT), pr + b * P, sizeof(int) * P);
                memcpy(seq + b * (P + TT) + P, t2 + b * TT, sizeof(int) * TT);
            }
            rt_model_batch sb = {seq, BB, P + TT, P, NULL, NULL};
            static float keep[BB * TT * V];
            memcpy(keep, rt_model_ws_logits(mw), sizeof keep);
            assert_int_equal(rt_model_forward(&q->model, mw, &sb), 0);
            assert_memory_equal(keep, rt_model_ws_logits(mw), sizeof keep);
            rt_model_zero_grad(&q->model);
            assert_int_equal(rt_model_backward(&q->model, mw, dl), 0);
            assert_memory_equal(g2[l], q->params.g, sizeof(float) * q->params.n);
            /* scoring with token log-probs: the sampled tokens' log-probs (another
             * rounding path than sampling's: equal to a few ulps) */
            static float lps[BB * TT];
            assert_int_equal(rt_model_score(&q->model, mw, &sb, 1.0f, lps), 0);
            for (int i = 0; i < BB * TT; i++)
                assert_true(fabsf(lps[i] - l2[i]) <= 1e-6f * (1.0f + fabsf(l2[i])));
            rt_model_ws_free(mw);
            rt_policy_free(q);
        }
}

static void mlp_ragged_forward_is_contexts(void **state)
{
    (void)state;
    rt_policy *p = make_mlp(3, 12, 2, RT_NN_ACT_RELU, 11);
    int seq[2 * 6] = {1, 2, 3, 4, 5, 6, 6, 5, 4, 0, 0, 0};
    int lo[2] = {0, 1}, hi[2] = {6, 4};
    rt_model_batch rb = {seq, 2, 6, 0, lo, hi};
    rt_model_ws *mw = fx_ws(&p->model, 9), *one = fx_ws(&p->model, 1);
    assert_int_equal(rt_model_forward(&p->model, mw, &rb), 0);
    /* row n: the forward of its context alone (context ++ token, its last position) */
    int n = 0;
    for (int s = 0; s < 2; s++)
        for (int t = lo[s]; t < hi[s]; t++, n++) {
            int cs[4];
            fx_context(cs, seq + s * 6, t, 3);
            cs[3] = seq[s * 6 + t];
            rt_model_batch cb = {cs, 1, 4, 3, NULL, NULL};
            assert_int_equal(rt_model_forward(&p->model, one, &cb), 0);
            assert_memory_equal(rt_model_ws_logits(one), rt_model_ws_logits(mw) + n * V,
                                sizeof(float) * V);
        }
    assert_int_equal(n, 9);
    /* the rows of a second ragged forward are the first's */
    static float keep[9 * V];
    memcpy(keep, rt_model_ws_logits(mw), sizeof keep);
    assert_int_equal(rt_model_forward(&p->model, mw, &rb), 0);
    assert_memory_equal(keep, rt_model_ws_logits(mw), sizeof keep);
    /* another architecture's workspace is refused */
    rt_policy *o = make_mlp(3, 13, 2, RT_NN_ACT_RELU, 12);
    assert_int_equal(rt_model_forward(&o->model, mw, &rb), RT_ESHAPE);
    rt_model_ws_free(mw);
    rt_model_ws_free(one);
    rt_policy_free(p), rt_policy_free(o);
}

/* ---- configurations and files ---------------------------------------------------------- */

/* ---- the trunk's features (rt_model_features / rt_model_backward_features) ------------- */

/* a model of architecture arch ("mlp": layers, act; "gpt"), initialized from seed */
static rt_model *feat_model(const char *arch, const char *text, uint64_t seed)
{
    const rt_model_ops *ops = rt_model_arch(arch);
    assert_non_null(ops);
    int cfg[RT_MODEL_MAX_KEYS];
    rt_diag d = {0};
    assert_int_equal(rt_model_config_parse(ops, text, cfg, &d), 0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, V, cfg, &d), 0);
    rt_rng r = rt_rng_make(seed);
    rt_model_init(m, &r);
    if (!strcmp(arch, "gpt")) { /* larger weights: every gradient well above rounding */
        rt_rng e = rt_rng_make(seed + 1000);
        for (size_t i = 0; i < m->params->n; i++)
            m->params->w[i] += 0.3f * rt_rng_normal(&e);
        rt_model_touch(m);
    }
    return m;
}

/* f(h) = sum_rc a_rc h_rc + 0.5 sum_rc (h_rc)^2 / (rows C) in double, its gradient
 * df (rows, C) in float */
static double feat_fn(const float *h, const double *a, int n, float *df)
{
    double f = 0.0;
    for (int i = 0; i < n; i++) {
        f += a[i] * h[i] + 0.5 * h[i] * h[i] / n;
        if (df) df[i] = (float)(a[i] + h[i] / (double)n);
    }
    return f;
}

static void features_of_the_trunk(void **state)
{
    (void)state;
    enum { BB = 3, LL = 7, FROM = 2, R = BB * (LL - FROM) };
    const char *archs[][2] = {{"mlp", "context=3 embed=4 hidden=12 layers=1 act=gelu"},
                              {"mlp", "context=3 embed=4 hidden=12 layers=2 act=gelu"},
                              {"mlp", "context=3 embed=4 hidden=12 layers=1 act=relu"},
                              {"gpt", "layers=2 heads=2 width=8 context=16 mlp_ratio=2"}};
    int seq[BB * LL];
    rt_rng tr = rt_rng_make(77);
    for (int i = 0; i < BB * LL; i++)
        seq[i] = 1 + (int)rt_rng_below(&tr, V - 1);
    rt_model_batch b = {seq, BB, LL, FROM, NULL, NULL};
    for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
        rt_model *m = feat_model(archs[k][0], archs[k][1], 5 + k);
        int C = rt_model_feature_dim(m);
        assert_true(C > 0);
        rt_model_ws *ws = fx_ws(m, 64);
        float *h = calloc((size_t)R * C, sizeof *h), *df = calloc((size_t)R * C, sizeof *df);
        float *zero = calloc((size_t)R * C, sizeof *zero), *dl = calloc((size_t)R * V, sizeof *dl);
        double *a = calloc((size_t)R * C, sizeof *a);
        size_t np = m->params->n;
        float *g0 = calloc(np, sizeof *g0), *g1 = calloc(np, sizeof *g1);
        rt_rng ar = rt_rng_make(99);
        for (int i = 0; i < R * C; i++)
            a[i] = rt_rng_uniform(&ar) - 0.5;
        for (int i = 0; i < R * V; i++)
            dl[i] = 0.01f * (float)((i * 7) % 13 - 6);
        /* not kept yet: no features */
        assert_int_equal(rt_model_features(m, ws, h), RT_EINVAL);
        assert_int_equal(rt_model_forward(m, ws, &b), 0);
        assert_int_equal(rt_model_features(m, ws, h), 0);
        /* the features are the unembedding's input, row for row with the logits */
        const float *wo, *bo;
        int wo_vc; /* 1: wo (V, C) (mlp), 0: (C, V) (gpt) */
        if (!strcmp(archs[k][0], "mlp")) {
            const rt_policy *p = rt_policy_of_const(m);
            wo = p->p.wo, bo = p->p.bo, wo_vc = 1;
        } else {
            rt_gpt_views gv;
            assert_int_equal(rt_gpt_views_of(m, 0, &gv), 0);
            wo = gv.head_w, bo = gv.head_b, wo_vc = 0;
        }
        for (int r = 0; r < R; r++)
            for (int v = 0; v < V; v++) {
                double z = bo[v];
                for (int c = 0; c < C; c++)
                    z += (double)h[(size_t)r * C + c] *
                         (wo_vc ? wo[(size_t)v * C + c] : wo[(size_t)c * V + v]);
                float lg = rt_model_ws_logits(ws)[(size_t)r * V + v];
                assert_true(fabs(z - lg) < 1e-4 * (1.0 + fabs(z)));
            }
        /* dfeat NULL: the bits of rt_model_backward; dfeat 0: the same values */
        rt_model_zero_grad(m);
        assert_int_equal(rt_model_backward(m, ws, dl), 0);
        memcpy(g0, m->params->g, sizeof(float) * np);
        rt_model_zero_grad(m);
        assert_int_equal(rt_model_backward_features(m, ws, dl, NULL), 0);
        assert_memory_equal(g0, m->params->g, sizeof(float) * np);
        rt_model_zero_grad(m);
        assert_int_equal(rt_model_backward_features(m, ws, dl, zero), 0);
        for (size_t i = 0; i < np; i++)
            assert_true(g0[i] == m->params->g[i]);
        /* the gradient of f(features) alone (dlogits 0), threads 1 and 2 the same bits */
        memset(dl, 0, sizeof(float) * (size_t)R * V);
        feat_fn(h, a, R * C, df);
        for (int th = 1; th <= 2; th++) {
            rt_model_ws_set_threads(ws, th);
            assert_int_equal(rt_model_forward(m, ws, &b), 0);
            rt_model_zero_grad(m);
            assert_int_equal(rt_model_backward_features(m, ws, dl, df), 0);
            if (th == 1)
                memcpy(g1, m->params->g, sizeof(float) * np);
            else
                assert_memory_equal(g1, m->params->g, sizeof(float) * np);
        }
        /* central differences of f through the trunk, at parameters spread over the block
         * (embeddings first, the unembedding last: it does not feed the features, 0) */
        int checked = 0;
        for (size_t i = 0; i < np; i += np / 37 + 1) {
            float w0 = m->params->w[i];
            double eps = 1e-2 * (fabs(w0) > 1 ? fabs(w0) : 1), f[2];
            for (int s = 0; s < 2; s++) {
                m->params->w[i] = (float)(w0 + (s ? -eps : eps));
                rt_model_touch(m);
                assert_int_equal(rt_model_forward(m, ws, &b), 0);
                assert_int_equal(rt_model_features(m, ws, h), 0);
                f[s] = feat_fn(h, a, R * C, NULL);
            }
            m->params->w[i] = w0;
            rt_model_touch(m);
            double fd = (f[0] - f[1]) / (2 * eps), g = g1[i];
            if (fabs(fd - g) > 2e-3 + 2e-2 * fabs(g))
                fail_msg("%s %s: parameter %zu: backward %g, central difference %g", archs[k][0],
                         archs[k][1], i, g, fd);
            checked += fabs(g) > 1e-3;
        }
        assert_true(checked >= 10); /* most checked gradients are not 0 */
        /* a generation's features are those of a kept forward of its samples */
        {
            enum { GB = 4, GP = 2, GT = 3 };
            int pr[GB * GP], tok[GB * GT], s2[GB * (GP + GT)];
            for (int i = 0; i < GB * GP; i++)
                pr[i] = 1 + i % (V - 1);
            rt_rng gr = rt_rng_make(3);
            assert_int_equal(rt_model_generate(m, ws, pr, GB, GP, GT, 1.0f, &gr, 0, tok, NULL), 0);
            float hg[GB * GT * 16], hf[GB * GT * 16];
            assert_true(C <= 16);
            assert_int_equal(rt_model_features(m, ws, hg), 0);
            for (int s = 0; s < GB; s++) {
                memcpy(s2 + s * (GP + GT), pr + s * GP, sizeof(int) * GP);
                memcpy(s2 + s * (GP + GT) + GP, tok + s * GT, sizeof(int) * GT);
            }
            rt_model_batch gb = {s2, GB, GP + GT, GP, NULL, NULL};
            assert_int_equal(rt_model_forward(m, ws, &gb), 0);
            assert_int_equal(rt_model_features(m, ws, hf), 0);
            for (int i = 0; i < GB * GT * C; i++)
                assert_true(fabsf(hg[i] - hf[i]) <= 1e-5f * (1.0f + fabsf(hf[i])));
        }
        free(h), free(df), free(zero), free(dl), free(a), free(g0), free(g1);
        rt_model_ws_free(ws);
        rt_model_free(m);
    }
}

/* an architecture without features (the bigram): none, and a dfeat is refused */
static void bigram_has_no_features(void **state)
{
    (void)state;
    rt_model *m = make_bigram(1, 1);
    rt_model_ws *ws = fx_ws(m, 64);
    assert_int_equal(rt_model_feature_dim(m), 0);
    int seq[2 * 4] = {1, 2, 3, 4, 2, 3, 4, 5};
    rt_model_batch b = {seq, 2, 4, 1, NULL, NULL};
    assert_int_equal(rt_model_forward(m, ws, &b), 0);
    float out[64] = {0}, dl[6 * V] = {0};
    assert_int_equal(rt_model_features(m, ws, out), RT_EINVAL);
    assert_int_equal(rt_model_backward_features(m, ws, dl, out), RT_EINVAL);
    assert_int_equal(rt_model_backward_features(m, ws, dl, NULL), 0);
    rt_model_ws_free(ws);
    rt_model_free(m);
}

static void configs_as_text(void **state)
{
    (void)state;
    const rt_model_ops *mlp = rt_model_arch("mlp");
    assert_ptr_equal(mlp, &rt_model_mlp);
    assert_null(rt_model_arch("bigram")); /* not registered */
    int cfg[RT_MODEL_MAX_KEYS];
    char buf[256];
    rt_model_config_defaults(mlp, cfg);
    rt_model_config_format(mlp, cfg, buf, sizeof buf);
    assert_string_equal(buf, "context=8 embed=32 hidden=256 layers=2 act=relu");
    rt_diag d;
    assert_int_equal(rt_model_config_parse(mlp, "act=gelu  hidden=40\n", cfg, &d), 0);
    rt_model_config_format(mlp, cfg, buf, sizeof buf);
    assert_string_equal(buf, "context=8 embed=32 hidden=40 layers=2 act=gelu");
    struct {
        const char *text, *msg;
    } bad[] = {
        {"hidden=0", "mlp: hidden must be in 1..16384 (got '0')"},
        {"act=tanh", "mlp: act must be in 0..1 (got 'tanh')"},
        {"depth=2", "mlp: unknown setting 'depth'"},
        {"hidden=4 hidden=5", "mlp: setting 'hidden' given twice"},
        {"hidden", "mlp: expected key=value near 'hidden'"},
        {"hidden=4x", "mlp: hidden must be in 1..16384 (got '4x')"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rt_model_config_parse(mlp, bad[i].text, cfg, &d), RT_EINVAL);
        assert_string_equal(d.msg, bad[i].msg);
    }
    /* a model of an unregistered architecture saves, and its file is refused by name */
    rt_model *m = make_bigram(13, 1);
    char path[64];
    snprintf(path, sizeof path, "/tmp/rt_model_test_%d.bin", (int)getpid());
    assert_int_equal(rt_model_save(m, path, &d), 0);
    rt_model *l = (rt_model *)path;
    assert_int_equal(rt_model_load(&l, path, &d), RT_EINVAL);
    assert_null(l);
    assert_string_equal(strchr(d.msg, ' ') + 1, "unknown architecture 'bigram'");
    /* an MLP round-trips through rt_model_load */
    rt_policy *p = make_mlp(2, 5, 1, RT_NN_ACT_GELU, 14);
    assert_int_equal(rt_model_save(&p->model, path, &d), 0);
    assert_int_equal(rt_model_load(&l, path, &d), 0);
    assert_true(rt_model_same_arch(l, &p->model));
    assert_memory_equal(l->params->w, p->params.w, sizeof(float) * p->params.n);
    assert_non_null(rt_policy_of(l));
    assert_null(rt_policy_of(m));
    unlink(path);
    rt_model_free(l), rt_model_free(m);
    rt_policy_free(p);
}

static void allocation_failures(void **state)
{
    (void)state;
    rt_policy *p = make_mlp(3, 8, 1, RT_NN_ACT_RELU, 15);
    for (int which = 0; which < 2; which++) {
        int ok = 0;
        for (long n = 1; n < 40 && !ok; n++) {
            rt_model *c = NULL;
            rt_model_ws *ws = NULL;
            rt_diag d = {0};
            rt_alloc_fail_at(n);
            int rc = which == 0 ? rt_model_ws_create(&ws, &p->model, 16, &d)
                                : rt_model_copy(&c, &p->model, &d);
            rt_alloc_fail_at(0);
            if (rc == 0) {
                ok = 1;
            } else {
                assert_int_equal(rc, RT_ENOMEM);
                assert_int_equal(d.code, RT_ENOMEM);
                assert_null(c);
                assert_null(ws);
            }
            rt_model_free(c);
            rt_model_ws_free(ws);
        }
        assert_true(ok);
    }
    rt_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bigram_generates_and_scores),
        cmocka_unit_test(bigram_trains),
        cmocka_unit_test(mlp_generation_and_training),
        cmocka_unit_test(mlp_ragged_forward_is_contexts),
        cmocka_unit_test(features_of_the_trunk),
        cmocka_unit_test(bigram_has_no_features),
        cmocka_unit_test(configs_as_text),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
