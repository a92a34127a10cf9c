/* rt_rl_step.c: the RL step engine of rt_rl.h — sampling G answers per prompt, the
 * reference's and the teachers' scores (a teacher per sequence, for TEACHER_LOGRATIO),
 * sampling-time metrics, then advantages, (PPO: several) updates with the exact losses
 * of rt_rl_formulas.c, the chi^2 regularizer's tree forward / backward, and Adam.  Every
 * buffer is sized by rt_rl_create(_teacher): a step allocates nothing.  The policy, the
 * reference and the teachers are models (rt_model.h): every (N*T)-row buffer is (N, T),
 * row i*T + t, the rows of the models' logits, as are the double token arrays.
 * Minibatches (cfg.minibatches = M) split each update into M parts of whole groups, a
 * forward / backward / Adam step each; filter_groups drops the zero-std groups from the
 * loss (the kept sequences are gathered into c* buffers for the loss); entropy_coef adds
 * the exact entropy bonus to the dlogits pass.  The value head of advantage GAE (rt_rl.h)
 * is the engine's: its parameters, the values at sampling of the whole batch
 * (value_init), the features and values of each part's forward, the value loss
 * (value_part) and its Adam.  Leaves out: a separate value network. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_rl.h"
#include "rt_math.h"

struct rt_rl {
    rt_rl_config cfg; /* resolved */
    int P, T, eos, B, G, N, V;
    long NT;
    rt_model_ws *ws_p, *ws_r;
    int *prompts;             /* (B, P) of the last sample */
    int *prompts_rep;         /* (N, P) */
    int *tokens, *len, *seqs; /* (N, T) = the token scored at each row, (N), (N, P + T) */
    float *ls_p, *ls_r;       /* (NT, V) log-softmax at tau */
    float *lpf;               /* (NT) lean: a scorer's token log-probs */
    float *pr_p;              /* (NT, V) probabilities of pi_theta at valid rows */
    double *lp, *lp_old, *lp_ref, *A, *dlp, *rtok; /* (N, T) */
    double *Aseq, *Rp;                             /* (N) */
    double *kl_row, *ent_row; /* (NT) exact per-state KL and entropy at sampling */
    /* a teacher (TEACHER_LOGRATIO): its workspace, log-softmax rows at tau_T, token
     * log-probs and per-state KL(pi_theta || pi_T) */
    rt_model_ws *ws_t;
    float *ls_t, *lp_gen; /* lp_gen (NT): the sampler's token log-probs */
    double *lp_t, *klt_row;
    /* chi^2 */
    long S;
    rt_model_ws *ws_c, *ws_cr;
    int *cseq, *clo;                 /* (S, P + T) the states' sequences, (2 S) their spans */
    double *czt, *clr, *cdz, *cwork; /* (S, V) x3, (3 S) */
    float *cdl;                      /* (S, V) */
    /* state */
    double baseline;
    int baseline_set, sampled;
    /* issue 18: the model that drew the last sample (the update reuses its activations
     * only when it is the policy being trained), groups kept in the loss (B), per-sequence
     * aggregation weights and per-row entropies of the entropy bonus (N), (NT), and the
     * kept sequences of a filtered part: lp, lp_old, lp_ref, A, dlp (5 NT), lengths (N) */
    const rt_model *sampler;
    unsigned char *keep;
    double *wseq, *hrow, *cbuf;
    int *clen;
    double s_kl, s_est, s_ent, s_len, s_klt, s_gap;
    long s_tokens;
    /* the value head (advantage GAE): v = w . h + b on the trunk's C features, kept across
     * steps; the features (NT, C) of the current forward, then their gradient (in place),
     * and per token (N, T) the values, the values at sampling, the returns and d L_V / d v */
    int C;
    rt_params vh; /* w (C) | b */
    float *feat;
    double *val, *val_old, *ret, *dval;
    double s_vl, s_ev; /* the step's value loss (sum over updates) and explained variance */
};

static int set_err(rt_diag *d, int code, const char *key, const char *msg)
{
    if (d) {
        d->code = code;
        d->step = 0;
        snprintf(d->key, sizeof d->key, "%s", key);
        snprintf(d->msg, sizeof d->msg, "%s", msg);
    }
    return code;
}

void rt_rl_free(rt_rl *o)
{
    if (!o) return;
    rt_model_ws_free(o->ws_p);
    rt_model_ws_free(o->ws_r);
    rt_model_ws_free(o->ws_c);
    rt_model_ws_free(o->ws_cr);
    rt_model_ws_free(o->ws_t);
    rt_free(o->lpf);
    rt_params_free(&o->vh);
    void *vbufs[] = {o->feat, o->val, o->val_old, o->ret, o->dval};
    for (size_t i = 0; i < sizeof vbufs / sizeof vbufs[0]; i++)
        rt_free(vbufs[i]);
    void *bufs[] = {o->lp_gen, o->ls_t,   o->lp_t,    o->klt_row, o->prompts, o->prompts_rep,
                    o->tokens, o->len,    o->seqs,    o->ls_p,    o->ls_r,    o->lp,
                    o->lp_old, o->lp_ref, o->A,       o->dlp,     o->rtok,    o->Aseq,
                    o->Rp,     o->kl_row, o->ent_row, o->cseq,    o->clo,     o->czt,
                    o->clr,    o->cdz,    o->cwork,   o->cdl,     o->pr_p};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rt_free(bufs[i]);
    rt_free(o->keep), rt_free(o->wseq), rt_free(o->hrow), rt_free(o->cbuf), rt_free(o->clen);
    rt_free(o);
}

int rt_rl_create(rt_rl **out, const rt_rl_config *cfg, const rt_model *policy, const rt_model *ref,
                 int P, int T, int eos, rt_diag *diag)
{
    return rt_rl_create_teacher(out, cfg, policy, NULL, ref, P, T, eos, diag);
}

