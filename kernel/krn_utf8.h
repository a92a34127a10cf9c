/* krn_utf8: UTF-8 validation, repair (invalid sequences -> U+FFFD) and conversion between
 * Unicode code-point offsets (what the Jupyter protocol counts) and byte offsets.
 * Leaves out: the runtime's text layer (runtime/core/rt_text.h; kernel/ does not depend
 * on runtime/) and normalization. */
#ifndef KRN_UTF8_H
#define KRN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cJSON cJSON;

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool krn_utf8_valid(const char *s, size_t len);
/* Returns a malloc'ed NUL-terminated copy with every invalid sequence replaced by U+FFFD;
 * caller frees with free(). NULL on allocation failure. */
char *krn_utf8_repair(const char *s, size_t len);
/* Replaces invalid UTF-8 in every string (and object key) of a JSON tree, in place.
 * Returns the number of strings repaired. */
int krn_utf8_repair_json(cJSON *item);
/* Byte offset of code point number cp in s (clamped to strlen(s)). */
size_t krn_utf8_cp_to_byte(const char *s, size_t cp);
/* Number of code points in the first byte_off bytes of s. */
size_t krn_utf8_byte_to_cp(const char *s, size_t byte_off);

#endif
