/* lt_gemm.h: cuBLASLt GEMMs on Hopper (sm_90) for the linear layers,
 * y[m][n] = sum_k x[m][k] W[n][k]: W is the packed weight [n x k] row-major,
 * x the m tokens' activations [m x k] row-major, y [m x n] row-major. In
 * cuBLAS's column-major terms this is the "TN" GEMM D[n x m] = A^T B with
 * A = W (k x n, lda = k, transposed) and B = x (k x m, ldb = k).
 *
 * DF_LT_FP8_BLOCK is DeepSeek-V3's FP8 recipe: W in e4m3 with one f32 scale per
 * 128x128 block (CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, the checkpoint's
 * weight_scale_inv), x in e4m3 with one f32 scale per 1x128 block of a token
 * (CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, made by df_fp8_act_quant), fp32
 * accumulation, bf16 or f32 output. cuBLAS 12.9 or later, Hopper only.
 * DF_LT_FP8_TENSOR (one scale per tensor) and DF_LT_BF16 are the same GEMM
 * in the plain types: the ceilings that tests/cuda/fp8_gemm_check.cu times
 * it against; DF_LT_BF16 is also the bf16-activation products' GEMM
 * (runtime/cuda/lt_linear.cu).
 *
 * A plan is made once per shape (n, k, m): its descriptors, and the algorithm
 * cublasLtMatmulAlgoGetHeuristic chose then (df_lt_describe prints it);
 * df_lt_fix and df_lt_set_rows run one algorithm at other m. The workspace is
 * the caller's, given to the handle (df_lt_create). Running a plan allocates
 * nothing and only enqueues work on the given stream.
 *
 * Plain C: the generated host code can call it. Details, sources and the
 * GPU check: docs/cuda-fp8-gemm.md. */
