/*
 * accuracy.c: the accuracy of a generated LeNet-5 on IDX images and labels,
 * through its float API <name>_infer (the int8 network's quantizes the input
 * and dequantizes the output, so the same program measures both). Linked
 * with the float build and with the --quantize=int8 build by mk/accuracy.mk.
 *
 *   accuracy LABEL IMAGES.idx3 LABELS.idx1
 *
 * Prints one line: "LABEL: C of N images correct, accuracy 0.XXXX". Exit
 * status 1 when a file cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "images.h"
#include "lenet5.h"

int main(int argc, char **argv)
{
    unsigned char *pixels = NULL, *labels = NULL;
    size_t n_images = 0, n_labels = 0, i, correct = 0;
    char err[256];
    float input[LENET5_INPUT_SIZE], output[LENET5_OUTPUT_SIZE];

    if (argc != 4) {
        fprintf(stderr, "usage: accuracy LABEL IMAGES.idx3 LABELS.idx1\n");
        return 2;
    }
    if (idx_read_images(argv[2], LENET5_INPUT_HEIGHT, LENET5_INPUT_WIDTH, &pixels, &n_images, err, sizeof err) != 0 ||
        idx_read_labels(argv[3], LENET5_OUTPUT_SIZE, &labels, &n_labels, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (n_labels < n_images) {
        fprintf(stderr, "%s: %lu labels for %lu images\n", argv[3], (unsigned long)n_labels, (unsigned long)n_images);
        return 1;
    }
    for (i = 0; i < n_images; i++) {
        pixels_to_input(pixels + i * LENET5_INPUT_SIZE, input, LENET5_INPUT_SIZE);
        lenet5_infer(input, output);
        if (argmax(output, LENET5_OUTPUT_SIZE) == (int)labels[i])
            correct++;
    }
    printf("%s: %lu of %lu images correct, accuracy %.4f\n", argv[1], (unsigned long)correct,
           (unsigned long)n_images, (double)correct / (double)n_images);
    free(pixels);
    free(labels);
    return 0;
}
