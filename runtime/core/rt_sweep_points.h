/* rt_sweep_points: the points of a sweep — the one place that expands a sweep and names
 * its points, so that the cell language (magics/lang's mag_config), the runtime's
 * executors and a remote worker computing "point p" all agree.
 *
 * Keys with list values form a cartesian product; point p has value indices in mixed
 * radix with the LAST key varying fastest (like itertools.product), and is named
 * NAME[key=value,...] with keys in the given order and values as written (NAME alone
 * without keys).  Pure arithmetic on the caller's arrays: no allocation, no state.
 * Leaves out: what a value means (the caller's schema), running the points (rt_sweep.h). */
#ifndef RT_SWEEP_POINTS_H
#define RT_SWEEP_POINTS_H

#include <stddef.h>

#define RT_SWEEP_MAX_KEYS 64 /* swept keys of one sweep */

typedef struct rt_sweep_key {
    const char *name;
    int n_values;
    const char *const *values; /* the values as text, as they appear in point names */
} rt_sweep_key;

/* Number of points (1 for no keys); -1 if a key has no values or on overflow. */
long rt_sweep_count(const rt_sweep_key *keys, int n_keys);
/* Value index of key k at point p, or -1 if p or k is out of range. */
int rt_sweep_coord(const rt_sweep_key *keys, int n_keys, long p, int k);
/* Value index of each key at point p (index[n_keys]); 0, or -1 if p is out of range. */
int rt_sweep_point(const rt_sweep_key *keys, int n_keys, long p, int *index);
/* The name of point p: "base[k1=v1,k2=v2]" ("base" when n_keys is 0) into buf (may be
 * NULL with cap 0); returns the length needed (snprintf style), or -1 if p is out of
 * range or n_keys is over RT_SWEEP_MAX_KEYS. */
long rt_sweep_point_name(const char *base, const rt_sweep_key *keys, int n_keys, long p, char *buf,
                         size_t cap);

#endif
