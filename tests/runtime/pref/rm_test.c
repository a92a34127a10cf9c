/* rm_test.c: Bradley–Terry reward models (rt_rm.h) on add digits=1 (P = 5, T = 3), with
 * preferences simulated from a seeded MLP whose bias favours EOS and the digits (as
 * pref_test) and labelers compiled against the task's features.
 *   gradient: rt_rm_grad's head and trunk gradients against central finite differences
 *     of the BT loss (GELU trunk, so the loss is smooth; tolerance below);
 *   recovery: preferences from the linear labeler format + eos - 0.3 length with label
 *     noise flip = 0.1 (ceiling ~0.9); a K = 1 model from the policy's trunk, 800 steps,
 *     has a held-out accuracy on the non-tie pairs within RECOVER_MARGIN = 0.06 of the
 *     labeler's held-out agreement (the ceiling of any reward model: a model ranking
 *     exactly as the true reward scores it); measured 0.877 vs 0.899.  (With correct +
 *     partial the held-out prompts ask for sums never seen in training: this trunk
 *     reaches 0.65 against 0.92, a generalisation limit, not the fit's);
 *   determinism: K = 2 trained at threads 1 and 2 gives the same weights bit for bit, and
 *     the same run rows;
 *   ensemble and provider: members of a K = 3 fresh-init ensemble score differently; the
 *     "rm" provider's slots of rm(r) and rm_min(r) are rt_rm_mean / rt_rm_min of the
 *     members' scores exactly, rm_min <= rm_mean, the same for 300 samples in one call
 *     (chunks of 256) and one by one; errors: unknown model, another task's model;
 *   normalisation: after a finished run the train answers' scores have mean 0, sd 1.
 * Finite differences: the loss is a double of float activations; with h = 1e-2 on
 * float weights the central difference's truncation error is O(h^2 |L'''|) ~ 1e-4 and its
 * rounding error ~ 1e-7 / h = 1e-5 relative to the loss; we accept |fd - g| <= 2e-3 +
 * 5e-2 |g| (a wrong factor of 2 or a missing term is far outside that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fx_model.h"
#include "rt_alloc.h"
#include "rt_pref.h"
#include "rt_reward.h"
#include "rt_rm.h"
#include "rt_task.h"

enum { V = 32 };
#define RECOVER_MARGIN 0.06

static rt_task *task_, *other_;
static rt_policy *pol;

/* Value of column `name` in row i of a run with rt_rm_columns. */
static double rt_run_value(const rt_run *run, long i, const char *name)
{
    int nc;
    const char *const *cols = rt_rm_columns(&nc);
    double row[16];
    assert_int_equal(rt_run_read(run, i, 1, row), 1);
    for (int j = 0; j < nc; j++)
        if (!strcmp(cols[j], name)) return row[j];
    fail_msg("no column %s", name);
    return NAN;
}

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
    if (params && rt_reward_bind_params(rw, NULL, NULL, 0, params, &d))
        fail_msg("%s: %s", src, d.msg);
    return rw;
}

static int setup(void **st)
{
    (void)st;
    rt_task_config c;
    rt_diag e;
    assert_int_equal(rt_task_config_parse(&c, "add digits=1", &e), 0);
    assert_int_equal(rt_task_create(&c, &task_, &e), 0);
    assert_int_equal(rt_task_config_parse(&c, "add digits=2", &e), 0);
    assert_int_equal(rt_task_create(&c, &other_, &e), 0);
    pol = fx_mlp(V, 8, 8, 32, 1, RT_NN_ACT_RELU, 11);
    pol->p.bo[RT_TOK_EOS] += 2.0f;
    for (int v = 0; v < 10; v++)
        pol->p.bo[RT_TOK_DIGIT0 + v] += 1.5f;
    rt_policy_touch(pol);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rt_policy_free(pol);
    rt_task_free(task_);
    rt_task_free(other_);
    return 0;
}

static rt_pref_set *simulate(int pairs, int heldout, double flip, uint64_t seed)
{
    double params[8];
    rt_reward_program *lab = make_reward("format + eos - 0.3 * length", params);
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = pairs;
    c.heldout = heldout;
    c.per_prompt = 4;
    c.flip = flip;
    rt_rng s = rt_rng_make(seed);
    rt_pref_set *set = NULL;
    rt_diag d;
    if (rt_pref_simulate(&pol->model, task_, lab, params, &c, &s, &set, &d)) fail_msg("%s", d.msg);
    rt_reward_free(lab);
    return set;
}

