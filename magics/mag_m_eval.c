/* mag_m_eval: %eval POLICY... [task=T] [k=8] [temperature=1] [n=1024] — greedy, avg@k
 * and pass@k accuracy on held-out prompts (per domain for a mix, one policy) as a table;
 * several policies on the same prompts with the same draws, with their paired
 * differences to the first and the standard errors of those; and
 * %sample POLICY [n=5] [prompt="..."] [temperature=1] — sampled completions with
 * per-token log-probs; with best_of=K reward=R [true=R2] (both magics), best-of-K under
 * R (mag_eval_bon.c): %sample shows the selected answer per prompt, %eval the means ±
 * standard errors of R and R2 on it for each K of a list beside the analytic KL (%correlate,
 * the exact moments, is mag_m_correlate.c; the helpers both share are mag_eval.h);
 * %sample ... attention=true, a gpt policy's attention heat maps, is mag_attn.c.
 * Prompts and samples come from the session's stream of the TASK, never the policy's
 * name: mag_eval_stream (the one every run on the task evaluates with) and
 * rt_rng_from_name(session seed, "sample:TASK"), so a re-run prints the same and two
 * policies are compared on the same prompts.  Leaves out: sweeps of these settings,
 * per-domain rows for several policies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_eval.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_bon.h"
#include "rt_eval.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_task.h"

static const mag_key_spec eval_keys[] = {
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task to evaluate on (default: the policy's)"},
    {.name = "k",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 256,
     .def = "8",
     .help = "samples per prompt for avg@k (0 = greedy only)"},
    {.name = "temperature",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1",
     .help = "sampling temperature"},
    {.name = "n",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 65536,
     .def = "1024",
     .help = "at most this many held-out prompts"},
    {.name = "best_of",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX | MAG_K_SWEEP,
     .min = 1,
     .max = RT_BON_MAX_K,
     .help = "best-of-K under reward= instead of accuracy; a list [1, 2, 4, ...] gives "
             "several K on the same nested draws"},
    {.name = "reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "with best_of: the reward that selects the best of K samples"},
    {.name = "true",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "with best_of: another reward (e.g. the labeler's true one) on the selected answers"},
    {.name = "pass_at",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX | MAG_K_SWEEP,
     .min = 1,
     .max = 256,
     .help = "a list [1, 4, 16, 64] of j <= k: pass@j of each policy, estimated without bias "
             "from its k samples per prompt (pass@k across k)"},
};
static const mag_schema eval_schema = {
    "eval", eval_keys, sizeof eval_keys / sizeof eval_keys[0], "accuracy on held-out prompts",
    NULL,   0};

static const mag_key_spec sample_keys[] = {
    {.name = "n",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 64,
     .def = "5",
     .help = "number of samples"},
    {.name = "prompt", .type = MAG_T_STRING, .help = "a prompt to complete, e.g. \"12+34=\""},
    {.name = "temperature",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1",
     .help = "sampling temperature"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task the prompts come from (default: the policy's)"},
    {.name = "best_of",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = RT_BON_MAX_K,
     .help = "draw K samples per prompt and show the best under reward="},
    {.name = "reward",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "with best_of: the reward that selects the best of K samples"},
    {.name = "true",
     .type = MAG_T_NAME,
     .object = "reward",
     .help = "with best_of: another reward shown beside it (e.g. the labeler's true one)"},
    {.name = "attention",
     .type = MAG_T_BOOL,
     .def = "false",
     .help = "gpt policies: heat maps of every head's attention on one prompt (prompt= or "
             "the first drawn) and its greedy completion (the first sample with "
             "temperature=)"},
};
static const mag_schema sample_schema = {"sample",
                                         sample_keys,
                                         sizeof sample_keys / sizeof sample_keys[0],
                                         "sampled completions with per-token log-probs",
                                         NULL,
                                         0};

int mag_eval_resolve_one(mag_ctx *ctx, const char *name, mag_pos pos, const mag_value *tv,
                         const rt_policy **pol, const char **tname, mag_diag *d)
{
    *pol = mag_session_get(ctx->session, MAG_POLICY, name);
    if (!*pol) return mag_err_unknown(d, ctx, MAG_POLICY, name, pos);
    *tname = tv ? tv->str : NULL;
    if (!*tname) {
        const mag_entry *e = mag_session_entry(ctx->session, MAG_POLICY, name);
        *tname = e ? e->task : NULL;
        if (!*tname)
            return mag_err(ctx, d, MAG_EVALUE, pos,
                           "policy '%s' has no task; give one with task=TASK", name);
    }
    return 0;
}

int mag_eval_resolve_task(mag_ctx *ctx, const char *pname, const rt_policy *pol, const char *tname,
                          const mag_value *tv, mag_pos pos, const rt_task **task, mag_diag *d)
{
    *task = mag_session_get(ctx->session, MAG_TASK, tname);
    if (!*task) return mag_err_unknown(d, ctx, MAG_TASK, tname, tv ? tv->pos : pos);
    if (pol->model.vocab != rt_task_vocab_size(*task))
        return mag_err(ctx, d, MAG_EVALUE, pos,
                       "policy '%s' has a vocabulary of %d tokens, task '%s' %d", pname,
                       pol->model.vocab, tname, rt_task_vocab_size(*task));
    int prc = mag_policy_need_positions(ctx, d, pol, pname, *task, tname, pos);
    if (prc) return prc;
    return mag_train_tilt_task(ctx, d, pol, pname, *task, tname, pos);
}

/* %sample's one POLICY and its task; 0 or an error in d. */
static int resolve(mag_ctx *ctx, const char *magic, const mag_line *line, const mag_config *cfg,
                   const char **pname, const rt_policy **pol, const rt_task **task,
                   const char **tname, mag_diag *d)
{
    const char *name = mag_arg_word(line, 0);
    if (!name)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%%s needs a POLICY: %%%s POLICY [key=value ...]", magic, magic);
    const mag_kv *a = mag_arg_pos(line, 0);
    const mag_kv *extra = mag_arg_pos(line, 1);
    if (extra)
        return mag_err(ctx, d, MAG_EVALUE, extra->value.pos,
                       "unexpected argument '%s' (settings are key=value)", extra->value.text);
    const mag_value *tv = mag_config_get(cfg, "task", 0);
    *pname = name;
    int rc = mag_eval_resolve_one(ctx, name, a->value.pos, tv, pol, tname, d);
    if (!rc) rc = mag_eval_resolve_task(ctx, name, *pol, *tname, tv, a->value.pos, task, d);
    return rc;
}

