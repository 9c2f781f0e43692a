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

#if defined(__ARM_ARCH_6M__) || defined(LG_INT8_MUL32)
/*
 * ARMv6-M (Cortex-M0, M0+, M1) has no 32x32->64 multiply: a 64-bit product
 * costs a call to __aeabi_lmul. These two give exactly the results of the
 * 64-bit versions below with 32-bit operations only (LG_INT8_MUL32 selects
 * them on any compiler; tests/int8/test_mul32.lua compares them with the
 * integer reference).
 */
/* acc * 2^shift saturated to int32, for shift > 0 */
static inline int32_t lg_saturating_left_shift(int32_t acc, int32_t shift)
{
    if (shift > 30) {
        return (acc > 0) ? INT32_MAX : ((acc < 0) ? INT32_MIN : 0);
    }
    const int32_t limit = INT32_MAX >> shift; /* INT32_MIN >> shift is -limit - 1 */
    return (acc > limit) ? INT32_MAX : ((acc < -limit - 1) ? INT32_MIN : acc * ((int32_t)1 << shift));
}
/*
 * floor((x * multiplier + 2^30) / 2^31), which is gemmlowp's rounding of the
 * doubled high word, for multiplier in [0, 2^31) (QuantizeMultiplier's
 * range: the saturating case of INT32_MIN * INT32_MIN cannot occur). The
 * product is x1*m1*2^32 + (x1*m0 + x0*m1)*2^16 + x0*m0 from 16-bit halves
 * (Hacker's Delight's mulhs; every partial sum fits in int32); hi is its
 * high word and bits 14 and 15 of w1 are bits 30 and 31 of its low word.
 */
static inline int32_t lg_high_mul(int32_t x, int32_t multiplier)
{
    const int32_t x0 = x & 0xFFFF;
    const int32_t x1 = x >> 16;
    const int32_t m0 = multiplier & 0xFFFF;
    const int32_t m1 = multiplier >> 16;
    const uint32_t w0 = (uint32_t)x0 * (uint32_t)m0;
    const int32_t t = x1 * m0 + (int32_t)(w0 >> 16);
    const int32_t w1 = x0 * m1 + (t & 0xFFFF);
    const int32_t hi = x1 * m1 + (t >> 16) + (w1 >> 16);
    return 2 * hi + ((((w1 >> 14) & 3) + 1) >> 1);
}
#else
/* acc * 2^shift saturated to int32, for shift > 0 */
static inline int32_t lg_saturating_left_shift(int32_t acc, int32_t shift)
{
    const int64_t wide = (int64_t)acc * ((int64_t)1 << shift);
    return (wide > INT32_MAX) ? INT32_MAX : ((wide < INT32_MIN) ? INT32_MIN : (int32_t)wide);
}
/* gemmlowp's SaturatingRoundingDoublingHighMul */
static inline int32_t lg_high_mul(int32_t x, int32_t multiplier)
{
    if ((x == INT32_MIN) && (multiplier == INT32_MIN)) {
        return INT32_MAX;
    }
    const int64_t product = (int64_t)x * (int64_t)multiplier;
    const int64_t nudged = product + ((product >= 0) ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30)));
    /* division by 2^31 truncating toward zero, without a 64-bit division */
    return (int32_t)((nudged >= 0) ? (nudged >> 31) : -((-nudged) >> 31));
}
#endif

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
/* The conv bodies read their weight pairs through a pointer the compiler must
 * take as changed on every iteration (an empty asm): gcc would otherwise hoist
 * every pair of the channel out of the position loops and, short of
 * registers, spill them and the input pointer to the stack and reload them
 * (LeNet-5 conv1 on Cortex-M4 at -O2: 183 -> 162 instructions per pooled
 * output). The pairs are then loaded where used, at an immediate offset. */
#if defined(__GNUC__)
#define LG_OPAQUE(pointer) __asm__("" : "+r"(pointer))
#else
#define LG_OPAQUE(pointer) ((void)0)
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
#if defined(LG_ACLE_EMULATION)
    return __sxtb16((int32_t)((word >> 8) | (word << 24))); /* ROR 8 */
#else
    /* SXTB16 rotates its operand itself; gcc would spend a MOV ROR on it */
    int32_t pair;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(pair) : "r"(word));
    return pair;
