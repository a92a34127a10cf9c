/* mag_m_policy: %%policy NAME — creates an `mlp` policy (or copies one with from =),
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
 * Leaves out: architectures other than mlp, resuming a run. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mag_bridge.h"
#include "mag_magic.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_policy.h"
#include "rt_sft.h"
#include "rt_task.h"

#define MAX_PARAMS 50000000.0 /* per policy (x4 floats with gradients and Adam moments) */

static const char *const archs[] = {"mlp", NULL};
static const char *const acts[] = {"relu", "gelu", NULL};

#define SW MAG_K_SWEEP
static const mag_key_spec policy_keys[] = {
    {.name = "arch", .type = MAG_T_ENUM, .values = archs, .def = "mlp", .help = "architecture"},
    {.name = "context",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 1024,
     .def = "8",
     .help = "tokens of context K"},
    {.name = "embed",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 4096,
     .def = "32",
     .help = "embedding width D"},
    {.name = "hidden",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 16384,
     .def = "256",
     .help = "hidden width H"},
    {.name = "layers",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = RT_POLICY_MAX_LAYERS,
     .def = "2",
     .help = "hidden layers"},
    {.name = "act",
     .type = MAG_T_ENUM,
     .values = acts,
     .flags = SW,
     .def = "relu",
     .help = "activation"},
    {.name = "task",
     .type = MAG_T_NAME,
     .object = "task",
     .help = "task whose demonstrations pre-train the policy"},
    {.name = "sft_steps",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN,
     .min = 0,
     .help = "supervised steps (default 1000 with a task, 0 with from)"},
    {.name = "noise",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 0,
     .max = 1,
     .help = "fraction of demonstrations with systematic errors (default: the task's)"},
    {.name = "batch",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN | MAG_K_MAX,
     .min = 1,
     .max = 65536,
     .def = "256",
     .help = "demonstrations per step"},
    {.name = "lr",
     .type = MAG_T_NUMBER,
     .flags = SW | MAG_K_MIN_EXCL,
     .min = 0,
     .def = "1e-3",
     .help = "Adam learning rate"},
    {.name = "seed",
     .type = MAG_T_INT,
     .flags = SW | MAG_K_MIN,
     .min = 0,
     .help = "extra seed (a list gives mean +- spread bands)"},
    {.name = "eval_every",
     .type = MAG_T_INT,
     .flags = MAG_K_MIN,
     .min = 0,
     .def = "100",
     .help = "held-out accuracy every N steps (0 = never)"},
    {.name = "from",
     .type = MAG_T_NAME,
     .object = "policy",
     .help = "copy this policy (then train further only if sft_steps is given)"},
};
#undef SW

static const mag_schema policy_schema = {
    .magic = "policy",
    .keys = policy_keys,
    .nkeys = sizeof policy_keys / sizeof policy_keys[0],
    .help = "defines a policy and pre-trains it on a task's demonstrations",
};

static const char *const panels[] = {"loss", "accuracy"};
static const char *const summary[] = {"loss", "accuracy", "eval_accuracy"};

typedef struct point {
    char name[256];
    char label[256];
    rt_policy *pol;
    rt_run *run;
    rt_sft_config sft;
    rt_rng rng;
    const rt_task *task;
    rt_diag diag;
    int rc;
} point;

static int sft_job(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx; /* the bridge installed it on the run */
    point *p = arg;
    p->rc = rt_sft_run(p->pol, p->task, &p->sft, p->run, &p->rng, &p->diag);
    return p->rc;
}

static void free_points(point *pts, size_t n)
{
    for (size_t i = 0; pts && i < n; i++) {
        rt_policy_free(pts[i].pol);
        rt_run_free(pts[i].run);
    }
    rt_free(pts);
}

