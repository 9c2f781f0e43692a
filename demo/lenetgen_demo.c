/* lenetgen-demo: runs the generated LeNet-5 (out/lenet5.c) on real Fashion-MNIST images.
 *
 *   lenetgen-demo --samples IMAGES LABELS [--repeat N]
 *       classifies every image of an IDX3 image file with its IDX1 labels and prints the
 *       accuracy, per-class accuracy, the confusion matrix and the median time per inference
 *       (every inference timed alone with CLOCK_MONOTONIC, N passes over the images, default 5).
 *   lenetgen-demo IMAGE.pgm
 *       classifies one 28x28 greyscale PGM (P5 or P2, maxval 255) and prints the top 3 classes
 *       with their softmax scores.
 *
 * The network input is pixel / 255.0f in C-H-W order, exactly what tools/train_lenet5.py fed
 * PyTorch. Errors go to stderr as "lenetgen-demo: FILE: problem"; the exit status is 1 for a bad
 * file and 2 for bad usage. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "images.h"
#include "lenet5.h"

#define PROG "lenetgen-demo"
#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define NCLASSES 10

/* The demo knows Fashion-MNIST's geometry; the generated header must agree. The class names
 * come from the header (the description's labels, in output order). */
typedef char lenet5_input_is_1x28x28[(LENET5_INPUT_SIZE == PIXELS) ? 1 : -1];
typedef char lenet5_output_is_10_classes[(LENET5_OUTPUT_SIZE == NCLASSES) ? 1 : -1];
typedef char lenet5_has_a_label_per_class[(LENET5_LABEL_COUNT == NCLASSES) ? 1 : -1];

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " --samples IMAGES LABELS [--repeat N]\n"
            "       " PROG " IMAGE.pgm\n"
            "Classifies Fashion-MNIST images with the generated LeNet-5.\n"
            "  --samples IMAGES LABELS  every image of an IDX3 file (with its IDX1 labels):\n"
            "                           accuracy, per-class accuracy, confusion matrix and the\n"
            "                           median time per inference\n"
            "  --repeat N               timing passes over the samples (default 5)\n"
            "  IMAGE.pgm                one 28x28 greyscale PGM (P5 or P2, maxval 255): top-3\n"
            "                           classes with softmax scores\n");
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int run_samples(const char *images_path, const char *labels_path, int repeat)
{
    char err[256];
    unsigned char *pixels = NULL, *labels = NULL;
    size_t count, nlabels, i, ntimes;
    long long *times;
    double median_us;
    int confusion[NCLASSES][NCLASSES];
    int r, t, p, correct = 0;
    float input[PIXELS], output[NCLASSES];

    if (idx_read_images(images_path, SIDE, SIDE, &pixels, &count, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", images_path, err);
        return 1;
    }
    if (idx_read_labels(labels_path, NCLASSES, &labels, &nlabels, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", labels_path, err);
        free(pixels);
        return 1;
    }
    if (nlabels != count) {
        fprintf(stderr, PROG ": %s: %lu labels for the %lu images of %s\n", labels_path,
                (unsigned long)nlabels, (unsigned long)count, images_path);
        free(pixels);
        free(labels);
        return 1;
    }
    ntimes = count * (size_t)repeat;
    times = malloc(ntimes * sizeof *times);
    if (times == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        free(pixels);
        free(labels);
        return 1;
    }

    memset(confusion, 0, sizeof confusion);
    for (r = 0; r < repeat; r++) {
        for (i = 0; i < count; i++) {
            long long start;
            pixels_to_input(pixels + i * PIXELS, input, PIXELS);
            start = now_ns();
            lenet5_infer(input, output);
            times[(size_t)r * count + i] = now_ns() - start;
            if (r == 0)
                confusion[labels[i]][argmax(output, NCLASSES)]++;
        }
    }
    qsort(times, ntimes, sizeof *times, cmp_ll);
    median_us = (ntimes % 2 ? (double)times[ntimes / 2]
                            : 0.5 * (double)(times[ntimes / 2 - 1] + times[ntimes / 2])) / 1e3;
    for (t = 0; t < NCLASSES; t++)
        correct += confusion[t][t];

    printf("LeNet-5 (generated C) on %lu images of %s\n", (unsigned long)count, images_path);
    printf("accuracy: %.4f (%d of %lu correct)\n\n", (double)correct / (double)count, correct,
           (unsigned long)count);
    printf("  class         images  correct  accuracy\n");
    for (t = 0; t < NCLASSES; t++) {
        int n = 0;
        for (p = 0; p < NCLASSES; p++)
            n += confusion[t][p];
        printf("%d %-12s %7d %8d   ", t, lenet5_labels[t], n, confusion[t][t]);
        if (n > 0)
            printf("%.4f\n", (double)confusion[t][t] / (double)n);
        else
            printf("     -\n");
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n");
    printf("%-14s", "");
    for (p = 0; p < NCLASSES; p++)
        printf("%5d", p);
    printf("\n");
    for (t = 0; t < NCLASSES; t++) {
        printf("%d %-12s", t, lenet5_labels[t]);
        for (p = 0; p < NCLASSES; p++)
            printf("%5d", confusion[t][p]);
        printf("\n");
    }
    printf("\nmedian time per inference: %.1f us (%lu images x %d passes, "
           "each inference timed with CLOCK_MONOTONIC)\n",
           median_us, (unsigned long)count, repeat);
    free(times);
    free(pixels);
    free(labels);
    return 0;
}

static int run_image(const char *path)
{
    char err[256];
    unsigned char pixels[PIXELS];
    float input[PIXELS], output[NCLASSES], score[NCLASSES], sum = 0.0f, max;
    int order[NCLASSES], i, j;

    if (pgm_read(path, SIDE, SIDE, pixels, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, err);
        return 1;
    }
    pixels_to_input(pixels, input, PIXELS);
    lenet5_infer(input, output);

    /* Softmax, shifted by the largest logit so that expf cannot overflow. */
    max = output[argmax(output, NCLASSES)];
    for (i = 0; i < NCLASSES; i++) {
        score[i] = expf(output[i] - max);
        sum += score[i];
    }
    for (i = 0; i < NCLASSES; i++) {
        score[i] /= sum;
        order[i] = i;
    }
    /* Insertion sort of class indices by descending score; ties keep the lower class first. */
    for (i = 1; i < NCLASSES; i++) {
        int k = order[i];
        for (j = i; j > 0 && score[order[j - 1]] < score[k]; j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
    printf("%s: %s\n", path, lenet5_labels[order[0]]);
    for (i = 0; i < 3; i++)
        printf("  %d. %-12s %.4f\n", i + 1, lenet5_labels[order[i]], (double)score[order[i]]);
    return 0;
}

int main(int argc, char **argv)
{
    int repeat = 5;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && argv[1][0] != '-')
        return run_image(argv[1]);
    if ((argc == 4 || (argc == 6 && strcmp(argv[4], "--repeat") == 0)) &&
        strcmp(argv[1], "--samples") == 0) {
        if (argc == 6) {
            char *end;
            long n = strtol(argv[5], &end, 10);
            if (*end != '\0' || n < 1 || n > 1000) {
                fprintf(stderr, PROG ": --repeat takes a number from 1 to 1000\n");
                return 2;
            }
            repeat = (int)n;
        }
        return run_samples(argv[2], argv[3], repeat);
    }
    usage(stderr);
    return 2;
}
