/* mag_slurm: submit.sh, sbatch and scancel for %executor slurm (mag_slurm.h).  Leaves out
 * the job directory itself (mag_jobs.c) and following the job (the cell's side). */
#include "mag_slurm.h"

#include "mag_remote.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_text.h"

/* s as one bash word into b: as it is when it holds only safe bytes, else in single
 * quotes (a quote as '\'') */
static void bash_word(rt_strbuf *b, const char *s)
{
    int safe = *s != '\0';
    for (const char *c = s; *c && safe; c++)
        safe = isalnum((unsigned char)*c) || strchr("_./-+=,:@%", *c) != NULL;
    if (safe) {
        rt_strbuf_printf(b, "%s", s);
        return;
    }
    rt_strbuf_printf(b, "'");
    for (const char *c = s; *c; c++)
        if (*c == '\'')
            rt_strbuf_printf(b, "'\\''");
        else
            rt_strbuf_append(b, c, 1);
    rt_strbuf_printf(b, "'");
}

int mag_slurm_time_check(const char *t)
{
    /* up to three ':'-separated fields of digits, after an optional "D-" */
    long f[3];
    int n = 0, days = 0;
    const char *p = t, *dash = strchr(t, '-');
    if (dash) {
        if (dash == t) return -1;
        for (const char *q = t; q < dash; q++)
            if (!isdigit((unsigned char)*q)) return -1;
        days = 1;
        p = dash + 1;
    }
    size_t width[3];
    for (;;) {
        const char *s = p;
        long v = 0;
        while (isdigit((unsigned char)*p) && p - s < 6)
            v = v * 10 + (*p++ - '0');
        if (p == s || n == 3) return -1;
        width[n] = (size_t)(p - s);
        f[n++] = v;
        if (*p == '\0') break;
        if (*p++ != ':') return -1;
    }
    if (n < 2 || (n < 3 && days)) return -1; /* MM:SS or [D-]HH:MM:SS */
    /* the last two fields: two digits below 60 (MM:SS's minutes may be longer) */
    if (width[n - 1] != 2 || f[n - 1] >= 60) return -1;
    if (n == 3 && (width[1] != 2 || f[1] >= 60 || width[0] > 2 + 4 * !days)) return -1;
    if (days && f[0] >= 24) return -1;
    return 0;
}

/* DIR made absolute (realpath) into out[cap]: 0 or -1 with err */
static int absolute(const char *dir, char *out, size_t cap, char *err, size_t ecap)
{
    char buf[PATH_MAX];
    if (!realpath(dir, buf)) return snprintf(err, ecap, "%s: %s", dir, strerror(errno)), -1;
    if (strlen(buf) >= cap) return snprintf(err, ecap, "%s: path too long", dir), -1;
    snprintf(out, cap, "%s", buf);
    return 0;
}

