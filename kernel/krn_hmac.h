/* krn_hmac: message signing for the Jupyter wire (HMAC-SHA256 or HMAC-SHA512 over the
 * four JSON frames, lowercase hex) with libsodium's multi-part API, so keys may have any
 * length. An empty key disables signing (empty signature, nothing checked).
 * Leaves out: key handling beyond one session key, replay protection (krn_wire.h). */
#ifndef KRN_HMAC_H
#define KRN_HMAC_H

#include <stddef.h>

enum { KRN_HMAC_NONE = 0, KRN_HMAC_SHA256 = 1, KRN_HMAC_SHA512 = 2 };
#define KRN_HMAC_HEX_MAX 129 /* 128 hex digits of SHA-512 + NUL */

typedef struct krn_hmac {
    int scheme;         /* KRN_HMAC_SHA256 / SHA512, or NONE when the key is empty */
    unsigned char *key; /* owned copy of the key bytes */
    size_t key_len;     /* 0 means: do not sign, do not check */
} krn_hmac;

/* Sets up h for scheme name ("hmac-sha256" or "hmac-sha512") and key. Any other scheme
 * returns -1 with a message in err[errsz]. Caller releases with krn_hmac_free. */
int krn_hmac_init(krn_hmac *h, const char *scheme, const void *key, size_t key_len, char *err,
                  size_t errsz);
void krn_hmac_free(krn_hmac *h);
/* Signs the concatenation of n parts into hex (lowercase, NUL-terminated; "" when no key).
 * Returns the number of hex digits. */
size_t krn_hmac_sign(const krn_hmac *h, const void *const *parts, const size_t *lens, size_t n,
                     char hex[KRN_HMAC_HEX_MAX]);
/* Digest length in hex digits for the scheme (64 or 128; 0 when no key). */
size_t krn_hmac_hex_len(const krn_hmac *h);

#endif
