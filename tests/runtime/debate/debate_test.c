/* debate_test.c: the judge, the debate object and the debate reward at the notebook's
 * sizes (triage K=6 features, M=4 values, A=4 actions, 2 good, evidence L=4).
 *
 * Judge accuracy (documented margin): trained with the defaults (1500 steps, batch 64,
 * hidden 32; ~0.1 s optimized, ~1 s in a debug build), top-1 accuracy on 1000
 * held-out states, chance 0.25.  Measured seeds 1..3 (rt_rng_make(seed)): partial (4
 * random features) 0.637 / 0.659 / 0.622, full-state judge 0.967 / 0.983 / 0.974, the
 * partial judge given the full state 0.901 / 0.850 / 0.884.  Asserted: partial >= 0.45
 * (chance + 0.20), full >= 0.90, and the untrained judge below 0.45.
 *
 * Also: judge training metrics, cancel and bad configurations; the debate reward is
 * deterministic for a seed, independent of batch partitioning and of the thread
 * count, follows the conventions (equal actions 0.5, invalid policy action 0, invalid
 * baseline action 1, first mover fixed by `first`); transcripts; metrics judge_win and
 * judge_win_full; the transcript text; the learned debater's training (deterministic,
 * improves against greedy); judge training and reward bit-identical at 1 and 2 OpenBLAS threads
 * and inside a 2-thread rt_sweep; bad input messages; allocation-failure injection in
 * setup; the too-large minimax error at create.  Issue 14: top-1 and pairwise accuracy
 * on the same states (paired), the chance levels of a judge that knows nothing (1/A and
 * 1/2 within a binomial tolerance), judge_full(NAME)'s values on hand-built states, and
 * the triage bias (learnable by the full-state judge) against the hash conflict (not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate.h"
#include "rt_policy.h"
#include "rt_sweep.h"

#include "fx_train.h"

static rt_task *make_triage(double conflict)
{
    return fx_triage(6, 4, conflict);
}

static rt_debate *make_debate(const rt_task *t, rt_debater_kind kind, long judge_steps, int threads,
                              uint64_t seed)
{
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.evidence = 4;
    cfg.debaters = kind;
    cfg.judge.steps = judge_steps;
    cfg.learner.steps = 100;
    cfg.threads = threads;
    cfg.accuracy_states = 1000;
    rt_rng rng = rt_rng_make(seed);
    rt_debate *d;
    rt_diag err;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), 0);
    assert_int_equal(rt_debate_train(d, &rng, NULL, NULL, NULL, &err), 0);
    return d;
}

static void test_judge_beats_chance(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rt_debate *d = make_debate(t, RT_DEBATER_GREEDY, 1500, 1, seed);
        rt_debate_accuracy a = rt_debate_accuracy_of(d);
        print_message("seed %d: partial %.3f full %.3f partial_on_full %.3f chance %.3f\n",
                      (int)seed, a.partial, a.full, a.partial_on_full, a.chance);
        assert_true(a.chance == 0.25);
        assert_true(a.partial >= 0.45);
        assert_true(a.full >= 0.90);
        rt_debate_free(d);
    }
    /* untrained: no better than the margin */
    rt_debate *d0 = make_debate(t, RT_DEBATER_GREEDY, 0, 1, 1);
    rt_debate_accuracy a0 = rt_debate_accuracy_of(d0);
    assert_true(a0.partial < 0.45 && a0.full < 0.45);
    rt_debate_free(d0);
    rt_task_free(t);
}

static void test_judge_run_metrics_and_cancel(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_rng rng = rt_rng_make(5);
    rt_debate_judge *j;
    assert_int_equal(rt_debate_judge_create(t, 16, &rng, &j, NULL), 0);
    int nc;
    const char *const *cols = rt_debate_judge_columns(&nc);
    assert_int_equal(nc, 3);
    const char *const runcols[] = {"step", "loss", "pairwise_acc", "judge_win"};
    rt_run *run = fx_run("judge", runcols, 4, NULL, 0);
    assert_string_equal(cols[1], "loss");
    assert_string_equal(cols[2], "pairwise_acc"); /* not the table's top-1 */
    rt_debate_train_config tc;
    rt_debate_judge_train_init(&tc);
    tc.steps = 120, tc.log_every = 50;
    assert_int_equal(rt_debate_judge_train(j, 4, &tc, &rng, run, NULL), 0);
    assert_int_equal(rt_run_rows(run), 3); /* 50, 100, 120 */
    double rows[12];
    assert_int_equal(rt_run_read(run, 0, 3, rows), 3);
    assert_true(rows[0] == 50 && rows[4] == 100 && rows[8] == 120);
    assert_true(isnan(rows[3])); /* a column the judge does not fill */
    assert_true(rows[1] > 0 && rows[1] < 1.0 && rows[9] < rows[1]); /* the loss falls */
    assert_true(rows[10] >= 0 && rows[10] <= 1);
    long step;
    assert_int_equal(rt_run_status_of(run, &step, NULL, 0), RT_RUN_FINISHED);
    assert_int_equal(step, 120);
    rt_run_free(run);
    /* cancel before the first step */
    atomic_int cancel = 1;
    run = fx_run("judge2", runcols, 3, NULL, 0);
    rt_run_set_cancel(run, &cancel);
    rt_diag err;
    assert_int_equal(rt_debate_judge_train(j, 4, &tc, &rng, run, &err), RT_EINTR);
    assert_string_equal(err.msg, "judge: interrupted after step 0");
    assert_int_equal(rt_run_status_of(run, &step, NULL, 0), RT_RUN_INTERRUPTED);
    assert_int_equal(step, 0);
    rt_run_free(run);
    /* bad configuration */
    assert_int_equal(rt_debate_judge_train(j, 7, &tc, &rng, NULL, &err), RT_EINVAL);
    rt_debate_judge_free(j);
    rt_task_free(t);
}

