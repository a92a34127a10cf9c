/* rt_reward_program.c: from expression tree to program: constant folding (never of
 * text operations), postfix bytecode with jumps (stack depth computed while emitting;
 * text leaves use a separate 2-deep text stack), the program object and its accessors,
 * linking to another feature and text layout, feature checks, parameter
 * binding, descriptions, and the shared error helper (did-you-mean: rt_text.h).  Parsing is
 * in rt_reward_parse.c, evaluation and number formatting in rt_reward_eval.c. */
#include "rt_reward_int.h"

#include "rt_alloc.h"
#include "rt_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- diagnostics ---- */

int rw_error(rw_compiler *c, int code, int line, int col, const char *near, size_t near_len,
             const char *fmt, ...)
{
    if (c->failed) return code; /* keep the first error */
    c->failed = code;
    rt_diag *d = c->diag;
    if (!d) return code;
    d->code = code;
    d->line = line;
    d->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    size_t n = near ? rt_utf8_cut(near, near_len, sizeof d->near - 1) : 0; /* whole code points */
    if (n) memcpy(d->near, near, n);
    d->near[n] = 0;
    return code;
}

static void diag_set(rt_diag *d, int code, int line, int col, const char *msg)
{
    if (!d) return;
    d->code = code;
    d->line = line;
    d->col = col;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    d->near[0] = 0;
}

/* ---- tree ---- */

