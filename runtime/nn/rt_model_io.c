/* rt_model_io.c: model files (see rt_model.h for the formats).  Saving writes format 2
 * (the architecture's name and key=value config as text) to PATH.tmp and renames it
 * over PATH.  Loading checks, in order: the file opens, the magic, the version (1: the
 * MLP's fixed header, 2: text), the size the header announces, the checksum over
 * everything, then the architecture and its config; each failure has its own code.
 * Leaves out: big-endian hosts (refused at compile time), Adam state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_policy.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "policy files are little-endian; add byte swapping for this host"
#endif

#define MAGIC "RLHFPOL\n"
/* format 1: magic 8, version 4, config 6*4, payload 8, checksum 8 */
enum { HDR1 = 52, CK1 = 44 };
/* format 2: magic 8, version 4, vocab 4, text bytes 4, [text], payload 8, checksum 8 */
enum { HDR2 = 20, MAX_TEXT = 1024 };

static int fail(rt_diag *d, int code, const char *path, const char *fmt, long a, long b)
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

int rt_model_save(const rt_model *m, const char *path, rt_diag *d)
{
    int cfg[RT_MODEL_MAX_KEYS];
    char text[MAX_TEXT];
    m->ops->config(m, cfg);
    int n = snprintf(text, sizeof text, "arch=%s ", m->ops->arch);
    rt_model_config_format(m->ops, cfg, text + n, sizeof text - (size_t)n - 1);
    strcat(text, "\n");
    uint32_t tn = (uint32_t)strlen(text);
    unsigned char h[HDR2 + MAX_TEXT + 16];
    memcpy(h, MAGIC, 8);
    put32(h + 8, RT_MODEL_FILE_VERSION);
    put32(h + 12, (uint32_t)m->vocab);
    put32(h + 16, tn);
    memcpy(h + HDR2, text, tn);
    size_t ck = HDR2 + tn + 8, hn = ck + 8;
    uint64_t bytes = m->params->n * sizeof(float);
    memcpy(h + HDR2 + tn, &bytes, 8);
    uint64_t sum = fnv(fnv(FNV0, h, ck), (const unsigned char *)m->params->w, bytes);
    memcpy(h + ck, &sum, 8);

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return fail(d, RT_EINVAL, path, "path too long%.0ld%.0ld", 0, 0);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        if (d) {
            d->code = RT_ENOENT;
            snprintf(d->msg, sizeof d->msg, "%.50s: cannot create (%s)", path, strerror(errno));
        }
        return RT_ENOENT;
    }
    int ok = fwrite(h, 1, hn, fp) == hn && fwrite(m->params->w, 1, bytes, fp) == bytes;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return fail(d, RT_EIO, path, "write error%.0ld%.0ld", 0, 0);
    }
    return 0;
}

/* The header of either format: the architecture, vocabulary and config, the payload
 * size and the checksum; hn = header bytes (the payload's offset). */
typedef struct {
    const rt_model_ops *ops;
    int vocab, cfg[RT_MODEL_MAX_KEYS];
    uint64_t bytes, ck;
    size_t hn, ckoff;
    unsigned char h[HDR2 + MAX_TEXT + 16];
} header;

/* reads and size-checks the header; the config is parsed after the checksum */
static int read_header(FILE *fp, long size, const char *path, header *x, rt_diag *d)
{
    size_t got = fread(x->h, 1, HDR2, fp);
    size_t cmp = got < 8 ? got : 8;
    if (memcmp(x->h, MAGIC, cmp) != 0)
        return fail(d, RT_EMAGIC, path, "not a policy file (bad magic)%.0ld%.0ld", 0, 0);
    uint32_t ver = got >= 12 ? get32(x->h + 8) : 0;
    if (got >= 12 && ver != 1 && ver != RT_MODEL_FILE_VERSION)
        return fail(d, RT_EVERSION, path, "format version %ld, expected %ld or 1", (long)ver,
                    RT_MODEL_FILE_VERSION);
    size_t want = ver == 1 ? HDR1 : HDR2;
    if (got == HDR2 && ver == 1) got += fread(x->h + HDR2, 1, HDR1 - HDR2, fp);
    if (got < want)
        return fail(d, RT_ETRUNC, path, "truncated header (%ld of %ld bytes)", (long)got,
                    (long)want);
    if (ver == 1) {
        x->hn = HDR1, x->ckoff = CK1;
        memcpy(&x->bytes, x->h + 36, 8);
    } else {
        uint32_t tn = get32(x->h + 16);
        if (tn < 1 || tn > MAX_TEXT)
            return fail(d, RT_EINVAL, path, "config text of %ld bytes (1..%ld)", (long)tn,
                        MAX_TEXT);
        x->ckoff = HDR2 + tn + 8, x->hn = x->ckoff + 8;
        got += fread(x->h + HDR2, 1, x->hn - HDR2, fp);
        if (got < x->hn)
            return fail(d, RT_ETRUNC, path, "truncated header (%ld of %ld bytes)", (long)got,
                        (long)x->hn);
        memcpy(&x->bytes, x->h + HDR2 + tn, 8);
    }
    memcpy(&x->ck, x->h + x->ckoff, 8);
    uint64_t avail = (uint64_t)size - x->hn;
    if (x->bytes > avail)
        return fail(d, RT_ETRUNC, path, "truncated (%ld of %ld bytes)", size,
                    x->bytes > (uint64_t)1 << 40 ? -1L : (long)(x->bytes + x->hn));
    if (x->bytes < avail)
        return fail(d, RT_ESIZE, path, "%ld trailing bytes after the payload%.0ld",
                    (long)(avail - x->bytes), 0);
    return 0;
}

