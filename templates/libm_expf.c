static float lenetgen_expf(float v)
{
    return expf(v);
}
