/* krn_headless: the headless runner (see krn_headless.h). A display with a transient
 * display_id (a live chart) is held and replaced by its updates; only its last frame is
 * printed (and saved), when any other output of the cell arrives or the cell ends, so a
 * training cell prints one chart, not every frame. A display that ends with the text of
 * the frame just printed (a summary repeating the final frame for clients that ignore
 * updates) is printed without that repetition.
 * While a live display updates, a progress line goes to stderr (redrawn in place on a
 * terminal, else one line every RLHF_PROGRESS_SECONDS). It is derived generically from
 * the frames' text/plain (their first lines), so this file stays ignorant of what the
 * frames show. Leaves out markdown rendering and writing outputs back into the notebook. */
#include "krn_headless.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "krn_signal.h"

#define HELD_MAX 8
#define PROGRESS_LINES 3          /* first non-blank lines of a frame's text shown */
#define PROGRESS_MAX_COLS 200     /* cap of a progress line when stderr is not a terminal */
#define PROGRESS_DEFAULT_SECS 5.0 /* between progress lines when stderr is not a terminal */

/* The progress line of the running cell. */
typedef struct progress {
    double interval; /* seconds between lines when not a terminal; 0: no progress */
    bool tty;        /* stderr is a terminal: one line redrawn with '\r' */
    int cell;        /* 1-based code cell number */
    double t0, last; /* when the cell started, when the last line was printed */
    size_t shown;    /* columns of the line now on the terminal (0: none) */
} progress;

/* A live display whose latest frame has not been printed yet. */
typedef struct held_display {
    char id[128];
    cJSON *data; /* the latest mime bundle (owned) */
} held_display;

typedef struct print_sink {
    const char *svg_dir;
    int cell;      /* 1-based code cell number */
    int svg_count; /* svgs written for this cell */
    held_display held[HELD_MAX];
    int n_held;
    char *last_live; /* text of the frame flushed last, until the next output (owned) */
    progress pg;
} print_sink;

/* ---- progress --------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* RLHF_PROGRESS_SECONDS: seconds >= 0 (0: off); default 5. */
static double progress_interval(void)
{
    const char *e = getenv("RLHF_PROGRESS_SECONDS");
    if (!e || !*e) return PROGRESS_DEFAULT_SECS;
    char *end;
    double v = strtod(e, &end);
    if (*end || !(v >= 0 && v < 1e9)) {
        fprintf(stderr,
                "rlhf-kernel run: RLHF_PROGRESS_SECONDS='%.40s' is not a number of seconds "
                ">= 0; using %g\n",
                e, PROGRESS_DEFAULT_SECS);
        return PROGRESS_DEFAULT_SECS;
    }
    return v;
}

static size_t terminal_cols(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long n = c ? strtol(c, NULL, 10) : 0;
    return n > 0 && n < 10000 ? (size_t)n : 80;
}

/* Appends UTF-8 text to line (cap bytes) up to max_cols code points in all; returns the
 * code points written so far. Control characters become spaces, runs of spaces one. */
static size_t put_cols(char *line, size_t cap, size_t *len, size_t cols, size_t max_cols,
                       const char *t, size_t n)
{
    for (size_t i = 0; i < n && cols < max_cols; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c < 0x20 || c == 0x7f) c = ' ';
        if (c == ' ' && *len > 0 && line[*len - 1] == ' ') continue;
        size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (i + k > n || *len + k + 1 > cap) break;
        memcpy(line + *len, c == ' ' ? " " : t + i, k);
        *len += k;
        i += k - 1;
        cols++;
    }
    line[*len] = '\0';
    return cols;
}

/* "rlhf-kernel run: cell N [m:ss] L1 · L2 · L3" from the first non-blank lines of a frame's
 * text/plain, at most max_cols code points; returns its columns. */
static size_t progress_line(const progress *pg, const char *text, char *line, size_t cap,
                            size_t max_cols)
{
    char head[64];
    long el = (long)(now_s() - pg->t0);
    snprintf(head, sizeof head, "rlhf-kernel run: cell %d [%ld:%02ld] ", pg->cell, el / 60,
             el % 60);
    size_t len = 0, cols = put_cols(line, cap, &len, 0, max_cols, head, strlen(head));
    int taken = 0;
    for (const char *p = text; *p && taken < PROGRESS_LINES;) {
        size_t n = strcspn(p, "\n");
        size_t a = strspn(p, " \t\r");
        if (a < n) {
            if (taken++) cols = put_cols(line, cap, &len, cols, max_cols, " \u00b7 ", 4);
            cols = put_cols(line, cap, &len, cols, max_cols, p + a, n - a);
        }
        p += n + (p[n] == '\n');
    }
    while (len > 0 && line[len - 1] == ' ')
        line[--len] = '\0', cols--;
    return cols;
}

