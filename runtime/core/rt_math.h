/* rt_math: the runtime's own transcendental functions, the same bits on every machine.
 *
 * Why.  libm's exp/log/tanh/pow are not correctly rounded, and which code computes
 * them differs between C libraries and, in glibc, between CPUs (FMA and non-FMA
 * variants chosen at load time).  The runtime's numbers must be the same on any
 * x86-64 ISA path, on aarch64 and at any thread count, so runtime/ and magics/ call only
 * these (tools/check-libm, the meson test 'check-libm', fails if one of their libraries
 * references a libm transcendental).  Each function is a fixed sequence of IEEE-754
 * operations that are correctly rounded everywhere: + - * / sqrt, fma (C99: one
 * rounding — the CPU instruction where there is one, else the C library's exact
 * software fma; rt_math.c's double functions are compiled with and without FMA on
 * x86-64), comparisons, integer and bit operations; tables and coefficients are
 * constants (rt_math_data.h, generated reproducibly by tools/gen-rt-math.py).  No
 * contraction happens beyond the fma calls written out: rt_math.c and the callers that
 * inline rt_expf_vec / rt_tanhf_vec are compiled with -ffp-contract=off (C11, the
 * project's standard, also defaults to off).  floor, ceil, sqrt, fabs, fmin, fmax, round,
 * fmod, ldexp, frexp and fma are exact and may still come from libm.
 *
 * Floating-point environment.  Round-to-nearest, and no flush-to-zero: subnormal
 * inputs are used as they are and subnormal results are produced by IEEE gradual
 * underflow on every path, including the vectorized ones (the runtime never sets
 * FTZ/DAZ and is not built with -ffast-math, which would).  Nothing sets errno.
 *
 * Accuracy: maximum error measured, in ulps of the result — exhaustively over all 2^32
 * floats for the float functions; for the double ones over random sweeps of 5 * 10^6
 * points per range (the ranges of tests/runtime/core/math_test.c, whose bounds are these
 * plus a small margin) against long double libm:
 *   rt_expf, rt_expf_vec   0.989       rt_tanhf, rt_tanhf_vec   1.067
 *   rt_logf                0.500       rt_log1pf                0.500
 *   rt_exp                 0.510       rt_log                   0.500
 *   rt_log1p               0.500       rt_log10                 0.501
 *   rt_pow                 0.510       rt_cospi                 0.598
 * (0.500: correctly rounded except in rare near-halfway cases; rt_pow's bound includes
 * exponents up to 1e9 on bases near 1, where log's error is amplified most.)  rt_log10
 * and rt_pow carry ~2^-60 relative error before their final rounding, so a result that
 * is exactly a double comes out exactly (tested: rt_log10(10^k) = k and rt_pow(10, k) =
 * 10^k for |k| <= 22; rt_pow(x, 1) = x and rt_pow(x, 2) = x * x by definition).
 * Bits are checked by a committed hash of fixed inputs (math_test), the same under
 * x86-64 with and without FMA (glibc's software fma) and under qemu-aarch64.
 *
 * Leaves out: sin/cos/tan of arbitrary arguments (the one cosine the runtime needs,
 * Box-Muller's cos(2 pi u), is rt_cospi(2u), whose argument reduction is exact),
 * inverse trigonometric and hyperbolic functions other than tanh, long double. */
#ifndef RT_MATH_H
#define RT_MATH_H

#include <stdint.h>
#include <string.h>

/* ---- float ------------------------------------------------------------------- */

/* e^x.  NaN -> NaN; +inf and x > ln(FLT_MAX) = 88.72284 -> +inf (by IEEE overflow);
 * -inf and x < -103.97 -> +0; x in [-103.97, -87.34] -> subnormal.  Same bits as
 * rt_expf_vec. */
float rt_expf(float x);
/* tanh x.  NaN -> NaN; +-inf -> +-1; +-0 -> +-0; |x| > 9.01 -> +-1 exactly; subnormal
 * x -> x.  Same bits as rt_tanhf_vec. */
float rt_tanhf(float x);
/* log x, computed in double (relative error < 2^-43, then rounded to float).  NaN -> NaN;
 * x < 0 -> NaN; +-0 -> -inf; +inf -> +inf; subnormal x handled exactly. */
float rt_logf(float x);
/* out[i] = rt_logf(in[i]) for i < n, bit for bit, computed 8 at a time with AVX-512F
 * (simd = 2), 4 at a time with AVX2 (simd = 1) or one at a time (0): the same operations
 * per element on every path (a lower path is used if the CPU lacks the one asked). */
void rt_logf_n(float *out, const float *in, size_t n, int simd);
/* log(1 + x), computed in double as rt_logf.  NaN -> NaN; x < -1 -> NaN; -1 -> -inf;
 * +inf -> +inf; +-0 -> +-0; tiny x -> x. */
float rt_log1pf(float x);

/* ---- double ------------------------------------------------------------------ */

/* e^x.  NaN -> NaN; x > 709.7827 (ln DBL_MAX) and +inf -> +inf; -inf and
 * x < -745.1332 -> +0; x in [-745.13, -708.40] -> subnormal (gradual). */
double rt_exp(double x);
/* log x.  NaN -> NaN; x < 0 (and -inf) -> NaN; +-0 -> -inf; +inf -> +inf; log 1 = +0. */
double rt_log(double x);
/* log(1 + x), accurate for tiny x.  NaN -> NaN; x < -1 -> NaN; -1 -> -inf; +inf -> +inf;
 * +-0 -> +-0. */
