/* fuzz_taskfile: file-backed tasks (runtime/task/rt_task_data.h, kind file) on a buffer.
 * Input: byte 0 flags, the rest the file's bytes.  Flags:
 *   bits 0-1  the format: jsonl, csv, tsv, verl
 *   bits 2-3  the options: 0 own vocabulary, 1 the built-in vocabulary (vocab=add),
 *             2 split column "split", 3 columns text/label with noise_rule=label
 *   bits 4-7  holdout = (bits + 1) / 17
 * Invariants: a failure returns NULL with a message starting "NAME:" and a key among
 * file, format, prompt, answer, split, vocab; a success has 1..65536 rows split into two
 * non-empty sides, P <= RT_TASK_MAX_P, T <= RT_TASK_MAX_T, the same digest when parsed
 * again, and a task whose samples keep their split, whose demonstrations (both noise
 * outcomes) are answers of at most T tokens ending in EOS, whose target scores
 * correct = 1, whose texts have the file's prompt and answer, and whose prompts are
 * found again by sample_from_text.
 * fuzz-dict: taskfile */
#include "fuzz_common.h"
#include "rt_task.h"
#include "rt_task_data.h"

static const char *const names[4] = {"f.jsonl", "f.csv", "f.tsv", "f.verl"};
static const rt_rows_format fmts[4] = {RT_ROWS_JSONL, RT_ROWS_CSV, RT_ROWS_TSV, RT_ROWS_VERL};
static const char *const keys[6] = {"file", "format", "prompt", "answer", "split", "vocab"};

static void exercise(rt_task_data *d)
{
    rt_task_config c;
    rt_task_config_init(&c, "file");
    c.data = d;
    rt_task *t = NULL;
    rt_diag err = {0};
    FUZZ_CHECK(rt_task_create(&c, &t, &err) == 0, "create: %s", err.msg);
    int P = rt_task_prompt_len(t), T = rt_task_answer_max(t);
    FUZZ_CHECK(P >= 1 && P <= RT_TASK_MAX_P && T >= 2 && T <= RT_TASK_MAX_T, "P %d T %d", P, T);
    rt_rng r = rt_rng_make(1);
    for (int i = 0; i < 8; i++) {
        rt_task_sample s;
        rt_task_split sp = i & 1 ? RT_TASK_HELDOUT : RT_TASK_TRAIN;
        rt_task_sample_prompt(t, &r, sp, &s);
        FUZZ_CHECK(rt_task_split_of(t, &s) == sp, "split of row %d", (int)s.id);
        int ans[RT_TASK_MAX_T], noisy;
        for (int k = 0; k < 2; k++) {
            int n = rt_task_demonstrate(t, &s, k, &r, ans, &noisy);
            FUZZ_CHECK(n >= 2 && n <= T && ans[n - 1] == RT_TOK_EOS, "demonstration of %d", n);
        }
        double f[RT_TASK_MAX_FEATURES];
        rt_task_features(t, &s, s.target, s.target_len, f);
        FUZZ_CHECK(f[0] == 1 && f[3] == 1, "the target scores %g %g", f[0], f[3]);
        rt_task_texts tx;
        rt_task_texts_of(t, &s, s.target, s.target_len, &tx);
        const char *pr = rt_task_data_prompt(d, (int)s.id), *an = rt_task_data_answer(d, (int)s.id);
        FUZZ_CHECK(tx.n == rt_task_n_texts(t) && tx.v[2].n == strlen(pr) &&
                       !memcmp(tx.v[2].s, pr, tx.v[2].n) && tx.v[1].n == strlen(an),
                   "texts of row %d", (int)s.id);
        rt_task_sample back;
        FUZZ_CHECK(rt_task_sample_from_text(t, pr, &back, &err) == 0 && back.id == s.id,
                   "sample_from_text of row %d: %s", (int)s.id, err.msg);
    }
    char buf[4096];
    rt_task_describe(t, &r, 2, buf, sizeof buf);
    rt_task_describe_noise(t, buf, sizeof buf);
    rt_task_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int f = data[0] & 3, opt = (data[0] >> 2) & 3;
    rt_task *add = NULL;
    rt_task_file_opts o;
    memset(&o, 0, sizeof o);
    o.format = fmts[f];
    o.holdout = (double)((data[0] >> 4) + 1) / 17.0;
    if (opt == 1) {
        rt_task_config c;
        rt_task_config_init(&c, "add");
        FUZZ_CHECK(rt_task_create(&c, &add, NULL) == 0, "add");
        o.vocab = add;
        o.vocab_name = "add";
    } else if (opt == 2) {
        o.split = "split";
    } else if (opt == 3) {
        o.prompt = "text";
        o.answer = "label";
        o.noise_rule = RT_TASK_NOISE_LABEL;
    }
    rt_task_data *d = NULL;
    rt_diag err = {0};
    int rc = rt_task_data_parse(&o, names[f], (const char *)data + 1, size - 1, &d, &err);
    if (rc) {
        FUZZ_CHECK(d == NULL && err.code == rc, "code %d, diag %d", rc, err.code);
        FUZZ_CHECK(strncmp(err.msg, names[f], strlen(names[f])) == 0 &&
                       err.msg[strlen(names[f])] == ':',
                   "message '%s'", err.msg);
        int known = 0;
        for (int k = 0; k < 6; k++)
            known |= !strcmp(err.key, keys[k]);
        FUZZ_CHECK(known, "key '%s' of '%s'", err.key, err.msg);
    } else {
        int n = rt_task_data_rows(d);
        FUZZ_CHECK(n >= 2 && n <= RT_TASK_DATA_MAX_ROWS, "%d rows", n);
        FUZZ_CHECK(
            rt_task_data_count(d, RT_TASK_TRAIN) > 0 &&
                rt_task_data_count(d, RT_TASK_HELDOUT) > 0 &&
                rt_task_data_count(d, RT_TASK_TRAIN) + rt_task_data_count(d, RT_TASK_HELDOUT) == n,
            "split");
        rt_task_data *e = NULL;
        FUZZ_CHECK(rt_task_data_parse(&o, names[f], (const char *)data + 1, size - 1, &e, &err) ==
                           0 &&
                       rt_task_data_digest(e) == rt_task_data_digest(d),
                   "a second parse differs");
        rt_task_data_free(e);
        exercise(d);
        rt_task_data_free(d);
    }
    rt_task_free(add);
    return 0;
}
