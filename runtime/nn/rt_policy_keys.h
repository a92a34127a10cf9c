/* rt_policy_keys: the keys of a new policy's model (rt_policy.h, the mlp of rt_model.h)
 * as plain data (rt_key.h), one initializer macro per key and the table
 * rt_policy_keys[].  The defaults are the ones `%%policy` uses and rt_model's mlp
 * defaults (tests/runtime/core/keys_test.c).  Leaves out the training keys (rt_sft_keys.h). */
#ifndef RT_POLICY_KEYS_H
#define RT_POLICY_KEYS_H

#include "rt_key.h"
#include "rt_model_gpt.h"
#include "rt_policy.h"

extern const char *const rt_policy_arch_values[]; /* mlp gpt, NULL (gpt: rt_model_gpt.h) */
extern const char *const rt_policy_act_values[];  /* relu gelu, NULL */

#define RT_POLICY_KEY_ARCH                                                                         \
    {                                                                                              \
        .name = "arch", .type = RT_KEY_ENUM, .values = rt_policy_arch_values, .def = "mlp",        \
        .help = "architecture"                                                                     \
    }
#define RT_POLICY_KEY_CONTEXT                                                                      \
    {                                                                                              \
        .name = "context", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,    \
        .min = 1, .max = 1024, .def = "8",                                                         \
        .help = "mlp: tokens of context K (8); gpt: positions, prompt + answer (32, at most 256)"  \
    }
#define RT_POLICY_KEY_EMBED                                                                        \
    {                                                                                              \
        .name = "embed", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,      \
        .min = 1, .max = 4096, .def = "32", .help = "embedding width D"                            \
    }
#define RT_POLICY_KEY_HIDDEN                                                                       \
    {                                                                                              \
        .name = "hidden", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,     \
        .min = 1, .max = 16384, .def = "256", .help = "hidden width H"                             \
    }
#define RT_POLICY_KEY_LAYERS                                                                       \
    {                                                                                              \
        .name = "layers", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,     \
        .min = 1, .max = RT_GPT_MAX_LAYERS, .def = "2",                                            \
        .help = "hidden layers (mlp, at most 8) or blocks (gpt, at most 12)"                       \
    }
#define RT_POLICY_KEY_ACT                                                                          \
    {                                                                                              \
        .name = "act", .type = RT_KEY_ENUM, .values = rt_policy_act_values, .flags = RT_KEY_SWEEP, \
        .def = "relu", .help = "activation"                                                        \
    }

extern const rt_key rt_policy_keys[];
extern const size_t rt_policy_n_keys;

#endif
