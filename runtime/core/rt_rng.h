/* rt_rng: a counter-based, splittable random number generator.
 *
 * A generator is a (key, counter) pair; each draw is a strong 64-bit mix of both,
 * so streams are cheap to derive and independent of how work is partitioned:
 * a run's stream comes from (session seed, run name), a sequence's stream from
 * (run stream, step, sequence index).  Results therefore do not depend on batch
 * partitioning or thread count.  Values are plain structs: copy freely.
 * Leaves out: distributions beyond uniform, normal and categorical draws, and the stream
 * names (rt_trainer.h: RT_STREAM_*). */
#ifndef RT_RNG_H
#define RT_RNG_H

#include <stdint.h>

typedef struct rt_rng {
    uint64_t key; /* identifies the stream */
    uint64_t ctr; /* number of 64-bit draws taken so far */
} rt_rng;

rt_rng rt_rng_make(uint64_t seed);
/* The stream of a named object (a run, a task) under a session seed. */
rt_rng rt_rng_from_name(uint64_t seed, const char *name);
/* An independent child stream; the parent is not advanced. */
rt_rng rt_rng_split(const rt_rng *r, uint64_t stream);

uint64_t rt_rng_u64(rt_rng *r);
uint32_t rt_rng_below(rt_rng *r, uint32_t n); /* uniform in [0, n), unbiased; n > 0 */
float rt_rng_uniform(rt_rng *r);              /* uniform in [0, 1), 24 bits */
double rt_rng_uniform_d(rt_rng *r);           /* uniform in [0, 1), 53 bits */
float rt_rng_normal(rt_rng *r);               /* standard normal (Box-Muller) */
/* Fisher-Yates shuffle of n ints. */
void rt_rng_shuffle(rt_rng *r, int *a, int n);

#endif
