/* rt_debate: debate games as rewards for justifiable decisions (methods.md §3) — the
 * runtime half of `%%debate`: the judge, the debate game and its debaters, the debate
 * reward feature `debate(NAME)` and the metrics of runs that use it (as features of
 * rt_rl runs: rt_debate_reward.h).
 *
 * JUDGE  J(evidence, action) -> score.  Evidence = the K feature values of a triage
 * state with the unrevealed ones masked.  Model: token k = the value of feature k
 * (0..M-1) or M when masked; one-hot per feature -> Linear (H) -> ReLU -> Linear (A):
 * the A outputs are J(e, a) for every action a (one head per action, which is the
 * MLP over [one-hot evidence, one-hot action] with the action's weights factored into
 * the last layer).  Layer 1 is an rt_nn per-position table ((K*(M+1), H), exact for
 * one-hot inputs), layer 2 rt_nn_linear; parameters, gradients and Adam moments are
 * one parameter block (rt_params.h).  Training (rt_debate_judge_train), step s (1-based), batch B:
 * state i = rt_task_sample_batch(task, step s of the RT_STREAM_PROMPTS stream (rt_trainer.h),
 * 0, TRAIN, B)[i]; from r_i = sequence i of step s of the RT_STREAM_SAMPLES stream:
 * a random subset of exactly L revealed features (shuffle, first L) and a random
 * other action o != d (d = the demonstrator's action, rt_task_triage_demo_action);
 * Bradley–Terry loss mean_i softplus(J(e_i, o_i) - J(e_i, d_i)), one rt_adam step (torch
 * semantics, betas 0.9/0.999, eps 1e-8, no clipping).  The full-state judge is the same model
 * trained with L = K (every feature revealed): the ideal reference.
 *
 * JUDGE ACCURACY (rt_debate_judge_accuracy), the number `%%debate` prints: over n
 * held-out states (drawn with replacement) (state i = rt_task_sample_batch(task, rt_rng_split(rng,
 * 0), 0, HELDOUT, n)[i]), each with a random subset of exactly L revealed features drawn from
 * rt_rng_split(rng, 1 + i): the fraction of states where J ranks the demonstrator's action STRICTLY
 * above every other action (top-1; chance = 1/A). L = K gives the full-state accuracy.
 * PAIRWISE ACCURACY (rt_debate_judge_eval), on the same states and evidence (paired): the
 * fraction where J scores the demonstrator's action d STRICTLY above one random other
 * action o = (d + 1 + below(A - 1)) mod A, drawn from state i's stream after the subset,
 * as in training (chance = 1/2, the scale of debate win rates and judge_win*).  A state
 * that is top-1 right is pairwise right.  A judge that knows nothing (its scores
 * independent of d, e.g. an untrained one, whose action heads are exchangeable) scores
 * 1/A top-1 and 1/2 pairwise in expectation.
 *
 * DEBATE GAME  Debater 1 defends a1, debater 2 defends a2 (a1 != a2).  `first` (0 or
 * 1) moves first; turns alternate; each turn reveals one true feature not yet revealed,
 * until L are revealed.  Margin m(S) = J(e_S, a1) - J(e_S, a2) for the revealed set S.
 * Outcome for debater 1: +1 if m > 0, -1 if m < 0, 0 if m == 0 (a tie is a draw);
 * debater 2 gets minus that (zero-sum).  Debaters:
 *   greedy   reveals the feature that maximizes its own margin right after the
 *            reveal (m for debater 1, -m for debater 2); ties: lowest feature index;
 *   minimax  exact game-tree search of the outcome (the value of the game), with
 *            cut-offs once a move reaches the best possible outcome; among moves of
 *            equal value it prefers the greedy choice.  The tree has K!/(K-L)! leaves;
 *            above `max_leaves` it fails with RT_ETOOBIG and a message naming
 *            the size (judge scores are cached per revealed set, so a leaf costs one
 *            table lookup after the first visit);
 *   learned  a small policy pi(feature | state, revealed set, own action, other action):
 *            tokens [v_k + M*revealed_k for k = 1..K, a_self, a_other] (debaters know
 *            the whole state, the judge only the evidence) -> table (H) -> ReLU ->
 *            Linear (K), softmax over the unrevealed features; trained by self-play REINFORCE
 *            (rt_debate_learner_train); in games it plays its argmax (lowest index on
 *            ties).
 *
 * DEBATE REWARD  For a state with the policy's action a_pi and the baseline's a_b:
 * debate = 1 if after the debate (a1 = a_pi, a2 = a_b) the judge STRICTLY prefers
 * a_pi (outcome +1), else 0 (loss or draw).  CONVENTIONS:
 *   equal actions (a_pi == a_b): 0.5 — a debate between identical actions is a draw;
 *     with 0.5 leaving the baseline pays exactly when the policy wins more than half
 *     of its debates (1 would pin the policy to the baseline, 0 would push it away
 *     from it even towards worse actions);
 *   a_pi not an action (malformed answer): 0; a_b not an action (and a_pi valid): 1.
 *   first = random: debater 1 (the policy) moves first iff the first draw of state
 *     i's stream rt_rng_split(stream, seq0 + i) is even (rt_rng_below(.., 2) == 0), so
 *     a batch computed in parts (matching seq0), at any thread count, is the same.
 *
 * IDEAL-JUDGE REWARD judge_full(NAME) (rt_debate_full_reward_batch): the same conventions
 * with the full-state judge's verdict J_full(s, a_pi) > J_full(s, a_b) in place of the
 * debate's — the reward of the paper's ideal full-state judge, which a debate reward
 * should approximate (train with r_env + alpha * judge_full(d) and compare).
 *
 * METRICS (rt_debate_eval): return = mean environment reward of a_pi; judge_win =
 * fraction of the states where a_pi != a_b (both valid) in which the debate favours
 * the policy (NaN when there are none); judge_win_full = the same fraction for the
 * full-state judge, which sees every feature (no debate needed): J_full(s, a_pi) >
 * J_full(s, a_b); differ = fraction of states where the actions differ.
 *
 * Determinism: every function is a pure function of its inputs and the rng streams it
 * is handed; training loops are serial (GEMMs are bit-identical at any thread count and
 * ISA path, see rt_nn.h) and batch functions split states over threads by index only, so
 * results are bit-identical at 1 and 2 threads and inside a parallel rt_sweep.
 * Judges and learners are read-only during games: share them between threads.
 * Allocation: rt_alloc, at creation, in the setup of the training functions, in
 * rt_debate_policy_actions (prompt buffer) and in rt_debate_eval when out is NULL;
 * games, scores and rt_debate_reward_batch allocate nothing.  Leaves out: debates with more than
 * two debaters, cross-examination, judges other than the MLP, alpha-beta on margins. */
