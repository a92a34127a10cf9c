/* rt_debate: the debate object `%%debate NAME` defines (rt_debate.h): configuration
 * and validation, training of the judges and the learned debater, accuracies, the
 * debate reward feature `debate(NAME)` over a batch of states (threads split states
 * by index) and the metrics of runs using it.  Leaves out: the magic and its
 * printing (magics/), sampling the policies' actions (the caller passes actions;
 * rt_debate_policy_actions helps for greedy ones). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_nn.h"
#include "rt_debate_int.h"
#include "rt_text.h"

struct rt_debate {
    const rt_task *task;
    rt_debate_config cfg;
    rt_debate_judge *judge, *full;
    rt_debate_learner *learner;
    rt_debate_accuracy acc;
};

static const char *const kind_names[] = {"greedy", "minimax", "learned"};
static const char *const first_names[] = {"random", "policy", "baseline"};

const char *rt_debater_kind_name(rt_debater_kind k)
{
    return (unsigned)k <= RT_DEBATER_LEARNED ? kind_names[k] : "?";
}

int rt_debater_kind_parse(const char *s, rt_debater_kind *k)
{
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *k = (rt_debater_kind)i;
            return 0;
        }
    return RT_EINVAL;
}

const char *rt_debate_first_name(rt_debate_first f)
{
    return (unsigned)f <= RT_DEBATE_FIRST_BASELINE ? first_names[f] : "?";
}

int rt_debate_first_parse(const char *s, rt_debate_first *f)
{
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, first_names[i]) == 0) {
            *f = (rt_debate_first)i;
            return 0;
        }
    return RT_EINVAL;
}

void rt_debate_config_init(rt_debate_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->evidence = 4;
    cfg->debaters = RT_DEBATER_GREEDY;
    cfg->first = RT_DEBATE_FIRST_RANDOM;
    cfg->judge_hidden = 32;
    rt_debate_judge_train_init(&cfg->judge);
    cfg->learner_hidden = 64;
    rt_debate_learner_train_init(&cfg->learner);
    cfg->max_leaves = 1000000;
    cfg->accuracy_states = 1000;
    cfg->threads = 1;
}

int rt_debate_create(const rt_task *task, const rt_debate_config *cfg, const rt_rng *rng,
                     rt_debate **out, rt_diag *err)
{
    *out = NULL;
    if (err) memset(err, 0, sizeof *err);
    if (!task || !cfg || !rng) {
        rt_debate_set_err(err, RT_EINVAL, 0, "debate: missing task or configuration");
        return RT_EINVAL;
    }
    if (rt_task_kind_of(task) != &rt_task_kind_triage) {
        rt_debate_set_err(err, RT_EINVAL, 0, "debate needs a triage task (got %s)",
                          rt_task_kind_name(rt_task_kind_of(task)));
        return RT_EINVAL;
    }
    int K = (int)rt_task_value(task, "features");
    const char *bad = NULL;
    char msg[128];
    if (cfg->evidence < 1 || cfg->evidence > K) {
        snprintf(msg, sizeof msg, "evidence must be between 1 and %d (the task's features)", K);
        bad = msg;
    } else if ((unsigned)cfg->debaters > RT_DEBATER_LEARNED)
        bad = "debaters must be greedy, minimax or learned";
    else if ((unsigned)cfg->first > RT_DEBATE_FIRST_BASELINE)
        bad = "first must be random, policy or baseline";
    else if (cfg->judge.steps < 0 || cfg->judge.batch < 1 || !(cfg->judge.lr > 0) ||
             cfg->judge.log_every < 1)
        bad = "judge_steps must be >= 0 (batch >= 1, lr > 0)";
    else if (cfg->learner.steps < 0 || cfg->learner.batch < 1 || !(cfg->learner.lr > 0) ||
             cfg->learner.log_every < 1)
        bad = "debater_steps must be >= 0 (batch >= 1, lr > 0)";
    else if (cfg->judge_hidden < 1 || cfg->judge_hidden > 4096 || cfg->learner_hidden < 1 ||
             cfg->learner_hidden > 4096)
        bad = "hidden must be between 1 and 4096";
    else if (cfg->accuracy_states < 1)
        bad = "accuracy_states must be >= 1";
    else if (cfg->threads < 1 || cfg->threads > RT_NN_MAX_THREADS)
        bad = "threads must be between 1 and 16";
    else if (cfg->debaters == RT_DEBATER_MINIMAX) {
        long n = rt_debate_tree_leaves(K, cfg->evidence);
        long lim = cfg->max_leaves > 0 ? cfg->max_leaves : 1000000;
        if (n > lim) {
            snprintf(msg, sizeof msg,
                     "minimax: game tree of %ld leaves (K=%d features, evidence %d) exceeds "
                     "the limit of %ld",
                     n, K, cfg->evidence, lim);
            rt_debate_set_err(err, RT_ETOOBIG, 0, "%s", msg);
            return RT_ETOOBIG;
        }
    }
    if (bad) {
        rt_debate_set_err(err, RT_EINVAL, 0, "%s", bad);
        return RT_EINVAL;
    }
    rt_debate *d = rt_calloc(1, sizeof *d);
    if (!d) {
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    d->task = task;
    d->cfg = *cfg;
    d->acc.partial = d->acc.full = d->acc.partial_on_full = NAN;
    d->acc.partial_pair = d->acc.full_pair = d->acc.partial_on_full_pair = NAN;
    d->acc.chance = 1.0 / (int)rt_task_value(task, "actions");
    d->acc.chance_pair = 0.5;
    rt_rng r1 = rt_rng_split(rng, 1), r2 = rt_rng_split(rng, 2), r3 = rt_rng_split(rng, 3);
    int rc = rt_debate_judge_create(task, cfg->judge_hidden, &r1, &d->judge, err);
    if (!rc) rc = rt_debate_judge_create(task, cfg->judge_hidden, &r2, &d->full, err);
    if (!rc && cfg->debaters == RT_DEBATER_LEARNED)
        rc = rt_debate_learner_create(task, cfg->evidence, cfg->learner_hidden, &r3, &d->learner,
                                      err);
    if (rc) {
        rt_debate_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void rt_debate_free(rt_debate *d)
{
    if (!d) return;
    rt_debate_judge_free(d->judge);
    rt_debate_judge_free(d->full);
    rt_debate_learner_free(d->learner);
    rt_free(d);
}

const rt_debate_config *rt_debate_config_of(const rt_debate *d)
{
    return &d->cfg;
}
void rt_debate_set_threads(rt_debate *d, int threads)
{
    d->cfg.threads = threads < 1 ? 1 : threads > RT_NN_MAX_THREADS ? RT_NN_MAX_THREADS : threads;
}
const rt_task *rt_debate_task_of(const rt_debate *d)
{
    return d->task;
}

const rt_debate_judge *rt_debate_judge_of(const rt_debate *d)
{
    return d->judge;
}
const rt_debate_judge *rt_debate_full_judge_of(const rt_debate *d)
{
    return d->full;
}
const rt_debate_learner *rt_debate_learner_of(const rt_debate *d)
{
    return d->learner;
}
rt_debate_accuracy rt_debate_accuracy_of(const rt_debate *d)
{
    return d->acc;
}

int rt_debate_train(rt_debate *d, const rt_rng *rng, rt_run *judge_run, rt_run *full_run,
                    rt_run *learner_run, rt_diag *err)
{
    int K = d->judge->K;
    rt_rng r11 = rt_rng_split(rng, 11), r12 = rt_rng_split(rng, 12), r13 = rt_rng_split(rng, 13),
           r14 = rt_rng_split(rng, 14);
    int rc = rt_debate_judge_train(d->judge, d->cfg.evidence, &d->cfg.judge, &r11, judge_run, err);
    if (!rc) rc = rt_debate_judge_train(d->full, K, &d->cfg.judge, &r12, full_run, err);
    if (!rc && d->learner)
        rc = rt_debate_learner_train(d->learner, d->judge, &d->cfg.learner, &r13, learner_run, err);
    if (rc) return rc;
    int n = d->cfg.accuracy_states;
    rt_debate_judge_score sp, sf, spf; /* the same states (r14) for all three */
    rt_debate_judge_eval(d->judge, d->cfg.evidence, n, &r14, &sp, NULL, NULL);
    rt_debate_judge_eval(d->full, K, n, &r14, &sf, NULL, NULL);
    rt_debate_judge_eval(d->judge, K, n, &r14, &spf, NULL, NULL);
    d->acc.partial = sp.top1, d->acc.partial_pair = sp.pairwise;
    d->acc.full = sf.top1, d->acc.full_pair = sf.pairwise;
    d->acc.partial_on_full = spf.top1, d->acc.partial_on_full_pair = spf.pairwise;
    return 0;
}

