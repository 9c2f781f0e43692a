/*
 * baseline_loops.c: the benchmark's straightforward nested-loops implementation, what a
 * firmware engineer writes by hand: one function per layer kind, plain loops over
 * output channel, row, column and kernel taps, bounds checks for padding (per kernel row,
 * then per tap), one static buffer per conv/pool/linear layer (activations in place), expf
 * from the C library. The layer functions are static inline: every call passes constant
 * sizes, so the compiler can specialise each layer's loops as it would for a hand-written
 * network with #define'd sizes (out of line, LeNet-5 takes about 6.3 M instead of 4.3 M
 * Cortex-M4F instructions at -O2). Semantics are PyTorch's (see the internal contract):
 * C-H-W layout, avgpool divides by the full window (padded zeros counted), maxpool ignores
 * padded taps.
 *
 * The network itself (weights, buffers, the call sequence BL_FORWARD) comes from
 * NAME_net.h, written by bench/export_baseline.lua from the same description and weights
 * the generator reads; compile with -DBL_NET='"NAME_net.h"' -I<its directory>. The result
 * has the generated code's API (NAME_infer, NAME.h), so the same driver and firmware
 * harness run it.
 */
#include <math.h>

#include BL_NET

#if BL_USES_CONV2D
/* in [c_in][h_in][w_in], weight [c_out][c_in][kh][kw], bias [c_out] or NULL,
 * out [c_out][h_out][w_out] with h_out = (h_in + 2 ph - kh) / sh + 1 */
static inline void bl_conv2d(const float *in, int c_in, int h_in, int w_in, const float *weight, const float *bias,
                      int c_out, int kh, int kw, int sh, int sw, int ph, int pw, float *out)
{
    const int h_out = (h_in + 2 * ph - kh) / sh + 1;
    const int w_out = (w_in + 2 * pw - kw) / sw + 1;
    int oc, oy, ox, ic, ky, kx;

    for (oc = 0; oc < c_out; oc++) {
        for (oy = 0; oy < h_out; oy++) {
            for (ox = 0; ox < w_out; ox++) {
                float acc = bias ? bias[oc] : 0.0f;
                for (ic = 0; ic < c_in; ic++) {
                    for (ky = 0; ky < kh; ky++) {
                        const int iy = oy * sh - ph + ky;
                        if (iy < 0 || iy >= h_in)
                            continue; /* padding row */
                        for (kx = 0; kx < kw; kx++) {
                            const int ix = ox * sw - pw + kx;
                            if (ix >= 0 && ix < w_in)
                                acc += weight[((oc * c_in + ic) * kh + ky) * kw + kx] *
                                       in[(ic * h_in + iy) * w_in + ix];
                        }
                    }
                }
                out[(oc * h_out + oy) * w_out + ox] = acc;
            }
        }
    }
}
#endif

#if BL_USES_LINEAR
/* in [n_in], weight [n_out][n_in], bias [n_out] or NULL, out [n_out] */
static inline void bl_linear(const float *in, int n_in, const float *weight, const float *bias, int n_out, float *out)
{
    int o, i;
    for (o = 0; o < n_out; o++) {
        float acc = bias ? bias[o] : 0.0f;
        for (i = 0; i < n_in; i++)
            acc += weight[o * n_in + i] * in[i];
        out[o] = acc;
    }
}
#endif

#if BL_USES_AVGPOOL2D
/* average over the kh x kw window, padded taps counted as zeros */
static inline void bl_avgpool2d(const float *in, int c, int h_in, int w_in, int kh, int kw, int sh, int sw, int ph, int pw,
                         float *out)
{
    const int h_out = (h_in + 2 * ph - kh) / sh + 1;
    const int w_out = (w_in + 2 * pw - kw) / sw + 1;
    const float scale = 1.0f / (float)(kh * kw);
    int ch, oy, ox, ky, kx;

    for (ch = 0; ch < c; ch++) {
        for (oy = 0; oy < h_out; oy++) {
            for (ox = 0; ox < w_out; ox++) {
                float sum = 0.0f;
                for (ky = 0; ky < kh; ky++) {
                    const int iy = oy * sh - ph + ky;
                    if (iy < 0 || iy >= h_in)
                        continue; /* padding row */
                    for (kx = 0; kx < kw; kx++) {
                        const int ix = ox * sw - pw + kx;
                        if (ix >= 0 && ix < w_in)
                            sum += in[(ch * h_in + iy) * w_in + ix];
                    }
                }
                out[(ch * h_out + oy) * w_out + ox] = sum * scale;
            }
        }
    }
}
#endif

#if BL_USES_MAXPOOL2D
/* maximum over the window's taps inside the input (padded taps ignored) */
static inline void bl_maxpool2d(const float *in, int c, int h_in, int w_in, int kh, int kw, int sh, int sw, int ph, int pw,
                         float *out)
{
    const int h_out = (h_in + 2 * ph - kh) / sh + 1;
    const int w_out = (w_in + 2 * pw - kw) / sw + 1;
    int ch, oy, ox, ky, kx;

    for (ch = 0; ch < c; ch++) {
        for (oy = 0; oy < h_out; oy++) {
            for (ox = 0; ox < w_out; ox++) {
                float best = -INFINITY;
                for (ky = 0; ky < kh; ky++) {
                    const int iy = oy * sh - ph + ky;
                    if (iy < 0 || iy >= h_in)
                        continue; /* padding row */
                    for (kx = 0; kx < kw; kx++) {
                        const int ix = ox * sw - pw + kx;
                        if (ix >= 0 && ix < w_in && in[(ch * h_in + iy) * w_in + ix] > best)
                            best = in[(ch * h_in + iy) * w_in + ix];
                    }
                }
                out[(ch * h_out + oy) * w_out + ox] = best;
            }
        }
    }
}
#endif

#if BL_USES_SIGMOID
static inline void bl_sigmoid(float *v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        v[i] = 1.0f / (1.0f + expf(-v[i]));
}
#endif

#if BL_USES_TANH
static inline void bl_tanh(float *v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        v[i] = tanhf(v[i]);
}
#endif

#if BL_USES_RELU
static inline void bl_relu(float *v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (v[i] < 0.0f)
            v[i] = 0.0f;
}
#endif

#if BL_USES_COPY
static inline void bl_copy(const float *in, float *out, int n)
{
    int i;
    for (i = 0; i < n; i++)
        out[i] = in[i];
}
#endif

void BL_INFER(const float *input, float *output)
{
    BL_FORWARD(input, output);
}
