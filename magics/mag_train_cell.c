/* mag_train_cell: the one training-cell handler (mag_train_cell.h): NAME, configuration,
 * names, sweep points as jobs, the bridge, the store and the ending.  Leaves out what a
 * magic alone does (its record's hooks). */
#include "mag_train_cell.h"
#include "rt_tilt.h"
#include "mag_jobs.h"
#include "mag_lineage.h"
#include "mag_remote.h"
#include "mag_runs.h"
#include "rt_runfile.h"

#include <cjson/cJSON.h>
#include "mag_prefs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_features.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_text.h"
#include "rt_run.h"

#define PT(pts, rec, i) ((mag_train_point *)((char *)(pts) + (i) * (rec)->point_size))

/* job.cfg of point pt: every key of the schema that has a value there, as written (the
 * default's text when not given); the strings are the configuration's. */
static int point_cfg(const mag_config *cfg, size_t pt, mag_train_point *p)
{
    size_t nk = cfg->schema->nkeys;
    rt_kv *kv = rt_calloc(nk ? nk : 1, sizeof *kv);
    if (!kv) return MAG_ENOMEM;
    int n = 0;
    for (size_t k = 0; k < nk; k++) {
        const mag_value *v = mag_config_at(cfg, k, pt);
        if (v && v->text) kv[n++] = (rt_kv){.key = cfg->schema->keys[k].name, .value = v->text};
    }
    p->job.cfg = kv;
    p->job.ncfg = n;
    return 0;
}

static void free_points(const mag_trainer_rec *rec, void *pts, size_t np)
{
    for (size_t i = 0; pts && i < np; i++) {
        mag_train_point *p = PT(pts, rec, i);
        if (rec->point_free) rec->point_free(p);
        rt_policy_free(p->pol);
        rt_run_free(p->run);
        rt_free((void *)p->job.cfg);
        rt_free((void *)p->job.in);
    }
    rt_free(pts);
}

/* ---- inputs by value ---------------------------------------------------------------
 * A job carries the session objects its point names, as bytes that name themselves, so
 * that a fresh session can be rebuilt from them alone (`rlhf-kernel worker`, mag_jobs.h):
 * a policy as the file %save writes (rt_model_save_mem_meta with mag_policy_meta: its
 * session name, task definition and lineage), a task as "task = NAME" and its
 * definition lines (mag_task_spec_lines), a reward as the %%reward cell that defines it
 * ("%%reward NAME p=default ...", then its source), a preference set as its JSONL with its
 * name, labeler, task copy and origin (mag_prefs_pack; with it the labeler's reward, the
 * default eval_reward of %%dpo), the teachers of a map {domain: policy} (%%opd) each as
 * a policy.  What a job cannot carry (a %tilt: no weights; a reward reading debate(NAME)
 * or rm(NAME): debates and reward models have no bytes yet) becomes an input of kind
 * missing whose data says what, so that the job directory is still written and the
 * worker, and %executor mpi before it starts, refuse it by name (mag_worker_refusal).
 * Each object is serialized once per cell and shared by the points' jobs.  Every job also carries
 * the cell itself (role cell, kind cell: the cell's text) and the session settings its numbers
 * depend on (role session, kind session: "seed = N"); a record with MAG_TRAIN_KEEPS_ADAM also
 * carries the Adam state of its `from` policy (kind adam, mag_jobs_adam_pack), which the policy
 * file leaves out and a copy trains on with. */

enum { MAX_BLOBS = 6 * MAG_TRAIN_MAX_POINTS + 8 }; /* from, reference, task, rewards... */
typedef struct blob {
    const char *kind, *name;
    void *data; /* owned */
    size_t size;
} blob;
typedef struct blobs {
    blob b[MAX_BLOBS];
    int n;
    char session[64]; /* the session input: "seed = N\n" */
} blobs;

