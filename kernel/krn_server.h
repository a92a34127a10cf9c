/* krn_server: runs the kernel for one connection file: binds the five sockets, starts the
 * control, heartbeat and IOPub threads, serves shell on the calling (main) thread until a
 * shutdown_request or SIGTERM, then exits cleanly (threads joined, sockets closed, ZeroMQ
 * context terminated).
 * Leaves out: message handling (krn_dispatch.c), the wire format (krn_wire.h), signals
 * (krn_signal.h). */
#ifndef KRN_SERVER_H
#define KRN_SERVER_H

#include "krn_interp.h"

/* Returns 0 after a clean shutdown, 1 on a startup error (message on stderr). */
int krn_server_run(const char *connection_file, const krn_interp *interp);

#endif
