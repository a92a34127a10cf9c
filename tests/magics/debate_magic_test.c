/* debate_magic_test.c: %%debate, %debate NAME show|eval and debate(NAME) rewards in %%rl
 * through the interpreter and a recording sink.  Errors are exact (evalue and the caret
 * line of the traceback) and leave %who unchanged; a defined debate is in the session
 * with its runs NAME.judge / NAME.full_judge; the reward of a %%rl run with
 * r = debate(d) takes only the values 0, 0.5 and 1 per sample, so every logged mean times
 * N is a multiple of 0.5, and judge_win / judge_win_full / return are columns of the run
 * (return equals the environment reward of an outcome run at alpha = 0); an interrupt
 * during the judge's training keeps the runs and defines no debate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp_harness.h"
#include "rt_run.h"

static krn_interp *it;

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    if (!it) return -1;
    static const char *const cells[] = {
        "%task tri triage features=5 values=3 actions=4 good=2",
        "%task add add",
        "%%policy base\ntask = tri\nhidden = 32\nsft_steps = 100",
        "%%debate d\ntask = tri\nevidence = 2\njudge_steps = 200\nbaseline = base",
        "%%reward r alpha=1\n(1 - alpha) * outcome + alpha * debate(d)",
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        free(ok_in(it, cells[i]));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    return 0;
}

static void test_errors(void **st)
{
    (void)st;
    check_error_in(it, "%%debate x\ntask = tri\nevidence = 6", "ValueError",
                   "cell:3:12: evidence must be between 1 and 5 (the task's features)",
                   "evidence = 6", "           ^");
    check_error_in(it, "%%debate x\ntask = add", "ValueError",
                   "cell:2:8: debate needs a triage task (got add)", "task = add", "       ^");
    check_error_in(it, "%%debate x\ntask = tri\nbaseline = bas", "NameError",
                   "cell:3:12: unknown policy 'bas' (did you mean 'base'?)", "baseline = bas",
                   "           ^");
    check_error_in(it, "%%debate x\ntask = tri\nevidence = 5\ndebaters = minimax\nmax_leaves = 100",
                   "ValueError",
                   "cell:4:12: minimax: game tree of 120 leaves (K=5 features, evidence 5) "
                   "exceeds the limit of 100",
                   "debaters = minimax", "           ^");
    check_error_in(it, "%%reward bad\ndebate(dd)", "NameError",
                   "cell:2:8: unknown debate 'dd' (did you mean 'd'?)", "debate(dd)", "       ^");
    check_error_in(it, "%debate dd show", "NameError",
                   "cell:1:9: unknown debate 'dd' (did you mean 'd'?)", "%debate dd show",
                   "        ^");
}

static void test_defined_and_show(void **st)
{
    (void)st;
    mag_session *s = mag_interp_session(it);
    const mag_entry *e = mag_session_entry(s, MAG_DEBATE, "d");
    assert_non_null(e);
    assert_string_equal(e->task, "tri");
    assert_non_null(strstr(e->summary, "on tri, evidence 2, greedy debaters, first random, "
                                       "baseline base; judge accuracy "));
    rt_run *jr = mag_session_get(s, MAG_RUN, "d.judge");
    rt_run *fr = mag_session_get(s, MAG_RUN, "d.full_judge");
    assert_non_null(jr);
    assert_non_null(fr);
    long step;
    assert_int_equal(rt_run_status_of(jr, &step, NULL, 0), RT_RUN_FINISHED);
    assert_int_equal(step, 200);
    assert_null(mag_session_get(s, MAG_RUN, "d.debaters")); /* greedy: no learner run */
    run r;
    exec_in(it, &r, "%debate d show n=4", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    assert_int_equal(rec_count(&r.m), 1);
    const char *t = plain(&r, 0);
    int states = 0, verdicts = 0;
    for (const char *p = t; (p = strstr(p, "\nstate <tri>")); p++)
        states++;
    for (const char *p = t; (p = strstr(p, "\nverdict: ")); p++)
        verdicts++;
    assert_int_equal(states, 4);
    assert_int_equal(verdicts, 4);
    done(&r);
}

static void test_rl_debate_reward(void **st)
{
    (void)st;
    free(ok_in(it, "%%rl j\nfrom = base\nreward = r\nalpha = [0, 1]\nsteps = 4\nbatch = 4\n"
                   "group = 4\neval_every = 0"));
    mag_session *s = mag_interp_session(it);
    for (int a = 0; a < 2; a++) {
        rt_run *run = mag_session_get(s, MAG_RUN, a ? "j[alpha=1]" : "j[alpha=0]");
        assert_non_null(run);
        assert_int_equal(rt_run_rows(run), 4);
        int ir = rt_run_column_index(run, "reward"), iw = rt_run_column_index(run, "judge_win");
        int ie = rt_run_column_index(run, "return");
        assert_true(ir >= 0 && iw >= 0 && ie >= 0);
        assert_true(rt_run_column_index(run, "judge_win_full") >= 0);
        for (long row = 0; row < 4; row++) {
            double v[64];
            assert_int_equal(rt_run_read(run, row, 1, v), 1);
            if (a == 0) {
                assert_true(v[ir] == v[ie]); /* alpha = 0: the reward is the return */
            } else {
                double k = v[ir] * 16 * 2; /* N = 16 samples, values 0, 0.5, 1 */
                assert_true(fabs(k - round(k)) < 1e-9);
            }
            assert_true(isnan(v[iw]) || (v[iw] >= 0 && v[iw] <= 1));
        }
    }
}

static void test_interrupt_keeps_runs_defines_nothing(void **st)
{
    (void)st;
    atomic_int flag = 1;
    run r;
    exec_in(it, &r, "%%debate late\ntask = tri\njudge_steps = 100000", &flag);
    int last = rec_count(&r.m) - 1;
    assert_string_equal(rec_type(&r.m, last), "error");
    assert_string_equal(rec_str(&r.m, last, "ename"), "Interrupted");
    /* the bridge polls the flag: the judge stops at the next step boundary after that */
    long at = -1;
    char tail[200];
    assert_int_equal(sscanf(rec_str(&r.m, last, "evalue"),
                            "interrupted at step %ld of the %199[^\n]", &at, tail),
                     2);
    assert_string_equal(tail, "judge training; the runs are kept, debate 'late' is not defined");
    assert_true(at >= 0 && at < 100000);
    done(&r);
    mag_session *s = mag_interp_session(it);
    assert_null(mag_session_get(s, MAG_DEBATE, "late"));
    rt_run *jr = mag_session_get(s, MAG_RUN, "late.judge");
    assert_non_null(jr);
    long step;
    assert_int_equal(rt_run_status_of(jr, &step, NULL, 0), RT_RUN_INTERRUPTED);
    assert_int_equal(step, at);
    /* the full-state judge never started: no run of it is kept (user-audit B12) */
    assert_null(mag_session_get(s, MAG_RUN, "late.full_judge"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_defined_and_show),
        cmocka_unit_test(test_rl_debate_reward),
        cmocka_unit_test(test_interrupt_keeps_runs_defines_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
