/* rt_sweep_points.c: mixed-radix index arithmetic and names of sweep points
 * (rt_sweep_points.h). */
#include "rt_sweep_points.h"

#include <limits.h>
#include <stdio.h>

long rt_sweep_count(const rt_sweep_key *keys, int n_keys)
{
    long n = 1;
    for (int k = 0; k < n_keys; k++) {
        if (keys[k].n_values < 1) return -1;
        if (n > LONG_MAX / keys[k].n_values) return -1;
        n *= keys[k].n_values;
    }
    return n;
}

int rt_sweep_coord(const rt_sweep_key *keys, int n_keys, long p, int k)
{
    long n = rt_sweep_count(keys, n_keys);
    if (n < 0 || p < 0 || p >= n || k < 0 || k >= n_keys) return -1;
    long stride = 1; /* the product of the sizes of the keys after k (last key fastest) */
    for (int j = k + 1; j < n_keys; j++)
        stride *= keys[j].n_values;
    return (int)((p / stride) % keys[k].n_values);
}

int rt_sweep_point(const rt_sweep_key *keys, int n_keys, long p, int *index)
{
    long n = rt_sweep_count(keys, n_keys);
    if (n < 0 || p < 0 || p >= n) return -1;
    for (int k = 0; k < n_keys; k++)
        index[k] = rt_sweep_coord(keys, n_keys, p, k);
    return 0;
}

long rt_sweep_point_name(const char *base, const rt_sweep_key *keys, int n_keys, long p, char *buf,
                         size_t cap)
{
    int idx[RT_SWEEP_MAX_KEYS];
    if (n_keys < 0 || n_keys > RT_SWEEP_MAX_KEYS || rt_sweep_point(keys, n_keys, p, idx)) return -1;
    size_t len = 0;
    if (buf && cap) buf[0] = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf && len < cap ? buf + len : NULL, buf && len < cap ? cap - len : 0,   \
                          __VA_ARGS__);                                                            \
        if (k_ > 0) len += (size_t)k_;                                                             \
    } while (0)
    PUT("%s", base ? base : "");
    for (int k = 0; k < n_keys; k++)
        PUT("%s%s=%s", k ? "," : "[", keys[k].name, keys[k].values[idx[k]]);
    if (n_keys) PUT("]");
#undef PUT
    return (long)len;
}
