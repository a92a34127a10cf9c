/* rt_trainers: the built-in trainer records by name, so that a job (rt_job.h), which
 * names its trainer as plain data, can be run by a process that only has its packed
 * form.  The table lists sft (runtime/train), rl (runtime/rl), opd (runtime/opd), the
 * debate trainings judge and debater (runtime/debate), and dpo (runtime/pref), in that
 * order.
 *
 * It lives in its own module, above every trainer library, because runtime/train (the
 * run loop and the job) sits below rl, opd and debate and may not link them.
 *
 * Leaves out: what a trainer's args are (each trainer's header), building args from a
 * job's configuration (today the magics do it), registering trainers at run time. */
#ifndef RT_TRAINERS_H
#define RT_TRAINERS_H

#include "rt_trainer.h"

/* The record named `name` ("sft", "rl", "opd", "judge", "debater", "dpo"), or NULL (also for
 * NULL). */
const rt_trainer *rt_trainer_find(const char *name);
/* The i-th record (0-based, in the order above), or NULL past the end: a listing. */
const rt_trainer *rt_trainer_at(int i);
int rt_trainer_count(void);

#endif
