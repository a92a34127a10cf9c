/* rows_test.c: rt_rows (runtime/core/rt_rows.h): each format on hand-written files
 * (quoting, doubled quotes, embedded newlines, CRLF, 2-, 3- and 4-byte UTF-8, verl's
 * nested columns and chat prompts, TRL's messages), every error word for word with its
 * line:col, the did-you-mean column lookup, every allocation failed in turn (rt_alloc's
 * hook: a clean RT_ENOMEM, nothing returned), determinism, and the same table from a
 * CSV, a TSV and a JSONL of the same data.  The string literals here are also the fuzz
 * seeds of tools/fuzz/fuzz_rows.c (tools/fuzz/seeds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_alloc.h"
#include "rt_rows.h"
#include "rt_text.h"

/* The table as text: the header, then one line per row, cells as KIND:text joined by
 * '|' (kinds: M missing, T text, S string, N number, B bool, Z null; newlines shown as
 * \n). */
static char *dump(const rt_rows *r)
{
    static char out[8192];
    rt_strbuf b;
    rt_strbuf_init_fixed(&b, out, sizeof out);
    for (int c = 0; c < r->n_cols; c++)
        rt_strbuf_printf(&b, "%s%s", c ? "," : "", r->cols[c]);
    rt_strbuf_putc(&b, '\n');
    for (int i = 0; i < r->n_rows; i++) {
        for (int c = 0; c < r->n_cols; c++) {
            size_t n;
            const char *s = rt_rows_cell(r, i, c, &n);
            assert_int_equal(strlen(s), n);
            assert_true(rt_utf8_valid(s, n));
            rt_strbuf_printf(&b, "%s%c:", c ? "|" : "", "MTSNBZ"[rt_rows_kind(r, i, c)]);
            for (size_t k = 0; k < n; k++)
                if (s[k] == '\n')
                    rt_strbuf_puts(&b, "\\n");
                else if (s[k] == '\r')
                    rt_strbuf_puts(&b, "\\r");
                else
                    rt_strbuf_putc(&b, s[k]);
        }
        rt_strbuf_putc(&b, '\n');
    }
    assert_int_equal(b.err, 0);
    return out;
}

static void ok(const char *name, const char *text, rt_rows_format f, const char *want)
{
    rt_rows *r = NULL;
    rt_diag d = {0};
    int rc = rt_rows_parse(&r, name, text, strlen(text), f, &d);
    if (rc) fprintf(stderr, "%s: unexpected error: %s\n", name, d.msg);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    const char *got = dump(r);
    if (strcmp(got, want)) fprintf(stderr, "%s: got\n%s---want\n%s---\n", name, got, want);
    assert_string_equal(got, want);
    rt_rows_free(r);
}

static void bad_n(const char *name, const char *text, size_t n, rt_rows_format f, int code,
                  const char *msg, int line, int col)
{
    rt_rows *r = (rt_rows *)1;
    rt_diag d = {0};
    int rc = rt_rows_parse(&r, name, text, n, f, &d);
    if (rc != code || strcmp(d.msg, msg))
        fprintf(stderr, "got %d '%s', want %d '%s'\n", rc, d.msg, code, msg);
    assert_int_equal(rc, code);
    assert_int_equal(d.code, code);
    assert_null(r);
    assert_string_equal(d.msg, msg);
    assert_int_equal(d.line, line);
    assert_int_equal(d.col, col);
}

static void bad(const char *name, const char *text, rt_rows_format f, int code, const char *msg,
                int line, int col)
{
    bad_n(name, text, strlen(text), f, code, msg, line, col);
}

/* ---- formats -------------------------------------------------------------------- */

static void jsonl_values(void **state)
{
    (void)state;
    ok("a.jsonl",
       "{\"q\": \"3 km in m\", \"a\": 3000, \"ok\": true, \"n\": null}\n"
       "{\"a\": -1.5e3, \"q\": \"caf\\u00e9 \\\"x\\\" \\\\ \\/ \\t\", \"ok\": false}\r\n"
       "{\"q\": \"\xe2\x82\xac \xf0\x9f\x98\x80 \\ud83d\\ude00\", \"extra\": 0}",
       RT_ROWS_AUTO,
       "q,a,ok,n,extra\n"
       "S:3 km in m|N:3000|B:true|Z:|M:\n"
       "S:caf\xc3\xa9 \"x\" \\ / \t|N:-1.5e3|B:false|M:|M:\n"
       "S:\xe2\x82\xac \xf0\x9f\x98\x80 \xf0\x9f\x98\x80|M:|M:|M:|N:0\n");
}

