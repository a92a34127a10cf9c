/* mag_m_policy: %%policy NAME — creates an `mlp` or `gpt` policy (arch = ; rt_policy.h,
 * rt_model_gpt.h) or copies one of any architecture with from =,
 * optionally pre-trains it by supervised learning on a task's demonstrations (rt_sft)
 * with the live curve of the bridge (panels loss, accuracy), and stores the policy and
 * its run under NAME — one of each per sweep point, named NAME[key=value,...].
 *
 * Streams (common random numbers, as %%rl and %%opd): every point is initialized from
 * rt_rng_split(R, 0) and trained with rt_rng_split(R, 1), R = rt_rng_from_name(session
 * seed, NAME) — the cell's NAME, not the point's — split further by the `seed` key when it
 * is given.  Points that share a seed differ only by their settings; different seeds are
 * independent; nothing depends on the threads.
 * Errors (unknown task or policy, bad sizes) are reported before anything trains.
 * Keys by architecture: mlp takes context (8), embed, hidden, layers, act; gpt takes
 * layers (2), heads (4), width (64), context (32: positions, P + T of the task must fit),
 * mlp_ratio (4), dropout (0 only); another architecture's key is an error at the key.
 * Leaves out: resuming a run. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "mag_train_cell.h"
#include "rt_fuzz.h"
#include "rt_alloc.h"
#include "rt_model_gpt.h"
#include "rt_policy.h"
#include "rt_policy_keys.h"
#include "rt_sft.h"
#include "rt_sft_keys.h"
#include "rt_task.h"

#define MAX_PARAMS 50000000.0 /* per policy (x4 floats with gradients and Adam moments) */
/* context x vocabulary x hidden: the first layer's table, which every workspace holds
 * twice (values and gradients) whatever the batch: 2^25 floats = 128 MiB each */
#define MAX_TABLE 33554432.0

static const mag_key_spec policy_keys[] = {
    RT_POLICY_KEY_ARCH,
    RT_POLICY_KEY_CONTEXT,
    RT_POLICY_KEY_EMBED,
    RT_POLICY_KEY_HIDDEN,
    RT_POLICY_KEY_LAYERS,
    RT_POLICY_KEY_ACT,
    {.name = "heads",
     .type = RT_KEY_INT,
     .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,
     .min = 1,
     .max = 16,
     .def = "4",
     .help = "gpt: attention heads (width a multiple of heads)"},
    {.name = "width",
     .type = RT_KEY_INT,
     .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,
     .min = 8,
     .max = 512,
     .def = "64",
     .help = "gpt: residual width C"},
    {.name = "mlp_ratio",
     .type = RT_KEY_INT,
     .flags = RT_KEY_SWEEP | RT_KEY_MIN | RT_KEY_MAX,
     .min = 1,
     .max = 8,
     .def = "4",
     .help = "gpt: MLP hidden width / C"},
    {.name = "dropout",
     .type = RT_KEY_INT,
     .flags = RT_KEY_MIN | RT_KEY_MAX,
     .min = 0,
     .max = 0,
     .def = "0",
     .help = "gpt: dropout (0 only: determinism)"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task whose demonstrations pre-train the policy"},
    RT_SFT_KEY_STEPS,
    RT_SFT_KEY_NOISE,
    RT_SFT_KEY_BATCH,
    RT_SFT_KEY_LR,
    MAG_TRAIN_KEY_SEED,
    RT_SFT_KEY_EVAL_EVERY,
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "copy this policy (then train further only if sft_steps is given; a sweep's NAME "
             "pairs by key)"},
};

static const mag_schema policy_schema = {
    .magic = "policy",
    .keys = policy_keys,
    .nkeys = sizeof policy_keys / sizeof policy_keys[0],
    .help = "defines a policy and pre-trains it on a task's demonstrations",
};

static const char *const panels[] = {"loss", "accuracy"};
static const char *const summary[] = {"loss", "accuracy", "eval_accuracy"};

typedef struct point {
    mag_train_point base; /* name, label, pol, run, steps, job (mag_train_cell.h) */
    rt_sft_config sft;
    const rt_task *task;
    char from_name[MAG_TRAIN_NAME]; /* this point's `from` (paired by key), or "" */
    rt_diag diag;
    int rc;
} point;

/* What the cell resolved. */
typedef struct policy_cell {
    const rt_policy *from; /* NULL: a new mlp or gpt */
    int from_gpt;          /* from is not an MLP */
    const char *from_name; /* as written */
    const char *from0;     /* point 0's (the session's string) */
    const rt_task *task;   /* may be NULL with from (and no sft_steps) */
    int want_sft;
} policy_cell;

