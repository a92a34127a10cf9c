/* mag_m_figure: %figure WHAT [key=value ...] — one-state pictures of the objects the
 * notebooks teach, computed by the runtime's own formulas (so the picture is what the
 * code does, not a drawing of what it should do):
 *
 *   %figure surrogate [clip=0.2]   the clipped surrogate min(rho A, clip(rho) A) of PPO /
 *       GRPO against the ratio rho, for A = +1 and A = -1, next to the unclipped rho A,
 *       and its gradient d/d log rho (zero where the clip holds): rt_rl_loss on one token.
 *   %figure kl                     the per-token KL estimators k1, k2, k3 against
 *       log r = log pi_ref - log pi_theta, and dk/d log pi_theta, the factor the loss puts
 *       on grad log pi_theta (k1: 1, whose expectation under pi_theta is zero; k2:
 *       -log r, the reverse KL's gradient; k3: 1 - r, the forward KL's):
 *       rt_rl_kl_est / rt_rl_kl_est_grad.
 *   %figure chi2 [p=0.5]           for one answer with pi(y) = p, the KL summand
 *       p log(p / pi_ref(y)) and the chi^2 summand p^2 / pi_ref(y) against pi_ref(y)
 *       (log axes): chi^2 punishes answers that are rare under the reference far more.
 *   %figure target ref=R teacher=T prompt="12+34=" [lambda=[0.5, 1, 2, 3]] [top=8]
 *       the G-OPD target softmax((1 - lambda) log pi_R + lambda log pi_T) of the first
 *       answer token of one prompt, for each lambda, next to pi_R and pi_T, over the
 *       teacher's `top` most likely tokens (x: rank; the tokens are listed in the axis
 *       title): lambda > 1 extrapolates log pi_T - log pi_R and, where pi_R is tiny,
 *       blows up tail tokens.
 *
 * Keys that do not apply to WHAT are errors at the key.  Leaves out: figures of training
 * runs (%plot), bars (the target's distributions are dots joined by lines). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_chart.h"
#include "rt_math.h"
#include "rt_model.h"
#include "rt_policy.h"
#include "rt_rl.h"
#include "rt_task.h"

static const mag_key_spec figure_keys[] = {
    {.name = "clip",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL | MAG_K_MAX_EXCL,
     .min = 0,
     .max = 1,
     .def = "0.2",
     .help = "surrogate: the clip epsilon"},
    {.name = "p",
     .type = MAG_T_NUMBER,
     .flags = MAG_K_MIN_EXCL | MAG_K_MAX,
     .min = 0,
     .max = 1,
     .def = "0.5",
     .help = "chi2: the policy's probability pi(y) of the answer"},
    {.name = "ref", .type = MAG_T_NAME, .object = "policy", .help = "target: the reference pi_R"},
    {.name = "teacher", .type = MAG_T_NAME, .object = "policy", .help = "target: the teacher pi_T"},
    {.name = "prompt", .type = MAG_T_STRING, .help = "target: the prompt, e.g. \"12+34=\""},
    {.name = "lambda",
     .type = MAG_T_LIST,
     .elem = MAG_T_NUMBER,
     .def = "[0.5, 1, 2, 3]",
     .help = "target: the lambdas drawn"},
    {.name = "top",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN | MAG_K_MAX,
     .min = 2,
     .max = 32,
     .def = "8",
     .help = "target: how many of the teacher's most likely tokens"},
};
static const mag_schema figure_schema = {"figure",
                                         figure_keys,
                                         sizeof figure_keys / sizeof figure_keys[0],
                                         "one-state pictures of the objects the notebooks teach",
                                         NULL,
                                         0};

enum { NPTS = 121, MAXLAM = 8, MAXTOP = 32 };

/* The figure's keys (the others are errors); "" ends the list. */
static const char *const uses[][6] = {{"surrogate", "clip", ""},
                                      {"kl", ""},
                                      {"chi2", "p", ""},
                                      {"target", "ref", "teacher", "prompt", "lambda", "top"}};