/* A new frame of a live display: redraw the terminal line, or print a line when due. */
static void progress_frame(progress *pg, const char *text)
{
    if (pg->interval <= 0 || !text) return;
    char line[1024];
    double now = now_s();
    if (pg->tty) {
        size_t cols = terminal_cols(), w = progress_line(pg, text, line, sizeof line, cols - 1);
        fprintf(stderr, "\r%s", line);
        for (size_t i = w; i < pg->shown; i++)
            fputc(' ', stderr);
        pg->shown = w;
    } else if (now - pg->last >= pg->interval) {
        progress_line(pg, text, line, sizeof line, PROGRESS_MAX_COLS);
        fprintf(stderr, "%s\n", line);
        pg->last = now;
    }
    fflush(stderr);
}

/* Blanks the terminal line (before any other output, and at the end of the cell). */
static void progress_clear(progress *pg)
{
    if (!pg->shown) return;
    fputc('\r', stderr);
    for (size_t i = 0; i < pg->shown; i++)
        fputc(' ', stderr);
    fputc('\r', stderr);
    fflush(stderr);
    pg->shown = 0;
}

/* ---- printing ----------------------------------------------------------------------- */

static void print_text(FILE *f, const char *t)
{
    size_t n = strlen(t);
    fwrite(t, 1, n, f);
    if (n == 0 || t[n - 1] != '\n') fputc('\n', f);
}

/* Writes n bytes to DIR/cell<N>-<K>.ext (K counts the images of the cell). */
static void save_file(print_sink *ps, const char *ext, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cell%d-%d.%s", ps->svg_dir, ps->cell, ++ps->svg_count, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n)
        fprintf(stderr, "rlhf-kernel run: cannot write '%s': %s\n", path, strerror(errno));
    if (f) fclose(f);
}

/* --save-svg: an image/svg+xml output as .svg, else an image/png one (a chart's final
 * frame) as .png, decoded from its base64. */
static void save_svg(print_sink *ps, const cJSON *data)
{
    if (!ps->svg_dir) return;
    const cJSON *svg = cJSON_GetObjectItemCaseSensitive(data, "image/svg+xml");
    const cJSON *png = cJSON_GetObjectItemCaseSensitive(data, "image/png");
    if (cJSON_IsString(svg)) {
        save_file(ps, "svg", svg->valuestring, strlen(svg->valuestring));
    } else if (cJSON_IsString(png)) {
        size_t b64 = strlen(png->valuestring), n = 0;
        unsigned char *bin = malloc(b64 / 4 * 3 + 3);
        if (bin && sodium_base642bin(bin, b64 / 4 * 3 + 3, png->valuestring, b64, "\n", &n, NULL,
                                     sodium_base64_VARIANT_ORIGINAL) == 0)
            save_file(ps, "png", bin, n);
        else
            fprintf(stderr, "rlhf-kernel run: cell %d: image/png is not base64\n", ps->cell);
        free(bin);
    }
}

/* Prints text/plain, less a tail "\n<last_live>" that repeats the frame just printed. */
static void show_data(print_sink *ps, const cJSON *data)
{
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(data, "text/plain");
    if (cJSON_IsString(tp)) {
        const char *t = tp->valuestring;
        size_t n = strlen(t), h = ps->last_live ? strlen(ps->last_live) : 0;
        if (h > 0 && n > h + 1 && t[n - h - 1] == '\n' && strcmp(t + n - h, ps->last_live) == 0) {
            fwrite(t, 1, n - h - 1, stdout);
            if (t[n - h - 2] != '\n') fputc('\n', stdout);
        } else {
            print_text(stdout, t);
        }
    }
    fflush(stdout);
    save_svg(ps, data);
}

/* Prints the held displays' latest frames, in the order they were first shown; the last
 * one's text is kept in last_live for the next output. */
static void flush_held(print_sink *ps)
{
    for (int i = 0; i < ps->n_held; i++) {
        show_data(ps, ps->held[i].data);
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(ps->held[i].data, "text/plain");
        if (cJSON_IsString(tp)) {
            free(ps->last_live);
            ps->last_live = strdup(tp->valuestring);
        }
        cJSON_Delete(ps->held[i].data);
    }
    ps->n_held = 0;
}

/* Holds data (taking it out of content c) as the latest frame of display id; returns
 * false when it cannot be held (no id, too many live displays), so it is shown now. */
static bool hold(print_sink *ps, cJSON *c, const char *id)
{
    if (!id || strlen(id) >= sizeof ps->held[0].id) return false;
    int i = 0;
    while (i < ps->n_held && strcmp(ps->held[i].id, id) != 0)
        i++;
    if (i == ps->n_held) {
        if (ps->n_held == HELD_MAX) return false;
        snprintf(ps->held[i].id, sizeof ps->held[i].id, "%s", id);
        ps->held[i].data = NULL;
        ps->n_held++;
    }
    cJSON_Delete(ps->held[i].data);
    ps->held[i].data = cJSON_DetachItemFromObjectCaseSensitive(c, "data");
    if (!ps->held[i].data) ps->held[i].data = cJSON_CreateObject();
    return true;
}