static void jsonl_nested_and_messages(void **state)
{
    (void)state;
    ok("n.jsonl",
       "{\"prompt\": \"p\", \"extra_info\": {\"split\": \"train\", \"index\": 4, \"deep\": {\"x\": "
       "\"y\"}}}\n"
       "{\"prompt\": \"q\", \"extra_info\": {}}\n",
       RT_ROWS_JSONL,
       "prompt,extra_info.split,extra_info.index,extra_info.deep.x\n"
       "S:p|S:train|N:4|S:y\n"
       "S:q|M:|M:|M:\n");
    ok("m.jsonl",
       "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2\"}, {\"content\": \"4\", \"role\": "
       "\"assistant\"}], \"id\": 7}\n"
       "{\"prompt\": \"reverse abc\", \"completion\": \"cba\", \"id\": 8}\n",
       RT_ROWS_AUTO, "prompt,completion,id\nS:2+2|S:4|N:7\nS:reverse abc|S:cba|N:8\n");
}

static void verl_rows(void **state)
{
    (void)state;
    ok("v.jsonl",
       "{\"data_source\": \"openai/gsm8k\", \"prompt\": [{\"role\": \"user\", \"content\": "
       "\"1+1?\"}], "
       "\"ability\": \"math\", \"reward_model\": {\"style\": \"rule\", \"ground_truth\": \"2\"}, "
       "\"extra_info\": {\"split\": \"train\", \"index\": 0}}\n"
       "{\"data_source\": \"u\", \"prompt\": \"3 km in m\", \"reward_model\": {\"ground_truth\": "
       "3000}}\n",
       RT_ROWS_VERL,
       "domain,prompt,ability,reward_model.style,answer,extra_info.split,extra_info.index\n"
       "S:openai/gsm8k|S:1+1?|S:math|S:rule|S:2|S:train|N:0\n"
       "S:u|S:3 km in m|M:|M:|N:3000|M:|M:\n");
    bad("v.jsonl", "{\"prompt\": \"x\", \"reward_model\": {\"style\": \"rule\"}}\n", RT_ROWS_VERL,
        RT_EPARSE, "v.jsonl:1:1: verl row without 'reward_model.ground_truth'", 1, 1);
    bad("v.jsonl",
        "{\"prompt\": \"x\", \"reward_model\": {\"ground_truth\": \"1\"}}\n{\"reward_model\": {}}",
        RT_ROWS_VERL, RT_EPARSE, "v.jsonl:2:1: verl row without 'prompt'", 2, 1);
    bad("v.jsonl",
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": "
        "\"b\"}]}",
        RT_ROWS_VERL, RT_EPARSE,
        "v.jsonl:1:12: 'prompt' with 2 messages; accepted: a string or [{\"role\": \"user\", "
        "\"content\": ...}] "
        "(one user turn)",
        1, 12);
}

static void csv_quoting(void **state)
{
    (void)state;
    ok("a.csv",
       "question,answer\r\n"
       "\"say \"\"hi\"\"\",\"a,b\"\r\n"
       "\"two\r\nlines\",\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\r\n"
       ",\r\n"
       "plain,\"\"\r\n",
       RT_ROWS_AUTO,
       "question,answer\n"
       "T:say \"hi\"|T:a,b\n"
       "T:two\\r\\nlines|T:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n"
       "T:|T:\n"
       "T:plain|T:\n");
    /* no final newline; LF only; a lone CR kept in an unquoted field; BOM skipped */
    ok("b.csv", "\xef\xbb\xbfx,y\n1,a\rb\n2,\"q\"", RT_ROWS_CSV, "x,y\nT:1|T:a\\rb\nT:2|T:q\n");
}

static void tsv_escapes(void **state)
{
    (void)state;
    ok("a.tsv", "text\tlabel\r\nhas \\t tab\tx\r\n\"quoted\" stays\t\\\\n\na\\nb\tc:\\path\n",
       RT_ROWS_AUTO,
       "text,label\nT:has \t tab|T:x\nT:\"quoted\" stays|T:\\n\nT:a\\nb|T:c:\\path\n");
}

