/* The training bridge (magics/mag_bridge.c) through a timestamped recording sink:
 * message order (display, updates with the same id, final frame, summary), the bundle's
 * three mime types with Vega-Lite as an object, the update rate, NaN drawn as gaps
 * (null in Vega-Lite), bounded message size for long series, seed bands, interrupts
 * (cancel flag set from the interrupt flag, partial rows kept), a failing run next to a
 * finishing one, identical metrics at 1 and 2 threads, progress in the subtitle of a
 * sweep (step N/M, time left only in live frames, run counts, x axis [0, steps] from the
 * first frame, queued points out of the legend), and the table helper. */
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
#include <time.h>

#include "krn_display.h"
#include "mag_bridge.h"

typedef struct tsink {
    pthread_mutex_t mu;
    int n;
    char *type[512];
    cJSON *content[512];
    double t[512];
} tsink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void ts_publish(void *s, const char *type, cJSON *content)
{
    tsink *k = s;
    pthread_mutex_lock(&k->mu);
    if (k->n < 512) {
        k->type[k->n] = strdup(type);
        k->content[k->n] = content;
        k->t[k->n] = now_s();
        k->n++;
    } else {
        cJSON_Delete(content);
    }
    pthread_mutex_unlock(&k->mu);
}

static const krn_sink_vtable ts_vt = {ts_publish, NULL};

static void ts_free(tsink *k)
{
    for (int i = 0; i < k->n; i++) {
        free(k->type[i]);
        cJSON_Delete(k->content[i]);
    }
    pthread_mutex_destroy(&k->mu);
}

/* A fake training job: appends `rows` rows (step, loss, accuracy), sleeping `ms` ms
 * between rows, polling the cancel flag; loss is NaN at row nan_at (1-based, 0 = never);
 * a non-finite loss at fail_at fails the run. */
typedef struct job {
    rt_run *run;
    int rows, ms, nan_at, fail_at;
    double offset;
    atomic_int *interrupt_at_row_flag; /* set this flag after row interrupt_row */
    int interrupt_row;
} job;

static int job_fn(void *arg, const rt_job_ctx *ctx)
{
    (void)ctx;
    job *j = arg;
    rt_run_start(j->run);
    for (int s = 1; s <= j->rows; s++) {
        if (rt_run_should_stop(j->run)) {
            rt_run_finish(j->run, RT_RUN_INTERRUPTED, s - 1, "");
            return -4;
        }
        if (j->ms) {
            struct timespec ts = {0, j->ms * 1000000L};
            nanosleep(&ts, NULL);
        }
        double loss = j->nan_at == s || j->fail_at == s ? NAN : 2.0 / s + j->offset;
        double row[3] = {s, loss, 1.0 - 1.0 / s};
        if (j->fail_at == s) {
            rt_run_finish(j->run, RT_RUN_FAILED, s, "loss is nan at step");
            return -3;
        }
        rt_run_append(j->run, row);
        if (j->interrupt_at_row_flag && s == j->interrupt_row)
            atomic_store(j->interrupt_at_row_flag, 1);
    }
    rt_run_finish(j->run, RT_RUN_FINISHED, j->rows, "");
    return 0;
}

static const char *const cols[] = {"step", "loss", "accuracy"};
static const char *const panels[] = {"loss", "accuracy"};

static rt_run *mkrun(const char *name)
{
    rt_run *r = NULL;
    assert_int_equal(rt_run_create(name, cols, 3, &r), 0);
    return r;
}

static cJSON *data_of(tsink *k, int i)
{
    return cJSON_GetObjectItem(k->content[i], "data");
}

static const char *id_of(tsink *k, int i)
{
    cJSON *tr = cJSON_GetObjectItem(k->content[i], "transient");
    cJSON *id = tr ? cJSON_GetObjectItem(tr, "display_id") : NULL;
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* live frames carry SVG; the final frame the PNG rasterized from it (mag_bridge_final) */
static void check_chart_bundle(cJSON *data, int final)
{
    assert_int_equal(cJSON_GetArraySize(data), 3);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(data, "application/vnd.vegalite.v5+json")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(data, final ? "image/png" : "image/svg+xml")));
    if (final)
        assert_int_equal(
            strncmp(cJSON_GetObjectItem(data, "image/png")->valuestring, "iVBORw0KGgo", 11),
            0); /* the PNG signature */
    assert_true(cJSON_IsString(cJSON_GetObjectItem(data, "text/plain")));
    assert_null(cJSON_GetObjectItem(data, "text/html"));
}

