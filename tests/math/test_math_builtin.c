/*
 * test_math_builtin.c: error bounds of templates/math_builtin.c, measured
 * against the host libm in double precision.
 *
 * Usage: test_math_builtin [STRIDE]
 *   Walks every STRIDE-th float bit pattern (default 1: every float) of
 *     lenetgen_expf   [-104, 89]        (all finite results, 0 and inf edges)
 *     lenetgen_tanhf  [-10, 10]         (and every STRIDE*64-th float beyond: +-1)
 *     sigmoid         [-87.3, 104]      as the generator composes it,
 *                                       1 / (1 + lenetgen_expf(-x)), in ulps;
 *                     [-104, -87.3]     absolute error only: e^-x overflows
 *                                       there and the result is 0 instead of
 *                                       a subnormal (error < 2^-126)
 *   plus hand-picked edges (thresholds, NaN, infinities, zeros, subnormals).
 * The reference is exp/tanh of the float widened to double (glibc's double
 * functions are accurate to well under one double ulp, 2^-29 float ulps).
 * Error in ulps = |got - ref| / ulp(ref), ulp(ref) the spacing of floats at
 * the exact reference (2^-149 for subnormal references), so 0.5 is the best
 * a float function can do.
 * Prints the measured maxima and ends with "N passed, N failed".
 * Every float (stride 1) is about 6.7e9 evaluations, 4 CPU-minutes; make test
 * runs stride 16 (make test-math MATH_STRIDE=1 for the exhaustive run).
 *
 * make test-math also builds this file with -Ofast (-ffast-math): the bounds
 * must hold whatever flags the user compiles the generated code with. So the
 * test itself tests NaN and infinity on the bits (-ffinite-math-only folds
 * isnan() to 0), and when the program runs with subnormals flushed to zero
 * (x86 links crtfastmath.o into an -Ofast program: FTZ and DAZ), a result
 * whose exact value is below 2^-126 must be within 2^-126 of it (it may be 0)
 * instead of within the ulp bound, and a subnormal argument counts as 0.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "math_builtin.c"

/* documented bounds (templates/math_builtin.c header) */
#define EXPF_MAX_ULP 1.1
#define TANHF_MAX_ULP 2.5
#define SIGMOID_MAX_ULP 2.5
#define SIGMOID_NORMAL 0x1.5d589ep+6f /* 87.336: sigmoid(-x) >= FLT_MIN up to here */

static int passed, failed;
static int flushing; /* subnormals flushed to zero (FTZ/DAZ) in this run */

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
        printf("ok   %s\n", what);
    } else {
        failed++;
        printf("FAIL %s\n", what);
    }
}

static float from_bits(unsigned int u)
{
    lenetgen_bits b;
    b.u = u;
    return b.f;
}

static unsigned int to_bits(float f)
{
    lenetgen_bits b;
    b.f = f;
    return b.u;
}

/* NaN and infinity tests on the bits: they survive -ffinite-math-only */
static int is_nan_f(float f) { return (to_bits(f) & 0x7fffffffu) > 0x7f800000u; }
static int is_finite_f(float f) { return (to_bits(f) & 0x7fffffffu) < 0x7f800000u; }
static int is_finite_d(double d)
{
    union {
        double d;
        unsigned long long u;
    } b;
    b.d = d;
    return (b.u & 0x7fffffffffffffffull) < 0x7ff0000000000000ull;
}

/* volatile: the compiler must not assume how the FPU treats subnormals */
static int flushes_subnormals(void)
{
    volatile float smallest_normal = 0x1p-126f;
    return smallest_normal * 0.5f == 0.0f;
}

/* spacing of floats at |ref| (exact value, may be beyond float range) */
static double ulp_at(double ref)
{
    int e;
    double a = fabs(ref);
    if (a < 0x1p-126)
        return 0x1p-149;
    if (a >= 0x1p+128)
        return 0x1p+104;
    (void)frexp(a, &e); /* a = m * 2^e, 0.5 <= m < 1 */
    return ldexp(1.0, e - 24);
}

