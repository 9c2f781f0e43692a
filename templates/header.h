${banner}
#ifndef ${guard}
#define ${guard}

/*
 * Generation id: a hash of this header and the C files generated with it.
 * ${name}.c refuses to compile with a ${name}.h of another lenetgen run.
 */
#define ${NAME}_GENERATION ${generation}
${sources}
#ifdef __cplusplus
extern "C" {
#endif

/* Sizes, all known when the code was generated. */
${macros}${interface}

/*
 * Run the network on one input.
 *   input:  ${NAME}_INPUT_SIZE floats, channels x height x width (C-H-W), row-major.
 *   output: ${NAME}_OUTPUT_SIZE floats, the last layer's values.
 * input and output must not overlap. Uses one static arena of
 * ${NAME}_ACTIVATION_BYTES bytes, so it is not reentrant: call it from one
 * thread (or task) at a time, or use ${name}_infer_scratch.
 */
void ${name}_infer(const float *input, float *output);

/*
 * Reentrant form: scratch is caller-owned memory of ${NAME}_SCRATCH_FLOATS floats
 * (e.g. on the task's stack or in a per-thread buffer), not shared with any
 * call that runs at the same time, and overlapping neither input nor output.
 */
void ${name}_infer_scratch(const float *input, float *output, float *scratch);

#if defined(${NAME}_TRACE)
/*
 * Debug hook, compiled in only with -D${NAME}_TRACE: called after each step
 * with the index of the last description layer the step covers and the
 * step's output (count floats, C-H-W). You define it.
 */
void ${name}_trace(int layer_index, const float *values, int count);
#endif

#ifdef __cplusplus
}
#endif

#endif /* ${guard} */