static int check_keys(mag_ctx *ctx, const mag_line *line, int what, mag_diag *d)
{
    for (size_t i = 0; i < line->nargs; i++) {
        const char *k = line->args[i].key;
        if (!k) continue;
        int ok = 0;
        for (int j = 1; j < 6 && uses[what][j][0] && !ok; j++)
            ok = !strcmp(uses[what][j], k);
        if (!ok)
            return mag_err(ctx, d, MAG_EVALUE, line->args[i].key_pos,
                           "'%s' has no effect on %%figure %s", k, uses[what][0]);
    }
    return 0;
}

/* Shows chart c (final: PNG where available). */
static int show(mag_ctx *ctx, const rt_chart *c, mag_diag *d)
{
    cJSON *b = mag_bridge_render(c);
    if (!b) return mag_err_nomem(d);
    mag_show_final_chart(ctx->out, b);
    return 0;
}

static int fig_surrogate(mag_ctx *ctx, const mag_config *cfg, mag_diag *d)
{
    double eps = mag_value_number(mag_config_get(cfg, "clip", 0), 0.2);
    rt_rl_config rc, c;
    rt_rl_config_init(&rc);
    const rt_rl_recipe *grpo;
    rt_rl_algo_parse("grpo", &grpo);
    rc.algo = grpo;
    rc.clip = eps;
    rc.kl = 0;
    rt_diag rd;
    if (rt_rl_config_check(&rc, &c, &rd))
        return mag_err(ctx, d, MAG_EVALUE, (mag_pos){0, 0, 0}, "%s", rd.msg);
    double x[NPTS], un[2][NPTS], cl[2][NPTS], gr[2][NPTS];
    for (int i = 0; i < NPTS; i++) {
        double rho = 0.02 + 1.98 * i / (NPTS - 1);
        x[i] = rho;
        for (int s = 0; s < 2; s++) {
            double A = s ? -1.0 : 1.0, lp_old = -1.0, lp = lp_old + rt_log(rho), dlp;
            int len = 1;
            double loss = rt_rl_loss(&c, 1, 1, &len, &lp, &lp_old, &lp_old, &A, &dlp, NULL);
            un[s][i] = rho * A;
            cl[s][i] = -loss;
            gr[s][i] = -dlp; /* d surrogate / d lp = d / d log rho */
        }
    }
    char t0[64], t1[64];
    snprintf(t0, sizeof t0, "A = +1 (clip %g)", eps);
    snprintf(t1, sizeof t1, "A = \u22121 (clip %g)", eps);
    rt_chart_series sp[2][2] = {{{.name = "\u03c1A (unclipped)", .x = x, .y = un[0], .n = NPTS},
                                 {.name = "clipped surrogate", .x = x, .y = cl[0], .n = NPTS}},
                                {{.name = "\u03c1A (unclipped)", .x = x, .y = un[1], .n = NPTS},
                                 {.name = "clipped surrogate", .x = x, .y = cl[1], .n = NPTS}}};
    rt_chart_series sg[2] = {{.name = "gradient, A = +1", .x = x, .y = gr[0], .n = NPTS},
                             {.name = "gradient, A = \u22121", .x = x, .y = gr[1], .n = NPTS}};
    rt_chart_panel p[3] = {{.title = t0,
                            .xlabel = "ratio \u03c1 = \u03c0\u03b8/\u03c0old",
                            .series = sp[0],
                            .nseries = 2},
                           {.title = t1,
                            .xlabel = "ratio \u03c1 = \u03c0\u03b8/\u03c0old",
                            .series = sp[1],
                            .nseries = 2},
                           {.title = "d surrogate / d log \u03c1",
                            .xlabel = "ratio \u03c1 = \u03c0\u03b8/\u03c0old",
                            .series = sg,
                            .nseries = 2}};
    rt_chart ch = {.title = "The clipped surrogate of PPO / GRPO (one token, rt_rl_loss)",
                   .panels = p,
                   .npanels = 3};
    return show(ctx, &ch, d);
}

