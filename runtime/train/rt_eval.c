/* rt_eval.c: evaluators (fixed held-out prompts, greedy and avg@k accuracy, per-domain
 * accuracy, feature means) and the exact per-state KL between two policies over states
 * sampled from the first.  Everything is serial and fixed-order; sampled sequences draw
 * from their own streams (see rt_eval.h).  Leaves out: training-split evaluation. */
#include "rt_eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_fuzz.h"

struct rt_eval {
    const rt_task *task;
    const rt_model_ops *ops; /* the architecture of the models evaluated */
    int vocab, arch[RT_MODEL_MAX_KEYS];
    rt_eval_config cfg;
    rt_rng rng;
    int n;                   /* fixed prompts */
    rt_task_sample *samples; /* (n) */
    int P, T, nf, i_correct;
    int chunk;           /* sequences per generate call (<= ws rows) */
    rt_model_ws *ws;     /* rows = chunk */
    rt_task_sample *rep; /* (chunk) samples of the sequences of a chunk */
    int *prompts;        /* (chunk, P) */
    int *tokens;         /* (chunk, T) */
    double *feat;        /* (chunk, nf) */
    int *hits;           /* (n) correct samples per prompt (the last sampled pass) */
    int *ghits;          /* (n) 1 if the greedy answer to prompt i is correct */
    int ran;             /* a greedy pass has run (ghits valid); 2: a sampled one too */
};

static int fail(rt_diag *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rt_diag *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_diag_vset(d, code, fmt, ap);
    va_end(ap);
    return code;
}

static void ok(rt_diag *d)
{
    if (d) {
        d->code = 0;
        d->msg[0] = '\0';
    }
}

void rt_eval_config_init(rt_eval_config *c)
{
    c->n_prompts = 1024;
    c->k = 8;
    c->temperature = 1.0f;
    c->chunk = 256;
}

void rt_eval_free(rt_eval *ev)
{
    if (!ev) return;
    rt_free(ev->samples);
    rt_model_ws_free(ev->ws);
    rt_free(ev->rep);
    rt_free(ev->prompts);
    rt_free(ev->tokens);
    rt_free(ev->feat);
    rt_free(ev->hits);
    rt_free(ev->ghits);
    rt_free(ev);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Fills out[0 .. min(count, want)) from the enumerated held-out split of src (count
 * prompts): all of it if count <= want, else a fixed sample of want distinct prompts
 * (shuffle from pick, first want kept, in enumeration order).  d >= 0: src is domain d
 * of ev->task and each sample is re-encoded as a prompt of the mix. */
static int take_enumerated(const rt_eval *ev, const rt_task *src, int d, uint64_t count, int want,
                           rt_rng *pick, rt_task_sample *out)
{
    int n = count <= (uint64_t)want ? (int)count : want;
    int *idx = NULL;
    if (count > (uint64_t)want) {
        idx = rt_malloc(sizeof(int) * (size_t)count);
        if (!idx) return RT_ENOMEM;
        for (uint64_t i = 0; i < count; i++)
            idx[i] = (int)i;
        rt_rng_shuffle(pick, idx, (int)count);
        qsort(idx, (size_t)want, sizeof(int), cmp_int);
    }
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        uint64_t at = idx ? (uint64_t)idx[i] : (uint64_t)i;
        if (rt_task_sample_at(src, RT_TASK_HELDOUT, at, &out[i]))
            rc = RT_EINVAL;
        else if (d >= 0 && rt_task_sample_from_id(ev->task, d, out[i].id, &out[i]))
            rc = RT_EINVAL;
    }
    rt_free(idx);
    return rc;
}

/* A mix with a domain that is not enumerated: each domain in order, with its quota
 * (see rt_eval.h), prompts re-encoded as prompts of the mix. */
