/* ---- lenetgen builtin math (--math=builtin): expf and tanhf without libm ----
 *
 * Freestanding: no library call, no header, single-precision arithmetic only
 * (no double anywhere, so a Cortex-M4F keeps everything in its FPU and an
 * FPU-less core needs only libgcc's float routines). Needs round-to-nearest,
 * FLT_EVAL_METHOD 0 or 1 and a 32-bit unsigned int (the last two checked
 * below; the including file includes <float.h>, which freestanding C has).
 *
 * -ffast-math and -Ofast (gcc, clang, arm-none-eabi-gcc) keep every bound
 * below: the steps those flags would rewrite (the 1.5 * 2^23 rounding, the
 * two-part Cody-Waite reduction, 1 + (r + r^2 P), s*q + (s - 1), the two
 * halves of 2^n) are each held in place by LENETGEN_OPAQUE, which emits no
 * instruction (or by the fused multiply-add itself, where the target has
 * one), and NaN is recognised from the bits, never by x != x, which
 * -ffinite-math-only deletes. Where such a program flushes subnormals to
 * zero (x86 links crtfastmath.o into -Ofast programs), results below 2^-126
 * come out as 0 (error < 2^-126) and subnormal arguments count as 0.
 * make test-math checks all this under -Ofast too (gcc and clang, with and
 * without fused multiply-add); make firmware-test runs LeNet-5 built with
 * arm-none-eabi-gcc -Ofast.
 *
 * Error bounds, asserted by tests/math/test_math_builtin.c against libm in
 * double precision; the maxima in brackets were measured over every float of
 * the range (gcc 12, x86-64; without / with fused multiply-add):
 *   lenetgen_expf   <= 1.1 ulp on [-104, 89] [0.976 / 1.009]; exactly +inf
 *                   above 88.7228, 0 below -103.9721, NaN for NaN; subnormal
 *                   results are within the same bound (ulp 2^-149 there).
 *   lenetgen_tanhf  <= 2.5 ulp on [-10, 10] [2.425 / 2.419]; exactly +-1 for
 *                   |x| > 9.5 and +-inf, NaN for NaN, x for tiny x, -0 for -0.
 *   1 / (1 + lenetgen_expf(-x)), the generated sigmoid: <= 2.5 ulp where the
 *                   result is a normal float [2.481 / 2.481]; absolute error
 *                   < 2^-126 below that (x < -87.34).
 *
 * Method:
 *   1. Reduction: y = n ln2 + r with n = round(y / ln2), |r| <= ln2/2 (plus
 *      a few ulps). Adding 1.5 * 2^23 rounds y / ln2 to an integer and leaves
 *      n in the low mantissa bits of k (valid for |y / ln2| < 2^22).
 *      r = y - n*LN2_HI - n*LN2_LO (Cody-Waite): LN2_HI has 15 significant
 *      bits, so n*LN2_HI is exact for |n| <= 512 and so is the subtraction;
 *      only the small n*LN2_LO term rounds (absolute error < 2^-30).
 *   2. e^r = 1 + r + r^2 * P(r), P a degree-4 minimax fit of the relative
 *      error of e^r on [-ln2/2, ln2/2] (2^-28 with the float coefficients);
 *      the error left is that of the last few roundings.
 *      tests/math/remez.c reproduces every coefficient.
 *   3. e^y = 2^n e^r: n is added to the exponent field of e^r. The low bits
 *      of k are n + 0x4b400000 and 0x4b400000 << 23 overflows to 0, so
 *      k << 23 is n << 23 in two's complement: one integer add. For
 *      |x| <= 87 the result is a normal float; beyond, lenetgen_expf_edge
 *      scales in two exact steps so that subnormal results round once.
 *   4. tanh|x| = m / (m + 2) with m = e^(2|x|) - 1 = (2^n - 1) + 2^n q and
 *      q = e^r - 1 from a degree-7 fit of the relative error of e^r - 1
 *      (2^-28.8): no cancellation as |x| -> 0 (n = 0 gives m = q = 2x + ...),
 *      so one formula covers all of [0, 9.5]; the sign is copied back.
 * Each a*b + c below is one fused multiply-add where the target has one in
 * hardware (Cortex-M4F VFMA, x86-64 FMA), else a multiply and an add; the
 * bounds hold for both.
 *
 * Selection: the generator defines LENETGEN_MATH_EXPF and/or
 * LENETGEN_MATH_TANHF before this text for the functions the network calls
 * (clang rejects unused static functions, even inline ones); with neither
 * defined, both functions are compiled.
 */
#if !defined(LENETGEN_MATH_EXPF) && !defined(LENETGEN_MATH_TANHF)
#define LENETGEN_MATH_EXPF 1
#define LENETGEN_MATH_TANHF 1
#endif

#if defined(__GNUC__) && defined(__FP_FAST_FMAF)
#define LENETGEN_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define LENETGEN_FMA(a, b, c) (((a) * (b)) + (c))
#endif

