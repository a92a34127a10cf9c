/* rt_policy_io.c: policy files (see rt_policy.h for the format).  Loading checks, in
 * order: the file opens, the magic, the version, the size the header announces, the
 * checksum over everything, then the architecture; each failure has its own code.
 * Saving writes PATH.tmp and renames it over PATH.  Leaves out: big-endian hosts
 * (refused at compile time), Adam state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_policy.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "policy files are little-endian; add byte swapping for this host"
#endif

#define MAGIC "RLHFPOL\n"
enum { HDR = 52, CKSUM_OFF = 44 }; /* magic 8, version 4, config 6*4, payload 8, cksum 8 */

static int fail(rt_policy_diag *d, int code, const char *fmt, const char *path, long a, long b)
{
    if (d) {
        char m[200];
        snprintf(m, sizeof m, fmt, a, b);
        d->code = code;
        snprintf(d->msg, sizeof d->msg, "%.50s: %s", path, m);
    }
    return code;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV0 0xcbf29ce484222325ULL

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int rt_policy_save(const rt_policy *p, const char *path, rt_policy_diag *diag)
{
    unsigned char h[HDR];
    memcpy(h, MAGIC, 8);
    put32(h + 8, RT_POLICY_FILE_VERSION);
    const rt_policy_config *c = &p->cfg;
    int32_t f[6] = {c->vocab, c->context, c->embed, c->hidden, c->layers, c->act};
    for (int i = 0; i < 6; i++)
        put32(h + 12 + 4 * i, (uint32_t)f[i]);
    uint64_t bytes = p->params.n * sizeof(float);
    memcpy(h + 36, &bytes, 8);
    uint64_t ck = fnv(fnv(FNV0, h, CKSUM_OFF), (const unsigned char *)p->params.w, bytes);
    memcpy(h + CKSUM_OFF, &ck, 8);

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return fail(diag, RT_POLICY_EINVAL, "path too long%.0ld%.0ld", path, 0, 0);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        fail(diag, RT_POLICY_ENOENT, "cannot create file%.0ld%.0ld", path, 0, 0);
        if (diag)
            snprintf(diag->msg, sizeof diag->msg, "%.50s: cannot create (%s)", path,
                     strerror(errno));
        return RT_POLICY_ENOENT;
    }
    int ok = fwrite(h, 1, HDR, fp) == HDR && fwrite(p->params.w, 1, bytes, fp) == bytes;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return fail(diag, RT_POLICY_EIO, "write error%.0ld%.0ld", path, 0, 0);
    }
    return 0;
}

int rt_policy_load(rt_policy **out, const char *path, rt_policy_diag *diag)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (diag) {
            diag->code = RT_POLICY_ENOENT;
            snprintf(diag->msg, sizeof diag->msg, "%.50s: cannot open (%s)", path, strerror(errno));
        }
        return RT_POLICY_ENOENT;
    }
    int rc = 0;
    rt_policy *p = NULL;
    unsigned char h[HDR];
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = fail(diag, RT_POLICY_EIO, "cannot seek%.0ld%.0ld", path, 0, 0);
        goto done;
    }
    size_t got = fread(h, 1, HDR, fp);
    size_t cmp = got < 8 ? got : 8;
    if (memcmp(h, MAGIC, cmp) != 0) {
        rc = fail(diag, RT_POLICY_EMAGIC, "not a policy file (bad magic)%.0ld%.0ld", path, 0, 0);
        goto done;
    }
    if (got >= 12 && get32(h + 8) != RT_POLICY_FILE_VERSION) {
        rc = fail(diag, RT_POLICY_EVERSION, "format version %ld, expected %ld", path,
                  (long)get32(h + 8), RT_POLICY_FILE_VERSION);
        goto done;
    }
    if (got < HDR) {
        rc = fail(diag, RT_POLICY_ETRUNC, "truncated header (%ld of %ld bytes)", path, (long)got,
                  HDR);
        goto done;
    }
    uint64_t bytes, ck;
    memcpy(&bytes, h + 36, 8);
    memcpy(&ck, h + CKSUM_OFF, 8);
    if (bytes > (uint64_t)(size - HDR)) {
        rc = fail(diag, RT_POLICY_ETRUNC, "truncated (%ld of %ld bytes)", path, size,
                  bytes > (uint64_t)1 << 40 ? -1L : (long)(bytes + HDR));
        goto done;
    }
    if (bytes < (uint64_t)(size - HDR)) {
        rc = fail(diag, RT_POLICY_ESIZE, "%ld trailing bytes after the payload%.0ld", path,
                  (long)((uint64_t)(size - HDR) - bytes), 0);
        goto done;
    }
    /* checksum streamed over the file before trusting the architecture fields */
    uint64_t sum = fnv(FNV0, h, CKSUM_OFF);
    unsigned char buf[65536];
    for (uint64_t left = bytes; left > 0;) {
        size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, k, fp) != k) {
            rc = fail(diag, RT_POLICY_EIO, "read error%.0ld%.0ld", path, 0, 0);
            goto done;
        }
        sum = fnv(sum, buf, k);
        left -= k;
    }
    if (sum != ck) {
        rc = fail(diag, RT_POLICY_ECHECKSUM, "checksum mismatch (corrupt file)%.0ld%.0ld", path, 0,
                  0);
        goto done;
    }
    rt_policy_config c;
    c.vocab = (int32_t)get32(h + 12);
    c.context = (int32_t)get32(h + 16);
    c.embed = (int32_t)get32(h + 20);
    c.hidden = (int32_t)get32(h + 24);
    c.layers = (int32_t)get32(h + 28);
    c.act = (int32_t)get32(h + 32);
    rt_policy_diag cd;
    if (rt_policy_config_check(&c, &cd)) {
        rc = fail(diag, RT_POLICY_EINVAL, "invalid architecture%.0ld%.0ld", path, 0, 0);
        if (diag)
            snprintf(diag->msg, sizeof diag->msg, "%.50s: invalid architecture: %.180s", path,
                     cd.msg);
        goto done;
    }
    if (rt_policy_nparams(&c) * sizeof(float) != bytes) { /* before allocating anything */
        rc =
            fail(diag, RT_POLICY_ESHAPE, "payload of %ld bytes does not fit the architecture (%ld)",
                 path, (long)bytes, (long)(rt_policy_nparams(&c) * sizeof(float)));
        goto done;
    }
    rc = rt_policy_create(&p, &c, diag);
    if (rc) goto done;
    if (fseek(fp, HDR, SEEK_SET) != 0 || fread(p->params.w, 1, bytes, fp) != bytes) {
        rc = fail(diag, RT_POLICY_EIO, "read error%.0ld%.0ld", path, 0, 0);
        goto done;
    }
    rt_policy_touch(p);
done:
    fclose(fp);
    if (rc) {
        rt_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
