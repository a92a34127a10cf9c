/* fuzz_reward: the reward compiler and evaluator (runtime/reward).  Input: byte 0 flags,
 * bytes 1-2 special feature values, the rest reward source.  Text before a 0x1e byte is
 * compiled first as reward `g` (and registered, so the main reward may call and inline it);
 * the text after it is the reward under test.  The environment is the reward tests' one
 * (tests/runtime/reward/reward_fixture.h): features correct/partial/length/format/eos,
 * debate(d1|d2) in slots 5/6, parameters c=0.25 and alpha=0.5, and `exact` registered.
 * Texts: answer, target, prompt, unit (not numeric) and priority (numeric); evaluated
 * with answer = the main source, target = the `g` part, prompt = "x=-3.5e2 km",
 * unit = "", priority = "3" (each an exact-size copy, so an over-read hits ASan), and
 * linked to a permuted text layout.
 * Flags: bit 0 a bare expression (unnamed, no parameters: as an expression line), bit 1
 * NO_FOLD for the main compile.
 * Invariants: an error has its code, a terminated message and a position inside the
 * source; a program respects the stack/code limits, evaluates (with a feature vector of
 * exactly rt_reward_min_slots doubles, so an out-of-range read hits ASan) to a value that
 * is never NaN, even with NaN/inf/huge features; batch equals single evaluation; folded
 * equals unfolded; the program linked to a permuted 9-slot layout gives the same value;
 * describe and format report the lengths they write. */
#include <math.h>

#include "fuzz_common.h"
#include "rt_reward.h"

static const char *const features[] = {"correct", "partial", "length", "format", "eos"};
static const char *const fns[] = {"debate"};
static const char *const pnames[] = {"c", "alpha"};
static const double pdefaults[] = {0.25, 0.5};
/* the permuted layout: feature i of the base layout sits in slot perm_slot[i] */
static const char *const pfeatures[] = {"pad0",   "eos",     "format", "pad3",
                                        "length", "partial", "correct"};
static const int debate_slot[2] = {5, 6}, debate_pslot[2] = {8, 7};
static const char *const texts[] = {"answer", "target", "prompt", "unit", "priority"};
static const unsigned char text_numeric[] = {0, 0, 0, 0, 1};
/* the permuted text layout: text i of the base layout sits in slot ptext_slot[i] */
static const char *const ptexts[] = {"priority", "pad", "unit", "prompt", "target", "answer"};
static const unsigned char ptext_numeric[] = {1, 0, 0, 0, 0, 0};
static const int ptext_slot[5] = {5, 4, 3, 2, 0};

typedef struct reg {
    const char *names[2];
    rt_reward_program *progs[2];
    int n;
    int permuted;
} reg;

static int resolve(void *ctx, const char *fn, const char *arg, int *slot, char *err, size_t n)
{
    reg *r = ctx;
    if (strcmp(fn, "debate") != 0) return -1;
    for (int i = 0; i < 2; i++) {
        char nm[4] = {'d', (char)('1' + i), 0};
        if (strcmp(arg, nm) == 0) {
            *slot = r->permuted ? debate_pslot[i] : debate_slot[i];
            return 0;
        }
    }
    snprintf(err, n, "unknown debate '%s'", arg);
    return -1;
}

static const rt_reward_program *lookup(void *ctx, const char *name)
{
    reg *r = ctx;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0) return r->progs[i];
    return NULL;
}

static rt_reward_env env_of(reg *r, const char *name, int bare)
{
    rt_reward_env e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.features = features;
    e.n_features = 5;
    e.n_slots = 7;
    e.feature_fns = fns;
    e.n_feature_fns = 1;
    e.resolve_feature = resolve;
    e.resolve_reward = lookup;
    e.reward_names = r->names;
    e.n_reward_names = r->n;
    e.ctx = r;
    e.texts = texts;
    e.n_texts = 5;
    e.text_numeric = text_numeric;
    if (!bare) {
        e.param_names = pnames;
        e.param_defaults = pdefaults;
        e.n_params = 2;
    }
    return e;
}

