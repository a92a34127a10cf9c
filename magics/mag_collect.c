/* mag_collect: `%collect DIR` — a job directory's finished points brought into the session
 * (issue 19): after `%executor slurm` with follow=false, from a new kernel, or for points
 * run by hand with `rlhf-kernel worker DIR --point I`.
 *
 * The directory is self-contained: a fresh session is rebuilt from its manifest's jobs
 * (every point's inputs: seed, tasks, rewards, policies; mag_worker_rebuild), and the
 * jobs' cell runs there under MAG_EXEC_COLLECT, with this cell's output: the handler
 * builds every point as a training cell does, checks that each is the manifest's job
 * (its hash), and reads the points' results from the directory instead of training
 * (mag_remote_collect): the chart, summary table, names and rules of the threads
 * executor.  A point whose worker has not ended (no DIR/point-I.status) is pending:
 * neither stored nor reported, only listed.  Then the stored runs and policies move into
 * this session under the same names (a failed or interrupted point never replaces
 * something finished: NAME~failed / NAME~interrupted, as a training cell keeps them),
 * with the tasks they name (a task of the same name here must be the same definition).
 * Last, a listing of every point: finished, failed (why), interrupted, running (rows so
 * far) or pending.  Leaves out: writing and running directories (mag_jobs.c, mag_remote.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mag_interp.h"
#include "mag_jobs.h"
#include "mag_lineage.h"
#include "mag_remote.h"
#include "mag_train_cell.h"
#include "rt_alloc.h"
#include "rt_manifest.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_text.h"

/* The bytes of path (rt_free) and their number; NULL with *e = errno. */
static char *slurp(const char *path, size_t *n, int *e)
{
    FILE *f = fopen(path, "rb");
    *e = 0;
    if (!f) return *e = errno, NULL;
    rt_strbuf b;
    rt_strbuf_init(&b);
    char chunk[65536];
    for (size_t k; (k = fread(chunk, 1, sizeof chunk, f)) > 0;)
        rt_strbuf_append(&b, chunk, k);
    if (ferror(f)) *e = errno ? errno : EIO;
    fclose(f);
    char *p = rt_strbuf_take(&b, n);
    if (!p && !*e) *e = ENOMEM;
    if (*e) rt_free(p), p = NULL;
    return p;
}

/* The definition text of task t (its spec lines), rt_malloc'ed; NULL on ENOMEM. */
static char *task_text(const rt_task *t)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    if (mag_task_spec_lines(t, &b)) {
        rt_strbuf_free(&b);
        return NULL;
    }
    return rt_strbuf_take(&b, NULL);
}

/* Every task of the rebuilt session `from` that this session also defines must be the
 * same definition.  0, or MAG_ERUNTIME naming the first that differs, or MAG_ENOMEM. */
static int same_tasks(mag_ctx *ctx, const mag_session *from, mag_pos pos, mag_diag *d)
{
    for (size_t i = 0; i < mag_session_count(from, MAG_TASK); i++) {
        const mag_entry *e = mag_session_at(from, MAG_TASK, i);
        const rt_task *ours = mag_session_get(ctx->session, MAG_TASK, e->name);
        if (!ours) continue;
        char *a = task_text(e->obj), *b = task_text(ours);
        int same = a && b && !strcmp(a, b);
        rt_free(a);
        rt_free(b);
        if (!a || !b) return mag_err_nomem(d);
        if (!same)
            return mag_err(ctx, d, MAG_ERUNTIME, pos,
                           "%%collect: task '%s' here is not the one the points trained on: "
                           "rename or redefine it here as in the job, or %%collect in a new "
                           "kernel",
                           e->name);
    }
    return 0;
}

/* The task a moved entry names, moved along when this session lacks it (same_tasks
 * checked the others).  0 or MAG_ENOMEM. */
static int bring_task(mag_ctx *ctx, mag_session *from, const mag_entry *e, mag_diag *d)
{
    if (!e || !e->task || mag_session_get(ctx->session, MAG_TASK, e->task) ||
        !mag_session_get(from, MAG_TASK, e->task))
        return 0;
    return mag_session_move(from, MAG_TASK, e->task, ctx->session, e->task) ? mag_err_nomem(d) : 0;
}

