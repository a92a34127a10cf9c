/* replay.c: a plain-C driver for a libFuzzer target (tools/fuzz/fuzz_job.c) — runs it over
 * every file of the directories (or files) given, so the seed corpus (and any crash
 * file libFuzzer writes) replays without clang.  Exits non-zero if a path cannot be
 * read or no input was run; the target aborts on a finding. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, fp)) > 0;) {
        n += k;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    fclose(fp);
    if (!buf) return -1;
    unsigned char *exact = malloc(n ? n : 1); /* exact size: ASan sees a read past n */
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: cannot stat\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i])) return fprintf(stderr, "%s: cannot read\n", argv[i]), 1;
            ran++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir) return fprintf(stderr, "%s: cannot open\n", argv[i]), 1;
        for (struct dirent *e; (e = readdir(dir));) {
            char path[4096];
            if (e->d_name[0] == '.') continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path)) {
                closedir(dir);
                return fprintf(stderr, "%s: cannot read\n", path), 1;
            }
            ran++;
        }
        closedir(dir);
    }
    printf("%d inputs replayed\n", ran);
    return ran > 0 ? 0 : 1;
}
