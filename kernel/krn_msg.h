/* krn_msg: message headers. One session id per process (random UUID, fixed at first use),
 * a fresh msg_id per message, username, date in ISO 8601 with 6-digit microseconds and Z,
 * protocol version "5.3".
 * Leaves out: serialization and signing (krn_wire.h, krn_hmac.h). */
#ifndef KRN_MSG_H
#define KRN_MSG_H

#include <stddef.h>
#include <time.h>

typedef struct cJSON cJSON;

#define KRN_PROTOCOL_VERSION "5.3"

/* Random UUID4 text (36 chars + NUL). */
void krn_msg_uuid(char out[37]);
/* The process-wide session id (generated once, thread-safe). */
const char *krn_msg_session(void);
/* "2026-11-25T03:04:05.000123Z" for ts (UTC). out must hold 32 bytes. */
void krn_msg_iso_date(const struct timespec *ts, char out[32]);
/* New header object {msg_id, session, username, date, msg_type, version}; caller owns it
 * (cJSON_Delete). NULL on allocation failure. */
cJSON *krn_msg_header(const char *msg_type);

#endif