double rt_log1p(double x);
/* log10 x, exact at the powers of ten that are doubles.  Special values as rt_log. */
double rt_log10(double x);
/* x^y with the special cases of C99 Annex F (pow): x^+-0 = 1 and 1^y = 1 even for NaN;
 * otherwise NaN in -> NaN; x < 0 finite with y finite non-integer -> NaN; x < 0 with y
 * an integer -> sign of x for odd y; +-0 and +-inf bases and +-inf exponents as Annex F;
 * overflow -> +-inf, underflow -> +-0 or subnormal.  Computed as exp(y log|x|) with
 * log|x| in double-double (relative error < 2^-66) and y log|x| as an exact product
 * plus its error, so the 709-fold amplification of the log's error stays below
 * 0.02 ulp. */
double rt_pow(double x, double y);
/* cos(pi x) with exact argument reduction: rt_cospi(n + 0.5) = +0, rt_cospi(1) = -1;
 * |x| >= 2^53 (even integers) -> 1; NaN and +-inf -> NaN. */
double rt_cospi(double x);

/* ---- branch-free float versions for vectorized loops ------------------------- */
/* The same bits as rt_expf / rt_tanhf (these are their definitions), written without
 * branches (selects are bit masks, rt_math_sel), without fmaf (so every ISA copy of a
 * loop — AVX-512F, AVX2+FMA, baseline, NEON — computes the identical operation sequence,
 * inline and vectorized) and without libm.
 * Polynomial coefficients from tools/gen-rt-math.py (minimax, rounded to float). */

static inline float rt_math_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t rt_math_u32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* c ? a : b as bit operations.  A plain ?: between floats is kept as control flow by
 * GCC under the default -ftrapping-math when an arm holds arithmetic, and then only the
 * AVX-512 copy (masked operations) vectorizes; with masks every ISA copy does. */
static inline float rt_math_sel(int c, float a, float b)
{
    uint32_t m = -(uint32_t)c;
    return rt_math_f32((rt_math_u32(a) & m) | (rt_math_u32(b) & ~m));
}

/* e^x = 2^n e^r, n = round(x / ln2), r = x - n ln2 in two parts (Cody-Waite: n * hi is
 * exact, x - n * hi exact by Sterbenz), e^r = 1 + (r + r^2 c(r)) with c minimax degree 4
 * (relative error 2^-28.3), and 2^n applied as two exact powers of two so that the last
 * multiplication rounds once into the subnormal range or overflows to +inf.  The clamps
 * are written so that NaN fails both comparisons (-> -104, no NaN reaches the int
 * conversion); NaN is restored at the end (returned as it came). */
static inline float rt_expf_vec(float x0)
{
    float x = rt_math_sel(x0 > -104.0f, x0, -104.0f); /* below: e^x < 2^-150, rounds to 0 */
    x = rt_math_sel(x < 89.0f, x, 89.0f);             /* above: overflows */
    float n = x * 0x1.715476p+0f + 0x1.8p23f;         /* round to nearest integer */
    n -= 0x1.8p23f;
    float r = x - n * 0x1.62e4p-1f; /* ln2 hi: 15 bits, n * hi exact for |n| <= 151 */
    r = r - n * 0x1.7f7d1cp-20f;    /* ln2 lo */
    float c = 0x1.6a244cp-10f * r + 0x1.1239d4p-7f;
    c = c * r + 0x1.5558f2p-5f;
    c = c * r + 0x1.555492p-3f;
    c = c * r + 0x1.fffffcp-2f;
    float p = 1.0f + (r + (r * r) * c);
    int32_t ni = (int32_t)n;            /* in [-150, 128] */
    int32_t n1 = ni >> 1, n2 = ni - n1; /* arithmetic shift (GCC, Clang); both >= -75 */
    float e =
        (p * rt_math_f32((uint32_t)(n1 + 127) << 23)) * rt_math_f32((uint32_t)(n2 + 127) << 23);
    return rt_math_sel(x0 == x0, e, x0);
}

/* tanh |x| = |x| + |x|^3 P(x^2) for |x| < 0.75 (P minimax degree 5), else
 * 1 - 2 / (1 + e^(2|x|)) with rt_expf_vec (e^(2|x|) = +inf gives exactly 1); the sign
 * of x is put back on the result (so -0 -> -0, NaN -> NaN). */
static inline float rt_tanhf_vec(float x)
{
    uint32_t sign = rt_math_u32(x) & 0x80000000u;
    float a = rt_math_f32(rt_math_u32(x) & 0x7fffffffu);
    float z = a * a;
    float q = 0x1.f7359cp-10f * z - 0x1.0470ecp-7f;
    q = q * z + 0x1.6242aep-6f;
    q = q * z - 0x1.b9daa8p-5f;
    q = q * z + 0x1.11105p-3f;
    q = q * z - 0x1.555554p-2f;
    float small = a + a * (z * q);
    float large = 1.0f - 2.0f / (1.0f + rt_expf_vec(a + a));
    float t = rt_math_sel(a < 0.75f, small, large); /* NaN: large, which is NaN */
    return rt_math_f32(rt_math_u32(t) | sign);
}

#endif
