/* pref_test.c: preference sets (rt_pref.h).  Simulation on add digits=1 (P = 5, T = 3)
 * from a seeded MLP whose output bias favours EOS and the digits (answers of every
 * length, varied labeler rewards), labelers compiled against the task's features.
 *   determinism: two simulations, threads 1 and 2, give the same pairs bit for bit;
 *     another stream gives another set;
 *   Bradley–Terry: rt_pref_label's frequency of "a chosen" at a known gap against
 *     σ(gap / T), and in a simulated set the count of non-tie pairs whose chosen has the
 *     higher true reward against Σ σ(|Δ| / T) over its pairs (a Poisson-binomial count);
 *   flip: the flipped count against its binomial mean, and at T = 0 every non-tie pair
 *     agrees with the true reward exactly when it is not flipped;
 *   ties: equal rewards give a fair coin at T = 0 and T > 0, marked tie; COIN keeps them,
 *     DROP has none and still the asked counts; a constant labeler with DROP is RT_ELIMIT;
 *   JSONL: write → read gives the same set (prompts, answers with PAD inside, margins,
 *     scores, splits, order), through memory and through a file;
 *   read errors: a table of (text, code, exact message);
 *   streams and pairing: every pair rebuilt from the documented streams (prompt draw,
 *     generation, lexicographic pairs, label draws) and compared exactly;
 *   trainer helpers: a pair's sequences, the epoch sampler (each epoch a permutation,
 *     the same indices in any step order);
 *   allocation failures: simulate and parse fail cleanly at every allocation.
 * Tolerance of every frequency: |count − mean| <= 5 sd (sd from the binomial or
 * Poisson-binomial variance Σ p(1 − p)): a correct implementation fails with probability
 * < 1e-6 per check (Chebyshev would give 4%, the normal approximation 6e-7; the counts
 * are >= 2000 draws, where it holds), a wrong p of 0.02 at N = 20000 is > 7 sd off. */
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
#include "rt_task.h"

enum { V = 32 };

static rt_task *task_;
static rt_policy *pol;

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
    assert_true(rt_reward_n_params(rw) <= 8);
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
    return 0;
}

static rt_pref_set *simulate(const char *reward, const rt_pref_sim_config *cfg, uint64_t seed)
{
    double params[8];
    rt_reward_program *rw = make_reward(reward, params);
    rt_rng s = rt_rng_from_name(seed, "prefs");
    rt_pref_set *set = NULL;
    rt_diag d;
    rt_diag_clear(&d);
    int rc = rt_pref_simulate(&pol->model, task_, rw, params, cfg, &s, &set, &d);
    if (rc) fail_msg("simulate: %s", d.msg);
    rt_reward_free(rw);
    return set;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* every field but `flipped` (not written to JSONL) when with_flip is 0 */
static int pair_equal(const rt_pref_pair *a, const rt_pref_pair *b, int with_flip)
{
    return memcmp(&a->prompt, &b->prompt, sizeof a->prompt) == 0 && a->split == b->split &&
           a->n_chosen == b->n_chosen && a->n_rejected == b->n_rejected &&
           memcmp(a->chosen, b->chosen, sizeof(int) * (size_t)a->n_chosen) == 0 &&
           memcmp(a->rejected, b->rejected, sizeof(int) * (size_t)a->n_rejected) == 0 &&
           same_bits(a->margin, b->margin) && same_bits(a->r_chosen, b->r_chosen) &&
           same_bits(a->r_rejected, b->r_rejected) && a->tie == b->tie &&
           (!with_flip || a->flipped == b->flipped);
}

static void assert_sets_equal(const rt_pref_set *a, const rt_pref_set *b, int with_flip)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_train, b->n_train);
    for (int i = 0; i < a->n; i++)
        if (!pair_equal(&a->pairs[i], &b->pairs[i], with_flip)) fail_msg("pair %d differs", i);
}

