/* rt_debate_keys: the keys of an rt_debate configuration (rt_debate.h) as plain data
 * (rt_key.h), one initializer macro per key and the table rt_debate_keys[].  The
 * defaults are the ones `%%debate` uses; rt_debate_config_init agrees with them
 * (tests/runtime/core/keys_test.c).  Leaves out the keys a front end adds (the task and
 * the baseline policy by name, seed). */
#ifndef RT_DEBATE_KEYS_H
#define RT_DEBATE_KEYS_H

#include "rt_key.h"
#include "rt_task.h" /* RT_TASK_MAX_FEATURES: the most features evidence can reveal */

extern const char *const rt_debate_debaters_values[]; /* greedy minimax learned, NULL */
extern const char *const rt_debate_first_values[];    /* random policy baseline, NULL */

#define RT_DEBATE_KEY_EVIDENCE                                                                     \
    {                                                                                              \
        .name = "evidence", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 1,        \
        .max = RT_TASK_MAX_FEATURES, .def = "4",                                                   \
        .help = "features revealed in total by the two debaters (L <= the task's features)"        \
    }
#define RT_DEBATE_KEY_DEBATERS                                                                     \
    {                                                                                              \
        .name = "debaters", .type = RT_KEY_ENUM, .values = rt_debate_debaters_values,              \
        .def = "greedy",                                                                           \
        .help = "greedy | minimax (exact game tree) | learned (self-play policy gradient)"         \
    }
#define RT_DEBATE_KEY_JUDGE_STEPS                                                                  \
    {                                                                                              \
        .name = "judge_steps", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 0,     \
        .max = 1000000, .def = "1500",                                                             \
        .help = "Bradley-Terry training steps of the judge (and of the full-state judge)"          \
    }
#define RT_DEBATE_KEY_HIDDEN                                                                       \
    {                                                                                              \
        .name = "hidden", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 1,          \
        .max = 4096, .def = "32", .help = "hidden width of the judges"                             \
    }
#define RT_DEBATE_KEY_DEBATER_STEPS                                                                \
    {                                                                                              \
        .name = "debater_steps", .type = RT_KEY_INT, .flags = RT_KEY_MIN | RT_KEY_MAX, .min = 0,   \
        .max = 1000000, .def = "2000",                                                             \
        .help = "self-play steps of learned debaters"                                              \
    }
#define RT_DEBATE_KEY_FIRST                                                                        \
    {                                                                                              \
        .name = "first", .type = RT_KEY_ENUM, .values = rt_debate_first_values, .def = "random",   \
        .help = "who reveals first: random (per state) | policy | baseline"                        \
    }
#define RT_DEBATE_KEY_MAX_LEAVES                                                                   \
    {                                                                                              \
        .name = "max_leaves", .type = RT_KEY_INT, .flags = RT_KEY_MIN, .min = 1, .def = "1000000", \
        .help = "minimax: largest game tree (K!/(K-L)! leaves) searched"                           \
    }

extern const rt_key rt_debate_keys[];
extern const size_t rt_debate_n_keys;

#endif
