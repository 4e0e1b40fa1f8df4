/* argmax.h: the order every argmax of the project picks by: the MoE routing's
 * on the GPU, and the greedy token on both backends (df_argmax, the CUDA
 * backend's greedy_tokens). The larger value wins, ties go to the lower index,
 * and a NaN counts as -inf (never above another value). That is a total order
 * on (value, index) pairs, so any reduction order (a scan, a warp's xor
 * butterfly, a tree across warps) picks the same winner, NaNs included. */
#ifndef DF_KERNELS_ARGMAX_H
#define DF_KERNELS_ARGMAX_H

#include <math.h>
#include <stdbool.h>

#include "hd.h"

/* Whether candidate (v2, i2) comes before (v, i) in that order; an index < 0 is no candidate. */
static inline DF_HD bool argmax_beats(float v2, int i2, float v, int i)
{
    const float a = v2 != v2 ? -INFINITY : v2, b = v != v ? -INFINITY : v;
    return i2 >= 0 && (i < 0 || a > b || (a == b && i2 < i));
}

/* Keep the better of candidate (*v, *i) and (v2, i2). */
static inline DF_HD void argmax_pick(float *v, int *i, float v2, int i2)
{
    if (argmax_beats(v2, i2, *v, *i)) {
        *v = v2;
        *i = i2;
    }
}

#endif
