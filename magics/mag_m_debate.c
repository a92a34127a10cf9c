/* mag_m_debate: the %%debate NAME cell magic, the %debate NAME show line magic and the
 * session's debates by name for debate(NAME) in %%rl (mag_debate.h; the feature itself is
 * runtime/debate/rt_debate_reward.h) — methods.md §3, over runtime/debate/rt_debate.h.
 *
 * %%debate NAME (keys below) validates everything before training (unknown task or
 * baseline with did-you-mean, a task that is not triage, evidence above the task's
 * features, a minimax tree above 1e6 leaves, a baseline on another vocabulary), then
 * trains the judge, the full-state judge and, for debaters = learned, the debaters by
 * self-play — one job, three runs NAME.judge, NAME.full_judge, NAME.debaters shown
 * live through the bridge (panels loss, pairwise_acc, vs_greedy) — and prints two tables:
 * the judges' top-1 (chance 1/A) and pairwise (chance 1/2) accuracies on the same
 * held-out states (partial evidence, the same judge given every feature, the full-state
 * judge; chance levels in the headers) and the debaters (greedy,
 * minimax when its tree has at most 5000 leaves, learned when trained) on 256 held-out
 * games where one side defends the demonstrator's action and the other a random other
 * action (first mover alternating): how often the demonstrator's side wins with both
 * sides of that kind, the mean score against greedy, and how often the outcome equals
 * the minimax value.  The debate owns a copy of its task and of its baseline, so later
 * redefinitions change nothing.  Streams: R = rt_rng_from_name(session seed,
 * "debate:NAME") split by `seed`; creation split(R, 0), training split(R, 1), the
 * debaters table split(R, 2).
 *
 * %debate NAME show [n=3] [policy=P] [seed=S]: n debates on held-out states sampled from
 * rt_rng_from_name(session seed, "debate-show:NAME") (split by seed), each as the
 * reward plays it: "policy" = P's greedy action, or by default the strongest
 * challenger (the action other than the baseline's that the full-state judge scores
 * highest); "baseline" = the baseline's greedy action (the demonstrator's action when
 * the debate has no baseline).  HTML: one table per state (turn, who, reveals, J of
 * both actions) with the verdict; text: rt_debate_transcript_text.
 *
 * Sweeps: only seed = [s1, s2, ...]: one debate NAME[seed=s] per seed, each the debate a
 * cell with seed = s makes, with the baseline's point of that seed when baseline names a
 * sweep (pairing by key, mag_train.h); every point is checked before any is trained.
 * `%debate NAME eval` on such a sweep pairs each policy P[...,seed=s] with NAME[seed=s].
 *
 * Leaves out: sweeps of other %%debate keys, resuming training. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_debate.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_debate.h"
#include "rt_debate_keys.h"
#include "rt_policy.h"
#include "rt_task.h"

#define MINIMAX_TABLE_LEAVES 5000 /* minimax rows in the debaters table up to this tree */
#define TABLE_GAMES 256
#define SHOW_MAX 20
#define EVAL_MAX 100000
#define EVAL_POLICIES 64

/* ---- the session object --------------------------------------------------------- */

typedef struct mag_debate_obj {
    rt_task *task;       /* own copy of the task */
    rt_debate *d;        /* trained */
    rt_policy *baseline; /* own copy, or NULL */
    char task_name[128];
    char baseline_name[128];
    rt_debate_accuracy acc;
} mag_debate_obj;

static void obj_free(void *p)
{
    mag_debate_obj *o = p;
    if (!o) return;
    rt_debate_free(o->d);
    rt_policy_free(o->baseline);
    rt_task_free(o->task);
    rt_free(o);
}

/* ---- %%debate ------------------------------------------------------------------- */

static const mag_key_spec debate_keys[] = {
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .flags = MAG_K_REQUIRED,
     .help = "the triage task (its states are debated)"},
    RT_DEBATE_KEY_EVIDENCE,
    RT_DEBATE_KEY_DEBATERS,
    RT_DEBATE_KEY_JUDGE_STEPS,
    RT_DEBATE_KEY_HIDDEN,
    RT_DEBATE_KEY_DEBATER_STEPS,
    {.name = "baseline",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "the policy whose action the debate argues against (needed by debate(NAME))"},
    RT_DEBATE_KEY_FIRST,
    RT_DEBATE_KEY_MAX_LEAVES,
    {.name = "seed",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_SWEEP,
     .min = 0,
     .help = "extra seed; a list [1, 2, ...] makes NAME[seed=s] per seed (baseline paired)"},
};

static const mag_schema debate_schema = {
    .magic = "debate",
    .keys = debate_keys,
    .nkeys = sizeof debate_keys / sizeof debate_keys[0],
    .help = "defines a debate game on a triage task and trains its judge",
};

static mag_pos key_pos(const mag_cell *cell, const char *key)
{
    for (size_t i = 0; i < cell->nentries; i++)
        if (!strcmp(cell->entries[i].key, key)) return cell->entries[i].value.pos;
    return cell->name_pos;
}

typedef struct train_job {
    rt_debate *d;
    rt_rng rng;
    rt_run *jr, *fr, *lr;
    rt_diag err;
    int rc;
} train_job;

static int train_fn(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx; /* the bridge installed it on the runs */
    train_job *j = arg;
    j->rc = rt_debate_train(j->d, &j->rng, j->jr, j->fr, j->lr, &j->err);
    return j->rc;
}

