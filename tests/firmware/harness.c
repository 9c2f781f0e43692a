/*
 * harness.c: runs the generated network on QEMU's mps2-an386 (Cortex-M4F), or
 * Cortex-M0+ (ARMv6-M) code on mps2-an385 (a Cortex-M3, which executes the
 * same instructions: the count is the M0+'s).
 *
 * For every golden input embedded in the image (golden.h, written by
 * make_golden.lua from the reference interpreter) it calls GOLDEN_INFER,
 * compares each output with the expected value (golden_check.h: |got - want|
 * <= 1e-5 + 1e-5 |want|, the project's tolerance), prints the result
 * through semihosting and exits with status 0 only when everything agrees.
 *
 * Instruction count: QEMU run with -icount shift=0 advances its virtual clock
 * one nanosecond per executed instruction, and the board's 25 MHz SysTick
 * then ticks once every 40 instructions. SysTick is reloaded before each
 * measurement (it is a 24-bit down-counter), the ticks of an empty
 * measurement are subtracted, and a loop of known length checks the 40.
 * The figure counts instructions, not cycles: on silicon a load, a VFMA or
 * a taken branch takes more than one cycle.
 *
 * Stack: the area below the stack pointer is painted before one inference and
 * scanned after it, a measurement to compare with tools/footprint's static
 * worst case.
 */
#include <stdio.h>
#include <stdlib.h>

#include "golden.h"
#include "golden_check.h"

#ifndef FW_TARGET_DESC /* set by mk/firmware.mk */
#define FW_TARGET_DESC "Cortex-M4F on QEMU mps2-an386"
#endif

extern void initialise_monitor_handles(void);

#define SYST_CSR (*(volatile unsigned int *)0xE000E010u)
#define SYST_RVR (*(volatile unsigned int *)0xE000E014u)
#define SYST_CVR (*(volatile unsigned int *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u
#define CALIBRATION_LOOPS 100000u /* 2 instructions each */
#define PAINT_BYTES 32768u
#define PAINT_WORD 0xC5ACCE55u

static golden_value_t output[GOLDEN_OUTPUT_SIZE];

/* Restarts SysTick from its full 24-bit count, clocked by the processor clock. */
static void ticks_start(void)
{
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u; /* any write clears; the next tick reloads RVR */
    SYST_CSR = 5u; /* CLKSOURCE = processor, ENABLE, no interrupt */
}

static unsigned int ticks_read(void) { return SYST_CVR; }

