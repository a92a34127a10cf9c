/* rt_reward_parse.c: recursive-descent parser of the reward language (grammar in
 * rt_reward.h; tokens from rt_reward_lex.c), including name resolution (features,
 * feature functions, parameters) and the inlining of calls to defined rewards.
 * Produces the expression tree in the compiler state; folding, bytecode and the program
 * object are in rt_reward_program.c.  Every error goes through rw_error with the cell
 * position of the offending token (columns in code points). */
#include "rt_reward_int.h"

#include "rt_alloc.h"
#include "rt_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    rw_compiler *c;
    rw_lexer lx;
    rw_tok t; /* current token */
    int depth;
} parser;

static const char *const builtins[] = {"if",  "min",  "max",  "abs",  "log",
                                       "exp", "sqrt", "clip", "close"};
#define N_BUILTINS ((int)(sizeof builtins / sizeof builtins[0]))
/* The built-ins over texts, in the order of their ops OP_EQUALS..OP_NUMBER. */
static const char *const text_builtins[] = {"equals", "contains", "prefix", "edit_distance",
                                            "number"};
#define N_TEXT_BUILTINS ((int)(sizeof text_builtins / sizeof text_builtins[0]))

/* snprintf through a va_list: messages may be truncated to the diagnostic's size. */
static void fmt_msg(char *buf, size_t n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void fmt_msg(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static int perr(parser *p, int code, const rw_tok *t, const char *fmt, const char *a)
{
    return rw_tok_error(&p->lx, code, t, fmt, a);
}

static int next(parser *p)
{
    return rw_lex(&p->lx, &p->t);
}

/* "unexpected 'x'" for the current token. */
static int unexpected(parser *p)
{
    if (p->t.type == RW_T_EOF)
        return perr(p, RT_ESYNTAX, &p->t, "unexpected end of expression", "");
    if (p->t.type == RW_T_ASSIGN)
        return perr(p, RT_ESYNTAX, &p->t, "unexpected '=' (use '==' to compare)", NULL);
    return perr(p, RT_ESYNTAX, &p->t, "unexpected '%s'", NULL);
}

/* "expected ')' (to close '(' at line L)" (or "at column C" on the same line: the one
 * wording, rt_text_unclosed) at the current token. */
static int unclosed(parser *p, const rw_tok *open)
{
    char msg[96];
    rt_text_unclosed(msg, sizeof msg, ')', '(', open->line, open->col, p->t.line);
    return perr(p, RT_ESYNTAX, &p->t, "%s", msg);
}

static int enter(parser *p)
{
    if (++p->depth > RT_REWARD_MAX_DEPTH)
        return perr(p, RT_ELIMIT, &p->t, "expression nested too deeply (more than %s levels)",
                    "64");
    return 0;
}

static void tok_text(const parser *p, const rw_tok *t, char *buf, size_t n)
{
    size_t k = t->len < n - 1 ? t->len : n - 1;
    memcpy(buf, p->lx.src + t->pos, k);
    buf[k] = 0;
}

static int parse_expr(parser *p);

/* ---- name resolution ---- */

static int env_feature(const rt_reward_env *env, const char *name)
{
    for (int i = 0; i < env->n_features; i++)
        if (env->features[i] && !strcmp(env->features[i], name)) return i;
    return -1;
}

static int is_feature_fn(const rt_reward_env *env, const char *name)
{
    for (int i = 0; i < env->n_feature_fns; i++)
        if (env->feature_fns[i] && !strcmp(env->feature_fns[i], name)) return 1;
    return 0;
}

static int builtin_index(const char *name)
{
    for (int i = 0; i < N_BUILTINS; i++)
        if (!strcmp(builtins[i], name)) return i;
    return -1;
}

static int text_builtin_index(const char *name)
{
    for (int i = 0; i < N_TEXT_BUILTINS; i++)
        if (!strcmp(text_builtins[i], name)) return i;
    return -1;
}

static int env_text(const rt_reward_env *env, const char *name)
{
    for (int i = 0; i < env->n_texts; i++)
        if (env->texts[i] && !strcmp(env->texts[i], name)) return i;
    return -1;
}

static int env_text_numeric(const rt_reward_env *env, int slot)
{
    return slot >= 0 && env->text_numeric && env->text_numeric[slot];
}

/* Find or append the text ref `name` (slot in the env's texts); bare marks a numeric
 * read (its first position is kept for rt_reward_link). */
static int add_text(rw_compiler *c, const char *name, int slot, int bare, int line, int col)
{
    int i = 0;
    for (; i < c->n_texts; i++)
        if (!strcmp(c->texts[i].name, name)) break;
    if (i == c->n_texts) {
        if (c->n_texts == c->cap_texts) {
            int cap = c->cap_texts ? 2 * c->cap_texts : 4;
            rw_text *t = rt_realloc(c->texts, (size_t)cap * sizeof *t);
            if (!t) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
            c->texts = t;
            c->cap_texts = cap;
        }
        rw_text *t = &c->texts[i];
        memset(t, 0, sizeof *t);
        t->name = rt_strdup(name);
        if (!t->name) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
        t->slot = slot;
        t->line = line;
        t->col = col;
        c->n_texts++;
    }
    if (bare && !c->texts[i].bare_line) {
        c->texts[i].bare_line = line;
        c->texts[i].bare_col = col;
    }
    return i;
}

/* Append a string literal (bytes s[0..n)); its index. */
static int add_lit(rw_compiler *c, const char *s, size_t n)
{
    if (c->n_lits == c->cap_lits) {
        int cap = c->cap_lits ? 2 * c->cap_lits : 4;
        rw_lit *l = rt_realloc(c->lits, (size_t)cap * sizeof *l);
        if (!l) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
        c->lits = l;
        c->cap_lits = cap;
    }
    char *d = rt_malloc(n + 1);
    if (!d) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    c->lits[c->n_lits].s = d;
    c->lits[c->n_lits].n = n;
    return c->n_lits++;
}

static int env_slots(const rt_reward_env *env)
{
    return env->n_slots > env->n_features ? env->n_slots : env->n_features;
}

/* Find or append the feature ref (name / fn(arg)) with the given slot. */
static int add_feat(rw_compiler *c, const char *fn, const char *arg, const char *name, int slot,
                    int line, int col)
{
    char full[2 * RT_REWARD_MAX_NAME + 4];
    if (fn)
        snprintf(full, sizeof full, "%s(%s)", fn, arg);
    else
        snprintf(full, sizeof full, "%s", name);
    for (int i = 0; i < c->n_feats; i++)
        if (!strcmp(c->feats[i].name, full)) return i;
    if (c->n_feats == c->cap_feats) {
        int cap = c->cap_feats ? 2 * c->cap_feats : 8;
        rw_feat *f = rt_realloc(c->feats, (size_t)cap * sizeof *f);
        if (!f) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
        c->feats = f;
        c->cap_feats = cap;
    }
    rw_feat *f = &c->feats[c->n_feats];
    memset(f, 0, sizeof *f);
    f->name = rt_strdup(full);
    f->fn = fn ? rt_strdup(fn) : NULL;
    f->arg = fn ? rt_strdup(arg) : NULL;
    if (!f->name || (fn && (!f->fn || !f->arg))) {
        rt_free(f->name);
        rt_free(f->fn);
        rt_free(f->arg);
        return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
    }
    f->slot = slot;
    f->line = line;
    f->col = col;
    return c->n_feats++;
}

/* Find or append parameter `name`; its default comes from the env's table, else
 * (has_def) from def. */
static int add_param(rw_compiler *c, const char *name, int has_def, double def, int line, int col)
{
    for (int i = 0; i < c->n_params; i++)
        if (!strcmp(c->params[i].name, name)) return i;
    const rt_reward_env *env = c->env;
    for (int i = 0; i < env->n_params; i++) {
        if (env->param_names && env->param_names[i] && !strcmp(env->param_names[i], name) &&
            env->param_defaults) {
            has_def = 1;
            def = env->param_defaults[i];
            break;
        }
    }
    if (c->n_params == c->cap_params) {
        int cap = c->cap_params ? 2 * c->cap_params : 8;
        rw_param *np = rt_realloc(c->params, (size_t)cap * sizeof *np);
        if (!np) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
        c->params = np;
        c->cap_params = cap;
    }
    rw_param *q = &c->params[c->n_params];
    q->name = rt_strdup(name);
    if (!q->name) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
    /* a free name close to a feature is probably a typo: keep the hint for the
     * "has no value" message */
    const char *hint = rt_did_you_mean(name, env->features, (size_t)env->n_features);
    snprintf(q->hint, sizeof q->hint, "%s", hint ? hint : "");
    q->has_def = has_def;
    q->def = has_def ? def : 0.0;
    q->line = line;
    q->col = col;
    return c->n_params++;
}

/* Resolve fn(arg) through the env's feature resolver into a feature ref. */
static int resolve_feature_call(parser *p, const char *fn, const rw_tok *name_t, const rw_tok *argt)
{
    rw_compiler *c = p->c;
    const rt_reward_env *env = c->env;
    char arg[RT_REWARD_MAX_NAME + 1];
    tok_text(p, argt, arg, sizeof arg);
    char msg[256] = "";
    int slot = -1;
    if (!env->resolve_feature) {
        fmt_msg(msg, sizeof msg, "no resolver for %s(...)", fn);
        return perr(p, RT_ENAME, argt, "%s", msg);
    }
    if (env->resolve_feature(env->ctx, fn, arg, &slot, msg, sizeof msg) != 0) {
        msg[sizeof msg - 1] = 0;
        if (!msg[0]) fmt_msg(msg, sizeof msg, "unknown %s '%s'", fn, arg);
        return perr(p, RT_ENAME, argt, "%s", msg);
    }
    if (slot < 0 || slot >= env_slots(env)) {
        fmt_msg(msg, sizeof msg, "%s(%s) resolved to slot %d, outside the %d feature slots", fn,
                arg, slot, env_slots(env));
        return perr(p, RT_EINVAL, argt, "%s", msg);
    }
    return add_feat(c, fn, arg, NULL, slot, name_t->line, name_t->col);
}

/* ---- inlining of a defined reward ---- */

typedef struct named_arg {
    char name[RT_REWARD_MAX_NAME + 1];
    int node;
    rw_tok t;
} named_arg;

typedef struct inliner {
    parser *p;
    const rt_reward_program *callee;
    const char *callee_name;
    const named_arg *args;
    int n_args;
    int *memo;
    const rw_tok *at; /* the call's name token */
} inliner;

static int find_arg(const inliner *in, const char *name)
{
    for (int i = 0; i < in->n_args; i++)
        if (!strcmp(in->args[i].name, name)) return in->args[i].node;
    return -1;
}

static int copy_node(inliner *in, int ci)
{
    if (in->memo[ci] >= 0) return in->memo[ci];
    parser *p = in->p;
    rw_compiler *c = p->c;
    const rw_node *n = &in->callee->nodes[ci];
    const rw_tok *at = in->at;
    int r = -1;
    if (n->op == OP_CONST) {
        r = rw_new_node(c, OP_CONST, -1, -1, -1, n->v, at->line, at->col);
    } else if (n->op == OP_FEAT) {
        const rw_feat *f = &in->callee->feats[n->a];
        int given = f->fn ? -1 : find_arg(in, f->name);
        if (given >= 0) {
            r = given;
        } else if (f->fn) {
            if (!is_feature_fn(c->env, f->fn)) {
                char msg[256];
                fmt_msg(msg, sizeof msg, "'%s' reads %s, which is not available here",
                        in->callee_name, f->name);
                return perr(p, RT_EFEATURE, at, "%s", msg);
            }
            rw_tok argt = *at; /* report resolver errors at the call */
            char msg[256] = "";
            int slot = -1;
            const rt_reward_env *env = c->env;
            if (!env->resolve_feature ||
                env->resolve_feature(env->ctx, f->fn, f->arg, &slot, msg, sizeof msg) != 0) {
                msg[sizeof msg - 1] = 0;
                if (!msg[0]) fmt_msg(msg, sizeof msg, "unknown %s '%s'", f->fn, f->arg);
                return perr(p, RT_ENAME, &argt, "%s", msg);
            }
            if (slot < 0 || slot >= env_slots(env))
                return perr(p, RT_EINVAL, &argt, "feature slot out of range%s", "");
            int ref = add_feat(c, f->fn, f->arg, NULL, slot, at->line, at->col);
            if (ref < 0) return -1;
            r = rw_new_node(c, OP_FEAT, ref, -1, -1, 0, at->line, at->col);
        } else {
            int slot = env_feature(c->env, f->name);
            if (slot < 0) {
                char msg[256];
                fmt_msg(msg, sizeof msg,
                        "'%s' reads feature '%s', which is not available here (give it: "
                        "%s(%s=...))",
                        in->callee_name, f->name, in->callee_name, f->name);
                return perr(p, RT_EFEATURE, at, "%s", msg);
            }
            int ref = add_feat(c, NULL, NULL, f->name, slot, at->line, at->col);
            if (ref < 0) return -1;
            r = rw_new_node(c, OP_FEAT, ref, -1, -1, 0, at->line, at->col);
        }
    } else if (n->op == OP_TEXT) {
        const rw_text *t = &in->callee->texts[n->a];
        int slot = env_text(c->env, t->name);
        char msg[256];
        if (slot < 0) {
            fmt_msg(msg, sizeof msg, "'%s' reads text '%s', which is not available here",
                    in->callee_name, t->name);
            return perr(p, RT_ENAME, at, "%s", msg);
        }
        if (t->bare_line && !env_text_numeric(c->env, slot)) {
            fmt_msg(msg, sizeof msg, "'%s' reads '%s' as a number, but it is text here",
                    in->callee_name, t->name);
            return perr(p, RT_ENAME, at, "%s", msg);
        }
        int ref = add_text(c, t->name, slot, t->bare_line != 0, at->line, at->col);
        if (ref < 0) return -1;
        r = rw_new_node(c, OP_TEXT, ref, -1, -1, 0, at->line, at->col);
    } else if (n->op == OP_STR) {
        const rw_lit *l = &in->callee->lits[n->a];
        int li = add_lit(c, l->s, l->n);
        if (li < 0) return -1;
        r = rw_new_node(c, OP_STR, li, -1, -1, 0, at->line, at->col);
    } else if (n->op == OP_PARAM) {
        const rw_param *q = &in->callee->params[n->a];
        int given = find_arg(in, q->name);
        if (given >= 0) {
            r = given;
        } else {
            int idx = add_param(c, q->name, q->has_def, q->def, at->line, at->col);
            if (idx < 0) return -1;
            r = rw_new_node(c, OP_PARAM, idx, -1, -1, 0, at->line, at->col);
        }
    } else {
        int a = -1, b = -1, cc = -1;
        if (n->a >= 0 && (a = copy_node(in, n->a)) < 0) return -1;
        if (n->b >= 0 && (b = copy_node(in, n->b)) < 0) return -1;
        if (n->c >= 0 && (cc = copy_node(in, n->c)) < 0) return -1;
        r = rw_new_node(c, n->op, a, b, cc, n->v, at->line, at->col);
    }
    if (r >= 0) in->memo[ci] = r;
    return r;
}

static int in_list(const char *name, char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], name)) return 1;
    return 0;
}