static void blobs_free(blobs *bs)
{
    for (int i = 0; i < bs->n; i++)
        rt_free(bs->b[i].data);
}

/* The blob of session object (kind, name), made on first use; NULL if the session has
 * no such object (or kind is not serializable: debates), *nomem on ENOMEM. */
static const blob *blob_of(blobs *bs, const mag_session *s, const char *kind, const char *name,
                           int *nomem)
{
    for (int i = 0; i < bs->n; i++)
        if (!strcmp(bs->b[i].kind, kind) && !strcmp(bs->b[i].name, name)) return &bs->b[i];
    if (bs->n == MAX_BLOBS) return *nomem = 1, NULL;
    blob b = {kind, name, NULL, 0};
    if (!strcmp(kind, "policy")) {
        rt_policy *p = mag_session_get(s, MAG_POLICY, name);
        if (!p || rt_tilt_is(&p->model)) return NULL; /* a tilt: no bytes (in process) */
        char *meta = mag_policy_meta(s, name);
        int rc = meta ? rt_model_save_mem_meta(&p->model, meta, &b.data, &b.size, NULL) : RT_ENOMEM;
        rt_free(meta);
        if (rc) return *nomem = 1, NULL;
    } else if (!strcmp(kind, "task")) {
        const rt_task *t = mag_session_get(s, MAG_TASK, name);
        if (!t) return NULL;
        rt_strbuf sb;
        rt_strbuf_init(&sb);
        rt_strbuf_printf(&sb, "task = %s\n", name);
        if (mag_task_spec_lines(t, &sb)) {
            rt_strbuf_free(&sb);
            return *nomem = 1, NULL;
        }
        b.data = rt_strbuf_take(&sb, &b.size);
        if (!b.data) return *nomem = 1, NULL;
    } else if (!strcmp(kind, "adam")) { /* a policy's Adam state, when it has one */
        rt_policy *p = mag_session_get(s, MAG_POLICY, name);
        if (!p || rt_tilt_is(&p->model) || p->model.params->t == 0) return NULL;
        if (mag_jobs_adam_pack(name, p->model.params, &b.data, &b.size)) return *nomem = 1, NULL;
    } else if (!strcmp(kind, "reward")) {
        const rt_reward_program *r = mag_session_get(s, MAG_REWARD, name);
        if (!r) return NULL;
        rt_strbuf sb;
        rt_strbuf_init(&sb);
        mag_jobs_reward_cell(name, r, &sb);
        b.data = rt_strbuf_take(&sb, &b.size);
        if (!b.data) return *nomem = 1, NULL;
    } else if (!strcmp(kind, "preferences")) {
        rt_strbuf sb;
        rt_strbuf_init(&sb);
        int rc = mag_prefs_pack(s, name, &sb);
        if (rc) rt_strbuf_free(&sb);
        if (rc) return rc < 0 ? (*nomem = 1, NULL) : NULL;
        b.data = rt_strbuf_take(&sb, &b.size);
        if (!b.data) return *nomem = 1, NULL;
    } else {
        return NULL;
    }
    bs->b[bs->n] = b;
    return &bs->b[bs->n++];
}

/* An input of kind missing (name: the object's) saying why session object (kind, name)
 * cannot be carried, or NULL when it can (or the session lacks it): a policy that is a
 * %tilt, a reward reading feature functions (debate(NAME), rm(NAME)). */
