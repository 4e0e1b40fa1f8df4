/* quant.cuh: activations to FP8 e4m3 with one f32 scale per 1x128 block, as
 * DeepSeek-V3 quantizes them for its FP8 GEMMs (inference/kernel.py, act_quant:
 * scale = amax / 448, code = e4m3(x / scale)): operand B of the block-scaled
 * GEMM of fp8_gemm.h, whose layout of the scales (df_fp8_xscale_index) it writes.
 *
 * The arithmetic is DF_HD: the device kernel (fp8_gemm.cu, a warp per block)
 * and the host run the same code, so CI tests it on the CPU
 * (tests/cuda/test_quant.cu) and the GPU check compares the kernel's output
 * with act_quant_host bit for bit. The warp's amax is a max, exact in any
 * order, so it equals the sequential one here. */
#ifndef DF_CUDA_QUANT_CUH
#define DF_CUDA_QUANT_CUH

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fp8_gemm.h"
#include "kernels/hd.h"

#define DF_E4M3_MAX 448.0f
/* amax is raised to this before it becomes a scale: a block of zeros gets a finite scale (its
 * codes are 0, exact), and every scale is a normal float (2^-100 / 448 is far above FLT_MIN),
 * so no GEMM can flush it to zero. Real activations are never that small. */
#define DF_ACT_AMAX_FLOOR 0x1p-100f

/* m >> s, rounded to nearest, ties to even (1 <= s <= 31). */
DF_HD static inline uint32_t df_rne_shift(uint32_t m, uint32_t s)
{
    const uint32_t q = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
    return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

/* f32 to e4m3 ("fn": bias 7, no infinities, S.1111.111 NaN): round to nearest, ties to even;
 * magnitudes from 448 (the largest code) up, infinity included, saturate to +-448; any NaN is
 * the canonical NaN code 0x7f. That is cvt.rn.satfinite.e4m3x2.f32, and cuda_fp8.h's
 * __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), which test_quant compares it with. */
DF_HD static inline uint8_t f32_to_e4m3(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    const uint8_t sign = (uint8_t)((bits >> 24) & 0x80u);
    const uint32_t a = bits & 0x7fffffffu;
    if (a > 0x7f800000u)
        return 0x7f;
    if (a >= 0x43e00000u) /* 448 = 1.75 x 2^8 */
        return sign | 0x7e;
    const int e = (int)(a >> 23) - 127;
    if (e < -11) /* below 2^-11: under half the smallest subnormal (2^-9), 0 */
        return sign;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u; /* 24-bit significand, x = m 2^(e-23) */
    if (e >= -6) /* normal: keep 3 fraction bits; a carry into the exponent is the next code */
        return sign | (uint8_t)((uint32_t)((e + 7) << 3) + df_rne_shift(m, 20) - 8u);
    return sign | (uint8_t)df_rne_shift(m, (uint32_t)(14 - e)); /* subnormal: units of 2^-9 */
}

/* The scale of a block whose largest magnitude is amax. */
DF_HD static inline float act_scale(float amax)
{
    return fmaxf(amax, DF_ACT_AMAX_FLOOR) / DF_E4M3_MAX;
}

/* The code of x in a block of scale s (x / s, as act_quant divides). */
DF_HD static inline uint8_t act_code(float x, float s)
{
    return f32_to_e4m3(x / s);
}

/* One block of n <= 128 values: its codes, and its scale returned. */
DF_HD static inline float act_quant_block(const float *x, int n, uint8_t *q)
{
    float amax = 0.0f;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    const float s = act_scale(amax);
    for (int i = 0; i < n; i++)
        q[i] = act_code(x[i], s);
    return s;
}

/* x [m x k] row-major to codes q [m x k] and scales at df_fp8_xscale_index (the last block of a
 * row is k % 128 wide when k is not a multiple of 128): what df_fp8_act_quant computes. */
static inline void act_quant_host(const float *x, int m, int k, uint8_t *q, float *scale)
{
    for (int t = 0; t < m; t++)
        for (int kb = 0; kb < df_fp8_kblocks(k); kb++) {
            const int c0 = kb * DF_FP8_K_BLOCK, n = k - c0 < DF_FP8_K_BLOCK ? k - c0 : DF_FP8_K_BLOCK;
            scale[df_fp8_xscale_index(t, kb, m)] = act_quant_block(x + (size_t)t * k + c0, n, q + (size_t)t * k + c0);
        }
}

#endif