static int idle_fn(void *arg, const rt_job_ctx *ctx)
{
    (void)arg, (void)ctx; /* its run is trained by train_fn */
    return 0;
}

/* One debaters-table row: kinds k (both sides) on TABLE_GAMES held-out games. */
typedef struct deb_row {
    double demo_wins, vs_greedy, minimax_agree; /* NaN when not computed */
} deb_row;

static int debaters_row(const mag_debate_obj *o, rt_debater_kind k, int with_minimax,
                        const rt_rng *rng, deb_row *row, rt_diag *err)
{
    const rt_debate_config *dc = rt_debate_config_of(o->d);
    int A = (int)rt_task_value(o->task, "actions"), L = dc->evidence;
    rt_task_sample s[TABLE_GAMES];
    rt_rng st = rt_rng_split(rng, 0);
    rt_task_sample_batch(o->task, &st, 0, RT_TASK_HELDOUT, TABLE_GAMES, s, NULL);
    long wins = 0, agree = 0;
    double score = 0.0;
    for (int i = 0; i < TABLE_GAMES; i++) {
        int values[RT_DEBATE_MAX_K];
        rt_task_triage_state(o->task, &s[i], values);
        int demo = rt_task_triage_demo_action(o->task, &s[i]);
        rt_rng r = rt_rng_split(rng, 1 + (uint64_t)i);
        int other = (int)rt_rng_below(&r, (uint64_t)(A - 1));
        if (other >= demo) other++;
        rt_debate_judge_ctx ctx;
        rt_debate_game g;
        rt_debate_game_init(&g, &ctx, rt_debate_judge_of(o->d), values, demo, other, i % 2, L);
        g.learner = rt_debate_learner_of(o->d);
        int out, rc = rt_debate_play(&g, k, k, NULL, &out, err);
        if (rc) return rc;
        wins += out > 0;
        if (with_minimax) {
            int v;
            if ((rc = rt_debate_minimax_value(&g, &v, err))) return rc;
            agree += v == out;
        }
        /* k against greedy on both sides of this state */
        int o1, o2;
        if ((rc = rt_debate_play(&g, k, RT_DEBATER_GREEDY, NULL, &o1, err))) return rc;
        if ((rc = rt_debate_play(&g, RT_DEBATER_GREEDY, k, NULL, &o2, err))) return rc;
        score += 0.5 * (o1 - o2);
    }
    row->demo_wins = (double)wins / TABLE_GAMES;
    row->vs_greedy = score / TABLE_GAMES;
    row->minimax_agree = with_minimax ? (double)agree / TABLE_GAMES : NAN;
    return 0;
}

static void show_tables(krn_out *out, const mag_debate_obj *o, const char *name, const rt_rng *rng)
{
    const rt_debate_config *dc = rt_debate_config_of(o->d);
    int K = (int)rt_task_value(o->task, "features");
    int A = (int)rt_task_value(o->task, "actions");
    char h_top[48], h_pair[48];
    snprintf(h_top, sizeof h_top, "top-1 acc (chance %.3g)", o->acc.chance);
    snprintf(h_pair, sizeof h_pair, "pairwise acc (chance %.3g)", o->acc.chance_pair);
    const char *hdr[] = {"judge", "evidence", h_top, h_pair};
    mag_table *t = mag_table_new(4, hdr);
    char ev[64], fk[32], a[3][2][32];
    snprintf(ev, sizeof ev, "%d of %d features", dc->evidence, K);
    snprintf(fk, sizeof fk, "all %d features", K);
    double v[3][2] = {{o->acc.partial, o->acc.partial_pair},
                      {o->acc.partial_on_full, o->acc.partial_on_full_pair},
                      {o->acc.full, o->acc.full_pair}};
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 2; c++)
            mag_fmt_num(v[i][c], 0, a[i][c], 32);
    const char *rows[3][4] = {{"judge", ev, a[0][0], a[0][1]},
                              {"judge", fk, a[1][0], a[1][1]},
                              {"full-state judge", fk, a[2][0], a[2][1]}};
    for (int i = 0; t && i < 3; i++)
        mag_table_row(t, rows[i]);
    char cap[600];
    snprintf(cap, sizeof cap,
             "%%%%debate %s: judge accuracy on %d held-out states, the same states and "
             "evidence in both columns; top-1: the demonstrator's action scored above every "
             "other (chance 1/A = 1/%d); pairwise: above one random other action (chance 1/2, "
             "the scale of the debaters' win rates and of judge_win / judge_win_full)",
             name, dc->accuracy_states, A);
    mag_show(out, t ? mag_table_bundle(t, cap) : NULL);
    mag_table_free(t);

    const char *h2[] = {"debaters", "demonstrator's side wins (chance 0.5)", "score vs greedy",
                        "= minimax value"};
    t = mag_table_new(4, h2);
    int mm = rt_debate_tree_leaves(K, dc->evidence) <= MINIMAX_TABLE_LEAVES;
    rt_debater_kind kinds[3] = {RT_DEBATER_GREEDY, RT_DEBATER_MINIMAX, RT_DEBATER_LEARNED};
    for (int i = 0; t && i < 3; i++) {
        if (kinds[i] == RT_DEBATER_MINIMAX && !mm && dc->debaters != RT_DEBATER_MINIMAX) continue;
        if (kinds[i] == RT_DEBATER_LEARNED && dc->debaters != RT_DEBATER_LEARNED) continue;
        deb_row r;
        rt_diag e;
        if (debaters_row(o, kinds[i], mm, rng, &r, &e)) {
            krn_out_printf(out, KRN_STDERR, "debaters table: %s\n", e.msg);
            continue;
        }
        char c[3][32], k[48];
        snprintf(k, sizeof k, "%s%s", rt_debater_kind_name(kinds[i]),
                 kinds[i] == dc->debaters ? " (used)" : "");
        mag_fmt_num(r.demo_wins, 0, c[0], 32);
        mag_fmt_num(r.vs_greedy, 0, c[1], 32);
        mag_fmt_num(r.minimax_agree, 1, c[2], 32);
        const char *row[4] = {k, c[0], c[1], c[2]};
        mag_table_row(t, row);
    }
    snprintf(cap, sizeof cap,
             "%%%%debate %s: debaters on %d held-out games (demonstrator's action vs a random "
             "other: a pairwise win rate, chance 0.5, comparable with the judges' pairwise "
             "accuracy; score in [-1, 1])",
             name, TABLE_GAMES);
    mag_show(out, t ? mag_table_bundle(t, cap) : NULL);
    mag_table_free(t);
}