int rw_new_node(rw_compiler *c, int op, int a, int b, int cc, double v, int line, int col)
{
    if (c->n_nodes >= RT_REWARD_MAX_NODES)
        return rw_error(c, RT_ELIMIT, line, col, NULL, 0,
                        "expression too large (more than %d operations)", RT_REWARD_MAX_NODES),
               -1;
    int h = 0;
    if (a >= 0 && op != OP_FEAT && op != OP_PARAM && op != OP_TEXT && op != OP_STR &&
        c->nodes[a].height > h)
        h = c->nodes[a].height;
    if (b >= 0 && c->nodes[b].height > h) h = c->nodes[b].height;
    if (cc >= 0 && c->nodes[cc].height > h) h = c->nodes[cc].height;
    if (h + 1 > RT_REWARD_MAX_HEIGHT)
        return rw_error(c, RT_ELIMIT, line, col, NULL, 0,
                        "expression too complex (more than %d levels of operations)",
                        RT_REWARD_MAX_HEIGHT),
               -1;
    if (c->n_nodes == c->cap_nodes) {
        int cap = c->cap_nodes ? 2 * c->cap_nodes : 32;
        rw_node *nn = rt_realloc(c->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return rw_error(c, RT_ENOMEM, 0, 0, NULL, 0, "out of memory"), -1;
        c->nodes = nn;
        c->cap_nodes = cap;
    }
    rw_node *n = &c->nodes[c->n_nodes];
    n->op = (uint8_t)op;
    n->folded = 0;
    n->a = a;
    n->b = b;
    n->c = cc;
    n->v = v;
    n->height = h + 1;
    n->line = line;
    n->col = col;
    return c->n_nodes++;
}

static void free_feats(rw_feat *f, int n)
{
    for (int i = 0; i < n; i++) {
        rt_free(f[i].name);
        rt_free(f[i].fn);
        rt_free(f[i].arg);
    }
    rt_free(f);
}

static void free_params(rw_param *q, int n)
{
    for (int i = 0; i < n; i++)
        rt_free(q[i].name);
    rt_free(q);
}

void rw_free_texts(rw_text *t, int n)
{
    for (int i = 0; i < n; i++)
        rt_free(t[i].name);
    rt_free(t);
}

void rw_free_lits(rw_lit *l, int n)
{
    for (int i = 0; i < n; i++)
        rt_free(l[i].s);
    rt_free(l);
}

void rw_compiler_free(rw_compiler *c)
{
    rt_free(c->nodes);
    free_feats(c->feats, c->n_feats);
    free_params(c->params, c->n_params);
    rw_free_texts(c->texts, c->n_texts);
    rw_free_lits(c->lits, c->n_lits);
    c->nodes = NULL;
    c->feats = NULL;
    c->params = NULL;
    c->texts = NULL;
    c->lits = NULL;
}

/* ---- constant folding (in place; the tree may be a DAG) ---- */

static void set_const(rw_node *n, double v)
{
    n->op = OP_CONST;
    n->a = n->b = n->c = -1;
    n->v = v;
}

static void fold(rw_node *nodes, int i)
{
    rw_node *n = &nodes[i];
    if (n->folded) return;
    n->folded = 1;
    if (n->op == OP_CONST || n->op == OP_FEAT || n->op == OP_PARAM || n->op == OP_TEXT ||
        n->op == OP_STR)
        return;
    if (n->a >= 0) fold(nodes, n->a);
    if (n->b >= 0) fold(nodes, n->b);
    if (n->c >= 0) fold(nodes, n->c);
    const rw_node *A = n->a >= 0 ? &nodes[n->a] : NULL;
    const rw_node *B = n->b >= 0 ? &nodes[n->b] : NULL;
    const rw_node *C = n->c >= 0 ? &nodes[n->c] : NULL;
    int ka = A && A->op == OP_CONST, kb = B && B->op == OP_CONST, kc = C && C->op == OP_CONST;
    if (rw_is_unary(n->op)) {
        if (ka) set_const(n, rw_apply1(n->op, A->v));
    } else if (n->op == OP_AND || n->op == OP_OR) {
        int is_and = n->op == OP_AND;
        if (ka && kb) {
            set_const(n, rw_apply2(n->op, A->v, B->v));
        } else if (ka) { /* x and b: 0 if x false; else truth(b).  x or b: mirror. */
            if ((A->v != 0) != is_and)
                set_const(n, is_and ? 0.0 : 1.0);
            else
                n->op = OP_TRUTH, n->a = n->b, n->b = -1;
        } else if (kb && (B->v != 0) != is_and) { /* a and 0 = 0, a or 1 = 1 */
            set_const(n, is_and ? 0.0 : 1.0);
        }
    } else if (rw_is_binary(n->op)) {
        if (ka && kb) set_const(n, rw_apply2(n->op, A->v, B->v));
    } else if (n->op == OP_CLIP) {
        if (ka && kb && kc) set_const(n, rw_clip(A->v, B->v, C->v));
    } else if (n->op == OP_CLOSE) {
        if (ka && kb && kc) set_const(n, rw_close(A->v, B->v, C->v));
        /* the text ops (OP_EQUALS..OP_NUMBER) are never folded */
    } else if (n->op == OP_IF) {
        if (ka) *n = A->v != 0 ? *B : *C; /* copy the chosen branch's node */
        n->folded = 1;
    }
}

/* ---- bytecode ---- */

typedef struct emitter {
    uint32_t *code;
    int n, cap;
    double *consts;
    int nk, capk;
    int depth, max_depth;
    int err;              /* RT_ENOMEM / ELIMIT */
    const rw_feat *feats; /* slots of the feature refs */
    const rw_text *texts; /* slots of the text refs */
} emitter;

static int emit(emitter *e, int op, int arg)
{
    if (e->err) return -1;
    if (e->n >= RT_REWARD_MAX_CODE) {
        e->err = RT_ELIMIT;
        return -1;
    }
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 32;
        uint32_t *nc = rt_realloc(e->code, (size_t)cap * sizeof *nc);
        if (!nc) {
            e->err = RT_ENOMEM;
            return -1;
        }
        e->code = nc;
        e->cap = cap;
    }
    e->code[e->n] = (uint32_t)op | ((uint32_t)arg << 8);
    return e->n++;
}

static void push(emitter *e, int k)
{
    e->depth += k;
    if (e->depth > e->max_depth) e->max_depth = e->depth;
}

static void patch(emitter *e, int at, int target)
{
    if (at >= 0) e->code[at] = (e->code[at] & 0xFFu) | ((uint32_t)target << 8);
}

