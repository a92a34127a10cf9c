/* mag_m_basic: the session and help magics — %echo, %sleep, %clear, %display, %input,
 * %lsmagic, %help, %who, %del, %reset, %seed, %threads, %numerics — and the help lookup
 * behind %help, ?name,
 * name? and Shift-Tab (mag_help_text).  Leaves out every training or object-defining
 * magic (mag_m_task.c, mag_m_policy.c, mag_m_reward.c, ...). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "rt_rl_keys.h"
#include "rt_alloc.h"
#include "rt_fuzz.h"
#include "rt_nn.h"
#include "rt_text.h"

/* ---- small helpers ---------------------------------------------------------------- */

/* The one positional argument of a line magic, or an error at the right place. */
static int one_arg(mag_ctx *ctx, const mag_magic *m, const mag_line *ln, const mag_value **v,
                   mag_diag *d)
{
    if (ln->nargs == 0)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, ln->pos.line, ln->pos.col, NULL,
                            "%%%s needs an argument: %s", m->name, m->usage);
    if (ln->nargs > 1 || ln->args[0].key) {
        const mag_kv *a = ln->nargs > 1 ? &ln->args[1] : &ln->args[0];
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, a->key_pos.line, a->key_pos.col, NULL,
                            "%%%s takes one argument: %s", m->name, m->usage);
    }
    *v = &ln->args[0].value;
    return 0;
}

/* ---- %echo, %clear, %display, %input, %sleep --------------------------------------- */

static int run_echo(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)c, (void)cfg, (void)d;
    const char *t = ln->args_text.text;
    enum krn_stream s = KRN_STDOUT;
    if (strncmp(t, "--stderr", 8) == 0 && (t[8] == '\0' || t[8] == ' ' || t[8] == '\t')) {
        s = KRN_STDERR;
        t += 8;
        if (*t == ' ' || *t == '\t') t++;
    }
    krn_out_printf(ctx->out, s, "%s\n", t);
    return 0;
}

/* "%NAME takes no arguments", at the first one. */
static int no_args(mag_ctx *ctx, const mag_magic *m, const mag_line *ln, mag_diag *d)
{
    return mag_err(ctx, d, MAG_ETYPE, ln->args[0].key_pos, "%%%s takes no arguments", m->name);
}

static int run_clear(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                     const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs) return no_args(ctx, m, ln, d);
    krn_out_clear(ctx->out, false);
    return 0;
}

static int run_display(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                       const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)c, (void)cfg;
    char id[128] = "";
    bool update = false;
    const char *t = ln->args_text.text, *p = t;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "--update", 8) == 0 && (p[8] == ' ' || p[8] == '\0' || p[8] == '\t')) {
            update = true;
            p += 8;
        } else if (strncmp(p, "--id=", 5) == 0) {
            size_t n = strcspn(p + 5, " \t");
            if (n == 0 || n >= sizeof id)
                return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, ln->args_text.pos.line,
                                    ln->args_text.pos.col + (int)rt_utf8_cols(t, (size_t)(p - t)),
                                    NULL, "%%display --id= needs an id (1-127 characters)");
            memcpy(id, p + 5, n);
            id[n] = '\0';
            p += 5 + n;
        } else {
            break;
        }
    }
    if (update && !id[0])
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, ln->pos.line, ln->pos.col, NULL,
                            "%%display --update needs --id=ID");
    krn_out_display_text(ctx->out, p, id[0] ? id : NULL, update);
    return 0;
}

static int run_input(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                     const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)c, (void)cfg;
    char *reply = NULL;
    int rc = krn_out_input(ctx->out, ln->args_text.text, false, &reply);
    if (rc == KRN_OUT_EINTR) {
        mag_diag_set(d, NULL, 0, MAG_INTERRUPTED, 0, 0, NULL, "interrupted during %%input");
        return MAG_INTERRUPTED;
    }
    if (rc != 0)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, ln->pos.line, ln->pos.col, NULL,
                            "%%input: this client does not accept input");
    krn_out_printf(ctx->out, KRN_STDOUT, "%s\n", reply);
    rt_free(reply);
    return 0;
}