static int fig_kl(mag_ctx *ctx, mag_diag *d)
{
    double x[NPTS], v[3][NPTS], g[3][NPTS];
    const rt_rl_estimator est[3] = {RT_RL_K1, RT_RL_K2, RT_RL_K3};
    for (int i = 0; i < NPTS; i++) {
        double lr = -2.0 + 4.0 * i / (NPTS - 1); /* log r = lp_ref - lp */
        x[i] = lr;
        for (int k = 0; k < 3; k++) {
            v[k][i] = rt_rl_kl_est(est[k], 0.0, lr);
            g[k][i] = rt_rl_kl_est_grad(est[k], 0.0, lr);
        }
    }
    static const char *const nm[3] = {"k1 = \u2212log r", "k2 = (log r)\u00b2/2",
                                      "k3 = r \u2212 1 \u2212 log r"};
    rt_chart_series sv[3], sg[3];
    for (int k = 0; k < 3; k++) {
        sv[k] = (rt_chart_series){.name = nm[k], .x = x, .y = v[k], .n = NPTS};
        sg[k] = (rt_chart_series){.name = nm[k], .x = x, .y = g[k], .n = NPTS};
    }
    rt_chart_panel p[2] = {{.title = "value at a sampled token",
                            .xlabel = "log r = log \u03c0ref \u2212 log \u03c0\u03b8",
                            .series = sv,
                            .nseries = 3},
                           {.title = "dk/d log \u03c0\u03b8: factor on \u2207log \u03c0\u03b8",
                            .xlabel = "log r = log \u03c0ref \u2212 log \u03c0\u03b8",
                            .series = sg,
                            .nseries = 3}};
    rt_chart ch = {.title = "KL estimators per token (rt_rl_kl_est)", .panels = p, .npanels = 2};
    return show(ctx, &ch, d);
}

static int fig_chi2(mag_ctx *ctx, const mag_config *cfg, mag_diag *d)
{
    double pp = mag_value_number(mag_config_get(cfg, "p", 0), 0.5);
    double x[NPTS], kl[NPTS], c2[NPTS];
    for (int i = 0; i < NPTS; i++) {
        double l10 = -4.0 + 4.0 * i / (NPTS - 1), q = rt_exp(l10 * rt_log(10.0));
        x[i] = l10;
        kl[i] = pp * rt_log(pp / q);
        c2[i] = pp * pp / q;
    }
    rt_chart_series s[2] = {
        {.name = "KL summand p log(p/\u03c0ref)", .x = x, .y = kl, .n = NPTS},
        {.name = "\u03c7\u00b2 summand p\u00b2/\u03c0ref", .x = x, .y = c2, .n = NPTS}};
    char t[96];
    snprintf(t, sizeof t, "one answer with \u03c0(y) = %g", pp);
    rt_chart_panel p = {
        .title = t, .xlabel = "log10 \u03c0ref(y)", .logy = 1, .series = s, .nseries = 2};
    rt_chart ch = {.title = "What each divergence charges for an answer the reference finds rare",
                   .panels = &p,
                   .npanels = 1};
    return show(ctx, &ch, d);
}

/* log_softmax of the first answer token of `prompt` under pol into out (V). */
static int first_token_logp(const rt_policy *pol, const int *prompt, int P, double *out)
{
    rt_model_ws *ws = NULL;
    int V = pol->model.vocab, tok;
    if (rt_model_ws_create(&ws, &pol->model, 1, NULL)) return -1;
    rt_rng rng = rt_rng_make(0);
    int rc = rt_model_generate(&pol->model, ws, prompt, 1, P, 1, 0.0f, &rng, 0, &tok, NULL);
    if (!rc) {
        const float *z = rt_model_ws_logits(ws);
        double m = z[0], s = 0;
        for (int v = 1; v < V; v++)
            m = z[v] > m ? z[v] : m;
        for (int v = 0; v < V; v++)
            s += rt_exp(z[v] - m);
        for (int v = 0; v < V; v++)
            out[v] = z[v] - m - rt_log(s);
    }
    rt_model_ws_free(ws);
    return rc;
}

