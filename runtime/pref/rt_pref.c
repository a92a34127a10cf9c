/* rt_pref.c: the preference set, its simulation from a policy and a labeler reward
 * (Bradley–Terry labels, label noise, the tie rule) and its statistics (rt_pref.h).
 * Leaves out: JSONL (rt_pref_jsonl.c). */
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_math.h"
#include "rt_pref.h"
#include "rt_pref_loss.h"
#include "rt_score.h"

enum { CHUNK = 32 }; /* prompts generated per model call */

void rt_pref_sim_defaults(rt_pref_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->pairs = 1000;
    cfg->heldout = 250;
    cfg->per_prompt = 2;
    cfg->temperature = 1.0f;
    cfg->label_temperature = 0.0;
    cfg->flip = 0.0;
    cfg->ties = RT_PREF_TIES_COIN;
    cfg->threads = 1;
}

int rt_pref_label(double ra, double rb, double label_temperature, double flip, rt_rng *rng,
                  int *tie, int *flipped)
{
    double u = rt_rng_uniform_d(rng), v = rt_rng_uniform_d(rng);
    int a, t = ra == rb;
    if (t)
        a = u < 0.5;
    else if (label_temperature == 0)
        a = ra > rb;
    else
        a = u < rt_pref_sigmoid((ra - rb) / label_temperature);
    int f = v < flip;
    if (f) a = !a;
    if (tie) *tie = t;
    if (flipped) *flipped = f;
    return a;
}

void rt_pref_free(rt_pref_set *s)
{
    if (!s) return;
    rt_free(s->pairs);
    rt_free(s);
}

int rt_pref_count(const rt_pref_set *s, rt_task_split split)
{
    return split == RT_TASK_TRAIN ? s->n_train : s->n - s->n_train;
}

const rt_pref_pair *rt_pref_at(const rt_pref_set *s, rt_task_split split, int i)
{
    if (i < 0 || i >= rt_pref_count(s, split)) return NULL;
    return &s->pairs[(split == RT_TASK_TRAIN ? 0 : s->n_train) + i];
}

void rt_pref_stats_of(const rt_pref_set *s, rt_pref_stats *st)
{
    memset(st, 0, sizeof *st);
    int scored[2] = {1, 1};
    for (int i = 0; i < s->n; i++) {
        const rt_pref_pair *p = &s->pairs[i];
        int k = i < s->n_train ? 0 : 1;
        st->pairs[k]++;
        if (isnan(p->r_chosen) || isnan(p->r_rejected)) {
            scored[k] = 0;
            continue;
        }
        if (p->r_chosen == p->r_rejected)
            st->ties[k]++;
        else if (p->r_chosen > p->r_rejected)
            st->agree[k]++;
        st->flipped[k] += p->flipped != 0;
    }
    for (int k = 0; k < 2; k++) {
        int nt = st->pairs[k] - st->ties[k];
        st->agreement[k] = scored[k] && nt > 0 ? (double)st->agree[k] / nt : NAN;
        st->flip_rate[k] =
            s->simulated && st->pairs[k] > 0 ? (double)st->flipped[k] / st->pairs[k] : NAN;
    }
}

int rt_pref_sequence(const rt_pref_pair *p, int which, int P, int T, int *seq)
{
    const int *a = which ? p->rejected : p->chosen;
    int n = which ? p->n_rejected : p->n_chosen;
    memcpy(seq, p->prompt.prompt, sizeof(int) * (size_t)P);
    for (int t = 0; t < T; t++)
        seq[P + t] = t < n ? a[t] : RT_TOK_PAD;
    return n;
}

int rt_pref_sampler_init(rt_pref_sampler *s, const rt_pref_set *set, rt_task_split split,
                         const rt_rng *stream, rt_diag *d)
{
    memset(s, 0, sizeof *s);
    s->n = rt_pref_count(set, split);
    s->epoch = -1;
    s->rng = *stream;
    if (s->n <= 0)
        return rt_diag_set(d, RT_EINVAL, "the preference set has no %s pairs",
                           split == RT_TASK_TRAIN ? "train" : "held-out");
    s->perm = rt_malloc(sizeof(int) * (size_t)s->n);
    if (!s->perm) return rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
    return 0;
}

void rt_pref_sampler_next(rt_pref_sampler *s, long step, int B, int *idx)
{
    for (int b = 0; b < B; b++) {
        long k = step * (long)B + b, e = k / s->n;
        if (e != s->epoch) {
            for (int i = 0; i < s->n; i++)
                s->perm[i] = i;
            rt_rng r = rt_rng_split(&s->rng, (uint64_t)e);
            rt_rng_shuffle(&r, s->perm, s->n);
            s->epoch = e;
        }
        idx[b] = s->perm[k % s->n];
    }
}

