/* cpu_features.c: detect the instruction set once, before main. */
#include "cpu_features.h"

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
    const int avx2 = (b >> 5) & 1;
    if (!avx2)
        return DF_ISA_SCALAR;
    const int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
              avx512vl = (b >> 31) & 1, gfni = (c >> 8) & 1;
    if (!(avx512f && avx512dq && avx512bw && avx512vl && gfni && (x & 0xe6) == 0xe6)) /* + opmask, ZMM */
        return DF_ISA_AVX2;
    __cpuid_count(7, 1, a, b, c, d);
    if ((a >> 5) & 1) /* AVX512_BF16 */
        return DF_ISA_AVX512BF16;
    return DF_ISA_AVX512;
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
 * then each timed alternately five times, the fastest kept. */
static volatile float calibration_sink; /* the timed results, kept */

static int bf16dot_pays(void)
{
    double tf = 1e9, td = 1e9;
    for (double t0 = seconds(); seconds() - t0 < 1e-4;)
        calibration_sink = fma_chains(1000);
    for (int r = 0; r < 5; r++) {
        double t0 = seconds();
        calibration_sink = fma_chains(1000);
        const double f = seconds() - t0;
        t0 = seconds();
        calibration_sink = dot_chains(1000);
        const double d = seconds() - t0;
        tf = f < tf ? f : tf;
        td = d < td ? d : td;
    }
    return 32.0 / td > 1.25 * (16.0 / tf); /* multiply-adds per second, with a margin */
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
