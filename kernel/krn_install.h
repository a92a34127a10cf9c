/* krn_install: writes the kernelspec directory "rlhf" (kernel.json, logo-32x32.png,
 * logo-64x64.png, logo-svg.svg). Destinations: --user -> $JUPYTER_DATA_DIR/kernels/rlhf or
 * ~/.local/share/jupyter/kernels/rlhf; --prefix P -> P/share/jupyter/kernels/rlhf;
 * --sys-prefix -> $CONDA_PREFIX, else $VIRTUAL_ENV, else /usr/local, then as --prefix.
 * Leaves out: uninstalling, and kernelspec discovery (jupyter_client's). */
#ifndef KRN_INSTALL_H
#define KRN_INSTALL_H

#include <stddef.h>

enum krn_install_mode { KRN_INSTALL_USER, KRN_INSTALL_PREFIX, KRN_INSTALL_SYS_PREFIX };

/* Computes the kernelspec directory into dir[dirsz]. -1 with err if it cannot (no HOME). */
int krn_install_dir(enum krn_install_mode mode, const char *prefix, char *dir, size_t dirsz,
                    char *err, size_t errsz);
/* Creates dir (and parents) and writes the spec with argv[0] = exe. 0 or -1 with err. */
int krn_install_write(const char *dir, const char *exe, char *err, size_t errsz);

#endif