static int pick_per_domain(rt_eval *ev, int want, const rt_rng *pick)
{
    int D = rt_task_n_domains(ev->task), take[RT_TASK_MAX_DOMAINS];
    uint64_t count[RT_TASK_MAX_DOMAINS];
    ev->n = 0;
    for (int d = 0; d < D; d++) {
        int quota = want / D + (d < want % D);
        count[d] = rt_task_split_count(rt_task_domain(ev->task, d), RT_TASK_HELDOUT);
        take[d] = count[d] > 0 && count[d] < (uint64_t)quota ? (int)count[d] : quota;
        ev->n += take[d];
    }
    ev->samples = rt_calloc((size_t)ev->n, sizeof *ev->samples);
    if (!ev->samples) return RT_ENOMEM;
    rt_task_sample *at = ev->samples;
    for (int d = 0; d < D; at += take[d], d++) {
        const rt_task *leaf = rt_task_domain(ev->task, d);
        rt_rng dr = rt_rng_split(pick, (uint64_t)d);
        if (count[d] > 0) {
            int rc = take_enumerated(ev, leaf, d, count[d], take[d], &dr, at);
            if (rc) return rc;
            continue;
        }
        for (int i = 0; i < take[d]; i++) {
            rt_rng r = rt_rng_split(&dr, (uint64_t)i);
            rt_task_sample s;
            rt_task_sample_prompt(leaf, &r, RT_TASK_HELDOUT, &s);
            if (rt_task_sample_from_id(ev->task, d, s.id, &at[i])) return RT_EINVAL;
        }
    }
    return 0;
}

/* Fills ev->samples with the fixed held-out prompts (see rt_eval.h). */
static int pick_prompts(rt_eval *ev, int want)
{
    uint64_t count = rt_task_split_count(ev->task, RT_TASK_HELDOUT);
    rt_rng pick = rt_rng_split(&ev->rng, 0);
    if (count == 0 && rt_task_n_domains(ev->task) > 1) return pick_per_domain(ev, want, &pick);
    if (count > 0 && count <= (uint64_t)1 << 30) {
        ev->n = count <= (uint64_t)want ? (int)count : want;
        ev->samples = rt_calloc((size_t)ev->n, sizeof *ev->samples);
        if (!ev->samples) return RT_ENOMEM;
        return take_enumerated(ev, ev->task, -1, count, want, &pick, ev->samples);
    }
    ev->n = want;
    ev->samples = rt_calloc((size_t)want, sizeof *ev->samples);
    if (!ev->samples) return RT_ENOMEM;
    rt_task_sample_batch(ev->task, &pick, 0, RT_TASK_HELDOUT, want, ev->samples, NULL);
    return 0;
}

