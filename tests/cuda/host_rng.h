/* host_rng.h: the random numbers of the CUDA host tests and GPU checks. */
#ifndef DF_HOST_RNG_H
#define DF_HOST_RNG_H

#include <stdint.h>

/* xorshift64*: a fixed sequence, so a failure repeats; a test may reseed rng. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static inline uint64_t rnd64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}
static inline double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static inline float rnd_sym(double a) { return (float)((2.0 * rnd_unit() - 1.0) * a); } /* uniform, -a .. a */

#endif