static rt_rm *make_rm(const rt_model *trunk, int copy, int K, uint64_t seed)
{
    rt_rm *rm = NULL;
    rt_rng r = rt_rng_make(seed);
    rt_diag d;
    if (rt_rm_create(&rm, trunk, copy, K, rt_task_prompt_len(task_), rt_task_answer_max(task_),
                     0.05f, &r, &d))
        fail_msg("%s", d.msg);
    return rm;
}

static double loss_at(rt_rm *rm, rt_rm_ws *ws, const rt_pref_set *set, const int *idx, int B)
{
    rt_pref_loss_stats st;
    rt_diag d;
    assert_int_equal(rt_rm_grad(rm, ws, 0, set, RT_TASK_TRAIN, idx, B, &st, &d), 0);
    return st.loss;
}

static void check_fd(const char *what, double fd, double g)
{
    if (fabs(fd - g) > 2e-3 + 5e-2 * fabs(g))
        fail_msg("%s: finite difference %.6g, gradient %.6g", what, fd, g);
}

static void test_gradient(void **st)
{
    (void)st;
    rt_pref_set *set = simulate(40, 0, 0.0, 3);
    rt_policy *gp = fx_mlp(V, 8, 8, 16, 1, RT_NN_ACT_GELU, 5);
    rt_rm *rm = make_rm(&gp->model, 0, 1, 9);
    /* a head large enough that the trunk's gradient is not tiny */
    rt_params *h = rt_rm_head_params(rm, 0);
    for (int v = 0; v <= V; v++)
        h->w[v] *= 20.0f;
    rt_rm_ws *ws;
    assert_int_equal(rt_rm_ws_create(&ws, rm, 8, NULL), 0);
    int idx[4] = {0, 5, 17, 33};
    rt_pref_loss_stats s0;
    assert_int_equal(rt_rm_grad(rm, ws, 0, set, RT_TASK_TRAIN, idx, 4, &s0, NULL), 0);
    /* copies of the analytic gradients (later calls overwrite them) */
    rt_model *tr = rt_rm_trunk_mut(rm, 0);
    size_t n = tr->params->n;
    float *gt = rt_malloc(n * sizeof(float)), gh[V + 1];
    memcpy(gt, tr->params->g, n * sizeof(float));
    memcpy(gh, h->g, sizeof gh);
    const float eps = 1e-2f;
    int checked = 0;
    for (int v = 0; v <= V; v += 3) { /* head w (and b at v = V) */
        float w0 = h->w[v];
        h->w[v] = w0 + eps;
        double lp = loss_at(rm, ws, set, idx, 4);
        h->w[v] = w0 - eps;
        double lm = loss_at(rm, ws, set, idx, 4);
        h->w[v] = w0;
        check_fd("head", (lp - lm) / (2 * (double)eps), gh[v]);
        checked++;
    }
    /* trunk: the largest gradients (at least 24 of them) and a stride through the rest */
    int big = 0;
    for (size_t i = 0; i < n; i += (i % 7 == 0 && fabsf(gt[i]) > 1e-3f) ? 1 : 97) {
        if (fabsf(gt[i]) > 1e-3f) big++;
        float w0 = tr->params->w[i];
        tr->params->w[i] = w0 + eps;
        rt_model_touch(tr);
        double lp = loss_at(rm, ws, set, idx, 4);
        tr->params->w[i] = w0 - eps;
        rt_model_touch(tr);
        double lm = loss_at(rm, ws, set, idx, 4);
        tr->params->w[i] = w0;
        rt_model_touch(tr);
        char what[64];
        snprintf(what, sizeof what, "trunk[%zu]", i);
        check_fd(what, (lp - lm) / (2 * (double)eps), gt[i]);
        checked++;
        if (checked > 400) break;
    }
    assert_true(big >= 5);
    rt_free(gt);
    rt_rm_ws_free(ws);
    rt_rm_free(rm);
    rt_policy_free(gp);
    rt_pref_free(set);
}