/* |k - mean| <= 5 sd */
static void assert_binomial(double k, double mean, double var, const char *what)
{
    double sd = sqrt(var);
    if (fabs(k - mean) > 5 * sd)
        fail_msg("%s: count %.0f, expected %.1f +- 5 * %.2f", what, k, mean, sd);
}

/* rt_pref_sim_config.stop that asks to stop at its third call */
static int stop_third(void *arg)
{
    return ++*(int *)arg >= 3;
}

static void test_determinism(void **st)
{
    (void)st;
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 300;
    c.heldout = 70;
    c.per_prompt = 4;
    c.label_temperature = 0.5;
    c.flip = 0.1;
    rt_pref_set *a = simulate("3 * partial + length", &c, 7);
    c.threads = 2;
    rt_pref_set *b = simulate("3 * partial + length", &c, 7);
    assert_int_equal(a->n_train, 300);
    assert_int_equal(a->n, 370);
    assert_sets_equal(a, b, 1);
    for (int i = 0; i < a->n; i++) {
        const rt_pref_pair *p = &a->pairs[i];
        assert_int_equal(p->split, i < 300 ? RT_TASK_TRAIN : RT_TASK_HELDOUT);
        assert_int_equal(rt_task_split_of(task_, &p->prompt), p->split);
        assert_true(p->n_chosen >= 1 && p->n_chosen <= 3);
        assert_true(isnan(p->margin));
    }
    /* pairs of one prompt come in lexicographic order: K = 4 gives 6 per prompt */
    for (int i = 0; i < 300; i++)
        assert_memory_equal(&a->pairs[i].prompt, &a->pairs[i - i % 6].prompt,
                            sizeof(rt_task_sample));
    rt_pref_set *o = simulate("3 * partial + length", &c, 8); /* another stream */
    int differ = 0;
    for (int i = 0; i < a->n; i++)
        differ += !pair_equal(&a->pairs[i], &o->pairs[i], 1);
    assert_true(differ > a->n / 2);
    rt_pref_free(a);
    rt_pref_free(b);
    rt_pref_free(o);
}

/* The documented streams and pairing, rebuilt here: prompt j of split s is
 * rt_task_sample_batch's draw j of split(S_s, 1), its K answers come from
 * rt_model_generate(split(S_s, 2), seq0 = j K), pair p of it is (y_i, y_k) in
 * lexicographic order, labelled by rt_pref_label on split(split(S_s, 3), j C + p). */
