/* sft_slow_test.c (suite 'slow'): SFT on `add digits=2` with the settings documented in
 * rt_sft.h — noise 0 reaches the documented held-out greedy accuracy within the
 * documented number of steps, and the imperfect-base noise lands in the 40-60 % band.
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
#include "rt_sft.h"

/* Runs the documented recipe: policy context 8, embed 32, hidden 256, layers 2, relu,
 * initialized from rt_rng_from_name(1, "base"); rt_sft_config_init defaults (1000 steps,
 * batch 256, lr 1e-3, clip 1, eval every 100 on 1024 held-out prompts) with `noise`,
 * run stream rt_rng_from_name(1, name).  Returns the final eval_accuracy; *at_500 the
 * one at step 500. */
static double recipe(const char *name, double noise, double *at_500, rt_eval_result *res)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "add");
    rt_task_config_set(&tc, "digits", 2, NULL);
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    rt_policy_config pc = {RT_TASK_VOCAB, 8, 32, 256, 2, RT_NN_ACT_RELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &pc, NULL), 0);
    rt_rng init = rt_rng_from_name(1, "base");
    rt_policy_init(p, &init);
    int n;
    const char *const *cols = rt_sft_columns(&n);
    rt_run *run;
    assert_int_equal(rt_run_create(name, cols, n, &run), 0);
    rt_sft_config c;
    rt_sft_config_init(&c);
    c.noise = noise;
    rt_rng rng = rt_rng_from_name(1, name);
    rt_diag d;
    assert_int_equal(rt_sft_run(p, t, &c, run, &rng, &d), 0);
    assert_int_equal(d.step, 1000);
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
        if (v[0] == 500) *at_500 = v[ie];
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
