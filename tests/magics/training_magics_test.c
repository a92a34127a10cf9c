/* The training-side magics through the interpreter and a recording sink: %task output
 * and errors, %%policy with a tiny SFT (policy and run stored, frames then summary),
 * sweep naming NAME[key=value], errors before training, %eval / %sample tables,
 * %runs, %plot, %export CSV content exactness and errors, %save / %load round trip and
 * corrupt / truncated files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krn_display.h"
#include "mag_interp.h"
#include "mag_session.h"
#include "rt_policy.h"
#include "rt_run.h"

typedef struct msgs {
    pthread_mutex_t mu;
    cJSON *arr;
} msgs;

static void pub(void *s, const char *type, cJSON *content)
{
    msgs *m = s;
    pthread_mutex_lock(&m->mu);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToObject(e, "content", content);
    cJSON_AddItemToArray(m->arr, e);
    pthread_mutex_unlock(&m->mu);
}

static const krn_sink_vtable vt = {pub, NULL};
static krn_interp *it;
static msgs M;
static char tmpdir[64];

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/training_magics_XXXXXX");
    return it && mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Executes code; returns the number of messages (M.arr holds them until the next call). */
static int exec(const char *code)
{
    cJSON_Delete(M.arr);
    M.arr = cJSON_CreateArray();
    pthread_mutex_init(&M.mu, NULL);
    krn_out *o = krn_out_new(&vt, &M, NULL, 1, false);
    it->vt->execute(it->self, o, code, 1);
    krn_out_finish(o);
    krn_out_free(o);
    return cJSON_GetArraySize(M.arr);
}

static const char *type_of(int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(M.arr, i), "type")->valuestring;
}

static cJSON *content(int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(M.arr, i), "content");
}

static const char *mime(int i, const char *m)
{
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(content(i), "data"), m);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The error's evalue, or NULL when the cell did not fail. */
static const char *error_value(void)
{
    for (int i = 0; i < cJSON_GetArraySize(M.arr); i++)
        if (!strcmp(type_of(i), "error"))
            return cJSON_GetObjectItem(content(i), "evalue")->valuestring;
    return NULL;
}

/* All stdout text. */
static void stdout_text(char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; i < cJSON_GetArraySize(M.arr); i++)
        if (!strcmp(type_of(i), "stream"))
            strncat(buf, cJSON_GetObjectItem(content(i), "text")->valuestring,
                    cap - strlen(buf) - 1);
}

static mag_session *S(void)
{
    return mag_interp_session(it);
}

static void test_task(void **st)
{
    (void)st;
    int n = exec("%task add add digits=2");
    assert_null(error_value());
    assert_int_equal(n, 1);
    assert_string_equal(type_of(0), "display_data");
    const char *txt = mime(0, "text/plain");
    assert_non_null(txt);
    assert_memory_equal(txt, "add: task add digits=2 noise=0\nvocabulary (32): <pad> <eos> + =",
                        strlen("add: task add digits=2 noise=0\nvocabulary (32): <pad> <eos> + ="));
    assert_non_null(strstr(txt, "prompt length 7, answer at most 4 tokens, 10000 prompts"));
    const char *html = mime(0, "text/html");
    assert_non_null(strstr(html, "<th style=\"text-align:left\">prompt</th>"
                                 "<th style=\"text-align:left\">answer</th>"));
    assert_memory_equal(
        html, "<pre>add: task add digits=2 noise=0\nvocabulary (32): &lt;pad&gt;",
        strlen("<pre>add: task add digits=2 noise=0\nvocabulary (32): &lt;pad&gt;"));
    assert_non_null(strstr(html, "features: correct partial length format eos</pre><table"));
    assert_non_null(mag_session_get(S(), MAG_TASK, "add"));
    /* errors */
    exec("%task t ad digits=2");
    assert_string_equal(error_value(), "cell:1:9: unknown task kind 'ad' (did you mean 'add'?)");
    exec("%task t add digitz=2");
    assert_string_equal(error_value(), "cell:1:13: unknown key 'digitz' (did you mean 'digits'?)");
    exec("%task t add digits=9");
    assert_string_equal(error_value(), "cell:1:20: 'digits' must be in [1, 6]");
    exec("%task m mix tasks=[add, sortt]");
    assert_string_equal(error_value(), "cell:1:25: unknown task 'sortt'");
    /* each kind has its own keys: another kind's key (or an unknown one that is no typo
       of the kind's) is an error at the key naming the kind's keys */
    exec("%task t add features=3");
    assert_string_equal(error_value(),
                        "cell:1:13: add has no key 'features' (its keys: digits, noise, holdout)");
    exec("%task x reverse digits=3");
    assert_string_equal(
        error_value(), "cell:1:17: reverse has no key 'digits' (its keys: length, noise, holdout)");
    exec("%echo a\n%task y reverse noise=0.1 digts=3");
    assert_string_equal(error_value(),
                        "cell:2:27: reverse has no key 'digts' (its keys: length, noise, holdout)");
    exec("%task m mix tasks=[add] conflict=0.5");
    assert_string_equal(error_value(),
                        "cell:1:25: mix has no key 'conflict' (its keys: tasks, noise, holdout)");
    exec("%task x add tasks=[add]");
    assert_string_equal(error_value(),
                        "cell:1:13: add has no key 'tasks' (its keys: digits, noise, holdout)");
    exec("%task m mix tasks=[triage]");
    assert_string_equal(error_value(), "cell:1:20: unknown task 'triage'");
    exec("%task x");
    assert_string_equal(error_value(),
                        "cell:1:7: no task 'x' to show; define it with %task x KIND [key=value "
                        "...] (add, reverse, sort, copy, mix, triage or file) or %task x "
                        "file=PATH");
    exec("%task x bogus");
    assert_string_equal(error_value(), "cell:1:9: unknown task kind 'bogus'; expected add, "
                                       "reverse, sort, copy, mix, triage or file");
    /* nothing was defined by the failing cells */
    assert_null(mag_session_get(S(), MAG_TASK, "x"));
    assert_null(mag_session_get(S(), MAG_TASK, "y"));
    assert_null(mag_session_get(S(), MAG_TASK, "t"));
    assert_null(mag_session_get(S(), MAG_TASK, "m"));
    exec("%task m mix tasks=[add, sort]");
    assert_null(error_value());
    assert_non_null(
        strstr(mime(0, "text/plain"), "task mix tasks=[add digits=2 noise=0, sort length=4"));
}

