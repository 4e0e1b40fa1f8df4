/* cpu_features.c: detect the instruction set once, before main. */
#include "cpu_features.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

/* xgetbv(0): which register states the OS saves on a context switch. */
static unsigned long long xcr0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static int bf16dot_exact(void);

static int detect(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return DF_ISA_SCALAR;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx || !fma || !f16c)
        return DF_ISA_SCALAR;
    const unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6) /* SSE and AVX (YMM) state */
        return DF_ISA_SCALAR;
    if (__get_cpuid_max(0, NULL) < 7)
        return DF_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned int subleaves = a;
    const int avx2 = (b >> 5) & 1;
    if (!avx2)
        return DF_ISA_SCALAR;
    const int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
              avx512vl = (b >> 31) & 1, gfni = (c >> 8) & 1;
    if (!(avx512f && avx512dq && avx512bw && avx512vl && gfni && (x & 0xe6) == 0xe6)) /* + opmask, ZMM */
        return DF_ISA_AVX2;
    if (subleaves < 1)
        return DF_ISA_AVX512;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 5) & 1 && bf16dot_exact() ? DF_ISA_AVX512BF16 : DF_ISA_AVX512; /* AVX512_BF16 */
}

#include <immintrin.h>

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 16 independent chains of n f32 FMAs (16 multiply-adds each), or of n bf16
 * dot products (32 each): more chains than latency x throughput, so each
 * runs at its core's throughput. */
