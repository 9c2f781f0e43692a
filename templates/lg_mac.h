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
