/* cpu_features.c: detect the instruction set once, before main. */
#include "cpu_features.h"

#include <stdlib.h>
#include <string.h>

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
    if (avx512f && avx512dq && avx512bw && avx512vl && gfni && (x & 0xe6) == 0xe6) /* + opmask, ZMM */
        return DF_ISA_AVX512;
    return DF_ISA_AVX2;
}
#else
static int detect(void)
{
    return DF_ISA_SCALAR;
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
    return isa == DF_ISA_AVX512 ? "avx512" : isa == DF_ISA_AVX2 ? "avx2" : "scalar";
}

int df_isa_parse(const char *name)
{
    if (!strcmp(name, "avx512"))
        return DF_ISA_AVX512;
    if (!strcmp(name, "avx2"))
        return DF_ISA_AVX2;
    if (!strcmp(name, "scalar"))
        return DF_ISA_SCALAR;
    return -1;
}

/* Before main, so every entry point (CLI, tests, benchmark) starts with the ISA set. */
__attribute__((constructor)) static void df_cpu_features_init(void)
{
    const char *env = getenv("DF_ISA");
    const int want = env && *env ? df_isa_parse(env) : -1;
    df_isa_set(want >= 0 ? want : DF_ISA_AVX512);
}
