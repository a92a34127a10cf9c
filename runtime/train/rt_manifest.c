/* rt_manifest: a job directory's manifest, one packed job per line in base64
 * (rt_manifest.h).  Leaves out the directory's files (magics/mag_jobs.c). */
#include "rt_manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"

void rt_manifest_b64_encode(const void *p, size_t n, rt_strbuf *out)
{
    const unsigned char *s = p;
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n) v |= s[i + 2];
        q[0] = rt_b64_alphabet[v >> 18];
        q[1] = rt_b64_alphabet[(v >> 12) & 63];
        q[2] = i + 1 < n ? rt_b64_alphabet[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? rt_b64_alphabet[v & 63] : '=';
        rt_strbuf_append(out, q, 4);
    }
}

long rt_manifest_b64_decode(const char *s, size_t n, unsigned char *dst, size_t *bad)
{
    size_t o = 0;
    if (n % 4) {
        *bad = n;
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        int last = i + 4 == n, pad = 0, v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + (size_t)k];
            /* '=' only at the end: "xx==" or "xxx=" */
            if (c == '=' && last && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                v[k] = 0, pad++;
                continue;
            }
            if ((v[k] = rt_b64_value(c)) < 0) {
                *bad = i + (size_t)k;
                return -1;
            }
        }
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff))) { /* canonical only */
            *bad = i + 3 - (size_t)pad;
            return -1;
        }
        for (int k = 0; k < 3 - pad; k++, o++)
            if (dst) dst[o] = (unsigned char)(x >> (16 - 8 * k));
    }
    return (long)o;
}

int rt_manifest_write(const rt_job *jobs, int n, rt_strbuf *out, rt_diag *d)
{
    if (n < 1 || n > RT_MANIFEST_MAX_POINTS)
        return rt_diag_set(d, RT_EINVAL, "manifest: %d points (1 to %d)", n,
                           RT_MANIFEST_MAX_POINTS);
    for (int i = 0; i < n; i++) {
        rt_diag jd;
        if (rt_job_check(&jobs[i], &jd))
            return rt_diag_set(d, RT_EINVAL, "manifest: point %d: %s", i, jd.msg);
    }
    size_t start = out->len;
    rt_strbuf_printf(out, "rlhf-manifest %d %d\n", RT_MANIFEST_VERSION, n);
    rt_strbuf job;
    rt_strbuf_init(&job);
    for (int i = 0; i < n && !out->err; i++) {
        rt_strbuf_truncate(&job, 0);
        uint64_t h;
        char hex[17];
        int rc = rt_job_pack(&jobs[i], &job, d);
        if (!rc) rc = rt_job_hash(&jobs[i], &h, d);
        if (rc) {
            rt_strbuf_free(&job);
            rt_strbuf_truncate(out, start);
            return rc;
        }
        rt_job_hash_hex(h, hex);
        rt_strbuf_printf(out, "%d %s ", i, hex);
        rt_manifest_b64_encode(job.s, job.len, out);
        rt_strbuf_putc(out, '\n');
    }
    int err = out->err || job.err;
    rt_strbuf_free(&job);
    return err ? rt_diag_set(d, RT_ENOMEM, "manifest: out of memory") : 0;
}

static int bad(rt_diag *d, int line, const char *fmt, ...)
{
    if (d) {
        char m[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof m, fmt, ap);
        va_end(ap);
        rt_diag_set(d, RT_EFORMAT, "manifest: line %d: %s", line, m);
        d->line = line;
    }
    return RT_EFORMAT;
}

/* A decimal number without leading zeros at s[*at..e) followed by ' ' (or the end when
 * last): 0 with *v, else -1. */
static int decimal(const char *s, size_t *at, size_t e, long max, long *v)
{
    size_t i = *at;
    long x = 0;
    if (i >= e || s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < e && s[i + 1] != ' '))
        return -1;
    for (; i < e && s[i] >= '0' && s[i] <= '9'; i++) {
        x = x * 10 + (s[i] - '0');
        if (x > max) return -1;
    }
    *at = i;
    *v = x;
    return 0;
}

