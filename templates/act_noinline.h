#if defined(__GNUC__)
static float act_${act}(float v) __attribute__((noinline));
#endif