#define TINY "embed = 8\nhidden = 32\nbatch = 16\neval_every = 10\n"

static void test_policy_sft(void **st)
{
    (void)st;
    exec("%task add add digits=2");
    int n = exec("%%policy p\ntask = add\nsft_steps = 20\n" TINY);
    assert_null(error_value());
    /* chart display, final frame, summary, then the policy line */
    assert_string_equal(type_of(0), "display_data");
    const char *id = cJSON_GetObjectItem(cJSON_GetObjectItem(content(0), "transient"), "display_id")
                         ->valuestring;
    int last_update = -1, summary = -1;
    for (int i = 1; i < n; i++) {
        if (!strcmp(type_of(i), "update_display_data")) {
            last_update = i;
            assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(content(i), "transient"), "display_id")
                    ->valuestring,
                id);
        }
        if (!strcmp(type_of(i), "display_data")) summary = i;
    }
    assert_true(last_update > 0 && summary > last_update);
    assert_non_null(strstr(mime(last_update, "text/plain"), "(step 20)"));
    assert_non_null(strstr(mime(summary, "text/plain"), "run  status    steps   loss"));
    assert_non_null(strstr(mime(summary, "text/plain"), "\np    finished     20  "));
    char out[4096];
    stdout_text(out, sizeof out);
    assert_string_equal(out, "policy p: mlp V=32 K=8 D=8 H=32 L=2 relu, SFT on add (noise 0), "
                             "20 steps\n");
    rt_policy *p = mag_session_get(S(), MAG_POLICY, "p");
    assert_non_null(p);
    assert_int_equal(p->cfg.hidden, 32);
    rt_run *r = mag_session_get(S(), MAG_RUN, "p");
    assert_non_null(r);
    assert_int_equal(rt_run_rows(r), 2);
    assert_string_equal(mag_session_entry(S(), MAG_POLICY, "p")->task, "add");
    /* the same cell again gives the same weights (stream from seed + name) */
    rt_policy *copy = NULL;
    assert_int_equal(rt_policy_copy(&copy, p, NULL), 0);
    exec("%%policy p\ntask = add\nsft_steps = 20\n" TINY);
    stdout_text(out, sizeof out);
    assert_non_null(strstr(out, "replaced policy 'p'"));
    p = mag_session_get(S(), MAG_POLICY, "p");
    assert_memory_equal(p->params.w, copy->params.w, p->params.n * sizeof(float));
    rt_policy_free(copy);
    /* from = copies without training */
    n = exec("%%policy q\nfrom = p\n");
    assert_null(error_value());
    assert_int_equal(n, 1);
    rt_policy *q = mag_session_get(S(), MAG_POLICY, "q");
    assert_memory_equal(q->params.w, p->params.w, p->params.n * sizeof(float));
    assert_null(mag_session_get(S(), MAG_RUN, "q"));
}