/* Mean and standard error of the paired differences x[i] / scale - y[i] / scale. */
static void paired(const int *x, const int *y, int n, double scale, double *mean, double *se)
{
    double m = 0, ss = 0;
    for (int i = 0; i < n; i++)
        m += (x[i] - y[i]) / scale;
    m /= n;
    for (int i = 0; i < n; i++) {
        double e = (x[i] - y[i]) / scale - m;
        ss += e * e;
    }
    *mean = m;
    *se = n > 1 ? sqrt(ss / (n - 1) / n) : NAN;
}

static void fmt_diff(const int *x, const int *y, int n, double scale, char *out, size_t cap)
{
    double m, se;
    paired(x, y, n, scale, &m, &se);
    if (fabs(m) < 5e-4) m = 0; /* no "-0.000" */
    snprintf(out, cap, "%+.3f ± %.3f", m, isnan(se) ? 0.0 : se);
}

/* The one-policy table: a row for the task (or per domain and "all" for a mix). */
static mag_table *table_one(const mag_eval_one *e, const char *tname, const rt_task *task)
{
    const rt_eval_result *r = &e->r;
    char kh[32], ph[32];
    snprintf(kh, sizeof kh, "avg@%d", r->k);
    snprintf(ph, sizeof ph, "pass@%d", r->k);
    const char *hdr[] = {"task", "prompts", "greedy", kh, ph};
    int nc = r->k > 0 ? 5 : 3;
    mag_table *t = mag_table_new(nc, hdr);
    char c[5][64];
    int mix = r->n_domains > 1; /* a row per domain, then "all"; else one row */
    for (int dm = mix ? 0 : -1; t && dm < (mix ? r->n_domains : 0); dm++) {
        const char *row[5] = {dm >= 0 ? rt_task_domain_name(task, dm) : tname, c[1], c[2], c[3],
                              c[4]};
        snprintf(c[1], 64, "%d", dm >= 0 ? r->domain_n[dm] : r->n_prompts);
        mag_fmt_num(dm >= 0 ? r->domain_greedy[dm] : r->greedy, 0, c[2], 64);
        mag_fmt_num(dm >= 0 ? r->domain_avg_k[dm] : r->avg_k, 0, c[3], 64);
        mag_fmt_num(dm >= 0 ? r->domain_pass_k[dm] : r->pass_k, 0, c[4], 64);
        if (mag_table_row(t, row)) return t;
    }
    if (t && mix) {
        const char *row[5] = {"all", c[1], c[2], c[3], c[4]};
        snprintf(c[1], 64, "%d", r->n_prompts);
        mag_fmt_num(r->greedy, 0, c[2], 64);
        mag_fmt_num(r->avg_k, 0, c[3], 64);
        mag_fmt_num(r->pass_k, 0, c[4], 64);
        mag_table_row(t, row);
    }
    return t;
}

