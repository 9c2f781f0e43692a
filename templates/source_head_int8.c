${banner}
#include <stdint.h>
#include "${name}.h"

/* A ${name}.h of another run (interrupted, or concurrent) does not describe this code. */
#if !defined(${NAME}_GENERATION) || (${NAME}_GENERATION != ${generation})
#error "${name}.h and ${name}.c are from different lenetgen runs: regenerate both with gen/lenetgen"
#endif

/*
 * --quantize=int8: TensorFlow Lite's int8 scheme. A real value r and its code
 * q relate by r = scale * (q - zero_point). Weights are int8 per output
 * channel (zero point 0), accumulators int32; the input zero point is folded
 * into each bias at generation time (per clipped window of the padding), so a
 * multiply-accumulate is one integer multiply-add.
 */
#define LG_MAC(acc, w, x) ((acc) += (int32_t)(w) * (int32_t)(x))

/*
 * Cores with the DSP extension (Cortex-M4, M7, M33): __smlad multiplies two
 * int16 pairs and adds both products to an accumulator in one instruction.
 * The conv bodies of --unroll=kernel read four input codes as one word (LDR
 * may be unaligned, a pointer cast may not: memcpy) and split it with
 * __sxtb16 into the pairs (x[0], x[2]) (lg_low_pair) and, rotated right by 8,
 * (x[1], x[3]) (lg_high_pair; little-endian), against weights packed at
 * generation time as int16 pairs. Bit-identical to the LG_MACs: each product
 * is an int8 * int8 one and the sums are the same int32 additions. A test
 * header defining LG_ACLE_EMULATION supplies the intrinsics in plain C.
 */
#if defined(LG_ACLE_EMULATION) || (defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(__ARM_BIG_ENDIAN))
#define LG_DSP 1
#ifndef LG_ACLE_EMULATION
#include <arm_acle.h>
#endif
#include <string.h>
#if defined(__GNUC__)
#define LG_ALWAYS_INLINE __attribute__((always_inline)) /* at -Os gcc would call them */
#else
#define LG_ALWAYS_INLINE
#endif
LG_ALWAYS_INLINE static inline uint32_t lg_word(const int8_t *x)
{
    uint32_t word;
    memcpy(&word, x, sizeof word);
    return word;
}
LG_ALWAYS_INLINE static inline int32_t lg_low_pair(const int8_t *x)
{
    return __sxtb16((int32_t)lg_word(x));
}
LG_ALWAYS_INLINE static inline int32_t lg_high_pair(const int8_t *x)
{
    const uint32_t word = lg_word(x);
    return __sxtb16((int32_t)((word >> 8) | (word << 24))); /* ROR 8 */
}
#endif

/*
 * acc (int32, at scale s_in * s_w) to an output code: acc * multiplier *
 * 2^(shift - 31) by gemmlowp's SaturatingRoundingDoublingHighMul and
 * RoundingDivideByPOT (TFLite's MultiplyByQuantizedMultiplier; a left shift
 * saturates to int32), plus the zero point, clamped to [low, 127] (low is the
 * zero point when a ReLU is folded in). Right shifts of negative values are
 * arithmetic on every compiler this code is tested with (gcc, clang,
 * arm-none-eabi-gcc); C99 leaves them implementation-defined.
 */
static inline int8_t lg_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point, int32_t low)
{
    int32_t x = acc;
    if (shift > 0) {
        const int64_t wide = (int64_t)acc * ((int64_t)1 << shift);
        x = (wide > INT32_MAX) ? INT32_MAX : ((wide < INT32_MIN) ? INT32_MIN : (int32_t)wide);
    }
    int32_t high;
    if ((x == INT32_MIN) && (multiplier == INT32_MIN)) {
        high = INT32_MAX;
    } else {
        const int64_t product = (int64_t)x * (int64_t)multiplier;
        const int64_t nudged = product + ((product >= 0) ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)));
        /* division by 2^31 truncating toward zero, without a 64-bit division */
        high = (int32_t)((nudged >= 0) ? (nudged >> 31) : -((-nudged) >> 31));
    }
    const int32_t right = (shift > 0) ? 0 : -shift;
    const int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    const int32_t remainder = high & mask;
    const int32_t threshold = (mask >> 1) + ((high < 0) ? 1 : 0);
    int32_t v = (high >> right) + ((remainder > threshold) ? 1 : 0) + zero_point;
    v = (v < low) ? low : v;
    v = (v > 127) ? 127 : v;
    return (int8_t)v;
}