static int run_sleep(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                     const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    const mag_value *v;
    if (one_arg(ctx, m, ln, &v, d)) return d->code;
    if (v->kind != MAG_V_INT && v->kind != MAG_V_FLOAT)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, v->pos.line, v->pos.col, NULL,
                            "%%sleep expects a number of seconds, got '%s'", v->text);
    if (!(v->num >= 0 && v->num <= 86400))
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, v->pos.line, v->pos.col, NULL,
                            "%%sleep: seconds must be in [0, 86400], got %s", v->text);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (krn_out_interrupted(ctx->out)) {
            mag_diag_set(d, NULL, 0, MAG_INTERRUPTED, 0, 0, NULL, "interrupted during %%sleep");
            return MAG_INTERRUPTED;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9;
        double left = RT_FUZZ_CAP(v->num, RT_FUZZ_MAX_SLEEP_S) - el;
        if (left <= 0) return 0;
        double step = left < 0.01 ? left : 0.01;
        struct timespec ts = {0, (long)(step * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* ---- %seed, %threads -------------------------------------------------------------- */

static int int_arg(mag_ctx *ctx, const mag_magic *m, const mag_line *ln, long long lo, long long hi,
                   long long *out, mag_diag *d)
{
    const mag_value *v;
    if (one_arg(ctx, m, ln, &v, d)) return d->code;
    if (v->kind != MAG_V_INT)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, v->pos.line, v->pos.col, NULL,
                            "%%%s expects an integer, got '%s'", m->name, v->text);
    if (v->i < lo || v->i > hi)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, v->pos.line, v->pos.col, NULL,
                            "%%%s must be in [%lld, %lld], got %s", m->name, lo, hi, v->text);
    *out = v->i;
    return 0;
}

static int run_seed(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                    const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    long long n;
    if (ln->nargs == 0) {
        krn_out_printf(ctx->out, KRN_STDOUT, "seed %llu\n",
                       (unsigned long long)mag_session_seed(ctx->session));
        return 0;
    }
    if (int_arg(ctx, m, ln, 0, 9007199254740991LL, &n, d)) return d->code;
    mag_session_set_seed(ctx->session, (uint64_t)n);
    krn_out_printf(ctx->out, KRN_STDOUT, "seed %lld\n", n);
    return 0;
}

static int run_threads(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                       const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    long long n;
    if (ln->nargs == 0) {
        krn_out_printf(ctx->out, KRN_STDOUT, "threads %d\n", mag_session_threads(ctx->session));
        return 0;
    }
    if (int_arg(ctx, m, ln, 1, 256, &n, d)) return d->code;
    mag_session_set_threads(ctx->session, (int)n);
    krn_out_printf(ctx->out, KRN_STDOUT, "threads %lld\n", n);
    return 0;
}

/* ---- %numerics ------------------------------------------------------------------- */

static void numerics_line(mag_ctx *ctx)
{
    int mode = rt_nn_numerics(), isa = rt_nn_isa();
    if (mode == RT_NN_NUMERICS_EXACT)
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "numerics exact: the runtime's own GEMM and transcendentals, the same "
                       "bits on every machine (SIMD path %s)\n",
                       rt_nn_isa_name(isa));
    else
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "numerics openblas: matrix products by OpenBLAS; results depend on the "
                       "CPU, the OpenBLAS kernel and version (not portable; SIMD path %s)\n",
                       rt_nn_isa_name(isa));
}

static int run_numerics(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                        const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    const mag_value *v;
    if (ln->nargs == 0) {
        numerics_line(ctx);
        return 0;
    }
    if (one_arg(ctx, m, ln, &v, d)) return d->code;
    int mode = -1;
    if (v->kind == MAG_V_NAME || v->kind == MAG_V_STRING) {
        if (!strcmp(v->str, "exact")) mode = RT_NN_NUMERICS_EXACT;
        if (!strcmp(v->str, "openblas")) mode = RT_NN_NUMERICS_OPENBLAS;
    }
    if (mode < 0)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, v->pos.line, v->pos.col, NULL,
                            "%%numerics expects exact or openblas, got '%s'", v->text);
    if (rt_nn_set_numerics(mode))
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, v->pos.line, v->pos.col, NULL,
                            "%%numerics openblas: OpenBLAS cannot be loaded (%s); numerics stay "
                            "exact",
                            rt_nn_blas_error());
    numerics_line(ctx);
    return 0;
}

/* ---- %who, %lsmagic --------------------------------------------------------------- */

