/* mag_remote: points trained by other processes, followed live (mag_remote.h). */
#include "mag_remote.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mag_jobs.h"
#include "mag_session.h"
#include "mag_slurm.h"
#include "rt_alloc.h"
#include "rt_policy.h"
#include "rt_run.h"
#include "rt_runfile.h"
#include "rt_text.h"

/* After an interrupt the local ranks get SIGTERM at once (they stop training at their
 * next step and write their partial runs), mpirun's group after MPI_TERM_NS, SIGKILL
 * after MPI_GRACE_NS. */
#define MPI_TERM_NS 1000000000L
#define MPI_GRACE_NS 5000000000L

/* How often the follower looks at the files and the child (ms). */
#define POLL_MS 20

/* A Slurm job: how often squeue is asked whether it still runs (s), and how long the
 * tasks are waited for after scancel (s; Slurm's KillWait is 30 s by default). */
#define SLURM_QUEUE_S 2.0
#define SLURM_CANCEL_S 40.0

struct mag_remote {
    mag_ctx *ctx;
    char *dir;
    mag_train_point *const *pp;
    size_t np;
    rt_runfile_reader **rd; /* per point */
    pid_t pid;              /* mpirun, leader of its process group (-1: none) */
    char jobid[64];         /* or the Slurm job followed */
    int po, pe;             /* its stdout and stderr */
    rt_strbuf ob, eb, tail; /* partial lines, and the last lines of stderr */
    int done;               /* the processes are gone and every run ended */
    int collect;            /* %collect: no processes, the files as they are */
    int interrupted;
    char failure[2400]; /* how mpirun ended, if not well */
};

static const char *const point_files[] = {
    "run", "jsonl", "policy", "adam", "interrupted.policy", "failed", "status",
};

void mag_child_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
}

void mag_remote_clean_point(const char *dir, size_t i)
{
    char path[4200];
    for (size_t k = 0; k < sizeof point_files / sizeof *point_files; k++) {
        snprintf(path, sizeof path, "%s/point-%zu.%s", dir, i, point_files[k]);
        unlink(path);
    }
}

/* ---- the child's output ---- */

/* A line of the child's output: a worker's error to the cell's stderr, the rest of stderr
 * kept (its last lines name a failure of mpirun itself); progress lines ("worker: ...")
 * are for terminals: the live chart shows progress here. */
static void child_line(mag_remote *r, int is_err, const char *line)
{
    if (is_err && !strncmp(line, "rlhf-kernel worker: ", 20))
        krn_out_printf(r->ctx->out, KRN_STDERR, "%s\n", line);
    else if (is_err && line[0] && strncmp(line, "---", 3)) {
        if (r->tail.len > 2000) rt_strbuf_truncate(&r->tail, 0);
        rt_strbuf_printf(&r->tail, "%s\n", line);
    }
}

/* Reads what fd has (lines to child_line); 0 at EOF. */
static int pump(mag_remote *r, int fd, int is_err)
{
    rt_strbuf *buf = is_err ? &r->eb : &r->ob;
    char chunk[4096];
    ssize_t k = read(fd, chunk, sizeof chunk);
    if (k < 0) return errno == EINTR || errno == EAGAIN;
    if (k == 0) {
        if (buf->len) {
            rt_strbuf_printf(buf, "%s", "");
            child_line(r, is_err, buf->s);
            rt_strbuf_truncate(buf, 0);
        }
        return 0;
    }
    rt_strbuf_append(buf, chunk, (size_t)k);
    size_t start = 0;
    for (size_t i = 0; i < buf->len; i++)
        if (buf->s[i] == '\n') {
            buf->s[i] = '\0';
            child_line(r, is_err, buf->s + start);
            start = i + 1;
        }
    if (start) {
        size_t rest = buf->len - start;
        memmove(buf->s, buf->s + start, rest);
        rt_strbuf_truncate(buf, rest);
    }
    return 1;
}

/* Sends sig (0: none) to every process whose parent is parent (Linux /proc): mpirun's
 * local ranks, which Open MPI puts in process groups of their own.  Their number. */
static int signal_children(pid_t parent, int sig)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        char *end, path[64], buf[512];
        long p = strtol(e->d_name, &end, 10);
        if (*end || p <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", p);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = '\0';
        const char *rp = strrchr(buf, ')'); /* "PID (COMM) STATE PPID ..." */
        char st;
        long pp;
        if (rp && sscanf(rp + 1, " %c %ld", &st, &pp) == 2 && pp == (long)parent && st != 'Z') {
            n++;
            if (sig) kill((pid_t)p, sig);
        }
    }
    closedir(d);
    return n;
}