#endif
}
/*
 * lg_requantize's multiply and rounding division for a layer whose every
 * accumulator the generator has proved small: |acc| * 2^left < 2^29
 * (lg.int8emit.requantize_expr: |bias| + the largest |x - zero point| times
 * sum |w| per channel), so the left shift cannot saturate and the sums below
 * cannot overflow. For multiplier in [0, 2^31), gemmlowp's rounding doubling
 * high multiply is floor((x * multiplier + 2^30) / 2^31), which is the rounded
 * high word of (2 * x) * multiplier: one SMMULR. RoundingDivideByPOT (ties
 * away from zero) is then one add and one arithmetic shift: x + 2^(right - 1),
 * one less for a negative x, shifted right (nothing to round when right is 0).
 * only_right (a constant: every shift of the layer is negative) lets the
 * compiler drop the left shift and the test for right > 0.
 * tests/int8/test_mul32.lua compares it with the integer reference.
 */
/* (a * b + 2^31) >> 32: SMMULR. Written out because gcc, given the 64-bit
 * expression in a loop, hoists (int64_t)b into a register pair and multiplies
 * 64 x 64 (UMULL, two MLA, ADDS, ADC); the host harness's emulation runs the C. */
LG_ALWAYS_INLINE static inline int32_t lg_rounded_high_word(int32_t a, int32_t b)
{
#if defined(LG_ACLE_EMULATION)
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#else
    int32_t high;
    __asm__("smmulr %0, %1, %2" : "=r"(high) : "r"(a), "r"(b));
    return high;
#endif
}
/* (c * 2^32 + a * b + 2^31) >> 32: SMMLAR (|c| < 2^29 here: no overflow) */
LG_ALWAYS_INLINE static inline int32_t lg_rounded_high_word_plus(int32_t a, int32_t b, int32_t c)
{
#if defined(LG_ACLE_EMULATION)
    return (int32_t)(((int64_t)c * ((int64_t)1 << 32) + (int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#else
    int32_t high;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(high) : "r"(a), "r"(b), "r"(c));
    return high;
#endif
}
/* x saturated to [-128, 127]: SSAT #8 (inline assembly: arm_acle.h's __ssat
 * macro trips -Wsign-conversion on gcc 12) */
LG_ALWAYS_INLINE static inline int32_t lg_saturate_int8(int32_t x)
{
#if defined(LG_ACLE_EMULATION)
    return (x > 127) ? 127 : ((x < -128) ? -128 : x);
#else
    int32_t saturated;
    __asm__("ssat %0, #8, %1" : "=r"(saturated) : "r"(x));
    if ((saturated < -128) || (saturated > 127)) {
        __builtin_unreachable(); /* what SSAT does: no sign extension of the int8_t after it */
    }
    return saturated;
#endif
}
/* x saturated to [0, 255]: USAT #8 */
LG_ALWAYS_INLINE static inline int32_t lg_saturate_uint8(int32_t x)
{
#if defined(LG_ACLE_EMULATION)
    return (x > 255) ? 255 : ((x < 0) ? 0 : x);
#else
    int32_t saturated;
    __asm__("usat %0, #8, %1" : "=r"(saturated) : "r"(x));
    if ((saturated < 0) || (saturated > 255)) {
        __builtin_unreachable();
    }
    return saturated;
#endif
}
LG_ALWAYS_INLINE static inline int32_t lg_scale_bounded(int32_t acc, int32_t multiplier, int32_t shift,
                                                        int32_t only_right)
{
    const int32_t left = (!only_right && (shift > 0)) ? shift : 0;
    const int32_t right = (only_right || (shift <= 0)) ? -shift : 0;
    const int32_t doubled = acc * ((int32_t)2 << left);
    const int32_t high = lg_rounded_high_word(doubled, multiplier);
    const int32_t half = (int32_t)(((uint32_t)1 << right) >> 1);
    return (high + half - ((high < 0) & (only_right || (right > 0)))) >> right;
}
/* The same pairs of the uint8 values between steps (code + 128, 0..255: a
 * valid int16 for __smlad), zero-extended by __uxtb16. */
LG_ALWAYS_INLINE static inline int32_t lg_low_upair(const uint8_t *x)
{
    return (int32_t)__uxtb16(lg_word((const int8_t *)x));
}
LG_ALWAYS_INLINE static inline int32_t lg_high_upair(const uint8_t *x)
{
    const uint32_t word = lg_word((const int8_t *)x);
#if defined(LG_ACLE_EMULATION)
    return (int32_t)__uxtb16((word >> 8) | (word << 24)); /* ROR 8 */
#else
    /* as lg_high_pair: UXTB16 with its own ROR 8 */
    uint32_t pair;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(pair) : "r"(word));
    return (int32_t)pair;
#endif
}
#endif

/*
 * ARMv6-M (no DSP extension) has 8 low registers and no LDRSB with an
 * immediate offset: the portable conv bodies then run in passes of fewer
 * accumulators on int32 copies of the weights (LG_ARMV6M; LG_INT8_MUL32,
 * which selects the ARMv6-M arithmetic above on any compiler, selects them
 * too, unless LG_DSP).
 */
#if (defined(__ARM_ARCH_6M__) || defined(LG_INT8_MUL32)) && !defined(LG_DSP)
#define LG_ARMV6M 1
#endif

/*
 * acc (int32, at scale s_in * s_w) to an output code: acc * multiplier *
 * 2^(shift - 31) by gemmlowp's SaturatingRoundingDoublingHighMul and
 * RoundingDivideByPOT (TFLite's MultiplyByQuantizedMultiplier; a left shift
 * saturates to int32), plus the zero point, clamped to [low, 127] (low is the
 * zero point when a ReLU is folded in). Right shifts of negative values are
 * arithmetic on every compiler this code is tested with (gcc, clang,
 * arm-none-eabi-gcc); C99 leaves them implementation-defined. bounded (a
 * constant at each call) is 1 where the generator proved lg_scale_bounded's
 * bound for the layer, 2 where moreover every shift is negative, 3 where
 * moreover none is below -22 (and every multiplier at least 2^30). From 2 on
 * no left shift can occur and, with |acc| < 2^29, RoundingDivideByPOT is one
 * add and one arithmetic shift (ties away from zero: one less for a negative
 * high) on every core; the LG_DSP path also multiplies with one SMMULR (mode
 * 3: SMMLAR).
 */
#if defined(LG_DSP) && !defined(LG_INT8_MUL32)
/* the bounded path is a few instructions, which -Os would call out of line */
#define LG_REQUANTIZE_INLINE LG_ALWAYS_INLINE
#define LG_BOUNDED_3 3
#else
#define LG_REQUANTIZE_INLINE
#define LG_BOUNDED_3 2 /* mode 3 is mode 2 without SMMLAR */
#endif
LG_REQUANTIZE_INLINE static inline int8_t lg_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                                        int32_t zero_point, int32_t low, int32_t bounded)
{
    int32_t v;
#if defined(LG_DSP) && !defined(LG_INT8_MUL32)
    if (bounded) {
        /* |v| < 2^29 here, so v + zero_point cannot overflow: clamping the sum
         * to [low, 127] is the clamp below, and one SSAT where low is -128 */
        if (bounded == 3) {
            /* Every multiplier in [2^30, 2^31), so 2 * multiplier - 2^32 is
             * an int32 and the doubled product 2 * acc * multiplier is acc *
             * 2^32 + acc * (2 * multiplier - 2^32): lg_scale_bounded's high
             * word in one SMMLAR. Right shifts of at most 22 bits: zero_point
             * + 128 joins the rounding constant, and USAT gives the code +
             * 128, which is already the index of an activation table. */
            const int32_t right = -shift;
            const int32_t high = lg_rounded_high_word_plus(acc, (int32_t)((int64_t)multiplier * 2 - ((int64_t)1 << 32)),
                                                           acc);
            const int32_t constant = (int32_t)(((uint32_t)1 << right) >> 1)
                                     + (zero_point + 128) * ((int32_t)1 << right);
            v = lg_saturate_uint8((high + constant - (high < 0)) >> right) - 128;
        } else {
            v = lg_saturate_int8(lg_scale_bounded(acc, multiplier, shift, bounded == 2) + zero_point);
        }
        return (int8_t)(((low > -128) && (v < low)) ? low : v);
    }
#endif
    if (bounded >= 2) {
        const int32_t high = lg_high_mul(acc, multiplier);
        const int32_t right = -shift;
        v = (high + (int32_t)((uint32_t)1 << (right - 1)) - ((high < 0) ? 1 : 0)) >> right;
    } else {
        const int32_t x = (shift > 0) ? lg_saturating_left_shift(acc, shift) : acc;
        const int32_t high = lg_high_mul(x, multiplier);
        const int32_t right = (shift > 0) ? 0 : -shift;
        const int32_t mask = (int32_t)(((uint32_t)1 << right) - 1u);
        const int32_t remainder = high & mask;
        const int32_t threshold = (mask >> 1) + ((high < 0) ? 1 : 0);
        v = (high >> right) + ((remainder > threshold) ? 1 : 0);
    }
    /* Clamp to [low, 127] before adding the zero point, so the sum cannot
     * overflow (v may be near INT32_MAX); the bounds fold to constants. */
    v = (v < (low - zero_point)) ? (low - zero_point) : v;
    v = (v > (127 - zero_point)) ? (127 - zero_point) : v;
    return (int8_t)(v + zero_point);
}
