/* run_test.c: runs (metrics table, events, status, cancel flag, configuration), the
 * registry, concurrent append and snapshot, and allocation-failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_run.h"

static const char *const cols[] = {"step", "reward", "loss"};

typedef struct recorder {
    int n;
    char lines[32][128];
} recorder;

/* records each event as one line of text */
static void record(void *user, const rt_event *ev)
{
    recorder *rec = user;
    char *l = rec->lines[rec->n++];
    switch (ev->kind) {
    case RT_EVENT_RUN_STARTED:
        snprintf(l, 128, "started %s cols=%d %s", ev->run_name, ev->n_columns, ev->columns[2]);
        break;
    case RT_EVENT_METRICS_ROW:
        snprintf(l, 128, "row %ld %g %g %g", ev->row, ev->values[0], ev->values[1], ev->values[2]);
        break;
    case RT_EVENT_LOG_LINE:
        snprintf(l, 128, "log %s", ev->text);
        break;
    case RT_EVENT_RUN_FINISHED:
        snprintf(l, 128, "finished %s %s step=%ld msg='%s'", ev->run_name,
                 rt_run_status_name(ev->status), ev->step, ev->message);
        break;
    }
}

static void lifecycle_and_events(void **state)
{
    (void)state;
    rt_run *r;
    recorder rec = {0};
    atomic_int cancel;
    atomic_init(&cancel, 0);
    assert_int_equal(rt_run_create("rl1", cols, 3, &r), 0);
    rt_run_set_events(r, record, &rec);
    rt_run_set_cancel(r, &cancel);
    assert_string_equal(rt_run_name(r), "rl1");
    assert_int_equal(rt_run_n_columns(r), 3);
    assert_string_equal(rt_run_column(r, 1), "reward");
    assert_null(rt_run_column(r, 3));
    assert_int_equal(rt_run_column_index(r, "loss"), 2);
    assert_int_equal(rt_run_column_index(r, "kl"), -1);
    assert_int_equal(rt_run_status_of(r, NULL, NULL, 0), RT_RUN_CREATED);

    rt_run_start(r);
    long step = 0;
    for (; step < 5; step++) { /* a training loop polling the flag */
        if (rt_run_should_stop(r)) break;
        double row[3] = {(double)step, 0.5 * (double)step, 1.0 / (double)(step + 1)};
        assert_int_equal(rt_run_append(r, row), 0);
        if (step == 1) rt_run_log(r, "lr=%g at step %ld", 0.01, step);
        if (step == 2) atomic_store(&cancel, 1);
    }
    assert_int_equal(step, 3);
    assert_int_equal(rt_run_finish(r, RT_RUN_INTERRUPTED, step, NULL), 0);
    assert_int_equal(rt_run_finish(r, RT_RUN_FINISHED, 9, NULL), RT_EINVAL); /* once */
    long st;
    char msg[32];
    assert_int_equal(rt_run_status_of(r, &st, msg, sizeof msg), RT_RUN_INTERRUPTED);
    assert_int_equal(st, 3);
    assert_string_equal(msg, "");

    const char *want[] = {"started rl1 cols=3 loss", "row 0 0 0 1",
                          "row 1 1 0.5 0.5",         "log lr=0.01 at step 1",
                          "row 2 2 1 0.333333",      "finished rl1 interrupted step=3 msg=''"};
    assert_int_equal(rec.n, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(rec.lines[i], want[i]);

    assert_int_equal(rt_run_rows(r), 3);
    double out[9] = {0};
    assert_int_equal(rt_run_read(r, 1, 10, out), 2);
    assert_true(out[0] == 1 && out[1] == 0.5 && out[2] == 0.5 && out[3] == 2 && out[4] == 1);
    assert_int_equal(rt_run_read(r, 3, 1, out), 0);
    assert_int_equal(rt_run_read(r, -1, 1, out), 0);
    rt_run_snapshot snap;
    assert_int_equal(rt_run_snapshot_take(r, &snap), 0);
    assert_int_equal(snap.rows, 3);
    assert_int_equal(snap.n_columns, 3);
    assert_true(snap.values[8] == 1.0 / 3.0);
    rt_run_snapshot_free(&snap);
    rt_run_free(r);

    /* failure keeps message and step */
    assert_int_equal(rt_run_create("x", cols, 1, &r), 0);
    rt_run_start(r);
    assert_int_equal(rt_run_finish(r, RT_RUN_RUNNING, 0, NULL), RT_EINVAL);
    assert_int_equal(rt_run_finish(r, RT_RUN_FAILED, 17, "loss is NaN"), 0);
    assert_int_equal(rt_run_status_of(r, &st, msg, sizeof msg), RT_RUN_FAILED);
    assert_int_equal(st, 17);
    assert_string_equal(msg, "loss is NaN");
    assert_string_equal(rt_run_status_name(RT_RUN_FAILED), "failed");
    assert_int_equal(rt_run_should_stop(r), 0); /* no flag wired */
    rt_run_free(r);
}

static void bad_arguments(void **state)
{
    (void)state;
    rt_run *r = (rt_run *)&r;
    const char *dup[] = {"a", "b", "a"}, *empty[] = {"a", ""};
    assert_int_equal(rt_run_create("r", dup, 3, &r), RT_EINVAL);
    assert_null(r);
    assert_int_equal(rt_run_create("r", empty, 2, &r), RT_EINVAL);
    assert_int_equal(rt_run_create("", cols, 3, &r), RT_EINVAL);
    assert_int_equal(rt_run_create("r", cols, 0, &r), RT_EINVAL);
}

static void registry(void **state)
{
    (void)state;
    rt_runs *g;
    rt_run *a, *b, *a2;
    assert_int_equal(rt_runs_create(&g), 0);
    assert_int_equal(rt_run_create("a", cols, 3, &a), 0);
    assert_int_equal(rt_run_create("b", cols, 3, &b), 0);
    assert_int_equal(rt_run_create("a", cols, 2, &a2), 0);
    assert_int_equal(rt_runs_add(g, a), 0);
    assert_int_equal(rt_runs_add(g, b), 0);
    assert_int_equal(rt_runs_add(g, a2), RT_EEXIST);
    rt_run_free(a2); /* still ours */
    assert_int_equal(rt_runs_count(g), 2);
    assert_ptr_equal(rt_runs_find(g, "b"), b);
    assert_null(rt_runs_find(g, "c"));
    assert_ptr_equal(rt_runs_at(g, 0), a);
    assert_null(rt_runs_at(g, 2));
    assert_int_equal(rt_runs_remove(g, "a"), 0);
    assert_int_equal(rt_runs_remove(g, "a"), RT_ENOTFOUND);
    assert_ptr_equal(rt_runs_at(g, 0), b);
    for (int i = 0; i < 20; i++) { /* growth */
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        assert_int_equal(rt_run_create(name, cols, 3, &a), 0);
        assert_int_equal(rt_runs_add(g, a), 0);
    }
    assert_int_equal(rt_runs_count(g), 21);
    assert_string_equal(rt_run_name(rt_runs_at(g, 20)), "r19");
    rt_runs_free(g);
}

enum { PER_THREAD = 20000 };

typedef struct writer {
    rt_run *run;
    int id;
} writer;

static void *append_rows(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        double row[3] = {(double)w->id, (double)i, (double)(w->id * 1000000 + i)};
        if (rt_run_append(w->run, row)) return arg;
    }
    return NULL;
}