/* error of one result; infinities and NaN must match exactly */
struct stat {
    double max_ulp, at_ulp;  /* largest error in ulps and where */
    double max_rel, at_rel;  /* largest relative error (normal references) */
    double max_abs, at_abs;  /* largest absolute error */
    double max_flush;        /* flushing: largest error where the result is below 2^-126 */
    long n, exact, mismatch; /* count, equal to the rounded reference, inf/NaN wrong */
};

static void account(struct stat *s, float x, float got, double ref)
{
    double err, ulps;
    s->n++;
    if (!is_finite_d(ref) || !is_finite_f(got) || !is_finite_f((float)ref)) {
        /* compare as floats: a reference that overflows float must give inf */
        float rf = (float)ref;
        if (!((is_nan_f(rf) && is_nan_f(got)) || to_bits(rf) == to_bits(got)))
            s->mismatch++;
        else
            s->exact++;
        return;
    }
    if (flushing && fabs(ref) < 0x1p-126) {
        err = fabs((double)got - ref);
        if (err > s->max_flush)
            s->max_flush = err;
        return;
    }
    if ((double)got == (double)(float)ref)
        s->exact++;
    err = fabs((double)got - ref);
    ulps = err / ulp_at(ref);
    if (ulps > s->max_ulp) {
        s->max_ulp = ulps;
        s->at_ulp = (double)x;
    }
    if (err > s->max_abs) {
        s->max_abs = err;
        s->at_abs = (double)x;
    }
    if (fabs(ref) >= 0x1p-126 && err / fabs(ref) > s->max_rel) {
        s->max_rel = err / fabs(ref);
        s->at_rel = (double)x;
    }
}

static void report(const char *name, const struct stat *s)
{
    printf("%-8s %ld points: max %.4f ulp at x=%a (%.9g); max rel %.3e (2^%.2f) at %.9g;"
           " max abs %.3e at %.9g; %.4f%% equal to the correctly rounded value;"
           " %ld inf/NaN mismatches\n",
           name, s->n, s->max_ulp, s->at_ulp, s->at_ulp, s->max_rel,
           s->max_rel > 0.0 ? log2(s->max_rel) : -999.0, s->at_rel, s->max_abs, s->at_abs,
           100.0 * (double)s->exact / (double)s->n, s->mismatch);
    if (flushing)
        printf("%-8s flushed to zero: max error %.3e where the result is below 2^-126\n", name, s->max_flush);
}

typedef void (*sweep_fn)(struct stat *, float);

/* every stride-th float from lo to hi inclusive (both of one sign), and hi itself */
static void sweep(struct stat *s, float lo, float hi, unsigned int stride, sweep_fn fn)
{
    unsigned int a = to_bits(lo), b = to_bits(hi), u;
    if (a > b) {
        unsigned int t = a;
        a = b;
        b = t;
    }
    for (u = a; u < b; u += stride) {
        fn(s, from_bits(u));
        if (b - u < stride)
            break;
    }
    fn(s, from_bits(b));
}

/* both signs: [neg, -0] and [+0, pos] */
static void sweep_both(struct stat *s, float neg, float pos, unsigned int stride, sweep_fn fn)
{
    sweep(s, -0.0f, neg, stride, fn);
    sweep(s, 0.0f, pos, stride, fn);
}

/* prints the maxima and checks the documented bound */
static void check_bound(const char *name, const struct stat *s, double bound, const char *range)
{
    char what[200];
    report(name, s);
    snprintf(what, sizeof what, "%s max error %.4f ulp <= %.1f ulp over %s, no inf/NaN mismatch%s", name,
             s->max_ulp, bound, range, flushing ? ", < 2^-126 where flushed" : "");
    check(s->max_ulp <= bound && s->mismatch == 0 && s->max_flush < 0x1p-126, what);
}

static void one_expf(struct stat *s, float x) { account(s, x, lenetgen_expf(x), exp((double)x)); }
static void one_tanhf(struct stat *s, float x) { account(s, x, lenetgen_tanhf(x), tanh((double)x)); }
static void one_sigmoid(struct stat *s, float x)
{
    account(s, x, 1.0f / (1.0f + lenetgen_expf(-x)), 1.0 / (1.0 + exp(-(double)x)));
}
static void one_libm_expf(struct stat *s, float x) { account(s, x, expf(x), exp((double)x)); }

