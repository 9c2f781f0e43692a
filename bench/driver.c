/*
 * driver.c: the benchmark's host program, linked with one implementation of a network
 * (generated code or bench/baseline_loops.c; both have the generated API). mk/bench.mk
 * names it: -DBENCH_HEADER='"lenet5.h"' -DBENCH_INFER=lenet5_infer
 * -DBENCH_INPUT_SIZE=LENET5_INPUT_SIZE -DBENCH_OUTPUT_SIZE=LENET5_OUTPUT_SIZE.
 *
 *   driver time REPS MIN_BATCH_US   time per inference: a batch of inferences grown until it
 *                                   lasts MIN_BATCH_US, one batch of warm-up, then REPS
 *                                   batches; prints "times T1 T2 ..." (sorted) and
 *                                   "time_ns MIN MEDIAN MAX BATCH REPS"
 *                                   (nanoseconds per inference over each batch, CPU time of
 *                                   the process: on a shared machine, time spent waiting for
 *                                   a core does not count)
 *   driver count N                  N inferences and nothing else (callgrind runs it with N
 *                                   and 2N: the difference is N inferences' instructions)
 * Every mode first prints "output V0 V1 ..." (%.9g) for the fixed input, so that
 * bench/measure.lua can check the implementation against the reference interpreter.
 *
 * The input is fixed and exactly representable: value i = ((i * 2654435761) mod 2^32 >> 16
 * mod 256) / 256, a pixel-like pattern in [0, 1) that bench/measure.lua recomputes.
 *
 * -DBENCH_INT8 (an int8 network, BENCH_INFER=NAME_infer_int8): input and output are int8 codes;
 * input code i = ((i * 2654435761) mod 2^32 >> 16 mod 256) - 128, the same pattern as codes, so
 * that bench/ref_bench.lua --int8 feeds the integer reference the very same codes (no float
 * rounding between the two), and "output" prints the output codes, compared bit-exact.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>

#include BENCH_HEADER

#ifdef BENCH_INT8
typedef int8_t bench_value_t;
#else
typedef float bench_value_t;
#endif
static bench_value_t input[BENCH_INPUT_SIZE];
static bench_value_t output[BENCH_OUTPUT_SIZE];
static volatile bench_value_t sink;

static void fill_input(void)
{
    unsigned long i;
    for (i = 0; i < (unsigned long)BENCH_INPUT_SIZE; i++) {
        unsigned long h = (i * 2654435761ul) & 0xFFFFFFFFul;
#ifdef BENCH_INT8
        input[i] = (int8_t)((int)((h >> 16) & 255ul) - 128);
#else
        input[i] = (float)((h >> 16) & 255ul) / 256.0f;
#endif
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Nanoseconds for n inferences. */
static double run_batch(long n)
{
    long k;
    double t0 = now_ns();
    for (k = 0; k < n; k++) {
        BENCH_INFER(input, output);
        sink = output[0];
    }
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void)
{
    fprintf(stderr, "usage: driver time REPS MIN_BATCH_US | driver count N\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i;
    fill_input();
    BENCH_INFER(input, output);
    printf("output");
    for (i = 0; i < BENCH_OUTPUT_SIZE; i++)
        printf(" %.9g", (double)output[i]);
    printf("\n");

    if (argc == 4 && strcmp(argv[1], "time") == 0) {
        int reps = atoi(argv[2]);
        double min_ns = atof(argv[3]) * 1e3, *t;
        long batch = 1;
        if (reps < 1)
            return usage();
        while (run_batch(batch) < min_ns && batch < (1L << 30))
            batch *= 2;
        run_batch(batch); /* warm-up at the final size */
        t = malloc((size_t)reps * sizeof *t);
        if (!t)
            return 1;
        for (i = 0; i < reps; i++)
            t[i] = run_batch(batch) / (double)batch;
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("times");
        for (i = 0; i < reps; i++)
            printf(" %.1f", t[i]);
        printf("\n");
        printf("time_ns %.1f %.1f %.1f %ld %d\n", t[0], t[reps / 2], t[reps - 1], batch, reps);
        free(t);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "count") == 0) {
        long n = atol(argv[2]);
        run_batch(n);
        printf("count %ld\n", n);
        return 0;
    }
    return usage();
}
