/* rt_reward_eval.c: the bytecode interpreter (one sample and batches), the text
 * operations (equals, contains, prefix, edit_distance, number: rt_reward.h) and the
 * number formatting used for printed results.  No allocation: the evaluation stack lives on
 * the C stack (RT_REWARD_MAX_STACK doubles, checked at compile time).  Value
 * semantics (x/0 = 0, …) are the rw_* functions of rt_reward_int.h, shared with the
 * constant folder. */
#include "rt_reward_int.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text operations ---- */

/* Code point at s[i..n) per rt_text.h's stepping rule, but an ill-formed byte b decodes
 * to 0x110000 + b (beyond Unicode), so two different bad bytes never compare equal. */
static size_t cp_at(const char *s, size_t n, size_t i, uint32_t *cp)
{
    size_t k = rt_utf8_seq(s + i, n - i);
    if (k == 0) {
        *cp = 0x110000u + (unsigned char)s[i];
        return 1;
    }
    rt_utf8_decode(s + i, n - i, cp);
    return k;
}

/* Levenshtein distance over the first RT_REWARD_MAX_EDIT code points of a and b:
 * b decoded once, two rows of the dynamic programme, all on the stack. */
static double edit_distance(rt_strview a, rt_strview b)
{
    uint32_t bc[RT_REWARD_MAX_EDIT];
    int row0[RT_REWARD_MAX_EDIT + 1], row1[RT_REWARD_MAX_EDIT + 1];
    size_t nb = 0;
    for (size_t i = 0; i < b.n && nb < RT_REWARD_MAX_EDIT;)
        i += cp_at(b.s, b.n, i, &bc[nb++]);
    int *prev = row0, *cur = row1;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    size_t na = 0;
    for (size_t i = 0; i < a.n && na < RT_REWARD_MAX_EDIT;) {
        uint32_t ca;
        i += cp_at(a.s, a.n, i, &ca);
        na++;
        cur[0] = (int)na;
        for (size_t j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (bc[j - 1] != ca);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            int m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
        }
        int *t = prev;
        prev = cur;
        cur = t;
    }
    return (double)prev[nb];
}

static int is_dig(char c)
{
    return c >= '0' && c <= '9';
}

double rw_number(rt_strview a)
{
    const char *s = a.s;
    size_t n = a.n;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        if (s[j] == '-' || s[j] == '+') j++;
        /* a number starts here if a digit, or '.' then a digit, follows */
        if (!(j < n && (is_dig(s[j]) || (s[j] == '.' && j + 1 < n && is_dig(s[j + 1]))))) continue;
        while (j < n && is_dig(s[j]))
            j++;
        if (j < n && s[j] == '.') {
            j++;
            while (j < n && is_dig(s[j]))
                j++;
        }
        if (j < n && (s[j] == 'e' || s[j] == 'E')) {
            size_t k = j + 1;
            if (k < n && (s[k] == '-' || s[k] == '+')) k++;
            if (k < n && is_dig(s[k])) {
                while (k < n && is_dig(s[k]))
                    k++;
                j = k;
            }
        }
        char buf[65];
        if (j - i > 64) return NAN; /* documented: too long a numeral */
        memcpy(buf, s + i, j - i);
        buf[j - i] = 0;
        return strtod(buf, NULL); /* decimal only (checked above); "C" locale */
    }
    return NAN;
}

double rw_text_op(int op, rt_strview a, rt_strview b)
{
    switch (op) {
    case OP_EQUALS:
        return a.n == b.n && (a.n == 0 || !memcmp(a.s, b.s, a.n)) ? 1.0 : 0.0;
    case OP_PREFIX:
        return b.n <= a.n && (b.n == 0 || !memcmp(a.s, b.s, b.n)) ? 1.0 : 0.0;
    case OP_CONTAINS:
        if (b.n == 0) return 1.0;
        for (size_t i = 0; i + b.n <= a.n; i++) {
            const char *f = memchr(a.s + i, b.s[0], a.n - b.n + 1 - i);
            if (!f) return 0.0;
            i = (size_t)(f - a.s);
            if (!memcmp(f, b.s, b.n)) return 1.0;
        }
        return 0.0;
    case OP_EDIT:
        return edit_distance(a, b);
    case OP_NUMBER:
        return rw_number(a);
    default:
        return 0.0;
    }
}

double rt_reward_eval(const rt_reward_program *p, const double *features, const double *params)
{
    return rt_reward_eval_texts(p, features, params, NULL);
}