/* every row is whole (third column derived from the first two), and each writer's
 * rows appear in its own order */
static void check_table(const double *v, long rows)
{
    long next[2] = {0, 0};
    for (long i = 0; i < rows; i++) {
        const double *row = v + 3 * i;
        int id = (int)row[0];
        assert_true(id == 0 || id == 1);
        assert_true(row[1] == (double)next[id]);
        assert_true(row[2] == (double)(id * 1000000) + row[1]);
        next[id]++;
    }
}

static void concurrent_append_and_snapshot(void **state)
{
    (void)state;
    rt_run *r;
    assert_int_equal(rt_run_create("c", cols, 3, &r), 0);
    writer w[2] = {{r, 0}, {r, 1}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_rows, &w[i]), 0);
    long last = 0;
    int snaps = 0;
    double *buf = malloc(sizeof(double) * 3 * 64);
    while (last < 2 * PER_THREAD) {
        rt_run_snapshot s;
        assert_int_equal(rt_run_snapshot_take(r, &s), 0);
        assert_true(s.rows >= last);
        check_table(s.values, s.rows);
        last = s.rows;
        long got = rt_run_read(r, last > 64 ? last - 64 : 0, 64, buf);
        assert_true(got >= 0 && got <= 64);
        rt_run_snapshot_free(&s);
        snaps++;
    }
    for (int i = 0; i < 2; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(rt_run_rows(r), 2 * PER_THREAD);
    assert_true(snaps >= 1);
    free(buf);
    rt_run_free(r);
}

