/* rt_task_internal.h: the task object, shared by rt_task.c (creation, split,
 * sampling, mix, text), rt_task_registry.c (kinds, keys, vocabulary) and the kind
 * records (rt_task_kinds.c, rt_task_triage.c).  Not public.
 * Leaves out: the public task API (rt_task.h) and what kinds compute (rt_task_kind.h
 * records). */
#ifndef RT_TASK_INTERNAL_H
#define RT_TASK_INTERNAL_H

#include "rt_diag.h"
#include "rt_task_kind.h"

struct rt_task {
    rt_task_config cfg;          /* copy; cfg.tasks / cfg.task_names are NULL */
    const rt_task_kind_ops *ops; /* cfg.kind */
    int P, T, V;
    uint64_t space; /* prompts in this (non-mix) task's space; mix: sum */
    uint64_t salt;  /* of the split hash: from the kind's registry index */
    /* enumerated split when space <= ENUM_MAX (ids), else NULL */
    uint32_t *ids[2];
    size_t n_ids[2];
    /* kind file: the rows (a reference, dropped by rt_task_free) */
    struct rt_task_data *data;
    /* the vocabulary: a data's token table (file tasks, a mix of them), NULL: built-in */
    const struct rt_task_data *vdata;
    /* mix */
    int n_dom;
    rt_task **dom;
    char **dom_names;
};

#define ENUM_MAX 65536u

/* rt_task_registry.c: the highest token id of the registry (for parsing), and range
 * and cross-key checks of cfg (prefix names the domain of a mix). */
int rt_task_k_max_token(void);
int rt_task_k_validate(const rt_task_config *c, const char *prefix, rt_diag *err);
void rt_task_k_set_err(rt_diag *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t rt_task_k_mix64(uint64_t z);

/* rt_task_registry.c: snprintf into buf at *len, keeping the length needed; the swap
 * rule of demonstrations (the first pair of differing adjacent tokens of ans[0..n-1),
 * the answer before its EOS, swapped; returns n). */
void rt_task_k_put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int rt_task_k_swap_first(int *ans, int n);

/* rt_task_file.c: a mix's domain d against domain 0 (the same vocabulary, else
 * RT_EINVAL naming the domain), a token as the description shows it (the space as
 * '␠') and a file task's description. */
int rt_task_k_mix_vocab(const rt_task *mix, int d, rt_diag *err);
const char *rt_task_k_token_shown(const rt_task *t, int tok);
/* The description's shape lines, shared by every kind: " TOKEN..." (the vocabulary's
 * tokens, after its header), then "\nprompt length P, answer at most T tokens, N
 * prompts\nfeatures: NAME..." */
void rt_task_k_put_shape(const rt_task *t, char *buf, size_t cap, size_t *len);
size_t rt_task_k_describe_file(const rt_task *t, rt_rng *rng, int n, char *buf, size_t cap);

#endif
