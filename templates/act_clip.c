/* layer ${index} (clip): ${bounds} */
static float act_${key}(float v)
{
    ${body}
}
