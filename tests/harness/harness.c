/*
 * CMocka harness: runs every generated model of one suite on the reference
 * interpreter's input cases and compares elementwise with the reference:
 *   |generated - reference| <= 1e-5 + max(1e-5 |reference|, 1e-6 mag)
 * and the same argmax (unless the reference's top two are within tolerance).
 * mag is the size of the terms that produced the value (tests/harness/magnitude.lua);
 * it exceeds 10 |reference| only where terms of both signs cancel, and there
 * float32 rounding is proportional to the terms, not to the result. Elsewhere
 * this is exactly the 1e-5 + 1e-5 |reference|. HARNESS_TOLERANCE=strict
 * in the environment drops the mag term.
 * _infer_scratch must give _infer's output bit for bit, except with
 * HARNESS_SCRATCH=tolerance (builds with -ffast-math, where the compiler may sum
 * in another order in each entry point): then it must be within the tolerance
 * of the reference too.
 * One CMocka test per (model, input case). A mismatch names the model and its
 * generator options, the build, the input, the output index, both values and
 * the first diverging step of the traced build (see harness.h).
 *
 * Reference data files are written by tests/harness/driver.lua (format in
 * its write_data); all numbers little-endian:
 *   "LGHARN2\n"; u32 layer_count, case_count, input_size, output_size;
 *   per layer: i32 index, u32 count, char type[16];
 *   per case: char name[32], u32 has_torch, f32 input[input_size],
 *             f64 every layer's output in layer order, f64 the same layers' magnitudes,
 *             f64 torch[output_size] if has_torch.
 * The reference output is the last layer's values.
 *
 * Usage: harness (run from the repository root; paths come from the registry)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ABS_TOL 1e-5
#define REL_TOL 1e-5
#define MAG_REL_TOL 1e-6   /* against the magnitude of the terms */
#define MAX_STEPS 1024
#define MESSAGE_SIZE 2048

struct layer_info {
    int index;          /* 0-based description layer index */
    int count;          /* values in its output */
    char type[17];
    size_t offset;      /* of its values within a case's trace */
};

struct case_data {
    char name[33];
    int has_torch;
    float *input;
    double *trace;      /* every layer's output, layer after layer */
    double *mag;        /* the magnitude of every value in trace, same layout */
    double *torch;      /* PyTorch float32 output, or NULL */
};

struct model_data {
    int layer_count, case_count, input_size, output_size;
    struct layer_info *layers;
    struct case_data *cases;
};

struct test_state {
    const struct harness_entry *entry;
    const struct model_data *data;   /* NULL when it could not be loaded */
    int case_index;
    char message[MESSAGE_SIZE];      /* why the test cannot run, if it cannot */
};

/* ------------------------------------------------------------------------ */
/* Reading reference data                                                   */
/* ------------------------------------------------------------------------ */

static int read_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 0;
    *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return 1;
}

static int read_floats(FILE *f, float *out, size_t n)
{
    return fread(out, sizeof(float), n, f) == n;   /* host is little-endian IEEE 754 */
}

static int read_doubles(FILE *f, double *out, size_t n)
{
    return fread(out, sizeof(double), n, f) == n;
}

