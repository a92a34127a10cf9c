/* mag_train: the pieces the training magics share (mag_train.h): the cell's NAME check,
 * key positions, sweep point names, labels and streams, and storing runs and policies
 * with the cell's ending (interrupted / failed).  Leaves out everything one magic alone
 * does: its keys, checks, jobs, chart options and summaries. */
#include "mag_train.h"
#include "mag_lineage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "rt_tilt.h"
#include "rt_model_gpt.h"
#include "rt_policy.h"
#include "rt_score.h"

int mag_train_name(const mag_ctx *ctx, const mag_cell *cell, const char *magic, const char **name,
                   mag_diag *d)
{
    if (cell->nargs < 1 || cell->args[0].key ||
        (cell->args[0].value.kind != MAG_V_NAME && cell->args[0].value.kind != MAG_V_STRING))
        return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                       "%%%%%s needs a NAME: %%%%%s NAME, then key = value lines", magic, magic);
    for (size_t i = 1; i < cell->nargs; i++)
        if (!cell->args[i].key)
            return mag_err(ctx, d, MAG_EVALUE, cell->args[i].value.pos,
                           "unexpected argument '%s' (settings are key = value lines)",
                           cell->args[i].value.text);
    *name = cell->args[0].value.str;
    return mag_check_name(ctx, *name, cell->args[0].value.pos, d);
}

double mag_train_num(const mag_config *cfg, const char *key, size_t pt)
{
    return mag_value_number(mag_config_get(cfg, key, pt), NAN);
}

int mag_train_enum(const mag_config *cfg, const char *key, size_t pt, const char *const *values)
{
    const mag_value *v = mag_config_get(cfg, key, pt);
    for (int i = 0; v && v->str && values[i]; i++)
        if (!strcmp(v->str, values[i])) return i;
    return -1;
}

int mag_train_given(const mag_config *cfg, const char *key)
{
    int i = mag_schema_find(cfg->schema, key);
    return i >= 0 && cfg->given[i];
}

const mag_value *mag_train_raw(const mag_cell *cell, const char *key)
{
    for (size_t i = 0; i < cell->nentries; i++)
        if (!strcmp(cell->entries[i].key, key)) return &cell->entries[i].value;
    for (size_t i = 0; i < cell->nargs; i++)
        if (cell->args[i].key && !strcmp(cell->args[i].key, key)) return &cell->args[i].value;
    return NULL;
}

mag_pos mag_train_value_pos(const mag_cell *cell, const char *key)
{
    const mag_value *v = mag_train_raw(cell, key);
    return v ? v->pos : cell->name_pos;
}

int mag_train_check_points(const mag_ctx *ctx, const mag_cell *cell, size_t np, mag_diag *d)
{
    if (np <= MAG_TRAIN_MAX_POINTS) return 0;
    return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                   "a sweep of %zu points is too large (the limit is %d)", np,
                   MAG_TRAIN_MAX_POINTS);
}

/* The name a key is shown with in a legend: Greek letters for their names. */
static const char *shown_key(const char *key)
{
    static const char *const greek[][2] = {
        {"alpha", "\u03b1"},   {"beta", "\u03b2"},  {"gamma", "\u03b3"},  {"delta", "\u03b4"},
        {"epsilon", "\u03b5"}, {"eta", "\u03b7"},   {"lambda", "\u03bb"}, {"mu", "\u03bc"},
        {"rho", "\u03c1"},     {"sigma", "\u03c3"}, {"tau", "\u03c4"}};
    for (size_t i = 0; i < sizeof greek / sizeof greek[0]; i++)
        if (!strcmp(key, greek[i][0])) return greek[i][1];
    return key;
}

/* 1 if swept key s of cfg (index into cfg->swept) varies in the legend: two values or
 * more, and not the seed. */
static int varies(const mag_config *cfg, size_t s)
{
    return cfg->grid[s].n_values >= 2 && strcmp(cfg->grid[s].name, "seed") != 0;
}

