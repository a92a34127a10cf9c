/* krn_png: PNG output.  Two parts:
 *  - krn_png.c: a tiny PNG encoder (8-bit RGBA, filter 0, zlib with stored deflate blocks:
 *    no compression, no dependency) used to write the kernelspec logos;
 *  - krn_png_svg.c: an SVG document rasterized to a compressed PNG with librsvg onto a cairo
 *    image surface (a chart's final frame as image/png, for nbconvert, untrusted notebooks
 *    and GitHub).  Fonts come from fontconfig: the SVG names the family it wants (the charts
 *    ask for "DejaVu Sans", Debian's fonts-dejavu-core).
 * Leaves out: decoding, drawing charts (the SVG is drawn by runtime/chart), color types
 * other than RGBA in the encoder. */
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

/* Largest side krn_png_from_svg renders, in pixels. */
#define KRN_PNG_SVG_MAX_SIDE 8192
/* Rasterizes the SVG document svg (len bytes, not necessarily NUL-terminated) at one pixel
 * per SVG px, its size read from the root's width/height (absolute units, no percentages),
 * into a malloc'ed PNG (*out, *outlen; caller frees with free()); *w, *h (may be NULL)
 * receive the pixel size.  Returns 0, or -1 with *out NULL and a message in err (may be
 * NULL): not an SVG document, no absolute size, a side above KRN_PNG_SVG_MAX_SIDE, out of
 * memory, or a build without librsvg (meson -Dpng=disabled). */
int krn_png_from_svg(const char *svg, size_t len, unsigned char **out, size_t *outlen, int *w,
                     int *h, char *err, size_t errcap);
/* As krn_png_from_svg, the PNG as a NUL-terminated base64 string (standard alphabet, with
 * padding: a Jupyter image/png bundle entry), malloc'ed; NULL on failure (err set). */
char *krn_png_from_svg_base64(const char *svg, size_t len, int *w, int *h, char *err,
                              size_t errcap);

#endif
