/* mag_jobs: the kernel's side of job directories (mag_jobs.h) — %executor, writing a
 * training cell's job directory, the reward cell a job carries and the worker's check of
 * a rebuilt job.  Leaves out the worker itself (mag_worker.c) and the manifest's format
 * (runtime/train/rt_manifest.h). */
#include "mag_jobs.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mag_bridge.h"
#include "rt_alloc.h"
#include "rt_manifest.h"
#include "rt_policy.h"
#include "rt_run.h"

/* the shortest %g form of v that reads back as v */
static void fmt_num(double v, char *buf, size_t cap)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void mag_jobs_reward_cell(const char *name, const rt_reward_program *r, rt_strbuf *b)
{
    rt_strbuf_printf(b, "%%%%reward %s", name);
    for (int i = 0; i < rt_reward_n_params(r); i++) {
        double v;
        char num[40];
        if (!rt_reward_param_default(r, i, &v)) continue;
        fmt_num(v, num, sizeof num);
        rt_strbuf_printf(b, " %s=%s", rt_reward_param_name(r, i), num);
    }
    rt_strbuf_printf(b, "\n%s", rt_reward_source(r));
}

int mag_jobs_adam_pack(const char *name, const rt_params *prm, void **out, size_t *size)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_strbuf_printf(&b, "rlhf-adam 1\npolicy = %s\nn = %zu\nt = %ld\n", name, prm->n, prm->t);
    rt_strbuf_append(&b, (const char *)prm->m, prm->n * sizeof(float));
    rt_strbuf_append(&b, (const char *)prm->v, prm->n * sizeof(float));
    *out = rt_strbuf_take(&b, size);
    return *out ? 0 : MAG_ENOMEM;
}

/* The header line "KEY = VALUE\n" at *at of p[0..n): value into out[cap] (a C string: a
 * VALUE with a NUL byte is refused); 0 or -1. */
static int header_line(const char *p, size_t n, size_t *at, const char *key, char *out, size_t cap)
{
    size_t k = strlen(key);
    const char *nl = memchr(p + *at, '\n', n - *at);
    if (!nl || (size_t)(nl - p) - *at < k + 3 || memcmp(p + *at, key, k) != 0 ||
        memcmp(p + *at + k, " = ", 3) != 0)
        return -1;
    size_t vl = (size_t)(nl - p) - *at - k - 3;
    if (vl >= cap || memchr(p + *at + k + 3, '\0', vl)) return -1;
    memcpy(out, p + *at + k + 3, vl);
    out[vl] = '\0';
    *at = (size_t)(nl - p) + 1;
    return 0;
}

/* s as a decimal number as pack writes it (digits, no leading zero) of at most max: 0, -1 */
static int adam_decimal(const char *s, unsigned long long max, unsigned long long *v)
{
    unsigned long long x = 0;
    if (!s[0] || (s[0] == '0' && s[1])) return -1;
    for (; *s; s++) {
        unsigned dg = (unsigned)(*s - '0');
        if (*s < '0' || *s > '9' || dg > max || x > (max - dg) / 10) return -1;
        x = x * 10 + dg;
    }
    *v = x;
    return 0;
}

