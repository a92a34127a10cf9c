/* rt_manifest: the manifest of a job directory — the jobs of one training cell's sweep
 * points (rt_job.h), in point order, so that another process (`rlhf-kernel worker DIR
 * --point I`, later an MPI rank or a Slurm array task) can run point I from this text
 * alone.
 *
 * The form ("rlhf-manifest 1") is text, one line per point after a header, every line
 * ending in '\n':
 *
 *     rlhf-manifest 1 3                          version, number of points
 *     0 5f1c0a4e9b2d7733 cmxoZi1qb2IgMQp0cmFp...  POINT HASH JOB
 *     1 0a9b8c7d6e5f4a3b cmxoZi1qb2IgMQp0cmFp...
 *     2 ...
 *
 * POINT is the point's index (decimal, 0 at the first line after the header), HASH the
 * job's content hash (its `hash` line, 16 lowercase hex digits: the name a reader sees),
 * JOB the packed job (rt_job_pack) in base64 on one line (RFC 4648, '=' padded, no line
 * breaks; decoding is strict: canonical padding bits, no other bytes), so one line is one
 * point and a line cannot break another.  The packed job itself is text a person can read
 * (a job directory keeps it beside the manifest, rt_manifest.h leaves that to its writer).
 * Any changed byte of a point's line is found: the job's own FNV-1a hash covers its
 * bytes, HASH must equal it and POINT its place; the header must count the lines that
 * follow; the error names the manifest line ("manifest: line 3: ...").
 *
 * Leaves out: the files of a job directory and running jobs (magics/mag_jobs.h). */
#ifndef RT_MANIFEST_H
#define RT_MANIFEST_H

#include <stddef.h>

#include "rt_diag.h"
#include "rt_job.h"
#include "rt_text.h"

#define RT_MANIFEST_VERSION 1
#define RT_MANIFEST_MAX_POINTS 4096

/* Appends the manifest of jobs[0..n) (1 <= n <= RT_MANIFEST_MAX_POINTS) to out.  0,
 * rt_job_check's RT_EINVAL (naming the point; nothing appended) or RT_ENOMEM. */
int rt_manifest_write(const rt_job *jobs, int n, rt_strbuf *out, rt_diag *d);

/* Parses the header of manifest p[0..n) and job `point` (0-based): *npoints = the
 * header's count (also on errors past the header; else -1), and on success *out = the
 * job (rt_job_owned_free).  RT_EFORMAT with "manifest: line L: ..." (d->line = L) for a
 * malformed header (or a count that is not the number of lines after it) or a
 * malformed line of that point (the lines of other points are only counted);
 * RT_ENOTFOUND when point is not in [0, npoints) ("manifest: point 7 is out of range:
 * the manifest has 3 points (0 to 2)"); RT_ENOMEM. */
int rt_manifest_point(const void *p, size_t n, int point, int *npoints, rt_job_owned *out,
                      rt_diag *d);

/* Strict base64 (the manifest's): encode appends 4 * ceil(n / 3) characters; decode
 * returns the decoded size and fills dst (may be NULL: size only), or -1 with the
 * 0-based offset of the first bad character in *bad. */
void rt_manifest_b64_encode(const void *p, size_t n, rt_strbuf *out);
long rt_manifest_b64_decode(const char *s, size_t n, unsigned char *dst, size_t *bad);

#endif
