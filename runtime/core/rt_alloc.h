/* rt_alloc: the runtime's allocation functions, with a failure-injection hook.
 *
 * Every allocation in runtime/ goes through rt_malloc/rt_calloc/rt_realloc so that
 * tests can make the Nth allocation fail (SQLite style) and check that each API
 * returns a clean error and leaks nothing.  rt_free(NULL) is a no-op.
 *
 * The hook is process-wide and meant for single-threaded tests only; it is off
 * (fail_at = 0) unless a test sets it.  Allocations are counted atomically.
 * Leaves out: arenas and pools, and thread-safe fault injection (tests inject on one
 * thread). */
#ifndef RT_ALLOC_H
#define RT_ALLOC_H

#include <stddef.h>

void *rt_malloc(size_t n);
void *rt_calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void *rt_realloc(void *p, size_t n);
void rt_free(void *p);
char *rt_strdup(const char *s);

/* Make the fail_at-th allocation from now on (1-based) return NULL; 0 disables.
 * rt_alloc_count() returns the number of allocations since the last call to
 * rt_alloc_fail_at(), so a test can learn how many a scenario makes. */
void rt_alloc_fail_at(long fail_at);
long rt_alloc_count(void);

#endif