int rt_rl_check(const rt_rl_config *cfg, const rt_model *policy, const rt_model *teacher,
                const rt_model *ref, int P, int T, int eos, rt_rl_config *out, long *states,
                rt_diag *diag)
{
    rt_rl_config c;
    int rc = rt_rl_config_check(cfg, &c, diag);
    if (rc) return rc;
    if (policy->vocab != ref->vocab)
        return set_err(diag, RT_EINVAL, "reference",
                       "rl: the policy and its reference need the same vocabulary");
    if ((c.algo->adv == RT_RL_ADV_TEACHER_LOGRATIO) != (teacher != NULL)) {
        char m[128];
        snprintf(m, sizeof m,
                 teacher ? "rl: algo = %s reads no teacher"
                         : "rl: algo = %s distils from a teacher",
                 c.algo->name);
        return set_err(diag, RT_EINVAL, teacher ? "teacher" : "algo", m);
    }
    if (rt_rl_config_adv(&c) == RT_RL_ADV_GAE && rt_model_feature_dim(policy) <= 0) {
        char m[200];
        snprintf(m, sizeof m,
                 "rl: %s = %s needs a value head on the policy's trunk features, and a %s "
                 "policy has none (use an mlp or gpt policy)",
                 c.advantage ? "advantage" : "algo", c.advantage ? "gae" : c.algo->name,
                 policy->ops->arch);
        return set_err(diag, RT_EINVAL, c.advantage ? "advantage" : "algo", m);
    }
    if (teacher && teacher->vocab != policy->vocab)
        return set_err(diag, RT_EINVAL, "teacher",
                       "rl: the policy and its teacher need the same vocabulary");
    if (P < 0 || P > 4096 || T < 1 || T > 4096 || eos >= policy->vocab)
        return set_err(diag, RT_EINVAL, "", "rl: bad prompt length, answer length or eos");
    long N = (long)c.batch * c.group;
    if (N * T > 1L << 22)
        return set_err(diag, RT_EINVAL, "batch",
                       "batch * group * answer length must be at most 4194304 tokens per step");
    int V = policy->vocab;
    long S = 0;
    if (c.regularizer == RT_RL_REG_CHI2) {
        S = rt_rl_chi2_states(eos >= 0 ? V : V + 1, T);
        if (S > RT_RL_CHI2_MAX_STATES || V > RT_RL_CHI2_MAX_V) {
            char m[256];
            if (S >= 1L << 40)
                snprintf(m, sizeof m,
                         "regularizer = chi2 enumerates every answer exactly: answers of up to "
                         "%d tokens over %d tokens are far too many (limit %d prefix states "
                         "per prompt); use a task with shorter answers",
                         T, V, RT_RL_CHI2_MAX_STATES);
            else
                snprintf(m, sizeof m,
                         "regularizer = chi2 enumerates every answer exactly: answers of up to "
                         "%d tokens over %d tokens need %ld prefix states per prompt (limit "
                         "%d); use a task with shorter answers",
                         T, V, S, RT_RL_CHI2_MAX_STATES);
            return set_err(diag, RT_EINVAL, "regularizer", m);
        }
    }
    if (out) *out = c;
    if (states) *states = S;
    return 0;
}

int rt_rl_create_teacher(rt_rl **out, const rt_rl_config *cfg, const rt_model *policy,
                         const rt_model *teacher, const rt_model *ref, int P, int T, int eos,
                         rt_diag *diag)
{
    *out = NULL;
    rt_rl_config c;
    long S;
    int rc = rt_rl_check(cfg, policy, teacher, ref, P, T, eos, &c, &S, diag);
    if (rc) return rc;
    long N = (long)c.batch * c.group;
    int V = policy->vocab;
    rt_rl *o = rt_calloc(1, sizeof *o);
    if (!o) return set_err(diag, RT_ENOMEM, "", "rl: out of memory");
    o->cfg = c;
    o->P = P, o->T = T, o->eos = eos, o->B = c.batch, o->G = c.group, o->N = (int)N, o->V = V;
    o->NT = N * T, o->S = S;
    size_t NT = (size_t)o->NT;
    int bad = rt_model_ws_create(&o->ws_p, policy, (int)NT, NULL) != 0 ||
              rt_model_ws_create(&o->ws_r, ref, (int)NT, NULL) != 0;
    o->prompts = rt_calloc((size_t)c.batch * (P ? P : 1), sizeof(int));
    o->prompts_rep = rt_calloc((size_t)N * (P ? P : 1), sizeof(int));
    o->tokens = rt_calloc(NT, sizeof(int));
    o->len = rt_calloc((size_t)N, sizeof(int));
    o->seqs = rt_calloc((size_t)N * (P + T), sizeof(int));
    o->ls_p = rt_calloc(NT * V, sizeof(float));
    o->ls_r = rt_calloc(NT * V, sizeof(float));
    o->pr_p = rt_calloc(NT * V, sizeof(float));
    o->lpf = rt_calloc(NT, sizeof(float));
    double **d[] = {&o->lp, &o->lp_old, &o->lp_ref, &o->A, &o->dlp, &o->rtok};
    for (int i = 0; i < 6; i++)
        *d[i] = rt_calloc(NT, sizeof(double));
    o->Aseq = rt_calloc((size_t)N, sizeof(double));
    o->Rp = rt_calloc((size_t)N, sizeof(double));
    o->kl_row = rt_calloc(NT, sizeof(double));
    o->ent_row = rt_calloc(NT, sizeof(double));
    bad = bad || !o->kl_row || !o->ent_row || !o->prompts || !o->prompts_rep || !o->tokens ||
          !o->len || !o->seqs || !o->ls_p || !o->ls_r || !o->pr_p || !o->lpf || !o->Aseq || !o->Rp;
    for (int i = 0; i < 6; i++)
        bad = bad || !*d[i];
    if (!bad && teacher) {
        bad = rt_model_ws_create(&o->ws_t, teacher, (int)NT, NULL) != 0;
        o->ls_t = rt_calloc(NT * V, sizeof(float));
        o->lp_t = rt_calloc(NT, sizeof(double));
        o->klt_row = rt_calloc(NT, sizeof(double));
        o->lp_gen = rt_calloc(NT, sizeof(float));
        bad = bad || !o->ls_t || !o->lp_t || !o->klt_row || !o->lp_gen;
        if (!bad) rt_model_ws_set_threads(o->ws_t, c.threads);
    }
    if (!bad) { /* the parts of issue 18 */
        o->keep = rt_calloc((size_t)c.batch, 1);
        o->wseq = rt_calloc((size_t)N, sizeof(double));
        if (c.entropy_coef > 0.0) o->hrow = rt_calloc(NT, sizeof(double));
        if (c.filter_groups == 2) {
            o->cbuf = rt_calloc(5 * NT, sizeof(double));
            o->clen = rt_calloc((size_t)N, sizeof(int));
        }
        bad = !o->keep || !o->wseq || (c.entropy_coef > 0.0 && !o->hrow) ||
              (c.filter_groups == 2 && (!o->cbuf || !o->clen));
    }
    if (!bad && S > 0) {
        bad = rt_model_ws_create(&o->ws_c, policy, (int)S, NULL) != 0 ||
              rt_model_ws_create(&o->ws_cr, ref, (int)S, NULL) != 0;
        o->cseq = rt_calloc((size_t)S * (P + T), sizeof(int));
        o->clo = rt_calloc(2 * (size_t)S, sizeof(int));
        o->czt = rt_calloc((size_t)S * V, sizeof(double));
        o->clr = rt_calloc((size_t)S * V, sizeof(double));
        o->cdz = rt_calloc((size_t)S * V, sizeof(double));
        o->cwork = rt_calloc(3 * (size_t)S, sizeof(double));
        o->cdl = rt_calloc((size_t)S * V, sizeof(float));
        bad = bad || !o->cseq || !o->clo || !o->czt || !o->clr || !o->cdz || !o->cwork || !o->cdl;
    }
    if (!bad && rt_rl_config_adv(&c) == RT_RL_ADV_GAE) { /* the value head, zeros */
        o->C = rt_model_feature_dim(policy);
        bad = rt_params_create(&o->vh, (size_t)o->C + 1) != 0;
        o->feat = rt_calloc(NT * o->C, sizeof(float));
        double **vd[] = {&o->val, &o->val_old, &o->ret, &o->dval};
        for (int i = 0; i < 4; i++)
            bad = bad || !(*vd[i] = rt_calloc(NT, sizeof(double)));
        bad = bad || !o->feat;
    }
    if (bad) {
        rt_rl_free(o);
        return set_err(diag, RT_ENOMEM, "", "rl: out of memory");
    }
    rt_model_ws_set_threads(o->ws_p, c.threads);
    rt_model_ws_set_threads(o->ws_r, c.threads);
    if (o->ws_c) rt_model_ws_set_threads(o->ws_c, c.threads);
    if (o->ws_cr) rt_model_ws_set_threads(o->ws_cr, c.threads);
    *out = o;
    return 0;
}

