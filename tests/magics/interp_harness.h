/* interp_harness: runs cells through the interpreter's vtable into a recording sink
 * (tests/common/rec_sink.h) and checks errors exactly; header-only, for tests/magics/ *_test.c. */
#ifndef INTERP_HARNESS_H
#define INTERP_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_sink.h"
#include "mag_interp.h"
#include "mag_magic.h"

typedef struct run {
    rec_sink m;
    krn_out *o;
    int rc;
} run;

static inline void exec_in(krn_interp *it, run *r, const char *code, atomic_int *flag)
{
    rec_init(&r->m);
    r->o = krn_out_new(&rec_vt, &r->m, flag, 3, false);
    r->rc = it->vt->execute(it->self, r->o, code, 3);
    krn_out_finish(r->o);
}

static inline void done(run *r)
{
    krn_out_free(r->o);
    rec_free(&r->m);
}

/* data["text/plain"] of message i */
static inline const char *plain(run *r, int i)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(rec_content(&r->m, i), "data"), "text/plain")
        ->valuestring;
}

/* All stdout text of a run, concatenated (malloc'ed). */
static inline char *stdout_text(run *r)
{
    size_t n = 0;
    char *s = calloc(1, 1);
    for (int i = 0; i < rec_count(&r->m); i++) {
        const char *nm = rec_str(&r->m, i, "name");
        if (strcmp(rec_type(&r->m, i), "stream") || !nm || strcmp(nm, "stdout")) continue;
        const char *t = rec_str(&r->m, i, "text");
        s = realloc(s, n + strlen(t) + 1);
        memcpy(s + n, t, strlen(t) + 1);
        n += strlen(t);
    }
    return s;
}

/* The %who output (malloc'ed). */
static inline char *who(krn_interp *it)
{
    run r;
    exec_in(it, &r, "%who", NULL);
    assert_int_equal(r.rc, KRN_EXEC_OK);
    char *s = stdout_text(&r);
    done(&r);
    return s;
}

/* Runs code, expects exactly one error at the end with this ename/evalue and, if tb0 is
 * not NULL, traceback [tb0, tb1, "ename: evalue"] (else ["ename: evalue"]); checks
 * that %who is the same before and after. */
static inline void check_error_in(krn_interp *it, const char *code, const char *ename,
                                  const char *evalue, const char *tb0, const char *tb1)
{
    char *before = who(it);
    run r;
    exec_in(it, &r, code, NULL);
    int last = rec_count(&r.m) - 1;
    if (last < 0 || strcmp(rec_type(&r.m, last), "error") != 0) {
        fprintf(stderr, "no error for: %s\n", code);
        fail();
    }
    if (strcmp(rec_str(&r.m, last, "evalue"), evalue) != 0) fprintf(stderr, "code: %s\n", code);
    assert_string_equal(rec_str(&r.m, last, "evalue"), evalue);
    assert_string_equal(rec_str(&r.m, last, "ename"), ename);
    assert_int_equal(r.rc, KRN_EXEC_ERROR);
    cJSON *tb = cJSON_GetObjectItem(rec_content(&r.m, last), "traceback");
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", ename, evalue);
    if (tb0) {
        assert_int_equal(cJSON_GetArraySize(tb), 3);
        assert_string_equal(cJSON_GetArrayItem(tb, 0)->valuestring, tb0);
        assert_string_equal(cJSON_GetArrayItem(tb, 1)->valuestring, tb1);
        assert_string_equal(cJSON_GetArrayItem(tb, 2)->valuestring, want);
    } else {
        assert_int_equal(cJSON_GetArraySize(tb), 1);
        assert_string_equal(cJSON_GetArrayItem(tb, 0)->valuestring, want);
    }
    done(&r);
    char *after = who(it);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Runs code and expects success; returns all stdout text (malloc'ed). */
static inline char *ok_in(krn_interp *it, const char *code)
{
    run r;
    exec_in(it, &r, code, NULL);
    if (r.rc != KRN_EXEC_OK) {
        int last = rec_count(&r.m) - 1;
        fprintf(stderr, "cell failed: %s\n  %s\n", code,
                last >= 0 && rec_str(&r.m, last, "evalue") ? rec_str(&r.m, last, "evalue") : "");
    }
    assert_int_equal(r.rc, KRN_EXEC_OK);
    char *s = stdout_text(&r);
    done(&r);
    return s;
}

#endif
