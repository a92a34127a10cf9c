/* rt_runfile: a run streamed as records (rt_runfile.h). */
#include "rt_runfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_alloc.h"

#define MAGIC "rlhf-run 1\n"

struct rt_runfile_writer {
    FILE *f;
    char *path;
    int n;            /* columns */
    int err;          /* first write error (errno), 0 if none */
    double last;      /* monotonic seconds of the last flush */
    unsigned char *b; /* a row's bytes */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int rt_runfile_create(const char *path, const char *const *columns, int n, rt_runfile_writer **out,
                      rt_diag *d)
{
    *out = NULL;
    if (!path || !columns || n < 1) return rt_diag_set(d, RT_EINVAL, "run file: no columns");
    for (int i = 0; i < n; i++)
        if (!columns[i] || !columns[i][0] || strchr(columns[i], '\n'))
            return rt_diag_set(d, RT_EINVAL, "run file: column %d has no name or a newline", i);
    rt_runfile_writer *w = rt_calloc(1, sizeof *w);
    if (w) w->path = rt_strdup(path);
    if (w) w->b = rt_malloc(1 + 8 * (size_t)n);
    if (!w || !w->path || !w->b) {
        if (w) rt_free(w->path), rt_free(w->b);
        rt_free(w);
        return rt_diag_set(d, RT_ENOMEM, "out of memory");
    }
    w->n = n;
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = errno;
        rt_free(w->path), rt_free(w->b), rt_free(w);
        return rt_diag_set(d, RT_ENOENT, "cannot create '%s': %s", path, strerror(e));
    }
    fprintf(w->f, MAGIC "columns %d\n", n);
    for (int i = 0; i < n; i++)
        fprintf(w->f, "%s\n", columns[i]);
    fputs("end\n", w->f);
    if (fflush(w->f)) {
        int e = errno;
        fclose(w->f);
        rt_free(w->path), rt_free(w->b), rt_free(w);
        return rt_diag_set(d, RT_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    w->last = mono_s();
    *out = w;
    return 0;
}

static void put(rt_runfile_writer *w, const void *p, size_t n)
{
    if (!w->err && fwrite(p, 1, n, w->f) != n) w->err = errno ? errno : EIO;
}

void rt_runfile_event(rt_runfile_writer *w, const rt_event *ev)
{
    if (!w || w->err || !ev) return;
    unsigned char h[1 + 1 + 8 + 4];
    int flush = 0;
    switch (ev->kind) {
    case RT_EVENT_RUN_STARTED:
        return;
    case RT_EVENT_METRICS_ROW:
        if (ev->n_columns != w->n) {
            w->err = EINVAL;
            return;
        }
        w->b[0] = 'R';
        for (int i = 0; i < w->n; i++) {
            uint64_t u;
            memcpy(&u, &ev->values[i], 8);
            put_u64(w->b + 1 + 8 * i, u);
        }
        put(w, w->b, 1 + 8 * (size_t)w->n);
        break;
    case RT_EVENT_LOG_LINE: {
        size_t len = ev->text ? strlen(ev->text) : 0;
        h[0] = 'L';
        put_u32(h + 1, (uint32_t)len);
        put(w, h, 5);
        put(w, ev->text ? ev->text : "", len);
        break;
    }
    case RT_EVENT_RUN_FINISHED: {
        size_t len = ev->message ? strlen(ev->message) : 0;
        h[0] = 'F';
        h[1] = (unsigned char)ev->status;
        put_u64(h + 2, (uint64_t)(int64_t)ev->step);
        put_u32(h + 10, (uint32_t)len);
        put(w, h, sizeof h);
        put(w, ev->message ? ev->message : "", len);
        flush = 1;
        break;
    }
    }
    double now = mono_s();
    if (!w->err && (flush || (now - w->last) * 1000.0 >= RT_RUNFILE_FLUSH_MS)) {
        if (fflush(w->f)) w->err = errno ? errno : EIO;
        w->last = now;
    }
}

void rt_runfile_on_event(void *user, const rt_event *ev)
{
    rt_runfile_event(user, ev);
}

int rt_runfile_close(rt_runfile_writer *w, rt_diag *d)
{
    if (!w) return 0;
    int e = w->err;
    if (fflush(w->f) && !e) e = errno ? errno : EIO;
    if (fclose(w->f) && !e) e = errno ? errno : EIO;
    int rc = e ? rt_diag_set(d, RT_EIO, "cannot write '%s': %s", w->path, strerror(e)) : 0;
    rt_free(w->path);
    rt_free(w->b);
    rt_free(w);
    return rc;
}

/* ---- reading ---- */

struct rt_runfile_reader {
    char *path;
    FILE *f;
    unsigned char *buf; /* bytes read and not yet applied */
    size_t len, cap;
    size_t off;  /* the file offset of buf[0] */
    int header;  /* 1 once read */
    int n;       /* the file's columns */
    int *map;    /* the run's column of each file column, or -1 */
    int run_n;   /* the run's columns */
    double *row; /* a row in the run's columns */
    int ended;
    rt_run_status status;
    long step;
    int hold;  /* an INTERRUPTED end is read, not applied (rt_runfile_hold_interrupted) */
    char *msg; /* the end's message */
};

void rt_runfile_hold_interrupted(rt_runfile_reader *r)
{
    if (r) r->hold = 1;
}

const char *rt_runfile_end_message(const rt_runfile_reader *r)
{
    return r && r->ended && r->msg ? r->msg : "";
}

int rt_runfile_reader_new(const char *path, rt_runfile_reader **out)
{
    rt_runfile_reader *r = rt_calloc(1, sizeof *r);
    if (r) r->path = rt_strdup(path);
    if (!r || !r->path) {
        rt_free(r);
        *out = NULL;
        return RT_ENOMEM;
    }
    *out = r;
    return 0;
}

void rt_runfile_reader_free(rt_runfile_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    rt_free(r->path);
    rt_free(r->buf);
    rt_free(r->map);
    rt_free(r->row);
    rt_free(r->msg);
    rt_free(r);
}

int rt_runfile_started(const rt_runfile_reader *r)
{
    return r && r->header;
}

int rt_runfile_ended(const rt_runfile_reader *r, rt_run_status *status, long *step)
{
    if (!r || !r->ended) return 0;
    if (status) *status = r->status;
    if (step) *step = r->step;
    return 1;
}

/* Reads everything the file holds now onto buf.  0, RT_EIO or RT_ENOMEM. */
static int fill(rt_runfile_reader *r, rt_diag *d)
{
    for (;;) {
        if (r->cap - r->len < 65536) {
            size_t cap = r->cap ? r->cap * 2 : 131072;
            unsigned char *nb = rt_realloc(r->buf, cap);
            if (!nb) return rt_diag_set(d, RT_ENOMEM, "out of memory");
            r->buf = nb, r->cap = cap;
        }
        size_t k = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
        r->len += k;
        if (k == 0) {
            if (ferror(r->f)) {
                int e = errno;
                return rt_diag_set(d, RT_EIO, "cannot read '%s': %s", r->path, strerror(e));
            }
            clearerr(r->f); /* at the end for now: the writer may append more */
            return 0;
        }
    }
}

/* The header at buf, if whole: its length, 0 if not whole yet, or an RT_E* code. */
static long header(rt_runfile_reader *r, rt_run *run, rt_diag *d)
{
    const char *s = (const char *)r->buf;
    size_t ml = strlen(MAGIC);
    /* "rlhf-run " and a version: decided only by whole bytes, so that a file read while
       it grows gives the same answer as the whole file */
    if (memcmp(s, MAGIC, r->len < 9 ? r->len : 9))
        return rt_diag_set(d, RT_EMAGIC, "'%s' is not a run file", r->path);
    const char *nl0 = memchr(s, '\n', r->len);
    if (!nl0 && r->len <= 64) return 0;
    if (!nl0 || (size_t)(nl0 - s) + 1 != ml || memcmp(s, MAGIC, ml))
        return rt_diag_set(d, RT_EVERSION, "'%s': a run file of another version", r->path);
    /* the lines up to "end\n" */
    size_t p = ml;
    int n = -1, line = 2;
    long cols = 0;
    size_t first_col = 0;
    for (;;) {
        const char *nl = memchr(s + p, '\n', r->len - p);
        if (!nl)
            return r->len - p > 4096
                       ? rt_diag_set(d, RT_EFORMAT, "'%s': line %d: too long", r->path, line)
                       : 0;
        size_t ll = (size_t)(nl - (s + p));
        if (ll > 4096) return rt_diag_set(d, RT_EFORMAT, "'%s': line %d: too long", r->path, line);
        if (n < 0) {
            char tmp[32];
            char *end = NULL;
            if (ll < 9 || ll > 20 || memcmp(s + p, "columns ", 8))
                return rt_diag_set(d, RT_EFORMAT, "'%s': line 2: expected 'columns N'", r->path);
            memcpy(tmp, s + p + 8, ll - 8);
            tmp[ll - 8] = '\0';
            errno = 0;
            long v = strtol(tmp, &end, 10);
            if (*end || errno || v < 1 || v > 100000)
                return rt_diag_set(d, RT_EFORMAT, "'%s': line 2: bad column count", r->path);
            n = (int)v;
            first_col = (size_t)(nl - s) + 1;
        } else if (cols < n) {
            if (ll == 0)
                return rt_diag_set(d, RT_EFORMAT, "'%s': line %d: a column without a name", r->path,
                                   line);
            cols++;
        } else {
            if (ll != 3 || memcmp(s + p, "end", 3))
                return rt_diag_set(d, RT_EFORMAT, "'%s': line %d: expected 'end'", r->path, line);
            p = (size_t)(nl - s) + 1;
            break;
        }
        p = (size_t)(nl - s) + 1;
        line++;
    }
    r->n = n;
    r->run_n = rt_run_n_columns(run);
    r->map = rt_malloc((size_t)n * sizeof *r->map);
    r->row = rt_malloc((size_t)(r->run_n > 0 ? r->run_n : 1) * sizeof *r->row);
    if (!r->map || !r->row) return rt_diag_set(d, RT_ENOMEM, "out of memory");
    size_t q = first_col;
    for (int i = 0; i < n; i++) {
        const char *nl = memchr(s + q, '\n', r->len - q);
        size_t ll = (size_t)(nl - (s + q));
        char *name = rt_malloc(ll + 1);
        if (!name) return rt_diag_set(d, RT_ENOMEM, "out of memory");
        memcpy(name, s + q, ll);
        name[ll] = '\0';
        r->map[i] = rt_run_column_index(run, name);
        rt_free(name);
        q = (size_t)(nl - s) + 1;
    }
    r->header = 1;
    return (long)p;
}

int rt_runfile_poll(rt_runfile_reader *r, rt_run *run, rt_diag *d)
{
    if (!r || !run) return rt_diag_set(d, RT_EINVAL, "run file: no reader or run");
    if (r->ended) return 0;
    if (!r->f) {
        r->f = fopen(r->path, "rb");
        if (!r->f) return 0; /* not there yet */
    }
    int rc = fill(r, d);
    if (rc) return rc;
    size_t at = 0;
    int applied = 0;
    if (!r->header) {
        long h = header(r, run, d);
        if (h < 0) return (int)h;
        if (h == 0) return 0;
        at = (size_t)h;
        if (rt_run_status_of(run, NULL, NULL, 0) == RT_RUN_CREATED) rt_run_start(run);
        applied++;
    }
    while (at < r->len && !r->ended) {
        const unsigned char *p = r->buf + at;
        size_t left = r->len - at;
        if (p[0] == 'R') {
            size_t need = 1 + 8 * (size_t)r->n;
            if (left < need) break;
            for (int c = 0; c < r->run_n; c++)
                r->row[c] = 0.0 / 0.0;
            for (int i = 0; i < r->n; i++)
                if (r->map[i] >= 0) {
                    uint64_t u = get_u64(p + 1 + 8 * i);
                    memcpy(&r->row[r->map[i]], &u, 8);
                }
            if (rt_run_append(run, r->row)) return rt_diag_set(d, RT_ENOMEM, "out of memory");
            at += need;
        } else if (p[0] == 'L' || p[0] == 'F') {
            size_t hl = p[0] == 'L' ? 5 : 14;
            if (left < hl) break;
            uint32_t len = get_u32(p + hl - 4);
            if (len > 1u << 20)
                return rt_diag_set(d, RT_EFORMAT, "'%s': byte %zu: a text of %u bytes", r->path,
                                   r->off + at, (unsigned)len);
            if (left < hl + len) break;
            char *t = rt_malloc((size_t)len + 1);
            if (!t) return rt_diag_set(d, RT_ENOMEM, "out of memory");
            memcpy(t, p + hl, len);
            t[len] = '\0';
            if (p[0] == 'L') {
                rt_run_log(run, "%s", t);
            } else {
                int st = p[1];
                if (st < RT_RUN_FINISHED || st > RT_RUN_FAILED) {
                    rt_free(t);
                    return rt_diag_set(d, RT_EFORMAT, "'%s': byte %zu: bad status %d", r->path,
                                       r->off + at, st);
                }
                r->ended = 1;
                r->status = (rt_run_status)st;
                r->step = (long)(int64_t)get_u64(p + 2);
                if (!(r->hold && r->status == RT_RUN_INTERRUPTED))
                    rt_run_finish(run, r->status, r->step, t);
                r->msg = t, t = NULL;
            }
            rt_free(t);
            at += hl + len;
        } else {
            return rt_diag_set(d, RT_EFORMAT, "'%s': byte %zu: bad record tag %d", r->path,
                               r->off + at, p[0]);
        }
        applied++;
    }
    memmove(r->buf, r->buf + at, r->len - at);
    r->len -= at;
    r->off += at;
    return applied;
}
