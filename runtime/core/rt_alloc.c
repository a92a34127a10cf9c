/* rt_alloc.c: malloc wrappers with an Nth-allocation failure hook (see rt_alloc.h). */
#include "rt_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long alloc_count;
static atomic_long fail_at_n;

static int should_fail(void)
{
    long n = atomic_fetch_add(&alloc_count, 1) + 1;
    long f = atomic_load(&fail_at_n);
    return f > 0 && n == f;
}

void rt_alloc_fail_at(long fail_at)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_at_n, fail_at);
}

long rt_alloc_count(void)
{
    return atomic_load(&alloc_count);
}

void *rt_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *rt_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *rt_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void rt_free(void *p)
{
    free(p);
}

char *rt_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = rt_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
