/* parse_test.c: good cells and their parsed structure (kinds, names, values, raw
 * spans, positions in code points), body kinds, file-path names, CRLF, parse_value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lang_opts.h"
#include "mag_lang.h"

static mag_cell *parse_ok(const char *src)
{
    mag_cell *c = NULL;
    mag_diag d;
    int r = mag_parse_cell(src, strlen(src), FX_OPTS, &c, &d);
    if (r) fail_msg("unexpected error %d: %s", r, d.msg);
    return c;
}

static void pos_is(mag_pos p, int line, int col)
{
    if (p.line != line || p.col != col)
        fail_msg("position %d:%d, want %d:%d", p.line, p.col, line, col);
}

static void line_cell(void **state)
{
    (void)state;
    const char *src = "%task t add digits=3 # three digits\n"
                      "\n"
                      "  # a comment line\n"
                      "%eval p k=8 temperature=0.5\n"
                      "correct - 0.1 * length\n"
                      "?%%rl\n"
                      "lambda?\n"
                      "%sample p prompt=\"hé\\n\\u00e9\\t\\\"q\\\"\\\\\"\n"
                      "%plot r1 r2 logy smooth=-0.5e1";
    mag_cell *c = parse_ok(src);
    assert_int_equal(c->kind, MAG_CELL_LINES);
    assert_int_equal(c->nlines, 7);
    const mag_line *l = &c->lines[0];
    assert_int_equal(l->kind, MAG_LINE_MAGIC);
    assert_string_equal(l->name, "task");
    pos_is(l->pos, 1, 1);
    pos_is(l->name_pos, 1, 2);
    assert_int_equal(l->nargs, 3);
    assert_null(l->args[0].key);
    assert_int_equal(l->args[0].value.kind, MAG_V_NAME);
    assert_string_equal(l->args[0].value.str, "t");
    assert_string_equal(l->args[1].value.str, "add");
    assert_string_equal(l->args[2].key, "digits");
    pos_is(l->args[2].key_pos, 1, 13);
    assert_int_equal(l->args[2].value.kind, MAG_V_INT);
    assert_int_equal(l->args[2].value.i, 3);
    pos_is(l->args[2].value.pos, 1, 20);
    assert_string_equal(l->args_text.text, "t add digits=3 # three digits");
    pos_is(l->args_text.pos, 1, 7);

    l = &c->lines[1];
    assert_string_equal(l->name, "eval");
    pos_is(l->pos, 4, 1);
    assert_int_equal(l->args[2].value.kind, MAG_V_FLOAT);
    assert_true(l->args[2].value.num == 0.5);
    assert_string_equal(l->args[2].value.text, "0.5");

    l = &c->lines[2];
    assert_int_equal(l->kind, MAG_LINE_EXPR);
    assert_string_equal(l->expr.text, "correct - 0.1 * length");
    assert_int_equal(l->expr.len, 22);
    pos_is(l->expr.pos, 5, 1);

    assert_int_equal(c->lines[3].kind, MAG_LINE_HELP);
    assert_string_equal(c->lines[3].name, "%%rl");
    pos_is(c->lines[3].name_pos, 6, 2);
    assert_int_equal(c->lines[4].kind, MAG_LINE_HELP);
    assert_string_equal(c->lines[4].name, "lambda");

    l = &c->lines[5];
    assert_string_equal(l->args[1].key, "prompt");
    assert_int_equal(l->args[1].value.kind, MAG_V_STRING);
    assert_string_equal(l->args[1].value.str, "hé\né\t\"q\"\\");
    assert_string_equal(l->args[1].value.text, "\"hé\\n\\u00e9\\t\\\"q\\\"\\\\\"");

    l = &c->lines[6];
    assert_int_equal(l->nargs, 4);
    assert_string_equal(l->args[2].value.str, "logy");
    assert_int_equal(l->args[3].value.kind, MAG_V_FLOAT);
    assert_true(l->args[3].value.num == -5.0);
    mag_cell_free(c);
}

static void config_cell(void **state)
{
    (void)state;
    const char *src = "# comments and blank lines may come first\n"
                      "\n"
                      "%%opd student  # header comment\n"
                      "from = base-v2\n"
                      "teacher = {add: t_add, sort: t_sort}   # routing\n"
                      "lambda = [1, 1.25,\n"
                      "          1.5,   # comments inside brackets\n"
                      "          2,]\n"
                      "\n"
                      "lr = -3e-4\n"
                      "note = \"é ü\"\n"
                      "grid = [[1, 2], [], {}]\n"
                      "big = 9223372036854775807\n";
    mag_cell *c = parse_ok(src);
    assert_int_equal(c->kind, MAG_CELL_MAGIC);
    assert_string_equal(c->name, "opd");
    pos_is(c->pos, 3, 1);
    pos_is(c->name_pos, 3, 3);
    assert_int_equal(c->nargs, 1);
    assert_string_equal(c->args[0].value.str, "student");
    assert_int_equal(c->body_kind, MAG_BODY_CONFIG);
    pos_is(c->body.pos, 4, 1);
    assert_int_equal(c->nentries, 7);
    const mag_kv *e = c->entries;
    assert_string_equal(e[0].key, "from");
    assert_string_equal(e[0].value.str, "base-v2");
    assert_int_equal(e[1].value.kind, MAG_V_MAP);
    assert_int_equal(e[1].value.n, 2);
    assert_string_equal(e[1].value.entries[1].key, "sort");
    pos_is(e[1].value.entries[1].key_pos, 5, 24);
    assert_string_equal(e[1].value.entries[1].value.str, "t_sort");
    assert_string_equal(e[1].value.text, "{add: t_add, sort: t_sort}");
    const mag_value *lam = &e[2].value;
    assert_int_equal(lam->kind, MAG_V_LIST);
    assert_int_equal(lam->n, 4);
    assert_int_equal(lam->items[0].kind, MAG_V_INT);
    assert_int_equal(lam->items[1].kind, MAG_V_FLOAT);
    assert_string_equal(lam->items[1].text, "1.25");
    pos_is(lam->items[2].pos, 7, 11);
    pos_is(lam->items[3].pos, 8, 11);
    pos_is(e[3].key_pos, 10, 1);
    assert_true(e[3].value.num == -3e-4);
    assert_string_equal(e[4].value.str, "é ü");
    const mag_value *g = &e[5].value;
    assert_int_equal(g->n, 3);
    assert_int_equal(g->items[0].n, 2);
    assert_int_equal(g->items[1].kind, MAG_V_LIST);
    assert_int_equal(g->items[1].n, 0);
    assert_int_equal(g->items[2].kind, MAG_V_MAP);
    assert_int_equal(e[6].value.i, INT64_MAX);
    mag_cell_free(c);
}

static void reward_cell(void **state)
{
    (void)state;
    const char *src = "%%reward shaped alpha=0.1 beta=2\n"
                      "# the reward\n"
                      "\n"
                      "  correct\n"
                      "  - alpha * length  # penalty\n"
                      "  + if(format, beta, 0)\n"
                      "\n";
    mag_cell *c = parse_ok(src);
    assert_int_equal(c->body_kind, MAG_BODY_EXPR);
    assert_string_equal(c->args[0].value.str, "shaped");
    assert_string_equal(c->args[1].key, "alpha");
    assert_string_equal(c->args[2].key, "beta");
    assert_string_equal(c->body.text,
                        "correct\n  - alpha * length  # penalty\n  + if(format, beta, 0)");
    pos_is(c->body.pos, 4, 3);
    assert_int_equal(c->body.pos.off, strstr(src, "correct") - src);
    mag_cell_free(c);
}

static void raw_and_custom_bodies(void **state)
{
    (void)state;
    mag_cell *c = parse_ok("%%writefile notes.txt\nanything [ goes \"here\n");
    assert_int_equal(c->body_kind, MAG_BODY_RAW);
    assert_string_equal(c->body.text, "anything [ goes \"here\n");
    pos_is(c->body.pos, 2, 1);
    assert_string_equal(c->args[0].value.str, "notes.txt");
    mag_cell_free(c);
    /* header only */
    c = parse_ok("%%policy p");
    assert_int_equal(c->nentries, 0);
    assert_int_equal(c->body.len, 0);
    mag_cell_free(c);
}

