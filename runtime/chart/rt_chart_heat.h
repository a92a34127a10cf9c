/* rt_chart_heat: attention heat maps as small multiples — an SVG figure and its text
 * twin (the attention view of a gpt policy: rt_model_gpt.h's rt_gpt_attention).
 *
 * Input: values (layers, heads, L, L) in [0, 1] (row i = query position, column j = key
 * position; causal: entries j > i are not drawn), L axis labels (the tokens as the task
 * renders them, the caller's "⟨bos⟩" first), optionally the token each query row
 * predicts (next[i]).
 *
 * rt_chart_heat_svg: a self-contained SVG 1.1 document (no ids, scripts or external
 *   references) on a white background (readable in light and dark front ends, like
 *   rt_chart_svg), the title and subtitle on top, then a grid of panels, rows = layers,
 *   columns = heads, each titled "layer l · head h" (1-based), an L x L grid of square
 *   cells (query labels left, key labels under the grid, rotated), each cell of j <= i
 *   filled by one sequential scale: value v (clamped to [0, 1]) -> the colour linearly
 *   interpolated between 9 stops from #f7fbff (0) to #08306b (1) (ColorBrewer "Blues");
 *   j > i left blank inside the panel's frame; then a legend bar 0 .. 1 under the grid.
 *   Cell size: the largest of 4..18 px that keeps the figure within RT_CHART_MAX_WIDTH
 *   (at 4 px it may be wider); labels 9 px (the cell size below that); the figure is
 *   as wide as the title needs, up to RT_CHART_MAX_WIDTH, the panels centred.  Each
 *   cell carries a <title> tooltip "q → k: p" when the figure has at most 20,000 cells
 *   (~110 bytes a cell, ~65 without; the SVG grows as layers heads L (L + 1) / 2: 2 x 4
 *   heads at L = 12 come to ~70 KB).
 * rt_chart_heat_text: for each (layer, head) a heading line "layer l · head h", then one
 *   line per query: its label (and "→ next" when given), a shaded character grid over
 *   the keys (' ' masked, '·' < 0.1, '░' < 0.3, '▒' < 0.5, '▓' < 0.75, '█'), and the key
 *   it attends to most (the first of equal maxima) with that probability to 2 decimals;
 *   a key line on top explains the shades.
 *
 * Output: a NUL-terminated string in *out (length in *len if non-NULL), caller frees
 * with rt_free; deterministic byte for byte, locale-free.  Errors: RT_EINVAL (layers,
 * heads or L < 1, L > RT_CHART_HEAT_MAX_L, NULL values or labels), RT_ENOMEM; *out NULL.
 * Thread safety: no global state.  Leaves out: PNG (the kernel rasterizes the SVG),
 * Vega-Lite, diverging scales, choosing what to show (the magics'). */
#ifndef RT_CHART_HEAT_H
#define RT_CHART_HEAT_H

#include <stddef.h>

#include "rt_diag.h"

#define RT_CHART_HEAT_MAX_L 256

typedef struct rt_chart_heat {
    const char *title;         /* NULL = none */
    const char *subtitle;      /* NULL = none */
    int layers, heads, L;      /* values (layers, heads, L, L) */
    const float *values;       /* in [0, 1]; NaN drawn as 0 */
    const char *const *labels; /* (L) position labels */
    const char *const *next;   /* NULL, or (L) the token each query row predicts */
    const char *legend;        /* NULL = "attention probability" */
} rt_chart_heat;

int rt_chart_heat_svg(const rt_chart_heat *h, char **out, size_t *len);
int rt_chart_heat_text(const rt_chart_heat *h, char **out, size_t *len);

/* The scale's colour of v (clamped to [0, 1]; NaN = 0) as "#rrggbb" into buf (>= 8). */
void rt_chart_heat_color(double v, char *buf);

#endif
