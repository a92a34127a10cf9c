/* rt_bon.c: best-of-K under a reward (rt_bon.h): the draws generated draw by draw in
 * chunks of prompts (draw j of prompt i = sequence i of stream split(draws, j), so neither
 * chunking, n nor K_max changes them), their features and rewards, and selections and statistics as
 * look-ups.  Leaves out: see rt_bon.h. */
#include "rt_bon.h"

#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_score.h"

#define CHUNK 1024 /* prompts per generation call */

struct rt_bon {
    int n, k_max, nr, T;
    int *tokens;     /* (n, k_max, T) */
    float *lp;       /* (n, k_max, T) log-probs at temperature 1 */
    double *rewards; /* (n, k_max, nr) */
};

static int fail(rt_diag *d, int code, const char *msg)
{
    if (d) rt_diag_set(d, code, "%s", msg);
    return code;
}

static int check(const rt_bon_spec *s, rt_diag *d)
{
    if (!s || !s->policy || !s->task || !s->prompts || !s->draws || !s->rewards || !s->params)
        return fail(d, RT_EINVAL, "best-of-n: missing argument");
    if (s->n < 1) return fail(d, RT_EINVAL, "best-of-n: needs at least 1 prompt");
    if (s->k_max < 1 || s->k_max > RT_BON_MAX_K)
        return rt_diag_set(d, RT_EINVAL, "best-of-n: K must be in [1, %d], not %d", RT_BON_MAX_K,
                           s->k_max);
    if (s->nr < 1 || s->nr > RT_BON_MAX_R)
        return rt_diag_set(d, RT_EINVAL, "best-of-n: 1 to %d rewards, not %d", RT_BON_MAX_R, s->nr);
    for (int r = 0; r < s->nr; r++)
        if (!s->rewards[r] || !s->params[r]) return fail(d, RT_EINVAL, "best-of-n: missing reward");
    if (s->policy->vocab != rt_task_vocab_size(s->task))
        return rt_diag_set(d, RT_EINVAL,
                           "best-of-n: the policy has a vocabulary of %d tokens, the task %d",
                           s->policy->vocab, rt_task_vocab_size(s->task));
    if (s->hook && (!s->hook->fill || s->hook->n_features < 0 ||
                    s->hook->n_features > RT_RL_HOOK_MAX_FEATURES || s->hook->n_metrics < 0 ||
                    s->hook->n_metrics > RT_RL_HOOK_MAX_METRICS))
        return fail(d, RT_EINVAL, "best-of-n: a hook without fill or over its limits");
    if ((long)s->n * s->k_max > RT_BON_MAX_DRAWS)
        return rt_diag_set(d, RT_EINVAL,
                           "best-of-n: %d prompts * K = %d draws, at most %ld at once", s->n,
                           s->k_max, RT_BON_MAX_DRAWS);
    return 0;
}

/* Scratch of the generation calls: B prompts at a time. */
typedef struct scratch {
    int *prompts;         /* (B, P) */
    rt_task_sample *smp;  /* (B) */
    int *tok, *len;       /* (B, T), (B) */
    float *lp;            /* (B, T) */
    double *tfeat, *feat; /* (B, nf) task features, (B, nx) all slots */
    double metrics[RT_RL_HOOK_MAX_METRICS];
} scratch;

/* Draw j of prompts [i0, i0 + B): sequences i0 .. i0 + B - 1 of stream split(draws, j),
 * generated, scored (task features, then the hook's slots) and stored at (i, j). */
