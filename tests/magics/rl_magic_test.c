/* %%rl (magics/mag_m_rl.c) through the interpreter and a recording sink: the per-cell
 * schema (reward parameters as keys: set, swept, did-you-mean over both kinds of keys,
 * type errors, a parameter shadowed by a key of the magic), every error before training
 * with its exact evalue and traceback (source line, caret) and %who unchanged, a tiny
 * run storing policy and run with the bound parameter in the summary, the point names
 * of a parameter sweep, and the help text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interp_harness.h"

static krn_interp *it;

static const char *const setup_cells[] = {
    "%task add add digits=2",
    "%task tri triage",
    "%%policy base\ntask = add\nsft_steps = 30\nembed = 8\nhidden = 32\nbatch = 32",
    "%%reward exact c=0.01\ncorrect - c * length",
    "%%reward nodef\ncorrect - k * length",
    "%%reward shadow lr=1\ncorrect * lr",
    "%%reward tri_r\noutcome",
};

static int setup(void **st)
{
    (void)st;
    it = mag_interp_new();
    if (!it) return -1;
    for (size_t i = 0; i < sizeof setup_cells / sizeof setup_cells[0]; i++)
        free(ok_in(it, setup_cells[i]));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    mag_interp_free(it);
    return 0;
}

#define SMALL "\nbatch = 2\ngroup = 2\nsteps = 3\neval_every = 0"

static void test_errors_before_training(void **st)
{
    (void)st;
    /* unknown key: suggestions over the magic's keys and the reward's parameters */
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\ncc = 3", "ValueError",
                   "cell:4:1: unknown key 'cc' (did you mean 'c'?)", "cc = 3", "^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nstpes = 3", "ValueError",
                   "cell:4:1: unknown key 'stpes' (did you mean 'steps'?)", "stpes = 3", "^");
    /* a parameter of another reward is not a key */
    check_error_in(it, "%%rl x\nfrom = base\nreward = nodef\nc = 3", "ValueError",
                   "cell:4:1: unknown key 'c'", "c = 3", "^");
    /* parameter values: numbers or lists of numbers */
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nc = big", "ValueError",
                   "cell:4:5: 'c' expects a number, got name 'big'", "c = big", "    ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nc = [1, [2]]", "ValueError",
                   "cell:4:9: 'c' expects a number, got a list", "c = [1, [2]]", "        ^");
    /* names */
    check_error_in(it, "%%rl x\nfrom = base\nreward = exat", "NameError",
                   "cell:3:10: unknown reward 'exat' (did you mean 'exact'?)", "reward = exat",
                   "         ^");
    check_error_in(it, "%%rl x\nfrom = bas\nreward = exact", "NameError",
                   "cell:2:8: unknown policy 'bas' (did you mean 'base'?)", "from = bas",
                   "       ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nalgo = grop", "ValueError",
                   "cell:4:8: unknown value 'grop' for 'algo' (did you mean 'grpo'?); expected "
                   "reinforce, rloo, grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, asymre, "
                   "bapo, nft or r2vpo",
                   "algo = grop", "       ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nkl_estimator = k4", "ValueError",
                   "cell:4:16: unknown value 'k4' for 'kl_estimator' (did you mean 'k1'?); "
                   "expected k1, k2 or k3",
                   "kl_estimator = k4", "               ^");
    /* incompatible options at the key rt_rl names */
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nalgo = ppo\nchi2 = 0.5", "ValueError",
                   "cell:5:1: chi2 = 0.5 needs regularizer = chi2", "chi2 = 0.5", "^");
    /* iterations (older name epochs): refused, at the value, by the recipes without a
     * ratio, named as the cell wrote it; not both names */
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nalgo = [ppo, rloo]\nepochs = 2",
                   "ValueError",
                   "cell:5:10: epochs = 2 with algo = rloo: its loss has no importance ratio, "
                   "so a second update on the same samples would be off-policy with nothing to "
                   "correct it; use algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, opmd, "
                   "asymre, bapo, nft or r2vpo",
                   "epochs = 2", "         ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\nalgo = reinforce\niterations = [1, 4]",
                   "ValueError",
                   "cell:5:14: iterations = 4 with algo = reinforce: its loss has no importance "
                   "ratio, so a second update on the same samples would be off-policy with "
                   "nothing to correct it; use algo = grpo, drgrpo, ppo, bnpo, gspo, cispo, dapo, "
                   "opmd, asymre, bapo, nft or r2vpo",
                   "iterations = [1, 4]", "             ^");
    check_error_in(
        it, "%%rl x\nfrom = base\nreward = exact\niterations = 2\nepochs = 2", "ValueError",
        "cell:5:1: epochs is the older name of iterations: set one of them", "epochs = 2", "^");
    /* rewards against the task */
    check_error_in(it, "%%rl x\nfrom = base\nreward = tri_r", "ValueError",
                   "cell:3:10: reward 'tri_r' reads feature 'outcome', which task features "
                   "(correct, partial, length, format, eos) do not include",
                   "reward = tri_r", "         ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = nodef", "ValueError",
                   "cell:3:10: parameter 'k' of reward 'nodef' has no value: give it here (k = "
                   "...) or in the header (%%reward nodef k=...)",
                   "reward = nodef", "         ^");
    check_error_in(it, "%%rl x\nfrom = base\nreward = exact\neval_reward = tri_r", "ValueError",
                   "cell:4:15: reward 'tri_r' reads feature 'outcome', which task features "
                   "(correct, partial, length, format, eos) do not include",
                   "eval_reward = tri_r", "              ^");
}

