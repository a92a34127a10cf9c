/* eval_test.c: evaluators and KL.  Hand-made policies whose answers are known exactly
 * check the greedy / avg@k / pass@k counting, per-domain accuracy of a mix and the
 * feature means; a policy with known token probabilities checks sampled accuracy
 * against its exact expectation; the fixed held-out sample; independence of the chunk
 * size; KL(p||p) = 0 and KL(p||q) against a direct double-precision computation over
 * the documented visited states; per-prompt results; argument errors;
 * allocation-failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fx_train.h"
#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_policy.h"

enum { V = RT_TASK_VOCAB, LET_A = RT_TOK_LETTER0, LET_F = RT_TOK_LETTER0 + 5 };

/* mix of copy length=2 and reverse length=2 */
static rt_task *make_mix(void)
{
    return fx_mix("copy", "length", 2, "reverse", "length", 2);
}

/* A hand-made policy with context K = 3, embedding = identity (D = V) and H = V hidden
 * units h[v] = [oldest context token == v].  Its logits: `margin` on the token
 * map[ctx[0]] (map[v] < 0: all logits 0).  With map = identity on letters and
 * map[':'] = EOS, it answers `copy length=2` ("x y :" -> "x y <eos>") perfectly. */
static rt_policy *hand_policy(const int *map, float margin)
{
    rt_policy *p = fx_mlp_zero(V, 3, V, V, 1);
    for (int v = 0; v < V; v++) {
        p->p.emb[v * V + v] = 1.0f;
        p->p.w1[v * 3 * V + v] = 1.0f; /* unit v reads position 0 (oldest) */
        if (map[v] >= 0) p->p.wo[map[v] * V + v] = margin;
    }
    rt_policy_touch(p);
    return p;
}

/* letters a..e copied, f..j answered as 'a', ':' -> EOS */
static void partial_map(int *map)
{
    for (int v = 0; v < V; v++)
        map[v] = -1;
    for (int l = 0; l < 10; l++)
        map[LET_A + l] = l < 5 ? LET_A + l : LET_A;
    map[RT_TOK_SEP] = RT_TOK_EOS;
}

static void identity_map(int *map)
{
    for (int v = 0; v < V; v++)
        map[v] = -1;
    for (int l = 0; l < 10; l++)
        map[LET_A + l] = LET_A + l;
    map[RT_TOK_SEP] = RT_TOK_EOS;
}

/* The letters x, y of a length-2 prompt (last four tokens: tag x y :). */
static void letters(const rt_task_sample *s, int P, int *x, int *y)
{
    *x = s->prompt[P - 3];
    *y = s->prompt[P - 2];
    assert_int_equal(s->prompt[P - 1], RT_TOK_SEP);
}

