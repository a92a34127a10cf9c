/* rt_key: looking keys up in a trainer's table (rt_key.h).  Leaves out validation. */
#include "rt_key.h"

#include <stdlib.h>
#include <string.h>

const rt_key *rt_key_find(const rt_key *keys, size_t n, const char *name)
{
    for (size_t i = 0; keys && name && i < n; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

double rt_key_default(const rt_key *keys, size_t n, const char *name, double otherwise)
{
    const rt_key *k = rt_key_find(keys, n, name);
    if (!k || !k->def) return otherwise;
    if (k->type == RT_KEY_ENUM) {
        for (int i = 0; k->values && k->values[i]; i++)
            if (!strcmp(k->values[i], k->def)) return i;
        return otherwise;
    }
    char *end;
    double v = strtod(k->def, &end);
    return end == k->def ? otherwise : v;
}