static void gen(emitter *e, const rw_node *nodes, int i)
{
    const rw_node *n = &nodes[i];
    if (e->err) return;
    switch (n->op) {
    case OP_CONST:
        if (e->nk == e->capk) {
            int cap = e->capk ? 2 * e->capk : 8;
            double *nk = rt_realloc(e->consts, (size_t)cap * sizeof *nk);
            if (!nk) {
                e->err = RT_ENOMEM;
                return;
            }
            e->consts = nk;
            e->capk = cap;
        }
        e->consts[e->nk] = n->v;
        emit(e, OP_CONST, e->nk++);
        push(e, 1);
        return;
    case OP_FEAT: /* the operand is the slot itself (rt_reward_link regenerates) */
        emit(e, OP_FEAT, e->feats[n->a].slot);
        push(e, 1);
        return;
    case OP_PARAM:
        emit(e, OP_PARAM, n->a);
        push(e, 1);
        return;
    case OP_TEXT: /* text stack, not the number stack */
        emit(e, OP_TEXT, e->texts[n->a].slot);
        return;
    case OP_STR:
        emit(e, OP_STR, n->a);
        return;
    case OP_EQUALS:
    case OP_CONTAINS:
    case OP_PREFIX:
    case OP_EDIT:
        gen(e, nodes, n->a);
        gen(e, nodes, n->b);
        emit(e, n->op, 0);
        push(e, 1);
        return;
    case OP_NUMBER:
        gen(e, nodes, n->a);
        emit(e, OP_NUMBER, 0);
        push(e, 1);
        return;
    case OP_AND:
    case OP_OR: {
        gen(e, nodes, n->a);
        int j = emit(e, n->op == OP_AND ? OP_ANDJ : OP_ORJ, 0);
        push(e, -1);
        gen(e, nodes, n->b);
        emit(e, OP_TRUTH, 0);
        patch(e, j, e->n);
        return;
    }
    case OP_IF: {
        gen(e, nodes, n->a);
        int jz = emit(e, OP_JZ, 0);
        push(e, -1);
        gen(e, nodes, n->b);
        int jmp = emit(e, OP_JMP, 0);
        push(e, -1);
        patch(e, jz, e->n);
        gen(e, nodes, n->c);
        patch(e, jmp, e->n);
        return;
    }
    case OP_CLIP:
    case OP_CLOSE:
        gen(e, nodes, n->a);
        gen(e, nodes, n->b);
        gen(e, nodes, n->c);
        emit(e, n->op, 0);
        push(e, -2);
        return;
    default:
        gen(e, nodes, n->a);
        if (rw_is_binary(n->op)) {
            gen(e, nodes, n->b);
            push(e, -1);
        }
        emit(e, n->op, 0);
        return;
    }
}

/* Generate p's code from p->nodes / p->root; 0 or an error code (diag filled). */
static int codegen(rt_reward_program *p, rt_diag *diag)
{
    emitter e;
    memset(&e, 0, sizeof e);
    e.feats = p->feats;
    e.texts = p->texts;
    gen(&e, p->nodes, p->root);
    if (!e.err && e.max_depth > RT_REWARD_MAX_STACK) e.err = -100;
    if (e.err) {
        rt_free(e.code);
        rt_free(e.consts);
        if (e.err == RT_ENOMEM) {
            diag_set(diag, RT_ENOMEM, 0, 0, "out of memory");
            return RT_ENOMEM;
        }
        char msg[128];
        if (e.err == -100)
            snprintf(msg, sizeof msg, "expression needs more than %d stack slots",
                     RT_REWARD_MAX_STACK);
        else
            snprintf(msg, sizeof msg, "expression too large (more than %d instructions)",
                     RT_REWARD_MAX_CODE);
        diag_set(diag, RT_ELIMIT, p->nodes[p->root].line, p->nodes[p->root].col, msg);
        return RT_ELIMIT;
    }
    p->code = e.code;
    p->n_code = e.n;
    p->consts = e.consts;
    p->n_consts = e.nk;
    p->max_stack = e.max_depth;
    return 0;
}

static void compute_min_slots(rt_reward_program *p)
{
    p->min_slots = 0;
    for (int i = 0; i < p->n_feats; i++)
        if (p->feats[i].slot + 1 > p->min_slots) p->min_slots = p->feats[i].slot + 1;
    p->min_texts = 0;
    for (int i = 0; i < p->n_texts; i++)
        if (p->texts[i].slot + 1 > p->min_texts) p->min_texts = p->texts[i].slot + 1;
}