static void test_counting_mix(void **state)
{
    (void)state;
    rt_task *t = make_mix();
    int map[V];
    partial_map(map);
    rt_policy *p = hand_policy(map, 10.0f);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = 4;
    ec.temperature = 0.02f; /* margin 500 at this temperature: samples are the argmax */
    ec.chunk = 9;
    rt_rng rng = rt_rng_make(1);
    rt_eval *ev;
    rt_diag d;
    assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, &d), 0);
    int n = rt_eval_n_prompts(ev);
    assert_int_equal(n, (int)rt_task_split_count(t, RT_TASK_HELDOUT)); /* all of it */
    assert_true(n >= 20);
    assert_null(rt_eval_prompt(ev, n));

    /* expected, from the rule: answer x' y' <eos> with l' = l if l < f else a */
    int P = rt_task_prompt_len(t), dn[2] = {0}, dc[2] = {0};
    double partial = 0;
    for (int i = 0; i < n; i++) {
        const rt_task_sample *s = rt_eval_prompt(ev, i);
        assert_int_equal(rt_task_split_of(t, s), RT_TASK_HELDOUT);
        int x, y;
        letters(s, P, &x, &y);
        int ax = map[x], ay = map[y];
        int tx = s->domain == 0 ? x : y, ty = s->domain == 0 ? y : x; /* copy / reverse */
        dn[s->domain]++;
        dc[s->domain] += ax == tx && ay == ty;
        partial += ((ax == tx) + (ay == ty) + 1) / 3.0;
    }
    assert_true(dn[0] > 0 && dn[1] > 0);
    assert_true(dc[0] > 0 && dc[0] < dn[0]);
    double acc = (double)(dc[0] + dc[1]) / n;

    rt_eval_result r;
    assert_int_equal(rt_eval_run(ev, &p->model, &r, &d), 0);
    assert_int_equal(r.n_prompts, n);
    assert_int_equal(r.k, 4);
    assert_int_equal(r.n_domains, 2);
    assert_int_equal(r.domain_n[0], dn[0]);
    assert_int_equal(r.domain_n[1], dn[1]);
    assert_float_equal(r.greedy, acc, 1e-12);
    assert_float_equal(r.domain_greedy[0], (double)dc[0] / dn[0], 1e-12);
    assert_float_equal(r.domain_greedy[1], (double)dc[1] / dn[1], 1e-12);
    assert_float_equal(r.avg_k, acc, 1e-12);
    assert_float_equal(r.pass_k, acc, 1e-12);
    assert_float_equal(r.domain_avg_k[0], (double)dc[0] / dn[0], 1e-12);
    assert_float_equal(r.domain_avg_k[1], (double)dc[1] / dn[1], 1e-12);
    assert_float_equal(r.domain_pass_k[0], (double)dc[0] / dn[0], 1e-12); /* per domain too */
    assert_float_equal(r.domain_pass_k[1], (double)dc[1] / dn[1], 1e-12);
    assert_int_equal(r.n_features, 5);
    const double feat[5] = {acc, partial / n, 3.0, 1.0,
                            1.0}; /* correct partial length format eos */
    for (int i = 0; i < 5; i++) {
        assert_float_equal(r.feat_greedy[i], feat[i], 1e-12);
        assert_float_equal(r.feat_sampled[i], feat[i], 1e-12);
    }
    double g;
    assert_int_equal(rt_eval_greedy(ev, &p->model, &g, &d), 0);
    assert_float_equal(g, acc, 1e-12);
    rt_eval_free(ev);
    rt_policy_free(p);
    rt_task_free(t);
}

/* A policy that always answers <eos> first: accuracy 0, length 1, format 0, eos 1. */
static void test_counting_zero(void **state)
{
    (void)state;
    rt_task *t = fx_task("copy", "length", 2);
    int map[V];
    for (int v = 0; v < V; v++)
        map[v] = RT_TOK_EOS;
    rt_policy *p = hand_policy(map, 10.0f);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = 3;
    ec.temperature = 0.02f;
    rt_rng rng = rt_rng_make(2);
    rt_eval *ev;
    assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, NULL), 0);
    rt_eval_result r;
    assert_int_equal(rt_eval_run(ev, &p->model, &r, NULL), 0);
    assert_int_equal(r.n_domains, 1);
    assert_float_equal(r.greedy, 0.0, 0);
    assert_float_equal(r.avg_k, 0.0, 0);
    assert_float_equal(r.pass_k, 0.0, 0);
    const double feat[5] = {0.0, 0.0, 1.0, 0.0, 1.0};
    for (int i = 0; i < 5; i++)
        assert_float_equal(r.feat_greedy[i], feat[i], 0);

    /* k = 0: greedy only, sampled figures NaN */
    rt_eval_free(ev);
    ec.k = 0;
    assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, NULL), 0);
    assert_int_equal(rt_eval_run(ev, &p->model, &r, NULL), 0);
    assert_true(isnan(r.avg_k) && isnan(r.pass_k) && isnan(r.feat_sampled[0]));
    assert_true(isnan(r.domain_avg_k[0]) && isnan(r.domain_pass_k[0]));
    rt_eval_free(ev);
    rt_policy_free(p);
    rt_task_free(t);
}

/* Sampled accuracy of a policy whose every step puts probability
 * q = e^(m/T) / (e^(m/T) + 31) on the right token: avg@k ~ q^3. */