int mag_jobs_adam_unpack(const void *p, size_t n, char *name, size_t cap, rt_params *prm, char *err,
                         size_t ecap)
{
    const char *s = p;
    static const char tag[] = "rlhf-adam 1\n";
    size_t at = sizeof tag - 1;
    char nbuf[32], tbuf[32];
    if (n < at || memcmp(s, tag, at) != 0 || header_line(s, n, &at, "policy", name, cap) ||
        header_line(s, n, &at, "n", nbuf, sizeof nbuf) ||
        header_line(s, n, &at, "t", tbuf, sizeof tbuf))
        return snprintf(err, ecap, "an Adam state without its header"), -1;
    /* the name as pack writes it: no control byte (header_line refuses NUL) */
    int name_ok = name[0] != '\0';
    for (size_t i = 0; name[i] && name_ok; i++)
        name_ok = (unsigned char)name[i] >= 0x20 && name[i] != 0x7f;
    if (!name_ok)
        return snprintf(err, ecap,
                        "an Adam state whose policy name is empty or has a control byte"),
               -1;
    unsigned long long nf, t;
    if (adam_decimal(nbuf, (n - at) / (2 * sizeof(float)), &nf) ||
        adam_decimal(tbuf, MAG_JOBS_ADAM_MAX_T, &t) || n - at != 2 * nf * sizeof(float))
        return snprintf(err, ecap, "Adam state of '%s': bad sizes", name), -1;
    if (!prm) return 0;
    if (prm->n != nf)
        return snprintf(err, ecap, "Adam state of '%s': %llu moments for %zu weights", name, nf,
                        prm->n),
               -1;
    memcpy(prm->m, s + at, nf * sizeof(float));
    memcpy(prm->v, s + at + nf * sizeof(float), nf * sizeof(float));
    prm->t = (long)t;
    return 0;
}

int mag_jobs_check_rebuilt(mag_ctx *ctx, const mag_cell *cell, const rt_job *j, uint64_t want,
                           mag_diag *d)
{
    uint64_t h = 0;
    rt_diag jd;
    if (rt_job_hash(j, &h, &jd))
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "worker: point %s: %s", j->name,
                       jd.msg);
    if (h == want) return 0;
    char a[17], b[17];
    rt_job_hash_hex(h, a);
    rt_job_hash_hex(want, b);
    return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                   "worker: point %s rebuilt here is job %s, not the manifest's %s (its "
                   "inputs, configuration or stream differ: a bug, please report it)",
                   j->name, a, b);
}

/* mkdir -p of path (its parents too): 0 or errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
        buf[i] = c;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* Writes p[0..n) to path: 0 or errno. */
static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return errno;
    int ok = fwrite(p, 1, n, f) == n;
    int e = errno;
    if (fclose(f) != 0 && ok) ok = 0, e = errno;
    return ok ? 0 : (e ? e : EIO);
}

/* s as one shell word: as it is when it holds only safe bytes, else in single quotes
 * (a quote as '\'') */
