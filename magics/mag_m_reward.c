/* mag_m_reward: the %%reward magic and the reward language outside it — expression
 * lines and user_expressions (mag_eval_expr), the feature union and the mapping of
 * compiler diagnostics to cell errors (mag_reward_diag).  The language itself is
 * runtime/reward (rt_reward.h).  Leaves out linking a reward to a task and binding
 * swept parameters: the training magics do that with the stored program. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_rm.h"
#include "mag_magic.h"
#include "mag_lineage.h"
#include "rt_alloc.h"
#include "rt_reward.h"
#include "rt_task.h"

/* The union of the feature names of every task kind, from the registry (first seen
 * first: the standard five, then triage's), built once. */
static const char *features[RT_TASK_MAX_KINDS * RT_TASK_MAX_FEATURES];
static int n_features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static void build_features(void)
{
    n_features = rt_task_feature_union(features, (int)(sizeof features / sizeof features[0]));
}

const char *const *mag_reward_features(int *n)
{
    pthread_once(&features_once, build_features);
    if (n) *n = n_features;
    return features;
}

static int feature_count(void)
{
    mag_reward_features(NULL);
    return n_features;
}
#define N_FEATURES feature_count()

static int is_feature(const char *name)
{
    for (int i = 0; i < N_FEATURES; i++)
        if (strcmp(features[i], name) == 0) return 1;
    return 0;
}

int mag_reward_diag(mag_diag *d, const char *src, size_t len, const struct rt_diag *rd)
{
    int code;
    switch (rd->code) {
    case RT_ESYNTAX:
        code = MAG_ESYNTAX;
        break;
    case RT_ELIMIT:
        code = MAG_ELIMIT;
        break;
    case RT_EARITY:
        code = MAG_ETYPE;
        break;
    case RT_ENOMEM:
        code = MAG_ENOMEM;
        break;
    case RT_EINVAL:
        code = MAG_EARG;
        break;
    default:
        code = MAG_ENAME;
        break; /* ENAME, EPARAM, EFEATURE */
    }
    const char *near = NULL;
    if (rd->code == RT_ESYNTAX) near = rd->near[0] ? rd->near : MAG_NEAR_EOF;
    return mag_diag_set(d, src, len, code, rd->line, rd->col, near, "%s", rd->msg);
}

/* ---- compile environment over a session ----------------------------------------- */

#define MAX_TEXTS 256 /* text names a reward may read: answer, target, prompt, columns */

typedef struct env_ctx {
    const mag_session *s;
    int in_reward; /* 0: an expression line (features have no value) */
    /* the texts (in_reward): answer, target, prompt, then every column of the session's
       tasks (first seen first); numeric when a number in some task (the link to a task
       checks that task) */
    const char *texts[MAX_TEXTS];
    unsigned char numeric[MAX_TEXTS];
    int n_texts;
} env_ctx;

/* the union of the session's tasks' texts into ec */
static void session_texts(env_ctx *ec)
{
    ec->n_texts = 0;
    for (size_t i = 0; i < mag_session_count(ec->s, MAG_TASK); i++) {
        const rt_task *t = mag_session_at(ec->s, MAG_TASK, i)->obj;
        for (int k = 0; k < rt_task_n_texts(t); k++) {
            const char *nm = rt_task_text_name(t, k);
            int j = 0;
            while (j < ec->n_texts && strcmp(ec->texts[j], nm) != 0)
                j++;
            if (j == ec->n_texts) {
                if (j == MAX_TEXTS) continue;
                ec->texts[ec->n_texts++] = nm;
                ec->numeric[j] = 0;
            }
            ec->numeric[j] |= (unsigned char)(rt_task_text_numeric(t, k) != 0);
        }
    }
    static const char *const std[] = {"answer", "target", "prompt"};
    for (int k = 0; k < 3; k++) { /* even with no task defined yet */
        int j = 0;
        while (j < ec->n_texts && strcmp(ec->texts[j], std[k]) != 0)
            j++;
        if (j == ec->n_texts && j < MAX_TEXTS) {
            ec->texts[ec->n_texts] = std[k];
            ec->numeric[ec->n_texts++] = 0;
        }
    }
}