static void test_sampled_expectation(void **state)
{
    (void)state;
    rt_task *t = fx_task("copy", "length", 2);
    int map[V];
    identity_map(map);
    rt_policy *p = hand_policy(map, 4.0f);
    const float temps[2] = {1.0f, 0.5f};
    for (int i = 0; i < 2; i++) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.k = 300;
        ec.temperature = temps[i];
        rt_rng rng = rt_rng_make(3);
        rt_eval *ev;
        assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, NULL), 0);
        rt_eval_result r;
        assert_int_equal(rt_eval_run(ev, &p->model, &r, NULL), 0);
        assert_float_equal(r.greedy, 1.0, 0);
        double e = exp(4.0 / temps[i]), q = e / (e + 31.0), want = q * q * q;
        double nk = (double)r.n_prompts * r.k, sd = sqrt(want * (1 - want) / nk);
        assert_true(nk >= 3000);
        assert_float_equal(r.avg_k, want, 4 * sd);
        double pass = 1 - pow(1 - want, r.k);
        assert_float_equal(r.pass_k, pass, 0.02);
        rt_eval_free(ev);
    }
    rt_policy_free(p);
    rt_task_free(t);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* add digits=2 holds ~2000 held-out prompts: a fixed sample of 100 distinct ones. */
static void test_fixed_sample(void **state)
{
    (void)state;
    rt_task *t = fx_task("add", NULL, 0);
    assert_true(rt_task_split_count(t, RT_TASK_HELDOUT) > 1000);
    rt_policy *pc_m = fx_mlp_zero(V, 4, 4, 4, 1); /* a model of that architecture */
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.n_prompts = 100;
    rt_eval *e1, *e2, *e3;
    rt_rng r1 = rt_rng_make(5), r2 = rt_rng_make(6);
    assert_int_equal(rt_eval_create(&e1, t, &pc_m->model, &ec, &r1, NULL), 0);
    assert_int_equal(rt_eval_create(&e2, t, &pc_m->model, &ec, &r1, NULL), 0);
    assert_int_equal(rt_eval_create(&e3, t, &pc_m->model, &ec, &r2, NULL), 0);
    assert_int_equal(rt_eval_n_prompts(e1), 100);
    uint64_t ids[100];
    int same3 = 0;
    for (int i = 0; i < 100; i++) {
        const rt_task_sample *s = rt_eval_prompt(e1, i);
        assert_int_equal(rt_task_split_of(t, s), RT_TASK_HELDOUT);
        assert_memory_equal(s, rt_eval_prompt(e2, i), sizeof *s);
        same3 += rt_eval_prompt(e3, i)->id == s->id;
        ids[i] = s->id;
    }
    assert_true(same3 < 50);
    qsort(ids, 100, sizeof ids[0], cmp_u64);
    for (int i = 1; i < 100; i++)
        assert_true(ids[i] > ids[i - 1]); /* distinct */
    rt_eval_free(e1);
    rt_eval_free(e2);
    rt_eval_free(e3);
    rt_task_free(t);
    rt_policy_free(pc_m);
}

/* mix of add digits=1 (enumerated: 100 prompts) and sort length=6 (10^6 prompts, not
 * enumerated), in that order or swapped */
static rt_task *make_partial_mix(int swapped)
{
    if (swapped) return fx_mix("sort", "length", 6, "add", "digits", 1);
    return fx_mix("add", "digits", 1, "sort", "length", 6);
}

/* Checks that prompts [i0, i0 + n) of ev are held-out prompts of domain d of the mix,
 * encoded as the mix encodes them; stores their ids in ids. */
static void check_domain_prompts(const rt_eval *ev, const rt_task *t, int d, int i0, int n,
                                 uint64_t *ids)
{
    for (int i = 0; i < n; i++) {
        const rt_task_sample *s = rt_eval_prompt(ev, i0 + i);
        assert_non_null(s);
        assert_int_equal(s->domain, d);
        assert_int_equal(rt_task_split_of(t, s), RT_TASK_HELDOUT);
        rt_task_sample want;
        assert_int_equal(rt_task_sample_from_id(t, d, s->id, &want), 0);
        assert_memory_equal(s, &want, sizeof want);
        ids[i] = s->id;
    }
}

