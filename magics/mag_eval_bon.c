/* mag_eval_bon: best-of-K for the evaluating magics (rt_bon.h): %sample POLICY best_of=K
 * reward=R [true=R2] shows the selected answer per prompt, %eval ... best_of=[...] the
 * means +- standard errors of R and R2 on it for each K beside the analytic KL.  The
 * rewards may read feature functions (rm(NAME), debate(NAME)), resolved at the scored
 * policy's sweep point.  Leaves out: the magics' own tables and resolution
 * (mag_m_eval.c), the selection itself (rt_bon.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_debate.h"
#include "mag_eval.h"
#include "mag_rm.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_bon.h"
#include "rt_eval.h"
#include "rt_features.h"
#include "rt_reward.h"

/* ---- best-of-K (rt_bon.h): %sample ... best_of=K reward=R, %eval ... best_of=[...] ---- */

/* best_of's rewards linked to the task: [0] = reward= (selects), [1] = true= if given. */
typedef struct bon_rewards {
    int nr;
    const char *name[2];
    rt_reward_program *linked[2];
    double *params[2];
    /* a reward reading feature functions (rm(NAME), debate(NAME)): its provider, state,
       run workspace and the hook rt_bon calls (rt_bon_spec.hook) */
    const rt_feature_provider *fp;
    void *fstate, *fws;
    rt_rl_hook hook;
} bon_rewards;

static void bon_rewards_free(bon_rewards *br)
{
    for (int j = 0; j < 2; j++) {
        rt_reward_free(br->linked[j]);
        rt_free(br->params[j]);
    }
    if (br->fp) {
        if (br->fws) br->fp->run_free(br->fws);
        br->fp->destroy(br->fstate);
    }
}

/* Where feature-function arguments resolve: the session, for the evaluated policy. */
typedef struct bon_env {
    const mag_session *s;
    const char *policy; /* the policy scored (base[seed=3]), or NULL */
} bon_env;

/* NAME, or NAME[k=v,...] when NAME is no object of `kind` but the point of a sweep with
 * the key values of the scored policy is (base[seed=3] reads rm(r) as r[seed=3]: a
 * pipeline per seed, as %%rl pairs by key); buf holds the paired name. */
static const char *bon_paired(const bon_env *be, mag_kind kind, const char *name, char *buf,
                              size_t cap)
{
    const char *keys = be->policy ? strchr(be->policy, '[') : NULL;
    if (!keys || mag_session_get(be->s, kind, name)) return name;
    int w = snprintf(buf, cap, "%s%s", name, keys);
    return w > 0 && (size_t)w < cap && mag_session_get(be->s, kind, buf) ? buf : name;
}

/* Feature-function names over the session (rt_feature_env): debate(NAME) and
 * judge_full(NAME) -> its debate, rm / rm_mean / rm_min(NAME) -> its reward model (the
 * point of the scored policy's keys when NAME is a sweep: bon_paired). */
static int bon_resolve(void *ctx, const char *fn, const char *arg, void *out, char *err,
                       size_t errlen)
{
    const bon_env *be = ctx;
    const mag_session *s = be->s;
    char buf[512];
    if (!strcmp(fn, "debate") || !strcmp(fn, "judge_full"))
        return mag_debate_resolve(&s, bon_paired(be, MAG_DEBATE, arg, buf, sizeof buf), out, err,
                                  errlen);
    if (!strcmp(fn, "rm") || !strcmp(fn, "rm_mean") || !strcmp(fn, "rm_min"))
        return mag_rm_resolve(s, bon_paired(be, MAG_RM, arg, buf, sizeof buf), out, err, errlen);
    snprintf(err, errlen, "no session objects for %s(...)", fn);
    return -1;
}

/* 1 if the line asks for best-of-K; 0 if none of best_of, reward, true is given; an error
 * (negative, in d) when they do not go together. */
int mag_bon_wanted(mag_ctx *ctx, const mag_config *cfg, mag_diag *d)
{
    const mag_value *bv = mag_eval_given(cfg, "best_of"), *rv = mag_eval_given(cfg, "reward"),
                    *tv = mag_eval_given(cfg, "true");
    if (!bv && (rv || tv))
        return mag_err(ctx, d, MAG_EVALUE, rv ? rv->pos : tv->pos,
                       "%s= goes with best_of=K: the best of K samples under reward=R",
                       rv ? "reward" : "true");
    if (bv && !rv)
        return mag_err(ctx, d, MAG_EVALUE, bv->pos,
                       "best_of=K needs reward=R: the reward that selects the best of K samples");
    return bv != NULL;
}