void rt_pref_sampler_free(rt_pref_sampler *s)
{
    rt_free(s->perm);
    s->perm = NULL;
}

/* the answer g[0..T) as the features read it: through the first EOS */
static int answer_len(const int *g, int T)
{
    for (int t = 0; t < T; t++)
        if (g[t] == RT_TOK_EOS) return t + 1;
    return T;
}

static int check_config(const rt_pref_sim_config *c, rt_diag *d)
{
    if (c->pairs < 1 || c->pairs > RT_PREF_MAX_PAIRS)
        return rt_diag_key(d, RT_EINVAL, "pairs", "pairs must be between 1 and %d",
                           RT_PREF_MAX_PAIRS);
    if (c->heldout < 0 || c->heldout > RT_PREF_MAX_PAIRS)
        return rt_diag_key(d, RT_EINVAL, "heldout", "heldout must be between 0 and %d",
                           RT_PREF_MAX_PAIRS);
    if (c->per_prompt < 2 || c->per_prompt > RT_PREF_MAX_PER_PROMPT)
        return rt_diag_key(d, RT_EINVAL, "per_prompt", "per_prompt must be between 2 and %d",
                           RT_PREF_MAX_PER_PROMPT);
    if (!(c->temperature > 0) || !isfinite(c->temperature))
        return rt_diag_key(d, RT_EINVAL, "temperature", "temperature must be > 0");
    if (!(c->label_temperature >= 0) || !isfinite(c->label_temperature))
        return rt_diag_key(d, RT_EINVAL, "label_temperature",
                           "label_temperature must be >= 0 (0: deterministic)");
    if (!(c->flip >= 0 && c->flip <= 1))
        return rt_diag_key(d, RT_EINVAL, "flip", "flip must be between 0 and 1");
    if (c->ties != RT_PREF_TIES_COIN && c->ties != RT_PREF_TIES_DROP)
        return rt_diag_key(d, RT_EINVAL, "ties", "ties must be coin or drop");
    return 0;
}

typedef struct sim {
    const rt_model *m;
    const rt_task *task;
    const rt_reward_program *labeler;
    const double *params;
    const rt_pref_sim_config *cfg;
    rt_model_ws *ws;
    int P, T, K, C, nf;
    rt_task_sample samples[CHUNK];
    int prompts[CHUNK * RT_PREF_MAX_PER_PROMPT * RT_TASK_MAX_P];
    int tokens[CHUNK * RT_PREF_MAX_PER_PROMPT * RT_TASK_MAX_T];
    double reward[CHUNK * RT_PREF_MAX_PER_PROMPT];
} sim;

