/* rt_features: the table of feature providers (rt_feature_provider, rt_rl.h) by name —
 * the families of reward feature functions NAME(ARG) whose values and metrics a run
 * computes at every step (today "debate": debate(D) and judge_full(D),
 * rt_debate_reward.h; "rm": rm(R), rm_mean(R), rm_min(R), rt_rm.h).  A caller finds the provider a
 * reward needs (rt_features_for_reward), creates its state with the provider's create and a
 * resolver of ARG names, and hands {provider, state} to rt_rl_run_features; nothing here is
 * debate-specific. It sits above the modules whose providers it lists (rl defines the ops, debate
 * implements one). Leaves out: the resolvers (the caller's: a session, a worker's registry), the
 * runs. */
#ifndef RT_FEATURES_H
#define RT_FEATURES_H

#include "rt_reward.h"
#include "rt_rl.h"

/* The providers' names in table order, NULL-terminated (the feature functions a reward
 * compiler may accept). */
extern const char *const rt_features_names[];
int rt_features_count(void);
const rt_feature_provider *rt_features_at(int i);              /* NULL outside [0, count) */
const rt_feature_provider *rt_features_find(const char *name); /* NULL if unknown */
/* The first provider (in table order) of a feature function the program reads (a
 * feature named "FN(...)", FN the provider's name or one of its fns), NULL if none. */
const rt_feature_provider *rt_features_for_reward(const rt_reward_program *p);

#endif
