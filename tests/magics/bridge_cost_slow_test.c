/* The bridge on real training (slow suite): the default %%policy SFT run (add digits=2,
 * 1000 steps, noise 0.6) with one and with two sweep points, every message serialized as
 * the kernel would.  Prints the figures (chart + publish time as a share of the run,
 * frames, largest message) and checks what does not depend on the machine's load: every
 * message under 200 KB, a final frame at step 1000, a frame count consistent with the
 * 250 ms rate.  (Timing is reported, not asserted: design.md keeps performance out of
 * timed tests.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mag_bridge.h"
#include "rt_sft.h"

typedef struct meter {
    size_t max_msg;
    int n;
    char last_text[4096];
} meter;

static void pub(void *s, const char *type, cJSON *c)
{
    meter *m = s;
    char *j = cJSON_PrintUnformatted(c);
    size_t n = strlen(j);
    if (n > m->max_msg) m->max_msg = n;
    m->n++;
    if (!strcmp(type, "update_display_data")) {
        cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "data"), "text/plain");
        snprintf(m->last_text, sizeof m->last_text, "%s", t->valuestring);
    }
    free(j);
    cJSON_Delete(c);
}

static const krn_sink_vtable vt = {pub, NULL};

typedef struct job {
    rt_policy *p;
    const rt_task *t;
    rt_sft_config c;
    rt_run *r;
    rt_rng g;
} job;

static int job_fn(void *a, const rt_job_ctx *ctx)
{
    (void)ctx;
    job *j = a;
    return rt_sft_run(j->p, j->t, &j->c, j->r, &j->g, NULL);
}

/* Under AddressSanitizer the figures mean nothing and the run is slower: shorter runs. */
#if defined(__SANITIZE_ADDRESS__)
#define STEPS 200
#else
#define STEPS 1000
#endif

static void measure(int npts)
{
    rt_task_config tc;
    rt_task_config_init(&tc, "add");
    rt_task *t;
    assert_int_equal(rt_task_create(&tc, &t, NULL), 0);
    job j[2];
    mag_bridge_run br[2];
    int nc;
    const char *const *cols = rt_sft_columns(&nc);
    for (int i = 0; i < npts; i++) {
        rt_policy_config pc = {32, 8, 32, 256, 2, RT_NN_ACT_RELU};
        assert_int_equal(rt_policy_create(&j[i].p, &pc, NULL), 0);
        rt_rng r = rt_rng_make((uint64_t)i);
        rt_policy_init(j[i].p, &r);
        j[i].t = t;
        rt_sft_config_init(&j[i].c);
        j[i].c.noise = 0.6;
        j[i].c.steps = STEPS;
        char nm[32];
        snprintf(nm, sizeof nm, "p[i=%d]", i);
        assert_int_equal(rt_run_create(nm, cols, nc, &j[i].r), 0);
        j[i].g = rt_rng_make(100 + (uint64_t)i);
        br[i] = (mag_bridge_run){j[i].r, NULL, job_fn, &j[i], NULL, 0};
    }
    meter m = {0};
    krn_out *o = krn_out_new(&vt, &m, NULL, 1, false);
    static const char *const panels[] = {"loss", "accuracy"};
    mag_bridge_opts op = {.panels = panels, .npanels = 2, .threads = npts};
    mag_bridge_stats st;
    assert_int_equal(mag_bridge_train(o, &op, br, npts, &st), 0);
    krn_out_finish(o);
    printf("# %d point(s) x %d steps: run %.2f s, %d chart frames, chart+publish %.4f s = %.3f %% "
           "of the "
           "run, largest message %zu bytes, summary %zu bytes\n",
           npts, STEPS, st.wall_s, st.frames, st.render_s, 100.0 * st.render_s / st.wall_s,
           m.max_msg, st.summary_bytes);
    assert_true(m.max_msg < 200000);
    assert_true(st.frames >= 2);
    assert_true(st.frames <= st.wall_s * 4 + 3);
    char want[32];
    snprintf(want, sizeof want, "(step %d)", STEPS);
    assert_non_null(strstr(m.last_text, want));
    krn_out_free(o);
    for (int i = 0; i < npts; i++) {
        rt_policy_free(j[i].p);
        rt_run_free(j[i].r);
    }
    rt_task_free(t);
}

static void test_one_point(void **st)
{
    (void)st;
    measure(1);
}

static void test_two_points(void **st)
{
    (void)st;
    measure(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_point),
        cmocka_unit_test(test_two_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