static int chunk(rt_bon *b, const rt_bon_spec *s, rt_model_ws *ws, int j, int i0, int B, scratch *w,
                 int nf, int nx, rt_diag *d)
{
    int P = rt_task_prompt_len(s->task), T = b->T;
    for (int q = 0; q < B; q++) {
        w->smp[q] = s->prompts[i0 + q];
        memcpy(w->prompts + (size_t)q * P, w->smp[q].prompt, sizeof(int) * (size_t)P);
    }
    rt_rng stream = rt_rng_split(s->draws, (uint64_t)j);
    int rc = rt_model_generate(s->policy, ws, w->prompts, B, P, T, s->temperature, &stream,
                               (uint64_t)i0, w->tok, w->lp);
    if (rc) return rt_diag_set(d, RT_EFAILED, "best-of-n: generation failed (%d)", rc);
    rt_task_features_batch(s->task, w->smp, w->tok, B, T, w->tfeat);
    for (int q = 0; q < B; q++)
        for (int k = 0; k < nx; k++)
            w->feat[(size_t)q * nx + k] = k < nf ? w->tfeat[(size_t)q * nf + k] : 0.0;
    if (s->hook) {
        for (int q = 0; q < B; q++) {
            int n = 0;
            while (n < T && w->tok[(size_t)q * T + n] != RT_TOK_EOS)
                n++;
            w->len[q] = n < T ? n + 1 : T;
        }
        rt_rng hs = rt_rng_split(&stream, ((uint64_t)1 << 32) + (uint64_t)i0);
        rt_rl_hook_batch hb = {j + 1, B, 1, T, w->smp, w->tok, w->len, &hs};
        char msg[200] = "";
        if (s->hook->fill(s->hook->user, &hb, w->feat, nx, nf, w->metrics, msg, sizeof msg))
            return rt_diag_set(d, RT_EFAILED, "best-of-n: %s", msg[0] ? msg : "hook failed");
    }
    for (int q = 0; q < B; q++) {
        size_t at = (size_t)(i0 + q) * b->k_max + (size_t)j;
        memcpy(b->tokens + at * T, w->tok + (size_t)q * T, sizeof(int) * (size_t)T);
        memcpy(b->lp + at * T, w->lp + (size_t)q * T, sizeof(float) * (size_t)T);
        for (int r = 0; r < s->nr; r++) {
            double v = rt_score_one(s->task, s->rewards[r], s->params[r], &w->smp[q],
                                    w->tok + (size_t)q * T, T, w->feat + (size_t)q * nx);
            if (!isfinite(v))
                return rt_diag_set(d, RT_EINVAL,
                                   "best-of-n: reward %d ('%s') is not finite on a draw (%g)", r,
                                   rt_reward_name(s->rewards[r]), v);
            b->rewards[at * s->nr + r] = v;
        }
    }
    return 0;
}

