/* dpo_test.c: the DPO trainer through a model (rt_dpo.h) on add digits=1 (P = 5, T = 3,
 * V = 32), preference sets simulated from a seeded MLP with the labeler 3 partial + length.
 *   log-probs: rt_dpo_batch's lp / lr are the sums (dpo) or per-token means (ipo) of the
 *     token log-probs at the answer positions (fx_logprobs), |err| <= 1e-5 (float32 token
 *     log-probs summed in double over <= 3 tokens);
 *   gradient: dL/dtheta through a smooth (GELU) MLP against central finite differences
 *     of the loss for every loss type (dpo, cDPO, ipo, hinge, robust), 24 parameters
 *     each, step 1e-2: |g - fd| <= 2e-3 + 2e-2 |fd| (float32 passes: the loss is exact to
 *     ~1e-6, so the FD's rounding error is ~1e-4, its truncation O(h^2) ~1e-4);
 *   optimum: one prompt, one-token answers, every unordered pair of the V tokens 12
 *     times with P(a > b) = w_a / (w_a + w_b) exactly (w in {1, 2}: r = log w, 12 divisible
 *     by 2, 3 and 4), full-batch steps: the trainer's pi_theta at that state converges to
 *     pi* = pi_ref e^{r/beta} / Z (beta = 0.5: pi_ref w^2 / Z), TV(pi_theta, pi*) < 1e-3
 *     after 400 Adam steps (measured 1.4e-7: what is left is optimization; the empirical
 *     optimum IS pi*, the fractions being exact);
 *   determinism: the same run at threads 1 and 2 gives the same weights and rows bit for
 *     bit; its step-0 row is the reference's (acc 1/2, heldout loss log 2, kl_ref 0 to
 *     1e-6) and training lowers the loss;
 *   interrupt: the cancel flag after step 5: RT_EINTR, 5 updates, 5 + 1 rows;
 *   bad config: each invalid field is RT_EINVAL naming its key, nothing trained. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fx_train.h"
#include "rt_alloc.h"
#include "rt_dpo.h"
#include "rt_pref.h"
#include "rt_reward.h"
#include "rt_task.h"

enum { V = 32 };

static rt_task *task_;
static rt_policy *pol;
static rt_pref_set *set_;
static rt_reward_program *labeler;
static double lparams[8];

static rt_reward_program *make_reward(const char *src, double *params)
{
    const char *names[RT_TASK_MAX_FEATURES];
    int nf = rt_task_n_features(task_);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(task_, i);
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "r";
    env.features = names;
    env.n_features = nf;
    rt_reward_program *rw = NULL;
    rt_diag d;
    if (rt_reward_compile(src, strlen(src), 1, 1, &env, &rw, &d)) fail_msg("%s: %s", src, d.msg);
    if (rt_reward_bind_params(rw, NULL, NULL, 0, params, &d)) fail_msg("%s: %s", src, d.msg);
    return rw;
}

static int setup(void **st)
{
    (void)st;
    rt_task_config c;
    rt_diag e;
    assert_int_equal(rt_task_config_parse(&c, "add digits=1", &e), 0);
    assert_int_equal(rt_task_create(&c, &task_, &e), 0);
    pol = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_GELU, 11);
    pol->p.bo[RT_TOK_EOS] += 2.0f;
    for (int v = 0; v < 10; v++)
        pol->p.bo[RT_TOK_DIGIT0 + v] += 1.5f;
    rt_policy_touch(pol);
    labeler = make_reward("3 * partial + length", lparams);
    rt_pref_sim_config sc;
    rt_pref_sim_defaults(&sc);
    sc.pairs = 200, sc.heldout = 50;
    rt_rng s = rt_rng_from_name(1, "prefs");
    assert_int_equal(rt_pref_simulate(&pol->model, task_, labeler, lparams, &sc, &s, &set_, &e), 0);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rt_pref_free(set_);
    rt_reward_free(labeler);
    rt_policy_free(pol);
    rt_task_free(task_);
    return 0;
}

static const rt_pref_loss_type *type(const char *name)
{
    const rt_pref_loss_type *t = rt_pref_loss_find(name);
    assert_non_null(t);
    return t;
}

/* ---- log-probs -------------------------------------------------------------------- */

