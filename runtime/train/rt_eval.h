/* rt_eval: evaluation of a policy on a task — greedy accuracy, avg@k sampled accuracy
 * at a temperature, per-domain accuracy for mix tasks, the mean of every task feature —
 * and the exact mean per-state KL between two policies.
 *
 * An evaluator (rt_eval) fixes, once, the held-out prompts it scores and owns every
 * buffer it needs, so evaluating inside a training loop allocates nothing:
 *   - if the held-out split is enumerable (rt_task_split_count > 0) and holds at most
 *     cfg.n_prompts prompts, all of it, in enumeration order;
 *   - if it is enumerable and larger, a fixed sample of n_prompts distinct prompts
 *     (a shuffle of the split drawn from rt_rng_split(rng, 0), first n_prompts kept,
 *     in enumeration order);
 *   - otherwise n_prompts prompts drawn (with replacement) by
 *     rt_task_sample_batch(task, rt_rng_split(rng, 0), 0, RT_TASK_HELDOUT, n_prompts);
 *   - except for a mix of D >= 2 domains of which one at least is not enumerated (so
 *     rt_task_split_count(mix) = 0): then each domain d in order gets a quota
 *     q_d = n_prompts / D (+1 for d < n_prompts % D) and contributes, from the stream
 *     pick_d = rt_rng_split(rt_rng_split(rng, 0), d), the rule above applied to the
 *     domain alone: its whole held-out split if enumerated with at most q_d prompts,
 *     a fixed sample of q_d distinct ones (shuffle from pick_d) if enumerated and
 *     larger, else q_d prompts, prompt i drawn by rt_task_sample_prompt(domain,
 *     rt_rng_split(pick_d, i), RT_TASK_HELDOUT); every prompt is re-encoded as a
 *     prompt of the mix.  The evaluator then scores sum_d of them (<= n_prompts), the
 *     domains in order.
 * Greedy decoding generates rt_task_answer_max(task) tokens per prompt (temperature 0);
 * sample j of prompt i (0-based, in the fixed order) is drawn from
 * rt_rng_split(rt_rng_split(rng, 1), i * k + j), so results do not depend on the chunk
 * size or the thread count.  An answer counts as correct by the task's verifier (the
 * `correct` feature: the exact target up to and including the first EOS).
 *
 *   avg@k  = (1 / (n k)) sum_i sum_j correct(i, j)   (mean sampled accuracy)
 *   pass@k = (1 / n) sum_i [some j correct]
 *
 * KL (rt_eval_kl): B prompts of a split are drawn by rt_task_sample_batch(task,
 * rt_rng_split(rng, 0), 0, split, B); p generates answer_max tokens for each at
 * temperature 1 (rt_model_generate with rng rt_rng_split(rng, 1), seq0 = 0); the
 * visited states of sequence b are its answer positions 0 .. L_b - 1, where
 * L_b is the position of the first EOS plus one (answer_max if none).  Over all those
 * states: mean KL(p(.|s) || q(.|s)) and mean entropy of p(.|s), with full softmaxes
 * (rt_model_kl).  p and q are models (rt_model.h) of the task's vocabulary, of any
 * architectures.
 *
 * Errors: 0 or a negative RT_EVAL_E* code, with rt_diag (may be NULL) filled.
 * Leaves out: evaluation on training prompts (use a task whose holdout covers what you
 * want), beam search, length-normalized scores. */
#ifndef RT_EVAL_H
#define RT_EVAL_H

#include <stdint.h>

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_rng.h"
#include "rt_task.h"

typedef struct rt_eval_config {
    int n_prompts;     /* at most this many held-out prompts (default 1024), >= 1 */
    int k;             /* samples per prompt for avg@k (default 8); 0 = greedy only */
    float temperature; /* sampling temperature for avg@k (default 1), > 0 */
    int chunk;         /* sequences per batched generation (default 256), >= 1 */
} rt_eval_config;

void rt_eval_config_init(rt_eval_config *cfg);

