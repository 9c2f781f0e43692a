/*
 * leaky_relu and prelu on codes (TFLite's quantized LeakyRelu/PReLU): x = q -
 * zero_point_in; x >= 0 times the identity multiplier s_in / s_out, x < 0
 * times the slope's code (+-127, scale |slope| / 127) and its multiplier
 * s_in * s_slope / s_out; plus the output zero point, clamped to [-128, 127].
 */
static inline int8_t lg_slope(int32_t q, int32_t zero_point_in, int32_t multiplier, int32_t shift, int32_t slope,
                              int32_t slope_multiplier, int32_t slope_shift, int32_t zero_point_out)
{
    const int32_t x = q - zero_point_in;
    return (x >= 0) ? lg_requantize(x, multiplier, shift, zero_point_out, -128, 0)
                    : lg_requantize(x * slope, slope_multiplier, slope_shift, zero_point_out, -128, 0);
}
