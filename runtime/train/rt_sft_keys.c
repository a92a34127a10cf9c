/* rt_sft_keys: the table of rt_sft_keys.h. */
#include "rt_sft_keys.h"

const rt_key rt_sft_keys[] = {RT_SFT_KEY_STEPS, RT_SFT_KEY_NOISE, RT_SFT_KEY_BATCH, RT_SFT_KEY_LR,
                              RT_SFT_KEY_EVAL_EVERY};
const size_t rt_sft_n_keys = sizeof rt_sft_keys / sizeof rt_sft_keys[0];
