/* krn_signal: flag-only SIGINT/SIGTERM handlers and the parent watcher (see krn_signal.h). */
#include "krn_signal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "krn_log.h"

static atomic_int g_interrupt;
static volatile sig_atomic_t g_term;

atomic_int *krn_signal_interrupt_flag(void)
{
    return &g_interrupt;
}

static void on_signal(int sig)
{
    if (sig == SIGTERM) g_term = 1;
    atomic_store(&g_interrupt, 1); /* SIGTERM also stops a running cell */
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

/* ---- parent watcher ------------------------------------------------------------------ */

static pid_t g_parent;   /* the launcher being watched, or 0: watch for init */
static bool g_watch;     /* whether parent death is watched at all */
static pthread_t g_main; /* the thread that handles SIGTERM */

static void *watcher_main(void *arg)
{
    (void)arg;
    struct timespec tick = {0, KRN_PARENT_POLL_MS * 1000000L};
    int term_ms = -1; /* time since SIGTERM was seen */
    bool told = false;
    for (;;) {
        nanosleep(&tick, NULL);
        if (g_watch && !told) {
            pid_t pp = getppid();
            if ((g_parent && pp != g_parent) || (!g_parent && pp == 1)) {
                KRN_WARN("the kernel's parent process %ld is gone: shutting down",
                         (long)(g_parent ? g_parent : 1));
                told = true;
                pthread_kill(g_main, SIGTERM);
            }
        }
        if (g_term) {
            if (term_ms < 0) term_ms = 0;
            term_ms += KRN_PARENT_POLL_MS;
            if (term_ms % 500 == 0) pthread_kill(g_main, SIGTERM); /* wakes a blocked wait */
            if (term_ms >= KRN_TERM_GRACE_MS) {
                KRN_ERROR("still running %d ms after SIGTERM (a cell does not stop): exiting",
                          term_ms);
                _exit(1);
            }
        }
    }
    return NULL;
}

int krn_signal_watch_parent(void)
{
    g_main = pthread_self();
    const char *env = getenv("JPY_PARENT_PID");
    long want = env ? strtol(env, NULL, 10) : 0;
    pid_t pp = getppid();
    g_watch = want > 1; /* as ipykernel: no polling without a parent pid, or for init */
    g_parent = (g_watch && want == (long)pp) ? pp : 0;
#ifdef __linux__
    if (g_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
            KRN_WARN("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
        if (getppid() != g_parent) raise(SIGTERM); /* the parent died before prctl */
    }
#endif
    pthread_t t;
    if (pthread_create(&t, NULL, watcher_main, NULL) != 0) return -1;
    pthread_detach(t);
    return 0;
}
