static float act_relu6(float v)
{
    return (v > 0.0f) ? ((v < 6.0f) ? v : 6.0f) : 0.0f;
}