static void shell_word(const char *s, char *out, size_t cap)
{
    int safe = *s != '\0';
    for (const char *c = s; *c && safe; c++)
        safe = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=,:@%",
                      *c) != NULL;
    if (safe) {
        snprintf(out, cap, "%s", s);
        return;
    }
    size_t o = 0;
    out[o++] = '\'';
    for (const char *c = s; *c && o + 6 < cap; c++) {
        if (*c == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *c;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
}

int mag_jobs_write(mag_ctx *ctx, const mag_cell *cell, const char *magic, const char *base,
                   mag_train_point *const *pts, size_t np, char *dir_out, size_t dir_cap,
                   mag_diag *d)
{
    const char *root;
    int mpi = mag_session_executor(ctx->session, &root) == MAG_EXEC_MPI;
    rt_job *jobs = rt_calloc(np ? np : 1, sizeof *jobs);
    if (!jobs) return mag_err_nomem(d);
    for (size_t i = 0; i < np; i++)
        jobs[i] = pts[i]->job;
    rt_strbuf man, one;
    rt_strbuf_init(&man);
    rt_strbuf_init(&one);
    rt_diag jd;
    memset(&jd, 0, sizeof jd);
    int rc = rt_manifest_write(jobs, (int)np, &man, &jd);
    char dir[4096], path[4200], hex[17];
    if (rc == RT_ENOMEM) {
        rc = mag_err_nomem(d);
        goto done;
    }
    if (rc) {
        rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%%%%%s %s: %s", magic, base, jd.msg);
        goto done;
    }
    rt_job_hash_hex(rt_job_fnv1a64(man.s, man.len), hex);
    /* the directory's name: NAME with '/' and control bytes as '_' */
    int dl = snprintf(dir, sizeof dir, "%s/", root);
    for (const char *q = base; *q && dl < (int)sizeof dir - 20; q++)
        dir[dl++] = *q == '/' || (unsigned char)*q < 0x20 ? '_' : *q;
    snprintf(dir + dl, sizeof dir - (size_t)dl, "-%s", hex);
    int e = make_dirs(dir);
    snprintf(path, sizeof path, "%s/manifest", dir);
    if (!e) e = write_file(path, man.s, man.len);
    for (size_t i = 0; !e && i < np; i++) {
        rt_strbuf_truncate(&one, 0);
        if (rt_job_pack(&jobs[i], &one, NULL) || one.err) {
            rc = mag_err_nomem(d);
            goto done;
        }
        snprintf(path, sizeof path, "%s/point-%zu.job", dir, i);
        e = write_file(path, one.s, one.len);
    }
    if (e) {
        rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "cannot write the job directory %s: %s",
                     dir, strerror(e));
        goto done;
    }
    if (dir_out) snprintf(dir_out, dir_cap, "%s", dir);
    if (mpi) {
        if (np && !mag_worker_supports(jobs[0].trainer))
            rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                         "%%executor mpi: rlhf-kernel worker does not run trainer '%s' yet (it "
                         "runs rl and sft); use %%executor threads for this cell",
                         jobs[0].trainer);
        else
            krn_out_printf(ctx->out, KRN_STDOUT, "%%%%%s %s: %zu point%s written to %s\n", magic,
                           base, np, np == 1 ? "" : "s", dir);
        goto done;
    }
    krn_out_printf(ctx->out, KRN_STDOUT,
                   "%%%%%s %s: %zu job%s written to %s (not trained: %%executor jobs)\n"
                   "run %s with:\n",
                   magic, base, np, np == 1 ? "" : "s", dir, np == 1 ? "it" : "each point");
    char q[sizeof dir * 4 + 3]; /* the directory as a shell word */
    shell_word(dir, q, sizeof q);
    for (size_t i = 0; i < np; i++)
        krn_out_printf(ctx->out, KRN_STDOUT, "  rlhf-kernel worker %s --point %zu   # %s\n", q, i,
                       jobs[i].name);
    krn_out_printf(ctx->out, KRN_STDOUT,
                   "each writes %s/point-I.jsonl (its run, as %%export) and point-I.policy (as "
                   "%%save)\n",
                   dir);
    if (np && !mag_worker_supports(jobs[0].trainer))
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "note: rlhf-kernel worker does not run trainer '%s' yet (it runs rl and "
                       "sft)\n",
                       jobs[0].trainer);
done:
    rt_strbuf_free(&man);
    rt_strbuf_free(&one);
    rt_free(jobs);
    return rc;
}

/* ---- %executor mpi: mpirun as a child process group, and collecting its results ---- */

/* After an interrupt (SIGTERM to the ranks: they stop training at their next step and
 * write their partial runs), mpirun's group gets SIGKILL after this. */
#define MPI_GRACE_NS 5000000000L

/* After an interrupt the local ranks get SIGTERM at once, mpirun's group after this. */
#define MPI_TERM_NS 1000000000L

/* Sends sig to every process whose parent is parent (Linux /proc): mpirun's local ranks,
 * which Open MPI puts in process groups of their own. */
static void signal_children(pid_t parent, int sig)
{
    DIR *d = opendir("/proc");
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        char *end, path[64], buf[512];
        long p = strtol(e->d_name, &end, 10);
        if (*end || p <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", p);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* "PID (COMM) STATE PPID ..." */
        char st;
        long pp;
        if (rp && sscanf(rp + 1, " %c %ld", &st, &pp) == 2 && pp == (long)parent)
            kill((pid_t)p, sig);
    }
    closedir(d);
}

/* a line of the child's output: progress and worker errors to the cell, the rest kept
 * (the last lines of stderr name a failure of mpirun itself) */
