/*
 * Entry points. Steps run in description order; each reads the previous
 * step's output and writes the next tensor (see the arena map in the
 * manifest above).
 */
void ${name}_infer_scratch(const float *input, float *output, float *scratch)
{
${calls}
}

static float ${name}_arena[${NAME}_SCRATCH_FLOATS];

void ${name}_infer(const float *input, float *output)
{
    ${name}_infer_scratch(input, output, ${name}_arena);
}