static void test_streams_and_pairing(void **st)
{
    (void)st;
    enum { K = 3, C = 3, P = 5, T = 3 };
    static const int pi[C] = {0, 0, 1}, pk[C] = {1, 2, 2};
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 30;
    c.heldout = 10; /* the last prompt's list is cut after one pair */
    c.per_prompt = K;
    c.label_temperature = 0.4;
    c.flip = 0.2;
    c.temperature = 0.8f;
    rt_pref_set *set = simulate("3 * partial + length", &c, 5);
    double params[8];
    rt_reward_program *rw = make_reward("3 * partial + length", params);
    rt_rng S = rt_rng_from_name(5, "prefs");
    rt_model_ws *ws = fx_ws(&pol->model, K);
    for (int sp = 0; sp < 2; sp++) {
        rt_rng Ss = rt_rng_split(&S, (uint64_t)sp + 1);
        rt_rng Sp = rt_rng_split(&Ss, 1), Sg = rt_rng_split(&Ss, 2), Sl = rt_rng_split(&Ss, 3);
        int n = rt_pref_count(set, (rt_task_split)sp);
        assert_int_equal(n, sp ? 10 : 30);
        for (int q = 0; q < n; q++) {
            int j = q / C, p = q % C;
            rt_task_sample smp;
            rt_task_sample_batch(task_, &Sp, (uint64_t)j, (rt_task_split)sp, 1, &smp, NULL);
            int prompts[K * P], tok[K * T];
            for (int k = 0; k < K; k++)
                memcpy(prompts + k * P, smp.prompt, sizeof(int) * P);
            assert_int_equal(rt_model_generate(&pol->model, ws, prompts, K, P, T, c.temperature,
                                               &Sg, (uint64_t)j * K, tok, NULL),
                             0);
            double r[K];
            int len[K];
            for (int k = 0; k < K; k++) {
                double f[RT_TASK_MAX_FEATURES] = {0};
                len[k] = T;
                for (int t = 0; t < T; t++)
                    if (tok[k * T + t] == RT_TOK_EOS) {
                        len[k] = t + 1;
                        break;
                    }
                rt_task_features(task_, &smp, tok + k * T, len[k], f);
                r[k] = rt_reward_eval(rw, f, params);
            }
            rt_rng lr = rt_rng_split(&Sl, (uint64_t)j * C + p);
            int a = pi[p], b = pk[p], fl;
            int aw = rt_pref_label(r[a], r[b], c.label_temperature, c.flip, &lr, NULL, &fl);
            int ch = aw ? a : b, rj = aw ? b : a;
            const rt_pref_pair *pp = rt_pref_at(set, (rt_task_split)sp, q);
            assert_memory_equal(&pp->prompt, &smp, sizeof smp);
            assert_int_equal(pp->n_chosen, len[ch]);
            assert_int_equal(pp->n_rejected, len[rj]);
            assert_memory_equal(pp->chosen, tok + ch * T, sizeof(int) * (size_t)len[ch]);
            assert_memory_equal(pp->rejected, tok + rj * T, sizeof(int) * (size_t)len[rj]);
            assert_true(same_bits(pp->r_chosen, r[ch]) && same_bits(pp->r_rejected, r[rj]));
            assert_int_equal(pp->flipped, fl);
        }
    }
    assert_null(rt_pref_at(set, RT_TASK_HELDOUT, 10));
    assert_null(rt_pref_at(set, RT_TASK_TRAIN, -1));
    rt_model_ws_free(ws);
    rt_reward_free(rw);
    rt_pref_free(set);
}

static void test_label_bradley_terry(void **st)
{
    (void)st;
    const int N = 20000;
    const double T[] = {0.5, 1.0, 3.0};
    for (int t = 0; t < 3; t++) {
        double p = 1.0 / (1.0 + exp(-1.0 / T[t])); /* gap r_a - r_b = 1 */
        rt_rng r0 = rt_rng_make(100 + t);
        int k = 0;
        for (int i = 0; i < N; i++) {
            rt_rng r = rt_rng_split(&r0, (uint64_t)i);
            int tie = -1, fl = -1;
            k += rt_pref_label(2.0, 1.0, T[t], 0.0, &r, &tie, &fl);
            assert_int_equal(tie, 0);
            assert_int_equal(fl, 0);
            assert_int_equal(r.ctr, 2); /* exactly two draws */
        }
        assert_binomial(k, N * p, N * p * (1 - p), "label frequency vs sigma(gap/T)");
    }
    /* T = 0: the higher reward, always */
    rt_rng r = rt_rng_make(5);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(rt_pref_label(1.0, 0.5, 0.0, 0.0, &r, NULL, NULL), 1);
        assert_int_equal(rt_pref_label(-3.0, 0.5, 0.0, 0.0, &r, NULL, NULL), 0);
    }
    /* a set: agreement count vs Σ σ(|Δ|/T) over its non-tie pairs */
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 4000;
    c.heldout = 0;
    c.per_prompt = 3;
    c.label_temperature = 0.7;
    rt_pref_set *s = simulate("3 * partial + length", &c, 1);
    double k = 0, mean = 0, var = 0;
    int nontie = 0;
    for (int i = 0; i < s->n; i++) {
        const rt_pref_pair *p = &s->pairs[i];
        if (p->tie) continue;
        double q = 1.0 / (1.0 + exp(-fabs(p->r_chosen - p->r_rejected) / c.label_temperature));
        nontie++;
        k += p->r_chosen > p->r_rejected;
        mean += q;
        var += q * (1 - q);
    }
    if (nontie <= 1000) fail_msg("nontie %d", nontie);
    assert_binomial(k, mean, var, "set agreement vs sum of sigma");
    rt_pref_stats stt;
    rt_pref_stats_of(s, &stt);
    assert_int_equal(stt.agree[0], (int)k);
    assert_int_equal(stt.pairs[0] - stt.ties[0], nontie);
    assert_int_equal(stt.pairs[1], 0);
    assert_true(isnan(stt.agreement[1]));
    rt_pref_free(s);
}

