/* fuzz_policy: the model/policy file loader (runtime/nn rt_model_io.c) and inference on
 * what it loads.  Input: byte 0 flags, the rest a policy file, loaded from memory with
 * rt_model_load_mem (the same checks and code as the file loader).  Flags:
 *   bit 0  set the payload-size field to the bytes that follow the header
 *   bit 1  recompute the FNV-1a checksum, so mutations get past it
 *   bit 2  run inference on what loaded (when it has at most 64 K parameters and a
 *          layer-1 table of at most 1 M floats): forward, token log-probs, generation
 *   bit 3  sampled generation (else greedy)
 * Invariants: a failed load returns NULL with a negative code equal to its diag's and a
 * terminated message; a loaded model is the MLP with a valid configuration whose
 * parameter count matches the payload; with finite weights and logits below 1e4 in
 * magnitude, each position's token log-probs are <= 0 and their exponentials sum to 1
 * (+-1e-3) over the vocabulary; generated tokens lie in [0, vocab); saving and loading
 * again gives the same configuration and bit-identical weights. */
#include <math.h>

#include "fuzz_common.h"
#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_policy.h"

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Header layout (rt_model_io.c): version 1: 52 bytes, payload size at 36, checksum at 44;
 * version 2: 20 + text + 16 bytes, text length at 16, payload size then checksum after
 * the text. */
static void fix_header(uint8_t *f, size_t n, int fix_size, int fix_sum)
{
    if (n < 20) return;
    uint32_t ver, tn;
    memcpy(&ver, f + 8, 4);
    memcpy(&tn, f + 16, 4);
    size_t ckoff;
    if (ver == 1)
        ckoff = 44;
    else if (tn >= 1 && tn <= 32768) /* versions 2 and 3 (3: metadata after the config) */
        ckoff = 20 + (size_t)tn + 8;
    else
        return;
    size_t hn = ckoff + 8;
    if (n < hn) return;
    if (fix_size) {
        uint64_t bytes = n - hn;
        memcpy(f + ckoff - 8, &bytes, 8);
    }
    if (fix_sum) {
        uint64_t h = fnv(fnv(0xcbf29ce484222325ULL, f, ckoff), f + hn, n - hn);
        memcpy(f + ckoff, &h, 8);
    }
}

static void infer(rt_model *m, uint8_t flags, const uint8_t *data, size_t size)
{
    const rt_policy_config *c = &rt_policy_of(m)->cfg;
    int V = c->vocab, K = c->context;
    if (rt_policy_nparams(c) > 65536 || (double)K * V * c->hidden > 1e6) return;
    rt_model_ws *ws = NULL;
    rt_diag d;
    enum { B = 8 }; /* B sequences of L tokens: one row each, the last position */
    int L = K + 1;
    FUZZ_CHECK(rt_model_ws_create(&ws, m, B, &d) == 0, "workspace: %s", d.msg);
    int *seq = calloc((size_t)B * L, sizeof *seq);
    for (int i = 0; i < B * L; i++)
        seq[i] = data[i % size] % V;
    rt_model_batch b = {seq, B, L, L - 1, NULL, NULL};
    FUZZ_CHECK(rt_model_forward(m, ws, &b) == 0, "forward");
    float *logits = malloc((size_t)B * V * sizeof *logits);
    memcpy(logits, rt_model_ws_logits(ws), (size_t)B * V * sizeof *logits);
    int finite_w = 1;
    for (size_t i = 0; i < m->params->n; i++)
        if (!isfinite(m->params->w[i])) finite_w = 0;
    /* every token at the last position in turn: the log-probs of each row's vocabulary */
    double *sum = calloc(B, sizeof *sum);
    float lp[B];
    for (int v = 0; v < V; v++) {
        for (int r = 0; r < B; r++)
            seq[(size_t)r * L + L - 1] = v;
        FUZZ_CHECK(rt_model_logprobs(m, ws, &b, lp) == 0, "logprobs");
        for (int r = 0; r < B; r++) {
            if (!isfinite(lp[r])) sum[r] = NAN;
            else {
                FUZZ_CHECK(lp[r] <= 1e-3f || !finite_w, "log-prob %g > 0", lp[r]);
                sum[r] += exp(lp[r]);
            }
        }
    }
    for (int r = 0; r < B && finite_w; r++) {
        /* exp(logit - lognorm) in float32: once |logits| pass ~1e4 the lognorm's log(sum)
         * is lost in rounding, so the sum is checked only below that */
        float big = 0;
        for (int v = 0; v < V; v++)
            if (fabsf(logits[(size_t)r * V + v]) > big) big = fabsf(logits[(size_t)r * V + v]);
        if (big < 1e4f && isfinite(sum[r]))
            FUZZ_CHECK(fabs(sum[r] - 1) < 1e-3, "probabilities sum to %g", sum[r]);
    }
    enum { GB = 2, P = 3, T = 4 };
    int prompts[GB * P], tokens[GB * T];
    float tlp[GB * T];
    for (int i = 0; i < GB * P; i++)
        prompts[i] = data[(i * 5) % size] % V;
    rt_rng rng = rt_rng_make(data[size - 1]);
    FUZZ_CHECK(rt_model_generate(m, ws, prompts, GB, P, T, (flags & 8) ? 1.0f : 0.0f, &rng, 0,
                                 tokens, tlp) == 0,
               "generate");
    for (int i = 0; i < GB * T; i++)
        FUZZ_CHECK(tokens[i] >= 0 && tokens[i] < V, "token %d of vocab %d", tokens[i], V);
    free(sum);
    free(logits);
    free(seq);
    rt_model_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    uint8_t flags = data[0];
    size_t n = size - 1;
    uint8_t *f = malloc(n ? n : 1);
    memcpy(f, data + 1, n);
    fix_header(f, n, flags & 1, flags & 2);

    rt_model *m = NULL;
    rt_diag d;
    memset(&d, 0, sizeof d);
    int rc = rt_model_load_mem(&m, f, n, &d);
    if (rc) {
        FUZZ_CHECK(rc < 0 && d.code == rc && !m, "rc %d code %d", rc, d.code);
        FUZZ_CHECK(fuzz_cstr_ok(d.msg, sizeof d.msg) && d.msg[0], "message");
        free(f);
        return 0;
    }
    rt_policy *p = rt_policy_of(m);
    FUZZ_CHECK(p, "loaded a model that is not the MLP");
    FUZZ_CHECK(rt_policy_config_check(&p->cfg, NULL) == 0, "invalid configuration loaded");
    FUZZ_CHECK(rt_policy_nparams(&p->cfg) * sizeof(float) <= n, "payload larger than the file");
    if ((flags & 4) && n) infer(m, flags, data + 1, n);

    void *out = NULL;
    size_t on = 0;
    FUZZ_CHECK(rt_model_save_mem(m, &out, &on, &d) == 0, "save: %s", d.msg);
    rt_model *q = NULL;
    FUZZ_CHECK(rt_model_load_mem(&q, out, on, &d) == 0, "reload: %s", d.msg);
    const rt_policy *pq = rt_policy_of(q);
    FUZZ_CHECK(pq && rt_policy_same_shape(&p->cfg, &pq->cfg) && p->cfg.act == pq->cfg.act,
               "shape");
    FUZZ_CHECK(memcmp(m->params->w, q->params->w, m->params->n * sizeof(float)) == 0,
               "weights changed by save + load");
    rt_model_free(q);
    rt_free(out);
    rt_model_free(m);
    free(f);
    return 0;
}