/* 1 if the values of swept key s are shown bare: values of an enum key (words from the
 * key's own list, which name themselves: "full", "rloo") that no other varying enum key
 * of the cell also takes. */
static int bare(const mag_config *cfg, size_t s)
{
    if (cfg->schema->keys[cfg->swept[s]].type != RT_KEY_ENUM) return 0;
    for (size_t o = 0; o < cfg->nswept; o++) {
        if (o == s || !varies(cfg, o) || cfg->schema->keys[cfg->swept[o]].type != RT_KEY_ENUM)
            continue;
        for (int a = 0; a < cfg->grid[s].n_values; a++)
            for (int b = 0; b < cfg->grid[o].n_values; b++)
                if (!strcmp(cfg->grid[s].values[a], cfg->grid[o].values[b])) return 0;
    }
    return 1;
}

void mag_train_point_names(const mag_config *cfg, const char *base, size_t pt, char *name,
                           char *label)
{
    const size_t cap = MAG_TRAIN_NAME;
    mag_config_point_name(cfg, base, pt, name, cap);
    /* the label: the keys that vary, "λ=1.25 · full" (mag_train.h) */
    size_t o = 0;
    label[0] = '\0';
    for (size_t s = 0; s < cfg->nswept; s++) {
        if (!varies(cfg, s)) continue;
        const mag_value *v = mag_config_at(cfg, cfg->swept[s], pt);
        const char *text = !v ? "" : v->kind == MAG_V_STRING ? v->str : v->text;
        const char *sep = o ? " \u00b7 " : "";
        if (o < cap)
            o += (size_t)(bare(cfg, s) ? snprintf(label + o, cap - o, "%s%s", sep, text)
                                       : snprintf(label + o, cap - o, "%s%s=%s", sep,
                                                  shown_key(cfg->grid[s].name), text));
    }
    if (o == 0) snprintf(label, cap, "%s", base); /* nothing varies but the seed */
}

rt_rng mag_train_stream(uint64_t seed, const char *prefix, const char *name,
                        const mag_value *seed_value)
{
    rt_rng r;
    if (prefix[0]) {
        char full[300];
        snprintf(full, sizeof full, "%s%s", prefix, name);
        r = rt_rng_from_name(seed, full);
    } else {
        r = rt_rng_from_name(seed, name);
    }
    if (seed_value) r = rt_rng_split(&r, (uint64_t)seed_value->i + 1000);
    return r;
}

rt_eval_stream mag_eval_stream(uint64_t seed, const char *task)
{
    return (rt_eval_stream){.set = 1, .rng = mag_train_stream(seed, "eval:", task, NULL)};
}

int mag_train_strip_seed(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    char *b = strchr(out, '[');
    if (!b) return 0;
    char *p = strstr(b, "seed=");
    if (!p || (p[-1] != '[' && p[-1] != ',')) return 0;
    char *e = p + 5;
    while (*e && *e != ',' && *e != ']')
        e++;
    if (p[-1] == ',')
        p--; /* drop ",seed=N" */
    else if (*e == ',')
        e++; /* "[seed=N," -> "[" */
    memmove(p, e, strlen(e) + 1);
    size_t n = strlen(out);
    if (n >= 2 && out[n - 2] == '[' && out[n - 1] == ']') out[n - 2] = '\0';
    return 1;
}

void mag_train_mean_sd(const double *v, int k, char *out, size_t cap)
{
    double mean = 0.0, sd = 0.0;
    int nv = 0;
    for (int q = 0; q < k; q++)
        if (isfinite(v[q])) mean += v[q], nv++;
    mean = nv ? mean / nv : NAN;
    for (int q = 0; q < k; q++)
        if (isfinite(v[q])) sd += (v[q] - mean) * (v[q] - mean);
    sd = nv > 1 ? sqrt(sd / (nv - 1)) : NAN;
    char a[32], b[32];
    mag_fmt_num(mean, 0, a, 32);
    mag_fmt_num(sd, 0, b, 32);
    if (nv == k || nv == 0)
        snprintf(out, cap, "%s ± %s", a, b);
    else
        snprintf(out, cap, "%s ± %s (%d)", a, b, nv);
}