/* the same rows from CSV, TSV and JSONL (JSON kinds differ; text is the same) */
static void same_rows_every_format(void **state)
{
    (void)state;
    static const char *csv =
        "prompt,answer\n\"3 km, in m\",3000\n\"say \"\"\xc3\xa9\"\"\",\xf0\x9f\x98\x80\n";
    static const char *tsv =
        "prompt\tanswer\n3 km, in m\t3000\nsay \"\xc3\xa9\"\t\xf0\x9f\x98\x80\n";
    static const char *jsonl =
        "{\"prompt\": \"3 km, in m\", \"answer\": \"3000\"}\n"
        "{\"prompt\": \"say \\\"\\u00e9\\\"\", \"answer\": \"\\ud83d\\ude00\"}\n";
    rt_rows *r[3];
    rt_diag d = {0};
    assert_int_equal(rt_rows_parse(&r[0], "x.csv", csv, strlen(csv), RT_ROWS_AUTO, &d), 0);
    assert_int_equal(rt_rows_parse(&r[1], "x.tsv", tsv, strlen(tsv), RT_ROWS_AUTO, &d), 0);
    assert_int_equal(rt_rows_parse(&r[2], "x.jsonl", jsonl, strlen(jsonl), RT_ROWS_AUTO, &d), 0);
    for (int k = 1; k < 3; k++) {
        assert_int_equal(r[k]->n_rows, 2);
        assert_int_equal(r[k]->n_cols, 2);
        for (int c = 0; c < 2; c++) {
            assert_string_equal(r[k]->cols[c], r[0]->cols[c]);
            for (int i = 0; i < 2; i++)
                assert_string_equal(rt_rows_cell(r[k], i, c, NULL), rt_rows_cell(r[0], i, c, NULL));
        }
    }
    assert_int_equal(r[0]->line[1 * 2 + 1], 3);
    assert_int_equal(r[0]->col[1 * 2 + 1], 13); /* after `"say ""é""",`: 12 code points */
    assert_int_equal(r[2]->col[1 * 2 + 1], 40); /* {"prompt": "say \"\u00e9\"", "answer": : 39 */
    assert_int_equal(r[2]->row_line[1], 2);
    for (int k = 0; k < 3; k++)
        rt_rows_free(r[k]);
}

/* twice the same bytes: the same table, byte for byte */
static void deterministic(void **state)
{
    (void)state;
    static const char *t =
        "{\"a\": 1, \"b\": {\"c\": \"x\"}}\n{\"b\": {\"c\": \"y\"}, \"d\": [1]}\n";
    static const char *u =
        "{\"a\": 1, \"b\": {\"c\": \"x\"}}\n{\"b\": {\"c\": \"y\"}, \"a\": 2.0}\n";
    rt_rows *r1, *r2;
    rt_diag d = {0};
    assert_int_equal(rt_rows_parse(&r1, "u.jsonl", t, strlen(t), RT_ROWS_AUTO, &d), RT_EPARSE);
    assert_int_equal(rt_rows_parse(&r1, "u.jsonl", u, strlen(u), RT_ROWS_AUTO, &d), 0);
    assert_int_equal(rt_rows_parse(&r2, "u.jsonl", u, strlen(u), RT_ROWS_AUTO, &d), 0);
    char a[1024];
    snprintf(a, sizeof a, "%s", dump(r1));
    assert_string_equal(a, dump(r2));
    assert_string_equal(a, "a,b.c\nN:1|S:x\nN:2.0|S:y\n");
    rt_rows_free(r1);
    rt_rows_free(r2);
}

/* ---- files ---------------------------------------------------------------------- */