static const char *display_id_of(const cJSON *c)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "transient");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "display_id");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

static void ps_publish(void *s, const char *type, cJSON *c)
{
    print_sink *ps = s;
    bool live = strcmp(type, "display_data") == 0 || strcmp(type, "update_display_data") == 0;
    if (live && hold(ps, c, display_id_of(c))) {
        const char *id = display_id_of(c);
        for (int i = 0; i < ps->n_held; i++)
            if (strcmp(ps->held[i].id, id) == 0)
                progress_frame(&ps->pg, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                            ps->held[i].data, "text/plain")));
        cJSON_Delete(c);
        return;
    }
    progress_clear(&ps->pg);
    flush_held(ps);
    if (strcmp(type, "stream") == 0) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
        if (cJSON_IsString(text)) {
            FILE *f =
                cJSON_IsString(name) && strcmp(name->valuestring, "stderr") == 0 ? stderr : stdout;
            fputs(text->valuestring, f);
            fflush(f);
        }
    } else if (live || strcmp(type, "execute_result") == 0) {
        show_data(ps, cJSON_GetObjectItemCaseSensitive(c, "data"));
    }
    if (strcmp(type, "status") != 0 && strcmp(type, "clear_output") != 0 &&
        strcmp(type, "error") != 0) {
        free(ps->last_live); /* it names the frame printed just before this output only */
        ps->last_live = NULL;
    }
    /* error: reported by the runner after the cell; clear_output: nothing to clear */
    cJSON_Delete(c);
}

static int ps_input(void *s, const char *prompt, bool password, char **reply)
{
    (void)password;
    progress_clear(&((print_sink *)s)->pg);
    fputs(prompt, stdout);
    fflush(stdout);
    char buf[4096];
    if (!fgets(buf, sizeof buf, stdin)) return KRN_OUT_ENOSTDIN;
    buf[strcspn(buf, "\n")] = '\0';
    *reply = strdup(buf);
    return *reply ? 0 : KRN_OUT_ENOMEM;
}

static const krn_sink_vtable print_vt = {ps_publish, ps_input};

/* Prints the text/plain of each pager payload (what Jupyter shows in its pager) and frees
 * the payload list. */
static void print_pager(cJSON *payload)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, payload)
    {
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(p, "source");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(p, "data");
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(data, "text/plain");
        if (cJSON_IsString(src) && strcmp(src->valuestring, "page") == 0 && cJSON_IsString(tp))
            print_text(stdout, tp->valuestring);
    }
    fflush(stdout);
    cJSON_Delete(payload);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 8192, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) break;
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    if (b) b[n] = '\0';
    return b;
}

static void free_cells(char **cells, int n)
{
    for (int i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
}

static int push_cell(char ***cells, int *n, const char *s, size_t len)
{
    char **nc = realloc(*cells, (size_t)(*n + 1) * sizeof *nc);
    if (!nc) return -1;
    *cells = nc;
    nc[*n] = malloc(len + 1);
    if (!nc[*n]) return -1;
    memcpy(nc[*n], s, len);
    nc[*n][len] = '\0';
    (*n)++;
    return 0;
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", s[i])) return false;
    return true;
}

int krn_headless_split_script(const char *text, char ***cells)
{
    /* script -> cell ('# %%' line cell)* ; blank cells and [markdown] cells are skipped */
    *cells = NULL;
    int n = 0;
    const char *start = text, *p = text;
    bool skip = false;
    for (;;) {
        bool at_end = !*p;
        const char *eol = at_end ? p : strchr(p, '\n');
        const char *next = eol ? (at_end ? p : eol + 1) : p + strlen(p);
        if (at_end || strncmp(p, "# %%", 4) == 0) {
            size_t len = (size_t)(p - start);
            if (!skip && !is_blank(start, len) && push_cell(cells, &n, start, len) < 0) {
                free_cells(*cells, n);
                *cells = NULL;
                return -1;
            }
            if (at_end) break;
            skip = memmem(p, (size_t)(next - p), "[markdown]", 10) != NULL;
            start = next;
        }
        p = next;
    }
    return n;
}

/* code cells of an nbformat-4 notebook; source is a string or a list of strings */
static int notebook_cells(const char *text, char ***cells, char *err, size_t errsz)
{
    *cells = NULL;
    cJSON *nb = cJSON_Parse(text);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(nb, "cells");
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errsz, "not a notebook (no \"cells\" list)");
        cJSON_Delete(nb);
        return -1;
    }
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "cell_type");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "code") != 0) continue;
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(c, "source");
        size_t len = 0;
        char *buf = NULL;
        if (cJSON_IsString(src)) {
            buf = strdup(src->valuestring);
            len = buf ? strlen(buf) : 0;
        } else if (cJSON_IsArray(src)) {
            const cJSON *line;
            cJSON_ArrayForEach(line, src) if (cJSON_IsString(line)) len +=
                strlen(line->valuestring);
            buf = malloc(len + 1);
            if (buf) {
                buf[0] = '\0';
                cJSON_ArrayForEach(line, src) if (cJSON_IsString(line))
                    strcat(buf, line->valuestring);
            }
        } else {
            buf = strdup("");
        }
        if (!buf || push_cell(cells, &n, buf, strlen(buf)) < 0) {
            free(buf);
            cJSON_Delete(nb);
            free_cells(*cells, n);
            *cells = NULL;
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        free(buf);
    }
    cJSON_Delete(nb);
    return n;
}