/* Links reward= and true= to the task (parameters at their defaults) for scoring policy
 * `policy` (its name: rm(NAME) of a sweep reads the point of its keys); 0 or an error. */
static int bon_rewards_get(mag_ctx *ctx, const mag_config *cfg, const rt_task *task,
                           const char *policy, bon_rewards *br, mag_diag *d)
{
    memset(br, 0, sizeof *br);
    const mag_value *v[2] = {mag_eval_given(cfg, "reward"), mag_eval_given(cfg, "true")};
    const rt_reward_program *progs[2] = {NULL, NULL};
    for (int j = 0; j < 2; j++)
        if (v[j] && !(progs[j] = mag_session_get(ctx->session, MAG_REWARD, v[j]->str)))
            return mag_err_unknown(d, ctx, MAG_REWARD, v[j]->str, v[j]->pos);
    /* rewards reading rm(NAME) or debate(NAME): linked by their provider, whose hook
       fills those slots for every draw */
    const rt_feature_provider *fp = rt_features_for_reward(progs[0]);
    if (!fp && progs[1]) fp = rt_features_for_reward(progs[1]);
    if (fp) {
        char msg[256];
        bon_env be = {ctx->session, policy};
        rt_feature_env env = {bon_resolve, &be};
        const rt_reward_program *r0 = progs[0] ? progs[0] : progs[1];
        const rt_reward_program *r1 = progs[0] ? progs[1] : NULL;
        if (fp->create(task, r0, r1, &env, &br->fstate, &br->linked[0], r1 ? &br->linked[1] : NULL,
                       msg, sizeof msg))
            return mag_err(ctx, d, MAG_EVALUE, v[0] ? v[0]->pos : v[1]->pos, "%s", msg);
        br->fp = fp;
        if (fp->run_new(br->fstate, 1024, 1, &br->fws)) return mag_err_nomem(d);
        br->hook = (rt_rl_hook){fp->n_features(br->fstate), 0, NULL, fp->fill, br->fws};
    }
    for (int j = 0; j < 2; j++) {
        if (!v[j]) continue;
        const rt_reward_program *p = progs[j];
        int k = br->nr++, npar = rt_reward_n_params(p);
        br->name[k] = v[j]->str;
        br->params[k] = rt_calloc((size_t)(npar > 0 ? npar : 1), sizeof(double));
        if (!br->params[k]) return mag_err_nomem(d);
        int rc = fp ? 0 : mag_train_link_reward(ctx, task, p, v[j]->pos, &br->linked[k], d);
        if (rc) return rc;
        rt_diag td;
        if (rt_reward_bind_params(br->linked[k], NULL, NULL, 0, br->params[k], &td))
            return mag_err(ctx, d, MAG_EVALUE, v[j]->pos, "%s", td.msg);
    }
    return 0;
}

static rt_bon_spec bon_spec(const rt_policy *pol, const rt_task *task, const rt_task_sample *s,
                            int n, int k, float temp, const rt_rng *draws, const bon_rewards *br,
                            int threads)
{
    rt_bon_spec sp = {.policy = &pol->model,
                      .task = task,
                      .prompts = s,
                      .n = n,
                      .k_max = k,
                      .temperature = temp,
                      .draws = draws,
                      .rewards = (const rt_reward_program *const *)br->linked,
                      .params = (const double *const *)br->params,
                      .nr = br->nr,
                      .threads = threads,
                      .hook = br->fp ? &br->hook : NULL};
    return sp;
}

/* "MEAN ± SE" (just MEAN when the standard error is NaN). */
static void fmt_mean_se(double m, double se, char *out, size_t cap)
{
    char a[32], b[32];
    mag_fmt_num(m, 0, a, sizeof a);
    if (isnan(se)) {
        snprintf(out, cap, "%s", a);
        return;
    }
    mag_fmt_num(se, 0, b, sizeof b);
    snprintf(out, cap, "%s ± %s", a, b);
}

/* %eval POLICY... best_of=K|[K, ...] reward=R [true=R2]: per policy and K, the mean ±
 * standard error over %eval's held-out prompts of R (and R2) on the best-of-K answer, and
 * the analytic KL.  The prompts are %eval's (the session's evaluation stream of the
 * task), the draws split 2 of that stream: the same for every policy, nested in K and
 * independent of the list of K and of n (rt_bon.h). */
