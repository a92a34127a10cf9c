/* krn_history: in-memory history (see krn_history.h). Entries are kept in execution
 * order; lookups are linear (a notebook session holds thousands of cells at most). */
#include "krn_history.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    int line;
    char *input;
    char *output; /* may be NULL */
} entry;

struct krn_history {
    pthread_mutex_t lock;
    entry *e;
    size_t n, cap;
};

krn_history *krn_history_new(void)
{
    krn_history *h = calloc(1, sizeof *h);
    if (h) pthread_mutex_init(&h->lock, NULL);
    return h;
}

void krn_history_free(krn_history *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->e[i].input);
        free(h->e[i].output);
    }
    free(h->e);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int krn_history_add(krn_history *h, int line, const char *input)
{
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        entry *ne = realloc(h->e, nc * sizeof *ne);
        if (!ne) goto out;
        h->e = ne;
        h->cap = nc;
    }
    char *in = strdup(input);
    if (!in) goto out;
    h->e[h->n++] = (entry){line, in, NULL};
    rc = 0;
out:
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void krn_history_set_output(krn_history *h, int line, const char *output)
{
    pthread_mutex_lock(&h->lock);
    for (size_t i = h->n; i-- > 0;)
        if (h->e[i].line == line) {
            free(h->e[i].output);
            h->e[i].output = output ? strdup(output) : NULL;
            break;
        }
    pthread_mutex_unlock(&h->lock);
}

static void add_entry(cJSON *arr, const entry *e, bool output)
{
    cJSON *row = cJSON_CreateArray();
    if (!row) return;
    cJSON_AddItemToArray(row, cJSON_CreateNumber(KRN_HISTORY_SESSION));
    cJSON_AddItemToArray(row, cJSON_CreateNumber(e->line));
    if (output) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(e->input));
        cJSON_AddItemToArray(pair, e->output ? cJSON_CreateString(e->output) : cJSON_CreateNull());
        cJSON_AddItemToArray(row, pair);
    } else {
        cJSON_AddItemToArray(row, cJSON_CreateString(e->input));
    }
    cJSON_AddItemToArray(arr, row);
}

cJSON *krn_history_tail(krn_history *h, int n, bool output)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    pthread_mutex_lock(&h->lock);
    size_t from = (n >= 0 && (size_t)n < h->n) ? h->n - (size_t)n : 0;
    for (size_t i = from; i < h->n; i++)
        add_entry(arr, &h->e[i], output);
    pthread_mutex_unlock(&h->lock);
    return arr;
}

cJSON *krn_history_range(krn_history *h, int session, int start, int stop, bool output)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    if (session > 0 && session != KRN_HISTORY_SESSION) return arr;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n; i++)
        if (h->e[i].line >= start && (stop <= 0 || h->e[i].line < stop))
            add_entry(arr, &h->e[i], output);
    pthread_mutex_unlock(&h->lock);
    return arr;
}

cJSON *krn_history_search(krn_history *h, const char *pattern, int n, bool unique, bool output)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    pthread_mutex_lock(&h->lock);
    size_t *pick = malloc((h->n ? h->n : 1) * sizeof *pick);
    size_t np = 0;
    /* newest first, so that unique keeps the latest and n counts from the end */
    for (size_t i = h->n; pick && i-- > 0;) {
        if (n > 0 && np == (size_t)n) break;
        if (fnmatch(pattern, h->e[i].input, 0) != 0) continue;
        bool dup = false;
        for (size_t k = 0; unique && k < np && !dup; k++)
            dup = strcmp(h->e[pick[k]].input, h->e[i].input) == 0;
        if (!dup) pick[np++] = i;
    }
    for (size_t k = np; k-- > 0;)
        add_entry(arr, &h->e[pick[k]], output);
    free(pick);
    pthread_mutex_unlock(&h->lock);
    return arr;
}