/* Several policies on the same prompts: a row each, with the paired differences to the
 * first. */
static mag_table *table_many(const mag_eval_one *e, int np)
{
    int k = e[0].r.k, n = e[0].r.n_prompts;
    char kh[32], ph[32], dg[64], dk[64];
    snprintf(kh, sizeof kh, "avg@%d", k);
    snprintf(ph, sizeof ph, "pass@%d", k);
    snprintf(dg, sizeof dg, "greedy − %s", e[0].name);
    snprintf(dk, sizeof dk, "avg@%d − %s", k, e[0].name);
    const char *hdr[] = {"policy", "greedy", kh, ph, dg, dk};
    const char *hdr0[] = {"policy", "greedy", dg};
    mag_table *t = k > 0 ? mag_table_new(6, hdr) : mag_table_new(3, hdr0);
    for (int j = 0; t && j < np; j++) {
        char c[6][64];
        mag_fmt_num(e[j].r.greedy, 0, c[1], 64);
        mag_fmt_num(e[j].r.avg_k, 0, c[2], 64);
        mag_fmt_num(e[j].r.pass_k, 0, c[3], 64);
        if (j == 0) {
            snprintf(c[4], 64, "—");
            snprintf(c[5], 64, "—");
        } else {
            fmt_diff(e[j].g, e[0].g, n, 1.0, c[4], 64);
            if (k > 0) fmt_diff(e[j].s, e[0].s, n, (double)k, c[5], 64);
        }
        const char *row[6] = {e[j].name, c[1], c[2], c[3], c[4], c[5]};
        const char *row0[3] = {e[j].name, c[1], c[4]};
        if (mag_table_row(t, k > 0 ? row : row0)) break;
    }
    return t;
}

/* pass@j for the js (nj of them) from k samples per prompt: a row per policy, then a row
 * "P − FIRST" per further policy with the paired difference (mean ± standard error over
 * the prompts of the per-prompt estimates). */
