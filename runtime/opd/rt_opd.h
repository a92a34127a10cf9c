/* rt_opd: one step of generalized on-policy distillation (G-OPD / ExOPD), methods.md §1.
 *
 * Sampled estimator "as released" (estimator = RT_OPD_SAMPLED, gamma = 0): the RL
 * engine's recipe "opd" (rt_rl.h: advantage TEACHER_LOGRATIO, ratio NONE, aggregation
 * TOKEN_MEAN, group 1), which this module configures and whose metrics it maps.  At
 * temperature 1 its updates are those of the estimator's first implementation bit for
 * bit (A in float from the sampler's log-probs); the loss and the exact KL / entropy
 * metrics are the engine's sums (equal to the old ones to within a float rounding):
 *   sample T tokens from the student for B prompts (temperature cfg.temperature, 1 as
 *   released); score the teacher's and the reference's log-probs of the sampled tokens;
 *     A_t = lambda * (lp_T - lp_ref) - (lp_S - lp_ref)      (a constant: no gradient)
 *   computed as (lp_T - lp_S) + (lambda - 1) (lp_T - lp_ref), so that at lambda = 1 the
 *   reference cancels exactly, not only up to rounding;
 *     loss = -mean_t(A_t * lp_S(y_t));  backward;  Adam (lr and clip_norm of cfg.adam;
 *   the other Adam constants must be the defaults).
 *   lp_S and lp_ref are at the sampling temperature (the sampling distribution, as RL's;
 *   the first implementation took them, and the metrics, at 1 whatever the temperature),
 *   lp_T at teacher_temperature.  The student's activations from sampling are reused for
 *   the update, so the student runs no second forward.  A non-finite loss or gradient
 *   norm stops the step before Adam (the student keeps its weights) and is returned in
 *   the metrics.
 * Options: gamma in [0, 1] turns the per-token reward r_t = A_t into the discounted
 * reward-to-go sum_{t'>=t} gamma^(t'-t) r_t' (per sequence); teacher_temperature scores
 * the teacher at log_softmax(logits / tau); estimator = RT_OPD_FULL (its own loss, in
 * this module) replaces the sampled-token estimate, at every visited state, by the exact
 * gradient of
 *   KL(pi_S(.|s) || pi~(.|s)),  pi~ ∝ pi_ref^(1 - lambda) * pi_T^lambda
 * (loss = mean over states of that KL); with gamma = 0 it is the expectation of the
 * sampled estimator's gradient.
 * Temperature (both estimators): pi_S = softmax(z_S / tau) and pi_ref = softmax(z_ref /
 * tau) with tau = cfg.temperature, the distribution the tokens are drawn from, so the
 * update is on-policy (as %%rl's): lp_S, lp_ref, the loss, its gradient (d/dz_S =
 * (1/tau) d/d(z_S/tau)) and the metrics kl_ref, kl_teacher, entropy are all of pi_S at
 * tau.  tau = 1 is the plain policy, bit for bit as before (the full estimator took
 * pi_S and pi_ref at 1 whatever tau until issue 14).
 * Multi-teacher routing: rt_opd_step_routed scores sequence b with teachers[route[b]]
 * (the engine's rt_rl_sample_routed for the sampled estimator).
 *
 * Student, teacher and reference are models (rt_model.h) of any architectures and
 * settings with the same vocabulary; each scores the sequences prompt ++ sample itself.
 * All buffers are sized by rt_opd_create, so a step allocates nothing.  Determinism:
 * as the models' (bit-identical whatever cfg.threads and the GEMM thread count;
 * sequence b draws from rt_rng_split(rng, b)).  With cfg.threads > 1 keep the GEMM
 * single-threaded (rt_nn_set_gemm_threads(1)).
 * Leaves out: PPO-style multiple epochs (one update per batch: the ratio is 1). */
#ifndef RT_OPD_H
#define RT_OPD_H

#include "rt_diag.h"
#include "rt_model.h"

enum { RT_OPD_SAMPLED = 0, RT_OPD_FULL = 1 };

