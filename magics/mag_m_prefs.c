/* mag_m_prefs: the %%preferences NAME cell magic — a preference dataset (issue 15 item 1)
 * over runtime/pref/rt_pref.h, stored in the session as kind "preferences" (MAG_PREFS),
 * and its JSONL export (%export FILE.jsonl NAME calls mag_prefs_export).
 *
 * Two forms, never mixed:
 *   simulated: from = POLICY, task (default the policy's), labeler = REWARD (linked to the
 *     task's features as %%rl links its rewards, parameters at their defaults),
 *     label_temperature, flip, pairs, heldout (default pairs / 4), per_prompt,
 *     temperature, ties = coin | drop, seed -> rt_pref_simulate with the stream
 *     R = rt_rng_from_name(session seed, "preferences:NAME"), split by seed + 1000 when
 *     seed is given (mag_train_stream, as %%rl's runs);
 *   loaded: file = PATH with task = TASK -> rt_pref_read (the file's NAME:LINE:COL errors
 *     become the cell's error at the file's value, the message naming the file's place).
 * Every reference and key is checked before any work: an unknown policy / reward / task
 * (did-you-mean), a policy without task and no task =, a vocabulary mismatch, a labeler
 * reading a feature the task lacks or a feature function, simulation keys given with
 * file (keys that do nothing are errors), neither from nor file, file without task;
 * ranges (pairs >= 1, heldout >= 0, per_prompt 2..16, temperature > 0,
 * label_temperature >= 0, flip in [0, 0.5]: above 1/2 the noise would invert the labeler)
 * are the schema's, at the key.
 *
 * Shows: the counts (train / held-out), and for a simulated set the labeler's agreement
 * with its true reward, ties and flips per split (rt_pref_stats_of), then the first
 * examples (split, prompt, chosen, rejected, true rewards) as a table (HTML + text).
 * The set owns a copy of its task, so a later redefinition of the task changes nothing.
 * The trainers (%%dpo) read a set through mag_prefs_get, with its labeler's name (the
 * default true reward of their eval_reward).
 *
 * Sweeps: seed, pairs, heldout, label_temperature and flip take lists; each point is a set
 * NAME[k=v,...] (mag_config_point_name), simulated from the policy `from` denotes at that
 * point (pairing by key, mag_train_policy_at: with from = base swept over the same seeds,
 * prefs[seed=s] samples base[seed=s]) with the stream of NAME split by the point's seed;
 * every point is checked before any is simulated, and the examples are shown for the
 * first point only.  %%rm and %%dpo pair data = NAME with their own points the same way.
 *
 * Leaves out: reward parameters given in the cell. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_lineage.h"
#include "mag_prefs.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_features.h"
#include "rt_policy.h"
#include "rt_pref.h"
#include "rt_reward.h"
#include "rt_task.h"

#define SHOW_EXAMPLES 5

typedef struct mag_prefs_obj {
    rt_task *task; /* own copy */
    rt_pref_set *set;
    char labeler[128]; /* the labeler reward's name of a simulated set; "" for a file */
} mag_prefs_obj;

static void obj_free(void *p)
{
    mag_prefs_obj *o = p;
    if (!o) return;
    rt_pref_free(o->set);
    rt_task_free(o->task);
    rt_free(o);
}

static const char *const ties_values[] = {"coin", "drop", NULL};