int mag_slurm_write(const char *dir, int npoints, const mag_slurm_opts *o, char *err, size_t cap)
{
    char abs[PATH_MAX], self[PATH_MAX], path[PATH_MAX + 16];
    if (npoints < 1) return snprintf(err, cap, "no points to submit"), -1;
    if (absolute(dir, abs, sizeof abs, err, cap)) return -1;
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return snprintf(err, cap, "cannot find this rlhf-kernel (/proc/self/exe): %s",
                        strerror(errno)),
               -1;
    self[sl] = '\0';
    /* sbatch reads #SBATCH lines itself: a path there is one word without quotes */
    if (strpbrk(abs, " \t\n\"'\\"))
        return snprintf(err, cap,
                        "%s holds a blank, a quote or a backslash, which sbatch's #SBATCH "
                        "--output cannot take: use %%executor slurm dir=PATH without them",
                        abs),
               -1;
    const char *name = strrchr(abs, '/');
    name = name && name[1] ? name + 1 : abs;
    rt_strbuf b;
    rt_strbuf_init(&b);
    rt_strbuf_printf(&b,
                     "#!/bin/bash\n"
                     "# rlhf-kernel: the %d point%s of this job directory as a Slurm job array, "
                     "one array task per point.\n"
                     "# Submit with: sbatch %s/submit.sh   (then %%collect %s in a notebook)\n"
                     "# The srun line runs this binary by its absolute path: every node needs it "
                     "at that path\n"
                     "# (or edit the line), and this directory on a file system the nodes "
                     "share.\n",
                     npoints, npoints == 1 ? "" : "s", abs, abs);
    rt_strbuf_printf(&b, "#SBATCH --job-name=%s\n#SBATCH --array=0-%d", name, npoints - 1);
    if (o && o->array_limit > 0) rt_strbuf_printf(&b, "%%%d", o->array_limit);
    rt_strbuf_printf(&b, "\n");
    if (o && o->partition) rt_strbuf_printf(&b, "#SBATCH --partition=%s\n", o->partition);
    if (o && o->time) rt_strbuf_printf(&b, "#SBATCH --time=%s\n", o->time);
    rt_strbuf_printf(&b, "#SBATCH --output=");
    for (const char *c = abs; *c; c++) /* '%' is a pattern in --output: "%%" is one */
        rt_strbuf_printf(&b, *c == '%' ? "%%%%" : "%c", *c);
    rt_strbuf_printf(&b, "/slurm-%%A_%%a.out\n"
                         "# one CPU per task: a point trains on one thread\n"
                         "#SBATCH --cpus-per-task=1\n"
                         "srun ");
    bash_word(&b, self);
    rt_strbuf_printf(&b, " worker ");
    bash_word(&b, abs);
    rt_strbuf_printf(&b, " --point \"$SLURM_ARRAY_TASK_ID\"\n");
    if (b.err) {
        rt_strbuf_free(&b);
        return snprintf(err, cap, "out of memory"), -1;
    }
    snprintf(path, sizeof path, "%s/submit.sh", abs);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    int ok = fd >= 0 && write(fd, b.s, b.len) == (ssize_t)b.len;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) ok = 0, e = errno;
    if (ok && chmod(path, 0755) != 0) ok = 0, e = errno; /* whatever the umask */
    rt_strbuf_free(&b);
    if (!ok) return snprintf(err, cap, "cannot write %s: %s", path, strerror(e ? e : EIO)), -1;
    return 0;
}

int mag_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path) return 0;
    char buf[PATH_MAX];
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) /* an empty entry is the current directory */
            snprintf(buf, sizeof buf, "./%s", prog);
        else
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return 1;
        if (!end) return 0;
        p = end + 1;
    }
}

int mag_slurm_available(void)
{
    return mag_in_path("sbatch");
}

/* Runs argv (argv[0] looked up in PATH; stdin /dev/null, nothing else of this process
 * inherited) to its end: its stdout into out (may be NULL), the last non-empty line of
 * its stderr into last[lcap], its wait status into *status.  0; or -1 with *err_no when
 * it cannot be started (ENOENT: not in PATH). */
