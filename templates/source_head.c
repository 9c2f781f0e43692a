${banner}
${includes}#include "${name}.h"

/* A ${name}.h of another run (interrupted, or concurrent) does not describe this code. */
#if !defined(${NAME}_GENERATION) || (${NAME}_GENERATION != ${generation})
#error "${name}.h and ${name}.c are from different lenetgen runs: regenerate both with gen/lenetgen"
#endif

/*
 * Multiply-accumulate: one fused multiply-add where the target has it in
 * hardware (Cortex-M4F, x86-64 with FMA), else a multiply and an add. ISO C
 * mode (-std=c99) forbids the compiler to contract a*b+c by itself.
 */
#if defined(__FP_FAST_FMAF) && defined(__GNUC__)
#define LG_MAC(acc, w, x) ((acc) = __builtin_fmaf((w), (x), (acc)))
#elif defined(FP_FAST_FMAF)
#define LG_MAC(acc, w, x) ((acc) = fmaf((w), (x), (acc)))
#else
#define LG_MAC(acc, w, x) ((acc) += (w) * (x))
#endif

/* The arena holds every intermediate tensor; the plan was checked to fit. */
typedef char ${name}_scratch_size_check[(${NAME}_SCRATCH_FLOATS == ${arena_floats}) ? 1 : -1];