static void test_bad_input(void **state)
{
    (void)state;
    rt_task *add = fx_task("add", NULL, 0);
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    rt_rng rng = rt_rng_make(1);
    rt_debate *d = (rt_debate *)&cfg;
    rt_diag err;
    assert_int_equal(rt_debate_create(add, &cfg, &rng, &d, &err), RT_EINVAL);
    assert_null(d);
    assert_string_equal(err.msg, "debate needs a triage task (got add)");
    rt_task *t = make_triage(0);
    cfg.evidence = 7;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), RT_EINVAL);
    assert_string_equal(err.msg, "evidence must be between 1 and 6 (the task's features)");
    cfg.evidence = 0;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), RT_EINVAL);
    cfg.evidence = 4;
    cfg.judge.steps = -1;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), RT_EINVAL);
    assert_string_equal(err.msg, "judge_steps must be >= 0 (batch >= 1, lr > 0)");
    cfg.judge.steps = 10;
    cfg.debaters = RT_DEBATER_MINIMAX;
    cfg.max_leaves = 100;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), RT_ETOOBIG);
    assert_string_equal(err.msg, "minimax: game tree of 360 leaves (K=6 features, evidence 4) "
                                 "exceeds the limit of 100");
    cfg.max_leaves = 360;
    assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, &err), 0);
    rt_debate_free(d);
    rt_debate_judge *j;
    assert_int_equal(rt_debate_judge_create(add, 8, &rng, &j, &err), RT_EINVAL);
    assert_string_equal(err.msg, "a judge needs a triage task (got add)");
    rt_task_free(add);
    rt_task_free(t);
}

enum { B = 96 };

typedef struct batch {
    rt_task_sample smp[B];
    int a_pi[B], a_b[B];
} batch;

static void make_batch(const rt_task *t, batch *b, uint64_t seed)
{
    rt_rng r = rt_rng_make(seed);
    rt_task_sample_batch(t, &r, 0, RT_TASK_HELDOUT, B, b->smp, NULL);
    rt_rng q = rt_rng_split(&r, 99);
    for (int i = 0; i < B; i++) {
        b->a_pi[i] = (int)rt_rng_below(&q, 4);
        b->a_b[i] = (int)rt_rng_below(&q, 4);
    }
    b->a_pi[0] = -1, b->a_b[0] = 2; /* malformed policy answer */
    b->a_pi[1] = 3, b->a_b[1] = -1; /* malformed baseline answer */
    b->a_pi[2] = 1, b->a_b[2] = 1;  /* equal actions */
    b->a_pi[3] = 0, b->a_b[3] = 2;
}

