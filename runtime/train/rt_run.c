/* rt_run.c: runs (metrics table under a mutex, status, events, cancel flag) and the
 * run registry.  Training algorithms live elsewhere and only call this API. */
#include "rt_run.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"

struct rt_run {
    char *name;
    int n_columns;
    char **columns;
    pthread_mutex_t mu; /* guards rows, n_rows, cap_rows, status, step, message */
    double *rows;       /* n_rows x n_columns */
    long n_rows, cap_rows;
    rt_run_status status;
    long step;
    char *message;
    rt_event_fn fn;
    void *user;
    atomic_int *cancel;
    int n_config; /* configuration pairs (rt_run_add_config), in the order added */
    char **config_keys, **config_values;
};

static const char *const status_names[] = {"created", "running", "finished", "interrupted",
                                           "failed"};

const char *rt_run_status_name(rt_run_status status)
{
    return (unsigned)status <= RT_RUN_FAILED ? status_names[status] : "?";
}

int rt_run_create(const char *name, const char *const *columns, int n_columns, rt_run **out)
{
    *out = NULL;
    if (!name || !*name || !columns || n_columns < 1) return RT_EINVAL;
    for (int i = 0; i < n_columns; i++) {
        if (!columns[i] || !*columns[i]) return RT_EINVAL;
        for (int j = 0; j < i; j++)
            if (strcmp(columns[i], columns[j]) == 0) return RT_EINVAL;
    }
    rt_run *r = rt_calloc(1, sizeof *r);
    if (!r) return RT_ENOMEM;
    if (pthread_mutex_init(&r->mu, NULL)) {
        rt_free(r);
        return RT_ENOMEM;
    }
    r->name = rt_strdup(name);
    r->columns = rt_calloc((size_t)n_columns, sizeof *r->columns);
    if (!r->name || !r->columns) goto oom;
    r->n_columns = n_columns;
    for (int i = 0; i < n_columns; i++)
        if (!(r->columns[i] = rt_strdup(columns[i]))) goto oom;
    r->status = RT_RUN_CREATED;
    *out = r;
    return 0;
oom:
    rt_run_free(r);
    return RT_ENOMEM;
}

void rt_run_free(rt_run *r)
{
    if (!r) return;
    if (r->columns)
        for (int i = 0; i < r->n_columns; i++)
            rt_free(r->columns[i]);
    rt_free(r->columns);
    rt_free(r->name);
    rt_free(r->rows);
    rt_free(r->message);
    for (int i = 0; i < r->n_config; i++) {
        rt_free(r->config_keys[i]);
        rt_free(r->config_values[i]);
    }
    rt_free(r->config_keys);
    rt_free(r->config_values);
    pthread_mutex_destroy(&r->mu);
    rt_free(r);
}

void rt_run_set_events(rt_run *r, rt_event_fn fn, void *user)
{
    r->fn = fn;
    r->user = user;
}

void rt_run_set_cancel(rt_run *r, atomic_int *cancel)
{
    r->cancel = cancel;
}

/* grow to at least rows; caller holds the mutex */
static int grow(rt_run *r, long rows)
{
    if (rows <= r->cap_rows) return 0;
    long cap = r->cap_rows ? r->cap_rows : 64;
    while (cap < rows)
        cap *= 2;
    double *p = rt_realloc(r->rows, sizeof(double) * (size_t)cap * (size_t)r->n_columns);
    if (!p) return RT_ENOMEM;
    r->rows = p;
    r->cap_rows = cap;
    return 0;
}

