/* krn_conn: connection-file parsing (see krn_conn.h). Does not create the file: the
 * client always writes it (kernel.json passes "-f {connection_file}"). */
#include "krn_conn.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ch_names[KRN_CH_N] = {"shell", "iopub", "stdin", "control", "hb"};

const char *krn_channel_name(enum krn_channel ch)
{
    return ch < KRN_CH_N ? ch_names[ch] : "?";
}

int krn_conn_load(krn_conn *c, const char *path, char *err, size_t errsz)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "connection file '%s': %s", path, strerror(errno));
        return KRN_CONN_ENOFILE;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 20)) {
                snprintf(err, errsz, "connection file '%s': larger than 1 MiB", path);
                free(buf);
                fclose(f);
                return KRN_CONN_EJSON;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errsz, "connection file '%s': out of memory", path);
                return KRN_CONN_ENOFILE;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(buf);
        snprintf(err, errsz, "connection file '%s': read error", path);
        return KRN_CONN_ENOFILE;
    }
    int rc = krn_conn_parse(c, buf, len, path, err, errsz);
    free(buf);
    return rc;
}

static int get_str(const cJSON *o, const char *field, char *dst, size_t dstsz, int required,
                   const char *name, char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) {
        if (!required) return 0;
        snprintf(err, errsz, "connection file '%s': missing field \"%s\"", name, field);
        return KRN_CONN_EFIELD;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= dstsz) {
        snprintf(err, errsz, "connection file '%s': field \"%s\" must be a string (< %zu bytes)",
                 name, field, dstsz);
        return KRN_CONN_EFIELD;
    }
    strcpy(dst, v->valuestring);
    return 0;
}

int krn_conn_parse(krn_conn *c, const char *json, size_t len, const char *name, char *err,
                   size_t errsz)
{
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o || !cJSON_IsObject(o)) {
        snprintf(err, errsz, "connection file '%s': not a JSON object", name);
        cJSON_Delete(o);
        return KRN_CONN_EJSON;
    }
    int rc;
    strcpy(c->transport, "tcp");
    if ((rc = get_str(o, "transport", c->transport, sizeof c->transport, 0, name, err, errsz)))
        goto fail;
    if (strcmp(c->transport, "tcp") != 0 && strcmp(c->transport, "ipc") != 0) {
        snprintf(err, errsz, "connection file '%s': unknown transport \"%s\" (expected tcp or ipc)",
                 name, c->transport);
        rc = KRN_CONN_ESCHEME;
        goto fail;
    }
    strcpy(c->signature_scheme, "hmac-sha256");
    if ((rc = get_str(o, "signature_scheme", c->signature_scheme, sizeof c->signature_scheme, 0,
                      name, err, errsz)))
        goto fail;
    if (strcmp(c->signature_scheme, "hmac-sha256") != 0 &&
        strcmp(c->signature_scheme, "hmac-sha512") != 0) {
        snprintf(err, errsz,
                 "connection file '%s': unsupported signature_scheme \"%s\" "
                 "(supported: hmac-sha256, hmac-sha512)",
                 name, c->signature_scheme);
        rc = KRN_CONN_ESCHEME;
        goto fail;
    }
    if ((rc = get_str(o, "ip", c->ip, sizeof c->ip, 1, name, err, errsz))) goto fail;
    static const char *port_fields[KRN_CH_N] = {"shell_port", "iopub_port", "stdin_port",
                                                "control_port", "hb_port"};
    for (int i = 0; i < KRN_CH_N; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, port_fields[i]);
        if (!v) {
            snprintf(err, errsz, "connection file '%s': missing field \"%s\"", name,
                     port_fields[i]);
            rc = KRN_CONN_EFIELD;
            goto fail;
        }
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (d != (int)d || d < 0 || d > 65535) {
            snprintf(err, errsz,
                     "connection file '%s': field \"%s\" must be a port number "
                     "(0-65535)",
                     name, port_fields[i]);
            rc = KRN_CONN_EFIELD;
            goto fail;
        }
        c->ports[i] = (int)d;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    if (k && !cJSON_IsString(k)) {
        snprintf(err, errsz, "connection file '%s': field \"key\" must be a string", name);
        rc = KRN_CONN_EFIELD;
        goto fail;
    }
    c->key = strdup(k ? k->valuestring : "");
    if (!c->key) {
        snprintf(err, errsz, "out of memory");
        rc = KRN_CONN_EFIELD;
        goto fail;
    }
    if ((rc =
             get_str(o, "kernel_name", c->kernel_name, sizeof c->kernel_name, 0, name, err, errsz)))
        goto fail;
    cJSON_Delete(o);
    return 0;
fail:
    cJSON_Delete(o);
    krn_conn_free(c);
    return rc;
}

void krn_conn_free(krn_conn *c)
{
    free(c->key);
    c->key = NULL;
}

void krn_conn_endpoint(const krn_conn *c, enum krn_channel ch, char *buf, size_t bufsz)
{
    if (strcmp(c->transport, "ipc") == 0)
        snprintf(buf, bufsz, "ipc://%s-%d", c->ip, c->ports[ch]);
    else
        snprintf(buf, bufsz, "tcp://%s:%d", c->ip, c->ports[ch]);
}