static mag_table *table_pass_at(const mag_eval_one *e, int np, int k, const int *js, int nj)
{
    enum { MAXJ = 16 };
    int n = e[0].r.n_prompts;
    char hs[MAXJ][32];
    const char *hdr[MAXJ + 1] = {"policy"};
    for (int q = 0; q < nj; q++) {
        snprintf(hs[q], sizeof hs[q], "pass@%d", js[q]);
        hdr[q + 1] = hs[q];
    }
    mag_table *t = mag_table_new(nj + 1, hdr);
    char c[MAXJ + 1][96];
    const char *row[MAXJ + 1];
    for (int q = 0; q <= nj; q++)
        row[q] = c[q];
    for (int j = 0; t && j < np; j++) {
        snprintf(c[0], sizeof c[0], "%s", e[j].name);
        for (int q = 0; q < nj; q++) {
            double m = 0;
            for (int i = 0; i < n; i++)
                m += rt_eval_pass_at(k, e[j].s[i], js[q]);
            mag_fmt_num(m / n, 0, c[q + 1], sizeof c[q + 1]);
        }
        if (mag_table_row(t, row)) return t;
    }
    for (int j = 1; t && j < np; j++) {
        snprintf(c[0], sizeof c[0], "%s − %s", e[j].name, e[0].name);
        for (int q = 0; q < nj; q++) {
            double m = 0, ss = 0;
            for (int i = 0; i < n; i++)
                m += rt_eval_pass_at(k, e[j].s[i], js[q]) - rt_eval_pass_at(k, e[0].s[i], js[q]);
            m /= n;
            for (int i = 0; i < n; i++) {
                double x =
                    rt_eval_pass_at(k, e[j].s[i], js[q]) - rt_eval_pass_at(k, e[0].s[i], js[q]) - m;
                ss += x * x;
            }
            double se = n > 1 ? sqrt(ss / (n - 1) / n) : 0.0;
            if (fabs(m) < 5e-5) m = 0; /* no "-0.0000" */
            snprintf(c[q + 1], sizeof c[q + 1], "%+.4f ± %.4f", m, se);
        }
        if (mag_table_row(t, row)) return t;
    }
    return t;
}

int mag_eval_expand_names(mag_ctx *ctx, const mag_line *line, const char **names,
                          const mag_kv **args, int *nn, mag_diag *d)
{
    *nn = 0;
    for (size_t i = 0; mag_arg_pos(line, i) && *nn <= EVAL_MAX_POLICIES; i++) {
        const mag_kv *a = mag_arg_pos(line, i);
        const char *name = mag_arg_word(line, i);
        if (!name)
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "'%s' is not a policy name",
                           a->value.text);
        size_t nl = strlen(name), before = (size_t)*nn;
        if (!mag_session_get(ctx->session, MAG_POLICY, name))
            for (size_t k = 0; k < mag_session_count(ctx->session, MAG_POLICY); k++) {
                const mag_entry *pe = mag_session_at(ctx->session, MAG_POLICY, k);
                if (*nn <= EVAL_MAX_POLICIES && !strncmp(pe->name, name, nl) && pe->name[nl] == '[')
                    args[*nn] = a, names[(*nn)++] = pe->name;
            }
        if ((size_t)*nn == before && *nn <= EVAL_MAX_POLICIES) args[*nn] = a, names[(*nn)++] = name;
    }
    return 0;
}

/* The given value of key (NULL when not set in the line). */
const mag_value *mag_eval_given(const mag_config *cfg, const char *key)
{
    int i = mag_schema_find(cfg->schema, key);
    return i >= 0 && cfg->given[i] ? cfg->values[i] : NULL;
}

