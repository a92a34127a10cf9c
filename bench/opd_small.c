/* opd_small.c: the benchmark workloads "opd-mlp-small" (../shared/bench/opd_mlp_torch.py) and,
 * built with -DOPD_GPT, "opd-gpt-small" (../shared/bench/opd_gpt_torch.py) on the runtime's
 * API (rt_model + rt_opd_step).  Both: V=32 (0 = PAD), B prompts of P=8 uniform tokens in
 * 1..31, T=24 sampled tokens at temperature 1 over the full vocabulary, lambda = 1.5, Adam
 * lr 1e-3 (betas 0.9, 0.999, eps 1e-8), reference = copy of the student's initial weights.
 *   mlp: K=8, D=32, ReLU MLP LM, student H=256, teacher H=512 (weights from rt_policy_init,
 *        torch's default init laws).
 *   gpt: the GPT-2 layout of rt_model_gpt.h, student 2 layers x 4 heads x width 128,
 *        teacher 4 x 4 x 192, mlp_ratio 4, context 32, GPT-2 init (as the reference);
 *        sampling with the KV cache (decode_begin / extend).  One difference: the runtime's
 *        model reads PAD as a BOS before the prompt, so each causal pass covers 32 positions
 *        where torch's covers 31 (3% more work here; the FLOPs printed are torch's).
 * Timing: wall time per step, median over --steps after --warmup steps; the last line
 * has the same form as torch's.
 *
 *   opd-mlp-small | opd-gpt-small [--threads N] [--steps 30] [--warmup 3] [--batch 256] [--seed 0]
 *                 [--metrics]  (also compute exact KL/entropy: not the bare workload)
 *                 [--gemm-threads M]  (default 1: the runtime's own N threads split the
 *                 work and call the GEMM single-threaded)
 *                 [--numerics exact|openblas]  (default exact: the runtime's own GEMM;
 *                 openblas: OpenBLAS sgemm for the general products, not portable)
 *                 [--profile]  (also time every runtime GEMM call: GEMM ms and GF/s per
 *                 step, and the time outside GEMM; ~1 us of clock reads per step) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#include "rt_opd.h"
#include "rt_model_gpt.h"
#include "rt_policy.h"

enum { V = 32, K = 8, D = 32, P = 8, T = 24, H_STUDENT = 256, H_TEACHER = 512 };
#ifdef OPD_GPT
#define WORKLOAD "opd-gpt-small"
#else
#define WORKLOAD "opd-mlp-small"
#endif

/* the student and teacher of the workload, initialised from run */
static int make_models(rt_model **student, rt_model **teacher, rt_rng *run, rt_diag *d)
{
    rt_rng r0 = rt_rng_split(run, 1), r1 = rt_rng_split(run, 2);
#ifdef OPD_GPT
    const rt_model_ops *gpt = rt_model_arch("gpt");
    int cs[RT_GPT_NKEYS], ct[RT_GPT_NKEYS];
    rt_model_config_defaults(gpt, cs);
    cs[RT_GPT_LAYERS] = 2, cs[RT_GPT_HEADS] = 4, cs[RT_GPT_WIDTH] = 128;
    cs[RT_GPT_CONTEXT] = P + T, cs[RT_GPT_MLP_RATIO] = 4;
    memcpy(ct, cs, sizeof ct);
    ct[RT_GPT_LAYERS] = 4, ct[RT_GPT_WIDTH] = 192;
    if (rt_model_create(student, gpt, V, cs, d) || rt_model_create(teacher, gpt, V, ct, d))
        return 1;
    rt_model_init(*student, &r0);
    rt_model_init(*teacher, &r1);
#else
    rt_policy_config cs = {V, K, D, H_STUDENT, 1, RT_NN_ACT_RELU};
    rt_policy_config ct = {V, K, D, H_TEACHER, 1, RT_NN_ACT_RELU};
    rt_policy *s, *t;
    if (rt_policy_create(&s, &cs, d) || rt_policy_create(&t, &ct, d)) return 1;
    rt_policy_init(s, &r0);
    rt_policy_init(t, &r1);
    *student = &s->model, *teacher = &t->model;
#endif
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1, blas_threads = 1, numerics = RT_NN_NUMERICS_EXACT, steps = 30, warmup = 3,
        batch = 256, metrics = 0, profile = 0;
    unsigned long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--threads") && has)
            threads = atoi(argv[++i]);
        else if ((!strcmp(a, "--gemm-threads") || !strcmp(a, "--blas-threads")) && has)
            blas_threads = atoi(argv[++i]);
        else if (!strcmp(a, "--numerics") && has && !strcmp(argv[i + 1], "exact"))
            numerics = RT_NN_NUMERICS_EXACT, i++;
        else if (!strcmp(a, "--numerics") && has && !strcmp(argv[i + 1], "openblas"))
            numerics = RT_NN_NUMERICS_OPENBLAS, i++;
        else if (!strcmp(a, "--steps") && has)
            steps = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup") && has)
            warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--batch") && has)
            batch = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has)
            seed = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--metrics"))
            metrics = 1;
        else if (!strcmp(a, "--profile"))
            profile = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--threads N] [--steps N] [--warmup N] [--batch N] "
                    "[--seed N] [--metrics] [--gemm-threads N] [--numerics exact|openblas] "
                    "[--profile]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1 || steps < 1 || warmup < 0 || batch < 1) {
        fprintf(stderr, WORKLOAD ": threads, steps, batch must be >= 1\n");
        return 2;
    }
    if (rt_nn_set_numerics(numerics)) {
        fprintf(stderr, WORKLOAD ": OpenBLAS cannot be loaded: %s\n", rt_nn_blas_error());
        return 2;
    }
    rt_nn_set_gemm_threads(blas_threads);

    rt_model *student, *teacher, *ref;
    rt_diag d;
    rt_rng run = rt_rng_from_name(seed, WORKLOAD);
    if (make_models(&student, &teacher, &run, &d) || rt_model_copy(&ref, student, &d)) {
        fprintf(stderr, WORKLOAD ": %s\n", d.msg);
        return 1;
    }
    rt_opd_config oc = rt_opd_defaults();
    oc.lambda = 1.5f;
    oc.batch = batch;
    oc.prompt_len = P;
    oc.gen_len = T;
    oc.metrics = metrics;
    oc.threads = threads;
    oc.adam.lr = 1e-3f;
    rt_opd *o;
    double tc = now();
    if (rt_opd_create(&o, &oc, student, teacher, ref, &d)) {
        fprintf(stderr, WORKLOAD ": %s\n", d.msg);
        return 1;
    }
    int *prompts = malloc(sizeof(int) * batch * P);
    double *times = malloc(sizeof(double) * steps), *cpu = malloc(sizeof(double) * steps), *ph[3];
    for (int k = 0; k < 3; k++)
        ph[k] = malloc(sizeof(double) * steps);
    if (!prompts || !times || !cpu || !ph[0] || !ph[1] || !ph[2]) return 1;
    printf("# setup %.2f ms (workspaces for B*T = %d contexts)\n", (now() - tc) * 1e3, batch * T);
    rt_opd_metrics m = {0};
    rt_rng prompt_rng = rt_rng_split(&run, 3);
    for (int s = 0; s < warmup + steps; s++) {
        if (profile && s == warmup) rt_nn_gemm_profile(1);
        rt_rng step_rng = rt_rng_split(&run, 1000 + (uint64_t)s);
        double t0 = now(), c0 = cpu_now();
        for (int i = 0; i < batch * P; i++)
            prompts[i] = 1 + (int)rt_rng_below(&prompt_rng, V - 1);
        int rc = rt_opd_step(o, student, teacher, ref, prompts, &step_rng, &m);
        double dt = now() - t0, dc = cpu_now() - c0;
        if (rc) {
            fprintf(stderr, WORKLOAD ": step failed (%d)\n", rc);
            return 1;
        }
        if (s >= warmup) {
            double p3[3];
            rt_opd_phase_times(o, p3);
            times[s - warmup] = dt;
            cpu[s - warmup] = dc;
            for (int k = 0; k < 3; k++)
                ph[k][s - warmup] = p3[k];
        }
    }
    double gemm_s = 0, gemm_flop = 0, total = 0;
    rt_nn_gemm_profile_read(&gemm_s, &gemm_flop);
    rt_nn_gemm_profile(0);
    for (int s = 0; s < steps; s++)
        total += times[s];
    if (profile)
        printf("# profile (means over the %d steps): step %.3f ms = GEMM %.3f ms (%.4f GFLOP, "
               "%.1f GF/s) + outside GEMM %.3f ms\n",
               steps, total / steps * 1e3, gemm_s / steps * 1e3, gemm_flop / steps * 1e-9,
               gemm_flop / gemm_s * 1e-9, (total - gemm_s) / steps * 1e3);
    double mn = times[0], mx = times[0];
    for (int s = 0; s < steps; s++)
        mn = times[s] < mn ? times[s] : mn, mx = times[s] > mx ? times[s] : mx;
    double med = median(times, steps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("# step ms median %.2f (min %.2f, max %.2f); phases ms: sample %.2f score %.2f "
           "train %.2f; loss %.4f mean(lpT-lpS) %.4f adv_mean %.4f grad_norm %.4f\n",
           med * 1e3, mn * 1e3, mx * 1e3, median(ph[0], steps) * 1e3, median(ph[1], steps) * 1e3,
           median(ph[2], steps) * 1e3, m.loss, m.logp_gap, m.adv_mean, m.grad_norm);
    if (metrics)
        printf("# kl_teacher %.4f kl_ref %.4f entropy %.4f\n", m.kl_teacher, m.kl_ref, m.entropy);
    /* CPU time is less disturbed than wall time by other processes on a shared machine
     * (a preempted step does not count its wait); at 1 thread it bounds the wall time */
    double cmin = cpu[0];
    for (int s = 0; s < steps; s++)
        cmin = cpu[s] < cmin ? cpu[s] : cmin;
    printf("# cpu ms per step median %.2f (min %.2f), all threads\n", median(cpu, steps) * 1e3,
           cmin * 1e3);
    printf("# peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
    printf("# threads %d (runtime), GEMM threads %d, numerics %s, isa %s\n", threads, blas_threads,
           rt_nn_numerics_name(rt_nn_numerics()), rt_nn_isa_name(rt_nn_isa()));
    printf("rlhf " WORKLOAD " threads=%d batch=%d steps_per_s=%.3f tokens_per_s=%.0f\n", threads,
           batch, 1.0 / med, batch * T / med);
    rt_opd_free(o);
    rt_model_free(student);
    rt_model_free(teacher);
    rt_model_free(ref);
    free(prompts), free(times), free(cpu);
    for (int k = 0; k < 3; k++)
        free(ph[k]);
    return 0;
}
