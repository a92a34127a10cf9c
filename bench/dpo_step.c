/* dpo_step.c: DPO steps per second at the opd-mlp-small model sizes (bench/opd_small.c):
 * V=32 (0 = PAD), K=8, D=32, ReLU MLP LM with H=256, one layer, random init; the reference
 * a copy of the initial weights; B pairs (default 256, as bench/pref_torch.py) of a prompt of P=8
 * uniform tokens in 1..31 with a chosen and a rejected answer of T=16 uniform tokens each (16 is
 * the longest answer a preference pair holds, RT_TASK_MAX_T; opd-mlp-small samples 24), a new batch
 * every step; one step = rt_dpo_batch (the reference's scoring, the policy's kept forward, the DPO
 * loss at beta 0.1, dL/dlogits at the 2 B T answer rows, backward)
 * + Adam at lr 1e-3 — what a %%dpo step does besides drawing its pairs.
 * Timing: wall time per step, median over --steps after --warmup steps.
 *
 *   dpo-step [--threads N] [--steps 30] [--warmup 3] [--batch 256] [--seed 0]
 *
 * The PyTorch reference of the same step is bench/pref_torch.py --mode dpo; bench/pref-compare
 * runs the two side by side.  Last line: rlhf pref-dpo threads=N batch=B steps_per_s=X ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rt_dpo.h"
#include "rt_nn.h"
#include "rt_policy.h"

enum { V = 32, K = 8, D = 32, P = 8, T = 16, H = 256 };

int main(int argc, char **argv)
{
    int threads = 1, steps = 30, warmup = 3, batch = 256;
    unsigned long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--threads") && has)
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--steps") && has)
            steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && has)
            warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--batch") && has)
            batch = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has)
            seed = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--threads N] [--steps N] [--warmup N] [--batch N] "
                    "[--seed N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || steps < 1 || warmup < 0 || batch < 1) {
        fprintf(stderr, "dpo-step: threads, steps, batch must be >= 1\n");
        return 2;
    }
    rt_nn_set_gemm_threads(1); /* the workspaces' threads split the work */
    rt_policy_config pc = {V, K, D, H, 1, RT_NN_ACT_RELU};
    rt_policy *pol, *ref;
    rt_diag d;
    rt_rng run = rt_rng_from_name(seed, "dpo-step");
    if (rt_policy_create(&pol, &pc, &d)) {
        fprintf(stderr, "dpo-step: %s\n", d.msg);
        return 1;
    }
    rt_rng r0 = rt_rng_split(&run, 1);
    rt_policy_init(pol, &r0);
    if (rt_policy_copy(&ref, pol, &d)) {
        fprintf(stderr, "dpo-step: %s\n", d.msg);
        return 1;
    }
    rt_pref_set set = {0};
    set.pairs = calloc((size_t)batch, sizeof *set.pairs);
    set.n = set.n_train = batch;
    int *idx = malloc(sizeof(int) * (size_t)batch);
    double *times = malloc(sizeof(double) * (size_t)steps);
    rt_dpo_ws *w = NULL;
    if (!set.pairs || !idx || !times ||
        rt_dpo_ws_create(&w, &pol->model, &ref->model, batch, P, T, &d)) {
        fprintf(stderr, "dpo-step: setup failed %s\n", d.msg);
        return 1;
    }
    rt_dpo_ws_set_threads(w, threads);
    for (int i = 0; i < batch; i++)
        idx[i] = i;
    rt_pref_dpo_config c = {rt_pref_loss_find("dpo"), 0.1, 0.0};
    rt_adam_config adam = rt_adam_defaults();
    rt_rng tok = rt_rng_split(&run, 2);
    rt_pref_loss_stats st = {0};
    float gnorm = 0;
    for (int s = 0; s < warmup + steps; s++) {
        for (int i = 0; i < batch; i++) { /* a new batch (not timed) */
            rt_pref_pair *p = &set.pairs[i];
            for (int t = 0; t < P; t++)
                p->prompt.prompt[t] = 1 + (int)rt_rng_below(&tok, V - 1);
            for (int t = 0; t < T; t++) {
                p->chosen[t] = 1 + (int)rt_rng_below(&tok, V - 1);
                p->rejected[t] = 1 + (int)rt_rng_below(&tok, V - 1);
            }
            p->n_chosen = p->n_rejected = T;
        }
        double t0 = now();
        rt_model_zero_grad(&pol->model);
        if (rt_dpo_batch(w, &pol->model, &ref->model, &set, RT_TASK_TRAIN, idx, batch, &c, 1, &st,
                         NULL, NULL, NULL, NULL, &d)) {
            fprintf(stderr, "dpo-step: %s\n", d.msg);
            return 1;
        }
        rt_model_adam(&pol->model, &adam, &gnorm);
        if (s >= warmup) times[s - warmup] = now() - t0;
    }
    qsort(times, (size_t)steps, sizeof *times, bench_cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    printf("# step ms median %.2f (min %.2f, max %.2f); loss %.4f acc %.3f grad_norm %.4f\n",
           med * 1e3, times[0] * 1e3, times[steps - 1] * 1e3, st.loss, st.accuracy, gnorm);
    printf("# threads %d, isa %s\n", threads, rt_nn_isa_name(rt_nn_isa()));
    printf("rlhf pref-dpo threads=%d batch=%d steps_per_s=%.3f tokens_per_s=%.0f\n", threads, batch,
           1.0 / med, 2.0 * batch * T / med);
    rt_dpo_ws_free(w);
    rt_policy_free(pol);
    rt_policy_free(ref);
    free(set.pairs), free(idx), free(times);
    return 0;
}