static int sft_job(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx; /* the bridge installed it on the run */
    point *p = arg;
    p->rc = rt_sft_run(p->base.pol, p->task, &p->sft, p->base.run, &p->base.job.rng, &p->diag);
    return p->rc;
}

/* Where key `key` is written in the cell (its name), or the cell's name. */
static mag_pos key_pos(const mag_cell *cell, const char *key)
{
    for (size_t i = 0; i < cell->nentries; i++)
        if (!strcmp(cell->entries[i].key, key)) return cell->entries[i].key_pos;
    for (size_t i = 0; i < cell->nargs; i++)
        if (cell->args[i].key && !strcmp(cell->args[i].key, key)) return cell->args[i].key_pos;
    return cell->name_pos;
}

static int is_gpt(const mag_config *cfg)
{
    return !strcmp(mag_config_get(cfg, "arch", 0)->str, "gpt");
}

/* Another architecture's key is an error at the key. */
static int arch_keys_check(mag_train_cellctx *t, mag_diag *d)
{
    static const char *const mlp_only[] = {"embed", "hidden", "act"};
    static const char *const gpt_only[] = {"heads", "width", "mlp_ratio", "dropout"};
    int gpt = is_gpt(t->cfg);
    const char *const *bad = gpt ? mlp_only : gpt_only;
    size_t nb = gpt ? 3 : 4;
    for (size_t i = 0; i < nb; i++)
        if (mag_train_given(t->cfg, bad[i]))
            return mag_err(t->ctx, d, MAG_EVALUE, key_pos(t->cell, bad[i]),
                           "'%s' is not a key of arch = %s (%s policies take %s)", bad[i],
                           gpt ? "gpt" : "mlp", gpt ? "gpt" : "mlp",
                           gpt ? "layers, heads, width, context, mlp_ratio, dropout"
                               : "context, embed, hidden, layers, act");
    return 0;
}

/* References first: nothing is built before they all resolve. */
static int policy_resolve(mag_train_cellctx *t, mag_diag *d)
{
    mag_ctx *ctx = t->ctx;
    const mag_cell *cell = t->cell;
    const mag_config *cfg = t->cfg;
    policy_cell *c = t->state;
    if (mag_train_given(cfg, "from")) {
        c->from_name = mag_config_get(cfg, "from", 0)->str;
        /* the first built point's (0, or the worker's) for the cell-wide checks; each point
         * pairs its own (policy_point) */
        int prc = mag_train_policy_at(ctx, cfg, t->pt0, c->from_name,
                                      mag_train_value_pos(cell, "from"), &c->from, &c->from0, d);
        if (prc) return prc;
        int wrc = mag_train_need_weights(ctx, d, c->from, c->from0, "from",
                                         mag_train_value_pos(cell, "from"));
        if (wrc) return wrc;
        c->from_gpt = !mag_policy_mlp(c->from);
        static const char *const arch_keys[] = {"context", "embed",     "hidden", "layers", "act",
                                                "heads",   "mlp_ratio", "width",  "dropout"};
        for (size_t i = 0; i < sizeof arch_keys / sizeof arch_keys[0]; i++)
            if (mag_train_given(cfg, arch_keys[i]))
                return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, arch_keys[i]),
                               "'%s' cannot be set with 'from' (the architecture is copied)",
                               arch_keys[i]);
    }
    if (mag_train_given(cfg, "task")) {
        t->task_name = mag_config_get(cfg, "task", 0)->str;
        c->task = mag_session_get(ctx->session, MAG_TASK, t->task_name);
        if (!c->task)
            return mag_err_unknown(d, ctx, MAG_TASK, t->task_name,
                                   mag_train_value_pos(cell, "task"));
    } else if (c->from) {
        const mag_entry *fe = mag_session_entry(ctx->session, MAG_POLICY, c->from0);
        if (fe && fe->task) {
            t->task_name = fe->task;
            c->task = mag_session_get(ctx->session, MAG_TASK, t->task_name);
        }
    }
    if (!c->from) {
        int rc = arch_keys_check(t, d);
        if (rc) return rc;
    }
    c->want_sft = c->from ? mag_train_given(cfg, "sft_steps") : 1;
    if (!c->from && !c->task)
        return mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                       "%%%%policy %s needs task = TASK (or from = POLICY)", t->base);
    if (c->want_sft && !c->task)
        return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "sft_steps"),
                       "sft_steps needs task = TASK (policy '%s' has no task)", c->from_name);
    /* a copy without sft_steps trains nothing: its training keys would do nothing (B6);
     * seed still names sweep points (identical copies under several names) */
    static const char *const training[] = {"noise", "batch", "lr", "eval_every"};
    for (size_t i = 0; !c->want_sft && i < sizeof training / sizeof training[0]; i++)
        if (mag_train_given(cfg, training[i]))
            return mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, training[i]),
                           "%s has no effect: %%%%policy %s copies '%s' without training (give "
                           "sft_steps to fine-tune it)",
                           training[i], t->base, c->from_name);
    return 0;
}