#define DF_CHAINS 16
__attribute__((target("avx512f,fma"))) static float fma_chains(int n)
{
    __m512 a[DF_CHAINS];
    for (int i = 0; i < DF_CHAINS; i++)
        a[i] = _mm512_set1_ps((float)i);
    const __m512 b = _mm512_set1_ps(0.5f), c = _mm512_set1_ps(1.0f);
    for (int k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < DF_CHAINS; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    for (int i = 1; i < DF_CHAINS; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx512f,avx512bf16"))) static float dot_chains(int n)
{
    __m512 a[DF_CHAINS];
    for (int i = 0; i < DF_CHAINS; i++)
        a[i] = _mm512_set1_ps((float)i);
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    for (int k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < DF_CHAINS; i++)
            a[i] = _mm512_dpbf16_ps(a[i], b, b);
    for (int i = 1; i < DF_CHAINS; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    return _mm512_reduce_add_ps(a[0]);
}

/* Whether vdpbf16ps does more multiply-adds per second than f32 FMAs on this
 * core. Either computes the bf16-activation products with the same bits
 * (kernels/simd.h), so only speed decides, and it varies: one instruction
 * of each per cycle would make the dot product twice as fast, but some cores
 * run it at a quarter of the FMA's rate (the Intel Xeon of our development
 * VMs: 0.59 ns against 0.15, half the multiply-adds). About 0.2 ms at start:
 * 512-bit FMAs until the core runs them at full width (it starts slower),
 * then each timed three times, alternately (6 and 25 us here), the fastest
 * kept; the dot product is taken only if 1.25 times faster. */
static volatile float calibration_sink; /* the timed results, kept */

/* Whether this CPU's vdpbf16ps computes what the other ISAs emulate (per f32
 * lane: acc + w[2j+1] x[2j+1], then + w[2j] x[2j], fused multiply-adds with
 * denormal inputs read as zero and denormal results flushed; kernels/simd.h),
 * on operands that tell the candidates apart: cancellations, products and
 * sums in the denormal range, a denormal weight. Checked once; if not, the
 * instruction is never used, so a bf16-activation result is the same on
 * every machine. */
__attribute__((target("avx512f,avx512bf16,fma"))) static int bf16dot_exact(void)
{
    static const uint32_t acc_bits[16] = { 0x3f800000u, 0x00000000u, 0x80000000u, 0x00400000u, 0x4b800000u,
                                           0x3f800001u, 0x00800000u, 0x7f000000u, 0xbf800000u, 0x00000001u,
                                           0x3c000000u, 0x80800000u, 0x40490fdbu, 0x00000000u, 0x3a000000u,
                                           0x0d800000u };
    static const uint16_t w_bits[32] = { 0x3f80, 0x3f80, 0x3f81, 0xbf80, 0x0040, 0x3f80, 0x0080, 0x0080,
                                         0x4b80, 0xcb80, 0x3f80, 0x3380, 0x0080, 0x8080, 0x7f00, 0x4000,
                                         0x3f80, 0xbf80, 0x0001, 0x3f80, 0x3c00, 0x3c00, 0x0080, 0x0000,
                                         0x4049, 0x3f80, 0x2000, 0x2000, 0x3a00, 0xba00, 0x0d80, 0x0d80 };
    static const uint16_t x_bits[32] = { 0x3380, 0xb380, 0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x0080, 0x3f00,
                                         0x3f80, 0x3f80, 0x3f80, 0xbf80, 0x3e80, 0x3e80, 0x4000, 0xc000,
                                         0x3f80, 0x3f80, 0x3f80, 0x3f80, 0x0100, 0x8100, 0x3f80, 0x3f80,
                                         0x3f81, 0x0001, 0x1f00, 0x9f00, 0x3a00, 0x3a00, 0x3380, 0xb380 };
    float acc[16], got[16], want[16], w_odd[16], w_even[16], x_odd[16], x_even[16];
    memcpy(acc, acc_bits, sizeof acc);
    for (int j = 0; j < 16; j++) { /* the operands as f32, each lane's pair split */
        const uint32_t wo = (uint32_t)w_bits[2 * j + 1] << 16, we = (uint32_t)w_bits[2 * j] << 16;
        const uint32_t xo = (uint32_t)x_bits[2 * j + 1] << 16, xe = (uint32_t)x_bits[2 * j] << 16;
        memcpy(&w_odd[j], &wo, sizeof wo);
        memcpy(&w_even[j], &we, sizeof we);
        memcpy(&x_odd[j], &xo, sizeof xo);
        memcpy(&x_even[j], &xe, sizeof xe);
    }
    __m512bh wv, xv;
    memcpy(&wv, w_bits, sizeof wv);
    memcpy(&xv, x_bits, sizeof xv);
    _mm512_storeu_ps(got, _mm512_dpbf16_ps(_mm512_loadu_ps(acc), wv, xv));
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ, DAZ: the emulation's arithmetic */
    const __m512 odd = _mm512_fmadd_ps(_mm512_loadu_ps(w_odd), _mm512_loadu_ps(x_odd), _mm512_loadu_ps(acc));
    _mm512_storeu_ps(want, _mm512_fmadd_ps(_mm512_loadu_ps(w_even), _mm512_loadu_ps(x_even), odd));
    _mm_setcsr(csr);
    return memcmp(got, want, sizeof got) == 0;
}

static int bf16dot_pays(void)
{
    double t[2] = { 1e9, 1e9 }; /* FMAs, dot products */
    for (double t0 = seconds(); seconds() - t0 < 1e-4;)
        calibration_sink = fma_chains(1000);
    for (int r = 0; r < 6; r++) { /* each first in turn */
        const int k = r & 1;
        const double t0 = seconds();
        calibration_sink = k ? dot_chains(3000) : fma_chains(3000);
        const double d = seconds() - t0;
        t[k] = d < t[k] ? d : t[k];
    }
    return 32.0 / t[1] > 1.25 * (16.0 / t[0]); /* multiply-adds per second, with a margin */
}
#else
static int detect(void)
{
    return DF_ISA_SCALAR;
}

static int bf16dot_pays(void)
{
    return 0;
}
#endif

static int supported = -1;
int df_isa = DF_ISA_SCALAR;

int df_isa_supported(void)
{
    if (supported < 0)
        supported = detect();
    return supported;
}

int df_isa_set(int isa)
{
    const int best = df_isa_supported();
    df_isa = isa < DF_ISA_SCALAR ? DF_ISA_SCALAR : isa > best ? best : isa;
    return df_isa;
}

const char *df_isa_name(int isa)
{
    return isa == DF_ISA_AVX512BF16 ? "avx512bf16" : isa == DF_ISA_AVX512 ? "avx512" : isa == DF_ISA_AVX2 ? "avx2" : "scalar";
}

int df_isa_parse(const char *name)
{
    if (!strcmp(name, "avx512bf16"))
        return DF_ISA_AVX512BF16;
    if (!strcmp(name, "avx512"))
        return DF_ISA_AVX512;
    if (!strcmp(name, "avx2"))
        return DF_ISA_AVX2;
    if (!strcmp(name, "scalar"))
        return DF_ISA_SCALAR;
    return -1;
}

/* Before main, so every entry point (CLI, tests, benchmark) starts with the
 * ISA set: the one DF_ISA asks for, else the best, AVX-512 BF16 only where
 * its dot product is the faster. */
__attribute__((constructor)) static void df_cpu_features_init(void)
{
    const char *env = getenv("DF_ISA");
    const int want = env && *env ? df_isa_parse(env) : -1;
    if (want >= 0)
        df_isa_set(want);
    else if (df_isa_set(DF_ISA_AVX512BF16) == DF_ISA_AVX512BF16 && !bf16dot_pays())
        df_isa_set(DF_ISA_AVX512);
}