static int run_eval(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    mag_eval_one e[EVAL_MAX_POLICIES];
    memset(e, 0, sizeof e);
    const mag_value *tv = mag_config_get(cfg, "task", 0);
    const char *tname = NULL, *tfrom = NULL;
    const rt_task *task = NULL;
    int np = 0, rc = 0;
    const char *names[EVAL_MAX_POLICIES + 1];
    const mag_kv *args[EVAL_MAX_POLICIES + 1];
    int nn = 0;
    rc = mag_eval_expand_names(ctx, line, names, args, &nn, d);
    if (rc) return rc;
    for (int i = 0; i < nn; i++) {
        const mag_kv *a = args[i];
        const char *name = names[i];
        if (np == EVAL_MAX_POLICIES)
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                           "%%eval compares at most %d policies at once", EVAL_MAX_POLICIES);
        for (int j = 0; j < np; j++)
            if (strcmp(e[j].name, name) == 0)
                return mag_err(ctx, d, MAG_EVALUE, a->value.pos, "policy '%s' is listed twice",
                               name);
        const char *tn;
        rc = mag_eval_resolve_one(ctx, name, a->value.pos, tv, &e[np].pol, &tn, d);
        if (rc) return rc;
        if (!tname) {
            tname = tn, tfrom = name;
            rc = mag_eval_resolve_task(ctx, name, e[np].pol, tn, tv, a->value.pos, &task, d);
        } else if (strcmp(tn, tname) != 0) {
            return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                           "policy '%s' was trained on task '%s', '%s' on '%s': give task=TASK "
                           "to compare them on the same prompts",
                           name, tn, tfrom, tname);
        } else {
            const rt_task *t2;
            rc = mag_eval_resolve_task(ctx, name, e[np].pol, tn, tv, a->value.pos, &t2, d);
        }
        if (rc) return rc;
        e[np++].name = name;
    }
    if (np == 0)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%eval needs a POLICY: %%eval POLICY... [key=value ...]");
    int bon = mag_bon_wanted(ctx, cfg, d);
    if (bon < 0) return bon;
    if (bon && mag_eval_given(cfg, "k"))
        return mag_err(ctx, d, MAG_EVALUE, mag_eval_given(cfg, "k")->pos,
                       "k= is for avg@k; best_of=K replaces accuracy by best-of-K (drop one)");
    const mag_value *pav = mag_eval_given(cfg, "pass_at");
    if (bon && pav)
        return mag_err(ctx, d, MAG_EVALUE, pav->pos,
                       "pass_at= is for accuracy; best_of=K replaces it by best-of-K (drop one)");
    if (bon) return mag_eval_bon(ctx, line, cfg, e, np, task, tname, d);
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = (int)mag_value_number(mag_config_get(cfg, "k", 0), 8);
    int js[16], nj = 0;
    if (pav) {
        if (cfg->npoints > 16)
            return mag_err(ctx, d, MAG_EVALUE, pav->pos,
                           "pass_at lists at most 16 values of j, not %zu", cfg->npoints);
        for (size_t p = 0; p < cfg->npoints; p++) {
            const mag_value *v = mag_config_get(cfg, "pass_at", p);
            js[nj] = (int)mag_value_number(v, 1);
            if (js[nj] > ec.k)
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "pass_at=%d needs at least %d samples per prompt: set k=%d or "
                               "more (k is %d)",
                               js[nj], js[nj], js[nj], ec.k);
            nj++;
        }
    }
    ec.temperature = (float)mag_value_number(mag_config_get(cfg, "temperature", 0), 1);
    ec.n_prompts = (int)mag_value_number(mag_config_get(cfg, "n", 0), 1024);
    /* the session's prompts and draws of the task, whichever the policies */
    rt_rng rng = mag_eval_stream(mag_session_seed(ctx->session), tname).rng;
    int failed = -1, n = 0;
    rt_diag ed = {0};
    for (int j = 0; j < np && failed < 0; j++) {
        rt_eval *ev = NULL;
        rc = rt_eval_create(&ev, task, &e[j].pol->model, &ec, &rng, &ed);
        if (rc == 0) rc = rt_eval_run(ev, &e[j].pol->model, &e[j].r, &ed);
        if (rc == 0) {
            n = e[j].r.n_prompts;
            e[j].g = rt_malloc(sizeof(int) * (size_t)n);
            e[j].s = ec.k > 0 ? rt_malloc(sizeof(int) * (size_t)n) : NULL;
            if (!e[j].g || (ec.k > 0 && !e[j].s)) {
                rc = RT_ENOMEM;
            } else {
                memcpy(e[j].g, rt_eval_hits_greedy(ev), sizeof(int) * (size_t)n);
                if (ec.k > 0) memcpy(e[j].s, rt_eval_hits_sampled(ev), sizeof(int) * (size_t)n);
            }
        }
        rt_eval_free(ev);
        if (rc) failed = j;
    }
    mag_table *t = NULL, *tp = NULL;
    if (failed < 0) t = np == 1 ? table_one(&e[0], tname, task) : table_many(e, np);
    if (failed < 0 && t && nj) tp = table_pass_at(e, np, ec.k, js, nj);
    for (int j = 0; j < np; j++) {
        rt_free(e[j].g);
        rt_free(e[j].s);
    }
    if (rc == RT_ENOMEM || (failed < 0 && (!t || (nj && !tp)))) {
        mag_table_free(t);
        mag_table_free(tp);
        return mag_err_nomem(d);
    }
    if (rc)
        return mag_err(ctx, d, MAG_ERUNTIME, line->name_pos, "%%eval %s: %s", e[failed].name,
                       ed.msg);
    char cap[600], what[200];
    if (ec.k > 0)
        snprintf(what, sizeof what, "greedy; %d samples per prompt at temperature %g", ec.k,
                 (double)ec.temperature);
    else
        snprintf(what, sizeof what, "greedy");
    if (np == 1)
        snprintf(cap, sizeof cap, "%%eval %s: held-out accuracy (%s)", e[0].name, what);
    else
        snprintf(cap, sizeof cap,
                 "%%eval: held-out accuracy on the same %d prompts of %s (%s; the same draws "
                 "for every policy); differences paired by prompt, ± their standard error",
                 n, tname, what);
    mag_show(ctx->out, mag_table_bundle(t, cap));
    mag_table_free(t);
    if (tp) {
        snprintf(cap, sizeof cap,
                 "pass@j on the same %d prompts, estimated without bias from the %d samples per "
                 "prompt (1 − C(k−c, j)/C(k, j) for c correct of k; Chen et al. 2021)%s",
                 n, ec.k, np > 1 ? "; differences paired by prompt, ± their standard error" : "");
        mag_show(ctx->out, mag_table_bundle(tp, cap));
        mag_table_free(tp);
    }
    return 0;
}

