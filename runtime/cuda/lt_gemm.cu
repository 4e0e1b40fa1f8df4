/* lt_gemm.cu: the cuBLASLt plans of lt_gemm.h, the activation
 * quantization kernel (quant.cuh's arithmetic, a warp per 1x128 block) and the
 * bf16 GEMMs' input conversion.
 *
 * cuBLASLt facts relied on (cublasLt.h of CUDA 13.0, cuBLAS 13.1; the
 * CUDALibrarySamples sample cuBLASLt/LtBlk128x128Fp8Matmul):
 *   - compute CUBLAS_COMPUTE_32F, scale type CUDA_R_32F; A/B types
 *     CUDA_R_8F_E4M3 (or CUDA_R_16BF), C = D type CUDA_R_16BF or CUDA_R_32F;
 *     beta = 0, so C is never read (D is passed for it);
 *   - the block modes are set with CUBLASLT_MATMUL_DESC_A_SCALE_MODE /
 *     B_SCALE_MODE (int32 cublasLtMatmulMatrixScale_t) and their tensors
 *     with A_SCALE_POINTER / B_SCALE_POINTER (device pointers); a block mode
 *     without a scale pointer makes the heuristic fail (NVIDIA/
 *     CUDALibrarySamples issue #274), so a plan sets placeholders (the
 *     workspace) until df_lt_run sets the real ones;
 *   - block scaling exists from cuBLAS 12.9, on Hopper only (CUDALibrarySamples
 *     issue #310); it runs without fast accumulation (PyTorch's scaled_gemm
 *     refuses fast accumulation with these modes), the per-tensor ceiling
 *     with it. */
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_gemm.h"
#include "launch.cuh"
#include "quant.cuh"

enum { MAX_CANDIDATES = 8 };

struct df_lt {
    cublasLtHandle_t handle;
    void *workspace;
    size_t workspace_bytes;
};

struct df_lt_gemm {
    struct df_lt *lt;
    enum df_lt_kind kind;
    int m;                  /* the rows it was planned for */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulHeuristicResult_t cand[MAX_CANDIDATES];
    int n_cand, chosen;
};

extern "C" {

size_t df_lt_version(void)
{
    return cublasLtGetVersion();
}

const char *df_lt_status(int status)
{
    return cublasLtGetStatusString((cublasStatus_t)status);
}

struct df_lt *df_lt_create(void *workspace, size_t workspace_bytes, char *err, size_t errlen)
{
    struct df_lt *lt = (struct df_lt *)calloc(1, sizeof *lt);
    if (!lt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cublasStatus_t s = cublasLtCreate(&lt->handle);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cublasLtCreate: %s", cublasLtGetStatusString(s));
        free(lt);
        return NULL;
    }
    lt->workspace = workspace;
    lt->workspace_bytes = workspace_bytes;
    return lt;
}

void df_lt_destroy(struct df_lt *lt)
{
    if (!lt)
        return;
    cublasLtDestroy(lt->handle);
    free(lt);
}

void df_lt_plan_destroy(struct df_lt_gemm *g)
{
    if (!g)
        return;
    if (g->d)
        cublasLtMatrixLayoutDestroy(g->d);
    if (g->b)
        cublasLtMatrixLayoutDestroy(g->b);
    if (g->a)
        cublasLtMatrixLayoutDestroy(g->a);
    if (g->desc)
        cublasLtMatmulDescDestroy(g->desc);
    free(g);
}

/* The alignment a matrix's pointer and leading dimension (ld_bytes) promise: DF_LT_ALIGN, or
 * less where the leading dimension has less (the largest power of two dividing it). */
static uint32_t promised_alignment(uint64_t ld_bytes)
{
    uint32_t a = DF_LT_ALIGN;
    while (ld_bytes % a)
        a /= 2;
    return a;
}

/* The A and B scale pointers of the descriptor. */
static cublasStatus_t set_scales(cublasLtMatmulDesc_t desc, const void *a_scale, const void *b_scale)
{
    cublasStatus_t s = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &a_scale,
                                                      sizeof a_scale);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &b_scale, sizeof b_scale);
    return s;
}

