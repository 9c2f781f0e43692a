/*
 * Entry points. Steps run in description order; each reads the previous
 * step's output and writes the next tensor (see the arena map in the
 * manifest above). No floating point is used by the _int8 functions.
 */
void ${name}_infer_int8_scratch(const int8_t *input, int8_t *output, int8_t *scratch)
{
${calls}
}

static int8_t ${name}_arena[${NAME}_SCRATCH_BYTES];

void ${name}_infer_int8(const int8_t *input, int8_t *output)
{
    ${name}_infer_int8_scratch(input, output, ${name}_arena);
}

/*
 * Float convenience wrapper: each input value to its code (x / scale + zero
 * point, rounded to nearest, clamped to [-128, 127]; NaN gives the zero
 * point), the int8 network, each output code back to a real value.
 */
static int8_t ${name}_input_codes[${NAME}_INPUT_SIZE];
static int8_t ${name}_output_codes[${NAME}_OUTPUT_SIZE];

void ${name}_infer(const float *input, float *output)
{
    for (int i = 0; i < ${NAME}_INPUT_SIZE; ++i) {
        float v = input[i] / ${NAME}_INPUT_SCALE + (float)${NAME}_INPUT_ZERO_POINT;
        v = (v > 127.0f) ? 127.0f : v;
        v = (v < -128.0f) ? -128.0f : v;
        v = (v != v) ? (float)${NAME}_INPUT_ZERO_POINT : v;
        ${name}_input_codes[i] = (int8_t)((v >= 0.0f) ? (v + 0.5f) : (v - 0.5f));
    }
    ${name}_infer_int8(${name}_input_codes, ${name}_output_codes);
    for (int i = 0; i < ${NAME}_OUTPUT_SIZE; ++i) {
        output[i] = ${NAME}_OUTPUT_SCALE * (float)(${name}_output_codes[i] - ${NAME}_OUTPUT_ZERO_POINT);
    }
}
