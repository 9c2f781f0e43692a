/* Image readers for the lenetgen demo and its tests: uncompressed IDX files (the shipped
 * Fashion-MNIST sample) and single PGM images (P5 binary or P2 plain, 8-bit, maxval 255),
 * plus the input scaling and the argmax that the demo and the golden test must share.
 *
 * Every reader returns 0 on success. On failure it returns -1 and writes a one-line
 * description of the problem (no file name, no newline) into err[0..errlen-1]; the caller
 * prefixes the file name. */
#ifndef LENETGEN_DEMO_IMAGES_H
#define LENETGEN_DEMO_IMAGES_H

#include <stddef.h>

/* Reads an IDX3 image file (magic 0x00000803) of rows x cols uint8 images.
 * On success *pixels is a malloc'ed array of *count * rows * cols bytes (free it). */
int idx_read_images(const char *path, size_t rows, size_t cols,
                    unsigned char **pixels, size_t *count, char *err, size_t errlen);

/* Reads an IDX1 label file (magic 0x00000801) whose labels are all below nclasses.
 * On success *labels is a malloc'ed array of *count bytes (free it). */
int idx_read_labels(const char *path, unsigned nclasses,
                    unsigned char **labels, size_t *count, char *err, size_t errlen);

/* Reads a width x height PGM image (P5 or P2, maxval 255) into pixels[width * height],
 * row-major. Whitespace and '#' comments are allowed in the header; nothing may follow
 * the pixels except, for P2, whitespace and comments. */
int pgm_read(const char *path, size_t width, size_t height,
             unsigned char *pixels, char *err, size_t errlen);

/* The network input for 8-bit pixels: input[i] = (float)pixels[i] / 255.0f, the scaling
 * tools/train_lenet5.py trained with (an IEEE float32 division, as numpy does it). */
void pixels_to_input(const unsigned char *pixels, float *input, size_t n);

/* Index of the largest of v[0..n-1]; the lowest index wins a tie. */
int argmax(const float *v, int n);

#endif
