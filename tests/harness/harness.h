/*
 * CMocka harness: compares generated networks with the reference interpreter.
 *
 * Each generated model is linked into a harness binary in up to two builds:
 *   opt  the generated .c as a user builds it (-O2, strict warnings), symbols
 *        <name>_infer and <name>_infer_scratch;
 *   san  the same .c with -D<NAME>_TRACE under AddressSanitizer and
 *        UndefinedBehaviorSanitizer, its entry points renamed <name>_san_infer
 *        and <name>_san_infer_scratch; its trace names the first diverging layer.
 * A per-model shim (written by tests/harness/driver.lua) fills one
 * struct harness_model; the per-level registry lists them all.
 */
#ifndef LENETGEN_HARNESS_H
#define LENETGEN_HARNESS_H

typedef void (*harness_infer_fn)(const float *input, float *output);
typedef void (*harness_infer_scratch_fn)(const float *input, float *output, float *scratch);

struct harness_model {
    const char *name;             /* the description's name */
    const char *options;          /* generator options, e.g. "--unroll=full --plan=fused" */
    int input_size;               /* NAME_INPUT_SIZE */
    int output_size;              /* NAME_OUTPUT_SIZE */
    int scratch_floats;           /* NAME_SCRATCH_FLOATS */
    harness_infer_fn opt_infer;   /* opt build, or NULL when this suite has none */
    harness_infer_scratch_fn opt_infer_scratch;
    harness_infer_fn san_infer;   /* san (traced) build, or NULL */
    harness_infer_scratch_fn san_infer_scratch;
};

/* One registry entry: model is NULL when its generation or build failed. */
struct harness_entry {
    const char *name;
    const struct harness_model *model;
    const char *data_path;        /* reference data written by driver.lua data */
    const char *error_path;       /* build log to show when model is NULL */
};

extern const struct harness_entry harness_registry[];
extern const int harness_registry_count;
extern const char harness_suite_name[];

/* Called by every model's <name>_trace hook (in its shim). */
void harness_trace(int layer_index, const float *values, int count);

#endif /* LENETGEN_HARNESS_H */
