/* mag_worker: `rlhf-kernel worker DIR --point I` (mag_jobs.h) — point I of a job
 * directory, run headless in a fresh session rebuilt from its job alone: the session's
 * seed, the tasks, rewards, policies and preference sets the job carries (policies under
 * their session names, with their task and lineage; preference sets with their own task
 * copy and labeler, mag_prefs.h), then the job's cell run for point I only
 * (mag_session_set_worker), its run streamed to point-I.run as it trains (rt_runfile.h),
 * then written as %export writes JSONL and its policy as %save writes it, and last its
 * status (mag_remote.h lists the files).  `rlhf-kernel worker DIR` runs every point, each
 * in its own fresh session as --point I does: under mpirun (built with MPI, meson option
 * mpi) as a manager/worker farm (rank 0 hands out point indices and runs points on a
 * thread of its own, the other ranks ask for them), else one after another.  MPI is only
 * ever initialized here, never in the kernel.  Leaves out: writing job directories
 * (mag_jobs.c) and following them (mag_remote.c). */
#include "mag_jobs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "krn_signal.h"
#include "mag_interp.h"
#include "mag_lineage.h"
#include "mag_remote.h"
#include "mag_prefs.h"
#include "mag_runs.h"
#include "mag_train.h"
#include "rt_alloc.h"
#include "rt_manifest.h"
#include "rt_model.h"

#ifdef RLHF_HAVE_MPI
#include <mpi.h>
#endif

const char mag_worker_usage[] =
    "  worker DIR --point I    run point I (0-based) of the job directory DIR that a training\n"
    "                          cell wrote (%executor jobs, mpi or slurm): headless, in a fresh\n"
    "                          session rebuilt from the point's job in DIR/manifest alone;\n"
    "                          writes its run as it trains to DIR/point-I.run and\n"
    "                          DIR/point-I.jsonl (as %export), then DIR/point-I.policy\n"
    "                          (its policy, as %save) and last DIR/point-I.status, bit for\n"
    "                          bit what the kernel's threads executor gives (%collect DIR\n"
    "                          brings them into a session). Trainers: rl (%%rl), sft\n"
    "                          (%%policy), opd (%%opd), dpo (%%dpo); refused by name: rm\n"
    "                          (%%rm: a reward model cannot be saved yet) and jobs with an\n"
    "                          input they could not carry (a %tilt teacher or reference, a\n"
    "                          reward reading rm(NAME) or debate(NAME)). SIGTERM or SIGINT\n"
    "                          stops it at the next step, keeping the partial run. Exit\n"
    "                          status 0, or 1 with an error naming the manifest line or the\n"
    "                          point\n"
    "  worker DIR              every point of DIR, each as --point I does: under mpirun (a\n"
    "                          build with MPI) a farm, rank 0 handing points to the ranks\n"
    "                          and running them too, printing progress, e.g. `mpirun -np 2\n"
    "                          rlhf-kernel worker DIR` (add --allow-run-as-root as root);\n"
    "                          else one point after another in this process. Exit status 1\n"
    "                          if a point failed\n";

static const char *const supported[] = {"rl", "sft", "opd", "dpo", NULL};

int mag_worker_supports(const char *trainer)
{
    for (int i = 0; supported[i]; i++)
        if (!strcmp(trainer, supported[i])) return 1;
    return 0;
}

/* "rl, sft, opd and dpo": the supported trainers, for messages. */
static void supported_list(char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; supported[i] && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s",
                              i == 0             ? ""
                              : supported[i + 1] ? ", "
                                                 : " and ",
                              supported[i]);
}

int mag_worker_refusal(const rt_job *j, char *why, size_t cap)
{
    char list[128];
    why[0] = '\0';
    if (!mag_worker_supports(j->trainer)) {
        supported_list(list, sizeof list);
        snprintf(why, cap, "trainer '%s' is not supported yet (the worker runs %s%s)", j->trainer,
                 list,
                 !strcmp(j->trainer, "rm") ? "; a reward model cannot be saved, so a worker could "
                                             "not hand it back"
                                           : "");
        return 1;
    }
    for (int i = 0; i < j->nin; i++)
        if (!strcmp(j->in[i].kind, "missing")) {
            snprintf(why, cap, "its %s cannot be carried: %.*s", j->in[i].role,
                     (int)(j->in[i].size < 1000 ? j->in[i].size : 1000),
                     (const char *)j->in[i].data);
            return 1;
        }
    return 0;
}