int mag_train_run_config(rt_run *run, const mag_config *cfg, size_t pt)
{
    return mag_train_run_config_omit(run, cfg, pt, NULL);
}

int mag_train_run_config_omit(rt_run *run, const mag_config *cfg, size_t pt,
                              const char *const *omit)
{
    for (size_t k = 0; k < cfg->schema->nkeys; k++) {
        int skip = 0;
        for (size_t i = 0; omit && omit[i] && !skip; i++)
            skip = !strcmp(omit[i], cfg->schema->keys[k].name);
        if (skip) continue;
        const mag_value *v = mag_config_at(cfg, k, pt);
        const char *text = !v ? NULL : v->kind == MAG_V_STRING ? v->str : v->text;
        if (text && rt_run_add_config(run, cfg->schema->keys[k].name, text) == RT_ENOMEM)
            return MAG_ENOMEM;
    }
    return 0;
}

int mag_train_need_weights(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                           const char *role, mag_pos at)
{
    if (!p || !rt_tilt_is(&p->model)) return 0;
    return mag_err(ctx, d, MAG_EVALUE, at,
                   "%s = %s: '%s' is a %s model without weights (made by %%%s): it cannot be "
                   "trained or copied; use it as a teacher or reference, in %%eval or %%sample",
                   role, name, name, p->model.ops->arch, p->model.ops->arch);
}

int mag_train_tilt_task(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                        const rt_task *task, const char *tname, mag_pos at)
{
    if (!p || !rt_tilt_is(&p->model) || !task) return 0;
    const mag_entry *e = mag_session_entry(ctx->session, MAG_POLICY, name);
    const char *own_name = e && e->task ? e->task : "?";
    const rt_task *own = e && e->task ? mag_session_get(ctx->session, MAG_TASK, e->task) : NULL;
    if (own && (own == task || mag_task_same(own, task))) return 0;
    return mag_err(ctx, d, MAG_EVALUE, at,
                   "'%s' is a tilt over the prompts of task '%s', not of task '%s' (define a "
                   "tilt with task = %s)",
                   name, own_name, tname ? tname : "?", tname ? tname : "TASK");
}

int mag_policy_copy(rt_policy **out, const rt_policy *src, rt_diag *d)
{
    *out = NULL;
    if (rt_tilt_is(&src->model))
        return rt_diag_set(d, RT_EINVAL, "policy copy: a '%s' model has no weights to copy",
                           src->model.ops->arch);
    rt_model *m = NULL;
    int rc = rt_model_copy(&m, &src->model, d);
    *out = (rt_policy *)m; /* the model header first: rt_policy.h, rt_model_gpt.h */
    return rc;
}

const rt_policy *mag_policy_mlp(const rt_policy *p)
{
    return p ? rt_policy_of_const(&p->model) : NULL;
}

void mag_policy_describe(const rt_policy *p, char *buf, size_t cap)
{
    const rt_policy *m = mag_policy_mlp(p);
    if (m) {
        const rt_policy_config *pc = &m->cfg;
        snprintf(buf, cap, "mlp V=%d K=%d D=%d H=%d L=%d %s", pc->vocab, pc->context, pc->embed,
                 pc->hidden, pc->layers, pc->act == RT_NN_ACT_GELU ? "gelu" : "relu");
    } else if (p->model.ops == &rt_model_gpt) {
        int c[RT_MODEL_MAX_KEYS];
        rt_model_config(&p->model, c);
        snprintf(buf, cap, "gpt V=%d layers=%d heads=%d width=%d context=%d mlp_ratio=%d",
                 p->model.vocab, c[RT_GPT_LAYERS], c[RT_GPT_HEADS], c[RT_GPT_WIDTH],
                 c[RT_GPT_CONTEXT], c[RT_GPT_MLP_RATIO]);
    } else {
        snprintf(buf, cap, "%s V=%d", p->model.ops->arch, p->model.vocab);
    }
}