static void test_reward_conventions_and_determinism(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    static batch b;
    make_batch(t, &b, 3);
    const rt_debater_kind kinds[3] = {RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, RT_DEBATER_LEARNED};
    for (int k = 0; k < 3; k++) {
        rt_debate *d = make_debate(t, kinds[k], 300, 1, 11);
        rt_debate *d2 = make_debate(t, kinds[k], 300, 2, 11); /* 2 threads */
        rt_rng stream = rt_rng_make(77);
        double o1[B], o2[B], o3[B], o4[B];
        static rt_debate_transcript tr[B];
        rt_diag err;
        assert_int_equal(
            rt_debate_reward_batch(d, b.smp, b.a_pi, b.a_b, B, &stream, 10, o1, tr, &err), 0);
        assert_int_equal(
            rt_debate_reward_batch(d, b.smp, b.a_pi, b.a_b, B, &stream, 10, o2, NULL, &err), 0);
        assert_memory_equal(o1, o2, sizeof o1);
        assert_int_equal(
            rt_debate_reward_batch(d2, b.smp, b.a_pi, b.a_b, B, &stream, 10, o3, NULL, &err), 0);
        assert_memory_equal(o1, o3, sizeof o1);
        /* in two parts with matching seq0 */
        assert_int_equal(
            rt_debate_reward_batch(d, b.smp, b.a_pi, b.a_b, 40, &stream, 10, o4, NULL, &err), 0);
        assert_int_equal(rt_debate_reward_batch(d, b.smp + 40, b.a_pi + 40, b.a_b + 40, B - 40,
                                                &stream, 50, o4 + 40, NULL, &err),
                         0);
        assert_memory_equal(o1, o4, sizeof o1);
        rt_debate_set_threads(d, 3); /* 3 uneven parts */
        assert_int_equal(rt_debate_config_of(d)->threads, 3);
        assert_int_equal(
            rt_debate_reward_batch(d, b.smp, b.a_pi, b.a_b, B, &stream, 10, o4, NULL, &err), 0);
        assert_memory_equal(o1, o4, sizeof o1);
        rt_debate_set_threads(d, 99);
        assert_int_equal(rt_debate_config_of(d)->threads, 16);
        rt_debate_set_threads(d, 1);
        assert_true(o1[0] == 0.0);
        assert_true(o1[1] == 1.0);
        assert_true(o1[2] == 0.5);
        assert_int_equal(tr[2].n, 0);
        int wins = 0, losses = 0, firsts = 0;
        for (int i = 0; i < B; i++) {
            if (b.a_pi[i] < 0 || b.a_b[i] < 0 || b.a_pi[i] == b.a_b[i]) continue;
            assert_int_equal(tr[i].n, 4);
            assert_true(o1[i] == (tr[i].outcome > 0 ? 1.0 : 0.0));
            /* the transcript is consistent: distinct true features, final scores = outcome */
            unsigned S = 0;
            int v[8];
            rt_task_triage_state(t, &b.smp[i], v);
            for (int u = 0; u < 4; u++) {
                assert_false(S >> tr[i].feature[u] & 1u);
                S |= 1u << tr[i].feature[u];
                assert_int_equal(tr[i].value[u], v[tr[i].feature[u]]);
                assert_int_equal(tr[i].by[u], (tr[i].by[0] + u) % 2);
            }
            assert_int_equal(S, tr[i].revealed);
            float sc[4];
            rt_debate_judge_scores(rt_debate_judge_of(d), v, S, sc);
            assert_true(sc[b.a_pi[i]] == tr[i].s1[3] && sc[b.a_b[i]] == tr[i].s2[3]);
            assert_int_equal(tr[i].outcome, sc[b.a_pi[i]] > sc[b.a_b[i]]   ? 1
                                            : sc[b.a_pi[i]] < sc[b.a_b[i]] ? -1
                                                                           : 0);
            /* first = random: from the state's stream */
            rt_rng r = rt_rng_split(&stream, 10 + (uint64_t)i);
            assert_int_equal(tr[i].by[0], rt_rng_below(&r, 2) == 0 ? 0 : 1);
            firsts += tr[i].by[0] == 0;
            wins += o1[i] == 1.0, losses += o1[i] == 0.0;
        }
        assert_true(wins > 0 && losses > 0 && firsts > 0);
        /* another stream may change who moves first, hence some outcomes */
        rt_debate_metrics m;
        assert_int_equal(rt_debate_eval(d, b.smp, b.a_pi, b.a_b, B, &stream, 10, NULL, &m, &err),
                         0);
        assert_int_equal(m.n, B);
        assert_int_equal(m.n_differ, wins + losses);
        assert_true(fabs(m.judge_win - (double)wins / (wins + losses)) < 1e-12);
        assert_true(m.judge_win_full >= 0 && m.judge_win_full <= 1);
        double ret = 0;
        for (int i = 0; i < B; i++)
            ret += b.a_pi[i] >= 0 ? rt_task_triage_reward(t, &b.smp[i], b.a_pi[i]) : 0;
        assert_true(fabs(m.ret - ret / B) < 1e-12);
        rt_debate_free(d);
        rt_debate_free(d2);
    }
    rt_task_free(t);
}

