/* krn_log: leveled stderr logging (see krn_log.h). No log files, no syslog. */
#include "krn_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int g_level = KRN_LOG_WARN;
static const char *names[] = {"error", "warn", "info", "debug"};

int krn_log_parse_level(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    if (strcmp(name, "warning") == 0) return KRN_LOG_WARN;
    return -1;
}

void krn_log_set_level(int level)
{
    if (level >= KRN_LOG_ERROR && level <= KRN_LOG_DEBUG) atomic_store(&g_level, level);
}

void krn_log_init_from_env(void)
{
    const char *v = getenv("RLHF_KERNEL_LOG");
    if (!v || !*v) return;
    int l = krn_log_parse_level(v);
    if (l < 0)
        fprintf(stderr,
                "rlhf-kernel: warn: RLHF_KERNEL_LOG='%s' is not one of error, warn, "
                "info, debug; ignored\n",
                v);
    else
        krn_log_set_level(l);
}

int krn_log_enabled(int level)
{
    return level <= atomic_load(&g_level);
}

void krn_log(int level, const char *fmt, ...)
{
    if (!krn_log_enabled(level)) return;
    char line[1024];
    int n = snprintf(line, sizeof line, "rlhf-kernel: %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

void krn_log_sample(char *out, size_t outsz, const void *data, size_t len, size_t cap)
{
    const unsigned char *p = data;
    size_t o = 0;
    if (outsz == 0) return;
    for (size_t i = 0; i < len && i < cap && o + 5 < outsz; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
    }
    if (len > cap && o + 4 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < outsz ? o : outsz - 1] = '\0';
}