/* True when the traceback is only "ename: evalue". */
static bool one_line_traceback(const cJSON *tb, const char *ename, const char *evalue)
{
    const cJSON *l = cJSON_GetArrayItem(tb, 0);
    size_t ne = strlen(ename);
    return cJSON_GetArraySize(tb) == 1 && cJSON_IsString(l) &&
           strncmp(l->valuestring, ename, ne) == 0 && strncmp(l->valuestring + ne, ": ", 2) == 0 &&
           strcmp(l->valuestring + ne + 2, evalue) == 0;
}

int krn_headless_run(const krn_interp *it, const char *path, const char *svg_dir)
{
    char *text = read_all(path);
    if (!text) {
        fprintf(stderr, "rlhf-kernel run: cannot read '%s': %s\n", path, strerror(errno));
        return 2;
    }
    if (svg_dir && mkdir(svg_dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "rlhf-kernel run: cannot create '%s': %s\n", svg_dir, strerror(errno));
        free(text);
        return 2;
    }
    char err[256] = "out of memory";
    char **cells = NULL;
    size_t plen = strlen(path);
    int n = plen > 6 && strcmp(path + plen - 6, ".ipynb") == 0
                ? notebook_cells(text, &cells, err, sizeof err)
                : krn_headless_split_script(text, &cells);
    free(text);
    if (n < 0) {
        fprintf(stderr, "rlhf-kernel run: %s: %s\n", path, err);
        free(cells);
        return 2;
    }
    krn_signal_install();
    atomic_int *cancel = krn_signal_interrupt_flag();
    int rc = 0;
    double interval = progress_interval();
    bool tty = isatty(STDERR_FILENO);
    for (int i = 0; i < n && rc == 0; i++) {
        print_sink ps = {.svg_dir = svg_dir, .cell = i + 1};
        ps.pg = (progress){.interval = interval, .tty = tty, .cell = i + 1, .t0 = now_s()};
        ps.pg.last = ps.pg.t0;
        if (atomic_load(cancel)) { /* Ctrl-C between cells stops the run too */
            fprintf(stderr, "rlhf-kernel run: %s: cell %d: Interrupted: execution interrupted\n",
                    path, i + 1);
            rc = 1;
            break;
        }
        krn_out *out = krn_out_new(&print_vt, &ps, cancel, i + 1, false);
        if (!out) {
            fprintf(stderr, "rlhf-kernel run: out of memory\n");
            rc = 2;
            break;
        }
        int st = it->vt->execute(it->self, out, cells[i], i + 1);
        krn_out_finish(out);
        progress_clear(&ps.pg);
        flush_held(&ps);
        free(ps.last_live);
        print_pager(krn_out_take_payload(out)); /* e.g. %help NAME: the pager's text */
        if (st != KRN_EXEC_OK || krn_out_has_error(out)) {
            const char *ename = krn_out_has_error(out)       ? krn_out_error_name(out)
                                : st == KRN_EXEC_INTERRUPTED ? "Interrupted"
                                                             : "Error";
            const char *evalue = krn_out_has_error(out)       ? krn_out_error_value(out)
                                 : st == KRN_EXEC_INTERRUPTED ? "execution interrupted"
                                                              : "the interpreter failed";
            const cJSON *tb = krn_out_error_traceback(out), *line;
            if (!one_line_traceback(tb, ename, evalue)) /* else the line below says it */
                cJSON_ArrayForEach(line, tb) if (cJSON_IsString(line))
                    print_text(stderr, line->valuestring);
            fprintf(stderr, "rlhf-kernel run: %s: cell %d: %s: %s\n", path, i + 1, ename, evalue);
            rc = 1;
        }
        krn_out_free(out);
    }
    for (int i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
    fflush(stdout);
    return rc;
}