#ifndef RT_DEBATE_H
#define RT_DEBATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "rt_diag.h"
#include "rt_model.h"
#include "rt_rng.h"
#include "rt_run.h"
#include "rt_task.h"
#include "rt_trainer.h"

enum { RT_DEBATE_MAX_K = RT_TASK_MAX_FEATURES, RT_DEBATE_MAX_A = 10 };

typedef enum {
    RT_DEBATER_GREEDY = 0,
    RT_DEBATER_MINIMAX = 1,
    RT_DEBATER_LEARNED = 2
} rt_debater_kind;
typedef enum {
    RT_DEBATE_FIRST_RANDOM = 0,
    RT_DEBATE_FIRST_POLICY = 1,
    RT_DEBATE_FIRST_BASELINE = 2
} rt_debate_first;

const char *rt_debater_kind_name(rt_debater_kind k);          /* "greedy", ... */
int rt_debater_kind_parse(const char *s, rt_debater_kind *k); /* 0 or RT_EINVAL */
const char *rt_debate_first_name(rt_debate_first f);          /* "random", "policy", "baseline" */
int rt_debate_first_parse(const char *s, rt_debate_first *f);

/* ---- judge ------------------------------------------------------------------------ */

typedef struct rt_debate_judge rt_debate_judge;