int mag_policy_need_positions(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                              const rt_task *task, const char *tname, mag_pos at)
{
    if (!p || !task || p->model.ops != &rt_model_gpt) return 0;
    int c[RT_MODEL_MAX_KEYS];
    rt_model_config(&p->model, c);
    int L = rt_task_prompt_len(task) + rt_task_answer_max(task);
    if (L <= c[RT_GPT_CONTEXT]) return 0;
    return mag_err(ctx, d, MAG_EVALUE, at,
                   "task %s needs P + T = %d positions; '%s' has context = %d (a gpt attends to "
                   "at most `context` positions)",
                   tname ? tname : "?", L, name, c[RT_GPT_CONTEXT]);
}

void mag_train_free_policy(void *p)
{
    rt_policy_free(p);
}

void mag_train_free_run(void *r)
{
    rt_run_free(r);
}

void mag_train_store_init(mag_train_store *s)
{
    memset(s, 0, sizeof *s);
    s->stop_step = -1;
}

rt_run_status mag_train_status(rt_run *run, long *step, char *msg, size_t cap)
{
    *step = 0;
    if (cap) msg[0] = '\0';
    if (!run) return RT_RUN_FINISHED;
    rt_run_status stt = rt_run_status_of(run, step, msg, cap);
    if (stt == RT_RUN_CREATED) { /* skipped by the sweep after an interrupt */
        rt_run_finish(run, RT_RUN_INTERRUPTED, 0, "");
        stt = RT_RUN_INTERRUPTED;
    }
    return stt;
}

const char *mag_train_suffix(rt_run_status stt)
{
    return stt == RT_RUN_INTERRUPTED ? " (interrupted)" : stt == RT_RUN_FAILED ? " (failed)" : "";
}

void mag_train_note(mag_train_store *s, const char *name, rt_run_status stt, long step,
                    const char *msg)
{
    if (stt == RT_RUN_FAILED) {
        s->n_failed++;
        if (!s->fail_msg[0])
            snprintf(s->fail_msg, sizeof s->fail_msg, "run '%s' failed: %s", name, msg);
    }
    if (stt == RT_RUN_INTERRUPTED && s->stop_step < 0) {
        s->stop_step = step;
        snprintf(s->stop_name, sizeof s->stop_name, "%s", name);
    }
}

void mag_train_put_run(mag_ctx *ctx, const char *name, rt_run *run, const char *summ,
                       const char *task)
{
    if (mag_session_put(ctx->session, MAG_RUN, name, run, mag_train_free_run, summ, task) == 1)
        krn_out_printf(ctx->out, KRN_STDOUT, "replaced run '%s'\n", name);
}

void mag_train_put_policy(mag_ctx *ctx, const char *name, rt_policy *pol, const char *summ,
                          const char *task, int show_summ)
{
    int r = mag_session_put(ctx->session, MAG_POLICY, name, pol, mag_train_free_policy, summ, task);
    if (r == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced policy '%s'\n", name);
    if (show_summ)
        krn_out_printf(ctx->out, KRN_STDOUT, "policy %s: %s\n", name, summ);
    else
        krn_out_printf(ctx->out, KRN_STDOUT, "policy %s\n", name);
}

int mag_train_end(mag_ctx *ctx, const mag_cell *cell, const mag_train_store *s, int interrupted,
                  long max_steps, const char *base, size_t np, mag_diag *d)
{
    if (interrupted) {
        char ev[600];
        snprintf(ev, sizeof ev, "interrupted at step %ld of %ld (%s); %s",
                 s->stop_step < 0 ? 0 : s->stop_step, max_steps,
                 s->stop_name[0] ? s->stop_name : base,
                 np > 1 ? "the partial runs and their policies are kept"
                        : "the partial run and its policy are kept");
        krn_out_error(ctx->out, "Interrupted", ev, NULL, 0);
        return MAG_INTERRUPTED;
    }
    if (s->n_failed)
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%s%s", s->fail_msg,
                       np > s->n_failed ? " (the other sweep points finished)" : "");
    return 0;
}

/* ---- pairing by key ------------------------------------------------------------------ */

