/* lang_fixture.h: schemas shaped like the magics of design.md (%%opd, %%rl,
 * %%policy, %eval), shared by the tests of magics/lang.  Test data only: the real
 * tables are declared by the magic handlers. */
#ifndef LANG_FIXTURE_H
#define LANG_FIXTURE_H

#include "lang_opts.h"
#include "mag_lang.h"

static const char *const fx_estimators[] = {"sampled", "full", NULL};
static const char *const fx_algos[] = {"reinforce", "rloo", "grpo", "drgrpo", "ppo", NULL};
static const char *const fx_klest[] = {"k1", "k2", "k3", NULL};
static const char *const fx_arch[] = {"mlp", NULL};

#define SW MAG_K_SWEEP
#define REQ MAG_K_REQUIRED
static const mag_key_spec fx_opd_keys[] = {
    {"from", MAG_T_NAME, 0, NULL, REQ, 0, 0, NULL, "policy", "student initialization"},
    {"teacher", MAG_T_MAP, MAG_T_NAME, NULL, REQ | MAG_K_OR_SCALAR | SW, 0, 0, NULL, "policy",
     "teacher policy, or {task: policy}"},
    {"reference", MAG_T_NAME, 0, NULL, 0, 0, 0, NULL, "policy", "reference policy"},
    {"lambda", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN_EXCL, 0, 0, "1", NULL, "reward scale"},
    {"estimator", MAG_T_ENUM, 0, fx_estimators, SW, 0, 0, "sampled", NULL, "KL estimator"},
    {"gamma", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN | MAG_K_MAX, 0, 1, "0", NULL, "discount"},
    {"steps", MAG_T_INT, 0, NULL, SW | MAG_K_MIN, 1, 0, "200", NULL, "training steps"},
    {"batch", MAG_T_INT, 0, NULL, MAG_K_MIN, 1, 0, "64", NULL, "prompts per step"},
    {"lr", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN_EXCL, 0, 0, "1e-3", NULL, "learning rate"},
    {"seed", MAG_T_INT, 0, NULL, SW, 0, 0, NULL, NULL, "run seed"},
};
static const mag_schema fx_opd = {
    "opd", fx_opd_keys, sizeof fx_opd_keys / sizeof fx_opd_keys[0], "on-policy distillation", NULL,
    0};

static const mag_key_spec fx_rl_keys[] = {
    {"from", MAG_T_NAME, 0, NULL, REQ, 0, 0, NULL, "policy", "initial policy"},
    {"reward", MAG_T_NAME, 0, NULL, REQ, 0, 0, NULL, "reward", "reward to optimize"},
    {"algo", MAG_T_ENUM, 0, fx_algos, SW, 0, 0, "grpo", NULL, "algorithm"},
    {"kl", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN, 0, 0, "0", NULL, "KL coefficient"},
    {"kl_estimator", MAG_T_ENUM, 0, fx_klest, 0, 0, 0, "k3", NULL, "KL estimator"},
    {"clip", MAG_T_NUMBER, 0, NULL, MAG_K_MIN_EXCL | MAG_K_MAX_EXCL, 0, 1, "0.2", NULL, "PPO clip"},
    {"steps", MAG_T_INT, 0, NULL, SW | MAG_K_MIN, 1, 0, "100", NULL, "steps"},
    {"lr", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN_EXCL, 0, 0, "3e-4", NULL, "learning rate"},
    {"seed", MAG_T_INT, 0, NULL, SW, 0, 0, "0", NULL, "seed"},
    {"tags", MAG_T_LIST, MAG_T_STRING, NULL, 0, 0, 0, NULL, NULL, "labels"},
    {"verbose", MAG_T_BOOL, 0, NULL, 0, 0, 0, "false", NULL, "log more"},
};
static const mag_schema fx_rl = {"rl", fx_rl_keys, sizeof fx_rl_keys / sizeof fx_rl_keys[0],
                                 "RL", NULL,       0};

static const mag_key_spec fx_policy_keys[] = {
    {"arch", MAG_T_ENUM, 0, fx_arch, 0, 0, 0, "mlp", NULL, "architecture"},
    {"context", MAG_T_INT, 0, NULL, MAG_K_MIN | MAG_K_MAX, 1, 64, "8", NULL, "context length"},
    {"hidden", MAG_T_INT, 0, NULL, MAG_K_MIN, 1, 0, "64", NULL, "hidden width"},
    {"task", MAG_T_NAME, 0, NULL, 0, 0, 0, NULL, "task", "task for SFT"},
    {"noise", MAG_T_NUMBER, 0, NULL, SW | MAG_K_MIN | MAG_K_MAX, 0, 1, "0", NULL, "noise"},
    {"tasks", MAG_T_LIST, MAG_T_NAME, NULL, 0, 0, 0, NULL, "task", "tasks"},
};
static const mag_schema fx_policy = {
    "policy", fx_policy_keys, sizeof fx_policy_keys / sizeof fx_policy_keys[0], "policy", NULL, 0};

static const mag_key_spec fx_eval_keys[] = {
    {"task", MAG_T_NAME, 0, NULL, 0, 0, 0, NULL, "task", "task"},
    {"k", MAG_T_INT, 0, NULL, MAG_K_MIN, 1, 0, "8", NULL, "samples"},
    {"temperature", MAG_T_NUMBER, 0, NULL, MAG_K_MIN, 0, 0, "1", NULL, "temperature"},
};
static const mag_schema fx_eval = {
    "eval", fx_eval_keys, sizeof fx_eval_keys / sizeof fx_eval_keys[0], "evaluation", NULL, 0};
#undef SW
#undef REQ

/* Schema of magic `n` (NULL: parse only). */
static const mag_schema *fx_schema_for(const char *n)
{
    if (!n) return NULL;
    if (!strcmp(n, "opd")) return &fx_opd;
    if (!strcmp(n, "rl")) return &fx_rl;
    if (!strcmp(n, "policy")) return &fx_policy;
    if (!strcmp(n, "eval")) return &fx_eval;
    return NULL;
}

/* Parse, then validate the cell magic or every line magic that has a fixture schema:
 * returns the first error code (0 ok). */
static int fx_check(const char *src, size_t len, mag_diag *d)
{
    mag_cell *c;
    int r = mag_parse_cell(src, len, FX_OPTS, &c, d);
    if (r) return r;
    mag_config *cfg = NULL;
    if (c->kind == MAG_CELL_MAGIC) {
        const mag_schema *s = fx_schema_for(c->name);
        if (s) r = mag_validate_cell(s, c, src, len, &cfg, d);
        mag_config_free(cfg);
    }
    for (size_t i = 0; !r && c->kind == MAG_CELL_LINES && i < c->nlines; i++) {
        const mag_schema *s =
            c->lines[i].kind == MAG_LINE_MAGIC ? fx_schema_for(c->lines[i].name) : NULL;
        cfg = NULL;
        if (s) r = mag_validate_line(s, &c->lines[i], src, len, &cfg, d);
        mag_config_free(cfg);
    }
    mag_cell_free(c);
    return r;
}

#endif