static int run_child(char *const *argv, rt_strbuf *out, char *last, size_t lcap, int *status,
                     int *err_no)
{
    int po[2], pe[2], px[2]; /* stdout, stderr, and execvp's errno (closed on exec) */
    last[0] = '\0';
    *err_no = 0;
    if (pipe2(po, O_CLOEXEC)) return *err_no = errno, -1;
    if (pipe2(pe, O_CLOEXEC)) {
        *err_no = errno;
        close(po[0]), close(po[1]);
        return -1;
    }
    if (pipe2(px, O_CLOEXEC)) {
        *err_no = errno;
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) { /* async-signal-safe calls only */
        mag_child_signals();
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        dup2(px[1], 3); /* without O_CLOEXEC: set it again */
        fcntl(3, F_SETFD, FD_CLOEXEC);
        closefrom(4); /* nothing of the kernel's (its sockets) goes to the child */
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(3, &e, sizeof e);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    close(po[1]), close(pe[1]), close(px[1]);
    if (pid < 0) {
        close(po[0]), close(pe[0]), close(px[0]);
        return *err_no = fork_errno, -1;
    }
    rt_strbuf eb;
    rt_strbuf_init(&eb);
    int open_o = 1, open_e = 1;
    while (open_o || open_e) {
        struct pollfd fds[2] = {{open_o ? po[0] : -1, POLLIN, 0}, {open_e ? pe[0] : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            int *open_k = k ? &open_e : &open_o;
            if (!*open_k || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char chunk[4096];
            ssize_t n = read(fds[k].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                *open_k = 0;
                continue;
            }
            if (k == 0 && out) rt_strbuf_append(out, chunk, (size_t)n);
            if (k == 1) {
                if (eb.len > 65536) rt_strbuf_truncate(&eb, 0); /* only its end matters */
                rt_strbuf_append(&eb, chunk, (size_t)n);
            }
        }
    }
    close(po[0]), close(pe[0]);
    int e = 0;
    ssize_t got = read(px[0], &e, sizeof e);
    close(px[0]);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    if (got == (ssize_t)sizeof e) {
        rt_strbuf_free(&eb);
        return *err_no = e, -1;
    }
    /* the last non-empty line of stderr */
    size_t end = eb.len;
    while (end && (eb.s[end - 1] == '\n' || eb.s[end - 1] == '\r' || eb.s[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start && eb.s[start - 1] != '\n')
        start--;
    if (end > start) snprintf(last, lcap, "%.*s", (int)(end - start), eb.s + start);
    rt_strbuf_free(&eb);
    return 0;
}

/* "PROG exited with status S: LAST" / "PROG was killed by signal S" into err */
static void child_failed(const char *prog, int status, const char *last, char *err, size_t cap)
{
    snprintf(err, cap, "%s %s %d%s%s", prog,
             WIFEXITED(status) ? "exited with status" : "was killed by signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), last[0] ? ": " : "", last);
}

int mag_slurm_submit(const char *dir, char *jobid, size_t cap, char *err, size_t ecap)
{
    char script[PATH_MAX + 16], path[PATH_MAX + 16], last[512];
    snprintf(script, sizeof script, "%s/submit.sh", dir);
    char *argv[] = {"sbatch", "--parsable", script, NULL};
    rt_strbuf out;
    rt_strbuf_init(&out);
    int status = 0, e = 0;
    jobid[0] = '\0';
    if (run_child(argv, &out, last, sizeof last, &status, &e)) {
        rt_strbuf_free(&out);
        if (e == ENOENT)
            return snprintf(err, ecap,
                            "sbatch is not in PATH (no Slurm here): run `sbatch %s` on the "
                            "cluster's login node",
                            script),
                   -1;
        return snprintf(err, ecap, "cannot start sbatch: %s", strerror(e)), -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rt_strbuf_free(&out);
        child_failed("sbatch", status, last, err, ecap);
        return -1;
    }
    /* --parsable: "JOBID" or "JOBID;CLUSTER" on the first line */
    rt_strbuf_printf(&out, "%s", "");
    const char *s = out.s ? out.s : "";
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    int good = n > 0 && n < cap && (s[n] == '\0' || s[n] == ';' || s[n] == '\n' || s[n] == '\r');
    if (good) {
        memcpy(jobid, s, n);
        jobid[n] = '\0';
    } else {
        size_t l = strcspn(s, "\n");
        snprintf(err, ecap, "sbatch printed no job id (got '%.*s')", (int)(l > 200 ? 200 : l), s);
    }
    rt_strbuf_free(&out);
    if (!good) return -1;
    snprintf(path, sizeof path, "%s/slurm-job", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fprintf(f, "%s\n", jobid) > 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok)
        return snprintf(err, ecap, "submitted as Slurm job %s, but cannot write %s: %s", jobid,
                        path, strerror(errno)),
               -1;
    return 0;
}

int mag_slurm_cancel(const char *jobid, char *err, size_t cap)
{
    char *argv[] = {"scancel", (char *)jobid, NULL};
    char last[512];
    int status = 0, e = 0;
    if (run_child(argv, NULL, last, sizeof last, &status, &e))
        return snprintf(err, cap,
                        e == ENOENT ? "scancel is not in PATH (no Slurm here)"
                                    : "cannot start scancel: %s",
                        strerror(e)),
               -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        child_failed("scancel", status, last, err, cap);
        return -1;
    }
    return 0;
}

int mag_slurm_alive(const char *jobid)
{
    char *argv[] = {"squeue", "--noheader", "--jobs", (char *)jobid, "--format", "%i", NULL};
    char last[512];
    int status = 0, e = 0;
    rt_strbuf out;
    rt_strbuf_init(&out);
    if (run_child(argv, &out, last, sizeof last, &status, &e)) {
        rt_strbuf_free(&out);
        return -1;
    }
    int alive = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        alive = 0; /* its tasks listed while pending or running; none once it ended */
        for (size_t i = 0; i < out.len && !alive; i++)
            alive = out.s[i] != ' ' && out.s[i] != '\n' && out.s[i] != '\r';
    } else if (strstr(last, "Invalid job id")) {
        alive = 0; /* ended, and already purged by slurmctld (MinJobAge) */
    }
    rt_strbuf_free(&out);
    return alive;
}