static const char *const kind_titles[MAG_N_KINDS] = {
    "tasks", "policies", "rewards", "debates", "runs", "preference sets", "reward models"};

/* "unknown object 'x'" (did you mean: the closest name of any kind) at pos */
static int unknown_object(mag_ctx *ctx, const char *word, mag_pos pos, mag_diag *d)
{
    rt_suggest sg;
    rt_suggest_init(&sg, word);
    for (size_t i = 0; i < mag_session_count(ctx->session, MAG_N_KINDS); i++)
        rt_suggest_add(&sg, mag_session_at(ctx->session, MAG_N_KINDS, i)->name);
    if (sg.best)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, pos.line, pos.col, NULL,
                            "no object named '%s' (did you mean '%s'?)", word, sg.best);
    return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, pos.line, pos.col, NULL,
                        "no object named '%s' (%%who lists them)", word);
}

/* An object in full: "policy base: SUMMARY", its task and its lineage lines. */
static void who_entry(rt_strbuf *b, const mag_entry *e)
{
    rt_strbuf_printf(b, "%s %s: %s\n", mag_kind_name(e->kind), e->name, e->summary);
    if (e->task) rt_strbuf_printf(b, "  task = %s\n", e->task);
    for (const char *l = e->lineage; l && *l;) {
        const char *nl = strchr(l, '\n');
        int n = nl ? (int)(nl - l) : (int)strlen(l);
        if (n) rt_strbuf_printf(b, "  %.*s\n", n, l);
        l = nl ? nl + 1 : NULL;
    }
}

/* %who NAME: every object of that name in full */
static int who_name(mag_ctx *ctx, const mag_line *ln, mag_diag *d)
{
    const mag_value *v = &ln->args[0].value;
    const char *w = v->kind == MAG_V_NAME || v->kind == MAG_V_STRING ? v->str : v->text;
    rt_strbuf b;
    rt_strbuf_init(&b);
    for (int k = 0; k < MAG_N_KINDS; k++) {
        const mag_entry *e = mag_session_entry(ctx->session, (mag_kind)k, w);
        if (e) who_entry(&b, e);
    }
    if (!b.err && b.len == 0) {
        rt_strbuf_free(&b);
        return unknown_object(ctx, w, v->pos, d);
    }
    if (b.err) {
        rt_strbuf_free(&b);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    krn_out_stream(ctx->out, KRN_STDOUT, b.s, b.len);
    rt_strbuf_free(&b);
    return 0;
}

static int run_who(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                   const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs == 1 && !ln->args[0].key) return who_name(ctx, ln, d);
    if (ln->nargs) {
        const mag_kv *a = ln->nargs > 1 ? &ln->args[1] : &ln->args[0];
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, a->key_pos.line, a->key_pos.col, NULL,
                            "%%%s takes at most one name: %s", m->name, m->usage);
    }
    rt_strbuf b;
    rt_strbuf_init(&b);
    const mag_session *s = ctx->session;
    if (mag_session_count(s, MAG_N_KINDS) == 0)
        rt_strbuf_printf(&b,
                         "no objects defined (%%task, %%%%policy and %%%%reward define them)\n");
    for (int k = 0; k < MAG_N_KINDS; k++) {
        size_t n = mag_session_count(s, (mag_kind)k);
        if (!n) continue;
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(mag_session_at(s, (mag_kind)k, i)->name);
            if (l > w) w = l;
        }
        rt_strbuf_printf(&b, "%s:\n", kind_titles[k]);
        for (size_t i = 0; i < n; i++) {
            const mag_entry *e = mag_session_at(s, (mag_kind)k, i);
            rt_strbuf_printf(&b, "  %-*s  %s\n", (int)w, e->name, e->summary);
        }
    }
    rt_strbuf_printf(&b, "seed %llu, threads %d\n", (unsigned long long)mag_session_seed(s),
                     mag_session_threads(s));
    if (b.err) {
        rt_strbuf_free(&b);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    krn_out_stream(ctx->out, KRN_STDOUT, b.s, b.len);
    rt_strbuf_free(&b);
    return 0;
}

/* %del NAME... [kind=KIND]: every object of each name (of that kind only, with kind=);
 * all names are checked before anything is deleted */
