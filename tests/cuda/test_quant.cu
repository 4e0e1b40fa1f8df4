/* test_quant.cu: host tests of the activation quantization (runtime/cuda/quant.cuh)
 * and of the scale layouts of lt_gemm.h, run on the CPU in CI. Compiled by nvcc,
 * so the DF_HD functions are the very ones the device kernel compiles.
 *
 * The e4m3 rounding is checked against two references: the nearest code found by
 * search over all 254 finite codes (decoded by the runtime's e4m3_to_f32), ties to
 * the even code; and cuda_fp8.h's __nv_cvt_float_to_fp8(x, __NV_SATFINITE,
 * __NV_E4M3), NVIDIA's host emulation of the hardware conversion. Inputs: every
 * code's value, every midpoint between neighbouring codes and the floats next to
 * it, the saturation and underflow edges, and random floats over the whole range.
 * Prints "ok NAME" / "FAIL NAME: detail" per case, then "N passed, M failed". */
#include <cuda_fp8.h>

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vector>

#include "host_test.h"

#include "kernels/mat.h"
#include "quant.cuh"


static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* The reference: the nearest finite code by search, ties to the even code (the one whose
 * 3-bit mantissa, hence whose code, is even), 448 and beyond to 448, NaN to the NaN code. */
static uint8_t ref_e4m3(float x)
{
    if (isnan(x))
        return 0x7f;
    const uint8_t sign = signbit(x) ? 0x80 : 0;
    const double a = fabs((double)x);
    if (a >= 448.0)
        return sign | 0x7e;
    int best = 0;
    double best_d = INFINITY;
    for (int c = 0; c <= 0x7e; c++) {
        const double d = fabs((double)e4m3_to_f32((uint8_t)c) - a);
        if (d < best_d || (d == best_d && c % 2 == 0)) {
            best = c;
            best_d = d;
        }
    }
    return sign | (uint8_t)best;
}

static uint8_t nv_e4m3(float x)
{
    return (uint8_t)__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);
}

/* f32_to_e4m3(x) against both references. */
static void check_one(float x)
{
    const uint8_t got = f32_to_e4m3(x), want = ref_e4m3(x), nv = nv_e4m3(x);
    CHECK(got == want, "x = %a (%.9g): got 0x%02x, nearest-even search 0x%02x", (double)x, (double)x, got, want);
    CHECK(got == nv, "x = %a (%.9g): got 0x%02x, __nv_cvt_float_to_fp8 0x%02x", (double)x, (double)x, got, nv);
}

static void check_both_signs(float x)
{
    check_one(x);
    check_one(-x);
}

static void test_codes(void)
{
    case_begin("f32_to_e4m3: every code's value maps back to the code; e4m3_to_f32 inverts it");
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7f) == 0x7f)
            continue;
        const float v = e4m3_to_f32((uint8_t)c);
        CHECK(f32_to_e4m3(v) == c, "code 0x%02x (%g) -> 0x%02x", c, (double)v, f32_to_e4m3(v));
        check_one(v);
    }
    CHECK(f32_to_e4m3(0.0f) == 0x00 && f32_to_e4m3(-0.0f) == 0x80, "signed zeros");
    case_end();
}

static void test_midpoints(void)
{
    case_begin("f32_to_e4m3: midpoints round to even, their neighbour floats to the nearer code");
    for (int c = 0; c < 0x7e; c++) {
        const float lo = e4m3_to_f32((uint8_t)c), hi = e4m3_to_f32((uint8_t)(c + 1));
        const float mid = (float)(((double)lo + (double)hi) / 2.0); /* exact: 5 significant bits */
        CHECK((double)mid == ((double)lo + (double)hi) / 2.0, "midpoint of 0x%02x not exact", c);
        CHECK(f32_to_e4m3(mid) == (c % 2 == 0 ? c : c + 1), "midpoint of 0x%02x/0x%02x -> 0x%02x", c, c + 1,
              f32_to_e4m3(mid));
        CHECK(f32_to_e4m3(nextafterf(mid, 0.0f)) == c, "just below the midpoint of 0x%02x", c);
        CHECK(f32_to_e4m3(nextafterf(mid, INFINITY)) == c + 1, "just above the midpoint of 0x%02x", c);
        for (int d = -3; d <= 3; d++)
            check_both_signs(from_bits(to_bits(mid) + (uint32_t)d));
    }
    case_end();
}