#ifndef DF_CUDA_LT_GEMM_H
#define DF_CUDA_LT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/hd.h"
#include "kernels/mat.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the scale layouts of DF_LT_FP8_BLOCK ------------------------------------------------ *
 * Sources: cuBLAS documentation, "Scaling factors layouts"
 * (https://docs.nvidia.com/cuda/cublas/#scaling-factors-layouts), as PyTorch applies it
 * (aten/src/ATen/native/cuda/ScaledBlas.cpp: is_blockwise_1x128_scaling,
 * is_blockwise_128x128_scaling; pytorch/pytorch PR #166752 "Fix DeepSeek scaling tensor
 * handling", which found silent wrong answers without the padding below) and as NVIDIA's
 * sample sizes them (CUDALibrarySamples cuBLASLt/Common/helpers.h, getScaleTensorSize:
 * VEC128 ceil(inner / 128) x outer, BLK128x128 roundup(ceil(inner / 128), 4) x
 * ceil(outer / 128), inner = k here for both operands). The GPU check verifies them and, if
 * they fail, reports which alternative layout cuBLASLt reads instead. */

/* 128-column blocks of a row of k. */
DF_HD static inline int df_fp8_kblocks(int k)
{
    return (k + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK;
}

/* Weights (128x128 blocks): the checkpoint's weight_scale_inv order, one row of k blocks per
 * 128 rows of W, but each row padded to a multiple of 4 floats (16 bytes). The checkpoint's
 * own rows are unpadded: they differ when ceil(k / 128) % 4 != 0 (k = 1408: 11 blocks, 12).
 * It is the packed file's layout (kernels/mat.h, DF_FP8_SCALE_LD). */
DF_HD static inline int df_fp8_wscale_ld(int k)
{
    return DF_FP8_SCALE_LD(k);
}

DF_HD static inline size_t df_fp8_wscale_count(int n, int k)
{
    return (size_t)((n + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK) * (size_t)df_fp8_wscale_ld(k);
}

/* The scale of W[row][col]. */
DF_HD static inline size_t df_fp8_wscale_index(int row, int col, int k)
{
    return (size_t)(row / DF_FP8_BLOCK) * (size_t)df_fp8_wscale_ld(k) + (size_t)(col / DF_FP8_BLOCK);
}

/* Activations (1x128 blocks), "outer-dim-major": block kb of every token, then block kb + 1;
 * the scale of token t's block kb among m tokens. The stride is m itself, unpadded. */
DF_HD static inline size_t df_fp8_xscale_index(int t, int kb, int m)
{
    return (size_t)kb * (size_t)m + (size_t)t;
}

DF_HD static inline size_t df_fp8_xscale_count(int m, int k)
{
    return (size_t)df_fp8_kblocks(k) * (size_t)m;
}

/* Rows a DF_LT_FP8_BLOCK GEMM is planned and run for: m rounded up to a multiple of 4.
 * cuBLASLt 13.1 on an H200 offers no algorithm for m = 1 or 7 and does for 4, 16, 128, ...
 * (tests/cuda/fp8_gemm_check, 2026-11-28), so x, its scales (stride df_fp8_gemm_rows(m)) and
 * y hold that many rows; the extra rows' outputs are not used. */
DF_HD static inline int df_fp8_gemm_rows(int m)
{
    return (m + 3) / 4 * 4;
}

/* ---- plans ------------------------------------------------------------------------------ */

enum df_lt_kind {
    DF_LT_FP8_BLOCK,  /* e4m3 x e4m3, 128x128 weight scales, 1x128 activation scales */
    DF_LT_FP8_TENSOR, /* e4m3 x e4m3, one f32 scale each (device scalars), fast accumulation */
    DF_LT_BF16,       /* bf16 x bf16, no scales */
};

enum df_lt_out { DF_LT_OUT_BF16, DF_LT_OUT_F32 };

struct CUstream_st;     /* cudaStream_t, without the CUDA headers */
struct df_lt;           /* the cuBLASLt handle and the workspace */
struct df_lt_gemm;      /* one shape's plan */

/* The handle, working in the caller's workspace: device memory of workspace_bytes (32 MiB is
 * cuBLAS's advice for Hopper), which must outlive it. NULL with a message in err on failure. */
struct df_lt *df_lt_create(void *workspace, size_t workspace_bytes, char *err, size_t errlen);
void df_lt_destroy(struct df_lt *lt);

/* cuBLASLt's version, as cublasLtGetVersion (13.1.0 is 130100). */
size_t df_lt_version(void);

/* The pointers df_lt_run takes (matrices, not scales) are aligned to this many bytes; the plans
 * ask cuBLASLt for algorithms that need no more (nor more than the rows' strides give). */
#define DF_LT_ALIGN 64u

/* The plan of y = x W^T for W [n x k], x [m x k]: descriptors and up to 8 heuristic candidates,
 * the first one chosen. k must make a row 16 bytes or a multiple (cuBLASLt's alignment): a
 * multiple of 16 for FP8, of 8 for bf16;
 * for DF_LT_FP8_BLOCK m must be a multiple of 4 (df_fp8_gemm_rows).
 * NULL with the reason in err when cuBLASLt offers no algorithm for it. */
struct df_lt_gemm *df_lt_plan(struct df_lt *lt, enum df_lt_kind kind, enum df_lt_out out, int n, int k, int m,
                              char *err, size_t errlen);
void df_lt_plan_destroy(struct df_lt_gemm *g);

/* How many candidates the heuristic returned; run with candidate i from now on (0: its first
 * choice). Returns 0, or -1 if i is out of range. */
int df_lt_candidates(const struct df_lt_gemm *g);
int df_lt_choose(struct df_lt_gemm *g, int i);

/* From now on, run the chosen algorithm on m rows (any m >= 1, the planned one too; a multiple
 * of 4 for DF_LT_FP8_BLOCK) with split-K off: one algorithm, so one order of every output's sum, whatever the
 * number of rows (the batch invariance of the FP8/bf16-activation products on the GPU,
 * runtime/cuda/lt_linear.cu). Returns 0, or the cublasStatus_t of cublasLtMatmulAlgoCheck
 * when the algorithm cannot run m rows. */
int df_lt_set_rows(struct df_lt_gemm *g, int m);

/* One algorithm for every row count a run can have, min_rows, min_rows + step, ... and the
 * planned m: the first candidate, in the heuristic's order, that runs all of them with split-K
 * off (df_lt_set_rows: cublasLtMatmulAlgoCheck, host work only), left chosen and set to the
 * planned rows. Returns 0, or the cublasStatus_t of the last refusal when no candidate does. */
int df_lt_fix(struct df_lt_gemm *g, int min_rows, int step);

/* The chosen algorithm, one line: "cand I/N algo ID tile T stages S splitk K swizzle W cluster C
 * ws BYTES waves X"; tile, stages and cluster are the values of cuBLASLt's enums
 * cublasLtMatmulTile_t, cublasLtMatmulStages_t, cublasLtClusterShape_t (cublasLt.h). ws and
 * waves are the heuristic's figures for the rows last set; df_lt_describe_algo stops before
 * them: what fixes the order of the sums, and nothing else. */
void df_lt_describe(const struct df_lt_gemm *g, char *buf, size_t len);
void df_lt_describe_algo(const struct df_lt_gemm *g, char *buf, size_t len);

/* Enqueue y = x W^T on stream (device pointers). w_scale, x_scale: DF_LT_FP8_BLOCK the layouts
 * above, DF_LT_FP8_TENSOR one float each, DF_LT_BF16 ignored (NULL). Returns 0 or the
 * cublasStatus_t; df_lt_status names it. */
int df_lt_run(struct df_lt_gemm *g, const void *w, const float *w_scale, const void *x, const float *x_scale, void *y,
              struct CUstream_st *stream);
const char *df_lt_status(int status);

/* ---- activation quantization ----------------------------------------------------------- */

/* x [m x k] f32 (device) to e4m3 codes q [m x k] and scales at df_fp8_xscale_index, as
 * act_quant_host (quant.cuh). k a multiple of 4. Returns the launch's cudaError_t (0: ok). */
int df_fp8_act_quant(const float *x, int m, int k, uint8_t *q, float *scale, struct CUstream_st *stream);

/* ---- bf16 input ------------------------------------------------------------------------------ */

/* count floats x (device) as bf16 into out (2 bytes each), rounded as the CPU rounds the bf16
 * precision's inputs (f32_round_bf16, kernels/mat.h: to nearest even, below the normal range to
 * zero): exact for values already rounded so (act_round_bf16). Returns the launch's cudaError_t
 * (0: ok). */
int df_bf16_convert(const float *x, size_t count, uint8_t *out, struct CUstream_st *stream);

#ifdef __cplusplus
}
#endif

#endif