static const mag_key_spec prefs_keys[] = {
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "the policy whose sampled answers are compared (simulated sets)"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "the task (default: the policy's; required with file)"},
    {.name = "labeler",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "the hidden true utility (a %%reward on the task's features)"},
    {.name = "file",
     .type = MAG_T_STRING,
     .help = "a JSONL file with TRL's columns prompt, chosen, rejected (optional margin)"},
    {.name = "pairs",
     .type = MAG_T_INT,
     .flags = MAG_K_SWEEP | MAG_K_MIN,
     .min = 1,
     .max = RT_PREF_MAX_PAIRS,
     .def = "1000",
     .help = "training pairs"},
    {.name = "heldout",
     .type = MAG_T_INT,
     .flags = MAG_K_SWEEP | MAG_K_MIN,
     .min = 0,
     .help = "held-out pairs from held-out prompts (default pairs / 4)"},
    {.name = "per_prompt",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 2,
     .max = RT_PREF_MAX_PER_PROMPT,
     .def = "2",
     .help = "answers sampled per prompt (all their pairs are compared)"},
    {.name = "temperature",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1",
     .help = "the policy's sampling temperature"},
    {.name = "label_temperature",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_SWEEP | MAG_K_MIN,
     .min = 0,
     .def = "0",
     .help = "Bradley-Terry T: P(a > b) = sigma((r(a) - r(b)) / T); 0: the higher reward"},
    {.name = "flip",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_SWEEP | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 0.5,
     .def = "0",
     .help = "label-noise rate: each label is reversed with this probability"},
    {.name = "ties",
     .type = MAG_T_ENUM,
     .values = ties_values,
     .def = "coin",
     .help = "equal true rewards: coin (a fair coin, kept) or drop (skipped, more prompts)"},
    MAG_TRAIN_KEY_SEED,
};

static const mag_schema prefs_schema = {
    .magic = "preferences",
    .keys = prefs_keys,
    .nkeys = sizeof prefs_keys / sizeof prefs_keys[0],
    .help = "defines a preference dataset (simulated or from a JSONL file)",
};

static const char *const sim_keys[] = {
    "from",       "labeler", "label_temperature", "flip", "pairs", "heldout",
    "per_prompt", "ties",    "temperature",       "seed", NULL};

/* Where key was written (body first, then header), else the magic's name. */
static mag_pos key_pos(const mag_cell *cell, const char *key)
{
    return mag_train_value_pos(cell, key);
}

static mag_pos key_name_pos(const mag_cell *cell, const char *key)
{
    for (size_t i = 0; i < cell->nentries; i++)
        if (!strcmp(cell->entries[i].key, key)) return cell->entries[i].key_pos;
    return mag_train_value_pos(cell, key);
}

static const char *str_of(const mag_config *cfg, const char *key)
{
    const mag_value *v = mag_config_get(cfg, key, 0);
    return v ? v->str : NULL;
}

/* agreement as text: "n/a" when there are no non-tie pairs with scores */
static void fmt_agree(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "n/a");
    else
        mag_fmt_num(v, 0, buf, cap);
}

static void show(mag_ctx *ctx, const mag_prefs_obj *o, const char *name, const char *head)
{
    rt_pref_stats st;
    rt_pref_stats_of(o->set, &st);
    krn_out_printf(ctx->out, KRN_STDOUT, "%s\n", head);
    if (o->set->simulated) {
        char a[2][32];
        fmt_agree(st.agreement[0], a[0], sizeof a[0]);
        fmt_agree(st.agreement[1], a[1], sizeof a[1]);
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "labeler agreement with the true reward (non-tie pairs): train %s, "
                       "held-out %s\nties: train %d, held-out %d; flipped: train %d, "
                       "held-out %d\n",
                       a[0], a[1], st.ties[0], st.ties[1], st.flipped[0], st.flipped[1]);
    } else if (!isnan(st.agreement[0]) || !isnan(st.agreement[1])) {
        char a[2][32];
        fmt_agree(st.agreement[0], a[0], sizeof a[0]);
        fmt_agree(st.agreement[1], a[1], sizeof a[1]);
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "agreement of the labels with the file's scores (non-tie pairs): train "
                       "%s, held-out %s\n",
                       a[0], a[1]);
    }
    const char *hdr[] = {"split", "prompt", "chosen", "rejected", "r(chosen)", "r(rejected)"};
    mag_table *t = mag_table_new(6, hdr);
    /* the first 3 train and 2 held-out pairs (5 train without held-out ones) */
    int nho = rt_pref_count(o->set, RT_TASK_HELDOUT);
    int want[2] = {nho ? SHOW_EXAMPLES - 2 : SHOW_EXAMPLES, 2};
    for (int sp = 0; t && sp < 2; sp++) {
        int n = rt_pref_count(o->set, (rt_task_split)sp);
        for (int i = 0; i < n && i < want[sp]; i++) {
            const rt_pref_pair *p = rt_pref_at(o->set, (rt_task_split)sp, i);
            char pr[256], ch[128], rj[128], rc[32], rr[32];
            rt_task_render_with(o->task, p->prompt.prompt, rt_task_prompt_len(o->task), pr, sizeof pr);
            rt_task_render_with(o->task, p->chosen, p->n_chosen, ch, sizeof ch);
            rt_task_render_with(o->task, p->rejected, p->n_rejected, rj, sizeof rj);
            mag_fmt_num(p->r_chosen, 1, rc, sizeof rc);
            mag_fmt_num(p->r_rejected, 1, rr, sizeof rr);
            const char *row[6] = {sp == 0 ? "train" : "held-out", pr, ch, rj, rc, rr};
            mag_table_row(t, row);
        }
    }
    char cap[300];
    snprintf(cap, sizeof cap, "%%%%preferences %s: examples (r: the labeler's true reward)", name);
    mag_show(ctx->out, t ? mag_table_bundle(t, cap) : NULL);
    mag_table_free(t);
}