int rt_eval_create(rt_eval **out, const rt_task *task, const rt_model *arch,
                   const rt_eval_config *cfg, const rt_rng *rng, rt_diag *diag)
{
    if (out) *out = NULL;
    if (!out || !task || !arch || !rng) return fail(diag, RT_EINVAL, "eval: missing argument");
    rt_eval_config c;
    if (cfg)
        c = *cfg;
    else
        rt_eval_config_init(&c);
    if (c.n_prompts < 1) return fail(diag, RT_EINVAL, "eval: n_prompts must be >= 1");
    if (c.k < 0) return fail(diag, RT_EINVAL, "eval: k must be >= 0");
    if (c.k > 0 && !(c.temperature > 0.0f))
        return fail(diag, RT_EINVAL, "eval: temperature must be > 0");
    if (c.chunk < 1) return fail(diag, RT_EINVAL, "eval: chunk must be >= 1");
    c.n_prompts = RT_FUZZ_CAP(c.n_prompts, RT_FUZZ_MAX_PROMPTS); /* fuzz builds only */
    c.k = RT_FUZZ_CAP(c.k, RT_FUZZ_MAX_SAMPLES);
    if (arch->vocab != rt_task_vocab_size(task))
        return fail(diag, RT_EINVAL, "eval: policy vocabulary %d, task vocabulary %d", arch->vocab,
                    rt_task_vocab_size(task));
    if (c.k > 0 && (long)c.n_prompts * c.k > 1L << 30)
        return fail(diag, RT_EINVAL, "eval: n_prompts * k too large");

    rt_eval *ev = rt_calloc(1, sizeof *ev);
    if (!ev) return fail(diag, RT_ENOMEM, "eval: out of memory");
    ev->task = task;
    ev->ops = arch->ops;
    ev->vocab = arch->vocab;
    rt_model_config(arch, ev->arch);
    ev->cfg = c;
    ev->rng = *rng;
    ev->P = rt_task_prompt_len(task);
    ev->T = rt_task_answer_max(task);
    ev->nf = rt_task_n_features(task);
    ev->i_correct = rt_task_feature_index(task, "correct");
    int rc = pick_prompts(ev, c.n_prompts);
    if (rc) {
        rt_eval_free(ev);
        return rc == RT_ENOMEM ? fail(diag, rc, "eval: out of memory")
                               : fail(diag, rc, "eval: held-out split unavailable");
    }
    long seqs = (long)ev->n * (c.k > 0 ? c.k : 1);
    ev->chunk = (int)(seqs < c.chunk ? seqs : c.chunk);
    size_t ch = (size_t)ev->chunk;
    ev->rep = rt_calloc(ch, sizeof *ev->rep);
    ev->prompts = rt_malloc(sizeof(int) * ch * (size_t)ev->P);
    ev->tokens = rt_malloc(sizeof(int) * ch * (size_t)ev->T);
    ev->feat = rt_malloc(sizeof(double) * ch * (size_t)ev->nf);
    ev->hits = rt_calloc((size_t)ev->n, sizeof(int));
    ev->ghits = rt_calloc((size_t)ev->n, sizeof(int));
    if (!ev->rep || !ev->prompts || !ev->tokens || !ev->feat || !ev->hits || !ev->ghits ||
        rt_model_ws_create(&ev->ws, arch, ev->chunk, NULL)) {
        rt_eval_free(ev);
        return fail(diag, RT_ENOMEM, "eval: out of memory");
    }
    *out = ev;
    ok(diag);
    return 0;
}

int rt_eval_n_prompts(const rt_eval *ev)
{
    return ev->n;
}

const rt_task_sample *rt_eval_prompt(const rt_eval *ev, int i)
{
    return i >= 0 && i < ev->n ? &ev->samples[i] : NULL;
}

const int *rt_eval_hits_greedy(const rt_eval *ev)
{
    return ev->ran >= 1 ? ev->ghits : NULL;
}

const int *rt_eval_hits_sampled(const rt_eval *ev)
{
    return ev->ran == 2 ? ev->hits : NULL;
}

double rt_eval_pass_at(int k, int c, int j)
{
    if (j < 1 || j > k || c < 0 || c > k) return NAN;
    if (k - c < j) return 1.0;
    double q = 1.0;
    for (int t = 0; t < j; t++)
        q *= (double)(k - c - t) / (double)(k - t);
    return 1.0 - q;
}

/* Generates and scores sequences [0, n * per) where sequence r is prompt r / per, at
 * temperature temp (<= 0: greedy); sets hits[prompt] to its number of correct
 * sequences, adds each sequence's features to fsum (nf) and its correct flag to
 * dsum[domain]. */
static int score(rt_eval *ev, const rt_model *p, int per, float temp, int *hits, double *fsum,
                 double *dsum, rt_diag *diag)
{
    int P = ev->P, T = ev->T, nf = ev->nf;
    rt_rng gen = rt_rng_split(&ev->rng, 1);
    long total = (long)ev->n * per;
    memset(hits, 0, sizeof(int) * (size_t)ev->n);
    for (long r0 = 0; r0 < total; r0 += ev->chunk) {
        int B = (int)(total - r0 < ev->chunk ? total - r0 : ev->chunk);
        for (int b = 0; b < B; b++) {
            ev->rep[b] = ev->samples[(r0 + b) / per];
            memcpy(ev->prompts + (size_t)b * P, ev->rep[b].prompt, sizeof(int) * (size_t)P);
        }
        int rc = rt_model_generate(p, ev->ws, ev->prompts, B, P, T, temp, &gen, (uint64_t)r0,
                                   ev->tokens, NULL);
        if (rc)
            return fail(diag, RT_EMODEL, "eval: generation failed (policy error: %s)",
                        rt_diag_code_name(rc));
        rt_task_features_batch(ev->task, ev->rep, ev->tokens, B, T, ev->feat);
        for (int b = 0; b < B; b++) {
            const double *f = ev->feat + (size_t)b * nf;
            for (int i = 0; i < nf; i++)
                fsum[i] += f[i];
            int hit = f[ev->i_correct] > 0.5;
            hits[(r0 + b) / per] += hit;
            dsum[ev->rep[b].domain] += hit;
        }
    }
    return 0;
}

