/* sample_rows.h: the logits rows the samplers' checks draw from (test_pick on the CPU,
 * sample_check on a GPU): element i of a row of n of one of SAMPLE_ROW_KINDS shapes, from
 * host_rng.h's generator. */
#ifndef DF_SAMPLE_ROWS_H
#define DF_SAMPLE_ROWS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "host_rng.h"

constexpr int SAMPLE_ROW_KINDS = 11;

/* smooth; a coarse grid (many equal weights); with -inf and NaN; all NaN; with +inf; all -inf;
 * all equal; one spike above a few others; arbitrary bit patterns; denormals; +-3e38 */
static inline float sample_row_logit(int kind, int i, int n)
{
    switch (kind) {
    case 0: return rnd_sym(6.0);
    case 1: return (float)(rnd64() % 8) * 0.25f;
    case 2: return rnd64() % 10 == 0 ? (rnd64() % 2 ? -INFINITY : NAN) : rnd_sym(30.0);
    case 3: return NAN;
    case 4: return rnd64() % 50 == 0 ? INFINITY : rnd_sym(3.0);
    case 5: return -INFINITY;
    case 6: return 1.5f;
    case 7: return i == (int)(rnd64() % (uint64_t)n) ? 10.0f : (rnd64() % 3 ? -INFINITY : rnd_sym(40.0));
    case 8: {
        const uint32_t b = (uint32_t)rnd64();
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    case 9: return (rnd64() % 2 ? 1.0f : -1.0f) * (float)ldexp(rnd_unit(), -140);
    default: return rnd64() % 4 ? -3.0e38f : 3.0e38f;
    }
}

#endif
