/* engine_test.c: the off-policy and DAPO parts of the RL step engine (issue 18):
 * staleness (the sampler of step s is the policy of k steps earlier: its tokens are the
 * ones a fresh engine draws from that snapshot, and the first k + 1 steps sample the
 * initial policy), minibatches (mu * M Adam steps; the aggregation normalizes within a
 * part), filter_groups (exactly the zero-std groups leave the loss: a hand batch with
 * its exact loss; all dropped: no update), the entropy bonus (its gradient through the
 * logits by central differences, and the engine's parameter gradient by central
 * differences of its loss; the bonus is the token mean entropy under token_mean),
 * dapo = grpo + its parts bit for bit, determinism at 1 and 2 threads, and today's bits
 * at the defaults (the hash of a grpo and a ppo run as before these parts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_rl.h"

#include "fx_train.h"

/* |a - b| <= tol, printing both on failure (this cmocka has no double assertions) */
#define assert_double_equal(a, b, tol) near_(a, b, tol, __FILE__, __LINE__)
static void near_(double a, double b, double tol, const char *f, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g != %.17g (tol %g)\n", a, b, tol);
        _fail(f, line);
    }
}

static rt_task *make_task(void)
{
    return fx_task("add", "digits", 1);
}

static rt_policy *make_policy(uint64_t seed)
{
    return fx_task_mlp(8, 16, 32, 1, seed);
}

static rt_run *make_run(const char *name)
{
    int n;
    const char *const *cols = rt_rl_columns(&n);
    assert_int_equal(n, 26);
    assert_string_equal(cols[21], "staleness");
    assert_string_equal(cols[22], "groups_kept");
    return fx_run(name, cols, n, NULL, 0);
}

static rt_rl_config small_cfg(const char *algo)
{
    rt_rl_config c;
    rt_rl_config_init(&c);
    c.algo = rt_rl_recipe_find(algo);
    c.batch = 8;
    c.group = 4;
    c.steps = 6;
    c.lr = 1e-2f;
    c.eval_every = 0;
    c.eval_prompts = 64;
    return c;
}

/* FNV-1a over the policy's weights and the run's cells (wall excluded) */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t run_hash(const rt_policy *p, const rt_run *run)
{
    uint64_t h = fnv(1469598103934665603ull, p->params.w, p->params.n * sizeof(float));
    rt_run_snapshot s;
    assert_int_equal(rt_run_snapshot_take(run, &s), 0);
    int wall = rt_run_column_index(run, "wall");
    for (long k = 0; k < s.rows * s.n_columns; k++) {
        int col = (int)(k % s.n_columns);
        /* the columns of before these parts (the first 21), wall excluded */
        if (col == wall || col >= 21) continue;
        double x = s.values[k];
        if (isnan(x)) x = NAN; /* one NaN pattern */
        h = fnv(h, &x, sizeof x);
    }
    rt_run_snapshot_free(&s);
    return h;
}

typedef struct runres {
    rt_policy *p;
    rt_run *run;
    int rc;
} runres;

static runres do_run(const rt_rl_config *c, const char *reward, const rt_rl_hook *hook)
{
    rt_task *task = make_task();
    rt_reward_program *rw = fx_reward(task, NULL, 0, reward);
    runres r;
    r.p = make_policy(11);
    rt_policy *ref = fx_copy(r.p);
    r.run = make_run("e");
    rt_rl_problem prob = {task, rw, NULL, NULL, NULL};
    rt_rng base = rt_rng_make(4);
    rt_diag d;
    r.rc = rt_rl_run_hooked(r.p, ref, &prob, hook, c, r.run, &base, &d);
    if (r.rc) fprintf(stderr, "run failed: %s: %s\n", d.key, d.msg);
    rt_policy_free(ref);
    rt_reward_free(rw);
    rt_task_free(task);
    return r;
}

static void res_free(runres *r)
{
    rt_policy_free(r->p);
    rt_run_free(r->run);
}

static void assert_same_runs(const runres *a, const runres *b)
{
    size_t n = a->p->params.n * sizeof(float);
    assert_memory_equal(a->p->params.w, b->p->params.w, n);
    fx_assert_same_cells(a->run, b->run, NULL);
}

