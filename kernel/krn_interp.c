/* krn_interp: helpers for the completion result of the interpreter vtable. */
#include "krn_interp.h"

#include <stdlib.h>
#include <string.h>

int krn_completion_add(krn_completion *c, const char *match)
{
    char **nm = realloc(c->matches, (c->n + 1) * sizeof *nm);
    if (!nm) return -1;
    c->matches = nm;
    nm[c->n] = strdup(match);
    if (!nm[c->n]) return -1;
    c->n++;
    return 0;
}

void krn_completion_free(krn_completion *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->matches[i]);
    free(c->matches);
    c->matches = NULL;
    c->n = 0;
}