static void test_flip(void **st)
{
    (void)st;
    const int N = 20000;
    const double f = 0.2;
    rt_rng r0 = rt_rng_make(9);
    int k = 0;
    for (int i = 0; i < N; i++) {
        rt_rng r = rt_rng_split(&r0, (uint64_t)i);
        int fl;
        int a = rt_pref_label(1.0, 0.0, 0.0, f, &r, NULL, &fl);
        assert_int_equal(a, !fl); /* T = 0: only a flip makes b chosen */
        k += fl;
    }
    assert_binomial(k, N * f, N * f * (1 - f), "flip rate");
    /* a set at T = 0: a non-tie pair agrees iff it is not flipped; the rate is binomial */
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 3000;
    c.heldout = 1000;
    c.flip = 0.25;
    rt_pref_set *s = simulate("3 * partial + length", &c, 2);
    rt_pref_stats stt;
    rt_pref_stats_of(s, &stt);
    for (int sp = 0; sp < 2; sp++) {
        int n = stt.pairs[sp], fl_nontie = 0;
        for (int i = 0; i < rt_pref_count(s, (rt_task_split)sp); i++) {
            const rt_pref_pair *p = rt_pref_at(s, (rt_task_split)sp, i);
            if (p->tie) continue;
            assert_int_equal(p->r_chosen > p->r_rejected, !p->flipped);
            fl_nontie += p->flipped;
        }
        assert_int_equal(stt.agree[sp], n - stt.ties[sp] - fl_nontie);
        assert_binomial(stt.flipped[sp], n * c.flip, n * c.flip * (1 - c.flip), "set flips");
        assert_true(fabs(stt.flip_rate[sp] - (double)stt.flipped[sp] / n) == 0);
    }
    assert_int_equal(stt.pairs[0], 3000);
    assert_int_equal(stt.pairs[1], 1000);
    rt_pref_free(s);
}

static void test_ties(void **st)
{
    (void)st;
    const int N = 20000;
    const double T[] = {0.0, 2.0};
    for (int t = 0; t < 2; t++) {
        rt_rng r0 = rt_rng_make(30 + t);
        int k = 0;
        for (int i = 0; i < N; i++) {
            rt_rng r = rt_rng_split(&r0, (uint64_t)i);
            int tie;
            k += rt_pref_label(1.5, 1.5, T[t], 0.0, &r, &tie, NULL);
            assert_int_equal(tie, 1);
        }
        assert_binomial(k, N * 0.5, N * 0.25, "tie coin");
    }
    /* eos is 0 or 1: many ties.  COIN keeps and marks them; DROP has none */
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 500;
    c.heldout = 100;
    rt_pref_set *s = simulate("eos", &c, 3);
    rt_pref_stats stt;
    rt_pref_stats_of(s, &stt);
    assert_true(stt.ties[0] > 50 && stt.ties[0] < 450);
    for (int i = 0; i < s->n; i++)
        assert_int_equal(s->pairs[i].tie, s->pairs[i].r_chosen == s->pairs[i].r_rejected);
    assert_true(stt.agreement[0] == 1.0); /* T = 0, flip = 0 */
    rt_pref_free(s);
    c.ties = RT_PREF_TIES_DROP;
    s = simulate("eos", &c, 3);
    rt_pref_stats_of(s, &stt);
    assert_int_equal(stt.pairs[0], 500);
    assert_int_equal(stt.pairs[1], 100);
    assert_int_equal(stt.ties[0] + stt.ties[1], 0);
    rt_pref_free(s);
    /* a labeler that never separates two answers: DROP cannot fill the set */
    double params[8];
    rt_reward_program *rw = make_reward("0 * length + 1", params);
    rt_rng sr = rt_rng_make(1);
    rt_pref_set *out = (rt_pref_set *)1;
    rt_diag d;
    rt_diag_clear(&d);
    c.pairs = 2;
    assert_int_equal(rt_pref_simulate(&pol->model, task_, rw, params, &c, &sr, &out, &d),
                     RT_ELIMIT);
    assert_null(out);
    assert_string_equal(d.key, "ties");
    assert_string_equal(d.msg, "ties = drop: only 0 of 2 train pairs after 200 prompts (every "
                               "other pair was a tie of the labeler)");
    /* config errors name the key */
    c.ties = RT_PREF_TIES_COIN;
    c.per_prompt = 1;
    rt_diag_clear(&d);
    assert_int_equal(rt_pref_simulate(&pol->model, task_, rw, params, &c, &sr, &out, &d),
                     RT_EINVAL);
    assert_string_equal(d.key, "per_prompt");
    c.per_prompt = 2;
    c.label_temperature = -1;
    assert_int_equal(rt_pref_simulate(&pol->model, task_, rw, params, &c, &sr, &out, &d),
                     RT_EINVAL);
    assert_string_equal(d.key, "label_temperature");
    /* stop: polled before each model call; the third poll stops (two chunks done) */
    c.label_temperature = 0;
    c.pairs = 200;
    int polls = 0;
    c.stop = stop_third, c.stop_arg = &polls;
    out = (rt_pref_set *)1;
    assert_int_equal(rt_pref_simulate(&pol->model, task_, rw, params, &c, &sr, &out, &d), RT_EINTR);
    assert_null(out);
    assert_int_equal(polls, 3);
    assert_string_equal(d.msg, "interrupted after 64 of 200 train pairs");
    c.stop = NULL;
    rt_reward_free(rw);
}

