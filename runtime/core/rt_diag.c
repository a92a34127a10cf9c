/* rt_diag: see rt_diag.h. */
#include "rt_diag.h"

#include <stdio.h>
#include <string.h>

void rt_diag_clear(rt_diag *d)
{
    if (d) memset(d, 0, sizeof *d);
}

int rt_diag_vset(rt_diag *d, int code, const char *fmt, va_list ap)
{
    if (!d) return code;
    d->code = code;
    if (fmt) vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    else d->msg[0] = '\0';
    return code;
}

int rt_diag_set(rt_diag *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_diag_vset(d, code, fmt, ap);
    va_end(ap);
    return code;
}

int rt_diag_vkey(rt_diag *d, int code, const char *key, const char *fmt, va_list ap)
{
    if (!d) return code;
    snprintf(d->key, sizeof d->key, "%s", key ? key : "");
    return rt_diag_vset(d, code, fmt, ap);
}

int rt_diag_key(rt_diag *d, int code, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_diag_vkey(d, code, key, fmt, ap);
    va_end(ap);
    return code;
}

const char *rt_diag_code_name(int code)
{
    static const char *const names[] = {
        "ok", "invalid argument", "out of memory", "failed", "interrupted", "syntax error",
        "unknown name", "wrong arguments", "limit exceeded", "bad parameter", "missing feature",
        "parse error", "cannot open", "i/o error", "not the expected kind of file",
        "other format version", "truncated", "checksum mismatch", "trailing bytes",
        "shape mismatch", "over capacity", "model call failed", "too big", "already exists",
        "not found", "malformed data"};
    int i = -code;
    if (i < 0 || i >= (int)(sizeof names / sizeof names[0])) return "error";
    return names[i];
}
