/* rl_step.c: GRPO steps per second at the sizes of the "opd-mlp-small" workload
 * (../shared/bench/opd_mlp_torch.py): V=32 (0 = PAD), K=8, D=32, ReLU MLP LM with one
 * hidden layer of H=256, prompts of P=8 uniform tokens in 1..31, T=24 sampled tokens at
 * temperature 1, batch 256 sequences = 32 prompts x group 8, reference = frozen copy of
 * the initial policy.  A step = rt_rl_sample (generate 24 tokens for 256 sequences,
 * score the reference on all 6144 contexts, exact KL / entropy metrics) + a synthetic
 * sequence reward computed here (fraction of generated tokens equal to the prompt's
 * first token) + rt_rl_update (GRPO advantages, clipped loss with beta = 0.04 k3 in the
 * loss, backward, Adam lr 1e-3).  No EOS (every sequence has 24 tokens, as in the opd
 * workload).  Timing: median wall time per step over --steps after --warmup.
 *
 *   rl-step [--threads N] [--steps 30] [--warmup 3] [--seed 0]
 * --threads N: the runtime's own threads (rt_rl_config.threads); OpenBLAS stays at 1.
 * Last line: rlhf rl-grpo threads=N steps_per_s=X tokens_per_s=Y */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rt_rl.h"

enum { V = 32, K = 8, D = 32, P = 8, T = 24, H = 256, PROMPTS = 32, GROUP = 8 };

int main(int argc, char **argv)
{
    int threads = 1, steps = 30, warmup = 3;
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
        else if (!strcmp(a, "--seed") && has)
            seed = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--steps N] [--warmup N] [--seed N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || steps < 1 || warmup < 0) {
        fprintf(stderr, "rl-step: threads and steps must be >= 1, warmup >= 0\n");
        return 2;
    }
    rt_nn_set_gemm_threads(1);
    rt_policy_config pc = {V, K, D, H, 1, RT_NN_ACT_RELU};
    rt_policy *p, *ref;
    rt_diag pd;
    rt_rng run = rt_rng_from_name(seed, "rl-step");
    if (rt_policy_create(&p, &pc, &pd)) {
        fprintf(stderr, "rl-step: %s\n", pd.msg);
        return 1;
    }
    rt_rng r0 = rt_rng_split(&run, 1);
    rt_policy_init(p, &r0);
    if (rt_policy_copy(&ref, p, &pd)) {
        fprintf(stderr, "rl-step: %s\n", pd.msg);
        return 1;
    }
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find("grpo");
    c.batch = PROMPTS;
    c.group = GROUP;
    c.lr = 1e-3f;
    c.kl = 0.04;
    c.threads = threads;
    rt_rl *o;
    rt_diag d;
    if (rt_rl_create(&o, &c, &p->model, &ref->model, P, T, -1, &d)) {
        fprintf(stderr, "rl-step: %s\n", d.msg);
        return 1;
    }
    int N = PROMPTS * GROUP, prompts[PROMPTS * P];
    double R[PROMPTS * GROUP], *times = malloc(sizeof(double) * (size_t)steps);
    if (!times) return 1;
    rt_rl_metrics m = {0};
    rt_rng prompt_rng = rt_rng_split(&run, 3);
    double rsum = 0;
    for (int s = 0; s < warmup + steps; s++) {
        rt_rng step_rng = rt_rng_split(&run, 1000 + (uint64_t)s);
        double t0 = now();
        for (int i = 0; i < PROMPTS * P; i++)
            prompts[i] = 1 + (int)rt_rng_below(&prompt_rng, V - 1);
        if (rt_rl_sample(o, &p->model, &ref->model, prompts, &step_rng)) {
            fprintf(stderr, "rl-step: sampling failed\n");
            return 1;
        }
        const int *tok = rt_rl_tokens(o);
        for (int i = 0; i < N; i++) {
            int hit = 0, first = prompts[(i / GROUP) * P];
            for (int t = 0; t < T; t++)
                hit += tok[i * T + t] == first;
            R[i] = (double)hit / T;
        }
        if (rt_rl_update(o, &p->model, &ref->model, R, &m, &d)) {
            fprintf(stderr, "rl-step: update failed: %s\n", d.msg);
            return 1;
        }
        double dt = now() - t0;
        if (s >= warmup) times[s - warmup] = dt, rsum += m.length;
    }
    qsort(times, (size_t)steps, sizeof *times, bench_cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    printf("# step ms median %.2f (min %.2f, max %.2f); last: loss %.4f kl_ref %.4f kl_est %.4f "
           "entropy %.4f grad_norm %.4f\n",
           med * 1e3, times[0] * 1e3, times[steps - 1] * 1e3, m.loss, m.kl_ref, m.kl_est, m.entropy,
           m.grad_norm);
    printf("# threads %d (runtime), OpenBLAS threads 1; %d sequences x %d tokens per step\n",
           threads, N, T);
    printf("rlhf rl-grpo threads=%d steps_per_s=%.3f tokens_per_s=%.0f\n", threads, 1.0 / med,
           (double)N * T / med);
    (void)rsum;
    free(times);
    rt_rl_free(o);
    rt_policy_free(p);
    rt_policy_free(ref);
    return 0;
}