static void test_edges(void)
{
    case_begin("f32_to_e4m3: saturation at 448, infinity, NaN, underflow below 2^-10, float subnormals");
    const float sat[] = { 448.0f, 448.5f, 463.99f, 464.0f, 464.01f, 480.0f, 1e6f, 3.4e38f, INFINITY };
    for (float x : sat) {
        CHECK(f32_to_e4m3(x) == 0x7e && f32_to_e4m3(-x) == 0xfe, "%g does not saturate to +-448", (double)x);
        check_both_signs(x);
    }
    CHECK(f32_to_e4m3(447.0f) == 0x7e && f32_to_e4m3(431.0f) == 0x7d, "447 -> 448, 431 -> 416");
    check_both_signs(NAN);
    CHECK(f32_to_e4m3(NAN) == 0x7f && f32_to_e4m3(-NAN) == 0x7f, "NaN -> 0x7f whatever its sign");
    CHECK(f32_to_e4m3(0x1p-10f) == 0x00, "2^-10 (half the smallest subnormal) is a tie: to 0");
    CHECK(f32_to_e4m3(nextafterf(0x1p-10f, 1.0f)) == 0x01, "just above 2^-10: the smallest subnormal");
    CHECK(f32_to_e4m3(0x1.8p-9f) == 0x02, "1.5 x 2^-9 is a tie between codes 1 and 2: to 2");
    CHECK(f32_to_e4m3(0x1p-6f) == 0x08 && f32_to_e4m3(0x1.ep-7f) == 0x08, "2^-6 and 0.9375 x 2^-6: min normal");
    const float tiny[] = { 0x1p-11f, 0x1p-12f, 0x1p-30f, 0x1p-126f, 0x1p-149f, 0x1.fffffep-11f };
    for (float x : tiny)
        check_both_signs(x);
    case_end();
}

static void test_random(void)
{
    case_begin("f32_to_e4m3: 2 million random floats (2^-14 .. 2^10 and every bit pattern) = both references");
    for (int i = 0; i < 1000000; i++) {
        const float x = (float)(ldexp(1.0 + rnd_unit(), (int)(rnd64() % 25) - 14) * (rnd64() & 1 ? -1.0 : 1.0));
        check_one(x);
        check_one(from_bits((uint32_t)rnd64()));
    }
    case_end();
}

static double dequant(uint8_t c, float s)
{
    return (double)e4m3_to_f32(c) * (double)s;
}

static void test_block(void)
{
    case_begin("act_quant_block: scale amax/448, the largest to +-448, zero block, error bounds");
    float x[128];
    uint8_t q[128];
    for (int i = 0; i < 128; i++)
        x[i] = 0.0f;
    float s = act_quant_block(x, 128, q);
    CHECK(s == DF_ACT_AMAX_FLOOR / 448.0f && isnormal(s), "zero block: scale %g", (double)s);
    for (int i = 0; i < 128; i++)
        CHECK(q[i] == 0 && dequant(q[i], s) == 0.0, "zero block: code %d is 0x%02x", i, q[i]);
    x[77] = -3.0f;
    s = act_quant_block(x, 128, q);
    CHECK(s == 3.0f / 448.0f && q[77] == 0xfe, "one value -3: scale %g code 0x%02x", (double)s, q[77]);
    for (int trial = 0; trial < 2000; trial++) {
        const int n = 1 + (int)(rnd64() % 128);
        const double mag = ldexp(1.0, (int)(rnd64() % 60) - 30);
        float amax = 0.0f;
        for (int i = 0; i < n; i++) {
            x[i] = (float)((2.0 * rnd_unit() - 1.0) * mag * (rnd64() % 8 == 0 ? 30.0 : 1.0));
            amax = fmaxf(amax, fabsf(x[i]));
        }
        s = act_quant_block(x, n, q);
        CHECK(s == amax / 448.0f, "scale %g, amax/448 %g", (double)s, (double)(amax / 448.0f));
        for (int i = 0; i < n; i++) {
            CHECK(q[i] == f32_to_e4m3(x[i] / s), "code %d not f32_to_e4m3(x / s)", i);
            if (fabsf(x[i]) == amax)
                CHECK((q[i] & 0x7f) == 0x7e, "the block's largest value %g is code 0x%02x, not +-448", (double)x[i],
                      q[i]);
            /* half a step: 2^-4 relative for normal codes, 2^-10 s below 2^-6 s (subnormal
             * steps of 2^-9 s), plus the rounding of x / s (a few ulps of f32) */
            const double err = fabs(dequant(q[i], s) - (double)x[i]);
            const double bound = fmax(0x1p-4 * fabs((double)x[i]), 0x1p-10 * (double)s) * (1.0 + 0x1p-20);
            CHECK(err <= bound, "x %g: dequantized %g, error %g over %g", (double)x[i], dequant(q[i], s), err, bound);
        }
    }
    case_end();
}

