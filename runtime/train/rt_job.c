/* rt_job.c: a job's packed form (rt_job.h gives the format).  Pack writes it after
 * rt_job_check; unpack reads it twice with one parser: a first pass validates every
 * byte and counts what the job needs, a second decodes into one block of that size.
 * Leaves out: what the fields mean (the trainers parse their configuration), files. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_job.h"

#define FNV0 0xcbf29ce484222325ULL
#define FNVP 0x100000001b3ULL
enum { B64_LINE = 76, ALIGN = 16 };

uint64_t rt_job_fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = FNV0;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNVP;
    }
    return h;
}

void rt_job_hash_hex(uint64_t h, char out[17])
{
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = "0123456789abcdef"[h & 15];
    out[16] = '\0';
}

static int diag(rt_diag *d, int code, int line, int col, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        d->code = code, d->line = line, d->col = col;
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* a word byte: printable ASCII but space, '"', '\\', '=' */
static int word_byte(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

static int is_word(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > RT_JOB_MAX_WORD) return 0;
    for (size_t i = 0; i < n; i++)
        if (!word_byte((unsigned char)s[i])) return 0;
    return 1;
}

/* ---- check and pack ------------------------------------------------------------------ */

int rt_job_check(const rt_job *j, rt_diag *d)
{
    const int E = RT_EINVAL;
    if (!is_word(j->trainer))
        return diag(d, E, 0, 0, "job: trainer must be a word of 1..%d bytes", RT_JOB_MAX_WORD);
    if (j->name && strlen(j->name) > RT_JOB_MAX_STR)
        return diag(d, E, 0, 0, "job: name longer than %d bytes", RT_JOB_MAX_STR);
    if (j->ncfg < 0 || j->ncfg > RT_JOB_MAX_CFG || (j->ncfg > 0 && !j->cfg))
        return diag(d, E, 0, 0, "job: %d cfg entries (0..%d)", j->ncfg, RT_JOB_MAX_CFG);
    for (int i = 0; i < j->ncfg; i++) {
        const rt_kv *kv = &j->cfg[i];
        if (!is_word(kv->key))
            return diag(d, E, 0, 0, "job: cfg entry %d: key must be a word of 1..%d bytes", i + 1,
                        RT_JOB_MAX_WORD);
        if (!kv->value || strlen(kv->value) > RT_JOB_MAX_STR)
            return diag(d, E, 0, 0, "job: cfg '%s': value missing or longer than %d bytes", kv->key,
                        RT_JOB_MAX_STR);
        for (int k = 0; k < i; k++)
            if (strcmp(j->cfg[k].key, kv->key) == 0)
                return diag(d, E, 0, 0, "job: cfg '%s' given twice", kv->key);
    }
    if (j->nin < 0 || j->nin > RT_JOB_MAX_IN || (j->nin > 0 && !j->in))
        return diag(d, E, 0, 0, "job: %d inputs (0..%d)", j->nin, RT_JOB_MAX_IN);
    for (int i = 0; i < j->nin; i++) {
        const rt_job_input *in = &j->in[i];
        if (!is_word(in->role) || !is_word(in->kind))
            return diag(d, E, 0, 0, "job: input %d: role and kind must be words of 1..%d bytes",
                        i + 1, RT_JOB_MAX_WORD);
        if (in->size > RT_JOB_MAX_INPUT || (in->size > 0 && !in->data))
            return diag(d, E, 0, 0, "job: input '%s': %zu bytes (0..%zu, data set)", in->role,
                        in->size, RT_JOB_MAX_INPUT);
    }
    return 0;
}

/* s as a quoted string (the escaping rule of rt_job.h) */
static void put_str(rt_strbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    rt_strbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t k;
        if (c == '"' || c == '\\')
            rt_strbuf_putc(b, '\\'), rt_strbuf_putc(b, (char)c);
        else if (c == '\n')
            rt_strbuf_append(b, "\\n", 2);
        else if (c == '\t')
            rt_strbuf_append(b, "\\t", 2);
        else if (c == '\r')
            rt_strbuf_append(b, "\\r", 2);
        else if (c >= 0x80 && (k = rt_utf8_seq(s + i, n - i)) > 0)
            rt_strbuf_append(b, s + i, k), i += k - 1;
        else if (c < 0x20 || c >= 0x7f)
            rt_strbuf_printf(b, "\\x%02x", c);
        else
            rt_strbuf_putc(b, (char)c);
    }
    rt_strbuf_append(b, "\"\n", 2);
}