/* A new gpt for point pt (initialized from split(R, 0)): a cell error with *cellerr = 1
 * (checks before any allocation), or 0 / an RT_E* code of rt_model_create (in pd). */
static int gpt_point(mag_train_cellctx *t, point *p, size_t pt, const rt_rng *r, rt_diag *pd,
                     mag_diag *d, int *cellerr)
{
    const mag_config *cfg = t->cfg;
    const policy_cell *c = t->state;
    int gc[RT_MODEL_MAX_KEYS];
    rt_model_config_defaults(&rt_model_gpt, gc);
    gc[RT_GPT_LAYERS] = (int)mag_train_num(cfg, "layers", pt);
    gc[RT_GPT_HEADS] = (int)mag_train_num(cfg, "heads", pt);
    /* fuzz builds: at most RT_FUZZ_MAX_WIDTH, still a multiple of heads */
    int w = RT_FUZZ_CAP((int)mag_train_num(cfg, "width", pt), RT_FUZZ_MAX_WIDTH);
    if (w != (int)mag_train_num(cfg, "width", pt)) {
        w -= w % gc[RT_GPT_HEADS];
        if (w < 8) w = 8;
    }
    gc[RT_GPT_WIDTH] = w;
    gc[RT_GPT_CONTEXT] =
        mag_train_given(cfg, "context") ? (int)mag_train_num(cfg, "context", pt) : 32;
    gc[RT_GPT_MLP_RATIO] = (int)mag_train_num(cfg, "mlp_ratio", pt);
    gc[RT_GPT_DROPOUT] = (int)mag_train_num(cfg, "dropout", pt);
    int V = rt_task_vocab_size(c->task);
    char msg[256];
    if (rt_model_gpt.check(V, gc, msg, sizeof msg)) {
        const char *k = gc[RT_GPT_WIDTH] % gc[RT_GPT_HEADS] ? "width"
                        : gc[RT_GPT_CONTEXT] > 256          ? "context"
                        : gc[RT_GPT_LAYERS] > 12            ? "layers"
                                                            : "arch";
        return *cellerr = 1, mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, k),
                                     "policy '%s': %s", p->base.name, msg);
    }
    int L = rt_task_prompt_len(c->task) + rt_task_answer_max(c->task);
    if (L > gc[RT_GPT_CONTEXT])
        return *cellerr = 1,
               mag_err(t->ctx, d, MAG_EVALUE,
                       mag_train_given(cfg, "context") ? mag_train_value_pos(t->cell, "context")
                                                       : mag_train_value_pos(t->cell, "arch"),
                       "task %s needs P + T = %d positions; context = %d", t->task_name, L,
                       gc[RT_GPT_CONTEXT]);
    double np = (double)rt_model_gpt.nparams(V, gc);
    if (np > MAX_PARAMS)
        return *cellerr = 1,
               mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "width"),
                       "policy '%s' would have %.0f parameters (the limit is %.0f; lower "
                       "width, layers or mlp_ratio)",
                       p->base.name, np, MAX_PARAMS);
    rt_model *m = NULL;
    int rc = rt_model_create(&m, &rt_model_gpt, V, gc, pd);
    if (rc) return rc;
    rt_rng ri = rt_rng_split(r, 0);
    rt_model_init(m, &ri);
    p->base.pol = (rt_policy *)m; /* the model header first (rt_model_gpt.h) */
    return 0;
}

/* Point pt: a new mlp (initialized from split(R, 0)) or a copy of `from`, its SFT
 * configuration (trained with split(R, 1)) and, when it trains, its run. */