static void test_logprobs(void **state)
{
    (void)state;
    rt_policy *q = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_GELU, 5); /* another "policy" */
    int P = rt_task_prompt_len(task_), T = rt_task_answer_max(task_), n = 8;
    rt_dpo_ws *w;
    assert_int_equal(rt_dpo_ws_create(&w, &q->model, &pol->model, n, P, T, NULL), 0);
    int idx[8];
    for (int i = 0; i < n; i++)
        idx[i] = 3 * i + 1;
    for (int k = 0; k < 2; k++) {
        rt_pref_dpo_config c = {type(k ? "ipo" : "dpo"), 0.1, 0};
        double lp[4][8];
        assert_int_equal(rt_dpo_batch(w, &q->model, &pol->model, set_, RT_TASK_TRAIN, idx, n, &c, 0,
                                      NULL, lp[0], lp[1], lp[2], lp[3], NULL),
                         0);
        for (int i = 0; i < n; i++)
            for (int which = 0; which < 2; which++) {
                int seq[RT_TASK_MAX_P + RT_TASK_MAX_T], lo = P, hi;
                hi =
                    P + rt_pref_sequence(rt_pref_at(set_, RT_TASK_TRAIN, idx[i]), which, P, T, seq);
                rt_model_batch b = {seq, 1, P + T, P, &lo, &hi};
                for (int m = 0; m < 2; m++) {
                    float tl[RT_TASK_MAX_T];
                    fx_logprobs(m ? &pol->model : &q->model, &b, tl);
                    double s = 0;
                    for (int t = 0; t < hi - lo; t++)
                        s += tl[t];
                    if (k) s /= hi - lo;
                    assert_true(fabs(lp[2 * m + which][i] - s) <= 1e-5);
                }
            }
    }
    rt_dpo_ws_free(w);
    rt_policy_free(q);
}

/* ---- gradient vs finite differences --------------------------------------------------- */

static double loss_of(rt_dpo_ws *w, rt_policy *q, const rt_pref_dpo_config *c, const int *idx,
                      int n)
{
    rt_pref_loss_stats st;
    assert_int_equal(rt_dpo_batch(w, &q->model, &pol->model, set_, RT_TASK_TRAIN, idx, n, c, 0, &st,
                                  NULL, NULL, NULL, NULL, NULL),
                     0);
    return st.loss;
}

static void test_gradient(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        double beta, eps;
    } cases[] = {{"dpo", 0.5, 0},
                 {"dpo", 0.5, 0.2},
                 {"ipo", 0.5, 0},
                 {"hinge", 0.5, 0},
                 {"robust", 0.5, 0.1}};
    /* a policy near the reference, so z is neither 0 nor saturated */
    rt_policy *q = fx_copy(pol);
    rt_rng r = rt_rng_make(3);
    for (size_t i = 0; i < q->params.n; i++)
        q->params.w[i] += 0.3f * (float)(rt_rng_uniform(&r) - 0.5);
    rt_policy_touch(q);
    int P = rt_task_prompt_len(task_), T = rt_task_answer_max(task_), n = 12;
    int idx[12];
    for (int i = 0; i < n; i++)
        idx[i] = 5 * i;
    rt_dpo_ws *w;
    assert_int_equal(rt_dpo_ws_create(&w, &q->model, &pol->model, n, P, T, NULL), 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rt_pref_dpo_config c = {type(cases[k].type), cases[k].beta, cases[k].eps};
        rt_model_zero_grad(&q->model);
        rt_pref_loss_stats st;
        assert_int_equal(rt_dpo_batch(w, &q->model, &pol->model, set_, RT_TASK_TRAIN, idx, n, &c, 1,
                                      &st, NULL, NULL, NULL, NULL, NULL),
                         0);
        rt_rng pick = rt_rng_make(100 + k);
        int nonzero = 0;
        for (int j = 0; j < 24; j++) {
            /* half the picks among the output bias (always on the path), half anywhere */
            size_t i = j % 2
                           ? (size_t)(rt_rng_uniform(&pick) * (double)q->params.n)
                           : (size_t)(q->p.bo - q->params.w) + (size_t)(rt_rng_uniform(&pick) * V);
            float w0 = q->params.w[i], h = 1e-2f;
            q->params.w[i] = w0 + h;
            rt_policy_touch(q);
            double up = loss_of(w, q, &c, idx, n);
            q->params.w[i] = w0 - h;
            rt_policy_touch(q);
            double dn = loss_of(w, q, &c, idx, n);
            q->params.w[i] = w0;
            rt_policy_touch(q);
            double fd = (up - dn) / (2.0 * h), g = q->params.g[i];
            nonzero += fabs(fd) > 1e-4;
            if (fabs(g - fd) > 2e-3 + 2e-2 * fabs(fd))
                fail_msg("%s eps %g: param %zu: grad %g, finite difference %g", cases[k].type,
                         cases[k].eps, i, g, fd);
        }
        assert_true(nonzero >= 8); /* the check saw real gradients */
    }
    rt_dpo_ws_free(w);
    rt_policy_free(q);
}

