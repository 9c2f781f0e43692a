/* layer ${index} (leaky_relu): negative_slope ${slope_text} */
static float act_${key}(float v)
{
    return (v > 0.0f) ? v : (v * ${slope});
}