/* A mix of an enumerated and a non-enumerated domain: each domain gets its quota
 * n_prompts / 2 — all of the small domain's held-out split, a fixed draw of the large
 * one (regression: the large domain used to get no prompt, or, listed first, the
 * evaluator could not be created). */
static void test_partial_mix(void **state)
{
    (void)state;
    rt_policy *pc_m = fx_mlp_zero(V, 4, 4, 4, 1); /* a model of that architecture */
    rt_policy *p = fx_mlp_zero(V, 4, 4, 4, 1);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = 0;
    static uint64_t ids[1024];
    for (int swapped = 0; swapped < 2; swapped++) {
        rt_task *t = make_partial_mix(swapped);
        int da = swapped, ds = !swapped;
        const rt_task *add = rt_task_domain(t, da);
        uint64_t na = rt_task_split_count(add, RT_TASK_HELDOUT);
        assert_true(na >= 5 && na <= 40);
        assert_int_equal(rt_task_split_count(rt_task_domain(t, ds), RT_TASK_HELDOUT), 0);
        assert_int_equal(rt_task_split_count(t, RT_TASK_HELDOUT), 0);

        rt_rng rng = rt_rng_make(3);
        rt_eval *ev, *ev2;
        rt_diag d;
        assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, &d), 0);
        assert_int_equal(rt_eval_create(&ev2, t, &pc_m->model, &ec, &rng, &d), 0);
        int n = rt_eval_n_prompts(ev);
        assert_int_equal(n, (int)na + 512);
        int a0 = swapped ? 512 : 0, s0 = swapped ? 0 : (int)na;
        check_domain_prompts(ev, t, da, a0, (int)na, ids); /* all of add, in order */
        for (uint64_t i = 0; i < na; i++) {
            rt_task_sample s;
            assert_int_equal(rt_task_sample_at(add, RT_TASK_HELDOUT, i, &s), 0);
            assert_true(ids[i] == s.id);
        }
        check_domain_prompts(ev, t, ds, s0, 512, ids); /* 512 drawn sort prompts */
        int distinct = 1;
        qsort(ids, 512, sizeof ids[0], cmp_u64);
        for (int i = 1; i < 512; i++)
            distinct += ids[i] != ids[i - 1];
        assert_true(distinct > 500);
        for (int i = 0; i < n; i++) /* deterministic */
            assert_memory_equal(rt_eval_prompt(ev, i), rt_eval_prompt(ev2, i),
                                sizeof(rt_task_sample));

        rt_eval_result r;
        assert_int_equal(rt_eval_run(ev, &p->model, &r, &d), 0);
        assert_int_equal(r.n_prompts, n);
        assert_int_equal(r.n_domains, 2);
        assert_int_equal(r.domain_n[da], (int)na);
        assert_int_equal(r.domain_n[ds], 512);
        rt_eval_free(ev);
        rt_eval_free(ev2);

        /* small quotas: the add prompts are a fixed sample of distinct ids */
        ec.n_prompts = 7; /* quotas 4 and 3 */
        assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, &d), 0);
        assert_int_equal(rt_eval_n_prompts(ev), 7);
        int qa = swapped ? 3 : 4, qs = 7 - qa;
        check_domain_prompts(ev, t, da, swapped ? qs : 0, qa, ids);
        for (int i = 1; i < qa; i++)
            assert_true(ids[i] > ids[i - 1]); /* distinct, in enumeration order */
        check_domain_prompts(ev, t, ds, swapped ? 0 : qa, qs, ids);
        rt_eval_free(ev);
        ec.n_prompts = 1024;
        rt_task_free(t);
    }
    rt_policy_free(p);
    rt_policy_free(pc_m);
}