static int policy_point(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    const mag_config *cfg = t->cfg;
    const policy_cell *c = t->state;
    point *p = (point *)bp;
    rt_rng r = mag_train_stream(mag_session_seed(t->ctx->session), "", t->base,
                                mag_config_get(cfg, "seed", pt)); /* common numbers */
    rt_diag pd;
    int rc;
    if (c->from) {
        const rt_policy *from;
        const char *fname;
        rc = mag_train_policy_at(t->ctx, cfg, pt, c->from_name,
                                 mag_train_value_pos(t->cell, "from"), &from, &fname, d);
        if (rc) return rc;
        snprintf(p->from_name, sizeof p->from_name, "%s", fname);
        rc = mag_policy_copy(&p->base.pol, from, &pd);
    } else if (is_gpt(cfg)) {
        int cellerr = 0;
        rc = gpt_point(t, p, pt, &r, &pd, d, &cellerr);
        if (cellerr) return rc; /* a cell error, already reported */
    } else {
        rt_policy_config pc = {
            .vocab = rt_task_vocab_size(c->task),
            .context = (int)mag_train_num(cfg, "context", pt),
            .embed = RT_FUZZ_CAP((int)mag_train_num(cfg, "embed", pt), RT_FUZZ_MAX_WIDTH),
            .hidden = RT_FUZZ_CAP((int)mag_train_num(cfg, "hidden", pt), RT_FUZZ_MAX_WIDTH),
            .layers = (int)mag_train_num(cfg, "layers", pt),
            .act = strcmp(mag_config_get(cfg, "act", pt)->str, "gelu") ? RT_NN_ACT_RELU
                                                                       : RT_NN_ACT_GELU,
        };
        if (pc.layers > RT_POLICY_MAX_LAYERS)
            return mag_err(t->ctx, d, MAG_EVALUE, mag_train_value_pos(t->cell, "layers"),
                           "'layers' must be in [1, %d] for arch = mlp (arch = gpt takes up "
                           "to %d blocks)",
                           RT_POLICY_MAX_LAYERS, RT_GPT_MAX_LAYERS);
        /* weights, gradients and two Adam moments: refuse what cannot be meant */
        double nparams = (double)pc.vocab * pc.embed + (double)pc.hidden * pc.context * pc.embed +
                         (double)(pc.layers - 1) * pc.hidden * pc.hidden +
                         (double)pc.vocab * pc.hidden;
        /* the error points at hidden's value (or the name) and says how far it may go */
        mag_pos hp = mag_train_value_pos(t->cell, "hidden");
        if (nparams > MAX_PARAMS) {
            /* the largest h with (L-1) h^2 + h (K E + V) + V E <= MAX_PARAMS */
            double a = pc.layers - 1, b = (double)pc.context * pc.embed + pc.vocab,
                   c0 = (double)pc.vocab * pc.embed - MAX_PARAMS;
            double hmax = a > 0 ? (-b + sqrt(b * b - 4 * a * c0)) / (2 * a) : -c0 / b;
            return mag_err(t->ctx, d, MAG_EVALUE, hp,
                           "policy '%s' would have %.0f parameters (the limit is %.0f; with "
                           "layers = %d, context = %d and embed = %d, hidden can be at most %ld)",
                           p->base.name, nparams, MAX_PARAMS, pc.layers, pc.context, pc.embed,
                           (long)floor(hmax));
        }
        double table = (double)pc.context * pc.vocab * pc.hidden;
        if (table > MAX_TABLE)
            return mag_err(t->ctx, d, MAG_EVALUE, hp,
                           "policy '%s': context x vocabulary x hidden = %d x %d x %d = %.0f, "
                           "above the limit of %.0f (the first layer's table, held twice by "
                           "every workspace)",
                           p->base.name, pc.context, pc.vocab, pc.hidden, table, MAX_TABLE);
        rc = rt_policy_create(&p->base.pol, &pc, &pd);
        if (rc == 0) {
            rt_rng ri = rt_rng_split(&r, 0);
            rt_policy_init(p->base.pol, &ri);
        }
    }
    if (rc == RT_ENOMEM) return mag_err_nomem(d);
    if (rc)
        return mag_err(t->ctx, d, MAG_EVALUE, t->cell->name_pos, "policy '%s': %s", p->base.name,
                       pd.msg);
    p->base.job.rng = rt_rng_split(&r, 1);
    p->task = c->task;
    rt_sft_config_init(&p->sft);
    p->sft.eval_stream = mag_eval_stream(mag_session_seed(t->ctx->session), t->task_name);
    p->sft.steps =
        c->want_sft ? (long)mag_value_number(mag_config_get(cfg, "sft_steps", pt), 1000) : 0;
    p->sft.batch = (int)mag_train_num(cfg, "batch", pt);
    p->sft.lr = (float)mag_train_num(cfg, "lr", pt);
    p->sft.noise = mag_value_number(mag_config_get(cfg, "noise", pt), -1.0);
    p->sft.eval_every = (long)mag_train_num(cfg, "eval_every", pt);
    p->base.steps = p->sft.steps;
    if (p->sft.steps > 0) {
        int nc;
        const char *const *cols = rt_sft_columns(&nc);
        if (rt_run_create(p->base.name, cols, nc, &p->base.run)) return mag_err_nomem(d);
        if (!c->from && is_gpt(cfg) && !mag_train_given(cfg, "context") &&
            rt_run_add_config(p->base.run, "context", "32") == RT_ENOMEM)
            return mag_err_nomem(d);
    }
    return 0;
}

