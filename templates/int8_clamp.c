/* relu6 and clip on codes: the codes of the real bounds, [low, high]. */
static inline int8_t lg_clamp(int32_t v, int32_t low, int32_t high)
{
    return (int8_t)((v < low) ? low : ((v > high) ? high : v));
}