static int resolve_feature(void *ctx, const char *fn, const char *arg, int *slot, char *err,
                           size_t errlen)
{
    env_ctx *e = ctx;
    int full = strcmp(fn, "judge_full") == 0; /* judge_full(NAME): slots after debate(NAME)'s */
    int is_rm = !strcmp(fn, "rm") || !strcmp(fn, "rm_mean") || !strcmp(fn, "rm_min");
    if (is_rm) { /* rm(NAME) / rm_mean(NAME) / rm_min(NAME): slots after the debates' */
        if (!e->in_reward) {
            snprintf(err, errlen, "'%s(%s)' is a feature; it has a value only inside a reward", fn,
                     arg);
            return 1;
        }
        size_t nd = mag_session_count(e->s, MAG_DEBATE), nr = mag_session_count(e->s, MAG_RM),
               al = strlen(arg);
        for (size_t i = 0; i < nr; i++) {
            /* a model, or a sweep of models (r[seed=s]) */
            const char *rn = mag_session_at(e->s, MAG_RM, i)->name;
            if (strcmp(rn, arg) == 0 || (!strncmp(rn, arg, al) && rn[al] == '[')) {
                *slot = N_FEATURES + (int)(2 * nd + (strcmp(fn, "rm_min") ? i : nr + i));
                return 0;
            }
        }
        rt_rm_source src; /* not found: the resolver's message (did you mean ...) */
        (void)mag_rm_resolve(e->s, arg, &src, err, errlen);
        return 1;
    }
    if (!full && strcmp(fn, "debate") != 0) {
        snprintf(err, errlen, "unknown feature function '%s'", fn);
        return 1;
    }
    if (!e->in_reward) {
        snprintf(err, errlen, "'%s(%s)' is a feature; it has a value only inside a reward", fn,
                 arg);
        return 1;
    }
    size_t n = mag_session_count(e->s, MAG_DEBATE), al = strlen(arg);
    for (size_t i = 0; i < n; i++) {
        /* a debate, or a sweep of debates (d[seed=s]: each %%rl point reads its own) */
        const char *dn = mag_session_at(e->s, MAG_DEBATE, i)->name;
        if (strcmp(dn, arg) == 0 || (!strncmp(dn, arg, al) && dn[al] == '[')) {
            *slot = N_FEATURES + (int)(full ? n + i : i);
            return 0;
        }
    }
    const char *best = mag_session_suggest(e->s, MAG_DEBATE, arg);
    if (best)
        snprintf(err, errlen, "unknown debate '%s' (did you mean '%s'?)", arg, best);
    else if (n == 0)
        snprintf(err, errlen, "unknown debate '%s' (no debate is defined: %%%%debate defines one)",
                 arg);
    else
        snprintf(err, errlen, "unknown debate '%s'", arg);
    return 1;
}

static const rt_reward_program *resolve_reward(void *ctx, const char *name)
{
    env_ctx *e = ctx;
    return mag_session_get(e->s, MAG_REWARD, name);
}

static const char *const feature_fns[] = {"debate", "judge_full", "rm", "rm_mean", "rm_min"};

/* Fills env (reward_names is malloc'ed: free it). 0 or -1 (ENOMEM). */
static int make_env(rt_reward_env *env, env_ctx *ec, const char *name)
{
    memset(env, 0, sizeof *env);
    env->name = name;
    if (ec->in_reward) {
        env->features = features;
        env->n_features = N_FEATURES;
        env->n_slots = N_FEATURES + 2 * (int)mag_session_count(ec->s, MAG_DEBATE) +
                       2 * (int)mag_session_count(ec->s, MAG_RM);
        session_texts(ec);
        env->texts = ec->texts;
        env->text_numeric = ec->numeric;
        env->n_texts = ec->n_texts;
    }
    env->feature_fns = feature_fns;
    env->n_feature_fns = 5;
    env->resolve_feature = resolve_feature;
    env->resolve_reward = resolve_reward;
    size_t n = mag_session_count(ec->s, MAG_REWARD);
    const char **names = rt_malloc((n ? n : 1) * sizeof *names);
    if (!names) return -1;
    for (size_t i = 0; i < n; i++)
        names[i] = mag_session_at(ec->s, MAG_REWARD, i)->name;
    env->reward_names = names;
    env->n_reward_names = (int)n;
    env->ctx = ec;
    return 0;
}

/* ---- expression lines ---------------------------------------------------------- */

