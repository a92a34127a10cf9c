/* mag_train: what the training magics (%%policy, %%rl, %%opd, %%debate) share — the cell's
 * NAME, where a key was written, sweep points (limit, names, legend labels without the
 * seed, the random stream of a point), and storing finished runs and policies into the
 * session with the "interrupted at step N of M (...)" / "run 'X' failed: ..." endings.
 * The training-cell handler that strings them together is mag_train_cell.h; each magic
 * keeps its own keys, checks, jobs, chart and summaries (its record's hooks).
 *
 * Ownership: mag_train_put_run and mag_train_put_policy hand the object to the session
 * (it frees it, also on failure); everything else borrows its arguments. */
#ifndef MAG_TRAIN_H
#define MAG_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mag_magic.h"
#include "rt_policy.h"
#include "rt_reward.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

#define MAG_TRAIN_MAX_POINTS 64 /* sweep points of one cell */

/* The `seed` key of the training magics that sweep (a cell's key: the runtime's trainers
 * take a stream, not a seed). */
#define MAG_TRAIN_KEY_SEED                                                                         \
    {                                                                                              \
        .name = "seed", .type = MAG_T_INT, .flags = MAG_K_SWEEP | MAG_K_MIN, .min = 0,             \
        .help = "extra seed (a list gives mean +- spread bands)"                                   \
    }

/* %%MAGIC NAME: the first argument must be a bare NAME (or string) and every other
 * header argument key = value.  0 with *name set (borrowed from cell), or MAG_EVALUE. */
int mag_train_name(const mag_ctx *ctx, const mag_cell *cell, const char *magic, const char **name,
                   mag_diag *d);

/* The number of key at sweep point pt (a key with a default always has one; NaN when
 * there is none): the default is written once, in the key's table. */
double mag_train_num(const mag_config *cfg, const char *key, size_t pt);

/* The index in values (NULL-terminated) of enum key's value at sweep point pt, or -1
 * when the key has no value there (or a value outside values). */
int mag_train_enum(const mag_config *cfg, const char *key, size_t pt, const char *const *values);

/* 1 if the cell set key (the configuration's schema must know it). */
int mag_train_given(const mag_config *cfg, const char *key);

/* The value of key as written (body line first, then header argument), or NULL. */
const mag_value *mag_train_raw(const mag_cell *cell, const char *key);

/* Where key's value was written, else the magic's name. */
mag_pos mag_train_value_pos(const mag_cell *cell, const char *key);

/* MAG_EVALUE "a sweep of N points is too large (the limit is 64)" when np is over
 * MAG_TRAIN_MAX_POINTS, else 0. */
int mag_train_check_points(const mag_ctx *ctx, const mag_cell *cell, size_t np, mag_diag *d);

/* The name NAME[key=value,...] of point pt and its legend label, each into a buffer of
 * MAG_TRAIN_NAME bytes.  The label names only what tells the cell's points apart: the
 * swept keys with two values or more, except seed (the seeds of a point share its
 * label: one band), in source order, joined by " · ".  An enum key's value is shown
 * bare, since a word from the key's own list names itself ("full", "rloo"), unless
 * another varying enum key of the cell has the same word; every other value (numbers,
 * booleans, names of policies, strings) as KEY=VALUE: a bare 0.5 or "base" does not
 * say what it sets.  The key names alpha, beta, gamma, delta, epsilon, eta, lambda, mu,
 * rho, sigma, tau are shown as Greek letters.  Values as written in the cell.
 * "opd[lambda=1.25,estimator=full,seed=2]" -> "λ=1.25 · full"; a cell whose only sweep
 * is the seed (or none): NAME. */
#define MAG_TRAIN_NAME 256
void mag_train_point_names(const mag_config *cfg, const char *base, size_t pt, char *name,
                           char *label);

/* The stream rt_rng_from_name(seed, PREFIX NAME) (PREFIX may be ""), split by
 * seed_value->i + 1000 when seed_value is not NULL. */