static void test_frames_in_order(void **st)
{
    (void)st;
    tsink k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    atomic_int flag = 0;
    krn_out *out = krn_out_new(&ts_vt, &k, &flag, 1, false);
    job j = {.run = mkrun("a"), .rows = 60, .ms = 20};
    mag_bridge_run br = {.run = j.run, .fn = job_fn, .arg = &j};
    mag_bridge_opts o = {.title = "t", .panels = panels, .npanels = 2, .threads = 1};
    mag_bridge_stats s;
    double t0 = now_s();
    assert_int_equal(mag_bridge_train(out, &o, &br, 1, &s), 0);
    double dt = now_s() - t0;
    krn_out_finish(out);
    assert_true(k.n >= 5);
    assert_string_equal(k.type[0], "display_data");
    const char *id = id_of(&k, 0);
    assert_non_null(id);
    assert_string_equal(id, s.display_id);
    int updates = 0;
    for (int i = 0; i < k.n - 1; i++) {
        if (i > 0) assert_string_equal(k.type[i], "update_display_data");
        assert_string_equal(id_of(&k, i), id);
        check_chart_bundle(data_of(&k, i), i == k.n - 2);
        updates += i > 0;
        /* live updates are rate-limited; the final frame (i = k.n - 2) goes out at once */
        if (i > 1 && i < k.n - 2) assert_true(k.t[i] - k.t[i - 1] >= 0.245);
    }
    assert_true(updates >= 3);
    assert_true(updates <= dt * 4 + 2);
    assert_int_equal(s.frames, updates + 1);
    /* the final frame shows the last step */
    const char *txt = cJSON_GetObjectItem(data_of(&k, k.n - 2), "text/plain")->valuestring;
    assert_non_null(strstr(txt, "(step 60)"));
    /* summary: separate display without id, html + text */
    assert_string_equal(k.type[k.n - 1], "display_data");
    assert_null(id_of(&k, k.n - 1));
    cJSON *sum = data_of(&k, k.n - 1);
    assert_int_equal(cJSON_GetArraySize(sum), 2);
    assert_non_null(strstr(cJSON_GetObjectItem(sum, "text/html")->valuestring, "<table"));
    /* its text ends with the final frame (for consoles that ignore display updates) */
    char want[4096];
    snprintf(want, sizeof want, "%s\n%s",
             "run  status    steps     loss  accuracy\n"
             "a    finished     60  0.03333    0.9833\n",
             txt);
    assert_string_equal(cJSON_GetObjectItem(sum, "text/plain")->valuestring, want);
    assert_int_equal(rt_run_rows(j.run), 60);
    assert_true(s.max_bytes > 1000 && s.max_bytes < 200000);
    krn_out_free(out);
    rt_run_free(j.run);
    ts_free(&k);
}

static void test_nan_gap_and_size_bound(void **st)
{
    (void)st;
    /* NaN at row 3 of 5: Vega-Lite carries null there */
    rt_run *r = mkrun("g");
    for (int s = 1; s <= 5; s++) {
        double row[3] = {s, s == 3 ? NAN : s * 0.5, 0.5};
        rt_run_append(r, row);
    }
    const char *one[] = {"loss"};
    cJSON *b = mag_bridge_chart(&r, NULL, 1, NULL, NULL, one, 1, 0, 0, 1);
    assert_non_null(b);
    char *vl = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "application/vnd.vegalite.v5+json"));
    assert_non_null(strstr(vl, "null"));
    free(vl);
    /* text shows the last finite value */
    assert_non_null(strstr(cJSON_GetObjectItem(b, "text/plain")->valuestring, "2.5 (step 5)"));
    cJSON_Delete(b);
    rt_run_free(r);
    /* 8 runs x 20,000 rows: every message stays far under 200 KB */
    rt_run *rs[8];
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        rs[i] = mkrun(name);
        for (int s = 1; s <= 20000; s++) {
            double row[3] = {s, 1.0 / s + i, sin(s * 0.01)};
            rt_run_append(rs[i], row);
        }
    }
    b = mag_bridge_chart(rs, NULL, 8, "big", NULL, panels, 2, 0, 0, 1);
    assert_non_null(b);
    char *js = cJSON_PrintUnformatted(b);
    assert_true(strlen(js) < 200000);
    free(js);
    cJSON_Delete(b);
    for (int i = 0; i < 8; i++)
        rt_run_free(rs[i]);
}

