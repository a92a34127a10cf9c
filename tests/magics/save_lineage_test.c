/* save_lineage_test.c: issue 12, B11 and B12 through the interpreter.  %save writes the
 * policy's task definition and lineage (format 3) and %load restores them: the task
 * re-created when absent, the session's bound when it has the same definition, the file's
 * defined as NAME.2 when the session's differs; a mix with its domains; lineage noted by a
 * training cell (mag_lineage_note) and shown by %who NAME; %del and %reset; names capped at
 * 64 code points; %help of a name that is a line and a cell magic; exact KLs never shown
 * below 0; pass@k on every row of a mix's %eval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp_harness.h"
#include "mag_lineage.h"
#include "rt_alloc.h"
#include "rt_rl_recipe.h"
#include "rt_model.h"
#include "rt_policy.h"

static krn_interp *it;
static char dir[64];

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    snprintf(dir, sizeof dir, "/tmp/save_lineage_XXXXXX");
    return it && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mag_session *S(void)
{
    return mag_interp_session(it);
}

/* ok_in with printf-style code; frees the output unless has is given (then checks it
 * holds each NULL-terminated string) */
static void ok_has(const char *code, ...)
{
    char *out = ok_in(it, code);
    const char *o = out ? out : "";
    va_list ap;
    va_start(ap, code);
    for (const char *want; (want = va_arg(ap, const char *));) {
        if (!strstr(o, want)) fprintf(stderr, "missing '%s' in:\n%s\n", want, o);
        assert_non_null(strstr(o, want));
    }
    va_end(ap);
    free(out);
}

/* code fails with ename: evalue (traceback not checked) and %who is unchanged */
static void err_is(const char *code, const char *ename, const char *evalue)
{
    char *before = who(it);
    run r;
    exec_in(it, &r, code, NULL);
    int last = rec_count(&r.m) - 1;
    assert_true(last >= 0);
    assert_string_equal(rec_type(&r.m, last), "error");
    assert_string_equal(rec_str(&r.m, last, "ename"), ename);
    assert_string_equal(rec_str(&r.m, last, "evalue"), evalue);
    done(&r);
    char *after = who(it);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* B11: the task travels in the file; %load restores it (or binds, or renames) */
static void test_save_load_task(void **st)
{
    (void)st;
    char f[128], code[512];
    path_of(f, sizeof f, "base.pol");
    ok_has("%reset", NULL);
    ok_has("%task ad add digits=2 noise=0.1", NULL);
    ok_has("%%policy base\ntask = ad\nsft_steps = 2\nbatch = 16", NULL);
    snprintf(code, sizeof code, "%%save base %s", f);
    ok_has(code, "saved policy 'base' (task ad) to ", NULL);
    char *meta = NULL;
    rt_model *m = NULL;
    assert_int_equal(rt_model_load_meta(&m, &meta, f, NULL), 0);
    assert_string_equal(meta, "policy = base\ntask = ad\n"
                              "task.spec = add digits=2 noise=0.1 holdout=0.2\n"
                              "made = %%policy base\n"
                              "settings = task=ad sft_steps=2 batch=16\n");
    rt_model_free(m);
    rt_free(meta);
    /* a fresh session: the task is re-created under its name, %eval works */
    ok_has("%reset", "reset: deleted ", NULL);
    assert_int_equal(mag_session_count(S(), MAG_N_KINDS), 0);
    snprintf(code, sizeof code, "%%load b %s", f);
    ok_has(code, "task ad: task add digits=2 noise=0.1 (from ", "policy b: mlp V=32", "(task ad)",
           NULL);
    assert_non_null(mag_session_get(S(), MAG_TASK, "ad"));
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "b")->task, "ad");
    ok_has("%eval b n=8 k=0", NULL);
    ok_has("%who b", "policy b: mlp", "  task = ad\n", "  loaded = ", "(saved as base)\n", NULL);
    /* the same definition: bound to the session's task, nothing new */
    snprintf(code, sizeof code, "%%load b1 %s", f);
    char *out = ok_in(it, code);
    assert_null(strstr(out, "task ad:"));
    free(out);
    assert_int_equal(mag_session_count(S(), MAG_TASK), 1);
    /* redefining ad keeps the definition b and b1 were loaded with, as ad.2 (one binding
       rule); a file of that old definition then binds to ad.2 */
    ok_has("%task ad sort length=3",
           "redefined task 'ad': what was made with the previous "
           "definition (policies b, b1) keeps it, now named 'ad.2'",
           NULL);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "b")->task, "ad.2");
    snprintf(code, sizeof code, "%%load b2 %s", f);
    ok_has(code,
           "task 'ad' of the session differs from the file's; the policy is bound to the "
           "file's task, defined before as 'ad.2'",
           "(task ad.2)", NULL);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "b2")->task, "ad.2");
    assert_string_equal(mag_session_entry(S(), MAG_TASK, "ad")->summary,
                        "task sort length=3 noise=0");
    snprintf(code, sizeof code, "%%load b3 %s", f);
    ok_has(code, "defined before as 'ad.2'", NULL);
    assert_int_equal(mag_session_count(S(), MAG_TASK), 2);
    /* a mix travels with its domains */
    path_of(f, sizeof f, "mix.pol");
    ok_has("%task mx mix tasks=[ad, add] noise=0.2", NULL);
    ok_has("%%policy pm\ntask = mx\nsft_steps = 1\nbatch = 8", NULL);
    snprintf(code, sizeof code, "%%save pm %s", f);
    ok_has(code, NULL);
    ok_has("%reset", NULL);
    snprintf(code, sizeof code, "%%load pm %s", f);
    ok_has(code, "task mx: task mix", NULL);
    const rt_task *t = mag_session_get(S(), MAG_TASK, "mx");
    assert_non_null(t);
    assert_int_equal(rt_task_n_domains(t), 2);
    assert_string_equal(rt_task_domain_name(t, 0), "ad");
    assert_int_equal(rt_task_prompt_len(rt_task_domain(t, 0)), 5); /* sort length=3 */
    /* a format-2 file (no metadata) loads as before, without a task */
    path_of(f, sizeof f, "old.pol");
    assert_int_equal(
        rt_model_save(&((rt_policy *)mag_session_get(S(), MAG_POLICY, "pm"))->model, f, NULL), 0);
    snprintf(code, sizeof code, "%%load old %s", f);
    ok_has(code, "policy old: mlp", NULL);
    assert_null(mag_session_entry(S(), MAG_POLICY, "old")->task);
    /* loading a directory says so */
    snprintf(code, sizeof code, "%%load d %s", dir);
    char ev[256];
    snprintf(ev, sizeof ev, "cell:1:9: cannot load policy: %s: is a directory, not a policy file",
             dir);
    err_is(code, "RuntimeError", ev);
}