int rt_debate_action_of(const rt_task *task, const int *answer, int n)
{
    int A = (int)rt_task_value(task, "actions");
    if (n < 1 || answer[0] < RT_TOK_LETTER0 || answer[0] >= RT_TOK_LETTER0 + A) return -1;
    return answer[0] - RT_TOK_LETTER0;
}

int rt_debate_policy_actions(const rt_task *task, const rt_model *p, rt_model_ws *ws,
                             const rt_task_sample *samples, int B, int *actions)
{
    if (!task || !p || !ws || !samples || !actions || B < 1) return RT_EINVAL;
    int P = rt_task_prompt_len(task);
    int *buf = rt_malloc(sizeof(int) * (size_t)B * (P + 1));
    if (!buf) return RT_ENOMEM;
    int *tok = buf + (size_t)B * P;
    for (int i = 0; i < B; i++)
        memcpy(buf + (size_t)i * P, samples[i].prompt, sizeof(int) * P);
    rt_rng r = rt_rng_make(0); /* greedy decoding draws nothing */
    int rc = rt_model_generate(p, ws, buf, B, P, 1, 0.0f, &r, 0, tok, NULL);
    if (rc == 0)
        for (int i = 0; i < B; i++)
            actions[i] = rt_debate_action_of(task, tok + i, 1);
    rt_free(buf);
    return rc ? RT_EINVAL : 0;
}