static void test_seed_band(void **st)
{
    (void)st;
    rt_run *rs[2] = {mkrun("p[seed=1]"), mkrun("p[seed=2]")};
    for (int i = 0; i < 2; i++)
        for (int s = 1; s <= 10; s++) {
            double row[3] = {s, 1.0 + i, 0.5};
            rt_run_append(rs[i], row);
        }
    const char *labels[2] = {"p", "p"};
    const char *one[] = {"loss"};
    cJSON *b = mag_bridge_chart(rs, labels, 2, NULL, NULL, one, 1, 0, 0, 1);
    const char *txt = cJSON_GetObjectItem(b, "text/plain")->valuestring;
    /* one series (mean 1.5) with a band (std of {1, 2} = 0.71) */
    assert_non_null(strstr(txt, "1.5 ± 0.71 (step 10)"));
    assert_null(strstr(txt, "seed"));
    cJSON_Delete(b);
    rt_run_free(rs[0]);
    rt_run_free(rs[1]);
}

/* The chart's smoothing: a negative smooth is MAG_BRIDGE_SMOOTH_DEFAULT (rows carry
 * "smooth"), 0 is off; eval_* panels are never smoothed and get dots; accuracy is
 * clamped to [0, 1]; 4 panels make a 2 x 2 grid. */
static void test_smoothing_default_and_ranges(void **st)
{
    (void)st;
    static const char *const ecols[] = {"step", "loss", "accuracy", "eval_accuracy", "kl_ref"};
    rt_run *r = NULL;
    assert_int_equal(rt_run_create("g", ecols, 5, &r), 0);
    for (int s = 1; s <= 20; s++) {
        double row[5] = {s, 1.0 / s, s % 2 ? 1.0 : 0.0, s % 5 ? NAN : 0.5, s == 1 ? -1e-9 : 0.1};
        rt_run_append(r, row);
    }
    const char *four[] = {"loss", "accuracy", "eval_accuracy", "kl_ref"};
    cJSON *b = mag_bridge_chart(&r, NULL, 1, NULL, NULL, four, 4, -1, 0, 1);
    char *vl = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "application/vnd.vegalite.v5+json"));
    assert_non_null(strstr(vl, "\"columns\":2,\"concat\":["));
    cJSON *spec = cJSON_GetObjectItem(b, "application/vnd.vegalite.v5+json");
    cJSON *ps = cJSON_GetObjectItem(spec, "concat");
    for (int p = 0; p < 4; p++) {
        cJSON *rows =
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(ps, p), "data"), "values");
        cJSON *row0 = cJSON_GetArrayItem(rows, 0);
        /* smoothed by default, but not the held-out evaluation */
        assert_int_equal(cJSON_HasObjectItem(row0, "smooth"), p != 2);
        cJSON *row;
        cJSON_ArrayForEach(row, rows)
        {
            double y = cJSON_GetObjectItem(row, "y")->valuedouble;
            if (p == 1) assert_true(y >= 0 && y <= 1);
            if (p == 3) assert_true(y >= 0); /* float noise below 0 clamped */
        }
    }
    assert_non_null(strstr(vl, "{\"type\":\"point\",\"filled\":true")); /* eval dots */
    free(vl);
    cJSON_Delete(b);
    b = mag_bridge_chart(&r, NULL, 1, NULL, NULL, four, 4, 0, 0, 1); /* smooth=0: off */
    vl = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "application/vnd.vegalite.v5+json"));
    assert_null(strstr(vl, "smooth"));
    free(vl);
    cJSON_Delete(b);
    rt_run_free(r);
}

static void test_interrupt_keeps_partial_run(void **st)
{
    (void)st;
    tsink k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    atomic_int flag = 0;
    krn_out *out = krn_out_new(&ts_vt, &k, &flag, 1, false);
    job j = {.run = mkrun("a"),
             .rows = 1000,
             .ms = 5,
             .interrupt_at_row_flag = &flag,
             .interrupt_row = 7};
    mag_bridge_run br = {.run = j.run, .fn = job_fn, .arg = &j};
    mag_bridge_opts o = {.panels = panels, .npanels = 2, .threads = 2, .frame_ms = 50};
    mag_bridge_stats s;
    assert_int_equal(mag_bridge_train(out, &o, &br, 1, &s), 0);
    krn_out_finish(out);
    assert_int_equal(s.interrupted, 1);
    long step;
    assert_int_equal(rt_run_status_of(j.run, &step, NULL, 0), RT_RUN_INTERRUPTED);
    assert_true(step >= 7 && step < 1000);
    assert_int_equal(rt_run_rows(j.run), step);
    /* the summary still follows the final frame */
    assert_string_equal(k.type[k.n - 1], "display_data");
    assert_non_null(strstr(cJSON_GetObjectItem(data_of(&k, k.n - 1), "text/plain")->valuestring,
                           "interrupted"));
    krn_out_free(out);
    rt_run_free(j.run);
    ts_free(&k);
}

