static float act_relu(float v)
{
    return (v > 0.0f) ? v : 0.0f;
}