/* ---- today's bits --------------------------------------------------------------------- */

/* A grpo run (2 iterations, k3 KL in the loss) and a ppo run at the defaults of the new
 * keys hash as they did before them (the constants were computed by this function on
 * the tree without these parts); staleness 0, minibatches 1, filter_groups false and
 * entropy_coef 0 given explicitly are the defaults. */
static void test_defaults_are_todays_bits(void **st)
{
    (void)st;
    const uint64_t want[2] = {0x535993cf169eb1a2ull, 0x8799157d99841221ull};
    const char *algos[2] = {"grpo", "ppo"};
    for (int k = 0; k < 2; k++) {
        rt_rl_config c = small_cfg(algos[k]);
        c.kl = 0.05;
        c.epochs = 2;
        /* ppo's advantage before its value head: the whitened reward-to-go */
        if (k == 1) c.advantage = 1 + RT_RL_ADV_TOKEN_RTG;
        runres a = do_run(&c, "correct + 0.5 * partial - 0.1 * length", NULL);
        assert_int_equal(a.rc, 0);
        uint64_t h = run_hash(a.p, a.run);
        fprintf(stderr, "hash %s = 0x%016llxull\n", algos[k], (unsigned long long)h);
        assert_true(h == want[k]);
        c.staleness = 0, c.minibatches = 1, c.filter_groups = 1, c.entropy_coef = 0.0;
        runres b = do_run(&c, "correct + 0.5 * partial - 0.1 * length", NULL);
        assert_same_runs(&a, &b);
        for (long r = 0; r < c.steps; r++) {
            assert_true(fx_cell(a.run, r, "staleness") == 0.0);
            assert_true(fx_cell(a.run, r, "groups_kept") == c.batch);
        }
        res_free(&a), res_free(&b);
    }
}

/* ---- staleness -------------------------------------------------------------------------- */

/* the tokens of one step of a run (a hook with no slots) */
typedef struct grab {
    long step;
    int *tokens;
    int n;
} grab;

static int grab_fill(void *user, const rt_rl_hook_batch *b, double *feat, int stride, int nf,
                     double *metrics, char *msg, size_t msglen)
{
    (void)feat, (void)stride, (void)nf, (void)metrics, (void)msg, (void)msglen;
    grab *g = user;
    if (b->step == g->step) memcpy(g->tokens, b->tokens, sizeof(int) * (size_t)g->n);
    return 0;
}

/* the tokens a fresh engine draws from model m on the prompts and samples of step s of
 * a run with rng rt_rng_make(4) (rt_rl_run's streams: rt_rl.h) */
static void fresh_tokens(const rt_rl_config *c, const rt_model *m, const rt_model *ref, long s,
                         int *out)
{
    rt_task *task = make_task();
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task), B = c->batch;
    rt_rl *o;
    assert_int_equal(rt_rl_create(&o, c, m, ref, P, T, RT_TOK_EOS, NULL), 0);
    rt_rng base = rt_rng_make(4);
    rt_rng data = rt_rng_split(&base, RT_STREAM_PROMPTS),
           gen = rt_rng_split(&base, RT_STREAM_SAMPLES);
    rt_rng ps = rt_rng_split(&data, (uint64_t)s), gs = rt_rng_split(&gen, (uint64_t)s);
    rt_task_sample *smp = rt_calloc((size_t)B, sizeof *smp);
    int *prompts = rt_calloc((size_t)B * P, sizeof(int));
    rt_task_sample_batch(task, &ps, 0, RT_TASK_TRAIN, B, smp, prompts);
    assert_int_equal(rt_rl_sample(o, m, ref, prompts, &gs), 0);
    memcpy(out, rt_rl_tokens(o), sizeof(int) * (size_t)B * c->group * T);
    rt_free(smp), rt_free(prompts);
    rt_rl_free(o);
    rt_task_free(task);
}

/* staleness k: the tokens of step s are those drawn from the policy after max(0, s - 1 -
 * k) steps (the run's own weights after that many steps: a run of that length); the
 * current policy would draw others; kl_ref = 0 exactly while the sampler is the initial
 * policy (= the reference); the column staleness shows k. */
