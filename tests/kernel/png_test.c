/* PNG writer: signature, IHDR fields, every chunk CRC, and the stored-deflate zlib stream
 * decoded back to the exact pixels (adler32 checked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "krn_png.h"

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_checksums(void **st)
{
    (void)st;
    assert_int_equal(krn_png_crc32((const unsigned char *)"123456789", 9), 0xcbf43926u);
    assert_int_equal(krn_png_adler32((const unsigned char *)"Wikipedia", 9), 0x11e60398u);
    assert_int_equal(krn_png_crc32((const unsigned char *)"IEND", 4), 0xae426082u);
}

static void check_png(int size)
{
    unsigned char *px = krn_png_logo(size), *png;
    size_t len;
    assert_non_null(px);
    assert_int_equal(krn_png_encode(px, size, size, &png, &len), 0);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    size_t off = 8;
    unsigned char *z = NULL;
    size_t zn = 0;
    int chunks = 0;
    while (off < len) {
        uint32_t n = rd32(png + off);
        const unsigned char *type = png + off + 4;
        assert_true(off + 12 + n <= len);
        assert_int_equal(rd32(png + off + 8 + n), krn_png_crc32(type, n + 4));
        if (memcmp(type, "IHDR", 4) == 0) {
            assert_int_equal(n, 13);
            assert_int_equal(rd32(type + 4), size);
            assert_int_equal(rd32(type + 8), size);
            assert_int_equal(type[12], 8);
            assert_int_equal(type[13], 6);
        } else if (memcmp(type, "IDAT", 4) == 0) {
            z = realloc(z, zn + n);
            memcpy(z + zn, type + 4, n);
            zn += n;
        }
        chunks++;
        off += 12 + n;
    }
    assert_int_equal(off, len);
    assert_int_equal(chunks, 3);
    /* inflate stored blocks */
    assert_int_equal((z[0] * 256 + z[1]) % 31, 0);
    size_t rawn = (size_t)size * ((size_t)size * 4 + 1), got = 0, p = 2;
    unsigned char *raw = malloc(rawn);
    int final = 0;
    while (!final) {
        final = z[p] & 1;
        assert_int_equal((z[p] >> 1) & 3, 0);
        size_t bl = z[p + 1] | (size_t)z[p + 2] << 8;
        size_t nl = z[p + 3] | (size_t)z[p + 4] << 8;
        assert_int_equal(bl ^ 0xffff, nl);
        memcpy(raw + got, z + p + 5, bl);
        got += bl;
        p += 5 + bl;
    }
    assert_int_equal(got, rawn);
    assert_int_equal(rd32(z + p), krn_png_adler32(raw, rawn));
    assert_int_equal(p + 4, zn);
    for (int y = 0; y < size; y++) {
        assert_int_equal(raw[(size_t)y * ((size_t)size * 4 + 1)], 0);
        assert_memory_equal(raw + (size_t)y * ((size_t)size * 4 + 1) + 1,
                            px + (size_t)y * (size_t)size * 4, (size_t)size * 4);
    }
    free(raw);
    free(z);
    free(png);
    free(px);
}

static void test_logo_32(void **st)
{
    (void)st;
    check_png(32);
}

static void test_logo_200_spans_blocks(void **st)
{
    (void)st;
    check_png(200); /* 160,200 bytes of rows: three stored blocks */
}

static void test_bad_size(void **st)
{
    (void)st;
    unsigned char px[4] = {0}, *png;
    size_t len;
    assert_int_equal(krn_png_encode(px, 0, 1, &png, &len), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_logo_32),
        cmocka_unit_test(test_logo_200_spans_blocks),
        cmocka_unit_test(test_bad_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