/* The answer part of generated tokens as text with log-probs: "4 (-0.01) 6 (-0.20) <eos>
 * (-0.00)"; *n_ans = tokens up to and including the first EOS. */
void mag_eval_render_answer(const rt_task *task, const int *g, const float *lp, int T, char *ans,
                            size_t acap, char *lps, size_t lcap, double *sum)
{
    int n = 0;
    while (n < T && g[n] != RT_TOK_EOS)
        n++;
    if (n < T) n++;
    rt_task_render_with(task, g, n, ans, acap);
    size_t o = 0;
    *sum = 0;
    lps[0] = 0;
    for (int i = 0; i < n && o < lcap; i++) {
        const char *ts = rt_task_token(task, g[i]);
        double v = lp[i] > -0.005f ? 0.0 : (double)lp[i]; /* no "-0.00" */
        o += (size_t)snprintf(lps + o, lcap - o, "%s%s %.2f", i ? "  " : "", ts ? ts : "?", v);
        *sum += lp[i];
    }
}

static int run_sample(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    const char *pname = NULL;
    const rt_policy *pol;
    const rt_task *task;
    const char *tname = NULL;
    int rc = resolve(ctx, "sample", line, cfg, &pname, &pol, &task, &tname, d);
    if (rc) return rc;
    int attn = mag_value_bool(mag_config_get(cfg, "attention", 0), 0);
    if (attn) { /* one prompt, one completion: checked before anything runs */
        const mag_value *av = mag_eval_given(cfg, "attention"), *nv = mag_eval_given(cfg, "n"),
                        *bv = mag_eval_given(cfg, "best_of");
        if (strcmp(pol->model.ops->arch, "gpt"))
            return mag_err(ctx, d, MAG_EVALUE, av ? av->pos : line->name_pos,
                           "attention=true needs an arch = gpt policy; '%s' is %s", pname,
                           pol->model.ops->arch);
        if (nv)
            return mag_err(ctx, d, MAG_EVALUE, nv->pos,
                           "attention=true shows one prompt and one completion; drop n=");
        if (bv)
            return mag_err(ctx, d, MAG_EVALUE, bv->pos,
                           "attention=true shows the greedy completion (or the first sample "
                           "with temperature=), not a best-of-K selection; drop best_of=");
        int bw = mag_bon_wanted(ctx, cfg, d); /* reward= / true= alone */
        if (bw < 0) return bw;
    }
    int n = attn ? 1 : (int)mag_value_number(mag_config_get(cfg, "n", 0), 5);
    float temp = (float)mag_value_number(mag_config_get(cfg, "temperature", 0), 1);
    const mag_value *pv = mag_config_get(cfg, "prompt", 0);
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    /* the task's prompts and draws of this session: %sample a and %sample b are paired */
    rt_rng rng = mag_train_stream(mag_session_seed(ctx->session), "sample:", tname, NULL);
    rt_task_sample *s = rt_calloc((size_t)n, sizeof *s);
    int *prompts = rt_calloc((size_t)n * (size_t)P, sizeof *prompts);
    int *tok = rt_calloc((size_t)n * (size_t)T, sizeof *tok);
    float *lp = rt_calloc((size_t)n * (size_t)T, sizeof *lp);
    rt_model_ws *ws = NULL;
    mag_table *t = NULL;
    if (!s || !prompts || !tok || !lp) goto oom;
    if (pv) {
        rt_diag te;
        if (rt_task_sample_from_text(task, pv->str, &s[0], &te)) {
            rt_free(s);
            rt_free(prompts);
            rt_free(tok);
            rt_free(lp);
            return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, pv->pos.line, pv->pos.col, NULL,
                                "prompt \"%s\": %s", pv->str, te.msg);
        }
        for (int i = 1; i < n; i++)
            s[i] = s[0];
        for (int i = 0; i < n; i++)
            memcpy(prompts + (size_t)i * P, s[0].prompt, (size_t)P * sizeof *prompts);
    } else {
        rt_rng pr = rt_rng_split(&rng, 0);
        rt_task_sample_batch(task, &pr, 0, RT_TASK_HELDOUT, n, s, prompts);
    }
    if (attn) {
        rt_rng gr = rt_rng_split(&rng, 1);
        rc = mag_sample_attention(ctx, line, pname, pol, task, &s[0], &gr, temp,
                                  mag_eval_given(cfg, "temperature") != NULL, d);
        rt_free(s);
        rt_free(prompts);
        rt_free(tok);
        rt_free(lp);
        return rc;
    }
    int bon = mag_bon_wanted(ctx, cfg, d);
    if (bon) {
        if (bon > 0) {
            rt_rng br = rt_rng_split(&rng, 1);
            bon = mag_sample_bon(ctx, line, cfg, pname, pol, task, s, n, temp, &br, d);
        }
        rt_free(s);
        rt_free(prompts);
        rt_free(tok);
        rt_free(lp);
        return bon;
    }
    rt_diag pd;
    if (rt_model_ws_create(&ws, &pol->model, n, &pd)) goto oom;
    rt_rng gr = rt_rng_split(&rng, 1);
    rc = rt_model_generate(&pol->model, ws, prompts, n, P, T, temp, &gr, 0, tok, lp);
    if (rc) {
        rt_model_ws_free(ws);
        rt_free(s);
        rt_free(prompts);
        rt_free(tok);
        rt_free(lp);
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, line->name_pos.line,
                            line->name_pos.col, NULL, "%%sample %s: generation failed (%d)", pname,
                            rc);
    }
    static const char *const hdr[] = {"prompt",  "completion", "target",
                                      "correct", "log p",      "per-token log-probs"};
    t = mag_table_new(6, hdr);
    if (!t) goto oom;
    for (int i = 0; i < n; i++) {
        char pr[160], ans[160], tg[160], lps[1024], cor[8], sum[32];
        double ls;
        rt_task_render_with(task, prompts + (size_t)i * P, P, pr, sizeof pr);
        mag_eval_render_answer(task, tok + (size_t)i * T, lp + (size_t)i * T, T, ans, sizeof ans,
                               lps, sizeof lps, &ls);
        rt_task_render_with(task, s[i].target, s[i].target_len, tg, sizeof tg);
        snprintf(cor, sizeof cor, "%d", rt_task_verify(task, &s[i], tok + (size_t)i * T, T));
        snprintf(sum, sizeof sum, "%.3f", ls);
        const char *row[] = {pr, ans, tg, cor, sum, lps};
        if (mag_table_row(t, row)) goto oom;
    }
    char cap[400];
    snprintf(cap, sizeof cap,
             "%%sample %s: %d completions at temperature %g (log-probs at "
             "temperature 1)",
             pname, n, (double)temp);
    mag_show(ctx->out, mag_table_bundle(t, cap));
    mag_table_free(t);
    rt_model_ws_free(ws);
    rt_free(s);
    rt_free(prompts);
    rt_free(tok);
    rt_free(lp);
    return 0;