static void test_staleness_sampler(void **st)
{
    (void)st;
    rt_task *task = make_task();
    int T = rt_task_answer_max(task);
    rt_task_free(task);
    for (int k = 1; k <= 2; k++) {
        rt_rl_config c = small_cfg("grpo");
        c.staleness = k;
        int n = c.batch * c.group * T;
        int *tok = rt_calloc((size_t)n, sizeof(int)), *want = rt_calloc((size_t)n, sizeof(int));
        long last = k + 3; /* its sampler: the policy after 2 steps */
        grab g = {last, tok, n};
        rt_rl_hook hook = {0, 0, NULL, grab_fill, &g};
        c.steps = last;
        runres a = do_run(&c, "-length", &hook);
        assert_int_equal(a.rc, 0);
        for (long r = 0; r < last; r++) {
            assert_true(fx_cell(a.run, r, "staleness") == k);
            if (r <= k) /* steps 1 .. k + 1: the initial policy, the reference's bits */
                assert_true(fx_cell(a.run, r, "kl_ref") == 0.0);
            else
                assert_true(fx_cell(a.run, r, "kl_ref") > 0.0);
        }
        c.steps = 2;
        runres w2 = do_run(&c, "-length", NULL); /* the policy after 2 steps */
        rt_policy *ref = make_policy(11);
        fresh_tokens(&c, &w2.p->model, &ref->model, last, want);
        assert_memory_equal(tok, want, sizeof(int) * (size_t)n);
        fresh_tokens(&c, &a.p->model, &ref->model, last, want); /* the current policy */
        assert_true(memcmp(tok, want, sizeof(int) * (size_t)n) != 0);
        /* and step 1 is the initial policy's sample */
        g.step = 1;
        c.steps = 1;
        runres b = do_run(&c, "-length", &hook);
        fresh_tokens(&c, &ref->model, &ref->model, 1, want);
        assert_memory_equal(tok, want, sizeof(int) * (size_t)n);
        rt_policy_free(ref);
        res_free(&a), res_free(&w2), res_free(&b);
        rt_free(tok), rt_free(want);
    }
}

/* staleness > 0 with a plain policy gradient is allowed (the lesson: nothing corrects
 * it); the engine forwards the current policy on the stale sample: its first update's
 * lp differs from lp_old, so grpo clips at iterations 1 */
static void test_staleness_runs(void **st)
{
    (void)st;
    const char *algos[3] = {"reinforce", "rloo", "grpo"};
    for (int k = 0; k < 3; k++) {
        rt_rl_config c = small_cfg(algos[k]);
        c.staleness = 3;
        c.steps = 12;
        c.lr = 3e-2f;
        runres a = do_run(&c, "-length", NULL);
        assert_int_equal(a.rc, 0);
        if (k == 2) {
            double rm = 0.0;
            for (long r = 4; r < 12; r++)
                rm = fmax(rm, fabs(fx_cell(a.run, r, "ratio_mean") - 1.0));
            assert_true(rm > 0.0); /* rho != 1 on stale data */
            assert_true(fx_cell(a.run, 0, "ratio_mean") == 1.0);
        }
        res_free(&a);
    }
}

/* ---- minibatches -------------------------------------------------------------------------- */

typedef struct eng {
    rt_task *task;
    rt_policy *p, *ref;
    rt_rl *o;
    int P, T, N;
} eng;

static void eng_make(eng *e, const rt_rl_config *c)
{
    e->task = make_task();
    e->P = rt_task_prompt_len(e->task), e->T = rt_task_answer_max(e->task);
    e->p = make_policy(7);
    e->ref = fx_copy(e->p);
    e->N = c->batch * c->group;
    assert_int_equal(
        rt_rl_create(&e->o, c, &e->p->model, &e->ref->model, e->P, e->T, RT_TOK_EOS, NULL), 0);
    int *prompts = rt_calloc((size_t)c->batch * e->P, sizeof(int));
    rt_task_sample *s = rt_calloc((size_t)c->batch, sizeof *s);
    rt_rng r = rt_rng_make(5), g = rt_rng_make(6);
    rt_task_sample_batch(e->task, &r, 0, RT_TASK_TRAIN, c->batch, s, prompts);
    assert_int_equal(rt_rl_sample(e->o, &e->p->model, &e->ref->model, prompts, &g), 0);
    rt_free(prompts), rt_free(s);
}

