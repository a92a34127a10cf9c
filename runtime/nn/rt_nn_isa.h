/* rt_nn_isa.h (internal to runtime/nn): hot loops compiled once per SIMD path and picked
 * per call by the runtime's path (rt_nn_isa: the CPU's best, or RLHF_ISA).
 *
 *   RT_ISA_FN(double, name, (int n, const float *x), (n, x)) { body }
 *   RT_ISA_FN_VOID(name, (int n, float *x), (n, x)) { body }   (void functions)
 *   RT_ISA_FN_STATIC / RT_ISA_FN_VOID_STATIC: the same with internal linkage
 *
 * The body becomes an always-inline function that is inlined into three copies, compiled
 * for AVX-512F, for AVX2+FMA and for the baseline; `name` calls the copy of the path in
 * use.  Results do not depend on the copy: loops are elementwise or reduce over explicit
 * lanes in a fixed order, floating-point contraction is off (-ffp-contract=off) and an
 * FMA is only ever written explicitly.  Unlike target_clones (picked once by the CPU at
 * load time), this lets RLHF_ISA and the tests run every path on one machine.
 * Leaves out: the GEMM's own kernels (rt_nn_mm.c, hand-written per path) and the choice
 * of path (rt_nn.h: rt_nn_isa, RLHF_ISA). */
#ifndef RT_NN_ISA_H
#define RT_NN_ISA_H

#include "rt_nn.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RT_NN_NO_CLONES)
#define RT_ISA_COPIES(ret, name, params, args, RET)                                                \
    __attribute__((target("avx512f"))) static ret name##_avx512 params                             \
    {                                                                                              \
        RET name##_body args;                                                                      \
    }                                                                                              \
    __attribute__((target("avx2,fma"))) static ret name##_avx2 params                              \
    {                                                                                              \
        RET name##_body args;                                                                      \
    }                                                                                              \
    static ret name##_portable params                                                              \
    {                                                                                              \
        RET name##_body args;                                                                      \
    }
#define RT_ISA_PICK(name, args, RET)                                                               \
    switch (rt_nn_isa()) {                                                                         \
    case RT_NN_MM_AVX512:                                                                          \
        RET name##_avx512 args;                                                                    \
        break;                                                                                     \
    case RT_NN_MM_AVX2:                                                                            \
        RET name##_avx2 args;                                                                      \
        break;                                                                                     \
    default:                                                                                       \
        RET name##_portable args;                                                                  \
        break;                                                                                     \
    }
#else
#define RT_ISA_COPIES(ret, name, params, args, RET)                                                \
    static ret name##_portable params                                                              \
    {                                                                                              \
        RET name##_body args;                                                                      \
    }
#define RT_ISA_PICK(name, args, RET) RET name##_portable args;
#endif

#define RT_ISA_DEF(link, ret, name, params, args, RET)                                             \
    static inline __attribute__((always_inline)) ret name##_body params;                           \
    RT_ISA_COPIES(ret, name, params, args, RET)                                                    \
    link ret name params                                                                           \
    {                                                                                              \
        RT_ISA_PICK(name, args, RET)                                                               \
    }                                                                                              \
    static inline __attribute__((always_inline)) ret name##_body params

#define RT_ISA_FN(ret, name, params, args) RT_ISA_DEF(, ret, name, params, args, return )
#define RT_ISA_FN_STATIC(ret, name, params, args)                                                  \
    RT_ISA_DEF(static, ret, name, params, args, return )
#define RT_ISA_FN_VOID(name, params, args) RT_ISA_DEF(, void, name, params, args, )
#define RT_ISA_FN_VOID_STATIC(name, params, args) RT_ISA_DEF(static, void, name, params, args, )

/* Reductions in double over 8 fixed lanes: lane l takes the indices i = l mod 8 in
 * increasing order (each product of two floats is exact in double), then the lanes are
 * added pairwise ((0+4)+(2+6))+((1+5)+(3+7)).  A fixed order that vectorizes on every
 * path; inlined into the caller's copy (its ISA). */
static inline __attribute__((always_inline)) double rt_lanes8_fold(double *l)
{
    for (int w = 4; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            l[j] += l[j + w];
    return l[0];
}

/* The body of a lane reduction: returns the folded sum over k in [0, n) of term (an
 * expression in the index k, evaluated in double): whole groups of 8, then the tail, lane
 * j taking k = j mod 8. */
#define RT_LANES8_RETURN(n, k, term)                                                               \
    double l_[8] = {0};                                                                            \
    size_t i_ = 0;                                                                                 \
    for (; i_ + 8 <= (n); i_ += 8)                                                                 \
        for (size_t j_ = 0; j_ < 8; j_++) {                                                        \
            size_t k = i_ + j_;                                                                    \
            l_[j_] += (term);                                                                      \
        }                                                                                          \
    for (size_t j_ = 0; i_ + j_ < (n); j_++) {                                                     \
        size_t k = i_ + j_;                                                                        \
        l_[j_] += (term);                                                                          \
    }                                                                                              \
    return rt_lanes8_fold(l_)

/* sum_i a_i b_i, i in [0, n) */
static inline __attribute__((always_inline)) double rt_lanes8_dot(const float *a, const float *b,
                                                                  size_t n)
{
    RT_LANES8_RETURN(n, k, (double)a[k] * b[k]);
}

/* the same with a given as doubles (a float vector converted once, for many dot products
 * with it: the same bits) */
static inline __attribute__((always_inline)) double rt_lanes8_dotd(const double *a, const float *b,
                                                                   size_t n)
{
    RT_LANES8_RETURN(n, k, a[k] * b[k]);
}

/* sum_i a_i, i in [0, n) */
static inline __attribute__((always_inline)) double rt_lanes8_sum(const float *a, size_t n)
{
    RT_LANES8_RETURN(n, k, (double)a[k]);
}

/* sum_i (double)(a_i - m)^2, i in [0, n) (a_i - m rounded to float first) */
static inline __attribute__((always_inline)) double rt_lanes8_sqdev(const float *a, float m,
                                                                    size_t n)
{
    RT_LANES8_RETURN(n, k, (double)(a[k] - m) * (double)(a[k] - m));
}

#endif
