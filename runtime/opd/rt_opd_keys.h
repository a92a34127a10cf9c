/* rt_opd_keys: the keys of an rt_opd_run configuration (rt_opd_run.h) as plain data
 * (rt_key.h), one initializer macro per key and the table rt_opd_keys[].  The defaults
 * are the ones `%%opd` uses; rt_opd_run_config_init agrees with them
 * (tests/runtime/core/keys_test.c).  Leaves out the keys a front end adds (student,
 * teacher, reference and task by name, seed). */
#ifndef RT_OPD_KEYS_H
#define RT_OPD_KEYS_H

#include "rt_key.h"

extern const char *const rt_opd_estimator_values[]; /* sampled full, NULL */

#define RT_OPD_KEY_LAMBDA                                                                          \
    {                                                                                              \
        .name = "lambda", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP, .def = "1",                \
        .help = "reward scale: 1 = OPD, > 1 = ExOPD, < 1 toward the reference"                     \
    }
#define RT_OPD_KEY_ESTIMATOR                                                                       \
    {                                                                                              \
        .name = "estimator", .type = RT_KEY_ENUM, .values = rt_opd_estimator_values,               \
        .flags = RT_KEY_SWEEP, .def = "sampled",                                                   \
        .help = "sampled (as released) or full (exact per-state KL gradient)"                      \
    }
#define RT_OPD_KEY_GAMMA                                                                           \
    {                                                                                              \
        .name = "gamma", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,   \
        .min = 0, .max = 1, .def = "0",                                                            \
        .help = "discount of the per-token reward (0 as released, 1 = reward-to-go)"               \
    }
#define RT_OPD_KEY_TEACHER_TEMPERATURE                                                             \
    {                                                                                              \
        .name = "teacher_temperature", .type = RT_KEY_NUMBER,                                      \
        .flags = RT_KEY_SWEEP | RT_KEY_MIN_EXCL, .min = 0, .def = "1",                             \
        .help = "tau: log pi_T becomes log_softmax(z_T / tau) (1/lambda = sharpening control)"     \
    }
#define RT_OPD_KEY_STEPS                                                                           \
    {                                                                                              \
        .name = "steps", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,      \
        .min = 0, .max = 1000000, .def = "200", .help = "training steps"                           \
    }
#define RT_OPD_KEY_BATCH                                                                           \
    {                                                                                              \
        .name = "batch", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,      \
        .min = 1, .max = 8192, .def = "64", .help = "prompts per step (one sample each)"           \
    }
#define RT_OPD_KEY_LR                                                                              \
    {                                                                                              \
        .name = "lr", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP | RT_KEY_MIN_EXCL, .min = 0,    \
        .def = "1e-3", .help = "Adam learning rate"                                                \
    }
#define RT_OPD_KEY_TEMPERATURE                                                                     \
    {                                                                                              \
        .name = "temperature", .type = RT_KEY_NUMBER, .flags = RT_KEY_SWEEP | RT_KEY_MIN_EXCL,     \
        .min = 0, .def = "1",                                                                      \
        .help = "student temperature tau: samples, log-probs, gradients at softmax(z / tau)"       \
    }
#define RT_OPD_KEY_EVAL_EVERY                                                                      \
    {                                                                                              \
        .name = "eval_every", .type = RT_KEY_INT, .flags = RT_KEY_MIN, .min = 0, .def = "20",      \
        .help = "held-out accuracy every N steps (and at the start and the end)"                   \
    }
#define RT_OPD_KEY_EVAL_PROMPTS                                                                    \
    {                                                                                              \
        .name = "eval_prompts", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 1,    \
        .max = 65536, .def = "512", .help = "held-out prompts of eval_accuracy"                    \
    }
/* The restricted target has no default on purpose: a key not given is off and adds no
 * column to a run's configuration, so runs that do not use it export what they did
 * before it existed (rt_opd_defaults: 0 and 1). */
#define RT_OPD_KEY_TARGET_TOP_K                                                                    \
    {                                                                                              \
        .name = "target_top_k", .type = RT_KEY_INT, .flags = RT_KEY_SWEEP | RT_KEY_MIN, .min = 0,  \
        .help = "estimator = full: restrict the target to the teacher's k likeliest tokens (not "  \
                "given or 0: off)"                                                                 \
    }
#define RT_OPD_KEY_TARGET_TOP_P                                                                    \
    {                                                                                              \
        .name = "target_top_p", .type = RT_KEY_NUMBER,                                             \
        .flags = RT_KEY_SWEEP | RT_KEY_MIN_EXCL | RT_KEY_MAX, .min = 0, .max = 1,                  \
        .help = "estimator = full: restrict the target to the teacher's top-p nucleus (not given " \
                "or 1: off)"                                                                       \
    }

extern const rt_key rt_opd_keys[];
extern const size_t rt_opd_n_keys;

#endif
