/* rt_debate_int: private to runtime/debate — the small one-hot MLP shared by the judge
 * and the learned debater, and the internals of the judge and learner structs.
 *
 *   tokens (N, P) in [0, V) -> table U (P*V, H) + b1 -> ReLU -> Linear W2 (O, H) + b2
 *
 * One parameter block (rt_params.h: weights, gradients, Adam moments) carved into the
 * views U, b1, W2, b2; trained with rt_params_zero_grad and rt_adam like the policy.
 * Not a public interface. */
#ifndef RT_DEBATE_INT_H
#define RT_DEBATE_INT_H

#include <stddef.h>

#include "rt_debate.h"
#include "rt_diag.h"
#include "rt_params.h"

typedef struct rt_dmlp {
    int P, V, H, O;
    rt_params params;            /* the block: U | b1 | W2 | b2 in each part */
    float *U, *b1, *W2, *b2;     /* views into params.w */
    float *gU, *gb1, *gW2, *gb2; /* views into params.g */
} rt_dmlp;

int rt_dmlp_init(rt_dmlp *n, int P, int V, int H, int O, const rt_rng *rng);
void rt_dmlp_release(rt_dmlp *n);
/* out (O) for one token row tok (P); h (H) scratch.  Fixed-order scalar loops. */
void rt_dmlp_forward1(const rt_dmlp *n, const int *tok, float *h, float *out);
/* Batch forward for training: h (N, H) post-ReLU, out (N, O). */
void rt_dmlp_forward(const rt_dmlp *n, const int *tok, int N, float *h, float *out);
/* Accumulates gradients from dout (N, O); dh (N, H) scratch (overwritten). */
void rt_dmlp_backward(rt_dmlp *n, const int *tok, int N, const float *h, const float *dout,
                      float *dh);
/* Adam as the judge and learner use it: rt_adam_defaults() (betas 0.9/0.999, eps 1e-8,
 * no clipping) with this lr. */
rt_adam_config rt_dmlp_adam_config(float lr);

struct rt_debate_judge {
    const rt_task *task;
    int K, M, A;
    rt_dmlp net; /* P = K, V = M + 1, O = A */
};

struct rt_debate_learner {
    const rt_task *task;
    int K, M, A, L;
    rt_dmlp net; /* P = K + 2, V = max(2M, A), O = K */
};

/* Evidence tokens of a state: tok[k] = values[k] if bit k of revealed, else M. */
void rt_debate_judge_tokens(const rt_debate_judge *j, const int *values, unsigned revealed,
                            int *tok);
/* The learned debater's move (argmax over unrevealed features, lowest index on ties). */
int rt_debate_learner_move(const rt_debate_learner *l, const int *values, unsigned revealed,
                           int a_self, int a_other);
/* Tokens of the learner's input and its masked logits. */
void rt_debate_learner_tokens(const rt_debate_learner *l, const int *values, unsigned revealed,
                              int a_self, int a_other, int *tok);
/* The RT_DEBATE_E* code and err of a trainer run's result (0 stays 0, err untouched). */
int rt_debate_train_result(int rc, const rt_diag *td, rt_diag *err);
void rt_debate_set_err(rt_diag *err, int code, long step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A random subset of exactly L of K features (shuffle, first L) as a bit set. */
unsigned rt_debate_random_subset(rt_rng *r, int K, int L);

#endif
