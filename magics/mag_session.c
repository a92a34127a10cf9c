/* mag_session: the registries of named objects and the session settings (see
 * mag_session.h).  One array of entries per kind, kept in definition order; a
 * replaced object keeps its place in %who but gets a new seq.  Leaves out
 * persistence (%save/%load write single policies, not sessions). */
#include "mag_session.h"
#include "rt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mag_lang.h"

typedef struct reg {
    mag_entry *e;
    size_t n, cap;
} reg;

struct mag_session {
    reg regs[MAG_N_KINDS];
    uint64_t seed;
    int threads;
    long seq;                /* next definition number */
    int executor;            /* MAG_EXEC_* */
    char *jobs_dir;          /* %executor jobs dir=PATH (rt_malloc'ed), or NULL: "jobs" */
    int mpi_np;              /* %executor mpi np=N */
    char *mpi_run;           /* mpirun=PATH (rt_malloc'ed), or NULL: "mpirun" */
    char *mpi_hosts;         /* hosts=FILE (rt_malloc'ed), or NULL */
    char *slurm_part;        /* %executor slurm partition=P (rt_malloc'ed), or NULL */
    int slurm_limit;         /* array_limit=K, or 0 */
    char *slurm_time;        /* time=T (rt_malloc'ed), or NULL */
    int slurm_submit;        /* submit=: 1, 0, or -1 (when sbatch is in PATH) */
    int slurm_follow;        /* follow=: 1 (the cell follows the submitted array) or 0 */
    long only_point;         /* the worker's point, or -1 */
    const char *only_stream; /* the worker's point's run file (borrowed), or NULL */
    uint64_t only_hash;      /* and its job's hash */
};

static const char *const kind_names[MAG_N_KINDS] = {"task", "policy",      "reward", "debate",
                                                    "run",  "preferences", "rm"};

const char *mag_kind_name(mag_kind k)
{
    return (unsigned)k < MAG_N_KINDS ? kind_names[k] : "object";
}

int mag_kind_parse(const char *name)
{
    for (int k = 0; name && k < MAG_N_KINDS; k++)
        if (strcmp(name, kind_names[k]) == 0) return k;
    return -1;
}

mag_session *mag_session_new(void)
{
    mag_session *s = rt_calloc(1, sizeof *s);
    if (!s) return NULL;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = n >= 1 ? (n > 256 ? 256 : (int)n) : 1;
    s->only_point = -1;
    s->slurm_submit = -1;
    s->slurm_follow = 1;
    return s;
}

static void entry_clear(mag_entry *e)
{
    if (e->free_fn && e->obj) e->free_fn(e->obj);
    rt_free(e->name);
    rt_free(e->summary);
    rt_free(e->task);
    rt_free(e->lineage);
}

void mag_session_clear(mag_session *s)
{
    if (!s) return;
    /* runs and policies may refer to tasks by name only, so any order is safe */
    for (int k = MAG_N_KINDS - 1; k >= 0; k--) {
        for (size_t i = 0; i < s->regs[k].n; i++)
            entry_clear(&s->regs[k].e[i]);
        rt_free(s->regs[k].e);
        s->regs[k] = (reg){0};
    }
}

void mag_session_free(mag_session *s)
{
    if (!s) return;
    mag_session_clear(s);
    rt_free(s->jobs_dir);
    rt_free(s->mpi_run);
    rt_free(s->mpi_hosts);
    rt_free(s->slurm_part);
    rt_free(s->slurm_time);
    rt_free(s);
}

int mag_name_check(const char *name, char *msg, size_t cap)
{
    size_t n = rt_utf8_cols(name, strlen(name));
    if (n <= MAG_NAME_MAX) return 0;
    snprintf(msg, cap, "a name of %zu characters is too long (at most %d)", n, MAG_NAME_MAX);
    return -1;
}

uint64_t mag_session_seed(const mag_session *s)
{
    return s->seed;
}

void mag_session_set_seed(mag_session *s, uint64_t seed)
{
    s->seed = seed;
}

int mag_session_threads(const mag_session *s)
{
    return s->threads;
}

void mag_session_set_threads(mag_session *s, int threads)
{
    s->threads = threads < 1 ? 1 : threads;
}

int mag_session_executor(const mag_session *s, const char **dir)
{
    if (dir) *dir = s->jobs_dir ? s->jobs_dir : "jobs";
    return s->executor;
}

int mag_session_set_executor(mag_session *s, int executor, const char *dir)
{
    char *copy = NULL;
    if (dir) {
        size_t n = strlen(dir) + 1;
        if (!(copy = rt_malloc(n))) return -1;
        memcpy(copy, dir, n);
    }
    rt_free(s->jobs_dir);
    s->jobs_dir = copy;
    s->executor = executor;
    return 0;
}

void mag_session_mpi(const mag_session *s, int *np, const char **mpirun, const char **hosts)
{
    if (np) *np = s->mpi_np > 0 ? s->mpi_np : 1;
    if (mpirun) *mpirun = s->mpi_run ? s->mpi_run : "mpirun";
    if (hosts) *hosts = s->mpi_hosts;
}

