/* rm_step.c: Bradley–Terry reward-model training steps per second (rt_rm_train) at the
 * opd-mlp-small sizes: trunk V=32, K=8, D=32, H=256, 1 ReLU layer; B pairs per step
 * (--batch, default 256 as bench/pref_torch.py --mode rm) of P=8 prompt tokens and answers
 * of T=16 tokens (uniform tokens in 1..31), one member (--ensemble K for more).  Each sequence
 * costs one row (the logits after its answer), so a step is one 256-row forward and
 * backward plus the head.  Timing: wall time of --steps steps after --warmup, no run (no
 * rows, no evaluation), normalisation off.
 *
 *   rm-step [--threads N] [--steps 200] [--warmup 20] [--batch 256] [--ensemble 1] [--seed 0]
 * Last line: rlhf pref-rm threads=N batch=B steps_per_s=X (bench/pref-compare reads it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rt_alloc.h"
#include "rt_policy.h"
#include "rt_rm.h"

enum { V = 32, K = 8, D = 32, H = 256, P = 8, T = 16, NSET = 8192 };

int main(int argc, char **argv)
{
    int threads = 1, steps = 200, warmup = 20, ens = 1, pairs = 256;
    unsigned long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--batch") && i + 1 < argc)
            pairs = atoi(argv[++i]);
        else if (!strcmp(a, "--ensemble") && i + 1 < argc)
            ens = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && i + 1 < argc)
            seed = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(
                stderr,
                "usage: %s [--threads N] [--steps 200] [--warmup 20] [--batch 256] [--ensemble 1] "
                "[--seed 0]\n",
                argv[0]);
            return 2;
        }
    }
    rt_nn_set_gemm_threads(1);
    rt_rng run = rt_rng_from_name(seed, "rm-step");
    rt_policy_config pc = {V, K, D, H, 1, RT_NN_ACT_RELU};
    rt_policy *p;
    rt_diag d;
    if (rt_policy_create(&p, &pc, &d)) return fprintf(stderr, "rm-step: %s\n", d.msg), 1;
    rt_rng r0 = rt_rng_split(&run, 1), r1 = rt_rng_split(&run, 2), r2 = rt_rng_split(&run, 3);
    rt_policy_init(p, &r0);
    rt_pref_set set = {rt_calloc(NSET, sizeof(rt_pref_pair)), NSET, NSET, 0};
    if (!set.pairs) return 1;
    for (int i = 0; i < NSET; i++) {
        rt_pref_pair *q = &set.pairs[i];
        for (int t = 0; t < P; t++)
            q->prompt.prompt[t] = 1 + (int)rt_rng_below(&r1, V - 1);
        q->n_chosen = q->n_rejected = T;
        for (int t = 0; t < T; t++) {
            q->chosen[t] = 1 + (int)rt_rng_below(&r1, V - 1);
            q->rejected[t] = 1 + (int)rt_rng_below(&r1, V - 1);
        }
        q->margin = q->r_chosen = q->r_rejected = 0.0 / 0.0;
    }
    rt_rm *rm;
    if (rt_rm_create(&rm, &p->model, 1, ens, P, T, 0.01f, &r2, &d))
        return fprintf(stderr, "rm-step: %s\n", d.msg), 1;
    rt_rm_config c;
    rt_rm_config_defaults(&c);
    c.batch = pairs;
    c.normalize = 0;
    c.threads = threads;
    c.steps = warmup;
    if (rt_rm_train(rm, &set, &c, NULL, &run, &d))
        return fprintf(stderr, "rm-step: %s\n", d.msg), 1;
    c.steps = steps;
    double t0 = now();
    if (rt_rm_train(rm, &set, &c, NULL, &run, &d))
        return fprintf(stderr, "rm-step: %s\n", d.msg), 1;
    double dt = (now() - t0) / steps;
    printf("# step ms mean %.3f; %d pairs (%d sequences) per member per step, ensemble %d\n",
           dt * 1e3, pairs, 2 * pairs, ens);
    printf("rlhf pref-rm threads=%d batch=%d steps_per_s=%.2f\n", threads, pairs, 1.0 / dt);
    rt_rm_free(rm);
    rt_free(set.pairs);
    rt_policy_free(p);
    return 0;
}