/* ---- the closed-form optimum on one-token answers --------------------------------------- */

static int wt(int v)
{
    return v % 3 == 0 ? 2 : 1;
}

static void test_optimum(void **state)
{
    (void)state;
    int P = rt_task_prompt_len(task_);
    enum { M = 12 };
    int npairs = V * (V - 1) / 2 * M;
    rt_pref_set s = {0};
    s.pairs = rt_calloc((size_t)npairs, sizeof *s.pairs);
    assert_non_null(s.pairs);
    rt_task_sample x;
    int xp[RT_TASK_MAX_P];
    rt_rng pr = rt_rng_make(9);
    rt_task_sample_batch(task_, &pr, 0, RT_TASK_TRAIN, 1, &x, xp);
    int k = 0;
    for (int a = 0; a < V; a++)
        for (int b = a + 1; b < V; b++) {
            int na = M * wt(a) / (wt(a) + wt(b)); /* exact: M divisible by 2, 3, 4 */
            for (int j = 0; j < M; j++, k++) {
                rt_pref_pair *p = &s.pairs[k];
                p->prompt = x;
                p->split = RT_TASK_TRAIN;
                p->chosen[0] = j < na ? a : b;
                p->rejected[0] = j < na ? b : a;
                p->n_chosen = p->n_rejected = 1;
                p->margin = p->r_chosen = p->r_rejected = NAN;
            }
        }
    s.n = s.n_train = npairs;
    rt_policy *q = fx_copy(pol);
    rt_dpo_config cfg;
    rt_dpo_config_init(&cfg);
    cfg.loss.beta = 0.5;
    cfg.steps = 400;
    cfg.batch = npairs; /* full batch: each step is the whole (permuted) set */
    cfg.adam.lr = 0.05f;
    rt_dpo_args a = {&q->model, &pol->model, &s, task_, NULL, NULL, &cfg};
    rt_rng rng = rt_rng_make(4);
    rt_diag d;
    assert_int_equal(rt_dpo_run(&a, NULL, &rng, &d), 0);
    /* pi_theta and pi_ref at the prompt's first answer position */
    int seq[RT_TASK_MAX_P + 1];
    memcpy(seq, xp, sizeof(int) * (size_t)P);
    seq[P] = 0;
    rt_model_batch b = {seq, 1, P + 1, P, NULL, NULL};
    float pt[V], pref[V];
    fx_probs(&q->model, &b, pt);
    fx_probs(&pol->model, &b, pref);
    double z = 0, tv = 0, tv0 = 0, star[V];
    for (int v = 0; v < V; v++)
        z += star[v] = pref[v] * wt(v) * wt(v); /* e^{r/beta} = w^(1/0.5) */
    for (int v = 0; v < V; v++) {
        star[v] /= z;
        tv += 0.5 * fabs(pt[v] - star[v]);
        tv0 += 0.5 * fabs(pref[v] - star[v]);
    }
    print_message("optimum: TV(pi_ref, pi*) = %.4f, TV(pi_theta, pi*) = %.2e\n", tv0, tv);
    assert_true(tv0 > 0.1); /* the target is far from where training starts */
    assert_true(tv < 1e-3);
    rt_policy_free(q);
    rt_free(s.pairs);
}

