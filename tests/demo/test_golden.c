/* Compares the generated LeNet-5 (out/lenet5.c) with PyTorch's golden vectors.
 *
 *   test_golden IMAGES LABELS LOGITS PREDICTIONS SUMMARY
 *
 * IMAGES, LABELS: the shipped sample (models/samples/t10k-first1000-*-ubyte).
 * LOGITS, PREDICTIONS, SUMMARY: tests/golden/lenet5-{logits-first300,predictions-first1000,
 * summary}.txt written by tools/train_lenet5.py (formats described there).
 *
 * Checks: every logit of the golden images within TOLERANCE of PyTorch's; the same argmax as
 * PyTorch on every golden image and on every sample; the same number of correct predictions
 * on the samples as PyTorch. Prints one line per check and "N passed, N failed"; exits 1 on
 * any failure.
 *
 * TOLERANCE = 1e-4 (absolute, on logits). The C code and PyTorch compute the same float32
 * operations in a different order (summation order of up to 400-term dot products, fused or
 * separate multiply-adds, a different expf), which moves a logit by a few float32 ulps: the
 * logits here are below 16 in magnitude, where one ulp is at most 1.9e-6, so agreement is
 * expected near 1e-6 and 1e-4 leaves a 50x margin over that. A real defect (a wrong tap,
 * an off-by-one in padding or pooling, a transposed weight) moves logits by 1e-2 or more.
 * And 1e-4 is far below the smallest top-1/top-2 logit gap PyTorch shows on the samples
 * (min_margin in the summary, about 1e-2), so within tolerance the argmax cannot flip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"
#include "lenet5.h"

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define NCLASSES 10
#define MAX_GOLDEN 1000
#define TOLERANCE 1e-4f

typedef char lenet5_input_is_1x28x28[(LENET5_INPUT_SIZE == PIXELS) ? 1 : -1];
typedef char lenet5_output_is_10_classes[(LENET5_OUTPUT_SIZE == NCLASSES) ? 1 : -1];

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

/* Reads the next non-comment line of f into line; returns 0 at end of file. */
static int next_line(FILE *f, char *line, int size)
{
    while (fgets(line, size, f) != NULL)
        if (line[0] != '#' && line[0] != '\n')
            return 1;
    return 0;
}

static FILE *open_or_die(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "test_golden: %s: cannot open\n", path);
        exit(1);
    }
    return f;
}

static void die(const char *path, long lineno, const char *what)
{
    fprintf(stderr, "test_golden: %s: record %ld: %s\n", path, lineno, what);
    exit(1);
}

static void infer(const unsigned char *pixels, float *output)
{
    float input[PIXELS];
    pixels_to_input(pixels, input, PIXELS);
    lenet5_infer(input, output);
}

