/* krn_headless: the headless runner (see krn_headless.h). A display with a transient
 * display_id (a live chart) is held and replaced by its updates; only its last frame is
 * printed (and saved), when any other output of the cell arrives or the cell ends, so a
 * training cell prints one chart, not every frame. Leaves out markdown rendering and
 * writing outputs back into the notebook. */
#include "krn_headless.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "krn_signal.h"

#define HELD_MAX 8

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
} print_sink;

static void print_text(FILE *f, const char *t)
{
    size_t n = strlen(t);
    fwrite(t, 1, n, f);
    if (n == 0 || t[n - 1] != '\n') fputc('\n', f);
}

static void save_svg(print_sink *ps, const cJSON *data)
{
    const cJSON *svg = cJSON_GetObjectItemCaseSensitive(data, "image/svg+xml");
    if (!ps->svg_dir || !cJSON_IsString(svg)) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/cell%d-%d.svg", ps->svg_dir, ps->cell, ++ps->svg_count);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "rlhf-kernel run: cannot write '%s': %s\n", path, strerror(errno));
        return;
    }
    fputs(svg->valuestring, f);
    fclose(f);
}

static void show_data(print_sink *ps, const cJSON *data)
{
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(data, "text/plain");
    if (cJSON_IsString(tp)) print_text(stdout, tp->valuestring);
    fflush(stdout);
    save_svg(ps, data);
}

/* Prints the held displays' latest frames, in the order they were first shown. */
static void flush_held(print_sink *ps)
{
    for (int i = 0; i < ps->n_held; i++) {
        show_data(ps, ps->held[i].data);
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
        cJSON_Delete(c);
        return;
    }
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
    /* error: reported by the runner after the cell; clear_output: nothing to clear */
    cJSON_Delete(c);
}

static int ps_input(void *s, const char *prompt, bool password, char **reply)
{
    (void)s;
    (void)password;
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
    for (int i = 0; i < n && rc == 0; i++) {
        print_sink ps = {.svg_dir = svg_dir, .cell = i + 1};
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
        flush_held(&ps);
        print_pager(krn_out_take_payload(out)); /* e.g. %help NAME: the pager's text */
        if (st != KRN_EXEC_OK || krn_out_has_error(out)) {
            const char *ename = krn_out_has_error(out)       ? krn_out_error_name(out)
                                : st == KRN_EXEC_INTERRUPTED ? "Interrupted"
                                                             : "Error";
            const char *evalue = krn_out_has_error(out)       ? krn_out_error_value(out)
                                 : st == KRN_EXEC_INTERRUPTED ? "execution interrupted"
                                                              : "the interpreter failed";
            const cJSON *tb = krn_out_error_traceback(out), *line;
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