static void free_pol(void *p)
{
    rt_policy_free(p);
}

/* B11: the lineage a training cell notes, saved, and shown after %load */
static void test_lineage(void **st)
{
    (void)st;
    ok_has("%reset", NULL);
    ok_has("%task ad add digits=2", NULL);
    ok_has("%%policy base\ntask = ad\nsft_steps = 2\nbatch = 16", NULL);
    /* a cell as the %%rl handler sees it: schema, parse, validate, then the note */
    static const mag_key_spec keys[] = {
        {.name = "from", .type = MAG_T_NAME, .object = "policy"},
        {.name = "lr", .type = MAG_T_NUMBER, .flags = MAG_K_SWEEP},
        {.name = "steps", .type = MAG_T_INT},
    };
    static const mag_schema sch = {.magic = "rl", .keys = keys, .nkeys = 3};
    static const char src[] = "%%rl t\nfrom = base\nlr = [1e-4, 3e-4]\nsteps = 5\n";
    mag_parse_opts po = {.body_kind = mag_magic_body_kind};
    mag_cell *cell = NULL;
    mag_config *cfg = NULL;
    mag_diag pd = {0};
    int prc = mag_parse_cell(src, strlen(src), &po, &cell, &pd);
    if (prc) fprintf(stderr, "%s\n", pd.msg);
    assert_int_equal(prc, 0);
    assert_int_equal(mag_validate_cell(&sch, cell, src, strlen(src), &cfg, NULL), 0);
    mag_ctx ctx = {.session = S(), .src = src, .len = strlen(src)};
    /* base's own lineage, as its cell would have noted it */
    mag_lineage_note(&ctx, "policy", 1, "base", NULL, 0);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "base")->lineage,
                        "made = %%policy base\n");
    /* the policy of sweep point 1, stored as the handler stores it, then noted */
    rt_policy *cp = NULL;
    assert_int_equal(rt_policy_copy(&cp, mag_session_get(S(), MAG_POLICY, "base"), NULL), 0);
    assert_int_equal(
        mag_session_put(S(), MAG_POLICY, "t[lr=3e-4]", cp, free_pol, "grpo from base", "ad"), 0);
    mag_lineage_note(&ctx, "rl", 1, "t[lr=3e-4]", cfg, 1);
    static const char want[] = "made = %%rl t[lr=3e-4]\n"
                               "settings = from=base lr=3e-4 steps=5\n"
                               "sources = base\n"
                               "base.made = %%policy base\n";
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "t[lr=3e-4]")->lineage, want);
    mag_config_free(cfg);
    mag_cell_free(cell);
    ok_has("%who t[lr=3e-4]",
           "policy t[lr=3e-4]: grpo from base\n  task = ad\n  made = %%rl "
           "t[lr=3e-4]\n  settings = from=base lr=3e-4 steps=5\n  sources = base\n",
           NULL);
    ok_has("?t[lr=3e-4]", NULL);
    /* saved and loaded: the lineage comes back under "loaded = FILE (saved as NAME)" */
    char f[128], code[512];
    path_of(f, sizeof f, "t.pol");
    snprintf(code, sizeof code, "%%save t[lr=3e-4] %s", f);
    ok_has(code, NULL);
    ok_has("%reset", NULL);
    snprintf(code, sizeof code, "%%load again %s", f);
    ok_has(code, "policy again: ",
           "\n  made = %%rl t[lr=3e-4]\n  settings = from=base lr=3e-4 "
           "steps=5\n  sources = base\n  base.made = %%policy base\n",
           NULL);
    char loaded[600];
    snprintf(loaded, sizeof loaded, "loaded = %s (saved as t[lr=3e-4])\n%s", f, want);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "again")->lineage, loaded);
    /* a policy trained from the loaded one names the file in its history */
    assert_int_equal(rt_policy_copy(&cp, mag_session_get(S(), MAG_POLICY, "again"), NULL), 0);
    assert_int_equal(mag_session_put(S(), MAG_POLICY, "next", cp, free_pol, "", "ad"), 0);
    static const char src2[] = "%%rl next\nfrom = again\n";
    assert_int_equal(mag_parse_cell(src2, strlen(src2), &po, &cell, NULL), 0);
    assert_int_equal(mag_validate_cell(&sch, cell, src2, strlen(src2), &cfg, NULL), 0);
    ctx.src = src2, ctx.len = strlen(src2);
    mag_lineage_note(&ctx, "rl", 1, "next", cfg, 0);
    snprintf(loaded, sizeof loaded,
             "made = %%%%rl next\nsettings = from=again\nsources = again\n"
             "again.made = %%%%rl t[lr=3e-4]\nagain.loaded = %s (saved as t[lr=3e-4])\n",
             f);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "next")->lineage, loaded);
    mag_config_free(cfg);
    mag_cell_free(cell);
}

