/* krn_png: minimal PNG writer (see krn_png.h). Leaves out compression, palettes,
 * interlacing and every ancillary chunk. */
#include "krn_png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t krn_png_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

uint32_t krn_png_adler32(const unsigned char *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

static unsigned char *put32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
    return o + 4;
}

/* chunk: length(4) type(4) data crc(4 over type+data) */
static unsigned char *chunk(unsigned char *o, const char *type, const unsigned char *d, size_t n)
{
    o = put32(o, (uint32_t)n);
    unsigned char *t = o;
    memcpy(o, type, 4);
    o += 4;
    if (n) memcpy(o, d, n);
    o += n;
    return put32(o, krn_png_crc32(t, n + 4));
}

int krn_png_encode(const unsigned char *rgba, int w, int h, unsigned char **out, size_t *len)
{
    if (w <= 0 || h <= 0 || w > 4096 || h > 4096) return -1;
    size_t row = (size_t)w * 4 + 1, raw_n = row * (size_t)h;
    unsigned char *raw = malloc(raw_n);
    if (!raw) return -1;
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * row] = 0; /* filter: none */
        memcpy(raw + (size_t)y * row + 1, rgba + (size_t)y * (size_t)w * 4, (size_t)w * 4);
    }
    size_t nblocks = (raw_n + 65534) / 65535;
    size_t z_n = 2 + raw_n + nblocks * 5 + 4;
    unsigned char *z = malloc(z_n);
    size_t total = 8 + (12 + 13) + (12 + z_n) + 12;
    unsigned char *png = malloc(total);
    if (!z || !png) {
        free(raw);
        free(z);
        free(png);
        return -1;
    }
    unsigned char *q = z;
    *q++ = 0x78; /* CM=8 deflate, CINFO=7 */
    *q++ = 0x01; /* FCHECK so that 0x7801 % 31 == 0, no dictionary, fastest */
    for (size_t off = 0; off < raw_n; off += 65535) {
        size_t n = raw_n - off < 65535 ? raw_n - off : 65535;
        *q++ = off + n == raw_n ? 1 : 0; /* BFINAL, BTYPE=00 stored */
        *q++ = (unsigned char)(n & 0xff);
        *q++ = (unsigned char)(n >> 8);
        *q++ = (unsigned char)(~n & 0xff);
        *q++ = (unsigned char)((~n >> 8) & 0xff);
        memcpy(q, raw + off, n);
        q += n;
    }
    q = put32(q, krn_png_adler32(raw, raw_n));
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 6;  /* colour type RGBA */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* filter method */
    ihdr[12] = 0; /* no interlace */
    unsigned char *o = png;
    memcpy(o, "\x89PNG\r\n\x1a\n", 8);
    o += 8;
    o = chunk(o, "IHDR", ihdr, 13);
    o = chunk(o, "IDAT", z, (size_t)(q - z));
    o = chunk(o, "IEND", NULL, 0);
    free(raw);
    free(z);
    *out = png;
    *len = (size_t)(o - png);
    return 0;
}

unsigned char *krn_png_logo(int size)
{
    if (size <= 0 || size > 4096) return NULL;
    unsigned char *p = calloc((size_t)size * (size_t)size, 4);
    if (!p) return NULL;
    double s = size;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            unsigned char *px = p + ((size_t)y * (size_t)size + (size_t)x) * 4;
            double u = (x + 0.5) / s, v = (y + 0.5) / s;
            /* rounded tile */
            double cx = fabs(u - 0.5) - 0.34, cy = fabs(v - 0.5) - 0.34;
            double out = hypot(cx > 0 ? cx : 0, cy > 0 ? cy : 0);
            if (out > 0.16) continue;
            px[0] = 30, px[1] = 41, px[2] = 59, px[3] = 255;
            /* learning curve y = 0.8 - 0.6 * (1 - exp(-4 t)) for t in [0.15, 0.85] */
            if (u > 0.15 && u < 0.85) {
                double t = (u - 0.15) / 0.7;
                double cyv = 0.8 - 0.6 * (1 - exp(-4 * t));
                double d = fabs(v - cyv) * s;
                if (d < 0.06 * s + 0.5) px[0] = 251, px[1] = 191, px[2] = 36;
            }
        }
    return p;
}