static void test_policy_sweep_and_errors(void **st)
{
    (void)st;
    exec("%task add add digits=2");
    exec("%%policy s\ntask = add\nsft_steps = 10\nlr = [1e-3, 2e-3]\n" TINY);
    assert_null(error_value());
    assert_non_null(mag_session_get(S(), MAG_POLICY, "s[lr=1e-3]"));
    assert_non_null(mag_session_get(S(), MAG_POLICY, "s[lr=2e-3]"));
    assert_non_null(mag_session_get(S(), MAG_RUN, "s[lr=2e-3]"));
    assert_null(mag_session_get(S(), MAG_POLICY, "s"));
    /* seeds: one band per configuration, one run per seed */
    exec("%%policy b\ntask = add\nsft_steps = 10\nseed = [1, 2]\n" TINY);
    assert_null(error_value());
    assert_non_null(mag_session_get(S(), MAG_RUN, "b[seed=1]"));
    assert_non_null(mag_session_get(S(), MAG_RUN, "b[seed=2]"));
    /* %plot groups seeds into one band: the legend has b once, with a spread */
    exec("%plot b[seed=1] b[seed=2] metric=loss");
    assert_null(error_value());
    const char *pt = mime(0, "text/plain");
    assert_memory_equal(pt, "loss\n  b  ", 9);
    assert_non_null(strstr(pt, " ± "));
    assert_null(strstr(pt, "seed"));
    size_t before = mag_session_count(S(), MAG_N_KINDS);
    exec("%%policy e\ntask = ad\n");
    assert_string_equal(error_value(), "cell:2:8: unknown task 'ad' (did you mean 'add'?)");
    exec("%%policy e\nfrom = nope\n");
    assert_string_equal(error_value(), "cell:2:8: unknown policy 'nope'");
    exec("%%policy e\nfrom = s[lr=1e-3]\nhidden = 8\n");
    assert_string_equal(
        error_value(),
        "cell:3:10: 'hidden' cannot be set with 'from' (the architecture is copied)");
    exec("%%policy e\nhidden = 8\n");
    assert_string_equal(error_value(), "cell:1:3: %%policy e needs task = TASK (or from = POLICY)");
    exec("%%policy e\ntask = add\nhiden = 8\n");
    assert_string_equal(error_value(), "cell:3:1: unknown key 'hiden' (did you mean 'hidden'?)");
    exec("%%policy e\ntask = add\nhidden = 16384\ncontext = 1024\nembed = 4096\n");
    assert_string_equal(error_value(), "cell:3:10: policy 'e' would have 68988567552 parameters "
                                       "(the limit is 50000000; with layers = 2, context = 1024 "
                                       "and embed = 4096, hidden can be at most 11)");
    /* fuzz.md R1: the first layer's table bounds every workspace, whatever the parameters */
    exec("%%policy e\ntask = add\ncontext = 1024\nhidden = 16384\nembed = 1\nlayers = 1\n");
    assert_string_equal(error_value(),
                        "cell:4:10: policy 'e': context x vocabulary x hidden = 1024 x 32 x 16384 "
                        "= 536870912, above the limit of 33554432 (the first layer's table, held "
                        "twice by every workspace)");
    exec("%%policy e\ntask = add\nlr = [1, 2, 3, 4, 5, 6, 7, 8, 9]\nbatch = [1, 2, 3, 4, 5, 6, 7, "
         "8]\n");
    assert_string_equal(error_value(),
                        "cell:1:3: a sweep of 72 points is too large (the limit is 64)");
    assert_int_equal(mag_session_count(S(), MAG_N_KINDS), before);
}

static void test_eval_sample_runs_plot(void **st)
{
    (void)st;
    exec("%task add add digits=2");
    exec("%%policy p\ntask = add\nsft_steps = 20\n" TINY);
    exec("%eval p k=2 n=50");
    assert_null(error_value());
    const char *t = mime(0, "text/plain");
    assert_non_null(strstr(t, "task  prompts  greedy  avg@2  pass@2\nadd        50  "));
    exec("%eval pp");
    assert_string_equal(error_value(), "cell:1:7: unknown policy 'pp' (did you mean 'p'?)");
    exec("%sample p n=2 prompt=\"12+34=\"");
    assert_null(error_value());
    t = mime(0, "text/plain");
    assert_non_null(strstr(t, "prompt       completion"));
    assert_non_null(strstr(t, "<add>12+34="));
    assert_non_null(strstr(t, "46<eos>"));
    exec("%runs");
    assert_null(error_value());
    assert_non_null(strstr(mime(0, "text/plain"), "finished     20  add"));
    exec("%plot p metric=loss smooth=0.5 logy");
    assert_null(error_value());
    assert_non_null(mime(0, "image/png")); /* a final chart: PNG in place of the SVG */
    assert_null(mime(0, "image/svg+xml"));
    assert_null(mime(0, "text/html"));
    exec("%plot p metric=los");
    assert_string_equal(error_value(), "cell:1:16: unknown metric 'los' (did you mean 'loss'?)");
}