typedef struct rt_debate_train_config {
    long steps;     /* >= 0 */
    int batch;      /* >= 1 */
    float lr;       /* > 0 */
    long log_every; /* metrics row every N steps and the last, >= 1 */
} rt_debate_train_config;

/* A judge for a triage task with hidden width `hidden` (1..4096), initialized from rng
 * (layer-1 table ~ N(0, 1/K), layer 2 ~ N(0, 1/H), biases 0).  0, RT_EINVAL
 * (not a triage task, bad hidden) or RT_ENOMEM.  Caller frees with
 * rt_debate_judge_free.  The task must outlive the judge. */
int rt_debate_judge_create(const rt_task *task, int hidden, const rt_rng *rng,
                           rt_debate_judge **out, rt_diag *err);
void rt_debate_judge_free(rt_debate_judge *j);
/* Defaults: steps 1500, batch 64, lr 3e-3, log_every 50 (judge_steps of `%%debate`). */
void rt_debate_judge_train_init(rt_debate_train_config *cfg);
/* Metric names of judge training: step, loss, pairwise_acc (loss = mean of the step losses
 * since the previous row; pairwise_acc = fraction of the logged step's training pairs with
 * J(e, d) > J(e, o), from the forward that gave the loss, i.e. before the update: a
 * pairwise accuracy, chance 1/2, not the top-1 of rt_debate_judge_accuracy). */
const char *const *rt_debate_judge_columns(int *n);
/* Trains with L = evidence revealed features (1..K) as in the top comment: rt_trainer_run
 * with the record rt_debate_judge_trainer.  run may be NULL; otherwise it is started,
 * gets rows (columns matched by name, extra columns NaN) and is finished (FINISHED,
 * INTERRUPTED at the cancel flag, polled before each step, FAILED on a non-finite loss
 * ("judge: loss is nan at step 3", before that step's update) or a setup error).  0,
 * RT_EINTR, RT_EFAILED, RT_EINVAL, RT_ENOMEM. */
int rt_debate_judge_train(rt_debate_judge *j, int evidence, const rt_debate_train_config *cfg,
                          const rt_rng *rng, rt_run *run, rt_diag *err);
/* scores (A) = J(e, a) for every action, e = values (K) with the features whose bit is
 * clear in `revealed` masked.  No allocation. */
void rt_debate_judge_scores(const rt_debate_judge *j, const int *values, unsigned revealed,
                            float *scores);
/* Top-1 accuracy on n held-out states with `evidence` random revealed features (see
 * the top comment); 0 or RT_EINVAL. */
int rt_debate_judge_accuracy(const rt_debate_judge *j, int evidence, int n, const rt_rng *rng,
                             double *acc);
/* Top-1 and pairwise accuracy on the same n held-out states and evidence (the top
 * comment); top1 / pair (n each, may be NULL) receive each state's 0/1 outcome.  The
 * top-1 value equals rt_debate_judge_accuracy's for the same arguments.  0 or RT_EINVAL. */
typedef struct rt_debate_judge_score {
    double top1;     /* chance 1/A */
    double pairwise; /* chance 1/2 */
    int n;
} rt_debate_judge_score;
int rt_debate_judge_eval(const rt_debate_judge *j, int evidence, int n, const rt_rng *rng,
                         rt_debate_judge_score *sc, unsigned char *top1, unsigned char *pair);

/* ---- learned debater -------------------------------------------------------------- */

typedef struct rt_debate_learner rt_debate_learner;

/* A learned debater for a triage task and evidence L (1..K), hidden width 1..4096,
 * initialized from rng.  Caller frees with rt_debate_learner_free. */
int rt_debate_learner_create(const rt_task *task, int evidence, int hidden, const rt_rng *rng,
                             rt_debate_learner **out, rt_diag *err);
