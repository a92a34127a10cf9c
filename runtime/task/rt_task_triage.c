/* rt_task_triage.c: the triage kind's record (keys, encoding, the hidden rule, the
 * demonstrator, its two extra features) and the triage API of rt_task.h (states, good
 * actions, evidence for judges).  Contract in rt_task.h.  Leaves out everything
 * generic (rt_task.c). */
#include "rt_task_internal.h"

#include <stdio.h>

enum { K_FEATURES, K_VALUES, K_ACTIONS, K_GOOD, K_CONFLICT, K_BIAS };

static const rt_task_key triage_keys[] = {
    {.name = "features",
     .type = RT_TASK_KEY_INT,
     .min = 1,
     .max = 8,
     .def = 4,
     .help = "number of features K"},
    {.name = "values",
     .type = RT_TASK_KEY_INT,
     .min = 2,
     .max = 10,
     .def = 3,
     .help = "values per feature M"},
    {.name = "actions",
     .type = RT_TASK_KEY_INT,
     .min = 2,
     .max = 10,
     .def = 4,
     .help = "number of actions A"},
    {.name = "good",
     .type = RT_TASK_KEY_INT,
     .min = 1,
     .max = 9,
     .def = 2,
     .help = "equally good actions per state"},
    {.name = "conflict",
     .type = RT_TASK_KEY_NUMBER,
     .min = 0,
     .max = 1,
     .def = 0,
     .help = "fraction of states (by a hash: label noise) where the demonstrator prefers a "
             "bad action"},
    {.name = "bias",
     .type = RT_TASK_KEY_NUMBER,
     .flags = RT_TASK_KEY_QUIET,
     .min = 0,
     .max = 1,
     .def = 0,
     .help = "systematic bias: the demonstrator under-treats (one action below the good "
             "ones) the states whose feature 2 is in the top bias fraction of its values"},
};

static const char *const triage_features[] = {"correct", "partial", "length",    "format",
                                              "eos",     "outcome", "demo_agree"};

static int K_of(const double *v)
{
    return (int)v[K_FEATURES];
}

static void values_of(const double *v, uint64_t id, int *out)
{
    uint64_t M = (uint64_t)v[K_VALUES];
    for (int i = K_of(v) - 1; i >= 0; i--) {
        out[i] = (int)(id % M);
        id /= M;
    }
}

/* good actions of a state: G consecutive actions from a severity threshold */
static int good_of(const double *c, const int *v, int *good)
{
    int K = K_of(c), M = (int)c[K_VALUES], A = (int)c[K_ACTIONS], G = (int)c[K_GOOD];
    int s = 0, smax = 0;
    for (int k = 0; k < K; k++) {
        int w = 1 + k % 3;
        s += w * v[k];
        smax += w * (M - 1);
    }
    int start = s * (A - G + 1) / (smax + 1);
    for (int j = 0; j < G; j++)
        good[j] = start + j;
    return G;
}

static int conflicted(const double *c, uint64_t id)
{
    if (c[K_CONFLICT] <= 0) return 0;
    double u = (double)(rt_task_k_mix64(id * 0x2545f4914f6cdd1dULL ^ 0x7a3c) >> 11) * 0x1.0p-53;
    return u < c[K_CONFLICT];
}

/* the systematic bias: feature 2 (feature 1 when K = 1) in the top `bias` fraction of
 * its values, and a less severe action than the good ones exists */
static int biased(const double *c, const int *v, const int *good)
{
    if (c[K_BIAS] <= 0 || good[0] == 0) return 0;
    int M = (int)c[K_VALUES], f = K_of(c) > 1 ? 1 : 0;
    return (double)(M - v[f]) <= c[K_BIAS] * M;
}

static int demo_of(const double *c, uint64_t id, const int *v)
{
    int good[10];
    int g = good_of(c, v, good), A = (int)c[K_ACTIONS];
    int last = v[K_of(c) - 1];
    if (biased(c, v, good)) return good[0] - 1; /* under-treats */
    if (!conflicted(c, id)) return good[last % g];
    int bad[10], nb = 0;
    for (int a = 0; a < A; a++)
        if (a < good[0] || a > good[g - 1]) bad[nb++] = a;
    return bad[last % nb];
}

static int triage_check(const double *v, char *msg, size_t cap)
{
    int A = (int)v[K_ACTIONS], G = (int)v[K_GOOD];
    if (G >= 1 && G <= A - 1) return 0;
    snprintf(msg, cap, "good must be between 1 and %d (actions - 1)", A - 1);
    return 1;
}

static void triage_shape(const double *v, int *P, int *T, uint64_t *space)
{
    *P = K_of(v) + 2;
    *T = 2;
    uint64_t s = 1;
    for (int k = 0; k < K_of(v); k++)
        s *= (uint64_t)v[K_VALUES];
    *space = s;
}

static void triage_encode(const rt_task *t, uint64_t id, int *p)
{
    const double *c = rt_task_values(t);
    values_of(c, id, p);
    for (int k = 0; k < K_of(c); k++)
        p[k] += RT_TOK_DIGIT0;
    p[K_of(c)] = RT_TOK_EQ;
}

