/* rt_trainers.c: the table of built-in trainer records (rt_trainers.h).  Adding a
 * trainer is one line here (and its library in this module's meson.build). */
#include <string.h>

#include "rt_debate.h"
#include "rt_dpo.h"
#include "rt_opd_run.h"
#include "rt_rl.h"
#include "rt_rm.h"
#include "rt_sft.h"
#include "rt_trainers.h"

static const rt_trainer *const table[] = {
    &rt_sft_trainer,
    &rt_rl_trainer,
    &rt_opd_trainer,
    &rt_debate_judge_trainer,
    &rt_debate_learner_trainer,
    &rt_rm_trainer,
    &rt_dpo_trainer,
};
enum { N = (int)(sizeof table / sizeof table[0]) };

const rt_trainer *rt_trainer_find(const char *name)
{
    for (int i = 0; name && i < N; i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

const rt_trainer *rt_trainer_at(int i)
{
    return i >= 0 && i < N ? table[i] : NULL;
}

int rt_trainer_count(void)
{
    return N;
}