static void eng_free(eng *e)
{
    rt_rl_free(e->o);
    rt_policy_free(e->p), rt_policy_free(e->ref);
    rt_task_free(e->task);
}

/* mu * M Adam steps; with weights that do not move (lr 1e-30: every update sees the
 * sampling weights, rho = 1 up to the forward's rounding) the loss is the mean over the
 * M parts of each part's token mean -(1/sum_p |y_i|) sum_p |y_i| A_i: the aggregation
 * normalizes within the part, whose prompts are [mB/M, (m+1)B/M) */
static void test_minibatches(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("bnpo");
    c.advantage = 1 + RT_RL_ADV_BASELINE; /* the parts' advantages do not sum to 0 */
    c.batch = 5;
    c.epochs = 2;
    c.minibatches = 3;
    eng e;
    eng_make(&e, &c);
    double R[20];
    for (int i = 0; i < e.N; i++)
        R[i] = (i * 7) % 5 - 0.5 * (i % 3);
    rt_rl_metrics m;
    long t0 = e.p->params.t;
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_int_equal(e.p->params.t - t0, 2 * 3);
    eng_free(&e);
    /* the loss of the parts */
    c.lr = 1e-30f;
    c.epochs = 1;
    eng_make(&e, &c);
    rt_rl_config rc;
    assert_int_equal(rt_rl_config_check(&c, &rc, NULL), 0);
    double A[20];
    double bl = 0.0;
    int bs = 0;
    assert_int_equal(rt_rl_advantages(&rc, R, c.batch, c.group, &bl, &bs, A), 0);
    const int *len = rt_rl_lengths(e.o);
    double want = 0.0;
    int bounds[4] = {0, 1, 3, 5}; /* m B / M for B = 5, M = 3 */
    for (int p = 0; p < 3; p++) {
        double num = 0.0, den = 0.0;
        for (int i = bounds[p] * c.group; i < bounds[p + 1] * c.group; i++)
            num += len[i] * A[i], den += len[i];
        want += -num / den;
    }
    want /= 3;
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_double_equal(m.loss, want, 1e-5);
    /* a single part is another number (the whole batch's token mean) */
    double num = 0.0, den = 0.0;
    for (int i = 0; i < e.N; i++)
        num += len[i] * A[i], den += len[i];
    assert_true(fabs(-num / den - want) > 1e-3);
    eng_free(&e);
    /* minibatches > batch names the key */
    c.minibatches = 6;
    rt_diag d;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "minibatches");
    assert_string_equal(d.msg, "minibatches = 6 is more than batch = 5: each part is made of whole "
                               "groups (at least one prompt)");
    /* a plain policy gradient has nothing to correct the later parts' staleness */
    c = small_cfg("rloo");
    c.minibatches = 2;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "minibatches");
    assert_string_equal(d.msg, "minibatches = 2 with algo = rloo: its loss has no importance "
                               "ratio, so the updates after the first would be off-policy with "
                               "nothing to correct them; use algo = grpo, drgrpo, ppo, bnpo, "
                               "gspo, cispo, dapo, opmd, asymre, bapo, nft or r2vpo");
    /* dapo's default: min(16, batch) */
    c = small_cfg("dapo");
    assert_int_equal(rt_rl_config_check(&c, &rc, NULL), 0);
    assert_int_equal(rc.minibatches, 8);
    assert_int_equal(rc.filter_groups, 2);
    c.batch = 40;
    assert_int_equal(rt_rl_config_check(&c, &rc, NULL), 0);
    assert_int_equal(rc.minibatches, 16);
    c = small_cfg("grpo");
    assert_int_equal(rt_rl_config_check(&c, &rc, NULL), 0);
    assert_int_equal(rc.minibatches, 1);
    assert_int_equal(rc.filter_groups, 1);
}

/* ---- filter_groups -------------------------------------------------------------------------- */