static void test_first_mover_and_policy_actions(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_rng rng = rt_rng_make(4);
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.judge.steps = 50;
    static batch b;
    make_batch(t, &b, 8);
    for (int f = 1; f <= 2; f++) {
        cfg.first = (rt_debate_first)f;
        rt_debate *d;
        assert_int_equal(rt_debate_create(t, &cfg, &rng, &d, NULL), 0);
        rt_rng stream = rt_rng_make(1);
        double o[B];
        static rt_debate_transcript tr[B];
        assert_int_equal(
            rt_debate_reward_batch(d, b.smp, b.a_pi, b.a_b, B, &stream, 0, o, tr, NULL), 0);
        for (int i = 3; i < B; i++)
            if (b.a_pi[i] != b.a_b[i]) assert_int_equal(tr[i].by[0], f == 1 ? 0 : 1);
        rt_debate_free(d);
    }
    /* the greedy action of a policy after each prompt */
    rt_policy_config pc = {RT_TASK_VOCAB, 8, 8, 16, 1, RT_NN_ACT_RELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &pc, NULL), 0);
    rt_policy_init(p, &rng);
    rt_model_ws *mws = fx_ws(&p->model, B);
    int act[B];
    assert_int_equal(rt_debate_policy_actions(t, &p->model, mws, b.smp, B, act), 0);
    rt_model_ws_free(mws);
    for (int i = 0; i < B; i++) {
        int seq[16];
        int P = rt_task_prompt_len(t);
        memcpy(seq, b.smp[i].prompt, sizeof(int) * (size_t)P);
        seq[P] = RT_POLICY_PAD; /* the distribution at position P */
        rt_model_batch pb = {seq, 1, P + 1, P, NULL, NULL};
        float probs[RT_TASK_VOCAB];
        fx_probs(&p->model, &pb, probs);
        int best = 0;
        for (int v = 1; v < RT_TASK_VOCAB; v++)
            if (probs[v] > probs[best]) best = v;
        assert_int_equal(act[i], best >= RT_TOK_LETTER0 && best < RT_TOK_LETTER0 + 4
                                     ? best - RT_TOK_LETTER0
                                     : -1);
    }
    int ans[2] = {RT_TOK_LETTER0 + 3, RT_TOK_EOS};
    assert_int_equal(rt_debate_action_of(t, ans, 2), 3);
    ans[0] = RT_TOK_LETTER0 + 4;
    assert_int_equal(rt_debate_action_of(t, ans, 2), -1);
    ans[0] = RT_TOK_DIGIT0;
    assert_int_equal(rt_debate_action_of(t, ans, 2), -1);
    rt_policy_free(p);
    rt_task_free(t);
}

/* Judge training and the reward at 1 vs 2 OpenBLAS threads, and inside a sweep. */
typedef struct job {
    const rt_task *t;
    uint64_t seed;
    double out[B];
    float scores[4096][4];
} job;

static int run_job(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx;
    job *jb = arg;
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.judge.steps = 200;
    cfg.debaters = RT_DEBATER_MINIMAX;
    rt_rng rng = rt_rng_make(jb->seed);
    rt_debate *d;
    if (rt_debate_create(jb->t, &cfg, &rng, &d, NULL)) return -1;
    if (rt_debate_train(d, &rng, NULL, NULL, NULL, NULL)) return -1;
    static batch bs[2];
    batch *b = &bs[jb->seed & 1];
    make_batch(jb->t, b, jb->seed);
    rt_rng stream = rt_rng_make(jb->seed + 100);
    int rc = rt_debate_reward_batch(d, b->smp, b->a_pi, b->a_b, B, &stream, 0, jb->out, NULL, NULL);
    for (int s = 0; s < 4096; s++) {
        int v[6];
        for (int k = 0; k < 6; k++)
            v[k] = (s >> (2 * k)) & 3;
        rt_debate_judge_scores(rt_debate_judge_of(d), v, (unsigned)(s * 7) & 63u, jb->scores[s]);
    }
    rt_debate_free(d);
    return rc;
}

