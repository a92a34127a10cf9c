/* krn_log: leveled logging to stderr (never stdout). The level comes from
 * krn_log_set_level (the --log-level flag) or the RLHF_KERNEL_LOG environment variable
 * (error, warn, info, debug); default warn. Thread-safe (one fprintf per line).
 * Leaves out: log files, rotation and structured logs. */
#ifndef KRN_LOG_H
#define KRN_LOG_H

#include <stddef.h>

enum krn_log_level { KRN_LOG_ERROR = 0, KRN_LOG_WARN = 1, KRN_LOG_INFO = 2, KRN_LOG_DEBUG = 3 };

/* Parses "error" | "warn" | "info" | "debug"; returns the level or -1. */
int krn_log_parse_level(const char *name);
void krn_log_set_level(int level);
/* Reads RLHF_KERNEL_LOG; an invalid value is reported once and ignored. */
void krn_log_init_from_env(void);
int krn_log_enabled(int level);
void krn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes a printable sample of untrusted bytes (at most cap bytes, non-printable as \xNN)
 * into out[outsz]; for logging bad input. */
void krn_log_sample(char *out, size_t outsz, const void *data, size_t len, size_t cap);

#define KRN_ERROR(...) krn_log(KRN_LOG_ERROR, __VA_ARGS__)
#define KRN_WARN(...) krn_log(KRN_LOG_WARN, __VA_ARGS__)
#define KRN_INFO(...) krn_log(KRN_LOG_INFO, __VA_ARGS__)
#define KRN_DEBUG(...) krn_log(KRN_LOG_DEBUG, __VA_ARGS__)

#endif