/* ---- program ---- */

void rt_reward_free(rt_reward_program *p)
{
    if (!p) return;
    rt_free(p->name);
    rt_free(p->source);
    rt_free(p->nodes);
    free_feats(p->feats, p->n_feats);
    free_params(p->params, p->n_params);
    rw_free_texts(p->texts, p->n_texts);
    rw_free_lits(p->lits, p->n_lits);
    for (int i = 0; i < p->n_env_feats; i++)
        rt_free(p->env_feats[i]);
    rt_free(p->env_feats);
    rt_free(p->code);
    rt_free(p->consts);
    rt_free(p);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = rt_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* Copy the env's feature names into p (the named-argument namespace). */
static int set_env_feats(rt_reward_program *p, const rt_reward_env *env)
{
    int n = env->n_features > 0 ? env->n_features : 0;
    p->env_feats = rt_calloc((size_t)(n ? n : 1), sizeof *p->env_feats);
    if (!p->env_feats) return -1;
    for (int i = 0; i < n; i++) {
        p->env_feats[i] = rt_strdup(env->features[i] ? env->features[i] : "");
        if (!p->env_feats[i]) return -1;
        p->n_env_feats = i + 1;
    }
    return 0;
}

int rt_reward_compile(const char *src, size_t len, int line, int col, const rt_reward_env *env,
                      rt_reward_program **out, rt_diag *diag)
{
    static const rt_reward_env empty_env;
    if (out) *out = NULL;
    if (diag) memset(diag, 0, sizeof *diag);
    if (!out || (!src && len)) {
        diag_set(diag, RT_EINVAL, 0, 0, "invalid arguments");
        return RT_EINVAL;
    }
    if (!env) env = &empty_env;
    if (env->n_features < 0 || env->n_params < 0 || env->n_feature_fns < 0 ||
        env->n_reward_names < 0 || (env->n_features && !env->features) ||
        (env->n_feature_fns && !env->feature_fns) || (env->n_reward_names && !env->reward_names) ||
        env->n_texts < 0 || (env->n_texts && !env->texts)) {
        diag_set(diag, RT_EINVAL, 0, 0, "invalid environment");
        return RT_EINVAL;
    }
    if (len > RT_REWARD_MAX_SOURCE) {
        char msg[96];
        snprintf(msg, sizeof msg, "expression too long (%zu bytes; the limit is %d)", len,
                 RT_REWARD_MAX_SOURCE);
        diag_set(diag, RT_ELIMIT, line, col, msg);
        return RT_ELIMIT;
    }
    rw_compiler c;
    memset(&c, 0, sizeof c);
    c.env = env;
    c.diag = diag;
    int root = rw_parse(&c, src ? src : "", len, line, col);
    if (root < 0) {
        rw_compiler_free(&c);
        return c.failed ? c.failed : RT_ESYNTAX;
    }
    rt_reward_program *p = rt_calloc(1, sizeof *p);
    if (!p) {
        rw_compiler_free(&c);
        diag_set(diag, RT_ENOMEM, 0, 0, "out of memory");
        return RT_ENOMEM;
    }
    p->nodes = c.nodes;
    p->n_nodes = c.n_nodes;
    p->root = root;
    p->feats = c.feats;
    p->n_feats = c.n_feats;
    p->params = c.params;
    p->n_params = c.n_params;
    p->texts = c.texts;
    p->n_texts = c.n_texts;
    p->lits = c.lits;
    p->n_lits = c.n_lits;
    p->name = rt_strdup(env->name ? env->name : "");
    p->source = dup_n(src ? src : "", len);
    if (!p->name || !p->source || set_env_feats(p, env) < 0) {
        rt_reward_free(p);
        diag_set(diag, RT_ENOMEM, 0, 0, "out of memory");
        return RT_ENOMEM;
    }
    if (!(env->flags & RT_REWARD_NO_FOLD)) fold(p->nodes, p->root);
    int rc = codegen(p, diag);
    if (rc) {
        rt_reward_free(p);
        return rc;
    }
    compute_min_slots(p);
    *out = p;
    return 0;
}

/* Deep copy of p (tree, tables, code). */
static rt_reward_program *clone(const rt_reward_program *p)
{
    rt_reward_program *q = rt_calloc(1, sizeof *q);
    if (!q) return NULL;
    int ok = 1;
    q->name = rt_strdup(p->name);
    q->source = rt_strdup(p->source);
    q->nodes = rt_malloc((size_t)(p->n_nodes ? p->n_nodes : 1) * sizeof *q->nodes);
    q->code = rt_malloc((size_t)(p->n_code ? p->n_code : 1) * sizeof *q->code);
    q->consts = rt_malloc((size_t)(p->n_consts ? p->n_consts : 1) * sizeof *q->consts);
    q->feats = rt_calloc((size_t)(p->n_feats ? p->n_feats : 1), sizeof *q->feats);
    q->params = rt_calloc((size_t)(p->n_params ? p->n_params : 1), sizeof *q->params);
    q->texts = rt_calloc((size_t)(p->n_texts ? p->n_texts : 1), sizeof *q->texts);
    q->lits = rt_calloc((size_t)(p->n_lits ? p->n_lits : 1), sizeof *q->lits);
    ok = q->name && q->source && q->nodes && q->code && q->consts && q->feats && q->params &&
         q->texts && q->lits;
    if (!ok) {
        rt_reward_free(q);
        return NULL;
    }
    memcpy(q->nodes, p->nodes, (size_t)p->n_nodes * sizeof *q->nodes);
    q->n_nodes = p->n_nodes;
    q->root = p->root;
    memcpy(q->code, p->code, (size_t)p->n_code * sizeof *q->code);
    q->n_code = p->n_code;
    if (p->n_consts) memcpy(q->consts, p->consts, (size_t)p->n_consts * sizeof *q->consts);
    q->n_consts = p->n_consts;
    q->max_stack = p->max_stack;
    for (int i = 0; i < p->n_feats; i++) {
        rw_feat *f = &q->feats[i];
        *f = p->feats[i];
        f->name = rt_strdup(p->feats[i].name);
        f->fn = p->feats[i].fn ? rt_strdup(p->feats[i].fn) : NULL;
        f->arg = p->feats[i].arg ? rt_strdup(p->feats[i].arg) : NULL;
        q->n_feats = i + 1;
        if (!f->name || (p->feats[i].fn && (!f->fn || !f->arg))) ok = 0;
    }
    for (int i = 0; ok && i < p->n_params; i++) {
        q->params[i] = p->params[i];
        q->params[i].name = rt_strdup(p->params[i].name);
        q->n_params = i + 1;
        if (!q->params[i].name) ok = 0;
    }
    for (int i = 0; ok && i < p->n_texts; i++) {
        q->texts[i] = p->texts[i];
        q->texts[i].name = rt_strdup(p->texts[i].name);
        q->n_texts = i + 1;
        if (!q->texts[i].name) ok = 0;
    }
    for (int i = 0; ok && i < p->n_lits; i++) {
        q->lits[i].n = p->lits[i].n;
        q->lits[i].s = rt_malloc(p->lits[i].n + 1);
        q->n_lits = i + 1;
        if (!q->lits[i].s)
            ok = 0;
        else
            memcpy(q->lits[i].s, p->lits[i].s, p->lits[i].n + 1);
    }
    q->min_texts = p->min_texts;
    if (!ok) {
        rt_reward_free(q);
        return NULL;
    }
    return q;
}

/* Comma-separated names for messages: "(correct, length)" style lists. */
static void join_names(char *buf, size_t n, const char *const *names, int count)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < count && k < n; i++) {
        int w = snprintf(buf + k, n - k, "%s%s", i ? ", " : "", names[i] ? names[i] : "");
        if (w < 0) break;
        k += (size_t)w;
    }
}