const int *rt_rl_tokens(const rt_rl *o)
{
    return o->tokens;
}

const int *rt_rl_lengths(const rt_rl *o)
{
    return o->len;
}

/* Row-block passes over the NT rows (N, T), split into blocks of RB rows; block b
 * goes to thread b % nth, and every row's result is a function of that row alone, so
 * results never depend on the thread count. */
enum { RB = 128, PASS_SAMPLE = 0, PASS_SOFTMAX = 1, PASS_DLOGITS = 2 };
typedef struct pass_job {
    rt_rl *o;
    int mode;
    float *dl;
    long a, b; /* the rows [a, b) of (N, T); the workspace's logits and dl hold them from 0 */
} pass_job;

static void pass_rows(rt_rl *o, int mode, float *dl, long r0, long r1, long off)
{
    int T = o->T, V = o->V;
    float tau = o->cfg.temperature;
    if (mode == PASS_SAMPLE) {
        rt_nn_log_softmax(o->ls_p + r0 * V, rt_model_ws_logits(o->ws_p) + r0 * V, (int)(r1 - r0), V,
                          tau);
        rt_nn_log_softmax(o->ls_r + r0 * V, rt_model_ws_logits(o->ws_r) + r0 * V, (int)(r1 - r0), V,
                          tau);
        for (long row = r0; row < r1; row++) {
            if (row % T >= o->len[row / T]) continue;
            const float *a = o->ls_p + row * V, *b = o->ls_r + row * V;
            float k = 0.0f, e = 0.0f, *pr = o->pr_p + row * V;
            for (int v = 0; v < V; v++) {
                float pv = pr[v] = rt_expf_vec(a[v]);
                k += pv * (a[v] - b[v]);
                e -= pv * a[v];
            }
            o->kl_row[row] = k, o->ent_row[row] = e;
            if (o->ls_t) {
                const float *c = o->ls_t + row * V;
                float kt = 0.0f;
                for (int v = 0; v < V; v++)
                    kt += pr[v] * (a[v] - c[v]);
                o->klt_row[row] = kt;
            }
        }
    } else if (mode == PASS_SOFTMAX) {
        rt_nn_log_softmax(o->ls_p + r0 * V, rt_model_ws_logits(o->ws_p) + (r0 - off) * V,
                          (int)(r1 - r0), V, tau);
        for (long row = r0; row < r1; row++) {
            if (row % T >= o->len[row / T]) continue;
            const float *a = o->ls_p + row * V;
            float *pr = o->pr_p + row * V;
            for (int v = 0; v < V; v++)
                pr[v] = rt_expf_vec(a[v]);
        }
    } else {
        for (long row = r0; row < r1; row++) {
            float *d = dl + (row - off) * V;
            int t = (int)(row % T), i = (int)(row / T);
            if (t >= o->len[i]) {
                memset(d, 0, sizeof(float) * (size_t)V);
                if (o->hrow) o->hrow[row] = 0.0;
                continue;
            }
            /* d lp(y)/dz = (onehot(y) - p) / tau; p = exp(ls) is pr_p, computed once at
               sampling (the same bits as recomputing it) */
            float g = (float)(o->dlp[row] / tau);
            const float *pr = o->pr_p + row * V;
            for (int v = 0; v < V; v++)
                d[v] = -g * pr[v];
            d[o->tokens[row]] += g;
            /* the entropy bonus -coef w_i H: its gradient through the logits (rt_rl.h) */
            if (o->hrow)
                o->hrow[row] = o->wseq[i] > 0.0
                                   ? rt_rl_entropy_row(o->ls_p + row * V, pr, V, tau,
                                                       -o->cfg.entropy_coef * o->wseq[i], d)
                                   : 0.0;
        }
    }
}