typedef struct rjob {
    const rt_debate *d;
    const rt_task_sample *samples;
    const int *a_pi, *a_b;
    int B;
    const rt_rng *stream;
    uint64_t seq0;
    double *out;
    rt_debate_transcript *tr;
    int err_i[RT_NN_MAX_THREADS]; /* first failing state of each part, B if none */
    rt_diag err[RT_NN_MAX_THREADS];
} rjob;

/* out[i] for one state; 0 or the error of rt_debate_play */
static int reward_one(const rjob *jb, int i, rt_diag *err)
{
    const rt_debate *d = jb->d;
    int ap = jb->a_pi[i], ab = jb->a_b[i], A = d->judge->A;
    if (jb->tr) memset(&jb->tr[i], 0, sizeof jb->tr[i]);
    if (ap < 0 || ap >= A) {
        jb->out[i] = 0.0;
        return 0;
    }
    if (ab < 0 || ab >= A) {
        jb->out[i] = 1.0;
        return 0;
    }
    if (ap == ab) {
        jb->out[i] = 0.5;
        return 0;
    }
    int first = 0;
    if (d->cfg.first == RT_DEBATE_FIRST_RANDOM) {
        rt_rng r = rt_rng_split(jb->stream, jb->seq0 + (uint64_t)i);
        first = rt_rng_below(&r, 2) == 0 ? 0 : 1;
    } else if (d->cfg.first == RT_DEBATE_FIRST_BASELINE) {
        first = 1;
    }
    int v[RT_DEBATE_MAX_K];
    rt_task_triage_state(d->task, &jb->samples[i], v);
    rt_debate_game g;
    rt_debate_judge_ctx ctx;
    rt_debate_game_init(&g, &ctx, d->judge, v, ap, ab, first, d->cfg.evidence);
    g.learner = d->learner;
    g.max_leaves = d->cfg.max_leaves;
    int o = 0;
    int rc =
        rt_debate_play(&g, d->cfg.debaters, d->cfg.debaters, jb->tr ? &jb->tr[i] : NULL, &o, err);
    jb->out[i] = o > 0 ? 1.0 : 0.0;
    return rc;
}