/* B = 4 prompts of G = 4: groups 0 and 2 have equal rewards (dropped), 1 and 3 not; the
 * first update's loss (rho = 1 exactly, kl 0; the baseline advantage, whose kept values
 * do not cancel) over the kept sequences with grpo's aggregation renormalized over them:
 * -(1/8) sum_kept (1/|y_i|) |y_i| A_i, computed in the engine's order; all groups equal: no update
 * (weights and Adam state unchanged, loss and grad_norm 0, groups_kept 0) */
static void test_filter_groups(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("grpo");
    c.advantage = 1 + RT_RL_ADV_BASELINE; /* the kept advantages do not sum to 0 */
    c.batch = 4;
    c.filter_groups = 2;
    eng e;
    eng_make(&e, &c);
    double R[16] = {1, 1, 1, 1, 0, 1, 0.5, 0, 0, 0, 0, 0, 2, 0, 0, 1};
    rt_rl_config rc;
    assert_int_equal(rt_rl_config_check(&c, &rc, NULL), 0);
    double A[16], bl = 0.0;
    int bs = 0;
    assert_int_equal(rt_rl_advantages(&rc, R, 4, 4, &bl, &bs, A), 0);
    const int *len = rt_rl_lengths(e.o);
    double want = 0.0, all = 0.0;
    for (int i = 0; i < 16; i++) {
        double w = 1.0 / (8.0 * len[i]), seq = 0.0;
        for (int t = 0; t < len[i]; t++)
            seq += -A[i];
        all += seq / (16.0 * len[i]);
        if (i / 4 == 0 || i / 4 == 2) continue;
        want += w * seq;
    }
    rt_rl_metrics m;
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_double_equal(m.loss, want, 1e-15);
    assert_true(fabs(want) > 1e-3);
    assert_true(m.groups_kept == 2.0);
    assert_true(m.frac_reward_zero_std == 0.5);
    eng_free(&e);
    /* without the filter the loss is over all 16 */
    c.filter_groups = 1;
    eng_make(&e, &c);
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_double_equal(m.loss, all, 1e-12);
    assert_true(fabs(all - want) > 1e-3);
    assert_true(m.groups_kept == 4.0);
    eng_free(&e);
    /* every group equal: no update */
    c.filter_groups = 2;
    c.epochs = 2;
    c.minibatches = 2;
    eng_make(&e, &c);
    for (int i = 0; i < 16; i++)
        R[i] = i / 4;
    size_t n = e.p->params.n;
    float *w0 = rt_calloc(n, sizeof(float));
    memcpy(w0, e.p->params.w, n * sizeof(float));
    long t0 = e.p->params.t;
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_memory_equal(w0, e.p->params.w, n * sizeof(float));
    assert_int_equal(e.p->params.t, t0);
    assert_true(m.loss == 0.0 && m.grad_norm == 0.0 && m.groups_kept == 0.0);
    assert_true(m.frac_reward_zero_std == 1.0);
    rt_free(w0);
    eng_free(&e);
    /* a part without a kept group makes no update: 2 parts, only part 1 kept */
    eng_make(&e, &c);
    R[10] = 5;
    t0 = e.p->params.t;
    assert_int_equal(rt_rl_update(e.o, &e.p->model, &e.ref->model, R, &m, NULL), 0);
    assert_int_equal(e.p->params.t - t0, 2); /* 2 iterations x 1 part */
    assert_true(m.groups_kept == 1.0);
    eng_free(&e);
    /* group 1 cannot filter */
    c.group = 1;
    rt_diag d;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "filter_groups");
}

/* ---- entropy bonus ------------------------------------------------------------------------ */

static double entropy_of(const double *z, int V, double tau)
{
    double mx = -INFINITY, s = 0.0, h = 0.0;
    for (int v = 0; v < V; v++)
        mx = fmax(mx, z[v] / tau);
    for (int v = 0; v < V; v++)
        s += exp(z[v] / tau - mx);
    for (int v = 0; v < V; v++) {
        double lp = z[v] / tau - mx - log(s);
        h -= exp(lp) * lp;
    }
    return h;
}

/* dH/dz by central differences of the exact entropy (double), against the engine's row
 * gradient from float log-softmax rows (its rounding: ~1e-6) */
