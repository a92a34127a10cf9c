/* krn_signal: process signals and the process's lifetime. SIGINT only sets the interrupt
 * flag the running cell polls (it never kills the kernel); SIGTERM sets a termination flag
 * and the interrupt flag, so a running cell stops at its next poll and the kernel exits
 * cleanly. The handlers do nothing else (async-signal-safe).
 *
 * The kernel also ends when its launcher dies: with JPY_PARENT_PID naming the parent (as
 * jupyter_client sets it), prctl(PR_SET_PDEATHSIG, SIGTERM) on Linux, and a watcher thread
 * that polls the parent every KRN_PARENT_POLL_MS like ipykernel's ParentPollerUnix (a
 * changed parent, or init as parent when JPY_PARENT_PID is not ours) and then sends SIGTERM
 * to the process. The same thread is the backstop of SIGTERM: a kernel still running
 * KRN_TERM_GRACE_MS after it (a cell that does not poll its interrupt flag) exits with
 * _exit(1), logged.
 * Leaves out: what a cell does when interrupted (it polls krn_out_interrupted) and
 * process supervision beyond the parent watch. */
#ifndef KRN_SIGNAL_H
#define KRN_SIGNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#define KRN_PARENT_POLL_MS 100
#define KRN_TERM_GRACE_MS 1500

/* The process-wide interrupt flag (also set by interrupt_request). */
atomic_int *krn_signal_interrupt_flag(void);
/* Installs the SIGINT and SIGTERM handlers (without SA_RESTART, so blocking waits return
 * EINTR). Returns 0 or -1. */
int krn_signal_install(void);
bool krn_signal_term_requested(void);
/* Blocks (block=true) or unblocks SIGINT/SIGTERM in the calling thread; threads created
 * while blocked inherit it, so only the main thread receives them. */
void krn_signal_block(bool block);
/* Starts the watcher thread (parent death, SIGTERM backstop) and sets PR_SET_PDEATHSIG
 * when JPY_PARENT_PID is the parent. Call with the signals blocked, from the thread that
 * handles them. Returns 0 or -1. The thread ends with the process. */
int krn_signal_watch_parent(void);

#endif
