/* rt_debate_game: the two-player debate game (rt_debate.h): greedy, exact minimax and
 * learned debaters, transcripts, the minimax value.  Judge scores are cached per
 * revealed set (at most 2^K), so the minimax tree (K!/(K-L)! leaves, checked against
 * max_leaves before the search) costs lookups after the first visit of each set.
 * Leaves out: mixed strategies, transposition tables (the tree is searched as a tree,
 * as the game is defined), debaters that may pass or lie. */
#include <string.h>

#include "rt_debate_int.h"

typedef struct gstate {
    const rt_debate_game *g;
    float s1[1u << RT_DEBATE_MAX_K], s2[1u << RT_DEBATE_MAX_K];
    unsigned char have[1u << RT_DEBATE_MAX_K];
} gstate;

static void scores(gstate *st, unsigned S, float *s1, float *s2)
{
    if (!st->have[S]) {
        st->g->score(st->g->user, S, &st->s1[S], &st->s2[S]);
        st->have[S] = 1;
    }
    *s1 = st->s1[S], *s2 = st->s2[S];
}

static float margin(gstate *st, unsigned S)
{
    float a, b;
    scores(st, S, &a, &b);
    return a - b;
}

static int outcome_of(gstate *st, unsigned S)
{
    float a, b;
    scores(st, S, &a, &b);
    return a > b ? 1 : a < b ? -1 : 0;
}

long rt_debate_tree_leaves(int K, int L)
{
    if (K < 0 || L < 0 || L > K) return 0;
    long n = 1;
    for (int i = 0; i < L; i++)
        n *= K - i;
    return n;
}

/* The value for debater 1 of the subgame at revealed set S after t turns. */
static int minimax(gstate *st, unsigned S, int t)
{
    const rt_debate_game *g = st->g;
    if (t == g->L) return outcome_of(st, S);
    int mover = (g->first + t) & 1;
    int best = mover == 0 ? -2 : 2;
    for (int k = 0; k < g->K; k++) {
        if (S >> k & 1u) continue;
        int v = minimax(st, S | 1u << k, t + 1);
        if (mover == 0 ? v > best : v < best) best = v;
        if (best == (mover == 0 ? 1 : -1)) break; /* nothing better exists */
    }
    return best;
}

static int greedy_move(gstate *st, unsigned S, int mover)
{
    int best = -1;
    float bm = 0;
    for (int k = 0; k < st->g->K; k++) {
        if (S >> k & 1u) continue;
        float m = margin(st, S | 1u << k);
        if (mover) m = -m;
        if (best < 0 || m > bm) best = k, bm = m;
    }
    return best;
}

static int minimax_move(gstate *st, unsigned S, int t, int mover)
{
    int best = -1, bv = 0;
    float bm = 0;
    for (int k = 0; k < st->g->K; k++) {
        if (S >> k & 1u) continue;
        int v = minimax(st, S | 1u << k, t + 1);
        if (mover) v = -v;
        float m = margin(st, S | 1u << k);
        if (mover) m = -m;
        if (best < 0 || v > bv || (v == bv && m > bm)) best = k, bv = v, bm = m;
    }
    return best;
}

static int check(const rt_debate_game *g, int need_learner, int need_minimax, rt_diag *err)
{
    if (!g || g->K < 1 || g->K > RT_DEBATE_MAX_K || g->L < 1 || g->L > g->K || !g->score ||
        (g->first != 0 && g->first != 1)) {
        rt_debate_set_err(err, RT_EINVAL, 0,
                          "debate game: need 1 <= evidence <= features <= %d, first 0 or 1 "
                          "and a scorer",
                          RT_DEBATE_MAX_K);
        return RT_EINVAL;
    }
    if (need_learner && (!g->learner || g->learner->K != g->K)) {
        rt_debate_set_err(err, RT_EINVAL, 0,
                          "debate game: a learned debater needs a trained learner of this task");
        return RT_EINVAL;
    }
    if (need_minimax) {
        long lim = g->max_leaves > 0 ? g->max_leaves : 1000000;
        long n = rt_debate_tree_leaves(g->K, g->L);
        if (n > lim) {
            rt_debate_set_err(err, RT_ETOOBIG, 0,
                              "minimax: game tree of %ld leaves (K=%d features, evidence %d) "
                              "exceeds the limit of %ld",
                              n, g->K, g->L, lim);
            return RT_ETOOBIG;
        }
    }
    return 0;
}