static int fig_target(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, mag_diag *d)
{
    const mag_value *rv = mag_config_get(cfg, "ref", 0), *tv = mag_config_get(cfg, "teacher", 0),
                    *pv = mag_config_get(cfg, "prompt", 0);
    if (!rv || !tv || !pv)
        return mag_err(ctx, d, MAG_EVALUE, line->name_pos,
                       "%%figure target needs ref=POLICY teacher=POLICY prompt=\"...\"");
    const rt_policy *ref, *t;
    const char *rn, *tn;
    int rc = mag_train_policy_at(ctx, cfg, 0, rv->str, rv->pos, &ref, &rn, d);
    if (!rc) rc = mag_train_policy_at(ctx, cfg, 0, tv->str, tv->pos, &t, &tn, d);
    if (rc) return rc;
    const mag_entry *te = mag_session_entry(ctx->session, MAG_POLICY, tn);
    const rt_task *task = te && te->task ? mag_session_get(ctx->session, MAG_TASK, te->task) : NULL;
    if (!task) return mag_err(ctx, d, MAG_EVALUE, tv->pos, "policy '%s' has no task", tn);
    int V = rt_task_vocab_size(task), P = rt_task_prompt_len(task);
    if (ref->model.vocab != V || t->model.vocab != V)
        return mag_err(ctx, d, MAG_EVALUE, rv->pos,
                       "ref '%s' and teacher '%s' must share the task's vocabulary (%d tokens)", rn,
                       tn, V);
    rt_task_sample s;
    rt_diag te2;
    if (rt_task_sample_from_text(task, pv->str, &s, &te2))
        return mag_err(ctx, d, MAG_EVALUE, pv->pos, "prompt \"%s\": %s", pv->str, te2.msg);
    const mag_value *lv = mag_config_get(cfg, "lambda", 0);
    int nl = lv && lv->kind == MAG_V_LIST ? (int)lv->n : 0;
    if (nl < 1 || nl > MAXLAM)
        return mag_err(ctx, d, MAG_EVALUE, lv ? lv->pos : line->name_pos,
                       "lambda needs 1 to %d values", MAXLAM);
    int top = (int)mag_value_number(mag_config_get(cfg, "top", 0), 8);
    if (top > V) top = V;
    double *lr = rt_calloc((size_t)V, sizeof *lr), *lt = rt_calloc((size_t)V, sizeof *lt);
    double(*y)[MAXTOP] = rt_calloc((size_t)nl + 2, sizeof *y);
    double x[MAXTOP];
    int order[MAXTOP];
    if (!lr || !lt || !y) {
        rt_free(lr), rt_free(lt), rt_free(y);
        return mag_err_nomem(d);
    }
    if (first_token_logp(ref, s.prompt, P, lr) || first_token_logp(t, s.prompt, P, lt)) {
        rt_free(lr), rt_free(lt), rt_free(y);
        return mag_err_nomem(d);
    }
    /* the teacher's top tokens, most likely first (ties: lower id) */
    for (int k = 0; k < top; k++) {
        int best = -1;
        for (int v = 0; v < V; v++) {
            int used = 0;
            for (int j = 0; j < k && !used; j++)
                used = order[j] == v;
            if (!used && (best < 0 || lt[v] > lt[best])) best = v;
        }
        order[k] = best;
        x[k] = k + 1;
    }
    for (int k = 0; k < top; k++) {
        y[0][k] = rt_exp(lr[order[k]]);
        y[1][k] = rt_exp(lt[order[k]]);
    }
    char names[MAXLAM + 2][48];
    snprintf(names[0], sizeof names[0], "\u03c0ref (%s)", rn);
    snprintf(names[1], sizeof names[1], "\u03c0T (%s)", tn);
    for (int j = 0; j < nl; j++) {
        double lam = lv->items[j].num, m = -INFINITY, z = 0;
        for (int v = 0; v < V; v++) {
            double a = (1 - lam) * lr[v] + lam * lt[v];
            m = a > m ? a : m;
        }
        for (int v = 0; v < V; v++)
            z += rt_exp((1 - lam) * lr[v] + lam * lt[v] - m);
        for (int k = 0; k < top; k++)
            y[2 + j][k] = rt_exp((1 - lam) * lr[order[k]] + lam * lt[order[k]] - m) / z;
        snprintf(names[2 + j], sizeof names[2 + j], "target \u03bb = %g", lam);
    }
    rt_chart_series ser[MAXLAM + 2];
    for (int j = 0; j < nl + 2; j++)
        ser[j] = (rt_chart_series){
            .name = names[j], .x = x, .y = y[j], .n = (size_t)top, .points = RT_CHART_LINE_DOTS};
    char xl[400];
    size_t o = (size_t)snprintf(xl, sizeof xl, "the teacher's tokens by rank:");
    for (int k = 0; k < top && o < sizeof xl; k++)
        o +=
            (size_t)snprintf(xl + o, sizeof xl - o, " %d=%s", k + 1, rt_task_token(task, order[k]));
    char title[300];
    snprintf(title, sizeof title, "G-OPD target after \"%s\" (first answer token)", pv->str);
    rt_chart_panel p[2] = {{.title = "probability",
                            .xlabel = xl,
                            .ymin = 0,
                            .ymax = 1,
                            .series = ser,
                            .nseries = (size_t)nl + 2},
                           {.title = "probability (log axis): the tail",
                            .xlabel = xl,
                            .logy = 1,
                            .series = ser,
                            .nseries = (size_t)nl + 2}};
    rt_chart ch = {.title = title, .panels = p, .npanels = 2};
    rc = show(ctx, &ch, d);
    rt_free(lr), rt_free(lt), rt_free(y);
    return rc;
}