int mag_eval_bon(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const mag_eval_one *e,
                 int np, const rt_task *task, const char *tname, mag_diag *d)
{
    bon_rewards br;
    int rc = bon_rewards_get(ctx, cfg, task, e[0].name, &br, d);
    if (rc) {
        bon_rewards_free(&br);
        return rc;
    }
    if (cfg->npoints > 64) {
        bon_rewards_free(&br);
        return mag_err(ctx, d, MAG_EVALUE, mag_eval_given(cfg, "best_of")->pos,
                       "best_of lists at most 64 values of K, not %zu", cfg->npoints);
    }
    int nk = (int)cfg->npoints, ks[64], kmax = 0;
    for (int p = 0; p < nk; p++) {
        ks[p] = (int)mag_value_number(mag_config_get(cfg, "best_of", (size_t)p), 1);
        if (ks[p] > kmax) kmax = ks[p];
    }
    rt_eval_config ec;
    rt_eval_config_init(&ec);
    ec.k = 0;
    ec.n_prompts = (int)mag_value_number(mag_config_get(cfg, "n", 0), 1024);
    float temp = (float)mag_value_number(mag_config_get(cfg, "temperature", 0), 1);
    rt_rng rng = mag_eval_stream(mag_session_seed(ctx->session), tname).rng;
    rt_rng draws = rt_rng_split(&rng, 2);
    rt_eval *ev = NULL;
    rt_diag ed = {0};
    rt_task_sample *s = NULL;
    mag_table *t = NULL;
    int n = 0;
    if (rt_eval_create(&ev, task, &e[0].pol->model, &ec, &rng, &ed)) {
        rc = ed.code == RT_ENOMEM
                 ? mag_err_nomem(d)
                 : mag_err(ctx, d, MAG_ERUNTIME, line->name_pos, "%%eval: %s", ed.msg);
        goto done;
    }
    n = rt_eval_n_prompts(ev);
    if ((long)n * kmax > RT_BON_MAX_DRAWS) {
        const mag_value *bv = mag_eval_given(cfg, "best_of");
        rc = mag_err(ctx, d, MAG_EVALUE, bv->pos,
                     "best_of=%d on %d prompts is %ld draws per policy, at most %ld: lower n or K",
                     kmax, n, (long)n * kmax, RT_BON_MAX_DRAWS);
        goto done;
    }
    s = rt_calloc((size_t)n, sizeof *s);
    const char *hdr[] = {"policy", "best of", "KL bound", br.name[0], br.nr > 1 ? br.name[1] : ""};
    t = s ? mag_table_new(3 + br.nr, hdr) : NULL;
    if (!t) {
        rc = mag_err_nomem(d);
        goto done;
    }
    for (int i = 0; i < n; i++)
        s[i] = *rt_eval_prompt(ev, i);
    for (int j = 0; j < np && !rc; j++) {
        rt_bon *b = NULL;
        if (j > 0 && br.fp) { /* rm(NAME) / debate(NAME): relinked for this policy's point */
            bon_rewards_free(&br);
            if ((rc = bon_rewards_get(ctx, cfg, task, e[j].name, &br, d))) break;
        }
        rt_bon_spec sp = bon_spec(e[j].pol, task, s, n, kmax, temp, &draws, &br,
                                  mag_session_threads(ctx->session));
        if (rt_bon_create(&b, &sp, &ed)) {
            rc = ed.code == RT_ENOMEM ? mag_err_nomem(d)
                                      : mag_err(ctx, d, MAG_ERUNTIME, line->name_pos,
                                                "%%eval %s: %s", e[j].name, ed.msg);
            break;
        }
        for (int p = 0; p < nk && !rc; p++) {
            rt_bon_stats st;
            rt_bon_stats_at(b, ks[p], &st, NULL);
            char c[5][80];
            snprintf(c[1], 80, "%d", ks[p]);
            snprintf(c[2], 80, "%.4f", st.kl);
            for (int r = 0; r < br.nr; r++)
                fmt_mean_se(st.mean[r], st.se[r], c[3 + r], 80);
            const char *row[] = {e[j].name, c[1], c[2], c[3], c[4]};
            if (mag_table_row(t, row)) rc = mag_err_nomem(d);
        }
        rt_bon_free(b);
    }
    if (!rc) {
        char cap[800];
        snprintf(cap, sizeof cap,
                 "%%eval best-of-K: on the same %d held-out prompts of %s, K samples per prompt "
                 "at temperature %g (the same nested draws for every policy and K), the answer "
                 "%s scores highest (ties: the first drawn); mean ± standard error over "
                 "prompts of %s%s%s on it; KL bound = log K − (K − 1)/K, the KL of best-of-K "
                 "to the policy (an upper bound: exact only if no two draws could tie under %s)",
                 n, tname, (double)temp, br.name[0], br.name[0], br.nr > 1 ? " and " : "",
                 br.nr > 1 ? br.name[1] : "", br.name[0]);
        mag_show(ctx->out, mag_table_bundle(t, cap));
    }
done:
    mag_table_free(t);
    rt_free(s);
    rt_eval_free(ev);
    bon_rewards_free(&br);
    return rc;
}