/* rt_pref_sim_config.stop: the kernel's interrupt (the simulation runs on this thread). */
static int stop_requested(void *out)
{
    return krn_out_interrupted(out);
}

/* Simulated set of sweep point pt, stored as `name` (base, or base[k=v,...]); check: only
 * the references and keys (nothing is simulated). */
static int sim_point(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg, size_t pt,
                     const char *base, const char *name, int check, mag_diag *d)
{
    const char *from = NULL, *task_name = str_of(cfg, "task");
    const rt_task *task = NULL;
    mag_pos fpos = key_pos(cell, "from");
    const rt_policy *pol = NULL;
    int rc = mag_train_policy_at(ctx, cfg, pt, str_of(cfg, "from"), fpos, &pol, &from, d);
    if (rc) return rc;
    const char *lab = str_of(cfg, "labeler");
    if (!lab)
        return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                       "simulated preferences need labeler = REWARD (the hidden true utility)");
    mag_pos lpos = key_pos(cell, "labeler");
    const rt_reward_program *rp = mag_session_get(ctx->session, MAG_REWARD, lab);
    if (!rp) return mag_err_unknown(d, ctx, MAG_REWARD, lab, lpos);
    mag_pos tpos = fpos;
    if (task_name) {
        tpos = key_pos(cell, "task");
        task = mag_session_get(ctx->session, MAG_TASK, task_name);
        if (!task) return mag_err_unknown(d, ctx, MAG_TASK, task_name, tpos);
    } else {
        const mag_entry *pe = mag_session_entry(ctx->session, MAG_POLICY, from);
        task_name = pe ? pe->task : NULL;
        task = task_name ? mag_session_get(ctx->session, MAG_TASK, task_name) : NULL;
        if (!task)
            return mag_err(ctx, d, MAG_EVALUE, fpos, "policy '%s' has no task: give task = TASK",
                           from);
    }
    if (pol->model.vocab != rt_task_vocab_size(task))
        return mag_err(ctx, d, MAG_EVALUE, tpos,
                       "policy '%s' has a vocabulary of %d tokens, task '%s' %d", from,
                       pol->model.vocab, task_name, rt_task_vocab_size(task));
    if (rt_features_for_reward(rp))
        return mag_err(ctx, d, MAG_EVALUE, lpos,
                       "reward '%s' reads a feature function (such as debate(NAME)); a labeler "
                       "reads the task's own features",
                       lab);
    if (check) return 0;
    rt_reward_program *linked = NULL;
    rc = mag_train_link_reward(ctx, task, rp, lpos, &linked, d);
    if (rc) return rc;
    int np = rt_reward_n_params(linked);
    double *params = rt_calloc((size_t)(np > 0 ? np : 1), sizeof(double));
    if (!params) {
        rt_reward_free(linked);
        return mag_err_nomem(d);
    }
    rt_diag rd;
    if (rt_reward_bind_params(linked, NULL, NULL, 0, params, &rd)) {
        rt_reward_free(linked);
        rt_free(params);
        return mag_err(ctx, d, MAG_EVALUE, lpos, "%s", rd.msg);
    }
    rt_pref_sim_config sc;
    rt_pref_sim_defaults(&sc);
    sc.pairs = (int)mag_train_num(cfg, "pairs", pt);
    sc.heldout =
        mag_train_given(cfg, "heldout") ? (int)mag_train_num(cfg, "heldout", pt) : sc.pairs / 4;
    sc.per_prompt = (int)mag_train_num(cfg, "per_prompt", pt);
    sc.temperature = (float)mag_train_num(cfg, "temperature", pt);
    sc.label_temperature = mag_train_num(cfg, "label_temperature", pt);
    sc.flip = mag_train_num(cfg, "flip", pt);
    sc.ties = !strcmp(mag_config_get(cfg, "ties", pt)->str, "drop") ? RT_PREF_TIES_DROP
                                                                    : RT_PREF_TIES_COIN;
    sc.threads = mag_session_threads(ctx->session);
    if (sc.threads > 16) sc.threads = 16;
    sc.stop = stop_requested, sc.stop_arg = ctx->out;
    rt_rng R =
        mag_train_stream(mag_session_seed(ctx->session), "preferences:", base,
                         mag_train_given(cfg, "seed") ? mag_config_get(cfg, "seed", pt) : NULL);
    mag_prefs_obj *o = rt_calloc(1, sizeof *o);
    if (!o || rt_task_create(rt_task_config_of(task), &o->task, NULL)) {
        obj_free(o);
        rt_reward_free(linked);
        rt_free(params);
        return mag_err_nomem(d);
    }
    snprintf(o->labeler, sizeof o->labeler, "%s", lab);
    rt_diag err;
    rc = rt_pref_simulate(&pol->model, o->task, linked, params, &sc, &R, &o->set, &err);
    rt_reward_free(linked);
    rt_free(params);
    if (rc) {
        obj_free(o);
        if (rc == RT_ENOMEM) return mag_err_nomem(d);
        if (rc == RT_EINTR) { /* nothing is stored: a set is whole or absent */
            mag_diag_set(d, NULL, 0, MAG_INTERRUPTED, 0, 0, NULL, "%%%%preferences %s: %s", name,
                         err.msg);
            return MAG_INTERRUPTED;
        }
        mag_pos at = err.key[0] ? key_pos(cell, err.key) : cell->name_pos;
        return mag_err(ctx, d, MAG_EVALUE, at, "%s", err.msg);
    }
    rt_pref_stats st;
    rt_pref_stats_of(o->set, &st);
    char ag[2][32];
    fmt_agree(st.agreement[0], ag[0], sizeof ag[0]);
    fmt_agree(st.agreement[1], ag[1], sizeof ag[1]);
    char summ[700];
    snprintf(summ, sizeof summ,
             "%d train / %d held-out pairs on %s, from %s labeled by %s (label_temperature "
             "%g, flip %g, %d per prompt); agreement %s / %s",
             st.pairs[0], st.pairs[1], task_name, from, lab, sc.label_temperature, sc.flip,
             sc.per_prompt, ag[0], ag[1]);
    char head[800];
    snprintf(head, sizeof head,
             "preferences %s: %d train / %d held-out pairs on %s, from %s "
             "labeled by %s",
             name, st.pairs[0], st.pairs[1], task_name, from, lab);
    if (pt == 0)
        show(ctx, o, name, head);
    else
        krn_out_printf(ctx->out, KRN_STDOUT, "%s\n", head);
    int put = mag_session_put(ctx->session, MAG_PREFS, name, o, obj_free, summ, task_name);
    if (put < 0) return mag_err_nomem(d);
    if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced preferences '%s'\n", name);
    return 0;
}

