/* game_test.c: the debate game on hand-built scorers.  Minimax equals a brute-force
 * full-tree search (written independently here, no cut-offs) on random score tables
 * for every K <= 5, L <= K and first mover; a hand-solved game (value, moves,
 * transcript); greedy never does better than minimax for the mover and minimax vs
 * minimax realizes the value; the game is zero-sum (swapping sides negates the
 * outcome exactly); the too-large tree error; bad games. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rt_debate.h"

typedef struct table {
    float s1[256], s2[256];
    int calls;
} table;

static void table_score(void *user, unsigned revealed, float *s1, float *s2)
{
    table *t = user;
    t->calls++;
    *s1 = t->s1[revealed], *s2 = t->s2[revealed];
}

static void swapped_score(void *user, unsigned revealed, float *s1, float *s2)
{
    table *t = user;
    *s1 = t->s2[revealed], *s2 = t->s1[revealed];
}

static void random_table(table *t, rt_rng *r, int K)
{
    memset(t, 0, sizeof *t);
    for (unsigned S = 0; S < (1u << K); S++) {
        /* a coarse grid so that draws (equal scores) occur too */
        t->s1[S] = (float)rt_rng_below(r, 5);
        t->s2[S] = (float)rt_rng_below(r, 5);
    }
}

static void game_of(rt_debate_game *g, table *t, int K, int L, int first)
{
    memset(g, 0, sizeof *g);
    g->K = K, g->L = L, g->first = first, g->a1 = 0, g->a2 = 1;
    g->score = table_score, g->user = t;
}

/* brute force: the full tree, every branch, no cut-offs */
static int brute(const table *t, int K, int L, int first, unsigned S, int turn)
{
    if (turn == L) return t->s1[S] > t->s2[S] ? 1 : t->s1[S] < t->s2[S] ? -1 : 0;
    int mover = (first + turn) % 2, best = mover == 0 ? -99 : 99;
    for (int k = 0; k < K; k++) {
        if (S & (1u << k)) continue;
        int v = brute(t, K, L, first, S | (1u << k), turn + 1);
        if (mover == 0 && v > best) best = v;
        if (mover == 1 && v < best) best = v;
    }
    return best;
}

static void test_minimax_equals_brute_force(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(42);
    int cases = 0, values[3] = {0, 0, 0};
    for (int K = 1; K <= 5; K++)
        for (int L = 1; L <= K; L++)
            for (int first = 0; first < 2; first++)
                for (int rep = 0; rep < 20; rep++) {
                    table t;
                    random_table(&t, &r, K);
                    rt_debate_game g;
                    game_of(&g, &t, K, L, first);
                    int v = 7;
                    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
                    assert_int_equal(v, brute(&t, K, L, first, 0, 0));
                    int o = 7;
                    assert_int_equal(
                        rt_debate_play(&g, RT_DEBATER_MINIMAX, RT_DEBATER_MINIMAX, NULL, &o, NULL),
                        0);
                    assert_int_equal(o, v);
                    values[v + 1]++;
                    cases++;
                }
    assert_int_equal(cases, 15 * 2 * 20);
    /* the cases cover every value */
    assert_true(values[0] > 0 && values[1] > 0 && values[2] > 0);
}

/* K = 3, L = 2, debater 1 first.  Final margins: {0,1} +, {0,2} -, {1,2} +.  Revealing
 * 1 wins for debater 1 (both replies give +); greedy is lured by feature 0's large
 * single-feature margin and loses to the reply 2. */
static void hand_table(table *t)
{
    memset(t, 0, sizeof *t);
    t->s1[1u << 0] = 0.9f, t->s1[1u << 1] = 0.1f, t->s1[1u << 2] = 0.5f;
    t->s1[0x3] = 1.0f, t->s2[0x3] = 0.0f; /* {0,1} */
    t->s1[0x5] = 0.0f, t->s2[0x5] = 1.0f; /* {0,2} */
    t->s1[0x6] = 2.0f, t->s2[0x6] = 0.5f; /* {1,2} */
}