/* The debate of sweep point pt, named `name` (NAME, or NAME[seed=s] over a seed sweep);
 * check_only: the references only (every point is checked before any is trained). */
static int debate_point(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg, size_t pt,
                        const char *name, int check_only, mag_diag *d)
{
    /* references and configuration first: nothing is built before they all resolve */
    const char *task_name = mag_config_get(cfg, "task", 0)->str;
    const rt_task *stask = mag_session_get(ctx->session, MAG_TASK, task_name);
    if (!stask) return mag_err_unknown(d, ctx, MAG_TASK, task_name, key_pos(cell, "task"));
    const rt_policy *sbase = NULL;
    const char *base_name = NULL;
    if (mag_train_given(cfg, "baseline")) {
        /* a baseline sweep (base[seed=s]) pairs with this point by key */
        mag_pos bp = key_pos(cell, "baseline");
        int prc = mag_train_policy_at(ctx, cfg, pt, mag_config_get(cfg, "baseline", 0)->str, bp,
                                      &sbase, &base_name, d);
        if (prc) return prc;
        int wrc = mag_train_need_weights(ctx, d, sbase, base_name, "baseline", bp);
        if (wrc) return wrc;
        const mag_entry *be = mag_session_entry(ctx->session, MAG_POLICY, base_name);
        const rt_task *bt =
            be && be->task ? mag_session_get(ctx->session, MAG_TASK, be->task) : NULL;
        if (bt && rt_task_kind_of(bt) != &rt_task_kind_triage)
            return mag_err(ctx, d, MAG_EVALUE, bp,
                           "baseline '%s' is a policy of task '%s' (kind %s), not of a triage task",
                           base_name, be->task, rt_task_kind_name(rt_task_kind_of(bt)));
        if (sbase->model.vocab != rt_task_vocab_size(stask))
            return mag_err(ctx, d, MAG_EVALUE, bp,
                           "baseline '%s' has a vocabulary of %d tokens, task '%s' %d", base_name,
                           sbase->model.vocab, task_name, rt_task_vocab_size(stask));
    }
    rt_debate_config dc;
    rt_debate_config_init(&dc);
    dc.evidence = (int)mag_value_number(mag_config_get(cfg, "evidence", 0), 4);
    rt_debater_kind_parse(mag_config_get(cfg, "debaters", 0)->str, &dc.debaters);
    rt_debate_first_parse(mag_config_get(cfg, "first", 0)->str, &dc.first);
    dc.judge.steps = (long)mag_value_number(mag_config_get(cfg, "judge_steps", 0), 1500);
    dc.judge_hidden = (int)mag_value_number(mag_config_get(cfg, "hidden", 0), 32);
    dc.learner.steps = (long)mag_value_number(mag_config_get(cfg, "debater_steps", 0), 2000);
    dc.max_leaves = (long)mag_value_number(mag_config_get(cfg, "max_leaves", 0), 1000000);
    dc.threads = mag_session_threads(ctx->session);
    if (dc.threads > 16) dc.threads = 16;
    /* the stream of the cell's NAME split by the point's seed: d[seed=s] of a sweep is the
       debate a cell %%debate d with seed = s makes */
    const char *base = NULL;
    mag_train_name(ctx, cell, "debate", &base, d);
    rt_rng R =
        mag_train_stream(mag_session_seed(ctx->session), "debate:", base,
                         mag_train_given(cfg, "seed") ? mag_config_get(cfg, "seed", pt) : NULL);
    rt_diag err;
    if (rt_task_kind_of(stask) != &rt_task_kind_triage) {
        rt_debate *tmp = NULL;
        rt_rng r0 = rt_rng_split(&R, 0);
        rt_debate_create(stask, &dc, &r0, &tmp, &err); /* fails: the runtime's message */
        rt_debate_free(tmp);
        mag_pos p = key_pos(cell, "task");
        return mag_err(ctx, d, MAG_EVALUE, p, "%s", err.msg);
    }
    if (check_only) return 0;
    mag_debate_obj *o = rt_calloc(1, sizeof *o);
    if (!o) return mag_err_nomem(d);
    snprintf(o->task_name, sizeof o->task_name, "%s", task_name);
    snprintf(o->baseline_name, sizeof o->baseline_name, "%s", base_name ? base_name : "");
    rt_task_config tc = *rt_task_config_of(stask);
    rt_rng r0 = rt_rng_split(&R, 0);
    int rc = rt_task_create(&tc, &o->task, NULL);
    if (rc == 0) rc = rt_debate_create(o->task, &dc, &r0, &o->d, &err);
    if (rc) {
        obj_free(o);
        if (rc == RT_ENOMEM) return mag_err_nomem(d);
        const char *key = strstr(err.msg, "minimax")    ? "debaters"
                          : strstr(err.msg, "evidence") ? "evidence"
                          : strstr(err.msg, "hidden")   ? "hidden"
                                                        : "task";
        mag_pos p = key_pos(cell, key);
        return mag_err(ctx, d, MAG_EVALUE, p, "%s", err.msg);
    }
    if (sbase && mag_policy_copy(&o->baseline, sbase, NULL)) {
        obj_free(o);
        return mag_err_nomem(d);
    }
    /* train: one job, three runs */
    char rn[3][300];
    snprintf(rn[0], sizeof rn[0], "%s.judge", name);
    snprintf(rn[1], sizeof rn[1], "%s.full_judge", name);
    snprintf(rn[2], sizeof rn[2], "%s.debaters", name);
    int learned = dc.debaters == RT_DEBATER_LEARNED;
    train_job job = {.d = o->d, .rng = rt_rng_split(&R, 1)};
    int nj, nl;
    const char *const *jc = rt_debate_judge_columns(&nj);
    const char *const *lc = rt_debate_learner_columns(&nl);
    rc = rt_run_create(rn[0], jc, nj, &job.jr) || rt_run_create(rn[1], jc, nj, &job.fr) ||
         (learned && rt_run_create(rn[2], lc, nl, &job.lr));
    rt_run *made[3] = {job.jr, job.fr, job.lr}; /* the cell's settings, for %export */
    for (int i = 0; !rc && i < 3; i++)
        if (made[i] && mag_train_run_config(made[i], cfg, 0)) rc = 1;
    mag_bridge_run br[3] = {{job.jr, "judge", train_fn, &job, NULL, dc.judge.steps},
                            {job.fr, "full-state judge", idle_fn, NULL, NULL, 0},
                            {job.lr, "learned debaters", idle_fn, NULL, NULL, dc.learner.steps}};
    static const char *const panels[] = {"loss", "pairwise_acc", "vs_greedy"};
    static const char *const summary[] = {"loss", "pairwise_acc", "vs_greedy"};
    char title[300];
    snprintf(title, sizeof title, "%%%%debate %s: judge on %s (evidence %d)%s", name, task_name,
             dc.evidence, learned ? ", self-play debaters" : "");
    mag_bridge_opts bo = {
        .title = title,
        .panels = panels,
        .npanels = learned ? 3 : 2,
        .summary = summary,
        .nsummary = learned ? 3 : 2,
        .threads = 1,
        .execution_count = ctx->execution_count,
    };
    mag_bridge_stats st;
    if (!rc) rc = mag_bridge_train(ctx->out, &bo, br, learned ? 3 : 2, &st);
    if (rc) { /* no runs, or the bridge could not start */
        rt_run_free(job.jr);
        rt_run_free(job.fr);
        rt_run_free(job.lr);
        obj_free(o);
        return mag_err_nomem(d);
    }
    /* keep the runs (also of a failed or interrupted training) that started; one that
       never started (an interrupt before its training) is dropped (issue 12 B12) */
    rt_run *runs[3] = {job.jr, job.fr, job.lr};
    for (int i = 0; i < 3; i++) {
        if (!runs[i]) continue;
        if (rt_run_status_of(runs[i], NULL, NULL, 0) == RT_RUN_CREATED) {
            rt_run_free(runs[i]);
            runs[i] = NULL;
            continue;
        }
        static const char *const what[] = {"judge", "full-state judge", "self-play debaters"};
        long step;
        rt_run_status stt = mag_train_status(runs[i], &step, NULL, 0);
        char summ[300];
        snprintf(summ, sizeof summ, "%s of debate %s, %ld steps%s", what[i], name, step,
                 mag_train_suffix(stt));
        mag_train_put_run(ctx, rn[i], runs[i], summ, task_name);
    }
    if (job.rc == RT_EINTR) {
        obj_free(o);
        const char *what = "judge";
        long dummy;
        for (int i = 0; i < 3; i++)
            if (runs[i] && rt_run_status_of(runs[i], &dummy, NULL, 0) == RT_RUN_INTERRUPTED) {
                what = i == 0 ? "judge" : i == 1 ? "full-state judge" : "debaters'";
                break;
            }
        char ev[400];
        snprintf(ev, sizeof ev,
                 "interrupted at step %ld of the %s training; the runs are kept, debate '%s' "
                 "is not defined",
                 job.err.step, what, name);
        krn_out_error(ctx->out, "Interrupted", ev, NULL, 0);
        return MAG_INTERRUPTED;
    }
    if (job.rc) {
        obj_free(o);
        return mag_err(ctx, d, job.rc == RT_ENOMEM ? MAG_ENOMEM : MAG_ERUNTIME, cell->name_pos,
                       "debate '%s' failed: %s", name, job.err.msg);
    }
    o->acc = rt_debate_accuracy_of(o->d);
    rt_rng r2 = rt_rng_split(&R, 2);
    show_tables(ctx->out, o, name, &r2);
    char summ[520];
    snprintf(summ, sizeof summ,
             "on %s, evidence %d, %s debaters, first %s, baseline %s; judge accuracy top-1 "
             "%.3f (full state %.3f, chance %.3f), pairwise %.3f (full state %.3f, chance %.3f)",
             task_name, dc.evidence, rt_debater_kind_name(dc.debaters),
             rt_debate_first_name(dc.first), base_name ? base_name : "(none)", o->acc.partial,
             o->acc.full, o->acc.chance, o->acc.partial_pair, o->acc.full_pair, o->acc.chance_pair);
    int put = mag_session_put(ctx->session, MAG_DEBATE, name, o, obj_free, summ, task_name);
    if (put < 0) return mag_err_nomem(d);
    if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced debate '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "debate %s: %s\n", name, summ);
    return 0;
}

