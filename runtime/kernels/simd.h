/* simd.h: the AVX-512 and AVX2 paths of the CPU kernels (x86 only; the plain C
 * kernels stay the reference and the fallback). cpu_features.c picks the ISA
 * at start; linear(), moe_experts() and mla_attend() dispatch here.
 *
 * The canonical dot product (both ISAs, bit for bit). A weight row of K
 * columns is read in chunks (32 f32 or bf16 values, 64 FP8 codes); each
 * chunk gives 2 or 4 vectors of 16 f32 lanes, in this order:
 *   bf16, f32  first the even columns (lane j = column 32i + 2j), then the
 *              odd ones (lane j = 32i + 2j + 1): the same for both, so a
 *              matrix widened from bf16 to f32 computes the same bits
 *   FP8   four vectors of 8-column groups: vector g holds columns
 *         64i + 32(g / 2) + 8(g % 2) + [0, 8) in lanes 0-7 and the 8 columns
 *         16 further on in lanes 8-15 (the order vgf2p8affineqb + vpunpck
 *         produce); each code as binary16, exactly code * 2^-8, the 2^8
 *         folded into the activation: x is multiplied by (block scale * 2^8)
 *         once per 128-row block, so each product is code * fl(x * scale * 2^8) * 2^-8
 * Each (row, token) has one 16-lane accumulator, one fused multiply-add per
 * vector in chunk order (a missing tail is zeros and changes nothing), then
 * the lanes are summed in a fixed tree: j + j+8, + j+4, + j+2, + j+1. The
 * activations are laid out the same way once per call ("prepared"). So a
 * result depends on the row, the token's own activations and the shape only:
 * not on how many tokens share the step, their order, the micro-kernel that
 * computed it (one token in registers, a few tokens, or a panel of weights
 * converted to f32 for many tokens: the same FMAs in the same order), nor on
 * the threads, which split whole rows.
 *
 * bf16 activations (a matrix's act, bf16 weights only): the activations are
 * rounded to bf16 (f32_round_bf16) and each chunk's two vectors are taken
 * odd columns first, then even, with denormals read as zero and results
 * flushed (MXCSR's DAZ and FTZ during the call, for the lane sums too): the
 * order and arithmetic of AVX-512 BF16's vdpbf16ps, which computes these
 * products where the CPU has it (x86/simd_bf16dot.h) and which the other
 * ISAs emulate exactly. */
#ifndef DF_KERNELS_SIMD_H
#define DF_KERNELS_SIMD_H

#if !defined(__CUDACC__) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define DF_SIMD 1
#else
#define DF_SIMD 0
#endif

#if DF_SIMD
#include <stdbool.h>
#include <string.h>

#include "../cpu_features.h"
#include "../threads.h"
#include "mat.h"
#include "simd_shapes.h"

/* The vector layer and micro-kernels are forced inline and unrolled (their
 * shapes are constants after inlining); not in sanitizer builds, whose
 * compile time that would multiply by fifty (they are for finding bugs, not
 * for speed; the same operations run in the same order either way). */
#if defined(__SANITIZE_ADDRESS__)
#define DF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DF_SANITIZED 1
#endif
#endif
#define DF_PRAGMA(x) _Pragma(#x)
#ifdef DF_SANITIZED
#define DF_ALWAYS_INLINE
#define DF_UNROLL(n)
#else
#define DF_ALWAYS_INLINE , always_inline
#define DF_UNROLL(n) DF_PRAGMA(GCC unroll n)
#endif

/* The longest row (columns) the SIMD kernels take. */
#define DF_SIMD_MAX_K 65472
/* Per-thread scratch, fixed size (no allocation while running): prepared
 * activations of a group of tokens (512 KB: ~128 tokens of 1024 columns),
 * and panels of converted weights. */
#define DF_XBUF_FLOATS 131072
#define DF_PANEL_FLOATS 65536
/* From this many tokens on, rows are converted once into a panel and reused
 * for every token; below, weights are converted in registers. */
#define DF_PANEL_MIN_TOKENS 6

/* How far ahead (bytes of weight rows) the register kernels prefetch. */
#ifndef DF_PF_AHEAD
#define DF_PF_AHEAD 16384
#endif

/* The kernel kind of bf16 weights with bf16 activations, beside the dtypes
 * (DF_F32, DF_BF16, DF_F8E4M3), which index the kernel tables. */
#define DF_BF16A 3
#define DF_KIND(m) ((m)->dtype == DF_BF16 && (m)->act == DF_ACT_BF16 ? DF_BF16A : (int)(m)->dtype)

/* Heads of one token whose scores and outputs are computed together, and
 * the most heads of one token a thread takes in one pass over the latent
 * cache (each block of positions once for all of them, group by group). */
#define DF_MLA_GROUP 8
#define DF_MLA_PASS 128

