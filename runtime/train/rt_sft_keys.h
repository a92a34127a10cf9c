/* rt_sft_keys: the keys of an rt_sft configuration (rt_sft.h) as plain data (rt_key.h),
 * one initializer macro per key and the table rt_sft_keys[].  The defaults are the ones
 * `%%policy` uses; rt_sft_config_init agrees with them (tests/runtime/core/keys_test.c).
 * Leaves out: the policy's own keys (rt_policy_keys.h) and the keys a front end adds
 * (task and source policy by name, seed). */
#ifndef RT_SFT_KEYS_H
#define RT_SFT_KEYS_H

#include "rt_key.h"

#define RT_SFT_KEY_STEPS                                                                           \
    {                                                                                              \
        .name = "sft_steps", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,  \
        .min = 0, .max = 1000000,                                                                  \
        .help = "supervised steps (default 1000 with a task, 0 with from)"                         \
    }
#define RT_SFT_KEY_NOISE                                                                           \
    {                                                                                              \
        .name = "noise", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,   \
        .min = 0, .max = 1,                                                                        \
        .help = "fraction of demonstrations with systematic errors (default: the task's)"          \
    }
#define RT_SFT_KEY_BATCH                                                                           \
    {                                                                                              \
        .name = "batch", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,      \
        .min = 1, .max = 65536, .def = "256", .help = "demonstrations per step"                    \
    }
#define RT_SFT_KEY_LR                                                                              \
    {                                                                                              \
        .name = "lr", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP | RT_KEY_MIN_EXCL, .min = 0,    \
        .def = "1e-3", .help = "Adam learning rate"                                                \
    }
#define RT_SFT_KEY_EVAL_EVERY                                                                      \
    {                                                                                              \
        .name = "eval_every", .type = RT_KEY_INT, .flags = RT_KEY_MIN, .min = 0, .def = "100",     \
        .help = "held-out accuracy every N steps (0 = never)"                                      \
    }

extern const rt_key rt_sft_keys[];
extern const size_t rt_sft_n_keys;

#endif
