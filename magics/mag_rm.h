/* mag_rm: the session's reward models (%%rm, mag_m_rm.c) as the resolver of
 * rm(NAME) / rm_mean(NAME) / rm_min(NAME) that runtime/pref/rt_rm.h's feature provider
 * needs (%%rl's rewards, %eval / %sample best_of).  Only the name lookup is here. */
#ifndef MAG_RM_H
#define MAG_RM_H

#include <stddef.h>

#include "mag_session.h"
#include "rt_rm.h"

/* NAME -> the session's reward model, its own task copy and task name; nonzero with
 * "unknown reward model 'x' (did you mean 'y'?)" otherwise.  Borrowed: valid while the
 * session holds the model. */
int mag_rm_resolve(const mag_session *s, const char *name, rt_rm_source *out, char *err,
                   size_t errlen);

#endif
