/* lang_opts.h: the body grammars of the test magics, as the product's registry gives
 * them (magics/mag_registry.c: mag_magic_body_kind): reward -> EXPR; policy, rl, opd,
 * debate -> CONFIG; anything else RAW.  magics/lang itself knows no magic names. */
#ifndef LANG_OPTS_H
#define LANG_OPTS_H

#include <string.h>

#include "mag_lang.h"

static inline mag_body_kind fx_body_kind(const char *name, void *ud)
{
    (void)ud;
    if (!strcmp(name, "reward")) return MAG_BODY_EXPR;
    if (!strcmp(name, "policy") || !strcmp(name, "rl") || !strcmp(name, "opd") ||
        !strcmp(name, "debate"))
        return MAG_BODY_CONFIG;
    return MAG_BODY_RAW;
}
#define FX_OPTS (&(const mag_parse_opts){fx_body_kind, NULL})

#endif
