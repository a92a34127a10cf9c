/* fuzz_common: helpers shared by the libFuzzer harnesses tools/fuzz/fuzz_*.c (header-only):
 * an invariant check that aborts (libFuzzer saves the input as a crash), and splitting an
 * input into parts at the separator byte 0x1e (ASCII record separator), which the seed
 * script (tools/fuzz/seeds) writes between frames, cells and rewards. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEP 0x1e

/* Aborts with the failed invariant: libFuzzer reports a "deadly signal" and saves the
 * input. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant violated at %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct fuzz_part {
    const uint8_t *data;
    size_t len;
} fuzz_part;

/* Splits data[0..len) at FUZZ_SEP into at most max parts (the last part keeps any further
 * separators); returns the number of parts (>= 1 when max >= 1). */
static inline size_t fuzz_split(const uint8_t *data, size_t len, fuzz_part *parts, size_t max)
{
    size_t n = 0, start = 0;
    if (max == 0) return 0;
    for (size_t i = 0; i < len && n + 1 < max; i++)
        if (data[i] == FUZZ_SEP) {
            parts[n++] = (fuzz_part){data + start, i - start};
            start = i + 1;
        }
    parts[n++] = (fuzz_part){data + start, len - start};
    return n;
}

/* A malloc'ed NUL-terminated copy of a part (NULL when out of memory). */
static inline char *fuzz_strdup(const fuzz_part *p)
{
    char *s = malloc(p->len + 1);
    if (!s) return NULL;
    memcpy(s, p->data, p->len);
    s[p->len] = '\0';
    return s;
}

/* True when s[0..len) is NUL-terminated at len (a C string exactly len bytes long). */
static inline int fuzz_cstr_ok(const char *s, size_t cap)
{
    return s && memchr(s, '\0', cap) != NULL;
}

#endif
