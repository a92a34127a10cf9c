/* fuzz_wire: the kernel's wire decoder (krn_wire_decode) and dispatcher (krn_dispatch) on
 * fuzzed multipart messages.  Input: byte 0 is flags, the rest is split into frames at
 * byte 0x1e.  Flags:
 *   bits 0-1  the wire: 0/3 no key, 1 hmac-sha256, 2 hmac-sha512
 *   bit 2     auto-sign: replace the frame after <IDS|MSG> by the right signature, so the
 *             fuzzer gets past verification
 *   bit 3     dispatch what decodes, through a recording transport
 *   bit 4     control channel (else shell)
 *   bit 5     aborting (answered as ExecutionAborted after a failed execute)
 *   bit 6     the input() answer is invalid UTF-8
 * Three wires persist across inputs (no key, sha256, sha512): creating one allocates the
 * 2.5 MB replay set, which would make every input cost milliseconds; their replay sets
 * are emptied after each input instead.
 * Invariants: a failed decode leaves nothing allocated and says why; a decoded message has
 * object frames and a msg_type; with a key, the same frames again are a replay; what
 * decodes re-encodes (krn_wire_encode) to frames that decode again to the same msg_type;
 * every reply and IOPub message the dispatcher sends encodes to frames that decode (valid
 * UTF-8 JSON objects); krn_log_sample of the largest frame fits its buffer.  The
 * interpreter is the real one (complete, inspect, is_complete, user_expressions) with a
 * mock execute that drives every krn_out call. */
#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "fuzz_common.h"
#include "krn_conn.h"
#include "krn_kernel.h"
#include "krn_log.h"
#include "krn_msg.h"
#include "mag_interp.h"

static krn_wire wires[3];
static const char key[] = "fuzz-key-0123456789";
static krn_interp *interp;
static krn_interp_vtable vt; /* the interpreter's table with execute replaced */
static bool bad_utf8_input;

/* Encodes a message the way the kernel would send it and decodes it back (no key). */
static void check_sendable(const char *msg_type, const cJSON *parent, cJSON *content)
{
    cJSON *hdr = krn_msg_header(msg_type);
    krn_wire_out o;
    FUZZ_CHECK(hdr && krn_wire_encode(&wires[0], hdr, parent, NULL, content, &o) == 0, "%s",
               msg_type);
    krn_frame f[7] = {{"<IDS|MSG>", 9}, {o.sig, strlen(o.sig)}};
    for (int i = 0; i < 4; i++)
        f[2 + i] = (krn_frame){o.json[i], o.len[i]};
    f[6] = (krn_frame){"", 0};
    krn_msg_in m;
    int st = krn_wire_decode(&wires[0], f, 6, &m);
    /* replies are not requests: their msg_type is "unknown" to the decoder, which is fine */
    FUZZ_CHECK(st == KRN_WIRE_OK || st == KRN_WIRE_UNKNOWN_TYPE, "sent %s does not decode: %s (%s)",
               msg_type, krn_wire_status_name(st), m.reason);
    FUZZ_CHECK(strcmp(m.msg_type, msg_type) == 0, "msg_type %s became %s", msg_type, m.msg_type);
    krn_msg_in_free(&m);
    krn_wire_out_free(&o);
    cJSON_Delete(hdr);
}

static int t_reply(krn_kernel *k, krn_req *r, const char *type, cJSON *content)
{
    (void)k;
    check_sendable(type, r->msg->header, content);
    cJSON_Delete(content);
    return 0;
}

static int t_publish(krn_kernel *k, const cJSON *parent, const char *type, cJSON *content)
{
    (void)k;
    check_sendable(type, parent, content);
    cJSON_Delete(content);
    return 0;
}

static int t_input(krn_kernel *k, const krn_msg_in *req, const char *prompt, bool pw, char **reply)
{
    (void)k;
    (void)req;
    (void)pw;
    FUZZ_CHECK(prompt != NULL, "no prompt");
    *reply = strdup(bad_utf8_input ? "\xff\xfe ok \xc3" : "an answer");
    return *reply ? 0 : -1;
}

static void t_hold(krn_kernel *k)
{
    (void)k;
}