static void policy_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                         mag_bridge_opts *o, char *title, size_t cap)
{
    (void)pts, (void)np;
    snprintf(title, cap, "%%%%policy %s: supervised pre-training on %s", t->base, t->task_name);
    o->title = title;
    o->panels = panels;
    o->npanels = 2;
    o->summary = summary;
    o->nsummary = 3;
}

/* "mlp V=32 K=8 D=32 H=256 L=2 relu" or "gpt V=32 layers=2 heads=4 width=64 context=32
 * mlp_ratio=4" (mag_policy_describe), then "[, from X][, SFT on T (noise N), S steps]" */
static void policy_summary(mag_train_cellctx *t, const mag_train_point *bp, rt_run_status stt,
                           long step, char *summ, size_t cap)
{
    const policy_cell *c = t->state;
    const point *p = (const point *)bp;
    mag_policy_describe(p->base.pol, summ, cap);
    int sl = (int)strlen(summ);
    if (c->from) sl += snprintf(summ + sl, cap - (size_t)sl, ", from %s", p->from_name);
    if (p->sft.steps > 0) {
        double nz = p->sft.noise >= 0 ? p->sft.noise : rt_task_value(c->task, "noise");
        snprintf(summ + sl, cap - (size_t)sl, ", SFT on %s (noise %g), %ld steps%s", t->task_name,
                 nz, step, mag_train_suffix(stt));
    }
}

/* A run's configuration lists its own architecture's keys only (an mlp run's CSV and
 * config are as before gpt existed). */
static const char *const *policy_omit(const mag_train_cellctx *t)
{
    static const char *const mlp_only[] = {"embed", "hidden", "act", NULL};
    /* a new gpt without context: its default (32) is not the schema's (8): policy_point */
    static const char *const mlp_ctx[] = {"embed", "hidden", "act", "context", NULL};
    static const char *const gpt_only[] = {"heads", "width", "mlp_ratio", "dropout", NULL};
    const policy_cell *c = t->state;
    if (c->from) return c->from_gpt ? mlp_only : gpt_only;
    if (!is_gpt(t->cfg)) return gpt_only;
    return mag_train_given(t->cfg, "context") ? mlp_only : mlp_ctx;
}

static const mag_trainer_rec policy_rec = {
    .magic = "policy",
    .trainer = "sft",
    .state_size = sizeof(policy_cell),
    .point_size = sizeof(point),
    .flags = MAG_TRAIN_IDLE_NO_CHART | MAG_TRAIN_KEEPS_ADAM, /* a copy trains on with the
                                                                source's Adam moments */
    .resolve = policy_resolve,
    .point = policy_point,
    .job = sft_job,
    .chart = policy_chart,
    .summary = policy_summary,
    .summary_cap = 320,
    .omit_keys = policy_omit,
};

static int run_policy(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m, (void)line;
    return mag_train_cell(ctx, cell, cfg, &policy_rec, d);
}

static const mag_magic policy_magic = {
    .name = "policy",
    .cell = 1,
    .schema = &policy_schema,
    .usage = "%%policy NAME  (body: key = value lines)",
    .help = "Defines policy NAME: an MLP over the last `context` tokens (arch = mlp: context,\n"
            "embed, hidden, layers, act) or a GPT transformer (arch = gpt: layers, heads,\n"
            "width, context = positions (32; the task's P + T must fit), mlp_ratio,\n"
            "dropout = 0), pre-trained by\n"
            "supervised learning on the demonstrations of `task` for `sft_steps` steps\n"
            "(`noise` = fraction of demonstrations with systematic errors, so the base model\n"
            "is imperfect), with a live curve of loss and accuracy; or a copy of another\n"
            "policy (from = OTHER).  A list value sweeps: one policy and run per point,\n"
            "named NAME[key=value,...]; seed = [1, 2, 3] draws mean +- spread bands.\n"
            "Example:\n  %%policy base\n  task = add\n  sft_steps = 1000\n  noise = 0.6",
    .run = run_policy,
    .positional = "-",
};

const mag_magic *const mag_policy_magics[] = {&policy_magic, NULL};
