/* fuzz_policy: the model/policy file loader (runtime/nn rt_model_io.c) and inference on
 * what it loads.  Input: byte 0 flags, the rest a policy file, written to a file in
 * /dev/shm (the loader reads files only) and loaded with rt_model_load.  Flags:
 *   bit 0  set the payload-size field to the bytes that follow the header
 *   bit 1  recompute the FNV-1a checksum, so mutations get past it
 *   bit 2  run inference on what loaded (when it has at most 64 K parameters and a
 *          layer-1 table of at most 1 M floats): forward, probs, logprobs, generate
 *   bit 3  sampled generation (else greedy)
 * Invariants: a failed load returns NULL with a negative code equal to its diag's and a
 * terminated message; a loaded model is the MLP with a valid configuration whose
 * parameter count matches the payload; probs lie in [0, 1] and sum to 1 (+-1e-3) when the
 * weights are finite and the logits below 1e4 in magnitude; generated tokens lie in [0, vocab);
 * saving and loading again gives the same configuration and bit-identical weights. */
#include <math.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "rt_policy.h"

static char path_in[64], path_out[64];

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
    else if (tn >= 1 && tn <= 1024)
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

static void infer(const rt_policy *p, uint8_t flags, const uint8_t *data, size_t size)
{
    const rt_policy_config *c = &p->cfg;
    int V = c->vocab, K = c->context;
    if (rt_policy_nparams(c) > 65536 || (double)K * V * c->hidden > 1e6) return;
    rt_policy_ws *ws = NULL;
    rt_diag d;
    const int rows = 8;
    FUZZ_CHECK(rt_policy_ws_create(&ws, c, rows, &d) == 0, "workspace: %s", d.msg);
    int *ctx = calloc((size_t)rows * K, sizeof *ctx);
    int *y = calloc(rows, sizeof *y);
    for (int i = 0; i < rows * K; i++)
        ctx[i] = data[i % size] % V;
    for (int i = 0; i < rows; i++)
        y[i] = (data[(i * 3) % size] + i) % V;
    FUZZ_CHECK(rt_policy_forward(p, ws, ctx, rows, 0) == 0, "forward");
    float *probs = malloc((size_t)rows * V * sizeof *probs);
    FUZZ_CHECK(rt_policy_probs(p, ws, ctx, rows, probs) == 0, "probs");
    int finite_w = 1;
    for (size_t i = 0; i < rt_policy_nparams(c); i++)
        if (!isfinite(p->params.w[i])) finite_w = 0;
    const float *logits = rt_policy_ws_logits(ws);
    for (int r = 0; r < rows && finite_w; r++) {
        /* The probabilities are exp(logit - lognorm) in float32: once |logits| pass ~1e4
         * the lognorm's log(sum) is lost in rounding (two equal maxima at 8e20 both get
         * probability 1), so the sum is only checked below that. */
        float big = 0;
        for (int v = 0; v < V; v++)
            if (fabsf(logits[(size_t)r * V + v]) > big) big = fabsf(logits[(size_t)r * V + v]);
        double s = big < 1e4f ? 0 : NAN;
        for (int v = 0; v < V; v++) {
            float q = probs[(size_t)r * V + v];
            if (!isfinite(q) || isnan(s)) {
                s = NAN;
                break;
            }
            FUZZ_CHECK(q >= 0 && q <= 1.0001f, "probability %g", q);
            s += q;
        }
        if (isfinite(s)) FUZZ_CHECK(fabs(s - 1) < 1e-3, "probabilities sum to %g", s);
    }
    float lp[8];
    FUZZ_CHECK(rt_policy_logprobs(p, ws, ctx, y, rows, lp) == 0, "logprobs");
    const int B = 2, P = 3, T = 4;
    int prompts[6], tokens[8];
    float tlp[8];
    for (int i = 0; i < B * P; i++)
        prompts[i] = data[(i * 5) % size] % V;
    rt_rng rng = rt_rng_make(data[size - 1]);
    FUZZ_CHECK(rt_policy_generate(p, ws, prompts, B, P, T, (flags & 8) ? 1.0f : 0.0f, &rng, 0,
                                  tokens, tlp) == 0,
               "generate");
    for (int i = 0; i < B * T; i++)
        FUZZ_CHECK(tokens[i] >= 0 && tokens[i] < V, "token %d of vocab %d", tokens[i], V);
    free(probs);
    free(ctx);
    free(y);
    rt_policy_ws_free(ws);
}

static void remove_files(void)
{
    unlink(path_in);
    unlink(path_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path_in[0]) {
        atexit(remove_files);
        snprintf(path_in, sizeof path_in, "/dev/shm/fuzz_policy.%d.in", (int)getpid());
        snprintf(path_out, sizeof path_out, "/dev/shm/fuzz_policy.%d.out", (int)getpid());
    }
    if (size < 1 || size > (1u << 20)) return 0;
    uint8_t flags = data[0];
    size_t n = size - 1;
    uint8_t *f = malloc(n ? n : 1);
    memcpy(f, data + 1, n);
    fix_header(f, n, flags & 1, flags & 2);
    FILE *fp = fopen(path_in, "wb");
    if (!fp) abort();
    if (n && fwrite(f, 1, n, fp) != n) abort();
    fclose(fp);

    rt_model *m = NULL;
    rt_diag d;
    memset(&d, 0, sizeof d);
    int rc = rt_model_load(&m, path_in, &d);
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
    if ((flags & 4) && n) infer(p, flags, data + 1, n);

    FUZZ_CHECK(rt_policy_save(p, path_out, &d) == 0, "save: %s", d.msg);
    rt_policy *q = NULL;
    FUZZ_CHECK(rt_policy_load(&q, path_out, &d) == 0, "reload: %s", d.msg);
    FUZZ_CHECK(rt_policy_same_shape(&p->cfg, &q->cfg) && p->cfg.act == q->cfg.act, "shape");
    FUZZ_CHECK(memcmp(p->params.w, q->params.w, rt_policy_nparams(&p->cfg) * sizeof(float)) == 0,
               "weights changed by save + load");
    rt_policy_free(q);
    rt_model_free(m);
    free(f);
    return 0;
}