static void test_jsonl_round_trip(void **st)
{
    (void)st;
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 200;
    c.heldout = 50;
    c.per_prompt = 3;
    c.label_temperature = 0.3;
    c.flip = 0.1;
    rt_pref_set *s = simulate("3 * partial + length - 0.1", &c, 4);
    /* margins on some pairs, a PAD inside an answer, a score that is not a short decimal */
    s->pairs[0].margin = 0.1;
    s->pairs[3].margin = -2.5e-300;
    s->pairs[1].chosen[0] = RT_TOK_PAD;
    s->pairs[2].r_chosen = 1.0 / 3.0;
    s->pairs[2].tie = 0;
    char *text;
    size_t len;
    rt_diag d;
    rt_diag_clear(&d);
    assert_int_equal(rt_pref_format(s, task_, &text, &len, &d), 0);
    assert_int_equal(strlen(text), len);
    rt_pref_set *b = NULL;
    if (rt_pref_parse(task_, text, len, "m.jsonl", &b, &d)) fail_msg("%s", d.msg);
    assert_int_equal(b->simulated, 0);
    assert_sets_equal(s, b, 0);
    rt_pref_stats sa, sb;
    rt_pref_stats_of(s, &sa);
    rt_pref_stats_of(b, &sb);
    assert_memory_equal(sa.agree, sb.agree, sizeof sa.agree);
    assert_true(isnan(sb.flip_rate[0]) && !isnan(sa.flip_rate[0]));
    /* the first line, exactly */
    char first[512];
    snprintf(first, sizeof first, "%.*s", (int)(strchr(text, '\n') - text), text);
    char want[512];
    char p0[32], c0[32], r0[32];
    rt_task_render(s->pairs[0].prompt.prompt, 5, p0, sizeof p0);
    rt_task_render(s->pairs[0].chosen, s->pairs[0].n_chosen, c0, sizeof c0);
    rt_task_render(s->pairs[0].rejected, s->pairs[0].n_rejected, r0, sizeof r0);
    snprintf(want, sizeof want,
             "{\"prompt\": \"%s\", \"chosen\": \"%s\", \"rejected\": \"%s\", \"margin\": "
             "0.10000000000000001, \"score_chosen\": %.17g, \"score_rejected\": %.17g}",
             p0, c0, r0, s->pairs[0].r_chosen, s->pairs[0].r_rejected);
    assert_string_equal(first, want);
    rt_free(text);
    rt_pref_free(b);
    /* through a file */
    const char *path = "pref_test_roundtrip.jsonl";
    assert_int_equal(rt_pref_write(s, task_, path, &d), 0);
    assert_int_equal(rt_pref_read(task_, path, NULL, &b, &d), 0);
    assert_sets_equal(s, b, 0);
    rt_pref_free(b);
    remove(path);
    rt_pref_free(s);
}