static void put_b64(rt_strbuf *b, const unsigned char *p, size_t n)
{
    char line[B64_LINE + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        line[k++] = rt_b64_alphabet[v >> 18];
        line[k++] = rt_b64_alphabet[(v >> 12) & 63];
        line[k++] = i + 1 < n ? rt_b64_alphabet[(v >> 6) & 63] : '=';
        line[k++] = i + 2 < n ? rt_b64_alphabet[v & 63] : '=';
        if (k == B64_LINE || i + 3 >= n) {
            line[k++] = '\n';
            rt_strbuf_append(b, line, k);
            k = 0;
        }
    }
}

int rt_job_pack(const rt_job *j, rt_strbuf *out, rt_diag *d)
{
    int rc = rt_job_check(j, d);
    if (rc) return rc;
    if (out->err) return diag(d, RT_ENOMEM, 0, 0, "job: the buffer already failed");
    size_t start = out->len;
    rt_strbuf_printf(out, "rlhf-job %d\ntrainer %s\nname ", RT_JOB_VERSION, j->trainer);
    put_str(out, j->name);
    rt_strbuf_printf(out, "rng %016llx %016llx\ncfg %d\n", (unsigned long long)j->rng.key,
                     (unsigned long long)j->rng.ctr, j->ncfg);
    for (int i = 0; i < j->ncfg; i++) {
        rt_strbuf_printf(out, "%s = ", j->cfg[i].key);
        put_str(out, j->cfg[i].value);
    }
    rt_strbuf_printf(out, "in %d\n", j->nin);
    for (int i = 0; i < j->nin; i++)
        rt_strbuf_printf(out, "%s %s %zu\n", j->in[i].role, j->in[i].kind, j->in[i].size);
    for (int i = 0; i < j->nin; i++) {
        rt_strbuf_printf(out, "data %s\n", j->in[i].role);
        put_b64(out, j->in[i].data, j->in[i].size);
    }
    if (out->err) return diag(d, RT_ENOMEM, 0, 0, "job: out of memory");
    char hex[17];
    rt_job_hash_hex(rt_job_fnv1a64(out->s + start, out->len - start), hex);
    rt_strbuf_printf(out, "hash %s\n", hex);
    return out->err ? diag(d, RT_ENOMEM, 0, 0, "job: out of memory") : 0;
}

int rt_job_hash(const rt_job *j, uint64_t *hash, rt_diag *d)
{
    rt_strbuf b;
    rt_strbuf_init(&b);
    int rc = rt_job_pack(j, &b, d);
    if (rc == 0) { /* the hash line is the last 22 bytes: "hash " 16 hex digits '\n' */
        *hash = rt_job_fnv1a64(b.s, b.len - 22);
    }
    rt_strbuf_free(&b);
    return rc;
}

/* ---- unpack -------------------------------------------------------------------------- */

/* The reader: the input, the current line, and (second pass) where decoded bytes go. */
typedef struct rd {
    const unsigned char *p;
    size_t n, pos;          /* pos: the start of the next line */
    const unsigned char *s; /* the current line, without its '\n' */
    size_t len;
    int line;
    rt_diag *d;
    /* what the first pass learns */
    int ncfg, nin;
    size_t key_at[RT_JOB_MAX_CFG], in_at[RT_JOB_MAX_IN], in_size[RT_JOB_MAX_IN];
    unsigned char key_len[RT_JOB_MAX_CFG], in_len[RT_JOB_MAX_IN];
    size_t str_bytes, blob_bytes;
    uint64_t hash;
    /* second pass: the block's parts (NULL in the first pass) */
    rt_job *job;
    char *str;           /* next string byte */
    unsigned char *blob; /* next blob byte */
} rd;

static int bad(rd *r, size_t col, const char *fmt, ...)
{
    if (r->d) {
        char m[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof m, fmt, ap);
        va_end(ap);
        diag(r->d, RT_EFORMAT, r->line, (int)col + 1, "job: line %d: %s", r->line, m);
    }
    return RT_EFORMAT;
}

