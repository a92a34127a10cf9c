/* bench/debate_bench.c: debates per second (runtime/debate) at the notebook's sizes.
 *
 *   debate-bench [--features K] [--values M] [--actions A] [--evidence L] [--seconds S]
 *                [--conflict C]
 *
 * Defaults K=6, M=4, A=4 (good 2), L=4: trains the judge, the full-state judge and a
 * learned debater with the `%%debate` defaults, prints their training times and the
 * judge accuracies, then plays debates between distinct random actions on held-out
 * states (random first mover) for S seconds (default 1) per debater kind and prints
 *   rlhf debate debaters=greedy debates_per_s=X
 * (likewise minimax, learned), plus the batched reward feature (rt_debate_reward_batch)
 * at 1 and 2 threads in states per second.  Single process, CLOCK_MONOTONIC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rt_alloc.h"
#include "rt_debate.h"

int main(int argc, char **argv)
{
    int K = 6, M = 4, A = 4, L = 4;
    double secs = 1.0, conflict = 0.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--features"))
            K = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--values"))
            M = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--actions"))
            A = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--evidence"))
            L = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            secs = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--conflict"))
            conflict = atof(argv[i + 1]);
        else {
            fprintf(stderr, "usage: debate-bench [--features K] [--values M] [--actions A] "
                            "[--evidence L] [--seconds S] [--conflict C]\n");
            return 2;
        }
    }
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    rt_task_config_set(&tc, "features", K, NULL);
    rt_task_config_set(&tc, "values", M, NULL);
    rt_task_config_set(&tc, "actions", A, NULL);
    rt_task_config_set(&tc, "good", 2, NULL);
    rt_task_config_set(&tc, "conflict", conflict, NULL);
    rt_task *task;
    rt_diag te;
    if (rt_task_create(&tc, &task, &te)) {
        fprintf(stderr, "debate-bench: %s\n", te.msg);
        return 1;
    }
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.evidence = L;
    cfg.debaters = RT_DEBATER_LEARNED;
    rt_rng rng = rt_rng_from_name(1, "debate-bench");
    rt_debate *d;
    rt_diag err;
    if (rt_debate_create(task, &cfg, &rng, &d, &err)) {
        fprintf(stderr, "debate-bench: %s\n", err.msg);
        return 1;
    }
    double t0 = now();
    if (rt_debate_train(d, &rng, NULL, NULL, NULL, &err)) {
        fprintf(stderr, "debate-bench: %s\n", err.msg);
        return 1;
    }
    double t1 = now();
    rt_debate_accuracy acc = rt_debate_accuracy_of(d);
    printf("rlhf debate features=%d values=%d actions=%d evidence=%d judge_steps=%ld "
           "debater_steps=%ld train_s=%.2f\n",
           K, M, A, L, cfg.judge.steps, cfg.learner.steps, t1 - t0);
    printf("rlhf debate judge_acc_partial=%.3f judge_acc_full=%.3f judge_acc_partial_on_full=%.3f "
           "chance=%.3f\n",
           acc.partial, acc.full, acc.partial_on_full, acc.chance);

    enum { NS = 512 };
    static rt_task_sample smp[NS];
    static int a1[NS], a2[NS], first[NS], vals[NS][RT_DEBATE_MAX_K];
    rt_rng st = rt_rng_split(&rng, 100);
    rt_task_sample_batch(task, &st, 0, RT_TASK_HELDOUT, NS, smp, NULL);
    for (int i = 0; i < NS; i++) {
        rt_rng r = rt_rng_split(&rng, 1000 + (uint64_t)i);
        a1[i] = (int)rt_rng_below(&r, (uint32_t)A);
        a2[i] = (a1[i] + 1 + (int)rt_rng_below(&r, (uint32_t)(A - 1))) % A;
        first[i] = (int)rt_rng_below(&r, 2);
        rt_task_triage_state(task, &smp[i], vals[i]);
    }
    const rt_debater_kind kinds[3] = {RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, RT_DEBATER_LEARNED};
    for (int k = 0; k < 3; k++) {
        long n = 0, wins = 0;
        double s0 = now(), el = 0;
        do {
            for (int i = 0; i < NS; i++, n++) {
                rt_debate_game g;
                rt_debate_judge_ctx ctx;
                rt_debate_game_init(&g, &ctx, rt_debate_judge_of(d), vals[i], a1[i], a2[i],
                                    first[i], L);
                g.learner = rt_debate_learner_of(d);
                int o;
                if (rt_debate_play(&g, kinds[k], kinds[k], NULL, &o, &err)) {
                    fprintf(stderr, "debate-bench: %s\n", err.msg);
                    return 1;
                }
                wins += o > 0;
            }
            el = now() - s0;
        } while (el < secs);
        printf("rlhf debate debaters=%s debates_per_s=%.0f us_per_debate=%.2f "
               "debater1_wins=%.3f\n",
               rt_debater_kind_name(kinds[k]), n / el, 1e6 * el / n, (double)wins / n);
    }
    rt_debate_free(d);
    /* the batched reward feature at 1 and 2 threads (greedy, the `%%debate` default) */
    for (int th = 1; th <= 2; th++) {
        rt_debate_config c2 = cfg;
        c2.debaters = RT_DEBATER_GREEDY;
        c2.threads = th;
        c2.judge.steps = 100;
        rt_debate *d2;
        if (rt_debate_create(task, &c2, &rng, &d2, &err) ||
            rt_debate_train(d2, &rng, NULL, NULL, NULL, &err)) {
            fprintf(stderr, "debate-bench: %s\n", err.msg);
            return 1;
        }
        static double out[NS];
        long n = 0;
        double s0 = now(), el = 0;
        rt_rng stream = rt_rng_split(&rng, 7);
        do {
            rt_debate_reward_batch(d2, smp, a1, a2, NS, &stream, (uint64_t)n, out, NULL, &err);
            n += NS;
            el = now() - s0;
        } while (el < secs);
        printf("rlhf debate reward_batch threads=%d states_per_s=%.0f\n", th, n / el);
        rt_debate_free(d2);
    }
    rt_task_free(task);
    return 0;
}