/* appends `need` pairs of one split to set (stream S_s) */
static int sim_split(sim *w, rt_task_split split, int need, const rt_rng *S, rt_pref_set *set,
                     rt_diag *d)
{
    rt_rng Ss = rt_rng_split(S, (uint64_t)split + 1);
    rt_rng Sp = rt_rng_split(&Ss, 1), Sg = rt_rng_split(&Ss, 2), Sl = rt_rng_split(&Ss, 3);
    int K = w->K, C = w->C, P = w->P, T = w->T, got = 0;
    long max_prompts = (long)need * RT_PREF_MAX_PROMPTS_PER_PAIR;
    for (long j = 0; got < need;) {
        if (w->cfg->stop && w->cfg->stop(w->cfg->stop_arg))
            return rt_diag_set(d, RT_EINTR, "interrupted after %d of %d %s pairs", got, need,
                               split == RT_TASK_TRAIN ? "train" : "held-out");
        if (j >= max_prompts)
            return rt_diag_key(d, RT_ELIMIT, "ties",
                               "ties = drop: only %d of %d %s pairs after %ld prompts (every "
                               "other pair was a tie of the labeler)",
                               got, need, split == RT_TASK_TRAIN ? "train" : "held-out", j);
        long nb = (need - got + C - 1) / C;
        if (nb > CHUNK) nb = CHUNK;
        if (nb > max_prompts - j) nb = max_prompts - j;
        rt_task_sample_batch(w->task, &Sp, (uint64_t)j, split, (int)nb, w->samples, NULL);
        for (int q = 0; q < nb; q++)
            for (int k = 0; k < K; k++)
                memcpy(w->prompts + ((size_t)q * K + k) * P, w->samples[q].prompt,
                       sizeof(int) * (size_t)P);
        int B = (int)nb * K;
        int rc = rt_model_generate(w->m, w->ws, w->prompts, B, P, T, w->cfg->temperature, &Sg,
                                   (uint64_t)j * K, w->tokens, NULL);
        if (rc) return rt_diag_set(d, RT_EMODEL, "preferences: sampling failed (code %d)", rc);
        for (int b = 0; b < B; b++) {
            double feat[RT_TASK_MAX_FEATURES] = {0};
            const int *g = w->tokens + (size_t)b * T;
            rt_task_features(w->task, &w->samples[b / K], g, answer_len(g, T), feat);
            w->reward[b] = rt_score_one(w->task, w->labeler, w->params, &w->samples[b / K], g,
                                        answer_len(g, T), feat);
        }
        for (int q = 0; q < nb && got < need; q++) {
            int p = 0;
            for (int i = 0; i < K && got < need; i++)
                for (int k = i + 1; k < K && got < need; k++, p++) {
                    rt_rng r = rt_rng_split(&Sl, (uint64_t)(j + q) * C + p);
                    int a = q * K + i, bb = q * K + k, tie, fl;
                    int aw = rt_pref_label(w->reward[a], w->reward[bb], w->cfg->label_temperature,
                                           w->cfg->flip, &r, &tie, &fl);
                    if (tie && w->cfg->ties == RT_PREF_TIES_DROP) continue;
                    int c = aw ? a : bb, x = aw ? bb : a;
                    rt_pref_pair *pp = &set->pairs[set->n++];
                    memset(pp, 0, sizeof *pp);
                    pp->prompt = w->samples[q];
                    pp->split = split;
                    pp->n_chosen = answer_len(w->tokens + (size_t)c * T, T);
                    pp->n_rejected = answer_len(w->tokens + (size_t)x * T, T);
                    memcpy(pp->chosen, w->tokens + (size_t)c * T, sizeof(int) * pp->n_chosen);
                    memcpy(pp->rejected, w->tokens + (size_t)x * T, sizeof(int) * pp->n_rejected);
                    pp->margin = NAN;
                    pp->r_chosen = w->reward[c];
                    pp->r_rejected = w->reward[x];
                    pp->tie = tie;
                    pp->flipped = fl;
                    got++;
                }
        }
        j += nb;
    }
    return 0;
}

int rt_pref_simulate(const rt_model *m, const rt_task *task, const rt_reward_program *labeler,
                     const double *params, const rt_pref_sim_config *cfg, const rt_rng *stream,
                     rt_pref_set **out, rt_diag *d)
{
    *out = NULL;
    int rc = check_config(cfg, d);
    if (rc) return rc;
    if (m->vocab != rt_task_vocab_size(task))
        return rt_diag_set(
            d, RT_EINVAL, "the policy's vocabulary (%d tokens) is not task %s's (%d tokens)",
            m->vocab, rt_task_kind_name(rt_task_kind_of(task)), rt_task_vocab_size(task));
    if (rt_reward_min_slots(labeler) > rt_task_n_features(task))
        return rt_diag_set(d, RT_EINVAL,
                           "the labeler reads %d feature slots; task %s has %d features "
                           "(link it to the task first)",
                           rt_reward_min_slots(labeler), rt_task_kind_name(rt_task_kind_of(task)),
                           rt_task_n_features(task));
    sim *w = rt_calloc(1, sizeof *w);
    rt_pref_set *set = rt_calloc(1, sizeof *set);
    if (set)
        set->pairs = rt_calloc((size_t)cfg->pairs + (size_t)cfg->heldout, sizeof(rt_pref_pair));
    if (!w || !set || !set->pairs) {
        rc = rt_diag_set(d, RT_ENOMEM, "preferences: out of memory");
        goto done;
    }
    w->m = m;
    w->task = task;
    w->labeler = labeler;
    w->params = params;
    w->cfg = cfg;
    w->K = cfg->per_prompt;
    w->C = w->K * (w->K - 1) / 2;
    w->P = rt_task_prompt_len(task);
    w->T = rt_task_answer_max(task);
    if ((rc = rt_model_ws_create(&w->ws, m, CHUNK * w->K, d))) goto done;
    rt_model_ws_set_threads(w->ws, cfg->threads > 0 ? cfg->threads : 1);
    set->simulated = 1;
    if ((rc = sim_split(w, RT_TASK_TRAIN, cfg->pairs, stream, set, d))) goto done;
    set->n_train = set->n;
    if (cfg->heldout > 0 && (rc = sim_split(w, RT_TASK_HELDOUT, cfg->heldout, stream, set, d)))
        goto done;
done:
    if (w) rt_model_ws_free(w->ws);
    rt_free(w);
    if (rc)
        rt_pref_free(set);
    else
        *out = set;
    return rc;
}