static void test_rows(void)
{
    case_begin("act_quant_host: partial last block, blocks independent, scales at df_fp8_xscale_index");
    const int m = 3, k = 200; /* blocks of 128 and 72 columns */
    std::vector<float> x((size_t)m * k);
    for (auto &v : x)
        v = (float)(2.0 * rnd_unit() - 1.0);
    x[(size_t)1 * k + 150] = 50.0f;   /* token 1's second block only */
    for (int c = 128; c < 200; c++)
        x[(size_t)2 * k + c] = 0.0f;  /* token 2's second block is zero */
    std::vector<uint8_t> q((size_t)m * k);
    std::vector<float> scale(df_fp8_xscale_count(m, k), -1.0f);
    act_quant_host(x.data(), m, k, q.data(), scale.data());
    for (int t = 0; t < m; t++)
        for (int kb = 0; kb < 2; kb++) {
            const int c0 = kb * 128, n = kb == 0 ? 128 : 72;
            std::vector<uint8_t> qb(n);
            const float s = act_quant_block(&x[(size_t)t * k + c0], n, qb.data());
            CHECK(scale[(size_t)kb * m + t] == s, "token %d block %d: scale %g, want %g at kb * m + t", t, kb,
                  (double)scale[(size_t)kb * m + t], (double)s);
            CHECK(memcmp(qb.data(), &q[(size_t)t * k + c0], (size_t)n) == 0, "token %d block %d: codes", t, kb);
        }
    CHECK(scale[(size_t)1 * m + 1] == 50.0f / 448.0f, "token 1 block 1: amax 50 over the 72 columns");
    CHECK(scale[(size_t)0 * m + 1] != 50.0f / 448.0f, "token 1 block 0 saw the other block's 50");
    CHECK(scale[(size_t)1 * m + 2] == DF_ACT_AMAX_FLOOR / 448.0f, "token 2's zero block");
    case_end();
}

static void test_layouts(void)
{
    case_begin("scale layouts: weight rows padded to 4 blocks, activation blocks token-fastest");
    const int ks[] = { 1, 128, 129, 512, 1408, 1536, 2048, 7168, 10944, 18432 };
    const int lds[] = { 4, 4, 4, 4, 12, 12, 16, 56, 88, 144 };
    for (int i = 0; i < 10; i++)
        CHECK(df_fp8_wscale_ld(ks[i]) == lds[i], "k %d: ld %d, want %d", ks[i], df_fp8_wscale_ld(ks[i]), lds[i]);
    CHECK(df_fp8_wscale_count(576, 7168) == 5 * 56, "576 x 7168: %zu scales", df_fp8_wscale_count(576, 7168));
    CHECK(df_fp8_wscale_count(2048, 1408) == 16 * 12, "2048 x 1408");
    CHECK(df_fp8_wscale_index(130, 1407, 1408) == 1 * 12 + 10, "W[130][1407] of 2048 x 1408");
    CHECK(df_fp8_wscale_index(127, 128, 7168) == 1 && df_fp8_wscale_index(128, 0, 7168) == 56, "block edges");
    CHECK(df_fp8_xscale_index(4, 2, 7) == 2 * 7 + 4 && df_fp8_xscale_count(7, 200) == 14, "activation scales");
    case_end();
}

int main(void)
{
    rng = 0x2545f4914f6cdd1dull;
    test_codes();
    test_midpoints();
    test_edges();
    test_random();
    test_block();
    test_rows();
    test_layouts();
    return host_test_summary();
}