static mag_body_kind all_config(const char *name, void *ud)
{
    (void)name;
    ++*(int *)ud;
    return MAG_BODY_CONFIG;
}

static void custom_body_kind(void **state)
{
    (void)state;
    int calls = 0;
    mag_parse_opts o = {all_config, &calls};
    mag_cell *c;
    mag_diag d;
    const char *src = "%%mymagic x\nk = v";
    assert_int_equal(mag_parse_cell(src, strlen(src), &o, &c, &d), MAG_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(c->nentries, 1);
    assert_string_equal(c->entries[0].key, "k");
    mag_cell_free(c);
    /* the library knows no magic names: without a body-kind function, bodies are RAW */
    const char *pol = "%%policy p\nk = v";
    assert_int_equal(mag_parse_cell(pol, strlen(pol), NULL, &c, &d), MAG_OK);
    assert_int_equal(c->body_kind, MAG_BODY_RAW);
    assert_int_equal(c->nentries, 0);
    mag_cell_free(c);
}

static void names_are_paths(void **state)
{
    (void)state;
    mag_cell *c = parse_ok("%export runs/out.csv r1\n%load p ./p.bin\n%save p ~/x_1.bin\n"
                           "%save p ../up/a-b.json");
    assert_string_equal(c->lines[0].args[0].value.str, "runs/out.csv");
    assert_string_equal(c->lines[1].args[1].value.str, "./p.bin");
    assert_string_equal(c->lines[2].args[1].value.str, "~/x_1.bin");
    assert_string_equal(c->lines[3].args[1].value.str, "../up/a-b.json");
    assert_int_equal(c->lines[3].args[1].value.kind, MAG_V_NAME);
    mag_cell_free(c);
    /* sweep point names are NAMEs; a bracket without '=' is a list */
    c = parse_ok("%eval s[lr=1e-3,lambda=-1.25] k=8\n%x a[1] b d[e=f,g=+1.5e+3]");
    assert_string_equal(c->lines[0].args[0].value.str, "s[lr=1e-3,lambda=-1.25]");
    assert_int_equal(c->lines[0].args[0].value.kind, MAG_V_NAME);
    assert_string_equal(c->lines[0].args[1].key, "k");
    const mag_kv *x = c->lines[1].args;
    assert_int_equal(c->lines[1].nargs, 4);
    assert_string_equal(x[0].value.str, "a");
    assert_int_equal(x[1].value.kind, MAG_V_LIST);
    assert_string_equal(x[2].value.str, "b");
    assert_string_equal(x[3].value.str, "d[e=f,g=+1.5e+3]");
    pos_is(x[3].value.pos, 2, 11);
    mag_cell_free(c);
    mag_diag d;
    assert_int_equal(mag_parse_cell("%x a [x=1]", 10, FX_OPTS, &c, &d), MAG_ESYNTAX);
    assert_string_equal(d.msg, "cell:1:8: expected ']' (to close '[' at column 6) near '='");
    /* numbers: .5, 1., 2E+3, -.25 */
    c = parse_ok("%x .5 1. 2E+3 -.25 007");
    const mag_kv *a = c->lines[0].args;
    assert_true(a[0].value.num == 0.5 && a[0].value.kind == MAG_V_FLOAT);
    assert_true(a[1].value.num == 1.0 && a[1].value.kind == MAG_V_FLOAT);
    assert_true(a[2].value.num == 2000.0);
    assert_true(a[3].value.num == -0.25);
    assert_int_equal(a[4].value.kind, MAG_V_INT);
    assert_int_equal(a[4].value.i, 7);
    mag_cell_free(c);
}

static void multi_line_expression_and_crlf(void **state)
{
    (void)state;
    mag_cell *c = parse_ok("max(correct,\n    partial)   # both\nlength\n");
    assert_int_equal(c->nlines, 2);
    assert_string_equal(c->lines[0].expr.text, "max(correct,\n    partial)   # both");
    pos_is(c->lines[1].pos, 3, 1);
    mag_cell_free(c);
    c = parse_ok("%%rl r\r\nlr = 1\r\nsteps = [1,\r\n 2]\r\n");
    assert_int_equal(c->nentries, 2);
    assert_int_equal(c->entries[0].value.i, 1);
    assert_int_equal(c->entries[1].value.n, 2);
    pos_is(c->entries[1].value.items[1].pos, 4, 2);
    mag_cell_free(c);
    /* a leading byte-order mark is skipped and not counted */
    c = parse_ok("\xEF\xBB\xBF%%rl r\nlr = 1");
    assert_int_equal(c->kind, MAG_CELL_MAGIC);
    pos_is(c->name_pos, 1, 3);
    mag_cell_free(c);
    /* Unicode in a string before a value: columns in code points */
    c = parse_ok("%sample p prompt=\"日本\" n=5");
    pos_is(c->lines[0].args[2].key_pos, 1, 23);
    pos_is(c->lines[0].args[2].value.pos, 1, 25);
    assert_int_equal(c->lines[0].args[2].value.pos.off, strlen("%sample p prompt=\"日本\" n="));
    mag_cell_free(c);
}

static void help_forms(void **state)
{
    (void)state;
    /* every spelling of a help request, including a '%%' one on the first line */
    static const char *const src[] = {"%%rl?",  "?%%rl",   "%%rl??  # q", "??%eval",
                                      "%eval?", "lambda?", "?lambda"};
    static const char *const want[] = {"%%rl",  "%%rl",   "%%rl",  "%eval",
                                       "%eval", "lambda", "lambda"};
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        mag_cell *c = parse_ok(src[i]);
        assert_int_equal(c->kind, MAG_CELL_LINES);
        assert_int_equal(c->nlines, 1);
        assert_int_equal(c->lines[0].kind, MAG_LINE_HELP);
        assert_string_equal(c->lines[0].name, want[i]);
        mag_cell_free(c);
    }
    mag_cell *c = parse_ok("%who\n%%rl?\n");
    assert_int_equal(c->nlines, 2);
    assert_string_equal(c->lines[1].name, "%%rl");
    mag_cell_free(c);
}

