/* rt_trainer.c: the one run loop (rt_trainer.h): setup, column mapping, row
 * reservation, cancel polling, finiteness checks, the log/eval cadence, the endings and
 * their messages.  Leaves out: everything a step computes. */
#include "rt_trainer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"
#include "rt_cancel.h"
#include "rt_fuzz.h"
#include "rt_nn.h"

static int set_diag(rt_diag *d, int code, long step, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int set_diag(rt_diag *d, int code, long step, const char *key, const char *fmt, ...)
{
    if (d) d->step = step;
    va_list ap;
    va_start(ap, fmt);
    rt_diag_vkey(d, code, key, fmt, ap);
    va_end(ap);
    return code;
}

/* Setup failure: the run (never started) is finished as failed with the message. */
static int setup_fail(rt_run *run, rt_diag *d, int code, const char *key, const char *msg)
{
    set_diag(d, code, 0, key, "%s", msg);
    if (run) rt_run_finish(run, RT_RUN_FAILED, 0, msg);
    return code;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "58 min", "35 s", "2.5 h" */
static void fmt_seconds(double s, char *out, size_t cap)
{
    if (s < 90)
        snprintf(out, cap, "%.0f s", s);
    else if (s < 5400)
        snprintf(out, cap, "%.0f min", s / 60);
    else
        snprintf(out, cap, "%.1f h", s / 3600);
}

/* Before step 1: a note when one step would take long (see rt_trainer_plan.step_flops). */
static void slow_note(rt_run *run, const rt_trainer_plan *p)
{
    double rate = rt_nn_gemm_rate(), s = p->step_flops / rate;
    if (!(s > RT_TRAINER_SLOW_STEP_S)) return;
    char one[32], all[32];
    fmt_seconds(s, one, sizeof one);
    fmt_seconds(s * (double)p->steps, all, sizeof all);
    rt_run_log(run, "one step is about %.1e flop, ~%s here; %ld steps ~ %s", p->step_flops, one,
               p->steps, all);
}

static int plan_ok(const rt_trainer_plan *p)
{
    if (p->steps < 0 || p->log_every < 1 || p->eval_every < 0 || p->n_metrics < 1 || !p->metrics ||
        p->n_finite < 0 || (p->n_finite > 0 && !p->finite) || (p->eval_at_start && !p->eval))
        return 0;
    for (int i = 0; i < p->n_metrics; i++)
        if (!p->metrics[i]) return 0;
    for (int k = 0; k < p->n_finite; k++)
        if (p->finite[k] < 0 || p->finite[k] >= p->n_metrics) return 0;
    return 1;
}

static int metric_index(const rt_trainer_plan *p, const char *name)
{
    for (int i = 0; i < p->n_metrics; i++)
        if (!strcmp(p->metrics[i], name)) return i;
    return -1;
}

/* The loop's state between steps. */
typedef struct loop {
    const rt_trainer *t;
    void *st;
    const rt_trainer_plan *plan;
    rt_run *run;
    double *m;   /* (n_metrics) the metric vector */
    int *col;    /* (n_metrics) run column of each metric, -1 if none */
    int *rec;    /* (n_metrics) col >= 0 */
    double *row; /* (run columns) */
    int ncol, i_step, i_wall;
    double t0;
    rt_cancel_point cancel; /* installed for the whole loop: products poll it */
} loop;

static void nan_fill(double *v, int n)
{
    for (int i = 0; i < n; i++)
        v[i] = NAN;
}

/* Appends m as the row of step s (wall 0 for the start row); non-zero if it fails. */
static int append(loop *L, long s, int start)
{
    if (L->i_step >= 0) L->m[L->i_step] = (double)s;
    if (L->i_wall >= 0) L->m[L->i_wall] = start ? 0.0 : now_s() - L->t0;
    nan_fill(L->row, L->ncol);
    for (int i = 0; i < L->plan->n_metrics; i++)
        if (L->col[i] >= 0) L->row[L->col[i]] = L->m[i];
    return rt_run_append(L->run, L->row) != 0;
}

/* The row of step s: the trainer completes m, the loop appends it.  msg on failure. */
static int emit(loop *L, long s, int eval, int start, char *msg, size_t cap)
{
    int bad = L->t->row && L->t->row(L->st, s, eval, L->rec, L->m, msg, cap);
    if (atomic_load(&L->cancel.cut)) return 2; /* cut short: the row is incomplete */
    if (bad) return 1;
    if (append(L, s, start)) {
        snprintf(msg, cap, "out of memory");
        return 1;
    }
    return 0;
}

static void loop_free(loop *L)
{
    rt_free(L->m);
    rt_free(L->col);
    rt_free(L->rec);
    rt_free(L->row);
}

/* Buffers, rows reserved, metrics mapped to columns by name; non-zero on ENOMEM. */
static int loop_init(loop *L)
{
    const rt_trainer_plan *p = L->plan;
    int nm = p->n_metrics;
    L->ncol = L->run ? rt_run_n_columns(L->run) : 0;
    L->m = rt_malloc(sizeof(double) * (size_t)nm);
    L->col = rt_malloc(sizeof(int) * (size_t)nm);
    L->rec = rt_malloc(sizeof(int) * (size_t)nm);
    L->row = rt_malloc(sizeof(double) * (size_t)(L->ncol > 0 ? L->ncol : 1));
    long nrows = p->steps / p->log_every +
                 (p->eval && p->eval_every ? p->steps / p->eval_every : 0) + 2 + p->eval_at_start;
    if (!L->m || !L->col || !L->rec || !L->row || (L->run && rt_run_reserve(L->run, nrows)))
        return 1;
    for (int i = 0; i < nm; i++) {
        L->col[i] = L->run ? rt_run_column_index(L->run, p->metrics[i]) : -1;
        L->rec[i] = L->col[i] >= 0;
    }
    L->i_step = metric_index(p, "step");
    L->i_wall = metric_index(p, "wall");
    return 0;
}

int rt_trainer_run(const rt_trainer *t, const void *args, const rt_rng *rng, rt_run *run,
                   rt_diag *d)
{
    char msg[256];
    if (!t || !t->name || !t->setup || !t->step || !t->free)
        return setup_fail(run, d, RT_EINVAL, "", "trainer: missing argument");
    if (!rng) {
        snprintf(msg, sizeof msg, "%s: missing argument", t->name);
        return setup_fail(run, d, RT_EINVAL, "", msg);
    }
    rt_trainer_plan plan = {0};
    rt_diag sd = {0};
    void *st = NULL;
    int rc = t->setup(&st, args, rng, &plan, &sd);
    if (rc) return setup_fail(run, d, rc, sd.key, sd.msg);
    if (!plan_ok(&plan)) {
        t->free(st);
        snprintf(msg, sizeof msg, "%s: bad plan", t->name);
        return setup_fail(run, d, RT_EINVAL, "", msg);
    }
    plan.steps = RT_FUZZ_CAP(plan.steps, RT_FUZZ_MAX_STEPS); /* fuzz builds only */
    int nm = plan.n_metrics;
    loop L = {.t = t, .st = st, .plan = &plan, .run = run};
    if (loop_init(&L)) {
        loop_free(&L);
        t->free(st);
        snprintf(msg, sizeof msg, "%s: out of memory", t->name);
        return setup_fail(run, d, RT_ENOMEM, "", msg);
    }
    int rows_on = run && L.ncol > 0;

    if (run) rt_run_start(run);
    if (run && plan.step_flops > 0 && plan.steps > 0) slow_note(run, &plan);
    L.t0 = now_s();
    L.cancel.flag = run ? rt_run_cancel_flag(run) : NULL;
    rt_cancel_point *outer = rt_cancel_install(&L.cancel);
    long step = 0, last_row = 0;
    int stopped = 0;
    char why[200] = "";
    rc = 0;
    msg[0] = '\0';
    if (plan.eval_at_start && rows_on) {
        nan_fill(L.m, nm);
        int e = emit(&L, 0, 1, 1, why, sizeof why);
        if (e == 2) {
            stopped = 1;
        } else if (e) {
            snprintf(msg, sizeof msg, "%s: %.200s at step 0", t->name, why);
            rc = RT_EFAILED;
        }
    }
    while (!rc && !stopped && step < plan.steps) {
        if (run && rt_run_should_stop(run)) {
            stopped = 1;
            break;
        }
        long s = step + 1;
        nan_fill(L.m, nm);
        why[0] = '\0';
        long updates = atomic_load(&L.cancel.updates);
        int bad = t->step(st, s, L.m, why, sizeof why);
        if (atomic_load(&L.cancel.cut)) {
            /* cut inside the step: it completed only if its update was applied (its
               metrics may be incomplete either way: no row, no checks) */
            step = atomic_load(&L.cancel.updates) > updates ? s : s - 1;
            stopped = 2;
            break;
        }
        step = s;
        if (bad) {
            snprintf(msg, sizeof msg, "%s: %.200s at step %ld", t->name,
                     why[0] ? why : "the step failed", s);
            rc = RT_EFAILED;
            break;
        }
        for (int k = 0; k < plan.n_finite; k++) {
            double v = L.m[plan.finite[k]];
            if (isfinite(v)) continue;
            snprintf(msg, sizeof msg, "%s: %s is %s at step %ld", t->name,
                     plan.metrics[plan.finite[k]], isnan(v) ? "nan" : "inf", s);
            if (plan.row_on_nonfinite && rows_on) append(&L, s, 0);
            rc = RT_EFAILED;
            break;
        }
        if (rc) break;
        int want_eval =
            plan.eval && ((plan.eval_every > 0 && s % plan.eval_every == 0) || s == plan.steps);
        int want_row = s % plan.log_every == 0 || want_eval || s == plan.steps;
        if (rows_on && want_row) {
            int e = emit(&L, s, want_eval, 0, why, sizeof why);
            if (e == 2) {
                stopped = 2;
                break;
            }
            if (e) {
                snprintf(msg, sizeof msg, "%s: %.200s at step %ld", t->name, why, s);
                rc = RT_EFAILED;
                break;
            }
            last_row = s;
        }
    }
    /* a step boundary stop may add the last step's row; a cut (stopped == 2) never */
    if (stopped == 1 && plan.row_on_stop && rows_on && step > last_row &&
        emit(&L, step, 0, 0, why, sizeof why) == 1) {
        snprintf(msg, sizeof msg, "%s: %.200s at step %ld", t->name, why, step);
        rc = RT_EFAILED;
    }
    rt_cancel_install(outer);
    rt_run_status how = rc ? RT_RUN_FAILED : stopped ? RT_RUN_INTERRUPTED : RT_RUN_FINISHED;
    if (t->finish) t->finish(st, how);
    loop_free(&L);
    t->free(st);
    if (how == RT_RUN_FAILED) {
        if (run) rt_run_finish(run, RT_RUN_FAILED, step, msg);
        return set_diag(d, rc, step, "", "%s", msg);
    }
    if (how == RT_RUN_INTERRUPTED) {
        if (run) rt_run_finish(run, RT_RUN_INTERRUPTED, step, "");
        return set_diag(d, RT_EINTR, step, "", "%s: interrupted after step %ld", t->name,
                        step);
    }
    if (run) rt_run_finish(run, RT_RUN_FINISHED, step, "");
    return set_diag(d, 0, step, "", NULL);
}
