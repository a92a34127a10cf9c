/* fuzz_runfile: the run-file reader of runtime/train/rt_runfile.h (what the kernel reads
 * from a worker's point-I.run, which any process with the job directory can write).
 * Input: byte 0 a cut (the file is read in two polls: its first (byte 0 * len / 255)
 * bytes, then the rest appended, as a file that grows), the rest the file's bytes.
 * The run read has the columns "step", "loss", "reward".
 * Invariants: a poll returns >= 0 records, or RT_EMAGIC / RT_EVERSION / RT_EFORMAT with a
 * message naming the file (never RT_ENOMEM, RT_EIO here); once it fails it is not
 * retried.  Read in two parts or whole, the same outcome: the same error code, or the same
 * rows bit for bit, the same status, step and message, the same records applied; a
 * started run only with a whole header; an ended run only with its end record; rows never
 * more than bytes / 9 (a row of one column).
 * In `tools/fuzz/fuzz ci` it gets half the seconds of the others (fuzz-ci-share: 1/2): a
 * small parser.
 * fuzz-dict: runfile */
#include <unistd.h>

#include "fuzz_common.h"
#include "rt_run.h"
#include "rt_runfile.h"

static const char *const cols[] = {"step", "loss", "reward"};

typedef struct outcome {
    int rc; /* the first error, or the records applied */
    long rows;
    double *values;
    rt_run_status st;
    long step;
    char msg[256];
} outcome;

static char path[64];

static void put(const uint8_t *p, size_t n, const char *mode)
{
    FILE *f = fopen(path, mode);
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    FUZZ_CHECK(fwrite(p, 1, n, f) == n, "short write");
    fclose(f);
}

static int poll_once(rt_runfile_reader *r, rt_run *run, int *total)
{
    rt_diag d = {0};
    int rc = rt_runfile_poll(r, run, &d);
    if (rc < 0) {
        FUZZ_CHECK(rc == RT_EMAGIC || rc == RT_EVERSION || rc == RT_EFORMAT, "code %d: %s", rc,
                   d.msg);
        FUZZ_CHECK(d.code == rc && strstr(d.msg, path) != NULL, "message '%s'", d.msg);
        return rc;
    }
    *total += rc;
    return 0;
}

static void read_file(const uint8_t *data, size_t len, size_t cut, outcome *o)
{
    rt_run *run = NULL;
    FUZZ_CHECK(rt_run_create("p", cols, 3, &run) == 0, "run");
    rt_runfile_reader *r = NULL;
    FUZZ_CHECK(rt_runfile_reader_new(path, &r) == 0, "reader");
    int total = 0;
    put(data, cut, "wb");
    o->rc = poll_once(r, run, &total);
    if (!o->rc) {
        put(data + cut, len - cut, "ab");
        o->rc = poll_once(r, run, &total);
    }
    if (!o->rc) o->rc = total;
    o->rows = rt_run_rows(run);
    FUZZ_CHECK(o->rows <= (long)(len / 9), "%ld rows from %zu bytes", o->rows, len);
    o->values = malloc((size_t)(o->rows ? o->rows : 1) * 3 * sizeof(double));
    FUZZ_CHECK(o->values && rt_run_read(run, 0, o->rows, o->values) == o->rows, "read");
    o->st = rt_run_status_of(run, &o->step, o->msg, sizeof o->msg);
    rt_run_status es;
    long estep;
    int ended = rt_runfile_ended(r, &es, &estep);
    FUZZ_CHECK(rt_runfile_started(r) == (o->st != RT_RUN_CREATED), "started %d, status %d",
               rt_runfile_started(r), o->st);
    FUZZ_CHECK(!ended || (es == o->st && estep == o->step), "end %d/%ld, run %d/%ld", es, estep,
               o->st, o->step);
    FUZZ_CHECK(ended || o->st == RT_RUN_CREATED || o->st == RT_RUN_RUNNING, "status %d", o->st);
    rt_runfile_reader_free(r);
    rt_run_free(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_runfile.%ld", (long)getpid());
    size_t len = size - 1, cut = (size_t)data[0] * len / 255;
    outcome a = {0}, b = {0};
    read_file(data + 1, len, cut, &a);
    read_file(data + 1, len, len, &b); /* whole */
    if (a.rc < 0 || b.rc < 0) {
        FUZZ_CHECK(a.rc == b.rc, "in two parts %d, whole %d", a.rc, b.rc);
    } else {
        FUZZ_CHECK(a.rc == b.rc, "records %d in two parts, %d whole", a.rc, b.rc);
        FUZZ_CHECK(a.rows == b.rows && !memcmp(a.values, b.values, (size_t)a.rows * 24),
                   "rows differ");
        FUZZ_CHECK(a.st == b.st && a.step == b.step && !strcmp(a.msg, b.msg), "ends differ");
    }
    free(a.values);
    free(b.values);
    unlink(path);
    return 0;
}
