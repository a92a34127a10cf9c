/* rt_task_internal.h: the task object, shared by rt_task.c (creation, split,
 * sampling, mix, text), rt_task_registry.c (kinds, keys, vocabulary) and the kind
 * records (rt_task_kinds.c, rt_task_triage.c).  Not public. */
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

#endif
