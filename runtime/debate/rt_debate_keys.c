/* rt_debate_keys: the table of rt_debate_keys.h. */
#include "rt_debate_keys.h"

const char *const rt_debate_debaters_values[] = {"greedy", "minimax", "learned", NULL};
const char *const rt_debate_first_values[] = {"random", "policy", "baseline", NULL};

const rt_key rt_debate_keys[] = {
    RT_DEBATE_KEY_EVIDENCE,   RT_DEBATE_KEY_DEBATERS,      RT_DEBATE_KEY_JUDGE_STEPS,
    RT_DEBATE_KEY_HIDDEN,     RT_DEBATE_KEY_DEBATER_STEPS, RT_DEBATE_KEY_FIRST,
    RT_DEBATE_KEY_MAX_LEAVES,
};
const size_t rt_debate_n_keys = sizeof rt_debate_keys / sizeof rt_debate_keys[0];
