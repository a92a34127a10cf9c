/* krn_hmac: HMAC-SHA256/512 via libsodium's init/update/final (arbitrary key length). */
#include "krn_hmac.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int krn_hmac_init(krn_hmac *h, const char *scheme, const void *key, size_t key_len, char *err,
                  size_t errsz)
{
    memset(h, 0, sizeof *h);
    if (sodium_init() < 0) {
        snprintf(err, errsz, "libsodium failed to initialize");
        return -1;
    }
    int s;
    if (!scheme || strcmp(scheme, "hmac-sha256") == 0)
        s = KRN_HMAC_SHA256;
    else if (strcmp(scheme, "hmac-sha512") == 0)
        s = KRN_HMAC_SHA512;
    else {
        snprintf(err, errsz,
                 "unsupported signature_scheme '%s' (supported: hmac-sha256, hmac-sha512)", scheme);
        return -1;
    }
    if (key_len > 0) {
        h->key = malloc(key_len);
        if (!h->key) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        memcpy(h->key, key, key_len);
        h->key_len = key_len;
        h->scheme = s;
    }
    return 0;
}

void krn_hmac_free(krn_hmac *h)
{
    if (h->key) {
        sodium_memzero(h->key, h->key_len);
        free(h->key);
    }
    memset(h, 0, sizeof *h);
}

size_t krn_hmac_hex_len(const krn_hmac *h)
{
    return h->scheme == KRN_HMAC_SHA256 ? 64 : h->scheme == KRN_HMAC_SHA512 ? 128 : 0;
}

size_t krn_hmac_sign(const krn_hmac *h, const void *const *parts, const size_t *lens, size_t n,
                     char hex[KRN_HMAC_HEX_MAX])
{
    unsigned char mac[64];
    size_t maclen;
    hex[0] = '\0';
    if (h->scheme == KRN_HMAC_SHA256) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, h->key, h->key_len);
        for (size_t i = 0; i < n; i++)
            crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
        crypto_auth_hmacsha256_final(&st, mac);
        maclen = 32;
    } else if (h->scheme == KRN_HMAC_SHA512) {
        crypto_auth_hmacsha512_state st;
        crypto_auth_hmacsha512_init(&st, h->key, h->key_len);
        for (size_t i = 0; i < n; i++)
            crypto_auth_hmacsha512_update(&st, parts[i], lens[i]);
        crypto_auth_hmacsha512_final(&st, mac);
        maclen = 64;
    } else {
        return 0;
    }
    sodium_bin2hex(hex, KRN_HMAC_HEX_MAX, mac, maclen);
    return maclen * 2;
}