int rt_bon_create(rt_bon **out, const rt_bon_spec *s, rt_diag *d)
{
    if (!out) return fail(d, RT_EINVAL, "best-of-n: missing argument");
    *out = NULL;
    int rc = check(s, d);
    if (rc) return rc;
    long total = (long)s->n * s->k_max;
    int T = rt_task_answer_max(s->task), P = rt_task_prompt_len(s->task);
    int nf = rt_task_n_features(s->task), nx = nf + (s->hook ? s->hook->n_features : 0);
    int B = s->n < CHUNK ? s->n : CHUNK; /* prompts per generation call */
    scratch w;
    memset(&w, 0, sizeof w);
    w.prompts = rt_calloc((size_t)B * (size_t)P, sizeof(int));
    w.smp = rt_calloc((size_t)B, sizeof *w.smp);
    w.tok = rt_calloc((size_t)B * (size_t)T, sizeof(int));
    w.len = rt_calloc((size_t)B, sizeof(int));
    w.lp = rt_calloc((size_t)B * (size_t)T, sizeof(float));
    w.tfeat = rt_calloc((size_t)B * (size_t)(nf > 0 ? nf : 1), sizeof(double));
    w.feat = rt_calloc((size_t)B * (size_t)(nx > 0 ? nx : 1), sizeof(double));
    rt_bon *b = rt_calloc(1, sizeof *b);
    rt_model_ws *ws = NULL;
    if (b) {
        b->n = s->n, b->k_max = s->k_max, b->nr = s->nr, b->T = T;
        b->tokens = rt_calloc((size_t)total * (size_t)T, sizeof(int));
        b->lp = rt_calloc((size_t)total * (size_t)T, sizeof(float));
        b->rewards = rt_calloc((size_t)total * (size_t)s->nr, sizeof(double));
    }
    if (!b || !w.prompts || !w.smp || !w.tok || !w.len || !w.lp || !w.tfeat || !w.feat ||
        !b->tokens || !b->lp || !b->rewards) {
        rc = fail(d, RT_ENOMEM, "best-of-n: out of memory");
    } else if (rt_model_ws_create(&ws, s->policy, B, d)) {
        rc = fail(d, RT_ENOMEM, "best-of-n: out of memory (workspace)");
    } else {
        rt_model_ws_set_threads(ws, s->threads > 0 ? s->threads : 1);
        for (int j = 0; j < s->k_max && !rc; j++)
            for (int i0 = 0; i0 < s->n && !rc; i0 += B) {
                int nb = s->n - i0 < B ? s->n - i0 : B;
                rc = chunk(b, s, ws, j, i0, nb, &w, nf, nx, d);
            }
    }
    rt_model_ws_free(ws);
    rt_free(w.prompts), rt_free(w.smp), rt_free(w.tok), rt_free(w.len), rt_free(w.lp);
    rt_free(w.tfeat), rt_free(w.feat);
    if (rc) {
        rt_bon_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void rt_bon_free(rt_bon *b)
{
    if (!b) return;
    rt_free(b->tokens);
    rt_free(b->lp);
    rt_free(b->rewards);
    rt_free(b);
}

int rt_bon_n(const rt_bon *b)
{
    return b ? b->n : 0;
}
int rt_bon_k_max(const rt_bon *b)
{
    return b ? b->k_max : 0;
}
int rt_bon_answer_len(const rt_bon *b)
{
    return b ? b->T : 0;
}

int rt_bon_select(const rt_bon *b, int k, int i)
{
    if (!b || k < 1 || k > b->k_max || i < 0 || i >= b->n) return -1;
    const double *r = b->rewards + (size_t)i * b->k_max * b->nr;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (r[(size_t)j * b->nr] > r[(size_t)best * b->nr]) best = j; /* strict: first wins */
    return best;
}

const int *rt_bon_tokens(const rt_bon *b, int i, int j)
{
    if (!b || i < 0 || i >= b->n || j < 0 || j >= b->k_max) return NULL;
    return b->tokens + ((size_t)i * b->k_max + (size_t)j) * b->T;
}

const float *rt_bon_logprobs(const rt_bon *b, int i, int j)
{
    if (!b || i < 0 || i >= b->n || j < 0 || j >= b->k_max) return NULL;
    return b->lp + ((size_t)i * b->k_max + (size_t)j) * b->T;
}

double rt_bon_reward(const rt_bon *b, int i, int j, int r)
{
    if (!b || i < 0 || i >= b->n || j < 0 || j >= b->k_max || r < 0 || r >= b->nr) return NAN;
    return b->rewards[((size_t)i * b->k_max + (size_t)j) * b->nr + r];
}

int rt_bon_stats_at(const rt_bon *b, int k, rt_bon_stats *out, rt_diag *d)
{
    if (!b || !out) return fail(d, RT_EINVAL, "best-of-n: missing argument");
    if (k < 1 || k > b->k_max)
        return rt_diag_set(d, RT_EINVAL, "best-of-n: K must be in [1, %d], not %d", b->k_max, k);
    memset(out, 0, sizeof *out);
    out->k = k, out->n = b->n, out->nr = b->nr, out->kl = rt_bon_kl(k);
    for (int r = 0; r < b->nr; r++) {
        double m = 0, ss = 0;
        for (int i = 0; i < b->n; i++)
            m += rt_bon_reward(b, i, rt_bon_select(b, k, i), r);
        m /= b->n;
        for (int i = 0; i < b->n; i++) {
            double e = rt_bon_reward(b, i, rt_bon_select(b, k, i), r) - m;
            ss += e * e;
        }
        out->mean[r] = m;
        out->se[r] = b->n > 1 ? sqrt(ss / (b->n - 1) / b->n) : NAN;
    }
    return 0;
}

double rt_bon_kl(int k)
{
    if (k < 1) return NAN;
    return rt_log((double)k) - (double)(k - 1) / (double)k;
}
