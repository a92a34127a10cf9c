/* rt_opd.c: one G-OPD step (see rt_opd.h).  The sampled estimator is the recipe "opd"
 * of the RL engine (rt_rl_sample_routed + rt_rl_update, group 1); this file maps the
 * configuration and the metrics.  The full estimator is its own loss: sample, score,
 * exact per-state KL gradient, backward, Adam, through the model interface (rt_model.h).
 * Every (N = B*T)-sized buffer is (B, T), n = b*T + t, the rows of the models' logits.
 * The full estimator's sums over states run positions outer, sequences inner (t, then
 * b), as since the first release.  Leaves out: PPO epochs. */
#include "rt_opd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_nn.h"
#include "rt_rl.h"

struct rt_opd {
    rt_opd_config cfg;
    int V, N;  /* vocabulary, B * T */
    rt_rl *rl; /* the sampled estimator's engine (NULL for full) */
    rt_model_ws *ws_s, *ws_t, *ws_r;
    float *fblock;                /* one allocation for the float buffers below */
    float *lpS, *lpT, *lpR, *adv; /* (N) */
    float *valid;                 /* (N) 1 for a state that counts, 0 after EOS */
    float *lsS, *lsT, *lsR;       /* (N, V) log-softmax rows (full estimator, metrics) */
    int *iblock;                  /* tokens (B, T), seq (B, P + T) */
    int *tokens, *seq;
    double phase[3];
    int *order; /* (2 V) the restricted target's token order (NULL when unrestricted) */
};

rt_opd_config rt_opd_defaults(void)
{
    rt_opd_config c = {1.0f, 0.0f, 1.0f, 1.0f, 64, 8, 24, RT_OPD_SAMPLED, 0, 1, rt_adam_defaults(),
                       0,    0,    0,    1.0f};
    return c;
}

static int bad(rt_diag *d, const char *msg)
{
    if (d) {
        d->code = RT_EINVAL;
        snprintf(d->msg, sizeof d->msg, "%s", msg);
    }
    return RT_EINVAL;
}

void rt_opd_free(rt_opd *o)
{
    if (!o) return;
    rt_model_ws_free(o->ws_s);
    rt_model_ws_free(o->ws_t);
    rt_model_ws_free(o->ws_r);
    rt_rl_free(o->rl);
    rt_free(o->fblock);
    rt_free(o->iblock);
    rt_free(o->order);
    rt_free(o);
}