int rt_run_reserve(rt_run *r, long rows)
{
    pthread_mutex_lock(&r->mu);
    int rc = grow(r, rows);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

const char *rt_run_name(const rt_run *r)
{
    return r->name;
}
int rt_run_n_columns(const rt_run *r)
{
    return r->n_columns;
}
const char *rt_run_column(const rt_run *r, int i)
{
    return i >= 0 && i < r->n_columns ? r->columns[i] : NULL;
}
int rt_run_column_index(const rt_run *r, const char *name)
{
    for (int i = 0; name && i < r->n_columns; i++)
        if (strcmp(r->columns[i], name) == 0) return i;
    return -1;
}

int rt_run_add_config(rt_run *r, const char *key, const char *value)
{
    if (!key || !*key || !value || rt_run_config_get(r, key)) return RT_EINVAL;
    char *k = rt_strdup(key), *v = rt_strdup(value);
    char **ks = k && v ? rt_realloc(r->config_keys, sizeof *ks * (size_t)(r->n_config + 1)) : NULL;
    if (ks) r->config_keys = ks;
    char **vs = ks ? rt_realloc(r->config_values, sizeof *vs * (size_t)(r->n_config + 1)) : NULL;
    if (!vs) {
        rt_free(k);
        rt_free(v);
        return RT_ENOMEM;
    }
    r->config_values = vs;
    ks[r->n_config] = k;
    vs[r->n_config++] = v;
    return 0;
}

int rt_run_n_config(const rt_run *r)
{
    return r->n_config;
}

const char *rt_run_config_key(const rt_run *r, int i)
{
    return i >= 0 && i < r->n_config ? r->config_keys[i] : NULL;
}

const char *rt_run_config_value(const rt_run *r, int i)
{
    return i >= 0 && i < r->n_config ? r->config_values[i] : NULL;
}

const char *rt_run_config_get(const rt_run *r, const char *key)
{
    for (int i = 0; key && i < r->n_config; i++)
        if (strcmp(r->config_keys[i], key) == 0) return r->config_values[i];
    return NULL;
}

int rt_run_should_stop(const rt_run *r)
{
    return r->cancel && atomic_load(r->cancel) != 0;
}

atomic_int *rt_run_cancel_flag(const rt_run *r)
{
    return r->cancel;
}

static void emit(rt_run *r, rt_event *ev)
{
    if (!r->fn) return;
    ev->run = r;
    ev->run_name = r->name;
    ev->n_columns = r->n_columns;
    ev->columns = (const char *const *)r->columns;
    if (!ev->message) ev->message = "";
    r->fn(r->user, ev);
}

void rt_run_start(rt_run *r)
{
    pthread_mutex_lock(&r->mu);
    r->status = RT_RUN_RUNNING;
    pthread_mutex_unlock(&r->mu);
    rt_event ev = {.kind = RT_EVENT_RUN_STARTED};
    emit(r, &ev);
}

int rt_run_append(rt_run *r, const double *values)
{
    pthread_mutex_lock(&r->mu);
    int rc = grow(r, r->n_rows + 1);
    long row = r->n_rows;
    if (!rc) {
        memcpy(r->rows + row * r->n_columns, values, sizeof(double) * (size_t)r->n_columns);
        r->n_rows++;
    }
    pthread_mutex_unlock(&r->mu);
    if (rc) return rc;
    rt_event ev = {.kind = RT_EVENT_METRICS_ROW, .row = row, .values = values};
    emit(r, &ev);
    return 0;
}

void rt_run_log(rt_run *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rt_event ev = {.kind = RT_EVENT_LOG_LINE, .text = line};
    emit(r, &ev);
}

int rt_run_finish(rt_run *r, rt_run_status status, long step, const char *message)
{
    if (status < RT_RUN_FINISHED || status > RT_RUN_FAILED) return RT_EINVAL;
    char *msg = message && *message ? rt_strdup(message) : NULL;
    pthread_mutex_lock(&r->mu);
    int done = r->status >= RT_RUN_FINISHED;
    if (!done) {
        r->status = status;
        r->step = step;
        r->message = msg; /* NULL if out of memory: the status still stands */
    }
    pthread_mutex_unlock(&r->mu);
    if (done) {
        rt_free(msg);
        return RT_EINVAL;
    }
    rt_event ev = {
        .kind = RT_EVENT_RUN_FINISHED, .status = status, .step = step, .message = msg ? msg : ""};
    emit(r, &ev);
    return 0;
}

rt_run_status rt_run_status_of(const rt_run *cr, long *step, char *msg, size_t cap)
{
    rt_run *r = (rt_run *)cr; /* the mutex is not part of the value */
    pthread_mutex_lock(&r->mu);
    rt_run_status s = r->status;
    if (step) *step = r->step;
    if (msg && cap) snprintf(msg, cap, "%s", r->message ? r->message : "");
    pthread_mutex_unlock(&r->mu);
    return s;
}

long rt_run_rows(const rt_run *cr)
{
    rt_run *r = (rt_run *)cr;
    pthread_mutex_lock(&r->mu);
    long n = r->n_rows;
    pthread_mutex_unlock(&r->mu);
    return n;
}

long rt_run_read(const rt_run *cr, long from, long n, double *out)
{
    rt_run *r = (rt_run *)cr;
    if (from < 0 || n <= 0) return 0;
    pthread_mutex_lock(&r->mu);
    if (from > r->n_rows) from = r->n_rows;
    if (n > r->n_rows - from) n = r->n_rows - from;
    if (n > 0)
        memcpy(out, r->rows + from * r->n_columns,
               sizeof(double) * (size_t)n * (size_t)r->n_columns);
    pthread_mutex_unlock(&r->mu);
    return n;
}

int rt_run_snapshot_take(const rt_run *cr, rt_run_snapshot *snap)
{
    rt_run *r = (rt_run *)cr;
    snap->rows = 0;
    snap->n_columns = r->n_columns;
    snap->values = NULL;
    for (;;) { /* size outside the lock, copy inside; retry if rows were added */
        long n = rt_run_rows(r);
        double *v = rt_malloc(sizeof(double) * (size_t)(n ? n : 1) * (size_t)r->n_columns);
        if (!v) return RT_ENOMEM;
        pthread_mutex_lock(&r->mu);
        if (r->n_rows <= n) {
            n = r->n_rows;
            if (n) memcpy(v, r->rows, sizeof(double) * (size_t)n * (size_t)r->n_columns);
            pthread_mutex_unlock(&r->mu);
            snap->rows = n;
            snap->values = v;
            return 0;
        }
        pthread_mutex_unlock(&r->mu);
        rt_free(v);
    }
}

void rt_run_snapshot_free(rt_run_snapshot *snap)
{
    if (!snap) return;
    rt_free(snap->values);
    snap->values = NULL;
    snap->rows = 0;
}

struct rt_runs {
    pthread_mutex_t mu;
    rt_run **runs;
    int n, cap;
};

int rt_runs_create(rt_runs **out)
{
    *out = NULL;
    rt_runs *g = rt_calloc(1, sizeof *g);
    if (!g) return RT_ENOMEM;
    if (pthread_mutex_init(&g->mu, NULL)) {
        rt_free(g);
        return RT_ENOMEM;
    }
    *out = g;
    return 0;
}

void rt_runs_free(rt_runs *g)
{
    if (!g) return;
    for (int i = 0; i < g->n; i++)
        rt_run_free(g->runs[i]);
    rt_free(g->runs);
    pthread_mutex_destroy(&g->mu);
    rt_free(g);
}

static int find_locked(const rt_runs *g, const char *name)
{
    for (int i = 0; name && i < g->n; i++)
        if (strcmp(g->runs[i]->name, name) == 0) return i;
    return -1;
}

int rt_runs_add(rt_runs *g, rt_run *run)
{
    if (!run) return RT_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    if (find_locked(g, run->name) >= 0)
        rc = RT_EEXIST;
    else if (g->n == g->cap) {
        int cap = g->cap ? 2 * g->cap : 8;
        rt_run **p = rt_realloc(g->runs, sizeof *p * (size_t)cap);
        if (!p)
            rc = RT_ENOMEM;
        else {
            g->runs = p;
            g->cap = cap;
        }
    }
    if (!rc) g->runs[g->n++] = run;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

rt_run *rt_runs_find(const rt_runs *cg, const char *name)
{
    rt_runs *g = (rt_runs *)cg;
    pthread_mutex_lock(&g->mu);
    int i = find_locked(g, name);
    rt_run *r = i >= 0 ? g->runs[i] : NULL;
    pthread_mutex_unlock(&g->mu);
    return r;
}

int rt_runs_count(const rt_runs *cg)
{
    rt_runs *g = (rt_runs *)cg;
    pthread_mutex_lock(&g->mu);
    int n = g->n;
    pthread_mutex_unlock(&g->mu);
    return n;
}

rt_run *rt_runs_at(const rt_runs *cg, int i)
{
    rt_runs *g = (rt_runs *)cg;
    pthread_mutex_lock(&g->mu);
    rt_run *r = i >= 0 && i < g->n ? g->runs[i] : NULL;
    pthread_mutex_unlock(&g->mu);
    return r;
}

int rt_runs_remove(rt_runs *g, const char *name)
{
    pthread_mutex_lock(&g->mu);
    int i = find_locked(g, name);
    rt_run *r = NULL;
    if (i >= 0) {
        r = g->runs[i];
        memmove(g->runs + i, g->runs + i + 1, sizeof *g->runs * (size_t)(g->n - i - 1));
        g->n--;
    }
    pthread_mutex_unlock(&g->mu);
    if (!r) return RT_ENOTFOUND;
    rt_run_free(r);
    return 0;
}
