/* mag_jobs: the kernel's side of job directories (mag_jobs.h) — %executor, writing a
 * training cell's job directory, the reward cell a job carries and the worker's check of
 * a rebuilt job.  Leaves out the worker itself (mag_worker.c) and the manifest's format
 * (runtime/train/rt_manifest.h). */
#include "mag_jobs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mag_bridge.h"
#include "mag_remote.h"
#include "mag_slurm.h"
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

int mag_jobs_check_rebuilt(mag_ctx *ctx, const mag_cell *cell, const char *who, const rt_job *j,
                           uint64_t want, mag_diag *d)
{
    uint64_t h = 0;
    rt_diag jd;
    if (rt_job_hash(j, &h, &jd))
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%s: point %s: %s", who, j->name,
                       jd.msg);
    if (h == want) return 0;
    char a[17], b[17];
    rt_job_hash_hex(h, a);
    rt_job_hash_hex(want, b);
    return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                   "%s: point %s rebuilt here is job %s, not the manifest's %s (its "
                   "inputs, configuration or stream differ: a bug, please report it)",
                   who, j->name, a, b);
}

int mag_jobs_check_dir(mag_ctx *ctx, const mag_cell *cell, const char *dir,
                       mag_train_point *const *pp, size_t np, mag_diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%%collect: cannot read %s: %s", path,
                       strerror(errno));
    rt_strbuf b;
    rt_strbuf_init(&b);
    char chunk[65536];
    for (size_t k; (k = fread(chunk, 1, sizeof chunk, f)) > 0;)
        rt_strbuf_append(&b, chunk, k);
    fclose(f);
    if (b.err) {
        rt_strbuf_free(&b);
        return mag_err_nomem(d);
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < np; i++) {
        rt_job_owned job;
        memset(&job, 0, sizeof job);
        rt_diag md = {0};
        int n = 0;
        if (rt_manifest_point(b.s, b.len, (int)i, &n, &job, &md))
            rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%%collect: %s/%s", dir, md.msg);
        else if ((size_t)n != np)
            rc = mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                         "%%collect: %s has %d points, the cell rebuilt from it %zu", dir, n, np);
        else
            rc = mag_jobs_check_rebuilt(ctx, cell, "%collect", &pp[i]->job, job.hash, d);
        rt_job_owned_free(&job);
    }
    rt_strbuf_free(&b);
    return rc;
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
    int kind = mag_session_executor(ctx->session, &root);
    int mpi = kind == MAG_EXEC_MPI || kind == MAG_EXEC_SLURM; /* run elsewhere, not printed */
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
    /* the first point the worker would refuse (its trainer, an input a job cannot carry) */
    char why[1200] = "";
    size_t refused = 0;
    while (refused < np && !mag_worker_refusal(&jobs[refused], why, sizeof why))
        refused++;
    if (mpi) {
        if (refused < np)
            rc =
                mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                        "%%executor %s: rlhf-kernel worker cannot run point %zu (%s): %s; use "
                        "%%executor threads for this cell",
                        kind == MAG_EXEC_SLURM ? "slurm" : "mpi", refused, jobs[refused].name, why);
        else if (kind == MAG_EXEC_MPI) /* under slurm mag_jobs_slurm says where */
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
    if (refused < np)
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "note: rlhf-kernel worker cannot run point %zu (%s): %s\n", refused,
                       jobs[refused].name, why);
done:
    rt_strbuf_free(&man);
    rt_strbuf_free(&one);
    rt_free(jobs);
    return rc;
}

/* ---- %executor slurm: submit.sh and sbatch ------------------------------------------ */