static void pass_task(void *arg, int j, int nth)
{
    pass_job *a = arg;
    for (long b = j; a->a + b * RB < a->b; b += nth) {
        long r0 = a->a + b * RB, r1 = r0 + RB < a->b ? r0 + RB : a->b;
        pass_rows(a->o, a->mode, a->dl, r0, r1, a->a);
    }
}

/* the pass over rows [a, b) (a part of the batch: its logits and dl rows start at 0) */
static void pass_range(rt_rl *o, int mode, float *dl, long a, long b)
{
    pass_job j = {o, mode, dl, a, b};
    int nth = o->cfg.threads;
    long blocks = (b - a + RB - 1) / RB;
    if (nth > blocks) nth = (int)blocks;
    if (nth <= 1)
        pass_task(&j, 0, 1);
    else
        rt_nn_parallel(nth, pass_task, &j);
}

static void pass(rt_rl *o, int mode, float *dl)
{
    pass_range(o, mode, dl, 0, o->NT);
}

/* lp (N, T) from the log-softmax rows of the sampled tokens */
static void gather(const rt_rl *o, const float *ls, double *lp)
{
    for (long row = 0; row < o->NT; row++)
        lp[row] = ls[row * o->V + o->tokens[row]];
}

int rt_rl_sample(rt_rl *o, const rt_model *p, const rt_model *ref, const int *prompts,
                 const rt_rng *rng)
{
    return rt_rl_sample_routed(o, p, ref, NULL, 0, NULL, prompts, rng);
}

/* the teachers' log-softmax rows at tau_T: sequence i's T rows from teachers[route[i]];
 * lean: only the token log-probs, into lp_t (rt_nn_token_logprob: the same bits as the
 * rows' log-softmax at the token) */
static int score_teachers(rt_rl *o, const rt_model *const *teachers, int nt, const int *route,
                          const rt_model_batch *seqs)
{
    int T = o->T, V = o->V;
    for (int k = 0; k < nt; k++) {
        int rc = rt_model_score(teachers[k], o->ws_t, seqs, o->cfg.teacher_temperature,
                                o->cfg.lean ? o->lpf : NULL);
        if (rc) return rc == RT_ESHAPE ? RT_ESHAPE : RT_EFAILED;
        const float *z = rt_model_ws_logits(o->ws_t);
        for (int i = 0; i < o->N; i++) {
            if ((route ? route[i] : 0) != k) continue;
            size_t r0 = (size_t)i * T;
            if (o->cfg.lean)
                for (int t = 0; t < T; t++)
                    o->lp_t[r0 + t] = o->lpf[r0 + t];
            else
                rt_nn_log_softmax(o->ls_t + r0 * V, z + r0 * V, T, V, o->cfg.teacher_temperature);
        }
    }
    return 0;
}

int rt_rl_sample_routed(rt_rl *o, const rt_model *p, const rt_model *ref,
                        const rt_model *const *teachers, int nteachers, const int *route,
                        const int *prompts, const rt_rng *rng)
{
    if (p->vocab != o->V || ref->vocab != o->V) return RT_EINVAL;
    if ((o->ws_t != NULL) != (nteachers > 0)) return RT_EINVAL;
    for (int k = 0; k < nteachers; k++)
        if (!teachers[k] || teachers[k]->vocab != o->V) return RT_EINVAL;
    for (int i = 0; route && i < o->N; i++)
        if (route[i] < 0 || route[i] >= nteachers) return RT_EINVAL;
    int N = o->N, T = o->T, P = o->P, G = o->G;
    float tau = o->cfg.temperature;
    memcpy(o->prompts, prompts, sizeof(int) * (size_t)o->B * P);
    for (int i = 0; i < N; i++)
        memcpy(o->prompts_rep + (size_t)i * P, prompts + (size_t)(i / G) * P,
               sizeof(int) * (size_t)P);
    int rc = rt_model_generate(p, o->ws_p, o->prompts_rep, N, P, T, tau, rng, 0, o->tokens,
                               tau == 1.0f ? o->lp_gen : NULL);
    if (rc) return rc == RT_ESHAPE ? RT_ESHAPE : RT_EFAILED;
    o->s_tokens = 0;
    for (int i = 0; i < N; i++) {
        int L = T;
        for (int t = 0; t < T; t++)
            if (o->tokens[(size_t)i * T + t] == o->eos) {
                L = t + 1;
                break;
            }
        o->len[i] = L;
        o->s_tokens += L;
    }
    for (int i = 0; i < N; i++) { /* the sequences prompt ++ answer, scored from P */
        memcpy(o->seqs + (size_t)i * (P + T), o->prompts_rep + (size_t)i * P,
               sizeof(int) * (size_t)P);
        memcpy(o->seqs + (size_t)i * (P + T) + P, o->tokens + (size_t)i * T,
               sizeof(int) * (size_t)T);
    }
    rt_model_batch seqs = {o->seqs, N, P + T, P, NULL, NULL};
    int lean = o->cfg.lean;
    /* lean: the reference's token log-probs only (the same bits as its rows' log-softmax) */
    rc = rt_model_score(ref, o->ws_r, &seqs, lean ? tau : 1.0f, lean ? o->lpf : NULL);
    if (rc) return rc == RT_ESHAPE ? RT_ESHAPE : RT_EFAILED;
    if (lean)
        for (long j = 0; j < o->NT; j++)
            o->lp_ref[j] = o->lpf[j];
    if (nteachers > 0 && (rc = score_teachers(o, teachers, nteachers, route, &seqs))) return rc;
    pass(o, lean ? PASS_SOFTMAX : PASS_SAMPLE, NULL);
    gather(o, o->ls_p, o->lp_old);
    if (o->lp_gen && tau == 1.0f) /* TEACHER_LOGRATIO's lS: the sampler's (rt_rl.h) */
        for (long j = 0; j < o->NT; j++)
            o->lp_old[j] = o->lp_gen[j];
    if (!lean) gather(o, o->ls_r, o->lp_ref);
    o->s_klt = o->s_gap = NAN;
    if (o->ls_t) {
        if (!lean) gather(o, o->ls_t, o->lp_t);
        double kt = 0.0, gap = 0.0;
        for (int i = 0; i < N; i++)
            for (int t = 0; t < o->len[i]; t++) {
                size_t j = (size_t)i * T + t;
                kt += o->klt_row[j], gap += o->lp_t[j] - o->lp_old[j];
            }
        /* an exact KL is >= 0: float noise below it is shown as 0 (issue 12 B12) */
        o->s_klt = lean ? NAN : kt < 0 ? 0.0 : kt / (double)o->s_tokens;
        o->s_gap = gap / (double)o->s_tokens;
    }
    /* sampling-time metrics over valid states, summed in a fixed order */
    double kl = 0.0, ent = 0.0, est = 0.0;
    for (int i = 0; i < N; i++)
        for (int t = 0; t < o->len[i]; t++) {
            size_t j = (size_t)i * T + t;
            kl += o->kl_row[j], ent += o->ent_row[j];
            est += rt_rl_kl_est(o->cfg.kl_estimator, o->lp_old[j], o->lp_ref[j]);
        }
    double n = (double)o->s_tokens;
    /* the exact KL is >= 0: a mean below 0 is float noise (-2e-8), shown as 0 */
    o->s_kl = kl / n < 0 ? 0.0 : kl / n, o->s_ent = ent / n, o->s_est = est / n, o->s_len = n / N;
    if (lean) o->s_kl = o->s_ent = o->s_est = NAN; /* not computed */
    o->sampled = 1;
    o->sampler = p;
    return 0;
}