int rt_opd_create(rt_opd **out, const rt_opd_config *cfg, const rt_model *student,
                  const rt_model *teacher, const rt_model *ref, rt_diag *diag)
{
    *out = NULL;
    if (cfg->batch < 1 || cfg->gen_len < 1 || cfg->prompt_len < 0 ||
        (long)cfg->batch * cfg->gen_len > (1 << 22))
        return bad(diag, "opd: batch and gen_len must be >= 1 (batch*gen_len <= 4194304)");
    if (!(cfg->lambda == cfg->lambda) || !(cfg->gamma >= 0.0f && cfg->gamma <= 1.0f))
        return bad(diag, "opd: gamma must be in [0, 1] and lambda a number");
    if (!(cfg->temperature > 0.0f) || !(cfg->teacher_temperature > 0.0f))
        return bad(diag, "opd: temperatures must be > 0");
    if (cfg->estimator != RT_OPD_SAMPLED && cfg->estimator != RT_OPD_FULL)
        return bad(diag, "opd: estimator must be sampled or full");
    if (cfg->estimator == RT_OPD_FULL && cfg->gamma != 0.0f)
        return bad(diag, "opd: estimator = full needs gamma = 0");
    if (teacher->vocab != student->vocab || ref->vocab != student->vocab)
        return bad(diag, "opd: student, teacher and reference need the same vocabulary");
    if (cfg->target_top_k < 0 || !(cfg->target_top_p > 0.0f && cfg->target_top_p <= 1.0f))
        return bad(diag, "opd: target_top_k must be >= 0 and target_top_p in (0, 1]");
    int restricted = cfg->target_top_k > 0 || cfg->target_top_p < 1.0f;
    if (restricted && cfg->estimator != RT_OPD_FULL)
        return bad(diag, "opd: target_top_k / target_top_p restrict the full estimator's "
                         "target: they need estimator = full");
    rt_adam_config ad = rt_adam_defaults();
    if (cfg->estimator == RT_OPD_SAMPLED &&
        (cfg->adam.beta1 != ad.beta1 || cfg->adam.beta2 != ad.beta2 || cfg->adam.eps != ad.eps))
        return bad(diag, "opd: estimator = sampled uses Adam's default betas and eps");
    rt_opd *o = rt_calloc(1, sizeof *o);
    if (!o) goto nomem;
    o->cfg = *cfg;
    int B = cfg->batch, T = cfg->gen_len, N = B * T, V = student->vocab;
    o->N = N, o->V = V;
    if (cfg->estimator == RT_OPD_SAMPLED) { /* the RL engine's recipe "opd" */
        rt_rl_config rc;
        rt_rl_config_init(&rc);
        rc.algo = rt_rl_recipe_find("opd");
        rc.group = 1, rc.batch = B, rc.threads = cfg->threads;
        rc.lr = cfg->adam.lr, rc.grad_clip = cfg->adam.clip_norm;
        rc.temperature = cfg->temperature, rc.teacher_temperature = cfg->teacher_temperature;
        rc.lambda = cfg->lambda, rc.gamma = cfg->gamma;
        rc.lean = !cfg->metrics; /* metrics off: no exact per-state metrics */
        rt_diag rd = {0};
        int r = rt_rl_create_teacher(&o->rl, &rc, student, teacher, ref, cfg->prompt_len, T,
                                     cfg->mask_after_eos ? cfg->eos_token : -1, &rd);
        if (r == RT_ENOMEM) goto nomem;
        if (r) {
            rt_opd_free(o);
            return bad(diag, rd.msg);
        }
        *out = o;
        return 0;
    }
    if (rt_model_ws_create(&o->ws_s, student, N, diag) ||
        rt_model_ws_create(&o->ws_t, teacher, N, diag) ||
        rt_model_ws_create(&o->ws_r, ref, N, diag))
        goto nomem;
    rt_model_ws_set_threads(o->ws_s, cfg->threads);
    rt_model_ws_set_threads(o->ws_t, cfg->threads);
    rt_model_ws_set_threads(o->ws_r, cfg->threads);
    size_t nf = 5 * (size_t)N + 3 * (size_t)N * V;
    o->fblock = rt_calloc(nf, sizeof(float));
    o->iblock = rt_calloc((size_t)N + (size_t)B * (cfg->prompt_len + T), sizeof(int));
    if (!o->fblock || !o->iblock) goto nomem;
    float *f = o->fblock;
    o->lpS = f, f += N;
    o->lpT = f, f += N;
    o->lpR = f, f += N;
    o->adv = f, f += N;
    o->valid = f, f += N;
    o->lsS = f, f += (size_t)N * V;
    o->lsT = f, f += (size_t)N * V;
    o->lsR = f;
    o->tokens = o->iblock;
    o->seq = o->iblock + N;
    if (restricted && !(o->order = rt_calloc(2 * (size_t)V, sizeof(int)))) goto nomem;
    *out = o;
    return 0;
nomem:
    rt_opd_free(o);
    if (diag) {
        diag->code = RT_ENOMEM;
        snprintf(diag->msg, sizeof diag->msg, "out of memory creating opd step");
    }
    return RT_ENOMEM;
}

const int *rt_opd_tokens(const rt_opd *o)
{
    return o->rl ? rt_rl_tokens(o->rl) : o->tokens;
}

