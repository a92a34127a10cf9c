/* rt_task_kind: what a task kind is — one ops record — and the registry that holds
 * the records.  This is the header for writing a kind; users of tasks need only
 * rt_task.h.
 *
 * A kind is one static rt_task_kind_ops record: its name, its tag token text, its
 * keys (name, type, range, default, help; the registry adds noise and holdout after
 * them), its feature names, and the functions below.  The built-in records are listed
 * in rt_task_registry.c (one line each; their order fixes their tag ids and split
 * salts, so it never changes); a program may add a kind at start-up with
 * rt_task_kind_register.  Every generic operation (sampling, the split, mixes,
 * demonstrations, features, text, description, %task's keys and errors, the reward
 * language's feature union) goes through the records: a new kind touches nothing else.
 *
 * Kind functions see only the task (rt_task_values: the kind's key values in key
 * order) and prompt ids 0 .. space-1; they are pure and may run on any thread.
 * Leaves out: mixes (rt_task.c routes a mix's samples to its domains' kinds), the
 * split, sampling and text (rt_task.c). */
#ifndef RT_TASK_KIND_H
#define RT_TASK_KIND_H

#include "rt_diag.h"
#include "rt_task.h"

struct rt_task_kind_ops {
    const char *name; /* "add": %task's KIND */
    /* text of the token that starts every prompt of the kind ("<add>"); the registry
       assigns its id.  NULL only for the composite mix. */
    const char *tag;
    const char *help;                 /* one line: what the task asks */
    const rt_task_key *keys;          /* the kind's own keys, in order (noise, holdout follow) */
    int n_keys;                       /* at most RT_TASK_MAX_KEYS - 2 */
    const char *const *feature_names; /* in index order; NULL: the standard five */
    int n_features; /* with feature_names: 5..RT_TASK_MAX_FEATURES, standard five first */
    int mixable;    /* may be a domain of a mix (standard features only) */
    /* Rules between keys, after each key's range is checked: 0, or nonzero with msg
       ("good must be between 1 and 3 (actions - 1)").  May be NULL. */
    int (*check)(const double *v, char *msg, size_t cap);
    /* prompt length P (tag included, <= RT_TASK_MAX_P), answer length T (EOS
       included, <= RT_TASK_MAX_T) and the number of prompts, from the key values */
    void (*shape)(const double *v, int *P, int *T, uint64_t *space);
    /* the P-1 prompt tokens after the tag, of prompt id */
    void (*encode)(const rt_task *t, uint64_t id, int *body);
    /* the inverse of encode on n = P-1 tokens: 0 with *id, or -1 if not a prompt */
    int (*decode)(const rt_task *t, const int *body, int n, uint64_t *id);
    /* the target answer, EOS included; returns its length */
    int (*target)(const rt_task *t, uint64_t id, int *ans);
    /* the documented systematic error (what noise=1 demonstrates); returns its length */
    int (*corrupt)(const rt_task *t, uint64_t id, int *ans);
    /* the format rule: 1 if tok may appear in an answer before EOS */
    int (*answer_token)(const rt_task *t, int tok);
    /* Features beyond the standard ones, or NULL.  Called with feat[0..4] already
       holding the standard features (rt_task.h); may rewrite them and fills the
       rest. */
    void (*features)(const rt_task *t, uint64_t id, const int *g, int n, double *feat);
};

/* The five standard features every kind has first: correct, partial, length,
 * format, eos. */
extern const char *const rt_task_std_features[5];

/* Adds a kind to the registry and assigns its tag id (the next free id: 25..29 are
 * the built-ins', then 32, 33, ...).  Call at start-up, before any task of the kind
 * exists and while no other thread uses the registry.  0, or RT_EINVAL with err
 * set (a name already taken, a missing function, too many keys or features, the
 * registry full). */
int rt_task_kind_register(const rt_task_kind_ops *kind, rt_diag *err);
/* The id of the kind's tag token (RT_TOK_PAD for mix or an unregistered kind). */
int rt_task_kind_tag(const rt_task_kind_ops *kind);

/* For kind functions: the task's key values (own keys, then noise and holdout). */
const double *rt_task_values(const rt_task *t);
int rt_task_kind_index(const rt_task_kind_ops *kind); /* registry position, or -1 */

#endif
