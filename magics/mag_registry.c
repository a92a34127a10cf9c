/* mag_registry: the list of magic tables (see mag_magic.h), lookup, did-you-mean,
 * body kinds for the parser, help text and the ename of each error code.
 *
 * A magic file exports a NULL-terminated table `const mag_magic *const mag_<topic>_magics[]`;
 * adding a magic is one line in `tables` below (and one extern).  Leaves out any
 * per-magic logic: handlers live in magics/mag_m_<topic>.c. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mag_magic.h"

/* ---- the tables (one line each) ---- */
/* clang-format off */
extern const mag_magic *const mag_basic_magics[];
extern const mag_magic *const mag_reward_magics[];
extern const mag_magic *const mag_task_magics[];
extern const mag_magic *const mag_policy_magics[];
extern const mag_magic *const mag_rl_magics[];
extern const mag_magic *const mag_opd_magics[];
extern const mag_magic *const mag_tilt_magics[];
extern const mag_magic *const mag_eval_magics[];
extern const mag_magic *const mag_correlate_magics[];
extern const mag_magic *const mag_runs_magics[];
extern const mag_magic *const mag_compare_magics[];
extern const mag_magic *const mag_figure_magics[];
extern const mag_magic *const mag_io_magics[];
extern const mag_magic *const mag_debate_magics[];
extern const mag_magic *const mag_prefs_magics[];
extern const mag_magic *const mag_rm_magics[];
extern const mag_magic *const mag_dpo_magics[];
extern const mag_magic *const mag_jobs_magics[];
extern const mag_magic *const mag_collect_magics[];

static const mag_magic *const *const tables[] = {
    mag_basic_magics,
    mag_reward_magics,
    mag_task_magics,
    mag_policy_magics,
    mag_rl_magics,
    mag_opd_magics,
    mag_tilt_magics,
    mag_eval_magics,
    mag_correlate_magics,
    mag_runs_magics,
    mag_compare_magics,
    mag_figure_magics,
    mag_io_magics,
    mag_debate_magics,
    mag_prefs_magics,
    mag_rm_magics,
    mag_dpo_magics,
    mag_jobs_magics,
    mag_collect_magics,
};
/* clang-format on */

#define N_TABLES (sizeof tables / sizeof tables[0])
#define MAX_MAGICS 128

/* All magics in table order, built once (then read-only). */
static const mag_magic *all[MAX_MAGICS + 1];
static pthread_once_t all_once = PTHREAD_ONCE_INIT;

static void build_all(void)
{
    size_t n = 0;
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; tables[t][i] && n < MAX_MAGICS; i++)
            all[n++] = tables[t][i];
    all[n] = NULL;
    for (size_t i = 0; i < n; i++)
        if (all[i]->init) all[i]->init();
}

const mag_magic *const *mag_magics(void)
{
    pthread_once(&all_once, build_all);
    return all;
}

const mag_magic *mag_magic_find(const char *name, int cell)
{
    pthread_once(&all_once, build_all);
    if (!name) return NULL;
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; tables[t][i]; i++)
            if (!tables[t][i]->cell == !cell && strcmp(tables[t][i]->name, name) == 0)
                return tables[t][i];
    return NULL;
}

const char *mag_magic_suggest(const char *name, int cell)
{
    rt_suggest s;
    pthread_once(&all_once, build_all);
    rt_suggest_init(&s, name);
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; tables[t][i]; i++)
            if (!tables[t][i]->cell == !cell) rt_suggest_add(&s, tables[t][i]->name);
    return s.best;
}

mag_body_kind mag_magic_body_kind(const char *name, void *ud)
{
    (void)ud;
    const mag_magic *m = mag_magic_find(name, 1);
    if (!m) return MAG_BODY_RAW; /* unknown: the body is not parsed, the name error shows */
    if (m->body != MAG_BODY_RAW) return m->body;
    return m->schema ? MAG_BODY_CONFIG : MAG_BODY_RAW;
}

size_t mag_magic_help(const mag_magic *m, char *buf, size_t cap)
{
    size_t n = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w_ =                                                                                   \
            snprintf(buf ? buf + (n < cap ? n : cap) : NULL, n < cap ? cap - n : 0, __VA_ARGS__);  \
        if (w_ > 0) n += (size_t)w_;                                                               \
    } while (0)
    if (buf && cap) buf[0] = '\0';
    ADD("%s\n\n%s\n", m->usage ? m->usage : m->name, m->help ? m->help : "");
    if (m->schema && m->schema->nkeys) {
        ADD("\nKeys:\n");
        for (size_t i = 0; i < m->schema->nkeys; i++) {
            char line[512];
            mag_key_help(&m->schema->keys[i], line, sizeof line);
            ADD("  %s\n", line);
        }
        for (size_t i = 0; i < m->schema->naliases; i++)
            ADD("%s%s = %s%s", i ? ", " : "Other names (%help trl): ", m->schema->aliases[i].alias,
                m->schema->aliases[i].key, i + 1 == m->schema->naliases ? "\n" : "");
    }
#undef ADD
    return n;
}

const char *mag_error_name(int code)
{
    switch (code) {
    case MAG_ESYNTAX:
    case MAG_EENCODING:
    case MAG_ELIMIT:
        return "SyntaxError";
    case MAG_ESCHEMA:
    case MAG_EARG:
    case MAG_EVALUE:
        return "ValueError";
    case MAG_ENAME:
        return "NameError";
    case MAG_ETYPE:
        return "TypeError";
    case MAG_ENOMEM:
        return "MemoryError";
    case MAG_INTERRUPTED:
        return "Interrupted";
    default:
        return "RuntimeError";
    }
}