/* LENETGEN_OPAQUE(v) hides the value of the float variable v from the
 * optimiser: an empty asm statement that claims to change v, in the register
 * class v lives in, so no instruction is emitted. -ffast-math and -Ofast let
 * the compiler rewrite float expressions by the rules of real arithmetic,
 * which would delete the roundings the method relies on (comments at each use);
 * an opaque value keeps each such expression as written, whatever the flags. */
#if !defined(__GNUC__)
#define LENETGEN_OPAQUE(v) ((void)0) /* no GNU C fast-math flags to defend against */
#elif defined(__SSE_MATH__)
#define LENETGEN_OPAQUE(v) __asm__("" : "+x"(v)) /* x86: an SSE register */
#elif defined(__ARM_FP) && (__ARM_FP & 4)
#define LENETGEN_OPAQUE(v) __asm__("" : "+t"(v)) /* Arm: a VFP single register */
#elif defined(__aarch64__)
#define LENETGEN_OPAQUE(v) __asm__("" : "+w"(v)) /* AArch64: a SIMD&FP register */
#elif defined(__riscv_flen)
#define LENETGEN_OPAQUE(v) __asm__("" : "+f"(v)) /* RISC-V F: a float register */
#elif defined(__SOFTFP__) || defined(__riscv_float_abi_soft)
#define LENETGEN_OPAQUE(v) __asm__("" : "+r"(v)) /* no FPU: floats in core registers */
#else
#define LENETGEN_OPAQUE(v) __asm__("" : "+m"(v)) /* any other target: through memory */
#endif

/* LENETGEN_OPAQUE_UNFUSED(v): the same where only the unfused a*b + c form
 * of LENETGEN_FMA could be rewritten (a fused multiply-add is one operation
 * that no flag splits or reassociates); on Cortex-M4F it costs nothing then,
 * where an opaque value there would change how gcc inlines lenetgen_expf. */
#if defined(__GNUC__) && defined(__FP_FAST_FMAF) /* LENETGEN_FMA is fused */
#define LENETGEN_OPAQUE_UNFUSED(v) ((void)0)
#else
#define LENETGEN_OPAQUE_UNFUSED(v) LENETGEN_OPAQUE(v)
#endif

/* The bit operations below read and write a float through an unsigned int
 * of the same 32 bits (lenetgen_bits). If this fails, unsigned int is not
 * 32 bits wide on this target (a 16-bit int, as on MSP430 or AVR): generate
 * with --math=libm, which calls the C library's expf and tanhf instead. */
typedef char lenetgen_unsigned_int_must_be_32_bits[((sizeof(unsigned int) == 4) && (sizeof(float) == 4)) ? 1 : -1];

/* The reduction rounds y / ln2 to an integer by storing y / ln2 + 1.5 * 2^23
 * in a float variable, and the error bounds above count one rounding per
 * float operation. Both hold when float expressions are evaluated in float
 * (FLT_EVAL_METHOD 0) or in double (1: every intermediate is exact or more
 * accurate, and each assignment rounds to float). -1 (indeterminable) is what
 * a compiler may report under fast-math options, whose rewrites
 * LENETGEN_OPAQUE holds off. If this fails (2: x87 extended precision, e.g.
 * gcc -m32 without SSE, where GNU modes keep assignments unrounded): compile
 * with SSE arithmetic (-msse2 -mfpmath=sse), or generate with --math=libm. */
typedef char lenetgen_float_eval_method_must_be_0_or_1[((FLT_EVAL_METHOD >= -1) && (FLT_EVAL_METHOD <= 1)) ? 1 : -1];
typedef union {
    float f;
    unsigned int u;
} lenetgen_bits;

#define LENETGEN_LOG2E 0x1.715476p+0f   /* 1/ln2 rounded */
#define LENETGEN_LN2_HI 0x1.62e4p-1f    /* ln2 to 15 significant bits */
#define LENETGEN_LN2_LO 0x1.7f7d1cp-20f /* ln2 - LN2_HI rounded */
#define LENETGEN_ROUNDER 0x1.8p+23f     /* 1.5 * 2^23 */

/* Reduces y (|y| <= 104); k receives the bits holding n, the result is r. */
static inline float lenetgen_reduce(float y, lenetgen_bits *k)
{
    float t = LENETGEN_FMA(y, LENETGEN_LOG2E, LENETGEN_ROUNDER);
    LENETGEN_OPAQUE(t); /* rounded to an integer: (y*c + R) - R must not become y*c */
    k->f = t;
    t -= LENETGEN_ROUNDER; /* n, exactly */
    float r = LENETGEN_FMA(-t, LENETGEN_LN2_HI, y);
    LENETGEN_OPAQUE_UNFUSED(r); /* y - t*HI - t*LO must not become y - t*(HI + LO) */
    return LENETGEN_FMA(-t, LENETGEN_LN2_LO, r);
}