static void child_line(mag_ctx *ctx, int is_err, const char *line, rt_strbuf *tail)
{
    if (!is_err && !strncmp(line, "worker: ", 8))
        krn_out_printf(ctx->out, KRN_STDOUT, "%s\n", line);
    else if (is_err && !strncmp(line, "rlhf-kernel worker: ", 20))
        krn_out_printf(ctx->out, KRN_STDERR, "%s\n", line);
    else if (is_err && line[0] && strncmp(line, "---", 3)) {
        if (tail->len > 2000) rt_strbuf_truncate(tail, 0);
        rt_strbuf_printf(tail, "%s\n", line);
    }
}

/* Reads what fd has into buf (lines to child_line); 0 at EOF. */
static int pump(mag_ctx *ctx, int fd, int is_err, rt_strbuf *buf, rt_strbuf *tail)
{
    char chunk[4096];
    ssize_t k = read(fd, chunk, sizeof chunk);
    if (k < 0) return errno == EINTR || errno == EAGAIN;
    if (k == 0) {
        if (buf->len) {
            rt_strbuf_printf(buf, "%s", "");
            child_line(ctx, is_err, buf->s, tail);
            rt_strbuf_truncate(buf, 0);
        }
        return 0;
    }
    rt_strbuf_append(buf, chunk, (size_t)k);
    size_t start = 0;
    for (size_t i = 0; i < buf->len; i++)
        if (buf->s[i] == '\n') {
            buf->s[i] = '\0';
            child_line(ctx, is_err, buf->s + start, tail);
            start = i + 1;
        }
    if (start) {
        size_t rest = buf->len - start;
        memmove(buf->s, buf->s + start, rest);
        rt_strbuf_truncate(buf, rest);
    }
    return 1;
}