static int triage_decode(const rt_task *t, const int *p, int n, uint64_t *id)
{
    uint64_t x = 0, M = (uint64_t)rt_task_values(t)[K_VALUES];
    for (int i = 0; i < n - 1; i++) {
        if (p[i] < RT_TOK_DIGIT0 || p[i] >= RT_TOK_DIGIT0 + (int)M) return -1;
        x = x * M + (uint64_t)(p[i] - RT_TOK_DIGIT0);
    }
    if (p[n - 1] != RT_TOK_EQ) return -1;
    *id = x;
    return 0;
}

static int triage_target(const rt_task *t, uint64_t id, int *ans)
{
    const double *c = rt_task_values(t);
    int v[8];
    values_of(c, id, v);
    ans[0] = RT_TOK_LETTER0 + demo_of(c, id, v);
    ans[1] = RT_TOK_EOS;
    return 2;
}

/* the next action ((a+1) mod A) */
static int triage_corrupt(const rt_task *t, uint64_t id, int *ans)
{
    int n = triage_target(t, id, ans), A = (int)rt_task_values(t)[K_ACTIONS];
    ans[0] = RT_TOK_LETTER0 + (ans[0] - RT_TOK_LETTER0 + 1) % A;
    return n;
}

static int triage_answer(const rt_task *t, int tok)
{
    return tok >= RT_TOK_LETTER0 && tok < RT_TOK_LETTER0 + (int)rt_task_values(t)[K_ACTIONS];
}

/* correct: one well-formed good action; outcome, demo_agree */
static void triage_features_fn(const rt_task *t, uint64_t id, const int *g, int n, double *feat)
{
    (void)n;
    const double *c = rt_task_values(t);
    int len = (int)feat[2], fmt = feat[3] > 0, eos = feat[4] > 0;
    int body = eos ? len - 1 : len;
    int v[8], good[10];
    values_of(c, id, v);
    int ng = good_of(c, v, good);
    int act = len > 0 && triage_answer(t, g[0]) ? g[0] - RT_TOK_LETTER0 : -1;
    double outcome = act >= 0 && act >= good[0] && act <= good[ng - 1] ? 1.0 : 0.0;
    feat[0] = fmt && body == 1 && outcome > 0;
    feat[5] = outcome;
    feat[6] = act >= 0 && act == demo_of(c, id, v);
}

const rt_task_kind_ops rt_task_kind_triage = {
    .name = "triage",
    .tag = "<tri>",
    .help = "K feature values -> one of A actions (a hidden rule)",
    .keys = triage_keys,
    .n_keys = 6,
    .feature_names = triage_features,
    .n_features = 7,
    .check = triage_check,
    .shape = triage_shape,
    .encode = triage_encode,
    .decode = triage_decode,
    .target = triage_target,
    .corrupt = triage_corrupt,
    .answer_token = triage_answer,
    .features = triage_features_fn,
};

/* ---- the triage API (rt_task.h) ------------------------------------------------------ */

int rt_task_triage_state(const rt_task *t, const rt_task_sample *s, int *values)
{
    if (t->ops != &rt_task_kind_triage) return RT_EINVAL;
    values_of(rt_task_values(t), s->id, values);
    return K_of(rt_task_values(t));
}

int rt_task_triage_good(const rt_task *t, const rt_task_sample *s, int *actions)
{
    int v[8];
    if (rt_task_triage_state(t, s, v) < 0) return RT_EINVAL;
    return good_of(rt_task_values(t), v, actions);
}

int rt_task_triage_demo_action(const rt_task *t, const rt_task_sample *s)
{
    int v[8];
    if (rt_task_triage_state(t, s, v) < 0) return RT_EINVAL;
    return demo_of(rt_task_values(t), s->id, v);
}

double rt_task_triage_reward(const rt_task *t, const rt_task_sample *s, int action)
{
    int good[10];
    int n = rt_task_triage_good(t, s, good);
    return n > 0 && action >= good[0] && action <= good[n - 1] ? 1.0 : 0.0;
}

int rt_task_triage_conflicted(const rt_task *t, const rt_task_sample *s)
{
    if (t->ops != &rt_task_kind_triage) return RT_EINVAL;
    const double *c = rt_task_values(t);
    int v[8], good[10];
    values_of(c, s->id, v);
    good_of(c, v, good);
    return biased(c, v, good) || conflicted(c, s->id);
}

int rt_task_triage_evidence(const rt_task *t, const rt_task_sample *s, unsigned revealed,
                            int *prompt)
{
    if (t->ops != &rt_task_kind_triage) return RT_EINVAL;
    prompt[0] = rt_task_kind_tag(t->ops);
    triage_encode(t, s->id, prompt + 1);
    for (int k = 0; k < K_of(rt_task_values(t)); k++)
        if (!(revealed >> k & 1u)) prompt[1 + k] = RT_TOK_MASK;
    return 0;
}
