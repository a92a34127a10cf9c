/* rl_step.c: RL steps per second of each %%rl algorithm (rt_rl_recipe.h) at the sizes of
 * the "opd-mlp-small" workload (../shared/bench/opd_mlp_torch.py): V=32 (0 = PAD), K=8,
 * D=32, ReLU MLP LM with one hidden layer of H=256, prompts of P=8 uniform tokens in
 * 1..31, T=24 sampled tokens at temperature 1, batch 256 sequences = 32 prompts x group 8,
 * reference = frozen copy of the initial policy.  A step = rt_rl_sample (generate 24
 * tokens for 256 sequences, score the reference on all 6144 contexts, exact KL / entropy
 * metrics) + a synthetic binary sequence reward computed here (1 if a generated token
 * equals the prompt's first token, else 0: about half the answers) + rt_rl_update (the
 * algorithm's advantages, loss with beta = 0.04 KL, backward, Adam lr 1e-3, as many
 * updates per batch as the recipe's default iterations times
 * minibatches).  No EOS (every sequence has 24
 * tokens, as in the opd workload).  Timing: median wall time per step over --steps after
 * --warmup.
 *
 *   rl-step [--algo NAME|all] [--threads N] [--steps 30] [--warmup 3] [--seed 0]
 * --algo: one algorithm (default grpo) or all of them in table order, each from the same
 * initial policy and seed.  --threads N: the runtime's own threads (rt_rl_config.threads);
 * OpenBLAS stays at 1.
 * Last line per algorithm: rlhf rl-ALGO threads=N updates=U steps_per_s=X tokens_per_s=Y */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "rt_rl.h"

enum { V = 32, K = 8, D = 32, P = 8, T = 24, H = 256, PROMPTS = 32, GROUP = 8 };

/* Runs the benchmark for recipe r from policy p0 (copied); 0 or 1 on failure. */
static int bench_algo(const rt_rl_recipe *r, const rt_policy *p0, int threads, int steps,
                      int warmup, unsigned long seed)
{
    rt_policy *p, *ref;
    rt_diag d;
    if (rt_policy_copy(&p, p0, &d) || rt_policy_copy(&ref, p0, &d)) {
        fprintf(stderr, "rl-step: %s\n", d.msg);
        return 1;
    }
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = r;
    c.batch = PROMPTS;
    c.group = GROUP;
    c.lr = 1e-3f;
    c.kl = 0.04;
    c.threads = threads;
    rt_rl_config ck;
    rt_rl *o;
    if (rt_rl_config_check(&c, &ck, &d) ||
        rt_rl_create(&o, &c, &p->model, &ref->model, P, T, -1, &d)) {
        fprintf(stderr, "rl-step: %s: %s\n", r->name, d.msg);
        return 1;
    }
    int N = PROMPTS * GROUP, prompts[PROMPTS * P];
    double R[PROMPTS * GROUP], *times = malloc(sizeof(double) * (size_t)steps);
    if (!times) return 1;
    rt_rl_metrics m = {0};
    double rmean = 0.0;
    rt_rng run = rt_rng_from_name(seed, "rl-step");
    rt_rng prompt_rng = rt_rng_split(&run, 3);
    for (int s = 0; s < warmup + steps; s++) {
        rt_rng step_rng = rt_rng_split(&run, 1000 + (uint64_t)s);
        double t0 = now();
        rmean = 0.0;
        for (int i = 0; i < PROMPTS * P; i++)
            prompts[i] = 1 + (int)rt_rng_below(&prompt_rng, V - 1);
        if (rt_rl_sample(o, &p->model, &ref->model, prompts, &step_rng)) {
            fprintf(stderr, "rl-step: %s: sampling failed\n", r->name);
            return 1;
        }
        const int *tok = rt_rl_tokens(o);
        for (int i = 0; i < N; i++) {
            int hit = 0, first = prompts[(i / GROUP) * P];
            for (int t = 0; t < T; t++)
                hit |= tok[i * T + t] == first;
            R[i] = hit;
            rmean += hit / (double)N;
        }
        if (rt_rl_update(o, &p->model, &ref->model, R, &m, &d)) {
            fprintf(stderr, "rl-step: %s: update failed: %s\n", r->name, d.msg);
            return 1;
        }
        double dt = now() - t0;
        if (s >= warmup) times[s - warmup] = dt;
    }
    qsort(times, (size_t)steps, sizeof *times, bench_cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    printf("# %s: step ms median %.2f (min %.2f, max %.2f); last: loss %.4f reward %.3f kl_ref "
           "%.4f entropy %.4f grad_norm %.4f\n",
           r->name, med * 1e3, times[0] * 1e3, times[steps - 1] * 1e3, m.loss, rmean, m.kl_ref,
           m.entropy, m.grad_norm);
    printf("rlhf rl-%s threads=%d updates=%d steps_per_s=%.3f tokens_per_s=%.0f\n", r->name,
           threads, ck.epochs * ck.minibatches, 1.0 / med, (double)N * T / med);
    fflush(stdout);
    free(times);
    rt_rl_free(o);
    rt_policy_free(p);
    rt_policy_free(ref);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1, steps = 30, warmup = 3;
    unsigned long seed = 0;
    const char *algo = "grpo";
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
        else if (!strcmp(a, "--algo") && has)
            algo = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--algo NAME|all] [--threads N] [--steps N] [--warmup N] "
                    "[--seed N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || steps < 1 || warmup < 0) {
        fprintf(stderr, "rl-step: threads and steps must be >= 1, warmup >= 0\n");
        return 2;
    }
    int all = !strcmp(algo, "all");
    if (!all && (!rt_rl_recipe_find(algo) ||
                 rt_rl_recipe_index(rt_rl_recipe_find(algo)) >= rt_rl_recipe_count())) {
        fprintf(stderr, "rl-step: unknown algo '%s' (one of:", algo);
        for (int i = 0; i < rt_rl_recipe_count(); i++)
            fprintf(stderr, " %s", rt_rl_recipe_at(i)->name);
        fprintf(stderr, ", or all)\n");
        return 2;
    }
    rt_nn_set_gemm_threads(1);
    rt_policy_config pc = {V, K, D, H, 1, RT_NN_ACT_RELU};
    rt_policy *p;
    rt_diag pd;
    rt_rng run = rt_rng_from_name(seed, "rl-step");
    if (rt_policy_create(&p, &pc, &pd)) {
        fprintf(stderr, "rl-step: %s\n", pd.msg);
        return 1;
    }
    rt_rng r0 = rt_rng_split(&run, 1);
    rt_policy_init(p, &r0);
    printf("# threads %d (runtime), OpenBLAS threads 1; %d sequences x %d tokens per step\n",
           threads, PROMPTS * GROUP, T);
    int rc = 0;
    for (int i = 0; i < rt_rl_recipe_count() && !rc; i++)
        if (all || !strcmp(rt_rl_recipe_at(i)->name, algo))
            rc = bench_algo(rt_rl_recipe_at(i), p, threads, steps, warmup, seed);
    rt_policy_free(p);
    return rc;
}