static void test_threads_and_sweep_bit_identical(void **state)
{
    (void)state;
    rt_task *t = make_triage(0.3);
    static job a[2], c[2], s[2];
    int saved = rt_nn_gemm_threads();
    for (int i = 0; i < 2; i++) {
        a[i].t = c[i].t = s[i].t = t;
        a[i].seed = c[i].seed = s[i].seed = 20 + (uint64_t)i;
    }
    rt_nn_set_gemm_threads(1);
    assert_int_equal(run_job(&a[0], NULL), 0);
    assert_int_equal(run_job(&a[1], NULL), 0);
    rt_nn_set_gemm_threads(2);
    assert_int_equal(run_job(&c[0], NULL), 0);
    assert_int_equal(run_job(&c[1], NULL), 0);
    rt_nn_set_gemm_threads(saved);
    rt_job jobs[2] = {{.fn = run_job, .arg = &s[0], .status = 0},
                      {.fn = run_job, .arg = &s[1], .status = 0}};
    assert_int_equal(rt_sweep_run_threads(jobs, 2, 2, NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_memory_equal(a[i].out, c[i].out, sizeof a[i].out);
        assert_memory_equal(a[i].scores, c[i].scores, sizeof a[i].scores);
        assert_memory_equal(a[i].out, s[i].out, sizeof a[i].out);
        assert_memory_equal(a[i].scores, s[i].scores, sizeof a[i].scores);
    }
    assert_memory_not_equal(a[0].scores, a[1].scores, sizeof a[0].scores);
    rt_task_free(t);
}

static void test_learner_training(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_rng rng = rt_rng_make(2);
    rt_debate_judge *j;
    rt_debate_learner *l, *l2;
    assert_int_equal(rt_debate_judge_create(t, 32, &rng, &j, NULL), 0);
    rt_debate_train_config jc;
    rt_debate_judge_train_init(&jc);
    assert_int_equal(rt_debate_judge_train(j, 4, &jc, &rng, NULL, NULL), 0);
    assert_int_equal(rt_debate_learner_create(t, 4, 32, &rng, &l, NULL), 0);
    assert_int_equal(rt_debate_learner_create(t, 4, 32, &rng, &l2, NULL), 0);
    int nc;
    const char *const *cols = rt_debate_learner_columns(&nc);
    rt_run *run = fx_run("learner", cols, nc, NULL, 0),
           *run2 = fx_run("learner2", cols, nc, NULL, 0);
    rt_debate_train_config lc;
    rt_debate_learner_train_init(&lc);
    lc.steps = 300, lc.log_every = 100;
    assert_int_equal(rt_debate_learner_train(l, j, &lc, &rng, run, NULL), 0);
    assert_int_equal(rt_debate_learner_train(l2, j, &lc, &rng, run2, NULL), 0);
    assert_int_equal(rt_run_rows(run), 3);
    double r1[12], r2[12];
    rt_run_read(run, 0, 3, r1);
    rt_run_read(run2, 0, 3, r2);
    assert_memory_equal(r1, r2, sizeof r1); /* deterministic */
    for (int i = 0; i < 3; i++) {
        print_message("learner step %.0f loss %.4f entropy %.3f vs_greedy %.3f\n", r1[4 * i],
                      r1[4 * i + 1], r1[4 * i + 2], r1[4 * i + 3]);
        assert_true(r1[4 * i + 2] > 0 && r1[4 * i + 2] <= log(6.0) + 1e-6);
        assert_true(r1[4 * i + 3] >= -1 && r1[4 * i + 3] <= 1);
    }
    /* self-play improves it against greedy (measured -0.441 -> -0.262 for this seed) */
    assert_true(r1[11] > r1[3] + 0.1);
    rt_run_free(run);
    rt_run_free(run2);
    rt_debate_learner_free(l);
    rt_debate_learner_free(l2);
    rt_debate_judge_free(j);
    rt_task_free(t);
}

static void test_transcript_text(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_task_sample smp;
    assert_int_equal(rt_task_sample_from_text(t, "310210=", &smp, NULL), 0);
    rt_debate_transcript tr;
    memset(&tr, 0, sizeof tr);
    tr.n = 2;
    tr.s1_empty = 0.125f, tr.s2_empty = -0.25f;
    tr.feature[0] = 1, tr.value[0] = 1, tr.by[0] = 1, tr.s1[0] = -0.5f, tr.s2[0] = 0.75f;
    tr.feature[1] = 5, tr.value[1] = 0, tr.by[1] = 0, tr.s1[1] = 1.5f, tr.s2[1] = 0.0f;
    tr.outcome = 1;
    char buf[1024];
    size_t n = rt_debate_transcript_text(t, &smp, 1, 3, &tr, buf, sizeof buf);
    const char *want = "state <tri>310210= (f1..f6)  policy b  vs  baseline d\n"
                       "turn  by        reveals  J(b)     J(d)\n"
                       "0     -         -          0.125   -0.250\n"
                       "1     baseline  f2=1      -0.500    0.750\n"
                       "2     policy    f6=0       1.500    0.000\n"
                       "verdict: the judge prefers the policy (b): debate = 1\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(rt_debate_transcript_text(t, &smp, 1, 3, &tr, NULL, 0), strlen(want));
    char small[10];
    assert_int_equal(rt_debate_transcript_text(t, &smp, 1, 3, &tr, small, sizeof small),
                     strlen(want));
    assert_string_equal(small, "state <tr");
    tr.outcome = -1;
    rt_debate_transcript_text(t, &smp, 1, 3, &tr, buf, sizeof buf);
    assert_non_null(strstr(buf, "verdict: the judge prefers the baseline (d): debate = 0\n"));
    rt_debate_transcript_text(t, &smp, 2, 2, NULL, buf, sizeof buf);
    assert_string_equal(buf, "state <tri>310210= (f1..f6)  policy c  vs  baseline c\n"
                             "verdict: equal actions: debate = 0.5\n");
    rt_debate_transcript_text(t, &smp, -1, 2, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "verdict: policy action invalid: debate = 0\n"));
    rt_debate_transcript_text(t, &smp, 0, -1, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "verdict: baseline action invalid: debate = 1\n"));
    rt_task_free(t);
}