void mag_remote_free(mag_remote *r)
{
    if (!r) return;
    if (r->pid > 0 && !r->done) { /* never followed to the end: stop it */
        kill(-r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (r->po >= 0) close(r->po);
    if (r->pe >= 0) close(r->pe);
    for (size_t i = 0; r->rd && i < r->np; i++)
        rt_runfile_reader_free(r->rd[i]);
    rt_free(r->rd);
    rt_free(r->dir);
    rt_strbuf_free(&r->ob), rt_strbuf_free(&r->eb), rt_strbuf_free(&r->tail);
    rt_free(r);
}

/* A remote of np points in dir, with a reader per point's run file; NULL on ENOMEM. */
static mag_remote *remote_new(mag_ctx *ctx, const char *dir, mag_train_point *const *pp, size_t np)
{
    mag_remote *r = rt_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->ctx = ctx, r->pp = pp, r->np = np, r->po = r->pe = -1, r->pid = -1;
    rt_strbuf_init(&r->ob), rt_strbuf_init(&r->eb), rt_strbuf_init(&r->tail);
    r->dir = rt_strdup(dir);
    r->rd = rt_calloc(np ? np : 1, sizeof *r->rd);
    for (size_t i = 0; r->dir && r->rd && i < np; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/point-%zu.run", dir, i);
        if (rt_runfile_reader_new(path, &r->rd[i])) break;
        rt_runfile_hold_interrupted(r->rd[i]); /* whose interrupt: end_point decides */
    }
    if (!r->dir || !r->rd || (np && !r->rd[np - 1])) {
        mag_remote_free(r);
        return NULL;
    }
    return r;
}

int mag_remote_start_mpi(mag_ctx *ctx, const mag_cell *cell, const char *dir,
                         mag_train_point *const *pp, size_t np, mag_remote **out, mag_diag *d)
{
    mag_remote *r = *out = remote_new(ctx, dir, pp, np);
    if (!r) return mag_err_nomem(d);
    *out = NULL;
    for (size_t i = 0; i < np; i++)
        mag_remote_clean_point(dir, i);
    int nranks;
    const char *mpirun, *hosts;
    mag_session_mpi(ctx->session, &nranks, &mpirun, &hosts);
    char self[4096], nps[16];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        int e = errno;
        mag_remote_free(r);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                       "%%executor mpi: cannot find this rlhf-kernel (/proc/self/exe): %s",
                       strerror(e));
    }
    self[sl] = '\0';
    if (strchr(mpirun, '/') ? access(mpirun, X_OK) != 0 : !mag_in_path(mpirun)) {
        mag_remote_free(r);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                       "%%executor mpi: cannot start '%s' (Debian: openmpi-bin; or give "
                       "mpirun=PATH)",
                       mpirun);
    }
    snprintf(nps, sizeof nps, "%d", nranks);
    const char *argv[16];
    int ac = 0;
    argv[ac++] = mpirun;
    if (geteuid() == 0) argv[ac++] = "--allow-run-as-root"; /* Open MPI refuses root otherwise */
    if (hosts) {
        argv[ac++] = "--hostfile";
        argv[ac++] = hosts;
    } else {
        argv[ac++] = "--oversubscribe"; /* this machine: np may exceed its cores */
    }
    argv[ac++] = "-np";
    argv[ac++] = nps;
    argv[ac++] = self;
    argv[ac++] = "worker";
    argv[ac++] = dir;
    argv[ac] = NULL;
    krn_out_printf(ctx->out, KRN_STDOUT, "%s%s%s -np %d rlhf-kernel worker %s\n", mpirun,
                   hosts ? " --hostfile " : "", hosts ? hosts : "", nranks, dir);
    int po[2], pe[2];
    if (pipe(po)) {
        int e = errno;
        mag_remote_free(r);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "pipe: %s", strerror(e));
    }
    if (pipe(pe)) {
        int e = errno;
        close(po[0]), close(po[1]);
        mag_remote_free(r);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "pipe: %s", strerror(e));
    }
    pid_t pid = fork();
    if (pid == 0) { /* the child: its own process group, default signals, then mpirun */
        setpgid(0, 0);
        mag_child_signals();
        dup2(po[1], 1);
        dup2(pe[1], 2);
        closefrom(3); /* nothing of the kernel's (its sockets) goes to mpirun and the ranks */
        execvp(mpirun, (char *const *)argv);
        static const char msg[] = "cannot start mpirun\n"; /* async-signal-safe only */
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    if (pid < 0) {
        int e = errno;
        close(po[0]), close(pe[0]);
        mag_remote_free(r);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "fork: %s", strerror(e));
    }
    setpgid(pid, pid); /* also here: no race with the child's own call */
    r->pid = pid, r->po = po[0], r->pe = pe[0];
    *out = r;
    return 0;
}