/* Steps to the next line; what names what was expected there. */
static int next_line(rd *r, const char *what)
{
    r->line++;
    if (r->pos >= r->n) return bad(r, 0, "unexpected end of the job (expected %s)", what);
    const unsigned char *e = memchr(r->p + r->pos, '\n', r->n - r->pos);
    if (!e) return bad(r, r->n - r->pos, "truncated (no newline at the end)");
    r->s = r->p + r->pos;
    r->len = (size_t)(e - r->s);
    r->pos += r->len + 1;
    return 0;
}

/* The line starts with "TAG " (or is "TAG" when rest is 0); sets *at past it. */
static int expect_tag(rd *r, const char *tag, size_t *at, const char *shape)
{
    size_t k = strlen(tag);
    if (r->len <= k || memcmp(r->s, tag, k) != 0 || r->s[k] != ' ')
        return bad(r, 0, "expected '%s'", shape);
    *at = k + 1;
    return 0;
}

/* a word at s[*at..): the longest run of word bytes (the caller checks what follows) */
static int word(rd *r, size_t *at, size_t *wlen, const char *what)
{
    size_t i = *at;
    while (i < r->len && word_byte(r->s[i]))
        i++;
    size_t k = i - *at;
    if (k == 0)
        return bad(r, i, "%s: expected a word (printable ASCII but space, '\"', '\\' and '=')",
                   what);
    if (k > RT_JOB_MAX_WORD) return bad(r, *at, "%s longer than %d bytes", what, RT_JOB_MAX_WORD);
    *wlen = k;
    *at = i;
    return 0;
}

/* the end of the line must be at *at */
static int line_end(rd *r, size_t at)
{
    return at == r->len ? 0 : bad(r, at, "unexpected text at the end of the line");
}