/* ---- a sink: the cell's output to stderr, its error kept by the context ---- */

static void ws_publish(void *sink, const char *msg_type, cJSON *content)
{
    (void)sink;
    if (!strcmp(msg_type, "stream")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(content, "text");
        if (cJSON_IsString(t)) fputs(t->valuestring, stderr);
    }
    cJSON_Delete(content);
}

static const krn_sink_vtable worker_vt = {ws_publish, NULL};

/* Runs text in the interpreter (its output to stderr unless quiet): 0, or 1 with
 * "ENAME: EVALUE" in err. */
static int execute(krn_interp *it, const char *text, int quiet, char *err, size_t cap)
{
    krn_out *out = krn_out_new(&worker_vt, NULL, krn_signal_interrupt_flag(), 1, quiet != 0);
    if (!out) {
        snprintf(err, cap, "out of memory");
        return 1;
    }
    int st = it->vt->execute(it->self, out, text, 1);
    krn_out_finish(out);
    int bad = st != KRN_EXEC_OK || krn_out_has_error(out);
    if (bad)
        snprintf(err, cap, "%s: %s",
                 krn_out_has_error(out)       ? krn_out_error_name(out)
                 : st == KRN_EXEC_INTERRUPTED ? "Interrupted"
                                              : "Error",
                 krn_out_has_error(out) ? krn_out_error_value(out) : "the cell failed");
    krn_out_free(out);
    return bad;
}

/* A NUL-terminated copy of an input's bytes (rt_free), or NULL. */
char *mag_worker_text(const rt_job_input *in)
{
    char *s = rt_malloc(in->size + 1);
    if (!s) return NULL;
    memcpy(s, in->data, in->size);
    s[in->size] = '\0';
    return s;
}

static void free_task(void *t)
{
    rt_task_free(t);
}

static void free_policy(void *p)
{
    rt_policy_free(p);
}

/* Defines the task that meta (the lines "task = NAME", "task.spec = ...") describes,
 * unless the session has a task of that name.  0, or 1 with err. */
static int put_task(mag_session *s, const char *meta, char *err, size_t cap)
{
    char name[MAG_NAME_MAX * 4 + 1];
    if (!mag_meta_get(meta, "task", name, sizeof name) || !name[0]) return 0;
    if (mag_session_get(s, MAG_TASK, name)) return 0;
    rt_task *t = NULL;
    rt_diag td = {0};
    int rc = mag_task_from_meta(meta, &t, &td);
    if (rc) {
        snprintf(err, cap, "task '%s': %s", name, rc == 1 ? "no definition" : td.msg);
        return 1;
    }
    char spec[256];
    mag_meta_get(meta, "task.spec", spec, sizeof spec);
    if (mag_session_put(s, MAG_TASK, name, t, free_task, spec, NULL) < 0) {
        snprintf(err, cap, "out of memory");
        return 1;
    }
    return 0;
}

/* The lineage lines of a policy file's metadata: every line but policy, task and the
 * task's definition (rt_malloc'ed; NULL on ENOMEM). */
static char *lineage_of(const char *meta)
{
    size_t n = strlen(meta), o = 0;
    char *out = rt_malloc(n + 1);
    if (!out) return NULL;
    for (const char *l = meta; *l;) {
        const char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) + 1 : strlen(l);
        int skip = !strncmp(l, "policy = ", 9) || !strncmp(l, "task = ", 7) ||
                   !strncmp(l, "task.spec = ", 12) || !strncmp(l, "task.domain.", 12) ||
                   !strncmp(l, "task.file", 9);
        if (!skip) memcpy(out + o, l, ll), o += ll;
        l += ll;
    }
    out[o] = '\0';
    return out;
}

/* Puts the policy of a policy input (a %save file's bytes) under its saved name, with its
 * task and lineage.  0, or 1 with err. */
