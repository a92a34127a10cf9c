/* train_cell_test: the one training-cell handler (magics/mag_train_cell.h) driven by a toy
 * record: sweep points named and trained, each job's plain data (trainer, point name, the
 * point's resolved key = value configuration, its inputs, its stream), runs stored with
 * the record's summary, a hook's error stopping the cell before anything trains or is
 * stored, a failed point's ending, the worker's one point (its range and its job's hash),
 * and every allocation of a cell failed in turn (the cell ends cleanly and stores nothing
 * half-made). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mag_train_cell.h"
#include "rec_sink.h"
#include "mag_lineage.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_job.h"
#include "rt_model.h"
#include "rt_policy.h"
#include "rt_task.h"

static const mag_key_spec toy_keys[] = {
    {.name = "steps", .type = MAG_T_INT, .flags = MAG_K_SWEEP | MAG_K_MIN, .def = "2"},
    {.name = "lr", .type = MAG_T_NUMBER, .flags = MAG_K_SWEEP, .def = "0.5"},
    {.name = "fail", .type = MAG_T_INT, .flags = MAG_K_SWEEP, .def = "0"},
    {.name = "seed", .type = MAG_T_INT, .flags = MAG_K_SWEEP | MAG_K_MIN},
    {.name = "from", .type = MAG_T_NAME, .object = "policy"},
};
static const mag_schema toy_schema = {.magic = "toy", .keys = toy_keys, .nkeys = 5};

typedef struct toy_point {
    mag_train_point base;
    int fail;   /* 1: the job fails, 2: the point hook fails */
    int packed; /* the job packed, unpacked and packed again to the same bytes */
} toy_point;

/* A job is self-contained: its packed form unpacks to the same plain data (inputs by
 * value included) and packs again to the same bytes. */
static void free_task(void *t)
{
    rt_task_free(t);
}

static int pack_round_trip(const rt_job *j)
{
    rt_strbuf a, b;
    rt_strbuf_init(&a);
    rt_strbuf_init(&b);
    rt_job_owned o;
    int ok = rt_job_pack(j, &a, NULL) == 0 && rt_job_unpack(a.s, a.len, &o, NULL) == 0;
    if (ok) {
        ok = o.job.nin == j->nin && o.job.ncfg == j->ncfg && rt_job_pack(&o.job, &b, NULL) == 0 &&
             b.len == a.len && memcmp(a.s, b.s, a.len) == 0;
        for (int i = 0; ok && i < j->nin; i++)
            ok = o.job.in[i].size == j->in[i].size &&
                 memcmp(o.job.in[i].data, j->in[i].data, j->in[i].size) == 0;
        rt_job_owned_free(&o);
    }
    rt_strbuf_free(&a);
    rt_strbuf_free(&b);
    return ok;
}

typedef struct toy_state {
    int resolved, charted;
} toy_state;

static int toy_job(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx;
    toy_point *p = arg;
    p->packed = pack_round_trip(&p->base.job);
    rt_run *run = p->base.run;
    rt_run_start(run);
    for (long s = 1; s <= p->base.steps; s++) {
        double row[2] = {(double)s, 0.5 * (double)s};
        if (rt_run_append(run, row)) return rt_run_finish(run, RT_RUN_FAILED, s, "toy: oom");
    }
    if (p->fail == 1) return rt_run_finish(run, RT_RUN_FAILED, 1, "toy: boom at step 1");
    return rt_run_finish(run, RT_RUN_FINISHED, p->base.steps, "");
}

static int toy_resolve(mag_train_cellctx *t, mag_diag *d)
{
    (void)d;
    ((toy_state *)t->state)->resolved = 1;
    t->task_name = "t";
    return 0;
}

