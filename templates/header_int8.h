${banner}
#ifndef ${guard}
#define ${guard}

#include <stdint.h>

/*
 * Generation id: a hash of this header and the C files generated with it.
 * ${name}.c refuses to compile with a ${name}.h of another lenetgen run.
 */
#define ${NAME}_GENERATION ${generation}

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes, all known when the code was generated (int8 network: one byte per value). */
${macros}

/*
 * Quantization of the input and the output (TensorFlow Lite's int8 scheme):
 * real = scale * (code - zero_point).
 */
${quant_macros}${interface}

/*
 * Run the int8 network on input codes; uses no floating point.
 *   input:  ${NAME}_INPUT_SIZE codes, channels x height x width (C-H-W), row-major.
 *   output: ${NAME}_OUTPUT_SIZE codes of the last layer.
 * input and output must not overlap. Uses one static arena of
 * ${NAME}_ACTIVATION_BYTES bytes: not reentrant (use ${name}_infer_int8_scratch).
 */
void ${name}_infer_int8(const int8_t *input, int8_t *output);

/*
 * Reentrant form: scratch is caller-owned memory of ${NAME}_SCRATCH_BYTES bytes,
 * not shared with a call that runs at the same time, overlapping neither input nor output.
 */
void ${name}_infer_int8_scratch(const int8_t *input, int8_t *output, int8_t *scratch);

/*
 * Float convenience form: quantizes input (round to nearest, clamp), runs
 * ${name}_infer_int8 and dequantizes the output. Not reentrant (static buffers).
 */
void ${name}_infer(const float *input, float *output);

#if defined(${NAME}_TRACE)
/*
 * Debug hook, compiled in only with -D${NAME}_TRACE: called after each step
 * with the index of the last description layer the step covers and the
 * step's output (count values, C-H-W), each stored as code + offset: offset
 * 0 for the caller's output buffer (int8 codes); 128 between steps, where
 * the arena holds code + 128 as uint8 (read values as uint8_t then). You
 * define it.
 */
void ${name}_trace_int8(int layer_index, const int8_t *values, int count, int offset);
#endif

#ifdef __cplusplus
}
#endif

#endif /* ${guard} */
