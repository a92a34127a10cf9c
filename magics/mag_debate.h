/* mag_debate: the session's debates (defined by `%%debate`, magics/mag_m_debate.c) as
 * the resolver of debate names that runtime/debate/rt_debate_reward.h needs, so that
 * `%%rl` can train on rewards reading debate(NAME).  The debate features, metrics and
 * per-step work are the runtime's (rt_debate_reward.h); only the name lookup is here. */
#ifndef MAG_DEBATE_H
#define MAG_DEBATE_H

#include <stddef.h>

#include "mag_session.h"
#include "rt_debate_reward.h"

/* An rt_debate_resolve_fn over a session: ctx points to a `const mag_session *`.
 * Resolves NAME to the debate, its baseline's model (NULL without baseline) and its
 * task's name; "unknown debate 'x'" if the session has none.  The session must not
 * change while the resolved pointers are in use. */
int mag_debate_resolve(void *ctx, const char *name, rt_debate_source *out, char *err,
                       size_t errlen);

#endif