/* %%debate NAME: one debate, or with seed = [s1, s2, ...] one NAME[seed=s] per seed, each
 * with the baseline of its seed when baseline names a sweep (the whole pipeline per seed). */
static int run_debate(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    const char *name = NULL;
    int rc = mag_train_name(ctx, cell, "debate", &name, d);
    if (rc) return rc;
    char pname[300];
    for (int check = 1; check >= 0; check--)
        for (size_t pt = 0; pt < cfg->npoints; pt++) {
            mag_config_point_name(cfg, name, pt, pname, sizeof pname);
            rc = debate_point(ctx, cell, cfg, pt, pname, check, d);
            if (rc) return rc;
        }
    return 0;
}

/* ---- %debate NAME show ---------------------------------------------------------- */

static const mag_key_spec show_keys[] = {
    {.name = "n",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = SHOW_MAX,
     .def = "3",
     .help = "debates to show"},
    {.name = "policy",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "defends its greedy action (default: the strongest challenger of the baseline)"},
    {.name = "seed", .type = MAG_T_INT, .flags = MAG_K_MIN, .min = 0, .help = "other states"},
    {.name = "states",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = EVAL_MAX,
     .def = "1000",
     .help = "eval: held-out states (drawn with replacement)"},
};

static const mag_schema show_schema = {
    .magic = "debate",
    .keys = show_keys,
    .nkeys = sizeof show_keys / sizeof show_keys[0],
    .help = "shows debates of a defined debate",
};