static void test_export_csv_exact(void **st)
{
    (void)st;
    static const char *const cols[] = {"step", "loss"};
    rt_run *r;
    assert_int_equal(rt_run_create("hand", cols, 2, &r), 0);
    double rows[3][2] = {{1, 0.5}, {2, NAN}, {3, 0.1}};
    for (int i = 0; i < 3; i++)
        rt_run_append(r, rows[i]);
    assert_true(mag_session_put(S(), MAG_RUN, "hand", r, (void (*)(void *))rt_run_free, "", NULL) >=
                0);
    char code[256], path[128], buf[512];
    snprintf(path, sizeof path, "%s/m.csv", tmpdir);
    snprintf(code, sizeof code, "%%export \"%s\" hand", path);
    exec(code);
    assert_null(error_value());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    assert_string_equal(buf, "run,step,loss\nhand,1,0.5\nhand,2,nan\nhand,3,0.10000000000000001\n");
    snprintf(path, sizeof path, "%s/m.json", tmpdir);
    snprintf(code, sizeof code, "%%export \"%s\" hand", path);
    exec(code);
    assert_null(error_value());
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    cJSON *j = cJSON_Parse(buf);
    cJSON *run0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "runs"), 0);
    assert_string_equal(cJSON_GetObjectItem(run0, "name")->valuestring, "hand");
    assert_true(cJSON_IsNull(
        cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(run0, "rows"), 1), 1)));
    cJSON_Delete(j);
    exec("%export m.txt hand");
    assert_string_equal(
        error_value(),
        "cell:1:9: cannot export to 'm.txt': the file name must end in .csv, .jsonl or .json");
    exec("%export /nonexistent-dir/m.csv hand");
    assert_string_equal(
        error_value(),
        "cell:1:9: cannot write '/nonexistent-dir/m.csv': No such file or directory");
    exec("%export m.csv hnd");
    assert_string_equal(error_value(), "cell:1:15: unknown run 'hnd' (did you mean 'hand'?)");
}

static void read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

/* issue 13 item 8: configuration columns after run (union, empty where a run lacks a
 * key; a key named like a metric as config_KEY; values quoted like names), wall last;
 * JSONL: one object per row with typed configuration values and null for NaN */