void rt_opd_phase_times(const rt_opd *o, double t[3])
{
    memcpy(t, o->phase, sizeof o->phase);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

float rt_opd_dlogits_full(float *dl, const float *lS, const float *lT, const float *lR,
                          float lambda, float scale, int V)
{
    /* lM = log_softmax((1 - lambda) lR + lambda lT); KL = sum p (lS - lM);
     * dKL/dz_a = p_a (lS_a - lM_a - KL) */
    float mx = -INFINITY, s = 0.0f, kl = 0.0f;
    for (int v = 0; v < V; v++) {
        float m = (1.0f - lambda) * lR[v] + lambda * lT[v];
        mx = m > mx ? m : mx;
    }
    for (int v = 0; v < V; v++)
        s += rt_expf_vec((1.0f - lambda) * lR[v] + lambda * lT[v] - mx);
    float z = mx + rt_logf(s);
    for (int v = 0; v < V; v++) {
        float lM = (1.0f - lambda) * lR[v] + lambda * lT[v] - z;
        kl += rt_expf_vec(lS[v]) * (lS[v] - lM);
    }
    for (int v = 0; v < V; v++) {
        float lM = (1.0f - lambda) * lR[v] + lambda * lT[v] - z;
        dl[v] += scale * rt_expf_vec(lS[v]) * (lS[v] - lM - kl);
    }
    return kl;
}

/* Stable merge sort of idx[0..n) by key descending (equal keys keep idx's order: the
 * lower token id first when idx starts increasing); tmp (n). */
static void sort_desc(int *idx, int *tmp, int n, const float *key)
{
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = key[idx[j]] > key[idx[i]] ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, sizeof(int) * (size_t)n);
    }
}

