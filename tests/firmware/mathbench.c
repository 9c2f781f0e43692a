/*
 * mathbench.c: instructions per call of libm's expf/tanhf and of the builtin
 * ones (templates/math_builtin.c), and of the sigmoid the generator composes
 * from each, on QEMU (-icount shift=0: 40 instructions per SysTick tick; see
 * harness.c). 1000 calls on x uniform in [-8, 8]; the cost of the loop and of
 * calling an identity function is subtracted, so a figure is the function's
 * own instructions. Instructions, not cycles. Prints only; never fails.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "math_builtin.c"

#ifndef FW_TARGET_DESC
#define FW_TARGET_DESC "Cortex-M4F on QEMU mps2-an386"
#endif

#define SYST_CSR (*(volatile unsigned int *)0xE000E010u)
#define SYST_RVR (*(volatile unsigned int *)0xE000E014u)
#define SYST_CVR (*(volatile unsigned int *)0xE000E018u)
#define CALLS 1000u

extern void initialise_monitor_handles(void);
void lg_exit(int status);
void lg_exit(int status) { exit(status); }

static volatile float sink;
static float xs[CALLS];

typedef float (*unary)(float);

static float __attribute__((noinline)) identity(float x) { return x; }
static float __attribute__((noinline)) libm_expf(float x) { return expf(x); }
static float __attribute__((noinline)) builtin_expf(float x) { return lenetgen_expf(x); }
static float __attribute__((noinline)) libm_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static float __attribute__((noinline)) builtin_sigmoid(float x) { return 1.0f / (1.0f + lenetgen_expf(-x)); }
static float __attribute__((noinline)) libm_tanhf(float x) { return tanhf(x); }
static float __attribute__((noinline)) builtin_tanhf(float x) { return lenetgen_tanhf(x); }

/* instructions for CALLS calls of fn, loop included */
static unsigned int run(unary fn)
{
    unsigned int i, t0, t1;
    float s = 0.0f;
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u;
    t0 = SYST_CVR;
    for (i = 0; i < CALLS; i++)
        s += fn(xs[i]);
    t1 = SYST_CVR;
    sink = s;
    return ((t0 - t1) & 0x00FFFFFFu) * 40u;
}

static unsigned int per_call(unary fn, unsigned int base) { return (run(fn) - base + CALLS / 2u) / CALLS; }

int main(void)
{
    unsigned int i, base;
    initialise_monitor_handles();
    for (i = 0; i < CALLS; i++)
        xs[i] = -8.0f + 16.0f * (float)i / (float)CALLS;
    base = run(identity);
    printf("math cost, %s: instructions per call (QEMU -icount, not cycles)\n", FW_TARGET_DESC);
    printf("  expf     libm %4u  builtin %4u\n", per_call(libm_expf, base), per_call(builtin_expf, base));
    printf("  sigmoid  libm %4u  builtin %4u   (1 / (1 + expf(-x)))\n", per_call(libm_sigmoid, base),
           per_call(builtin_sigmoid, base));
    printf("  tanhf    libm %4u  builtin %4u\n", per_call(libm_tanhf, base), per_call(builtin_tanhf, base));
    return 0;
}
