/* The ACLE DSP intrinsics the generated LG_DSP path uses (Arm C Language Extensions, section
 * "SIMD32 intrinsics"), in plain C, so the host harness can run the generated
 * __ARM_FEATURE_DSP path: force-included (-include) before the generated C,
 * whose LG_DSP branch then takes these instead of <arm_acle.h>. */
#ifndef ACLE_EMUL_H
#define ACLE_EMUL_H
#include <stdint.h>
#define LG_ACLE_EMULATION 1

/* bytes 0 and 2 of x, each sign-extended to the 16-bit halves of the result */
static inline int32_t __sxtb16(int32_t x)
{
    const uint32_t u = (uint32_t)x;
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(uint8_t)(u & 0xffu) & 0xffffu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)(uint8_t)((u >> 16) & 0xffu) & 0xffffu;
    return (int32_t)(lo | (hi << 16));
}

/* bytes 0 and 2 of x, each zero-extended to the 16-bit halves of the result */
static inline uint32_t __uxtb16(uint32_t x)
{
    return x & 0x00ff00ffu;
}

/* acc + x.lo * y.lo + x.hi * y.hi (signed 16-bit halves), wrapping like the
 * instruction (which only sets the Q flag on overflow) */
static inline int32_t __smlad(int32_t x, int32_t y, int32_t acc)
{
    const int32_t xl = (int16_t)(uint16_t)((uint32_t)x & 0xffffu), xh = (int16_t)(uint16_t)((uint32_t)x >> 16);
    const int32_t yl = (int16_t)(uint16_t)((uint32_t)y & 0xffffu), yh = (int16_t)(uint16_t)((uint32_t)y >> 16);
    const uint32_t sum = (uint32_t)acc + (uint32_t)(xl * yl) + (uint32_t)(xh * yh);
    return (int32_t)sum;
}
#endif