/* ---- determinism, rows, interrupt -------------------------------------------------------- */

static void quick_config(rt_dpo_config *cfg, int threads)
{
    rt_dpo_config_init(cfg);
    cfg->loss.beta = 0.5;
    cfg->steps = 12;
    cfg->batch = 16;
    cfg->adam.lr = 1e-2f;
    cfg->log_every = 3;
    cfg->eval_every = 6;
    cfg->eval_prompts = 40;
    cfg->threads = threads;
}

static rt_run *new_run(const char *name)
{
    int nc;
    const char *const *cols = rt_dpo_columns(&nc);
    rt_run *run;
    assert_int_equal(rt_run_create(name, cols, nc, &run), 0);
    return run;
}

static double cell(const rt_run *run, long row, const char *col)
{
    double v[32];
    assert_int_equal(rt_run_read(run, row, 1, v), 1);
    return v[rt_run_column_index(run, col)];
}

static void test_determinism(void **state)
{
    (void)state;
    rt_policy *p[2];
    rt_run *run[2];
    for (int k = 0; k < 2; k++) {
        p[k] = fx_copy(pol);
        rt_dpo_config cfg;
        quick_config(&cfg, k + 1);
        rt_dpo_args a = {&p[k]->model, &pol->model, set_, task_, labeler, lparams, &cfg};
        rt_rng rng = rt_rng_make(7);
        run[k] = new_run("d");
        rt_diag d;
        assert_int_equal(rt_dpo_run(&a, run[k], &rng, &d), 0);
    }
    assert_memory_equal(p[0]->params.w, p[1]->params.w, sizeof(float) * p[0]->params.n);
    long rows = rt_run_rows(run[0]);
    assert_int_equal(rows, rt_run_rows(run[1]));
    assert_int_equal(rows, 5); /* steps 0, 3, 6, 9, 12 */
    int nc;
    const char *const *cols = rt_dpo_columns(&nc);
    for (long r = 0; r < rows; r++)
        for (int c = 0; c < nc; c++) {
            if (!strcmp(cols[c], "wall")) continue;
            double a = cell(run[0], r, cols[c]), b = cell(run[1], r, cols[c]);
            if (!(a == b || (isnan(a) && isnan(b))))
                fail_msg("row %ld %s: %.17g vs %.17g", r, cols[c], a, b);
        }
    /* step 0: the policy is the reference */
    assert_true(fabs(cell(run[0], 0, "heldout_acc") - 0.5) < 1e-12);
    assert_true(fabs(cell(run[0], 0, "heldout_loss") - log(2.0)) < 1e-9);
    assert_true(fabs(cell(run[0], 0, "kl_ref")) < 1e-6);
    assert_true(isnan(cell(run[0], 0, "loss")));
    assert_true(isfinite(cell(run[0], 0, "eval_reward")));
    assert_true(isfinite(cell(run[0], 0, "eval_accuracy")));
    /* an evaluation row and a plain one */
    assert_true(isfinite(cell(run[0], 2, "heldout_acc")));
    assert_true(isnan(cell(run[0], 1, "heldout_acc")));
    assert_true(cell(run[0], 4, "kl_ref") > 0);
    assert_true(cell(run[0], 4, "loss") < cell(run[0], 1, "loss"));
    for (int k = 0; k < 2; k++) {
        rt_policy_free(p[k]);
        rt_run_free(run[k]);
    }
}

typedef struct cancel_ctx {
    atomic_int *flag;
    long at_step;
} cancel_ctx;

static void on_event(void *user, const rt_event *ev)
{
    cancel_ctx *c = user;
    if (ev->kind == RT_EVENT_METRICS_ROW && (long)ev->values[0] == c->at_step)
        atomic_store(c->flag, 1);
}