static int t_live(krn_kernel *k, const cJSON *parent, const char *type, cJSON *content,
                  const char *display_id)
{
    FUZZ_CHECK(display_id != NULL, "live frame without display_id");
    return t_publish(k, parent, type, content);
}

static const krn_transport rec_tx = {t_reply, t_publish, t_input, t_hold, t_live};

/* Mock execute: sends the code back through every krn_out call; characters of the code
 * choose the path ('!' error, '^' interrupted, '?' input, '#' display/update/clear). */
static int m_execute(void *self, krn_out *out, const char *code, int count)
{
    (void)self;
    size_t n = strlen(code);
    krn_out_stream(out, KRN_STDOUT, code, n);
    krn_out_printf(out, KRN_STDERR, "[%d] %.40s\n", count, code);
    if (strchr(code, '#')) {
        krn_out_display_text(out, code, "d1", false);
        krn_out_display_text(out, code, "d1", true);
        cJSON *data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "text/plain", code);
        krn_out_update_display_final(out, data, NULL, "d1");
        krn_out_clear(out, n % 2 == 0);
    }
    if (strchr(code, '?')) {
        char *r = NULL;
        if (krn_out_input(out, code, n % 2 == 1, &r) == 0) {
            krn_out_printf(out, KRN_STDOUT, "got %s\n", r);
            free(r);
        }
    }
    krn_out_pager(out, code);
    if (strchr(code, '^')) return KRN_EXEC_INTERRUPTED;
    if (strchr(code, '!')) {
        const char *tb[2] = {code, "line 2"};
        krn_out_error(out, "FuzzError", code, tb, 2);
        return KRN_EXEC_ERROR;
    }
    krn_out_result_text(out, code);
    (void)krn_out_interrupted(out);
    return KRN_EXEC_OK;
}

static void init_once(void)
{
    if (interp) return;
    krn_log_set_level(KRN_LOG_ERROR + 1); /* the dropped-message warnings are expected */
    char err[128];
    if (krn_wire_init(&wires[0], "hmac-sha256", "", 0, err, sizeof err) ||
        krn_wire_init(&wires[1], "hmac-sha256", key, strlen(key), err, sizeof err) ||
        krn_wire_init(&wires[2], "hmac-sha512", key, strlen(key), err, sizeof err))
        abort();
    interp = mag_interp_new();
    if (!interp) abort();
    vt = *interp->vt;
    vt.execute = m_execute;
    interp->vt = &vt;
}