static void test_jsonl_order(void **st)
{
    (void)st;
    /* a held-out prompt before a train prompt: the set lists train first, each in order */
    rt_task_sample h, t;
    assert_int_equal(rt_task_sample_at(task_, RT_TASK_HELDOUT, 0, &h), 0);
    assert_int_equal(rt_task_sample_at(task_, RT_TASK_TRAIN, 0, &t), 0);
    char ph[32], pt[32], text[512];
    rt_task_render(h.prompt, 5, ph, sizeof ph);
    rt_task_render(t.prompt, 5, pt, sizeof pt);
    snprintf(text, sizeof text,
             "{\"prompt\": \"%s\", \"chosen\": \"1\", \"rejected\": \"2\", \"extra\": [1, "
             "{\"a\": null}], \"margin\": null}\r\n"
             "{\"rejected\": \"\\u0033<eos>\", \"chosen\": \" 4 <eos> \", \"prompt\": \"%s\"}",
             ph, pt);
    rt_pref_set *s = NULL;
    rt_diag d;
    rt_diag_clear(&d);
    if (rt_pref_parse(task_, text, strlen(text), "o.jsonl", &s, &d)) fail_msg("%s", d.msg);
    assert_int_equal(s->n, 2);
    assert_int_equal(s->n_train, 1);
    assert_int_equal(s->pairs[0].prompt.id, t.id);
    assert_int_equal(s->pairs[0].n_rejected, 2);
    assert_int_equal(s->pairs[0].rejected[0], RT_TOK_DIGIT0 + 3);
    assert_int_equal(s->pairs[0].chosen[0], RT_TOK_DIGIT0 + 4);
    assert_int_equal(s->pairs[1].prompt.id, h.id);
    assert_int_equal(s->pairs[1].split, RT_TASK_HELDOUT);
    assert_true(isnan(s->pairs[1].margin) && isnan(s->pairs[1].r_chosen));
    rt_pref_stats stt;
    rt_pref_stats_of(s, &stt);
    assert_true(isnan(stt.agreement[0]) && isnan(stt.flip_rate[0]));
    rt_pref_free(s);
}

/* sequences: prompt ++ answer ++ PAD; the sampler: each epoch a permutation of the
 * split, the same indices whatever the order the steps are asked in */
