/*
 * remez.c: derives the polynomial of templates/math_builtin.c.
 *
 * Not part of the build or of the tests; kept so the coefficients can be
 * reproduced and changed:
 *     cc -std=c99 -O2 tests/math/remez.c -lm -o /tmp/remez && /tmp/remez
 *
 * It finds q(r) = r + r^2 * (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4) that
 * minimises the largest RELATIVE error of q against e^r - 1 on
 * [-R, R], R = ln(2)/2 plus a margin for the rounding of the reduction
 * (the reduced argument can leave ln(2)/2 by a few ulps). Minimising the
 * relative error of e^r - 1 (and not of e^r) keeps q accurate near r = 0,
 * where lenetgen_tanhf uses it directly; the relative error of 1 + q
 * against e^r is then smaller still.
 *
 * Method: Remez exchange in long double. Unknowns c2..c6 and the levelled
 * error E; each step solves, at 6 reference points x_i,
 *     x_i^2 * (c2 + ... + c6 x_i^4) - g(x_i) = (-1)^i E |e^x_i - 1|
 * with g(x) = e^x - 1 - x, then moves the references to the alternating
 * extrema of the error found on a dense grid.
 * The coefficients are then rounded to float and the error is re-measured.
 */
#include <math.h>
#include <stdio.h>

#ifndef NCOEF
#define NCOEF 5 /* c2..c6; -DNCOEF=6 adds c7 */
#endif
#define NREF (NCOEF + 1) /* reference points */
#define GRID 200000

static long double g_exact(long double x) /* e^x - 1 - x, accurate near 0 */
{
    if (fabsl(x) < 0.01L) {
        long double term = x * x / 2.0L, sum = 0.0L;
        int k;
        for (k = 3; k < 20; k++) {
            sum += term;
            term *= x / (long double)k;
        }
        return sum;
    }
    return expm1l(x) - x;
}

static long double em1_exact(long double x) { return g_exact(x) + x; }

static long double poly(const long double *c, long double x)
{
    long double p = 0.0L;
    int j;
    for (j = NCOEF - 1; j >= 0; j--)
        p = p * x + c[j];
    return x * x * p;
}

/* What the error is relative to: |e^x - 1| by default, e^x with -DEXP_FIT. */
static long double scale(long double x)
{
#ifdef EXP_FIT
    return expl(x);
#else
    return fabsl(em1_exact(x));
#endif
}

/* relative error of x + poly against e^x - 1, signed as the Remez system
 * counts it (divided by a positive scale, so the weight keeps one sign) */
static long double err(const long double *c, long double x)
{
    if (x == 0.0L)
        return 0.0L;
    return (x + poly(c, x) - em1_exact(x)) / scale(x);
}

static void solve(long double a[NREF][NREF + 1])
{
    int i, j, k;
    for (i = 0; i < NREF; i++) {
        int piv = i;
        for (k = i + 1; k < NREF; k++)
            if (fabsl(a[k][i]) > fabsl(a[piv][i]))
                piv = k;
        for (j = 0; j <= NREF; j++) {
            long double t = a[i][j];
            a[i][j] = a[piv][j];
            a[piv][j] = t;
        }
        for (k = 0; k < NREF; k++) {
            long double f;
            if (k == i)
                continue;
            f = a[k][i] / a[i][i];
            for (j = i; j <= NREF; j++)
                a[k][j] -= f * a[i][j];
        }
    }
    for (i = 0; i < NREF; i++)
        a[i][NREF] /= a[i][i];
}

int main(void)
{
    const long double R = 0.34657359027997265L * (1.0L + 1e-4L); /* see the header */
    long double ref[NREF], c[NCOEF], a[NREF][NREF + 1];
    int i, j, it;
    float cf[NCOEF];
    long double maxf = 0.0L;

    for (i = 0; i < NREF; i++) /* Chebyshev extrema, none at 0 */
        ref[i] = -R * cosl(3.14159265358979323846L * (long double)i / (NREF - 1));
    for (it = 0; it < 30; it++) {
        long double ext[NREF], best = 0.0L, prev_x = -R;
        int n = 0, sign = 0;
        for (i = 0; i < NREF; i++) {
            long double x = ref[i], xp = x * x;
            for (j = 0; j < NCOEF; j++) {
                a[i][j] = xp;
                xp *= x;
            }
            a[i][NCOEF] = ((i & 1) ? -1.0L : 1.0L) * scale(x);
            a[i][NREF] = g_exact(x);
        }
        solve(a);
        for (j = 0; j < NCOEF; j++)
            c[j] = a[j][NREF];
        /* alternating extrema on a grid: keep the largest |err| of each run of one sign */
        for (i = 0; i <= GRID; i++) {
            long double x = -R + 2.0L * R * (long double)i / GRID;
            long double e = err(c, x);
            int s = e > 0 ? 1 : -1;
            if (x == 0.0L)
                continue;
            if (s != sign) {
                if (sign != 0 && n < NREF)
                    ext[n++] = prev_x;
                sign = s;
                best = 0.0L;
            }
            if (fabsl(e) >= best) {
                best = fabsl(e);
                prev_x = x;
            }
        }
        if (n < NREF)
            ext[n++] = prev_x;
        if (n != NREF) {
            fprintf(stderr, "remez: %d extrema, expected %d\n", n, NREF);
            return 1;
        }
        for (i = 0; i < NREF; i++)
            ref[i] = ext[i];
        if (it == 29)
            printf("levelled relative error E = %.3Le (2^%.2f)\n", a[NCOEF][NREF],
                   (double)log2l(fabsl(a[NCOEF][NREF])));
    }
    for (j = 0; j < NCOEF; j++) {
        cf[j] = (float)c[j];
        printf("c%d = %.9Le -> float %a (%.9e)\n", j + 2, c[j], (double)cf[j], (double)cf[j]);
    }
    for (j = 0; j < NCOEF; j++)
        c[j] = (long double)cf[j];
    for (i = 0; i <= GRID; i++) {
        long double x = -R + 2.0L * R * (long double)i / GRID;
        if (fabsl(err(c, x)) > maxf)
            maxf = fabsl(err(c, x));
    }
    printf("with float coefficients: max relative error %.3Le (2^%.2f)\n", maxf,
           (double)log2l(maxf));
    return 0;
}