struct df_lt_gemm *df_lt_plan(struct df_lt *lt, enum df_lt_kind kind, enum df_lt_out out, int n, int k, int m,
                              char *err, size_t errlen)
{
    const int k_align = kind == DF_LT_BF16 ? 8 : 16; /* a row of k elements: a multiple of 16 bytes */
    if (n < 1 || m < 1 || k < k_align || k % k_align != 0) {
        snprintf(err, errlen, "n %d, k %d, m %d: need n, m >= 1 and k a multiple of %d", n, k, m, k_align);
        return NULL;
    }
    if (kind == DF_LT_FP8_BLOCK && m != df_fp8_gemm_rows(m)) {
        snprintf(err, errlen, "m %d: the block-scaled FP8 GEMM runs on a multiple of 4 rows (df_fp8_gemm_rows: %d)",
                 m, df_fp8_gemm_rows(m));
        return NULL;
    }
    struct df_lt_gemm *g = (struct df_lt_gemm *)calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->lt = lt;
    g->kind = kind;
    g->m = m;
    const cudaDataType_t in = kind == DF_LT_BF16 ? CUDA_R_16BF : CUDA_R_8F_E4M3;
    const cudaDataType_t dt = out == DF_LT_OUT_F32 ? CUDA_R_32F : CUDA_R_16BF;
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    const char *what = "cublasLtMatmulDescCreate";
    cublasStatus_t s = cublasLtMatmulDescCreate(&g->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    if (s == CUBLAS_STATUS_SUCCESS) {
        what = "transposes";
        s = cublasLtMatmulDescSetAttribute(g->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasLtMatmulDescSetAttribute(g->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    }
    if (s == CUBLAS_STATUS_SUCCESS && kind == DF_LT_FP8_BLOCK) {
        what = "block scale modes";
        const int32_t am = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, bm = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        s = cublasLtMatmulDescSetAttribute(g->desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &am, sizeof am);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasLtMatmulDescSetAttribute(g->desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &bm, sizeof bm);
    }
    if (s == CUBLAS_STATUS_SUCCESS && kind == DF_LT_FP8_TENSOR) {
        what = "fast accumulation";
        const int8_t fast = 1;
        s = cublasLtMatmulDescSetAttribute(g->desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast);
    }
    if (s == CUBLAS_STATUS_SUCCESS && kind != DF_LT_BF16) {
        what = "placeholder scale pointers";
        s = set_scales(g->desc, lt->workspace, lt->workspace);
    }
    if (s == CUBLAS_STATUS_SUCCESS) {
        what = "matrix layouts";
        s = cublasLtMatrixLayoutCreate(&g->a, in, (uint64_t)k, (uint64_t)n, k);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasLtMatrixLayoutCreate(&g->b, in, (uint64_t)k, (uint64_t)m, k);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasLtMatrixLayoutCreate(&g->d, dt, (uint64_t)n, (uint64_t)m, n);
    }
    if (s == CUBLAS_STATUS_SUCCESS) {
        what = "cublasLtMatmulAlgoGetHeuristic";
        cublasLtMatmulPreference_t pref;
        s = cublasLtMatmulPreferenceCreate(&pref);
        if (s == CUBLAS_STATUS_SUCCESS) {
            s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                     &lt->workspace_bytes, sizeof lt->workspace_bytes);
            /* cuBLASLt assumes 256-byte aligned matrices unless told: only algorithms that
             * work at the alignment df_lt_run's pointers have */
            const uint32_t in_align = promised_alignment((uint64_t)k * (kind == DF_LT_BF16 ? 2u : 1u)),
                           out_align = promised_alignment((uint64_t)n * (out == DF_LT_OUT_F32 ? 4u : 2u));
            const cublasLtMatmulPreferenceAttributes_t which[4] = {
                CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES };
            const uint32_t align[4] = { in_align, in_align, out_align, out_align };
            for (int i = 0; i < 4 && s == CUBLAS_STATUS_SUCCESS; i++)
                s = cublasLtMatmulPreferenceSetAttribute(pref, which[i], &align[i], sizeof align[i]);
            if (s == CUBLAS_STATUS_SUCCESS)
                s = cublasLtMatmulAlgoGetHeuristic(lt->handle, g->desc, g->a, g->b, g->d, g->d, pref, MAX_CANDIDATES,
                                                   g->cand, &g->n_cand);
            cublasLtMatmulPreferenceDestroy(pref);
        }
    }
    if (s != CUBLAS_STATUS_SUCCESS || g->n_cand < 1) {
        snprintf(err, errlen, "%s: %s", what,
                 s != CUBLAS_STATUS_SUCCESS ? cublasLtGetStatusString(s) : "no algorithm for this case");
        df_lt_plan_destroy(g);
        return NULL;
    }
    return g;
}

int df_lt_candidates(const struct df_lt_gemm *g)
{
    return g->n_cand;
}

int df_lt_choose(struct df_lt_gemm *g, int i)
{
    if (i < 0 || i >= g->n_cand)
        return -1;
    g->chosen = i;
    return 0;
}

int df_lt_set_rows(struct df_lt_gemm *g, int m)
{
    cublasLtMatmulAlgo_t *algo = &g->cand[g->chosen].algo;
    const int32_t splitk = 1;
    const uint32_t reduction = CUBLASLT_REDUCTION_SCHEME_NONE;
    const uint64_t cols = (uint64_t)m;
    cublasStatus_t s = cublasLtMatmulAlgoConfigSetAttribute(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
                                                            sizeof splitk);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoConfigSetAttribute(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &reduction,
                                                 sizeof reduction);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutSetAttribute(g->b, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutSetAttribute(g->d, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols);
    if (s == CUBLAS_STATUS_SUCCESS) {
        cublasLtMatmulHeuristicResult_t check;
        s = cublasLtMatmulAlgoCheck(g->lt->handle, g->desc, g->a, g->b, g->d, g->d, algo, &check);
        if (s == CUBLAS_STATUS_SUCCESS && check.workspaceSize > g->lt->workspace_bytes)
            s = CUBLAS_STATUS_NOT_SUPPORTED;
        if (s == CUBLAS_STATUS_SUCCESS) { /* what df_lt_describe prints: this row count's */
            g->cand[g->chosen].workspaceSize = check.workspaceSize;
            g->cand[g->chosen].wavesCount = check.wavesCount;
        }
    }
    return (int)s;
}

int df_lt_fix(struct df_lt_gemm *g, int min_rows, int step)
{
    int s = (int)CUBLAS_STATUS_NOT_SUPPORTED;
    for (int i = 0; i < g->n_cand; i++) {
        g->chosen = i;
        int rows = min_rows;
        while (rows < g->m && (s = df_lt_set_rows(g, rows)) == 0)
            rows += step;
        if (rows >= g->m && (s = df_lt_set_rows(g, g->m)) == 0)
            return 0;
    }
    g->chosen = 0;
    return s;
}

/* One algo configuration attribute, as an integer (-1 if it cannot be read). */
static long algo_attr(const cublasLtMatmulAlgo_t *algo, cublasLtMatmulAlgoConfigAttributes_t attr)
{
    uint64_t v = 0; /* every attribute is 16, 32 or 64 bits; little-endian, the low bytes */
    size_t written = 0;
    if (cublasLtMatmulAlgoConfigGetAttribute(algo, attr, NULL, 0, &written) != CUBLAS_STATUS_SUCCESS ||
        written > sizeof v || cublasLtMatmulAlgoConfigGetAttribute(algo, attr, &v, written, &written) !=
                                  CUBLAS_STATUS_SUCCESS)
        return -1;
    return (long)v;
}

void df_lt_describe_algo(const struct df_lt_gemm *g, char *buf, size_t len)
{
    const cublasLtMatmulHeuristicResult_t *c = &g->cand[g->chosen];
    snprintf(buf, len, "cand %d/%d algo %ld tile %ld stages %ld splitk %ld swizzle %ld cluster %ld", g->chosen,
             g->n_cand, algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_ID), algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_TILE_ID),
             algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_STAGES_ID), algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM),
             algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING),
             algo_attr(&c->algo, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID));
}