int main(int argc, char **argv)
{
    static float golden[MAX_GOLDEN][NCLASSES];
    static int golden_argmax[MAX_GOLDEN];
    char err[256], line[1024], msg[256];
    unsigned char *pixels, *labels;
    size_t count, nlabels, i;
    long ngolden = 0, npred = 0, torch_correct = -1, c_correct = 0, label_mismatch = 0;
    long golden_disagree = 0, sample_disagree = 0, worst_image = -1, summary_samples = -1;
    int worst_logit = -1, j;
    float worst = 0.0f, output[NCLASSES];
    FILE *f;

    if (argc != 6) {
        fprintf(stderr, "usage: test_golden IMAGES LABELS LOGITS PREDICTIONS SUMMARY\n");
        return 2;
    }
    if (idx_read_images(argv[1], SIDE, SIDE, &pixels, &count, err, sizeof err) != 0 ||
        idx_read_labels(argv[2], NCLASSES, &labels, &nlabels, err, sizeof err) != 0) {
        fprintf(stderr, "test_golden: %s\n", err);
        return 1;
    }
    if (nlabels != count || count > MAX_GOLDEN) {
        fprintf(stderr, "test_golden: %lu images, %lu labels (at most %d)\n",
                (unsigned long)count, (unsigned long)nlabels, MAX_GOLDEN);
        return 1;
    }

    /* Golden logits: "INDEX LABEL ARGMAX L0 .. L9". */
    f = open_or_die(argv[3]);
    while (next_line(f, line, sizeof line)) {
        long index = -1, label = -1, best = -1;
        char *p = line, *end;
        if (ngolden >= (long)count || sscanf(line, "%ld %ld %ld", &index, &label, &best) != 3 ||
            index != ngolden)
            die(argv[3], ngolden, "expected INDEX LABEL ARGMAX L0..L9 with consecutive indices");
        for (j = 0; j < 3; j++)
            (void)strtol(p, &p, 10);
        for (j = 0; j < NCLASSES; j++) {
            golden[ngolden][j] = strtof(p, &end);
            if (end == p)
                die(argv[3], ngolden, "fewer than 10 logits");
            p = end;
        }
        if (label != labels[ngolden])
            label_mismatch++;
        golden_argmax[ngolden] = (int)best;
        ngolden++;
    }
    fclose(f);

    /* The generated code on the golden images. */
    for (i = 0; i < (size_t)ngolden; i++) {
        infer(pixels + i * PIXELS, output);
        for (j = 0; j < NCLASSES; j++) {
            float d = fabsf(output[j] - golden[i][j]);
            if (!(d <= worst)) { /* also catches NaN */
                worst = d;
                worst_image = (long)i;
                worst_logit = j;
            }
        }
        if (argmax(output, NCLASSES) != golden_argmax[i] ||
            argmax(golden[i], NCLASSES) != golden_argmax[i])
            golden_disagree++;
    }

    /* PyTorch's predictions on all samples: "INDEX LABEL ARGMAX MARGIN". */
    f = open_or_die(argv[4]);
    while (next_line(f, line, sizeof line)) {
        long index = -1, label = -1, best = -1, best_c;
        if (npred >= (long)count || sscanf(line, "%ld %ld %ld", &index, &label, &best) != 3 ||
            index != npred)
            die(argv[4], npred, "expected INDEX LABEL ARGMAX MARGIN with consecutive indices");
        if (label != labels[npred])
            label_mismatch++;
        infer(pixels + (size_t)npred * PIXELS, output);
        best_c = argmax(output, NCLASSES);
        if (best_c != best)
            sample_disagree++;
        if (best_c == labels[npred])
            c_correct++;
        npred++;
    }
    fclose(f);

    /* Summary: "samples N", "correct N", ... */
    f = open_or_die(argv[5]);
    while (next_line(f, line, sizeof line)) {
        char key[64];
        long value;
        if (sscanf(line, "%63s %ld", key, &value) == 2) {
            if (strcmp(key, "samples") == 0)
                summary_samples = value;
            else if (strcmp(key, "correct") == 0)
                torch_correct = value;
        }
    }
    fclose(f);

    snprintf(msg, sizeof msg, "golden files cover %ld logit rows and %ld predictions of the "
             "%lu samples, with their labels", ngolden, npred, (unsigned long)count);
    check(ngolden > 0 && npred == (long)count && summary_samples == (long)count &&
          label_mismatch == 0, msg);
    snprintf(msg, sizeof msg, "logits of %ld golden images within %g of PyTorch "
             "(max |C - PyTorch| = %.3g, image %ld, logit %d)", ngolden, (double)TOLERANCE,
             (double)worst, worst_image, worst_logit);
    check(worst <= TOLERANCE, msg);
    snprintf(msg, sizeof msg, "argmax equals PyTorch's on the %ld golden images "
             "(%ld differ)", ngolden, golden_disagree);
    check(golden_disagree == 0, msg);
    snprintf(msg, sizeof msg, "argmax equals PyTorch's on all %ld samples (%ld differ)",
             npred, sample_disagree);
    check(sample_disagree == 0, msg);
    snprintf(msg, sizeof msg, "accuracy on the %ld samples equals PyTorch's "
             "(C %ld correct, PyTorch %ld)", npred, c_correct, torch_correct);
    check(c_correct == torch_correct, msg);

    free(pixels);
    free(labels);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