static char *dup_or_null(const char *p, int *bad)
{
    if (!p) return NULL;
    size_t n = strlen(p) + 1;
    char *c = rt_malloc(n);
    if (!c)
        *bad = 1;
    else
        memcpy(c, p, n);
    return c;
}

int mag_session_set_mpi(mag_session *s, int np, const char *mpirun, const char *hosts)
{
    int bad = 0;
    char *r = dup_or_null(mpirun, &bad), *h = dup_or_null(hosts, &bad);
    if (bad) {
        rt_free(r);
        rt_free(h);
        return -1;
    }
    rt_free(s->mpi_run);
    rt_free(s->mpi_hosts);
    s->mpi_run = r;
    s->mpi_hosts = h;
    s->mpi_np = np;
    return 0;
}

void mag_session_slurm(const mag_session *s, const char **partition, int *array_limit,
                       const char **time, int *submit)
{
    if (partition) *partition = s->slurm_part;
    if (array_limit) *array_limit = s->slurm_limit;
    if (time) *time = s->slurm_time;
    if (submit) *submit = s->slurm_submit;
}

int mag_session_set_slurm(mag_session *s, const char *partition, int array_limit, const char *time,
                          int submit)
{
    int bad = 0;
    char *p = dup_or_null(partition, &bad), *t = dup_or_null(time, &bad);
    if (bad) {
        rt_free(p);
        rt_free(t);
        return -1;
    }
    rt_free(s->slurm_part);
    rt_free(s->slurm_time);
    s->slurm_part = p;
    s->slurm_time = t;
    s->slurm_limit = array_limit > 0 ? array_limit : 0;
    s->slurm_submit = submit < 0 ? -1 : submit != 0;
    return 0;
}

int mag_session_slurm_follow(const mag_session *s)
{
    return s->slurm_follow;
}

void mag_session_set_slurm_follow(mag_session *s, int follow)
{
    s->slurm_follow = follow != 0;
}

long mag_session_worker(const mag_session *s, uint64_t *hash)
{
    if (hash) *hash = s->only_hash;
    return s->only_point;
}

void mag_session_set_worker(mag_session *s, long pt, uint64_t hash)
{
    s->only_point = pt < 0 ? -1 : pt;
    s->only_hash = hash;
}

const char *mag_session_worker_stream(const mag_session *s)
{
    return s->only_stream;
}

void mag_session_set_worker_stream(mag_session *s, const char *path)
{
    s->only_stream = path;
}

static mag_entry *find(const mag_session *s, mag_kind kind, const char *name)
{
    if (!s || (unsigned)kind >= MAG_N_KINDS || !name) return NULL;
    const reg *r = &s->regs[kind];
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->e[i].name, name) == 0) return &r->e[i];
    return NULL;
}

int mag_session_put(mag_session *s, mag_kind kind, const char *name, void *obj, mag_free_fn free_fn,
                    const char *summary, const char *task)
{
    return mag_session_put_lineage(s, kind, name, obj, free_fn, summary, task, NULL);
}

int mag_session_put_lineage(mag_session *s, mag_kind kind, const char *name, void *obj,
                            mag_free_fn free_fn, const char *summary, const char *task,
                            const char *lineage)
{
    if (!s || (unsigned)kind >= MAG_N_KINDS || !name) {
        if (free_fn && obj) free_fn(obj);
        return -1;
    }
    mag_entry ne = {.kind = kind, .obj = obj, .free_fn = free_fn};
    ne.name = rt_strdup(name);
    ne.summary = rt_strdup(summary ? summary : "");
    ne.task = task ? rt_strdup(task) : NULL;
    ne.lineage = lineage ? rt_strdup(lineage) : NULL;
    reg *r = &s->regs[kind];
    mag_entry *old = find(s, kind, name);
    int fail = !ne.name || !ne.summary || (task && !ne.task) || (lineage && !ne.lineage);
    if (!fail && !old && r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        mag_entry *e = rt_realloc(r->e, cap * sizeof *e);
        if (!e)
            fail = 1;
        else
            r->e = e, r->cap = cap;
    }
    if (fail) {
        entry_clear(&ne);
        return -1;
    }
    ne.seq = s->seq++;
    if (old) {
        entry_clear(old);
        *old = ne;
        return 1;
    }
    r->e[r->n++] = ne;
    return 0;
}

