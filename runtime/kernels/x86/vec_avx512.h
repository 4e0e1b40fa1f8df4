/* vec_avx512.h: the 16-lane f32 vector layer of the AVX-512 kernels.
 * Included by simd.h before simd_isa.h; see simd.h for the lane layout.
 * Requires AVX512F/BW/DQ/VL, GFNI, FMA, F16C. */
#ifndef DF_VEC_AVX512_H
#define DF_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#define DF_T512 "avx512f,avx512bw,avx512dq,avx512vl,gfni,avx2,fma,f16c"
#define DF_AI512 static inline __attribute__((target(DF_T512) DF_ALWAYS_INLINE))

typedef __m512 df512_v;

DF_AI512 df512_v df512_zero(void) { return _mm512_setzero_ps(); }
DF_AI512 df512_v df512_set1(float f) { return _mm512_set1_ps(f); }
DF_AI512 df512_v df512_load(const float *p) { return _mm512_loadu_ps(p); }
DF_AI512 void df512_store(float *p, df512_v v) { _mm512_storeu_ps(p, v); }
DF_AI512 df512_v df512_fma(df512_v a, df512_v b, df512_v c) { return _mm512_fmadd_ps(a, b, c); }
DF_AI512 df512_v df512_add(df512_v a, df512_v b) { return _mm512_add_ps(a, b); }
DF_AI512 df512_v df512_sub(df512_v a, df512_v b) { return _mm512_sub_ps(a, b); }
DF_AI512 df512_v df512_mul(df512_v a, df512_v b) { return _mm512_mul_ps(a, b); }
DF_AI512 df512_v df512_div(df512_v a, df512_v b) { return _mm512_div_ps(a, b); }
DF_AI512 df512_v df512_max(df512_v a, df512_v b) { return _mm512_max_ps(a, b); }

/* The canonical tree: lanes j + j+8, then + j+4, + j+2, + j+1. */
DF_AI512 float df512_sum(df512_v v)
{
    const __m256 t8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps(t8, 1));
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1)));
}

/* df512_sum of 8 vectors at once (the same tree, so the same bits), by a
 * transposing network: out[k] = sum of a[k]. */
DF_AI512 void df512_sum8(df512_v a0, df512_v a1, df512_v a2, df512_v a3, df512_v a4, df512_v a5, df512_v a6,
                         df512_v a7, float out[8])
{
    /* j + j+8: [a.lo8 + a.hi8 | b.lo8 + b.hi8] */
    const __m512 s0 = _mm512_add_ps(_mm512_shuffle_f32x4(a0, a1, 0x44), _mm512_shuffle_f32x4(a0, a1, 0xee));
    const __m512 s1 = _mm512_add_ps(_mm512_shuffle_f32x4(a2, a3, 0x44), _mm512_shuffle_f32x4(a2, a3, 0xee));
    const __m512 s2 = _mm512_add_ps(_mm512_shuffle_f32x4(a4, a5, 0x44), _mm512_shuffle_f32x4(a4, a5, 0xee));
    const __m512 s3 = _mm512_add_ps(_mm512_shuffle_f32x4(a6, a7, 0x44), _mm512_shuffle_f32x4(a6, a7, 0xee));
    /* + j+4: quarters [a, b, c, d] of four vectors */
    const __m512 u0 = _mm512_add_ps(_mm512_shuffle_f32x4(s0, s1, 0x88), _mm512_shuffle_f32x4(s0, s1, 0xdd));
    const __m512 u1 = _mm512_add_ps(_mm512_shuffle_f32x4(s2, s3, 0x88), _mm512_shuffle_f32x4(s2, s3, 0xdd));
    /* + j+2: quarter q = [a_q, a_q, a_q+4, a_q+4] */
    const __m512 v = _mm512_add_ps(_mm512_shuffle_ps(u0, u1, 0x44), _mm512_shuffle_ps(u0, u1, 0xee));
    /* + j+1: quarter q = [a_q, a_q+4, ...]; then lanes 0, 4, 8, 12 hold a0..a3, lanes 1, 5, 9, 13 a4..a7 */
    const __m512 w = _mm512_add_ps(_mm512_shuffle_ps(v, v, 0x88), _mm512_shuffle_ps(v, v, 0xdd));
    const __m256 r = _mm512_castps512_ps256(_mm512_permutexvar_ps(
        _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 9, 5, 1, 12, 8, 4, 0), w));
    _mm256_storeu_ps(out, r);
}