static void test_export_config_exact(void **st)
{
    (void)st;
    static const char *const c1[] = {"step", "wall", "reward"};
    static const char *const c2[] = {"step", "loss"};
    rt_run *a, *b;
    assert_int_equal(rt_run_create("cfg[lr=1e-3,seed=1]", c1, 3, &a), 0);
    assert_int_equal(rt_run_create("plain", c2, 2, &b), 0);
    assert_int_equal(rt_run_add_config(a, "lr", "1e-3"), 0);
    assert_int_equal(rt_run_add_config(a, "reward", "a, \"b\""), 0);
    assert_int_equal(rt_run_add_config(a, "seed", "1"), 0);
    assert_int_equal(rt_run_add_config(a, "log", "true"), 0);
    assert_int_equal(rt_run_add_config(a, "algo", "inf"), 0);
    double ra[2][3] = {{1, 0.25, 0.5}, {2, 0.75, NAN}}, rb[2] = {10, 1.5};
    rt_run_append(a, ra[0]);
    rt_run_append(a, ra[1]);
    rt_run_append(b, rb);
    void (*fr)(void *) = (void (*)(void *))rt_run_free;
    assert_true(mag_session_put(S(), MAG_RUN, "cfg[lr=1e-3,seed=1]", a, fr, "", NULL) >= 0);
    assert_true(mag_session_put(S(), MAG_RUN, "plain", b, fr, "", NULL) >= 0);
    char code[256], path[128], buf[2048];
    snprintf(path, sizeof path, "%s/c.csv", tmpdir);
    snprintf(code, sizeof code, "%%export \"%s\" cfg[lr=1e-3,seed=1] plain", path);
    exec(code);
    assert_null(error_value());
    read_file(path, buf, sizeof buf);
    assert_string_equal(buf,
                        "run,lr,config_reward,seed,log,algo,step,reward,loss,wall\n"
                        "\"cfg[lr=1e-3,seed=1]\",1e-3,\"a, \"\"b\"\"\",1,true,inf,1,0.5,,0.25\n"
                        "\"cfg[lr=1e-3,seed=1]\",1e-3,\"a, \"\"b\"\"\",1,true,inf,2,nan,,0.75\n"
                        "plain,,,,,,10,,1.5,\n");
    snprintf(path, sizeof path, "%s/c.jsonl", tmpdir);
    snprintf(code, sizeof code, "%%export \"%s\" cfg[lr=1e-3,seed=1] plain", path);
    exec(code);
    assert_null(error_value());
    read_file(path, buf, sizeof buf);
    assert_string_equal(
        buf, "{\"run\":\"cfg[lr=1e-3,seed=1]\",\"lr\":0.001,\"config_reward\":\"a, \\\"b\\\"\","
             "\"seed\":1,\"log\":true,\"algo\":\"inf\",\"step\":1,\"reward\":0.5,\"wall\":0.25}\n"
             "{\"run\":\"cfg[lr=1e-3,seed=1]\",\"lr\":0.001,\"config_reward\":\"a, \\\"b\\\"\","
             "\"seed\":1,\"log\":true,\"algo\":\"inf\",\"step\":2,\"reward\":null,\"wall\":0.75}\n"
             "{\"run\":\"plain\",\"step\":10,\"loss\":1.5}\n");
    snprintf(path, sizeof path, "%s/c.json", tmpdir);
    snprintf(code, sizeof code, "%%export \"%s\" cfg[lr=1e-3,seed=1]", path);
    exec(code);
    assert_null(error_value());
    read_file(path, buf, sizeof buf);
    cJSON *j = cJSON_Parse(buf);
    cJSON *conf =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "runs"), 0), "config");
    assert_true(cJSON_GetObjectItem(conf, "lr")->valuedouble == 1e-3);
    assert_string_equal(cJSON_GetObjectItem(conf, "reward")->valuestring, "a, \"b\"");
    cJSON_Delete(j);
    mag_session_remove(S(), MAG_RUN, "cfg[lr=1e-3,seed=1]");
    mag_session_remove(S(), MAG_RUN, "plain");
}

static void test_save_load(void **st)
{
    (void)st;
    exec("%task add add digits=2");
    exec("%%policy p\ntask = add\nsft_steps = 0\n" TINY);
    assert_null(error_value());
    char code[256], path[128];
    snprintf(path, sizeof path, "%s/p.bin", tmpdir);
    snprintf(code, sizeof code, "%%save p \"%s\"", path);
    exec(code);
    assert_null(error_value());
    snprintf(code, sizeof code, "%%load r \"%s\"", path);
    exec(code);
    assert_null(error_value());
    rt_policy *p = mag_session_get(S(), MAG_POLICY, "p"),
              *r = mag_session_get(S(), MAG_POLICY, "r");
    assert_non_null(r);
    assert_int_equal(r->params.n, p->params.n);
    assert_memory_equal(r->params.w, p->params.w, p->params.n * sizeof(float));
    /* truncated file */
    assert_int_equal(truncate(path, 100), 0);
    exec(code);
    const char *ev = error_value();
    assert_non_null(ev);
    assert_memory_equal(ev, "cell:1:9: cannot load policy", strlen("cell:1:9: cannot load policy"));
    assert_non_null(strstr(ev, path));
    assert_non_null(strstr(ev, "truncated"));
    /* not a policy file */
    FILE *f = fopen(path, "w");
    fputs("hello, this is not a policy file at all, not even close to one.....", f);
    fclose(f);
    exec(code);
    ev = error_value();
    assert_non_null(ev);
    assert_non_null(strstr(ev, path));
    /* missing file; the old r is untouched */
    exec("%load r /nonexistent/p.bin");
    assert_non_null(strstr(error_value(), "/nonexistent/p.bin"));
    assert_ptr_equal(mag_session_get(S(), MAG_POLICY, "r"), r);
    exec("%save nope x.bin");
    assert_string_equal(error_value(), "cell:1:7: unknown policy 'nope'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task),
        cmocka_unit_test(test_policy_sft),
        cmocka_unit_test(test_policy_sweep_and_errors),
        cmocka_unit_test(test_eval_sample_runs_plot),
        cmocka_unit_test(test_export_csv_exact),
        cmocka_unit_test(test_export_config_exact),
        cmocka_unit_test(test_save_load),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    cJSON_Delete(M.arr);
    return rc;
}