/* Loads a data file; on failure returns NULL and explains in message. */
static struct model_data *load_data(const char *path, char *message)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint32_t header[4];
    struct model_data *d;
    size_t trace_values = 0;
    int i;

    if (!f) {
        snprintf(message, MESSAGE_SIZE, "cannot open reference data %s", path);
        return NULL;
    }
    d = calloc(1, sizeof *d);
    if (!d || fread(magic, 1, 8, f) != 8 || memcmp(magic, "LGHARN2\n", 8) != 0) goto bad;
    for (i = 0; i < 4; i++) {
        if (!read_u32(f, &header[i]) || header[i] > 100000000u) goto bad;
    }
    d->layer_count = (int)header[0];
    d->case_count = (int)header[1];
    d->input_size = (int)header[2];
    d->output_size = (int)header[3];
    d->layers = calloc((size_t)d->layer_count + 1, sizeof *d->layers);
    d->cases = calloc((size_t)d->case_count + 1, sizeof *d->cases);
    if (!d->layers || !d->cases || d->layer_count < 1) goto bad;
    for (i = 0; i < d->layer_count; i++) {
        uint32_t index, count;
        struct layer_info *l = &d->layers[i];
        if (!read_u32(f, &index) || !read_u32(f, &count) || fread(l->type, 1, 16, f) != 16) goto bad;
        l->index = (int)index;
        l->count = (int)count;
        l->offset = trace_values;
        trace_values += count;
    }
    if (d->layers[d->layer_count - 1].count != d->output_size) goto bad;
    for (i = 0; i < d->case_count; i++) {
        struct case_data *c = &d->cases[i];
        uint32_t has_torch;
        if (fread(c->name, 1, 32, f) != 32 || !read_u32(f, &has_torch)) goto bad;
        c->has_torch = has_torch != 0;
        c->input = malloc((size_t)d->input_size * sizeof(float));
        c->trace = malloc(trace_values * sizeof(double));
        c->mag = malloc(trace_values * sizeof(double));
        if (!c->input || !c->trace || !c->mag) goto bad;
        if (!read_floats(f, c->input, (size_t)d->input_size)) goto bad;
        if (!read_doubles(f, c->trace, trace_values)) goto bad;
        if (!read_doubles(f, c->mag, trace_values)) goto bad;
        if (c->has_torch) {
            c->torch = malloc((size_t)d->output_size * sizeof(double));
            if (!c->torch || !read_doubles(f, c->torch, (size_t)d->output_size)) goto bad;
        }
    }
    fclose(f);
    return d;
bad:
    fclose(f);
    snprintf(message, MESSAGE_SIZE, "reference data %s is truncated or malformed (rebuild it)", path);
    return NULL;   /* the partial allocation is left to process exit */
}

/* ------------------------------------------------------------------------ */
/* Trace recording                                                          */
/* ------------------------------------------------------------------------ */

struct step {
    int layer_index;
    int count;
    float *values;
};

static struct step steps[MAX_STEPS];
static int step_count;
static int steps_dropped;

static void trace_reset(void)
{
    int i;
    for (i = 0; i < step_count; i++) free(steps[i].values);
    step_count = 0;
    steps_dropped = 0;
}

void harness_trace(int layer_index, const float *values, int count)
{
    struct step *s;
    if (step_count >= MAX_STEPS || count < 0 || count > 100000000) {
        steps_dropped++;
        return;
    }
    s = &steps[step_count++];
    s->layer_index = layer_index;
    s->count = count;
    s->values = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    assert_non_null(s->values);
    memcpy(s->values, values, (size_t)count * sizeof(float));
}

/* ------------------------------------------------------------------------ */
/* Comparison                                                               */
/* ------------------------------------------------------------------------ */

static int strict_tolerance;   /* HARNESS_TOLERANCE=strict: no magnitude term */
static int scratch_tolerance;  /* HARNESS_SCRATCH=tolerance: _infer_scratch need not equal _infer */

/* 1e-5 + max(1e-5 |reference|, 1e-6 mag); mag 0 gives the plain 1e-5 + 1e-5 |reference|. */
static double tolerance(double reference, double mag)
{
    double relative = REL_TOL * fabs(reference);
    double of_terms = strict_tolerance ? 0.0 : MAG_REL_TOL * mag;
    return ABS_TOL + (of_terms > relative ? of_terms : relative);
}

/* NaN-safe: a NaN never counts as close. */
static int is_close(float generated, double reference, double mag)
{
    return fabs((double)generated - reference) <= tolerance(reference, mag);
}

/* Statistics printed at the end: the largest |generated - reference| /
 * tolerance among the comparisons that passed (the margin the tolerance
 * leaves) and where; how many values passed only through the magnitude term. */
static double worst_ratio;
static char worst_where[512];
static char current_test[256];
static long mag_only_count;

/*
 * Index of the first value outside tolerance, or -1; *bad_count counts them all.
 * mag may be NULL (no magnitude term). what names the values compared ("the
 * output", "layer 3 (sigmoid)") so the closing statistics say which layer an
 * index belongs to.
 */
static int first_mismatch(const float *generated, const double *reference, const double *mag, int n,
                          const char *what, int *bad_count)
{
    int i, first = -1;
    *bad_count = 0;
    for (i = 0; i < n; i++) {
        double m = mag ? mag[i] : 0.0;
        double difference = fabs((double)generated[i] - reference[i]);
        if (!is_close(generated[i], reference[i], m)) {
            if (first < 0) first = i;
            (*bad_count)++;
        } else {
            double ratio = difference / tolerance(reference[i], m);
            if (difference > tolerance(reference[i], 0.0)) mag_only_count++;
            if (ratio > worst_ratio) {
                worst_ratio = ratio;
                snprintf(worst_where, sizeof worst_where, "%s, %s, value %d of %d: generated %.9g, expected %.9g",
                         current_test, what, i, n, (double)generated[i], reference[i]);
            }
        }
    }
    return first;
}

