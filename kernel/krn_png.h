/* krn_png: a tiny PNG encoder (8-bit RGBA, filter 0, zlib with stored deflate blocks:
 * no compression, no dependency) used to write the kernelspec logos.
 * Leaves out: decoding, compression, color types other than RGBA; charts' PNGs are not
 * drawn here. */
#ifndef KRN_PNG_H
#define KRN_PNG_H

#include <stddef.h>
#include <stdint.h>

uint32_t krn_png_crc32(const unsigned char *p, size_t n);
uint32_t krn_png_adler32(const unsigned char *p, size_t n);
/* Encodes w*h RGBA pixels (rows top to bottom) into a malloc'ed PNG (*out, *len); caller
 * frees with free(). Returns 0 or -1 (out of memory / bad size). */
int krn_png_encode(const unsigned char *rgba, int w, int h, unsigned char **out, size_t *len);
/* Renders the project logo (a rising learning curve on a dark tile) at size x size into a
 * malloc'ed RGBA buffer; caller frees. */
unsigned char *krn_png_logo(int size);

#endif
