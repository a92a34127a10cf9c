/* slurm_test: magics/mag_slurm.h without a Slurm — sbatch's --time forms that
 * mag_slurm_time_check takes and refuses; submit.sh for a directory whose path needs
 * quoting in bash ('$', '&', '(') and holds a '%' (doubled in --output); a path sbatch's
 * #SBATCH lines cannot hold; and sbatch / scancel as child processes, with fakes first in
 * PATH: the job id of "123" and of "123;cluster" (written to DIR/slurm-job), output without
 * a job id, a failing sbatch (its status and last stderr line), sbatch and scancel absent,
 * scancel's arguments and its failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mag_slurm.h"

static char tmp[256], bin[300], saved_path[8192];

/* the whole file at path, NUL-terminated, into out[cap] */
static void slurp(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* writes an executable script bin/NAME */
static void fake(const char *name, const char *body)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", bin, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/slurm_test.XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    mkdir(bin, 0755);
    const char *p = getenv("PATH");
    snprintf(saved_path, sizeof saved_path, "%s", p ? p : "/usr/bin:/bin");
    char path[9000];
    snprintf(path, sizeof path, "%s:%s", bin, saved_path);
    setenv("PATH", path, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    setenv("PATH", saved_path, 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void time_forms(void **state)
{
    (void)state;
    static const char *const good[] = {"00:10",    "5:00",      "90:00",      "1:00:00",
                                       "02:00:00", "100:00:00", "1-00:00:00", "7-23:59:59"};
    static const char *const bad[] = {
        "",        "10",       "1:2",        "10:60", "1:60:00",      "1:00:0",   "1-24:00:00",
        "1-00:00", "-1:00:00", "1:00:00:00", "a:00",  "1-2-00:00:00", "1:00:00 ", "1234567:00"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(mag_slurm_time_check(good[i]), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (mag_slurm_time_check(bad[i]) != -1) fail_msg("'%s' was taken", bad[i]);
    }
}

static void script_quoting(void **state)
{
    (void)state;
    char dir[400], err[600], got[4096], want[4096], exe[1024];
    snprintf(dir, sizeof dir, "%s/j$(x)&%%1", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    mag_slurm_opts o = {NULL, 0, NULL};
    assert_int_equal(mag_slurm_write(dir, 1, &o, err, sizeof err), 0);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    char path[500];
    snprintf(path, sizeof path, "%s/submit.sh", dir);
    slurp(path, got, sizeof got);
    snprintf(want, sizeof want,
             "#SBATCH --job-name=j$(x)&%%1\n"
             "#SBATCH --array=0-0\n"
             "#SBATCH --output=%s/j$(x)&%%%%1/slurm-%%A_%%a.out\n"
             "# one CPU per task: a point trains on one thread\n"
             "#SBATCH --cpus-per-task=1\n"
             "srun %s worker '%s/j$(x)&%%1' --point \"$SLURM_ARRAY_TASK_ID\"\n",
             tmp, exe, tmp);
    assert_non_null(strstr(got, "# rlhf-kernel: the 1 point of this job directory"));
    assert_string_equal(strstr(got, "#SBATCH"), want);
    /* sbatch reads #SBATCH lines itself: no blank or quote there */
    snprintf(dir, sizeof dir, "%s/a b", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mag_slurm_write(dir, 2, &o, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s/a b holds a blank, a quote or a backslash, which sbatch's #SBATCH --output "
             "cannot take: use %%executor slurm dir=PATH without them",
             tmp);
    assert_string_equal(err, want);
    assert_int_equal(mag_slurm_write("/nonexistent/x", 2, &o, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x: No such file or directory");
}

static void submit_and_cancel(void **state)
{
    (void)state;
    char dir[400], id[32], err[600], got[1024], want[1024], path[500];
    snprintf(dir, sizeof dir, "%s/job", tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    mag_slurm_opts o = {"debug", 3, "10:00"};
    assert_int_equal(mag_slurm_write(dir, 4, &o, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/submit.sh", dir);
    slurp(path, got, sizeof got);
    assert_non_null(strstr(got, "#SBATCH --array=0-3%3\n#SBATCH --partition=debug\n"
                                "#SBATCH --time=10:00\n#SBATCH --output="));
    /* "123": the id, also in DIR/slurm-job; the arguments sbatch got */
    char body[1200];
    snprintf(body, sizeof body, "echo \"$@\" > '%s/args'\necho 123\n", tmp);
    fake("sbatch", body);
    assert_int_equal(mag_slurm_available(), 1);
    assert_int_equal(mag_slurm_submit(dir, id, sizeof id, err, sizeof err), 0);
    assert_string_equal(id, "123");
    snprintf(path, sizeof path, "%s/slurm-job", dir);
    slurp(path, got, sizeof got);
    assert_string_equal(got, "123\n");
    snprintf(path, sizeof path, "%s/args", tmp);
    slurp(path, got, sizeof got);
    snprintf(want, sizeof want, "--parsable %s/submit.sh\n", dir);
    assert_string_equal(got, want);
    /* "123;cluster" (a federation) */
    fake("sbatch", "echo '77;cl1'\n");
    assert_int_equal(mag_slurm_submit(dir, id, sizeof id, err, sizeof err), 0);
    assert_string_equal(id, "77");
    /* no job id */
    fake("sbatch", "echo 'Submitted batch job 5'\n");
    assert_int_equal(mag_slurm_submit(dir, id, sizeof id, err, sizeof err), -1);
    assert_string_equal(err, "sbatch printed no job id (got 'Submitted batch job 5')");
    /* failing: its status and its last line of stderr */
    fake("sbatch", "echo first >&2\necho 'sbatch: error: invalid partition' >&2\nexit 3\n");
    assert_int_equal(mag_slurm_submit(dir, id, sizeof id, err, sizeof err), -1);
    assert_string_equal(err, "sbatch exited with status 3: sbatch: error: invalid partition");
    /* scancel: its arguments; failing */
    snprintf(body, sizeof body, "echo \"$@\" > '%s/cargs'\n", tmp);
    fake("scancel", body);
    assert_int_equal(mag_slurm_cancel("123", err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/cargs", tmp);
    slurp(path, got, sizeof got);
    assert_string_equal(got, "123\n");
    fake("scancel", "echo 'scancel: error: Invalid job id 9' >&2\nexit 1\n");
    assert_int_equal(mag_slurm_cancel("9", err, sizeof err), -1);
    assert_string_equal(err, "scancel exited with status 1: scancel: error: Invalid job id 9");
    /* absent: PATH without them */
    setenv("PATH", bin, 1);
    snprintf(path, sizeof path, "%s/sbatch", bin);
    unlink(path);
    snprintf(path, sizeof path, "%s/scancel", bin);
    unlink(path);
    assert_int_equal(mag_slurm_available(), 0);
    assert_int_equal(mag_slurm_submit(dir, id, sizeof id, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "sbatch is not in PATH (no Slurm here): run `sbatch %s/submit.sh` on the cluster's "
             "login node",
             dir);
    assert_string_equal(err, want);
    assert_int_equal(mag_slurm_cancel("9", err, sizeof err), -1);
    assert_string_equal(err, "scancel is not in PATH (no Slurm here)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_forms),
        cmocka_unit_test(script_quoting),
        cmocka_unit_test(submit_and_cancel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
