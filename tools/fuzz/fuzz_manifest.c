/* fuzz_manifest: the libFuzzer target of a job directory's untrusted bytes: the manifest
 * (rt_manifest_point and the manifest's strict base64, runtime/train/rt_manifest.h) and an
 * Adam state (mag_jobs_adam_unpack, magics/mag_jobs.h: a job input of kind adam, or a
 * DIR/point-I.adam file that %executor mpi reads back).
 *
 * Input: a flag byte, then the manifest, then optionally 0x1e and an Adam state.
 *   flag bit 0: repair the manifest before parsing it, so that mutations of a job get past
 *     the hashes: each line whose JOB decodes gets its job's hash line fixed (when the job
 *     is refused for it alone), its HASH set to its job's hash and its POINT to its place,
 *     and the header's count set to the lines that follow (when the header starts with
 *     "rlhf-manifest 1 ").  Without it the bytes are parsed as they are.
 * Invariants, besides no crash, hang or read outside the bytes (ASan/UBSan):
 *   - every point 0..min(points, 64)-1, and -1 and `points` (out of range), gives 0,
 *     RT_EFORMAT, RT_ENOTFOUND or RT_ENOMEM; the header's count (*npoints) is the same for
 *     every point; RT_ENOTFOUND exactly for a point out of range of a good header;
 *     RT_EFORMAT names a line of the text ("manifest: line L: ...", d.line = L, L at most
 *     the lines of the text + 1);
 *   - an accepted point's job packs to the bytes its line carries in base64, under the
 *     line's hash; a manifest whose points (at most 64) are all accepted is what
 *     rt_manifest_write writes for those jobs, byte for byte (the canonical form);
 *   - the base64 of every line's third field, and of the whole text, decodes to the same
 *     size with and without a buffer, and when it decodes, encodes back to itself;
 *   - an Adam state that unpacks (the manifest's accepted inputs of kind adam, and the
 *     bytes after 0x1e) unpacks into moments of its size with a step count in [0,
 *     MAG_JOBS_ADAM_MAX_T], packs back to its bytes, and is refused for moments of another
 *     size.
 * Built and fuzzed by tools/fuzz/fuzz (target `manifest`); seeds: real job directories
 * (tools/fuzz/seeds), tests/fuzz/regress/manifest.  Dictionary: tools/fuzz/manifest.dict.
 * Replayed over tests/fuzz/regress/manifest by tests/fuzz/replay.c as an ordinary test too.
 * In `tools/fuzz/fuzz ci` it gets half the seconds of the others (fuzz-ci-share: 1/2), as
 * fuzz_job.c does: together they fuzz the job unpacker for one target's time. */
#include "fuzz_common.h"
#include "mag_jobs.h"
#include "rt_alloc.h"
#include "rt_job.h"
#include "rt_manifest.h"

#define MAX_CHECKED 64 /* points parsed one by one (each parse reads the text up to it) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the bytes of line `line` (1-based) of p[0..n), without its '\n'; 0 or -1 (no such line) */
static int line_of(const char *p, size_t n, int line, const char **l, size_t *len)
{
    size_t at = 0;
    for (int i = 1; i < line; i++) {
        const char *nl = memchr(p + at, '\n', n - at);
        if (!nl) return -1;
        at = (size_t)(nl - p) + 1;
    }
    if (at > n || (at == n && line > 1)) return -1;
    const char *nl = memchr(p + at, '\n', n - at);
    *l = p + at;
    *len = nl ? (size_t)(nl - (p + at)) : n - at;
    return 0;
}