int mag_jobs_slurm(mag_ctx *ctx, const mag_cell *cell, const char *magic, const char *base,
                   const char *dir, size_t np, char *id, size_t idcap, mag_diag *d)
{
    id[0] = '\0';
    const char *part, *time;
    int limit, submit;
    mag_session_slurm(ctx->session, &part, &limit, &time, &submit);
    mag_slurm_opts o = {part, limit, time};
    char err[2400], arr[64], q[4096 * 4 + 3];
    if (mag_slurm_write(dir, (int)np, &o, err, sizeof err))
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos, "%%executor slurm: %s", err);
    snprintf(arr, sizeof arr, "0-%zu", np - 1);
    if (limit > 0) snprintf(arr + strlen(arr), sizeof arr - strlen(arr), "%%%d", limit);
    shell_word(dir, q, sizeof q);
    const char *pl = np == 1 ? "" : "s";
    int asked = submit;
    if (submit < 0) submit = mag_slurm_available(); /* auto: decided now, per cell */
    if (!submit) {
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "%%%%%s %s: %zu point%s written to %s (not submitted: %s)\n"
                       "submit them where Slurm runs with:\n"
                       "  sbatch %s/submit.sh\n"
                       "and when the array's tasks have ended bring the results back with "
                       "%%collect %s\n",
                       magic, base, np, pl, dir,
                       asked == 0 ? "submit=false" : "sbatch is not in PATH here", q, q);
        return 0;
    }
    /* a directory submitted before (the same cell on the same session) keeps no stale
     * results: %collect must see this job's */
    char path[4200];
    for (size_t i = 0; i < np; i++)
        mag_remote_clean_point(dir, i);
    snprintf(path, sizeof path, "%s/slurm-job", dir);
    unlink(path);
    if (mag_slurm_submit(dir, id, idcap, err, sizeof err))
        return mag_err(ctx, d, MAG_ERUNTIME, cell->name_pos,
                       "%%%%%s %s: %zu point%s written to %s but not submitted: %s", magic, base,
                       np, pl, dir, err);
    if (mag_session_slurm_follow(ctx->session))
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "%%%%%s %s: %zu point%s written to %s; submitted as Slurm job %s (array "
                       "%s), followed here (an interrupt cancels it)\n",
                       magic, base, np, pl, dir, id, arr);
    else
        krn_out_printf(ctx->out, KRN_STDOUT,
                       "%%%%%s %s: %zu point%s written to %s; submitted as Slurm job %s (array "
                       "%s)\nwhen its tasks have ended (squeue -j %s) bring the results back with "
                       "%%collect %s\n",
                       magic, base, np, pl, dir, id, arr, id, q);
    return 0;
}

/* ---- %executor ---------------------------------------------------------------------- */

/* "executor slurm [partition=P] [array_limit=K] [time="T"] submit=S dir=D": what one
 * types to get this setting (S true, false, or auto: when sbatch is in PATH) */
/* The slurm setting as one types it: "executor slurm [partition=P] [array_limit=K]
 * [time="T"] submit=S [follow=false] dir=D" (S true, false, or auto: when sbatch is in
 * PATH). */
static void slurm_line(const mag_session *s, const char *dir, rt_strbuf *b)
{
    const char *part, *time;
    int limit, submit;
    mag_session_slurm(s, &part, &limit, &time, &submit);
    rt_strbuf_printf(b, "executor slurm");
    if (part) rt_strbuf_printf(b, " partition=%s", part);
    if (limit > 0) rt_strbuf_printf(b, " array_limit=%d", limit);
    if (time) rt_strbuf_printf(b, " time=\"%s\"", time);
    rt_strbuf_printf(b, " submit=%s%s dir=%s",
                     submit < 0 ? "auto"
                     : submit   ? "true"
                                : "false",
                     mag_session_slurm_follow(s) ? "" : " follow=false", dir);
}

char *mag_jobs_executor_line(const mag_session *s)
{
    const char *dir, *run, *hosts;
    int kind = mag_session_executor(s, &dir), np;
    rt_strbuf b;
    rt_strbuf_init(&b);
    if (kind == MAG_EXEC_JOBS) {
        rt_strbuf_printf(&b, "executor jobs dir=%s", dir);
    } else if (kind == MAG_EXEC_MPI) {
        mag_session_mpi(s, &np, &run, &hosts);
        rt_strbuf_printf(&b, "executor mpi np=%d mpirun=%s%s%s dir=%s", np, run,
                         hosts ? " hosts=" : "", hosts ? hosts : "", dir);
    } else if (kind == MAG_EXEC_SLURM) {
        slurm_line(s, dir, &b);
    } else {
        rt_strbuf_printf(&b, "executor threads");
    }
    return rt_strbuf_take(&b, NULL);
}

cJSON *mag_jobs_executor_meta(const mag_session *s, const char *job_dir)
{
    char *line = mag_jobs_executor_line(s);
    cJSON *m = cJSON_CreateObject(), *r = m ? cJSON_AddObjectToObject(m, "rlhf-kernel") : NULL;
    int ok = line && r && cJSON_AddStringToObject(r, "executor", line) &&
             (!job_dir || cJSON_AddStringToObject(r, "job_dir", job_dir));
    rt_free(line);
    if (!ok) cJSON_Delete(m), m = NULL;
    return m;
}

/* %executor's output: the setting as one types it (text/plain), and in the output's
 * metadata (which a notebook keeps: a kernel cannot write the notebook's own). */