static int run_collect(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                       const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    const mag_kv *a = mag_arg_pos(ln, 0);
    const char *dir = mag_arg_word(ln, 0);
    if (!a || !dir || !dir[0] || ln->nargs != 1)
        return mag_err(ctx, d, MAG_EVALUE, a ? a->value.pos : ln->pos,
                       "%%collect needs the job directory: %s", m->usage);
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest", dir);
    size_t mn = 0;
    int e;
    char *man = slurp(path, &mn, &e);
    if (!man)
        return e == ENOMEM ? mag_err_nomem(d)
                           : mag_err(ctx, d, MAG_ERUNTIME, a->value.pos,
                                     "%%collect: cannot read %s: %s (not a job directory?)", path,
                                     strerror(e));
    int np = -1, rc = 0;
    krn_interp *it = mag_interp_new();
    char **names = NULL, *cell_text = NULL;
    if (!it) rc = mag_err_nomem(d);
    for (int i = 0; !rc && (np < 0 || i < np); i++) {
        rt_job_owned job;
        memset(&job, 0, sizeof job);
        rt_diag md = {0};
        if (rt_manifest_point(man, mn, i, &np, &job, &md)) {
            rc = mag_err(ctx, d, MAG_ERUNTIME, a->value.pos, "%%collect: %s/%s", dir, md.msg);
        } else {
            if (!names) names = rt_calloc((size_t)np, sizeof *names);
            if (names) names[i] = rt_strdup(job.job.name);
            char err[2000];
            const char *cell = NULL;
            if (!names || !names[i])
                rc = mag_err_nomem(d);
            else if (mag_worker_rebuild(it, &job.job, &cell, err, sizeof err))
                rc = mag_err(ctx, d, MAG_ERUNTIME, a->value.pos, "%%collect: %s: point %d: %s", dir,
                             i, err);
            for (int k = 0; !rc && !cell_text && k < job.job.nin; k++)
                if (job.job.in[k].data == (const void *)cell &&
                    !(cell_text = mag_worker_text(&job.job.in[k])))
                    rc = mag_err_nomem(d);
        }
        rt_job_owned_free(&job);
    }
    rt_free(man);
    mag_session *s = it ? mag_interp_session(it) : NULL;
    if (!rc && mag_session_set_executor(s, MAG_EXEC_COLLECT, dir)) rc = mag_err_nomem(d);
    if (!rc) rc = same_tasks(ctx, s, a->value.pos, d);
    if (!rc) {
        /* the jobs' cell, in the rebuilt session, with this cell's output */
        int st = it->vt->execute(it->self, ctx->out, cell_text, ctx->execution_count);
        if (krn_out_has_error(ctx->out) || st != KRN_EXEC_OK)
            rc = mag_err(ctx, d, MAG_ERUNTIME, a->value.pos, "%%collect: %s: the jobs' cell failed",
                         dir);
    }
    int counts[5] = {0}; /* finished, failed, interrupted, running, pending */
    for (int i = 0; !rc && i < np; i++) {
        char st[64], why[600];
        mag_remote_point_file(dir, (size_t)i, "status", st, sizeof st);
        const rt_run *run = mag_session_get(s, MAG_RUN, names[i]);
        int has_pol = mag_session_get(s, MAG_POLICY, names[i]) != NULL;
        if (!st[0]) { /* not ended: running when its run file has started */
            snprintf(path, sizeof path, "%s/point-%d.run", dir, i);
            int running = access(path, F_OK) == 0;
            counts[running ? 3 : 4]++;
            krn_out_printf(ctx->out, KRN_STDOUT, "point %d %s: %s\n", i, names[i],
                           running ? "running (its worker has not ended)" : "pending");
            continue;
        }
        rt_run_status rs = run ? rt_run_status_of(run, NULL, NULL, 0) : RT_RUN_FINISHED;
        const char *as = names[i];
        char alt[MAG_TRAIN_NAME + 16];
        if (rs != RT_RUN_FINISHED && mag_train_holds_finished(ctx->session, names[i])) {
            snprintf(alt, sizeof alt, "%s~%s", names[i],
                     rs == RT_RUN_FAILED ? "failed" : "interrupted");
            krn_out_printf(ctx->out, KRN_STDOUT,
                           "'%s' holds a finished run: this %s one is kept as '%s'\n", names[i],
                           rs == RT_RUN_FAILED ? "failed" : "interrupted", alt);
            as = alt;
        }
        rc = bring_task(ctx, s, mag_session_entry(s, MAG_RUN, names[i]), d);
        if (!rc) rc = bring_task(ctx, s, mag_session_entry(s, MAG_POLICY, names[i]), d);
        if (!rc && ((run && mag_session_move(s, MAG_RUN, names[i], ctx->session, as)) ||
                    (has_pol && mag_session_move(s, MAG_POLICY, names[i], ctx->session, as))))
            rc = mag_err_nomem(d);
        if (rs == RT_RUN_FAILED) {
            mag_remote_point_file(dir, (size_t)i, "failed", why, sizeof why);
            counts[1]++;
            krn_out_printf(ctx->out, KRN_STDOUT, "point %d %s: failed%s%s\n", i, as,
                           why[0] ? ": " : "", why);
        } else {
            counts[rs == RT_RUN_FINISHED ? 0 : 2]++;
            krn_out_printf(ctx->out, KRN_STDOUT, "point %d %s: %s\n", i, as,
                           rs == RT_RUN_FINISHED ? "finished" : "interrupted");
        }
    }
    if (!rc)
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "%%collect %s: %d finished, %d failed, %d interrupted, %d running, "
                       "%d pending (of %d)\n",
                       dir, counts[0], counts[1], counts[2], counts[3], counts[4], np);
    for (int i = 0; names && i < np; i++)
        rt_free(names[i]);
    rt_free(names);
    rt_free(cell_text);
    if (it) mag_interp_free(it);
    return rc;
}

static const mag_magic collect_magic = {
    .name = "collect",
    .usage = "%collect DIR",
    .help = "Brings the points of the job directory DIR (written by a training cell under\n"
            "%executor jobs, mpi or slurm) into the session: every point whose worker has\n"
            "ended (DIR/point-I.status) — its run and policy, under the names, with the\n"
            "chart, summary and rules the threads executor gives (a failed or interrupted\n"
            "point never replaces something finished: NAME~failed, NAME~interrupted) — and\n"
            "lists every point: finished, failed (why), interrupted, running, or pending.\n"
            "The directory is self-contained: %collect rebuilds the cell's session from its\n"
            "manifest (seed, tasks, rewards, policies), so it works in a new kernel too; the\n"
            "tasks the points name come along (a task of that name here must be the same\n"
            "definition).  Run it again as more points end.",
    .run = run_collect,
    .positional = "-",
};

const mag_magic *const mag_collect_magics[] = {&collect_magic, NULL};