/* fail each allocation in turn: clean errors, no leaks (ASan), then success */
static void allocation_failures(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 1;; n++) {
        rt_run *r = (rt_run *)&r;
        rt_alloc_fail_at(n);
        int rc = rt_run_create("name", cols, 3, &r);
        rt_alloc_fail_at(0);
        if (rc == 0) {
            rt_run_free(r);
            break;
        }
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(r);
        failures++;
        assert_true(n < 50);
    }
    assert_int_equal(failures, 6); /* run, name, column array, 3 column names */
    /* appends, snapshot and registry under failure */
    rt_run *r;
    rt_runs *g;
    assert_int_equal(rt_run_create("name", cols, 3, &r), 0);
    double row[3] = {1, 2, 3};
    rt_alloc_fail_at(1);
    assert_int_equal(rt_run_append(r, row), RT_ENOMEM);
    rt_alloc_fail_at(0);
    assert_int_equal(rt_run_rows(r), 0);
    assert_int_equal(rt_run_reserve(r, 100), 0);
    rt_alloc_fail_at(1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rt_run_append(r, row), 0); /* reserved */
    rt_run_snapshot s;
    assert_int_equal(rt_run_snapshot_take(r, &s), RT_ENOMEM);
    rt_alloc_fail_at(0);
    rt_alloc_fail_at(1);
    assert_int_equal(rt_runs_create(&g), RT_ENOMEM);
    assert_null(g);
    rt_alloc_fail_at(0);
    assert_int_equal(rt_runs_create(&g), 0);
    rt_alloc_fail_at(1);
    assert_int_equal(rt_runs_add(g, r), RT_ENOMEM);
    rt_alloc_fail_at(0);
    assert_int_equal(rt_runs_count(g), 0);
    assert_int_equal(rt_runs_add(g, r), 0);
    rt_runs_free(g);
}

/* the configuration: copied pairs in the order added, unique keys, clean ENOMEM */
static void configuration(void **state)
{
    (void)state;
    rt_run *r;
    assert_int_equal(rt_run_create("sw[lr=1e-3]", cols, 3, &r), 0);
    assert_int_equal(rt_run_n_config(r), 0);
    assert_null(rt_run_config_get(r, "lr"));
    char key[8] = "lr", val[8] = "1e-3";
    assert_int_equal(rt_run_add_config(r, key, val), 0);
    key[0] = val[0] = 'X'; /* copies */
    assert_int_equal(rt_run_add_config(r, "algo", "grpo"), 0);
    assert_int_equal(rt_run_add_config(r, "lr", "2e-3"), RT_EINVAL);
    assert_int_equal(rt_run_add_config(r, "", "1"), RT_EINVAL);
    assert_int_equal(rt_run_add_config(r, NULL, "1"), RT_EINVAL);
    assert_int_equal(rt_run_add_config(r, "seed", NULL), RT_EINVAL);
    assert_int_equal(rt_run_n_config(r), 2);
    assert_string_equal(rt_run_config_key(r, 0), "lr");
    assert_string_equal(rt_run_config_value(r, 0), "1e-3");
    assert_string_equal(rt_run_config_key(r, 1), "algo");
    assert_string_equal(rt_run_config_get(r, "algo"), "grpo");
    assert_null(rt_run_config_key(r, 2));
    assert_null(rt_run_config_value(r, -1));
    for (long n = 1; n <= 4; n++) { /* key, value, key array, value array */
        rt_alloc_fail_at(n);
        assert_int_equal(rt_run_add_config(r, "seed", "1"), RT_ENOMEM);
        rt_alloc_fail_at(0);
        assert_int_equal(rt_run_n_config(r), 2);
        assert_null(rt_run_config_get(r, "seed"));
    }
    assert_int_equal(rt_run_add_config(r, "seed", "1"), 0);
    assert_string_equal(rt_run_config_get(r, "seed"), "1");
    rt_run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lifecycle_and_events),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(registry),
        cmocka_unit_test(concurrent_append_and_snapshot),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