static int run_figure(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)cell;
    const char *w = mag_arg_word(line, 0);
    const mag_kv *a = mag_arg_pos(line, 0);
    int what = -1;
    for (int i = 0; w && i < 4; i++)
        if (!strcmp(w, uses[i][0])) what = i;
    if (what < 0)
        return mag_err(ctx, d, MAG_EVALUE, a ? a->value.pos : line->name_pos,
                       "%%figure draws surrogate, kl, chi2 or target%s%s%s", w ? " (not '" : "",
                       w ? w : "", w ? "')" : "");
    const mag_kv *extra = mag_arg_pos(line, 1);
    if (extra)
        return mag_err(ctx, d, MAG_EVALUE, extra->value.pos,
                       "unexpected argument '%s' (settings are key=value)", extra->value.text);
    int rc = check_keys(ctx, line, what, d);
    if (rc) return rc;
    switch (what) {
    case 0:
        return fig_surrogate(ctx, cfg, d);
    case 1:
        return fig_kl(ctx, d);
    case 2:
        return fig_chi2(ctx, cfg, d);
    default:
        return fig_target(ctx, line, cfg, d);
    }
}

static const mag_magic figure_magic = {
    .name = "figure",
    .schema = &figure_schema,
    .usage = "%figure surrogate|kl|chi2|target [key=value ...]",
    .help = "One-state pictures of the objects the notebooks teach, computed by the\n"
            "runtime's own formulas:\n"
            "  surrogate [clip=0.2]  PPO/GRPO's clipped surrogate against the ratio, A = +1\n"
            "                        and -1, and its gradient (zero where the clip holds)\n"
            "  kl                    k1, k2, k3 against log r and the factor each puts on\n"
            "                        grad log pi as a loss (k1: 1, zero in expectation;\n"
            "                        k2: reverse KL; k3: forward KL)\n"
            "  chi2 [p=0.5]          KL vs chi^2 charge for one answer against pi_ref(y)\n"
            "  target ref=R teacher=T prompt=\"12+34=\" [lambda=[0.5, 1, 2, 3]] [top=8]\n"
            "                        the G-OPD target softmax((1-l) log pi_R + l log pi_T) of\n"
            "                        the first answer token, per lambda, next to pi_R, pi_T",
    .run = run_figure,
    .positional = "-",
};

const mag_magic *const mag_figure_magics[] = {&figure_magic, NULL};