/* beyond |x| = 10: tanh must be exactly +-1 */
static long tanh_not_one;
static void one_tanh_sat(struct stat *s, float x)
{
    float want = x > 0.0f ? 1.0f : -1.0f;
    s->n++;
    if (lenetgen_tanhf(x) != want)
        tanh_not_one++;
}

static int same_bits(float a, float b) { return to_bits(a) == to_bits(b); }

/* An argument the compiler cannot see: the edges test the code as it runs,
 * not the compiler's constant folding (which -ffast-math makes inexact and
 * -fno-signed-zeros makes blind to the sign of 0). */
static float arg_bits(unsigned int u)
{
    volatile unsigned int v = u;
    return from_bits(v);
}
static float arg(float x) { return arg_bits(to_bits(x)); }

static void edges(void)
{
    const float inf = arg_bits(0x7f800000u), nan = arg_bits(0x7fc00000u), minus_nan = arg_bits(0xffc00000u);
    const float minus_inf = arg_bits(0xff800000u);
    const float tiny = arg_bits(1u), minus_tiny = arg_bits(0x80000001u); /* +-2^-149 */
    const float zero = arg_bits(0u), minus_zero = arg_bits(0x80000000u);
    /* the smallest subnormal, or 0 where subnormals are flushed (and read as 0) */
    const unsigned int tiny_result = flushing ? 0u : 1u;
    char what[160];

    check(is_nan_f(lenetgen_expf(nan)) && is_nan_f(lenetgen_expf(minus_nan)), "expf(NaN) is NaN");
    check(to_bits(lenetgen_expf(inf)) == 0x7f800000u, "expf(+inf) = +inf");
    check(to_bits(lenetgen_expf(minus_inf)) == 0u, "expf(-inf) = +0");
    check(is_finite_f(lenetgen_expf(arg(0x1.62e42ep+6f))) && lenetgen_expf(arg(0x1.62e42ep+6f)) > 0x1.fffep+127f,
          "expf(88.72283) is finite (largest argument with a finite result)");
    check(to_bits(lenetgen_expf(arg(0x1.62e430p+6f))) == 0x7f800000u, "expf(88.72284) = +inf (first overflow)");
    check(to_bits(lenetgen_expf(arg(1000.0f))) == 0x7f800000u && to_bits(lenetgen_expf(arg(FLT_MAX))) == 0x7f800000u,
          "expf(1000), expf(FLT_MAX) = +inf");
    check(to_bits(lenetgen_expf(arg(-0x1.9fe368p+6f))) == tiny_result,
          flushing ? "expf(-103.972076) = 0 (flushed)" : "expf(-103.972076) = 2^-149 (last nonzero)");
    check(to_bits(lenetgen_expf(arg(-0x1.9fe36ap+6f))) == 0u, "expf(-103.972084) = 0 (first zero)");
    check(to_bits(lenetgen_expf(arg(-1000.0f))) == 0u && to_bits(lenetgen_expf(arg(-FLT_MAX))) == 0u,
          "expf(-1000), expf(-FLT_MAX) = 0");
    check(lenetgen_expf(zero) == 1.0f && lenetgen_expf(minus_zero) == 1.0f, "expf(+-0) = 1 exactly");
    check(lenetgen_expf(tiny) == 1.0f && lenetgen_expf(minus_tiny) == 1.0f && lenetgen_expf(arg(1e-30f)) == 1.0f,
          "expf(tiny) = 1");
    check(lenetgen_expf(arg(1.0f)) == 0x1.5bf0a8p+1f, "expf(1) = e rounded");

    check(is_nan_f(lenetgen_tanhf(nan)) && is_nan_f(lenetgen_tanhf(minus_nan)), "tanhf(NaN) is NaN");
    check(to_bits(lenetgen_tanhf(inf)) == 0x3f800000u && to_bits(lenetgen_tanhf(minus_inf)) == 0xbf800000u,
          "tanhf(+-inf) = +-1");
    check(to_bits(lenetgen_tanhf(zero)) == 0u && to_bits(lenetgen_tanhf(minus_zero)) == 0x80000000u,
          "tanhf(+-0) = +-0 with its sign");
    check(to_bits(lenetgen_tanhf(tiny)) == tiny_result && to_bits(lenetgen_tanhf(minus_tiny)) == (tiny_result | 0x80000000u) &&
              same_bits(lenetgen_tanhf(arg(1e-20f)), 1e-20f) && same_bits(lenetgen_tanhf(arg(0x1p-126f)), 0x1p-126f),
          flushing ? "tanhf(tiny) = tiny (normal), +-0 (subnormal, flushed)"
                   : "tanhf(tiny) = tiny (subnormal and normal)");
    check(lenetgen_tanhf(arg(9.02f)) == 1.0f && lenetgen_tanhf(arg(-9.6f)) == -1.0f &&
              lenetgen_tanhf(arg(FLT_MAX)) == 1.0f,
          "tanhf saturates to +-1 at 9.02, 9.6, FLT_MAX");
    snprintf(what, sizeof what, "sigmoid(0) = 0.5 exactly (got %a)",
             (double)(1.0f / (1.0f + lenetgen_expf(minus_zero))));
    check(1.0f / (1.0f + lenetgen_expf(minus_zero)) == 0.5f, what);
    check(1.0f / (1.0f + lenetgen_expf(arg(-200.0f))) == 1.0f && 1.0f / (1.0f + lenetgen_expf(arg(200.0f))) == 0.0f &&
              1.0f / (1.0f + lenetgen_expf(minus_inf)) == 1.0f && 1.0f / (1.0f + lenetgen_expf(inf)) == 0.0f,
          "sigmoid saturates to 0 and 1");
}