static void parse_single_value(void **state)
{
    (void)state;
    const mag_value *v;
    mag_cell *owner;
    mag_diag d;
    assert_int_equal(mag_parse_value("[1, {a: x}]", 11, &v, &owner, &d), MAG_OK);
    assert_int_equal(v->kind, MAG_V_LIST);
    assert_string_equal(v->items[1].entries[0].value.str, "x");
    mag_cell_free(owner);
    assert_int_equal(mag_parse_value("1 2", 3, &v, &owner, &d), MAG_ESYNTAX);
    assert_string_equal(d.msg, "cell:1:3: expected end of value near '2'");
    assert_null(owner);
}

static void utf8_helpers_and_suggest(void **state)
{
    (void)state;
    const char *s = "aé€😀b";
    assert_int_equal(rt_utf8_cols(s, strlen(s)), 5);
    assert_int_equal(rt_utf8_offset(s, strlen(s), 4), strlen("aé€😀"));
    assert_int_equal(rt_utf8_offset(s, strlen(s), 9), strlen(s));
    const char *keys[] = {"lambda", "lr", "steps", NULL, "estimator"};
    assert_string_equal(rt_did_you_mean("lamda", keys, 5), "lambda");
    assert_string_equal(rt_did_you_mean("LAMBDA", keys, 5), "lambda");
    assert_string_equal(rt_did_you_mean("setps", keys, 5), "steps"); /* swap */
    assert_string_equal(rt_did_you_mean("estimatr", keys, 5), "estimator");
    assert_null(rt_did_you_mean("xyz", keys, 5));
    assert_null(rt_did_you_mean("l", keys, 5)); /* one letter: never a guess */
    assert_int_equal(rt_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(rt_edit_distance("ab", "ba"), 1);
    rt_suggest sg;
    rt_suggest_init(&sg, "polcy");
    rt_suggest_add(&sg, "plot");
    rt_suggest_add(&sg, "policy");
    rt_suggest_add(&sg, "polic");
    assert_string_equal(sg.best, "policy");
    assert_int_equal(sg.best_dist, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_cell),
        cmocka_unit_test(config_cell),
        cmocka_unit_test(reward_cell),
        cmocka_unit_test(raw_and_custom_bodies),
        cmocka_unit_test(custom_body_kind),
        cmocka_unit_test(names_are_paths),
        cmocka_unit_test(multi_line_expression_and_crlf),
        cmocka_unit_test(help_forms),
        cmocka_unit_test(parse_single_value),
        cmocka_unit_test(utf8_helpers_and_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