void rt_debate_learner_free(rt_debate_learner *l);
/* Defaults: steps 2000, batch 64, lr 3e-3, log_every 25 (with hidden 64, ~0.5 s).
 * Measured (K=6, M=4, A=4, L=4, judge defaults, 2000 held-out games per side): the
 * learned debater scores -0.10 against greedy after 2000 steps (-0.15 after 800, about
 * -0.33 untrained); minimax scores only +0.004 against greedy at these sizes (greedy is
 * nearly optimal against this judge), so greedy vs minimax differ little here. */
void rt_debate_learner_train_init(rt_debate_train_config *cfg);
/* Metric names: step, loss, entropy, vs_greedy.  loss = mean over moves of
 * -u log pi(move) (u = the mover's outcome), entropy = mean policy entropy over moves,
 * vs_greedy = mean outcome of the learned debater against greedy on 256 fixed held-out
 * games per side (in [-1, 1]; at logged rows). */
const char *const *rt_debate_learner_columns(int *n);
/* Self-play REINFORCE against the judge j.  Step s: B training states
 * (rt_task_sample_batch(task, step s of RT_STREAM_PROMPTS, 0, TRAIN, B)), game i draws
 * from sequence i of step s of RT_STREAM_SAMPLES: a1, then a2 != a1, the first mover,
 * then one sampled move per turn; both debaters are the learner; every move is weighted
 * by its mover's outcome / B; vs_greedy's games come from RT_STREAM_EVAL.  Run handling
 * as rt_debate_judge_train, with the record rt_debate_learner_trainer ("debater"). */
int rt_debate_learner_train(rt_debate_learner *l, const rt_debate_judge *j,
                            const rt_debate_train_config *cfg, const rt_rng *rng, rt_run *run,
                            rt_diag *err);

/* The trainer records (rt_trainer.h) of judge and debater training and their
 * arguments (borrowed for the run). */
typedef struct rt_debate_judge_args {
    rt_debate_judge *judge; /* trained in place */
    int evidence;
    const rt_debate_train_config *cfg;
} rt_debate_judge_args;
typedef struct rt_debate_learner_args {
    rt_debate_learner *learner; /* trained in place */
    const rt_debate_judge *judge;
    const rt_debate_train_config *cfg;
} rt_debate_learner_args;
extern const rt_trainer rt_debate_judge_trainer, rt_debate_learner_trainer;

/* ---- the game --------------------------------------------------------------------- */

/* Judge scores of the two defended actions for evidence `revealed` (bit k = feature
 * k): *s1 = J(e, a1), *s2 = J(e, a2).  Lets tests play hand-built games. */
typedef void (*rt_debate_score_fn)(void *user, unsigned revealed, float *s1, float *s2);

typedef struct rt_debate_game {
    int K, L;                    /* features, evidence: 1 <= L <= K <= RT_DEBATE_MAX_K */
    int values[RT_DEBATE_MAX_K]; /* the state (the learned debater reads it) */
    int a1, a2;                  /* defended actions */
    int first;                   /* 0: debater 1 moves first, 1: debater 2 */
    long max_leaves;             /* minimax limit on K!/(K-L)!; <= 0: 1000000 */
    rt_debate_score_fn score;
    void *user;
    const rt_debate_learner *learner; /* needed when a debater is learned */
} rt_debate_game;

/* A game with the judge as scorer (score/user point into *ctx, which must outlive the
 * game and holds the judge, state and actions). */
typedef struct rt_debate_judge_ctx {
    const rt_debate_judge *judge;
    int values[RT_DEBATE_MAX_K];
    int a1, a2;
} rt_debate_judge_ctx;
void rt_debate_game_init(rt_debate_game *g, rt_debate_judge_ctx *ctx, const rt_debate_judge *j,
                         const int *values, int a1, int a2, int first, int L);

