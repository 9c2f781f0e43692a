static float act_tanh(float v)
{
    return lenetgen_tanhf(v);
}
