/* cpu_features.h: which instruction set the CPU kernels use.
 *
 * Chosen once, before main (a constructor in cpu_features.c): the best of
 * AVX-512 with its bf16 dot product (AVX512_BF16, taken only where that
 * instruction is measured faster than f32 FMAs), AVX-512, AVX2 and plain C
 * that this CPU and its operating system support (cpuid for the
 * instructions, xgetbv for the saved register state), or the environment
 * variable DF_ISA=scalar|avx2|avx512|avx512bf16 to ask for less. A request
 * above what the machine supports is lowered, so no path can ever execute an
 * illegal instruction.
 *
 * AVX2, AVX-512 and AVX-512 BF16 compute bit-identical results (the same
 * 16-lane order, the AVX2 path holds each 16-lane vector as two 8-lane
 * halves; the bf16 dot product only runs the bf16-activation products,
 * which the others emulate exactly); the plain C reference sums in column
 * order and may differ in the last bits. See docs/cpu-performance.md and
 * docs/numerics.md. */
#ifndef DF_CPU_FEATURES_H
#define DF_CPU_FEATURES_H

enum df_isa { DF_ISA_SCALAR = 0, DF_ISA_AVX2 = 1, DF_ISA_AVX512 = 2, DF_ISA_AVX512BF16 = 3 };

/* The ISA the kernels use now. */
extern int df_isa;

/* The best ISA this machine supports (detected once). */
int df_isa_supported(void);

/* Use isa, lowered to what the machine supports; returns the ISA in effect.
 * Not while a step runs. */
int df_isa_set(int isa);

/* "scalar", "avx2", "avx512", "avx512bf16"; df_isa_parse returns -1 for anything else. */
const char *df_isa_name(int isa);
int df_isa_parse(const char *name);

#endif