static int run_del(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                   const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    int only = -1;
    size_t nnames = 0;
    for (size_t i = 0; i < ln->nargs; i++) {
        const mag_kv *a = &ln->args[i];
        if (!a->key) {
            nnames++;
            continue;
        }
        const char *kv = a->value.kind == MAG_V_NAME ? a->value.str : NULL;
        if (strcmp(a->key, "kind") != 0)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_ESCHEMA, a->key_pos.line, a->key_pos.col,
                                NULL, "unknown key '%s'; usage: %s", a->key, m->usage);
        if (!kv || (only = mag_kind_parse(kv)) < 0)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_EVALUE, a->value.pos.line,
                                a->value.pos.col, NULL,
                                "kind must be task, policy, reward, debate, run, "
                                "preferences or rm, got '%s'",
                                a->value.text);
    }
    if (nnames == 0)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, ln->pos.line, ln->pos.col, NULL,
                            "%%del needs the names to delete: %s", m->usage);
    for (size_t i = 0; i < ln->nargs; i++) { /* check every name first */
        const mag_kv *a = &ln->args[i];
        if (a->key) continue;
        const char *w = a->value.kind == MAG_V_NAME || a->value.kind == MAG_V_STRING
                            ? a->value.str
                            : a->value.text;
        int found = 0;
        for (int k = 0; k < MAG_N_KINDS; k++)
            found |= (only < 0 || only == k) && mag_session_entry(ctx->session, (mag_kind)k, w);
        if (!found && only >= 0)
            return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, a->value.pos.line,
                                a->value.pos.col, NULL, "no %s named '%s'",
                                mag_kind_name((mag_kind)only), w);
        if (!found) return unknown_object(ctx, w, a->value.pos, d);
    }
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_strbuf_puts(&b, "deleted");
    int first = 1;
    for (size_t i = 0; i < ln->nargs; i++) {
        const mag_kv *a = &ln->args[i];
        if (a->key) continue;
        const char *w = a->value.kind == MAG_V_NAME || a->value.kind == MAG_V_STRING
                            ? a->value.str
                            : a->value.text;
        for (int k = 0; k < MAG_N_KINDS; k++)
            if ((only < 0 || only == k) && mag_session_remove(ctx->session, (mag_kind)k, w) == 0) {
                rt_strbuf_printf(&b, "%s %s '%s'", first ? "" : ",", mag_kind_name((mag_kind)k), w);
                first = 0;
            }
    }
    rt_strbuf_putc(&b, '\n');
    /* objects that still name a deleted task */
    for (size_t i = 0; i < ln->nargs; i++) {
        const mag_kv *a = &ln->args[i];
        const char *w = a->key ? NULL
                        : a->value.kind == MAG_V_NAME || a->value.kind == MAG_V_STRING
                            ? a->value.str
                            : a->value.text;
        if (!w || (only >= 0 && only != MAG_TASK) || mag_session_get(ctx->session, MAG_TASK, w))
            continue;
        int n = 0;
        for (int k = MAG_POLICY; k <= MAG_RUN; k += MAG_RUN - MAG_POLICY)
            for (size_t j = 0; j < mag_session_count(ctx->session, (mag_kind)k); j++) {
                const mag_entry *e = mag_session_at(ctx->session, (mag_kind)k, j);
                if (k == MAG_RUN && mag_session_entry(ctx->session, MAG_POLICY, e->name)) continue;
                if (e->task && !strcmp(e->task, w))
                    rt_strbuf_printf(&b, "%s%s", n++ ? ", " : "", e->name);
            }
        if (n) rt_strbuf_printf(&b, " still name%s task '%s'\n", n == 1 ? "s" : "", w);
    }
    if (!b.err) krn_out_stream(ctx->out, KRN_STDOUT, b.s, b.len);
    rt_strbuf_free(&b);
    return 0;
}

static int run_reset(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                     const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs) return no_args(ctx, m, ln, d);
    size_t n = mag_session_count(ctx->session, MAG_N_KINDS);
    mag_session_clear(ctx->session);
    krn_out_printf(ctx->out, KRN_STDOUT,
                   "reset: deleted %zu object%s; kept seed %llu, threads %d and numerics\n", n,
                   n == 1 ? "" : "s", (unsigned long long)mag_session_seed(ctx->session),
                   mag_session_threads(ctx->session));
    return 0;
}