void df_lt_describe(const struct df_lt_gemm *g, char *buf, size_t len)
{
    const cublasLtMatmulHeuristicResult_t *c = &g->cand[g->chosen];
    df_lt_describe_algo(g, buf, len);
    const size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, " ws %zu waves %.2f", c->workspaceSize, (double)c->wavesCount);
}

int df_lt_run(struct df_lt_gemm *g, const void *w, const float *w_scale, const void *x, const float *x_scale, void *y,
              struct CUstream_st *stream)
{
    if (g->kind != DF_LT_BF16) {
        cublasStatus_t s = set_scales(g->desc, w_scale, x_scale);
        if (s != CUBLAS_STATUS_SUCCESS)
            return (int)s;
    }
    const float alpha = 1.0f, beta = 0.0f;
    return (int)cublasLtMatmul(g->lt->handle, g->desc, &alpha, w, g->a, x, g->b, &beta, y, g->d, y, g->d,
                               &g->cand[g->chosen].algo, g->lt->workspace, g->lt->workspace_bytes, stream);
}

} /* extern "C" */

/* ---- activation quantization ------------------------------------------------------------ */

/* In dfc, not an anonymous namespace, as every kernel: the emulated builds find a kernel's
 * resources (tests/simt/resources.sh) by its exported name. */
