/* krn_cli: the rlhf-kernel command line (krn_main is called by magics/main.c with the
 * interpreter to serve). Subcommands: -f CONNECTION_FILE (serve), install, run, --version,
 * --help; --log-level LEVEL anywhere (or RLHF_KERNEL_LOG). Logs go to stderr.  The help
 * also documents `worker`, which magics/main.c dispatches before krn_main (it needs the
 * cell language: magics/mag_jobs.h).
 * Leaves out: serving (krn_server.h), installing (krn_install.h), running a notebook
 * (krn_headless.h) — it only parses and dispatches. */
#ifndef KRN_CLI_H
#define KRN_CLI_H

#include "krn_interp.h"

/* Returns the process exit status (0 ok, 1 runtime error, 2 usage error). */
int krn_main(int argc, char **argv, const krn_interp *interp);

#endif
