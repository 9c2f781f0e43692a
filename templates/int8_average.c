/* sum / count rounded half away from zero (TFLite's average pooling). */
static inline int8_t lg_average(int32_t sum, int32_t count)
{
    const int32_t half = count / 2;
    return (int8_t)((sum > 0) ? ((sum + half) / count) : ((sum - half) / count));
}
