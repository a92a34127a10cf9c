/* rt_cancel: cancellation INSIDE a long computation.  A run's cancel flag is polled by
 * the run loop between steps (rt_trainer.h); this module lets the long loops inside a
 * step (every row block of a matrix product, rt_nn.h) see it too, so an interrupt or
 * SIGTERM ends a step of any size within a fraction of a second.
 *
 * A cancel point (rt_cancel_point: the flag, plus what happened under it) is installed
 * on the calling thread for the duration of a step; rt_nn_parallel installs the same
 * point on the threads it starts.  Long loops call rt_cancel_poll(): when the flag is
 * set it returns 1, marks the point `cut`, and the loop returns at once, leaving its
 * outputs incomplete — so nothing computed after a cut may be used: the optimizer
 * (rt_adam) skips its update when the point is cut, and the run loop, seeing `cut`
 * after a step, ends the run as interrupted without a row for that step.  The point
 * also counts the updates applied under it (`updates`), so the loop knows whether the
 * interrupted step's update was applied (the step completed) or not (the weights are
 * those of the step before).
 *
 * Only long loops poll (a matrix product of >= 5e7 flops, well under a millisecond's
 * work below that), so small steps always run whole and stop at step boundaries as
 * before.  Nothing here changes any number: a poll that finds the flag clear does
 * nothing.
 * Without an installed point (tests, %eval, direct calls) polls return 0.
 *
 * Leaves out: the flag itself (rt_run owns it), signals, the run loop's endings. */
#ifndef RT_CANCEL_H
#define RT_CANCEL_H

#include <stdatomic.h>

typedef struct rt_cancel_point {
    atomic_int *flag; /* non-zero: stop (may be NULL: never) */
    atomic_int cut;   /* a poll found the flag set: some output is incomplete */
    atomic_long updates; /* optimizer updates applied under this point */
} rt_cancel_point;

/* Installs p on the calling thread (NULL uninstalls); returns the previous point. */
rt_cancel_point *rt_cancel_install(rt_cancel_point *p);
/* The calling thread's point, or NULL. */
rt_cancel_point *rt_cancel_current(void);
/* 1 if the thread's point has its flag set (and marks it cut), else 0.  Cheap: one
 * thread-local read and, with a point, one relaxed atomic load. */
int rt_cancel_poll(void);
/* 1 if a poll under the thread's point found the flag set (some output is incomplete). */
int rt_cancel_was_cut(void);
/* Records one optimizer update applied under the thread's point (if any). */
void rt_cancel_note_update(void);

#endif