#if defined(LENETGEN_MATH_EXPF)
/* Declares the edge path below as rarely taken, so that the compiler lays out the
 * common path as the straight fall-through: 2 branches fewer per call, 0.904 M
 * instead of 0.914 M instructions per LeNet-5 inference on Cortex-M4F. */
#if defined(__GNUC__)
static float lenetgen_expf_edge(float x) __attribute__((cold));
#endif

/* e^r for |r| <= ln2/2: relative error 2^-28 plus the roundings. */
static inline float lenetgen_exp_poly(float r)
{
    float p = LENETGEN_FMA(0x1.6a2434p-10f, r, 0x1.1239e2p-7f);
    p = LENETGEN_FMA(p, r, 0x1.5558f2p-5f);
    p = LENETGEN_FMA(p, r, 0x1.555492p-3f);
    p = LENETGEN_FMA(p, r, 0x1.fffffcp-2f);
    p = LENETGEN_FMA(r * r, p, r);
    LENETGEN_OPAQUE_UNFUSED(p); /* 1 + (r + r^2 P) must not become (1 + r) + r^2 P */
    return 1.0f + p;
}

/* expf for |x| > 87 and NaN: overflow, underflow, and results near the ends
 * of the float range, where 2^n is applied in two exact halves. */
static float lenetgen_expf_edge(float x)
{
    lenetgen_bits k;
    k.f = x;
    /* NaN, tested on the bits (-ffinite-math-only deletes x != x), or x >= 88.72284 */
    if (((k.u & 0x7fffffffu) > 0x7f800000u) || (x > 0x1.62e42ep+6f)) {
        return x * 0x1p+127f; /* the NaN, or +inf */
    }
    if (x < -0x1.9fe368p+6f) {  /* x < -103.97208: e^x < 2^-150 rounds to 0 */
        return 0.0f;
    }
    float p = lenetgen_exp_poly(lenetgen_reduce(x, &k));
    const unsigned int u = k.u - 0x4b3fff02u; /* n + 254 (k.u is 0x4b400000 + n, -150 <= n <= 128): 104..382 */
    lenetgen_bits lo;
    lo.u = (u >> 1u) << 23u;       /* 2^(floor(u/2) - 127) */
    lenetgen_bits hi;
    hi.u = (u - (u >> 1u)) << 23u; /* 2^(ceil(u/2) - 127): both normal, lo * hi = 2^n */
    p *= lo.f; /* exact */
    LENETGEN_OPAQUE(p); /* (p * lo) * hi must not become p * (lo * hi), which overflows */
    return p * hi.f; /* one rounding */
}

static inline float lenetgen_expf(float x)
{
    lenetgen_bits in;
    in.f = x;
    if ((in.u & 0x7fffffffu) > 0x42ae0000u) { /* |x| > 87, or NaN */
        return lenetgen_expf_edge(x);
    }
    lenetgen_bits k;
    lenetgen_bits out;
    out.f = lenetgen_exp_poly(lenetgen_reduce(x, &k)); /* e^r in [0.707, 1.415] */
    out.u += k.u << 23u;                                /* times 2^n, -126 <= n <= 126 */
    return out.f;
}

#endif /* LENETGEN_MATH_EXPF */

#if defined(LENETGEN_MATH_TANHF)
static inline float lenetgen_tanhf(float x)
{
    lenetgen_bits v;
    v.f = x;
    lenetgen_bits a;
    a.u = v.u & 0x7fffffffu; /* |x| */
    if (a.u > 0x41180000u) {     /* |x| > 9.5: tanh(x) rounds to +-1 beyond 9.0109; or NaN */
        if (a.u > 0x7f800000u) {
            return x + x;         /* NaN (bit tests: -ffinite-math-only deletes x != x) */
        }
        a.f = 1.0f;
    } else {
        lenetgen_bits k;
        const float r = lenetgen_reduce(a.f + a.f, &k); /* 0 <= n <= 28 */
        lenetgen_bits s;
        s.u = (k.u << 23u) + 0x3f800000u;     /* 2^n */
        float q = LENETGEN_FMA(0x1.a032cp-13f, r, 0x1.6d71f8p-10f); /* e^r - 1 */
        q = LENETGEN_FMA(q, r, 0x1.11118ap-7f);
        q = LENETGEN_FMA(q, r, 0x1.5554b2p-5f);
        q = LENETGEN_FMA(q, r, 0x1.555554p-3f);
        q = LENETGEN_FMA(q, r, 0x1p-1f);
        q = LENETGEN_FMA(r * r, q, r);
        float s_minus_1 = s.f - 1.0f; /* exact */
        LENETGEN_OPAQUE_UNFUSED(s_minus_1); /* s*q + (s - 1) must not become s*(q + 1) - 1 */
        const float m = LENETGEN_FMA(s.f, q, s_minus_1); /* e^(2|x|) - 1 */
        a.f = m / (m + 2.0f);
    }
    a.u |= v.u & 0x80000000u; /* tanh is odd */
    return a.f;
}
#endif /* LENETGEN_MATH_TANHF */
/* ---- end of lenetgen builtin math ---- */
