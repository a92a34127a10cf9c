/* mag_m_eval: %eval POLICY [task=T] [k=8] [temperature=1] [n=1024] — greedy, avg@k and
 * pass@k accuracy on held-out prompts (per domain for a mix) as a table; and
 * %sample POLICY [n=5] [prompt="..."] [temperature=1] — sampled completions with
 * per-token log-probs.  The task is task= or the policy's own.  Prompts and samples
 * come from rt_rng_from_name(session seed, "eval:POLICY") / ("sample:POLICY"), so a
 * re-run prints the same.  Leaves out: sweeps of these settings. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "rt_alloc.h"
#include "rt_eval.h"
#include "rt_policy.h"
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
};
static const mag_schema eval_schema = {"eval", eval_keys, sizeof eval_keys / sizeof eval_keys[0],
                                       "accuracy on held-out prompts"};

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
};
static const mag_schema sample_schema = {"sample", sample_keys,
                                         sizeof sample_keys / sizeof sample_keys[0],
                                         "sampled completions with per-token log-probs"};

/* Resolves POLICY and its task (task= or the policy's); 0 or an error in d. */
static int resolve(mag_ctx *ctx, const char *magic, const mag_line *line, const mag_config *cfg,
                   const char **pname, const rt_policy **pol, const rt_task **task, mag_diag *d)
{
    const char *name = mag_arg_word(line, 0);
    if (!name)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, line->name_pos.line,
                            line->name_pos.col, NULL,
                            "%%%s needs a POLICY: %%%s POLICY [key=value ...]", magic, magic);
    const mag_kv *a = mag_arg_pos(line, 0);
    const mag_kv *extra = mag_arg_pos(line, 1);
    if (extra)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, extra->value.pos.line,
                            extra->value.pos.col, NULL,
                            "unexpected argument '%s' (settings are key=value)", extra->value.text);
    *pol = mag_session_get(ctx->session, MAG_POLICY, name);
    if (!*pol) return mag_err_unknown(d, ctx, MAG_POLICY, name, a->value.pos);
    *pname = name;
    const mag_value *tv = mag_config_get(cfg, "task", 0);
    const char *tname = tv ? tv->str : NULL;
    if (!tname) {
        const mag_entry *e = mag_session_entry(ctx->session, MAG_POLICY, name);
        tname = e ? e->task : NULL;
        if (!tname)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, a->value.pos.line,
                                a->value.pos.col, NULL,
                                "policy '%s' has no task; give one with task=TASK", name);
    }
    *task = mag_session_get(ctx->session, MAG_TASK, tname);
    if (!*task) {
        mag_pos p = tv ? tv->pos : a->value.pos;
        return mag_err_unknown(d, ctx, MAG_TASK, tname, p);
    }
    if ((*pol)->cfg.vocab != rt_task_vocab_size(*task))
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, a->value.pos.line, a->value.pos.col,
                            NULL, "policy '%s' has a vocabulary of %d tokens, task '%s' %d", name,
                            (*pol)->cfg.vocab, tname, rt_task_vocab_size(*task));
    return 0;
}