/* strict base64: the same size with and without a buffer; canonical when it decodes */
static void check_b64(const char *s, size_t n)
{
    size_t bad1 = 0, bad2 = 0;
    long k = rt_manifest_b64_decode(s, n, NULL, &bad1);
    unsigned char *buf = malloc(n + 1);
    if (!buf) return;
    long k2 = rt_manifest_b64_decode(s, n, buf, &bad2);
    FUZZ_CHECK(k == k2, "base64 size %ld without a buffer, %ld with", k, k2);
    if (k < 0) {
        FUZZ_CHECK(bad1 == bad2 && bad1 <= n, "bad base64 at %zu / %zu of %zu", bad1, bad2, n);
    } else {
        FUZZ_CHECK((size_t)k == n / 4 * 3 - (n && s[n - 1] == '=') - (n > 1 && s[n - 2] == '='),
                   "base64 of %zu characters decoded to %ld bytes", n, k);
        rt_strbuf b;
        rt_strbuf_init(&b);
        rt_manifest_b64_encode(buf, (size_t)k, &b);
        FUZZ_CHECK(b.err || (b.len == n && (n == 0 || memcmp(b.s, s, n) == 0)),
                   "base64 of %zu characters does not encode back to itself", n);
        rt_strbuf_free(&b);
    }
    free(buf);
}

/* An Adam state: unpacks into moments of its size and packs back to its bytes, and is
 * refused for moments of another size. */
static void check_adam(const void *p, size_t n)
{
    char name[256], err[200], name2[256];
    err[0] = '\0';
    int rc = mag_jobs_adam_unpack(p, n, name, sizeof name, NULL, err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == -1, "adam unpack returned %d", rc);
    if (rc) {
        FUZZ_CHECK(err[0] && fuzz_cstr_ok(err, sizeof err), "adam refused without a message");
        return;
    }
    FUZZ_CHECK(fuzz_cstr_ok(name, sizeof name), "adam name");
    /* the floats follow the four header lines */
    const char *s = p;
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        const char *nl = memchr(s + at, '\n', n - at);
        FUZZ_CHECK(nl, "an accepted Adam state without its four header lines");
        at = (size_t)(nl - s) + 1;
    }
    size_t nf = (n - at) / (2 * sizeof(float));
    float *m = malloc(nf * sizeof(float) + 1), *v = malloc(nf * sizeof(float) + 1);
    rt_params prm = {.m = m, .v = v, .n = nf, .t = -1};
    if (m && v) {
        rc = mag_jobs_adam_unpack(p, n, name2, sizeof name2, &prm, err, sizeof err);
        FUZZ_CHECK(rc == 0 && strcmp(name, name2) == 0, "adam unpack into %zu moments: %s", nf,
                   err);
        FUZZ_CHECK(prm.t >= 0 && prm.t <= MAG_JOBS_ADAM_MAX_T, "adam step count %ld", prm.t);
        void *back = NULL;
        size_t bn = 0;
        if (mag_jobs_adam_pack(name, &prm, &back, &bn) == 0) {
            FUZZ_CHECK(bn == n && memcmp(back, p, n) == 0,
                       "adam state '%s' (%zu moments) does not pack back to its %zu bytes", name,
                       nf, n);
            rt_free(back);
        }
        prm.n = nf + 1;
        FUZZ_CHECK(mag_jobs_adam_unpack(p, n, name2, sizeof name2, &prm, err, sizeof err) == -1,
                   "adam state of %zu moments unpacked into %zu", nf, nf + 1);
    }
    free(m);
    free(v);
}