static void test_interrupt(void **state)
{
    (void)state;
    rt_policy *q = fx_copy(pol);
    rt_dpo_config cfg;
    quick_config(&cfg, 1);
    cfg.log_every = 1;
    cfg.steps = 50;
    rt_dpo_args a = {&q->model, &pol->model, set_, task_, labeler, lparams, &cfg};
    rt_rng rng = rt_rng_make(7);
    atomic_int flag = 0;
    cancel_ctx cc = {&flag, 5};
    rt_run *run = new_run("i");
    rt_run_set_cancel(run, &flag);
    rt_run_set_events(run, on_event, &cc);
    rt_diag d;
    assert_int_equal(rt_dpo_run(&a, run, &rng, &d), RT_EINTR);
    assert_string_equal(d.msg, "dpo: interrupted after step 5");
    long st;
    assert_int_equal(rt_run_status_of(run, &st, NULL, 0), RT_RUN_INTERRUPTED);
    assert_int_equal(st, 5);
    assert_int_equal(rt_run_rows(run), 6); /* step 0 and 1..5 */
    assert_int_equal(q->params.t, 5);
    rt_run_free(run);
    rt_policy_free(q);
}

/* ---- bad configurations ---------------------------------------------------------------- */

static void test_bad_config(void **state)
{
    (void)state;
    rt_policy *q = fx_copy(pol);
    static const char *const keys[] = {
        "beta", "beta",      "label_smoothing", "loss",         "steps",  "batch",
        "lr",   "log_every", "eval_every",      "eval_prompts", "threads"};
    for (int k = 0; k < (int)(sizeof keys / sizeof keys[0]); k++) {
        rt_dpo_config cfg;
        quick_config(&cfg, 1);
        switch (k) {
        case 0:
            cfg.loss.beta = 0;
            break;
        case 1:
            cfg.loss.beta = NAN;
            break;
        case 2:
            cfg.loss.type = type("hinge");
            cfg.loss.label_smoothing = 0.1;
            break;
        case 3:
            cfg.loss.type = (const rt_pref_loss_type *)&cfg;
            break; /* not a row */
        case 4:
            cfg.steps = -1;
            break;
        case 5:
            cfg.batch = 0;
            break;
        case 6:
            cfg.adam.lr = 0;
            break;
        case 7:
            cfg.log_every = 0;
            break;
        case 8:
            cfg.eval_every = -1;
            break;
        case 9:
            cfg.eval_prompts = 0;
            break;
        case 10:
            cfg.threads = 0;
            break;
        }
        rt_dpo_args a = {&q->model, &pol->model, set_, task_, labeler, lparams, &cfg};
        rt_rng rng = rt_rng_make(7);
        rt_diag d;
        memset(&d, 0, sizeof d);
        assert_int_equal(rt_dpo_run(&a, NULL, &rng, &d), RT_EINVAL);
        if (strcmp(d.key, keys[k])) fail_msg("case %d: key '%s' (%s)", k, d.key, d.msg);
    }
    /* another vocabulary; a set without train pairs */
    rt_policy *small = fx_mlp(16, 4, 4, 8, 1, RT_NN_ACT_RELU, 1);
    rt_dpo_config cfg;
    quick_config(&cfg, 1);
    rt_dpo_args a = {&small->model, &pol->model, set_, task_, NULL, NULL, &cfg};
    rt_rng rng = rt_rng_make(7);
    rt_diag d;
    assert_int_equal(rt_dpo_run(&a, NULL, &rng, &d), RT_EINVAL);
    assert_string_equal(d.key, "from");
    rt_pref_set none = *set_;
    none.n_train = 0;
    rt_dpo_args b = {&q->model, &pol->model, &none, task_, NULL, NULL, &cfg};
    assert_int_equal(rt_dpo_run(&b, NULL, &rng, &d), RT_EINVAL);
    assert_string_equal(d.key, "data");
    assert_memory_equal(q->params.w, pol->params.w, sizeof(float) * q->params.n);
    rt_policy_free(small);
    rt_policy_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logprobs),  cmocka_unit_test(test_gradient),
        cmocka_unit_test(test_optimum),   cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_interrupt), cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