static void reward_part(void *arg, int j, int nth)
{
    rjob *jb = arg;
    int i0 = (int)((long)jb->B * j / nth), i1 = (int)((long)jb->B * (j + 1) / nth);
    jb->err_i[j] = jb->B;
    for (int i = i0; i < i1; i++)
        if (reward_one(jb, i, &jb->err[j]) != 0 && jb->err_i[j] == jb->B) jb->err_i[j] = i;
}

static int clamp_threads(int threads)
{
    return threads < 1 ? 1 : threads > RT_NN_MAX_THREADS ? RT_NN_MAX_THREADS : threads;
}

/* rt_debate_reward_batch with `threads` threads */
static int reward_batch(const rt_debate *d, int threads, const rt_task_sample *samples,
                        const int *a_pi, const int *a_b, int B, const rt_rng *stream, uint64_t seq0,
                        double *out, rt_debate_transcript *tr, rt_diag *err)
{
    if (!d || !samples || !a_pi || !a_b || B < 0 || !stream || !out) {
        rt_debate_set_err(err, RT_EINVAL, 0, "debate reward: bad arguments");
        return RT_EINVAL;
    }
    if (B == 0) return 0;
    rjob jb;
    memset(&jb, 0, sizeof jb);
    jb.d = d, jb.samples = samples, jb.a_pi = a_pi, jb.a_b = a_b, jb.B = B;
    jb.stream = stream, jb.seq0 = seq0, jb.out = out, jb.tr = tr;
    int nth = threads < B ? threads : B;
    if (nth <= 1)
        reward_part(&jb, 0, 1);
    else
        rt_nn_parallel(nth, reward_part, &jb);
    int bj = -1;
    for (int j = 0; j < (nth < 1 ? 1 : nth); j++)
        if (jb.err_i[j] < B && (bj < 0 || jb.err_i[j] < jb.err_i[bj])) bj = j;
    if (bj >= 0) {
        if (err) *err = jb.err[bj];
        return jb.err[bj].code ? jb.err[bj].code : RT_EINVAL;
    }
    return 0;
}

int rt_debate_reward_batch(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                           const int *a_b, int B, const rt_rng *stream, uint64_t seq0, double *out,
                           rt_debate_transcript *tr, rt_diag *err)
{
    return reward_batch(d, d ? d->cfg.threads : 1, samples, a_pi, a_b, B, stream, seq0, out, tr,
                        err);
}

int rt_debate_full_reward_batch(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                                const int *a_b, int B, double *out)
{
    if (!d || !samples || !a_pi || !a_b || B < 0 || !out) return RT_EINVAL;
    int A = d->full->A, K = d->full->K;
    for (int i = 0; i < B; i++) {
        int ap = a_pi[i], ab = a_b[i];
        if (ap < 0 || ap >= A)
            out[i] = 0.0;
        else if (ab < 0 || ab >= A)
            out[i] = 1.0;
        else if (ap == ab)
            out[i] = 0.5;
        else {
            int v[RT_DEBATE_MAX_K];
            float sc[RT_DEBATE_MAX_A];
            rt_task_triage_state(d->task, &samples[i], v);
            rt_debate_judge_scores(d->full, v, (1u << K) - 1u, sc);
            out[i] = sc[ap] > sc[ab] ? 1.0 : 0.0;
        }
    }
    return 0;
}

int rt_debate_eval(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                   const int *a_b, int B, const rt_rng *stream, uint64_t seq0, double *out,
                   rt_debate_metrics *m, rt_diag *err)
{
    return rt_debate_eval_threads(d, d ? d->cfg.threads : 1, samples, a_pi, a_b, B, stream, seq0,
                                  out, m, err);
}