static void test_entropy_gradient(void **st)
{
    (void)st;
    enum { V = 7 };
    const double taus[3] = {1.0, 0.7, 1.6};
    for (int k = 0; k < 3; k++) {
        float zf[V], ls[V], p[V], dz[V] = {0};
        double z[V];
        for (int v = 0; v < V; v++)
            z[v] = zf[v] = (float)(0.9 * sin(1.3 * v + k) - 0.2 * v);
        rt_nn_log_softmax(ls, zf, 1, V, (float)taus[k]);
        for (int v = 0; v < V; v++)
            p[v] = rt_expf_vec(ls[v]);
        double h = rt_rl_entropy_row(ls, p, V, taus[k], 2.0, dz);
        assert_double_equal(h, entropy_of(z, V, taus[k]), 1e-6);
        for (int v = 0; v < V; v++) {
            double e = 1e-4, zp[V], zm[V];
            memcpy(zp, z, sizeof z), memcpy(zm, z, sizeof z);
            zp[v] += e, zm[v] -= e;
            double fd = (entropy_of(zp, V, taus[k]) - entropy_of(zm, V, taus[k])) / (2 * e);
            assert_double_equal(dz[v], 2.0 * fd, 1e-5);
        }
    }
}

/* loss(entropy_coef) = loss(0) - entropy_coef * (token mean entropy of the batch) under
 * token_mean at the first update (the same sample); the weights move differently */
static void test_entropy_bonus(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("bnpo");
    eng a, b;
    eng_make(&a, &c);
    c.entropy_coef = 0.5;
    eng_make(&b, &c);
    double R[32];
    for (int i = 0; i < a.N; i++)
        R[i] = (i * 5) % 3;
    rt_rl_metrics ma, mb;
    assert_int_equal(rt_rl_update(a.o, &a.p->model, &a.ref->model, R, &ma, NULL), 0);
    assert_int_equal(rt_rl_update(b.o, &b.p->model, &b.ref->model, R, &mb, NULL), 0);
    assert_true(ma.entropy > 0.1);
    assert_double_equal(mb.loss, ma.loss - 0.5 * ma.entropy, 1e-6);
    assert_true(memcmp(a.p->params.w, b.p->params.w, a.p->params.n * sizeof(float)) != 0);
    eng_free(&a), eng_free(&b);
    rt_diag d;
    c.entropy_coef = -1;
    assert_int_equal(rt_rl_config_check(&c, NULL, &d), RT_EINVAL);
    assert_string_equal(d.key, "entropy_coef");
}

/* the loss of one update of q (lr 1e-30: q's float weights do not move) on the sample
 * that model s draws (the same tokens every call); g (may be NULL): q's gradient */
static double loss_at(const rt_rl_config *c, const rt_policy *s, rt_policy *q, float *g)
{
    rt_task *task = make_task();
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    rt_rl *o;
    assert_int_equal(rt_rl_create(&o, c, &s->model, &s->model, P, T, RT_TOK_EOS, NULL), 0);
    int *prompts = rt_calloc((size_t)c->batch * P, sizeof(int));
    rt_task_sample *sm = rt_calloc((size_t)c->batch, sizeof *sm);
    rt_rng r = rt_rng_make(5), gr = rt_rng_make(6);
    rt_task_sample_batch(task, &r, 0, RT_TASK_TRAIN, c->batch, sm, prompts);
    assert_int_equal(rt_rl_sample(o, &s->model, &s->model, prompts, &gr), 0);
    double R[64] = {0}; /* all equal: A = 0, the loss is the entropy bonus alone */
    rt_rl_metrics m;
    assert_int_equal(rt_rl_update(o, &q->model, &s->model, R, &m, NULL), 0);
    if (g) memcpy(g, q->params.g, q->params.n * sizeof(float));
    rt_free(prompts), rt_free(sm);
    rt_rl_free(o);
    rt_task_free(task);
    return m.loss;
}

/* the engine's gradient of the entropy bonus (forward of q on s's sample, the dlogits
 * pass, backward) against central differences of its loss in q's weights */
