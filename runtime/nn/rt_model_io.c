/* rt_model_io.c: model files (see rt_model.h for the formats).  Saving writes format 2
 * (the architecture's name and key=value config as text), or format 3 when there is
 * metadata text (format 2 whose text block goes on with the metadata after the config
 * line), to PATH.tmp and renames it over PATH.  Loading checks, in order: the file
 * opens, the magic, the version (1: the MLP's fixed header, 2 and 3: text), the size the
 * header announces, the checksum over everything, then the architecture and its config;
 * each failure has its own code.
 * The in-memory versions (rt_model_save_mem, rt_model_load_mem) share the header writer
 * and the whole load path: only where bytes come from or go to differs (struct src).
 * Leaves out: big-endian hosts (refused at compile time), Adam state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_policy.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "policy files are little-endian; add byte swapping for this host"
#endif

#define MAGIC "RLHFPOL\n"
/* format 1: magic 8, version 4, config 6*4, payload 8, checksum 8 */
enum { HDR1 = 52, CK1 = 44 };
/* formats 2 and 3: magic 8, version 4, vocab 4, text bytes 4, [text], payload 8,
 * checksum 8; the config line is at most MAX_CONFIG bytes, the whole text MAX_TEXT */
enum { HDR2 = 20, MAX_CONFIG = 1024, MAX_TEXT = MAX_CONFIG + RT_MODEL_MAX_META };

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
#define MEM "model bytes" /* what messages name instead of a path */

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

/* 0, or RT_EINVAL when meta is not metadata text (too long, or a NUL before its end:
 * it must be a C string of at most RT_MODEL_MAX_META bytes). */
static int check_meta(const char *meta, rt_diag *d)
{
    if (meta && strnlen(meta, RT_MODEL_MAX_META + 1) > RT_MODEL_MAX_META)
        return fail(d, RT_EINVAL, "metadata", "text of more than %ld bytes%.0ld", RT_MODEL_MAX_META,
                    0);
    return 0;
}

/* The header of m into h (hn bytes: everything before the payload, checksum included):
 * format 2, or 3 when meta is not empty; *bytes = the payload's size.  The one writer of
 * the formats (meta checked by the caller). */
static size_t write_header(const rt_model *m, const char *meta, unsigned char *h, uint64_t *bytes)
{
    int cfg[RT_MODEL_MAX_KEYS];
    char text[MAX_CONFIG];
    m->ops->config(m, cfg);
    int n = snprintf(text, sizeof text, "arch=%s ", m->ops->arch);
    rt_model_config_format(m->ops, cfg, text + n, sizeof text - (size_t)n - 1);
    strcat(text, "\n");
    size_t cn = strlen(text), mn = meta ? strlen(meta) : 0;
    uint32_t tn = (uint32_t)(cn + mn);
    memcpy(h, MAGIC, 8);
    put32(h + 8, mn ? RT_MODEL_FILE_VERSION : 2);
    put32(h + 12, (uint32_t)m->vocab);
    put32(h + 16, tn);
    memcpy(h + HDR2, text, cn);
    if (mn) memcpy(h + HDR2 + cn, meta, mn);
    size_t ck = HDR2 + tn + 8;
    *bytes = m->params->n * sizeof(float);
    memcpy(h + HDR2 + tn, bytes, 8);
    uint64_t sum = fnv(fnv(FNV0, h, ck), (const unsigned char *)m->params->w, *bytes);
    memcpy(h + ck, &sum, 8);
    return ck + 8;
}

/* A saved model's header, built by out_header_build for both savers (file and memory). */
typedef struct out_header {
    unsigned char small[HDR2 + MAX_CONFIG + 16]; /* without metadata */
    unsigned char *h;                            /* small, or a block for the metadata */
    size_t hn;                                   /* bytes of h (checksum included) */
    uint64_t bytes;                              /* the payload's */
} out_header;

/* Checks meta (check_meta) and writes m's header into hd (write_header): 0, or
 * check_meta's error or RT_ENOMEM naming where (the path, or MEM).  out_header_free after 0. */
static int out_header_build(const rt_model *m, const char *meta, const char *where, out_header *hd,
                            rt_diag *d)
{
    int rc = check_meta(meta, d);
    if (rc) return rc;
    hd->h = hd->small;
    if (meta && meta[0] && !(hd->h = rt_malloc(HDR2 + MAX_TEXT + 16)))
        return fail(d, RT_ENOMEM, where, "out of memory%.0ld%.0ld", 0, 0);
    hd->hn = write_header(m, meta, hd->h, &hd->bytes);
    return 0;
}