oom:
    mag_table_free(t);
    rt_model_ws_free(ws);
    rt_free(s);
    rt_free(prompts);
    rt_free(tok);
    rt_free(lp);
    return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
}

static const mag_magic eval_magic = {
    .name = "eval",
    .schema = &eval_schema,
    .usage = "%eval POLICY... [task=T] [k=8] [temperature=1] [n=1024] [pass_at=[1, 4, ...]]\n"
             "      [best_of=K reward=R [true=R2]]",
    .help = "Accuracy of POLICY on held-out prompts of its task (or task=T): greedy, and\n"
            "avg@k / pass@k over k sampled answers per prompt; per domain for a mix.\n"
            "The prompts and draws are the session's for the task, the same for every\n"
            "policy and every run's eval_accuracy on it: %eval base tuned shows both on\n"
            "the same prompts with the paired difference to the first (mean ± standard\n"
            "error over prompts).  A sweep cell's NAME evaluates each of its points NAME[...]\n"
            "(at most 32 policies in all).\n"
            "pass_at=[1, 4, 16, 64] adds pass@j for each j <= k, estimated without bias from\n"
            "the k samples per prompt (1 - C(k-c, j)/C(k, j) with c of k correct; Chen et\n"
            "al. 2021), with paired differences to the first policy: pass@k across k, e.g.\n"
            "RL raising pass@1 while pass@64 stays (sharpening).\n"
            "best_of=K reward=R [true=R2] replaces accuracy by best-of-K: K samples per\n"
            "prompt (at temperature=), the one R scores highest (ties: the first drawn),\n"
            "and the mean ± standard error over the prompts of R (and R2, e.g. the\n"
            "labeler's true reward) on it, beside KL bound = log K − (K − 1)/K, the KL of\n"
            "best-of-K to the policy (an upper bound: exact only if no two draws could tie\n"
            "under R, which finite answers always can).\n"
            "best_of=[1, 2, 4, 8, 16] gives several K on the same nested draws (a larger K\n"
            "adds draws to a smaller one's), the same for every policy: best-of-n on the\n"
            "axes of an overoptimization plot (reward against KL).  A reward reading\n"
            "rm(NAME) of a sweep scores each point base[seed=s] with NAME[seed=s].\n"
            "Example:\n  %eval base tuned best_of=[1, 4, 16] reward=proxy true=truth",
    .run = run_eval,
    .positional = "policy",
};