static int put_policy(mag_session *s, const rt_job_input *in, char *err, size_t cap)
{
    rt_model *m = NULL;
    char *meta = NULL;
    rt_diag md = {0};
    if (rt_model_load_mem_meta(&m, &meta, in->data, in->size, &md)) {
        snprintf(err, cap, "%s policy: %s", in->role, md.msg);
        return 1;
    }
    char name[MAG_NAME_MAX * 4 + 1], task[MAG_NAME_MAX * 4 + 1];
    int rc = 0;
    if (!mag_meta_get(meta, "policy", name, sizeof name) || !name[0]) {
        snprintf(err, cap, "%s policy: its file does not say its name", in->role);
        rc = 1;
    } else if (mag_session_get(s, MAG_POLICY, name)) { /* carried twice (from, reference) */
        rt_model_free(m);
        m = NULL;
    } else if (!(rc = put_task(s, meta, err, cap))) {
        int has_task = mag_meta_get(meta, "task", task, sizeof task) && task[0];
        char *lin = lineage_of(meta), summ[256];
        mag_policy_describe((rt_policy *)m, summ, sizeof summ);
        if (lin) { /* m is the session's from here (freed by it on failure) */
            if (mag_session_put_lineage(s, MAG_POLICY, name, m, free_policy, summ,
                                        has_task ? task : NULL, lin[0] ? lin : NULL) < 0)
                rc = 1;
            m = NULL;
        }
        if (!lin || rc) rc = 1, snprintf(err, cap, "out of memory");
        rt_free(lin);
    }
    rt_model_free(m);
    rt_free(meta);
    return rc;
}

/* Rebuilds the session of job j in interpreter it.  0, or 1 with err. */
int mag_worker_rebuild(krn_interp *it, const rt_job *j, const char **cell, char *err, size_t cap)
{
    mag_session *s = mag_interp_session(it);
    *cell = NULL;
    for (int i = 0; i < j->nin; i++) {
        const rt_job_input *in = &j->in[i];
        char *t = mag_worker_text(in);
        if (!t) return snprintf(err, cap, "out of memory"), 1;
        int rc = 0;
        if (!strcmp(in->kind, "session")) {
            char seed[32];
            char *end = NULL;
            unsigned long long v = 0;
            if (mag_meta_get(t, "seed", seed, sizeof seed)) v = strtoull(seed, &end, 10);
            if (!end || *end || !seed[0])
                rc = 1, snprintf(err, cap, "the job's session has no seed line");
            else
                mag_session_set_seed(s, (uint64_t)v);
        } else if (!strcmp(in->kind, "cell")) {
            *cell = (const char *)in->data; /* copied below, once the session is built */
        } else if (!strcmp(in->kind, "task")) {
            rc = put_task(s, t, err, cap);
        } else if (!strcmp(in->kind, "reward")) {
            char e[600];
            if (execute(it, t, 1, e, sizeof e)) /* a reward's definition: nothing to show */
                rc = 1, snprintf(err, cap, "%s reward: %s", in->role, e);
        } else if (!strcmp(in->kind, "policy")) {
            rc = put_policy(s, in, err, cap);
        } else if (!strcmp(in->kind, "preferences")) { /* a preference set (mag_prefs.h) */
            char name[MAG_NAME_MAX * 4 + 1], e[600];
            if (mag_prefs_unpack_put(s, in->data, in->size, name, sizeof name, e, sizeof e))
                rc = 1, snprintf(err, cap, "%s preferences: %s", in->role, e);
        } else if (!strcmp(in->kind, "adam")) { /* after its policy */
            char name[MAG_NAME_MAX * 4 + 1];
            rc = mag_jobs_adam_unpack(in->data, in->size, name, sizeof name, NULL, err, cap) != 0;
            rt_policy *pol = rc ? NULL : mag_session_get(s, MAG_POLICY, name);
            if (!rc && !pol)
                rc = 1, snprintf(err, cap, "an Adam state for '%s', which the job lacks", name);
            if (!rc)
                rc = mag_jobs_adam_unpack(in->data, in->size, name, sizeof name, pol->model.params,
                                          err, cap) != 0;
        } else {
            rc = 1, snprintf(err, cap, "an input of kind '%s' (%s) is not supported yet", in->kind,
                             in->role);
        }
        rt_free(t);
        if (rc) return 1;
    }
    if (!*cell) return snprintf(err, cap, "the job carries no cell"), 1;
    return 0;
}

