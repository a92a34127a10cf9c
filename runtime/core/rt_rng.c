/* rt_rng.c: counter-based generator from the splitmix64 finalizer (see rt_rng.h).
 * Not cryptographic; statistically sound for simulation. */
#include "rt_rng.h"

#include <math.h>

#include "rt_math.h"

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

rt_rng rt_rng_make(uint64_t seed)
{
    rt_rng r = {mix64(seed + GOLDEN), 0};
    return r;
}

rt_rng rt_rng_from_name(uint64_t seed, const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    rt_rng r = {mix64(mix64(seed + GOLDEN) ^ mix64(h)), 0};
    return r;
}

rt_rng rt_rng_split(const rt_rng *r, uint64_t stream)
{
    rt_rng c = {mix64(r->key ^ mix64(stream * GOLDEN + 0x632be59bd9b4e019ULL)), 0};
    return c;
}

uint64_t rt_rng_u64(rt_rng *r)
{
    uint64_t c = r->ctr++;
    return mix64(r->key ^ mix64(c * GOLDEN + GOLDEN));
}

uint32_t rt_rng_below(rt_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection */
    uint64_t m = (uint64_t)(uint32_t)rt_rng_u64(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)(uint32_t)rt_rng_u64(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float rt_rng_uniform(rt_rng *r)
{
    return (float)(rt_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double rt_rng_uniform_d(rt_rng *r)
{
    return (double)(rt_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

float rt_rng_normal(rt_rng *r)
{
    double u1 = 1.0 - rt_rng_uniform_d(r); /* (0, 1] */
    double u2 = rt_rng_uniform_d(r);
    /* cos(2 pi u2) = rt_cospi(2 u2): 2 u2 is exact and so is cospi's reduction */
    return (float)(sqrt(-2.0 * rt_log(u1)) * rt_cospi(2.0 * u2));
}

void rt_rng_shuffle(rt_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rt_rng_below(r, (uint32_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
