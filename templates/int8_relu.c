/* ReLU on codes: the code of 0.0 is the zero point. */
static inline int8_t lg_relu(int32_t v, int32_t zero_point)
{
    return (int8_t)((v > zero_point) ? v : zero_point);
}