/* Greedy actions of policy p (or -1 each when p is NULL) for n samples. */
static int actions_of(const rt_task *task, const rt_policy *p, const rt_task_sample *s, int n,
                      int *a)
{
    if (!p) {
        for (int i = 0; i < n; i++)
            a[i] = -1;
        return 0;
    }
    rt_model_ws *ws = NULL;
    if (rt_model_ws_create(&ws, &p->model, n, NULL)) return -1;
    int rc = rt_debate_policy_actions(task, &p->model, ws, s, n, a);
    rt_model_ws_free(ws);
    return rc;
}

/* %debate NAME eval POLICY... [states=1000] [seed=S]: return, judge_win, judge_win_full
 * and the fraction of differing actions of each policy's greedy actions against the
 * baseline's on the same held-out states (rt_debate_eval), then the mean and sample
 * standard deviation over the policies that differ only by seed (over the seeds with a
 * value: judge_win is NaN for a policy that never differs from the baseline; "(n)" then
 * gives how many seeds had one). */
static int run_eval_verb(mag_ctx *ctx, const mag_line *line, const mag_config *cfg,
                         const mag_debate_obj *o, const char *name, mag_diag *d)
{
    const rt_policy *pols[EVAL_POLICIES];
    const char *pnames[EVAL_POLICIES];
    const mag_debate_obj *objs[EVAL_POLICIES]; /* each policy's debate (paired by key) */
    int np = 0;
    for (size_t i = 2; mag_arg_pos(line, i); i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        const char *w = mag_arg_word(line, i);
        const rt_policy *p = w ? mag_session_get(ctx->session, MAG_POLICY, w) : NULL;
        if (!p) {
            if (!w)
                return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "expected a policy name, got %s",
                               a->value.text);
            return mag_err_unknown(d, ctx, MAG_POLICY, w, a->value.pos);
        }
        /* a debate swept over seed: the policy's point (w = P[...,seed=s]) picks d[seed=s] */
        const mag_debate_obj *oi = o;
        if (!oi) {
            const char *br = strchr(w, '['), *dn = NULL;
            char why[512];
            int r = br ? mag_train_pair_entry(ctx->session, MAG_DEBATE, NULL, 0, br + 1, name, &dn,
                                              why, sizeof why)
                       : 1;
            if (r == 0) oi = mag_session_get(ctx->session, MAG_DEBATE, dn);
            if (!oi)
                return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                               "debate '%s' is a sweep: policy '%s' must name a point of it "
                               "by its keys (P[seed=s] for %s[seed=s])%s%s",
                               name, w, name, r == 2 ? ": " : "", r == 2 ? why : "");
        }
        if (p->model.vocab != rt_task_vocab_size(oi->task))
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                           "policy '%s' is not a policy of the task's vocabulary", w);
        if (!oi->baseline)
            return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                           "debate '%s' has no baseline policy (set baseline = POLICY in "
                           "%%%%debate %s)",
                           name, name);
        if (np == EVAL_POLICIES)
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "at most %d policies", EVAL_POLICIES);
        objs[np] = oi;
        pols[np] = p;
        pnames[np++] = w;
    }
    if (np == 0)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%debate %s eval needs policies: %%debate %s eval POLICY...", name, name);
    int sweep = !o;
    o = objs[0]; /* the task and states: the same configuration for every point */
    int S = (int)mag_value_number(mag_config_get(cfg, "states", 0), 1000);
    rt_rng R = mag_train_stream(mag_session_seed(ctx->session), "debate-eval:", name,
                                mag_config_get(cfg, "seed", 0));
    rt_task_sample *s = rt_calloc((size_t)S, sizeof *s);
    int *a_b = rt_calloc((size_t)S, sizeof(int)), *a_pi = rt_calloc((size_t)S, sizeof(int));
    rt_debate_metrics *ms = rt_calloc((size_t)np, sizeof *ms);
    const char *hdr[] = {"policy", "return", "judge_win", "judge_win_full", "differ"};
    mag_table *t = mag_table_new(5, hdr);
    int rc = !s || !a_b || !a_pi || !ms || !t ? MAG_ENOMEM : 0;
    if (!rc) {
        rt_rng st = rt_rng_split(&R, 0);
        rt_task_sample_batch(o->task, &st, 0, RT_TASK_HELDOUT, S, s, NULL);
        if (!sweep && actions_of(o->task, o->baseline, s, S, a_b)) rc = MAG_ENOMEM;
    }
    rt_rng gs = rt_rng_split(&R, 1);
    for (int i = 0; !rc && i < np; i++) {
        rt_diag err;
        if ((sweep && actions_of(o->task, objs[i]->baseline, s, S, a_b)) ||
            actions_of(o->task, pols[i], s, S, a_pi))
            rc = MAG_ENOMEM;
        else if (rt_debate_eval(objs[i]->d, s, a_pi, a_b, S, &gs, 0, NULL, &ms[i], &err)) {
            rc = mag_err(ctx, d, MAG_ERUNTIME, line->name_pos, "%%debate %s eval: %s", name,
                         err.msg);
            break;
        }
    }
    /* rows: each policy, then the seed groups of more than one policy */
    for (int i = 0; !rc && i < np; i++) {
        char c[4][32];
        mag_fmt_num(ms[i].ret, 0, c[0], 32);
        mag_fmt_num(ms[i].judge_win, 0, c[1], 32);
        mag_fmt_num(ms[i].judge_win_full, 0, c[2], 32);
        mag_fmt_num(ms[i].differ, 0, c[3], 32);
        const char *row[5] = {pnames[i], c[0], c[1], c[2], c[3]};
        mag_table_row(t, row);
    }
    int done[EVAL_POLICIES] = {0};
    for (int i = 0; !rc && i < np; i++) {
        char gi[256], gj[256];
        if (done[i] || !mag_train_strip_seed(pnames[i], gi, sizeof gi)) continue;
        int members[EVAL_POLICIES], k = 0;
        for (int j = i; j < np; j++)
            if (!done[j] && mag_train_strip_seed(pnames[j], gj, sizeof gj) && !strcmp(gi, gj)) {
                members[k++] = j;
                done[j] = 1;
            }
        if (k < 2) continue;
        double v[4][EVAL_POLICIES];
        for (int q = 0; q < k; q++) {
            v[0][q] = ms[members[q]].ret;
            v[1][q] = ms[members[q]].judge_win;
            v[2][q] = ms[members[q]].judge_win_full;
            v[3][q] = ms[members[q]].differ;
        }
        char c[4][80], label[300];
        /* over the seeds with a value (judge_win is NaN without differing states) */
        for (int col = 0; col < 4; col++)
            mag_train_mean_sd(v[col], k, c[col], 80);
        snprintf(label, sizeof label, "%s (mean ± sd of %d seeds)", gi, k);
        const char *row[5] = {label, c[0], c[1], c[2], c[3]};
        mag_table_row(t, row);
    }
    if (!rc) {
        char cap[600];
        snprintf(cap, sizeof cap,
                 "%%debate %s eval: greedy actions on %d held-out states against baseline %s "
                 "(judge_win: share of the differing states where the debate favours the "
                 "policy; judge_win_full: where the full-state judge does, no debate; both "
                 "pairwise, chance 0.5, the scale of the judges' pairwise accuracy)",
                 name, S,
                 sweep ? "of each policy's seed (the debate of its seed)" : o->baseline_name);
        mag_show(ctx->out, mag_table_bundle(t, cap));
    }
    mag_table_free(t);
    rt_free(s);
    rt_free(a_b);
    rt_free(a_pi);
    rt_free(ms);
    if (rc == MAG_ENOMEM) return mag_err_nomem(d);
    return rc;
}