/* A loop of exactly 2 * n instructions (subs, bne), for calibration. */
static void __attribute__((noinline)) spin(unsigned int n)
{
    __asm__ volatile(".syntax unified\n1:\tsubs %0, %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
}

/* SysTick ticks between two readings: the counter counts down and the first
 * tick after ticks_start() moves it from 0 to 0x00FFFFFF, so the difference
 * modulo 2^24 is exact for intervals under 2^24 ticks (671 M instructions). */
static unsigned int elapsed(unsigned int t0, unsigned int t1) { return (t0 - t1) & 0x00FFFFFFu; }

static unsigned int __attribute__((noinline)) measure_infer(const golden_value_t *in, golden_value_t *out)
{
    unsigned int t0, t1;
    ticks_start();
    t0 = ticks_read();
    GOLDEN_INFER(in, out);
    t1 = ticks_read();
    return elapsed(t0, t1);
}

static unsigned int __attribute__((noinline)) measure_spin(unsigned int n)
{
    unsigned int t0, t1;
    ticks_start();
    t0 = ticks_read();
    spin(n);
    t1 = ticks_read();
    return elapsed(t0, t1);
}

static unsigned int __attribute__((noinline)) measure_nothing(void)
{
    unsigned int t0, t1;
    ticks_start();
    t0 = ticks_read();
    __asm__ volatile("" ::: "memory");
    t1 = ticks_read();
    return elapsed(t0, t1);
}

/* Paints PAINT_BYTES below the current stack pointer (minus a margin for
 * this function), runs one inference, returns the bytes it overwrote. */
static unsigned int __attribute__((noinline)) measure_stack(const golden_value_t *in, golden_value_t *out)
{
    unsigned int *sp, *lo, *p;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    lo = sp - 64u - PAINT_BYTES / 4u;
    for (p = lo; p < sp - 64u; p++)
        *p = PAINT_WORD;
    GOLDEN_INFER(in, out);
    for (p = lo; p < sp - 64u && *p == PAINT_WORD; p++)
        ;
    /* bytes from the deepest overwritten word to this function's frame,
     * measured from the stack pointer at the call */
    return (unsigned int)((char *)sp - (char *)p);
}

void lg_exit(int status); /* replaces the weak one in startup_arm.S */
void lg_exit(int status) { exit(status); }

int main(void)
{
    int k, passed = 0, failed = 0;
    unsigned int overhead, cal, min_ticks = 0xFFFFFFFFu, max_ticks = 0u, stack;
    unsigned long sum_ticks = 0u;

    initialise_monitor_handles();
    printf("lenetgen firmware test: %s, %s, %d golden inputs\n", GOLDEN_MODEL, FW_TARGET_DESC, GOLDEN_COUNT);

    overhead = measure_nothing();
    cal = measure_spin(CALIBRATION_LOOPS) - overhead;
    printf("calibration: %u-instruction loop = %u SysTick ticks (expected %u: %u instructions per tick)\n",
           2u * CALIBRATION_LOOPS, cal, 2u * CALIBRATION_LOOPS / INSTRUCTIONS_PER_TICK, INSTRUCTIONS_PER_TICK);
    if (cal * INSTRUCTIONS_PER_TICK < 2u * CALIBRATION_LOOPS - 2u * INSTRUCTIONS_PER_TICK ||
        cal * INSTRUCTIONS_PER_TICK > 2u * CALIBRATION_LOOPS + 2u * INSTRUCTIONS_PER_TICK) {
        printf("FAIL calibration: not run with -icount shift=0? instruction counts below are wrong\n");
        failed++;
    } else {
        passed++;
    }

    for (k = 0; k < GOLDEN_COUNT; k++) {
        float worst;
        unsigned int ticks = measure_infer(golden_input[k], output) - overhead;
        int bad = first_mismatch(output, golden_output[k], GOLDEN_OUTPUT_SIZE, &worst);
        if (ticks < min_ticks)
            min_ticks = ticks;
        if (ticks > max_ticks)
            max_ticks = ticks;
        sum_ticks += ticks;
        if (bad < 0) {
            passed++;
            printf("ok   %-22s class %d%s  max |diff| %.3g  %u instructions\n", golden_name[k],
                   argmax(output, GOLDEN_OUTPUT_SIZE),
                   golden_label[k] < 0 ? "" : (argmax(output, GOLDEN_OUTPUT_SIZE) == golden_label[k] ? " (= label)" : " (label differs)"),
                   (double)worst, ticks * INSTRUCTIONS_PER_TICK);
        } else {
            failed++;
            printf("FAIL %-22s output[%d] = %.9g, expected %.9g (tolerance " GOLDEN_TOLERANCE_TEXT ")\n",
                   golden_name[k], bad, (double)output[bad], (double)golden_output[k][bad]);
        }
    }
    stack = measure_stack(golden_input[0], output);

    printf("instructions per inference: %u (worst of %d inputs; min %u, mean %lu; "
           "QEMU -icount instruction count, not cycles, +-%u)\n",
           max_ticks * INSTRUCTIONS_PER_TICK, GOLDEN_COUNT, min_ticks * INSTRUCTIONS_PER_TICK,
           sum_ticks * INSTRUCTIONS_PER_TICK / (unsigned long)GOLDEN_COUNT, INSTRUCTIONS_PER_TICK);
    printf("stack used by one inference (painted): %u bytes\n", stack);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