static int setup_scenario(void)
{
    rt_task *t = make_triage(0);
    rt_debate_config cfg;
    rt_debate_config_init(&cfg);
    cfg.debaters = RT_DEBATER_LEARNED;
    cfg.judge.steps = 3, cfg.learner.steps = 3;
    cfg.accuracy_states = 10;
    rt_rng rng = rt_rng_make(1);
    rt_debate *d = NULL;
    rt_diag err;
    int rc = rt_debate_create(t, &cfg, &rng, &d, &err);
    const char *const cols[] = {"step", "loss", "pairwise_acc"};
    rt_run *run = NULL;
    if (rc == 0) {
        if (rt_run_create("j", cols, 3, &run) != 0) {
            rc = RT_ENOMEM;
            strcpy(err.msg, "run: out of memory");
        } else
            rc = rt_debate_train(d, &rng, run, NULL, NULL, &err);
    }
    if (rc == 0) {
        static batch b;
        make_batch(t, &b, 1);
        rt_debate_metrics m;
        rc = rt_debate_eval(d, b.smp, b.a_pi, b.a_b, B, &rng, 0, NULL, &m, &err);
    }
    if (rc != 0) {
        if (rc != RT_ENOMEM) fail_msg("unexpected error %d: %s", rc, err.msg);
        assert_string_equal(err.msg + strlen(err.msg) - 13, "out of memory");
    }
    rt_run_free(run);
    rt_debate_free(d);
    rt_task_free(t);
    return rc;
}

/* Top-1 and pairwise accuracy are paired: the same held-out states and evidence (a
 * top-1 right state is pairwise right, state by state), the top-1 value is
 * rt_debate_judge_accuracy's, and rt_debate_train's accuracies are these numbers for
 * the three rows. */
static void test_pairwise_and_top1_paired(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_debate *d = make_debate(t, RT_DEBATER_GREEDY, 1500, 1, 1);
    enum { N = 1000 };
    static unsigned char top[N], pair[N];
    rt_rng r = rt_rng_make(21);
    rt_debate_judge_score sc;
    const rt_debate_judge *j = rt_debate_judge_of(d);
    assert_int_equal(rt_debate_judge_eval(j, 4, N, &r, &sc, top, pair), 0);
    long nt = 0, np = 0;
    for (int i = 0; i < N; i++) {
        assert_true(top[i] <= pair[i]); /* the same state: top-1 right implies pair right */
        nt += top[i], np += pair[i];
    }
    assert_int_equal(sc.n, N);
    assert_true(sc.top1 == (double)nt / N && sc.pairwise == (double)np / N);
    double acc;
    assert_int_equal(rt_debate_judge_accuracy(j, 4, N, &r, &acc), 0);
    assert_true(acc == sc.top1);
    /* the trained judge is above both chance levels (measured seeds 1..3 in the header) */
    print_message("partial judge: top-1 %.3f pairwise %.3f\n", sc.top1, sc.pairwise);
    assert_true(sc.top1 >= 0.45 && sc.pairwise >= 0.70 && sc.pairwise > sc.top1);
    /* rt_debate_train's table: each row evaluated on the states of split(train rng, 14) */
    rt_debate_accuracy a = rt_debate_accuracy_of(d);
    assert_true(a.chance == 0.25 && a.chance_pair == 0.5);
    rt_rng rng = rt_rng_make(1), r14 = rt_rng_split(&rng, 14);
    rt_debate_judge_score p, f, pf;
    assert_int_equal(rt_debate_judge_eval(j, 4, 1000, &r14, &p, NULL, NULL), 0);
    assert_int_equal(
        rt_debate_judge_eval(rt_debate_full_judge_of(d), 6, 1000, &r14, &f, NULL, NULL), 0);
    assert_int_equal(rt_debate_judge_eval(j, 6, 1000, &r14, &pf, NULL, NULL), 0);
    assert_true(a.partial == p.top1 && a.partial_pair == p.pairwise);
    assert_true(a.full == f.top1 && a.full_pair == f.pairwise);
    assert_true(a.partial_on_full == pf.top1 && a.partial_on_full_pair == pf.pairwise);
    assert_true(a.full_pair >= 0.95);
    assert_int_equal(rt_debate_judge_eval(j, 0, N, &r, &sc, NULL, NULL), RT_EINVAL);
    assert_int_equal(rt_debate_judge_eval(j, 4, 0, &r, &sc, NULL, NULL), RT_EINVAL);
    rt_debate_free(d);
    rt_task_free(t);
}

/* The chance levels: a judge that knows nothing scores 1/A top-1 and 1/2 pairwise.  Each
 * trial is a fresh untrained judge (its action heads are exchangeable, so whatever the
 * state, P(top-1 right) = 1/A and P(pair right) = 1/2 exactly) on one held-out state
 * drawn independently: n independent Bernoulli trials.  Tolerance 4.5 binomial standard
 * deviations (sqrt(p(1-p)/n): 0.0068 top-1, 0.0079 pairwise at n = 4000), and the
 * top-1 rate must be far from the pairwise one (a wrong chance level fails). */