static void files(void **state)
{
    (void)state;
    char dir[] = "/tmp/rows_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/data.csv", dir);
    FILE *f = fopen(path, "wb");
    fputs("question,answer\nq1,a1\n", f);
    fclose(f);
    rt_rows *r;
    rt_diag d = {0};
    assert_int_equal(rt_rows_read(&r, path, RT_ROWS_AUTO, &d), 0);
    assert_string_equal(r->name, path);
    assert_int_equal(r->format, RT_ROWS_CSV);
    assert_string_equal(rt_rows_cell(r, 0, 1, NULL), "a1");
    /* the column lookup */
    assert_int_equal(rt_rows_column(r, "answer", "answer", &d), 1);
    rt_diag_clear(&d);
    assert_int_equal(rt_rows_column(r, "qustion", "prompt", &d), RT_ENOTFOUND);
    char want[400];
    snprintf(want, sizeof want,
             "%s: no column 'qustion' (did you mean 'question'?); columns: question, answer", path);
    assert_string_equal(d.msg, want);
    assert_string_equal(d.key, "prompt");
    rt_diag_clear(&d);
    assert_int_equal(rt_rows_column(r, "zzz", NULL, &d), RT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: no column 'zzz'; columns: question, answer", path);
    assert_string_equal(d.msg, want);
    assert_string_equal(d.key, "");
    rt_rows_free(r);
    /* the format given overrides the extension */
    snprintf(path, sizeof path, "%s/data.txt", dir);
    f = fopen(path, "wb");
    fputs("{\"p\": \"x\"}\n", f);
    fclose(f);
    rt_diag_clear(&d);
    assert_int_equal(rt_rows_read(&r, path, RT_ROWS_AUTO, &d), RT_EINVAL);
    snprintf(want, sizeof want,
             "%s: cannot tell the format from the extension (.jsonl, .csv or .tsv); give "
             "format=jsonl|csv|tsv|verl",
             path);
    assert_string_equal(d.msg, want);
    assert_null(r);
    assert_int_equal(rt_rows_read(&r, path, RT_ROWS_JSONL, &d), 0);
    assert_int_equal(r->n_rows, 1);
    rt_rows_free(r);
    remove(path);
    /* missing, a directory */
    rt_diag_clear(&d);
    snprintf(path, sizeof path, "%s/none.csv", dir);
    assert_int_equal(rt_rows_read(&r, path, RT_ROWS_AUTO, &d), RT_ENOENT);
    snprintf(want, sizeof want, "%s: no such file", path);
    assert_string_equal(d.msg, want);
    assert_int_equal(d.line, 0);
    assert_int_equal(rt_rows_read(&r, dir, RT_ROWS_CSV, &d), RT_EIO);
    snprintf(want, sizeof want, "%s: is a directory", dir);
    assert_string_equal(d.msg, want);
    snprintf(path, sizeof path, "%s/data.csv", dir);
    remove(path);
    rmdir(dir);
    /* names */
    assert_int_equal(rt_rows_format_parse("verl"), RT_ROWS_VERL);
    assert_int_equal(rt_rows_format_parse("parquet"), -1);
    assert_string_equal(rt_rows_format_name(RT_ROWS_TSV), "tsv");
    assert_int_equal(rt_rows_format_of_path("x.jsonl"), RT_ROWS_JSONL);
    assert_int_equal(rt_rows_format_of_path(".csv"), RT_ROWS_AUTO);
    assert_true(rt_rows_is_number("-0.5e+3", 7));
    assert_false(rt_rows_is_number("01", 2));
    assert_false(rt_rows_is_number("1.", 2));
    assert_false(rt_rows_is_number("", 0));
}

/* the example data of notebooks/data/ (tools/gen-notebook-data.py): each file reads,
 * with the columns the notebook names and prompts/answers within the task's caps (15
 * code points: RT_TASK_MAX_P / RT_TASK_MAX_T of rt_task.h less EOS) */
static void notebook_data(void **state)
{
    (void)state;
    static const struct {
        const char *file, *prompt, *answer;
        int rows;
    } files[] = {{"units.jsonl", "prompt", "completion", 320},
                 {"reverse.csv", "prompt", "answer", 300},
                 {"triage.tsv", "text", "label", 252}};
    char root[512];
    snprintf(root, sizeof root, "%s", __FILE__); /* meson compiles with the absolute path */
    char *cut = strstr(root, "tests/runtime/core/rows_test.c");
    assert_non_null(cut);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[640];
        snprintf(path, sizeof path, "%.*snotebooks/data/%s", (int)(cut - root), root,
                 files[k].file);
        rt_rows *r;
        rt_diag d = {0};
        int rc = rt_rows_read(&r, path, RT_ROWS_AUTO, &d);
        if (rc) fprintf(stderr, "%s\n", d.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(r->n_rows, files[k].rows);
        int p = rt_rows_column(r, files[k].prompt, NULL, &d),
            a = rt_rows_column(r, files[k].answer, NULL, &d);
        assert_true(p >= 0 && a >= 0);
        for (int i = 0; i < r->n_rows; i++) {
            size_t n;
            const char *s = rt_rows_cell(r, i, p, &n);
            assert_true(n > 0 && rt_utf8_cols(s, n) <= 15);
            s = rt_rows_cell(r, i, a, &n);
            assert_true(n > 0 && rt_utf8_cols(s, n) <= 15);
        }
        rt_rows_free(r);
    }
}