static int run_lsmagic(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                       const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs) return no_args(ctx, m, ln, d);
    rt_strbuf b;
    rt_strbuf_init(&b);
    const mag_magic *const *all = mag_magics();
    for (int cell = 0; cell <= 1; cell++) {
        rt_strbuf_printf(&b, "%s magics:\n", cell ? "Cell" : "Line");
        for (size_t i = 0; all[i]; i++)
            if (all[i]->cell == cell) rt_strbuf_printf(&b, "  %s\n", all[i]->usage);
    }
    rt_strbuf_printf(&b, "%%help NAME (or ?NAME) shows the help of a magic or key.\n");
    if (b.err) {
        rt_strbuf_free(&b);
        return mag_diag_set(d, NULL, 0, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    }
    krn_out_stream(ctx->out, KRN_STDOUT, b.s, b.len);
    rt_strbuf_free(&b);
    return 0;
}

/* ---- help ------------------------------------------------------------------------- */

static const char *const builtin_help[][2] = {
    {"if", "if(c, a, b): a when c is nonzero, else b (only the needed branch is evaluated)"},
    {"min", "min(a, b, ...): the smallest argument"},
    {"max", "max(a, b, ...): the largest argument"},
    {"abs", "abs(x): absolute value"},
    {"log", "log(x): natural logarithm; log(x) for x <= 1e-30 is log(1e-30)"},
    {"exp", "exp(x): exponential; exp(x) for x > 709 is exp(709)"},
    {"sqrt", "sqrt(x): square root; 0 for x < 0"},
    {"clip", "clip(x, lo, hi): min(max(x, lo), hi)"},
    {"debate", "debate(NAME): feature of a triage task: 1 if the judge of debate NAME prefers "
               "the policy's action to the baseline's, else 0"},
    {"judge_full", "judge_full(NAME): feature of a triage task: 1 if the full-state judge of "
                   "debate NAME (every feature seen, no debate: the ideal judge) prefers the "
                   "policy's action to the baseline's, else 0; 0.5 for equal actions"},
    {"rm", "rm(NAME): feature, the score of reward model NAME (%%rm) for the prompt and answer; "
           "with an ensemble, the members' mean (= rm_mean(NAME))"},
    {"rm_mean", "rm_mean(NAME): feature, the mean of reward model NAME's members' scores"},
    {"rm_min", "rm_min(NAME): feature, the smallest of reward model NAME's members' scores (a "
               "conservative reward against overoptimization)"},
    {"equals", "equals(a, b): 1 if texts a and b are the same (texts: answer, target, prompt, a "
               "file task's columns, or a \"string\"), else 0"},
    {"contains", "contains(a, b): 1 if text b occurs in text a"},
    {"prefix", "prefix(a, b): 1 if text a starts with text b"},
    {"edit_distance", "edit_distance(a, b): Levenshtein distance between two texts in "
                      "characters (each cut to its first 1024)"},
    {"number", "number(a): the first number in text a (\"12 km\" is 12); none: comparisons "
               "with it are false and a reward that is not a number is 0"},
    {"close", "close(x, y, tol): 1 if |x - y| <= tol, else 0 (0 when x or y is not a number)"},
    {"answer", "answer: text, the generated answer (up to its end token), for equals, contains, "
               "prefix, edit_distance and number"},
    {"target", "target: text, the task's correct answer"},
    {"prompt", "prompt: text, the prompt"},
    {"correct", "correct: feature, 1 if the answer is exactly right (the verifier), else 0"},
    {"partial", "partial: feature, fraction of answer tokens that are right"},
    {"length", "length: feature, number of generated answer tokens (up to the first end token)"},
    {"format", "format: feature, 1 if the answer is well-formed, else 0"},
    {"eos", "eos: feature, 1 if the policy generated the end token, else 0"},
    {"outcome", "outcome: feature of triage tasks, the environment's reward for the chosen action"},
    {"demo_agree", "demo_agree: feature of triage tasks, 1 if the chosen action is the "
                   "demonstrator's"},
};

char *mag_help_expr(const mag_session *s, const char *name)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    for (size_t i = 0; i < sizeof builtin_help / sizeof builtin_help[0]; i++)
        if (strcmp(builtin_help[i][0], name) == 0) rt_strbuf_printf(&b, "%s\n", builtin_help[i][1]);
    const mag_entry *e = mag_session_entry(s, MAG_REWARD, name);
    if (e) rt_strbuf_printf(&b, "reward %s: %s\n", e->name, e->summary);
    if (b.err || !b.len) {
        rt_strbuf_free(&b);
        return NULL;
    }
    return rt_strbuf_take(&b, NULL);
}

