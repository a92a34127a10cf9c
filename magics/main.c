/* rlhf-kernel: the single binary. Checks RLHF_ISA (the runtime's SIMD path), creates the
 * cell-language interpreter (magics/mag_interp.c, one session per process) and hands it to the
 * kernel's command line (kernel/krn_cli.h: the kernel, install, headless run); `worker` runs a job
 * directory's point (magics/mag_jobs.h). */
#include <stdio.h>
#include <string.h>

#include "krn_cli.h"
#include "mag_interp.h"
#include "mag_jobs.h"
#include "rt_nn.h"

int main(int argc, char **argv)
{
    char err[200];
    if (rt_nn_isa_check_env(err, sizeof err)) { /* RLHF_ISA names no usable path */
        fprintf(stderr, "rlhf-kernel: %s\n", err);
        return 2;
    }
    /* rlhf-kernel worker DIR --point I: a sweep point of a job directory (mag_jobs.h) */
    if (argc >= 2 && strcmp(argv[1], "worker") == 0) return mag_worker_main(argc - 1, argv + 1);
    krn_interp *it = mag_interp_new();
    if (!it) {
        fprintf(stderr, "rlhf-kernel: out of memory\n");
        return 1;
    }
    /* the kernel's --help lists `worker` in the words of its own usage (mag_worker_usage) */
    int rc = krn_main(argc, argv, it, mag_worker_usage);
    mag_interp_free(it);
    return rc;
}
