/* krn_msg: header fields (see krn_msg.h). */
#include "krn_msg.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_session[37];
static char g_user[64];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

void krn_msg_uuid(char out[37])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void init_once(void)
{
    if (sodium_init() < 0) abort();
    krn_msg_uuid(g_session);
    const char *u = getenv("USER");
    if (!u || !*u) {
        struct passwd *pw = getpwuid(getuid());
        u = pw ? pw->pw_name : "rlhf";
    }
    snprintf(g_user, sizeof g_user, "%s", u);
}

const char *krn_msg_session(void)
{
    pthread_once(&g_once, init_once);
    return g_session;
}

void krn_msg_iso_date(const struct timespec *ts, char out[32])
{
    struct tm tm;
    time_t t = ts->tv_sec;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    unsigned us = (unsigned)((ts->tv_nsec / 1000) % 1000000);
    out[n++] = '.';
    for (int i = 5; i >= 0; i--, us /= 10)
        out[n + (size_t)i] = (char)('0' + us % 10);
    out[n + 6] = 'Z';
    out[n + 7] = '\0';
}

cJSON *krn_msg_header(const char *msg_type)
{
    pthread_once(&g_once, init_once);
    cJSON *h = cJSON_CreateObject();
    if (!h) return NULL;
    char id[37], date[32];
    struct timespec ts;
    krn_msg_uuid(id);
    clock_gettime(CLOCK_REALTIME, &ts);
    krn_msg_iso_date(&ts, date);
    if (!cJSON_AddStringToObject(h, "msg_id", id) ||
        !cJSON_AddStringToObject(h, "session", g_session) ||
        !cJSON_AddStringToObject(h, "username", g_user) ||
        !cJSON_AddStringToObject(h, "date", date) ||
        !cJSON_AddStringToObject(h, "msg_type", msg_type) ||
        !cJSON_AddStringToObject(h, "version", KRN_PROTOCOL_VERSION)) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}