/* Activations in the layouts above, for one whole chunk, its vectors vs
 * floats apart (16: contiguous). FP8: 64 columns times s, in df512_fp8's
 * column order. bf16: 32 columns, even then odd. */
DF_AI512 void df512_prep_fp8(const float *x, float s, float *xp, size_t vs)
{
    const __m512 sv = _mm512_set1_ps(s);
    const __m512 x0 = _mm512_mul_ps(_mm512_loadu_ps(x), sv), x1 = _mm512_mul_ps(_mm512_loadu_ps(x + 16), sv);
    const __m512 x2 = _mm512_mul_ps(_mm512_loadu_ps(x + 32), sv), x3 = _mm512_mul_ps(_mm512_loadu_ps(x + 48), sv);
    _mm512_storeu_ps(xp, _mm512_shuffle_f32x4(x0, x1, 0x44));
    _mm512_storeu_ps(xp + vs, _mm512_shuffle_f32x4(x0, x1, 0xee));
    _mm512_storeu_ps(xp + 2 * vs, _mm512_shuffle_f32x4(x2, x3, 0x44));
    _mm512_storeu_ps(xp + 3 * vs, _mm512_shuffle_f32x4(x2, x3, 0xee));
}

DF_AI512 void df512_prep_bf16(const float *x, float *xp, size_t vs)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
    _mm512_storeu_ps(xp, _mm512_permutex2var_ps(x0, even, x1));
    _mm512_storeu_ps(xp + vs, _mm512_permutex2var_ps(x0, odd, x1));
}

/* Each lane rounded to bf16 (f32_round_bf16 in mat.h, lane by lane), as f32. */
DF_AI512 __m512 df512_round_bf16(__m512 x)
{
    const __m512i b = _mm512_castps_si512(x), em = _mm512_set1_epi32(0x7f800000), hi = _mm512_set1_epi32((int)0xffff0000u);
    const __m512i e = _mm512_and_si512(b, em);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_and_si512(_mm512_add_epi32(b, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), hi);
    const __mmask16 nan = _mm512_cmpeq_epi32_mask(e, em) & _mm512_test_epi32_mask(b, _mm512_set1_epi32(0x7fffff));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_and_si512(_mm512_or_si512(b, _mm512_set1_epi32(0x400000)), hi));
    const __mmask16 zero = _mm512_testn_epi32_mask(b, em);
    r = _mm512_mask_mov_epi32(r, zero, _mm512_and_si512(b, _mm512_set1_epi32((int)0x80000000u)));
    return _mm512_castsi512_ps(r);
}

/* 32 activations rounded to bf16 in the order of the bf16-activation
 * products (simd.h): the odd columns, then the even ones. */
DF_AI512 void df512_prep_bf16a(const float *x, float *xp, size_t vs)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 x0 = df512_round_bf16(_mm512_loadu_ps(x)), x1 = df512_round_bf16(_mm512_loadu_ps(x + 16));
    _mm512_storeu_ps(xp, _mm512_permutex2var_ps(x0, odd, x1));
    _mm512_storeu_ps(xp + vs, _mm512_permutex2var_ps(x0, even, x1));
}

/* The largest lane (exact whatever the order). */
DF_AI512 float df512_hmax(df512_v v) { return _mm512_reduce_max_ps(v); }
/* The largest of lanes 0..n-1, n >= 1 (exact whatever the order). */
DF_AI512 float df512_max_first(df512_v v, int n) { return _mm512_mask_reduce_max_ps((__mmask16)((1u << n) - 1u), v); }

/* 32 bf16 values: e = the even columns, o = the odd ones, as f32. */
DF_AI512 void df512_bf16(const uint16_t *p, df512_v *e, df512_v *o)
{
    const __m512i v = _mm512_loadu_si512((const void *)p);
    *e = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    *o = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
}

/* 32 f32 values in the bf16 order (even columns, then odd), so that a matrix
 * widened from bf16 to f32 computes the same bits. */
DF_AI512 void df512_f32pair(const float *p, df512_v *e, df512_v *o)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512 x0 = _mm512_loadu_ps(p), x1 = _mm512_loadu_ps(p + 16);
    *e = _mm512_permutex2var_ps(x0, even, x1);
    *o = _mm512_permutex2var_ps(x0, odd, x1);
}