/* %del and %reset */
static void test_del_reset(void **st)
{
    (void)st;
    ok_has("%reset", NULL);
    ok_has("%seed 7\n%threads 1", NULL);
    ok_has("%task ad add digits=2\n%task so sort length=3", NULL);
    ok_has("%%policy p\ntask = ad\nsft_steps = 1\nbatch = 8", NULL);
    assert_non_null(mag_session_get(S(), MAG_RUN, "p"));
    /* an unknown name deletes nothing */
    err_is("%del so pp", "NameError", "cell:1:9: no object named 'pp' (did you mean 'p'?)");
    err_is("%del so kind=run", "NameError", "cell:1:6: no run named 'so'");
    err_is("%del so kind=tasks", "ValueError",
           "cell:1:14: kind must be task, policy, reward, debate, run, preferences or rm, got "
           "'tasks'");
    err_is("%del", "TypeError",
           "cell:1:1: %del needs the names to delete: %del NAME... [kind=KIND]");
    ok_has("%del p kind=run", "deleted run 'p'\n", NULL);
    assert_non_null(mag_session_get(S(), MAG_POLICY, "p"));
    assert_null(mag_session_get(S(), MAG_RUN, "p"));
    ok_has("%%policy p\ntask = ad\nsft_steps = 1\nbatch = 8", NULL);
    ok_has("%del p so", "deleted policy 'p', run 'p', task 'so'\n", NULL);
    ok_has("%%policy q\ntask = ad\nsft_steps = 1\nbatch = 8", NULL);
    ok_has("%del ad", "deleted task 'ad'\nq still names task 'ad'\n", NULL);
    assert_int_equal(mag_session_count(S(), MAG_N_KINDS), 2) /* policy q and run q */;
    ok_has("%reset", "reset: deleted 2 objects; kept seed 7, threads 1 and numerics\n", NULL);
    assert_int_equal(mag_session_count(S(), MAG_N_KINDS), 0);
    assert_int_equal(mag_session_seed(S()), 7);
    assert_int_equal(mag_session_threads(S()), 1);
    ok_has("%who", "no objects defined", NULL);
    err_is("%reset now", "TypeError", "cell:1:8: %reset takes no arguments");
    err_is("%who nothing", "NameError", "cell:1:6: no object named 'nothing' (%who lists them)");
    ok_has("%seed 0", NULL);
}