static void test_hand_solved_game(void **state)
{
    (void)state;
    table t;
    hand_table(&t);
    rt_debate_game g;
    game_of(&g, &t, 3, 2, 0);
    int v;
    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
    assert_int_equal(v, 1);
    rt_debate_transcript tr;
    int o;
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_MINIMAX, RT_DEBATER_GREEDY, &tr, &o, NULL), 0);
    assert_int_equal(o, 1);
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.feature[0], 1);
    assert_int_equal(tr.by[0], 0);
    assert_int_equal(tr.feature[1], 0); /* debater 2 minimizes: {0,1} +1 < {1,2} +1.5 */
    assert_int_equal(tr.by[1], 1);
    assert_true(tr.s1[1] == 1.0f && tr.s2[1] == 0.0f);
    assert_true(tr.s1[0] == 0.1f && tr.s2[0] == 0.0f);
    assert_int_equal(tr.revealed, 0x3u);
    assert_int_equal(tr.outcome, 1);
    /* greedy as debater 1 takes feature 0 and loses to the minimax reply 2 */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, &tr, &o, NULL), 0);
    assert_int_equal(tr.feature[0], 0);
    assert_int_equal(tr.feature[1], 2);
    assert_int_equal(o, -1);
    /* greedy vs greedy: 0 then the reply minimizing the margin: 2 */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_GREEDY, &tr, &o, NULL), 0);
    assert_int_equal(o, -1);
    /* debater 2 first: whatever it reveals, debater 1 answers with feature 1 (or 0 when
     * 1 is taken) and wins; value +1 */
    g.first = 1;
    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
    assert_int_equal(v, 1);
    /* with {1,2} negative instead, feature 1 no longer saves debater 1 moving second */
    t.s1[0x6] = 0.0f;
    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
    assert_int_equal(v, -1);
    g.first = 0; /* moving first, debater 1 cannot force {0,1} either */
    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
    assert_int_equal(v, -1);
}

static void test_greedy_never_beats_minimax(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(7);
    int strictly = 0;
    for (int K = 2; K <= 6; K++)
        for (int L = 1; L <= K; L++)
            for (int first = 0; first < 2; first++)
                for (int rep = 0; rep < 10; rep++) {
                    table t;
                    random_table(&t, &r, K);
                    rt_debate_game g;
                    game_of(&g, &t, K, L, first);
                    int v, o;
                    assert_int_equal(rt_debate_minimax_value(&g, &v, NULL), 0);
                    /* debater 1 greedy against a minimax debater 2: at most the value */
                    assert_int_equal(
                        rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, NULL, &o, NULL),
                        0);
                    assert_true(o <= v);
                    strictly += o < v;
                    /* debater 2 greedy: debater 1's outcome at least the value */
                    assert_int_equal(
                        rt_debate_play(&g, RT_DEBATER_MINIMAX, RT_DEBATER_GREEDY, NULL, &o, NULL),
                        0);
                    assert_true(o >= v);
                }
    assert_true(strictly > 0); /* greedy is really weaker somewhere */
}

static void test_zero_sum(void **state)
{
    (void)state;
    rt_rng r = rt_rng_make(9);
    const rt_debater_kind kinds[2] = {RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX};
    int nonzero = 0;
    for (int rep = 0; rep < 200; rep++) {
        int K = 2 + (int)rt_rng_below(&r, 5), L = 1 + (int)rt_rng_below(&r, (uint32_t)K);
        table t;
        memset(&t, 0, sizeof t);
        for (unsigned S = 0; S < (1u << K); S++)
            t.s1[S] = rt_rng_normal(&r), t.s2[S] = rt_rng_normal(&r);
        for (int first = 0; first < 2; first++)
            for (int k1 = 0; k1 < 2; k1++)
                for (int k2 = 0; k2 < 2; k2++) {
                    rt_debate_game g, h;
                    game_of(&g, &t, K, L, first);
                    h = g;
                    h.score = swapped_score; /* debater 1 now defends a2 */
                    h.first = 1 - first;
                    rt_debate_transcript tg, th;
                    int og, oh;
                    assert_int_equal(rt_debate_play(&g, kinds[k1], kinds[k2], &tg, &og, NULL), 0);
                    assert_int_equal(rt_debate_play(&h, kinds[k2], kinds[k1], &th, &oh, NULL), 0);
                    assert_int_equal(og, -oh);
                    nonzero += og != 0;
                    assert_memory_equal(tg.feature, th.feature, sizeof(int) * (size_t)L);
                    for (int i = 0; i < L; i++)
                        assert_int_equal(tg.by[i], 1 - th.by[i]);
                }
    }
    assert_true(nonzero > 0);
}