/* Results do not depend on the chunk size (sequences draw from their own streams). */
static void test_chunk_independent(void **state)
{
    (void)state;
    rt_task *t = make_mix();
    rt_policy *pc_m = fx_mlp_zero(V, 4, 8, 16, 1); /* a model of that architecture */
    rt_policy *p = fx_mlp(V, 4, 8, 16, 1, RT_NN_ACT_RELU, 8);
    rt_eval_result r[2];
    const int chunks[2] = {7, 256};
    for (int i = 0; i < 2; i++) {
        rt_eval_config ec;
        rt_eval_config_init(&ec);
        ec.chunk = chunks[i];
        ec.k = 5;
        rt_rng rng = rt_rng_make(4);
        rt_eval *ev;
        assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, NULL), 0);
        assert_int_equal(rt_eval_run(ev, &p->model, &r[i], NULL), 0);
        rt_eval_free(ev);
    }
    assert_memory_equal(&r[0], &r[1], sizeof r[0]);
    assert_true(r[0].feat_sampled[2] > 0); /* a random policy: nonzero lengths */
    rt_policy_free(p);
    rt_task_free(t);
    rt_policy_free(pc_m);
}

/* Per-prompt results (rt_eval_hits_*): the greedy answer of the partial policy is right
 * exactly when both letters are a..e; the per-prompt counts add up to the figures. */
static void test_per_prompt_hits(void **state)
{
    (void)state;
    rt_task *t = fx_task("copy", "length", 2);
    int map[V];
    partial_map(map);
    rt_policy *p = hand_policy(map, 3.0f);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = 6;
    rt_rng rng = rt_rng_make(11);
    rt_eval *ev;
    assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, NULL), 0);
    assert_null(rt_eval_hits_greedy(ev));
    assert_null(rt_eval_hits_sampled(ev));
    rt_eval_result r;
    assert_int_equal(rt_eval_run(ev, &p->model, &r, NULL), 0);
    const int *g = rt_eval_hits_greedy(ev), *s = rt_eval_hits_sampled(ev);
    assert_non_null(g);
    assert_non_null(s);
    int P = rt_task_prompt_len(t), n = rt_eval_n_prompts(ev);
    long gs = 0, ss = 0, any = 0, right = 0;
    for (int i = 0; i < n; i++) {
        int x, y;
        letters(rt_eval_prompt(ev, i), P, &x, &y);
        int want = x < LET_A + 5 && y < LET_A + 5;
        right += want;
        assert_int_equal(g[i], want);
        assert_true(s[i] >= 0 && s[i] <= ec.k);
        gs += g[i], ss += s[i], any += s[i] > 0;
    }
    assert_true(right > 0 && right < n); /* both outcomes occur */
    assert_float_equal(r.greedy, (double)gs / n, 0);
    assert_float_equal(r.avg_k, (double)ss / ((double)n * ec.k), 0);
    assert_float_equal(r.pass_k, (double)any / n, 0);
    /* greedy only: the sampled counts are gone until the next full run */
    double acc;
    assert_int_equal(rt_eval_greedy(ev, &p->model, &acc, NULL), 0);
    assert_non_null(rt_eval_hits_greedy(ev));
    assert_null(rt_eval_hits_sampled(ev));
    rt_eval_free(ev);
    rt_policy_free(p);
    rt_task_free(t);
}