int mag_jobs_mpi_run(mag_ctx *ctx, const mag_cell *cell, const char *dir, size_t npoints,
                     int *interrupted, char *failure, size_t fcap, mag_diag *d)
{
    /* a directory run before (the same cell on the same session) keeps no stale results */
    for (size_t i = 0; i < npoints; i++) {
        static const char *const ext[] = {"jsonl", "policy", "adam", "interrupted.policy"};
        char path[4200];
        for (int k = 0; k < 4; k++) {
            snprintf(path, sizeof path, "%s/point-%zu.%s", dir, i, ext[k]);
            unlink(path);
        }
    }
    int np;
    const char *mpirun, *hosts;
    mag_session_mpi(ctx->session, &np, &mpirun, &hosts);
    *interrupted = 0;
    failure[0] = '\0';
    char self[4096], nps[16];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                       "%%executor mpi: cannot "
                       "find this rlhf-kernel (/proc/self/exe): %s",
                       strerror(errno));
    self[sl] = '\0';
    snprintf(nps, sizeof nps, "%d", np);
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
                   hosts ? " --hostfile " : "", hosts ? hosts : "", np, dir);
    int po[2], pe[2];
    if (pipe(po)) return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "pipe: %s", strerror(errno));
    if (pipe(pe)) {
        close(po[0]), close(po[1]);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) { /* the child: its own process group, default signals, then mpirun */
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
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
        close(po[0]), close(pe[0]);
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "fork: %s", strerror(errno));
    }
    setpgid(pid, pid); /* also here: no race with the child's own call */
    rt_strbuf ob, eb, tail;
    rt_strbuf_init(&ob), rt_strbuf_init(&eb), rt_strbuf_init(&tail);
    int open_o = 1, open_e = 1;
    struct timespec killed_at = {0, 0};
    int sent = 0;
    while (open_o || open_e) {
        struct pollfd fds[2] = {{open_o ? po[0] : -1, POLLIN, 0}, {open_e ? pe[0] : -1, POLLIN, 0}};
        int r = poll(fds, 2, 100);
        if (r > 0) {
            if (open_o && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
                open_o = pump(ctx, po[0], 0, &ob, &tail);
            if (open_e && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
                open_e = pump(ctx, pe[0], 1, &eb, &tail);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ns = (now.tv_sec - killed_at.tv_sec) * 1000000000L + (now.tv_nsec - killed_at.tv_nsec);
        if (!sent && krn_out_interrupted(ctx->out)) {
            /* the local ranks first (they stop at their next step, write their partial
             * runs and end the farm in order), then mpirun (which forwards SIGTERM to
             * remote ranks, and SIGKILLs its ranks 1 s later), then SIGKILL */
            *interrupted = 1;
            signal_children(pid, SIGTERM);
            killed_at = now;
            sent = 1;
        } else if (sent == 1 && ns > MPI_TERM_NS) {
            kill(-pid, SIGTERM);
            sent = 2;
        } else if (sent == 2 && ns > MPI_GRACE_NS) {
            kill(-pid, SIGKILL);
            sent = 3;
        }
    }
    close(po[0]), close(pe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (sent) kill(-pid, SIGKILL); /* ranks that outlived mpirun */
    int rc = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !sent)
        rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                     "%%executor mpi: cannot start '%s' (Debian: openmpi-bin; or give "
                     "mpirun=PATH)",
                     mpirun);
    else if (!sent && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        while (tail.len && tail.s[tail.len - 1] == '\n')
            rt_strbuf_truncate(&tail, tail.len - 1);
        const char *last = tail.len ? strrchr(tail.s, '\n') : NULL;
        snprintf(failure, fcap, "mpirun %s %d%s%s",
                 WIFEXITED(status) ? "exited with status" : "was killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail.len ? ": " : "",
                 tail.len ? (last ? last + 1 : tail.s) : "");
    }
    rt_strbuf_free(&ob), rt_strbuf_free(&eb), rt_strbuf_free(&tail);
    return rc;
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

/* Appends the rows of a point-I.jsonl (as %export writes them) to run; the number of
 * rows, or -1 (the file absent or unreadable). */
static long load_rows(const char *path, rt_run *run)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int nc = rt_run_n_columns(run);
    double *row = rt_calloc((size_t)(nc ? nc : 1), sizeof *row);
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    while (row && getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        if (!o) break;
        for (int j = 0; j < nc; j++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, rt_run_column(run, j));
            row[j] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
        cJSON_Delete(o);
        if (rt_run_append(run, row)) break;
        n++;
    }
    free(line);
    rt_free(row);
    fclose(f);
    return n;
}

int mag_jobs_collect(const char *dir, size_t i, mag_train_point *p, int interrupted,
                     const char *failure)
{
    char path[4200];
    rt_policy *pol = NULL;
    rt_diag pd = {0};
    snprintf(path, sizeof path, "%s/point-%zu.policy", dir, i);
    int have = access(path, R_OK) == 0 && !rt_policy_load(&pol, path, &pd);
    if (have) { /* its Adam state, so that a copy trains on as from the threads executor */
        snprintf(path, sizeof path, "%s/point-%zu.adam", dir, i);
        size_t n = 0;
        char *a = read_file(path, &n), name[MAG_TRAIN_NAME + 8], err[200];
        if (a) mag_jobs_adam_unpack(a, n, name, sizeof name, pol->model.params, err, sizeof err);
        rt_free(a);
    }
    long rows = 0;
    if (p->run) {
        snprintf(path, sizeof path, "%s/point-%zu.jsonl", dir, i);
        rt_run_start(p->run);
        rows = load_rows(path, p->run);
        if (have)
            rt_run_finish(p->run, RT_RUN_FINISHED, p->steps, "");
        else if (interrupted)
            rt_run_finish(p->run, RT_RUN_INTERRUPTED, rows > 0 ? rows : 0, "");
        else {
            char msg[600];
            snprintf(msg, sizeof msg, "point %zu failed on its MPI rank%s%s", i,
                     failure && failure[0] ? " (" : "", failure && failure[0] ? failure : "");
            if (failure && failure[0]) strcat(msg, ")");
            rt_run_finish(p->run, RT_RUN_FAILED, rows > 0 ? rows : 0, msg);
        }
    }
    if (!have && interrupted) { /* the policy as trained so far, if the rank kept it */
        snprintf(path, sizeof path, "%s/point-%zu.interrupted.policy", dir, i);
        if (access(path, R_OK) != 0 || rt_policy_load(&pol, path, &pd)) pol = NULL;
    }
    rt_policy_free(p->pol); /* the untrained copy: never stored as if trained */
    p->pol = pol;
    return have;
}

/* ---- %executor ---------------------------------------------------------------------- */

static void show(mag_ctx *ctx)
{
    const char *dir, *run, *hosts;
    int kind = mag_session_executor(ctx->session, &dir), np;
    if (kind == MAG_EXEC_JOBS) {
        krn_out_printf(ctx->out, KRN_STDOUT, "executor jobs dir=%s\n", dir);
    } else if (kind == MAG_EXEC_MPI) {
        mag_session_mpi(ctx->session, &np, &run, &hosts);
        krn_out_printf(ctx->out, KRN_STDOUT, "executor mpi np=%d mpirun=%s%s%s dir=%s\n", np, run,
                       hosts ? " hosts=" : "", hosts ? hosts : "", dir);
    } else {
        krn_out_printf(ctx->out, KRN_STDOUT, "executor threads\n");
    }
}

/* A path argument's text (a name or a "string"), or NULL. */
static const char *path_arg(const mag_kv *k)
{
    return (k->value.kind == MAG_V_NAME || k->value.kind == MAG_V_STRING) && k->value.str &&
                   k->value.str[0]
               ? k->value.str
               : NULL;
}

static int run_executor(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                        const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs == 0) {
        show(ctx);
        return 0;
    }
    const mag_kv *a = &ln->args[0];
    const char *w = mag_arg_word(ln, 0);
    if (a->key || !w)
        return mag_err(ctx, d, MAG_EVALUE, a->key ? a->key_pos : a->value.pos,
                       "%%executor needs threads, jobs or mpi first: %s", m->usage);
    int kind;
    if (!strcmp(w, "threads"))
        kind = MAG_EXEC_THREADS;
    else if (!strcmp(w, "jobs"))
        kind = MAG_EXEC_JOBS;
    else if (!strcmp(w, "mpi")) {
        kind = MAG_EXEC_MPI;
#ifndef RLHF_HAVE_MPI /* the workers mpirun starts are this binary */
        return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                       "this rlhf-kernel was built without MPI (meson option mpi, Debian's "
                       "libopenmpi-dev): use %%executor jobs and run `rlhf-kernel worker DIR` "
                       "where you like");
#endif
    } else if (!strcmp(w, "slurm"))
        return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                       "executor '%s' is not available yet (issue 19): use %%executor jobs and "
                       "run the printed worker commands where you like",
                       w);
    else
        return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                       "unknown executor '%s' (threads, jobs or mpi)", w);
    const char *dir = NULL, *run = NULL, *hosts = NULL;
    long long np = 0;
    for (size_t i = 1; i < ln->nargs; i++) {
        const mag_kv *k = &ln->args[i];
        int has = kind != MAG_EXEC_THREADS && k->key != NULL;
        if (has && !strcmp(k->key, "dir")) {
            if (!(dir = path_arg(k)))
                return mag_err(ctx, d, MAG_EVALUE, k->value.pos,
                               "dir must be a path (a name or a \"string\"), got %s",
                               k->value.text);
        } else if (has && kind == MAG_EXEC_MPI && !strcmp(k->key, "np")) {
            if (k->value.kind != MAG_V_INT || k->value.i < 1 || k->value.i > 4096)
                return mag_err(ctx, d, MAG_EVALUE, k->value.pos,
                               "np must be a number of ranks from 1 to 4096, got %s",
                               k->value.text);
            np = k->value.i;
        } else if (has && kind == MAG_EXEC_MPI &&
                   (!strcmp(k->key, "mpirun") || !strcmp(k->key, "hosts"))) {
            const char *v = path_arg(k);
            if (!v)
                return mag_err(ctx, d, MAG_EVALUE, k->value.pos,
                               "%s must be a path (a name or a \"string\"), got %s", k->key,
                               k->value.text);
            *(!strcmp(k->key, "mpirun") ? &run : &hosts) = v;
        } else {
            return mag_err(ctx, d, MAG_EVALUE, k->key ? k->key_pos : k->value.pos,
                           "unexpected argument '%s'; usage: %s", k->key ? k->key : k->value.text,
                           m->usage);
        }
    }
    if (kind == MAG_EXEC_MPI && !np)
        return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                       "%%executor mpi needs np=N (the number of ranks; rank 0 hands out the "
                       "points, so np=3 trains 2 at a time)");
    if (mag_session_set_executor(ctx->session, kind, dir) ||
        (kind == MAG_EXEC_MPI && mag_session_set_mpi(ctx->session, (int)np, run, hosts)))
        return mag_err_nomem(d);
    show(ctx);
    return 0;
}

