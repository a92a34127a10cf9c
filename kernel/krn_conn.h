/* krn_conn: the Jupyter connection file (JSON written by the client). Reads every field:
 * transport ("tcp" | "ipc"), ip, shell/iopub/stdin/control/hb ports, key, signature_scheme,
 * kernel_name (optional). Builds ZeroMQ endpoints: tcp://IP:PORT, ipc://IP-PORT (the
 * jupyter_client convention: for ipc, "ip" is a path prefix).
 * Leaves out: binding the sockets (krn_server.h) and signing (krn_hmac.h). */
#ifndef KRN_CONN_H
#define KRN_CONN_H

#include <stddef.h>

enum krn_channel { KRN_CH_SHELL, KRN_CH_IOPUB, KRN_CH_STDIN, KRN_CH_CONTROL, KRN_CH_HB, KRN_CH_N };

enum krn_conn_err {
    KRN_CONN_OK = 0,
    KRN_CONN_ENOFILE = -1, /* cannot open/read the file */
    KRN_CONN_EJSON = -2,   /* not a JSON object */
    KRN_CONN_EFIELD = -3,  /* missing or mistyped field */
    KRN_CONN_ESCHEME = -4, /* unknown transport or signature scheme */
};

typedef struct krn_conn {
    char transport[8];         /* "tcp" or "ipc" */
    char ip[256];              /* host for tcp, path prefix for ipc */
    int ports[KRN_CH_N];       /* indexed by enum krn_channel; 0..65535 (tcp 0: any free port,
                                  chosen at bind time and logged at info level) */
    char *key;                 /* owned, NUL-terminated; "" = no signing */
    char signature_scheme[32]; /* "hmac-sha256" or "hmac-sha512" */
    char kernel_name[256];     /* may be empty */
} krn_conn;

/* Parses the file at path into c; on failure returns a krn_conn_err and writes a message
 * naming the file and the problem into err[errsz]. Caller frees with krn_conn_free. */
int krn_conn_load(krn_conn *c, const char *path, char *err, size_t errsz);
/* The same from JSON text in memory (name is used in messages). */
int krn_conn_parse(krn_conn *c, const char *json, size_t len, const char *name, char *err,
                   size_t errsz);
void krn_conn_free(krn_conn *c);
/* Writes the ZeroMQ endpoint for channel ch into buf[bufsz]. */
void krn_conn_endpoint(const krn_conn *c, enum krn_channel ch, char *buf, size_t bufsz);
const char *krn_channel_name(enum krn_channel ch);

#endif