typedef struct rt_opd_config {
    float lambda;              /* reward scale: 1 = OPD, > 1 = ExOPD (released: 1.25) */
    float gamma;               /* 0 = per-token reward (released), 1 = reward-to-go */
    float temperature;         /* student sampling temperature, 1 as released */
    float teacher_temperature; /* 1 = teacher as is */
    int batch;                 /* B prompts per step */
    int prompt_len;            /* P tokens per prompt */
    int gen_len;               /* T sampled tokens per prompt */
    int estimator;             /* RT_OPD_SAMPLED or RT_OPD_FULL */
    int metrics;               /* non-zero: exact kl_teacher, kl_ref, entropy per step */
    int threads;               /* threads of the step (rt_model_ws_set_threads); 1 */
    rt_adam_config adam;       /* optimizer of the student */
    /* Non-zero: sequence b's answer ends at its first `eos_token` (included); the states
     * after it are masked out of the advantages, the loss, the gradient and the metrics,
     * and every mean is over the Nv valid states of the batch (token mean, as released).
     * 0 (the default): all T states count (the benchmark workload). */
    int mask_after_eos;
    int eos_token;
    /* estimator = full only: restrict the target pi~ at each state to the set S of the
     * teacher's likeliest tokens (log pi_T at teacher_temperature; ties to the lower
     * token id): its top target_top_k (0 = no limit) within its smallest top-p nucleus
     * of mass >= target_top_p (1 = no limit).  The state's loss is then KL(pi_S(.|S) ||
     * pi~(.|S)), both renormalized over S (the student's logits outside S get no
     * gradient); with both off (0 and 1) the loss is the unrestricted one, bit for bit. */
    int target_top_k;
    float target_top_p;
} rt_opd_config;

/* lambda 1, gamma 0, temperatures 1, B 64, P 8, T 24, sampled, no metrics, 1 thread,
 * Adam defaults, no EOS mask, unrestricted target (top-k 0, top-p 1) */
rt_opd_config rt_opd_defaults(void);

typedef struct rt_opd_metrics {
    float loss;      /* sampled: -mean(A_t lp_S); full: mean KL(pi_S || pi~) */
    float adv_mean;  /* mean advantage A_t (after gamma) */
    float grad_norm; /* global gradient norm before clipping */
    float logp_gap;  /* mean(lp_T - lp_S) over sampled tokens */
    float
        kl_teacher; /* mean per-state KL(pi_S || pi_T at teacher_temperature), NAN unless metrics */
    float kl_ref;   /* mean per-state KL(pi_S || pi_ref), NAN unless metrics; both KLs are
                       exact and >= 0 (a mean below 0 from float noise is 0) */
    float entropy;  /* mean per-state entropy of pi_S, NAN unless metrics */
} rt_opd_metrics;

typedef struct rt_opd rt_opd;

/* Sizes the buffers for one configuration and the three models' architectures (the
 * models passed to the steps must have those).  Caller frees with rt_opd_free.
 * Errors: RT_EINVAL (bad config or mismatched vocabularies, with a message),
 * RT_ENOMEM. */
int rt_opd_create(rt_opd **out, const rt_opd_config *cfg, const rt_model *student,
                  const rt_model *teacher, const rt_model *ref, rt_diag *diag);
void rt_opd_free(rt_opd *o);

/* One step: prompts (B, P) token ids, rng = this step's stream (e.g. rt_rng_split(run,
 * step)); updates the student (gradients stay in student->params->g); m may be NULL. */
int rt_opd_step(rt_opd *o, rt_model *student, const rt_model *teacher, const rt_model *ref,
                const int *prompts, const rt_rng *rng, rt_opd_metrics *m);
/* As rt_opd_step with nteachers teachers of the architecture given to rt_opd_create;
 * sequence b is scored by teachers[route[b]] (each teacher scores all B*T states
 * once, so cost grows with nteachers). */
int rt_opd_step_routed(rt_opd *o, rt_model *student, const rt_model *const *teachers, int nteachers,
                       const int *route, const rt_model *ref, const int *prompts, const rt_rng *rng,
                       rt_opd_metrics *m);

/* The last step's samples, tokens (B, T), and per-phase wall times in seconds
 * (sample, score, train) for benchmarks; the sampled estimator times the rollout
 * (sampling and scoring) as "sample" and 0 as "score". */
const int *rt_opd_tokens(const rt_opd *o);
void rt_opd_phase_times(const rt_opd *o, double t[3]);

/* The full estimator's gradient wrt the student's logits at one state (exposed for
 * tests).  lS, lT, lR are log-softmax rows (V); dl (V) += scale * gradient
 *   p_a * (lS_a - lM_a - KL(p || M)),  lM = log_softmax((1-lambda) lR + lambda lT);
 * returns KL(p || M). */
float rt_opd_dlogits_full(float *dl, const float *lS, const float *lT, const float *lR,
                          float lambda, float scale, int V);
/* The restricted full estimator at one state (rt_opd_config.target_top_k / _top_p):
 * S = the teacher's likeliest tokens (order by lT descending, ties to the lower id; the
 * first top_k, 0 = all, cut after the first whose cumulative teacher probability reaches
 * top_p); returns KL(q || M) with q = softmax of lS over S, M = softmax of (1 - lambda) lR
 * + lambda lT over S, and adds scale * dKL/dz (q_a (log q_a - log M_a - KL) on S, 0
 * elsewhere) to dl.  *n_kept (may be NULL) = |S|.  work: 2 V ints. */
float rt_opd_dlogits_restricted(float *dl, const float *lS, const float *lT, const float *lR,
                                float lambda, float scale, int V, int top_k, float top_p, int *work,
                                int *n_kept);

#endif