/* Held-out accuracy (labels) on non-tie pairs, of the ensemble mean. */
static double heldout_acc_nontie(const rt_rm *rm, const rt_pref_set *set)
{
    int n = rt_pref_count(set, RT_TASK_HELDOUT), K = rt_rm_ensemble(rm);
    double *c = rt_malloc(sizeof(double) * (size_t)(n * K)),
           *r = rt_malloc(sizeof(double) * (size_t)(n * K)), *mc = rt_malloc(sizeof(double) * n),
           *mr = rt_malloc(sizeof(double) * n);
    rt_rm_ws *ws;
    assert_int_equal(rt_rm_ws_create(&ws, rm, 64, NULL), 0);
    assert_int_equal(rt_rm_score_pairs(rm, ws, set, RT_TASK_HELDOUT, 0, n, 0, c, NULL), 0);
    assert_int_equal(rt_rm_score_pairs(rm, ws, set, RT_TASK_HELDOUT, 0, n, 1, r, NULL), 0);
    rt_rm_mean(c, K, n, mc);
    rt_rm_mean(r, K, n, mr);
    double ok = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (rt_pref_at(set, RT_TASK_HELDOUT, i)->tie) continue;
        m++;
        ok += mc[i] > mr[i] ? 1.0 : mc[i] == mr[i] ? 0.5 : 0.0;
    }
    rt_rm_ws_free(ws);
    rt_free(c);
    rt_free(r);
    rt_free(mc);
    rt_free(mr);
    return ok / m;
}

static void test_recovery(void **st)
{
    (void)st;
    rt_pref_set *set = simulate(3000, 1000, 0.1, 21);
    rt_pref_stats ps;
    rt_pref_stats_of(set, &ps);
    double ceiling = ps.agreement[RT_TASK_HELDOUT];
    assert_true(ceiling > 0.8 && ceiling < 0.97);
    rt_rm *rm = make_rm(&pol->model, 1, 1, 4);
    rt_rm_config c;
    rt_rm_config_defaults(&c);
    c.steps = 800;
    c.batch = 32;
    c.lr = 3e-3f;
    rt_rng r = rt_rng_make(77);
    rt_diag d;
    int nc;
    const char *const *cols = rt_rm_columns(&nc);
    rt_run *run;
    assert_int_equal(rt_run_create("rm", cols, nc, &run), 0);
    if (rt_rm_train(rm, set, &c, run, &r, &d)) fail_msg("%s", d.msg);
    double acc = heldout_acc_nontie(rm, set);
    print_message("recovery: held-out non-tie accuracy %.4f, labeler ceiling %.4f\n", acc, ceiling);
    assert_true(acc >= ceiling - RECOVER_MARGIN);
    assert_true(acc <= 1.0);
    /* the run's last row: the ceiling column and a held-out accuracy */
    long rows = rt_run_rows(run);
    assert_true(rows > 0);
    assert_true(fabs(rt_run_value(run, rows - 1, "ceiling") - ceiling) < 1e-12);
    assert_true(rt_run_value(run, rows - 1, "heldout_acc") > 0.6);
    /* normalisation: train answers' scores have mean 0, sd 1 */
    assert_true(rt_rm_normalized(rm));
    int n = set->n_train;
    double *sc = rt_malloc(sizeof(double) * 2 * (size_t)n);
    rt_rm_ws *ws;
    assert_int_equal(rt_rm_ws_create(&ws, rm, 64, NULL), 0);
    assert_int_equal(rt_rm_score_pairs(rm, ws, set, RT_TASK_TRAIN, 0, n, 0, sc, NULL), 0);
    assert_int_equal(rt_rm_score_pairs(rm, ws, set, RT_TASK_TRAIN, 0, n, 1, sc + n, NULL), 0);
    double mu = 0, sq = 0;
    for (int i = 0; i < 2 * n; i++)
        mu += sc[i];
    mu /= 2 * n;
    for (int i = 0; i < 2 * n; i++)
        sq += (sc[i] - mu) * (sc[i] - mu);
    assert_true(fabs(mu) < 1e-6);
    assert_true(fabs(sqrt(sq / (2 * n)) - 1.0) < 1e-6);
    rt_free(sc);
    rt_rm_ws_free(ws);
    rt_run_free(run);
    rt_rm_free(rm);
    rt_pref_free(set);
}