static void missing_feature(const rt_reward_program *p, const rw_feat *f, const char *const *names,
                            int n, rt_diag *diag)
{
    char list[160];
    join_names(list, sizeof list, names, n);
    char msg[256];
    if (n == 0)
        snprintf(msg, sizeof msg, "reward '%s' reads feature '%s', but the task has no features",
                 p->name, f->name);
    else
        snprintf(msg, sizeof msg,
                 "reward '%s' reads feature '%s', which task features (%s) do not include", p->name,
                 f->name, list);
    diag_set(diag, RT_EFEATURE, f->line, f->col, msg);
    if (diag) snprintf(diag->near, sizeof diag->near, "%s", f->fn ? f->fn : f->name);
}

int rt_reward_check_features(const rt_reward_program *p, const char *const *names, int n,
                             rt_diag *diag)
{
    if (diag) memset(diag, 0, sizeof *diag);
    if (!p || n < 0 || (n && !names)) {
        diag_set(diag, RT_EINVAL, 0, 0, "invalid arguments");
        return RT_EINVAL;
    }
    for (int i = 0; i < p->n_feats; i++) {
        int found = 0;
        for (int j = 0; j < n && !found; j++)
            found = names[j] && !strcmp(names[j], p->feats[i].name);
        if (!found) {
            missing_feature(p, &p->feats[i], names, n, diag);
            return RT_EFEATURE;
        }
    }
    return 0;
}