/* Parses every point (up to MAX_CHECKED) of manifest p[0..n) and checks the invariants. */
static void check_manifest(const char *p, size_t n)
{
    int lines = 1; /* lines of the text (a last one without '\n' counts) */
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    int np = -1, first = 1;
    rt_job_owned jobs[MAX_CHECKED];
    int accepted = 0;
    for (int pt = 0; pt < MAX_CHECKED + 2; pt++) {
        int point = pt; /* 0.., then -1 and npoints (out of range) */
        if (pt == MAX_CHECKED) point = -1;
        if (pt == MAX_CHECKED + 1) point = np;
        if (pt >= 1 && pt < MAX_CHECKED && pt >= np) continue;
        rt_job_owned o;
        rt_diag d;
        memset(&d, 0, sizeof d);
        int got = -2;
        int rc = rt_manifest_point(p, n, point, &got, &o, &d);
        FUZZ_CHECK(rc == 0 || rc == RT_EFORMAT || rc == RT_ENOTFOUND || rc == RT_ENOMEM,
                   "point %d: rc %d", point, rc);
        FUZZ_CHECK(got == -1 || (got >= 1 && got <= RT_MANIFEST_MAX_POINTS), "npoints %d", got);
        if (first) np = got, first = 0;
        FUZZ_CHECK(got == np, "point %d: npoints %d, point 0: %d", point, got, np);
        int in_range = point >= 0 && point < np;
        if (np >= 1)
            FUZZ_CHECK((rc == RT_ENOTFOUND) == !in_range, "point %d of %d: rc %d", point, np, rc);
        if (np < 1) FUZZ_CHECK(rc == RT_EFORMAT || rc == RT_ENOMEM, "bad header: rc %d", rc);
        if (rc == RT_ENOTFOUND)
            FUZZ_CHECK(strncmp(d.msg, "manifest: point ", 16) == 0, "%s", d.msg);
        if (rc == RT_EFORMAT) {
            char want[40];
            snprintf(want, sizeof want, "manifest: line %d: ", d.line);
            FUZZ_CHECK(d.line >= 1 && d.line <= lines + 1 && !strncmp(d.msg, want, strlen(want)),
                       "point %d: line %d of %d: %s", point, d.line, lines, d.msg);
        }
        if (rc) continue;
        /* the line's fields: POINT HASH JOB */
        const char *l;
        size_t len;
        FUZZ_CHECK(line_of(p, n, point + 2, &l, &len) == 0, "accepted point %d has no line", point);
        char head[40];
        char hex[17];
        rt_job_hash_hex(o.hash, hex);
        int hl = snprintf(head, sizeof head, "%d %s ", point, hex);
        FUZZ_CHECK(len >= (size_t)hl && memcmp(l, head, (size_t)hl) == 0,
                   "point %d's line does not start '%s'", point, head);
        rt_strbuf b, e;
        rt_strbuf_init(&b);
        rt_strbuf_init(&e);
        uint64_t h = 0;
        FUZZ_CHECK(rt_job_pack(&o.job, &b, NULL) == 0 || b.err, "accepted job does not pack");
        FUZZ_CHECK(rt_job_hash(&o.job, &h, NULL) == 0 && h == o.hash, "point %d: hash", point);
        rt_manifest_b64_encode(b.s, b.len, &e);
        FUZZ_CHECK(b.err || e.err ||
                       (e.len == len - (size_t)hl && (!e.len || !memcmp(e.s, l + hl, e.len))),
                   "point %d's job does not pack to its line's bytes", point);
        rt_strbuf_free(&b);
        rt_strbuf_free(&e);
        for (int i = 0; i < o.job.nin; i++)
            if (!strcmp(o.job.in[i].kind, "adam")) check_adam(o.job.in[i].data, o.job.in[i].size);
        if (in_range && point < MAX_CHECKED && point == accepted) {
            jobs[accepted++] = o;
            continue;
        }
        rt_job_owned_free(&o);
    }
    int npts = np;
    if (npts >= 1 && npts <= MAX_CHECKED && accepted == npts) { /* the canonical form */
        rt_job js[MAX_CHECKED];
        for (int i = 0; i < npts; i++)
            js[i] = jobs[i].job;
        rt_strbuf b;
        rt_strbuf_init(&b);
        int rc = rt_manifest_write(js, npts, &b, NULL);
        FUZZ_CHECK(rc == RT_ENOMEM || (rc == 0 && b.len == n && memcmp(b.s, p, n) == 0),
                   "a manifest of %d accepted points is not what rt_manifest_write writes (rc %d)",
                   npts, rc);
        rt_strbuf_free(&b);
    }
    for (int i = 0; i < accepted; i++)
        rt_job_owned_free(&jobs[i]);
    /* the base64 decoder on every line's third field, and on the whole text */
    for (int ln = 2; ln <= lines; ln++) {
        const char *l;
        size_t len;
        if (line_of(p, n, ln, &l, &len)) break;
        const char *sp = memchr(l, ' ', len);
        const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - l)) : NULL;
        if (sp2) check_b64(sp2 + 1, len - (size_t)(sp2 + 1 - l));
    }
    check_b64(p, n);
}

