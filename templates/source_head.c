${banner}
#include <float.h>
${includes}#include "${header}"

/* A ${name}.h of another run (interrupted, or concurrent) does not describe this code. */
#if !defined(${NAME}_GENERATION) || (${NAME}_GENERATION != ${generation})
#error "${mismatch}"
#endif

${mac}/*
 * What this code assumes of the target, checked by the compiler. C99 has no
 * _Static_assert: each typedef declares an array of size -1, an error, when its
 * condition is false. The comment above a failing line says what to do.
 *
 * float is IEEE-754 binary32 (radix 2, 24-bit significand, largest exponent
 * 128). The weights are the binary32 values of the weights file (dtype F32),
 * written as literals that are exact only in this format, and the harness
 * checks the results against binary32 arithmetic; the literals of the
 * activations and of the builtin math are binary32 values too. If this fails,
 * the compiler's float is another format (a DSP's 24- or 40-bit float, or a
 * 64-bit float selected by an option): select IEEE single precision for float
 * in the compiler's options; there is no code for other formats.
 */
typedef char ${name}_float_must_be_ieee754_binary32[((FLT_RADIX == 2) && (FLT_MANT_DIG == 24) && (FLT_MAX_EXP == 128)) ? 1 : -1];