int mag_eval_expr(mag_session *s, const char *src, size_t len, const mag_span *expr, char *out,
                  size_t cap, mag_diag *d)
{
    memset(d, 0, sizeof *d);
    env_ctx ec = {.s = s, .in_reward = 0};
    rt_reward_env env;
    if (make_env(&env, &ec, NULL))
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    rt_reward_program *p = NULL;
    rt_diag rd;
    int rc = rt_reward_compile(expr->text, expr->len, expr->pos.line, expr->pos.col, &env, &p, &rd);
    rt_free((void *)env.reward_names);
    if (rc) return mag_reward_diag(d, src, len, &rd);
    int np = rt_reward_n_params(p), nf = rt_reward_min_slots(p);
    double *params = rt_calloc((size_t)(np ? np : 1), sizeof *params);
    double *feat = rt_calloc((size_t)(nf ? nf : 1), sizeof *feat);
    if (!params || !feat) {
        rc = mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    } else if (rt_reward_bind_params(p, NULL, NULL, 0, params, &rd)) {
        /* the first parameter without a value is the one reported */
        const char *name = NULL;
        for (int i = 0; i < np && !name; i++) {
            double v;
            if (!rt_reward_param_default(p, i, &v)) name = rt_reward_param_name(p, i);
        }
        if (name && is_feature(name) && rd.line > 0)
            rc = mag_diag_set(d, src, len, MAG_ENAME, rd.line, rd.col, NULL,
                              "'%s' is a feature; it has a value only inside a reward or a "
                              "call like exact(%s=1)",
                              name, name);
        else if (name && rd.line > 0 && !strstr(rd.msg, "did you mean") &&
                 rt_did_you_mean(name, features, N_FEATURES))
            rc = mag_diag_set(d, src, len, MAG_ENAME, rd.line, rd.col, NULL,
                              "unknown name '%s' (did you mean the feature '%s'? it has a value "
                              "only inside a reward)",
                              name, rt_did_you_mean(name, features, N_FEATURES));
        else
            rc = mag_reward_diag(d, src, len, &rd);
    } else {
        rt_reward_format(rt_reward_eval(p, feat, params), out, cap);
    }
    rt_free(params);
    rt_free(feat);
    rt_reward_free(p);
    return rc;
}

/* ---- %%reward ------------------------------------------------------------------ */

static void free_program(void *p)
{
    rt_reward_free(p);
}

#define MAX_HEADER 64

static const char *const builtins[] = {"if", "min", "max", "abs", "log", "exp", "sqrt", "clip"};

