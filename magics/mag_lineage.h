/* mag_lineage: what a policy carries besides its weights — the definition of its task
 * and how it was made — as the metadata text of its file (rt_model_save_meta, format 3)
 * and in the session (mag_entry.lineage).
 *
 * The metadata text is "key = value" lines, the value running to the end of the line:
 *   policy = tuned                                 the name it was saved under
 *   task = ad                                      its task's name, then the task's
 *   task.spec = add digits=2 noise=0 holdout=0.2   definition as %task writes it
 *   task.domain.1 = ad add digits=2 ...            (a mix: each domain, "NAME SPEC")
 *   made = %%rl tuned[lr=0.0003]                   the lineage (the session's lines,
 *   settings = from=base reward=exact lr=0.0003    verbatim; see mag_lineage_note)
 *   sources = base
 *   base.made = %%policy base
 * The runtime stores the text and gives it back unread; only this module writes and
 * reads it.  Values never hold a newline (names and settings are single-line).
 *
 * Ownership: functions returning char * return rt_malloc'ed text (caller rt_frees). */
#ifndef MAG_LINEAGE_H
#define MAG_LINEAGE_H

#include <stddef.h>

#include "mag_magic.h"
#include "rt_task.h"

#define MAG_LINEAGE_MAX 2048 /* bytes of a policy's lineage text (longer is cut) */

/* For the training magics, right after they store policy `name` (mag_train_put_policy,
 * mag_session_put): records its lineage from the cell — "made = %%MAGIC NAME" (cell
 * 1; "%MAGIC NAME" for a line magic), "settings = k=v ..." (every key the cell gave, at
 * sweep point pt, values as written), "sources = a, b" (the values of keys naming
 * policies: from, teacher, reference, to ...) and each source's own "made" lines
 * prefixed by its name (one generation of history).  cfg may be NULL (then only the
 * made line).  A lineage is optional: on ENOMEM the policy simply has none. */
void mag_lineage_note(mag_ctx *ctx, const char *magic, int cell, const char *name,
                      const mag_config *cfg, size_t pt);

/* The definition of task t as "KIND key=value ..." (every key of its kind, numbers in
 * their shortest exact form; a mix: "mix tasks=[a, b] noise=0 holdout=0.2") and, for a
 * mix, "task.domain.I = NAME SPEC" lines: appended to b as the lines "task.spec = ..."
 * (and domains).  0, or -1 on ENOMEM. */
int mag_task_spec_lines(const rt_task *t, rt_strbuf *b);

/* The metadata text of policy `name` for its file (the lines above); NULL on ENOMEM. */
char *mag_policy_meta(const mag_session *s, const char *name);

/* The value of key in metadata text (the first line "key = value"), copied into
 * out[cap] (cut to fit); 1 if found, else 0 (out ""). */
int mag_meta_get(const char *meta, const char *key, char *out, size_t cap);

/* The task a metadata text defines (task.spec and task.domain.I lines): 0 with *out
 * a new task (rt_task_free), 1 when the text names no task, or a negative RT_E* code
 * with err set (an unknown kind, a bad value: a file from another version). */
int mag_task_from_meta(const char *meta, rt_task **out, rt_diag *err);

/* 1 if tasks a and b have the same definition (the same spec lines). */
int mag_task_same(const rt_task *a, const rt_task *b);

/* The lineage lines of metadata text (every line but policy, task, task.spec and
 * task.domain.*), as new text prefixed by "loaded = PATH (saved as NAME)"; NULL on
 * ENOMEM. */
char *mag_lineage_loaded(const char *meta, const char *path);

/* 0 if name is at most MAG_NAME_MAX code points, else MAG_EVALUE with d at pos
 * ("a name of 10000 characters is too long (at most 64)"). */
int mag_check_name(const mag_ctx *ctx, const char *name, mag_pos pos, mag_diag *d);

#endif
