/* sum / count rounded half away from zero (TFLite's average pooling). */
static inline int8_t lg_average(int32_t sum, int32_t count)
{
#if defined(LG_DSP)
    /* count a power of two (a constant at each call): floor((sum + count / 2
     * - (sum < 0)) / count) is the same rounding without a branch */
    const int32_t log2_count = (count == 2) ? 1 : ((count == 4) ? 2 : ((count == 8) ? 3 : ((count == 16) ? 4 : 0)));
    if (log2_count > 0) {
        return (int8_t)((sum + (count >> 1) - (sum < 0)) >> log2_count);
    }
#endif
    const int32_t half = count / 2;
    return (int8_t)((sum > 0) ? ((sum + half) / count) : ((sum - half) / count));
}
