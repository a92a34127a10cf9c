/* model_mem_test.c: models saved to and loaded from memory (rt_model_save_mem,
 * rt_model_load_mem in runtime/nn/rt_model_io.c): the bytes equal the file's byte for
 * byte, a model round-trips (architecture and weights), with metadata too, the load refuses what
 * the file load refuses with the same codes (magic, version, truncation at every header offset and
 * in the payload, trailing bytes, any flipped byte), and every allocation failed in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_alloc.h"
#include "rt_model.h"
#include "rt_policy.h"

static rt_policy *make_mlp(void)
{
    rt_policy_config c = {11, 3, 4, 6, 2, RT_NN_ACT_GELU};
    rt_policy *p;
    assert_int_equal(rt_policy_create(&p, &c, NULL), 0);
    rt_rng r = rt_rng_make(5);
    rt_policy_init(p, &r);
    return p;
}

static void same_bytes_as_the_file(void **state)
{
    (void)state;
    rt_policy *p = make_mlp();
    char path[64];
    snprintf(path, sizeof path, "/tmp/rt_model_mem_test_%d.bin", (int)getpid());
    rt_diag d;
    assert_int_equal(rt_model_save(&p->model, path, &d), 0);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static unsigned char file[1 << 16];
    size_t fn = fread(file, 1, sizeof file, fp);
    fclose(fp);
    unlink(path);
    void *mem;
    size_t n;
    assert_int_equal(rt_model_save_mem(&p->model, &mem, &n, &d), 0);
    assert_int_equal(n, fn);
    assert_memory_equal(mem, file, n);
    /* and it loads back: same architecture, same weights, same bytes again */
    rt_model *m;
    assert_int_equal(rt_model_load_mem(&m, mem, n, &d), 0);
    assert_true(rt_model_same_arch(m, &p->model));
    assert_memory_equal(m->params->w, p->params.w, sizeof(float) * p->params.n);
    assert_non_null(rt_policy_of(m));
    void *again;
    size_t n2;
    assert_int_equal(rt_model_save_mem(m, &again, &n2, &d), 0);
    assert_int_equal(n2, n);
    assert_memory_equal(again, mem, n);
    rt_free(again);
    rt_model_free(m);
    rt_free(mem);
    rt_policy_free(p);
}

/* With metadata (rt_model_save_mem_meta / rt_model_load_mem_meta): the bytes of
 * rt_model_save_meta's file, and the text back. */
static void with_metadata(void **state)
{
    (void)state;
    rt_policy *p = make_mlp();
    const char *meta = "policy = base\ntask = add\nmade = %%policy base\n";
    char path[64];
    snprintf(path, sizeof path, "/tmp/rt_model_mem_meta_test_%d.bin", (int)getpid());
    assert_int_equal(rt_model_save_meta(&p->model, meta, path, NULL), 0);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static unsigned char file[1 << 16];
    size_t fn = fread(file, 1, sizeof file, fp);
    fclose(fp);
    unlink(path);
    void *mem;
    size_t n;
    assert_int_equal(rt_model_save_mem_meta(&p->model, meta, &mem, &n, NULL), 0);
    assert_int_equal(n, fn);
    assert_memory_equal(mem, file, n);
    rt_model *m;
    char *back = NULL;
    assert_int_equal(rt_model_load_mem_meta(&m, &back, mem, n, NULL), 0);
    assert_string_equal(back, meta);
    assert_memory_equal(m->params->w, p->params.w, sizeof(float) * p->params.n);
    rt_free(back);
    rt_model_free(m);
    /* every allocation of the save failed in turn: ENOMEM, nothing leaked */
    for (long k = 1;; k++) {
        void *q = NULL;
        size_t qn = 0;
        rt_alloc_fail_at(k);
        int rc = rt_model_save_mem_meta(&p->model, meta, &q, &qn, NULL);
        rt_alloc_fail_at(0);
        if (rc == 0) {
            assert_int_equal(qn, n);
            rt_free(q);
            break;
        }
        assert_int_equal(rc, RT_ENOMEM);
        assert_null(q);
    }
    rt_free(mem);
    rt_policy_free(p);
}

static void refuses_bad_bytes(void **state)
{
    (void)state;
    rt_policy *p = make_mlp();
    void *mem;
    size_t n;
    assert_int_equal(rt_model_save_mem(&p->model, &mem, &n, NULL), 0);
    unsigned char *q = malloc(n + 1);
    rt_model *m = (rt_model *)q;
    rt_diag d;
    /* every prefix fails (exact-size copies: ASan sees any read past the end) */
    for (size_t k = 0; k < n; k++) {
        unsigned char *e = malloc(k ? k : 1);
        memcpy(e, mem, k);
        int rc = rt_model_load_mem(&m, e, k, &d);
        assert_true(rc == RT_EMAGIC || rc == RT_ETRUNC);
        assert_null(m);
        assert_true(strncmp(d.msg, "model bytes: ", 13) == 0);
        free(e);
    }
    assert_int_equal(rt_model_load_mem(&m, NULL, 0, &d), RT_ETRUNC); /* as an empty file */
    memcpy(q, mem, n);
    q[n] = 0;
    assert_int_equal(rt_model_load_mem(&m, q, n + 1, &d), RT_ESIZE);
    assert_string_equal(d.msg, "model bytes: 1 trailing bytes after the payload");
    q[8] = 4;
    assert_int_equal(rt_model_load_mem(&m, q, n, &d), RT_EVERSION);
    assert_string_equal(d.msg, "model bytes: format version 4, expected 1 to 3");
    /* any flipped byte is refused (the checksum covers every byte) */
    for (size_t k = 0; k < n; k++) {
        memcpy(q, mem, n);
        q[k] ^= 0x10;
        assert_int_not_equal(rt_model_load_mem(&m, q, n, &d), 0);
        assert_null(m);
    }
    free(q);
    rt_free(mem);
    rt_policy_free(p);
}

static void allocation_failures(void **state)
{
    (void)state;
    rt_policy *p = make_mlp();
    void *ref;
    size_t rn;
    assert_int_equal(rt_model_save_mem(&p->model, &ref, &rn, NULL), 0);
    for (int which = 0; which < 2; which++) {
        int ok = 0;
        for (long k = 1; k < 40 && !ok; k++) {
            void *mem = NULL;
            size_t n = 0;
            rt_model *m = NULL;
            rt_diag d = {0};
            rt_alloc_fail_at(k);
            int rc = which == 0 ? rt_model_save_mem(&p->model, &mem, &n, &d)
                                : rt_model_load_mem(&m, ref, rn, &d);
            rt_alloc_fail_at(0);
            if (rc == 0) {
                ok = 1;
            } else {
                assert_int_equal(rc, RT_ENOMEM);
                assert_int_equal(d.code, RT_ENOMEM);
                assert_null(mem);
                assert_null(m);
            }
            rt_free(mem);
            rt_model_free(m);
        }
        assert_true(ok);
    }
    rt_free(ref);
    rt_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bytes_as_the_file),
        cmocka_unit_test(with_metadata),
        cmocka_unit_test(refuses_bad_bytes),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
