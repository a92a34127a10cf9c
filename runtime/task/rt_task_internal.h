/* rt_task_internal.h: the task object and the per-kind functions shared by
 * rt_task.c (creation, split, sampling, mix, text) and rt_task_kinds.c (prompt
 * encoding, targets, systematic errors, features, triage rule).  Not public. */
#ifndef RT_TASK_INTERNAL_H
#define RT_TASK_INTERNAL_H

#include "rt_task.h"

struct rt_task {
    rt_task_config cfg; /* copy; cfg.tasks / cfg.task_names are NULL */
    int P, T;
    uint64_t space; /* prompts in this (non-mix) task's space; mix: sum */
    /* enumerated split when space <= ENUM_MAX (ids), else NULL */
    uint32_t *ids[2];
    size_t n_ids[2];
    /* mix */
    int n_dom;
    rt_task **dom;
    char **dom_names;
};

#define ENUM_MAX 65536u

/* rt_task_kinds.c */
uint64_t rt_task_k_space(const rt_task_config *c);
int rt_task_k_prompt_len(const rt_task_config *c);
int rt_task_k_answer_max(const rt_task_config *c);
/* prompt tokens (exactly P, no padding needed) of prompt id */
void rt_task_k_encode(const rt_task *t, uint64_t id, int *prompt);
/* the target answer; returns its length */
int rt_task_k_target(const rt_task *t, uint64_t id, int *ans);
int rt_task_k_corrupt_id(const rt_task *t, uint64_t id, int *ans);
/* decode an unpadded prompt of exactly P tokens; 0 ok, -1 if not a prompt of t */
int rt_task_k_decode(const rt_task *t, const int *prompt, int n, uint64_t *id);
void rt_task_k_features_leaf(const rt_task *t, uint64_t id, const int *target, int target_len,
                             const int *g, int n, double *feat);
void rt_task_k_triage_values(const rt_task_config *c, uint64_t id, int *v);
int rt_task_k_triage_good(const rt_task_config *c, const int *v, int *good);
int rt_task_k_triage_demo(const rt_task_config *c, uint64_t id, const int *v);
int rt_task_k_triage_conflicted(const rt_task_config *c, uint64_t id);
uint64_t rt_task_k_mix64(uint64_t z);

#endif