/* %help ALGO: a recipe of %%rl (its parts, defaults, equations and source); %help algos:
 * the table of them. */
static void recipe_help(rt_strbuf *b, const char *name)
{
    /* the loss forms of rt_rl_ratio, in its order */
    static const char *const ratio_names[] = {"none (plain policy gradient)",
                                              "token",
                                              "sequence",
                                              "cispo (capped, stopped IS weight)",
                                              "opmd (proximal term, no ratio)",
                                              "asymre (shifted baseline, no ratio)",
                                              "bapo (adaptive clip)",
                                              "nft (implicit negative policy)",
                                              "r2vpo (ratio-variance penalty)"};
    int all = !strcmp(name, "algos");
    if (all) rt_strbuf_printf(b, "The algorithms of %%%%rl (algo = NAME; %%help NAME for one):\n");
    for (int i = 0; i < rt_rl_recipe_count(); i++) {
        const rt_rl_recipe *r = rt_rl_recipe_at(i);
        if (all) {
            rt_strbuf_printf(b, "  %-10s %s\n", r->name, r->help);
            continue;
        }
        if (strcmp(r->name, name)) continue;
        rt_strbuf_printf(b, "%%%%rl algo = %s: %s\nSource: %s\n\n%s\n", r->name, r->help,
                         r->paper ? r->paper : "-", r->eq ? r->eq : "");
        rt_strbuf_printf(
            b, "Parts (each a key of %%%%rl): advantage = %s, ratio = %s, loss_agg = %s,\n",
            rt_rl_advantage_values[r->adv],
            (size_t)r->ratio < sizeof ratio_names / sizeof *ratio_names ? ratio_names[r->ratio]
                                                                        : "?",
            rt_rl_loss_agg_values[r->agg]);
        rt_strbuf_printf(b, "iterations = %d, kl_estimator = %s, kl_in = %s", r->epochs,
                         rt_rl_estimator_values[r->est - RT_RL_K1],
                         r->kl_in == RT_RL_IN_REWARD ? "reward" : "loss");
        if (r->ratio != RT_RL_RATIO_NONE)
            rt_strbuf_printf(b, ", clip_low = %g, clip_high = %g", r->clip_low ? r->clip_low : 0.2,
                             r->clip_high ? r->clip_high : 0.2);
        if (r->minibatches > 1 || r->filter_groups) rt_strbuf_printf(b, ",\n");
        if (r->minibatches > 1)
            rt_strbuf_printf(b, "minibatches = min(%d, batch)%s", r->minibatches,
                             r->filter_groups ? ", " : "");
        if (r->filter_groups) rt_strbuf_printf(b, "filter_groups = true");
        rt_strbuf_printf(b, "; group >= %d.\n", r->min_group);
    }
}

