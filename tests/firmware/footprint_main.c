/*
 * footprint_main.c: the smallest program that runs one inference, linked for
 * each target so that tools/footprint sees exactly what the inference pulls
 * in (library math, soft-float routines) and its call graph. Never run.
 * mk/firmware.mk names the network: -DFP_HEADER='"lenet5.h"'
 * -DFP_INFER=lenet5_infer -DFP_INPUT_SIZE=LENET5_INPUT_SIZE
 * -DFP_OUTPUT_SIZE=LENET5_OUTPUT_SIZE; an int8 network (--quantize=int8) also
 * -DFP_INT8=lenet5_infer_int8, which is called instead: then nothing here uses floating
 * point, so every soft-float routine in the image comes from the network
 * (tests/firmware/check_nofloat.sh looks for them).
 */
#include FP_HEADER

#ifdef FP_INT8
typedef int8_t fp_value_t;
#define FP_ZERO 0
#undef FP_INFER
#define FP_INFER FP_INT8
#else
typedef float fp_value_t;
#define FP_ZERO 0.0f
#endif

static fp_value_t input[FP_INPUT_SIZE];
static fp_value_t output[FP_OUTPUT_SIZE];

int main(void);
int main(void)
{
    FP_INFER(input, output);
    return output[0] > FP_ZERO;
}