static rt_rm *trained(const rt_pref_set *set, int K, int threads, int copy, rt_run **runp)
{
    rt_rm *rm = make_rm(&pol->model, copy, K, 8);
    rt_rm_config c;
    rt_rm_config_defaults(&c);
    c.steps = 30;
    c.batch = 16;
    c.eval_every = 10;
    c.threads = threads;
    rt_rng r = rt_rng_make(5);
    rt_diag d;
    int nc;
    const char *const *cols = rt_rm_columns(&nc);
    assert_int_equal(rt_run_create("rm", cols, nc, runp), 0);
    if (rt_rm_train(rm, set, &c, *runp, &r, &d)) fail_msg("%s", d.msg);
    return rm;
}

static void test_determinism(void **st)
{
    (void)st;
    rt_pref_set *set = simulate(200, 50, 0.0, 31);
    rt_run *r1, *r2;
    rt_rm *a = trained(set, 2, 1, 1, &r1), *b = trained(set, 2, 2, 1, &r2);
    for (int k = 0; k < 2; k++) {
        const rt_model *ta = rt_rm_trunk(a, k), *tb = rt_rm_trunk(b, k);
        assert_memory_equal(ta->params->w, tb->params->w, ta->params->n * sizeof(float));
        float ba, bb;
        const float *ha = rt_rm_head(a, k, &ba), *hb = rt_rm_head(b, k, &bb);
        assert_memory_equal(ha, hb, V * sizeof(float));
        assert_memory_equal(&ba, &bb, sizeof ba);
    }
    long rows = rt_run_rows(r1);
    assert_int_equal(rows, rt_run_rows(r2));
    for (long i = 0; i < rows; i++) {
        static const char *const m[] = {"loss", "acc", "heldout_loss", "heldout_acc", "margin"};
        for (int j = 0; j < 5; j++) {
            double x = rt_run_value(r1, i, m[j]), y = rt_run_value(r2, i, m[j]);
            assert_memory_equal(&x, &y, sizeof x);
        }
    }
    /* the heads trained (an untrained rm of the same init has other heads) */
    rt_rm *u = make_rm(&pol->model, 1, 2, 8);
    assert_memory_not_equal(rt_rm_head(u, 0, NULL), rt_rm_head(a, 0, NULL), V * sizeof(float));
    rt_rm_free(u);
    /* members of one ensemble (same trunk copy) still differ: heads and batches */
    assert_memory_not_equal(rt_rm_trunk(a, 0)->params->w, rt_rm_trunk(a, 1)->params->w,
                            rt_rm_trunk(a, 0)->params->n * sizeof(float));
    rt_run_free(r1);
    rt_run_free(r2);
    rt_rm_free(a);
    rt_rm_free(b);
    rt_pref_free(set);
}

/* ---- the provider ----------------------------------------------------------------- */

typedef struct reg {
    rt_rm_source src;
} reg;

static int resolve(void *ctx, const char *fn, const char *arg, void *out, char *err, size_t cap)
{
    (void)fn;
    reg *g = ctx;
    if (strcmp(arg, "r")) {
        snprintf(err, cap, "unknown reward model '%s'", arg);
        return 1;
    }
    *(rt_rm_source *)out = g->src;
    return 0;
}

static int slot_of(void *ctx, const char *fn, const char *arg, int *slot, char *err, size_t cap)
{
    (void)arg, (void)err, (void)cap;
    *slot = *(int *)ctx + (strcmp(fn, "rm_min") == 0);
    return 0;
}

static rt_reward_program *compile_fn(const char *src)
{
    const char *names[RT_TASK_MAX_FEATURES];
    int nf = rt_task_n_features(task_);
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(task_, i);
    static const char *const fns[] = {"rm", "rm_mean", "rm_min"};
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = "p";
    env.features = names;
    env.n_features = nf;
    env.n_slots = nf + 2;
    env.feature_fns = fns;
    env.n_feature_fns = 3;
    env.resolve_feature = slot_of;
    env.ctx = &nf;
    rt_reward_program *p;
    rt_diag d;
    if (rt_reward_compile(src, strlen(src), 1, 1, &env, &p, &d)) fail_msg("%s", d.msg);
    return p;
}