rt_rng mag_train_stream(uint64_t seed, const char *prefix, const char *name,
                        const mag_value *seed_value);

/* The session's held-out evaluation stream of task TASK, rt_rng_from_name(seed,
 * "eval:TASK") (rt_trainer.h, rt_eval_stream): %eval and every run and sweep point on
 * the task score the same prompts with the same draws, so their differences are
 * paired.  Never the policy's or the run's name. */
rt_eval_stream mag_eval_stream(uint64_t seed, const char *task);

/* The name of a sweep point without its seed coordinate ("j[alpha=0.5,seed=2]" ->
 * "j[alpha=0.5]", "j[seed=1]" -> "j") into out; 1 if there was one. */
int mag_train_strip_seed(const char *name, char *out, size_t cap);

/* "MEAN ± SD" (sample sd) of the finite values of v[0..k), with " (n)" when only n of
 * them are finite; mag_fmt_num formats the numbers. */
void mag_train_mean_sd(const double *v, int k, char *out, size_t cap);

/* Gives run the configuration of sweep point pt (rt_run_add_config): every key of the
 * schema that has a value there (the default when not given), in schema order, as
 * written (a string's decoded text without its quotes).  0 or MAG_ENOMEM. */
int mag_train_run_config(rt_run *run, const mag_config *cfg, size_t pt);
/* The same without the keys named in omit (NULL-terminated; NULL: none). */
int mag_train_run_config_omit(rt_run *run, const mag_config *cfg, size_t pt,
                              const char *const *omit);

/* 0 if policy `name` (role: "from", "baseline") has weights, so it can be copied and
 * trained; else a cell error at `at` naming it (a %tilt is analytic: rt_tilt.h). */
int mag_train_need_weights(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                           const char *role, mag_pos at);

/* 0 unless policy `name` is a %tilt made on another task than `task` (named tname): a
 * tilt has tables for its own task's prompts only; then a cell error at `at`. */
int mag_train_tilt_task(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                        const rt_task *task, const char *tname, mag_pos at);

/* Policies of any architecture (a session policy is an rt_model behind an rt_policy
 * pointer: the mlp's rt_policy, a gpt model (rt_model_gpt.h) or a weightless tilt; only
 * ->model is read unless mag_policy_mlp gives the MLP).  copy: rt_model_copy (RT_EINVAL
 * for a tilt); describe: "mlp V=32 K=8 D=32 H=256 L=2 relu" or "gpt V=32 layers=2
 * heads=4 width=64 context=32 mlp_ratio=4"; mlp: the MLP behind p or NULL;
 * need_positions: 0 unless p has a position limit (gpt `context`) below P + T of task
 * tname, else a cell error at `at` ("task big needs P + T = 14 positions; 'gs' has
 * context = 12 ..."), so that nothing trains that would fail in its first pass. */
int mag_policy_copy(rt_policy **out, const rt_policy *src, rt_diag *d);
void mag_policy_describe(const rt_policy *p, char *buf, size_t cap);
const rt_policy *mag_policy_mlp(const rt_policy *p);
int mag_policy_need_positions(const mag_ctx *ctx, mag_diag *d, const rt_policy *p, const char *name,
                              const rt_task *task, const char *tname, mag_pos at);

/* Session free functions of the stored objects. */
void mag_train_free_policy(void *p);
void mag_train_free_run(void *r);

/* ---- after the bridge: the outcome of each point, then the cell's ending ---- */

typedef struct mag_train_store {
    char fail_msg[512]; /* the first failure: "run 'X' failed: MSG" */
    long stop_step;     /* step of the first interrupted point, or -1 */
    char stop_name[256];
    size_t n_failed;
} mag_train_store;

void mag_train_store_init(mag_train_store *s);

/* The status of run (FINISHED with step 0 when run is NULL) with its step and message;
 * a run the sweep skipped after an interrupt is finished as interrupted. */
rt_run_status mag_train_status(rt_run *run, long *step, char *msg, size_t cap);

