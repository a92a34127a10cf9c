/* krn_install: kernelspec installation (see krn_install.h). Does not register anything
 * with jupyter itself: Jupyter finds the directory through its data path. */
#include "krn_install.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "krn_png.h"

static const char logo_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 "
    "64\">\n"
    "  <rect x=\"2\" y=\"2\" width=\"60\" height=\"60\" rx=\"10\" fill=\"#1e293b\"/>\n"
    "  <path d=\"M10 51 C 20 25, 30 19, 54 14\" fill=\"none\" stroke=\"#fbbf24\" "
    "stroke-width=\"5\" stroke-linecap=\"round\"/>\n"
    "</svg>\n";

int krn_install_dir(enum krn_install_mode mode, const char *prefix, char *dir, size_t dirsz,
                    char *err, size_t errsz)
{
    int n;
    if (mode == KRN_INSTALL_USER) {
        const char *jd = getenv("JUPYTER_DATA_DIR");
        const char *home = getenv("HOME");
        if (jd && *jd)
            n = snprintf(dir, dirsz, "%s/kernels/rlhf", jd);
        else if (home && *home)
            n = snprintf(dir, dirsz, "%s/.local/share/jupyter/kernels/rlhf", home);
        else {
            snprintf(err, errsz, "--user: neither JUPYTER_DATA_DIR nor HOME is set");
            return -1;
        }
    } else {
        if (mode == KRN_INSTALL_SYS_PREFIX) {
            prefix = getenv("CONDA_PREFIX");
            if (!prefix || !*prefix) prefix = getenv("VIRTUAL_ENV");
            if (!prefix || !*prefix) prefix = "/usr/local";
        }
        if (!prefix || !*prefix) {
            snprintf(err, errsz, "--prefix needs a directory");
            return -1;
        }
        n = snprintf(dir, dirsz, "%s/share/jupyter/kernels/rlhf", prefix);
    }
    if (n < 0 || (size_t)n >= dirsz) {
        snprintf(err, errsz, "kernelspec path too long");
        return -1;
    }
    return 0;
}

static int mkdirs(const char *path, char *err, size_t errsz)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) goto fail;
        *p = '/';
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST) goto fail;
    return 0;
fail:
    snprintf(err, errsz, "cannot create directory '%s': %s", tmp, strerror(errno));
    return -1;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len, char *err,
                      size_t errsz)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len) {
        snprintf(err, errsz, "cannot write '%s'", path);
        return -1;
    }
    return 0;
}

static int write_logo(const char *dir, int size, char *err, size_t errsz)
{
    unsigned char *px = krn_png_logo(size), *png = NULL;
    size_t len = 0;
    char name[32];
    int rc = -1;
    snprintf(name, sizeof name, "logo-%dx%d.png", size, size);
    if (px && krn_png_encode(px, size, size, &png, &len) == 0)
        rc = write_file(dir, name, png, len, err, errsz);
    else
        snprintf(err, errsz, "out of memory rendering %s", name);
    free(px);
    free(png);
    return rc;
}

int krn_install_write(const char *dir, const char *exe, char *err, size_t errsz)
{
    if (mkdirs(dir, err, errsz) < 0) return -1;
    cJSON *spec = cJSON_CreateObject();
    cJSON *argv = cJSON_AddArrayToObject(spec, "argv");
    cJSON_AddItemToArray(argv, cJSON_CreateString(exe));
    cJSON_AddItemToArray(argv, cJSON_CreateString("-f"));
    cJSON_AddItemToArray(argv, cJSON_CreateString("{connection_file}"));
    cJSON_AddStringToObject(spec, "display_name", "RLHF Lab");
    cJSON_AddStringToObject(spec, "language", "rlhf");
    cJSON_AddStringToObject(spec, "interrupt_mode", "message");
    cJSON_AddObjectToObject(spec, "metadata");
    char *text = cJSON_Print(spec);
    cJSON_Delete(spec);
    if (!text) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    int rc = write_file(dir, "kernel.json", text, strlen(text), err, errsz);
    free(text);
    if (rc == 0) rc = write_logo(dir, 32, err, errsz);
    if (rc == 0) rc = write_logo(dir, 64, err, errsz);
    if (rc == 0) rc = write_file(dir, "logo-svg.svg", logo_svg, strlen(logo_svg), err, errsz);
    return rc;
}