static void test_failed_point_others_continue(void **st)
{
    (void)st;
    tsink k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    krn_out *out = krn_out_new(&ts_vt, &k, NULL, 1, false);
    job j[2] = {{.run = mkrun("p[lr=1]"), .rows = 30, .fail_at = 4},
                {.run = mkrun("p[lr=2]"), .rows = 30}};
    mag_bridge_run br[2] = {{.run = j[0].run, .fn = job_fn, .arg = &j[0]},
                            {.run = j[1].run, .fn = job_fn, .arg = &j[1]}};
    mag_bridge_opts o = {.panels = panels, .npanels = 2, .threads = 2, .frame_ms = 10};
    assert_int_equal(mag_bridge_train(out, &o, br, 2, NULL), 0);
    krn_out_finish(out);
    long step;
    char msg[64];
    assert_int_equal(rt_run_status_of(j[0].run, &step, msg, sizeof msg), RT_RUN_FAILED);
    assert_int_equal(step, 4);
    assert_int_equal(rt_run_status_of(j[1].run, &step, NULL, 0), RT_RUN_FINISHED);
    assert_int_equal(step, 30);
    char want[4096];
    snprintf(want, sizeof want, "%s\n%s",
             "run      status    steps     loss  accuracy\n"
             "p[lr=1]  failed        4  0.66667    0.6667\n"
             "p[lr=2]  finished     30  0.06667    0.9667\n",
             cJSON_GetObjectItem(data_of(&k, k.n - 2), "text/plain")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(data_of(&k, k.n - 1), "text/plain")->valuestring, want);
    krn_out_free(out);
    rt_run_free(j[0].run);
    rt_run_free(j[1].run);
    ts_free(&k);
}

static void test_threads_identical(void **st)
{
    (void)st;
    double snap[2][2][40 * 3];
    for (int th = 1; th <= 2; th++) {
        tsink k = {.mu = PTHREAD_MUTEX_INITIALIZER};
        krn_out *out = krn_out_new(&ts_vt, &k, NULL, 1, false);
        job j[2] = {{.run = mkrun("x[o=0]"), .rows = 40},
                    {.run = mkrun("x[o=1]"), .rows = 40, .offset = 1}};
        mag_bridge_run br[2] = {{.run = j[0].run, .fn = job_fn, .arg = &j[0]},
                                {.run = j[1].run, .fn = job_fn, .arg = &j[1]}};
        mag_bridge_opts o = {.panels = panels, .npanels = 2, .threads = th, .frame_ms = 10};
        assert_int_equal(mag_bridge_train(out, &o, br, 2, NULL), 0);
        krn_out_finish(out);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(rt_run_read(j[i].run, 0, 40, snap[th - 1][i]), 40);
            rt_run_free(j[i].run);
        }
        krn_out_free(out);
        ts_free(&k);
    }
    assert_memory_equal(snap[0], snap[1], sizeof snap[0]);
}

/* The subtitle of frame i ("" without one), from its Vega-Lite title. */
static const char *subtitle_of(tsink *k, int i)
{
    cJSON *vl = cJSON_GetObjectItem(data_of(k, i), "application/vnd.vegalite.v5+json");
    cJSON *sub = cJSON_GetObjectItem(cJSON_GetObjectItem(vl, "title"), "subtitle");
    return cJSON_IsString(sub) ? sub->valuestring : "";
}

/* The legend entries of the first panel of frame i (the chart's colour domain, the same
 * in every panel: hconcat[0].layer[0].encoding.color.scale.domain). */
static int legend_entries(tsink *k, int i)
{
    cJSON *vl = cJSON_GetObjectItem(data_of(k, i), "application/vnd.vegalite.v5+json");
    cJSON *layers =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(vl, "hconcat"), 0), "layer");
    cJSON *series = cJSON_GetArrayItem(layers, 0);
    cJSON *dom = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(series, "encoding"), "color"),
                            "scale"),
        "domain");
    return dom ? cJSON_GetArraySize(dom) : 0;
}