char *mag_help_text(const mag_session *s, const char *target, char *alt)
{
    if (alt) alt[0] = '\0';
    const char *name = target;
    int pct = 0;
    while (*name == '%' && pct < 2)
        name++, pct++;
    rt_strbuf b;
    rt_strbuf_init(&b);
    char tmp[4096];
    if (!*name) {
        /* overview */
        rt_strbuf_printf(&b, "RLHF Lab: cells are magics.\n\n");
        const mag_magic *const *all = mag_magics();
        for (int cell = 0; cell <= 1; cell++) {
            rt_strbuf_printf(&b, "%s magics:\n", cell ? "Cell" : "Line");
            for (size_t i = 0; all[i]; i++)
                if (all[i]->cell == cell) rt_strbuf_printf(&b, "  %s\n", all[i]->usage);
        }
        rt_strbuf_printf(
            &b, "\nA line that is not a magic is an expression of the reward language "
                "(numbers, + - * / ^,\ncomparisons, and/or/not, if min max abs log exp sqrt "
                "clip, defined rewards:\nexact(correct=1, length=4)).\n"
                "%%help NAME, ?NAME or NAME? shows the help of a magic, key, feature or "
                "object.\n");
        return rt_strbuf_take(&b, NULL);
    }
    const mag_magic *m = NULL;
    if (pct == 2)
        m = mag_magic_find(name, 1);
    else if (pct == 1)
        m = mag_magic_find(name, 0);
    else if (!(m = mag_magic_find(name, 0)))
        m = mag_magic_find(name, 1);
    if (m) {
        /* a bare name that is both a line and a cell magic (debate): both helps */
        const mag_magic *m2 = pct == 0 && !m->cell ? mag_magic_find(name, 1) : NULL;
        size_t n = mag_magic_help(m, NULL, 0), n2 = m2 ? mag_magic_help(m2, NULL, 0) : 0;
        char *t = rt_malloc(n + n2 + 3);
        if (!t) return NULL;
        mag_magic_help(m, t, n + 1);
        if (m2) {
            memcpy(t + n, "\n\n", 2);
            mag_magic_help(m2, t + n + 2, n2 + 1);
        }
        return t;
    }
    if (pct == 0) {
        /* keys of every magic that has one of that name, or another name for one */
        const mag_magic *const *all = mag_magics();
        int trl = !strcmp(name, "trl");
        if (trl)
            rt_strbuf_printf(&b, "TRL's GRPOConfig names that the magics read as their own keys "
                                 "(same meaning, same values; giving both is an error):\n");
        for (size_t i = 0; all[i]; i++) {
            const mag_schema *sc = all[i]->schema;
            int k = sc ? mag_schema_find(sc, name) : -1;
            for (size_t a = 0; sc && a < sc->naliases; a++) {
                const rt_key_alias *al = &sc->aliases[a];
                int ka = mag_schema_find(sc, al->key);
                if (ka < 0 || !(trl ? !strcmp(al->from, "TRL") : !strcmp(al->alias, name)))
                    continue;
                mag_key_help(&sc->keys[ka], tmp, sizeof tmp);
                rt_strbuf_printf(&b, "%s%s: %s is %s's name for %s\n", all[i]->cell ? "%%" : "%",
                                 all[i]->name, al->alias, al->from, tmp);
                for (size_t j = 0; al->values && al->values[2 * j]; j++)
                    rt_strbuf_printf(&b, "%s%s = %s%s",
                                     j ? ", " : "  its values: ", al->values[2 * j],
                                     al->values[2 * j + 1], al->values[2 * j + 2] ? "" : "\n");
            }
            if (k < 0) continue;
            mag_key_help(&sc->keys[k], tmp, sizeof tmp);
            rt_strbuf_printf(&b, "%s%s: %s\n", all[i]->cell ? "%%" : "%", all[i]->name, tmp);
        }
        for (size_t i = 0; i < sizeof builtin_help / sizeof builtin_help[0]; i++)
            if (strcmp(builtin_help[i][0], name) == 0)
                rt_strbuf_printf(&b, "%s\n", builtin_help[i][1]);
        recipe_help(&b, name);
        for (int k = 0; k < MAG_N_KINDS; k++) {
            const mag_entry *e = mag_session_entry(s, (mag_kind)k, name);
            if (e) who_entry(&b, e);
        }
        if (b.err) {
            rt_strbuf_free(&b);
            return NULL;
        }
        if (b.len) return rt_strbuf_take(&b, NULL);
    }
    rt_strbuf_free(&b);
    if (alt) {
        const char *best = NULL, *bp = "";
        if (pct != 2 && (best = mag_magic_suggest(name, 0))) bp = "%";
        if (!best && pct != 1 && (best = mag_magic_suggest(name, 1))) bp = "%%";
        if (best) snprintf(alt, 128, " (did you mean '%s%.60s'?)", bp, best);
    }
    return NULL;
}

static int run_help(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                    const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)c, (void)cfg;
    const char *t = ln->args_text.text;
    size_t n = strcspn(t, " \t");
    if (t[n] && t[n + strspn(t + n, " \t")] != '#')
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ETYPE, ln->args_text.pos.line,
                            ln->args_text.pos.col + (int)rt_utf8_cols(t, n) + 1, NULL,
                            "%%help takes one name: %%help [NAME]");
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), t);
    char alt[128];
    char *text = mag_help_text(ctx->session, name, alt);
    if (!text)
        return mag_diag_set(d, ctx->src, ctx->len, MAG_ENAME, ln->args_text.pos.line,
                            ln->args_text.pos.col, NULL, "no help for '%s'%s", name,
                            alt[0] ? alt : " (see %lsmagic)");
    krn_out_pager(ctx->out, text);
    rt_free(text);
    return 0;
}

