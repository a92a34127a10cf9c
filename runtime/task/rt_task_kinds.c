/* rt_task_kinds.c: the records of the sequence kinds add, reverse, sort and copy —
 * their keys, prompt spaces and encoding as tokens, decoding typed prompts, targets,
 * the documented systematic errors and answer formats (contract in rt_task.h).
 * Leaves out triage (rt_task_triage.c), mix and everything generic (rt_task.c). */
#include "rt_task_internal.h"

#include <stdlib.h>

static uint64_t ipow(uint64_t b, int e)
{
    uint64_t r = 1;
    while (e-- > 0)
        r *= b;
    return r;
}

/* the n base-`base` digits of x, most significant first */
static void base_digits(uint64_t x, uint64_t base, int n, int *out)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (int)(x % base);
        x /= base;
    }
}

/* the decimal digits of x without leading zeros ("0" for 0), then EOS */
static int number_answer(uint64_t x, int *ans)
{
    int d[24], n = 0;
    do {
        d[n++] = (int)(x % 10);
        x /= 10;
    } while (x);
    for (int i = 0; i < n; i++)
        ans[i] = RT_TOK_DIGIT0 + d[n - 1 - i];
    ans[n] = RT_TOK_EOS;
    return n + 1;
}

static int is_digit(int tok)
{
    return tok >= RT_TOK_DIGIT0 && tok <= RT_TOK_DIGIT0 + 9;
}

static int is_letter(int tok)
{
    return tok >= RT_TOK_LETTER0 && tok <= RT_TOK_LETTER0 + 9;
}

/* ---- add digits=D: "a + b =" -> a+b ------------------------------------------------ */

static const rt_task_key add_keys[] = {
    {.name = "digits",
     .type = RT_TASK_KEY_INT,
     .min = 1,
     .max = 6,
     .def = 2,
     .help = "digits per operand"},
};

static int digits_of(const rt_task *t)
{
    return (int)rt_task_values(t)[0];
}

static void add_shape(const double *v, int *P, int *T, uint64_t *space)
{
    int D = (int)v[0];
    *P = 2 * D + 3;
    *T = D + 2;
    *space = ipow(10, 2 * D);
}

static void add_encode(const rt_task *t, uint64_t id, int *p)
{
    int D = digits_of(t);
    uint64_t m = ipow(10, D);
    base_digits(id / m, 10, D, p);
    base_digits(id % m, 10, D, p + 1 + D);
    for (int i = 0; i < 2 * D + 1; i++)
        p[i] += RT_TOK_DIGIT0;
    p[D] = RT_TOK_PLUS;
    p[2 * D + 1] = RT_TOK_EQ;
}

static int add_decode(const rt_task *t, const int *p, int n, uint64_t *id)
{
    int D = digits_of(t);
    uint64_t x = 0;
    for (int i = 0; i < n - 1; i++) {
        if (i == D) {
            if (p[i] != RT_TOK_PLUS) return -1;
            continue;
        }
        if (!is_digit(p[i])) return -1;
        x = x * 10 + (uint64_t)(p[i] - RT_TOK_DIGIT0);
    }
    if (p[n - 1] != RT_TOK_EQ) return -1;
    *id = x;
    return 0;
}

static int add_target(const rt_task *t, uint64_t id, int *ans)
{
    uint64_t m = ipow(10, digits_of(t));
    return number_answer(id / m + id % m, ans);
}

/* dropped carries: each digit is (a_i + b_i) mod 10 */
static int add_corrupt(const rt_task *t, uint64_t id, int *ans)
{
    int D = digits_of(t);
    uint64_t m = ipow(10, D), a = id / m, b = id % m, r = 0, p = 1;
    for (int i = 0; i < D; i++, p *= 10, a /= 10, b /= 10)
        r += (a % 10 + b % 10) % 10 * p;
    return number_answer(r, ans);
}

static int digit_answer(const rt_task *t, int tok)
{
    (void)t;
    return is_digit(tok);
}

const rt_task_kind_ops rt_task_kind_add = {
    .name = "add",
    .tag = "<add>",
    .help = "the sum of two numbers",
    .keys = add_keys,
    .n_keys = 1,
    .mixable = 1,
    .shape = add_shape,
    .encode = add_encode,
    .decode = add_decode,
    .target = add_target,
    .corrupt = add_corrupt,
    .answer_token = digit_answer,
};

/* ---- reverse, sort, copy length=N: "x1..xN :" -> a permutation -------------------- */