static void test_kl(void **state)
{
    (void)state;
    rt_task *t = fx_task("copy", "length", 2);
    rt_policy *p = fx_mlp(V, 3, 6, 8, 1, RT_NN_ACT_RELU, 1),
              *q = fx_mlp(V, 3, 6, 12, 1, RT_NN_ACT_RELU, 2);
    rt_rng rng = rt_rng_make(10);
    rt_eval_kl_result k;
    rt_diag d;
    assert_int_equal(rt_eval_kl(&p->model, &p->model, t, RT_TASK_TRAIN, 6, &rng, &k, &d), 0);
    assert_float_equal(k.kl, 0.0, 1e-9);
    assert_true(k.entropy > 1.0);
    assert_int_equal(k.n_prompts, 6);

    assert_int_equal(rt_eval_kl(&p->model, &q->model, t, RT_TASK_TRAIN, 6, &rng, &k, &d), 0);
    /* direct: the documented prompts and samples, the states up to the first EOS */
    enum { B = 6, P = 4, T = 3 };
    rt_task_sample s[B];
    int prompts[B * P], tokens[B * T], seqs[B * (P + T)], lo[B], hi[B], len[B], n = 0;
    rt_rng r0 = rt_rng_split(&rng, 0), r1 = rt_rng_split(&rng, 1);
    rt_task_sample_batch(t, &r0, 0, RT_TASK_TRAIN, B, s, prompts);
    rt_model_ws *wp = fx_ws(&p->model, B * T);
    assert_int_equal(rt_model_generate(&p->model, wp, prompts, B, P, T, 1.0f, &r1, 0, tokens, NULL),
                     0);
    for (int b = 0; b < B; b++) { /* the states up to the first EOS */
        len[b] = T;
        for (int j = 0; j < T; j++)
            if (tokens[b * T + j] == RT_TOK_EOS) {
                len[b] = j + 1;
                break;
            }
        n += len[b];
    }
    assert_int_equal(k.n_states, n);
    rt_model_batch vb = fx_gen_batch(seqs, lo, hi, prompts, 1, tokens, len, B, P, T);
    float pp[B * T * V], pq[B * T * V];
    fx_probs(&p->model, &vb, pp);
    fx_probs(&q->model, &vb, pq);
    double kl = 0, ent = 0;
    for (int i = 0; i < n * V; i++) {
        kl += pp[i] * (log((double)pp[i]) - log((double)pq[i]));
        ent -= pp[i] * log((double)pp[i]);
    }
    kl /= n;
    ent /= n;
    assert_true(kl > 0.01);
    assert_float_equal(k.kl, kl, 1e-4 * kl);
    assert_float_equal(k.entropy, ent, 1e-5 * ent);
    rt_model_ws_free(wp);

    /* another context: each model reads the same states its own way */
    rt_policy *c4 = fx_mlp(V, 4, 6, 8, 1, RT_NN_ACT_RELU, 3);
    assert_int_equal(rt_eval_kl(&p->model, &c4->model, t, RT_TASK_TRAIN, 6, &rng, &k, &d), 0);
    assert_true(k.kl > 0.0);
    assert_int_equal(rt_eval_kl(&p->model, &q->model, t, RT_TASK_TRAIN, 0, &rng, &k, &d),
                     RT_EINVAL);
    rt_policy_free(c4);
    rt_policy_free(p);
    rt_policy_free(q);
    rt_task_free(t);
}

static void test_errors(void **state)
{
    (void)state;
    rt_task *t = fx_task("copy", "length", 2);
    rt_rng rng = rt_rng_make(1);
    rt_eval *ev = (rt_eval *)&rng;
    rt_diag d;
    rt_policy *bad_m = fx_mlp_zero(16, 3, 4, 4, 1); /* a model of that architecture */
    assert_int_equal(rt_eval_create(&ev, t, &bad_m->model, NULL, &rng, &d), RT_EINVAL);
    assert_null(ev);
    assert_string_equal(d.msg, "eval: policy vocabulary 16, task vocabulary 32");
    rt_policy *pc_m = fx_mlp_zero(V, 3, 4, 4, 1); /* a model of that architecture */
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = -1;
    assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "eval: k must be >= 0");
    rt_eval_config_init(&ec);
    ec.temperature = 0.0f;
    assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "eval: temperature must be > 0");
    rt_eval_config_init(&ec);
    ec.n_prompts = 0;
    assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, &ec, &rng, &d), RT_EINVAL);
    assert_string_equal(d.msg, "eval: n_prompts must be >= 1");

    assert_int_equal(rt_eval_create(&ev, t, &pc_m->model, NULL, &rng, &d), 0);
    rt_policy *other =
        fx_mlp(V, 3, 6, 8, 1, RT_NN_ACT_RELU, 1); /* embed 6, hidden 8: another shape */
    double acc;
    assert_int_equal(rt_eval_greedy(ev, &other->model, &acc, &d), RT_EINVAL);
    assert_string_equal(d.msg, "eval: policy architecture differs from the evaluator's");
    rt_policy_free(other);
    rt_eval_free(ev);
    rt_task_free(t);
    rt_policy_free(pc_m);
    rt_policy_free(bad_m);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    rt_task *t = make_mix();
    rt_policy *p = fx_mlp(V, 3, 6, 8, 1, RT_NN_ACT_RELU, 1),
              *q = fx_mlp(V, 3, 6, 8, 1, RT_NN_ACT_RELU, 2);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.n_prompts = 10; /* a sample of a larger split: the shuffle path */
    rt_rng rng = rt_rng_make(1);
    rt_eval *ev;
    rt_alloc_fail_at(0);
    assert_int_equal(rt_eval_create(&ev, t, &p->model, &ec, &rng, NULL), 0);
    long total = rt_alloc_count();
    rt_eval_free(ev);
    assert_true(total >= 7);
    for (long i = 1; i <= total; i++) {
        rt_diag d;
        rt_alloc_fail_at(i);
        int rc = rt_eval_create(&ev, t, &p->model, &ec, &rng, &d);
        rt_alloc_fail_at(0);
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(ev);
        assert_string_equal(d.msg, "eval: out of memory");
    }
    rt_eval_kl_result k;
    rt_alloc_fail_at(0);
    assert_int_equal(rt_eval_kl(&p->model, &q->model, t, RT_TASK_HELDOUT, 5, &rng, &k, NULL), 0);
    total = rt_alloc_count();
    assert_true(total >= 7);
    for (long i = 1; i <= total; i++) {
        rt_diag d;
        rt_alloc_fail_at(i);
        int rc = rt_eval_kl(&p->model, &q->model, t, RT_TASK_HELDOUT, 5, &rng, &k, &d);
        rt_alloc_fail_at(0);
        assert_int_equal(rc, RT_ENOMEM);
        assert_string_equal(d.msg, "kl: out of memory");
    }
    rt_policy_free(p);
    rt_policy_free(q);
    rt_task_free(t);
}

