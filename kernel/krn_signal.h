/* krn_signal: process signals. SIGINT only sets the interrupt flag the running cell polls
 * (it never kills the kernel); SIGTERM sets a termination flag (clean exit). The handlers
 * do nothing else (async-signal-safe). */
#ifndef KRN_SIGNAL_H
#define KRN_SIGNAL_H

#include <stdatomic.h>
#include <stdbool.h>

/* The process-wide interrupt flag (also set by interrupt_request). */
atomic_int *krn_signal_interrupt_flag(void);
/* Installs the SIGINT and SIGTERM handlers (without SA_RESTART, so blocking waits return
 * EINTR). Returns 0 or -1. */
int krn_signal_install(void);
bool krn_signal_term_requested(void);
/* Blocks (block=true) or unblocks SIGINT/SIGTERM in the calling thread; threads created
 * while blocked inherit it, so only the main thread receives them. */
void krn_signal_block(bool block);

#endif
