/* rt_reward_eval.c: the bytecode interpreter (one sample and batches) and the number
 * formatting used for printed results.  No allocation: the evaluation stack lives on
 * the C stack (RT_REWARD_MAX_STACK doubles, checked at compile time).  Value
 * semantics (x/0 = 0, …) are the rw_* functions of rt_reward_int.h, shared with the
 * constant folder. */
#include "rt_reward_int.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double rt_reward_eval(const rt_reward_program *p, const double *features, const double *params)
{
    double st[RT_REWARD_MAX_STACK + 1];
    int sp = -1; /* index of the top */
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
