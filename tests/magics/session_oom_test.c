/* Fault injection over whole cells (the promise of design.md: "a failing cell leaves the
 * session exactly as it was").  Every allocation of magics/ and runtime/ goes through
 * rt_alloc; for each cell below, in a fresh session holding the objects the cell needs,
 * the Nth allocation of the cell is made to fail, for every N up to the count the cell
 * makes (every N up to 400, then a stride).  The cell must end, either successfully or
 * with an error; when it ends with an error, %who and %runs print what they printed
 * before it, plus at most what its own training points left by design: the record of
 * runs that failed while training (shown "(failed)") and the sweep points that finished
 * (named after the cell): nothing existing is replaced or lost, nothing is half-made.  The sanitizer build runs this too (leaks, use after free).  The
 * allocations of magics/lang's arena have their own hook (parse_test, robustness_test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <unistd.h>

#include "interp_harness.h"
#include "rt_alloc.h"

/* the session every cell starts from: a task, a reward, two tiny trained policies */
static const char *const setup_cells[] = {
    "%task t add digits=1",
    "%%reward r c=0.01\ncorrect - c * length",
    "%%policy base\ntask = t\nhidden = 16\nsft_steps = 4\nbatch = 8",
    "%%policy big\ntask = t\nhidden = 24\nsft_steps = 4\nbatch = 8",
};

static const char *const cells[] = {
    "%task u reverse length=2",
    "%task t reverse length=2", /* redefines t: base and big keep the old one as t.2 */
    "%%reward q\ncorrect - 0.5 * length",
    "%%policy p\ntask = t\nhidden = 16\nsft_steps = 3\nbatch = 8",
    "%%policy c\nfrom = base", /* a copy: no training, no chart */
    "%%rl tuned\nfrom = base\nreward = r\nsteps = 2\nbatch = 4\ngroup = 2",
    "%%rl sw\nfrom = base\nreward = r\nsteps = 2\nbatch = 4\ngroup = 2\nseed = [1, 2]",
    "%%opd d\nfrom = base\nteacher = big\nsteps = 2\nbatch = 4",
    "%%preferences pr\nfrom = base\nlabeler = r\npairs = 8\nper_prompt = 3",
    "%%preferences pf\nfile = prefs.jsonl\ntask = t",
    "%eval base",
    "%sample base n=2",
    "%runs",
    "%plot base",
    /* files written by write_files() in the test's own directory */
    "%save base saved.pol",
    "%load l base.pol",  /* binds to the session's task t */
    "%load l other.pol", /* re-creates task v */
    "%load l clash.pol", /* a different task t: defined as t.2 */
    "%del base r",
    "%who base",
    "%reset",
};

/* policy files for the %load cells: base.pol (task t as in the setup), other.pol (task
 * v reverse length=2, absent from the setup) and clash.pol (task t add digits=2) */
static void write_files(void)
{
    static const char *const make[] = {
        "%save base base.pol",
        "%task v reverse length=2",
        "%%policy g\ntask = v\nhidden = 16\nsft_steps = 1\nbatch = 8",
        "%save g other.pol",
        "%task t add digits=2",
        "%save g clash.pol", /* g on t: rebind g's task by loading it with t defined */
    };
    krn_interp *it = mag_interp_new();
    assert_non_null(it);
    for (size_t i = 0; i < sizeof setup_cells / sizeof setup_cells[0]; i++)
        free(ok_in(it, setup_cells[i]));
    for (size_t i = 0; i < 4; i++)
        free(ok_in(it, make[i]));
    free(ok_in(it, "%%policy h\ntask = t\nhidden = 16\nsft_steps = 1\nbatch = 8"));
    free(ok_in(it, make[4]));
    free(ok_in(it, "%save h clash.pol"));
    free(ok_in(it, "%%preferences pw\nfrom = base\nlabeler = r\npairs = 4"));
    free(ok_in(it, "%export prefs.jsonl pw"));
    mag_interp_free(it);
}

static char *state_text(krn_interp *it)
{
    run r;
    exec_in(it, &r, "%who\n%runs", NULL);
    char *s = stdout_text(&r);
    done(&r);
    return s;
}

