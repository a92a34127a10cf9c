/* fuzz_exec: the whole interpreter (magics/ on runtime/) executing up to 8 fuzzed cells
 * (split at byte 0x1e) on a fresh session, then user_expressions, complete, inspect and
 * is_complete on the session the cells left.
 * Sizes are capped so that one input runs in milliseconds, without any hook in the
 * interpreter:
 *   - every run of digits is cut to its first 2 digits, and a positive exponent ('e'/'E'
 *     after a digit, before a digit or '+') becomes '0' (hidden, batch, steps, context, sweep
 * values, %threads, %sleep: all <= 99); fractional digits after a '.' are kept;
 *   - every cell is interrupted after FUZZ_EXEC_MS milliseconds (default 200) through the
 *     interrupt flag the interpreter polls (a watchdog thread sets it, as the control
 *     thread does on interrupt_request);
 *   - final charts are rasterized (PNG) for one input in 8 (by a hash of its bytes).
 * Files and programs are confined, without any hook in the interpreter either:
 *   - '/', '~' and '\' become '_', so every path a cell names (%save, %load, %export,
 *     %executor jobs|mpi dir=PATH, mpirun=PATH) is one name relative to the working
 *     directory while the cells run, SCRATCH/cells: SCRATCH a fresh directory the harness
 *     makes (mkdtemp) in the one it starts in (tools/fuzz/fuzz runs it in
 *     build-fuzz/work/exec), which is the working directory again between inputs.
 *     A job directory PATH/NAME-<hash> with PATH ".." lands in SCRATCH; nothing can reach
 *     further.  SCRATCH is emptied after every input (so no input sees another's files,
 *     a finding replays alone, and the disk holds one input's files at most) and removed
 *     at exit (a crash leaves it, to look at);
 *   - PATH is set to a directory that does not exist, so `%executor mpi` (whose mpirun=
 *     cannot be a path, see above) never starts mpirun or any program: execvp fails and
 *     the cell reports "cannot start 'mpirun'" (the fork, the pipes and that error path
 *     still run).
 * Invariants: execute returns a known status; every published message is a JSON object of
 * a known type; at most one error per cell and a cell that published an error did not
 * return OK; the editor entry points answer in range on the session the cells built.
 * Dictionary: tools/fuzz/magics.dict (fuzz-dict: magics).
 * Flags: fuzz-flags: -entropic=0
 *   An input here covers ~70,000 features, and libFuzzer's entropic schedule updates the
 *   frequency of each of them after every execution: 40 % of the time (perf) and half
 *   the speed on this target; the plain schedule keeps the same coverage feedback. */
#include <cjson/cJSON.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "krn_utf8.h"
#include "mag_interp.h"
#include "rt_text.h"

#define MAX_CELLS 8

static atomic_int cancel;
static atomic_llong deadline_ns; /* 0: no cell running */
static long cell_ms = 200;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *watchdog(void *arg)
{
    (void)arg;
    /* sleeps until the running cell's deadline (deadlines only move later, so waking
       at an old one is early, never late), 10 ms when no cell runs: a 2 ms poll woke
       the fuzzer 500 times a second */
    for (;;) {
        long long d = atomic_load(&deadline_ns), t = now_ns();
        if (d && t > d) {
            atomic_store(&cancel, 1);
            d = 0;
        }
        long long wait = d ? d - t + 100000 : 10000000;
        if (wait > 10000000) wait = 10000000;
        struct timespec ts = {0, (long)wait};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- confinement: the cells run in SCRATCH/cells, PATH leads nowhere ---- */

static char start_dir[PATH_MAX], scratch[PATH_MAX], cells_dir[PATH_MAX + 8];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    /* everything under SCRATCH but SCRATCH and SCRATCH/cells themselves */
    if (ftw->level == 0 || !strcmp(path, cells_dir)) return 0;
    remove(path);
    return 0;
}

static void empty_scratch(void)
{
    nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
    if (!scratch[0]) return;
    empty_scratch();
    rmdir(cells_dir);
    rmdir(scratch);
}

static void confine(void)
{
    if (!getcwd(start_dir, sizeof start_dir)) abort();
    snprintf(scratch, sizeof scratch, "%.*s/fuzz-exec-XXXXXX", PATH_MAX - 20, start_dir);
    if (!mkdtemp(scratch)) abort();
    snprintf(cells_dir, sizeof cells_dir, "%s/cells", scratch);
    if (mkdir(cells_dir, 0700) != 0) abort();
    atexit(remove_scratch); /* libFuzzer exits with exit(); a crash leaves it for a look */
    /* execvp looks a name without '/' up in PATH: nothing there (glibc reads PATH at each
       call; the sanitizers' symbolizer lookup reads the environment the process began with) */
    setenv("PATH", "/nonexistent/fuzz_exec-runs-no-program", 1);
}

typedef struct sink {
    int errors;
    int messages;
} sink;

static void s_publish(void *s, const char *type, cJSON *content)
{
    sink *k = s;
    static const char *known[] = {
        "stream", "display_data", "update_display_data", "clear_output", "execute_result", "error",
        NULL};
    int ok = 0;
    for (int i = 0; known[i]; i++)
        if (strcmp(type, known[i]) == 0) ok = 1;
    FUZZ_CHECK(ok, "published unknown type %s", type);
    FUZZ_CHECK(cJSON_IsObject(content), "%s content is not an object", type);
    char *txt = cJSON_PrintUnformatted(content);
    FUZZ_CHECK(txt, "%s content does not print", type);
    free(txt);
    if (strcmp(type, "error") == 0) {
        k->errors++;
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItem(content, "ename")) &&
                       cJSON_IsString(cJSON_GetObjectItem(content, "evalue")) &&
                       cJSON_IsArray(cJSON_GetObjectItem(content, "traceback")),
                   "error fields");
    }
    k->messages++;
    cJSON_Delete(content);
}