static _Thread_local float df_xbuf[DF_XBUF_FLOATS] __attribute__((aligned(64)));
static _Thread_local float df_panel_buf[DF_PANEL_FLOATS] __attribute__((aligned(64)));
_Static_assert(16 * DF_MLA_MAX_ROW <= DF_XBUF_FLOATS, "df_xbuf holds a block of 16 bf16 cache rows widened");

/* ---- AVX-512 ---- */
#include "x86/vec_avx512.h"
#define DF_V(op) df512_##op
#define DF_VT df512_v
#define DF_SF_(f) f##_avx512
#define DF_SF(f) DF_SF_(f)
#define DF_TGT DF_T512
#define DF_MVR 8
#define DF_OR 4
#define DF_OT 4
#define DF_PR 4
#define DF_PT 6
#include "x86/simd_isa.h"
#include "x86/simd_bf16dot.h"
#undef DF_V
#undef DF_VT
#undef DF_SF_
#undef DF_TGT
#undef DF_MVR
#undef DF_OR
#undef DF_OT
#undef DF_PR
#undef DF_PT

/* ---- AVX2 (16 registers of 8 lanes: smaller blocks) ---- */
#include "x86/vec_avx2.h"
#define DF_V(op) df256_##op
#define DF_VT df256_v
#define DF_SF_(f) f##_avx2
#define DF_TGT DF_T256
#define DF_MVR 4
#define DF_OR 2
#define DF_OT 2
#define DF_PR 2
#define DF_PT 3
#include "x86/simd_isa.h"
#undef DF_V
#undef DF_VT
#undef DF_SF_
#undef DF_SF
#undef DF_TGT
#undef DF_MVR
#undef DF_OR
#undef DF_OT
#undef DF_PR
#undef DF_PT

/* df_simd_gemm_n's kernels in the ISA in effect. */
static inline int df_simd_gemm_isa(const struct df_mat *m, int nm, const float *x, size_t ldx, const int *xrow,
                                   int n, float *const *y, size_t ldy, int r0, int r1)
{
    if (DF_KIND(m) == DF_BF16A && df_isa >= DF_ISA_AVX512BF16)
        return gemm_bf16dot(m, nm, x, ldx, xrow, n, y, ldy, r0, r1);
    if (df_isa >= DF_ISA_AVX512)
        return gemm_avx512(m, nm, x, ldx, xrow, n, y, ldy, r0, r1);
    return df_isa == DF_ISA_AVX2 ? gemm_avx2(m, nm, x, ldx, xrow, n, y, ldy, r0, r1) : -1;
}

/* y[i][t * ldy + r - r0] = dot(row r of m[i], x row xrow[t] (or t)) for rows
 * [r0, r1), n tokens and nm matrices of one shape and type (bf16 activations:
 * under MXCSR's FTZ and DAZ for the call). -1 if there is no SIMD path for
 * this shape. */
static inline int df_simd_gemm_n(const struct df_mat *m, int nm, const float *x, size_t ldx, const int *xrow, int n,
                                 float *const *y, size_t ldy, int r0, int r1)
{
    if (DF_KIND(m) != DF_BF16A)
        return df_simd_gemm_isa(m, nm, x, ldx, xrow, n, y, ldy, r0, r1);
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ, DAZ */
    const int rc = df_simd_gemm_isa(m, nm, x, ldx, xrow, n, y, ldy, r0, r1);
    _mm_setcsr(csr);
    return rc;
}

/* The same for one matrix: y[t * ldy + r - r0]. */
static inline int df_simd_gemm(const struct df_mat *m, const float *x, size_t ldx, const int *xrow, int n,
                               float *y, size_t ldy, int r0, int r1)
{
    return df_simd_gemm_n(m, 1, x, ldx, xrow, n, &y, ldy, r0, r1);
}

/* x += y over n floats. */
static inline void df_simd_add(float *x, const float *y, size_t n)
{
    if (df_isa >= DF_ISA_AVX512)
        add_avx512(x, y, n);
    else
        add_avx2(x, y, n);
}

/* o = x * s * w over n floats (o may be x): each product as in plain C. */
static inline void df_simd_scale_mul(float *o, const float *x, float s, const float *w, size_t n)
{
    if (df_isa >= DF_ISA_AVX512)
        scale_mul_avx512(o, x, s, w, n);
    else
        scale_mul_avx2(o, x, s, w, n);
}

/* g = silu(g) * u over n floats (vectorized exp: not expf's bits). */
static inline void df_simd_silu_mul(float *g, const float *u, size_t n)
{
    if (df_isa >= DF_ISA_AVX512)
        silu_mul_avx512(g, u, n);
    else
        silu_mul_avx2(g, u, n);
}

/* Threads split the rows in blocks of this many (a multiple of every
 * micro-kernel's row count). */
#define DF_ROW_BLOCK 16

#endif /* DF_SIMD */
#endif