/* chi^2 of prompt b with its gradient (scaled by scale) accumulated into p's gradients.
 * State s (a prefix of depth d in the tree's order) is the sequence prompt ++ prefix,
 * scored at its position P + d. */
static int chi2_prompt(rt_rl *o, rt_model *p, const rt_model *ref, int b, double scale, double *chi)
{
    int P = o->P, T = o->T, V = o->V, eos = o->eos, L = P + T;
    long S = o->S;
    int *lo = o->clo, *hi = o->clo + S;
    rt_rl_tree_states(o->prompts + (size_t)b * P, P, T, V, eos, S, o->cseq, lo, hi);
    rt_model_batch states = {o->cseq, (int)S, L, 0, lo, hi};
    if (rt_model_forward(p, o->ws_c, &states)) return RT_EFAILED;
    if (rt_model_score(ref, o->ws_cr, &states, 1.0f, NULL)) return RT_EFAILED;
    const float *zt = rt_model_ws_logits(o->ws_c), *zr = rt_model_ws_logits(o->ws_cr);
    double tau = o->cfg.temperature;
    for (long s = 0; s < S; s++) {
        const float *z = zr + (size_t)s * V;
        double mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++)
            mx = z[v] / tau > mx ? z[v] / tau : mx;
        for (int v = 0; v < V; v++)
            sum += rt_exp(z[v] / tau - mx);
        for (int v = 0; v < V; v++)
            o->clr[(size_t)s * V + v] = z[v] / tau - mx - rt_log(sum);
        for (int v = 0; v < V; v++)
            o->czt[(size_t)s * V + v] = zt[(size_t)s * V + v];
    }
    *chi = rt_rl_chi2_tree(o->czt, o->clr, V, T, eos, tau, o->cdz, o->cwork);
    for (size_t k = 0; k < (size_t)S * V; k++)
        o->cdl[k] = (float)(scale * o->cdz[k]);
    if (rt_model_backward(p, o->ws_c, o->cdl)) return RT_EFAILED;
    return 0;
}

static int nonfinite(rt_diag *d, const char *metric, double v)
{
    if (d) {
        d->code = RT_EFAILED;
        d->key[0] = '\0';
        snprintf(d->msg, sizeof d->msg, "%s is %s", metric, isnan(v) ? "nan" : "inf");
    }
    return RT_EFAILED;
}

/* NFT learns from correct (1) and wrong (0) answers: any other finite reward fails the
 * step (a NaN / Inf one as every recipe's: "reward is nan") */
static int nft_binary(const double *R, int N, rt_diag *d)
{
    for (int i = 0; i < N; i++)
        if (isfinite(R[i]) && R[i] != 0.0 && R[i] != 1.0) {
            if (d) {
                d->code = RT_EFAILED;
                d->key[0] = '\0';
                snprintf(d->msg, sizeof d->msg,
                         "reward %g of sample %d is not 0 or 1 (algo = nft needs a correct / "
                         "wrong reward)",
                         R[i], i);
            }
            return RT_EFAILED;
        }
    return 0;
}

/* the sampling-time metrics and the advantages' mean into m (may be NULL) */
static void fill_metrics(const rt_rl *o, rt_rl_metrics *m, double adv_mean)
{
    if (!m) return;
    m->adv_mean = adv_mean;
    m->kl_ref = o->s_kl, m->kl_est = o->s_est, m->entropy = o->s_ent, m->length = o->s_len;
    m->kl_teacher = o->s_klt, m->logp_gap = o->s_gap;
    m->tokens = o->s_tokens;
    m->groups_kept = NAN; /* rt_rl_update's, once its updates are done */
    m->value_loss = NAN;  /* rt_rl_update's, once its updates are done */
    m->r2vpo_lambda = NAN;
    m->explained_var = o->C ? o->s_ev : NAN;
}

/* The values at sampling of advantage GAE (rt_rl.h): the value head on the features of
 * the whole batch through the current weights (the sampling forward itself when the
 * policy drew the sample and one part updates, else a forward here), then GAE's
 * advantages from the per-token rewards rtok, the returns and the explained variance;
 * *adv_mean = the advantages' mean over valid tokens. */