int rt_reward_link(const rt_reward_program *p, const rt_reward_env *env, rt_reward_program **out,
                   rt_diag *diag)
{
    if (out) *out = NULL;
    if (diag) memset(diag, 0, sizeof *diag);
    if (!p || !env || !out || env->n_features < 0 || (env->n_features && !env->features) ||
        env->n_feature_fns < 0 || (env->n_feature_fns && !env->feature_fns) || env->n_texts < 0 ||
        (env->n_texts && !env->texts)) {
        diag_set(diag, RT_EINVAL, 0, 0, "invalid arguments");
        return RT_EINVAL;
    }
    int slots = env->n_slots > env->n_features ? env->n_slots : env->n_features;
    rt_reward_program *q = clone(p);
    if (!q) {
        diag_set(diag, RT_ENOMEM, 0, 0, "out of memory");
        return RT_ENOMEM;
    }
    for (int i = 0; i < q->n_feats; i++) {
        rw_feat *f = &q->feats[i];
        int slot = -1;
        if (f->fn) {
            int known = 0;
            for (int k = 0; k < env->n_feature_fns && !known; k++)
                known = env->feature_fns[k] && !strcmp(env->feature_fns[k], f->fn);
            char msg[256] = "";
            if (known && env->resolve_feature &&
                env->resolve_feature(env->ctx, f->fn, f->arg, &slot, msg, sizeof msg) == 0 &&
                slot >= 0 && slot < slots) {
                f->slot = slot;
                continue;
            }
            if (known && msg[0]) {
                msg[sizeof msg - 1] = 0;
                diag_set(diag, RT_EFEATURE, f->line, f->col, msg);
                rt_reward_free(q);
                return RT_EFEATURE;
            }
        } else {
            for (int k = 0; k < env->n_features && slot < 0; k++)
                if (env->features[k] && !strcmp(env->features[k], f->name)) slot = k;
            if (slot >= 0) {
                f->slot = slot;
                continue;
            }
        }
        missing_feature(p, &p->feats[i], env->features, env->n_features, diag);
        rt_reward_free(q);
        return RT_EFEATURE;
    }
    for (int i = 0; i < q->n_texts; i++) {
        rw_text *t = &q->texts[i];
        int slot = -1;
        for (int k = 0; k < env->n_texts && slot < 0; k++)
            if (env->texts[k] && !strcmp(env->texts[k], t->name)) slot = k;
        char msg[256];
        if (slot < 0) {
            char list[160];
            join_names(list, sizeof list, env->texts, env->n_texts);
            if (env->n_texts == 0)
                snprintf(msg, sizeof msg, "reward '%s' reads text '%s', but the task has no texts",
                         p->name, t->name);
            else
                snprintf(msg, sizeof msg,
                         "reward '%s' reads text '%s', which the task's texts (%s) do not include",
                         p->name, t->name, list);
            diag_set(diag, RT_EFEATURE, t->line, t->col, msg);
        } else if (t->bare_line && !(env->text_numeric && env->text_numeric[slot])) {
            snprintf(msg, sizeof msg,
                     "reward '%s' reads '%s' as a number, but it is not a number in every row of "
                     "the task",
                     p->name, t->name);
            diag_set(diag, RT_EFEATURE, t->bare_line, t->bare_col, msg);
        } else {
            t->slot = slot;
            continue;
        }
        if (diag) snprintf(diag->near, sizeof diag->near, "%s", t->name);
        rt_reward_free(q);
        return RT_EFEATURE;
    }
    for (int i = 0; i < q->n_env_feats; i++)
        rt_free(q->env_feats[i]);
    rt_free(q->env_feats);
    q->env_feats = NULL;
    q->n_env_feats = 0;
    if (set_env_feats(q, env) < 0) {
        rt_reward_free(q);
        diag_set(diag, RT_ENOMEM, 0, 0, "out of memory");
        return RT_ENOMEM;
    }
    rt_free(q->code);
    rt_free(q->consts);
    q->code = NULL;
    q->consts = NULL;
    int rc = codegen(q, diag); /* feature slots are bytecode operands */
    if (rc) {
        rt_reward_free(q);
        return rc;
    }
    compute_min_slots(q);
    *out = q;
    return 0;
}

