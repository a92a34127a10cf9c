/* krn_signal: flag-only SIGINT/SIGTERM handlers (see krn_signal.h). */
#include "krn_signal.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static atomic_int g_interrupt;
static volatile sig_atomic_t g_term;

atomic_int *krn_signal_interrupt_flag(void)
{
    return &g_interrupt;
}

static void on_signal(int sig)
{
    if (sig == SIGINT)
        atomic_store(&g_interrupt, 1);
    else
        g_term = 1;
}

int krn_signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) return -1;
    return 0;
}

bool krn_signal_term_requested(void)
{
    return g_term != 0;
}

void krn_signal_block(bool block)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}