static const blob *missing_of(blobs *bs, const mag_session *s, const char *kind, const char *name,
                              int *nomem)
{
    char why[400] = "";
    if (!strcmp(kind, "policy")) {
        rt_policy *p = mag_session_get(s, MAG_POLICY, name);
        if (p && rt_tilt_is(&p->model))
            snprintf(why, sizeof why, "policy '%s' is a %%tilt (it has no weights to carry)", name);
    } else if (!strcmp(kind, "reward")) {
        const rt_reward_program *r = mag_session_get(s, MAG_REWARD, name);
        const rt_feature_provider *fp = r ? rt_features_for_reward(r) : NULL;
        if (fp)
            snprintf(why, sizeof why, "reward '%s' reads %s(...), %s, which jobs do not carry yet",
                     name, fp->name, !strcmp(fp->name, "rm") ? "a reward model" : "a debate");
    }
    if (!why[0]) return NULL;
    for (int i = 0; i < bs->n; i++)
        if (!strcmp(bs->b[i].kind, "missing") && !strcmp(bs->b[i].name, name)) return &bs->b[i];
    if (bs->n == MAX_BLOBS) return *nomem = 1, NULL;
    size_t n = strlen(why);
    blob b = {"missing", name, rt_malloc(n), n};
    if (!b.data) return *nomem = 1, NULL;
    memcpy(b.data, why, n);
    bs->b[bs->n] = b;
    return &bs->b[bs->n++];
}

/* Appends to in[*n] the input(s) of session object (kind, name) under role: its blob
 * (a preference set with its labeler's reward), or what says it cannot be carried.
 * *has_task is set by a task.  Returns the blob (NULL: none). */
static const blob *add_input(const mag_train_cellctx *t, blobs *bs, const char *role,
                             const char *kind, const char *name, rt_job_input *in, int *n,
                             int *has_task, int *nomem)
{
    const mag_session *s = t->ctx->session;
    const blob *b = missing_of(bs, s, kind, name, nomem);
    if (!b && !*nomem) b = blob_of(bs, s, kind, name, nomem);
    if (!b) return NULL;
    in[(*n)++] = (rt_job_input){role, b->kind, b->data, b->size};
    *has_task |= !strcmp(b->kind, "task");
    const char *lab = NULL;
    if (!strcmp(b->kind, "preferences") && mag_prefs_get(s, name, NULL, &lab) && lab) {
        const blob *r = missing_of(bs, s, "reward", lab, nomem);
        if (!r && !*nomem) r = blob_of(bs, s, "reward", lab, nomem);
        if (r) in[(*n)++] = (rt_job_input){"labeler", r->kind, r->data, r->size};
    }
    return b;
}

/* job.in of point pt: every policy, task, reward and preference set the point names
 * (keys of type NAME, and the policies of a map {domain: policy}), plus the cell's task
 * when no key names it.  0 or MAG_ENOMEM. */
static int point_inputs(const mag_train_cellctx *t, const mag_trainer_rec *rec, size_t pt,
                        mag_train_point *p, blobs *bs)
{
    const mag_schema *sc = t->cfg->schema;
    size_t cap = 2 * sc->nkeys + 4;
    for (size_t k = 0; k < sc->nkeys; k++) {
        const mag_value *v = mag_config_at(t->cfg, k, pt);
        if (v && v->kind == MAG_V_MAP) cap += v->n;
    }
    rt_job_input *in = rt_calloc(cap, sizeof *in);
    if (!in) return MAG_ENOMEM;
    int n = 0, has_task = 0, nomem = 0;
    in[n++] = (rt_job_input){"session", "session", bs->session, strlen(bs->session)};
    in[n++] = (rt_job_input){"cell", "cell", t->ctx->src, t->ctx->len};
    for (size_t k = 0; k < sc->nkeys && !nomem; k++) {
        const mag_key_spec *ks = &sc->keys[k];
        const mag_value *v = mag_config_at(t->cfg, k, pt);
        int named = ks->type == MAG_T_NAME || (ks->type == MAG_T_MAP && ks->elem == MAG_T_NAME);
        if (!named || !ks->object || !v) continue;
        size_t nv = v->kind == MAG_V_MAP ? v->n : 1;
        for (size_t e = 0; e < nv && !nomem; e++) {
            const char *vs = v->kind == MAG_V_MAP ? v->entries[e].value.str : v->str;
            if (!vs) continue;
            /* a policy- or preferences-valued key names this point's object (a sweep's
               NAME pairs by key) */
            const char *name = vs;
            if (!strcmp(ks->object, "policy"))
                name = mag_train_pair_name(t->ctx->session, t->cfg, pt, vs);
            else if (!strcmp(ks->object, "preferences")) {
                const char *got = NULL;
                char why[400];
                if (!mag_train_pair_entry(t->ctx->session, MAG_PREFS, t->cfg, pt, NULL, vs, &got,
                                          why, sizeof why))
                    name = got;
            }
            const blob *b = add_input(t, bs, ks->name, ks->object, name, in, &n, &has_task, &nomem);
            if (b && (rec->flags & MAG_TRAIN_KEEPS_ADAM) && !strcmp(ks->name, "from") &&
                (b = blob_of(bs, t->ctx->session, "adam", name, &nomem)) != NULL)
                in[n++] = (rt_job_input){ks->name, b->kind, b->data, b->size};
        }
    }
    if (!nomem && !has_task && t->task_name) {
        const blob *b = blob_of(bs, t->ctx->session, "task", t->task_name, &nomem);
        if (b) in[n++] = (rt_job_input){"task", b->kind, b->data, b->size};
    }
    if (nomem) {
        rt_free(in);
        return MAG_ENOMEM;
    }
    p->job.in = in;
    p->job.nin = n;
    return 0;
}