static void test_trainer_helpers(void **st)
{
    (void)st;
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 10;
    c.heldout = 0;
    rt_pref_set *set = simulate("partial", &c, 6);
    int seq[8];
    rt_pref_pair cp = *rt_pref_at(set, RT_TASK_TRAIN, 0), *p = &cp;
    cp.n_rejected = 1;                                  /* a short answer */
    for (int t = cp.n_rejected; t < RT_TASK_MAX_T; t++) /* past the answer: not read */
        cp.rejected[t] = 7;
    int n = rt_pref_sequence(p, 1, 5, 3, seq);
    assert_int_equal(n, p->n_rejected);
    assert_memory_equal(seq, p->prompt.prompt, sizeof(int) * 5);
    assert_memory_equal(seq + 5, p->rejected, sizeof(int) * (size_t)n);
    for (int t = n; t < 3; t++)
        assert_int_equal(seq[5 + t], RT_TOK_PAD);
    assert_int_equal(rt_pref_sequence(p, 0, 5, 3, seq), p->n_chosen);
    assert_memory_equal(seq + 5, p->chosen, sizeof(int) * (size_t)p->n_chosen);

    rt_rng r = rt_rng_make(3);
    rt_pref_sampler a, b;
    rt_diag d;
    rt_diag_clear(&d);
    assert_int_equal(rt_pref_sampler_init(&a, set, RT_TASK_TRAIN, &r, &d), 0);
    assert_int_equal(rt_pref_sampler_init(&b, set, RT_TASK_TRAIN, &r, &d), 0);
    enum { B = 4, STEPS = 10 }; /* 40 draws: 4 epochs of 10 */
    int all[STEPS * B], seen[4][10] = {{0}};
    for (int s = 0; s < STEPS; s++)
        rt_pref_sampler_next(&a, s, B, all + s * B);
    for (int k = 0; k < STEPS * B; k++)
        seen[k / 10][all[k]]++;
    for (int e = 0; e < 4; e++)
        for (int i = 0; i < 10; i++)
            assert_int_equal(seen[e][i], 1);
    assert_memory_not_equal(all, all + 10, sizeof(int) * 10); /* epochs reshuffle */
    for (int s = STEPS - 1; s >= 0; s--) {                    /* backwards: the same indices */
        int idx[B];
        rt_pref_sampler_next(&b, s, B, idx);
        assert_memory_equal(idx, all + s * B, sizeof idx);
    }
    rt_pref_sampler_free(&a);
    rt_pref_sampler_free(&b);
    assert_int_equal(rt_pref_sampler_init(&a, set, RT_TASK_HELDOUT, &r, &d), RT_EINVAL);
    assert_string_equal(d.msg, "the preference set has no held-out pairs");
    rt_pref_sampler_free(&a);
    rt_pref_free(set);
}

typedef struct bad_case {
    const char *text;
    int code;
    const char *msg;
} bad_case;

#define OK_LINE "{\"prompt\":\"<add>1+2=\",\"chosen\":\"3<eos>\",\"rejected\":\"4<eos>\"}\n"