static int value_init(rt_rl *o, const rt_model *p, double *adv_mean)
{
    const rt_rl_config *c = &o->cfg;
    int N = o->N, T = o->T;
    if (!(o->sampler == p && c->minibatches == 1)) {
        rt_model_batch all = {o->seqs, N, o->P + T, o->P, NULL, NULL};
        if (rt_model_forward(p, o->ws_p, &all)) return RT_EFAILED;
    }
    if (rt_model_features(p, o->ws_p, o->feat)) return RT_EFAILED;
    rt_rl_value_head(o->feat, (int)o->NT, o->C, o->vh.w, o->val_old);
    rt_rl_gae(o->rtok, o->val_old, o->len, N, T, c->gae_gamma, c->gae_lambda, c->adv_eps, o->A,
              o->ret);
    double am = 0.0;
    for (int i = 0; i < N; i++)
        for (int t = 0; t < o->len[i]; t++)
            am += o->A[(size_t)i * T + t];
    *adv_mean = am / (double)o->s_tokens;
    o->s_ev = rt_rl_explained_var(o->ret, o->val_old, o->len, N, T);
    return 0;
}

/* The value loss of sequences [i0, i0 + n) on the forward just made (its rows start at
 * 0 in the workspace): their values, L_V against the returns, the head's gradient (vh.g,
 * written) and the features' (vf_coef dL_V/dv w, into feat: for
 * rt_model_backward_features).  *vterm = vf_coef L_V (added to the loss). */
static int value_part(rt_rl *o, const rt_model *p, int i0, int n, double *vterm)
{
    const rt_rl_config *c = &o->cfg;
    int T = o->T, C = o->C, rows = n * T;
    size_t r0 = (size_t)i0 * T;
    if (rt_model_features(p, o->ws_p, o->feat)) return RT_EFAILED;
    rt_rl_value_head(o->feat, rows, C, o->vh.w, o->val + r0);
    double vl = rt_rl_value_loss(n, T, o->len + i0, o->val + r0, o->val_old + r0, o->ret + r0,
                                 c->value_clip, o->dval + r0);
    rt_rl_value_head_backward(o->feat, o->dval + r0, rows, C, o->vh.w, c->vf_coef, o->vh.g,
                              o->feat);
    o->s_vl += vl;
    *vterm = c->vf_coef * vl;
    return 0;
}

/* a non-finite loss or gradient norm: m (may be NULL) gets the failing update's values
 * (the others NaN), and the update stops before the optimizer step */
static int failed_metrics(const rt_rl *o, rt_rl_metrics *m, double loss, double gn, double adv_mean,
                          rt_diag *diag, const char *metric)
{
    fill_metrics(o, m, adv_mean);
    if (m)
        m->loss = loss, m->grad_norm = gn, m->clip_frac = m->chi2 = NAN,
        m->clip_frac_low = m->clip_frac_high = m->ratio_mean = m->ratio_var = NAN;
    return nonfinite(diag, metric, isfinite(loss) ? gn : loss);
}

/* What the updates of one step add up (issue 18: an update per part and iteration). */
typedef struct upd_acc {
    double loss_sum, gn_sum, chi_acc; /* chi_acc: sum of chi2_x over the first iteration */
    long updates;                     /* optimizer steps made */
    double groups_kept;
    rt_rl_loss_stats tot;
} upd_acc;

/* keep[b] = 1 unless filter_groups is on and prompt b's G rewards are all equal (zero
 * std: no group signal; the task's rewards R, not the KL-shaped R').  Returns the valid
 * tokens of the kept sequences. */
static long keep_groups(rt_rl *o, const double *R, int teach)
{
    int G = o->G, T = o->T;
    long tok = 0;
    for (int b = 0; b < o->B; b++) {
        int same = 1;
        for (int g = 1; g < G && same && !teach; g++)
            same = R[(size_t)b * G + g] == R[(size_t)b * G];
        o->keep[b] = o->cfg.filter_groups != 2 || !same;
        for (int g = 0; g < G && o->keep[b]; g++)
            tok += o->len[b * G + g] < T ? o->len[b * G + g] : T;
    }
    return tok;
}

/* The aggregation part's weight of a sequence of L valid tokens among n sequences with
 * tot valid tokens (rt_rl_loss_stats_of's w_i). */
static double agg_weight(const rt_rl_config *c, int n, int T, int L, long tot)
{
    switch (rt_rl_config_agg(c)) {
    case RT_RL_AGG_SEQ_TOKEN_MEAN:
        return 1.0 / ((double)n * (L > 0 ? L : 1));
    case RT_RL_AGG_CONST_LEN:
        return 1.0 / ((double)n * T);
    case RT_RL_AGG_TOKEN_MEAN:
        return tot > 0 ? 1.0 / (double)tot : 0.0;
    default:
        return 1.0 / n;
    }
}

/* The loss of the kept sequences of [i0, i0 + n) (a part of nk kept groups): dlp of
 * the part (0 at dropped sequences); a part of only kept groups is the plain call,
 * else the kept sequences are gathered, in order, into the c* buffers (copies: the
 * same values), and the aggregation normalizes over them.  wseq: the weights of the
 * entropy bonus. */
static double part_loss(rt_rl *o, int i0, int n, int nk, rt_rl_loss_stats *st)
{
    const rt_rl_config *c = &o->cfg;
    int T = o->T, G = o->G;
    size_t r0 = (size_t)i0 * T;
    double loss;
    if (nk * G == n) {
        loss = rt_rl_loss_stats_of(c, n, T, o->len + i0, o->lp + r0, o->lp_old + r0, o->lp_ref + r0,
                                   o->A + r0, o->dlp + r0, st);
    } else {
        size_t NT = (size_t)o->NT, k = 0;
        double *lp = o->cbuf, *old = lp + NT, *ref = old + NT, *A = ref + NT, *dlp = A + NT;
        int nn = 0;
        for (int i = i0; i < i0 + n; i++) {
            if (!o->keep[i / G]) continue;
            o->clen[nn++] = o->len[i];
            size_t j = (size_t)i * T;
            memcpy(lp + k, o->lp + j, sizeof(double) * (size_t)T);
            memcpy(old + k, o->lp_old + j, sizeof(double) * (size_t)T);
            memcpy(ref + k, o->lp_ref + j, sizeof(double) * (size_t)T);
            memcpy(A + k, o->A + j, sizeof(double) * (size_t)T);
            k += (size_t)T;
        }
        loss = rt_rl_loss_stats_of(c, nn, T, o->clen, lp, old, ref, A, dlp, st);
        k = 0;
        for (int i = i0; i < i0 + n; i++) {
            double *d = o->dlp + (size_t)i * T;
            if (!o->keep[i / G]) {
                memset(d, 0, sizeof(double) * (size_t)T);
                continue;
            }
            memcpy(d, dlp + k, sizeof(double) * (size_t)T);
            k += (size_t)T;
        }
    }
    if (c->entropy_coef > 0.0) {
        long tot = 0;
        for (int i = i0; i < i0 + n; i++)
            tot += o->keep[i / G] ? (o->len[i] < T ? o->len[i] : T) : 0;
        for (int i = i0; i < i0 + n; i++)
            o->wseq[i] =
                o->keep[i / G] ? agg_weight(c, nk * G, T, o->len[i] < T ? o->len[i] : T, tot) : 0.0;
    }
    return loss;
}