static int check_policy(const rt_eval *ev, const rt_model *p, rt_diag *diag)
{
    int c[RT_MODEL_MAX_KEYS];
    if (p) rt_model_config(p, c);
    if (!p || p->ops != ev->ops || p->vocab != ev->vocab ||
        memcmp(c, ev->arch, sizeof(int) * (size_t)p->ops->nkeys))
        return fail(diag, RT_EINVAL, "eval: policy architecture differs from the evaluator's");
    return 0;
}

int rt_eval_greedy(rt_eval *ev, const rt_model *p, double *accuracy, rt_diag *diag)
{
    int rc = check_policy(ev, p, diag);
    if (rc) return rc;
    double fsum[RT_TASK_MAX_FEATURES] = {0}, dsum[RT_TASK_MAX_DOMAINS] = {0};
    ev->ran = 0;
    rc = score(ev, p, 1, 0.0f, ev->ghits, fsum, dsum, diag);
    if (rc) return rc;
    ev->ran = 1;
    *accuracy = fsum[ev->i_correct] / ev->n;
    ok(diag);
    return 0;
}

int rt_eval_run(rt_eval *ev, const rt_model *p, rt_eval_result *out, rt_diag *diag)
{
    int rc = check_policy(ev, p, diag);
    if (rc) return rc;
    int nd = rt_task_n_domains(ev->task), nf = ev->nf, k = ev->cfg.k, n = ev->n;
    memset(out, 0, sizeof *out);
    out->n_prompts = n;
    out->k = k;
    out->n_domains = nd;
    out->n_features = nf;
    for (int i = 0; i < n; i++)
        out->domain_n[ev->samples[i].domain]++;

    double fsum[RT_TASK_MAX_FEATURES] = {0}, dsum[RT_TASK_MAX_DOMAINS] = {0};
    ev->ran = 0;
    rc = score(ev, p, 1, 0.0f, ev->ghits, fsum, dsum, diag);
    if (rc) return rc;
    ev->ran = 1;
    out->greedy = fsum[ev->i_correct] / n;
    for (int i = 0; i < nf; i++)
        out->feat_greedy[i] = fsum[i] / n;
    for (int d = 0; d < nd; d++)
        out->domain_greedy[d] = out->domain_n[d] ? dsum[d] / out->domain_n[d] : NAN;

    if (k == 0) {
        out->avg_k = out->pass_k = NAN;
        for (int i = 0; i < nf; i++)
            out->feat_sampled[i] = NAN;
        for (int d = 0; d < nd; d++)
            out->domain_avg_k[d] = out->domain_pass_k[d] = NAN;
        ok(diag);
        return 0;
    }
    memset(fsum, 0, sizeof fsum);
    memset(dsum, 0, sizeof dsum);
    rc = score(ev, p, k, ev->cfg.temperature, ev->hits, fsum, dsum, diag);
    if (rc) return rc;
    ev->ran = 2;
    double nk = (double)n * k;
    out->avg_k = fsum[ev->i_correct] / nk;
    long any = 0, dany[RT_TASK_MAX_DOMAINS] = {0};
    for (int i = 0; i < n; i++) {
        any += ev->hits[i] > 0;
        dany[ev->samples[i].domain] += ev->hits[i] > 0;
    }
    out->pass_k = (double)any / n;
    for (int i = 0; i < nf; i++)
        out->feat_sampled[i] = fsum[i] / nk;
    for (int d = 0; d < nd; d++) {
        out->domain_avg_k[d] = out->domain_n[d] ? dsum[d] / ((double)out->domain_n[d] * k) : NAN;
        out->domain_pass_k[d] = out->domain_n[d] ? (double)dany[d] / out->domain_n[d] : NAN;
    }
    ok(diag);
    return 0;
}