typedef struct rt_debate_transcript {
    int n;                        /* reveals made (= L) */
    int feature[RT_DEBATE_MAX_K]; /* feature revealed at turn t */
    int value[RT_DEBATE_MAX_K];   /* its true value */
    int by[RT_DEBATE_MAX_K];      /* 0 = debater 1, 1 = debater 2 */
    float s1[RT_DEBATE_MAX_K];    /* J(e, a1) after turn t */
    float s2[RT_DEBATE_MAX_K];    /* J(e, a2) after turn t */
    float s1_empty, s2_empty;     /* scores before any reveal */
    unsigned revealed;            /* final revealed set */
    int outcome;                  /* for debater 1: +1, -1, 0 (draw) */
} rt_debate_transcript;

/* Plays the game: debater 1 of kind k1, debater 2 of kind k2; tr may be NULL; *outcome
 * (may be NULL) = debater 1's outcome.  0, RT_EINVAL (bad game, learned
 * without learner) or RT_ETOOBIG (minimax tree above max_leaves; err->msg e.g.
 * "minimax: game tree of 40320 leaves (K=8 features, evidence 8) exceeds the limit of
 * 1000"). */
int rt_debate_play(const rt_debate_game *g, rt_debater_kind k1, rt_debater_kind k2,
                   rt_debate_transcript *tr, int *outcome, rt_diag *err);
/* The minimax value of the game for debater 1 (-1, 0, +1); errors as rt_debate_play. */
int rt_debate_minimax_value(const rt_debate_game *g, int *value, rt_diag *err);
/* K!/(K-L)! (the leaves of the game tree). */
long rt_debate_tree_leaves(int K, int L);

/* ---- the debate (what `%%debate NAME` defines) ------------------------------------- */

typedef struct rt_debate_config {
    int evidence; /* L, 1..K */
    rt_debater_kind debaters;
    rt_debate_first first;
    int judge_hidden;             /* 1..4096 */
    rt_debate_train_config judge; /* judge_steps = judge.steps */
    int learner_hidden;
    rt_debate_train_config learner; /* used when debaters = learned */
    long max_leaves;                /* minimax limit, <= 0: 1000000 */
    int accuracy_states;            /* held-out states for the accuracies, >= 1 */
    int threads;                    /* threads of the batch functions, 1..16 */
} rt_debate_config;

/* Defaults: evidence 4, greedy, random first, judge hidden 32 and
 * rt_debate_judge_train_init, learner hidden 64 and rt_debate_learner_train_init,
 * max_leaves 1000000, accuracy_states 1000, threads 1. */
void rt_debate_config_init(rt_debate_config *cfg);

typedef struct rt_debate rt_debate;

/* Validates (err->msg: "debate needs a triage task (got add)", "evidence must be
 * between 1 and 6 (the task's features)", ...) and creates the debate with untrained
 * judges initialized from rng (judge: split(rng, 1), full judge: split(rng, 2),
 * learner: split(rng, 3)).  Caller frees with rt_debate_free; the task must outlive it. */
int rt_debate_create(const rt_task *task, const rt_debate_config *cfg, const rt_rng *rng,
                     rt_debate **out, rt_diag *err);
void rt_debate_free(rt_debate *d);
const rt_debate_config *rt_debate_config_of(const rt_debate *d);
/* Threads of the batch functions from now on (e.g. the session's %threads), clamped to
 * 1..16; results do not depend on it. */
void rt_debate_set_threads(rt_debate *d, int threads);
const rt_task *rt_debate_task_of(const rt_debate *d); /* the task it was created on */
const rt_debate_judge *rt_debate_judge_of(const rt_debate *d);
const rt_debate_judge *rt_debate_full_judge_of(const rt_debate *d);
const rt_debate_learner *rt_debate_learner_of(const rt_debate *d);

/* Trains the judge (streams split(rng, 11), run judge_run), the full-state judge
 * (split(rng, 12), full_run) and, for learned debaters, the learner (split(rng, 13),
 * learner_run); runs may be NULL; stops at the first error.  Then computes the
 * accuracies (rt_debate_judge_accuracy with split(rng, 14), accuracy_states states). */
int rt_debate_train(rt_debate *d, const rt_rng *rng, rt_run *judge_run, rt_run *full_run,
                    rt_run *learner_run, rt_diag *err);
