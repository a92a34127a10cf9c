/* fuzz_job.c: the libFuzzer target of rt_job_unpack (runtime/train/rt_job.h).
 * Any bytes: unpack must not crash, hang or read outside them (the sanitizers watch),
 * and when it accepts them, packing the job again must give the same bytes (the
 * canonical form).  So that mutations get past the hash line, an input refused only for
 * its hash is tried again with the hash fixed.  Built and fuzzed by tools/fuzz/fuzz (target
 * `job`); replayed over tests/fuzz/regress/job by tests/fuzz/replay.c as an ordinary test.
 * In `tools/fuzz/fuzz ci` it gets half the seconds of the others (fuzz-ci-share: 1/2):
 * fuzz_manifest.c unpacks jobs too (a manifest's lines), with the other half. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(const uint8_t *data, size_t size, rt_diag *d)
{
    rt_job_owned o;
    int rc = rt_job_unpack(data, size, &o, d);
    if (rc == 0) {
        rt_strbuf b;
        rt_strbuf_init(&b);
        if (rt_job_pack(&o.job, &b, NULL) != 0 || b.len != size || memcmp(b.s, data, size) != 0)
            abort(); /* accepted bytes that are not the canonical form of their job */
        rt_strbuf_free(&b);
    } else if (rc != RT_EFORMAT && rc != RT_ENOMEM) {
        abort();
    } else if (rc == RT_EFORMAT && (d->line < 1 || strncmp(d->msg, "job: line ", 10) != 0)) {
        abort(); /* every format error names its line */
    }
    rt_job_owned_free(&o);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_diag d;
    if (check(data, size, &d) != RT_EFORMAT || !strstr(d.msg, "hash mismatch") || size < 22 ||
        memcmp(data + size - 22, "hash ", 5) != 0)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    char hex[17];
    rt_job_hash_hex(rt_job_fnv1a64(data, size - 22), hex);
    memcpy(fixed + size - 17, hex, 16);
    check(fixed, size, &d);
    free(fixed);
    return 0;
}