static void test_entropy_engine_gradient(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("grpo");
    c.batch = 4;
    c.entropy_coef = 1.0;
    c.lr = 1e-30f;
    c.grad_clip = 0.0f;
    rt_policy *s = make_policy(7), *q = make_policy(8);
    size_t n = q->params.n;
    float *g = rt_calloc(n, sizeof(float)), *w0 = rt_calloc(n, sizeof(float));
    memcpy(w0, q->params.w, n * sizeof(float));
    double l0 = loss_at(&c, s, q, g);
    assert_memory_equal(w0, q->params.w, n * sizeof(float)); /* lr 1e-30: unchanged */
    assert_true(l0 < -0.5);                                  /* -mean entropy */
    for (int pick = 0; pick < 4; pick++) { /* the largest gradients not yet taken */
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (fabsf(g[j]) > fabsf(g[k])) k = j;
        double e = 1e-2, fd;
        q->params.w[k] = w0[k] + (float)e;
        rt_model_touch(&q->model);
        double lp = loss_at(&c, s, q, NULL);
        q->params.w[k] = w0[k] - (float)e;
        rt_model_touch(&q->model);
        double lm = loss_at(&c, s, q, NULL);
        q->params.w[k] = w0[k];
        rt_model_touch(&q->model);
        fd = (lp - lm) / ((double)(w0[k] + (float)e) - (double)(w0[k] - (float)e));
        assert_double_equal(g[k], fd, 2e-3 * fabs(fd)); /* float weights: ~3e-4 seen */
        assert_true(fabs(fd) > 1e-3);
        g[k] = 0.0f;
    }
    rt_free(g), rt_free(w0);
    rt_policy_free(s), rt_policy_free(q);
}

/* ---- dapo and determinism -------------------------------------------------------------- */

/* dapo = grpo with token_mean, clip 0.2 / 0.28, minibatches min(16, B), filter_groups: the
 * same run bit for bit */
static void test_dapo_is_grpo_parts(void **st)
{
    (void)st;
    rt_rl_config d = small_cfg("dapo"), g = small_cfg("grpo");
    g.loss_agg = 1 + RT_RL_AGG_TOKEN_MEAN;
    g.clip_low = 0.2, g.clip_high = 0.28;
    g.minibatches = 8;
    g.filter_groups = 2;
    runres a = do_run(&d, "correct + 0.5 * partial", NULL);
    runres b = do_run(&g, "correct + 0.5 * partial", NULL);
    assert_int_equal(a.rc, 0);
    assert_same_runs(&a, &b);
    double clip = 0.0, kept = 0.0;
    for (long r = 0; r < d.steps; r++)
        clip += fx_cell(a.run, r, "clip_frac_high"), kept += fx_cell(a.run, r, "groups_kept");
    assert_true(clip > 0.0);               /* 8 updates per batch: the clip acts */
    assert_true(kept < d.steps * d.batch); /* some groups have no signal */
    res_free(&a), res_free(&b);
}

/* every new part at once, at 1 and 2 kernel threads: the same bits */
static void test_threads(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("grpo");
    c.staleness = 1, c.minibatches = 3, c.filter_groups = 2, c.entropy_coef = 0.01;
    c.epochs = 2, c.kl = 0.02;
    runres a = do_run(&c, "correct + 0.5 * partial - 0.1 * length", NULL);
    assert_int_equal(a.rc, 0);
    c.threads = 2;
    int bt = rt_nn_gemm_threads();
    rt_nn_set_gemm_threads(1);
    runres b = do_run(&c, "correct + 0.5 * partial - 0.1 * length", NULL);
    rt_nn_set_gemm_threads(bt);
    assert_same_runs(&a, &b);
    res_free(&a), res_free(&b);
}

/* R2VPO's multiplier (rt_rl.h): lambda <- max(0, lambda + eta (v - delta)) after each
 * update, v the update's mean (rho - 1)^2.  On-policy with one update rho = 1, so v = 0:
 * 0.04 - eta 0.04 exactly (0 at eta 1, 0.02 at eta 0.5, 0.04 at eta 0); with stale
 * samples and one update v = ratio_var + (ratio_mean - 1)^2 of the step's row */
