/* krn_headless: `rlhf-kernel run FILE` — executes the code cells of a notebook (.ipynb,
 * nbformat 4) or a script (.rlhf: cells separated by lines starting with "# %%"; cells
 * marked "# %% [markdown]" and blank cells are skipped) through the interpreter vtable, with a sink
 * that prints stream text (stdout/stderr) and the text/plain of results and displays to stdout;
 * errors go to stderr. Stops at the first error. With svg_dir, every image/svg+xml output is also
 * written to svg_dir/cell<N>-<K>.svg. SIGINT interrupts the running cell. While a live
 * display updates, a progress line made from the first lines of its frames' text/plain
 * goes to stderr: redrawn in place with '\r' (and blanked at the end of the cell) when
 * stderr is a terminal, else printed every RLHF_PROGRESS_SECONDS seconds (default 5; 0:
 * no progress). stdout does not depend on it.
 * Leaves out: the Jupyter wire (no sockets here) and notebook output files (it prints, it
 * does not write .ipynb). */
#ifndef KRN_HEADLESS_H
#define KRN_HEADLESS_H

#include "krn_interp.h"

/* Returns 0 when every cell ran, 1 at the first failing cell (stderr names the file, the
 * cell number (1-based, counting code cells) and the error's evalue), 2 when the file
 * cannot be read or parsed. */
int krn_headless_run(const krn_interp *interp, const char *path, const char *svg_dir);

/* Splits .rlhf text into cells (malloc'ed strings in a malloc'ed array; free each and the
 * array). Exposed for tests. Returns the number of cells or -1. */
int krn_headless_split_script(const char *text, char ***cells);

#endif
