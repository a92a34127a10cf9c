/* rt_key: the keys of a trainer's configuration as plain data — name, type, flags,
 * range, default (as source text), enum values, object kind and one line of help.
 * Each trainer exports its table (rt_rl_keys.h, rt_sft_keys.h, rt_opd_keys.h,
 * rt_debate_keys.h; the policy model's in rt_policy_keys.h) with one initializer macro
 * per key, so that the defaults are written once: the trainer's table and the cell
 * magics' schemas (magics/lang/mag_lang.h: mag_key_spec is this type) are made of the
 * same initializers.  The runtime knows nothing of cells: a front end reads the table
 * to validate, complete and explain settings.
 *
 * Leaves out: parsing and validating values (magics/lang/mag_schema.c does it for the
 * cell language), and the mapping of keys onto a trainer's config struct (each
 * trainer's own code; tests/runtime/core/keys_test.c checks that the config_init
 * functions agree with the tables' defaults). */
#ifndef RT_KEY_H
#define RT_KEY_H

#include <stddef.h>

typedef enum rt_key_type {
    RT_KEY_INT,    /* integer */
    RT_KEY_NUMBER, /* integer or real */
    RT_KEY_STRING, /* text (a string or a bare name, so file names work) */
    RT_KEY_NAME,   /* the name of an object of kind `object` ("policy", "task", ...) */
    RT_KEY_ENUM,   /* one of `values` */
    RT_KEY_BOOL,   /* true/false (or 0/1) */
    RT_KEY_LIST,   /* a list of `elem` (scalar types only) */
    RT_KEY_MAP,    /* a map NAME -> `elem` (scalar types only) */
} rt_key_type;

enum {
    RT_KEY_REQUIRED = 1u << 0,  /* a missing key is an error */
    RT_KEY_SWEEP = 1u << 1,     /* a list where a scalar is expected is a sweep */
    RT_KEY_MIN = 1u << 2,       /* value >= min (numbers) */
    RT_KEY_MIN_EXCL = 1u << 3,  /* value > min */
    RT_KEY_MAX = 1u << 4,       /* value <= max */
    RT_KEY_MAX_EXCL = 1u << 5,  /* value < max */
    RT_KEY_OR_SCALAR = 1u << 6, /* RT_KEY_MAP only: a single elem value is accepted too */
};

/* One key.  Tables are static data; every pointer is to static storage. */
typedef struct rt_key {
    const char *name;
    rt_key_type type;
    rt_key_type elem;          /* RT_KEY_LIST / RT_KEY_MAP: the item type */
    const char *const *values; /* RT_KEY_ENUM (or elem ENUM): NULL-terminated */
    unsigned flags;            /* RT_KEY_* */
    double min, max;           /* with RT_KEY_MIN / RT_KEY_MAX(_EXCL) */
    const char *def;           /* default as source text ("3e-4", "grpo"), or NULL */
    const char *object;        /* RT_KEY_NAME (or elem NAME): the object kind */
    const char *help;          /* one line */
} rt_key;

/* Another name for a key, with the same meaning (TRL's names for %%rl's keys: `beta` for
 * `kl`): a front end reads `alias = v` as `key = v` and refuses both names in one
 * configuration.  `values` (NULL: the key's own) are pairs "alias value", "key value",
 * ..., NULL-terminated, for an enum key whose alias names its values differently
 * (TRL's loss_type = dr_grpo is loss_agg = seq_mean_token_sum_norm).  `from` names
 * where the alias comes from. */
typedef struct rt_key_alias {
    const char *alias, *key;
    const char *from; /* "TRL" */
    const char *const *values;
} rt_key_alias;

/* The key called name among keys[0..n), or NULL. */
const rt_key *rt_key_find(const rt_key *keys, size_t n, const char *name);

/* The default of key name as a number (strtod of its text; an enum's default is the index
 * of its value), or `otherwise` when there is no such key or no default. */
double rt_key_default(const rt_key *keys, size_t n, const char *name, double otherwise);

#endif
