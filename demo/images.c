/* Image readers for the lenetgen demo: IDX (Fashion-MNIST's own format, uncompressed) and
 * PGM (netpbm greyscale, P5 binary or P2 plain), and the two helpers every classifier of
 * these images needs. See images.h for the contracts. */
#include "images.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDX_MAX_BYTES (64ul * 1024ul * 1024ul) /* the whole Fashion-MNIST test set is 7.5 MiB */
#define PGM_MAX_BYTES (1024ul * 1024ul)        /* a 28x28 P2 image with comments is a few KiB */
#define NUMBER_MAX 99999999ul                  /* larger header numbers or pixels are rejected */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads all of path into a malloc'ed buffer (*data, *size); at most max bytes. */
static int read_all(const char *path, size_t max, unsigned char **data, size_t *size,
                    char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n;

    if (f == NULL)
        return fail(err, errlen, "cannot open: %s", strerror(errno));
    buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(f);
        return fail(err, errlen, "out of memory");
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return fail(err, errlen, "read error");
    }
    fclose(f);
    if (n > max) {
        free(buf);
        return fail(err, errlen, "file is larger than %lu bytes", (unsigned long)max);
    }
    *data = buf;
    *size = n;
    return 0;
}

static unsigned long be32(const unsigned char *p)
{
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
           ((unsigned long)p[2] << 8) | (unsigned long)p[3];
}

/* Reads an IDX file with the given magic and ndims dimensions: checks the header, that the
 * payload holds exactly dims[0] items of dims[1] * ... bytes, and returns the dimensions in
 * dims[] and the payload in a malloc'ed *payload. what names an item ("IDX1 label"). */
static int idx_load(const char *path, unsigned long magic, const char *what,
                    unsigned long *dims, size_t ndims, unsigned char **payload,
                    char *err, size_t errlen)
{
    unsigned char *data;
    size_t size, i, header = 4 + 4 * ndims;
    unsigned long items = 1;

    if (read_all(path, IDX_MAX_BYTES, &data, &size, err, errlen) != 0)
        return -1;
    if (size < header) {
        fail(err, errlen, "truncated IDX header (%lu bytes)", (unsigned long)size);
    } else if (be32(data) != magic) {
        fail(err, errlen, "not an %s file (magic 0x%08lx, expected 0x%08lx)",
             what, be32(data), magic);
    } else {
        for (i = 0; i < ndims; i++) {
            dims[i] = be32(data + 4 + 4 * i);
            items *= dims[i];
        }
        if (dims[0] == 0) {
            fail(err, errlen, "header says it holds no %ss", what);
        } else if (size - header != items) {
            fail(err, errlen, "holds %lu bytes after its header, which promises %lu",
                 (unsigned long)(size - header), items);
        } else {
            memmove(data, data + header, size - header);
            *payload = data;
            return 0;
        }
    }
    free(data);
    return -1;
}

int idx_read_images(const char *path, size_t rows, size_t cols,
                    unsigned char **pixels, size_t *count, char *err, size_t errlen)
{
    unsigned long dims[3];

    if (idx_load(path, 0x803ul, "IDX3 image", dims, 3, pixels, err, errlen) != 0)
        return -1;
    if (dims[1] != rows || dims[2] != cols) {
        free(*pixels);
        return fail(err, errlen, "images are %lux%lu, expected %lux%lu",
                    dims[1], dims[2], (unsigned long)rows, (unsigned long)cols);
    }
    *count = (size_t)dims[0];
    return 0;
}

int idx_read_labels(const char *path, unsigned nclasses,
                    unsigned char **labels, size_t *count, char *err, size_t errlen)
{
    unsigned long dims[1];
    size_t i;

    if (idx_load(path, 0x801ul, "IDX1 label", dims, 1, labels, err, errlen) != 0)
        return -1;
    for (i = 0; i < dims[0]; i++) {
        if ((*labels)[i] >= nclasses) {
            unsigned bad = (*labels)[i];
            free(*labels);
            return fail(err, errlen, "label %u of image %lu is not a class (0..%u)",
                        bad, (unsigned long)i, nclasses - 1);
        }
    }
    *count = (size_t)dims[0];
    return 0;
}