static int toy_point_fn(mag_train_cellctx *t, mag_train_point *bp, size_t pt, mag_diag *d)
{
    toy_point *p = (toy_point *)bp;
    p->fail = (int)mag_value_number(mag_config_get(t->cfg, "fail", pt), 0);
    if (p->fail == 2)
        return mag_err(t->ctx, d, MAG_EVALUE, t->cell->name_pos, "point '%s' refused",
                       p->base.name);
    p->base.steps = (long)mag_value_number(mag_config_get(t->cfg, "steps", pt), 0);
    p->base.job.rng = rt_rng_from_name(1, p->base.name);
    static const char *const cols[] = {"step", "x"};
    if (rt_run_create(p->base.name, cols, 2, &p->base.run)) return mag_err_nomem(d);
    return 0;
}

static void toy_chart(mag_train_cellctx *t, mag_train_point *const *pts, size_t np,
                      mag_bridge_opts *o, char *title, size_t cap)
{
    (void)pts, (void)np;
    static const char *const panels[] = {"x"};
    ((toy_state *)t->state)->charted = 1;
    snprintf(title, cap, "toy %s", t->base);
    o->title = title;
    o->panels = panels;
    o->npanels = 1;
}

/* "TRAINER NAME k=v k=v ..., S steps": the job's plain data as the summary */
static void toy_summary(mag_train_cellctx *t, const mag_train_point *p, rt_run_status stt,
                        long step, char *out, size_t cap)
{
    (void)t;
    int n = snprintf(out, cap, "%s %s", p->job.trainer, p->job.name);
    for (int i = 0; i < p->job.ncfg && n < (int)cap; i++)
        n += snprintf(out + n, cap - (size_t)n, " %s=%s", p->job.cfg[i].key, p->job.cfg[i].value);
    for (int i = 0; i < p->job.nin && n < (int)cap; i++)
        n += snprintf(out + n, cap - (size_t)n, " in:%s/%s/%zu", p->job.in[i].role,
                      p->job.in[i].kind, p->job.in[i].size);
    if (p->job.nin && n < (int)cap)
        n += snprintf(out + n, cap - (size_t)n, "%s",
                      ((const toy_point *)p)->packed ? " packed" : " NOT-PACKED");
    if (n < (int)cap)
        snprintf(out + n, cap - (size_t)n, ", %ld steps%s", step, mag_train_suffix(stt));
}

static const mag_trainer_rec toy_rec = {
    .magic = "toy",
    .trainer = "toy",
    .state_size = sizeof(toy_state),
    .point_size = sizeof(toy_point),
    .resolve = toy_resolve,
    .point = toy_point_fn,
    .job = toy_job,
    .chart = toy_chart,
    .summary = toy_summary,
    .summary_cap = 200,
};

static mag_body_kind config_body(const char *name, void *ud)
{
    (void)name, (void)ud;
    return MAG_BODY_CONFIG;
}

/* Runs code through mag_train_cell in session s; the return code, d filled. */
static int run_cell(mag_session *s, const char *code, mag_diag *d)
{
    rec_sink sink;
    rec_init(&sink);
    krn_out *out = krn_out_new(&rec_vt, &sink, NULL, 1, false);
    assert_non_null(out);
    mag_parse_opts po = {.body_kind = config_body};
    mag_cell *cell = NULL;
    mag_config *cfg = NULL;
    size_t len = strlen(code);
    int rc = mag_parse_cell(code, len, &po, &cell, d);
    assert_int_equal(rc, 0);
    assert_int_equal(mag_validate_cell(&toy_schema, cell, code, len, &cfg, d), 0);
    mag_ctx ctx = {.session = s, .out = out, .src = code, .len = len, .execution_count = 1};
    rc = mag_train_cell(&ctx, cell, cfg, &toy_rec, d);
    mag_config_free(cfg);
    mag_cell_free(cell);
    krn_out_finish(out);
    krn_out_free(out);
    rec_free(&sink);
    return rc;
}

static const char *summary_of(mag_session *s, const char *name)
{
    const mag_entry *e = mag_session_entry(s, MAG_RUN, name);
    return e ? e->summary : NULL;
}

