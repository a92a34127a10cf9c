/* rt_policy_keys: the table of rt_policy_keys.h. */
#include "rt_policy_keys.h"

const char *const rt_policy_arch_values[] = {"mlp", "gpt", NULL};
const char *const rt_policy_act_values[] = {"relu", "gelu", NULL};

const rt_key rt_policy_keys[] = {RT_POLICY_KEY_ARCH,   RT_POLICY_KEY_CONTEXT, RT_POLICY_KEY_EMBED,
                                 RT_POLICY_KEY_HIDDEN, RT_POLICY_KEY_LAYERS,  RT_POLICY_KEY_ACT};
const size_t rt_policy_n_keys = sizeof rt_policy_keys / sizeof rt_policy_keys[0];