/* 1 if the texts a and b are the same value: equal text, or numbers equal as numbers
 * (3e-4 and 0.0003). */
static int same_value(const char *a, size_t na, const char *b)
{
    if (strlen(b) == na && !strncmp(a, b, na)) return 1;
    char buf[64], *ea, *eb;
    if (na == 0 || na >= sizeof buf) return 0;
    memcpy(buf, a, na);
    buf[na] = '\0';
    double x = strtod(buf, &ea), y = strtod(b, &eb);
    return *ea == '\0' && *eb == '\0' && *b && x == y;
}

/* Where pairing reads a key's value: point pt of a cell's config, or the point list
 * "k=v,...]" of another sweep's point. */
typedef struct pair_src {
    const mag_config *cfg;
    size_t pt;
    const char *list;
} pair_src;

/* The text of key's value in src (length *len), or NULL when src has no such key. */
static const char *src_value(const pair_src *src, const char *key, size_t *len)
{
    if (src->cfg) {
        const mag_value *v = mag_schema_find(src->cfg->schema, key) < 0
                                 ? NULL
                                 : mag_config_get(src->cfg, key, src->pt);
        if (!v || !v->text) return NULL;
        *len = strlen(v->text);
        return v->text;
    }
    size_t kl = strlen(key);
    for (const char *p = src->list; p && *p && *p != ']';) {
        size_t n = strcspn(p, ",]");
        if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            *len = n - kl - 1;
            return p + kl + 1;
        }
        p += n;
        if (*p == ',') p++;
    }
    return NULL;
}

/* 1 if the point list of a member (after "NAME[") matches src; 0 if not; -1 with the key
 * in why when a key of the member is not a key of src. */
static int member_matches(const pair_src *src, const char *list, char *why, size_t cap)
{
    const char *p = list;
    while (*p && *p != ']') {
        const char *eq = strchr(p, '='), *end = p + strcspn(p, ",]");
        if (!eq || eq > end) return 0;
        char key[64], val[64];
        size_t kl = (size_t)(eq - p), vl;
        if (kl >= sizeof key) return 0;
        memcpy(key, p, kl);
        key[kl] = '\0';
        const char *v = src_value(src, key, &vl);
        if (!v || vl >= sizeof val) {
            snprintf(why, cap, "%s", key);
            return -1;
        }
        memcpy(val, v, vl);
        val[vl] = '\0';
        if (!same_value(eq + 1, (size_t)(end - eq - 1), val)) return 0;
        p = *end == ',' ? end + 1 : end;
    }
    return 1;
}

/* The session's entry of `kind` (a policy, a debate) `name` denotes at point pt
 * (mag_train.h): 0 with *out; 1 when the session has neither an object nor a sweep of that
 * name; 2 with why. */
static int pair_kind(const mag_session *s, mag_kind kind, const pair_src *src, const char *name,
                     const mag_entry **out, char *why, size_t cap)
{
    *out = mag_session_entry(s, kind, name);
    if (*out) return 0;
    size_t nl = strlen(name), n = mag_session_count(s, kind), members = 0, found = 0;
    const mag_entry *first = NULL, *last = NULL;
    char key[64] = "";
    for (size_t i = 0; i < n; i++) {
        const mag_entry *e = mag_session_at(s, kind, i);
        if (strncmp(e->name, name, nl) || e->name[nl] != '[') continue;
        if (!members++) first = e;
        last = e;
        int m = member_matches(src, e->name + nl + 1, key, sizeof key);
        if (m < 0) {
            snprintf(why, cap,
                     "'%s' is a sweep over %s (%s, ...), a key %s does not set: name "
                     "one point, or sweep %s here too",
                     name, key, e->name, src->cfg ? "this cell" : "this point", key);
            return 2;
        }
        if (m > 0 && !found++) *out = e;
    }
    if (!members) return 1;
    if (found == 1) return 0;
    char here[256] = "";
    if (src->cfg)
        mag_config_point_name(src->cfg, "", src->pt, here, sizeof here);
    else
        snprintf(here, sizeof here, "[%s", src->list);
    if (found > 1)
        snprintf(why, cap, "%zu points of sweep '%s' match this cell's point %s: name one", found,
                 name, here);
    else
        snprintf(why, cap,
                 "no point of sweep '%s' matches this cell's point %s (its points: %s%s%s); pair "
                 "them by sweeping the same keys with the same values",
                 name, here[0] ? here : "(no swept key)", first->name,
                 members > 1 ? (members > 2 ? " ... " : ", ") : "", members > 1 ? last->name : "");
    *out = NULL;
    return 2;
}