/* Frame i's subtitle is the same in the SVG (live frames; the final one is a PNG drawn
 * from it), the Vega-Lite title and the text's second line (after the title), so
 * `rlhf-kernel run` shows it in its progress line. */
static void check_subtitle_everywhere(tsink *k, int i, const char *sub)
{
    cJSON *d = data_of(k, i);
    cJSON *svg = cJSON_GetObjectItem(d, "image/svg+xml");
    if (svg)
        assert_non_null(strstr(svg->valuestring, sub));
    else
        assert_true(cJSON_IsString(cJSON_GetObjectItem(d, "image/png")));
    assert_string_equal(subtitle_of(k, i), sub);
    const char *txt = cJSON_GetObjectItem(d, "text/plain")->valuestring;
    const char *nl = strchr(txt, '\n');
    assert_non_null(nl);
    assert_memory_equal(nl + 1, sub, strlen(sub));
    assert_int_equal(nl[1 + strlen(sub)], '\n');
}

static void test_sweep_progress(void **st)
{
    (void)st;
    tsink k = {.mu = PTHREAD_MUTEX_INITIALIZER};
    atomic_int flag = 0;
    krn_out *out = krn_out_new(&ts_vt, &k, &flag, 1, false);
    static const char *const names[] = {"p0", "p1", "p2", "p3"};
    job j[4];
    mag_bridge_run br[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (job){.run = mkrun(names[i]), .rows = 40, .ms = 15};
        br[i] = (mag_bridge_run){.run = j[i].run, .fn = job_fn, .arg = &j[i], .steps = 40};
    }
    mag_bridge_opts o = {.title = "sweep", .panels = panels, .npanels = 2, .threads = 2};
    mag_bridge_stats s;
    assert_int_equal(mag_bridge_train(out, &o, br, 4, &s), 0);
    krn_out_finish(out);
    assert_true(k.n >= 4);
    /* the first frame: nothing started, no legend entry, x axis [0, steps] already */
    check_subtitle_everywhere(&k, 0,
                              "step 0/40 \u00b7 runs 0 done \u00b7 0 running \u00b7 4 queued");
    assert_int_equal(legend_entries(&k, 0), 0);
    char *js = cJSON_PrintUnformatted(data_of(&k, 0));
    assert_non_null(strstr(js, "\"domain\":[0,40]"));
    free(js);
    const char *svg0 = cJSON_GetObjectItem(data_of(&k, 0), "image/svg+xml")->valuestring;
    assert_non_null(strstr(svg0, ">40</text>")); /* the last x tick */
    /* live frames: step N/40, time left, the three counts; while points wait in the
       queue, they are not in the legend */
    int partial = 0, with_time = 0, moving = 0;
    for (int i = 1; i < k.n - 2; i++) {
        const char *sub = subtitle_of(&k, i);
        int n, m, a, b, c;
        assert_true(sscanf(sub, "step %d/%d", &n, &m) == 2);
        assert_int_equal(m, 40);
        assert_true(n >= 0 && n <= 40);
        check_subtitle_everywhere(&k, i, sub);
        with_time += strstr(sub, " left") != NULL;
        const char *r = strstr(sub, "runs ");
        assert_non_null(r);
        assert_int_equal(sscanf(r, "runs %d done \u00b7 %d running \u00b7 %d queued", &a, &b, &c),
                         3);
        assert_int_equal(a + b + c, 4);
        assert_true(b <= 2);
        if (c > 0 && legend_entries(&k, i) < 4) partial++;
        /* the step is the running points', not a queued point's 0 */
        if (c > 0 && b > 0 && n > 0) moving++;
        js = cJSON_PrintUnformatted(data_of(&k, i));
        assert_non_null(strstr(js, "\"domain\":[0,40]"));
        free(js);
    }
    assert_true(partial >= 1);
    assert_true(with_time >= 1);
    assert_true(moving >= 1);
    /* the final frame: no time, the same on every machine */
    int fin = k.n - 2;
    check_subtitle_everywhere(&k, fin, "step 40/40 \u00b7 runs 4 done");
    char *fjs = cJSON_PrintUnformatted(
        cJSON_GetObjectItem(data_of(&k, fin), "application/vnd.vegalite.v5+json"));
    assert_null(strstr(fjs, "left"));
    free(fjs);
    assert_null(strstr(cJSON_GetObjectItem(data_of(&k, fin), "text/plain")->valuestring, "left"));
    assert_int_equal(legend_entries(&k, fin), 4);
    krn_out_free(out);
    for (int i = 0; i < 4; i++)
        rt_run_free(j[i].run);
    ts_free(&k);
}

