/* rt_job: one sweep point as a unit of work — what a job is (plain data: the trainer's
 * name, the point's name, its resolved key = value configuration, its inputs by value,
 * its random stream) and how this process runs it (a function and its argument).
 *
 * The plain-data half is what a remote executor ships (rt_job_pack / rt_job_unpack,
 * rt_job.c): a job must then be rebuilt from it alone.  The trainers are built by the
 * magics, so the threads executor runs the in-process half (fn, arg); `rlhf-kernel
 * worker` rebuilds a training cell's point from its plain data alone (a job directory,
 * magics/mag_jobs.h; every field may be left empty by other callers).  A job must own
 * everything it mutates (its run, buffers, rng), so results do not depend on where or
 * next to what it runs.
 *
 * The packed form ("rlhf-job 1") is text, one field per line, every line ending in
 * '\n' (no NUL, no CR), so it can sit in a file of a job directory, travel over MPI or
 * be read with `less`:
 *
 *     rlhf-job 1
 *     trainer rl
 *     name "lr_sweep[lr=1e-3]"
 *     rng 0123456789abcdef 0000000000000000      the stream: key, counter (hex)
 *     cfg 2                                      then that many lines KEY = "VALUE"
 *     lr = "1e-3"
 *     reward = "correct + 0.1 * length"
 *     in 1                                       then that many lines ROLE KIND SIZE
 *     from policy 4424
 *     data from                                  per input, in order: ROLE, then its
 *     UkxIRlBPTAoCAAAA...                        SIZE bytes in base64 (RFC 4648, 76
 *     ...                                        characters a line, '=' padded)
 *     hash 5f1c0a4e9b2d7733                      FNV-1a 64 of every byte before this line
 *
 * Words (trainer, keys, roles, kinds) are 1..RT_JOB_MAX_WORD printable ASCII bytes
 * other than space, '"', '\\' and '='.  Strings (name, values) are quoted: '"' and
 * '\\' are escaped with '\\', newline, tab and CR as \n \t \r, other control bytes,
 * DEL and bytes that do not start well-formed UTF-8 as \xHH (lowercase); well-formed
 * UTF-8 stays as it is.  Numbers are decimal without leading zeros.  Nothing else is
 * allowed (no extra spaces, no comments), so the form is canonical: pack(unpack(p)) is
 * p byte for byte, and the same job always packs to the same bytes.  The hash line
 * names the job (a job directory `NAME-<hash>`) and catches corruption: a changed byte
 * always changes FNV-1a.  A later version changes the first line; unpack refuses any
 * version but its own.
 *
 * Leaves out: running jobs (rt_sweep.h: executors), the trainer registry (runtime/
 * trainers/rt_trainers.h: it links every trainer library), manifests of many jobs
 * (rt_manifest.h). */
#ifndef RT_JOB_H
#define RT_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_rng.h"
#include "rt_text.h"

/* What an executor hands a running job. */
typedef struct rt_job_ctx {
    atomic_int *cancel; /* poll between steps (may be NULL); also installed on runs */
    int threads;        /* threads the job may use inside (rt_sweep.h: the threads rule) */
} rt_job_ctx;

/* A job returns 0 on success or a negative error code of its own. */
typedef int (*rt_job_fn)(void *arg, const rt_job_ctx *ctx);

typedef struct rt_kv {
    const char *key, *value; /* "lr", "2e-4": the value as written */
} rt_kv;

/* An input by value: a serialized model, a task configuration, a reward's source... */
typedef struct rt_job_input {
    const char *role; /* "from", "reference", "teacher", "task", "reward", ... */
    const char *kind; /* "policy", "task", "reward", "debate" */
    const void *data;
    size_t size;
} rt_job_input;

typedef struct rt_job {
    /* in this process */
    rt_job_fn fn;
    void *arg;
    int status; /* out: fn's return value, RT_SWEEP_SKIPPED or RT_SWEEP_NOT_RUN */
    /* what it is, as plain data */
    const char *trainer; /* a trainer record's name: "sft", "rl", "opd", "judge", ... */
    const char *name;    /* the point's name, NAME[key=value,...] (rt_sweep_points.h) */
    const rt_kv *cfg;    /* the point's resolved configuration */
    int ncfg;
    const rt_job_input *in;
    int nin;
    rt_rng rng; /* the run's stream (rt_trainer.h names its sub-streams) */
} rt_job;

/* ---- pack / unpack (rt_job.c) ------------------------------------------------------- */

#define RT_JOB_VERSION 1
#define RT_JOB_MAX_WORD 64                 /* bytes of a trainer, key, role or kind */
#define RT_JOB_MAX_STR 65536               /* bytes of the name or a value */
#define RT_JOB_MAX_CFG 1024                /* configuration entries */
#define RT_JOB_MAX_IN 64                   /* inputs */
#define RT_JOB_MAX_INPUT ((size_t)1 << 30) /* bytes of one input */

/* 0 when j's plain data can be packed, else RT_EINVAL with d->msg naming the field:
 * trainer a word; name (NULL packs as "") and values at most RT_JOB_MAX_STR bytes;
 * keys words, unique; roles and kinds words; data non-NULL when size > 0; counts and
 * sizes within the limits above.  d may be NULL. */
int rt_job_check(const rt_job *j, rt_diag *d);
/* Appends j's packed form to out (growable; the hash covers the bytes this call
 * appends).  0, RT_EINVAL (nothing appended) or RT_ENOMEM (out->err set).
 * d may be NULL. */
int rt_job_pack(const rt_job *j, rt_strbuf *out, rt_diag *d);
/* The content hash a packed j carries (its hash line); 0 or rt_job_check's error. */
int rt_job_hash(const rt_job *j, uint64_t *hash, rt_diag *d);
/* FNV-1a 64 of p[0..n) (the job hash's function); and h as 16 lowercase hex digits. */
uint64_t rt_job_fnv1a64(const void *p, size_t n);
void rt_job_hash_hex(uint64_t h, char out[17]);

/* A job rebuilt from packed bytes: every string, array and input blob in one block
 * (inputs 16-byte aligned), so the job lives until rt_job_owned_free.  job.fn and
 * job.arg are NULL and job.status 0. */
typedef struct rt_job_owned {
    rt_job job;
    uint64_t hash; /* the hash line's value (verified) */
    void *block;   /* the one allocation (rt_alloc.h) */
} rt_job_owned;

/* Parses and validates p[0..n) (never reads outside it); on success fills *out.
 * Otherwise *out is empty and d (may be NULL) holds RT_EFORMAT with the line and
 * column of the first problem ("job: line 4: ...") or RT_ENOMEM. */
int rt_job_unpack(const void *p, size_t n, rt_job_owned *out, rt_diag *d);
void rt_job_owned_free(rt_job_owned *o); /* out of a failed unpack too; leaves it empty */

#endif