int main(int argc, char **argv)
{
    unsigned int stride = 1;
    struct stat e = {0}, t = {0}, sg = {0}, sgl = {0}, lm = {0}, sat = {0};
    char what[200];

    if (argc > 1)
        stride = (unsigned int)strtoul(argv[1], NULL, 10);
    if (stride == 0)
        stride = 1;
    printf("stride %u (%s)\n", stride, stride == 1 ? "every float" : "every stride-th float plus the ends");
    flushing = flushes_subnormals();
    if (flushing)
        printf("subnormals are flushed to zero in this run (FTZ/DAZ, e.g. an -Ofast program on x86)\n");

    edges();

    sweep_both(&e, -104.0f, 89.0f, stride, one_expf);
    check_bound("expf", &e, EXPF_MAX_ULP, "[-104, 89]");

    sweep_both(&lm, -104.0f, 89.0f, stride * 16u, one_libm_expf);
    report("libm", &lm); /* for comparison only */

    sweep_both(&t, -10.0f, 10.0f, stride, one_tanhf);
    check_bound("tanhf", &t, TANHF_MAX_ULP, "[-10, 10]");
    sweep(&sat, 10.0f, from_bits(0x7f800000u), stride * 64u, one_tanh_sat);
    sweep(&sat, -10.0f, from_bits(0xff800000u), stride * 64u, one_tanh_sat);
    snprintf(what, sizeof what, "tanhf = +-1 exactly for all %ld sampled |x| >= 10 (%ld not)", sat.n,
             tanh_not_one);
    check(tanh_not_one == 0, what);

    sweep_both(&sg, -SIGMOID_NORMAL, 104.0f, stride, one_sigmoid);
    check_bound("sigmoid", &sg, SIGMOID_MAX_ULP, "[-87.3, 104]");
    sweep(&sgl, -SIGMOID_NORMAL, -104.0f, stride, one_sigmoid);
    report("sigmoid-", &sgl);
    snprintf(what, sizeof what, "sigmoid absolute error %.3e < 2^-126 over [-104, -87.3]", sgl.max_abs);
    check(sgl.max_abs < 0x1p-126 && sgl.mismatch == 0, what);

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