static const mag_magic sample_magic = {
    .name = "sample",
    .schema = &sample_schema,
    .usage = "%sample POLICY [n=5] [prompt=\"...\"] [temperature=1] [best_of=K reward=R [true=R2]] "
             "[attention=true]",
    .help = "Sampled completions of POLICY on held-out prompts (or one given prompt) with\n"
            "the log-probability of every token.  best_of=K reward=R shows, per prompt, the\n"
            "best of K completions under R (ties: the first drawn) with its reward (and\n"
            "true=R2's) and which draw it was; a larger K adds draws to a smaller one's.\n"
            "attention=true (arch = gpt policies) shows what every head attends to on ONE\n"
            "prompt (prompt=, else the first one drawn) and its greedy completion (with\n"
            "temperature= given: the first sample at that temperature, the table's first\n"
            "row): a heat map per head (rows = layers, columns = heads; row = query\n"
            "position, column = key position, ⟨bos⟩ first, shade = probability 0..1) as\n"
            "a PNG (as charts' final frames), and a text twin listing per query the next token, a\n"
            "shaded row and the key it attends to most.  n= and best_of= do not go with\n"
            "it.  Example:\n  %sample g prompt=\"12+34=\" attention=true",
    .run = run_sample,
    .positional = "policy",
};

const mag_magic *const mag_eval_magics[] = {&eval_magic, &sample_magic, NULL};
