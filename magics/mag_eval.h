/* mag_eval: what the evaluating magics share (mag_m_eval.c: %eval, %sample;
 * mag_m_correlate.c: %correlate): naming the policies of a line and resolving each with
 * its task.  Leaves out: the evaluation itself (rt_eval.h, rt_bon.h, rt_answers.h). */
#ifndef MAG_EVAL_H
#define MAG_EVAL_H

#include "mag_magic.h"
#include "rt_policy.h"
#include "rt_eval.h"
#include "rt_task.h"

#define EVAL_MAX_POLICIES 32

/* Policy `name` (at pos) and its task name (task= when tv, else the policy's own); 0 or an
 * error in d. */
int mag_eval_resolve_one(mag_ctx *ctx, const char *name, mag_pos pos, const mag_value *tv,
                         const rt_policy **pol, const char **tname, mag_diag *d);
/* The task named tname (at pos when it is the policy's own) and the policy's vocabulary
 * against it; 0 or an error in d. */
int mag_eval_resolve_task(mag_ctx *ctx, const char *pname, const rt_policy *pol, const char *tname,
                          const mag_value *tv, mag_pos pos, const rt_task **task, mag_diag *d);
/* The policies of the line: a policy, or a sweep cell's NAME = its points NAME[...] in
 * order, at most EVAL_MAX_POLICIES + 1 (one more than allowed, for the caller's message)
 * into names / args (the argument each came from); 0 or an error in d. */
int mag_eval_expand_names(mag_ctx *ctx, const mag_line *line, const char **names,
                          const mag_kv **args, int *nn, mag_diag *d);
/* %sample POLICY attention=true (mag_attn.c): the attention heat maps of gpt policy pol
 * on prompt s, its completion greedy (sampled = 0) or drawn at temp from draws (stream
 * split 0 of draws: the first sample of %sample), shown as one display_data; 0 or an
 * error in d. */
int mag_sample_attention(mag_ctx *ctx, const mag_line *line, const char *pname,
                         const rt_policy *pol, const rt_task *task, const rt_task_sample *s,
                         const rt_rng *draws, float temp, int sampled, mag_diag *d);
/* One evaluated policy of %eval: its result and per-prompt hits (greedy, sampled). */
typedef struct mag_eval_one {
    const char *name;
    const rt_policy *pol;
    rt_eval_result r;
    int *g, *s; /* (n) copies of rt_eval_hits_greedy / _sampled (s NULL when k = 0) */
} mag_eval_one;

/* The given value of key (NULL when not set in the line). */
const mag_value *mag_eval_given(const mag_config *cfg, const char *key);
/* The answer part of generated tokens g (T) as text ans, with the per-token log-probs lp
 * as text lps ("4 -0.01  6 -0.20  <eos> -0.00") and their sum; up to and including the
 * first EOS. */
void mag_eval_render_answer(const rt_task *task, const int *g, const float *lp, int T, char *ans,
                            size_t acap, char *lps, size_t lcap, double *sum);
/* Best-of-K (mag_eval_bon.c).  mag_bon_wanted: 1 if the line asks for it (best_of=,
 * reward=, true=), 0 if none is given, an error (negative, in d) when they do not go
 * together.  mag_eval_bon: %eval's best-of-K table of the np policies e on task;
 * mag_sample_bon: %sample's best-of-K table of policy pol on the n prompts s with draws
 * from draws at temp.  0 or an error in d. */
int mag_bon_wanted(mag_ctx *ctx, const mag_config *cfg, mag_diag *d);
int mag_eval_bon(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const mag_eval_one *e,
                 int np, const rt_task *task, const char *tname, mag_diag *d);
int mag_sample_bon(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const char *pname,
                   const rt_policy *pol, const rt_task *task, const rt_task_sample *s, int n,
                   float temp, const rt_rng *draws, mag_diag *d);

#endif
