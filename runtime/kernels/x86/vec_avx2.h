/* vec_avx2.h: the 16-lane f32 vector layer of the AVX2 kernels: each vector
 * is two 8-lane halves (lanes 0-7, 8-15), so every operation, and therefore
 * every result, is the same as the AVX-512 layer's. Requires AVX2, FMA, F16C. */
#ifndef DF_VEC_AVX2_H
#define DF_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define DF_T256 "avx2,fma,f16c"
#define DF_AI256 static inline __attribute__((target(DF_T256) DF_ALWAYS_INLINE))

typedef struct {
    __m256 a, b;
} df256_v;

DF_AI256 df256_v df256_zero(void) { return (df256_v){ _mm256_setzero_ps(), _mm256_setzero_ps() }; }
DF_AI256 df256_v df256_set1(float f) { return (df256_v){ _mm256_set1_ps(f), _mm256_set1_ps(f) }; }
DF_AI256 df256_v df256_load(const float *p) { return (df256_v){ _mm256_loadu_ps(p), _mm256_loadu_ps(p + 8) }; }
DF_AI256 void df256_store(float *p, df256_v v)
{
    _mm256_storeu_ps(p, v.a);
    _mm256_storeu_ps(p + 8, v.b);
}
DF_AI256 df256_v df256_fma(df256_v x, df256_v y, df256_v z)
{
    return (df256_v){ _mm256_fmadd_ps(x.a, y.a, z.a), _mm256_fmadd_ps(x.b, y.b, z.b) };
}
DF_AI256 df256_v df256_add(df256_v x, df256_v y) { return (df256_v){ _mm256_add_ps(x.a, y.a), _mm256_add_ps(x.b, y.b) }; }
DF_AI256 df256_v df256_sub(df256_v x, df256_v y) { return (df256_v){ _mm256_sub_ps(x.a, y.a), _mm256_sub_ps(x.b, y.b) }; }
DF_AI256 df256_v df256_mul(df256_v x, df256_v y) { return (df256_v){ _mm256_mul_ps(x.a, y.a), _mm256_mul_ps(x.b, y.b) }; }
DF_AI256 df256_v df256_div(df256_v a, df256_v b) { return (df256_v){ _mm256_div_ps(a.a, b.a), _mm256_div_ps(a.b, b.b) }; }
DF_AI256 df256_v df256_max(df256_v x, df256_v y) { return (df256_v){ _mm256_max_ps(x.a, y.a), _mm256_max_ps(x.b, y.b) }; }

/* The canonical tree: lanes j + j+8 (the two halves), then + j+4, + j+2, + j+1. */
DF_AI256 float df256_sum(df256_v v)
{
    const __m256 t8 = _mm256_add_ps(v.a, v.b);
    const __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps(t8, 1));
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_shuffle_ps(t2, t2, 1)));
}

DF_AI256 void df256_sum8(df256_v a0, df256_v a1, df256_v a2, df256_v a3, df256_v a4, df256_v a5, df256_v a6,
                       df256_v a7, float out[8])
{
    const df256_v a[8] = { a0, a1, a2, a3, a4, a5, a6, a7 };
    for (int k = 0; k < 8; k++)
        out[k] = df256_sum(a[k]);
}

DF_AI256 void df256_prep_fp8(const float *x, float s, float *xp, size_t vs)
{
    const __m256 sv = _mm256_set1_ps(s);
    static const int src[8] = { 0, 16, 8, 24, 32, 48, 40, 56 }; /* columns of each 8-lane half */
    for (int i = 0; i < 8; i++)
        _mm256_storeu_ps(xp + vs * (size_t)(i / 2) + 8 * (i % 2), _mm256_mul_ps(_mm256_loadu_ps(x + src[i]), sv));
}

DF_AI256 void df256_prep_bf16(const float *x, float *xp, size_t vs)
{
    for (int j = 0; j < 16; j++) {
        xp[j] = x[2 * j];
        xp[vs + j] = x[2 * j + 1];
    }
}

/* 32 activations rounded to bf16, the odd columns, then the even ones (as
 * df512_prep_bf16a). */
DF_AI256 void df256_prep_bf16a(const float *x, float *xp, size_t vs)
{
    for (int j = 0; j < 16; j++) {
        xp[j] = f32_round_bf16(x[2 * j + 1]);
        xp[vs + j] = f32_round_bf16(x[2 * j]);
    }
}

DF_AI256 float df256_hmax(df256_v v)
{
    const __m256 m8 = _mm256_max_ps(v.a, v.b);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

/* The largest of lanes 0..n-1, n >= 1 (the others replaced by -inf). */
DF_AI256 float df256_max_first(df256_v v, int n)
{
    const __m256i i0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), i1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    const __m256i nn = _mm256_set1_epi32(n);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    return df256_hmax((df256_v){ _mm256_blendv_ps(ninf, v.a, _mm256_castsi256_ps(_mm256_cmpgt_epi32(nn, i0))),
                                 _mm256_blendv_ps(ninf, v.b, _mm256_castsi256_ps(_mm256_cmpgt_epi32(nn, i1))) });
}