static int run_prefs(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                     const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    const char *name = NULL;
    int rc = mag_train_name(ctx, cell, "preferences", &name, d);
    if (rc) return rc;
    int from_file = mag_train_given(cfg, "file");
    const char *task_name = str_of(cfg, "task");
    const rt_task *task = NULL;
    if (from_file) {
        for (int i = 0; sim_keys[i]; i++)
            if (mag_train_given(cfg, sim_keys[i]))
                return mag_err(ctx, d, MAG_EVALUE, key_name_pos(cell, sim_keys[i]),
                               "key '%s' does nothing with file = ...: the file's pairs are "
                               "used as they are (remove it, or simulate without file)",
                               sim_keys[i]);
        if (!task_name)
            return mag_err(ctx, d, MAG_EVALUE, key_pos(cell, "file"),
                           "a preference file needs task = TASK (its tokens are the task's)");
        task = mag_session_get(ctx->session, MAG_TASK, task_name);
        if (!task) return mag_err_unknown(d, ctx, MAG_TASK, task_name, key_pos(cell, "task"));
        mag_prefs_obj *o = rt_calloc(1, sizeof *o);
        if (!o) return mag_err_nomem(d);
        rt_diag err;
        if (rt_task_create(rt_task_config_of(task), &o->task, NULL)) {
            obj_free(o);
            return mag_err_nomem(d);
        }
        const char *path = str_of(cfg, "file");
        rc = rt_pref_read(o->task, path, NULL, &o->set, &err);
        if (rc) {
            obj_free(o);
            if (rc == RT_ENOMEM) return mag_err_nomem(d);
            return mag_err(ctx, d, rc == RT_ENOENT || rc == RT_EIO ? MAG_ERUNTIME : MAG_EVALUE,
                           key_pos(cell, "file"), "%s", err.msg);
        }
        int ntr = rt_pref_count(o->set, RT_TASK_TRAIN),
            nho = rt_pref_count(o->set, RT_TASK_HELDOUT);
        char summ[600];
        snprintf(summ, sizeof summ, "%d train / %d held-out pairs on %s, read from %s", ntr, nho,
                 task_name, path);
        char head[700];
        snprintf(head, sizeof head, "preferences %s: %s", name, summ);
        show(ctx, o, name, head);
        int put = mag_session_put(ctx->session, MAG_PREFS, name, o, obj_free, summ, task_name);
        if (put < 0) return mag_err_nomem(d);
        if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced preferences '%s'\n", name);
        return 0;
    }
    /* simulated: one set, or one NAME[k=v,...] per sweep point (seed = [1, 2, 3] makes
       prefs[seed=s], each from the policy of its seed when from names a sweep); every
       point is checked before any is simulated */
    if (!str_of(cfg, "from"))
        return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                       "%%%%preferences needs from = POLICY and labeler = REWARD (simulated) "
                       "or file = PATH with task = TASK");
    rc = mag_train_check_points(ctx, cell, cfg->npoints, d);
    if (rc) return rc;
    char pname[MAG_TRAIN_NAME];
    for (int check = 1; check >= 0; check--)
        for (size_t pt = 0; pt < cfg->npoints; pt++) {
            mag_config_point_name(cfg, name, pt, pname, sizeof pname);
            rc = sim_point(ctx, cell, cfg, pt, name, pname, check, d);
            if (rc) return rc;
        }
    return 0;
}