/* %sample POLICY best_of=K reward=R [true=R2]: per prompt the best of K draws under R
 * (ties: the first drawn), in %sample's table with R (and R2) and which draw won.  The
 * draws come from %sample's stream of the task (split 1, rt_bon.h's layout): the same
 * prompts as the plain %sample, and best_of=K adds draws to best_of=K' < K's. */
int mag_sample_bon(mag_ctx *ctx, const mag_line *line, const mag_config *cfg, const char *pname,
                   const rt_policy *pol, const rt_task *task, const rt_task_sample *s, int n,
                   float temp, const rt_rng *draws, mag_diag *d)
{
    bon_rewards br;
    int rc = bon_rewards_get(ctx, cfg, task, pname, &br, d);
    int K = (int)mag_value_number(mag_config_get(cfg, "best_of", 0), 1);
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    rt_bon *b = NULL;
    mag_table *t = NULL;
    rt_diag ed = {0};
    if (!rc) {
        rt_bon_spec sp = bon_spec(pol, task, s, n, K, temp, draws, &br, 1);
        if (rt_bon_create(&b, &sp, &ed))
            rc = ed.code == RT_ENOMEM ? mag_err_nomem(d)
                                      : mag_err(ctx, d, MAG_ERUNTIME, line->name_pos,
                                                "%%sample %s: %s", pname, ed.msg);
    }
    const char *hdr[] = {"prompt", "completion",          "target",  "correct", br.name[0], "draw",
                         "log p",  "per-token log-probs", br.name[1]};
    if (br.nr > 1) { /* the second reward beside the first */
        for (int c = 8; c > 5; c--)
            hdr[c] = hdr[c - 1];
        hdr[5] = br.name[1];
    }
    if (!rc && !(t = mag_table_new(8 + (br.nr > 1), hdr))) rc = mag_err_nomem(d);
    for (int i = 0; i < n && !rc; i++) {
        int j = rt_bon_select(b, K, i);
        char pr[160], ans[160], tg[160], lps[1024], cor[8], sum[32], rv[2][32], dr[32];
        double ls;
        rt_task_render_with(task, s[i].prompt, P, pr, sizeof pr);
        mag_eval_render_answer(task, rt_bon_tokens(b, i, j), rt_bon_logprobs(b, i, j), T, ans,
                               sizeof ans, lps, sizeof lps, &ls);
        rt_task_render_with(task, s[i].target, s[i].target_len, tg, sizeof tg);
        snprintf(cor, sizeof cor, "%d", rt_task_verify(task, &s[i], rt_bon_tokens(b, i, j), T));
        snprintf(sum, sizeof sum, "%.3f", ls);
        for (int r = 0; r < br.nr; r++)
            mag_fmt_num(rt_bon_reward(b, i, j, r), 0, rv[r], sizeof rv[r]);
        snprintf(dr, sizeof dr, "%d of %d", j + 1, K);
        const char *row1[] = {pr, ans, tg, cor, rv[0], dr, sum, lps};
        const char *row2[] = {pr, ans, tg, cor, rv[0], rv[1], dr, sum, lps};
        if (mag_table_row(t, br.nr > 1 ? row2 : row1)) rc = mag_err_nomem(d);
    }
    if (!rc) {
        char cap[600];
        snprintf(cap, sizeof cap,
                 "%%sample %s best_of=%d: per prompt, of %d completions at temperature %g the "
                 "one %s scores highest (ties: the first drawn; draw = which one); log-probs at "
                 "temperature 1",
                 pname, K, K, (double)temp, br.name[0]);
        mag_show(ctx->out, mag_table_bundle(t, cap));
    }
    mag_table_free(t);
    rt_bon_free(b);
    bon_rewards_free(&br);
    return rc;
}