int rt_debate_minimax_value(const rt_debate_game *g, int *value, rt_diag *err)
{
    int rc = check(g, 0, 1, err);
    if (rc) return rc;
    gstate st;
    st.g = g;
    memset(st.have, 0, sizeof(unsigned char) << g->K);
    *value = minimax(&st, 0, 0);
    return 0;
}

int rt_debate_play(const rt_debate_game *g, rt_debater_kind k1, rt_debater_kind k2,
                   rt_debate_transcript *tr, int *outcome, rt_diag *err)
{
    if ((unsigned)k1 > RT_DEBATER_LEARNED || (unsigned)k2 > RT_DEBATER_LEARNED) {
        rt_debate_set_err(err, RT_EINVAL, 0, "debate game: unknown debater kind");
        return RT_EINVAL;
    }
    int rc = check(g, k1 == RT_DEBATER_LEARNED || k2 == RT_DEBATER_LEARNED,
                   k1 == RT_DEBATER_MINIMAX || k2 == RT_DEBATER_MINIMAX, err);
    if (rc) return rc;
    gstate st;
    st.g = g;
    memset(st.have, 0, sizeof(unsigned char) << g->K);
    unsigned S = 0;
    if (tr) {
        memset(tr, 0, sizeof *tr);
        scores(&st, 0, &tr->s1_empty, &tr->s2_empty);
    }
    for (int t = 0; t < g->L; t++) {
        int mover = (g->first + t) & 1;
        rt_debater_kind kind = mover ? k2 : k1;
        int f;
        if (kind == RT_DEBATER_GREEDY)
            f = greedy_move(&st, S, mover);
        else if (kind == RT_DEBATER_MINIMAX)
            f = minimax_move(&st, S, t, mover);
        else
            f = rt_debate_learner_move(g->learner, g->values, S, mover ? g->a2 : g->a1,
                                       mover ? g->a1 : g->a2);
        S |= 1u << f;
        if (tr) {
            tr->feature[t] = f;
            tr->value[t] = g->values[f];
            tr->by[t] = mover;
            scores(&st, S, &tr->s1[t], &tr->s2[t]);
            tr->n = t + 1;
        }
    }
    int o = outcome_of(&st, S);
    if (tr) tr->revealed = S, tr->outcome = o;
    if (outcome) *outcome = o;
    return 0;
}

static void judge_score(void *user, unsigned revealed, float *s1, float *s2)
{
    const rt_debate_judge_ctx *c = user;
    float sc[RT_DEBATE_MAX_A];
    rt_debate_judge_scores(c->judge, c->values, revealed, sc);
    *s1 = sc[c->a1], *s2 = sc[c->a2];
}

void rt_debate_game_init(rt_debate_game *g, rt_debate_judge_ctx *ctx, const rt_debate_judge *j,
                         const int *values, int a1, int a2, int first, int L)
{
    memset(g, 0, sizeof *g);
    memset(ctx, 0, sizeof *ctx);
    ctx->judge = j;
    ctx->a1 = a1, ctx->a2 = a2;
    memcpy(ctx->values, values, sizeof(int) * (size_t)j->K);
    g->K = j->K, g->L = L;
    memcpy(g->values, values, sizeof(int) * (size_t)j->K);
    g->a1 = a1, g->a2 = a2, g->first = first;
    g->score = judge_score;
    g->user = ctx;
}
