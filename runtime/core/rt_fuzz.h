/* rt_fuzz: work caps of fuzz builds.  tools/fuzz/fuzz compiles the tree with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (libFuzzer's convention; meson never sets
 * it), and there a training loop runs at most RT_FUZZ_MAX_STEPS steps of at most
 * RT_FUZZ_MAX_BATCH prompts (RL: RT_FUZZ_MAX_GROUP samples each), an evaluator scores at
 * most RT_FUZZ_MAX_PROMPTS prompts with at most RT_FUZZ_MAX_SAMPLES samples each, and a
 * new %%policy has at most RT_FUZZ_MAX_WIDTH hidden units and embedding dimensions, and
 * %sleep waits at most RT_FUZZ_MAX_SLEEP_S seconds (its poll loop still runs), %correlate
 * averages over its first RT_FUZZ_MAX_PROMPTS prompts, and a
 * swept key runs its first RT_FUZZ_MAX_SWEEP values (all of them are still parsed and
 * checked, duplicates included: magics/lang/mag_schema.c).  So
 * the interpreter target (tools/fuzz/fuzz_exec.c) runs a fuzzed cell that trains with
 * default sizes in about a millisecond and spends its time on the language, not on the
 * arithmetic.  Every path still runs (setup, steps, rows, evaluation, endings); only
 * counts shrink.  In a normal build RT_FUZZ_CAP(x, cap) is x. */
#ifndef RT_FUZZ_H
#define RT_FUZZ_H

#define RT_FUZZ_MAX_STEPS 2
#define RT_FUZZ_MAX_BATCH 4
#define RT_FUZZ_MAX_GROUP 4 /* every RL recipe's min_group is <= 2 */
#define RT_FUZZ_MAX_PROMPTS 8
#define RT_FUZZ_MAX_SAMPLES 2
#define RT_FUZZ_MAX_WIDTH 16
#define RT_FUZZ_MAX_SLEEP_S 0.002
#define RT_FUZZ_MAX_SWEEP 2 /* values run per swept key */

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define RT_FUZZ_CAP(x, cap) ((x) > (cap) ? (cap) : (x))
#else
#define RT_FUZZ_CAP(x, cap) (x)
#endif

#endif