float rt_opd_dlogits_restricted(float *dl, const float *lS, const float *lT, const float *lR,
                                float lambda, float scale, int V, int top_k, float top_p, int *work,
                                int *n_kept)
{
    int *idx = work, n = V;
    for (int v = 0; v < V; v++)
        idx[v] = v;
    sort_desc(idx, work + V, V, lT);
    if (top_k > 0 && top_k < n) n = top_k;
    if (top_p < 1.0f) { /* the smallest nucleus of teacher mass >= top_p */
        double cum = 0.0;
        for (int i = 0; i < n; i++) {
            cum += rt_exp((double)lT[idx[i]]);
            if (cum >= (double)top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (n_kept) *n_kept = n;
    /* over S = idx[0..n): lM = m - logsumexp_S m, lq = lS - logsumexp_S lS */
    float mx = -INFINITY, sx = -INFINITY, s = 0.0f, ss = 0.0f, kl = 0.0f;
    for (int i = 0; i < n; i++) {
        int a = idx[i];
        float m = (1.0f - lambda) * lR[a] + lambda * lT[a];
        mx = m > mx ? m : mx;
        sx = lS[a] > sx ? lS[a] : sx;
    }
    for (int i = 0; i < n; i++) {
        int a = idx[i];
        s += rt_expf_vec((1.0f - lambda) * lR[a] + lambda * lT[a] - mx);
        ss += rt_expf_vec(lS[a] - sx);
    }
    float z = mx + rt_logf(s), zs = sx + rt_logf(ss);
    for (int i = 0; i < n; i++) {
        int a = idx[i];
        float lq = lS[a] - zs, lM = (1.0f - lambda) * lR[a] + lambda * lT[a] - z;
        kl += rt_expf_vec(lq) * (lq - lM);
    }
    for (int i = 0; i < n; i++) {
        int a = idx[i];
        float lq = lS[a] - zs, lM = (1.0f - lambda) * lR[a] + lambda * lT[a] - z;
        dl[a] += scale * rt_expf_vec(lq) * (lq - lM - kl);
    }
    return kl;
}

/* The sampled estimator: the RL engine's rollout (the teachers routed per sequence) and
 * update; a non-finite loss or gradient norm comes back as that metric (the update not
 * applied) for the caller to check. */
static int step_sampled(rt_opd *o, rt_model *student, const rt_model *const *teachers,
                        int nteachers, const int *route, const rt_model *ref, const int *prompts,
                        const rt_rng *rng, rt_opd_metrics *m)
{
    double t0 = now();
    int rc = rt_rl_sample_routed(o->rl, student, ref, teachers, nteachers, route, prompts, rng);
    if (rc) return rc;
    double t1 = now();
    rt_rl_metrics rm = {0};
    rt_diag d = {0};
    rc = rt_rl_update(o->rl, student, ref, NULL, &rm, &d);
    if (rc && !(rc == RT_EFAILED && (!isfinite(rm.loss) || !isfinite(rm.grad_norm)))) return rc;
    double t2 = now();
    o->phase[0] = t1 - t0, o->phase[1] = 0.0, o->phase[2] = t2 - t1;
    if (m) {
        m->loss = (float)rm.loss;
        m->adv_mean = (float)rm.adv_mean;
        m->grad_norm = (float)rm.grad_norm;
        m->logp_gap = (float)rm.logp_gap;
        m->kl_teacher = m->kl_ref = m->entropy = NAN;
        if (o->cfg.metrics)
            m->kl_teacher = (float)rm.kl_teacher, m->kl_ref = (float)rm.kl_ref,
            m->entropy = (float)rm.entropy;
    }
    return 0;
}

int rt_opd_step_routed(rt_opd *o, rt_model *student, const rt_model *const *teachers, int nteachers,
                       const int *route, const rt_model *ref, const int *prompts, const rt_rng *rng,
                       rt_opd_metrics *m)
{
    const rt_opd_config *c = &o->cfg;
    int B = c->batch, T = c->gen_len, P = c->prompt_len, N = o->N, V = o->V;
    if (nteachers < 1) return RT_EINVAL;
    if (route)
        for (int b = 0; b < B; b++)
            if (route[b] < 0 || route[b] >= nteachers) return RT_EINVAL;
    if (o->rl) return step_sampled(o, student, teachers, nteachers, route, ref, prompts, rng, m);
    double t0 = now(); /* the full estimator from here on */

    /* 1. sample: the student's rows are kept for the update */
    int rc = rt_model_generate(student, o->ws_s, prompts, B, P, T, c->temperature, rng, 0,
                               o->tokens, o->lpS);
    if (rc) return rc;
    const int *y = o->tokens; /* the token scored at state n */
    long nv = N;              /* valid states: up to and including each sequence's first EOS */
    for (int n = 0; n < N; n++)
        o->valid[n] = 1.0f;
    if (c->mask_after_eos) {
        nv = 0;
        for (int b = 0; b < B; b++) {
            int end = 0;
            for (int t = 0; t < T; t++) {
                o->valid[b * T + t] = end ? 0.0f : 1.0f;
                nv += !end;
                if (o->tokens[b * T + t] == c->eos_token) end = 1;
            }
        }
    }
    for (int b = 0; b < B; b++) { /* the sequences prompt ++ sample, scored from P */
        memcpy(o->seq + (size_t)b * (P + T), prompts + (size_t)b * P, sizeof(int) * (size_t)P);
        memcpy(o->seq + (size_t)b * (P + T) + P, o->tokens + (size_t)b * T,
               sizeof(int) * (size_t)T);
    }
    rt_model_batch seqs = {o->seq, B, P + T, P, NULL, NULL};
    const float *lgS = rt_model_ws_logits(o->ws_s);
    double t1 = now();

    /* 2. score: teacher(s) and reference over all N states in one batched pass each */
    for (int k = 0; k < nteachers; k++) {
        rc = rt_model_score(teachers[k], o->ws_t, &seqs, c->teacher_temperature, NULL);
        if (rc) return rc;
        const float *lgT = rt_model_ws_logits(o->ws_t);
        if (nteachers == 1) {
            rt_nn_log_softmax(o->lsT, lgT, N, V, c->teacher_temperature);
        } else { /* keep the rows of the sequences this teacher owns */
            for (int n = 0; n < N; n++) {
                if (route[n / T] != k) continue;
                rt_nn_log_softmax(o->lsT + (size_t)n * V, lgT + (size_t)n * V, 1, V,
                                  c->teacher_temperature);
                o->lpT[n] = o->lsT[(size_t)n * V + y[n]];
            }
        }
    }
    if (nteachers == 1)
        for (int n = 0; n < N; n++)
            o->lpT[n] = o->lsT[(size_t)n * V + y[n]];
    /* the reference and the student at the sampling temperature tau (pi = softmax(z /
     * tau), the distribution the tokens came from); at tau = 1 lpS stays the sampler's */
    float tau = c->temperature;
    rc = rt_model_score(ref, o->ws_r, &seqs, tau, o->lpR);
    if (rc) return rc;
    const float *lgR = rt_model_ws_logits(o->ws_r);
    rt_nn_log_softmax(o->lsR, lgR, N, V, tau);
    rt_nn_log_softmax(o->lsS, lgS, N, V, tau);
    if (tau != 1.0f)
        for (int n = 0; n < N; n++)
            o->lpS[n] = o->lsS[(size_t)n * V + y[n]];
    double t2 = now();

    /* 3. the sampled advantages (for adv_mean), the exact per-state gradient, backward
     * through the sampling rows */
    float lam = c->lambda;
    double gap = 0, advs = 0, loss = 0;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            int n = b * T + t;
            /* lam (lT - lR) - (lS - lR), written so that at lam = 1 the reference cancels
             * exactly (not only up to rounding): (lT - lS) + (lam - 1) (lT - lR) */
            o->adv[n] =
                o->valid[n] * ((o->lpT[n] - o->lpS[n]) + (lam - 1.0f) * (o->lpT[n] - o->lpR[n]));
            gap += o->valid[n] * (o->lpT[n] - o->lpS[n]);
        }
    if (c->gamma > 0.0f)
        for (int b = 0; b < B; b++) {
            float g = 0.0f;
            for (int t = T - 1; t >= 0; t--)
                g = o->adv[b * T + t] += c->gamma * g;
        }
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            advs += o->adv[b * T + t];
    float *dl = rt_model_ws_scratch(o->ws_s);
    memset(dl, 0, sizeof(float) * (size_t)N * V);
    /* the KL's gradient is wrt z / tau: d/dz = (1 / tau) d/d(z / tau) (exact at tau = 1) */
    float scale = 1.0f / nv / tau;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            size_t n = (size_t)b * T + t;
            if (o->valid[n] == 0.0f) continue;
            if (o->order) /* target_top_k / target_top_p */
                loss += rt_opd_dlogits_restricted(dl + n * V, o->lsS + n * V, o->lsT + n * V,
                                                  o->lsR + n * V, lam, 1.0f / nv, V,
                                                  c->target_top_k, c->target_top_p, o->order, NULL);
            else
                loss += rt_opd_dlogits_full(dl + n * V, o->lsS + n * V, o->lsT + n * V,
                                            o->lsR + n * V, lam, scale, V);
        }
    loss /= nv;
    rt_model_zero_grad(student);
    rc = rt_model_backward(student, o->ws_s, dl);
    if (rc) return rc;
    float gn = 0.0f;
    rt_model_adam(student, &c->adam, &gn);
    double t3 = now();
    o->phase[0] = t1 - t0, o->phase[1] = t2 - t1, o->phase[2] = t3 - t2;

    if (m) {
        m->loss = (float)loss;
        m->adv_mean = (float)(advs / nv);
        m->grad_norm = gn;
        m->logp_gap = (float)(gap / nv);
        m->kl_teacher = m->kl_ref = m->entropy = NAN;
        if (c->metrics) { /* exact, from the full softmaxes at every visited state */
            double kt = 0, kr = 0, en = 0;
            for (int t = 0; t < T; t++)
                for (int b = 0; b < B; b++) {
                    size_t n = (size_t)b * T + t;
                    if (o->valid[n] == 0.0f) continue;
                    const float *a = o->lsS + n * V, *bt = o->lsT + n * V, *br = o->lsR + n * V;
                    for (int v = 0; v < V; v++) {
                        float p = rt_expf_vec(a[v]);
                        kt += p * (a[v] - bt[v]);
                        kr += p * (a[v] - br[v]);
                        en -= p * a[v];
                    }
                }
            /* exact KLs are >= 0: a mean below 0 is float noise, shown as 0 */
            m->kl_teacher = kt < 0 ? 0.0f : (float)(kt / nv);
            m->kl_ref = kr < 0 ? 0.0f : (float)(kr / nv);
            m->entropy = (float)(en / nv);
        }
    }
    return 0;
}

int rt_opd_step(rt_opd *o, rt_model *student, const rt_model *teacher, const rt_model *ref,
                const int *prompts, const rt_rng *rng, rt_opd_metrics *m)
{
    const rt_model *t[1] = {teacher};
    return rt_opd_step_routed(o, student, t, 1, NULL, ref, prompts, rng, m);
}