double rt_reward_eval_texts(const rt_reward_program *p, const double *features,
                            const double *params, const rt_strview *texts)
{
    double st[RT_REWARD_MAX_STACK + 1];
    int sp = -1; /* index of the top */
    rt_strview ts[2];
    int tsp = -1; /* text stack (2 deep: text leaves are direct arguments) */
    static const rt_strview empty = {"", 0};
    if (!p || p->n_code == 0) return 0.0;
    const uint32_t *code = p->code;
    const int n = p->n_code;
    for (int pc = 0; pc < n; pc++) {
        const uint32_t w = code[pc];
        const unsigned arg = w >> 8;
        switch (w & 0xFFu) {
        case OP_CONST:
            st[++sp] = p->consts[arg];
            break;
        case OP_FEAT:
            st[++sp] = features[arg];
            break;
        case OP_PARAM:
            st[++sp] = params[arg];
            break;
        case OP_NEG:
            st[sp] = -st[sp];
            break;
        case OP_NOT:
            st[sp] = st[sp] == 0 ? 1.0 : 0.0;
            break;
        case OP_TRUTH:
            st[sp] = st[sp] != 0 ? 1.0 : 0.0;
            break;
        case OP_ABS:
            st[sp] = fabs(st[sp]);
            break;
        case OP_LOG:
            st[sp] = rw_log(st[sp]);
            break;
        case OP_EXP:
            st[sp] = rw_exp(st[sp]);
            break;
        case OP_SQRT:
            st[sp] = rw_sqrt(st[sp]);
            break;
        case OP_ADD:
            sp--;
            st[sp] = st[sp] + st[sp + 1];
            break;
        case OP_SUB:
            sp--;
            st[sp] = st[sp] - st[sp + 1];
            break;
        case OP_MUL:
            sp--;
            st[sp] = st[sp] * st[sp + 1];
            break;
        case OP_DIV:
            sp--;
            st[sp] = rw_div(st[sp], st[sp + 1]);
            break;
        case OP_POW:
            sp--;
            st[sp] = rw_pow(st[sp], st[sp + 1]);
            break;
        case OP_LT:
        case OP_LE:
        case OP_GT:
        case OP_GE:
        case OP_EQ:
        case OP_NE:
        case OP_MIN:
        case OP_MAX:
        case OP_AND:
        case OP_OR:
            sp--;
            st[sp] = rw_apply2((int)(w & 0xFFu), st[sp], st[sp + 1]);
            break;
        case OP_CLIP:
            sp -= 2;
            st[sp] = rw_clip(st[sp], st[sp + 1], st[sp + 2]);
            break;
        case OP_CLOSE:
            sp -= 2;
            st[sp] = rw_close(st[sp], st[sp + 1], st[sp + 2]);
            break;
        case OP_TEXT:
            ts[++tsp] = texts && texts[arg].s ? texts[arg] : empty;
            break;
        case OP_STR:
            ts[++tsp].s = p->lits[arg].s;
            ts[tsp].n = p->lits[arg].n;
            break;
        case OP_EQUALS:
        case OP_CONTAINS:
        case OP_PREFIX:
        case OP_EDIT:
            tsp -= 2;
            st[++sp] = rw_text_op((int)(w & 0xFFu), ts[tsp + 1], ts[tsp + 2]);
            break;
        case OP_NUMBER:
            st[++sp] = rw_number(ts[tsp--]);
            break;
        case OP_JZ:
            if (st[sp--] == 0) pc = (int)arg - 1;
            break;
        case OP_JMP:
            pc = (int)arg - 1;
            break;
        case OP_ANDJ:
            if (st[sp] == 0) {
                st[sp] = 0.0;
                pc = (int)arg - 1;
            } else {
                sp--;
            }
            break;
        case OP_ORJ:
            if (st[sp] != 0) {
                st[sp] = 1.0;
                pc = (int)arg - 1;
            } else {
                sp--;
            }
            break;
        default:
            return 0.0; /* unreachable: the compiler emits only the above */
        }
    }
    double r = sp >= 0 ? st[sp] : 0.0;
    return isnan(r) ? 0.0 : r;
}

int rt_reward_eval_batch(const rt_reward_program *p, const double *features, size_t n,
                         size_t stride, const double *params, double *out)
{
    if (!p || (n && !out)) return RT_EINVAL;
    if (stride < (size_t)p->min_slots) return RT_EINVAL;
    if (n && p->min_slots > 0 && !features) return RT_EINVAL;
    if (p->n_params > 0 && !params) return RT_EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = rt_reward_eval(p, features ? features + i * stride : NULL, params);
    return 0;
}

size_t rt_reward_format(double x, char *buf, size_t n)
{
    char tmp[64];
    if (isnan(x)) {
        snprintf(tmp, sizeof tmp, "nan");
    } else if (isinf(x)) {
        snprintf(tmp, sizeof tmp, "%s", x < 0 ? "-inf" : "inf");
    } else if (x == 0) {
        snprintf(tmp, sizeof tmp, "0"); /* also -0 */
    } else if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(tmp, sizeof tmp, "%.0f", x);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, x);
            if (strtod(tmp, NULL) == x) break;
        }
    }
    size_t len = strlen(tmp);
    if (buf && n) {
        size_t k = len < n - 1 ? len : n - 1;
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    return len;
}