/* ---- the table --------------------------------------------------------------------- */

#define LINE(nm, fn, fl, us, hl)                                                                   \
    static const mag_magic m_##nm = {                                                              \
        .name = #nm, .cell = 0, .usage = us, .help = hl, .run = fn, .flags = fl}

LINE(clear, run_clear, 0, "%clear", "Clear the output of the current cell.");
LINE(display, run_display, MAG_M_RAW_ARGS, "%display [--id=ID] [--update] TEXT",
     "Show TEXT as display_data (text/plain).  With --id=ID the display can be changed\n"
     "later by '%display --id=ID --update TEXT' (update_display_data).");
LINE(echo, run_echo, MAG_M_RAW_ARGS, "%echo [--stderr] TEXT",
     "Print TEXT (free text, to the end of the line) and a newline; on stderr with --stderr.");
static const mag_magic m_help = {
    .name = "help",
    .usage = "%help [NAME]",
    .help = "Show the help of a magic (%eval, %%rl or just eval), of a key (lambda: in every\n"
            "magic that has it), of a reward feature or function, or of a defined object, in the\n"
            "pager.  Without NAME: an overview.  ?NAME and NAME? do the same; so does Shift-Tab.",
    .run = run_help,
    .flags = MAG_M_RAW_ARGS,
    .positional = "magic",
};
LINE(input, run_input, MAG_M_RAW_ARGS, "%input PROMPT",
     "Ask the user for a line of input (the stdin channel) and print it.");
LINE(lsmagic, run_lsmagic, 0, "%lsmagic", "List the line and cell magics with their usage.");
LINE(seed, run_seed, 0, "%seed [N]",
     "Set the session seed (an integer in [0, 2^53 - 1]; default 0).  Every run derives its\n"
     "random stream from the seed and its name, so re-running a notebook gives the same\n"
     "numbers.  Without N: show the seed.");
LINE(sleep, run_sleep, 0, "%sleep SECONDS",
     "Wait SECONDS (a number in [0, 86400]); an interrupt stops the wait.");
LINE(threads, run_threads, 0, "%threads [N]",
     "Set the number of threads for sweeps and training (an integer in [1, 256]; default:\n"
     "the number of processors).  Results do not depend on it.  Without N: show it.");
LINE(numerics, run_numerics, 0, "%numerics [exact | openblas]",
     "Choose how the runtime multiplies matrices (session-wide).  exact (the default): its own\n"
     "GEMM, in which every output element is one chain of fused multiply-adds in a fixed\n"
     "order, and its own exp/log/tanh, so a notebook gives the same bits on every CPU, SIMD\n"
     "path (RLHF_ISA=avx512|avx2|portable), thread count and on aarch64.  openblas: OpenBLAS's\n"
     "sgemm, whose results depend on the CPU, the OpenBLAS kernel (OPENBLAS_CORETYPE) and\n"
     "version: not portable.  Without an argument: show the mode and the SIMD path.");
LINE(who, run_who, 0, "%who [NAME]",
     "List the defined objects (tasks, policies, rewards, debates, runs, preference sets)\n"
     "with a summary each, then the seed and the number of threads.  With NAME: every\n"
     "object of that name in full (a policy's task and lineage: the cell that made it, its\n"
     "settings and sources, or the file it was loaded from).");
LINE(del, run_del, 0, "%del NAME... [kind=KIND]",
     "Delete the named objects: every object of each name (a training cell's policy and\n"
     "its run), or only those of kind=task|policy|reward|debate|run|preferences|rm.  Nothing\n"
     "is deleted when a name is unknown.  Policies and runs that name a deleted task keep\n"
     "the name and are listed.");
LINE(reset, run_reset, 0, "%reset",
     "Delete every object of the session (tasks, policies, rewards, debates, runs,\n"
     "preference sets); the settings (%seed, %threads, %numerics) stay.");

const mag_magic *const mag_basic_magics[] = {
    &m_clear,    &m_del,   &m_display, &m_echo,  &m_help,    &m_input, &m_lsmagic,
    &m_numerics, &m_reset, &m_seed,    &m_sleep, &m_threads, &m_who,   NULL,
};