static const rt_task_key seq_keys[] = {
    {.name = "length",
     .type = RT_TASK_KEY_INT,
     .min = 1,
     .max = 12,
     .def = 4,
     .help = "sequence length"},
};

static int length_of(const rt_task *t)
{
    return (int)rt_task_values(t)[0];
}

static void seq_shape(const double *v, int *P, int *T, uint64_t *space)
{
    int L = (int)v[0];
    *P = L + 2;
    *T = L + 1;
    *space = ipow(10, L);
}

/* the elements of prompt id as tokens from `base` (letters or digits) */
static void seq_elems(const rt_task *t, uint64_t id, int base, int *e)
{
    int n = length_of(t);
    base_digits(id, 10, n, e);
    for (int i = 0; i < n; i++)
        e[i] += base;
}

static void seq_encode(const rt_task *t, uint64_t id, int base, int *p)
{
    seq_elems(t, id, base, p);
    p[length_of(t)] = RT_TOK_SEP;
}

static int seq_decode(const int *p, int n, int base, uint64_t *id)
{
    uint64_t x = 0;
    for (int i = 0; i < n - 1; i++) {
        if (p[i] < base || p[i] > base + 9) return -1;
        x = x * 10 + (uint64_t)(p[i] - base);
    }
    if (p[n - 1] != RT_TOK_SEP) return -1;
    *id = x;
    return 0;
}

static int seq_end(const rt_task *t, int *ans)
{
    int n = length_of(t);
    ans[n] = RT_TOK_EOS;
    return n + 1;
}

/* the first pair of differing adjacent answer tokens swapped (EOS excluded) */
static int swap_first_pair(const rt_task *t, uint64_t id, int *ans)
{
    return rt_task_k_swap_first(ans, t->ops->target(t, id, ans));
}

static int letter_answer(const rt_task *t, int tok)
{
    (void)t;
    return is_letter(tok);
}

static void letters_encode(const rt_task *t, uint64_t id, int *p)
{
    seq_encode(t, id, RT_TOK_LETTER0, p);
}

static int letters_decode(const rt_task *t, const int *p, int n, uint64_t *id)
{
    (void)t;
    return seq_decode(p, n, RT_TOK_LETTER0, id);
}

static int reverse_target(const rt_task *t, uint64_t id, int *ans)
{
    int e[16], n = length_of(t);
    seq_elems(t, id, RT_TOK_LETTER0, e);
    for (int i = 0; i < n; i++)
        ans[i] = e[n - 1 - i];
    return seq_end(t, ans);
}

const rt_task_kind_ops rt_task_kind_reverse = {
    .name = "reverse",
    .tag = "<rev>",
    .help = "a sequence of letters, reversed",
    .keys = seq_keys,
    .n_keys = 1,
    .mixable = 1,
    .shape = seq_shape,
    .encode = letters_encode,
    .decode = letters_decode,
    .target = reverse_target,
    .corrupt = swap_first_pair,
    .answer_token = letter_answer,
};

static void sort_encode(const rt_task *t, uint64_t id, int *p)
{
    seq_encode(t, id, RT_TOK_DIGIT0, p);
}

static int sort_decode(const rt_task *t, const int *p, int n, uint64_t *id)
{
    (void)t;
    return seq_decode(p, n, RT_TOK_DIGIT0, id);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int sort_target(const rt_task *t, uint64_t id, int *ans)
{
    seq_elems(t, id, RT_TOK_DIGIT0, ans);
    qsort(ans, (size_t)length_of(t), sizeof *ans, cmp_int);
    return seq_end(t, ans);
}

const rt_task_kind_ops rt_task_kind_sort = {
    .name = "sort",
    .tag = "<sort>",
    .help = "a sequence of digits, sorted",
    .keys = seq_keys,
    .n_keys = 1,
    .mixable = 1,
    .shape = seq_shape,
    .encode = sort_encode,
    .decode = sort_decode,
    .target = sort_target,
    .corrupt = swap_first_pair,
    .answer_token = digit_answer,
};

static int copy_target(const rt_task *t, uint64_t id, int *ans)
{
    seq_elems(t, id, RT_TOK_LETTER0, ans);
    return seq_end(t, ans);
}

const rt_task_kind_ops rt_task_kind_copy = {
    .name = "copy",
    .tag = "<copy>",
    .help = "a sequence of letters, copied",
    .keys = seq_keys,
    .n_keys = 1,
    .mixable = 1,
    .shape = seq_shape,
    .encode = letters_encode,
    .decode = letters_decode,
    .target = copy_target,
    .corrupt = swap_first_pair,
    .answer_token = letter_answer,
};
