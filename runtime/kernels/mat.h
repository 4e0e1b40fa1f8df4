/* mat.h: a weight matrix as the packed file stores it, and its row products.
 *
 * Weights stay in their packed type (f32, bf16, or FP8 e4m3 with one f32
 * scale per 128x128 block) and are widened to f32 as they are read; all
 * arithmetic is f32. Every product of a row with a vector sums in one fixed
 * order (column order; for FP8, each 128-column block, then the blocks in
 * order), whatever the batch or thread count: see docs/numerics.md. */
#ifndef DF_KERNELS_MAT_H
#define DF_KERNELS_MAT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../model.h"
#include "hd.h"

#define DF_FP8_BLOCK 128

/* An FP8 matrix's f32 scales, one per 128x128 block: row r / 128 of blocks
 * holds its ceil(cols / 128) column blocks in order, and every such row is
 * padded to a multiple of 4 floats (16 bytes) with zeros. That is the layout
 * cuBLASLt's 128x128 block-scaled FP8 GEMM reads (docs/cuda-fp8-gemm.md), so
 * the packer writes it and the GPU uses the weights' scales as they are; the
 * checkpoint's weight_scale_inv rows are unpadded (they differ where
 * ceil(cols / 128) is not a multiple of 4: the tiny FP8 fixtures; V2-Lite's expert shapes,
 * k = 1408, were they FP8).
 * A macro, so that CUDA templates can use it as a constant. */
#define DF_FP8_SCALE_LD(cols) ((((cols) + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK + 3) / 4 * 4)

/* The activations a product takes (the spec's deploy.activations): f32 as
 * they are, or each rounded to bf16 first (DF_ACT_BF16, bf16 weights only;
 * see f32_round_bf16 and docs/numerics.md), or quantized to e4m3 per 1x128
 * block (DF_ACT_FP8, FP8 weights only). The FP8 quantization is an op of its
 * own before the product (act_quant_fp8, quant.h), which then computes as
 * with f32 inputs (DF_ACT_F32); only the routed experts take DF_ACT_FP8, as
 * they quantize their down projection's input themselves (moe.h). */
enum df_act { DF_ACT_F32 = 0, DF_ACT_BF16 = 1, DF_ACT_FP8 = 2 };

struct df_mat {
    const void *w;        /* rows x cols elements, row-major */
    const float *scale;   /* FP8 only: [ceil(rows/128)][DF_FP8_SCALE_LD(cols)] */
    int rows, cols;
    enum df_dtype dtype;
    enum df_act act;
};

static inline DF_HD float bf16_to_f32(uint16_t v)
{
    uint32_t bits = (uint32_t)v << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* x rounded to bf16 as the AVX-512 BF16 conversions round it (tested against
 * vcvtne2ps2bf16 bit for bit): to nearest even; an input below the normal
 * range becomes a zero of its sign (a normal one never rounds below it);
 * NaN stays NaN. */
static inline DF_HD float f32_round_bf16(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    if ((b & 0x7f800000u) == 0x7f800000u)
        b = b & 0x7fffffu ? (b | 0x400000u) & 0xffff0000u : b;
    else if ((b & 0x7f800000u) == 0)
        b &= 0x80000000u;
    else
        b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The bf16 bits of f32_round_bf16(x). */
static inline DF_HD uint16_t f32_bf16_bits(float x)
{
    const float r = f32_round_bf16(x);
    uint32_t b;
    memcpy(&b, &r, sizeof b);
    return (uint16_t)(b >> 16);
}

/* FP8 e4m3 ("fn": no infinities, S.1111.111 is NaN), exponent bias 7. */
static inline DF_HD float e4m3_to_f32(uint8_t c)
{
    uint32_t sign = (uint32_t)(c & 0x80) << 24, e = (c >> 3) & 15u, m = c & 7u;
    if (e == 15 && m == 7)
        return NAN;
    if (e == 0) { /* subnormal: m * 2^-9 */
        float v = (float)m * 0x1p-9f;
        return sign ? -v : v;
    }
    uint32_t bits = sign | ((e + 127 - 7) << 23) | (m << 20);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Element c of a row, scaled (used where the row is read element by element). */
static inline float mat_elem(const struct df_mat *m, int r, int c)
{
    size_t i = (size_t)r * (size_t)m->cols + (size_t)c;
    switch (m->dtype) {
    case DF_F32: return ((const float *)m->w)[i];
    case DF_BF16: return bf16_to_f32(((const uint16_t *)m->w)[i]);
    case DF_F8E4M3: {
        return e4m3_to_f32(((const uint8_t *)m->w)[i]) *
               m->scale[(size_t)(r / DF_FP8_BLOCK) * DF_FP8_SCALE_LD(m->cols) + c / DF_FP8_BLOCK];
    }
    }
    return NAN;
}

/* sum_c W[r][c] * x[c] */
static inline float mat_dot_row(const struct df_mat *m, int r, const float *x)
{
    const int cols = m->cols;
    float acc = 0.0f;
    if (m->dtype == DF_F32) {
        const float *w = (const float *)m->w + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            acc += w[c] * x[c];
    } else if (m->dtype == DF_BF16 && m->act == DF_ACT_BF16) {
        const uint16_t *w = (const uint16_t *)m->w + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            acc += bf16_to_f32(w[c]) * f32_round_bf16(x[c]);
    } else if (m->dtype == DF_BF16) {
        const uint16_t *w = (const uint16_t *)m->w + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            acc += bf16_to_f32(w[c]) * x[c];
    } else {
        /* Block-scaled FP8: the codes of one 128-column block share a scale,
         * so sum code * x over the block, then scale the partial sum. */
        const uint8_t *w = (const uint8_t *)m->w + (size_t)r * cols;
        const int nb = (cols + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK;
        const float *srow = m->scale + (size_t)(r / DF_FP8_BLOCK) * DF_FP8_SCALE_LD(cols);
        for (int b = 0; b < nb; b++) {
            const int c0 = b * DF_FP8_BLOCK;
            const int c1 = c0 + DF_FP8_BLOCK < cols ? c0 + DF_FP8_BLOCK : cols;
            float part = 0.0f;
            for (int c = c0; c < c1; c++)
                part += e4m3_to_f32(w[c]) * x[c];
            acc += part * srow[b];
        }
    }
    return acc;
}

/* acc[c] += alpha * W[r][c] for every column c */
static inline void mat_axpy_row(const struct df_mat *m, int r, float alpha, float *acc)
{
    for (int c = 0; c < m->cols; c++)
        acc[c] += alpha * mat_elem(m, r, c);
}

#endif