/* Every task shares one vocabulary: an add policy may be trained on triage prompts. */
static void test_other_task_same_vocabulary(void **st)
{
    (void)st;
    char *s = ok_in(it, "%%rl tr\nfrom = base\nreward = exact\ntask = tri" SMALL);
    assert_non_null(
        strstr(s, "policy tr: grpo from base on tri, reward exact (c=0.01), 3 steps\n"));
    free(s);
}

static void test_run_stores_policy_and_run(void **st)
{
    (void)st;
    char *s = ok_in(it, "%%rl small\nfrom = base\nreward = exact\nc = 0.5" SMALL);
    assert_string_equal(s, "policy small: grpo from base on add, reward exact (c=0.5), 3 steps\n");
    free(s);
    char *w = who(it);
    assert_non_null(strstr(w, "  small  grpo from base on add, reward exact (c=0.5), 3 steps\n"));
    free(w);
    /* the same NAME again replaces both */
    s = ok_in(it, "%%rl small\nfrom = base\nreward = exact" SMALL);
    assert_string_equal(s, "replaced run 'small'\nreplaced policy 'small'\n"
                           "policy small: grpo from base on add, reward exact (c=0.01), 3 steps\n");
    free(s);
}

static void test_parameter_sweep_names(void **st)
{
    (void)st;
    char *s =
        ok_in(it, "%%rl sw\nfrom = base\nreward = exact\nalgo = [rloo, grpo]\nc = [0.1, 1]" SMALL);
    assert_string_equal(
        s, "policy sw[algo=rloo,c=0.1]: rloo from base on add, reward exact (c=0.1), 3 steps\n"
           "policy sw[algo=rloo,c=1]: rloo from base on add, reward exact (c=1), 3 steps\n"
           "policy sw[algo=grpo,c=0.1]: grpo from base on add, reward exact (c=0.1), 3 steps\n"
           "policy sw[algo=grpo,c=1]: grpo from base on add, reward exact (c=1), 3 steps\n");
    free(s);
}

/* A parameter named like a key of the magic keeps its default: `lr` is the learning rate. */
static void test_shadowed_parameter(void **st)
{
    (void)st;
    char *s = ok_in(it, "%%rl sh\nfrom = base\nreward = shadow\nlr = 1e-3" SMALL);
    assert_string_equal(s, "policy sh: grpo from base on add, reward shadow, 3 steps\n");
    free(s);
}

static void test_help(void **st)
{
    (void)st;
    run r;
    exec_in(it, &r, "?%%rl", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    cJSON *p = krn_out_take_payload(r.o);
    assert_int_equal(cJSON_GetArraySize(p), 1);
    const char *t =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "data"), "text/plain")
            ->valuestring;
    assert_true(strncmp(t, "%%rl NAME  (body: key = value lines)\n\nTrains policy NAME", 56) == 0);
    assert_non_null(strstr(t, "c = [0.1, 1, 10] sweeps the reward's c"));
    /* the key list is generated from the schema (also used for completion) */
    assert_non_null(strstr(t, "  regularizer (one of kl or chi2, default kl): kl (coefficient kl) "
                              "or chi2 (coefficient chi2; answers <= 3 tokens)\n"));
    assert_non_null(strstr(t, "Any parameter of the reward is a key too"));
    cJSON_Delete(p);
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_before_training),
        cmocka_unit_test(test_other_task_same_vocabulary),
        cmocka_unit_test(test_run_stores_policy_and_run),
        cmocka_unit_test(test_parameter_sweep_names),
        cmocka_unit_test(test_shadowed_parameter),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