int rt_manifest_point(const void *p, size_t n, int point, int *npoints, rt_job_owned *out,
                      rt_diag *d)
{
    const char *s = p;
    memset(out, 0, sizeof *out);
    *npoints = -1;
    /* the header */
    const char *nl = memchr(s, '\n', n);
    static const char tag[] = "rlhf-manifest ";
    size_t tl = sizeof tag - 1, at = tl, e = nl ? (size_t)(nl - s) : n;
    long ver, np;
    if (!nl) return bad(d, 1, "not a manifest (no header line 'rlhf-manifest 1 POINTS')");
    if (e < tl || memcmp(s, tag, tl) != 0)
        return bad(d, 1, "not a manifest (expected 'rlhf-manifest 1 POINTS')");
    if (decimal(s, &at, e, 1000000, &ver) || at >= e || s[at] != ' ')
        return bad(d, 1, "expected 'rlhf-manifest VERSION POINTS'");
    if (ver != RT_MANIFEST_VERSION)
        return bad(d, 1, "manifest version %ld (this program reads version %d)", ver,
                   RT_MANIFEST_VERSION);
    at++;
    if (decimal(s, &at, e, RT_MANIFEST_MAX_POINTS, &np) || at != e || np < 1)
        return bad(d, 1, "expected the number of points (1 to %d) after the version",
                   RT_MANIFEST_MAX_POINTS);
    *npoints = (int)np;
    if (point < 0 || point >= np)
        return rt_diag_set(d, RT_ENOTFOUND,
                           "manifest: point %d is out of range: the manifest has %ld point%s "
                           "(0 to %ld)",
                           point, np, np == 1 ? "" : "s", np - 1);
    /* lines 2 .. point + 2: each must be one line; the point's is parsed */
    size_t pos = e + 1;
    for (int i = 0; i <= point; i++) {
        int line = i + 2;
        if (pos >= n) return bad(d, line, "unexpected end (the header says %ld points)", np);
        nl = memchr(s + pos, '\n', n - pos);
        if (!nl) return bad(d, line, "truncated (no newline at the end)");
        const char *l = s + pos;
        size_t len = (size_t)(nl - l);
        pos += len + 1;
        if (i < point) continue;
        long idx;
        size_t a = 0;
        if (decimal(l, &a, len, RT_MANIFEST_MAX_POINTS, &idx) || a >= len || l[a] != ' ')
            return bad(d, line, "expected 'POINT HASH JOB'");
        if (idx != i) return bad(d, line, "point %ld where point %d belongs", idx, i);
        a++;
        if (a + 17 > len || l[a + 16] != ' ') return bad(d, line, "expected a 16-digit hash");
        char hex[17];
        memcpy(hex, l + a, 16);
        hex[16] = '\0';
        for (int k = 0; k < 16; k++)
            if (!((hex[k] >= '0' && hex[k] <= '9') || (hex[k] >= 'a' && hex[k] <= 'f')))
                return bad(d, line, "expected a 16-digit hash (lowercase hex)");
        a += 17;
        size_t badat = 0;
        long size = rt_manifest_b64_decode(l + a, len - a, NULL, &badat);
        if (size < 0)
            return bad(d, line, "bad base64 at column %zu", a + (badat < len - a ? badat : 0) + 1);
        unsigned char *buf = rt_malloc((size_t)size + 1);
        if (!buf) return rt_diag_set(d, RT_ENOMEM, "manifest: out of memory");
        rt_manifest_b64_decode(l + a, len - a, buf, &badat);
        rt_diag jd;
        memset(&jd, 0, sizeof jd);
        int rc = rt_job_unpack(buf, (size_t)size, out, &jd);
        rt_free(buf);
        if (rc == RT_ENOMEM) return rt_diag_set(d, RT_ENOMEM, "manifest: out of memory");
        if (rc) return bad(d, line, "point %d: %s", i, jd.msg);
        char have[17];
        rt_job_hash_hex(out->hash, have);
        if (strcmp(have, hex)) {
            rt_job_owned_free(out);
            return bad(d, line, "point %d: the line says hash %s but its job's hash is %s", i, hex,
                       have);
        }
        /* as many lines as the header says (the count is not under a hash) */
        long lines = 0;
        for (size_t k = e + 1; k < n; k++)
            lines += s[k] == '\n';
        if (s[n - 1] != '\n') {
            rt_job_owned_free(out);
            return bad(d, (int)lines + 2, "truncated (no newline at the end)");
        }
        if (lines != np) {
            rt_job_owned_free(out);
            return bad(d, 1, "the header says %ld point%s but %ld line%s follow%s", np,
                       np == 1 ? "" : "s", lines, lines == 1 ? "" : "s", lines == 1 ? "s" : "");
        }
        return 0;
    }
    return bad(d, point + 2, "unreachable");
}