/* B12: a name longer than 64 code points is an error at the name */
static void test_name_limit(void **st)
{
    (void)st;
    ok_has("%reset", NULL);
    char code[400], name[200];
    memset(name, 'a', 65);
    name[65] = 0;
    snprintf(code, sizeof code, "%%task %s add", name);
    err_is(code, "ValueError", "cell:1:7: a name of 65 characters is too long (at most 64)");
    snprintf(code, sizeof code, "%%load %s /dev/null", name);
    err_is(code, "ValueError", "cell:1:7: a name of 65 characters is too long (at most 64)");
    /* 64 code points (multi-byte ones too) are fine */
    name[0] = 0;
    for (int i = 0; i < 32; i++)
        strcat(name, "\xc3\xa9"
                     "e");
    snprintf(code, sizeof code, "%%task \"%s\" add", name);
    ok_has(code, NULL);
    char msg[128];
    assert_int_equal(mag_name_check(name, msg, sizeof msg), 0);
    strcat(name, "x");
    assert_int_equal(mag_name_check(name, msg, sizeof msg), -1);
    assert_string_equal(msg, "a name of 65 characters is too long (at most 64)");
}

/* B12: %help NAME of a name that is both a line and a cell magic shows both */
static void test_help_both(void **st)
{
    (void)st;
    char *t = mag_help_text(S(), "debate", NULL);
    assert_non_null(t);
    const char *line = strstr(t, "%debate "), *cell = strstr(t, "%%debate ");
    assert_non_null(line);
    assert_non_null(cell);
    assert_true(line < cell);
    rt_free(t);
    t = mag_help_text(S(), "%debate", NULL); /* one percent: the line magic only */
    assert_null(strstr(t, "%%debate "));
    rt_free(t);
    t = mag_help_text(S(), "%%debate", NULL);
    assert_true(strncmp(t, "%%debate ", 9) == 0);
    rt_free(t);
}

/* %help ALGO: every algorithm of %%rl states its source and equations; %help algos lists
 * them all */
static void test_help_recipes(void **st)
{
    (void)st;
    char *all = mag_help_text(S(), "algos", NULL);
    assert_non_null(all);
    for (int i = 0; i < rt_rl_recipe_count(); i++) {
        const rt_rl_recipe *r = rt_rl_recipe_at(i);
        assert_non_null(r->paper);
        assert_non_null(r->eq);
        char line[64];
        snprintf(line, sizeof line, "\n  %-10s ", r->name);
        assert_non_null(strstr(all, line));
        char *t = mag_help_text(S(), r->name, NULL);
        assert_non_null(t);
        assert_non_null(strstr(t, r->paper));
        assert_non_null(strstr(t, r->eq));
        assert_non_null(strstr(t, "Parts (each a key of %%rl): advantage = "));
        rt_free(t);
    }
    rt_free(all);
    char *t = mag_help_text(S(), "gspo", NULL);
    assert_non_null(strstr(t, "ratio = sequence"));
    assert_non_null(strstr(t, "clip_low = 0.0003, clip_high = 0.0004"));
    rt_free(t);
    t = mag_help_text(S(), "dapo", NULL);
    assert_non_null(strstr(t, "arXiv 2503.14476"));
    assert_non_null(strstr(t, "clip_low = 0.2, clip_high = 0.28,\nminibatches = min(16, batch), "
                              "filter_groups = true; group >= 2.\n"));
    rt_free(t);
}

