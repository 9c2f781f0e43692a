/* Non-finite weights (generated with --allow-nonfinite). */
#if defined(__GNUC__)
#define LG_NAN (__builtin_nanf(""))
#define LG_INF (__builtin_inff())
#else
#include <math.h>
#define LG_NAN NAN
#define LG_INF INFINITY
#endif