static void check_error(const rt_diag *d, int rc, const char *src, size_t len)
{
    size_t lines = 1, cps = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\n') lines++;
        if (((unsigned char)src[i] & 0xC0) != 0x80) cps++;
    }
    FUZZ_CHECK(rc < 0 && d->code == rc, "rc %d code %d", rc, d->code);
    FUZZ_CHECK(fuzz_cstr_ok(d->msg, sizeof d->msg) && d->msg[0], "message");
    FUZZ_CHECK(fuzz_cstr_ok(d->near, sizeof d->near), "near");
    FUZZ_CHECK(d->line >= 0 && (size_t)d->line <= lines && d->col >= 0 && (size_t)d->col <= cps + 1,
               "position %d:%d outside %zu lines / %zu code points: %s", d->line, d->col, lines,
               cps, d->msg);
}

static const double specials[] = {NAN,      INFINITY, -INFINITY, 1e308, -1e308,
                                  4.9e-324, -0.0,     710,       1e-30, -1};

static int all_finite(const double *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > RT_REWARD_MAX_SOURCE * 2 + 8) return 0;
    uint8_t flags = data[0];
    int bare = flags & 1;
    fuzz_part parts[2];
    size_t np = fuzz_split(data + 3, size - 3, parts, 2);
    fuzz_part main = parts[np - 1];
    reg r = {{"exact", "g"}, {NULL, NULL}, 0, 0};
    rt_diag d;

    /* `exact` as in the tests; `g` from the input */
    {
        rt_reward_env e = env_of(&r, "exact", 0);
        const char *s = "if(correct, 1 - c*length/10, partial*partial) + alpha*debate(d1)";
        if (rt_reward_compile(s, strlen(s), 1, 1, &e, &r.progs[0], &d)) abort();
        r.n = 1;
    }
    if (np == 2) {
        rt_reward_env e = env_of(&r, "g", 0);
        memset(&d, 0, sizeof d);
        char *s = fuzz_strdup(&parts[0]);
        int rc = rt_reward_compile(s, parts[0].len, 1, 1, &e, &r.progs[1], &d);
        if (rc)
            check_error(&d, rc, s, parts[0].len);
        else
            r.n = 2;
        free(s);
    }

    /* exact-size copy of the source: reads past it hit ASan */
    char *src = malloc(main.len ? main.len : 1);
    memcpy(src, main.data, main.len);
    rt_reward_env env = env_of(&r, bare ? NULL : "r", bare);
    if (flags & 2) env.flags = RT_REWARD_NO_FOLD;
    rt_reward_program *p = NULL;
    memset(&d, 0, sizeof d);
    int rc = rt_reward_compile(src, main.len, 1, 1, &env, &p, &d);
    if (rc) {
        FUZZ_CHECK(p == NULL, "program on error");
        check_error(&d, rc, src, main.len);
        goto out;
    }
    FUZZ_CHECK(rt_reward_stack_depth(p) <= RT_REWARD_MAX_STACK &&
                   rt_reward_code_size(p) <= RT_REWARD_MAX_CODE,
               "stack %d code %d", rt_reward_stack_depth(p), rt_reward_code_size(p));
    int slots = rt_reward_min_slots(p);
    FUZZ_CHECK(slots >= 0 && slots <= 7, "min slots %d", slots);
    int nparams = rt_reward_n_params(p);
    FUZZ_CHECK(nparams >= 0 && nparams <= 4096, "params %d", nparams);
    for (int i = 0; i < rt_reward_n_features(p); i++) {
        FUZZ_CHECK(rt_reward_feature_name(p, i), "feature name");
        FUZZ_CHECK(rt_reward_feature_slot(p, i) < slots, "slot");
    }

    double *params = calloc((size_t)nparams + 1, sizeof *params);
    memset(&d, 0, sizeof d);
    /* params without a default get a value through the override list */
    const char **on = calloc((size_t)nparams + 1, sizeof *on);
    double *ov = calloc((size_t)nparams + 1, sizeof *ov);
    int no = 0;
    for (int i = 0; i < nparams; i++) {
        double v;
        FUZZ_CHECK(rt_reward_param_name(p, i) &&
                       rt_reward_param_index(p, rt_reward_param_name(p, i)) == i,
                   "param %d", i);
        if (!rt_reward_param_default(p, i, &v)) {
            on[no] = rt_reward_param_name(p, i);
            ov[no++] = 0.5 + i;
        }
    }
    rc = rt_reward_bind_params(p, on, ov, no, params, &d);
    if (rc) {
        check_error(&d, rc, src, main.len);
    } else {
        double *feat = malloc((size_t)(slots ? slots : 1) * sizeof *feat);
        for (int i = 0; i < slots; i++)
            feat[i] = (double)((data[1] + i * 7) % 13) * 0.5 - 2;
        if (slots) {
            if (data[2] & 0x80) feat[data[1] % slots] = specials[data[2] % 10];
            if (data[2] & 0x40) feat[(data[1] >> 3) % slots] = specials[(data[2] >> 2) % 10];
        }
        double y = rt_reward_eval(p, feat, params);
        FUZZ_CHECK(!isnan(y), "NaN result");
        double batch[3];
        double *rows = malloc(3 * (size_t)(slots ? slots : 1) * sizeof *rows);
        for (int k = 0; k < 3; k++)
            memcpy(rows + (size_t)k * slots, feat, (size_t)slots * sizeof *feat);
        FUZZ_CHECK(rt_reward_eval_batch(p, rows, 3, (size_t)slots, params, batch) == 0, "batch");
        for (int k = 0; k < 3; k++)
            FUZZ_CHECK(memcmp(&batch[k], &y, sizeof y) == 0, "batch %g != %g", batch[k], y);
        free(rows);

        if (all_finite(feat, slots) && !(flags & 2)) {
            rt_reward_env e2 = env;
            e2.flags = RT_REWARD_NO_FOLD;
            rt_reward_program *q = NULL;
            rt_diag d2;
            FUZZ_CHECK(rt_reward_compile(src, main.len, 1, 1, &e2, &q, &d2) == 0,
                       "compiles folded but not unfolded: %s", d2.msg);
            double z = rt_reward_eval(q, feat, params);
            FUZZ_CHECK(memcmp(&z, &y, sizeof y) == 0 || (z == 0 && y == 0),
                       "folded %.17g != unfolded %.17g", y, z);
            rt_reward_free(q);
        }

        /* the same program on a permuted layout of 9 slots */
        {
            r.permuted = 1;
            rt_reward_env pe = env;
            pe.features = pfeatures;
            pe.n_features = 7;
            pe.n_slots = 9;
            rt_reward_program *lp = NULL;
            rt_diag d3;
            memset(&d3, 0, sizeof d3);
            int lrc = rt_reward_link(p, &pe, &lp, &d3);
            FUZZ_CHECK(lrc == 0, "link to the permuted layout: %s", d3.msg);
            double pf[9] = {100, 0, 0, 100, 0, 0, 0, 0, 0};
            static const int where[5] = {6, 5, 4, 2, 1}; /* correct..eos */
            for (int i = 0; i < 5 && i < slots; i++)
                pf[where[i]] = feat[i];
            if (slots > 5) pf[8] = feat[5];
            if (slots > 6) pf[7] = feat[6];
            int ls = rt_reward_min_slots(lp);
            FUZZ_CHECK(ls <= 9, "linked slots %d", ls);
            double *pfx = malloc(9 * sizeof *pfx);
            memcpy(pfx, pf, sizeof pf);
            double z = rt_reward_eval(lp, pfx, params);
            FUZZ_CHECK(memcmp(&z, &y, sizeof y) == 0 || (z == 0 && y == 0), "linked %.17g != %.17g",
                       z, y);
            free(pfx);
            rt_reward_free(lp);
            r.permuted = 0;
        }
        /* with texts: never NaN, folded == unfolded, linked to permuted texts the same */
        {
            int nt = rt_reward_min_texts(p);
            FUZZ_CHECK(nt >= 0 && nt <= 5, "min texts %d", nt);
            for (int i = 0; i < rt_reward_n_texts(p); i++)
                FUZZ_CHECK(rt_reward_text_name(p, i) && rt_reward_text_slot(p, i) < nt, "text %d",
                           i);
            const char *tv[5] = {src, np == 2 ? (const char *)parts[0].data : "", "x=-3.5e2 km", "",
                                 "3"};
            size_t tl[5] = {main.len, np == 2 ? parts[0].len : 0, 11, 0, 1};
            rt_strview tb[5], tp[6];
            char *own[5];
            for (int i = 0; i < 5; i++) {
                own[i] = malloc(tl[i] ? tl[i] : 1);
                if (tl[i]) memcpy(own[i], tv[i], tl[i]);
                tb[i].s = own[i];
                tb[i].n = tl[i];
                tp[ptext_slot[i]] = tb[i];
            }
            tp[1].s = "pad";
            tp[1].n = 3;
            double yt = rt_reward_eval_texts(p, feat, params, nt ? tb : NULL);
            FUZZ_CHECK(!isnan(yt), "NaN result with texts");
            if (all_finite(feat, slots) && !(flags & 2)) {
                rt_reward_env e2 = env;
                e2.flags = RT_REWARD_NO_FOLD;
                rt_reward_program *q = NULL;
                rt_diag d2;
                FUZZ_CHECK(rt_reward_compile(src, main.len, 1, 1, &e2, &q, &d2) == 0,
                           "compiles folded but not unfolded: %s", d2.msg);
                double z = rt_reward_eval_texts(q, feat, params, tb);
                FUZZ_CHECK(memcmp(&z, &yt, sizeof yt) == 0 || (z == 0 && yt == 0),
                           "texts: folded %.17g != unfolded %.17g", yt, z);
                rt_reward_free(q);
            }
            rt_reward_env te = env;
            te.texts = ptexts;
            te.n_texts = 6;
            te.text_numeric = ptext_numeric;
            rt_reward_program *lp = NULL;
            rt_diag d4;
            memset(&d4, 0, sizeof d4);
            FUZZ_CHECK(rt_reward_link(p, &te, &lp, &d4) == 0, "link to permuted texts: %s", d4.msg);
            double z = rt_reward_eval_texts(lp, feat, params, tp);
            FUZZ_CHECK(memcmp(&z, &yt, sizeof yt) == 0 || (z == 0 && yt == 0),
                       "linked texts %.17g != %.17g", z, yt);
            rt_reward_free(lp);
            for (int i = 0; i < 5; i++)
                free(own[i]);
        }
        char buf[64];
        size_t fl = rt_reward_format(y, buf, sizeof buf);
        FUZZ_CHECK(fl == strlen(buf), "format length %zu vs %zu", fl, strlen(buf));
        free(feat);
    }
    {
        size_t need = rt_reward_describe(p, NULL, 0);
        char *b = malloc(need + 1);
        size_t got = rt_reward_describe(p, b, need + 1);
        FUZZ_CHECK(got == need && strlen(b) == need, "describe %zu/%zu/%zu", need, got, strlen(b));
        char small[16];
        rt_reward_describe(p, small, sizeof small);
        FUZZ_CHECK(strlen(small) < sizeof small, "describe truncation");
        free(b);
    }
    free(params);
    free(on);
    free(ov);
    rt_reward_free(p);
out:
    free(src);
    for (int i = 0; i < r.n; i++)
        rt_reward_free(r.progs[i]);
    return 0;
}
