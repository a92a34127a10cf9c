/* rt_opd_keys: the table of rt_opd_keys.h. */
#include "rt_opd_keys.h"

const char *const rt_opd_estimator_values[] = {"sampled", "full", NULL};

const rt_key rt_opd_keys[] = {
    RT_OPD_KEY_LAMBDA,       RT_OPD_KEY_ESTIMATOR,
    RT_OPD_KEY_GAMMA,        RT_OPD_KEY_TEACHER_TEMPERATURE,
    RT_OPD_KEY_STEPS,        RT_OPD_KEY_BATCH,
    RT_OPD_KEY_LR,           RT_OPD_KEY_TEMPERATURE,
    RT_OPD_KEY_EVAL_EVERY,   RT_OPD_KEY_EVAL_PROMPTS,
    RT_OPD_KEY_TARGET_TOP_K, RT_OPD_KEY_TARGET_TOP_P,
};
const size_t rt_opd_n_keys = sizeof rt_opd_keys / sizeof rt_opd_keys[0];
