/* rt_nn_attn.c: the transformer's layer pairs of rt_nn.h — LayerNorm and causal
 * multi-head self-attention — llm.c style (learned from train_gpt2.c's layernorm_* and
 * attention_*; written anew).  Every reduction over a row (LayerNorm's sums, the dot
 * products of queries, keys, values and gradients) runs in double over 8 fixed lanes
 * added pairwise (rt_lanes8_*, rt_nn_isa.h); sums over the keys (softmax's normalizer,
 * p . dp) and over the rows (dw, db, dv, dk, the weighted values) run left to right in
 * double or float as written.  So the bits do not depend on the ISA path, the thread
 * count or how many rows a call covers: the compiler vectorizes the lanes and the
 * elementwise loops (no reassociation: -ffp-contract=off, no fast-math).  Each function is compiled
 * once per SIMD path (rt_nn_isa.h): the same operations on every path.  Nothing here allocates. */
#include <math.h>
#include <string.h>

#include "rt_math.h"
#include "rt_nn.h"
#include "rt_nn_isa.h"

/* ---- LayerNorm ------------------------------------------------------------------ */

RT_ISA_FN_VOID(rt_nn_layernorm_forward,
               (float *out, float *mean, float *rstd, const float *inp, const float *w,
                const float *b, int N, int C),
               (out, mean, rstd, inp, w, b, N, C))
{
    /* out (N, C) = (inp - mu) * rstd * w + b, per row; mean, rstd (N) kept for backward */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = (float)(rt_lanes8_sum(x, C) / C);
        double v = rt_lanes8_sqdev(x, m, C);
        float rs = (float)(1.0 / sqrt(v / C + (double)RT_NN_LN_EPS));
        for (int i = 0; i < C; i++) {
            float nrm = (x[i] - m) * rs;
            o[i] = nrm * w[i] + b[i];
        }
        mean[n] = m, rstd[n] = rs;
    }
}

RT_ISA_FN_VOID(rt_nn_layernorm_backward,
               (float *dinp, float *dw, float *db, const float *dout, const float *inp,
                const float *w, const float *mean, const float *rstd, int N, int C),
               (dinp, dw, db, dout, inp, w, mean, rstd, N, C))
{
    /* with nrm_i = (x_i - mu) rstd and g_i = w_i dout_i:
     *   dx_i += rstd (g_i - mean_j g_j - nrm_i mean_j (g_j nrm_j));
     *   dw_i += nrm_i dout_i;  db_i += dout_i  (rows in order) */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], rs = rstd[n];
        double lg[8] = {0}, lgn[8] = {0}; /* rt_lanes8 order: lane j takes i = j mod 8 */
        int i0 = 0;
        for (; i0 + 8 <= C; i0 += 8)
            for (int j = 0; j < 8; j++) {
                float nrm = (x[i0 + j] - m) * rs;
                double g = (double)w[i0 + j] * dy[i0 + j];
                lg[j] += g;
                lgn[j] += g * nrm;
            }
        for (int j = 0; i0 + j < C; j++) {
            float nrm = (x[i0 + j] - m) * rs;
            double g = (double)w[i0 + j] * dy[i0 + j];
            lg[j] += g;
            lgn[j] += g * nrm;
        }
        double sg = rt_lanes8_fold(lg) / C, sgn = rt_lanes8_fold(lgn) / C;
        for (int i = 0; i < C; i++) {
            float nrm = (x[i] - m) * rs;
            double g = (double)w[i] * dy[i];
            if (dw) db[i] += dy[i], dw[i] += nrm * dy[i];
            dx[i] += (float)((g - sg - nrm * sgn) * rs);
        }
    }
}

/* ---- causal self-attention ------------------------------------------------------ */