/* ---- parameters ---- */

int rt_reward_n_params(const rt_reward_program *p)
{
    return p ? p->n_params : 0;
}

const char *rt_reward_param_name(const rt_reward_program *p, int i)
{
    return p && i >= 0 && i < p->n_params ? p->params[i].name : NULL;
}

int rt_reward_param_default(const rt_reward_program *p, int i, double *value)
{
    if (!p || i < 0 || i >= p->n_params || !p->params[i].has_def) return 0;
    if (value) *value = p->params[i].def;
    return 1;
}

int rt_reward_param_index(const rt_reward_program *p, const char *name)
{
    if (!p || !name) return -1;
    for (int i = 0; i < p->n_params; i++)
        if (!strcmp(p->params[i].name, name)) return i;
    return -1;
}

int rt_reward_bind_params(const rt_reward_program *p, const char *const *names,
                          const double *values, int n, double *params, rt_diag *diag)
{
    if (diag) memset(diag, 0, sizeof *diag);
    if (!p || n < 0 || (n && (!names || !values)) || (p->n_params && !params)) {
        diag_set(diag, RT_EINVAL, 0, 0, "invalid arguments");
        return RT_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (rt_reward_param_index(p, names[i]) >= 0) continue;
        const char *cands[64];
        int nc = 0;
        for (int k = 0; k < p->n_params && nc < 64; k++)
            cands[nc++] = p->params[k].name;
        const char *s = names[i] ? rt_did_you_mean(names[i], cands, (size_t)nc) : NULL;
        char msg[256];
        if (s)
            snprintf(msg, sizeof msg, "reward '%s' has no parameter '%s' (did you mean '%s'?)",
                     p->name, names[i] ? names[i] : "", s);
        else
            snprintf(msg, sizeof msg, "reward '%s' has no parameter '%s'", p->name,
                     names[i] ? names[i] : "");
        diag_set(diag, RT_EPARAM, 0, 0, msg);
        return RT_EPARAM;
    }
    for (int i = 0; i < p->n_params; i++) {
        const rw_param *q = &p->params[i];
        int have = q->has_def;
        double v = q->def;
        for (int k = n - 1; k >= 0; k--) { /* the last override of a name wins */
            if (names[k] && !strcmp(names[k], q->name)) {
                have = 1;
                v = values[k];
                break;
            }
        }
        if (!have) {
            char msg[256];
            if (!p->name[0] && q->hint[0])
                snprintf(msg, sizeof msg, "unknown name '%s' (did you mean '%s'?)", q->name,
                         q->hint);
            else if (!p->name[0])
                snprintf(msg, sizeof msg, "unknown name '%s'", q->name);
            else if (q->hint[0])
                snprintf(msg, sizeof msg,
                         "parameter '%s' has no value (did you mean '%s'? else give it in the "
                         "header: %%%%reward %s %s=...)",
                         q->name, q->hint, p->name, q->name);
            else
                snprintf(msg, sizeof msg,
                         "parameter '%s' has no value (give it in the header: %%%%reward %s "
                         "%s=...)",
                         q->name, p->name, q->name);
            diag_set(diag, RT_EPARAM, q->line, q->col, msg);
            if (diag) snprintf(diag->near, sizeof diag->near, "%s", q->name);
            return RT_EPARAM;
        }
        params[i] = v;
    }
    return 0;
}