/* Repairs the hashes and counts of manifest p[0..n) (flag bit 0: see the top comment);
 * a malloc'ed copy in *out, or NULL (out of memory). */
static char *repair(const char *p, size_t n, size_t *out_n)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    const char *nl = memchr(p, '\n', n);
    size_t at = nl ? (size_t)(nl - p) + 1 : n;
    static const char tag[] = "rlhf-manifest 1 ";
    int count = 0;
    for (size_t i = at; i < n; i++)
        count += p[i] == '\n';
    if (at >= sizeof tag - 1 && !memcmp(p, tag, sizeof tag - 1) && nl)
        rt_strbuf_printf(&b, "rlhf-manifest 1 %d\n", count);
    else
        rt_strbuf_append(&b, p, at);
    for (int pt = 0; at < n; pt++) {
        const char *l = p + at;
        const char *e = memchr(l, '\n', n - at);
        size_t len = e ? (size_t)(e - l) : n - at;
        at += len + (e ? 1 : 0);
        const char *sp = memchr(l, ' ', len);
        const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - l)) : NULL;
        const char *j64 = sp2 ? sp2 + 1 : NULL;
        size_t jn = j64 ? len - (size_t)(j64 - l) : 0, bad = 0;
        long k = j64 ? rt_manifest_b64_decode(j64, jn, NULL, &bad) : -1;
        unsigned char *raw = k >= 0 ? malloc((size_t)k + 1) : NULL;
        rt_job_owned o;
        rt_diag d;
        int rc = -1;
        if (raw) {
            rt_manifest_b64_decode(j64, jn, raw, &bad);
            rc = rt_job_unpack(raw, (size_t)k, &o, &d);
            if (rc == RT_EFORMAT && strstr(d.msg, "hash mismatch") && k >= 22 &&
                !memcmp(raw + k - 22, "hash ", 5)) {
                char hex[17];
                rt_job_hash_hex(rt_job_fnv1a64(raw, (size_t)k - 22), hex);
                memcpy(raw + k - 17, hex, 16);
                rc = rt_job_unpack(raw, (size_t)k, &o, &d);
            }
        }
        if (rc == 0) {
            char hex[17];
            rt_job_hash_hex(o.hash, hex);
            rt_strbuf_printf(&b, "%d %s ", pt, hex);
            rt_manifest_b64_encode(raw, (size_t)k, &b);
            rt_job_owned_free(&o);
        } else {
            if (raw) rt_job_owned_free(&o);
            rt_strbuf_append(&b, l, len);
        }
        if (e) rt_strbuf_putc(&b, '\n');
        free(raw);
    }
    if (b.err) {
        rt_strbuf_free(&b);
        return NULL;
    }
    return rt_strbuf_take(&b, out_n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fuzz_part parts[2];
    size_t np = fuzz_split(data + 1, size - 1, parts, 2);
    const char *man = (const char *)parts[0].data;
    size_t mn = parts[0].len;
    if (data[0] & 1) {
        size_t fn = 0;
        char *fixed = repair(man, mn, &fn);
        if (fixed) {
            /* an exact-size copy: a read past the end is seen */
            char *exact = malloc(fn ? fn : 1);
            if (exact) {
                memcpy(exact, fixed, fn);
                check_manifest(exact, fn);
                free(exact);
            }
            rt_free(fixed);
        }
    } else {
        check_manifest(man, mn);
    }
    if (np == 2) check_adam(parts[1].data, parts[1].len);
    return 0;
}