/* ---- KL between two policies over states sampled from the first ------------------- */

int rt_eval_kl(const rt_model *p, const rt_model *q, const rt_task *task, rt_task_split split,
               int n_prompts, const rt_rng *rng, rt_eval_kl_result *out, rt_diag *diag)
{
    if (!p || !q || !task || !rng || !out) return fail(diag, RT_EINVAL, "kl: missing argument");
    if (n_prompts < 1) return fail(diag, RT_EINVAL, "kl: n_prompts must be >= 1");
    n_prompts = RT_FUZZ_CAP(n_prompts, RT_FUZZ_MAX_PROMPTS); /* fuzz builds only */
    if (p->vocab != rt_task_vocab_size(task) || q->vocab != p->vocab)
        return fail(diag, RT_EINVAL, "kl: policies need the task's vocabulary");
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    int B = n_prompts < 256 ? n_prompts : 256; /* prompts per chunk */
    int rows = B * T;                          /* states per chunk at most */
    rt_model_ws *wsp = NULL, *wsq = NULL;
    rt_task_sample *smp = rt_calloc((size_t)B, sizeof *smp);
    int *prompts = rt_malloc(sizeof(int) * (size_t)B * P);
    int *tokens = rt_malloc(sizeof(int) * (size_t)B * T);
    int *seq = rt_malloc(sizeof(int) * (size_t)B * (P + T));
    int *hi = rt_malloc(sizeof(int) * (size_t)2 * B), *lo = hi + B;
    int rc = 0;
    if (!smp || !prompts || !tokens || !seq || !hi || rt_model_ws_create(&wsp, p, rows, NULL) ||
        rt_model_ws_create(&wsq, q, rows, NULL)) {
        rc = fail(diag, RT_ENOMEM, "kl: out of memory");
        goto done;
    }
    rt_rng pick = rt_rng_split(rng, 0), gen = rt_rng_split(rng, 1);
    double skl = 0, sent = 0;
    long states = 0;
    for (int b0 = 0; b0 < n_prompts && !rc; b0 += B) {
        int nb = n_prompts - b0 < B ? n_prompts - b0 : B;
        rt_task_sample_batch(task, &pick, (uint64_t)b0, split, nb, smp, prompts);
        int prc =
            rt_model_generate(p, wsp, prompts, nb, P, T, 1.0f, &gen, (uint64_t)b0, tokens, NULL);
        int n = 0;
        for (int b = 0; b < nb && !prc; b++) { /* states up to the first EOS, included */
            int *s = seq + (size_t)b * (P + T);
            memcpy(s, prompts + (size_t)b * P, sizeof(int) * (size_t)P);
            memcpy(s + P, tokens + (size_t)b * T, sizeof(int) * (size_t)T);
            lo[b] = P, hi[b] = P + T;
            for (int t = 0; t < T; t++)
                if (s[P + t] == RT_TOK_EOS) {
                    hi[b] = P + t + 1;
                    break;
                }
            n += hi[b] - lo[b];
        }
        double kl = 0, ent = 0;
        rt_model_batch states_b = {seq, nb, P + T, P, lo, hi};
        if (!prc) prc = rt_model_kl(p, wsp, q, wsq, &states_b, &kl, &ent);
        if (prc) {
            rc = fail(diag, RT_EMODEL, "kl: policy error: %s", rt_diag_code_name(prc));
            break;
        }
        skl += kl * n;
        sent += ent * n;
        states += n;
    }
    if (!rc) {
        out->n_prompts = n_prompts;
        out->n_states = states;
        out->kl = states && !(skl < 0) ? skl / states : 0.0; /* >= 0: float noise below is 0 */
        out->entropy = states ? sent / states : 0.0;
        ok(diag);
    }
done:
    rt_model_ws_free(wsp);
    rt_model_ws_free(wsq);
    rt_free(smp);
    rt_free(prompts);
    rt_free(tokens);
    rt_free(seq);
    rt_free(hi);
    return rc;
}