/* the architecture and config of a checksummed header */
static int parse_header(header *x, const char *path, rt_diag *d)
{
    char m[256];
    if (get32(x->h + 8) == 1) { /* the MLP's fixed fields */
        x->ops = &rt_model_mlp;
        x->vocab = (int32_t)get32(x->h + 12);
        for (int i = 0; i < 5; i++)
            x->cfg[i] = (int32_t)get32(x->h + 16 + 4 * i);
    } else {
        char text[MAX_TEXT + 1], name[32];
        size_t tn = x->ckoff - 8 - HDR2;
        memcpy(text, x->h + HDR2, tn);
        text[tn] = '\0';
        x->vocab = (int32_t)get32(x->h + 12);
        int nl = 0;
        if (sscanf(text, "arch=%31[a-z0-9_]%n", name, &nl) != 1 || (text[nl] && text[nl] != ' '))
            return fail(d, RT_EINVAL, path, "no architecture in the header%.0ld%.0ld", 0, 0);
        x->ops = rt_model_arch(name);
        if (!x->ops) {
            if (d) {
                d->code = RT_EINVAL;
                snprintf(d->msg, sizeof d->msg, "%.50s: unknown architecture '%s'", path, name);
            }
            return RT_EINVAL;
        }
        rt_diag cd;
        if (rt_model_config_parse(x->ops, text + nl, x->cfg, &cd)) {
            if (d) {
                d->code = RT_EINVAL;
                snprintf(d->msg, sizeof d->msg, "%.50s: invalid architecture: %.180s", path,
                         cd.msg);
            }
            return RT_EINVAL;
        }
    }
    if (x->vocab < 2 || x->vocab > 65536)
        snprintf(m, sizeof m, "vocab must be in 2..65536 (got %d)", x->vocab);
    else if (!x->ops->check(x->vocab, x->cfg, m, sizeof m))
        m[0] = '\0';
    if (m[0]) {
        if (d) {
            d->code = RT_EINVAL;
            snprintf(d->msg, sizeof d->msg, "%.50s: invalid architecture: %.180s", path, m);
        }
        return RT_EINVAL;
    }
    size_t want = x->ops->nparams(x->vocab, x->cfg) * sizeof(float);
    if (want != x->bytes) /* before allocating anything */
        return fail(d, RT_ESHAPE, path,
                    "payload of %ld bytes does not fit the architecture (%ld)", (long)x->bytes,
                    (long)want);
    return 0;
}

int rt_model_load(rt_model **out, const char *path, rt_diag *d)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (d) {
            d->code = RT_ENOENT;
            snprintf(d->msg, sizeof d->msg, "%.50s: cannot open (%s)", path, strerror(errno));
        }
        return RT_ENOENT;
    }
    int rc = 0;
    rt_model *m = NULL;
    header x;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = fail(d, RT_EIO, path, "cannot seek%.0ld%.0ld", 0, 0);
        goto done;
    }
    rc = read_header(fp, size, path, &x, d);
    if (rc) goto done;
    /* checksum streamed over the file before trusting the architecture fields */
    uint64_t sum = fnv(fnv(FNV0, x.h, x.ckoff), x.h + x.ckoff + 8, x.hn - x.ckoff - 8);
    unsigned char buf[65536];
    for (uint64_t left = x.bytes; left > 0;) {
        size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fread(buf, 1, k, fp) != k) {
            rc = fail(d, RT_EIO, path, "read error%.0ld%.0ld", 0, 0);
            goto done;
        }
        sum = fnv(sum, buf, k);
        left -= k;
    }
    if (sum != x.ck) {
        rc = fail(d, RT_ECHECKSUM, path, "checksum mismatch (corrupt file)%.0ld%.0ld", 0, 0);
        goto done;
    }
    rc = parse_header(&x, path, d);
    if (rc) goto done;
    rc = rt_model_create(&m, x.ops, x.vocab, x.cfg, d);
    if (rc) goto done;
    if (fseek(fp, (long)x.hn, SEEK_SET) != 0 || fread(m->params->w, 1, x.bytes, fp) != x.bytes) {
        rc = fail(d, RT_EIO, path, "read error%.0ld%.0ld", 0, 0);
        goto done;
    }
    rt_model_touch(m);
done:
    fclose(fp);
    if (rc) {
        rt_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- the MLP's names for the same -------------------------------------------------------- */

int rt_policy_save(const rt_policy *p, const char *path, rt_diag *diag)
{
    return rt_model_save(&p->model, path, diag);
}

int rt_policy_load(rt_policy **out, const char *path, rt_diag *diag)
{
    rt_model *m = NULL;
    *out = NULL;
    int rc = rt_model_load(&m, path, diag);
    if (rc) return rc;
    *out = rt_policy_of(m);
    if (*out) return 0;
    rt_model_free(m);
    if (diag) {
        diag->code = RT_EINVAL;
        snprintf(diag->msg, sizeof diag->msg, "%.50s: not an mlp policy", path);
    }
    return RT_EINVAL;
}