static void test_chance_levels_of_a_judge_that_knows_nothing(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    enum { N = 4000 };
    long nt = 0, np = 0;
    for (int i = 0; i < N; i++) {
        rt_rng r = rt_rng_make(1000 + (uint64_t)i), ri = rt_rng_split(&r, 1),
               re = rt_rng_split(&r, 2);
        rt_debate_judge *j;
        assert_int_equal(rt_debate_judge_create(t, 32, &ri, &j, NULL), 0);
        rt_debate_judge_score sc;
        assert_int_equal(rt_debate_judge_eval(j, 4, 1, &re, &sc, NULL, NULL), 0);
        nt += sc.top1 > 0.5, np += sc.pairwise > 0.5;
        rt_debate_judge_free(j);
    }
    double top = (double)nt / N, pw = (double)np / N;
    double st = sqrt(0.25 * 0.75 / N), sp = sqrt(0.25 / N);
    print_message("untrained judges: top-1 %.4f (chance 0.25), pairwise %.4f (chance 0.5)\n", top,
                  pw);
    assert_true(fabs(top - 0.25) < 4.5 * st);
    assert_true(fabs(pw - 0.5) < 4.5 * sp);
    rt_task_free(t);
}

/* judge_full(NAME) on hand-built states: the full-state judge's strict preference, the
 * conventions of debate(NAME) (invalid policy 0, invalid baseline 1, equal 0.5), and a
 * trained full-state judge prefers the demonstrator's action to a bad one. */
static void test_judge_full_reward(void **state)
{
    (void)state;
    rt_task *t = make_triage(0);
    rt_debate *d = make_debate(t, RT_DEBATER_GREEDY, 1500, 1, 2);
    const rt_debate_judge *jf = rt_debate_full_judge_of(d);
    enum { N = 8 };
    /* hand-built states: ids of K = 6 features of M = 4 values (f1 most significant) */
    static const uint64_t ids[N] = {0, 4095, 1365, 2730, 27, 3900, 1024, 2047};
    rt_task_sample smp[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(rt_task_sample_from_id(t, 0, ids[i], &smp[i]), 0);
        int v[6];
        rt_task_triage_state(t, &smp[i], v);
        uint64_t id = 0;
        for (int k = 0; k < 6; k++)
            id = id * 4 + (uint64_t)v[k];
        assert_true(id == ids[i]); /* the state is the id's base-4 digits */
    }
    int a_pi[N], a_b[N];
    double out[N];
    for (int i = 0; i < N; i++) {
        int good[4], ng = rt_task_triage_good(t, &smp[i], good);
        int bad = good[ng - 1] + 1 < 4 ? good[ng - 1] + 1 : good[0] - 1;
        a_pi[i] = rt_task_triage_demo_action(t, &smp[i]);
        a_b[i] = bad;
    }
    assert_int_equal(rt_debate_full_reward_batch(d, smp, a_pi, a_b, N, out), 0);
    int v[6];
    float sc[4];
    for (int i = 0; i < N; i++) {
        rt_task_triage_state(t, &smp[i], v);
        rt_debate_judge_scores(jf, v, 63u, sc);
        assert_true(out[i] == (sc[a_pi[i]] > sc[a_b[i]] ? 1.0 : 0.0));
    }
    double o1[N];
    memcpy(o1, out, sizeof o1);
    /* swapped: 1 - the verdict (no ties among trained scores here) */
    assert_int_equal(rt_debate_full_reward_batch(d, smp, a_b, a_pi, N, out), 0);
    for (int i = 0; i < N; i++)
        assert_true(out[i] == 1.0 - o1[i]);
    /* the ideal judge prefers the demonstrator to a bad action on held-out states (its
       top-1 accuracy is >= 0.96 at these sizes, see the header) */
    enum { H = 1000 };
    static rt_task_sample hs[H];
    static int hp[H], hb[H];
    static double ho[H];
    rt_rng hr = rt_rng_make(8);
    rt_task_sample_batch(t, &hr, 0, RT_TASK_HELDOUT, H, hs, NULL);
    for (int i = 0; i < H; i++) {
        int good[4], ng = rt_task_triage_good(t, &hs[i], good);
        hp[i] = rt_task_triage_demo_action(t, &hs[i]);
        hb[i] = good[ng - 1] + 1 < 4 ? good[ng - 1] + 1 : good[0] - 1;
    }
    assert_int_equal(rt_debate_full_reward_batch(d, hs, hp, hb, H, ho), 0);
    double mean = 0;
    for (int i = 0; i < H; i++)
        mean += ho[i] / H;
    print_message("judge_full(demonstrator vs bad) mean %.3f\n", mean);
    assert_true(mean >= 0.95);
    /* conventions */
    int cp[4] = {-1, 2, 1, 0}, cb[4] = {1, -1, 1, -1};
    assert_int_equal(rt_debate_full_reward_batch(d, smp, cp, cb, 4, out), 0);
    assert_true(out[0] == 0.0 && out[1] == 1.0 && out[2] == 0.5 && out[3] == 1.0);
    assert_int_equal(rt_debate_full_reward_batch(d, smp, cp, cb, 4, NULL), RT_EINVAL);
    /* its mean over differing states is judge_win_full of rt_debate_eval */
    static batch b;
    make_batch(t, &b, 4);
    double o[B];
    rt_rng stream = rt_rng_make(3);
    rt_debate_metrics m;
    rt_diag err;
    assert_int_equal(rt_debate_full_reward_batch(d, b.smp, b.a_pi, b.a_b, B, o), 0);
    assert_int_equal(rt_debate_eval(d, b.smp, b.a_pi, b.a_b, B, &stream, 0, NULL, &m, &err), 0);
    double w = 0;
    int nd = 0;
    for (int i = 0; i < B; i++)
        if (b.a_pi[i] >= 0 && b.a_b[i] >= 0 && b.a_pi[i] != b.a_b[i]) w += o[i], nd++;
    assert_int_equal(nd, m.n_differ);
    assert_true(fabs(w / nd - m.judge_win_full) < 1e-12);
    rt_debate_free(d);
    rt_task_free(t);
}