/* s with every run of spaces made one (column widths follow the longest name) */
static char *squeeze(const char *s)
{
    char *d = malloc(strlen(s) + 1), *o = d;
    for (; *s; s++)
        if (*s != ' ' || o == d || o[-1] != ' ') *o++ = *s;
    *o = '\0';
    return d;
}

/* Every line of `before` is in `after`, and every line added is a failed run's (lines
 * compared with runs of spaces squeezed). */
static int only_failed_runs_added(const char *before0, const char *after0, const char *own,
                                  char *why, size_t cap)
{
    char *before = squeeze(before0), *after = squeeze(after0);
    int ok = 0;
    const char *a = after;
    while (*a) {
        const char *e = strchr(a, '\n');
        size_t n = e ? (size_t)(e - a) : strlen(a);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < 511 ? n : 511), a);
        const char *w = line + strspn(line, " ");
        int mine = own[0] && !strncmp(w, own, strlen(own)) &&
                   (w[strlen(own)] == '[' || w[strlen(own)] == ' ');
        if (!strstr(before, line) && !strstr(line, "(failed)") && !mine) {
            snprintf(why, cap, "added: '%s'", line);
            goto out;
        }
        a += n + (e ? 1 : 0);
    }
    const char *b = before;
    while (*b) {
        const char *e = strchr(b, '\n');
        size_t n = e ? (size_t)(e - b) : strlen(b);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(n < 511 ? n : 511), b);
        if (!strstr(after, line)) {
            snprintf(why, cap, "lost: '%s'", line);
            goto out;
        }
        b += n + (e ? 1 : 0);
    }
    ok = 1;
out:
    free(before);
    free(after);
    return ok;
}

static krn_interp *fresh(void)
{
    krn_interp *it = mag_interp_new();
    assert_non_null(it);
    for (size_t i = 0; i < sizeof setup_cells / sizeof setup_cells[0]; i++)
        free(ok_in(it, setup_cells[i]));
    return it;
}

/* the cell on one line, for messages */
static const char *label(const char *code)
{
    static char b[96];
    size_t i = 0;
    for (; code[i] && i < sizeof b - 1; i++)
        b[i] = code[i] == '\n' ? ';' : code[i];
    b[i] = '\0';
    return b;
}

static void one_cell(const char *code)
{
    /* how many allocations the cell makes when nothing fails */
    krn_interp *it = fresh();
    rt_alloc_fail_at(0);
    run r;
    exec_in(it, &r, code, NULL);
    long count = rt_alloc_count();
    if (r.rc != KRN_EXEC_OK) fail_msg("cell fails without injection: %s", label(code));
    done(&r);
    mag_interp_free(it);
    long tried = 0, failed = 0;
    for (long n = 1; n <= count; n += n < 400 ? 1 : count / 100 + 1) {
        it = fresh();
        char *before = state_text(it);
        rt_alloc_fail_at(n);
        exec_in(it, &r, code, NULL);
        rt_alloc_fail_at(0);
        int rc = r.rc;
        done(&r);
        char *after = state_text(it);
        if (rc != KRN_EXEC_OK) {
            failed++;
            char why[600], own[64] = "";
            if (!strncmp(code, "%%", 2)) sscanf(code + 2, "%*s %63s", own);
            if (!only_failed_runs_added(before, after, own, why, sizeof why))
                fail_msg("cell '%s' failed at allocation %ld and changed the session: %s",
                         label(code), n, why);
        }
        free(before);
        free(after);
        mag_interp_free(it);
        tried++;
    }
    print_message("%-60.60s %6ld allocations, %4ld injected, %4ld ended in an error\n",
                  label(code), count, tried, failed);
}

static void all_cells(void **st)
{
    (void)st;
    char dir[64] = "/tmp/session_oom_XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    write_files();
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        one_cell(cells[i]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    /* final frames keep their SVG: rasterizing a PNG at every one of the ~2,000 injected
       runs was most of this test's time (39 s of 40 in a plain build), and the PNG path
       has its own tests (png_svg_test, test_nbconvert_png) */
    setenv("RLHF_CHART_PNG", "off", 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(all_cells)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