int rt_debate_eval_threads(const rt_debate *d, int threads, const rt_task_sample *samples,
                           const int *a_pi, const int *a_b, int B, const rt_rng *stream,
                           uint64_t seq0, double *out, rt_debate_metrics *m, rt_diag *err)
{
    if (!d || !m || B < 1) {
        rt_debate_set_err(err, RT_EINVAL, 0, "debate metrics: bad arguments");
        return RT_EINVAL;
    }
    double *o = out ? out : rt_malloc(sizeof(double) * (size_t)B);
    if (!o) {
        rt_debate_set_err(err, RT_ENOMEM, 0, "out of memory");
        return RT_ENOMEM;
    }
    int rc =
        reward_batch(d, clamp_threads(threads), samples, a_pi, a_b, B, stream, seq0, o, NULL, err);
    if (rc == 0) {
        int A = d->judge->A, K = d->judge->K, nd = 0;
        double ret = 0, win = 0, winf = 0;
        for (int i = 0; i < B; i++) {
            int ap = a_pi[i], ab = a_b[i];
            ret += ap >= 0 && ap < A ? rt_task_triage_reward(d->task, &samples[i], ap) : 0.0;
            if (ap < 0 || ap >= A || ab < 0 || ab >= A || ap == ab) continue;
            nd++;
            win += o[i];
            int v[RT_DEBATE_MAX_K];
            float sc[RT_DEBATE_MAX_A];
            rt_task_triage_state(d->task, &samples[i], v);
            rt_debate_judge_scores(d->full, v, (1u << K) - 1u, sc);
            winf += sc[ap] > sc[ab];
        }
        m->n = B, m->n_differ = nd;
        m->ret = ret / B;
        m->differ = (double)nd / B;
        m->judge_win = nd ? win / nd : NAN;
        m->judge_win_full = nd ? winf / nd : NAN;
    }
    if (!out) rt_free(o);
    return rc;
}

static char act_letter(int a)
{
    return a >= 0 && a < 26 ? (char)('a' + a) : '?';
}

size_t rt_debate_transcript_text(const rt_task *task, const rt_task_sample *s, int a_pi, int a_b,
                                 const rt_debate_transcript *tr, char *buf, size_t cap)
{
    rt_strbuf b; /* fixed over buf: snprintf semantics, b.want is the length wanted */
    rt_strbuf_init_fixed(&b, buf, buf ? cap : 0);
    char prompt[64];
    rt_task_render_with(task, s->prompt, rt_task_prompt_len(task), prompt, sizeof prompt);
    int K = (int)rt_task_value(task, "features"), A = (int)rt_task_value(task, "actions");
    rt_strbuf_printf(&b, "state %s (f1..f%d)  policy %c  vs  baseline %c\n", prompt, K,
                     act_letter(a_pi), act_letter(a_b));
    if (a_pi < 0 || a_pi >= A) {
        rt_strbuf_printf(&b, "verdict: policy action invalid: debate = 0\n");
        return b.want;
    }
    if (a_b < 0 || a_b >= A) {
        rt_strbuf_printf(&b, "verdict: baseline action invalid: debate = 1\n");
        return b.want;
    }
    if (a_pi == a_b || !tr || tr->n == 0) {
        rt_strbuf_printf(&b, "verdict: equal actions: debate = 0.5\n");
        return b.want;
    }
    rt_strbuf_printf(&b, "turn  by        reveals  J(%c)     J(%c)\n", act_letter(a_pi),
                     act_letter(a_b));
    rt_strbuf_printf(&b, "0     -         -        %7.3f  %7.3f\n", tr->s1_empty, tr->s2_empty);
    for (int t = 0; t < tr->n; t++)
        rt_strbuf_printf(&b, "%-4d  %-8s  f%d=%d     %7.3f  %7.3f\n", t + 1,
                         tr->by[t] ? "baseline" : "policy", tr->feature[t] + 1, tr->value[t],
                         tr->s1[t], tr->s2[t]);
    if (tr->outcome > 0)
        rt_strbuf_printf(&b, "verdict: the judge prefers the policy (%c): debate = 1\n",
                         act_letter(a_pi));
    else if (tr->outcome < 0)
        rt_strbuf_printf(&b, "verdict: the judge prefers the baseline (%c): debate = 0\n",
                         act_letter(a_b));
    else
        rt_strbuf_printf(&b, "verdict: equal scores (draw): debate = 0\n");
    return b.want;
}
