/*
 * footprint_main.c: the smallest program that runs one inference, linked for
 * each target so that tools/footprint sees exactly what the inference pulls
 * in (library math, soft-float routines) and its call graph. Never run.
 * mk/firmware.mk names the network: -DFP_HEADER='"lenet5.h"'
 * -DFP_INFER=lenet5_infer -DFP_INPUT_SIZE=LENET5_INPUT_SIZE
 * -DFP_OUTPUT_SIZE=LENET5_OUTPUT_SIZE.
 */
#include FP_HEADER

static float input[FP_INPUT_SIZE];
static float output[FP_OUTPUT_SIZE];

int main(void);
int main(void)
{
    FP_INFER(input, output);
    return output[0] > 0.0f;
}