/* mag_prefs.h: a set for the trainers. */
const rt_pref_set *mag_prefs_get(const mag_session *s, const char *name, const rt_task **task,
                                 const char **labeler)
{
    const mag_prefs_obj *o = mag_session_get(s, MAG_PREFS, name);
    if (task) *task = o ? o->task : NULL;
    if (labeler) *labeler = o && o->labeler[0] ? o->labeler : NULL;
    return o ? o->set : NULL;
}

/* mag_prefs.h: the set a trainer's data key denotes at a sweep point. */
int mag_prefs_at(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg, size_t pt,
                 const char *key, const rt_pref_set **set, const rt_task **task,
                 const char **labeler, const char **resolved, mag_diag *d)
{
    const char *name = mag_config_get(cfg, key, 0)->str, *got = NULL;
    mag_pos at = mag_train_value_pos(cell, key);
    char why[400];
    int prc =
        mag_train_pair_entry(ctx->session, MAG_PREFS, cfg, pt, NULL, name, &got, why, sizeof why);
    if (prc == 2) return mag_err(ctx, d, MAG_EVALUE, at, "%s", why);
    const rt_pref_set *s = prc ? NULL : mag_prefs_get(ctx->session, got, task, labeler);
    if (!s) {
        for (int k = 0; k < MAG_N_KINDS; k++)
            if (k != MAG_PREFS && mag_session_get(ctx->session, (mag_kind)k, name))
                return mag_err(ctx, d, MAG_EVALUE, at,
                               "'%s' is a %s, not a preference set (%%%%preferences defines one)",
                               name, mag_kind_name((mag_kind)k));
        return mag_err_unknown(d, ctx, MAG_PREFS, name, at);
    }
    if (set) *set = s;
    if (resolved) *resolved = got;
    return 0;
}

