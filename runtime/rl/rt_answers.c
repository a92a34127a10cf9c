/* rt_answers.c: exact reward moments over the answer tree of every prompt of a split
 * (rt_answers.h).  Leaves out: caching the trees between calls. */
#include "rt_answers.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_rl.h"
#include "rt_tilt.h"
#include "rt_score.h"
#include "rt_fuzz.h"

#define MAX_T RT_TILT_MAX_T /* answer tokens, EOS included */

int rt_answers_check_task(const rt_task *task, rt_task_split split, rt_diag *d)
{
    int rc = rt_tilt_check_answers(task, "exact answer moments enumerate every answer", NULL, d);
    if (rc) return rc;
    if (rt_task_split_count(task, split) == 0)
        return rt_diag_set(d, RT_EINVAL,
                           "exact answer moments enumerate every prompt: this task's %llu "
                           "prompts are not enumerated (at most 65536 per domain)",
                           (unsigned long long)rt_task_prompt_space(task));
    return 0;
}

int rt_answers_moments(const rt_model *m, const rt_task *task, rt_task_split split,
                       const rt_reward_program *const *r, const double *const *params, int nr,
                       rt_answers_result *out, rt_diag *d)
{
    memset(out, 0, sizeof *out);
    if (nr < 1 || nr > RT_ANSWERS_MAX_R)
        return rt_diag_set(d, RT_EINVAL, "answer moments of 1 to %d rewards, not %d",
                           RT_ANSWERS_MAX_R, nr);
    int rc = rt_answers_check_task(task, split, d);
    if (rc) return rc;
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task), V = rt_task_vocab_size(task);
    if (m->vocab != V)
        return rt_diag_set(d, RT_EINVAL, "the model has a vocabulary of %d tokens, the task %d",
                           m->vocab, V);
    int eos = RT_TOK_EOS, nf = rt_task_n_features(task);
    long S = rt_rl_chi2_states(V, T), internal = rt_rl_tree_internal(V, T, eos);
    /* fuzz builds: the first prompts only (every answer of each is still enumerated) */
    uint64_t n = RT_FUZZ_CAP(rt_task_split_count(task, split), RT_FUZZ_MAX_PROMPTS);
    int *seqs = rt_calloc((size_t)S * (size_t)(P + T), sizeof(int));
    int *lo = rt_calloc((size_t)S, sizeof(int)), *hi = rt_calloc((size_t)S, sizeof(int));
    double *lpre = rt_calloc((size_t)S, sizeof(double)), *ls = rt_calloc((size_t)V, sizeof(double));
    double *feat = rt_calloc((size_t)(nf > 0 ? nf : 1), sizeof(double));
    rt_model_ws *ws = NULL;
    if (!seqs || !lo || !hi || !lpre || !ls || !feat || rt_model_ws_create(&ws, m, (int)S, NULL)) {
        rc = rt_diag_set(d, RT_ENOMEM, "out of memory enumerating answers");
        goto done;
    }
    double s1[RT_ANSWERS_MAX_R] = {0}, s2[RT_ANSWERS_MAX_R][RT_ANSWERS_MAX_R] = {{0}}, mass = 0;
    double sw[RT_ANSWERS_MAX_R][RT_ANSWERS_MAX_R] = {{0}};
    /* Sums are of R_j - ref_j, ref_j = R_j at the first answer enumerated: the moments
     * about a value of the distribution, so a large constant offset does not cancel. */
    double ref[RT_ANSWERS_MAX_R] = {0};
    int have_ref = 0;
    for (uint64_t i = 0; i < n; i++) {
        rt_task_sample x;
        if (rt_task_sample_at(task, split, i, &x)) {
            rc = rt_diag_set(d, RT_EINVAL, "the task's prompts could not be enumerated");
            goto done;
        }
        rt_rl_tree_states(x.prompt, P, T, V, eos, S, seqs, lo, hi);
        rt_model_batch b = {seqs, (int)S, P + T, 0, lo, hi};
        if (rt_model_score(m, ws, &b, 1.0f, NULL)) {
            rc = rt_diag_set(d, RT_EFAILED, "the model's forward pass failed");
            goto done;
        }
        const float *z = rt_model_ws_logits(ws);
        double p1[RT_ANSWERS_MAX_R] = {0}, p2[RT_ANSWERS_MAX_R][RT_ANSWERS_MAX_R] = {{0}}, pm = 0;
        int g[MAX_T];
        lpre[0] = 0.0;
        for (long s = 0; s < S; s++) { /* parents before children: prefix log-probs */
            const float *row = z + (size_t)s * V;
            double mx = -INFINITY, sum = 0.0;
            for (int a = 0; a < V; a++)
                mx = row[a] > mx ? row[a] : mx;
            for (int a = 0; a < V; a++)
                sum += rt_exp(row[a] - mx);
            double lz = mx + rt_log(sum);
            for (int a = 0; a < V; a++)
                ls[a] = row[a] - lz;
            int depth = lo[s] - P;
            memcpy(g, seqs + (size_t)s * (P + T) + P, sizeof(int) * (size_t)depth);
            for (int a = 0; a < V; a++) {
                if (a == eos || s >= internal) { /* a complete answer: prefix ++ a */
                    double w = rt_exp(lpre[s] + ls[a]);
                    g[depth] = a;
                    rt_task_features(task, &x, g, depth + 1, feat);
                    double rv[RT_ANSWERS_MAX_R];
                    for (int j = 0; j < nr; j++)
                        rv[j] = rt_score_one(task, r[j], params[j], &x, g, depth + 1, feat);
                    if (!have_ref) {
                        for (int j = 0; j < nr; j++)
                            ref[j] = rv[j];
                        have_ref = 1;
                    }
                    for (int j = 0; j < nr; j++)
                        rv[j] -= ref[j];
                    pm += w;
                    for (int j = 0; j < nr; j++) {
                        p1[j] += w * rv[j];
                        for (int k = 0; k <= j; k++)
                            p2[j][k] += w * rv[j] * rv[k];
                    }
                } else {
                    lpre[rt_rl_tree_child(s, a, V, eos)] = lpre[s] + ls[a];
                }
            }
        }
        mass += pm;
        for (int j = 0; j < nr; j++) {
            s1[j] += p1[j];
            for (int k = 0; k <= j; k++) {
                s2[j][k] += p2[j][k];
                sw[j][k] += p2[j][k] - p1[j] * p1[k];
            }
        }
    }
    out->n_prompts = (int)n;
    out->nr = nr;
    out->mass = mass / (double)n;
    double sm[RT_ANSWERS_MAX_R]; /* means of R_j - ref_j */
    for (int j = 0; j < nr; j++) {
        sm[j] = s1[j] / (double)n;
        out->mean[j] = sm[j] + ref[j];
        out->scale[j] = s2[j][j] / (double)n;
    }
    for (int j = 0; j < nr; j++)
        for (int k = 0; k <= j; k++) {
            out->cov[j][k] = out->cov[k][j] = s2[j][k] / (double)n - sm[j] * sm[k];
            out->within[j][k] = out->within[k][j] = sw[j][k] / (double)n;
        }
done:
    rt_model_ws_free(ws);
    rt_free(seqs), rt_free(lo), rt_free(hi), rt_free(lpre), rt_free(ls), rt_free(feat);
    return rc;
}

/* A variance v of a reward whose second moment about its reference is `scale` is
 * rounding, not spread, below 64 ulps of scale (v = E[R'^2] - E[R']^2 loses a few ulps of
 * E[R'^2]); a constant reward has scale 0 and v 0 exactly. */
static int spread(double v, double scale)
{
    return v > 64.0 * DBL_EPSILON * scale && v > 0.0;
}

static double corr(const rt_answers_result *res, double vj, double vk, double c, int j, int k)
{
    if (!spread(vj, res->scale[j]) || !spread(vk, res->scale[k])) return NAN;
    return c / sqrt(vj * vk);
}

double rt_answers_corr(const rt_answers_result *res, int j, int k)
{
    return corr(res, res->cov[j][j], res->cov[k][k], res->cov[j][k], j, k);
}

double rt_answers_corr_within(const rt_answers_result *res, int j, int k)
{
    return corr(res, res->within[j][j], res->within[k][k], res->within[j][k], j, k);
}
