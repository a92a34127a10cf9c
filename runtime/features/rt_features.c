/* rt_features.c: the provider table of rt_features.h and its lookups.  A new provider is
 * a record in its own module plus one line in PROVIDERS. */
#include "rt_features.h"

#include <string.h>

#include "rt_debate_reward.h"
#include "rt_rm.h"

#define PROVIDERS(X) X(rt_debate_feature_provider, "debate") X(rt_rm_feature_provider, "rm")

#define AS_PTR(rec, nm) &rec,
#define AS_NAME(rec, nm) nm,
static const rt_feature_provider *const providers[] = {PROVIDERS(AS_PTR)};
const char *const rt_features_names[] = {PROVIDERS(AS_NAME) NULL};
enum { N_PROVIDERS = sizeof providers / sizeof providers[0] };

int rt_features_count(void)
{
    return N_PROVIDERS;
}

const rt_feature_provider *rt_features_at(int i)
{
    return i >= 0 && i < N_PROVIDERS ? providers[i] : NULL;
}

const rt_feature_provider *rt_features_find(const char *name)
{
    for (int i = 0; name && i < N_PROVIDERS; i++)
        if (!strcmp(name, providers[i]->name)) return providers[i];
    return NULL;
}

const rt_feature_provider *rt_features_for_reward(const rt_reward_program *p)
{
    int n = p ? rt_reward_n_features(p) : 0;
    for (int k = 0; k < N_PROVIDERS; k++) {
        const char *const one[] = {providers[k]->name, NULL};
        const char *const *fns = providers[k]->fns ? providers[k]->fns : one;
        for (int q = 0; fns[q]; q++) {
            size_t len = strlen(fns[q]);
            for (int i = 0; i < n; i++) {
                const char *f = rt_reward_feature_name(p, i);
                if (!strncmp(f, fns[q], len) && f[len] == '(') return providers[k];
            }
        }
    }
    return NULL;
}