/* ---- errors --------------------------------------------------------------------- */

static void errors_text(void **state)
{
    (void)state;
    bad("e.csv", "", RT_ROWS_AUTO, RT_EPARSE, "e.csv:1:1: empty file", 1, 1);
    bad("e.csv", "\xef\xbb\xbf", RT_ROWS_AUTO, RT_EPARSE, "e.csv:1:2: empty file", 1, 2);
    bad("e.csv", "a,b\nx,\xc3\xa9\xe2\x82\xac\xff\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.csv:2:5: invalid UTF-8 (byte 0xFF at offset 11)", 2, 5);
    bad("e.tsv", "a\tb\n\xed\xa0\x80\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.tsv:2:1: invalid UTF-8 (byte 0xED at offset 4)", 2, 1);
    bad_n("e.csv", "\xff\xfe" "a\0,\0b\0", 8, RT_ROWS_AUTO, RT_EPARSE,
          "e.csv:1:1: UTF-16 text (byte order mark FF FE); save the file as UTF-8", 1, 1);
    bad_n("e.tsv", "a\tb\nx\0y\tz\n", 10, RT_ROWS_AUTO, RT_EPARSE, "e.tsv:2:2: NUL byte", 2, 2);
    bad("e", "a", RT_ROWS_AUTO, RT_EINVAL,
        "e: cannot tell the format from the extension (.jsonl, .csv or .tsv); give "
        "format=jsonl|csv|tsv|verl",
        0, 0);
}

static void errors_csv(void **state)
{
    (void)state;
    bad("e.csv", "a,b\n1,2,3\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.csv:2:1: row has 3 fields, the header 2", 2, 1);
    bad("e.csv", "a,b\n1,2\n\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.csv:3:1: row has 1 field, the header 2", 3, 1);
    bad("e.tsv", "a\tb\nx\ty\n\xc3\xa9\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.tsv:3:1: row has 1 field, the header 2", 3, 1);
    bad("e.csv", "a,b,a\n", RT_ROWS_AUTO, RT_EPARSE, "e.csv:1:5: duplicate column 'a'", 1, 5);
    bad("e.tsv", "a\t\tb\n", RT_ROWS_AUTO, RT_EPARSE, "e.tsv:1:3: empty column name", 1, 3);
    bad("e.csv", "a,b\n", RT_ROWS_AUTO, RT_EPARSE, "e.csv:2:1: no rows after the header", 2, 1);
    bad("e.csv", "a,b", RT_ROWS_AUTO, RT_EPARSE, "e.csv:1:4: no rows after the header", 1, 4);
    bad("e.csv", "a,b\n\"x\ny,z\n", RT_ROWS_AUTO, RT_EPARSE, "e.csv:2:1: unterminated quoted field",
        2, 1);
    bad("e.csv", "a,b\n\"x\"y,z\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.csv:2:4: expected ',' or the end of the line after a closing quote", 2, 4);
    bad("e.csv", "a,b\n\xc3\xa9x\"y,z\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.csv:2:3: '\"' in an unquoted field (quote the whole field and double the quote)", 2, 3);
}

