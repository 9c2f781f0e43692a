/*
 * int8 harness: runs one generated --quantize=int8 network on the cases of a
 * data file written by tests/int8/int8lib.lua and requires bit-exact
 * equality with the integer reference (gen/lg/reference_int8.lua):
 *   _infer_int8 and _infer_int8_scratch: output codes equal, tolerance 0;
 *   _infer (float wrapper), on inputs that are the codes' real values:
 *     output equal to OUTPUT_SCALE * (code - OUTPUT_ZERO_POINT) in float.
 * With -D<NAME>_TRACE, every step's output codes too (the trace hook), so a
 * failure names the first diverging layer.
 * Compile with -DHARNESS_HEADER='"name.h"' -DHARNESS_NAME=name -DHARNESS_UPPER=NAME.
 * Data file: "LGINT8\n\0", u32 cases, u32 input size, u32 output size, u32
 * layers, u32 codes of each layer's output; then per case the input codes
 * and each layer's output codes (int8; the last layer's are the output).
 * Prints one line per failing case and "cases N failed M"; exit 1 on a failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include HARNESS_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(HARNESS_NAME, suffix)
#define MACRO(suffix) CAT(HARNESS_UPPER, suffix)

static int8_t input[MACRO(_INPUT_SIZE)], expected[MACRO(_OUTPUT_SIZE)], got[MACRO(_OUTPUT_SIZE)];
static int8_t scratch[MACRO(_SCRATCH_BYTES)];
static float input_real[MACRO(_INPUT_SIZE)], output_real[MACRO(_OUTPUT_SIZE)];

#define MAX_LAYERS 64
#define MAX_TRACE (1 << 22)
static uint32_t layer_count, layer_size[MAX_LAYERS], layer_offset[MAX_LAYERS];
static int8_t trace[MAX_TRACE];  /* this case's reference codes of every layer */
static int trace_failures;

/* Code i of a traced buffer: between steps codes are stored as uint8 code + offset (128). */
static int stored_code(const int8_t *values, int i, int offset)
{
    return (offset != 0) ? (int)((const uint8_t *)values)[i] - offset : (int)values[i];
}

/* The trace hook of the generated code: each step's output against the reference's layer. */
void FN(_trace_int8)(int layer_index, const int8_t *values, int count, int offset);
void FN(_trace_int8)(int layer_index, const int8_t *values, int count, int offset)
{
    if (layer_index < 0 || (uint32_t)layer_index >= layer_count || (uint32_t)count != layer_size[layer_index]) {
        printf("trace: layer %d with %d codes does not match the data file\n", layer_index, count);
        ++trace_failures;
        return;
    }
    int at = -1;
    for (int i = 0; i < count && at < 0; ++i) {
        if (stored_code(values, i, offset) != trace[layer_offset[layer_index] + (uint32_t)i]) {
            at = i;
        }
    }
    if (at >= 0 && trace_failures++ == 0) {
        printf("first diverging layer %d: code [%d] = %d, reference %d\n", layer_index, at, stored_code(values, at, offset),
               trace[layer_offset[layer_index] + (uint32_t)at]);
    }
}

static uint32_t read_u32(FILE *f)
{
    unsigned char b[4] = { 0, 0, 0, 0 };
    if (fread(b, 1, 4, f) != 4) {
        return 0xffffffffu;
    }
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static int first_difference(const int8_t *a, const int8_t *b, int n)
{
    for (int i = 0; i < n; ++i) {
        if (a[i] != b[i]) {
            return i;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    char magic[8];
    if (f == NULL || fread(magic, 1, 8, f) != 8 || memcmp(magic, "LGINT8\n", 8) != 0) {
        fprintf(stderr, "%s: not an int8 harness data file\n", argv[1]);
        return 2;
    }
    const uint32_t cases = read_u32(f), in_size = read_u32(f), out_size = read_u32(f);
    if (in_size != MACRO(_INPUT_SIZE) || out_size != MACRO(_OUTPUT_SIZE)) {
        fprintf(stderr, "%s: sizes %u/%u differ from the header's\n", argv[1], (unsigned)in_size, (unsigned)out_size);
        return 2;
    }
    layer_count = read_u32(f);
    uint32_t total = 0;
    for (uint32_t k = 0; k < layer_count && k < MAX_LAYERS; ++k) {
        layer_size[k] = read_u32(f);
        layer_offset[k] = total;
        total += layer_size[k];
    }
    if (layer_count > MAX_LAYERS || total > MAX_TRACE || layer_size[layer_count - 1] != out_size) {
        fprintf(stderr, "%s: bad layer table\n", argv[1]);
        return 2;
    }
    int failed = 0;
    for (uint32_t c = 0; c < cases; ++c) {
        if (fread(input, 1, in_size, f) != in_size || fread(trace, 1, total, f) != total) {
            fprintf(stderr, "%s: truncated at case %u\n", argv[1], (unsigned)c);
            return 2;
        }
        memcpy(expected, &trace[layer_offset[layer_count - 1]], out_size);
        trace_failures = 0;
        int bad = 0;
        FN(_infer_int8)(input, got);
        int at = first_difference(got, expected, (int)out_size);
        if (at >= 0) {
            printf("case %u: _infer_int8 output[%d] = %d, reference %d\n", (unsigned)c, at, got[at], expected[at]);
            bad = 1;
        }
        memset(got, 0x55, sizeof got);
        FN(_infer_int8_scratch)(input, got, scratch);
        at = first_difference(got, expected, (int)out_size);
        if (at >= 0) {
            printf("case %u: _infer_int8_scratch output[%d] = %d, reference %d\n", (unsigned)c, at, got[at], expected[at]);
            bad = 1;
        }
        for (uint32_t i = 0; i < in_size; ++i) {
            input_real[i] = MACRO(_INPUT_SCALE) * (float)(input[i] - MACRO(_INPUT_ZERO_POINT));
        }
        FN(_infer)(input_real, output_real);
        for (uint32_t i = 0; i < out_size; ++i) {
            const float want = MACRO(_OUTPUT_SCALE) * (float)(expected[i] - MACRO(_OUTPUT_ZERO_POINT));
            if (output_real[i] != want) {
                printf("case %u: _infer output[%u] = %.9g, reference %.9g\n", (unsigned)c, (unsigned)i,
                       (double)output_real[i], (double)want);
                bad = 1;
                break;
            }
        }
        if (trace_failures > 0) {
            printf("case %u: %d traced steps differ from the reference\n", (unsigned)c, trace_failures);
            bad = 1;
        }
        failed += bad;
    }
    fclose(f);
    printf("cases %u failed %d\n", (unsigned)cases, failed);
    return failed ? 1 : 0;
}