/* B12: the exact KL is never shown below 0 (float noise at a tiny lr gave -2e-8) */
static void test_kl_never_negative(void **st)
{
    (void)st;
    ok_has("%reset", NULL);
    ok_has("%task ad add digits=2", NULL);
    ok_has("%%policy base\ntask = ad\nsft_steps = 100", NULL);
    ok_has("%%reward exact\ncorrect", NULL);
    ok_has("%%rl r\nfrom = base\nreward = exact\nsteps = 4\nlr = 1e-7\nseed = [1, 2]", NULL);
    ok_has("%%opd o\nfrom = base\nteacher = base\nsteps = 3\nlr = 1e-7\nseed = [1, 2]", NULL);
    char f[128], code[256];
    path_of(f, sizeof f, "kl.csv");
    snprintf(code, sizeof code, "%%export %s r[seed=1] r[seed=2] o[seed=1] o[seed=2]", f);
    ok_has(code, NULL);
    FILE *fp = fopen(f, "r");
    assert_non_null(fp);
    char hdr[1024], row[4096];
    assert_non_null(fgets(hdr, sizeof hdr, fp));
    int cols[3], nc = 0, c = 0;
    for (char *tok = strtok(hdr, ",\n"); tok; tok = strtok(NULL, ",\n"), c++)
        if (!strcmp(tok, "kl_ref") || !strcmp(tok, "kl_teacher")) cols[nc++] = c;
    assert_int_equal(nc, 2);
    int rows = 0;
    while (fgets(row, sizeof row, fp)) {
        c = 0;
        for (char *p = row, *e; p; p = e ? e + 1 : NULL, c++) {
            e = strchr(p, ',');
            for (int j = 0; j < nc; j++)
                if (c == cols[j] && p[0] != ',' && strncmp(p, "nan", 3)) {
                    double v = strtod(p, NULL);
                    if (v < 0) fprintf(stderr, "negative KL %g in: %s", v, row);
                    assert_true(v >= 0);
                }
        }
        rows++;
    }
    fclose(fp);
    assert_true(rows >= 12);
}

/* B12: every row of a mix's %eval has its pass@k */
static void test_eval_mix_pass_k(void **st)
{
    (void)st;
    ok_has("%reset", NULL);
    ok_has("%task ad add digits=1\n%task so sort length=2\n%task mx mix tasks=[ad, so]", NULL);
    ok_has("%%policy p\ntask = mx\nsft_steps = 200", NULL);
    run r;
    exec_in(it, &r, "%eval p k=4 n=64", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    const char *t = plain(&r, 0);
    /* task prompts greedy avg@4 pass@4: no row ends in an empty column */
    const char *rows[] = {"\nad ", "\nso ", "\nall "};
    for (int i = 0; i < 3; i++) {
        const char *l = strstr(t, rows[i]);
        assert_non_null(l);
        const char *e = strchr(l + 1, '\n');
        size_t n = e ? (size_t)(e - l - 1) : strlen(l + 1);
        char line[200];
        snprintf(line, sizeof line, "%.*s", (int)n, l + 1);
        int words = 0;
        for (char *w = strtok(line, " "); w; w = strtok(NULL, " "))
            words++;
        if (words != 5) fprintf(stderr, "row: '%.*s'\n", (int)n, l + 1);
        assert_int_equal(words, 5);
    }
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load_task),    cmocka_unit_test(test_lineage),
        cmocka_unit_test(test_del_reset),         cmocka_unit_test(test_name_limit),
        cmocka_unit_test(test_help_both),         cmocka_unit_test(test_help_recipes),
        cmocka_unit_test(test_kl_never_negative), cmocka_unit_test(test_eval_mix_pass_k),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