static int run_eval(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)cell;
    const char *pname;
    const rt_policy *pol;
    const rt_task *task;
    int rc = resolve(ctx, "eval", line, cfg, &pname, &pol, &task, d);
    if (rc) return rc;
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = (int)mag_value_number(mag_config_get(cfg, "k", 0), 8);
    ec.temperature = (float)mag_value_number(mag_config_get(cfg, "temperature", 0), 1);
    ec.n_prompts = (int)mag_value_number(mag_config_get(cfg, "n", 0), 1024);
    char sname[300];
    snprintf(sname, sizeof sname, "eval:%s", pname);
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), sname);
    rt_eval *ev = NULL;
    rt_diag ed;
    rt_eval_result r;
    rc = rt_eval_create(&ev, task, &pol->model, &ec, &rng, &ed);
    if (rc == 0) rc = rt_eval_run(ev, &pol->model, &r, &ed);
    rt_eval_free(ev);
    if (rc == RT_ENOMEM)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    if (rc)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, line->name_pos.line,
                            line->name_pos.col, NULL, "%%eval %s: %s", pname, ed.msg);
    char kh[32], ph[32];
    snprintf(kh, sizeof kh, "avg@%d", r.k);
    snprintf(ph, sizeof ph, "pass@%d", r.k);
    const char *hdr[] = {"task", "prompts", "greedy", kh, ph};
    int nc = r.k > 0 ? 5 : 3;
    mag_table *t = mag_table_new(nc, hdr);
    char c[5][64];
    for (int dm = -1; t && dm < r.n_domains; dm++) {
        if (dm == -1 && r.n_domains > 1) continue; /* the total comes last for a mix */
        const char *row[5];
        if (dm >= 0 && r.n_domains == 1) break;
        if (dm >= 0) {
            row[0] = rt_task_domain_name(task, dm);
            snprintf(c[1], 64, "%d", r.domain_n[dm]);
            mag_fmt_num(r.domain_greedy[dm], 0, c[2], 64);
            mag_fmt_num(r.domain_avg_k[dm], 0, c[3], 64);
            mag_fmt_num(r.domain_pass_k[dm], 0, c[4], 64);
        } else {
            row[0] = mag_config_get(cfg, "task", 0)
                         ? mag_config_get(cfg, "task", 0)->str
                         : mag_session_entry(ctx->session, MAG_POLICY, pname)->task;
            snprintf(c[1], 64, "%d", r.n_prompts);
            mag_fmt_num(r.greedy, 0, c[2], 64);
            mag_fmt_num(r.avg_k, 0, c[3], 64);
            mag_fmt_num(r.pass_k, 0, c[4], 64);
        }
        for (int j = 1; j < 5; j++)
            row[j] = c[j];
        if (mag_table_row(t, row)) break;
    }
    if (t && r.n_domains > 1) {
        const char *row[5] = {"all", c[1], c[2], c[3], c[4]};
        snprintf(c[1], 64, "%d", r.n_prompts);
        mag_fmt_num(r.greedy, 0, c[2], 64);
        mag_fmt_num(r.avg_k, 0, c[3], 64);
        mag_fmt_num(r.pass_k, 0, c[4], 64);
        mag_table_row(t, row);
    }
    char cap[400];
    if (r.k > 0)
        snprintf(cap, sizeof cap,
                 "%%eval %s: held-out accuracy (greedy; %d samples per prompt at temperature %g)",
                 pname, r.k, (double)ec.temperature);
    else
        snprintf(cap, sizeof cap, "%%eval %s: held-out accuracy (greedy)", pname);
    mag_show(ctx->out, t ? mag_table_bundle(t, cap) : NULL);
    mag_table_free(t);
    return 0;
}

/* The answer part of generated tokens as text with log-probs: "4 (-0.01) 6 (-0.20) <eos>
 * (-0.00)"; *n_ans = tokens up to and including the first EOS. */
static void render_answer(const int *g, const float *lp, int T, char *ans, size_t acap, char *lps,
                          size_t lcap, double *sum)
{
    int n = 0;
    while (n < T && g[n] != RT_TOK_EOS)
        n++;
    if (n < T) n++;
    rt_task_render(g, n, ans, acap);
    size_t o = 0;
    *sum = 0;
    lps[0] = 0;
    for (int i = 0; i < n && o < lcap; i++) {
        const char *ts = rt_task_token_str(g[i]);
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
    const char *pname;
    const rt_policy *pol;
    const rt_task *task;
    int rc = resolve(ctx, "sample", line, cfg, &pname, &pol, &task, d);
    if (rc) return rc;
    int n = (int)mag_value_number(mag_config_get(cfg, "n", 0), 5);
    float temp = (float)mag_value_number(mag_config_get(cfg, "temperature", 0), 1);
    const mag_value *pv = mag_config_get(cfg, "prompt", 0);
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    char sname[300];
    snprintf(sname, sizeof sname, "sample:%s", pname);
    rt_rng rng = rt_rng_from_name(mag_session_seed(ctx->session), sname);
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
        char pr[96], ans[96], tg[96], lps[1024], cor[8], sum[32];
        double ls;
        rt_task_render(prompts + (size_t)i * P, P, pr, sizeof pr);
        render_answer(tok + (size_t)i * T, lp + (size_t)i * T, T, ans, sizeof ans, lps, sizeof lps,
                      &ls);
        rt_task_render(s[i].target, s[i].target_len, tg, sizeof tg);
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
    .usage = "%eval POLICY [task=T] [k=8] [temperature=1] [n=1024]",
    .help = "Accuracy of POLICY on held-out prompts of its task (or task=T): greedy, and\n"
            "avg@k / pass@k over k sampled answers per prompt; per domain for a mix.",
    .run = run_eval,
    .positional = "policy",
};

static const mag_magic sample_magic = {
    .name = "sample",
    .schema = &sample_schema,
    .usage = "%sample POLICY [n=5] [prompt=\"...\"] [temperature=1]",
    .help = "Sampled completions of POLICY on held-out prompts (or one given prompt) with\n"
            "the log-probability of every token.",
    .run = run_sample,
    .positional = "policy",
};

const mag_magic *const mag_eval_magics[] = {&eval_magic, &sample_magic, NULL};