/* %export FILE.jsonl NAME of a preference set (mag_m_io.c): 0, or a cell error. */
int mag_prefs_export(mag_ctx *ctx, const char *path, const char *name, mag_pos at, mag_diag *d)
{
    const mag_prefs_obj *o = mag_session_get(ctx->session, MAG_PREFS, name);
    if (!o) return mag_err_unknown(d, ctx, MAG_PREFS, name, at);
    rt_diag err;
    int rc = rt_pref_write(o->set, o->task, path, &err);
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc) return mag_err(ctx, d, MAG_ERUNTIME, at, "%s", err.msg);
    krn_out_printf(ctx->out, KRN_STDOUT, "wrote %d preference pairs of %s to %s\n", o->set->n, name,
                   path);
    return 0;
}

static const mag_magic prefs_magic = {
    .name = "preferences",
    .cell = 1,
    .schema = &prefs_schema,
    .usage = "%%preferences NAME  (body: key = value lines)",
    .help = "Defines preference set NAME: pairs (prompt, chosen, rejected) for %%rm and %%dpo.\n"
            "Simulated: from = POLICY samples per_prompt answers per prompt (temperature) and\n"
            "compares all their pairs; labeler = REWARD (a %%reward on the task's features) is\n"
            "the hidden true utility: a is chosen with P = sigma((r(a) - r(b)) / T), T =\n"
            "label_temperature (0: the higher reward); equal rewards (ties = coin: a fair coin,\n"
            "ties = drop: skipped); then flip reverses each label with that probability (at\n"
            "most 0.5).  pairs training pairs from training prompts, heldout (default pairs/4)\n"
            "from held-out prompts; seed an extra seed (the stream is the session seed's for\n"
            "NAME).  seed, pairs, heldout, label_temperature and flip take lists: one set\n"
            "NAME[k=v,...] per point, each from the point of its seed when from is a sweep.  "
            "Loaded: file = PATH with task = TASK, JSONL with TRL's columns prompt,\n"
            "chosen, rejected, optional margin (and score_chosen / score_rejected); simulation\n"
            "keys are then errors.  Shows the counts, the labeler's agreement with the true\n"
            "reward (its ceiling for any reward model), ties and flips, and examples.\n"
            "%export FILE.jsonl NAME writes the set in the same JSONL.\n"
            "Example (true: a %%reward, e.g. correct):\n  %%preferences prefs\n  from = base\n"
            "  labeler = true\n  pairs = 400\n"
            "  label_temperature = 0.5",
    .run = run_prefs,
    .positional = "-",
};

const mag_magic *const mag_prefs_magics[] = {&prefs_magic, NULL};

/* ---- a preference set by value (a job's input, mag_prefs.h) ------------------------ */