DF_AI256 void df256_bf16(const uint16_t *p, df256_v *e, df256_v *o)
{
    const __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
    const __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 16));
    const __m256i m = _mm256_set1_epi32((int)0xffff0000u);
    e->a = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16));
    e->b = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16));
    o->a = _mm256_castsi256_ps(_mm256_and_si256(v0, m));
    o->b = _mm256_castsi256_ps(_mm256_and_si256(v1, m));
}

/* 32 f32 values in the bf16 order (even columns, then odd). */
DF_AI256 void df256_f32pair(const float *p, df256_v *e, df256_v *o)
{
    const __m256 a0 = _mm256_loadu_ps(p), a1 = _mm256_loadu_ps(p + 8), b0 = _mm256_loadu_ps(p + 16),
                 b1 = _mm256_loadu_ps(p + 24);
    e->a = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0x88)), 0xd8));
    e->b = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), 0xd8));
    o->a = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0xdd)), 0xd8));
    o->b = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xdd)), 0xd8));
}

/* 16 codes as binary16 words (the AVX-512 layer's pattern): zero-extend,
 * shift into the high byte, arithmetic shift by one, clear bit 14. */
DF_AI256 __m256i df256_fp8_h16(const uint8_t *p)
{
    const __m256i u = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)p)), 8);
    return _mm256_and_si256(_mm256_srai_epi16(u, 1), _mm256_set1_epi16((short)0xbfff));
}

/* The AVX-512 layer's column order: v0 = 0-7 | 16-23, v1 = 8-15 | 24-31, ... */
DF_AI256 void df256_fp8(const uint8_t *p, df256_v out[4])
{
    for (int h = 0; h < 2; h++) {
        const __m256i a = df256_fp8_h16(p + 32 * h), b = df256_fp8_h16(p + 32 * h + 16);
        out[2 * h].a = _mm256_cvtph_ps(_mm256_castsi256_si128(a));
        out[2 * h].b = _mm256_cvtph_ps(_mm256_castsi256_si128(b));
        out[2 * h + 1].a = _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1));
        out[2 * h + 1].b = _mm256_cvtph_ps(_mm256_extracti128_si256(b, 1));
    }
}

DF_AI256 void df256_nat64_f32(const void *p, df256_v out[4])
{
    for (int i = 0; i < 4; i++)
        out[i] = df256_load((const float *)p + 16 * i);
}

DF_AI256 __m256 df256_bf16_8(const uint16_t *p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p)), 16));
}

DF_AI256 void df256_nat64_bf16(const void *p, df256_v out[4])
{
    const uint16_t *q = (const uint16_t *)p;
    for (int i = 0; i < 4; i++)
        out[i] = (df256_v){ df256_bf16_8(q + 16 * i), df256_bf16_8(q + 16 * i + 8) };
}

DF_AI256 void df256_nat64_fp8(const void *p, df256_v out[4])
{
    df256_v v[4];
    df256_fp8((const uint8_t *)p, v);
    out[0] = (df256_v){ v[0].a, v[1].a };
    out[1] = (df256_v){ v[0].b, v[1].b };
    out[2] = (df256_v){ v[2].a, v[3].a };
    out[3] = (df256_v){ v[2].b, v[3].b };
}

DF_AI256 df256_v df256_first(df256_v v, int n)
{
    const __m256i i0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), i1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
    const __m256i nn = _mm256_set1_epi32(n);
    return (df256_v){ _mm256_and_ps(v.a, _mm256_castsi256_ps(_mm256_cmpgt_epi32(nn, i0))),
                      _mm256_and_ps(v.b, _mm256_castsi256_ps(_mm256_cmpgt_epi32(nn, i1))) };
}

DF_AI256 __m256 df256_exp8(__m256 x)
{
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-104.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i b = _mm256_set1_epi32(127);
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, b), 23)));
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, b), 23)));
    return _mm256_andnot_ps(tiny, y);
}

DF_AI256 df256_v df256_exp(df256_v x) { return (df256_v){ df256_exp8(x.a), df256_exp8(x.b) }; }

DF_AI256 __m256i df256_mask8(int n, int base)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - base), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
DF_AI256 df256_v df256_load_first(const float *p, int n)
{
    return (df256_v){ _mm256_maskload_ps(p, df256_mask8(n, 0)), _mm256_maskload_ps(p + 8, df256_mask8(n, 8)) };
}
DF_AI256 void df256_store_first(float *p, df256_v v, int n)
{
    _mm256_maskstore_ps(p, df256_mask8(n, 0), v.a);
    _mm256_maskstore_ps(p + 8, df256_mask8(n, 8), v.b);
}

/* silu(g) = g / (1 + e^-g), from s = e^-|g| <= 1 (no overflow): g / (1 + s)
 * for g >= 0, g s / (1 + s) below; the same operations in both layers. */
DF_AI256 __m256 df256_silu8(__m256 g)
{
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), g), s = df256_exp8(_mm256_sub_ps(_mm256_setzero_ps(), a));
    const __m256 neg = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 num = _mm256_blendv_ps(g, _mm256_mul_ps(g, s), neg);
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), s));
}

DF_AI256 df256_v df256_silu(df256_v g) { return (df256_v){ df256_silu8(g.a), df256_silu8(g.b) }; }

#endif