/* A worker's point's run as it trains: PREFIX.run (rt_runfile.h) and PREFIX.jsonl. */
typedef struct worker_tap {
    rt_runfile_writer *w;
    mag_export_stream *x;
    char msg[4400]; /* the first error */
} worker_tap;

static void worker_tap_event(void *user, const rt_event *ev)
{
    worker_tap *t = user;
    rt_runfile_event(t->w, ev);
    if (ev->kind == RT_EVENT_METRICS_ROW) mag_export_stream_row(t->x, ev->values);
}

/* 0, RT_ENOMEM, or RT_EIO with msg. */
static int worker_tap_open(worker_tap *t, const char *prefix, rt_run *run)
{
    char path[4200];
    rt_diag wd = {0};
    int nc = rt_run_n_columns(run), e;
    const char **cols = rt_calloc((size_t)nc, sizeof *cols);
    for (int c = 0; cols && c < nc; c++)
        cols[c] = rt_run_column(run, c);
    snprintf(path, sizeof path, "%s.run", prefix);
    int rc = cols ? rt_runfile_create(path, cols, nc, &t->w, &wd) : RT_ENOMEM;
    rt_free(cols);
    if (rc) return snprintf(t->msg, sizeof t->msg, "%s", wd.msg), rc == RT_ENOMEM ? rc : RT_EIO;
    snprintf(path, sizeof path, "%s.jsonl", prefix);
    rc = mag_export_stream_open(path, run, &t->x, &e);
    if (rc) {
        rt_runfile_close(t->w, &wd);
        t->w = NULL;
        snprintf(t->msg, sizeof t->msg, "cannot write '%s': %s", path, strerror(e));
        return rc == MAG_ENOMEM ? RT_ENOMEM : RT_EIO;
    }
    return 0;
}

/* Closes both; 0, or -1 with msg (the first write error). */
static int worker_tap_close(worker_tap *t)
{
    rt_diag wd = {0};
    int e, bad = 0;
    if (t->w && rt_runfile_close(t->w, &wd)) bad = 1, snprintf(t->msg, sizeof t->msg, "%s", wd.msg);
    if (t->x && mag_export_stream_close(t->x, &e) && !bad)
        bad = 1, snprintf(t->msg, sizeof t->msg, "cannot write the run's JSONL: %s", strerror(e));
    t->w = NULL, t->x = NULL;
    return bad ? -1 : 0;
}

/* Trains the points with a run (unless none has steps and the record says so): 0 with
 * *interrupted set, or MAG_ENOMEM. */