int mag_remote_follow_slurm(mag_ctx *ctx, const char *dir, const char *jobid,
                            mag_train_point *const *pp, size_t np, mag_remote **out, mag_diag *d)
{
    mag_remote *r = *out = remote_new(ctx, dir, pp, np);
    if (!r) return mag_err_nomem(d);
    snprintf(r->jobid, sizeof r->jobid, "%s", jobid);
    return 0;
}

int mag_remote_collect(mag_ctx *ctx, const char *dir, mag_train_point *const *pp, size_t np,
                       mag_remote **out, mag_diag *d)
{
    mag_remote *r = *out = remote_new(ctx, dir, pp, np);
    if (!r) return mag_err_nomem(d);
    r->collect = 1;
    return 0;
}

/* The point index of a job (its arg is the point), or -1. */
static long point_of(const mag_remote *r, const rt_job *j)
{
    for (size_t i = 0; i < r->np; i++)
        if ((const void *)r->pp[i] == j->arg) return (long)i;
    return -1;
}

/* Reads what the points' run files hold now into their runs. */
static void tail_runs(mag_remote *r)
{
    for (size_t i = 0; i < r->np; i++) {
        if (!r->pp[i]->run) continue;
        rt_diag d = {0};
        if (rt_runfile_poll(r->rd[i], r->pp[i]->run, &d) < 0 && !r->failure[0])
            snprintf(r->failure, sizeof r->failure, "%s", d.msg);
    }
}

void mag_remote_point_file(const char *dir, size_t i, const char *name, char *buf, size_t cap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/point-%zu.%s", dir, i, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
}