/* ---- accessors ---- */

int rt_reward_n_features(const rt_reward_program *p)
{
    return p ? p->n_feats : 0;
}

const char *rt_reward_feature_name(const rt_reward_program *p, int i)
{
    return p && i >= 0 && i < p->n_feats ? p->feats[i].name : NULL;
}

int rt_reward_feature_slot(const rt_reward_program *p, int i)
{
    return p && i >= 0 && i < p->n_feats ? p->feats[i].slot : -1;
}

int rt_reward_min_slots(const rt_reward_program *p)
{
    return p ? p->min_slots : 0;
}

int rt_reward_n_texts(const rt_reward_program *p)
{
    return p ? p->n_texts : 0;
}

const char *rt_reward_text_name(const rt_reward_program *p, int i)
{
    return p && i >= 0 && i < p->n_texts ? p->texts[i].name : NULL;
}

int rt_reward_text_slot(const rt_reward_program *p, int i)
{
    return p && i >= 0 && i < p->n_texts ? p->texts[i].slot : -1;
}

int rt_reward_min_texts(const rt_reward_program *p)
{
    return p ? p->min_texts : 0;
}

const char *rt_reward_name(const rt_reward_program *p)
{
    return p ? p->name : "";
}

const char *rt_reward_source(const rt_reward_program *p)
{
    return p ? p->source : "";
}

int rt_reward_is_constant(const rt_reward_program *p)
{
    return p && p->n_texts == 0 && p->n_code == 1 && (p->code[0] & 0xFFu) == OP_CONST;
}

int rt_reward_code_size(const rt_reward_program *p)
{
    return p ? p->n_code : 0;
}

int rt_reward_stack_depth(const rt_reward_program *p)
{
    return p ? p->max_stack : 0;
}

/* ---- description ---- */

size_t rt_reward_describe(const rt_reward_program *p, char *buf, size_t n)
{
    rt_strbuf s;
    rt_strbuf_init_fixed(&s, buf, buf ? n : 0);
    if (!p) return 0;
    if (p->name[0]) {
        rt_strbuf_puts(&s, p->name);
        rt_strbuf_puts(&s, " = ");
    }
    /* the source with comments dropped and whitespace runs collapsed */
    int space = 0, started = 0;
    for (const char *c = p->source; *c; c++) {
        if (*c == '#') {
            while (c[1] && c[1] != '\n')
                c++;
            space = started;
            continue;
        }
        if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
            space = started;
            continue;
        }
        if (space) rt_strbuf_putc(&s, ' ');
        space = 0;
        started = 1;
        rt_strbuf_putc(&s, *c);
    }
    rt_strbuf_puts(&s, "  (features: ");
    if (!p->n_feats) rt_strbuf_puts(&s, "none");
    for (int i = 0; i < p->n_feats; i++) {
        if (i) rt_strbuf_puts(&s, ", ");
        rt_strbuf_puts(&s, p->feats[i].name);
    }
    if (p->n_texts) rt_strbuf_puts(&s, "; texts: ");
    for (int i = 0; i < p->n_texts; i++) {
        if (i) rt_strbuf_puts(&s, ", ");
        rt_strbuf_puts(&s, p->texts[i].name);
    }
    rt_strbuf_puts(&s, "; parameters: ");
    if (!p->n_params) rt_strbuf_puts(&s, "none");
    for (int i = 0; i < p->n_params; i++) {
        if (i) rt_strbuf_puts(&s, ", ");
        rt_strbuf_puts(&s, p->params[i].name);
        if (p->params[i].has_def) {
            char num[40];
            rt_reward_format(p->params[i].def, num, sizeof num);
            rt_strbuf_putc(&s, '=');
            rt_strbuf_puts(&s, num);
        } else {
            rt_strbuf_puts(&s, " (no default)");
        }
    }
    rt_strbuf_putc(&s, ')');
    return s.want;
}