/* Inline `callee(args)`: validate the named arguments against the callee's features
 * and parameters, then copy its tree substituting them. */
static int inline_call(parser *p, const rt_reward_program *callee, const rw_tok *name_t,
                       const named_arg *args, int n_args)
{
    char cname[RT_REWARD_MAX_NAME + 1];
    tok_text(p, name_t, cname, sizeof cname);
    for (int i = 0; i < n_args; i++) {
        const char *an = args[i].name;
        int ok = in_list(an, callee->env_feats, callee->n_env_feats) ||
                 rt_reward_param_index(callee, an) >= 0;
        for (int f = 0; f < callee->n_feats && !ok; f++)
            ok = !callee->feats[f].fn && !strcmp(callee->feats[f].name, an);
        if (!ok) {
            /* candidates: the callee's features and parameters */
            int nc = callee->n_env_feats + callee->n_params;
            const char **cands = rt_malloc((size_t)(nc ? nc : 1) * sizeof *cands);
            if (!cands) return rw_error(p->c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
            for (int k = 0; k < callee->n_env_feats; k++)
                cands[k] = callee->env_feats[k];
            for (int k = 0; k < callee->n_params; k++)
                cands[callee->n_env_feats + k] = callee->params[k].name;
            const char *s = rt_did_you_mean(an, cands, (size_t)nc);
            char msg[256];
            if (s)
                fmt_msg(msg, sizeof msg,
                        "'%s' has no feature or parameter '%s' (did you mean '%s'?)", cname, an, s);
            else
                fmt_msg(msg, sizeof msg, "'%s' has no feature or parameter '%s'", cname, an);
            rt_free(cands);
            return perr(p, RT_ENAME, &args[i].t, "%s", msg);
        }
    }
    inliner in = {p, callee, cname, args, n_args, NULL, name_t};
    in.memo = rt_malloc((size_t)(callee->n_nodes ? callee->n_nodes : 1) * sizeof(int));
    if (!in.memo) return rw_error(p->c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
    for (int i = 0; i < callee->n_nodes; i++)
        in.memo[i] = -1;
    int r = copy_node(&in, callee->root);
    rt_free(in.memo);
    return r;
}

/* ---- grammar ---- */

/* "equals takes texts (a text name: answer, target, ... or a "string")" at t. */
static int takes_texts(parser *p, const char *fn, const rw_tok *t)
{
    const rt_reward_env *env = p->c->env;
    char names[160] = "";
    size_t k = 0;
    int shown = 0;
    for (int i = 0; i < env->n_texts && shown < 2; i++) {
        if (!env->texts[i]) continue;
        int w = snprintf(names + k, sizeof names - k, "%s%s", shown ? ", " : "", env->texts[i]);
        if (w < 0 || (size_t)w >= sizeof names - k) break;
        k += (size_t)w;
        shown++;
    }
    char msg[256];
    if (!shown)
        fmt_msg(msg, sizeof msg, "%s takes texts (a \"string\"; there are no text names here)", fn);
    else
        fmt_msg(msg, sizeof msg, "%s takes texts (a text name: %s%s or a \"string\")", fn, names,
                env->n_texts > shown ? ", ..." : "");
    return perr(p, RT_EARITY, t, "%s", msg);
}

/* One argument of a text built-in: a text name or a string literal, followed by ','
 * or ')'.  Returns the leaf node. */
static int parse_text_arg(parser *p, const char *fn, const rw_tok *open)
{
    rw_compiler *c = p->c;
    const rt_reward_env *env = c->env;
    rw_tok a = p->t;
    int node = -1;
    if (a.type != RW_T_STR && a.type != RW_T_NAME) return takes_texts(p, fn, &a);
    if (next(p) < 0) return -1;
    if (p->t.type == RW_T_EOF) return unclosed(p, open);
    if (p->t.type != RW_T_COMMA && p->t.type != RW_T_RP &&
        !(a.type == RW_T_NAME && p->t.type == RW_T_LP))
        return takes_texts(p, fn, &a);
    if (a.type == RW_T_STR) {
        char buf[RT_REWARD_MAX_STRING + 1];
        size_t k = rw_str_decode(p->lx.src, &a, buf);
        int li = add_lit(c, buf, k);
        if (li < 0) return -1;
        node = rw_new_node(c, OP_STR, li, -1, -1, 0, a.line, a.col);
    } else {
        char name[RT_REWARD_MAX_NAME + 1];
        tok_text(p, &a, name, sizeof name);
        int slot = env_text(env, name);
        if (slot < 0) {
            if (p->t.type == RW_T_LP || env_feature(env, name) >= 0 || builtin_index(name) >= 0 ||
                text_builtin_index(name) >= 0)
                return takes_texts(p, fn, &a);
            const char *s = rt_did_you_mean(name, env->texts, (size_t)env->n_texts);
            char msg[256];
            if (s)
                fmt_msg(msg, sizeof msg, "unknown text '%s' (did you mean '%s'?)", name, s);
            else
                fmt_msg(msg, sizeof msg, "unknown text '%s'", name);
            return perr(p, RT_ENAME, &a, "%s", msg);
        }
        int ref = add_text(c, name, slot, 0, a.line, a.col);
        if (ref < 0) return -1;
        node = rw_new_node(c, OP_TEXT, ref, -1, -1, 0, a.line, a.col);
    }
    return node;
}

/* text call -> TEXTFN '(' [targ {',' targ}] ')'.  On entry p->t is '('. */
static int parse_text_call(parser *p, const rw_tok *name_t, const char *name, int ti)
{
    rw_tok open = p->t;
    int args[2] = {-1, -1}, n = 0;
    if (enter(p) < 0 || next(p) < 0) return -1;
    if (p->t.type != RW_T_RP) {
        for (;;) {
            if (n == RT_REWARD_MAX_ARGS)
                return perr(p, RT_ELIMIT, &p->t, "too many arguments (more than %s)", "64");
            int a = parse_text_arg(p, name, &open);
            if (a < 0) return -1;
            if (n < 2) args[n] = a;
            n++;
            if (p->t.type == RW_T_COMMA) {
                if (next(p) < 0) return -1;
                continue;
            }
            break; /* ')' */
        }
    }
    if (next(p) < 0) return -1; /* consume ')' */
    p->depth--;
    int want = (OP_EQUALS + ti == OP_NUMBER) ? 1 : 2;
    if (n != want) {
        char msg[160];
        fmt_msg(msg, sizeof msg, "%s expects %d argument%s, got %d", name, want,
                want == 1 ? "" : "s", n);
        return perr(p, RT_EARITY, name_t, "%s", msg);
    }
    return rw_new_node(p->c, OP_EQUALS + ti, args[0], args[1], -1, 0, name_t->line, name_t->col);
}

/* call -> NAME '(' [arg {',' arg}] ')';  arg -> expr | NAME '=' expr
 * On entry p->t is '(' and name_t the function name. */
static int parse_call(parser *p, const rw_tok *name_t)
{
    rw_compiler *c = p->c;
    const rt_reward_env *env = c->env;
    char name[RT_REWARD_MAX_NAME + 1];
    tok_text(p, name_t, name, sizeof name);
    rw_tok open = p->t;

    int ti = text_builtin_index(name);
    if (ti >= 0) return parse_text_call(p, name_t, name, ti);
    int bi = builtin_index(name);
    const rt_reward_program *callee = NULL;
    if (bi < 0 && is_feature_fn(env, name)) {
        /* feature function: NAME '(' NAME ')' */
        if (next(p) < 0) return -1;
        if (p->t.type != RW_T_NAME) {
            char msg[160];
            fmt_msg(msg, sizeof msg, "%s expects a name, e.g. %s(NAME)", name, name);
            return perr(p, RT_EARITY, &p->t, "%s", msg);
        }
        rw_tok argt = p->t;
        if (next(p) < 0) return -1;
        if (p->t.type == RW_T_COMMA) {
            char msg[160];
            fmt_msg(msg, sizeof msg, "%s expects a name, e.g. %s(NAME)", name, name);
            return perr(p, RT_EARITY, &p->t, "%s", msg);
        }
        if (p->t.type != RW_T_RP) return unclosed(p, &open);
        int ref = resolve_feature_call(p, name, name_t, &argt);
        if (ref < 0) return -1;
        if (next(p) < 0) return -1;
        return rw_new_node(c, OP_FEAT, ref, -1, -1, 0, name_t->line, name_t->col);
    }
    if (bi < 0) {
        if (env->resolve_reward) callee = env->resolve_reward(env->ctx, name);
        if (!callee) {
            int nc = N_BUILTINS + N_TEXT_BUILTINS + env->n_feature_fns + env->n_reward_names;
            const char **cands = rt_malloc((size_t)nc * sizeof *cands);
            if (!cands) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
            int k = 0;
            for (int i = 0; i < N_BUILTINS; i++)
                cands[k++] = builtins[i];
            for (int i = 0; i < N_TEXT_BUILTINS; i++)
                cands[k++] = text_builtins[i];
            for (int i = 0; i < env->n_feature_fns; i++)
                cands[k++] = env->feature_fns[i];
            for (int i = 0; i < env->n_reward_names; i++)
                cands[k++] = env->reward_names[i];
            const char *s = rt_did_you_mean(name, cands, (size_t)k);
            char msg[200];
            if (s)
                fmt_msg(msg, sizeof msg, "unknown function '%s' (did you mean '%s'?)", name, s);
            else
                fmt_msg(msg, sizeof msg, "unknown function '%s'", name);
            rt_free(cands);
            return perr(p, RT_ENAME, name_t, "%s", msg);
        }
    }

    named_arg args[RT_REWARD_MAX_ARGS];
    int n_args = 0;
    if (enter(p) < 0) return -1;
    if (next(p) < 0) return -1;
    if (p->t.type != RW_T_RP) {
        for (;;) {
            if (n_args == RT_REWARD_MAX_ARGS)
                return perr(p, RT_ELIMIT, &p->t, "too many arguments (more than %s)", "64");
            named_arg *a = &args[n_args];
            a->name[0] = 0;
            a->t = p->t;
            if (p->t.type == RW_T_NAME) {
                rw_lexer save = p->lx;
                rw_tok save_t = p->t;
                if (next(p) < 0) return -1;
                int named = p->t.type == RW_T_ASSIGN;
                p->lx = save;
                p->t = save_t;
                if (named) {
                    tok_text(p, &p->t, a->name, sizeof a->name);
                    if (bi >= 0) {
                        char msg[160];
                        fmt_msg(msg, sizeof msg, "%s takes no named arguments", name);
                        return perr(p, RT_EARITY, &p->t, "%s", msg);
                    }
                    for (int i = 0; i < n_args; i++) {
                        if (!strcmp(args[i].name, a->name))
                            return perr(p, RT_EARITY, &p->t, "duplicate argument '%s'", NULL);
                    }
                    if (next(p) < 0 || next(p) < 0) return -1;
                }
            }
            if (callee && !a->name[0]) {
                char msg[200];
                fmt_msg(msg, sizeof msg,
                        "'%s' takes named arguments (feature=value), got a positional argument",
                        name);
                return perr(p, RT_EARITY, &a->t, "%s", msg);
            }
            a->node = parse_expr(p);
            if (a->node < 0) return -1;
            n_args++;
            if (p->t.type == RW_T_COMMA) {
                if (next(p) < 0) return -1;
                continue;
            }
            if (p->t.type == RW_T_RP) break;
            return unclosed(p, &open);
        }
    }
    if (next(p) < 0) return -1; /* consume ')' */
    p->depth--;

    if (callee) return inline_call(p, callee, name_t, args, n_args);

    /* built-in: arity */
    int is_close = !strcmp(name, "close");
    int want = (bi == 0 || !strcmp(name, "clip") || is_close) ? 3 : (bi == 1 || bi == 2) ? -2 : 1;
    if ((want > 0 && n_args != want) || (want == -2 && n_args < 2)) {
        char msg[160];
        if (want == -2)
            fmt_msg(msg, sizeof msg, "%s expects at least 2 arguments, got %d", name, n_args);
        else
            fmt_msg(msg, sizeof msg, "%s expects %d argument%s, got %d", name, want,
                    want == 1 ? "" : "s", n_args);
        return perr(p, RT_EARITY, name_t, "%s", msg);
    }
    int l = name_t->line, co = name_t->col;
    if (bi == 0) return rw_new_node(c, OP_IF, args[0].node, args[1].node, args[2].node, 0, l, co);
    if (bi == 1 || bi == 2) {
        int r = args[0].node;
        for (int i = 1; i < n_args && r >= 0; i++)
            r = rw_new_node(c, bi == 1 ? OP_MIN : OP_MAX, r, args[i].node, -1, 0, l, co);
        return r;
    }
    if (is_close)
        return rw_new_node(c, OP_CLOSE, args[0].node, args[1].node, args[2].node, 0, l, co);
    if (!strcmp(name, "clip"))
        return rw_new_node(c, OP_CLIP, args[0].node, args[1].node, args[2].node, 0, l, co);
    int op = !strcmp(name, "abs")   ? OP_ABS
             : !strcmp(name, "log") ? OP_LOG
             : !strcmp(name, "exp") ? OP_EXP
                                    : OP_SQRT;
    return rw_new_node(c, op, args[0].node, -1, -1, 0, l, co);
}

/* primary -> NUMBER | NAME | call | '(' expr ')' */
static int parse_primary(parser *p)
{
    rw_compiler *c = p->c;
    rw_tok t = p->t;
    if (t.type == RW_T_NUM) {
        if (next(p) < 0) return -1;
        return rw_new_node(c, OP_CONST, -1, -1, -1, t.num, t.line, t.col);
    }
    if (t.type == RW_T_LP) {
        if (enter(p) < 0 || next(p) < 0) return -1;
        int e = parse_expr(p);
        if (e < 0) return -1;
        if (p->t.type != RW_T_RP) return unclosed(p, &t);
        p->depth--;
        if (next(p) < 0) return -1;
        return e;
    }
    if (t.type == RW_T_STR)
        return perr(p, RT_ESYNTAX, &t,
                    "a \"string\" can only be an argument of equals, contains, prefix, "
                    "edit_distance or number",
                    NULL);
    if (t.type != RW_T_NAME) return unexpected(p);
    if (next(p) < 0) return -1;
    if (p->t.type == RW_T_LP) return parse_call(p, &t);

    char name[RT_REWARD_MAX_NAME + 1];
    tok_text(p, &t, name, sizeof name);
    const rt_reward_env *env = c->env;
    int slot = env_feature(env, name);
    if (slot >= 0) {
        int ref = add_feat(c, NULL, NULL, name, slot, t.line, t.col);
        if (ref < 0) return -1;
        return rw_new_node(c, OP_FEAT, ref, -1, -1, 0, t.line, t.col);
    }
    char msg[200];
    int ts = env_text(env, name);
    if (ts >= 0) {
        if (!env_text_numeric(env, ts)) {
            fmt_msg(msg, sizeof msg,
                    "'%s' is text: use it in equals, contains, prefix, edit_distance or number "
                    "(e.g. number(%s))",
                    name, name);
            return perr(p, RT_ENAME, &t, "%s", msg);
        }
        int ref = add_text(c, name, ts, 1, t.line, t.col);
        if (ref < 0) return -1;
        int leaf = rw_new_node(c, OP_TEXT, ref, -1, -1, 0, t.line, t.col);
        if (leaf < 0) return -1;
        return rw_new_node(c, OP_NUMBER, leaf, -1, -1, 0, t.line, t.col);
    }
    if (builtin_index(name) >= 0 || text_builtin_index(name) >= 0) {
        fmt_msg(msg, sizeof msg, "'%s' is a function; call it as %s(...)", name, name);
        return perr(p, RT_ESYNTAX, &t, "%s", msg);
    }
    if (is_feature_fn(env, name)) {
        fmt_msg(msg, sizeof msg, "%s expects a name, e.g. %s(NAME)", name, name);
        return perr(p, RT_EARITY, &t, "%s", msg);
    }
    if (env->resolve_reward && env->resolve_reward(env->ctx, name)) {
        fmt_msg(msg, sizeof msg, "'%s' is a reward; call it as %s(...)", name, name);
        return perr(p, RT_ESYNTAX, &t, "%s", msg);
    }
    int idx = add_param(c, name, 0, 0, t.line, t.col);
    if (idx < 0) return -1;
    return rw_new_node(c, OP_PARAM, idx, -1, -1, 0, t.line, t.col);
}

static int parse_unary(parser *p);

/* power -> primary ['^' unary] */
static int parse_power(parser *p)
{
    int a = parse_primary(p);
    if (a < 0) return -1;
    if (p->t.type != RW_T_CARET) return a;
    rw_tok op = p->t;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int b = parse_unary(p);
    if (b < 0) return -1;
    p->depth--;
    return rw_new_node(p->c, OP_POW, a, b, -1, 0, op.line, op.col);
}

/* unary -> ('-'|'+') unary | power */
static int parse_unary(parser *p)
{
    if (p->t.type != RW_T_MINUS && p->t.type != RW_T_PLUS) return parse_power(p);
    rw_tok op = p->t;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int a = parse_unary(p);
    if (a < 0) return -1;
    p->depth--;
    if (op.type == RW_T_PLUS) return a;
    return rw_new_node(p->c, OP_NEG, a, -1, -1, 0, op.line, op.col);
}

/* prod -> unary {('*'|'/') unary} */
static int parse_prod(parser *p)
{
    int a = parse_unary(p);
    while (a >= 0 && (p->t.type == RW_T_STAR || p->t.type == RW_T_SLASH)) {
        rw_tok op = p->t;
        if (next(p) < 0) return -1;
        int b = parse_unary(p);
        if (b < 0) return -1;
        a = rw_new_node(p->c, op.type == RW_T_STAR ? OP_MUL : OP_DIV, a, b, -1, 0, op.line, op.col);
    }
    return a;
}

/* sum -> prod {('+'|'-') prod} */
static int parse_sum(parser *p)
{
    int a = parse_prod(p);
    while (a >= 0 && (p->t.type == RW_T_PLUS || p->t.type == RW_T_MINUS)) {
        rw_tok op = p->t;
        if (next(p) < 0) return -1;
        int b = parse_prod(p);
        if (b < 0) return -1;
        a = rw_new_node(p->c, op.type == RW_T_PLUS ? OP_ADD : OP_SUB, a, b, -1, 0, op.line, op.col);
    }
    return a;
}

static int cmp_op(int type)
{
    switch (type) {
    case RW_T_LT:
        return OP_LT;
    case RW_T_LE:
        return OP_LE;
    case RW_T_GT:
        return OP_GT;
    case RW_T_GE:
        return OP_GE;
    case RW_T_EQ:
        return OP_EQ;
    case RW_T_NE:
        return OP_NE;
    default:
        return -1;
    }
}

/* cmp -> sum [cmpop sum] */
static int parse_cmp(parser *p)
{
    int a = parse_sum(p);
    if (a < 0) return -1;
    int op = cmp_op(p->t.type);
    if (op < 0) return a;
    rw_tok opt = p->t;
    if (next(p) < 0) return -1;
    int b = parse_sum(p);
    if (b < 0) return -1;
    if (cmp_op(p->t.type) >= 0)
        return perr(p, RT_ESYNTAX, &p->t, "comparisons cannot be chained (write 'a < b and b < c')",
                    NULL);
    return rw_new_node(p->c, op, a, b, -1, 0, opt.line, opt.col);
}

/* not -> 'not' not | cmp */
static int parse_not(parser *p)
{
    if (p->t.type != RW_T_NOT) return parse_cmp(p);
    rw_tok op = p->t;
    if (enter(p) < 0 || next(p) < 0) return -1;
    int a = parse_not(p);
    if (a < 0) return -1;
    p->depth--;
    return rw_new_node(p->c, OP_NOT, a, -1, -1, 0, op.line, op.col);
}

/* and -> not {'and' not} */
static int parse_and(parser *p)
{
    int a = parse_not(p);
    while (a >= 0 && p->t.type == RW_T_AND) {
        rw_tok op = p->t;
        if (next(p) < 0) return -1;
        int b = parse_not(p);
        if (b < 0) return -1;
        a = rw_new_node(p->c, OP_AND, a, b, -1, 0, op.line, op.col);
    }
    return a;
}

/* expr -> and {'or' and} */
static int parse_expr(parser *p)
{
    int a = parse_and(p);
    while (a >= 0 && p->t.type == RW_T_OR) {
        rw_tok op = p->t;
        if (next(p) < 0) return -1;
        int b = parse_and(p);
        if (b < 0) return -1;
        a = rw_new_node(p->c, OP_OR, a, b, -1, 0, op.line, op.col);
    }
    return a;
}

int rw_parse(rw_compiler *c, const char *src, size_t len, int line, int col)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.lx.c = c;
    p.lx.src = src;
    p.lx.len = len;
    p.lx.line = line;
    p.lx.col = col;
    if (next(&p) < 0) return -1;
    if (p.t.type == RW_T_EOF)
        return rw_error(c, RT_ESYNTAX, line, col, "", 0, "empty expression"), -1;
    int root = parse_expr(&p);
    if (root < 0) return -1;
    if (p.t.type != RW_T_EOF) return unexpected(&p);
    return root;
}