static const mag_magic executor_magic = {
    .name = "executor",
    .usage = "%executor [threads | jobs [dir=PATH] | mpi np=N [mpirun=PATH] [hosts=FILE] "
             "[dir=PATH]]",
    .help = "Where the training cells %%policy, %%rl, %%opd, %%rm and %%dpo run their sweep\n"
            "points, session-wide.  threads (the default): here, on %threads threads.\n"
            "jobs: a training cell checks and builds its points as usual but does not train\n"
            "them; it writes its job directory PATH/NAME-<hash> (PATH \"jobs\" by default)\n"
            "with a manifest (one line per point: the packed job — trainer, point name,\n"
            "configuration, the cell, the session seed and every policy, task and reward it\n"
            "reads, by value) and prints one command per point:\n"
            "  rlhf-kernel worker DIR --point I\n"
            "which runs point I anywhere this binary runs and writes DIR/point-I.jsonl (its\n"
            "run, as %export) and DIR/point-I.policy (as %save), bit for bit what the\n"
            "threads executor gives (the worker runs %%rl and %%policy points).  The session\n"
            "does not get those points (collecting them back: not yet), so a later cell\n"
            "that reads them needs them trained here first.\n"
            "mpi np=N: a training cell writes its job directory as under jobs, then starts\n"
            "  mpirun -np N [--hostfile FILE] rlhf-kernel worker DIR\n"
            "(its own process group, never MPI in the kernel: rank 0 hands the points to the\n"
            "other N-1 ranks; with np=1 the one rank runs them all), waits for it (an\n"
            "interrupt stops it) and brings every point's run and policy into the session\n"
            "under the names the threads executor gives them, bit for bit the same (the\n"
            "worker runs %%rl and %%policy points).  On this machine mpirun gets\n"
            "--oversubscribe; hosts=FILE: its --hostfile instead (every host needs this\n"
            "binary at the same path and DIR on a shared file system).  mpirun=PATH: the\n"
            "mpirun to start (default: mpirun in PATH).  As root the kernel passes Open\n"
            "MPI's --allow-run-as-root.  An interrupt sends SIGTERM to the local ranks (to\n"
            "mpirun 1 s later, SIGKILL after 5 s): the ranks stop and their partial runs are\n"
            "kept as interrupted.  A dead\n"
            "rank fails the cell naming its point; finished points are kept.\n"
            "Without an argument: show the setting.  (slurm: not yet.)",
    .run = run_executor,
    .positional = "-",
};

const mag_magic *const mag_jobs_magics[] = {&executor_magic, NULL};
