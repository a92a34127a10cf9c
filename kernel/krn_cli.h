/* krn_cli: the rlhf-kernel command line (krn_main is called by magics/main.c with the
 * interpreter to serve). Subcommands: -f CONNECTION_FILE (serve), install, run, --version,
 * --help; --log-level LEVEL anywhere (or RLHF_KERNEL_LOG). Logs go to stderr.  The help
 * also lists the commands the calling program dispatches itself before krn_main (its
 * more_usage: magics/main.c's `worker`, whose text magics/mag_worker.c owns), so this layer
 * names no cell language, trainer or job.
 * Leaves out: serving (krn_server.h), installing (krn_install.h), running a notebook
 * (krn_headless.h) — it only parses and dispatches. */
#ifndef KRN_CLI_H
#define KRN_CLI_H

#include "krn_interp.h"

/* Returns the process exit status (0 ok, 1 runtime error, 2 usage error).  more_usage (may
 * be NULL): lines of the help's command list for the caller's own commands, in its
 * format ("  NAME ARGS    what it does\n", descriptions from column 27), printed after
 * `run` in --help and in every usage error. */
int krn_main(int argc, char **argv, const krn_interp *interp, const char *more_usage);

#endif