static int pair(const mag_session *s, const pair_src *src, const char *name, const mag_entry **out,
                char *why, size_t cap)
{
    return pair_kind(s, MAG_POLICY, src, name, out, why, cap);
}

int mag_train_policy_at(mag_ctx *ctx, const mag_config *cfg, size_t pt, const char *name,
                        mag_pos at, const rt_policy **out, const char **resolved, mag_diag *d)
{
    const mag_entry *e;
    char why[512];
    pair_src src = {cfg, pt, NULL};
    int r = pair(ctx->session, &src, name, &e, why, sizeof why);
    *out = NULL;
    if (r == 1) return mag_err_unknown(d, ctx, MAG_POLICY, name, at);
    if (r == 2) return mag_err(ctx, d, MAG_EVALUE, at, "%s", why);
    if (resolved) *resolved = e->name;
    *out = e->obj;
    return 0;
}

const char *mag_train_pair_name(const mag_session *s, const mag_config *cfg, size_t pt,
                                const char *name)
{
    const mag_entry *e;
    char why[8];
    pair_src src = {cfg, pt, NULL};
    return pair(s, &src, name, &e, why, sizeof why) == 0 ? e->name : name;
}

int mag_train_pair_entry(const mag_session *s, mag_kind kind, const mag_config *cfg, size_t pt,
                         const char *list, const char *name, const char **resolved, char *why,
                         size_t cap)
{
    const mag_entry *e;
    pair_src src = {cfg, pt, cfg ? NULL : list};
    int r = pair_kind(s, kind, &src, name, &e, why, cap);
    if (r == 0) *resolved = e->name;
    return r;
}

int mag_train_pair_point(mag_ctx *ctx, const char *list, const char *name, mag_pos at,
                         const rt_policy **out, const char **resolved, mag_diag *d)
{
    const mag_entry *e;
    char why[512];
    pair_src src = {NULL, 0, list};
    int r = pair(ctx->session, &src, name, &e, why, sizeof why);
    *out = NULL;
    if (r == 1) return mag_err_unknown(d, ctx, MAG_POLICY, name, at);
    if (r == 2) return mag_err(ctx, d, MAG_EVALUE, at, "%s", why);
    if (resolved) *resolved = e->name;
    *out = e->obj;
    return 0;
}

/* mag_train.h */
int mag_train_link_reward(const mag_ctx *ctx, const rt_task *task, const rt_reward_program *p,
                          mag_pos at, rt_reward_program **out, mag_diag *d)
{
    int nf = rt_task_n_features(task);
    const char *names[RT_TASK_MAX_FEATURES];
    if (nf > RT_TASK_MAX_FEATURES) nf = RT_TASK_MAX_FEATURES;
    for (int i = 0; i < nf; i++)
        names[i] = rt_task_feature_name(task, i);
    rt_diag rd;
    if (rt_reward_check_features(p, names, nf, &rd))
        return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
    rt_reward_env env;
    memset(&env, 0, sizeof env);
    env.name = rt_reward_name(p);
    env.features = names;
    env.n_features = nf;
    const char *tnames[RT_TASK_MAX_TEXTS];
    unsigned char tnum[RT_TASK_MAX_TEXTS];
    rt_score_env_texts(task, &env, tnames, tnum);
    if (rt_reward_link(p, &env, out, &rd)) {
        if (rd.code == RT_ENOMEM) return mag_err_nomem(d);
        return mag_err(ctx, d, MAG_EVALUE, at, "%s", rd.msg);
    }
    return 0;
}