/* Update mb of iteration e: prompts [b0, b1) = the mb-th of M consecutive near-equal
 * parts (b0 = mb B / M); a forward of the part through the current weights unless the
 * sampling activations are this policy's whole batch (e = 0, M = 1, the sampler is p);
 * lp = lp_old (rho = 1 exactly) while the weights are the sampler's (e = 0, mb = 0);
 * the loss of the kept groups (+ the entropy bonus and the chi^2 of the part's
 * prompts), backward, Adam.  A part without a kept group makes no update. */
static int update_part(rt_rl *o, rt_model *p, const rt_model *ref, int e, int mb,
                       const rt_adam_config *adam, upd_acc *acc, rt_rl_metrics *m, double adv_mean,
                       rt_diag *diag)
{
    const rt_rl_config *c = &o->cfg;
    int T = o->T, G = o->G, M = c->minibatches;
    int b0 = (int)((long)mb * o->B / M), b1 = (int)((long)(mb + 1) * o->B / M);
    int i0 = b0 * G, n = (b1 - b0) * G, nk = 0;
    long r0 = (long)i0 * T, r1 = r0 + (long)n * T;
    for (int b = b0; b < b1; b++)
        nk += o->keep[b];
    if (e == 0) acc->groups_kept += nk;
    if (nk == 0) return 0;
    int fresh = o->sampler == p;
    float *dl = rt_model_ws_scratch(o->ws_p);
    if (!(e == 0 && M == 1 && fresh)) { /* the part again, through the current weights */
        rt_model_batch sb = {o->seqs + (size_t)i0 * (o->P + T), n, o->P + T, o->P, NULL, NULL};
        if (rt_model_forward(p, o->ws_p, &sb))
            return set_err(diag, RT_EFAILED, "", "rl: policy forward failed");
        pass_range(o, PASS_SOFTMAX, NULL, r0, r1);
        if (!(e == 0 && mb == 0 && fresh))
            for (long row = r0; row < r1; row++)
                o->lp[row] = o->ls_p[row * o->V + o->tokens[row]];
    }
    int gae = rt_rl_config_adv(c) == RT_RL_ADV_GAE;
    double vterm = 0.0; /* vf_coef L_V on the features of the forward just made */
    if (gae && value_part(o, p, i0, n, &vterm))
        return set_err(diag, RT_EFAILED, "", "rl: the policy's features failed");
    rt_rl_loss_stats st;
    double loss = part_loss(o, i0, n, nk, &st) + vterm;
    if (!isfinite(loss)) return failed_metrics(o, m, loss, NAN, adv_mean, diag, "loss");
    pass_range(o, PASS_DLOGITS, dl, r0, r1);
    if (c->entropy_coef > 0.0) { /* loss -= coef sum_i w_i sum_t H_it, in row order */
        double h = 0.0;
        for (int i = i0; i < i0 + n; i++)
            for (int t = 0; t < o->len[i] && t < T; t++)
                h += o->wseq[i] * o->hrow[(size_t)i * T + t];
        loss -= c->entropy_coef * h;
        if (!isfinite(loss)) return failed_metrics(o, m, loss, NAN, adv_mean, diag, "loss");
    }
    rt_model_zero_grad(p);
    if (rt_model_backward_features(p, o->ws_p, dl, gae ? o->feat : NULL))
        return set_err(diag, RT_EFAILED, "", "rl: policy backward failed");
    if (c->regularizer == RT_RL_REG_CHI2) {
        double chis = 0.0;
        for (int b = b0; b < b1; b++) {
            double x = 0.0;
            if (chi2_prompt(o, p, ref, b, c->chi2 / (b1 - b0), &x))
                return set_err(diag, RT_EFAILED, "", "rl: chi2 forward/backward failed");
            chis += x;
        }
        if (e == 0) acc->chi_acc += chis;
        chis /= b1 - b0;
        if (!isfinite(chis)) return nonfinite(diag, "chi2", chis);
        loss += c->chi2 * chis;
        if (!isfinite(loss)) return nonfinite(diag, "loss", loss);
    }
    double gn = rt_model_grad_norm(p);
    if (!isfinite(gn)) return failed_metrics(o, m, loss, gn, adv_mean, diag, "grad_norm");
    float gnf = 0.0f;
    rt_model_adam(p, adam, &gnf);
    if (gae) rt_adam(&o->vh, adam, NULL); /* the value head: its own Adam */
    if (rt_rl_config_ratio(c) == RT_RL_RATIO_R2VPO && st.n > 0) {
        /* R2VPO's dual ascent on E[(rho - 1)^2] <= delta (rt_rl.h): the engine's copy of
           the configuration holds the multiplier the next update's loss reads */
        double v = (st.ratio_sq - 2.0 * st.ratio_sum + (double)st.n) / (double)st.n;
        double lam = o->cfg.r2vpo_lambda + o->cfg.r2vpo_dual_lr * (v - o->cfg.r2vpo_delta);
        o->cfg.r2vpo_lambda = lam > 0.0 ? lam : 0.0;
    }
    acc->loss_sum += loss, acc->gn_sum += gnf, acc->updates++;
    acc->tot.clip_low += st.clip_low, acc->tot.clip_high += st.clip_high, acc->tot.n += st.n;
    acc->tot.ratio_sum += st.ratio_sum, acc->tot.ratio_sq += st.ratio_sq;
    return 0;
}