typedef struct rt_eval_result {
    int n_prompts; /* prompts scored */
    int k;         /* samples per prompt (0: no sampled figures) */
    double greedy; /* greedy accuracy */
    double avg_k;  /* mean sampled accuracy (NaN when k = 0) */
    double pass_k; /* fraction of prompts with at least one correct sample (NaN when k = 0) */
    int n_domains; /* rt_task_n_domains (1 unless a mix) */
    int domain_n[RT_TASK_MAX_DOMAINS];         /* prompts of each domain */
    double domain_greedy[RT_TASK_MAX_DOMAINS]; /* NaN for a domain with no prompt */
    double domain_avg_k[RT_TASK_MAX_DOMAINS];  /* NaN when k = 0 or no prompt */
    double domain_pass_k[RT_TASK_MAX_DOMAINS]; /* NaN when k = 0 or no prompt */
    int n_features;                            /* rt_task_n_features */
    double feat_greedy[RT_TASK_MAX_FEATURES];  /* mean of each feature, greedy answers */
    double feat_sampled[RT_TASK_MAX_FEATURES]; /* over all n*k samples (NaN if k = 0) */
} rt_eval_result;

typedef struct rt_eval rt_eval;

/* An evaluator of `task` for models of the architecture and config of the model `arch`
 * (arch->vocab must be the task's vocabulary).  cfg NULL = defaults.  rng picks the prompts and the sampling
 * streams (copied).  The task must outlive the evaluator.  Caller frees with
 * rt_eval_free.  *out = NULL on error. */
int rt_eval_create(rt_eval **out, const rt_task *task, const rt_model *arch,
                   const rt_eval_config *cfg, const rt_rng *rng, rt_diag *diag);
void rt_eval_free(rt_eval *ev);

int rt_eval_n_prompts(const rt_eval *ev);
/* The i-th fixed prompt (0 <= i < n_prompts), NULL if out of range. */
const rt_task_sample *rt_eval_prompt(const rt_eval *ev, int i);
/* Per-prompt results of the last successful rt_eval_greedy / rt_eval_run, prompt i in
 * the fixed order (for paired comparisons of policies scored on the same prompts):
 * greedy[i] = 1 if the greedy answer is correct, else 0; sampled[i] = correct samples
 * of the k (0..k; only after an rt_eval_run with k > 0).  NULL when there is none;
 * valid until the next run or rt_eval_free. */
const int *rt_eval_hits_greedy(const rt_eval *ev);
const int *rt_eval_hits_sampled(const rt_eval *ev);

/* pass@j of one prompt with c correct of k samples, estimated without bias (Chen et al.
 * 2021, "Evaluating Large Language Models Trained on Code", eq. 1):
 *   1 - C(k - c, j) / C(k, j) = 1 - prod_{t=0}^{j-1} (k - c - t) / (k - t)
 * (the product in double, t increasing; 1 when k - c < j).  1 <= j <= k, 0 <= c <= k;
 * NaN otherwise.  Its mean over prompts is pass@j for every j <= k from one set of k
 * samples per prompt. */
double rt_eval_pass_at(int k, int c, int j);

/* Greedy accuracy only (what a training loop logs as eval_accuracy).  Allocates nothing.
 * p must have the evaluator's architecture. */
int rt_eval_greedy(rt_eval *ev, const rt_model *p, double *accuracy, rt_diag *diag);
/* Everything of rt_eval_result (greedy, and avg@k / pass@k when cfg.k > 0).  Allocates
 * nothing. */
int rt_eval_run(rt_eval *ev, const rt_model *p, rt_eval_result *out, rt_diag *diag);

typedef struct rt_eval_kl_result {
    int n_prompts;  /* B */
    long n_states;  /* visited states averaged over */
    double kl;      /* mean KL(p || q) per state (>= 0: float noise below 0 is 0) */
    double entropy; /* mean entropy of p per state */
} rt_eval_kl_result;

/* Exact mean per-state KL(p || q) and entropy of p over the states visited by sampling
 * B = n_prompts answers from p (see the top comment).  Allocates its buffers per call
 * (freed before returning). */
int rt_eval_kl(const rt_model *p, const rt_model *q, const rt_task *task, rt_task_split split,
               int n_prompts, const rt_rng *rng, rt_eval_kl_result *out, rt_diag *diag);

#endif
