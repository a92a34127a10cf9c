/* mag_prefs: the session's preference sets (%%preferences, mag_m_prefs.c) as other magics
 * use them: %export FILE.jsonl NAME writes one in TRL's JSONL (rt_pref_write).
 * mag_prefs_get gives a set to the trainers (%%dpo, mag_m_dpo.c).
 * Leaves out: the trainers themselves. */
#ifndef MAG_PREFS_H
#define MAG_PREFS_H

#include "mag_magic.h"
#include "rt_pref.h"
#include "rt_task.h"

/* Writes preference set `name` to path; 0 (printing "wrote N preference pairs ..."), or
 * a cell error at `at` (unknown set, the file cannot be written). */
int mag_prefs_export(mag_ctx *ctx, const char *path, const char *name, mag_pos at, mag_diag *d);

/* Preference set `name` of session s, or NULL; *task (may be NULL) = the set's task (its
 * own copy: a task redefined later does not change it), *labeler (may be NULL) = the
 * name of the labeler reward of a simulated set (the hidden true reward), NULL for a set
 * read from a file.  Borrowed: valid while the session holds the set. */
const rt_pref_set *mag_prefs_get(const mag_session *s, const char *name, const rt_task **task,
                                 const char **labeler);

/* The preference set that `data` (the value of cell key `key`, e.g. "data") denotes at sweep
 * point pt of cfg: a set of that name, or the point of a %%preferences sweep
 * (prefs[seed=s]) whose keys match this point's (pairing by key, mag_train_pair_entry, as
 * from = POLICY pairs).  0 with *set, *task, *labeler (each may be NULL, as in
 * mag_prefs_get) and *resolved (the session name); else a cell error at the key's value:
 * no matching point ("no point of sweep 'p' matches ..."), a name of another kind ("'x' is
 * a policy, not a preference set"), an unknown name (did you mean). */
int mag_prefs_at(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg, size_t pt,
                 const char *key, const rt_pref_set **set, const rt_task **task,
                 const char **labeler, const char **resolved, mag_diag *d);

#endif