RT_ISA_FN_VOID(rt_nn_attention_forward,
               (float *out, float *att, const float *qkv, int r0, int r1, int C, int NH,
                int stride),
               (out, att, qkv, r0, r1, C, NH, stride))
{
    /* one sequence: qkv (r1, 3C) = [q | k | v], head h at columns h*hs of each part;
     * rows i in [r0, r1): s_j = q_i . k_j / sqrt(hs) (j <= i), p = softmax(s) into
     * att (r1, NH, stride), out (r1, C) row i, head h = sum_j p_j v_j (j increasing) */
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    double acc[RT_NN_ATTN_MAX_HS], qd[RT_NN_ATTN_MAX_HS];
    for (int i = r0; i < r1; i++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)i * 3 * C + (size_t)h * hs;
            float *p = att + ((size_t)i * NH + h) * stride;
            float mx = -INFINITY;
            int j;
            for (int c = 0; c < hs; c++)
                qd[c] = q[c];
            for (j = 0; j <= i; j++) {
                const float *k = qkv + (size_t)j * 3 * C + C + (size_t)h * hs;
                p[j] = (float)(rt_lanes8_dotd(qd, k, hs) * scale);
            }
            for (j = 0; j <= i; j++)
                mx = p[j] > mx ? p[j] : mx;
            for (j = 0; j <= i; j++)
                p[j] = rt_expf_vec(p[j] - mx);
            double z = 0.0;
            for (j = 0; j <= i; j++)
                z += p[j];
            double inv = 1.0 / z;
            for (j = 0; j <= i; j++)
                p[j] = (float)(p[j] * inv);
            for (int c = 0; c < hs; c++)
                acc[c] = 0.0;
            for (int j = 0; j <= i; j++) {
                const float *v = qkv + (size_t)j * 3 * C + 2 * (size_t)C + (size_t)h * hs;
                for (int c = 0; c < hs; c++)
                    acc[c] += (double)p[j] * v[c];
            }
            float *o = out + (size_t)i * C + (size_t)h * hs;
            for (int c = 0; c < hs; c++)
                o[c] = (float)acc[c];
        }
}

RT_ISA_FN_VOID(rt_nn_attention_backward,
               (float *dqkv, const float *dout, const float *qkv, const float *att, int n, int C,
                int NH, int stride),
               (dqkv, dout, qkv, att, n, C, NH, stride))
{
    /* dqkv (n, 3C) += through rows i = 0..n-1 (in order), heads in order:
     *   dp_j = dout_i . v_j;  dv_j += p_j dout_i;  ds_j = p_j (dp_j - sum_k p_k dp_k);
     *   dq_i += ds_j k_j / sqrt(hs);  dk_j += ds_j q_i / sqrt(hs)  (j = 0..i) */
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    double dp[RT_NN_ATTN_MAX_CTX], dq[RT_NN_ATTN_MAX_HS];
    for (int i = 0; i < n; i++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)i * 3 * C + (size_t)h * hs;
            const float *p = att + ((size_t)i * NH + h) * stride;
            const float *dy = dout + (size_t)i * C + (size_t)h * hs;
            int j;
            for (j = 0; j <= i; j++) {
                const float *v = qkv + (size_t)j * 3 * C + 2 * (size_t)C + (size_t)h * hs;
                dp[j] = rt_lanes8_dot(dy, v, hs);
            }
            double spd = 0.0;
            for (j = 0; j <= i; j++) {
                float *dv = dqkv + (size_t)j * 3 * C + 2 * (size_t)C + (size_t)h * hs;
                for (int c = 0; c < hs; c++)
                    dv[c] += p[j] * dy[c];
                spd += p[j] * dp[j];
            }
            for (int c = 0; c < hs; c++)
                dq[c] = 0.0;
            for (j = 0; j <= i; j++) {
                const float *k = qkv + (size_t)j * 3 * C + C + (size_t)h * hs;
                float *dk = dqkv + (size_t)j * 3 * C + C + (size_t)h * hs;
                double ds = p[j] * (dp[j] - spd) * scale;
                for (int c = 0; c < hs; c++) {
                    dq[c] += ds * k[c];
                    dk[c] += (float)(ds * q[c]);
                }
            }
            float *dqi = dqkv + (size_t)i * 3 * C + (size_t)h * hs;
            for (int c = 0; c < hs; c++)
                dqi[c] += (float)dq[c];
        }
}