static void out_header_free(out_header *hd)
{
    if (hd->h != hd->small) rt_free(hd->h);
}

/* writes header h (hn bytes) and m's payload to PATH.tmp, then renames it over PATH */
static int save_file(const rt_model *m, const unsigned char *h, size_t hn, uint64_t bytes,
                     const char *path, rt_diag *d)
{
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

int rt_model_save(const rt_model *m, const char *path, rt_diag *d)
{
    return rt_model_save_meta(m, NULL, path, d);
}

int rt_model_save_meta(const rt_model *m, const char *meta, const char *path, rt_diag *d)
{
    out_header hd;
    int rc = out_header_build(m, meta, path, &hd, d);
    if (rc) return rc;
    rc = save_file(m, hd.h, hd.hn, hd.bytes, path, d);
    out_header_free(&hd);
    return rc;
}

int rt_model_save_mem(const rt_model *m, void **out, size_t *n, rt_diag *d)
{
    return rt_model_save_mem_meta(m, NULL, out, n, d);
}

int rt_model_save_mem_meta(const rt_model *m, const char *meta, void **out, size_t *n, rt_diag *d)
{
    *out = NULL, *n = 0;
    out_header hd;
    int rc = out_header_build(m, meta, MEM, &hd, d);
    if (rc) return rc;
    unsigned char *p = rt_malloc(hd.hn + hd.bytes);
    if (p) {
        memcpy(p, hd.h, hd.hn);
        memcpy(p + hd.hn, m->params->w, hd.bytes);
        *out = p, *n = hd.hn + hd.bytes;
    }
    out_header_free(&hd);
    return p ? 0 : fail(d, RT_ENOMEM, MEM, "out of memory%.0ld%.0ld", 0, 0);
}

/* Where a load reads from: a file or bytes in memory (the same checks for both). */
typedef struct src {
    FILE *fp; /* or */
    const unsigned char *p;
    size_t n, pos;
} src;

static size_t src_read(src *s, void *dst, size_t k)
{
    if (s->fp) return fread(dst, 1, k, s->fp);
    if (k > s->n - s->pos) k = s->n - s->pos;
    if (k) memcpy(dst, s->p + s->pos, k); /* p may be NULL (n 0) */
    s->pos += k;
    return k;
}

static int src_seek(src *s, size_t off)
{
    if (s->fp) return fseek(s->fp, (long)off, SEEK_SET);
    if (off > s->n) return -1;
    s->pos = off;
    return 0;
}

/* The header of either format: the architecture, vocabulary and config, the payload
 * size and the checksum; hn = header bytes (the payload's offset). */
typedef struct {
    const rt_model_ops *ops;
    int vocab, cfg[RT_MODEL_MAX_KEYS];
    uint64_t bytes, ck;
    size_t hn, ckoff;
    size_t meta, meta_n; /* format 3: the metadata text at h + meta, meta_n bytes */
    unsigned char h[HDR2 + MAX_TEXT + 16];
} header;

/* reads and size-checks the header; the config is parsed after the checksum */
static int read_header(src *fp, long size, const char *path, header *x, rt_diag *d)
{
    size_t got = src_read(fp, x->h, HDR2);
    size_t cmp = got < 8 ? got : 8;
    if (memcmp(x->h, MAGIC, cmp) != 0)
        return fail(d, RT_EMAGIC, path, "not a policy file (bad magic)%.0ld%.0ld", 0, 0);
    uint32_t ver = got >= 12 ? get32(x->h + 8) : 0;
    if (got >= 12 && (ver < 1 || ver > RT_MODEL_FILE_VERSION))
        return fail(d, RT_EVERSION, path, "format version %ld, expected 1 to %ld", (long)ver,
                    RT_MODEL_FILE_VERSION);
    size_t want = ver == 1 ? HDR1 : HDR2;
    if (got == HDR2 && ver == 1) got += src_read(fp, x->h + HDR2, HDR1 - HDR2);
    if (got < want)
        return fail(d, RT_ETRUNC, path, "truncated header (%ld of %ld bytes)", (long)got,
                    (long)want);
    if (ver == 1) {
        x->hn = HDR1, x->ckoff = CK1;
        memcpy(&x->bytes, x->h + 36, 8);
    } else {
        uint32_t tn = get32(x->h + 16);
        long max = ver == 2 ? MAX_CONFIG : MAX_TEXT;
        if (tn < 1 || tn > max)
            return fail(d, RT_EINVAL, path, "config text of %ld bytes (1..%ld)", (long)tn, max);
        x->ckoff = HDR2 + tn + 8, x->hn = x->ckoff + 8;
        got += src_read(fp, x->h + HDR2, x->hn - HDR2);
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
        char text[MAX_CONFIG + 1], name[32];
        size_t tn = x->ckoff - 8 - HDR2;
        x->meta = x->meta_n = 0;
        if (get32(x->h + 8) == 3) { /* the config line, then the metadata */
            const unsigned char *t = x->h + HDR2, *nl = memchr(t, '\n', tn);
            size_t cn = nl ? (size_t)(nl - t) + 1 : tn;
            if (!nl || cn > MAX_CONFIG || cn == tn || memchr(nl + 1, '\0', tn - cn))
                return fail(d, RT_EINVAL, path,
                            "format 3 needs a config line, then metadata text%.0ld%.0ld", 0, 0);
            x->meta = HDR2 + cn, x->meta_n = tn - cn, tn = cn;
        }
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
        return fail(d, RT_ESHAPE, path, "payload of %ld bytes does not fit the architecture (%ld)",
                    (long)x->bytes, (long)want);
    return 0;
}

/* Checks and loads a model of `size` bytes from s (the load half of every version);
 * meta (may be NULL): a copy of the metadata text ("" when none). */
static int load_from(src *s, long size, const char *path, rt_model **out, char **meta, rt_diag *d)
{
    header x;
    rt_model *m = NULL;
    int rc = read_header(s, size, path, &x, d);
    if (rc) return rc;
    /* checksum streamed over the payload before trusting the architecture fields */
    uint64_t sum = fnv(fnv(FNV0, x.h, x.ckoff), x.h + x.ckoff + 8, x.hn - x.ckoff - 8);
    unsigned char buf[65536];
    for (uint64_t left = x.bytes; left > 0;) {
        size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
        if (src_read(s, buf, k) != k) return fail(d, RT_EIO, path, "read error%.0ld%.0ld", 0, 0);
        sum = fnv(sum, buf, k);
        left -= k;
    }
    if (sum != x.ck)
        return fail(d, RT_ECHECKSUM, path, "checksum mismatch (corrupt file)%.0ld%.0ld", 0, 0);
    rc = parse_header(&x, path, d);
    if (rc) return rc;
    char *mt = NULL;
    if (meta && !(mt = rt_malloc(x.meta_n + 1)))
        return fail(d, RT_ENOMEM, path, "out of memory%.0ld%.0ld", 0, 0);
    rc = rt_model_create(&m, x.ops, x.vocab, x.cfg, d);
    if (rc) {
        rt_free(mt);
        return rc;
    }
    if (src_seek(s, x.hn) != 0 || src_read(s, m->params->w, x.bytes) != x.bytes) {
        rt_model_free(m);
        rt_free(mt);
        return fail(d, RT_EIO, path, "read error%.0ld%.0ld", 0, 0);
    }
    rt_model_touch(m);
    if (mt) {
        memcpy(mt, x.h + x.meta, x.meta_n);
        mt[x.meta_n] = '\0';
        *meta = mt;
    }
    *out = m;
    return 0;
}

int rt_model_load(rt_model **out, const char *path, rt_diag *d)
{
    return rt_model_load_meta(out, NULL, path, d);
}

int rt_model_load_meta(rt_model **out, char **meta, const char *path, rt_diag *d)
{
    *out = NULL;
    if (meta) *meta = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(d, RT_EINVAL, path, "is a directory, not a policy file%.0ld%.0ld", 0, 0);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (d) {
            d->code = RT_ENOENT;
            snprintf(d->msg, sizeof d->msg, "%.50s: cannot open (%s)", path, strerror(errno));
        }
        return RT_ENOENT;
    }
    int rc;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = fail(d, RT_EIO, path, "cannot seek%.0ld%.0ld", 0, 0);
    } else {
        src s = {.fp = fp};
        rc = load_from(&s, size, path, out, meta, d);
    }
    fclose(fp);
    return rc;
}

int rt_model_load_mem(rt_model **out, const void *p, size_t n, rt_diag *d)
{
    return rt_model_load_mem_meta(out, NULL, p, n, d);
}

int rt_model_load_mem_meta(rt_model **out, char **meta, const void *p, size_t n, rt_diag *d)
{
    *out = NULL;
    if (meta) *meta = NULL;
    if (n > (size_t)1 << 40)
        return fail(d, RT_ESIZE, MEM, "%ld bytes is too large%.0ld", (long)n, 0);
    src s = {.p = p, .n = p ? n : 0};
    return load_from(&s, (long)s.n, MEM, out, meta, d);
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
