/* rec_sink: a recording sink for the display API (header-only, shared by the kernel and
 * magics tests). Every published message is appended to an array of
 * {"type": msg_type, "content": {...}}; input() returns the preset reply (or
 * KRN_OUT_ENOSTDIN when none). */
#ifndef REC_SINK_H
#define REC_SINK_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "krn_display.h"

typedef struct rec_sink {
    cJSON *msgs;
    const char *input_reply;
    char last_prompt[128];
} rec_sink;

static void rec_publish(void *s, const char *type, cJSON *content)
{
    rec_sink *m = s;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToObject(e, "content", content);
    cJSON_AddItemToArray(m->msgs, e);
}

static int rec_input(void *s, const char *prompt, bool password, char **reply)
{
    rec_sink *m = s;
    (void)password;
    snprintf(m->last_prompt, sizeof m->last_prompt, "%s", prompt);
    if (!m->input_reply) return KRN_OUT_ENOSTDIN;
    *reply = strdup(m->input_reply);
    return 0;
}

static const krn_sink_vtable rec_vt = {rec_publish, rec_input};

static inline void rec_init(rec_sink *m)
{
    memset(m, 0, sizeof *m);
    m->msgs = cJSON_CreateArray();
}

static inline void rec_free(rec_sink *m)
{
    cJSON_Delete(m->msgs);
}

static inline int rec_count(rec_sink *m)
{
    return cJSON_GetArraySize(m->msgs);
}

static inline const char *rec_type(rec_sink *m, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(m->msgs, i), "type")->valuestring;
}

static inline cJSON *rec_content(rec_sink *m, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(m->msgs, i), "content");
}

/* content[key] (string) of message i, or NULL */
static inline const char *rec_str(rec_sink *m, int i, const char *key)
{
    cJSON *v = cJSON_GetObjectItem(rec_content(m, i), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

#endif