static int run_show(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)cell;
    const mag_kv *a0 = mag_arg_pos(line, 0);
    const char *name = mag_arg_word(line, 0), *verb = mag_arg_word(line, 1);
    if (!a0 || !name)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "usage: %%debate NAME show [n=3] [policy=P]");
    const mag_debate_obj *o = mag_session_get(ctx->session, MAG_DEBATE, name);
    if (!o && verb && strcmp(verb, "eval") == 0) { /* a sweep d[seed=s]: paired per policy */
        const char *dn = NULL;
        char why[512];
        if (mag_train_pair_entry(ctx->session, MAG_DEBATE, NULL, 0, "]", name, &dn, why,
                                 sizeof why) == 1)
            return mag_err_unknown(d, ctx, MAG_DEBATE, name, a0->value.pos);
        return run_eval_verb(ctx, line, cfg, NULL, name, d);
    }
    if (!o) return mag_err_unknown(d, ctx, MAG_DEBATE, name, a0->value.pos);
    if (verb && strcmp(verb, "eval") == 0) return run_eval_verb(ctx, line, cfg, o, name, d);
    if (!verb || strcmp(verb, "show") != 0) {
        const mag_kv *a1 = mag_arg_pos(line, 1);
        mag_pos p = a1 ? a1->value.pos : line->name_pos;
        return mag_err(ctx, d, MAG_EVALUE, p,
                       "%%debate %s: expected 'show' or 'eval' (usage: %%debate NAME show "
                       "[n=3] [policy=P] | %%debate NAME eval POLICY... [states=1000])",
                       name);
    }
    if (mag_arg_pos(line, 2)) {
        const mag_kv *a2 = mag_arg_pos(line, 2);
        return mag_err(ctx, d, MAG_EVALUE, a2->value.pos, "unexpected argument '%s'",
                       a2->value.text);
    }
    const rt_policy *pol = NULL;
    const mag_value *pv = mag_config_get(cfg, "policy", 0);
    if (pv) {
        pol = mag_session_get(ctx->session, MAG_POLICY, pv->str);
        if (!pol) return mag_err_unknown(d, ctx, MAG_POLICY, pv->str, pv->pos);
        if (pol->model.vocab != rt_task_vocab_size(o->task))
            return mag_err(ctx, d, MAG_EVALUE, pv->pos,
                           "policy '%s' is not a policy of the task's vocabulary", pv->str);
    }
    int n = (int)mag_value_number(mag_config_get(cfg, "n", 0), 3);
    rt_rng R = mag_train_stream(mag_session_seed(ctx->session), "debate-show:", name,
                                mag_config_get(cfg, "seed", 0));
    rt_task_sample s[SHOW_MAX];
    rt_rng st = rt_rng_split(&R, 0);
    rt_task_sample_batch(o->task, &st, 0, RT_TASK_HELDOUT, n, s, NULL);
    int a_b[SHOW_MAX], a_pi[SHOW_MAX];
    if (actions_of(o->task, o->baseline, s, n, a_b) || actions_of(o->task, pol, s, n, a_pi))
        return mag_err_nomem(d);
    const rt_debate_judge *full = rt_debate_full_judge_of(o->d);
    int A = (int)rt_task_value(o->task, "actions");
    for (int i = 0; i < n; i++) {
        if (!o->baseline) a_b[i] = rt_task_triage_demo_action(o->task, &s[i]);
        if (!pol) { /* the strongest challenger by the full-state judge */
            int values[RT_DEBATE_MAX_K];
            float sc[RT_DEBATE_MAX_A];
            rt_task_triage_state(o->task, &s[i], values);
            rt_debate_judge_scores(full, values, ~0u, sc);
            int best = -1;
            for (int a = 0; a < A; a++)
                if (a != a_b[i] && (best < 0 || sc[a] > sc[best])) best = a;
            a_pi[i] = best;
        }
    }
    rt_debate_transcript tr[SHOW_MAX];
    double out[SHOW_MAX];
    rt_diag err;
    rt_rng gs = rt_rng_split(&R, 1);
    if (rt_debate_reward_batch(o->d, s, a_pi, a_b, n, &gs, 0, out, tr, &err))
        return mag_err(ctx, d, MAG_ERUNTIME, line->name_pos, "%%debate %s show: %s", name, err.msg);
    /* text: the runtime's transcripts; HTML: one table per debate */
    size_t tcap = 4096 * (size_t)n + 512, hcap = 8192 * (size_t)n + 512, tl = 0, hl = 0;
    char *text = rt_malloc(tcap), *html = rt_malloc(hcap);
    if (!text || !html) {
        rt_free(text);
        rt_free(html);
        return mag_err_nomem(d);
    }
    char head[400];
    snprintf(head, sizeof head,
             "%%debate %s show: %d debates on held-out states (%s debaters; policy = %s%s, "
             "baseline = %s)",
             name, n, rt_debater_kind_name(rt_debate_config_of(o->d)->debaters),
             pol ? pv->str : "the strongest challenger",
             pol ? "'s action" : " by the full-state judge",
             o->baseline ? o->baseline_name : "the demonstrator (no baseline)");
    tl += (size_t)snprintf(text + tl, tcap - tl, "%s\n", head);
    hl += (size_t)snprintf(html + hl, hcap - hl, "<p>%s</p>\n", head);
    for (int i = 0; i < n; i++) {
        char buf[4096];
        rt_debate_transcript_text(o->task, &s[i], a_pi[i], a_b[i], &tr[i], buf, sizeof buf);
        if (tl < tcap) tl += (size_t)snprintf(text + tl, tcap - tl, "\n%s", buf);
        /* first line = the state, last line = the verdict */
        char *nl = strchr(buf, '\n');
        char *verdict = strstr(buf, "verdict:");
        if (nl) *nl = '\0';
        char pa[8] = "?", ba[8] = "?";
        if (a_pi[i] >= 0) snprintf(pa, sizeof pa, "%c", 'a' + a_pi[i]);
        if (a_b[i] >= 0) snprintf(ba, sizeof ba, "%c", 'a' + a_b[i]);
        char h3[32], h4[32];
        snprintf(h3, sizeof h3, "J(%s) policy", pa);
        snprintf(h4, sizeof h4, "J(%s) baseline", ba);
        const char *hdr[] = {"turn", "by", "reveals", h3, h4};
        mag_table *t = mag_table_new(5, hdr);
        char c[5][48];
        for (int k = -1; t && k < tr[i].n; k++) {
            snprintf(c[0], 48, "%d", k + 1);
            if (k < 0) {
                snprintf(c[1], 48, "-");
                snprintf(c[2], 48, "-");
                mag_fmt_num(tr[i].s1_empty, 0, c[3], 48);
                mag_fmt_num(tr[i].s2_empty, 0, c[4], 48);
            } else {
                snprintf(c[1], 48, "%s", tr[i].by[k] ? "baseline" : "policy");
                snprintf(c[2], 48, "f%d=%d", tr[i].feature[k] + 1, tr[i].value[k]);
                mag_fmt_num(tr[i].s1[k], 0, c[3], 48);
                mag_fmt_num(tr[i].s2[k], 0, c[4], 48);
            }
            const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
            mag_table_row(t, row);
        }
        char cap[600];
        snprintf(cap, sizeof cap, "%.300s — %.290s", buf, verdict ? verdict : "");
        char *vn = strchr(cap, '\n');
        if (vn) *vn = '\0';
        cJSON *b = t ? mag_table_bundle(t, cap) : NULL;
        mag_table_free(t);
        const cJSON *h = b ? cJSON_GetObjectItem(b, "text/html") : NULL;
        if (h && cJSON_IsString(h) && hl < hcap)
            hl += (size_t)snprintf(html + hl, hcap - hl, "%s\n", h->valuestring);
        cJSON_Delete(b);
    }
    cJSON *bundle = cJSON_CreateObject();
    if (bundle) {
        cJSON_AddStringToObject(bundle, "text/html", html);
        cJSON_AddStringToObject(bundle, "text/plain", text);
    }
    rt_free(text);
    rt_free(html);
    mag_show(ctx->out, bundle);
    return 0;
}