/* " (interrupted)", " (failed)" or "" for a summary. */
const char *mag_train_suffix(rt_run_status stt);

/* Records the outcome of point name in s. */
void mag_train_note(mag_train_store *s, const char *name, rt_run_status stt, long step,
                    const char *msg);

/* Stores run under name (printing "replaced run 'NAME'"). */
void mag_train_put_run(mag_ctx *ctx, const char *name, rt_run *run, const char *summ,
                       const char *task);

/* Stores pol under name (printing "replaced policy 'NAME'") and prints "policy NAME: SUMM"
 * (or "policy NAME" when show_summ is 0). */
void mag_train_put_policy(mag_ctx *ctx, const char *name, rt_policy *pol, const char *summ,
                          const char *task, int show_summ);

/* The cell's ending: the Interrupted error (MAG_INTERRUPTED) when interrupted, else
 * MAG_ERUNTIME with the first failure when a point failed, else 0. */
int mag_train_end(mag_ctx *ctx, const mag_cell *cell, const mag_train_store *s, int interrupted,
                  long max_steps, const char *base, size_t np, mag_diag *d);

/* Pairing by key (DESIGN.md, "Pipelines per seed"): the session's policy that `name` (the
 * value of a policy-valued key: from, teacher, reference, ...) denotes at sweep point pt
 * of cfg.  name itself when the session holds a policy of that name; else, when it holds
 * the points of a sweep cell `name` (policies name[k=v,...]), the one point whose every
 * key k has the value v at pt in cfg (as text, or as numbers: 3e-4 = 0.0003).  So with
 * `%%policy base` swept over seed = [1, 2, 3], `%%rl t` with from = base and the same
 * seed list trains t[seed=s] from base[seed=s]: every stage of a pipeline resampled per
 * seed.  0 with *out and *resolved (may be NULL) = its session name (the session's
 * string); else the error code with the error in d at `at`: an unknown name (did you
 * mean), a sweep over a key this cell does not set, no point or several points matching. */
int mag_train_policy_at(mag_ctx *ctx, const mag_config *cfg, size_t pt, const char *name,
                        mag_pos at, const rt_policy **out, const char **resolved, mag_diag *d);
/* mag_train_policy_at for the point of another sweep whose point list is `list` (the
 * text after "NAME[" of its name: "seed=2]"): %extrapolate t2 from = base to = t pairs
 * t[seed=s] with base[seed=s]. */
int mag_train_pair_point(mag_ctx *ctx, const char *list, const char *name, mag_pos at,
                         const rt_policy **out, const char **resolved, mag_diag *d);
/* The same pairing for a session object of any kind (debates: %%debate d swept over seed
 * makes d[seed=s], and debate(d) in a %%rl point or %debate d eval pairs with it): with
 * cfg, point pt of a cell; without (cfg NULL), the point list `list` of another sweep's
 * point.  0 with *resolved = the session name; 1 when the session has neither an object
 * nor a sweep `name` of that kind; 2 with the reason in why. */
int mag_train_pair_entry(const mag_session *s, mag_kind kind, const mag_config *cfg, size_t pt,
                         const char *list, const char *name, const char **resolved, char *why,
                         size_t cap);
/* The session name of the policy `name` denotes at point pt (as above), or name itself
 * when it denotes none. */
const char *mag_train_pair_name(const mag_session *s, const mag_config *cfg, size_t pt,
                                const char *name);

/* Links reward p to task's features in the task's order (a reward reading a feature the
 * task lacks is an error at `at`): 0 with *out (caller frees: rt_reward_free), or the
 * error in d.  %%rl's reward and eval_reward, %tilt's reward; a reward reading feature
 * functions (debate(NAME)) is linked by its provider instead (rt_features.h). */
int mag_train_link_reward(const mag_ctx *ctx, const rt_task *task, const rt_reward_program *p,
                          mag_pos at, rt_reward_program **out, mag_diag *d);

#endif