/* Empties the replay set of w (cheap when nothing was added). */
static void replay_reset(krn_wire *w)
{
    if (w->replay.count == 0) return;
    memset(w->replay.buckets, 0xff, KRN_WIRE_REPLAY_CAP * sizeof *w->replay.buckets);
    w->replay.count = 0;
    w->replay.head = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size < 1) return 0;
    uint8_t flags = data[0];
    fuzz_part parts[KRN_WIRE_MAX_FRAMES + 2];
    size_t n = fuzz_split(data + 1, size - 1, parts, sizeof parts / sizeof *parts);
    krn_frame f[KRN_WIRE_MAX_FRAMES + 2];
    for (size_t i = 0; i < n; i++)
        f[i] = (krn_frame){parts[i].data, parts[i].len};
    krn_wire *w = &wires[(flags & 3) == 3 ? 0 : (flags & 3)];
    bad_utf8_input = flags & 64;

    char hex[KRN_HMAC_HEX_MAX];
    if ((flags & 4) && w->hmac.key_len) {
        size_t d = 0;
        while (d < n && !(f[d].len == 9 && memcmp(f[d].data, KRN_WIRE_DELIM, 9) == 0))
            d++;
        if (d + 6 <= n) {
            const void *p[4] = {f[d + 2].data, f[d + 3].data, f[d + 4].data, f[d + 5].data};
            size_t l[4] = {f[d + 2].len, f[d + 3].len, f[d + 4].len, f[d + 5].len};
            size_t hl = krn_hmac_sign(&w->hmac, p, l, 4, hex);
            f[d + 1] = (krn_frame){hex, hl};
        }
    }

    /* as krn_server.c logs a dropped message */
    char sample[128];
    size_t big = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].len > f[big].len) big = i;
    krn_log_sample(sample, sizeof sample, f[big].data, f[big].len, 40);
    FUZZ_CHECK(memchr(sample, '\0', sizeof sample), "log sample not terminated");

    krn_msg_in m;
    int st = krn_wire_decode(w, f, n, &m);
    if (st < 0) {
        FUZZ_CHECK(!m.header && !m.parent && !m.metadata && !m.content && !m.ids && !m.n_ids,
                   "failed decode (%s) left something allocated", krn_wire_status_name(st));
        FUZZ_CHECK(memchr(m.reason, '\0', sizeof m.reason) && m.reason[0], "no reason for %s",
                   krn_wire_status_name(st));
        krn_msg_in_free(&m);
        replay_reset(w);
        return 0;
    }
    FUZZ_CHECK(st == KRN_WIRE_OK || st == KRN_WIRE_UNKNOWN_TYPE || st == KRN_WIRE_NUL, "status %d",
               st);
    FUZZ_CHECK(cJSON_IsObject(m.header) && cJSON_IsObject(m.parent) && cJSON_IsObject(m.metadata) &&
                   cJSON_IsObject(m.content),
               "decoded frames are not objects");
    FUZZ_CHECK(m.msg_type && m.msg_type[0], "no msg_type");
    FUZZ_CHECK(krn_wire_known_type(m.msg_type) == (st != KRN_WIRE_UNKNOWN_TYPE), "%s: %s",
               m.msg_type, krn_wire_status_name(st));
    if (w->hmac.key_len) {
        krn_msg_in again;
        int st2 = krn_wire_decode(w, f, n, &again);
        FUZZ_CHECK(st2 == KRN_WIRE_EREPLAY, "same frames twice: %s", krn_wire_status_name(st2));
        krn_msg_in_free(&again);
    }

    /* round trip: what was accepted re-encodes to frames that decode to the same type */
    {
        krn_wire_out o;
        cJSON *content = cJSON_Duplicate(m.content, 1);
        FUZZ_CHECK(content, "duplicate");
        FUZZ_CHECK(krn_wire_encode(w, m.header, m.parent, m.metadata, content, &o) == 0, "encode");
        krn_frame g[6] = {{"<IDS|MSG>", 9}, {o.sig, strlen(o.sig)}};
        for (int i = 0; i < 4; i++)
            g[2 + i] = (krn_frame){o.json[i], o.len[i]};
        krn_msg_in m2;
        /* frames that were already canonical re-encode to the same bytes and signature,
           which the replay set has just seen (replays were checked above) */
        replay_reset(w);
        int st2 = krn_wire_decode(w, g, 6, &m2);
        FUZZ_CHECK(st2 == KRN_WIRE_OK || st2 == KRN_WIRE_UNKNOWN_TYPE,
                   "re-encoded %s does not decode: %s (%s)", m.msg_type, krn_wire_status_name(st2),
                   m2.reason);
        FUZZ_CHECK(strcmp(m2.msg_type, m.msg_type) == 0, "msg_type changed");
        krn_msg_in_free(&m2);
        krn_wire_out_free(&o);
        cJSON_Delete(content);
    }

    if (flags & 8) {
        static krn_kernel k;
        static atomic_int cancel;
        static krn_history *hist;
        if (!hist) hist = krn_history_new();
        k.tx = &rec_tx;
        k.interp = interp;
        k.history = hist;
        k.cancel = &cancel;
        atomic_store(&cancel, 0);
        krn_req r = {&k,
                     NULL,
                     (flags & 16) ? KRN_CH_CONTROL : KRN_CH_SHELL,
                     &m,
                     st == KRN_WIRE_OK || st == KRN_WIRE_NUL,
                     flags & 32,
                     st == KRN_WIRE_NUL ? m.reason : NULL};
        krn_dispatch(&r);
        /* the history grows with every execute: keep it from growing across inputs */
        if (k.execution_count > 64) {
            krn_history_free(hist);
            hist = krn_history_new();
            k.history = hist;
            k.execution_count = 0;
        }
        atomic_store(&k.stop, false);
        atomic_store(&k.restart, false);
    }
    krn_msg_in_free(&m);
    replay_reset(w);
    return 0;
}