static const mag_magic debate_magic = {
    .name = "debate",
    .cell = 1,
    .schema = &debate_schema,
    .usage = "%%debate NAME  (body: key = value lines)",
    .help = "Defines debate NAME on a triage task (notebooks/debate.ipynb shows it at work): a\n"
            "judge J(evidence, action) trained Bradley-Terry on the demonstrator's action\n"
            "against a random other one,\n"
            "seeing `evidence` random features; two debaters (greedy | minimax | learned)\n"
            "reveal features in turn for two actions; the judge's verdict is the outcome.\n"
            "Prints the judges' held-out accuracy on the same states, top-1 (the\n"
            "demonstrator's action above every other, chance 1/A) and pairwise (above one\n"
            "random other action, chance 1/2), and the debaters' strength (the\n"
            "demonstrator's side's win rate, pairwise: chance 0.5).  The training curve\n"
            "pairwise_acc is the pairwise accuracy on the training pairs.  Then\n"
            "debate(NAME) is a reward feature: 1 if after the debate the judge prefers the\n"
            "policy's action to the baseline's, 0 if not, 0.5 when the actions are equal;\n"
            "judge_full(NAME) is the same with the full-state judge's verdict (every\n"
            "feature, no debate: the ideal judge), to compare r + alpha * debate(d) with\n"
            "r + alpha * judge_full(d).  judge_win / judge_win_full of %%rl runs are\n"
            "pairwise win rates (chance 0.5).  For a learnable demonstrator bias use\n"
            "%task ... bias=B (conflict=C is hash label noise; see %help task).\n"
            "seed = [1, 2, ...] makes NAME[seed=s] per seed, each against the baseline's\n"
            "point of its seed when baseline names a sweep (base[seed=s]); debate(NAME) in a\n"
            "%%rl sweep over the same seeds and %debate NAME eval P[...,seed=s] use the\n"
            "debate of the same seed: the whole pipeline per seed.\n"
            "Example:\n  %%debate d\n  task = tri\n  evidence = 3\n  baseline = base",
    .run = run_debate,
    .positional = "-",
};

