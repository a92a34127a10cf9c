/* krn_utf8: strict UTF-8 decoding for validation/repair and offset conversion. */
#include "krn_utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid sequence at s[0..n), or 0 if invalid. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp > 0x10ffff) return 0;
    return len;
}

bool krn_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = seq_len(p + i, len - i);
        if (!l) return false;
        i += l;
    }
    return true;
}

char *krn_utf8_repair(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        size_t l = p[i] < 0x80 ? 1 : seq_len(p + i, len - i);
        if (l) {
            memcpy(out + o, p + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static int repair_string(char **sp)
{
    if (!*sp) return 0;
    size_t n = strlen(*sp);
    if (krn_utf8_valid(*sp, n)) return 0;
    char *r = krn_utf8_repair(*sp, n);
    if (!r) return 0;
    /* cJSON allocates strings with its hooks (malloc by default). */
    cJSON_free(*sp);
    char *c = cJSON_malloc(strlen(r) + 1);
    if (!c) {
        free(r);
        *sp = NULL;
        return 0;
    }
    strcpy(c, r);
    free(r);
    *sp = c;
    return 1;
}

int krn_utf8_repair_json(cJSON *item)
{
    int n = 0;
    for (; item; item = item->next) {
        if (item->string && !(item->type & cJSON_StringIsConst)) n += repair_string(&item->string);
        if (cJSON_IsString(item) && !(item->type & cJSON_IsReference))
            n += repair_string(&item->valuestring);
        if (item->child) n += krn_utf8_repair_json(item->child);
    }
    return n;
}

size_t krn_utf8_cp_to_byte(const char *s, size_t cp)
{
    size_t i = 0, n = strlen(s);
    while (cp > 0 && i < n) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

size_t krn_utf8_byte_to_cp(const char *s, size_t byte_off)
{
    size_t cp = 0;
    for (size_t i = 0; i < byte_off && s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) cp++;
    return cp;
}