static int train(mag_train_cellctx *t, const mag_trainer_rec *rec, mag_train_point *const *pp,
                 size_t np, long max_steps, const rt_executor *ex, const cJSON *meta,
                 int *interrupted, mag_diag *d)
{
    *interrupted = 0;
    if ((rec->flags & MAG_TRAIN_IDLE_NO_CHART) && max_steps <= 0) return 0;
    char title[400];
    mag_bridge_opts o;
    memset(&o, 0, sizeof o);
    rec->chart(t, pp, np, &o, title, sizeof title);
    mag_bridge_run *br = rt_calloc(np, sizeof *br);
    size_t nb = 0;
    for (size_t i = 0; br && i < np; i++) {
        mag_train_point *p = pp[i];
        if (!p->run) continue;
        br[nb++] = (mag_bridge_run){.run = p->run,
                                    .label = p->label,
                                    .fn = rec->job,
                                    .arg = p,
                                    .plain = &p->job,
                                    .steps = p->steps};
    }
    /* a worker's point streams its run as it trains: DIR/point-I.run, which the kernel
       follows (mag_remote.h), and DIR/point-I.jsonl, %export's JSONL */
    const char *stream = mag_session_worker_stream(t->ctx->session);
    worker_tap tap = {0};
    if (br && stream && nb == 1) {
        int wrc = worker_tap_open(&tap, stream, br[0].run);
        if (wrc) {
            rt_free(br);
            return wrc == RT_ENOMEM
                       ? mag_err_nomem(d)
                       : mag_err(t->ctx, d, MAG_ERUNTIME, t->cell->name_pos, "%s", tap.msg);
        }
        o.on_event = worker_tap_event;
        o.user = &tap;
    }
    int rc = MAG_BRIDGE_ENOMEM;
    if (br) {
        o.threads = mag_session_threads(t->ctx->session);
        o.ex = ex;
        o.metadata = meta;
        o.execution_count = t->ctx->execution_count;
        mag_bridge_stats st;
        rc = mag_bridge_train(t->ctx->out, &o, br, (int)nb, &st);
        *interrupted = st.interrupted;
    }
    rt_free(br);
    if (worker_tap_close(&tap) && !rc)
        return mag_err(t->ctx, d, MAG_ERUNTIME, t->cell->name_pos, "%s", tap.msg);
    return rc ? mag_err_nomem(d) : 0;
}

/* 1 if something finished holds name: a finished run, or a policy without an unfinished
 * run of that name (loaded, copied, or trained to the end). */
int mag_train_holds_finished(const mag_session *s, const char *name)
{
    const rt_run *r = mag_session_get(s, MAG_RUN, name);
    if (r) return rt_run_status_of(r, NULL, NULL, 0) == RT_RUN_FINISHED;
    return mag_session_get(s, MAG_POLICY, name) != NULL;
}

/* Stores every run and the policies of the points that did not fail; the ending.  A
 * failing cell changes nothing finished (issue 12 B1): a point that failed or was
 * interrupted is stored under its name only if nothing finished holds it, else under
 * NAME~failed / NAME~interrupted, with a note. */
