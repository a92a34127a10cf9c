/* %tilt (magics/mag_m_tilt.c) through the interpreter and a recording sink: every bad
 * line is one exact cell:LINE:COL error with its caret, nothing stored (a task whose
 * answers cannot be enumerated, unknown base / reward / task, beta <= 0, a base that is
 * a tilt, a reward reading a feature the task lacks); a tilt is listed by %who with its
 * lineage (from, reward, beta), works in %eval and %sample, is refused where weights are
 * needed (from = of %%rl / %%opd / %%policy, %save) or made on another task; and %%opd
 * with teacher = the tilt (and as a reference) runs end to end and gives the same bits
 * when re-run; %%opd's target_top_k / target_top_p need the full estimator and a
 * restricted run says so in its summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interp_harness.h"

static krn_interp *it;

static const char *const setup_cells[] = {
    "%task a1 add digits=1",
    "%task a2 add digits=2",
    "%task tri triage",
    "%%policy base\ntask = a1\nsft_steps = 30\nembed = 8\nhidden = 32\nbatch = 32",
    "%%policy base2\ntask = a2\nsft_steps = 0\nembed = 8\nhidden = 32",
    "%%reward exact c=0.01\ncorrect - c * length",
    "%%reward nodef\ncorrect - k * length",
    "%%reward tri_r\noutcome",
};

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    if (!it) return -1;
    for (size_t i = 0; i < sizeof setup_cells / sizeof setup_cells[0]; i++)
        free(ok_in(it, setup_cells[i]));
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
    const char *line = "%tilt t from=base2 reward=exact beta=1";
    check_error_in(it, line, "ValueError",
                   "cell:1:14: task 'a2': a tilt enumerates every answer exactly: answers of at "
                   "most 3 tokens (EOS included), but this task has answers of up to 4 tokens",
                   line, "             ^");
    line = "%tilt t from=base reward=exact beta=1 task=a2";
    check_error_in(it, line, "ValueError",
                   "cell:1:44: task 'a2': a tilt enumerates every answer exactly: answers of at "
                   "most 3 tokens (EOS included), but this task has answers of up to 4 tokens",
                   line, "                                           ^");
    line = "%tilt t from=bsae reward=exact beta=1";
    check_error_in(it, line, "NameError", "cell:1:14: unknown policy 'bsae' (did you mean 'base'?)",
                   line, "             ^");
    line = "%tilt t from=base reward=exatc beta=1";
    check_error_in(it, line, "NameError",
                   "cell:1:26: unknown reward 'exatc' (did you mean 'exact'?)", line,
                   "                         ^");
    line = "%tilt t from=base reward=exact beta=0";
    check_error_in(it, line, "ValueError", "cell:1:37: 'beta' must be > 0", line,
                   "                                    ^");
    line = "%tilt t from=base reward=exact beta=-0.5";
    check_error_in(it, line, "ValueError", "cell:1:37: 'beta' must be > 0", line,
                   "                                    ^");
    line = "%tilt t from=base reward=tri_r beta=1";
    check_error_in(it, line, "ValueError",
                   "cell:1:26: reward 'tri_r' reads feature 'outcome', which task features "
                   "(correct, partial, length, format, eos) do not include",
                   line, "                         ^");
    line = "%tilt t from=base reward=exact";
    check_error_in(it, line, "ValueError", "cell:1:2: missing required key 'beta'", line, " ^");
    line = "%tilt from=base reward=exact beta=1";
    check_error_in(it, line, "ValueError",
                   "cell:1:2: %tilt needs a NAME: %tilt NAME from=BASE reward=R beta=B", line,
                   " ^");
}

/* Every text/plain of a cell's output (stream text and display data), malloc'ed. */
static char *all_text(const char *code)
{
    run r;
    exec_in(it, &r, code, NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    size_t n = 0;
    char *s = calloc(1, 1);
    for (int i = 0; i < rec_count(&r.m); i++) {
        const char *t = rec_str(&r.m, i, "text");
        cJSON *data = cJSON_GetObjectItem(rec_content(&r.m, i), "data");
        cJSON *pl = data ? cJSON_GetObjectItem(data, "text/plain") : NULL;
        if (!t && pl && cJSON_IsString(pl)) t = pl->valuestring;
        if (!t) continue;
        s = realloc(s, n + strlen(t) + 1);
        memcpy(s + n, t, strlen(t) + 1);
        n += strlen(t);
    }
    done(&r);
    return s;
}

/* Defined, listed with its lineage, usable where it is only read, refused where weights
 * are needed. */
static void test_define_use_refuse(void **st)
{
    (void)st;
    char *out = ok_in(it, "%tilt t_half from=base reward=exact beta=0.5");
    assert_non_null(strstr(out, "policy t_half: tilt: base e^{exact/0.5} / Z on a1"));
    free(out);
    out = ok_in(it, "%who t_half");
    assert_non_null(strstr(out, "made = %tilt t_half"));
    assert_non_null(strstr(out, "from=base"));
    assert_non_null(strstr(out, "reward=exact"));
    assert_non_null(strstr(out, "beta=0.5"));
    free(out);
    /* %eval: a row per policy; %sample: completions with log-probs under the tilt */
    out = all_text("%eval t_half base n=64 k=2");
    assert_non_null(strstr(out, "t_half"));
    assert_non_null(strstr(out, "base"));
    free(out);
    out = all_text("%sample t_half n=3");
    assert_non_null(strstr(out, "<add>"));
    free(out);
    /* a tilt has tables for its own task's prompts only */
    check_error_in(it, "%%opd x\nfrom = base2\nteacher = t_half\nsteps = 2", "ValueError",
                   "cell:3:11: 't_half' is a tilt over the prompts of task 'a1', not of task "
                   "'a2' (define a tilt with task = a2)",
                   "teacher = t_half", "          ^");
    const char *line = "%eval t_half task=a2";
    check_error_in(it, line, "ValueError",
                   "cell:1:7: 't_half' is a tilt over the prompts of task 'a1', not of task "
                   "'a2' (define a tilt with task = a2)",
                   line, "      ^");
    /* a base that is a tilt */
    line = "%tilt t2 from=t_half reward=exact beta=1";
    check_error_in(it, line, "ValueError",
                   "cell:1:15: 't_half' is a tilt; the base of a tilt must be a policy with "
                   "weights (tilt its base with beta' = 1 / (1/beta + 1/beta2) instead)",
                   line, "              ^");
    check_error_in(it, "%%rl x\nfrom = t_half\nreward = exact\nsteps = 2", "ValueError",
                   "cell:2:8: from = t_half: 't_half' is a tilt model without weights (made by "
                   "%tilt): it cannot be trained or copied; use it as a teacher or reference, "
                   "in %eval or %sample",
                   "from = t_half", "       ^");
    check_error_in(it, "%%opd x\nfrom = t_half\nteacher = base\nsteps = 2", "ValueError",
                   "cell:2:8: from = t_half: 't_half' is a tilt model without weights (made by "
                   "%tilt): it cannot be trained or copied; use it as a teacher or reference, "
                   "in %eval or %sample",
                   "from = t_half", "       ^");
    check_error_in(it, "%%policy x\nfrom = t_half", "ValueError",
                   "cell:2:8: from = t_half: 't_half' is a tilt model without weights (made by "
                   "%tilt): it cannot be trained or copied; use it as a teacher or reference, "
                   "in %eval or %sample",
                   "from = t_half", "       ^");
    line = "%save t_half /tmp/never_written.pol";
    check_error_in(it, line, "ValueError",
                   "cell:1:7: policy 't_half' is a tilt model without weights (made by %tilt): "
                   "%save cannot store it; save its base and re-run the %tilt line",
                   line, "      ^");
}

/* %%opd with teacher = the tilt (and reference = the tilt) end to end; a re-run of the
 * same cell gives the same student (its samples and log-probs, to the printed digit). */
static void test_opd_with_tilt_teacher_deterministic(void **st)
{
    (void)st;
    free(ok_in(it, "%tilt tt from=base reward=exact beta=0.25"));
    const char *cell = "%%opd st\nfrom = base\nteacher = tt\nlambda = 2\nestimator = full\n"
                       "steps = 4\nbatch = 8\neval_every = 2\neval_prompts = 32";
    char *s[2];
    for (int k = 0; k < 2; k++) {
        free(ok_in(it, cell));
        s[k] = all_text("%sample st n=4 temperature=1");
    }
    assert_true(strlen(s[0]) > 40); /* samples with their log-probs, not an empty output */
    assert_string_equal(s[0], s[1]);
    /* and it trained toward the teacher: st differs from base on the same draws */
    char *b = all_text("%sample base n=4 temperature=1");
    assert_string_not_equal(strstr(b, "<add>"), strstr(s[0], "<add>"));
    free(b);
    free(s[0]), free(s[1]);
    /* the sampled estimator, and the tilt as the reference */
    free(ok_in(it, "%%opd st2\nfrom = base\nteacher = tt\nreference = tt\nsteps = 3\n"
                   "batch = 8\neval_every = 0"));
    char *w = ok_in(it, "%who");
    assert_non_null(strstr(w, "st2"));
    free(w);
    /* the tilt as the frozen reference of %%rl (KL to the tilt) */
    free(ok_in(it, "%%rl rt\nfrom = base\nreward = exact\nreference = tt\nkl = 0.5\n"
                   "batch = 2\ngroup = 2\nsteps = 2\neval_every = 0"));
    /* the restricted target: full estimator only; a restricted run trains and says so */
    check_error_in(it, "%%opd x\nfrom = base\nteacher = tt\ntarget_top_k = 3", "ValueError",
                   "cell:4:16: target_top_k / target_top_p restrict the full estimator's "
                   "target and need estimator = full (the sampled estimator has no target "
                   "distribution)",
                   "target_top_k = 3", "               ^");
    check_error_in(it, "%%opd x\nfrom = base\nteacher = tt\nestimator = full\ntarget_top_p = 0",
                   "ValueError", "cell:5:16: 'target_top_p' must be in (0, 1]", "target_top_p = 0",
                   "               ^");
    char *r = all_text("%%opd st3\nfrom = base\nteacher = tt\nlambda = 4\nestimator = full\n"
                       "target_top_k = 4\ntarget_top_p = 0.9\nsteps = 3\nbatch = 8\n"
                       "eval_every = 0");
    free(r);
    w = ok_in(it, "%who st3");
    assert_non_null(strstr(w, "target restricted to the teacher's top-k 4, top-p 0.9"));
    free(w);
}

/* Multi-teacher routing: two tilts over a mix task (the prompts of a mix are its own),
 * one per domain. */
static void test_routed_tilts(void **st)
{
    (void)st;
    free(ok_in(it, "%task s2 sort length=2"));
    free(ok_in(it, "%task mx2 mix tasks=[a1, s2]"));
    free(ok_in(it, "%%policy mb\ntask = mx2\nsft_steps = 20\nembed = 8\nhidden = 32\nbatch = 32"));
    free(ok_in(it, "%tilt ta from=mb reward=exact beta=0.5"));
    free(ok_in(it, "%tilt tb from=mb reward=exact beta=2"));
    char *out = all_text("%%opd mst\nfrom = mb\nteacher = {a1: ta, s2: tb}\nsteps = 2\n"
                         "batch = 8\neval_every = 0");
    assert_non_null(strstr(out, "teacher {a1: ta, s2: tb}"));
    free(out);
    /* a tilt and a policy with weights cannot share the teachers' workspace */
    check_error_in(it, "%%opd x\nfrom = mb\nteacher = {a1: ta, s2: mb}", "ValueError",
                   "cell:3:24: the teachers of a map need the same architecture: 'mb' is a policy "
                   "with weights, 'ta' a tilt",
                   "teacher = {a1: ta, s2: mb}", "                       ^");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_define_use_refuse),
        cmocka_unit_test(test_opd_with_tilt_teacher_deterministic),
        cmocka_unit_test(test_routed_tilts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
