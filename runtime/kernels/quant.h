/* quant.h: activations to FP8 e4m3 with one f32 scale per 1x128 block, as
 * DeepSeek-V3 quantizes the input of every FP8 GEMM (inference/kernel.py,
 * act_quant: scale = amax / 448, code = e4m3(x / scale)).
 *
 * Two uses, one arithmetic (DF_HD: the CPU, the CUDA kernels and the host
 * tests run this code):
 *   - codes and scales for a block-scaled FP8 GEMM (runtime/cuda/quant.cuh);
 *   - the FP8-activation precision (deploy.activations = "fp8", docs/numerics.md):
 *     a product with FP8 weights takes its input as code * scale, each value
 *     replaced in place by the one its code stands for (act_quant_fp8_block),
 *     then the FP8 product of mat.h as in the reference precision. */
#ifndef DF_KERNELS_QUANT_H
#define DF_KERNELS_QUANT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hd.h"
#include "mat.h"

#define DF_E4M3_MAX 448.0f
/* The columns that share an activation scale. */
#define DF_ACT_BLOCK 128
/* amax is raised to this before it becomes a scale: a block of zeros gets a finite scale (its
 * codes are 0, exact), and every scale is a normal float (2^-100 / 448 is far above FLT_MIN),
 * so no GEMM can flush it to zero. Real activations are never that small. */
#define DF_ACT_AMAX_FLOOR 0x1p-100f

/* m >> s, rounded to nearest, ties to even (1 <= s <= 31). */
static inline DF_HD uint32_t df_rne_shift(uint32_t m, uint32_t s)
{
    const uint32_t q = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
    return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

/* f32 to e4m3 ("fn": bias 7, no infinities, S.1111.111 NaN): round to nearest, ties to even;
 * magnitudes from 448 (the largest code) up, infinity included, saturate to +-448; any NaN is
 * the canonical NaN code 0x7f. That is cvt.rn.satfinite.e4m3x2.f32, and cuda_fp8.h's
 * __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3), which test_quant compares it with. */
static inline DF_HD uint8_t f32_to_e4m3(float x)
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
static inline DF_HD float act_scale(float amax)
{
    return fmaxf(amax, DF_ACT_AMAX_FLOOR) / DF_E4M3_MAX;
}

/* The code of x in a block of scale s (x / s, as act_quant divides). */
static inline DF_HD uint8_t act_code(float x, float s)
{
    return f32_to_e4m3(x / s);
}

/* The scale of a block of n values (its largest magnitude: a max, the same in any order). */
static inline DF_HD float act_block_scale(const float *x, int n)
{
    float amax = 0.0f;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    return act_scale(amax);
}

/* e4m3_to_f32(f32_to_e4m3(y)), the value of y's code, in float arithmetic and without a
 * branch, so that the quantization loop below vectorizes (test_fp8act checks it against the
 * two functions on every code's neighbourhood and a sweep of the floats):
 *   from 2^-6 (e4m3's smallest normal) up: y's significand rounded to 3 fraction bits, ties to
 *   even (a carry moves into the exponent, as the next code), then at most 448 (saturation,
 *   infinity included);
 *   below: a multiple of 2^-9 (the subnormals' spacing), rounded to nearest even by rintf;
 *   the sign kept (-0 too), NaN as NaN. */
static inline DF_HD float e4m3_round(float y)
{
    const float a = fabsf(y);
    uint32_t b;
    memcpy(&b, &a, sizeof b);
    b = (b + 0x7ffffu + ((b >> 20) & 1u)) & 0xfff00000u;
    float normal;
    memcpy(&normal, &b, sizeof normal);
    normal = fminf(normal, DF_E4M3_MAX);
    const float sub = rintf(a * 512.0f) * 0x1p-9f;
    const float v = copysignf(a >= 0x1p-6f ? normal : sub, y);
    return y != y ? NAN : v;
}

/* One block of n <= 128 values replaced in place by the values of their codes. */
static inline DF_HD void act_quant_fp8_block(float *x, int n)
{
    const float s = act_block_scale(x, n);
    for (int i = 0; i < n; i++)
        x[i] = e4m3_round(x[i] / s) * s;
}

/* A row of dim values, block by block (the last one dim % 128 wide when 128 does not divide dim). */
static inline DF_HD void act_quant_fp8_row(float *x, int dim)
{
    for (int c0 = 0; c0 < dim; c0 += DF_ACT_BLOCK)
        act_quant_fp8_block(x + c0, dim - c0 < DF_ACT_BLOCK ? dim - c0 : DF_ACT_BLOCK);
}

#endif