/* mag_prefs.h: the bytes of set `name` for a job. */
int mag_prefs_pack(const mag_session *s, const char *name, rt_strbuf *out)
{
    const mag_prefs_obj *o = mag_session_get(s, MAG_PREFS, name);
    const mag_entry *e = mag_session_entry(s, MAG_PREFS, name);
    if (!o || !e) return 1;
    char *jsonl = NULL;
    size_t n = 0;
    if (rt_pref_format(o->set, o->task, &jsonl, &n, NULL)) return -1;
    rt_strbuf_printf(out, "preferences = %s\n", name);
    if (o->labeler[0]) rt_strbuf_printf(out, "labeler = %s\n", o->labeler);
    rt_strbuf_printf(out, "simulated = %d\ntask = %s\n", o->set->simulated ? 1 : 0,
                     e->task ? e->task : "");
    int rc = mag_task_spec_lines(o->task, out);
    rt_strbuf_printf(out, "jsonl = %zu\n", n);
    rt_strbuf_append(out, jsonl, n);
    rt_free(jsonl);
    return rc || out->err ? -1 : 0;
}

/* mag_prefs.h: puts the set a job carries into s. */
int mag_prefs_unpack_put(mag_session *s, const void *data, size_t size, char *name, size_t ncap,
                         char *err, size_t cap)
{
    const char *p = data, *at = NULL;
    for (size_t i = 0; i + 9 <= size && !at; i++) /* the line "jsonl = N" */
        if ((i == 0 || p[i - 1] == '\n') && !memcmp(p + i, "jsonl = ", 8)) at = p + i;
    const char *nl = at ? memchr(at, '\n', size - (size_t)(at - p)) : NULL;
    char *end = NULL;
    unsigned long long n = nl ? strtoull(at + 8, &end, 10) : 0;
    if (!nl || end != nl || n != size - (size_t)(nl + 1 - p)) {
        snprintf(err, cap,
                 "its bytes are not a preference set (no line 'jsonl = N' before N bytes)");
        return 1;
    }
    char *meta = rt_malloc((size_t)(at - p) + 1);
    if (!meta) return snprintf(err, cap, "out of memory"), 1;
    memcpy(meta, p, (size_t)(at - p));
    meta[at - p] = '\0';
    char task_name[MAG_NAME_MAX * 4 + 1], sim[8];
    mag_prefs_obj *o = rt_calloc(1, sizeof *o);
    rt_diag td = {0};
    int rc = 0;
    if (!o)
        rc = 1, snprintf(err, cap, "out of memory");
    else if (!mag_meta_get(meta, "preferences", name, ncap) || !name[0] ||
             !mag_meta_get(meta, "task", task_name, sizeof task_name) ||
             !mag_meta_get(meta, "simulated", sim, sizeof sim))
        rc = 1, snprintf(err, cap, "its bytes do not say its name, task and origin");
    else if ((rc = mag_task_from_meta(meta, &o->task, &td)) != 0)
        snprintf(err, cap, "task '%s': %s", task_name, rc == 1 ? "no definition" : td.msg), rc = 1;
    else if ((rc = rt_pref_parse(o->task, nl + 1, (size_t)n, name, &o->set, &td)) != 0)
        rc = 1, snprintf(err, cap, "%s", td.msg);
    if (!rc) {
        o->set->simulated = !strcmp(sim, "1");
        mag_meta_get(meta, "labeler", o->labeler, sizeof o->labeler);
        char summ[400];
        snprintf(summ, sizeof summ, "%d train / %d held-out pairs on %s, carried by a job",
                 rt_pref_count(o->set, RT_TASK_TRAIN), rt_pref_count(o->set, RT_TASK_HELDOUT),
                 task_name);
        if (mag_session_put(s, MAG_PREFS, name, o, obj_free, summ, task_name) < 0)
            rc = 1, snprintf(err, cap, "out of memory");
        o = NULL; /* the session's (freed by it on failure) */
    }
    obj_free(o);
    rt_free(meta);
    return rc;
}