static int s_input(void *s, const char *prompt, bool pw, char **reply)
{
    (void)s;
    (void)prompt;
    (void)pw;
    (void)reply;
    return KRN_OUT_ENOSTDIN;
}

static const krn_sink_vtable sink_vt = {s_publish, s_input};

/* Caps sizes in a cell (see the top comment); returns a malloc'ed C string. */
static char *tame(const fuzz_part *p)
{
    char *s = fuzz_strdup(p);
    if (!s) return NULL;
    size_t run = 0;
    int frac = 0;
    for (size_t i = 0; i < p->len; i++) {
        char c = s[i];
        if (c == '/' || c == '~' || c == '\\' || c == '\0') s[i] = c = '_';
        if (c >= '0' && c <= '9') {
            if (++run > 2 && !frac) s[i] = ' ';
        } else if ((c == 'e' || c == 'E') && run && i + 1 < p->len &&
                   ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '+')) {
            s[i] = '0';
            if (++run > 2 && !frac) s[i] = ' ';
        } else {
            frac = c == '.' && run;
            run = 0;
        }
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pthread_t th;
    if (!th) {
        const char *e = getenv("FUZZ_EXEC_MS");
        if (e && atol(e) > 0) cell_ms = atol(e);
        if (pthread_create(&th, NULL, watchdog, NULL) != 0) abort();
        confine();
    }
    if (size > 4096) return 0;
    /* final charts are rasterized to PNG (librsvg + cairo: ~30 % of the time, perf) for
       one input in 8, chosen by its bytes so that a finding replays the same way */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    setenv("RLHF_CHART_PNG", h % 8 ? "off" : "on", 1); /* no other thread reads it now */
    fuzz_part parts[MAX_CELLS];
    size_t n = fuzz_split(data, size, parts, MAX_CELLS);
    /* in SCRATCH/cells only while the cells run: libFuzzer's own relative paths (inputs
       named on its command line, artifacts without -artifact_prefix) stay where it began */
    if (chdir(cells_dir) != 0) abort();
    krn_interp *it = mag_interp_new();
    if (!it) abort();
    char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        char *code = tame(&parts[i]);
        if (!code) break;
        sink k = {0, 0};
        atomic_store(&cancel, 0);
        krn_out *o = krn_out_new(&sink_vt, &k, &cancel, (int)i + 1, false);
        atomic_store(&deadline_ns, now_ns() + cell_ms * 1000000LL);
        int rc = it->vt->execute(it->self, o, code, (int)i + 1);
        atomic_store(&deadline_ns, 0);
        krn_out_finish(o);
        FUZZ_CHECK(rc == KRN_EXEC_OK || rc == KRN_EXEC_ERROR || rc == KRN_EXEC_INTERRUPTED,
                   "execute returned %d", rc);
        FUZZ_CHECK(k.errors <= 1, "%d errors in one cell", k.errors);
        FUZZ_CHECK(!(k.errors && rc == KRN_EXEC_OK), "an error was published but the cell is OK");
        krn_out_free(o);
        free(last);
        last = code;
    }
    if (last) {
        size_t cps = krn_utf8_byte_to_cp(last, strlen(last));
        if (rt_utf8_cols(last, strlen(last)) > cps) cps = rt_utf8_cols(last, strlen(last));
        char ind[32];
        int ic = it->vt->is_complete(it->self, last, ind);
        FUZZ_CHECK(ic >= KRN_COMPLETE && ic <= KRN_UNKNOWN, "is_complete %d", ic);
        krn_completion c;
        memset(&c, 0, sizeof c);
        size_t cursor = size ? data[size - 1] % (cps + 2) : 0;
        if (it->vt->complete(it->self, last, cursor, &c) == 0)
            FUZZ_CHECK(c.cursor_start <= c.cursor_end && c.cursor_end <= cps,
                       "completion range %zu..%zu of %zu", c.cursor_start, c.cursor_end, cps);
        krn_completion_free(&c);
        char *text = NULL;
        int found = it->vt->inspect(it->self, last, cursor, 0, &text);
        FUZZ_CHECK(found == 0 || (found == 1 && text), "inspect %d", found);
        free(text);
        if (it->vt->evaluate) {
            char ename[64], evalue[256];
            text = NULL;
            if (it->vt->evaluate(it->self, last, &text, ename, evalue) == 0)
                FUZZ_CHECK(text, "evaluate without text");
            else
                FUZZ_CHECK(fuzz_cstr_ok(ename, 64) && fuzz_cstr_ok(evalue, 256), "ename");
            free(text);
        }
        free(last);
    }
    mag_interp_free(it);
    empty_scratch();
    if (chdir(start_dir) != 0) abort();
    return 0;
}
