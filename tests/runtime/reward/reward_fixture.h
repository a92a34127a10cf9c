/* reward_fixture.h: a compilation environment shared by the reward tests: the
 * sequence-task features (correct, partial, length, format, eos), a `debate`
 * feature function with two debates (d1 -> slot 5, d2 -> slot 6), a registry of
 * defined rewards for inlining, and header parameter defaults (c = 0.25, alpha = 0.5). */
#ifndef REWARD_FIXTURE_H
#define REWARD_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "rt_reward.h"

static const char *const fx_features[] = {"correct", "partial", "length", "format", "eos"};
static const char *const fx_feature_fns[] = {"debate"};
static const char *const fx_param_names[] = {"c", "alpha"};
static const double fx_param_defaults[] = {0.25, 0.5};
/* feature values: correct=1 partial=0.5 length=12 format=1 eos=0 debate(d1)=1 debate(d2)=0 */
static const double fx_values[7] = {1, 0.5, 12, 1, 0, 1, 0};

typedef struct fx_registry {
    const char *names[8];
    rt_reward_program *progs[8];
    int n;
} fx_registry;

static int fx_resolve_debate(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                             size_t errlen)
{
    (void)ctx;
    if (strcmp(fn, "debate") != 0) return -1;
    if (!strcmp(arg, "d1")) return *slot = 5, 0;
    if (!strcmp(arg, "d2")) return *slot = 6, 0;
    if (!strcmp(arg, "bad")) return *slot = 99, 0; /* a buggy resolver */
    if (!strcmp(arg, "d11") || !strcmp(arg, "dl"))
        snprintf(err, errlen, "unknown debate '%s' (did you mean 'd1'?)", arg);
    else
        snprintf(err, errlen, "unknown debate '%s'", arg);
    return -1;
}

static const rt_reward_program *fx_lookup(void *ctx, const char *name)
{
    fx_registry *r = ctx;
    if (!r) return NULL;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->names[i], name)) return r->progs[i];
    return NULL;
}

/* The full environment of a sequence task with debates and the registry. */
static rt_reward_env fx_env(fx_registry *reg, const char *name)
{
    rt_reward_env e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.features = fx_features;
    e.n_features = 5;
    e.n_slots = 7;
    e.feature_fns = fx_feature_fns;
    e.n_feature_fns = 1;
    e.resolve_feature = fx_resolve_debate;
    e.resolve_reward = fx_lookup;
    e.reward_names = reg ? reg->names : NULL;
    e.n_reward_names = reg ? reg->n : 0;
    e.ctx = reg;
    e.param_names = fx_param_names;
    e.param_defaults = fx_param_defaults;
    e.n_params = 2;
    return e;
}

static void fx_registry_free(fx_registry *r)
{
    for (int i = 0; i < r->n; i++)
        rt_reward_free(r->progs[i]);
    r->n = 0;
}

#endif