static void test_too_large_tree(void **state)
{
    (void)state;
    table t;
    memset(&t, 0, sizeof t);
    rt_debate_game g;
    game_of(&g, &t, 8, 8, 0);
    g.max_leaves = 1000;
    rt_diag err;
    int v;
    assert_int_equal(rt_debate_minimax_value(&g, &v, &err), RT_ETOOBIG);
    assert_string_equal(err.msg,
                        "minimax: game tree of 40320 leaves (K=8 features, evidence 8) exceeds "
                        "the limit of 1000");
    int o;
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, NULL, &o, &err),
                     RT_ETOOBIG);
    assert_int_equal(t.calls, 0); /* refused before any search */
    /* greedy debaters have no tree to search */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_GREEDY, NULL, &o, &err), 0);
    /* at the limit exactly it searches */
    g.K = 6, g.L = 4, g.max_leaves = 360;
    assert_int_equal(rt_debate_tree_leaves(6, 4), 360);
    assert_int_equal(rt_debate_minimax_value(&g, &v, &err), 0);
    g.max_leaves = 359;
    assert_int_equal(rt_debate_minimax_value(&g, &v, &err), RT_ETOOBIG);
}

static void test_bad_games(void **state)
{
    (void)state;
    table t;
    memset(&t, 0, sizeof t);
    rt_debate_game g;
    rt_diag err;
    int o;
    game_of(&g, &t, 3, 4, 0); /* L > K */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_GREEDY, NULL, &o, &err),
                     RT_EINVAL);
    game_of(&g, &t, 9, 2, 0); /* K too large */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_GREEDY, NULL, &o, &err),
                     RT_EINVAL);
    game_of(&g, &t, 3, 2, 2); /* first */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_GREEDY, RT_DEBATER_GREEDY, NULL, &o, &err),
                     RT_EINVAL);
    game_of(&g, &t, 3, 2, 0); /* learned without a learner */
    assert_int_equal(rt_debate_play(&g, RT_DEBATER_LEARNED, RT_DEBATER_GREEDY, NULL, &o, &err),
                     RT_EINVAL);
    assert_string_equal(err.msg,
                        "debate game: a learned debater needs a trained learner of this task");
    assert_int_equal(rt_debate_play(&g, (rt_debater_kind)3, RT_DEBATER_GREEDY, NULL, &o, &err),
                     RT_EINVAL);
    rt_debater_kind k;
    rt_debate_first f;
    assert_int_equal(rt_debater_kind_parse("minimax", &k), 0);
    assert_int_equal(k, RT_DEBATER_MINIMAX);
    assert_int_equal(rt_debater_kind_parse("alpha", &k), RT_EINVAL);
    assert_int_equal(rt_debate_first_parse("baseline", &f), 0);
    assert_int_equal(f, RT_DEBATE_FIRST_BASELINE);
    assert_string_equal(rt_debate_first_name(RT_DEBATE_FIRST_POLICY), "policy");
    assert_string_equal(rt_debater_kind_name(RT_DEBATER_LEARNED), "learned");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimax_equals_brute_force),
        cmocka_unit_test(test_hand_solved_game),
        cmocka_unit_test(test_greedy_never_beats_minimax),
        cmocka_unit_test(test_zero_sum),
        cmocka_unit_test(test_too_large_tree),
        cmocka_unit_test(test_bad_games),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
