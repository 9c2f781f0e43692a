static float lenetgen_tanhf(float v)
{
    return tanhf(v);
}