/* Accuracies after rt_debate_train: the judge with L random features, the full-state
 * judge, and the partial judge given the full state; top-1 (chance = 1/A) and, on the
 * same states, pairwise (the *_pair fields, chance_pair = 1/2: the scale of debate win
 * rates and of judge_win / judge_win_full). */
typedef struct rt_debate_accuracy {
    double partial, full, partial_on_full, chance;
    double partial_pair, full_pair, partial_on_full_pair, chance_pair;
} rt_debate_accuracy;
rt_debate_accuracy rt_debate_accuracy_of(const rt_debate *d);

/* The action of a triage answer: first token a letter among the A actions -> 0..A-1,
 * else -1. */
int rt_debate_action_of(const rt_task *task, const int *answer, int n);
/* The baseline's actions: greedy decoding of one token after each prompt (ws rows >=
 * B), mapped by rt_debate_action_of. */
int rt_debate_policy_actions(const rt_task *task, const rt_model *p, rt_model_ws *ws,
                             const rt_task_sample *samples, int B, int *actions);

/* debate(NAME) for B states (conventions in the top comment): out[i] in {0, 0.5, 1}.
 * If tr != NULL, tr[i] receives state i's transcript (n = 0 when no debate was held).
 * 0, or the first error of rt_debate_play (minimax too large). */
int rt_debate_reward_batch(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                           const int *a_b, int B, const rt_rng *stream, uint64_t seq0, double *out,
                           rt_debate_transcript *tr, rt_diag *err);

/* The transcript of state s as text (the text twin of `%debate NAME show`), snprintf
 * style (returns the length needed; buf may be NULL with cap 0).  Example:
 *   state <tri>3102= (f1..f4)  policy b  vs  baseline d
 *   turn  by        reveals  J(b)     J(d)
 *   0     -         -         0.120   -0.310
 *   1     policy    f2=1      0.844   -0.902
 *   ...
 *   verdict: the judge prefers the policy (b): debate = 1
 * When no debate was held (tr->n == 0) the verdict line names the convention used:
 * "equal actions: debate = 0.5", "policy action invalid: debate = 0", "baseline
 * action invalid: debate = 1". */
size_t rt_debate_transcript_text(const rt_task *task, const rt_task_sample *s, int a_pi, int a_b,
                                 const rt_debate_transcript *tr, char *buf, size_t cap);

/* judge_full(NAME) for B states: the verdict of the full-state judge, the ideal reference
 * (no debate, every feature seen): out[i] = 1 if J_full(s_i, a_pi) > J_full(s_i, a_b), else 0
 * (a tie is 0, as a drawn debate), with the conventions of debate(NAME) (equal actions 0.5,
 * a_pi invalid 0, a_b invalid and a_pi valid 1).  Draws nothing, allocates nothing; on
 * states where the actions differ its mean is judge_win_full.  0 or RT_EINVAL. */
int rt_debate_full_reward_batch(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                                const int *a_b, int B, double *out);

typedef struct rt_debate_metrics {
    int n, n_differ;
    double ret;            /* mean environment reward of a_pi */
    double judge_win;      /* NaN if n_differ == 0 */
    double judge_win_full; /* NaN if n_differ == 0 */
    double differ;
} rt_debate_metrics;
/* The reward (out may be NULL) and the metrics of B states. */
int rt_debate_eval(const rt_debate *d, const rt_task_sample *samples, const int *a_pi,
                   const int *a_b, int B, const rt_rng *stream, uint64_t seq0, double *out,
                   rt_debate_metrics *m, rt_diag *err);
/* rt_debate_eval with `threads` threads (clamped to 1..16) instead of the debate's own,
 * for callers that share a debate they only read (rt_debate_reward.h); the results do
 * not depend on it. */
int rt_debate_eval_threads(const rt_debate *d, int threads, const rt_task_sample *samples,
                           const int *a_pi, const int *a_b, int B, const rt_rng *stream,
                           uint64_t seq0, double *out, rt_debate_metrics *m, rt_diag *err);

#endif