static void test_sweep_jobs(void **state)
{
    (void)state;
    mag_session *s = mag_session_new();
    mag_diag d;
    assert_int_equal(run_cell(s, "%%toy j\nsteps = 3\nlr = [0.1, 0.2]", &d), 0);
    /* every job carries the session's seed ("seed = 0\n") and the cell (33 bytes) */
    assert_string_equal(summary_of(s, "j[lr=0.1]"), "toy j[lr=0.1] steps=3 lr=0.1 fail=0 "
                                                    "in:session/session/9 in:cell/cell/33 "
                                                    "packed, 3 steps");
    assert_string_equal(summary_of(s, "j[lr=0.2]"), "toy j[lr=0.2] steps=3 lr=0.2 fail=0 "
                                                    "in:session/session/9 in:cell/cell/33 "
                                                    "packed, 3 steps");
    assert_null(summary_of(s, "j"));
    /* defaults are written as their text; a key without a value is left out */
    assert_int_equal(run_cell(s, "%%toy k\nseed = [1, 2]", &d), 0);
    assert_string_equal(summary_of(s, "k[seed=2]"),
                        "toy k[seed=2] steps=2 lr=0.5 fail=0 seed=2 in:session/session/9 "
                        "in:cell/cell/21 packed, 2 steps");
    mag_session_free(s);
}

/* Inputs by value: the session's seed, the cell, the policy `from` names (its file as
 * %save writes it: its name, task and lineage in the metadata) and the cell's task
 * ("task = NAME" and its definition), serialized once per cell and shared by the points;
 * each job packs and unpacks to itself. */
static void test_jobs_carry_inputs(void **state)
{
    (void)state;
    mag_session *s = mag_session_new();
    rt_task_config tc;
    rt_task_config_init(&tc, "add");
    rt_task *task;
    assert_int_equal(rt_task_create(&tc, &task, NULL), 0);
    assert_int_equal(mag_session_put(s, MAG_TASK, "t", task, free_task, "add", NULL), 0);
    rt_policy_config pc = {rt_task_vocab_size(task), 4, 8, 16, 1, RT_NN_ACT_RELU};
    rt_policy *pol;
    assert_int_equal(rt_policy_create(&pol, &pc, NULL), 0);
    void *bytes = NULL;
    size_t nb = 0;
    assert_int_equal(mag_session_put(s, MAG_POLICY, "base", pol, mag_train_free_policy, "", "t"),
                     0);
    char *meta = mag_policy_meta(s, "base");
    assert_non_null(strstr(meta, "policy = base\ntask = t\ntask.spec = add "));
    assert_int_equal(rt_model_save_mem_meta(&pol->model, meta, &bytes, &nb, NULL), 0);
    rt_free(meta);
    rt_strbuf spec;
    rt_strbuf_init(&spec);
    rt_strbuf_puts(&spec, "task = t\n");
    assert_int_equal(mag_task_spec_lines(task, &spec), 0);
    mag_diag d;
    assert_int_equal(run_cell(s, "%%toy m\nfrom = base\nlr = [0.1, 0.2]", &d), 0);
    char want[300];
    for (int i = 1; i <= 2; i++) {
        snprintf(want, sizeof want,
                 "toy m[lr=0.%d] steps=2 lr=0.%d fail=0 from=base in:session/session/9 "
                 "in:cell/cell/35 in:from/policy/%zu in:task/task/%zu packed, 2 steps",
                 i, i, nb, spec.len);
        char name[32];
        snprintf(name, sizeof name, "m[lr=0.%d]", i);
        assert_string_equal(summary_of(s, name), want);
    }
    rt_strbuf_free(&spec);
    rt_free(bytes);
    mag_session_free(s);
}