int rt_rl_update(rt_rl *o, rt_model *p, const rt_model *ref, const double *R, rt_rl_metrics *m,
                 rt_diag *diag)
{
    if (!o->sampled || p->vocab != o->V || ref->vocab != o->V)
        return set_err(diag, RT_EINVAL, "", "rl: update without a sample of this shape");
    const rt_rl_config *c = &o->cfg;
    int N = o->N, T = o->T, B = o->B, G = o->G;
    int kl_rew = c->regularizer == RT_RL_REG_KL && c->kl_in == RT_RL_IN_REWARD && c->kl > 0.0;
    /* the advantage part's rewards: per token r_t (TOKEN_RTG, GAE), else per sequence R'_i */
    int gae = rt_rl_config_adv(c) == RT_RL_ADV_GAE; /* advantages at the first update */
    int tok_adv = rt_rl_config_adv(c) == RT_RL_ADV_TOKEN_RTG || gae;
    int teach = c->algo->adv == RT_RL_ADV_TEACHER_LOGRATIO;
    double adv_mean = 0.0;
    if (rt_rl_config_ratio(c) == RT_RL_RATIO_NFT && !teach && nft_binary(R, N, diag))
        return RT_EFAILED;
    for (int i = 0; i < N && !teach; i++) {
        if (!isfinite(R[i])) return nonfinite(diag, "reward", R[i]);
        double ksum = 0.0;
        for (int t = 0; t < o->len[i]; t++) {
            size_t j = (size_t)i * T + t;
            double k = kl_rew ? rt_rl_kl_est(c->kl_estimator, o->lp_old[j], o->lp_ref[j]) : 0.0;
            ksum += k;
            if (tok_adv) o->rtok[j] = -c->kl * k + (t == o->len[i] - 1 ? R[i] : 0.0);
        }
        if (tok_adv) {
            for (int t = o->len[i]; t < T; t++)
                o->rtok[(size_t)i * T + t] = 0.0;
        } else {
            o->Rp[i] = R[i] - (kl_rew ? c->kl * ksum : 0.0);
        }
    }
    if (m) { /* prompts whose G rewards are all equal: no group signal (TRL's metric) */
        int zero = 0;
        for (int b = 0; b < B && !teach; b++) {
            int same = 1;
            for (int g = 1; g < G && same; g++)
                same = R[(size_t)b * G + g] == R[(size_t)b * G];
            zero += same;
        }
        m->frac_reward_zero_std = teach ? NAN : (double)zero / B;
    }
    if (teach) {
        adv_mean = rt_rl_teacher_advantages(c->lambda, c->gamma, o->lp_t, o->lp_old, o->lp_ref,
                                            o->len, N, T, o->A);
    } else if (gae) {
        o->s_vl = 0.0, o->s_ev = NAN;
        if (value_init(o, p, &adv_mean))
            return set_err(diag, RT_EFAILED, "", "rl: the policy's features failed");
    } else if (tok_adv) {
        rt_rl_token_advantages(o->rtok, o->len, N, T, c->adv_eps, o->A);
        for (int i = 0; i < N; i++)
            for (int t = 0; t < o->len[i]; t++)
                adv_mean += o->A[(size_t)i * T + t];
        adv_mean /= (double)o->s_tokens;
    } else {
        rt_rl_advantages(c, o->Rp, B, G, &o->baseline, &o->baseline_set, o->Aseq);
        for (int i = 0; i < N; i++) {
            adv_mean += o->Aseq[i];
            for (int t = 0; t < T; t++)
                o->A[(size_t)i * T + t] = o->Aseq[i];
        }
        adv_mean /= N;
    }
    memcpy(o->lp, o->lp_old, sizeof(double) * (size_t)o->NT);
    rt_adam_config adam = rt_adam_defaults();
    adam.lr = c->lr;
    adam.clip_norm = c->grad_clip;
    upd_acc acc = {0};
    long kept_tokens = keep_groups(o, R, teach);
    for (int e = 0; e < c->epochs; e++)
        for (int mb = 0; mb < c->minibatches; mb++) {
            int rc = update_part(o, p, ref, e, mb, &adam, &acc, m, adv_mean, diag);
            if (rc) return rc;
        }
    fill_metrics(o, m, adv_mean);
    if (m) {
        double den = (double)kept_tokens * c->epochs, nu = (double)acc.updates;
        m->loss = acc.updates ? acc.loss_sum / nu : 0.0; /* no update: no loss, no gradient */
        m->grad_norm = acc.updates ? acc.gn_sum / nu : 0.0;
        m->clip_frac_low = den > 0 ? (double)acc.tot.clip_low / den : 0.0;
        m->clip_frac_high = den > 0 ? (double)acc.tot.clip_high / den : 0.0;
        m->clip_frac = den > 0 ? (double)(acc.tot.clip_low + acc.tot.clip_high) / den : 0.0;
        m->ratio_mean = acc.tot.n ? acc.tot.ratio_sum / (double)acc.tot.n : NAN;
        m->ratio_var =
            acc.tot.n ? acc.tot.ratio_sq / (double)acc.tot.n - m->ratio_mean * m->ratio_mean : NAN;
        if (m->ratio_var < 0.0) m->ratio_var = 0.0; /* rounding of E[r^2] - E[r]^2 */
        m->chi2 = c->regularizer == RT_RL_REG_CHI2 && acc.updates ? acc.chi_acc / B : NAN;
        m->groups_kept = acc.groups_kept;
        m->value_loss = o->C && acc.updates ? o->s_vl / (double)acc.updates : NAN;
        m->r2vpo_lambda = rt_rl_config_ratio(c) == RT_RL_RATIO_R2VPO ? c->r2vpo_lambda : NAN;
    }
    o->sampled = 0; /* the weights changed: a new sample is needed */
    return 0;
}