static char *read_all(const char *path, size_t *n, int *e)
{
    FILE *f = fopen(path, "rb");
    *e = 0;
    if (!f) return *e = errno, NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    for (size_t k; b && (k = fread(b + len, 1, cap - len, f)) > 0;) {
        len += k;
        if (len == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    if (ferror(f)) *e = errno ? errno : EIO;
    fclose(f);
    if (!b && !*e) *e = ENOMEM;
    if (*e) {
        free(b);
        return NULL;
    }
    *n = len;
    return b;
}

/* The threads of a point (mag_worker_main: a share of the cores under mpirun), or 0: the
 * session's default. */
static int worker_threads;

/* Writes text and a newline to DIR/point-I.NAME (through a temporary file renamed into
 * place, so that a reader never sees half of it); best effort. */
static void put_small(const char *dir, long pt, const char *name, const char *text)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/point-%ld.%s", dir, pt, name);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    int bad = fprintf(f, "%s\n", text) < 0;
    if (fclose(f) || bad || rename(tmp, path)) unlink(tmp);
}

/* Runs point pt of the manifest man[0..n) of directory dir: its run to DIR/point-I.jsonl,
 * its policy to DIR/point-I.policy, a line on stdout, or an error on stderr.  0 or 1. */
static int run_point(const char *dir, const char *man, size_t n, long pt)
{
    int e;
    rt_job_owned job;
    rt_diag md = {0};
    int npoints;
    int rc = rt_manifest_point(man, n, (int)pt, &npoints, &job, &md);
    if (rc) {
        fprintf(stderr, "rlhf-kernel worker: %s/%s\n", dir, md.msg);
        return 1;
    }
    const rt_job *j = &job.job;
    char why[1200];
    if (mag_worker_refusal(j, why, sizeof why)) {
        fprintf(stderr, "rlhf-kernel worker: point %ld (%s): %s\n", pt, j->name, why);
        rt_job_owned_free(&job);
        return 1;
    }
    char rpath[4200]; /* the prefix of the files its run streams to as it trains */
    snprintf(rpath, sizeof rpath, "%s/point-%ld", dir, pt);
    mag_remote_clean_point(dir, (size_t)pt); /* nothing of an earlier run of this point */
    krn_interp *it = mag_interp_new();
    char err[10000] = "out of memory";
    const char *cell = NULL;
    char *cell_text = NULL;
    rc = !it || mag_worker_rebuild(it, j, &cell, err, sizeof err);
    if (!rc) {
        for (int i = 0; i < j->nin; i++)
            if (j->in[i].data == (const void *)cell) cell_text = mag_worker_text(&j->in[i]);
        mag_session_set_worker(mag_interp_session(it), pt, job.hash);
        mag_session_set_worker_stream(mag_interp_session(it), rpath);
        if (worker_threads > 0) mag_session_set_threads(mag_interp_session(it), worker_threads);
        rc = !cell_text || execute(it, cell_text, 0, err, sizeof err);
    }
    mag_session *s = it ? mag_interp_session(it) : NULL;
    /* the run, also a failed or interrupted one (its rows so far are kept, as in the
     * kernel); the policy only when the cell succeeded */
    rt_run *run = s ? mag_session_get(s, MAG_RUN, j->name) : NULL;
    const rt_policy *pol = rc ? NULL : mag_session_get(s, MAG_POLICY, j->name);
    if (!rc && !pol) rc = 1, snprintf(err, sizeof err, "no policy '%s' after the cell", j->name);
    char jpath[4200], ppath[4200];
    snprintf(jpath, sizeof jpath, "%s/point-%ld.jsonl", dir, pt);
    snprintf(ppath, sizeof ppath, "%s/point-%ld.policy", dir, pt);
    /* point-I.jsonl was written as the rows came, when the point trained (its stale copy
       was removed above); else (a point that failed before training) it is written now */
    if (run && access(jpath, F_OK) != 0 && mag_export_write(jpath, &run, 1, &e) && !rc) {
        rc = 1;
        snprintf(err, sizeof err, "cannot write '%s': %s", jpath,
                 e ? strerror(e) : "out of memory");
    }
    /* an interrupted point's policy as trained so far (the kernel keeps it too), apart:
     * point-I.policy means "finished" */
    const rt_policy *ipol = NULL;
    if (rc && run && rt_run_status_of(run, NULL, NULL, 0) == RT_RUN_INTERRUPTED &&
        (ipol = mag_session_get(s, MAG_POLICY, j->name))) {
        char ip[4200], *meta = mag_policy_meta(s, j->name);
        rt_diag pd = {0};
        snprintf(ip, sizeof ip, "%s/point-%ld.interrupted.policy", dir, pt);
        if (meta) rt_model_save_meta(&ipol->model, meta, ip, &pd);
        rt_free(meta);
    }
    if (!rc) {
        char *meta = mag_policy_meta(s, j->name);
        rt_diag pd = {0};
        if (!meta || rt_model_save_meta(&pol->model, meta, ppath, &pd)) {
            rc = 1;
            snprintf(err, sizeof err, "cannot save policy '%s' to '%s': %s", j->name, ppath,
                     meta ? pd.msg : "out of memory");
        }
        rt_free(meta);
    }
    if (!rc && pol->model.params) { /* its Adam state, which %executor mpi loads with it */
        void *a = NULL;
        size_t an = 0;
        char apath[4200];
        snprintf(apath, sizeof apath, "%s/point-%ld.adam", dir, pt);
        FILE *f = NULL;
        if (mag_jobs_adam_pack(j->name, pol->model.params, &a, &an) || !(f = fopen(apath, "wb")) ||
            fwrite(a, 1, an, f) != an) {
            rc = 1;
            snprintf(err, sizeof err, "cannot write '%s': %s", apath,
                     a ? strerror(errno) : "out of memory");
        }
        if (f && fclose(f) && !rc)
            rc = 1, snprintf(err, sizeof err, "cannot write '%s': %s", apath, strerror(errno));
        rt_free(a);
    }
    int interrupted = rc && run && rt_run_status_of(run, NULL, NULL, 0) == RT_RUN_INTERRUPTED;
    if (rc && !interrupted) put_small(dir, pt, "failed", err);
    put_small(dir, pt, "status", !rc ? "finished" : interrupted ? "interrupted" : "failed");
    if (rc)
        fprintf(stderr, "rlhf-kernel worker: %s: point %ld (%s): %s\n", dir, pt, j->name, err);
    else
        printf("point %ld (%s): wrote %s%s%s\n", pt, j->name, run ? jpath : "", run ? " and " : "",
               ppath);
    rt_free(cell_text);
    if (it) mag_interp_free(it);
    rt_job_owned_free(&job);
    return rc ? 1 : 0;
}

/* The number of points of manifest man[0..n) (its header's; a bad line of point 0 is
 * that point's failure, reported when it runs), or -1 with an error on stderr. */
static int count_points(const char *dir, const char *man, size_t n)
{
    rt_job_owned job;
    rt_diag md = {0};
    int npoints = -1;
    int rc = rt_manifest_point(man, n, 0, &npoints, &job, &md);
    if (!rc) rt_job_owned_free(&job);
    if (rc && npoints < 0) {
        fprintf(stderr, "rlhf-kernel worker: %s/%s\n", dir, md.msg);
        return -1;
    }
    return npoints;
}

/* Runs every point in this process, in order; stops early on an interrupt.  0, or 1 when
 * a point failed (the others still run). */
static int run_all(const char *dir, const char *man, size_t n, int npoints)
{
    int bad = 0;
    for (int i = 0; i < npoints && !atomic_load(krn_signal_interrupt_flag()); i++) {
        bad |= run_point(dir, man, n, i);
        printf("worker: %d of %d points done\n", i + 1, npoints);
        fflush(stdout);
    }
    return bad || atomic_load(krn_signal_interrupt_flag());
}

/* Launched by mpirun (Open MPI, or a PMI launcher such as srun)? */
static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

#ifdef RLHF_HAVE_MPI

enum { TAG_READY = 1, TAG_POINT = 2 };

/* Rank 0's own worker: a thread that runs the points the manager gives it (no MPI call:
 * MPI_THREAD_FUNNELED).  pt: -2 idle, >= 0 the point to run, -1 stop. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pt, last, last_rc, has_result;
    const char *dir, *man;
    size_t n;
} local_worker;

static void *local_main(void *arg)
{
    local_worker *lw = arg;
    for (;;) {
        pthread_mutex_lock(&lw->mu);
        while (lw->pt == -2)
            pthread_cond_wait(&lw->cv, &lw->mu);
        int pt = lw->pt;
        pthread_mutex_unlock(&lw->mu);
        if (pt < 0) break;
        int rc = run_point(lw->dir, lw->man, lw->n, pt);
        fflush(stdout);
        pthread_mutex_lock(&lw->mu);
        lw->last = pt, lw->last_rc = rc, lw->has_result = 1, lw->pt = -2;
        pthread_mutex_unlock(&lw->mu);
    }
    return NULL;
}

/* Rank 0 of the farm: hands point indices to the ranks that ask (TAG_READY: {the point
 * they finished or -1, its status}) and to its own worker thread, -1 when none is left
 * (or after an interrupt), and prints a progress line per finished point.  Polls
 * (MPI_Test and a 5 ms sleep) so that the manager does not spin a core, which Open
 * MPI's blocking receive would.  0, or 1 when a point failed or was not run. */
static int farm_manager(int size, int npoints, const char *dir, const char *man, size_t n)
{
    int next = 0, done = 0, bad = 0, stopped = 0, msg[2], posted = 0;
    local_worker lw = {.pt = -2, .dir = dir, .man = man, .n = n};
    pthread_mutex_init(&lw.mu, NULL);
    pthread_cond_init(&lw.cv, NULL);
    pthread_t th;
    int local_on = pthread_create(&th, NULL, local_main, &lw) == 0; /* else: ranks only */
    int have_thread = local_on;
    MPI_Request rq;
    while (stopped < size - 1 || local_on) {
        int progressed = 0;
        if (stopped < size - 1) {
            MPI_Status st;
            int flag = 0;
            if (!posted) MPI_Irecv(msg, 2, MPI_INT, MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &rq);
            posted = 1;
            MPI_Test(&rq, &flag, &st);
            if (flag) {
                posted = 0, progressed = 1;
                if (msg[0] >= 0) {
                    done++;
                    bad |= msg[1] != 0;
                    printf("worker: point %d %s on rank %d (%d of %d points done)\n", msg[0],
                           msg[1] ? "failed" : "done", st.MPI_SOURCE, done, npoints);
                    fflush(stdout);
                }
                int give =
                    next < npoints && !atomic_load(krn_signal_interrupt_flag()) ? next++ : -1;
                if (give < 0) stopped++;
                MPI_Send(&give, 1, MPI_INT, st.MPI_SOURCE, TAG_POINT, MPI_COMM_WORLD);
            }
        }
        if (local_on) {
            pthread_mutex_lock(&lw.mu);
            if (lw.has_result) {
                lw.has_result = 0, done++, progressed = 1;
                bad |= lw.last_rc != 0;
                printf("worker: point %d %s on rank 0 (%d of %d points done)\n", lw.last,
                       lw.last_rc ? "failed" : "done", done, npoints);
                fflush(stdout);
            }
            if (lw.pt == -2) { /* idle, its last result taken: the next point or stop */
                int give =
                    next < npoints && !atomic_load(krn_signal_interrupt_flag()) ? next++ : -1;
                lw.pt = give;
                local_on = give >= 0;
                pthread_cond_signal(&lw.cv);
            }
            pthread_mutex_unlock(&lw.mu);
        }
        if (!progressed) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
    }
    if (have_thread) pthread_join(th, NULL);
    pthread_cond_destroy(&lw.cv);
    pthread_mutex_destroy(&lw.mu);
    return bad || done < npoints;
}

/* A rank > 0 of the farm: asks rank 0 for points and runs them until it gets -1. */
static int farm_worker(const char *dir, const char *man, size_t n)
{
    int msg[2] = {-1, 0}, bad = 0;
    for (;;) {
        int pt;
        MPI_Send(msg, 2, MPI_INT, 0, TAG_READY, MPI_COMM_WORLD);
        MPI_Recv(&pt, 1, MPI_INT, 0, TAG_POINT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (pt < 0) break;
        msg[0] = pt;
        msg[1] = run_point(dir, man, n, pt);
        bad |= msg[1];
        fflush(stdout);
    }
    return bad;
}
#endif

int mag_worker_main(int argc, char **argv)
{
    const char *dir = NULL, *pt_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--point") && i + 1 < argc)
            pt_arg = argv[++i];
        else if (!strncmp(argv[i], "--point=", 8))
            pt_arg = argv[i] + 8;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: rlhf-kernel worker DIR [--point I]\n\n%s", mag_worker_usage);
            return 0;
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "rlhf-kernel worker: unexpected argument '%s'\nusage:\n%s", argv[i],
                    mag_worker_usage);
            return 2;
        }
    }
    char *end = NULL;
    long pt = pt_arg ? strtol(pt_arg, &end, 10) : -1;
    if (!dir || (pt_arg && (!end || *end || !pt_arg[0] || pt < 0 || pt > RT_MANIFEST_MAX_POINTS))) {
        fprintf(stderr, "rlhf-kernel worker: %s\nusage:\n%s",
                !dir ? "missing DIR" : "--point needs an index >= 0", mag_worker_usage);
        return 2;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest", dir);
    size_t n = 0;
    int e;
    char *man = read_all(path, &n, &e);
    if (!man) {
        fprintf(stderr, "rlhf-kernel worker: cannot read %s: %s\n", path, strerror(e));
        return 1;
    }
    krn_signal_install();
    int rc;
    if (pt_arg) {
        rc = run_point(dir, man, n, pt);
        free(man);
        return rc;
    }
    int npoints = count_points(dir, man, n);
    if (npoints < 0) {
        free(man);
        return 1;
    }
#ifdef RLHF_HAVE_MPI
    if (under_mpirun()) {
        int size = 1, rank = 0;
        int provided;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        /* a point's threads: this machine's cores shared by its ranks (the bits do not
           depend on it; oversubscribed threads only cost time) */
        MPI_Comm node;
        int local = 1;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) ==
            MPI_SUCCESS) {
            MPI_Comm_size(node, &local);
            MPI_Comm_free(&node);
        }
        cpu_set_t cs;
        int cores = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : 1;
        worker_threads = cores / local > 1 ? cores / local : 1;
        if (rank == 0)
            printf("worker: %s: %d points on %d rank%s\n", dir, npoints, size,
                   size > 1 ? "s (rank 0 hands them out and runs them too)" : "");
        fflush(stdout);
        rc = size == 1   ? run_all(dir, man, n, npoints)
             : rank == 0 ? farm_manager(size, npoints, dir, man, n)
                         : farm_worker(dir, man, n);
        fflush(stdout);
        MPI_Finalize();
        free(man);
#ifdef __SANITIZE_ADDRESS__
        /* Open MPI leaks by design, much of it in MCA components already unloaded, which
         * LeakSanitizer cannot suppress by name: a sanitizer build skips the exit-time
         * leak check of an MPI rank (run_point's own is checked by --point and by the
         * runs without mpirun) */
        fflush(NULL);
        _exit(rc && rank == 0 ? 1 : 0);
#endif
        /* rank 0 knows every point's status and gives the job's; a worker rank exiting 1
         * would make mpirun tear the job down (and wait 1 s to kill its ranks) */
        return rc && rank == 0 ? 1 : 0;
    }
#else
    if (under_mpirun()) { /* every rank would run every point, writing the same files */
        fprintf(stderr, "rlhf-kernel worker: this rlhf-kernel was built without MPI (meson "
                        "option mpi, libopenmpi-dev): run `rlhf-kernel worker DIR` without "
                        "mpirun, or one `--point I` per rank\n");
        free(man);
        return 2;
    }
#endif
    printf("worker: %s: %d points in this process\n", dir, npoints);
    rc = run_all(dir, man, n, npoints);
    free(man);
    return rc ? 1 : 0;
}