static const mag_magic show_magic = {
    .name = "debate",
    .schema = &show_schema,
    .usage = "%debate NAME show [n=3] [policy=P] [seed=S] | %debate NAME eval POLICY... "
             "[states=1000]",
    .help = "Transcripts of n debates of debate NAME on held-out states: each revealed\n"
            "feature in order, who revealed it, the judge's scores of both actions, the\n"
            "verdict.  The policy side defends P's greedy action (default: the action other\n"
            "than the baseline's that the full-state judge scores highest); the baseline\n"
            "side defends the baseline's action (the demonstrator's without a baseline).\n"
            "%debate NAME eval POLICY...: the return-vs-justifiability table — per policy, on\n"
            "the same held-out states, the mean environment return of its greedy action,\n"
            "judge_win / judge_win_full against the baseline (states where the actions\n"
            "differ; pairwise win rates, chance 0.5) and the share of differing states;\n"
            "policies that differ only by seed (NAME[...,seed=k]) get a mean ± sd row.  A\n"
            "debate swept over seed pairs each policy P[...,seed=k] with NAME[seed=k] and\n"
            "its baseline.",
    .run = run_show,
    .positional = "debate,-,policy",
};

const mag_magic *const mag_debate_magics[] = {&debate_magic, &show_magic, NULL};

/* ---- debate(NAME) in %%rl: the session's debates as a resolver (mag_debate.h) ---- */

int mag_debate_resolve(void *ctx, const char *name, rt_debate_source *out, char *err, size_t errlen)
{
    const mag_session *s = *(const mag_session *const *)ctx;
    const mag_debate_obj *o = mag_session_get(s, MAG_DEBATE, name);
    if (!o) {
        snprintf(err, errlen, "unknown debate '%s'", name);
        return 1;
    }
    out->debate = o->d;
    out->baseline = o->baseline ? &o->baseline->model : NULL;
    out->task_name = o->task_name;
    snprintf(out->hint, sizeof out->hint, "set baseline = POLICY in %%%%debate %s", name);
    return 0;
}