/* a decimal number without leading zeros, at most max */
static int number(rd *r, size_t *at, size_t max, size_t *v, const char *what)
{
    size_t i = *at, x = 0;
    if (i >= r->len || r->s[i] < '0' || r->s[i] > '9')
        return bad(r, i, "%s: expected a number", what);
    if (r->s[i] == '0' && i + 1 < r->len && r->s[i + 1] >= '0' && r->s[i + 1] <= '9')
        return bad(r, i, "%s: leading zero", what);
    for (; i < r->len && r->s[i] >= '0' && r->s[i] <= '9'; i++) {
        if (x > (max - (size_t)(r->s[i] - '0')) / 10)
            return bad(r, *at, "%s: more than %zu", what, max);
        x = x * 10 + (size_t)(r->s[i] - '0');
    }
    *v = x;
    *at = i;
    return 0;
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex64(rd *r, size_t *at, uint64_t *v, const char *what)
{
    uint64_t x = 0;
    for (int k = 0; k < 16; k++) {
        int h = *at + (size_t)k < r->len ? hexval(r->s[*at + (size_t)k]) : -1;
        if (h < 0) return bad(r, *at + (size_t)k, "%s: expected 16 lowercase hex digits", what);
        x = x << 4 | (uint64_t)h;
    }
    if (*at + 16 < r->len && r->s[*at + 16] != ' ')
        return bad(r, *at + 16, "%s: expected 16 lowercase hex digits", what);
    *v = x;
    *at += 16;
    return 0;
}

/* One unit of a string's body at s[i..e): a raw byte (or a well-formed UTF-8 sequence)
 * or an escape.  Sets *b to its first decoded byte and returns its source length
 * (0: the byte at i cannot start a unit). */
static size_t unit(const unsigned char *s, size_t i, size_t e, unsigned char *b, size_t *nb)
{
    unsigned char c = s[i];
    *nb = 1;
    if (c == '\\') {
        if (i + 1 >= e) return 0;
        unsigned char x = s[i + 1];
        *b = x == 'n' ? '\n' : x == 't' ? '\t' : x == 'r' ? '\r' : x;
        if (x == '"' || x == '\\' || x == 'n' || x == 't' || x == 'r') return 2;
        if (x != 'x' || i + 3 >= e || hexval(s[i + 2]) < 0 || hexval(s[i + 3]) < 0) return 0;
        *b = (unsigned char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
        return 4;
    }
    *b = c;
    if (c >= 0x80) {
        size_t k = rt_utf8_seq((const char *)s + i, e - i);
        *nb = k;
        return k;
    }
    return c >= 0x20 && c < 0x7f && c != '"' ? 1 : 0;
}

/* A quoted string at s[*at..) (the rest of the line); decodes it to r->str in the
 * second pass (NUL-terminated) and counts its bytes in the first. */
static int string(rd *r, size_t *at, const char **out, const char *what)
{
    size_t i = *at, n = 0;
    if (i >= r->len || r->s[i] != '"') return bad(r, i, "%s: expected '\"'", what);
    i++;
    char *dst = r->str;
    while (1) {
        if (i >= r->len) return bad(r, i, "%s: expected '\"' (to close the string)", what);
        if (r->s[i] == '"') break;
        unsigned char b, look[4];
        size_t nb, k = unit(r->s, i, r->len, &b, &nb);
        if (k == 0 && r->s[i] == '\\') return bad(r, i, "%s: bad escape", what);
        if (k == 0) return bad(r, i, "%s: byte 0x%02x must be escaped", what, r->s[i]);
        if (k == 4) { /* \xHH only where pack writes it: never NUL, never a plain byte */
            int plain = b == '\n' || b == '\t' || b == '\r' || (b >= 0x20 && b < 0x7f);
            size_t m = 1, j = i + 4, lk, lnb;
            look[0] = b;
            while (b >= 0x80 && m < 4 && j < r->len && r->s[j] != '"' &&
                   (lk = unit(r->s, j, r->len, &look[m], &lnb)) > 0 && lnb == 1)
                j += lk, m++;
            if (b == 0) return bad(r, i, "%s: NUL byte", what);
            if (plain || (b >= 0x80 && rt_utf8_seq((const char *)look, m) > 0))
                return bad(r, i, "%s: needless escape (not the canonical form)", what);
        }
        if (n + nb > RT_JOB_MAX_STR)
            return bad(r, i, "%s longer than %d bytes", what, RT_JOB_MAX_STR);
        if (dst) {
            if (nb == 1)
                dst[n] = (char)b;
            else
                memcpy(dst + n, r->s + i, nb);
        }
        n += nb;
        i += k;
    }
    *at = i + 1;
    r->str_bytes += n + 1;
    if (dst) {
        dst[n] = '\0';
        *out = dst;
        r->str += n + 1;
    }
    return 0;
}

/* a word copied (second pass) as a string */
static const char *keep_word(rd *r, size_t at, size_t k)
{
    r->str_bytes += k + 1;
    if (!r->str) return NULL;
    char *s = r->str;
    memcpy(s, r->s + at, k);
    s[k] = '\0';
    r->str += k + 1;
    return s;
}

/* input i's base64 lines: exactly the lines and padding pack writes */
static int payload(rd *r, int i, unsigned char *dst)
{
    size_t size = r->in_size[i], chars = (size + 2) / 3 * 4, o = 0;
    for (size_t done = 0; done < chars;) {
        if (next_line(r, "base64")) return RT_EFORMAT;
        size_t want = chars - done < B64_LINE ? chars - done : B64_LINE;
        if (r->len != want)
            return bad(r, r->len < want ? r->len : want, "expected %zu base64 characters, got %zu",
                       want, r->len);
        for (size_t q = 0; q < want; q += 4) {
            int v[4], pad = 0;
            for (int k = 0; k < 4; k++) {
                unsigned char c = r->s[q + (size_t)k];
                size_t g = (done + q) / 4 * 3; /* the group's first byte */
                int need = k < 2 || g + (size_t)k - 1 < size;
                v[k] = c == '=' ? -2 : rt_b64_value(c);
                if (need ? v[k] < 0 : c != '=')
                    return bad(r, q + (size_t)k, "bad base64 character '%c'",
                               c >= 0x20 && c < 0x7f ? c : '?');
                if (!need) v[k] = 0, pad++;
            }
            uint32_t x =
                (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
            if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
                return bad(r, q + 3 - (size_t)pad, "base64 padding bits not zero");
            for (int k = 0; k < 3 - pad; k++, o++)
                if (dst) dst[o] = (unsigned char)(x >> (16 - 8 * k));
        }
        done += want;
    }
    return 0;
}

/* The whole grammar; the first pass (r->job NULL) validates and counts, the second
 * decodes into the block. */
static int parse(rd *r)
{
    size_t at, k, v;
    rt_job *j = r->job;
    if (next_line(r, "'rlhf-job 1'")) return RT_EFORMAT;
    if (r->len >= 9 && memcmp(r->s, "rlhf-job ", 9) == 0 && !(r->len == 10 && r->s[9] == '1')) {
        char ver[21]; /* a sanitized sample: printable ASCII, '?' for the rest */
        size_t m = r->len - 9 > 20 ? 20 : r->len - 9;
        for (size_t q = 0; q < m; q++)
            ver[q] = r->s[9 + q] >= 0x20 && r->s[9 + q] < 0x7f ? (char)r->s[9 + q] : '?';
        ver[m] = '\0';
        return bad(r, 9, "format version '%s', expected %d", ver, RT_JOB_VERSION);
    }
    if (r->len != 10 || memcmp(r->s, "rlhf-job 1", 10) != 0)
        return bad(r, 0, "not a job (expected 'rlhf-job 1')");
    if (next_line(r, "'trainer NAME'") || expect_tag(r, "trainer", &at, "trainer NAME") ||
        word(r, &at, &k, "trainer") || line_end(r, at))
        return RT_EFORMAT;
    const char *w = keep_word(r, 8, k);
    if (j) j->trainer = w;
    if (next_line(r, "'name \"NAME\"'") || expect_tag(r, "name", &at, "name \"NAME\"") ||
        string(r, &at, j ? &j->name : NULL, "name") || line_end(r, at))
        return RT_EFORMAT;
    uint64_t key, ctr;
    if (next_line(r, "'rng KEY COUNTER'") || expect_tag(r, "rng", &at, "rng KEY COUNTER") ||
        hex64(r, &at, &key, "rng key"))
        return RT_EFORMAT;
    if (at >= r->len || r->s[at] != ' ') return bad(r, at, "expected 'rng KEY COUNTER'");
    at++;
    if (hex64(r, &at, &ctr, "rng counter") || line_end(r, at)) return RT_EFORMAT;
    if (j) j->rng.key = key, j->rng.ctr = ctr;
    if (next_line(r, "'cfg COUNT'") || expect_tag(r, "cfg", &at, "cfg COUNT") ||
        number(r, &at, RT_JOB_MAX_CFG, &v, "cfg count") || line_end(r, at))
        return RT_EFORMAT;
    r->ncfg = (int)v;
    for (int i = 0; i < r->ncfg; i++) {
        at = 0;
        if (next_line(r, "'KEY = \"VALUE\"'")) return RT_EFORMAT;
        if (word(r, &at, &k, "key")) return RT_EFORMAT;
        if (r->len - at < 3 || memcmp(r->s + at, " = ", 3) != 0)
            return bad(r, at, "expected 'KEY = \"VALUE\"'");
        size_t kat = (size_t)(r->s - r->p);
        for (int q = 0; q < i; q++)
            if (r->key_len[q] == k && memcmp(r->p + r->key_at[q], r->s, k) == 0)
                return bad(r, 0, "key '%.*s' given twice", (int)k, (const char *)r->s);
        r->key_at[i] = kat, r->key_len[i] = (unsigned char)k;
        w = keep_word(r, 0, k);
        at += 3;
        if (string(r, &at, j ? &((rt_kv *)j->cfg)[i].value : NULL, "value") || line_end(r, at))
            return RT_EFORMAT;
        if (j) ((rt_kv *)j->cfg)[i].key = w;
    }
    if (next_line(r, "'in COUNT'") || expect_tag(r, "in", &at, "in COUNT") ||
        number(r, &at, RT_JOB_MAX_IN, &v, "input count") || line_end(r, at))
        return RT_EFORMAT;
    r->nin = (int)v;
    for (int i = 0; i < r->nin; i++) {
        rt_job_input *in = j ? &((rt_job_input *)j->in)[i] : NULL;
        size_t rk, kat, kk;
        at = 0;
        if (next_line(r, "'ROLE KIND SIZE'") || word(r, &at, &rk, "role")) return RT_EFORMAT;
        r->in_at[i] = (size_t)(r->s - r->p), r->in_len[i] = (unsigned char)rk;
        if (at >= r->len || r->s[at] != ' ') return bad(r, at, "expected 'ROLE KIND SIZE'");
        kat = ++at;
        if (word(r, &at, &kk, "kind")) return RT_EFORMAT;
        if (at >= r->len || r->s[at] != ' ') return bad(r, at, "expected 'ROLE KIND SIZE'");
        at++;
        if (number(r, &at, RT_JOB_MAX_INPUT, &r->in_size[i], "size") || line_end(r, at))
            return RT_EFORMAT;
        const char *role = keep_word(r, 0, rk), *kind = keep_word(r, kat, kk);
        r->blob_bytes += (r->in_size[i] + ALIGN - 1) / ALIGN * ALIGN;
        if (in) in->role = role, in->kind = kind, in->size = r->in_size[i];
    }
    for (int i = 0; i < r->nin; i++) {
        if (next_line(r, "'data ROLE'") || expect_tag(r, "data", &at, "data ROLE"))
            return RT_EFORMAT;
        if (r->len - at != r->in_len[i] || memcmp(r->s + at, r->p + r->in_at[i], r->in_len[i]) != 0)
            return bad(r, at, "expected 'data %.*s' (input %d)", (int)r->in_len[i],
                       (const char *)r->p + r->in_at[i], i + 1);
        rt_job_input *in = j ? &((rt_job_input *)j->in)[i] : NULL;
        if (in) in->data = r->in_size[i] ? r->blob : NULL;
        if (payload(r, i, r->blob)) return RT_EFORMAT;
        if (r->blob) r->blob += (r->in_size[i] + ALIGN - 1) / ALIGN * ALIGN;
    }
    size_t hashed = r->pos;
    uint64_t h;
    if (next_line(r, "'hash HEX'") || expect_tag(r, "hash", &at, "hash HEX") ||
        hex64(r, &at, &h, "hash") || line_end(r, at))
        return RT_EFORMAT;
    if (!j && h != rt_job_fnv1a64(r->p, hashed))
        return bad(r, 5, "hash mismatch (the job was changed or damaged)");
    if (r->pos != r->n) {
        r->line++;
        return bad(r, 0, "trailing bytes after the hash line");
    }
    r->hash = h;
    return 0;
}

void rt_job_owned_free(rt_job_owned *o)
{
    if (!o) return;
    rt_free(o->block);
    memset(o, 0, sizeof *o);
}

int rt_job_unpack(const void *p, size_t n, rt_job_owned *out, rt_diag *d)
{
    memset(out, 0, sizeof *out);
    if (d) memset(d, 0, sizeof *d);
    rd *r = rt_calloc(1, sizeof *r); /* ~10 KB of spans: not on a worker's stack */
    if (!r) return diag(d, RT_ENOMEM, 0, 0, "job: out of memory");
    r->p = p, r->n = p ? n : 0, r->d = d;
    int rc = parse(r);
    if (rc) {
        rt_free(r);
        return rc;
    }
    size_t kvb = ((size_t)r->ncfg * sizeof(rt_kv) + ALIGN - 1) / ALIGN * ALIGN;
    size_t inb = ((size_t)r->nin * sizeof(rt_job_input) + ALIGN - 1) / ALIGN * ALIGN;
    size_t total = kvb + inb + r->blob_bytes + r->str_bytes;
    unsigned char *block = rt_malloc(total);
    if (!block) {
        rt_free(r);
        return diag(d, RT_ENOMEM, 0, 0, "job: out of memory (%zu bytes)", total);
    }
    /* the second pass: same bytes, now decoded into the block */
    rt_job *j = &out->job;
    j->cfg = r->ncfg ? (rt_kv *)block : NULL;
    j->in = r->nin ? (rt_job_input *)(block + kvb) : NULL;
    j->ncfg = r->ncfg, j->nin = r->nin;
    size_t blob_bytes = r->blob_bytes;
    memset(r, 0, offsetof(rd, job));
    r->p = p, r->n = n, r->d = d, r->job = j;
    r->blob = block + kvb + inb;
    r->str = (char *)(block + kvb + inb + blob_bytes);
    rc = parse(r);
    out->hash = r->hash;
    out->block = block;
    rt_free(r);
    if (rc) { /* cannot happen: the first pass accepted the same bytes */
        rt_job_owned_free(out);
        return diag(d, RT_EFORMAT, 0, 0, "job: internal error (second pass)");
    }
    return 0;
}