static int store(mag_train_cellctx *t, const mag_trainer_rec *rec, void *pts, size_t lo, size_t hi,
                 long max_steps, int interrupted, mag_diag *d)
{
    mag_train_store ts;
    mag_train_store_init(&ts);
    size_t np = hi - lo;
    for (size_t i = lo; i < hi; i++) {
        mag_train_point *p = PT(pts, rec, i);
        if (p->pending) { /* %collect: not ended yet, neither stored nor reported */
            np--;
            continue;
        }
        long step;
        char msg[256];
        rt_run_status stt = mag_train_status(p->run, &step, msg, sizeof msg);
        if (stt == RT_RUN_FAILED && !msg[0] && rec->failed_msg) rec->failed_msg(p, msg, sizeof msg);
        char summ[MAG_TRAIN_SUMMARY];
        size_t cap =
            rec->summary_cap && rec->summary_cap < sizeof summ ? rec->summary_cap : sizeof summ;
        rec->summary(t, p, stt, step, summ, cap);
        const char *as = p->name;
        char alt[MAG_TRAIN_NAME + 16];
        if (stt != RT_RUN_FINISHED && mag_train_holds_finished(t->ctx->session, p->name)) {
            const char *how = stt == RT_RUN_FAILED ? "failed" : "interrupted";
            snprintf(alt, sizeof alt, "%s~%s", p->name, how);
            krn_out_printf(t->ctx->out, KRN_STDOUT,
                           "'%s' holds a finished run: this %s one is kept as '%s'\n", p->name, how,
                           alt);
            as = alt;
        }
        mag_train_note(&ts, as, stt, step, msg);
        if (p->run) {
            mag_train_put_run(t->ctx, as, p->run, summ, t->task_name);
            p->run = NULL;
        }
        if (stt != RT_RUN_FAILED && p->pol) {
            mag_train_put_policy(t->ctx, as, p->pol, summ, t->task_name,
                                 !(rec->flags & MAG_TRAIN_QUIET_POLICY));
            p->pol = NULL;
            mag_lineage_note(t->ctx, rec->magic, 1, as, t->cfg, i); /* what %save records */
        }
    }
    return mag_train_end(t->ctx, t->cell, &ts, interrupted, max_steps, t->base, np, d);
}

