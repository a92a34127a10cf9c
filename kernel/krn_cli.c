/* krn_cli: argument parsing and the subcommands (see krn_cli.h). */
#include "krn_cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krn_headless.h"
#include "krn_install.h"
#include "krn_log.h"
#include "krn_server.h"

/* the help up to the commands of the program that calls krn_main (krn_main's more_usage) */
static const char usage[] =
    "usage: rlhf-kernel [--log-level LEVEL] COMMAND\n"
    "\n"
    "A Jupyter kernel for RLHF experiments (kernelspec name \"rlhf\").\n"
    "\n"
    "commands:\n"
    "  -f CONNECTION_FILE      serve the Jupyter protocol on the sockets named in\n"
    "                          CONNECTION_FILE (this is how Jupyter starts the kernel)\n"
    "  install [--user | --prefix P | --sys-prefix]\n"
    "                          write the kernelspec directory 'rlhf' (kernel.json + logos):\n"
    "                            --user        $JUPYTER_DATA_DIR/kernels/rlhf, or\n"
    "                                          ~/.local/share/jupyter/kernels/rlhf (default)\n"
    "                            --prefix P    P/share/jupyter/kernels/rlhf\n"
    "                            --sys-prefix  like --prefix with $CONDA_PREFIX, else\n"
    "                                          $VIRTUAL_ENV, else /usr/local\n"
    "                          kernel.json runs this binary by its absolute path.\n"
    "  run FILE [--save-svg DIR]\n"
    "                          execute the code cells of FILE (.ipynb, or .rlhf with cells\n"
    "                          separated by lines '# %%') headless: output to stdout, errors\n"
    "                          to stderr; stops with status 1 at the first error, naming the\n"
    "                          file, the cell and the error. A live chart prints only\n"
    "                          its final frame. --save-svg writes each image/svg+xml\n"
    "                          output to DIR/cell<N>-<K>.svg and each image/png one (a\n"
    "                          chart's final frame) to DIR/cell<N>-<K>.png\n"
    "                          While a live chart updates, a progress line (its title and\n"
    "                          latest values) goes to stderr: redrawn in place on a\n"
    "                          terminal, else one line every RLHF_PROGRESS_SECONDS\n"
    "                          seconds (default 5; 0 turns progress off)\n";

/* after the commands of the program that calls krn_main (krn_main's more_usage) */
static const char usage_tail[] =
    "  --version               print the version\n"
    "  --help                  print this help\n"
    "\n"
    "options:\n"
    "  --log-level LEVEL       error | warn | info | debug (default warn); also from the\n"
    "                          RLHF_KERNEL_LOG environment variable. Logs go to stderr.\n";

/* the caller's commands for the help (krn_main sets it: one krn_main per process) */
static const char *caller_usage;

static void put_usage(FILE *f)
{
    fputs(usage, f);
    if (caller_usage) fputs(caller_usage, f);
    fputs(usage_tail, f);
}

static int cmd_install(int argc, char **argv)
{
    enum krn_install_mode mode = KRN_INSTALL_USER;
    const char *prefix = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0)
            mode = KRN_INSTALL_USER;
        else if (strcmp(argv[i], "--sys-prefix") == 0)
            mode = KRN_INSTALL_SYS_PREFIX;
        else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            mode = KRN_INSTALL_PREFIX;
            prefix = argv[++i];
        } else if (strncmp(argv[i], "--prefix=", 9) == 0) {
            mode = KRN_INSTALL_PREFIX;
            prefix = argv[i] + 9;
        } else {
            fprintf(stderr, "rlhf-kernel install: unexpected argument '%s'\n", argv[i]);
            put_usage(stderr);
            return 2;
        }
    }
    char exe[PATH_MAX], dir[4096], err[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "rlhf-kernel install: cannot find this binary's path\n");
        return 1;
    }
    exe[n] = '\0';
    if (krn_install_dir(mode, prefix, dir, sizeof dir, err, sizeof err) < 0 ||
        krn_install_write(dir, exe, err, sizeof err) < 0) {
        fprintf(stderr, "rlhf-kernel install: %s\n", err);
        return 1;
    }
    printf("installed kernelspec rlhf in %s\n", dir);
    return 0;
}

static int cmd_run(int argc, char **argv, const krn_interp *interp)
{
    const char *file = NULL, *svg = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--save-svg") == 0 && i + 1 < argc)
            svg = argv[++i];
        else if (strncmp(argv[i], "--save-svg=", 11) == 0)
            svg = argv[i] + 11;
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "rlhf-kernel run: unexpected argument '%s'\n", argv[i]);
            put_usage(stderr);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "rlhf-kernel run: missing FILE\n");
        put_usage(stderr);
        return 2;
    }
    return krn_headless_run(interp, file, svg);
}

int krn_main(int argc, char **argv, const krn_interp *interp, const char *more_usage)
{
    caller_usage = more_usage;
    krn_log_init_from_env();
    /* pull --log-level out of the arguments, wherever it is */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int n = 0;
    if (!args) return 1;
    for (int i = 1; i < argc; i++) {
        const char *lv = NULL;
        if (strcmp(argv[i], "--log-level") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rlhf-kernel: --log-level needs a value\n");
                put_usage(stderr);
                free(args);
                return 2;
            }
            lv = argv[++i];
        } else if (strncmp(argv[i], "--log-level=", 12) == 0) {
            lv = argv[i] + 12;
        } else {
            args[n++] = argv[i];
            continue;
        }
        int l = krn_log_parse_level(lv);
        if (l < 0) {
            fprintf(stderr, "rlhf-kernel: unknown log level '%s' (error, warn, info, debug)\n", lv);
            free(args);
            return 2;
        }
        krn_log_set_level(l);
    }
    int rc;
    if (n == 0) {
        put_usage(stderr);
        rc = 2;
    } else if (strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0) {
        put_usage(stdout);
        rc = 0;
    } else if (strcmp(args[0], "--version") == 0) {
        printf("rlhf-kernel %s", RLHF_VERSION);
        const char *sep = " (";
        for (const char *const *e = interp->info.extra; e && e[0] && e[1]; e += 2, sep = ", ")
            printf("%s%s %s", sep, e[0], e[1]);
        printf("%s\n", interp->info.extra && interp->info.extra[0] ? ")" : "");
        rc = 0;
    } else if (strcmp(args[0], "-f") == 0 || strncmp(args[0], "--f=", 4) == 0) {
        const char *cf = args[0][1] == 'f' ? (n > 1 ? args[1] : NULL) : args[0] + 4;
        if (!cf) {
            fprintf(stderr, "rlhf-kernel: -f needs a connection file\n");
            rc = 2;
        } else {
            rc = krn_server_run(cf, interp);
        }
    } else if (strcmp(args[0], "install") == 0) {
        rc = cmd_install(n - 1, args + 1);
    } else if (strcmp(args[0], "run") == 0) {
        rc = cmd_run(n - 1, args + 1, interp);
    } else {
        fprintf(stderr, "rlhf-kernel: unknown command '%s'\n", args[0]);
        put_usage(stderr);
        rc = 2;
    }
    free(args);
    return rc;
}
