/*
 * golden_check.h: how both firmware harnesses (harness.c on Cortex-M,
 * harness_rv32.c on RV32) judge an output against golden.h: |got - want| <=
 * 1e-5 + 1e-5 |want|, the project's tolerance (newlib's and glibc's expf
 * differ in the last bit, and the reference computes in double); int8 codes
 * (golden.h of make_golden.lua --int8 defines GOLDEN_INT8) must be equal.
 * Included once per harness, after golden.h, which defines golden_value_t.
 */
#ifndef LG_GOLDEN_CHECK_H
#define LG_GOLDEN_CHECK_H

#ifdef GOLDEN_INT8
#define GOLDEN_TOLERANCE_TEXT "none: int8 codes are bit-exact"

static int close_enough(golden_value_t got, golden_value_t want) { return got == want; }
#else
#define GOLDEN_TOLERANCE_TEXT "1e-5 + 1e-5*|expected|"

static int close_enough(golden_value_t got, golden_value_t want)
{
    float diff = got - want, mag = want < 0.0f ? -want : want;
    if (diff < 0.0f)
        diff = -diff;
    return diff <= 1e-5f + 1e-5f * mag; /* also false for NaN */
}
#endif

static int argmax(const golden_value_t *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Index of the first of the n outputs outside tolerance, or -1 when all agree;
 * *worst receives the largest |got - want|. */
static int first_mismatch(const golden_value_t *got, const golden_value_t *want, int n, float *worst)
{
    int i, bad = -1;
    *worst = 0.0f;
    for (i = 0; i < n; i++) {
        float d = (float)got[i] - (float)want[i];
        if (d < 0.0f)
            d = -d;
        if (d > *worst)
            *worst = d;
        if (bad < 0 && !close_enough(got[i], want[i]))
            bad = i;
    }
    return bad;
}

#endif /* LG_GOLDEN_CHECK_H */
