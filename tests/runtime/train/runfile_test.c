/* runfile_test.c: a run streamed through a run file (runtime/train/rt_runfile.h): rows
 * come back bit for bit (NaN, infinities, -0, denormals), log lines and the end with its
 * status, step and message; a file read while it grows, a few bytes at a time, gives the
 * same run as the whole file; columns are matched by name; malformed files fail with
 * their exact messages; an INTERRUPTED end held for the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_alloc.h"
#include "rt_run.h"
#include "rt_runfile.h"

static const char *const cols[] = {"step", "loss", "reward"};

typedef struct {
    char logs[8][128];
    int nlogs;
} seen;

static void on_ev(void *user, const rt_event *ev)
{
    seen *s = user;
    if (ev->kind == RT_EVENT_LOG_LINE && s->nlogs < 8)
        snprintf(s->logs[s->nlogs++], sizeof s->logs[0], "%s", ev->text);
}

static void tmpname(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/runfile_test_%ld_%s", (long)getpid(), tag);
}

static const double rows[4][3] = {
    {1, 0.5, -0.0},
    {2, 1.0 / 0.0, 4.9406564584124654e-324},
    {3, -1.0 / 0.0, 0.1},
    {4, 0.0 / 0.0, 1e308},
};

/* Writes the reference run to path: 4 rows, a log line, failed at step 4. */
static void write_file(const char *path)
{
    rt_run *run;
    assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
    rt_runfile_writer *w;
    rt_diag d = {0};
    assert_int_equal(rt_runfile_create(path, cols, 3, &w, &d), 0);
    rt_run_set_events(run, rt_runfile_on_event, w);
    rt_run_start(run);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rt_run_append(run, rows[i]), 0);
        if (i == 1) rt_run_log(run, "one step is about %d flop", 42);
    }
    rt_run_finish(run, RT_RUN_FAILED, 4, "reward is NaN at step 4");
    assert_int_equal(rt_runfile_close(w, &d), 0);
    rt_run_free(run);
}

static void check_run(rt_run *run, const seen *s)
{
    assert_int_equal(rt_run_rows(run), 4);
    double got[12];
    assert_int_equal(rt_run_read(run, 0, 4, got), 4);
    assert_memory_equal(got, rows, sizeof got); /* bit for bit */
    long step;
    char msg[100];
    assert_int_equal(rt_run_status_of(run, &step, msg, sizeof msg), RT_RUN_FAILED);
    assert_int_equal(step, 4);
    assert_string_equal(msg, "reward is NaN at step 4");
    assert_int_equal(s->nlogs, 1);
    assert_string_equal(s->logs[0], "one step is about 42 flop");
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *b = malloc(1 << 16);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static void test_whole_file_round_trip(void **state)
{
    (void)state;
    char path[200];
    tmpname(path, sizeof path, "whole");
    write_file(path);
    size_t n;
    char *b = slurp(path, &n);
    const char head[] = "rlhf-run 1\ncolumns 3\nstep\nloss\nreward\nend\n";
    assert_memory_equal(b, head, sizeof head - 1);
    /* header + 4 rows of 25 bytes + a log (5 + 25) + the end (14 + 23) */
    assert_int_equal(n, sizeof head - 1 + 4 * 25 + 30 + 37);
    free(b);
    rt_run *run;
    assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
    seen s = {0};
    rt_run_set_events(run, on_ev, &s);
    rt_runfile_reader *r;
    assert_int_equal(rt_runfile_reader_new(path, &r), 0);
    rt_diag d = {0};
    assert_int_equal(rt_runfile_poll(r, run, &d), 1 + 4 + 1 + 1);
    assert_int_equal(rt_runfile_poll(r, run, &d), 0);
    rt_run_status st;
    long step;
    assert_true(rt_runfile_started(r));
    assert_true(rt_runfile_ended(r, &st, &step));
    assert_int_equal(st, RT_RUN_FAILED);
    assert_int_equal(step, 4);
    check_run(run, &s);
    rt_runfile_reader_free(r);
    rt_run_free(run);
    unlink(path);
}

/* The file appended a few bytes at a time (1..7), polled after each: the same run. */
static void test_growing_file(void **state)
{
    (void)state;
    char path[200], grow[200];
    tmpname(path, sizeof path, "src");
    tmpname(grow, sizeof grow, "grow");
    write_file(path);
    size_t n;
    char *b = slurp(path, &n);
    for (int chunk = 1; chunk <= 7; chunk++) {
        unlink(grow);
        rt_run *run;
        assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
        seen s = {0};
        rt_run_set_events(run, on_ev, &s);
        rt_runfile_reader *r;
        assert_int_equal(rt_runfile_reader_new(grow, &r), 0);
        rt_diag d = {0};
        assert_int_equal(rt_runfile_poll(r, run, &d), 0); /* no file yet */
        assert_false(rt_runfile_started(r));
        FILE *f = fopen(grow, "wb");
        int total = 0;
        for (size_t at = 0; at < n; at += (size_t)chunk) {
            size_t k = n - at < (size_t)chunk ? n - at : (size_t)chunk;
            assert_int_equal(fwrite(b + at, 1, k, f), k);
            fflush(f);
            int a = rt_runfile_poll(r, run, &d);
            assert_true(a >= 0);
            total += a;
            /* started exactly once the header is whole */
            assert_int_equal(rt_runfile_started(r), at + k >= 42);
            assert_int_equal(rt_run_status_of(run, NULL, NULL, 0) != RT_RUN_CREATED, at + k >= 42);
        }
        fclose(f);
        assert_int_equal(total, 7);
        check_run(run, &s);
        rt_runfile_reader_free(r);
        rt_run_free(run);
    }
    free(b);
    unlink(path);
    unlink(grow);
}

/* Columns by name: the run has one the file lacks (NaN) and lacks one the file has. */
static void test_columns_by_name(void **state)
{
    (void)state;
    char path[200];
    tmpname(path, sizeof path, "cols");
    write_file(path);
    const char *const other[] = {"reward", "extra", "step"};
    rt_run *run;
    assert_int_equal(rt_run_create("p", other, 3, &run), 0);
    rt_runfile_reader *r;
    assert_int_equal(rt_runfile_reader_new(path, &r), 0);
    rt_diag d = {0};
    assert_int_equal(rt_runfile_poll(r, run, &d), 7);
    double got[12];
    assert_int_equal(rt_run_read(run, 0, 4, got), 4);
    for (int i = 0; i < 4; i++) {
        assert_memory_equal(&got[3 * i], &rows[i][2], 8);
        assert_true(isnan(got[3 * i + 1]));
        assert_memory_equal(&got[3 * i + 2], &rows[i][0], 8);
    }
    rt_runfile_reader_free(r);
    rt_run_free(run);
    unlink(path);
}

static void expect_error(const char *text, size_t n, int code, const char *msg_fmt)
{
    char path[200], want[400];
    tmpname(path, sizeof path, "bad");
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, n, f);
    fclose(f);
    rt_run *run;
    assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
    rt_runfile_reader *r;
    assert_int_equal(rt_runfile_reader_new(path, &r), 0);
    rt_diag d = {0};
    assert_int_equal(rt_runfile_poll(r, run, &d), code);
    snprintf(want, sizeof want, msg_fmt, path);
    assert_string_equal(d.msg, want);
    rt_runfile_reader_free(r);
    rt_run_free(run);
    unlink(path);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char tag[] = "rlhf-run 1\ncolumns 1\nstep\nend\nX";
    static const char st[] = "rlhf-run 1\ncolumns 1\nstep\nend\nF\x09"
                             "\0\0\0\0\0\0\0\0\0\0\0\0";
    expect_error("hello", 5, RT_EMAGIC, "'%s' is not a run file");
    expect_error("rlhf-run 2\n", 11, RT_EVERSION, "'%s': a run file of another version");
    expect_error("rlhf-run 1\ncols 3\n", 18, RT_EFORMAT, "'%s': line 2: expected 'columns N'");
    expect_error("rlhf-run 1\ncolumns 0\n", 21, RT_EFORMAT, "'%s': line 2: bad column count");
    expect_error("rlhf-run 1\ncolumns 1\n\n", 22, RT_EFORMAT,
                 "'%s': line 3: a column without a name");
    expect_error("rlhf-run 1\ncolumns 1\nstep\nfin\n", 30, RT_EFORMAT,
                 "'%s': line 4: expected 'end'");
    expect_error(tag, sizeof tag - 1, RT_EFORMAT, "'%s': byte 30: bad record tag 88");
    expect_error(st, sizeof st - 1, RT_EFORMAT, "'%s': byte 30: bad status 9");
}