/* The systematic bias is learnable, the hash conflict is not: on triage K=6, M=4 with
 * half the states changed — bias = 0.5 (the demonstrator under-treats when feature 2 is
 * 2 or 3) against conflict = 0.5 (a hash) — the full-state judge (defaults, 1500 steps)
 * agrees with the demonstrator (top-1, 1000 held-out states) far more under the bias.
 * Measured (seeds 1, 2): bias 0.975 / 0.959 (pairwise 0.991 / 0.984), hash 0.476 / 0.522
 * (pairwise 0.816 / 0.838), with 1855 and 2011 of the 4096 states changed.  Asserted
 * bias >= 0.85 and hash <= 0.70 (the review's ~0.56 ceiling plus a margin). */
static void test_bias_is_learnable_hash_is_not(void **state)
{
    (void)state;
    rt_task_config tc;
    rt_task_config_init(&tc, "triage");
    rt_task_config_set(&tc, "features", 6, NULL);
    rt_task_config_set(&tc, "values", 4, NULL);
    assert_int_equal(rt_task_config_set(&tc, "bias", 0.5, NULL), 0);
    rt_task *tb;
    assert_int_equal(rt_task_create(&tc, &tb, NULL), 0);
    rt_task *th = make_triage(0.5);
    /* about the same share of changed states (bias: those with good[0] > 0 of a half) */
    int cb = 0, ch = 0;
    for (uint64_t id = 0; id < 4096; id++) {
        rt_task_sample s = {.id = id};
        cb += rt_task_triage_conflicted(tb, &s), ch += rt_task_triage_conflicted(th, &s);
    }
    print_message("changed states: bias %d, hash %d of 4096\n", cb, ch);
    assert_true(cb > 1600 && ch > 1800);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        rt_debate *db = make_debate(tb, RT_DEBATER_GREEDY, 1500, 1, seed);
        rt_debate *dh = make_debate(th, RT_DEBATER_GREEDY, 1500, 1, seed);
        rt_debate_accuracy ab = rt_debate_accuracy_of(db), ah = rt_debate_accuracy_of(dh);
        print_message("seed %d: full-state judge top-1 bias %.3f (pairwise %.3f), hash %.3f "
                      "(pairwise %.3f)\n",
                      (int)seed, ab.full, ab.full_pair, ah.full, ah.full_pair);
        assert_true(ab.full >= 0.85);
        assert_true(ah.full <= 0.70);
        rt_debate_free(db);
        rt_debate_free(dh);
    }
    rt_task_free(tb);
    rt_task_free(th);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    rt_alloc_fail_at(0);
    assert_int_equal(setup_scenario(), 0);
    /* count the allocations of the scenario after the task (which the scenario makes
     * first and must succeed: the task module has its own tests) */
    rt_alloc_fail_at(0);
    rt_task *t = make_triage(0);
    long task_allocs = rt_alloc_count();
    rt_task_free(t);
    rt_alloc_fail_at(0);
    assert_int_equal(setup_scenario(), 0);
    long total = rt_alloc_count();
    assert_true(total > task_allocs + 8);
    int failures = 0;
    for (long n = task_allocs + 1; n <= total; n++) {
        rt_alloc_fail_at(n);
        int rc = setup_scenario();
        rt_alloc_fail_at(0);
        if (rc == RT_ENOMEM)
            failures++;
        else
            assert_int_equal(rc, 0); /* a run-table allocation may fail later harmlessly */
    }
    assert_true(failures >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge_beats_chance),
        cmocka_unit_test(test_judge_run_metrics_and_cancel),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_reward_conventions_and_determinism),
        cmocka_unit_test(test_first_mover_and_policy_actions),
        cmocka_unit_test(test_threads_and_sweep_bit_identical),
        cmocka_unit_test(test_learner_training),
        cmocka_unit_test(test_transcript_text),
        cmocka_unit_test(test_pairwise_and_top1_paired),
        cmocka_unit_test(test_chance_levels_of_a_judge_that_knows_nothing),
        cmocka_unit_test(test_judge_full_reward),
        cmocka_unit_test(test_bias_is_learnable_hash_is_not),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
