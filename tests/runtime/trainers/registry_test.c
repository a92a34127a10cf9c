/* registry_test.c: the trainer registry (runtime/trainers/rt_trainers.h): every
 * built-in record is found by its name and is the record its module exports, the
 * listing is complete and its names unique, unknown names give NULL, and a job's
 * trainer name survives pack/unpack and finds its record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate.h"
#include "rt_dpo.h"
#include "rt_job.h"
#include "rt_opd_run.h"
#include "rt_rl.h"
#include "rt_rm.h"
#include "rt_sft.h"
#include "rt_trainers.h"

static void find_by_name(void **state)
{
    (void)state;
    assert_ptr_equal(rt_trainer_find("sft"), &rt_sft_trainer);
    assert_ptr_equal(rt_trainer_find("rl"), &rt_rl_trainer);
    assert_ptr_equal(rt_trainer_find("opd"), &rt_opd_trainer);
    assert_ptr_equal(rt_trainer_find("judge"), &rt_debate_judge_trainer);
    assert_ptr_equal(rt_trainer_find("debater"), &rt_debate_learner_trainer);
    assert_ptr_equal(rt_trainer_find("rm"), &rt_rm_trainer);
    assert_ptr_equal(rt_trainer_find("dpo"), &rt_dpo_trainer);
    assert_null(rt_trainer_find("SFT"));
    assert_null(rt_trainer_find("debate"));
    assert_null(rt_trainer_find(""));
    assert_null(rt_trainer_find(NULL));
}

static void listing(void **state)
{
    (void)state;
    static const char *const names[] = {"sft", "rl", "opd", "judge", "debater", "rm", "dpo"};
    assert_int_equal(rt_trainer_count(), 7);
    for (int i = 0; i < rt_trainer_count(); i++) {
        const rt_trainer *t = rt_trainer_at(i);
        assert_non_null(t);
        assert_string_equal(t->name, names[i]);
        assert_ptr_equal(rt_trainer_find(t->name), t); /* unique names */
        assert_non_null(t->setup);
        assert_non_null(t->step);
        assert_non_null(t->free);
    }
    assert_null(rt_trainer_at(-1));
    assert_null(rt_trainer_at(rt_trainer_count()));
}

/* every registered name is a word a packed job can carry */
static void names_travel_in_jobs(void **state)
{
    (void)state;
    for (int i = 0; i < rt_trainer_count(); i++) {
        rt_job j = {.trainer = rt_trainer_at(i)->name, .name = "p"};
        rt_strbuf b;
        rt_strbuf_init(&b);
        assert_int_equal(rt_job_pack(&j, &b, NULL), 0);
        rt_job_owned o;
        assert_int_equal(rt_job_unpack(b.s, b.len, &o, NULL), 0);
        assert_ptr_equal(rt_trainer_find(o.job.trainer), rt_trainer_at(i));
        rt_job_owned_free(&o);
        rt_strbuf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_by_name),
        cmocka_unit_test(listing),
        cmocka_unit_test(names_travel_in_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