/* rt_eval_pass_at against hand-computed binomial ratios (exact in double to 1 ulp: every
 * factor is a ratio of small integers) and against brute force over all j-subsets */
static void test_pass_at(void **state)
{
    (void)state;
    assert_true(fabs(rt_eval_pass_at(4, 1, 1) - 0.25) < 1e-15);            /* c/k */
    assert_true(fabs(rt_eval_pass_at(4, 1, 2) - 0.5) < 1e-15);             /* 1 - C(3,2)/C(4,2) */
    assert_true(fabs(rt_eval_pass_at(8, 2, 3) - (1 - 20.0 / 56)) < 1e-15); /* C(6,3)/C(8,3) */
    assert_true(rt_eval_pass_at(4, 1, 4) == 1.0); /* k - c < j: some subset always hits */
    assert_true(rt_eval_pass_at(64, 0, 64) == 0.0);
    assert_true(rt_eval_pass_at(64, 64, 1) == 1.0);
    assert_true(isnan(rt_eval_pass_at(4, 1, 5)) && isnan(rt_eval_pass_at(4, 1, 0)) &&
                isnan(rt_eval_pass_at(4, 5, 1)) && isnan(rt_eval_pass_at(4, -1, 1)));
    /* brute force: over every j-subset of k = 10 samples of which the first c are right,
     * the fraction holding a right one */
    for (int c = 0; c <= 10; c++)
        for (int j = 1; j <= 10; j++) {
            long hit = 0, all = 0;
            for (int m = 0; m < 1 << 10; m++) {
                if (__builtin_popcount((unsigned)m) != j) continue;
                all++;
                hit += (m & ((1 << c) - 1)) != 0;
            }
            assert_true(fabs(rt_eval_pass_at(10, c, j) - (double)hit / all) < 1e-12);
        }
    /* monotone in j and in c */
    for (int j = 1; j < 16; j++)
        assert_true(rt_eval_pass_at(16, 3, j + 1) >= rt_eval_pass_at(16, 3, j));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counting_mix),
        cmocka_unit_test(test_counting_zero),
        cmocka_unit_test(test_sampled_expectation),
        cmocka_unit_test(test_fixed_sample),
        cmocka_unit_test(test_partial_mix),
        cmocka_unit_test(test_chunk_independent),
        cmocka_unit_test(test_per_prompt_hits),
        cmocka_unit_test(test_kl),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_pass_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
