/* train_helpers_test: the shared pieces of the training magics (magics/mag_train.h):
 * sweep point names without the seed, mean ± sd over seeds, point streams, the store
 * bookkeeping and the cell's ending (interrupted / failed messages, exact); legend labels
 * of sweep points (only the varying keys, never the seed nor the name); the metric
 * ranges of the charts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mag_bridge.h"
#include "mag_train.h"
#include "rec_sink.h"

static void test_strip_seed(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(mag_train_strip_seed("j[alpha=0.5,seed=2]", out, sizeof out), 1);
    assert_string_equal(out, "j[alpha=0.5]");
    assert_int_equal(mag_train_strip_seed("j[seed=1]", out, sizeof out), 1);
    assert_string_equal(out, "j");
    assert_int_equal(mag_train_strip_seed("j[seed=12,lr=0.1]", out, sizeof out), 1);
    assert_string_equal(out, "j[lr=0.1]");
    assert_int_equal(mag_train_strip_seed("j[myseed=3]", out, sizeof out), 0);
    assert_string_equal(out, "j[myseed=3]");
    assert_int_equal(mag_train_strip_seed("plain", out, sizeof out), 0);
    assert_string_equal(out, "plain");
}

/* The labels of every point of cell src (validated against a small schema), joined
 * by "|" into out. */
static void labels_of(const char *src, char *out, size_t cap)
{
    static const char *const estimators[] = {"sampled", "full", NULL};
    static const char *const modes[] = {"full", "part", NULL};
    static const mag_key_spec keys[] = {
        {.name = "lambda", .type = MAG_T_NUMBER, .flags = MAG_K_SWEEP},
        {.name = "lr", .type = MAG_T_NUMBER, .flags = MAG_K_SWEEP},
        {.name = "estimator", .type = MAG_T_ENUM, .values = estimators, .flags = MAG_K_SWEEP},
        {.name = "from", .type = MAG_T_NAME, .flags = MAG_K_SWEEP},
        {.name = "reference", .type = MAG_T_NAME, .flags = MAG_K_SWEEP},
        {.name = "center", .type = MAG_T_BOOL, .flags = MAG_K_SWEEP},
        {.name = "mode", .type = MAG_T_ENUM, .values = modes, .flags = MAG_K_SWEEP},
        MAG_TRAIN_KEY_SEED,
    };
    static const mag_schema sch = {.magic = "opd", .keys = keys, .nkeys = 8};
    mag_parse_opts po = {.body_kind = mag_magic_body_kind};
    mag_cell *cell = NULL;
    mag_config *cfg = NULL;
    assert_int_equal(mag_parse_cell(src, strlen(src), &po, &cell, NULL), 0);
    assert_int_equal(mag_validate_cell(&sch, cell, src, strlen(src), &cfg, NULL), 0);
    size_t o = 0;
    out[0] = '\0';
    for (size_t pt = 0; pt < cfg->npoints; pt++) {
        char name[MAG_TRAIN_NAME], label[MAG_TRAIN_NAME];
        mag_train_point_names(cfg, "cancel", pt, name, label);
        o += (size_t)snprintf(out + o, cap - o, "%s%s", pt ? "|" : "", label);
    }
    mag_config_free(cfg);
    mag_cell_free(cell);
}

/* Issue 13 item 2: a label shows only the keys that vary, enum values bare unless two
 * enum keys share a word, anything else KEY=VALUE; never the seed, the name, or a cut. */