namespace dfc {

constexpr int QUANT_THREADS = 256, QUANT_WARPS = QUANT_THREADS / 32;

/* A warp per (token, 128-column block); lane l takes columns 4l .. 4l + 3 of the block (one
 * 16-byte load, one 4-byte store: coalesced across the warp). The block's amax is the warp's
 * max; the scale and every code are quant.cuh's, so the result equals act_quant_host. */
__global__ void __launch_bounds__(QUANT_THREADS) act_quant_k(const float *x, int m, int k, uint8_t *q, float *scale)
{
    dfc::pdl_enter();
    const int kblocks = df_fp8_kblocks(k), lane = threadIdx.x % 32;
    const long item = (long)blockIdx.x * QUANT_WARPS + threadIdx.x / 32;
    if (item >= (long)m * kblocks)
        return;
    const int t = (int)(item / kblocks), kb = (int)(item % kblocks);
    const int c = kb * DF_FP8_BLOCK + lane * 4;
    const bool in = c < k; /* k % 4 == 0: a lane's 4 columns are all in or all out */
    float v[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    if (in) {
        const float4 f = *reinterpret_cast<const float4 *>(x + (size_t)t * k + c);
        v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
    }
    float amax = fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3])));
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float s = act_scale(amax);
    if (in) {
        const uint32_t packed = (uint32_t)act_code(v[0], s) | (uint32_t)act_code(v[1], s) << 8 |
                                (uint32_t)act_code(v[2], s) << 16 | (uint32_t)act_code(v[3], s) << 24;
        *reinterpret_cast<uint32_t *>(q + (size_t)t * k + c) = packed;
    }
    if (lane == 0)
        scale[df_fp8_xscale_index(t, kb, m)] = s;
}

} /* namespace dfc */

extern "C" int df_fp8_act_quant(const float *x, int m, int k, uint8_t *q, float *scale, struct CUstream_st *stream)
{
    if (m <= 0)
        return 0;
    if (k <= 0 || k % 4 != 0)
        return (int)cudaErrorInvalidValue;
    const long items = (long)m * df_fp8_kblocks(k);
    return (int)dfc::launch_on(stream, false, dfc::act_quant_k,
                               dim3((unsigned)((items + dfc::QUANT_WARPS - 1) / dfc::QUANT_WARPS)),
                               dim3(dfc::QUANT_THREADS), 0, x, m, k, q, scale);
}

/* ---- bf16 input ------------------------------------------------------------------------------ */

namespace dfc {

/* The bits of f32_round_bf16 (kernels/mat.h), the CPU's rounding of the bf16 precision's inputs. */
__global__ void __launch_bounds__(QUANT_THREADS) bf16_convert_k(const float *x, size_t count, uint16_t *out)
{
    dfc::pdl_enter();
    for (size_t i = (size_t)blockIdx.x * QUANT_THREADS + threadIdx.x; i < count; i += (size_t)gridDim.x * QUANT_THREADS)
        out[i] = f32_bf16_bits(x[i]);
}

} /* namespace dfc */

extern "C" int df_bf16_convert(const float *x, size_t count, uint8_t *out, struct CUstream_st *stream)
{
    if (count == 0)
        return 0;
    const size_t blocks = (count + dfc::QUANT_THREADS - 1) / dfc::QUANT_THREADS;
    return (int)dfc::launch_on(stream, false, dfc::bf16_convert_k, dim3((unsigned)(blocks < 65535 ? blocks : 65535)),
                               dim3(dfc::QUANT_THREADS), 0, x, count, reinterpret_cast<uint16_t *>(out));
}