static void errors_jsonl(void **state)
{
    (void)state;
    bad("e.jsonl", "{\"a\": 1}\n\n{\"a\": 2}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:2:1: empty line (JSONL holds one object per line)", 2, 1);
    bad("e.jsonl", "{\"a\": 1}\n  \r\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:2:1: empty line (JSONL holds one object per line)", 2, 1);
    bad("e.jsonl", "[1]\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:1: expected '{' (one JSON object per line)", 1, 1);
    bad("e.jsonl", "{\"\xc3\xa9\" 1}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:6: expected ':' after the key", 1, 6);
    bad("e.jsonl", "{\"a\": 1 \"b\": 2}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:9: expected ',' or '}'", 1, 9);
    bad("e.jsonl", "{\"a\": 1,}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:9: expected a key (a string)", 1, 9);
    bad("e.jsonl", "{\"a\": 1,\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:9: expected a key (unclosed '{')", 1, 9);
    bad("e.jsonl", "{\"a\": tru}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:7: expected a value (a string, number, true, false, null or object)", 1, 7);
    bad("e.jsonl", "{\"a\": \"x}\n", RT_ROWS_AUTO, RT_EPARSE, "e.jsonl:1:7: unterminated string", 1,
        7);
    bad("e.jsonl", "{\"a\": \"x\\q\"}\n", RT_ROWS_AUTO, RT_EPARSE, "e.jsonl:1:9: bad escape '\\q'",
        1, 9);
    bad("e.jsonl", "{\"a\": \"\\ud800\"}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:8: bad escape '\\u' (unpaired surrogate)", 1, 8);
    bad("e.jsonl", "{\"a\": \"\\u0000\"}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:8: NUL character (\\u0000) in a string", 1, 8);
    bad("e.jsonl", "{\"a\": \"\t\"}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:8: control character 0x09 in a string (write it as an escape)", 1, 8);
    bad("e.jsonl", "{\"a\": 1} x\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:10: text after the object (one JSON object per line)", 1, 10);
    bad("e.jsonl", "{\"a\": 1, \"a\": 2}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:10: duplicate column 'a'", 1, 10);
    bad("e.jsonl", "{\"b\": {\"c\": 1}, \"b.c\": 2}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:17: duplicate column 'b.c'", 1, 17);
    bad("e.jsonl", "{\"\": 1}\n", RT_ROWS_AUTO, RT_EPARSE, "e.jsonl:1:2: empty column name", 1, 2);
    bad("e.jsonl", "{\"a\": 01}\n", RT_ROWS_AUTO, RT_EPARSE, "e.jsonl:1:8: expected ',' or '}'", 1,
        8);
    bad("e.jsonl", "{\"a\": [1, 2]}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:7: a list in 'a' (lists are read only as TRL's 'messages')", 1, 7);
    bad("e.jsonl", "{\"prompt\": [{\"role\": \"user\", \"content\": \"x\"}]}\n", RT_ROWS_VERL,
        RT_EPARSE, "e.jsonl:1:1: verl row without 'reward_model.ground_truth'", 1, 1);
    bad("e.jsonl", "{\"x\": {\"prompt\": [1]}}\n", RT_ROWS_VERL, RT_EPARSE,
        "e.jsonl:1:18: a list in 'x.prompt' (lists are read only as TRL's 'messages' and verl's "
        "'prompt')",
        1, 18);
}

static void errors_messages(void **state)
{
    (void)state;
    static const char *acc =
        "accepted: exactly [{\"role\": \"user\", \"content\": ...}, {\"role\": \"assistant\", "
        "\"content\": ...}] (chat-free: one user turn, then one assistant turn)";
    char want[512];
    snprintf(want, sizeof want, "e.jsonl:1:14: 'messages' with 1 message; %s", acc);
    bad("e.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n", RT_ROWS_AUTO,
        RT_EPARSE, want, 1, 14);
    snprintf(want, sizeof want, "e.jsonl:1:14: 'messages' with 2 messages; %s", acc);
    bad("e.jsonl",
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}, {\"role\": \"user\", "
        "\"content\": \"y\"}]}\n",
        RT_ROWS_AUTO, RT_EPARSE, want, 1, 14);
    snprintf(want, sizeof want, "e.jsonl:1:24: role 'system' in 'messages'; %s", acc);
    bad("e.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}\n", RT_ROWS_AUTO,
        RT_EPARSE, want, 1, 24);
    bad("e.jsonl", "{\"messages\": [{\"role\": \"user\", \"name\": \"x\"}]}\n", RT_ROWS_AUTO,
        RT_EPARSE,
        "e.jsonl:1:32: unexpected key 'name' in a message (a message has \"role\" and \"content\")",
        1, 32);
    bad("e.jsonl", "{\"messages\": [{\"role\": \"user\"}]}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:30: a message without \"content\"", 1, 30);
    bad("e.jsonl", "{\"messages\": [\"x\"]}\n", RT_ROWS_AUTO, RT_EPARSE,
        "e.jsonl:1:15: expected a message {\"role\": ..., \"content\": ...} in 'messages'", 1, 15);
    bad("e.jsonl",
        "{\"prompt\": \"p\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": "
        "\"assistant\", "
        "\"content\": \"y\"}]}\n",
        RT_ROWS_AUTO, RT_EPARSE, "e.jsonl:1:17: duplicate column 'prompt'", 1, 17);
}