/* 1 when every point's status file is there (its worker ended). */
static int all_ended(const mag_remote *r)
{
    char path[4200];
    for (size_t i = 0; i < r->np; i++) {
        snprintf(path, sizeof path, "%s/point-%zu.status", r->dir, i);
        if (access(path, F_OK)) return 0;
    }
    return 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Follows a Slurm array until every point's worker ended, or squeue no longer lists the
 * job (tasks that died without a word: their points fail naming their output file), or,
 * after an interrupt (scancel: Slurm sends SIGTERM to the tasks, which stop at their
 * next step and write their partial runs), until the tasks are gone. */
static void follow_slurm(mag_remote *r, atomic_int *cancel)
{
    double last_q = mono_s(), cancelled_at = 0;
    int cancelled = 0;
    for (;;) {
        tail_runs(r);
        if (all_ended(r)) break;
        double now = mono_s();
        if (now - last_q >= SLURM_QUEUE_S) {
            last_q = now;
            if (mag_slurm_alive(r->jobid) == 0) { /* gone: what it wrote is complete */
                tail_runs(r);
                if (!all_ended(r) && !r->failure[0])
                    snprintf(
                        r->failure, sizeof r->failure,
                        "Slurm job %s ended without this point's result; see %s/slurm-%s_I.out",
                        r->jobid, r->dir, r->jobid);
                break;
            }
        }
        if (!cancelled && cancel && atomic_load(cancel)) {
            char err[600];
            r->interrupted = cancelled = 1;
            cancelled_at = now;
            if (mag_slurm_cancel(r->jobid, err, sizeof err))
                krn_out_printf(r->ctx->out, KRN_STDERR, "%s\n", err);
        }
        if (cancelled && now - cancelled_at > SLURM_CANCEL_S) break;
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    tail_runs(r);
    r->done = 1;
}

/* Follows the processes until they are gone: pipes, run files, the cancel flag. */
static void follow(mag_remote *r, atomic_int *cancel)
{
    if (r->collect) { /* what the files hold now */
        tail_runs(r);
        r->done = 1;
        return;
    }
    if (r->pid < 0) {
        follow_slurm(r, cancel);
        return;
    }
    int status = 0, exited = 0;
    int open_o = 1, open_e = 1, sent = 0;
    struct timespec killed_at = {0, 0};
    while (open_o || open_e || !exited) {
        struct pollfd fds[2] = {{open_o ? r->po : -1, POLLIN, 0}, {open_e ? r->pe : -1, POLLIN, 0}};
        int k = poll(fds, 2, POLL_MS);
        if (k > 0) {
            if (open_o && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
                open_o = pump(r, r->po, 0);
            if (open_e && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
                open_e = pump(r, r->pe, 1);
        }
        tail_runs(r);
        if (!exited) {
            pid_t w = waitpid(r->pid, &status, WNOHANG);
            if (w == r->pid) exited = 1;
            if (!open_o && !open_e && !exited) {
                struct timespec ts = {0, POLL_MS * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ns = (now.tv_sec - killed_at.tv_sec) * 1000000000L + (now.tv_nsec - killed_at.tv_nsec);
        if (!sent && cancel && atomic_load(cancel)) {
            /* the local ranks first: they stop at their next step, write their partial
             * runs and end the farm in order (signalling mpirun first would make it
             * SIGKILL its ranks before big partial runs are written) */
            r->interrupted = 1;
            if (!exited) signal_children(r->pid, SIGTERM);
            killed_at = now;
            sent = 1;
        } else if (sent && sent < 3 && !exited && signal_children(r->pid, 0) == 0) {
            /* its children (local ranks, and the ssh sessions of remote ones) are gone,
               their results written: mpirun has nothing left to do but its own slow
               teardown */
            kill(-r->pid, SIGKILL);
            sent = 3;
        } else if (sent == 1 && !exited && ns > MPI_TERM_NS) {
            /* remote ranks (a hostfile) get it from mpirun, which forwards SIGTERM */
            kill(-r->pid, SIGTERM);
            sent = 2;
        } else if (sent == 2 && ns > MPI_GRACE_NS && !exited) {
            kill(-r->pid, SIGKILL);
            sent = 3;
        }
    }
    if (sent) kill(-r->pid, SIGKILL); /* ranks that outlived mpirun */
    close(r->po), close(r->pe);
    r->po = r->pe = -1;
    tail_runs(r);
    if (!sent && (!WIFEXITED(status) || WEXITSTATUS(status) != 0) && !r->failure[0]) {
        rt_strbuf *t = &r->tail;
        while (t->len && t->s[t->len - 1] == '\n')
            rt_strbuf_truncate(t, t->len - 1);
        const char *last = t->len ? strrchr(t->s, '\n') : NULL;
        snprintf(r->failure, sizeof r->failure, "mpirun %s %d%s%s",
                 WIFEXITED(status) ? "exited with status" : "was killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), t->len ? ": " : "",
                 t->len ? (last ? last + 1 : t->s) : "");
    }
    r->pid = -1;
    r->done = 1;
}

/* Ends the run of point i if its file did not: INTERRUPTED after an interrupt, else
 * FAILED naming the worker's error or how mpirun ended.  The job's status. */
static int end_point(mag_remote *r, size_t i)
{
    rt_run *run = r->pp[i]->run;
    char st[64];
    mag_remote_point_file(r->dir, i, "status", st, sizeof st);
    if (r->collect && !st[0]) { /* its worker has not ended (or not started) */
        r->pp[i]->pending = 1;
        return RT_SWEEP_NOT_RUN;
    }
    /* interrupted by the user; in a directory collected later, as its worker says (a point
     * stopped by mpirun tearing its job down after a rank died is not: it failed) */
    int stopped = r->interrupted || (r->collect && !strcmp(st, "interrupted"));
    if (!run) return !strcmp(st, "finished") ? 0 : stopped ? RT_EINTR : RT_EFAILED;
    long step = 0;
    rt_run_status s = rt_run_status_of(run, &step, NULL, 0);
    if (s == RT_RUN_CREATED) rt_run_start(run);
    if (s == RT_RUN_CREATED || s == RT_RUN_RUNNING) {
        long rows = rt_run_rows(run), fstep;
        rt_run_status fs;
        if (stopped && rt_runfile_ended(r->rd[i], &fs, &fstep) && fs == RT_RUN_INTERRUPTED) {
            rt_run_finish(run, RT_RUN_INTERRUPTED, fstep, rt_runfile_end_message(r->rd[i]));
        } else if (stopped) {
            rt_run_finish(run, RT_RUN_INTERRUPTED, rows, "");
        } else {
            /* which point's process died, which were stopped by the job's end, which never
               started: each says so, with what ended the job */
            char why[2000], msg[2600];
            const char *where = r->jobid[0]  ? "in its Slurm array task"
                                : r->collect ? "in its worker"
                                             : "on its MPI rank";
            const char *job = r->jobid[0] ? "the Slurm job ended" : "mpirun ended the job";
            const char *cause = r->failure[0] ? r->failure : "no report";
            mag_remote_point_file(r->dir, i, "failed", why, sizeof why);
            if (why[0])
                snprintf(msg, sizeof msg, "point %zu failed %s (%s)", i, where, why);
            else if (!strcmp(st, "interrupted"))
                snprintf(msg, sizeof msg, "point %zu was stopped when %s (%s)", i, job, cause);
            else if (!rt_runfile_started(r->rd[i]))
                snprintf(msg, sizeof msg, "point %zu did not start: %s (%s)", i, job, cause);
            else
                snprintf(msg, sizeof msg, "point %zu failed %s: its process died (%s)", i, where,
                         cause);
            rt_run_finish(run, RT_RUN_FAILED, rows, msg);
        }
    }
    s = rt_run_status_of(run, NULL, NULL, 0);
    return s == RT_RUN_FINISHED ? 0 : s == RT_RUN_INTERRUPTED ? RT_EINTR : RT_EFAILED;
}

static void exec_run(const rt_executor *ex, rt_job *jobs, int n, atomic_int *cancel)
{
    mag_remote *r = ex->self;
    follow(r, cancel);
    for (int k = 0; k < n; k++) {
        long i = point_of(r, &jobs[k]);
        jobs[k].status = i < 0 ? RT_SWEEP_NOT_RUN : end_point(r, (size_t)i);
    }
}

rt_executor mag_remote_executor(mag_remote *r)
{
    return (rt_executor){
        .name = r->jobid[0] ? "slurm" : "mpi", .run = exec_run, .threads = 1, .self = r};
}

/* The bytes of the file at path (rt_free) and their number, or NULL. */
static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    rt_strbuf b;
    rt_strbuf_init(&b);
    char chunk[65536];
    for (size_t k; (k = fread(chunk, 1, sizeof chunk, f)) > 0;)
        rt_strbuf_append(&b, chunk, k);
    int bad = ferror(f) || b.err;
    fclose(f);
    char *p = rt_strbuf_take(&b, n);
    if (bad) rt_free(p), p = NULL;
    return p;
}

int mag_remote_policies(mag_remote *r)
{
    if (!r->done) follow(r, NULL); /* no chart ran (no point had steps): wait here */
    for (size_t i = 0; i < r->np; i++) {
        mag_train_point *p = r->pp[i];
        end_point(r, i);
        if (p->pending) { /* %collect: nothing of it yet */
            rt_policy_free(p->pol);
            p->pol = NULL;
            continue;
        }
        char st[64];
        mag_remote_point_file(r->dir, i, "status", st, sizeof st);
        char path[4200];
        rt_policy *pol = NULL;
        rt_diag pd = {0};
        snprintf(path, sizeof path, "%s/point-%zu.policy", r->dir, i);
        int have = access(path, R_OK) == 0 && !rt_policy_load(&pol, path, &pd);
        if (have) { /* its Adam state, so that a copy trains on as from the threads executor */
            snprintf(path, sizeof path, "%s/point-%zu.adam", r->dir, i);
            size_t n = 0;
            char *a = read_file(path, &n), name[MAG_TRAIN_NAME + 8], err[200];
            if (a)
                mag_jobs_adam_unpack(a, n, name, sizeof name, pol->model.params, err, sizeof err);
            rt_free(a);
        } else if (r->interrupted || !strcmp(st, "interrupted")) { /* as trained so far */
            snprintf(path, sizeof path, "%s/point-%zu.interrupted.policy", r->dir, i);
            if (access(path, R_OK) != 0 || rt_policy_load(&pol, path, &pd)) pol = NULL;
        }
        rt_policy_free(p->pol); /* the untrained copy: never stored as if trained */
        p->pol = pol;
    }
    return r->interrupted;
}