static void test_hook_error_stores_nothing(void **state)
{
    (void)state;
    mag_session *s = mag_session_new();
    mag_diag d;
    int rc = run_cell(s, "%%toy e\nfail = [0, 2]", &d);
    assert_int_equal(rc, MAG_EVALUE);
    assert_string_equal(d.msg, "cell:1:3: point 'e[fail=2]' refused");
    assert_null(summary_of(s, "e[fail=0]"));
    mag_session_free(s);
}

static void test_failed_point(void **state)
{
    (void)state;
    mag_session *s = mag_session_new();
    mag_diag d;
    int rc = run_cell(s, "%%toy f\nfail = [1, 0]", &d);
    assert_int_equal(rc, MAG_ERUNTIME);
    assert_string_equal(d.msg, "cell:1:3: run 'f[fail=1]' failed: toy: boom at step 1 (the other "
                               "sweep points finished)");
    assert_string_equal(summary_of(s, "f[fail=1]"),
                        "toy f[fail=1] steps=2 lr=0.5 fail=1 in:session/session/9 "
                        "in:cell/cell/21 packed, 1 steps (failed)");
    assert_non_null(summary_of(s, "f[fail=0]"));
    mag_session_free(s);
}

static void test_every_allocation_fails(void **state)
{
    (void)state;
    const char *code = "%%toy o\nsteps = 2\nlr = [0.1, 0.2]";
    mag_session *s = mag_session_new();
    mag_diag d;
    rt_alloc_fail_at(0);
    assert_int_equal(run_cell(s, code, &d), 0);
    long count = rt_alloc_count();
    mag_session_free(s);
    for (long n = 1; n <= count; n++) {
        s = mag_session_new();
        assert_non_null(s);
        rt_alloc_fail_at(n);
        int rc = run_cell(s, code, &d);
        rt_alloc_fail_at(0);
        if (rc) { /* an error: the runs stored are only complete ones */
            const char *a = summary_of(s, "o[lr=0.1]"), *b = summary_of(s, "o[lr=0.2]");
            if (a) assert_non_null(strstr(a, "toy o[lr=0.1]"));
            if (b) assert_non_null(strstr(b, "toy o[lr=0.2]"));
        }
        mag_session_free(s);
    }
}

/* The worker's mode (mag_session_set_worker): only that point is built, checked against
 * its job's hash, trained and stored; a point out of range and a rebuilt job of another
 * hash are errors that store nothing. */
static void test_worker_point(void **state)
{
    (void)state;
    mag_session *s = mag_session_new();
    mag_diag d;
    const char *code = "%%toy w\nsteps = 3\nlr = [0.1, 0.2]";
    mag_session_set_worker(s, 2, 0);
    assert_int_equal(run_cell(s, code, &d), MAG_EVALUE);
    assert_string_equal(d.msg, "cell:1:3: point 2 is out of range: %%toy w has 2 points");
    mag_session_set_worker(s, 1, 0x1234);
    assert_int_equal(run_cell(s, code, &d), MAG_ERUNTIME);
    const char *at = strstr(d.msg, "rebuilt here is job ");
    assert_non_null(at);
    assert_non_null(strstr(d.msg, ", not the manifest's 0000000000001234 (its inputs, "));
    assert_null(summary_of(s, "w[lr=0.2]"));
    uint64_t h = strtoull(at + strlen("rebuilt here is job "), NULL, 16);
    mag_session_set_worker(s, 1, h); /* the right hash: the point trains alone */
    assert_int_equal(run_cell(s, code, &d), 0);
    assert_string_equal(summary_of(s, "w[lr=0.2]"), "toy w[lr=0.2] steps=3 lr=0.2 fail=0 "
                                                    "in:session/session/9 in:cell/cell/33 "
                                                    "packed, 3 steps");
    assert_null(summary_of(s, "w[lr=0.1]"));
    mag_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_jobs),        cmocka_unit_test(test_hook_error_stores_nothing),
        cmocka_unit_test(test_jobs_carry_inputs), cmocka_unit_test(test_failed_point),
        cmocka_unit_test(test_worker_point),      cmocka_unit_test(test_every_allocation_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