static void test_r2vpo_dual(void **st)
{
    (void)st;
    const double eta[3] = {1.0, 0.5, 0.0}, want[3] = {0.0, 0.02, 0.04};
    for (int k = 0; k < 3; k++) {
        rt_rl_config c = small_cfg("r2vpo");
        c.epochs = 1, c.steps = 1, c.r2vpo_dual_lr = eta[k];
        runres a = do_run(&c, "correct + 0.5 * partial", NULL);
        assert_int_equal(a.rc, 0);
        assert_true(fx_cell(a.run, 0, "r2vpo_lambda") == want[k]);
        res_free(&a);
    }
    rt_rl_config c = small_cfg("r2vpo");
    c.epochs = 1, c.staleness = 2, c.steps = 8, c.r2vpo_delta = 0.0;
    runres a = do_run(&c, "correct + 0.5 * partial", NULL);
    assert_int_equal(a.rc, 0);
    double lam = 0.04, moved = 0.0;
    for (long r = 0; r < c.steps; r++) {
        double m = fx_cell(a.run, r, "ratio_mean"), v = fx_cell(a.run, r, "ratio_var");
        double next = lam + (v + (m - 1) * (m - 1));
        lam = next > 0 ? next : 0;
        assert_double_equal(fx_cell(a.run, r, "r2vpo_lambda"), lam, 1e-12 * (1 + lam));
        moved += v;
    }
    assert_true(moved > 0); /* the stale steps' ratios left 1 */
    res_free(&a);
    /* the column is NaN for other recipes */
    c = small_cfg("grpo");
    c.steps = 1;
    a = do_run(&c, "correct", NULL);
    assert_true(isnan(fx_cell(a.run, 0, "r2vpo_lambda")));
    res_free(&a);
}

/* NFT's gradient is Dr. GRPO's (group-centred advantages, token mean) at rho = 1: with
 * one update and no staleness the two runs train the same weights, bit for bit */
static void test_nft_is_drgrpo_on_policy(void **st)
{
    (void)st;
    rt_rl_config a = small_cfg("nft"), b = small_cfg("drgrpo");
    b.loss_agg = 1 + RT_RL_AGG_TOKEN_MEAN;
    runres ra = do_run(&a, "correct", NULL), rb = do_run(&b, "correct", NULL);
    assert_int_equal(ra.rc, 0);
    assert_int_equal(rb.rc, 0);
    for (long r = 0; r < a.steps; r++)
        if (fx_cell(ra.run, r, "grad_norm") != fx_cell(rb.run, r, "grad_norm"))
            fprintf(stderr, "step %ld: grad_norm %.17g vs %.17g\n", r + 1,
                    fx_cell(ra.run, r, "grad_norm"), fx_cell(rb.run, r, "grad_norm"));
    assert_memory_equal(ra.p->params.w, rb.p->params.w, ra.p->params.n * sizeof(float));
    res_free(&ra);
    res_free(&rb);
}

/* PPO's value head with minibatches and stale samples: the values at sampling come from
 * one forward of the whole batch, each part's value loss from its own forward; the run is
 * finite and threads 1 and 2 give the same bits */
static void test_ppo_parts_and_staleness(void **st)
{
    (void)st;
    rt_rl_config c = small_cfg("ppo");
    c.minibatches = 2, c.staleness = 1, c.steps = 12;
    runres a = do_run(&c, "correct + 0.5 * partial", NULL);
    assert_int_equal(a.rc, 0);
    for (long r = 0; r < c.steps; r++) {
        assert_true(isfinite(fx_cell(a.run, r, "value_loss")));
        assert_true(isfinite(fx_cell(a.run, r, "explained_var")));
    }
    assert_true(fx_cell(a.run, 0, "value_loss") > 0.0);
    c.threads = 2;
    runres b = do_run(&c, "correct + 0.5 * partial", NULL);
    assert_same_runs(&a, &b);
    res_free(&a);
    res_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_todays_bits),
        cmocka_unit_test(test_staleness_sampler),
        cmocka_unit_test(test_staleness_runs),
        cmocka_unit_test(test_minibatches),
        cmocka_unit_test(test_filter_groups),
        cmocka_unit_test(test_entropy_gradient),
        cmocka_unit_test(test_entropy_bonus),
        cmocka_unit_test(test_entropy_engine_gradient),
        cmocka_unit_test(test_dapo_is_grpo_parts),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_r2vpo_dual),
        cmocka_unit_test(test_nft_is_drgrpo_on_policy),
        cmocka_unit_test(test_ppo_parts_and_staleness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