void pixels_to_input(const unsigned char *pixels, float *input, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        input[i] = (float)pixels[i] / 255.0f;
}

int argmax(const float *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* ---- PGM ---- */

struct cursor {
    const unsigned char *p, *end;
};

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and '#' comments (which run to the end of the line). */
static void skip_space(struct cursor *c)
{
    while (c->p < c->end) {
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        } else if (is_space(*c->p)) {
            c->p++;
        } else {
            break;
        }
    }
}

/* Parses a decimal number ending at whitespace, '#' or the end of the data.
 * Returns 0 and *value, or -1 when there is no such number (or it exceeds NUMBER_MAX). */
static int number(struct cursor *c, unsigned long *value)
{
    unsigned long v = 0;
    const unsigned char *start = c->p;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (unsigned long)(*c->p - '0');
        if (v > NUMBER_MAX)
            return -1;
        c->p++;
    }
    if (c->p == start || (c->p < c->end && !is_space(*c->p) && *c->p != '#'))
        return -1;
    *value = v;
    return 0;
}

static int pgm_parse(const unsigned char *data, size_t size, size_t width, size_t height,
                     unsigned char *pixels, char *err, size_t errlen)
{
    static const char *const field[3] = { "width", "height", "maxval" };
    struct cursor c;
    unsigned long hdr[3], v;
    size_t n = width * height, i;
    int plain;

    if (size == 0)
        return fail(err, errlen, "empty file");
    if (size < 3 || data[0] != 'P' || (data[1] != '5' && data[1] != '2') || !is_space(data[2]))
        return fail(err, errlen, "not a PGM image (expected magic P5 or P2)");
    plain = data[1] == '2';
    c.p = data + 2;
    c.end = data + size;
    for (i = 0; i < 3; i++) {
        skip_space(&c);
        if (number(&c, &hdr[i]) != 0 || hdr[i] == 0)
            return fail(err, errlen, "malformed header: no valid %s", field[i]);
    }
    if (hdr[0] != width || hdr[1] != height)
        return fail(err, errlen, "image is %lux%lu, expected %lux%lu",
                    hdr[0], hdr[1], (unsigned long)width, (unsigned long)height);
    if (hdr[2] != 255)
        return fail(err, errlen, "maxval is %lu, expected 255 (8-bit greyscale)", hdr[2]);
    if (!plain) {
        /* Exactly one whitespace byte separates maxval from the binary pixels. */
        size_t left;
        if (c.p < c.end && *c.p == '#')
            return fail(err, errlen, "malformed header: comment after maxval");
        if (c.p < c.end)
            c.p++;
        left = (size_t)(c.end - c.p);
        if (left < n)
            return fail(err, errlen, "truncated pixel data: %lu of %lu bytes",
                        (unsigned long)left, (unsigned long)n);
        if (left > n)
            return fail(err, errlen, "%lu bytes of unexpected data after the %lu pixels",
                        (unsigned long)(left - n), (unsigned long)n);
        memcpy(pixels, c.p, n);
        return 0;
    }
    for (i = 0; i < n; i++) {
        skip_space(&c);
        if (c.p == c.end)
            return fail(err, errlen, "truncated pixel data: %lu of %lu values",
                        (unsigned long)i, (unsigned long)n);
        if (number(&c, &v) != 0)
            return fail(err, errlen, "pixel at row %lu, column %lu is not a decimal number",
                        (unsigned long)(i / width + 1), (unsigned long)(i % width + 1));
        if (v > 255)
            return fail(err, errlen, "pixel at row %lu, column %lu is %lu, above maxval 255",
                        (unsigned long)(i / width + 1), (unsigned long)(i % width + 1), v);
        pixels[i] = (unsigned char)v;
    }
    skip_space(&c);
    if (c.p != c.end)
        return fail(err, errlen, "unexpected data after the %lu pixels", (unsigned long)n);
    return 0;
}

int pgm_read(const char *path, size_t width, size_t height,
             unsigned char *pixels, char *err, size_t errlen)
{
    unsigned char *data;
    size_t size;
    int rc;

    if (read_all(path, PGM_MAX_BYTES, &data, &size, err, errlen) != 0)
        return -1;
    rc = pgm_parse(data, size, width, height, pixels, err, errlen);
    free(data);
    return rc;
}
