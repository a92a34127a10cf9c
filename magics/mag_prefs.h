/* mag_prefs: the session's preference sets (%%preferences, mag_m_prefs.c) as other magics
 * use them: %export FILE.jsonl NAME writes one in TRL's JSONL (rt_pref_write).
 * Leaves out: the trainers' access (%%rm and %%dpo are not built yet: issue 15). */
#ifndef MAG_PREFS_H
#define MAG_PREFS_H

#include "mag_magic.h"

/* Writes preference set `name` to path; 0 (printing "wrote N preference pairs ..."), or
 * a cell error at `at` (unknown set, the file cannot be written). */
int mag_prefs_export(mag_ctx *ctx, const char *path, const char *name, mag_pos at, mag_diag *d);

#endif