static void test_point_labels(void **state)
{
    (void)state;
    char out[2048];
    labels_of("%%opd cancel\nlambda = [0.5, 1.25]\nestimator = [sampled, full]\nseed = [1, 2]\n"
              "lr = 1e-3\n",
              out, sizeof out);
    assert_string_equal(out, "\u03bb=0.5 \u00b7 sampled|\u03bb=0.5 \u00b7 sampled|"
                             "\u03bb=0.5 \u00b7 full|\u03bb=0.5 \u00b7 full|"
                             "\u03bb=1.25 \u00b7 sampled|\u03bb=1.25 \u00b7 sampled|"
                             "\u03bb=1.25 \u00b7 full|\u03bb=1.25 \u00b7 full");
    /* a swept key with one value does not vary: left out; lr as written */
    labels_of("%%opd cancel\nlr = [3e-4, 1e-3]\nlambda = [1]\ncenter = [true, false]\n", out,
              sizeof out);
    assert_string_equal(out, "lr=3e-4 \u00b7 center=true|lr=3e-4 \u00b7 center=false|"
                             "lr=1e-3 \u00b7 center=true|lr=1e-3 \u00b7 center=false");
    /* names of policies: KEY=VALUE ("base" alone does not say what it is) */
    labels_of("%%opd cancel\nreference = [base, other]\nestimator = [full, sampled]\n", out,
              sizeof out);
    assert_string_equal(out, "reference=base \u00b7 full|reference=base \u00b7 sampled|"
                             "reference=other \u00b7 full|reference=other \u00b7 sampled");
    /* two enum keys taking the same word: KEY=VALUE for both */
    labels_of("%%opd cancel\nestimator = [sampled, full]\nmode = [full, part]\n", out, sizeof out);
    assert_string_equal(out, "estimator=sampled \u00b7 mode=full|"
                             "estimator=sampled \u00b7 mode=part|estimator=full \u00b7 mode=full|"
                             "estimator=full \u00b7 mode=part");
    /* only the seed swept (or nothing): the cell's name */
    labels_of("%%opd cancel\nseed = [1, 2, 3]\n", out, sizeof out);
    assert_string_equal(out, "cancel|cancel|cancel");
    labels_of("%%opd cancel\nlr = 0.1\n", out, sizeof out);
    assert_string_equal(out, "cancel");
}

/* The metric ranges the charts clamp to (mag_bridge.h). */
static void test_metric_range(void **state)
{
    (void)state;
    static const struct {
        const char *m;
        double lo, hi;
        int zero;
    } want[] = {{"accuracy", 0, 1, 0},
                {"eval_accuracy", 0, 1, 0},
                {"clip_frac", 0, 1, 0},
                {"judge_win_full", 0, 1, 0},
                {"vs_greedy", -1, 1, 0},
                {"kl_ref", 0, INFINITY, 1},
                {"kl_teacher", 0, INFINITY, 1},
                {"entropy", 0, INFINITY, 0},
                {"reward", 0, 0, 0},
                {"loss", 0, 0, 0},
                {"kl_est", 0, 0, 0}}; /* an estimate: k1's can be below 0 */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double lo, hi;
        int zero;
        mag_metric_range(want[i].m, &lo, &hi, &zero);
        assert_true(lo == want[i].lo && hi == want[i].hi && zero == want[i].zero);
    }
    double lo, hi;
    int zero;
    mag_metric_range("pairwise_acc", &lo, &hi, &zero); /* the debate judge's curve */
    assert_true(lo == 0 && hi == 1 && zero == 0);
}

static void test_mean_sd(void **state)
{
    (void)state;
    char out[80];
    const double all[3] = {1.0, 2.0, 3.0};
    mag_train_mean_sd(all, 3, out, sizeof out);
    char a[32], b[32], want[80];
    mag_fmt_num(2.0, 0, a, 32);
    mag_fmt_num(1.0, 0, b, 32);
    snprintf(want, sizeof want, "%s ± %s", a, b);
    assert_string_equal(out, want);
    const double some[3] = {1.0, NAN, 3.0}; /* mean 2, sd sqrt(2) over 2 values */
    mag_train_mean_sd(some, 3, out, sizeof out);
    mag_fmt_num(sqrt(2.0), 0, b, 32);
    snprintf(want, sizeof want, "%s ± %s (2)", a, b);
    assert_string_equal(out, want);
}

static void test_stream(void **state)
{
    (void)state;
    rt_rng want = rt_rng_from_name(7, "base");
    rt_rng got = mag_train_stream(7, "", "base", NULL);
    assert_true(rt_rng_u64(&want) == rt_rng_u64(&got));
    mag_value sv = {.kind = MAG_V_INT, .i = 3};
    want = rt_rng_from_name(7, "debate:base");
    want = rt_rng_split(&want, 1003);
    got = mag_train_stream(7, "debate:", "base", &sv);
    assert_true(rt_rng_u64(&want) == rt_rng_u64(&got));
}