static int run_policy(mag_ctx *ctx, const mag_magic *m, const mag_cell *cell, const mag_line *line,
                      const mag_config *cfg, mag_diag *d)
{
    (void)m;
    (void)line;
    const char *src = ctx->src;
    size_t len = ctx->len;
    const char *base = NULL;
    int nrc = mag_train_name(ctx, cell, "policy", &base, d);
    if (nrc) return nrc;
    /* references first: nothing is built before they all resolve */
    const rt_policy *from = NULL;
    const char *task_name = NULL;
    const rt_task *task = NULL;
    if (mag_train_given(cfg, "from")) {
        const char *f = mag_config_get(cfg, "from", 0)->str;
        from = mag_session_get(ctx->session, MAG_POLICY, f);
        if (!from) return mag_err_unknown(d, ctx, MAG_POLICY, f, mag_train_value_pos(cell, "from"));
        static const char *const arch_keys[] = {"context", "embed", "hidden", "layers", "act"};
        for (size_t i = 0; i < 5; i++)
            if (mag_train_given(cfg, arch_keys[i]))
                return mag_diag_set(
                    d, src, len, MAG_EVALUE, mag_train_value_pos(cell, arch_keys[i]).line,
                    mag_train_value_pos(cell, arch_keys[i]).col, NULL,
                    "'%s' cannot be set with 'from' (the architecture is copied)", arch_keys[i]);
    }
    if (mag_train_given(cfg, "task")) {
        task_name = mag_config_get(cfg, "task", 0)->str;
        task = mag_session_get(ctx->session, MAG_TASK, task_name);
        if (!task)
            return mag_err_unknown(d, ctx, MAG_TASK, task_name, mag_train_value_pos(cell, "task"));
    } else if (from) {
        const mag_entry *fe =
            mag_session_entry(ctx->session, MAG_POLICY, mag_config_get(cfg, "from", 0)->str);
        if (fe && fe->task) {
            task_name = fe->task;
            task = mag_session_get(ctx->session, MAG_TASK, task_name);
        }
    }
    int want_sft = from ? mag_train_given(cfg, "sft_steps") : 1;
    if (!from && !task)
        return mag_diag_set(d, src, len, MAG_EVALUE, cell->name_pos.line, cell->name_pos.col, NULL,
                            "%%%%policy %s needs task = TASK (or from = POLICY)", base);
    if (want_sft && !task)
        return mag_diag_set(d, src, len, MAG_EVALUE, mag_train_value_pos(cell, "sft_steps").line,
                            mag_train_value_pos(cell, "sft_steps").col, NULL,
                            "sft_steps needs task = TASK (policy '%s' has no task)",
                            mag_config_get(cfg, "from", 0)->str);
    size_t np = cfg->npoints;
    int prc = mag_train_check_points(ctx, cell, np, d);
    if (prc) return prc;
    point *pts = rt_calloc(np, sizeof *pts);
    if (!pts) return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
    uint64_t seed = mag_session_seed(ctx->session);
    long max_steps = 0;
    for (size_t pt = 0; pt < np; pt++) {
        point *p = &pts[pt];
        mag_train_point_names(cfg, base, pt, p->name, p->label);
        rt_rng r =
            mag_train_stream(seed, "", base, mag_config_get(cfg, "seed", pt)); /* common numbers */
        rt_diag pd;
        int rc;
        if (from) {
            rc = rt_policy_copy(&p->pol, from, &pd);
        } else {
            rt_policy_config pc = {
                .vocab = rt_task_vocab_size(task),
                .context = (int)mag_value_number(mag_config_get(cfg, "context", pt), 8),
                .embed = (int)mag_value_number(mag_config_get(cfg, "embed", pt), 32),
                .hidden = (int)mag_value_number(mag_config_get(cfg, "hidden", pt), 256),
                .layers = (int)mag_value_number(mag_config_get(cfg, "layers", pt), 2),
                .act = strcmp(mag_config_get(cfg, "act", pt)->str, "gelu") ? RT_NN_ACT_RELU
                                                                           : RT_NN_ACT_GELU,
            };
            /* weights, gradients and two Adam moments: refuse what cannot be meant */
            double nparams =
                (double)pc.vocab * pc.embed + (double)pc.hidden * pc.context * pc.embed +
                (double)(pc.layers - 1) * pc.hidden * pc.hidden + (double)pc.vocab * pc.hidden;
            if (nparams > MAX_PARAMS) {
                mag_diag_set(d, src, len, MAG_EVALUE, cell->name_pos.line, cell->name_pos.col, NULL,
                             "policy '%s' would have %.0f parameters (the limit is %.0f)", p->name,
                             nparams, MAX_PARAMS);
                free_points(pts, np);
                return MAG_EVALUE;
            }
            rc = rt_policy_create(&p->pol, &pc, &pd);
            if (rc == 0) {
                rt_rng ri = rt_rng_split(&r, 0);
                rt_policy_init(p->pol, &ri);
            }
        }
        if (rc) {
            free_points(pts, np);
            if (rc == RT_ENOMEM)
                return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
            return mag_diag_set(d, src, len, MAG_EVALUE, cell->name_pos.line, cell->name_pos.col,
                                NULL, "policy '%s': %s", p->name, pd.msg);
        }
        p->rng = rt_rng_split(&r, 1);
        p->task = task;
        rt_sft_config_init(&p->sft);
        p->sft.steps =
            want_sft ? (long)mag_value_number(mag_config_get(cfg, "sft_steps", pt), 1000) : 0;
        p->sft.batch = (int)mag_value_number(mag_config_get(cfg, "batch", pt), 256);
        p->sft.lr = (float)mag_value_number(mag_config_get(cfg, "lr", pt), 1e-3);
        p->sft.noise = mag_value_number(mag_config_get(cfg, "noise", pt), -1.0);
        p->sft.eval_every = (long)mag_value_number(mag_config_get(cfg, "eval_every", pt), 100);
        if (p->sft.steps > max_steps) max_steps = p->sft.steps;
        if (p->sft.steps > 0) {
            int nc;
            const char *const *cols = rt_sft_columns(&nc);
            if (rt_run_create(p->name, cols, nc, &p->run)) {
                free_points(pts, np);
                return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
            }
        }
    }
    /* train */
    int interrupted = 0;
    if (max_steps > 0) {
        mag_bridge_run *br = rt_calloc(np, sizeof *br);
        size_t nb = 0;
        for (size_t pt = 0; br && pt < np; pt++) {
            if (!pts[pt].run) continue;
            br[nb].run = pts[pt].run;
            br[nb].label = pts[pt].label;
            br[nb].fn = sft_job;
            br[nb].arg = &pts[pt];
            nb++;
        }
        char title[300];
        snprintf(title, sizeof title, "%%%%policy %s: supervised pre-training on %s", base,
                 task_name);
        mag_bridge_opts o = {
            .title = title,
            .panels = panels,
            .npanels = 2,
            .summary = summary,
            .nsummary = 3,
            .threads = mag_session_threads(ctx->session),
            .execution_count = ctx->execution_count,
        };
        mag_bridge_stats st;
        int rc = br ? mag_bridge_train(ctx->out, &o, br, (int)nb, &st) : MAG_BRIDGE_ENOMEM;
        rt_free(br);
        if (rc) {
            free_points(pts, np);
            return mag_diag_set(d, src, len, MAG_ENOMEM, 0, 0, NULL, "out of memory");
        }
        interrupted = st.interrupted;
    }
    /* store: policies of finished and interrupted points, every run */
    mag_train_store ts;
    mag_train_store_init(&ts);
    for (size_t pt = 0; pt < np; pt++) {
        point *p = &pts[pt];
        long step;
        char msg[256];
        rt_run_status stt = mag_train_status(p->run, &step, msg, sizeof msg);
        char summ[320];
        const rt_policy_config *pc = &p->pol->cfg;
        int sl = snprintf(summ, sizeof summ, "mlp V=%d K=%d D=%d H=%d L=%d %s", pc->vocab,
                          pc->context, pc->embed, pc->hidden, pc->layers,
                          pc->act == RT_NN_ACT_GELU ? "gelu" : "relu");
        if (from)
            sl += snprintf(summ + sl, sizeof summ - (size_t)sl, ", from %s",
                           mag_config_get(cfg, "from", 0)->str);
        if (p->sft.steps > 0) {
            double nz = p->sft.noise >= 0 ? p->sft.noise : rt_task_value(task, "noise");
            snprintf(summ + sl, sizeof summ - (size_t)sl, ", SFT on %s (noise %g), %ld steps%s",
                     task_name, nz, step, mag_train_suffix(stt));
        }
        mag_train_note(&ts, p->name, stt, step, msg);
        if (p->run) {
            mag_train_put_run(ctx, p->name, p->run, summ, task_name);
            p->run = NULL;
        }
        if (stt != RT_RUN_FAILED) {
            mag_train_put_policy(ctx, p->name, p->pol, summ, task_name, 1);
            p->pol = NULL;
        }
    }
    free_points(pts, np);
    return mag_train_end(ctx, cell, &ts, interrupted, max_steps, base, np, d);
}

static const mag_magic policy_magic = {
    .name = "policy",
    .cell = 1,
    .schema = &policy_schema,
    .usage = "%%policy NAME  (body: key = value lines)",
    .help = "Defines policy NAME: an MLP over the last `context` tokens, pre-trained by\n"
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
