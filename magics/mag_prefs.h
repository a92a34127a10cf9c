/* mag_prefs: the session's preference sets (%%preferences, mag_m_prefs.c) as other magics
 * use them: %export FILE.jsonl NAME writes one in TRL's JSONL (rt_pref_write).
 * mag_prefs_get gives a set to the trainers (%%dpo, mag_m_dpo.c); mag_prefs_pack /
 * mag_prefs_unpack_put carry one by value in a job (`rlhf-kernel worker`).
 * Leaves out: the trainers themselves. */
#ifndef MAG_PREFS_H
#define MAG_PREFS_H

#include "mag_magic.h"
#include "rt_pref.h"
#include "rt_task.h"
#include "rt_text.h"

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

/* A preference set by value, as a job carries it (mag_train_cell.c, `rlhf-kernel worker`):
 * the lines "preferences = NAME", "labeler = REWARD" (a simulated set's), "simulated =
 * 0|1", "task = TASK" and the definition of the set's own task copy (mag_task_spec_lines),
 * then "jsonl = N" and the N bytes of its pairs as %export writes them (rt_pref_format:
 * 17 significant digits, so parsing them gives the same pairs, split and scores; the
 * flipped marks are not carried: no trainer reads them).
 * pack: appends set `name` of s to out; 0, 1 (no such set) or -1 (ENOMEM).
 * unpack_put: puts the set data[0..size) describes into s under its name (copied into
 * name[ncap]), with its own task copy; 0, or 1 with err[cap] (bytes that are not such a
 * set, a bad task definition, the pairs' NAME:LINE:COL parse error). */
int mag_prefs_pack(const mag_session *s, const char *name, rt_strbuf *out);
int mag_prefs_unpack_put(mag_session *s, const void *data, size_t size, char *name, size_t ncap,
                         char *err, size_t cap);

#endif