/* An INTERRUPTED end held: read (status, step, message), not applied to the run. */
static void test_hold_interrupted(void **state)
{
    (void)state;
    char path[200];
    tmpname(path, sizeof path, "hold");
    rt_run *run;
    assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
    rt_runfile_writer *w;
    rt_diag d = {0};
    assert_int_equal(rt_runfile_create(path, cols, 3, &w, &d), 0);
    rt_run_set_events(run, rt_runfile_on_event, w);
    rt_run_start(run);
    assert_int_equal(rt_run_append(run, rows[0]), 0);
    rt_run_finish(run, RT_RUN_INTERRUPTED, 1, "stopped");
    assert_int_equal(rt_runfile_close(w, &d), 0);
    rt_run_free(run);
    for (int hold = 0; hold < 2; hold++) {
        assert_int_equal(rt_run_create("p", cols, 3, &run), 0);
        rt_runfile_reader *r;
        assert_int_equal(rt_runfile_reader_new(path, &r), 0);
        if (hold) rt_runfile_hold_interrupted(r);
        assert_int_equal(rt_runfile_poll(r, run, &d), 3);
        rt_run_status st;
        long step;
        assert_true(rt_runfile_ended(r, &st, &step));
        assert_int_equal(st, RT_RUN_INTERRUPTED);
        assert_int_equal(step, 1);
        assert_string_equal(rt_runfile_end_message(r), "stopped");
        assert_int_equal(rt_run_status_of(run, NULL, NULL, 0),
                         hold ? RT_RUN_RUNNING : RT_RUN_INTERRUPTED);
        assert_int_equal(rt_run_rows(run), 1);
        rt_runfile_reader_free(r);
        rt_run_free(run);
    }
    unlink(path);
}

/* A writer's bad input and an uncreatable file. */
static void test_writer_errors(void **state)
{
    (void)state;
    rt_runfile_writer *w;
    rt_diag d = {0};
    const char *const bad[] = {"step", "a\nb"};
    assert_int_equal(rt_runfile_create("/tmp/x", bad, 2, &w, &d), RT_EINVAL);
    assert_null(w);
    assert_string_equal(d.msg, "run file: column 1 has no name or a newline");
    assert_int_equal(rt_runfile_create("/nonexistent-dir/x", cols, 3, &w, &d), RT_ENOENT);
    assert_string_equal(d.msg, "cannot create '/nonexistent-dir/x': No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file_round_trip), cmocka_unit_test(test_growing_file),
        cmocka_unit_test(test_columns_by_name),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_writer_errors),         cmocka_unit_test(test_hold_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