/* %%reward NAME [param=default ...]  (body: one expression) */
static int run_reward(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                      const mag_config *cfg, mag_diag *d)
{
    (void)ln, (void)cfg;
    const char *src = ctx->src;
    size_t len = ctx->len;
    if (c->nargs == 0 || c->args[0].key || c->args[0].value.kind != MAG_V_NAME) {
        mag_pos at = c->nargs ? c->args[0].key_pos : c->name_pos;
        return mag_diag_set(d, src, len, MAG_ETYPE, at.line, at.col, NULL,
                            "%%%%reward needs a name first: %s", m->usage);
    }
    const char *name = c->args[0].value.str;
    mag_pos npos = c->args[0].value.pos;
    int nrc = mag_check_name(ctx, name, npos, d);
    if (nrc) return nrc;
    int ident =
        (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_';
    for (const char *q = name; *q && ident; q++)
        ident = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                *q == '_';
    if (!ident)
        return mag_diag_set(d, src, len, MAG_EVALUE, npos.line, npos.col, NULL,
                            "reward name '%s' must be an identifier (letters, digits, _), so "
                            "that it can be called: %s(...)",
                            name, name);
    int reserved = is_feature(name) || strcmp(name, "and") == 0 || strcmp(name, "or") == 0 ||
                   strcmp(name, "not") == 0 || strcmp(name, "debate") == 0 ||
                   strcmp(name, "judge_full") == 0;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        reserved |= strcmp(name, builtins[i]) == 0;
    if (reserved)
        return mag_diag_set(d, src, len, MAG_EVALUE, npos.line, npos.col, NULL,
                            "'%s' is a name of the reward language; choose another reward name",
                            name);
    const char *pnames[MAX_HEADER];
    double pvals[MAX_HEADER];
    int np = 0;
    for (size_t i = 1; i < c->nargs; i++) {
        const mag_kv *a = &c->args[i];
        if (!a->key)
            return mag_diag_set(d, src, len, MAG_ETYPE, a->key_pos.line, a->key_pos.col, NULL,
                                "expected param=default after the reward name, got '%s'",
                                a->value.text);
        if (a->value.kind != MAG_V_INT && a->value.kind != MAG_V_FLOAT)
            return mag_diag_set(d, src, len, MAG_ETYPE, a->value.pos.line, a->value.pos.col, NULL,
                                "the default of parameter '%s' must be a number, got %s", a->key,
                                a->value.text);
        if (is_feature(a->key))
            return mag_diag_set(d, src, len, MAG_EVALUE, a->key_pos.line, a->key_pos.col, NULL,
                                "'%s' is a feature, not a parameter: it cannot have a default",
                                a->key);
        if (np == MAX_HEADER)
            return mag_diag_set(d, src, len, MAG_ELIMIT, a->key_pos.line, a->key_pos.col, NULL,
                                "too many parameters (the limit is %d)", MAX_HEADER);
        pnames[np] = a->key;
        pvals[np++] = a->value.num;
    }
    env_ctx ec = {.s = ctx->session, .in_reward = 1};
    rt_reward_env env;
    if (make_env(&env, &ec, name))
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    env.param_names = pnames;
    env.param_defaults = pvals;
    env.n_params = np;
    rt_reward_program *p = NULL;
    rt_diag rd;
    int rc = rt_reward_compile(c->body.text, c->body.len, c->body.pos.line, c->body.pos.col, &env,
                               &p, &rd);
    rt_free((void *)env.reward_names);
    if (rc) return mag_reward_diag(d, src, len, &rd);
    for (size_t i = 1; i < c->nargs; i++)
        if (rt_reward_param_index(p, c->args[i].key) < 0) {
            rt_reward_free(p);
            return mag_diag_set(
                d, src, len, MAG_EVALUE, c->args[i].key_pos.line, c->args[i].key_pos.col, NULL,
                "parameter '%s' is not used by the expression of '%s'", c->args[i].key, name);
        }
    size_t n = rt_reward_describe(p, NULL, 0);
    char *desc = rt_malloc(n + 1);
    if (!desc) {
        rt_reward_free(p);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    rt_reward_describe(p, desc, n + 1);
    int put = mag_session_put(ctx->session, MAG_REWARD, name, p, free_program, desc, NULL);
    if (put < 0) {
        rt_free(desc);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    if (put == 1) krn_out_printf(ctx->out, KRN_STDOUT, "replaced reward '%s'\n", name);
    krn_out_printf(ctx->out, KRN_STDOUT, "%s\n", desc);
    rt_free(desc);
    /* warnings (a parameter named like a feature, no feature read) do not stop the cell:
     * "cell:2:1: warning: ..." with the source line and the caret, on stderr */
    int nw = rt_reward_warning(p, 0, NULL);
    for (int i = 0; i < nw; i++) {
        rt_diag w;
        mag_diag wd;
        rt_reward_warning(p, i, &w);
        mag_diag_set(&wd, src, len, MAG_OK, w.line, w.col, NULL, "warning: %s", w.msg);
        krn_out_printf(ctx->out, KRN_STDERR, "%s\n", wd.msg);
        if (wd.source_line[0] || wd.caret[0])
            krn_out_printf(ctx->out, KRN_STDERR, "%s\n%s\n", wd.source_line, wd.caret);
    }
    return 0;
}

static const mag_magic m_reward = {
    .name = "reward",
    .cell = 1,
    .schema = NULL,
    .usage = "%%reward NAME [param=default ...]",
    .help = "Define a reward: the body is one expression of the reward language over the\n"
            "task's features (correct, partial, length, format, eos; triage: outcome,\n"
            "demo_agree, debate(NAME), judge_full(NAME)).  Numbers, + - * / ^, comparisons, and or "
            "not,\n"
            "if(c, a, b), min max abs log exp sqrt clip(x, lo, hi), close(x, y, tol), and\n"
            "verifiers over texts (answer, target, prompt, a file task's columns, \"strings\"):\n"
            "equals(a, b) contains(a, b) prefix(a, b) edit_distance(a, b) number(a); a numeric\n"
            "column is a number by its name (priority).  Defined rewards are\n"
            "called with named features: exact(correct=1, length=4).  Other names are\n"
            "parameters: their defaults come from the header (c=0.01) and training magics\n"
            "can set or sweep them (c = [0.01, 0.1]).  x / 0 is 0.  A parameter named\n"
            "like a feature (corect) and a reward that reads no feature get a warning.\n"
            "Example:\n"
            "  %%reward short c=0.01\n"
            "  correct - c * length",
    .run = run_reward,
    .body = MAG_BODY_EXPR,
};

const mag_magic *const mag_reward_magics[] = {&m_reward, NULL};