static int show(mag_ctx *ctx, mag_diag *d)
{
    char *line = mag_jobs_executor_line(ctx->session);
    cJSON *data = line ? cJSON_CreateObject() : NULL;
    cJSON *meta = mag_jobs_executor_meta(ctx->session, NULL);
    char *text = NULL;
    if (line && (text = rt_malloc(strlen(line) + 2))) sprintf(text, "%s\n", line);
    int ok = data && meta && text && cJSON_AddStringToObject(data, "text/plain", text);
    rt_free(line);
    rt_free(text);
    if (!ok) {
        cJSON_Delete(data);
        cJSON_Delete(meta);
        return mag_err_nomem(d);
    }
    krn_out_display(ctx->out, data, meta, NULL);
    return 0;
}

/* A path argument's text (a name or a "string"), or NULL. */
static const char *path_arg(const mag_kv *k)
{
    return (k->value.kind == MAG_V_NAME || k->value.kind == MAG_V_STRING) && k->value.str &&
                   k->value.str[0]
               ? k->value.str
               : NULL;
}

/* %executor slurm's settings from ln->args[1..]: 0, or MAG_EVALUE at the bad key's value */
static int slurm_settings(mag_ctx *ctx, const mag_magic *m, const mag_line *ln, mag_diag *d)
{
    const char *dir = NULL, *part = NULL, *time = NULL;
    int limit = 0, submit = -1, follow = 1;
    for (size_t i = 1; i < ln->nargs; i++) {
        const mag_kv *k = &ln->args[i];
        const mag_value *v = &k->value;
        if (!k->key)
            return mag_err(ctx, d, MAG_EVALUE, v->pos, "unexpected argument '%s'; usage: %s",
                           v->text, m->usage);
        if (!strcmp(k->key, "dir")) {
            if (!(dir = path_arg(k)))
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "dir must be a path (a name or a \"string\"), got %s", v->text);
        } else if (!strcmp(k->key, "partition")) {
            /* a plain word: it goes into submit.sh's #SBATCH line as it is */
            int ok = v->kind == MAG_V_NAME || v->kind == MAG_V_STRING;
            for (const char *c = ok ? v->str : ""; ok && *c; c++)
                ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || strchr("_.-", *c);
            if (!ok || !v->str[0])
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "partition must be a partition's name (letters, digits, '_', "
                               "'.', '-'), got %s",
                               v->text);
            part = v->str;
        } else if (!strcmp(k->key, "array_limit")) {
            if (v->kind != MAG_V_INT || v->i < 1 || v->i > 1000000)
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "array_limit must be the most array tasks running at once, a "
                               "number >= 1, got %s",
                               v->text);
            limit = (int)v->i;
        } else if (!strcmp(k->key, "time")) {
            if (v->kind != MAG_V_STRING || mag_slurm_time_check(v->str))
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "time must be sbatch's [D-]HH:MM:SS or MM:SS in quotes (time="
                               "\"2:00:00\"), got %s",
                               v->text);
            time = v->str;
        } else if (!strcmp(k->key, "follow")) {
            const char *w = v->kind == MAG_V_NAME ? v->str : "";
            if (strcmp(w, "true") && strcmp(w, "false"))
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "follow must be true (the cell follows the array and stores its "
                               "points) or false (it returns once submitted), got %s",
                               v->text);
            follow = !strcmp(w, "true");
        } else if (!strcmp(k->key, "submit")) {
            const char *w = v->kind == MAG_V_NAME ? v->str : "";
            if (!strcmp(w, "true") || !strcmp(w, "false") || !strcmp(w, "auto"))
                submit = !strcmp(w, "auto") ? -1 : !strcmp(w, "true");
            else
                return mag_err(ctx, d, MAG_EVALUE, v->pos,
                               "submit must be true, false or auto (submit when sbatch is in "
                               "PATH), got %s",
                               v->text);
        } else {
            return mag_err(ctx, d, MAG_EVALUE, k->key_pos, "unexpected argument '%s'; usage: %s",
                           k->key, m->usage);
        }
    }
    if (mag_session_set_executor(ctx->session, MAG_EXEC_SLURM, dir) ||
        mag_session_set_slurm(ctx->session, part, limit, time, submit))
        return mag_err_nomem(d);
    mag_session_set_slurm_follow(ctx->session, follow);
    return 0;
}

static int run_executor(mag_ctx *ctx, const mag_magic *m, const mag_cell *c, const mag_line *ln,
                        const mag_config *cfg, mag_diag *d)
{
    (void)c, (void)cfg;
    if (ln->nargs == 0) return show(ctx, d);
    const mag_kv *a = &ln->args[0];
    const char *w = mag_arg_word(ln, 0);
    if (a->key || !w)
        return mag_err(ctx, d, MAG_EVALUE, a->key ? a->key_pos : a->value.pos,
                       "%%executor needs threads, jobs, mpi or slurm first: %s", m->usage);
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
    } else if (!strcmp(w, "slurm")) {
        int rc = slurm_settings(ctx, m, ln, d);
        return rc ? rc : show(ctx, d);
    } else
        return mag_err(ctx, d, MAG_EVALUE, a->value.pos,
                       "unknown executor '%s' (threads, jobs, mpi or slurm)", w);
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
                       "%%executor mpi needs np=N (the number of ranks, each training one point "
                       "at a time)");
    if (mag_session_set_executor(ctx->session, kind, dir) ||
        (kind == MAG_EXEC_MPI && mag_session_set_mpi(ctx->session, (int)np, run, hosts)))
        return mag_err_nomem(d);
    return show(ctx, d);
}