static int argmax_float(const float *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

static int argmax_double(const double *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

static const struct layer_info *find_layer(const struct model_data *d, int layer_index)
{
    int i;
    for (i = 0; i < d->layer_count; i++) {
        if (d->layers[i].index == layer_index) return &d->layers[i];
    }
    return NULL;
}

/* Append to a message buffer. */
static void append(char *message, const char *format, ...)
{
    size_t used = strlen(message);
    va_list ap;
    if (used + 1 >= MESSAGE_SIZE) return;
    va_start(ap, format);
    vsnprintf(message + used, MESSAGE_SIZE - used, format, ap);
    va_end(ap);
}

/* Description of a step: "layers 3-5 (conv2d..avgpool2d)". */
static void describe_step(const struct model_data *d, int first_layer, int last_layer, char *out, size_t size)
{
    const struct layer_info *first = find_layer(d, first_layer);
    const struct layer_info *last = find_layer(d, last_layer);
    if (first_layer == last_layer || !first) {
        snprintf(out, size, "layer %d (%s)", last_layer, last ? last->type : "?");
    } else {
        snprintf(out, size, "layers %d-%d (%s..%s)", first_layer, last_layer, first->type,
                 last ? last->type : "?");
    }
}

/*
 * Checks the recorded trace against the reference's per-layer outputs.
 * Returns 1 when every step agrees; else 0 with the first diverging step (or
 * the malformed step) appended to message.
 */
static int check_trace(const struct model_data *d, const struct case_data *c, char *message)
{
    int i, previous = -1;
    char where[128];
    if (steps_dropped) {
        append(message, "\n  trace: %d malformed or excess calls", steps_dropped);
        return 0;
    }
    if (step_count == 0) {
        append(message, "\n  trace: the traced build called its trace hook 0 times");
        return 0;
    }
    for (i = 0; i < step_count; i++) {
        const struct step *s = &steps[i];
        const struct layer_info *l = find_layer(d, s->layer_index);
        int bad_count, bad;
        describe_step(d, previous + 1, s->layer_index, where, sizeof where);
        if (!l || s->layer_index <= previous) {
            append(message, "\n  trace: step %d reports layer %d, which is %s", i + 1, s->layer_index,
                   l ? "not after the previous step" : "not a layer of this model");
            return 0;
        }
        if (s->count != l->count) {
            append(message, "\n  trace: step %d, %s, gave %d values; the reference has %d", i + 1, where,
                   s->count, l->count);
            return 0;
        }
        bad = first_mismatch(s->values, c->trace + l->offset, c->mag + l->offset, s->count, where,
                             &bad_count);
        if (bad >= 0) {
            double ref = c->trace[l->offset + (size_t)bad];
            append(message, "\n  first diverging step: %s, value %d of %d: generated %.9g, reference %.9g"
                   " (%d value%s outside tolerance)", where, bad, s->count, (double)s->values[bad], ref,
                   bad_count, bad_count == 1 ? "" : "s");
            return 0;
        }
        previous = s->layer_index;
    }
    return 1;
}

/* Buffers sized exactly as the API promises, so ASan sees any overrun. */
struct run_buffers {
    float *input;
    float *output;
    float *output_scratch;
    float *scratch;
};

static void run_buffers_alloc(struct run_buffers *b, const struct harness_model *m, const float *input)
{
    int i;
    b->input = malloc((size_t)m->input_size * sizeof(float));
    b->output = malloc((size_t)m->output_size * sizeof(float));
    b->output_scratch = malloc((size_t)m->output_size * sizeof(float));
    b->scratch = malloc((size_t)(m->scratch_floats > 0 ? m->scratch_floats : 1) * sizeof(float));
    assert_true(b->input && b->output && b->output_scratch && b->scratch);
    memcpy(b->input, input, (size_t)m->input_size * sizeof(float));
    /* NaN everywhere: an output never written, or scratch read before written, shows */
    for (i = 0; i < m->output_size; i++) b->output[i] = b->output_scratch[i] = (float)NAN;
    for (i = 0; i < m->scratch_floats; i++) b->scratch[i] = (float)NAN;
}

static void run_buffers_free(struct run_buffers *b)
{
    free(b->input);
    free(b->output);
    free(b->output_scratch);
    free(b->scratch);
}

/*
 * Runs one build (infer and infer_scratch) on one case and checks it.
 * Returns the number of failed checks; explains each in message.
 */
static int check_build(const struct test_state *t, const char *build, harness_infer_fn infer,
                       harness_infer_scratch_fn infer_scratch, int traced, char *message)
{
    const struct harness_model *m = t->entry->model;
    const struct model_data *d = t->data;
    const struct case_data *c = &d->cases[t->case_index];
    const double *reference = c->trace + d->layers[d->layer_count - 1].offset;
    const double *mag = c->mag + d->layers[d->layer_count - 1].offset;
    struct run_buffers b;
    int failures = 0, bad, bad_count, i, trace_ok = 1;
    char trace_message[MESSAGE_SIZE] = "";

    run_buffers_alloc(&b, m, c->input);
    trace_reset();
    infer(b.input, b.output);
    if (traced) trace_ok = check_trace(d, c, trace_message);
    trace_reset();
    infer_scratch(b.input, b.output_scratch, b.scratch);
    trace_reset();

    if (memcmp(b.input, c->input, (size_t)m->input_size * sizeof(float)) != 0) {
        append(message, "\n%s build modified its input", build);
        failures++;
    }
    bad = first_mismatch(b.output, reference, mag, m->output_size, "the output", &bad_count);
    if (bad >= 0) {
        append(message, "\n%s build: output %d: generated %.9g, reference %.9g (|difference| %.3g > %.3g);"
               " %d of %d outputs outside tolerance", build, bad, (double)b.output[bad], reference[bad],
               fabs((double)b.output[bad] - reference[bad]), tolerance(reference[bad], mag[bad]), bad_count,
               m->output_size);
        failures++;
        if (traced && trace_ok) {
            append(message, "\n  every traced step agrees with the reference; only the output differs");
        }
    } else {
        int generated_best = argmax_float(b.output, m->output_size);
        int reference_best = argmax_double(reference, m->output_size);
        if (generated_best != reference_best
            && reference[reference_best] - reference[generated_best]
               > tolerance(reference[reference_best], mag[reference_best])) {
            append(message, "\n%s build: argmax %d, reference argmax %d", build, generated_best, reference_best);
            failures++;
        }
    }
    if (!trace_ok) {
        if (bad < 0) append(message, "\n%s build: output agrees but its trace does not:", build);
        append(message, "%s", trace_message);
        if (bad < 0) failures++;
    }
    if (scratch_tolerance) {
        bad = first_mismatch(b.output_scratch, reference, mag, m->output_size, "the _infer_scratch output",
                             &bad_count);
        if (bad >= 0) {
            append(message, "\n%s build: _infer_scratch output %d: generated %.9g, reference %.9g"
                   " (|difference| %.3g > %.3g)", build, bad, (double)b.output_scratch[bad], reference[bad],
                   fabs((double)b.output_scratch[bad] - reference[bad]), tolerance(reference[bad], mag[bad]));
            failures++;
        }
    }
    for (i = 0; i < m->output_size && !scratch_tolerance; i++) {
        if (memcmp(&b.output[i], &b.output_scratch[i], sizeof(float)) != 0) {
            append(message, "\n%s build: _infer_scratch output %d is %.9g, _infer gave %.9g", build, i,
                   (double)b.output_scratch[i], (double)b.output[i]);
            failures++;
            break;
        }
    }
    if (c->has_torch) {
        double *torch = c->torch;
        bad = first_mismatch(b.output, torch, mag, m->output_size, "the output against PyTorch", &bad_count);
        if (bad >= 0) {
            append(message, "\n%s build: output %d: generated %.9g, PyTorch %.9g (|difference| %.3g > %.3g)",
                   build, bad, (double)b.output[bad], torch[bad], fabs((double)b.output[bad] - torch[bad]),
                   tolerance(torch[bad], mag[bad]));
            failures++;
        }
    }
    run_buffers_free(&b);
    return failures;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

/* Ensures one model's generated code matches the reference on one input case. */
static void test_model_case(void **state)
{
    const struct test_state *t = *state;
    const struct harness_model *m = t->entry->model;
    const struct model_data *d = t->data;
    const struct case_data *c = &d->cases[t->case_index];
    char message[MESSAGE_SIZE];
    int failures = 0;

    snprintf(current_test, sizeof current_test, "%s (%s), input %s", m->name, m->options, c->name);
    snprintf(message, sizeof message, "%s:", current_test);
    if (m->input_size != d->input_size || m->output_size != d->output_size) {
        fail_msg("%s header sizes INPUT_SIZE %d, OUTPUT_SIZE %d; the reference has %d and %d", message,
                 m->input_size, m->output_size, d->input_size, d->output_size);
    }
    if (m->san_infer) {
        failures += check_build(t, "traced sanitized", m->san_infer, m->san_infer_scratch, 1, message);
    }
    if (m->opt_infer) {
        int opt_failures = check_build(t, "optimised", m->opt_infer, m->opt_infer_scratch, 0, message);
        if (opt_failures && m->san_infer && failures == 0) {
            append(message, "\n  (the traced sanitized build agrees with the reference at every step)");
        } else if (opt_failures && !m->san_infer) {
            append(message, "\n  (no traced build of this model, see its build.log; compare with"
                   " tools/lenetgen-ref --trace)");
        }
        failures += opt_failures;
    }
    if (failures) {
        print_error("%s\n", message);
        fail_msg("%s, input %s: %d check%s failed", m->name, c->name, failures, failures == 1 ? "" : "s");
    }
}

/* Reports a model whose generation, compilation or reference data failed. */
static void test_model_unavailable(void **state)
{
    const struct test_state *t = *state;
    FILE *f;
    char line[512];
    int lines = 0;
    print_error("%s\n", t->message);
    if (t->entry->model == NULL && (f = fopen(t->entry->error_path, "r")) != NULL) {
        while (lines < 40 && fgets(line, sizeof line, f)) {
            print_error("  %s", line);
            lines++;
        }
        fclose(f);
    }
    fail_msg("%s could not be checked", t->entry->name);
}

int main(void)
{
    struct CMUnitTest *tests;
    size_t test_count = 0, capacity = 16;
    int i, j, failed;

    strict_tolerance = getenv("HARNESS_TOLERANCE") && strcmp(getenv("HARNESS_TOLERANCE"), "strict") == 0;
    scratch_tolerance = getenv("HARNESS_SCRATCH") && strcmp(getenv("HARNESS_SCRATCH"), "tolerance") == 0;
    tests = malloc(capacity * sizeof *tests);
    assert_non_null(tests);
    for (i = 0; i < harness_registry_count; i++) {
        const struct harness_entry *e = &harness_registry[i];
        struct model_data *d = NULL;
        char message[MESSAGE_SIZE] = "";
        int cases;
        if (e->model == NULL) {
            snprintf(message, sizeof message, "%s: generation or compilation failed (log %s):",
                     e->name, e->error_path);
        } else {
            d = load_data(e->data_path, message);
        }
        cases = d ? d->case_count : 1;
        for (j = 0; j < cases; j++) {
            struct test_state *t = calloc(1, sizeof *t);
            char *name = malloc(strlen(harness_suite_name) + strlen(e->name) + 48);
            assert_true(t && name);
            t->entry = e;
            t->data = d;
            t->case_index = j;
            memcpy(t->message, message, sizeof message);
            sprintf(name, "%s/%s/%s", harness_suite_name, e->name, d ? d->cases[j].name : "build");
            if (test_count == capacity) {
                capacity *= 2;
                tests = realloc(tests, capacity * sizeof *tests);
                assert_non_null(tests);
            }
            tests[test_count].name = name;
            tests[test_count].test_func = d ? test_model_case : test_model_unavailable;
            tests[test_count].setup_func = NULL;
            tests[test_count].teardown_func = NULL;
            tests[test_count].initial_state = t;
            test_count++;
        }
    }
    failed = _cmocka_run_group_tests(harness_suite_name, tests, test_count, NULL, NULL);
    if (worst_ratio > 0.0) {
        printf("%s: closest call %.2g of the tolerance (%s)\n", harness_suite_name, worst_ratio, worst_where);
    }
    if (mag_only_count > 0) {
        printf("%s: %ld values were within tolerance only relative to the magnitude of their terms"
               " (cancellation)\n", harness_suite_name, mag_only_count);
    }
    return failed;
}