static void test_table(void **st)
{
    (void)st;
    const char *hdr[] = {"name", "value"};
    mag_table *t = mag_table_new(2, hdr);
    const char *r1[] = {"a<b", "1.5"};
    const char *r2[] = {"ünï", "-20"};
    assert_int_equal(mag_table_row(t, r1), 0);
    assert_int_equal(mag_table_row(t, r2), 0);
    cJSON *b = mag_table_bundle(t, "cap");
    assert_string_equal(cJSON_GetObjectItem(b, "text/plain")->valuestring,
                        "cap\nname  value\na<b     1.5\nünï     -20\n");
    const char *h = cJSON_GetObjectItem(b, "text/html")->valuestring;
    assert_non_null(strstr(h, "<code>a&lt;b</code>"));
    assert_non_null(strstr(h, "<td style=\"text-align:right\">-20</td>"));
    cJSON_Delete(b);
    mag_table_free(t);
    char buf[32];
    mag_fmt_num(0.51234, 0, buf, sizeof buf);
    assert_string_equal(buf, "0.5123");
    mag_fmt_num(NAN, 1, buf, sizeof buf);
    assert_string_equal(buf, "");
    mag_fmt_num(1.25e-5, 0, buf, sizeof buf);
    assert_string_equal(buf, "1.25e-05");
    mag_fmt_num(300, 0, buf, sizeof buf);
    assert_string_equal(buf, "300");
    /* fixed decimals per column: 4 significant digits of the smallest value that is not
       noise, integers bare, tiny or huge columns in scientific notation */
    const double c1[] = {0.6065, 0.61, 0.65, -6.94e-12, NAN};
    assert_int_equal(mag_fmt_decimals(c1, 5), 4);
    mag_fmt_fixed(0.65, 4, 0, buf, sizeof buf);
    assert_string_equal(buf, "0.6500");
    mag_fmt_fixed(-6.94e-12, 4, 0, buf, sizeof buf);
    assert_string_equal(buf, "0.0000"); /* float noise, no "-" */
    const double c2[] = {0.3441, 1.255};
    assert_int_equal(mag_fmt_decimals(c2, 2), 4);
    const double c3[] = {150.25, 20.5};
    assert_int_equal(mag_fmt_decimals(c3, 2), 2);
    const double c4[] = {3, 400, -2};
    assert_int_equal(mag_fmt_decimals(c4, 3), 0);
    const double c5[] = {6.67e-06, 2e-05};
    assert_int_equal(mag_fmt_decimals(c5, 2), -1);
    mag_fmt_fixed(6.67e-06, -1, 0, buf, sizeof buf);
    assert_string_equal(buf, "6.67e-06");
    mag_fmt_fixed(NAN, 2, 1, buf, sizeof buf);
    assert_string_equal(buf, "");
    /* "MEAN ± SD" cells are numbers: right-aligned with their header, in text and HTML */
    const char *h2[] = {"run", "eval_accuracy"};
    t = mag_table_new(2, h2);
    const char *m1[] = {"r[a=x]", "0.7250 \u00b1 0.0354"};
    const char *m2[] = {"r[a=y]", "0.6100 \u00b1 0.0141 (2)"};
    assert_int_equal(mag_table_row(t, m1), 0);
    assert_int_equal(mag_table_row(t, m2), 0);
    b = mag_table_bundle(t, NULL);
    assert_string_equal(cJSON_GetObjectItem(b, "text/plain")->valuestring,
                        "run           eval_accuracy\n"
                        "r[a=x]      0.7250 \u00b1 0.0354\n"
                        "r[a=y]  0.6100 \u00b1 0.0141 (2)\n");
    h = cJSON_GetObjectItem(b, "text/html")->valuestring;
    assert_non_null(strstr(h, "<th style=\"text-align:left\">run</th>"
                              "<th style=\"text-align:right\">eval_accuracy</th>"));
    assert_non_null(strstr(h, "<td style=\"text-align:right\">0.7250 \u00b1 0.0354</td>"));
    cJSON_Delete(b);
    mag_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_in_order),
        cmocka_unit_test(test_nan_gap_and_size_bound),
        cmocka_unit_test(test_seed_band),
        cmocka_unit_test(test_smoothing_default_and_ranges),
        cmocka_unit_test(test_interrupt_keeps_partial_run),
        cmocka_unit_test(test_failed_point_others_continue),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_sweep_progress),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
