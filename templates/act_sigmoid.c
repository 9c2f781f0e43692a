static float act_sigmoid(float v)
{
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
    /* no infinity under -ffinite-math-only: e^-v must stay finite */
    if (v < -0x1.5d589ep+6f) {
        return 0.0f; /* sigmoid(v) < 2^-126 */
    }
#endif
    return 1.0f / (1.0f + lenetgen_expf(-v));
}