static void test_status_and_store(void **state)
{
    (void)state;
    long step = 9;
    char msg[32] = "x";
    assert_int_equal(mag_train_status(NULL, &step, msg, sizeof msg), RT_RUN_FINISHED);
    assert_int_equal(step, 0);
    assert_string_equal(msg, "");
    const char *cols[] = {"step", "loss"};
    rt_run *run = NULL;
    assert_int_equal(rt_run_create("r", cols, 2, &run), 0);
    /* never started: finished as interrupted */
    assert_int_equal(mag_train_status(run, &step, msg, sizeof msg), RT_RUN_INTERRUPTED);
    rt_run_free(run);
    assert_string_equal(mag_train_suffix(RT_RUN_INTERRUPTED), " (interrupted)");
    assert_string_equal(mag_train_suffix(RT_RUN_FAILED), " (failed)");
    assert_string_equal(mag_train_suffix(RT_RUN_FINISHED), "");

    mag_train_store s;
    mag_train_store_init(&s);
    assert_int_equal(s.stop_step, -1);
    mag_train_note(&s, "a[x=1]", RT_RUN_FINISHED, 10, "");
    mag_train_note(&s, "a[x=2]", RT_RUN_FAILED, 3, "rl: reward is inf at step 3");
    mag_train_note(&s, "a[x=3]", RT_RUN_FAILED, 4, "other");
    mag_train_note(&s, "a[x=4]", RT_RUN_INTERRUPTED, 5, "");
    mag_train_note(&s, "a[x=5]", RT_RUN_INTERRUPTED, 6, "");
    assert_int_equal(s.n_failed, 2);
    assert_string_equal(s.fail_msg, "run 'a[x=2]' failed: rl: reward is inf at step 3");
    assert_int_equal(s.stop_step, 5);
    assert_string_equal(s.stop_name, "a[x=4]");
}

static void test_end(void **state)
{
    (void)state;
    const char *src = "%%rl a\nfrom = b\n";
    mag_cell cell;
    memset(&cell, 0, sizeof cell);
    cell.name_pos = (mag_pos){.line = 1, .col = 3, .off = 2};
    mag_ctx ctx = {.src = src, .len = strlen(src)};
    mag_diag d;
    mag_train_store s;
    mag_train_store_init(&s);
    mag_train_note(&s, "a[x=2]", RT_RUN_FAILED, 3, "boom");
    assert_int_equal(mag_train_end(&ctx, &cell, &s, 0, 10, "a", 3, &d), MAG_ERUNTIME);
    assert_string_equal(d.msg,
                        "cell:1:3: run 'a[x=2]' failed: boom (the other sweep points finished)");
    assert_int_equal(mag_train_end(&ctx, &cell, &s, 0, 10, "a", 1, &d), MAG_ERUNTIME);
    assert_string_equal(d.msg, "cell:1:3: run 'a[x=2]' failed: boom");
    assert_int_equal(mag_train_check_points(&ctx, &cell, 64, &d), 0);
    assert_int_equal(mag_train_check_points(&ctx, &cell, 65, &d), MAG_EVALUE);
    assert_string_equal(d.msg, "cell:1:3: a sweep of 65 points is too large (the limit is 64)");

    /* interrupted: the error names the first stopped point */
    rec_sink m;
    rec_init(&m);
    ctx.out = krn_out_new(&rec_vt, &m, NULL, 3, false);
    mag_train_note(&s, "a[x=3]", RT_RUN_INTERRUPTED, 7, "");
    assert_int_equal(mag_train_end(&ctx, &cell, &s, 1, 10, "a", 3, &d), MAG_INTERRUPTED);
    krn_out_finish(ctx.out);
    int last = rec_count(&m) - 1;
    assert_true(last >= 0);
    assert_string_equal(rec_type(&m, last), "error");
    assert_string_equal(rec_str(&m, last, "evalue"),
                        "interrupted at step 7 of 10 (a[x=3]); the partial runs and their "
                        "policies are kept");
    krn_out_free(ctx.out);
    rec_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_seed),   cmocka_unit_test(test_mean_sd),
        cmocka_unit_test(test_stream),       cmocka_unit_test(test_status_and_store),
        cmocka_unit_test(test_end),          cmocka_unit_test(test_point_labels),
        cmocka_unit_test(test_metric_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