int mag_train_cell(mag_ctx *ctx, const mag_cell *cell, const mag_config *cfg,
                   const mag_trainer_rec *rec, mag_diag *d)
{
    mag_train_cellctx t = {.ctx = ctx, .cell = cell, .cfg = cfg};
    int rc = mag_train_name(ctx, cell, rec->magic, &t.base, d);
    if (rc) return rc;
    t.state = rt_calloc(1, rec->state_size);
    if (!t.state) return mag_err_nomem(d);
    mag_config *own = NULL;
    if (rec->validate) {
        rc = rec->validate(&t, &own, d);
        t.cfg = own;
    }
    /* %%rl base with from = base would overwrite its own source (issue 12 B3) */
    if (!rc && t.cfg && mag_train_given(t.cfg, "from")) {
        const mag_value *f = mag_config_get(t.cfg, "from", 0);
        if (f && f->str && !strcmp(f->str, t.base))
            rc = mag_err(ctx, d, MAG_EVALUE, mag_train_value_pos(cell, "from"),
                         "%%%%%s %s would replace its own source (from = %s); give the result "
                         "a new name, e.g. %%%%%s %s2",
                         rec->magic, t.base, f->str, rec->magic, t.base);
    }
    size_t np = t.cfg ? t.cfg->npoints : 0;
    uint64_t want = 0;
    long only = mag_session_worker(ctx->session, &want);
    if (!rc && only >= 0 && (size_t)only >= np)
        rc = mag_err(ctx, d, MAG_EVALUE, cell->name_pos,
                     "point %ld is out of range: %%%%%s %s has %zu point%s", only, rec->magic,
                     t.base, np, np == 1 ? "" : "s");
    size_t lo = only >= 0 ? (size_t)only : 0, hi = only >= 0 ? (size_t)only + 1 : np;
    t.pt0 = lo;
    if (!rc) rc = rec->resolve(&t, d);
    if (!rc) rc = mag_train_check_points(ctx, cell, np, d);
    if (!rc && rec->check) rc = rec->check(&t, d);
    void *pts = NULL;
    mag_train_point **pp = NULL; /* the points as the hooks see them */
    if (!rc) {
        pts = rt_calloc(np, rec->point_size);
        pp = rt_calloc(np ? np : 1, sizeof *pp);
        if (!pts || !pp) rc = mag_err_nomem(d);
    }
    long max_steps = 0;
    blobs bs;
    bs.n = 0;
    snprintf(bs.session, sizeof bs.session, "seed = %llu\n",
             (unsigned long long)mag_session_seed(ctx->session));
    /* every point built and checked before anything trains */
    for (size_t i = lo; !rc && i < hi; i++) {
        mag_train_point *p = pp[i - lo] = PT(pts, rec, i);
        mag_train_point_names(t.cfg, t.base, i, p->name, p->label);
        p->job.trainer = rec->trainer;
        p->job.name = p->name;
        if (point_cfg(t.cfg, i, p) || point_inputs(&t, rec, i, p, &bs)) {
            rc = mag_err_nomem(d);
            break;
        }
        rc = rec->point(&t, p, i, d);
        if (!rc && p->run &&
            mag_train_run_config_omit(p->run, t.cfg, i, rec->omit_keys ? rec->omit_keys(&t) : NULL))
            rc = mag_err_nomem(d);
        if (!rc && only >= 0) rc = mag_jobs_check_rebuilt(ctx, cell, "worker", &p->job, want, d);
        if (p->steps > max_steps) max_steps = p->steps;
    }
    int executor = only < 0 ? mag_session_executor(ctx->session, NULL) : MAG_EXEC_THREADS;
    int interrupted = 0, write_jobs = executor != MAG_EXEC_THREADS;
    int mpi = executor == MAG_EXEC_MPI; /* jobs written, trained by mpirun's ranks, followed */
    /* under slurm: written, submitted and, with follow=true, followed like mpi */
    int collect = executor == MAG_EXEC_COLLECT; /* %collect: the results already in dir */
    char dir[4096] = "";
    if (!rc && write_jobs && !collect)
        rc = mag_jobs_write(ctx, cell, rec->magic, t.base, pp, np, dir, sizeof dir, d);
    mag_remote *remote = NULL;
    if (!rc && collect) {
        const char *cdir;
        mag_session_executor(ctx->session, &cdir);
        snprintf(dir, sizeof dir, "%s", cdir);
        rc = mag_jobs_check_dir(ctx, cell, dir, pp, np, d);
        if (!rc) rc = mag_remote_collect(ctx, dir, pp, np, &remote, d);
    }
    if (!rc && mpi) rc = mag_remote_start_mpi(ctx, cell, dir, pp, np, &remote, d);
    char jobid[64] = "";
    if (!rc && executor == MAG_EXEC_SLURM) /* written and maybe submitted, maybe followed */
        rc = mag_jobs_slurm(ctx, cell, rec->magic, t.base, dir, np, jobid, sizeof jobid, d);
    if (!rc && jobid[0] && mag_session_slurm_follow(ctx->session))
        rc = mag_remote_follow_slurm(ctx, dir, jobid, pp, np, &remote, d);
    rt_executor rex;
    if (remote) rex = mag_remote_executor(remote);
    /* where the points ran, in the chart's metadata (a notebook keeps it) */
    cJSON *meta = remote && !collect ? mag_jobs_executor_meta(ctx->session, dir) : NULL;
    if (!rc && (!write_jobs || remote))
        rc = train(&t, rec, pp, hi - lo, max_steps, remote ? &rex : NULL, meta, &interrupted, d);
    cJSON_Delete(meta);
    if (remote) interrupted |= mag_remote_policies(remote);
    if (!rc && (!write_jobs || remote)) {
        rc = store(&t, rec, pts, lo, hi, max_steps, interrupted, d);
        if (collect && rc == MAG_ERUNTIME) { /* failed points: %collect lists them */
            memset(d, 0, sizeof *d);
            rc = 0;
        }
    }
    mag_remote_free(remote);
    free_points(rec, pts, np);
    blobs_free(&bs);
    rt_free(pp);
    if (rec->state_free) rec->state_free(t.state);
    rt_free(t.state);
    mag_config_free(own);
    return rc;
}
