/* mag_arena.c: the allocation arena of magics/lang: zeroed, aligned blocks carved
 * from 64 KiB chunks (or one chunk per larger request), all freed at once.  A parsed
 * cell and a validated config each own one.  Leaves out: freeing single blocks. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mag_lang_priv.h"

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct mag_arena {
    chunk *head;
};

_Thread_local long mag_alloc_fail_at;

/* malloc/calloc through the test hook: the Nth call from now fails (N = 1: next). */
static int should_fail(void)
{
    return mag_alloc_fail_at > 0 && --mag_alloc_fail_at == 0;
}

mag_arena *mag_arena_new(void)
{
    return should_fail() ? NULL : calloc(1, sizeof(mag_arena));
}

void mag_arena_free(mag_arena *a)
{
    if (!a) return;
    for (chunk *c = a->head, *n; c; c = n)
        n = c->next, free(c);
    free(a);
}

void *mag_arena_alloc(mag_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0) n = sizeof(max_align_t);
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = should_fail() ? NULL : malloc(sizeof(chunk) + cap);
        if (!c) return NULL;
        c->next = a->head, c->used = 0, c->cap = cap;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *mag_arena_strndup(mag_arena *a, const char *s, size_t n)
{
    char *p = mag_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n), p[n] = '\0';
    return p;
}

void *mag_arena_grow(mag_arena *a, void *old, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return old;
    size_t nc = *cap ? *cap * 2 : 4;
    while (nc < need)
        nc *= 2;
    void *p = mag_arena_alloc(a, nc * size);
    if (p && old) memcpy(p, old, *cap * size);
    if (p) *cap = nc;
    return p;
}