static void test_read_errors(void **st)
{
    (void)st;
    static const bad_case cases[] = {
        {"", RT_EINVAL, "t.jsonl: no preference pairs"},
        {OK_LINE "\n" OK_LINE, RT_EPARSE, "t.jsonl:2:1: empty line"},
        {OK_LINE OK_LINE "  \n", RT_EPARSE, "t.jsonl:3:1: empty line"},
        {"[1]", RT_EPARSE, "t.jsonl:1:1: expected '{'"},
        {"{\"prompt\" \"x\"}", RT_EPARSE, "t.jsonl:1:11: expected ':'"},
        {"{prompt:1}", RT_EPARSE, "t.jsonl:1:2: expected '\"'"},
        {"{\"prompt\":\"<add>1+2=", RT_EPARSE, "t.jsonl:1:11: unterminated string"},
        {"{\"prompt\":\"\\q\"}", RT_EPARSE, "t.jsonl:1:12: bad escape '\\q'"},
        {"{\"prompt\":\"<add>1+2=\" \"chosen\"}", RT_EPARSE, "t.jsonl:1:23: expected ',' or '}'"},
        {"{\"x\":}", RT_EPARSE, "t.jsonl:1:6: expected a value"},
        {"{\"prompt\":\"<add>1+2=\",\"prompt\":\"x\"}", RT_EPARSE,
         "t.jsonl:1:23: duplicate column 'prompt'"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":3}", RT_EPARSE,
         "t.jsonl:1:32: column 'chosen' must be a string"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"3\",\"rejected\":\"4\",\"margin\":\"1\"}",
         RT_EPARSE, "t.jsonl:1:60: column 'margin' must be a number"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"3\",\"rejected\":\"4\"} x", RT_EPARSE,
         "t.jsonl:1:52: characters after the object"},
        {OK_LINE "{\"prompt\":\"<add>1+2=\",\"chosen\":\"3<eos>\"}", RT_EPARSE,
         "t.jsonl:2:40: missing column 'rejected'"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"3x<eos>\",\"rejected\":\"4\"}", RT_EPARSE,
         "t.jsonl:1:34: token 'x<eos>' is not in the vocabulary of task add"},
        /* columns count code points: é is 2 bytes, 1 column */
        {"{\"x\":\"\xc3\xa9\",\"prompt\":\"<add>1+2=\",\"chosen\":\"3%\",\"rejected\":\"4\"}",
         RT_EPARSE, "t.jsonl:1:42: token '%' is not in the vocabulary of task add"},
        /* an escape: the column of a later character is its source column */
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"\\u00333\",\"rejected\":\"4%\"}", RT_EPARSE,
         "t.jsonl:1:55: token '%' is not in the vocabulary of task add"},
        {"{\"prompt\":\"<rev>abcd:\",\"chosen\":\"3\",\"rejected\":\"4\"}", RT_EPARSE,
         "t.jsonl:1:11: not a add prompt: '<rev>abcd:' (expected e.g. '<add>8+7=')"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"123<eos>\",\"rejected\":\"4\"}", RT_EPARSE,
         "t.jsonl:1:32: answer in column 'chosen' has 4 tokens, more than task add's 3 (EOS "
         "included)"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\" \",\"rejected\":\"4\"}", RT_EPARSE,
         "t.jsonl:1:32: empty answer in column 'chosen'"},
        {"{\"prompt\":\"<add>1+2=\",\"chosen\":\"3\",\"rejected\":\"<eos>4\"}", RT_EPARSE,
         "t.jsonl:1:47: tokens after <eos> in column 'rejected'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rt_pref_set *s = (rt_pref_set *)1;
        rt_diag d;
        rt_diag_clear(&d);
        int rc = rt_pref_parse(task_, cases[i].text, strlen(cases[i].text), "t.jsonl", &s, &d);
        if (rc != cases[i].code || strcmp(d.msg, cases[i].msg) != 0)
            fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, d.msg, cases[i].code,
                     cases[i].msg);
        assert_null(s);
    }
    rt_pref_set *s = NULL;
    rt_diag d;
    rt_diag_clear(&d);
    assert_int_equal(rt_pref_read(task_, "/nonexistent/p.jsonl", NULL, &s, &d), RT_ENOENT);
    assert_string_equal(d.msg, "/nonexistent/p.jsonl: cannot open");
    /* line and column also in the diag's fields */
    rt_diag_clear(&d);
    const char *t2 = OK_LINE "{\"x\":}";
    assert_int_equal(rt_pref_parse(task_, t2, strlen(t2), "t", &s, &d), RT_EPARSE);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 6);
}

/* every allocation failing in turn: a clean error, nothing leaked (under ASan) */
static void test_alloc_failures(void **st)
{
    (void)st;
    rt_pref_sim_config c;
    rt_pref_sim_defaults(&c);
    c.pairs = 5;
    c.heldout = 2;
    double params[8];
    rt_reward_program *rw = make_reward("partial", params);
    rt_rng sr = rt_rng_make(1);
    for (long n = 1; n < 100; n++) {
        rt_pref_set *s = NULL;
        rt_alloc_fail_at(n);
        int rc = rt_pref_simulate(&pol->model, task_, rw, params, &c, &sr, &s, NULL);
        rt_alloc_fail_at(0);
        if (rc == 0) {
            char *text;
            size_t len;
            assert_int_equal(rt_pref_format(s, task_, &text, &len, NULL), 0);
            for (long m = 1; m < 100; m++) {
                rt_pref_set *b = NULL;
                rt_alloc_fail_at(m);
                int rc2 = rt_pref_parse(task_, text, len, "a", &b, NULL);
                rt_alloc_fail_at(0);
                assert_true(rc2 == 0 || rc2 == RT_ENOMEM);
                rt_pref_free(b);
                if (rc2 == 0) break;
            }
            rt_free(text);
            rt_pref_free(s);
            break;
        }
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(s);
    }
    rt_reward_free(rw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_streams_and_pairing),
        cmocka_unit_test(test_label_bradley_terry),
        cmocka_unit_test(test_flip),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_jsonl_round_trip),
        cmocka_unit_test(test_jsonl_order),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_trainer_helpers),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
