/* mag_lang_priv.h: helpers shared by the files of magics/lang (not public API):
 * the allocation arena, NAME character classes.  (UTF-8: rt_text.h.) */
#ifndef MAG_LANG_PRIV_H
#define MAG_LANG_PRIV_H

#include <stddef.h>

#include "mag_lang.h"

typedef struct mag_arena mag_arena;

/* Arena: zeroed, max_align_t-aligned blocks freed all at once (NULL on OOM). */
mag_arena *mag_arena_new(void);
void mag_arena_free(mag_arena *a);
void *mag_arena_alloc(mag_arena *a, size_t n);
char *mag_arena_strndup(mag_arena *a, const char *s, size_t n);
/* Grow an arena array of *cap elements of `size` bytes to hold `need` (doubling; the
 * old block is left in the arena).  Returns the array (old if big enough) or NULL. */
void *mag_arena_grow(mag_arena *a, void *old, size_t *cap, size_t need, size_t size);

/* Test hook (per thread): when set to N > 0, the Nth allocation from now fails and
 * the hook resets to 0.  Every allocation of magics/lang goes through the arena. */
extern _Thread_local long mag_alloc_fail_at;

/* The body grammar of cell magic `name` under opts (RAW when opts gives no function). */
mag_body_kind mag_body_kind_of(const mag_parse_opts *opts, const char *name);

int mag_is_name_start(int c);
int mag_is_name_char(int c);

#endif