static const mag_magic executor_magic = {
    .name = "executor",
    .usage = "%executor [threads | jobs [dir=PATH] | mpi np=N [mpirun=PATH] [hosts=FILE] "
             "[dir=PATH] | slurm [partition=P] [array_limit=K] [time=\"HH:MM:SS\"] "
             "[submit=true|false|auto] [follow=true|false] [dir=PATH]]",
    .help = "Where the training cells %%policy, %%rl, %%opd, %%rm and %%dpo run their sweep\n"
            "points, session-wide.  threads (the default): here, on %threads threads.\n"
            "Elsewhere, a training cell checks and builds its points as usual, then writes\n"
            "its job directory PATH/NAME-<hash> (dir=PATH, \"jobs\" by default): a manifest\n"
            "(one line per point: the packed job — trainer, point name, configuration, the\n"
            "cell, the session seed and every policy, task, reward and preference set it\n"
            "reads, by value), so that\n"
            "  rlhf-kernel worker DIR --point I\n"
            "runs point I anywhere this binary runs, bit for bit what the threads executor\n"
            "gives: its run streamed to DIR/point-I.run as it trains, DIR/point-I.jsonl (as\n"
            "%export), DIR/point-I.policy (as %save), DIR/point-I.status last.  The worker\n"
            "runs %%rl, %%policy, %%opd and %%dpo points; it refuses %%rm points (a reward\n"
            "model cannot be saved yet) and inputs a job cannot carry (a %tilt teacher or\n"
            "reference, a reward reading rm(NAME) or debate(NAME)); under mpi and slurm such\n"
            "a cell fails before anything starts, naming the point and why.\n"
            "jobs: the cell only writes the directory and prints the worker commands;\n"
            "%collect DIR brings the points back once they ran.\n"
            "mpi np=N: the cell starts\n"
            "  mpirun -np N [--hostfile FILE] rlhf-kernel worker DIR\n"
            "(its own process group, never MPI in the kernel; rank 0 hands out the points\n"
            "and runs them too, so N points train at a time), shows them live in the cell's\n"
            "chart as the ranks train, and stores every point's run and policy under the\n"
            "names the threads executor gives, bit for bit the same.  On this machine\n"
            "mpirun gets --oversubscribe; hosts=FILE: its --hostfile instead (every host\n"
            "needs this binary at the same path and DIR on a shared file system).\n"
            "mpirun=PATH: the mpirun to start (default: mpirun in PATH).  As root the kernel\n"
            "passes Open MPI's --allow-run-as-root.  An interrupt stops every rank at its\n"
            "next step (within a second) and keeps the partial runs as interrupted.  A dead\n"
            "rank fails the points it stopped, naming mpirun's report; finished points are\n"
            "kept.\n"
            "slurm: the cell writes DIR/submit.sh, a Slurm job array, one task per point:\n"
            "  #SBATCH --array=0-(N-1)%K       (%K: array_limit=K, the most at once)\n"
            "  #SBATCH --partition=P --time=T (when given; time=\"[D-]HH:MM:SS\" or \"MM:SS\")\n"
            "  srun /abs/rlhf-kernel worker /abs/DIR --point \"$SLURM_ARRAY_TASK_ID\"\n"
            "(this binary by its absolute path: the nodes need it at that path, or edit the\n"
            "line, and DIR on a file system they share), and submits it with\n"
            "`sbatch --parsable` (the job id also in DIR/slurm-job).  follow=true (the\n"
            "default): the cell follows the array live as under mpi (an interrupt runs\n"
            "scancel); follow=false: it returns once submitted (%collect DIR later, also\n"
            "from a new kernel).  submit=false only writes it and prints the sbatch\n"
            "command; auto (the default) submits when sbatch is in PATH at the cell's time.\n"
            "The setting is recorded in the metadata of this magic's output and of a remote\n"
            "cell's chart (the notebook keeps them).  Without an argument: show the setting.",
    .run = run_executor,
    .positional = "-",
};

const mag_magic *const mag_jobs_magics[] = {&executor_magic, NULL};
