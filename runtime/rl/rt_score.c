/* rt_score.c: rewards of task samples with their texts (rt_score.h). */
#include "rt_score.h"

double rt_score_one(const rt_task *task, const rt_reward_program *p, const double *params,
                    const rt_task_sample *s, const int *g, int n, const double *feat)
{
    if (rt_reward_min_texts(p) == 0) return rt_reward_eval(p, feat, params);
    rt_task_texts tx;
    rt_task_texts_of(task, s, g, n, &tx);
    return rt_reward_eval_texts(p, feat, params, tx.v);
}

void rt_score_batch(const rt_task *task, const rt_reward_program *p, const double *params,
                    const rt_task_sample *samples, const int *tokens, int B, int T,
                    const double *feat, size_t stride, double *out)
{
    if (rt_reward_min_texts(p) == 0) {
        rt_reward_eval_batch(p, feat, (size_t)B, stride, params, out);
        return;
    }
    for (int i = 0; i < B; i++)
        out[i] = rt_score_one(task, p, params, &samples[i], tokens + (size_t)i * (size_t)T, T,
                              feat + (size_t)i * stride);
}

void rt_score_env_texts(const rt_task *task, rt_reward_env *env, const char **names,
                        unsigned char *numeric)
{
    int n = rt_task_n_texts(task);
    if (n > RT_TASK_MAX_TEXTS) n = RT_TASK_MAX_TEXTS;
    for (int i = 0; i < n; i++) {
        names[i] = rt_task_text_name(task, i);
        numeric[i] = (unsigned char)(rt_task_text_numeric(task, i) != 0);
    }
    env->texts = names;
    env->n_texts = n;
    env->text_numeric = numeric;
}