/* 64 FP8 e4m3 codes as f32 times 2^-8: each code b becomes the binary16
 * ((b & 0x7f) << 7) | ((b & 0x80) << 8), exactly code * 2^-8 for normal and
 * subnormal codes alike (the NaN codes S.1111.111 read as +-480 * 2^-8), then
 * vcvtph2ps. Two GF(2) affine byte transforms (vgf2p8affineqb: pure bit
 * permutations) give each code's high byte [b7 0 b6 b5 b4 b3 b2 b1] and low
 * byte [b0 0000000]; byte unpacks pair them into 16-bit words, 8 codes per
 * 128-bit lane, so the four vectors hold columns (see simd.h)
 *   v0: 0-7, 16-23   v1: 8-15, 24-31   v2: 32-39, 48-55   v3: 40-47, 56-63 */
DF_AI512 void df512_fp8(const uint8_t *p, df512_v out[4])
{
    const __m512i c = _mm512_loadu_si512((const void *)p);
    const __m512i hi = _mm512_gf2p8affine_epi64_epi8(c, _mm512_set1_epi64(0x0204081020400080ll), 0);
    const __m512i lo = _mm512_gf2p8affine_epi64_epi8(c, _mm512_set1_epi64(0x0000000000000001ll), 0);
    const __m512i u0 = _mm512_unpacklo_epi8(lo, hi), u1 = _mm512_unpackhi_epi8(lo, hi);
    out[0] = _mm512_cvtph_ps(_mm512_castsi512_si256(u0));
    out[1] = _mm512_cvtph_ps(_mm512_castsi512_si256(u1));
    out[2] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(u0, 1));
    out[3] = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(u1, 1));
}

/* 64 columns in column order, as f32 (FP8: code * 2^-8, as df512_fp8). */
DF_AI512 void df512_nat64_f32(const void *p, df512_v out[4])
{
    for (int i = 0; i < 4; i++)
        out[i] = _mm512_loadu_ps((const float *)p + 16 * i);
}

DF_AI512 void df512_nat64_bf16(const void *p, df512_v out[4])
{
    for (int i = 0; i < 4; i++)
        out[i] = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)((const uint16_t *)p + 16 * i))), 16));
}

DF_AI512 void df512_nat64_fp8(const void *p, df512_v out[4])
{
    df512_v v[4];
    df512_fp8((const uint8_t *)p, v);
    out[0] = _mm512_shuffle_f32x4(v[0], v[1], 0x44);
    out[1] = _mm512_shuffle_f32x4(v[0], v[1], 0xee);
    out[2] = _mm512_shuffle_f32x4(v[2], v[3], 0x44);
    out[3] = _mm512_shuffle_f32x4(v[2], v[3], 0xee);
}

/* Lanes n..15 zeroed. */
DF_AI512 df512_v df512_first(df512_v v, int n) { return _mm512_maskz_mov_ps((__mmask16)((1u << n) - 1u), v); }

/* e^x for x <= 0: Cephes' expf polynomial on r = x - n ln 2, times 2^n as
 * 2^(n/2) 2^(n - n/2) (two exact-or-final-rounding products, so results down
 * in the subnormal range are right); 0 below -104. The same operations as
 * df256_exp, so the same bits. */
DF_AI512 df512_v df512_exp(df512_v x)
{
    const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ);
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i ni = _mm512_cvtps_epi32(n), n1 = _mm512_srai_epi32(ni, 1), n2 = _mm512_sub_epi32(ni, n1);
    const __m512i b = _mm512_set1_epi32(127);
    y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, b), 23)));
    y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, b), 23)));
    return _mm512_maskz_mov_ps((__mmask16)~tiny, y);
}

/* The first n < 16 floats at p (the rest zero), without reading past them. */
DF_AI512 df512_v df512_load_first(const float *p, int n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p); }
DF_AI512 void df512_store_first(float *p, df512_v v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v); }

/* silu(g) = g / (1 + e^-g), from s = e^-|g| <= 1 (no overflow): g / (1 + s)
 * for g >= 0, g s / (1 + s) below; the same operations in both layers. */
DF_AI512 df512_v df512_silu(df512_v g)
{
    const __m512 a = _mm512_abs_ps(g), s = df512_exp(_mm512_sub_ps(_mm512_setzero_ps(), a));
    const __mmask16 neg = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_mul_ps(g, neg, g, s);
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), s));
}

#endif