int mag_session_redefine_task(mag_session *s, const char *name, const char *keep, void *obj,
                              mag_free_fn free_fn, const char *summary, size_t *n_refs)
{
    mag_entry *old = find(s, MAG_TASK, name);
    if (!old || !keep || find(s, MAG_TASK, keep)) {
        if (free_fn && obj) free_fn(obj);
        return -1;
    }
    /* everything allocated first: the entries to re-point, their new task strings, the
       kept name, the new entry and room for it */
    size_t nref = 0;
    for (int k = 0; k < MAG_N_KINDS; k++)
        for (size_t i = 0; i < s->regs[k].n; i++)
            nref += s->regs[k].e[i].task && !strcmp(s->regs[k].e[i].task, name);
    char **copies = rt_calloc(nref ? nref : 1, sizeof *copies);
    char *kname = rt_strdup(keep);
    mag_entry ne = {.kind = MAG_TASK, .obj = obj, .free_fn = free_fn};
    ne.name = rt_strdup(name);
    ne.summary = rt_strdup(summary ? summary : "");
    int fail = !copies || !kname || !ne.name || !ne.summary;
    for (size_t i = 0; !fail && i < nref; i++)
        fail = !(copies[i] = rt_strdup(keep));
    reg *r = &s->regs[MAG_TASK];
    if (!fail && r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        mag_entry *e = rt_realloc(r->e, cap * sizeof *e);
        if (!e)
            fail = 1;
        else
            r->e = e, r->cap = cap, old = find(s, MAG_TASK, name);
    }
    if (fail) {
        for (size_t i = 0; copies && i < nref; i++)
            rt_free(copies[i]);
        rt_free(copies);
        rt_free(kname);
        entry_clear(&ne);
        return -1;
    }
    /* apply: nothing below fails */
    size_t c = 0;
    for (int k = 0; k < MAG_N_KINDS; k++)
        for (size_t i = 0; i < s->regs[k].n; i++) {
            mag_entry *e = &s->regs[k].e[i];
            if (e->task && !strcmp(e->task, name)) {
                rt_free(e->task);
                e->task = copies[c++];
            }
        }
    rt_free(copies);
    rt_free(old->name); /* the old definition stays, under its new name */
    old->name = kname;
    ne.seq = s->seq++;
    r->e[r->n++] = ne;
    if (n_refs) *n_refs = nref;
    return 0;
}

void *mag_session_get(const mag_session *s, mag_kind kind, const char *name)
{
    mag_entry *e = find(s, kind, name);
    return e ? e->obj : NULL;
}

const mag_entry *mag_session_entry(const mag_session *s, mag_kind kind, const char *name)
{
    return find(s, kind, name);
}

int mag_session_set_lineage(mag_session *s, mag_kind kind, const char *name, const char *lineage)
{
    mag_entry *e = find(s, kind, name);
    if (!e) return -1;
    char *c = NULL;
    if (lineage && !(c = rt_strdup(lineage))) return -1;
    rt_free(e->lineage);
    e->lineage = c;
    return 0;
}

int mag_session_remove(mag_session *s, mag_kind kind, const char *name)
{
    mag_entry *e = find(s, kind, name);
    if (!e) return -1;
    reg *r = &s->regs[kind];
    entry_clear(e);
    size_t i = (size_t)(e - r->e);
    memmove(&r->e[i], &r->e[i + 1], (r->n - i - 1) * sizeof *e);
    r->n--;
    return 0;
}

int mag_session_move(mag_session *from, mag_kind kind, const char *name, mag_session *to,
                     const char *as)
{
    mag_entry *e = find(from, kind, name);
    if (!e) return -1;
    void *obj = e->obj;
    mag_free_fn fn = e->free_fn;
    char *summary = e->summary, *task = e->task, *lineage = e->lineage;
    e->obj = NULL, e->free_fn = NULL, e->summary = e->task = e->lineage = NULL;
    mag_session_remove(from, kind, name);
    int rc = mag_session_put_lineage(to, kind, as, obj, fn, summary, task, lineage);
    rt_free(summary);
    rt_free(task);
    rt_free(lineage);
    return rc < 0 ? -1 : 0;
}

size_t mag_session_count(const mag_session *s, mag_kind kind)
{
    if (!s) return 0;
    if (kind == MAG_N_KINDS) {
        size_t n = 0;
        for (int k = 0; k < MAG_N_KINDS; k++)
            n += s->regs[k].n;
        return n;
    }
    return (unsigned)kind < MAG_N_KINDS ? s->regs[kind].n : 0;
}

const mag_entry *mag_session_at(const mag_session *s, mag_kind kind, size_t i)
{
    if (!s) return NULL;
    if ((unsigned)kind < MAG_N_KINDS) return i < s->regs[kind].n ? &s->regs[kind].e[i] : NULL;
    if (kind != MAG_N_KINDS) return NULL;
    /* all kinds by seq (a replaced object counts from its redefinition) */
    for (int k = 0; k < MAG_N_KINDS; k++)
        for (size_t j = 0; j < s->regs[k].n; j++) {
            const mag_entry *e = &s->regs[k].e[j];
            size_t rank = 0;
            for (int k2 = 0; k2 < MAG_N_KINDS; k2++)
                for (size_t j2 = 0; j2 < s->regs[k2].n; j2++)
                    rank += s->regs[k2].e[j2].seq < e->seq;
            if (rank == i) return e;
        }
    return NULL;
}

const char *mag_session_suggest(const mag_session *s, mag_kind kind, const char *word)
{
    if (!s || (unsigned)kind >= MAG_N_KINDS || !word) return NULL;
    rt_suggest sg;
    rt_suggest_init(&sg, word);
    for (size_t i = 0; i < s->regs[kind].n; i++)
        rt_suggest_add(&sg, s->regs[kind].e[i].name);
    return sg.best;
}