static void errors_caps(void **state)
{
    (void)state;
    char *buf = malloc(300000 * 3);
    assert_non_null(buf);
    if (!buf) return; /* for the compiler's flow analysis (-Wformat-overflow) */
    char want[256];
    /* a cell above RT_ROWS_MAX_CELL */
    size_t n = (size_t)sprintf(buf, "a,b\n1,");
    memset(buf + n, 'x', RT_ROWS_MAX_CELL + 1);
    n += RT_ROWS_MAX_CELL + 1;
    buf[n++] = '\n';
    snprintf(want, sizeof want,
             "c.csv:2:3: cell of %d bytes, above the cap of %d (RT_ROWS_MAX_CELL)",
             RT_ROWS_MAX_CELL + 1, RT_ROWS_MAX_CELL);
    bad_n("c.csv", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, 2, 3);
    /* exactly the cap is fine */
    n = (size_t)sprintf(buf, "a\n");
    memset(buf + n, 'x', RT_ROWS_MAX_CELL);
    n += RT_ROWS_MAX_CELL;
    rt_rows *r;
    rt_diag d = {0};
    assert_int_equal(rt_rows_parse(&r, "c.csv", buf, n, RT_ROWS_AUTO, &d), 0);
    rt_rows_free(r);
    /* a JSONL line above RT_ROWS_MAX_ROW */
    n = (size_t)sprintf(buf, "{\"a\": 1}\n{\"a\": \"");
    memset(buf + n, 'y', RT_ROWS_MAX_ROW);
    n += RT_ROWS_MAX_ROW;
    n += (size_t)sprintf(buf + n, "\"}\n");
    snprintf(want, sizeof want,
             "c.jsonl:2:1: line of %d bytes, above the cap of %d (RT_ROWS_MAX_ROW)",
             RT_ROWS_MAX_ROW + 9, RT_ROWS_MAX_ROW);
    bad_n("c.jsonl", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, 2, 1);
    /* a CSV record above RT_ROWS_MAX_ROW (cells within their cap) */
    n = (size_t)sprintf(buf, "a");
    for (int c = 1; c < 20; c++)
        n += (size_t)sprintf(buf + n, ",c%d", c);
    buf[n++] = '\n';
    for (int c = 0; c < 20; c++) {
        memset(buf + n, 'z', 4000);
        n += 4000;
        buf[n++] = c < 19 ? ',' : '\n';
    }
    snprintf(want, sizeof want, "c.csv:2:1: row of more than %d bytes (RT_ROWS_MAX_ROW)",
             RT_ROWS_MAX_ROW);
    bad_n("c.csv", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, 2, 1);
    /* columns, names, nesting */
    n = 0;
    for (int c = 0; c <= RT_ROWS_MAX_COLS; c++)
        n += (size_t)sprintf(buf + n, "%sc%d", c ? "\t" : "", c);
    buf[n++] = '\n';
    snprintf(want, sizeof want, "c.tsv:1:%d: more than %d columns (RT_ROWS_MAX_COLS)",
             3 * 10 + 4 * 54 + 1, RT_ROWS_MAX_COLS);
    bad_n("c.tsv", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, 1, 3 * 10 + 4 * 54 + 1);
    n = (size_t)sprintf(buf, "{\"a\": 1, \"");
    memset(buf + n, 'k', RT_ROWS_MAX_NAME + 1);
    n += RT_ROWS_MAX_NAME + 1;
    n += (size_t)sprintf(buf + n, "\": 1}\n");
    snprintf(want, sizeof want,
             "c.jsonl:1:10: column name above the cap of %d bytes (RT_ROWS_MAX_NAME)",
             RT_ROWS_MAX_NAME);
    bad_n("c.jsonl", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, 1, 10);
    bad("c.jsonl", "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": {\"h\": {}}}}}}}}\n",
        RT_ROWS_AUTO, RT_ELIMIT, "c.jsonl:1:49: objects nested deeper than 8 (RT_ROWS_MAX_DEPTH)",
        1, 49);
    ok("c.jsonl", "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": {\"g\": 1}}}}}}}\n",
       RT_ROWS_AUTO, "a.b.c.d.e.f.g\nN:1\n");
    /* rows: RT_ROWS_MAX_ROWS fit, one more does not */
    n = (size_t)sprintf(buf, "x\n");
    for (int i = 0; i < RT_ROWS_MAX_ROWS; i++)
        buf[n++] = 'a' + i % 26, buf[n++] = '\n';
    assert_int_equal(rt_rows_parse(&r, "c.csv", buf, n, RT_ROWS_AUTO, &d), 0);
    assert_int_equal(r->n_rows, RT_ROWS_MAX_ROWS);
    assert_int_equal(r->row_line[RT_ROWS_MAX_ROWS - 1], RT_ROWS_MAX_ROWS + 1);
    rt_rows_free(r);
    buf[n++] = 'z', buf[n++] = '\n';
    snprintf(want, sizeof want, "c.csv:%d:1: more than %d rows (RT_ROWS_MAX_ROWS)",
             RT_ROWS_MAX_ROWS + 2, RT_ROWS_MAX_ROWS);
    bad_n("c.csv", buf, n, RT_ROWS_AUTO, RT_ELIMIT, want, RT_ROWS_MAX_ROWS + 2, 1);
    /* the file cap (checked before any byte is read) */
    rt_diag_clear(&d);
    assert_int_equal(
        rt_rows_parse(&r, "big.csv", buf, (size_t)RT_ROWS_MAX_FILE + 1, RT_ROWS_AUTO, &d),
        RT_ELIMIT);
    snprintf(want, sizeof want, "big.csv: %u bytes, above the cap of %u (RT_ROWS_MAX_FILE, 64 MiB)",
             RT_ROWS_MAX_FILE + 1, RT_ROWS_MAX_FILE);
    assert_string_equal(d.msg, want);
    free(buf);
}

/* ---- allocation failures -------------------------------------------------------- */

static void alloc_failures(void **state)
{
    (void)state;
    static const char *in[] = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", "
        "\"content\": \"y\"}]}\n"
        "{\"prompt\": \"a\", \"completion\": \"b\", \"m\": {\"n\": 1.5}}\n",
        "q,a\n\"x,y\",1\nz,2\n",
    };
    static const char *names[] = {"f.jsonl", "f.csv"};
    for (int k = 0; k < 2; k++) {
        rt_rows *r;
        rt_diag d = {0};
        assert_int_equal(rt_rows_parse(&r, names[k], in[k], strlen(in[k]), RT_ROWS_AUTO, &d), 0);
        char want[512];
        snprintf(want, sizeof want, "%s", dump(r));
        rt_rows_free(r);
        int done = 0;
        for (long fail = 1; !done && fail < 1000; fail++) {
            rt_alloc_fail_at(fail);
            rt_diag_clear(&d);
            int rc = rt_rows_parse(&r, names[k], in[k], strlen(in[k]), RT_ROWS_AUTO, &d);
            long made = rt_alloc_count();
            rt_alloc_fail_at(0);
            if (rc == 0) {
                assert_true(made < fail);
                assert_string_equal(dump(r), want);
                rt_rows_free(r);
                done = 1;
                continue;
            }
            assert_int_equal(rc, RT_ENOMEM);
            assert_null(r);
            char m[64];
            snprintf(m, sizeof m, "%s: out of memory", names[k]);
            assert_string_equal(d.msg, m);
        }
        assert_true(done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonl_values),  cmocka_unit_test(jsonl_nested_and_messages),
        cmocka_unit_test(verl_rows),     cmocka_unit_test(csv_quoting),
        cmocka_unit_test(tsv_escapes),   cmocka_unit_test(same_rows_every_format),
        cmocka_unit_test(deterministic), cmocka_unit_test(files),
        cmocka_unit_test(errors_text),   cmocka_unit_test(errors_csv),
        cmocka_unit_test(errors_jsonl),  cmocka_unit_test(errors_messages),
        cmocka_unit_test(errors_caps),   cmocka_unit_test(alloc_failures),
        cmocka_unit_test(notebook_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
