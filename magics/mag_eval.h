/* mag_eval: what the evaluating magics share (mag_m_eval.c: %eval, %sample;
 * mag_m_correlate.c: %correlate): naming the policies of a line and resolving each with
 * its task.  Leaves out: the evaluation itself (rt_eval.h, rt_bon.h, rt_answers.h). */
#ifndef MAG_EVAL_H
#define MAG_EVAL_H

#include "mag_magic.h"
#include "rt_policy.h"
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

#endif