static void test_provider(void **st)
{
    (void)st;
    rt_pref_set *set = simulate(300, 0, 0.0, 41);
    rt_run *run;
    rt_rm *rm = trained(set, 3, 1, 0, &run); /* fresh members */
    const rt_feature_provider *fp = &rt_rm_feature_provider;
    assert_non_null(fp);
    rt_reward_program *p = compile_fn("rm(r) + 0 * rm_min(r)");
    reg g = {{rm, task_, "add"}};
    rt_feature_env env = {resolve, &g};
    void *state;
    rt_reward_program *linked;
    char msg[256];
    assert_int_equal(fp->create(task_, p, NULL, &env, &state, &linked, NULL, msg, sizeof msg), 0);
    assert_int_equal(fp->n_features(state), 2);
    void *ws;
    assert_int_equal(fp->run_new(state, 300, 1, &ws), 0);
    int N = 300, T = rt_task_answer_max(task_), nf = rt_task_n_features(task_), stride = nf + 2;
    rt_task_sample *smp = rt_calloc(N, sizeof *smp);
    int *tok = rt_calloc((size_t)N * T, sizeof(int)), *len = rt_calloc(N, sizeof(int));
    for (int i = 0; i < N; i++) {
        const rt_pref_pair *q = rt_pref_at(set, RT_TASK_TRAIN, i);
        smp[i] = q->prompt;
        memcpy(tok + (size_t)i * T, q->chosen, sizeof(int) * q->n_chosen);
        len[i] = q->n_chosen;
    }
    double *feat = rt_calloc((size_t)N * stride, sizeof(double)), *one = rt_calloc(stride, 8);
    rt_rng hs = rt_rng_make(1);
    rt_rl_hook_batch b = {1, N, 1, T, smp, tok, len, &hs};
    assert_int_equal(fp->fill(ws, &b, feat, stride, nf, NULL, msg, sizeof msg), 0);
    double *sc = rt_calloc((size_t)3 * N, sizeof(double)), *mean = rt_calloc(N, 8),
           *mn = rt_calloc(N, 8);
    rt_rm_ws *rws;
    assert_int_equal(rt_rm_ws_create(&rws, rm, 50, NULL), 0);
    assert_int_equal(rt_rm_score(rm, rws, smp, tok, len, N, sc, NULL), 0);
    rt_rm_mean(sc, 3, N, mean);
    rt_rm_min(sc, 3, N, mn);
    int differ = 0, below = 0;
    for (int i = 0; i < N; i++) {
        assert_memory_equal(&feat[(size_t)i * stride + nf], &mean[i], sizeof(double));
        assert_memory_equal(&feat[(size_t)i * stride + nf + 1], &mn[i], sizeof(double));
        assert_true(mn[i] <= mean[i]);
        below += mn[i] < mean[i];
        differ += sc[i] != sc[N + i] || sc[i] != sc[2 * N + i];
        /* one by one: the same bits */
        rt_rl_hook_batch b1 = {1, 1, 1, T, smp + i, tok + (size_t)i * T, len + i, &hs};
        assert_int_equal(fp->fill(ws, &b1, one, stride, nf, NULL, msg, sizeof msg), 0);
        assert_memory_equal(&one[nf], &mean[i], sizeof(double));
    }
    assert_true(differ > N / 2);
    assert_true(below > N / 2);
    fp->run_free(ws);
    fp->destroy(state);
    rt_reward_free(linked);
    /* errors: an unknown model, a model of another task's configuration */
    rt_reward_program *q = compile_fn("rm(x)");
    assert_int_not_equal(fp->create(task_, q, NULL, &env, &state, &linked, NULL, msg, sizeof msg),
                         0);
    assert_non_null(strstr(msg, "unknown reward model 'x'"));
    g.src.task = other_;
    g.src.task_name = "big";
    assert_int_not_equal(fp->create(task_, p, NULL, &env, &state, &linked, NULL, msg, sizeof msg),
                         0);
    assert_string_equal(
        msg, "rm 'r' is on task 'big', whose configuration differs from this run's task");
    rt_reward_free(q);
    rt_reward_free(p);
    rt_rm_ws_free(rws);
    rt_free(sc);
    rt_free(mean);
    rt_free(mn);
    rt_free(feat);
    rt_free(one);
    rt_free(smp);
    rt_free(tok);
    rt_free(len);
    rt_run_free(run);
    rt_rm_free(rm);
    rt_pref_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_provider),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
