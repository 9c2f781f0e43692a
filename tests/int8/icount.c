/*
 * icount.c: instructions of one lenet5_infer_int8 call on QEMU (not part of
 * make test; a measurement for tests/int8/icount.sh). Same method as
 * tests/firmware/harness.c: -icount shift=0, SysTick at 40 instructions per
 * tick. Counts instructions, not cycles.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "lenet5.h"

extern void initialise_monitor_handles(void);
void lg_exit(int status); /* replaces the weak one in startup_arm.S */
void lg_exit(int status) { exit(status); }

#define SYST_CSR (*(volatile unsigned int *)0xE000E010u)
#define SYST_RVR (*(volatile unsigned int *)0xE000E014u)
#define SYST_CVR (*(volatile unsigned int *)0xE000E018u)

static int8_t input[LENET5_INPUT_SIZE], output[LENET5_OUTPUT_SIZE];

static unsigned int __attribute__((noinline)) ticks_of(int infer)
{
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 5u;
    const unsigned int t0 = SYST_CVR;
    if (infer) {
        lenet5_infer_int8(input, output);
    }
    const unsigned int t1 = SYST_CVR;
    return (t0 - t1) & 0x00FFFFFFu;
}

int main(void)
{
    initialise_monitor_handles();
    for (int i = 0; i < LENET5_INPUT_SIZE; ++i) {
        input[i] = (int8_t)((i * 37) % 256 - 128);
    }
    const unsigned int overhead = ticks_of(0);
    const unsigned int ticks = ticks_of(1);
    printf("instructions per inference: %u\n", (ticks - overhead) * 40u);
    return 0;
}
