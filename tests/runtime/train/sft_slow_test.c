/* sft_slow_test.c (suite 'slow'): SFT on `add digits=2` with the settings documented in
 * rt_sft.h — noise 0 reaches the documented held-out greedy accuracy within the
 * documented number of steps, and the imperfect-base noise lands in the 40-60 % band;
 * and a gpt policy (rt_model_gpt.h: layers 2, heads 4, width 64, context 32) learns it
 * too, with the accuracy and step count documented in rt_model_gpt.h.
 * Prints every eval row (step, eval_accuracy, loss, wall) for the record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_eval.h"
#include "rt_model_gpt.h"
#include "rt_sft.h"

#include "fx_train.h"

/* the gpt recipe's documented figures (rt_model_gpt.h) */
#define GPT_STEPS 2000
#define GPT_MID 1000
#define GPT_MID_ACC 0.5 /* measured 0.6787 */
#define GPT_ACC 0.9      /* measured 0.9648 at step 2000 (final greedy 0.9639) */

/* Runs the documented recipe on p (freed here): rt_sft_config_init defaults (1000
 * steps, batch 256, lr 1e-3, clip 1, eval every 100 on 1024 held-out prompts) with
 * `noise` and `steps`, run stream rt_rng_from_name(1, name).  Returns the final
 * eval_accuracy; *at_mid the one at step `mid`. */
static double run_recipe(const char *name, rt_policy *p, double noise, long steps, long mid,
                         double *at_mid, rt_eval_result *res)
{
    rt_task *t = fx_task("add", "digits", 2);
    int n;
    const char *const *cols = rt_sft_columns(&n);
    rt_run *run = fx_run(name, cols, n, NULL, 0);
    rt_sft_config c;
    rt_sft_config_init(&c);
    c.noise = noise;
    c.steps = steps;
    rt_rng rng = rt_rng_from_name(1, name);
    rt_diag d;
    assert_int_equal(rt_sft_run(p, t, &c, run, &rng, &d), 0);
    assert_int_equal(d.step, steps);
    rt_run_snapshot s;
    assert_int_equal(rt_run_snapshot_take(run, &s), 0);
    int ie = rt_run_column_index(run, "eval_accuracy"), il = rt_run_column_index(run, "loss"),
        iw = rt_run_column_index(run, "wall");
    double last = NAN;
    for (long r = 0; r < s.rows; r++) {
        const double *v = s.values + r * s.n_columns;
        if (isnan(v[ie])) continue;
        printf("%s step %4.0f eval_accuracy %.4f loss %.4f wall %.2f s\n", name, v[0], v[ie], v[il],
               v[iw]);
        if (v[0] == mid) *at_mid = v[ie];
        last = v[ie];
    }
    rt_run_snapshot_free(&s);
    /* the full evaluator on the final policy: greedy, avg@8 at temperature 1 */
    rt_eval *ev;
    rt_rng er = rt_rng_from_name(1, "eval");
    assert_int_equal(rt_eval_create(&ev, t, &p->model, NULL, &er, NULL), 0);
    assert_int_equal(rt_eval_run(ev, &p->model, res, NULL), 0);
    printf("%s final: greedy %.4f avg@8 %.4f pass@8 %.4f partial %.4f (%d prompts)\n", name,
           res->greedy, res->avg_k, res->pass_k, res->feat_greedy[1], res->n_prompts);
    rt_eval_free(ev);
    rt_run_free(run);
    rt_policy_free(p);
    rt_task_free(t);
    return last;
}

/* The MLP recipe: context 8, embed 32, hidden 256, layers 2, relu, initialized from
 * rt_rng_from_name(1, "base"), 1000 steps; *at_500 the accuracy at step 500. */
static double recipe(const char *name, double noise, double *at_500, rt_eval_result *res)
{
    rt_rng init = rt_rng_from_name(1, "base");
    return run_recipe(name, fx_task_mlp_from(8, 32, 256, 2, &init), noise, 1000, 500, at_500, res);
}

static void test_gpt_learns(void **state)
{
    (void)state;
    const rt_model_ops *ops = rt_model_arch("gpt");
    int cfg[RT_MODEL_MAX_KEYS];
    rt_diag d = {0};
    assert_int_equal(
        rt_model_config_parse(ops, "layers=2 heads=4 width=64 context=32 mlp_ratio=4", cfg, &d), 0);
    rt_model *m = NULL;
    assert_int_equal(rt_model_create(&m, ops, RT_TASK_VOCAB, cfg, &d), 0);
    rt_rng init = rt_rng_from_name(1, "base");
    rt_model_init(m, &init);
    double mid = NAN;
    rt_eval_result r;
    /* rt_sft_run takes the model behind an rt_policy header (rt_policy.h) */
    double acc = run_recipe("sft_gpt", (rt_policy *)m, 0.0, GPT_STEPS, GPT_MID, &mid, &r);
    assert_true(mid >= GPT_MID_ACC);
    assert_true(acc >= GPT_ACC);
    assert_true(r.greedy >= GPT_ACC);
}

static void test_noise0_learns(void **state)
{
    (void)state;
    double mid = NAN;
    rt_eval_result r;
    double acc = recipe("sft_clean", 0.0, &mid, &r);
    assert_true(mid >= 0.85); /* documented: >= 85 % by step 500 (measured 0.923) */
    assert_true(acc >= 0.93); /* documented: >= 93 % at step 1000 (measured 0.962) */
    assert_true(r.greedy >= 0.93);
}

static void test_noisy_base_is_imperfect(void **state)
{
    (void)state;
    double mid = NAN;
    rt_eval_result r;
    double acc = recipe("sft_noisy", 0.6, &mid, &r);
    assert_true(acc >= 0.40 && acc <= 0.60); /* measured 0.512 */
    assert_true(r.greedy >= 0.40 && r.greedy <= 0.60);
    assert_true(r.pass_k > r.greedy + 0.2); /* sampling still finds right answers */
}

int main(void)
{
    rt_nn_set_gemm_threads(1); /* results do not depend on it; avoids spinning BLAS threads */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise0_learns),
        cmocka_unit_test(test_noisy_base_is_imperfect),
        cmocka_unit_test(test_gpt_learns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
